/* SPDX-License-Identifier: Apache-2.0
 *
 * dispatch.c — from a parsed request to a handler, through the route table:
 * 404/405 for unknown routes, 403 (and an authn.failure audit record) for
 * a certificate that maps to no principal, 429 when the principal's rate
 * bucket is empty, then the access token (api/authn.c: 401 with a
 * challenge, or 403 insufficient_scope) and the policy decision on the
 * route's verb (api/authz.c: 403 policy-denied), then the handler. The tables are here so
 * one file shows every route with its scope, policy verb and audit event.
 */
#include "api/api.h"

#include <jansson.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

#include "auth/issuers.h"
#include "auth/principal.h"
#include "http/problem.h"
#include "tls/identity.h"

const struct hg_route hg_api_routes[] = {
    /* method  pattern        scope          verb            audit  flags  handler */
    /* OAuth 2.0 (docs/auth.md): the token endpoint needs the client's
     * certificate but no token; discovery is public (still mTLS). */
    {"POST", "/oauth2/token", NULL, NULL, "token.issued", HG_ROUTE_CLIENT_ONLY,
     hg_api_oauth_token},
    {"GET", "/.well-known/jwks.json", NULL, NULL, NULL, HG_ROUTE_PUBLIC, hg_api_jwks},
    {"GET", "/.well-known/oauth-authorization-server", NULL, NULL, NULL, HG_ROUTE_PUBLIC,
     hg_api_oauth_metadata},
    /* rotating the signing key changes who can act: admin, DPoP, audited */
    {"POST", API_P_KEYS_ROTATE, "admin", "keys:rotate", "key.rotated", HG_ROUTE_CRITICAL,
     hg_api_keys_rotate},
    /* any valid token may ask who it stands for */
    {"GET", "/v1/whoami", NULL, "identity:read", NULL, HG_ROUTE_ANY_SCOPE, hg_api_whoami},
    /* Reads of the audit log are not themselves audited (each would append
     * a record about reading records); a deny is. */
    {"GET", "/v1/audit/checkpoint", "audit:read", "audit:read", NULL, 0,
     hg_api_audit_checkpoint},
    {"GET", "/v1/audit/entries", "audit:read", "audit:read", NULL, 0, hg_api_audit_entries},
    {"GET", "/v1/audit/proofs/inclusion", "audit:read", "audit:read", NULL, 0,
     hg_api_audit_inclusion},
    {"GET", "/v1/audit/proofs/consistency", "audit:read", "audit:read", NULL, 0,
     hg_api_audit_consistency},
    /* Capacity offers and tenders (docs/tenders.md). Every POST and DELETE
     * is in api/idempotency.c's table; the audit event is written in the
     * same store transaction as the change it records. */
    {"POST", API_P_OFFERS, "capacity:write", "capacity:publish", "capacity.published", 0,
     hg_api_offer_create},
    {"GET", API_P_OFFERS, "capacity:read", "capacity:list", NULL, 0, hg_api_offer_list},
    {"GET", API_P_OFFER, "capacity:read", "capacity:read", NULL, 0, hg_api_offer_get},
    {"DELETE", API_P_OFFER, "capacity:write", "capacity:withdraw", "capacity.withdrawn", 0,
     hg_api_offer_delete},
    {"POST", API_P_TENDERS, "tender:write", "tender:create", "tender.created", 0,
     hg_api_tender_create},
    {"GET", API_P_TENDERS, "tender:read", "tender:list", NULL, 0, hg_api_tender_list},
    {"GET", API_P_TENDER, "tender:read", "tender:read", NULL, 0, hg_api_tender_get},
    {"GET", API_P_HISTORY, "tender:read", "tender:read", NULL, 0, hg_api_tender_history},
    {"GET", API_P_MATCHES, "tender:read", "tender:match", NULL, 0, hg_api_tender_matches},
    /* a transition (offered, accepted, ...) or a cancel changes what a truck
     * is assigned to: critical (DPoP-bound tokens once issue 4 lands) */
    {"POST", API_P_TRANSITIONS, "tender:write", "tender:transition", "tender.transitioned",
     HG_ROUTE_CRITICAL, hg_api_tender_transition},
    {"POST", API_P_CANCEL, "tender:write", "tender:cancel", "tender.cancelled",
     HG_ROUTE_CRITICAL, hg_api_tender_cancel},
};
const size_t hg_api_routes_count = sizeof hg_api_routes / sizeof hg_api_routes[0];

const struct hg_route hg_admin_routes[] = {
    {"GET", "/healthz", NULL, NULL, NULL, HG_ROUTE_PUBLIC, hg_admin_healthz},
    {"GET", "/readyz", NULL, NULL, NULL, HG_ROUTE_PUBLIC, hg_admin_readyz},
    {"GET", "/metrics", NULL, NULL, NULL, HG_ROUTE_PUBLIC, hg_admin_metrics},
};
const size_t hg_admin_routes_count = sizeof hg_admin_routes / sizeof hg_admin_routes[0];

/* ---------------------------------------------------------- dispatch */

static void principal_free(void *p)
{
    /* the claims hold nothing secret (no token), but wipe them anyway:
     * they name the caller */
    if (p)
        memset(p, 0, sizeof(struct hg_principal));
    free(p);
}

void *hg_api_on_conn(const struct hg_identity *id, void *arg)
{
    struct hg_api *api = arg;
    return (void *)hg_principal_match(api->cfg, id);
}

static void route(struct hg_http_req *r, struct hg_api *api, const struct hg_route *table,
                  size_t n)
{
    struct hg_route_params params;
    int known = 0;
    char allow[128];
    const char *method = hg_http_req_method(r);
    const char *path = hg_http_req_path(r);
    const struct hg_route *rt =
        hg_route_find(table, n, method, path, &params, &known, allow, sizeof allow);
    if (!rt) {
        if (known) {
            hg_http_resp_header(r, "Allow", allow);
            hg_problem_send(r, HG_PROB_METHOD_NOT_ALLOWED, NULL,
                            "%s is not supported on this resource; use %s", method, allow);
        } else {
            hg_problem_send(r, HG_PROB_NOT_FOUND, NULL,
                            "no resource at this path; see the API overview in README.md");
        }
        return;
    }
    hg_http_req_set_route(r, rt->pattern);
    if (!(rt->flags & HG_ROUTE_PUBLIC)) {
        const struct hg_config_client *who = hg_http_req_conn_data(r);
        if (!who && ((rt->flags & HG_ROUTE_CLIENT_ONLY) || !api->issuers ||
                     !hg_issuers_count(api->issuers))) {
            api__unknown_client(r, api, rt);
            return;
        }
        if (who)
            hg_http_req_set_principal(r, who->name);
        /* the budget first: a flood must not cost token, policy or audit work */
        uint64_t retry = 0;
        if (who && !api__rl_check(api, who, &retry)) {
            char ra[24];
            snprintf(ra, sizeof ra, "%" PRIu64, retry);
            hg_http_resp_header(r, "Retry-After", ra);
            hg_problem_send(r, HG_PROB_RATE_LIMITED, NULL,
                            "principal '%s' has used its budget of %d requests per second "
                            "(burst %d); retry in %" PRIu64 " s",
                            who->name, api->cfg->ratelimit.rate, api->cfg->ratelimit.burst,
                            retry);
            return;
        }
        if (!(rt->flags & HG_ROUTE_CLIENT_ONLY)) {
            struct hg_principal *p = malloc(sizeof *p);
            if (!p) {
                hg_problem_send(r, HG_PROB_INTERNAL, NULL, "out of memory");
                return;
            }
            memset(p, 0, sizeof *p);
            hg_http_req_set_user(r, p, principal_free);
            if (!api__authenticate(r, api, rt, p))
                return;
            hg_http_req_set_principal(r, p->name);
            if (!api__authorize(r, api, rt, p))
                return;
        }
    }
    rt->handler(r, api, &params);
}

void hg_api_dispatch(struct hg_http_req *r, void *arg)
{
    route(r, arg, hg_api_routes, hg_api_routes_count);
}

void hg_admin_dispatch(struct hg_http_req *r, void *arg)
{
    route(r, arg, hg_admin_routes, hg_admin_routes_count);
}
