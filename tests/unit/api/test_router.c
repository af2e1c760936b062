/* SPDX-License-Identifier: Apache-2.0
 * test_router.c — path matching, 404/405 decisions, and a walk over the
 * route tables that fails if a row forgets what every route must declare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/api.h"
#include "api/router.h"

static void match_literal_and_params(void **state)
{
    (void)state;
    struct hg_route_params p;
    assert_true(hg_route_match("/v1/whoami", "/v1/whoami", &p));
    assert_int_equal(p.n, 0);
    assert_false(hg_route_match("/v1/whoami", "/v1/whoami/", &p));
    assert_false(hg_route_match("/v1/whoami", "/v1/whoam", &p));
    assert_false(hg_route_match("/v1/whoami", "/v1/whoamix", &p));
    assert_false(hg_route_match("/v1/whoami", "/v1", &p));
    assert_false(hg_route_match("/v1/whoami", "v1/whoami", &p));
    assert_true(hg_route_match("/v1/tenders/{id}/history", "/v1/tenders/abc-1/history", &p));
    assert_int_equal(p.n, 1);
    assert_string_equal(p.values[0], "abc-1");
    assert_memory_equal(p.names[0], "id}", 3);
    assert_false(hg_route_match("/v1/tenders/{id}", "/v1/tenders/", &p)); /* empty segment */
    assert_false(hg_route_match("/v1/tenders/{id}", "/v1/tenders", &p));
    assert_false(hg_route_match("/v1/tenders/{id}", "/v1/tenders/a/b", &p));
    assert_true(hg_route_match("/a/{x}/b/{y}", "/a/1/b/2", &p));
    assert_int_equal(p.n, 2);
    assert_string_equal(p.values[1], "2");
    char longseg[300] = "/v1/tenders/";
    memset(longseg + 12, 'x', 200);
    longseg[212] = '\0';
    assert_false(hg_route_match("/v1/tenders/{id}", longseg, &p)); /* bounded */
}

static void hello(struct hg_http_req *r, struct hg_api *a, const struct hg_route_params *p)
{
    (void)r; (void)a; (void)p;
}

static void find_404_405(void **state)
{
    (void)state;
    static const struct hg_route t[] = {
        {"GET", "/v1/things", "s:r", "thing:list", NULL, 0, hello},
        {"POST", "/v1/things", "s:w", "thing:create", NULL, 0, hello},
        {"GET", "/v1/things/{id}", "s:r", "thing:read", NULL, 0, hello},
    };
    struct hg_route_params p;
    int known;
    char allow[64];
    const struct hg_route *r = hg_route_find(t, 3, "POST", "/v1/things", &p, &known, allow, sizeof allow);
    assert_ptr_equal(r, &t[1]);
    r = hg_route_find(t, 3, "DELETE", "/v1/things", &p, &known, allow, sizeof allow);
    assert_null(r);
    assert_true(known);
    assert_string_equal(allow, "GET, POST");
    r = hg_route_find(t, 3, "GET", "/v1/other", &p, &known, allow, sizeof allow);
    assert_null(r);
    assert_false(known);
    r = hg_route_find(t, 3, "GET", "/v1/things/7", &p, &known, allow, sizeof allow);
    assert_ptr_equal(r, &t[2]);
    assert_string_equal(p.values[0], "7");
}

static void walk(const struct hg_route *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_non_null(t[i].method);
        assert_non_null(t[i].handler);
        assert_true(t[i].pattern[0] == '/');
        if (!(t[i].flags & (HG_ROUTE_PUBLIC | HG_ROUTE_CLIENT_ONLY))) {
            /* every route that needs a token names its policy verb (the
             * token endpoint needs a certificate, not a token or a verb) */
            assert_non_null(t[i].verb);
            assert_non_null(strchr(t[i].verb, ':'));
        }
        for (size_t j = 0; j < i; j++) /* no duplicate rows */
            assert_false(!strcmp(t[i].method, t[j].method) && !strcmp(t[i].pattern, t[j].pattern));
    }
}

static void tables_are_complete(void **state)
{
    (void)state;
    walk(hg_api_routes, hg_api_routes_count);
    walk(hg_admin_routes, hg_admin_routes_count);
    /* versioned API routes, plus OAuth's fixed locations (RFC 6749 leaves
     * the token path to us; RFC 8414 and JWKS discovery live under
     * /.well-known/) */
    for (size_t i = 0; i < hg_api_routes_count; i++) {
        const char *pt = hg_api_routes[i].pattern;
        assert_true(!strncmp(pt, "/v1/", 4) || !strcmp(pt, "/oauth2/token") ||
                    !strncmp(pt, "/.well-known/", 13));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(match_literal_and_params),
        cmocka_unit_test(find_404_405),
        cmocka_unit_test(tables_are_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
