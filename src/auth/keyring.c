/* SPDX-License-Identifier: Apache-2.0
 *
 * keyring.c — the token signing keys on disk and in memory. The directory
 * is the truth: a manifest (keys.json) names the keys and their timeline,
 * one PEM file per key holds the private key. Writers (open on an empty
 * directory, rotate) work on the directory under an flock of keys.lock and
 * replace the manifest atomically, always writing a key file before the
 * manifest that names it and removing a key from the manifest before its
 * file, so a crash leaves at worst an orphan file, never a manifest naming
 * a missing key. Readers work on an immutable, reference-counted snapshot
 * (the manifest plus the loaded keys) taken under a read lock held only for
 * a pointer copy; reload builds a new snapshot and swaps it. This unit must
 * never log, print or leave behind private key material.
 */
#include "auth/keyring.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"

#define MANIFEST_FILE "keys.json"
#define LOCK_FILE "keys.lock"
#define MANIFEST_MAX (64 * 1024) /* 16 entries take about 2 KiB */
#define MANIFEST_VERSION 1
#define TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
/* the directory's path leaves room for the longest name inside it:
 * "<kid>.pem.tmp.XXXXXX" with a 128-character kid */
#define DIR_MAX (PATH_MAX - 256)

/* One manifest entry: what keys.json says about a key. */
struct mentry {
    char kid[HG_JWK_KID_MAX + 1];
    enum hg_jose_alg alg;
    int64_t created, activates, retires; /* retires 0 = current (null) */
};

struct manifest {
    size_t n;
    struct mentry e[HG_KEYRING_MAX_KEYS];
};

/* What identifies one version of the manifest file: rotation renames a new
 * file over it, so the inode changes even when size and mtime do not. */
struct fid {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim;
};

struct snapshot {
    atomic_uint refs;
    struct fid id;
    struct manifest m;
    struct hg_sign_key *keys[HG_KEYRING_MAX_KEYS];
    /* The serialised JWKS depends on which keys are in their verify window
     * at now; it is rebuilt only when that set changes. */
    pthread_mutex_t jwks_mu;
    uint32_t jwks_set;     /* bit i = entry i included */
    int jwks_valid;
    char *jwks;
    size_t jwks_len;
};

struct hg_keyring {
    struct hg_keyring_opts o;
    char dir[DIR_MAX];
    char manifest[PATH_MAX];
    char lockpath[PATH_MAX];
    pthread_rwlock_t lock;     /* guards snap (the pointer, not its contents) */
    pthread_mutex_t reload_mu; /* one reload at a time */
    struct snapshot *snap;
};

/* ------------------------------------------------------------ helpers */

static enum hg_sign_alg sign_alg(enum hg_jose_alg a)
{
    return a == HG_JOSE_EDDSA ? HG_SIGN_ED25519 : HG_SIGN_ES256;
}

static enum hg_jose_alg alg_from_name(const char *s)
{
    if (!strcmp(s, "ES256"))
        return HG_JOSE_ES256;
    if (!strcmp(s, "EdDSA"))
        return HG_JOSE_EDDSA;
    return HG_JOSE_ALG_UNKNOWN;
}

/* A kid is a file name stem: only the base64url alphabet, so a manifest
 * cannot name "../x" or a hidden file. */
static int kid_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > HG_JWK_KID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int64_t verify_until(const struct hg_keyring *kr, const struct mentry *e)
{
    if (e->retires == 0)
        return INT64_MAX;
    return e->retires + kr->o.token_lifetime_s + kr->o.leeway_s;
}

/* A key verifies from its creation (less the leeway, for a verifier whose
 * clock is a little behind the rotating process's) until its tokens have
 * all expired. Pending keys verify too: harmless, and a client that uses a
 * token signed the instant the key activates is not refused by a replica a
 * second behind. */
static int in_window(const struct hg_keyring *kr, const struct mentry *e, int64_t now)
{
    return now >= e->created - kr->o.leeway_s && now <= verify_until(kr, e);
}

static int can_sign(const struct mentry *e, int64_t now)
{
    return e->activates <= now && (e->retires == 0 || e->retires > now);
}

/* Index of the key that signs at now (the newest activates among those that
 * may sign), or -1. */
static int signer_index(const struct manifest *m, int64_t now)
{
    int best = -1;
    for (size_t i = 0; i < m->n; i++)
        if (can_sign(&m->e[i], now) && (best < 0 || m->e[i].activates > m->e[best].activates))
            best = (int)i;
    return best;
}

static hg_status key_path(const char *dir, const char *kid, char *out, size_t cap)
{
    int w = snprintf(out, cap, "%s/%s.pem", dir, kid);
    return (w < 0 || (size_t)w >= cap) ? HG_ETOOBIG : HG_OK;
}

/* ------------------------------------------------------------ manifest */

static hg_status bad_manifest(struct hg_err *err, const char *path, const char *what, size_t i)
{
    return hg_err_set(err, HG_EPARSE,
                      "keys manifest %s: keys[%zu]: %s; fix the entry (or restore the file "
                      "from a backup)",
                      path, i, what);
}

static hg_status get_time(const json_t *o, const char *name, int nullable, int64_t *out)
{
    json_t *v = json_object_get(o, name);
    if (nullable && json_is_null(v)) {
        *out = 0;
        return HG_OK;
    }
    if (!json_is_integer(v))
        return HG_EPARSE;
    json_int_t t = json_integer_value(v);
    if (t < 0 || t > TIME_MAX || (nullable && t == 0))
        return HG_EPARSE;
    *out = (int64_t)t;
    return HG_OK;
}

static hg_status parse_manifest(const char *path, const char *buf, size_t n, struct manifest *m,
                                struct hg_err *err)
{
    json_error_t je;
    hg_status st = HG_OK;
    memset(m, 0, sizeof *m);
    json_t *root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return hg_err_set(err, HG_EPARSE,
                          "keys manifest %s is not valid JSON (line %d, column %d: %s); "
                          "restore it from a backup, or move the keys directory aside to "
                          "start over with a new key (tokens already issued will then fail)",
                          path, je.line, je.column, je.text);
    json_t *ver = json_object_get(root, "version");
    json_t *keys = json_object_get(root, "keys");
    if (!json_is_object(root) || json_object_size(root) != 2 || !json_is_integer(ver) ||
        !json_is_array(keys)) {
        st = hg_err_set(err, HG_EPARSE,
                        "keys manifest %s must be {\"version\":1,\"keys\":[...]} and nothing "
                        "else; restore it from a backup",
                        path);
        goto out;
    }
    if (json_integer_value(ver) != MANIFEST_VERSION) {
        st = hg_err_set(err, HG_EPARSE,
                        "keys manifest %s has version %lld; this haulgate reads version %d "
                        "(use the haulgate version that wrote it)",
                        path, (long long)json_integer_value(ver), MANIFEST_VERSION);
        goto out;
    }
    if (json_array_size(keys) > HG_KEYRING_MAX_KEYS) {
        st = hg_err_set(err, HG_EPARSE,
                        "keys manifest %s lists %zu keys, more than the %d allowed; remove "
                        "expired entries",
                        path, json_array_size(keys), HG_KEYRING_MAX_KEYS);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(keys); i++) {
        json_t *k = json_array_get(keys, i);
        struct mentry *e = &m->e[i];
        if (!json_is_object(k) || json_object_size(k) != 5) {
            st = bad_manifest(err, path,
                              "must be an object with exactly kid, alg, created, activates "
                              "and retires",
                              i);
            goto out;
        }
        const char *kid = json_string_value(json_object_get(k, "kid"));
        const char *alg = json_string_value(json_object_get(k, "alg"));
        if (!kid || !kid_ok(kid)) {
            st = bad_manifest(err, path, "kid must be a base64url string of 1 to 128 characters",
                              i);
            goto out;
        }
        if (!alg || (e->alg = alg_from_name(alg)) == HG_JOSE_ALG_UNKNOWN) {
            st = bad_manifest(err, path, "alg must be \"ES256\" or \"EdDSA\"", i);
            goto out;
        }
        if (get_time(k, "created", 0, &e->created) != HG_OK ||
            get_time(k, "activates", 0, &e->activates) != HG_OK ||
            get_time(k, "retires", 1, &e->retires) != HG_OK) {
            st = bad_manifest(err, path,
                              "created and activates must be Unix seconds, retires Unix "
                              "seconds or null",
                              i);
            goto out;
        }
        if (e->activates < e->created) {
            st = bad_manifest(err, path, "activates is before created", i);
            goto out;
        }
        hg_strlcpy(e->kid, kid, sizeof e->kid);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(m->e[j].kid, e->kid)) {
                st = bad_manifest(err, path, "kid listed twice", i);
                goto out;
            }
        m->n = i + 1;
    }
out:
    json_decref(root);
    return st;
}

/* Read the manifest at path. HG_ENOTFOUND (no message) when absent. */
static hg_status read_manifest(const char *path, struct manifest *m, struct fid *id,
                               struct hg_err *err)
{
    hg_status st = HG_OK;
    char *buf = NULL;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return HG_ENOTFOUND;
        return hg_err_set(err, HG_EIO, "cannot open keys manifest %s: %s; check its permissions",
                          path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = hg_err_set(err, HG_EIO, "cannot stat keys manifest %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size > MANIFEST_MAX) {
        st = hg_err_set(err, HG_EPARSE,
                        "keys manifest %s is not a regular file of at most %d bytes; restore "
                        "it from a backup",
                        path, MANIFEST_MAX);
        goto out;
    }
    buf = malloc((size_t)sb.st_size + 1);
    if (!buf) {
        st = hg_err_set(err, HG_ENOMEM, "out of memory reading %s", path);
        goto out;
    }
    while (len < (size_t)sb.st_size) {
        ssize_t r = read(fd, buf + len, (size_t)sb.st_size - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            st = hg_err_set(err, HG_EIO, "cannot read keys manifest %s: %s", path,
                            r < 0 ? strerror(errno) : "file shrank while read");
            goto out;
        }
        len += (size_t)r;
    }
    if (id) {
        id->dev = sb.st_dev;
        id->ino = sb.st_ino;
        id->size = sb.st_size;
        id->mtim = sb.st_mtim;
    }
    st = parse_manifest(path, buf, len, m, err);
out:
    free(buf);
    close(fd);
    return st;
}

static hg_status write_manifest(const struct hg_keyring *kr, const struct manifest *m,
                                struct hg_err *err)
{
    /* one key per line: a person reading the file during an incident sees
     * the timeline at a glance */
    char text[MANIFEST_MAX];
    size_t used = 0;
    int w = snprintf(text, sizeof text, "{\"version\":%d,\"keys\":[", MANIFEST_VERSION);
    used = (size_t)w;
    for (size_t i = 0; i < m->n; i++) {
        const struct mentry *e = &m->e[i];
        char retires[24] = "null";
        if (e->retires)
            snprintf(retires, sizeof retires, "%lld", (long long)e->retires);
        /* kid is base64url and alg a fixed name: nothing to escape */
        w = snprintf(text + used, sizeof text - used,
                     "%s\n {\"kid\":\"%s\",\"alg\":\"%s\",\"created\":%lld,"
                     "\"activates\":%lld,\"retires\":%s}",
                     i ? "," : "", e->kid, hg_jose_alg_name(e->alg), (long long)e->created,
                     (long long)e->activates, retires);
        if (w < 0 || (size_t)w >= sizeof text - used)
            return hg_err_set(err, HG_ETOOBIG, "keys manifest %s would be too large",
                              kr->manifest);
        used += (size_t)w;
    }
    w = snprintf(text + used, sizeof text - used, "\n]}\n");
    if (w < 0 || (size_t)w >= sizeof text - used)
        return hg_err_set(err, HG_ETOOBIG, "keys manifest %s would be too large", kr->manifest);
    used += (size_t)w;
    return hg_fs_write_atomic(kr->manifest, text, used, 0600, err);
}

/* ------------------------------------------------------------ snapshots */

static void snap_free(struct snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->m.n; i++)
        hg_sign_key_free(s->keys[i]);
    free(s->jwks);
    pthread_mutex_destroy(&s->jwks_mu);
    free(s);
}

static void snap_put(struct snapshot *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        snap_free(s);
}

static struct snapshot *snap_get(struct hg_keyring *kr)
{
    pthread_rwlock_rdlock(&kr->lock);
    struct snapshot *s = kr->snap;
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    pthread_rwlock_unlock(&kr->lock);
    return s;
}

/* Load every key the manifest names and check that each is the key its
 * entry says (kid = thumbprint, alg = key type), so a file copied over
 * another cannot silently sign under the wrong kid. */
static hg_status snap_build(const struct hg_keyring *kr, const struct manifest *m,
                            const struct fid *id, struct snapshot **out, struct hg_err *err)
{
    hg_status st = HG_OK;
    struct snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return hg_err_set(err, HG_ENOMEM, "out of memory loading the keys in %s", kr->dir);
    atomic_init(&s->refs, 1);
    pthread_mutex_init(&s->jwks_mu, NULL);
    s->id = *id;
    s->m = *m;
    for (size_t i = 0; i < m->n; i++) {
        const struct mentry *e = &m->e[i];
        char path[PATH_MAX], thumb[HG_JWK_THUMB_LEN + 1];
        struct hg_err inner;
        if (key_path(kr->dir, e->kid, path, sizeof path) != HG_OK) {
            st = hg_err_set(err, HG_ETOOBIG, "keys directory path %s is too long", kr->dir);
            goto out;
        }
        st = hg_sign_key_load_pem(path, &s->keys[i], &inner);
        if (st == HG_ENOTFOUND) {
            st = hg_err_set(err, HG_ECORRUPT,
                            "keys manifest %s lists key %s but its file %s is missing; restore "
                            "the file from a backup, or remove the entry from the manifest "
                            "(tokens it signed will then be refused)",
                            kr->manifest, e->kid, path);
            goto out;
        }
        if (st != HG_OK) {
            hg_err_set(err, st, "%s", hg_err_msg(&inner));
            goto out;
        }
        if (!hg_sign_key_has_private(s->keys[i]) || hg_jose_key_alg(s->keys[i]) != e->alg ||
            hg_jwk_thumbprint(s->keys[i], thumb) != HG_OK || strcmp(thumb, e->kid) != 0) {
            st = hg_err_set(err, HG_ECORRUPT,
                            "key file %s is not the %s private key whose thumbprint is its kid "
                            "in %s; restore the right file from a backup",
                            path, hg_jose_alg_name(e->alg), kr->manifest);
            goto out;
        }
    }
out:
    if (st != HG_OK) {
        for (size_t i = 0; i < m->n; i++)
            hg_sign_key_free(s->keys[i]);
        pthread_mutex_destroy(&s->jwks_mu);
        free(s);
        s = NULL;
    }
    *out = s;
    return st;
}

/* ------------------------------------------------------------ writers */

static hg_status lock_dir(const struct hg_keyring *kr, int *fd_out, struct hg_err *err)
{
    int fd = open(kr->lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return hg_err_set(err, HG_ESYS, "cannot open lock file %s: %s; check the keys "
                          "directory's owner and permissions", kr->lockpath, strerror(errno));
    while (flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(fd);
        return hg_err_set(err, HG_ESYS, "cannot lock %s: %s", kr->lockpath, strerror(e));
    }
    *fd_out = fd;
    return HG_OK;
}

static void unlock_dir(int fd)
{
    if (fd >= 0)
        close(fd); /* closing the last descriptor releases the flock */
}

/* Make a key of the configured alg, save it as <kid>.pem (0600, atomic),
 * and describe it in *e. */
static hg_status new_key(const struct hg_keyring *kr, int64_t now, struct mentry *e,
                         struct hg_err *err)
{
    struct hg_sign_key *key = NULL;
    char path[PATH_MAX];
    hg_status st = hg_sign_key_generate(sign_alg(kr->o.alg), &key, err);
    if (st != HG_OK)
        return st;
    memset(e, 0, sizeof *e);
    st = hg_jwk_thumbprint(key, e->kid);
    if (st != HG_OK) {
        hg_err_set(err, st, "cannot compute the thumbprint of a new signing key");
        goto out;
    }
    if (key_path(kr->dir, e->kid, path, sizeof path) != HG_OK) {
        st = hg_err_set(err, HG_ETOOBIG, "keys directory path %s is too long", kr->dir);
        goto out;
    }
    st = hg_sign_key_save_private_pem(key, path, err);
    if (st != HG_OK)
        goto out;
    e->alg = kr->o.alg;
    e->created = now;
    e->activates = now;
out:
    hg_sign_key_free(key);
    return st;
}

/* Overwrite a retired key file with zeros before unlinking it: on most file
 * systems this does not reach every copy, but it costs nothing and stops
 * the plain "undelete" of a key that signed tokens. */
static void wipe_unlink(const char *path)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        struct stat sb;
        if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
            sb.st_size <= HG_SIGN_PEM_MAX) {
            char zero[512] = {0};
            off_t left = sb.st_size;
            while (left > 0) {
                size_t k = left > (off_t)sizeof zero ? sizeof zero : (size_t)left;
                if (hg_fs_write_all(fd, zero, k) != HG_OK)
                    break;
                left -= (off_t)k;
            }
            (void)fsync(fd);
        }
        close(fd);
    }
    unlink(path);
}

/* Remove what a crash between two steps can leave behind: temporary files
 * of an interrupted atomic write, and key files no manifest entry names
 * (written just before a crash, before the manifest listed them). Only
 * called under the directory lock, after the manifest was written. */
static void sweep_orphans(const struct hg_keyring *kr, const struct manifest *m)
{
    DIR *d = opendir(kr->dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t n = strlen(name);
        char path[PATH_MAX];
        int remove = 0;
        static const char mtmp[] = MANIFEST_FILE ".tmp.";
        /* only names this unit writes: a thumbprint kid is exactly 43
         * characters, so "server.pem" put here by hand is left alone */
        if (!strncmp(name, mtmp, sizeof mtmp - 1) ||
            (n > HG_JWK_THUMB_LEN + 9 && !strncmp(name + HG_JWK_THUMB_LEN, ".pem.tmp.", 9)))
            remove = 1;
        else if (n == HG_JWK_THUMB_LEN + 4 && !strcmp(name + n - 4, ".pem")) {
            char kid[HG_JWK_THUMB_LEN + 1];
            memcpy(kid, name, n - 4);
            kid[n - 4] = '\0';
            if (kid_ok(kid)) {
                remove = 1;
                for (size_t i = 0; i < m->n; i++)
                    if (!strcmp(m->e[i].kid, kid))
                        remove = 0;
            }
        }
        if (remove && snprintf(path, sizeof path, "%s/%s", kr->dir, name) < (int)sizeof path)
            wipe_unlink(path);
    }
    closedir(d);
}

/* Under the lock: a directory without a manifest (or with an empty one)
 * gets its first key, active at once. */
static hg_status ensure_first_key(struct hg_keyring *kr, int64_t now, struct hg_err *err)
{
    int fd = -1;
    struct manifest m;
    hg_status st = lock_dir(kr, &fd, err);
    if (st != HG_OK)
        return st;
    st = read_manifest(kr->manifest, &m, NULL, err);
    if (st == HG_ENOTFOUND) {
        memset(&m, 0, sizeof m);
        st = HG_OK;
    }
    if (st != HG_OK || m.n > 0)
        goto out;
    st = new_key(kr, now, &m.e[0], err);
    if (st != HG_OK)
        goto out;
    m.n = 1;
    st = write_manifest(kr, &m, err);
    if (st == HG_OK)
        sweep_orphans(kr, &m);
out:
    unlock_dir(fd);
    return st;
}

/* ------------------------------------------------------------ public */

static hg_status do_reload(struct hg_keyring *kr, int force, int *changed, struct hg_err *err)
{
    struct manifest m;
    struct fid id;
    struct snapshot *s = NULL;
    if (changed)
        *changed = 0;
    pthread_mutex_lock(&kr->reload_mu);
    hg_status st = read_manifest(kr->manifest, &m, &id, err);
    if (st == HG_ENOTFOUND)
        st = hg_err_set(err, HG_ECORRUPT,
                        "keys manifest %s is missing; restore it from a backup (or remove the "
                        "directory's keys and restart to begin with a new key)",
                        kr->manifest);
    if (st != HG_OK)
        goto out;
    struct snapshot *cur = kr->snap;
    if (!force && cur && cur->id.dev == id.dev && cur->id.ino == id.ino &&
        cur->id.size == id.size && cur->id.mtim.tv_sec == id.mtim.tv_sec &&
        cur->id.mtim.tv_nsec == id.mtim.tv_nsec)
        goto out;
    st = snap_build(kr, &m, &id, &s, err);
    if (st != HG_OK)
        goto out;
    pthread_rwlock_wrlock(&kr->lock);
    cur = kr->snap;
    kr->snap = s;
    pthread_rwlock_unlock(&kr->lock);
    snap_put(cur);
    if (changed)
        *changed = 1;
out:
    pthread_mutex_unlock(&kr->reload_mu);
    return st;
}

hg_status hg_keyring_open(const struct hg_keyring_opts *o, int64_t now,
                          struct hg_keyring **out, struct hg_err *err)
{
    hg_status st;
    if (!out)
        return hg_err_set(err, HG_EINVAL, "hg_keyring_open: no output");
    *out = NULL;
    if (!o || !o->dir || !*o->dir || (o->alg != HG_JOSE_ES256 && o->alg != HG_JOSE_EDDSA) ||
        o->publish_delay_s < 0 || o->token_lifetime_s <= 0 || o->leeway_s < 0)
        return hg_err_set(err, HG_EINVAL,
                          "keyring options: a keys directory, alg ES256 or EdDSA, publish "
                          "delay >= 0, token lifetime > 0 and leeway >= 0 are required");
    struct hg_keyring *kr = calloc(1, sizeof *kr);
    if (!kr)
        return hg_err_set(err, HG_ENOMEM, "out of memory opening the keyring");
    kr->o = *o;
    if (hg_strlcpy(kr->dir, o->dir, sizeof kr->dir) != HG_OK) {
        free(kr);
        return hg_err_set(err, HG_ETOOBIG, "keys directory path is too long: %.64s...; use a "
                          "shorter one", o->dir);
    }
    snprintf(kr->manifest, sizeof kr->manifest, "%s/" MANIFEST_FILE, kr->dir);
    snprintf(kr->lockpath, sizeof kr->lockpath, "%s/" LOCK_FILE, kr->dir);
    kr->o.dir = kr->dir;
    pthread_rwlock_init(&kr->lock, NULL);
    pthread_mutex_init(&kr->reload_mu, NULL);

    st = hg_fs_mkdir_private(kr->dir, NULL, err);
    if (st != HG_OK)
        goto out;
    struct manifest m;
    st = read_manifest(kr->manifest, &m, NULL, err);
    if (st == HG_ENOTFOUND || (st == HG_OK && m.n == 0))
        st = ensure_first_key(kr, now, err);
    if (st != HG_OK)
        goto out;
    st = do_reload(kr, 1, NULL, err);
out:
    if (st != HG_OK) {
        hg_keyring_close(kr);
        return st;
    }
    *out = kr;
    return HG_OK;
}

void hg_keyring_close(struct hg_keyring *kr)
{
    if (!kr)
        return;
    snap_put(kr->snap);
    pthread_rwlock_destroy(&kr->lock);
    pthread_mutex_destroy(&kr->reload_mu);
    free(kr);
}

hg_status hg_keyring_reload(struct hg_keyring *kr, int *changed, struct hg_err *err)
{
    if (!kr)
        return hg_err_set(err, HG_EINVAL, "hg_keyring_reload: no keyring");
    return do_reload(kr, 0, changed, err);
}

hg_status hg_keyring_rotate(struct hg_keyring *kr, int64_t now, char *new_kid, size_t cap,
                            struct hg_err *err)
{
    int fd = -1;
    struct manifest m, kept;
    struct mentry pruned[HG_KEYRING_MAX_KEYS];
    size_t npruned = 0;
    struct mentry ne;
    if (!kr)
        return hg_err_set(err, HG_EINVAL, "hg_keyring_rotate: no keyring");
    if (new_kid && cap)
        new_kid[0] = '\0';
    hg_status st = lock_dir(kr, &fd, err);
    if (st != HG_OK)
        return st;
    /* the directory, not our snapshot, is the truth: another process may
     * have rotated since we last looked */
    st = read_manifest(kr->manifest, &m, NULL, err);
    if (st == HG_ENOTFOUND)
        st = hg_err_set(err, HG_ECORRUPT, "keys manifest %s is missing; restore it from a "
                        "backup before rotating", kr->manifest);
    if (st != HG_OK)
        goto out;
    memset(&kept, 0, sizeof kept);
    int64_t oldest_end = INT64_MAX;
    for (size_t i = 0; i < m.n; i++) {
        if (m.e[i].retires && verify_until(kr, &m.e[i]) < now) {
            pruned[npruned++] = m.e[i];
            continue;
        }
        if (m.e[i].retires && verify_until(kr, &m.e[i]) < oldest_end)
            oldest_end = verify_until(kr, &m.e[i]);
        kept.e[kept.n++] = m.e[i];
    }
    if (kept.n + 1 > HG_KEYRING_MAX_KEYS) {
        char when[HG_RFC3339_LEN + 1] = "?";
        if (oldest_end != INT64_MAX && oldest_end < TIME_MAX)
            hg_rfc3339((oldest_end + 1) * 1000, when);
        st = hg_err_set(err, HG_ETOOBIG,
                        "keys directory %s already holds %d keys whose tokens may still be "
                        "valid; rotate again after %s, when the oldest retired key expires",
                        kr->dir, HG_KEYRING_MAX_KEYS, when);
        goto out;
    }
    st = new_key(kr, now, &ne, err);
    if (st != HG_OK)
        goto out;
    ne.activates = now + kr->o.publish_delay_s;
    /* every key that would still sign at the new key's activation retires
     * then, pending ones included (rotating twice within the publish delay
     * retires the first new key before or soon after it starts) */
    for (size_t i = 0; i < kept.n; i++)
        if (kept.e[i].retires == 0 || kept.e[i].retires > ne.activates)
            kept.e[i].retires = ne.activates ? ne.activates : 1;
    kept.e[kept.n++] = ne;
    st = write_manifest(kr, &kept, err);
    if (st != HG_OK) {
        char path[PATH_MAX];
        if (key_path(kr->dir, ne.kid, path, sizeof path) == HG_OK)
            wipe_unlink(path);
        goto out;
    }
    /* the manifest no longer names them: now their files can go */
    for (size_t i = 0; i < npruned; i++) {
        char path[PATH_MAX];
        if (key_path(kr->dir, pruned[i].kid, path, sizeof path) == HG_OK)
            wipe_unlink(path);
    }
    sweep_orphans(kr, &kept);
    (void)hg_fs_fsync_dir(kr->dir, NULL);
    if (new_kid && cap)
        hg_strlcpy(new_kid, ne.kid, cap);
out:
    unlock_dir(fd);
    if (st == HG_OK)
        st = do_reload(kr, 0, NULL, err);
    return st;
}

hg_status hg_keyring_sign(struct hg_keyring *kr, int64_t now, const char *typ,
                          const json_t *payload, char **out, size_t *outlen,
                          struct hg_err *err)
{
    struct snapshot *s = kr ? snap_get(kr) : NULL;
    if (!s)
        return hg_err_set(err, HG_EINVAL, "hg_keyring_sign: no keyring");
    hg_status st;
    int i = signer_index(&s->m, now);
    if (i < 0)
        st = hg_err_set(err, HG_ESTATE,
                        "no signing key is current in %s (every key is pending or retired); "
                        "run `haulctl keys rotate` and wait for the publish delay, or check "
                        "the system clock",
                        kr->dir);
    else
        st = hg_jws_sign(s->keys[i], typ, s->m.e[i].kid, NULL, payload, out, outlen, err);
    snap_put(s);
    return st;
}

hg_status hg_keyring_verify(struct hg_keyring *kr, const struct hg_jws *jws, int64_t now)
{
    if (!kr || !jws)
        return HG_EINVAL;
    if (!jws->kid)
        return HG_ENOTFOUND;
    struct snapshot *s = snap_get(kr);
    hg_status st = HG_ENOTFOUND;
    for (size_t i = 0; s && i < s->m.n; i++) {
        if (strcmp(s->m.e[i].kid, jws->kid) != 0)
            continue;
        if (!in_window(kr, &s->m.e[i], now))
            break;
        /* the kid names a key of one alg: a header naming another is
         * refused before any signature arithmetic */
        st = s->m.e[i].alg == jws->alg ? hg_jws_verify(jws, s->keys[i]) : HG_EVERIFY;
        break;
    }
    snap_put(s);
    return st;
}

static hg_status jwks_build(const struct snapshot *s, uint32_t set, char **out, size_t *outlen)
{
    hg_status st = HG_ENOMEM;
    json_t *root = json_object(), *keys = json_array();
    if (!root || !keys || json_object_set(root, "keys", keys))
        goto out;
    for (size_t i = 0; i < s->m.n; i++) {
        if (!(set & (UINT32_C(1) << i)))
            continue;
        json_t *jwk = hg_jwk_export(s->keys[i], s->m.e[i].kid, 1);
        if (!jwk || json_array_append_new(keys, jwk))
            goto out;
    }
    *out = json_dumps(root, JSON_COMPACT);
    if (!*out)
        goto out;
    *outlen = strlen(*out);
    st = HG_OK;
out:
    json_decref(keys);
    json_decref(root);
    return st;
}

hg_status hg_keyring_jwks(struct hg_keyring *kr, int64_t now, char **out, size_t *outlen)
{
    if (!kr || !out)
        return HG_EINVAL;
    *out = NULL;
    struct snapshot *s = snap_get(kr);
    if (!s)
        return HG_EINVAL;
    uint32_t set = 0;
    hg_status st = HG_OK;
    for (size_t i = 0; i < s->m.n; i++)
        if (in_window(kr, &s->m.e[i], now))
            set |= UINT32_C(1) << i;
    pthread_mutex_lock(&s->jwks_mu);
    if (!s->jwks_valid || s->jwks_set != set) {
        char *doc = NULL;
        size_t len = 0;
        st = jwks_build(s, set, &doc, &len);
        if (st == HG_OK) {
            free(s->jwks);
            s->jwks = doc;
            s->jwks_len = len;
            s->jwks_set = set;
            s->jwks_valid = 1;
        }
    }
    if (st == HG_OK) {
        *out = malloc(s->jwks_len + 1);
        if (*out) {
            memcpy(*out, s->jwks, s->jwks_len + 1);
            if (outlen)
                *outlen = s->jwks_len;
        } else {
            st = HG_ENOMEM;
        }
    }
    pthread_mutex_unlock(&s->jwks_mu);
    snap_put(s);
    return st;
}

static int key_state(const struct hg_keyring *kr, const struct manifest *m, size_t i,
                     int64_t now)
{
    const struct mentry *e = &m->e[i];
    if (e->retires && now > verify_until(kr, e))
        return HG_KEY_EXPIRED;
    if (now < e->activates)
        return HG_KEY_PENDING;
    if (signer_index(m, now) == (int)i)
        return HG_KEY_CURRENT;
    return HG_KEY_RETIRED;
}

size_t hg_keyring_list(struct hg_keyring *kr, int64_t now, struct hg_keyring_info *out,
                       size_t cap)
{
    struct snapshot *s = kr ? snap_get(kr) : NULL;
    size_t n = 0;
    if (!s)
        return 0;
    /* newest first: insertion sort of at most 16 entries by (created,
     * activates), descending */
    size_t order[HG_KEYRING_MAX_KEYS];
    for (size_t i = 0; i < s->m.n; i++) {
        size_t j = i;
        const struct mentry *e = &s->m.e[i];
        while (j > 0) {
            const struct mentry *p = &s->m.e[order[j - 1]];
            /* ties: the later manifest entry is the newer key */
            if (p->created > e->created ||
                (p->created == e->created && p->activates > e->activates))
                break;
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (; n < s->m.n && n < cap; n++) {
        const struct mentry *e = &s->m.e[order[n]];
        struct hg_keyring_info *o = &out[n];
        memset(o, 0, sizeof *o);
        hg_strlcpy(o->kid, e->kid, sizeof o->kid);
        o->alg = e->alg;
        o->created = e->created;
        o->activates = e->activates;
        o->retires = e->retires;
        o->state = key_state(kr, &s->m, order[n], now);
    }
    snap_put(s);
    return n;
}
