/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_api_fields.c — the tender API's field parsers (api/fields.c) over
 * the same bytes, copied into an exact-size buffer so any read past the
 * length is caught: Prefer wait, entity-tag lists, RFC 3339 times and the
 * JSON media type. Invariants: no crash; a wait is 0..999999999 s; a tag
 * list holds at most API_ETAGS_MAX tags and "*" holds none; a time that
 * parses formats back (hg_rfc3339) to text that parses to the same instant.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    int64_t secs = -1;
    if (api__prefer_wait(p, size, &secs) && (secs < 0 || secs > 999999999))
        abort();
    struct api_etags e;
    if (api__etags_parse(p, size, &e) == HG_OK) {
        if (e.n > API_ETAGS_MAX || (e.any && e.n) || (!e.any && !e.n))
            abort();
        for (size_t i = 0; i < e.n; i++)
            if (api__etags_match_strong(&e, e.tag[i].version) && e.tag[i].weak &&
                e.tag[i].version >= 0) {
                /* a weak tag may only match strongly through another tag */
                int other = 0;
                for (size_t k = 0; k < e.n; k++)
                    other |= !e.tag[k].weak && e.tag[k].version == e.tag[i].version;
                if (!other)
                    abort();
            }
    }
    int64_t ms;
    if (hg_rfc3339_parse(p, size, &ms) == HG_OK && ms >= 0 && ms < INT64_C(253402300800000)) {
        char back[HG_RFC3339_LEN + 1];
        hg_rfc3339(ms, back);
        int64_t ms2 = -1;
        if (hg_rfc3339_parse(back, strlen(back), &ms2) != HG_OK || ms2 != ms)
            abort();
    }
    (void)api__ctype_is_json(p, size);
    free(p);
    return 0;
}
