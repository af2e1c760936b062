/* SPDX-License-Identifier: Apache-2.0
 *
 * tender_state.c — the tender state machine as one table: a row per state
 * with its name, whether it is terminal, and the set of states it may move
 * to. Every question about states (names, edges, next states) is answered
 * from that table, so an edge can never be allowed in one place and refused
 * in another. Nothing here knows who moves a tender or why; the caller
 * records that.
 */
#include "tender/tender.h"

#include <string.h>

#define BIT(s) (1u << (s))
/* "Any non-terminal state → cancelled": every row that is not terminal has
 * this bit, spelled once so the rule is visible. */
#define CANCEL BIT(HG_TS_CANCELLED)

static const struct {
    const char *name;
    int terminal;
    unsigned next; /* bit set of enum hg_tender_state */
} machine[HG_TS__COUNT] = {
    [HG_TS_PENDING] = {"pending", 0, BIT(HG_TS_OFFERED) | CANCEL},
    [HG_TS_OFFERED] = {"offered", 0,
                       BIT(HG_TS_ACCEPTED) | BIT(HG_TS_REJECTED) | BIT(HG_TS_EXPIRED) |
                           BIT(HG_TS_FAILED_OVER) | CANCEL},
    [HG_TS_ACCEPTED] = {"accepted", 0, BIT(HG_TS_DISPATCHED) | BIT(HG_TS_FAILED_OVER) | CANCEL},
    [HG_TS_REJECTED] = {"rejected", 1, 0},
    [HG_TS_EXPIRED] = {"expired", 1, 0},
    [HG_TS_DISPATCHED] = {"dispatched", 0, BIT(HG_TS_ENROUTE) | CANCEL},
    [HG_TS_ENROUTE] = {"enroute", 0, BIT(HG_TS_DELIVERED) | CANCEL},
    [HG_TS_DELIVERED] = {"delivered", 1, 0},
    [HG_TS_CANCELLED] = {"cancelled", 1, 0},
    [HG_TS_FAILED_OVER] = {"failed_over", 1, 0},
};

static int valid(enum hg_tender_state s)
{
    return (int)s >= 0 && s < HG_TS__COUNT;
}

const char *hg_tender_state_name(enum hg_tender_state s)
{
    return valid(s) ? machine[s].name : "?";
}

hg_status hg_tender_state_parse(const char *name, enum hg_tender_state *out)
{
    if (!name)
        return HG_EINVAL;
    for (int s = 0; s < HG_TS__COUNT; s++) {
        if (strcmp(machine[s].name, name) == 0) {
            *out = (enum hg_tender_state)s;
            return HG_OK;
        }
    }
    return HG_EINVAL;
}

int hg_tender_transition_allowed(enum hg_tender_state from, enum hg_tender_state to)
{
    if (!valid(from) || !valid(to))
        return 0;
    return (machine[from].next & BIT(to)) != 0;
}

int hg_tender_state_terminal(enum hg_tender_state s)
{
    return valid(s) && machine[s].terminal;
}

size_t hg_tender_next_states(enum hg_tender_state from, enum hg_tender_state *out, size_t cap)
{
    size_t n = 0;
    if (!valid(from))
        return 0;
    for (int s = 0; s < HG_TS__COUNT; s++) {
        if (machine[from].next & BIT(s)) {
            if (n < cap)
                out[n] = (enum hg_tender_state)s;
            n++;
        }
    }
    return n;
}
