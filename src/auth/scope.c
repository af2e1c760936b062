/* SPDX-License-Identifier: Apache-2.0
 *
 * scope.c — scope names ↔ bits, the space-separated list form of RFC 6749
 * §3.3, and the scopes each built-in role brings by default. The defaults
 * mirror the roles' jobs (docs/auth.md): a TMS tenders and reads, a
 * provider publishes capacity and calls back, an operator acts on
 * everything but administration, an auditor reads the audit log.
 */
#include "auth/scope.h"

#include <string.h>

static const char *const names[HG_SCOPE_COUNT] = {
#define HG_SCOPE_NAME_(e, s) s,
    HG_SCOPE_TABLE(HG_SCOPE_NAME_)
#undef HG_SCOPE_NAME_
};

const char *hg_scope_name(size_t i)
{
    return i < HG_SCOPE_COUNT ? names[i] : NULL;
}

uint32_t hg_scope_bit(const char *s, size_t n)
{
    for (size_t i = 0; s && i < HG_SCOPE_COUNT; i++)
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
            return UINT32_C(1) << i;
    return 0;
}

/* RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
static int token_char(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

hg_status hg_scope_parse(const char *s, size_t n, uint32_t *mask, char *bad, size_t badcap)
{
    uint32_t m = 0;
    size_t i = 0;
    if (bad && badcap)
        bad[0] = '\0';
    if (!mask || (!s && n))
        return HG_EINVAL;
    *mask = 0;
    if (n > HG_SCOPE_LIST_MAX)
        return HG_ETOOBIG;
    while (i < n) {
        if (s[i] == ' ') {
            i++;
            continue;
        }
        size_t start = i;
        while (i < n && s[i] != ' ') {
            if (!token_char((unsigned char)s[i]))
                return HG_EPARSE;
            i++;
        }
        uint32_t b = hg_scope_bit(s + start, i - start);
        if (!b) {
            if (bad && badcap) {
                size_t k = i - start < badcap - 1 ? i - start : badcap - 1;
                memcpy(bad, s + start, k);
                bad[k] = '\0';
            }
            return HG_ENOTFOUND;
        }
        m |= b;
    }
    *mask = m;
    return HG_OK;
}

size_t hg_scope_format(uint32_t mask, char *out, size_t cap)
{
    size_t used = 0;
    if (!out || cap == 0)
        return (size_t)-1;
    out[0] = '\0';
    for (size_t i = 0; i < HG_SCOPE_COUNT; i++) {
        if (!(mask & (UINT32_C(1) << i)))
            continue;
        size_t k = strlen(names[i]) + (used ? 1 : 0);
        if (used + k + 1 > cap)
            return (size_t)-1;
        if (used)
            out[used++] = ' ';
        memcpy(out + used, names[i], strlen(names[i]));
        used += strlen(names[i]);
        out[used] = '\0';
    }
    return used;
}

#define S_(e) HG_SCOPE_BIT_(e)

uint32_t hg_scope_default_for_role(const char *role)
{
    static const struct {
        const char *role;
        uint32_t scopes;
    } defaults[] = {
        {"tms", S_(TENDER_WRITE) | S_(TENDER_READ) | S_(CAPACITY_READ) | S_(EVENTS_READ) |
                    S_(TELEMETRY_READ)},
        {"provider", S_(CAPACITY_WRITE) | S_(CAPACITY_READ) | S_(PROVIDER_CALLBACK) |
                         S_(TELEMETRY_WRITE)},
        {"operator", HG_SCOPE_ALL & ~S_(ADMIN)},
        {"auditor", S_(AUDIT_READ)},
        {"admin", HG_SCOPE_ALL},
    };
    for (size_t i = 0; role && i < sizeof defaults / sizeof defaults[0]; i++)
        if (strcmp(defaults[i].role, role) == 0)
            return defaults[i].scopes;
    return 0;
}
