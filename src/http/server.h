/* SPDX-License-Identifier: Apache-2.0
 *
 * server.h — haulgate's HTTP/1.1 server: libevent bufferevents (with
 * bufferevent_openssl for TLS) and Node's http-parser for framing, N worker
 * threads each with its own event_base and SO_REUSEPORT listening socket.
 *
 * Why not evhttp: libevent 2.1's evhttp answers framing errors (oversized
 * head, oversized chunked body, malformed request line) itself with fixed
 * HTML pages and has no hook to change that before 2.2, so it cannot keep
 * the promise that every error is an RFC 9457 problem document, nor send 431.
 * Owning the connection loop also gives slow-client deadlines per request
 * head, lingering close after 413, and streaming for SSE.
 *
 * A request is handed to one dispatch callback once its head and body are
 * complete. The handler must answer with hg_http_respond*() before it
 * returns. The request and everything reachable from it is freed after the
 * response; handlers never free it. Bounded everywhere: head (431), body
 * (413), header count, per-request head deadline (408), connections.
 */
#ifndef HG_HTTP_SERVER_H
#define HG_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"
#include "obs/trace.h"

struct hg_http_server;
struct hg_http_req;
struct hg_identity;
struct hg_metrics;
struct hg_tls_server;

typedef void (*hg_http_dispatch_fn)(struct hg_http_req *req, void *arg);

/* Per-connection hook, called once after a TLS handshake completes with the
 * verified peer identity; its return value is kept with the connection and
 * given back by hg_http_req_conn_data(). Used to map a certificate to a
 * principal once per connection instead of once per request. */
typedef void *(*hg_http_conn_fn)(const struct hg_identity *id, void *arg);

/* The HTTP metric families, registered once per registry and shared by
 * every listener (the label "listener" or the route tells them apart). */
struct hg_http_metrics {
    struct hg_metric *requests;       /* haulgate_http_requests_total{route,code} */
    struct hg_metric *duration;       /* haulgate_http_request_duration_seconds{route} */
    struct hg_metric *handshake_fail; /* haulgate_tls_handshake_failures_total{reason} */
    struct hg_metric *conns;          /* haulgate_http_connections{listener} */
    struct hg_metric *refused;        /* haulgate_http_connections_refused_total{listener} */
};

/* Register the families in `m`. HG_EEXIST if already registered there. */
hg_status hg_http_metrics_register(struct hg_metrics *m, struct hg_http_metrics *out);

struct hg_http_server_opts {
    const char *name;            /* "api" or "admin": log and metric label */
    const char *host;
    int port;                    /* 0 = ephemeral; see hg_http_server_port */
    int threads;                 /* >= 1 */
    struct hg_tls_server *tls;   /* NULL = plain HTTP (admin on loopback) */
    size_t max_header_bytes;
    size_t max_body_bytes;
    int header_timeout_ms;
    int read_timeout_ms;
    int write_timeout_ms;
    int max_connections;
    size_t max_headers;          /* header fields per request; 0 = 100 */
    hg_http_dispatch_fn dispatch;
    void *dispatch_arg;
    hg_http_conn_fn on_conn;     /* may be NULL */
    void *on_conn_arg;
    const struct hg_http_metrics *metrics; /* may be NULL: no metrics */
    int log_requests;            /* one JSON log line per request */
};

/* Bind the listening sockets (so the port is known) but serve nothing yet. */
hg_status hg_http_server_new(const struct hg_http_server_opts *opts,
                             struct hg_http_server **out, struct hg_err *err);
/* Start the worker threads. */
hg_status hg_http_server_start(struct hg_http_server *s, struct hg_err *err);
int hg_http_server_port(const struct hg_http_server *s);

/* Graceful stop: close listeners and idle connections, let in-flight
 * requests finish (their responses carry Connection: close), then stop the
 * threads. Waits at most timeout_ms, then closes whatever is left. Returns
 * the number of connections that had to be cut. Safe from any thread except
 * the server's own workers. */
int hg_http_server_stop(struct hg_http_server *s, int timeout_ms);
void hg_http_server_free(struct hg_http_server *s);
/* Connections currently open. */
int hg_http_server_connections(const struct hg_http_server *s);

/* ---- request accessors (valid until the response is sent) ---- */
const char *hg_http_req_method(const struct hg_http_req *r);
/* Path without the query, percent-decoding NOT applied. */
const char *hg_http_req_path(const struct hg_http_req *r);
/* Query string after '?', or "" */
const char *hg_http_req_query(const struct hg_http_req *r);
/* First value of a header (case-insensitive), or NULL. */
const char *hg_http_req_header(const struct hg_http_req *r, const char *name);
/* How many times a header occurs. */
size_t hg_http_req_header_count(const struct hg_http_req *r, const char *name);
/* Iterate headers: returns 0 past the end. */
int hg_http_req_header_at(const struct hg_http_req *r, size_t i, const char **name,
                          const char **value);
const char *hg_http_req_body(const struct hg_http_req *r, size_t *len);
/* The verified peer identity (NULL on plain listeners). */
const struct hg_identity *hg_http_req_identity(const struct hg_http_req *r);
/* What on_conn returned for this connection. */
void *hg_http_req_conn_data(const struct hg_http_req *r);
/* A per-connection slot a handler may use to cache what never changes on a
 * connection (e.g. a serialised identity). NULL at first; whatever is
 * stored there is released with free() when the connection closes. */
void **hg_http_req_conn_cache(struct hg_http_req *r);
const char *hg_http_req_correlation_id(const struct hg_http_req *r);
const struct hg_traceparent *hg_http_req_trace(const struct hg_http_req *r);
const char *hg_http_req_peer(const struct hg_http_req *r); /* "ip:port" */

/* Route label for metrics/logs (the matched pattern, e.g. "/v1/tenders/{id}"). */
void hg_http_req_set_route(struct hg_http_req *r, const char *route);
/* Principal name for the request log line. */
void hg_http_req_set_principal(struct hg_http_req *r, const char *name);
/* One pointer of the dispatcher's per-request state (the authenticated
 * principal), released with user_free (may be NULL) when the request is
 * freed, after its response — so it outlives suspensions. Setting another
 * pointer releases the previous one. */
void hg_http_req_set_user(struct hg_http_req *r, void *user, void (*user_free)(void *));
void *hg_http_req_user(const struct hg_http_req *r);

/* ---- responses ---- */
/* Add a response header (copied). Names/values with CR or LF are refused.
 * HG_ETOOBIG past 32 headers. */
hg_status hg_http_resp_header(struct hg_http_req *r, const char *name, const char *value);
/* Send the response. body may be NULL for none. Exactly once per request. */
void hg_http_respond(struct hg_http_req *r, int status, const char *content_type,
                     const void *body, size_t len);
/* JSON body from a jansson json_t* (passed as void*; reference is stolen). */
void hg_http_respond_json(struct hg_http_req *r, int status, void *json);

/* ---- deferred responses ----
 * A handler that must wait (for the store's writer thread to commit, or for
 * a tender decision under `Prefer: wait`) suspends the request and returns
 * without answering. Later, exactly once, `fn(r, arg, timed_out)` runs on
 * the request's own worker thread and must answer it:
 *   - after someone calls hg_http_req_resume(r) (from any thread):
 *     timed_out = 0;
 *   - or, when timeout_ms > 0, after that long if no resume came first:
 *     timed_out = 1.
 * The request and its accessors stay valid until fn answers. If the client
 * disconnects meanwhile, fn still runs and its answer is dropped (counted
 * with status 499 in the request log). A suspended connection reads no
 * further requests until answered. A draining server waits for suspended
 * requests like any other in-flight request. */
typedef void (*hg_http_resume_fn)(struct hg_http_req *r, void *arg, int timed_out);

/* HG_OK; HG_ESTATE if already suspended or answered; HG_ENOMEM.
 * May be called again from inside fn (the request is not answered yet):
 * the request is then suspended anew with the new timeout, fn and arg,
 * and fn returning without an answer is not an error. */
hg_status hg_http_req_suspend(struct hg_http_req *r, int timeout_ms, hg_http_resume_fn fn,
                              void *arg);
/* Wake a suspended request. Any thread. Returns 1 if this call woke it, 0
 * if it had already been woken or had timed out. The caller must know that
 * `r` has not been answered yet: when a timeout is also set, guard the
 * pointer with a lock that fn takes before answering (see api/ waiters). */
int hg_http_req_resume(struct hg_http_req *r);

#endif
