/* SPDX-License-Identifier: Apache-2.0
 * principal.c — certificate identity → configured principal. */
#include "auth/principal.h"

#include <string.h>

#include "auth/scope.h"

static int any_equal(char *const *list, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] && !strcmp(list[i], want))
            return 1;
    return 0;
}

static int matches(const struct hg_config_client *c, const struct hg_identity *id)
{
    int constrained = 0;
    if (c->match_uri) {
        constrained = 1;
        if (!any_equal(id->uris, id->nuris, c->match_uri))
            return 0;
    }
    if (c->match_dns) {
        constrained = 1;
        if (!any_equal(id->dns, id->ndns, c->match_dns))
            return 0;
    }
    if (c->match_cn) {
        constrained = 1;
        if (strcmp(id->cn, c->match_cn) != 0)
            return 0;
    }
    if (c->match_thumbprint) {
        constrained = 1;
        if (strcmp(id->thumbprint, c->match_thumbprint) != 0)
            return 0;
    }
    return constrained; /* an entry with no constraint matches nobody */
}

const struct hg_config_client *hg_principal_match(const struct hg_config *cfg,
                                                  const struct hg_identity *id)
{
    if (!cfg || !id)
        return NULL;
    for (size_t i = 0; i < cfg->nclients; i++)
        if (matches(&cfg->clients[i], id))
            return &cfg->clients[i];
    return NULL;
}

uint32_t hg_principal_allowed_scopes(const struct hg_config_client *c)
{
    uint32_t m = 0;
    if (!c)
        return 0;
    if (c->nscopes) {
        for (size_t i = 0; i < c->nscopes; i++)
            m |= hg_scope_bit(c->scopes[i], strlen(c->scopes[i]));
        return m;
    }
    for (size_t i = 0; i < c->nroles; i++)
        m |= hg_scope_default_for_role(c->roles[i]);
    return m;
}

void hg_principal_from_claims(struct hg_principal *p, const struct hg_config_client *c)
{
    p->client = c;
    p->via_token = 1;
    p->name = p->claims.sub;
    p->tenant = p->claims.tenant;
    p->scopes = p->claims.scopes;
    p->nroles = p->claims.nroles;
    for (size_t i = 0; i < p->nroles; i++)
        p->roles[i] = p->claims.roles[i];
}

void hg_principal_from_client(struct hg_principal *p, const struct hg_config_client *c)
{
    memset(&p->claims, 0, sizeof p->claims);
    p->client = c;
    p->via_token = 0;
    p->name = c->name;
    p->tenant = c->tenant ? c->tenant : "";
    p->scopes = hg_principal_allowed_scopes(c);
    p->nroles = 0;
    for (size_t i = 0; i < c->nroles && p->nroles < HG_TOKEN_MAX_ROLES; i++)
        p->roles[p->nroles++] = c->roles[i];
}

int hg_principal_has_role(const struct hg_principal *p, const char *role)
{
    for (size_t i = 0; p && i < p->nroles; i++)
        if (!strcmp(p->roles[i], role))
            return 1;
    return 0;
}
