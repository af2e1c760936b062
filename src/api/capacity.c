/* SPDX-License-Identifier: Apache-2.0
 *
 * capacity.c — /v1/capacity-offers: providers publish (Idempotency-Key
 * required) and withdraw (key accepted) capacity; TMSs and providers list
 * and read it. Validation is tender/'s (hg_offer_parse); every change is
 * one store job with its outbox event and audit record (api/write.c),
 * answered once durable. Lists never show expired offers; an offer of
 * another tenant answers 404.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/params.h"
#include "common/util.h"
#include "obs/log.h"


/* Offer `id` if principal who/tenant may see it: HG_OK with *row,
 * HG_ENOTFOUND (absent or another tenant's), or a store error. */
static hg_status load_offer(struct hg_api *api, const struct hg_principal *who,
                            const char *tenant, const char *raw, struct hg_store_offer *row)
{
    memset(row, 0, sizeof *row);
    char id[37];
    if (!hg_uuid_norm(raw, strlen(raw), id))
        return HG_ENOTFOUND;
    hg_status rc = hg_store_offer_get(api->store, id, row);
    if (rc == HG_OK && !api__tenant_visible(who, tenant, row->tenant))
        rc = HG_ENOTFOUND;
    if (rc != HG_OK)
        hg_store_offer_free(row);
    return rc;
}

/* ------------------------------------------------------------ publish */

void hg_api_offer_create(struct hg_http_req *r, struct hg_api *api,
                         const struct hg_route_params *p)
{
    (void)p;
    struct api_op *op = api__op_begin(r, api, API_P_OFFERS);
    if (!op || !api__require_json(op) || !api__op_idem(op))
        return;
    size_t blen = 0;
    const char *body = hg_http_req_body(r, &blen);
    struct hg_offer *o = calloc(1, sizeof *o);
    if (!o) {
        api__op_problem(op, HG_PROB_UNAVAILABLE, NULL, "out of memory; retry");
        return;
    }
    struct hg_verr e;
    memset(&e, 0, sizeof e);
    hg_status rc = hg_offer_parse(body, blen, op->now_ms, o, &e);
    if (rc != HG_OK) {
        free(o);
        if (rc == HG_EINVAL)
            api__op_verr(op, &e);
        else
            api__op_problem(op, HG_PROB_UNAVAILABLE, NULL, "out of memory reading the body; retry");
        return;
    }
    json_t *doc = NULL;
    if (hg_uuid7(o->id) != HG_OK)
        goto oom;
    o->created_ms = op->now_ms;
    hg_strlcpy(o->tenant, op->tenant, sizeof o->tenant);
    hg_strlcpy(o->owner, op->who->name, sizeof o->owner);
    doc = hg_offer_to_json(o);
    op->doc = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (!op->doc)
        goto oom;
    op->w.op = HG_SOP_OFFER_INSERT;
    struct hg_store_offer *row = &op->w.offer;
    hg_strlcpy(row->id, o->id, sizeof row->id);
    hg_strlcpy(row->tenant, o->tenant, sizeof row->tenant);
    hg_strlcpy(row->owner, o->owner, sizeof row->owner);
    hg_strlcpy(row->provider_id, o->provider_id, sizeof row->provider_id);
    hg_strlcpy(row->autonomy_level, o->autonomy_level, sizeof row->autonomy_level);
    hg_strlcpy(row->lane, o->lane, sizeof row->lane);
    row->start_ms = o->available.start_ms;
    row->end_ms = o->available.end_ms;
    row->expires_ms = o->expires_ms;
    row->created_ms = o->created_ms;
    row->doc = op->doc;
    row->doc_len = strlen(op->doc);
    json_incref(doc);
    if (api__op_event(op, "com.haulgate.capacity.published", o->id, doc) != HG_OK)
        goto oom;
    if (api__op_audit(op, "capacity.published", "capacity offer published",
                      json_pack("{s:s, s:s}", "capacity_id", o->id, "provider_id",
                                o->provider_id)) != HG_OK)
        goto oom;
    if (api__resp_text(&op->resp, 201, op->doc, strlen(op->doc)) != HG_OK)
        goto oom;
    snprintf(op->resp.location, sizeof op->resp.location, "/v1/capacity-offers/%s", o->id);
    json_decref(doc);
    free(o);
    api__op_commit(op);
    return;
oom:
    json_decref(doc);
    free(o);
    api__op_problem(op, HG_PROB_UNAVAILABLE, NULL, "out of memory building the offer; retry");
}

/* -------------------------------------------------------------- withdraw */

void hg_api_offer_delete(struct hg_http_req *r, struct hg_api *api,
                         const struct hg_route_params *p)
{
    struct api_op *op = api__op_begin(r, api, API_P_OFFER);
    if (!op || !api__op_idem(op))
        return;
    const char *id = p->values[0];
    struct hg_store_offer row;
    hg_status rc = load_offer(api, op->who, op->tenant, id, &row);
    if (rc == HG_ENOTFOUND) {
        api__op_problem(op, HG_PROB_NOT_FOUND, NULL, "no capacity offer with id '%.64s'", id);
        return;
    }
    if (rc != HG_OK) {
        api__op_problem(op, HG_PROB_UNAVAILABLE, NULL,
                        "the store could not be read; retry shortly");
        return;
    }
    op->w.op = HG_SOP_OFFER_DELETE;
    hg_strlcpy(op->w.offer.id, row.id, sizeof op->w.offer.id);
    json_t *data = json_pack("{s:s, s:s, s:s}", "capacityId", row.id, "providerId",
                             row.provider_id, "actor", op->who->name);
    rc = api__op_event(op, "com.haulgate.capacity.withdrawn", row.id, data);
    if (rc == HG_OK)
        rc = api__op_audit(op, "capacity.withdrawn", "capacity offer withdrawn",
                           json_pack("{s:s, s:s}", "capacity_id", row.id, "provider_id",
                                     row.provider_id));
    hg_store_offer_free(&row);
    if (rc != HG_OK) {
        api__op_problem(op, HG_PROB_UNAVAILABLE, NULL, "out of memory; retry");
        return;
    }
    op->resp.status = 204;
    api__op_commit(op);
}

/* ------------------------------------------------------------------ read */

void hg_api_offer_get(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p)
{
    char tenant[65];
    if (!api__read_begin(r, api, tenant))
        return;
    struct hg_store_offer row;
    hg_status rc = load_offer(api, api__who(r), tenant, p->values[0], &row);
    if (rc == HG_ENOTFOUND) {
        hg_problem_send(r, HG_PROB_NOT_FOUND, NULL, "no capacity offer with id '%.64s'",
                        p->values[0]);
        return;
    }
    if (rc != HG_OK) {
        api__store_unavailable(r, rc, "capacity offer");
        return;
    }
    hg_http_respond(r, 200, "application/json", row.doc, row.doc_len);
    hg_store_offer_free(&row);
}

void hg_api_offer_list(struct hg_http_req *r, struct hg_api *api,
                       const struct hg_route_params *p)
{
    (void)p;
    static const char *const allowed[] = {"provider", "autonomyLevel", "lane", "windowStart",
                                          "windowEnd", "limit", "cursor", NULL};
    char tenant[65];
    struct hg_query q;
    size_t limit;
    int64_t ws, we;
    if (!api__read_begin(r, api, tenant) || !api__query(r, allowed, &q) ||
        !api__limit(r, &q, 100, 500, &limit) || !api__time_param(r, &q, "windowStart", &ws) ||
        !api__time_param(r, &q, "windowEnd", &we))
        return;
    if ((ws < 0) != (we < 0)) {
        api__bad_param(r, ws < 0 ? "windowStart" : "windowEnd",
                       "windowStart and windowEnd go together: give both or neither");
        return;
    }
    if (ws >= 0 && ws >= we) {
        api__bad_param(r, "windowEnd", "windowEnd must be after windowStart");
        return;
    }
    const char *provider = hg_query_get(&q, "provider");
    const char *level = hg_query_get(&q, "autonomyLevel");
    const char *lane = hg_query_get(&q, "lane");
    const char *tfilter = api__tenant_filter(api__who(r), tenant);
    char wst[24], wet[24];
    snprintf(wst, sizeof wst, "%" PRId64, ws);
    snprintf(wet, sizeof wet, "%" PRId64, we);
    const char *parts[] = {"offers", provider, level, lane, ws >= 0 ? wst : NULL,
                           we >= 0 ? wet : NULL, tfilter};
    uint64_t fh = api__filters_hash(parts, sizeof parts / sizeof parts[0]);
    char after_id[37];
    if (!api__cursor_param(r, &q, fh, after_id))
        return;
    struct hg_store_offer_filter f = {
        .tenant = tfilter,
        .provider_id = provider,
        .autonomy_level = level,
        .lane = lane,
        .window_start_ms = ws,
        .window_end_ms = we,
        .live_at_ms = hg_wall_ms(),
        .after_id = after_id[0] ? after_id : NULL,
        .limit = limit + 1, /* one past the page: is there more? */
    };
    struct hg_store_offer *rows = NULL;
    size_t n = 0;
    hg_status rc = hg_store_offer_list(api->store, &f, &rows, &n);
    if (rc != HG_OK) {
        api__store_unavailable(r, rc, "capacity offer list");
        return;
    }
    struct api_item *items = calloc(n ? n : 1, sizeof *items);
    if (!items) {
        hg_store_offer_list_free(rows, n);
        hg_problem_send(r, HG_PROB_INTERNAL, NULL, "out of memory building the list");
        return;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = (struct api_item){rows[i].id, rows[i].doc, rows[i].doc_len};
    api__send_page(r, items, n, limit, fh);
    free(items);
    hg_store_offer_list_free(rows, n);
}
