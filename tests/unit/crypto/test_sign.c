/* SPDX-License-Identifier: Apache-2.0
 *
 * test_sign.c — crypto/sign: round trips for Ed25519 and ES256 in both
 * signature forms, strict rejection of non-DER and wrong-length signatures,
 * RFC 8032's first Ed25519 vector, raw public key import/export, and PEM
 * save/load (0600, atomic, refused when world-readable).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/sign.h"

static void unhex(const char *s, uint8_t *out)
{
    size_t n = strlen(s) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void roundtrip(enum hg_sign_alg alg, enum hg_sig_format fmt)
{
    struct hg_sign_key *k = NULL;
    struct hg_err err;
    assert_int_equal(hg_sign_key_generate(alg, &k, &err), HG_OK);
    assert_true(hg_sign_key_has_private(k));
    assert_int_equal(hg_sign_key_alg(k), alg);
    const char msg[] = "tender 0192f0c1 accepted";
    uint8_t sig[HG_SIGN_MAX_SIG];
    size_t siglen = 0;
    assert_int_equal(hg_sign(k, fmt, msg, sizeof msg - 1, sig, sizeof sig, &siglen, &err), HG_OK);
    if (alg == HG_SIGN_ED25519 || fmt == HG_SIG_RAW)
        assert_int_equal(siglen, 64);
    else
        assert_true(siglen >= 8 && siglen <= 72 && sig[0] == 0x30);
    assert_int_equal(hg_sign_verify(k, fmt, msg, sizeof msg - 1, sig, siglen), HG_OK);
    /* A different message, a flipped bit, a wrong length: all rejected. */
    assert_int_equal(hg_sign_verify(k, fmt, msg, sizeof msg - 2, sig, siglen), HG_EVERIFY);
    sig[siglen - 1] ^= 1;
    assert_int_equal(hg_sign_verify(k, fmt, msg, sizeof msg - 1, sig, siglen), HG_EVERIFY);
    sig[siglen - 1] ^= 1;
    assert_int_equal(hg_sign_verify(k, fmt, msg, sizeof msg - 1, sig, siglen - 1), HG_EVERIFY);
    uint8_t longer[HG_SIGN_MAX_SIG + 1];
    memcpy(longer, sig, siglen);
    longer[siglen] = 0;
    assert_int_equal(hg_sign_verify(k, fmt, msg, sizeof msg - 1, longer, siglen + 1), HG_EVERIFY);

    /* The public half alone verifies, and cannot sign. */
    uint8_t pub[HG_SIGN_MAX_PUB];
    size_t publen = 0;
    assert_int_equal(hg_sign_key_public_raw(k, pub, sizeof pub, &publen), HG_OK);
    assert_int_equal(publen, alg == HG_SIGN_ED25519 ? 32 : 65);
    struct hg_sign_key *pk = NULL;
    assert_int_equal(hg_sign_key_from_raw_public(alg, pub, publen, &pk, &err), HG_OK);
    assert_false(hg_sign_key_has_private(pk));
    assert_int_equal(hg_sign_verify(pk, fmt, msg, sizeof msg - 1, sig, siglen), HG_OK);
    assert_int_equal(hg_sign(pk, fmt, msg, 1, sig, sizeof sig, &siglen, &err), HG_EINVAL);
    hg_sign_key_free(pk);
    hg_sign_key_free(k);
}

static void ed25519_roundtrip(void **state)
{
    (void)state;
    roundtrip(HG_SIGN_ED25519, HG_SIG_RAW);
}

static void es256_der_roundtrip(void **state)
{
    (void)state;
    roundtrip(HG_SIGN_ES256, HG_SIG_DER);
}

static void es256_raw_roundtrip(void **state)
{
    (void)state;
    roundtrip(HG_SIGN_ES256, HG_SIG_RAW);
}

static void rfc8032_vector(void **state)
{
    (void)state;
    uint8_t seed[32], want_pub[32], want_sig[64], got[64], sig[HG_SIGN_MAX_SIG];
    unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed);
    unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", want_pub);
    unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b", want_sig);
    struct hg_sign_key *k = NULL;
    struct hg_err err;
    assert_int_equal(hg_sign_key_from_ed25519_seed(seed, &k, &err), HG_OK);
    size_t n = 0;
    assert_int_equal(hg_sign_key_public_raw(k, got, sizeof got, &n), HG_OK);
    assert_int_equal(n, 32);
    assert_memory_equal(got, want_pub, 32);
    assert_int_equal(hg_sign(k, HG_SIG_RAW, "", 0, sig, sizeof sig, &n, &err), HG_OK);
    assert_int_equal(n, 64);
    assert_memory_equal(sig, want_sig, 64);
    hg_sign_key_free(k);
}

static void der_strictness(void **state)
{
    (void)state;
    struct hg_sign_key *k = NULL;
    struct hg_err err;
    assert_int_equal(hg_sign_key_generate(HG_SIGN_ES256, &k, &err), HG_OK);
    const char msg[] = "m";
    uint8_t der[HG_SIGN_MAX_SIG], raw[64], back[HG_SIGN_MAX_SIG];
    size_t derlen = 0, backlen = 0;
    assert_int_equal(hg_sign(k, HG_SIG_DER, msg, 1, der, sizeof der, &derlen, &err), HG_OK);
    /* DER -> raw -> DER is the identity. */
    assert_int_equal(hg_sign_ecdsa_der_to_raw(der, derlen, raw), HG_OK);
    assert_int_equal(hg_sign_ecdsa_raw_to_der(raw, back, sizeof back, &backlen), HG_OK);
    assert_int_equal(backlen, derlen);
    assert_memory_equal(back, der, derlen);
    assert_int_equal(hg_sign_verify(k, HG_SIG_RAW, msg, 1, raw, 64), HG_OK);
    /* BER long-form outer length (0x81 len) verifies in lax parsers; not here. */
    uint8_t ber[HG_SIGN_MAX_SIG + 2];
    assert_true(der[1] < 0x80);
    ber[0] = 0x30;
    ber[1] = 0x81;
    memcpy(ber + 2, der + 1, derlen - 1);
    assert_int_equal(hg_sign_verify(k, HG_SIG_DER, msg, 1, ber, derlen + 1), HG_EVERIFY);
    /* Trailing garbage. */
    memcpy(ber, der, derlen);
    ber[derlen] = 0;
    assert_int_equal(hg_sign_verify(k, HG_SIG_DER, msg, 1, ber, derlen + 1), HG_EVERIFY);
    assert_int_equal(hg_sign_ecdsa_der_to_raw(ber, derlen + 1, raw), HG_EPARSE);
    /* A raw signature presented as DER and vice versa. */
    assert_int_equal(hg_sign_verify(k, HG_SIG_DER, msg, 1, raw, 64), HG_EVERIFY);
    assert_int_equal(hg_sign_verify(k, HG_SIG_RAW, msg, 1, der, derlen), HG_EVERIFY);
    hg_sign_key_free(k);
}

static void bad_public_keys(void **state)
{
    (void)state;
    struct hg_sign_key *k = NULL;
    struct hg_err err;
    uint8_t pt[65] = {0x04};
    /* (0, 0) is not on P-256. */
    assert_int_equal(hg_sign_key_from_raw_public(HG_SIGN_ES256, pt, 65, &k, &err), HG_EPARSE);
    assert_null(k);
    pt[0] = 0x02;
    assert_int_equal(hg_sign_key_from_raw_public(HG_SIGN_ES256, pt, 33, &k, &err), HG_EPARSE);
    assert_int_equal(hg_sign_key_from_raw_public(HG_SIGN_ED25519, pt, 31, &k, &err), HG_EPARSE);
    assert_int_equal(hg_sign_key_from_pem("nope", 4, &k, &err), HG_EPARSE);
    assert_non_null(strstr(hg_err_msg(&err), "PEM"));
}

static void pem_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/hg-sign-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char priv[256], pub[256];
    snprintf(priv, sizeof priv, "%s/key.pem", dir);
    snprintf(pub, sizeof pub, "%s/key.pub.pem", dir);
    for (int alg = HG_SIGN_ED25519; alg <= HG_SIGN_ES256; alg++) {
        struct hg_sign_key *k = NULL, *k2 = NULL, *kp = NULL;
        struct hg_err err;
        assert_int_equal(hg_sign_key_generate((enum hg_sign_alg)alg, &k, &err), HG_OK);
        assert_int_equal(hg_sign_key_save_private_pem(k, priv, &err), HG_OK);
        assert_int_equal(hg_sign_key_save_public_pem(k, pub, &err), HG_OK);
        struct stat sb;
        assert_int_equal(stat(priv, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
        assert_int_equal(stat(pub, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0644);
        assert_int_equal(hg_sign_key_load_pem(priv, &k2, &err), HG_OK);
        assert_true(hg_sign_key_has_private(k2));
        assert_int_equal(hg_sign_key_alg(k2), alg);
        assert_int_equal(hg_sign_key_load_pem(pub, &kp, &err), HG_OK);
        assert_false(hg_sign_key_has_private(kp));
        uint8_t sig[HG_SIGN_MAX_SIG];
        size_t n = 0;
        assert_int_equal(hg_sign(k2, HG_SIG_RAW, "x", 1, sig, sizeof sig, &n, &err), HG_OK);
        assert_int_equal(hg_sign_verify(kp, HG_SIG_RAW, "x", 1, sig, n), HG_OK);
        assert_int_equal(hg_sign_verify(k, HG_SIG_RAW, "x", 1, sig, n), HG_OK);
        /* A private key others can read is refused, with the fix in the message. */
        assert_int_equal(chmod(priv, 0644), 0);
        struct hg_sign_key *k3 = NULL;
        assert_int_equal(hg_sign_key_load_pem(priv, &k3, &err), HG_EPERM);
        assert_null(k3);
        assert_non_null(strstr(hg_err_msg(&err), "chmod 600"));
        /* Saving with a public-only key is refused. */
        assert_int_equal(hg_sign_key_save_private_pem(kp, priv, &err), HG_EINVAL);
        hg_sign_key_free(k);
        hg_sign_key_free(k2);
        hg_sign_key_free(kp);
        unlink(priv);
        unlink(pub);
    }
    struct hg_sign_key *k = NULL;
    struct hg_err err;
    assert_int_equal(hg_sign_key_load_pem(priv, &k, &err), HG_ENOTFOUND);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ed25519_roundtrip),   cmocka_unit_test(es256_der_roundtrip),
        cmocka_unit_test(es256_raw_roundtrip), cmocka_unit_test(rfc8032_vector),
        cmocka_unit_test(der_strictness),      cmocka_unit_test(bad_public_keys),
        cmocka_unit_test(pem_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
