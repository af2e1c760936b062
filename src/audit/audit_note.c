/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_note.c — C2SP signed notes, checkpoints and verifier keys. Parsing
 * is strict and bounded; the text of a note is never interpreted before a
 * trusted signature over it has been checked (hg_audit_checkpoint_open).
 */
#include "audit/audit_note.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit_record.h"
#include "common/util.h"
#include "crypto/hash.h"

#define EMDASH "\xe2\x80\x94"

int hg_audit_note_name_ok(const char *name, size_t n)
{
    if (n == 0 || n > HG_AUDIT_NOTE_NAME_MAX || !hg_audit_utf8_valid(name, n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= 0x20 || c == '+' || c == 0x7f)
            return 0;
        /* Unicode spaces that appear in UTF-8 as multi-byte sequences:
         * U+00A0, U+1680, U+2000-U+200A, U+2028/9, U+202F, U+205F, U+3000. */
        if (c == 0xc2 && i + 1 < n && (unsigned char)name[i + 1] == 0xa0)
            return 0;
        if (c == 0xe1 && i + 2 < n && (unsigned char)name[i + 1] == 0x9a &&
            (unsigned char)name[i + 2] == 0x80)
            return 0;
        if (c == 0xe2 && i + 2 < n) {
            unsigned char c1 = (unsigned char)name[i + 1], c2 = (unsigned char)name[i + 2];
            if (c1 == 0x80 && (c2 <= 0x8a || c2 == 0xa8 || c2 == 0xa9 || c2 == 0xaf))
                return 0;
            if (c1 == 0x81 && c2 == 0x9f)
                return 0;
        }
        if (c == 0xe3 && i + 2 < n && (unsigned char)name[i + 1] == 0x80 &&
            (unsigned char)name[i + 2] == 0x80)
            return 0;
    }
    return 1;
}

hg_status hg_audit_note_parse(const char *p, size_t n, struct hg_audit_note *out,
                              struct hg_err *err)
{
    out->text_len = 0;
    out->nsigs = 0;
    if (n > HG_AUDIT_NOTE_MAX)
        return hg_err_set(err, HG_ETOOBIG, "signed note is %zu bytes; the limit is %d", n,
                          HG_AUDIT_NOTE_MAX);
    if (!hg_audit_utf8_valid(p, n))
        return hg_err_set(err, HG_EPARSE, "signed note is not valid UTF-8");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 && p[i] != '\n')
            return hg_err_set(err, HG_EPARSE,
                              "signed note contains control character 0x%02x at byte %zu",
                              (unsigned)(unsigned char)p[i], i);
    if (n == 0 || p[n - 1] != '\n')
        return hg_err_set(err, HG_EPARSE, "signed note does not end with a newline");
    /* The text ends at the last blank line: find the last "\n\n". */
    size_t split = 0;
    int found = 0;
    for (size_t i = n - 1; i > 0; i--)
        if (p[i] == '\n' && p[i - 1] == '\n') {
            split = i; /* p[split] is the blank line */
            found = 1;
            break;
        }
    if (!found || split < 1)
        return hg_err_set(err, HG_EPARSE,
                          "signed note has no blank line between its text and signatures");
    out->text_len = split; /* includes the text's final newline */
    size_t i = split + 1;
    if (i >= n)
        return hg_err_set(err, HG_EPARSE, "signed note has no signature lines");
    while (i < n) {
        const char *line = p + i;
        const char *nl = memchr(line, '\n', n - i);
        size_t len = (size_t)(nl - line); /* nl exists: note ends with '\n' */
        size_t pre = sizeof EMDASH; /* em dash (3 bytes) + space */
        if (len < pre || memcmp(line, EMDASH " ", pre) != 0)
            return hg_err_set(err, HG_EPARSE,
                              "signed note signature line at byte %zu does not start with "
                              "an em dash and a space",
                              i);
        const char *name = line + pre;
        const char *sp = memchr(name, ' ', len - pre);
        if (!sp)
            return hg_err_set(err, HG_EPARSE,
                              "signed note signature line at byte %zu has no space between "
                              "key name and signature",
                              i);
        size_t namelen = (size_t)(sp - name);
        if (!hg_audit_note_name_ok(name, namelen))
            return hg_err_set(err, HG_EPARSE,
                              "signed note signature line at byte %zu has an invalid key name",
                              i);
        const char *b64 = sp + 1;
        size_t b64len = len - pre - namelen - 1;
        if (out->nsigs >= HG_AUDIT_NOTE_MAX_SIGS)
            return hg_err_set(err, HG_ETOOBIG, "signed note has more than %d signatures",
                              HG_AUDIT_NOTE_MAX_SIGS);
        struct hg_audit_note_sig *s = &out->sigs[out->nsigs];
        uint8_t raw[HG_AUDIT_NOTE_MAX];
        size_t rawlen = 0;
        if (hg_b64std_decode(b64, b64len, raw, sizeof raw, &rawlen) != HG_OK || rawlen < 5)
            return hg_err_set(err, HG_EPARSE,
                              "signed note signature line at byte %zu: signature is not "
                              "base64 of a key id and a signature",
                              i);
        memcpy(s->name, name, namelen);
        s->name[namelen] = '\0';
        s->keyid = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
        if (rawlen - 4 <= HG_AUDIT_NOTE_SIG_MAX) {
            s->siglen = rawlen - 4;
            memcpy(s->sig, raw + 4, s->siglen);
        } else {
            s->siglen = 0; /* too long for any key we verify: kept as unknown */
        }
        out->nsigs++;
        i += len + 1;
    }
    return HG_OK;
}

uint32_t hg_audit_note_keyid(const char *name, const uint8_t pub[HG_SIGN_ED25519_PUB])
{
    static const uint8_t sep[2] = {0x0a, 0x01};
    struct hg_sha256_part parts[3] = {{name, strlen(name)}, {sep, 2}, {pub, HG_SIGN_ED25519_PUB}};
    uint8_t h[HG_SHA256_LEN];
    hg_sha256_parts(parts, 3, h);
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

void hg_audit_verifier_cleanup(struct hg_audit_verifier *v)
{
    hg_sign_key_free(v->key);
    v->key = NULL;
}

hg_status hg_audit_verifier_from_key(const char *name, const struct hg_sign_key *key,
                                     struct hg_audit_verifier *out, struct hg_err *err)
{
    memset(out, 0, sizeof *out);
    size_t nlen = strlen(name);
    if (!hg_audit_note_name_ok(name, nlen))
        return hg_err_set(err, HG_EINVAL,
                          "key name '%s' is invalid: it must be non-empty, at most 255 bytes, "
                          "with no spaces or '+'",
                          name);
    if (hg_sign_key_alg(key) != HG_SIGN_ED25519)
        return hg_err_set(err, HG_EINVAL, "signed notes here use Ed25519 keys only");
    size_t publen = 0;
    if (hg_sign_key_public_raw(key, out->pub, sizeof out->pub, &publen) != HG_OK)
        return hg_err_set(err, HG_ECRYPTO, "cannot export the public key");
    memcpy(out->name, name, nlen + 1);
    out->keyid = hg_audit_note_keyid(name, out->pub);
    return hg_sign_key_from_raw_public(HG_SIGN_ED25519, out->pub, publen, &out->key, err);
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\n' ||
                  (*s)[*n - 1] == '\r'))
        (*n)--;
}

static int parse_hex8(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else
            return -1; /* Go emits lower case; accept only that */
    }
    *out = v;
    return 0;
}

/* name "+" 8 hex "+" base64: the name cannot contain '+', the base64 can. */
static hg_status split_key(const char *s, size_t n, const char **name, size_t *namelen,
                           uint32_t *keyid, const char **b64, size_t *b64len)
{
    const char *plus = memchr(s, '+', n);
    if (!plus)
        return HG_EPARSE;
    *name = s;
    *namelen = (size_t)(plus - s);
    size_t rest = n - *namelen - 1;
    if (rest < 10 || plus[9] != '+' || parse_hex8(plus + 1, keyid) != 0)
        return HG_EPARSE;
    *b64 = plus + 10;
    *b64len = rest - 9;
    return HG_OK;
}

hg_status hg_audit_verifier_parse(const char *s, size_t n, struct hg_audit_verifier *out,
                                  struct hg_err *err)
{
    memset(out, 0, sizeof *out);
    trim(&s, &n);
    if (n > HG_AUDIT_VKEY_MAX)
        return hg_err_set(err, HG_ETOOBIG, "verifier key is longer than %d bytes",
                          HG_AUDIT_VKEY_MAX);
    const char *name, *b64;
    size_t namelen, b64len;
    uint32_t keyid;
    if (split_key(s, n, &name, &namelen, &keyid, &b64, &b64len) != HG_OK)
        return hg_err_set(err, HG_EPARSE,
                          "verifier key is not of the form name+xxxxxxxx+base64 "
                          "(e.g. the audit.vkey file of the log)");
    if (!hg_audit_note_name_ok(name, namelen))
        return hg_err_set(err, HG_EPARSE, "verifier key has an invalid key name");
    uint8_t raw[64];
    size_t rawlen = 0;
    if (hg_b64std_decode(b64, b64len, raw, sizeof raw, &rawlen) != HG_OK)
        return hg_err_set(err, HG_EPARSE, "verifier key material is not valid base64");
    if (rawlen != 1 + HG_SIGN_ED25519_PUB || raw[0] != 0x01)
        return hg_err_set(err, HG_EPARSE,
                          "verifier key is not an Ed25519 key (type byte 0x01, 32 bytes)");
    memcpy(out->name, name, namelen);
    out->name[namelen] = '\0';
    memcpy(out->pub, raw + 1, HG_SIGN_ED25519_PUB);
    out->keyid = hg_audit_note_keyid(out->name, out->pub);
    if (out->keyid != keyid)
        return hg_err_set(err, HG_EPARSE,
                          "verifier key id %08x does not match its name and key (expected "
                          "%08x); the key text was altered",
                          keyid, out->keyid);
    return hg_sign_key_from_raw_public(HG_SIGN_ED25519, out->pub, HG_SIGN_ED25519_PUB,
                                       &out->key, err);
}

hg_status hg_audit_verifier_format(const struct hg_audit_verifier *v, char *out, size_t cap)
{
    uint8_t raw[1 + HG_SIGN_ED25519_PUB];
    char b64[64];
    raw[0] = 0x01;
    memcpy(raw + 1, v->pub, HG_SIGN_ED25519_PUB);
    if (hg_b64std_encode(raw, sizeof raw, b64, sizeof b64) != HG_OK)
        return HG_ETOOBIG;
    int w = snprintf(out, cap, "%s+%08x+%s", v->name, v->keyid, b64);
    return w < 0 || (size_t)w >= cap ? HG_ETOOBIG : HG_OK;
}

hg_status hg_audit_signer_parse(const char *s, size_t n, char name[HG_AUDIT_NOTE_NAME_MAX + 1],
                                struct hg_sign_key **key, struct hg_err *err)
{
    static const char prefix[] = "PRIVATE+KEY+";
    *key = NULL;
    trim(&s, &n);
    if (n < sizeof prefix - 1 || memcmp(s, prefix, sizeof prefix - 1) != 0 ||
        n > HG_AUDIT_VKEY_MAX)
        return hg_err_set(err, HG_EPARSE, "signer key does not start with PRIVATE+KEY+");
    s += sizeof prefix - 1;
    n -= sizeof prefix - 1;
    const char *nm, *b64;
    size_t namelen, b64len;
    uint32_t keyid;
    if (split_key(s, n, &nm, &namelen, &keyid, &b64, &b64len) != HG_OK ||
        !hg_audit_note_name_ok(nm, namelen))
        return hg_err_set(err, HG_EPARSE, "signer key is not PRIVATE+KEY+name+xxxxxxxx+base64");
    uint8_t raw[64];
    size_t rawlen = 0;
    hg_status st = HG_OK;
    if (hg_b64std_decode(b64, b64len, raw, sizeof raw, &rawlen) != HG_OK ||
        rawlen != 1 + HG_SIGN_ED25519_SEED || raw[0] != 0x01) {
        st = hg_err_set(err, HG_EPARSE, "signer key is not an Ed25519 key");
        goto out;
    }
    memcpy(name, nm, namelen);
    name[namelen] = '\0';
    st = hg_sign_key_from_ed25519_seed(raw + 1, key, err);
    if (st != HG_OK)
        goto out;
    uint8_t pub[HG_SIGN_ED25519_PUB];
    size_t publen = 0;
    if (hg_sign_key_public_raw(*key, pub, sizeof pub, &publen) != HG_OK ||
        hg_audit_note_keyid(name, pub) != keyid) {
        hg_sign_key_free(*key);
        *key = NULL;
        st = hg_err_set(err, HG_EPARSE, "signer key id does not match its name and key");
    }
out:
    OPENSSL_cleanse(raw, sizeof raw);
    return st;
}

hg_status hg_audit_note_sign(const char *text, size_t n, const char *name,
                             const struct hg_sign_key *key, struct hg_buf *out,
                             struct hg_err *err)
{
    struct hg_audit_verifier v;
    hg_status st = hg_audit_verifier_from_key(name, key, &v, err);
    if (st != HG_OK)
        return st;
    if (n == 0 || text[n - 1] != '\n' || (n >= 2 && text[n - 2] == '\n') ||
        !hg_audit_utf8_valid(text, n) || n > HG_AUDIT_NOTE_MAX / 2) {
        st = hg_err_set(err, HG_EINVAL,
                        "note text must be non-empty UTF-8 ending in exactly one newline");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)text[i] < 0x20 && text[i] != '\n') {
            st = hg_err_set(err, HG_EINVAL, "note text contains a control character");
            goto out;
        }
    uint8_t raw[4 + 64];
    size_t siglen = 0;
    st = hg_sign(key, HG_SIG_RAW, text, n, raw + 4, sizeof raw - 4, &siglen, err);
    if (st != HG_OK)
        goto out;
    raw[0] = (uint8_t)(v.keyid >> 24);
    raw[1] = (uint8_t)(v.keyid >> 16);
    raw[2] = (uint8_t)(v.keyid >> 8);
    raw[3] = (uint8_t)v.keyid;
    char b64[128];
    if (hg_b64std_encode(raw, 4 + siglen, b64, sizeof b64) != HG_OK) {
        st = hg_err_set(err, HG_ETOOBIG, "signature too long");
        goto out;
    }
    size_t mark = out->len;
    if ((st = hg_buf_append(out, text, n)) != HG_OK ||
        (st = hg_buf_printf(out, "\n" EMDASH " %s %s\n", name, b64)) != HG_OK) {
        out->len = mark;
        st = hg_err_set(err, st, "signed note exceeds its buffer");
    }
out:
    hg_audit_verifier_cleanup(&v);
    return st;
}

hg_status hg_audit_note_verify(const char *p, size_t n, const struct hg_audit_verifier *v,
                               size_t *text_len, struct hg_err *err)
{
    struct hg_audit_note note;
    hg_status st = hg_audit_note_parse(p, n, &note, err);
    if (st != HG_OK)
        return st;
    int seen = 0;
    for (size_t i = 0; i < note.nsigs; i++) {
        const struct hg_audit_note_sig *s = &note.sigs[i];
        if (s->keyid != v->keyid || strcmp(s->name, v->name) != 0)
            continue; /* unknown key: ignored, per the spec */
        seen = 1;
        if (hg_sign_verify(v->key, HG_SIG_RAW, p, note.text_len, s->sig, s->siglen) != HG_OK)
            return hg_err_set(err, HG_EVERIFY,
                              "signature by %s (key id %08x) does not verify: the note was "
                              "altered or signed with a different key",
                              v->name, v->keyid);
    }
    if (!seen)
        return hg_err_set(err, HG_EVERIFY,
                          "note has no signature by the trusted key %s+%08x (it may be "
                          "signed by another key with the same name)",
                          v->name, v->keyid);
    if (text_len)
        *text_len = note.text_len;
    return HG_OK;
}

hg_status hg_audit_checkpoint_parse(const char *text, size_t n, struct hg_audit_checkpoint *out,
                                    struct hg_err *err)
{
    const char *lines[3];
    size_t lens[3];
    size_t i = 0;
    memset(out, 0, sizeof *out);
    if (n > HG_AUDIT_NOTE_MAX || n == 0 || text[n - 1] != '\n')
        return hg_err_set(err, HG_EPARSE, "checkpoint text must end with a newline");
    for (int k = 0; k < 3; k++) {
        if (i >= n)
            return hg_err_set(err, HG_EPARSE,
                              "checkpoint has fewer than three lines (origin, size, root)");
        const char *nl = memchr(text + i, '\n', n - i);
        lines[k] = text + i;
        lens[k] = (size_t)(nl - (text + i));
        i += lens[k] + 1;
    }
    /* Extension lines: allowed, opaque, but each must be non-empty. */
    while (i < n) {
        const char *nl = memchr(text + i, '\n', n - i);
        if (nl == text + i)
            return hg_err_set(err, HG_EPARSE, "checkpoint has an empty extension line");
        i = (size_t)(nl - text) + 1;
    }
    if (lens[0] == 0 || lens[0] > HG_AUDIT_NOTE_NAME_MAX)
        return hg_err_set(err, HG_EPARSE, "checkpoint origin line is empty or too long");
    memcpy(out->origin, lines[0], lens[0]);
    out->origin[lens[0]] = '\0';
    if (lens[1] == 0 || lens[1] > 19 || (lens[1] > 1 && lines[1][0] == '0'))
        return hg_err_set(err, HG_EPARSE,
                          "checkpoint tree size must be a decimal number without leading zeros");
    uint64_t v = 0;
    for (size_t k = 0; k < lens[1]; k++) {
        char c = lines[1][k];
        if (c < '0' || c > '9')
            return hg_err_set(err, HG_EPARSE, "checkpoint tree size is not a decimal number");
        v = v * 10 + (uint64_t)(c - '0');
    }
    if (v > INT64_MAX)
        return hg_err_set(err, HG_EPARSE, "checkpoint tree size is out of range");
    out->size = v;
    size_t rl = 0;
    if (hg_b64std_decode(lines[2], lens[2], out->root, sizeof out->root, &rl) != HG_OK ||
        rl != HG_MERKLE_HASH)
        return hg_err_set(err, HG_EPARSE, "checkpoint root hash is not base64 of 32 bytes");
    return HG_OK;
}

hg_status hg_audit_checkpoint_format(const struct hg_audit_checkpoint *cp, char *out,
                                     size_t cap, size_t *len)
{
    char b64[48];
    if (hg_b64std_encode(cp->root, HG_MERKLE_HASH, b64, sizeof b64) != HG_OK)
        return HG_ETOOBIG;
    int w = snprintf(out, cap, "%s\n%llu\n%s\n", cp->origin, (unsigned long long)cp->size, b64);
    if (w < 0 || (size_t)w >= cap)
        return HG_ETOOBIG;
    *len = (size_t)w;
    return HG_OK;
}

hg_status hg_audit_checkpoint_open(const char *p, size_t n, const struct hg_audit_verifier *v,
                                   struct hg_audit_checkpoint *out, struct hg_err *err)
{
    size_t text_len = 0;
    hg_status st = hg_audit_note_verify(p, n, v, &text_len, err);
    if (st != HG_OK)
        return st;
    st = hg_audit_checkpoint_parse(p, text_len, out, err);
    if (st != HG_OK)
        return st;
    if (strcmp(out->origin, v->name) != 0)
        return hg_err_set(err, HG_EVERIFY,
                          "checkpoint origin '%s' differs from the key name '%s'", out->origin,
                          v->name);
    return HG_OK;
}
