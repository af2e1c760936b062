/* SPDX-License-Identifier: Apache-2.0
 *
 * tenancy.c — who sees which tenders and offers (docs/tenders.md#tenancy).
 * A resource belongs to the tenant of the principal that created it ("" if
 * that principal has none). A principal with a tenant sees only its
 * tenant's resources; a principal without one sees the tenant-less ones,
 * except operators and admins without a tenant, who see everything. A
 * resource another tenant cannot see answers 404, never 403: its existence
 * must not leak. Pure functions of the principal.
 */
#include <string.h>

#include "api/api_int.h"
#include "common/util.h"

const struct hg_principal *api__who(const struct hg_http_req *r)
{
    return hg_http_req_user(r);
}

hg_status api__tenant(const struct hg_principal *who, char out[65])
{
    out[0] = '\0';
    if (!who || !who->tenant)
        return HG_OK;
    /* the store's tenant column holds 64 bytes: a longer name cut short
     * could collide with another tenant's, so it is refused instead */
    return hg_strlcpy(out, who->tenant, 65);
}

int api__has_role(const struct hg_principal *who, const char *role)
{
    return hg_principal_has_role(who, role);
}

static int sees_all(const struct hg_principal *who, const char *tenant)
{
    return tenant[0] == '\0' && (api__has_role(who, "operator") || api__has_role(who, "admin"));
}

int api__tenant_visible(const struct hg_principal *who, const char *tenant,
                        const char *res_tenant)
{
    return sees_all(who, tenant) || !strcmp(tenant, res_tenant);
}

const char *api__tenant_filter(const struct hg_principal *who, const char *tenant)
{
    return sees_all(who, tenant) ? NULL : tenant;
}
