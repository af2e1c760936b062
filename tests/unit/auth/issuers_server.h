/* SPDX-License-Identifier: Apache-2.0
 *
 * issuers_server.h — a stand-in identity provider for test_issuers.c: an
 * HTTPS server on a loopback port (one thread, one connection at a time,
 * OpenSSL, the dev PKI's server certificate) that answers every GET with a
 * JWK Set the test controls, counts the HTTP requests it read, and can be
 * switched to failure modes: 500, garbage, oversized (with and without
 * Content-Length), a redirect, a slow answer, or dropping the connection
 * before TLS. Include after <cmocka.h>. Everything is static so a test
 * that uses part of it still builds with -Werror.
 */
#ifndef HG_TEST_AUTH_ISSUERS_SERVER_H
#define HG_TEST_AUTH_ISSUERS_SERVER_H

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum srv_mode {
    SRV_OK = 0,       /* 200 + the body */
    SRV_500,          /* 500 + a small error document */
    SRV_GARBAGE,      /* 200 + bytes that are not JSON */
    SRV_BIG_CL,       /* 200 + a body over HG_JWKS_MAX_BYTES, Content-Length set */
    SRV_BIG_STREAM,   /* the same, no Content-Length, ended by closing */
    SRV_REDIRECT,     /* 302 to another https URL */
    SRV_DROP,         /* accept, then close before the TLS handshake */
};

struct srv {
    int lfd;
    int port;
    SSL_CTX *ctx;
    pthread_t th;
    int running;
    atomic_int stop;
    atomic_uint requests;         /* HTTP requests read (after TLS) */
    pthread_mutex_t mu;
    char *body;                   /* the JWK Set served in SRV_OK */
    enum srv_mode mode;
    int delay_ms;                 /* before answering, in every mode */
    size_t big;                   /* body size of the SRV_BIG_* modes */
};

static void srv_sleep_ms(struct srv *s, int ms)
{
    for (int i = 0; i < ms && !atomic_load(&s->stop); i += 10) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static int srv_write(SSL *ssl, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        int w = SSL_write(ssl, c, n > 16384 ? 16384 : (int)n);
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static void srv_answer(SSL *ssl, int code, const char *extra, const char *body, size_t n,
                       int with_len)
{
    char head[512], cl[64] = "";
    if (with_len)
        snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", n);
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%s%s"
                      "Connection: close\r\n\r\n",
                      code, extra ? extra : "", cl);
    if (hl <= 0 || (size_t)hl >= sizeof head)
        return;
    if (srv_write(ssl, head, (size_t)hl) == 0 && n)
        srv_write(ssl, body, n);
}

static void srv_conn(struct srv *s, int fd)
{
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    pthread_mutex_lock(&s->mu);
    enum srv_mode mode = s->mode;
    int delay = s->delay_ms;
    size_t big = s->big;
    char *body = s->body ? strdup(s->body) : NULL;
    pthread_mutex_unlock(&s->mu);

    SSL *ssl = NULL;
    if (mode == SRV_DROP)
        goto out;
    ssl = SSL_new(s->ctx);
    if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1)
        goto out;
    char req[8192];
    size_t got = 0;
    for (;;) {
        int r = SSL_read(ssl, req + got, (int)(sizeof req - 1 - got));
        if (r <= 0)
            goto out;
        got += (size_t)r;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
        if (got == sizeof req - 1)
            goto out;
    }
    atomic_fetch_add(&s->requests, 1);
    srv_sleep_ms(s, delay);
    switch (mode) {
    case SRV_OK:
        srv_answer(ssl, 200, NULL, body ? body : "", body ? strlen(body) : 0, 1);
        break;
    case SRV_500:
        srv_answer(ssl, 500, NULL, "{\"error\":\"down\"}", 16, 1);
        break;
    case SRV_GARBAGE:
        srv_answer(ssl, 200, NULL, "<html>not a key set</html>", 26, 1);
        break;
    case SRV_BIG_CL:
    case SRV_BIG_STREAM: {
        /* a syntactically valid start so only the size can stop it */
        char *b = malloc(big);
        if (!b)
            break;
        memset(b, ' ', big);
        memcpy(b, "{\"keys\":[", 9);
        srv_answer(ssl, 200, NULL, b, big, mode == SRV_BIG_CL);
        free(b);
        break;
    }
    case SRV_REDIRECT:
        srv_answer(ssl, 302, "Location: https://127.0.0.1:1/elsewhere\r\n", "", 0, 1);
        break;
    case SRV_DROP:
        break;
    }
    SSL_shutdown(ssl);
out:
    SSL_free(ssl);
    free(body);
    close(fd);
    ERR_clear_error();
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->lfd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            srv_conn(s, fd);
    }
    OPENSSL_thread_stop();
    return NULL;
}

/* Start on 127.0.0.1, an ephemeral port, with DIR/server.crt and
 * DIR/server.key; max_proto 0 = OpenSSL's default. */
static void srv_start(struct srv *s, const char *pki, int max_proto)
{
    char crt[PATH_MAX + 16], key[PATH_MAX + 16];
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    int n1 = snprintf(crt, sizeof crt, "%s/server.crt", pki);
    int n2 = snprintf(key, sizeof key, "%s/server.key", pki);
    assert_true(n1 > 0 && (size_t)n1 < sizeof crt && n2 > 0 && (size_t)n2 < sizeof key);
    s->ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(s->ctx);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(s->ctx, crt), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(s->ctx, key, SSL_FILETYPE_PEM), 1);
    if (max_proto)
        assert_int_equal(SSL_CTX_set_max_proto_version(s->ctx, max_proto), 1);

    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, 64), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    s->big = 300 * 1024;
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
    s->running = 1;
}

/* Stop answering: the listening socket is closed, so connections are
 * refused (the IdP is down). Safe to call twice. */
static void srv_stop(struct srv *s)
{
    if (s->running) {
        atomic_store(&s->stop, 1);
        pthread_join(s->th, NULL);
        s->running = 0;
    }
    if (s->lfd > 0) {
        close(s->lfd);
        s->lfd = -1;
    }
}

static void srv_free(struct srv *s)
{
    srv_stop(s);
    SSL_CTX_free(s->ctx);
    s->ctx = NULL;
    free(s->body);
    s->body = NULL;
    pthread_mutex_destroy(&s->mu);
}

/* Serve this JWK Set text from now on (copied). */
static void srv_set_body(struct srv *s, const char *body)
{
    char *b = strdup(body);
    assert_non_null(b);
    pthread_mutex_lock(&s->mu);
    free(s->body);
    s->body = b;
    pthread_mutex_unlock(&s->mu);
}

static void srv_set_mode(struct srv *s, enum srv_mode m, int delay_ms)
{
    pthread_mutex_lock(&s->mu);
    s->mode = m;
    s->delay_ms = delay_ms;
    pthread_mutex_unlock(&s->mu);
}

static unsigned srv_requests(struct srv *s)
{
    return atomic_load(&s->requests);
}

#endif
