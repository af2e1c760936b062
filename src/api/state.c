/* SPDX-License-Identifier: Apache-2.0
 *
 * state.c — the api/-private state behind struct hg_api: created once the
 * configuration, metrics, audit log and store are set and before the
 * listeners start, released after they (and the store) have stopped. It
 * must never be created or freed while a request can still reach it.
 */
#include <stdlib.h>

#include "api/api_int.h"
#include "policy/policy.h"
#include "obs/log.h"

hg_status hg_api_init(struct hg_api *api, struct hg_err *err)
{
    hg_status rc = HG_OK;
    if (!api || !api->cfg)
        return hg_err_set(err, HG_EINVAL, "hg_api_init: the API has no configuration");
    if (api->st)
        return hg_err_set(err, HG_ESTATE, "hg_api_init: already initialised");
    struct hg_api_state *st = calloc(1, sizeof *st);
    if (!st)
        return hg_err_set(err, HG_ENOMEM, "out of memory creating the API state");
    int in = 0, rl = 0;
    rc = api__inflight_init(&st->inflight);
    if (rc != HG_OK) {
        hg_err_set(err, rc, "cannot create the idempotency in-flight set: %s",
                   hg_status_str(rc));
        goto out;
    }
    in = 1;
    rc = api__rl_init(&st->rl, api->cfg->nclients, api->cfg->ratelimit.rate,
                      api->cfg->ratelimit.burst);
    if (rc != HG_OK) {
        hg_err_set(err, rc, "cannot create the rate-limit buckets: %s", hg_status_str(rc));
        goto out;
    }
    rl = 1;
    rc = api__waiters_init(&st->waiters);
    if (rc != HG_OK) {
        hg_err_set(err, rc, "cannot create the Prefer: wait registry: %s", hg_status_str(rc));
        goto out;
    }
    pthread_mutex_init(&st->policy_mu, NULL);
    api->st = st;
    st = NULL;
out:
    if (st) {
        if (rl)
            api__rl_cleanup(&st->rl);
        if (in)
            api__inflight_cleanup(&st->inflight);
        free(st);
    }
    return rc;
}

void hg_api_drain(struct hg_api *api)
{
    if (!api || !api->st)
        return;
    size_t n = api__waiters_drain(&api->st->waiters);
    if (n)
        hg_log(HG_LOG_INFO, "ended Prefer: wait early for shutdown", HG_LF_INT("requests", (int64_t)n),
               HG_LF_END);
}

void hg_api_cleanup(struct hg_api *api)
{
    if (!api || !api->st)
        return;
    api__waiters_cleanup(&api->st->waiters);
    api__rl_cleanup(&api->st->rl);
    api__inflight_cleanup(&api->st->inflight);
    hg_policy_unref(api->st->policy);
    pthread_mutex_destroy(&api->st->policy_mu);
    free(api->st);
    api->st = NULL;
}
