/* SPDX-License-Identifier: Apache-2.0
 *
 * dispatch.c — from a parsed request to a handler, through the route table:
 * 404/405 for unknown routes, 403 (and an authn.failure audit record) for
 * a certificate that maps to no principal, 429 when the principal's rate
 * bucket is empty, 403 (and an authz.decision record) when its roles do
 * not cover the route's scope, then the handler. The tables are here so
 * one file shows every route with its scope, policy verb and audit event.
 */
#include "api/api.h"

#include <jansson.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"

#include "auth/principal.h"
#include "http/problem.h"
#include "tls/identity.h"

const struct hg_route hg_api_routes[] = {
    /* method  pattern        scope          verb            audit  flags  handler */
    /* scope NULL: any authenticated principal may ask who it is */
    {"GET", "/v1/whoami", NULL, "identity:read", NULL, 0, hg_api_whoami},
    /* Reads of the audit log are not themselves audited (each would append
     * a record about reading records); until issue 4 the handlers check
     * roles (api/audit.c), then token scope + policy take over. */
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

/* ---------------------------------------------------------- authorization */

/* Until issue 4's tokens carry scopes, a principal's roles stand in for
 * them: the roles that may use each scope. audit:read is checked in
 * api/audit.c (it predates this table); a scope not listed here is open to
 * every authenticated principal. Keep this the one place the interim rule
 * lives, so issue 4 replaces it in one place. */
static const char *const tender_roles[] = {"tms", "operator", "admin"};
static const char *const capacity_write_roles[] = {"provider", "operator", "admin"};
static const char *const capacity_read_roles[] = {"tms", "provider", "operator", "admin"};
#define NROLES(a) (sizeof(a) / sizeof(a)[0])

static const struct {
    const char *scope;
    const char *const *roles;
    size_t nroles;
    const char *what;       /* for sentences: "<what> needs a principal with role ..." */
} scope_roles[] = {
    {"tender:read", tender_roles, NROLES(tender_roles), "reading tenders"},
    {"tender:write", tender_roles, NROLES(tender_roles), "creating or changing tenders"},
    {"capacity:read", capacity_read_roles, NROLES(capacity_read_roles),
     "reading capacity offers"},
    {"capacity:write", capacity_write_roles, NROLES(capacity_write_roles),
     "publishing or withdrawing capacity offers"},
};

void api__forbid(struct hg_http_req *r, struct hg_api *api, const char *action,
                 const char *resource, const char *const *roles, size_t nroles,
                 const char *what)
{
    const struct hg_config_client *who = hg_http_req_conn_data(r);
    char list[256] = "";
    size_t used = 0;
    for (size_t k = 0; k < nroles; k++) {
        int n = snprintf(list + used, sizeof list - used, "%s%s",
                         k == 0 ? "" : (k + 1 == nroles ? " or " : ", "), roles[k]);
        if (n < 0 || (size_t)n >= sizeof list - used)
            break;
        used += (size_t)n;
    }
    char reason[400];
    snprintf(reason, sizeof reason, "%s needs role %s", what, list);
    api__audit_note(api, r, "authz.decision", "deny", reason,
                    json_pack("{s:s, s:s}", "action", action, "resource", resource));
    json_t *need = json_array();
    for (size_t k = 0; need && k < nroles; k++)
        json_array_append_new(need, json_string(roles[k]));
    hg_problem_send(r, HG_PROB_FORBIDDEN, need ? json_pack("{s:o}", "required_roles", need) : NULL,
                    "%s needs a principal with role %s; principal '%s' has none of them (grant "
                    "one under clients: in the configuration)",
                    what, list, who ? who->name : "");
}

/* 1 when who may use rt's scope; otherwise answered with 403. */
static int roles_allow(struct hg_http_req *r, struct hg_api *api, const struct hg_route *rt,
                       const struct hg_config_client *who)
{
    for (size_t i = 0; rt->scope && i < NROLES(scope_roles); i++) {
        if (strcmp(scope_roles[i].scope, rt->scope))
            continue;
        for (size_t k = 0; k < scope_roles[i].nroles; k++)
            if (api__has_role(who, scope_roles[i].roles[k]))
                return 1;
        api__forbid(r, api, rt->verb ? rt->verb : rt->scope, hg_http_req_path(r),
                    scope_roles[i].roles, scope_roles[i].nroles, scope_roles[i].what);
        return 0;
    }
    return 1;
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
        if (!who) {
            const struct hg_identity *id = hg_http_req_identity(r);
            json_t *ext = json_object();
            json_t *seen = id ? hg_identity_to_json(id) : NULL;
            if (ext && seen)
                json_object_set_new(ext, "identity", seen);
            else
                json_decref(seen);
            /* authenticated but unauthorised: audited, without blocking */
            hg_api_audit_unknown_client(api, r, rt);
            hg_problem_send(r, HG_PROB_UNKNOWN_CLIENT, ext,
                            "the client certificate (subject CN '%s', x5t#S256 %s) is valid "
                            "but no entry in the clients: configuration matches it; add one "
                            "that matches its SAN URI, DNS name, CN or thumbprint",
                            id ? id->cn : "", id ? id->thumbprint : "unknown");
            return;
        }
        hg_http_req_set_principal(r, who->name);
        /* the budget first: a flood must not cost policy or audit work */
        uint64_t retry = 0;
        if (!api__rl_check(api, who, &retry)) {
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
        if (!roles_allow(r, api, rt, who))
            return;
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
