/* SPDX-License-Identifier: Apache-2.0
 *
 * jose.c — strict compact JWS (ES256, EdDSA only), public JWKs (EC P-256,
 * OKP Ed25519), RFC 7638 thumbprints and JWK Sets. The parser decides the
 * algorithm from the header before anything else and refuses every alg off
 * the closed list, so a token can never choose its own verification
 * primitive; verification then also insists that the key is of the type the
 * alg names. Every input is bounded by a length, JSON with duplicate member
 * names is refused (two parsers must never see two different values), and
 * signing/verification is left entirely to crypto/sign.h. This unit never
 * accepts or emits a private JWK member.
 */
#include "auth/jose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "crypto/hash.h"

#define SIG_B64_LEN 86     /* base64url of a 64-byte signature */
#define COORD_LEN 32       /* P-256 coordinate, Ed25519 public key */
#define COORD_B64_LEN 43   /* base64url of 32 bytes */
#define SHOW_MAX 40        /* longest piece of untrusted input echoed in a message */

struct jwks_entry {
    char kid[HG_JWK_KID_MAX + 1];
    struct hg_sign_key *key;
};

struct hg_jwks {
    size_t n;
    struct jwks_entry keys[HG_JWKS_MAX_KEYS];
};

/* Untrusted text for an error message: printable ASCII only, truncated, so
 * a hostile value cannot forge log lines or flood a problem document. */
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

const char *hg_jose_alg_name(enum hg_jose_alg alg)
{
    switch (alg) {
    case HG_JOSE_ES256:
        return "ES256";
    case HG_JOSE_EDDSA:
        return "EdDSA";
    default:
        return "?";
    }
}

enum hg_jose_alg hg_jose_key_alg(const struct hg_sign_key *key)
{
    if (!key)
        return HG_JOSE_ALG_UNKNOWN;
    switch (hg_sign_key_alg(key)) {
    case HG_SIGN_ES256:
        return HG_JOSE_ES256;
    case HG_SIGN_ED25519:
        return HG_JOSE_EDDSA;
    default:
        return HG_JOSE_ALG_UNKNOWN;
    }
}

/* The closed allow-list. Case matters: "es256" is not an alg (RFC 7518 §3.1
 * names are case-sensitive), and accepting variants would only widen what
 * an attacker can try. */
static enum hg_jose_alg alg_from_name(const char *s)
{
    if (strcmp(s, "ES256") == 0)
        return HG_JOSE_ES256;
    if (strcmp(s, "EdDSA") == 0)
        return HG_JOSE_EDDSA;
    return HG_JOSE_ALG_UNKNOWN;
}

/* Parse JSON text that must be an object, duplicate member names refused.
 * NUL escapes are refused too (jansson's default), so every string member is
 * a C string with no hidden tail. */
static json_t *load_object(const char *p, size_t n, const char *what, struct hg_err *err)
{
    json_error_t jerr;
    json_t *v = json_loadb(p, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!v) {
        char b[SHOW_MAX + 4];
        hg_err_set(err, HG_EPARSE, "%s is not valid JSON (%s at byte %d)", what,
                   show(jerr.text, b), jerr.position);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        hg_err_set(err, HG_EPARSE, "%s is not a JSON object", what);
        return NULL;
    }
    return v;
}

void hg_jws_free(struct hg_jws *jws)
{
    if (!jws)
        return;
    json_decref(jws->header);
    json_decref(jws->payload);
    free(jws->signing_input);
    memset(jws, 0, sizeof *jws);
}

/* The header checks, in order: object, string alg on the list, no crit,
 * well-formed kid and typ. The alg comes first so that a foreign JWS (RS256,
 * HS256...) is named as unsupported rather than as malformed. */
static hg_status check_header(struct hg_jws *out, struct hg_err *err)
{
    char b[SHOW_MAX + 4];
    json_t *alg = json_object_get(out->header, "alg");
    if (!alg)
        return hg_err_set(err, HG_EPARSE, "JWS header has no \"alg\"; it must name ES256 or EdDSA");
    if (!json_is_string(alg))
        return hg_err_set(err, HG_EPARSE, "JWS header \"alg\" is not a string");
    out->alg = alg_from_name(json_string_value(alg));
    if (out->alg == HG_JOSE_ALG_UNKNOWN)
        return hg_err_set(err, HG_EUNSUPPORTED,
                          "JWS alg \"%s\" is not accepted; only ES256 and EdDSA signatures are "
                          "(never none, HMAC or RSA)",
                          show(json_string_value(alg), b));
    /* RFC 7515 §4.1.11: a recipient that does not understand a listed
     * extension must refuse; we understand none. */
    if (json_object_get(out->header, "crit"))
        return hg_err_set(err, HG_EPARSE,
                          "JWS header has \"crit\" (critical extensions), which haulgate does not "
                          "implement; sign without extensions");
    json_t *kid = json_object_get(out->header, "kid");
    if (kid) {
        if (!json_is_string(kid) || json_string_length(kid) == 0 ||
            json_string_length(kid) > HG_JWK_KID_MAX)
            return hg_err_set(err, HG_EPARSE,
                              "JWS header \"kid\" must be a string of 1 to %d characters",
                              HG_JWK_KID_MAX);
        out->kid = json_string_value(kid);
    }
    json_t *typ = json_object_get(out->header, "typ");
    if (typ) {
        if (!json_is_string(typ))
            return hg_err_set(err, HG_EPARSE, "JWS header \"typ\" is not a string");
        out->typ = json_string_value(typ);
    }
    return HG_OK;
}

hg_status hg_jws_parse(const char *s, size_t n, struct hg_jws *out, struct hg_err *err)
{
    hg_status st = HG_OK;
    unsigned char *pbuf = NULL;
    if (!out)
        return hg_err_set(err, HG_EINVAL, "no JWS output");
    memset(out, 0, sizeof *out);
    if (!s)
        return hg_err_set(err, HG_EINVAL, "no JWS input");
    if (n > HG_JWS_MAX)
        return hg_err_set(err, HG_ETOOBIG, "JWS is %zu bytes; at most %d are accepted", n,
                          HG_JWS_MAX);
    if (n == 0)
        return hg_err_set(err, HG_EPARSE, "JWS is empty");

    const char *d1 = memchr(s, '.', n);
    const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - s)) : NULL;
    if (!d1 || !d2)
        return hg_err_set(err, HG_EPARSE,
                          "not a compact JWS: it must have three base64url parts separated by "
                          "'.'");
    if (memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - s)))
        return hg_err_set(err, HG_EPARSE,
                          "not a compact JWS: more than three '.'-separated parts (a JWE or "
                          "JSON serialisation is not accepted)");
    size_t hlen = (size_t)(d1 - s);
    size_t plen = (size_t)(d2 - d1 - 1);
    size_t slen = n - (size_t)(d2 + 1 - s);

    /* header */
    if (hlen == 0)
        return hg_err_set(err, HG_EPARSE, "JWS header part is empty");
    if (hlen > hg_b64url_enclen(HG_JWS_HEADER_MAX))
        return hg_err_set(err, HG_EPARSE, "JWS header is longer than %d bytes",
                          HG_JWS_HEADER_MAX);
    unsigned char hbuf[HG_JWS_HEADER_MAX];
    size_t hdec = 0;
    if (hg_b64url_decode(s, hlen, hbuf, sizeof hbuf, &hdec) != HG_OK)
        return hg_err_set(err, HG_EPARSE,
                          "JWS header is not strict base64url (no padding, no '+' or '/')");
    out->header = load_object((const char *)hbuf, hdec, "JWS header", err);
    if (!out->header) {
        st = HG_EPARSE;
        goto out;
    }
    st = check_header(out, err);
    if (st != HG_OK)
        goto out;

    /* payload */
    if (plen == 0) {
        st = hg_err_set(err, HG_EPARSE, "JWS payload part is empty (detached payloads are not "
                                        "accepted)");
        goto out;
    }
    size_t pcap = plen / 4 * 3 + 3;
    pbuf = malloc(pcap);
    if (!pbuf) {
        st = hg_err_set(err, HG_ENOMEM, "out of memory for a JWS payload");
        goto out;
    }
    size_t pdec = 0;
    if (hg_b64url_decode(d1 + 1, plen, pbuf, pcap, &pdec) != HG_OK) {
        st = hg_err_set(err, HG_EPARSE,
                        "JWS payload is not strict base64url (no padding, no '+' or '/')");
        goto out;
    }
    out->payload = load_object((const char *)pbuf, pdec, "JWS payload", err);
    if (!out->payload) {
        st = HG_EPARSE;
        goto out;
    }

    /* signature: both algs give exactly 64 bytes, so anything else is
     * refused before any crypto runs */
    size_t sdec = 0;
    if (slen != SIG_B64_LEN) {
        st = hg_err_set(err, HG_EPARSE,
                        "JWS signature must be 64 bytes (%d base64url characters); got %zu "
                        "characters",
                        SIG_B64_LEN, slen);
        goto out;
    }
    if (hg_b64url_decode(d2 + 1, slen, out->sig, sizeof out->sig, &sdec) != HG_OK ||
        sdec != sizeof out->sig) {
        st = hg_err_set(err, HG_EPARSE, "JWS signature is not strict base64url");
        goto out;
    }
    out->siglen = sdec;

    out->signing_input_len = hlen + 1 + plen;
    out->signing_input = malloc(out->signing_input_len + 1);
    if (!out->signing_input) {
        st = hg_err_set(err, HG_ENOMEM, "out of memory for a JWS");
        goto out;
    }
    memcpy(out->signing_input, s, out->signing_input_len);
    out->signing_input[out->signing_input_len] = '\0';
out:
    free(pbuf);
    if (st != HG_OK)
        hg_jws_free(out);
    return st;
}

hg_status hg_jws_verify(const struct hg_jws *jws, const struct hg_sign_key *key)
{
    if (!jws || !key || !jws->signing_input)
        return HG_EVERIFY;
    /* algorithm confusion: the key must be of the type the header names */
    if (jws->alg == HG_JOSE_ALG_UNKNOWN || hg_jose_key_alg(key) != jws->alg)
        return HG_EVERIFY;
    if (jws->siglen != HG_SIGN_ES256_RAW_SIG)
        return HG_EVERIFY;
    hg_status st = hg_sign_verify(key, HG_SIG_RAW, jws->signing_input, jws->signing_input_len,
                                  jws->sig, jws->siglen);
    return st == HG_OK ? HG_OK : HG_EVERIFY;
}

static int reserved_header_name(const char *k)
{
    return strcmp(k, "alg") == 0 || strcmp(k, "typ") == 0 || strcmp(k, "kid") == 0 ||
           strcmp(k, "crit") == 0;
}

hg_status hg_jws_sign(const struct hg_sign_key *key, const char *typ, const char *kid,
                      const json_t *extra_header, const json_t *payload, char **out,
                      size_t *outlen, struct hg_err *err)
{
    hg_status st = HG_OK;
    json_t *hdr = NULL;
    char *hs = NULL, *ps = NULL, *buf = NULL;
    if (!out)
        return hg_err_set(err, HG_EINVAL, "no output for the JWS");
    *out = NULL;
    if (outlen)
        *outlen = 0;
    enum hg_jose_alg alg = hg_jose_key_alg(key);
    if (alg == HG_JOSE_ALG_UNKNOWN)
        return hg_err_set(err, HG_EINVAL, "no usable signing key");
    if (!hg_sign_key_has_private(key))
        return hg_err_set(err, HG_EINVAL, "cannot sign a JWS with a public key");
    if (!json_is_object(payload))
        return hg_err_set(err, HG_EINVAL, "a JWS payload must be a JSON object");
    if (extra_header && !json_is_object(extra_header))
        return hg_err_set(err, HG_EINVAL, "extra JWS header members must be a JSON object");
    if (kid && (!*kid || strlen(kid) > HG_JWK_KID_MAX))
        return hg_err_set(err, HG_EINVAL, "kid must be 1 to %d characters", HG_JWK_KID_MAX);

    hdr = json_object();
    if (!hdr || json_object_set_new(hdr, "alg", json_string(hg_jose_alg_name(alg))) != 0 ||
        (typ && json_object_set_new(hdr, "typ", json_string(typ)) != 0) ||
        (kid && json_object_set_new(hdr, "kid", json_string(kid)) != 0)) {
        st = hg_err_set(err, HG_ENOMEM, "out of memory for a JWS header");
        goto out;
    }
    if (extra_header) {
        const char *k;
        json_t *v;
        /* jansson keeps insertion order, so the header reads alg, typ, kid,
         * then the extras in the caller's order */
        json_object_foreach((json_t *)extra_header, k, v) {
            if (reserved_header_name(k)) {
                st = hg_err_set(err, HG_EINVAL,
                                "extra JWS header member \"%s\" is set by the signer itself", k);
                goto out;
            }
            if (json_object_set(hdr, k, v) != 0) {
                st = hg_err_set(err, HG_ENOMEM, "out of memory for a JWS header");
                goto out;
            }
        }
    }
    hs = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ps = json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!hs || !ps) {
        st = hg_err_set(err, HG_ENOMEM, "cannot serialise the JWS header or payload");
        goto out;
    }
    size_t hl = strlen(hs), pl = strlen(ps);
    if (hl > HG_JWS_HEADER_MAX) {
        st = hg_err_set(err, HG_ETOOBIG, "JWS header would be %zu bytes; at most %d", hl,
                        HG_JWS_HEADER_MAX);
        goto out;
    }
    size_t he = hg_b64url_enclen(hl), pe = hg_b64url_enclen(pl);
    size_t total = he + 1 + pe + 1 + SIG_B64_LEN;
    if (total > HG_JWS_MAX) {
        st = hg_err_set(err, HG_ETOOBIG,
                        "the JWS would be %zu bytes, over the %d that verifiers accept; make "
                        "the payload smaller",
                        total, HG_JWS_MAX);
        goto out;
    }
    buf = malloc(total + 1);
    if (!buf) {
        st = hg_err_set(err, HG_ENOMEM, "out of memory for a JWS");
        goto out;
    }
    hg_b64url_encode(hs, hl, buf, total + 1);
    buf[he] = '.';
    hg_b64url_encode(ps, pl, buf + he + 1, total + 1 - he - 1);
    size_t si = he + 1 + pe;
    uint8_t sig[HG_SIGN_MAX_SIG];
    size_t siglen = 0;
    st = hg_sign(key, HG_SIG_RAW, buf, si, sig, sizeof sig, &siglen, err);
    if (st != HG_OK)
        goto out;
    if (siglen != HG_SIGN_ES256_RAW_SIG) {
        st = hg_err_set(err, HG_ECRYPTO, "unexpected signature length %zu", siglen);
        goto out;
    }
    buf[si] = '.';
    hg_b64url_encode(sig, siglen, buf + si + 1, total + 1 - si - 1);
    *out = buf;
    buf = NULL;
    if (outlen)
        *outlen = total;
out:
    free(buf);
    free(hs);
    free(ps);
    json_decref(hdr);
    return st;
}

/* ------------------------------------------------------------------ JWK */

/* A base64url member that must decode to exactly 32 bytes. */
static hg_status coord(const json_t *jwk, const char *name, const char *what,
                       uint8_t out[COORD_LEN], struct hg_err *err)
{
    json_t *v = json_object_get(jwk, name);
    if (!v)
        return hg_err_set(err, HG_EPARSE, "%s JWK has no \"%s\"", what, name);
    if (!json_is_string(v))
        return hg_err_set(err, HG_EPARSE, "%s JWK \"%s\" is not a string", what, name);
    size_t len = 0;
    if (json_string_length(v) != COORD_B64_LEN ||
        hg_b64url_decode(json_string_value(v), COORD_B64_LEN, out, COORD_LEN, &len) != HG_OK ||
        len != COORD_LEN)
        return hg_err_set(err, HG_EPARSE,
                          "%s JWK \"%s\" must be 32 bytes in strict base64url (%d characters)",
                          what, name, COORD_B64_LEN);
    return HG_OK;
}

hg_status hg_jwk_import(const json_t *jwk, struct hg_sign_key **out, struct hg_err *err)
{
    char b[SHOW_MAX + 4];
    if (!out)
        return hg_err_set(err, HG_EINVAL, "no output for the JWK");
    *out = NULL;
    if (!json_is_object(jwk))
        return hg_err_set(err, HG_EPARSE, "JWK is not a JSON object");
    /* checked before anything else: a private key must be refused whatever
     * its type, and the message must say so rather than "unsupported" */
    if (json_object_get(jwk, "d"))
        return hg_err_set(err, HG_EPARSE,
                          "JWK contains a private key (\"d\"); send only the public key");
    json_t *kty = json_object_get(jwk, "kty");
    json_t *crv = json_object_get(jwk, "crv");
    if (!json_is_string(kty))
        return hg_err_set(err, HG_EPARSE, "JWK has no string \"kty\"");
    const char *ks = json_string_value(kty);
    const char *cs = json_is_string(crv) ? json_string_value(crv) : NULL;
    enum hg_sign_alg salg;
    if (strcmp(ks, "EC") == 0) {
        if (!cs)
            return hg_err_set(err, HG_EPARSE, "EC JWK has no string \"crv\"");
        if (strcmp(cs, "P-256") != 0)
            return hg_err_set(err, HG_EUNSUPPORTED,
                              "EC JWK curve \"%s\" is not supported; only P-256 is", show(cs, b));
        salg = HG_SIGN_ES256;
    } else if (strcmp(ks, "OKP") == 0) {
        if (!cs)
            return hg_err_set(err, HG_EPARSE, "OKP JWK has no string \"crv\"");
        if (strcmp(cs, "Ed25519") != 0)
            return hg_err_set(err, HG_EUNSUPPORTED,
                              "OKP JWK curve \"%s\" is not supported; only Ed25519 is",
                              show(cs, b));
        salg = HG_SIGN_ED25519;
    } else {
        return hg_err_set(err, HG_EUNSUPPORTED,
                          "JWK key type \"%s\" is not supported; only EC (P-256) and OKP "
                          "(Ed25519) are",
                          show(ks, b));
    }
    enum hg_jose_alg want = salg == HG_SIGN_ES256 ? HG_JOSE_ES256 : HG_JOSE_EDDSA;
    json_t *alg = json_object_get(jwk, "alg");
    if (alg) {
        if (!json_is_string(alg))
            return hg_err_set(err, HG_EPARSE, "JWK \"alg\" is not a string");
        enum hg_jose_alg a = alg_from_name(json_string_value(alg));
        /* a key published for another purpose (ECDH-ES, ES384...) is not
         * ours to use: unsupported, so a JWK Set skips it */
        if (a == HG_JOSE_ALG_UNKNOWN)
            return hg_err_set(err, HG_EUNSUPPORTED, "JWK alg \"%s\" is not supported",
                              show(json_string_value(alg), b));
        if (a != want)
            return hg_err_set(err, HG_EPARSE, "JWK alg %s does not match its %s key (%s)",
                              hg_jose_alg_name(a), ks, hg_jose_alg_name(want));
    }
    uint8_t raw[HG_SIGN_MAX_PUB];
    size_t rawlen;
    hg_status st;
    if (salg == HG_SIGN_ES256) {
        raw[0] = 0x04;
        if ((st = coord(jwk, "x", "EC", raw + 1, err)) != HG_OK ||
            (st = coord(jwk, "y", "EC", raw + 1 + COORD_LEN, err)) != HG_OK)
            return st;
        rawlen = HG_SIGN_ES256_PUB;
    } else {
        if ((st = coord(jwk, "x", "OKP", raw, err)) != HG_OK)
            return st;
        rawlen = HG_SIGN_ED25519_PUB;
    }
    st = hg_sign_key_from_raw_public(salg, raw, rawlen, out, err);
    if (st != HG_OK && st != HG_ENOMEM)
        st = HG_EPARSE;
    return st;
}

/* x (and y) of key in base64url. */
static hg_status public_b64(const struct hg_sign_key *key, char x[COORD_B64_LEN + 1],
                            char y[COORD_B64_LEN + 1])
{
    uint8_t raw[HG_SIGN_MAX_PUB];
    size_t len = 0;
    hg_status st = hg_sign_key_public_raw(key, raw, sizeof raw, &len);
    if (st != HG_OK)
        return st;
    y[0] = '\0';
    if (len == HG_SIGN_ED25519_PUB)
        return hg_b64url_encode(raw, COORD_LEN, x, COORD_B64_LEN + 1);
    if (len != HG_SIGN_ES256_PUB)
        return HG_ECRYPTO;
    st = hg_b64url_encode(raw + 1, COORD_LEN, x, COORD_B64_LEN + 1);
    if (st == HG_OK)
        st = hg_b64url_encode(raw + 1 + COORD_LEN, COORD_LEN, y, COORD_B64_LEN + 1);
    return st;
}

json_t *hg_jwk_export(const struct hg_sign_key *key, const char *kid, int with_alg)
{
    char x[COORD_B64_LEN + 1], y[COORD_B64_LEN + 1];
    enum hg_jose_alg alg = hg_jose_key_alg(key);
    if (alg == HG_JOSE_ALG_UNKNOWN || public_b64(key, x, y) != HG_OK)
        return NULL;
    int ec = alg == HG_JOSE_ES256;
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "kty", json_string(ec ? "EC" : "OKP")) != 0 ||
        json_object_set_new(o, "crv", json_string(ec ? "P-256" : "Ed25519")) != 0 ||
        json_object_set_new(o, "x", json_string(x)) != 0 ||
        (ec && json_object_set_new(o, "y", json_string(y)) != 0) ||
        (kid && json_object_set_new(o, "kid", json_string(kid)) != 0) ||
        (with_alg && (json_object_set_new(o, "alg", json_string(hg_jose_alg_name(alg))) != 0 ||
                      json_object_set_new(o, "use", json_string("sig")) != 0))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

hg_status hg_jwk_thumbprint(const struct hg_sign_key *key, char out[HG_JWK_THUMB_LEN + 1])
{
    char x[COORD_B64_LEN + 1], y[COORD_B64_LEN + 1];
    char canon[160];
    out[0] = '\0';
    enum hg_jose_alg alg = hg_jose_key_alg(key);
    if (alg == HG_JOSE_ALG_UNKNOWN)
        return HG_EINVAL;
    hg_status st = public_b64(key, x, y);
    if (st != HG_OK)
        return st;
    /* RFC 7638 §3.2: only the required members, names in lexicographic
     * order, no whitespace; base64url values need no escaping */
    int len = alg == HG_JOSE_ES256
                  ? snprintf(canon, sizeof canon,
                             "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y)
                  : snprintf(canon, sizeof canon, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}",
                             x);
    if (len < 0 || (size_t)len >= sizeof canon)
        return HG_ETOOBIG;
    uint8_t h[HG_SHA256_LEN];
    hg_sha256(canon, (size_t)len, h);
    return hg_b64url_encode(h, sizeof h, out, HG_JWK_THUMB_LEN + 1);
}

/* ---------------------------------------------------------------- JWKS */

hg_status hg_jwks_parse(const char *s, size_t n, struct hg_jwks **out, struct hg_err *err)
{
    char b[SHOW_MAX + 4];
    hg_status st = HG_OK;
    json_t *root = NULL;
    struct hg_jwks *set = NULL;
    if (!out)
        return hg_err_set(err, HG_EINVAL, "no output for the JWK Set");
    *out = NULL;
    if (!s)
        return hg_err_set(err, HG_EINVAL, "no JWK Set input");
    if (n > HG_JWKS_MAX_BYTES)
        return hg_err_set(err, HG_ETOOBIG, "JWK Set is %zu bytes; at most %d are accepted", n,
                          HG_JWKS_MAX_BYTES);
    root = load_object(s, n, "JWK Set", err);
    if (!root)
        return HG_EPARSE;
    json_t *keys = json_object_get(root, "keys");
    if (!json_is_array(keys)) {
        st = hg_err_set(err, HG_EPARSE, "JWK Set has no \"keys\" array");
        goto out;
    }
    if (json_array_size(keys) > HG_JWKS_MAX_KEYS) {
        st = hg_err_set(err, HG_ETOOBIG, "JWK Set has %zu keys; at most %d are accepted",
                        json_array_size(keys), HG_JWKS_MAX_KEYS);
        goto out;
    }
    set = calloc(1, sizeof *set);
    if (!set) {
        st = hg_err_set(err, HG_ENOMEM, "out of memory for a JWK Set");
        goto out;
    }
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        if (!json_is_object(k)) {
            st = hg_err_set(err, HG_EPARSE, "JWK Set key %zu is not a JSON object", i);
            goto out;
        }
        json_t *kid = json_object_get(k, "kid");
        if (!kid)
            continue; /* cannot be selected by a JWS, so useless to us */
        if (!json_is_string(kid) || json_string_length(kid) == 0 ||
            json_string_length(kid) > HG_JWK_KID_MAX) {
            st = hg_err_set(err, HG_EPARSE,
                            "JWK Set key %zu: \"kid\" must be a string of 1 to %d characters", i,
                            HG_JWK_KID_MAX);
            goto out;
        }
        json_t *use = json_object_get(k, "use");
        if (use && !json_is_string(use)) {
            st = hg_err_set(err, HG_EPARSE, "JWK Set key %zu: \"use\" is not a string", i);
            goto out;
        }
        if (use && strcmp(json_string_value(use), "sig") != 0)
            continue; /* an encryption key never verifies a signature */
        struct hg_err kerr;
        hg_err_clear(&kerr);
        struct hg_sign_key *key = NULL;
        hg_status ks = hg_jwk_import(k, &key, &kerr);
        if (ks == HG_EUNSUPPORTED)
            continue; /* RSA and other curves may sit in a set we share */
        if (ks != HG_OK) {
            st = hg_err_set(err, ks == HG_ENOMEM ? HG_ENOMEM : HG_EPARSE,
                            "JWK Set key \"%s\": %s", show(json_string_value(kid), b),
                            hg_err_msg(&kerr));
            goto out;
        }
        const char *ids = json_string_value(kid);
        for (size_t j = 0; j < set->n; j++) {
            if (strcmp(set->keys[j].kid, ids) == 0) {
                hg_sign_key_free(key);
                st = hg_err_set(err, HG_EPARSE,
                                "JWK Set has two keys with kid \"%s\"; a kid must name one key",
                                show(ids, b));
                goto out;
            }
        }
        memcpy(set->keys[set->n].kid, ids, json_string_length(kid) + 1);
        set->keys[set->n].key = key;
        set->n++;
    }
    *out = set;
    set = NULL;
out:
    hg_jwks_free(set);
    json_decref(root);
    return st;
}

const struct hg_sign_key *hg_jwks_find(const struct hg_jwks *set, const char *kid)
{
    if (!set || !kid)
        return NULL;
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->keys[i].kid, kid) == 0)
            return set->keys[i].key;
    return NULL;
}

size_t hg_jwks_count(const struct hg_jwks *set)
{
    return set ? set->n : 0;
}

void hg_jwks_free(struct hg_jwks *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        hg_sign_key_free(set->keys[i].key);
    free(set);
}
