/* SPDX-License-Identifier: Apache-2.0
 * test_util.c — common/: status names, bounded buffer, base64url, UUIDv7,
 * strict integers, RFC 3339. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/util.h"

static void status_names(void **state)
{
    (void)state;
    assert_string_equal(hg_status_name(HG_OK), "HG_OK");
    assert_string_equal(hg_status_name(HG_ETOOBIG), "HG_ETOOBIG");
    assert_string_equal(hg_status_str(HG_ENOMEM), "out of memory");
    assert_string_equal(hg_status_name((hg_status)9999), "HG_UNKNOWN");
}

static void err_context(void **state)
{
    (void)state;
    struct hg_err e;
    hg_err_clear(&e);
    assert_string_equal(hg_err_msg(&e), "ok");
    assert_int_equal(hg_err_set(&e, HG_ECONFIG, "file %s line %d", "a.yaml", 3), HG_ECONFIG);
    assert_string_equal(hg_err_msg(&e), "file a.yaml line 3");
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    hg_err_set(&e, HG_EINVAL, "%s", big);
    assert_int_equal(strlen(e.msg), HG_ERR_MSG_MAX - 1);
    assert_string_equal(e.msg + HG_ERR_MSG_MAX - 4, "...");
    assert_int_equal(hg_err_set(NULL, HG_EIO, "x"), HG_EIO);
}

static void buf_bounded(void **state)
{
    (void)state;
    struct hg_buf b;
    hg_buf_init(&b, 10);
    assert_int_equal(hg_buf_puts(&b, "hello"), HG_OK);
    assert_int_equal(hg_buf_printf(&b, "%d", 12345), HG_OK);
    assert_string_equal(b.data, "hello12345");
    assert_int_equal(hg_buf_puts(&b, "!"), HG_ETOOBIG);
    assert_string_equal(b.data, "hello12345"); /* unchanged on error */
    hg_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(hg_buf_printf(&b, "%s", "12345678901"), HG_ETOOBIG);
    size_t n;
    char *s = hg_buf_steal(&b, &n);
    assert_int_equal(n, 0);
    free(s);
    hg_buf_cleanup(&b);
}

static void b64url_roundtrip(void **state)
{
    (void)state;
    /* RFC 4648 §10 vectors, URL alphabet, no padding */
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char enc[32];
        unsigned char dec[32];
        size_t n;
        assert_int_equal(hg_b64url_encode(in[i], strlen(in[i]), enc, sizeof enc), HG_OK);
        assert_string_equal(enc, out[i]);
        assert_int_equal(hg_b64url_decode(enc, strlen(enc), dec, sizeof dec, &n), HG_OK);
        assert_int_equal(n, strlen(in[i]));
        assert_memory_equal(dec, in[i], n);
    }
    unsigned char d[8];
    size_t n;
    assert_int_equal(hg_b64url_decode("Zg==", 4, d, sizeof d, &n), HG_EPARSE);
    assert_int_equal(hg_b64url_decode("Z+8", 3, d, sizeof d, &n), HG_EPARSE);
    assert_int_equal(hg_b64url_decode("Zh", 2, d, sizeof d, &n), HG_EPARSE); /* non-canonical */
    assert_int_equal(hg_b64url_decode("Z", 1, d, sizeof d, &n), HG_EPARSE);
    assert_int_equal(hg_b64url_decode("Zm9vYmFy", 8, d, 5, &n), HG_ETOOBIG);
    char e[4];
    assert_int_equal(hg_b64url_encode("foo", 3, e, sizeof e), HG_ETOOBIG);
    char s[16];
    assert_int_equal(hg_b64std_encode("fo", 2, s, sizeof s), HG_OK);
    assert_string_equal(s, "Zm8=");
    assert_int_equal(hg_b64std_decode("Zm8=", 4, d, sizeof d, &n), HG_OK);
    assert_int_equal(n, 2);
}

static void uuid7_sorted(void **state)
{
    (void)state;
    char prev[HG_UUID_STRLEN + 1] = "";
    for (int i = 0; i < 5000; i++) {
        char u[HG_UUID_STRLEN + 1];
        assert_int_equal(hg_uuid7(u), HG_OK);
        assert_int_equal(strlen(u), 36);
        assert_int_equal(u[14], '7');
        assert_true(strchr("89ab", u[19]) != NULL);
        assert_true(strcmp(prev, u) < 0);
        memcpy(prev, u, sizeof u);
    }
}

static void strict_ints(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(hg_parse_i64("42", 0, 100, &v), HG_OK);
    assert_int_equal(v, 42);
    assert_int_equal(hg_parse_i64("-7", -10, 10, &v), HG_OK);
    assert_int_equal(v, -7);
    assert_int_equal(hg_parse_i64("101", 0, 100, &v), HG_ETOOBIG);
    assert_int_equal(hg_parse_i64("4x", 0, 100, &v), HG_EPARSE);
    assert_int_equal(hg_parse_i64(" 4", 0, 100, &v), HG_EPARSE);
    assert_int_equal(hg_parse_i64("+4", 0, 100, &v), HG_EPARSE);
    assert_int_equal(hg_parse_i64("", 0, 100, &v), HG_EPARSE);
    assert_int_equal(hg_parse_i64("99999999999999999999", 0, INT64_MAX, &v), HG_ETOOBIG);
    char d[4];
    assert_int_equal(hg_strlcpy(d, "abc", sizeof d), HG_OK);
    assert_int_equal(hg_strlcpy(d, "abcd", sizeof d), HG_ETOOBIG);
    assert_string_equal(d, "abc");
}

static void rfc3339(void **state)
{
    (void)state;
    char t[HG_RFC3339_LEN + 1];
    hg_rfc3339(0, t);
    assert_string_equal(t, "1970-01-01T00:00:00.000Z");
    hg_rfc3339(1795280700123LL, t);
    assert_string_equal(t, "2026-11-21T17:05:00.123Z");
    assert_true(hg_ct_equal("abc", "abc", 3));
    assert_false(hg_ct_equal("abc", "abd", 3));
}

static void rfc3339_parse(void **state)
{
    (void)state;
    int64_t ms;
    const char *s = "1970-01-01T00:00:00Z";
    assert_int_equal(hg_rfc3339_parse(s, strlen(s), &ms), HG_OK);
    assert_int_equal(ms, 0);
    s = "2026-11-21T10:00:00Z";
    assert_int_equal(hg_rfc3339_parse(s, strlen(s), &ms), HG_OK);
    assert_int_equal(ms, INT64_C(1795255200000));
    s = "2026-11-21T12:00:00.5+02:00";
    assert_int_equal(hg_rfc3339_parse(s, strlen(s), &ms), HG_OK);
    assert_int_equal(ms, INT64_C(1795255200500));
    s = "2026-11-21t09:30:00.123456-00:30"; /* sub-ms digits floored */
    assert_int_equal(hg_rfc3339_parse(s, strlen(s), &ms), HG_OK);
    assert_int_equal(ms, INT64_C(1795255200123));
    s = "2024-02-29T00:00:00z";
    assert_int_equal(hg_rfc3339_parse(s, strlen(s), &ms), HG_OK);
    const char *bad[] = {"2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
                         "2026-01-32T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z",
                         "2026-01-01T00:00:60Z", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00",
                         "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00+0200",
                         "2026-01-01T00:00:00+24:00", "2026-1-01T00:00:00Z", "",
                         "2026-01-01T00:00:00Zjunk", "+2026-01-01T00:00:00Z",
                         "1969-12-31T23:59:59Z", "2026-01-01T00:00:00.1234567891Z",
                         "2026-06-30T23:59:60Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (hg_rfc3339_parse(bad[i], strlen(bad[i]), &ms) == HG_OK)
            fail_msg("'%s' parsed", bad[i]);
}

/* Every instant hg_rfc3339 writes reads back to itself. */
static void rfc3339_round_trip(void **state)
{
    (void)state;
    const int64_t at[] = {0, 999, INT64_C(1795255200123), INT64_C(951782400000),
                          INT64_C(253402300799999)};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        char b[HG_RFC3339_LEN + 1];
        int64_t ms = -1;
        hg_rfc3339(at[i], b);
        assert_int_equal(hg_rfc3339_parse(b, strlen(b), &ms), HG_OK);
        assert_int_equal(ms, at[i]);
    }
}

static void uuid_norm(void **state)
{
    (void)state;
    char out[HG_UUID_STRLEN + 1];
    const char *u = "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B";
    assert_int_equal(hg_uuid_norm(u, strlen(u), out), 1);
    assert_string_equal(out, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    assert_int_equal(hg_uuid_norm(u, strlen(u), NULL), 1);
    const char *bad[] = {"0190a1b2c3d47e5f8a9b0c1d2e3f4a5b", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5",
                         "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g", "0190a1b2_c3d4-7e5f-8a9b-0c1d2e3f4a5b",
                         ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hg_uuid_norm(bad[i], strlen(bad[i]), out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc3339_parse),
        cmocka_unit_test(rfc3339_round_trip),
        cmocka_unit_test(uuid_norm),
        cmocka_unit_test(status_names), cmocka_unit_test(err_context),
        cmocka_unit_test(buf_bounded),  cmocka_unit_test(b64url_roundtrip),
        cmocka_unit_test(uuid7_sorted), cmocka_unit_test(strict_ints),
        cmocka_unit_test(rfc3339),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
