/* SPDX-License-Identifier: Apache-2.0
 *
 * dispatch.c — from a parsed request to a handler, through the route table:
 * 404/405 for unknown routes, 403 (and an authn.failure audit record) for
 * a certificate that maps to no principal, then the handler. The tables are here so one file shows every
 * route with its scope, policy verb and audit event.
 */
#include "api/api.h"

#include <jansson.h>
#include <string.h>

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
};
const size_t hg_api_routes_count = sizeof hg_api_routes / sizeof hg_api_routes[0];

const struct hg_route hg_admin_routes[] = {
    {"GET", "/healthz", NULL, NULL, NULL, HG_ROUTE_PUBLIC, hg_admin_healthz},
    {"GET", "/readyz", NULL, NULL, NULL, HG_ROUTE_PUBLIC, hg_admin_readyz},
    {"GET", "/metrics", NULL, NULL, NULL, HG_ROUTE_PUBLIC, hg_admin_metrics},
};
const size_t hg_admin_routes_count = sizeof hg_admin_routes / sizeof hg_admin_routes[0];

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
