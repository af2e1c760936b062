/* SPDX-License-Identifier: Apache-2.0
 *
 * harness_auth.c — the harness's OAuth client, so that tests written
 * before tokens existed still speak to a daemon that requires them, and
 * new tests can ask for exactly the credentials they want. Every client
 * stem gets one P-256 DPoP key (made once per hg_it) and, on first use, a
 * DPoP-bound access token from POST /oauth2/token (cached until the test
 * ends: tests are far shorter than the token lifetime, and the keys
 * survive daemon restarts in the data directory). Each request then
 * carries `Authorization: DPoP <token>` and a fresh proof for its method
 * and URL, which every route accepts, critical or not.
 *
 * A request whose headers already name Authorization (even empty, which
 * makes curl send none) is left alone: that is how tests send no token,
 * a wrong one, or a Bearer token. The token endpoint and the discovery
 * documents are never given one.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/jose.h"
#include "common/util.h"
#include "crypto/hash.h"
#include "crypto/sign.h"
#include "harness.h"

#define AUTH_MAX_CLIENTS 16

struct it_client {
    char stem[64];
    struct hg_sign_key *key;
    char *token;          /* DPoP-bound, or NULL until fetched (or refused) */
    int refused;          /* the token endpoint said no: send without */
};

struct hg_it_auth {
    struct it_client c[AUTH_MAX_CLIENTS];
    size_t n;
};

/* Tests send from several threads at once (bursts): one lock around the
 * per-stem state. Token fetches happen under it, so concurrent first uses
 * wait for one fetch instead of racing. */
static pthread_mutex_t auth_mu = PTHREAD_MUTEX_INITIALIZER;

static struct it_client *client_of(struct hg_it *it, const char *stem)
{
    if (!it->auth) {
        it->auth = calloc(1, sizeof *it->auth);
        if (!it->auth)
            return NULL;
    }
    struct hg_it_auth *a = it->auth;
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(a->c[i].stem, stem))
            return &a->c[i];
    if (a->n == AUTH_MAX_CLIENTS)
        return NULL;
    struct it_client *c = &a->c[a->n];
    memset(c, 0, sizeof *c);
    snprintf(c->stem, sizeof c->stem, "%s", stem);
    struct hg_err err;
    hg_err_clear(&err);
    if (hg_sign_key_generate(HG_SIGN_ES256, &c->key, &err) != HG_OK)
        return NULL;
    a->n++;
    return c;
}

void hg_it_auth_free(struct hg_it *it)
{
    pthread_mutex_lock(&auth_mu);
    struct hg_it_auth *a = it->auth;
    it->auth = NULL;
    pthread_mutex_unlock(&auth_mu);
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        hg_sign_key_free(a->c[i].key);
        free(a->c[i].token);
    }
    free(a);
}

void hg_it_auth_forget(struct hg_it *it, const char *stem)
{
    pthread_mutex_lock(&auth_mu);
    struct it_client *c = it->auth ? client_of(it, stem) : NULL;
    if (c) {
        free(c->token);
        c->token = NULL;
        c->refused = 0;
    }
    pthread_mutex_unlock(&auth_mu);
}

char *hg_it_dpop_proof_key(const void *key, const char *method, const char *url,
                           const char *token, long iat_offset, const char *jti)
{
    const struct hg_sign_key *k = key;
    json_t *jwk = hg_jwk_export(k, NULL, 0);
    json_t *hdr = json_pack("{s:o}", "jwk", jwk);
    char idbuf[HG_UUID_STRLEN + 1];
    if (!jti) {
        hg_uuid7(idbuf);
        jti = idbuf;
    }
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I}", "jti", jti, "htm", method, "htu", url,
                               "iat", (json_int_t)(hg_wall_ms() / 1000 + iat_offset));
    if (token) {
        uint8_t h[32];
        char ath[64];
        hg_sha256(token, strlen(token), h);
        hg_b64url_encode(h, sizeof h, ath, sizeof ath);
        json_object_set_new(claims, "ath", json_string(ath));
    }
    char *out = NULL;
    struct hg_err err;
    hg_err_clear(&err);
    if (hg_jws_sign(k, "dpop+jwt", NULL, hdr, claims, &out, NULL, &err) != HG_OK)
        out = NULL;
    json_decref(hdr);
    json_decref(claims);
    return out;
}

const void *hg_it_dpop_key(struct hg_it *it, const char *stem)
{
    pthread_mutex_lock(&auth_mu);
    struct it_client *c = client_of(it, stem);
    pthread_mutex_unlock(&auth_mu);
    return c ? c->key : NULL;
}

void hg_it_url(struct hg_it *it, const char *path, char *out, size_t cap)
{
    const char *q = strchr(path, '?');
    int n = q ? (int)(q - path) : (int)strlen(path);
    snprintf(out, cap, "https://127.0.0.1:%d%.*s", it->api_port, n, path);
}

char *hg_it_dpop_proof(struct hg_it *it, const char *stem, const char *method,
                       const char *path, const char *token)
{
    pthread_mutex_lock(&auth_mu);
    struct it_client *c = client_of(it, stem);
    pthread_mutex_unlock(&auth_mu);
    if (!c)
        return NULL;
    char url[600];
    hg_it_url(it, path, url, sizeof url);
    return hg_it_dpop_proof_key(c->key, method, url, token, 0, NULL);
}

int hg_it_token_request(struct hg_it *it, const char *stem, const char *scope, int dpop,
                        struct hg_it_resp *out)
{
    char body[600], hdr_dpop[4200];
    snprintf(body, sizeof body, "grant_type=client_credentials%s%s", scope ? "&scope=" : "",
             scope ? scope : "");
    const char *hdrs[4] = {"Content-Type: application/x-www-form-urlencoded", NULL, NULL,
                           NULL};
    if (dpop) {
        char *proof = hg_it_dpop_proof(it, stem, "POST", "/oauth2/token", NULL);
        if (!proof)
            return -1;
        snprintf(hdr_dpop, sizeof hdr_dpop, "DPoP: %s", proof);
        free(proof);
        hdrs[1] = hdr_dpop;
    }
    return hg_it_request(it, NULL, stem, "POST", "/oauth2/token", hdrs, body, strlen(body),
                         out);
}

/* The cached DPoP-bound token of stem, fetched on first use; NULL when the
 * token endpoint refuses it (an unmapped certificate). */
const char *hg_it_token(struct hg_it *it, const char *stem)
{
    pthread_mutex_lock(&auth_mu);
    struct it_client *c = client_of(it, stem);
    if (!c || c->refused || c->token) {
        const char *t = c && !c->refused ? c->token : NULL;
        pthread_mutex_unlock(&auth_mu);
        return t;
    }
    /* the key exists now; the fetch makes its proof through
     * hg_it_dpop_proof, which takes the lock: release it around the call
     * and re-check after (another thread may have fetched meanwhile) */
    pthread_mutex_unlock(&auth_mu);
    struct hg_it_resp r;
    int ok = hg_it_token_request(it, stem, NULL, 1, &r) == 0 && r.status == 200;
    json_t *doc = ok ? json_loads(r.body, 0, NULL) : NULL;
    const char *t = json_string_value(json_object_get(doc, "access_token"));
    pthread_mutex_lock(&auth_mu);
    if (!c->token) {
        if (t)
            c->token = strdup(t);
        else
            c->refused = 1;
    }
    const char *out = c->token;
    pthread_mutex_unlock(&auth_mu);
    json_decref(doc);
    hg_it_resp_free(&r);
    return out;
}

static int wants_auth(const char *stem, const char *path, const char *const *headers)
{
    if (!stem || !strncmp(path, "/oauth2/", 8) || !strncmp(path, "/.well-known/", 13))
        return 0;
    for (size_t i = 0; headers && headers[i]; i++)
        if (!strncasecmp(headers[i], "Authorization:", 14))
            return 0;
    return 1;
}

char **hg_it_auth_headers(struct hg_it *it, const char *stem, const char *method,
                          const char *path, const char *const *headers)
{
    size_t n = 0;
    while (headers && headers[n])
        n++;
    char **out = calloc(n + 3, sizeof *out);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        out[k++] = strdup(headers[i]);
    const char *tok = wants_auth(stem, path, headers) ? hg_it_token(it, stem) : NULL;
    if (tok) {
        char *proof = hg_it_dpop_proof(it, stem, method, path, tok);
        size_t an = strlen(tok) + 32;
        out[k] = malloc(an);
        if (out[k])
            snprintf(out[k], an, "Authorization: DPoP %s", tok);
        k++;
        if (proof) {
            size_t pn = strlen(proof) + 8;
            out[k] = malloc(pn);
            if (out[k])
                snprintf(out[k], pn, "DPoP: %s", proof);
            k++;
            free(proof);
        }
    }
    return out;
}

void hg_it_headers_free(char **h)
{
    for (size_t i = 0; h && h[i]; i++)
        free(h[i]);
    free(h);
}

int hg_it_bearer(struct hg_it *it, const char *stem, char *out, size_t cap)
{
    struct hg_it_resp r;
    int rc = -1;
    out[0] = '\0';
    if (hg_it_token_request(it, stem, NULL, 0, &r) == 0 && r.status == 200) {
        json_t *doc = json_loads(r.body, 0, NULL);
        const char *t = json_string_value(json_object_get(doc, "access_token"));
        if (t && strlen(t) < cap) {
            memcpy(out, t, strlen(t) + 1);
            rc = 0;
        }
        json_decref(doc);
    }
    hg_it_resp_free(&r);
    return rc;
}
