/* SPDX-License-Identifier: Apache-2.0
 *
 * test_contract.c — the contract-check chain itself, on the routes that
 * exist: whoami and the audit log, requested through `prism proxy
 * --errors` (harness_prism.c) so every request and response is validated
 * against api/openapi.yaml. It also shows that the chain has teeth: a
 * request the spec forbids is refused by prism (and the negative-test
 * helper then gets our own 400/404 from the daemon), and a response the
 * spec does not allow fails the request — shown with a copy of the spec
 * that this test mutates on purpose (a required member the daemon never
 * sends, a status removed from an operation), since the real spec and the
 * daemon agree. The spec and the daemon's route table list the same
 * operations. Ends by checking that stopping the chain leaves no process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "integration/harness.h"

/* auditor: a principal that may read the audit log, used for the lane on
 * the mutated spec; stranger: a certificate mapped to no principal.
 * Checkpoints every 2 records or 50 ms so proofs have something to cover. */
#define EXTRA_YAML                                                                           \
    "  - name: auditor\n"                                                                    \
    "    match: {uri: \"spiffe://haulgate.dev/auditor\"}\n"                                  \
    "    roles: [auditor]\n"                                                                 \
    "audit:\n"                                                                               \
    "  checkpoint_records: 2\n"                                                              \
    "  checkpoint_interval: 50ms\n"

#define PROBLEMS "https://haulgate.dev/problems/"

static int start_chain(struct hg_it *it)
{
    if (hg_it_setup(it) != 0)
        return -1;
    snprintf(it->extra_yaml, sizeof it->extra_yaml, "%s", EXTRA_YAML);
    if (hg_it_pki(it, "issue", "auditor", NULL) != 0 ||
        hg_it_pki(it, "issue", "stranger", NULL) != 0 || hg_it_start_verbose(it) != 0)
        return -1;
    static const char *const lanes[] = {"tms", "operator", "stranger", NULL};
    return hg_it_prism_start(it, lanes);
}

static int setup(void **state)
{
    return hg_it_fixture(state, start_chain);
}

static int teardown(void **state)
{
    return hg_it_fixture_free(state);
}

/* ---------------------------------------------------------------- helpers */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* GET through prism that must validate; returns the parsed JSON body (or
 * NULL for a non-JSON body) and the response in *r (caller frees). */
static json_t *get_ok(struct hg_it *it, const char *client, const char *path,
                      const char *const *headers, long want_status, struct hg_it_resp *r)
{
    int rc = hg_it_prism_request(it, client, "GET", path, headers, NULL, 0, r);
    if (rc != 0 || r->status != want_status)
        fprintf(stderr, "GET %s as %s: rc=%d status=%ld error=%s\nbody: %s\n", path, client, rc,
                r->status, r->error, r->body);
    assert_int_equal(rc, 0);
    assert_int_equal(r->status, want_status);
    json_error_t e;
    return json_loadb(r->body, r->body_len, 0, &e);
}

static void assert_problem(json_t *doc, long status, const char *slug)
{
    char want[160];
    snprintf(want, sizeof want, PROBLEMS "%s", slug);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "type")), want);
    assert_int_equal(json_integer_value(json_object_get(doc, "status")), status);
}

static int has(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle)) {
        fprintf(stderr, "expected '%s' in: %s\n", needle, haystack);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------ the routes validate */

static void whoami_validates(void **state)
{
    struct hg_it *it = *state;
    static const char *const who[] = {"tms", "operator"};
    for (size_t i = 0; i < 2; i++) {
        const char *h[] = {"X-Correlation-ID: contract-whoami.1", NULL};
        struct hg_it_resp r;
        json_t *o = get_ok(it, who[i], "/v1/whoami", h, 200, &r);
        assert_non_null(o);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(o, "principal"), "name")), who[i]);
        assert_string_equal(json_string_value(json_object_get(o, "correlation_id")),
                            "contract-whoami.1");
        char cid[160];
        assert_non_null(hg_it_resp_header(&r, "X-Correlation-ID", cid, sizeof cid));
        assert_string_equal(cid, "contract-whoami.1");
        json_decref(o);
        hg_it_resp_free(&r);
    }
}

/* A certificate that verifies but maps to nobody: 403 unknown-client with
 * the identity seen (the Certificate schema inside a Problem). */
static void unknown_client_validates(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_resp r;
    json_t *o = get_ok(it, "stranger", "/v1/whoami", NULL, 403, &r);
    assert_problem(o, 403, "unknown-client");
    assert_non_null(json_object_get(json_object_get(o, "identity"), "x5t#S256"));
    json_decref(o);
    hg_it_resp_free(&r);
}

static void audit_forbidden_validates(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_resp r;
    json_t *o = get_ok(it, "tms", "/v1/audit/checkpoint", NULL, 403, &r);
    assert_problem(o, 403, "insufficient-scope");
    assert_string_equal(json_string_value(json_object_get(o, "required_scope")), "audit:read");
    json_decref(o);
    hg_it_resp_free(&r);
}

/* The OAuth side: the token endpoint (form body in, RFC 6749 JSON out,
 * success and error), the JWKS, the RFC 8414 metadata, and a 401 with its
 * challenge — each validated by prism against the spec. */
static void oauth_validates(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_resp r;
    const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    const char *body = "grant_type=client_credentials&scope=tender%3Aread";
    int rc = hg_it_prism_request(it, "tms", "POST", "/oauth2/token", form, body, strlen(body), &r);
    if (rc != 0)
        fprintf(stderr, "token: %s\n%s\n", r.error, r.body);
    assert_int_equal(rc, 0);
    assert_int_equal(r.status, 200);
    json_t *o = json_loadb(r.body, r.body_len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "token_type")), "Bearer");
    assert_string_equal(json_string_value(json_object_get(o, "scope")), "tender:read");
    json_decref(o);
    hg_it_resp_free(&r);

    const char *bad = "grant_type=client_credentials&scope=warp:drive";
    rc = hg_it_prism_request(it, "tms", "POST", "/oauth2/token", form, bad, strlen(bad), &r);
    assert_int_equal(rc, 0);
    assert_int_equal(r.status, 400);
    o = json_loadb(r.body, r.body_len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "error")), "invalid_scope");
    json_decref(o);
    hg_it_resp_free(&r);

    o = get_ok(it, "tms", "/.well-known/jwks.json", NULL, 200, &r);
    assert_true(json_array_size(json_object_get(o, "keys")) >= 1);
    json_decref(o);
    hg_it_resp_free(&r);
    o = get_ok(it, "tms", "/.well-known/oauth-authorization-server", NULL, 200, &r);
    const char *iss = json_string_value(json_object_get(o, "issuer"));
    const char *te = json_string_value(json_object_get(o, "token_endpoint"));
    assert_non_null(iss);
    assert_non_null(te);
    assert_memory_equal(te, iss, strlen(iss));
    json_decref(o);
    hg_it_resp_free(&r);

    /* no token at all: 401 with both challenges */
    const char *none[] = {"Authorization:", NULL};
    o = get_ok(it, "tms", "/v1/whoami", none, 401, &r);
    assert_problem(o, 401, "unauthorized");
    char wa[300];
    assert_non_null(hg_it_resp_header(&r, "WWW-Authenticate", wa, sizeof wa));
    json_decref(o);
    hg_it_resp_free(&r);
}

static void audit_checkpoint_validates(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_resp r;
    const char *text[] = {"Accept: text/plain", NULL};
    json_t *o = get_ok(it, "operator", "/v1/audit/checkpoint", text, 200, &r);
    assert_null(o); /* a signed note, not JSON */
    assert_true(r.body_len > 0 && strchr(r.body, '\n'));
    hg_it_resp_free(&r);

    const char *js[] = {"Accept: application/json", NULL};
    o = get_ok(it, "operator", "/v1/audit/checkpoint", js, 200, &r);
    assert_non_null(o);
    assert_true(json_is_integer(json_object_get(o, "tree_size")));
    json_decref(o);
    hg_it_resp_free(&r);

    const char *png[] = {"Accept: image/png", NULL};
    o = get_ok(it, "operator", "/v1/audit/checkpoint", png, 406, &r);
    assert_problem(o, 406, "not-acceptable");
    json_decref(o);
    hg_it_resp_free(&r);
}

/* Entries and both proofs, over records this test makes (refused reads are
 * audited), once a checkpoint covers them. */
static void audit_entries_and_proofs_validate(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_resp r;
    for (int i = 0; i < 3; i++) {
        json_decref(get_ok(it, "tms", "/v1/audit/entries?from=0&to=0", NULL, 403, &r));
        hg_it_resp_free(&r);
    }
    const char *js[] = {"Accept: application/json", NULL};
    json_int_t size = 0;
    for (int i = 0; i < 100 && size < 3; i++) {
        json_t *o = get_ok(it, "operator", "/v1/audit/checkpoint", js, 200, &r);
        size = json_integer_value(json_object_get(o, "tree_size"));
        json_decref(o);
        hg_it_resp_free(&r);
        if (size < 3)
            sleep_ms(50);
    }
    assert_true(size >= 3);

    char path[160];
    snprintf(path, sizeof path, "/v1/audit/entries?from=0&to=%lld", (long long)size);
    json_t *o = get_ok(it, "operator", path, NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(o, "entries")), (size_t)size);
    json_decref(o);
    hg_it_resp_free(&r);

    snprintf(path, sizeof path, "/v1/audit/proofs/inclusion?index=1&treeSize=%lld",
             (long long)size);
    o = get_ok(it, "operator", path, NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "inclusion");
    assert_int_equal(json_integer_value(json_object_get(o, "log_index")), 1);
    json_decref(o);
    hg_it_resp_free(&r);

    snprintf(path, sizeof path, "/v1/audit/proofs/consistency?from=1&to=%lld", (long long)size);
    o = get_ok(it, "operator", path, NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "consistency");
    assert_int_equal(json_integer_value(json_object_get(o, "to_size")), size);
    json_decref(o);
    hg_it_resp_free(&r);
}

/* Well-formed parameters the log cannot serve: our 400, validated. */
static void audit_range_errors_validate(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_resp r;
    json_t *o = get_ok(it, "operator", "/v1/audit/entries?from=5&to=2", NULL, 400, &r);
    assert_problem(o, 400, "invalid-parameter");
    assert_string_equal(json_string_value(json_object_get(o, "parameter")), "from");
    assert_true(json_is_integer(json_object_get(o, "tree_size")));
    json_decref(o);
    hg_it_resp_free(&r);

    o = get_ok(it, "operator", "/v1/audit/proofs/inclusion?index=0&treeSize=999999", NULL, 400,
               &r);
    assert_problem(o, 400, "invalid-parameter");
    assert_string_equal(json_string_value(json_object_get(o, "parameter")), "treeSize");
    json_decref(o);
    hg_it_resp_free(&r);
}

/* ------------------------------------------------------ the chain has teeth */

/* Requests outside the contract: prism refuses them (the strict call
 * fails and says why); the negative-test helper then gets the daemon's own
 * problem document. */
static void request_violations_are_caught(void **state)
{
    struct hg_it *it = *state;
    static const struct {
        const char *path;
        long status;
        const char *slug;
        const char *param;  /* what the violation and our problem name */
    } cases[] = {
        {"/v1/audit/entries?from=abc&to=1", 400, "invalid-parameter", "from"},
        {"/v1/audit/entries?to=1", 400, "invalid-parameter", "from"},
        {"/v1/audit/proofs/inclusion?index=-1&treeSize=1", 400, "invalid-parameter", "index"},
        {"/v1/no-such-route", 404, "not-found", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hg_it_resp r;
        int rc = hg_it_prism_request(it, "operator", "GET", cases[i].path, NULL, NULL, 0, &r);
        if (rc == 0)
            fprintf(stderr, "prism let %s through: %ld %s\n", cases[i].path, r.status, r.body);
        assert_int_not_equal(rc, 0);
        assert_true(has(r.error, "prism "));
        assert_true(r.status >= 400 && r.status < 500);
        if (cases[i].param)
            assert_true(has(r.error, cases[i].param));
        hg_it_resp_free(&r);

        rc = hg_it_prism_request_invalid(it, "operator", "GET", cases[i].path, NULL, NULL, 0, &r);
        if (rc != 0)
            fprintf(stderr, "%s: %s\n", cases[i].path, r.error);
        assert_int_equal(rc, 0);
        json_error_t e;
        json_t *o = json_loadb(r.body, r.body_len, 0, &e);
        assert_problem(o, cases[i].status, cases[i].slug);
        if (cases[i].param)
            assert_string_equal(json_string_value(json_object_get(o, "parameter")),
                                cases[i].param);
        json_decref(o);
        hg_it_resp_free(&r);
    }
}

/* The negative-test helper refuses a request the spec allows, so a test
 * cannot bypass validation by accident. */
static void invalid_helper_needs_a_violation(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_resp r;
    assert_int_not_equal(
        hg_it_prism_request_invalid(it, "operator", "GET", "/v1/whoami", NULL, NULL, 0, &r), 0);
    assert_true(has(r.error, "prism accepted"));
    hg_it_resp_free(&r);
}

/* A lane for `auditor` on a copy of the spec with two deliberate lies:
 * Whoami requires a member the daemon never sends, and listAuditEntries
 * no longer lists 400. Started on first use. */
static void mutant_lane(struct hg_it *it)
{
    static int started;
    if (started)
        return;
    char spec[320], mutant[400];
    assert_int_equal(hg_it_prism_spec(it, spec, sizeof spec), 0);
    json_error_t e;
    json_t *doc = json_load_file(spec, 0, &e);
    assert_non_null(doc);
    json_t *whoami = json_object_get(json_object_get(json_object_get(doc, "components"),
                                                     "schemas"),
                                     "Whoami");
    assert_non_null(whoami);
    assert_int_equal(json_array_append_new(json_object_get(whoami, "required"),
                                           json_string("mutation_probe")),
                     0);
    json_t *entries = json_object_get(json_object_get(doc, "paths"), "/v1/audit/entries");
    json_t *responses = json_object_get(json_object_get(entries, "get"), "responses");
    assert_int_equal(json_object_del(responses, "400"), 0);
    snprintf(mutant, sizeof mutant, "%s/openapi.mutant.json", it->dir);
    assert_int_equal(json_dump_file(doc, mutant, JSON_INDENT(1)), 0);
    json_decref(doc);
    static const char *const lanes[] = {"auditor", NULL};
    assert_int_equal(hg_it_prism_start_spec(it, mutant, lanes), 0);
    started = 1;
}

/* A response that breaks its schema: prism answers 500 #VIOLATIONS and the
 * request fails, naming the member. The same request on the real spec
 * passes. */
static void response_violation_is_caught(void **state)
{
    struct hg_it *it = *state;
    mutant_lane(it);
    struct hg_it_resp r;
    assert_int_equal(hg_it_prism_request(it, "operator", "GET", "/v1/whoami", NULL, NULL, 0, &r),
                     0);
    hg_it_resp_free(&r);
    int rc = hg_it_prism_request(it, "auditor", "GET", "/v1/whoami", NULL, NULL, 0, &r);
    assert_int_not_equal(rc, 0);
    assert_int_equal(r.status, 500);
    assert_true(has(r.error, "VIOLATIONS"));
    assert_true(has(r.error, "mutation_probe"));
    hg_it_resp_free(&r);
}

/* A status the operation does not list is only a warning to prism (no
 * 500), reported in `sl-violations`: the request fails all the same. */
static void undeclared_status_is_caught(void **state)
{
    struct hg_it *it = *state;
    mutant_lane(it);
    struct hg_it_resp r;
    int rc = hg_it_prism_request(it, "auditor", "GET", "/v1/audit/entries?from=5&to=2", NULL,
                                 NULL, 0, &r);
    if (rc == 0)
        fprintf(stderr, "undeclared 400 passed: %s\n%s\n", r.headers, r.body);
    assert_int_not_equal(rc, 0);
    assert_int_equal(r.status, 400); /* the daemon's answer, passed on */
    assert_true(has(r.error, "sl-violations"));
    assert_true(has(r.error, "status code"));
    hg_it_resp_free(&r);
}

/* ------------------------------------------------- spec and route table */

/* "/v1/tenders/{id}/cancel" and "/v1/tenders/{tenderId}/cancel" → the same
 * key: parameter names may differ between the table and the spec. */
static void shape(const char *pattern, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = pattern; *p && n + 3 < cap; p++) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            if (!e)
                break;
            out[n++] = '{';
            out[n++] = '}';
            p = e;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

static void lower(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; s[n] && n + 1 < cap; n++)
        out[n] = (char)(s[n] >= 'A' && s[n] <= 'Z' ? s[n] + 32 : s[n]);
    out[n] = '\0';
}

/* Every route of the API listener is an operation of the spec, and every
 * operation of the spec is a route: neither side has one the other lacks. */
static void spec_matches_route_table(void **state)
{
    struct hg_it *it = *state;
    char spec[320];
    assert_int_equal(hg_it_prism_spec(it, spec, sizeof spec), 0);
    json_error_t e;
    json_t *doc = json_load_file(spec, 0, &e);
    assert_non_null(doc);
    json_t *paths = json_object_get(doc, "paths");
    int missing = 0;
    for (size_t i = 0; i < hg_api_routes_count; i++) {
        char want[256], got[256], method[16];
        shape(hg_api_routes[i].pattern, want, sizeof want);
        lower(hg_api_routes[i].method, method, sizeof method);
        int found = 0;
        const char *path;
        json_t *item;
        json_object_foreach(paths, path, item) {
            shape(path, got, sizeof got);
            if (!strcmp(want, got) && json_object_get(item, method))
                found = 1;
        }
        if (!found) {
            fprintf(stderr, "route %s %s is not in api/openapi.yaml\n", hg_api_routes[i].method,
                    hg_api_routes[i].pattern);
            missing++;
        }
    }
    static const char *const methods[] = {"get", "put", "post", "delete", "patch", "head",
                                          "options", "trace"};
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item) {
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            if (!json_object_get(item, methods[m]))
                continue;
            char want[256], got[256], method[16];
            shape(path, want, sizeof want);
            int found = 0;
            for (size_t i = 0; i < hg_api_routes_count && !found; i++) {
                shape(hg_api_routes[i].pattern, got, sizeof got);
                lower(hg_api_routes[i].method, method, sizeof method);
                found = !strcmp(want, got) && !strcmp(method, methods[m]);
            }
            if (!found) {
                fprintf(stderr, "api/openapi.yaml has %s %s, which no route serves\n",
                        methods[m], path);
                missing++;
            }
        }
    }
    json_decref(doc);
    assert_int_equal(missing, 0);
}

/* --------------------------------------------------------------- cleanup */

/* Processes other than the daemon whose command line mentions the test's
 * temp dir (every socat and prism of the chain does). */
static int chain_processes(struct hg_it *it, int report)
{
    DIR *d = opendir("/proc");
    assert_non_null(d);
    int found = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0 || pid == it->pid || pid == getpid())
            continue;
        char path[64], cmd[4096];
        snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(cmd, 1, sizeof cmd - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        cmd[n] = '\0';
        if (strstr(cmd, it->dir)) {
            if (report)
                fprintf(stderr, "left behind: pid %ld: %s\n", pid, cmd);
            found++;
        }
    }
    closedir(d);
    return found;
}

static void stop_leaves_nothing(void **state)
{
    struct hg_it *it = *state;
    assert_true(chain_processes(it, 0) >= 6); /* the setup's 3 lanes: a socat and a prism each */
    hg_it_prism_stop(it);
    assert_null(it->prism);
    assert_int_equal(chain_processes(it, 1), 0);
    struct hg_it_resp r;
    assert_int_not_equal(hg_it_prism_request(it, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &r),
                         0);
    hg_it_resp_free(&r);
    hg_it_prism_stop(it); /* twice is harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whoami_validates),
        cmocka_unit_test(unknown_client_validates),
        cmocka_unit_test(audit_forbidden_validates),
        cmocka_unit_test(oauth_validates),
        cmocka_unit_test(audit_checkpoint_validates),
        cmocka_unit_test(audit_entries_and_proofs_validate),
        cmocka_unit_test(audit_range_errors_validate),
        cmocka_unit_test(request_violations_are_caught),
        cmocka_unit_test(invalid_helper_needs_a_violation),
        cmocka_unit_test(response_violation_is_caught),
        cmocka_unit_test(undeclared_status_is_caught),
        cmocka_unit_test(spec_matches_route_table),
        cmocka_unit_test(stop_leaves_nothing),
    };
    return cmocka_run_group_tests_name("contract", tests, setup, teardown);
}
