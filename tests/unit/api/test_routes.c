/* SPDX-License-Identifier: Apache-2.0
 * test_routes.c — a walk over the API route table: every route that needs
 * a token names a known scope (or says ANY_SCOPE) and a policy verb; every
 * POST and DELETE route but the token endpoint is in the idempotency table
 * (and every row of that table is a route); every route with an audit
 * event names a type the audit log knows; transitions, cancel and key
 * rotation are critical; tenancy works on principals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "api/api_int.h"
#include "auth/scope.h"
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
        if (rt->flags & HG_ROUTE_CLIENT_ONLY) {
            /* the token endpoint: no token exists yet to carry a scope */
            assert_string_equal(rt->pattern, "/oauth2/token");
            continue;
        }
        if (!rt->verb)
            fail_msg("%s %s has no policy verb", rt->method, rt->pattern);
        if (!rt->scope && !(rt->flags & HG_ROUTE_ANY_SCOPE))
            fail_msg("%s %s has no scope (and is not marked ANY_SCOPE)", rt->method,
                     rt->pattern);
        if (rt->scope && !hg_scope_bit(rt->scope, strlen(rt->scope)))
            fail_msg("%s %s: scope '%s' is not in auth/scope.h", rt->method, rt->pattern,
                     rt->scope);
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
        if (rt->flags & HG_ROUTE_CLIENT_ONLY)
            continue; /* RFC 6749 token requests are not resources; each one is a new token */
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
    assert_false(api__idem_route("POST", API_P_KEYS_ROTATE)->required);
    assert_null(api__idem_route("GET", API_P_TENDERS));
}

static void critical_routes(void **state)
{
    (void)state;
    assert_true(find("POST", API_P_TRANSITIONS)->flags & HG_ROUTE_CRITICAL);
    assert_true(find("POST", API_P_CANCEL)->flags & HG_ROUTE_CRITICAL);
    assert_false(find("POST", API_P_TENDERS)->flags & HG_ROUTE_CRITICAL);
    assert_false(find("GET", API_P_TENDER)->flags & HG_ROUTE_CRITICAL);
    assert_true(find("POST", API_P_KEYS_ROTATE)->flags & HG_ROUTE_CRITICAL);
    /* critical routes need a scope: a DPoP-bound token is not enough alone */
    for (size_t i = 0; i < hg_api_routes_count; i++)
        if (hg_api_routes[i].flags & HG_ROUTE_CRITICAL)
            assert_non_null(hg_api_routes[i].scope);
}

static struct hg_principal principal(const char *name, const char *role, const char *tenant)
{
    struct hg_principal p;
    memset(&p, 0, sizeof p);
    p.name = name;
    p.roles[0] = role;
    p.nroles = 1;
    p.tenant = tenant ? tenant : "";
    return p;
}

static void tenancy(void **state)
{
    (void)state;
    struct hg_principal oper = principal("op", "operator", NULL);
    struct hg_principal tms = principal("tms", "tms", "acme");
    struct hg_principal loose = principal("x", "tms", NULL);
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
    struct hg_principal big = principal("b", "tms", longt);
    assert_int_equal(api__tenant(&big, t), HG_ETOOBIG);
}

/* The form reader of the token endpoint. */
static void form(void **state)
{
    (void)state;
    char v[64];
    const char *f = "grant_type=client_credentials&scope=tender%3Aread+tender%3Awrite&x=";
    assert_int_equal(api__form_get(f, strlen(f), "grant_type", v, sizeof v), 1);
    assert_string_equal(v, "client_credentials");
    assert_int_equal(api__form_get(f, strlen(f), "scope", v, sizeof v), 1);
    assert_string_equal(v, "tender:read tender:write");
    assert_int_equal(api__form_get(f, strlen(f), "x", v, sizeof v), 1);
    assert_string_equal(v, "");
    assert_int_equal(api__form_get(f, strlen(f), "client_id", v, sizeof v), 0);
    /* RFC 6749 3.2: a repeated parameter is an error */
    const char *rep = "scope=a&grant_type=x&scope=b";
    assert_int_equal(api__form_get(rep, strlen(rep), "scope", v, sizeof v), -1);
    /* bad escapes, an escaped NUL, a value longer than the buffer */
    const char *bad[] = {"scope=%4", "scope=%zz", "scope=%00", "scope=%"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(api__form_get(bad[i], strlen(bad[i]), "scope", v, sizeof v), -1);
    char longv[200] = "scope=";
    memset(longv + 6, 'a', 150);
    assert_int_equal(api__form_get(longv, strlen(longv), "scope", v, sizeof v), -1);
    /* the length bounds the read: a name past n is not seen */
    assert_int_equal(api__form_get(f, 10, "scope", v, sizeof v), 0);
    /* an escaped name matches its decoded form */
    const char *esc = "gr%61nt_type=client_credentials";
    assert_int_equal(api__form_get(esc, strlen(esc), "grant_type", v, sizeof v), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_route_declares),
        cmocka_unit_test(writes_are_idempotent),
        cmocka_unit_test(critical_routes),
        cmocka_unit_test(tenancy),
        cmocka_unit_test(form),
    };
    return cmocka_run_group_tests_name("api/routes", tests, NULL, NULL);
}
