/* SPDX-License-Identifier: Apache-2.0
 *
 * policy_load.c — reads a policy file (docs/policy.md) and compiles it.
 * Strict like the configuration loader: unknown keys, wrong types,
 * duplicate keys, duplicate rule ids, empty lists and over-long values are
 * refused with "FILE:LINE: key 'rules[3].when[0]' (rule 'x'): what is
 * wrong; what to do", because a policy that silently means something else
 * than its author thought is a security bug. Compiling interns every verb,
 * role, scope, region and tenant into dense ids, turns each rule's lists
 * into bit sets, and files every rule under the verbs it can apply to, so
 * evaluation (policy.c) never looks at a string list or an unrelated rule.
 */
#include "policy/policy_int.h"
#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYBUF 96

/* One rule while the file is read: its lists as ids (ranges of ids[]). */
struct draft {
    uint32_t verbs_at, nverbs;     /* exact verbs */
    uint32_t nouns_at, nnouns;     /* nouns of "noun:*" */
    uint32_t roles_at, nroles;
    uint32_t scopes_at, nscopes;
    uint32_t regions_at, nregions;
    bool all_verbs;
};

struct lctx {
    const char *name;
    struct hg_err *err;
    struct hg_policy *p;
    struct draft *draft;
    uint32_t *ids;                 /* every draft's id lists */
    size_t nids, capids;
    struct pol_names rule_ids;     /* id -> index, for duplicates */
    const char *rule;              /* current rule's id for messages, or NULL */
};

__attribute__((format(printf, 4, 5)))
static hg_status lfail(struct lctx *c, int line, const char *key, const char *fmt, ...)
{
    char body[HG_ERR_MSG_MAX], where[24] = "", rule[POL_MAX_ID + 16] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(where, sizeof where, ":%d", line);
    if (c->rule)
        snprintf(rule, sizeof rule, " (rule '%s')", c->rule);
    if (key && *key)
        return hg_err_set(c->err, HG_ECONFIG, "%s%s: key '%s'%s: %s", c->name, where, key,
                          rule, body);
    return hg_err_set(c->err, HG_ECONFIG, "%s%s: %s", c->name, where, body);
}

static hg_status nomem(struct lctx *c)
{
    return hg_err_set(c->err, HG_ENOMEM, "%s: out of memory while loading the policy",
                      c->name);
}

/* "a list", "a mapping", "an empty value" or the quoted scalar. */
static const char *got(const struct pol_node *n, char *buf, size_t cap)
{
    if (n->kind == POL_SEQ)
        return "a list";
    if (n->kind == POL_MAP)
        return "a mapping";
    if (policy__yaml_is_null(n))
        return "an empty value";
    char e[100];
    policy__esc(n->s, n->len, e, sizeof e, 60);
    snprintf(buf, cap, "\"%s\"", e);
    return buf;
}

/* Key paths only appear in messages; one that does not fit is cut. */
static void key_sub(char *out, const char *prefix, const char *seg)
{
    int n = snprintf(out, KEYBUF, "%s%s%s", prefix, *prefix ? "." : "", seg);
    if (n < 0)
        out[0] = '\0';
}

static void key_idx(char *out, const char *prefix, size_t i)
{
    int n = snprintf(out, KEYBUF, "%s[%zu]", prefix, i);
    if (n < 0)
        out[0] = '\0';
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static bool has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return true;
    return false;
}

/* A name (role, scope, region, tenant): printable ASCII, no spaces. */
static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > POL_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

static bool id_ok(const char *s, size_t n)
{
    if (n == 0 || n > POL_MAX_ID)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-' || ch == ':'))
            return false;
    }
    return true;
}

/* One half of a verb: [a-z0-9][a-z0-9_.-]* */
static bool verb_part_ok(const char *s, size_t n)
{
    if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (size_t i = 1; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
              ch == '-'))
            return false;
    }
    return true;
}

/* Edit distance with swaps of neighbours as one edit, case-insensitive;
 * SIZE_MAX for strings too long to be a key. */
static size_t edit_distance(const char *a, size_t al, const char *b)
{
    enum { M = 24 };
    size_t bl = strlen(b);
    unsigned char d[M + 1][M + 1];
    if (al > M || bl > M)
        return SIZE_MAX;
    for (size_t i = 0; i <= al; i++)
        d[i][0] = (unsigned char)i;
    for (size_t j = 0; j <= bl; j++)
        d[0][j] = (unsigned char)j;
    for (size_t i = 1; i <= al; i++) {
        for (size_t j = 1; j <= bl; j++) {
            int ca = a[i - 1] | 0x20, cb = b[j - 1] | 0x20;
            unsigned v = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1u < v)
                v = d[i - 1][j] + 1u;
            if (d[i][j - 1] + 1u < v)
                v = d[i][j - 1] + 1u;
            if (i > 1 && j > 1 && ca == (b[j - 2] | 0x20) && cb == (a[i - 2] | 0x20) &&
                d[i - 2][j - 2] + 1u < v)
                v = d[i - 2][j - 2] + 1u;
            d[i][j] = (unsigned char)v;
        }
    }
    return d[al][bl];
}

static hg_status unknown_key(struct lctx *c, const struct pol_node *k, const char *prefix,
                             const char *const *valid, size_t nvalid)
{
    char list[256] = "", e[80], key[KEYBUF];
    size_t o = 0, bestd = SIZE_MAX, best = 0;
    for (size_t i = 0; i < nvalid; i++) {
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", valid[i]);
        if (o >= sizeof list)
            o = sizeof list - 1;
        size_t d = edit_distance(k->s, k->len, valid[i]);
        if (d < bestd) {
            bestd = d;
            best = i;
        }
    }
    policy__esc(k->s, k->len, e, sizeof e, 40);
    key_sub(key, prefix, e);
    if (bestd <= 1 || (bestd == 2 && strlen(valid[best]) >= 5))
        return lfail(c, k->line, key, "unknown key; did you mean '%s'? Valid keys here: %s",
                     valid[best], list);
    return lfail(c, k->line, key, "unknown key; valid keys here: %s", list);
}

/* Check a mapping's keys: scalars, no duplicates, all in `valid`. On
 * success vals[i] is the value of valid[i] (NULL when absent) and lines[i]
 * the line of its key. */
static hg_status read_map(struct lctx *c, const struct pol_node *map, const char *prefix,
                          const char *const *valid, size_t nvalid,
                          const struct pol_node **vals, int *lines)
{
    char g[160];
    for (size_t i = 0; i < nvalid; i++) {
        vals[i] = NULL;
        lines[i] = 0;
    }
    for (size_t i = 0; i + 1 < map->nkid; i += 2) {
        const struct pol_node *k = map->kid[i];
        if (k->kind != POL_SCALAR || policy__yaml_is_null(k))
            return lfail(c, k->line, prefix, "keys must be non-empty strings, got %s",
                         got(k, g, sizeof g));
        /* Unknown keys first: then every earlier key is a distinct valid
         * one, so the duplicate check below stays O(nvalid) per key even
         * for a hostile mapping with thousands of keys. */
        size_t f = nvalid;
        for (size_t j = 0; j < nvalid && f == nvalid; j++)
            if (strlen(valid[j]) == k->len && memcmp(valid[j], k->s, k->len) == 0)
                f = j;
        if (f == nvalid)
            return unknown_key(c, k, prefix, valid, nvalid);
        if (vals[f]) {
            char e[80], key[KEYBUF];
            policy__esc(k->s, k->len, e, sizeof e, 40);
            key_sub(key, prefix, e);
            return lfail(c, k->line, key,
                         "duplicate key (first set at line %d); each key may appear only "
                         "once", lines[f]);
        }
        vals[f] = map->kid[i + 1];
        lines[f] = k->line;
    }
    return HG_OK;
}

/* A non-empty scalar without control characters, at most max bytes. */
static hg_status want_string(struct lctx *c, const struct pol_node *n, const char *key,
                             size_t max, const char *what)
{
    char g[160];
    if (n->kind != POL_SCALAR || policy__yaml_is_null(n) || n->len == 0)
        return lfail(c, n->line, key, "expected %s, got %s", what, got(n, g, sizeof g));
    if (n->len > max)
        return lfail(c, n->line, key, "expected %s, got %zu bytes; at most %zu are allowed",
                     what, n->len, max);
    if (has_ctl(n->s, n->len) || strlen(n->s) != n->len)
        return lfail(c, n->line, key, "expected %s, got a value with control characters",
                     what);
    return HG_OK;
}

/* A non-empty list of distinct scalars; `check` validates each item. */
static hg_status want_list(struct lctx *c, const struct pol_node *n, const char *key,
                           size_t max, const char *what, bool (*check)(const char *, size_t),
                           const char *item_what)
{
    char g[160], e[100], ikey[KEYBUF];
    if (n->kind == POL_SCALAR && !policy__yaml_is_null(n)) {
        policy__esc(n->s, n->len, e, sizeof e, 60);
        return lfail(c, n->line, key, "expected %s, got \"%s\"; write a single item as [%s]",
                     what, e, e);
    }
    if (n->kind != POL_SEQ)
        return lfail(c, n->line, key, "expected %s, got %s", what, got(n, g, sizeof g));
    if (n->nkid == 0)
        return lfail(c, n->line, key,
                     "the list is empty, so the rule could never apply; list at least one "
                     "item, or remove the key to match any");
    if (n->nkid > max)
        return lfail(c, n->line, key, "the list has %zu items; at most %zu are allowed",
                     n->nkid, max);
    for (size_t i = 0; i < n->nkid; i++) {
        const struct pol_node *it = n->kid[i];
        key_idx(ikey, key, i);
        if (it->kind != POL_SCALAR || policy__yaml_is_null(it) || strlen(it->s) != it->len ||
            !check(it->s, it->len)) {
            if (it->kind == POL_SCALAR && !policy__yaml_is_null(it)) {
                policy__esc(it->s, it->len, e, sizeof e, 60);
                return lfail(c, it->line, ikey, "\"%s\" is not %s", e, item_what);
            }
            return lfail(c, it->line, ikey, "expected %s, got %s", item_what,
                         got(it, g, sizeof g));
        }
        for (size_t j = 0; j < i; j++) {
            const struct pol_node *pj = n->kid[j];
            if (pj->len == it->len && memcmp(pj->s, it->s, it->len) == 0) {
                policy__esc(it->s, it->len, e, sizeof e, 60);
                return lfail(c, it->line, ikey,
                             "duplicate item \"%s\" (also item %zu at line %d); list each "
                             "one once", e, j, pj->line);
            }
        }
    }
    return HG_OK;
}

static hg_status push_id(struct lctx *c, uint32_t id)
{
    if (c->nids == c->capids) {
        size_t ncap = c->capids ? c->capids * 2 : 256;
        uint32_t *v = realloc(c->ids, ncap * sizeof *v);
        if (!v)
            return nomem(c);
        c->ids = v;
        c->capids = ncap;
    }
    c->ids[c->nids++] = id;
    return HG_OK;
}

/* Intern every item of a (checked) list into t; the ids go to ids[]. */
static hg_status intern_list(struct lctx *c, struct pol_names *t, const struct pol_node *n,
                             const char *key, const char *plural, uint32_t *at, uint32_t *cnt)
{
    *at = (uint32_t)c->nids;
    *cnt = (uint32_t)n->nkid;
    for (size_t i = 0; i < n->nkid; i++) {
        uint32_t id;
        if (policy__names_add(t, n->kid[i]->s, n->kid[i]->len, &id) != HG_OK)
            return nomem(c);
        if (id >= POL_MAX_DISTINCT) {
            char ikey[KEYBUF];
            key_idx(ikey, key, i);
            return lfail(c, n->kid[i]->line, ikey,
                         "the policy names more than %d distinct %s; that is the limit",
                         POL_MAX_DISTINCT, plural);
        }
        hg_status rc = push_id(c, id);
        if (rc != HG_OK)
            return rc;
    }
    return HG_OK;
}

static bool verb_ok(const char *s, size_t n)
{
    if (n == 1 && s[0] == '*')
        return true;
    if (n > POL_MAX_NAME)
        return false;
    const char *colon = memchr(s, ':', n);
    if (!colon)
        return false;
    size_t nl = (size_t)(colon - s), vl = n - nl - 1;
    if (!verb_part_ok(s, nl))
        return false;
    return (vl == 1 && colon[1] == '*') || verb_part_ok(colon + 1, vl);
}

static hg_status read_verbs(struct lctx *c, const struct pol_node *n, const char *key,
                            struct draft *d)
{
    hg_status rc = want_list(c, n, key, POL_MAX_LIST, "a list of verbs, such as [tender:create]",
                             verb_ok,
                             "a verb: noun:verb in lower case (tender:create), noun:* "
                             "(tender:*) or * for every verb");
    if (rc != HG_OK)
        return rc;
    /* Exact verbs first, then nouns: two passes keep each range contiguous. */
    d->verbs_at = (uint32_t)c->nids;
    for (size_t i = 0; i < n->nkid; i++) {
        const struct pol_node *it = n->kid[i];
        if (it->len == 1 || it->s[it->len - 1] == '*')
            continue;
        uint32_t id;
        if (policy__names_add(&c->p->verbs, it->s, it->len, &id) != HG_OK)
            return nomem(c);
        if ((rc = push_id(c, id)) != HG_OK)
            return rc;
        d->nverbs++;
    }
    d->nouns_at = (uint32_t)c->nids;
    for (size_t i = 0; i < n->nkid; i++) {
        const struct pol_node *it = n->kid[i];
        if (it->len == 1) {
            d->all_verbs = true;
            continue;
        }
        if (it->s[it->len - 1] != '*')
            continue;
        uint32_t id;
        if (policy__names_add(&c->p->nouns, it->s, it->len - 2, &id) != HG_OK)
            return nomem(c);
        if ((rc = push_id(c, id)) != HG_OK)
            return rc;
        d->nnouns++;
    }
    return HG_OK;
}

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static bool day_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < 7; i++)
        if (n == 3 && memcmp(s, day_names[i], 3) == 0)
            return true;
    return false;
}

/* "HH:MM" at s; hours 00..23 (24 with 00 minutes when end is allowed). */
static bool hhmm(const char *s, bool end, int32_t *sec)
{
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return false;
    if (s[2] != ':')
        return false;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && (!end || m != 0)))
        return false;
    *sec = (int32_t)(h * 3600 + m * 60);
    return true;
}

static hg_status read_time(struct lctx *c, const struct pol_node *n, const char *key,
                           struct pol_rule *r)
{
    static const char *const keys[] = {"days", "hours"};
    const struct pol_node *v[2];
    int lines[2];
    char g[160], k2[KEYBUF];
    if (n->kind != POL_MAP)
        return lfail(c, n->line, key,
                     "expected a mapping with days and/or hours, such as {days: [mon, tue], "
                     "hours: \"06:00-20:00\"}, got %s", got(n, g, sizeof g));
    hg_status rc = read_map(c, n, key, keys, 2, v, lines);
    if (rc != HG_OK)
        return rc;
    if (!v[0] && !v[1])
        return lfail(c, n->line, key,
                     "the time window is empty; give days (such as [mon, fri]), hours (such "
                     "as \"06:00-20:00\") or both, or remove time");
    r->has_time = true;
    r->days = 0x7f;
    r->t_start = 0;
    r->t_end = 86400;
    if (v[0]) {
        key_sub(k2, key, "days");
        rc = want_list(c, v[0], k2, 7, "a list of days, such as [mon, tue, wed]", day_ok,
                       "a day: mon, tue, wed, thu, fri, sat or sun");
        if (rc != HG_OK)
            return rc;
        r->days = 0;
        for (size_t i = 0; i < v[0]->nkid; i++)
            for (int d = 0; d < 7; d++)
                if (memcmp(v[0]->kid[i]->s, day_names[d], 3) == 0)
                    r->days |= (uint8_t)(1u << d);
    }
    if (v[1]) {
        key_sub(k2, key, "hours");
        const struct pol_node *h = v[1];
        static const char what[] =
            "hours as \"HH:MM-HH:MM\" in UTC, end exclusive, such as \"06:00-20:00\" (24:00 "
            "may end a window; a window like \"22:00-06:00\" runs past midnight)";
        rc = want_string(c, h, k2, 32, what);
        if (rc != HG_OK)
            return rc;
        if (h->len != 11 || h->s[5] != '-' || !hhmm(h->s, false, &r->t_start) ||
            !hhmm(h->s + 6, true, &r->t_end))
            return lfail(c, h->line, k2, "expected %s, got %s", what, got(h, g, sizeof g));
        /* "10:00-10:00" could mean "never" or "all day"; make the author say. */
        if (r->t_start == r->t_end)
            return lfail(c, h->line, k2,
                         "the window %s starts and ends at the same time; write "
                         "\"00:00-24:00\" for the whole day, or remove hours",
                         got(h, g, sizeof g));
    }
    return HG_OK;
}

static hg_status read_when(struct lctx *c, const struct pol_node *n, const char *key,
                           struct pol_rule *r)
{
    char g[160], e[100], ikey[KEYBUF], why[320];
    if (n->kind == POL_SCALAR && !policy__yaml_is_null(n)) {
        policy__esc(n->s, n->len, e, sizeof e, 60);
        return lfail(c, n->line, key,
                     "expected a list of conditions, got \"%s\"; write a single condition "
                     "as [\"%s\"]", e, e);
    }
    if (n->kind != POL_SEQ)
        return lfail(c, n->line, key,
                     "expected a list of conditions, such as [\"hazmat == false\"], got %s",
                     got(n, g, sizeof g));
    if (n->nkid == 0)
        return lfail(c, n->line, key,
                     "the list is empty; give at least one condition, or remove when");
    if (n->nkid > POL_MAX_WHEN)
        return lfail(c, n->line, key, "the rule has %zu conditions; at most %d are allowed",
                     n->nkid, POL_MAX_WHEN);
    r->cond = calloc(n->nkid, sizeof *r->cond);
    if (!r->cond)
        return nomem(c);
    for (size_t i = 0; i < n->nkid; i++) {
        const struct pol_node *it = n->kid[i];
        key_idx(ikey, key, i);
        hg_status rc = want_string(c, it, ikey, POL_MAX_COND,
                                   "a condition such as \"weightLbs <= 80000\"");
        if (rc != HG_OK)
            return rc;
        rc = policy__cond_parse(it->s, it->len, &r->cond[i], why, sizeof why);
        if (rc == HG_ENOMEM)
            return nomem(c);
        if (rc != HG_OK) {
            policy__esc(it->s, it->len, e, sizeof e, 60);
            return lfail(c, it->line, ikey, "condition \"%s\": %s", e, why);
        }
        r->ncond++;
    }
    return HG_OK;
}

enum { K_ID, K_EFFECT, K_VERBS, K_ROLES, K_SCOPES, K_TENANT, K_REGIONS, K_TIME, K_WHEN,
       K_REASON, K_COUNT };
static const char *const rule_keys[K_COUNT] = {
    "id", "effect", "verbs", "roles", "scopes", "tenant", "regions", "time", "when", "reason"};

static hg_status read_rule(struct lctx *c, const struct pol_node *n, size_t idx)
{
    const struct pol_node *v[K_COUNT];
    int lines[K_COUNT];
    char key[KEYBUF], k2[KEYBUF], g[160];
    struct pol_rule *r = &c->p->rule[idx];
    struct draft *d = &c->draft[idx];
    hg_status rc;

    key_idx(key, "rules", idx);
    r->line = n->line;
    r->tenant_id = POL_NONE;
    if (n->kind != POL_MAP)
        return lfail(c, n->line, key,
                     "expected a rule (a mapping with id, effect and verbs), got %s",
                     got(n, g, sizeof g));
    rc = read_map(c, n, key, rule_keys, K_COUNT, v, lines);
    if (rc != HG_OK)
        return rc;

    /* The id first, so every later message can name the rule. */
    key_sub(k2, key, "id");
    if (!v[K_ID])
        return lfail(c, n->line, k2,
                     "required key is missing; give the rule a unique id, such as "
                     "id: tms-create-tenders");
    rc = want_string(c, v[K_ID], k2, POL_MAX_ID, "a rule id");
    if (rc != HG_OK)
        return rc;
    if (!id_ok(v[K_ID]->s, v[K_ID]->len))
        return lfail(c, v[K_ID]->line, k2,
                     "expected a rule id of 1 to %d letters, digits, '.', '_', '-' or ':', "
                     "got %s", POL_MAX_ID, got(v[K_ID], g, sizeof g));
    if (strcmp(v[K_ID]->s, "default-deny") == 0)
        return lfail(c, v[K_ID]->line, k2,
                     "'default-deny' names the decision when no rule applies; choose "
                     "another id");
    uint32_t before = (uint32_t)c->rule_ids.n, rid;
    if (policy__names_add(&c->rule_ids, v[K_ID]->s, v[K_ID]->len, &rid) != HG_OK)
        return nomem(c);
    if (rid < before) {
        const struct pol_rule *first = &c->p->rule[rid];
        return lfail(c, v[K_ID]->line, k2,
                     "duplicate rule id '%s' (first used by rules[%u] at line %d); give "
                     "every rule its own id", v[K_ID]->s, rid, first->line);
    }
    r->id = dup_n(v[K_ID]->s, v[K_ID]->len);
    if (!r->id)
        return nomem(c);
    c->rule = r->id;

    key_sub(k2, key, "effect");
    if (!v[K_EFFECT])
        return lfail(c, n->line, k2, "required key is missing; add effect: allow or "
                                     "effect: deny");
    const struct pol_node *ef = v[K_EFFECT];
    if (ef->kind == POL_SCALAR && ef->len == 5 && memcmp(ef->s, "allow", 5) == 0)
        r->effect = HG_POLICY_ALLOW;
    else if (ef->kind == POL_SCALAR && ef->len == 4 && memcmp(ef->s, "deny", 4) == 0)
        r->effect = HG_POLICY_DENY;
    else
        return lfail(c, v[K_EFFECT]->line, k2,
                     "expected allow or deny, got %s; write effect: allow or effect: deny",
                     got(v[K_EFFECT], g, sizeof g));

    key_sub(k2, key, "verbs");
    if (!v[K_VERBS])
        return lfail(c, n->line, k2,
                     "required key is missing; list the verbs the rule is about, such as "
                     "verbs: [tender:create] (or [\"*\"] for every verb)");
    if ((rc = read_verbs(c, v[K_VERBS], k2, d)) != HG_OK)
        return rc;

    if (v[K_ROLES]) {
        key_sub(k2, key, "roles");
        rc = want_list(c, v[K_ROLES], k2, POL_MAX_LIST, "a list of roles, such as [tms]",
                       name_ok, "a role name (printable characters, no spaces)");
        if (rc == HG_OK)
            rc = intern_list(c, &c->p->roles, v[K_ROLES], k2, "roles", &d->roles_at,
                             &d->nroles);
        if (rc != HG_OK)
            return rc;
        r->has_roles = true;
    }
    if (v[K_SCOPES]) {
        key_sub(k2, key, "scopes");
        rc = want_list(c, v[K_SCOPES], k2, POL_MAX_LIST,
                       "a list of scopes, such as [tender:write]", name_ok,
                       "a scope name (printable characters, no spaces)");
        if (rc == HG_OK)
            rc = intern_list(c, &c->p->scopes, v[K_SCOPES], k2, "scopes", &d->scopes_at,
                             &d->nscopes);
        if (rc != HG_OK)
            return rc;
        r->has_scopes = true;
    }
    r->tenant = POL_TENANT_SAME;
    if (v[K_TENANT]) {
        const struct pol_node *t = v[K_TENANT];
        key_sub(k2, key, "tenant");
        static const char what[] =
            "same (the principal's own tenant), any, or a tenant name";
        if ((rc = want_string(c, t, k2, POL_MAX_NAME, what)) != HG_OK)
            return rc;
        if (strcmp(t->s, "same") == 0) {
            r->tenant = POL_TENANT_SAME;
        } else if (strcmp(t->s, "any") == 0) {
            r->tenant = POL_TENANT_ANY;
        } else {
            if (!name_ok(t->s, t->len))
                return lfail(c, t->line, k2, "expected %s, got %s", what, got(t, g, sizeof g));
            r->tenant = POL_TENANT_NAMED;
            if (policy__names_add(&c->p->tenants, t->s, t->len, &r->tenant_id) != HG_OK)
                return nomem(c);
        }
    }
    if (v[K_REGIONS]) {
        key_sub(k2, key, "regions");
        rc = want_list(c, v[K_REGIONS], k2, POL_MAX_LIST, "a list of regions, such as [us-tx]",
                       name_ok, "a region name (printable characters, no spaces)");
        if (rc == HG_OK)
            rc = intern_list(c, &c->p->regions, v[K_REGIONS], k2, "regions", &d->regions_at,
                             &d->nregions);
        if (rc != HG_OK)
            return rc;
        r->has_regions = true;
    }
    if (v[K_TIME]) {
        key_sub(k2, key, "time");
        if ((rc = read_time(c, v[K_TIME], k2, r)) != HG_OK)
            return rc;
    }
    if (v[K_WHEN]) {
        key_sub(k2, key, "when");
        if ((rc = read_when(c, v[K_WHEN], k2, r)) != HG_OK)
            return rc;
    }
    if (v[K_REASON]) {
        key_sub(k2, key, "reason");
        rc = want_string(c, v[K_REASON], k2, POL_MAX_REASON,
                         "a sentence saying why the rule decides as it does");
        if (rc != HG_OK)
            return rc;
        r->reason = dup_n(v[K_REASON]->s, v[K_REASON]->len);
    } else {
        size_t need = strlen(r->id) + 32;
        r->reason = malloc(need);
        if (r->reason)
            snprintf(r->reason, need, "%s by rule %s",
                     r->effect == HG_POLICY_ALLOW ? "allowed" : "denied", r->id);
    }
    if (!r->reason)
        return nomem(c);
    c->rule = NULL;
    return HG_OK;
}

/* ------------------------------------------------------------ compiling */

static void set_mask(uint64_t *m, const uint32_t *ids, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        m[ids[i] >> 6] |= UINT64_C(1) << (ids[i] & 63);
}

/* Append rule i to a list unless it is already its last entry (a rule
 * that names a verb twice through "tender:*" and "tender:create" lands in
 * two different lists, never twice in one). */
static void list_put(struct pol_list *l, const struct pol_rule *r, uint32_t i)
{
    if (r->effect == HG_POLICY_DENY) {
        if (!l->ndeny || l->deny[l->ndeny - 1] != i)
            l->deny[l->ndeny++] = i;
    } else {
        if (!l->nallow || l->allow[l->nallow - 1] != i)
            l->allow[l->nallow++] = i;
    }
}

static hg_status list_alloc(struct pol_list *l)
{
    l->deny = malloc((l->ndeny ? l->ndeny : 1) * sizeof *l->deny);
    l->allow = malloc((l->nallow ? l->nallow : 1) * sizeof *l->allow);
    l->ndeny = l->nallow = 0;
    return l->deny && l->allow ? HG_OK : HG_ENOMEM;
}

static void list_count(struct pol_list *l, const struct pol_rule *r)
{
    if (r->effect == HG_POLICY_DENY)
        l->ndeny++;
    else
        l->nallow++;
}

static hg_status compile(struct lctx *c)
{
    struct hg_policy *p = c->p;
    size_t nmask = 0;
    p->role_words = (uint32_t)((p->roles.n + 63) / 64);
    p->scope_words = (uint32_t)((p->scopes.n + 63) / 64);
    p->region_words = (uint32_t)((p->regions.n + 63) / 64);
    for (size_t i = 0; i < p->nrules; i++) {
        const struct pol_rule *r = &p->rule[i];
        nmask += (r->has_roles ? p->role_words : 0) + (r->has_scopes ? p->scope_words : 0) +
                 (r->has_regions ? p->region_words : 0);
    }
    p->masks = calloc(nmask ? nmask : 1, sizeof *p->masks);
    p->by_verb = calloc(p->verbs.n ? p->verbs.n : 1, sizeof *p->by_verb);
    p->by_noun = calloc(p->nouns.n ? p->nouns.n : 1, sizeof *p->by_noun);
    if (!p->masks || !p->by_verb || !p->by_noun)
        return nomem(c);
    size_t off = 0;
    for (size_t i = 0; i < p->nrules; i++) {
        struct pol_rule *r = &p->rule[i];
        const struct draft *d = &c->draft[i];
        if (r->has_roles) {
            r->roles_off = (uint32_t)off;
            set_mask(p->masks + off, c->ids + d->roles_at, d->nroles);
            off += p->role_words;
        }
        if (r->has_scopes) {
            r->scopes_off = (uint32_t)off;
            set_mask(p->masks + off, c->ids + d->scopes_at, d->nscopes);
            off += p->scope_words;
        }
        if (r->has_regions) {
            r->regions_off = (uint32_t)off;
            set_mask(p->masks + off, c->ids + d->regions_at, d->nregions);
            off += p->region_words;
        }
        for (uint32_t k = 0; k < d->nverbs; k++)
            list_count(&p->by_verb[c->ids[d->verbs_at + k]], r);
        for (uint32_t k = 0; k < d->nnouns; k++)
            list_count(&p->by_noun[c->ids[d->nouns_at + k]], r);
        if (d->all_verbs)
            list_count(&p->all, r);
    }
    for (size_t i = 0; i < p->verbs.n; i++)
        if (list_alloc(&p->by_verb[i]) != HG_OK)
            return nomem(c);
    for (size_t i = 0; i < p->nouns.n; i++)
        if (list_alloc(&p->by_noun[i]) != HG_OK)
            return nomem(c);
    if (list_alloc(&p->all) != HG_OK)
        return nomem(c);
    for (size_t i = 0; i < p->nrules; i++) {
        const struct pol_rule *r = &p->rule[i];
        const struct draft *d = &c->draft[i];
        for (uint32_t k = 0; k < d->nverbs; k++)
            list_put(&p->by_verb[c->ids[d->verbs_at + k]], r, (uint32_t)i);
        for (uint32_t k = 0; k < d->nnouns; k++)
            list_put(&p->by_noun[c->ids[d->nouns_at + k]], r, (uint32_t)i);
        if (d->all_verbs)
            list_put(&p->all, r, (uint32_t)i);
    }
    return HG_OK;
}

/* ------------------------------------------------------------- the file */

static hg_status load_tree(struct lctx *c, const struct pol_node *root)
{
    static const char *const top_keys[] = {"version", "rules"};
    const struct pol_node *v[2];
    int lines[2];
    char g[160];
    hg_status rc;

    if (!root || policy__yaml_is_null(root))
        return lfail(c, 1, NULL,
                     "the file holds no policy; it needs 'version: 1' and a list of "
                     "rules (see config/policy.example.yaml)");
    if (root->kind != POL_MAP)
        return lfail(c, root->line, NULL,
                     "the top level must be a mapping with version and rules, got %s",
                     got(root, g, sizeof g));
    if ((rc = read_map(c, root, "", top_keys, 2, v, lines)) != HG_OK)
        return rc;
    if (!v[0])
        return lfail(c, root->line, "version",
                     "required key is missing; start the file with 'version: 1'");
    if (v[0]->kind != POL_SCALAR || !v[0]->plain || strcmp(v[0]->s, "1") != 0) {
        if (v[0]->kind == POL_SCALAR && !v[0]->plain && strcmp(v[0]->s, "1") == 0)
            return lfail(c, v[0]->line, "version",
                         "expected the number 1, got \"1\" (quoted); write version: 1 "
                         "without quotes");
        return lfail(c, v[0]->line, "version",
                     "unsupported version %s; this haulgate reads version 1 policies",
                     got(v[0], g, sizeof g));
    }
    if (!v[1])
        return lfail(c, root->line, "rules",
                     "required key is missing; add 'rules:' with a list of rules (an empty "
                     "list, rules: [], denies everything)");
    const struct pol_node *rules = v[1];
    if (rules->kind != POL_SEQ)
        return lfail(c, rules->line, "rules", "expected a list of rules, got %s",
                     got(rules, g, sizeof g));
    if (rules->nkid > HG_POLICY_MAX_RULES)
        return lfail(c, rules->line, "rules",
                     "the policy has %zu rules; at most %d are allowed", rules->nkid,
                     HG_POLICY_MAX_RULES);
    c->p->rule = calloc(rules->nkid ? rules->nkid : 1, sizeof *c->p->rule);
    c->draft = calloc(rules->nkid ? rules->nkid : 1, sizeof *c->draft);
    if (!c->p->rule || !c->draft)
        return nomem(c);
    for (size_t i = 0; i < rules->nkid; i++) {
        /* Count the rule before filling it, so policy__free sees what
         * was allocated even when reading it fails half-way. */
        c->p->nrules = i + 1;
        if ((rc = read_rule(c, rules->kid[i], i)) != HG_OK)
            return rc;
    }
    return compile(c);
}

hg_status hg_policy_load_mem(const char *name, const char *text, size_t n,
                             struct hg_policy **out, struct hg_err *err)
{
    struct lctx c = {.name = name ? name : "(policy)", .err = err};
    struct pol_node *root = NULL;
    hg_status rc;

    hg_err_clear(err);
    if (!out || (!text && n))
        return hg_err_set(err, HG_EINVAL, "hg_policy_load_mem: NULL argument");
    *out = NULL;
    if (n > HG_POLICY_MAX_BYTES)
        return hg_err_set(err, HG_ECONFIG,
                          "%s: the policy is %zu bytes; at most %d are allowed (split "
                          "the rules or remove unused ones)", c.name, n, HG_POLICY_MAX_BYTES);
    c.p = calloc(1, sizeof *c.p);
    if (!c.p)
        return nomem(&c);
    atomic_init(&c.p->refs, 1);
    c.p->source = strdup(c.name);
    if (!c.p->source) {
        rc = nomem(&c);
        goto out;
    }
    rc = policy__yaml_parse(c.name, text ? text : "", n, &root, err);
    if (rc != HG_OK)
        goto out;
    rc = load_tree(&c, root);
    if (rc != HG_OK)
        goto out;
    *out = c.p;
    c.p = NULL;
out:
    policy__yaml_free(root);
    policy__free(c.p);
    policy__names_free(&c.rule_ids);
    free(c.draft);
    free(c.ids);
    return rc;
}

hg_status hg_policy_load(const char *path, struct hg_policy **out, struct hg_err *err)
{
    char *text = NULL;
    size_t len = 0;

    hg_err_clear(err);
    if (!out || !path)
        return hg_err_set(err, HG_EINVAL, "hg_policy_load: NULL argument");
    *out = NULL;
    hg_status rc = hg_fs_read_bounded(path, HG_POLICY_MAX_BYTES, "policy file",
                                      "check the path (policy.file in the configuration)",
                                      &text, &len, err);
    if (rc == HG_ETOOBIG)
        rc = err->status = HG_ECONFIG; /* a policy too large is a policy error */
    if (rc == HG_OK)
        rc = hg_policy_load_mem(path, text, len, out, err);
    free(text);
    return rc;
}
