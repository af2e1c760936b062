/* SPDX-License-Identifier: Apache-2.0
 * test_inflight.c — the idempotency in-flight set and the Prefer: wait
 * registry (api/idempotency.c, api/waiters.c) without a server: one claim
 * per (principal, key), released claims can be taken again, keys are
 * scoped to the principal, 16 threads racing for one key get exactly one
 * claim; a decision before a waiter is armed is remembered, and arming a
 * decided waiter suspends nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"

static void claim_release(void **state)
{
    (void)state;
    struct api_inflight s;
    assert_int_equal(api__inflight_init(&s), HG_OK);
    assert_int_equal(api__inflight_claim(&s, "tms", "k1"), HG_OK);
    assert_int_equal(api__inflight_claim(&s, "tms", "k1"), HG_EEXIST);
    /* scoped to the principal */
    assert_int_equal(api__inflight_claim(&s, "operator", "k1"), HG_OK);
    /* the pair is the identity: no concatenation ambiguity */
    assert_int_equal(api__inflight_claim(&s, "tm", "sk1"), HG_OK);
    assert_int_equal(api__inflight_count(&s), 3);
    api__inflight_release(&s, "tms", "k1");
    assert_int_equal(api__inflight_count(&s), 2);
    assert_int_equal(api__inflight_claim(&s, "tms", "k1"), HG_OK);
    api__inflight_release(&s, "tms", "absent"); /* no-op */
    assert_int_equal(api__inflight_count(&s), 3);
    char longkey[300];
    memset(longkey, 'a', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    assert_int_equal(api__inflight_claim(&s, "tms", longkey), HG_EINVAL);
    /* many keys: chains in buckets work */
    char k[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "key-%d", i);
        assert_int_equal(api__inflight_claim(&s, "bulk", k), HG_OK);
    }
    for (int i = 0; i < 5000; i += 2) {
        snprintf(k, sizeof k, "key-%d", i);
        api__inflight_release(&s, "bulk", k);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "key-%d", i);
        assert_int_equal(api__inflight_claim(&s, "bulk", k), i % 2 ? HG_EEXIST : HG_OK);
    }
    api__inflight_cleanup(&s); /* frees what is left */
}

struct race {
    struct api_inflight *s;
    pthread_barrier_t *go;
    int won;
};

static void *racer(void *arg)
{
    struct race *r = arg;
    pthread_barrier_wait(r->go);
    r->won = api__inflight_claim(r->s, "tms", "same-key") == HG_OK;
    return NULL;
}

static void one_winner(void **state)
{
    (void)state;
    struct api_inflight s;
    assert_int_equal(api__inflight_init(&s), HG_OK);
    for (int round = 0; round < 20; round++) {
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 16);
        pthread_t t[16];
        struct race rs[16];
        for (int i = 0; i < 16; i++) {
            rs[i] = (struct race){&s, &go, 0};
            pthread_create(&t[i], NULL, racer, &rs[i]);
        }
        int winners = 0;
        for (int i = 0; i < 16; i++) {
            pthread_join(t[i], NULL);
            winners += rs[i].won;
        }
        pthread_barrier_destroy(&go);
        assert_int_equal(winners, 1);
        api__inflight_release(&s, "tms", "same-key");
        assert_int_equal(api__inflight_count(&s), 0);
    }
    api__inflight_cleanup(&s);
}

static void waiter_decided_before_arming(void **state)
{
    (void)state;
    struct api_waiters ws;
    assert_int_equal(api__waiters_init(&ws), HG_OK);
    struct api_waiter a, b, c;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    snprintf(a.tender_id, sizeof a.tender_id, "t-1");
    snprintf(b.tender_id, sizeof b.tender_id, "t-1");
    snprintf(c.tender_id, sizeof c.tender_id, "t-2");
    api__waiter_add(&ws, &a);
    api__waiter_add(&ws, &b);
    api__waiter_add(&ws, &c);
    assert_int_equal(api__waiters_count(&ws), 3);
    /* nobody armed: nobody woken, but both waiters of t-1 remember it */
    assert_int_equal(api__waiters_notify(&ws, "t-1"), 0);
    assert_true(a.decided);
    assert_true(b.decided);
    assert_false(c.decided);
    /* arming a decided waiter does not suspend (r is never touched) and
     * unlinks it */
    assert_int_equal(api__waiter_arm(&ws, &a, NULL, 1000, NULL, NULL), 0);
    assert_false(a.linked);
    assert_int_equal(api__waiters_count(&ws), 2);
    assert_int_equal(api__waiter_remove(&ws, &b), 1);
    assert_int_equal(api__waiter_remove(&ws, &b), 1); /* twice is fine */
    assert_int_equal(api__waiter_remove(&ws, &c), 0);
    assert_int_equal(api__waiters_count(&ws), 0);
    assert_int_equal(api__waiters_notify(&ws, "t-2"), 0);
    assert_false(c.decided); /* unlinked waiters hear nothing */
    api__waiters_cleanup(&ws);
}

/* Shutting down: later arms do not suspend (the request answers at once). */
static void waiter_after_drain(void **state)
{
    (void)state;
    struct api_waiters ws;
    assert_int_equal(api__waiters_init(&ws), HG_OK);
    struct api_waiter a;
    memset(&a, 0, sizeof a);
    snprintf(a.tender_id, sizeof a.tender_id, "t-1");
    api__waiter_add(&ws, &a);
    assert_int_equal(api__waiters_drain(&ws), 0); /* linked, not armed: nothing to wake */
    assert_int_equal(api__waiter_arm(&ws, &a, NULL, 1000, NULL, NULL), 0);
    assert_false(a.linked);
    assert_int_equal(api__waiters_count(&ws), 0);
    api__waiters_cleanup(&ws);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(claim_release),
        cmocka_unit_test(one_winner),
        cmocka_unit_test(waiter_decided_before_arming),
        cmocka_unit_test(waiter_after_drain),
    };
    return cmocka_run_group_tests_name("api/inflight", tests, NULL, NULL);
}
