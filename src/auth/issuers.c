/* SPDX-License-Identifier: Apache-2.0
 *
 * issuers.c — trusted external identity providers: each one's JWK Set is
 * fetched with libcurl over verified HTTPS (https only, TLS 1.2 or newer,
 * no redirects, size-capped, time-limited) into a reference-counted
 * snapshot, refreshed lazily after max_age and on an unknown kid at most
 * once per refresh_interval, with concurrent misses waiting for the one
 * fetch in flight and failed fetches keeping the previous keys
 * (docs/internals/issuers.md). Verified tokens' claims are mapped to our
 * principal model (roles via role_map, tenant, scopes, cnf binding). It
 * must never log or echo a token, never follow a redirect to plain HTTP,
 * and never let a refresh free a key a verification is still using.
 */
#include "auth/issuers.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/scope.h"
#include "common/buf.h"
#include "common/util.h"
#include "crypto/hash.h"
#include "obs/log.h"

#ifndef HG_VERSION
#define HG_VERSION "0"
#endif

/* A waiter gives the fetch in flight this much beyond its timeout: the
 * fetcher's clock started earlier, and parsing a capped document takes
 * milliseconds, so the wait only ends early if the fetch is really stuck. */
#define WAIT_SLACK_MS 500

/* One fetched key set. The issuer holds one reference to its current
 * snapshot; each verification using it holds another, so replacing the
 * snapshot never frees keys under a running signature check. */
struct snap {
    atomic_uint refs;
    struct hg_jwks *set;
    int64_t fetched_at;           /* Unix s */
};

struct role_pair {
    char *theirs;
    char *ours;
};

struct issuer {
    /* configuration, copied so a config reload cannot pull it away */
    char *iss, *jwks_url, *audience, *ca, *roles_claim, *tenant_claim, *tenant;
    struct role_pair *map;
    size_t nmap;
    int refresh_ms, max_age_ms, timeout_ms;
    bool unbound_ok;

    pthread_mutex_t mu;
    pthread_cond_t cv;            /* broadcast when a fetch ends */
    bool sync_ok;                 /* mu and cv initialised */
    struct snap *cur;             /* NULL until the first good fetch */
    bool fetching;                /* one fetch at a time per issuer */
    uint64_t gen;                 /* fetches finished so far */
    bool attempted;
    int64_t last_attempt;         /* Unix s of the last fetch started */

    atomic_uint_fast64_t fetches, fetch_errors, unknown_kid;
};

struct hg_issuers {
    size_t n;
    struct issuer *v;
};

/* ---- libcurl ------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

/* curl_global_init is not safe to race with itself in every libcurl build;
 * the process may hold several hg_issuers (reload), so it runs once. It is
 * never paired with curl_global_cleanup: other modules may use libcurl. */
static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
    struct hg_buf buf;
    hg_status st;                 /* HG_ETOOBIG / HG_ENOMEM from the buffer */
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;
    hg_status st = hg_buf_append(&s->buf, p, n);
    if (st != HG_OK) {
        /* returning less than n aborts the transfer: a document over the
         * cap is never read to its end */
        s->st = st;
        return 0;
    }
    return n;
}

static hg_status curl_status(CURLcode cc)
{
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return HG_ETIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
        return HG_ETLS;
    case CURLE_OUT_OF_MEMORY:
        return HG_ENOMEM;
    default:
        return HG_EIO;
    }
}

/* What the operator should check for a failed transfer. */
static const char *curl_hint(hg_status st)
{
    switch (st) {
    case HG_ETIMEOUT:
        return "the server did not answer within auth.issuers[].fetch_timeout";
    case HG_ETLS:
        return "check that auth.issuers[].ca holds the CA of the JWKS server and that "
               "it offers TLS 1.2 or newer";
    default:
        return "check the URL and that the server is reachable";
    }
}

/* GET the issuer's jwks_url and parse it. Never follows a redirect: a 3xx is
 * an error naming the status, so a hijacked or misconfigured URL cannot lead
 * the fetch elsewhere. */
static hg_status fetch_jwks(const struct issuer *is, struct hg_jwks **out, struct hg_err *err)
{
    hg_status st = HG_OK;
    char ebuf[CURL_ERROR_SIZE];
    struct sink s = {.st = HG_OK};
    struct curl_slist *hdrs = NULL, *h;
    CURLcode cc = CURLE_OK;
    long code = 0;
    CURL *c = curl_easy_init();

    ebuf[0] = '\0';
    hg_buf_init(&s.buf, HG_JWKS_MAX_BYTES);
    if (!c) {
        st = hg_err_set(err, HG_ENOMEM, "cannot create a libcurl handle to fetch %s",
                        is->jwks_url);
        goto out;
    }
    h = curl_slist_append(NULL, "Accept: application/jwk-set+json, application/json");
    if (!h) {
        st = hg_err_set(err, HG_ENOMEM, "out of memory fetching %s", is->jwks_url);
        goto out;
    }
    hdrs = h;
#define SET(opt, val)                              \
    do {                                           \
        if (cc == CURLE_OK)                        \
            cc = curl_easy_setopt(c, opt, val);    \
    } while (0)
    SET(CURLOPT_ERRORBUFFER, ebuf);
    SET(CURLOPT_URL, is->jwks_url);
    SET(CURLOPT_PROTOCOLS_STR, "https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    /* 1.2 and not 1.3: many identity providers' JWKS endpoints do not offer
     * TLS 1.3 yet; 1.0 and 1.1 are refused */
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (is->ca)
        SET(CURLOPT_CAINFO, is->ca);
    SET(CURLOPT_TIMEOUT_MS, (long)is->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)is->timeout_ms);
    /* no SIGALRM for DNS timeouts: we run on worker threads */
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HG_JWKS_MAX_BYTES);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, &s);
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_USERAGENT, "haulgate/" HG_VERSION);
#undef SET
    if (cc != CURLE_OK) {
        st = hg_err_set(err, HG_EIO, "cannot set up the fetch of %s: %s (libcurl too old? "
                        "7.85 or newer is needed)", is->jwks_url, curl_easy_strerror(cc));
        goto out;
    }
    cc = curl_easy_perform(c);
    if (s.st != HG_OK || cc == CURLE_FILESIZE_EXCEEDED) {
        st = s.st == HG_ENOMEM ? HG_ENOMEM : HG_ETOOBIG;
        hg_err_set(err, st, "the JWK Set at %s is larger than %d bytes; it was not read "
                   "(check the URL: a JWK Set is a few kilobytes)", is->jwks_url,
                   HG_JWKS_MAX_BYTES);
        goto out;
    }
    if (cc != CURLE_OK) {
        st = curl_status(cc);
        hg_err_set(err, st, "fetching %s failed: %s; %s", is->jwks_url,
                   ebuf[0] ? ebuf : curl_easy_strerror(cc), curl_hint(st));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
        st = hg_err_set(err, HG_EIO, "fetching %s answered HTTP %ld, want 200%s", is->jwks_url,
                        code,
                        code >= 300 && code < 400
                            ? "; redirects are not followed: configure the final URL"
                            : "; check the URL and the identity provider's status");
        goto out;
    }
    struct hg_err perr;
    hg_err_clear(&perr);
    st = hg_jwks_parse(s.buf.data ? s.buf.data : "", s.buf.len, out, &perr);
    if (st != HG_OK) {
        if (st != HG_ENOMEM)
            st = HG_EPARSE;
        hg_err_set(err, st, "the JWK Set at %s is not usable: %s", is->jwks_url,
                   hg_err_msg(&perr));
        goto out;
    }
out:
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    hg_buf_cleanup(&s.buf);
    return st;
}

/* ---- snapshots and refresh ---------------------------------------------- */

static void snap_unref(struct snap *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
        hg_jwks_free(s->set);
        free(s);
    }
}

/* |a - b| seconds >= ms milliseconds. The absolute value keeps a wall clock
 * stepped backwards from freezing the cache until it catches up. */
static bool elapsed(int64_t a, int64_t b, int ms)
{
    int64_t d = a - b;
    if (d < 0)
        d = d == INT64_MIN ? INT64_MAX : -d;
    if (d > INT64_MAX / 1000)
        return true;
    return d * 1000 >= (int64_t)ms;
}

/* Called with is->mu held. */
static bool may_fetch(const struct issuer *is, int64_t now)
{
    return !is->fetching && (!is->attempted || elapsed(now, is->last_attempt, is->refresh_ms));
}

/* Run one fetch; the caller has set is->fetching and last_attempt under
 * the lock and released it. Installs the new snapshot on success, keeps
 * the old one otherwise, then wakes the waiters. */
static hg_status refresh(struct issuer *is, int64_t now, struct hg_err *err)
{
    struct hg_jwks *set = NULL;
    struct snap *ns = NULL, *old = NULL;
    size_t kept = 0;

    atomic_fetch_add_explicit(&is->fetches, 1, memory_order_relaxed);
    hg_status st = fetch_jwks(is, &set, err);
    if (st == HG_OK) {
        ns = malloc(sizeof *ns);
        if (!ns) {
            hg_jwks_free(set);
            st = hg_err_set(err, HG_ENOMEM, "out of memory keeping the JWK Set of %s",
                            is->iss);
        } else {
            atomic_init(&ns->refs, 1);
            ns->set = set;
            ns->fetched_at = now;
        }
    }
    pthread_mutex_lock(&is->mu);
    if (ns) {
        old = is->cur;
        is->cur = ns;
    } else if (is->cur) {
        kept = hg_jwks_count(is->cur->set);
    }
    is->fetching = false;
    is->gen++;
    pthread_cond_broadcast(&is->cv);
    pthread_mutex_unlock(&is->mu);
    snap_unref(old);

    if (st == HG_OK) {
        hg_log(HG_LOG_INFO, "JWKS fetched", HG_LF_STR("issuer", is->iss),
               HG_LF_INT("keys", (int64_t)hg_jwks_count(ns->set)), HG_LF_END);
    } else {
        atomic_fetch_add_explicit(&is->fetch_errors, 1, memory_order_relaxed);
        hg_log(HG_LOG_WARN,
               kept ? "JWKS fetch failed; the previous keys stay in use"
                    : "JWKS fetch failed; no keys of this issuer yet, its tokens are refused",
               HG_LF_STR("issuer", is->iss), HG_LF_STR("url", is->jwks_url),
               HG_LF_STR("status", hg_status_name(st)), HG_LF_STR("error", hg_err_msg(err)),
               HG_LF_INT("keys_kept", (int64_t)kept), HG_LF_END);
    }
    return st;
}

/* Wait (is->mu held) until the fetch in flight when called has finished,
 * or its timeout plus slack has passed. */
static void wait_fetch(struct issuer *is)
{
    uint64_t gen = is->gen;
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    int64_t ns = (int64_t)dl.tv_nsec + ((int64_t)is->timeout_ms + WAIT_SLACK_MS) * 1000000;
    dl.tv_sec += (time_t)(ns / 1000000000);
    dl.tv_nsec = (long)(ns % 1000000000);
    while (is->fetching && is->gen == gen)
        if (pthread_cond_timedwait(&is->cv, &is->mu, &dl) != 0)
            break;
}

/* The key for kid, refreshing per the rules in issuers.h. On success *snapp
 * holds a reference (release with snap_unref) and *keyp points into it. */
static const struct hg_sign_key *lookup(struct issuer *is, const char *kid, int64_t now,
                                        struct snap **snapp)
{
    bool fetched = false, waited = false;
    const struct hg_sign_key *key = NULL;
    struct snap *s = NULL;
    struct hg_err ferr;

    for (;;) {
        pthread_mutex_lock(&is->mu);
        s = is->cur;
        if (s)
            atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
        key = s ? hg_jwks_find(s->set, kid) : NULL;
        bool fresh = s && !elapsed(now, s->fetched_at, is->max_age_ms);
        if (key && (fresh || fetched || !may_fetch(is, now))) {
            /* stale keys are used while another thread refreshes them or
             * the refresh interval holds a retry back */
            pthread_mutex_unlock(&is->mu);
            break;
        }
        if (!key && is->fetching && !waited) {
            wait_fetch(is);
            waited = true;
            pthread_mutex_unlock(&is->mu);
            snap_unref(s);
            continue;
        }
        if (!fetched && may_fetch(is, now)) {
            is->fetching = true;
            is->attempted = true;
            is->last_attempt = now;
            pthread_mutex_unlock(&is->mu);
            snap_unref(s);
            hg_err_clear(&ferr);
            refresh(is, now, &ferr);
            fetched = true;
            continue;
        }
        pthread_mutex_unlock(&is->mu);
        break;
    }
    if (!key) {
        snap_unref(s);
        s = NULL;
    }
    *snapp = s;
    return key;
}

/* ---- construction ------------------------------------------------------- */

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

static void issuer_cleanup(struct issuer *is)
{
    if (is->sync_ok) {
        pthread_mutex_destroy(&is->mu);
        pthread_cond_destroy(&is->cv);
    }
    snap_unref(is->cur);
    free(is->iss);
    free(is->jwks_url);
    free(is->audience);
    free(is->ca);
    free(is->roles_claim);
    free(is->tenant_claim);
    free(is->tenant);
    for (size_t i = 0; i < is->nmap; i++) {
        free(is->map[i].theirs);
        free(is->map[i].ours);
    }
    free(is->map);
}

/* Check what config.c checks too, for configs built in code. */
static hg_status issuer_check(const struct hg_config_issuer *c, size_t i, struct hg_err *err)
{
    if (!c->issuer || !*c->issuer || strlen(c->issuer) > HG_TOKEN_URL_MAX)
        return hg_err_set(err, HG_ECONFIG, "auth.issuers[%zu].issuer must be set, at most %d "
                          "bytes", i, HG_TOKEN_URL_MAX);
    if (!c->jwks_url || strncmp(c->jwks_url, "https://", 8) != 0 || !c->jwks_url[8])
        return hg_err_set(err, HG_ECONFIG, "auth.issuers[%zu].jwks_url must be an https:// "
                          "URL (keys are only fetched over verified TLS)", i);
    if (!c->audience || !*c->audience || strlen(c->audience) > HG_TOKEN_URL_MAX)
        return hg_err_set(err, HG_ECONFIG, "auth.issuers[%zu].audience must be set, at most "
                          "%d bytes", i, HG_TOKEN_URL_MAX);
    if (c->refresh_interval_ms <= 0 || c->max_age_ms <= 0 || c->fetch_timeout_ms <= 0)
        return hg_err_set(err, HG_ECONFIG, "auth.issuers[%zu]: refresh_interval, max_age and "
                          "fetch_timeout must be positive", i);
    if (c->tenant && strlen(c->tenant) > HG_TOKEN_NAME_MAX)
        return hg_err_set(err, HG_ECONFIG, "auth.issuers[%zu].tenant is longer than %d bytes",
                          i, HG_TOKEN_NAME_MAX);
    for (size_t j = 0; j < c->nrole_map; j++) {
        const char *m = c->role_map[j], *eq = m ? strchr(m, '=') : NULL;
        if (!eq || eq == m || !eq[1] || strchr(eq + 1, '=') ||
            strlen(eq + 1) > HG_TOKEN_ROLE_MAX)
            return hg_err_set(err, HG_ECONFIG, "auth.issuers[%zu].role_map item %zu is not "
                              "\"their-role=our-role\" (our role at most %d bytes)", i, j,
                              HG_TOKEN_ROLE_MAX);
    }
    return HG_OK;
}

static hg_status issuer_init(struct issuer *is, const struct hg_config_issuer *c,
                             struct hg_err *err)
{
    bool oom = false;
    is->iss = dup_or_null(c->issuer, &oom);
    is->jwks_url = dup_or_null(c->jwks_url, &oom);
    is->audience = dup_or_null(c->audience, &oom);
    is->ca = dup_or_null(c->ca, &oom);
    is->roles_claim = dup_or_null(c->roles_claim ? c->roles_claim : "roles", &oom);
    is->tenant_claim = dup_or_null(c->tenant_claim, &oom);
    is->tenant = dup_or_null(c->tenant, &oom);
    is->refresh_ms = c->refresh_interval_ms;
    is->max_age_ms = c->max_age_ms;
    is->timeout_ms = c->fetch_timeout_ms;
    is->unbound_ok = c->insecure_unbound_tokens;
    atomic_init(&is->fetches, 0);
    atomic_init(&is->fetch_errors, 0);
    atomic_init(&is->unknown_kid, 0);
    if (c->nrole_map) {
        is->map = calloc(c->nrole_map, sizeof *is->map);
        if (!is->map)
            oom = true;
        for (size_t j = 0; is->map && j < c->nrole_map; j++) {
            const char *m = c->role_map[j], *eq = strchr(m, '=');
            is->map[j].theirs = strndup(m, (size_t)(eq - m));
            is->map[j].ours = strdup(eq + 1);
            is->nmap = j + 1;
            if (!is->map[j].theirs || !is->map[j].ours)
                oom = true;
        }
    }
    if (oom)
        return hg_err_set(err, HG_ENOMEM, "out of memory loading auth.issuers");

    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return hg_err_set(err, HG_ESYS, "cannot initialise a condition variable");
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&is->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return hg_err_set(err, HG_ESYS, "cannot initialise a condition variable");
    if (pthread_mutex_init(&is->mu, NULL) != 0) {
        pthread_cond_destroy(&is->cv);
        return hg_err_set(err, HG_ESYS, "cannot initialise a mutex");
    }
    is->sync_ok = true;
    return HG_OK;
}

hg_status hg_issuers_new(const struct hg_config *cfg, struct hg_issuers **out,
                         struct hg_err *err)
{
    hg_status st = HG_OK;
    struct hg_issuers *x = NULL;

    if (!cfg || !out)
        return hg_err_set(err, HG_EINVAL, "hg_issuers_new: NULL argument");
    *out = NULL;
    size_t n = cfg->auth.nissuers;
    for (size_t i = 0; i < n; i++)
        if ((st = issuer_check(&cfg->auth.issuers[i], i, err)) != HG_OK)
            return st;
    if (n) {
        pthread_once(&curl_once, curl_init);
        if (curl_init_rc != CURLE_OK)
            return hg_err_set(err, HG_EIO, "libcurl could not be initialised (%s); external "
                              "issuers cannot be used", curl_easy_strerror(curl_init_rc));
    }
    x = calloc(1, sizeof *x);
    if (!x || (n && !(x->v = calloc(n, sizeof *x->v)))) {
        st = hg_err_set(err, HG_ENOMEM, "out of memory loading auth.issuers");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        x->n = i + 1;
        if ((st = issuer_init(&x->v[i], &cfg->auth.issuers[i], err)) != HG_OK)
            goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (x->v[i].unbound_ok)
            hg_log(HG_LOG_WARN,
                   "auth.issuers[].insecure_unbound_tokens is on: this issuer's tokens are "
                   "accepted without a cnf binding, so a stolen token works from anywhere",
                   HG_LF_STR("issuer", x->v[i].iss), HG_LF_END);
    *out = x;
    x = NULL;
out:
    hg_issuers_free(x);
    return st;
}

void hg_issuers_free(struct hg_issuers *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++)
        issuer_cleanup(&x->v[i]);
    free(x->v);
    free(x);
}

size_t hg_issuers_count(const struct hg_issuers *x)
{
    return x ? x->n : 0;
}

static struct issuer *find_issuer(const struct hg_issuers *x, const char *iss)
{
    for (size_t i = 0; x && iss && i < x->n; i++)
        if (strcmp(x->v[i].iss, iss) == 0)
            return &x->v[i];
    return NULL;
}

int hg_issuers_knows(const struct hg_issuers *x, const char *iss)
{
    return find_issuer(x, iss) != NULL;
}

size_t hg_issuers_prefetch(struct hg_issuers *x, int64_t now)
{
    size_t failed = 0;
    for (size_t i = 0; x && i < x->n; i++) {
        struct issuer *is = &x->v[i];
        struct hg_err e;
        pthread_mutex_lock(&is->mu);
        if (is->fetching) {
            /* someone is already at it: its result is ours */
            wait_fetch(is);
            bool have = is->cur != NULL;
            pthread_mutex_unlock(&is->mu);
            failed += !have;
            continue;
        }
        is->fetching = true;
        is->attempted = true;
        is->last_attempt = now;
        pthread_mutex_unlock(&is->mu);
        hg_err_clear(&e);
        if (refresh(is, now, &e) != HG_OK)
            failed++;
    }
    return failed;
}

hg_status hg_issuers_stats(struct hg_issuers *x, size_t i, struct hg_issuer_stats *out)
{
    if (!x || !out || i >= x->n)
        return HG_EINVAL;
    struct issuer *is = &x->v[i];
    memset(out, 0, sizeof *out);
    out->issuer = is->iss;
    out->fetches = atomic_load_explicit(&is->fetches, memory_order_relaxed);
    out->fetch_errors = atomic_load_explicit(&is->fetch_errors, memory_order_relaxed);
    out->unknown_kid = atomic_load_explicit(&is->unknown_kid, memory_order_relaxed);
    pthread_mutex_lock(&is->mu);
    if (is->cur) {
        out->keys = hg_jwks_count(is->cur->set);
        out->fetched_at = is->cur->fetched_at;
    }
    pthread_mutex_unlock(&is->mu);
    return HG_OK;
}

/* ---- claims -------------------------------------------------------------- */

/* String claim `name` of 1..cap-1 bytes into dst; *present 0 when absent.
 * Claim names in messages come from code or config, never from the token. */
static hg_status claim_str(const json_t *p, const char *name, char *dst, size_t cap,
                           int *present, struct hg_err *err)
{
    const json_t *v = json_object_get(p, name);
    *present = 0;
    if (!v)
        return HG_OK;
    if (!json_is_string(v))
        return hg_err_set(err, HG_EPARSE, "claim \"%s\" is not a string", name);
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n == 0 || n >= cap)
        return hg_err_set(err, HG_EPARSE, "claim \"%s\" is empty or longer than %zu bytes",
                          name, cap - 1);
    if (memchr(s, '\0', n))
        return hg_err_set(err, HG_EPARSE, "claim \"%s\" holds a NUL byte", name);
    memcpy(dst, s, n);
    dst[n] = '\0';
    *present = 1;
    return HG_OK;
}

/* NumericDate (RFC 7519 §2): a non-negative JSON number, fractions floored. */
static hg_status claim_time(const json_t *p, const char *name, int required, int64_t *out,
                            struct hg_err *err)
{
    const json_t *v = json_object_get(p, name);
    *out = 0;
    if (!v)
        return required ? hg_err_set(err, HG_EPARSE, "claim \"%s\" is missing", name) : HG_OK;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (int64_t)json_integer_value(v);
        return HG_OK;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        /* 2^53: past any real date, and exactly representable */
        if (d >= 0 && d < 9007199254740992.0) {
            *out = (int64_t)d;
            return HG_OK;
        }
    }
    return hg_err_set(err, HG_EPARSE, "claim \"%s\" is not a non-negative NumericDate", name);
}

static hg_status add_our_role(struct hg_token_claims *out, const char *role, struct hg_err *err)
{
    for (size_t i = 0; i < out->nroles; i++)
        if (strcmp(out->roles[i], role) == 0)
            return HG_OK;
    /* refusing beats truncating: a dropped role could be the one a deny
     * rule keys on */
    if (out->nroles == HG_TOKEN_MAX_ROLES)
        return hg_err_set(err, HG_EPARSE, "the token's roles map to more than %d of ours; "
                          "narrow auth.issuers[].role_map", HG_TOKEN_MAX_ROLES);
    if (hg_strlcpy(out->roles[out->nroles], role, sizeof out->roles[0]) != HG_OK)
        return hg_err_set(err, HG_EPARSE, "a mapped role is longer than %d bytes",
                          HG_TOKEN_ROLE_MAX);
    out->nroles++;
    return HG_OK;
}

/* One of their roles through role_map; every pair naming it applies. */
static hg_status map_role(const struct issuer *is, const json_t *v,
                          struct hg_token_claims *out, struct hg_err *err)
{
    if (!json_is_string(v))
        return hg_err_set(err, HG_EPARSE, "claim \"%s\" holds a value that is not a string",
                          is->roles_claim);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    for (size_t i = 0; i < is->nmap; i++) {
        if (strlen(is->map[i].theirs) != n || memcmp(is->map[i].theirs, s, n) != 0)
            continue;
        hg_status st = add_our_role(out, is->map[i].ours, err);
        if (st != HG_OK)
            return st;
    }
    return HG_OK;
}

static hg_status map_roles(const struct issuer *is, const json_t *p,
                           struct hg_token_claims *out, struct hg_err *err)
{
    const json_t *v = json_object_get(p, is->roles_claim);
    if (!v)
        return HG_OK;
    if (json_is_string(v))
        return map_role(is, v, out, err);
    if (!json_is_array(v))
        return hg_err_set(err, HG_EPARSE, "claim \"%s\" is neither a string nor an array of "
                          "strings", is->roles_claim);
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) {
        hg_status st = map_role(is, e, out, err);
        if (st != HG_OK)
            return st;
    }
    return HG_OK;
}

/* Space-separated scope names; unknown ones dropped. */
static uint32_t scope_words(const char *s, size_t n)
{
    uint32_t m = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && s[i] == ' ')
            i++;
        size_t b = i;
        while (i < n && s[i] != ' ')
            i++;
        if (i > b)
            m |= hg_scope_bit(s + b, i - b);
    }
    return m;
}

static hg_status map_scopes(const json_t *p, uint32_t *mask, struct hg_err *err)
{
    const json_t *v = json_object_get(p, "scope");
    bool scp = false;
    *mask = 0;
    if (!v) {
        v = json_object_get(p, "scp");
        scp = true;
    }
    if (!v)
        return HG_OK;
    if (json_is_string(v)) {
        *mask = scope_words(json_string_value(v), json_string_length(v));
        return HG_OK;
    }
    /* RFC 9068 says "scope" is a string; "scp" arrays are common (Okta,
     * Entra ID), so the array form is only read from "scp" */
    if (!json_is_array(v) || !scp)
        return hg_err_set(err, HG_EPARSE, "claim \"%s\" is not %s", scp ? "scp" : "scope",
                          scp ? "a string or an array of strings" : "a space-separated string");
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e))
            return hg_err_set(err, HG_EPARSE, "claim \"scp\" holds a value that is not a "
                              "string");
        *mask |= scope_words(json_string_value(e), json_string_length(e));
    }
    return HG_OK;
}

static int str_is(const json_t *v, const char *want)
{
    size_t n = strlen(want);
    return json_string_length(v) == n && memcmp(json_string_value(v), want, n) == 0;
}

static hg_status check_aud(const struct issuer *is, const json_t *p,
                           struct hg_token_claims *out, struct hg_err *err)
{
    const json_t *v = json_object_get(p, "aud");
    int found = 0;
    if (!v)
        return hg_err_set(err, HG_EVERIFY, "the token has no \"aud\"; %s must issue it for "
                          "audience %s", is->iss, is->audience);
    if (json_is_string(v)) {
        found = str_is(v, is->audience);
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) {
            if (!json_is_string(e))
                return hg_err_set(err, HG_EPARSE, "claim \"aud\" holds a value that is not "
                                  "a string");
            found |= str_is(e, is->audience);
        }
    } else {
        return hg_err_set(err, HG_EPARSE, "claim \"aud\" is neither a string nor an array of "
                          "strings");
    }
    if (!found)
        return hg_err_set(err, HG_EVERIFY, "the token's audience is not %s; request a token "
                          "for that audience from %s", is->audience, is->iss);
    return hg_strlcpy(out->aud, is->audience, sizeof out->aud) == HG_OK
               ? HG_OK
               : hg_err_set(err, HG_EPARSE, "audience too long");
}

static int b64url_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

static hg_status cnf_member(const json_t *cnf, const char *name, char out[HG_JWK_THUMB_LEN + 1],
                            int *present, struct hg_err *err)
{
    const json_t *v = json_object_get(cnf, name);
    *present = 0;
    if (!v)
        return HG_OK;
    if (!json_is_string(v) || json_string_length(v) != HG_JWK_THUMB_LEN)
        return hg_err_set(err, HG_EPARSE, "cnf \"%s\" is not a %d-character SHA-256 "
                          "thumbprint", name, HG_JWK_THUMB_LEN);
    const char *s = json_string_value(v);
    for (size_t i = 0; i < HG_JWK_THUMB_LEN; i++)
        if (!b64url_char((unsigned char)s[i]))
            return hg_err_set(err, HG_EPARSE, "cnf \"%s\" is not base64url", name);
    memcpy(out, s, HG_JWK_THUMB_LEN);
    out[HG_JWK_THUMB_LEN] = '\0';
    *present = 1;
    return HG_OK;
}

static hg_status map_cnf(const struct issuer *is, const json_t *p,
                         struct hg_token_claims *out, struct hg_err *err)
{
    const json_t *cnf = json_object_get(p, "cnf");
    char x5t[HG_JWK_THUMB_LEN + 1], jkt[HG_JWK_THUMB_LEN + 1];
    int has_x5t = 0, has_jkt = 0;
    hg_status st;

    if (!cnf) {
        if (!is->unbound_ok)
            return hg_err_set(err, HG_EVERIFY, "the token is not bound to a certificate or "
                              "DPoP key (no \"cnf\"); %s must issue certificate-bound (RFC "
                              "8705) or DPoP-bound (RFC 9449) tokens", is->iss);
        out->bind = HG_BIND_NONE;
        out->cnf[0] = '\0';
        return HG_OK;
    }
    if (!json_is_object(cnf))
        return hg_err_set(err, HG_EPARSE, "claim \"cnf\" is not an object");
    if ((st = cnf_member(cnf, "x5t#S256", x5t, &has_x5t, err)) != HG_OK ||
        (st = cnf_member(cnf, "jkt", jkt, &has_jkt, err)) != HG_OK)
        return st;
    /* one binding is checked per request; a token naming two would have
     * the other silently ignored */
    if (has_x5t && has_jkt)
        return hg_err_set(err, HG_EVERIFY, "claim \"cnf\" holds both x5t#S256 and jkt; a "
                          "token must be bound one way");
    if (!has_x5t && !has_jkt)
        return hg_err_set(err, HG_EVERIFY, "claim \"cnf\" holds neither x5t#S256 nor jkt, "
                          "the only confirmation methods checked here");
    out->bind = has_x5t ? HG_BIND_X5T : HG_BIND_JKT;
    memcpy(out->cnf, has_x5t ? x5t : jkt, sizeof out->cnf);
    return HG_OK;
}

/* jti is optional and only identifies the token in records. One longer than
 * the field is kept as the base64url SHA-256 of its value, so it still
 * tells tokens apart. */
static hg_status map_jti(const json_t *p, struct hg_token_claims *out, struct hg_err *err)
{
    const json_t *v = json_object_get(p, "jti");
    if (!v)
        return HG_OK;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return hg_err_set(err, HG_EPARSE, "claim \"jti\" is not a non-empty string");
    size_t n = json_string_length(v);
    if (n < sizeof out->jti) {
        memcpy(out->jti, json_string_value(v), n);
        out->jti[n] = '\0';
        return HG_OK;
    }
    uint8_t h[HG_SHA256_LEN];
    hg_sha256(json_string_value(v), n, h);
    return hg_b64url_encode(h, sizeof h, out->jti, sizeof out->jti);
}

static hg_status map_claims(const struct issuer *is, const json_t *p,
                            struct hg_token_claims *out, struct hg_err *err)
{
    hg_status st;
    int present;

    const json_t *iv = json_object_get(p, "iss");
    if (!iv || !json_is_string(iv) || !str_is(iv, is->iss))
        return hg_err_set(err, HG_EVERIFY, "the token's \"iss\" is not %s", is->iss);
    if ((st = hg_strlcpy(out->iss, is->iss, sizeof out->iss)) != HG_OK)
        return hg_err_set(err, HG_EPARSE, "issuer too long");

    if ((st = claim_str(p, "sub", out->sub, sizeof out->sub, &present, err)) != HG_OK)
        return st;
    if (!present)
        return hg_err_set(err, HG_EPARSE, "claim \"sub\" is missing");
    if ((st = claim_str(p, "client_id", out->client_id, sizeof out->client_id, &present,
                        err)) != HG_OK)
        return st;
    if (!present &&
        (st = claim_str(p, "azp", out->client_id, sizeof out->client_id, &present, err)) !=
            HG_OK)
        return st;
    if (!present)
        memcpy(out->client_id, out->sub, sizeof out->client_id);

    present = 0;
    if (is->tenant_claim &&
        (st = claim_str(p, is->tenant_claim, out->tenant, sizeof out->tenant, &present,
                        err)) != HG_OK)
        return st;
    if (!present && is->tenant)
        hg_strlcpy(out->tenant, is->tenant, sizeof out->tenant);

    if ((st = map_roles(is, p, out, err)) != HG_OK ||
        (st = map_scopes(p, &out->scopes, err)) != HG_OK ||
        (st = check_aud(is, p, out, err)) != HG_OK || (st = map_cnf(is, p, out, err)) != HG_OK ||
        (st = map_jti(p, out, err)) != HG_OK ||
        (st = claim_time(p, "exp", 1, &out->exp, err)) != HG_OK ||
        (st = claim_time(p, "iat", 0, &out->iat, err)) != HG_OK ||
        (st = claim_time(p, "nbf", 0, &out->nbf, err)) != HG_OK)
        return st;
    out->external = 1;
    return HG_OK;
}

/* ---- verification -------------------------------------------------------- */

hg_status hg_issuers_verify(struct hg_issuers *x, const char *iss, const struct hg_jws *jws,
                            int64_t now, struct hg_token_claims *out, struct hg_err *err)
{
    struct snap *s = NULL;
    hg_status st = HG_OK;

    if (!jws || !out || !jws->payload)
        return hg_err_set(err, HG_EINVAL, "hg_issuers_verify: NULL argument");
    memset(out, 0, sizeof *out);
    struct issuer *is = find_issuer(x, iss);
    if (!is)
        return hg_err_set(err, HG_ENOTFOUND, "the token's issuer is not trusted here; "
                          "configure it under auth.issuers");
    if (!jws->kid || !*jws->kid)
        return hg_err_set(err, HG_EPARSE, "the token's header has no \"kid\"; tokens of %s "
                          "must name their signing key", is->iss);
    /* a kid no key set can hold never triggers a fetch */
    const struct hg_sign_key *key =
        strlen(jws->kid) <= HG_JWK_KID_MAX ? lookup(is, jws->kid, now, &s) : NULL;
    if (!key) {
        atomic_fetch_add_explicit(&is->unknown_kid, 1, memory_order_relaxed);
        return hg_err_set(err, HG_ENOTFOUND, "the token's signing key (kid) is not among the "
                          "keys %s publishes", is->iss);
    }
    if (hg_jws_verify(jws, key) != HG_OK) {
        st = hg_err_set(err, HG_EVERIFY, "the token's signature does not verify with the "
                        "key %s publishes for its kid", is->iss);
        goto out;
    }
    st = map_claims(is, jws->payload, out, err);
out:
    snap_unref(s);
    if (st != HG_OK)
        memset(out, 0, sizeof *out);
    return st;
}
