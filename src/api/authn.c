/* SPDX-License-Identifier: Apache-2.0
 *
 * authn.c — who a request acts for. The certificate says which machine is
 * calling (mapped per connection); the access token says what it may do.
 * In order: one Authorization field with the Bearer or DPoP scheme and a
 * token68; the token verified (auth/token.h: signature, times, iss, aud);
 * for our own tokens, the connection's client must be the one the token was
 * issued to; then the binding — a certificate-bound token (cnf.x5t#S256)
 * must be presented with Bearer on a connection whose certificate has that
 * thumbprint, a DPoP-bound one (cnf.jkt) with the DPoP scheme and a proof
 * made by that key for this method and URL (auth/dpop.h); critical routes
 * (anything that can move or reassign a truck) accept only DPoP-bound
 * tokens; finally the route's scope. Every refusal is audited
 * (authn.failure, or authz.decision for a missing scope) and answered with
 * a problem document and an RFC 6750 / RFC 9449 WWW-Authenticate challenge
 * whose error_description says what to do. Descriptions never contain the
 * token.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "auth/dpop.h"
#include "auth/issuers.h"
#include "auth/scope.h"
#include "auth/token.h"
#include "common/util.h"
#include "http/problem.h"
#include "obs/log.h"
#include "tls/identity.h"

enum scheme { SCHEME_NONE, SCHEME_BEARER, SCHEME_DPOP };

/* RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E. */
static void quote_safe(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; in && in[i] && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        out[o++] = (c == '"' || c == '\\' || c < 0x20 || c > 0x7e) ? '\'' : (char)c;
    }
    out[o] = '\0';
}

/* One challenge. error/desc/scope may be NULL. */
static void challenge(struct hg_http_req *r, enum scheme s, const char *error, const char *desc,
                      const char *scope)
{
    char d[400], v[700];
    quote_safe(desc, d, sizeof d);
    int n = snprintf(v, sizeof v, "%s realm=\"haulgate\"%s", s == SCHEME_DPOP ? "DPoP" : "Bearer",
                     s == SCHEME_DPOP ? ", algs=\"ES256 EdDSA\"" : "");
    if (error && n > 0 && (size_t)n < sizeof v)
        n += snprintf(v + n, sizeof v - (size_t)n, ", error=\"%s\"", error);
    if (desc && n > 0 && (size_t)n < sizeof v)
        n += snprintf(v + n, sizeof v - (size_t)n, ", error_description=\"%s\"", d);
    if (scope && n > 0 && (size_t)n < sizeof v)
        snprintf(v + n, sizeof v - (size_t)n, ", scope=\"%s\"", scope);
    hg_http_resp_header(r, "WWW-Authenticate", v);
}

/* Refuse with 401: audited, challenged, answered. `scheme` picks the
 * challenge; SCHEME_NONE sends both (no credentials were given). */
static int refuse(struct hg_http_req *r, struct hg_api *api, const struct hg_route *rt,
                  enum scheme s, enum hg_problem prob, const char *error, const char *mech,
                  const char *desc)
{
    api__audit_note(api, r, "authn.failure", "deny", desc,
                    json_pack("{s:s, s:s?, s:s, s:s}", "mechanism", mech, "error", error,
                              "method", hg_http_req_method(r), "route", rt->pattern));
    if (s == SCHEME_NONE) {
        challenge(r, SCHEME_BEARER, NULL, NULL, NULL);
        challenge(r, SCHEME_DPOP, NULL, NULL, NULL);
    } else {
        challenge(r, s, error, desc, NULL);
    }
    hg_problem_send(r, prob, error ? json_pack("{s:s}", "error", error) : NULL, "%s", desc);
    return 0;
}

/* token68 (RFC 9110 §11.2): 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static int token68(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') ||
                     (s[i] >= '0' && s[i] <= '9') || strchr("-._~+/", s[i])))
        i++;
    if (i == 0)
        return 0;
    while (i < n && s[i] == '=')
        i++;
    return i == n;
}

/* token68 (RFC 9110 section 11.2): letters, digits and - . _ ~ + / then any "=" padding */
static enum scheme parse_auth(const char *v, const char **tok, size_t *tn)
{
    enum scheme s = SCHEME_NONE;
    size_t k = 0;
    if (!strncasecmp(v, "Bearer ", 7)) {
        s = SCHEME_BEARER;
        k = 7;
    } else if (!strncasecmp(v, "DPoP ", 5)) {
        s = SCHEME_DPOP;
        k = 5;
    } else {
        return SCHEME_NONE;
    }
    while (v[k] == ' ')
        k++;
    *tok = v + k;
    *tn = strlen(v + k);
    while (*tn && (*tok)[*tn - 1] == ' ')
        (*tn)--;
    return s;
}

const char *api__issuer(const struct hg_api *api)
{
    return api->issuer ? api->issuer : "";
}

/* The DPoP proof for a DPoP-bound token. 1 good; 0 answered. */
static int check_proof(struct hg_http_req *r, struct hg_api *api, const struct hg_route *rt,
                       const char *tok, size_t tn, const char *jkt, int64_t now)
{
    size_t np = hg_http_req_header_count(r, "DPoP");
    if (np != 1)
        return refuse(r, api, rt, SCHEME_DPOP, HG_PROB_DPOP_INVALID, "invalid_dpop_proof",
                      "dpop",
                      np ? "more than one DPoP header field; send exactly one proof"
                         : "a DPoP-bound token needs a DPoP header with a proof for this "
                           "request (RFC 9449 section 4)");
    const char *proof = hg_http_req_header(r, "DPoP");
    char url[HG_DPOP_HTU_MAX + 1];
    int un = snprintf(url, sizeof url, "%s%s", api__issuer(api), hg_http_req_path(r));
    if (un < 0 || (size_t)un >= sizeof url)
        return refuse(r, api, rt, SCHEME_DPOP, HG_PROB_DPOP_INVALID, "invalid_dpop_proof",
                      "dpop", "the request URL is too long for a DPoP proof");
    struct hg_dpop_expect e = {
        .method = hg_http_req_method(r),
        .url = url,
        .access_token = tok,
        .access_token_len = tn,
        .jkt = jkt,
        .now = now,
    };
    struct hg_dpop_result res;
    struct hg_err err;
    hg_err_clear(&err);
    hg_status rc = hg_dpop_verify(api->dpop, proof, strlen(proof), &e, &res, &err);
    if (rc == HG_OK)
        return 1;
    if (rc == HG_ESTATE) {
        char nonce[HG_DPOP_NONCE_LEN + 1];
        hg_dpop_nonce(api->dpop, now, nonce);
        hg_http_resp_header(r, "DPoP-Nonce", nonce);
        return refuse(r, api, rt, SCHEME_DPOP, HG_PROB_DPOP_NONCE, "use_dpop_nonce", "dpop",
                      hg_err_msg(&err)[0] ? hg_err_msg(&err)
                                          : "retry with the nonce from the DPoP-Nonce header");
    }
    if (rc == HG_EBUSY) {
        hg_http_resp_header(r, "Retry-After", "1");
        hg_problem_send(r, HG_PROB_UNAVAILABLE, NULL,
                        "too many DPoP proofs in the replay window (auth.dpop.jti_cache); "
                        "retry in a second");
        return 0;
    }
    return refuse(r, api, rt, SCHEME_DPOP, HG_PROB_DPOP_INVALID, "invalid_dpop_proof", "dpop",
                  hg_err_msg(&err)[0] ? hg_err_msg(&err) : "the DPoP proof is not valid");
}

void api__unknown_client(struct hg_http_req *r, struct hg_api *api, const struct hg_route *rt)
{
    const struct hg_identity *id = hg_http_req_identity(r);
    json_t *ext = json_object();
    json_t *seen = id ? hg_identity_to_json(id) : NULL;
    if (ext && seen)
        json_object_set_new(ext, "identity", seen);
    else
        json_decref(seen);
    hg_api_audit_unknown_client(api, r, rt);
    hg_problem_send(r, HG_PROB_UNKNOWN_CLIENT, ext,
                    "the client certificate (subject CN '%s', x5t#S256 %s) is valid "
                    "but no entry in the clients: configuration matches it; add one "
                    "that matches its SAN URI, DNS name, CN or thumbprint",
                    id ? id->cn : "", id ? id->thumbprint : "unknown");
}

static int check_scope(struct hg_http_req *r, struct hg_api *api, const struct hg_route *rt,
                       const struct hg_principal *p, enum scheme s)
{
    if (!rt->scope)
        return 1;
    uint32_t bit = hg_scope_bit(rt->scope, strlen(rt->scope));
    if (bit && (p->scopes & bit))
        return 1;
    char desc[300];
    snprintf(desc, sizeof desc,
             "%s %s needs scope %s; request a token with scope=%s (the client must be allowed "
             "it: clients[].scopes or its roles)",
             hg_http_req_method(r), rt->pattern, rt->scope, rt->scope);
    api__audit_decision(api, r, "authz.decision", NULL, "deny", desc,
                        json_pack("{s:s, s:s, s:s}", "action", rt->verb ? rt->verb : rt->scope,
                                  "resource", hg_http_req_path(r), "required_scope",
                                  rt->scope));
    challenge(r, s == SCHEME_DPOP ? SCHEME_DPOP : SCHEME_BEARER, "insufficient_scope", desc,
              rt->scope);
    hg_problem_send(r, HG_PROB_INSUFFICIENT_SCOPE,
                    json_pack("{s:s, s:s}", "error", "insufficient_scope", "required_scope",
                              rt->scope),
                    "%s", desc);
    return 0;
}

int api__authenticate(struct hg_http_req *r, struct hg_api *api, const struct hg_route *rt,
                      struct hg_principal *p)
{
    const struct hg_config_client *client = hg_http_req_conn_data(r);
    const struct hg_identity *id = hg_http_req_identity(r);
    size_t nauth = hg_http_req_header_count(r, "Authorization");
    int critical = (rt->flags & HG_ROUTE_CRITICAL) != 0;

    if (nauth == 0) {
        if (api->cfg->auth.insecure_mtls_only && client) {
            hg_principal_from_client(p, client);
            return check_scope(r, api, rt, p, SCHEME_BEARER);
        }
        if (!client && (!api->issuers || !hg_issuers_count(api->issuers))) {
            api__unknown_client(r, api, rt);
            return 0;
        }
        return refuse(r, api, rt, SCHEME_NONE, HG_PROB_UNAUTHORIZED, NULL, "token",
                      critical ? "this route needs a DPoP-bound access token: request one "
                                 "from POST /oauth2/token with a DPoP proof, then send "
                                 "Authorization: DPoP <token> and a DPoP proof header"
                               : "this route needs an access token: request one from POST "
                                 "/oauth2/token and send Authorization: Bearer <token>");
    }
    if (nauth > 1)
        return refuse(r, api, rt, SCHEME_BEARER, HG_PROB_UNAUTHORIZED, "invalid_request",
                      "token", "more than one Authorization header field; send exactly one");

    const char *tok = NULL;
    size_t tn = 0;
    enum scheme s = parse_auth(hg_http_req_header(r, "Authorization"), &tok, &tn);
    if (s == SCHEME_NONE)
        return refuse(r, api, rt, SCHEME_BEARER, HG_PROB_UNAUTHORIZED, "invalid_request",
                      "token",
                      "the Authorization scheme must be Bearer or DPoP followed by the token");
    if (tn > HG_TOKEN_MAX)
        return refuse(r, api, rt, s, HG_PROB_UNAUTHORIZED, "invalid_token", "token",
                      "the access token is longer than 4096 bytes; it is not one of ours");
    if (!token68(tok, tn))
        return refuse(r, api, rt, s, HG_PROB_UNAUTHORIZED, "invalid_request", "token",
                      "the token after the scheme is malformed (expected a JWT: "
                      "base64url.base64url.base64url)");
    if (!api->tokens) {
        hg_problem_send(r, HG_PROB_UNAVAILABLE, NULL, "token verification is not available");
        return 0;
    }

    int64_t now = hg_wall_ms() / 1000;
    struct hg_err err;
    hg_err_clear(&err);
    if (hg_token_verify(api->tokens, tok, tn, now, &p->claims, &err) != HG_OK)
        return refuse(r, api, rt, s, HG_PROB_UNAUTHORIZED, "invalid_token", "token",
                      hg_err_msg(&err)[0] ? hg_err_msg(&err) : "the access token is not valid");

    char desc[300];
    if (!p->claims.external) {
        /* our token names the client it was issued to; only that client's
         * certificate may present it, whatever the binding */
        if (!client || strcmp(client->name, p->claims.client_id) != 0) {
            snprintf(desc, sizeof desc,
                     "the token was issued to client '%s' but this connection's certificate "
                     "maps to %s%s%s; each client must use its own token",
                     p->claims.client_id, client ? "'" : "no client", client ? client->name : "",
                     client ? "'" : "");
            return refuse(r, api, rt, s, HG_PROB_UNAUTHORIZED, "invalid_token", "token", desc);
        }
    }
    switch (p->claims.bind) {
    case HG_BIND_X5T:
        if (s != SCHEME_BEARER)
            return refuse(r, api, rt, s, HG_PROB_UNAUTHORIZED, "invalid_token", "token",
                          "a certificate-bound token is presented with the Bearer scheme");
        if (!id || !hg_ct_equal(id->thumbprint, p->claims.cnf, HG_JWK_THUMB_LEN))
            return refuse(r, api, rt, s, HG_PROB_UNAUTHORIZED, "invalid_token", "token",
                          "the token is bound to another client certificate (cnf x5t#S256 "
                          "does not match this connection); use the token from the machine "
                          "it was issued to");
        if (critical)
            return refuse(r, api, rt, SCHEME_DPOP, HG_PROB_UNAUTHORIZED, "invalid_token",
                          "token",
                          "this route can move or reassign a truck and needs a DPoP-bound "
                          "token: request the token with a DPoP proof header and present it "
                          "as Authorization: DPoP with a fresh proof");
        break;
    case HG_BIND_JKT:
        if (s != SCHEME_DPOP)
            return refuse(r, api, rt, SCHEME_DPOP, HG_PROB_UNAUTHORIZED, "invalid_token",
                          "token",
                          "a DPoP-bound token must be presented as Authorization: DPoP "
                          "<token> with a DPoP proof, never as Bearer");
        if (!api->dpop) {
            hg_problem_send(r, HG_PROB_UNAVAILABLE, NULL, "DPoP verification is not available");
            return 0;
        }
        if (!check_proof(r, api, rt, tok, tn, p->claims.cnf, now))
            return 0;
        break;
    case HG_BIND_NONE:
    default:
        /* only an external issuer with insecure_unbound_tokens gets here */
        if (s != SCHEME_BEARER || critical)
            return refuse(r, api, rt, SCHEME_DPOP, HG_PROB_UNAUTHORIZED, "invalid_token",
                          "token",
                          critical ? "this route needs a DPoP-bound token; an unbound token "
                                     "is never enough"
                                   : "an unbound token is presented with the Bearer scheme");
        break;
    }
    hg_principal_from_claims(p, client);
    return check_scope(r, api, rt, p, s);
}
