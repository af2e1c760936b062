/* SPDX-License-Identifier: Apache-2.0
 * test_state.c — the tender state machine against a matrix written out here
 * by hand from issue 3 (not derived from the table in tender_state.c):
 * every (from, to) pair, terminal states, next-state lists and their cap,
 * names in both directions, and out-of-range states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tender/tender.h"

#define N HG_TS__COUNT

static const char *const names[N] = {
    "pending", "offered", "accepted", "rejected", "expired",
    "dispatched", "enroute", "delivered", "cancelled", "failed_over",
};

/* rows: from; columns: to; in enum order
 *   pe of ac re ex di en de ca fo */
static const int edge[N][N] = {
    {0, 1, 0, 0, 0, 0, 0, 0, 1, 0}, /* pending → offered, cancelled */
    {0, 0, 1, 1, 1, 0, 0, 0, 1, 1}, /* offered → accepted, rejected, expired, cancelled, failed_over */
    {0, 0, 0, 0, 0, 1, 0, 0, 1, 1}, /* accepted → dispatched, cancelled, failed_over */
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, /* rejected: terminal */
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, /* expired: terminal */
    {0, 0, 0, 0, 0, 0, 1, 0, 1, 0}, /* dispatched → enroute, cancelled */
    {0, 0, 0, 0, 0, 0, 0, 1, 1, 0}, /* enroute → delivered, cancelled */
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, /* delivered: terminal */
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, /* cancelled: terminal */
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, /* failed_over: terminal */
};

static const int terminal[N] = {0, 0, 0, 1, 1, 0, 0, 1, 1, 1};

static void every_pair(void **state)
{
    (void)state;
    int mismatches = 0, edges = 0;
    for (int f = 0; f < N; f++) {
        for (int t = 0; t < N; t++) {
            int got = hg_tender_transition_allowed((enum hg_tender_state)f, (enum hg_tender_state)t);
            if (got != edge[f][t]) {
                printf("# %s -> %s: got %d, expected %d\n", names[f], names[t], got, edge[f][t]);
                mismatches++;
            }
            edges += got;
        }
    }
    assert_int_equal(mismatches, 0);
    assert_int_equal(edges, 14);
}

static void terminal_states(void **state)
{
    (void)state;
    for (int s = 0; s < N; s++) {
        assert_int_equal(hg_tender_state_terminal((enum hg_tender_state)s), terminal[s]);
        /* any non-terminal state can be cancelled; a terminal one goes nowhere */
        assert_int_equal(hg_tender_transition_allowed((enum hg_tender_state)s, HG_TS_CANCELLED),
                         !terminal[s]);
    }
    assert_int_equal(hg_tender_state_terminal(HG_TS__COUNT), 0);
}

static void next_states(void **state)
{
    (void)state;
    for (int f = 0; f < N; f++) {
        enum hg_tender_state out[N + 1];
        size_t expect = 0;
        for (int t = 0; t < N; t++)
            expect += (size_t)edge[f][t];
        size_t n = hg_tender_next_states((enum hg_tender_state)f, out, N + 1);
        assert_int_equal(n, expect);
        size_t k = 0;
        for (int t = 0; t < N; t++)
            if (edge[f][t])
                assert_int_equal(out[k++], t); /* enum order */
        /* a short cap: the count is still the full count, writes stop at cap */
        enum hg_tender_state small[2] = {HG_TS__COUNT, HG_TS__COUNT};
        size_t m = hg_tender_next_states((enum hg_tender_state)f, small, 1);
        assert_int_equal(m, expect);
        if (expect > 0)
            assert_int_equal(small[0], out[0]);
        else
            assert_int_equal(small[0], HG_TS__COUNT);
        assert_int_equal(small[1], HG_TS__COUNT);
    }
    assert_int_equal(hg_tender_next_states(HG_TS__COUNT, NULL, 0), 0);
}

static void names_both_ways(void **state)
{
    (void)state;
    for (int s = 0; s < N; s++) {
        assert_string_equal(hg_tender_state_name((enum hg_tender_state)s), names[s]);
        enum hg_tender_state back = HG_TS__COUNT;
        assert_int_equal(hg_tender_state_parse(names[s], &back), HG_OK);
        assert_int_equal(back, s);
    }
    assert_string_equal(hg_tender_state_name(HG_TS__COUNT), "?");
    assert_string_equal(hg_tender_state_name((enum hg_tender_state)-1), "?");
    static const char *const bad[] = {"", "Pending", "PENDING", "pending ", " pending",
                                      "failed-over", "failedOver", "en_route", "cancel", "?"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum hg_tender_state s = HG_TS_DELIVERED;
        assert_int_equal(hg_tender_state_parse(bad[i], &s), HG_EINVAL);
        assert_int_equal(s, HG_TS_DELIVERED); /* untouched on failure */
    }
    enum hg_tender_state s;
    assert_int_equal(hg_tender_state_parse(NULL, &s), HG_EINVAL);
}

static void out_of_range(void **state)
{
    (void)state;
    for (int s = 0; s < N; s++) {
        assert_int_equal(hg_tender_transition_allowed(HG_TS__COUNT, (enum hg_tender_state)s), 0);
        assert_int_equal(hg_tender_transition_allowed((enum hg_tender_state)s, HG_TS__COUNT), 0);
        assert_int_equal(
            hg_tender_transition_allowed((enum hg_tender_state)s, (enum hg_tender_state)-1), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_pair),      cmocka_unit_test(terminal_states),
        cmocka_unit_test(next_states),     cmocka_unit_test(names_both_ways),
        cmocka_unit_test(out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
