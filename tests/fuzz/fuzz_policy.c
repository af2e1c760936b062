/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_policy.c — libFuzzer target for the policy loader and evaluator:
 * the input is a whole policy file, loaded from memory with
 * hg_policy_load_mem (an exact-size heap copy, so ASan sees any read past
 * the length). Beyond not crashing or leaking, it checks the promises:
 * failure yields no policy and a message that starts with the file name;
 * success yields a policy whose decisions on a few fixed requests are
 * well-formed (an id and a non-empty reason; "default-deny" exactly when
 * no rule decided), identical when asked twice, and unchanged by
 * an extra reference.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

#define NAME "fuzz/policy.yaml"

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    struct hg_policy *p = NULL;
    struct hg_err err;
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    hg_status rc = hg_policy_load_mem(NAME, text, size, &p, &err);
    if (rc != HG_OK) {
        check(p == NULL);
        check(rc == HG_ECONFIG || rc == HG_ENOMEM);
        check(err.status == rc);
        check(rc == HG_ENOMEM || strncmp(err.msg, NAME ":", sizeof NAME) == 0);
        free(text);
        return 0;
    }
    check(p != NULL);
    check(hg_policy_rule_count(p) <= HG_POLICY_MAX_RULES);
    check(strcmp(hg_policy_source(p), NAME) == 0);

    static const char *const verbs[] = {"tender:create", "tender:read", "capacity:publish",
                                        "audit:read", "keys:rotate", "x:y", "tender", ""};
    static const char *const roles[] = {"tms", "admin", "operator", "provider"};
    static const char *const scopes[] = {"tender:write", "tender:read", "admin"};
    json_t *res = json_pack("{s:b, s:i, s:s, s:n, s:{s:b}, s:[i,i]}", "hazmat", 1,
                            "weightLbs", 90000, "equipment", "reefer", "lane",
                            "requirements", "autonomyAllowed", 1, "stops", 1, 3);
    struct hg_policy *extra = hg_policy_ref(p);
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
        for (int variant = 0; variant < 4; variant++) {
            struct hg_policy_input in = {
                .verb = verbs[v],
                .roles = roles,
                .nroles = (size_t)variant,
                .scopes = scopes,
                .nscopes = (size_t)(variant % 4),
                .principal_tenant = variant & 1 ? "acme" : NULL,
                .resource_tenant = variant & 2 ? "acme" : NULL,
                .region = variant ? "us-tx" : NULL,
                .now = variant == 3 ? -1 : 1777636800 + variant * 40000,
                .resource = variant == 2 ? NULL : res,
            };
            struct hg_policy_decision a, b;
            hg_policy_eval(p, &in, &a);
            hg_policy_eval(extra, &in, &b);
            check(a.policy_id && a.reason && a.reason[0]);
            check(a.decision == HG_POLICY_ALLOW || a.decision == HG_POLICY_DENY);
            check(a.decision == b.decision && a.policy_id == b.policy_id &&
                  a.reason == b.reason);
            if (strcmp(a.policy_id, "default-deny") == 0)
                check(a.decision == HG_POLICY_DENY);
        }
    }
    hg_policy_unref(extra);
    json_decref(res);
    hg_policy_unref(p);
    free(text);
    return 0;
}
