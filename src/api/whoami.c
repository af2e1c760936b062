/* SPDX-License-Identifier: Apache-2.0
 *
 * whoami.c — GET /v1/whoami: the principal and certificate identity the
 * gateway sees: the principal its token stands for, the token's binding, and
 * the client certificate. The first thing an integrator runs, and the
 * benchmark's request: the principal and certificate part cannot change
 * while a connection presents the same token, so it is serialised once per
 * (connection, token) and only the per-request ids are added each time.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_int.h"
#include "auth/scope.h"
#include "common/util.h"
#include "http/problem.h"
#include "obs/trace.h"
#include "tls/identity.h"

static json_t *strings(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *scopes_json(uint32_t mask)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < HG_SCOPE_COUNT; i++)
        if (mask & (UINT32_C(1) << i))
            json_array_append_new(a, json_string(hg_scope_name(i)));
    return a;
}

static const char *bind_name(enum hg_token_bind b)
{
    return b == HG_BIND_X5T ? "x5t#S256" : b == HG_BIND_JKT ? "jkt" : "none";
}

/* The cache entry kept per connection: the token's jti (empty without a
 * token), then the body prefix `{"principal":{…},"token":{…},
 * "certificate":{…}` — an object left open for the per-request ids. One
 * allocation, released with free() by the server. A connection that
 * presents another token gets a new prefix. */
static char *identity_prefix(const struct hg_principal *who, const struct hg_identity *id)
{
    const struct hg_config_client *c = who->client;
    json_t *principal = json_pack(
        "{s:s, s:o, s:s?, s:o, s:o}", "name", who->name, "roles",
        strings(who->roles, who->nroles), "tenant", who->tenant[0] ? who->tenant : NULL,
        "regions", c ? strings((const char *const *)c->regions, c->nregions) : json_array(),
        "scopes", scopes_json(who->scopes));
    json_t *token = NULL;
    if (who->via_token) {
        char exp[HG_RFC3339_LEN + 1];
        hg_rfc3339(who->claims.exp * 1000, exp);
        token = json_pack("{s:s, s:s, s:s, s:s, s:s}", "iss", who->claims.iss, "client_id",
                          who->claims.client_id, "bound", bind_name(who->claims.bind), "exp",
                          exp, "jti", who->claims.jti);
    }
    json_t *o = json_pack("{s:o?, s:o?, s:o?}", "principal", principal, "token",
                          token ? token : json_null(), "certificate",
                          id ? hg_identity_to_json(id) : NULL);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    size_t n = s ? strlen(s) : 0;
    const char *jti = who->via_token ? who->claims.jti : "";
    size_t jn = strlen(jti);
    char *out = NULL;
    if (n >= 2 && s[n - 1] == '}' && (out = malloc(jn + 1 + n))) {
        memcpy(out, jti, jn + 1);
        memcpy(out + jn + 1, s, n - 1);
        out[jn + n] = '\0';
    }
    free(s);
    return out;
}

void hg_api_whoami(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p)
{
    (void)api;
    (void)p;
    const struct hg_principal *who = api__who(r);
    if (!who) {
        hg_problem_send(r, HG_PROB_INTERNAL, NULL, "no principal on an authenticated route");
        return;
    }
    void **cache = hg_http_req_conn_cache(r);
    const char *jti = who->via_token ? who->claims.jti : "";
    if (*cache && strcmp(*cache, jti) != 0) {
        free(*cache);
        *cache = NULL;
    }
    if (!*cache)
        *cache = identity_prefix(who, hg_http_req_identity(r));
    if (!*cache) {
        hg_problem_send(r, HG_PROB_INTERNAL, NULL, "could not serialise the identity");
        return;
    }
    const char *prefix = (const char *)*cache + strlen(*cache) + 1;
    char tp[HG_TRACEPARENT_LEN + 1];
    hg_traceparent_format(hg_http_req_trace(r), tp);
    /* correlation ids are [A-Za-z0-9._:-] or a UUID: nothing to escape */
    char tail[HG_CORRELATION_ID_MAX + HG_TRACEPARENT_LEN + 64];
    int tn = snprintf(tail, sizeof tail, ",\"correlation_id\":\"%s\",\"traceparent\":\"%s\"}",
                      hg_http_req_correlation_id(r), tp);
    size_t pn = strlen(prefix);
    char *body = malloc(pn + (size_t)tn + 1);
    if (!body) {
        hg_problem_send(r, HG_PROB_INTERNAL, NULL, "out of memory");
        return;
    }
    memcpy(body, prefix, pn);
    memcpy(body + pn, tail, (size_t)tn + 1);
    hg_http_respond(r, 200, "application/json", body, pn + (size_t)tn);
    free(body);
}
