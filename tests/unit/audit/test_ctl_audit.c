/* SPDX-License-Identifier: Apache-2.0
 *
 * test_ctl_audit.c — `haulctl audit` through its entry point hg_ctl_audit:
 * exit codes (0 ok, 1 failed verification, 2 usage), verify on a good and a
 * tampered log, prove + verify-proof round trips for inclusion (with the
 * record) and consistency, and rejection of a proof for the wrong record or
 * a checkpoint from another key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/ctl.h"
#include "audit/audit_log.h"

static char dir[96], tmp[64];

/* Run with stdout captured into `out_path` (NULL: discard). */
static int run(const char *out_path, int argc, ...)
{
    char *argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    argv[argc] = NULL;
    fflush(stdout);
    int saved = dup(1);
    int fd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    close(fd);
    int rc = hg_ctl_audit(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    return rc;
}

static int contains(const char *path, const char *needle)
{
    char buf[8192] = "";
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return strstr(buf, needle) != NULL;
}

static int setup(void **state)
{
    (void)state;
    strcpy(tmp, "/tmp/hg-ctl-XXXXXX");
    assert_non_null(mkdtemp(tmp));
    snprintf(dir, sizeof dir, "%s/log", tmp);
    struct hg_audit_options o;
    hg_audit_options_init(&o);
    o.origin = "haulgate.test/ctl";
    o.checkpoint_every = 8;
    struct hg_audit_log *log = NULL;
    struct hg_err err;
    assert_int_equal(hg_audit_open(dir, &o, &log, &err), HG_OK);
    for (int i = 0; i < 20; i++) {
        char rid[16];
        snprintf(rid, sizeof rid, "r%d", i);
        json_t *d = json_pack("{s:s}", "serial", rid);
        struct hg_audit_record r = {.service = "ctl", .event_type = "cert.revoked",
                                    .request_id = rid, .decision = "allow", .details = d};
        uint64_t idx;
        assert_int_equal(hg_audit_append(log, &r, &idx, &err), HG_OK);
        json_decref(d);
    }
    assert_int_equal(hg_audit_close(log, &err), HG_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd);
}

static void usage_errors(void **state)
{
    (void)state;
    assert_int_equal(run(NULL, 1, "audit"), 2);
    assert_int_equal(run(NULL, 2, "audit", "frobnicate"), 2);
    assert_int_equal(run(NULL, 2, "audit", "verify"), 2);
    assert_int_equal(run(NULL, 4, "audit", "prove", dir, "--index"), 2);
    assert_int_equal(run(NULL, 6, "audit", "prove", dir, "--index", "x", "--size", "3"), 2);
    assert_int_equal(run(NULL, 6, "audit", "prove", dir, "--index", "1", "--to", "3"), 2);
    assert_int_equal(run(NULL, 3, "audit", "verify-proof", "--vkey"), 2);
    assert_int_equal(run(NULL, 2, "audit", "--help"), 0);
}

static void verify_ok_and_tampered(void **state)
{
    (void)state;
    char out[128], vk[128];
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(vk, sizeof vk, "%s/audit.vkey", dir);
    assert_int_equal(run(out, 3, "audit", "verify", dir), 0);
    assert_true(contains(out, "OK: 20 records"));
    assert_int_equal(run(out, 5, "audit", "verify", dir, "--key", vk), 0);
    /* flip a byte in record 3 of a copy */
    char copy[128], cmd[512], seg[256];
    snprintf(copy, sizeof copy, "%s/copy", tmp);
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", dir, copy);
    assert_int_equal(system(cmd), 0);
    snprintf(seg, sizeof seg, "%s/segments/%020d.seg", copy, 0);
    FILE *f = fopen(seg, "r+b");
    assert_non_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    char *p = memmem(buf, n, "\"r3\"", 4);
    assert_non_null(p);
    p[2] = '9';
    fseek(f, 0, SEEK_SET);
    fwrite(buf, 1, n, f);
    fclose(f);
    assert_int_equal(run(out, 5, "audit", "verify", copy, "--key", vk), 1);
    assert_true(contains(out, "FAIL: modified at index 3"));
}

static void prove_and_verify_proof(void **state)
{
    (void)state;
    char proof[128], cp[128], rec[128], vk[128], out[128], oldcp[128];
    snprintf(proof, sizeof proof, "%s/proof.json", tmp);
    snprintf(cp, sizeof cp, "%s/cp", tmp);
    snprintf(oldcp, sizeof oldcp, "%s/oldcp", tmp);
    snprintf(rec, sizeof rec, "%s/rec", tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(vk, sizeof vk, "%s/audit.vkey", dir);
    assert_int_equal(run(cp, 3, "audit", "checkpoint", dir), 0);
    assert_true(contains(cp, "haulgate.test/ctl\n20\n"));
    assert_int_equal(run(proof, 7, "audit", "prove", dir, "--index", "5", "--size", "20"), 0);
    assert_true(contains(proof, "\"type\":\"inclusion\""));
    assert_int_equal(run(rec, 5, "audit", "show", dir, "--index", "5"), 0);
    assert_true(contains(rec, "\"request_id\":\"r5\""));
    assert_int_equal(run(out, 10, "audit", "verify-proof", "--vkey", vk, "--checkpoint", cp,
                         "--proof", proof, "--record", rec), 0);
    assert_true(contains(out, "OK: record 5 is included"));
    /* every record, one per line, in order */
    assert_int_equal(run(out, 3, "audit", "show", dir), 0);
    assert_true(contains(out, "\"request_id\":\"r0\""));
    assert_true(contains(out, "\"request_id\":\"r19\""));
    {
        FILE *lf = fopen(out, "r");
        int lines = 0, ch;
        while ((ch = fgetc(lf)) != EOF)
            lines += ch == '\n';
        fclose(lf);
        assert_int_equal(lines, 20);
    }
    /* the wrong record */
    assert_int_equal(run(rec, 5, "audit", "show", dir, "--index", "6"), 0);
    assert_int_equal(run(out, 10, "audit", "verify-proof", "--vkey", vk, "--checkpoint", cp,
                         "--proof", proof, "--record", rec), 1);
    assert_true(contains(out, "does not match the proof's leaf hash"));
    /* a size no checkpoint covers */
    assert_int_equal(run(out, 7, "audit", "prove", dir, "--index", "5", "--size", "21"), 1);
    /* consistency 8 -> 20, with the old checkpoint from the history */
    assert_int_equal(run(proof, 7, "audit", "prove", dir, "--from", "8", "--to", "20"), 0);
    assert_int_equal(run(out, 8, "audit", "verify-proof", "--vkey", vk, "--checkpoint", cp,
                         "--proof", proof), 0);
    assert_true(contains(out, "is a prefix of the tree of size 20"));
    /* the wrong verifier key */
    const char *other = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    assert_int_equal(run(out, 8, "audit", "verify-proof", "--vkey", other, "--checkpoint", cp,
                         "--proof", proof), 1);
    assert_true(contains(out, "FAIL: checkpoint"));
    (void)oldcp;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(usage_errors),
        cmocka_unit_test(verify_ok_and_tampered),
        cmocka_unit_test(prove_and_verify_proof),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
