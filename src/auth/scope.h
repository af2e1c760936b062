/* SPDX-License-Identifier: Apache-2.0
 *
 * scope.h — the OAuth scopes the API knows, as bits of a uint32_t so a
 * route's scope check is one AND. One X-macro table is the single list:
 * the token endpoint's "scopes_supported", the parser, the formatter and
 * the default scopes each role brings (for a clients: entry that lists no
 * scopes) all come from it.
 */
#ifndef HG_AUTH_SCOPE_H
#define HG_AUTH_SCOPE_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* X(ENUM, "name") */
#define HG_SCOPE_TABLE(X)                    \
    X(TENDER_WRITE, "tender:write")          \
    X(TENDER_READ, "tender:read")            \
    X(CAPACITY_WRITE, "capacity:write")      \
    X(CAPACITY_READ, "capacity:read")        \
    X(EVENTS_READ, "events:read")            \
    X(TELEMETRY_WRITE, "telemetry:write")    \
    X(TELEMETRY_READ, "telemetry:read")      \
    X(PROVIDER_CALLBACK, "provider:callback") \
    X(OPERATOR_ACT, "operator:act")          \
    X(AUDIT_READ, "audit:read")              \
    X(ADMIN, "admin")

enum hg_scope_index {
#define HG_SCOPE_IDX_(e, s) HG_SCOPE_I_##e,
    HG_SCOPE_TABLE(HG_SCOPE_IDX_)
#undef HG_SCOPE_IDX_
    HG_SCOPE_COUNT
};

#define HG_SCOPE_BIT_(e) (UINT32_C(1) << HG_SCOPE_I_##e)
#define HG_SCOPE_ALL ((UINT32_C(1) << HG_SCOPE_COUNT) - 1)
#define HG_SCOPE_LIST_MAX 512 /* longest "scope" parameter accepted */

/* The name of scope index i, or NULL. */
const char *hg_scope_name(size_t i);
/* The bit of the scope named by n bytes of s, or 0 when unknown. */
uint32_t hg_scope_bit(const char *s, size_t n);
/* Parse a space-separated scope list (RFC 6749 §3.3: one or more SP
 * between tokens; no other whitespace). HG_OK with *mask; HG_EPARSE for a
 * malformed list; HG_ENOTFOUND for an unknown scope, its name copied into
 * bad (may be NULL). An empty list is HG_OK with 0. HG_ETOOBIG above
 * HG_SCOPE_LIST_MAX. */
hg_status hg_scope_parse(const char *s, size_t n, uint32_t *mask, char *bad, size_t badcap);
/* "a b c" in table order into out (always NUL-terminated); returns the
 * length, or (size_t)-1 if cap is too small. */
size_t hg_scope_format(uint32_t mask, char *out, size_t cap);
/* The scopes a role brings when a client lists none (docs/auth.md):
 * tms, provider, operator, auditor, admin; 0 for any other role. */
uint32_t hg_scope_default_for_role(const char *role);

#endif
