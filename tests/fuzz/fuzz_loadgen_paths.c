/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_loadgen_paths.c — libFuzzer target for the --paths-file line parser
 * of bench/loadgen.c (paths_next, included with HG_LOADGEN_PARSER_ONLY).
 * Input: the file's bytes. Every path it returns must lie inside the input,
 * start with '/', be at most LG_PATH_MAX bytes of visible ASCII; every call
 * must consume input (or end), and every refusal must say why.
 */
#define HG_LOADGEN_PARSER_ONLY 1
#include "../../bench/loadgen.c"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The response framer is fuzz_loadgen_resp's; referenced so the include compiles. */
    (void)rp_header;
    (void)rp_feed;
    (void)rp_eof;
    const char *d = (const char *)data;
    size_t pos = 0, line = 0;
    for (;;) {
        const char *path = NULL, *why = NULL;
        size_t plen = 0, before = pos, before_line = line;
        int got = paths_next(d, size, &pos, &line, &path, &plen, &why);
        if (pos > size || pos < before)
            abort();
        if (got == 0) {
            if (pos != size)
                abort();
            return 0;
        }
        if (pos == before || line == before_line)
            abort(); /* no progress: the caller would loop forever */
        if (got < 0) {
            if (why == NULL)
                abort();
            return 0;
        }
        if (got != 1 || path < d || path + plen > d + size || plen == 0 || plen > LG_PATH_MAX ||
            path[0] != '/')
            abort();
        for (size_t k = 0; k < plen; k++)
            if ((unsigned char)path[k] <= 0x20 || (unsigned char)path[k] >= 0x7f)
                abort();
    }
}
