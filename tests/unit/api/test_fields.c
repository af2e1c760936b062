/* SPDX-License-Identifier: Apache-2.0
 * test_fields.c — the header and query value parsers of the tender API
 * (api/fields.c): Prefer wait (RFC 7240: other preferences and parameters
 * ignored, the first wait decides, a malformed wait is ignored), If-Match /
 * If-None-Match lists with weak tags, RFC 3339 times, and the JSON media
 * type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/api_int.h"

static int wait_of(const char *s, int64_t *secs)
{
    *secs = -1;
    return api__prefer_wait(s, strlen(s), secs);
}

static void prefer_wait(void **state)
{
    (void)state;
    int64_t w;
    assert_true(wait_of("wait=10", &w));
    assert_int_equal(w, 10);
    assert_true(wait_of("WAIT=0", &w));
    assert_int_equal(w, 0);
    assert_true(wait_of("respond-async, wait=5", &w));
    assert_int_equal(w, 5);
    assert_true(wait_of("  return=minimal ; foo=\"a,b\" ,wait = 7;x=1", &w));
    assert_int_equal(w, 7);
    assert_true(wait_of("wait=\"12\"", &w));
    assert_int_equal(w, 12);
    assert_true(wait_of(",, wait=3 ,", &w));
    assert_int_equal(w, 3);
    assert_true(wait_of("handling=lenient, wait=999999999", &w));
    assert_int_equal(w, 999999999);
    /* the first wait decides, even when it is malformed */
    assert_true(wait_of("wait=1, wait=2", &w));
    assert_int_equal(w, 1);
    assert_false(wait_of("wait=x, wait=2", &w));
    /* ignored: malformed or absent */
    const char *bad[] = {"", "wait", "wait=", "wait=-1", "wait=1.5", "wait=10s",
                         "wait=1234567890", "wait=\"1", "waiting=3", "respond-async",
                         "x=\"wait=3\"", "wait=\"\"", "=3, wait", "\"wait\"=3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int ok = wait_of(bad[i], &w);
        if (ok)
            fail_msg("'%s' gave wait=%lld", bad[i], (long long)w);
    }
    /* a quoted comma does not split an element */
    assert_true(wait_of("foo=\"x, wait=9\", wait=4", &w));
    assert_int_equal(w, 4);
    /* never reads past n */
    const char cut[] = "wait=12";
    assert_true(api__prefer_wait(cut, 6, &w));
    assert_int_equal(w, 1);
}

static void etags(void **state)
{
    (void)state;
    struct api_etags e;
    const char *s = "\"3\"";
    assert_int_equal(api__etags_parse(s, strlen(s), &e), HG_OK);
    assert_true(api__etags_match_strong(&e, 3));
    assert_false(api__etags_match_strong(&e, 4));
    s = " \"1\" , W/\"2\",\"abc\",, \"4\" ";
    assert_int_equal(api__etags_parse(s, strlen(s), &e), HG_OK);
    assert_int_equal(e.n, 4);
    assert_true(api__etags_match_strong(&e, 1));
    assert_false(api__etags_match_strong(&e, 2)); /* weak never matches If-Match */
    assert_true(api__etags_match_weak(&e, 2));    /* but does If-None-Match */
    assert_true(api__etags_match_strong(&e, 4));
    assert_false(api__etags_match_strong(&e, 0));
    s = "*";
    assert_int_equal(api__etags_parse(s, strlen(s), &e), HG_OK);
    assert_true(api__etags_match_strong(&e, 99));
    /* not ours: leading zero, sign, too long */
    s = "\"03\", \"-3\", \"1234567890123456789\"";
    assert_int_equal(api__etags_parse(s, strlen(s), &e), HG_OK);
    assert_false(api__etags_match_strong(&e, 3));
    const char *bad[] = {"", " ", "3", "\"3", "W/3", "w/\"3\"", "\"3\" \"4\"", "*, \"3\"",
                         "\"a\"b\"", "\"3\";x", "\"\x01\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (api__etags_parse(bad[i], strlen(bad[i]), &e) == HG_OK)
            fail_msg("'%s' parsed", bad[i]);
    char many[512] = "";
    size_t used = 0;
    for (int i = 0; i < API_ETAGS_MAX + 1; i++)
        used += (size_t)snprintf(many + used, sizeof many - used, "%s\"1\"", i ? "," : "");
    assert_int_equal(api__etags_parse(many, strlen(many), &e), HG_EPARSE);
}

static void content_type(void **state)
{
    (void)state;
    const char *ok[] = {"application/json", "Application/JSON", "application/json; charset=utf-8",
                        "application/json;charset=\"UTF-8\"", " application/json ",
                        "application/json; foo=bar"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!api__ctype_is_json(ok[i], strlen(ok[i])))
            fail_msg("'%s' refused", ok[i]);
    const char *bad[] = {"", "text/plain", "application/jsonx", "application/json-seq",
                         "application/problem+json", "application/json; charset=latin1",
                         "application/json;", "application/json; charset", "application/json x",
                         "application/json; a=\"b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (api__ctype_is_json(bad[i], strlen(bad[i])))
            fail_msg("'%s' accepted", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prefer_wait),
        cmocka_unit_test(etags),
        cmocka_unit_test(content_type),
    };
    return cmocka_run_group_tests_name("api/fields", tests, NULL, NULL);
}
