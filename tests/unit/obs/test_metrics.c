/* SPDX-License-Identifier: Apache-2.0
 * test_metrics.c — obs/metrics: registration rules, exact Prometheus text for
 * each kind, escaping, number spelling, the series cap and its overflow
 * series, concurrency (4 threads on one series, exact total) and a 1M-update
 * loop for the sanitizers. With HG_METRICS_DUMP=<path> it instead writes a
 * registry holding every kind and awkward label values to <path> and exits,
 * for tests/shell/promtool.sh to feed to `promtool check metrics`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "obs/metrics.h"
#include "obs/obs_int.h"

#define RENDER_MAX (4u << 20)

static char *render(struct hg_metrics *m)
{
    struct hg_buf b;
    hg_buf_init(&b, RENDER_MAX);
    assert_int_equal(hg_metrics_render(m, &b), HG_OK);
    char *s = hg_buf_steal(&b, NULL);
    assert_non_null(s);
    return s;
}

static void registration_rules(void **state)
{
    (void)state;
    struct hg_metrics *m;
    struct hg_metric *f;
    assert_int_equal(hg_metrics_new(&m), HG_OK);
    const char *lab[] = {"route", NULL};
    const char *bad_lab[] = {"__x", NULL};
    const char *dup_lab[] = {"a", "a", NULL};
    const char *le_lab[] = {"le", NULL};
    const char *many[] = {"a", "b", "c", "d", "e", NULL};
    const char *digit_lab[] = {"1a", NULL};
    double asc[] = {0.1, 0.5, 1};
    double desc[] = {1, 0.5};
    double inf[] = {1, INFINITY};

    assert_int_equal(hg_metrics_register(m, HG_METRIC_COUNTER, "1bad_total", "h", NULL, NULL, 0, &f), HG_EINVAL);
    assert_null(f);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_COUNTER, "bad-name_total", "h", NULL, NULL, 0, &f), HG_EINVAL);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_COUNTER, "no_suffix", "h", NULL, NULL, 0, &f), HG_EINVAL);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "g_total", "h", NULL, NULL, 0, &f), HG_EINVAL);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "g", "", NULL, NULL, 0, &f), HG_EINVAL);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "g", NULL, NULL, NULL, 0, &f), HG_EINVAL);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "g", "h", bad_lab, NULL, 0, &f), HG_EINVAL);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "g", "h", dup_lab, NULL, 0, &f), HG_EINVAL);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "g", "h", many, NULL, 0, &f), HG_EINVAL);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "g", "h", digit_lab, NULL, 0, &f), HG_EINVAL);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "g", "h", NULL, asc, 3, &f), HG_EINVAL);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_HISTOGRAM, "h", "h", le_lab, asc, 3, &f), HG_EINVAL);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_HISTOGRAM, "h", "h", NULL, desc, 2, &f), HG_EINVAL);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_HISTOGRAM, "h", "h", NULL, inf, 2, &f), HG_EINVAL);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_HISTOGRAM, "h", "h", NULL, asc, HG_METRICS_MAX_BUCKETS + 1, &f), HG_EINVAL);
    assert_int_equal(hg_metrics_register(m, (enum hg_metric_kind)7, "x", "h", NULL, NULL, 0, &f), HG_EINVAL);

    assert_int_equal(hg_metrics_register(m, HG_METRIC_COUNTER, "ok_total", "h", lab, NULL, 0, &f), HG_OK);
    assert_non_null(f);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_COUNTER, "ok_total", "h", lab, NULL, 0, &f), HG_EEXIST);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_HISTOGRAM, "lat", "h", lab, asc, 3, &f), HG_OK);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "lat_count", "h", NULL, NULL, 0, &f), HG_EEXIST);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "lat_bucket", "h", NULL, NULL, 0, &f), HG_EEXIST);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "lat_sum", "h", NULL, NULL, 0, &f), HG_EEXIST);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "lat_other", "h", NULL, NULL, 0, &f), HG_OK);
    /* and the other way round: a histogram whose samples would collide */
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "q_sum", "h", NULL, NULL, 0, &f), HG_OK);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_HISTOGRAM, "q", "h", NULL, NULL, 0, &f), HG_EEXIST);
    assert_null(f);
    hg_metrics_free(m);
    hg_metrics_free(NULL);
}

static void counter_and_gauge_text(void **state)
{
    (void)state;
    struct hg_metrics *m;
    struct hg_metric *c, *g, *plain;
    assert_int_equal(hg_metrics_new(&m), HG_OK);
    const char *lab[] = {"route", "code", NULL};
    assert_int_equal(hg_metrics_register(m, HG_METRIC_COUNTER, "req_total", "Requests.", lab, NULL, 0, &c), HG_OK);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "conns", "Open\\connections\nnow.", NULL, NULL, 0, &g), HG_OK);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "temp", "T.", NULL, NULL, 0, &plain), HG_OK);

    const char *a[] = {"/v1/tenders", "200"};
    const char *b[] = {"/v1/tenders", "404"};
    hg_metric_inc(c, a, 1);
    hg_metric_inc(c, a, 2);
    hg_metric_inc(c, b, 0.5);
    hg_metric_inc(c, b, -3);       /* ignored: counters never go down */
    hg_metric_inc(c, b, NAN);      /* ignored */
    hg_metric_set(c, b, 100);      /* ignored: not a gauge */
    hg_metric_observe(c, b, 1);    /* ignored: not a histogram */
    hg_metric_set(g, NULL, 7);
    hg_metric_inc(g, NULL, -2);
    hg_metric_set(plain, NULL, 0.1);

    double v = 0;
    assert_int_equal(hg_metric_get(c, a, &v), HG_OK);
    assert_true(v == 3.0);
    assert_int_equal(hg_metric_get(c, b, &v), HG_OK);
    assert_true(v == 0.5);
    const char *none[] = {"/nope", "500"};
    assert_int_equal(hg_metric_get(c, none, &v), HG_ENOTFOUND);
    assert_int_equal(hg_metric_get(g, NULL, &v), HG_OK);
    assert_true(v == 5.0);

    char *s = render(m);
    assert_string_equal(s,
                        "# HELP req_total Requests.\n"
                        "# TYPE req_total counter\n"
                        "req_total{route=\"/v1/tenders\",code=\"200\"} 3\n"
                        "req_total{route=\"/v1/tenders\",code=\"404\"} 0.5\n"
                        "# HELP conns Open\\\\connections\\nnow.\n"
                        "# TYPE conns gauge\n"
                        "conns 5\n"
                        "# HELP temp T.\n"
                        "# TYPE temp gauge\n"
                        "temp 0.1\n");
    free(s);
    hg_metrics_free(m);
}

static void histogram_text(void **state)
{
    (void)state;
    struct hg_metrics *m;
    struct hg_metric *h, *d;
    assert_int_equal(hg_metrics_new(&m), HG_OK);
    const char *lab[] = {"route", NULL};
    double bk[] = {0.1, 0.5, 1};
    assert_int_equal(hg_metrics_register(m, HG_METRIC_HISTOGRAM, "dur_seconds", "D.", lab, bk, 3, &h), HG_OK);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_HISTOGRAM, "plain_seconds", "P.", NULL, NULL, 0, &d), HG_OK);
    const char *r[] = {"x"};
    hg_metric_observe(h, r, 0.05);
    hg_metric_observe(h, r, 0.1);  /* le is inclusive */
    hg_metric_observe(h, r, 0.7);
    hg_metric_observe(h, r, 3);
    hg_metric_observe(h, r, NAN);  /* ignored */
    hg_metric_inc(h, r, 1);        /* ignored */
    hg_metric_observe(d, NULL, 2);
    double v;
    assert_int_equal(hg_metric_get(h, r, &v), HG_OK);
    assert_true(v == 4.0);

    char *s = render(m);
    assert_string_equal(s,
                        "# HELP dur_seconds D.\n"
                        "# TYPE dur_seconds histogram\n"
                        "dur_seconds_bucket{route=\"x\",le=\"0.1\"} 2\n"
                        "dur_seconds_bucket{route=\"x\",le=\"0.5\"} 2\n"
                        "dur_seconds_bucket{route=\"x\",le=\"1\"} 3\n"
                        "dur_seconds_bucket{route=\"x\",le=\"+Inf\"} 4\n"
                        "dur_seconds_sum{route=\"x\"} 3.85\n"
                        "dur_seconds_count{route=\"x\"} 4\n"
                        "# HELP plain_seconds P.\n"
                        "# TYPE plain_seconds histogram\n"
                        "plain_seconds_bucket{le=\"0.005\"} 0\n"
                        "plain_seconds_bucket{le=\"0.01\"} 0\n"
                        "plain_seconds_bucket{le=\"0.025\"} 0\n"
                        "plain_seconds_bucket{le=\"0.05\"} 0\n"
                        "plain_seconds_bucket{le=\"0.1\"} 0\n"
                        "plain_seconds_bucket{le=\"0.25\"} 0\n"
                        "plain_seconds_bucket{le=\"0.5\"} 0\n"
                        "plain_seconds_bucket{le=\"1\"} 0\n"
                        "plain_seconds_bucket{le=\"2.5\"} 1\n"
                        "plain_seconds_bucket{le=\"5\"} 1\n"
                        "plain_seconds_bucket{le=\"10\"} 1\n"
                        "plain_seconds_bucket{le=\"+Inf\"} 1\n"
                        "plain_seconds_sum 2\n"
                        "plain_seconds_count 1\n");
    free(s);
    hg_metrics_free(m);
}

static void escaping_and_numbers(void **state)
{
    (void)state;
    struct hg_metrics *m;
    struct hg_metric *g;
    assert_int_equal(hg_metrics_new(&m), HG_OK);
    const char *lab[] = {"v", NULL};
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "g", "G.", lab, NULL, 0, &g), HG_OK);
    const char *q[] = {"a\"b\\c\nd"};
    const char *pinf[] = {"pinf"};
    const char *ninf[] = {"ninf"};
    const char *nan_[] = {"nan"};
    const char *big[] = {"big"};
    const char *tiny[] = {"tiny"};
    const char *neg[] = {"neg"};
    const char *utf[] = {"caf\xc3\xa9"};
    const char *empty[] = {""};
    hg_metric_set(g, q, 1);
    hg_metric_set(g, pinf, INFINITY);
    hg_metric_set(g, ninf, -INFINITY);
    hg_metric_set(g, nan_, NAN);
    hg_metric_set(g, big, 1e20);
    hg_metric_set(g, tiny, 5e-324);
    hg_metric_set(g, neg, -0.3);
    hg_metric_set(g, utf, 2);
    hg_metric_set(g, empty, 3);
    char *s = render(m);
    assert_string_equal(s,
                        "# HELP g G.\n"
                        "# TYPE g gauge\n"
                        "g{v=\"a\\\"b\\\\c\\nd\"} 1\n"
                        "g{v=\"pinf\"} +Inf\n"
                        "g{v=\"ninf\"} -Inf\n"
                        "g{v=\"nan\"} NaN\n"
                        "g{v=\"big\"} 1e+20\n"
                        "g{v=\"tiny\"} 4.94065645841247e-324\n"
                        "g{v=\"neg\"} -0.3\n"
                        "g{v=\"caf\xc3\xa9\"} 2\n"
                        "g{v=\"\"} 3\n");
    free(s);
    hg_metrics_free(m);

    /* shortest round trip */
    char out[OBS__DBL_MAX_LEN + 1];
    double samples[] = {0.1, 1.0 / 3, 123456789012345680.0, -2.2250738585072014e-308, 0.3 - 0.1,
                        1e-7, 42};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        obs__fmt_double(samples[i], out);
        assert_true(strtod(out, NULL) == samples[i]);
        assert_null(strchr(out, ','));
    }
    assert_int_equal(obs__fmt_double(0.1, out), 3);
    assert_string_equal(out, "0.1");
    obs__fmt_double(0.3 - 0.1, out);
    assert_string_equal(out, "0.19999999999999998");
}

static void overflow_series(void **state)
{
    (void)state;
    struct hg_metrics *m;
    struct hg_metric *c;
    assert_int_equal(hg_metrics_new(&m), HG_OK);
    const char *lab[] = {"path", "code", NULL};
    assert_int_equal(hg_metrics_register(m, HG_METRIC_COUNTER, "odd_total", "O.", lab, NULL, 0, &c), HG_OK);
    char path[32];
    for (int i = 0; i < HG_METRICS_MAX_SERIES + 100; i++) {
        snprintf(path, sizeof path, "/p/%d", i);
        const char *v[] = {path, "200"};
        hg_metric_inc(c, v, 1);
        hg_metric_inc(c, v, 1);
    }
    /* invalid UTF-8 and over-long values go to overflow even with room */
    const char *ov[] = {"_overflow", "_overflow"};
    double v = 0;
    assert_int_equal(hg_metric_get(c, ov, &v), HG_OK);
    assert_true(v == 200.0);
    const char *last_ok[] = {"/p/511", "200"};
    assert_int_equal(hg_metric_get(c, last_ok, &v), HG_OK);
    assert_true(v == 2.0);
    const char *first_over[] = {"/p/512", "200"};
    assert_int_equal(hg_metric_get(c, first_over, &v), HG_ENOTFOUND);

    char *s = render(m);
    size_t lines = 0;
    for (char *p = s; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2 + HG_METRICS_MAX_SERIES + 1);
    assert_non_null(strstr(s, "odd_total{path=\"_overflow\",code=\"_overflow\"} 200\n"));
    free(s);
    hg_metrics_free(m);

    /* with room left: bad values are diverted, and a literal "_overflow"
     * tuple is the same series, never a duplicate line */
    assert_int_equal(hg_metrics_new(&m), HG_OK);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_COUNTER, "odd_total", "O.", lab, NULL, 0, &c), HG_OK);
    hg_metric_inc(c, ov, 1);
    const char *bad_utf8[] = {"/\xff\xfe", "200"};
    hg_metric_inc(c, bad_utf8, 1);
    const char *overlong[] = {"/\xc0\xaf", "200"};
    hg_metric_inc(c, overlong, 1);
    char longv[HG_METRICS_MAX_LABEL_VALUE + 2];
    memset(longv, 'a', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    const char *too_long[] = {longv, "200"};
    hg_metric_inc(c, too_long, 1);
    longv[HG_METRICS_MAX_LABEL_VALUE] = '\0'; /* exactly the maximum: accepted */
    hg_metric_inc(c, too_long, 1);
    assert_int_equal(hg_metric_get(c, ov, &v), HG_OK);
    assert_true(v == 4.0);
    assert_int_equal(hg_metric_get(c, too_long, &v), HG_OK);
    assert_true(v == 1.0);
    s = render(m);
    assert_int_equal(strstr(s, "_overflow\"} 4\n") != NULL, 1);
    assert_null(strstr(strstr(s, "_overflow\"} 4\n") + 1, "_overflow\"}"));
    free(s);
    hg_metrics_free(m);
}

static void render_all_or_nothing(void **state)
{
    (void)state;
    struct hg_metrics *m;
    struct hg_metric *g;
    assert_int_equal(hg_metrics_new(&m), HG_OK);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "g", "A gauge.", NULL, NULL, 0, &g), HG_OK);
    struct hg_buf b;
    hg_buf_init(&b, 20);
    assert_int_equal(hg_buf_puts(&b, "keep"), HG_OK);
    assert_int_equal(hg_metrics_render(m, &b), HG_ETOOBIG);
    assert_string_equal(b.data, "keep");
    assert_int_equal(hg_metrics_render(NULL, &b), HG_EINVAL);
    hg_buf_cleanup(&b);
    hg_metrics_free(m);
}

/* ---- concurrency ---------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 250000

struct worker {
    struct hg_metric *c, *h, *g;
    int id;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    const char *same[] = {"/v1/tenders", "200"};
    char own[16];
    snprintf(own, sizeof own, "t%d", w->id);
    for (int i = 0; i < PER_THREAD; i++) {
        hg_metric_inc(w->c, same, 1);
        if (i % 1000 == 0) {
            /* new series created concurrently with lock-free readers */
            char path[32];
            snprintf(path, sizeof path, "/n/%d/%d", w->id, i / 1000);
            const char *v[] = {path, own};
            hg_metric_inc(w->c, v, 1);
            const char *hv[] = {own};
            hg_metric_observe(w->h, hv, (double)(i % 7) / 10);
            hg_metric_inc(w->g, NULL, 1);
        }
    }
    return NULL;
}

static void four_threads_exact(void **state)
{
    (void)state;
    struct hg_metrics *m;
    struct hg_metric *c, *h, *g;
    assert_int_equal(hg_metrics_new(&m), HG_OK);
    const char *lab[] = {"route", "code", NULL};
    const char *hl[] = {"t", NULL};
    assert_int_equal(hg_metrics_register(m, HG_METRIC_COUNTER, "req_total", "R.", lab, NULL, 0, &c), HG_OK);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_HISTOGRAM, "d_seconds", "D.", hl, NULL, 0, &h), HG_OK);
    assert_int_equal(hg_metrics_register(m, HG_METRIC_GAUGE, "inflight", "I.", NULL, NULL, 0, &g), HG_OK);
    pthread_t t[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){c, h, g, i};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    /* render concurrently with the writers: must not crash or race */
    for (int i = 0; i < 5; i++) {
        char *s = render(m);
        assert_non_null(strstr(s, "# TYPE req_total counter"));
        free(s);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    const char *same[] = {"/v1/tenders", "200"};
    double v = 0;
    assert_int_equal(hg_metric_get(c, same, &v), HG_OK);
    assert_true(v == (double)THREADS * PER_THREAD);
    assert_int_equal(hg_metric_get(g, NULL, &v), HG_OK);
    assert_true(v == (double)THREADS * (PER_THREAD / 1000));
    for (int i = 0; i < THREADS; i++) {
        char own[16];
        snprintf(own, sizeof own, "t%d", i);
        const char *hv[] = {own};
        assert_int_equal(hg_metric_get(h, hv, &v), HG_OK);
        assert_true(v == PER_THREAD / 1000);
    }
    hg_metrics_free(m);
}

static void million_updates(void **state)
{
    (void)state;
    struct hg_metrics *m;
    struct hg_metric *c;
    assert_int_equal(hg_metrics_new(&m), HG_OK);
    const char *lab[] = {"route", "code", NULL};
    assert_int_equal(hg_metrics_register(m, HG_METRIC_COUNTER, "req_total", "R.", lab, NULL, 0, &c), HG_OK);
    const char *v[] = {"/v1/tenders/{id}", "201"};
    for (int i = 0; i < 1000000; i++)
        hg_metric_inc(c, v, 1);
    double got = 0;
    assert_int_equal(hg_metric_get(c, v, &got), HG_OK);
    assert_true(got == 1000000.0);
    hg_metrics_free(m);
}

/* ---- dump mode for promtool ----------------------------------------------- */

static int dump(const char *path)
{
    struct hg_metrics *m = NULL;
    struct hg_metric *req, *dur, *tls, *exp, *info, *conns;
    const char *rc_lab[] = {"route", "code", NULL};
    const char *r_lab[] = {"route", NULL};
    const char *reason[] = {"reason", NULL};
    const char *cert[] = {"cert", NULL};
    const char *bi[] = {"version", "revision", NULL};
    double bk[] = {0.001, 0.01, 0.1, 1, 10};
    int ok = hg_metrics_new(&m) == HG_OK &&
             hg_metrics_register(m, HG_METRIC_COUNTER, "haulgate_http_requests_total",
                                 "HTTP requests by route and status code.", rc_lab, NULL, 0, &req) == HG_OK &&
             hg_metrics_register(m, HG_METRIC_HISTOGRAM, "haulgate_http_request_duration_seconds",
                                 "Request latency \\ with a backslash\nand a newline in help.", r_lab, bk, 5, &dur) == HG_OK &&
             hg_metrics_register(m, HG_METRIC_COUNTER, "haulgate_tls_handshake_failures_total",
                                 "Failed TLS handshakes by reason.", reason, NULL, 0, &tls) == HG_OK &&
             hg_metrics_register(m, HG_METRIC_GAUGE, "haulgate_cert_expiry_timestamp_seconds",
                                 "Certificate notAfter as a Unix time.", cert, NULL, 0, &exp) == HG_OK &&
             hg_metrics_register(m, HG_METRIC_GAUGE, "haulgate_build_info",
                                 "Build version and revision; value is always 1.", bi, NULL, 0, &info) == HG_OK &&
             hg_metrics_register(m, HG_METRIC_GAUGE, "haulgate_http_connections",
                                 "Open HTTP connections.", NULL, NULL, 0, &conns) == HG_OK;
    if (!ok) {
        fprintf(stderr, "test_metrics: building the dump registry failed\n");
        hg_metrics_free(m);
        return 1;
    }
    const char *tricky[] = {"/v1/tenders/\"quoted\"", "/back\\slash", "/new\nline", "", "caf\xc3\xa9 \xe2\x9c\x93",
                            "/\xff-invalid", "_overflow", "{}=,"};
    for (size_t i = 0; i < sizeof tricky / sizeof tricky[0]; i++) {
        const char *v2[] = {tricky[i], "200"};
        const char *v1[] = {tricky[i]};
        hg_metric_inc(req, v2, (double)i + 1);
        hg_metric_observe(dur, v1, 0.0005 * (double)(i + 1));
        hg_metric_observe(dur, v1, 42);
        hg_metric_inc(tls, v1, 1);
        hg_metric_set(exp, v1, 1.7e9 + (double)i);
    }
    const char *neg[] = {"negative"}, *pinf[] = {"inf"}, *ninf[] = {"-inf"}, *nan_[] = {"nan"};
    hg_metric_set(exp, neg, -1.5e-7);
    hg_metric_set(exp, pinf, INFINITY);
    hg_metric_set(exp, ninf, -INFINITY);
    hg_metric_set(exp, nan_, NAN);
    const char *ver[] = {"0.1.0", "abc123-dirty"};
    hg_metric_set(info, ver, 1);
    hg_metric_set(conns, NULL, 3);
    struct hg_buf b;
    hg_buf_init(&b, RENDER_MAX);
    int rc = 1;
    FILE *fp = NULL;
    if (hg_metrics_render(m, &b) != HG_OK) {
        fprintf(stderr, "test_metrics: render failed\n");
        goto out;
    }
    fp = fopen(path, "w");
    if (!fp || fwrite(b.data, 1, b.len, fp) != b.len || fclose(fp) != 0) {
        fprintf(stderr, "test_metrics: cannot write %s\n", path);
        fp = NULL;
        goto out;
    }
    fp = NULL;
    rc = 0;
out:
    if (fp)
        fclose(fp);
    hg_buf_cleanup(&b);
    hg_metrics_free(m);
    return rc;
}

int main(void)
{
    const char *path = getenv("HG_METRICS_DUMP");
    if (path && *path)
        return dump(path);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registration_rules),
        cmocka_unit_test(counter_and_gauge_text),
        cmocka_unit_test(histogram_text),
        cmocka_unit_test(escaping_and_numbers),
        cmocka_unit_test(overflow_series),
        cmocka_unit_test(render_all_or_nothing),
        cmocka_unit_test(four_threads_exact),
        cmocka_unit_test(million_updates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
