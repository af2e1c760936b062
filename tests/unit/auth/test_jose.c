/* SPDX-License-Identifier: Apache-2.0
 *
 * test_jose.c — auth/jose: sign/verify round trips for ES256 and EdDSA with
 * the exact header member order, tampering with each part, the closed alg
 * list (none, HMAC, RSA, other curves refused at parse), algorithm
 * confusion between key types, every malformed-input refusal with its
 * status, JWK import/export/thumbprint (private keys, bad coordinates and
 * off-curve points refused), and JWK Sets (unsupported keys skipped,
 * duplicate kids refused, lookup).
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

static struct hg_sign_key *genkey(enum hg_sign_alg alg)
{
    struct hg_sign_key *k = NULL;
    assert_int_equal(hg_sign_key_generate(alg, &k, NULL), HG_OK);
    return k;
}

/* base64url of a text, into a static-sized caller buffer */
static void b64(const char *text, char *out, size_t cap)
{
    assert_int_equal(hg_b64url_encode(text, strlen(text), out, cap), HG_OK);
}

/* "b64(header).b64(payload).sig" where sig is given verbatim */
static char *compose(const char *header, const char *payload, const char *sig)
{
    static char buf[3 * 8192];
    char h[8192], p[8192];
    b64(header, h, sizeof h);
    b64(payload, p, sizeof p);
    snprintf(buf, sizeof buf, "%s.%s.%s", h, p, sig);
    return buf;
}

/* 86 base64url characters: a syntactically valid 64-byte signature */
static const char SIG86[] =
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

static hg_status parse_str(const char *s, struct hg_jws *jws, struct hg_err *err)
{
    return hg_jws_parse(s, strlen(s), jws, err);
}

static void roundtrip(enum hg_sign_alg salg, const char *algname)
{
    struct hg_sign_key *k = genkey(salg);
    json_t *payload = json_pack("{s:s, s:i, s:[s,s]}", "sub", "tms-1", "iat", 1700000000,
                                "roles", "a", "b");
    json_t *extra = json_pack("{s:s, s:i}", "zz", "last", "aa", 7);
    char *jws = NULL;
    size_t len = 0;
    struct hg_err err;
    assert_int_equal(hg_jws_sign(k, "at+jwt", "kid-1", extra, payload, &jws, &len, &err), HG_OK);
    assert_int_equal(strlen(jws), len);

    /* the header's member order is exactly alg, typ, kid, then the extras */
    char want[256], wantb64[512];
    snprintf(want, sizeof want, "{\"alg\":\"%s\",\"typ\":\"at+jwt\",\"kid\":\"kid-1\",\"zz\":\"last\",\"aa\":7}",
             algname);
    b64(want, wantb64, sizeof wantb64);
    assert_memory_equal(jws, wantb64, strlen(wantb64));
    assert_int_equal(jws[strlen(wantb64)], '.');
    /* the payload keeps insertion order, compactly */
    char pb64[256];
    b64("{\"sub\":\"tms-1\",\"iat\":1700000000,\"roles\":[\"a\",\"b\"]}", pb64, sizeof pb64);
    assert_memory_equal(jws + strlen(wantb64) + 1, pb64, strlen(pb64));

    struct hg_jws p;
    assert_int_equal(hg_jws_parse(jws, len, &p, &err), HG_OK);
    assert_int_equal(p.alg, salg == HG_SIGN_ES256 ? HG_JOSE_ES256 : HG_JOSE_EDDSA);
    assert_string_equal(hg_jose_alg_name(p.alg), algname);
    assert_string_equal(p.kid, "kid-1");
    assert_string_equal(p.typ, "at+jwt");
    assert_int_equal(p.siglen, 64);
    assert_true(json_equal(p.payload, payload));
    assert_int_equal(p.signing_input_len, strlen(wantb64) + 1 + strlen(pb64));
    assert_int_equal(hg_jws_verify(&p, k), HG_OK);
    /* another key of the same type does not verify */
    struct hg_sign_key *k2 = genkey(salg);
    assert_int_equal(hg_jws_verify(&p, k2), HG_EVERIFY);
    hg_jws_free(&p);
    hg_jws_free(&p); /* safe twice (zeroed) */

    /* without typ/kid/extra: header is {"alg"} only */
    free(jws);
    assert_int_equal(hg_jws_sign(k, NULL, NULL, NULL, payload, &jws, NULL, &err), HG_OK);
    assert_int_equal(parse_str(jws, &p, &err), HG_OK);
    assert_null(p.kid);
    assert_null(p.typ);
    assert_int_equal(json_object_size(p.header), 1);
    assert_int_equal(hg_jws_verify(&p, k), HG_OK);
    hg_jws_free(&p);

    free(jws);
    json_decref(payload);
    json_decref(extra);
    hg_sign_key_free(k);
    hg_sign_key_free(k2);
}

static void test_roundtrip_es256(void **state)
{
    (void)state;
    roundtrip(HG_SIGN_ES256, "ES256");
}

static void test_roundtrip_eddsa(void **state)
{
    (void)state;
    roundtrip(HG_SIGN_ED25519, "EdDSA");
}

static void test_sign_refusals(void **state)
{
    (void)state;
    struct hg_sign_key *k = genkey(HG_SIGN_ES256);
    struct hg_err err;
    char *out = (char *)1;
    json_t *arr = json_array();
    assert_int_equal(hg_jws_sign(k, NULL, NULL, NULL, arr, &out, NULL, &err), HG_EINVAL);
    assert_null(out);
    json_t *obj = json_object();
    json_t *bad = json_pack("{s:s}", "alg", "none");
    assert_int_equal(hg_jws_sign(k, NULL, NULL, bad, obj, &out, NULL, &err), HG_EINVAL);
    assert_non_null(strstr(err.msg, "alg"));
    json_decref(bad);
    bad = json_pack("{s:[s]}", "crit", "b64");
    assert_int_equal(hg_jws_sign(k, NULL, NULL, bad, obj, &out, NULL, &err), HG_EINVAL);
    json_decref(bad);
    /* a public key cannot sign */
    uint8_t raw[65];
    size_t rl;
    assert_int_equal(hg_sign_key_public_raw(k, raw, sizeof raw, &rl), HG_OK);
    struct hg_sign_key *pub = NULL;
    assert_int_equal(hg_sign_key_from_raw_public(HG_SIGN_ES256, raw, rl, &pub, NULL), HG_OK);
    assert_int_equal(hg_jws_sign(pub, NULL, NULL, NULL, obj, &out, NULL, &err), HG_EINVAL);
    /* a payload that would make a JWS over HG_JWS_MAX is refused, not emitted */
    char *big = malloc(7000);
    memset(big, 'a', 6999);
    big[6999] = '\0';
    json_object_set_new(obj, "big", json_string(big));
    assert_int_equal(hg_jws_sign(k, NULL, NULL, NULL, obj, &out, NULL, &err), HG_ETOOBIG);
    assert_null(out);
    free(big);
    json_decref(obj);
    json_decref(arr);
    hg_sign_key_free(pub);
    hg_sign_key_free(k);
}

static void test_tampered(void **state)
{
    (void)state;
    struct hg_sign_key *k = genkey(HG_SIGN_ES256);
    json_t *payload = json_pack("{s:s}", "sub", "a");
    char *jws = NULL;
    assert_int_equal(hg_jws_sign(k, "JWT", NULL, NULL, payload, &jws, NULL, NULL), HG_OK);
    char *d1 = strchr(jws, '.'), *d2 = strchr(d1 + 1, '.');
    struct hg_jws p;
    struct hg_err err;

    /* another valid header in front of the same payload and signature */
    char h[256], buf[1024];
    b64("{\"alg\":\"ES256\",\"typ\":\"JWX\"}", h, sizeof h);
    snprintf(buf, sizeof buf, "%s%s", h, d1);
    assert_int_equal(parse_str(buf, &p, &err), HG_OK);
    assert_int_equal(hg_jws_verify(&p, k), HG_EVERIFY);
    hg_jws_free(&p);

    /* another payload */
    char pl[256];
    b64("{\"sub\":\"b\"}", pl, sizeof pl);
    snprintf(buf, sizeof buf, "%.*s.%s%s", (int)(d1 - jws), jws, pl, d2);
    assert_int_equal(parse_str(buf, &p, &err), HG_OK);
    assert_int_equal(hg_jws_verify(&p, k), HG_EVERIFY);
    hg_jws_free(&p);

    /* one bit of the signature */
    uint8_t sig[64];
    size_t sl;
    assert_int_equal(hg_b64url_decode(d2 + 1, strlen(d2 + 1), sig, sizeof sig, &sl), HG_OK);
    for (int bit = 0; bit < 512; bit += 97) {
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        char s64[100];
        assert_int_equal(hg_b64url_encode(sig, 64, s64, sizeof s64), HG_OK);
        snprintf(buf, sizeof buf, "%.*s.%s", (int)(d2 - jws), jws, s64);
        assert_int_equal(parse_str(buf, &p, &err), HG_OK);
        assert_int_equal(hg_jws_verify(&p, k), HG_EVERIFY);
        hg_jws_free(&p);
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* untouched still verifies (the flips above were the cause) */
    assert_int_equal(parse_str(jws, &p, &err), HG_OK);
    assert_int_equal(hg_jws_verify(&p, k), HG_OK);
    hg_jws_free(&p);
    assert_int_equal(hg_jws_verify(NULL, k), HG_EVERIFY);
    free(jws);
    json_decref(payload);
    hg_sign_key_free(k);
}

static void test_alg_refused(void **state)
{
    (void)state;
    static const char *const algs[] = {"none", "HS256", "HS512", "RS256", "PS256", "ES384",
                                       "ES512", "es256", "EDDSA", "Ed25519", ""};
    struct hg_jws p;
    struct hg_err err;
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        char hdr[64];
        snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\"}", algs[i]);
        /* with a plausible signature, and (as "none" JWTs have) an empty one */
        hg_err_clear(&err);
        assert_int_equal(parse_str(compose(hdr, "{}", SIG86), &p, &err), HG_EUNSUPPORTED);
        assert_non_null(strstr(err.msg, algs[i]));
        assert_null(p.header);
        assert_int_equal(parse_str(compose(hdr, "{}", ""), &p, &err), HG_EUNSUPPORTED);
    }
    /* alg not a string, or absent: malformed */
    assert_int_equal(parse_str(compose("{\"alg\":1}", "{}", SIG86), &p, &err), HG_EPARSE);
    assert_int_equal(parse_str(compose("{\"typ\":\"JWT\"}", "{}", SIG86), &p, &err), HG_EPARSE);
    assert_int_equal(parse_str(compose("{\"alg\":\"ES256\"}", "{}", SIG86), &p, &err), HG_OK);
    hg_jws_free(&p);
}

static void test_alg_confusion(void **state)
{
    (void)state;
    struct hg_sign_key *ec = genkey(HG_SIGN_ES256), *ed = genkey(HG_SIGN_ED25519);
    json_t *payload = json_pack("{s:s}", "sub", "a");
    char *jec = NULL, *jed = NULL;
    assert_int_equal(hg_jws_sign(ec, NULL, NULL, NULL, payload, &jec, NULL, NULL), HG_OK);
    assert_int_equal(hg_jws_sign(ed, NULL, NULL, NULL, payload, &jed, NULL, NULL), HG_OK);
    struct hg_jws p;
    assert_int_equal(parse_str(jec, &p, NULL), HG_OK);
    assert_int_equal(hg_jws_verify(&p, ed), HG_EVERIFY);
    assert_int_equal(hg_jws_verify(&p, ec), HG_OK);
    hg_jws_free(&p);
    assert_int_equal(parse_str(jed, &p, NULL), HG_OK);
    assert_int_equal(hg_jws_verify(&p, ec), HG_EVERIFY);
    assert_int_equal(hg_jws_verify(&p, ed), HG_OK);
    hg_jws_free(&p);

    /* an Ed25519 signature relabelled ES256 (a header swap): the signing
     * input changes, and the EC key is the wrong one anyway; relabelled and
     * checked against the Ed25519 key, the alg/key disagreement refuses it
     * before any signature math */
    char h[64], buf[1024];
    b64("{\"alg\":\"ES256\"}", h, sizeof h);
    snprintf(buf, sizeof buf, "%s%s", h, strchr(jed, '.'));
    assert_int_equal(parse_str(buf, &p, NULL), HG_OK);
    assert_int_equal(p.alg, HG_JOSE_ES256);
    assert_int_equal(hg_jws_verify(&p, ed), HG_EVERIFY);
    assert_int_equal(hg_jws_verify(&p, ec), HG_EVERIFY);
    /* same struct, alg forced to the key's: now the signature is bad (the
     * header bytes changed), proving the refusal above was the alg check */
    p.alg = HG_JOSE_EDDSA;
    assert_int_equal(hg_jws_verify(&p, ed), HG_EVERIFY);
    hg_jws_free(&p);

    /* the real confusion: a header that says one alg over a signature that
     * IS valid for the other key type (made with hg_sign on that exact
     * signing input). Only the alg/key agreement check can refuse these. */
    struct {
        const char *hdr;
        struct hg_sign_key *signer;
    } mix[] = {{"{\"alg\":\"ES256\"}", ed}, {"{\"alg\":\"EdDSA\"}", ec}};
    for (int i = 0; i < 2; i++) {
        char si[256], pl[64];
        b64(mix[i].hdr, h, sizeof h);
        b64("{\"sub\":\"a\"}", pl, sizeof pl);
        snprintf(si, sizeof si, "%s.%s", h, pl);
        uint8_t sig[HG_SIGN_MAX_SIG];
        size_t sl = 0;
        assert_int_equal(hg_sign(mix[i].signer, HG_SIG_RAW, si, strlen(si), sig, sizeof sig, &sl,
                                 NULL),
                         HG_OK);
        assert_int_equal(sl, 64);
        char s64[100];
        assert_int_equal(hg_b64url_encode(sig, sl, s64, sizeof s64), HG_OK);
        snprintf(buf, sizeof buf, "%s.%s", si, s64);
        assert_int_equal(parse_str(buf, &p, NULL), HG_OK);
        assert_int_equal(hg_jws_verify(&p, mix[i].signer), HG_EVERIFY);
        /* the signature itself is good: only the label is wrong */
        assert_int_equal(hg_sign_verify(mix[i].signer, HG_SIG_RAW, p.signing_input,
                                        p.signing_input_len, p.sig, p.siglen),
                         HG_OK);
        hg_jws_free(&p);
    }
    assert_int_equal(hg_jose_key_alg(ec), HG_JOSE_ES256);
    assert_int_equal(hg_jose_key_alg(ed), HG_JOSE_EDDSA);
    assert_int_equal(hg_jose_key_alg(NULL), HG_JOSE_ALG_UNKNOWN);
    assert_string_equal(hg_jose_alg_name(HG_JOSE_ALG_UNKNOWN), "?");
    free(jec);
    free(jed);
    json_decref(payload);
    hg_sign_key_free(ec);
    hg_sign_key_free(ed);
}

static void expect_parse(const char *s, hg_status want, const char *msgpart)
{
    struct hg_jws p;
    struct hg_err err;
    hg_err_clear(&err);
    hg_status st = parse_str(s, &p, &err);
    if (st != want)
        fail_msg("parse of '%.80s' gave %s (%s), want %s", s, hg_status_name(st), err.msg,
                 hg_status_name(want));
    if (msgpart && !strstr(err.msg, msgpart))
        fail_msg("message '%s' lacks '%s'", err.msg, msgpart);
    assert_null(p.header);
    assert_null(p.payload);
    assert_null(p.signing_input);
}

static void test_malformed(void **state)
{
    (void)state;
    const char *H = "{\"alg\":\"ES256\"}";
    char buf[20000], h[64], pl[64];
    b64(H, h, sizeof h);
    b64("{}", pl, sizeof pl);

    expect_parse("", HG_EPARSE, "empty");
    /* part count */
    snprintf(buf, sizeof buf, "%s.%s", h, pl);
    expect_parse(buf, HG_EPARSE, "three");
    snprintf(buf, sizeof buf, "%s.%s.%s.x", h, pl, SIG86);
    expect_parse(buf, HG_EPARSE, "more than three");
    snprintf(buf, sizeof buf, "%s.%s.%s.x.y", h, pl, SIG86);
    expect_parse(buf, HG_EPARSE, "more than three");
    snprintf(buf, sizeof buf, "%s", h);
    expect_parse(buf, HG_EPARSE, NULL);
    snprintf(buf, sizeof buf, ".%s.%s", pl, SIG86);
    expect_parse(buf, HG_EPARSE, "header part is empty");
    snprintf(buf, sizeof buf, "%s..%s", h, SIG86);
    expect_parse(buf, HG_EPARSE, "payload part is empty");
    /* padding, '+', '/', whitespace */
    snprintf(buf, sizeof buf, "%s=.%s.%s", h, pl, SIG86);
    expect_parse(buf, HG_EPARSE, "base64url");
    snprintf(buf, sizeof buf, "%s.%s=.%s", h, pl, SIG86);
    expect_parse(buf, HG_EPARSE, "base64url");
    snprintf(buf, sizeof buf, "%s.%s.%.84s==", h, pl, SIG86);
    expect_parse(buf, HG_EPARSE, NULL);
    snprintf(buf, sizeof buf, "%s.%s.%.85s+", h, pl, SIG86);
    expect_parse(buf, HG_EPARSE, "base64url");
    snprintf(buf, sizeof buf, "%s.%s.%.85s/", h, pl, SIG86);
    expect_parse(buf, HG_EPARSE, "base64url");
    snprintf(buf, sizeof buf, "%s.%s .%s", h, pl, SIG86);
    expect_parse(buf, HG_EPARSE, "base64url");
    /* non-canonical trailing bits in the signature (the last char of 86 carries 4 bits) */
    snprintf(buf, sizeof buf, "%s.%s.%.85sB", h, pl, SIG86);
    expect_parse(buf, HG_EPARSE, "base64url");
    /* signature length */
    snprintf(buf, sizeof buf, "%s.%s.%.84s", h, pl, SIG86);
    expect_parse(buf, HG_EPARSE, "64 bytes");
    snprintf(buf, sizeof buf, "%s.%s.%sAAAA", h, pl, SIG86);
    expect_parse(buf, HG_EPARSE, "64 bytes");
    snprintf(buf, sizeof buf, "%s.%s.", h, pl);
    expect_parse(buf, HG_EPARSE, "64 bytes");
    /* payload must be a JSON object */
    expect_parse(compose(H, "[1,2]", SIG86), HG_EPARSE, "not a JSON object");
    expect_parse(compose(H, "\"text\"", SIG86), HG_EPARSE, "not a JSON object");
    expect_parse(compose(H, "Example of Ed25519 signing", SIG86), HG_EPARSE, "not valid JSON");
    expect_parse(compose(H, "{\"a\":1} x", SIG86), HG_EPARSE, "not valid JSON");
    expect_parse(compose(H, "{\"a\":\"\\u0000\"}", SIG86), HG_EPARSE, NULL);
    /* header must be a JSON object */
    expect_parse(compose("[\"ES256\"]", "{}", SIG86), HG_EPARSE, "header is not a JSON object");
    expect_parse(compose("{\"alg\":\"ES256\"", "{}", SIG86), HG_EPARSE, "not valid JSON");
    /* duplicate member names, in either part */
    expect_parse(compose("{\"alg\":\"ES256\",\"alg\":\"EdDSA\"}", "{}", SIG86), HG_EPARSE,
                 "duplicate");
    expect_parse(compose(H, "{\"sub\":\"a\",\"sub\":\"b\"}", SIG86), HG_EPARSE, "duplicate");
    /* crit, kid, typ */
    expect_parse(compose("{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}", "{}", SIG86),
                 HG_EPARSE, "crit");
    expect_parse(compose("{\"alg\":\"ES256\",\"kid\":7}", "{}", SIG86), HG_EPARSE, "kid");
    expect_parse(compose("{\"alg\":\"ES256\",\"kid\":\"\"}", "{}", SIG86), HG_EPARSE, "kid");
    expect_parse(compose("{\"alg\":\"ES256\",\"typ\":[]}", "{}", SIG86), HG_EPARSE, "typ");
    char longkid[300];
    snprintf(longkid, sizeof longkid, "{\"alg\":\"ES256\",\"kid\":\"%0129d\"}", 0);
    expect_parse(compose(longkid, "{}", SIG86), HG_EPARSE, "kid");
    /* sizes: whole JWS over HG_JWS_MAX, header over HG_JWS_HEADER_MAX */
    char *huge = malloc(HG_JWS_MAX + 2);
    memset(huge, 'A', HG_JWS_MAX + 1);
    huge[HG_JWS_MAX + 1] = '\0';
    expect_parse(huge, HG_ETOOBIG, "8192");
    free(huge);
    char bighdr[2200];
    snprintf(bighdr, sizeof bighdr, "{\"alg\":\"ES256\",\"x\":\"%02040d\"}", 0);
    expect_parse(compose(bighdr, "{}", SIG86), HG_EPARSE, "2048");

    /* a NUL inside the input is not base64url */
    snprintf(buf, sizeof buf, "%s.%s.%s", h, pl, SIG86);
    size_t n = strlen(buf);
    buf[3] = '\0';
    struct hg_jws p;
    assert_int_equal(hg_jws_parse(buf, n, &p, NULL), HG_EPARSE);
    /* a length shorter than the string: only n bytes are read */
    buf[3] = h[3];
    assert_int_equal(hg_jws_parse(buf, n - 1, &p, NULL), HG_EPARSE);
    assert_int_equal(hg_jws_parse(buf, n, &p, NULL), HG_OK);
    hg_jws_free(&p);
    assert_int_equal(hg_jws_parse(NULL, 3, &p, NULL), HG_EINVAL);
}

/* --------------------------------------------------------------- JWK */

static json_t *jload(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (!j)
        fail_msg("bad test JSON: %s", e.text);
    return j;
}

static void jwk_roundtrip(enum hg_sign_alg salg)
{
    struct hg_sign_key *k = genkey(salg);
    json_t *jwk = hg_jwk_export(k, "kid-9", 1);
    assert_non_null(jwk);
    int ec = salg == HG_SIGN_ES256;
    assert_string_equal(json_string_value(json_object_get(jwk, "kty")), ec ? "EC" : "OKP");
    assert_string_equal(json_string_value(json_object_get(jwk, "crv")), ec ? "P-256" : "Ed25519");
    assert_string_equal(json_string_value(json_object_get(jwk, "kid")), "kid-9");
    assert_string_equal(json_string_value(json_object_get(jwk, "alg")), ec ? "ES256" : "EdDSA");
    assert_string_equal(json_string_value(json_object_get(jwk, "use")), "sig");
    assert_int_equal(json_object_get(jwk, "y") != NULL, ec);
    assert_null(json_object_get(jwk, "d"));
    assert_int_equal(json_string_length(json_object_get(jwk, "x")), 43);

    struct hg_sign_key *back = NULL;
    struct hg_err err;
    assert_int_equal(hg_jwk_import(jwk, &back, &err), HG_OK);
    assert_false(hg_sign_key_has_private(back));
    char t1[HG_JWK_THUMB_LEN + 1], t2[HG_JWK_THUMB_LEN + 1];
    assert_int_equal(hg_jwk_thumbprint(k, t1), HG_OK);
    assert_int_equal(hg_jwk_thumbprint(back, t2), HG_OK);
    assert_int_equal(strlen(t1), HG_JWK_THUMB_LEN);
    assert_string_equal(t1, t2);
    /* the imported public key verifies what the private key signs */
    json_t *payload = json_pack("{s:i}", "n", 1);
    char *s = NULL;
    assert_int_equal(hg_jws_sign(k, NULL, NULL, NULL, payload, &s, NULL, NULL), HG_OK);
    struct hg_jws p;
    assert_int_equal(parse_str(s, &p, NULL), HG_OK);
    assert_int_equal(hg_jws_verify(&p, back), HG_OK);
    hg_jws_free(&p);
    free(s);
    /* export without kid/alg: only kty, crv, x[, y] */
    json_t *bare = hg_jwk_export(back, NULL, 0);
    assert_int_equal(json_object_size(bare), ec ? 4u : 3u);

    json_decref(bare);
    json_decref(payload);
    json_decref(jwk);
    hg_sign_key_free(back);
    hg_sign_key_free(k);
}

static void test_jwk_roundtrip(void **state)
{
    (void)state;
    jwk_roundtrip(HG_SIGN_ES256);
    jwk_roundtrip(HG_SIGN_ED25519);
}

static void expect_import(const char *s, hg_status want, const char *msgpart)
{
    json_t *j = jload(s);
    struct hg_sign_key *k = (struct hg_sign_key *)1;
    struct hg_err err;
    hg_err_clear(&err);
    hg_status st = hg_jwk_import(j, &k, &err);
    if (st != want)
        fail_msg("import of %s gave %s (%s), want %s", s, hg_status_name(st), err.msg,
                 hg_status_name(want));
    if (msgpart && !strstr(err.msg, msgpart))
        fail_msg("message '%s' lacks '%s'", err.msg, msgpart);
    if (st == HG_OK)
        hg_sign_key_free(k);
    else
        assert_null(k);
    json_decref(j);
}

/* RFC 8037 A.1/A.2 and RFC 9449 example keys */
#define ED_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define EC_X "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs"
#define EC_Y "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"

static void test_jwk_import_refusals(void **state)
{
    (void)state;
    expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\"}", HG_OK, NULL);
    expect_import("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y
                  "\",\"alg\":\"ES256\",\"use\":\"sig\"}",
                  HG_OK, NULL);
    /* private members */
    expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X
                  "\",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"}",
                  HG_EPARSE, "private");
    expect_import("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y
                  "\",\"d\":\"jpsQnnGQmL-YBIffH1136cLKG7HlYs6jQJQFjXfg9uU\"}",
                  HG_EPARSE, "private");
    /* coordinate lengths: 31 bytes, 33 bytes, missing y, padded */
    expect_import("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\",\"y\":\"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRD\"}",
                  HG_EPARSE, "32 bytes");
    expect_import("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "AA\",\"y\":\"" EC_Y "\"}",
                  HG_EPARSE, "32 bytes");
    expect_import("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\"}", HG_EPARSE, "\"y\"");
    expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "=\"}", HG_EPARSE,
                  "32 bytes");
    expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}", HG_EPARSE, "32 bytes");
    expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":32}", HG_EPARSE, "string");
    /* a point that is not on P-256 (y of the example point with one bit changed) */
    expect_import("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X
                  "\",\"y\":\"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDE\"}",
                  HG_EPARSE, NULL);
    expect_import("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
                  "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
                  HG_EPARSE, NULL);
    /* types and curves we do not support */
    expect_import("{\"kty\":\"RSA\",\"n\":\"sXch\",\"e\":\"AQAB\"}", HG_EUNSUPPORTED, "RSA");
    expect_import("{\"kty\":\"oct\",\"k\":\"AAAA\"}", HG_EUNSUPPORTED, "oct");
    expect_import("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y "\"}",
                  HG_EUNSUPPORTED, "P-384");
    expect_import("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" ED_X "\"}", HG_EUNSUPPORTED,
                  "X25519");
    expect_import("{\"kty\":\"OKP\",\"x\":\"" ED_X "\"}", HG_EPARSE, "crv");
    expect_import("{\"crv\":\"Ed25519\",\"x\":\"" ED_X "\"}", HG_EPARSE, "kty");
    expect_import("[1]", HG_EPARSE, "object");
    /* alg must agree with the key type */
    expect_import("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\",\"alg\":\"ES256\"}",
                  HG_EPARSE, "does not match");
    expect_import("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y
                  "\",\"alg\":\"EdDSA\"}",
                  HG_EPARSE, "does not match");
    expect_import("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y
                  "\",\"alg\":\"ECDH-ES\"}",
                  HG_EUNSUPPORTED, "ECDH-ES");
}

static void test_thumbprint_known(void **state)
{
    (void)state;
    /* RFC 8037 A.3 */
    json_t *j = jload("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\"}");
    struct hg_sign_key *k = NULL;
    assert_int_equal(hg_jwk_import(j, &k, NULL), HG_OK);
    char t[HG_JWK_THUMB_LEN + 1];
    assert_int_equal(hg_jwk_thumbprint(k, t), HG_OK);
    assert_string_equal(t, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    /* exported members read back exactly */
    json_t *e = hg_jwk_export(k, NULL, 0);
    assert_true(json_equal(e, j));
    json_decref(e);
    hg_sign_key_free(k);
    json_decref(j);
    /* RFC 9449 §6.1 (the jkt of its example key) */
    j = jload("{\"kty\":\"EC\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y "\",\"crv\":\"P-256\"}");
    assert_int_equal(hg_jwk_import(j, &k, NULL), HG_OK);
    assert_int_equal(hg_jwk_thumbprint(k, t), HG_OK);
    assert_string_equal(t, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    hg_sign_key_free(k);
    json_decref(j);
}

/* --------------------------------------------------------------- JWKS */

static hg_status jwks(const char *s, struct hg_jwks **out, struct hg_err *err)
{
    return hg_jwks_parse(s, strlen(s), out, err);
}

static void test_jwks(void **state)
{
    (void)state;
    struct hg_sign_key *k1 = genkey(HG_SIGN_ES256), *k2 = genkey(HG_SIGN_ED25519);
    json_t *keys = json_array();
    json_array_append_new(keys, jload("{\"kty\":\"RSA\",\"kid\":\"rsa-1\",\"use\":\"sig\","
                                      "\"n\":\"0vx7\",\"e\":\"AQAB\",\"alg\":\"RS256\"}"));
    json_array_append_new(keys, hg_jwk_export(k1, "ec-1", 1));
    json_array_append_new(keys, hg_jwk_export(k2, "ed-1", 0));
    /* skipped: no kid; use enc; another curve */
    json_array_append_new(keys, hg_jwk_export(k1, NULL, 1));
    json_t *enc = hg_jwk_export(k1, "enc-1", 0);
    json_object_set_new(enc, "use", json_string("enc"));
    json_array_append_new(keys, enc);
    json_array_append_new(keys, jload("{\"kty\":\"EC\",\"kid\":\"p384\",\"crv\":\"P-384\","
                                      "\"x\":\"AAAA\",\"y\":\"AAAA\"}"));
    json_t *doc = json_pack("{s:o}", "keys", keys);
    char *s = json_dumps(doc, JSON_COMPACT);
    struct hg_jwks *set = NULL;
    struct hg_err err;
    assert_int_equal(jwks(s, &set, &err), HG_OK);
    assert_int_equal(hg_jwks_count(set), 2);
    const struct hg_sign_key *f1 = hg_jwks_find(set, "ec-1"), *f2 = hg_jwks_find(set, "ed-1");
    assert_non_null(f1);
    assert_non_null(f2);
    assert_null(hg_jwks_find(set, "rsa-1"));
    assert_null(hg_jwks_find(set, "enc-1"));
    assert_null(hg_jwks_find(set, "p384"));
    assert_null(hg_jwks_find(set, "ec-"));
    assert_null(hg_jwks_find(set, NULL));
    char ta[HG_JWK_THUMB_LEN + 1], tb[HG_JWK_THUMB_LEN + 1];
    assert_int_equal(hg_jwk_thumbprint(k1, ta), HG_OK);
    assert_int_equal(hg_jwk_thumbprint(f1, tb), HG_OK);
    assert_string_equal(ta, tb);
    /* a token signed by k1 with kid ec-1 verifies with the found key */
    json_t *payload = json_pack("{s:s}", "sub", "x");
    char *tok = NULL;
    assert_int_equal(hg_jws_sign(k1, "at+jwt", "ec-1", NULL, payload, &tok, NULL, NULL), HG_OK);
    struct hg_jws p;
    assert_int_equal(parse_str(tok, &p, NULL), HG_OK);
    assert_int_equal(hg_jws_verify(&p, hg_jwks_find(set, p.kid)), HG_OK);
    assert_int_equal(hg_jws_verify(&p, f2), HG_EVERIFY);
    hg_jws_free(&p);
    free(tok);
    json_decref(payload);
    hg_jwks_free(set);
    free(s);

    /* duplicate kid among usable keys */
    json_array_append_new(keys, hg_jwk_export(k2, "ec-1", 0));
    s = json_dumps(doc, JSON_COMPACT);
    set = (struct hg_jwks *)1;
    assert_int_equal(jwks(s, &set, &err), HG_EPARSE);
    assert_non_null(strstr(err.msg, "ec-1"));
    assert_null(set);
    free(s);
    json_decref(doc);

    /* a malformed supported key fails the set, naming the kid */
    assert_int_equal(jwks("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"bad\",\"x\":\"AA\"}]}",
                          &set, &err),
                     HG_EPARSE);
    assert_non_null(strstr(err.msg, "bad"));
    /* a private key in a set is refused */
    assert_int_equal(jwks("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"p\",\"x\":\"" ED_X
                          "\",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"}]}",
                          &set, &err),
                     HG_EPARSE);
    /* empty set is fine */
    assert_int_equal(jwks("{\"keys\":[]}", &set, &err), HG_OK);
    assert_int_equal(hg_jwks_count(set), 0);
    hg_jwks_free(set);
    /* structure */
    assert_int_equal(jwks("{}", &set, &err), HG_EPARSE);
    assert_int_equal(jwks("{\"keys\":{}}", &set, &err), HG_EPARSE);
    assert_int_equal(jwks("{\"keys\":[1]}", &set, &err), HG_EPARSE);
    assert_int_equal(jwks("[]", &set, &err), HG_EPARSE);
    assert_int_equal(jwks("{\"keys\":[],\"keys\":[]}", &set, &err), HG_EPARSE);
    assert_int_equal(jwks("{\"keys\":[{\"kid\":5,\"kty\":\"OKP\"}]}", &set, &err), HG_EPARSE);
    assert_int_equal(jwks("{\"keys\":[{\"kid\":\"a\",\"use\":1}]}", &set, &err), HG_EPARSE);
    /* bounds: keys and bytes */
    json_t *many = json_array();
    for (int i = 0; i <= HG_JWKS_MAX_KEYS; i++)
        json_array_append_new(many, json_object());
    json_t *mdoc = json_pack("{s:o}", "keys", many);
    s = json_dumps(mdoc, JSON_COMPACT);
    assert_int_equal(jwks(s, &set, &err), HG_ETOOBIG);
    json_array_remove(many, 0);
    free(s);
    s = json_dumps(mdoc, JSON_COMPACT);
    assert_int_equal(jwks(s, &set, &err), HG_OK); /* exactly the maximum, none usable */
    assert_int_equal(hg_jwks_count(set), 0);
    hg_jwks_free(set);
    free(s);
    json_decref(mdoc);
    char *big = malloc(HG_JWKS_MAX_BYTES + 2);
    memset(big, ' ', HG_JWKS_MAX_BYTES + 1);
    big[HG_JWKS_MAX_BYTES + 1] = '\0';
    assert_int_equal(hg_jwks_parse(big, HG_JWKS_MAX_BYTES + 1, &set, &err), HG_ETOOBIG);
    free(big);
    assert_int_equal(hg_jwks_count(NULL), 0);
    hg_jwks_free(NULL);
    hg_sign_key_free(k1);
    hg_sign_key_free(k2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_es256),
        cmocka_unit_test(test_roundtrip_eddsa),
        cmocka_unit_test(test_sign_refusals),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_alg_refused),
        cmocka_unit_test(test_alg_confusion),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_jwk_roundtrip),
        cmocka_unit_test(test_jwk_import_refusals),
        cmocka_unit_test(test_thumbprint_known),
        cmocka_unit_test(test_jwks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
