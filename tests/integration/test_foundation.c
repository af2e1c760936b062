/* SPDX-License-Identifier: Apache-2.0
 *
 * test_foundation.c — a real haulgated over mTLS: who may connect, what it
 * answers, how it fails, and how it reloads and stops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "integration/harness.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int setup(void **state)
{
    return hg_it_fixture(state, NULL);
}

static int teardown(void **state)
{
    return hg_it_fixture_free(state);
}

static json_t *body_json(const struct hg_it_resp *r)
{
    json_error_t e;
    return json_loads(r->body, 0, &e);
}

/* Every error body is RFC 9457 with our members. */
static void assert_problem(const struct hg_it_resp *r, long status, const char *slug)
{
    assert_int_equal(r->status, status);
    char ct[128];
    assert_non_null(hg_it_resp_header(r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "application/problem+json");
    json_t *o = body_json(r);
    assert_non_null(o);
    char want[160];
    snprintf(want, sizeof want, "https://haulgate.dev/problems/%s", slug);
    assert_string_equal(json_string_value(json_object_get(o, "type")), want);
    assert_int_equal(json_integer_value(json_object_get(o, "status")), status);
    assert_non_null(json_string_value(json_object_get(o, "title")));
    assert_non_null(json_string_value(json_object_get(o, "detail")));
    assert_non_null(json_string_value(json_object_get(o, "correlation_id")));
    json_decref(o);
}

static void whoami_shows_identity(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_resp r;
    assert_int_equal(hg_it_request(it, NULL, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *o = body_json(&r);
    assert_non_null(o);
    json_t *p = json_object_get(o, "principal");
    assert_string_equal(json_string_value(json_object_get(p, "name")), "tms");
    assert_string_equal(json_string_value(json_object_get(p, "tenant")), "acme");
    assert_string_equal(json_string_value(json_array_get(json_object_get(p, "roles"), 0)), "tms");
    json_t *c = json_object_get(o, "certificate");
    assert_string_equal(json_string_value(json_object_get(c, "subject_cn")), "tms");
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "san_uris"), 0)),
                        "spiffe://haulgate.dev/tms");
    assert_int_equal(strlen(json_string_value(json_object_get(c, "x5t#S256"))), 43);
    char cid[200];
    assert_non_null(hg_it_resp_header(&r, "X-Correlation-ID", cid, sizeof cid));
    assert_string_equal(json_string_value(json_object_get(o, "correlation_id")), cid);
    json_decref(o);
    hg_it_resp_free(&r);
}

static void correlation_and_trace(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_resp r;
    const char *h[] = {"X-Correlation-ID: order-42:retry.1",
                       "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                       NULL};
    assert_int_equal(hg_it_request(it, NULL, "tms", "GET", "/v1/whoami", h, NULL, 0, &r), 0);
    char v[200];
    assert_string_equal(hg_it_resp_header(&r, "X-Correlation-ID", v, sizeof v), "order-42:retry.1");
    assert_non_null(hg_it_resp_header(&r, "traceparent", v, sizeof v));
    assert_memory_equal(v, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36);
    assert_true(strncmp(v + 36, "00f067aa0ba902b7", 16) != 0); /* our own span */
    hg_it_resp_free(&r);

    /* invalid correlation id and traceparent: replaced, not echoed */
    const char *bad[] = {"X-Correlation-ID: has space", "traceparent: 00-zz-00-01", NULL};
    assert_int_equal(hg_it_request(it, NULL, "tms", "GET", "/v1/whoami", bad, NULL, 0, &r), 0);
    assert_non_null(hg_it_resp_header(&r, "X-Correlation-ID", v, sizeof v));
    assert_int_equal(strlen(v), 36); /* a UUIDv7 */
    assert_int_equal(v[14], '7');
    assert_non_null(hg_it_resp_header(&r, "traceparent", v, sizeof v));
    assert_int_equal(strlen(v), 55);
    hg_it_resp_free(&r);
}

static void no_client_cert_refused(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_resp r;
    assert_int_not_equal(hg_it_request(it, NULL, NULL, "GET", "/v1/whoami", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 0); /* no HTTP at all */
    hg_it_resp_free(&r);
}

static void foreign_ca_refused(void **state)
{
    struct hg_it *it = *state;
    char other[400];
    snprintf(other, sizeof other, "%s/other-pki", it->dir);
    char *argv[] = {(char *)hg_it_bin("haulctl"), "pki", "init", other, NULL};
    assert_int_equal(hg_it_run(argv), 0);
    struct hg_it_opts o = {.client_dir = other};
    struct hg_it_resp r;
    assert_int_not_equal(
        hg_it_request_opts(it, NULL, &o, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 0);
    hg_it_resp_free(&r);
}

static void tls12_refused(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_opts o = {.tls12_only = 1};
    struct hg_it_resp r;
    assert_int_not_equal(
        hg_it_request_opts(it, NULL, &o, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 0);
    hg_it_resp_free(&r);
}

static void unmapped_cert_forbidden(void **state)
{
    struct hg_it *it = *state;
    assert_int_equal(hg_it_pki(it, "issue", "stranger", NULL), 0);
    struct hg_it_resp r;
    assert_int_equal(hg_it_request(it, NULL, "stranger", "GET", "/v1/whoami", NULL, NULL, 0, &r), 0);
    assert_problem(&r, 403, "unknown-client");
    json_t *o = body_json(&r);
    json_t *id = json_object_get(o, "identity");
    assert_string_equal(json_string_value(json_object_get(id, "subject_cn")), "stranger");
    assert_non_null(strstr(json_string_value(json_object_get(o, "detail")), "stranger"));
    json_decref(o);
    hg_it_resp_free(&r);
}

static void not_found_and_method(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_resp r;
    assert_int_equal(hg_it_request(it, NULL, "tms", "GET", "/v1/nothing", NULL, NULL, 0, &r), 0);
    assert_problem(&r, 404, "not-found");
    hg_it_resp_free(&r);
    assert_int_equal(hg_it_request(it, NULL, "tms", "DELETE", "/v1/whoami", NULL, NULL, 0, &r), 0);
    assert_problem(&r, 405, "method-not-allowed");
    char allow[64];
    assert_string_equal(hg_it_resp_header(&r, "Allow", allow, sizeof allow), "GET");
    hg_it_resp_free(&r);
}

static void oversize_head_431(void **state)
{
    struct hg_it *it = *state;
    size_t n = 20000;
    char *big = malloc(n + 16);
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'a', n);
    big[7 + n] = '\0';
    const char *h[] = {big, NULL};
    struct hg_it_resp r;
    assert_int_equal(hg_it_request(it, NULL, "tms", "GET", "/v1/whoami", h, NULL, 0, &r), 0);
    assert_problem(&r, 431, "headers-too-large");
    hg_it_resp_free(&r);
    free(big);
    /* too many header fields is 431 as well */
    const char *many[130];
    char store[120][24];
    for (int i = 0; i < 120; i++) {
        snprintf(store[i], sizeof store[i], "X-H%d: v", i);
        many[i] = store[i];
    }
    many[120] = NULL;
    assert_int_equal(hg_it_request(it, NULL, "tms", "GET", "/v1/whoami", many, NULL, 0, &r), 0);
    assert_problem(&r, 431, "headers-too-large");
    hg_it_resp_free(&r);
}

static void oversize_body_413(void **state)
{
    struct hg_it *it = *state;
    size_t n = (1u << 20) + 1;
    char *body = malloc(n);
    memset(body, '{', n);
    struct hg_it_resp r;
    const char *h[] = {"Content-Type: application/json", NULL};
    assert_int_equal(hg_it_request(it, NULL, "tms", "POST", "/v1/whoami", h, body, n, &r), 0);
    assert_problem(&r, 413, "body-too-large");
    hg_it_resp_free(&r);
    free(body);
    /* still serving */
    assert_int_equal(hg_it_request(it, NULL, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
}

static void malformed_http_400(void **state)
{
    struct hg_it *it = *state;
    int fd;
    SSL *ssl = hg_it_tls(it, "tms", &fd);
    assert_non_null(ssl);
    const char req[] = "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n";
    assert_int_equal(SSL_write(ssl, req, sizeof req - 1), (int)sizeof req - 1);
    char buf[4096];
    hg_it_tls_read_all(ssl, buf, sizeof buf, 3000);
    assert_memory_equal(buf, "HTTP/1.1 400 ", 13);
    assert_non_null(strstr(buf, "application/problem+json"));
    assert_non_null(strstr(buf, "Connection: close"));
    hg_it_tls_close(ssl, fd);
}

static void garbage_does_not_crash(void **state)
{
    struct hg_it *it = *state;
    /* plain HTTP to the TLS port */
    int fd = hg_it_tcp(it, it->api_port);
    assert_true(fd >= 0);
    const char plain[] = "GET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(write(fd, plain, sizeof plain - 1), (ssize_t)sizeof plain - 1);
    char buf[512];
    (void)!read(fd, buf, sizeof buf);
    close(fd);
    /* random bytes */
    srand(7);
    for (int round = 0; round < 20; round++) {
        fd = hg_it_tcp(it, it->api_port);
        assert_true(fd >= 0);
        unsigned char junk[2048];
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (unsigned char)rand();
        if (round % 2)
            junk[0] = 0x16; /* looks like a TLS record */
        (void)!write(fd, junk, sizeof junk);
        close(fd);
    }
    /* garbage inside an authenticated TLS session */
    int tfd;
    SSL *ssl = hg_it_tls(it, "tms", &tfd);
    assert_non_null(ssl);
    unsigned char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)rand();
    SSL_write(ssl, junk, sizeof junk);
    char out[4096];
    hg_it_tls_read_all(ssl, out, sizeof out, 3000);
    hg_it_tls_close(ssl, tfd);
    assert_true(hg_it_alive(it));
    struct hg_it_resp r;
    assert_int_equal(hg_it_request(it, NULL, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
}

static void slow_head_times_out(void **state)
{
    struct hg_it *it = *state; /* header_timeout is 3 s in the test config */
    int fd;
    SSL *ssl = hg_it_tls(it, "tms", &fd);
    assert_non_null(ssl);
    const char part[] = "GET /v1/whoami HTTP/1.1\r\nHost: x\r\n";
    SSL_write(ssl, part, sizeof part - 1);
    time_t t0 = time(NULL);
    char buf[4096];
    for (int i = 0; i < 6; i++) { /* trickle: keeps the socket busy, not the head */
        sleep_ms(700);
        if (SSL_write(ssl, "X-A: b\r\n", 8) <= 0)
            break;
    }
    hg_it_tls_read_all(ssl, buf, sizeof buf, 6000);
    assert_true(time(NULL) - t0 <= 9);
    assert_memory_equal(buf, "HTTP/1.1 408 ", 13);
    assert_non_null(strstr(buf, "request-timeout"));
    ERR_clear_error();
    hg_it_tls_close(ssl, fd);
}

static void keepalive_and_pipelining(void **state)
{
    struct hg_it *it = *state;
    int fd;
    char tok[4096], two[9000];
    assert_int_equal(hg_it_bearer(it, "tms", tok, sizeof tok), 0);
    int n = snprintf(two, sizeof two,
                     "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                     "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     "Connection: close\r\n\r\n",
                     tok, tok);
    SSL *ssl = hg_it_tls(it, "tms", &fd);
    assert_non_null(ssl);
    SSL_write(ssl, two, n);
    static char buf[65536];
    hg_it_tls_read_all(ssl, buf, sizeof buf, 3000);
    char *first = strstr(buf, "HTTP/1.1 200 ");
    assert_non_null(first);
    assert_non_null(strstr(first + 1, "HTTP/1.1 200 "));
    hg_it_tls_close(ssl, fd);
}

/* A resumed TLS 1.3 session still carries the client certificate, so the
 * principal is the same without a full handshake. */
static void resumption_keeps_identity(void **state)
{
    struct hg_it *it = *state;
    char tok[4096], req[4300];
    assert_int_equal(hg_it_bearer(it, "tms", tok, sizeof tok), 0);
    snprintf(req, sizeof req,
             "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Connection: close\r\n\r\n",
             tok);
    static char buf[16384];
    int fd;
    SSL *ssl = hg_it_tls(it, "tms", &fd);
    assert_non_null(ssl);
    SSL_write(ssl, req, (int)strlen(req));
    hg_it_tls_read_all(ssl, buf, sizeof buf, 3000); /* the ticket arrives with the data */
    SSL_SESSION *sess = SSL_get1_session(ssl);
    assert_non_null(sess);
    assert_true(SSL_SESSION_is_resumable(sess));
    hg_it_tls_close(ssl, fd);

    ssl = hg_it_tls_resume(it, "tms", &fd, sess);
    assert_non_null(ssl);
    assert_int_equal(SSL_session_reused(ssl), 1);
    SSL_write(ssl, req, (int)strlen(req));
    hg_it_tls_read_all(ssl, buf, sizeof buf, 3000);
    assert_memory_equal(buf, "HTTP/1.1 200 ", 13);
    assert_non_null(strstr(buf, "\"name\":\"tms\""));
    assert_non_null(strstr(buf, "spiffe://haulgate.dev/tms"));
    hg_it_tls_close(ssl, fd);
    SSL_SESSION_free(sess);
}

static void admin_endpoints(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_opts o = {.admin = 1};
    struct hg_it_resp r;
    assert_int_equal(hg_it_request_opts(it, NULL, &o, NULL, "GET", "/healthz", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
    assert_int_equal(hg_it_request_opts(it, NULL, &o, NULL, "GET", "/readyz", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
    /* make sure some traffic is counted, then check the families */
    struct hg_it_resp w;
    hg_it_request(it, NULL, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &w);
    hg_it_resp_free(&w);
    assert_int_equal(hg_it_request_opts(it, NULL, &o, NULL, "GET", "/metrics", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "haulgate_http_requests_total{route=\"/v1/whoami\",code=\"200\"}"));
    assert_non_null(strstr(r.body, "haulgate_http_request_duration_seconds_bucket{route=\"/v1/whoami\""));
    assert_non_null(strstr(r.body, "haulgate_tls_handshake_failures_total{reason="));
    assert_non_null(strstr(r.body, "haulgate_cert_expiry_timestamp_seconds{cert=\"server\"}"));
    assert_non_null(strstr(r.body, "haulgate_cert_expiry_timestamp_seconds{cert=\"client:tms\"}"));
    assert_non_null(strstr(r.body, "haulgate_build_info{"));
    /* promtool, when installed, must accept it */
    if (system("command -v promtool >/dev/null 2>&1") == 0) {
        char path[400], cmd[600];
        snprintf(path, sizeof path, "%s/metrics.txt", it->dir);
        FILE *f = fopen(path, "w");
        fwrite(r.body, 1, r.body_len, f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "promtool check metrics < %s >/dev/null 2>&1", path);
        assert_int_equal(system(cmd), 0);
    }
    hg_it_resp_free(&r);
}

static void request_log_lines(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_resp r;
    const char *h[] = {"X-Correlation-ID: log-check-1", NULL};
    hg_it_request(it, NULL, "tms", "GET", "/v1/whoami", h, NULL, 0, &r);
    hg_it_resp_free(&r);
    sleep_ms(100);
    char *log = hg_it_log(it);
    char *line = strstr(log, "\"log-check-1\"");
    assert_non_null(line);
    while (line > log && line[-1] != '\n')
        line--;
    char *end = strchr(line, '\n');
    assert_non_null(end);
    *end = '\0';
    json_error_t e;
    json_t *o = json_loads(line, 0, &e);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "principal")), "tms");
    assert_string_equal(json_string_value(json_object_get(o, "route")), "/v1/whoami");
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 200);
    assert_true(json_is_integer(json_object_get(o, "duration_us")));
    assert_int_equal(strlen(json_string_value(json_object_get(o, "trace_id"))), 32);
    json_decref(o);
    /* never a private key or a whole certificate */
    assert_null(strstr(log, "PRIVATE KEY"));
    assert_null(strstr(log, "BEGIN CERTIFICATE"));
    free(log);
}

/* Last in the shared group: a clean stop, exit 0, and (in the sanitizer
 * build) no report from ASan/UBSan/LSan in the daemon's own output. */
static void clean_shutdown(void **state)
{
    struct hg_it *it = *state;
    assert_int_equal(hg_it_stop(it), 0);
    char *log = hg_it_log(it);
    assert_null(strstr(log, "Sanitizer"));
    assert_null(strstr(log, "runtime error"));
    assert_non_null(strstr(log, "haulgated stopped"));
    free(log);
}

/* ---- tests that restart or signal the daemon get their own ---- */

static void revoked_after_sighup(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_resp r;
    assert_int_equal(hg_it_request(it, NULL, "operator", "GET", "/v1/whoami", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
    assert_int_equal(hg_it_pki(it, "revoke", "operator", NULL), 0);
    assert_int_equal(hg_it_signal(it, SIGHUP), 0);
    int refused = 0;
    for (int i = 0; i < 50 && !refused; i++) {
        sleep_ms(100);
        refused = hg_it_request(it, NULL, "operator", "GET", "/v1/whoami", NULL, NULL, 0, &r) != 0;
        hg_it_resp_free(&r);
    }
    assert_true(refused);
    /* others unaffected */
    assert_int_equal(hg_it_request(it, NULL, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
    char *log = hg_it_log(it);
    assert_non_null(strstr(log, "cert_revoked"));
    free(log);
}

static long cert_serial_seen(struct hg_it *it, CURL *c, char *serial, size_t cap)
{
    struct hg_it_resp r;
    curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
    long rc = hg_it_request(it, c, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &r);
    long connects = r.connects;
    if (rc != 0)
        fprintf(stderr, "request failed: %s\n", r.error);
    serial[0] = '\0';
    struct curl_certinfo *ci = NULL;
    if (rc == 0 && curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) == CURLE_OK && ci &&
        ci->num_of_certs > 0) {
        for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next)
            if (!strncmp(s->data, "Serial Number:", 14))
                snprintf(serial, cap, "%s", s->data + 14);
    }
    hg_it_resp_free(&r);
    return rc == 0 ? connects : -1;
}

static void rotation_keeps_connections(void **state)
{
    struct hg_it *it = *state;
    CURL *keep = curl_easy_init();
    char s1[128], s2[128], s3[128];
    assert_int_equal(cert_serial_seen(it, keep, s1, sizeof s1), 1);
    assert_true(s1[0] != '\0');
    /* a new server certificate in place of the old one, then SIGHUP */
    assert_int_equal(hg_it_pki(it, "issue", "server2", "--server --dns localhost"), 0);
    char from[400], to[400];
    snprintf(from, sizeof from, "%s/server2.crt", it->pki);
    snprintf(to, sizeof to, "%s/server.crt", it->pki);
    assert_int_equal(rename(from, to), 0);
    snprintf(from, sizeof from, "%s/server2.key", it->pki);
    snprintf(to, sizeof to, "%s/server.key", it->pki);
    assert_int_equal(rename(from, to), 0);
    assert_int_equal(hg_it_signal(it, SIGHUP), 0);
    sleep_ms(300);
    /* the kept-alive connection goes on (no new connect) */
    long connects = -1;
    for (int i = 0; i < 5; i++) {
        connects = cert_serial_seen(it, keep, s2, sizeof s2);
        assert_true(connects >= 0);
    }
    assert_int_equal(connects, 0);
    /* a new connection sees the new certificate */
    CURL *fresh = curl_easy_init();
    assert_int_equal(cert_serial_seen(it, fresh, s3, sizeof s3), 1);
    assert_string_not_equal(s1, s3);
    curl_easy_cleanup(fresh);
    curl_easy_cleanup(keep);
    char *log = hg_it_log(it);
    assert_non_null(strstr(log, "TLS material reloaded"));
    free(log);
}

static void bad_reload_keeps_old(void **state)
{
    struct hg_it *it = *state;
    char path[400];
    snprintf(path, sizeof path, "%s/server.crt", it->pki);
    FILE *f = fopen(path, "w");
    fputs("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n", f);
    fclose(f);
    assert_int_equal(hg_it_signal(it, SIGHUP), 0);
    sleep_ms(300);
    struct hg_it_resp r;
    assert_int_equal(hg_it_request(it, NULL, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
    assert_true(hg_it_alive(it));
    char *log = hg_it_log(it);
    assert_non_null(strstr(log, "TLS reload failed"));
    free(log);
}

static void sigterm_drains(void **state)
{
    struct hg_it *it = *state;
    int fd;
    SSL *ssl = hg_it_tls(it, "tms", &fd);
    assert_non_null(ssl);
    /* a request in flight: head sent, body still coming */
    const char head[] = "POST /v1/whoami HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello";
    assert_int_equal(SSL_write(ssl, head, sizeof head - 1), (int)sizeof head - 1);
    sleep_ms(200);
    assert_int_equal(hg_it_signal(it, SIGTERM), 0);
    sleep_ms(300);
    assert_true(hg_it_alive(it));
    /* new connections are no longer accepted */
    struct hg_it_resp r;
    assert_int_not_equal(hg_it_request(it, NULL, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &r), 0);
    hg_it_resp_free(&r);
    /* the in-flight request completes with a full answer */
    assert_int_equal(SSL_write(ssl, "world", 5), 5);
    char buf[4096];
    hg_it_tls_read_all(ssl, buf, sizeof buf, 3000);
    assert_memory_equal(buf, "HTTP/1.1 405 ", 13);
    assert_non_null(strstr(buf, "Connection: close"));
    hg_it_tls_close(ssl, fd);
    assert_int_equal(hg_it_wait(it, 5000), 0);
    char *log = hg_it_log(it);
    assert_null(strstr(log, "Sanitizer"));
    free(log);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(whoami_shows_identity),
        cmocka_unit_test(correlation_and_trace),
        cmocka_unit_test(no_client_cert_refused),
        cmocka_unit_test(foreign_ca_refused),
        cmocka_unit_test(tls12_refused),
        cmocka_unit_test(unmapped_cert_forbidden),
        cmocka_unit_test(not_found_and_method),
        cmocka_unit_test(oversize_head_431),
        cmocka_unit_test(oversize_body_413),
        cmocka_unit_test(malformed_http_400),
        cmocka_unit_test(garbage_does_not_crash),
        cmocka_unit_test(slow_head_times_out),
        cmocka_unit_test(keepalive_and_pipelining),
        cmocka_unit_test(resumption_keeps_identity),
        cmocka_unit_test(admin_endpoints),
        cmocka_unit_test(request_log_lines),
        cmocka_unit_test(clean_shutdown),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test_setup_teardown(revoked_after_sighup, setup, teardown),
        cmocka_unit_test_setup_teardown(rotation_keeps_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_reload_keeps_old, setup, teardown),
        cmocka_unit_test_setup_teardown(sigterm_drains, setup, teardown),
    };
    int fails = cmocka_run_group_tests_name("foundation", shared, setup, teardown);
    fails += cmocka_run_group_tests_name("lifecycle", own, NULL, NULL);
    curl_global_cleanup();
    return fails;
}
