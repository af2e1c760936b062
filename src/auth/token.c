/* SPDX-License-Identifier: Apache-2.0
 *
 * token.c — access tokens (RFC 9068 JWTs): issue ours through the keyring,
 * verify ours and (through auth/issuers) those of trusted external
 * identity providers, and remember verified tokens so the signature is
 * checked once per token rather than once per request.
 *
 * The cache is on every authenticated request's path, so a hit costs one
 * SHA-256 of the token, one shard mutex, a chain walk comparing all 32
 * bytes of the hash, and a copy of the claims: no allocation, no JSON. Each
 * shard is a fixed pool of entries (allocated once) indexed by chained
 * buckets; when a shard is full the clock hand evicts an expired entry near
 * it, else the one it points at (the oldest, since tokens arrive roughly in
 * exp order). Error messages are written for WWW-Authenticate's
 * error_description: they say what is wrong and never echo the token;
 * values taken from it (kid, iss, typ) are shortened and reduced to
 * printable ASCII without quotes or backslashes.
 */
/* The low-level SHA256_* calls are deprecated in OpenSSL 3 but are
 * allocation-free and a third faster than SHA256() (which fetches an EVP
 * method and allocates a context per call) on the ~700-byte tokens hashed
 * on every request. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "auth/token.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/issuers.h"
#include "auth/keyring.h"
#include "auth/scope.h"
#include "common/util.h"

#define SHARDS_MAX 16
#define EVICT_SCAN 8                   /* entries looked at for an expired one */
#define TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define ECHO_MAX 64                    /* longest token-supplied value in a message */

struct centry {
    uint8_t key[SHA256_DIGEST_LENGTH];
    int64_t expires; /* exp + leeway */
    int32_t next;    /* bucket chain, or free list */
    uint8_t used;
    struct hg_token_claims claims;
};

struct shard {
    _Alignas(64) pthread_mutex_t mu; /* a cache line per shard: no false sharing */
    uint32_t cap, n, hand, bmask;
    uint32_t fresh;    /* entries [fresh, cap) were never used (untouched pages) */
    int32_t free_head; /* entries used once and freed since */
    int32_t *buckets;
    struct centry *e;
};

struct hg_tokens {
    char issuer[HG_TOKEN_URL_MAX + 1];
    char audience[HG_TOKEN_URL_MAX + 1];
    int64_t lifetime, leeway;
    struct hg_keyring *keys;
    struct hg_issuers *external;
    size_t nshards; /* power of two; 0 = cache off */
    struct shard *shards;
    atomic_uint_fast64_t hits, misses;
    atomic_size_t entries;
};

/* ------------------------------------------------------------ cache */

static uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static struct shard *shard_of(struct hg_tokens *t, const uint8_t *key)
{
    return &t->shards[key[0] & (t->nshards - 1)];
}

static uint32_t bucket_of(const struct shard *s, const uint8_t *key)
{
    return load32(key + 4) & s->bmask;
}

static int32_t cache_find(const struct shard *s, const uint8_t *key)
{
    for (int32_t i = s->buckets[bucket_of(s, key)]; i >= 0; i = s->e[i].next)
        if (memcmp(s->e[i].key, key, SHA256_DIGEST_LENGTH) == 0)
            return i;
    return -1;
}

static void cache_remove(struct hg_tokens *t, struct shard *s, int32_t i)
{
    struct centry *e = &s->e[i];
    int32_t *link = &s->buckets[bucket_of(s, e->key)];
    while (*link != i)
        link = &s->e[*link].next;
    *link = e->next;
    e->used = 0;
    e->next = s->free_head;
    s->free_head = i;
    s->n--;
    atomic_fetch_sub_explicit(&t->entries, 1, memory_order_relaxed);
}

static void cache_insert(struct hg_tokens *t, const uint8_t *key, const struct hg_token_claims *c,
                         int64_t expires, int64_t now)
{
    struct shard *s = shard_of(t, key);
    if (s->cap == 0)
        return;
    pthread_mutex_lock(&s->mu);
    int32_t i = cache_find(s, key);
    if (i >= 0) { /* two threads verified the same token at once */
        s->e[i].expires = expires;
        s->e[i].claims = *c;
        goto out;
    }
    /* the hand sweeps one step per insert, reclaiming an expired entry */
    if (s->e[s->hand].used && s->e[s->hand].expires < now) {
        cache_remove(t, s, (int32_t)s->hand);
        s->hand = (s->hand + 1) % s->cap;
    }
    if (s->free_head < 0 && s->fresh < s->cap) {
        s->free_head = (int32_t)s->fresh++; /* the pool grows into its pages */
        s->e[s->free_head].next = -1;
    }
    if (s->free_head < 0) {
        uint32_t victim = s->hand;
        for (uint32_t k = 0; k < EVICT_SCAN && k < s->cap; k++) {
            uint32_t j = (s->hand + k) % s->cap;
            if (s->e[j].expires < now) {
                victim = j;
                break;
            }
        }
        cache_remove(t, s, (int32_t)victim);
        s->hand = (victim + 1) % s->cap;
    }
    i = s->free_head;
    struct centry *e = &s->e[i];
    s->free_head = e->next;
    memcpy(e->key, key, SHA256_DIGEST_LENGTH);
    e->expires = expires;
    e->claims = *c;
    e->used = 1;
    uint32_t b = bucket_of(s, key);
    e->next = s->buckets[b];
    s->buckets[b] = i;
    s->n++;
    atomic_fetch_add_explicit(&t->entries, 1, memory_order_relaxed);
out:
    pthread_mutex_unlock(&s->mu);
}

/* 1 hit (claims copied, *expires set), 0 miss. */
static int cache_lookup(struct hg_tokens *t, const uint8_t *key, struct hg_token_claims *out,
                        int64_t *expires)
{
    struct shard *s = shard_of(t, key);
    int hit = 0;
    if (s->cap == 0)
        return 0;
    pthread_mutex_lock(&s->mu);
    int32_t i = cache_find(s, key);
    if (i >= 0) {
        *out = s->e[i].claims;
        *expires = s->e[i].expires;
        hit = 1;
    }
    pthread_mutex_unlock(&s->mu);
    return hit;
}

static void cache_drop(struct hg_tokens *t, const uint8_t *key)
{
    struct shard *s = shard_of(t, key);
    pthread_mutex_lock(&s->mu);
    int32_t i = cache_find(s, key);
    if (i >= 0)
        cache_remove(t, s, i);
    pthread_mutex_unlock(&s->mu);
}

static void cache_free(struct hg_tokens *t)
{
    for (size_t k = 0; k < t->nshards; k++) {
        struct shard *s = &t->shards[k];
        if (s->e)
            OPENSSL_cleanse(s->e, (size_t)s->cap * sizeof *s->e);
        free(s->e);
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    free(t->shards);
}

/* Exactly cache_max entries in all: a power-of-two number of shards (fewer
 * than 16 for a tiny cache, so no shard is empty), the remainder spread one
 * each over the first shards. */
static hg_status cache_init(struct hg_tokens *t, size_t cache_max)
{
    if (cache_max == 0)
        return HG_OK;
    if (cache_max > INT32_MAX / 2)
        return HG_ETOOBIG;
    size_t ns = SHARDS_MAX;
    while (ns > cache_max)
        ns /= 2;
    t->shards = aligned_alloc(_Alignof(struct shard), ns * sizeof *t->shards);
    if (!t->shards)
        return HG_ENOMEM;
    memset(t->shards, 0, ns * sizeof *t->shards);
    t->nshards = ns;
    for (size_t k = 0; k < ns; k++) {
        struct shard *s = &t->shards[k];
        pthread_mutex_init(&s->mu, NULL);
        s->cap = (uint32_t)(cache_max / ns + (k < cache_max % ns));
        uint32_t nb = 1;
        while (nb < s->cap)
            nb *= 2;
        s->bmask = nb - 1;
        s->buckets = malloc(nb * sizeof *s->buckets);
        /* calloc, and no free list threaded through it: the pool's pages
         * are only touched as entries fill it, so an idle daemon does not
         * pay for a cache sized for its peak (10,000 entries ~ 14 MiB) */
        s->e = calloc(s->cap, sizeof *s->e);
        if (!s->buckets || !s->e)
            return HG_ENOMEM;
        memset(s->buckets, 0xff, nb * sizeof *s->buckets); /* all -1 */
        s->free_head = -1;
        s->fresh = 0;
    }
    return HG_OK;
}

/* ------------------------------------------------------------ helpers */

/* A value from the token, fit for a message: at most ECHO_MAX printable
 * ASCII characters, no quote or backslash (RFC 6750 error_description). */
static const char *echo(const char *s, char out[ECHO_MAX + 4])
{
    size_t i = 0;
    if (!s)
        return "(none)";
    for (; s[i] && i < ECHO_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20 || c > 0x7e || c == '"' || c == '\\') ? '?' : (char)c;
    }
    if (s[i]) {
        memcpy(out + i, "...", 4);
        return out;
    }
    out[i] = '\0';
    return out;
}

static int b64url_len_ok(const char *s, size_t want)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return n == want;
}

static int typ_is_at_jwt(const char *typ)
{
    return typ && (!strcasecmp(typ, "at+jwt") || !strcasecmp(typ, "application/at+jwt"));
}

/* A JSON string claim of 1..max bytes without NUL into out. HG_ENOTFOUND
 * when absent. */
static hg_status str_claim(const json_t *payload, const char *name, size_t max, char *out,
                           struct hg_err *err)
{
    json_t *v = json_object_get(payload, name);
    if (!v)
        return HG_ENOTFOUND;
    if (!json_is_string(v))
        return hg_err_set(err, HG_EVERIFY, "token claim %s must be a string", name);
    size_t n = json_string_length(v);
    if (n == 0 || n > max || strlen(json_string_value(v)) != n)
        return hg_err_set(err, HG_EVERIFY,
                          "token claim %s must be 1 to %zu characters without NUL", name, max);
    memcpy(out, json_string_value(v), n + 1);
    return HG_OK;
}

/* A NumericDate (RFC 7519 §2): integer or real seconds, floored. */
static hg_status time_claim(const json_t *payload, const char *name, int64_t *out,
                            struct hg_err *err)
{
    json_t *v = json_object_get(payload, name);
    if (!v)
        return HG_ENOTFOUND;
    double d = 0;
    if (json_is_integer(v))
        d = (double)json_integer_value(v);
    else if (json_is_real(v))
        d = json_real_value(v);
    else
        return hg_err_set(err, HG_EVERIFY, "token claim %s must be a number of seconds", name);
    if (!(d >= 0 && d <= (double)TIME_MAX))
        return hg_err_set(err, HG_EVERIFY, "token claim %s is out of range", name);
    *out = json_is_integer(v) ? (int64_t)json_integer_value(v) : (int64_t)d;
    return HG_OK;
}

static hg_status not_yet(struct hg_err *err, int64_t nbf, int64_t now)
{
    char when[HG_RFC3339_LEN + 1];
    hg_rfc3339(nbf * 1000, when);
    return hg_err_set(err, HG_EVERIFY,
                      "token not valid before %s (%lld s from now); check the clocks of the "
                      "issuer and this server",
                      when, (long long)(nbf - now));
}

/* exp (required), nbf and iat (if present) against now with the leeway. */
static hg_status check_times(const struct hg_tokens *t, const json_t *payload, int64_t now,
                             struct hg_token_claims *c, struct hg_err *err)
{
    hg_status st = time_claim(payload, "exp", &c->exp, err);
    if (st == HG_ENOTFOUND)
        return hg_err_set(err, HG_EVERIFY, "token has no exp claim; it must expire");
    if (st != HG_OK)
        return st;
    if (now > c->exp + t->leeway)
        return hg_err_set(err, HG_EVERIFY, "token expired %lld s ago; request a new token",
                          (long long)(now - c->exp));
    st = time_claim(payload, "nbf", &c->nbf, err);
    if (st == HG_ENOTFOUND)
        c->nbf = 0;
    else if (st != HG_OK)
        return st;
    if (c->nbf && now < c->nbf - t->leeway)
        return not_yet(err, c->nbf, now);
    st = time_claim(payload, "iat", &c->iat, err);
    if (st == HG_ENOTFOUND)
        c->iat = 0;
    else if (st != HG_OK)
        return st;
    if (c->iat > now + t->leeway)
        return hg_err_set(err, HG_EVERIFY,
                          "token issued in the future (iat %lld s ahead of this server's "
                          "clock); check the clocks of the issuer and this server",
                          (long long)(c->iat - now));
    return HG_OK;
}

static hg_status check_aud(const struct hg_tokens *t, const json_t *payload,
                           struct hg_token_claims *c, struct hg_err *err)
{
    json_t *aud = json_object_get(payload, "aud");
    int found = 0;
    if (json_is_string(aud)) {
        found = !strcmp(json_string_value(aud), t->audience);
    } else if (json_is_array(aud)) {
        for (size_t i = 0; i < json_array_size(aud) && !found; i++) {
            const char *a = json_string_value(json_array_get(aud, i));
            found = a && !strcmp(a, t->audience);
        }
    }
    if (!found)
        return hg_err_set(err, HG_EVERIFY, "token audience does not include %s", t->audience);
    hg_strlcpy(c->aud, t->audience, sizeof c->aud);
    return HG_OK;
}

/* The claims of one of our tokens: strict (we wrote them). */
static hg_status our_claims(const json_t *p, struct hg_token_claims *c, struct hg_err *err)
{
    static const struct {
        const char *name;
        size_t off, max;
        int required;
    } strs[] = {
        {"sub", offsetof(struct hg_token_claims, sub), HG_TOKEN_NAME_MAX, 1},
        {"client_id", offsetof(struct hg_token_claims, client_id), HG_TOKEN_NAME_MAX, 1},
        {"jti", offsetof(struct hg_token_claims, jti), HG_TOKEN_NAME_MAX, 1},
        {"tenant", offsetof(struct hg_token_claims, tenant), HG_TOKEN_NAME_MAX, 0},
    };
    hg_status st;
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        st = str_claim(p, strs[i].name, strs[i].max, (char *)c + strs[i].off, err);
        if (st == HG_ENOTFOUND && strs[i].required)
            return hg_err_set(err, HG_EVERIFY, "token has no %s claim", strs[i].name);
        if (st != HG_OK && st != HG_ENOTFOUND)
            return st;
    }

    json_t *scope = json_object_get(p, "scope");
    c->scopes = 0;
    if (scope) {
        char bad[ECHO_MAX + 1], e[ECHO_MAX + 4];
        if (!json_is_string(scope))
            return hg_err_set(err, HG_EVERIFY, "token claim scope must be a string");
        st = hg_scope_parse(json_string_value(scope), json_string_length(scope), &c->scopes,
                            bad, sizeof bad);
        if (st == HG_ENOTFOUND)
            return hg_err_set(err, HG_EVERIFY, "token scope %s is unknown here",
                              echo(bad, e));
        if (st != HG_OK)
            return hg_err_set(err, HG_EVERIFY,
                              "token claim scope must be space-separated scope names");
    }

    json_t *roles = json_object_get(p, "roles");
    c->nroles = 0;
    if (roles) {
        if (!json_is_array(roles))
            return hg_err_set(err, HG_EVERIFY, "token claim roles must be an array of strings");
        if (json_array_size(roles) > HG_TOKEN_MAX_ROLES)
            return hg_err_set(err, HG_EVERIFY, "token has more than %d roles",
                              HG_TOKEN_MAX_ROLES);
        for (size_t i = 0; i < json_array_size(roles); i++) {
            json_t *r = json_array_get(roles, i);
            size_t n = json_string_length(r);
            if (!json_is_string(r) || n == 0 || n > HG_TOKEN_ROLE_MAX ||
                strlen(json_string_value(r)) != n)
                return hg_err_set(err, HG_EVERIFY,
                                  "token roles must be strings of 1 to %d characters",
                                  HG_TOKEN_ROLE_MAX);
            memcpy(c->roles[c->nroles++], json_string_value(r), n + 1);
        }
    }

    json_t *cnf = json_object_get(p, "cnf");
    if (!cnf)
        return hg_err_set(err, HG_EVERIFY,
                          "token is not bound to a certificate or DPoP key (no cnf claim); "
                          "request a new token");
    json_t *x5t = json_object_get(cnf, "x5t#S256"), *jkt = json_object_get(cnf, "jkt");
    json_t *v = x5t ? x5t : jkt;
    if (!json_is_object(cnf) || json_object_size(cnf) != 1 || !json_is_string(v) ||
        !b64url_len_ok(json_string_value(v), HG_JWK_THUMB_LEN) ||
        json_string_length(v) != HG_JWK_THUMB_LEN)
        return hg_err_set(err, HG_EVERIFY,
                          "token cnf must hold exactly one of x5t#S256 and jkt, a %d-character "
                          "base64url SHA-256",
                          HG_JWK_THUMB_LEN);
    c->bind = x5t ? HG_BIND_X5T : HG_BIND_JKT;
    memcpy(c->cnf, json_string_value(v), HG_JWK_THUMB_LEN + 1);
    return HG_OK;
}

/* ------------------------------------------------------------ public */

hg_status hg_tokens_new(const struct hg_token_opts *o, struct hg_tokens **out,
                        struct hg_err *err)
{
    if (!out)
        return hg_err_set(err, HG_EINVAL, "hg_tokens_new: no output");
    *out = NULL;
    if (!o || !o->issuer || !*o->issuer || !o->audience || !*o->audience || !o->keys ||
        o->lifetime_s <= 0 || o->leeway_s < 0)
        return hg_err_set(err, HG_EINVAL,
                          "token options: issuer, audience, keyring, lifetime > 0 and "
                          "leeway >= 0 are required");
    struct hg_tokens *t = calloc(1, sizeof *t);
    if (!t)
        return hg_err_set(err, HG_ENOMEM, "out of memory creating the token verifier");
    if (hg_strlcpy(t->issuer, o->issuer, sizeof t->issuer) != HG_OK ||
        hg_strlcpy(t->audience, o->audience, sizeof t->audience) != HG_OK) {
        free(t);
        return hg_err_set(err, HG_ETOOBIG, "token issuer and audience must be at most %d "
                          "characters", HG_TOKEN_URL_MAX);
    }
    t->lifetime = o->lifetime_s;
    t->leeway = o->leeway_s;
    t->keys = o->keys;
    t->external = o->external;
    atomic_init(&t->hits, 0);
    atomic_init(&t->misses, 0);
    atomic_init(&t->entries, 0);
    hg_status st = cache_init(t, o->cache_max);
    if (st != HG_OK) {
        hg_tokens_free(t);
        return hg_err_set(err, st, "cannot allocate a verified-token cache of %zu entries; "
                          "lower auth.token_cache", o->cache_max);
    }
    *out = t;
    return HG_OK;
}

void hg_tokens_free(struct hg_tokens *t)
{
    if (!t)
        return;
    cache_free(t);
    free(t);
}

static int name_ok(const char *s, size_t cap, int may_be_empty)
{
    size_t n = strnlen(s, cap);
    return n < cap && (may_be_empty || n > 0);
}

hg_status hg_token_issue(struct hg_tokens *t, int64_t now, struct hg_token_claims *c,
                         char **out, size_t *outlen, struct hg_err *err)
{
    hg_status st = HG_ENOMEM;
    char scope[HG_SCOPE_LIST_MAX + 1];
    json_t *p = NULL, *roles = NULL, *cnf = NULL;
    if (!t || !c || !out)
        return hg_err_set(err, HG_EINVAL, "hg_token_issue: missing argument");
    *out = NULL;
    if (!name_ok(c->sub, sizeof c->sub, 0) || !name_ok(c->client_id, sizeof c->client_id, 0) ||
        !name_ok(c->tenant, sizeof c->tenant, 1) || c->nroles > HG_TOKEN_MAX_ROLES)
        return hg_err_set(err, HG_EINVAL, "cannot issue a token without sub and client_id, "
                          "or with more than %d roles", HG_TOKEN_MAX_ROLES);
    for (size_t i = 0; i < c->nroles; i++)
        if (!name_ok(c->roles[i], sizeof c->roles[i], 0))
            return hg_err_set(err, HG_EINVAL, "cannot issue a token with an empty role");
    /* every token we issue is sender-constrained (DESIGN.md §4 fail closed) */
    if ((c->bind != HG_BIND_X5T && c->bind != HG_BIND_JKT) ||
        !b64url_len_ok(c->cnf, HG_JWK_THUMB_LEN))
        return hg_err_set(err, HG_EINVAL, "refusing to issue a token not bound to a client "
                          "certificate (x5t#S256) or DPoP key (jkt)");
    if (hg_scope_format(c->scopes & HG_SCOPE_ALL, scope, sizeof scope) == (size_t)-1)
        return hg_err_set(err, HG_EINVAL, "scope list too long");

    hg_strlcpy(c->iss, t->issuer, sizeof c->iss);
    hg_strlcpy(c->aud, t->audience, sizeof c->aud);
    c->iat = c->nbf = now;
    c->exp = now + t->lifetime;
    c->external = 0;
    c->scopes &= HG_SCOPE_ALL;
    st = hg_uuid7(c->jti);
    if (st != HG_OK)
        return hg_err_set(err, st, "cannot make a token id (random source failed)");

    st = HG_ENOMEM;
    /* member order is the one docs/internals/tokens.md documents */
    if (!(p = json_object()) || !(roles = json_array()) || !(cnf = json_object()) ||
        json_object_set_new(p, "iss", json_string(c->iss)) ||
        json_object_set_new(p, "sub", json_string(c->sub)) ||
        json_object_set_new(p, "aud", json_string(c->aud)) ||
        json_object_set_new(p, "exp", json_integer(c->exp)) ||
        json_object_set_new(p, "iat", json_integer(c->iat)) ||
        json_object_set_new(p, "nbf", json_integer(c->nbf)) ||
        json_object_set_new(p, "jti", json_string(c->jti)) ||
        json_object_set_new(p, "client_id", json_string(c->client_id)) ||
        json_object_set_new(p, "scope", json_string(scope)) ||
        (c->tenant[0] && json_object_set_new(p, "tenant", json_string(c->tenant))) ||
        json_object_set(p, "roles", roles) || json_object_set(p, "cnf", cnf) ||
        json_object_set_new(cnf, c->bind == HG_BIND_X5T ? "x5t#S256" : "jkt",
                            json_string(c->cnf)))
        goto out;
    for (size_t i = 0; i < c->nroles; i++)
        if (json_array_append_new(roles, json_string(c->roles[i])))
            goto out;
    st = hg_keyring_sign(t->keys, now, "at+jwt", p, out, outlen, err);
out:
    if (st == HG_ENOMEM)
        hg_err_set(err, st, "out of memory issuing a token");
    json_decref(cnf);
    json_decref(roles);
    json_decref(p);
    return st;
}

/* Signature, times, audience and claims of a parsed token. */
static hg_status verify_parsed(struct hg_tokens *t, const struct hg_jws *jws, int64_t now,
                               struct hg_token_claims *c, struct hg_err *err)
{
    char e1[ECHO_MAX + 4];
    hg_status st = str_claim(jws->payload, "iss", HG_TOKEN_URL_MAX, c->iss, err);
    if (st == HG_ENOTFOUND)
        return hg_err_set(err, HG_EVERIFY, "token has no iss claim");
    if (st != HG_OK)
        return st;

    if (strcmp(c->iss, t->issuer) != 0) {
        if (!t->external || !hg_issuers_knows(t->external, c->iss))
            return hg_err_set(err, HG_ENOTFOUND,
                              "unknown issuer %s; request a token from %s or a configured "
                              "issuer",
                              echo(c->iss, e1), t->issuer);
        /* RFC 9068 asks for at+jwt, but several IdPs still write "JWT" or
         * nothing; what must never pass is another kind of JWT (a DPoP
         * proof, a logout token) signed by the same key */
        if (jws->typ && !typ_is_at_jwt(jws->typ) && strcasecmp(jws->typ, "JWT") != 0)
            return hg_err_set(err, HG_EVERIFY, "token typ %s is not an access token type",
                              echo(jws->typ, e1));
        char iss[HG_TOKEN_URL_MAX + 1];
        memcpy(iss, c->iss, sizeof iss);
        st = hg_issuers_verify(t->external, iss, jws, now, c, err);
        if (st != HG_OK)
            return st;
        memcpy(c->iss, iss, sizeof c->iss);
        c->external = 1;
        if (str_claim(jws->payload, "jti", HG_TOKEN_NAME_MAX, c->jti, NULL) != HG_OK)
            c->jti[0] = '\0';
        return check_times(t, jws->payload, now, c, err);
    }

    if (!typ_is_at_jwt(jws->typ))
        return hg_err_set(err, HG_EVERIFY,
                          "token typ must be at+jwt (RFC 9068), not %s; request a new token",
                          echo(jws->typ, e1));
    if (!jws->kid)
        return hg_err_set(err, HG_ENOTFOUND, "token has no kid header; request a new token");
    st = hg_keyring_verify(t->keys, jws, now);
    if (st == HG_ENOTFOUND)
        return hg_err_set(err, st,
                          "unknown signing key kid %s (it may have been rotated out; request "
                          "a new token)",
                          echo(jws->kid, e1));
    if (st != HG_OK)
        return hg_err_set(err, HG_EVERIFY,
                          "token signature does not verify with key %s; request a new token",
                          echo(jws->kid, e1));
    st = check_times(t, jws->payload, now, c, err);
    if (st == HG_OK)
        st = check_aud(t, jws->payload, c, err);
    if (st == HG_OK)
        st = our_claims(jws->payload, c, err);
    return st;
}

hg_status hg_token_verify(struct hg_tokens *t, const char *tok, size_t n, int64_t now,
                          struct hg_token_claims *out, struct hg_err *err)
{
    uint8_t key[SHA256_DIGEST_LENGTH];
    int64_t expires = 0;
    struct hg_jws jws;
    if (!t || !out || (!tok && n))
        return hg_err_set(err, HG_EINVAL, "hg_token_verify: missing argument");
    memset(out, 0, sizeof *out);
    if (n == 0)
        return hg_err_set(err, HG_EPARSE, "empty token");
    if (n > HG_TOKEN_MAX)
        return hg_err_set(err, HG_ETOOBIG, "token is longer than %d bytes", HG_TOKEN_MAX);

    if (t->nshards) {
        SHA256_CTX sc;
        SHA256_Init(&sc);
        SHA256_Update(&sc, tok, n);
        SHA256_Final(key, &sc);
        if (cache_lookup(t, key, out, &expires)) {
            atomic_fetch_add_explicit(&t->hits, 1, memory_order_relaxed);
            /* the clock moved on since the token was cached */
            hg_status st = HG_OK;
            if (now > expires) {
                cache_drop(t, key);
                st = hg_err_set(err, HG_EVERIFY, "token expired %lld s ago; request a new "
                                "token", (long long)(now - out->exp));
            } else if (out->nbf && now < out->nbf - t->leeway) {
                st = not_yet(err, out->nbf, now);
            }
            if (st != HG_OK)
                memset(out, 0, sizeof *out);
            return st;
        }
        atomic_fetch_add_explicit(&t->misses, 1, memory_order_relaxed);
    }

    memset(&jws, 0, sizeof jws);
    hg_status st = hg_jws_parse(tok, n, &jws, err);
    if (st == HG_OK)
        st = verify_parsed(t, &jws, now, out, err);
    hg_jws_free(&jws);
    if (st != HG_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    if (t->nshards)
        cache_insert(t, key, out, out->exp + t->leeway, now);
    return HG_OK;
}

void hg_tokens_stats(struct hg_tokens *t, struct hg_token_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!t)
        return;
    out->hits = atomic_load_explicit(&t->hits, memory_order_relaxed);
    out->misses = atomic_load_explicit(&t->misses, memory_order_relaxed);
    out->entries = atomic_load_explicit(&t->entries, memory_order_relaxed);
}
