/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_token.c — libFuzzer target for auth/token's verifier. A fixed keyring
 * (ES256, created once in a temporary directory removed at exit) signs for
 * issuer https://fuzz.test. The first input byte picks the mode:
 *   even: the rest is a token, verified as is (parser, alg allow-list,
 *         typ, issuer and kid lookup, signature);
 *   odd:  the rest is a JWT payload; if it is a JSON object our keyring
 *         signs it (typ at+jwt), so the claim checks run behind a valid
 *         signature, which random bytes never reach.
 * Each input is verified by a fresh verifier with a small cache, twice (a
 * miss, then a hit when the first passed), and both answers must agree.
 * Invariants beyond not crashing: a failure carries a message and zeroed
 * claims and never echoes the signature part; a success has bounded, NUL-terminated
 * claims, our issuer and audience, a binding with a 43-character cnf, and
 * exp within the leeway. The time is fixed, so every run is reproducible.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/keyring.h"
#include "auth/token.h"

#define NOW INT64_C(1800000000)
#define ISS "https://fuzz.test"

static char dir[64];
static struct hg_keyring *kr;

static void check(int cond)
{
    if (!cond)
        abort();
}

static void cleanup(void)
{
    char cmd[128];
    hg_keyring_close(kr);
    kr = NULL;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_token: could not remove %s\n", dir);
}

static struct hg_keyring *keyring(void)
{
    if (kr)
        return kr;
    snprintf(dir, sizeof dir, "/tmp/hg-fuzz-token-XXXXXX");
    check(mkdtemp(dir) != NULL);
    struct hg_keyring_opts o = {
        .dir = dir, .alg = HG_JOSE_ES256, .publish_delay_s = 0, .token_lifetime_s = 300,
        .leeway_s = 60,
    };
    check(hg_keyring_open(&o, NOW - 1000, &kr, NULL) == HG_OK);
    atexit(cleanup);
    return kr;
}

static int same_claims(const struct hg_token_claims *a, const struct hg_token_claims *b)
{
    return !strcmp(a->iss, b->iss) && !strcmp(a->aud, b->aud) && !strcmp(a->sub, b->sub) &&
           !strcmp(a->client_id, b->client_id) && !strcmp(a->tenant, b->tenant) &&
           !strcmp(a->jti, b->jti) && a->exp == b->exp && a->nbf == b->nbf &&
           a->iat == b->iat && a->scopes == b->scopes && a->nroles == b->nroles &&
           a->bind == b->bind && !strcmp(a->cnf, b->cnf);
}

static void check_ok(const struct hg_token_claims *c)
{
    check(!strcmp(c->iss, ISS) && !strcmp(c->aud, ISS));
    check(strnlen(c->sub, sizeof c->sub) < sizeof c->sub && c->sub[0]);
    check(strnlen(c->client_id, sizeof c->client_id) < sizeof c->client_id && c->client_id[0]);
    check(strnlen(c->tenant, sizeof c->tenant) < sizeof c->tenant);
    check(strnlen(c->jti, sizeof c->jti) < sizeof c->jti);
    check(c->nroles <= HG_TOKEN_MAX_ROLES);
    for (size_t i = 0; i < c->nroles; i++)
        check(strnlen(c->roles[i], sizeof c->roles[i]) < sizeof c->roles[i] && c->roles[i][0]);
    check(c->bind == HG_BIND_X5T || c->bind == HG_BIND_JKT);
    check(strlen(c->cnf) == HG_JWK_THUMB_LEN);
    check(NOW <= c->exp + 60);
    check(!c->external);
}

static void check_failed(hg_status st, const struct hg_token_claims *c,
                         const struct hg_err *err, const char *tok, size_t n)
{
    static const struct hg_token_claims zero;
    check(st == HG_ETOOBIG || st == HG_EUNSUPPORTED || st == HG_ENOTFOUND ||
          st == HG_EVERIFY || st == HG_EPARSE);
    check(err->msg[0] != '\0');
    check(memcmp(c, &zero, sizeof zero) == 0);
    /* the message never quotes the token: no 24-byte stretch of its last
     * part (the signature, never echoed by design; other parts hold values
     * a message may name, such as a kid) appears in it */
    const char *sig = memrchr(tok, '.', n);
    if (sig) {
        size_t sn = n - (size_t)(sig + 1 - tok);
        for (size_t i = 0; i + 24 <= sn; i += 12)
            check(memmem(err->msg, strlen(err->msg), sig + 1 + i, 24) == NULL);
    }
}

static void verify_twice(const char *tok, size_t n)
{
    struct hg_token_opts o = {
        .issuer = ISS, .audience = ISS, .lifetime_s = 300, .leeway_s = 60, .cache_max = 4,
        .keys = keyring(), .external = NULL,
    };
    struct hg_tokens *t = NULL;
    check(hg_tokens_new(&o, &t, NULL) == HG_OK);
    struct hg_token_claims c1, c2;
    struct hg_err e1, e2;
    memset(&e1, 0, sizeof e1);
    memset(&e2, 0, sizeof e2);
    hg_status s1 = hg_token_verify(t, tok, n, NOW, &c1, &e1);
    hg_status s2 = hg_token_verify(t, tok, n, NOW, &c2, &e2);
    check(s1 == s2);
    if (s1 == HG_OK) {
        check_ok(&c1);
        check(same_claims(&c1, &c2));
        struct hg_token_stats st;
        hg_tokens_stats(t, &st);
        check(st.hits == 1 && st.misses == 1 && st.entries == 1);
    } else {
        check_failed(s1, &c1, &e1, tok, n);
        check_failed(s2, &c2, &e2, tok, n);
    }
    hg_tokens_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    if (!(data[0] & 1)) {
        verify_twice(rest, n);
        return 0;
    }
    if (n > HG_TOKEN_MAX)
        return 0;
    json_t *payload = json_loadb(rest, n, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(payload)) {
        char *tok = NULL;
        size_t len = 0;
        if (hg_keyring_sign(keyring(), NOW, "at+jwt", payload, &tok, &len, NULL) == HG_OK) {
            verify_twice(tok, len);
            free(tok);
        }
    }
    json_decref(payload);
    return 0;
}
