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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_names), cmocka_unit_test(err_context),
        cmocka_unit_test(buf_bounded),  cmocka_unit_test(b64url_roundtrip),
        cmocka_unit_test(uuid7_sorted), cmocka_unit_test(strict_ints),
        cmocka_unit_test(rfc3339),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
