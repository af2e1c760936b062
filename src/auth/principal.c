/* SPDX-License-Identifier: Apache-2.0
 * principal.c — certificate identity → configured principal. */
#include "auth/principal.h"

#include <string.h>

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
