/* SPDX-License-Identifier: Apache-2.0
 *
 * tender_match.c — which capacity offers can carry a tender, and in which
 * order to offer them. One predicate (evaluate) holds every rule, in the
 * order tender.h lists them, so hg_tender_match and hg_tender_check_offer
 * can never disagree; the ranking is a bounded, stable insertion so the
 * same inputs give the same list every time, with no allocation. Geometry
 * is on a sphere of the mean Earth radius: the error against the WGS 84
 * ellipsoid is under 0.5%, far below any detour tolerance a provider sets.
 * Nothing here does I/O or reads a clock.
 */
#include "tender/tender.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "tender/tender_int.h"

#define EARTH_KM 6371.0088
#define DAY_MS INT64_C(86400000)
#define MIN_MS INT64_C(60000)

static double rad(double deg)
{
    return deg * (M_PI / 180.0);
}

double hg_geo_distance_km(struct hg_geo a, struct hg_geo b)
{
    double p1 = rad(a.lat), p2 = rad(b.lat);
    double dp = p2 - p1, dl = rad(b.lon - a.lon);
    double h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
    if (h > 1)
        h = 1;
    return 2 * EARTH_KM * atan2(sqrt(h), sqrt(1 - h));
}

struct v3 {
    double x, y, z;
};

static struct v3 nvec(struct hg_geo g)
{
    double la = rad(g.lat), lo = rad(g.lon);
    return (struct v3){cos(la) * cos(lo), cos(la) * sin(lo), sin(la)};
}

static struct v3 cross(struct v3 a, struct v3 b)
{
    return (struct v3){a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}

static double dot(struct v3 a, struct v3 b)
{
    return a.x * b.x + a.y * b.y + a.z * b.z;
}

static double norm(struct v3 a)
{
    return sqrt(dot(a, a));
}

/* With n-vectors: the great circle through a and b has unit normal N; p's
 * cross-track angle is asin(P·N). The foot of the perpendicular, C (P
 * with its N component removed), lies on the minor arc a–b exactly when
 * A×C and C×B both point along N (the along-track position is between the
 * ends); otherwise the nearest point of the segment is an end. */
double hg_geo_segment_distance_km(struct hg_geo p, struct hg_geo a, struct hg_geo b)
{
    double da = hg_geo_distance_km(p, a), db = hg_geo_distance_km(p, b);
    double ends = da < db ? da : db;
    struct v3 A = nvec(a), B = nvec(b), P = nvec(p);
    struct v3 N = cross(A, B);
    double nn = norm(N);
    if (nn < 1e-12) /* the ends coincide (or are antipodal): no unique arc */
        return ends;
    N = (struct v3){N.x / nn, N.y / nn, N.z / nn};
    double s = dot(P, N);
    struct v3 C = {P.x - s * N.x, P.y - s * N.y, P.z - s * N.z};
    if (norm(C) < 1e-12) /* p is a pole of the circle: every point is 90° away */
        return ends;
    if (dot(cross(A, C), N) >= 0 && dot(cross(C, B), N) >= 0) {
        if (s > 1)
            s = 1;
        if (s < -1)
            s = -1;
        double xt = fabs(asin(s)) * EARTH_KM;
        return xt < ends ? xt : ends;
    }
    return ends;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* hoursOfOperation rule: the offer works every day from start to end UTC
 * (an end before the start runs past midnight; equal means all day). The
 * interval [a, b) is usable if it meets one of those daily spans, i.e. the
 * truck can be at the pickup during some minute it operates. */
static int hours_meet(const struct hg_hours *h, int64_t a, int64_t b)
{
    if (!h->present || h->start_min == h->end_min || (h->start_min == 0 && h->end_min == 1440))
        return 1;
    if (b - a >= DAY_MS)
        return 1;
    for (int64_t d = floor_div(a, DAY_MS) - 1; d <= floor_div(b, DAY_MS); d++) {
        int64_t s = d * DAY_MS + h->start_min * MIN_MS;
        int64_t e = d * DAY_MS + h->end_min * MIN_MS;
        if (h->end_min < h->start_min)
            e += DAY_MS;
        if (s < b && a < e)
            return 1;
    }
    return 0;
}

struct span {
    int64_t a, b;
};

/* [a, b) minus every maintenance window, as disjoint spans. Each window
 * can split at most one span, so 1 + HG_TENDER_LIST_MAX spans suffice. */
static size_t free_spans(const struct hg_constraints *c, int64_t a, int64_t b,
                         struct span out[HG_TENDER_LIST_MAX + 1])
{
    size_t n = 1;
    out[0] = (struct span){a, b};
    for (size_t m = 0; m < c->nmaintenance && m < HG_TENDER_LIST_MAX; m++) {
        int64_t ms = c->maintenance[m].start_ms, me = c->maintenance[m].end_ms;
        struct span next[HG_TENDER_LIST_MAX + 2];
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            struct span s = out[i];
            if (me <= s.a || ms >= s.b) {
                next[k++] = s;
                continue;
            }
            if (ms > s.a)
                next[k++] = (struct span){s.a, ms};
            if (me < s.b)
                next[k++] = (struct span){me, s.b};
        }
        if (k > HG_TENDER_LIST_MAX + 1) /* cannot happen: spans are disjoint */
            k = HG_TENDER_LIST_MAX + 1;
        memcpy(out, next, k * sizeof *out);
        n = k;
    }
    return n;
}

__attribute__((format(printf, 2, 3)))
static hg_status no(struct hg_verr *err, const char *fmt, ...)
{
    if (!err)
        return HG_EINVAL;
    char d[sizeof err->detail];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d, sizeof d, fmt, ap);
    va_end(ap);
    return tender__fail(err, 422, "/capacityId", "%s", d);
}

/* Every rule, in tender.h's order; the first that fails is reported.
 * err may be NULL (matching many offers: no sentence is built). */
static hg_status evaluate(const struct hg_tender *t, const struct hg_offer *o, int64_t now_ms,
                          double *detour_km, struct hg_verr *err)
{
    char a[HG_RFC3339_LEN + 1], b[HG_RFC3339_LEN + 1];
    const struct hg_constraints *c = &o->constraints;
    if (o->expires_ms <= now_ms) {
        if (err)
            hg_rfc3339(o->expires_ms, a);
        return no(err, "capacity offer %s expired at %s; choose an offer that is still open",
                  o->id, err ? a : "");
    }
    int64_t s = o->available.start_ms > t->pickup.start_ms ? o->available.start_ms
                                                           : t->pickup.start_ms;
    int64_t e = o->available.end_ms < t->pickup.end_ms ? o->available.end_ms : t->pickup.end_ms;
    if (s >= e) {
        if (err) {
            hg_rfc3339(o->available.start_ms, a);
            hg_rfc3339(o->available.end_ms, b);
        }
        return no(err,
                  "capacity offer %s is available from %s to %s, which does not overlap the "
                  "tender's pickup window",
                  o->id, err ? a : "", err ? b : "");
    }
    /* Maintenance rule: the offer must be out of maintenance for some of
     * the time its window overlaps the pickup window (stricter than "its
     * window is not entirely inside a maintenance window", which it
     * implies: a truck in the shop for the whole pickup window cannot
     * take the load even if it is free the week after). */
    struct span spans[HG_TENDER_LIST_MAX + 1];
    size_t nspans = free_spans(c, s, e, spans);
    if (nspans == 0)
        return no(err,
                  "capacity offer %s is in maintenance for all of the time its window overlaps "
                  "the tender's pickup window",
                  o->id);
    int meets = 0;
    for (size_t i = 0; i < nspans && !meets; i++)
        meets = hours_meet(&c->hours, spans[i].a, spans[i].b);
    if (!meets)
        return no(err,
                  "capacity offer %s operates only %02d:%02d to %02d:%02d UTC, which misses the "
                  "tender's pickup window",
                  o->id, c->hours.start_min / 60, c->hours.start_min % 60, c->hours.end_min / 60,
                  c->hours.end_min % 60);

    double best = -1, nearest = INFINITY;
    size_t nearest_seg = 0;
    for (size_t i = 0; i < o->nroute && i < HG_TENDER_ROUTE_MAX; i++) {
        const struct hg_route_segment *g = &o->route[i];
        double d_o = hg_geo_segment_distance_km(t->origin.at, g->from, g->to);
        double d_d = hg_geo_segment_distance_km(t->destination.at, g->from, g->to);
        double worst = d_o > d_d ? d_o : d_d;
        if (worst < nearest) {
            nearest = worst;
            nearest_seg = i;
        }
        /* direction: the load travels from the segment's `from` towards
         * its `to`, so the origin must be nearer `from` than the
         * destination is */
        int forward = hg_geo_distance_km(t->origin.at, g->from) <
                      hg_geo_distance_km(t->destination.at, g->from);
        if (worst <= g->max_detour_km && forward && (best < 0 || worst < best))
            best = worst;
    }
    if (best < 0)
        return no(err,
                  "no route segment of capacity offer %s passes within its maxDetourKm of both "
                  "the origin and then the destination (closest: segment %zu, %.1f km away)",
                  o->id, nearest_seg, isfinite(nearest) ? nearest : 0.0);
    if (c->has_max_weight && t->weight_lbs > c->max_weight_lbs)
        return no(err, "the tender weighs %.10g lbs, above capacity offer %s's maxWeightLbs %.10g",
                  t->weight_lbs, o->id, c->max_weight_lbs);
    if (t->hazmat && !c->hazmat)
        return no(err, "the tender is hazmat and capacity offer %s does not carry hazmat",
                  o->id);
    if (c->nequipment > 0) {
        int found = 0;
        for (size_t i = 0; i < c->nequipment && i < HG_TENDER_LIST_MAX && !found; i++)
            found = strcmp(c->equipment[i], t->equipment) == 0;
        if (!found)
            return no(err, "capacity offer %s does not list the tender's equipment \"%s\"",
                      o->id, t->equipment);
    }
    /* every capacity offer here is an autonomous truck */
    if (!t->autonomy_allowed)
        return no(err,
                  "the tender does not allow autonomous trucks (requirements.autonomyAllowed is "
                  "false) and capacity offer %s is one",
                  o->id);
    *detour_km = best;
    return HG_OK;
}

hg_status hg_tender_check_offer(const struct hg_tender *t, const struct hg_offer *o,
                                int64_t now_ms, struct hg_verr *err)
{
    double d;
    return evaluate(t, o, now_ms, &d, err);
}

/* 1 if offer x ranks strictly before offer y. */
static int better(const struct hg_offer *x, const struct hg_offer *y)
{
    if (x->rate.amount != y->rate.amount)
        return x->rate.amount < y->rate.amount;
    if (x->available.start_ms != y->available.start_ms)
        return x->available.start_ms < y->available.start_ms;
    return strcmp(x->id, y->id) < 0;
}

size_t hg_tender_match(const struct hg_tender *t, const struct hg_offer *offers, size_t n,
                       int64_t now_ms, struct hg_match *out, size_t cap)
{
    size_t eligible = 0, kept = 0;
    for (size_t i = 0; i < n; i++) {
        double d;
        if (evaluate(t, &offers[i], now_ms, &d, NULL) != HG_OK)
            continue;
        eligible++;
        /* stable insertion into the best `cap`: an equal offer goes after
         * the ones already kept, so ties keep input order */
        size_t pos = kept;
        while (pos > 0 && better(&offers[i], &offers[out[pos - 1].index]))
            pos--;
        if (pos >= cap)
            continue;
        size_t last = kept < cap ? kept : cap - 1;
        memmove(&out[pos + 1], &out[pos], (last - pos) * sizeof *out);
        out[pos] = (struct hg_match){.index = i, .detour_km = d};
        if (kept < cap)
            kept++;
    }
    return eligible;
}
