/* SPDX-License-Identifier: Apache-2.0
 *
 * test_wycheproof_sign.c — crypto/sign against Project Wycheproof: Ed25519,
 * ECDSA P-256/SHA-256 with DER signatures, and ECDSA P-256/SHA-256 with raw
 * r||s (P1363 / JOSE) signatures. Every "valid" case must verify and every
 * "invalid" one must fail (including BER/non-DER encodings and raw signatures
 * of the wrong length); "acceptable" may go either way. The expected counts
 * are pinned so that a silently skipped group fails the test. Vectors are read
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

#include "crypto/sign.h"

struct counts {
    int total, valid_ok, valid_bad, invalid_ok, invalid_bad, acceptable;
};

static int unhex(const char *s, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = s[2 * i + (size_t)j];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= (unsigned)(c - 'A' + 10);
            else
                return -1;
        }
        out[i] = (uint8_t)v;
    }
    *outlen = n / 2;
    return 0;
}

static json_t *load(const char *name)
{
    const char *dir = getenv("HG_VECTORS");
    char path[4096];
    snprintf(path, sizeof path, "%s/wycheproof/%s", dir && *dir ? dir : "../shared/vectors",
             name);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        fail_msg("cannot load %s: %s (set HG_VECTORS to the vectors directory)", path,
                 jerr.text);
    return root;
}

static void run_file(const char *name, enum hg_sign_alg alg, enum hg_sig_format fmt,
                     struct counts *c)
{
    json_t *root = load(name);
    json_t *groups = json_object_get(root, "testGroups");
    assert_true(json_is_array(groups));
    static uint8_t msg[1 << 16], sig[1 << 14], pub[256];
    size_t gi;
    json_t *g;
    json_array_foreach(groups, gi, g) {
        json_t *pk = json_object_get(g, "publicKey");
        const char *hex = json_string_value(
            json_object_get(pk, alg == HG_SIGN_ED25519 ? "pk" : "uncompressed"));
        assert_non_null(hex);
        size_t publen = 0;
        assert_int_equal(unhex(hex, pub, sizeof pub, &publen), 0);
        struct hg_sign_key *key = NULL;
        struct hg_err err;
        assert_int_equal(hg_sign_key_from_raw_public(alg, pub, publen, &key, &err), HG_OK);
        size_t ti;
        json_t *t;
        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            size_t msglen = 0, siglen = 0;
            const char *result = json_string_value(json_object_get(t, "result"));
            assert_non_null(result);
            assert_int_equal(unhex(json_string_value(json_object_get(t, "msg")), msg,
                                   sizeof msg, &msglen), 0);
            assert_int_equal(unhex(json_string_value(json_object_get(t, "sig")), sig,
                                   sizeof sig, &siglen), 0);
            hg_status st = hg_sign_verify(key, fmt, msg, msglen, sig, siglen);
            assert_true(st == HG_OK || st == HG_EVERIFY);
            c->total++;
            if (!strcmp(result, "valid")) {
                if (st == HG_OK)
                    c->valid_ok++;
                else {
                    c->valid_bad++;
                    print_message("%s tcId %lld: valid signature rejected\n", name,
                                  (long long)json_integer_value(json_object_get(t, "tcId")));
                }
            } else if (!strcmp(result, "invalid")) {
                if (st == HG_OK) {
                    c->invalid_bad++;
                    print_message("%s tcId %lld: invalid signature accepted (%s)\n", name,
                                  (long long)json_integer_value(json_object_get(t, "tcId")),
                                  json_string_value(json_object_get(t, "comment")));
                } else
                    c->invalid_ok++;
            } else {
                c->acceptable++;
            }
        }
        hg_sign_key_free(key);
    }
    assert_int_equal(c->total, json_integer_value(json_object_get(root, "numberOfTests")));
    json_decref(root);
    print_message("%s: %d tests, %d valid verified, %d invalid rejected, %d acceptable\n", name,
                  c->total, c->valid_ok, c->invalid_ok, c->acceptable);
}

static void ed25519(void **state)
{
    (void)state;
    struct counts c = {0};
    run_file("ed25519_test.json", HG_SIGN_ED25519, HG_SIG_RAW, &c);
    assert_int_equal(c.valid_bad, 0);
    assert_int_equal(c.invalid_bad, 0);
    assert_int_equal(c.total, 151);
    assert_int_equal(c.valid_ok, 88);
    assert_int_equal(c.invalid_ok, 63);
}

static void ecdsa_p256_der(void **state)
{
    (void)state;
    struct counts c = {0};
    run_file("ecdsa_secp256r1_sha256_test.json", HG_SIGN_ES256, HG_SIG_DER, &c);
    assert_int_equal(c.valid_bad, 0);
    assert_int_equal(c.invalid_bad, 0);
    assert_int_equal(c.total, 484);
    assert_int_equal(c.valid_ok, 174);
    assert_int_equal(c.invalid_ok, 310);
}

static void ecdsa_p256_p1363(void **state)
{
    (void)state;
    struct counts c = {0};
    run_file("ecdsa_secp256r1_sha256_p1363_test.json", HG_SIGN_ES256, HG_SIG_RAW, &c);
    assert_int_equal(c.valid_bad, 0);
    assert_int_equal(c.invalid_bad, 0);
    assert_int_equal(c.total, 262);
    assert_int_equal(c.valid_ok, 173);
    assert_int_equal(c.invalid_ok, 89);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ed25519),
        cmocka_unit_test(ecdsa_p256_der),
        cmocka_unit_test(ecdsa_p256_p1363),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
