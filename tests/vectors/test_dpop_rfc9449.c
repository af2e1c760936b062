/* SPDX-License-Identifier: Apache-2.0
 *
 * test_dpop_rfc9449.c — auth/dpop against the examples of RFC 9449, with
 * the clock injected at the examples' iat: the proof of §4.1 (Figure 2,
 * repeated in the token request of Figure 5) verifies for POST
 * https://server.example.com/token and its key's RFC 7638 thumbprint is the
 * jkt of Figures 8 and 11; the §7.1 access token hashes to the ath of
 * Figure 14, and the proof of Figure 13 verifies with that token for GET
 * https://resource.example.org/protectedresource. The same proofs fail
 * outside the iat window, for another method or URL, with another token or
 * key binding, and the second time (replay). The proofs are public RFC
 * text, embedded here with the RFC's RFC 8792 line wrapping undone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dpop.h"

/* RFC 9449 Figure 5 (the Figure 2 proof), one line per line of the RFC */
static const char PROOF_41[] =
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik"
    "VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR"
    "nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE"
    "QSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIj"
    "oiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwia"
    "WF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg"
    "4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
#define IAT_41 1562262616
#define URL_41 "https://server.example.com/token"

/* RFC 9449 Figure 13 */
static const char PROOF_71[] =
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik"
    "VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR"
    "nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE"
    "QSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIj"
    "oiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0Z"
    "WRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNF"
    "c05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71E"
    "OptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA";
#define IAT_71 1562262618
#define URL_71 "https://resource.example.org/protectedresource"
static const char TOKEN_71[] = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
#define ATH_71 "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
#define JKT "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"

static struct hg_dpop *verifier(void)
{
    struct hg_dpop_opts o = {
        .iat_window_s = 60, .jti_cache_max = 1000, .require_nonce = 0, .nonce_step_s = 300};
    struct hg_dpop *d = NULL;
    assert_int_equal(hg_dpop_new(&o, &d, NULL), HG_OK);
    return d;
}

static hg_status run(struct hg_dpop *d, const char *proof, const struct hg_dpop_expect *e,
                     struct hg_dpop_result *res, const char *msgpart)
{
    struct hg_err err;
    hg_err_clear(&err);
    hg_status st = hg_dpop_verify(d, proof, strlen(proof), e, res, &err);
    if (msgpart && !strstr(err.msg, msgpart))
        fail_msg("message '%s' lacks '%s'", err.msg, msgpart);
    return st;
}

static void test_proof_41(void **state)
{
    (void)state;
    struct hg_dpop *d = verifier();
    struct hg_dpop_result res;
    struct hg_dpop_expect e = {.method = "POST", .url = URL_41, .now = IAT_41};

    /* failures first (they record nothing) */
    struct hg_dpop_expect late = e, early = e, get = e, other = e, bound = e;
    late.now = IAT_41 + 61;
    early.now = IAT_41 - 61;
    get.method = "GET";
    other.url = "https://server.example.com/token2";
    bound.jkt = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_int_equal(run(d, PROOF_41, &late, &res, "iat"), HG_EVERIFY);
    assert_int_equal(run(d, PROOF_41, &early, &res, "iat"), HG_EVERIFY);
    assert_int_equal(run(d, PROOF_41, &get, &res, "htm"), HG_EVERIFY);
    assert_int_equal(run(d, PROOF_41, &other, &res, "htu"), HG_EVERIFY);
    assert_int_equal(run(d, PROOF_41, &bound, &res, "bound"), HG_EVERIFY);
    assert_int_equal(hg_dpop_jti_count(d), 0);

    /* the example, at its iat, through an equivalent spelling of the URL */
    e.url = "HTTPS://Server.Example.COM:443/token?x=1";
    e.jkt = JKT;
    assert_int_equal(run(d, PROOF_41, &e, &res, NULL), HG_OK);
    assert_string_equal(res.jkt, JKT);
    assert_int_equal(res.iat, IAT_41);
    assert_int_equal(hg_dpop_jti_count(d), 1);
    /* replay */
    assert_int_equal(run(d, PROOF_41, &e, &res, "replayed"), HG_EVERIFY);
    /* a single changed character of the signature */
    hg_dpop_free(d);
    d = verifier();
    char bad[sizeof PROOF_41];
    memcpy(bad, PROOF_41, sizeof bad);
    bad[sizeof bad - 3] = bad[sizeof bad - 3] == 'L' ? 'M' : 'L';
    assert_int_equal(run(d, bad, &e, &res, "signature"), HG_EVERIFY);
    /* the edges of the window */
    e.now = IAT_41 + 60;
    assert_int_equal(run(d, PROOF_41, &e, &res, NULL), HG_OK);
    hg_dpop_free(d);
    d = verifier();
    e.now = IAT_41 - 60;
    assert_int_equal(run(d, PROOF_41, &e, &res, NULL), HG_OK);
    hg_dpop_free(d);
}

static void test_ath_71(void **state)
{
    (void)state;
    char ath[HG_JWK_THUMB_LEN + 1];
    hg_dpop_ath(TOKEN_71, strlen(TOKEN_71), ath);
    assert_string_equal(ath, ATH_71);
}

static void test_proof_71(void **state)
{
    (void)state;
    struct hg_dpop *d = verifier();
    struct hg_dpop_result res;
    struct hg_dpop_expect e = {.method = "GET",
                               .url = URL_71,
                               .access_token = TOKEN_71,
                               .access_token_len = strlen(TOKEN_71),
                               .jkt = JKT,
                               .now = IAT_71};
    struct hg_dpop_expect late = e, post = e, other = e, tok = e;
    late.now = IAT_71 + 61;
    post.method = "POST";
    other.url = "https://resource.example.org/protectedresource/x";
    tok.access_token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxV";
    assert_int_equal(run(d, PROOF_71, &late, &res, "iat"), HG_EVERIFY);
    assert_int_equal(run(d, PROOF_71, &post, &res, "htm"), HG_EVERIFY);
    assert_int_equal(run(d, PROOF_71, &other, &res, "htu"), HG_EVERIFY);
    assert_int_equal(run(d, PROOF_71, &tok, &res, "ath"), HG_EVERIFY);
    /* the §4.1 proof has no ath: refused when a token is presented */
    struct hg_dpop_expect with_tok = {.method = "POST",
                                      .url = URL_41,
                                      .access_token = TOKEN_71,
                                      .access_token_len = strlen(TOKEN_71),
                                      .now = IAT_41};
    assert_int_equal(run(d, PROOF_41, &with_tok, &res, "ath"), HG_EVERIFY);

    assert_int_equal(run(d, PROOF_71, &e, &res, NULL), HG_OK);
    assert_string_equal(res.jkt, JKT);
    assert_int_equal(res.iat, IAT_71);
    assert_int_equal(run(d, PROOF_71, &e, &res, "replayed"), HG_EVERIFY);
    /* still a replay later in the window */
    e.now = IAT_71 + 59;
    assert_int_equal(run(d, PROOF_71, &e, &res, "replayed"), HG_EVERIFY);
    hg_dpop_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proof_41),
        cmocka_unit_test(test_ath_71),
        cmocka_unit_test(test_proof_71),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
