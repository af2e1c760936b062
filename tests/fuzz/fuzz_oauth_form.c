/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_oauth_form.c — the token endpoint's form reader (api/oauth.c) and
 * the scope-list parser (auth/scope.c) over the same bytes, copied into an
 * exact-size buffer so a read past the length is caught. Invariants: no
 * crash; a found value is NUL-terminated within its buffer and holds no
 * NUL; a parsed scope mask has only known bits and formats back to a list
 * that parses to the same mask.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "auth/scope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    static const char *const names[] = {"grant_type", "scope", "client_id", "client_secret"};
    char v[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        memset(v, 'x', sizeof v);
        int rc = api__form_get(p, size, names[i], v, sizeof v);
        if (rc == 1 && !memchr(v, '\0', sizeof v))
            abort();
        if (rc < -1 || rc > 1)
            abort();
    }
    uint32_t mask = 0;
    char bad[32];
    if (hg_scope_parse(p, size, &mask, bad, sizeof bad) == HG_OK) {
        if (mask & ~HG_SCOPE_ALL)
            abort();
        char list[HG_SCOPE_LIST_MAX + 1];
        size_t n = hg_scope_format(mask, list, sizeof list);
        uint32_t again = 0;
        if (n == (size_t)-1 || hg_scope_parse(list, n, &again, NULL, 0) != HG_OK ||
            again != mask)
            abort();
    }
    free(p);
    return 0;
}
