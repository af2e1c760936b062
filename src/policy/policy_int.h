/* SPDX-License-Identifier: Apache-2.0
 *
 * policy_int.h — what the files of policy/ share: the YAML tree the loader
 * walks (policy_yaml.c), name interning (policy.c), conditions
 * (policy_cond.c) and the compiled policy itself. Nothing outside policy/
 * includes this; the contract is policy.h. The compiled form is built once
 * by the loader and never written again, which is what makes evaluation
 * lock-free: readers only ever see a finished, immutable structure.
 */
#ifndef HG_POLICY_POLICY_INT_H
#define HG_POLICY_POLICY_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "policy/policy.h"

/* Bounds of a policy file beyond policy.h's (docs/policy.md lists them). */
#define POL_MAX_DEPTH 8            /* nesting of lists and mappings */
#define POL_MAX_NODES 262144       /* values in one file */
#define POL_MAX_SCALAR 1024        /* bytes in one value */
#define POL_MAX_LIST 64            /* items in verbs, roles, scopes, regions */
#define POL_MAX_WHEN 16            /* conditions per rule */
#define POL_MAX_ID 64              /* bytes in a rule id */
#define POL_MAX_NAME 128           /* bytes in a verb, role, scope, region, tenant */
#define POL_MAX_REASON 256         /* bytes in a reason */
#define POL_MAX_COND 512           /* bytes in one condition */
#define POL_MAX_SEGS 4             /* parts of a dotted attribute path */
#define POL_MAX_DISTINCT 1024      /* distinct roles, scopes or regions in a policy */
#define POL_MAX_WORDS (POL_MAX_DISTINCT / 64)

#define POL_NONE UINT32_MAX        /* "no id": a name the policy never mentions */

/* ------------------------------------------------------------ YAML tree */

enum pol_kind { POL_SCALAR, POL_SEQ, POL_MAP };

struct pol_node {
    enum pol_kind kind;
    int line;                      /* 1-based */
    bool plain;                    /* scalar written without quotes */
    char *s;                       /* scalar bytes, NUL-terminated */
    size_t len;
    struct pol_node **kid;         /* SEQ: items; MAP: key, value, key, value... */
    size_t nkid, cap;
};

/* Parse n bytes of YAML into a tree. Anchors, aliases, tags, several
 * documents and anything over the bounds above are refused with
 * "NAME:LINE: ..." in err (HG_ECONFIG; HG_ENOMEM). *out is NULL for an
 * empty document. */
hg_status policy__yaml_parse(const char *name, const char *text, size_t n,
                             struct pol_node **out, struct hg_err *err);
void policy__yaml_free(struct pol_node *n);
/* A plain empty, "~" or "null" scalar. */
bool policy__yaml_is_null(const struct pol_node *n);
/* Printable, escaped form of s for messages (at most max input bytes,
 * "..." when cut); always NUL-terminates out. */
void policy__esc(const char *s, size_t len, char *out, size_t cap, size_t max);

/* --------------------------------------------------------- interning */

struct pol_slot {
    uint64_t hash;
    const char *s;                 /* points into names[] */
    uint32_t len;
    uint32_t id;                   /* POL_NONE = empty slot */
};

/* Open addressing; names get dense ids 0, 1, 2... in first-seen order. */
struct pol_names {
    struct pol_slot *slot;
    size_t mask;                   /* slots - 1 (a power of two), 0 = none */
    char **name;
    size_t n, cap;
};

void policy__names_free(struct pol_names *t);
/* The id of n bytes of s, adding it when new. HG_ENOMEM. */
hg_status policy__names_add(struct pol_names *t, const char *s, size_t n, uint32_t *id);
/* The id of the NUL-terminated s, or POL_NONE. Never allocates. */
uint32_t policy__names_find(const struct pol_names *t, const char *s);

/* --------------------------------------------------------- conditions */

enum pol_op { POL_EQ, POL_NE, POL_LT, POL_LE, POL_GT, POL_GE };
enum pol_lit { POL_LIT_NUM, POL_LIT_BOOL, POL_LIT_NULL, POL_LIT_STR };

struct pol_cond {
    uint8_t op;                    /* enum pol_op */
    uint8_t lit;                   /* enum pol_lit */
    uint8_t nseg;
    bool is_int;                   /* the number literal is an integer */
    bool b;
    int64_t i;
    double d;
    char *s;                       /* string literal (owned), may hold NULs */
    size_t slen;
    char *path;                    /* owned; segments separated by NUL */
    const char *seg[POL_MAX_SEGS];
    int64_t idx[POL_MAX_SEGS];     /* array index a segment spells, or -1 */
};

/* Parse "<attr> <op> <literal>" from n bytes. On error returns HG_EPARSE
 * with a sentence (what is wrong; what to do) in why. */
hg_status policy__cond_parse(const char *s, size_t n, struct pol_cond *out, char *why,
                             size_t whycap);
void policy__cond_free(struct pol_cond *c);
/* Does the resource satisfy c? A missing attribute (or no resource) is
 * false for every operator. Never allocates. */
bool policy__cond_eval(const struct pol_cond *c, const json_t *resource);

/* ------------------------------------------------------ compiled policy */

enum pol_tenant { POL_TENANT_SAME, POL_TENANT_ANY, POL_TENANT_NAMED };

struct pol_rule {
    char *id;
    char *reason;                  /* the given one or "allowed by rule X" */
    uint8_t effect;                /* enum hg_policy_effect */
    uint8_t tenant;                /* enum pol_tenant */
    bool has_roles, has_scopes, has_regions, has_time;
    uint8_t days;                  /* bit 0 = Monday ... bit 6 = Sunday */
    int32_t t_start, t_end;        /* seconds of the UTC day; end exclusive */
    uint32_t tenant_id;            /* POL_TENANT_NAMED: id in tenants */
    uint32_t roles_off, scopes_off, regions_off;   /* into masks[] */
    uint32_t ncond;
    struct pol_cond *cond;
    int line;
};

/* The rules (by index, ascending = file order) that may apply to a verb. */
struct pol_list {
    uint32_t *deny, *allow;
    uint32_t ndeny, nallow;
};

struct hg_policy {
    atomic_uint refs;
    char *source;
    bool none;                     /* hg_policy_empty: "no policy loaded" */
    size_t nrules;
    struct pol_rule *rule;
    uint64_t *masks;
    uint32_t role_words, scope_words, region_words;
    struct pol_names roles, scopes, regions, tenants;
    struct pol_names verbs;        /* exact verbs ("tender:create") */
    struct pol_names nouns;        /* nouns of "noun:*" wildcards */
    struct pol_list *by_verb;      /* [verbs.n] rules naming the verb exactly */
    struct pol_list *by_noun;      /* [nouns.n] rules naming "noun:*" */
    struct pol_list all;           /* rules naming "*" */
};

/* Free a policy being built (refs not consulted). NULL is fine. */
void policy__free(struct hg_policy *p);

#endif
