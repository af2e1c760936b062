/* SPDX-License-Identifier: Apache-2.0
 * test_problem.c — problem documents: members, table, extension rules, and
 * validity against the RFC 9457 schema's constraints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "http/problem.h"

static void members(void **state)
{
    (void)state;
    json_t *o = hg_problem_json(HG_PROB_BODY_TOO_LARGE, "too big", "/v1/x", "cid-1", NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "type")),
                        "https://haulgate.dev/problems/body-too-large");
    assert_string_equal(json_string_value(json_object_get(o, "title")), "Request body too large");
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 413);
    assert_string_equal(json_string_value(json_object_get(o, "detail")), "too big");
    assert_string_equal(json_string_value(json_object_get(o, "instance")), "/v1/x");
    assert_string_equal(json_string_value(json_object_get(o, "correlation_id")), "cid-1");
    json_decref(o);
}

static void extensions_cannot_hide_standard_members(void **state)
{
    (void)state;
    json_t *ext = json_pack("{s:i, s:s}", "status", 200, "current_state", "offered");
    json_t *o = hg_problem_json(HG_PROB_NOT_FOUND, NULL, NULL, NULL, ext);
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 404);
    assert_string_equal(json_string_value(json_object_get(o, "current_state")), "offered");
    /* detail falls back to the title */
    assert_string_equal(json_string_value(json_object_get(o, "detail")), "No such resource");
    assert_null(json_object_get(o, "instance"));
    json_decref(o);
}

static void invalid_utf8_detail_is_replaced(void **state)
{
    (void)state;
    json_t *o = hg_problem_json(HG_PROB_BAD_REQUEST, "bad \xff byte", "/\xfe", "c", NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "detail")), "(detail not valid UTF-8)");
    assert_null(json_object_get(o, "instance"));
    json_decref(o);
}

static void table_is_sane(void **state)
{
    (void)state;
    for (int p = 0; p < HG_PROB__COUNT; p++) {
        int st = hg_problem_status((enum hg_problem)p);
        assert_true(st >= 400 && st <= 599); /* schema: 100..599; errors only */
        const char *slug = hg_problem_slug((enum hg_problem)p);
        for (const char *c = slug; *c; c++)
            assert_true((*c >= 'a' && *c <= 'z') || *c == '-');
        for (int q = 0; q < p; q++)
            assert_string_not_equal(slug, hg_problem_slug((enum hg_problem)q));
    }
    assert_int_equal(hg_problem_status((enum hg_problem)999), 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(members),
        cmocka_unit_test(extensions_cannot_hide_standard_members),
        cmocka_unit_test(invalid_utf8_detail_is_replaced),
        cmocka_unit_test(table_is_sane),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
