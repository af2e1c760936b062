/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_dpop.c — libFuzzer target for auth/dpop. Each input, from an
 * exact-size heap copy, is normalised as an htu and verified as a DPoP
 * proof by two long-lived verifiers with fixed expectations: the RFC 9449
 * §4.1 token request (POST https://server.example.com/token at its iat)
 * and a nonce-requiring one for the §7.1 resource request (with its access
 * token), both with a fixed nonce secret so a seed can carry a valid nonce
 * and reach every check. Invariants beyond not crashing: normalisation is
 * idempotent, bounded and yields an http(s) URL; a verify answers only with
 * the documented statuses, and HG_OK carries a 43-character jkt.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dpop.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static struct hg_dpop *make(int nonce)
{
    static const uint8_t secret[32] = "haulgate-fuzz-dpop-nonce-secret";
    struct hg_dpop_opts o = {.iat_window_s = 60,
                             .jti_cache_max = 64,
                             .require_nonce = nonce,
                             .nonce_step_s = 300,
                             .nonce_secret = secret};
    struct hg_dpop *d = NULL;
    if (hg_dpop_new(&o, &d, NULL) != HG_OK)
        abort();
    return d;
}

static void verify(struct hg_dpop *d, const char *s, size_t n, const struct hg_dpop_expect *e)
{
    struct hg_dpop_result res;
    struct hg_err err;
    hg_status st = hg_dpop_verify(d, s, n, e, &res, &err);
    check(st == HG_OK || st == HG_EVERIFY || st == HG_ESTATE || st == HG_EBUSY ||
          st == HG_ETOOBIG);
    if (st == HG_OK)
        check(strlen(res.jkt) == HG_JWK_THUMB_LEN);
    else
        check(err.msg[0] != '\0' && res.jkt[0] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct hg_dpop *plain, *nonced;
    if (!plain) {
        plain = make(0);
        nonced = make(1);
    }
    char *s = malloc(size ? size : 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);

    char a[HG_DPOP_HTU_MAX + 1], b[HG_DPOP_HTU_MAX + 1];
    if (hg_dpop_htu_normalize(s, size, a, sizeof a) == HG_OK) {
        size_t n = strlen(a);
        check(n <= HG_DPOP_HTU_MAX);
        check(strncmp(a, "http://", 7) == 0 || strncmp(a, "https://", 8) == 0);
        check(hg_dpop_htu_normalize(a, n, b, sizeof b) == HG_OK && strcmp(a, b) == 0);
    } else {
        check(a[0] == '\0');
    }

    struct hg_dpop_expect e41 = {
        .method = "POST", .url = "https://server.example.com/token", .now = 1562262616};
    verify(plain, s, size, &e41);
    static const char token[] = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
    struct hg_dpop_expect e71 = {.method = "GET",
                                 .url = "https://resource.example.org/protectedresource",
                                 .access_token = token,
                                 .access_token_len = sizeof token - 1,
                                 .now = 1562262618};
    verify(nonced, s, size, &e71);
    free(s);
    return 0;
}
