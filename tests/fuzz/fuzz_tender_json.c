/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_tender_json.c — libFuzzer target for the JSON readers of tender/:
 * the same bytes (copied into an exact-size buffer so a read past the
 * length is caught) go to hg_tender_parse, hg_offer_parse,
 * hg_tender_parse_transition and hg_tender_parse_cancel. Invariants: a
 * failure is a 400 or 422 with a pointer that is "" or starts with '/' and
 * a non-empty sentence, both valid UTF-8 (they go into a JSON problem
 * document); a success round-trips exactly — to_json, serialised to text
 * as the store keeps it, read back by from_json, gives the same struct and
 * the same text again — and holds the header's invariants (windows with
 * start < end, bounded lists, reasons within their limit).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tender/tender.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW INT64_C(1795219200000) /* 2026-11-21T00:00:00Z */

static void check(int cond)
{
    if (!cond)
        abort();
}

static void check_utf8(const char *s)
{
    json_t *j = json_string(s);
    check(j != NULL);
    json_decref(j);
}

static void check_err(hg_status rc, const struct hg_verr *err)
{
    check(rc == HG_EINVAL || rc == HG_ENOMEM);
    if (rc != HG_EINVAL)
        return;
    check(err->status == 400 || err->status == 422);
    check(err->pointer[0] == '\0' || err->pointer[0] == '/');
    check(strlen(err->pointer) < sizeof err->pointer);
    check(err->detail[0] != '\0' && strlen(err->detail) < sizeof err->detail);
    check_utf8(err->pointer);
    check_utf8(err->detail);
}

/* doc → text → doc: the path through the store */
static json_t *through_text(json_t *doc, char **text)
{
    *text = json_dumps(doc, JSON_COMPACT);
    check(*text != NULL);
    json_error_t je;
    json_t *back = json_loads(*text, JSON_REJECT_DUPLICATES, &je);
    check(back != NULL);
    return back;
}

static void tender_round_trip(struct hg_tender *t)
{
    check(t->pickup.start_ms < t->pickup.end_ms && t->delivery.start_ms < t->delivery.end_ms);
    check(t->delivery.end_ms > t->pickup.start_ms && t->pickup.end_ms > NOW);
    check(t->weight_lbs > 0 && t->weight_lbs <= 200000);
    /* what the server fills in */
    memcpy(t->id, "0193a5b0-7c1e-7d3a-9f00-1234567890ab", 37);
    t->state = HG_TS_OFFERED;
    t->version = 3;
    t->created_ms = NOW;
    t->updated_ms = NOW + 1;
    memcpy(t->correlation_id, "corr-1", 7);
    memcpy(t->capacity_id, "0193a5b0-7c1e-7d3a-9f00-00000000beef", 37);

    json_t *doc = hg_tender_to_json(t);
    check(doc != NULL);
    char *text, *text2;
    json_t *parsed = through_text(doc, &text);
    struct hg_tender back;
    struct hg_verr err;
    check(hg_tender_from_json(parsed, &back, &err) == HG_OK);
    json_t *e1 = t->extensions, *e2 = back.extensions;
    check((e1 == NULL) == (e2 == NULL));
    check(!e1 || json_equal(e1, e2));
    t->extensions = back.extensions = NULL;
    check(memcmp(t, &back, sizeof back) == 0);
    t->extensions = e1;
    back.extensions = e2;
    json_t *doc2 = hg_tender_to_json(&back);
    check(doc2 != NULL);
    text2 = json_dumps(doc2, JSON_COMPACT);
    check(text2 && strcmp(text, text2) == 0);
    free(text);
    free(text2);
    json_decref(doc);
    json_decref(doc2);
    json_decref(parsed);
    hg_tender_clear(&back);
}

static void offer_round_trip(struct hg_offer *o)
{
    check(o->available.start_ms < o->available.end_ms && o->expires_ms > NOW);
    check(o->nroute >= 1 && o->nroute <= HG_TENDER_ROUTE_MAX);
    const struct hg_constraints *c = &o->constraints;
    check(c->nequipment <= HG_TENDER_LIST_MAX && c->ncharging <= HG_TENDER_LIST_MAX &&
          c->nmaintenance <= HG_TENDER_LIST_MAX && c->nrestrictions <= HG_TENDER_LIST_MAX);
    for (size_t i = 0; i < c->nmaintenance; i++)
        check(c->maintenance[i].start_ms < c->maintenance[i].end_ms);
    memcpy(o->id, "0193a5b0-7c1e-7d3a-9f00-00000000beef", 37);
    o->created_ms = NOW;

    json_t *doc = hg_offer_to_json(o);
    check(doc != NULL);
    char *text, *text2;
    json_t *parsed = through_text(doc, &text);
    struct hg_offer back;
    struct hg_verr err;
    check(hg_offer_from_json(parsed, &back, &err) == HG_OK);
    check(memcmp(o, &back, sizeof back) == 0);
    json_t *doc2 = hg_offer_to_json(&back);
    check(doc2 != NULL);
    text2 = json_dumps(doc2, JSON_COMPACT);
    check(text2 && strcmp(text, text2) == 0);
    free(text);
    free(text2);
    json_decref(doc);
    json_decref(doc2);
    json_decref(parsed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    if (size)
        memcpy(p, data, size);
    struct hg_verr err;
    hg_status rc;

    static struct hg_tender t; /* static: large, and zeroed by the parser anyway */
    rc = hg_tender_parse(p, size, NOW, &t, &err);
    if (rc == HG_OK)
        tender_round_trip(&t);
    else
        check_err(rc, &err);
    hg_tender_clear(&t);

    static struct hg_offer o;
    rc = hg_offer_parse(p, size, NOW, &o, &err);
    if (rc == HG_OK)
        offer_round_trip(&o);
    else
        check_err(rc, &err);

    struct hg_transition_req tr;
    rc = hg_tender_parse_transition(p, size, &tr, &err);
    if (rc == HG_OK) {
        check(tr.to < HG_TS__COUNT);
        check(strlen(tr.reason) <= HG_TENDER_REASON_MAX);
        check(tr.capacity_id[0] == '\0' || strlen(tr.capacity_id) == HG_TENDER_ID_LEN);
    } else {
        check_err(rc, &err);
    }

    char reason[HG_TENDER_REASON_MAX + 1];
    rc = hg_tender_parse_cancel(p, size, reason, &err);
    if (rc == HG_OK)
        check(strlen(reason) <= HG_TENDER_REASON_MAX);
    else
        check_err(rc, &err);

    free(p);
    return 0;
}
