/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_traceparent.c — libFuzzer target for obs/trace's parsers. Input: a
 * traceparent value, then (after the first '\n') tracestate field values
 * separated by further '\n's, so the combination of several tracestate
 * fields is fuzzed too. Each piece is copied into its own exact-size heap
 * buffer so ASan sees any read past a length. Beyond not crashing, the
 * target checks invariants: a parsed traceparent formats and re-parses to
 * the same ids; a normalised tracestate passes the strict check and fits
 * HG_TRACESTATE_MAX; a value the strict check accepts is never called
 * invalid by hg_trace_from_headers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "obs/trace.h"

#define MAX_FIELDS 64

static void check(int cond)
{
    if (!cond)
        abort();
}

static char *copy(const uint8_t *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    if (!c)
        abort();
    if (n)
        memcpy(c, p, n);
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hg_trace_header h[MAX_FIELDS + 2];
    char *owned[MAX_FIELDS + 2];
    size_t nh = 0;

    const uint8_t *nl = memchr(data, '\n', size);
    size_t tplen = nl ? (size_t)(nl - data) : size;
    owned[nh] = copy(data, tplen);
    h[nh] = (struct hg_trace_header){"TraceParent", 11, owned[nh], tplen};
    nh++;
    size_t off = nl ? tplen + 1 : size;
    while (nl && nh < MAX_FIELDS + 1) {
        nl = memchr(data + off, '\n', size - off);
        size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
        owned[nh] = copy(data + off, len);
        h[nh] = (struct hg_trace_header){"tracestate", 10, owned[nh], len};
        nh++;
        off += len + 1;
    }

    /* traceparent alone: round trip */
    struct hg_traceparent tp, back;
    if (hg_traceparent_parse(owned[0], tplen, &tp) == HG_OK) {
        char out[HG_TRACEPARENT_LEN + 1];
        hg_traceparent_format(&tp, out);
        check(strlen(out) == HG_TRACEPARENT_LEN);
        check(hg_traceparent_parse(out, HG_TRACEPARENT_LEN, &back) == HG_OK);
        check(strcmp(back.trace_id, tp.trace_id) == 0);
        check(strcmp(back.parent_id, tp.parent_id) == 0);
        check(back.flags == tp.flags);
    }
    (void)hg_correlation_id_valid(owned[0], tplen);

    /* each tracestate field alone, strictly */
    int strict_ok = nh == 2 && hg_tracestate_validate(owned[1], h[1].value_len) == HG_OK;
    for (size_t i = 2; i < nh; i++)
        (void)hg_tracestate_validate(owned[i], h[i].value_len);

    struct hg_trace_ctx ctx;
    hg_trace_from_headers(h, nh, &ctx);
    check(strlen(ctx.tracestate) == ctx.tracestate_len);
    if (ctx.tp_verdict != HG_TRACEPARENT_VALID)
        check(ctx.ts_verdict == HG_TRACESTATE_ABSENT && ctx.tp.trace_id[0] == '\0');
    if (ctx.ts_verdict == HG_TRACESTATE_VALID) {
        check(ctx.tracestate_len > 0 && ctx.tracestate_len <= HG_TRACESTATE_MAX);
        check(hg_tracestate_validate(ctx.tracestate, ctx.tracestate_len) == HG_OK);
    } else {
        check(ctx.tracestate_len == 0);
    }
    if (strict_ok && ctx.tp_verdict == HG_TRACEPARENT_VALID)
        check((ctx.ts_verdict == HG_TRACESTATE_VALID || ctx.ts_verdict == HG_TRACESTATE_ABSENT) &&
              !ctx.ts_truncated);

    for (size_t i = 0; i < nh; i++)
        free(owned[i]);
    return 0;
}
