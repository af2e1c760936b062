/* SPDX-License-Identifier: Apache-2.0
 * test_keyring.c — auth/keyring: first key, permissions, the rotation
 * timeline (publish, sign, retire, verify window, prune), a second process's
 * rotation seen by reload, manifest and key-file errors, the key limit,
 * concurrent signing during reloads, and `haulctl keys`. Time is injected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/ctl.h"
#include "auth/keyring.h"
#include "common/util.h"

#define T0 INT64_C(1800000000)
#define DELAY 300
#define LIFE 600
#define LEEWAY 60

static char root[64];
static char dir[128];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/hg-keyring-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    snprintf(dir, sizeof dir, "%s/keys", root);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd);
}

static struct hg_keyring_opts opts(enum hg_jose_alg alg)
{
    struct hg_keyring_opts o = {
        .dir = dir, .alg = alg, .publish_delay_s = DELAY, .token_lifetime_s = LIFE,
        .leeway_s = LEEWAY,
    };
    return o;
}

static struct hg_keyring *open_at(int64_t now)
{
    struct hg_keyring_opts o = opts(HG_JOSE_ES256);
    struct hg_keyring *kr = NULL;
    struct hg_err err;
    hg_status st = hg_keyring_open(&o, now, &kr, &err);
    if (st != HG_OK)
        fail_msg("open: %s", hg_err_msg(&err));
    return kr;
}

static mode_t mode_of(const char *p)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return st.st_mode & 07777;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void key_file(const char *kid, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s.pem", dir, kid);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Sign a small payload at now; return the kid of the key that signed, and
 * check that the keyring verifies the result (at now). */
static void sign_kid(struct hg_keyring *kr, int64_t now, char kid[HG_JWK_KID_MAX + 1])
{
    json_t *p = json_pack("{s:s}", "sub", "x");
    char *tok = NULL;
    size_t n = 0;
    struct hg_err err;
    struct hg_jws jws;
    memset(&jws, 0, sizeof jws);
    assert_int_equal(hg_keyring_sign(kr, now, "at+jwt", p, &tok, &n, &err), HG_OK);
    assert_int_equal(strlen(tok), n);
    assert_int_equal(hg_jws_parse(tok, n, &jws, &err), HG_OK);
    assert_non_null(jws.kid);
    assert_string_equal(jws.typ, "at+jwt");
    snprintf(kid, HG_JWK_KID_MAX + 1, "%s", jws.kid);
    assert_int_equal(hg_keyring_verify(kr, &jws, now), HG_OK);
    hg_jws_free(&jws);
    free(tok);
    json_decref(p);
}

/* A token signed at sign_at, verified at verify_at. */
static hg_status verify_later(struct hg_keyring *kr, int64_t sign_at, int64_t verify_at)
{
    json_t *p = json_pack("{s:s}", "sub", "x");
    char *tok = NULL;
    size_t n = 0;
    struct hg_jws jws;
    memset(&jws, 0, sizeof jws);
    assert_int_equal(hg_keyring_sign(kr, sign_at, "at+jwt", p, &tok, &n, NULL), HG_OK);
    assert_int_equal(hg_jws_parse(tok, n, &jws, NULL), HG_OK);
    hg_status st = hg_keyring_verify(kr, &jws, verify_at);
    hg_jws_free(&jws);
    free(tok);
    json_decref(p);
    return st;
}

static size_t jwks_count(struct hg_keyring *kr, int64_t now, const char *must_have)
{
    char *doc = NULL;
    size_t len = 0;
    struct hg_jwks *set = NULL;
    assert_int_equal(hg_keyring_jwks(kr, now, &doc, &len), HG_OK);
    assert_int_equal(strlen(doc), len);
    assert_int_equal(hg_jwks_parse(doc, len, &set, NULL), HG_OK);
    /* public keys only, with alg and use */
    assert_null(strstr(doc, "\"d\""));
    assert_non_null(strstr(doc, "\"use\":\"sig\""));
    if (must_have)
        assert_non_null(hg_jwks_find(set, must_have));
    size_t n = hg_jwks_count(set);
    hg_jwks_free(set);
    free(doc);
    return n;
}

static void first_open_creates_active_key(void **state)
{
    (void)state;
    struct hg_keyring *kr = open_at(T0);
    char kid[HG_JWK_KID_MAX + 1], path[512];
    assert_int_equal(mode_of(dir), 0700);
    sign_kid(kr, T0, kid);
    assert_int_equal(strlen(kid), HG_JWK_THUMB_LEN);
    key_file(kid, path, sizeof path);
    assert_int_equal(mode_of(path), 0600);
    snprintf(path, sizeof path, "%s/keys.json", dir);
    assert_true(exists(path));

    struct hg_keyring_info info[4];
    assert_int_equal(hg_keyring_list(kr, T0, info, 4), 1);
    assert_string_equal(info[0].kid, kid);
    assert_int_equal(info[0].state, HG_KEY_CURRENT);
    assert_int_equal(info[0].alg, HG_JOSE_ES256);
    assert_int_equal(info[0].created, T0);
    assert_int_equal(info[0].activates, T0);
    assert_int_equal(info[0].retires, 0);
    assert_int_equal(jwks_count(kr, T0, kid), 1);
    /* nothing signs before the first key exists */
    char *tok = NULL;
    struct hg_err err;
    json_t *p = json_object();
    assert_int_equal(hg_keyring_sign(kr, T0 - 1, "at+jwt", p, &tok, NULL, &err), HG_ESTATE);
    assert_non_null(strstr(err.msg, "haulctl keys rotate"));
    json_decref(p);
    hg_keyring_close(kr);

    /* reopening finds the same key; no second one is made */
    kr = open_at(T0 + 5);
    char kid2[HG_JWK_KID_MAX + 1];
    sign_kid(kr, T0 + 5, kid2);
    assert_string_equal(kid, kid2);
    assert_int_equal(hg_keyring_list(kr, T0 + 5, info, 4), 1);
    hg_keyring_close(kr);
}

static void eddsa_keys(void **state)
{
    (void)state;
    struct hg_keyring_opts o = opts(HG_JOSE_EDDSA);
    struct hg_keyring *kr = NULL;
    assert_int_equal(hg_keyring_open(&o, T0, &kr, NULL), HG_OK);
    char kid[HG_JWK_KID_MAX + 1];
    sign_kid(kr, T0, kid);
    struct hg_keyring_info info[2];
    assert_int_equal(hg_keyring_list(kr, T0, info, 2), 1);
    assert_int_equal(info[0].alg, HG_JOSE_EDDSA);
    char *doc = NULL;
    size_t len;
    assert_int_equal(hg_keyring_jwks(kr, T0, &doc, &len), HG_OK);
    assert_non_null(strstr(doc, "\"alg\":\"EdDSA\""));
    assert_non_null(strstr(doc, "\"crv\":\"Ed25519\""));
    free(doc);
    hg_keyring_close(kr);
}

static void group_readable_key_refused(void **state)
{
    (void)state;
    struct hg_keyring *kr = open_at(T0);
    char kid[HG_JWK_KID_MAX + 1], path[512];
    sign_kid(kr, T0, kid);
    hg_keyring_close(kr);
    key_file(kid, path, sizeof path);
    assert_int_equal(chmod(path, 0640), 0);
    struct hg_keyring_opts o = opts(HG_JOSE_ES256);
    struct hg_err err;
    kr = NULL;
    assert_int_equal(hg_keyring_open(&o, T0, &kr, &err), HG_EPERM);
    assert_null(kr);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "chmod 600"));
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(hg_keyring_open(&o, T0, &kr, &err), HG_OK);
    hg_keyring_close(kr);
}

static void rotation_timeline(void **state)
{
    (void)state;
    struct hg_keyring *kr = open_at(T0);
    char old[HG_JWK_KID_MAX + 1], nk[HG_JWK_KID_MAX + 1], kid[HG_JWK_KID_MAX + 1];
    char oldpath[512], newpath[512];
    struct hg_err err;
    sign_kid(kr, T0, old);

    int64_t tr = T0 + 1000; /* rotate */
    int64_t act = tr + DELAY;
    assert_int_equal(hg_keyring_rotate(kr, tr, nk, sizeof nk, &err), HG_OK);
    assert_string_not_equal(nk, old);
    key_file(nk, newpath, sizeof newpath);
    key_file(old, oldpath, sizeof oldpath);
    assert_int_equal(mode_of(newpath), 0600);

    /* published at once, but the old key still signs */
    assert_int_equal(jwks_count(kr, tr, nk), 2);
    sign_kid(kr, tr, kid);
    assert_string_equal(kid, old);
    sign_kid(kr, act - 1, kid);
    assert_string_equal(kid, old);
    struct hg_keyring_info info[4];
    assert_int_equal(hg_keyring_list(kr, tr, info, 4), 2);
    assert_string_equal(info[0].kid, nk); /* newest first */
    assert_int_equal(info[0].state, HG_KEY_PENDING);
    assert_int_equal(info[0].activates, act);
    assert_int_equal(info[0].retires, 0);
    assert_int_equal(info[1].state, HG_KEY_CURRENT);
    assert_int_equal(info[1].retires, act);

    /* from activation the new key signs, the old one only verifies */
    sign_kid(kr, act, kid);
    assert_string_equal(kid, nk);
    assert_int_equal(hg_keyring_list(kr, act, info, 4), 2);
    assert_int_equal(info[0].state, HG_KEY_CURRENT);
    assert_int_equal(info[1].state, HG_KEY_RETIRED);

    /* a token the old key signed just before it retired verifies until
     * retires + lifetime + leeway, and not a second later */
    int64_t end = act + LIFE + LEEWAY;
    assert_int_equal(verify_later(kr, act - 1, end), HG_OK);
    assert_int_equal(verify_later(kr, act - 1, end + 1), HG_ENOTFOUND);
    assert_int_equal(jwks_count(kr, end, old), 2);
    assert_int_equal(jwks_count(kr, end + 1, nk), 1);
    assert_int_equal(hg_keyring_list(kr, end + 1, info, 4), 2);
    assert_int_equal(info[1].state, HG_KEY_EXPIRED);

    /* reload prunes nothing; a later rotation removes the expired key:
     * manifest entry and file */
    int changed = -1;
    assert_int_equal(hg_keyring_reload(kr, &changed, &err), HG_OK);
    assert_int_equal(changed, 0);
    assert_true(exists(oldpath));
    assert_int_equal(hg_keyring_rotate(kr, end + 1, kid, sizeof kid, &err), HG_OK);
    assert_false(exists(oldpath));
    assert_true(exists(newpath));
    assert_int_equal(hg_keyring_list(kr, end + 1, info, 4), 2);
    assert_string_equal(info[0].kid, kid);
    assert_string_equal(info[1].kid, nk);
    assert_int_equal(info[1].retires, end + 1 + DELAY);
    hg_keyring_close(kr);
}

/* Rotating twice within the publish delay retires the first new key when
 * the second activates; the original key stops at the first activation. */
static void double_rotation(void **state)
{
    (void)state;
    struct hg_keyring *kr = open_at(T0);
    char a[HG_JWK_KID_MAX + 1], b[HG_JWK_KID_MAX + 1], c[HG_JWK_KID_MAX + 1],
        kid[HG_JWK_KID_MAX + 1];
    sign_kid(kr, T0, a);
    assert_int_equal(hg_keyring_rotate(kr, T0 + 10, b, sizeof b, NULL), HG_OK);
    assert_int_equal(hg_keyring_rotate(kr, T0 + 20, c, sizeof c, NULL), HG_OK);
    sign_kid(kr, T0 + 10 + DELAY - 1, kid);
    assert_string_equal(kid, a);
    sign_kid(kr, T0 + 10 + DELAY, kid);
    assert_string_equal(kid, b);
    sign_kid(kr, T0 + 20 + DELAY, kid);
    assert_string_equal(kid, c);
    assert_int_equal(jwks_count(kr, T0 + 20, NULL), 3);
    hg_keyring_close(kr);
}

static void second_process_rotation_seen_by_reload(void **state)
{
    (void)state;
    struct hg_keyring *daemon = open_at(T0);
    struct hg_keyring *ctl = open_at(T0 + 1);
    char kid[HG_JWK_KID_MAX + 1], nk[HG_JWK_KID_MAX + 1];
    struct hg_err err;
    int changed = -1;
    sign_kid(daemon, T0, kid);
    assert_int_equal(hg_keyring_rotate(ctl, T0 + 100, nk, sizeof nk, &err), HG_OK);
    /* the daemon does not know the new key until it reloads */
    assert_int_equal(jwks_count(daemon, T0 + 100, NULL), 1);
    assert_int_equal(hg_keyring_reload(daemon, &changed, &err), HG_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(jwks_count(daemon, T0 + 100, nk), 2);
    sign_kid(daemon, T0 + 100 + DELAY, kid);
    assert_string_equal(kid, nk);
    /* nothing changed since: no rebuild */
    assert_int_equal(hg_keyring_reload(daemon, &changed, &err), HG_OK);
    assert_int_equal(changed, 0);
    hg_keyring_close(ctl);
    hg_keyring_close(daemon);
}

static void malformed_manifests(void **state)
{
    (void)state;
    struct hg_keyring *kr = open_at(T0);
    char kid[HG_JWK_KID_MAX + 1], mpath[256], good[1024], text[2048];
    sign_kid(kr, T0, kid);
    hg_keyring_close(kr);
    snprintf(mpath, sizeof mpath, "%s/keys.json", dir);
    FILE *f = fopen(mpath, "r");
    size_t n = fread(good, 1, sizeof good - 1, f);
    good[n] = '\0';
    fclose(f);

    static const struct {
        const char *fmt; /* KID = the real kid */
        const char *says;
    } cases[] = {
        {"{\"version\":1,\"keys\":[", "not valid JSON"},
        {"[]", "must be {\"version\":1"},
        {"{\"version\":2,\"keys\":[]}", "version 2"},
        {"{\"version\":1,\"keys\":[],\"x\":1}", "must be {\"version\":1"},
        {"{\"version\":1,\"keys\":[{\"kid\":\"KID\",\"alg\":\"RS256\",\"created\":1,"
         "\"activates\":1,\"retires\":null}]}", "alg must be"},
        {"{\"version\":1,\"keys\":[{\"kid\":\"../../etc/passwd\",\"alg\":\"ES256\","
         "\"created\":1,\"activates\":1,\"retires\":null}]}", "kid must be"},
        {"{\"version\":1,\"keys\":[{\"kid\":\"KID\",\"alg\":\"ES256\",\"created\":\"1\","
         "\"activates\":1,\"retires\":null}]}", "Unix seconds"},
        {"{\"version\":1,\"keys\":[{\"kid\":\"KID\",\"alg\":\"ES256\",\"created\":1,"
         "\"activates\":1,\"retires\":0}]}", "Unix seconds"},
        {"{\"version\":1,\"keys\":[{\"kid\":\"KID\",\"alg\":\"ES256\",\"created\":5,"
         "\"activates\":1,\"retires\":null}]}", "before created"},
        {"{\"version\":1,\"keys\":[{\"kid\":\"KID\",\"alg\":\"ES256\",\"created\":1,"
         "\"activates\":1,\"retires\":null,\"extra\":1}]}", "exactly kid"},
        {"{\"version\":1,\"keys\":[{\"kid\":\"KID\",\"alg\":\"ES256\",\"created\":1,"
         "\"activates\":1,\"retires\":null},{\"kid\":\"KID\",\"alg\":\"ES256\",\"created\":1,"
         "\"activates\":1,\"retires\":null}]}", "listed twice"},
        {"{\"version\":1,\"version\":1,\"keys\":[]}", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* KID → the real kid */
        size_t used = 0;
        for (const char *c = cases[i].fmt; *c && used + HG_JWK_KID_MAX < sizeof text;) {
            if (!strncmp(c, "KID", 3)) {
                used += (size_t)snprintf(text + used, sizeof text - used, "%s", kid);
                c += 3;
            } else {
                text[used++] = *c++;
            }
        }
        text[used] = '\0';
        write_file(mpath, text);
        struct hg_keyring_opts o = opts(HG_JOSE_ES256);
        struct hg_err err;
        kr = NULL;
        hg_status st = hg_keyring_open(&o, T0, &kr, &err);
        if (st != HG_EPARSE || !strstr(err.msg, cases[i].says) || !strstr(err.msg, mpath))
            fail_msg("case %zu: %s: %s", i, hg_status_name(st), err.msg);
        assert_null(kr);
    }

    /* an entry whose file is gone */
    write_file(mpath, good);
    char path[512], moved[300];
    key_file(kid, path, sizeof path);
    snprintf(moved, sizeof moved, "%s/elsewhere.pem", root);
    assert_int_equal(rename(path, moved), 0);
    struct hg_keyring_opts o = opts(HG_JOSE_ES256);
    struct hg_err err;
    kr = NULL;
    assert_int_equal(hg_keyring_open(&o, T0, &kr, &err), HG_ECORRUPT);
    assert_non_null(strstr(err.msg, "missing"));
    assert_non_null(strstr(err.msg, path));

    /* a file that is not the key its kid names */
    struct hg_sign_key *other = NULL;
    assert_int_equal(hg_sign_key_generate(HG_SIGN_ES256, &other, NULL), HG_OK);
    assert_int_equal(hg_sign_key_save_private_pem(other, path, NULL), HG_OK);
    hg_sign_key_free(other);
    assert_int_equal(hg_keyring_open(&o, T0, &kr, &err), HG_ECORRUPT);
    assert_non_null(strstr(err.msg, "thumbprint"));

    /* the right file back: fine again */
    assert_int_equal(rename(moved, path), 0);
    assert_int_equal(hg_keyring_open(&o, T0, &kr, &err), HG_OK);

    /* reload keeps the old snapshot when the manifest breaks */
    write_file(mpath, "garbage");
    assert_int_equal(hg_keyring_reload(kr, NULL, &err), HG_EPARSE);
    char again[HG_JWK_KID_MAX + 1];
    sign_kid(kr, T0, again);
    assert_string_equal(again, kid);
    /* and rotate refuses to work over it */
    assert_int_equal(hg_keyring_rotate(kr, T0, NULL, 0, &err), HG_EPARSE);
    hg_keyring_close(kr);
}

/* What a crash can leave behind is cleared by the next rotation; files of
 * other names are left alone. */
static void crash_leftovers_swept(void **state)
{
    (void)state;
    struct hg_keyring *kr = open_at(T0);
    char orphan[512], tmp[256], ktmp[512], mine[256];
    snprintf(orphan, sizeof orphan, "%s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.pem", dir);
    snprintf(ktmp, sizeof ktmp, "%s/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB.pem.tmp.x1Y2z3",
             dir);
    snprintf(tmp, sizeof tmp, "%s/keys.json.tmp.a1B2c3", dir);
    snprintf(mine, sizeof mine, "%s/server.pem", dir);
    write_file(orphan, "-----BEGIN PRIVATE KEY-----\n");
    write_file(ktmp, "partial");
    write_file(tmp, "{\"version\":1,");
    write_file(mine, "not ours");
    /* leftovers do not disturb a reader */
    int changed = -1;
    assert_int_equal(hg_keyring_reload(kr, &changed, NULL), HG_OK);
    assert_int_equal(changed, 0);
    assert_int_equal(hg_keyring_rotate(kr, T0 + 10, NULL, 0, NULL), HG_OK);
    assert_false(exists(orphan));
    assert_false(exists(ktmp));
    assert_false(exists(tmp));
    assert_true(exists(mine));
    struct hg_keyring_info info[4];
    assert_int_equal(hg_keyring_list(kr, T0 + 10, info, 4), 2);
    char path[1024];
    for (int i = 0; i < 2; i++) {
        key_file(info[i].kid, path, sizeof path);
        assert_true(exists(path));
    }
    hg_keyring_close(kr);
}

static void key_limit(void **state)
{
    (void)state;
    struct hg_keyring *kr = open_at(T0);
    struct hg_err err;
    int64_t t = T0;
    for (int i = 1; i < HG_KEYRING_MAX_KEYS; i++) {
        t += 1;
        assert_int_equal(hg_keyring_rotate(kr, t, NULL, 0, &err), HG_OK);
    }
    struct hg_keyring_info info[HG_KEYRING_MAX_KEYS + 1];
    assert_int_equal(hg_keyring_list(kr, t, info, HG_KEYRING_MAX_KEYS + 1),
                     HG_KEYRING_MAX_KEYS);
    assert_int_equal(hg_keyring_rotate(kr, t + 1, NULL, 0, &err), HG_ETOOBIG);
    assert_non_null(strstr(err.msg, "rotate again after"));
    assert_int_equal(hg_keyring_list(kr, t + 1, info, HG_KEYRING_MAX_KEYS + 1),
                     HG_KEYRING_MAX_KEYS);
    /* once the first retired key is past its window, there is room */
    int64_t first_end = T0 + 1 + DELAY + LIFE + LEEWAY;
    assert_int_equal(hg_keyring_rotate(kr, first_end, NULL, 0, &err), HG_ETOOBIG);
    assert_int_equal(hg_keyring_rotate(kr, first_end + 1, NULL, 0, &err), HG_OK);
    assert_int_equal(hg_keyring_list(kr, first_end + 1, info, HG_KEYRING_MAX_KEYS + 1),
                     HG_KEYRING_MAX_KEYS);
    hg_keyring_close(kr);
}

/* ---------------------------------------------------------- threads */

/* Signers sign and verify at the "now" of the current epoch while the main
 * thread rotates from a second keyring (another process) and reloads. Each
 * rotation prunes the key two rotations back, so the main thread waits for
 * every signer to finish an iteration of the current epoch before the next
 * rotation: a signer may straddle one rotation, never two. */
#define SIGNERS 2
#define STEP (DELAY + LIFE + LEEWAY + 1)

struct hammer {
    struct hg_keyring *kr;
    atomic_int stop;
    atomic_llong now;
    atomic_int epoch;
    atomic_int done[SIGNERS];
    atomic_int failures;
};

struct signer_arg {
    struct hammer *h;
    int id;
};

static void *signer(void *arg)
{
    struct signer_arg *a = arg;
    struct hammer *h = a->h;
    json_t *p = json_pack("{s:s}", "sub", "x");
    while (!atomic_load(&h->stop)) {
        int epoch = atomic_load(&h->epoch);
        int64_t now = atomic_load(&h->now);
        char *tok = NULL, *doc = NULL;
        size_t n = 0, len = 0;
        struct hg_jws jws;
        memset(&jws, 0, sizeof jws);
        if (hg_keyring_sign(h->kr, now, "at+jwt", p, &tok, &n, NULL) != HG_OK ||
            hg_jws_parse(tok, n, &jws, NULL) != HG_OK ||
            hg_keyring_verify(h->kr, &jws, now) != HG_OK ||
            hg_keyring_jwks(h->kr, now, &doc, &len) != HG_OK)
            atomic_fetch_add(&h->failures, 1);
        hg_jws_free(&jws);
        free(tok);
        free(doc);
        atomic_store(&h->done[a->id], epoch);
    }
    json_decref(p);
    return NULL;
}

static void concurrent_sign_and_reload(void **state)
{
    (void)state;
    struct hammer h = {.kr = open_at(T0)};
    struct hg_keyring *other = open_at(T0);
    struct signer_arg args[SIGNERS];
    pthread_t th[SIGNERS];
    atomic_store(&h.now, T0);
    atomic_store(&h.epoch, 0);
    for (int i = 0; i < SIGNERS; i++) {
        atomic_store(&h.done[i], -1);
        args[i] = (struct signer_arg){.h = &h, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, signer, &args[i]), 0);
    }
    for (int e = 1; e <= 40; e++) {
        for (int i = 0; i < SIGNERS; i++)
            while (atomic_load(&h.done[i]) < e - 1)
                usleep(100);
        int changed = 0;
        int64_t t = T0 + (int64_t)e * STEP;
        assert_int_equal(hg_keyring_rotate(other, t, NULL, 0, NULL), HG_OK);
        assert_int_equal(hg_keyring_reload(h.kr, &changed, NULL), HG_OK);
        assert_int_equal(changed, 1);
        atomic_store(&h.now, t + DELAY); /* the new key signs */
        atomic_store(&h.epoch, e);
    }
    for (int i = 0; i < SIGNERS; i++)
        while (atomic_load(&h.done[i]) < 40)
            usleep(100);
    atomic_store(&h.stop, 1);
    for (int i = 0; i < SIGNERS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&h.failures), 0);
    struct hg_keyring_info info[4];
    assert_int_equal(hg_keyring_list(h.kr, atomic_load(&h.now), info, 4), 2);
    hg_keyring_close(other);
    hg_keyring_close(h.kr);
}

/* ---------------------------------------------------------- haulctl keys */

static int ctl(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5)
{
    char *argv[8] = {"keys", (char *)a1, (char *)a2, (char *)a3, (char *)a4, (char *)a5, NULL};
    int argc = 1;
    while (argv[argc])
        argc++;
    fflush(stdout);
    return hg_ctl_keys(argc, argv);
}

static void haulctl_keys(void **state)
{
    (void)state;
    /* list of an empty directory fails and creates nothing */
    assert_int_equal(ctl("list", "--dir", dir, NULL, NULL), 1);
    assert_false(exists(dir));
    /* the first rotate makes the first key, the next one a pending key */
    assert_int_equal(ctl("rotate", "--dir", dir, NULL, NULL), 0);
    assert_int_equal(ctl("rotate", "--dir", dir, "--alg", "EdDSA"), 0);
    assert_int_equal(ctl("list", "--dir", dir, NULL, NULL), 0);
    struct hg_keyring *kr = open_at(hg_wall_ms() / 1000);
    struct hg_keyring_info info[4];
    int64_t now = hg_wall_ms() / 1000;
    assert_int_equal(hg_keyring_list(kr, now, info, 4), 2);
    assert_int_equal(info[0].alg, HG_JOSE_EDDSA);
    assert_int_equal(info[0].state, HG_KEY_PENDING);
    assert_int_equal(info[1].state, HG_KEY_CURRENT);
    hg_keyring_close(kr);
    /* usage errors */
    assert_int_equal(ctl("rotate", NULL, NULL, NULL, NULL), 2);
    assert_int_equal(ctl("rotate", "--dir", dir, "--config", "x.yaml"), 2);
    assert_int_equal(ctl("rotate", "--dir", dir, "--alg", "HS256"), 2);
    assert_int_equal(ctl("rotate", "--dir", dir, "--lifetime", "0"), 2);
    assert_int_equal(ctl("list", "--dir", dir, "--alg", "ES256"), 2);
    assert_int_equal(ctl("list", "--dir", NULL, NULL, NULL), 2);
    assert_int_equal(ctl("frobnicate", NULL, NULL, NULL, NULL), 2);
    /* a config that does not load is an operation failure */
    char cfg[256];
    snprintf(cfg, sizeof cfg, "%s/missing.yaml", root);
    assert_int_equal(ctl("list", "--config", cfg, NULL, NULL), 1);
}

/* --config: the keys directory is <data_dir>/keys (relative to the file),
 * alg and publish delay come from auth.* */
static void haulctl_keys_config(void **state)
{
    (void)state;
    char cfg[256], kdir[256];
    snprintf(cfg, sizeof cfg, "%s/haulgate.yaml", root);
    write_file(cfg, "data_dir: data\n"
                    "api:\n  tls:\n    cert: c.pem\n    key: k.pem\n    ca: ca.pem\n"
                    "auth:\n  signing_alg: EdDSA\n  key_publish_delay: 0s\n"
                    "  token_lifetime: 10m\n  leeway: 30s\n");
    assert_int_equal(ctl("rotate", "--config", cfg, NULL, NULL), 0);
    assert_int_equal(ctl("rotate", "--config", cfg, NULL, NULL), 0);
    assert_int_equal(ctl("list", "--config", cfg, NULL, NULL), 0);
    snprintf(kdir, sizeof kdir, "%s/data/keys", root);
    struct hg_keyring_opts o = opts(HG_JOSE_EDDSA);
    o.dir = kdir;
    struct hg_keyring *kr = NULL;
    int64_t now = hg_wall_ms() / 1000;
    assert_int_equal(hg_keyring_open(&o, now, &kr, NULL), HG_OK);
    struct hg_keyring_info info[4];
    assert_int_equal(hg_keyring_list(kr, now, info, 4), 2);
    /* no publish delay: the new key signs at once, the first retired */
    assert_int_equal(info[0].alg, HG_JOSE_EDDSA);
    assert_int_equal(info[0].state, HG_KEY_CURRENT);
    assert_int_equal(info[1].state, HG_KEY_RETIRED);
    assert_int_equal(info[1].retires, info[0].activates);
    hg_keyring_close(kr);
    /* options of --dir do not mix with --config */
    assert_int_equal(ctl("rotate", "--config", cfg, "--alg", "ES256"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(first_open_creates_active_key, setup, teardown),
        cmocka_unit_test_setup_teardown(eddsa_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(group_readable_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(rotation_timeline, setup, teardown),
        cmocka_unit_test_setup_teardown(double_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(second_process_rotation_seen_by_reload, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(malformed_manifests, setup, teardown),
        cmocka_unit_test_setup_teardown(crash_leftovers_swept, setup, teardown),
        cmocka_unit_test_setup_teardown(key_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_sign_and_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(haulctl_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(haulctl_keys_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
