/* SPDX-License-Identifier: Apache-2.0
 * test_issuers.c — auth/issuers against a real HTTPS identity provider on
 * loopback (issuers_server.h, certificate from the dev PKI): a token the
 * IdP signs verifies and maps roles, tenant, scopes and cnf; an unknown-kid
 * flood from several threads costs at most one JWKS fetch per
 * refresh_interval (counted at the server); rotation is picked up through
 * the unknown-kid refetch, with concurrent misses waiting for the one fetch;
 * a down, failing, oversized, garbled, redirecting or slow IdP leaves the
 * previous keys in use and is counted and logged; TLS verification is on;
 * every claim rule (audience, binding, role_map, scp forms) has a case that
 * must be refused. Time is the `now` argument, so the refresh rules are
 * tested exactly, not with sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <sys/stat.h>

#include "app/config.h"
#include "auth/issuers.h"
#include "auth/jose.h"
#include "auth/scope.h"
#include "common/util.h"
#include "crypto/hash.h"
#include "crypto/sign.h"
#include "obs/log.h"
#include "unit/auth/issuers_server.h"
#include "unit/tls/fixture.h"

#define ISS "https://idp.example.test"
#define AUD "https://gateway.example.test"
#define T0 INT64_C(1800000000)
/* a well-formed x5t#S256 / jkt: 43 characters of base64url */
#define THUMB "q3ZhLvYd0VvVx7Bv0mN2PzJd0N8pYH2xgqkWnQ4n1Xs"
/* a scope bit by name; asserted non-zero so a renamed scope fails loudly */
#define SB(name) scope_bit(name)
#define THUMB2 "Zx9-_a0123456789abcdefghijklmnopqrstuvwxyzA"

static struct {
    char tmp[PATH_MAX];
    char pki[PATH_MAX];
    struct hg_sign_key *ka, *kb, *kc; /* ES256, EdDSA, ES256 */
} G;

struct fx {
    struct srv srv;
    char log[PATH_MAX];
    struct hg_config *cfg;
    struct hg_issuers *x;
};

/* ---- helpers ---------------------------------------------------------------- */

static uint32_t scope_bit(const char *name)
{
    uint32_t b = hg_scope_bit(name, strlen(name));
    assert_int_not_equal(b, 0);
    return b;
}

static struct hg_sign_key *genkey(enum hg_sign_alg alg)
{
    struct hg_sign_key *k = NULL;
    struct hg_err e;
    hg_err_clear(&e);
    if (hg_sign_key_generate(alg, &k, &e) != HG_OK)
        fail_msg("hg_sign_key_generate: %s", hg_err_msg(&e));
    return k;
}

/* {"keys":[...]} with n (key, kid) pairs; malloc'd text. */
static char *jwks_text(size_t n, ...)
{
    va_list ap;
    json_t *arr = json_array();
    assert_non_null(arr);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        const struct hg_sign_key *k = va_arg(ap, const struct hg_sign_key *);
        const char *kid = va_arg(ap, const char *);
        json_t *j = hg_jwk_export(k, kid, 1);
        assert_non_null(j);
        assert_int_equal(json_array_append_new(arr, j), 0);
    }
    va_end(ap);
    json_t *set = json_pack("{s:o}", "keys", arr);
    assert_non_null(set);
    char *s = json_dumps(set, JSON_COMPACT);
    json_decref(set);
    assert_non_null(s);
    return s;
}

static void serve(struct fx *f, size_t n, ...)
{
    /* rebuild the set in the same way jwks_text does, up to three keys */
    va_list ap;
    const struct hg_sign_key *k[3] = {0};
    const char *kid[3] = {0};
    assert_true(n <= 3);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        k[i] = va_arg(ap, const struct hg_sign_key *);
        kid[i] = va_arg(ap, const char *);
    }
    va_end(ap);
    char *s = n == 0   ? jwks_text(0)
              : n == 1 ? jwks_text(1, k[0], kid[0])
              : n == 2 ? jwks_text(2, k[0], kid[0], k[1], kid[1])
                       : jwks_text(3, k[0], kid[0], k[1], kid[1], k[2], kid[2]);
    srv_set_body(&f->srv, s);
    free(s);
}

/* Load a config with one issuer pointing at the test server. role_map is
 * YAML flow text or NULL for the default. */
static void load_cfg(struct fx *f, const char *role_map)
{
    char y[8192];
    struct hg_err e;
    hg_err_clear(&e);
    int n = snprintf(y, sizeof y,
                     "api:\n"
                     "  tls:\n"
                     "    cert: %s/server.crt\n"
                     "    key: %s/server.key\n"
                     "    ca: %s/ca.crt\n"
                     "auth:\n"
                     "  issuers:\n"
                     "    - issuer: " ISS "\n"
                     "      jwks_url: https://127.0.0.1:%d/.well-known/jwks.json\n"
                     "      audience: " AUD "\n"
                     "      ca: %s/ca.crt\n"
                     "      refresh_interval: 1s\n"
                     "      max_age: 10s\n"
                     "      fetch_timeout: 400ms\n"
                     "      roles_claim: groups\n"
                     "      role_map: %s\n"
                     "      tenant_claim: org\n"
                     "      tenant: fallback-tenant\n",
                     G.pki, G.pki, G.pki, f->srv.port, G.pki,
                     role_map ? role_map : "[\"tms-writers=tms\", \"ops=operator\", "
                                           "\"ops=auditor\"]");
    assert_true(n > 0 && (size_t)n < sizeof y);
    hg_config_free(f->cfg);
    f->cfg = NULL;
    if (hg_config_load_mem("/tmp/issuers-test.yaml", y, (size_t)n, &f->cfg, &e) != HG_OK)
        fail_msg("hg_config_load_mem: %s", hg_err_msg(&e));
    assert_int_equal(f->cfg->auth.nissuers, 1);
}

static struct hg_config_issuer *icfg(struct fx *f)
{
    return &f->cfg->auth.issuers[0];
}

static void open_issuers(struct fx *f)
{
    struct hg_err e;
    hg_err_clear(&e);
    hg_issuers_free(f->x);
    f->x = NULL;
    if (hg_issuers_new(f->cfg, &f->x, &e) != HG_OK)
        fail_msg("hg_issuers_new: %s", hg_err_msg(&e));
    assert_int_equal(hg_issuers_count(f->x), 1);
}

/* The standard claims of a good token; the caller may change them. */
static json_t *claims(void)
{
    json_t *p = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:[s], s:{s:s}}", "iss", ISS,
                          "sub", "svc-42", "aud", AUD, "exp", (json_int_t)(T0 + 300), "iat",
                          (json_int_t)T0, "nbf", (json_int_t)T0, "jti", "j-1", "groups",
                          "tms-writers", "cnf", "x5t#S256", THUMB);
    assert_non_null(p);
    return p;
}

/* Sign payload (consumed) with key and kid (may be NULL), parse it into
 * *jws; returns the compact token (caller frees). */
static char *mint(const struct hg_sign_key *key, const char *kid, json_t *payload,
                  struct hg_jws *jws)
{
    char *tok = NULL;
    size_t n = 0;
    struct hg_err e;
    hg_err_clear(&e);
    if (hg_jws_sign(key, "at+jwt", kid, NULL, payload, &tok, &n, &e) != HG_OK)
        fail_msg("hg_jws_sign: %s", hg_err_msg(&e));
    json_decref(payload);
    memset(jws, 0, sizeof *jws);
    if (hg_jws_parse(tok, n, jws, &e) != HG_OK)
        fail_msg("hg_jws_parse: %s", hg_err_msg(&e));
    return tok;
}

/* Verify a token made of payload (consumed), signed by key/kid, at now. */
static hg_status check(struct fx *f, const struct hg_sign_key *key, const char *kid,
                       json_t *payload, int64_t now, struct hg_token_claims *c,
                       struct hg_err *e)
{
    struct hg_jws jws;
    char *tok = mint(key, kid, payload, &jws);
    hg_err_clear(e);
    hg_status st = hg_issuers_verify(f->x, ISS, &jws, now, c, e);
    hg_jws_free(&jws);
    free(tok);
    return st;
}

static hg_status check_std(struct fx *f, const struct hg_sign_key *key, const char *kid,
                           int64_t now)
{
    struct hg_token_claims c;
    struct hg_err e;
    return check(f, key, kid, claims(), now, &c, &e);
}

static struct hg_issuer_stats stats(struct fx *f)
{
    struct hg_issuer_stats s;
    assert_int_equal(hg_issuers_stats(f->x, 0, &s), HG_OK);
    return s;
}

/* The log file's text (malloc'd, "" when empty). */
static char *log_text(struct fx *f)
{
    FILE *fp = fopen(f->log, "r");
    char *buf = calloc(1, 1 << 20);
    assert_non_null(buf);
    if (fp) {
        size_t n = fread(buf, 1, (1 << 20) - 1, fp);
        buf[n] = '\0';
        fclose(fp);
    }
    return buf;
}

static void set_json(json_t *p, const char *k, json_t *v)
{
    assert_int_equal(json_object_set_new(p, k, v), 0);
}

/* ---- fixtures --------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    fx_tmpdir(G.tmp);
    fx_pki(G.tmp, G.pki);
    G.ka = genkey(HG_SIGN_ES256);
    G.kb = genkey(HG_SIGN_ED25519);
    G.kc = genkey(HG_SIGN_ES256);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    hg_sign_key_free(G.ka);
    hg_sign_key_free(G.kb);
    hg_sign_key_free(G.kc);
    fx_rmrf(G.tmp);
    return 0;
}

static int setup(void **state)
{
    static int seq;
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    srv_start(&f->srv, G.pki, 0);
    serve(f, 1, G.ka, "kid-a");
    int n = snprintf(f->log, sizeof f->log, "%s/log-%d.jsonl", G.tmp, seq++);
    assert_true(n > 0 && (size_t)n < sizeof f->log);
    assert_int_equal(hg_log_open(f->log, HG_LOG_INFO), HG_OK);
    load_cfg(f, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    hg_issuers_free(f->x);
    hg_config_free(f->cfg);
    srv_free(&f->srv);
    hg_log_close();
    unlink(f->log);
    free(f);
    return 0;
}

/* ---- the token from the IdP ----------------------------------------------- */

static void verifies_and_maps(void **state)
{
    struct fx *f = *state;
    struct hg_token_claims c;
    struct hg_err e;
    open_issuers(f);
    assert_true(hg_issuers_knows(f->x, ISS));
    assert_false(hg_issuers_knows(f->x, ISS "/"));
    assert_int_equal(hg_issuers_prefetch(f->x, T0), 0);
    assert_int_equal(srv_requests(&f->srv), 1);
    struct hg_issuer_stats s = stats(f);
    assert_string_equal(s.issuer, ISS);
    assert_int_equal(s.fetches, 1);
    assert_int_equal(s.fetch_errors, 0);
    assert_int_equal(s.keys, 1);
    assert_int_equal(s.fetched_at, T0);

    json_t *p = claims();
    set_json(p, "aud", json_pack("[s,s]", "https://someone-else", AUD));
    set_json(p, "groups", json_pack("[s,s,s]", "tms-writers", "ops", "not-mapped"));
    set_json(p, "org", json_string("acme"));
    set_json(p, "azp", json_string("tms-app"));
    set_json(p, "scope", json_string("tender:write  tender:read bogus:scope audit:read"));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0 + 5, &c, &e), HG_OK);
    assert_string_equal(c.iss, ISS);
    assert_string_equal(c.aud, AUD);
    assert_string_equal(c.sub, "svc-42");
    assert_string_equal(c.client_id, "tms-app");
    assert_string_equal(c.tenant, "acme");
    assert_string_equal(c.jti, "j-1");
    assert_int_equal(c.iat, T0);
    assert_int_equal(c.nbf, T0);
    assert_int_equal(c.exp, T0 + 300);
    assert_int_equal(c.nroles, 3);
    assert_string_equal(c.roles[0], "tms");
    assert_string_equal(c.roles[1], "operator");
    assert_string_equal(c.roles[2], "auditor");
    assert_int_equal(c.scopes, SB("tender:write") |
                                   SB("tender:read") |
                                   SB("audit:read"));
    assert_int_equal(c.bind, HG_BIND_X5T);
    assert_string_equal(c.cnf, THUMB);
    assert_int_equal(c.external, 1);
    /* the verification was served from the cache */
    assert_int_equal(srv_requests(&f->srv), 1);
    assert_int_equal(stats(f).fetches, 1);
}

static void eddsa_jkt_scp_and_fallbacks(void **state)
{
    struct fx *f = *state;
    struct hg_token_claims c;
    struct hg_err e;
    serve(f, 2, G.ka, "kid-a", G.kb, "kid-b");
    open_issuers(f);
    assert_int_equal(hg_issuers_prefetch(f->x, T0), 0);

    /* scp as an array, roles as one string, no tenant claim, no client_id */
    json_t *p = claims();
    set_json(p, "scp", json_pack("[s,s,s]", "capacity:read", "nope", "events:read"));
    set_json(p, "groups", json_string("ops"));
    set_json(p, "cnf", json_pack("{s:s}", "jkt", THUMB2));
    json_object_del(p, "jti");
    assert_int_equal(check(f, G.kb, "kid-b", p, T0, &c, &e), HG_OK);
    assert_string_equal(c.client_id, "svc-42");
    assert_string_equal(c.tenant, "fallback-tenant");
    assert_string_equal(c.jti, "");
    assert_int_equal(c.nroles, 2);
    assert_string_equal(c.roles[0], "operator");
    assert_string_equal(c.roles[1], "auditor");
    assert_int_equal(c.scopes, SB("capacity:read") |
                                   SB("events:read"));
    assert_int_equal(c.bind, HG_BIND_JKT);
    assert_string_equal(c.cnf, THUMB2);

    /* scp as a space-separated string; client_id wins over azp; "scope"
     * wins over "scp"; fractional NumericDates are floored */
    p = claims();
    set_json(p, "scp", json_string("admin"));
    set_json(p, "scope", json_string("tender:read"));
    set_json(p, "client_id", json_string("cid"));
    set_json(p, "azp", json_string("azp"));
    set_json(p, "exp", json_real((double)(T0 + 60) + 0.75));
    set_json(p, "groups", json_array());
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_OK);
    assert_string_equal(c.client_id, "cid");
    assert_int_equal(c.scopes, SB("tender:read"));
    assert_int_equal(c.exp, T0 + 60);
    assert_int_equal(c.nroles, 0);
    p = claims();
    set_json(p, "scp", json_string("admin tender:write"));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_OK);
    assert_int_equal(c.scopes, SB("admin") | SB("tender:write"));

    /* neither tenant_claim nor tenant: no tenant */
    free(icfg(f)->tenant);
    icfg(f)->tenant = NULL;
    open_issuers(f);
    assert_int_equal(hg_issuers_prefetch(f->x, T0), 0);
    assert_int_equal(check(f, G.ka, "kid-a", claims(), T0, &c, &e), HG_OK);
    assert_string_equal(c.tenant, "");

    /* a jti longer than the field is kept as its SHA-256 */
    char longjti[200];
    memset(longjti, 'j', sizeof longjti - 1);
    longjti[sizeof longjti - 1] = '\0';
    p = claims();
    set_json(p, "jti", json_string(longjti));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_OK);
    uint8_t h[HG_SHA256_LEN];
    char want[HG_JWK_THUMB_LEN + 1];
    hg_sha256(longjti, strlen(longjti), h);
    assert_int_equal(hg_b64url_encode(h, sizeof h, want, sizeof want), HG_OK);
    assert_string_equal(c.jti, want);
}

static void role_map_limits(void **state)
{
    struct fx *f = *state;
    struct hg_token_claims c;
    struct hg_err e;
    /* 17 of their roles, each mapped to a distinct one of ours, plus two
     * of theirs mapping to the same one of ours (counted once) */
    char map[4096] = "[", r[32];
    size_t o = 1;
    for (int i = 0; i < 17; i++)
        o += (size_t)snprintf(map + o, sizeof map - o, "%s\"r%d=our%d\"", i ? "," : "", i, i);
    snprintf(map + o, sizeof map - o, ",\"alias=our0\"]");
    load_cfg(f, map);
    open_issuers(f);
    assert_int_equal(hg_issuers_prefetch(f->x, T0), 0);

    json_t *p = claims(), *g = json_array();
    for (int i = 0; i < 16; i++) {
        snprintf(r, sizeof r, "r%d", i);
        json_array_append_new(g, json_string(r));
    }
    json_array_append_new(g, json_string("alias"));
    set_json(p, "groups", json_deep_copy(g));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_OK);
    assert_int_equal(c.nroles, HG_TOKEN_MAX_ROLES);
    assert_string_equal(c.roles[0], "our0");
    assert_string_equal(c.roles[15], "our15");

    /* one more distinct role is refused, not truncated */
    json_array_append_new(g, json_string("r16"));
    p = claims();
    set_json(p, "groups", g);
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EPARSE);
    assert_non_null(strstr(hg_err_msg(&e), "more than 16"));
    assert_int_equal(c.nroles, 0);

    /* roles claim of the wrong type */
    p = claims();
    set_json(p, "groups", json_integer(7));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EPARSE);
    p = claims();
    set_json(p, "groups", json_pack("[s,i]", "r1", 2));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EPARSE);
}

static void audience_and_claims_refused(void **state)
{
    struct fx *f = *state;
    struct hg_token_claims c;
    struct hg_err e;
    open_issuers(f);
    assert_int_equal(hg_issuers_prefetch(f->x, T0), 0);

    json_t *p = claims();
    set_json(p, "aud", json_string("https://other-gateway.example.test"));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EVERIFY);
    assert_non_null(strstr(hg_err_msg(&e), "audience"));
    assert_int_equal(c.external, 0); /* nothing left behind */
    p = claims();
    set_json(p, "aud", json_pack("[s,s]", "a", AUD "x"));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EVERIFY);
    p = claims();
    json_object_del(p, "aud");
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EVERIFY);
    p = claims();
    set_json(p, "aud", json_integer(1));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EPARSE);

    /* sub: required, a string, at most 64 bytes */
    p = claims();
    json_object_del(p, "sub");
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EPARSE);
    p = claims();
    set_json(p, "sub", json_integer(5));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EPARSE);
    p = claims();
    set_json(p, "sub", json_string("0123456789012345678901234567890123456789012345678901234567890123"
                                   "4"));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EPARSE);
    p = claims();
    set_json(p, "sub", json_string("0123456789012345678901234567890123456789012345678901234567890123"));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_OK);

    /* iss in the payload must be this issuer */
    p = claims();
    set_json(p, "iss", json_string("https://evil.example"));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EVERIFY);
    /* exp is required; times are numbers */
    p = claims();
    json_object_del(p, "exp");
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EPARSE);
    p = claims();
    set_json(p, "nbf", json_string("soon"));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EPARSE);
    /* scope must be a string; tenant claim a string */
    p = claims();
    set_json(p, "scope", json_pack("[s]", "admin"));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EPARSE);
    p = claims();
    set_json(p, "org", json_integer(3));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EPARSE);
    p = claims();
    set_json(p, "scp", json_pack("[s,i]", "admin", 1));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EPARSE);

    /* a signature by another key under this kid; no kid at all */
    assert_int_equal(check(f, G.kc, "kid-a", claims(), T0, &c, &e), HG_EVERIFY);
    assert_non_null(strstr(hg_err_msg(&e), "signature"));
    assert_int_equal(check(f, G.ka, NULL, claims(), T0, &c, &e), HG_EPARSE);
    /* an issuer not configured */
    struct hg_jws jws;
    char *tok = mint(G.ka, "kid-a", claims(), &jws);
    assert_int_equal(hg_issuers_verify(f->x, "https://stranger.example", &jws, T0, &c, &e),
                     HG_ENOTFOUND);
    hg_jws_free(&jws);
    free(tok);
    /* none of this fetched anything */
    assert_int_equal(srv_requests(&f->srv), 1);
}

static void binding_required(void **state)
{
    struct fx *f = *state;
    struct hg_token_claims c;
    struct hg_err e;
    open_issuers(f);
    assert_int_equal(hg_issuers_prefetch(f->x, T0), 0);

    json_t *p = claims();
    json_object_del(p, "cnf");
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EVERIFY);
    assert_non_null(strstr(hg_err_msg(&e), "cnf"));
    p = claims();
    set_json(p, "cnf", json_pack("{s:s}", "x5t", "abc"));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EVERIFY);
    p = claims();
    set_json(p, "cnf", json_pack("{s:s,s:s}", "x5t#S256", THUMB, "jkt", THUMB2));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EVERIFY);
    p = claims();
    set_json(p, "cnf", json_pack("{s:s}", "jkt", "short"));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EPARSE);
    p = claims();
    set_json(p, "cnf", json_pack("{s:s}", "x5t#S256",
                                 "q3ZhLvYd0VvVx7Bv0mN2PzJd0N8pYH2xgqkWnQ4n1X="));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EPARSE);
    p = claims();
    set_json(p, "cnf", json_string(THUMB));
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_EPARSE);

    char *log = log_text(f);
    assert_null(strstr(log, "insecure_unbound_tokens"));
    free(log);

    /* insecure_unbound_tokens: accepted, unbound, and warned at start */
    icfg(f)->insecure_unbound_tokens = true;
    open_issuers(f);
    log = log_text(f);
    assert_non_null(strstr(log, "insecure_unbound_tokens is on"));
    assert_non_null(strstr(log, "\"issuer\":\"" ISS "\""));
    free(log);
    assert_int_equal(hg_issuers_prefetch(f->x, T0), 0);
    p = claims();
    json_object_del(p, "cnf");
    assert_int_equal(check(f, G.ka, "kid-a", p, T0, &c, &e), HG_OK);
    assert_int_equal(c.bind, HG_BIND_NONE);
    assert_string_equal(c.cnf, "");
    /* a bound token is still read as bound */
    assert_int_equal(check(f, G.ka, "kid-a", claims(), T0, &c, &e), HG_OK);
    assert_int_equal(c.bind, HG_BIND_X5T);
}

/* ---- the refresh rules ---------------------------------------------------- */

struct flood {
    struct hg_issuers *x;
    int64_t now;
    int n;
    int notfound, other;
    const struct hg_sign_key *key;
    const char *kid;              /* NULL = random kids */
};

static void *flood_main(void *arg)
{
    struct flood *fl = arg;
    for (int i = 0; i < fl->n; i++) {
        char kid[40];
        uint8_t rnd[8];
        if (fl->kid) {
            snprintf(kid, sizeof kid, "%s", fl->kid);
        } else {
            hg_random_ids(rnd, sizeof rnd);
            memcpy(kid, "rnd-", 4);
            hg_hex(rnd, sizeof rnd, kid + 4);
        }
        json_t *p = claims();
        char *tok = NULL;
        size_t n = 0;
        struct hg_jws jws;
        struct hg_token_claims c;
        struct hg_err e;
        hg_err_clear(&e);
        memset(&jws, 0, sizeof jws);
        if (hg_jws_sign(fl->key, "at+jwt", kid, NULL, p, &tok, &n, &e) != HG_OK ||
            hg_jws_parse(tok, n, &jws, &e) != HG_OK) {
            fl->other++;
        } else {
            hg_status st = hg_issuers_verify(fl->x, ISS, &jws, fl->now, &c, &e);
            if (st == HG_ENOTFOUND)
                fl->notfound++;
            else if (st != HG_OK)
                fl->other++;
        }
        json_decref(p);
        hg_jws_free(&jws);
        free(tok);
    }
    return NULL;
}

/* nthreads threads, per verifications each; returns (notfound, other). */
static void run_flood(struct fx *f, int nthreads, int per, int64_t now,
                      const struct hg_sign_key *key, const char *kid, int *notfound,
                      int *other)
{
    pthread_t th[16];
    struct flood fl[16];
    assert_true(nthreads <= 16);
    for (int i = 0; i < nthreads; i++) {
        fl[i] = (struct flood){.x = f->x, .now = now, .n = per, .key = key, .kid = kid};
        assert_int_equal(pthread_create(&th[i], NULL, flood_main, &fl[i]), 0);
    }
    *notfound = *other = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        *notfound += fl[i].notfound;
        *other += fl[i].other;
    }
}

static void unknown_kid_flood(void **state)
{
    struct fx *f = *state;
    int nf, other;
    open_issuers(f);
    assert_int_equal(hg_issuers_prefetch(f->x, T0), 0);
    assert_int_equal(srv_requests(&f->srv), 1);

    /* within refresh_interval of the last fetch: no fetch at all */
    run_flood(f, 8, 125, T0, G.ka, NULL, &nf, &other);
    assert_int_equal(nf, 1000);
    assert_int_equal(other, 0);
    assert_int_equal(srv_requests(&f->srv), 1);
    assert_int_equal(stats(f).unknown_kid, 1000);

    /* the interval has passed: exactly one fetch for 1000 misses, even with
     * a slow IdP keeping the fetch in flight while the others arrive */
    srv_set_mode(&f->srv, SRV_OK, 200);
    run_flood(f, 8, 125, T0 + 1, G.ka, NULL, &nf, &other);
    assert_int_equal(nf, 1000);
    assert_int_equal(other, 0);
    assert_int_equal(srv_requests(&f->srv), 2);
    /* ... and none more in the same interval */
    run_flood(f, 4, 50, T0 + 1, G.ka, NULL, &nf, &other);
    assert_int_equal(srv_requests(&f->srv), 2);
    /* the next interval allows the next one */
    srv_set_mode(&f->srv, SRV_OK, 0);
    run_flood(f, 4, 50, T0 + 2, G.ka, NULL, &nf, &other);
    assert_int_equal(nf, 200);
    assert_int_equal(srv_requests(&f->srv), 3);
    struct hg_issuer_stats s = stats(f);
    assert_int_equal(s.fetches, 3);
    assert_int_equal(s.fetch_errors, 0);
    assert_int_equal(s.unknown_kid, 2400);
    /* the known key kept working throughout */
    assert_int_equal(check_std(f, G.ka, "kid-a", T0 + 2), HG_OK);
    assert_int_equal(srv_requests(&f->srv), 3);
}

static void rotation_picked_up(void **state)
{
    struct fx *f = *state;
    int nf, other;
    open_issuers(f);
    assert_int_equal(hg_issuers_prefetch(f->x, T0), 0);

    /* the IdP publishes B; a token signed with B within the interval of
     * the last fetch is refused without a fetch */
    serve(f, 2, G.ka, "kid-a", G.kb, "kid-b");
    assert_int_equal(check_std(f, G.kb, "kid-b", T0), HG_ENOTFOUND);
    assert_int_equal(srv_requests(&f->srv), 1);
    /* after the interval it triggers the refetch and verifies */
    assert_int_equal(check_std(f, G.kb, "kid-b", T0 + 1), HG_OK);
    assert_int_equal(srv_requests(&f->srv), 2);
    assert_int_equal(stats(f).keys, 2);
    assert_int_equal(stats(f).fetched_at, T0 + 1);

    /* the IdP retires A: cached until max_age, then gone */
    serve(f, 1, G.kb, "kid-b");
    assert_int_equal(check_std(f, G.ka, "kid-a", T0 + 5), HG_OK);
    assert_int_equal(srv_requests(&f->srv), 2);
    assert_int_equal(check_std(f, G.ka, "kid-a", T0 + 11), HG_ENOTFOUND);
    assert_int_equal(srv_requests(&f->srv), 3);
    assert_int_equal(stats(f).keys, 1);
    /* max_age refresh with the key still there: the first use refetches */
    assert_int_equal(check_std(f, G.kb, "kid-b", T0 + 21), HG_OK);
    assert_int_equal(srv_requests(&f->srv), 4);
    assert_int_equal(stats(f).fetched_at, T0 + 21);

    /* the IdP publishes C while slow: 8 threads meeting the new kid at once
     * all wait for one fetch and all verify */
    serve(f, 2, G.kb, "kid-b", G.kc, "kid-c");
    srv_set_mode(&f->srv, SRV_OK, 300);
    run_flood(f, 8, 3, T0 + 30, G.kc, "kid-c", &nf, &other);
    assert_int_equal(nf, 0);
    assert_int_equal(other, 0);
    assert_int_equal(srv_requests(&f->srv), 5);
    assert_int_equal(stats(f).fetch_errors, 0);
}

/* Make a token with an unknown kid trigger a fetch in `mode` at now, and
 * check that the fetch failed, was counted, and A still works. */
static void failing_fetch(struct fx *f, enum srv_mode mode, int delay, int64_t now,
                          uint64_t errors_before)
{
    srv_set_mode(&f->srv, mode, delay);
    uint64_t t0 = hg_mono_us();
    assert_int_equal(check_std(f, G.kb, "kid-b", now), HG_ENOTFOUND);
    /* the fetch is bounded by fetch_timeout (400 ms) */
    assert_true(hg_mono_us() - t0 < 1500000);
    struct hg_issuer_stats s = stats(f);
    assert_int_equal(s.fetch_errors, errors_before + 1);
    assert_int_equal(s.keys, 1);
    assert_int_equal(s.fetched_at, T0);
    assert_int_equal(check_std(f, G.ka, "kid-a", now), HG_OK);
}

static void stale_if_error(void **state)
{
    struct fx *f = *state;
    open_issuers(f);
    assert_int_equal(hg_issuers_prefetch(f->x, T0), 0);
    serve(f, 2, G.ka, "kid-a", G.kb, "kid-b"); /* what a working IdP would say */

    failing_fetch(f, SRV_500, 0, T0 + 1, 0);
    failing_fetch(f, SRV_GARBAGE, 0, T0 + 2, 1);
    failing_fetch(f, SRV_BIG_CL, 0, T0 + 3, 2);
    failing_fetch(f, SRV_BIG_STREAM, 0, T0 + 4, 3);
    failing_fetch(f, SRV_REDIRECT, 0, T0 + 5, 4);
    failing_fetch(f, SRV_DROP, 0, T0 + 6, 5);
    failing_fetch(f, SRV_OK, 1500, T0 + 7, 6); /* slower than fetch_timeout */
    unsigned reached = srv_requests(&f->srv);
    assert_int_equal(reached, 1 + 6); /* DROP never got to HTTP */
    /* the IdP is down: connections refused */
    srv_stop(&f->srv);
    failing_fetch(f, SRV_OK, 0, T0 + 8, 7);
    /* past max_age too: the old key still works (and the retry failed) */
    assert_int_equal(check_std(f, G.ka, "kid-a", T0 + 30), HG_OK);
    struct hg_issuer_stats s = stats(f);
    assert_int_equal(s.fetches, 10);
    assert_int_equal(s.fetch_errors, 9);
    assert_int_equal(s.unknown_kid, 8);
    assert_int_equal(s.fetched_at, T0);

    /* what the operator sees: one warning per failed fetch with the cause,
     * and never a token */
    char *log = log_text(f);
    size_t warns = 0;
    for (const char *q = log; (q = strstr(q, "JWKS fetch failed; the previous keys stay in use"));
         q++)
        warns++;
    assert_int_equal(warns, 9);
    assert_non_null(strstr(log, "HTTP 500"));
    assert_non_null(strstr(log, "HG_ETOOBIG"));
    assert_non_null(strstr(log, "HG_EPARSE"));
    assert_non_null(strstr(log, "HG_ETIMEOUT"));
    assert_non_null(strstr(log, "redirects are not followed"));
    assert_null(strstr(log, "eyJ"));
    free(log);
}

static void recovers_after_error(void **state)
{
    struct fx *f = *state;
    open_issuers(f);
    srv_set_mode(&f->srv, SRV_500, 0);
    /* no keys at start: logged, not fatal; tokens refused meanwhile */
    assert_int_equal(hg_issuers_prefetch(f->x, T0), 1);
    assert_int_equal(stats(f).keys, 0);
    assert_int_equal(stats(f).fetched_at, 0);
    assert_int_equal(check_std(f, G.ka, "kid-a", T0), HG_ENOTFOUND);
    assert_int_equal(srv_requests(&f->srv), 1);
    char *log = log_text(f);
    assert_non_null(strstr(log, "no keys of this issuer yet"));
    free(log);
    /* the IdP is back: the next interval fetches */
    srv_set_mode(&f->srv, SRV_OK, 0);
    assert_int_equal(check_std(f, G.ka, "kid-a", T0 + 1), HG_OK);
    assert_int_equal(srv_requests(&f->srv), 2);
    struct hg_issuer_stats s = stats(f);
    assert_int_equal(s.fetches, 2);
    assert_int_equal(s.fetch_errors, 1);
    assert_int_equal(s.keys, 1);
    assert_int_equal(s.fetched_at, T0 + 1);
    /* a set with no usable key is a good fetch of zero keys */
    serve(f, 0);
    assert_int_equal(check_std(f, G.ka, "kid-a", T0 + 12), HG_ENOTFOUND);
    assert_int_equal(stats(f).keys, 0);
    assert_int_equal(stats(f).fetch_errors, 1);
}

static void tls_verified(void **state)
{
    struct fx *f = *state;
    /* without the issuer's CA the system store is used, which does not
     * know the dev CA: the handshake fails, nothing reaches HTTP */
    free(icfg(f)->ca);
    icfg(f)->ca = NULL;
    open_issuers(f);
    assert_int_equal(hg_issuers_prefetch(f->x, T0), 1);
    assert_int_equal(srv_requests(&f->srv), 0);
    assert_int_equal(stats(f).fetch_errors, 1);
    char *log = log_text(f);
    assert_non_null(strstr(log, "HG_ETLS"));
    free(log);

    /* an IdP that stops at TLS 1.2 is fine */
    srv_free(&f->srv);
    srv_start(&f->srv, G.pki, TLS1_2_VERSION);
    serve(f, 1, G.ka, "kid-a");
    load_cfg(f, NULL);
    open_issuers(f);
    assert_int_equal(hg_issuers_prefetch(f->x, T0), 0);
    assert_int_equal(srv_requests(&f->srv), 1);
    assert_int_equal(check_std(f, G.ka, "kid-a", T0), HG_OK);
}

static void construction(void **state)
{
    (void)state;
    struct hg_config *cfg = NULL;
    struct hg_issuers *x = NULL;
    struct hg_err e;
    struct hg_token_claims c;
    hg_err_clear(&e);

    /* no issuers: an empty set that knows nobody */
    assert_int_equal(hg_config_defaults(&cfg), HG_OK);
    assert_int_equal(hg_issuers_new(cfg, &x, &e), HG_OK);
    assert_int_equal(hg_issuers_count(x), 0);
    assert_false(hg_issuers_knows(x, ISS));
    assert_int_equal(hg_issuers_prefetch(x, T0), 0);
    struct hg_issuer_stats s;
    assert_int_equal(hg_issuers_stats(x, 0, &s), HG_EINVAL);
    struct hg_jws jws;
    char *tok = mint(G.ka, "kid-a", claims(), &jws);
    assert_int_equal(hg_issuers_verify(x, ISS, &jws, T0, &c, &e), HG_ENOTFOUND);
    hg_jws_free(&jws);
    free(tok);
    hg_issuers_free(x);
    x = NULL;

    /* a config built in code gets the checks config.c would make */
    char *map_bad[] = {"noequals"};
    struct hg_config_issuer is = {
        .issuer = ISS, .jwks_url = "http://idp.example.test/jwks", .audience = AUD,
        .refresh_interval_ms = 1000, .max_age_ms = 1000, .fetch_timeout_ms = 1000};
    cfg->auth.issuers = &is;
    cfg->auth.nissuers = 1;
    assert_int_equal(hg_issuers_new(cfg, &x, &e), HG_ECONFIG);
    assert_null(x);
    assert_non_null(strstr(hg_err_msg(&e), "https://"));
    is.jwks_url = "https://idp.example.test/jwks";
    is.role_map = map_bad;
    is.nrole_map = 1;
    assert_int_equal(hg_issuers_new(cfg, &x, &e), HG_ECONFIG);
    assert_non_null(strstr(hg_err_msg(&e), "role_map"));
    is.role_map = NULL;
    is.nrole_map = 0;
    is.fetch_timeout_ms = 0;
    assert_int_equal(hg_issuers_new(cfg, &x, &e), HG_ECONFIG);
    is.fetch_timeout_ms = 1000;
    is.audience = NULL;
    assert_int_equal(hg_issuers_new(cfg, &x, &e), HG_ECONFIG);
    is.audience = AUD;
    assert_int_equal(hg_issuers_new(cfg, &x, &e), HG_OK);
    assert_int_equal(hg_issuers_count(x), 1);
    assert_true(hg_issuers_knows(x, ISS));
    assert_false(hg_issuers_knows(x, NULL));
    assert_int_equal(hg_issuers_stats(x, 0, &s), HG_OK);
    assert_int_equal(s.fetches, 0);
    assert_int_equal(s.keys, 0);
    hg_issuers_free(x);
    hg_issuers_free(NULL);
    cfg->auth.issuers = NULL;
    cfg->auth.nissuers = 0;
    hg_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(verifies_and_maps, setup, teardown),
        cmocka_unit_test_setup_teardown(eddsa_jkt_scp_and_fallbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(role_map_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(audience_and_claims_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(binding_required, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_kid_flood, setup, teardown),
        cmocka_unit_test_setup_teardown(rotation_picked_up, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_if_error, setup, teardown),
        cmocka_unit_test_setup_teardown(recovers_after_error, setup, teardown),
        cmocka_unit_test_setup_teardown(tls_verified, setup, teardown),
        cmocka_unit_test(construction),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
