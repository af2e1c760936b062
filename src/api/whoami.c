/* SPDX-License-Identifier: Apache-2.0
 *
 * whoami.c — GET /v1/whoami: the principal and certificate identity the
 * gateway sees on this connection. The first thing an integrator runs.
 */
#include <jansson.h>

#include "api/api.h"
#include "obs/trace.h"
#include "tls/identity.h"

static json_t *strings(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

void hg_api_whoami(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p)
{
    (void)api;
    (void)p;
    const struct hg_config_client *who = hg_http_req_conn_data(r);
    const struct hg_identity *id = hg_http_req_identity(r);
    char tp[HG_TRACEPARENT_LEN + 1];
    hg_traceparent_format(hg_http_req_trace(r), tp);
    json_t *principal = json_pack("{s:s, s:o, s:s?, s:o}", "name", who->name, "roles",
                                  strings(who->roles, who->nroles), "tenant", who->tenant,
                                  "regions", strings(who->regions, who->nregions));
    json_t *o = json_pack("{s:o?, s:o?, s:s, s:s}", "principal", principal, "certificate",
                          id ? hg_identity_to_json(id) : NULL, "correlation_id",
                          hg_http_req_correlation_id(r), "traceparent", tp);
    hg_http_respond_json(r, 200, o);
}
