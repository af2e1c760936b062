/* SPDX-License-Identifier: Apache-2.0
 *
 * router.h — one table of routes per listener. A row carries the method,
 * the path pattern ("/v1/tenders/{id}"), the required OAuth scope, the
 * policy verb, the audit event type, flags and the handler, so that
 * authentication, policy and audit cannot be forgotten for a route: the
 * dispatcher applies them from the row, and a unit test walks the table.
 */
#ifndef HG_API_ROUTER_H
#define HG_API_ROUTER_H

#include <stddef.h>
#include "http/server.h"

struct hg_api;

#define HG_ROUTE_MAX_PARAMS 4

struct hg_route_params {
    size_t n;
    const char *names[HG_ROUTE_MAX_PARAMS];  /* from the pattern, without braces */
    char values[HG_ROUTE_MAX_PARAMS][128];   /* raw path segments */
};

/* Route flags. */
#define HG_ROUTE_PUBLIC 0x1u   /* no principal needed (health, metrics, discovery) */
#define HG_ROUTE_CRITICAL 0x2u /* affects a vehicle's motion or assignment: DPoP-bound token */
#define HG_ROUTE_ANY_SCOPE 0x4u /* any valid token will do (no scope), policy still asked */
#define HG_ROUTE_CLIENT_ONLY 0x8u /* a mapped client certificate, no token (the token endpoint) */

typedef void (*hg_route_fn)(struct hg_http_req *r, struct hg_api *api,
                            const struct hg_route_params *params);

struct hg_route {
    const char *method;
    const char *pattern;
    const char *scope;       /* required token scope; NULL only for PUBLIC,
                              * CLIENT_ONLY and ANY_SCOPE routes */
    const char *verb;        /* policy verb, e.g. "tender:create" */
    const char *audit_event; /* audit event type written for this route, or NULL */
    unsigned flags;
    hg_route_fn handler;
};

/* Match `path` against one pattern. 1 on match (params filled), else 0.
 * A segment longer than 127 bytes never matches a parameter. */
int hg_route_match(const char *pattern, const char *path, struct hg_route_params *out);

/* Find the route for method+path in a table of n rows. Returns the row, or
 * NULL with *path_known set when the path exists under another method (405);
 * `allow` receives the allowed methods, comma-separated. */
const struct hg_route *hg_route_find(const struct hg_route *table, size_t n,
                                     const char *method, const char *path,
                                     struct hg_route_params *params, int *path_known,
                                     char *allow, size_t allow_cap);

#endif
