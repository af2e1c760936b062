/* SPDX-License-Identifier: Apache-2.0
 * test_routes.c — a walk over the API route table for what issue 3 adds:
 * every non-public route names a scope and a verb; every POST and DELETE
 * route is in the idempotency table (and every row of that table is a
 * route); every route with an audit event names a type the audit log
 * knows; transitions and cancel are critical; the role check covers every
 * tender and capacity scope. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "api/api_int.h"
#include "audit/audit_record.h"

static const struct hg_route *find(const char *method, const char *pattern)
{
    for (size_t i = 0; i < hg_api_routes_count; i++)
        if (!strcmp(hg_api_routes[i].method, method) &&
            !strcmp(hg_api_routes[i].pattern, pattern))
            return &hg_api_routes[i];
    return NULL;
}

static void every_route_declares(void **state)
{
    (void)state;
    for (size_t i = 0; i < hg_api_routes_count; i++) {
        const struct hg_route *rt = &hg_api_routes[i];
        assert_non_null(rt->handler);
        if (rt->flags & HG_ROUTE_PUBLIC)
            continue;
        if (!strcmp(rt->pattern, "/v1/whoami"))
            continue; /* any authenticated principal may ask who it is */
        if (!rt->scope || !rt->verb)
            fail_msg("%s %s has no scope or verb", rt->method, rt->pattern);
        if (rt->audit_event && !hg_audit_event_type_find(rt->audit_event))
            fail_msg("%s %s: audit event '%s' is not a known type", rt->method, rt->pattern,
                     rt->audit_event);
    }
}

static void writes_are_idempotent(void **state)
{
    (void)state;
    size_t writes = 0;
    for (size_t i = 0; i < hg_api_routes_count; i++) {
        const struct hg_route *rt = &hg_api_routes[i];
        if (strcmp(rt->method, "POST") && strcmp(rt->method, "DELETE") &&
            strcmp(rt->method, "PUT") && strcmp(rt->method, "PATCH"))
            continue;
        writes++;
        if (!api__idem_route(rt->method, rt->pattern))
            fail_msg("%s %s is not in the idempotency table", rt->method, rt->pattern);
        if (!rt->audit_event)
            fail_msg("%s %s changes state but writes no audit event", rt->method, rt->pattern);
    }
    assert_int_equal(writes, api__idem_routes_count);
    for (size_t i = 0; i < api__idem_routes_count; i++)
        assert_non_null(find(api__idem_routes[i].method, api__idem_routes[i].pattern));
    /* the creating POSTs require a key; the others accept one */
    assert_true(api__idem_route("POST", API_P_TENDERS)->required);
    assert_true(api__idem_route("POST", API_P_OFFERS)->required);
    assert_false(api__idem_route("POST", API_P_TRANSITIONS)->required);
    assert_false(api__idem_route("POST", API_P_CANCEL)->required);
    assert_false(api__idem_route("DELETE", API_P_OFFER)->required);
    assert_null(api__idem_route("GET", API_P_TENDERS));
}

static void critical_routes(void **state)
{
    (void)state;
    assert_true(find("POST", API_P_TRANSITIONS)->flags & HG_ROUTE_CRITICAL);
    assert_true(find("POST", API_P_CANCEL)->flags & HG_ROUTE_CRITICAL);
    assert_false(find("POST", API_P_TENDERS)->flags & HG_ROUTE_CRITICAL);
    assert_false(find("GET", API_P_TENDER)->flags & HG_ROUTE_CRITICAL);
    const char *scoped[] = {"tender:read", "tender:write", "capacity:read", "capacity:write"};
    for (size_t i = 0; i < hg_api_routes_count; i++) {
        const char *s = hg_api_routes[i].scope;
        if (!s || !strcmp(s, "audit:read"))
            continue;
        int known = 0;
        for (size_t k = 0; k < sizeof scoped / sizeof scoped[0]; k++)
            known |= !strcmp(s, scoped[k]);
        if (!known)
            fail_msg("scope '%s' has no roles in dispatch.c", s);
    }
}

static void tenancy(void **state)
{
    (void)state;
    char *op_roles[] = {"operator"}, *tms_roles[] = {"tms"};
    struct hg_config_client oper = {.name = "op", .roles = op_roles, .nroles = 1};
    struct hg_config_client tms = {.name = "tms", .roles = tms_roles, .nroles = 1,
                                   .tenant = "acme"};
    struct hg_config_client loose = {.name = "x", .roles = tms_roles, .nroles = 1};
    char t[65];
    assert_int_equal(api__tenant(&oper, t), HG_OK);
    assert_string_equal(t, "");
    assert_true(api__tenant_visible(&oper, t, "acme")); /* operator without a tenant: all */
    assert_null(api__tenant_filter(&oper, t));
    assert_int_equal(api__tenant(&tms, t), HG_OK);
    assert_string_equal(t, "acme");
    assert_true(api__tenant_visible(&tms, t, "acme"));
    assert_false(api__tenant_visible(&tms, t, "globex"));
    assert_false(api__tenant_visible(&tms, t, ""));
    assert_string_equal(api__tenant_filter(&tms, t), "acme");
    assert_int_equal(api__tenant(&loose, t), HG_OK);
    assert_false(api__tenant_visible(&loose, t, "acme")); /* not an operator: own ("") only */
    assert_true(api__tenant_visible(&loose, t, ""));
    assert_string_equal(api__tenant_filter(&loose, t), "");
    char longt[80];
    memset(longt, 'a', sizeof longt - 1);
    longt[sizeof longt - 1] = '\0';
    struct hg_config_client big = {.name = "b", .tenant = longt};
    assert_int_equal(api__tenant(&big, t), HG_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_route_declares),
        cmocka_unit_test(writes_are_idempotent),
        cmocka_unit_test(critical_routes),
        cmocka_unit_test(tenancy),
    };
    return cmocka_run_group_tests_name("api/routes", tests, NULL, NULL);
}
