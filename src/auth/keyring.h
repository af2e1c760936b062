/* SPDX-License-Identifier: Apache-2.0
 *
 * keyring.h — the token signing keys, kept in a directory (by default
 * <data_dir>/keys, mode 0700): one PKCS#8 PEM private key per kid
 * ("<kid>.pem", 0600) and a manifest ("keys.json", replaced atomically)
 * listing each key's kid, alg, created, activates (when it may first sign)
 * and retires (when it stops signing; null while current).
 *
 * Rotation publishes before it signs: a new key is added with activates =
 * now + publish_delay, so it is in the JWKS for at least that long (verifiers
 * that cache the JWKS learn it) before any token carries its kid. The key it
 * replaces retires at that same instant and stays in the JWKS, verifying,
 * until retires + token_lifetime + leeway, after which a rotation or reload
 * removes it (manifest entry and file, wiped). A directory with no key gets
 * one that is active at once (nothing can have cached a JWKS yet).
 *
 * Rotation may come from `haulctl keys rotate` (another process, the same
 * directory) or from the API; writers serialise on an flock of
 * "keys.lock". The daemon notices another process's rotation by
 * hg_keyring_reload (SIGHUP, and a periodic check of the manifest).
 *
 * Thread-safe: readers take a snapshot under a read lock; reload swaps it.
 * Private keys are never logged and are freed (wiped) with the snapshot.
 */
#ifndef HG_AUTH_KEYRING_H
#define HG_AUTH_KEYRING_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/jose.h"
#include "common/err.h"
#include "common/status.h"

#define HG_KEYRING_MAX_KEYS 16   /* manifest entries; rotation refuses more */

struct hg_keyring_opts {
    const char *dir;             /* the keys directory; created 0700 if absent */
    enum hg_jose_alg alg;        /* alg of keys created from now on */
    int64_t publish_delay_s;     /* >= 0 */
    int64_t token_lifetime_s;    /* > 0 */
    int64_t leeway_s;            /* >= 0 */
};

struct hg_keyring;

/* Open (creating the directory and a first key when there is none).
 * Refuses a key file readable by group or others (HG_EPERM, chmod 600),
 * a manifest that names a missing file (HG_ECORRUPT), and a malformed
 * manifest (HG_EPARSE, err says where). */
hg_status hg_keyring_open(const struct hg_keyring_opts *o, int64_t now,
                          struct hg_keyring **out, struct hg_err *err);
void hg_keyring_close(struct hg_keyring *kr);

/* Re-read the manifest if it changed on disk (size, mtime or inode) and
 * swap the snapshot; prunes nothing. *changed (may be NULL) says whether it
 * did. On error the old snapshot stays. */
hg_status hg_keyring_reload(struct hg_keyring *kr, int *changed, struct hg_err *err);

/* Rotate: add a new key (activates = now + publish_delay), retire the
 * current one at that instant, and prune keys past their verify window.
 * Works on the directory under its lock, then reloads. new_kid (may be
 * NULL) receives the new key's kid. HG_ETOOBIG if the manifest would hold
 * more than HG_KEYRING_MAX_KEYS keys still in their verify window. */
hg_status hg_keyring_rotate(struct hg_keyring *kr, int64_t now, char *new_kid, size_t cap,
                            struct hg_err *err);

/* Sign payload (a JSON object) as a compact JWS with typ, using the key
 * current at now (the newest with activates <= now that has not retired),
 * its kid in the header. HG_ESTATE if no key is current. */
hg_status hg_keyring_sign(struct hg_keyring *kr, int64_t now, const char *typ,
                          const json_t *payload, char **out, size_t *outlen,
                          struct hg_err *err);

/* Verify jws with the key its kid names (any key in the manifest that is
 * within its verify window at now). HG_OK; HG_ENOTFOUND for an unknown
 * kid (or no kid); HG_EVERIFY for a bad signature or an alg that is not
 * the key's. */
hg_status hg_keyring_verify(struct hg_keyring *kr, const struct hg_jws *jws, int64_t now);

/* The public JWKS document ({"keys":[...]} with kid, alg, use) of every key
 * in its verify window at now, including keys not active yet, serialised
 * compactly; *out malloc'd. */
hg_status hg_keyring_jwks(struct hg_keyring *kr, int64_t now, char **out, size_t *outlen);

/* One line per key for `haulctl keys list`. */
struct hg_keyring_info {
    char kid[HG_JWK_KID_MAX + 1];
    enum hg_jose_alg alg;
    int64_t created, activates, retires; /* retires = 0 while current */
    int state;                           /* HG_KEY_PENDING/CURRENT/RETIRED/EXPIRED */
};
enum { HG_KEY_PENDING = 1, HG_KEY_CURRENT, HG_KEY_RETIRED, HG_KEY_EXPIRED };
/* Up to cap keys of the current snapshot, newest first; returns the count. */
size_t hg_keyring_list(struct hg_keyring *kr, int64_t now, struct hg_keyring_info *out,
                       size_t cap);

#endif
