/* SPDX-License-Identifier: Apache-2.0
 *
 * offer_json.c — capacity offers in and out of JSON: the strict reader of
 * POST /v1/capacity-offers (and of the stored representation) and the
 * resource representation. Same rules as tenders: unknown members are 400
 * naming them, server-owned members are refused from clients, malformed
 * values are 400 at their JSON Pointer, business rules (an empty window, an
 * offer that has already expired) are 422. Whatever is accepted is written
 * back identically by hg_offer_to_json.
 */
#include "tender/tender.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "tender/tender_int.h"

#define WEIGHT_MAX 200000.0
/* Half the Earth's circumference: any larger tolerance means "anywhere". */
#define DETOUR_MAX 20000.0
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static const struct tender__field offer_fields[] = {
    {"capacityId", TF_SERVER | TF_STORED},
    {"providerId", TF_REQUIRED | TF_STORED},
    {"vehicleType", TF_REQUIRED | TF_STORED},
    {"autonomyLevel", TF_REQUIRED | TF_STORED},
    {"availableWindow", TF_REQUIRED | TF_STORED},
    {"route", TF_REQUIRED | TF_STORED},
    {"constraints", 0},
    {"rate", TF_REQUIRED | TF_STORED},
    {"expiresAt", TF_REQUIRED | TF_STORED},
    {"lane", 0},
    {"createdAt", TF_SERVER | TF_STORED},
};

static const struct tender__field segment_fields[] = {
    {"from", TF_REQUIRED | TF_STORED},
    {"to", TF_REQUIRED | TF_STORED},
    {"maxDetourKm", TF_REQUIRED | TF_STORED},
};

static const struct tender__field constraint_fields[] = {
    {"maxWeightLbs", 0},      {"hazmat", 0},
    {"equipment", 0},         {"hoursOfOperation", 0},
    {"chargingWindows", 0},   {"maintenanceWindows", 0},
    {"cargoRestrictions", 0},
};

static const struct tender__field hours_fields[] = {
    {"start", TF_REQUIRED | TF_STORED},
    {"end", TF_REQUIRED | TF_STORED},
};

/* An array at ptr of 0..max (1..max when nonempty) elements. */
static hg_status read_array(const json_t *v, const char *ptr, size_t min, size_t max,
                            const char *of, struct hg_verr *err)
{
    char lab[TENDER_PTR_MAX];
    tender__label(lab, ptr);
    if (!json_is_array(v))
        return tender__fail(err, 400, ptr, "%s must be an array of %zu to %zu %s", lab, min, max,
                            of);
    size_t n = json_array_size(v);
    if (n < min || n > max)
        return tender__fail(err, 400, ptr, "%s must be an array of %zu to %zu %s; got %zu", lab,
                            min, max, of, n);
    return HG_OK;
}

static hg_status read_tags(const json_t *v, const char *ptr,
                           char out[HG_TENDER_LIST_MAX][HG_TENDER_TAG_MAX + 1], size_t *n,
                           struct hg_verr *err)
{
    hg_status rc = read_array(v, ptr, 0, HG_TENDER_LIST_MAX, "tags", err);
    if (rc != HG_OK)
        return rc;
    for (size_t i = 0; i < json_array_size(v); i++) {
        char p[TENDER_PTR_MAX];
        tender__ptr_index(p, ptr, i);
        if ((rc = tender__read_str(json_array_get(v, i), p, TS_TAG, 1, HG_TENDER_TAG_MAX, out[i],
                                   err)) != HG_OK)
            return rc;
    }
    *n = json_array_size(v);
    return HG_OK;
}

static hg_status read_windows(const json_t *v, const char *ptr,
                              struct hg_window out[HG_TENDER_LIST_MAX], size_t *n,
                              struct hg_verr *err)
{
    hg_status rc = read_array(v, ptr, 0, HG_TENDER_LIST_MAX, "time windows {start, end}", err);
    if (rc != HG_OK)
        return rc;
    for (size_t i = 0; i < json_array_size(v); i++) {
        char p[TENDER_PTR_MAX];
        tender__ptr_index(p, ptr, i);
        if ((rc = tender__read_window(json_array_get(v, i), p, &out[i], err)) != HG_OK)
            return rc;
    }
    *n = json_array_size(v);
    return HG_OK;
}

/* "HH:MM" in UTC → minutes of the day; "24:00" only where allow_24. */
static int hhmm(const json_t *v, int allow_24, int *out)
{
    const char *s = json_string_value(v);
    if (!s || json_string_length(v) != 5 || s[2] != ':')
        return 0;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return 0;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && (!allow_24 || m != 0)))
        return 0;
    *out = h * 60 + m;
    return 1;
}

static hg_status read_hours(const json_t *v, struct hg_hours *out, struct hg_verr *err)
{
    const char *ptr = "/constraints/hoursOfOperation";
    hg_status rc = tender__check_members(v, ptr, "hours of operation {start, end} in UTC",
                                         hours_fields, NFIELDS(hours_fields), 1, err);
    if (rc != HG_OK)
        return rc;
    if (!hhmm(json_object_get(v, "start"), 0, &out->start_min))
        return tender__fail(err, 400, "/constraints/hoursOfOperation/start",
                            "constraints.hoursOfOperation.start must be a UTC time of day "
                            "\"HH:MM\" from \"00:00\" to \"23:59\"");
    if (!hhmm(json_object_get(v, "end"), 1, &out->end_min))
        return tender__fail(err, 400, "/constraints/hoursOfOperation/end",
                            "constraints.hoursOfOperation.end must be a UTC time of day "
                            "\"HH:MM\" from \"00:00\" to \"24:00\" (an end before the start "
                            "runs past midnight; equal to the start means all day)");
    out->present = 1;
    return HG_OK;
}

static hg_status read_constraints(const json_t *v, struct hg_constraints *c, struct hg_verr *err)
{
    const char *ptr = "/constraints";
    hg_status rc = tender__check_members(v, ptr, "the operational constraints",
                                         constraint_fields, NFIELDS(constraint_fields), 1, err);
    if (rc != HG_OK)
        return rc;
    const json_t *m;
    if ((m = json_object_get(v, "maxWeightLbs"))) {
        if ((rc = tender__read_num(m, "/constraints/maxWeightLbs", 0, 1, WEIGHT_MAX, " pounds",
                                   &c->max_weight_lbs, err)) != HG_OK)
            return rc;
        c->has_max_weight = 1;
    }
    if ((m = json_object_get(v, "hazmat")) &&
        (rc = tender__read_bool(m, "/constraints/hazmat", &c->hazmat, err)) != HG_OK)
        return rc;
    if ((m = json_object_get(v, "equipment")) &&
        (rc = read_tags(m, "/constraints/equipment", c->equipment, &c->nequipment, err)) != HG_OK)
        return rc;
    if ((m = json_object_get(v, "hoursOfOperation")) &&
        (rc = read_hours(m, &c->hours, err)) != HG_OK)
        return rc;
    if ((m = json_object_get(v, "chargingWindows")) &&
        (rc = read_windows(m, "/constraints/chargingWindows", c->charging, &c->ncharging, err)) !=
            HG_OK)
        return rc;
    if ((m = json_object_get(v, "maintenanceWindows")) &&
        (rc = read_windows(m, "/constraints/maintenanceWindows", c->maintenance,
                           &c->nmaintenance, err)) != HG_OK)
        return rc;
    if ((m = json_object_get(v, "cargoRestrictions")) &&
        (rc = read_tags(m, "/constraints/cargoRestrictions", c->restrictions, &c->nrestrictions,
                        err)) != HG_OK)
        return rc;
    return HG_OK;
}

static hg_status read_route(const json_t *v, struct hg_offer *o, struct hg_verr *err)
{
    hg_status rc = read_array(v, "/route", 1, HG_TENDER_ROUTE_MAX,
                              "segments {from, to, maxDetourKm}", err);
    if (rc != HG_OK)
        return rc;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *s = json_array_get(v, i);
        struct hg_route_segment *seg = &o->route[i];
        char sp[TENDER_PTR_MAX], p[TENDER_PTR_MAX];
        tender__ptr_index(sp, "/route", i);
        if ((rc = tender__check_members(s, sp, "a route segment {from, to, maxDetourKm}",
                                        segment_fields, NFIELDS(segment_fields), 1, err)) !=
            HG_OK)
            return rc;
        tender__ptr_member(p, sp, "from");
        if ((rc = tender__read_geo(json_object_get(s, "from"), p, &seg->from, NULL, err)) != HG_OK)
            return rc;
        tender__ptr_member(p, sp, "to");
        if ((rc = tender__read_geo(json_object_get(s, "to"), p, &seg->to, NULL, err)) != HG_OK)
            return rc;
        tender__ptr_member(p, sp, "maxDetourKm");
        if ((rc = tender__read_num(json_object_get(s, "maxDetourKm"), p, 0, 0, DETOUR_MAX, " km",
                                   &seg->max_detour_km, err)) != HG_OK)
            return rc;
    }
    o->nroute = json_array_size(v);
    return HG_OK;
}

static hg_status read_level(const json_t *v, char out[HG_TENDER_TAG_MAX + 1], struct hg_verr *err)
{
    const char *s = json_string_value(v);
    if (!s || json_string_length(v) != 2 || s[0] != 'L' || s[1] < '0' || s[1] > '5')
        return tender__fail(err, 400, "/autonomyLevel",
                            "autonomyLevel must be an SAE J3016 level: one of \"L0\", \"L1\", "
                            "\"L2\", \"L3\", \"L4\", \"L5\"");
    memcpy(out, s, 3);
    return HG_OK;
}

static hg_status read_offer(const json_t *doc, int from_client, struct hg_offer *o,
                            struct hg_verr *err)
{
    hg_status rc = tender__check_members(doc, "", "a capacity offer", offer_fields,
                                         NFIELDS(offer_fields), from_client, err);
    if (rc != HG_OK)
        return rc;
    const json_t *v;
    if (!from_client &&
        ((rc = tender__read_uuid(json_object_get(doc, "capacityId"), "/capacityId", o->id, err)) !=
             HG_OK ||
         (rc = tender__read_time(json_object_get(doc, "createdAt"), "/createdAt", &o->created_ms,
                                 err)) != HG_OK))
        return rc;
    if ((rc = tender__read_str(json_object_get(doc, "providerId"), "/providerId", TS_TEXT, 1,
                               HG_TENDER_REF_MAX, o->provider_id, err)) != HG_OK ||
        (rc = tender__read_str(json_object_get(doc, "vehicleType"), "/vehicleType", TS_TAG, 1,
                               HG_TENDER_TAG_MAX, o->vehicle_type, err)) != HG_OK ||
        (rc = read_level(json_object_get(doc, "autonomyLevel"), o->autonomy_level, err)) !=
            HG_OK ||
        (rc = tender__read_window(json_object_get(doc, "availableWindow"), "/availableWindow",
                                  &o->available, err)) != HG_OK ||
        (rc = read_route(json_object_get(doc, "route"), o, err)) != HG_OK)
        return rc;
    if ((v = json_object_get(doc, "constraints")) &&
        (rc = read_constraints(v, &o->constraints, err)) != HG_OK)
        return rc;
    if ((rc = tender__read_money(json_object_get(doc, "rate"), "/rate", &o->rate, err)) !=
            HG_OK ||
        (rc = tender__read_time(json_object_get(doc, "expiresAt"), "/expiresAt", &o->expires_ms,
                                err)) != HG_OK)
        return rc;
    if ((v = json_object_get(doc, "lane")) &&
        (rc = tender__read_str(v, "/lane", TS_TAG, 1, HG_TENDER_TAG_MAX, o->lane, err)) != HG_OK)
        return rc;
    return HG_OK;
}

/* Empty windows (422), checked after every 400 so a malformed document is
 * always reported as malformed first. */
static hg_status window_rules(const struct hg_offer *o, struct hg_verr *err)
{
    hg_status rc = tender__window_rule(&o->available, "/availableWindow", err);
    char p[TENDER_PTR_MAX];
    for (size_t i = 0; rc == HG_OK && i < o->constraints.ncharging; i++) {
        tender__ptr_index(p, "/constraints/chargingWindows", i);
        rc = tender__window_rule(&o->constraints.charging[i], p, err);
    }
    for (size_t i = 0; rc == HG_OK && i < o->constraints.nmaintenance; i++) {
        tender__ptr_index(p, "/constraints/maintenanceWindows", i);
        rc = tender__window_rule(&o->constraints.maintenance[i], p, err);
    }
    return rc;
}

hg_status hg_offer_parse(const char *body, size_t len, int64_t now_ms, struct hg_offer *out,
                         struct hg_verr *err)
{
    json_t *doc = NULL;
    memset(out, 0, sizeof *out);
    hg_status rc = tender__load(body, len, &doc, err);
    if (rc != HG_OK)
        goto out;
    if ((rc = read_offer(doc, 1, out, err)) != HG_OK || (rc = window_rules(out, err)) != HG_OK)
        goto out;
    /* An expiresAt after the window's end is allowed (the offer simply stops
     * matching when its window has passed). */
    if (out->expires_ms <= now_ms) {
        char a[HG_RFC3339_LEN + 1], b[HG_RFC3339_LEN + 1];
        hg_rfc3339(out->expires_ms, a);
        hg_rfc3339(now_ms, b);
        rc = tender__fail(err, 422, "/expiresAt",
                          "the offer expires at %s, which is not after now (%s); set expiresAt "
                          "in the future",
                          a, b);
    }
out:
    json_decref(doc);
    if (rc != HG_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

hg_status hg_offer_from_json(const json_t *doc, struct hg_offer *out, struct hg_verr *err)
{
    memset(out, 0, sizeof *out);
    hg_status rc = read_offer(doc, 0, out, err);
    if (rc == HG_OK)
        rc = window_rules(out, err);
    if (rc != HG_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

static json_t *geo_json(const struct hg_geo *g)
{
    int ok = 1;
    json_t *o = json_object();
    if (!o)
        return NULL;
    tender__put(o, "lat", tender__num_json(g->lat), &ok);
    tender__put(o, "lon", tender__num_json(g->lon), &ok);
    return tender__built(o, ok);
}

static json_t *tags_json(const char tags[][HG_TENDER_TAG_MAX + 1], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n && i < HG_TENDER_LIST_MAX; i++) {
        if (json_array_append_new(a, json_string(tags[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *windows_json(const struct hg_window *w, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n && i < HG_TENDER_LIST_MAX; i++) {
        json_t *e = tender__window_json(&w[i]);
        if (!e || json_array_append_new(a, e) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *hhmm_json(int min)
{
    char b[16];
    if (min < 0 || min > 1440)
        return NULL;
    snprintf(b, sizeof b, "%02d:%02d", min / 60, min % 60);
    return json_string(b);
}

static json_t *constraints_json(const struct hg_constraints *c)
{
    int ok = 1;
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (c->has_max_weight)
        tender__put(o, "maxWeightLbs", tender__num_json(c->max_weight_lbs), &ok);
    tender__put(o, "hazmat", json_boolean(c->hazmat), &ok);
    if (c->nequipment)
        tender__put(o, "equipment", tags_json(c->equipment, c->nequipment), &ok);
    if (c->hours.present) {
        json_t *h = json_object();
        if (h) {
            tender__put(h, "start", hhmm_json(c->hours.start_min), &ok);
            tender__put(h, "end", hhmm_json(c->hours.end_min), &ok);
        }
        tender__put(o, "hoursOfOperation", h, &ok);
    }
    if (c->ncharging)
        tender__put(o, "chargingWindows", windows_json(c->charging, c->ncharging), &ok);
    if (c->nmaintenance)
        tender__put(o, "maintenanceWindows", windows_json(c->maintenance, c->nmaintenance), &ok);
    if (c->nrestrictions)
        tender__put(o, "cargoRestrictions", tags_json(c->restrictions, c->nrestrictions), &ok);
    return tender__built(o, ok);
}

json_t *hg_offer_to_json(const struct hg_offer *o)
{
    int ok = 1;
    json_t *d = json_object();
    if (!d)
        return NULL;
    tender__put(d, "capacityId", json_string(o->id), &ok);
    tender__put(d, "providerId", json_string(o->provider_id), &ok);
    tender__put(d, "vehicleType", json_string(o->vehicle_type), &ok);
    tender__put(d, "autonomyLevel", json_string(o->autonomy_level), &ok);
    tender__put(d, "availableWindow", tender__window_json(&o->available), &ok);
    json_t *route = json_array();
    for (size_t i = 0; route && i < o->nroute && i < HG_TENDER_ROUTE_MAX; i++) {
        int sok = 1;
        json_t *s = json_object();
        if (!s) {
            ok = 0;
            break;
        }
        tender__put(s, "from", geo_json(&o->route[i].from), &sok);
        tender__put(s, "to", geo_json(&o->route[i].to), &sok);
        tender__put(s, "maxDetourKm", tender__num_json(o->route[i].max_detour_km), &sok);
        if (!sok || json_array_append_new(route, s) != 0) {
            if (sok)
                s = NULL; /* append_new freed it */
            json_decref(s);
            ok = 0;
            break;
        }
    }
    tender__put(d, "route", route, &ok);
    tender__put(d, "constraints", constraints_json(&o->constraints), &ok);
    tender__put(d, "rate", tender__money_json(&o->rate), &ok);
    tender__put(d, "expiresAt", tender__time_json(o->expires_ms), &ok);
    if (o->lane[0])
        tender__put(d, "lane", json_string(o->lane), &ok);
    tender__put(d, "createdAt", tender__time_json(o->created_ms), &ok);
    return tender__built(d, ok);
}
