/* SPDX-License-Identifier: Apache-2.0
 *
 * tender_json.c — tenders in and out of JSON: the strict reader of
 * POST /v1/tenders (and of the stored representation), the resource
 * representation, and the bodies of the transition and cancel routes.
 * Everything the reader accepts is written back identically by
 * hg_tender_to_json, so a stored tender reads back to the same struct.
 * Nothing here decides whether a transition is allowed; that is
 * tender_state.c's table.
 */
#include "tender/tender.h"

#include <string.h>

#include "common/util.h"
#include "obs/trace.h"
#include "tender/tender_int.h"

#define WEIGHT_MAX 200000.0

static const struct tender__field tender_fields[] = {
    {"tenderId", TF_SERVER | TF_STORED},
    {"tmsLoadId", TF_REQUIRED | TF_STORED},
    {"state", TF_SERVER | TF_STORED},
    {"version", TF_SERVER | TF_STORED},
    {"origin", TF_REQUIRED | TF_STORED},
    {"destination", TF_REQUIRED | TF_STORED},
    {"pickupWindow", TF_REQUIRED | TF_STORED},
    {"deliveryWindow", TF_REQUIRED | TF_STORED},
    {"weightLbs", TF_REQUIRED | TF_STORED},
    {"equipment", TF_REQUIRED | TF_STORED},
    {"hazmat", 0},
    {"lane", 0},
    {"region", 0},
    {"requirements", 0},
    {"offeredRate", 0},
    {"capacityId", TF_SERVER},
    {"createdAt", TF_SERVER | TF_STORED},
    {"updatedAt", TF_SERVER | TF_STORED},
    {"correlationId", TF_SERVER},
    {"extensions", 0},
};
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static const struct tender__field req_fields[] = {
    {"autonomyAllowed", 0},
    {"humanFallbackAllowed", 0},
};

/* Read member `name` of obj into a string of kind/min/max if present. */
static hg_status opt_str(const json_t *obj, const char *name, enum tender_str_kind kind,
                         size_t min, size_t max, char *out, struct hg_verr *err)
{
    const json_t *v = json_object_get(obj, name);
    char p[TENDER_PTR_MAX];
    if (!v)
        return HG_OK;
    tender__ptr_member(p, "", name);
    return tender__read_str(v, p, kind, min, max, out, err);
}

static hg_status read_requirements(const json_t *v, struct hg_tender *t, struct hg_verr *err)
{
    hg_status rc = tender__check_members(v, "/requirements",
                                         "the requirements {autonomyAllowed, "
                                         "humanFallbackAllowed}",
                                         req_fields, NFIELDS(req_fields), 1, err);
    if (rc != HG_OK)
        return rc;
    const json_t *a = json_object_get(v, "autonomyAllowed");
    const json_t *h = json_object_get(v, "humanFallbackAllowed");
    if (a && (rc = tender__read_bool(a, "/requirements/autonomyAllowed", &t->autonomy_allowed,
                                     err)) != HG_OK)
        return rc;
    if (h && (rc = tender__read_bool(h, "/requirements/humanFallbackAllowed",
                                     &t->human_fallback_allowed, err)) != HG_OK)
        return rc;
    return HG_OK;
}

static hg_status read_extensions(const json_t *v, json_t **out, struct hg_verr *err)
{
    if (!json_is_object(v))
        return tender__fail(err, 400, "/extensions",
                            "extensions must be a JSON object (it is stored and returned as "
                            "it is sent)");
    size_t need = json_dumpb(v, NULL, 0, JSON_COMPACT);
    if (need == 0 || need > HG_TENDER_EXT_MAX)
        return tender__fail(err, 400, "/extensions",
                            "extensions is %zu bytes when serialised compactly; at most %d are "
                            "accepted",
                            need, HG_TENDER_EXT_MAX);
    *out = json_deep_copy(v);
    return *out ? HG_OK : HG_ENOMEM;
}

/* The reader shared by hg_tender_parse (from_client) and
 * hg_tender_from_json (the store's copy, server fields required). */
static hg_status read_tender(const json_t *doc, int from_client, struct hg_tender *t,
                             struct hg_verr *err)
{
    hg_status rc = tender__check_members(doc, "", "a tender", tender_fields,
                                         NFIELDS(tender_fields), from_client, err);
    if (rc != HG_OK)
        return rc;
    const json_t *v;
    t->autonomy_allowed = 1;
    t->human_fallback_allowed = 1;

    if (!from_client) {
        if ((rc = tender__read_uuid(json_object_get(doc, "tenderId"), "/tenderId", t->id, err)) !=
            HG_OK)
            return rc;
        v = json_object_get(doc, "state");
        if (!json_is_string(v) || hg_tender_state_parse(json_string_value(v), &t->state) != HG_OK)
            return tender__fail(err, 400, "/state",
                                "state must be one of pending, offered, accepted, rejected, "
                                "expired, dispatched, enroute, delivered, cancelled, "
                                "failed_over");
        if ((rc = tender__read_int(json_object_get(doc, "version"), "/version", 1, INT64_MAX,
                                   &t->version, err)) != HG_OK ||
            (rc = tender__read_time(json_object_get(doc, "createdAt"), "/createdAt",
                                    &t->created_ms, err)) != HG_OK ||
            (rc = tender__read_time(json_object_get(doc, "updatedAt"), "/updatedAt",
                                    &t->updated_ms, err)) != HG_OK)
            return rc;
        if ((v = json_object_get(doc, "capacityId")) &&
            (rc = tender__read_uuid(v, "/capacityId", t->capacity_id, err)) != HG_OK)
            return rc;
        if ((v = json_object_get(doc, "correlationId"))) {
            if (!json_is_string(v) ||
                (json_string_length(v) > 0 &&
                 !hg_correlation_id_valid(json_string_value(v), json_string_length(v))))
                return tender__fail(err, 400, "/correlationId",
                                    "correlationId must be 0 to %d characters of A-Z a-z 0-9 . "
                                    "_ : -",
                                    HG_CORRELATION_ID_MAX);
            memcpy(t->correlation_id, json_string_value(v), json_string_length(v) + 1);
        }
    }

    if ((rc = tender__read_str(json_object_get(doc, "tmsLoadId"), "/tmsLoadId", TS_TEXT, 1,
                               HG_TENDER_REF_MAX, t->tms_load_id, err)) != HG_OK ||
        (rc = tender__read_geo(json_object_get(doc, "origin"), "/origin", &t->origin.at,
                               t->origin.name, err)) != HG_OK ||
        (rc = tender__read_geo(json_object_get(doc, "destination"), "/destination",
                               &t->destination.at, t->destination.name, err)) != HG_OK ||
        (rc = tender__read_window(json_object_get(doc, "pickupWindow"), "/pickupWindow",
                                  &t->pickup, err)) != HG_OK ||
        (rc = tender__read_window(json_object_get(doc, "deliveryWindow"), "/deliveryWindow",
                                  &t->delivery, err)) != HG_OK ||
        (rc = tender__read_num(json_object_get(doc, "weightLbs"), "/weightLbs", 0, 1, WEIGHT_MAX,
                               " pounds", &t->weight_lbs, err)) != HG_OK ||
        (rc = tender__read_str(json_object_get(doc, "equipment"), "/equipment", TS_TAG, 1,
                               HG_TENDER_TAG_MAX, t->equipment, err)) != HG_OK)
        return rc;
    if ((v = json_object_get(doc, "hazmat")) &&
        (rc = tender__read_bool(v, "/hazmat", &t->hazmat, err)) != HG_OK)
        return rc;
    if ((rc = opt_str(doc, "lane", TS_TAG, 1, HG_TENDER_TAG_MAX, t->lane, err)) != HG_OK ||
        (rc = opt_str(doc, "region", TS_TAG, 1, HG_TENDER_TAG_MAX, t->region, err)) != HG_OK)
        return rc;
    if ((v = json_object_get(doc, "requirements")) && (rc = read_requirements(v, t, err)) != HG_OK)
        return rc;
    if ((v = json_object_get(doc, "offeredRate"))) {
        if ((rc = tender__read_money(v, "/offeredRate", &t->offered_rate, err)) != HG_OK)
            return rc;
        t->has_rate = 1;
    }
    if ((v = json_object_get(doc, "extensions")) &&
        (rc = read_extensions(v, &t->extensions, err)) != HG_OK)
        return rc;
    return HG_OK;
}

/* The business rules of a new tender (422): checked only on POST, since a
 * stored tender's pickup window may long have passed. */
static hg_status tender_rules(const struct hg_tender *t, int64_t now_ms, struct hg_verr *err)
{
    char a[HG_RFC3339_LEN + 1], b[HG_RFC3339_LEN + 1];
    hg_status rc;
    if ((rc = tender__window_rule(&t->pickup, "/pickupWindow", err)) != HG_OK ||
        (rc = tender__window_rule(&t->delivery, "/deliveryWindow", err)) != HG_OK)
        return rc;
    if (t->delivery.end_ms <= t->pickup.start_ms) {
        hg_rfc3339(t->delivery.end_ms, a);
        hg_rfc3339(t->pickup.start_ms, b);
        return tender__fail(err, 422, "/deliveryWindow/end",
                            "the delivery window ends (%s) before the pickup window starts "
                            "(%s); deliveryWindow.end must be after pickupWindow.start",
                            a, b);
    }
    if (t->pickup.end_ms <= now_ms) {
        hg_rfc3339(t->pickup.end_ms, a);
        hg_rfc3339(now_ms, b);
        return tender__fail(err, 422, "/pickupWindow/end",
                            "the pickup window ended at %s, which is not after now (%s); "
                            "tender a load whose pickup window is still open",
                            a, b);
    }
    return HG_OK;
}

hg_status hg_tender_parse(const char *body, size_t len, int64_t now_ms, struct hg_tender *out,
                          struct hg_verr *err)
{
    json_t *doc = NULL;
    memset(out, 0, sizeof *out);
    hg_status rc = tender__load(body, len, &doc, err);
    if (rc != HG_OK)
        goto out;
    if ((rc = read_tender(doc, 1, out, err)) != HG_OK)
        goto out;
    rc = tender_rules(out, now_ms, err);
out:
    json_decref(doc);
    if (rc != HG_OK)
        hg_tender_clear(out);
    return rc;
}

hg_status hg_tender_from_json(const json_t *doc, struct hg_tender *out, struct hg_verr *err)
{
    memset(out, 0, sizeof *out);
    hg_status rc = read_tender(doc, 0, out, err);
    /* the struct promises start < end whatever the source */
    if (rc == HG_OK && (rc = tender__window_rule(&out->pickup, "/pickupWindow", err)) == HG_OK)
        rc = tender__window_rule(&out->delivery, "/deliveryWindow", err);
    if (rc != HG_OK)
        hg_tender_clear(out);
    return rc;
}

void hg_tender_clear(struct hg_tender *t)
{
    if (!t)
        return;
    json_decref(t->extensions);
    memset(t, 0, sizeof *t);
}

static json_t *place_json(const struct hg_place *p)
{
    int ok = 1;
    json_t *o = json_object();
    if (!o)
        return NULL;
    tender__put(o, "name", json_string(p->name), &ok);
    tender__put(o, "lat", tender__num_json(p->at.lat), &ok);
    tender__put(o, "lon", tender__num_json(p->at.lon), &ok);
    return tender__built(o, ok);
}

json_t *hg_tender_to_json(const struct hg_tender *t)
{
    int ok = 1;
    json_t *o = json_object();
    if (!o)
        return NULL;
    tender__put(o, "tenderId", json_string(t->id), &ok);
    tender__put(o, "tmsLoadId", json_string(t->tms_load_id), &ok);
    tender__put(o, "state", json_string(hg_tender_state_name(t->state)), &ok);
    tender__put(o, "version", json_integer(t->version), &ok);
    tender__put(o, "origin", place_json(&t->origin), &ok);
    tender__put(o, "destination", place_json(&t->destination), &ok);
    tender__put(o, "pickupWindow", tender__window_json(&t->pickup), &ok);
    tender__put(o, "deliveryWindow", tender__window_json(&t->delivery), &ok);
    tender__put(o, "weightLbs", tender__num_json(t->weight_lbs), &ok);
    tender__put(o, "equipment", json_string(t->equipment), &ok);
    tender__put(o, "hazmat", json_boolean(t->hazmat), &ok);
    if (t->lane[0])
        tender__put(o, "lane", json_string(t->lane), &ok);
    if (t->region[0])
        tender__put(o, "region", json_string(t->region), &ok);
    json_t *req = json_object();
    if (req) {
        tender__put(req, "autonomyAllowed", json_boolean(t->autonomy_allowed), &ok);
        tender__put(req, "humanFallbackAllowed", json_boolean(t->human_fallback_allowed), &ok);
    }
    tender__put(o, "requirements", req, &ok);
    if (t->has_rate)
        tender__put(o, "offeredRate", tender__money_json(&t->offered_rate), &ok);
    if (t->capacity_id[0])
        tender__put(o, "capacityId", json_string(t->capacity_id), &ok);
    tender__put(o, "createdAt", tender__time_json(t->created_ms), &ok);
    tender__put(o, "updatedAt", tender__time_json(t->updated_ms), &ok);
    tender__put(o, "correlationId", json_string(t->correlation_id), &ok);
    if (t->extensions)
        tender__put(o, "extensions", json_deep_copy(t->extensions), &ok);
    return tender__built(o, ok);
}

/* ---- transition and cancel bodies ---- */

static const struct tender__field transition_fields[] = {
    {"to", TF_REQUIRED},
    {"reason", 0},
    {"capacityId", 0},
};
static const struct tender__field cancel_fields[] = {
    {"reason", 0},
};

static hg_status read_reason(const json_t *doc, char reason[HG_TENDER_REASON_MAX + 1],
                             struct hg_verr *err)
{
    const json_t *v = json_object_get(doc, "reason");
    if (!v)
        return HG_OK;
    return tender__read_str(v, "/reason", TS_TEXT, 0, HG_TENDER_REASON_MAX, reason, err);
}

hg_status hg_tender_parse_transition(const char *body, size_t len, struct hg_transition_req *out,
                                     struct hg_verr *err)
{
    json_t *doc = NULL;
    memset(out, 0, sizeof *out);
    hg_status rc = tender__load(body, len, &doc, err);
    if (rc != HG_OK)
        goto out;
    rc = tender__check_members(doc, "", "a transition {to, reason, capacityId}",
                               transition_fields, NFIELDS(transition_fields), 1, err);
    if (rc != HG_OK)
        goto out;
    const json_t *to = json_object_get(doc, "to");
    if (!json_is_string(to) || hg_tender_state_parse(json_string_value(to), &out->to) != HG_OK) {
        rc = tender__fail(err, 400, "/to",
                          "to must be the name of a state: pending, offered, accepted, rejected, "
                          "expired, dispatched, enroute, delivered, cancelled or failed_over");
        goto out;
    }
    if ((rc = read_reason(doc, out->reason, err)) != HG_OK)
        goto out;
    const json_t *cap = json_object_get(doc, "capacityId");
    if (cap)
        rc = tender__read_uuid(cap, "/capacityId", out->capacity_id, err);
out:
    json_decref(doc);
    if (rc != HG_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

hg_status hg_tender_parse_cancel(const char *body, size_t len,
                                 char reason[HG_TENDER_REASON_MAX + 1], struct hg_verr *err)
{
    json_t *doc = NULL;
    hg_status rc = HG_OK;
    reason[0] = '\0';
    /* no body (or only white space) is a cancel without a reason */
    size_t i = 0;
    while (body && i < len &&
           (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    if (!body || i == len)
        return HG_OK;
    if ((rc = tender__load(body, len, &doc, err)) != HG_OK)
        goto out;
    if ((rc = tender__check_members(doc, "", "a cancel request {reason}", cancel_fields,
                                    NFIELDS(cancel_fields), 1, err)) != HG_OK)
        goto out;
    rc = read_reason(doc, reason, err);
out:
    json_decref(doc);
    if (rc != HG_OK)
        reason[0] = '\0';
    return rc;
}
