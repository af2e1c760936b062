/* SPDX-License-Identifier: Apache-2.0
 *
 * dpop.h — verification of DPoP proofs (RFC 9449): a JWS of typ
 * "dpop+jwt", signed with an asymmetric alg (ES256 or EdDSA) by the key in
 * its public "jwk" header, whose claims bind it to one request: "htm" (the
 * method), "htu" (the URL without query and fragment, compared after
 * RFC 3986 syntax-based normalisation), "iat" (within a window of now),
 * "jti" (never seen before within that window: a bounded replay cache),
 * "ath" (base64url SHA-256 of the access token, when one is presented)
 * and, when the server asks for it, "nonce".
 *
 * Server nonces are stateless: base64url(8-byte time step || first 16
 * bytes of HMAC-SHA256(secret, time step)); a nonce is good for the current
 * and the previous step, so every instance sharing the secret accepts it.
 * The secret is random per verifier unless given.
 *
 * Thread-safe: the replay cache is sharded under mutexes. The clock is
 * always the caller's (`now`), so the RFC 9449 examples verify in tests.
 */
#ifndef HG_AUTH_DPOP_H
#define HG_AUTH_DPOP_H

#include <stddef.h>
#include <stdint.h>

#include "auth/jose.h"
#include "common/err.h"
#include "common/status.h"

#define HG_DPOP_MAX 4096      /* longest proof accepted, bytes */
#define HG_DPOP_HTU_MAX 1024  /* longest htu, before and after normalisation */
#define HG_DPOP_NONCE_LEN 32  /* base64url of 24 bytes */

struct hg_dpop_opts {
    int64_t iat_window_s;     /* |now - iat| allowed; > 0. Also the jti TTL */
    size_t jti_cache_max;     /* entries; when full of live entries, proofs are
                               * refused (HG_EBUSY) rather than replays risked */
    int require_nonce;        /* every proof must carry a current server nonce */
    int64_t nonce_step_s;     /* nonce time step (> 0); a nonce lives 1-2 steps */
    const uint8_t *nonce_secret; /* 32 bytes, or NULL = random */
};

struct hg_dpop;

hg_status hg_dpop_new(const struct hg_dpop_opts *o, struct hg_dpop **out, struct hg_err *err);
/* Wipes the nonce secret. NULL is fine. */
void hg_dpop_free(struct hg_dpop *d);

/* What one request expects of its proof. */
struct hg_dpop_expect {
    const char *method;       /* request method, compared exactly with htm */
    const char *url;          /* "https://host[:port]/path" the server is at; query ignored */
    const char *access_token; /* presented token (for "ath"), or NULL at the token endpoint */
    size_t access_token_len;
    const char *jkt;          /* the token's cnf.jkt to match, or NULL */
    int64_t now;              /* Unix seconds */
};

struct hg_dpop_result {
    char jkt[HG_JWK_THUMB_LEN + 1]; /* thumbprint of the proof's key */
    int64_t iat;
};

/* Verify n bytes of proof against e. HG_OK fills *res and records the jti
 * (so the same proof is refused next time). Otherwise, with err saying
 * exactly which check failed and what to do:
 *   HG_EVERIFY  - any invalid proof (RFC 9449 error "invalid_dpop_proof"),
 *                 including a replayed jti and a jkt mismatch;
 *   HG_ESTATE   - nonce required and missing or stale ("use_dpop_nonce"):
 *                 answer with a fresh hg_dpop_nonce in a DPoP-Nonce header;
 *   HG_EBUSY    - the replay cache is full of live entries;
 *   HG_ETOOBIG  - longer than HG_DPOP_MAX. */
hg_status hg_dpop_verify(struct hg_dpop *d, const char *proof, size_t n,
                         const struct hg_dpop_expect *e, struct hg_dpop_result *res,
                         struct hg_err *err);

/* A fresh server nonce for time now into out (HG_DPOP_NONCE_LEN + 1). */
void hg_dpop_nonce(struct hg_dpop *d, int64_t now, char out[HG_DPOP_NONCE_LEN + 1]);
/* Whether nonces are required (opts.require_nonce). */
int hg_dpop_requires_nonce(const struct hg_dpop *d);

/* RFC 9449 §4.3 / RFC 3986 §6.2.2-3 normalisation of an htu: scheme and
 * host lower-cased, default port (443 for https, 80 for http) removed,
 * empty path made "/", percent-encodings upper-cased and unreserved ones
 * decoded, query and fragment dropped. Only http and https. HG_OK, or
 * HG_EPARSE / HG_ETOOBIG. out is always NUL-terminated. */
hg_status hg_dpop_htu_normalize(const char *in, size_t n, char *out, size_t cap);

/* base64url(SHA-256(token)): the "ath" of an access token. */
void hg_dpop_ath(const char *token, size_t n, char out[HG_JWK_THUMB_LEN + 1]);

/* Entries in the replay cache (for tests and metrics). */
size_t hg_dpop_jti_count(struct hg_dpop *d);

#endif
