/* SPDX-License-Identifier: Apache-2.0
 * test_identity_text.c — identity.c's text rules in isolation (the file is
 * included to reach its statics): strict UTF-8, no controls, IA5 words
 * without spaces, and the proleptic-Gregorian day count behind not_after.
 * OpenSSL already refuses most malformed UTF-8 in names while decoding, so
 * these rules are the second line; this test keeps them honest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tls/identity.c"

static void utf8_rules(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
        int ok;
    } v[] = {
        {"", 0, 1},
        {"tms", 3, 1},
        {"Z\xc3\xbcrich", 7, 1},                   /* U+00FC */
        {"\xe2\x82\xac", 3, 1},                    /* U+20AC */
        {"\xf0\x9f\x9a\x9a", 4, 1},                /* U+1F69A */
        {"\xf4\x8f\xbf\xbf", 4, 1},                /* U+10FFFF, the last */
        {"\xef\xbf\xbd", 3, 1},                    /* U+FFFD */
        {"\xc2\x80", 2, 1},                        /* smallest 2-byte */
        {"\xc1\xbf", 2, 0},                        /* overlong */
        {"\xe0\x9f\xbf", 3, 0},                    /* overlong 3-byte */
        {"\xf0\x8f\xbf\xbf", 4, 0},                /* overlong 4-byte */
        {"\xed\xa0\x80", 3, 0},                    /* U+D800 surrogate */
        {"\xed\xbf\xbf", 3, 0},                    /* U+DFFF surrogate */
        {"\xf4\x90\x80\x80", 4, 0},                /* U+110000 */
        {"\xf8\x88\x80\x80\x80", 5, 0},            /* 5-byte form */
        {"\x80", 1, 0},                            /* lone continuation */
        {"\xe2\x82", 2, 0},                        /* truncated */
        {"\xc3\x28", 2, 0},                        /* bad continuation */
        {"a\0b", 3, 0},                            /* NUL */
        {"a\x1f", 2, 0},                           /* C0 control */
        {"a\x7f", 2, 0},                           /* DEL */
        {"a b", 3, 1},                             /* space is fine in a CN */
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        int got = text_ok((const unsigned char *)v[i].s, v[i].n, TEXT_UTF8);
        if (got != v[i].ok)
            fail_msg("case %zu: text_ok = %d, want %d", i, got, v[i].ok);
    }
}

static void ascii_and_ia5_rules(void **state)
{
    (void)state;
    const unsigned char *u = (const unsigned char *)"caf\xc3\xa9";
    assert_int_equal(text_ok(u, 5, TEXT_ASCII), 0);
    assert_int_equal(text_ok(u, 5, TEXT_IA5_WORD), 0);
    assert_int_equal(text_ok((const unsigned char *)"a b", 3, TEXT_ASCII), 1);
    assert_int_equal(text_ok((const unsigned char *)"a b", 3, TEXT_IA5_WORD), 0);
    assert_int_equal(text_ok((const unsigned char *)"spiffe://d/x?y=%20", 18, TEXT_IA5_WORD), 1);
    assert_int_equal(text_ok((const unsigned char *)"x\ty", 3, TEXT_ASCII), 0);
}

static void copy_bounds(void **state)
{
    (void)state;
    char out[4];
    assert_int_equal(copy_checked((const unsigned char *)"abc", 3, TEXT_ASCII, out, 4), HG_OK);
    assert_string_equal(out, "abc");
    assert_int_equal(copy_checked((const unsigned char *)"abcd", 4, TEXT_ASCII, out, 4),
                     HG_ETOOBIG);
}

static void day_count(void **state)
{
    (void)state;
    assert_int_equal(hg_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(hg_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(hg_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(hg_days_from_civil(1950, 1, 1), -7305);
    assert_int_equal(hg_days_from_civil(2049, 12, 31), 29219);
    assert_int_equal(hg_days_from_civil(9999, 12, 31), 2932896);
    /* a leap day and the day after */
    assert_int_equal(hg_days_from_civil(2024, 3, 1) - hg_days_from_civil(2024, 2, 28), 2);
    assert_int_equal(hg_days_from_civil(2100, 3, 1) - hg_days_from_civil(2100, 2, 28), 1);
}

static void time_null_is_refused(void **state)
{
    (void)state;
    int64_t t = 42;
    assert_int_equal(asn1_unix(NULL, &t), HG_EPARSE);   /* not "now" */
    assert_int_equal(t, 42);
    ASN1_TIME *a = ASN1_TIME_new();
    assert_int_equal(ASN1_TIME_set_string(a, "20491231235959Z"), 1);
    assert_int_equal(asn1_unix(a, &t), HG_OK);
    assert_int_equal(t, 2524607999);
    assert_int_equal(ASN1_TIME_set_string(a, "500101000000Z"), 1);   /* UTCTime 1950 */
    assert_int_equal(asn1_unix(a, &t), HG_OK);
    assert_int_equal(t, -631152000);
    ASN1_TIME_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_rules),
        cmocka_unit_test(ascii_and_ia5_rules),
        cmocka_unit_test(copy_bounds),
        cmocka_unit_test(day_count),
        cmocka_unit_test(time_null_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
