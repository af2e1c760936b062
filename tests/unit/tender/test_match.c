/* SPDX-License-Identifier: Apache-2.0
 * test_match.c — matching offers to tenders: distances against ellipsoidal
 * (Vincenty, WGS 84) values for real city pairs, segment distance (cross-
 * track, clamping to the ends), and each eligibility rule at its edges:
 * window overlap, expiry, maintenance, hours of operation, detour,
 * direction, weight, hazmat, equipment, autonomy; the deterministic ranking
 * with ties and a short cap; and the 422 sentences of hg_tender_check_offer.
 * Reference numbers were computed outside this code base. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tender/tender.h"

#define NOW INT64_C(1795219200000) /* 2026-11-21T00:00:00Z */
#define HOUR INT64_C(3600000)
#define MIN INT64_C(60000)

static const struct hg_geo DALLAS = {32.7767, -96.7970}, HOUSTON = {29.7604, -95.3698};

static void near_pct(double got, double want, double pct)
{
    if (fabs(got - want) > want * pct / 100.0)
        print_message("# got %.4f want %.4f (±%.2f%%)\n", got, want, pct);
    assert_true(fabs(got - want) <= want * pct / 100.0);
}

static void near_km(double got, double want, double tol)
{
    if (fabs(got - want) > tol)
        print_message("# got %.6f want %.6f (±%g km)\n", got, want, tol);
    assert_true(fabs(got - want) <= tol);
}

static void distances(void **state)
{
    (void)state;
    static const struct {
        struct hg_geo a, b;
        double km; /* WGS 84 geodesic (Vincenty) */
    } pairs[] = {
        {{40.7128, -74.0060}, {34.0522, -118.2437}, 3944.4}, /* New York – Los Angeles */
        {{51.5074, -0.1278}, {48.8566, 2.3522}, 343.9},      /* London – Paris */
        {{32.7767, -96.7970}, {29.7604, -95.3698}, 361.0},   /* Dallas – Houston */
        {{41.8781, -87.6298}, {33.7490, -84.3880}, 946.1},   /* Chicago – Atlanta */
        {{-33.8688, 151.2093}, {-37.8136, 144.9631}, 713.9}, /* Sydney – Melbourne */
        {{35.6762, 139.6503}, {34.6937, 135.5023}, 393.2},   /* Tokyo – Osaka */
        {{34.0522, -118.2437}, {33.4484, -112.0740}, 575.5}, /* Los Angeles – Phoenix */
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        near_pct(hg_geo_distance_km(pairs[i].a, pairs[i].b), pairs[i].km, 0.5);
        /* symmetric */
        near_km(hg_geo_distance_km(pairs[i].b, pairs[i].a), hg_geo_distance_km(pairs[i].a, pairs[i].b),
                1e-9);
    }
    struct hg_geo p = {12.5, 45.25};
    assert_true(hg_geo_distance_km(p, p) == 0.0);
    /* a degree of arc on the mean sphere, and half the circumference */
    near_km(hg_geo_distance_km((struct hg_geo){0, 0}, (struct hg_geo){1, 0}), 111.19508, 1e-4);
    near_km(hg_geo_distance_km((struct hg_geo){0, 0}, (struct hg_geo){0, 180}), 20015.114, 1e-2);
    near_km(hg_geo_distance_km((struct hg_geo){90, 0}, (struct hg_geo){-90, 0}), 20015.114, 1e-2);
    /* across the antimeridian */
    near_km(hg_geo_distance_km((struct hg_geo){0, 179.5}, (struct hg_geo){0, -179.5}), 111.19508,
            1e-4);
}

static void segment_distance(void **state)
{
    (void)state;
    struct hg_geo a = {0, 0}, b = {0, 10};
    /* perpendicular foot inside the segment: pure cross-track */
    near_km(hg_geo_segment_distance_km((struct hg_geo){1, 5}, a, b), 111.19508, 1e-3);
    near_km(hg_geo_segment_distance_km((struct hg_geo){-1, 5}, a, b), 111.19508, 1e-3);
    near_km(hg_geo_segment_distance_km((struct hg_geo){5, 1}, (struct hg_geo){0, 0},
                                       (struct hg_geo){10, 0}),
            110.77191, 1e-3);
    /* on the segment */
    near_km(hg_geo_segment_distance_km((struct hg_geo){0, 3}, a, b), 0, 1e-6);
    near_km(hg_geo_segment_distance_km(a, a, b), 0, 1e-6);
    near_km(hg_geo_segment_distance_km(b, a, b), 0, 1e-6);
    /* along-track clamping: beyond either end, the distance to that end */
    near_km(hg_geo_segment_distance_km((struct hg_geo){0, 12}, a, b), 222.39016, 1e-3);
    near_km(hg_geo_segment_distance_km((struct hg_geo){0, -1}, a, b), 111.19508, 1e-3);
    near_km(hg_geo_segment_distance_km((struct hg_geo){1, -3}, a, b), 351.61365, 1e-3);
    /* the same whichever way the segment runs */
    near_km(hg_geo_segment_distance_km((struct hg_geo){1, -3}, b, a), 351.61365, 1e-3);
    near_km(hg_geo_segment_distance_km((struct hg_geo){1, 5}, b, a), 111.19508, 1e-3);
    /* a point segment is a point */
    near_km(hg_geo_segment_distance_km((struct hg_geo){1, 0}, a, a), 111.19508, 1e-3);
    /* real roads: a town beside I-45 between Dallas and Houston */
    near_km(hg_geo_segment_distance_km((struct hg_geo){31.0, -96.5}, DALLAS, HOUSTON), 49.06519,
            1e-3);
    /* never more than the distance to the nearer end */
    struct hg_geo q = {40, -100};
    assert_true(hg_geo_segment_distance_km(q, DALLAS, HOUSTON) <=
                hg_geo_distance_km(q, DALLAS) + 1e-9);
}

/* ---- fixtures ---- */

static void tender_fixture(struct hg_tender *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->tms_load_id, sizeof t->tms_load_id, "L1");
    t->origin.at = (struct hg_geo){32.70, -96.75};      /* south Dallas */
    t->destination.at = (struct hg_geo){29.80, -95.40}; /* north Houston */
    t->pickup = (struct hg_window){NOW + 8 * HOUR, NOW + 10 * HOUR};
    t->delivery = (struct hg_window){NOW + 12 * HOUR, NOW + 18 * HOUR};
    t->weight_lbs = 40000;
    snprintf(t->equipment, sizeof t->equipment, "dry_van");
    t->autonomy_allowed = 1;
    t->human_fallback_allowed = 1;
}

static void offer_fixture(struct hg_offer *o, const char *id, double amount)
{
    memset(o, 0, sizeof *o);
    snprintf(o->id, sizeof o->id, "%s", id);
    snprintf(o->provider_id, sizeof o->provider_id, "p");
    snprintf(o->autonomy_level, sizeof o->autonomy_level, "L4");
    o->available = (struct hg_window){NOW + 6 * HOUR, NOW + 20 * HOUR};
    o->nroute = 1;
    o->route[0] = (struct hg_route_segment){DALLAS, HOUSTON, 15};
    o->rate.amount = amount;
    snprintf(o->rate.currency, sizeof o->rate.currency, "USD");
    o->expires_ms = NOW + 12 * HOUR;
}

#define ID(n) "0193a5b0-0000-7000-8000-00000000000" #n

static int eligible(const struct hg_tender *t, const struct hg_offer *o, int64_t now)
{
    struct hg_match m;
    size_t n = hg_tender_match(t, o, 1, now, &m, 1);
    struct hg_verr err = {0};
    hg_status rc = hg_tender_check_offer(t, o, now, &err);
    /* the two entry points agree, always */
    assert_int_equal(n == 1, rc == HG_OK);
    if (rc != HG_OK) {
        assert_int_equal(err.status, 422);
        assert_string_equal(err.pointer, "/capacityId");
        assert_true(strlen(err.detail) > 0);
    }
    return n == 1;
}

static void why(const struct hg_tender *t, const struct hg_offer *o, const char *in_detail)
{
    struct hg_verr err = {0};
    assert_int_equal(hg_tender_check_offer(t, o, NOW, &err), HG_EINVAL);
    if (!strstr(err.detail, in_detail))
        print_message("# detail '%s' lacks '%s'\n", err.detail, in_detail);
    assert_non_null(strstr(err.detail, in_detail));
}

static void base_case(void **state)
{
    (void)state;
    struct hg_tender t;
    struct hg_offer o;
    tender_fixture(&t);
    offer_fixture(&o, ID(1), 1000);
    struct hg_match m = {99, -1};
    assert_int_equal(hg_tender_match(&t, &o, 1, NOW, &m, 1), 1);
    assert_int_equal(m.index, 0);
    /* worst of the two ends' distances to the segment, a few km here */
    double w = fmax(hg_geo_segment_distance_km(t.origin.at, DALLAS, HOUSTON),
                    hg_geo_segment_distance_km(t.destination.at, DALLAS, HOUSTON));
    near_km(m.detour_km, w, 1e-9);
    assert_true(m.detour_km > 1 && m.detour_km < 15);
    struct hg_verr err = {0};
    assert_int_equal(hg_tender_check_offer(&t, &o, NOW, &err), HG_OK);
    /* nothing to match */
    assert_int_equal(hg_tender_match(&t, NULL, 0, NOW, NULL, 0), 0);
}

static void windows(void **state)
{
    (void)state;
    struct hg_tender t;
    struct hg_offer o;
    tender_fixture(&t); /* pickup 08:00–10:00 */
    offer_fixture(&o, ID(1), 1000);
    int64_t ps = t.pickup.start_ms;
    static const struct {
        int64_t s, e; /* relative to the pickup start; the pickup ends at +2 h */
        int ok;
    } cases[] = {
        {-2 * HOUR, 0, 0},           /* ends exactly at pickup start: touching is not overlap */
        {-2 * HOUR, 1, 1},           /* one millisecond of overlap */
        {2 * HOUR, 4 * HOUR, 0},     /* starts exactly at pickup end */
        {2 * HOUR - 1, 4 * HOUR, 1}, /* starts a millisecond before */
        {-10 * HOUR, -5 * HOUR, 0},  /* entirely before */
        {30 * MIN, HOUR, 1},         /* entirely inside the pickup window */
        {-HOUR, 3 * HOUR, 1},        /* contains it */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        o.available = (struct hg_window){ps + cases[i].s, ps + cases[i].e};
        assert_int_equal(eligible(&t, &o, NOW), cases[i].ok);
    }
    o.available = (struct hg_window){ps - 2 * HOUR, ps};
    why(&t, &o, "does not overlap the tender's pickup window");
}

static void expiry(void **state)
{
    (void)state;
    struct hg_tender t;
    struct hg_offer o;
    tender_fixture(&t);
    offer_fixture(&o, ID(1), 1000);
    o.expires_ms = NOW;
    assert_int_equal(eligible(&t, &o, NOW), 0);
    why(&t, &o, "expired at 2026-11-21T00:00:00.000Z");
    o.expires_ms = NOW + 1;
    assert_int_equal(eligible(&t, &o, NOW), 1);
    assert_int_equal(eligible(&t, &o, NOW + 1), 0);
    /* expiry is checked first: it is what the caller is told */
    snprintf(o.constraints.equipment[0], sizeof o.constraints.equipment[0], "reefer");
    o.constraints.nequipment = 1;
    o.expires_ms = NOW - 1;
    why(&t, &o, "expired");
}

static void maintenance(void **state)
{
    (void)state;
    struct hg_tender t;
    struct hg_offer o;
    tender_fixture(&t); /* pickup 08:00–10:00, offer 06:00–20:00 */
    offer_fixture(&o, ID(1), 1000);
    struct hg_constraints *c = &o.constraints;
    int64_t ps = t.pickup.start_ms, pe = t.pickup.end_ms;
    /* the whole overlap in the shop */
    c->nmaintenance = 1;
    c->maintenance[0] = (struct hg_window){ps - HOUR, pe + HOUR};
    assert_int_equal(eligible(&t, &o, NOW), 0);
    why(&t, &o, "maintenance");
    /* exactly the pickup window */
    c->maintenance[0] = (struct hg_window){ps, pe};
    assert_int_equal(eligible(&t, &o, NOW), 0);
    /* all but the last millisecond */
    c->maintenance[0] = (struct hg_window){ps, pe - 1};
    assert_int_equal(eligible(&t, &o, NOW), 1);
    /* two adjacent windows covering it together */
    c->nmaintenance = 2;
    c->maintenance[0] = (struct hg_window){ps - HOUR, ps + HOUR};
    c->maintenance[1] = (struct hg_window){ps + HOUR, pe};
    assert_int_equal(eligible(&t, &o, NOW), 0);
    /* ... with a one-millisecond gap between them */
    c->maintenance[1] = (struct hg_window){ps + HOUR + 1, pe};
    assert_int_equal(eligible(&t, &o, NOW), 1);
    /* maintenance elsewhere in the offer's window does not matter */
    c->nmaintenance = 1;
    c->maintenance[0] = (struct hg_window){pe, pe + 5 * HOUR};
    assert_int_equal(eligible(&t, &o, NOW), 1);
    /* sixteen small windows leaving one free minute */
    c->nmaintenance = HG_TENDER_LIST_MAX;
    for (int i = 0; i < HG_TENDER_LIST_MAX; i++)
        c->maintenance[i] = (struct hg_window){ps + i * 7 * MIN, ps + (i + 1) * 7 * MIN};
    /* 16 × 7 = 112 min covered from 08:00, leaving 09:52–10:00 */
    assert_int_equal(eligible(&t, &o, NOW), 1);
    c->maintenance[15].end_ms = pe;
    assert_int_equal(eligible(&t, &o, NOW), 0);
}

static void hours(void **state)
{
    (void)state;
    struct hg_tender t;
    struct hg_offer o;
    tender_fixture(&t); /* pickup 08:00–10:00 UTC */
    offer_fixture(&o, ID(1), 1000);
    struct hg_hours *h = &o.constraints.hours;
    static const struct {
        int s, e, ok;
    } cases[] = {
        {22 * 60, 6 * 60, 0},      /* night shift, across midnight */
        {22 * 60, 8 * 60, 0},      /* ends exactly at pickup start */
        {22 * 60, 8 * 60 + 1, 1},  /* one minute in */
        {10 * 60, 12 * 60, 0},     /* starts exactly at pickup end */
        {9 * 60 + 59, 12 * 60, 1}, /* one minute before the end */
        {8 * 60 + 30, 9 * 60, 1},  /* inside */
        {0, 0, 1},                 /* equal: all day */
        {13 * 60, 13 * 60, 1},     /* equal: all day */
        {0, 1440, 1},              /* 00:00–24:00 */
        {12 * 60, 1440, 0},        /* afternoons */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        *h = (struct hg_hours){1, cases[i].s, cases[i].e};
        if (eligible(&t, &o, NOW) != cases[i].ok)
            print_message("# hours %d-%d\n", cases[i].s, cases[i].e);
        assert_int_equal(eligible(&t, &o, NOW), cases[i].ok);
    }
    *h = (struct hg_hours){1, 22 * 60, 6 * 60};
    why(&t, &o, "operates only 22:00 to 06:00 UTC");
    /* a pickup window across midnight meets a night shift on the next day */
    t.pickup = (struct hg_window){NOW + 23 * HOUR, NOW + 25 * HOUR};
    o.available = (struct hg_window){NOW, NOW + 48 * HOUR};
    o.expires_ms = NOW + 48 * HOUR;
    *h = (struct hg_hours){1, 30, 120}; /* 00:30–02:00 */
    assert_int_equal(eligible(&t, &o, NOW), 1);
    *h = (struct hg_hours){1, 60, 120}; /* 01:00–02:00: pickup ends at 01:00 */
    assert_int_equal(eligible(&t, &o, NOW), 0);
    /* a pickup window of more than a day meets any hours */
    t.pickup = (struct hg_window){NOW, NOW + 30 * HOUR};
    *h = (struct hg_hours){1, 60, 61};
    assert_int_equal(eligible(&t, &o, NOW), 1);
    /* the operating minutes must be outside maintenance too */
    tender_fixture(&t);
    offer_fixture(&o, ID(1), 1000);
    *h = (struct hg_hours){1, 8 * 60, 9 * 60};
    o.constraints.nmaintenance = 1;
    o.constraints.maintenance[0] = (struct hg_window){NOW + 8 * HOUR, NOW + 9 * HOUR};
    assert_int_equal(eligible(&t, &o, NOW), 0);
    o.constraints.maintenance[0].end_ms -= MIN;
    assert_int_equal(eligible(&t, &o, NOW), 1);
}

static void detour_and_direction(void **state)
{
    (void)state;
    struct hg_tender t;
    struct hg_offer o;
    tender_fixture(&t);
    offer_fixture(&o, ID(1), 1000);
    /* along the equator: origin 0.1° north (11.12 km), destination 0.05° south */
    o.route[0] = (struct hg_route_segment){{0, 0}, {0, 10}, 11.2};
    t.origin.at = (struct hg_geo){0.1, 2};
    t.destination.at = (struct hg_geo){-0.05, 8};
    struct hg_match m;
    assert_int_equal(hg_tender_match(&t, &o, 1, NOW, &m, 1), 1);
    near_km(m.detour_km, 11.119508, 1e-3);
    o.route[0].max_detour_km = 11.1;
    assert_int_equal(eligible(&t, &o, NOW), 0);
    why(&t, &o, "closest: segment 0, 11.1 km away");
    o.route[0].max_detour_km = 11.2;
    /* the destination a little past the segment's end: distance to the end */
    t.destination.at = (struct hg_geo){0, 10.05};
    assert_int_equal(eligible(&t, &o, NOW), 1);
    t.destination.at = (struct hg_geo){0, 10.2}; /* 22.2 km past */
    assert_int_equal(eligible(&t, &o, NOW), 0);
    t.destination.at = (struct hg_geo){-0.05, 8};
    /* direction: the load goes the other way */
    struct hg_geo tmp = t.origin.at;
    t.origin.at = t.destination.at;
    t.destination.at = tmp;
    assert_int_equal(eligible(&t, &o, NOW), 0);
    why(&t, &o, "no route segment");
    /* a second segment running back makes it eligible, and the reported
     * detour is that segment's */
    o.nroute = 2;
    o.route[1] = (struct hg_route_segment){{0, 10}, {0, 0}, 20};
    assert_int_equal(hg_tender_match(&t, &o, 1, NOW, &m, 1), 1);
    near_km(m.detour_km, 11.119508, 1e-3);
    /* a third segment that qualifies but is farther does not change it */
    o.nroute = 3;
    o.route[2] = (struct hg_route_segment){{0.1, 10}, {0.1, 0}, 20}; /* worst end 16.7 km */
    assert_int_equal(hg_tender_match(&t, &o, 1, NOW, &m, 1), 1);
    near_km(m.detour_km, 11.119508, 1e-3);
    /* a nearer one does: 0.075° from both ends */
    o.nroute = 4;
    o.route[3] = (struct hg_route_segment){{0.025, 10}, {0.025, 0}, 20};
    assert_int_equal(hg_tender_match(&t, &o, 1, NOW, &m, 1), 1);
    near_km(m.detour_km, 0.075 * 111.19508, 1e-2);
}

static void load_rules(void **state)
{
    (void)state;
    struct hg_tender t;
    struct hg_offer o;
    tender_fixture(&t);
    offer_fixture(&o, ID(1), 1000);
    struct hg_constraints *c = &o.constraints;
    /* weight */
    c->has_max_weight = 1;
    c->max_weight_lbs = 40000;
    assert_int_equal(eligible(&t, &o, NOW), 1);
    c->max_weight_lbs = 39999.9;
    assert_int_equal(eligible(&t, &o, NOW), 0);
    why(&t, &o, "weighs 40000 lbs, above");
    c->has_max_weight = 0;
    assert_int_equal(eligible(&t, &o, NOW), 1);
    /* hazmat */
    t.hazmat = 1;
    assert_int_equal(eligible(&t, &o, NOW), 0);
    why(&t, &o, "hazmat");
    c->hazmat = 1;
    assert_int_equal(eligible(&t, &o, NOW), 1);
    t.hazmat = 0;
    assert_int_equal(eligible(&t, &o, NOW), 1);
    /* equipment */
    c->nequipment = 2;
    snprintf(c->equipment[0], sizeof c->equipment[0], "reefer");
    snprintf(c->equipment[1], sizeof c->equipment[1], "flatbed");
    assert_int_equal(eligible(&t, &o, NOW), 0);
    why(&t, &o, "does not list the tender's equipment \"dry_van\"");
    snprintf(c->equipment[1], sizeof c->equipment[1], "Dry_Van");
    assert_int_equal(eligible(&t, &o, NOW), 0); /* tags are case-sensitive */
    snprintf(c->equipment[1], sizeof c->equipment[1], "dry_van");
    assert_int_equal(eligible(&t, &o, NOW), 1);
    c->nequipment = 0;
    assert_int_equal(eligible(&t, &o, NOW), 1);
    /* autonomy */
    t.autonomy_allowed = 0;
    assert_int_equal(eligible(&t, &o, NOW), 0);
    why(&t, &o, "does not allow autonomous trucks");
    t.autonomy_allowed = 1;
    t.human_fallback_allowed = 0;
    assert_int_equal(eligible(&t, &o, NOW), 1);
    /* charging windows and cargo restrictions do not exclude anything */
    c->ncharging = 1;
    c->charging[0] = t.pickup;
    c->nrestrictions = 1;
    snprintf(c->restrictions[0], sizeof c->restrictions[0], "livestock");
    assert_int_equal(eligible(&t, &o, NOW), 1);
}

static void ranking(void **state)
{
    (void)state;
    struct hg_tender t;
    tender_fixture(&t);
    struct hg_offer o[8];
    offer_fixture(&o[0], ID(5), 1800);
    offer_fixture(&o[1], ID(4), 1700);
    o[1].available.start_ms = NOW + 7 * HOUR;
    offer_fixture(&o[2], ID(3), 1700); /* same rate, earlier start: before o[1] */
    offer_fixture(&o[3], ID(2), 1700);
    o[3].available.start_ms = NOW + 7 * HOUR; /* ties o[1] on rate and start: id decides */
    offer_fixture(&o[4], ID(1), 1600);
    o[4].expires_ms = NOW; /* cheapest, but expired */
    offer_fixture(&o[5], ID(2), 1700);
    o[5].available.start_ms = NOW + 7 * HOUR; /* a full tie with o[3]: input order */
    offer_fixture(&o[6], ID(9), 0);           /* free */
    offer_fixture(&o[7], ID(8), 1700.0000001);
    struct hg_match m[8];
    size_t n = hg_tender_match(&t, o, 8, NOW, m, 8);
    assert_int_equal(n, 7);
    static const size_t want[] = {6, 2, 3, 5, 1, 7, 0};
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(m[i].index, want[i]);
    /* a short cap: the count is still every eligible offer, the list the best */
    struct hg_match s[3] = {{99, 0}, {99, 0}, {99, 0}};
    assert_int_equal(hg_tender_match(&t, o, 8, NOW, s, 2), 7);
    assert_int_equal(s[0].index, 6);
    assert_int_equal(s[1].index, 2);
    assert_int_equal(s[2].index, 99); /* untouched */
    assert_int_equal(hg_tender_match(&t, o, 8, NOW, NULL, 0), 7);
    /* cap 1 keeps the single best */
    assert_int_equal(hg_tender_match(&t, o, 8, NOW, s, 1), 7);
    assert_int_equal(s[0].index, 6);
    /* reversed input: the same offers in the same order, except the full tie,
     * which follows the input */
    struct hg_offer r[8];
    for (size_t i = 0; i < 8; i++)
        r[i] = o[7 - i];
    assert_int_equal(hg_tender_match(&t, r, 8, NOW, m, 8), 7);
    static const size_t want_r[] = {1, 5, 2, 4, 6, 0, 7}; /* 7 - {6, 2, 5, 3, 1, 7, 0} */
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(m[i].index, want_r[i]);
    /* many offers with a small cap: the kept list is the sorted head */
    static struct hg_offer many[200];
    for (int i = 0; i < 200; i++) {
        char id[40];
        snprintf(id, sizeof id, "0193a5b0-0000-7000-8000-%012d", i);
        offer_fixture(&many[i], id, (double)((i * 37) % 50));
    }
    struct hg_match top[10];
    assert_int_equal(hg_tender_match(&t, many, 200, NOW, top, 10), 200);
    for (int i = 1; i < 10; i++) {
        const struct hg_offer *x = &many[top[i - 1].index], *y = &many[top[i].index];
        assert_true(x->rate.amount < y->rate.amount ||
                    (x->rate.amount == y->rate.amount && strcmp(x->id, y->id) < 0));
    }
    assert_true(many[top[0].index].rate.amount == 0);
    assert_true(many[top[9].index].rate.amount == 2); /* 0,0,0,0,1,1,1,1,2,2 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(distances),   cmocka_unit_test(segment_distance),
        cmocka_unit_test(base_case),   cmocka_unit_test(windows),
        cmocka_unit_test(expiry),      cmocka_unit_test(maintenance),
        cmocka_unit_test(hours),       cmocka_unit_test(detour_and_direction),
        cmocka_unit_test(load_rules),  cmocka_unit_test(ranking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
