/* SPDX-License-Identifier: Apache-2.0
 *
 * api.h — the HTTP API of haulgated: the dispatchers for the API listener
 * (mTLS, /v1/...) and the admin listener (health, readiness, metrics), and
 * the context every handler gets. Handlers live in api/, one file per
 * resource, and are reached only through the route tables.
 */
#ifndef HG_API_API_H
#define HG_API_API_H

#include <stdatomic.h>
#include "api/router.h"
#include "app/config.h"

struct hg_metrics;
struct hg_audit_log;
struct hg_store;
struct hg_api_state;
struct hg_keyring;
struct hg_tokens;
struct hg_dpop;
struct hg_issuers;
struct hg_policy;

struct hg_api {
    const struct hg_config *cfg;
    struct hg_metrics *metrics;
    struct hg_audit_log *audit; /* open for the daemon's lifetime; NULL only in
                                 * tests that run handlers without a log */
    struct hg_store *store;    /* tenders, offers, idempotency, outbox */
    struct hg_api_state *st;   /* api/-private: in-flight idempotency keys, rate
                                * buckets, Prefer: wait waiters (hg_api_init) */
    atomic_int ready;          /* 1 once serving, 0 while stopping */
    /* Identity and authorization (docs/auth.md), owned by the daemon. All
     * NULL only in tests that run handlers without tokens. */
    struct hg_keyring *keys;   /* our signing keys */
    struct hg_tokens *tokens;  /* issue + verify (with its cache) */
    struct hg_dpop *dpop;      /* DPoP proof checks, replay cache, nonces */
    struct hg_issuers *issuers;/* external identity providers */
    const char *issuer;        /* our "iss", also the base URL of htu */
    const char *audience;
};

/* Create the api/-private state once cfg, metrics, audit and store are set
 * (before the listeners start). HG_OK, HG_ENOMEM. */
hg_status hg_api_init(struct hg_api *api, struct hg_err *err);
/* The daemon is draining: answer every request held by Prefer: wait now
 * (with the tender as it is) and stop new waits, so SIGTERM does not wait
 * out tenders.max_wait. Any thread; before the listeners stop. */
void hg_api_drain(struct hg_api *api);
/* After the listeners and the store have stopped. Safe twice. */
void hg_api_cleanup(struct hg_api *api);

/* The policy decisions are made with: swapped atomically (SIGHUP); the api
 * takes the caller's reference. Requests already deciding keep the old one
 * until they finish. */
void hg_api_set_policy(struct hg_api *api, struct hg_policy *p);

/* The route tables (for the dispatcher and the table-walking tests). */
extern const struct hg_route hg_api_routes[];
extern const size_t hg_api_routes_count;
extern const struct hg_route hg_admin_routes[];
extern const size_t hg_admin_routes_count;

/* hg_http_dispatch_fn for the API and the admin listener; arg = struct hg_api*. */
void hg_api_dispatch(struct hg_http_req *r, void *arg);
void hg_admin_dispatch(struct hg_http_req *r, void *arg);

/* hg_http_conn_fn: certificate identity → principal (struct hg_config_client*). */
void *hg_api_on_conn(const struct hg_identity *id, void *arg);

/* Handlers. */
void hg_api_whoami(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p);
void hg_admin_healthz(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p);
void hg_admin_readyz(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p);
void hg_admin_metrics(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p);
/* GET /v1/audit/...: the audit log over HTTP (api/audit.c, docs/audit.md). */
void hg_api_audit_checkpoint(struct hg_http_req *r, struct hg_api *api,
                             const struct hg_route_params *p);
void hg_api_audit_entries(struct hg_http_req *r, struct hg_api *api,
                          const struct hg_route_params *p);
void hg_api_audit_inclusion(struct hg_http_req *r, struct hg_api *api,
                            const struct hg_route_params *p);
void hg_api_audit_consistency(struct hg_http_req *r, struct hg_api *api,
                              const struct hg_route_params *p);

/* Queue an authn.failure record for a request whose verified certificate
 * maps to no principal (the 403 unknown-client answer): the identity seen
 * (subject CN, thumbprint), the correlation id, the route and the reason.
 * Never blocks: the record is appended asynchronously, and a failure to
 * queue or write it is logged at error (the request is refused anyway).
 * Does nothing when api->audit is NULL. */
void hg_api_audit_unknown_client(struct hg_api *api, struct hg_http_req *r,
                                 const struct hg_route *rt);

#endif
