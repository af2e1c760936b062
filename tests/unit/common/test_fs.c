/* SPDX-License-Identifier: Apache-2.0
 * test_fs.c — common/fs: private directories, atomic replace, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"

static char root[64];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/hg-fs-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd);
}

static mode_t mode_of(const char *p)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return st.st_mode & 07777;
}

static void mkdir_private_creates_and_tightens(void **state)
{
    (void)state;
    char p[256];
    struct hg_err err;
    int t = -1;
    snprintf(p, sizeof p, "%s/a/b/c", root);
    assert_int_equal(hg_fs_mkdir_private(p, &t, &err), HG_OK);
    assert_int_equal(mode_of(p), 0700);
    assert_int_equal(t, 0);
    assert_int_equal(chmod(p, 0755), 0);
    assert_int_equal(hg_fs_mkdir_private(p, &t, &err), HG_OK);
    assert_int_equal(t, 1);
    assert_int_equal(mode_of(p), 0700);
    /* a file in the way is a clear error */
    snprintf(p, sizeof p, "%s/file", root);
    FILE *f = fopen(p, "w");
    fclose(f);
    assert_int_equal(hg_fs_mkdir_private(p, NULL, &err), HG_ESYS);
    assert_non_null(strstr(err.msg, "not a directory"));
}

static void write_atomic_replaces_with_mode(void **state)
{
    (void)state;
    char p[256];
    struct hg_err err;
    snprintf(p, sizeof p, "%s/key.pem", root);
    assert_int_equal(hg_fs_write_atomic(p, "one", 3, 0600, &err), HG_OK);
    assert_int_equal(mode_of(p), 0600);
    assert_int_equal(hg_fs_write_atomic(p, "second", 6, 0644, &err), HG_OK);
    assert_int_equal(mode_of(p), 0644);
    char buf[16] = "";
    FILE *f = fopen(p, "r");
    assert_int_equal(fread(buf, 1, sizeof buf, f), 6);
    fclose(f);
    assert_memory_equal(buf, "second", 6);
    /* no temporary file left behind */
    DIR *d = opendir(root);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        assert_null(strstr(e->d_name, ".tmp."));
    closedir(d);
    /* a missing directory: error naming the file, nothing created */
    snprintf(p, sizeof p, "%s/missing/x", root);
    assert_int_equal(hg_fs_write_atomic(p, "x", 1, 0600, &err), HG_EIO);
    assert_non_null(strstr(err.msg, "missing/x"));
    assert_int_equal(hg_fs_fsync_dir(root, &err), HG_OK);
    assert_int_equal(hg_fs_fsync_dir(p, &err), HG_EIO);
}

/* Whole-file reads: the bound is exact (max bytes fine, max + 1 refused),
 * and every failure names the file and what it is. */
static void read_bounded(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/f", root);
    struct hg_err err;
    hg_err_clear(&err);
    assert_int_equal(hg_fs_write_atomic(path, "abcdefgh", 8, 0600, &err), HG_OK);
    char *text = NULL;
    size_t len = 99;
    assert_int_equal(hg_fs_read_bounded(path, 8, "thing", NULL, &text, &len, &err), HG_OK);
    assert_int_equal(len, 8);
    assert_string_equal(text, "abcdefgh"); /* NUL-terminated */
    free(text);
    assert_int_equal(hg_fs_read_bounded(path, 7, "thing", NULL, &text, &len, &err),
                     HG_ETOOBIG);
    assert_null(text);
    assert_non_null(strstr(err.msg, "the thing is 8 bytes; at most 7 are allowed"));
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none", root);
    assert_int_equal(hg_fs_read_bounded(missing, 8, "thing", "check it", &text, &len, &err),
                     HG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "cannot open the thing: No such file or directory; check it"));
    assert_int_equal(hg_fs_read_bounded(root, 8, "thing", NULL, &text, &len, &err), HG_EIO);
    assert_non_null(strstr(err.msg, "not a regular file"));
    /* an empty file is an empty string */
    assert_int_equal(hg_fs_write_atomic(path, "", 0, 0600, &err), HG_OK);
    assert_int_equal(hg_fs_read_bounded(path, 8, "thing", NULL, &text, &len, &err), HG_OK);
    assert_int_equal(len, 0);
    assert_string_equal(text, "");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mkdir_private_creates_and_tightens, setup, teardown),
        cmocka_unit_test_setup_teardown(write_atomic_replaces_with_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(read_bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
