/* SPDX-License-Identifier: Apache-2.0
 *
 * test_policy_uses.c — hg_policy_uses_resource (src/policy/policy_uses.c):
 * whether any rule that can apply to a verb (exact, "noun:*" or "*") has
 * `when` conditions, so the API parses a request body only when the
 * policy will look at it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "policy/policy.h"

static const char TABLE_POLICY[] =
    "version: 1\n"
    "rules:\n"
    "  - {id: deny-blocked, effect: deny, verbs: [\"*\"], roles: [blocked], tenant: any}\n"
    "  - {id: heavy, effect: deny, verbs: [tender:create], when: [\"weightLbs > 80000\"]}\n"
    "  - {id: tms, effect: allow, verbs: [tender:create, tender:read], roles: [tms]}\n"
    "  - {id: cap, effect: allow, verbs: [\"capacity:*\"], roles: [provider]}\n"
    "  - {id: nested, effect: allow, verbs: [offer:nested], when: [a.b == true]}\n"
    "  - {id: admin, effect: allow, verbs: [\"*\"], roles: [admin], tenant: any}\n";

static struct hg_policy *load_str(const char *text)
{
    struct hg_policy *p = NULL;
    struct hg_err err;
    if (hg_policy_load_mem("uses.yaml", text, strlen(text), &p, &err) != HG_OK)
        fail_msg("load: %s", err.msg);
    return p;
}

static void uses_resource(void **state)
{
    (void)state;
    struct hg_policy *p = load_str(TABLE_POLICY);
    assert_int_equal(hg_policy_uses_resource(p, "tender:create"), 1);
    assert_int_equal(hg_policy_uses_resource(p, "offer:nested"), 1);
    assert_int_equal(hg_policy_uses_resource(p, "tender:read"), 0);
    assert_int_equal(hg_policy_uses_resource(p, "capacity:publish"), 0);
    assert_int_equal(hg_policy_uses_resource(p, "keys:rotate"), 0);
    assert_int_equal(hg_policy_uses_resource(p, NULL), 0);
    assert_int_equal(hg_policy_uses_resource(NULL, "tender:create"), 0);
    hg_policy_unref(p);
    /* a condition on a "noun:*" or "*" rule counts for every verb it covers */
    p = load_str("version: 1\nrules:\n"
                 "  - {id: a, effect: deny, verbs: [\"tender:*\"], when: [x == 1]}\n"
                 "  - {id: b, effect: allow, verbs: [\"*\"], when: [y == 1]}\n"
                 "  - {id: c, effect: allow, verbs: [audit:read]}\n");
    assert_int_equal(hg_policy_uses_resource(p, "tender:cancel"), 1);
    assert_int_equal(hg_policy_uses_resource(p, "audit:read"), 1);
    hg_policy_unref(p);
    p = load_str("version: 1\nrules:\n"
                 "  - {id: a, effect: deny, verbs: [\"tender:*\"], when: [x == 1]}\n"
                 "  - {id: c, effect: allow, verbs: [audit:read]}\n");
    assert_int_equal(hg_policy_uses_resource(p, "tender:cancel"), 1);
    assert_int_equal(hg_policy_uses_resource(p, "audit:read"), 0);
    assert_int_equal(hg_policy_uses_resource(p, "capacity:read"), 0);
    hg_policy_unref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uses_resource),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
