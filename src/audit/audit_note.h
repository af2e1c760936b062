/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_note.h — C2SP signed notes (c2sp.org/signed-note), transparency-log
 * checkpoints (c2sp.org/tlog-checkpoint) and verifier keys (the
 * "name+keyid+base64(0x01||pubkey)" text form used by Go's sumdb/note and
 * the witness ecosystem), for Ed25519 only. Byte-exact with those specs:
 *
 *   note      = text "\n" 1*( "— " name " " base64(keyid[4] || sig[64]) "\n" )
 *   keyid     = SHA-256(name || 0x0A || 0x01 || pub[32])[:4], big-endian
 *   checkpoint text = origin "\n" decimal(size) "\n" base64(root) "\n" *(ext "\n")
 *
 * Every parser here takes a length, never reads past it, and rejects notes
 * over HG_AUDIT_NOTE_MAX bytes or with more than HG_AUDIT_NOTE_MAX_SIGS
 * signatures. Verification never trusts the text until a signature by the
 * expected key (name AND key id) has verified.
 */
#ifndef HG_AUDIT_NOTE_H
#define HG_AUDIT_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit_merkle.h"
#include "common/buf.h"
#include "common/err.h"
#include "crypto/sign.h"

#define HG_AUDIT_NOTE_MAX 16384
#define HG_AUDIT_NOTE_MAX_SIGS 16
#define HG_AUDIT_NOTE_NAME_MAX 255
#define HG_AUDIT_NOTE_SIG_MAX 128 /* bytes after the key id; Ed25519 uses 64 */
#define HG_AUDIT_VKEY_MAX 512

struct hg_audit_note_sig {
    char name[HG_AUDIT_NOTE_NAME_MAX + 1];
    uint32_t keyid;
    size_t siglen;
    uint8_t sig[HG_AUDIT_NOTE_SIG_MAX];
};

/* A parsed (not yet verified) note: text is the first text_len bytes of the
 * input, including its final newline. */
struct hg_audit_note {
    size_t text_len;
    size_t nsigs;
    struct hg_audit_note_sig sigs[HG_AUDIT_NOTE_MAX_SIGS];
};

/* Split a signed note into text and signature lines. HG_EPARSE with a
 * message for: invalid UTF-8, a control character other than newline, no
 * blank line before the signatures, a malformed signature line (missing em
 * dash, empty name, a name with a space or '+', bad base64, fewer than 5
 * decoded bytes); HG_ETOOBIG for size or signature count over the limits.
 * Signatures longer than HG_AUDIT_NOTE_SIG_MAX bytes are kept as unknown
 * (siglen 0) so that notes cosigned with large post-quantum keys still
 * parse. */
hg_status hg_audit_note_parse(const char *p, size_t n, struct hg_audit_note *out,
                              struct hg_err *err);

/* An Ed25519 verifier: key name, key id and public key. */
struct hg_audit_verifier {
    char name[HG_AUDIT_NOTE_NAME_MAX + 1];
    uint32_t keyid;
    uint8_t pub[HG_SIGN_ED25519_PUB];
    struct hg_sign_key *key;
};

/* keyid = first 4 bytes (big-endian) of SHA-256(name || '\n' || 0x01 || pub). */
uint32_t hg_audit_note_keyid(const char *name, const uint8_t pub[HG_SIGN_ED25519_PUB]);

/* Check a key name: non-empty, at most 255 bytes, valid UTF-8, no spaces,
 * no '+', no control characters. */
int hg_audit_note_name_ok(const char *name, size_t n);

/* Parse "name+XXXXXXXX+base64(0x01||pub)" (surrounding whitespace, e.g. a
 * trailing newline from a file, is ignored). The key id in the text must
 * match the one computed from name and key. Fills *out (free with
 * hg_audit_verifier_cleanup). HG_EPARSE with a message otherwise. */
hg_status hg_audit_verifier_parse(const char *s, size_t n, struct hg_audit_verifier *out,
                                  struct hg_err *err);
/* Build a verifier from a name and a key (Ed25519; the public half is used). */
hg_status hg_audit_verifier_from_key(const char *name, const struct hg_sign_key *key,
                                     struct hg_audit_verifier *out, struct hg_err *err);
void hg_audit_verifier_cleanup(struct hg_audit_verifier *v);
/* Format the verifier key text (no newline) into out (cap bytes). */
hg_status hg_audit_verifier_format(const struct hg_audit_verifier *v, char *out, size_t cap);

/* Parse a Go/C2SP signer key "PRIVATE+KEY+name+XXXXXXXX+base64(0x01||seed)".
 * The returned key owns the secret; the text's copy is not touched. */
hg_status hg_audit_signer_parse(const char *s, size_t n, char name[HG_AUDIT_NOTE_NAME_MAX + 1],
                                struct hg_sign_key **key, struct hg_err *err);

/* Sign text (which must end with '\n' and be a valid note text) as `name`
 * with an Ed25519 private key, appending the whole signed note to out. */
hg_status hg_audit_note_sign(const char *text, size_t n, const char *name,
                             const struct hg_sign_key *key, struct hg_buf *out,
                             struct hg_err *err);

/* Parse the note and verify it against one trusted verifier: HG_OK when a
 * signature line with the verifier's name and key id verifies (others are
 * ignored, per the spec); HG_EVERIFY when there is none, or one that does
 * not verify (message says which); HG_EPARSE when the note is malformed.
 * *text_len receives the length of the signed text. */
hg_status hg_audit_note_verify(const char *p, size_t n, const struct hg_audit_verifier *v,
                               size_t *text_len, struct hg_err *err);

struct hg_audit_checkpoint {
    char origin[HG_AUDIT_NOTE_NAME_MAX + 1];
    uint64_t size;
    uint8_t root[HG_MERKLE_HASH];
};

/* Parse checkpoint note text (origin, size, base64 root, optional non-empty
 * extension lines). Size must have no leading zeros and fit in 63 bits. */
hg_status hg_audit_checkpoint_parse(const char *text, size_t n, struct hg_audit_checkpoint *out,
                                    struct hg_err *err);
/* Format the three mandatory lines into out (NUL-terminated); *len the
 * length without the NUL. */
hg_status hg_audit_checkpoint_format(const struct hg_audit_checkpoint *cp, char *out,
                                     size_t cap, size_t *len);
/* Verify a signed checkpoint note with v and parse its text. The origin must
 * equal the verifier's key name (we always sign with name == origin). */
hg_status hg_audit_checkpoint_open(const char *p, size_t n, const struct hg_audit_verifier *v,
                                   struct hg_audit_checkpoint *out, struct hg_err *err);

#endif
