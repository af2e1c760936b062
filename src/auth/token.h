/* SPDX-License-Identifier: Apache-2.0
 *
 * token.h — access tokens: JWTs in the RFC 9068 profile (header typ
 * "at+jwt"), issued by our token endpoint and signed by the keyring, or
 * issued by a configured external identity provider (auth/issuers.h).
 *
 * Verification checks, in order: size, compact JWS syntax and the alg
 * allow-list (auth/jose.h), typ, the issuer and its key for kid, the
 * signature, exp / nbf / iat against now with the leeway, aud, and the
 * claims' types. It does not check the binding to the connection (cnf):
 * the caller knows the client certificate and the DPoP proof
 * (api/authn.c). A verified token's claims are cached, keyed by SHA-256 of
 * the token, until its exp, so the signature is checked once per token,
 * not once per request; a cache hit still checks exp/nbf against now.
 */
#ifndef HG_AUTH_TOKEN_H
#define HG_AUTH_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "auth/jose.h"
#include "common/err.h"
#include "common/status.h"

#define HG_TOKEN_MAX 4096         /* longest access token accepted */
#define HG_TOKEN_MAX_ROLES 16
#define HG_TOKEN_ROLE_MAX 32      /* longest role name */
#define HG_TOKEN_NAME_MAX 64      /* sub, client_id, tenant */
#define HG_TOKEN_URL_MAX 255      /* iss, aud */

enum hg_token_bind {
    HG_BIND_NONE = 0,             /* only external issuers with insecure_unbound_tokens */
    HG_BIND_X5T = 1,              /* cnf.x5t#S256: RFC 8705 certificate-bound */
    HG_BIND_JKT = 2,              /* cnf.jkt: RFC 9449 DPoP-bound */
};

struct hg_token_claims {
    char iss[HG_TOKEN_URL_MAX + 1];
    char aud[HG_TOKEN_URL_MAX + 1];   /* the audience that matched */
    char sub[HG_TOKEN_NAME_MAX + 1];
    char client_id[HG_TOKEN_NAME_MAX + 1];
    char tenant[HG_TOKEN_NAME_MAX + 1]; /* "" = none */
    char jti[HG_TOKEN_NAME_MAX + 1];
    int64_t iat, nbf, exp;
    uint32_t scopes;                  /* auth/scope.h bits; unknown scopes dropped */
    size_t nroles;
    char roles[HG_TOKEN_MAX_ROLES][HG_TOKEN_ROLE_MAX + 1];
    enum hg_token_bind bind;
    char cnf[HG_JWK_THUMB_LEN + 1];   /* x5t#S256 or jkt, per bind */
    int external;                     /* issued by an external IdP */
};

struct hg_keyring;
struct hg_issuers;

struct hg_token_opts {
    const char *issuer;               /* our "iss" */
    const char *audience;             /* our "aud" (tokens we issue carry it) */
    int64_t lifetime_s;               /* of tokens we issue */
    int64_t leeway_s;                 /* on exp / nbf / iat, each side */
    size_t cache_max;                 /* verified-token cache entries; 0 = off */
    struct hg_keyring *keys;          /* ours; required */
    struct hg_issuers *external;      /* may be NULL */
};

struct hg_tokens;

hg_status hg_tokens_new(const struct hg_token_opts *o, struct hg_tokens **out,
                        struct hg_err *err);
void hg_tokens_free(struct hg_tokens *t);

/* Issue a token for c (sub, client_id, tenant, scopes, roles, bind, cnf
 * filled by the caller; iss, aud, iat, nbf, exp, jti set here from now and
 * the options and written back into *c). *out malloc'd, NUL-terminated. */
hg_status hg_token_issue(struct hg_tokens *t, int64_t now, struct hg_token_claims *c,
                         char **out, size_t *outlen, struct hg_err *err);

/* Verify n bytes of token at now. HG_OK fills *out. Otherwise err says what
 * is wrong in words fit for WWW-Authenticate's error_description (never
 * echoing the token), and the status is HG_ETOOBIG (over HG_TOKEN_MAX),
 * HG_EUNSUPPORTED (alg off the allow-list), HG_ENOTFOUND (unknown issuer or
 * kid), HG_EVERIFY (bad signature, expired, not yet valid, wrong aud, bad
 * claims) or HG_EPARSE (malformed). All of them mean 401 invalid_token. */
hg_status hg_token_verify(struct hg_tokens *t, const char *tok, size_t n, int64_t now,
                          struct hg_token_claims *out, struct hg_err *err);

/* Cache statistics, for metrics and tests. */
struct hg_token_stats {
    uint64_t hits, misses, entries;
};
void hg_tokens_stats(struct hg_tokens *t, struct hg_token_stats *out);

#endif
