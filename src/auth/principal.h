/* SPDX-License-Identifier: Apache-2.0
 *
 * principal.h — mapping a verified certificate identity to a configured
 * principal (the `clients:` section). Every match_* that a client entry sets
 * must match; the first entry that matches wins. A certificate that verifies
 * but maps to no principal is authenticated yet unauthorised: callers answer
 * 403 and say which identity they saw.
 */
#ifndef HG_AUTH_PRINCIPAL_H
#define HG_AUTH_PRINCIPAL_H

#include <stdint.h>

#include "app/config.h"
#include "auth/token.h"
#include "tls/identity.h"

/* The matching client entry, or NULL. Pure; no allocation. */
const struct hg_config_client *hg_principal_match(const struct hg_config *cfg,
                                                  const struct hg_identity *id);

/* Who a request acts for, once its token is verified: the token's claims,
 * and the clients: entry its certificate maps to (NULL for a subject of an
 * external identity provider whose certificate is not listed). Handlers
 * read names, tenant, roles and scopes from here, never from the config
 * entry, so tokens of external issuers work the same way. */
struct hg_principal {
    const struct hg_config_client *client;
    const char *name;                 /* claims.sub, or client->name without a token */
    const char *tenant;               /* "" = none */
    const char *roles[HG_TOKEN_MAX_ROLES];
    size_t nroles;
    uint32_t scopes;                  /* auth/scope.h bits */
    int via_token;                    /* 0 only under auth.insecure_mtls_only */
    struct hg_token_claims claims;    /* valid when via_token */
};

/* The scopes a client may be granted: its `scopes:` list, else the union
 * of its roles' defaults (auth/scope.h). */
uint32_t hg_principal_allowed_scopes(const struct hg_config_client *c);

/* Fill p from verified claims (pointers into p->claims) and the client
 * entry (may be NULL). */
void hg_principal_from_claims(struct hg_principal *p, const struct hg_config_client *c);
/* Fill p from the client entry alone (insecure_mtls_only): its roles,
 * tenant and allowed scopes; via_token 0. */
void hg_principal_from_client(struct hg_principal *p, const struct hg_config_client *c);
/* 1 if p has the role. */
int hg_principal_has_role(const struct hg_principal *p, const char *role);

#endif
