/* SPDX-License-Identifier: Apache-2.0
 * test_ratelimit.c — the per-principal bucket (api/ratelimit.c) with an
 * injected clock: a burst goes through at once, the next request waits one
 * interval, Retry-After rounds up to whole seconds (never 0), idle time
 * refills at most the burst, and principals never share a bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

#define S 1000000000ull

static void burst_then_rate(void **state)
{
    (void)state;
    struct api_bucket b;
    atomic_init(&b.tat_ns, 0);
    uint64_t interval = S / 10, retry = 0; /* 10/s, burst 5 */
    uint64_t t0 = 1000 * S;
    for (int i = 0; i < 5; i++)
        assert_true(api__rl_take(&b, t0, interval, 5, &retry));
    assert_false(api__rl_take(&b, t0, interval, 5, &retry));
    assert_int_equal(retry, 1); /* 100 ms away: rounds up to 1 s */
    /* one interval later exactly one more */
    assert_true(api__rl_take(&b, t0 + interval, interval, 5, &retry));
    assert_false(api__rl_take(&b, t0 + interval, interval, 5, &retry));
    /* a refused request costs nothing: still one token per interval */
    assert_true(api__rl_take(&b, t0 + 2 * interval, interval, 5, &retry));
    /* a long idle period refills the burst, not more */
    uint64_t later = t0 + 3600 * S;
    for (int i = 0; i < 5; i++)
        assert_true(api__rl_take(&b, later, interval, 5, &retry));
    assert_false(api__rl_take(&b, later, interval, 5, &retry));
}

static void retry_after_whole_seconds(void **state)
{
    (void)state;
    struct api_bucket b;
    atomic_init(&b.tat_ns, 0);
    uint64_t interval = S; /* 1/s */
    uint64_t retry = 0, t0 = 50 * S;
    assert_true(api__rl_take(&b, t0, interval, 1, &retry));
    assert_false(api__rl_take(&b, t0, interval, 1, &retry));
    assert_int_equal(retry, 1);
    /* rate 1 per 10 s, burst 2: the third request waits 10 s */
    atomic_store(&b.tat_ns, 0);
    interval = 10 * S;
    assert_true(api__rl_take(&b, t0, interval, 2, &retry));
    assert_true(api__rl_take(&b, t0, interval, 2, &retry));
    assert_false(api__rl_take(&b, t0, interval, 2, &retry));
    assert_int_equal(retry, 10);
    assert_false(api__rl_take(&b, t0 + 4 * S + 1, interval, 2, &retry));
    assert_int_equal(retry, 6); /* 5.999999999 s rounds up */
    assert_true(api__rl_take(&b, t0 + 10 * S, interval, 2, &retry));
}

static void buckets_per_principal(void **state)
{
    (void)state;
    struct hg_config_client clients[2];
    memset(clients, 0, sizeof clients);
    clients[0].name = "a";
    clients[1].name = "b";
    struct hg_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.clients = clients;
    cfg.nclients = 2;
    cfg.ratelimit.rate = 1;
    cfg.ratelimit.burst = 2;
    struct hg_api api;
    memset(&api, 0, sizeof api);
    api.cfg = &cfg;
    struct hg_err err;
    assert_int_equal(hg_api_init(&api, &err), HG_OK);
    uint64_t retry = 0;
    assert_true(api__rl_check(&api, &clients[0], &retry));
    assert_true(api__rl_check(&api, &clients[0], &retry));
    assert_false(api__rl_check(&api, &clients[0], &retry));
    assert_true(retry >= 1);
    /* b has its own bucket */
    assert_true(api__rl_check(&api, &clients[1], &retry));
    assert_true(api__rl_check(&api, &clients[1], &retry));
    assert_false(api__rl_check(&api, &clients[1], &retry));
    hg_api_cleanup(&api);
    hg_api_cleanup(&api); /* safe twice */
    /* rate 0: unlimited */
    cfg.ratelimit.rate = 0;
    assert_int_equal(hg_api_init(&api, &err), HG_OK);
    for (int i = 0; i < 1000; i++)
        assert_true(api__rl_check(&api, &clients[0], &retry));
    hg_api_cleanup(&api);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_then_rate),
        cmocka_unit_test(retry_after_whole_seconds),
        cmocka_unit_test(buckets_per_principal),
    };
    return cmocka_run_group_tests_name("api/ratelimit", tests, NULL, NULL);
}
