/* SPDX-License-Identifier: Apache-2.0
 *
 * policy.h — the ABAC engine: deny by default, deny overrides allow.
 *
 * A policy is a YAML file of rules (docs/policy.md):
 *   version: 1
 *   rules:
 *     - id: tms-create-tenders           # unique, required
 *       effect: allow                    # allow | deny, required
 *       verbs: [tender:create]           # required; "tender:*" and "*" allowed
 *       roles: [tms, operator]           # any of; absent = any role
 *       scopes: [tender:write]           # all of; absent = no scope needed
 *       tenant: same                     # same (default) | any | <tenant name>
 *       regions: [us-tx, us-az]          # resource region in the list; absent = any
 *       time: {days: [mon, tue, wed, thu, fri], hours: "06:00-20:00"}  # UTC
 *       when: ["hazmat == false", "weightLbs <= 80000"]  # all must hold
 *       reason: "..."                    # optional text for the decision
 * A request is allowed when at least one allow rule applies and no deny
 * rule applies. A rule applies when every field it sets matches; a
 * condition on an attribute the resource does not have is false.
 *
 * Compiled once at load: verbs, roles and scopes become bit sets, rules are
 * indexed by verb, so a decision touches only the rules that can apply to
 * its verb and does no allocation and no formatting (the reason is the
 * rule's, made at load). Immutable after load; reference-counted so a
 * reload (SIGHUP) can swap it while requests are still using the old one.
 */
#ifndef HG_POLICY_POLICY_H
#define HG_POLICY_POLICY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/status.h"

#define HG_POLICY_MAX_BYTES (1024 * 1024)
#define HG_POLICY_MAX_RULES 10000

struct hg_policy;

/* Load and compile a policy file. On error: HG_ECONFIG (or HG_ENOMEM,
 * HG_EIO/HG_ENOTFOUND for the file) and err says "FILE:LINE: what is
 * wrong; what to do". The result has one reference. */
hg_status hg_policy_load(const char *path, struct hg_policy **out, struct hg_err *err);
/* The same from n bytes; name is used in messages. */
hg_status hg_policy_load_mem(const char *name, const char *text, size_t n,
                             struct hg_policy **out, struct hg_err *err);
/* A policy with no rules: every decision is a deny ("no policy loaded"). */
hg_status hg_policy_empty(struct hg_policy **out);

struct hg_policy *hg_policy_ref(struct hg_policy *p);
/* Drop a reference; frees on the last. NULL is fine. */
void hg_policy_unref(struct hg_policy *p);
size_t hg_policy_rule_count(const struct hg_policy *p);
/* The file it was loaded from (or the name given), for logs. */
const char *hg_policy_source(const struct hg_policy *p);

/* One request to decide. Strings need not outlive the call. */
struct hg_policy_input {
    const char *verb;                 /* "tender:create" */
    const char *subject;              /* principal name (for the record only) */
    const char *const *roles;
    size_t nroles;
    const char *const *scopes;        /* granted scopes */
    size_t nscopes;
    const char *principal_tenant;     /* NULL or "" = none */
    const char *resource_tenant;      /* NULL = the resource has no tenant yet */
    const char *region;               /* the resource's region, NULL = none */
    int64_t now;                      /* Unix seconds, UTC, for time windows */
    const json_t *resource;           /* attributes for `when`; NULL = none */
};

enum hg_policy_effect { HG_POLICY_DENY = 0, HG_POLICY_ALLOW = 1 };

struct hg_policy_decision {
    enum hg_policy_effect decision;
    const char *policy_id;            /* deciding rule's id, or "default-deny" */
    const char *reason;               /* static or owned by the policy: valid while
                                       * the caller holds its reference */
};

/* 1 if some rule that can apply to verb has `when` conditions (so the
 * caller should supply the resource's attributes), else 0. Lets the API
 * skip parsing a request body the policy will never look at. */
int hg_policy_uses_resource(const struct hg_policy *p, const char *verb);

/* Decide. Pure; thread-safe; never allocates. */
void hg_policy_eval(const struct hg_policy *p, const struct hg_policy_input *in,
                    struct hg_policy_decision *out);

#endif
