/* SPDX-License-Identifier: Apache-2.0
 *
 * test_dpop.c — auth/dpop with proofs made here by hg_jws_sign (ES256 and
 * EdDSA): a good proof verifies and yields the key's thumbprint, and every
 * check has a case that fails it — typ, alg, jwk (missing, private, not the
 * signer), htm, htu (with the normalisation equivalences), iat on both
 * sides, jti, replay (including a proof dated in the future), ath, jkt,
 * nonces (required, missing, stale, foreign, valid, shared secret), the
 * replay cache's bound (HG_EBUSY) and its eviction of expired entries, and
 * two threads verifying distinct proofs at once. The unit's .c is included
 * so the replay table's wrap-around and backward-shift deletion can be
 * driven directly with chosen hashes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the unit itself, to reach the replay table's statics */
#include "auth/dpop.c"
#include "common/util.h"

#define NOW 1700000000
#define URL "https://gw.example.com/v1/tenders"
#define WINDOW 60

static struct hg_dpop *verifier(size_t cache, int nonce, const uint8_t *secret)
{
    struct hg_dpop_opts o = {.iat_window_s = WINDOW,
                             .jti_cache_max = cache,
                             .require_nonce = nonce,
                             .nonce_step_s = 300,
                             .nonce_secret = secret};
    struct hg_dpop *d = NULL;
    struct hg_err err;
    assert_int_equal(hg_dpop_new(&o, &d, &err), HG_OK);
    return d;
}

static struct hg_sign_key *genkey(enum hg_sign_alg alg)
{
    struct hg_sign_key *k = NULL;
    assert_int_equal(hg_sign_key_generate(alg, &k, NULL), HG_OK);
    return k;
}

static json_t *claims(const char *jti, const char *htm, const char *htu, int64_t iat)
{
    json_t *c = json_object();
    if (jti)
        json_object_set_new(c, "jti", json_string(jti));
    if (htm)
        json_object_set_new(c, "htm", json_string(htm));
    if (htu)
        json_object_set_new(c, "htu", json_string(htu));
    json_object_set_new(c, "iat", json_integer(iat));
    return c;
}

/* A proof signed by k with typ and a header jwk (k's public JWK when jwk is
 * NULL). Takes ownership of c and jwk. */
static char *sign_proof(struct hg_sign_key *k, const char *typ, json_t *jwk, json_t *c)
{
    if (!jwk)
        jwk = hg_jwk_export(k, NULL, 0);
    json_t *extra = json_object();
    json_object_set_new(extra, "jwk", jwk);
    char *out = NULL;
    struct hg_err err;
    if (hg_jws_sign(k, typ, NULL, extra, c, &out, NULL, &err) != HG_OK)
        fail_msg("sign: %s", err.msg);
    json_decref(extra);
    json_decref(c);
    return out;
}

static char *proof(struct hg_sign_key *k, json_t *c)
{
    return sign_proof(k, "dpop+jwt", NULL, c);
}

static struct hg_dpop_expect expect(const char *method, const char *url, int64_t now)
{
    struct hg_dpop_expect e = {.method = method, .url = url, .now = now};
    return e;
}

/* verify p (freed) and check the status and a piece of the message */
static void check(struct hg_dpop *d, char *p, const struct hg_dpop_expect *e, hg_status want,
                  const char *msgpart)
{
    struct hg_dpop_result res;
    struct hg_err err;
    hg_err_clear(&err);
    hg_status st = hg_dpop_verify(d, p, strlen(p), e, &res, &err);
    if (st != want)
        fail_msg("verify gave %s (%s), want %s", hg_status_name(st), err.msg,
                 hg_status_name(want));
    if (msgpart && !strstr(err.msg, msgpart))
        fail_msg("message '%s' lacks '%s'", err.msg, msgpart);
    if (st != HG_OK)
        assert_string_equal(res.jkt, "");
    free(p);
}

static void good_proof(enum hg_sign_alg alg)
{
    struct hg_dpop *d = verifier(1000, 0, NULL);
    struct hg_sign_key *k = genkey(alg);
    char *p = proof(k, claims("j-1", "POST", URL, NOW));
    struct hg_dpop_expect e = expect("POST", URL, NOW);
    struct hg_dpop_result res;
    struct hg_err err;
    assert_int_equal(hg_dpop_verify(d, p, strlen(p), &e, &res, &err), HG_OK);
    char t[HG_JWK_THUMB_LEN + 1];
    assert_int_equal(hg_jwk_thumbprint(k, t), HG_OK);
    assert_string_equal(res.jkt, t);
    assert_int_equal(res.iat, NOW);
    assert_int_equal(hg_dpop_jti_count(d), 1);
    /* the same proof again is a replay */
    assert_int_equal(hg_dpop_verify(d, p, strlen(p), &e, &res, &err), HG_EVERIFY);
    assert_non_null(strstr(err.msg, "replayed"));
    assert_int_equal(hg_dpop_jti_count(d), 1);
    free(p);
    /* the same jti under another key is another proof */
    struct hg_sign_key *k2 = genkey(alg);
    check(d, proof(k2, claims("j-1", "POST", URL, NOW)), &e, HG_OK, NULL);
    assert_int_equal(hg_dpop_jti_count(d), 2);
    hg_sign_key_free(k2);
    hg_sign_key_free(k);
    hg_dpop_free(d);
}

static void test_good_es256(void **state)
{
    (void)state;
    good_proof(HG_SIGN_ES256);
}

static void test_good_eddsa(void **state)
{
    (void)state;
    good_proof(HG_SIGN_ED25519);
}

static void test_typ_alg_jwk(void **state)
{
    (void)state;
    struct hg_dpop *d = verifier(1000, 0, NULL);
    struct hg_sign_key *k = genkey(HG_SIGN_ES256), *other = genkey(HG_SIGN_ES256);
    struct hg_dpop_expect e = expect("POST", URL, NOW);

    check(d, sign_proof(k, "JWT", NULL, claims("a", "POST", URL, NOW)), &e, HG_EVERIFY,
          "dpop+jwt");
    check(d, sign_proof(k, "at+jwt", NULL, claims("a", "POST", URL, NOW)), &e, HG_EVERIFY,
          "dpop+jwt");
    check(d, sign_proof(k, NULL, NULL, claims("a", "POST", URL, NOW)), &e, HG_EVERIFY,
          "has none");
    /* media type names are case-insensitive (RFC 7515 §4.1.9) */
    check(d, sign_proof(k, "DPoP+JWT", NULL, claims("typ-case", "POST", URL, NOW)), &e, HG_OK,
          NULL);

    /* jwk missing, not an object, private, of another key, of another type */
    json_t *extra = json_object();
    char *p = NULL;
    json_t *c = claims("b", "POST", URL, NOW);
    assert_int_equal(hg_jws_sign(k, "dpop+jwt", NULL, NULL, c, &p, NULL, NULL), HG_OK);
    check(d, p, &e, HG_EVERIFY, "no \"jwk\"");
    json_object_set_new(extra, "jwk", json_string("key"));
    assert_int_equal(hg_jws_sign(k, "dpop+jwt", NULL, extra, c, &p, NULL, NULL), HG_OK);
    check(d, p, &e, HG_EVERIFY, "no \"jwk\"");
    json_decref(extra);
    json_decref(c);
    json_t *priv = hg_jwk_export(k, NULL, 0);
    json_object_set_new(priv, "d", json_string("jpsQnnGQmL-YBIffH1136cLKG7HlYs6jQJQFjXfg9uU"));
    check(d, sign_proof(k, "dpop+jwt", priv, claims("c", "POST", URL, NOW)), &e, HG_EVERIFY,
          "private");
    check(d, sign_proof(k, "dpop+jwt", hg_jwk_export(other, NULL, 0), claims("d", "POST", URL, NOW)),
          &e, HG_EVERIFY, "signature");
    struct hg_sign_key *ed = genkey(HG_SIGN_ED25519);
    check(d, sign_proof(k, "dpop+jwt", hg_jwk_export(ed, NULL, 0), claims("e", "POST", URL, NOW)),
          &e, HG_EVERIFY, "signature");
    check(d, sign_proof(k, "dpop+jwt", json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", "AQAB", "e", "AQAB"),
                        claims("f", "POST", URL, NOW)),
          &e, HG_EVERIFY, "RSA");

    /* alg none / HS256 with an otherwise perfect header and claims */
    json_t *jwk = hg_jwk_export(k, NULL, 0);
    static const char *const algs[] = {"none", "HS256", "RS256"};
    for (int i = 0; i < 3; i++) {
        json_t *h = json_pack("{s:s,s:s,s:O}", "typ", "dpop+jwt", "alg", algs[i], "jwk", jwk);
        char *hs = json_dumps(h, JSON_COMPACT), *cs = NULL;
        json_t *cl = claims("g", "POST", URL, NOW);
        cs = json_dumps(cl, JSON_COMPACT);
        char hb[1024], cb[1024], buf[4096];
        hg_b64url_encode(hs, strlen(hs), hb, sizeof hb);
        hg_b64url_encode(cs, strlen(cs), cb, sizeof cb);
        snprintf(buf, sizeof buf, "%s.%s.%s", hb, cb,
                 i == 0 ? "" : "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        check(d, strdup(buf), &e, HG_EVERIFY, algs[i]);
        free(hs);
        free(cs);
        json_decref(h);
        json_decref(cl);
    }
    json_decref(jwk);
    /* not a JWS at all, and too long */
    check(d, strdup("not.a.jws"), &e, HG_EVERIFY, "DPoP proof");
    char *big = malloc(HG_DPOP_MAX + 2);
    memset(big, 'a', HG_DPOP_MAX + 1);
    big[HG_DPOP_MAX + 1] = '\0';
    check(d, big, &e, HG_ETOOBIG, NULL);
    assert_int_equal(hg_dpop_jti_count(d), 1); /* only the typ-case proof */
    hg_sign_key_free(ed);
    hg_sign_key_free(k);
    hg_sign_key_free(other);
    hg_dpop_free(d);
}

static void test_htm_htu(void **state)
{
    (void)state;
    struct hg_dpop *d = verifier(1000, 0, NULL);
    struct hg_sign_key *k = genkey(HG_SIGN_ED25519);
    struct hg_dpop_expect e = expect("POST", "https://host/a", NOW);
    check(d, proof(k, claims("1", "GET", "https://host/a", NOW)), &e, HG_EVERIFY, "htm");
    check(d, proof(k, claims("2", "post", "https://host/a", NOW)), &e, HG_EVERIFY, "htm");
    check(d, proof(k, claims("3", NULL, "https://host/a", NOW)), &e, HG_EVERIFY, "htm");
    check(d, proof(k, claims("4", "POST", NULL, NOW)), &e, HG_EVERIFY, "htu");
    check(d, proof(k, claims("5", "POST", "https://host/b", NOW)), &e, HG_EVERIFY, "htu");
    check(d, proof(k, claims("6", "POST", "http://host/a", NOW)), &e, HG_EVERIFY, "htu");
    check(d, proof(k, claims("7", "POST", "https://host:8443/a", NOW)), &e, HG_EVERIFY, "htu");
    check(d, proof(k, claims("8", "POST", "https://other/a", NOW)), &e, HG_EVERIFY, "htu");
    check(d, proof(k, claims("9", "POST", "https://host/A", NOW)), &e, HG_EVERIFY, "htu");
    check(d, proof(k, claims("10", "POST", "ftp://host/a", NOW)), &e, HG_EVERIFY, "http(s)");
    check(d, proof(k, claims("11", "POST", "https://u@host/a", NOW)), &e, HG_EVERIFY, "http(s)");
    /* equivalent spellings */
    check(d, proof(k, claims("20", "POST", "HTTPS://Host:443/a", NOW)), &e, HG_OK, NULL);
    check(d, proof(k, claims("21", "POST", "https://host/a?x=1#frag", NOW)), &e, HG_OK, NULL);
    check(d, proof(k, claims("22", "POST", "https://host/%61", NOW)), &e, HG_OK, NULL);
    check(d, proof(k, claims("23", "POST", "https://host/x/../a", NOW)), &e, HG_OK, NULL);
    struct hg_dpop_expect e2 = expect("GET", "https://host/~u/x%2fy?q", NOW);
    check(d, proof(k, claims("24", "GET", "https://HOST/%7eu/x%2Fy", NOW)), &e2, HG_OK, NULL);
    check(d, proof(k, claims("25", "GET", "https://host/%7Eu/x/y", NOW)), &e2, HG_EVERIFY,
          "htu");
    /* the server's own URL must be valid */
    struct hg_dpop_expect bad = expect("POST", "not a url", NOW);
    check(d, proof(k, claims("26", "POST", "https://host/a", NOW)), &bad, HG_EINVAL, NULL);
    hg_sign_key_free(k);
    hg_dpop_free(d);
}

static void test_iat_jti(void **state)
{
    (void)state;
    struct hg_dpop *d = verifier(1000, 0, NULL);
    struct hg_sign_key *k = genkey(HG_SIGN_ES256);
    struct hg_dpop_expect e = expect("POST", URL, NOW);
    check(d, proof(k, claims("a", "POST", URL, NOW - WINDOW - 1)), &e, HG_EVERIFY, "iat");
    check(d, proof(k, claims("b", "POST", URL, NOW + WINDOW + 1)), &e, HG_EVERIFY, "iat");
    check(d, proof(k, claims("c", "POST", URL, INT64_MIN)), &e, HG_EVERIFY, "iat");
    check(d, proof(k, claims("c2", "POST", URL, INT64_MAX)), &e, HG_EVERIFY, "iat");
    check(d, proof(k, claims("d", "POST", URL, NOW - WINDOW)), &e, HG_OK, NULL);
    check(d, proof(k, claims("e", "POST", URL, NOW + WINDOW)), &e, HG_OK, NULL);
    json_t *c = claims("f", "POST", URL, NOW);
    json_object_set_new(c, "iat", json_string("1700000000"));
    check(d, proof(k, c), &e, HG_EVERIFY, "iat");
    c = claims("g", "POST", URL, NOW);
    json_object_set_new(c, "iat", json_real(1700000000.0));
    check(d, proof(k, c), &e, HG_EVERIFY, "iat");
    c = claims("h", "POST", URL, NOW);
    json_object_del(c, "iat");
    check(d, proof(k, c), &e, HG_EVERIFY, "iat");
    /* jti: missing, empty, not a string, too long; 256 bytes is fine */
    check(d, proof(k, claims(NULL, "POST", URL, NOW)), &e, HG_EVERIFY, "jti");
    check(d, proof(k, claims("", "POST", URL, NOW)), &e, HG_EVERIFY, "jti");
    c = claims("x", "POST", URL, NOW);
    json_object_set_new(c, "jti", json_integer(5));
    check(d, proof(k, c), &e, HG_EVERIFY, "jti");
    char jti[258];
    memset(jti, 'j', 257);
    jti[257] = '\0';
    check(d, proof(k, claims(jti, "POST", URL, NOW)), &e, HG_EVERIFY, "jti");
    jti[256] = '\0';
    check(d, proof(k, claims(jti, "POST", URL, NOW)), &e, HG_OK, NULL);
    hg_sign_key_free(k);
    hg_dpop_free(d);
}

static void test_future_iat_replay(void **state)
{
    (void)state;
    /* a proof dated at the far edge of the window must stay remembered for
     * as long as its iat passes the window check, not just now + window */
    struct hg_dpop *d = verifier(1000, 0, NULL);
    struct hg_sign_key *k = genkey(HG_SIGN_ES256);
    char *p = proof(k, claims("future", "POST", URL, NOW + WINDOW));
    struct hg_dpop_expect e = expect("POST", URL, NOW);
    struct hg_err err;
    assert_int_equal(hg_dpop_verify(d, p, strlen(p), &e, NULL, &err), HG_OK);
    for (int64_t t = NOW + 1; t <= NOW + 2 * WINDOW; t += 7) {
        e.now = t;
        assert_int_equal(hg_dpop_verify(d, p, strlen(p), &e, NULL, &err), HG_EVERIFY);
        assert_non_null(strstr(err.msg, "replayed"));
    }
    e.now = NOW + 2 * WINDOW;
    assert_int_equal(hg_dpop_verify(d, p, strlen(p), &e, NULL, &err), HG_EVERIFY);
    assert_non_null(strstr(err.msg, "replayed"));
    e.now = NOW + 2 * WINDOW + 1; /* now the iat itself is out of the window */
    assert_int_equal(hg_dpop_verify(d, p, strlen(p), &e, NULL, &err), HG_EVERIFY);
    assert_non_null(strstr(err.msg, "iat"));
    free(p);
    hg_sign_key_free(k);
    hg_dpop_free(d);
}

static void test_ath_jkt(void **state)
{
    (void)state;
    struct hg_dpop *d = verifier(1000, 0, NULL);
    struct hg_sign_key *k = genkey(HG_SIGN_ES256), *other = genkey(HG_SIGN_ES256);
    const char *tok = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.sig";
    char ath[HG_JWK_THUMB_LEN + 1], jkt[HG_JWK_THUMB_LEN + 1], ojkt[HG_JWK_THUMB_LEN + 1];
    hg_dpop_ath(tok, strlen(tok), ath);
    assert_int_equal(strlen(ath), HG_JWK_THUMB_LEN);
    assert_int_equal(hg_jwk_thumbprint(k, jkt), HG_OK);
    assert_int_equal(hg_jwk_thumbprint(other, ojkt), HG_OK);
    struct hg_dpop_expect e = expect("GET", URL, NOW);
    e.access_token = tok;
    e.access_token_len = strlen(tok);

    check(d, proof(k, claims("a", "GET", URL, NOW)), &e, HG_EVERIFY, "ath");
    json_t *c = claims("b", "GET", URL, NOW);
    json_object_set_new(c, "ath", json_string("fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"));
    check(d, proof(k, c), &e, HG_EVERIFY, "ath");
    c = claims("b2", "GET", URL, NOW);
    json_object_set_new(c, "ath", json_string("short"));
    check(d, proof(k, c), &e, HG_EVERIFY, "ath");
    c = claims("c", "GET", URL, NOW);
    json_object_set_new(c, "ath", json_string(ath));
    check(d, proof(k, c), &e, HG_OK, NULL);
    /* the hash covers the exact bytes: one byte less is another token */
    e.access_token_len--;
    c = claims("d", "GET", URL, NOW);
    json_object_set_new(c, "ath", json_string(ath));
    check(d, proof(k, c), &e, HG_EVERIFY, "ath");
    e.access_token_len++;

    /* bound to a key: the proof's key must be that one */
    e.jkt = ojkt;
    c = claims("e", "GET", URL, NOW);
    json_object_set_new(c, "ath", json_string(ath));
    check(d, proof(k, c), &e, HG_EVERIFY, "not the one the token is bound to");
    e.jkt = jkt;
    c = claims("f", "GET", URL, NOW);
    json_object_set_new(c, "ath", json_string(ath));
    check(d, proof(k, c), &e, HG_OK, NULL);
    e.jkt = "short";
    c = claims("g", "GET", URL, NOW);
    json_object_set_new(c, "ath", json_string(ath));
    check(d, proof(k, c), &e, HG_EVERIFY, "bound");
    /* no token (token endpoint): an ath is not required, and ignored */
    struct hg_dpop_expect te = expect("POST", URL, NOW);
    check(d, proof(k, claims("h", "POST", URL, NOW)), &te, HG_OK, NULL);
    hg_sign_key_free(k);
    hg_sign_key_free(other);
    hg_dpop_free(d);
}

static char *nonce_proof(struct hg_sign_key *k, const char *jti, const char *nonce, int64_t iat)
{
    json_t *c = claims(jti, "POST", URL, iat);
    if (nonce)
        json_object_set_new(c, "nonce", json_string(nonce));
    return proof(k, c);
}

static void test_nonce(void **state)
{
    (void)state;
    uint8_t secret[32];
    memset(secret, 7, sizeof secret);
    struct hg_dpop *d = verifier(1000, 1, secret), *twin = verifier(1000, 1, secret);
    struct hg_dpop *stranger = verifier(1000, 1, NULL);
    assert_true(hg_dpop_requires_nonce(d));
    struct hg_sign_key *k = genkey(HG_SIGN_ED25519);
    struct hg_dpop_expect e = expect("POST", URL, NOW);
    char n[HG_DPOP_NONCE_LEN + 1], n2[HG_DPOP_NONCE_LEN + 1], ns[HG_DPOP_NONCE_LEN + 1];
    hg_dpop_nonce(d, NOW, n);
    hg_dpop_nonce(twin, NOW, n2);
    hg_dpop_nonce(stranger, NOW, ns);
    assert_int_equal(strlen(n), HG_DPOP_NONCE_LEN);
    assert_string_equal(n, n2);   /* stateless: a shared secret gives the same nonce */
    assert_string_not_equal(n, ns);

    check(d, nonce_proof(k, "a", NULL, NOW), &e, HG_ESTATE, "nonce");
    check(d, nonce_proof(k, "b", "garbage", NOW), &e, HG_ESTATE, "nonce");
    check(d, nonce_proof(k, "c", ns, NOW), &e, HG_ESTATE, "nonce");
    /* a nonce of the right shape with one MAC character changed */
    char bad[HG_DPOP_NONCE_LEN + 1];
    memcpy(bad, n, sizeof bad);
    bad[20] = bad[20] == 'A' ? 'B' : 'A';
    check(d, nonce_proof(k, "d", bad, NOW), &e, HG_ESTATE, "nonce");
    json_t *c = claims("e", "POST", URL, NOW);
    json_object_set_new(c, "nonce", json_integer(1));
    check(d, proof(k, c), &e, HG_ESTATE, "nonce");
    /* ESTATE is not a use of the jti: the same proof id with a nonce passes */
    check(d, nonce_proof(k, "a", n, NOW), &e, HG_OK, NULL);
    check(twin, nonce_proof(k, "a2", n, NOW), &e, HG_OK, NULL);
    /* previous step still good, two steps back stale, a future step refused */
    e.now = NOW + 300;
    check(d, nonce_proof(k, "f", n, NOW + 300), &e, HG_OK, NULL);
    e.now = NOW + 600;
    check(d, nonce_proof(k, "g", n, NOW + 600), &e, HG_ESTATE, "not current");
    char fut[HG_DPOP_NONCE_LEN + 1];
    hg_dpop_nonce(d, NOW + 900, fut);
    check(d, nonce_proof(k, "h", fut, NOW + 600), &e, HG_ESTATE, "not current");
    hg_dpop_nonce(d, NOW + 600, fut);
    check(d, nonce_proof(k, "i", fut, NOW + 600), &e, HG_OK, NULL);
    /* an invalid proof with a missing nonce is invalid, not "use a nonce" */
    check(d, nonce_proof(k, "j", NULL, NOW), &e, HG_EVERIFY, "iat");
    /* without require_nonce, a nonce is not checked */
    struct hg_dpop *plain = verifier(1000, 0, NULL);
    assert_false(hg_dpop_requires_nonce(plain));
    e.now = NOW;
    check(plain, nonce_proof(k, "k", "whatever", NOW), &e, HG_OK, NULL);
    hg_dpop_free(plain);
    hg_sign_key_free(k);
    hg_dpop_free(d);
    hg_dpop_free(twin);
    hg_dpop_free(stranger);
}

static void test_cache_bound(void **state)
{
    (void)state;
    struct hg_dpop *d = verifier(2, 0, NULL);
    struct hg_sign_key *k = genkey(HG_SIGN_ES256);
    struct hg_dpop_expect e = expect("POST", URL, NOW);
    check(d, proof(k, claims("1", "POST", URL, NOW)), &e, HG_OK, NULL);
    check(d, proof(k, claims("2", "POST", URL, NOW)), &e, HG_OK, NULL);
    check(d, proof(k, claims("3", "POST", URL, NOW)), &e, HG_EBUSY, "full");
    assert_int_equal(hg_dpop_jti_count(d), 2);
    /* still full while the entries are live (they live until NOW + WINDOW) */
    e.now = NOW + WINDOW;
    check(d, proof(k, claims("4", "POST", URL, NOW + WINDOW)), &e, HG_EBUSY, "full");
    /* a replay is still recognised as a replay when full */
    e.now = NOW;
    check(d, proof(k, claims("1", "POST", URL, NOW)), &e, HG_EVERIFY, "replayed");
    /* after they expire, inserting evicts them */
    e.now = NOW + WINDOW + 1;
    check(d, proof(k, claims("5", "POST", URL, NOW + WINDOW + 1)), &e, HG_OK, NULL);
    assert_int_equal(hg_dpop_jti_count(d), 1);
    check(d, proof(k, claims("6", "POST", URL, NOW + WINDOW + 1)), &e, HG_OK, NULL);
    assert_int_equal(hg_dpop_jti_count(d), 2);
    check(d, proof(k, claims("7", "POST", URL, NOW + WINDOW + 1)), &e, HG_EBUSY, NULL);
    hg_sign_key_free(k);
    hg_dpop_free(d);
}

/* The hash table itself, through the file's statics: 1000 keys whose
 * home slots are the last four of the table, so one probe run wraps around
 * the end; a sweep removes every other one; every survivor must still be
 * found (backward-shift deletion keeps runs intact) and no removed key. */
static void make_key(uint8_t key[KEY_LEN], uint32_t i)
{
    uint64_t h = UINT64_MAX - 1 - (i % 4);
    memcpy(key, &h, sizeof h);
    memcpy(key + 8, &i, sizeof i);
    memset(key + 12, 0, 4);
}

static void test_table_sweep(void **state)
{
    (void)state;
    struct hg_dpop *d = verifier(1000, 0, NULL); /* one shard of 1000 */
    assert_int_equal(d->nshards, 1);
    struct shard *sh = &d->shards[0];
    uint8_t key[KEY_LEN];
    for (uint32_t i = 0; i < 1000; i++) {
        make_key(key, i);
        assert_int_equal(remember(d, key, 0, (i & 1) ? 1000 : 10), HG_OK);
    }
    assert_int_equal(sh->count, 1000);
    assert_int_equal(sh->nslots, 2048);
    assert_int_equal(sh->min_exp, 10);
    make_key(key, 5000);
    /* full of live entries at now = 10: busy, nothing swept */
    assert_int_equal(remember(d, key, 10, 70), HG_EBUSY);
    assert_int_equal(sh->count, 1000);
    /* at now = 11 the even half has expired: the insert sweeps it */
    assert_int_equal(remember(d, key, 11, 71), HG_OK);
    assert_int_equal(sh->count, 501);
    assert_int_equal(sh->min_exp, 71);
    for (uint32_t i = 0; i < 1000; i++) {
        make_key(key, i);
        size_t at = slot_find(sh, key);
        if (i & 1) {
            assert_true(at != SIZE_MAX);
            assert_int_equal(sh->slots[at].exp, 1000);
            assert_int_equal(remember(d, key, 11, 71), HG_EVERIFY); /* live: replay */
        } else {
            assert_true(at == SIZE_MAX);
        }
    }
    make_key(key, 5000);
    assert_int_equal(remember(d, key, 11, 71), HG_EVERIFY);
    /* an expired entry found before any sweep is reused in place */
    make_key(key, 1);
    assert_int_equal(remember(d, key, 1001, 1061), HG_OK);
    assert_int_equal(sh->count, 501);
    hg_dpop_free(d);
}

struct worker {
    struct hg_dpop *d;
    char **proofs;
    int n;
    int ok;
};

static void *run_worker(void *arg)
{
    struct worker *w = arg;
    struct hg_dpop_expect e = expect("POST", URL, NOW);
    for (int i = 0; i < w->n; i++)
        if (hg_dpop_verify(w->d, w->proofs[i], strlen(w->proofs[i]), &e, NULL, NULL) == HG_OK)
            w->ok++;
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    enum { N = 150 };
    struct hg_dpop *d = verifier(100000, 0, NULL);
    struct hg_sign_key *k1 = genkey(HG_SIGN_ES256), *k2 = genkey(HG_SIGN_ED25519);
    char *p1[N], *p2[N];
    for (int i = 0; i < N; i++) {
        char jti[32];
        snprintf(jti, sizeof jti, "t-%d", i);
        p1[i] = proof(k1, claims(jti, "POST", URL, NOW));
        p2[i] = proof(k2, claims(jti, "POST", URL, NOW));
    }
    struct worker w1 = {d, p1, N, 0}, w2 = {d, p2, N, 0};
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, run_worker, &w1), 0);
    assert_int_equal(pthread_create(&t2, NULL, run_worker, &w2), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_int_equal(w1.ok, N);
    assert_int_equal(w2.ok, N);
    assert_int_equal(hg_dpop_jti_count(d), 2 * N);
    /* both threads replaying the same set: each proof accepted zero times */
    struct worker r1 = {d, p1, N, 0}, r2 = {d, p1, N, 0};
    assert_int_equal(pthread_create(&t1, NULL, run_worker, &r1), 0);
    assert_int_equal(pthread_create(&t2, NULL, run_worker, &r2), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_int_equal(r1.ok + r2.ok, 0);
    for (int i = 0; i < N; i++) {
        free(p1[i]);
        free(p2[i]);
    }
    hg_sign_key_free(k1);
    hg_sign_key_free(k2);
    hg_dpop_free(d);
}

static void norm(const char *in, hg_status want, const char *out)
{
    char buf[HG_DPOP_HTU_MAX + 1];
    hg_status st = hg_dpop_htu_normalize(in, strlen(in), buf, sizeof buf);
    if (st != want)
        fail_msg("normalize(%s) gave %s, want %s", in, hg_status_name(st), hg_status_name(want));
    if (out)
        assert_string_equal(buf, out);
    else
        assert_string_equal(buf, "");
}

static void test_htu_normalize(void **state)
{
    (void)state;
    norm("https://host/a", HG_OK, "https://host/a");
    norm("HTTPS://Host:443/a", HG_OK, "https://host/a");
    norm("HTTP://EXAMPLE.com:80", HG_OK, "http://example.com/");
    norm("http://example.com:443/", HG_OK, "http://example.com:443/");
    norm("https://h:/x", HG_OK, "https://h/x");
    norm("https://h:0443/x", HG_OK, "https://h/x");
    norm("https://h:8443", HG_OK, "https://h:8443/");
    norm("https://h?q=1", HG_OK, "https://h/");
    norm("https://h#f", HG_OK, "https://h/");
    norm("https://h/a%7eb", HG_OK, "https://h/a~b");
    norm("https://h/%41%2d%5F", HG_OK, "https://h/A-_");
    norm("https://h/%2f%3a%c3%a9", HG_OK, "https://h/%2F%3A%C3%A9");
    norm("https://h/a/./b/../c", HG_OK, "https://h/a/c");
    norm("https://h/a/b/..", HG_OK, "https://h/a/");
    norm("https://h/a/.", HG_OK, "https://h/a/");
    norm("https://h/../../x", HG_OK, "https://h/x");
    norm("https://h/%2E%2E/x", HG_OK, "https://h/x");
    norm("https://h/a/..b/.c", HG_OK, "https://h/a/..b/.c");
    norm("https://h/a;p=1/b:c@d!$&'()*+,=", HG_OK, "https://h/a;p=1/b:c@d!$&'()*+,=");
    norm("https://[::1]:8443/x", HG_OK, "https://[::1]:8443/x");
    norm("https://[FE80::A]/x", HG_OK, "https://[fe80::a]/x");
    norm("https://Host.Example.COM/CaseKept", HG_OK, "https://host.example.com/CaseKept");
    norm("ftp://h/", HG_EPARSE, NULL);
    norm("https:/h/", HG_EPARSE, NULL);
    norm("https//h/", HG_EPARSE, NULL);
    norm("httpx://h/", HG_EPARSE, NULL);
    norm("https:///a", HG_EPARSE, NULL);
    norm("https://:443/a", HG_EPARSE, NULL);
    norm("https://user@host/", HG_EPARSE, NULL);
    norm("https://user:pw@host/", HG_EPARSE, NULL);
    norm("https://host:99999/", HG_EPARSE, NULL);
    norm("https://host:4a/", HG_EPARSE, NULL);
    norm("https://host:-1/", HG_EPARSE, NULL);
    norm("https://ho%41st/", HG_EPARSE, NULL);
    norm("https://[::1/", HG_EPARSE, NULL);
    norm("https://[]/", HG_EPARSE, NULL);
    norm("https://[::1]x/", HG_EPARSE, NULL);
    norm("https://[g::1]/", HG_EPARSE, NULL);
    norm("https://h/a b", HG_EPARSE, NULL);
    norm("https://h/a\"b", HG_EPARSE, NULL);
    norm("https://h/a\\b", HG_EPARSE, NULL);
    norm("https://h/\xc3\xa9", HG_EPARSE, NULL);
    norm("https://h/%zz", HG_EPARSE, NULL);
    norm("https://h/%4", HG_EPARSE, NULL);
    norm("https://h/%", HG_EPARSE, NULL);
    norm("", HG_EPARSE, NULL);
    /* a NUL inside the n bytes (found by fuzz_dpop): refused, not truncated */
    char nul[] = "https://h/a\0b", nulout[64];
    assert_int_equal(hg_dpop_htu_normalize(nul, sizeof nul - 1, nulout, sizeof nulout), HG_EPARSE);
    assert_string_equal(nulout, "");
    char nulhost[] = "https://h\0x/a";
    assert_int_equal(hg_dpop_htu_normalize(nulhost, sizeof nulhost - 1, nulout, sizeof nulout),
                     HG_EPARSE);
    /* bounds: input over HG_DPOP_HTU_MAX, and an output buffer too short */
    char big[HG_DPOP_HTU_MAX + 2];
    memcpy(big, "https://h/", 10);
    memset(big + 10, 'a', sizeof big - 11);
    big[sizeof big - 1] = '\0';
    norm(big, HG_ETOOBIG, NULL);
    big[HG_DPOP_HTU_MAX] = '\0'; /* exactly the maximum */
    norm(big, HG_OK, big);
    char small[8];
    assert_int_equal(hg_dpop_htu_normalize("https://host/a", 14, small, sizeof small), HG_ETOOBIG);
    assert_string_equal(small, "");
    /* only n bytes are read */
    char mid[16];
    assert_int_equal(hg_dpop_htu_normalize("https://h/abc", 11, mid, sizeof mid), HG_OK);
    assert_string_equal(mid, "https://h/a");
    /* the output exactly fits (11 characters + NUL) or is one short */
    assert_int_equal(hg_dpop_htu_normalize("https://h/a", 11, mid, 12), HG_OK);
    assert_int_equal(hg_dpop_htu_normalize("https://h/a", 11, mid, 11), HG_ETOOBIG);
    /* an empty path that only the added '/' makes longer than the maximum */
    char host[HG_DPOP_HTU_MAX + 1];
    memcpy(host, "https://", 8);
    memset(host + 8, 'h', HG_DPOP_HTU_MAX - 8);
    host[HG_DPOP_HTU_MAX] = '\0';
    char out[HG_DPOP_HTU_MAX + 8];
    assert_int_equal(hg_dpop_htu_normalize(host, HG_DPOP_HTU_MAX, out, sizeof out), HG_ETOOBIG);
}

static void test_new_refusals(void **state)
{
    (void)state;
    struct hg_dpop *d = (struct hg_dpop *)1;
    struct hg_err err;
    struct hg_dpop_opts o = {.iat_window_s = 60, .jti_cache_max = 10, .nonce_step_s = 300};
    o.iat_window_s = 0;
    assert_int_equal(hg_dpop_new(&o, &d, &err), HG_EINVAL);
    assert_null(d);
    o.iat_window_s = 60;
    o.jti_cache_max = 0;
    assert_int_equal(hg_dpop_new(&o, &d, &err), HG_EINVAL);
    o.jti_cache_max = 10;
    o.nonce_step_s = 0;
    assert_int_equal(hg_dpop_new(&o, &d, &err), HG_EINVAL);
    o.nonce_step_s = 300;
    assert_int_equal(hg_dpop_new(&o, &d, &err), HG_OK);
    hg_dpop_free(d);
    hg_dpop_free(NULL);
    assert_int_equal(hg_dpop_jti_count(NULL), 0);
    /* the RFC 9449 §7.1 token's ath */
    char ath[HG_JWK_THUMB_LEN + 1];
    hg_dpop_ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", 43, ath);
    assert_string_equal(ath, "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_es256),
        cmocka_unit_test(test_good_eddsa),
        cmocka_unit_test(test_typ_alg_jwk),
        cmocka_unit_test(test_htm_htu),
        cmocka_unit_test(test_iat_jti),
        cmocka_unit_test(test_future_iat_replay),
        cmocka_unit_test(test_ath_jkt),
        cmocka_unit_test(test_nonce),
        cmocka_unit_test(test_cache_bound),
        cmocka_unit_test(test_table_sweep),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_htu_normalize),
        cmocka_unit_test(test_new_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
