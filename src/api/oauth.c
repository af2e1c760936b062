/* SPDX-License-Identifier: Apache-2.0
 *
 * oauth.c — the authorization server side of the gateway:
 *   POST /oauth2/token — RFC 6749 §4.4 client credentials, the client
 *     authenticated by its TLS certificate (RFC 8705 tls_client_auth: the
 *     clients: entry the certificate maps to is the client). Granted scopes
 *     are requested ∩ allowed. The token is certificate-bound (cnf
 *     x5t#S256) or, when the request carries a DPoP proof, DPoP-bound
 *     (cnf jkt, token_type DPoP). Errors are RFC 6749 §5.2 JSON, not
 *     problem documents: OAuth clients parse that shape.
 *   GET /.well-known/jwks.json — our public keys, including a rotated-in
 *     key before it signs.
 *   GET /.well-known/oauth-authorization-server — RFC 8414 metadata.
 *   POST /v1/keys/rotate — rotate the signing key (admin, critical).
 * Every issued token is audited (token.issued, without the token).
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "auth/dpop.h"
#include "auth/keyring.h"
#include "auth/scope.h"
#include "auth/token.h"
#include "common/util.h"
#include "http/problem.h"
#include "obs/log.h"
#include "tls/identity.h"

/* ------------------------------------------------------------------ form */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode n bytes of a form component into out. 0, or -1 (bad escape, NUL,
 * too long). */
static int form_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return -1;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0' || o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

int api__form_get(const char *form, size_t n, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name), i = 0;
    int found = 0;
    if (!cap)
        return -1;
    out[0] = '\0';
    while (i < n) {
        size_t start = i;
        while (i < n && form[i] != '&')
            i++;
        const char *pair = form + start;
        size_t pn = i - start;
        if (i < n)
            i++; /* the '&' */
        if (pn == 0)
            continue;
        const char *eq = memchr(pair, '=', pn);
        size_t kn = eq ? (size_t)(eq - pair) : pn;
        char key[64];
        if (kn >= sizeof key * 3)
            continue; /* longer than any name we look for, even escaped */
        if (form_decode(pair, kn, key, sizeof key) != 0)
            continue;
        if (strlen(key) != nl || memcmp(key, name, nl) != 0)
            continue;
        if (found)
            return -1; /* RFC 6749 §3.2: a parameter must not be included more than once */
        found = 1;
        if (eq && form_decode(eq + 1, pn - kn - 1, out, cap) != 0)
            return -1;
    }
    return found;
}

/* ---------------------------------------------------------------- errors */

/* RFC 6749 §5.2 error response. */
static void oauth_error(struct hg_http_req *r, int status, const char *error, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));

static void oauth_error(struct hg_http_req *r, int status, const char *error, const char *fmt,
                        ...)
{
    char desc[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof desc, fmt, ap);
    va_end(ap);
    /* error_description is %x20-21 / %x23-5B / %x5D-7E */
    for (char *p = desc; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '\'';
    hg_http_resp_header(r, "Cache-Control", "no-store");
    hg_http_resp_header(r, "Pragma", "no-cache");
    if (status == 401) {
        /* RFC 6749 §5.2: invalid_client answers 401 with a challenge of
         * the scheme the client used; ours is the certificate */
        hg_http_resp_header(r, "WWW-Authenticate", "Bearer realm=\"haulgate\"");
    }
    hg_http_respond_json(r, status,
                         json_pack("{s:s, s:s}", "error", error, "error_description", desc));
}

/* ---------------------------------------------------------------- token */

#define FORM_VALUE_MAX 4096

void hg_api_oauth_token(struct hg_http_req *r, struct hg_api *api,
                        const struct hg_route_params *p)
{
    (void)p;
    const struct hg_config_client *client = hg_http_req_conn_data(r);
    const struct hg_identity *id = hg_http_req_identity(r);
    if (!client || !id) {
        oauth_error(r, 401, "invalid_client",
                    "the client certificate maps to no entry in clients:; add one");
        return;
    }
    if (!api->tokens) {
        oauth_error(r, 503, "temporarily_unavailable", "the token service is not available");
        return;
    }
    const char *ct = hg_http_req_header(r, "Content-Type");
    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0 ||
        (ct[33] && ct[33] != ';' && ct[33] != ' ')) {
        oauth_error(r, 400, "invalid_request",
                    "send the parameters as application/x-www-form-urlencoded "
                    "(RFC 6749 section 4.4.2)");
        return;
    }
    size_t blen = 0;
    const char *body = hg_http_req_body(r, &blen);
    if (blen > 8192) {
        oauth_error(r, 400, "invalid_request", "the token request is larger than 8 KiB");
        return;
    }
    static const char *const refused[] = {"client_secret", "client_assertion",
                                          "client_assertion_type"};
    char v[FORM_VALUE_MAX];
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (api__form_get(body ? body : "", blen, refused[i], v, sizeof v) != 0) {
            oauth_error(r, 400, "invalid_request",
                        "%s is not accepted: clients authenticate with their TLS client "
                        "certificate only (tls_client_auth)",
                        refused[i]);
            return;
        }
    char grant[64];
    int g = api__form_get(body ? body : "", blen, "grant_type", grant, sizeof grant);
    if (g <= 0) {
        oauth_error(r, 400, "invalid_request",
                    g < 0 ? "grant_type is malformed or repeated"
                          : "grant_type is missing; send grant_type=client_credentials");
        return;
    }
    if (strcmp(grant, "client_credentials") != 0) {
        oauth_error(r, 400, "unsupported_grant_type",
                    "only grant_type=client_credentials is supported");
        return;
    }
    char cid[HG_TOKEN_NAME_MAX + 1];
    int c = api__form_get(body ? body : "", blen, "client_id", cid, sizeof cid);
    if (c < 0 || (c > 0 && strcmp(cid, client->name) != 0)) {
        oauth_error(r, 401, "invalid_client",
                    "client_id does not name the client this certificate maps to ('%s'); "
                    "omit it or send client_id=%s",
                    client->name, client->name);
        return;
    }
    uint32_t allowed = hg_principal_allowed_scopes(client), granted = allowed;
    char scope[HG_SCOPE_LIST_MAX + 1];
    int sc = api__form_get(body ? body : "", blen, "scope", scope, sizeof scope);
    if (sc < 0) {
        oauth_error(r, 400, "invalid_scope",
                    "scope is malformed, repeated or longer than %d bytes", HG_SCOPE_LIST_MAX);
        return;
    }
    if (sc > 0) {
        uint32_t want = 0;
        char bad[64];
        hg_status rc = hg_scope_parse(scope, strlen(scope), &want, bad, sizeof bad);
        if (rc == HG_ENOTFOUND) {
            oauth_error(r, 400, "invalid_scope",
                        "unknown scope '%s'; see scopes_supported in "
                        "/.well-known/oauth-authorization-server",
                        bad);
            return;
        }
        if (rc != HG_OK) {
            oauth_error(r, 400, "invalid_scope",
                        "scope must be scope names separated by spaces");
            return;
        }
        granted = want & allowed;
        if (want && !granted) {
            oauth_error(r, 400, "invalid_scope",
                        "client '%s' is allowed none of the requested scopes", client->name);
            return;
        }
    }
    if (!granted) {
        oauth_error(r, 400, "invalid_scope",
                    "client '%s' may be granted no scope; give it roles or scopes: in the "
                    "configuration",
                    client->name);
        return;
    }

    int64_t now = hg_wall_ms() / 1000;
    struct hg_token_claims cl;
    memset(&cl, 0, sizeof cl);
    hg_strlcpy(cl.sub, client->name, sizeof cl.sub);
    hg_strlcpy(cl.client_id, client->name, sizeof cl.client_id);
    if (client->tenant && hg_strlcpy(cl.tenant, client->tenant, sizeof cl.tenant) != HG_OK) {
        oauth_error(r, 400, "invalid_client", "the client's tenant is longer than 64 bytes");
        return;
    }
    for (size_t i = 0; i < client->nroles && cl.nroles < HG_TOKEN_MAX_ROLES; i++)
        if (hg_strlcpy(cl.roles[cl.nroles], client->roles[i], sizeof cl.roles[0]) == HG_OK)
            cl.nroles++;
    cl.scopes = granted;

    size_t nproof = hg_http_req_header_count(r, "DPoP");
    if (nproof > 1) {
        oauth_error(r, 400, "invalid_dpop_proof", "send at most one DPoP header field");
        return;
    }
    if (nproof == 1) {
        if (!api->dpop) {
            oauth_error(r, 503, "temporarily_unavailable", "DPoP is not available");
            return;
        }
        char url[HG_DPOP_HTU_MAX + 1];
        snprintf(url, sizeof url, "%s%s", api__issuer(api), hg_http_req_path(r));
        struct hg_dpop_expect e = {.method = "POST", .url = url, .now = now};
        struct hg_dpop_result res;
        struct hg_err err;
        hg_err_clear(&err);
        const char *proof = hg_http_req_header(r, "DPoP");
        hg_status rc = hg_dpop_verify(api->dpop, proof, strlen(proof), &e, &res, &err);
        if (rc == HG_ESTATE) {
            char nonce[HG_DPOP_NONCE_LEN + 1];
            hg_dpop_nonce(api->dpop, now, nonce);
            hg_http_resp_header(r, "DPoP-Nonce", nonce);
            oauth_error(r, 400, "use_dpop_nonce", "%s",
                        hg_err_msg(&err)[0] ? hg_err_msg(&err)
                                            : "retry with the nonce from DPoP-Nonce");
            return;
        }
        if (rc == HG_EBUSY) {
            hg_http_resp_header(r, "Retry-After", "1");
            oauth_error(r, 503, "temporarily_unavailable",
                        "too many DPoP proofs in the replay window; retry in a second");
            return;
        }
        if (rc != HG_OK) {
            api__audit_note(api, r, "authn.failure", "deny", hg_err_msg(&err),
                            json_pack("{s:s, s:s}", "mechanism", "dpop", "error",
                                      "invalid_dpop_proof"));
            oauth_error(r, 400, "invalid_dpop_proof", "%s",
                        hg_err_msg(&err)[0] ? hg_err_msg(&err) : "the DPoP proof is invalid");
            return;
        }
        cl.bind = HG_BIND_JKT;
        hg_strlcpy(cl.cnf, res.jkt, sizeof cl.cnf);
    } else {
        cl.bind = HG_BIND_X5T;
        hg_strlcpy(cl.cnf, id->thumbprint, sizeof cl.cnf);
    }

    char *tok = NULL;
    size_t tn = 0;
    struct hg_err err;
    hg_err_clear(&err);
    if (hg_token_issue(api->tokens, now, &cl, &tok, &tn, &err) != HG_OK) {
        hg_log(HG_LOG_ERROR, "cannot issue an access token", HG_LF_STR("client", client->name),
               HG_LF_STR("error", hg_err_msg(&err)), HG_LF_END);
        oauth_error(r, 500, "server_error", "the token could not be signed; see the server log");
        return;
    }
    char scopes[HG_SCOPE_LIST_MAX + 1];
    hg_scope_format(granted, scopes, sizeof scopes);
    const char *type = cl.bind == HG_BIND_JKT ? "DPoP" : "Bearer";
    /* no token leaves unrecorded: if the audit queue cannot take the
     * record (full under a flood), the token is thrown away and the client
     * told to retry */
    if (api__audit_note(api, r, "token.issued", "allow", "client credentials grant",
                        json_pack("{s:s, s:s, s:s, s:s, s:I}", "client_id", cl.client_id, "jti",
                                  cl.jti, "scope", scopes, "token_type", type, "exp",
                                  (json_int_t)cl.exp)) != HG_OK) {
        OPENSSL_cleanse(tok, tn);
        free(tok);
        hg_http_resp_header(r, "Retry-After", "1");
        oauth_error(r, 503, "temporarily_unavailable",
                    "the audit log cannot record the token right now; retry in a second");
        return;
    }
    hg_http_resp_header(r, "Cache-Control", "no-store");
    hg_http_resp_header(r, "Pragma", "no-cache");
    /* the token is base64url and dots, the scopes are from our table:
     * nothing to escape, so the body is formatted without a JSON tree */
    size_t cap = tn + strlen(scopes) + 128;
    char *out = malloc(cap);
    if (!out) {
        OPENSSL_cleanse(tok, tn);
        free(tok);
        oauth_error(r, 500, "server_error", "out of memory; retry");
        return;
    }
    int on = snprintf(out, cap,
                      "{\"access_token\":\"%s\",\"token_type\":\"%s\",\"expires_in\":%lld,"
                      "\"scope\":\"%s\"}",
                      tok, type, (long long)(cl.exp - now), scopes);
    hg_http_respond(r, 200, "application/json", out, (size_t)on);
    OPENSSL_cleanse(out, (size_t)on);
    free(out);
    OPENSSL_cleanse(tok, tn);
    free(tok);
}

/* ------------------------------------------------------------ discovery */

void hg_api_jwks(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p)
{
    (void)p;
    char *doc = NULL;
    size_t n = 0;
    if (!api->keys || hg_keyring_jwks(api->keys, hg_wall_ms() / 1000, &doc, &n) != HG_OK) {
        hg_problem_send(r, HG_PROB_UNAVAILABLE, NULL, "the signing keys are not available");
        return;
    }
    /* verifiers may cache it for a while: a rotated-in key is published
     * auth.key_publish_delay before it signs, so half of that is safe */
    char cc[64];
    snprintf(cc, sizeof cc, "public, max-age=%d", api->cfg->auth.key_publish_delay_ms / 2000);
    hg_http_resp_header(r, "Cache-Control", cc);
    hg_http_respond(r, 200, "application/jwk-set+json", doc, n);
    free(doc);
}

void hg_api_oauth_metadata(struct hg_http_req *r, struct hg_api *api,
                           const struct hg_route_params *p)
{
    (void)p;
    const char *iss = api__issuer(api);
    char tok[300], jwks[300];
    snprintf(tok, sizeof tok, "%s/oauth2/token", iss);
    snprintf(jwks, sizeof jwks, "%s/.well-known/jwks.json", iss);
    json_t *scopes = json_array();
    for (size_t i = 0; scopes && i < HG_SCOPE_COUNT; i++)
        json_array_append_new(scopes, json_string(hg_scope_name(i)));
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:[s], s:[s], s:[], s:o, s:b, s:[s,s], s:[s,s], s:s}", "issuer", iss,
        "token_endpoint", tok, "jwks_uri", jwks, "grant_types_supported", "client_credentials",
        "token_endpoint_auth_methods_supported", "tls_client_auth", "response_types_supported",
        "scopes_supported", scopes ? scopes : json_array(),
        "tls_client_certificate_bound_access_tokens", 1, "dpop_signing_alg_values_supported",
        "ES256", "EdDSA", "token_endpoint_auth_signing_alg_values_supported", "ES256", "EdDSA",
        "service_documentation", "https://haulgate.dev/docs/auth");
    if (!doc) {
        hg_problem_send(r, HG_PROB_INTERNAL, NULL, "could not build the metadata document");
        return;
    }
    hg_http_resp_header(r, "Cache-Control", "public, max-age=3600");
    hg_http_respond_json(r, 200, doc);
}

/* ---------------------------------------------------------- key rotation */

void hg_api_keys_rotate(struct hg_http_req *r, struct hg_api *api,
                        const struct hg_route_params *p)
{
    (void)p;
    struct api_op *op = api__op_begin(r, api, API_P_KEYS_ROTATE);
    if (!op || !api__op_idem(op))
        return;
    if (!api->keys) {
        api__op_problem(op, HG_PROB_UNAVAILABLE, NULL, "the signing keys are not available");
        return;
    }
    size_t blen = 0;
    hg_http_req_body(r, &blen);
    if (blen) {
        api__op_problem(op, HG_PROB_INVALID_BODY, NULL,
                        "POST /v1/keys/rotate takes no body; send none");
        return;
    }
    int64_t now = op->now_ms / 1000;
    char kid[HG_JWK_KID_MAX + 1] = "";
    struct hg_err err;
    hg_err_clear(&err);
    if (hg_keyring_rotate(api->keys, now, kid, sizeof kid, &err) != HG_OK) {
        api__op_problem(op, HG_PROB_UNAVAILABLE, NULL, "%s", hg_err_msg(&err));
        return;
    }
    struct hg_keyring_info info[HG_KEYRING_MAX_KEYS];
    size_t n = hg_keyring_list(api->keys, now, info, HG_KEYRING_MAX_KEYS);
    int64_t activates = now;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(info[i].kid, kid))
            activates = info[i].activates;
    char at[HG_RFC3339_LEN + 1];
    hg_rfc3339(activates * 1000, at);
    op->w.op = HG_SOP_NONE;
    if (api__resp_json(&op->resp, 200,
                       json_pack("{s:s, s:s, s:s}", "kid", kid, "activates", at, "jwks_uri",
                                 "/.well-known/jwks.json")) != HG_OK ||
        api__op_audit(op, "key.rotated", "signing key rotated",
                      json_pack("{s:s, s:s}", "kid", kid, "activates", at)) != HG_OK) {
        api__op_problem(op, HG_PROB_INTERNAL, NULL, "out of memory");
        return;
    }
    hg_log(HG_LOG_INFO, "token signing key rotated", HG_LF_STR("kid", kid),
           HG_LF_STR("activates", at), HG_LF_END);
    api__op_commit(op);
}
