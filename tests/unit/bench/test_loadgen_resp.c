/* SPDX-License-Identifier: Apache-2.0
 *
 * test_loadgen_resp.c — the HTTP/1.1 response framer of bench/loadgen.c
 * (included with HG_LOADGEN_PARSER_ONLY): every framing it supports, how
 * many bytes it takes, and each malformed input it must refuse. A framer that
 * miscounts would make the benchmark count garbage as requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#define HG_LOADGEN_PARSER_ONLY 1
#include "../../../bench/loadgen.c"

static struct rp P;

/* Feed all of s in one call. */
static enum rp_result feed(const char *s, size_t *used)
{
    return rp_feed(&P, s, strlen(s), used);
}

/* Feed s one byte at a time; returns the result of the call that completed
 * or failed, and the index of that byte in *at. */
static enum rp_result feed_bytes(const char *s, size_t *at)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        size_t used = 0;
        enum rp_result r = rp_feed(&P, s + i, 1, &used);
        if (r != RP_MORE) {
            *at = i;
            return r;
        }
        assert_int_equal(used, 1);
    }
    *at = n;
    return RP_MORE;
}

static void content_length(void **state)
{
    (void)state;
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n{\"principal\":\"tms\"}";
    size_t used = 0;
    rp_reset(&P, 0);
    assert_int_equal(feed(s, &used), RP_COMPLETE);
    assert_int_equal(used, strlen(s));
    assert_int_equal(P.status, 200);
    assert_int_equal(P.close, 0);

    size_t at = 0;
    rp_reset(&P, 0);
    assert_int_equal(feed_bytes(s, &at), RP_COMPLETE);
    assert_int_equal(at, strlen(s) - 1); /* exactly on the last body byte */
}

static void chunked_with_trailer(void **state)
{
    (void)state;
    const char *s = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n"
                    "Content-Length: 3\r\n\r\n" /* chunked wins */
                    "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n";
    size_t at = 0;
    rp_reset(&P, 0);
    assert_int_equal(feed_bytes(s, &at), RP_COMPLETE);
    assert_int_equal(at, strlen(s) - 1);
    assert_int_equal(P.status, 201);
}

static void interim_then_final(void **state)
{
    (void)state;
    const char *s = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\n"
                    "Content-Length: 2\r\nConnection: keep-alive, close\r\n\r\nno";
    size_t used = 0;
    rp_reset(&P, 0);
    assert_int_equal(feed(s, &used), RP_COMPLETE);
    assert_int_equal(used, strlen(s));
    assert_int_equal(P.status, 404);
    assert_int_equal(P.close, 1);
}

static void read_until_close(void **state)
{
    (void)state;
    size_t used = 0;
    rp_reset(&P, 0);
    assert_int_equal(feed("HTTP/1.0 200 OK\r\n\r\nsome body", &used), RP_MORE);
    assert_int_equal(feed(" and more", &used), RP_MORE);
    assert_int_equal(rp_eof(&P), RP_COMPLETE);
    assert_int_equal(P.close, 1);

    /* A final coding other than chunked also runs until close. */
    rp_reset(&P, 0);
    assert_int_equal(feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx", &used), RP_MORE);
    assert_int_equal(rp_eof(&P), RP_COMPLETE);

    /* HTTP/1.0 with keep-alive and a length is not closed. */
    rp_reset(&P, 0);
    assert_int_equal(feed("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", &used),
                     RP_COMPLETE);
    assert_int_equal(P.close, 0);
}

static void no_body_cases(void **state)
{
    (void)state;
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    const char *two = "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n";
    size_t used = 0;
    rp_reset(&P, 1); /* HEAD request */
    assert_int_equal(feed(head, &used), RP_COMPLETE);
    assert_int_equal(used, strlen(head));

    rp_reset(&P, 0);
    assert_int_equal(feed(two, &used), RP_COMPLETE);
    assert_int_equal(used, strlen("HTTP/1.1 204 No Content\r\n\r\n")); /* the rest is not its */
    assert_int_equal(P.status, 204);

    rp_reset(&P, 0);
    assert_int_equal(feed("HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n", &used), RP_COMPLETE);
}

static void expect_error(const char *s, const char *why_part)
{
    size_t used = 0;
    rp_reset(&P, 0);
    assert_int_equal(feed(s, &used), RP_ERROR);
    assert_non_null(P.why);
    assert_non_null(strstr(P.why, why_part));
    /* A failed parser stays failed. */
    assert_int_equal(rp_feed(&P, "x", 1, &used), RP_ERROR);
}

static void malformed(void **state)
{
    (void)state;
    expect_error("HTTP/2 200\r\n\r\n", "status line");
    expect_error("HTTP/1.1 20x OK\r\n\r\n", "three digits");
    expect_error("HTTP/1.1 200 OK\nX: y\r\n\r\n", "CRLF");
    expect_error("HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "folded");
    expect_error("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", "Name: value");
    expect_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "conflicting");
    expect_error("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "decimal");
    expect_error("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\n", "too large");
    expect_error("HTTP/1.1 101 Switching Protocols\r\n\r\n", "101");
    expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "hexadecimal");
    expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1 x\r\n", "garbage");
    expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", "too large");
    expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", "longer than its size");
    expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nab", "without CR");

    /* Duplicate but equal lengths are fine. */
    size_t used = 0;
    rp_reset(&P, 0);
    assert_int_equal(feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok", &used),
                     RP_COMPLETE);
}

static void bounds(void **state)
{
    (void)state;
    size_t used = 0;
    /* A head that never ends is cut at 8 KiB. */
    char *big = malloc(RP_HEAD_MAX + 64);
    assert_non_null(big);
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(big + 20, 'a', RP_HEAD_MAX + 43);
    big[RP_HEAD_MAX + 63] = '\0';
    rp_reset(&P, 0);
    assert_int_equal(feed(big, &used), RP_ERROR);
    assert_non_null(strstr(P.why, "8 KiB"));

    /* A chunk-size line longer than its bound. */
    rp_reset(&P, 0);
    assert_int_equal(feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;", &used), RP_MORE);
    memset(big, 'e', RP_LINE_MAX + 1);
    assert_int_equal(rp_feed(&P, big, RP_LINE_MAX + 1, &used), RP_ERROR);
    free(big);

    /* The connection closing mid-body is an error, not a response. */
    rp_reset(&P, 0);
    assert_int_equal(feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", &used), RP_MORE);
    assert_int_equal(rp_eof(&P), RP_ERROR);
    rp_reset(&P, 0);
    assert_int_equal(rp_eof(&P), RP_ERROR);
}

/* --save-location: the Location of a complete response, trimmed. */
static void location_header(void **state)
{
    (void)state;
    size_t used = 0, vlen = 0;
    rp_reset(&P, 0);
    assert_int_equal(feed("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n"
                          "location: \t/v1/tenders/abc \r\n\r\n", &used),
                     RP_COMPLETE);
    const char *v = rp_header(&P, "Location", &vlen);
    assert_non_null(v);
    assert_int_equal(vlen, strlen("/v1/tenders/abc"));
    assert_memory_equal(v, "/v1/tenders/abc", vlen);
    assert_null(rp_header(&P, "ETag", &vlen));
    assert_int_equal(vlen, 0);
    /* not complete yet: nothing */
    rp_reset(&P, 0);
    assert_int_equal(feed("HTTP/1.1 201 Created\r\nLocation: /x\r\n", &used), RP_MORE);
    assert_null(rp_header(&P, "Location", &vlen));
}

/* --paths-file lines: comments, blanks, CRLF, and the refusals. */
static void paths_file_lines(void **state)
{
    (void)state;
    const char *d = "# ids\n/v1/tenders/a\r\n\n/v1/tenders/b";
    size_t pos = 0, line = 0, plen = 0;
    const char *path = NULL, *why = NULL;
    assert_int_equal(paths_next(d, strlen(d), &pos, &line, &path, &plen, &why), 1);
    assert_int_equal(plen, 13);
    assert_memory_equal(path, "/v1/tenders/a", 13);
    assert_int_equal(paths_next(d, strlen(d), &pos, &line, &path, &plen, &why), 1);
    assert_memory_equal(path, "/v1/tenders/b", 13);
    assert_int_equal(line, 4);
    assert_int_equal(paths_next(d, strlen(d), &pos, &line, &path, &plen, &why), 0);
    const char *bad[] = {"v1/x\n", "/a b\n", "/caf\xc3\xa9\n"};
    for (size_t i = 0; i < 3; i++) {
        pos = line = 0;
        why = NULL;
        assert_int_equal(paths_next(bad[i], strlen(bad[i]), &pos, &line, &path, &plen, &why),
                         -1);
        assert_non_null(why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(content_length),
        cmocka_unit_test(location_header),
        cmocka_unit_test(paths_file_lines),
        cmocka_unit_test(chunked_with_trailer),
        cmocka_unit_test(interim_then_final),
        cmocka_unit_test(read_until_close),
        cmocka_unit_test(no_body_cases),
        cmocka_unit_test(malformed),
        cmocka_unit_test(bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
