/* SPDX-License-Identifier: Apache-2.0
 *
 * tender.h — the domain of the TMS link, with no I/O: capacity offers,
 * tenders, the tender state machine, matching of offers to tenders, and the
 * validation of both as they arrive in JSON. Everything here is a pure
 * function of its arguments (the clock is passed in), so it is unit-tested
 * without a server and fuzzed directly.
 *
 * JSON field names are camelCase, times are RFC 3339 UTC, identifiers are
 * UUIDv7. A validation failure names the JSON Pointer (RFC 6901) of the bad
 * field and says what is expected; it is a 400 when the document is
 * malformed (wrong type, unknown field, missing field, out of range) and a
 * 422 when it is well-formed but breaks a business rule (delivery before
 * pickup, an expired offer, a weight above an offer's limit).
 */
#ifndef HG_TENDER_TENDER_H
#define HG_TENDER_TENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "common/status.h"

/* ---- limits (also in api/openapi.yaml) ---- */
#define HG_TENDER_ID_LEN 36          /* UUIDv7 text */
#define HG_TENDER_REF_MAX 128        /* tmsLoadId, providerId, capacityId bytes */
#define HG_TENDER_NAME_MAX 128       /* place names */
#define HG_TENDER_TAG_MAX 64         /* lane, region, equipment, vehicleType, autonomyLevel */
#define HG_TENDER_REASON_MAX 512     /* transition reasons */
#define HG_TENDER_ROUTE_MAX 32       /* route segments per offer */
#define HG_TENDER_LIST_MAX 16        /* entries in constraint lists */
#define HG_TENDER_EXT_MAX 8192       /* serialised bytes of `extensions` */

/* A validation failure: HTTP status (400 or 422), the JSON Pointer of the
 * field ("" = the whole document) and a sentence saying what is wrong and
 * what is expected. */
struct hg_verr {
    int status;
    char pointer[160];
    char detail[320];
};

/* ---- the state machine (one table in tender_state.c) ---- */
enum hg_tender_state {
    HG_TS_PENDING,
    HG_TS_OFFERED,
    HG_TS_ACCEPTED,
    HG_TS_REJECTED,
    HG_TS_EXPIRED,
    HG_TS_DISPATCHED,
    HG_TS_ENROUTE,
    HG_TS_DELIVERED,
    HG_TS_CANCELLED,
    HG_TS_FAILED_OVER,
    HG_TS__COUNT
};

/* "pending", "offered", ..., "failed_over"; "?" out of range. */
const char *hg_tender_state_name(enum hg_tender_state s);
/* Exact, case-sensitive name → state. HG_EINVAL if unknown. */
hg_status hg_tender_state_parse(const char *name, enum hg_tender_state *out);
/* 1 if from → to is an edge of the machine, else 0. */
int hg_tender_transition_allowed(enum hg_tender_state from, enum hg_tender_state to);
/* 1 for rejected, expired, delivered, cancelled, failed_over. */
int hg_tender_state_terminal(enum hg_tender_state s);
/* The states reachable from `from` in one step, in enum order; returns how
 * many (at most HG_TS__COUNT), writing at most cap. */
size_t hg_tender_next_states(enum hg_tender_state from, enum hg_tender_state *out, size_t cap);

/* ---- value types ---- */
struct hg_geo {
    double lat, lon;                 /* degrees, WGS 84 */
};

struct hg_place {
    char name[HG_TENDER_NAME_MAX + 1];
    struct hg_geo at;
};

struct hg_window {
    int64_t start_ms, end_ms;        /* Unix ms; start < end */
};

struct hg_money {
    char currency[4];                /* ISO 4217, three upper-case letters */
    double amount;                   /* >= 0, finite */
};

/* ---- tender ---- */
struct hg_tender {
    char id[HG_TENDER_ID_LEN + 1];
    char tms_load_id[HG_TENDER_REF_MAX + 1];
    struct hg_place origin, destination;
    struct hg_window pickup, delivery;
    double weight_lbs;               /* > 0 */
    char equipment[HG_TENDER_TAG_MAX + 1];   /* "dry_van", "reefer", ... */
    int hazmat;
    char lane[HG_TENDER_TAG_MAX + 1];        /* "" when absent */
    char region[HG_TENDER_TAG_MAX + 1];      /* "" when absent */
    int autonomy_allowed;            /* requirements.autonomyAllowed, default 1 */
    int human_fallback_allowed;      /* requirements.humanFallbackAllowed, default 1 */
    int has_rate;
    struct hg_money offered_rate;
    enum hg_tender_state state;
    int64_t version;                 /* 1 at creation, +1 per change */
    int64_t created_ms, updated_ms;
    char capacity_id[HG_TENDER_ID_LEN + 1]; /* the offer it was offered to/accepted by, or "" */
    char correlation_id[129];
    char tenant[65];                 /* the creating principal's tenant, "" if none */
    char owner[65];                  /* the creating principal's name */
    json_t *extensions;              /* object or NULL; owned (hg_tender_clear) */
};

/* Parse the body of POST /v1/tenders: `len` bytes of JSON (at most 1 MiB).
 * The client sends tmsLoadId, origin, destination, pickupWindow,
 * deliveryWindow, weightLbs, equipment, hazmat, lane, region, requirements,
 * offeredRate and extensions; the server-owned fields (tenderId, state,
 * version, createdAt, updatedAt, correlationId) are refused if sent, as is
 * any unknown top-level field (400 naming it). Business rules are checked
 * at `now_ms` (422: delivery window ends before pickup starts, pickup ends
 * in the past). On success *out is filled except the server-owned fields
 * (the caller sets id, state, version, times, correlation id, tenant and
 * owner); on failure *out is cleared and *err says why.
 * Returns HG_OK, HG_EINVAL (validation, see err->status), HG_ENOMEM. */
hg_status hg_tender_parse(const char *body, size_t len, int64_t now_ms, struct hg_tender *out,
                          struct hg_verr *err);

/* The resource representation served by GET /v1/tenders/{id}: every field
 * above in camelCase, times in RFC 3339 with milliseconds, `state` by name.
 * tenant and owner are not in it. NULL on allocation failure. */
json_t *hg_tender_to_json(const struct hg_tender *t);

/* Read back a representation produced by hg_tender_to_json (from the
 * store). Strict like hg_tender_parse but accepts the server-owned fields.
 * HG_OK, HG_EINVAL (err says why), HG_ENOMEM. */
hg_status hg_tender_from_json(const json_t *doc, struct hg_tender *out, struct hg_verr *err);

/* Release what the tender owns (extensions) and zero it. */
void hg_tender_clear(struct hg_tender *t);

/* Body of POST /v1/tenders/{id}/transitions:
 *   {"to": state, "reason": text, "capacityId": uuid}
 * reason is optional (""), at most HG_TENDER_REASON_MAX bytes, no control
 * characters; capacityId is optional ("") and names the capacity offer a
 * tender is offered to or accepted by. Unknown fields → 400.
 * (The 409 for an illegal edge and the 422 for an offer that cannot carry
 * the load are decided by the caller with hg_tender_transition_allowed and
 * hg_tender_check_offer.) HG_OK, HG_EINVAL, HG_ENOMEM. */
struct hg_transition_req {
    enum hg_tender_state to;
    char reason[HG_TENDER_REASON_MAX + 1];
    char capacity_id[HG_TENDER_ID_LEN + 1];
};
hg_status hg_tender_parse_transition(const char *body, size_t len, struct hg_transition_req *out,
                                     struct hg_verr *err);
/* Body of POST /v1/tenders/{id}/cancel: optional {"reason": text}; an
 * empty body is allowed. */
hg_status hg_tender_parse_cancel(const char *body, size_t len,
                                 char reason[HG_TENDER_REASON_MAX + 1], struct hg_verr *err);

/* ---- capacity offer ---- */
struct hg_route_segment {
    struct hg_geo from, to;
    double max_detour_km;            /* >= 0 */
};

struct hg_hours {                    /* hoursOfOperation: UTC, minutes of day */
    int present;
    int start_min, end_min;          /* 0..1440; start == end means all day */
};

struct hg_constraints {
    int has_max_weight;
    double max_weight_lbs;
    int hazmat;                      /* the offer may carry hazmat */
    size_t nequipment;
    char equipment[HG_TENDER_LIST_MAX][HG_TENDER_TAG_MAX + 1]; /* empty = any */
    struct hg_hours hours;
    size_t ncharging, nmaintenance;
    struct hg_window charging[HG_TENDER_LIST_MAX];
    struct hg_window maintenance[HG_TENDER_LIST_MAX];  /* unavailable during */
    size_t nrestrictions;
    char restrictions[HG_TENDER_LIST_MAX][HG_TENDER_TAG_MAX + 1]; /* cargoRestrictions */
};

struct hg_offer {
    char id[HG_TENDER_ID_LEN + 1];   /* capacityId, assigned by the server */
    char provider_id[HG_TENDER_REF_MAX + 1];
    char vehicle_type[HG_TENDER_TAG_MAX + 1];
    char autonomy_level[HG_TENDER_TAG_MAX + 1]; /* "L2".."L5" */
    struct hg_window available;
    size_t nroute;
    struct hg_route_segment route[HG_TENDER_ROUTE_MAX];
    struct hg_constraints constraints;
    struct hg_money rate;
    int64_t expires_ms;
    int64_t created_ms;
    char lane[HG_TENDER_TAG_MAX + 1];        /* optional, "" when absent */
    char tenant[65];
    char owner[65];
};

/* Parse the body of POST /v1/capacity-offers (same rules as
 * hg_tender_parse: unknown fields 400, capacityId/createdAt are the
 * server's; 422 when the window is empty, expiresAt is in the past, or
 * expiresAt is after the window ends is allowed). */
hg_status hg_offer_parse(const char *body, size_t len, int64_t now_ms, struct hg_offer *out,
                         struct hg_verr *err);
json_t *hg_offer_to_json(const struct hg_offer *o);
hg_status hg_offer_from_json(const json_t *doc, struct hg_offer *out, struct hg_verr *err);

/* ---- matching (tender_match.c): pure, deterministic ---- */
struct hg_match {
    size_t index;                    /* into the offers array given */
    double detour_km;                /* worst of origin/destination to the segment */
};

/* Great-circle distance in km (haversine, mean Earth radius 6371.0088 km). */
double hg_geo_distance_km(struct hg_geo a, struct hg_geo b);
/* Distance from p to the great-circle segment a–b, in km. */
double hg_geo_segment_distance_km(struct hg_geo p, struct hg_geo a, struct hg_geo b);

/* The offers eligible for `t` at now_ms, best first: not expired; the
 * offer's window overlaps the pickup window and is not entirely inside a
 * maintenance window; some route segment passes within its maxDetourKm of
 * both origin and destination (origin nearer its `from` end than the
 * destination is: direction matters); weight within maxWeightLbs; hazmat
 * only if allowed; equipment in the offer's list (or the list is empty);
 * autonomy only if the tender allows it. Ranked by rate amount, then
 * earliest available start, then capacityId. Returns how many are eligible
 * (may exceed cap; at most cap are written). */
size_t hg_tender_match(const struct hg_tender *t, const struct hg_offer *offers, size_t n,
                       int64_t now_ms, struct hg_match *out, size_t cap);

/* Why offer `o` cannot take tender `t` at now_ms (the first rule that
 * fails, as a 422 in *err with pointer "/capacityId"), or HG_OK if it can.
 * Same rules as hg_tender_match. Used when a transition names an offer. */
hg_status hg_tender_check_offer(const struct hg_tender *t, const struct hg_offer *o,
                                int64_t now_ms, struct hg_verr *err);

#endif
