/* SPDX-License-Identifier: Apache-2.0
 *
 * jose.h — the subset of JOSE haulgate needs, strict: JWS compact
 * serialisation (RFC 7515) signed with ES256 or EdDSA (Ed25519, RFC 8037)
 * and nothing else, JWK public keys of kty EC (crv P-256) and OKP (crv
 * Ed25519), JWK Sets, and RFC 7638 thumbprints. The algorithm allow-list is
 * closed: "none", every HMAC ("HS*"), RSA and any other curve are refused
 * at parse time, so no caller can be talked into verifying with the wrong
 * primitive (algorithm confusion): a verify also requires that the key's
 * type is the one the header's alg names. Parsers take a length, never
 * read past it, refuse duplicate JSON member names, and cap every size
 * below. Signing and verification go through crypto/sign.h (OpenSSL).
 */
#ifndef HG_AUTH_JOSE_H
#define HG_AUTH_JOSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/status.h"
#include "crypto/sign.h"

#define HG_JWS_MAX 8192         /* longest compact JWS accepted, bytes */
#define HG_JWS_HEADER_MAX 2048  /* decoded protected header, bytes */
#define HG_JWK_THUMB_LEN 43     /* base64url of a SHA-256 */
#define HG_JWK_KID_MAX 128      /* longest kid accepted */
#define HG_JWKS_MAX_KEYS 64     /* keys per set; more is refused */
#define HG_JWKS_MAX_BYTES (256 * 1024)

enum hg_jose_alg {
    HG_JOSE_ALG_UNKNOWN = 0,
    HG_JOSE_ES256 = 1,
    HG_JOSE_EDDSA = 2,
};

/* "ES256" / "EdDSA", or "?" */
const char *hg_jose_alg_name(enum hg_jose_alg alg);
/* The JOSE alg a key signs with (ES256 for P-256, EdDSA for Ed25519). */
enum hg_jose_alg hg_jose_key_alg(const struct hg_sign_key *key);

/* A parsed compact JWS. Owns its memory; free with hg_jws_free (safe on a
 * zeroed struct). The payload must be a JSON object (JWTs and DPoP proofs
 * are); a non-object payload is HG_EPARSE. */
struct hg_jws {
    enum hg_jose_alg alg;
    json_t *header;             /* the protected header object */
    json_t *payload;            /* the payload object */
    const char *kid;            /* header "kid" or NULL (points into header) */
    const char *typ;            /* header "typ" or NULL (points into header) */
    char *signing_input;        /* "b64(header).b64(payload)", NUL-terminated */
    size_t signing_input_len;
    uint8_t sig[HG_SIGN_ES256_RAW_SIG]; /* 64 bytes for both algorithms */
    size_t siglen;
};

/* Parse n bytes of compact JWS: three base64url parts (strict, unpadded),
 * header a JSON object with a string "alg" on the allow-list, no "crit"
 * (we understand no extension, RFC 7515 §4.1.11 says refuse), payload a
 * JSON object, signature exactly 64 bytes. Does NOT verify the signature.
 * HG_ETOOBIG over HG_JWS_MAX; HG_EUNSUPPORTED for an alg off the list
 * (err names it); HG_EPARSE otherwise, err saying which part is wrong. */
hg_status hg_jws_parse(const char *s, size_t n, struct hg_jws *out, struct hg_err *err);
void hg_jws_free(struct hg_jws *jws);

/* Verify jws's signature with key: HG_OK, or HG_EVERIFY (bad signature, or
 * the key is not of the type jws->alg names). */
hg_status hg_jws_verify(const struct hg_jws *jws, const struct hg_sign_key *key);

/* Sign payload (a JSON object) with key, as a compact JWS. The protected
 * header is {"alg", then "typ" if given, "kid" if given, then the members of
 * extra_header (may be NULL)}, serialised compactly in that order; the
 * payload is serialised compactly with members in insertion order. *out is
 * malloc'd and NUL-terminated, *outlen (may be NULL) its length. */
hg_status hg_jws_sign(const struct hg_sign_key *key, const char *typ, const char *kid,
                      const json_t *extra_header, const json_t *payload, char **out,
                      size_t *outlen, struct hg_err *err);

/* ------------------------------------------------------------------ JWK */
/* Import a public JWK object: {"kty":"EC","crv":"P-256","x","y"} (each
 * coordinate exactly 32 bytes, point on the curve) or
 * {"kty":"OKP","crv":"Ed25519","x"} (32 bytes). A JWK carrying a private
 * member ("d") is refused with HG_EPARSE: a public key slot must never
 * receive a private key (RFC 9449 §4.3 for DPoP). If the JWK has "alg" it
 * must agree with the key type. HG_EUNSUPPORTED for another kty/crv. */
hg_status hg_jwk_import(const json_t *jwk, struct hg_sign_key **out, struct hg_err *err);

/* Export key's public part as a JWK object (kty, crv, x[, y]) plus "kid"
 * when kid is non-NULL and "alg" and "use":"sig" when with_alg. NULL on
 * allocation failure. */
json_t *hg_jwk_export(const struct hg_sign_key *key, const char *kid, int with_alg);

/* RFC 7638 thumbprint: base64url(SHA-256(canonical JSON of the required
 * members in lexicographic order)), HG_JWK_THUMB_LEN chars + NUL. */
hg_status hg_jwk_thumbprint(const struct hg_sign_key *key, char out[HG_JWK_THUMB_LEN + 1]);

/* ---------------------------------------------------------------- JWKS */
/* A set of public keys by kid. Immutable once parsed; free with
 * hg_jwks_free. Keys without a kid, with "use" other than "sig", or of a
 * kty/crv we do not support are skipped (a set may hold RSA keys we never
 * use); a kid seen twice is HG_EPARSE. */
struct hg_jwks;

/* Parse n bytes of {"keys":[...]} (at most HG_JWKS_MAX_BYTES and
 * HG_JWKS_MAX_KEYS keys). An empty result (no usable key) is HG_OK with a
 * set of zero keys. */
hg_status hg_jwks_parse(const char *s, size_t n, struct hg_jwks **out, struct hg_err *err);
/* The key with this kid, or NULL. The pointer lives as long as the set. */
const struct hg_sign_key *hg_jwks_find(const struct hg_jwks *set, const char *kid);
size_t hg_jwks_count(const struct hg_jwks *set);
void hg_jwks_free(struct hg_jwks *set);

#endif
