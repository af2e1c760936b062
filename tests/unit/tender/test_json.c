/* SPDX-License-Identifier: Apache-2.0
 * test_json.c — tenders, capacity offers, transition and cancel bodies in
 * and out of JSON: valid documents field by field, every required field
 * missing, unknown and server-owned fields, wrong types, bounds, RFC 3339
 * forms, JSON Pointers with ~0/~1 escapes and long names, the 422 business
 * rules, extensions kept as sent, and from_json(to_json(x)) == x. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tender/tender.h"

/* 2026-11-21T00:00:00Z, computed outside this code base */
#define NOW INT64_C(1795219200000)
#define T10 INT64_C(1795255200000) /* 2026-11-21T10:00:00Z */
#define T08 INT64_C(1795248000000) /* 2026-11-21T08:00:00Z */
#define HOUR INT64_C(3600000)

static const char TENDER[] =
    "{\"tmsLoadId\":\"LOAD-4711\","
    "\"origin\":{\"name\":\"Dallas DC\",\"lat\":32.7767,\"lon\":-96.797},"
    "\"destination\":{\"name\":\"Houston yard\",\"lat\":29.7604,\"lon\":-95.3698},"
    "\"pickupWindow\":{\"start\":\"2026-11-21T08:00:00Z\",\"end\":\"2026-11-21T10:00:00Z\"},"
    "\"deliveryWindow\":{\"start\":\"2026-11-21T14:00:00+02:00\",\"end\":\"2026-11-21T18:00:00.250Z\"},"
    "\"weightLbs\":42000,\"equipment\":\"dry_van\",\"hazmat\":true,\"lane\":\"DAL-HOU\","
    "\"region\":\"us-south\","
    "\"requirements\":{\"autonomyAllowed\":true,\"humanFallbackAllowed\":false},"
    "\"offeredRate\":{\"currency\":\"USD\",\"amount\":1850.5},"
    "\"extensions\":{\"acme\":{\"ref\":\"x\",\"n\":[1,2.5,null,true]},\"b\":\"\"}}";

static const char TENDER_MIN[] =
    "{\"tmsLoadId\":\"L1\","
    "\"origin\":{\"name\":\"A\",\"lat\":0,\"lon\":0},"
    "\"destination\":{\"name\":\"B\",\"lat\":1,\"lon\":1},"
    "\"pickupWindow\":{\"start\":\"2026-11-21T08:00:00Z\",\"end\":\"2026-11-21T10:00:00Z\"},"
    "\"deliveryWindow\":{\"start\":\"2026-11-21T12:00:00Z\",\"end\":\"2026-11-21T18:00:00Z\"},"
    "\"weightLbs\":1.5,\"equipment\":\"reefer\"}";

static const char OFFER[] =
    "{\"providerId\":\"prov-aurora\",\"vehicleType\":\"class8_tractor\",\"autonomyLevel\":\"L4\","
    "\"availableWindow\":{\"start\":\"2026-11-21T06:00:00Z\",\"end\":\"2026-11-21T20:00:00Z\"},"
    "\"route\":[{\"from\":{\"lat\":32.9,\"lon\":-96.8},\"to\":{\"lat\":29.7,\"lon\":-95.4},"
    "\"maxDetourKm\":25},"
    "{\"from\":{\"lat\":29.7,\"lon\":-95.4},\"to\":{\"lat\":32.9,\"lon\":-96.8},\"maxDetourKm\":12.5}],"
    "\"constraints\":{\"maxWeightLbs\":80000,\"hazmat\":false,\"equipment\":[\"dry_van\",\"reefer\"],"
    "\"hoursOfOperation\":{\"start\":\"22:00\",\"end\":\"06:00\"},"
    "\"chargingWindows\":[{\"start\":\"2026-11-21T12:00:00Z\",\"end\":\"2026-11-21T12:30:00Z\"}],"
    "\"maintenanceWindows\":[{\"start\":\"2026-11-22T00:00:00Z\",\"end\":\"2026-11-22T04:00:00Z\"}],"
    "\"cargoRestrictions\":[\"livestock\",\"firearms\"]},"
    "\"rate\":{\"currency\":\"USD\",\"amount\":1700},"
    "\"expiresAt\":\"2026-11-21T12:00:00Z\",\"lane\":\"DAL-HOU\"}";

static const char OFFER_MIN[] =
    "{\"providerId\":\"p\",\"vehicleType\":\"truck\",\"autonomyLevel\":\"L0\","
    "\"availableWindow\":{\"start\":\"2026-11-21T06:00:00Z\",\"end\":\"2026-11-21T20:00:00Z\"},"
    "\"route\":[{\"from\":{\"lat\":0,\"lon\":0},\"to\":{\"lat\":1,\"lon\":1},\"maxDetourKm\":0}],"
    "\"rate\":{\"currency\":\"EUR\",\"amount\":0},\"expiresAt\":\"2026-11-21T00:00:00.001Z\"}";

/* ---- helpers ---- */

/* base with the member at dotted `path` ("route.0.from.lat") set to the
 * JSON text `value`, or deleted when value is NULL. Returns malloc'd JSON. */
static char *mutate(const char *base, const char *path, const char *value)
{
    json_error_t je;
    json_t *doc = json_loads(base, 0, &je);
    assert_non_null(doc);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = doc;
    char *save = NULL, *tok = strtok_r(buf, ".", &save), *next;
    while ((next = strtok_r(NULL, ".", &save)) != NULL) {
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(tok))
                                 : json_object_get(cur, tok);
        assert_non_null(cur);
        tok = next;
    }
    if (value) {
        json_t *v = json_loads(value, JSON_DECODE_ANY, &je);
        assert_non_null(v);
        if (json_is_array(cur))
            assert_int_equal(json_array_set_new(cur, (size_t)atoi(tok), v), 0);
        else
            assert_int_equal(json_object_set_new(cur, tok, v), 0);
    } else if (json_is_array(cur)) {
        assert_int_equal(json_array_remove(cur, (size_t)atoi(tok)), 0);
    } else {
        assert_int_equal(json_object_del(cur, tok), 0);
    }
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    assert_non_null(s);
    return s;
}

/* Append s to the NUL-terminated buf of cap bytes. */
static void cat(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf), m = strlen(s);
    assert_true(n + m < cap);
    memcpy(buf + n, s, m + 1);
}

/* "[item,item,...]" with n items. */
static void list_of(char *buf, size_t cap, const char *item, int n)
{
    buf[0] = '\0';
    cat(buf, cap, "[");
    for (int i = 0; i < n; i++) {
        if (i)
            cat(buf, cap, ",");
        cat(buf, cap, item);
    }
    cat(buf, cap, "]");
}

/* The verr must be valid UTF-8 (it goes into a JSON problem document). */
static void assert_utf8(const char *s)
{
    json_t *j = json_string(s);
    assert_non_null(j);
    json_decref(j);
}

static void expect_err(hg_status rc, const struct hg_verr *err, int status, const char *ptr,
                       const char *in_detail, const char *doc)
{
    if (rc != HG_EINVAL || err->status != status || strcmp(err->pointer, ptr) != 0 ||
        !strstr(err->detail, in_detail))
        print_message("# doc %s\n# got rc %d status %d ptr '%s' detail '%s'\n# want %d '%s' '%s'\n",
                      doc, rc, err->status, err->pointer, err->detail, status, ptr, in_detail);
    assert_int_equal(rc, HG_EINVAL);
    assert_int_equal(err->status, status);
    assert_string_equal(err->pointer, ptr);
    assert_non_null(strstr(err->detail, in_detail));
    assert_utf8(err->pointer);
    assert_utf8(err->detail);
}

static void tender_bad(const char *doc, int status, const char *ptr, const char *in_detail)
{
    struct hg_tender t;
    struct hg_verr err = {0};
    hg_status rc = hg_tender_parse(doc, strlen(doc), NOW, &t, &err);
    expect_err(rc, &err, status, ptr, in_detail, doc);
    assert_null(t.extensions); /* cleared on failure */
    assert_string_equal(t.tms_load_id, "");
}

static void tender_mut(const char *path, const char *value, int status, const char *ptr,
                       const char *in_detail)
{
    char *doc = mutate(TENDER, path, value);
    tender_bad(doc, status, ptr, in_detail);
    free(doc);
}

static void tender_mut_ok(const char *path, const char *value, struct hg_tender *t)
{
    char *doc = mutate(TENDER, path, value);
    struct hg_verr err = {0};
    hg_status rc = hg_tender_parse(doc, strlen(doc), NOW, t, &err);
    if (rc != HG_OK)
        print_message("# %s: %d %s %s\n", doc, err.status, err.pointer, err.detail);
    free(doc);
    assert_int_equal(rc, HG_OK);
}

static void offer_bad(const char *doc, int status, const char *ptr, const char *in_detail)
{
    struct hg_offer o;
    struct hg_verr err = {0};
    hg_status rc = hg_offer_parse(doc, strlen(doc), NOW, &o, &err);
    expect_err(rc, &err, status, ptr, in_detail, doc);
    assert_string_equal(o.provider_id, "");
    assert_int_equal(o.nroute, 0);
}

static void offer_mut(const char *path, const char *value, int status, const char *ptr,
                      const char *in_detail)
{
    char *doc = mutate(OFFER, path, value);
    offer_bad(doc, status, ptr, in_detail);
    free(doc);
}

static void offer_mut_ok(const char *path, const char *value, struct hg_offer *o)
{
    char *doc = mutate(OFFER, path, value);
    struct hg_verr err = {0};
    hg_status rc = hg_offer_parse(doc, strlen(doc), NOW, o, &err);
    if (rc != HG_OK)
        print_message("# %s: %d %s %s\n", doc, err.status, err.pointer, err.detail);
    free(doc);
    assert_int_equal(rc, HG_OK);
}

/* ---- tenders ---- */

static void tender_valid(void **state)
{
    (void)state;
    struct hg_tender t;
    struct hg_verr err = {0};
    assert_int_equal(hg_tender_parse(TENDER, strlen(TENDER), NOW, &t, &err), HG_OK);
    assert_string_equal(t.tms_load_id, "LOAD-4711");
    assert_string_equal(t.origin.name, "Dallas DC");
    assert_true(t.origin.at.lat == 32.7767 && t.origin.at.lon == -96.797);
    assert_string_equal(t.destination.name, "Houston yard");
    assert_true(t.destination.at.lat == 29.7604 && t.destination.at.lon == -95.3698);
    assert_int_equal(t.pickup.start_ms, T08);
    assert_int_equal(t.pickup.end_ms, T10);
    assert_int_equal(t.delivery.start_ms, NOW + 12 * HOUR); /* 14:00+02:00 */
    assert_int_equal(t.delivery.end_ms, NOW + 18 * HOUR + 250);
    assert_true(t.weight_lbs == 42000.0);
    assert_string_equal(t.equipment, "dry_van");
    assert_int_equal(t.hazmat, 1);
    assert_string_equal(t.lane, "DAL-HOU");
    assert_string_equal(t.region, "us-south");
    assert_int_equal(t.autonomy_allowed, 1);
    assert_int_equal(t.human_fallback_allowed, 0);
    assert_int_equal(t.has_rate, 1);
    assert_string_equal(t.offered_rate.currency, "USD");
    assert_true(t.offered_rate.amount == 1850.5);
    assert_non_null(t.extensions);
    json_t *want = json_loads("{\"acme\":{\"ref\":\"x\",\"n\":[1,2.5,null,true]},\"b\":\"\"}", 0, NULL);
    assert_true(json_equal(t.extensions, want));
    /* kept as sent, member order included */
    char *a = json_dumps(t.extensions, JSON_COMPACT), *b = json_dumps(want, JSON_COMPACT);
    assert_string_equal(a, b);
    free(a);
    free(b);
    json_decref(want);
    /* the server's fields are left for the caller */
    assert_string_equal(t.id, "");
    assert_int_equal(t.state, HG_TS_PENDING);
    assert_int_equal(t.version, 0);
    assert_string_equal(t.capacity_id, "");
    hg_tender_clear(&t);
    assert_null(t.extensions);
    hg_tender_clear(NULL);
}

static void tender_minimal_defaults(void **state)
{
    (void)state;
    struct hg_tender t;
    struct hg_verr err = {0};
    assert_int_equal(hg_tender_parse(TENDER_MIN, strlen(TENDER_MIN), NOW, &t, &err), HG_OK);
    assert_int_equal(t.hazmat, 0);
    assert_int_equal(t.autonomy_allowed, 1);
    assert_int_equal(t.human_fallback_allowed, 1);
    assert_int_equal(t.has_rate, 0);
    assert_string_equal(t.lane, "");
    assert_string_equal(t.region, "");
    assert_null(t.extensions);
    assert_true(t.weight_lbs == 1.5);
    hg_tender_clear(&t);
    /* requirements with one member keeps the other's default */
    struct hg_tender u;
    tender_mut_ok("requirements", "{\"humanFallbackAllowed\":false}", &u);
    assert_int_equal(u.autonomy_allowed, 1);
    assert_int_equal(u.human_fallback_allowed, 0);
    hg_tender_clear(&u);
    tender_mut_ok("requirements", "{}", &u);
    assert_int_equal(u.autonomy_allowed, 1);
    assert_int_equal(u.human_fallback_allowed, 1);
    hg_tender_clear(&u);
}

static void tender_required(void **state)
{
    (void)state;
    static const char *const req[] = {"tmsLoadId",      "origin",    "destination",
                                      "pickupWindow",   "deliveryWindow", "weightLbs",
                                      "equipment"};
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++) {
        char ptr[64], msg[64];
        snprintf(ptr, sizeof ptr, "/%s", req[i]);
        snprintf(msg, sizeof msg, "%s is missing", req[i]);
        tender_mut(req[i], NULL, 400, ptr, msg);
    }
    tender_mut("origin.name", NULL, 400, "/origin/name", "origin.name is missing");
    tender_mut("origin.lat", NULL, 400, "/origin/lat", "origin.lat is missing");
    tender_mut("destination.lon", NULL, 400, "/destination/lon", "missing");
    tender_mut("pickupWindow.start", NULL, 400, "/pickupWindow/start", "missing");
    tender_mut("deliveryWindow.end", NULL, 400, "/deliveryWindow/end", "missing");
    tender_mut("offeredRate.currency", NULL, 400, "/offeredRate/currency", "missing");
    tender_mut("offeredRate.amount", NULL, 400, "/offeredRate/amount", "missing");
    /* optional ones may go */
    static const char *const opt[] = {"hazmat", "lane", "region", "requirements", "offeredRate",
                                      "extensions"};
    for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++) {
        struct hg_tender t;
        tender_mut_ok(opt[i], NULL, &t);
        hg_tender_clear(&t);
    }
}

static void tender_unknown_and_server_fields(void **state)
{
    (void)state;
    tender_mut("color", "\"red\"", 400, "/color", "unknown field \"color\" in a tender");
    tender_mut("color", "\"red\"", 400, "/color", "extensions");
    tender_mut("origin.zip", "\"75201\"", 400, "/origin/zip", "unknown field \"zip\"");
    tender_mut("requirements.driver", "true", 400, "/requirements/driver", "unknown field");
    tender_mut("pickupWindow.tz", "\"UTC\"", 400, "/pickupWindow/tz", "unknown field");
    tender_mut("offeredRate.per", "\"mile\"", 400, "/offeredRate/per", "unknown field");
    /* case matters */
    tender_mut("TmsLoadId", "\"x\"", 400, "/TmsLoadId", "unknown field");
    static const char *const server[][2] = {
        {"tenderId", "\"0193a5b0-7c1e-7d3a-9f00-1234567890ab\""},
        {"state", "\"pending\""},
        {"version", "1"},
        {"createdAt", "\"2026-11-21T00:00:00Z\""},
        {"updatedAt", "\"2026-11-21T00:00:00Z\""},
        {"correlationId", "\"abc\""},
        {"capacityId", "\"0193a5b0-7c1e-7d3a-9f00-1234567890ab\""},
    };
    for (size_t i = 0; i < sizeof server / sizeof server[0]; i++) {
        char ptr[64];
        snprintf(ptr, sizeof ptr, "/%s", server[i][0]);
        tender_mut(server[i][0], server[i][1], 400, ptr, "assigned by the server");
    }
}

static void tender_wrong_types(void **state)
{
    (void)state;
    static const struct {
        const char *path, *value, *ptr, *detail;
    } cases[] = {
        {"tmsLoadId", "4711", "/tmsLoadId", "must be a string"},
        {"tmsLoadId", "null", "/tmsLoadId", "got null"},
        {"origin", "\"Dallas\"", "/origin", "must be an object"},
        {"origin", "[]", "/origin", "got an array"},
        {"origin.lat", "\"32.7\"", "/origin/lat", "must be a number"},
        {"origin.name", "{}", "/origin/name", "got an object"},
        {"pickupWindow", "\"2026-11-21T08:00:00Z\"", "/pickupWindow", "must be an object"},
        {"pickupWindow.start", "1795248000000", "/pickupWindow/start", "RFC 3339"},
        {"weightLbs", "\"42000\"", "/weightLbs", "must be a number"},
        {"weightLbs", "true", "/weightLbs", "got true"},
        {"equipment", "[\"dry_van\"]", "/equipment", "must be a tag"},
        {"hazmat", "\"yes\"", "/hazmat", "true or false"},
        {"hazmat", "1", "/hazmat", "got an integer"},
        {"lane", "null", "/lane", "got null"},
        {"requirements", "true", "/requirements", "must be an object"},
        {"requirements.autonomyAllowed", "0", "/requirements/autonomyAllowed", "true or false"},
        {"offeredRate", "1850", "/offeredRate", "must be an object"},
        {"offeredRate.amount", "\"1850\"", "/offeredRate/amount", "must be a number"},
        {"offeredRate.currency", "840", "/offeredRate/currency", "ISO 4217"},
        {"extensions", "[]", "/extensions", "must be a JSON object"},
        {"extensions", "null", "/extensions", "must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        tender_mut(cases[i].path, cases[i].value, 400, cases[i].ptr, cases[i].detail);
}

static void tender_bounds(void **state)
{
    (void)state;
    struct hg_tender t;
    /* coordinates: the edges are in, a hair past them is out */
    tender_mut_ok("origin.lat", "90", &t);
    hg_tender_clear(&t);
    tender_mut_ok("origin.lat", "-90", &t);
    hg_tender_clear(&t);
    tender_mut_ok("origin.lon", "180", &t);
    hg_tender_clear(&t);
    tender_mut_ok("destination.lon", "-180.0", &t);
    hg_tender_clear(&t);
    tender_mut("origin.lat", "90.000001", 400, "/origin/lat", "at most 90");
    tender_mut("origin.lat", "-90.5", 400, "/origin/lat", "got -90.5");
    tender_mut("destination.lon", "180.1", 400, "/destination/lon", "at most 180");
    tender_mut("destination.lon", "-181", 400, "/destination/lon", "at least -180");
    /* weight: (0, 200000] */
    tender_mut("weightLbs", "0", 400, "/weightLbs", "greater than 0");
    tender_mut("weightLbs", "-1", 400, "/weightLbs", "greater than 0");
    tender_mut("weightLbs", "200000.01", 400, "/weightLbs", "at most 200000");
    tender_mut_ok("weightLbs", "200000", &t);
    assert_true(t.weight_lbs == 200000.0);
    hg_tender_clear(&t);
    tender_mut_ok("weightLbs", "0.001", &t);
    hg_tender_clear(&t);
    /* a number too large for a double is malformed JSON */
    tender_mut("weightLbs", "1e300", 400, "/weightLbs", "at most 200000");
    tender_bad("{\"weightLbs\":1e999}", 400, "", "not valid JSON");
    /* money: [0, 1e9], three upper-case letters */
    tender_mut_ok("offeredRate.amount", "0", &t);
    hg_tender_clear(&t);
    tender_mut_ok("offeredRate.amount", "1000000000", &t);
    hg_tender_clear(&t);
    tender_mut("offeredRate.amount", "-0.01", 400, "/offeredRate/amount", "at least 0");
    tender_mut("offeredRate.amount", "1000000000.5", 400, "/offeredRate/amount", "at most 1000000000");
    static const char *const cur[] = {"\"usd\"", "\"US\"", "\"USDX\"", "\"\"", "\"U$D\"",
                                      "\"ÜSD\""};
    for (size_t i = 0; i < sizeof cur / sizeof cur[0]; i++)
        tender_mut("offeredRate.currency", cur[i], 400, "/offeredRate/currency",
                   "three upper-case letters");
    /* string lengths in bytes */
    char v[300];
    memset(v, 0, sizeof v);
    v[0] = '"';
    memset(v + 1, 'x', 128);
    v[129] = '"';
    tender_mut_ok("tmsLoadId", v, &t);
    assert_int_equal(strlen(t.tms_load_id), 128);
    hg_tender_clear(&t);
    tender_mut_ok("origin.name", v, &t);
    hg_tender_clear(&t);
    v[129] = 'x';
    v[130] = '"';
    tender_mut("tmsLoadId", v, 400, "/tmsLoadId", "1 to 128 bytes long; got 129 bytes");
    tender_mut("origin.name", v, 400, "/origin/name", "got 129 bytes");
    tender_mut("tmsLoadId", "\"\"", 400, "/tmsLoadId", "got 0 bytes");
    /* multibyte characters count as bytes: 64 x "é" = 128 bytes is in, 65 is out */
    char u[400] = "\"";
    for (int i = 0; i < 64; i++)
        cat(u, sizeof u, "\xc3\xa9");
    cat(u, sizeof u, "\"");
    tender_mut_ok("tmsLoadId", u, &t);
    hg_tender_clear(&t);
    u[strlen(u) - 1] = '\0';
    cat(u, sizeof u, "\xc3\xa9\"");
    tender_mut("tmsLoadId", u, 400, "/tmsLoadId", "got 130 bytes");
    memset(v, 0, sizeof v);
    v[0] = '"';
    memset(v + 1, 'a', 64);
    v[65] = '"';
    tender_mut_ok("equipment", v, &t);
    hg_tender_clear(&t);
    tender_mut_ok("lane", v, &t);
    hg_tender_clear(&t);
    v[65] = 'a';
    v[66] = '"';
    tender_mut("equipment", v, 400, "/equipment", "got 65 bytes");
    tender_mut("region", v, 400, "/region", "1 to 64 bytes");
    tender_mut("lane", "\"\"", 400, "/lane", "got 0 bytes");
    /* tags */
    tender_mut_ok("equipment", "\"Dry-Van_53.ft:x\"", &t);
    hg_tender_clear(&t);
    tender_mut("equipment", "\"dry van\"", 400, "/equipment", "offset 3 (0x20)");
    tender_mut("lane", "\"DAL/HOU\"", 400, "/lane", "(0x2F) is not allowed");
    tender_mut("region", "\"süd\"", 400, "/region", "not allowed");
    /* control characters in text */
    tender_mut("tmsLoadId", "\"a\\u0001b\"", 400, "/tmsLoadId", "offset 1 (0x01)");
    tender_mut("origin.name", "\"tab\\there\"", 400, "/origin/name", "(0x09)");
    tender_mut("origin.name", "\"del\\u007f\"", 400, "/origin/name", "(0x7F)");
    tender_mut("origin.name", "\"c1\\u0085\"", 400, "/origin/name", "(0xC2)");
    tender_mut_ok("origin.name", "\"Zürich \\u00a0Hbf \\u2028 🚚\"", &t);
    hg_tender_clear(&t);
}

static void tender_times(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        int64_t ms;
    } ok[] = {
        {"\"2026-11-21T08:00:00Z\"", T08},
        {"\"2026-11-21t08:00:00z\"", T08},
        {"\"2026-11-21T09:30:00+01:30\"", T08},
        {"\"2026-11-21T03:00:00-05:00\"", T08},
        {"\"2026-11-21T08:00:00-00:00\"", T08},
        {"\"2026-11-21T08:00:00.5Z\"", T08 + 500},
        {"\"2026-11-21T08:00:00.12Z\"", T08 + 120},
        {"\"2026-11-21T08:00:00.999999999Z\"", T08 + 999},
        {"\"2026-11-21T08:00:00.000Z\"", T08},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct hg_tender t;
        tender_mut_ok("pickupWindow.start", ok[i].v, &t);
        assert_int_equal(t.pickup.start_ms, ok[i].ms);
        hg_tender_clear(&t);
    }
    static const char *const bad[] = {
        "\"2026-11-21 08:00:00Z\"",          "\"2026-11-21T08:00:00\"",
        "\"2026-11-21T08:00Z\"",             "\"2026-11-21T08:00:00.Z\"",
        "\"2026-11-21T08:00:00.1234567891Z\"", "\"2026-11-21T24:00:00Z\"",
        "\"2026-11-21T08:60:00Z\"",          "\"2026-11-21T08:00:60Z\"",
        "\"2026-02-29T08:00:00Z\"",          "\"2026-13-01T08:00:00Z\"",
        "\"2026-00-01T08:00:00Z\"",          "\"2026-11-00T08:00:00Z\"",
        "\"2026-11-21T08:00:00+24:00\"",     "\"2026-11-21T08:00:00+0100\"",
        "\"2026-11-21T08:00:00Z \"",         "\" 2026-11-21T08:00:00Z\"",
        "\"1969-12-31T23:59:59Z\"",          "\"+2026-11-21T08:00:00Z\"",
        "\"2026-1-21T08:00:00Z\"",           "\"\"",
        "\"2026-11-21T08:00:00ZZ\"",         "\"1970-01-01T00:30:00+01:00\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        tender_mut("pickupWindow.start", bad[i], 400, "/pickupWindow/start", "RFC 3339");
    /* leap day of a leap year, the epoch and the last day are fine */
    struct hg_offer o;
    offer_mut_ok("expiresAt", "\"2028-02-29T00:00:00Z\"", &o);
    offer_mut_ok("expiresAt", "\"9999-12-31T23:59:59.999Z\"", &o);
    assert_int_equal(o.expires_ms, INT64_C(253402300799999));
    struct hg_tender t;
    tender_mut_ok("pickupWindow.start", "\"1970-01-01T00:00:00Z\"", &t);
    assert_int_equal(t.pickup.start_ms, 0);
    hg_tender_clear(&t);
    offer_mut("expiresAt", "\"10000-01-01T00:00:00Z\"", 400, "/expiresAt", "RFC 3339");
    offer_mut("expiresAt", "\"9999-12-31T23:59:59-00:01\"", 400, "/expiresAt", "RFC 3339");
}

static void tender_rules_422(void **state)
{
    (void)state;
    /* delivery must end after pickup starts */
    tender_mut("deliveryWindow", "{\"start\":\"2026-11-21T06:00:00Z\",\"end\":\"2026-11-21T07:59:59Z\"}",
               422, "/deliveryWindow/end", "before the pickup window starts");
    tender_mut("deliveryWindow", "{\"start\":\"2026-11-21T06:00:00Z\",\"end\":\"2026-11-21T08:00:00Z\"}",
               422, "/deliveryWindow/end", "deliveryWindow.end must be after pickupWindow.start");
    struct hg_tender t;
    tender_mut_ok("deliveryWindow",
                  "{\"start\":\"2026-11-21T06:00:00Z\",\"end\":\"2026-11-21T08:00:00.001Z\"}", &t);
    hg_tender_clear(&t);
    /* pickup must end after now */
    tender_mut("pickupWindow", "{\"start\":\"2026-11-20T08:00:00Z\",\"end\":\"2026-11-20T23:59:59Z\"}",
               422, "/pickupWindow/end", "tender a load whose pickup window is still open");
    tender_mut("pickupWindow", "{\"start\":\"2026-11-20T08:00:00Z\",\"end\":\"2026-11-21T00:00:00Z\"}",
               422, "/pickupWindow/end", "not after now");
    tender_mut_ok("pickupWindow",
                  "{\"start\":\"2026-11-20T08:00:00Z\",\"end\":\"2026-11-21T00:00:00.001Z\"}", &t);
    hg_tender_clear(&t);
    /* an empty or inverted window */
    tender_mut("pickupWindow", "{\"start\":\"2026-11-21T10:00:00Z\",\"end\":\"2026-11-21T10:00:00Z\"}",
               422, "/pickupWindow/end", "pickupWindow is empty");
    tender_mut("deliveryWindow", "{\"start\":\"2026-11-21T19:00:00Z\",\"end\":\"2026-11-21T18:00:00Z\"}",
               422, "/deliveryWindow/end", "must be after its start");
    /* a 400 elsewhere wins over a 422 */
    char *d = mutate(TENDER, "pickupWindow.end", "\"2026-11-21T07:00:00Z\"");
    char *d2 = mutate(d, "weightLbs", "0");
    tender_bad(d2, 400, "/weightLbs", "greater than 0");
    free(d);
    free(d2);
}

static void tender_syntax(void **state)
{
    (void)state;
    tender_bad("", 400, "", "the body is empty");
    tender_bad("not json", 400, "", "not valid JSON");
    tender_bad("[1,2]", 400, "", "must be a JSON object");
    tender_bad("\"x\"", 400, "", "not valid JSON");
    tender_bad("{}", 400, "/tmsLoadId", "tmsLoadId is missing");
    tender_bad("{} {}", 400, "", "not valid JSON");
    tender_bad("{\"tmsLoadId\":\"a\",\"tmsLoadId\":\"b\"}", 400, "", "duplicate");
    tender_bad("{\"tmsLoadId\":\"\xff\"}", 400, "", "not valid JSON");
    tender_bad("{\"tmsLoadId\":\"a\\u0000b\"}", 400, "", "not valid JSON");
    /* the length is honoured: the same bytes cut short are malformed */
    struct hg_tender t;
    struct hg_verr err;
    assert_int_equal(hg_tender_parse(TENDER, strlen(TENDER) - 1, NOW, &t, &err), HG_EINVAL);
    assert_int_equal(err.status, 400);
    /* more than 1 MiB is refused before parsing */
    size_t big = (1u << 20) + 1;
    char *b = malloc(big);
    memset(b, ' ', big);
    b[0] = '{';
    b[big - 1] = '}';
    assert_int_equal(hg_tender_parse(b, big, NOW, &t, &err), HG_EINVAL);
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.detail, "at most 1048576"));
    free(b);
    assert_int_equal(hg_tender_parse(NULL, 0, NOW, &t, &err), HG_EINVAL);
}

static void pointers_escaped(void **state)
{
    (void)state;
    tender_bad("{\"a/b~c\":1}", 400, "/a~1b~0c", "unknown field \"a/b~c\"");
    tender_bad("{\"~01\":1}", 400, "/~001", "unknown field \"~01\"");
    tender_bad("{\"\":1}", 400, "/", "unknown field \"\"");
    tender_mut("requirements.x/y", "true", 400, "/requirements/x~1y", "unknown field \"x/y\"");
    /* a long name: the pointer is cut at a UTF-8 boundary and stays valid,
     * the quoted name is cut at 64 bytes with "..." */
    char doc[1200] = "{\"";
    for (int i = 0; i < 300; i++)
        cat(doc, sizeof doc, "\xc3\xa9");
    cat(doc, sizeof doc, "\":1}");
    struct hg_tender t;
    struct hg_verr err;
    assert_int_equal(hg_tender_parse(doc, strlen(doc), NOW, &t, &err), HG_EINVAL);
    assert_int_equal(err.status, 400);
    assert_true(strlen(err.pointer) < sizeof err.pointer);
    assert_true(strlen(err.pointer) >= sizeof err.pointer - 3);
    assert_int_equal(err.pointer[0], '/');
    assert_utf8(err.pointer);
    assert_utf8(err.detail);
    assert_non_null(strstr(err.detail, "...\" in a tender"));
    /* a name of '/' characters: escapes are never cut in half */
    char doc2[600] = "{\"";
    memset(doc2 + 2, '/', 200);
    doc2[202] = '\0';
    cat(doc2, sizeof doc2, "\":1}");
    assert_int_equal(hg_tender_parse(doc2, strlen(doc2), NOW, &t, &err), HG_EINVAL);
    size_t pl = strlen(err.pointer);
    assert_int_equal(pl % 2, 1); /* "/" then whole "~1" pairs */
    assert_int_equal(err.pointer[pl - 1], '1');
    /* the deepest pointers */
    offer_mut("route.1.from.lat", "\"x\"", 400, "/route/1/from/lat", "route[1].from.lat must be");
    offer_mut("constraints.chargingWindows.0.end", "\"x\"", 400,
              "/constraints/chargingWindows/0/end", "constraints.chargingWindows[0].end");
}

static void fill_server(struct hg_tender *t)
{
    snprintf(t->id, sizeof t->id, "0193a5b0-7c1e-7d3a-9f00-1234567890ab");
    t->state = HG_TS_ACCEPTED;
    t->version = 7;
    t->created_ms = NOW - 1;
    t->updated_ms = NOW + 123;
    snprintf(t->capacity_id, sizeof t->capacity_id, "0193a5b0-7c1e-7d3a-9f00-0000000000cd");
    snprintf(t->correlation_id, sizeof t->correlation_id, "req-1.2:3_4");
}

static void tender_round_trip_one(const char *body, int with_capacity)
{
    struct hg_tender t, back;
    struct hg_verr err = {0};
    assert_int_equal(hg_tender_parse(body, strlen(body), NOW, &t, &err), HG_OK);
    fill_server(&t);
    if (!with_capacity)
        memset(t.capacity_id, 0, sizeof t.capacity_id);
    json_t *j = hg_tender_to_json(&t);
    assert_non_null(j);
    assert_int_equal(json_object_get(j, "capacityId") != NULL, with_capacity);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_int_equal(hg_tender_from_json(j, &back, &err), HG_OK);
    /* every field equal: both structs started zeroed, strings NUL-padded */
    json_t *e1 = t.extensions, *e2 = back.extensions;
    assert_int_equal(e1 == NULL, e2 == NULL);
    if (e1)
        assert_true(json_equal(e1, e2));
    t.extensions = back.extensions = NULL;
    assert_memory_equal(&t, &back, sizeof t);
    t.extensions = e1;
    back.extensions = e2;
    /* and the representation is a fixed point, byte for byte */
    json_t *j2 = hg_tender_to_json(&back);
    char *text2 = json_dumps(j2, JSON_COMPACT);
    assert_string_equal(text, text2);
    free(text);
    free(text2);
    json_decref(j);
    json_decref(j2);
    hg_tender_clear(&t);
    hg_tender_clear(&back);
}

static void tender_round_trip(void **state)
{
    (void)state;
    tender_round_trip_one(TENDER, 1);
    tender_round_trip_one(TENDER_MIN, 0);
    /* what the representation looks like */
    struct hg_tender t;
    struct hg_verr err;
    assert_int_equal(hg_tender_parse(TENDER, strlen(TENDER), NOW, &t, &err), HG_OK);
    fill_server(&t);
    json_t *j = hg_tender_to_json(&t);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "accepted");
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 7);
    assert_true(json_is_integer(json_object_get(j, "weightLbs")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "deliveryWindow"), "start")),
                        "2026-11-21T12:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(j, "createdAt")),
                        "2026-11-20T23:59:59.999Z");
    assert_string_equal(json_string_value(json_object_get(j, "correlationId")), "req-1.2:3_4");
    assert_null(json_object_get(j, "tenant"));
    assert_null(json_object_get(j, "owner"));
    json_decref(j);
    hg_tender_clear(&t);
    /* an empty optional string is omitted, the rest are always there */
    assert_int_equal(hg_tender_parse(TENDER_MIN, strlen(TENDER_MIN), NOW, &t, &err), HG_OK);
    j = hg_tender_to_json(&t);
    assert_null(json_object_get(j, "lane"));
    assert_null(json_object_get(j, "region"));
    assert_null(json_object_get(j, "offeredRate"));
    assert_null(json_object_get(j, "extensions"));
    assert_true(json_is_false(json_object_get(j, "hazmat")));
    assert_true(json_is_true(json_object_get(json_object_get(j, "requirements"), "autonomyAllowed")));
    assert_non_null(json_object_get(j, "tenderId"));
    json_decref(j);
    hg_tender_clear(&t);
}

static void tender_from_json_strict(void **state)
{
    (void)state;
    struct hg_tender t, back;
    struct hg_verr err;
    assert_int_equal(hg_tender_parse(TENDER, strlen(TENDER), NOW, &t, &err), HG_OK);
    fill_server(&t);
    json_t *j = hg_tender_to_json(&t);
    static const struct {
        const char *key, *value, *ptr, *detail;
    } cases[] = {
        {"tenderId", NULL, "/tenderId", "missing"},
        {"state", NULL, "/state", "missing"},
        {"version", NULL, "/version", "missing"},
        {"createdAt", NULL, "/createdAt", "missing"},
        {"updatedAt", NULL, "/updatedAt", "missing"},
        {"tenderId", "\"not-a-uuid\"", "/tenderId", "UUID"},
        {"tenderId", "\"0193a5b0-7c1e-7d3a-9f00-1234567890a\"", "/tenderId", "UUID"},
        {"tenderId", "\"0193a5b0x7c1e-7d3a-9f00-1234567890ab\"", "/tenderId", "UUID"},
        {"state", "\"lost\"", "/state", "one of pending"},
        {"version", "0", "/version", "from 1"},
        {"version", "1.5", "/version", "must be an integer"},
        {"correlationId", "\"bad id\"", "/correlationId", "correlationId"},
        {"capacityId", "7", "/capacityId", "UUID"},
        {"tenant", "\"t\"", "/tenant", "unknown field"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *c = json_deep_copy(j);
        if (cases[i].value)
            json_object_set_new(c, cases[i].key, json_loads(cases[i].value, JSON_DECODE_ANY, NULL));
        else
            json_object_del(c, cases[i].key);
        hg_status rc = hg_tender_from_json(c, &back, &err);
        expect_err(rc, &err, 400, cases[i].ptr, cases[i].detail, cases[i].key);
        assert_null(back.extensions);
        json_decref(c);
    }
    /* no 422s when reading back: the stored pickup window may have passed,
     * and an upper-case id is read as lower case */
    json_t *c = json_deep_copy(j);
    json_object_set_new(c, "pickupWindow",
                        json_pack("{s:s,s:s}", "start", "2020-01-01T00:00:00Z", "end",
                                  "2020-01-01T01:00:00Z"));
    json_object_set_new(c, "tenderId", json_string("0193A5B0-7C1E-7D3A-9F00-1234567890AB"));
    json_object_del(c, "correlationId");
    assert_int_equal(hg_tender_from_json(c, &back, &err), HG_OK);
    assert_string_equal(back.id, "0193a5b0-7c1e-7d3a-9f00-1234567890ab");
    assert_string_equal(back.correlation_id, "");
    hg_tender_clear(&back);
    json_decref(c);
    /* not an object */
    json_t *arr = json_array();
    assert_int_equal(hg_tender_from_json(arr, &back, &err), HG_EINVAL);
    assert_string_equal(err.pointer, "");
    json_decref(arr);
    json_decref(j);
    hg_tender_clear(&t);
}

static void tender_extensions(void **state)
{
    (void)state;
    struct hg_tender t;
    /* exactly HG_TENDER_EXT_MAX compact bytes is accepted, one more is not:
     * {"k":"xxx..."} is 8 bytes of framing */
    size_t pad = HG_TENDER_EXT_MAX - 8;
    char *v = malloc(pad + 16);
    memcpy(v, "{\"k\":\"", 6);
    memset(v + 6, 'x', pad);
    memcpy(v + 6 + pad, "\"}", 3);
    tender_mut_ok("extensions", v, &t);
    char *out = json_dumps(t.extensions, JSON_COMPACT);
    assert_int_equal(strlen(out), HG_TENDER_EXT_MAX);
    free(out);
    hg_tender_clear(&t);
    memcpy(v + 6 + pad, "x\"}", 4);
    tender_mut("extensions", v, 400, "/extensions", "8193 bytes");
    free(v);
    /* anything inside is kept: unknown names, nesting, numbers as sent */
    tender_mut_ok("extensions",
                  "{\"z\":1,\"a\":{\"tenderId\":\"x\",\"deep\":[[[{}]]]},\"f\":0.1,\"big\":"
                  "9007199254740993,\"s\":\"\\u00e9\\\"\"}",
                  &t);
    json_t *want = json_loads("{\"z\":1,\"a\":{\"tenderId\":\"x\",\"deep\":[[[{}]]]},\"f\":0.1,"
                              "\"big\":9007199254740993,\"s\":\"\xc3\xa9\\\"\"}",
                              0, NULL);
    assert_true(json_equal(t.extensions, want));
    /* member order too: the same text as the document sent, re-serialised */
    char *s = json_dumps(t.extensions, JSON_COMPACT), *w = json_dumps(want, JSON_COMPACT);
    assert_string_equal(s, w);
    free(s);
    free(w);
    json_decref(want);
    /* the representation holds a copy, not the tender's own object */
    json_t *j = hg_tender_to_json(&t);
    assert_ptr_not_equal(json_object_get(j, "extensions"), t.extensions);
    assert_true(json_equal(json_object_get(j, "extensions"), t.extensions));
    json_decref(j);
    hg_tender_clear(&t);
    tender_mut_ok("extensions", "{}", &t);
    assert_non_null(t.extensions);
    assert_int_equal(json_object_size(t.extensions), 0);
    hg_tender_clear(&t);
}

/* ---- transition and cancel ---- */

static void transition_bodies(void **state)
{
    (void)state;
    struct hg_transition_req r;
    struct hg_verr err;
    const char *ok = "{\"to\":\"accepted\",\"reason\":\"carrier confirmed\","
                     "\"capacityId\":\"0193A5B0-7C1E-7D3A-9F00-1234567890AB\"}";
    assert_int_equal(hg_tender_parse_transition(ok, strlen(ok), &r, &err), HG_OK);
    assert_int_equal(r.to, HG_TS_ACCEPTED);
    assert_string_equal(r.reason, "carrier confirmed");
    assert_string_equal(r.capacity_id, "0193a5b0-7c1e-7d3a-9f00-1234567890ab");
    const char *min = "{\"to\":\"failed_over\"}";
    assert_int_equal(hg_tender_parse_transition(min, strlen(min), &r, &err), HG_OK);
    assert_int_equal(r.to, HG_TS_FAILED_OVER);
    assert_string_equal(r.reason, "");
    assert_string_equal(r.capacity_id, "");
    static const struct {
        const char *doc, *ptr, *detail;
    } bad[] = {
        {"{}", "/to", "to is missing"},
        {"{\"to\":\"Accepted\"}", "/to", "name of a state"},
        {"{\"to\":3}", "/to", "name of a state"},
        {"{\"to\":\"accepted\",\"why\":\"x\"}", "/why", "unknown field \"why\""},
        {"{\"to\":\"accepted\",\"reason\":7}", "/reason", "must be a string"},
        {"{\"to\":\"accepted\",\"reason\":\"a\\nb\"}", "/reason", "(0x0A)"},
        {"{\"to\":\"accepted\",\"capacityId\":\"\"}", "/capacityId", "UUID"},
        {"{\"to\":\"accepted\",\"capacityId\":null}", "/capacityId", "got null"},
        {"[]", "", "JSON object"},
        {"", "", "empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hg_status rc = hg_tender_parse_transition(bad[i].doc, strlen(bad[i].doc), &r, &err);
        expect_err(rc, &err, 400, bad[i].ptr, bad[i].detail, bad[i].doc);
        assert_string_equal(r.reason, "");
    }
    /* reason: 512 bytes in, 513 out */
    char doc[700];
    int n = snprintf(doc, sizeof doc, "{\"to\":\"rejected\",\"reason\":\"%0512d\"}", 0);
    assert_int_equal(hg_tender_parse_transition(doc, (size_t)n, &r, &err), HG_OK);
    assert_int_equal(strlen(r.reason), 512);
    n = snprintf(doc, sizeof doc, "{\"to\":\"rejected\",\"reason\":\"%0513d\"}", 0);
    assert_int_equal(hg_tender_parse_transition(doc, (size_t)n, &r, &err), HG_EINVAL);
    assert_string_equal(err.pointer, "/reason");
}

static void cancel_bodies(void **state)
{
    (void)state;
    char reason[HG_TENDER_REASON_MAX + 1] = "junk";
    struct hg_verr err;
    assert_int_equal(hg_tender_parse_cancel(NULL, 0, reason, &err), HG_OK);
    assert_string_equal(reason, "");
    snprintf(reason, sizeof reason, "junk");
    assert_int_equal(hg_tender_parse_cancel(" \r\n\t", 4, reason, &err), HG_OK);
    assert_string_equal(reason, "");
    assert_int_equal(hg_tender_parse_cancel("{}", 2, reason, &err), HG_OK);
    assert_string_equal(reason, "");
    const char *ok = "{\"reason\":\"shipper cancelled\"}";
    assert_int_equal(hg_tender_parse_cancel(ok, strlen(ok), reason, &err), HG_OK);
    assert_string_equal(reason, "shipper cancelled");
    const char *bad = "{\"reason\":\"x\",\"force\":true}";
    expect_err(hg_tender_parse_cancel(bad, strlen(bad), reason, &err), &err, 400, "/force",
               "unknown field", bad);
    assert_string_equal(reason, "");
    expect_err(hg_tender_parse_cancel("null", 4, reason, &err), &err, 400, "", "not valid JSON",
               "null");
    expect_err(hg_tender_parse_cancel("{\"reason\":[]}", 13, reason, &err), &err, 400, "/reason",
               "must be a string", "[]");
}

/* ---- offers ---- */

static void offer_valid(void **state)
{
    (void)state;
    struct hg_offer o;
    struct hg_verr err = {0};
    assert_int_equal(hg_offer_parse(OFFER, strlen(OFFER), NOW, &o, &err), HG_OK);
    assert_string_equal(o.id, "");
    assert_string_equal(o.provider_id, "prov-aurora");
    assert_string_equal(o.vehicle_type, "class8_tractor");
    assert_string_equal(o.autonomy_level, "L4");
    assert_int_equal(o.available.start_ms, NOW + 6 * HOUR);
    assert_int_equal(o.available.end_ms, NOW + 20 * HOUR);
    assert_int_equal(o.nroute, 2);
    assert_true(o.route[0].from.lat == 32.9 && o.route[0].from.lon == -96.8);
    assert_true(o.route[0].to.lat == 29.7 && o.route[0].to.lon == -95.4);
    assert_true(o.route[0].max_detour_km == 25.0);
    assert_true(o.route[1].max_detour_km == 12.5);
    const struct hg_constraints *c = &o.constraints;
    assert_int_equal(c->has_max_weight, 1);
    assert_true(c->max_weight_lbs == 80000.0);
    assert_int_equal(c->hazmat, 0);
    assert_int_equal(c->nequipment, 2);
    assert_string_equal(c->equipment[1], "reefer");
    assert_int_equal(c->hours.present, 1);
    assert_int_equal(c->hours.start_min, 22 * 60);
    assert_int_equal(c->hours.end_min, 6 * 60);
    assert_int_equal(c->ncharging, 1);
    assert_int_equal(c->charging[0].end_ms - c->charging[0].start_ms, HOUR / 2);
    assert_int_equal(c->nmaintenance, 1);
    assert_int_equal(c->maintenance[0].start_ms, NOW + 24 * HOUR);
    assert_int_equal(c->nrestrictions, 2);
    assert_string_equal(c->restrictions[0], "livestock");
    assert_string_equal(o.rate.currency, "USD");
    assert_true(o.rate.amount == 1700.0);
    assert_int_equal(o.expires_ms, NOW + 12 * HOUR);
    assert_string_equal(o.lane, "DAL-HOU");

    assert_int_equal(hg_offer_parse(OFFER_MIN, strlen(OFFER_MIN), NOW, &o, &err), HG_OK);
    assert_int_equal(o.constraints.has_max_weight, 0);
    assert_int_equal(o.constraints.hazmat, 0);
    assert_int_equal(o.constraints.nequipment, 0);
    assert_int_equal(o.constraints.hours.present, 0);
    assert_string_equal(o.lane, "");
    assert_int_equal(o.expires_ms, NOW + 1);
}

static void offer_required_unknown_server(void **state)
{
    (void)state;
    static const char *const req[] = {"providerId", "vehicleType", "autonomyLevel",
                                      "availableWindow", "route", "rate", "expiresAt"};
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++) {
        char ptr[64];
        snprintf(ptr, sizeof ptr, "/%s", req[i]);
        offer_mut(req[i], NULL, 400, ptr, "is missing; a capacity offer requires it");
    }
    offer_mut("route.0.maxDetourKm", NULL, 400, "/route/0/maxDetourKm", "missing");
    offer_mut("route.1.to", NULL, 400, "/route/1/to", "missing");
    offer_mut("route.0.from.lon", NULL, 400, "/route/0/from/lon", "missing");
    offer_mut("constraints.hoursOfOperation.end", NULL, 400, "/constraints/hoursOfOperation/end",
              "missing");
    offer_mut("constraints.maintenanceWindows.0.start", NULL, 400,
              "/constraints/maintenanceWindows/0/start", "missing");
    static const char *const opt[] = {"constraints", "lane"};
    for (size_t i = 0; i < 2; i++) {
        struct hg_offer o;
        offer_mut_ok(opt[i], NULL, &o);
    }
    offer_mut("capacityId", "\"0193a5b0-7c1e-7d3a-9f00-1234567890ab\"", 400, "/capacityId",
              "assigned by the server");
    offer_mut("createdAt", "\"2026-11-21T00:00:00Z\"", 400, "/createdAt", "assigned by the server");
    offer_mut("tenderId", "\"x\"", 400, "/tenderId", "unknown field \"tenderId\" in a capacity offer");
    offer_mut("constraints.speed", "1", 400, "/constraints/speed", "unknown field");
    offer_mut("route.0.via", "[]", 400, "/route/0/via", "unknown field");
    offer_mut("route.0.from.name", "\"x\"", 400, "/route/0/from/name", "unknown field \"name\"");
}

static void offer_values(void **state)
{
    (void)state;
    struct hg_offer o;
    /* autonomy levels */
    static const char *const lv_ok[] = {"\"L0\"", "\"L1\"", "\"L2\"", "\"L3\"", "\"L5\""};
    for (size_t i = 0; i < 5; i++)
        offer_mut_ok("autonomyLevel", lv_ok[i], &o);
    static const char *const lv_bad[] = {"\"L6\"", "\"l4\"", "\"4\"", "\"L4 \"", "\"L44\"", "4",
                                         "\"\""};
    for (size_t i = 0; i < sizeof lv_bad / sizeof lv_bad[0]; i++)
        offer_mut("autonomyLevel", lv_bad[i], 400, "/autonomyLevel", "SAE J3016");
    /* route: 1..32 segments */
    offer_mut("route", "[]", 400, "/route", "1 to 32 segments");
    offer_mut("route", "{}", 400, "/route", "must be an array");
    static const char seg[] =
        "{\"from\":{\"lat\":1,\"lon\":2},\"to\":{\"lat\":3,\"lon\":4},\"maxDetourKm\":5}";
    char big[4096];
    list_of(big, sizeof big, seg, 33);
    offer_mut("route", big, 400, "/route", "got 33");
    list_of(big, sizeof big, seg, 32);
    offer_mut_ok("route", big, &o);
    assert_int_equal(o.nroute, 32);
    offer_mut("route.0", "[]", 400, "/route/0", "must be an object");
    offer_mut("route.0.maxDetourKm", "-0.1", 400, "/route/0/maxDetourKm", "at least 0");
    offer_mut("route.0.maxDetourKm", "20000.5", 400, "/route/0/maxDetourKm", "at most 20000");
    offer_mut("route.1.to.lat", "-91", 400, "/route/1/to/lat", "at least -90");
    /* constraints */
    offer_mut("constraints", "[]", 400, "/constraints", "must be an object");
    offer_mut("constraints.maxWeightLbs", "0", 400, "/constraints/maxWeightLbs", "greater than 0");
    offer_mut("constraints.maxWeightLbs", "200001", 400, "/constraints/maxWeightLbs", "at most");
    offer_mut("constraints.hazmat", "null", 400, "/constraints/hazmat", "true or false");
    offer_mut("constraints.equipment", "\"dry_van\"", 400, "/constraints/equipment", "array");
    offer_mut("constraints.equipment.1", "\"re efer\"", 400, "/constraints/equipment/1", "tag");
    offer_mut("constraints.cargoRestrictions.0", "1", 400, "/constraints/cargoRestrictions/0",
              "tag");
    char tags17[256], tags16[256];
    list_of(tags17, sizeof tags17, "\"t\"", 17);
    list_of(tags16, sizeof tags16, "\"t\"", 16);
    offer_mut("constraints.equipment", tags17, 400, "/constraints/equipment", "0 to 16 tags; got 17");
    offer_mut("constraints.cargoRestrictions", tags17, 400, "/constraints/cargoRestrictions",
              "got 17");
    offer_mut_ok("constraints.equipment", tags16, &o);
    assert_int_equal(o.constraints.nequipment, 16);
    offer_mut_ok("constraints.equipment", "[]", &o);
    assert_int_equal(o.constraints.nequipment, 0);
    /* windows lists */
    offer_mut("constraints.chargingWindows", "{}", 400, "/constraints/chargingWindows", "array");
    offer_mut("constraints.maintenanceWindows.0",
              "{\"start\":\"2026-11-22T04:00:00Z\",\"end\":\"2026-11-22T04:00:00Z\"}", 422,
              "/constraints/maintenanceWindows/0/end", "is empty");
    /* hours of operation */
    offer_mut_ok("constraints.hoursOfOperation", "{\"start\":\"00:00\",\"end\":\"24:00\"}", &o);
    assert_int_equal(o.constraints.hours.end_min, 1440);
    offer_mut_ok("constraints.hoursOfOperation", "{\"start\":\"07:30\",\"end\":\"07:30\"}", &o);
    assert_int_equal(o.constraints.hours.start_min, 450);
    offer_mut("constraints.hoursOfOperation.start", "\"24:00\"", 400,
              "/constraints/hoursOfOperation/start", "\"00:00\" to \"23:59\"");
    static const char *const hh_bad[] = {"\"25:00\"", "\"7:30\"", "\"07:60\"", "\"07-30\"",
                                         "\"24:01\"", "730", "\"07:30:00\""};
    for (size_t i = 0; i < sizeof hh_bad / sizeof hh_bad[0]; i++)
        offer_mut("constraints.hoursOfOperation.end", hh_bad[i], 400,
                  "/constraints/hoursOfOperation/end", "HH:MM");
    offer_mut("constraints.hoursOfOperation.tz", "\"UTC\"", 400,
              "/constraints/hoursOfOperation/tz", "unknown field");
    /* strings */
    offer_mut("providerId", "\"\"", 400, "/providerId", "1 to 128 bytes");
    offer_mut("vehicleType", "\"semi truck\"", 400, "/vehicleType", "tag");
    offer_mut("lane", "\"\"", 400, "/lane", "got 0 bytes");
    offer_mut("rate.currency", "\"usd\"", 400, "/rate/currency", "ISO 4217");
    offer_mut("rate.amount", "-1", 400, "/rate/amount", "at least 0");
}

static void offer_rules_422(void **state)
{
    (void)state;
    struct hg_offer o;
    offer_mut("availableWindow", "{\"start\":\"2026-11-21T06:00:00Z\",\"end\":\"2026-11-21T06:00:00Z\"}",
              422, "/availableWindow/end", "availableWindow is empty");
    offer_mut("availableWindow", "{\"start\":\"2026-11-21T06:00:00Z\",\"end\":\"2026-11-21T05:00:00Z\"}",
              422, "/availableWindow/end", "must be after its start");
    offer_mut("expiresAt", "\"2026-11-21T00:00:00Z\"", 422, "/expiresAt", "set expiresAt in the future");
    offer_mut("expiresAt", "\"2026-11-20T00:00:00Z\"", 422, "/expiresAt", "not after now");
    /* expiring after the window ends is allowed */
    offer_mut_ok("expiresAt", "\"2027-01-01T00:00:00Z\"", &o);
    /* a window wholly in the past is not refused here (matching skips it) */
    offer_mut_ok("availableWindow", "{\"start\":\"2026-11-01T00:00:00Z\",\"end\":\"2026-11-02T00:00:00Z\"}",
                 &o);
}

static void offer_round_trip_one(const char *body)
{
    struct hg_offer o, back;
    struct hg_verr err = {0};
    assert_int_equal(hg_offer_parse(body, strlen(body), NOW, &o, &err), HG_OK);
    snprintf(o.id, sizeof o.id, "0193a5b0-7c1e-7d3a-9f00-00000000beef");
    o.created_ms = NOW + 5;
    json_t *j = hg_offer_to_json(&o);
    assert_non_null(j);
    assert_int_equal(hg_offer_from_json(j, &back, &err), HG_OK);
    assert_memory_equal(&o, &back, sizeof o);
    json_t *j2 = hg_offer_to_json(&back);
    char *a = json_dumps(j, JSON_COMPACT), *b = json_dumps(j2, JSON_COMPACT);
    assert_string_equal(a, b);
    free(a);
    free(b);
    json_decref(j);
    json_decref(j2);
}

static void offer_round_trip(void **state)
{
    (void)state;
    offer_round_trip_one(OFFER);
    offer_round_trip_one(OFFER_MIN);
    char *d = mutate(OFFER, "constraints.hoursOfOperation", "{\"start\":\"00:00\",\"end\":\"24:00\"}");
    offer_round_trip_one(d);
    free(d);
    /* the representation */
    struct hg_offer o;
    struct hg_verr err;
    assert_int_equal(hg_offer_parse(OFFER, strlen(OFFER), NOW, &o, &err), HG_OK);
    json_t *j = hg_offer_to_json(&o);
    json_t *h = json_object_get(json_object_get(j, "constraints"), "hoursOfOperation");
    assert_string_equal(json_string_value(json_object_get(h, "start")), "22:00");
    assert_string_equal(json_string_value(json_object_get(h, "end")), "06:00");
    assert_string_equal(json_string_value(json_object_get(j, "expiresAt")),
                        "2026-11-21T12:00:00.000Z");
    assert_non_null(json_object_get(j, "capacityId"));
    assert_non_null(json_object_get(j, "createdAt"));
    json_decref(j);
    /* from_json requires the server's fields and refuses unknown ones */
    assert_int_equal(hg_offer_parse(OFFER, strlen(OFFER), NOW, &o, &err), HG_OK);
    snprintf(o.id, sizeof o.id, "0193a5b0-7c1e-7d3a-9f00-00000000beef");
    j = hg_offer_to_json(&o);
    json_t *c = json_deep_copy(j);
    json_object_del(c, "capacityId");
    struct hg_offer back;
    expect_err(hg_offer_from_json(c, &back, &err), &err, 400, "/capacityId", "missing", "c");
    json_decref(c);
    c = json_deep_copy(j);
    json_object_del(c, "createdAt");
    expect_err(hg_offer_from_json(c, &back, &err), &err, 400, "/createdAt", "missing", "c");
    json_decref(c);
    c = json_deep_copy(j);
    json_object_set_new(c, "owner", json_string("x"));
    expect_err(hg_offer_from_json(c, &back, &err), &err, 400, "/owner", "unknown field", "c");
    json_decref(c);
    /* a stored offer that has expired still reads back */
    c = json_deep_copy(j);
    json_object_set_new(c, "expiresAt", json_string("2020-01-01T00:00:00Z"));
    assert_int_equal(hg_offer_from_json(c, &back, &err), HG_OK);
    json_decref(c);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tender_valid),
        cmocka_unit_test(tender_minimal_defaults),
        cmocka_unit_test(tender_required),
        cmocka_unit_test(tender_unknown_and_server_fields),
        cmocka_unit_test(tender_wrong_types),
        cmocka_unit_test(tender_bounds),
        cmocka_unit_test(tender_times),
        cmocka_unit_test(tender_rules_422),
        cmocka_unit_test(tender_syntax),
        cmocka_unit_test(pointers_escaped),
        cmocka_unit_test(tender_round_trip),
        cmocka_unit_test(tender_from_json_strict),
        cmocka_unit_test(tender_extensions),
        cmocka_unit_test(transition_bodies),
        cmocka_unit_test(cancel_bodies),
        cmocka_unit_test(offer_valid),
        cmocka_unit_test(offer_required_unknown_server),
        cmocka_unit_test(offer_values),
        cmocka_unit_test(offer_rules_422),
        cmocka_unit_test(offer_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
