/* SPDX-License-Identifier: Apache-2.0
 * test_tracecontext.c — the W3C Trace Context test suite's verdicts
 * ($HG_VECTORS/tracecontext/test_data.json, default ../shared/vectors from
 * the repository root) through hg_trace_from_headers: each record's header
 * list (names in any case, repeated fields) must give its
 * is_traceparent_valid, and is_tracestate_valid when present (absent means
 * the tracestate must be ignored). A valid tracestate's normalised form must
 * also pass the strict hg_tracestate_validate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/trace.h"

#define MAX_HEADERS 16

static json_t *load_vectors(void)
{
    const char *dir = getenv("HG_VECTORS");
    if (!dir || !*dir)
        dir = "../shared/vectors";
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/tracecontext/test_data.json", dir);
    assert_true(n > 0 && (size_t)n < sizeof path);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root)
        fail_msg("cannot read %s: %s (line %d); set HG_VECTORS to the shared/vectors folder",
                 path, err.text, err.line);
    if (!json_is_array(root))
        fail_msg("%s: expected a JSON array of records", path);
    return root;
}

static void record_text(const json_t *rec, char *buf, size_t cap)
{
    char *s = json_dumps(rec, JSON_COMPACT);
    snprintf(buf, cap, "%s", s ? s : "?");
    free(s);
}

static void tracecontext_vectors(void **state)
{
    (void)state;
    json_t *root = load_vectors();
    size_t idx, total = 0, passed = 0, tp_valid = 0, ts_checked = 0;
    json_t *rec;
    json_array_foreach(root, idx, rec) {
        json_t *hs = json_object_get(rec, "headers");
        json_t *want_tp = json_object_get(rec, "is_traceparent_valid");
        json_t *want_ts = json_object_get(rec, "is_tracestate_valid");
        assert_true(json_is_array(hs) && json_is_boolean(want_tp));
        assert_true(json_array_size(hs) <= MAX_HEADERS);
        struct hg_trace_header h[MAX_HEADERS];
        size_t n = 0, j;
        json_t *pair;
        json_array_foreach(hs, j, pair) {
            json_t *name = json_array_get(pair, 0), *value = json_array_get(pair, 1);
            assert_true(json_is_string(name) && json_is_string(value));
            h[n++] = (struct hg_trace_header){json_string_value(name), json_string_length(name),
                                              json_string_value(value), json_string_length(value)};
        }
        struct hg_trace_ctx ctx;
        hg_trace_from_headers(h, n, &ctx);
        total++;

        bool ok = (ctx.tp_verdict == HG_TRACEPARENT_VALID) == json_is_true(want_tp);
        if (want_ts) {
            ts_checked++;
            ok = ok && (ctx.ts_verdict == HG_TRACESTATE_VALID) == json_is_true(want_ts);
        } else {
            ok = ok && ctx.ts_verdict == HG_TRACESTATE_ABSENT;
        }
        if (ctx.ts_verdict == HG_TRACESTATE_VALID)
            ok = ok && hg_tracestate_validate(ctx.tracestate, ctx.tracestate_len) == HG_OK &&
                 strlen(ctx.tracestate) == ctx.tracestate_len;
        if (ctx.tp_verdict == HG_TRACEPARENT_VALID) {
            tp_valid++;
            /* what we would forward parses back to the same ids */
            char out[HG_TRACEPARENT_LEN + 1];
            struct hg_traceparent back;
            hg_traceparent_format(&ctx.tp, out);
            ok = ok && hg_traceparent_parse(out, strlen(out), &back) == HG_OK &&
                 strcmp(back.trace_id, ctx.tp.trace_id) == 0 &&
                 strcmp(back.parent_id, ctx.tp.parent_id) == 0 && back.flags == ctx.tp.flags;
        }
        if (ok) {
            passed++;
        } else {
            char text[1024];
            record_text(rec, text, sizeof text);
            print_message("# vector %zu failed: tp_verdict=%d ts_verdict=%d ts=\"%s\" record=%s\n",
                          idx, (int)ctx.tp_verdict, (int)ctx.ts_verdict, ctx.tracestate, text);
        }
    }
    json_decref(root);
    print_message("# tracecontext: %zu of %zu vectors passed (%zu valid traceparents, %zu tracestate verdicts)\n",
                  passed, total, tp_valid, ts_checked);
    assert_true(total >= 80); /* the file has 83 records; fewer means a wrong file */
    assert_true(tp_valid > 0 && tp_valid < total && ts_checked > 0);
    assert_int_equal(passed, total);
}

/* The 33-member record is "valid" in the suite; check what we forward. */
static void tracestate_truncation(void **state)
{
    (void)state;
    char a[512];
    size_t n = 0;
    for (int i = 1; i <= 33; i++)
        n += (size_t)snprintf(a + n, sizeof a - n, "%sbar%02d=%02d", i > 1 ? "," : "", i, i);
    struct hg_trace_header h[] = {
        {"traceparent", 11, "00-12345678901234567890123456789012-1234567890123456-00", 55},
        {"tracestate", 10, a, n},
    };
    struct hg_trace_ctx ctx;
    hg_trace_from_headers(h, 2, &ctx);
    assert_int_equal(ctx.ts_verdict, HG_TRACESTATE_VALID);
    assert_int_equal(ctx.ts_truncated, 1);
    assert_non_null(strstr(ctx.tracestate, "bar32=32"));
    assert_null(strstr(ctx.tracestate, "bar33"));
    assert_int_equal(hg_tracestate_validate(a, n), HG_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tracecontext_vectors),
        cmocka_unit_test(tracestate_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
