/* SPDX-License-Identifier: Apache-2.0
 *
 * test_tenders.c — the tender and capacity-offer API of a real haulgated,
 * every request through `prism proxy --errors` (harness_prism.c) so each
 * request and response is checked against api/openapi.yaml; requests the
 * contract forbids go through hg_it_prism_request_invalid (prism must
 * refuse them, then the daemon must answer with its own problem), and the
 * byte-for-byte replay checks go straight to the daemon (prism re-writes
 * JSON). Covers: create (201, Location, ETag), replay of the same key
 * (same status, body, ETag, Location), a key reused with another body
 * (422), missing and malformed keys (400), 50 concurrent requests with one
 * key (one tender), GET with ETag/304, list filters and cursor paging while
 * tenders are being inserted, history, matching and its ranking, every
 * illegal transition (409 with currentState/allowedNextStates), stale and
 * missing If-Match (412/428), cancel, Prefer: wait (times out; returns
 * early on a decision), 403 for a role without the scope, tenant
 * isolation (404), unknown fields (400 with pointer), business rules
 * (422), 415, the audit records via /v1/audit/entries, and — after the
 * daemon stops — the SQLite file: every tender has its history and outbox
 * events and every tender event its tender. No response is a 5xx except
 * where one is the point: a second daemon with a small rate limit answers
 * 429 with Retry-After, and a third with a one-job write queue answers 503
 * overloaded (Retry-After, nothing written; the retry with the same key
 * creates the tender once).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "integration/harness.h"
#include "tender/tender.h"

#define PROBLEMS "https://haulgate.dev/problems/"
#define HOUR INT64_C(3600000)
#define DAY (24 * HOUR)

/* provider-sim publishes offers; globex is a TMS of another tenant; nobody
 * has no role that covers tenders. Prefer: wait is capped at 5 s. */
#define EXTRA_YAML                                                                           \
    "  - name: provider-sim\n"                                                               \
    "    match: {uri: \"spiffe://haulgate.dev/provider-sim\"}\n"                             \
    "    roles: [provider]\n"                                                                \
    "    tenant: acme\n"                                                                     \
    "  - name: globex\n"                                                                     \
    "    match: {uri: \"spiffe://haulgate.dev/globex\"}\n"                                   \
    "    roles: [tms]\n"                                                                     \
    "    tenant: globex\n"                                                                   \
    "  - name: nobody\n"                                                                     \
    "    match: {uri: \"spiffe://haulgate.dev/nobody\"}\n"                                   \
    "    roles: [auditor]\n"                                                                 \
    "audit:\n"                                                                               \
    "  checkpoint_records: 5\n"                                                              \
    "  checkpoint_interval: 50ms\n"                                                          \
    "tenders:\n"                                                                             \
    "  max_wait: 5s\n"

static struct hg_it *IT; /* the group's daemon */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------- requests */

enum via { VIA_PRISM, VIA_INVALID, VIA_DIRECT };

/* Prism could not reach the daemon through socat (on a loaded machine the
 * TLS handshake behind a new socat connection can outlast the harness's
 * 3 s header timeout): prism's own 500 FetchError, not an answer of ours. */
static int upstream_lost(const struct hg_it_resp *r)
{
    return r->status == 500 && r->body && strstr(r->body, "\"type\":\"FetchError\"");
}

/* Safe to send again: a read, or a write under an Idempotency-Key (the
 * daemon replays or finishes it). */
static int repeatable(const char *method, const char *const *headers)
{
    if (!strcmp(method, "GET"))
        return 1;
    for (size_t i = 0; headers && headers[i]; i++)
        if (!strncasecmp(headers[i], "Idempotency-Key:", 16))
            return 1;
    return 0;
}

/* One request, sent again when it never reached the daemon and that is
 * safe. No cmocka assertions: threads use it. */
static int send_req(enum via via, const char *client, const char *method, const char *path,
                    const char *const *headers, const char *body, struct hg_it_resp *out)
{
    size_t n = body ? strlen(body) : 0;
    int rc;
    for (int attempt = 0;; attempt++) {
        rc = via == VIA_PRISM     ? hg_it_prism_request(IT, client, method, path, headers, body,
                                                        n, out)
             : via == VIA_INVALID ? hg_it_prism_request_invalid(IT, client, method, path,
                                                                headers, body, n, out)
                                  : hg_it_prism_request_direct(IT, client, method, path,
                                                               headers, body, n, out);
        if (via != VIA_PRISM || !upstream_lost(out) || !repeatable(method, headers) ||
            attempt == 3)
            break;
        fprintf(stderr, "# %s %s: prism lost its upstream (%.120s); sending it again\n", method,
                path, out->body);
        hg_it_resp_free(out);
    }
    return rc;
}

/* One request; fails the test when the chain reports a violation (or, for
 * VIA_INVALID, when prism did not refuse it) and on any 5xx. */
static long req(enum via via, const char *client, const char *method, const char *path,
                const char *const *headers, const char *body, struct hg_it_resp *out)
{
    int rc = send_req(via, client, method, path, headers, body, out);
    if (rc != 0)
        fail_msg("%s %s as %s: %s (status %ld, body %.400s)", method, path, client, out->error,
                 out->status, out->body ? out->body : "");
    if (out->status >= 500)
        fail_msg("%s %s as %s: %ld %.400s", method, path, client, out->status, out->body);
    return out->status;
}

static json_t *body_json(const struct hg_it_resp *r)
{
    json_error_t e;
    json_t *j = json_loadb(r->body, r->body_len, 0, &e);
    if (!j)
        fail_msg("response is not JSON (%s): %.300s", e.text, r->body);
    return j;
}

static void header(const struct hg_it_resp *r, const char *name, char *buf, size_t cap)
{
    if (!hg_it_resp_header(r, name, buf, cap))
        buf[0] = '\0';
}

/* The response is problem `slug` with `status`; returns the document. */
static json_t *problem(const struct hg_it_resp *r, long status, const char *slug)
{
    char ct[128], type[160];
    header(r, "Content-Type", ct, sizeof ct);
    if (r->status != status || strncmp(ct, "application/problem+json", 24))
        fail_msg("wanted %ld %s, got %ld (%s): %.400s", status, slug, r->status, ct, r->body);
    json_t *j = body_json(r);
    snprintf(type, sizeof type, PROBLEMS "%s", slug);
    const char *t = json_string_value(json_object_get(j, "type"));
    if (!t || strcmp(t, type))
        fail_msg("wanted type %s, got %s", type, t ? t : "(none)");
    assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
    assert_non_null(json_string_value(json_object_get(j, "detail")));
    assert_non_null(json_string_value(json_object_get(j, "correlation_id")));
    return j;
}

/* ------------------------------------------------------------- bodies */

static void when(int64_t ms, char out[HG_RFC3339_LEN + 1])
{
    hg_rfc3339(ms, out);
}

/* A tender from Dallas to Houston two days ahead (or from/to the given
 * places), on `lane`. */
static char *tender_json(const char *load, const char *lane, int hazmat, double weight,
                         const char *geo)
{
    int64_t base = hg_wall_ms() / HOUR * HOUR + 2 * DAY;
    char ps[32], pe[32], ds[32], de[32];
    when(base, ps);
    when(base + 2 * HOUR, pe);
    when(base + 6 * HOUR, ds);
    when(base + 10 * HOUR, de);
    char *s = NULL;
    int n = asprintf(&s,
                     "{\"tmsLoadId\":\"%s\",%s,"
                     "\"pickupWindow\":{\"start\":\"%s\",\"end\":\"%s\"},"
                     "\"deliveryWindow\":{\"start\":\"%s\",\"end\":\"%s\"},"
                     "\"weightLbs\":%g,\"equipment\":\"dry_van\",\"hazmat\":%s,"
                     "\"lane\":\"%s\",\"region\":\"us-south\"}",
                     load,
                     geo ? geo
                         : "\"origin\":{\"name\":\"Dallas DC\",\"lat\":32.7767,\"lon\":-96.797},"
                           "\"destination\":{\"name\":\"Houston yard\",\"lat\":29.7604,"
                           "\"lon\":-95.3698}",
                     ps, pe, ds, de, weight, hazmat ? "true" : "false", lane);
    assert_true(n > 0);
    return s;
}

#define MATCH_GEO                                                                            \
    "\"origin\":{\"name\":\"Amarillo\",\"lat\":35.0,\"lon\":-100.0},"                        \
    "\"destination\":{\"name\":\"Woodward\",\"lat\":36.0,\"lon\":-99.0}"

/* An offer along the match test's route, available around the pickup. */
static char *offer_json(const char *provider, double rate, int hazmat, double max_weight,
                        int64_t start_offset)
{
    int64_t base = hg_wall_ms() / HOUR * HOUR + 2 * DAY;
    char ws[32], we[32], ex[32];
    when(base - 4 * HOUR + start_offset, ws);
    when(base + 20 * HOUR, we);
    when(hg_wall_ms() + DAY, ex);
    char *s = NULL;
    int n = asprintf(&s,
                     "{\"providerId\":\"%s\",\"vehicleType\":\"class8_tractor\","
                     "\"autonomyLevel\":\"L4\","
                     "\"availableWindow\":{\"start\":\"%s\",\"end\":\"%s\"},"
                     "\"route\":[{\"from\":{\"lat\":34.99,\"lon\":-100.01},"
                     "\"to\":{\"lat\":36.01,\"lon\":-98.99},\"maxDetourKm\":25}],"
                     "\"constraints\":{\"maxWeightLbs\":%g,\"hazmat\":%s,"
                     "\"equipment\":[\"dry_van\"]},"
                     "\"rate\":{\"currency\":\"USD\",\"amount\":%g},"
                     "\"expiresAt\":\"%s\",\"lane\":\"AMA-WWD\"}",
                     provider, ws, we, max_weight, hazmat ? "true" : "false", rate, ex);
    assert_true(n > 0);
    return s;
}

static const char *const JSON_CT = "Content-Type: application/json";

/* POST /v1/tenders as `client` with key; the new tender's id in id_out. */
static void create(const char *client, const char *key, const char *body, char id_out[37])
{
    char kh[300];
    snprintf(kh, sizeof kh, "Idempotency-Key: %s", key);
    const char *h[] = {JSON_CT, kh, NULL};
    struct hg_it_resp r;
    if (req(VIA_PRISM, client, "POST", "/v1/tenders", h, body, &r) != 201)
        fail_msg("create: %ld %.400s", r.status, r.body);
    json_t *j = body_json(&r);
    snprintf(id_out, 37, "%s", json_string_value(json_object_get(j, "tenderId")));
    json_decref(j);
    hg_it_resp_free(&r);
}

/* POST a transition with If-Match "<version>"; returns the status. */
static long move(const char *client, const char *id, const char *to, int64_t version,
                 const char *extra_body, struct hg_it_resp *out)
{
    char path[128], im[64], body[512];
    snprintf(path, sizeof path, "/v1/tenders/%s/transitions", id);
    snprintf(im, sizeof im, "If-Match: \"%" PRId64 "\"", version);
    snprintf(body, sizeof body, "{\"to\":\"%s\"%s%s}", to, extra_body ? "," : "",
             extra_body ? extra_body : "");
    const char *h[] = {JSON_CT, im, NULL};
    return req(VIA_PRISM, client, "POST", path, h, body, out);
}

static int64_t version_of(const struct hg_it_resp *r)
{
    json_t *j = body_json(r);
    int64_t v = json_integer_value(json_object_get(j, "version"));
    json_decref(j);
    return v;
}

/* ---------------------------------------------------------------- setup */

static int start_main(struct hg_it *it)
{
    if (hg_it_setup(it) != 0)
        return -1;
    snprintf(it->extra_yaml, sizeof it->extra_yaml, "%s", EXTRA_YAML);
    if (hg_it_pki(it, "issue", "globex", NULL) != 0 || hg_it_pki(it, "issue", "nobody", NULL) != 0 ||
        hg_it_start_verbose(it) != 0)
        return -1;
    static const char *const lanes[] = {"tms", "operator", "provider-sim", "globex", "nobody",
                                        NULL};
    return hg_it_prism_start(it, lanes);
}

static int group_setup(void **state)
{
    int rc = hg_it_fixture(state, start_main);
    IT = rc == 0 ? *state : NULL;
    return rc;
}

static int group_teardown(void **state)
{
    IT = NULL;
    return hg_it_fixture_free(state);
}

/* ------------------------------------------------------------- the tests */

static char T1[37]; /* created by create_and_replay, used by later tests */

static void create_and_replay(void **state)
{
    (void)state;
    char *body = tender_json("LOAD-1", "DAL-HOU", 0, 42000, NULL);
    const char *h[] = {JSON_CT, "Idempotency-Key: \"create-1\"", NULL};
    struct hg_it_resp a, b, c;
    /* straight to the daemon first, so the replays can be compared byte
     * for byte with what it sent */
    assert_int_equal(req(VIA_DIRECT, "tms", "POST", "/v1/tenders", h, body, &a), 201);
    json_t *j = body_json(&a);
    snprintf(T1, sizeof T1, "%s", json_string_value(json_object_get(j, "tenderId")));
    assert_string_equal(json_string_value(json_object_get(j, "state")), "pending");
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "tmsLoadId")), "LOAD-1");
    json_decref(j);
    char loc[160], want[160], etag[32], cid_a[160];
    header(&a, "Location", loc, sizeof loc);
    snprintf(want, sizeof want, "/v1/tenders/%s", T1);
    assert_string_equal(loc, want);
    header(&a, "ETag", etag, sizeof etag);
    assert_string_equal(etag, "\"1\"");
    header(&a, "X-Correlation-ID", cid_a, sizeof cid_a);

    /* the replay: same status, body bytes, Location, ETag, Content-Type */
    assert_int_equal(req(VIA_DIRECT, "tms", "POST", "/v1/tenders", h, body, &b), 201);
    assert_int_equal(a.body_len, b.body_len);
    assert_memory_equal(a.body, b.body, a.body_len);
    char loc2[160], etag2[32], ct[64], ct2[64], cid_b[160];
    header(&b, "Location", loc2, sizeof loc2);
    header(&b, "ETag", etag2, sizeof etag2);
    header(&a, "Content-Type", ct, sizeof ct);
    header(&b, "Content-Type", ct2, sizeof ct2);
    header(&b, "X-Correlation-ID", cid_b, sizeof cid_b);
    assert_string_equal(loc, loc2);
    assert_string_equal(etag, etag2);
    assert_string_equal(ct, ct2);
    assert_string_not_equal(cid_a, cid_b); /* fresh per request */
    /* and the replay through the contract check */
    assert_int_equal(req(VIA_PRISM, "tms", "POST", "/v1/tenders", h, body, &c), 201);
    json_t *ja = body_json(&a), *jc = body_json(&c);
    assert_true(json_equal(ja, jc));
    json_decref(ja);
    json_decref(jc);
    /* the same key of another principal is another key */
    struct hg_it_resp d;
    assert_int_equal(req(VIA_PRISM, "operator", "POST", "/v1/tenders", h, body, &d), 201);
    json_t *jd = body_json(&d);
    assert_string_not_equal(json_string_value(json_object_get(jd, "tenderId")), T1);
    json_decref(jd);
    hg_it_resp_free(&a);
    hg_it_resp_free(&b);
    hg_it_resp_free(&c);
    hg_it_resp_free(&d);
    free(body);
}

static void key_errors(void **state)
{
    (void)state;
    char *body = tender_json("LOAD-2", "DAL-HOU", 0, 1000, NULL);
    char *other = tender_json("LOAD-2b", "DAL-HOU", 0, 1000, NULL);
    struct hg_it_resp r;
    /* reused with another body */
    const char *h1[] = {JSON_CT, "Idempotency-Key: \"create-1\"", NULL};
    req(VIA_PRISM, "tms", "POST", "/v1/tenders", h1, other, &r);
    json_decref(problem(&r, 422, "idempotency-key-reused"));
    hg_it_resp_free(&r);
    /* missing on a route that requires it */
    const char *h2[] = {JSON_CT, NULL};
    req(VIA_INVALID, "tms", "POST", "/v1/tenders", h2, body, &r);
    json_decref(problem(&r, 400, "idempotency-key-missing"));
    hg_it_resp_free(&r);
    /* malformed forms and two fields */
    char longkey[300];
    memset(longkey, 'k', 256);
    longkey[256] = '\0';
    char longh[320];
    snprintf(longh, sizeof longh, "Idempotency-Key: %s", longkey);
    const char *bad[][4] = {
        {JSON_CT, "Idempotency-Key: two words", NULL, NULL},
        {JSON_CT, "Idempotency-Key: \"unterminated", NULL, NULL},
        {JSON_CT, "Idempotency-Key: \"k\";p=1", NULL, NULL},
        {JSON_CT, "Idempotency-Key: \"\"", NULL, NULL},
        {JSON_CT, longh, NULL, NULL},
        {JSON_CT, "Idempotency-Key: a", "Idempotency-Key: b", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req(VIA_INVALID, "tms", "POST", "/v1/tenders", bad[i], body, &r);
        json_decref(problem(&r, 400, "idempotency-key-invalid"));
        hg_it_resp_free(&r);
    }
    /* a bare token is accepted, and is the same key as its quoted form */
    const char *bare[] = {JSON_CT, "Idempotency-Key: bare-token_1.x:y", NULL};
    assert_int_equal(req(VIA_PRISM, "tms", "POST", "/v1/tenders", bare, body, &r), 201);
    hg_it_resp_free(&r);
    const char *quoted[] = {JSON_CT, "Idempotency-Key: \"bare-token_1.x:y\"", NULL};
    assert_int_equal(req(VIA_PRISM, "tms", "POST", "/v1/tenders", quoted, other, &r), 422);
    hg_it_resp_free(&r);
    /* a validation error is stored under its key and replayed as is */
    const char *k400[] = {JSON_CT, "Idempotency-Key: \"bad-body-1\"", NULL};
    const char *badbody = "{\"tmsLoadId\":\"x\",\"bogus\":1}";
    req(VIA_INVALID, "tms", "POST", "/v1/tenders", k400, badbody, &r);
    json_decref(problem(&r, 400, "invalid-body"));
    struct hg_it_resp r2;
    req(VIA_DIRECT, "tms", "POST", "/v1/tenders", k400, badbody, &r2);
    assert_int_equal(r2.status, 400);
    assert_int_equal(r.body_len, r2.body_len);
    assert_memory_equal(r.body, r2.body, r.body_len); /* even the old correlation_id */
    hg_it_resp_free(&r);
    hg_it_resp_free(&r2);
    free(body);
    free(other);
}

struct racer {
    const char *body;
    pthread_barrier_t *go;
    long status;
    char tender[40];
    char slug[64];
    int failed;
};

static void *race(void *arg)
{
    struct racer *x = arg;
    const char *h[] = {JSON_CT, "Idempotency-Key: \"race-1\"", NULL};
    struct hg_it_resp r;
    pthread_barrier_wait(x->go);
    if (send_req(VIA_PRISM, "tms", "POST", "/v1/tenders", h, x->body, &r) !=
        0) {
        x->failed = 1;
        fprintf(stderr, "racer: %s\n", r.error);
    }
    x->status = r.status;
    json_error_t e;
    json_t *j = json_loadb(r.body, r.body_len, 0, &e);
    const char *s = json_string_value(json_object_get(j, "tenderId"));
    const char *t = json_string_value(json_object_get(j, "type"));
    snprintf(x->tender, sizeof x->tender, "%s", s ? s : "");
    snprintf(x->slug, sizeof x->slug, "%s", t && strlen(t) > strlen(PROBLEMS) ? t + strlen(PROBLEMS) : "");
    json_decref(j);
    hg_it_resp_free(&r);
    return NULL;
}

static void concurrent_same_key(void **state)
{
    (void)state;
    enum { N = 50 };
    char *body = tender_json("LOAD-RACE", "RACE-1", 0, 500, NULL);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    pthread_t t[N];
    struct racer x[N];
    for (int i = 0; i < N; i++) {
        x[i] = (struct racer){.body = body, .go = &go};
        pthread_create(&t[i], NULL, race, &x[i]);
    }
    int created = 0, replays = 0, inflight = 0;
    const char *id = NULL;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_false(x[i].failed);
        if (x[i].status == 201) {
            if (!id)
                id = x[i].tender;
            assert_string_equal(x[i].tender, id); /* one tender, replayed */
            created++;
        } else if (x[i].status == 409) {
            assert_string_equal(x[i].slug, "idempotency-key-in-flight");
            inflight++;
        } else {
            fail_msg("racer %d: status %ld", i, x[i].status);
        }
    }
    pthread_barrier_destroy(&go);
    replays = created - 1;
    assert_true(created >= 1);
    assert_int_equal(created + inflight, N);
    (void)replays;
    /* exactly one tender exists for it */
    struct hg_it_resp r;
    assert_int_equal(req(VIA_PRISM, "tms", "GET", "/v1/tenders?lane=RACE-1", NULL, NULL, &r), 200);
    json_t *j = body_json(&r);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "tenderId")),
        id);
    json_decref(j);
    hg_it_resp_free(&r);
    free(body);
}

static void get_etag_304_and_tenancy(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "/v1/tenders/%s", T1);
    struct hg_it_resp r;
    assert_int_equal(req(VIA_PRISM, "tms", "GET", path, NULL, NULL, &r), 200);
    char etag[32];
    header(&r, "ETag", etag, sizeof etag);
    assert_string_equal(etag, "\"1\"");
    hg_it_resp_free(&r);
    const char *inm[] = {"If-None-Match: \"1\"", NULL};
    assert_int_equal(req(VIA_PRISM, "tms", "GET", path, inm, NULL, &r), 304);
    assert_int_equal(r.body_len, 0);
    header(&r, "ETag", etag, sizeof etag);
    assert_string_equal(etag, "\"1\"");
    hg_it_resp_free(&r);
    const char *stale[] = {"If-None-Match: \"7\"", NULL};
    assert_int_equal(req(VIA_PRISM, "tms", "GET", path, stale, NULL, &r), 200);
    hg_it_resp_free(&r);
    /* either case names the same tender */
    char upper[128];
    snprintf(upper, sizeof upper, "%s", path);
    for (char *c = upper + strlen("/v1/tenders/"); *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    assert_int_equal(req(VIA_PRISM, "operator", "GET", upper, NULL, NULL, &r), 200);
    hg_it_resp_free(&r);
    /* another tenant: 404, as for a tender that does not exist */
    req(VIA_PRISM, "globex", "GET", path, NULL, NULL, &r);
    json_decref(problem(&r, 404, "not-found"));
    hg_it_resp_free(&r);
    req(VIA_PRISM, "tms", "GET", "/v1/tenders/01234567-89ab-7def-8123-456789abcdef", NULL, NULL,
        &r);
    json_decref(problem(&r, 404, "not-found"));
    hg_it_resp_free(&r);
    char hist[160];
    snprintf(hist, sizeof hist, "%s/history", path);
    req(VIA_PRISM, "globex", "GET", hist, NULL, NULL, &r);
    json_decref(problem(&r, 404, "not-found"));
    hg_it_resp_free(&r);
    char im[] = "If-Match: \"1\"";
    const char *h[] = {JSON_CT, im, NULL};
    char tpath[160];
    snprintf(tpath, sizeof tpath, "%s/transitions", path);
    req(VIA_PRISM, "globex", "POST", tpath, h, "{\"to\":\"offered\"}", &r);
    json_decref(problem(&r, 404, "not-found"));
    hg_it_resp_free(&r);
    /* globex's list does not show it; its own tender it sees */
    char gid[37];
    char *gb = tender_json("G-1", "GLX-1", 0, 100, NULL);
    create("globex", "\"g-1\"", gb, gid);
    free(gb);
    assert_int_equal(req(VIA_PRISM, "globex", "GET", "/v1/tenders", NULL, NULL, &r), 200);
    json_t *j = body_json(&r);
    size_t i;
    json_t *it;
    int saw_own = 0;
    json_array_foreach(json_object_get(j, "items"), i, it) {
        assert_string_not_equal(json_string_value(json_object_get(it, "tenderId")), T1);
        saw_own |= !strcmp(json_string_value(json_object_get(it, "tenderId")), gid);
    }
    assert_true(saw_own);
    json_decref(j);
    hg_it_resp_free(&r);
    /* a client whose roles bring no tender:read: its token lacks the scope */
    req(VIA_PRISM, "nobody", "GET", "/v1/tenders", NULL, NULL, &r);
    j = problem(&r, 403, "insufficient-scope");
    assert_string_equal(json_string_value(json_object_get(j, "required_scope")), "tender:read");
    json_decref(j);
    hg_it_resp_free(&r);
    /* a TMS may not publish capacity */
    char *ob = offer_json("prov-x", 100, 0, 80000, 0);
    const char *oh[] = {JSON_CT, "Idempotency-Key: \"o-tms\"", NULL};
    req(VIA_PRISM, "tms", "POST", "/v1/capacity-offers", oh, ob, &r);
    j = problem(&r, 403, "insufficient-scope");
    assert_string_equal(json_string_value(json_object_get(j, "required_scope")), "capacity:write");
    json_decref(j);
    hg_it_resp_free(&r);
    free(ob);
}

/* ------------------------------------------------------------- paging */

struct inserter {
    int n;
    int done;
    int failed;
};

static void *insert_more(void *arg)
{
    struct inserter *in = arg;
    for (int i = 0; i < in->n; i++) {
        char load[32], key[64], kh[96];
        snprintf(load, sizeof load, "PAGE-LATE-%d", i);
        snprintf(key, sizeof key, "\"page-late-%d\"", i);
        snprintf(kh, sizeof kh, "Idempotency-Key: %s", key);
        char *b = tender_json(load, "PAGE-1", 0, 100, NULL);
        const char *h[] = {JSON_CT, kh, NULL};
        struct hg_it_resp r;
        if (send_req(VIA_PRISM, "tms", "POST", "/v1/tenders", h, b, &r) != 0 ||
            r.status != 201)
            in->failed = 1;
        hg_it_resp_free(&r);
        free(b);
    }
    in->done = 1;
    return NULL;
}

static void list_paging_under_inserts(void **state)
{
    (void)state;
    char before[30][37];
    for (int i = 0; i < 30; i++) {
        char load[32], key[64];
        snprintf(load, sizeof load, "PAGE-%d", i);
        snprintf(key, sizeof key, "\"page-%d\"", i);
        char *b = tender_json(load, "PAGE-1", 0, 100, NULL);
        create("tms", key, b, before[i]);
        free(b);
    }
    struct inserter in = {.n = 20};
    pthread_t t;
    pthread_create(&t, NULL, insert_more, &in);
    char seen[80][37];
    int nseen = 0, pages = 0;
    char cursor[128] = "";
    for (;;) {
        char path[256];
        snprintf(path, sizeof path, "/v1/tenders?lane=PAGE-1&limit=7%s%s",
                 cursor[0] ? "&cursor=" : "", cursor);
        struct hg_it_resp r;
        assert_int_equal(req(VIA_PRISM, "operator", "GET", path, NULL, NULL, &r), 200);
        json_t *j = body_json(&r);
        json_t *items = json_object_get(j, "items");
        assert_true(json_array_size(items) <= 7);
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it) {
            const char *id = json_string_value(json_object_get(it, "tenderId"));
            assert_true(nseen < 80);
            /* ascending and never twice */
            if (nseen)
                assert_true(strcmp(seen[nseen - 1], id) < 0);
            snprintf(seen[nseen++], 37, "%s", id);
        }
        const char *next = json_string_value(json_object_get(j, "nextCursor"));
        pages++;
        if (!next) {
            json_decref(j);
            hg_it_resp_free(&r);
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", next);
        json_decref(j);
        hg_it_resp_free(&r);
        sleep_ms(20); /* let the inserter interleave */
    }
    pthread_join(t, NULL);
    assert_false(in.failed);
    assert_true(pages >= 5);
    /* every tender that existed before paging started was seen */
    for (int i = 0; i < 30; i++) {
        int found = 0;
        for (int k = 0; k < nseen; k++)
            found |= !strcmp(seen[k], before[i]);
        if (!found)
            fail_msg("tender %s skipped by paging", before[i]);
    }
    assert_true(nseen >= 30 && nseen <= 50);
    /* the cursor is bound to its filters */
    struct hg_it_resp r;
    char path[256];
    snprintf(path, sizeof path, "/v1/tenders?lane=PAGE-2&limit=7&cursor=%s", cursor);
    if (cursor[0]) {
        req(VIA_PRISM, "operator", "GET", path, NULL, NULL, &r);
        json_t *p = problem(&r, 400, "invalid-parameter");
        assert_string_equal(json_string_value(json_object_get(p, "parameter")), "cursor");
        json_decref(p);
        hg_it_resp_free(&r);
    }
    req(VIA_PRISM, "operator", "GET", "/v1/tenders?cursor=AAAA", NULL, NULL, &r);
    json_decref(problem(&r, 400, "invalid-parameter"));
    hg_it_resp_free(&r);
    /* strict parameters */
    const char *bad[] = {"/v1/tenders?state=bogus", "/v1/tenders?limit=0",
                         "/v1/tenders?limit=501", "/v1/tenders?updatedAfter=yesterday"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req(VIA_INVALID, "operator", "GET", bad[i], NULL, NULL, &r);
        json_decref(problem(&r, 400, "invalid-parameter"));
        hg_it_resp_free(&r);
    }
    req(VIA_DIRECT, "operator", "GET", "/v1/tenders?nosuch=1", NULL, NULL, &r);
    json_t *p = problem(&r, 400, "invalid-parameter");
    assert_string_equal(json_string_value(json_object_get(p, "parameter")), "nosuch");
    json_decref(p);
    hg_it_resp_free(&r);
    /* filters: state and updatedAfter */
    assert_int_equal(req(VIA_PRISM, "operator", "GET", "/v1/tenders?lane=PAGE-1&state=offered",
                         NULL, NULL, &r),
                     200);
    json_t *j = body_json(&r);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    json_decref(j);
    hg_it_resp_free(&r);
    char future[40], fpath[160];
    when(hg_wall_ms() + HOUR, future);
    snprintf(fpath, sizeof fpath, "/v1/tenders?lane=PAGE-1&updatedAfter=%s", future);
    assert_int_equal(req(VIA_PRISM, "operator", "GET", fpath, NULL, NULL, &r), 200);
    j = body_json(&r);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    json_decref(j);
    hg_it_resp_free(&r);
    when(hg_wall_ms() - HOUR, future);
    snprintf(fpath, sizeof fpath, "/v1/tenders?lane=PAGE-1&updatedAfter=%s&limit=500", future);
    assert_int_equal(req(VIA_PRISM, "operator", "GET", fpath, NULL, NULL, &r), 200);
    j = body_json(&r);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 50);
    assert_null(json_object_get(j, "nextCursor"));
    json_decref(j);
    hg_it_resp_free(&r);
    /* a page that ends exactly at the last row has no cursor; one short of it has */
    const char *edges[] = {"50", "49"};
    for (size_t e = 0; e < 2; e++) {
        snprintf(fpath, sizeof fpath, "/v1/tenders?lane=PAGE-1&updatedAfter=%s&limit=%s", future,
                 edges[e]);
        assert_int_equal(req(VIA_PRISM, "operator", "GET", fpath, NULL, NULL, &r), 200);
        j = body_json(&r);
        assert_int_equal(json_array_size(json_object_get(j, "items")), e ? 49 : 50);
        if (e)
            assert_non_null(json_object_get(j, "nextCursor"));
        else
            assert_null(json_object_get(j, "nextCursor"));
        json_decref(j);
        hg_it_resp_free(&r);
    }
}

/* ------------------------------------------------------------ transitions */

/* Every target other than the allowed ones is refused with 409 naming the
 * current state and the allowed next states (checked against the domain's
 * table, and the request changes nothing). */
static void refuse_all_illegal(const char *id, enum hg_tender_state cur, int64_t version)
{
    enum hg_tender_state next[HG_TS__COUNT];
    size_t nn = hg_tender_next_states(cur, next, HG_TS__COUNT);
    for (int to = 0; to < HG_TS__COUNT; to++) {
        if (hg_tender_transition_allowed(cur, (enum hg_tender_state)to))
            continue;
        struct hg_it_resp r;
        move("tms", id, hg_tender_state_name((enum hg_tender_state)to), version, NULL, &r);
        json_t *p = problem(&r, 409, "invalid-transition");
        assert_string_equal(json_string_value(json_object_get(p, "currentState")),
                            hg_tender_state_name(cur));
        json_t *allowed = json_object_get(p, "allowedNextStates");
        assert_int_equal(json_array_size(allowed), nn);
        for (size_t k = 0; k < nn; k++)
            assert_string_equal(json_string_value(json_array_get(allowed, k)),
                                hg_tender_state_name(next[k]));
        json_decref(p);
        hg_it_resp_free(&r);
    }
}

static void transitions_and_preconditions(void **state)
{
    (void)state;
    char id[37];
    char *b = tender_json("LOAD-SM", "SM-1", 0, 100, NULL);
    create("tms", "\"sm-1\"", b, id);
    free(b);
    /* the happy path, refusing every illegal edge at each step */
    const enum hg_tender_state path[] = {HG_TS_PENDING, HG_TS_OFFERED, HG_TS_ACCEPTED,
                                         HG_TS_DISPATCHED, HG_TS_ENROUTE, HG_TS_DELIVERED};
    int64_t v = 1;
    for (size_t i = 0; i < sizeof path / sizeof path[0]; i++) {
        refuse_all_illegal(id, path[i], v);
        if (i + 1 == sizeof path / sizeof path[0])
            break;
        struct hg_it_resp r;
        char reason[64];
        snprintf(reason, sizeof reason, "\"reason\":\"step %zu\"", i);
        assert_int_equal(move("operator", id, hg_tender_state_name(path[i + 1]), v, reason, &r),
                         200);
        char etag[32], want[32];
        header(&r, "ETag", etag, sizeof etag);
        snprintf(want, sizeof want, "\"%" PRId64 "\"", v + 1);
        assert_string_equal(etag, want);
        assert_int_equal(version_of(&r), v + 1);
        v++;
        hg_it_resp_free(&r);
    }
    /* the terminal states reached by the other edges */
    const enum hg_tender_state ends[] = {HG_TS_REJECTED, HG_TS_EXPIRED, HG_TS_FAILED_OVER,
                                         HG_TS_CANCELLED};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "\"end-%zu\"", i);
        char tid[37];
        b = tender_json("LOAD-END", "SM-2", 0, 100, NULL);
        create("tms", key, b, tid);
        free(b);
        struct hg_it_resp r;
        assert_int_equal(move("tms", tid, "offered", 1, NULL, &r), 200);
        hg_it_resp_free(&r);
        assert_int_equal(move("tms", tid, hg_tender_state_name(ends[i]), 2, NULL, &r), 200);
        hg_it_resp_free(&r);
        refuse_all_illegal(tid, ends[i], 3);
    }
    /* history: who, when, why, in order */
    char hp[160];
    snprintf(hp, sizeof hp, "/v1/tenders/%s/history", id);
    struct hg_it_resp r;
    assert_int_equal(req(VIA_PRISM, "tms", "GET", hp, NULL, NULL, &r), 200);
    json_t *j = body_json(&r);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 6);
    assert_true(json_is_null(json_object_get(json_array_get(items, 0), "from")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "to")),
                        "pending");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "actor")),
                        "tms");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "actor")),
                        "operator");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "reason")),
                        "step 0");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 5), "to")),
                        "delivered");
    json_decref(j);
    hg_it_resp_free(&r);

    /* preconditions on a fresh tender */
    char pid[37];
    b = tender_json("LOAD-PRE", "SM-3", 0, 100, NULL);
    create("tms", "\"pre-1\"", b, pid);
    free(b);
    char tpath[160];
    snprintf(tpath, sizeof tpath, "/v1/tenders/%s/transitions", pid);
    /* stale If-Match: 412 with the current ETag, nothing changed */
    move("tms", pid, "offered", 5, NULL, &r);
    json_t *p = problem(&r, 412, "precondition-failed");
    assert_string_equal(json_string_value(json_object_get(p, "currentEtag")), "\"1\"");
    json_decref(p);
    hg_it_resp_free(&r);
    /* no If-Match: 428 (the contract requires the header) */
    const char *noim[] = {JSON_CT, NULL};
    req(VIA_INVALID, "tms", "POST", tpath, noim, "{\"to\":\"offered\"}", &r);
    json_decref(problem(&r, 428, "precondition-required"));
    hg_it_resp_free(&r);
    /* a weak tag never matches (strong comparison), nor does a list of others */
    const char *weak[] = {JSON_CT, "If-Match: W/\"1\"", NULL};
    req(VIA_INVALID, "tms", "POST", tpath, weak, "{\"to\":\"offered\"}", &r);
    json_decref(problem(&r, 412, "precondition-failed"));
    hg_it_resp_free(&r);
    const char *list[] = {JSON_CT, "If-Match: \"3\", \"4\"", NULL};
    req(VIA_INVALID, "tms", "POST", tpath, list, "{\"to\":\"offered\"}", &r);
    json_decref(problem(&r, 412, "precondition-failed"));
    hg_it_resp_free(&r);
    /* ... but a list holding the current one does (RFC 9110 §13.1.1) */
    const char *good_list[] = {JSON_CT, "If-Match: \"9\", \"1\"", "Idempotency-Key: \"pre-move\"",
                               NULL};
    assert_int_equal(req(VIA_DIRECT, "tms", "POST", tpath, good_list, "{\"to\":\"offered\"}", &r),
                     200);
    hg_it_resp_free(&r);
    /* the same key replays the change even though the ETag moved on */
    assert_int_equal(req(VIA_DIRECT, "tms", "POST", tpath, good_list, "{\"to\":\"offered\"}", &r),
                     200);
    assert_int_equal(version_of(&r), 2);
    hg_it_resp_free(&r);
    /* an unknown member of the body: 400 naming it */
    const char *im2[] = {JSON_CT, "If-Match: \"2\"", NULL};
    req(VIA_INVALID, "tms", "POST", tpath, im2, "{\"to\":\"accepted\",\"bogus\":true}", &r);
    p = problem(&r, 400, "invalid-body");
    assert_string_equal(json_string_value(json_object_get(p, "pointer")), "/bogus");
    json_decref(p);
    hg_it_resp_free(&r);
    /* 415 */
    const char *txt[] = {"Content-Type: text/plain", "If-Match: \"2\"", NULL};
    req(VIA_INVALID, "tms", "POST", tpath, txt, "{\"to\":\"accepted\"}", &r);
    json_decref(problem(&r, 415, "unsupported-media-type"));
    hg_it_resp_free(&r);

    /* cancel: without a body, then with one on another tender, then 409 */
    char cpath[160];
    snprintf(cpath, sizeof cpath, "/v1/tenders/%s/cancel", pid);
    const char *cim[] = {"If-Match: \"2\"", "Idempotency-Key: \"cancel-1\"", NULL};
    assert_int_equal(req(VIA_PRISM, "tms", "POST", cpath, cim, NULL, &r), 200);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "cancelled");
    json_decref(j);
    hg_it_resp_free(&r);
    assert_int_equal(req(VIA_PRISM, "tms", "POST", cpath, cim, NULL, &r), 200); /* replay */
    hg_it_resp_free(&r);
    const char *cim3[] = {"If-Match: \"3\"", NULL};
    req(VIA_PRISM, "tms", "POST", cpath, cim3, NULL, &r);
    p = problem(&r, 409, "invalid-transition");
    assert_string_equal(json_string_value(json_object_get(p, "currentState")), "cancelled");
    assert_int_equal(json_array_size(json_object_get(p, "allowedNextStates")), 0);
    json_decref(p);
    hg_it_resp_free(&r);
    char cid[37];
    b = tender_json("LOAD-CAN", "SM-3", 0, 100, NULL);
    create("tms", "\"can-2\"", b, cid);
    free(b);
    snprintf(cpath, sizeof cpath, "/v1/tenders/%s/cancel", cid);
    const char *cim4[] = {JSON_CT, "If-Match: \"1\"", NULL};
    assert_int_equal(req(VIA_PRISM, "tms", "POST", cpath, cim4, "{\"reason\":\"load withdrawn\"}",
                         &r),
                     200);
    hg_it_resp_free(&r);
    snprintf(hp, sizeof hp, "/v1/tenders/%s/history", cid);
    assert_int_equal(req(VIA_PRISM, "tms", "GET", hp, NULL, NULL, &r), 200);
    j = body_json(&r);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 1), "reason")),
        "load withdrawn");
    json_decref(j);
    hg_it_resp_free(&r);
}

struct mover {
    const char *id;
    pthread_barrier_t *go;
    long status;
    char etag[32];
    int failed;
};

static void *race_move(void *arg)
{
    struct mover *m = arg;
    char path[128];
    snprintf(path, sizeof path, "/v1/tenders/%s/transitions", m->id);
    const char *h[] = {JSON_CT, "If-Match: \"1\"", NULL};
    const char *body = "{\"to\":\"offered\"}";
    struct hg_it_resp r;
    pthread_barrier_wait(m->go);
    if (send_req(VIA_PRISM, "tms", "POST", path, h, body, &r) != 0)
        m->failed = 1;
    m->status = r.status;
    json_error_t e;
    json_t *j = json_loadb(r.body, r.body_len, 0, &e);
    const char *et = json_string_value(json_object_get(j, "currentEtag"));
    snprintf(m->etag, sizeof m->etag, "%s", et ? et : "");
    json_decref(j);
    hg_it_resp_free(&r);
    return NULL;
}

/* Eight clients move the same version at once: one wins, the others get
 * 412 with the new ETag (whether they lost before or at the commit). */
static void concurrent_transitions(void **state)
{
    (void)state;
    enum { N = 8 };
    char id[37];
    char *b = tender_json("LOAD-CT", "CT-1", 0, 100, NULL);
    create("tms", "\"ct-1\"", b, id);
    free(b);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    pthread_t t[N];
    struct mover m[N];
    for (int i = 0; i < N; i++) {
        m[i] = (struct mover){.id = id, .go = &go};
        pthread_create(&t[i], NULL, race_move, &m[i]);
    }
    int won = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_false(m[i].failed);
        if (m[i].status == 200) {
            won++;
        } else {
            assert_int_equal(m[i].status, 412);
            assert_string_equal(m[i].etag, "\"2\"");
        }
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(won, 1);
}

static void business_rules(void **state)
{
    (void)state;
    /* delivery ends before pickup starts: 422 with a pointer */
    int64_t base = hg_wall_ms() / HOUR * HOUR + 2 * DAY;
    char ps[32], pe[32], ds[32], de[32];
    when(base, ps);
    when(base + 2 * HOUR, pe);
    when(base - 10 * HOUR, ds);
    when(base - 6 * HOUR, de);
    char body[1024];
    snprintf(body, sizeof body,
             "{\"tmsLoadId\":\"BR-1\","
             "\"origin\":{\"name\":\"A\",\"lat\":32.0,\"lon\":-96.0},"
             "\"destination\":{\"name\":\"B\",\"lat\":30.0,\"lon\":-95.0},"
             "\"pickupWindow\":{\"start\":\"%s\",\"end\":\"%s\"},"
             "\"deliveryWindow\":{\"start\":\"%s\",\"end\":\"%s\"},"
             "\"weightLbs\":1000,\"equipment\":\"dry_van\"}",
             ps, pe, ds, de);
    const char *h[] = {JSON_CT, "Idempotency-Key: \"br-1\"", NULL};
    struct hg_it_resp r, r2;
    req(VIA_PRISM, "tms", "POST", "/v1/tenders", h, body, &r);
    json_t *p = problem(&r, 422, "business-rule");
    const char *ptr = json_string_value(json_object_get(p, "pointer"));
    assert_non_null(ptr);
    assert_int_equal(strncmp(ptr, "/deliveryWindow", 15), 0);
    json_decref(p);
    /* stored: the retry gets the same answer */
    req(VIA_PRISM, "tms", "POST", "/v1/tenders", h, body, &r2);
    assert_int_equal(r2.status, 422);
    json_t *a = body_json(&r), *b = body_json(&r2);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    hg_it_resp_free(&r);
    hg_it_resp_free(&r2);
    /* a body that is not JSON at all */
    const char *h2[] = {JSON_CT, "Idempotency-Key: \"br-2\"", NULL};
    /* (prism answers unparseable JSON itself, not as a contract violation) */
    req(VIA_DIRECT, "tms", "POST", "/v1/tenders", h2, "{not json", &r);
    p = problem(&r, 400, "invalid-body");
    assert_string_equal(json_string_value(json_object_get(p, "pointer")), "");
    json_decref(p);
    hg_it_resp_free(&r);
    /* a server-owned member */
    char *tb = tender_json("BR-3", "BR", 0, 100, NULL);
    char owned[1200];
    snprintf(owned, sizeof owned, "{\"state\":\"accepted\",%s", tb + 1);
    free(tb);
    const char *h3[] = {JSON_CT, "Idempotency-Key: \"br-3\"", NULL};
    req(VIA_INVALID, "tms", "POST", "/v1/tenders", h3, owned, &r);
    p = problem(&r, 400, "invalid-body");
    assert_string_equal(json_string_value(json_object_get(p, "pointer")), "/state");
    json_decref(p);
    hg_it_resp_free(&r);
    /* 415 on create */
    const char *h4[] = {"Content-Type: text/plain", "Idempotency-Key: \"br-4\"", NULL};
    char *ok = tender_json("BR-4", "BR", 0, 100, NULL);
    req(VIA_INVALID, "tms", "POST", "/v1/tenders", h4, ok, &r);
    json_decref(problem(&r, 415, "unsupported-media-type"));
    hg_it_resp_free(&r);
    /* and it was not stored: the same key with the right type works */
    const char *h5[] = {JSON_CT, "Idempotency-Key: \"br-4\"", NULL};
    assert_int_equal(req(VIA_PRISM, "tms", "POST", "/v1/tenders", h5, ok, &r), 201);
    hg_it_resp_free(&r);
    free(ok);
}

/* --------------------------------------------------------- capacity, match */

static char OFFER_CHEAP[37], OFFER_MID[37], OFFER_DEAR[37], OFFER_HAZ[37];

static void publish(const char *key, const char *body, char id[37])
{
    char kh[96];
    snprintf(kh, sizeof kh, "Idempotency-Key: %s", key);
    const char *h[] = {JSON_CT, kh, NULL};
    struct hg_it_resp r;
    assert_int_equal(req(VIA_PRISM, "provider-sim", "POST", "/v1/capacity-offers", h, body, &r),
                     201);
    json_t *j = body_json(&r);
    snprintf(id, 37, "%s", json_string_value(json_object_get(j, "capacityId")));
    char loc[160], want[160];
    header(&r, "Location", loc, sizeof loc);
    snprintf(want, sizeof want, "/v1/capacity-offers/%s", id);
    assert_string_equal(loc, want);
    assert_non_null(json_object_get(j, "createdAt"));
    json_decref(j);
    hg_it_resp_free(&r);
}

static void capacity_and_matching(void **state)
{
    (void)state;
    char *o;
    char *dear = offer_json("prov-dear", 1700, 0, 80000, 0);
    publish("\"off-dear\"", dear, OFFER_DEAR);
    o = offer_json("prov-cheap", 1500, 0, 80000, 0);
    publish("off-cheap", o, OFFER_CHEAP);
    free(o);
    o = offer_json("prov-mid", 1600, 0, 80000, 0);
    publish("\"off-mid\"", o, OFFER_MID);
    free(o);
    o = offer_json("prov-haz", 1000, 0, 5000, 0); /* cheapest, but too weak */
    publish("\"off-weak\"", o, OFFER_HAZ);
    free(o);
    /* replay of a publish */
    struct hg_it_resp r;
    const char *hd[] = {JSON_CT, "Idempotency-Key: \"off-dear\"", NULL};
    assert_int_equal(req(VIA_PRISM, "provider-sim", "POST", "/v1/capacity-offers", hd, dear, &r),
                     201);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "capacityId")), OFFER_DEAR);
    json_decref(j);
    hg_it_resp_free(&r);
    free(dear);

    char tid[37];
    char *tb = tender_json("LOAD-MATCH", "AMA-WWD", 0, 20000, MATCH_GEO);
    create("tms", "\"match-1\"", tb, tid);
    free(tb);
    char mp[200];
    snprintf(mp, sizeof mp, "/v1/tenders/%s/matches", tid);
    assert_int_equal(req(VIA_PRISM, "tms", "GET", mp, NULL, NULL, &r), 200);
    j = body_json(&r);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "capacityId")),
                        OFFER_CHEAP);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "capacityId")),
                        OFFER_MID);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 2), "capacityId")),
                        OFFER_DEAR);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "providerId")),
                        "prov-cheap");
    assert_true(json_real_value(json_object_get(json_array_get(items, 0), "detourKm")) < 25.0);
    assert_true(json_integer_value(json_object_get(j, "evaluatedOffers")) >= 4);
    json_decref(j);
    hg_it_resp_free(&r);
    snprintf(mp, sizeof mp, "/v1/tenders/%s/matches?limit=1", tid);
    assert_int_equal(req(VIA_PRISM, "tms", "GET", mp, NULL, NULL, &r), 200);
    j = body_json(&r);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    json_decref(j);
    hg_it_resp_free(&r);

    /* offering it to an offer that cannot carry it: 422 at /capacityId */
    char extra[128];
    snprintf(extra, sizeof extra, "\"capacityId\":\"%s\"", OFFER_HAZ);
    move("tms", tid, "offered", 1, extra, &r);
    json_t *p = problem(&r, 422, "business-rule");
    assert_string_equal(json_string_value(json_object_get(p, "pointer")), "/capacityId");
    json_decref(p);
    hg_it_resp_free(&r);
    move("tms", tid, "offered", 1, "\"capacityId\":\"01234567-89ab-7def-8123-456789abcdef\"", &r);
    p = problem(&r, 422, "business-rule");
    assert_string_equal(json_string_value(json_object_get(p, "pointer")), "/capacityId");
    json_decref(p);
    hg_it_resp_free(&r);
    snprintf(extra, sizeof extra, "\"capacityId\":\"%s\"", OFFER_CHEAP);
    assert_int_equal(move("tms", tid, "offered", 1, extra, &r), 200);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "capacityId")), OFFER_CHEAP);
    json_decref(j);
    hg_it_resp_free(&r);

    /* lists and filters */
    assert_int_equal(req(VIA_PRISM, "tms", "GET", "/v1/capacity-offers?provider=prov-mid", NULL,
                         NULL, &r),
                     200);
    j = body_json(&r);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    json_decref(j);
    hg_it_resp_free(&r);
    assert_int_equal(req(VIA_PRISM, "provider-sim", "GET",
                         "/v1/capacity-offers?autonomyLevel=L4&lane=AMA-WWD&limit=2", NULL, NULL,
                         &r),
                     200);
    j = body_json(&r);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
    const char *next = json_string_value(json_object_get(j, "nextCursor"));
    assert_non_null(next);
    char np[300];
    snprintf(np, sizeof np, "/v1/capacity-offers?autonomyLevel=L4&lane=AMA-WWD&limit=2&cursor=%s",
             next);
    json_decref(j);
    hg_it_resp_free(&r);
    assert_int_equal(req(VIA_PRISM, "provider-sim", "GET", np, NULL, NULL, &r), 200);
    j = body_json(&r);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
    assert_null(json_object_get(j, "nextCursor"));
    json_decref(j);
    hg_it_resp_free(&r);
    char far1[40], far2[40], wp[200];
    when(hg_wall_ms() + 30 * DAY, far1);
    when(hg_wall_ms() + 31 * DAY, far2);
    snprintf(wp, sizeof wp, "/v1/capacity-offers?windowStart=%s&windowEnd=%s", far1, far2);
    assert_int_equal(req(VIA_PRISM, "tms", "GET", wp, NULL, NULL, &r), 200);
    j = body_json(&r);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    json_decref(j);
    hg_it_resp_free(&r);
    snprintf(wp, sizeof wp, "/v1/capacity-offers?windowStart=%s", far1);
    req(VIA_PRISM, "tms", "GET", wp, NULL, NULL, &r);
    p = problem(&r, 400, "invalid-parameter");
    assert_string_equal(json_string_value(json_object_get(p, "parameter")), "windowEnd");
    json_decref(p);
    hg_it_resp_free(&r);

    /* one offer, then withdraw it: 204, replayed 204, then 404 */
    char op[160];
    snprintf(op, sizeof op, "/v1/capacity-offers/%s", OFFER_DEAR);
    assert_int_equal(req(VIA_PRISM, "tms", "GET", op, NULL, NULL, &r), 200);
    hg_it_resp_free(&r);
    req(VIA_PRISM, "globex", "GET", op, NULL, NULL, &r);
    json_decref(problem(&r, 404, "not-found"));
    hg_it_resp_free(&r);
    const char *dk[] = {"Idempotency-Key: \"withdraw-1\"", NULL};
    assert_int_equal(req(VIA_PRISM, "provider-sim", "DELETE", op, dk, NULL, &r), 204);
    assert_int_equal(r.body_len, 0);
    hg_it_resp_free(&r);
    assert_int_equal(req(VIA_PRISM, "provider-sim", "DELETE", op, dk, NULL, &r), 204);
    hg_it_resp_free(&r);
    req(VIA_PRISM, "provider-sim", "DELETE", op, NULL, NULL, &r);
    json_decref(problem(&r, 404, "not-found"));
    hg_it_resp_free(&r);
    req(VIA_PRISM, "tms", "GET", op, NULL, NULL, &r);
    json_decref(problem(&r, 404, "not-found"));
    hg_it_resp_free(&r);
    /* a bad offer: unknown member */
    const char *hb[] = {JSON_CT, "Idempotency-Key: \"off-bad\"", NULL};
    req(VIA_INVALID, "provider-sim", "POST", "/v1/capacity-offers", hb,
        "{\"providerId\":\"p\",\"color\":\"red\"}", &r);
    p = problem(&r, 400, "invalid-body");
    assert_non_null(json_string_value(json_object_get(p, "pointer")));
    json_decref(p);
    hg_it_resp_free(&r);
}

/* ---------------------------------------------------------- Prefer: wait */

struct waiter {
    const char *body;
    const char *key;
    const char *prefer;
    struct hg_it_resp r;
    uint64_t took_us;
    int failed;
};

static void *wait_post(void *arg)
{
    struct waiter *w = arg;
    char kh[96];
    snprintf(kh, sizeof kh, "Idempotency-Key: %s", w->key);
    const char *h[] = {JSON_CT, kh, w->prefer, NULL};
    uint64_t t0 = hg_mono_us();
    if (send_req(VIA_PRISM, "tms", "POST", "/v1/tenders", h, w->body, &w->r) != 0) {
        fprintf(stderr, "wait: %s\n", w->r.error);
        w->failed = 1;
    }
    w->took_us = hg_mono_us() - t0;
    return NULL;
}

static void prefer_wait(void **state)
{
    (void)state;
    /* nobody decides: answered after ~1 s, still pending */
    char *b = tender_json("LOAD-W1", "WAIT-1", 0, 100, NULL);
    struct waiter w1 = {.body = b, .key = "\"wait-1\"", .prefer = "Prefer: wait=1"};
    wait_post(&w1);
    assert_false(w1.failed);
    assert_int_equal(w1.r.status, 201);
    assert_true(w1.took_us >= 1000000);
    assert_true(w1.took_us < 4000000);
    char pa[64];
    header(&w1.r, "Preference-Applied", pa, sizeof pa);
    assert_string_equal(pa, "wait=1");
    json_t *j = body_json(&w1.r);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "pending");
    json_decref(j);
    hg_it_resp_free(&w1.r);
    free(b);

    /* another client decides: answered early with the decided tender;
     * wait=100 is capped at tenders.max_wait (5 s) */
    b = tender_json("LOAD-W2", "WAIT-2", 0, 100, NULL);
    struct waiter w2 = {.body = b, .key = "\"wait-2\"", .prefer = "Prefer: respond-async, wait=100"};
    pthread_t t;
    pthread_create(&t, NULL, wait_post, &w2);
    char id[37] = "";
    for (int i = 0; i < 100 && !id[0]; i++) {
        sleep_ms(50);
        struct hg_it_resp r;
        req(VIA_PRISM, "operator", "GET", "/v1/tenders?lane=WAIT-2", NULL, NULL, &r);
        j = body_json(&r);
        json_t *first = json_array_get(json_object_get(j, "items"), 0);
        if (first)
            snprintf(id, sizeof id, "%s", json_string_value(json_object_get(first, "tenderId")));
        json_decref(j);
        hg_it_resp_free(&r);
    }
    assert_true(id[0]);
    struct hg_it_resp r;
    assert_int_equal(move("operator", id, "offered", 1, NULL, &r), 200); /* not a decision */
    hg_it_resp_free(&r);
    sleep_ms(300);
    assert_int_equal(move("operator", id, "accepted", 2, NULL, &r), 200);
    hg_it_resp_free(&r);
    pthread_join(t, NULL);
    assert_false(w2.failed);
    assert_int_equal(w2.r.status, 201);
    assert_true(w2.took_us < 4500000); /* well before the 5 s cap */
    header(&w2.r, "Preference-Applied", pa, sizeof pa);
    assert_string_equal(pa, "wait=5");
    char etag[32];
    header(&w2.r, "ETag", etag, sizeof etag);
    assert_string_equal(etag, "\"3\"");
    j = body_json(&w2.r);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "accepted");
    /* a replay returns the final response, at once */
    struct waiter w3 = {.body = b, .key = "\"wait-2\"", .prefer = "Prefer: wait=100"};
    wait_post(&w3);
    assert_int_equal(w3.r.status, 201);
    assert_true(w3.took_us < 2000000);
    json_t *j3 = body_json(&w3.r);
    assert_true(json_equal(j, j3));
    json_decref(j);
    json_decref(j3);
    header(&w3.r, "Preference-Applied", pa, sizeof pa);
    assert_string_equal(pa, "wait=5");
    hg_it_resp_free(&w2.r);
    hg_it_resp_free(&w3.r);
    free(b);
}

/* ----------------------------------------------------------- audit trail */

static json_t *find_audit(const char *event_type, const char *key, const char *value)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        struct hg_it_resp r;
        const char *accept[] = {"Accept: application/json", NULL};
        req(VIA_PRISM, "operator", "GET", "/v1/audit/checkpoint", accept, NULL, &r);
        json_t *cp = body_json(&r);
        json_int_t size = json_integer_value(json_object_get(cp, "tree_size"));
        json_decref(cp);
        hg_it_resp_free(&r);
        for (json_int_t from = 0; from < size; from += 1000) {
            char path[160];
            json_int_t to = from + 1000 < size ? from + 1000 : size;
            snprintf(path, sizeof path, "/v1/audit/entries?from=%lld&to=%lld", (long long)from,
                     (long long)to);
            req(VIA_PRISM, "operator", "GET", path, NULL, NULL, &r);
            json_t *j = body_json(&r);
            hg_it_resp_free(&r);
            size_t i;
            json_t *e;
            json_array_foreach(json_object_get(j, "entries"), i, e) {
                json_t *rec = json_object_get(e, "record");
                const char *et = json_string_value(json_object_get(rec, "event_type"));
                const char *v =
                    json_string_value(json_object_get(json_object_get(rec, "details"), key));
                if (et && v && !strcmp(et, event_type) && !strcmp(v, value)) {
                    json_incref(rec);
                    json_decref(j);
                    return rec;
                }
            }
            json_decref(j);
        }
        sleep_ms(100);
    }
    return NULL;
}

static void audit_records(void **state)
{
    (void)state;
    json_t *rec = find_audit("tender.created", "tender_id", T1);
    if (!rec)
        fail_msg("no tender.created audit record for %s", T1);
    assert_string_equal(json_string_value(json_object_get(rec, "decision")), "allow");
    json_t *idn = json_object_get(rec, "identity");
    assert_string_equal(json_string_value(json_object_get(idn, "subject")), "tms");
    assert_string_equal(json_string_value(json_array_get(json_object_get(idn, "roles"), 0)), "tms");
    assert_int_equal(strlen(json_string_value(json_object_get(idn, "cert_thumbprint"))), 64);
    json_t *d = json_object_get(rec, "details");
    assert_true(json_is_null(json_object_get(d, "from")));
    assert_string_equal(json_string_value(json_object_get(d, "to")), "pending");
    assert_int_equal(json_integer_value(json_object_get(d, "version")), 1);
    json_decref(rec);
    rec = find_audit("capacity.withdrawn", "capacity_id", OFFER_DEAR);
    assert_non_null(rec);
    json_decref(rec);
    rec = find_audit("capacity.published", "capacity_id", OFFER_CHEAP);
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "identity"), "subject")),
                        "provider-sim");
    json_decref(rec);
    rec = find_audit("authz.decision", "resource", "/v1/tenders");
    assert_non_null(rec); /* nobody's refused list */
    assert_string_equal(json_string_value(json_object_get(rec, "decision")), "deny");
    json_decref(rec);
}

/* ------------------------------------------------- the store, stopped */

static long long scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    long long v = -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void store_rows_after_stop(void **state)
{
    (void)state;
    assert_int_equal(hg_it_stop(IT), 0);
    char *log = hg_it_log(IT);
    assert_non_null(log);
    if (strstr(log, "\"status\":500"))
        fail_msg("the daemon answered 500 at least once; see %s", IT->log);
    free(log);
    char db_path[400];
    snprintf(db_path, sizeof db_path, "%s/haulgate.db", IT->data);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    long long tenders = scalar(db, "SELECT count(*) FROM tenders");
    assert_true(tenders >= 60);
    /* every tender has its creation in history and its created event */
    assert_int_equal(scalar(db, "SELECT count(*) FROM tenders t WHERE NOT EXISTS (SELECT 1 "
                                "FROM tender_history h WHERE h.tender_id = t.id AND "
                                "h.from_state = '')"),
                     0);
    assert_int_equal(scalar(db, "SELECT count(*) FROM tenders t WHERE NOT EXISTS (SELECT 1 "
                                "FROM outbox o WHERE o.subject = t.id AND "
                                "o.type = 'com.haulgate.tender.created')"),
                     0);
    /* one event per history row, and no tender event without its tender */
    assert_int_equal(scalar(db, "SELECT count(*) FROM tender_history"),
                     scalar(db, "SELECT count(*) FROM outbox WHERE type LIKE "
                                "'com.haulgate.tender.%'"));
    assert_int_equal(scalar(db, "SELECT count(*) FROM outbox o WHERE o.type LIKE "
                                "'com.haulgate.tender.%' AND NOT EXISTS (SELECT 1 FROM tenders "
                                "t WHERE t.id = o.subject)"),
                     0);
    /* the version is the number of changes */
    assert_int_equal(scalar(db, "SELECT count(*) FROM tenders t WHERE t.version != (SELECT "
                                "count(*) FROM tender_history h WHERE h.tender_id = t.id)"),
                     0);
    /* events carry the trace */
    assert_int_equal(scalar(db, "SELECT count(*) FROM outbox WHERE length(traceparent) != 55 OR "
                                "correlation_id = ''"),
                     0);
    /* the 50 racers made one tender */
    assert_int_equal(scalar(db, "SELECT count(*) FROM tenders WHERE tms_load_id = 'LOAD-RACE'"), 1);
    /* capacity events: four published (one withdrawn) */
    assert_int_equal(scalar(db, "SELECT count(*) FROM outbox WHERE type = "
                                "'com.haulgate.capacity.published'"),
                     4);
    assert_int_equal(scalar(db, "SELECT count(*) FROM outbox WHERE type = "
                                "'com.haulgate.capacity.withdrawn'"),
                     1);
    /* stored responses: the 400 and 422 are there, the 415 is not */
    assert_int_equal(scalar(db, "SELECT status FROM idempotency WHERE key = 'bad-body-1'"), 400);
    assert_int_equal(scalar(db, "SELECT status FROM idempotency WHERE key = 'br-1'"), 422);
    assert_int_equal(scalar(db, "SELECT status FROM idempotency WHERE key = 'br-4'"), 201);
    /* the audit write-ahead queue was drained into the log */
    assert_int_equal(scalar(db, "SELECT count(*) FROM audit_outbox"), 0);
    sqlite3_close(db);
}

/* --------------------------------------------------------- rate limiting */

static int start_limited(struct hg_it *it)
{
    if (hg_it_setup(it) != 0)
        return -1;
    snprintf(it->extra_yaml, sizeof it->extra_yaml, "ratelimit:\n  rate: 1\n  burst: 3\n");
    if (hg_it_start_verbose(it) != 0)
        return -1;
    static const char *const lanes[] = {"tms", "operator", NULL};
    return hg_it_prism_start(it, lanes);
}

static int limited_setup(void **state)
{
    int rc = hg_it_fixture(state, start_limited);
    IT = rc == 0 ? *state : NULL;
    return rc;
}

static void rate_limited(void **state)
{
    (void)state;
    struct hg_it_resp r;
    /* the token request takes from the same bucket: fetch it first and
     * let the bucket fill again (rate 1/s, burst 3) */
    assert_non_null(hg_it_token(IT, "tms"));
    sleep_ms(1200);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(req(VIA_PRISM, "tms", "GET", "/v1/tenders", NULL, NULL, &r), 200);
        hg_it_resp_free(&r);
    }
    req(VIA_PRISM, "tms", "GET", "/v1/tenders", NULL, NULL, &r);
    json_decref(problem(&r, 429, "rate-limited"));
    char ra[32];
    header(&r, "Retry-After", ra, sizeof ra);
    hg_it_resp_free(&r);
    int64_t secs = -1;
    assert_int_equal(hg_parse_i64(ra, 1, 3600, &secs), HG_OK);
    /* writes are limited before anything is looked at: not even a key */
    const char *h[] = {JSON_CT, "Idempotency-Key: \"rl-1\"", NULL};
    char *b = tender_json("RL-1", "RL", 0, 100, NULL);
    req(VIA_PRISM, "tms", "POST", "/v1/tenders", h, b, &r);
    json_decref(problem(&r, 429, "rate-limited"));
    hg_it_resp_free(&r);
    free(b);
    /* another principal has its own bucket */
    assert_int_equal(req(VIA_PRISM, "operator", "GET", "/v1/tenders", NULL, NULL, &r), 200);
    hg_it_resp_free(&r);
    /* after Retry-After, a token is back */
    sleep_ms((int)secs * 1000 + 50);
    assert_int_equal(req(VIA_PRISM, "tms", "GET", "/v1/tenders", NULL, NULL, &r), 200);
    hg_it_resp_free(&r);
}

/* ------------------------------------------------------------ overload */

static int start_overloaded(struct hg_it *it)
{
    if (hg_it_setup(it) != 0)
        return -1;
    /* one job may wait, one is committed at a time (each with its fsync) */
    snprintf(it->extra_yaml, sizeof it->extra_yaml,
             "store:\n  queue_max: 1\n  batch_max: 1\n  durability: full\n");
    if (hg_it_start_verbose(it) != 0)
        return -1;
    static const char *const lanes[] = {"tms", NULL};
    return hg_it_prism_start(it, lanes);
}

static int overloaded_setup(void **state)
{
    int rc = hg_it_fixture(state, start_overloaded);
    IT = rc == 0 ? *state : NULL;
    return rc;
}

struct burst {
    const char *body;
    char key[32];
    pthread_barrier_t *go;
    long status;
    char slug[64];
    char retry_after[16];
    int failed;
};

static void *burst_post(void *arg)
{
    struct burst *x = arg;
    char kh[64];
    snprintf(kh, sizeof kh, "Idempotency-Key: %s", x->key);
    const char *h[] = {JSON_CT, kh, NULL};
    struct hg_it_resp r;
    if (x->go)
        pthread_barrier_wait(x->go);
    if (send_req(VIA_PRISM, "tms", "POST", "/v1/tenders", h, x->body, &r) !=
        0) {
        x->failed = 1;
        fprintf(stderr, "burst: %s\n", r.error);
    }
    x->status = r.status;
    json_error_t e;
    json_t *j = json_loadb(r.body, r.body_len, 0, &e);
    const char *t = json_string_value(json_object_get(j, "type"));
    snprintf(x->slug, sizeof x->slug, "%s",
             t && strlen(t) > strlen(PROBLEMS) ? t + strlen(PROBLEMS) : "");
    if (!hg_it_resp_header(&r, "Retry-After", x->retry_after, sizeof x->retry_after))
        x->retry_after[0] = '\0';
    json_decref(j);
    hg_it_resp_free(&r);
    return NULL;
}

/* A full write queue answers 503 overloaded with Retry-After and writes
 * nothing: a retry with the same key then creates the tender once. */
static void overloaded(void **state)
{
    (void)state;
    enum { N = 32 };
    char *body = tender_json("LOAD-BURST", "BURST-1", 0, 100, NULL);
    int busy = 0;
    for (int round = 0; round < 5 && !busy; round++) {
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, N);
        pthread_t t[N];
        struct burst x[N];
        for (int i = 0; i < N; i++) {
            x[i] = (struct burst){.body = body, .go = &go};
            snprintf(x[i].key, sizeof x[i].key, "\"burst-%d-%d\"", round, i);
            pthread_create(&t[i], NULL, burst_post, &x[i]);
        }
        for (int i = 0; i < N; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&go);
        for (int i = 0; i < N; i++) {
            assert_false(x[i].failed);
            if (x[i].status == 201)
                continue;
            assert_int_equal(x[i].status, 503);
            assert_string_equal(x[i].slug, "overloaded");
            int64_t secs;
            assert_int_equal(hg_parse_i64(x[i].retry_after, 1, 60, &secs), HG_OK);
            busy++;
            /* retried with the same key until it goes through */
            struct burst again = x[i];
            again.go = NULL;
            for (int k = 0; k < 50; k++) {
                burst_post(&again);
                assert_false(again.failed);
                if (again.status == 201)
                    break;
                assert_int_equal(again.status, 503);
                sleep_ms(100);
            }
            assert_int_equal(again.status, 201);
        }
    }
    if (!busy)
        skip(); /* the disk committed faster than 32 clients could queue */
    /* each key made exactly one tender: 32 per round that ran */
    struct hg_it_resp r;
    size_t total = 0;
    char cursor[128] = "";
    for (;;) {
        char path[256];
        snprintf(path, sizeof path, "/v1/tenders?lane=BURST-1&limit=500%s%s",
                 cursor[0] ? "&cursor=" : "", cursor);
        assert_int_equal(req(VIA_PRISM, "tms", "GET", path, NULL, NULL, &r), 200);
        json_t *j = body_json(&r);
        total += json_array_size(json_object_get(j, "items"));
        const char *next = json_string_value(json_object_get(j, "nextCursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        json_decref(j);
        hg_it_resp_free(&r);
        if (!cursor[0])
            break;
    }
    assert_int_equal(total % N, 0);
    assert_true(total >= N);
    free(body);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest main_tests[] = {
        cmocka_unit_test(create_and_replay),
        cmocka_unit_test(key_errors),
        cmocka_unit_test(concurrent_same_key),
        cmocka_unit_test(get_etag_304_and_tenancy),
        cmocka_unit_test(list_paging_under_inserts),
        cmocka_unit_test(transitions_and_preconditions),
        cmocka_unit_test(concurrent_transitions),
        cmocka_unit_test(business_rules),
        cmocka_unit_test(capacity_and_matching),
        cmocka_unit_test(prefer_wait),
        cmocka_unit_test(audit_records),
        cmocka_unit_test(store_rows_after_stop),
    };
    const struct CMUnitTest limit_tests[] = {
        cmocka_unit_test(rate_limited),
    };
    const struct CMUnitTest overload_tests[] = {
        cmocka_unit_test(overloaded),
    };
    int failed = cmocka_run_group_tests_name("integration/tenders", main_tests, group_setup,
                                             group_teardown);
    failed += cmocka_run_group_tests_name("integration/tenders-ratelimit", limit_tests,
                                          limited_setup, group_teardown);
    failed += cmocka_run_group_tests_name("integration/tenders-overload", overload_tests,
                                          overloaded_setup, group_teardown);
    curl_global_cleanup();
    return failed;
}
