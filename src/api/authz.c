/* SPDX-License-Identifier: Apache-2.0
 *
 * authz.c — the policy decision on every authenticated request: the route's
 * verb, the principal's roles, scopes and tenant, and — for a request with
 * a JSON body — the body as the resource whose attributes `when`
 * conditions test (for a create, the resource being created). Tenancy of
 * existing resources is enforced by the handlers (another tenant's tender
 * is 404, never 403). Deny by default: no policy loaded means every
 * decision is a deny. Every deny, and every allow of a critical route, is
 * an authz.decision audit record with the deciding rule's id and reason.
 * The policy is swapped whole on reload; a request holds a reference to
 * the one it decides with.
 */
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "auth/scope.h"
#include "common/util.h"
#include "http/problem.h"
#include "policy/policy.h"

void hg_api_set_policy(struct hg_api *api, struct hg_policy *p)
{
    if (!api || !api->st) {
        hg_policy_unref(p);
        return;
    }
    pthread_mutex_lock(&api->st->policy_mu);
    struct hg_policy *old = api->st->policy;
    api->st->policy = p;
    pthread_mutex_unlock(&api->st->policy_mu);
    hg_policy_unref(old);
}

static struct hg_policy *policy_get(struct hg_api *api)
{
    pthread_mutex_lock(&api->st->policy_mu);
    struct hg_policy *p = api->st->policy ? hg_policy_ref(api->st->policy) : NULL;
    pthread_mutex_unlock(&api->st->policy_mu);
    return p;
}

/* The request body as a JSON object, for `when` conditions; NULL when the
 * request has none (or it is not a JSON object: the handler answers that). */
static json_t *body_resource(struct hg_http_req *r)
{
    size_t n = 0;
    const char *b = hg_http_req_body(r, &n);
    const char *ct = hg_http_req_header(r, "Content-Type");
    if (!b || !n || !ct || !api__ctype_is_json(ct, strlen(ct)))
        return NULL;
    json_t *j = json_loadb(b, n, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

int api__authorize(struct hg_http_req *r, struct hg_api *api, const struct hg_route *rt,
                   const struct hg_principal *p)
{
    if (!rt->verb)
        return 1; /* CLIENT_ONLY routes: the token endpoint decides itself */
    const char *scopes[HG_SCOPE_COUNT];
    size_t nscopes = 0;
    for (size_t i = 0; i < HG_SCOPE_COUNT; i++)
        if (p->scopes & (UINT32_C(1) << i))
            scopes[nscopes++] = hg_scope_name(i);
    struct hg_policy *pol = policy_get(api);
    json_t *res = pol && hg_policy_uses_resource(pol, rt->verb) ? body_resource(r) : NULL;
    const char *region = NULL;
    if (res && json_is_string(json_object_get(res, "region")))
        region = json_string_value(json_object_get(res, "region"));
    struct hg_policy_input in = {
        .verb = rt->verb,
        .subject = p->name,
        .roles = p->roles,
        .nroles = p->nroles,
        .scopes = scopes,
        .nscopes = nscopes,
        .principal_tenant = p->tenant,
        .resource_tenant = NULL,
        .region = region,
        .now = hg_wall_ms() / 1000,
        .resource = res,
    };
    struct hg_policy_decision d = {HG_POLICY_DENY, "default-deny",
                                   "no policy is loaded (policy.file): every request is denied"};
    if (pol)
        hg_policy_eval(pol, &in, &d);
    int allow = d.decision == HG_POLICY_ALLOW;
    hg_status arc = HG_OK;
    if (!allow || (rt->flags & HG_ROUTE_CRITICAL))
        arc = api__audit_decision(api, r, "authz.decision", d.policy_id,
                                  allow ? "allow" : "deny", d.reason,
                                  json_pack("{s:s, s:s}", "action", rt->verb, "resource",
                                            hg_http_req_path(r)));
    if (allow && arc != HG_OK) {
        /* a critical action must not happen without its record */
        hg_http_resp_header(r, "Retry-After", "1");
        hg_problem_send(r, HG_PROB_UNAVAILABLE, NULL,
                        "the audit log cannot record this decision right now; nothing was "
                        "done; retry in a second");
        allow = 0;
    } else if (!allow)
        hg_problem_send(r, HG_PROB_POLICY_DENIED,
                        json_pack("{s:s, s:s}", "policy_id", d.policy_id, "verb", rt->verb),
                        "the policy denies %s to principal '%s': %s (rule %s)", rt->verb,
                        p->name, d.reason, d.policy_id);
    json_decref(res);
    hg_policy_unref(pol);
    return allow;
}
