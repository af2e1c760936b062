/* SPDX-License-Identifier: Apache-2.0
 * test_idempotency.c — Idempotency-Key parsing (sf-string, escapes, bare
 * token, 255/256 characters, empty, parameters, lists, two fields,
 * non-ASCII), the request fingerprint against SHA-256 values computed
 * elsewhere, the decision table including the expiry boundary, and list
 * cursors: round trip and every rejection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "tender/idempotency.h"

/* ---- Idempotency-Key ---- */

enum why_kind { W_NONE, W_FORM, W_EMPTY, W_LONG, W_PARAMS, W_MANY };

static const char *why_marker(enum why_kind k)
{
    switch (k) {
    case W_FORM: return "quoted string of 1 to 255 printable ASCII";
    case W_EMPTY: return "is empty";
    case W_LONG: return "longer than 255";
    case W_PARAMS: return "takes no parameters";
    case W_MANY: return "exactly one Idempotency-Key";
    case W_NONE: break;
    }
    return "";
}

static void key_case(const char *value, hg_status want, const char *key, enum why_kind k)
{
    char out[HG_IDEM_KEY_MAX + 1];
    const char *why = "unset";
    const char *vals[1] = {value};
    hg_status rc = hg_idem_key_parse(vals, 1, out, &why);
    if (rc != want || (want == HG_OK && strcmp(out, key) != 0) ||
        (want != HG_OK && (!why || !strstr(why, why_marker(k)))))
        print_message("# value [%s]: rc %d out [%s] why [%s]\n", value, rc, out,
                      why ? why : "(null)");
    assert_int_equal(rc, want);
    if (want == HG_OK) {
        assert_string_equal(out, key);
        assert_null(why);
    } else {
        assert_string_equal(out, "");
        assert_non_null(why);
        assert_non_null(strstr(why, why_marker(k)));
    }
}

static void key_forms(void **state)
{
    (void)state;
    /* the draft's form: an sf-string */
    key_case("\"8e03978e-40d5-43e8-bc93-6894a57f9324\"", HG_OK,
             "8e03978e-40d5-43e8-bc93-6894a57f9324", W_NONE);
    key_case(" \t\"abc\"\t ", HG_OK, "abc", W_NONE);
    key_case("\"a b ~!#$%&'()*+,/;<=>?@[]^`{|}\"", HG_OK, "a b ~!#$%&'()*+,/;<=>?@[]^`{|}",
             W_NONE);
    key_case("\"a\\\"b\\\\c\"", HG_OK, "a\"b\\c", W_NONE);
    key_case("\"\\\\\"", HG_OK, "\\", W_NONE);
    key_case("\" \"", HG_OK, " ", W_NONE);
    /* the compatibility form: a bare token */
    key_case("abc-123_X.y:z", HG_OK, "abc-123_X.y:z", W_NONE);
    key_case("  k1  ", HG_OK, "k1", W_NONE);
    key_case("0", HG_OK, "0", W_NONE);
    /* malformed */
    key_case("\"a\\nb\"", HG_EINVAL, NULL, W_FORM);   /* only \" and \\ escape */
    key_case("\"a\\", HG_EINVAL, NULL, W_FORM);
    key_case("\"abc", HG_EINVAL, NULL, W_FORM);       /* unterminated */
    key_case("abc\"", HG_EINVAL, NULL, W_FORM);
    key_case("\"a\tb\"", HG_EINVAL, NULL, W_FORM);    /* HTAB is not printable */
    key_case("\"a\x7f\"", HG_EINVAL, NULL, W_FORM);
    key_case("\"caf\xc3\xa9\"", HG_EINVAL, NULL, W_FORM); /* non-ASCII */
    key_case("caf\xc3\xa9", HG_EINVAL, NULL, W_FORM);
    key_case("abc def", HG_EINVAL, NULL, W_FORM);
    key_case("abc/def", HG_EINVAL, NULL, W_FORM);
    key_case("*abc", HG_EINVAL, NULL, W_FORM);
    key_case("\"abc\"x", HG_EINVAL, NULL, W_FORM);
    key_case("?1", HG_EINVAL, NULL, W_FORM);          /* an sf-boolean is not a key */
    key_case(":YWJj:", HG_OK, ":YWJj:", W_NONE);      /* token characters, taken as-is */
    /* empty */
    key_case("", HG_EINVAL, NULL, W_EMPTY);
    key_case(" \t ", HG_EINVAL, NULL, W_EMPTY);
    key_case("\"\"", HG_EINVAL, NULL, W_EMPTY);
    /* parameters */
    key_case("abc;x=1", HG_EINVAL, NULL, W_PARAMS);
    key_case("abc ;x", HG_EINVAL, NULL, W_PARAMS);
    key_case("\"abc\";x=1", HG_EINVAL, NULL, W_PARAMS);
    key_case("\"abc\" ; x", HG_EINVAL, NULL, W_PARAMS);
    /* a list in one field */
    key_case("\"a\", \"b\"", HG_EINVAL, NULL, W_MANY);
    key_case("a,b", HG_EINVAL, NULL, W_MANY);
    key_case("a , b", HG_EINVAL, NULL, W_MANY);
}

static void key_lengths(void **state)
{
    (void)state;
    char v[600], k[300];
    /* 255 characters: in, both forms */
    memset(k, 'k', 255);
    k[255] = '\0';
    snprintf(v, sizeof v, "%s", k);
    key_case(v, HG_OK, k, W_NONE);
    snprintf(v, sizeof v, "\"%s\"", k);
    key_case(v, HG_OK, k, W_NONE);
    /* 256: out, both forms */
    memset(k, 'k', 256);
    k[256] = '\0';
    snprintf(v, sizeof v, "%s", k);
    key_case(v, HG_EINVAL, NULL, W_LONG);
    snprintf(v, sizeof v, "\"%s\"", k);
    key_case(v, HG_EINVAL, NULL, W_LONG);
    /* the limit counts characters after unescaping: 255 escaped quotes */
    size_t n = 0;
    v[n++] = '"';
    for (int i = 0; i < 255; i++) {
        v[n++] = '\\';
        v[n++] = '"';
    }
    v[n++] = '"';
    v[n] = '\0';
    memset(k, '"', 255);
    k[255] = '\0';
    key_case(v, HG_OK, k, W_NONE);
    v[n - 1] = '\\';
    v[n++] = '"';
    v[n++] = '"';
    v[n] = '\0';
    key_case(v, HG_EINVAL, NULL, W_LONG);
    /* surrounding white space does not count */
    memset(k, 'k', 255);
    k[255] = '\0';
    snprintf(v, sizeof v, "   %s\t", k);
    key_case(v, HG_OK, k, W_NONE);
}

static void key_fields(void **state)
{
    (void)state;
    char out[HG_IDEM_KEY_MAX + 1];
    const char *why = "unset";
    assert_int_equal(hg_idem_key_parse(NULL, 0, out, &why), HG_ENOTFOUND);
    assert_null(why);
    const char *two[2] = {"\"a\"", "\"a\""};
    assert_int_equal(hg_idem_key_parse(two, 2, out, &why), HG_EINVAL);
    assert_non_null(strstr(why, "exactly one"));
    assert_string_equal(out, "");
    const char *nul[1] = {NULL};
    assert_int_equal(hg_idem_key_parse(nul, 1, out, &why), HG_EINVAL);
    assert_non_null(why);
    /* why may be NULL */
    const char *one[1] = {"ok"};
    assert_int_equal(hg_idem_key_parse(one, 1, out, NULL), HG_OK);
    assert_string_equal(out, "ok");
    assert_int_equal(hg_idem_key_parse(two, 2, out, NULL), HG_EINVAL);
}

/* ---- fingerprint ---- */

static void fingerprint(void **state)
{
    (void)state;
    uint8_t fp[32];
    char hex[65];
    const char *body = "{\"a\":1}";
    hg_idem_fingerprint("POST", "/v1/tenders", body, strlen(body), fp);
    hg_hex(fp, 32, hex);
    assert_string_equal(hex, "647c44f34105905d9ff47e75c79dc5d5bba22b63ef46a1913b4b92abed7433c0");
    hg_idem_fingerprint("POST", "/v1/tenders?x=1", NULL, 0, fp);
    hg_hex(fp, 32, hex);
    assert_string_equal(hex, "d8e69b7bc5627755c2dabf0ea14ec3d029ca4ab5bbb3b406d79a53dc0ab9e4c7");
    /* the separators keep the parts apart */
    uint8_t a[32], b[32];
    hg_idem_fingerprint("POST", "/a", "b", 1, a);
    hg_idem_fingerprint("POST", "/ab", "", 0, b);
    assert_memory_not_equal(a, b, 32);
    hg_idem_fingerprint("POS", "T/a", "b", 1, b);
    assert_memory_not_equal(a, b, 32);
    hg_idem_fingerprint("POST", "/a", "b", 1, b);
    assert_memory_equal(a, b, 32);
}

/* ---- decision table ---- */

static void decide(void **state)
{
    (void)state;
    uint8_t fp[32], other[32];
    memset(fp, 0xab, 32);
    memcpy(other, fp, 32);
    other[31] ^= 1;
    const int64_t now = 1000000;
    static const struct {
        int in_flight, completed, same_fp;
        int64_t expires_rel;
        enum hg_idem_action want;
    } rows[] = {
        /* live records */
        {0, 1, 1, 1, HG_IDEM_REPLAY},
        {0, 1, 0, 1, HG_IDEM_MISMATCH},
        {1, 0, 1, 1, HG_IDEM_IN_FLIGHT},
        {1, 0, 0, 1, HG_IDEM_IN_FLIGHT}, /* in flight is answered before the fingerprint */
        {1, 1, 1, 1, HG_IDEM_IN_FLIGHT}, /* in flight wins over completed */
        {1, 1, 0, 1, HG_IDEM_IN_FLIGHT},
        {0, 0, 1, 1, HG_IDEM_PROCEED},   /* a claim abandoned unfinished */
        {0, 0, 0, 1, HG_IDEM_PROCEED},
        /* expiry boundary: at expires_ms the record is gone */
        {0, 1, 1, 0, HG_IDEM_PROCEED},
        {0, 1, 0, 0, HG_IDEM_PROCEED},
        {1, 0, 1, 0, HG_IDEM_PROCEED},
        {0, 1, 1, -1, HG_IDEM_PROCEED},
        {1, 1, 0, -86400000, HG_IDEM_PROCEED},
        {0, 1, 1, 86400000, HG_IDEM_REPLAY},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct hg_idem_seen s = {.in_flight = rows[i].in_flight,
                                 .completed = rows[i].completed,
                                 .expires_ms = now + rows[i].expires_rel};
        memcpy(s.fingerprint, fp, 32);
        enum hg_idem_action got = hg_idem_decide(&s, rows[i].same_fp ? fp : other, now);
        if (got != rows[i].want)
            print_message("# row %zu: got %d want %d\n", i, got, rows[i].want);
        assert_int_equal(got, rows[i].want);
    }
    assert_int_equal(hg_idem_decide(NULL, fp, now), HG_IDEM_PROCEED);
}

/* ---- cursors ---- */

#define ID "0193a5b0-7c1e-7d3a-9f00-1234567890ab"
#define HASH UINT64_C(0x0123456789abcdef)

/* A cursor from raw bytes, to forge every kind of bad one. */
static void forge(const unsigned char *raw, size_t n, char *out, size_t cap)
{
    assert_int_equal(hg_b64url_encode(raw, n, out, cap), HG_OK);
}

static void raw_cursor(unsigned char raw[45], unsigned char version, uint64_t h, const char *id)
{
    raw[0] = version;
    for (int i = 0; i < 8; i++)
        raw[1 + i] = (unsigned char)(h >> (56 - 8 * i));
    memcpy(raw + 9, id, 36);
}

static void cursor_bad(const char *c, size_t len, const char *in_why)
{
    char id[37] = "junk";
    const char *why = NULL;
    assert_int_equal(hg_cursor_decode(c, len, HASH, id, &why), HG_EINVAL);
    assert_string_equal(id, "");
    assert_non_null(why);
    if (!strstr(why, in_why))
        print_message("# cursor [%.*s]: why [%s]\n", (int)len, c, why);
    assert_non_null(strstr(why, in_why));
}

static void cursors(void **state)
{
    (void)state;
    char c[HG_CURSOR_MAX + 1], id[37];
    const char *why = "unset";
    assert_int_equal(hg_cursor_encode(ID, HASH, c), HG_OK);
    assert_true(strlen(c) <= HG_CURSOR_MAX);
    assert_int_equal(strlen(c), 60);
    assert_int_equal(hg_cursor_decode(c, strlen(c), HASH, id, &why), HG_OK);
    assert_string_equal(id, ID);
    assert_null(why);
    /* an upper-case id comes back lower-case */
    assert_int_equal(hg_cursor_encode("0193A5B0-7C1E-7D3A-9F00-1234567890AB", 0, c), HG_OK);
    assert_int_equal(hg_cursor_decode(c, strlen(c), 0, id, NULL), HG_OK);
    assert_string_equal(id, ID);
    /* only base64url characters */
    assert_int_equal(hg_cursor_encode(ID, UINT64_MAX, c), HG_OK);
    for (const char *p = c; *p; p++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
    /* the length given is honoured: a longer buffer is not read */
    char padded[HG_CURSOR_MAX + 8];
    snprintf(padded, sizeof padded, "%sAAAA", c);
    assert_int_equal(hg_cursor_decode(padded, strlen(c), UINT64_MAX, id, NULL), HG_OK);

    /* other filters */
    assert_int_equal(hg_cursor_encode(ID, HASH ^ 1, c), HG_OK);
    cursor_bad(c, strlen(c), "other filters");
    assert_int_equal(hg_cursor_encode(ID, HASH, c), HG_OK);
    assert_int_equal(hg_cursor_decode(c, strlen(c), HASH ^ UINT64_C(0x8000000000000000), id, &why),
                     HG_EINVAL);
    assert_non_null(strstr(why, "other filters"));
    /* cut short, extended */
    cursor_bad(c, strlen(c) - 1, "not one this server issued");
    cursor_bad(c, strlen(c) - 4, "not one this server issued");
    cursor_bad(padded, strlen(padded), "not one this server issued");
    cursor_bad("", 0, "not one this server issued");
    cursor_bad(NULL, 0, "not one this server issued");
    /* not base64url: padding, '+', '/', white space */
    char bad[HG_CURSOR_MAX + 8];
    snprintf(bad, sizeof bad, "%s", c);
    bad[10] = '+';
    cursor_bad(bad, strlen(bad), "not one this server issued");
    bad[10] = '/';
    cursor_bad(bad, strlen(bad), "not one this server issued");
    bad[10] = ' ';
    cursor_bad(bad, strlen(bad), "not one this server issued");
    snprintf(bad, sizeof bad, "%s=", c);
    cursor_bad(bad, strlen(bad), "not one this server issued");
    /* longer than HG_CURSOR_MAX */
    memset(bad, 'A', HG_CURSOR_MAX + 4);
    cursor_bad(bad, HG_CURSOR_MAX + 4, "not one this server issued");
    /* forged: another version */
    unsigned char raw[46];
    raw_cursor(raw, 2, HASH, ID);
    forge(raw, 45, bad, sizeof bad);
    cursor_bad(bad, strlen(bad), "another version");
    raw_cursor(raw, 0, HASH, ID);
    forge(raw, 45, bad, sizeof bad);
    cursor_bad(bad, strlen(bad), "another version");
    /* forged: right version, wrong length */
    raw_cursor(raw, 1, HASH, ID);
    forge(raw, 44, bad, sizeof bad);
    cursor_bad(bad, strlen(bad), "not one this server issued");
    raw[45] = 'x';
    forge(raw, 46, bad, sizeof bad);
    cursor_bad(bad, strlen(bad), "not one this server issued");
    forge(raw, 1, bad, sizeof bad);
    cursor_bad(bad, strlen(bad), "not one this server issued");
    /* forged: ids that are not UUIDs */
    static const char ids[][37] = {
        "0193a5b0-7c1e-7d3a-9f00-1234567890ag", "0193a5b0x7c1e-7d3a-9f00-1234567890ab",
        "0193a5b0-7c1e-7d3a-9f0-01234567890ab", "0193a5b0-7c1e-7d3a-9f00-1234567890a\n",
        "                                    ", "0193a5b0-7c1e-7d3a-9f00-1234567890\0b",
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        raw_cursor(raw, 1, HASH, ids[i]);
        forge(raw, 45, bad, sizeof bad);
        cursor_bad(bad, strlen(bad), "not one this server issued");
    }
    /* a forged but well-formed cursor is just a position: accepted */
    raw_cursor(raw, 1, HASH, "ffffffff-ffff-ffff-ffff-ffffffffffff");
    forge(raw, 45, bad, sizeof bad);
    assert_int_equal(hg_cursor_decode(bad, strlen(bad), HASH, id, NULL), HG_OK);
    assert_string_equal(id, "ffffffff-ffff-ffff-ffff-ffffffffffff");
    /* encode refuses what it could not decode */
    assert_int_equal(hg_cursor_encode("not-a-uuid", HASH, c), HG_EINVAL);
    assert_string_equal(c, "");
    assert_int_equal(hg_cursor_encode(NULL, HASH, c), HG_EINVAL);
    assert_int_equal(hg_cursor_encode(ID "0", HASH, c), HG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_forms),   cmocka_unit_test(key_lengths),
        cmocka_unit_test(key_fields),  cmocka_unit_test(fingerprint),
        cmocka_unit_test(decide),      cmocka_unit_test(cursors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
