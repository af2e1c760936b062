/* SPDX-License-Identifier: Apache-2.0
 *
 * test_auth.c — attacks on the access-token and DPoP checks of a real
 * haulgated (docs/auth.md), each answered with the right status, problem
 * type and WWW-Authenticate error, and each refusal found in the audit log
 * (GET /v1/audit/entries, by the request's X-Correlation-ID). Tokens with
 * arbitrary claims are minted with the daemon's own signing key, read from
 * the data directory the test owns, so every claim check is reached behind
 * a valid signature; foreign keys, alg none and HMAC with the public key
 * as secret test what must fail before or at the signature. Also: the token
 * endpoint's errors, the discovery documents, scope and policy refusals, a
 * flood of unknown kids, an independent client (tests/node, npm jose), a
 * policy reload that fails and one that succeeds, key rotation over the API
 * and with `haulctl keys rotate` (daemon running and stopped), and server
 * DPoP nonces. Three daemons: the main one, one for key rotation (publish
 * delay 1 s) and one that requires nonces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/jose.h"
#include "common/util.h"
#include "crypto/hash.h"
#include "crypto/sign.h"
#include "integration/harness.h"

#define PROBLEMS "https://haulgate.dev/problems/"
#define HOUR INT64_C(3600000)
#define DAY (24 * HOUR)

static struct hg_it *IT; /* the current group's daemon */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t now_s(void)
{
    return hg_wall_ms() / 1000;
}

/* ------------------------------------------------------------ requests */

/* One request with exactly the credentials given: authz is the whole
 * Authorization value ("Bearer x", "DPoP x"; NULL = none at all, so the
 * harness adds nothing), dpop a proof (NULL = no DPoP header). Every
 * request carries a fresh X-Correlation-ID (returned in corr, may be NULL)
 * so its audit record can be found. */
struct rq {
    const char *client;
    const char *method;
    const char *path;
    const char *authz;
    const char *dpop;
    const char *h1, *h2, *h3;
    const char *body;
    void *handle;
};

static long call(struct hg_it *it, const struct rq *q, char *corr, struct hg_it_resp *out)
{
    char id[HG_UUID_STRLEN + 1], cid[80];
    hg_uuid7(id);
    snprintf(cid, sizeof cid, "X-Correlation-ID: %s", id);
    char *az = NULL, *dp = NULL;
    if (q->authz && asprintf(&az, "Authorization: %s", q->authz) < 0)
        fail_msg("out of memory");
    if (q->dpop && asprintf(&dp, "DPoP: %s", q->dpop) < 0)
        fail_msg("out of memory");
    const char *h[8];
    size_t n = 0;
    h[n++] = cid;
    h[n++] = az ? az : "Authorization:";
    if (dp)
        h[n++] = dp;
    if (q->h1)
        h[n++] = q->h1;
    if (q->h2)
        h[n++] = q->h2;
    if (q->h3)
        h[n++] = q->h3;
    h[n] = NULL;
    int rc = hg_it_request(it, q->handle, q->client, q->method, q->path, h, q->body,
                           q->body ? strlen(q->body) : 0, out);
    free(az);
    free(dp);
    if (rc != 0)
        fail_msg("%s %s as %s: %s", q->method, q->path, q->client ? q->client : "(none)",
                 out->error);
    if (corr)
        snprintf(corr, HG_UUID_STRLEN + 1, "%s", id);
    return out->status;
}

static json_t *body_json(const struct hg_it_resp *r)
{
    json_error_t e;
    json_t *j = json_loadb(r->body, r->body_len, 0, &e);
    if (!j)
        fail_msg("response %ld is not JSON (%s): %.300s", r->status, e.text, r->body);
    return j;
}

static void header(const struct hg_it_resp *r, const char *name, char *buf, size_t cap)
{
    if (!hg_it_resp_header(r, name, buf, cap))
        buf[0] = '\0';
}

/* The response is problem `slug` with `status`; returns the document. */
static json_t *problem(const struct hg_it_resp *r, long status, const char *slug)
{
    char ct[128], type[160];
    header(r, "Content-Type", ct, sizeof ct);
    if (r->status != status || strncmp(ct, "application/problem+json", 24))
        fail_msg("wanted %ld %s, got %ld (%s): %.500s", status, slug, r->status, ct, r->body);
    json_t *j = body_json(r);
    snprintf(type, sizeof type, PROBLEMS "%s", slug);
    const char *t = json_string_value(json_object_get(j, "type"));
    if (!t || strcmp(t, type))
        fail_msg("wanted type %s, got %s: %.400s", type, t ? t : "(none)", r->body);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
    assert_non_null(json_string_value(json_object_get(j, "detail")));
    return j;
}

/* Every value of header `name` in the response, joined by "\n". */
static void header_all(const struct hg_it_resp *r, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name), o = 0;
    out[0] = '\0';
    for (const char *p = r->headers; p && *p;) {
        const char *e = strstr(p, "\r\n");
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            int w = snprintf(out + o, cap - o, "%s%.*s", o ? "\n" : "",
                             (int)(len - (size_t)(v - p)), v);
            if (w > 0 && (size_t)w < cap - o)
                o += (size_t)w;
        }
        p = e ? e + 2 : p + len;
    }
}

/* A WWW-Authenticate challenge of `scheme` with error (NULL: none) whose
 * text also holds `has` (NULL: anything). */
static void challenge(const struct hg_it_resp *r, const char *scheme, const char *error,
                      const char *has)
{
    char all[4096], want[96];
    header_all(r, "WWW-Authenticate", all, sizeof all);
    if (error)
        snprintf(want, sizeof want, "error=\"%s\"", error);
    size_t sl = strlen(scheme);
    for (char *line = all; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (!strncasecmp(line, scheme, sl) && line[sl] == ' ' &&
            (error ? strstr(line, want) != NULL : strstr(line, "error=") == NULL) &&
            (!has || strstr(line, has)))
            return;
        if (!nl)
            break;
        line = nl + 1;
    }
    fail_msg("no WWW-Authenticate %s challenge with error %s%s%s; got:\n%s\nbody: %.300s",
             scheme, error ? error : "(none)", has ? " mentioning " : "", has ? has : "", all,
             r->body);
}

/* 401 unauthorized with a challenge of scheme + error mentioning `has`. */
static void refused(const struct hg_it_resp *r, const char *slug, const char *scheme,
                    const char *error, const char *has)
{
    json_t *j = problem(r, 401, slug);
    challenge(r, scheme, error, has);
    /* the problem never echoes a token */
    assert_null(strstr(r->body, "eyJ"));
    json_decref(j);
}

/* ------------------------------------------------------------- tokens */

/* A JWT part (0 header, 1 payload) decoded as JSON, or NULL. */
static json_t *jwt_part(const char *tok, int idx)
{
    const char *s = tok;
    for (int i = 0; i < idx; i++) {
        s = strchr(s, '.');
        if (!s)
            return NULL;
        s++;
    }
    const char *e = strchr(s, '.');
    size_t n = e ? (size_t)(e - s) : strlen(s), len = 0;
    unsigned char buf[8192];
    if (hg_b64url_decode(s, n, buf, sizeof buf, &len) != HG_OK)
        return NULL;
    return json_loadb((const char *)buf, len, 0, NULL);
}

/* POST /oauth2/token for stem: the access token (malloc'd); fails the test
 * unless 200. scope NULL = default. */
static char *get_token(struct hg_it *it, const char *stem, const char *scope, int dpop)
{
    struct hg_it_resp r;
    if (hg_it_token_request(it, stem, scope, dpop, &r) != 0 || r.status != 200)
        fail_msg("token for %s (scope %s, dpop %d): %ld %s %.300s", stem, scope ? scope : "-",
                 dpop, r.status, r.error, r.body ? r.body : "");
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "token_type")),
                        dpop ? "DPoP" : "Bearer");
    char *t = strdup(json_string_value(json_object_get(j, "access_token")));
    json_decref(j);
    hg_it_resp_free(&r);
    return t;
}

/* Cert-bound tokens kept per (daemon port, stem) for the audit reads. */
static struct {
    int port;
    char stem[32];
    char *tok;
} Bearers[8];

static const char *bearer_of(struct hg_it *it, const char *stem)
{
    size_t i;
    for (i = 0; i < 8 && Bearers[i].tok; i++)
        if (Bearers[i].port == it->api_port && !strcmp(Bearers[i].stem, stem))
            return Bearers[i].tok;
    if (i == 8) {
        i = 0;
        free(Bearers[0].tok);
    }
    Bearers[i].port = it->api_port;
    snprintf(Bearers[i].stem, sizeof Bearers[i].stem, "%s", stem);
    Bearers[i].tok = get_token(it, stem, NULL, 0);
    return Bearers[i].tok;
}

static void bearers_free(void)
{
    for (size_t i = 0; i < 8; i++) {
        free(Bearers[i].tok);
        Bearers[i].tok = NULL;
    }
}

/* The daemon's current signing key, from its keys directory: the manifest
 * entry that activated last and has not retired. */
static struct hg_sign_key *daemon_key(struct hg_it *it, char kid[HG_JWK_KID_MAX + 1])
{
    char path[600];
    snprintf(path, sizeof path, "%s/keys/keys.json", it->data);
    json_error_t e;
    json_t *m = json_load_file(path, 0, &e);
    if (!m)
        fail_msg("%s: %s", path, e.text);
    int64_t now = now_s(), best = -1;
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(m, "keys"), i, k) {
        int64_t act = json_integer_value(json_object_get(k, "activates"));
        json_t *ret = json_object_get(k, "retires");
        if (act <= now && act > best && (json_is_null(ret) || json_integer_value(ret) > now)) {
            best = act;
            snprintf(kid, HG_JWK_KID_MAX + 1, "%s",
                     json_string_value(json_object_get(k, "kid")));
        }
    }
    json_decref(m);
    if (best < 0)
        fail_msg("no current key in %s", path);
    snprintf(path, sizeof path, "%s/keys/%s.pem", it->data, kid);
    struct hg_sign_key *key = NULL;
    struct hg_err err;
    hg_err_clear(&err);
    if (hg_sign_key_load_pem(path, &key, &err) != HG_OK)
        fail_msg("%s: %s", path, hg_err_msg(&err));
    return key;
}

/* Sign payload as a JWS of typ with key and kid (key NULL = the daemon's
 * current key and its kid). */
static char *sign_jws(struct hg_it *it, const struct hg_sign_key *key, const char *kid,
                      const char *typ, const json_t *payload)
{
    char dkid[HG_JWK_KID_MAX + 1];
    struct hg_sign_key *own = NULL;
    if (!key) {
        own = daemon_key(it, dkid);
        key = own;
        if (!kid)
            kid = dkid;
    }
    char *out = NULL;
    struct hg_err err;
    hg_err_clear(&err);
    if (hg_jws_sign(key, typ, kid, NULL, payload, &out, NULL, &err) != HG_OK)
        fail_msg("sign: %s", hg_err_msg(&err));
    hg_sign_key_free(own);
    return out;
}

/* The claims of a real cert-bound token of tms, with a fresh jti and
 * times around now: the template every minted token starts from. */
static json_t *claims_template(struct hg_it *it)
{
    char *tok = get_token(it, "tms", NULL, 0);
    json_t *p = jwt_part(tok, 1);
    assert_non_null(p);
    free(tok);
    char jti[HG_UUID_STRLEN + 1];
    hg_uuid7(jti);
    int64_t now = now_s();
    json_object_set_new(p, "jti", json_string(jti));
    json_object_set_new(p, "iat", json_integer(now));
    json_object_set_new(p, "nbf", json_integer(now));
    json_object_set_new(p, "exp", json_integer(now + 300));
    return p;
}

/* base64url of a JSON value's compact form. */
static char *b64_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t n = strlen(s), cap = hg_b64url_enclen(n) + 1;
    char *o = malloc(cap);
    assert_int_equal(hg_b64url_encode(s, n, o, cap), HG_OK);
    free(s);
    return o;
}

/* A JWS with an arbitrary header (no signing rules) and a signature of
 * sig/siglen bytes (HMAC, or nothing). */
static char *raw_jws(const json_t *hdr, const json_t *payload, const uint8_t *hmac_key,
                     size_t keylen)
{
    char *h = b64_json(hdr), *p = b64_json(payload), *out = NULL;
    char si[8192];
    snprintf(si, sizeof si, "%s.%s", h, p);
    char sig[64] = "";
    if (hmac_key) {
        uint8_t mac[HG_SHA256_LEN];
        assert_int_equal(hg_hmac_sha256(hmac_key, keylen, si, strlen(si), mac), HG_OK);
        hg_b64url_encode(mac, sizeof mac, sig, sizeof sig);
    }
    assert_true(asprintf(&out, "%s.%s", si, sig) > 0);
    free(h);
    free(p);
    return out;
}

/* A DPoP proof by key: typ dpop+jwt, the public jwk in the header (plus a
 * private "d" when with_d), claims jti/htm/htu/iat (+ath of token, +nonce). */
static char *mkproof(const struct hg_sign_key *key, const char *htm, const char *htu,
                     const char *token, long iat_off, const char *jti, const char *nonce,
                     int with_d)
{
    json_t *jwk = hg_jwk_export(key, NULL, 0);
    if (with_d)
        json_object_set_new(jwk, "d",
                            json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    json_t *hdr = json_pack("{s:o}", "jwk", jwk);
    char id[HG_UUID_STRLEN + 1];
    if (!jti) {
        hg_uuid7(id);
        jti = id;
    }
    json_t *c = json_pack("{s:s, s:s, s:s, s:I}", "jti", jti, "htm", htm, "htu", htu, "iat",
                          (json_int_t)(now_s() + iat_off));
    if (token) {
        uint8_t h[HG_SHA256_LEN];
        char ath[64];
        hg_sha256(token, strlen(token), h);
        hg_b64url_encode(h, sizeof h, ath, sizeof ath);
        json_object_set_new(c, "ath", json_string(ath));
    }
    if (nonce)
        json_object_set_new(c, "nonce", json_string(nonce));
    char *out = NULL;
    struct hg_err err;
    hg_err_clear(&err);
    if (hg_jws_sign(key, "dpop+jwt", NULL, hdr, c, &out, NULL, &err) != HG_OK)
        fail_msg("proof: %s", hg_err_msg(&err));
    json_decref(hdr);
    json_decref(c);
    return out;
}

static char *url_of(struct hg_it *it, const char *path)
{
    char u[600];
    hg_it_url(it, path, u, sizeof u);
    return strdup(u);
}

static char *with_scheme(const char *scheme, const char *tok)
{
    char *s = NULL;
    assert_true(asprintf(&s, "%s %s", scheme, tok) > 0);
    return s;
}

/* --------------------------------------------------------------- audit */

static json_int_t audit_size(struct hg_it *it)
{
    char *az = with_scheme("Bearer", bearer_of(it, "operator"));
    struct hg_it_resp r;
    long st = call(it,
                   &(struct rq){.client = "operator", .method = "GET",
                                .path = "/v1/audit/checkpoint", .authz = az,
                                .h1 = "Accept: application/json"},
                   NULL, &r);
    free(az);
    if (st != 200)
        fail_msg("audit checkpoint: %ld %.300s", st, r.body);
    json_t *j = body_json(&r);
    json_int_t n = json_integer_value(json_object_get(j, "tree_size"));
    json_decref(j);
    hg_it_resp_free(&r);
    return n;
}

/* Wait (15 s at most) until each request id in ids has a record of
 * event_type at an index >= from. Returns them as an array in ids' order
 * (caller decrefs); fails the test naming what is missing. */
static json_t *expect_audit(struct hg_it *it, json_int_t from, const char *event_type,
                            const char *const *ids, size_t n)
{
    json_t *found = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(found, json_null());
    char *az = with_scheme("Bearer", bearer_of(it, "operator"));
    size_t have = 0;
    json_int_t scanned = from;
    for (int attempt = 0; attempt < 150 && have < n; attempt++) {
        if (attempt)
            sleep_ms(100);
        json_int_t size = audit_size(it);
        for (json_int_t lo = scanned; lo < size && have < n; lo += 1000) {
            json_int_t hi = lo + 1000 < size ? lo + 1000 : size;
            char path[128];
            snprintf(path, sizeof path, "/v1/audit/entries?from=%lld&to=%lld", (long long)lo,
                     (long long)hi);
            struct hg_it_resp r;
            if (call(it,
                     &(struct rq){.client = "operator", .method = "GET", .path = path,
                                  .authz = az},
                     NULL, &r) != 200)
                fail_msg("%s: %ld %.300s", path, r.status, r.body);
            json_t *j = body_json(&r);
            hg_it_resp_free(&r);
            size_t k;
            json_t *e;
            json_array_foreach(json_object_get(j, "entries"), k, e) {
                json_t *rec = json_object_get(e, "record");
                const char *et = json_string_value(json_object_get(rec, "event_type"));
                const char *rid = json_string_value(json_object_get(rec, "request_id"));
                if (!et || !rid || strcmp(et, event_type))
                    continue;
                for (size_t x = 0; x < n; x++)
                    if (!strcmp(rid, ids[x]) && json_is_null(json_array_get(found, x))) {
                        json_array_set(found, x, rec);
                        have++;
                    }
            }
            json_decref(j);
            scanned = hi;
        }
    }
    free(az);
    for (size_t i = 0; i < n; i++)
        if (json_is_null(json_array_get(found, i)))
            fail_msg("no %s audit record for request %s (of %zu, %zu found)", event_type,
                     ids[i], n, have);
    return found;
}

/* expect_audit, then each record's decision is `decision`. */
static void audited(struct hg_it *it, json_int_t from, const char *event_type,
                    const char *decision, const char *const *ids, size_t n)
{
    json_t *recs = expect_audit(it, from, event_type, ids, n);
    size_t i;
    json_t *rec;
    json_array_foreach(recs, i, rec) {
        const char *d = json_string_value(json_object_get(rec, "decision"));
        if (!d || strcmp(d, decision))
            fail_msg("audit %s for %s: decision %s, wanted %s", event_type, ids[i],
                     d ? d : "(none)", decision);
    }
    json_decref(recs);
}

/* ------------------------------------------------------------- tenders */

static char *tender_json(const char *load, int hazmat)
{
    char ps[HG_RFC3339_LEN + 1], pe[HG_RFC3339_LEN + 1], ds[HG_RFC3339_LEN + 1],
        de[HG_RFC3339_LEN + 1];
    int64_t base = hg_wall_ms() / HOUR * HOUR + 2 * DAY;
    hg_rfc3339(base, ps);
    hg_rfc3339(base + 2 * HOUR, pe);
    hg_rfc3339(base + 6 * HOUR, ds);
    hg_rfc3339(base + 10 * HOUR, de);
    char *s = NULL;
    assert_true(asprintf(&s,
                         "{\"tmsLoadId\":\"%s\","
                         "\"origin\":{\"name\":\"Dallas DC\",\"lat\":32.7767,\"lon\":-96.797},"
                         "\"destination\":{\"name\":\"Houston yard\",\"lat\":29.7604,"
                         "\"lon\":-95.3698},"
                         "\"pickupWindow\":{\"start\":\"%s\",\"end\":\"%s\"},"
                         "\"deliveryWindow\":{\"start\":\"%s\",\"end\":\"%s\"},"
                         "\"weightLbs\":30000,\"equipment\":\"dry_van\",\"hazmat\":%s,"
                         "\"lane\":\"DAL-HOU\",\"region\":\"us-south\"}",
                         load, ps, pe, ds, de, hazmat ? "true" : "false") > 0);
    return s;
}

/* A new tender of tms (through the harness's own DPoP token); its id and
 * ETag. */
static void new_tender(struct hg_it *it, char id[40], char etag[40])
{
    char key[HG_UUID_STRLEN + 1], kh[80], load[64];
    hg_uuid7(key);
    snprintf(kh, sizeof kh, "Idempotency-Key: %s", key);
    snprintf(load, sizeof load, "AUTH-%s", key);
    char *b = tender_json(load, 0);
    const char *h[] = {"Content-Type: application/json", kh, NULL};
    struct hg_it_resp r;
    assert_int_equal(hg_it_request(it, NULL, "tms", "POST", "/v1/tenders", h, b, strlen(b), &r),
                     0);
    if (r.status != 201)
        fail_msg("create: %ld %.400s", r.status, r.body);
    json_t *j = body_json(&r);
    snprintf(id, 40, "%s", json_string_value(json_object_get(j, "tenderId")));
    header(&r, "ETag", etag, 40);
    assert_true(etag[0] == '"');
    json_decref(j);
    hg_it_resp_free(&r);
    free(b);
}

/* ----------------------------------------------------------- processes */

/* Run argv (argv[0] found on PATH when it has no '/') in dir with output
 * to out_path; the exit status, or -1. */
static int run_in(const char *dir, char *const argv[], const char *out_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (dir && chdir(dir) != 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    char *s = calloc(1, 1 << 20);
    size_t n = fread(s, 1, (1 << 20) - 1, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

static int on_path(const char *prog)
{
    const char *p = getenv("PATH");
    char dir[4096];
    while (p && *p) {
        const char *c = strchr(p, ':');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        snprintf(dir, sizeof dir, "%.*s/%s", (int)n, p, prog);
        if (n && access(dir, X_OK) == 0)
            return 1;
        if (!c)
            break;
        p = c + 1;
    }
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* ================================================================ main */

/* The main daemon's policy: what the example grants, and a deny of every
 * hazmat tender (the SIGHUP test swaps it). */
#define POLICY_RULES                                                                         \
    "version: 1\n"                                                                           \
    "rules:\n"                                                                               \
    "  - id: deny-hazmat-tenders\n"                                                          \
    "    effect: deny\n"                                                                     \
    "    verbs: [tender:create]\n"                                                           \
    "    tenant: any\n"                                                                      \
    "    when: [\"hazmat == true\"]\n"                                                       \
    "    reason: \"hazmat loads are tendered by hand in this test\"\n"                       \
    "  - id: whoami\n"                                                                       \
    "    effect: allow\n"                                                                    \
    "    verbs: [identity:read]\n"                                                           \
    "    tenant: any\n"                                                                      \
    "  - id: tms-tenders\n"                                                                  \
    "    effect: allow\n"                                                                    \
    "    verbs: [\"tender:*\", capacity:list, capacity:read]\n"                              \
    "    roles: [tms]\n"                                                                     \
    "    tenant: same\n"                                                                     \
    "  - id: operators\n"                                                                    \
    "    effect: allow\n"                                                                    \
    "    verbs: [\"tender:*\", \"capacity:*\", audit:read, identity:read]\n"                 \
    "    roles: [operator]\n"                                                                \
    "    tenant: any\n"                                                                      \
    "  - id: admins\n"                                                                       \
    "    effect: allow\n"                                                                    \
    "    verbs: [\"*\"]\n"                                                                   \
    "    roles: [admin]\n"                                                                   \
    "    tenant: any\n"

#define AUDIT_YAML                                                                           \
    "audit:\n"                                                                               \
    "  checkpoint_records: 5\n"                                                              \
    "  checkpoint_interval: 50ms\n"

/* tms2 holds another certificate of client tms; stranger maps to nothing. */
static int start_main(struct hg_it *it)
{
    if (hg_it_setup(it) != 0)
        return -1;
    snprintf(it->policy, sizeof it->policy, "%s/policy.yaml", it->dir);
    FILE *f = fopen(it->policy, "w");
    if (!f || fputs(POLICY_RULES, f) < 0 || fclose(f) != 0)
        return -1;
    snprintf(it->extra_yaml, sizeof it->extra_yaml, "%s", AUDIT_YAML);
    if (hg_it_pki(it, "issue", "tms2", "--uri spiffe://haulgate.dev/tms") != 0 ||
        hg_it_pki(it, "issue", "stranger", NULL) != 0)
        return -1;
    return hg_it_start_verbose(it);
}

static int main_setup(void **state)
{
    int rc = hg_it_fixture(state, start_main);
    IT = rc == 0 ? *state : NULL;
    return rc;
}

static int group_teardown(void **state)
{
    bearers_free();
    IT = NULL;
    return hg_it_fixture_free(state);
}

/* No Authorization at all: 401 with both challenges, no error code. */
static void no_token(void **state)
{
    (void)state;
    json_int_t from = audit_size(IT);
    char c1[40], c2[40];
    struct hg_it_resp r;
    call(IT, &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami"}, c1, &r);
    json_t *j = problem(&r, 401, "unauthorized");
    challenge(&r, "Bearer", NULL, "realm=\"haulgate\"");
    challenge(&r, "DPoP", NULL, "algs=");
    json_decref(j);
    hg_it_resp_free(&r);
    /* a critical route says a DPoP-bound token is needed */
    call(IT,
         &(struct rq){.client = "tms", .method = "POST",
                      .path = "/v1/tenders/0190a0c4-8f2e-7c4b-9a5e-3f1d2c4b5a69/cancel",
                      .h1 = "If-Match: \"1\""},
         c2, &r);
    j = problem(&r, 401, "unauthorized");
    assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "DPoP"));
    json_decref(j);
    hg_it_resp_free(&r);
    const char *ids[] = {c1, c2};
    audited(IT, from, "authn.failure", "deny", ids, 2);
}

/* Wrong schemes and more than one Authorization field. */
static void bad_schemes(void **state)
{
    (void)state;
    char *tok = get_token(IT, "tms", NULL, 0);
    char *basic = with_scheme("Basic", "dG1zOnNlY3JldA==");
    struct hg_it_resp r;
    call(IT, &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = basic},
         NULL, &r);
    refused(&r, "unauthorized", "Bearer", "invalid_request", "Bearer or DPoP");
    hg_it_resp_free(&r);
    char *b = with_scheme("Bearer", tok), twice[5000];
    snprintf(twice, sizeof twice, "Authorization: Bearer %s", tok);
    call(IT,
         &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = b,
                      .h1 = twice},
         NULL, &r);
    refused(&r, "unauthorized", "Bearer", "invalid_request", "more than one");
    hg_it_resp_free(&r);
    /* the same token alone is fine: the refusals above were the shape */
    call(IT, &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = b},
         NULL, &r);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
    free(b);
    free(basic);
    free(tok);
}

/* alg none, and HS256 keyed with the public key (algorithm confusion):
 * refused by the alg allow-list, before any key is used. */
static void alg_none_and_hmac_confusion(void **state)
{
    (void)state;
    json_int_t from = audit_size(IT);
    json_t *claims = claims_template(IT);
    char kid[HG_JWK_KID_MAX + 1];
    hg_sign_key_free(daemon_key(IT, kid));

    /* the public key as the JWKS serves it */
    struct hg_it_resp r;
    assert_int_equal(
        hg_it_request(IT, NULL, "tms", "GET", "/.well-known/jwks.json", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *set = body_json(&r);
    hg_it_resp_free(&r);
    json_t *jwk = NULL;
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(set, "keys"), i, k) if (
        !strcmp(json_string_value(json_object_get(k, "kid")), kid)) jwk = k;
    assert_non_null(jwk);
    char *jwk_text = json_dumps(jwk, JSON_COMPACT | JSON_PRESERVE_ORDER);
    struct hg_sign_key *pub = NULL;
    struct hg_err err;
    hg_err_clear(&err);
    assert_int_equal(hg_jwk_import(jwk, &pub, &err), HG_OK);
    uint8_t raw[HG_SIGN_MAX_PUB];
    size_t rawn = 0;
    assert_int_equal(hg_sign_key_public_raw(pub, raw, sizeof raw, &rawn), HG_OK);

    json_t *h_none = json_pack("{s:s, s:s, s:s}", "alg", "none", "typ", "at+jwt", "kid", kid);
    json_t *h_hs = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "typ", "at+jwt", "kid", kid);
    char *tokens[4] = {
        raw_jws(h_none, claims, NULL, 0),
        raw_jws(h_hs, claims, (const uint8_t *)jwk_text, strlen(jwk_text)),
        raw_jws(h_hs, claims, raw, rawn),
        NULL,
    };
    /* "None" spelled otherwise, with a (fake) signature */
    json_t *h_none2 = json_pack("{s:s, s:s, s:s}", "alg", "None", "typ", "at+jwt", "kid", kid);
    tokens[3] = raw_jws(h_none2, claims, raw, rawn);
    const char *alg_named[] = {"none", "HS256", "HS256", "None"};
    char ids[4][40];
    const char *idp[4];
    for (int t = 0; t < 4; t++) {
        char *az = with_scheme("Bearer", tokens[t]);
        call(IT,
             &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = az},
             ids[t], &r);
        refused(&r, "unauthorized", "Bearer", "invalid_token", alg_named[t]);
        hg_it_resp_free(&r);
        idp[t] = ids[t];
        free(az);
        free(tokens[t]);
    }
    audited(IT, from, "authn.failure", "deny", idp, 4);
    json_decref(h_none);
    json_decref(h_none2);
    json_decref(h_hs);
    free(jwk_text);
    hg_sign_key_free(pub);
    json_decref(set);
    json_decref(claims);
}

/* ES256 by a key the daemon does not have: an unknown kid, and our kid
 * with a foreign key. */
static void foreign_keys(void **state)
{
    (void)state;
    json_int_t from = audit_size(IT);
    json_t *claims = claims_template(IT);
    char kid[HG_JWK_KID_MAX + 1];
    hg_sign_key_free(daemon_key(IT, kid));
    struct hg_sign_key *mine = NULL;
    struct hg_err err;
    hg_err_clear(&err);
    assert_int_equal(hg_sign_key_generate(HG_SIGN_ES256, &mine, &err), HG_OK);
    char mykid[HG_JWK_THUMB_LEN + 1];
    assert_int_equal(hg_jwk_thumbprint(mine, mykid), HG_OK);

    char *unknown = sign_jws(IT, mine, mykid, "at+jwt", claims);
    char *forged = sign_jws(IT, mine, kid, "at+jwt", claims);
    char *good = sign_jws(IT, NULL, NULL, "at+jwt", claims);
    struct hg_it_resp r;
    char c1[40], c2[40];
    char *az = with_scheme("Bearer", unknown);
    call(IT, &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = az},
         c1, &r);
    refused(&r, "unauthorized", "Bearer", "invalid_token", "unknown signing key");
    hg_it_resp_free(&r);
    free(az);
    az = with_scheme("Bearer", forged);
    call(IT, &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = az},
         c2, &r);
    refused(&r, "unauthorized", "Bearer", "invalid_token", "signature");
    hg_it_resp_free(&r);
    free(az);
    /* the same claims signed by the daemon's key pass: only the key differed */
    az = with_scheme("Bearer", good);
    call(IT, &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = az},
         NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "token"), "jti")),
                        json_string_value(json_object_get(claims, "jti")));
    json_decref(j);
    hg_it_resp_free(&r);
    free(az);
    const char *ids[] = {c1, c2};
    audited(IT, from, "authn.failure", "deny", ids, 2);
    free(unknown);
    free(forged);
    free(good);
    hg_sign_key_free(mine);
    json_decref(claims);
}

/* Claims checks behind a valid signature of the daemon's key. */
static void minted_claims(void **state)
{
    (void)state;
    json_int_t from = audit_size(IT);
    int64_t now = now_s();
    static const struct {
        const char *what;
        long status;
        const char *has; /* in the error_description */
    } cases[] = {
        {"expired beyond leeway", 401, "expired"},
        {"expired within leeway", 200, NULL},
        {"nbf in the future", 401, "not valid before"},
        {"nbf within leeway", 200, NULL},
        {"iat in the future", 401, "future"},
        {"wrong aud", 401, "audience"},
        {"wrong iss", 401, "unknown issuer"},
        {"no cnf", 401, "cnf"},
        {"cnf with both bindings", 401, "cnf"},
        {"typ JWT", 401, "at+jwt"},
        {"no exp", 401, "exp"},
        {"unknown scope", 401, "scope"},
    };
    size_t n = sizeof cases / sizeof cases[0];
    char ids[16][40];
    const char *idp[16];
    size_t nid = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *c = claims_template(IT);
        const char *typ = "at+jwt";
        switch (i) {
        case 0:
            json_object_set_new(c, "iat", json_integer(now - 600));
            json_object_set_new(c, "nbf", json_integer(now - 600));
            json_object_set_new(c, "exp", json_integer(now - 120));
            break;
        case 1:
            json_object_set_new(c, "iat", json_integer(now - 330));
            json_object_set_new(c, "nbf", json_integer(now - 330));
            json_object_set_new(c, "exp", json_integer(now - 30));
            break;
        case 2:
            json_object_set_new(c, "nbf", json_integer(now + 600));
            break;
        case 3:
            json_object_set_new(c, "nbf", json_integer(now + 30));
            break;
        case 4:
            json_object_set_new(c, "iat", json_integer(now + 600));
            break;
        case 5:
            json_object_set_new(c, "aud", json_string("https://elsewhere.example"));
            break;
        case 6:
            json_object_set_new(c, "iss", json_string("https://evil.example"));
            break;
        case 7:
            json_object_del(c, "cnf");
            break;
        case 8:
            json_object_set_new(json_object_get(c, "cnf"), "jkt",
                                json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
            break;
        case 9:
            typ = "JWT";
            break;
        case 10:
            json_object_del(c, "exp");
            break;
        case 11:
            json_object_set_new(c, "scope", json_string("tender:read fly:plane"));
            break;
        }
        char *tok = sign_jws(IT, NULL, NULL, typ, c);
        char *az = with_scheme("Bearer", tok);
        struct hg_it_resp r;
        char cid[40];
        call(IT,
             &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = az},
             cid, &r);
        if (r.status != cases[i].status)
            fail_msg("%s: wanted %ld, got %ld: %.300s", cases[i].what, cases[i].status,
                     r.status, r.body);
        if (cases[i].status == 401) {
            refused(&r, "unauthorized", "Bearer", "invalid_token", cases[i].has);
            snprintf(ids[nid], sizeof ids[nid], "%s", cid);
            idp[nid] = ids[nid];
            nid++;
        }
        hg_it_resp_free(&r);
        free(az);
        free(tok);
        json_decref(c);
    }
    audited(IT, from, "authn.failure", "deny", idp, nid);
}

/* A token presented by another client, or by another certificate of the
 * same client. */
static void stolen_tokens(void **state)
{
    (void)state;
    json_int_t from = audit_size(IT);
    char *cb = get_token(IT, "tms", NULL, 0);
    const char *dp = hg_it_token(IT, "tms");
    assert_non_null(dp);
    char *az = with_scheme("Bearer", cb);
    struct hg_it_resp r;
    char c1[40], c2[40], c3[40];
    /* operator's connection, tms's certificate-bound token */
    call(IT, &(struct rq){.client = "operator", .method = "GET", .path = "/v1/whoami", .authz = az},
         c1, &r);
    refused(&r, "unauthorized", "Bearer", "invalid_token", "issued to client 'tms'");
    hg_it_resp_free(&r);
    /* operator's connection, tms's DPoP token with a valid proof by tms's key */
    char *u = url_of(IT, "/v1/whoami");
    char *proof = mkproof(hg_it_dpop_key(IT, "tms"), "GET", u, dp, 0, NULL, NULL, 0);
    char *dz = with_scheme("DPoP", dp);
    call(IT,
         &(struct rq){.client = "operator", .method = "GET", .path = "/v1/whoami", .authz = dz,
                      .dpop = proof},
         c2, &r);
    refused(&r, "unauthorized", "DPoP", "invalid_token", "issued to client 'tms'");
    hg_it_resp_free(&r);
    free(proof);
    /* another certificate of client tms: the binding (cnf x5t#S256) fails */
    call(IT, &(struct rq){.client = "tms2", .method = "GET", .path = "/v1/whoami", .authz = az},
         c3, &r);
    refused(&r, "unauthorized", "Bearer", "invalid_token", "another client certificate");
    hg_it_resp_free(&r);
    /* tms2 gets its own token, bound to its own certificate */
    char *own = get_token(IT, "tms2", NULL, 0);
    char *oz = with_scheme("Bearer", own);
    call(IT, &(struct rq){.client = "tms2", .method = "GET", .path = "/v1/whoami", .authz = oz},
         NULL, &r);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
    /* a certificate-bound token with the DPoP scheme */
    proof = mkproof(hg_it_dpop_key(IT, "tms"), "GET", u, cb, 0, NULL, NULL, 0);
    char *wrong = with_scheme("DPoP", cb);
    call(IT,
         &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = wrong,
                      .dpop = proof},
         NULL, &r);
    refused(&r, "unauthorized", "DPoP", "invalid_token", "Bearer");
    hg_it_resp_free(&r);
    const char *ids[] = {c1, c2, c3};
    audited(IT, from, "authn.failure", "deny", ids, 3);
    free(proof);
    free(wrong);
    free(oz);
    free(own);
    free(dz);
    free(u);
    free(az);
    free(cb);
}

/* Critical routes take only DPoP-bound tokens; DPoP-bound tokens are never
 * Bearer tokens. */
static void binding_and_critical_routes(void **state)
{
    (void)state;
    json_int_t from = audit_size(IT);
    char id[40], etag[40], path[128], im[80];
    new_tender(IT, id, etag);
    snprintf(path, sizeof path, "/v1/tenders/%s/cancel", id);
    snprintf(im, sizeof im, "If-Match: %s", etag);
    char *cb = get_token(IT, "tms", NULL, 0);
    char *az = with_scheme("Bearer", cb);
    struct hg_it_resp r;
    char c1[40], c2[40];
    call(IT,
         &(struct rq){.client = "tms", .method = "POST", .path = path, .authz = az, .h1 = im},
         c1, &r);
    refused(&r, "unauthorized", "DPoP", "invalid_token", "DPoP-bound");
    hg_it_resp_free(&r);
    /* the DPoP-bound token as Bearer, on a plain route */
    const char *dp = hg_it_token(IT, "tms");
    char *bz = with_scheme("Bearer", dp);
    call(IT, &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = bz},
         c2, &r);
    refused(&r, "unauthorized", "DPoP", "invalid_token", "never as Bearer");
    hg_it_resp_free(&r);
    /* the cancel with the DPoP-bound token and a proof goes through */
    char *u = url_of(IT, path);
    char *proof = mkproof(hg_it_dpop_key(IT, "tms"), "POST", u, dp, 0, NULL, NULL, 0);
    char *dz = with_scheme("DPoP", dp);
    call(IT,
         &(struct rq){.client = "tms", .method = "POST", .path = path, .authz = dz,
                      .dpop = proof, .h1 = im},
         NULL, &r);
    if (r.status != 200)
        fail_msg("cancel with DPoP: %ld %.400s", r.status, r.body);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "cancelled");
    json_decref(j);
    hg_it_resp_free(&r);
    const char *ids[] = {c1, c2};
    audited(IT, from, "authn.failure", "deny", ids, 2);
    free(proof);
    free(dz);
    free(u);
    free(bz);
    free(az);
    free(cb);
}

/* Every DPoP proof check, each alone, with a valid token. */
static void dpop_proof_checks(void **state)
{
    (void)state;
    json_int_t from = audit_size(IT);
    const char *dp = hg_it_token(IT, "tms");
    assert_non_null(dp);
    const struct hg_sign_key *key = hg_it_dpop_key(IT, "tms");
    struct hg_sign_key *other = NULL;
    struct hg_err err;
    hg_err_clear(&err);
    assert_int_equal(hg_sign_key_generate(HG_SIGN_ES256, &other, &err), HG_OK);
    char *u = url_of(IT, "/v1/whoami"), *u_other = url_of(IT, "/v1/tenders");
    char *dz = with_scheme("DPoP", dp);
    struct hg_it_resp r;
    char ids[16][40];
    const char *idp[16];
    size_t nid = 0;

    /* replay: the same proof twice */
    char *p = mkproof(key, "GET", u, dp, 0, NULL, NULL, 0);
    call(IT,
         &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = dz,
                      .dpop = p},
         NULL, &r);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
    call(IT,
         &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = dz,
                      .dpop = p},
         ids[nid], &r);
    refused(&r, "invalid-dpop-proof", "DPoP", "invalid_dpop_proof", NULL);
    idp[nid] = ids[nid];
    nid++;
    hg_it_resp_free(&r);
    free(p);

    struct {
        const char *what;
        char *proof;
    } bad[] = {
        {"wrong htm", mkproof(key, "POST", u, dp, 0, NULL, NULL, 0)},
        {"wrong htu", mkproof(key, "GET", u_other, dp, 0, NULL, NULL, 0)},
        {"no ath", mkproof(key, "GET", u, NULL, 0, NULL, NULL, 0)},
        {"ath of another token", mkproof(key, "GET", u, "not-this-token", 0, NULL, NULL, 0)},
        {"another key than cnf.jkt", mkproof(other, "GET", u, dp, 0, NULL, NULL, 0)},
        {"iat too old", mkproof(key, "GET", u, dp, -3600, NULL, NULL, 0)},
        {"iat in the future", mkproof(key, "GET", u, dp, 3600, NULL, NULL, 0)},
        {"private key in jwk", mkproof(key, "GET", u, dp, 0, NULL, NULL, 1)},
        {"not a JWS", strdup("garbage")},
        {"no proof", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        call(IT,
             &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = dz,
                          .dpop = bad[i].proof},
             ids[nid], &r);
        if (r.status != 401)
            fail_msg("%s: wanted 401, got %ld %.300s", bad[i].what, r.status, r.body);
        refused(&r, "invalid-dpop-proof", "DPoP", "invalid_dpop_proof", NULL);
        idp[nid] = ids[nid];
        nid++;
        hg_it_resp_free(&r);
        free(bad[i].proof);
    }
    /* a fresh, correct proof still works: only the proofs were wrong */
    p = mkproof(key, "GET", u, dp, 0, NULL, NULL, 0);
    call(IT,
         &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = dz,
                      .dpop = p},
         NULL, &r);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
    free(p);
    audited(IT, from, "authn.failure", "deny", idp, nid);
    hg_sign_key_free(other);
    free(dz);
    free(u);
    free(u_other);
}

/* Oversized and malformed tokens: 401, and the daemon keeps serving. */
static void malformed_tokens(void **state)
{
    (void)state;
    json_int_t from = audit_size(IT);
    char *big = malloc(5001);
    memset(big, 'A', 5000);
    big[5000] = '\0';
    big[100] = '.';
    big[200] = '.';
    static const struct {
        const char *tok, *error, *has;
    } cases[] = {
        {"garbage-not-a-jwt", "invalid_token", NULL},
        {"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0", "invalid_token", NULL},
        {"e30.e30.e30", "invalid_token", NULL},
        {"eyJ+bad/base64.eyJ+.abc=", "invalid_token", NULL},
        {"a$b.c.d", "invalid_request", "malformed"},
        {"...", "invalid_token", NULL},
        {"eyJhbGciOiJFUzI1NiJ9.\"x\".sig with space", "invalid_request", "malformed"},
    };
    size_t n = sizeof cases / sizeof cases[0];
    char ids[16][40];
    const char *idp[16];
    struct hg_it_resp r;
    for (size_t i = 0; i <= n; i++) {
        const char *tok = i < n ? cases[i].tok : big;
        char *az = with_scheme("Bearer", tok);
        call(IT, &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = az},
             ids[i], &r);
        if (r.status != 401)
            fail_msg("token '%.40s': wanted 401, got %ld %.300s", tok, r.status, r.body);
        refused(&r, "unauthorized", "Bearer", i < n ? cases[i].error : "invalid_token",
                i < n ? cases[i].has : "4096");
        idp[i] = ids[i];
        hg_it_resp_free(&r);
        free(az);
    }
    free(big);
    /* still serving */
    assert_int_equal(hg_it_request(IT, NULL, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
    assert_true(hg_it_alive(IT));
    audited(IT, from, "authn.failure", "deny", idp, n + 1);
}

/* Sum of every haulgate_http_requests_total series on /metrics. */
static double requests_total(struct hg_it *it)
{
    struct hg_it_opts o = {.admin = 1};
    struct hg_it_resp r;
    assert_int_equal(hg_it_request_opts(it, NULL, &o, NULL, "GET", "/metrics", NULL, NULL, 0, &r),
                     0);
    assert_int_equal(r.status, 200);
    double sum = 0;
    int series = 0;
    for (char *line = r.body; line && *line;) {
        char *nl = strchr(line, '\n');
        if (!strncmp(line, "haulgate_http_requests_total", 28) &&
            (line[28] == '{' || line[28] == ' ')) {
            char *sp = nl ? nl : line + strlen(line);
            while (sp > line && sp[-1] != ' ')
                sp--;
            sum += strtod(sp, NULL);
            series++;
        }
        line = nl ? nl + 1 : NULL;
    }
    hg_it_resp_free(&r);
    if (!series)
        fail_msg("no haulgate_http_requests_total on /metrics");
    return sum;
}

/* 500 tokens with made-up kids: all 401, quickly, and the daemon serves
 * on (no external issuer, so nothing to refetch). */
static void unknown_kid_flood(void **state)
{
    (void)state;
    json_t *claims = claims_template(IT);
    struct hg_sign_key *k = NULL;
    struct hg_err err;
    hg_err_clear(&err);
    assert_int_equal(hg_sign_key_generate(HG_SIGN_ES256, &k, &err), HG_OK);
    double before = requests_total(IT);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    uint64_t t0 = hg_mono_us(), worst = 0;
    int n401 = 0;
    for (int i = 0; i < 500; i++) {
        uint8_t rnd[32];
        char kid[HG_JWK_THUMB_LEN + 1];
        hg_random(rnd, sizeof rnd);
        hg_b64url_encode(rnd, sizeof rnd, kid, sizeof kid);
        char *tok = sign_jws(IT, k, kid, "at+jwt", claims);
        char *az = with_scheme("Bearer", tok);
        struct hg_it_resp r;
        uint64_t a = hg_mono_us();
        call(IT,
             &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = az,
                          .handle = h},
             NULL, &r);
        uint64_t took = hg_mono_us() - a;
        if (took > worst)
            worst = took;
        if (r.status == 401 && strstr(r.body, "unknown signing key"))
            n401++;
        else
            fail_msg("request %d: %ld %.300s", i, r.status, r.body);
        hg_it_resp_free(&r);
        free(az);
        free(tok);
    }
    uint64_t total = hg_mono_us() - t0;
    curl_easy_cleanup(h);
    assert_int_equal(n401, 500);
    fprintf(stderr, "# unknown-kid flood: 500 requests in %.2f s, slowest %.1f ms\n",
            (double)total / 1e6, (double)worst / 1e3);
    /* generous bounds (sanitizer builds, a loaded machine): a refetch
     * storm or a lock-up would blow through them */
    assert_true(total < 60u * 1000000u);
    assert_true(worst < 5u * 1000000u);
    double after = requests_total(IT);
    if (after - before < 500)
        fail_msg("haulgate_http_requests_total moved by %.0f, wanted >= 500", after - before);
    struct hg_it_resp r;
    assert_int_equal(hg_it_request(IT, NULL, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
    assert_true(hg_it_alive(IT));
    hg_sign_key_free(k);
    json_decref(claims);
}

/* A token without the route's scope: 403 insufficient-scope. */
static void insufficient_scope(void **state)
{
    (void)state;
    json_int_t from = audit_size(IT);
    char *tok = get_token(IT, "tms", "tender:read", 0);
    json_t *p = jwt_part(tok, 1);
    assert_string_equal(json_string_value(json_object_get(p, "scope")), "tender:read");
    json_decref(p);
    char *az = with_scheme("Bearer", tok);
    char *b = tender_json("AUTH-SCOPE-1", 0);
    struct hg_it_resp r;
    char c1[40];
    call(IT,
         &(struct rq){.client = "tms", .method = "POST", .path = "/v1/tenders", .authz = az,
                      .h1 = "Content-Type: application/json",
                      .h2 = "Idempotency-Key: auth-scope-1", .body = b},
         c1, &r);
    json_t *j = problem(&r, 403, "insufficient-scope");
    assert_string_equal(json_string_value(json_object_get(j, "required_scope")), "tender:write");
    challenge(&r, "Bearer", "insufficient_scope", "scope=\"tender:write\"");
    json_decref(j);
    hg_it_resp_free(&r);
    /* reading is within the scope */
    call(IT, &(struct rq){.client = "tms", .method = "GET", .path = "/v1/tenders", .authz = az},
         NULL, &r);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
    const char *ids[] = {c1};
    json_t *recs = expect_audit(IT, from, "authz.decision", ids, 1);
    json_t *rec = json_array_get(recs, 0);
    assert_string_equal(json_string_value(json_object_get(rec, "decision")), "deny");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rec, "details"), "required_scope")),
        "tender:write");
    json_decref(recs);
    free(b);
    free(az);
    free(tok);
}

/* The test policy denies hazmat tenders: 403 policy-denied naming the rule. */
static void policy_denies(void **state)
{
    (void)state;
    json_int_t from = audit_size(IT);
    const char *dp = hg_it_token(IT, "tms");
    char *u = url_of(IT, "/v1/tenders");
    char *proof = mkproof(hg_it_dpop_key(IT, "tms"), "POST", u, dp, 0, NULL, NULL, 0);
    char *dz = with_scheme("DPoP", dp);
    char *b = tender_json("AUTH-HAZMAT-1", 1);
    struct hg_it_resp r;
    char c1[40];
    call(IT,
         &(struct rq){.client = "tms", .method = "POST", .path = "/v1/tenders", .authz = dz,
                      .dpop = proof, .h1 = "Content-Type: application/json",
                      .h2 = "Idempotency-Key: auth-hazmat-1", .body = b},
         c1, &r);
    json_t *j = problem(&r, 403, "policy-denied");
    assert_string_equal(json_string_value(json_object_get(j, "policy_id")),
                        "deny-hazmat-tenders");
    assert_string_equal(json_string_value(json_object_get(j, "verb")), "tender:create");
    json_decref(j);
    hg_it_resp_free(&r);
    const char *ids[] = {c1};
    json_t *recs = expect_audit(IT, from, "authz.decision", ids, 1);
    json_t *rec = json_array_get(recs, 0);
    assert_string_equal(json_string_value(json_object_get(rec, "decision")), "deny");
    assert_string_equal(json_string_value(json_object_get(rec, "policy_id")),
                        "deny-hazmat-tenders");
    json_decref(recs);
    /* the same tender without hazmat is allowed */
    char id[40], etag[40];
    new_tender(IT, id, etag);
    free(b);
    free(dz);
    free(proof);
    free(u);
}

/* One token request with a raw body and content type. */
static long token_call(struct hg_it *it, const char *client, const char *ctype, const char *body,
                       const char *dpop, struct hg_it_resp *r)
{
    char ct[128], dh[4200];
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    const char *h[3] = {ct, NULL, NULL};
    if (dpop) {
        snprintf(dh, sizeof dh, "DPoP: %s", dpop);
        h[1] = dh;
    }
    if (hg_it_request(it, NULL, client, "POST", "/oauth2/token", h, body, strlen(body), r) != 0)
        fail_msg("token endpoint: %s", r->error);
    return r->status;
}

/* An RFC 6749 §5.2 error: status, error code, no-store, description. */
static void oauth_error(const struct hg_it_resp *r, long status, const char *error,
                        const char *has)
{
    if (r->status != status)
        fail_msg("wanted %ld %s, got %ld %.300s", status, error, r->status, r->body);
    json_t *j = body_json(r);
    const char *e = json_string_value(json_object_get(j, "error"));
    const char *d = json_string_value(json_object_get(j, "error_description"));
    if (!e || strcmp(e, error))
        fail_msg("wanted error %s, got %.300s", error, r->body);
    assert_non_null(d);
    if (has && !strstr(d, has))
        fail_msg("error_description '%s' does not mention '%s'", d, has);
    char cc[64];
    header(r, "Cache-Control", cc, sizeof cc);
    assert_string_equal(cc, "no-store");
    json_decref(j);
}

static void token_endpoint_errors(void **state)
{
    (void)state;
    json_int_t from = audit_size(IT);
    const char *form = "application/x-www-form-urlencoded";
    struct hg_it_resp r;
    token_call(IT, "tms", form, "grant_type=password&username=a&password=b", NULL, &r);
    oauth_error(&r, 400, "unsupported_grant_type", "client_credentials");
    hg_it_resp_free(&r);
    token_call(IT, "tms", form, "scope=tender%3Aread", NULL, &r);
    oauth_error(&r, 400, "invalid_request", "grant_type");
    hg_it_resp_free(&r);
    token_call(IT, "tms", form, "grant_type=client_credentials&grant_type=client_credentials",
               NULL, &r);
    oauth_error(&r, 400, "invalid_request", "repeated");
    hg_it_resp_free(&r);
    token_call(IT, "tms", form, "grant_type=client_credentials&scope=fly%3Aplane", NULL, &r);
    oauth_error(&r, 400, "invalid_scope", "fly:plane");
    hg_it_resp_free(&r);
    /* allowed none of what it asks: tms may not rotate keys */
    token_call(IT, "tms", form, "grant_type=client_credentials&scope=admin", NULL, &r);
    oauth_error(&r, 400, "invalid_scope", "none of the requested");
    hg_it_resp_free(&r);
    token_call(IT, "tms", form, "grant_type=client_credentials&client_secret=hunter2", NULL, &r);
    oauth_error(&r, 400, "invalid_request", "client_secret");
    hg_it_resp_free(&r);
    token_call(IT, "tms", form, "grant_type=client_credentials&client_id=operator", NULL, &r);
    oauth_error(&r, 401, "invalid_client", "client_id");
    hg_it_resp_free(&r);
    token_call(IT, "tms", "application/json", "{\"grant_type\":\"client_credentials\"}", NULL,
               &r);
    oauth_error(&r, 400, "invalid_request", "x-www-form-urlencoded");
    hg_it_resp_free(&r);
    /* a bad DPoP proof at the token endpoint: 400 invalid_dpop_proof, audited */
    char *u = url_of(IT, "/oauth2/token");
    char *wrong_htm = mkproof(hg_it_dpop_key(IT, "tms"), "GET", u, NULL, 0, NULL, NULL, 0);
    token_call(IT, "tms", form, "grant_type=client_credentials", wrong_htm, &r);
    oauth_error(&r, 400, "invalid_dpop_proof", NULL);
    hg_it_resp_free(&r);
    free(wrong_htm);
    free(u);
    /* a certificate that maps to no client gets no token */
    token_call(IT, "stranger", form, "grant_type=client_credentials", NULL, &r);
    json_t *j = problem(&r, 403, "unknown-client");
    json_decref(j);
    hg_it_resp_free(&r);

    /* and a good one: RFC 9068 header and claims in the documented order */
    assert_int_equal(token_call(IT, "tms", form,
                                "grant_type=client_credentials&scope=tender%3Aread+tender%3Awrite"
                                "&client_id=tms",
                                NULL, &r),
                     200);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "token_type")), "Bearer");
    assert_int_equal(json_integer_value(json_object_get(j, "expires_in")), 300);
    assert_string_equal(json_string_value(json_object_get(j, "scope")),
                        "tender:write tender:read");
    char cc[64];
    header(&r, "Cache-Control", cc, sizeof cc);
    assert_string_equal(cc, "no-store");
    const char *tok = json_string_value(json_object_get(j, "access_token"));
    json_t *h = jwt_part(tok, 0), *p = jwt_part(tok, 1);
    assert_string_equal(json_string_value(json_object_get(h, "typ")), "at+jwt");
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "ES256");
    assert_int_equal(strlen(json_string_value(json_object_get(h, "kid"))), HG_JWK_THUMB_LEN);
    static const char *const order[] = {"iss", "sub", "aud", "exp", "iat", "nbf", "jti",
                                        "client_id", "scope", "tenant", "roles", "cnf"};
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(p, key, v) {
        if (i >= 12 || strcmp(key, order[i]))
            fail_msg("claim %zu is %s, wanted %s", i, key, i < 12 ? order[i] : "(end)");
        i++;
    }
    assert_int_equal(i, 12);
    char iss[300];
    hg_it_url(IT, "", iss, sizeof iss);
    assert_string_equal(json_string_value(json_object_get(p, "iss")), iss);
    assert_string_equal(json_string_value(json_object_get(p, "sub")), "tms");
    assert_string_equal(json_string_value(json_object_get(p, "tenant")), "acme");
    assert_int_equal(json_integer_value(json_object_get(p, "exp")) -
                         json_integer_value(json_object_get(p, "iat")),
                     300);
    assert_int_equal(
        strlen(json_string_value(json_object_get(json_object_get(p, "cnf"), "x5t#S256"))),
        HG_JWK_THUMB_LEN);
    const char *jti = json_string_value(json_object_get(p, "jti"));
    char id[40];
    header(&r, "X-Correlation-ID", id, sizeof id);
    const char *ids[] = {id};
    json_t *recs = expect_audit(IT, from, "token.issued", ids, 1);
    json_t *det = json_object_get(json_array_get(recs, 0), "details");
    assert_string_equal(json_string_value(json_object_get(det, "client_id")), "tms");
    assert_string_equal(json_string_value(json_object_get(det, "jti")), jti);
    /* the token itself is never in the audit log */
    char *dump = json_dumps(recs, 0);
    assert_null(strstr(dump, tok));
    free(dump);
    json_decref(recs);
    json_decref(h);
    json_decref(p);
    json_decref(j);
    hg_it_resp_free(&r);
}

/* JWKS and RFC 8414 metadata: well-formed, consistent, public keys only. */
static void discovery_documents(void **state)
{
    (void)state;
    struct hg_it_resp r;
    char iss[300];
    hg_it_url(IT, "", iss, sizeof iss);
    assert_int_equal(hg_it_request(IT, NULL, "tms", "GET", "/.well-known/oauth-authorization-server",
                                   NULL, NULL, 0, &r),
                     0);
    assert_int_equal(r.status, 200);
    json_t *m = body_json(&r);
    hg_it_resp_free(&r);
    assert_string_equal(json_string_value(json_object_get(m, "issuer")), iss);
    const char *te = json_string_value(json_object_get(m, "token_endpoint"));
    const char *ju = json_string_value(json_object_get(m, "jwks_uri"));
    assert_non_null(te);
    assert_non_null(ju);
    assert_memory_equal(te, iss, strlen(iss));
    assert_memory_equal(ju, iss, strlen(iss));
    assert_string_equal(te + strlen(iss), "/oauth2/token");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(m, "grant_types_supported"), 0)),
                        "client_credentials");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(m, "token_endpoint_auth_methods_supported"), 0)),
                        "tls_client_auth");
    assert_true(json_is_true(json_object_get(m, "tls_client_certificate_bound_access_tokens")));
    json_t *algs = json_object_get(m, "dpop_signing_alg_values_supported");
    assert_true(json_array_size(algs) >= 1);
    size_t i;
    json_t *v;
    json_array_foreach(algs, i, v) {
        const char *a = json_string_value(v);
        assert_true(!strcmp(a, "ES256") || !strcmp(a, "EdDSA"));
    }
    int has_admin = 0;
    json_array_foreach(json_object_get(m, "scopes_supported"), i, v) has_admin |=
        !strcmp(json_string_value(v), "admin");
    assert_true(has_admin);

    /* the jwks_uri's path serves the set */
    assert_int_equal(hg_it_request(IT, NULL, "tms", "GET", ju + strlen(iss), NULL, NULL, 0, &r),
                     0);
    assert_int_equal(r.status, 200);
    char ct[64];
    header(&r, "Content-Type", ct, sizeof ct);
    assert_string_equal(ct, "application/jwk-set+json");
    struct hg_jwks *set = NULL;
    struct hg_err err;
    hg_err_clear(&err);
    if (hg_jwks_parse(r.body, r.body_len, &set, &err) != HG_OK)
        fail_msg("JWKS: %s", hg_err_msg(&err));
    json_t *doc = body_json(&r);
    hg_it_resp_free(&r);
    json_t *keys = json_object_get(doc, "keys");
    assert_int_equal(json_array_size(keys), hg_jwks_count(set));
    assert_true(json_array_size(keys) >= 1);
    json_array_foreach(keys, i, v) {
        assert_null(json_object_get(v, "d"));
        assert_string_equal(json_string_value(json_object_get(v, "use")), "sig");
        assert_string_equal(json_string_value(json_object_get(v, "alg")), "ES256");
        struct hg_sign_key *k = NULL;
        assert_int_equal(hg_jwk_import(v, &k, &err), HG_OK);
        char tp[HG_JWK_THUMB_LEN + 1];
        assert_int_equal(hg_jwk_thumbprint(k, tp), HG_OK);
        assert_string_equal(json_string_value(json_object_get(v, "kid")), tp);
        hg_sign_key_free(k);
    }
    /* our tokens name a kid of the set */
    char *tok = get_token(IT, "operator", NULL, 0);
    json_t *h = jwt_part(tok, 0);
    assert_non_null(hg_jwks_find(set, json_string_value(json_object_get(h, "kid"))));
    json_decref(h);
    free(tok);
    hg_jwks_free(set);
    json_decref(doc);
    json_decref(m);
}

/* An independent client: node + npm jose (tests/node/dpop_client.mjs). */
static void node_jose_client(void **state)
{
    (void)state;
    if (!on_path("node")) {
        fprintf(stderr, "# SKIP node_jose_client: `node` is not installed (scripts/deps.sh "
                        "installs nodejs and npm jose)\n");
        skip();
    }
    const char *root = getenv("HG_ROOT");
    char base[300], out[400];
    hg_it_url(IT, "", base, sizeof base);
    snprintf(out, sizeof out, "%s/node-client.log", IT->dir);
    char *const argv[] = {"node", "tests/node/dpop_client.mjs", "--base", base, "--pki", IT->pki,
                          NULL};
    int rc = run_in(root ? root : ".", argv, out);
    char *log = slurp(out);
    if (rc != 0)
        fail_msg("node tests/node/dpop_client.mjs exited %d:\n%s", rc, log);
    fprintf(stderr, "%s", log);
    free(log);
}

/* SIGHUP with a broken policy keeps the old one and logs file:line; a good
 * one then applies. */
static int log_has(struct hg_it *it, const char *a, const char *b, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        char *log = hg_it_log(it);
        int ok = strstr(log, a) && (!b || strstr(log, b));
        free(log);
        if (ok)
            return 1;
        sleep_ms(50);
    }
    return 0;
}

static void policy_reload(void **state)
{
    (void)state;
    write_file(IT->policy, "version: 1\n"
                           "rules:\n"
                           "  - id: broken\n"
                           "    effect: perhaps\n"
                           "    verbs: [identity:read]\n");
    assert_int_equal(hg_it_signal(IT, SIGHUP), 0);
    char where[500];
    snprintf(where, sizeof where, "%s:4", IT->policy);
    if (!log_has(IT, "policy reload failed", where, 10000)) {
        char *log = hg_it_log(IT);
        fail_msg("no 'policy reload failed' naming %s in the log:\n%s", where, log);
    }
    /* the old policy decides: whoami allowed, hazmat still denied */
    struct hg_it_resp r;
    assert_int_equal(hg_it_request(IT, NULL, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
    char *b = tender_json("AUTH-HAZMAT-2", 1);
    const char *h[] = {"Content-Type: application/json", "Idempotency-Key: auth-hazmat-2", NULL};
    assert_int_equal(hg_it_request(IT, NULL, "tms", "POST", "/v1/tenders", h, b, strlen(b), &r),
                     0);
    json_t *j = problem(&r, 403, "policy-denied");
    assert_string_equal(json_string_value(json_object_get(j, "policy_id")),
                        "deny-hazmat-tenders");
    json_decref(j);
    hg_it_resp_free(&r);

    /* a good policy that also denies tms its whoami */
    write_file(IT->policy, POLICY_RULES "  - id: deny-tms-whoami\n"
                                        "    effect: deny\n"
                                        "    verbs: [identity:read]\n"
                                        "    roles: [tms]\n"
                                        "    tenant: any\n");
    assert_int_equal(hg_it_signal(IT, SIGHUP), 0);
    int denied = 0;
    for (int i = 0; i < 100 && !denied; i++) {
        assert_int_equal(hg_it_request(IT, NULL, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &r),
                         0);
        if (r.status == 403) {
            j = problem(&r, 403, "policy-denied");
            assert_string_equal(json_string_value(json_object_get(j, "policy_id")),
                                "deny-tms-whoami");
            json_decref(j);
            denied = 1;
        } else {
            assert_int_equal(r.status, 200);
            sleep_ms(50);
        }
        hg_it_resp_free(&r);
    }
    assert_true(denied);
    assert_true(log_has(IT, "policy reloaded", NULL, 5000));
    /* the operator is not affected */
    assert_int_equal(hg_it_request(IT, NULL, "operator", "GET", "/v1/whoami", NULL, NULL, 0, &r),
                     0);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
    free(b);

    /* back to the test policy */
    write_file(IT->policy, POLICY_RULES);
    assert_int_equal(hg_it_signal(IT, SIGHUP), 0);
    int ok = 0;
    for (int i = 0; i < 100 && !ok; i++) {
        assert_int_equal(hg_it_request(IT, NULL, "tms", "GET", "/v1/whoami", NULL, NULL, 0, &r),
                         0);
        ok = r.status == 200;
        hg_it_resp_free(&r);
        if (!ok)
            sleep_ms(50);
    }
    assert_true(ok);
}

/* ============================================================ rotation */

static int start_keys(struct hg_it *it)
{
    if (hg_it_setup(it) != 0)
        return -1;
    snprintf(it->extra_yaml, sizeof it->extra_yaml,
             "  - name: admin\n"
             "    match: {uri: \"spiffe://haulgate.dev/admin\"}\n"
             "    roles: [admin]\n"
             "auth:\n"
             "  key_publish_delay: 1s\n"
             "  key_check_interval: 200ms\n" AUDIT_YAML);
    if (hg_it_pki(it, "issue", "admin", "--uri spiffe://haulgate.dev/admin") != 0)
        return -1;
    return hg_it_start_verbose(it);
}

static int keys_setup(void **state)
{
    int rc = hg_it_fixture(state, start_keys);
    IT = rc == 0 ? *state : NULL;
    return rc;
}

/* kids of the served JWKS, in a JSON array. */
static json_t *jwks_kids(struct hg_it *it)
{
    struct hg_it_resp r;
    assert_int_equal(
        hg_it_request(it, NULL, "tms", "GET", "/.well-known/jwks.json", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    hg_it_resp_free(&r);
    json_t *kids = json_array();
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(j, "keys"), i, k)
        json_array_append(kids, json_object_get(k, "kid"));
    json_decref(j);
    return kids;
}

static int has_kid(const json_t *kids, const char *kid)
{
    size_t i;
    json_t *k;
    json_array_foreach(kids, i, k) if (!strcmp(json_string_value(k), kid)) return 1;
    return 0;
}

/* The kid in a token's header (static buffer). */
static const char *kid_of(const char *tok)
{
    static char kid[HG_JWK_KID_MAX + 1];
    json_t *h = jwt_part(tok, 0);
    assert_non_null(h);
    snprintf(kid, sizeof kid, "%s", json_string_value(json_object_get(h, "kid")));
    json_decref(h);
    return kid;
}

static long whoami_bearer(struct hg_it *it, const char *stem, const char *tok)
{
    char *az = with_scheme("Bearer", tok);
    struct hg_it_resp r;
    long st = call(it, &(struct rq){.client = stem, .method = "GET", .path = "/v1/whoami",
                                    .authz = az},
                   NULL, &r);
    if (st != 200)
        fprintf(stderr, "# whoami: %ld %.300s\n", st, r.body);
    hg_it_resp_free(&r);
    free(az);
    return st;
}

static void rotate_over_api(void **state)
{
    (void)state;
    json_int_t from = audit_size(IT);
    json_t *kids = jwks_kids(IT);
    assert_int_equal(json_array_size(kids), 1);
    char k1[HG_JWK_KID_MAX + 1];
    snprintf(k1, sizeof k1, "%s", json_string_value(json_array_get(kids, 0)));
    json_decref(kids);
    /* a token from before the rotation, first presented after it */
    char *before = get_token(IT, "tms", NULL, 0);
    assert_string_equal(kid_of(before), k1);

    /* not without the admin scope */
    struct hg_it_resp r;
    const char *idem[] = {"Idempotency-Key: rotate-1", NULL};
    assert_int_equal(
        hg_it_request(IT, NULL, "operator", "POST", "/v1/keys/rotate", idem, NULL, 0, &r), 0);
    json_t *j = problem(&r, 403, "insufficient-scope");
    json_decref(j);
    hg_it_resp_free(&r);
    /* and not with a certificate-bound admin token (critical route) */
    char *adm = get_token(IT, "admin", NULL, 0);
    char *az = with_scheme("Bearer", adm);
    call(IT,
         &(struct rq){.client = "admin", .method = "POST", .path = "/v1/keys/rotate",
                      .authz = az, .h1 = "Idempotency-Key: rotate-2"},
         NULL, &r);
    refused(&r, "unauthorized", "DPoP", "invalid_token", "DPoP-bound");
    hg_it_resp_free(&r);
    free(az);
    free(adm);

    /* start just after a second boundary, so the token requested right
     * after the rotation is issued before the new key activates (1 s) */
    while (hg_wall_ms() % 1000 > 100)
        sleep_ms(10);
    assert_int_equal(
        hg_it_request(IT, NULL, "admin", "POST", "/v1/keys/rotate",
                      (const char *const[]){"Idempotency-Key: rotate-3", NULL}, NULL, 0, &r),
        0);
    if (r.status != 200)
        fail_msg("rotate: %ld %.400s", r.status, r.body);
    char *at_once = get_token(IT, "tms", NULL, 0);
    j = body_json(&r);
    char k2[HG_JWK_KID_MAX + 1], rid[40];
    snprintf(k2, sizeof k2, "%s", json_string_value(json_object_get(j, "kid")));
    int64_t act_ms = 0;
    const char *act = json_string_value(json_object_get(j, "activates"));
    assert_non_null(act);
    assert_int_equal(hg_rfc3339_parse(act, strlen(act), &act_ms), HG_OK);
    header(&r, "X-Correlation-ID", rid, sizeof rid);
    json_decref(j);
    hg_it_resp_free(&r);
    assert_string_not_equal(k1, k2);

    /* published at once, signing later */
    kids = jwks_kids(IT);
    assert_int_equal(json_array_size(kids), 2);
    assert_true(has_kid(kids, k1) && has_kid(kids, k2));
    json_decref(kids);
    json_t *p = jwt_part(at_once, 1);
    int64_t iat = json_integer_value(json_object_get(p, "iat"));
    json_decref(p);
    if (iat * 1000 >= act_ms)
        fail_msg("the token was issued at %lld, not before the new key activated (%s): the "
                 "machine is too slow for a 1 s publish delay",
                 (long long)iat, act);
    assert_string_equal(kid_of(at_once), k1);

    while (hg_wall_ms() < act_ms + 1100)
        sleep_ms(50);
    char *after = get_token(IT, "tms", NULL, 0);
    assert_string_equal(kid_of(after), k2);
    /* every one of them verifies */
    assert_int_equal(whoami_bearer(IT, "tms", before), 200);
    assert_int_equal(whoami_bearer(IT, "tms", at_once), 200);
    assert_int_equal(whoami_bearer(IT, "tms", after), 200);
    const char *ids[] = {rid};
    json_t *recs = expect_audit(IT, from, "key.rotated", ids, 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(recs, 0), "details"), "kid")),
                        k2);
    json_decref(recs);
    free(before);
    free(at_once);
    free(after);
}

static int haulctl_keys(struct hg_it *it, const char *verb)
{
    char out[400];
    snprintf(out, sizeof out, "%s/haulctl-keys.log", it->dir);
    char *const argv[] = {(char *)hg_it_bin("haulctl"), "keys", (char *)verb, "--config", it->cfg,
                          NULL};
    int rc = run_in(NULL, argv, out);
    if (rc != 0) {
        char *log = slurp(out);
        fprintf(stderr, "# haulctl keys %s: exit %d\n%s\n", verb, rc, log);
        free(log);
    }
    return rc;
}

/* The kids in the manifest. */
static json_t *manifest_kids(struct hg_it *it)
{
    char path[600];
    snprintf(path, sizeof path, "%s/keys/keys.json", it->data);
    json_t *m = json_load_file(path, 0, NULL);
    assert_non_null(m);
    json_t *kids = json_array();
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(m, "keys"), i, k)
        json_array_append(kids, json_object_get(k, "kid"));
    json_decref(m);
    return kids;
}

/* `haulctl keys rotate --config`: the kid it added (in no earlier manifest). */
static void haulctl_rotate(struct hg_it *it, char kid[HG_JWK_KID_MAX + 1])
{
    json_t *before = manifest_kids(it);
    assert_int_equal(haulctl_keys(it, "rotate"), 0);
    json_t *after = manifest_kids(it);
    assert_int_equal(json_array_size(after), json_array_size(before) + 1);
    size_t i, added = 0;
    json_t *k;
    json_array_foreach(after, i, k) if (!has_kid(before, json_string_value(k))) {
        snprintf(kid, HG_JWK_KID_MAX + 1, "%s", json_string_value(k));
        added++;
    }
    assert_int_equal(added, 1);
    json_decref(before);
    json_decref(after);
}

static void rotate_with_haulctl(void **state)
{
    (void)state;
    json_t *kids = jwks_kids(IT);
    size_t n0 = json_array_size(kids);
    json_decref(kids);
    /* the running daemon notices within auth.key_check_interval */
    char k3[HG_JWK_KID_MAX + 1];
    haulctl_rotate(IT, k3);
    int seen = 0;
    for (int i = 0; i < 100 && !seen; i++) {
        kids = jwks_kids(IT);
        seen = has_kid(kids, k3);
        json_decref(kids);
        if (!seen)
            sleep_ms(50);
    }
    assert_true(seen);
    kids = jwks_kids(IT);
    assert_int_equal(json_array_size(kids), n0 + 1);
    json_decref(kids);

    /* and a stopped daemon's configuration, a second later (so the two
     * added keys do not activate in the same second) */
    sleep_ms(1100);
    assert_int_equal(hg_it_stop(IT), 0);
    char k4[HG_JWK_KID_MAX + 1];
    haulctl_rotate(IT, k4);
    assert_int_equal(haulctl_keys(IT, "list"), 0);
    assert_string_not_equal(k3, k4);
    assert_int_equal(hg_it_start_verbose(IT), 0);
    bearers_free(); /* a new port, a new issuer */
    kids = jwks_kids(IT);
    assert_int_equal(json_array_size(kids), n0 + 2);
    assert_true(has_kid(kids, k4));
    json_decref(kids);
    sleep_ms(1600); /* the publish delay of k4, from its rotation */
    char *tok = get_token(IT, "tms", NULL, 0);
    assert_string_equal(kid_of(tok), k4);
    assert_int_equal(whoami_bearer(IT, "tms", tok), 200);
    free(tok);
}

/* ============================================================== nonces */

static int start_nonce(struct hg_it *it)
{
    if (hg_it_setup(it) != 0)
        return -1;
    snprintf(it->extra_yaml, sizeof it->extra_yaml,
             "auth:\n"
             "  dpop:\n"
             "    require_nonce: true\n" AUDIT_YAML);
    return hg_it_start_verbose(it);
}

static int nonce_setup(void **state)
{
    int rc = hg_it_fixture(state, start_nonce);
    IT = rc == 0 ? *state : NULL;
    return rc;
}

static void server_nonces(void **state)
{
    (void)state;
    json_int_t from = audit_size(IT);
    const struct hg_sign_key *key = hg_it_dpop_key(IT, "tms");
    const char *form = "application/x-www-form-urlencoded";
    char *tu = url_of(IT, "/oauth2/token");
    struct hg_it_resp r;
    char nonce[128];

    /* token endpoint: 400 use_dpop_nonce with a DPoP-Nonce, then 200 */
    char *p = mkproof(key, "POST", tu, NULL, 0, NULL, NULL, 0);
    token_call(IT, "tms", form, "grant_type=client_credentials", p, &r);
    oauth_error(&r, 400, "use_dpop_nonce", NULL);
    header(&r, "DPoP-Nonce", nonce, sizeof nonce);
    assert_int_equal(strlen(nonce), 32);
    hg_it_resp_free(&r);
    free(p);
    p = mkproof(key, "POST", tu, NULL, 0, NULL, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0);
    token_call(IT, "tms", form, "grant_type=client_credentials", p, &r);
    oauth_error(&r, 400, "use_dpop_nonce", NULL);
    hg_it_resp_free(&r);
    free(p);
    p = mkproof(key, "POST", tu, NULL, 0, NULL, nonce, 0);
    assert_int_equal(token_call(IT, "tms", form, "grant_type=client_credentials", p, &r), 200);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "token_type")), "DPoP");
    char *tok = strdup(json_string_value(json_object_get(j, "access_token")));
    json_decref(j);
    hg_it_resp_free(&r);
    free(p);

    /* a resource: 401 use_dpop_nonce with a DPoP-Nonce, then 200 */
    char *u = url_of(IT, "/v1/whoami");
    char *dz = with_scheme("DPoP", tok);
    char c1[40];
    p = mkproof(key, "GET", u, tok, 0, NULL, NULL, 0);
    call(IT,
         &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = dz,
                      .dpop = p},
         c1, &r);
    refused(&r, "use-dpop-nonce", "DPoP", "use_dpop_nonce", NULL);
    header(&r, "DPoP-Nonce", nonce, sizeof nonce);
    assert_int_equal(strlen(nonce), 32);
    hg_it_resp_free(&r);
    free(p);
    p = mkproof(key, "GET", u, tok, 0, NULL, nonce, 0);
    call(IT,
         &(struct rq){.client = "tms", .method = "GET", .path = "/v1/whoami", .authz = dz,
                      .dpop = p},
         NULL, &r);
    if (r.status != 200)
        fail_msg("with the nonce: %ld %.300s", r.status, r.body);
    hg_it_resp_free(&r);
    free(p);
    const char *ids[] = {c1};
    audited(IT, from, "authn.failure", "deny", ids, 1);
    free(dz);
    free(u);
    free(tok);
    free(tu);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest main_tests[] = {
        cmocka_unit_test(no_token),
        cmocka_unit_test(bad_schemes),
        cmocka_unit_test(alg_none_and_hmac_confusion),
        cmocka_unit_test(foreign_keys),
        cmocka_unit_test(minted_claims),
        cmocka_unit_test(stolen_tokens),
        cmocka_unit_test(binding_and_critical_routes),
        cmocka_unit_test(dpop_proof_checks),
        cmocka_unit_test(malformed_tokens),
        cmocka_unit_test(unknown_kid_flood),
        cmocka_unit_test(insufficient_scope),
        cmocka_unit_test(policy_denies),
        cmocka_unit_test(token_endpoint_errors),
        cmocka_unit_test(discovery_documents),
        cmocka_unit_test(node_jose_client),
        cmocka_unit_test(policy_reload),
    };
    const struct CMUnitTest key_tests[] = {
        cmocka_unit_test(rotate_over_api),
        cmocka_unit_test(rotate_with_haulctl),
    };
    const struct CMUnitTest nonce_tests[] = {
        cmocka_unit_test(server_nonces),
    };
    int rc = cmocka_run_group_tests_name("auth", main_tests, main_setup, group_teardown);
    rc += cmocka_run_group_tests_name("auth_keys", key_tests, keys_setup, group_teardown);
    rc += cmocka_run_group_tests_name("auth_nonce", nonce_tests, nonce_setup, group_teardown);
    curl_global_cleanup();
    return rc;
}
