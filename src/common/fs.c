/* SPDX-License-Identifier: Apache-2.0
 * fs.c — private directories, full writes, directory fsync, atomic replace. */
#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

hg_status hg_fs_mkdir_private(const char *path, int *tightened, struct hg_err *err)
{
    char tmp[PATH_MAX];
    if (tightened)
        *tightened = 0;
    if (hg_strlcpy(tmp, path, sizeof tmp) != HG_OK)
        return hg_err_set(err, HG_ETOOBIG, "directory path too long: '%.64s...'; use a shorter one",
                          path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
            return hg_err_set(err, HG_ESYS, "cannot create directory '%s': %m; check the path "
                              "and its permissions", tmp);
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return hg_err_set(err, HG_ESYS, "cannot create directory '%s': %m; check the path and "
                          "its permissions", tmp);
    struct stat st;
    if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode))
        return hg_err_set(err, HG_ESYS, "'%s' exists but is not a directory", tmp);
    if (st.st_mode & 077) {
        if (chmod(tmp, 0700) != 0)
            return hg_err_set(err, HG_ESYS, "cannot restrict '%s' to mode 0700: %m", tmp);
        if (tightened)
            *tightened = 1;
    }
    return HG_OK;
}

hg_status hg_fs_write_all(int fd, const void *p, size_t n)
{
    const unsigned char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return HG_EIO;
        }
        c += w;
        n -= (size_t)w;
    }
    return HG_OK;
}

hg_status hg_fs_fsync_dir(const char *dir, struct hg_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return hg_err_set(err, HG_EIO, "cannot open directory '%s': %m", dir);
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0) {
        errno = e;
        return hg_err_set(err, HG_EIO, "cannot fsync directory '%s': %m", dir);
    }
    return HG_OK;
}

hg_status hg_fs_write_atomic(const char *path, const void *data, size_t n, mode_t mode,
                             struct hg_err *err)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    int w = snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    if (w < 0 || (size_t)w >= sizeof tmp || hg_strlcpy(dir, path, sizeof dir) != HG_OK)
        return hg_err_set(err, HG_ETOOBIG, "path too long: '%.64s...'; use a shorter one", path);
    /* mkostemp creates the file 0600, so a secret is never briefly readable */
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return hg_err_set(err, HG_EIO, "cannot create a temporary file beside '%s': %m; check "
                          "that the directory exists and is writable", path);
    const char *what = NULL;
    if (fchmod(fd, mode) != 0)
        what = "chmod";
    else if (hg_fs_write_all(fd, data, n) != HG_OK)
        what = "write";
    else if (fsync(fd) != 0)
        what = "fsync";
    int e = errno;
    if (close(fd) != 0 && !what) {
        what = "close";
        e = errno;
    }
    if (!what && rename(tmp, path) != 0) {
        what = "rename";
        e = errno;
    }
    if (what) {
        unlink(tmp);
        errno = e;
        return hg_err_set(err, HG_EIO, "cannot write '%s' (%s failed: %m); check free space and "
                          "permissions", path, what);
    }
    return hg_fs_fsync_dir(dirname(dir), err);
}

hg_status hg_fs_read_bounded(const char *path, size_t max, const char *what, const char *hint,
                             char **out, size_t *len, struct hg_err *err)
{
    hg_status rc = HG_OK;
    char *text = NULL;
    size_t n = 0;
    struct stat st;
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return hg_err_set(err, e == ENOENT ? HG_ENOTFOUND : HG_EIO,
                          "%s: cannot open the %s: %s%s%s", path, what, strerror(e),
                          hint ? "; " : "", hint ? hint : "");
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = hg_err_set(err, HG_EIO, "%s: not a regular file; give the path of the %s", path,
                        what);
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        rc = hg_err_set(err, HG_ETOOBIG, "%s: the %s is %lld bytes; at most %zu are allowed",
                        path, what, (long long)st.st_size, max);
        goto out;
    }
    text = malloc(max + 2);
    if (!text) {
        rc = hg_err_set(err, HG_ENOMEM, "%s: out of memory reading the %s", path, what);
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, text + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = hg_err_set(err, HG_EIO, "%s: cannot read the %s: %s", path, what,
                            strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            rc = hg_err_set(err, HG_ETOOBIG, "%s: the %s is larger than %zu bytes, the limit",
                            path, what, max);
            goto out;
        }
    }
    text[n] = '\0';
    *out = text;
    *len = n;
    text = NULL;
out:
    close(fd);
    free(text);
    return rc;
}
