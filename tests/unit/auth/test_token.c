/* SPDX-License-Identifier: Apache-2.0
 * test_token.c — auth/token: issue/verify round trips (both binds, both
 * algs), the exact payload we sign, every claim failure with its status and
 * message (and no echo of the token), hand-made alg-confusion tokens, and
 * the verified-token cache (hits, expiry, bound, two threads). Time is
 * injected; tokens are signed with a keyring in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/keyring.h"
#include "auth/scope.h"
#include "auth/token.h"
#include "common/util.h"
#include "crypto/hash.h"

#define T0 INT64_C(1800000000)
#define LIFE 300
#define LEEWAY 60
#define ISS "https://gw.test:8443"
#define AUD "https://gw.test:8443"
#define X5T "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg"
#define JKT "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

struct fx {
    char root[64];
    char dir[128];
    struct hg_keyring *kr;
    struct hg_tokens *t;
};

static struct hg_tokens *tokens_with(struct hg_keyring *kr, size_t cache_max)
{
    struct hg_token_opts o = {
        .issuer = ISS, .audience = AUD, .lifetime_s = LIFE, .leeway_s = LEEWAY,
        .cache_max = cache_max, .keys = kr, .external = NULL,
    };
    struct hg_tokens *t = NULL;
    struct hg_err err;
    if (hg_tokens_new(&o, &t, &err) != HG_OK)
        fail_msg("tokens_new: %s", hg_err_msg(&err));
    return t;
}

static int setup_alg(void **state, enum hg_jose_alg alg, size_t cache_max)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/hg-token-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/keys", f->root);
    struct hg_keyring_opts ko = {
        .dir = f->dir, .alg = alg, .publish_delay_s = 300, .token_lifetime_s = LIFE,
        .leeway_s = LEEWAY,
    };
    if (hg_keyring_open(&ko, T0 - 1000, &f->kr, NULL) != HG_OK)
        return -1;
    f->t = tokens_with(f->kr, cache_max);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_alg(state, HG_JOSE_ES256, 0);
}

static int setup_cached(void **state)
{
    return setup_alg(state, HG_JOSE_ES256, 64);
}

static int setup_eddsa(void **state)
{
    return setup_alg(state, HG_JOSE_EDDSA, 64);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    hg_tokens_free(f->t);
    hg_keyring_close(f->kr);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
    int rc = system(cmd);
    free(f);
    return rc;
}

static void fill(struct hg_token_claims *c, enum hg_token_bind bind, const char *name)
{
    memset(c, 0, sizeof *c);
    snprintf(c->sub, sizeof c->sub, "%s", name);
    snprintf(c->client_id, sizeof c->client_id, "%s", name);
    snprintf(c->tenant, sizeof c->tenant, "acme");
    c->scopes = HG_SCOPE_BIT_(TENDER_WRITE) | HG_SCOPE_BIT_(TENDER_READ);
    c->nroles = 2;
    snprintf(c->roles[0], sizeof c->roles[0], "tms");
    snprintf(c->roles[1], sizeof c->roles[1], "operator");
    c->bind = bind;
    snprintf(c->cnf, sizeof c->cnf, "%s", bind == HG_BIND_JKT ? JKT : X5T);
}

static char *issue(struct fx *f, int64_t now, struct hg_token_claims *c)
{
    char *tok = NULL;
    size_t n = 0;
    struct hg_err err;
    if (hg_token_issue(f->t, now, c, &tok, &n, &err) != HG_OK)
        fail_msg("issue: %s", hg_err_msg(&err));
    assert_int_equal(strlen(tok), n);
    return tok;
}

/* Decode base64url part i (0 header, 1 payload) of a compact JWS. */
static void part(const char *tok, int i, char *out, size_t cap)
{
    const char *s = tok;
    for (int k = 0; k < i; k++)
        s = strchr(s, '.') + 1;
    const char *e = strchr(s, '.');
    size_t n = 0;
    assert_int_equal(hg_b64url_decode(s, (size_t)(e - s), (unsigned char *)out, cap - 1, &n),
                     HG_OK);
    out[n] = '\0';
}

static hg_status verify(struct fx *f, const char *tok, int64_t now, struct hg_token_claims *c,
                        struct hg_err *err)
{
    hg_err_clear(err);
    hg_status st = hg_token_verify(f->t, tok, strlen(tok), now, c, err);
    /* whatever the outcome, the message never carries the token's payload
     * or signature */
    const char *p = strchr(tok, '.'), *sig = strrchr(tok, '.');
    char frag[21];
    if (p && strlen(p + 1) >= 20) {
        memcpy(frag, p + 1, 20);
        frag[20] = '\0';
        assert_null(strstr(err->msg, frag));
    }
    if (sig && strlen(sig + 1) >= 20) {
        memcpy(frag, sig + 1 + strlen(sig + 1) - 20, 20);
        frag[20] = '\0';
        assert_null(strstr(err->msg, frag));
    }
    return st;
}

static void expect(struct fx *f, const char *tok, int64_t now, hg_status want, const char *says)
{
    struct hg_token_claims c;
    struct hg_err err;
    hg_status st = verify(f, tok, now, &c, &err);
    if (st != want || (says && !strstr(err.msg, says)))
        fail_msg("want %s \"%s\", got %s \"%s\"", hg_status_name(want), says ? says : "",
                 hg_status_name(st), err.msg);
}

/* A token signed by our keyring over any payload (for claim failures). */
static char *sign_raw(struct fx *f, int64_t now, const char *typ, json_t *payload)
{
    char *tok = NULL;
    struct hg_err err;
    if (hg_keyring_sign(f->kr, now, typ, payload, &tok, NULL, &err) != HG_OK)
        fail_msg("sign: %s", hg_err_msg(&err));
    json_decref(payload);
    return tok;
}

/* The payload we issue, member for member, at T0. */
static json_t *good_payload(void)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:[s], s:{s:s}}",
                     "iss", ISS, "sub", "tms-1", "aud", AUD, "exp", (json_int_t)(T0 + LIFE),
                     "iat", (json_int_t)T0, "nbf", (json_int_t)T0, "jti",
                     "01890a5d-ac96-774b-bcce-b302099a8057", "client_id", "tms-1", "scope",
                     "tender:read", "tenant", "acme", "roles", "tms", "cnf", "x5t#S256", X5T);
}

/* ------------------------------------------------------------ round trips */

static void round_trip(struct fx *f, enum hg_token_bind bind)
{
    struct hg_token_claims c, v;
    struct hg_err err;
    fill(&c, bind, "tms-1");
    char *tok = issue(f, T0, &c);
    assert_string_equal(c.iss, ISS);
    assert_string_equal(c.aud, AUD);
    assert_int_equal(c.iat, T0);
    assert_int_equal(c.nbf, T0);
    assert_int_equal(c.exp, T0 + LIFE);
    assert_int_equal(strlen(c.jti), HG_UUID_STRLEN);

    /* the header and the payload, byte for byte */
    char hdr[512], pay[2048], want[2048];
    part(tok, 0, hdr, sizeof hdr);
    struct hg_keyring_info ki[2];
    assert_int_equal(hg_keyring_list(f->kr, T0, ki, 2), 1);
    snprintf(want, sizeof want, "{\"alg\":\"%s\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
             hg_jose_alg_name(ki[0].alg), ki[0].kid);
    assert_string_equal(hdr, want);
    part(tok, 1, pay, sizeof pay);
    snprintf(want, sizeof want,
             "{\"iss\":\"" ISS "\",\"sub\":\"tms-1\",\"aud\":\"" AUD "\",\"exp\":%lld,"
             "\"iat\":%lld,\"nbf\":%lld,\"jti\":\"%s\",\"client_id\":\"tms-1\","
             "\"scope\":\"tender:write tender:read\",\"tenant\":\"acme\","
             "\"roles\":[\"tms\",\"operator\"],\"cnf\":{\"%s\":\"%s\"}}",
             (long long)(T0 + LIFE), (long long)T0, (long long)T0, c.jti,
             bind == HG_BIND_JKT ? "jkt" : "x5t#S256", bind == HG_BIND_JKT ? JKT : X5T);
    assert_string_equal(pay, want);

    assert_int_equal(verify(f, tok, T0 + 1, &v, &err), HG_OK);
    assert_string_equal(v.iss, ISS);
    assert_string_equal(v.aud, AUD);
    assert_string_equal(v.sub, "tms-1");
    assert_string_equal(v.client_id, "tms-1");
    assert_string_equal(v.tenant, "acme");
    assert_string_equal(v.jti, c.jti);
    assert_int_equal(v.exp, c.exp);
    assert_int_equal(v.iat, c.iat);
    assert_int_equal(v.nbf, c.nbf);
    assert_int_equal(v.scopes, c.scopes);
    assert_int_equal(v.nroles, 2);
    assert_string_equal(v.roles[0], "tms");
    assert_string_equal(v.roles[1], "operator");
    assert_int_equal(v.bind, bind);
    assert_string_equal(v.cnf, c.cnf);
    assert_int_equal(v.external, 0);

    /* no tenant: the member is left out */
    fill(&c, bind, "tms-2");
    c.tenant[0] = '\0';
    char *tok2 = issue(f, T0, &c);
    part(tok2, 1, pay, sizeof pay);
    assert_null(strstr(pay, "tenant"));
    assert_int_equal(verify(f, tok2, T0, &v, &err), HG_OK);
    assert_string_equal(v.tenant, "");
    /* two tokens for the same client differ (jti) */
    assert_string_not_equal(tok, tok2);
    free(tok2);
    free(tok);
}

static void round_trip_x5t(void **state)
{
    round_trip(*state, HG_BIND_X5T);
}

static void round_trip_jkt(void **state)
{
    round_trip(*state, HG_BIND_JKT);
}

static void issue_refuses_unbound(void **state)
{
    struct fx *f = *state;
    struct hg_token_claims c;
    struct hg_err err;
    char *tok = NULL;
    fill(&c, HG_BIND_NONE, "tms-1");
    assert_int_equal(hg_token_issue(f->t, T0, &c, &tok, NULL, &err), HG_EINVAL);
    assert_null(tok);
    assert_non_null(strstr(err.msg, "not bound"));
    fill(&c, HG_BIND_X5T, "tms-1");
    c.cnf[10] = '\0';
    assert_int_equal(hg_token_issue(f->t, T0, &c, &tok, NULL, &err), HG_EINVAL);
    fill(&c, HG_BIND_X5T, "");
    assert_int_equal(hg_token_issue(f->t, T0, &c, &tok, NULL, &err), HG_EINVAL);
    fill(&c, HG_BIND_X5T, "tms-1");
    c.nroles = HG_TOKEN_MAX_ROLES + 1;
    assert_int_equal(hg_token_issue(f->t, T0, &c, &tok, NULL, &err), HG_EINVAL);
    assert_null(tok);
}

/* ------------------------------------------------------------ times */

static void times_and_leeway(void **state)
{
    struct fx *f = *state;
    struct hg_token_claims c;
    fill(&c, HG_BIND_X5T, "tms-1");
    char *tok = issue(f, T0, &c);
    int64_t exp = T0 + LIFE;
    expect(f, tok, exp, HG_OK, NULL);
    expect(f, tok, exp + LEEWAY, HG_OK, NULL);               /* within the leeway */
    expect(f, tok, exp + LEEWAY + 1, HG_EVERIFY, "token expired 61 s ago");
    expect(f, tok, exp + 35 + LEEWAY, HG_EVERIFY, "token expired 95 s ago");
    /* the issuer's clock ahead of ours by up to the leeway is fine ... */
    expect(f, tok, T0 - LEEWAY, HG_OK, NULL);
    /* ... beyond it, nbf says so */
    expect(f, tok, T0 - LEEWAY - 1, HG_EVERIFY, "token not valid before 2027-01-15T08:00:00");
    expect(f, tok, T0 - LEEWAY - 1, HG_EVERIFY, "(61 s from now)");
    free(tok);

    /* iat in the future without nbf */
    json_t *p = good_payload();
    json_object_del(p, "nbf");
    json_object_set_new(p, "iat", json_integer(T0 + LEEWAY + 5));
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "issued in the future");
    expect(f, tok, T0 + 5, HG_OK, NULL);
    free(tok);

    /* no exp at all */
    p = good_payload();
    json_object_del(p, "exp");
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "no exp claim");
    free(tok);

    /* exp of the wrong type / out of range */
    p = good_payload();
    json_object_set_new(p, "exp", json_string("soon"));
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "exp must be a number");
    free(tok);
    p = good_payload();
    json_object_set_new(p, "exp", json_integer(-5));
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "out of range");
    free(tok);
    /* a fractional NumericDate is fine */
    p = good_payload();
    json_object_set_new(p, "exp", json_real((double)(T0 + 10) + 0.5));
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0 + 10 + LEEWAY, HG_OK, NULL);
    expect(f, tok, T0 + 11 + LEEWAY, HG_EVERIFY, "expired");
    free(tok);
}

/* ------------------------------------------------------------ claims */

static void claim_failures(void **state)
{
    struct fx *f = *state;
    char *tok;
    json_t *p;

    /* the good payload verifies: every case below breaks one thing */
    tok = sign_raw(f, T0, "at+jwt", good_payload());
    expect(f, tok, T0, HG_OK, NULL);
    free(tok);

    p = good_payload();
    json_object_set_new(p, "aud", json_string("https://other.example"));
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "token audience does not include " AUD);
    free(tok);

    p = good_payload();
    json_object_set_new(p, "aud", json_pack("[s,s]", "https://other.example", AUD));
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_OK, NULL);
    free(tok);

    p = good_payload();
    json_object_del(p, "aud");
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "audience");
    free(tok);

    p = good_payload();
    json_object_set_new(p, "iss", json_string("https://evil.example/\"x\\"));
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_ENOTFOUND, "unknown issuer https://evil.example/?x?");
    free(tok);

    p = good_payload();
    json_object_del(p, "iss");
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "no iss claim");
    free(tok);

    p = good_payload();
    json_object_del(p, "cnf");
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "not bound");
    free(tok);

    static const char *bad_cnf[] = {
        "{\"x5t#S256\":\"" X5T "\",\"jkt\":\"" JKT "\"}",
        "{\"jkt\":\"short\"}",
        "{\"x5t#S256\":\"" X5T "=\"}",
        "{\"jwk\":{}}",
        "{}",
        "\"" X5T "\"",
        "{\"jkt\":\"NzbLsXh8uDCcd+6MNwXF4W/7noWXFZAfHkxZsRGC9Xs\"}",
    };
    for (size_t i = 0; i < sizeof bad_cnf / sizeof bad_cnf[0]; i++) {
        p = good_payload();
        json_object_set_new(p, "cnf", json_loads(bad_cnf[i], JSON_DECODE_ANY, NULL));
        tok = sign_raw(f, T0, "at+jwt", p);
        expect(f, tok, T0, HG_EVERIFY, "cnf must hold exactly one");
        free(tok);
    }

    p = good_payload();
    json_object_set_new(p, "scope", json_string("tender:read telepathy:write"));
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "scope telepathy:write is unknown");
    free(tok);

    p = good_payload();
    json_object_set_new(p, "scope", json_string("tender:read\ttender:write"));
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "scope");
    free(tok);

    p = good_payload();
    json_t *roles = json_array();
    for (int i = 0; i <= HG_TOKEN_MAX_ROLES; i++)
        json_array_append_new(roles, json_string("tms"));
    json_object_set_new(p, "roles", roles);
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "more than 16 roles");
    free(tok);

    char longname[HG_TOKEN_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    p = good_payload();
    json_object_set_new(p, "roles", json_pack("[s]", longname + (HG_TOKEN_NAME_MAX - 32)));
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "roles must be strings of 1 to 32");
    free(tok);
    p = good_payload();
    json_object_set_new(p, "roles", json_pack("[i]", 3));
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "roles must be strings");
    free(tok);

    p = good_payload();
    json_object_set_new(p, "sub", json_string(longname));
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "sub must be 1 to 64");
    free(tok);

    /* an embedded NUL never reaches the claims (the JWS parser refuses it) */
    p = good_payload();
    json_object_set_new(p, "client_id", json_stringn("a\0b", 3));
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EPARSE, NULL);
    free(tok);
    p = good_payload();
    json_object_set_new(p, "client_id", json_string(""));
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "client_id must be 1 to 64 characters");
    free(tok);

    p = good_payload();
    json_object_del(p, "jti");
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "no jti claim");
    free(tok);

    p = good_payload();
    json_object_set_new(p, "tenant", json_integer(7));
    tok = sign_raw(f, T0, "at+jwt", p);
    expect(f, tok, T0, HG_EVERIFY, "tenant must be a string");
    free(tok);
}

static void typ_checks(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *typ;
        hg_status st;
    } cases[] = {
        {"at+jwt", HG_OK},
        {"AT+JWT", HG_OK},
        {"application/at+jwt", HG_OK},
        {"JWT", HG_EVERIFY},
        {"dpop+jwt", HG_EVERIFY},
        {NULL, HG_EVERIFY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *tok = sign_raw(f, T0, cases[i].typ, good_payload());
        expect(f, tok, T0, cases[i].st, cases[i].st ? "typ must be at+jwt" : NULL);
        free(tok);
    }
}

/* Replace part i of a compact JWS with text; returns a new string. */
static char *splice(const char *tok, int i, const char *text)
{
    const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
    const char *parts[3][2] = {{tok, d1}, {d1 + 1, d2}, {d2 + 1, tok + strlen(tok)}};
    char *out = malloc(strlen(tok) + strlen(text) + 4);
    size_t n = 0;
    for (int k = 0; k < 3; k++) {
        if (k)
            out[n++] = '.';
        if (k == i) {
            memcpy(out + n, text, strlen(text));
            n += strlen(text);
        } else {
            memcpy(out + n, parts[k][0], (size_t)(parts[k][1] - parts[k][0]));
            n += (size_t)(parts[k][1] - parts[k][0]);
        }
    }
    out[n] = '\0';
    return out;
}

static char *b64(const void *p, size_t n)
{
    size_t cap = hg_b64url_enclen(n) + 1;
    char *out = malloc(cap);
    assert_int_equal(hg_b64url_encode(p, n, out, cap), HG_OK);
    return out;
}

static void forged_tokens(void **state)
{
    struct fx *f = *state;
    struct hg_token_claims c;
    fill(&c, HG_BIND_X5T, "tms-1");
    char *tok = issue(f, T0, &c);
    struct hg_keyring_info ki[1];
    assert_int_equal(hg_keyring_list(f->kr, T0, ki, 1), 1);

    /* tampered payload: another client's claims under our signature */
    char pay[2048];
    part(tok, 1, pay, sizeof pay);
    char *at = strstr(pay, "tms-1");
    memcpy(at, "tms-9", 5);
    char *pb = b64(pay, strlen(pay));
    char *bad = splice(tok, 1, pb);
    expect(f, bad, T0, HG_EVERIFY, "signature does not verify");
    free(bad);
    free(pb);

    /* a flipped signature bit */
    bad = strdup(tok);
    char *sig = strrchr(bad, '.') + 1;
    sig[5] = sig[5] == 'A' ? 'B' : 'A';
    expect(f, bad, T0, HG_EVERIFY, "signature does not verify");
    free(bad);

    /* alg none, and HS256 keyed with our public JWK (algorithm confusion),
     * each with a well-formed 64-byte signature so only the alg is wrong */
    uint8_t sig64[64];
    memset(sig64, 0x5a, sizeof sig64);
    char *sb = b64(sig64, sizeof sig64);
    static const char *algs[] = {"none", "HS256", "RS256", "ES384", "Ed25519"};
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        char hdr[256];
        snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", algs[i],
                 ki[0].kid);
        char *hb = b64(hdr, strlen(hdr));
        char *t1 = splice(tok, 0, hb);
        char *t2 = splice(t1, 2, sb);
        expect(f, t2, T0, HG_EUNSUPPORTED, NULL);
        free(t2);
        free(t1);
        free(hb);
    }
    /* a real HMAC-SHA256 over the signing input, keyed with the public
     * JWKS: refused whatever the check that catches it */
    {
        char *jwks = NULL;
        size_t jl = 0;
        assert_int_equal(hg_keyring_jwks(f->kr, T0, &jwks, &jl), HG_OK);
        char hdr[256];
        snprintf(hdr, sizeof hdr, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
                 ki[0].kid);
        char *hb = b64(hdr, strlen(hdr));
        char *t1 = splice(tok, 0, hb);
        const char *d2 = strrchr(t1, '.');
        uint8_t mac[32];
        assert_int_equal(hg_hmac_sha256(jwks, jl, t1, (size_t)(d2 - t1), mac), HG_OK);
        char *mb = b64(mac, sizeof mac);
        char *t2 = splice(t1, 2, mb);
        struct hg_token_claims v;
        struct hg_err err;
        assert_int_not_equal(verify(f, t2, T0, &v, &err), HG_OK);
        free(t2);
        free(mb);
        free(t1);
        free(hb);
        free(jwks);
    }
    /* the other supported alg under our kid: the key's alg decides */
    {
        char hdr[256];
        const char *other = ki[0].alg == HG_JOSE_ES256 ? "EdDSA" : "ES256";
        snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", other,
                 ki[0].kid);
        char *hb = b64(hdr, strlen(hdr));
        char *t1 = splice(tok, 0, hb);
        expect(f, t1, T0, HG_EVERIFY, "signature does not verify");
        free(t1);
        free(hb);
    }
    /* no kid */
    {
        char hdr[128];
        snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"typ\":\"at+jwt\"}",
                 hg_jose_alg_name(ki[0].alg));
        char *hb = b64(hdr, strlen(hdr));
        char *t1 = splice(tok, 0, hb);
        expect(f, t1, T0, HG_ENOTFOUND, "no kid");
        free(t1);
        free(hb);
    }
    free(sb);

    /* a token from another keyring: its kid is unknown here */
    char odir[200];
    snprintf(odir, sizeof odir, "%s/other", f->root);
    struct hg_keyring_opts ko = {
        .dir = odir, .alg = HG_JOSE_ES256, .publish_delay_s = 0, .token_lifetime_s = LIFE,
        .leeway_s = LEEWAY,
    };
    struct hg_keyring *okr = NULL;
    assert_int_equal(hg_keyring_open(&ko, T0, &okr, NULL), HG_OK);
    struct hg_tokens *ot = tokens_with(okr, 0);
    char *otok = NULL;
    fill(&c, HG_BIND_X5T, "tms-1");
    assert_int_equal(hg_token_issue(ot, T0, &c, &otok, NULL, NULL), HG_OK);
    expect(f, otok, T0, HG_ENOTFOUND, "unknown signing key kid");
    expect(f, otok, T0, HG_ENOTFOUND, "rotated out; request a new token");
    free(otok);
    hg_tokens_free(ot);
    hg_keyring_close(okr);

    /* malformed and oversized input */
    expect(f, "", T0, HG_EPARSE, "empty");
    expect(f, "not a token", T0, HG_EPARSE, NULL);
    expect(f, "a.b.c", T0, HG_EPARSE, NULL);
    char *big = malloc(HG_TOKEN_MAX + 2);
    memset(big, 'a', HG_TOKEN_MAX + 1);
    big[HG_TOKEN_MAX + 1] = '\0';
    expect(f, big, T0, HG_ETOOBIG, "longer than 4096");
    free(big);
    free(tok);
}

/* A key rotated out of its verify window stops verifying its tokens. */
static void rotated_out_key(void **state)
{
    struct fx *f = *state;
    struct hg_token_claims c;
    fill(&c, HG_BIND_X5T, "tms-1");
    char *tok = issue(f, T0, &c);
    /* rotate at T0: the old key retires at T0 + 300 and verifies until
     * T0 + 300 + LIFE + LEEWAY; the token has long expired by then, so
     * move the token's own times along by signing at the last instant */
    assert_int_equal(hg_keyring_rotate(f->kr, T0, NULL, 0, NULL), HG_OK);
    char *late = issue(f, T0 + 299, &c);
    expect(f, late, T0 + 299 + LIFE + LEEWAY, HG_OK, NULL);
    assert_int_equal(hg_keyring_rotate(f->kr, T0 + 300 + LIFE + LEEWAY + 1, NULL, 0, NULL),
                     HG_OK);
    expect(f, late, T0 + 300 + LIFE + LEEWAY + 1, HG_ENOTFOUND, "unknown signing key");
    free(late);
    free(tok);
}

/* ------------------------------------------------------------ cache */

static void cache_hits_and_expiry(void **state)
{
    struct fx *f = *state;
    struct hg_token_stats s;
    struct hg_token_claims c, v;
    struct hg_err err;
    fill(&c, HG_BIND_JKT, "tms-1");
    char *tok = issue(f, T0, &c);
    hg_tokens_stats(f->t, &s);
    assert_int_equal(s.hits, 0);
    assert_int_equal(s.misses, 0);
    assert_int_equal(s.entries, 0);
    assert_int_equal(verify(f, tok, T0, &v, &err), HG_OK);
    hg_tokens_stats(f->t, &s);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.entries, 1);
    for (int i = 0; i < 3; i++) {
        memset(&v, 0, sizeof v);
        assert_int_equal(verify(f, tok, T0 + 10, &v, &err), HG_OK);
        assert_string_equal(v.sub, "tms-1");
        assert_string_equal(v.cnf, JKT);
        assert_int_equal(v.bind, HG_BIND_JKT);
        assert_string_equal(v.jti, c.jti);
    }
    hg_tokens_stats(f->t, &s);
    assert_int_equal(s.hits, 3);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.entries, 1);
    /* failures are not cached */
    expect(f, "a.b.c", T0, HG_EPARSE, NULL);
    expect(f, "a.b.c", T0, HG_EPARSE, NULL);
    hg_tokens_stats(f->t, &s);
    assert_int_equal(s.misses, 3);
    assert_int_equal(s.entries, 1);
    /* a hit re-checks the time: within the leeway fine, past it refused
     * and dropped */
    expect(f, tok, T0 + LIFE + LEEWAY, HG_OK, NULL);
    expect(f, tok, T0 - LEEWAY - 1, HG_EVERIFY, "not valid before");
    expect(f, tok, T0 + LIFE + LEEWAY + 1, HG_EVERIFY, "token expired 61 s ago");
    hg_tokens_stats(f->t, &s);
    assert_int_equal(s.hits, 6);
    assert_int_equal(s.entries, 0);
    /* and the next try is a miss that fails the same way */
    expect(f, tok, T0 + LIFE + LEEWAY + 1, HG_EVERIFY, "token expired 61 s ago");
    hg_tokens_stats(f->t, &s);
    assert_int_equal(s.misses, 4);
    assert_int_equal(s.entries, 0);
    free(tok);
}

static void cache_bound(void **state)
{
    struct fx *f = *state;
    /* enough tokens that every shard fills (25 a shard on average) */
    enum { N = 400 };
    static const size_t sizes[] = {1, 5, 8, 23};
    char **toks = calloc(N, sizeof *toks);
    struct hg_token_claims c;
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        fill(&c, HG_BIND_X5T, name);
        toks[i] = issue(f, T0, &c);
    }
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        struct hg_tokens *t = tokens_with(f->kr, sizes[k]);
        struct hg_tokens *saved = f->t;
        struct hg_token_stats s;
        f->t = t;
        for (int i = 0; i < N; i++) {
            expect(f, toks[i], T0 + 1, HG_OK, NULL);
            hg_tokens_stats(t, &s);
            assert_true(s.entries <= sizes[k]);
        }
        hg_tokens_stats(t, &s);
        assert_int_equal(s.entries, sizes[k]); /* full, never over */
        assert_int_equal(s.misses, N);
        /* the newest is cached; evicted ones verify again from scratch and
         * still give their own claims */
        expect(f, toks[N - 1], T0 + 2, HG_OK, NULL);
        hg_tokens_stats(t, &s);
        assert_int_equal(s.hits, 1);
        for (int i = 0; i < N; i += 7) {
            struct hg_token_claims v;
            struct hg_err err;
            assert_int_equal(verify(f, toks[i], T0 + 2, &v, &err), HG_OK);
            char name[16];
            snprintf(name, sizeof name, "c%d", i);
            assert_string_equal(v.sub, name);
        }
        f->t = saved;
        hg_tokens_free(t);
    }
    for (int i = 0; i < N; i++)
        free(toks[i]);
    free(toks);
}

/* A token whose hash puts it in shard 0 of a 16-shard cache (the shard is
 * the first hash byte's low bits: white-box, so the test can fill one
 * shard on purpose). */
static char *token_in_shard0(struct fx *f, int64_t exp, int *serial)
{
    for (;;) {
        json_t *p = good_payload();
        char sub[16];
        snprintf(sub, sizeof sub, "s%d", (*serial)++);
        json_object_set_new(p, "sub", json_string(sub));
        json_object_set_new(p, "exp", json_integer(exp));
        char *tok = sign_raw(f, T0, "at+jwt", p);
        uint8_t h[HG_SHA256_LEN];
        hg_sha256(tok, strlen(tok), h);
        if ((h[0] & 15) == 0)
            return tok;
        free(tok);
    }
}

static void cache_evicts_expired_first(void **state)
{
    struct fx *f = *state;
    /* 32 entries: 16 shards of 2 */
    struct hg_tokens *t = tokens_with(f->kr, 32), *saved = f->t;
    struct hg_token_stats s;
    int serial = 0;
    f->t = t;
    char *old_long = token_in_shard0(f, T0 + 3600, &serial);
    char *young_short = token_in_shard0(f, T0 + 10, &serial);
    char *fresh = token_in_shard0(f, T0 + 3600, &serial);
    expect(f, old_long, T0, HG_OK, NULL);
    expect(f, young_short, T0, HG_OK, NULL);
    hg_tokens_stats(t, &s);
    assert_int_equal(s.entries, 2);
    /* the short one has expired: the fresh token takes its place although
     * the long one is older */
    int64_t later = T0 + 10 + LEEWAY + 1;
    expect(f, fresh, later, HG_OK, NULL);
    hg_tokens_stats(t, &s);
    assert_int_equal(s.entries, 2);
    assert_int_equal(s.misses, 3);
    expect(f, old_long, later, HG_OK, NULL);
    expect(f, fresh, later, HG_OK, NULL);
    hg_tokens_stats(t, &s);
    assert_int_equal(s.hits, 2);
    /* with nothing expired, the oldest goes: another fresh token evicts
     * old_long (first in), and fresh stays */
    char *fresh2 = token_in_shard0(f, T0 + 3600, &serial);
    expect(f, fresh2, later, HG_OK, NULL);
    expect(f, fresh, later, HG_OK, NULL);
    hg_tokens_stats(t, &s);
    assert_int_equal(s.hits, 3);
    expect(f, old_long, later, HG_OK, NULL);
    hg_tokens_stats(t, &s);
    assert_int_equal(s.misses, 5);
    assert_int_equal(s.entries, 2);
    free(fresh2);
    free(fresh);
    free(young_short);
    free(old_long);
    f->t = saved;
    hg_tokens_free(t);
}

static void cache_off(void **state)
{
    struct fx *f = *state;
    struct hg_token_claims c;
    struct hg_token_stats s;
    fill(&c, HG_BIND_X5T, "tms-1");
    char *tok = issue(f, T0, &c);
    expect(f, tok, T0, HG_OK, NULL);
    expect(f, tok, T0, HG_OK, NULL);
    hg_tokens_stats(f->t, &s);
    assert_int_equal(s.hits + s.misses + s.entries, 0);
    expect(f, tok, T0 + LIFE + LEEWAY + 1, HG_EVERIFY, "expired");
    free(tok);
}

struct hammer {
    struct fx *f;
    char **toks;
    int ntoks;
    int id;
    int failures;
};

static void *hammer(void *arg)
{
    struct hammer *h = arg;
    for (int r = 0; r < 2000; r++) {
        int i = (r * 7 + h->id * 3) % h->ntoks;
        struct hg_token_claims v;
        struct hg_err err;
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        if (hg_token_verify(h->f->t, h->toks[i], strlen(h->toks[i]), T0 + 5, &v, &err) !=
                HG_OK ||
            strcmp(v.sub, name) != 0)
            h->failures++;
    }
    return NULL;
}

static void two_threads(void **state)
{
    struct fx *f = *state;
    /* more tokens than cache entries: hits, misses and evictions race */
    enum { N = 100 };
    char *toks[N];
    struct hg_token_claims c;
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        fill(&c, i % 2 ? HG_BIND_JKT : HG_BIND_X5T, name);
        toks[i] = issue(f, T0, &c);
    }
    struct hammer h[2] = {{f, toks, N, 0, 0}, {f, toks, N, 1, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &h[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(h[0].failures, 0);
    assert_int_equal(h[1].failures, 0);
    struct hg_token_stats s;
    hg_tokens_stats(f->t, &s);
    assert_int_equal(s.hits + s.misses, 4000);
    assert_true(s.hits > 0);
    assert_true(s.entries <= 64);
    for (int i = 0; i < N; i++)
        free(toks[i]);
}

static void eddsa_round_trip(void **state)
{
    struct fx *f = *state;
    round_trip(f, HG_BIND_X5T);
    round_trip(f, HG_BIND_JKT);
    char hdr[256];
    struct hg_token_claims c;
    fill(&c, HG_BIND_X5T, "tms-1");
    char *tok = issue(f, T0, &c);
    part(tok, 0, hdr, sizeof hdr);
    assert_non_null(strstr(hdr, "\"alg\":\"EdDSA\""));
    free(tok);
}

static void options_checked(void **state)
{
    struct fx *f = *state;
    struct hg_token_opts o = {
        .issuer = ISS, .audience = AUD, .lifetime_s = 0, .leeway_s = LEEWAY, .keys = f->kr,
    };
    struct hg_tokens *t = NULL;
    struct hg_err err;
    assert_int_equal(hg_tokens_new(&o, &t, &err), HG_EINVAL);
    o.lifetime_s = LIFE;
    o.keys = NULL;
    assert_int_equal(hg_tokens_new(&o, &t, &err), HG_EINVAL);
    assert_null(t);
    hg_tokens_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip_x5t, setup, teardown),
        cmocka_unit_test_setup_teardown(round_trip_jkt, setup, teardown),
        cmocka_unit_test_setup_teardown(eddsa_round_trip, setup_eddsa, teardown),
        cmocka_unit_test_setup_teardown(issue_refuses_unbound, setup, teardown),
        cmocka_unit_test_setup_teardown(times_and_leeway, setup, teardown),
        cmocka_unit_test_setup_teardown(claim_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(typ_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(forged_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(forged_tokens, setup_eddsa, teardown),
        cmocka_unit_test_setup_teardown(rotated_out_key, setup, teardown),
        cmocka_unit_test_setup_teardown(cache_hits_and_expiry, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(cache_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(cache_evicts_expired_first, setup, teardown),
        cmocka_unit_test_setup_teardown(cache_off, setup, teardown),
        cmocka_unit_test_setup_teardown(two_threads, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(options_checked, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
