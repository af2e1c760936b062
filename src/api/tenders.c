/* SPDX-License-Identifier: Apache-2.0
 *
 * tenders.c — /v1/tenders: create (Idempotency-Key required, Prefer: wait),
 * read with ETag/If-None-Match, list with filters and opaque cursors,
 * history, matching against live capacity offers, transitions and cancel
 * (If-Match required, Idempotency-Key accepted). The rules are tender/'s;
 * this file only moves them between HTTP and the store: every change is
 * one store job (api/write.c) holding the tender row, its history row, its
 * outbox event, its audit record and its stored response, and is answered
 * only once durable. A tender another tenant owns answers 404.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/params.h"
#include "common/util.h"
#include "obs/log.h"

#define MATCH_PAGE 500                    /* offers parsed at a time */

/* ---------------------------------------------------------------- helpers */

static void corrupt(struct hg_http_req *r, const char *id, const char *detail)
{
    hg_log(HG_LOG_ERROR, "a stored tender does not parse", HG_LF_STR("tender_id", id),
           HG_LF_STR("error", detail), HG_LF_END);
    hg_problem_send(r, HG_PROB_INTERNAL, NULL,
                    "the stored tender could not be read back; the server log has the details "
                    "under this correlation id");
}

static void not_found(struct hg_http_req *r, const char *id)
{
    hg_problem_send(r, HG_PROB_NOT_FOUND, NULL, "no tender with id '%.64s'", id);
}

/* Load tender `id` as principal who/tenant may see it: 1 with *row, or 0
 * when answered (404 for absent and for another tenant's, 503). */
static int load_row(struct hg_http_req *r, struct hg_api *api, const char *tenant,
                    const char *raw, struct hg_store_tender *row)
{
    memset(row, 0, sizeof *row);
    char id[37];
    if (!hg_uuid_norm(raw, strlen(raw), id)) {
        not_found(r, raw);
        return 0;
    }
    hg_status rc = hg_store_tender_get(api->store, id, row);
    if (rc == HG_OK && !api__tenant_visible(api__who(r), tenant, row->tenant))
        rc = HG_ENOTFOUND;
    if (rc == HG_OK)
        return 1;
    hg_store_tender_free(row);
    if (rc == HG_ENOTFOUND)
        not_found(r, id);
    else
        api__store_unavailable(r, rc, "tender");
    return 0;
}

/* The domain tender of a stored row (tenant and owner are columns). */
static hg_status row_tender(const struct hg_store_tender *row, struct hg_tender *t,
                            struct hg_verr *e)
{
    json_error_t jerr;
    json_t *doc = json_loadb(row->doc, row->doc_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        snprintf(e->detail, sizeof e->detail, "%s", jerr.text);
        return HG_EINVAL;
    }
    hg_status rc = hg_tender_from_json(doc, t, e);
    json_decref(doc);
    if (rc == HG_OK) {
        hg_strlcpy(t->tenant, row->tenant, sizeof t->tenant);
        hg_strlcpy(t->owner, row->owner, sizeof t->owner);
    }
    return rc;
}

/* The row the store keeps for t; doc is borrowed. */
static void fill_row(struct hg_store_tender *row, const struct hg_tender *t, char *doc)
{
    memset(row, 0, sizeof *row);
    hg_strlcpy(row->id, t->id, sizeof row->id);
    hg_strlcpy(row->tenant, t->tenant, sizeof row->tenant);
    hg_strlcpy(row->owner, t->owner, sizeof row->owner);
    hg_strlcpy(row->tms_load_id, t->tms_load_id, sizeof row->tms_load_id);
    hg_strlcpy(row->state, hg_tender_state_name(t->state), sizeof row->state);
    row->version = t->version;
    row->created_ms = t->created_ms;
    row->updated_ms = t->updated_ms;
    hg_strlcpy(row->lane, t->lane, sizeof row->lane);
    hg_strlcpy(row->region, t->region, sizeof row->region);
    row->doc = doc;
    row->doc_len = strlen(doc);
}

static void fill_history(struct api_op *op, const char *id, const char *from, const char *to,
                         const char *reason)
{
    struct hg_store_history *h = &op->hist;
    memset(h, 0, sizeof *h);
    hg_strlcpy(h->tender_id, id, sizeof h->tender_id);
    hg_strlcpy(h->from_state, from, sizeof h->from_state);
    hg_strlcpy(h->to_state, to, sizeof h->to_state);
    hg_strlcpy(h->actor, op->who->name, sizeof h->actor);
    hg_strlcpy(h->reason, reason, sizeof h->reason);
    h->at_ms = op->now_ms;
    hg_strlcpy(h->correlation_id, hg_http_req_correlation_id(op->r), sizeof h->correlation_id);
    op->w.history = h;
    op->w.nhistory = 1;
}

/* A decision state: where a Prefer: wait on creation stops waiting. */
static int decided(enum hg_tender_state s)
{
    return s != HG_TS_PENDING && s != HG_TS_OFFERED;
}

/* ------------------------------------------------------------ create */

/* The Prefer: wait asked for, capped at tenders.max_wait (whole seconds).
 * -1 when none (or one we ignore). */
static int64_t wanted_wait(struct hg_http_req *r, const struct hg_config *cfg)
{
    char prefer[1024];
    int n = api__join_header(r, "Prefer", prefer, sizeof prefer);
    int64_t secs;
    if (n <= 0 || !api__prefer_wait(prefer, strlen(prefer), &secs))
        return -1; /* absent, longer than we read, or no usable wait */
    int64_t cap = cfg->tenders.max_wait_ms / 1000;
    return secs < cap ? secs : cap;
}

void hg_api_tender_create(struct hg_http_req *r, struct hg_api *api,
                          const struct hg_route_params *p)
{
    (void)p;
    struct api_op *op = api__op_begin(r, api, API_P_TENDERS);
    if (!op || !api__require_json(op))
        return;
    int64_t wait = wanted_wait(r, api->cfg);
    if (!api__op_idem(op))
        return;
    size_t blen = 0;
    const char *body = hg_http_req_body(r, &blen);
    struct hg_tender t;
    struct hg_verr e;
    memset(&e, 0, sizeof e);
    hg_status rc = hg_tender_parse(body, blen, op->now_ms, &t, &e);
    if (rc == HG_EINVAL) {
        api__op_verr(op, &e);
        return;
    }
    if (rc != HG_OK) {
        api__op_problem(op, HG_PROB_UNAVAILABLE, NULL, "out of memory reading the body; retry");
        return;
    }
    json_t *doc = NULL;
    if (hg_uuid7(t.id) != HG_OK)
        goto oom;
    t.state = HG_TS_PENDING;
    t.version = 1;
    t.created_ms = t.updated_ms = op->now_ms;
    hg_strlcpy(t.correlation_id, hg_http_req_correlation_id(r), sizeof t.correlation_id);
    hg_strlcpy(t.tenant, op->tenant, sizeof t.tenant);
    hg_strlcpy(t.owner, op->who->name, sizeof t.owner);
    hg_strlcpy(op->tender_id, t.id, sizeof op->tender_id);
    doc = hg_tender_to_json(&t);
    op->doc = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (!op->doc)
        goto oom;
    op->w.op = HG_SOP_TENDER_INSERT;
    fill_row(&op->w.tender, &t, op->doc);
    fill_history(op, t.id, "", "pending", "created");
    json_incref(doc);
    if (api__op_event(op, "com.haulgate.tender.created", t.id, doc) != HG_OK)
        goto oom;
    if (api__op_audit(op, "tender.created", "tender created",
                      json_pack("{s:s, s:n, s:s, s:I}", "tender_id", t.id, "from", "to",
                                "pending", "version", (json_int_t)1)) != HG_OK)
        goto oom;
    if (api__resp_text(&op->resp, 201, op->doc, strlen(op->doc)) != HG_OK)
        goto oom;
    snprintf(op->resp.location, sizeof op->resp.location, "/v1/tenders/%s", t.id);
    api__etag(1, op->resp.etag);
    if (wait >= 0) {
        snprintf(op->resp.pref, sizeof op->resp.pref, "wait=%" PRId64, wait);
        if (wait > 0) {
            op->wait_ms = (int)(wait * 1000);
            op->wait_secs = (int)wait;
            /* linked before the job is queued: a decision made between the
             * commit and the wait is seen */
            hg_strlcpy(op->waiter.tender_id, t.id, sizeof op->waiter.tender_id);
            api__waiter_add(&api->st->waiters, &op->waiter);
            op->committed = api__op_wait_start;
        }
    }
    json_decref(doc);
    hg_tender_clear(&t);
    api__op_commit(op);
    return;
oom:
    json_decref(doc);
    hg_tender_clear(&t);
    api__op_problem(op, HG_PROB_UNAVAILABLE, NULL, "out of memory building the tender; retry");
}

/* -------------------------------------------------------------- read */

void hg_api_tender_get(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p)
{
    char tenant[65];
    struct hg_store_tender row;
    if (!api__read_begin(r, api, tenant) || !load_row(r, api, tenant, p->values[0], &row))
        return;
    char etag[32];
    api__etag(row.version, etag);
    hg_http_resp_header(r, "ETag", etag);
    char inm[2048];
    int n = api__join_header(r, "If-None-Match", inm, sizeof inm);
    struct api_etags tags;
    /* a malformed If-None-Match is ignored: the full answer is always safe */
    if (n > 0 && api__etags_parse(inm, strlen(inm), &tags) == HG_OK &&
        api__etags_match_weak(&tags, row.version)) {
        hg_http_respond(r, 304, NULL, NULL, 0);
    } else {
        hg_http_respond(r, 200, "application/json", row.doc, row.doc_len);
    }
    hg_store_tender_free(&row);
}

/* ------------------------------------------------------------------ list */

void hg_api_tender_list(struct hg_http_req *r, struct hg_api *api,
                        const struct hg_route_params *p)
{
    (void)p;
    static const char *const allowed[] = {"state", "updatedAfter", "lane", "limit", "cursor",
                                          NULL};
    char tenant[65];
    struct hg_query q;
    size_t limit;
    int64_t after_ms;
    if (!api__read_begin(r, api, tenant) || !api__query(r, allowed, &q) ||
        !api__limit(r, &q, 100, 500, &limit) || !api__time_param(r, &q, "updatedAfter", &after_ms))
        return;
    const char *state = hg_query_get(&q, "state");
    enum hg_tender_state st;
    if (state && hg_tender_state_parse(state, &st) != HG_OK) {
        api__bad_param(r, "state",
                       "state must be one of pending, offered, accepted, rejected, expired, "
                       "dispatched, enroute, delivered, cancelled, failed_over");
        return;
    }
    const char *lane = hg_query_get(&q, "lane");
    const char *tfilter = api__tenant_filter(api__who(r), tenant);
    char after_txt[24];
    snprintf(after_txt, sizeof after_txt, "%" PRId64, after_ms);
    const char *parts[] = {"tenders", state, after_ms >= 0 ? after_txt : NULL, lane, tfilter};
    uint64_t fh = api__filters_hash(parts, sizeof parts / sizeof parts[0]);
    char after_id[37];
    if (!api__cursor_param(r, &q, fh, after_id))
        return;
    struct hg_store_tender_filter f = {
        .tenant = tfilter,
        .state = state,
        .lane = lane,
        .updated_after_ms = after_ms,
        .after_id = after_id[0] ? after_id : NULL,
        .limit = limit + 1, /* one past the page: is there more? */
    };
    struct hg_store_tender *rows = NULL;
    size_t n = 0;
    hg_status rc = hg_store_tender_list(api->store, &f, &rows, &n);
    if (rc != HG_OK) {
        api__store_unavailable(r, rc, "tender list");
        return;
    }
    struct api_item *items = calloc(n ? n : 1, sizeof *items);
    if (!items) {
        hg_store_tender_list_free(rows, n);
        hg_problem_send(r, HG_PROB_INTERNAL, NULL, "out of memory building the list");
        return;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = (struct api_item){rows[i].id, rows[i].doc, rows[i].doc_len};
    api__send_page(r, items, n, limit, fh);
    free(items);
    hg_store_tender_list_free(rows, n);
}

/* --------------------------------------------------------------- history */

void hg_api_tender_history(struct hg_http_req *r, struct hg_api *api,
                           const struct hg_route_params *p)
{
    char tenant[65];
    struct hg_store_tender row;
    if (!api__read_begin(r, api, tenant) || !load_row(r, api, tenant, p->values[0], &row))
        return;
    char id[37];
    hg_strlcpy(id, row.id, sizeof id);
    hg_store_tender_free(&row);
    struct hg_store_history *h = NULL;
    size_t n = 0;
    hg_status rc = hg_store_tender_history(api->store, id, &h, &n);
    if (rc != HG_OK) {
        api__store_unavailable(r, rc, "tender history");
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        char at[HG_RFC3339_LEN + 1];
        hg_rfc3339(h[i].at_ms, at);
        json_t *it = json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:s}", "seq", (json_int_t)h[i].seq,
                               "from", h[i].from_state[0] ? json_string(h[i].from_state) : json_null(),
                               "to", h[i].to_state, "actor", h[i].actor, "reason", h[i].reason,
                               "at", at, "correlationId", h[i].correlation_id);
        if (!it || json_array_append_new(items, it) != 0) {
            json_decref(items);
            items = NULL;
        }
    }
    free(h);
    hg_http_respond_json(r, 200, items ? json_pack("{s:o}", "items", items) : NULL);
}

/* --------------------------------------------------------------- matches */

/* Keep the best `keep` of `offers` (n, compacted in place, best first)
 * by the domain's own ranking. Returns how many are left. */
static size_t keep_best(const struct hg_tender *t, struct hg_offer *offers, size_t n,
                        int64_t now, struct hg_match *m, size_t keep, struct hg_offer *tmp)
{
    size_t got = hg_tender_match(t, offers, n, now, m, keep);
    if (got > keep)
        got = keep;
    for (size_t i = 0; i < got; i++)
        tmp[i] = offers[m[i].index];
    memcpy(offers, tmp, got * sizeof *offers);
    return got;
}

void hg_api_tender_matches(struct hg_http_req *r, struct hg_api *api,
                           const struct hg_route_params *p)
{
    static const char *const allowed[] = {"limit", NULL};
    char tenant[65];
    struct hg_query q;
    size_t limit;
    struct hg_store_tender row;
    if (!api__read_begin(r, api, tenant) || !api__query(r, allowed, &q) ||
        !api__limit(r, &q, 20, 100, &limit) || !load_row(r, api, tenant, p->values[0], &row))
        return;
    struct hg_tender t;
    struct hg_verr e;
    memset(&e, 0, sizeof e);
    if (row_tender(&row, &t, &e) != HG_OK) {
        corrupt(r, row.id, e.detail);
        hg_store_tender_free(&row);
        return;
    }
    hg_store_tender_free(&row);
    int64_t now = hg_wall_ms();
    /* Page through the live offers of the tender's tenant, keeping only the
     * best `limit` so far (finalists) plus the best `limit` of each page,
     * so memory stays bounded however many offers there are. */
    struct hg_offer *page = calloc(MATCH_PAGE, sizeof *page);
    struct hg_offer *fin = calloc(2 * limit, sizeof *fin);
    struct hg_offer *tmp = calloc(MATCH_PAGE, sizeof *tmp);
    struct hg_match *m = calloc(MATCH_PAGE > 2 * limit ? MATCH_PAGE : 2 * limit, sizeof *m);
    json_t *items = NULL;
    size_t nfin = 0, evaluated = 0;
    char after[37] = "";
    hg_status rc = page && fin && tmp && m ? HG_OK : HG_ENOMEM;
    while (rc == HG_OK) {
        struct hg_store_offer_filter f = {
            .tenant = t.tenant,
            .window_start_ms = -1,
            .window_end_ms = -1,
            .live_at_ms = now,
            .after_id = after[0] ? after : NULL,
            .limit = MATCH_PAGE,
        };
        struct hg_store_offer *rows = NULL;
        size_t n = 0;
        rc = hg_store_offer_list(api->store, &f, &rows, &n);
        if (rc != HG_OK)
            break;
        size_t np = 0;
        for (size_t i = 0; i < n; i++) {
            json_error_t jerr;
            json_t *d = json_loadb(rows[i].doc, rows[i].doc_len, 0, &jerr);
            struct hg_verr oe;
            if (d && hg_offer_from_json(d, &page[np], &oe) == HG_OK) {
                hg_strlcpy(page[np].tenant, rows[i].tenant, sizeof page[np].tenant);
                np++;
            } else {
                hg_log(HG_LOG_ERROR, "a stored capacity offer does not parse; skipped",
                       HG_LF_STR("capacity_id", rows[i].id), HG_LF_END);
            }
            json_decref(d);
        }
        if (n > 0)
            hg_strlcpy(after, rows[n - 1].id, sizeof after);
        hg_store_offer_list_free(rows, n);
        evaluated += np;
        size_t best = keep_best(&t, page, np, now, m, limit, tmp);
        memcpy(fin + nfin, page, best * sizeof *fin);
        nfin = keep_best(&t, fin, nfin + best, now, m, limit, tmp);
        if (n < MATCH_PAGE)
            break;
    }
    if (rc == HG_OK) {
        size_t got = hg_tender_match(&t, fin, nfin, now, m, limit);
        if (got > limit)
            got = limit;
        items = json_array();
        for (size_t i = 0; items && i < got; i++) {
            const struct hg_offer *o = &fin[m[i].index];
            char ws[HG_RFC3339_LEN + 1], we[HG_RFC3339_LEN + 1];
            hg_rfc3339(o->available.start_ms, ws);
            hg_rfc3339(o->available.end_ms, we);
            json_t *it = json_pack("{s:s, s:s, s:{s:s, s:f}, s:{s:s, s:s}, s:f}", "capacityId",
                                   o->id, "providerId", o->provider_id, "rate", "currency",
                                   o->rate.currency, "amount", o->rate.amount,
                                   "availableWindow", "start", ws, "end", we, "detourKm",
                                   m[i].detour_km);
            if (!it || json_array_append_new(items, it) != 0) {
                json_decref(items);
                items = NULL;
            }
        }
        if (!items)
            rc = HG_ENOMEM;
    }
    free(page);
    free(fin);
    free(tmp);
    free(m);
    hg_tender_clear(&t);
    if (rc == HG_ENOMEM) {
        hg_http_resp_header(r, "Retry-After", "1");
        hg_problem_send(r, HG_PROB_UNAVAILABLE, NULL, "out of memory matching offers; retry");
        return;
    }
    if (rc != HG_OK) {
        api__store_unavailable(r, rc, "capacity offers");
        return;
    }
    hg_http_respond_json(r, 200,
                         json_pack("{s:o, s:I}", "items", items, "evaluatedOffers",
                                   (json_int_t)evaluated));
}

/* ------------------------------------------------------------ transitions */

/* After the change is durable: wake Prefer: wait requests on the tender. */
static int notify_decision(struct api_op *op)
{
    if (op->decided)
        api__waiters_notify(&op->api->st->waiters, op->tender_id);
    return 0;
}

/* If-Match, before anything else is looked at: 428 when absent. Copies
 * the joined field into buf; -1 when it is too long (treated as not
 * matching). 1 to go on. */
static int need_if_match(struct api_op *op, char *buf, size_t cap)
{
    int n = api__join_header(op->r, "If-Match", buf, cap);
    if (n == 0) {
        api__op_problem(op, HG_PROB_PRECONDITION_REQUIRED, NULL,
                        "changing a tender needs If-Match with its current ETag (from GET "
                        "/v1/tenders/{id}), so a change made meanwhile is not overwritten");
        return 0;
    }
    if (n < 0)
        buf[0] = '\0';
    return 1;
}

static void transition(struct api_op *op, const char *raw, enum hg_tender_state to,
                       const char *reason, const char *capacity_raw, const char *if_match)
{
    struct hg_api *api = op->api;
    struct hg_store_tender row;
    memset(&row, 0, sizeof row);
    char id[37], capacity_id[37] = "";
    if (!hg_uuid_norm(raw, strlen(raw), id)) {
        api__op_problem(op, HG_PROB_NOT_FOUND, NULL, "no tender with id '%.64s'", raw);
        return;
    }
    int capacity_ok = !capacity_raw[0] || hg_uuid_norm(capacity_raw, strlen(capacity_raw), capacity_id);
    hg_strlcpy(op->tender_id, id, sizeof op->tender_id);
    hg_status rc = hg_store_tender_get(api->store, id, &row);
    if (rc == HG_OK && !api__tenant_visible(op->who, op->tenant, row.tenant))
        rc = HG_ENOTFOUND;
    if (rc != HG_OK) {
        hg_store_tender_free(&row);
        if (rc == HG_ENOTFOUND) {
            api__op_problem(op, HG_PROB_NOT_FOUND, NULL, "no tender with id '%.64s'", id);
        } else {
            api__op_problem(op, HG_PROB_UNAVAILABLE, NULL,
                            "the store could not be read; retry shortly");
        }
        return;
    }
    struct hg_tender t;
    struct hg_verr e;
    memset(&e, 0, sizeof e);
    if (row_tender(&row, &t, &e) != HG_OK) {
        hg_log(HG_LOG_ERROR, "a stored tender does not parse", HG_LF_STR("tender_id", id),
               HG_LF_STR("error", e.detail), HG_LF_END);
        hg_store_tender_free(&row);
        api__op_problem(op, HG_PROB_INTERNAL, NULL,
                        "the stored tender could not be read back; the server log has the "
                        "details under this correlation id");
        return;
    }
    hg_store_tender_free(&row);
    json_t *doc = NULL;
    char cur_etag[32];
    api__etag(t.version, cur_etag);
    struct api_etags tags;
    if (api__etags_parse(if_match, strlen(if_match), &tags) != HG_OK ||
        !api__etags_match_strong(&tags, t.version)) {
        api__op_problem(op, HG_PROB_PRECONDITION_FAILED, json_pack("{s:s}", "currentEtag", cur_etag),
                        "If-Match does not match the tender's current ETag %s (strong "
                        "comparison: W/ tags never match); read it again and retry with that "
                        "ETag",
                        cur_etag);
        goto done;
    }
    enum hg_tender_state from = t.state;
    if (!hg_tender_transition_allowed(from, to)) {
        enum hg_tender_state next[HG_TS__COUNT];
        size_t nn = hg_tender_next_states(from, next, HG_TS__COUNT);
        json_t *allowed = json_array();
        char list[256] = "";
        size_t used = 0;
        for (size_t i = 0; allowed && i < nn; i++) {
            json_array_append_new(allowed, json_string(hg_tender_state_name(next[i])));
            int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                             hg_tender_state_name(next[i]));
            if (w > 0 && (size_t)w < sizeof list - used)
                used += (size_t)w;
        }
        api__op_problem(op, HG_PROB_INVALID_TRANSITION,
                        json_pack("{s:s, s:o}", "currentState", hg_tender_state_name(from),
                                  "allowedNextStates", allowed ? allowed : json_array()),
                        "a tender in state %s cannot move to %s; %s%s",
                        hg_tender_state_name(from), hg_tender_state_name(to),
                        nn ? "allowed next states: " : "it is in a final state",
                        nn ? list : "");
        goto done;
    }
    if (capacity_raw[0]) {
        struct hg_store_offer orow;
        memset(&orow, 0, sizeof orow);
        rc = capacity_ok ? hg_store_offer_get(api->store, capacity_id, &orow) : HG_ENOTFOUND;
        if (rc == HG_OK && strcmp(orow.tenant, t.tenant))
            rc = HG_ENOTFOUND;
        if (rc != HG_OK) {
            hg_store_offer_free(&orow);
            if (rc == HG_ENOTFOUND) {
                api__op_problem(op, HG_PROB_BUSINESS_RULE,
                                json_pack("{s:s}", "pointer", "/capacityId"),
                                "no capacity offer with id '%.64s' exists for this tender's "
                                "tenant; pick one from GET /v1/tenders/{id}/matches",
                                capacity_raw);
            } else {
                    api__op_problem(op, HG_PROB_UNAVAILABLE, NULL,
                                "the store could not be read; retry shortly");
            }
            goto done;
        }
        json_error_t jerr;
        json_t *od = json_loadb(orow.doc, orow.doc_len, 0, &jerr);
        struct hg_offer *o = calloc(1, sizeof *o);
        struct hg_verr oe;
        memset(&oe, 0, sizeof oe);
        rc = od && o ? hg_offer_from_json(od, o, &oe) : HG_ENOMEM;
        json_decref(od);
        hg_store_offer_free(&orow);
        if (rc == HG_OK)
            rc = hg_tender_check_offer(&t, o, op->now_ms, &e);
        free(o);
        if (rc == HG_EINVAL && e.status) {
            api__op_verr(op, &e);
            goto done;
        }
        if (rc != HG_OK) {
            api__op_problem(op, HG_PROB_INTERNAL, NULL,
                            "the capacity offer could not be read back; the server log has "
                            "the details under this correlation id");
            goto done;
        }
        hg_strlcpy(t.capacity_id, capacity_id, sizeof t.capacity_id);
    }
    /* the change */
    int64_t old_version = t.version;
    t.state = to;
    t.version++;
    t.updated_ms = op->now_ms;
    doc = hg_tender_to_json(&t);
    op->doc = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (!op->doc)
        goto oom;
    op->w.op = HG_SOP_TENDER_UPDATE;
    op->w.expect_version = old_version;
    fill_row(&op->w.tender, &t, op->doc);
    const char *fname = hg_tender_state_name(from), *tname = hg_tender_state_name(to);
    fill_history(op, t.id, fname, tname, reason);
    int cancel = to == HG_TS_CANCELLED;
    json_t *data = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "tenderId", t.id, "from", fname,
                             "to", tname, "version", (json_int_t)t.version, "reason", reason,
                             "actor", op->who->name);
    if (data && t.capacity_id[0])
        json_object_set_new(data, "capacityId", json_string(t.capacity_id));
    if (api__op_event(op, cancel ? "com.haulgate.tender.cancelled"
                                 : "com.haulgate.tender.transitioned",
                      t.id, data) != HG_OK)
        goto oom;
    if (api__op_audit(op, cancel ? "tender.cancelled" : "tender.transitioned",
                      reason[0] ? reason : (cancel ? "tender cancelled" : "tender transitioned"),
                      json_pack("{s:s, s:s, s:s, s:I}", "tender_id", t.id, "from", fname, "to",
                                tname, "version", (json_int_t)t.version)) != HG_OK)
        goto oom;
    if (api__resp_text(&op->resp, 200, op->doc, strlen(op->doc)) != HG_OK)
        goto oom;
    api__etag(t.version, op->resp.etag);
    op->decided = decided(to);
    op->committed = notify_decision;
    json_decref(doc);
    hg_tender_clear(&t);
    api__op_commit(op);
    return;
oom:
    api__op_problem(op, HG_PROB_UNAVAILABLE, NULL, "out of memory building the change; retry");
done:
    json_decref(doc);
    hg_tender_clear(&t);
}

void hg_api_tender_transition(struct hg_http_req *r, struct hg_api *api,
                              const struct hg_route_params *p)
{
    char if_match[2048];
    struct api_op *op = api__op_begin(r, api, API_P_TRANSITIONS);
    if (!op || !need_if_match(op, if_match, sizeof if_match) || !api__require_json(op) ||
        !api__op_idem(op))
        return;
    size_t blen = 0;
    const char *body = hg_http_req_body(r, &blen);
    struct hg_transition_req tr;
    struct hg_verr e;
    memset(&e, 0, sizeof e);
    hg_status rc = hg_tender_parse_transition(body, blen, &tr, &e);
    if (rc == HG_EINVAL) {
        api__op_verr(op, &e);
        return;
    }
    if (rc != HG_OK) {
        api__op_problem(op, HG_PROB_UNAVAILABLE, NULL, "out of memory reading the body; retry");
        return;
    }
    transition(op, p->values[0], tr.to, tr.reason, tr.capacity_id, if_match);
}

void hg_api_tender_cancel(struct hg_http_req *r, struct hg_api *api,
                          const struct hg_route_params *p)
{
    char if_match[2048];
    struct api_op *op = api__op_begin(r, api, API_P_CANCEL);
    if (!op || !need_if_match(op, if_match, sizeof if_match))
        return;
    size_t blen = 0;
    const char *body = hg_http_req_body(r, &blen);
    /* the body is optional (white space counts as none); when there is one
     * it must say it is JSON */
    size_t ws = 0;
    while (ws < blen && (body[ws] == ' ' || body[ws] == '\t' || body[ws] == '\r' ||
                         body[ws] == '\n'))
        ws++;
    if (ws < blen && !api__require_json(op))
        return;
    if (!api__op_idem(op))
        return;
    char reason[HG_TENDER_REASON_MAX + 1];
    struct hg_verr e;
    memset(&e, 0, sizeof e);
    hg_status rc = hg_tender_parse_cancel(body, blen, reason, &e);
    if (rc == HG_EINVAL) {
        api__op_verr(op, &e);
        return;
    }
    if (rc != HG_OK) {
        api__op_problem(op, HG_PROB_UNAVAILABLE, NULL, "out of memory reading the body; retry");
        return;
    }
    transition(op, p->values[0], HG_TS_CANCELLED, reason, "", if_match);
}
