/* SPDX-License-Identifier: Apache-2.0
 * test_params.c — strict query strings (names, duplicates, escapes, bounds,
 * integers, what errors quote back) and Accept negotiation (q-values,
 * specificity, wildcards, malformed and oversized headers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/params.h"

static const char *const ft[] = {"from", "to", NULL};

static hg_status parse(const char *s, struct hg_query *q, struct hg_err *err)
{
    hg_err_clear(err);
    return hg_query_parse(s, strlen(s), ft, q, err);
}

static void query_ok(void **state)
{
    (void)state;
    struct hg_query q;
    struct hg_err err;
    assert_int_equal(parse("", &q, &err), HG_OK);
    assert_int_equal(q.n, 0);
    assert_null(hg_query_get(&q, "from"));
    assert_int_equal(parse("from=1&to=20", &q, &err), HG_OK);
    assert_int_equal(q.n, 2);
    assert_string_equal(hg_query_get(&q, "from"), "1");
    assert_string_equal(hg_query_get(&q, "to"), "20");
    uint64_t v = 0;
    assert_int_equal(hg_query_u64(&q, "to", &v, &err), HG_OK);
    assert_int_equal(v, 20);
    assert_string_equal(q.bad, "");
    /* order does not matter; names and values are percent-decoded */
    assert_int_equal(parse("t%6F=3&from=%32", &q, &err), HG_OK);
    assert_string_equal(hg_query_get(&q, "to"), "3");
    assert_string_equal(hg_query_get(&q, "from"), "2");
    /* an empty value is a value (the integer check refuses it later) */
    assert_int_equal(parse("from=", &q, &err), HG_OK);
    assert_string_equal(hg_query_get(&q, "from"), "");
    assert_int_equal(hg_query_u64(&q, "from", &v, &err), HG_EPARSE);
    assert_string_equal(q.bad, "from");
    /* '+' is not a space */
    assert_int_equal(parse("from=1+2", &q, &err), HG_OK);
    assert_string_equal(hg_query_get(&q, "from"), "1+2");
    assert_int_equal(hg_query_u64(&q, "from", &v, &err), HG_EPARSE);
}

static void expect_bad(const char *s, hg_status st, const char *bad, const char *in_msg)
{
    struct hg_query q;
    struct hg_err err;
    hg_status got = parse(s, &q, &err);
    if (got != st || strcmp(q.bad, bad) != 0 || !strstr(hg_err_msg(&err), in_msg)) {
        fprintf(stderr, "input '%s': status %d bad '%s' msg '%s'\n", s, got, q.bad,
                hg_err_msg(&err));
        fail();
    }
}

static void query_refused(void **state)
{
    (void)state;
    expect_bad("from=1&from=2", HG_EPARSE, "from", "more than once");
    expect_bad("from=1&fr%6Fm=2", HG_EPARSE, "from", "more than once");
    expect_bad("limit=5", HG_EPARSE, "limit", "takes: from, to");
    expect_bad("from=1&To=2", HG_EPARSE, "To", "unknown");
    expect_bad("from", HG_EPARSE, "from", "no value");
    expect_bad("from=1&", HG_EPARSE, "", "ends with '&'");
    expect_bad("&from=1", HG_EPARSE, "", "empty parameter");
    expect_bad("from=1&&to=2", HG_EPARSE, "", "empty parameter");
    expect_bad("=1", HG_EPARSE, "", "empty name");
    expect_bad("from=%4", HG_EPARSE, "from", "malformed %-escape");
    expect_bad("from=%zz", HG_EPARSE, "from", "malformed %-escape");
    expect_bad("from=1%0a", HG_EPARSE, "from", "control character");
    expect_bad("from=1%00", HG_EPARSE, "from", "control character");
    expect_bad("fr%0Aom=1", HG_EPARSE, "fr%0Aom", "control character");
    /* what is quoted back is printable ASCII */
    expect_bad("x%C3%A9'\\=1", HG_EPARSE, "x\\xc3\\xa9\\x27\\x5c", "unknown");
    char big[200];
    memset(big, '1', sizeof big);
    memcpy(big, "from=", 5);
    big[sizeof big - 1] = '\0';
    expect_bad(big, HG_EPARSE, "from", "longer than 64 bytes");
    char longname[150];
    memset(longname, 'n', sizeof longname);
    memcpy(longname + sizeof longname - 3, "=1", 3);
    char shown[HG_QUERY_NAME_SHOW + 1];
    memset(shown, 'n', HG_QUERY_NAME_SHOW);
    shown[HG_QUERY_NAME_SHOW] = '\0';
    expect_bad(longname, HG_EPARSE, shown, "unknown"); /* quoted, but cut */
    static char huge[HG_QUERY_MAX + 10];
    memset(huge, 'a', sizeof huge - 1);
    expect_bad(huge, HG_ETOOBIG, "", "at most 2048");
}

static void query_integers(void **state)
{
    (void)state;
    static const char *const it[] = {"index", NULL};
    const char *bad[] = {"-1", "-0", "+1", "1.0", "0x10", " 1", "1 ", "9223372036854775808", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char s[64];
        snprintf(s, sizeof s, "index=%s", bad[i]);
        struct hg_query q;
        struct hg_err err;
        /* a literal space is a value byte here, not a control character */
        assert_int_equal(hg_query_parse(s, strlen(s), it, &q, &err), HG_OK);
        uint64_t v;
        assert_int_equal(hg_query_u64(&q, "index", &v, &err), HG_EPARSE);
        assert_string_equal(q.bad, "index");
        assert_non_null(strstr(hg_err_msg(&err), "non-negative integer"));
    }
    struct hg_query q;
    struct hg_err err;
    assert_int_equal(hg_query_parse("index=9223372036854775807", 25, it, &q, &err), HG_OK);
    uint64_t v;
    assert_int_equal(hg_query_u64(&q, "index", &v, &err), HG_OK);
    assert_true(v == 9223372036854775807ULL);
    assert_int_equal(hg_query_parse("", 0, it, &q, &err), HG_OK);
    assert_int_equal(hg_query_u64(&q, "index", &v, &err), HG_ENOTFOUND);
    assert_string_equal(q.bad, "index");
    assert_non_null(strstr(hg_err_msg(&err), "required"));
    /* length is honoured: bytes past n are never read */
    assert_int_equal(hg_query_parse("index=12&junk", 8, it, &q, &err), HG_OK);
    assert_string_equal(hg_query_get(&q, "index"), "12");
}

static void query_args(void **state)
{
    (void)state;
    struct hg_query q;
    struct hg_err err;
    static const char *const many[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", NULL};
    assert_int_equal(hg_query_parse("", 0, many, &q, &err), HG_EINVAL);
    assert_int_equal(hg_query_parse(NULL, 0, ft, &q, &err), HG_OK);
    assert_int_equal(hg_query_parse(NULL, 3, ft, &q, &err), HG_EINVAL);
    assert_int_equal(hg_query_parse("a=1", 3, NULL, &q, &err), HG_EINVAL);
}

static const char *const offers[] = {"text/plain", "application/json"};

static int pick(const char *a)
{
    return hg_accept_pick(a, a ? strlen(a) : 0, offers, 2);
}

static void accept_negotiation(void **state)
{
    (void)state;
    assert_int_equal(pick(NULL), 0);
    assert_int_equal(pick(""), 0);
    assert_int_equal(pick("*/*"), 0);
    assert_int_equal(pick("application/json"), 1);
    assert_int_equal(pick("Application/JSON"), 1);
    assert_int_equal(pick("text/plain"), 0);
    assert_int_equal(pick("application/*"), 1);
    assert_int_equal(pick("text/*, application/json"), 0); /* tie: the default */
    assert_int_equal(pick("text/plain;q=0.5, application/json"), 1);
    assert_int_equal(pick("application/json;q=0.9, */*;q=0.1"), 1);
    assert_int_equal(pick("application/json, */*;q=0.1"), 1);
    assert_int_equal(pick("text/plain;charset=utf-8;q=0.2, application/json;q=0.3"), 1);
    assert_int_equal(pick("text/plain; q=1.000, application/json; q=0.999"), 0);
    /* the most specific range decides for an offer, not the highest q */
    assert_int_equal(pick("*/*;q=1, text/plain;q=0, application/json;q=0.1"), 1);
    assert_int_equal(pick("application/json;q=0, */*"), 0);
    /* nothing acceptable: 406 */
    assert_int_equal(pick("image/png"), -1);
    assert_int_equal(pick("*/*;q=0"), -1);
    assert_int_equal(pick("text/html, application/xml"), -1);
    /* malformed ranges are skipped; nothing well-formed = no header */
    assert_int_equal(pick("application/json;q=2, text/plain"), 0);
    assert_int_equal(pick("application/json;q=abc"), 0);
    assert_int_equal(pick("garbage"), 0);
    assert_int_equal(pick("*/json"), 0);
    assert_int_equal(pick(",,, application/json ,"), 1);
    assert_int_equal(pick("application/json;x=\"a,b\""), 0); /* a comma inside quotes splits */
    assert_int_equal(pick("application/json;x=\"ab\""), 1);
    assert_int_equal(pick("text/plain;q=0.0001"), 0); /* 4 decimals: malformed, ignored */
    /* over the bound: treated as absent */
    static char big[HG_ACCEPT_MAX + 20];
    memset(big, ' ', sizeof big - 1);
    memcpy(big, "application/json", 16);
    assert_int_equal(pick(big), 0);
    /* only the first HG_ACCEPT_MAX_RANGES ranges count */
    char many[800];
    size_t used = 0;
    for (int i = 0; i < HG_ACCEPT_MAX_RANGES; i++)
        used += (size_t)snprintf(many + used, sizeof many - used, "image/png,");
    snprintf(many + used, sizeof many - used, "application/json");
    assert_int_equal(pick(many), -1);
    assert_int_equal(hg_accept_pick("text/plain", 10, offers, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(query_ok),
        cmocka_unit_test(query_refused),
        cmocka_unit_test(query_integers),
        cmocka_unit_test(query_args),
        cmocka_unit_test(accept_negotiation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
