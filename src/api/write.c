/* SPDX-License-Identifier: Apache-2.0
 *
 * write.c — one mutating request from start to answer (docs/tenders.md):
 * its response is built before anything is written, then the change, its
 * history row, outbox event, audit record and — when the request carries
 * an Idempotency-Key — the stored response go to the store as ONE job; the
 * request is suspended and answered only after the job's done() says the
 * group is durable. A crash therefore never leaves a change without its
 * stored response, event or audit record, nor the other way round. A job
 * that cannot be queued (HG_EBUSY) changes nothing and answers 503 with
 * Retry-After; nothing a client sends is ever answered with a 500.
 *
 * Phases (struct api_op.phase): START in the handler; COMMIT while the
 * change is queued; STORE_ERROR while a 400/422 is stored under its key;
 * WAIT while a Prefer: wait request waits for a decision; REPLACE while the
 * final response of a wait replaces the stored one. Each suspension is
 * answered by op_resumed on the request's worker thread.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "audit/audit_record.h"
#include "common/util.h"
#include "obs/log.h"
#include "obs/trace.h"

/* ---------------------------------------------------------------- answers */

void api__resp_clear(struct api_resp *rs)
{
    free(rs->body);
    memset(rs, 0, sizeof *rs);
}

hg_status api__resp_text(struct api_resp *rs, int status, const char *text, size_t n)
{
    char *b = malloc(n + 1);
    if (!b)
        return HG_ENOMEM;
    memcpy(b, text, n);
    b[n] = '\0';
    free(rs->body);
    rs->body = b;
    rs->len = n;
    rs->status = status;
    rs->ctype = "application/json";
    return HG_OK;
}

hg_status api__resp_json(struct api_resp *rs, int status, json_t *doc)
{
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!s)
        return HG_ENOMEM;
    free(rs->body);
    rs->body = s;
    rs->len = strlen(s);
    rs->status = status;
    rs->ctype = "application/json";
    return HG_OK;
}

hg_status api__resp_problem(struct api_resp *rs, struct hg_http_req *r, enum hg_problem p,
                            json_t *ext, const char *detail)
{
    json_t *o = hg_problem_json(p, detail, hg_http_req_path(r), hg_http_req_correlation_id(r),
                                ext);
    hg_status rc = api__resp_json(rs, hg_problem_status(p), o);
    rs->ctype = "application/problem+json";
    return rc;
}

void api__resp_send(struct hg_http_req *r, const struct api_resp *rs)
{
    if (rs->location[0])
        hg_http_resp_header(r, "Location", rs->location);
    if (rs->etag[0])
        hg_http_resp_header(r, "ETag", rs->etag);
    if (rs->pref[0])
        hg_http_resp_header(r, "Preference-Applied", rs->pref);
    if (rs->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", rs->retry_after);
        hg_http_resp_header(r, "Retry-After", ra);
    }
    hg_http_respond(r, rs->status, rs->ctype, rs->body, rs->body ? rs->len : 0);
}

/* Answer at once with a problem that is never stored (not the request's
 * fault, or about its form rather than its content). */
static void send_problem(struct hg_http_req *r, enum hg_problem p, json_t *ext, int retry_after,
                         const char *detail)
{
    struct api_resp rs = {0};
    if (api__resp_problem(&rs, r, p, ext, detail) != HG_OK) {
        hg_problem_send(r, HG_PROB_UNAVAILABLE, NULL, "out of memory; retry");
        return;
    }
    rs.retry_after = retry_after;
    api__resp_send(r, &rs);
    api__resp_clear(&rs);
}

/* ------------------------------------------------------------------ ops */

void api__op_free(struct api_op *op)
{
    if (!op)
        return;
    if (op->api->st) {
        if (op->waiter.tender_id[0])
            api__waiter_remove(&op->api->st->waiters, &op->waiter);
        if (op->claimed)
            api__inflight_release(&op->api->st->inflight, op->who_name, op->key);
    }
    free(op->idem_headers);
    free(op->doc);
    free(op->ev_data);
    hg_buf_cleanup(&op->audit_rec);
    api__resp_clear(&op->resp);
    api__resp_clear(&op->first);
    free(op);
}

/* Answer rs and finish: the claim is released only once the answer is out
 * (and any record of it durable), so a retry sees the stored response. */
static void finish(struct api_op *op, const struct api_resp *rs)
{
    api__resp_send(op->r, rs);
    api__op_free(op);
}

void api__op_answer(struct api_op *op)
{
    finish(op, &op->resp);
}

/* Not the request's fault, so never stored: 503 with Retry-After. */
static void finish_unavailable(struct api_op *op, enum hg_problem p, const char *detail)
{
    send_problem(op->r, p, NULL, 1, detail);
    api__op_free(op);
}

struct api_op *api__op_begin(struct hg_http_req *r, struct hg_api *api, const char *pattern)
{
    const struct hg_principal *who = api__who(r);
    if (!api->store || !api->st || !who) {
        send_problem(r, HG_PROB_UNAVAILABLE, NULL, 1,
                     "the tender store is not open yet; retry shortly");
        return NULL;
    }
    struct api_op *op = calloc(1, sizeof *op);
    if (!op) {
        send_problem(r, HG_PROB_UNAVAILABLE, NULL, 1, "out of memory; retry");
        return NULL;
    }
    op->api = api;
    op->r = r;
    op->who = who;
    hg_strlcpy(op->who_name, who->name, sizeof op->who_name);
    op->now_ms = hg_wall_ms();
    hg_buf_init(&op->audit_rec, HG_AUDIT_RECORD_MAX);
    if (api__tenant(who, op->tenant) != HG_OK) {
        send_problem(r, HG_PROB_FORBIDDEN, NULL, 0,
                     "the principal's tenant name is longer than 64 bytes, which the store "
                     "cannot hold; shorten it under clients: in the configuration");
        api__op_free(op);
        return NULL;
    }
    const struct api_idem_route *ir = api__idem_route(hg_http_req_method(r), pattern);
    if (!ir)
        return op;
    /* every occurrence: two Idempotency-Key fields are an error */
    const char *values[4];
    size_t n = 0;
    const char *name, *value;
    for (size_t i = 0; hg_http_req_header_at(r, i, &name, &value); i++)
        if (!strcasecmp(name, "Idempotency-Key") && n < sizeof values / sizeof values[0])
            values[n++] = value;
    const char *why = NULL;
    hg_status rc = hg_idem_key_parse(values, n, op->key, &why);
    if (rc == HG_ENOTFOUND) {
        if (ir->required) {
            send_problem(r, HG_PROB_IDEMPOTENCY_KEY_MISSING, NULL, 0,
                         "this request needs an Idempotency-Key header (a quoted string such "
                         "as \"3f9c...\", 1 to 255 characters, unique per request); retries of "
                         "the same request must send the same key");
            api__op_free(op);
            return NULL;
        }
        return op;
    }
    if (rc != HG_OK) {
        send_problem(r, HG_PROB_IDEMPOTENCY_KEY_INVALID, NULL, 0,
                     why ? why : "the Idempotency-Key header is malformed");
        api__op_free(op);
        return NULL;
    }
    op->has_key = 1;
    size_t blen = 0;
    const char *body = hg_http_req_body(r, &blen);
    const char *path = hg_http_req_path(r), *query = hg_http_req_query(r);
    char target[4096];
    int tn = snprintf(target, sizeof target, "%s%s%s", path, query[0] ? "?" : "", query);
    if (tn < 0 || (size_t)tn >= sizeof target) {
        /* cannot happen under the head limit, but never fingerprint a cut path */
        send_problem(r, HG_PROB_BAD_REQUEST, NULL, 0, "the request target is too long");
        api__op_free(op);
        return NULL;
    }
    hg_idem_fingerprint(hg_http_req_method(r), target, body, blen, op->fp);
    return op;
}

void api__op_problem(struct api_op *op, enum hg_problem p, json_t *ext, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    api__resp_clear(&op->resp);
    if (api__resp_problem(&op->resp, op->r, p, ext, detail) != HG_OK) {
        finish_unavailable(op, HG_PROB_UNAVAILABLE, "out of memory; retry");
        return;
    }
    /* the answers that mean "later" say when */
    if (p == HG_PROB_UNAVAILABLE || p == HG_PROB_OVERLOADED ||
        p == HG_PROB_IDEMPOTENCY_KEY_IN_FLIGHT)
        op->resp.retry_after = 1;
    /* What the request says is wrong with itself is part of its stored
     * answer (a retry gets the same 400/422); what depends on the
     * resource's current state (404, 409, 412, 428) or on headers outside
     * the fingerprint (415) is not, so a retry after fixing it works. */
    int storable = p == HG_PROB_INVALID_BODY || p == HG_PROB_BUSINESS_RULE ||
                   p == HG_PROB_INVALID_PARAMETER || p == HG_PROB_BAD_REQUEST;
    if (op->claimed && op->phase == OP_START && storable) {
        memset(&op->w, 0, sizeof op->w);
        op->w.op = HG_SOP_NONE;
        op->phase = OP_STORE_ERROR;
        api__op_commit(op);
        return;
    }
    api__op_answer(op);
}

void api__op_verr(struct api_op *op, const struct hg_verr *e)
{
    enum hg_problem p = e->status == 422 ? HG_PROB_BUSINESS_RULE : HG_PROB_INVALID_BODY;
    api__op_problem(op, p, json_pack("{s:s}", "pointer", e->pointer), "%s", e->detail);
}

/* --------------------------------------------------------------- records */

hg_status api__op_event(struct api_op *op, const char *type, const char *subject, json_t *data)
{
    free(op->ev_data);
    op->ev_data = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (!op->ev_data)
        return HG_ENOMEM;
    memset(&op->ev, 0, sizeof op->ev);
    if (hg_uuid7(op->ev.id) != HG_OK)
        return HG_ECRYPTO;
    hg_strlcpy(op->ev.type, type, sizeof op->ev.type);
    hg_strlcpy(op->ev.subject, subject, sizeof op->ev.subject);
    op->ev.time_ms = op->now_ms;
    hg_strlcpy(op->ev.correlation_id, hg_http_req_correlation_id(op->r),
               sizeof op->ev.correlation_id);
    char tp[HG_TRACEPARENT_LEN + 1];
    hg_traceparent_format(hg_http_req_trace(op->r), tp);
    hg_strlcpy(op->ev.traceparent, tp, sizeof op->ev.traceparent);
    op->ev.data = op->ev_data;
    op->ev.data_len = strlen(op->ev_data);
    op->w.events = &op->ev;
    op->w.nevents = 1;
    return HG_OK;
}

hg_status api__op_audit(struct api_op *op, const char *event_type, const char *reason,
                        json_t *details)
{
    char hex[65];
    struct hg_audit_record rec = {
        .timestamp_ms = op->now_ms,
        .service = "haulgated",
        .event_type = event_type,
        .request_id = hg_http_req_correlation_id(op->r),
        .identity =
            {
                .subject = op->who->name,
                .roles = op->who->roles,
                .nroles = op->who->nroles,
                .cert_thumbprint = api__thumb_hex(hg_http_req_identity(op->r), hex),
            },
        .decision = "allow",
        .reason = reason,
        .details = details,
    };
    struct hg_err err;
    hg_err_clear(&err);
    hg_buf_reset(&op->audit_rec);
    hg_status rc = hg_audit_record_encode(&rec, &op->audit_rec, &err);
    json_decref(details);
    if (rc != HG_OK) {
        hg_log(HG_LOG_ERROR, "cannot encode the audit record of a change",
               HG_LF_STR("event_type", event_type),
               HG_LF_STR("correlation_id", hg_http_req_correlation_id(op->r)),
               HG_LF_STR("error", hg_err_msg(&err)), HG_LF_END);
        return rc;
    }
    memset(&op->aud, 0, sizeof op->aud);
    op->aud.record = op->audit_rec.data;
    op->aud.record_len = op->audit_rec.len;
    op->w.audit = &op->aud;
    op->w.naudit = 1;
    return HG_OK;
}

/* The stored form of op->resp under the request's key: status, body and
 * the headers a replay sends back byte for byte. */
static hg_status build_idem(struct api_op *op)
{
    const struct api_resp *rs = &op->resp;
    json_t *h = json_object();
    if (!h)
        return HG_ENOMEM;
    if (rs->ctype)
        json_object_set_new(h, "Content-Type", json_string(rs->ctype));
    if (rs->location[0])
        json_object_set_new(h, "Location", json_string(rs->location));
    if (rs->etag[0])
        json_object_set_new(h, "ETag", json_string(rs->etag));
    if (rs->pref[0])
        json_object_set_new(h, "Preference-Applied", json_string(rs->pref));
    free(op->idem_headers);
    op->idem_headers = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(h);
    if (!op->idem_headers)
        return HG_ENOMEM;
    struct hg_store_idem *d = &op->idem;
    memset(d, 0, sizeof *d);
    hg_strlcpy(d->principal, op->who->name, sizeof d->principal);
    hg_strlcpy(d->key, op->key, sizeof d->key);
    memcpy(d->fingerprint, op->fp, sizeof d->fingerprint);
    d->status = rs->status;
    d->headers = op->idem_headers;
    d->body = rs->body ? rs->body : (char *)"";
    d->body_len = rs->body ? rs->len : 0;
    int64_t now = hg_wall_ms();
    d->created_ms = now;
    d->expires_ms = now + op->api->cfg->idempotency.ttl_ms;
    op->w.idem = d;
    return HG_OK;
}

/* ------------------------------------------------------------ the job */

static void op_resumed(struct hg_http_req *r, void *arg, int timed_out);

/* Writer thread, after the group holding the job is durable (or failed):
 * hand the request back to its worker. Nothing after the resume: the
 * worker may free the op at once. */
static void job_done(struct hg_store_write *w, void *arg)
{
    (void)w;
    struct api_op *op = arg;
    hg_http_req_resume(op->r);
}

/* Suspend, then queue op->w (in that order: done() may run before
 * hg_store_submit returns). A job that cannot be queued resumes the
 * request itself with the reason in w.result. */
static void submit(struct api_op *op)
{
    op->w.done = job_done;
    op->w.arg = op;
    if (hg_http_req_suspend(op->r, 0, op_resumed, op) != HG_OK) {
        finish_unavailable(op, HG_PROB_UNAVAILABLE, "out of memory; retry");
        return;
    }
    hg_status rc = hg_store_submit(op->api->store, &op->w);
    if (rc != HG_OK) {
        op->w.result = rc;
        op->submit_failed = 1;
        hg_http_req_resume(op->r);
    }
}

void api__op_commit(struct api_op *op)
{
    if (op->phase == OP_START)
        op->phase = OP_COMMIT;
    op->w.idem = NULL;
    op->w.idem_replace = 0;
    if (op->has_key && op->claimed && build_idem(op) != HG_OK) {
        finish_unavailable(op, HG_PROB_UNAVAILABLE, "out of memory; retry");
        return;
    }
    submit(op);
}

/* The store could not take or commit the change: nothing was written (a
 * job's rows commit together or not at all). */
static void commit_failed(struct api_op *op)
{
    hg_status rc = op->w.result;
    struct hg_http_req *r = op->r;
    switch (rc) {
    case HG_EBUSY:
        finish_unavailable(op, HG_PROB_OVERLOADED,
                           "the write queue is full; nothing was written; retry after "
                           "Retry-After with the same Idempotency-Key");
        return;
    case HG_ECONFLICT: {
        /* the tender moved between our read and the commit */
        struct hg_store_tender cur;
        memset(&cur, 0, sizeof cur);
        if (hg_store_tender_get(op->api->store, op->tender_id, &cur) == HG_OK) {
            char etag[32];
            snprintf(etag, sizeof etag, "\"%" PRId64 "\"", cur.version);
            hg_store_tender_free(&cur);
            send_problem(r, HG_PROB_PRECONDITION_FAILED,
                         json_pack("{s:s}", "currentEtag", etag), 0,
                         "the tender changed while this request was being processed; read it "
                         "again and retry with If-Match set to its current ETag");
            api__op_free(op);
            return;
        }
        hg_store_tender_free(&cur);
    }
        /* gone meanwhile */
        __attribute__((fallthrough));
    case HG_ENOTFOUND:
        send_problem(r, HG_PROB_NOT_FOUND, NULL, 0, "no such resource (it was removed meanwhile)");
        api__op_free(op);
        return;
    case HG_EEXIST:
        /* another process holds the key (the in-flight set is per process) */
        send_problem(r, HG_PROB_IDEMPOTENCY_KEY_IN_FLIGHT, NULL, 1,
                     "another request with this Idempotency-Key completed or is running; "
                     "retry after Retry-After to get its response");
        api__op_free(op);
        return;
    default:
        hg_log(HG_LOG_ERROR, "a write to the store failed",
               HG_LF_STR("status", hg_status_name(rc)), HG_LF_STR("detail", op->w.detail),
               HG_LF_STR("correlation_id", hg_http_req_correlation_id(r)), HG_LF_END);
        finish_unavailable(op, HG_PROB_UNAVAILABLE,
                           "the store could not write the change; nothing was written; retry "
                           "with the same Idempotency-Key");
        return;
    }
}

/* ---------------------------------------------------------- Prefer: wait */

/* The wait is over (decided, timed out, or never armed): the final answer
 * is the tender as it is now; it replaces the stored response before it is
 * sent (suspended again, REPLACE), or, if that cannot be done, the stored
 * response is the answer. */
static void wait_over(struct api_op *op)
{
    api__waiter_remove(&op->api->st->waiters, &op->waiter);
    op->waiter.tender_id[0] = '\0';
    struct hg_store_tender cur;
    memset(&cur, 0, sizeof cur);
    hg_status rc = hg_store_tender_get(op->api->store, op->tender_id, &cur);
    struct api_resp fin = {0};
    if (rc == HG_OK)
        rc = api__resp_text(&fin, op->resp.status, cur.doc, cur.doc_len);
    if (rc == HG_OK) {
        memcpy(fin.location, op->resp.location, sizeof fin.location);
        memcpy(fin.pref, op->resp.pref, sizeof fin.pref);
        snprintf(fin.etag, sizeof fin.etag, "\"%" PRId64 "\"", cur.version);
    }
    hg_store_tender_free(&cur);
    if (rc != HG_OK) {
        /* what is stored stays the answer: consistent with any replay */
        api__resp_clear(&fin);
        api__op_answer(op);
        return;
    }
    op->first = op->resp;
    op->resp = fin;
    memset(&op->w, 0, sizeof op->w);
    op->w.op = HG_SOP_NONE;
    op->phase = OP_REPLACE;
    if (build_idem(op) != HG_OK) {
        finish(op, &op->first);
        return;
    }
    op->w.idem_replace = 1;
    submit(op);
}

int api__op_wait_start(struct api_op *op)
{
    op->phase = OP_WAIT;
    int armed = api__waiter_arm(&op->api->st->waiters, &op->waiter, op->r, op->wait_ms,
                                op_resumed, op);
    if (armed < 0) { /* could not suspend: answer what is stored */
        op->waiter.tender_id[0] = '\0';
        api__op_answer(op);
    } else if (armed == 0) { /* decided before the commit was answered */
        wait_over(op);
    }
    return 1;
}

/* ------------------------------------------------------------- resuming */

static void op_resumed(struct hg_http_req *r, void *arg, int timed_out)
{
    (void)r;
    (void)timed_out;
    struct api_op *op = arg;
    switch (op->phase) {
    case OP_START:
    case OP_COMMIT:
        if (op->w.result != HG_OK) {
            commit_failed(op);
            return;
        }
        if (op->committed && op->committed(op))
            return; /* the hook took the op over */
        api__op_answer(op);
        return;
    case OP_STORE_ERROR:
        if (op->w.result != HG_OK)
            hg_log(HG_LOG_WARN, "an error response was not stored under its key",
                   HG_LF_STR("status", hg_status_name(op->w.result)),
                   HG_LF_STR("correlation_id", hg_http_req_correlation_id(op->r)), HG_LF_END);
        api__op_answer(op);
        return;
    case OP_WAIT:
        wait_over(op);
        return;
    case OP_REPLACE:
        if (op->w.result != HG_OK) {
            hg_log(HG_LOG_WARN, "the final Prefer: wait response was not stored; answering "
                                "the stored one",
                   HG_LF_STR("status", hg_status_name(op->w.result)),
                   HG_LF_STR("correlation_id", hg_http_req_correlation_id(op->r)), HG_LF_END);
            finish(op, &op->first);
            return;
        }
        api__op_answer(op);
        return;
    }
}
