/* SPDX-License-Identifier: Apache-2.0
 *
 * dpop.c — RFC 9449 DPoP proof verification: the proof's own checks (typ,
 * alg, public jwk, htm, normalised htu, iat window, ath, the token's jkt),
 * stateless server nonces, and a bounded replay cache of jti values. The
 * cache is a fixed number of shards, each an open-addressing hash table
 * under its own mutex, that grows on demand up to its share of
 * jti_cache_max and never beyond: when a shard is full of entries that
 * are still live, proofs are refused (HG_EBUSY) rather than remembered
 * less, because forgetting a live jti would let that proof be replayed.
 * Nothing here reads the clock; every time is the caller's `now`.
 */
#include "auth/dpop.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "crypto/hash.h"

#define JTI_MAX 256
#define NONCE_RAW 24           /* 8-byte step || 16 bytes of HMAC */
#define SECRET_LEN 32
#define KEY_LEN 16             /* replay key: truncated salted SHA-256 */
#define SHARDS 16              /* a power of two */
#define SMALL_CACHE 1024       /* below this, one shard: the bound is exact */
#define MIN_SLOTS 64
#define WINDOW_MAX (24 * 3600) /* iat window and nonce step sanity caps */
#define CACHE_MAX ((size_t)1 << 26)
#define SHOW_MAX 48

struct slot {
    uint8_t key[KEY_LEN];
    int64_t exp;               /* last second the jti is remembered; EMPTY = free */
};
#define EMPTY INT64_MIN

struct shard {
    pthread_mutex_t mu;
    struct slot *slots;        /* NULL until the first insert */
    size_t nslots;             /* a power of two, or 0 */
    size_t max_slots;          /* nslots never exceeds this */
    size_t count;              /* stored entries, live or expired */
    size_t cap;                /* count never exceeds this */
    int64_t min_exp;           /* <= every stored exp (INT64_MAX when none) */
};

struct hg_dpop {
    int64_t window;
    int64_t step;
    int require_nonce;
    uint8_t secret[SECRET_LEN];
    uint8_t salt[16];          /* keys the replay hash so slots cannot be aimed at */
    size_t nshards;
    struct shard shards[];
};

/* Untrusted text for an error message: printable ASCII, truncated. */
static const char *show(const char *s, char buf[SHOW_MAX + 4])
{
    size_t i = 0;
    for (; s && s[i] && i < SHOW_MAX; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s && s[i]) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

/* ------------------------------------------------------------ lifecycle */

static size_t pow2_at_least(size_t n)
{
    size_t p = MIN_SLOTS;
    while (p < n)
        p <<= 1;
    return p;
}

hg_status hg_dpop_new(const struct hg_dpop_opts *o, struct hg_dpop **out, struct hg_err *err)
{
    if (!out)
        return hg_err_set(err, HG_EINVAL, "no output for the DPoP verifier");
    *out = NULL;
    if (!o)
        return hg_err_set(err, HG_EINVAL, "no DPoP options");
    if (o->iat_window_s <= 0 || o->iat_window_s > WINDOW_MAX)
        return hg_err_set(err, HG_EINVAL, "DPoP iat window must be 1 to %d seconds, got %lld",
                          WINDOW_MAX, (long long)o->iat_window_s);
    if (o->nonce_step_s <= 0 || o->nonce_step_s > WINDOW_MAX)
        return hg_err_set(err, HG_EINVAL, "DPoP nonce step must be 1 to %d seconds, got %lld",
                          WINDOW_MAX, (long long)o->nonce_step_s);
    if (o->jti_cache_max == 0 || o->jti_cache_max > CACHE_MAX)
        return hg_err_set(err, HG_EINVAL, "DPoP jti cache must hold 1 to %zu entries, got %zu",
                          CACHE_MAX, o->jti_cache_max);
    size_t ns = o->jti_cache_max < SMALL_CACHE ? 1 : SHARDS;
    struct hg_dpop *d = calloc(1, sizeof *d + ns * sizeof d->shards[0]);
    if (!d)
        return hg_err_set(err, HG_ENOMEM, "out of memory for the DPoP verifier");
    d->window = o->iat_window_s;
    d->step = o->nonce_step_s;
    d->require_nonce = o->require_nonce ? 1 : 0;
    d->nshards = ns;
    if (o->nonce_secret)
        memcpy(d->secret, o->nonce_secret, SECRET_LEN);
    if ((!o->nonce_secret && hg_random(d->secret, SECRET_LEN) != HG_OK) ||
        hg_random(d->salt, sizeof d->salt) != HG_OK) {
        OPENSSL_cleanse(d->secret, sizeof d->secret);
        free(d);
        return hg_err_set(err, HG_ECRYPTO, "no random bytes for the DPoP nonce secret");
    }
    /* the shares add up to exactly jti_cache_max */
    for (size_t i = 0; i < ns; i++) {
        struct shard *sh = &d->shards[i];
        pthread_mutex_init(&sh->mu, NULL);
        sh->cap = o->jti_cache_max / ns + (i < o->jti_cache_max % ns ? 1 : 0);
        /* load factor at most 3/4 when full */
        sh->max_slots = pow2_at_least((sh->cap * 4 + 2) / 3);
        sh->min_exp = INT64_MAX;
    }
    *out = d;
    return HG_OK;
}

void hg_dpop_free(struct hg_dpop *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nshards; i++) {
        pthread_mutex_destroy(&d->shards[i].mu);
        free(d->shards[i].slots);
    }
    OPENSSL_cleanse(d->secret, sizeof d->secret);
    OPENSSL_cleanse(d->salt, sizeof d->salt);
    free(d);
}

int hg_dpop_requires_nonce(const struct hg_dpop *d)
{
    return d && d->require_nonce;
}

/* --------------------------------------------------------- replay cache */

static size_t slot_hash(const uint8_t key[KEY_LEN])
{
    uint64_t h;
    memcpy(&h, key, sizeof h);
    return (size_t)h;
}

/* Index of key in sh, or SIZE_MAX. Linear probing: an empty slot ends the
 * run, so deletion must keep runs unbroken (backward shift below). */
static size_t slot_find(const struct shard *sh, const uint8_t key[KEY_LEN])
{
    if (!sh->slots)
        return SIZE_MAX;
    size_t mask = sh->nslots - 1;
    for (size_t i = slot_hash(key) & mask;; i = (i + 1) & mask) {
        if (sh->slots[i].exp == EMPTY)
            return SIZE_MAX;
        if (memcmp(sh->slots[i].key, key, KEY_LEN) == 0)
            return i;
    }
}

static void slot_put(struct slot *slots, size_t nslots, const uint8_t key[KEY_LEN], int64_t exp)
{
    size_t mask = nslots - 1;
    size_t i = slot_hash(key) & mask;
    while (slots[i].exp != EMPTY)
        i = (i + 1) & mask;
    memcpy(slots[i].key, key, KEY_LEN);
    slots[i].exp = exp;
}

/* Remove slot i and shift later members of its run back, so lookups never
 * stop early at the hole. */
static void slot_delete(struct shard *sh, size_t i)
{
    size_t mask = sh->nslots - 1;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (sh->slots[j].exp == EMPTY)
            break;
        size_t home = slot_hash(sh->slots[j].key) & mask;
        /* j may move to i when its home is not in the cyclic range (i, j] */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            sh->slots[i] = sh->slots[j];
            i = j;
        }
    }
    sh->slots[i].exp = EMPTY;
    sh->count--;
}

/* Drop every entry that expired before now; recompute min_exp. A slot
 * refilled by a backward shift is looked at again (it may hold a later
 * entry that has expired too). */
static void sweep(struct shard *sh, int64_t now)
{
    int64_t min = INT64_MAX;
    for (size_t i = 0; i < sh->nslots; i++) {
        while (sh->slots[i].exp != EMPTY && sh->slots[i].exp < now)
            slot_delete(sh, i);
    }
    for (size_t i = 0; i < sh->nslots; i++)
        if (sh->slots[i].exp != EMPTY && sh->slots[i].exp < min)
            min = sh->slots[i].exp;
    sh->min_exp = min;
}

static hg_status grow(struct shard *sh)
{
    size_t n = sh->nslots ? sh->nslots * 2 : MIN_SLOTS;
    if (n > sh->max_slots)
        n = sh->max_slots;
    struct slot *ns = malloc(n * sizeof *ns);
    if (!ns)
        return HG_ENOMEM;
    for (size_t i = 0; i < n; i++)
        ns[i].exp = EMPTY;
    for (size_t i = 0; i < sh->nslots; i++)
        if (sh->slots[i].exp != EMPTY)
            slot_put(ns, n, sh->slots[i].key, sh->slots[i].exp);
    free(sh->slots);
    sh->slots = ns;
    sh->nslots = n;
    return HG_OK;
}

/* Remember key until exp, unless it is already remembered and live at now
 * (a replay: HG_EVERIFY). HG_EBUSY when the shard is full of live entries. */
static hg_status remember(struct hg_dpop *d, const uint8_t key[KEY_LEN], int64_t now,
                          int64_t exp)
{
    struct shard *sh = &d->shards[key[KEY_LEN - 1] % d->nshards];
    hg_status st = HG_OK;
    pthread_mutex_lock(&sh->mu);
    size_t i = slot_find(sh, key);
    if (i != SIZE_MAX) {
        if (sh->slots[i].exp >= now) {
            st = HG_EVERIFY;
        } else {
            sh->slots[i].exp = exp; /* expired: the jti may be used again */
            if (exp < sh->min_exp)
                sh->min_exp = exp;
        }
        goto out;
    }
    if (sh->count >= sh->cap) {
        /* min_exp says whether a sweep can free anything at all, so a
         * cache full of live entries answers EBUSY without a scan */
        if (sh->min_exp < now)
            sweep(sh, now);
        if (sh->count >= sh->cap) {
            st = HG_EBUSY;
            goto out;
        }
    }
    if ((sh->count + 1) * 4 > sh->nslots * 3 && sh->nslots < sh->max_slots) {
        st = grow(sh);
        if (st != HG_OK)
            goto out;
    }
    slot_put(sh->slots, sh->nslots, key, exp);
    sh->count++;
    if (exp < sh->min_exp)
        sh->min_exp = exp;
out:
    pthread_mutex_unlock(&sh->mu);
    return st;
}

size_t hg_dpop_jti_count(struct hg_dpop *d)
{
    size_t n = 0;
    if (!d)
        return 0;
    for (size_t i = 0; i < d->nshards; i++) {
        pthread_mutex_lock(&d->shards[i].mu);
        n += d->shards[i].count;
        pthread_mutex_unlock(&d->shards[i].mu);
    }
    return n;
}

/* --------------------------------------------------------------- nonces */

static int64_t step_of(int64_t now, int64_t step)
{
    int64_t q = now / step;
    if (now % step < 0)
        q--;
    return q;
}

static hg_status nonce_raw(const struct hg_dpop *d, int64_t step, uint8_t out[NONCE_RAW])
{
    uint64_t s = (uint64_t)step;
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(s >> (56 - 8 * i));
    uint8_t mac[HG_SHA256_LEN];
    hg_status st = hg_hmac_sha256(d->secret, SECRET_LEN, out, 8, mac);
    if (st == HG_OK)
        memcpy(out + 8, mac, NONCE_RAW - 8);
    return st;
}

void hg_dpop_nonce(struct hg_dpop *d, int64_t now, char out[HG_DPOP_NONCE_LEN + 1])
{
    uint8_t raw[NONCE_RAW];
    out[0] = '\0';
    /* an HMAC failure leaves "" — a nonce no proof can match, never a
     * predictable one */
    if (d && nonce_raw(d, step_of(now, d->step), raw) == HG_OK)
        hg_b64url_encode(raw, sizeof raw, out, HG_DPOP_NONCE_LEN + 1);
}

static int nonce_good(const struct hg_dpop *d, const char *s, size_t n, int64_t now)
{
    uint8_t raw[NONCE_RAW], want[NONCE_RAW];
    size_t len = 0;
    if (n != HG_DPOP_NONCE_LEN || hg_b64url_decode(s, n, raw, sizeof raw, &len) != HG_OK ||
        len != NONCE_RAW)
        return 0;
    uint64_t s64 = 0;
    for (int i = 0; i < 8; i++)
        s64 = s64 << 8 | raw[i];
    int64_t step = (int64_t)s64, cur = step_of(now, d->step);
    if (step != cur && step != cur - 1)
        return 0;
    if (nonce_raw(d, step, want) != HG_OK)
        return 0;
    return hg_ct_equal(raw + 8, want + 8, NONCE_RAW - 8);
}

/* ------------------------------------------------------------------ htu */

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static int is_pchar_lit(unsigned char c)
{
    /* c != 0: strchr would find the terminating NUL and call it a pchar */
    return is_unreserved(c) || (c != 0 && strchr("!$&'()*+,;=:@/", c) != NULL);
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* RFC 3986 §5.2.4 on an absolute path (it starts with '/'); out holds at
 * least n bytes. Returns the output length. */
static size_t remove_dot_segments(const char *in, size_t n, char *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        const char *s = in + i;
        size_t r = n - i;
        if (r >= 3 && memcmp(s, "../", 3) == 0) {
            i += 3;
        } else if (r >= 2 && memcmp(s, "./", 2) == 0) {
            i += 2;
        } else if (r >= 3 && memcmp(s, "/./", 3) == 0) {
            i += 2;
        } else if (r == 2 && memcmp(s, "/.", 2) == 0) {
            out[o++] = '/';
            i = n;
        } else if ((r >= 4 && memcmp(s, "/../", 4) == 0) || (r == 3 && memcmp(s, "/..", 3) == 0)) {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
            if (r == 3) {
                out[o++] = '/';
                i = n;
            } else {
                i += 3;
            }
        } else if ((r == 1 && s[0] == '.') || (r == 2 && memcmp(s, "..", 2) == 0)) {
            i = n;
        } else {
            out[o++] = in[i++];
            while (i < n && in[i] != '/')
                out[o++] = in[i++];
        }
    }
    return o;
}

static hg_status put(char *buf, size_t cap, size_t *o, const char *p, size_t n)
{
    if (*o + n >= cap)
        return HG_ETOOBIG;
    memcpy(buf + *o, p, n);
    *o += n;
    buf[*o] = '\0';
    return HG_OK;
}

hg_status hg_dpop_htu_normalize(const char *in, size_t n, char *out, size_t cap)
{
    char res[HG_DPOP_HTU_MAX + 16];
    char path[HG_DPOP_HTU_MAX + 1], dots[HG_DPOP_HTU_MAX + 1];
    size_t o = 0;
    if (!out || cap == 0)
        return HG_ETOOBIG;
    out[0] = '\0';
    if (!in)
        return HG_EPARSE;
    if (n > HG_DPOP_HTU_MAX)
        return HG_ETOOBIG;
    res[0] = '\0';

    /* scheme: http or https, any case */
    const char *colon = memchr(in, ':', n);
    if (!colon)
        return HG_EPARSE;
    size_t sl = (size_t)(colon - in);
    int https;
    if (sl == 5 && strncasecmp(in, "https", 5) == 0)
        https = 1;
    else if (sl == 4 && strncasecmp(in, "http", 4) == 0)
        https = 0;
    else
        return HG_EPARSE;
    size_t i = sl + 1;
    if (n - i < 2 || in[i] != '/' || in[i + 1] != '/')
        return HG_EPARSE;
    i += 2;
    put(res, sizeof res, &o, https ? "https://" : "http://", https ? 8 : 7);

    /* authority: [ "[" IPv6 "]" | reg-name ] [ ":" port ]; no userinfo */
    size_t a = i;
    while (i < n && in[i] != '/' && in[i] != '?' && in[i] != '#')
        i++;
    size_t ae = i, he; /* authority [a, ae), host [a, he) */
    if (ae == a)
        return HG_EPARSE;
    if (in[a] == '[') {
        const char *rb = memchr(in + a, ']', ae - a);
        if (!rb)
            return HG_EPARSE;
        he = (size_t)(rb - in) + 1;
        if (he - a < 3)
            return HG_EPARSE;
        for (size_t k = a + 1; k < he - 1; k++)
            if (hexval((unsigned char)in[k]) < 0 && in[k] != ':' && in[k] != '.')
                return HG_EPARSE;
        if (he < ae && in[he] != ':')
            return HG_EPARSE;
    } else {
        he = a;
        while (he < ae && in[he] != ':')
            he++;
        if (he == a)
            return HG_EPARSE;
        for (size_t k = a; k < he; k++) {
            unsigned char c = (unsigned char)in[k];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_' || c == '~'))
                return HG_EPARSE; /* also '@' (userinfo) and '%' */
        }
    }
    for (size_t k = a; k < he; k++) {
        char c = lower(in[k]);
        if (put(res, sizeof res, &o, &c, 1) != HG_OK)
            return HG_ETOOBIG;
    }
    if (he < ae) { /* ':' port, digits only; empty means the default */
        unsigned long port = 0;
        if (ae - he - 1 > 0) {
            for (size_t k = he + 1; k < ae; k++) {
                if (in[k] < '0' || in[k] > '9')
                    return HG_EPARSE;
                port = port * 10 + (unsigned long)(in[k] - '0');
                if (port > 65535)
                    return HG_EPARSE;
            }
            if (port != (https ? 443ul : 80ul)) {
                char pb[8];
                int pl = snprintf(pb, sizeof pb, ":%lu", port);
                if (put(res, sizeof res, &o, pb, (size_t)pl) != HG_OK)
                    return HG_ETOOBIG;
            }
        }
    }

    /* path: up to '?' or '#'; percent-encodings upper-cased, unreserved
     * ones decoded; dot segments removed; empty becomes "/" */
    size_t pe = i;
    while (pe < n && in[pe] != '?' && in[pe] != '#')
        pe++;
    size_t pl = 0;
    for (size_t k = i; k < pe; k++) {
        unsigned char c = (unsigned char)in[k];
        if (c == '%') {
            if (pe - k < 3)
                return HG_EPARSE;
            int hi = hexval((unsigned char)in[k + 1]), lo = hexval((unsigned char)in[k + 2]);
            if (hi < 0 || lo < 0)
                return HG_EPARSE;
            unsigned char v = (unsigned char)(hi << 4 | lo);
            if (is_unreserved(v)) {
                path[pl++] = (char)v;
            } else {
                static const char hx[] = "0123456789ABCDEF";
                path[pl++] = '%';
                path[pl++] = hx[hi];
                path[pl++] = hx[lo];
            }
            k += 2;
        } else if (is_pchar_lit(c)) {
            path[pl++] = (char)c;
        } else {
            return HG_EPARSE;
        }
    }
    if (pl == 0)
        path[pl++] = '/';
    size_t dl = remove_dot_segments(path, pl, dots);
    if (dl == 0)
        dots[dl++] = '/';
    if (put(res, sizeof res, &o, dots, dl) != HG_OK || o > HG_DPOP_HTU_MAX)
        return HG_ETOOBIG;
    if (o >= cap)
        return HG_ETOOBIG;
    memcpy(out, res, o + 1);
    return HG_OK;
}

void hg_dpop_ath(const char *token, size_t n, char out[HG_JWK_THUMB_LEN + 1])
{
    uint8_t h[HG_SHA256_LEN];
    hg_sha256(token, n, h);
    hg_b64url_encode(h, sizeof h, out, HG_JWK_THUMB_LEN + 1);
}

/* ---------------------------------------------------------------- verify */

/* |now - iat| <= w, without overflow for any int64 pair */
static int within(int64_t now, int64_t iat, int64_t w)
{
    uint64_t diff = iat > now ? (uint64_t)iat - (uint64_t)now : (uint64_t)now - (uint64_t)iat;
    return diff <= (uint64_t)w;
}

static const char *claim_str(const json_t *payload, const char *name)
{
    return json_string_value(json_object_get(payload, name));
}

hg_status hg_dpop_verify(struct hg_dpop *d, const char *proof, size_t n,
                         const struct hg_dpop_expect *e, struct hg_dpop_result *res,
                         struct hg_err *err)
{
    char b[SHOW_MAX + 4];
    struct hg_jws jws;
    struct hg_sign_key *key = NULL;
    hg_status st = HG_OK;
    memset(&jws, 0, sizeof jws);
    if (res)
        memset(res, 0, sizeof *res);
    if (!d || !proof || !e || !e->method || !e->url)
        return hg_err_set(err, HG_EINVAL, "DPoP verification needs a verifier, a proof and the "
                                          "request's method and URL");
    if (n > HG_DPOP_MAX)
        return hg_err_set(err, HG_ETOOBIG,
                          "DPoP proof is %zu bytes; at most %d are accepted", n, HG_DPOP_MAX);

    /* 1. a well-formed JWS on the alg allow-list (none/HMAC refused there) */
    struct hg_err perr;
    hg_err_clear(&perr);
    st = hg_jws_parse(proof, n, &jws, &perr);
    if (st != HG_OK) {
        st = hg_err_set(err, st == HG_ENOMEM ? HG_ENOMEM : HG_EVERIFY, "DPoP proof: %s",
                        hg_err_msg(&perr));
        goto out;
    }
    /* 2. explicitly typed, so no other JWT can stand in for a proof */
    if (!jws.typ || strcasecmp(jws.typ, "dpop+jwt") != 0) {
        st = hg_err_set(err, HG_EVERIFY, "DPoP proof header typ must be \"dpop+jwt\"%s%s%s",
                        jws.typ ? ", not \"" : " (it has none)", jws.typ ? show(jws.typ, b) : "",
                        jws.typ ? "\"" : "");
        goto out;
    }
    /* 3. the public key that signed it */
    json_t *jwk = json_object_get(jws.header, "jwk");
    if (!json_is_object(jwk)) {
        st = hg_err_set(err, HG_EVERIFY,
                        "DPoP proof header has no \"jwk\" object; put the public key that "
                        "signs the proof there");
        goto out;
    }
    hg_err_clear(&perr);
    st = hg_jwk_import(jwk, &key, &perr);
    if (st != HG_OK) {
        st = hg_err_set(err, st == HG_ENOMEM ? HG_ENOMEM : HG_EVERIFY, "DPoP proof jwk: %s",
                        hg_err_msg(&perr));
        goto out;
    }

    /* 4. claims, cheapest first: a proof for another request or time is
     * refused before any signature math */
    const json_t *c = jws.payload;
    json_t *jti = json_object_get(c, "jti");
    if (!json_is_string(jti) || json_string_length(jti) == 0 ||
        json_string_length(jti) > JTI_MAX) {
        st = hg_err_set(err, HG_EVERIFY,
                        "DPoP proof needs a \"jti\" claim: a unique string of 1 to %d bytes",
                        JTI_MAX);
        goto out;
    }
    const char *htm = claim_str(c, "htm");
    if (!htm) {
        st = hg_err_set(err, HG_EVERIFY, "DPoP proof needs an \"htm\" claim (the request method)");
        goto out;
    }
    if (strcmp(htm, e->method) != 0) {
        st = hg_err_set(err, HG_EVERIFY,
                        "DPoP proof htm \"%s\" is not this request's method %s; sign a proof "
                        "for this request",
                        show(htm, b), e->method);
        goto out;
    }
    json_t *htuj = json_object_get(c, "htu");
    if (!json_is_string(htuj)) {
        st = hg_err_set(err, HG_EVERIFY, "DPoP proof needs an \"htu\" claim (the request URL)");
        goto out;
    }
    char got[HG_DPOP_HTU_MAX + 1], want[HG_DPOP_HTU_MAX + 1];
    if (hg_dpop_htu_normalize(e->url, strlen(e->url), want, sizeof want) != HG_OK) {
        st = hg_err_set(err, HG_EINVAL, "the server URL for DPoP is not an http(s) URL");
        goto out;
    }
    if (hg_dpop_htu_normalize(json_string_value(htuj), json_string_length(htuj), got,
                              sizeof got) != HG_OK) {
        st = hg_err_set(err, HG_EVERIFY,
                        "DPoP proof htu is not an http(s) URL of at most %d bytes",
                        HG_DPOP_HTU_MAX);
        goto out;
    }
    if (strcmp(got, want) != 0) {
        char b2[SHOW_MAX + 4];
        st = hg_err_set(err, HG_EVERIFY,
                        "DPoP proof htu \"%s\" is not this request's URL \"%s\"; sign a proof "
                        "for this request",
                        show(got, b), show(want, b2));
        goto out;
    }
    json_t *iatj = json_object_get(c, "iat");
    if (!json_is_integer(iatj)) {
        st = hg_err_set(err, HG_EVERIFY,
                        "DPoP proof needs an integer \"iat\" claim (Unix seconds)");
        goto out;
    }
    int64_t iat = (int64_t)json_integer_value(iatj);
    if (!within(e->now, iat, d->window)) {
        st = hg_err_set(err, HG_EVERIFY,
                        "DPoP proof iat %lld is more than %lld s from the server time %lld; "
                        "check the client clock and sign a fresh proof",
                        (long long)iat, (long long)d->window, (long long)e->now);
        goto out;
    }
    if (e->access_token) {
        const char *ath = claim_str(c, "ath");
        char want_ath[HG_JWK_THUMB_LEN + 1];
        hg_dpop_ath(e->access_token, e->access_token_len, want_ath);
        if (!ath) {
            st = hg_err_set(err, HG_EVERIFY,
                            "DPoP proof has no \"ath\" claim; with an access token it must "
                            "carry base64url(SHA-256(token))");
            goto out;
        }
        if (strlen(ath) != HG_JWK_THUMB_LEN || !hg_ct_equal(ath, want_ath, HG_JWK_THUMB_LEN)) {
            st = hg_err_set(err, HG_EVERIFY,
                            "DPoP proof ath is not the hash of the access token presented");
            goto out;
        }
    }
    char jkt[HG_JWK_THUMB_LEN + 1];
    st = hg_jwk_thumbprint(key, jkt);
    if (st != HG_OK) {
        st = hg_err_set(err, st, "cannot compute the DPoP key thumbprint");
        goto out;
    }
    if (e->jkt && (strlen(e->jkt) != HG_JWK_THUMB_LEN ||
                   !hg_ct_equal(e->jkt, jkt, HG_JWK_THUMB_LEN))) {
        st = hg_err_set(err, HG_EVERIFY,
                        "the DPoP key is not the one the token is bound to; sign the proof "
                        "with the key the token was issued for");
        goto out;
    }

    /* 5. the signature, by the key in the header, of the type alg names */
    if (hg_jws_verify(&jws, key) != HG_OK) {
        st = hg_err_set(err, HG_EVERIFY,
                        "DPoP proof signature does not verify with the proof's own jwk");
        goto out;
    }

    /* 6. the server nonce: last, so HG_ESTATE means "only the nonce is
     * wrong" and the client's retry with a fresh one can succeed */
    if (d->require_nonce) {
        json_t *nonce = json_object_get(c, "nonce");
        if (!nonce) {
            st = hg_err_set(err, HG_ESTATE,
                            "DPoP proof has no \"nonce\"; this server requires one: sign a "
                            "new proof with the DPoP-Nonce it sent");
            goto out;
        }
        if (!json_is_string(nonce) ||
            !nonce_good(d, json_string_value(nonce), json_string_length(nonce), e->now)) {
            st = hg_err_set(err, HG_ESTATE,
                            "DPoP proof nonce is not current; sign a new proof with the "
                            "DPoP-Nonce this server sent");
            goto out;
        }
    }

    /* 7. replay: remembered until the last second at which this proof's
     * iat could still pass the window check (max(now, iat) + window) */
    uint8_t h[HG_SHA256_LEN];
    const struct hg_sha256_part parts[] = {
        {d->salt, sizeof d->salt},
        {jkt, HG_JWK_THUMB_LEN},
        {"", 1},
        {json_string_value(jti), json_string_length(jti)},
    };
    hg_sha256_parts(parts, sizeof parts / sizeof parts[0], h);
    int64_t base = iat > e->now ? iat : e->now, exp;
    if (__builtin_add_overflow(base, d->window, &exp))
        exp = INT64_MAX;
    st = remember(d, h, e->now, exp);
    if (st == HG_EVERIFY) {
        hg_err_set(err, st, "DPoP proof replayed: jti already used; sign a new proof for every "
                            "request");
        goto out;
    }
    if (st == HG_EBUSY) {
        hg_err_set(err, st, "DPoP replay cache is full of live proofs; retry shortly");
        goto out;
    }
    if (st != HG_OK) {
        hg_err_set(err, st, "cannot remember the DPoP proof id");
        goto out;
    }
    if (res) {
        memcpy(res->jkt, jkt, sizeof res->jkt);
        res->iat = iat;
    }
out:
    hg_sign_key_free(key);
    hg_jws_free(&jws);
    return st;
}
