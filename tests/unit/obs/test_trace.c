/* SPDX-License-Identifier: Apache-2.0
 * test_trace.c — obs/trace: traceparent parse/format/new/child, the strict
 * tracestate check, header combination and normalisation in
 * hg_trace_from_headers (trimming, repeats, dedup, truncation, size cap,
 * bounded reads), and correlation ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/trace.h"

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static hg_status parse(const char *s, struct hg_traceparent *tp)
{
    return hg_traceparent_parse(s, strlen(s), tp);
}

static void traceparent_parse(void **state)
{
    (void)state;
    struct hg_traceparent tp;
    assert_int_equal(parse(TP, &tp), HG_OK);
    assert_int_equal(tp.version, 0);
    assert_string_equal(tp.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(tp.parent_id, "00f067aa0ba902b7");
    assert_int_equal(tp.flags, 1);

    static const char *const bad[] = {
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",           /* short */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",          /* upper case */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",          /* version ff */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",          /* zero trace */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",          /* zero parent */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",    /* v00 + field */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",         /* untrimmed */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",         /* future, no dash */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i], &tp) != HG_EPARSE)
            fail_msg("accepted bad traceparent \"%s\"", bad[i]);
        assert_string_equal(tp.trace_id, ""); /* out is cleared on failure */
    }
    /* future versions: extra fields after a dash are tolerated and ignored */
    assert_int_equal(parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-whatever", &tp), HG_OK);
    assert_int_equal(tp.version, 0xcc);
    assert_int_equal(tp.flags, 3);
    assert_int_equal(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &tp), HG_OK);
    /* never reads past n: the valid prefix of a longer buffer */
    const char *longer = TP "-more";
    assert_int_equal(hg_traceparent_parse(longer, 55, &tp), HG_OK);
    assert_int_equal(hg_traceparent_parse(TP, 54, &tp), HG_EPARSE);
    assert_int_equal(hg_traceparent_parse(NULL, 0, &tp), HG_EINVAL);
}

static void traceparent_format_new_child(void **state)
{
    (void)state;
    struct hg_traceparent tp, c, again;
    char out[HG_TRACEPARENT_LEN + 1];
    assert_int_equal(parse(TP, &tp), HG_OK);
    hg_traceparent_format(&tp, out);
    assert_string_equal(out, TP);
    /* a future version is downgraded to 00 when written */
    assert_int_equal(parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff-x", &tp), HG_OK);
    hg_traceparent_format(&tp, out);
    assert_string_equal(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff");

    assert_int_equal(hg_traceparent_new(&tp), HG_OK);
    assert_int_equal(tp.version, 0);
    assert_int_equal(tp.flags, 1);
    hg_traceparent_format(&tp, out);
    assert_int_equal(strlen(out), HG_TRACEPARENT_LEN);
    assert_int_equal(parse(out, &again), HG_OK);
    assert_string_equal(again.trace_id, tp.trace_id);
    struct hg_traceparent other;
    assert_int_equal(hg_traceparent_new(&other), HG_OK);
    assert_string_not_equal(other.trace_id, tp.trace_id);
    assert_string_not_equal(other.parent_id, tp.parent_id);

    tp.flags = 0xff; /* undefined bits are not propagated */
    assert_int_equal(hg_traceparent_child(&tp, &c), HG_OK);
    assert_string_equal(c.trace_id, tp.trace_id);
    assert_string_not_equal(c.parent_id, tp.parent_id);
    assert_int_equal(strlen(c.parent_id), 16);
    assert_int_equal(c.flags, 0x03);
    assert_int_equal(c.version, 0);
    hg_traceparent_format(&c, out);
    assert_int_equal(parse(out, &again), HG_OK);
    tp.flags = 0x00;
    assert_int_equal(hg_traceparent_child(&tp, &c), HG_OK);
    assert_int_equal(c.flags, 0x00);
}

static hg_status ts(const char *s)
{
    return hg_tracestate_validate(s, strlen(s));
}

static void tracestate_strict(void **state)
{
    (void)state;
    static const char *const good[] = {
        "", "a=1", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "foo=1 \t , \t bar=2", " , foo=1,, ",
        "tenant@system=x", "0tenant@sys=1", "a_-*/@9=v", "foo= leading space kept", "k=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (ts(good[i]) != HG_OK)
            fail_msg("rejected good tracestate \"%s\"", good[i]);
    static const char *const bad[] = {
        "FOO=1", "foo.bar=1", "@foo=1", "foo =1", "foo=bar=baz", "foo=,bar=3", "=1", "foo",
        "foo=1,foo=2", "a=\x7f", "a=tab\there", "a=\xc3\xa9", "k=1,=",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (ts(bad[i]) != HG_EPARSE)
            fail_msg("accepted bad tracestate \"%s\"", bad[i]);

    /* key: 256 chars fine, 257 not; value: 256 fine, 257 not */
    char buf[700];
    memset(buf, 'k', 256);
    memcpy(buf + 256, "=v", 3);
    assert_int_equal(ts(buf), HG_OK);
    memset(buf, 'k', 257);
    memcpy(buf + 257, "=v", 3);
    assert_int_equal(ts(buf), HG_EPARSE);
    memcpy(buf, "k=", 2);
    memset(buf + 2, 'v', 256);
    buf[258] = '\0';
    assert_int_equal(ts(buf), HG_OK);
    memset(buf + 2, 'v', 257);
    buf[259] = '\0';
    assert_int_equal(ts(buf), HG_EPARSE);

    /* 32 members fine, 33 not; 512 bytes fine, 513 not */
    size_t n = 0;
    for (int i = 0; i < 33; i++) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%sk%02d=1", i ? "," : "", i);
        assert_int_equal(hg_tracestate_validate(buf, n), i < 32 ? HG_OK : HG_EPARSE);
    }
    memcpy(buf, "a=", 2);
    memset(buf + 2, 'v', 250);
    memcpy(buf + 252, ",b=", 3);
    memset(buf + 255, 'w', 256);
    buf[511] = 'x';
    assert_int_equal(hg_tracestate_validate(buf, 511), HG_OK);
    assert_int_equal(hg_tracestate_validate(buf, 512), HG_EPARSE); /* value 257 long */
    memcpy(buf + 252, ",bb=", 4);
    memset(buf + 256, 'w', 256);
    assert_int_equal(hg_tracestate_validate(buf, 512), HG_OK);
    buf[512] = 'w';
    assert_int_equal(hg_tracestate_validate(buf, 513), HG_EPARSE);
    assert_int_equal(hg_tracestate_validate("a=1", 2), HG_EPARSE); /* bounded: "a=" */
}

#define H(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

static void from_headers(void **state)
{
    (void)state;
    struct hg_trace_ctx c;
    hg_trace_from_headers(NULL, 0, &c);
    assert_int_equal(c.tp_verdict, HG_TRACEPARENT_ABSENT);
    assert_int_equal(c.ts_verdict, HG_TRACESTATE_ABSENT);

    struct hg_trace_header h1[] = {H("Accept", "*/*"), H("TRACEPARENT", " \t" TP "\t "),
                                   H("TraceState", " rojo=1 , ,congo=2 "), H("tracestate", ""),
                                   H("tracestate", "rojo=3,x@y=4\t")};
    hg_trace_from_headers(h1, 5, &c);
    assert_int_equal(c.tp_verdict, HG_TRACEPARENT_VALID);
    assert_string_equal(c.tp.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_int_equal(c.ts_verdict, HG_TRACESTATE_VALID);
    assert_string_equal(c.tracestate, "rojo=1,congo=2,x@y=4"); /* first rojo wins */
    assert_int_equal(c.tracestate_len, strlen(c.tracestate));
    assert_int_equal(c.ts_truncated, 0);

    struct hg_trace_header two[] = {H("traceparent", TP), H("traceparent", TP), H("tracestate", "a=1")};
    hg_trace_from_headers(two, 3, &c);
    assert_int_equal(c.tp_verdict, HG_TRACEPARENT_INVALID);
    assert_int_equal(c.ts_verdict, HG_TRACESTATE_ABSENT);

    struct hg_trace_header badtp[] = {H("traceparent", "00-zz"), H("tracestate", "a=1")};
    hg_trace_from_headers(badtp, 2, &c);
    assert_int_equal(c.tp_verdict, HG_TRACEPARENT_INVALID);
    assert_int_equal(c.ts_verdict, HG_TRACESTATE_ABSENT);
    assert_string_equal(c.tp.trace_id, "");

    struct hg_trace_header badts[] = {H("traceparent", TP), H("tracestate", "a=1"), H("tracestate", "B=2")};
    hg_trace_from_headers(badts, 3, &c);
    assert_int_equal(c.tp_verdict, HG_TRACEPARENT_VALID);
    assert_int_equal(c.ts_verdict, HG_TRACESTATE_INVALID);
    assert_string_equal(c.tracestate, "");

    struct hg_trace_header blank[] = {H("traceparent", TP), H("tracestate", " , \t,")};
    hg_trace_from_headers(blank, 2, &c);
    assert_int_equal(c.ts_verdict, HG_TRACESTATE_ABSENT);

    /* names that only look similar are ignored */
    struct hg_trace_header near[] = {H("traceparent2", TP), H("trace-parent", TP)};
    hg_trace_from_headers(near, 2, &c);
    assert_int_equal(c.tp_verdict, HG_TRACEPARENT_ABSENT);

    /* values are length-delimited: bytes after value_len are never read */
    char raw[] = TP "GARBAGE";
    char st[] = "a=1,b=2XXXX";
    struct hg_trace_header lim[] = {{"traceparentXX", 11, raw, 55}, {"tracestate", 10, st, 7}};
    hg_trace_from_headers(lim, 2, &c);
    assert_int_equal(c.tp_verdict, HG_TRACEPARENT_VALID);
    assert_string_equal(c.tracestate, "a=1,b=2");
}

static void from_headers_limits(void **state)
{
    (void)state;
    struct hg_trace_ctx c;
    /* > 512 bytes: entries over 128 chars go first, from the right */
    char big[2048];
    size_t n = 0;
    n += (size_t)snprintf(big + n, sizeof big - n, "first=1,");
    for (int i = 0; i < 4; i++) {
        n += (size_t)snprintf(big + n, sizeof big - n, "long%d=", i);
        memset(big + n, 'v', 150);
        n += 150;
        big[n++] = ',';
    }
    n += (size_t)snprintf(big + n, sizeof big - n, "last=2");
    struct hg_trace_header h[] = {{"traceparent", 11, TP, 55}, {"tracestate", 10, big, n}};
    hg_trace_from_headers(h, 2, &c);
    assert_int_equal(c.ts_verdict, HG_TRACESTATE_VALID);
    assert_int_equal(c.ts_truncated, 1);
    assert_true(c.tracestate_len <= HG_TRACESTATE_MAX);
    assert_non_null(strstr(c.tracestate, "first=1,long0="));
    assert_non_null(strstr(c.tracestate, "long2="));
    assert_null(strstr(c.tracestate, "long3="));
    assert_non_null(strstr(c.tracestate, ",last=2"));
    assert_int_equal(hg_tracestate_validate(c.tracestate, c.tracestate_len), HG_OK);

    /* over the input cap: dropped unparsed, traceparent unaffected */
    char huge[HG_TRACESTATE_INPUT_MAX + 8];
    memset(huge, 'a', sizeof huge);
    memcpy(huge, "k=", 2);
    struct hg_trace_header hh[] = {{"traceparent", 11, TP, 55}, {"tracestate", 10, huge, sizeof huge}};
    hg_trace_from_headers(hh, 2, &c);
    assert_int_equal(c.tp_verdict, HG_TRACEPARENT_VALID);
    assert_int_equal(c.ts_verdict, HG_TRACESTATE_TOOBIG);

    /* exactly at the cap with the most members possible: parsed, deduped */
    char many[HG_TRACESTATE_INPUT_MAX];
    n = 0;
    int i = 0;
    while (n + 8 < sizeof many)
        n += (size_t)snprintf(many + n, sizeof many - n, "%s%c%c=1", n ? "," : "",
                              'a' + i / 26 % 26, 'a' + i % 26), i++;
    struct hg_trace_header hm[] = {{"traceparent", 11, TP, 55}, {"tracestate", 10, many, n}};
    hg_trace_from_headers(hm, 2, &c);
    assert_int_equal(c.ts_verdict, HG_TRACESTATE_VALID);
    assert_int_equal(c.ts_truncated, 1);
    assert_int_equal(hg_tracestate_validate(c.tracestate, c.tracestate_len), HG_OK);
    assert_int_equal(strncmp(c.tracestate, "aa=1,ab=1,", 10), 0);

    /* the same bound split across many fields */
    struct hg_trace_header fields[HG_TRACESTATE_INPUT_MAX / 4 + 2];
    size_t nf = 0;
    fields[nf++] = (struct hg_trace_header){"traceparent", 11, TP, 55};
    while (nf < sizeof fields / sizeof fields[0])
        fields[nf++] = (struct hg_trace_header){"tracestate", 10, "z=1", 3};
    hg_trace_from_headers(fields, nf, &c);
    assert_int_equal(c.ts_verdict, HG_TRACESTATE_TOOBIG);
    hg_trace_from_headers(fields, nf - 2, &c);
    assert_int_equal(c.ts_verdict, HG_TRACESTATE_VALID);
    assert_string_equal(c.tracestate, "z=1");
}

static void correlation_ids(void **state)
{
    (void)state;
    assert_true(hg_correlation_id_valid("abc", 3));
    assert_true(hg_correlation_id_valid("A-z_0.9:x", 9));
    assert_true(hg_correlation_id_valid("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", 36));
    assert_false(hg_correlation_id_valid("", 0));
    assert_false(hg_correlation_id_valid(NULL, 3));
    assert_false(hg_correlation_id_valid("a b", 3));
    assert_false(hg_correlation_id_valid("a/b", 3));
    assert_false(hg_correlation_id_valid("a\nb", 3));
    assert_false(hg_correlation_id_valid("caf\xc3\xa9", 5));
    assert_false(hg_correlation_id_valid("ab\0c", 4));
    char id[HG_CORRELATION_ID_MAX + 2];
    memset(id, 'x', sizeof id);
    assert_true(hg_correlation_id_valid(id, HG_CORRELATION_ID_MAX));
    assert_false(hg_correlation_id_valid(id, HG_CORRELATION_ID_MAX + 1));
    assert_true(hg_correlation_id_valid("ok;bad", 2)); /* bounded */

    char out[HG_CORRELATION_ID_MAX + 1];
    int gen = -1;
    assert_int_equal(hg_correlation_id_accept("req-42", 6, out, &gen), HG_OK);
    assert_string_equal(out, "req-42");
    assert_int_equal(gen, 0);
    assert_int_equal(hg_correlation_id_accept(id, HG_CORRELATION_ID_MAX, out, &gen), HG_OK);
    assert_int_equal(strlen(out), HG_CORRELATION_ID_MAX);
    assert_int_equal(hg_correlation_id_accept("bad id", 6, out, &gen), HG_OK);
    assert_int_equal(gen, 1);
    assert_int_equal(strlen(out), 36);
    assert_true(hg_correlation_id_valid(out, strlen(out)));
    char first[HG_CORRELATION_ID_MAX + 1];
    memcpy(first, out, sizeof out);
    assert_int_equal(hg_correlation_id_accept(NULL, 0, out, NULL), HG_OK);
    assert_string_not_equal(first, out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(traceparent_parse),
        cmocka_unit_test(traceparent_format_new_child),
        cmocka_unit_test(tracestate_strict),
        cmocka_unit_test(from_headers),
        cmocka_unit_test(from_headers_limits),
        cmocka_unit_test(correlation_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
