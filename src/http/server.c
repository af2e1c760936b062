/* SPDX-License-Identifier: Apache-2.0
 *
 * server.c — the HTTP/1.1 connection loop. One event_base per worker thread,
 * each with its own SO_REUSEPORT listening socket so the kernel spreads
 * connections; a connection lives and dies on the thread that accepted it.
 *
 * A connection is a small state machine:
 *   HANDSHAKE → IDLE → HEAD → BODY → DISPATCHED → (IDLE | CLOSING | LINGER)
 * One timer per connection enforces the deadline of the current state
 * (handshake + head, body, keep-alive idle, lingering). The parser is paused
 * at the end of each message and the request is dispatched outside the
 * parser callbacks, so a handler can never re-enter the parser. Framing
 * errors are answered here, as problem documents, and close the connection
 * after a short lingering read so the client sees the answer rather than a
 * reset.
 */
#include "http/server.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <http_parser.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netdb.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/util.h"
#include "http/problem.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "tls/context.h"
#include "tls/identity.h"

#define MAX_RESP_HEADERS 32
#define LINGER_MS 2000
#define LINGER_MAX_BYTES (1u << 20)

enum cstate { CS_HANDSHAKE, CS_IDLE, CS_HEAD, CS_BODY, CS_DISPATCHED, CS_CLOSING, CS_LINGER };

struct hdr {
    uint32_t name_off, name_len, val_off, val_len;
};

struct hg_http_req {
    struct conn *c;
    struct hg_buf arena;            /* URL, header names and values, NUL-separated */
    struct hdr *hdrs;
    size_t nhdrs, caphdrs;
    int in_value;                   /* parser: last piece was a header value */
    int url_done;                   /* the URL's terminating NUL is in the arena */
    int head_done;                  /* arena frozen: strings point into it */
    uint32_t url_off, url_len;
    struct hg_buf body;
    char method[16];
    const char *path, *query;
    char corr[HG_CORRELATION_ID_MAX + 1];
    struct hg_traceparent trace;
    uint64_t t0;
    const char *route;
    const char *principal;
    void *user;                     /* hg_http_req_set_user */
    void (*user_free)(void *);
    enum hg_problem early;          /* framing error found while parsing */
    int has_early;
    const char *early_detail;
    int responded;
    atomic_int susp;                /* 0 running, 1 suspended, 2 woken or timed out */
    hg_http_resume_fn resume_fn;
    void *resume_arg;
    struct event *resume_ev;        /* set while suspended */
    int resuspended;                /* suspended again from its resume callback */
    size_t nresp;
    char *resp_names[MAX_RESP_HEADERS];
    char *resp_values[MAX_RESP_HEADERS];
};

struct worker;

struct conn {
    struct worker *w;
    struct bufferevent *bev;
    SSL *ssl;
    http_parser parser;
    enum cstate st;
    struct event *timer;
    struct hg_http_req *req;
    int msg_done;
    int close_after;
    size_t lingered;
    int tls_up;                 /* handshake done and no TLS error since */
    struct hg_identity *id;
    void *conn_data;
    void *cache;                /* hg_http_req_conn_cache; free()d with the connection */
    char peer[64];
    int dead;                   /* the client went away while a request was suspended */
    struct conn *prev, *next;
};

struct worker {
    struct hg_http_server *s;
    struct event_base *base;
    struct evconnlistener *lev;
    int fd;
    pthread_t thread;
    int started;
    struct event *stop_ev;
    int stopping;
    struct conn *conns;
    int nconns;
    struct hg_http_req *resuming; /* the request whose resume callback runs now */
    struct conn *orphans;       /* dead connections whose request is still suspended */
    int norphans;
    time_t date_sec;
    char date[40];
};

struct hg_http_server {
    struct hg_http_server_opts o;
    char *name, *host;
    int port;
    int nworkers;
    struct worker *workers;
    atomic_int nconns;
    struct hg_http_metrics m;   /* all NULL when the server has no metrics */
};

static http_parser_settings settings;
static pthread_once_t settings_once = PTHREAD_ONCE_INIT;
static pthread_once_t evthread_once = PTHREAD_ONCE_INIT;

static void conn_free(struct conn *c);
static void orphan_free(struct conn *c);
static void conn_close(struct conn *c);
static void conn_feed(struct conn *c);
static void conn_arm(struct conn *c, int ms);

/* ------------------------------------------------------------------ */
/* requests                                                             */

static struct hg_http_req *req_new(struct conn *c)
{
    struct hg_http_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->c = c;
    hg_buf_init(&r->arena, c->w->s->o.max_header_bytes);
    hg_buf_init(&r->body, c->w->s->o.max_body_bytes);
    r->t0 = hg_mono_us();
    r->path = "";
    r->query = "";
    r->route = NULL;
    return r;
}

static void req_free(struct hg_http_req *r)
{
    if (!r)
        return;
    if (r->resume_ev)
        event_free(r->resume_ev);
    if (r->user && r->user_free)
        r->user_free(r->user);
    hg_buf_cleanup(&r->arena);
    hg_buf_cleanup(&r->body);
    free(r->hdrs);
    for (size_t i = 0; i < r->nresp; i++) {
        free(r->resp_names[i]);
        free(r->resp_values[i]);
    }
    free(r);
}

static void req_early(struct hg_http_req *r, enum hg_problem p, const char *detail)
{
    if (r->has_early)
        return;
    r->has_early = 1;
    r->early = p;
    r->early_detail = detail;
}

/* Append a parser piece to the arena; the NUL after the previous piece
 * separates strings. Overflow means the head is too large: 431. */
static int arena_add(struct hg_http_req *r, const char *at, size_t len)
{
    if (hg_buf_append(&r->arena, at, len) != HG_OK) {
        req_early(r, HG_PROB_HEADERS_TOO_LARGE, NULL);
        return -1;
    }
    return 0;
}

static int arena_nul(struct hg_http_req *r)
{
    return arena_add(r, "", 1);
}

/* ------------------------------------------------------------------ */
/* parser callbacks: record, never dispatch                             */

static int on_message_begin(http_parser *p)
{
    struct conn *c = p->data;
    if (!c->req) {
        c->req = req_new(c);
        if (!c->req)
            return -1;
    }
    c->st = CS_HEAD;
    conn_arm(c, c->w->s->o.header_timeout_ms);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    struct hg_http_req *r = c->req;
    if (r->url_len == 0)
        r->url_off = (uint32_t)r->arena.len;
    r->url_len += (uint32_t)len;
    return arena_add(r, at, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    struct hg_http_req *r = c->req;
    if (r->head_done)
        return 0; /* chunked trailer fields are ignored: the arena is frozen */
    if (!r->url_done) {
        r->url_done = 1;
        if (arena_nul(r))
            return -1;
    }
    /* a field piece after a value (or the very first one) starts a header;
     * otherwise it continues a name split across reads */
    if (r->in_value || r->nhdrs == 0) {
        if (r->in_value && arena_nul(r))
            return -1;
        size_t maxh = c->w->s->o.max_headers ? c->w->s->o.max_headers : 100;
        if (r->nhdrs >= maxh) {
            req_early(r, HG_PROB_HEADERS_TOO_LARGE, "too many header fields");
            return -1;
        }
        if (r->nhdrs == r->caphdrs) {
            size_t n = r->caphdrs ? r->caphdrs * 2 : 16;
            struct hdr *h = realloc(r->hdrs, n * sizeof *h);
            if (!h)
                return -1;
            r->hdrs = h;
            r->caphdrs = n;
        }
        r->hdrs[r->nhdrs++] = (struct hdr){(uint32_t)r->arena.len, 0, 0, 0};
        r->in_value = 0;
    }
    r->hdrs[r->nhdrs - 1].name_len += (uint32_t)len;
    return arena_add(r, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    struct hg_http_req *r = c->req;
    if (r->head_done)
        return 0;
    struct hdr *h = &r->hdrs[r->nhdrs - 1];
    if (!r->in_value) {
        if (arena_nul(r))
            return -1;
        h->val_off = (uint32_t)r->arena.len;
        r->in_value = 1;
    }
    h->val_len += (uint32_t)len;
    return arena_add(r, at, len);
}

static int on_headers_complete(http_parser *p)
{
    struct conn *c = p->data;
    struct hg_http_req *r = c->req;
    r->url_done = 1;
    if (arena_nul(r)) /* ends the URL, or the last value */
        return -1;
    r->head_done = 1;
    /* Pieces arrived in order and the arena no longer grows, so offsets can
     * become NUL-terminated strings in place. */
    char *url = r->arena.data + r->url_off;
    char *q = memchr(url, '?', r->url_len);
    if (q) {
        *q = '\0';
        r->query = q + 1;
    }
    r->path = url;
    hg_strlcpy(r->method, http_method_str((enum http_method)p->method), sizeof r->method);
    if (url[0] != '/') {
        req_early(r, HG_PROB_BAD_REQUEST,
                  "the request target must be an absolute path (origin-form, RFC 9112 §3.2.1)");
    }
    if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX &&
        p->content_length > c->w->s->o.max_body_bytes) {
        req_early(r, HG_PROB_BODY_TOO_LARGE, NULL);
    }
    if (r->has_early) {
        /* answer now, without reading the body */
        c->msg_done = 1;
        http_parser_pause(p, 1);
        return 0;
    }
    c->st = CS_BODY;
    conn_arm(c, c->w->s->o.read_timeout_ms);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    struct hg_http_req *r = c->req;
    if (hg_buf_append(&r->body, at, len) != HG_OK) {
        req_early(r, HG_PROB_BODY_TOO_LARGE, NULL);
        c->msg_done = 1;
        http_parser_pause(p, 1);
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct conn *c = p->data;
    c->msg_done = 1;
    http_parser_pause(p, 1);
    return 0;
}

static void settings_init(void)
{
    http_parser_settings_init(&settings);
    settings.on_message_begin = on_message_begin;
    settings.on_url = on_url;
    settings.on_header_field = on_header_field;
    settings.on_header_value = on_header_value;
    settings.on_headers_complete = on_headers_complete;
    settings.on_body = on_body;
    settings.on_message_complete = on_message_complete;
}

/* ------------------------------------------------------------------ */
/* accessors                                                            */

const char *hg_http_req_method(const struct hg_http_req *r) { return r->method; }
const char *hg_http_req_path(const struct hg_http_req *r) { return r->path; }
const char *hg_http_req_query(const struct hg_http_req *r) { return r->query; }
const char *hg_http_req_correlation_id(const struct hg_http_req *r) { return r->corr; }
const struct hg_traceparent *hg_http_req_trace(const struct hg_http_req *r) { return &r->trace; }
const char *hg_http_req_peer(const struct hg_http_req *r) { return r->c->peer; }
const struct hg_identity *hg_http_req_identity(const struct hg_http_req *r) { return r->c->id; }
void *hg_http_req_conn_data(const struct hg_http_req *r) { return r->c->conn_data; }
void **hg_http_req_conn_cache(struct hg_http_req *r) { return &r->c->cache; }
void hg_http_req_set_route(struct hg_http_req *r, const char *route) { r->route = route; }
void hg_http_req_set_principal(struct hg_http_req *r, const char *name) { r->principal = name; }

void hg_http_req_set_user(struct hg_http_req *r, void *user, void (*user_free)(void *))
{
    if (r->user && r->user_free && r->user != user)
        r->user_free(r->user);
    r->user = user;
    r->user_free = user_free;
}

void *hg_http_req_user(const struct hg_http_req *r) { return r->user; }

const char *hg_http_req_body(const struct hg_http_req *r, size_t *len)
{
    if (len)
        *len = r->body.len;
    return r->body.data ? r->body.data : "";
}

const char *hg_http_req_header(const struct hg_http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nhdrs; i++)
        if (!strcasecmp(r->arena.data + r->hdrs[i].name_off, name))
            return r->hdrs[i].val_len ? r->arena.data + r->hdrs[i].val_off : "";
    return NULL;
}

size_t hg_http_req_header_count(const struct hg_http_req *r, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nhdrs; i++)
        if (!strcasecmp(r->arena.data + r->hdrs[i].name_off, name))
            n++;
    return n;
}

int hg_http_req_header_at(const struct hg_http_req *r, size_t i, const char **name,
                          const char **value)
{
    if (i >= r->nhdrs)
        return 0;
    *name = r->arena.data + r->hdrs[i].name_off;
    *value = r->hdrs[i].val_len ? r->arena.data + r->hdrs[i].val_off : "";
    return 1;
}

/* ------------------------------------------------------------------ */
/* responses                                                            */

static int header_token_ok(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n' || *s == '\0')
            return 0;
    return 1;
}

hg_status hg_http_resp_header(struct hg_http_req *r, const char *name, const char *value)
{
    if (!header_token_ok(name) || !header_token_ok(value) || !*name)
        return HG_EINVAL;
    if (r->nresp >= MAX_RESP_HEADERS)
        return HG_ETOOBIG;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return HG_ENOMEM;
    }
    r->resp_names[r->nresp] = n;
    r->resp_values[r->nresp] = v;
    r->nresp++;
    return HG_OK;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

static const char *http_date(struct worker *w)
{
    time_t now = time(NULL);
    if (now != w->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(w->date, sizeof w->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        w->date_sec = now;
    }
    return w->date;
}

static void record(struct hg_http_req *r, int status, size_t bytes)
{
    struct hg_http_server *s = r->c->w->s;
    const char *route = r->route ? r->route : "unmatched";
    uint64_t us = hg_mono_us() - r->t0;
    double secs = (double)us / 1e6;
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    if (s->m.requests) {
        const char *lv[] = {route, code};
        hg_metric_inc(s->m.requests, lv, 1);
        const char *lr[] = {route};
        hg_metric_observe(s->m.duration, lr, secs);
    }
    if (s->o.log_requests && hg_log_enabled(HG_LOG_INFO)) {
        hg_log(status >= 500 ? HG_LOG_ERROR : HG_LOG_INFO, "request",
               HG_LF_STR("listener", s->name), HG_LF_STR("correlation_id", r->corr),
               HG_LF_STR("trace_id", r->trace.trace_id),
               HG_LF_STR("principal", r->principal), HG_LF_STR("peer", r->c->peer),
               HG_LF_STR("method", r->method[0] ? r->method : NULL),
               HG_LF_STR("route", route), HG_LF_INT("status", status),
               HG_LF_INT("duration_us", (int64_t)us),
               HG_LF_INT("bytes", (int64_t)bytes), HG_LF_END);
    }
}

void hg_http_respond(struct hg_http_req *r, int status, const char *content_type,
                     const void *body, size_t len)
{
    if (r->responded) {
        hg_log(HG_LOG_ERROR, "bug: second response to one request",
               HG_LF_STR("correlation_id", r->corr), HG_LF_END);
        return;
    }
    r->responded = 1;
    struct conn *c = r->c;
    struct worker *w = c->w;
    if (w->resuming == r)
        w->resuming = NULL;
    if (c->dead) {
        /* the client left while the request was suspended: nobody to tell */
        record(r, 499, 0);
        orphan_free(c);
        return;
    }
    int close = c->close_after || w->stopping || r->has_early ||
                !http_should_keep_alive(&c->parser);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    /* Room for the whole response in one chain: bufferevent_openssl
     * writes one TLS record (and one write()) per chain, so a head and
     * body split over two chains cost a second record and syscall on
     * every response past ~1 KiB. */
    size_t want = 512 + len;
    for (size_t i = 0; i < r->nresp; i++)
        want += strlen(r->resp_names[i]) + strlen(r->resp_values[i]) + 4;
    evbuffer_expand(out, want);
    char tp[HG_TRACEPARENT_LEN + 1];
    hg_traceparent_format(&r->trace, tp);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Length: %zu\r\n"
                        "X-Correlation-ID: %s\r\ntraceparent: %s\r\n",
                        status, reason_phrase(status), http_date(w), len, r->corr, tp);
    if (content_type)
        evbuffer_add_printf(out, "Content-Type: %s\r\n", content_type);
    int has_cache = 0;
    for (size_t i = 0; i < r->nresp; i++) {
        if (!strcasecmp(r->resp_names[i], "Cache-Control"))
            has_cache = 1;
        evbuffer_add_printf(out, "%s: %s\r\n", r->resp_names[i], r->resp_values[i]);
    }
    if (!has_cache)
        evbuffer_add(out, "Cache-Control: no-store\r\n", 25);
    if (close)
        evbuffer_add(out, "Connection: close\r\n", 19);
    evbuffer_add(out, "\r\n", 2);
    if (len)
        evbuffer_add(out, body, len);
    record(r, status, len);

    int early = r->has_early;
    req_free(r);
    c->req = NULL;
    c->msg_done = 0;
    if (close) {
        c->st = early ? CS_LINGER : CS_CLOSING;
        if (early)
            conn_arm(c, LINGER_MS);
        /* the write callback frees a CLOSING connection once flushed */
    } else {
        c->st = CS_IDLE;
        conn_arm(c, w->s->o.read_timeout_ms);
    }
}

void hg_http_respond_json(struct hg_http_req *r, int status, void *json)
{
    char *s = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (!s) {
        hg_problem_send(r, HG_PROB_INTERNAL, NULL, "could not serialise the response");
        return;
    }
    hg_http_respond(r, status, "application/json", s, strlen(s));
    free(s);
}

/* ------------------------------------------------------------------ */
/* deferred responses                                                   */

/* Runs on the worker thread: EV_TIMEOUT when the suspension timed out,
 * EV_WRITE when hg_http_req_resume activated it. */
static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    struct hg_http_req *r = arg;
    int timed_out = 0;
    if (what & EV_TIMEOUT) {
        int exp = 1;
        if (!atomic_compare_exchange_strong(&r->susp, &exp, 2))
            return; /* a resume won the race; its activation is on its way */
        timed_out = 1;
    }
    struct conn *c = r->c;
    struct worker *w = c->w;
    int dead = c->dead;
    w->resuming = r;
    r->resume_fn(r, r->resume_arg, timed_out);
    if (w->resuming == r) { /* hg_http_respond clears it: r is still here */
        w->resuming = NULL;
        if (r->resuspended) { /* waits again: answered from a later callback */
            r->resuspended = 0;
            return;
        }
        hg_log(HG_LOG_ERROR, "bug: resume callback returned without responding",
               HG_LF_STR("path", r->path), HG_LF_END);
        hg_problem_send(r, HG_PROB_INTERNAL, NULL, "the handler did not answer");
    }
    /* r is gone now; a live connection may have pipelined the next request */
    if (!dead && c->st == CS_IDLE)
        conn_feed(c);
}

hg_status hg_http_req_suspend(struct hg_http_req *r, int timeout_ms, hg_http_resume_fn fn,
                              void *arg)
{
    if (r->responded || !fn)
        return HG_ESTATE;
    if (r->resume_ev) {
        /* Again, from inside its own resume callback (a request that waits
         * in stages: a store commit, then a decision, then another commit).
         * The event is not pending there: libevent deletes a non-persistent
         * event before running it. */
        if (r->c->w->resuming != r || atomic_load(&r->susp) != 2)
            return HG_ESTATE;
        event_del(r->resume_ev);
        r->resuspended = 1;
    } else {
        r->resume_ev = event_new(r->c->w->base, -1, 0, on_resume, r);
        if (!r->resume_ev)
            return HG_ENOMEM;
    }
    r->resume_fn = fn;
    r->resume_arg = arg;
    atomic_store(&r->susp, 1);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (event_add(r->resume_ev, timeout_ms > 0 ? &tv : NULL) != 0) {
        if (r->resuspended) { /* still inside the callback: it must answer */
            r->resuspended = 0;
            atomic_store(&r->susp, 2);
            return HG_ENOMEM;
        }
        event_free(r->resume_ev);
        r->resume_ev = NULL;
        atomic_store(&r->susp, 0);
        return HG_ENOMEM;
    }
    return HG_OK;
}

int hg_http_req_resume(struct hg_http_req *r)
{
    int exp = 1;
    if (!atomic_compare_exchange_strong(&r->susp, &exp, 2))
        return 0;
    /* thread-safe: libevent locks the base and wakes its loop */
    event_active(r->resume_ev, EV_WRITE, 0);
    return 1;
}

/* ------------------------------------------------------------------ */
/* dispatch                                                             */

static void req_prepare(struct hg_http_req *r)
{
    const char *cid = hg_http_req_header(r, "X-Correlation-ID");
    if (cid && hg_correlation_id_valid(cid, strlen(cid)))
        hg_strlcpy(r->corr, cid, sizeof r->corr);
    else if (hg_uuid7(r->corr) != HG_OK)
        hg_strlcpy(r->corr, "unavailable", sizeof r->corr);
    /* W3C rules (repeats, whitespace, tracestate) live in obs/trace: a valid
     * traceparent continues the trace with our own span, anything else
     * starts a new one. */
    struct hg_trace_header th[8];
    size_t nth = 0;
    for (size_t i = 0; i < r->nhdrs && nth < 8; i++) {
        const char *name = r->arena.data + r->hdrs[i].name_off;
        if (strcasecmp(name, "traceparent") && strcasecmp(name, "tracestate"))
            continue;
        th[nth++] = (struct hg_trace_header){name, r->hdrs[i].name_len,
                                             r->arena.data + r->hdrs[i].val_off,
                                             r->hdrs[i].val_len};
    }
    struct hg_trace_ctx tc;
    hg_trace_from_headers(th, nth, &tc);
    if (tc.tp_verdict != HG_TRACEPARENT_VALID || hg_traceparent_child(&tc.tp, &r->trace) != HG_OK)
        hg_traceparent_new(&r->trace);
}

static void dispatch(struct conn *c)
{
    struct hg_http_req *r = c->req;
    c->st = CS_DISPATCHED;
    event_del(c->timer);
    req_prepare(r);
    if (r->has_early) {
        size_t max = r->early == HG_PROB_BODY_TOO_LARGE ? c->w->s->o.max_body_bytes
                                                        : c->w->s->o.max_header_bytes;
        if (r->early_detail)
            hg_problem_send(r, r->early, NULL, "%s", r->early_detail);
        else if (r->early == HG_PROB_BODY_TOO_LARGE)
            hg_problem_send(r, r->early, NULL,
                            "the request body is larger than the limit of %zu bytes; "
                            "send a smaller body", max);
        else
            hg_problem_send(r, r->early, NULL,
                            "the request line and header fields exceed the limit of %zu bytes; "
                            "send fewer or shorter headers", max);
        return;
    }
    c->w->s->o.dispatch(r, c->w->s->o.dispatch_arg);
    /* answering frees the request and clears c->req: r is gone if it did;
     * a suspended request is answered later, from its resume callback */
    if (c->req == r && !r->resume_ev) {
        hg_log(HG_LOG_ERROR, "bug: handler returned without responding",
               HG_LF_STR("path", r->path), HG_LF_END);
        hg_problem_send(r, HG_PROB_INTERNAL, NULL, "the handler did not answer");
    }
}

/* A framing error outside any request we could parse: answer with a
 * problem document on a synthetic request and close. */
static void fail_framing(struct conn *c, enum hg_problem p, const char *detail)
{
    if (!c->req) {
        c->req = req_new(c);
        if (!c->req) {
            conn_free(c);
            return;
        }
    }
    struct hg_http_req *r = c->req;
    req_early(r, p, detail);
    r->path = "";
    c->msg_done = 1;
    dispatch(c);
}

static void conn_feed(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (c->st == CS_IDLE || c->st == CS_HEAD || c->st == CS_BODY) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            break;
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        size_t used = http_parser_execute(&c->parser, &settings, v.iov_base, v.iov_len);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        evbuffer_drain(in, used);
        if (c->msg_done) {
            http_parser_pause(&c->parser, 0);
            dispatch(c);
            continue; /* a kept-alive connection may have pipelined more */
        }
        if (e != HPE_OK) {
            if (c->req && c->req->has_early) {
                c->msg_done = 1;
                dispatch(c);
            } else if (e == HPE_HEADER_OVERFLOW) {
                fail_framing(c, HG_PROB_HEADERS_TOO_LARGE, NULL);
            } else {
                char d[160];
                snprintf(d, sizeof d, "the request is not valid HTTP/1.1: %s",
                         http_errno_description(e));
                /* the string must outlive this frame: problem is sent now */
                fail_framing(c, HG_PROB_BAD_REQUEST, d);
            }
            return;
        }
        if (used < v.iov_len)
            break; /* should not happen without an error; avoid spinning */
    }
    if (c->st == CS_LINGER) {
        size_t n = evbuffer_get_length(in);
        c->lingered += n;
        evbuffer_drain(in, n);
        if (c->lingered > LINGER_MAX_BYTES)
            conn_close(c);
    }
}

/* ------------------------------------------------------------------ */
/* connection lifecycle                                                 */

static void conn_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    switch (c->st) {
    case CS_HEAD:
    case CS_BODY:
        fail_framing(c, HG_PROB_REQUEST_TIMEOUT,
                     "the request was not received completely in time; "
                     "send the whole request promptly");
        break;
    case CS_DISPATCHED:
        break;
    case CS_HANDSHAKE:
        conn_free(c);
        break;
    default:
        conn_close(c);
        break;
    }
}

static void conn_arm(struct conn *c, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(c->timer, &tv);
}

static void worker_maybe_done(struct worker *w)
{
    if (w->stopping && w->nconns == 0 && w->norphans == 0)
        event_base_loopexit(w->base, NULL);
}

static void conn_free(struct conn *c)
{
    struct worker *w = c->w;
    int orphan = c->req && c->req->resume_ev && !c->req->responded && !c->dead;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    w->nconns--;
    atomic_fetch_sub(&w->s->nconns, 1);
    if (w->s->m.conns) {
        const char *lv[] = {w->s->name};
        hg_metric_set(w->s->m.conns, lv, (double)atomic_load(&w->s->nconns));
    }
    if (c->timer)
        event_free(c->timer);
    c->timer = NULL;
    if (c->bev)
        bufferevent_free(c->bev); /* closes the socket and frees the SSL */
    c->bev = NULL;
    c->ssl = NULL;
    if (orphan) {
        /* Keep the request (and the identity and conn data it points to)
         * until its resume callback answers; see orphan_free. */
        c->dead = 1;
        c->next = w->orphans;
        if (w->orphans)
            w->orphans->prev = c;
        w->orphans = c;
        w->norphans++;
        return;
    }
    req_free(c->req);
    hg_identity_free(c->id);
    free(c->cache);
    free(c);
    worker_maybe_done(w);
}

/* The end of a dead connection: its suspended request was answered (into
 * the void) or the server is being freed. */
static void orphan_free(struct conn *c)
{
    struct worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->orphans = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->norphans--;
    req_free(c->req);
    hg_identity_free(c->id);
    free(c->cache);
    free(c);
    worker_maybe_done(w);
}

/* Close after our side is done: a TLS close_notify first, so the client can
 * tell a complete response from a truncated one (and may resume the
 * session); bufferevent_free alone would just drop the socket. */
static void conn_close(struct conn *c)
{
    if (c->ssl && c->tls_up) {
        SSL_set_shutdown(c->ssl, 0);
        if (SSL_shutdown(c->ssl) < 0)
            ERR_clear_error();
    }
    conn_free(c);
}

static void conn_read(struct bufferevent *bev, void *arg)
{
    conn_feed(arg);
}

static void conn_write(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (c->st == CS_CLOSING)
        conn_close(c);
}

static void handshake_failed(struct conn *c)
{
    unsigned long e = bufferevent_get_openssl_error(c->bev);
    const char *reason = hg_tls_failure_reason(c->ssl, e);
    struct hg_http_server *s = c->w->s;
    if (s->m.handshake_fail) {
        const char *lv[] = {reason};
        hg_metric_inc(s->m.handshake_fail, lv, 1);
    }
    char detail[256] = "";
    if (e)
        ERR_error_string_n(e, detail, sizeof detail);
    hg_log(HG_LOG_WARN, "tls handshake failed", HG_LF_STR("listener", s->name),
           HG_LF_STR("peer", c->peer), HG_LF_STR("reason", reason),
           HG_LF_STR("detail", detail[0] ? detail : NULL), HG_LF_END);
    ERR_clear_error();
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        if (c->ssl) {
            X509 *peer = SSL_get1_peer_certificate(c->ssl);
            if (peer) {
                if (hg_identity_from_x509(peer, &c->id) != HG_OK)
                    c->id = NULL;
                X509_free(peer);
            }
            if (c->w->s->o.on_conn && c->id)
                c->conn_data = c->w->s->o.on_conn(c->id, c->w->s->o.on_conn_arg);
        }
        if (c->st == CS_HANDSHAKE)
            c->st = CS_IDLE;
        c->tls_up = c->ssl != NULL;
        conn_feed(c); /* a request may already be buffered */
        return;
    }
    if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF | BEV_EVENT_TIMEOUT)) {
        c->tls_up = 0; /* never SSL_shutdown after a fatal error */
        if (c->st == CS_HANDSHAKE && c->ssl && !(what & BEV_EVENT_TIMEOUT))
            handshake_failed(c);
        else
            ERR_clear_error();
        conn_free(c);
    }
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg)
{
    struct worker *w = arg;
    struct hg_http_server *s = w->s;
    if (w->stopping || atomic_load(&s->nconns) >= s->o.max_connections) {
        if (s->m.refused) {
            const char *lv[] = {s->name};
            hg_metric_inc(s->m.refused, lv, 1);
        }
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->w = w;
    char host[INET6_ADDRSTRLEN] = "?", serv[8] = "?";
    getnameinfo(sa, (socklen_t)salen, host, sizeof host, serv, sizeof serv,
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(c->peer, sizeof c->peer, "%s:%s", host, serv);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->timer = evtimer_new(w->base, conn_timeout, c);
    if (s->o.tls) {
        c->ssl = hg_tls_server_ssl_new(s->o.tls);
        if (c->ssl)
            c->bev = bufferevent_openssl_socket_new(w->base, fd, c->ssl,
                                                    BUFFEREVENT_SSL_ACCEPTING,
                                                    BEV_OPT_CLOSE_ON_FREE |
                                                        BEV_OPT_DEFER_CALLBACKS);
        else
            evutil_closesocket(fd);
        if (c->ssl && !c->bev) {
            SSL_free(c->ssl);
            evutil_closesocket(fd);
        }
        c->st = CS_HANDSHAKE;
    } else {
        c->bev = bufferevent_socket_new(w->base, fd,
                                        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (!c->bev)
            evutil_closesocket(fd);
        c->st = CS_IDLE;
    }
    /* link first so conn_free can always unlink */
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    atomic_fetch_add(&s->nconns, 1);
    if (s->m.conns) {
        const char *lv[] = {s->name};
        hg_metric_set(s->m.conns, lv, (double)atomic_load(&s->nconns));
    }
    if (!c->bev || !c->timer) {
        c->bev = NULL;
        conn_free(c);
        return;
    }
    if (c->ssl)
        bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
    struct timeval wt = {s->o.write_timeout_ms / 1000, (s->o.write_timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(c->bev, NULL, &wt);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    conn_arm(c, s->o.header_timeout_ms);
}

/* ------------------------------------------------------------------ */
/* workers                                                              */

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    w->stopping = 1;
    if (w->lev) {
        evconnlistener_free(w->lev);
        w->lev = NULL;
        w->fd = -1;
    }
    struct conn *c = w->conns;
    while (c) {
        struct conn *next = c->next;
        if (c->st == CS_HANDSHAKE)
            conn_free(c);
        else if (c->st == CS_IDLE)
            conn_close(c);
        else
            c->close_after = 1;
        c = next;
    }
    worker_maybe_done(w);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

static int bind_socket(const char *host, int port, struct hg_err *err)
{
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char serv[8];
    snprintf(serv, sizeof serv, "%d", port);
    int gai = getaddrinfo(host, serv, &hints, &ai);
    if (gai != 0) {
        hg_err_set(err, HG_ECONFIG, "cannot resolve listen address '%s': %s", host,
                   gai_strerror(gai));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        hg_err_set(err, HG_ESYS, "socket: %m");
        freeaddrinfo(ai);
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        hg_err_set(err, HG_ESYS, "cannot listen on %s:%d: %m", host, port);
        close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static void evthread_init(void)
{
    evthread_use_pthreads();
}

hg_status hg_http_metrics_register(struct hg_metrics *m, struct hg_http_metrics *out)
{
    static const char *const rl[] = {"route", "code", NULL};
    static const char *const r1[] = {"route", NULL};
    static const char *const reason[] = {"reason", NULL};
    static const char *const lis[] = {"listener", NULL};
    static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                     0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    hg_status rc;
    memset(out, 0, sizeof *out);
    if ((rc = hg_metrics_register(m, HG_METRIC_COUNTER, "haulgate_http_requests_total",
                                  "HTTP requests answered, by route pattern and status code",
                                  rl, NULL, 0, &out->requests)) != HG_OK ||
        (rc = hg_metrics_register(m, HG_METRIC_HISTOGRAM,
                                  "haulgate_http_request_duration_seconds",
                                  "Time from request start to response queued, by route", r1,
                                  buckets, sizeof buckets / sizeof buckets[0],
                                  &out->duration)) != HG_OK ||
        (rc = hg_metrics_register(m, HG_METRIC_COUNTER, "haulgate_tls_handshake_failures_total",
                                  "TLS handshakes that failed, by reason", reason, NULL, 0,
                                  &out->handshake_fail)) != HG_OK ||
        (rc = hg_metrics_register(m, HG_METRIC_GAUGE, "haulgate_http_connections",
                                  "Open client connections, by listener", lis, NULL, 0,
                                  &out->conns)) != HG_OK ||
        (rc = hg_metrics_register(m, HG_METRIC_COUNTER,
                                  "haulgate_http_connections_refused_total",
                                  "Connections closed at accept (limit reached or stopping)",
                                  lis, NULL, 0, &out->refused)) != HG_OK)
        return rc;
    return HG_OK;
}

hg_status hg_http_server_new(const struct hg_http_server_opts *opts,
                             struct hg_http_server **out, struct hg_err *err)
{
    pthread_once(&settings_once, settings_init);
    pthread_once(&evthread_once, evthread_init);
    if (opts->threads < 1 || !opts->dispatch || opts->max_connections < 1)
        return hg_err_set(err, HG_EINVAL, "HTTP server needs threads, a dispatcher and a connection limit");
    struct hg_http_server *s = calloc(1, sizeof *s);
    if (!s)
        return HG_ENOMEM;
    s->o = *opts;
    s->name = strdup(opts->name ? opts->name : "api");
    s->host = strdup(opts->host);
    s->o.name = s->name;
    s->o.host = s->host;
    s->nworkers = opts->threads;
    s->workers = calloc((size_t)s->nworkers, sizeof *s->workers);
    if (!s->name || !s->host || !s->workers) {
        hg_http_server_free(s);
        return HG_ENOMEM;
    }
    if (opts->metrics)
        s->m = *opts->metrics;
    s->port = opts->port;
    for (int i = 0; i < s->nworkers; i++) {
        struct worker *w = &s->workers[i];
        w->s = s;
        w->fd = -1;
        w->base = event_base_new();
        if (!w->base) {
            hg_http_server_free(s);
            return hg_err_set(err, HG_ENOMEM, "event_base_new failed");
        }
        /* The first socket picks the port when 0 was asked; the others share it. */
        w->fd = bind_socket(s->host, s->port, err);
        if (w->fd < 0) {
            hg_http_server_free(s);
            return err ? err->status : HG_ESYS;
        }
        if (s->port == 0) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            getsockname(w->fd, (struct sockaddr *)&ss, &sl);
            s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                     : ((struct sockaddr_in *)&ss)->sin_port);
        }
        w->lev = evconnlistener_new(w->base, on_accept, w, LEV_OPT_CLOSE_ON_FREE, -1, w->fd);
        w->stop_ev = event_new(w->base, -1, 0, on_stop, w);
        if (!w->lev || !w->stop_ev) {
            if (!w->lev)
                close(w->fd);
            hg_http_server_free(s);
            return hg_err_set(err, HG_ENOMEM, "cannot create the listener");
        }
    }
    *out = s;
    return HG_OK;
}

hg_status hg_http_server_start(struct hg_http_server *s, struct hg_err *err)
{
    for (int i = 0; i < s->nworkers; i++) {
        struct worker *w = &s->workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            return hg_err_set(err, HG_ESYS, "cannot start worker thread: %m");
        w->started = 1;
    }
    return HG_OK;
}

int hg_http_server_port(const struct hg_http_server *s)
{
    return s->port;
}

int hg_http_server_connections(const struct hg_http_server *s)
{
    return atomic_load(&((struct hg_http_server *)s)->nconns);
}

int hg_http_server_stop(struct hg_http_server *s, int timeout_ms)
{
    for (int i = 0; i < s->nworkers; i++)
        if (s->workers[i].started)
            event_active(s->workers[i].stop_ev, EV_READ, 0);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    int cut = 0;
    for (int i = 0; i < s->nworkers; i++) {
        struct worker *w = &s->workers[i];
        if (!w->started)
            continue;
        if (pthread_timedjoin_np(w->thread, NULL, &dl) != 0) {
            event_base_loopbreak(w->base);
            pthread_join(w->thread, NULL);
        }
        w->started = 0;
        cut += w->nconns;
    }
    return cut;
}

void hg_http_server_free(struct hg_http_server *s)
{
    if (!s)
        return;
    for (int i = 0; s->workers && i < s->nworkers; i++) {
        struct worker *w = &s->workers[i];
        if (w->started) {
            event_base_loopbreak(w->base);
            pthread_join(w->thread, NULL);
        }
        w->stopping = 0; /* freeing now: do not loopexit from conn_free */
        while (w->conns) {
            struct conn *c = w->conns;
            if (c->req && c->req->resume_ev)
                c->dead = 1; /* never resumed now: free it with its connection */
            conn_free(c);
        }
        while (w->orphans)
            orphan_free(w->orphans);
        if (w->lev)
            evconnlistener_free(w->lev);
        if (w->stop_ev)
            event_free(w->stop_ev);
        if (w->base)
            event_base_free(w->base);
    }
    free(s->workers);
    free(s->name);
    free(s->host);
    free(s);
}
