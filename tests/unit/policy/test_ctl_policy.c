/* SPDX-License-Identifier: Apache-2.0
 *
 * test_ctl_policy.c — `haulctl policy` through its entry point
 * hg_ctl_policy, with standard output and error captured into files:
 * check (valid, invalid with FILE:LINE, missing, usage), test (allow,
 * deny by a rule, default deny, human and --json output, times given as
 * RFC 3339 or Unix seconds or left to the clock) and the refusals of a
 * malformed request file, each with its exit code.
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

#include <jansson.h>

#include "app/ctl.h"
#include "common/util.h"

static char dir[64], policy[128], badpolicy[128], req[128], outp[128], errp[128];
static char out[8192], err[8192];

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void get(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Run `haulctl policy ARGS...` with stdout and stderr captured into out/err. */
static int run(int argc, ...)
{
    char *argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(so >= 0 && se >= 0 && fo >= 0 && fe >= 0);
    dup2(fo, 1);
    dup2(fe, 2);
    close(fo);
    close(fe);
    int rc = hg_ctl_policy(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    get(outp, out, sizeof out);
    get(errp, err, sizeof err);
    return rc;
}

static const char POLICY[] =
    "version: 1\n"
    "rules:\n"
    "  - id: no-heavy-hazmat\n"
    "    effect: deny\n"
    "    verbs: [tender:create]\n"
    "    tenant: any\n"
    "    when: [\"hazmat == true\", \"weightLbs > 80000\"]\n"
    "    reason: heavy hazmat needs a permit\n"
    "  - id: tms-tenders\n"
    "    effect: allow\n"
    "    verbs: [\"tender:*\"]\n"
    "    roles: [tms]\n"
    "  - id: night-reports\n"
    "    effect: allow\n"
    "    verbs: [report:read]\n"
    "    tenant: any\n"
    "    time: {hours: \"22:00-06:00\"}\n";

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/hg-ctlpol-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(policy, sizeof policy, "%s/policy.yaml", dir);
    snprintf(badpolicy, sizeof badpolicy, "%s/bad.yaml", dir);
    snprintf(req, sizeof req, "%s/request.json", dir);
    snprintf(outp, sizeof outp, "%s/out", dir);
    snprintf(errp, sizeof errp, "%s/err", dir);
    put(policy, POLICY);
    put(badpolicy, "version: 1\nrules:\n  - id: x\n    effect: allow\n    verbs: [x:y]\n"
                   "    roles: tms\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    const char *files[] = {policy, badpolicy, req, outp, errp};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    return rmdir(dir);
}

static void check(void **state)
{
    (void)state;
    char want[512];
    assert_int_equal(run(3, "policy", "check", policy), 0);
    snprintf(want, sizeof want, "%s: OK, 3 rules\n", policy);
    assert_string_equal(out, want);

    assert_int_equal(run(3, "policy", "check", badpolicy), 1);
    assert_string_equal(out, "");
    snprintf(want, sizeof want,
             "haulctl policy check: %s:6: key 'rules[0].roles' (rule 'x'): expected a list of "
             "roles, such as [tms], got \"tms\"; write a single item as [tms]\n", badpolicy);
    assert_string_equal(err, want);

    assert_int_equal(run(3, "policy", "check", dir), 2);
    assert_non_null(strstr(err, "not a regular file"));
    assert_int_equal(run(2, "policy", "check"), 2);
    assert_string_equal(err, "usage: haulctl policy check FILE\n");
    assert_int_equal(run(4, "policy", "check", policy, policy), 2);
}

static void decide_human(void **state)
{
    (void)state;
    put(req, "{\"verb\": \"tender:create\", \"subject\": \"tms-1\", \"roles\": [\"tms\"],"
             " \"principal_tenant\": \"acme\", \"resource_tenant\": \"acme\","
             " \"now\": \"2026-05-01T12:00:00Z\", \"resource\": {\"hazmat\": false}}");
    assert_int_equal(run(5, "policy", "test", policy, "--input", req), 0);
    assert_string_equal(out, "decision: allow\nrule:     tms-tenders\n"
                             "reason:   allowed by rule tms-tenders\n");
    assert_string_equal(err, "");

    put(req, "{\"verb\": \"tender:create\", \"roles\": [\"tms\"],"
             " \"resource\": {\"hazmat\": true, \"weightLbs\": 80001}}");
    assert_int_equal(run(5, "policy", "test", policy, "--input", req), 1);
    assert_string_equal(out, "decision: deny\nrule:     no-heavy-hazmat\n"
                             "reason:   heavy hazmat needs a permit\n");

    put(req, "{\"verb\": \"tender:create\", \"roles\": [\"provider\"]}");
    assert_int_equal(run(5, "policy", "test", policy, "--input", req), 1);
    assert_string_equal(out, "decision: deny\nrule:     default-deny\n"
                             "reason:   no policy rule allows this request\n");

    /* tenant same: another tenant's tender */
    put(req, "{\"verb\": \"tender:read\", \"roles\": [\"tms\"], \"principal_tenant\": \"acme\","
             " \"resource_tenant\": \"globex\", \"scopes\": [], \"region\": null}");
    assert_int_equal(run(5, "policy", "test", policy, "--input", req), 1);
    assert_non_null(strstr(out, "rule:     default-deny\n"));
}

static void decide_json_and_time(void **state)
{
    (void)state;
    json_error_t je;
    /* 2026-05-01T23:30:00Z as Unix seconds: inside 22:00-06:00 */
    put(req, "{\"verb\": \"report:read\", \"now\": 1777678200}");
    assert_int_equal(run(6, "policy", "test", policy, "--input", req, "--json"), 0);
    json_t *o = json_loads(out, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "decision")), "allow");
    assert_string_equal(json_string_value(json_object_get(o, "policy_id")), "night-reports");
    assert_string_equal(json_string_value(json_object_get(o, "reason")),
                        "allowed by rule night-reports");
    assert_string_equal(json_string_value(json_object_get(o, "verb")), "report:read");
    assert_string_equal(json_string_value(json_object_get(o, "now")),
                        "2026-05-01T23:30:00.000Z");
    assert_int_equal(json_object_size(o), 5);
    json_decref(o);

    /* the same instant with an offset; then noon, outside the window */
    put(req, "{\"verb\": \"report:read\", \"now\": \"2026-05-02T01:30:00+02:00\"}");
    assert_int_equal(run(6, "policy", "test", "--json", policy, "--input", req), 0);
    put(req, "{\"verb\": \"report:read\", \"now\": \"2026-05-01T12:00:00Z\"}");
    assert_int_equal(run(6, "policy", "test", policy, "--input", req, "--json"), 1);
    o = json_loads(out, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "decision")), "deny");
    assert_string_equal(json_string_value(json_object_get(o, "policy_id")), "default-deny");
    json_decref(o);

    /* no "now": the current time */
    put(req, "{\"verb\": \"report:read\"}");
    int rc = run(6, "policy", "test", policy, "--input", req, "--json");
    assert_true(rc == 0 || rc == 1);
    o = json_loads(out, 0, &je);
    assert_non_null(o);
    const char *now = json_string_value(json_object_get(o, "now"));
    assert_non_null(now);
    int64_t ms;
    assert_int_equal(hg_rfc3339_parse(now, strlen(now), &ms), HG_OK);
    int64_t diff = hg_wall_ms() - ms;
    assert_true(diff >= 0 && diff < 10000);
    json_decref(o);
}

static void bad_requests(void **state)
{
    (void)state;
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"{\"verb\": \"x:y\", \"rol\": [\"tms\"]}",
         "unknown member \"rol\"; the members are verb, subject, roles, scopes, "
         "principal_tenant, resource_tenant, region, now and resource\n"},
        {"{\"roles\": [\"tms\"]}", "\"verb\" is required, such as \"tender:create\"\n"},
        {"{\"verb\": 5}", "\"verb\" must be a string\n"},
        {"{\"verb\": \"x:y\", \"roles\": \"tms\"}",
         "\"roles\" must be an array of at most 256 strings, such as [\"tms\"]\n"},
        {"{\"verb\": \"x:y\", \"scopes\": [\"a\", 1]}", "\"scopes\"[1] must be a string\n"},
        {"{\"verb\": \"x:y\", \"region\": 3}", "\"region\" must be a string or null\n"},
        {"{\"verb\": \"x:y\", \"now\": \"yesterday\"}",
         "\"now\" must be an RFC 3339 time such as \"2026-05-01T12:00:00Z\" or whole Unix "
         "seconds\n"},
        {"{\"verb\": \"x:y\", \"now\": 1.5}",
         "\"now\" must be an RFC 3339 time such as \"2026-05-01T12:00:00Z\" or whole Unix "
         "seconds\n"},
        {"{\"verb\": \"x:y\", \"resource\": [1]}",
         "\"resource\" must be a JSON object of the resource's attributes (or null)\n"},
        {"[\"x:y\"]", "the request must be a JSON object with at least \"verb\"\n"},
    };
    char want[1024];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        put(req, cases[i].text);
        int rc = run(5, "policy", "test", policy, "--input", req);
        snprintf(want, sizeof want, "haulctl policy test: %s: %s", req, cases[i].msg);
        if (rc != 2 || strcmp(err, want) != 0)
            fail_msg("case %zu: exit %d\n  got:  %s  want: %s", i, rc, err, want);
        assert_string_equal(out, "");
    }
    put(req, "{\"verb\": \"x:y\", \"verb\": \"a:b\"}");
    assert_int_equal(run(5, "policy", "test", policy, "--input", req), 2);
    assert_non_null(strstr(err, "invalid JSON: duplicate object key"));
    put(req, "{\"verb\": ");
    assert_int_equal(run(5, "policy", "test", policy, "--input", req), 2);
    assert_non_null(strstr(err, "request.json:1:"));
    assert_non_null(strstr(err, "invalid JSON"));
}

static void usage_errors(void **state)
{
    (void)state;
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none.json", dir);
    put(req, "{\"verb\": \"x:y\"}");
    assert_int_equal(run(1, "policy"), 2);
    assert_int_equal(run(2, "policy", "frobnicate"), 2);
    assert_int_equal(run(2, "policy", "--help"), 0);
    assert_non_null(strstr(out, "test FILE --input REQUEST"));
    assert_int_equal(run(3, "policy", "test", policy), 2);
    assert_string_equal(err, "usage: haulctl policy test FILE --input REQUEST.json [--json]\n");
    assert_int_equal(run(4, "policy", "test", policy, "--input"), 2);
    assert_int_equal(run(6, "policy", "test", policy, "--input", req, "--verbose"), 2);
    assert_non_null(strstr(err, "unexpected argument '--verbose'"));
    assert_int_equal(run(5, "policy", "test", policy, "--input", missing), 2);
    assert_non_null(strstr(err, "cannot open"));
    /* an invalid policy is a file error for test: exit 2, not a deny */
    assert_int_equal(run(5, "policy", "test", badpolicy, "--input", req), 2);
    assert_non_null(strstr(err, "bad.yaml:6: key 'rules[0].roles'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check),
        cmocka_unit_test(decide_human),
        cmocka_unit_test(decide_json_and_time),
        cmocka_unit_test(bad_requests),
        cmocka_unit_test(usage_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
