/* SPDX-License-Identifier: Apache-2.0
 *
 * whoami.c — GET /v1/whoami: the principal and certificate identity the
 * gateway sees on this connection. The first thing an integrator runs, and
 * the benchmark's request: the principal and certificate part cannot change
 * on a connection, so it is serialised once per connection and only the
 * per-request ids are added each time.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "http/problem.h"
#include "obs/trace.h"
#include "tls/identity.h"

static json_t *strings(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* `{"principal":{…},"certificate":{…}` — an object left open for the ids. */
static char *identity_prefix(const struct hg_config_client *who, const struct hg_identity *id)
{
    json_t *principal = json_pack("{s:s, s:o, s:s?, s:o}", "name", who->name, "roles",
                                  strings(who->roles, who->nroles), "tenant", who->tenant,
                                  "regions", strings(who->regions, who->nregions));
    json_t *o = json_pack("{s:o?, s:o?}", "principal", principal, "certificate",
                          id ? hg_identity_to_json(id) : NULL);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    size_t n = s ? strlen(s) : 0;
    if (n < 2 || s[n - 1] != '}') {
        free(s);
        return NULL;
    }
    s[n - 1] = '\0';
    return s;
}

void hg_api_whoami(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p)
{
    (void)api;
    (void)p;
    void **cache = hg_http_req_conn_cache(r);
    if (!*cache)
        *cache = identity_prefix(hg_http_req_conn_data(r), hg_http_req_identity(r));
    if (!*cache) {
        hg_problem_send(r, HG_PROB_INTERNAL, NULL, "could not serialise the identity");
        return;
    }
    char tp[HG_TRACEPARENT_LEN + 1];
    hg_traceparent_format(hg_http_req_trace(r), tp);
    /* correlation ids are [A-Za-z0-9._:-] or a UUID: nothing to escape */
    char tail[HG_CORRELATION_ID_MAX + HG_TRACEPARENT_LEN + 64];
    int tn = snprintf(tail, sizeof tail, ",\"correlation_id\":\"%s\",\"traceparent\":\"%s\"}",
                      hg_http_req_correlation_id(r), tp);
    size_t pn = strlen(*cache);
    char *body = malloc(pn + (size_t)tn + 1);
    if (!body) {
        hg_problem_send(r, HG_PROB_INTERNAL, NULL, "out of memory");
        return;
    }
    memcpy(body, *cache, pn);
    memcpy(body + pn, tail, (size_t)tn + 1);
    hg_http_respond(r, 200, "application/json", body, pn + (size_t)tn);
    free(body);
}
