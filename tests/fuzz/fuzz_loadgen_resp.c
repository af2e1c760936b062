/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_loadgen_resp.c — libFuzzer target for the HTTP/1.1 response framer
 * of bench/loadgen.c (included with HG_LOADGEN_PARSER_ONLY, so only the
 * parser is compiled). Input: one flags byte (bit 0: the request was HEAD;
 * bits 1..6: feed size 1..64, so responses split at every boundary), then a
 * byte stream of responses. Bytes left after a complete response are parsed
 * as the next one. It must never read out of bounds, take more bytes than it
 * was given, or report a complete response without a final status. After
 * each complete response it looks up Location the way --save-location does
 * (rp_header, then paths_next over the value): the value must lie inside the
 * parsed head.
 */
#define HG_LOADGEN_PARSER_ONLY 1
#include "../../bench/loadgen.c"

#include <stdlib.h>

static struct rp parser;

/* What loadgen's save_location does with a complete response. */
static void check_location(const struct rp *p)
{
    size_t vl = 0;
    const char *v = rp_header(p, "location", &vl);
    if (!v)
        return;
    if (v < p->head || v + vl > p->head + p->head_len)
        abort();
    const char *path = NULL, *why = NULL;
    size_t pos = 0, line = 0, pl = 0;
    int got = paths_next(v, vl, &pos, &line, &path, &pl, &why);
    if (got == 1 && (path < v || path + pl > v + vl || pl == 0 || path[0] != '/'))
        abort();
    if (got < 0 && why == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int head_only = data[0] & 1;
    size_t step = (size_t)((data[0] >> 1) & 63) + 1;
    const char *d = (const char *)data + 1;
    size_t n = size - 1;
    size_t i = 0;
    rp_reset(&parser, head_only);
    while (i < n) {
        size_t len = n - i < step ? n - i : step;
        size_t used = 0;
        enum rp_result r = rp_feed(&parser, d + i, len, &used);
        if (used > len)
            abort();
        if (r == RP_ERROR) {
            if (parser.why == NULL)
                abort();
            return 0;
        }
        if (r == RP_MORE && used != len)
            abort();
        if (r == RP_COMPLETE) {
            if (parser.status < 200 || parser.status > 999)
                abort();
            check_location(&parser);
            rp_reset(&parser, head_only);
        }
        /* A fresh parser always takes bytes before it can complete; a
         * complete response that took none would loop forever. */
        if (r == RP_COMPLETE && used == 0)
            abort();
        i += used;
    }
    enum rp_result e = rp_eof(&parser);
    if (e == RP_ERROR && parser.why == NULL)
        abort();
    return 0;
}
