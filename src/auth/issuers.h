/* SPDX-License-Identifier: Apache-2.0
 *
 * issuers.h — trusted external identity providers (config `auth.issuers`):
 * tokens they sign are accepted when their JWKS (fetched with libcurl over
 * verified HTTPS) holds the token's kid, the audience is the one configured
 * for that issuer, and its claims map to our roles, tenant and scopes.
 *
 * The JWKS cache handles what gateway users complain about most:
 *   - fetched at start (failure is logged, not fatal) and again after
 *     `max_age` (lazily, by the first verification that needs it);
 *   - an unknown kid triggers one refetch, at most once per
 *     `refresh_interval` per issuer, whatever the number of requests
 *     (an unknown-kid flood cannot turn into a refetch storm; concurrent
 *     misses wait for the one fetch in flight instead of starting more);
 *   - on a fetch error or a malformed document the previous keys stay in
 *     use (stale-if-error) and the error is logged and counted;
 *   - the document size is bounded (HG_JWKS_MAX_BYTES) and the fetch has
 *     a timeout.
 * Thread-safe; key sets are reference-counted snapshots, so a refresh never
 * frees a key a verification is using.
 */
#ifndef HG_AUTH_ISSUERS_H
#define HG_AUTH_ISSUERS_H

#include <stddef.h>
#include <stdint.h>

#include "app/config.h"
#include "auth/jose.h"
#include "auth/token.h"
#include "common/err.h"
#include "common/status.h"

struct hg_issuers;

/* Build from cfg->auth.issuers (none configured: an empty set, HG_OK).
 * Does not fetch; see hg_issuers_prefetch. */
hg_status hg_issuers_new(const struct hg_config *cfg, struct hg_issuers **out,
                         struct hg_err *err);
void hg_issuers_free(struct hg_issuers *x);
size_t hg_issuers_count(const struct hg_issuers *x);

/* Fetch every issuer's JWKS once (start-up); errors are logged, and the
 * number of issuers whose fetch failed is returned. */
size_t hg_issuers_prefetch(struct hg_issuers *x, int64_t now);

/* 1 if iss names a configured issuer. */
int hg_issuers_knows(const struct hg_issuers *x, const char *iss);

/* Verify jws (already parsed, payload's "iss" == iss) against that
 * issuer: key by kid (refetching per the rules above), signature, then
 * map the claims into *out: sub, client_id (azp or client_id claim, else
 * sub), tenant (the issuer's tenant_claim, else its fixed tenant), roles
 * (roles_claim values through role_map; unmapped values dropped), scopes
 * ("scope" or "scp"; unknown ones dropped), cnf (x5t#S256 or jkt), and
 * aud (must contain the issuer's audience). Time claims are checked by
 * the caller (auth/token.c). HG_ENOTFOUND unknown issuer or kid; HG_EVERIFY
 * bad signature / audience / binding (an unbound token is refused unless
 * the issuer sets insecure_unbound_tokens); HG_EPARSE bad claims. */
hg_status hg_issuers_verify(struct hg_issuers *x, const char *iss, const struct hg_jws *jws,
                            int64_t now, struct hg_token_claims *out, struct hg_err *err);

/* Statistics of one issuer (index < count), for metrics and tests. */
struct hg_issuer_stats {
    const char *issuer;
    uint64_t fetches, fetch_errors, unknown_kid;
    size_t keys;
    int64_t fetched_at;   /* Unix s of the last good fetch, 0 = never */
};
hg_status hg_issuers_stats(struct hg_issuers *x, size_t i, struct hg_issuer_stats *out);

#endif
