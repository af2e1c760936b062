/* SPDX-License-Identifier: Apache-2.0
 *
 * ratelimit.c — the per-principal request budget (ratelimit.rate per
 * second, ratelimit.burst at once), as the generic cell rate algorithm: a
 * bucket is one atomic "theoretical arrival time" (TAT); a request is
 * allowed when moving the TAT one interval forward keeps it within
 * burst × interval of now. Equivalent to a token bucket, but taking a token
 * is a single compare-and-swap, so busy principals never queue on a lock
 * and one principal's traffic never touches another's cache line. It must
 * never sleep or allocate per request.
 */
#include <stdlib.h>

#include "api/api_int.h"
#include "common/util.h"

#define NS_PER_S 1000000000ull

hg_status api__rl_init(struct api_ratelimit *rl, size_t nprincipals, int rate, int burst)
{
    rl->b = NULL;
    rl->n = 0;
    rl->interval_ns = rate > 0 ? NS_PER_S / (uint64_t)rate : 0;
    if (rate > 0 && rl->interval_ns == 0)
        rl->interval_ns = 1;
    rl->burst = burst > 0 ? (uint64_t)burst : 1;
    if (nprincipals == 0)
        return HG_OK;
    /* a cache line each: buckets of busy principals do not share one */
    size_t size = (sizeof(struct api_bucket) + 63) / 64 * 64;
    rl->b = aligned_alloc(64, size * nprincipals);
    if (!rl->b)
        return HG_ENOMEM;
    rl->n = nprincipals;
    for (size_t i = 0; i < nprincipals; i++)
        atomic_init(&((struct api_bucket *)((char *)rl->b + i * size))->tat_ns, 0);
    return HG_OK;
}

void api__rl_cleanup(struct api_ratelimit *rl)
{
    free(rl->b);
    rl->b = NULL;
    rl->n = 0;
}

int api__rl_take(struct api_bucket *b, uint64_t now_ns, uint64_t interval_ns, uint64_t burst,
                 uint64_t *retry_s)
{
    /* burst ≤ 10^7 and interval ≤ 10^9 (config bounds): the product fits */
    uint64_t limit = burst * interval_ns;
    uint64_t tat = atomic_load_explicit(&b->tat_ns, memory_order_relaxed);
    for (;;) {
        uint64_t next = (tat > now_ns ? tat : now_ns) + interval_ns;
        if (next - now_ns > limit) {
            uint64_t wait = next - now_ns - limit;
            uint64_t s = (wait + NS_PER_S - 1) / NS_PER_S;
            *retry_s = s ? s : 1;
            return 0;
        }
        if (atomic_compare_exchange_weak_explicit(&b->tat_ns, &tat, next, memory_order_relaxed,
                                                  memory_order_relaxed))
            return 1;
    }
}

int api__rl_check(struct hg_api *api, const struct hg_config_client *who, uint64_t *retry_s)
{
    if (!api->st || !who)
        return 1;
    struct api_ratelimit *rl = &api->st->rl;
    if (!rl->interval_ns || !rl->b)
        return 1;
    const struct hg_config_client *first = api->cfg->clients;
    if (who < first || who >= first + rl->n)
        return 1; /* not a configured principal: cannot happen (hg_principal_match) */
    size_t size = (sizeof(struct api_bucket) + 63) / 64 * 64;
    struct api_bucket *b = (struct api_bucket *)((char *)rl->b + (size_t)(who - first) * size);
    return api__rl_take(b, hg_mono_us() * 1000ull, rl->interval_ns, rl->burst, retry_s);
}
