/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_api_params.c — the strict query-string parser and Accept
 * negotiation (api/params.h) over the same bytes, copied into an exact-size
 * buffer so any read past the length is caught. Invariants: no crash; on
 * success every value is at most HG_QUERY_VALUE_MAX bytes without control
 * characters and every name is one the route takes, at most once; what an
 * error quotes back (q.bad) is printable ASCII; hg_accept_pick returns -1
 * or an offer's index.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_printable(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const allowed[] = {"from", "to", "index", "treeSize", NULL};
    static const char *const offers[] = {"text/plain", "application/json", "text/event-stream"};
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    struct hg_query q;
    struct hg_err err;
    hg_status st = hg_query_parse(p, size, allowed, &q, &err);
    check_printable(q.bad, sizeof q.bad);
    if (st == HG_OK) {
        if (q.n > 4)
            abort();
        for (size_t i = 0; i < q.n; i++) {
            size_t k = 0;
            while (allowed[k] && allowed[k] != q.p[i].name)
                k++;
            if (!allowed[k])
                abort();
            for (size_t j = 0; j < i; j++)
                if (q.p[j].name == q.p[i].name)
                    abort();
            size_t vl = strnlen(q.p[i].value, sizeof q.p[i].value);
            if (vl > HG_QUERY_VALUE_MAX)
                abort();
            for (size_t c = 0; c < vl; c++)
                if ((unsigned char)q.p[i].value[c] < 0x20 || q.p[i].value[c] == 0x7f)
                    abort();
        }
        for (size_t k = 0; allowed[k]; k++) {
            uint64_t v;
            if (hg_query_u64(&q, allowed[k], &v, &err) == HG_OK && v > INT64_MAX)
                abort();
            check_printable(q.bad, sizeof q.bad);
        }
    }
    int pick = hg_accept_pick(p, size, offers, 3);
    if (pick < -1 || pick >= 3)
        abort();
    free(p);
    return 0;
}
