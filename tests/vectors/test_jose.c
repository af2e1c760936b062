/* SPDX-License-Identifier: Apache-2.0
 *
 * test_jose.c — auth/jose against published examples: RFC 8037 A.4/A.5
 * (Ed25519, from the JOSE cookbook copy in $HG_VECTORS) reproduced byte for
 * byte and verified; RFC 7515 A.3 (ES256, the RFC's own compact JWS and
 * P-256 JWK, embedded below as public RFC text) parsed, imported and
 * verified; and RFC 7520 §4.1-4.5 (RS256, PS384, ES512, HS256), which must
 * all be refused at parse time as unsupported algorithms. Vectors are read
 * from $HG_VECTORS (default ../shared/vectors), never copied into the repo.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jose.h"
#include "common/util.h"

static json_t *load(const char *name)
{
    const char *dir = getenv("HG_VECTORS");
    char path[4096];
    snprintf(path, sizeof path, "%s/jose/%s", dir && *dir ? dir : "../shared/vectors", name);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        fail_msg("cannot load %s: %s (set HG_VECTORS to the vectors directory)", path,
                 jerr.text);
    return root;
}

static const char *str_at(json_t *root, const char *a, const char *b)
{
    json_t *v = json_object_get(json_object_get(root, a), b);
    if (!json_is_string(v))
        fail_msg("vector lacks %s.%s", a, b);
    return json_string_value(v);
}

/* RFC 8037 A.4 (sign) and A.5 (verify), Ed25519 is deterministic */
static void test_rfc8037_ed25519(void **state)
{
    (void)state;
    json_t *v = load("curve25519/jws.json");
    json_t *jwk = json_deep_copy(json_object_get(json_object_get(v, "input"), "key"));
    const char *d64 = json_string_value(json_object_get(jwk, "d"));
    assert_non_null(d64);
    uint8_t seed[32];
    size_t n = 0;
    assert_int_equal(hg_b64url_decode(d64, strlen(d64), seed, sizeof seed, &n), HG_OK);
    assert_int_equal(n, 32);
    struct hg_sign_key *priv = NULL;
    assert_int_equal(hg_sign_key_from_ed25519_seed(seed, &priv, NULL), HG_OK);

    /* the JWK with "d" is refused as a public key; without it, imports */
    struct hg_sign_key *pub = NULL;
    struct hg_err err;
    assert_int_equal(hg_jwk_import(jwk, &pub, &err), HG_EPARSE);
    json_object_del(jwk, "d");
    assert_int_equal(hg_jwk_import(jwk, &pub, &err), HG_OK);
    /* the imported public key is the seed's */
    char t1[HG_JWK_THUMB_LEN + 1], t2[HG_JWK_THUMB_LEN + 1];
    assert_int_equal(hg_jwk_thumbprint(priv, t1), HG_OK);
    assert_int_equal(hg_jwk_thumbprint(pub, t2), HG_OK);
    assert_string_equal(t1, t2);
    assert_string_equal(t1, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"); /* RFC 8037 A.3 */

    /* the protected header as hg_jws_sign writes it: exactly {"alg":"EdDSA"} */
    const char *prot = str_at(v, "signing", "protected_b64u");
    char hb64[64];
    assert_int_equal(hg_b64url_encode("{\"alg\":\"EdDSA\"}", 15, hb64, sizeof hb64), HG_OK);
    assert_string_equal(hb64, prot);

    /* A.4: the payload is text, not a JSON object, so the signature is
     * reproduced over the exact signing input */
    const char *payload = json_string_value(json_object_get(json_object_get(v, "input"), "payload"));
    char pb64[128], si[256];
    assert_int_equal(hg_b64url_encode(payload, strlen(payload), pb64, sizeof pb64), HG_OK);
    snprintf(si, sizeof si, "%s.%s", hb64, pb64);
    assert_string_equal(si, str_at(v, "signing", "sig-input"));
    uint8_t sig[HG_SIGN_MAX_SIG];
    size_t siglen = 0;
    assert_int_equal(hg_sign(priv, HG_SIG_RAW, si, strlen(si), sig, sizeof sig, &siglen, NULL),
                     HG_OK);
    assert_int_equal(siglen, 64);
    char s64[100], compact[512];
    assert_int_equal(hg_b64url_encode(sig, siglen, s64, sizeof s64), HG_OK);
    assert_string_equal(s64, str_at(v, "signing", "sig"));
    snprintf(compact, sizeof compact, "%s.%s", si, s64);
    const char *given = str_at(v, "output", "compact");
    assert_string_equal(compact, given);

    /* A.5: the given compact form's signature verifies with the public key,
     * and one changed byte of the input does not */
    const char *d2 = strrchr(given, '.');
    uint8_t gsig[64];
    assert_int_equal(hg_b64url_decode(d2 + 1, strlen(d2 + 1), gsig, sizeof gsig, &n), HG_OK);
    assert_int_equal(hg_sign_verify(pub, HG_SIG_RAW, given, (size_t)(d2 - given), gsig, n), HG_OK);
    assert_int_equal(hg_sign_verify(pub, HG_SIG_RAW, given, (size_t)(d2 - given) - 1, gsig, n),
                     HG_EVERIFY);
    /* as a JWS it is refused only for its non-object payload, never its alg */
    struct hg_jws p;
    assert_int_equal(hg_jws_parse(given, strlen(given), &p, &err), HG_EPARSE);
    assert_non_null(strstr(err.msg, "payload"));

    /* and hg_jws_sign with this key gives the same header and a signature
     * that is deterministic too: two signatures of one payload are equal */
    json_t *obj = json_pack("{s:s}", "m", payload);
    char *a = NULL, *b = NULL;
    assert_int_equal(hg_jws_sign(priv, NULL, NULL, NULL, obj, &a, NULL, NULL), HG_OK);
    assert_int_equal(hg_jws_sign(priv, NULL, NULL, NULL, obj, &b, NULL, NULL), HG_OK);
    assert_string_equal(a, b);
    assert_memory_equal(a, prot, strlen(prot));
    assert_int_equal(hg_jws_parse(a, strlen(a), &p, NULL), HG_OK);
    assert_int_equal(hg_jws_verify(&p, pub), HG_OK);
    hg_jws_free(&p);
    free(a);
    free(b);
    json_decref(obj);

    hg_sign_key_free(priv);
    hg_sign_key_free(pub);
    json_decref(jwk);
    json_decref(v);
}

/* RFC 7515 Appendix A.3.1: the ES256 example (Figure 20's JWK without "d",
 * and the compact serialisation in A.3.1) */
static const char A3_JWS[] =
    "eyJhbGciOiJFUzI1NiJ9"
    "."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
static const char A3_JWK[] = "{\"kty\":\"EC\",\"crv\":\"P-256\","
                             "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                             "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";

static void test_rfc7515_a3_es256(void **state)
{
    (void)state;
    struct hg_jws p;
    struct hg_err err;
    assert_int_equal(hg_jws_parse(A3_JWS, strlen(A3_JWS), &p, &err), HG_OK);
    assert_int_equal(p.alg, HG_JOSE_ES256);
    assert_null(p.kid);
    assert_string_equal(json_string_value(json_object_get(p.payload, "iss")), "joe");
    assert_int_equal(json_integer_value(json_object_get(p.payload, "exp")), 1300819380);
    assert_true(json_is_true(json_object_get(p.payload, "http://example.com/is_root")));

    json_error_t jerr;
    json_t *jwk = json_loads(A3_JWK, 0, &jerr);
    assert_non_null(jwk);
    struct hg_sign_key *key = NULL;
    assert_int_equal(hg_jwk_import(jwk, &key, &err), HG_OK);
    assert_int_equal(hg_jws_verify(&p, key), HG_OK);
    hg_jws_free(&p);

    /* the last signature character changed: refused */
    char bad[sizeof A3_JWS];
    memcpy(bad, A3_JWS, sizeof A3_JWS);
    bad[sizeof A3_JWS - 2] = 'A';
    assert_int_equal(hg_jws_parse(bad, strlen(bad), &p, &err), HG_OK);
    assert_int_equal(hg_jws_verify(&p, key), HG_EVERIFY);
    hg_jws_free(&p);

    /* an Ed25519 key never verifies it, whatever the bytes */
    struct hg_sign_key *ed = NULL;
    assert_int_equal(hg_sign_key_generate(HG_SIGN_ED25519, &ed, NULL), HG_OK);
    assert_int_equal(hg_jws_parse(A3_JWS, strlen(A3_JWS), &p, &err), HG_OK);
    assert_int_equal(hg_jws_verify(&p, ed), HG_EVERIFY);
    hg_jws_free(&p);

    hg_sign_key_free(ed);
    hg_sign_key_free(key);
    json_decref(jwk);
}

/* RFC 7520 §4: every example uses an algorithm off our list */
static void test_rfc7520_refused(void **state)
{
    (void)state;
    static const struct {
        const char *file, *alg;
    } cases[] = {
        {"jws/4_1.rsa_v15_signature.json", "RS256"},
        {"jws/4_2.rsa-pss_signature.json", "PS384"},
        {"jws/4_3.ecdsa_signature.json", "ES512"},
        {"jws/4_4.hmac-sha2_integrity_protection.json", "HS256"},
        {"jws/4_5.signature_with_detached_content.json", "HS256"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = load(cases[i].file);
        const char *compact = str_at(v, "output", "compact");
        struct hg_jws p;
        struct hg_err err;
        hg_err_clear(&err);
        assert_int_equal(hg_jws_parse(compact, strlen(compact), &p, &err), HG_EUNSUPPORTED);
        if (!strstr(err.msg, cases[i].alg))
            fail_msg("%s: message '%s' does not name %s", cases[i].file, err.msg, cases[i].alg);
        assert_null(p.header);
        json_decref(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8037_ed25519),
        cmocka_unit_test(test_rfc7515_a3_es256),
        cmocka_unit_test(test_rfc7520_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
