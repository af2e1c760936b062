/* SPDX-License-Identifier: Apache-2.0
 *
 * policy.c — the compiled policy at run time: name interning, the
 * reference count, and the decision itself. A decision resolves the
 * request's roles, scopes, region and tenant to small ids once, picks the
 * rule lists that can apply to its verb (exact verb, "noun:*", "*"), and
 * walks them with bit-set tests: deny rules first (any match denies),
 * then allow rules (the first match in file order allows), else the
 * default deny. It never allocates, locks or formats, so it can run on
 * every request on every thread; a reload swaps in a new policy while
 * decisions in flight keep their reference to the old one.
 */
#include "policy/policy_int.h"

#include <stdlib.h>
#include <string.h>

static const char DEFAULT_DENY[] = "default-deny";
static const char REASON_NONE[] =
    "no policy is loaded, so every request is denied; set policy.file in the configuration";
static const char REASON_DEFAULT[] = "no policy rule allows this request";
static const char REASON_NOVERB[] = "the request names no verb, so no rule can allow it";

/* ------------------------------------------------------------ interning */

/* FNV-1a over at most max+1 bytes of a NUL-terminated string: *len is the
 * length, or max+1 when the string is longer (it then cannot be a name). */
static uint64_t hash_cstr(const char *s, size_t max, size_t *len)
{
    uint64_t h = 14695981039346656037ull;
    size_t i = 0;
    for (; s[i] && i <= max; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    *len = i;
    return h;
}

static uint64_t hash_n(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

void policy__names_free(struct pol_names *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->name[i]);
    free(t->name);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

static struct pol_slot *probe(struct pol_slot *slot, size_t mask, uint64_t h, const char *s,
                              size_t n)
{
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct pol_slot *sl = &slot[i];
        if (sl->id == POL_NONE)
            return sl;
        if (sl->hash == h && sl->len == n && memcmp(sl->s, s, n) == 0)
            return sl;
    }
}

static hg_status grow(struct pol_names *t)
{
    size_t ncap = t->mask ? (t->mask + 1) * 2 : 16;
    struct pol_slot *ns = malloc(ncap * sizeof *ns);
    if (!ns)
        return HG_ENOMEM;
    for (size_t i = 0; i < ncap; i++)
        ns[i].id = POL_NONE;
    for (size_t i = 0; t->mask && i <= t->mask; i++) {
        if (t->slot[i].id == POL_NONE)
            continue;
        *probe(ns, ncap - 1, t->slot[i].hash, t->slot[i].s, t->slot[i].len) = t->slot[i];
    }
    free(t->slot);
    t->slot = ns;
    t->mask = ncap - 1;
    return HG_OK;
}

hg_status policy__names_add(struct pol_names *t, const char *s, size_t n, uint32_t *id)
{
    uint64_t h = hash_n(s, n);
    if (t->mask) {
        struct pol_slot *sl = probe(t->slot, t->mask, h, s, n);
        if (sl->id != POL_NONE) {
            *id = sl->id;
            return HG_OK;
        }
    }
    /* Keep the table at most half full so probes stay short. */
    if ((t->n + 1) * 2 > (t->mask ? t->mask + 1 : 0) && grow(t) != HG_OK)
        return HG_ENOMEM;
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 8;
        char **nn = realloc(t->name, ncap * sizeof *nn);
        if (!nn)
            return HG_ENOMEM;
        t->name = nn;
        t->cap = ncap;
    }
    char *copy = malloc(n + 1);
    if (!copy)
        return HG_ENOMEM;
    memcpy(copy, s, n);
    copy[n] = '\0';
    t->name[t->n] = copy;
    struct pol_slot *sl = probe(t->slot, t->mask, h, s, n);
    *sl = (struct pol_slot){.hash = h, .s = copy, .len = (uint32_t)n, .id = (uint32_t)t->n};
    *id = (uint32_t)t->n++;
    return HG_OK;
}

uint32_t policy__names_find(const struct pol_names *t, const char *s)
{
    size_t n;
    if (!t->mask || !s)
        return POL_NONE;
    uint64_t h = hash_cstr(s, POL_MAX_NAME, &n);
    if (n > POL_MAX_NAME)
        return POL_NONE;
    return probe(t->slot, t->mask, h, s, n)->id;
}

/* ------------------------------------------------------------ lifecycle */

void policy__free(struct hg_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nrules; i++) {
        struct pol_rule *r = &p->rule[i];
        free(r->id);
        free(r->reason);
        for (uint32_t k = 0; k < r->ncond; k++)
            policy__cond_free(&r->cond[k]);
        free(r->cond);
    }
    free(p->rule);
    free(p->masks);
    for (size_t i = 0; p->by_verb && i < p->verbs.n; i++) {
        free(p->by_verb[i].deny);
        free(p->by_verb[i].allow);
    }
    for (size_t i = 0; p->by_noun && i < p->nouns.n; i++) {
        free(p->by_noun[i].deny);
        free(p->by_noun[i].allow);
    }
    free(p->by_verb);
    free(p->by_noun);
    free(p->all.deny);
    free(p->all.allow);
    policy__names_free(&p->roles);
    policy__names_free(&p->scopes);
    policy__names_free(&p->regions);
    policy__names_free(&p->tenants);
    policy__names_free(&p->verbs);
    policy__names_free(&p->nouns);
    free(p->source);
    free(p);
}

hg_status hg_policy_empty(struct hg_policy **out)
{
    if (!out)
        return HG_EINVAL;
    *out = NULL;
    struct hg_policy *p = calloc(1, sizeof *p);
    if (!p)
        return HG_ENOMEM;
    p->source = strdup("(no policy)");
    if (!p->source) {
        free(p);
        return HG_ENOMEM;
    }
    p->none = true;
    atomic_init(&p->refs, 1);
    *out = p;
    return HG_OK;
}

struct hg_policy *hg_policy_ref(struct hg_policy *p)
{
    if (p)
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

void hg_policy_unref(struct hg_policy *p)
{
    if (!p)
        return;
    /* Release so every reader's last use happens before the free; the
     * acquire fence pairs with it on the thread that frees. */
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_release) != 1)
        return;
    atomic_thread_fence(memory_order_acquire);
    policy__free(p);
}

size_t hg_policy_rule_count(const struct hg_policy *p)
{
    return p ? p->nrules : 0;
}

const char *hg_policy_source(const struct hg_policy *p)
{
    return p ? p->source : "(no policy)";
}

/* ------------------------------------------------------------- decision */

/* The request, resolved against this policy's names. */
struct ectx {
    uint64_t roles[POL_MAX_WORDS];
    uint64_t scopes[POL_MAX_WORDS];
    uint32_t region;               /* id or POL_NONE */
    uint32_t ptenant;              /* id of the principal's tenant or POL_NONE */
    bool same_tenant;              /* the "tenant: same" test, computed once */
    int32_t sod;                   /* second of the UTC day, 0..86399 */
    uint8_t today, yesterday;      /* day bits: 1 << (0 = Monday .. 6 = Sunday) */
    const json_t *resource;
};

static void set_bits(const struct pol_names *t, uint64_t *mask, const char *const *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        uint32_t id = policy__names_find(t, v[i]);
        if (id != POL_NONE)
            mask[id >> 6] |= UINT64_C(1) << (id & 63);
    }
}

static bool time_ok(const struct pol_rule *r, const struct ectx *x)
{
    if (r->t_start < r->t_end)          /* same-day window */
        return x->sod >= r->t_start && x->sod < r->t_end && (r->days & x->today);
    /* Wraps midnight: the evening part belongs to today, the early-morning
     * part to the window that opened yesterday. */
    if (x->sod >= r->t_start)
        return (r->days & x->today) != 0;
    if (x->sod < r->t_end)
        return (r->days & x->yesterday) != 0;
    return false;
}

static bool applies(const struct hg_policy *p, const struct pol_rule *r, const struct ectx *x)
{
    if (r->has_roles) {
        const uint64_t *m = p->masks + r->roles_off;
        uint64_t any = 0;
        for (uint32_t w = 0; w < p->role_words; w++)
            any |= m[w] & x->roles[w];
        if (!any)
            return false;
    }
    if (r->has_scopes) {
        const uint64_t *m = p->masks + r->scopes_off;
        uint64_t missing = 0;
        for (uint32_t w = 0; w < p->scope_words; w++)
            missing |= m[w] & ~x->scopes[w];
        if (missing)
            return false;
    }
    switch (r->tenant) {
    case POL_TENANT_SAME:
        if (!x->same_tenant)
            return false;
        break;
    case POL_TENANT_NAMED:
        if (!x->same_tenant || x->ptenant != r->tenant_id)
            return false;
        break;
    default:
        break;
    }
    if (r->has_regions) {
        if (x->region == POL_NONE)
            return false;
        if (!(p->masks[r->regions_off + (x->region >> 6)] & (UINT64_C(1) << (x->region & 63))))
            return false;
    }
    if (r->has_time && !time_ok(r, x))
        return false;
    for (uint32_t i = 0; i < r->ncond; i++)
        if (!policy__cond_eval(&r->cond[i], x->resource))
            return false;
    return true;
}

/* The first (lowest index) rule of v that applies and sits before *best. */
static void first_match(const struct hg_policy *p, const uint32_t *v, uint32_t n,
                        const struct ectx *x, uint32_t *best)
{
    for (uint32_t i = 0; i < n && v[i] < *best; i++) {
        if (applies(p, &p->rule[v[i]], x)) {
            *best = v[i];
            return;
        }
    }
}

/* The (up to three) lists that can hold rules for verb: its own, its
 * noun's "noun:*" and "*". */
static int lists_for(const struct hg_policy *p, const char *verb,
                     const struct pol_list *lists[3])
{
    int nl = 0;
    uint32_t vid = policy__names_find(&p->verbs, verb);
    if (vid != POL_NONE)
        lists[nl++] = &p->by_verb[vid];
    if (p->nouns.n) {
        const char *colon = strchr(verb, ':');
        if (colon && (size_t)(colon - verb) <= POL_MAX_NAME) {
            char noun[POL_MAX_NAME + 1];
            size_t nn = (size_t)(colon - verb);
            memcpy(noun, verb, nn);
            noun[nn] = '\0';
            uint32_t nid = policy__names_find(&p->nouns, noun);
            if (nid != POL_NONE)
                lists[nl++] = &p->by_noun[nid];
        }
    }
    if (p->all.ndeny || p->all.nallow)
        lists[nl++] = &p->all;
    return nl;
}

void hg_policy_eval(const struct hg_policy *p, const struct hg_policy_input *in,
                    struct hg_policy_decision *out)
{
    out->decision = HG_POLICY_DENY;
    out->policy_id = DEFAULT_DENY;
    out->reason = REASON_DEFAULT;
    if (!p || p->none) {
        out->reason = REASON_NONE;
        return;
    }
    if (!in || !in->verb || !in->verb[0]) {
        out->reason = REASON_NOVERB;
        return;
    }
    const struct pol_list *lists[3];
    int nl = lists_for(p, in->verb, lists);
    if (nl == 0)
        return;

    struct ectx x;
    memset(x.roles, 0, p->role_words * sizeof x.roles[0]);
    memset(x.scopes, 0, p->scope_words * sizeof x.scopes[0]);
    set_bits(&p->roles, x.roles, in->roles, in->nroles);
    set_bits(&p->scopes, x.scopes, in->scopes, in->nscopes);
    x.region = in->region ? policy__names_find(&p->regions, in->region) : POL_NONE;
    const char *pt = in->principal_tenant && in->principal_tenant[0] ? in->principal_tenant
                                                                     : NULL;
    x.ptenant = pt ? policy__names_find(&p->tenants, pt) : POL_NONE;
    if (!in->resource_tenant)
        x.same_tenant = true;                     /* no tenant yet: creating it */
    else if (!pt)
        x.same_tenant = in->resource_tenant[0] == '\0';
    else
        x.same_tenant = strcmp(pt, in->resource_tenant) == 0;
    int64_t day = in->now / 86400, sod = in->now % 86400;
    if (sod < 0) {                                /* floor for times before 1970 */
        sod += 86400;
        day--;
    }
    x.sod = (int32_t)sod;
    int dow = (int)(((day % 7) + 7 + 3) % 7);     /* 1970-01-01 was a Thursday (3) */
    x.today = (uint8_t)(1u << dow);
    x.yesterday = (uint8_t)(1u << ((dow + 6) % 7));
    x.resource = in->resource;

    uint32_t best = UINT32_MAX;
    for (int i = 0; i < nl; i++)
        first_match(p, lists[i]->deny, lists[i]->ndeny, &x, &best);
    if (best == UINT32_MAX)
        for (int i = 0; i < nl; i++)
            first_match(p, lists[i]->allow, lists[i]->nallow, &x, &best);
    if (best == UINT32_MAX)
        return;
    const struct pol_rule *r = &p->rule[best];
    out->decision = r->effect == HG_POLICY_ALLOW ? HG_POLICY_ALLOW : HG_POLICY_DENY;
    out->policy_id = r->id;
    out->reason = r->reason;
}
