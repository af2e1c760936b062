/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_jose.c — libFuzzer target for auth/jose's parsers. Each input is fed,
 * from an exact-size heap copy (so ASan sees any read past the length), to
 * hg_jws_parse, to hg_jwks_parse, and — when it is a JSON object — to
 * hg_jwk_import (as is, and its "jwk" member, the DPoP header shape).
 * Invariants beyond not crashing: a parsed JWS has an allowed alg, a 64-byte
 * signature and a signing input that is a prefix of the input; it never
 * verifies with an unrelated key; an imported JWK exports and re-imports to
 * the same RFC 7638 thumbprint and never carries a private part; a JWK Set
 * holds at most HG_JWKS_MAX_KEYS keys.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jose.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static struct hg_sign_key *fixed_key(enum hg_sign_alg alg)
{
    static struct hg_sign_key *keys[3];
    if (!keys[alg] && hg_sign_key_generate(alg, &keys[alg], NULL) != HG_OK)
        abort();
    return keys[alg];
}

static void jwk_roundtrip(const json_t *jwk)
{
    struct hg_sign_key *k = NULL;
    struct hg_err err;
    hg_status st = hg_jwk_import(jwk, &k, &err);
    if (st != HG_OK) {
        check(k == NULL);
        check(err.status == st && err.msg[0] != '\0');
        return;
    }
    check(!hg_sign_key_has_private(k));
    check(json_object_get(jwk, "d") == NULL);
    char t1[HG_JWK_THUMB_LEN + 1], t2[HG_JWK_THUMB_LEN + 1];
    check(hg_jwk_thumbprint(k, t1) == HG_OK && strlen(t1) == HG_JWK_THUMB_LEN);
    json_t *e = hg_jwk_export(k, "k", 1);
    check(e != NULL);
    struct hg_sign_key *k2 = NULL;
    check(hg_jwk_import(e, &k2, NULL) == HG_OK);
    check(hg_jwk_thumbprint(k2, t2) == HG_OK && strcmp(t1, t2) == 0);
    json_decref(e);
    hg_sign_key_free(k2);
    hg_sign_key_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);

    struct hg_jws jws;
    struct hg_err err;
    hg_status st = hg_jws_parse(s, size, &jws, &err);
    if (st == HG_OK) {
        check(jws.alg == HG_JOSE_ES256 || jws.alg == HG_JOSE_EDDSA);
        check(jws.siglen == 64);
        check(json_is_object(jws.header) && json_is_object(jws.payload));
        check(jws.signing_input_len < size &&
              memcmp(jws.signing_input, s, jws.signing_input_len) == 0 &&
              jws.signing_input[jws.signing_input_len] == '\0');
        check(hg_jws_verify(&jws, fixed_key(HG_SIGN_ES256)) == HG_EVERIFY);
        check(hg_jws_verify(&jws, fixed_key(HG_SIGN_ED25519)) == HG_EVERIFY);
        jwk_roundtrip(json_object_get(jws.header, "jwk"));
        hg_jws_free(&jws);
    } else {
        check(jws.header == NULL && jws.payload == NULL && jws.signing_input == NULL);
        check(st == HG_EPARSE || st == HG_EUNSUPPORTED || st == HG_ETOOBIG);
    }

    struct hg_jwks *set = NULL;
    st = hg_jwks_parse(s, size, &set, &err);
    if (st == HG_OK) {
        check(hg_jwks_count(set) <= HG_JWKS_MAX_KEYS);
        (void)hg_jwks_find(set, "k");
        hg_jwks_free(set);
    } else {
        check(set == NULL);
    }

    json_t *j = json_loadb(s, size, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(j)) {
        jwk_roundtrip(j);
        jwk_roundtrip(json_object_get(j, "jwk"));
    }
    json_decref(j);
    free(s);
    return 0;
}
