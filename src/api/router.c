/* SPDX-License-Identifier: Apache-2.0
 * router.c — segment-wise path matching over a route table. */
#include "api/router.h"

#include <string.h>

int hg_route_match(const char *pattern, const char *path, struct hg_route_params *out)
{
    out->n = 0;
    const char *p = pattern, *s = path;
    if (*p != '/' || *s != '/')
        return 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return 0;
        p++;
        s++;
        const char *pe = strchr(p, '/');
        const char *se = strchr(s, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p);
        size_t sl = se ? (size_t)(se - s) : strlen(s);
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (sl == 0 || sl >= sizeof out->values[0] || out->n >= HG_ROUTE_MAX_PARAMS)
                return 0;
            /* names point into the pattern, which is a static string */
            out->names[out->n] = p + 1;
            memcpy(out->values[out->n], s, sl);
            out->values[out->n][sl] = '\0';
            out->n++;
        } else if (pl != sl || memcmp(p, s, pl) != 0) {
            return 0;
        }
        p += pl;
        s += sl;
    }
    return *p == '\0' && *s == '\0';
}

const struct hg_route *hg_route_find(const struct hg_route *table, size_t n,
                                     const char *method, const char *path,
                                     struct hg_route_params *params, int *path_known,
                                     char *allow, size_t allow_cap)
{
    *path_known = 0;
    if (allow_cap)
        allow[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        struct hg_route_params tmp;
        if (!hg_route_match(table[i].pattern, path, &tmp))
            continue;
        if (!strcmp(table[i].method, method)) {
            *params = tmp;
            return &table[i];
        }
        *path_known = 1;
        size_t ml = strlen(table[i].method);
        if (used + ml + 3 < allow_cap) {
            if (used) {
                memcpy(allow + used, ", ", 2);
                used += 2;
            }
            memcpy(allow + used, table[i].method, ml);
            used += ml;
            allow[used] = '\0';
        }
    }
    return NULL;
}
