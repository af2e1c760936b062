/* SPDX-License-Identifier: Apache-2.0
 *
 * sign.h — thin OpenSSL 3 wrappers for digital signatures: Ed25519 and ECDSA
 * P-256 with SHA-256 (JOSE "EdDSA" and "ES256"). Key generation, PEM load and
 * save, raw public key import/export, sign and verify. ECDSA signatures come
 * in two forms: DER (X.509/TLS style) and raw r||s (IEEE P1363, the JOSE form,
 * exactly 64 bytes). Verification is strict: a DER signature that is not the
 * unique DER encoding (BER lengths, padding, trailing bytes) is rejected, and
 * a raw signature of any length other than 64 is rejected. This unit never
 * implements a primitive itself and never logs or prints key material.
 */
#ifndef HG_CRYPTO_SIGN_H
#define HG_CRYPTO_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/status.h"

enum hg_sign_alg {
    HG_SIGN_ED25519 = 1, /* RFC 8032 pure Ed25519 */
    HG_SIGN_ES256 = 2,   /* ECDSA over NIST P-256 with SHA-256 */
};

/* Signature encodings. Ed25519 has one form (64 bytes) and ignores this. */
enum hg_sig_format {
    HG_SIG_DER = 0, /* ECDSA-Sig-Value DER SEQUENCE { r, s } (max 72 bytes) */
    HG_SIG_RAW = 1, /* r || s, each 32 bytes big-endian (JOSE / P1363) */
};

#define HG_SIGN_MAX_SIG 72       /* largest signature any alg/format yields */
#define HG_SIGN_ED25519_PUB 32   /* raw Ed25519 public key */
#define HG_SIGN_ED25519_SEED 32  /* raw Ed25519 private key (RFC 8032 seed) */
#define HG_SIGN_ES256_PUB 65     /* uncompressed SEC1 point 0x04 || X || Y */
#define HG_SIGN_ES256_RAW_SIG 64
#define HG_SIGN_MAX_PUB 65
#define HG_SIGN_PEM_MAX (16 * 1024) /* larger PEM files are rejected */

/* An asymmetric key: a public key, or a private key (which includes the
 * public key). Opaque; freed with hg_sign_key_free, which wipes the private
 * part (OpenSSL clears key material when the EVP_PKEY is freed). */
struct hg_sign_key;

/* Generate a fresh private key. *out owned by the caller. HG_ECRYPTO on an
 * OpenSSL failure, HG_EINVAL on an unknown alg. */
hg_status hg_sign_key_generate(enum hg_sign_alg alg, struct hg_sign_key **out,
                               struct hg_err *err);

/* Parse a PEM private key (PKCS#8 "PRIVATE KEY", or the legacy EC form) or a
 * PEM public key ("PUBLIC KEY", SubjectPublicKeyInfo) from n bytes. Only
 * Ed25519 and P-256 keys are accepted. HG_EPARSE for anything else. */
hg_status hg_sign_key_from_pem(const char *pem, size_t n, struct hg_sign_key **out,
                               struct hg_err *err);
/* Read a PEM key file (at most HG_SIGN_PEM_MAX bytes) and parse it as above.
 * HG_EIO/HG_ENOTFOUND when the file cannot be read. The file buffer is
 * wiped. A private key file readable by group or others is refused with
 * HG_EPERM (fix: chmod 600). */
hg_status hg_sign_key_load_pem(const char *path, struct hg_sign_key **out,
                               struct hg_err *err);

/* Write the private key as PKCS#8 PEM to path: created 0600 in a temporary
 * file in the same directory, fsync'd, renamed over path, and the directory
 * fsync'd, so a crash leaves either the old file or the new one. HG_EINVAL if
 * the key has no private part. */
hg_status hg_sign_key_save_private_pem(const struct hg_sign_key *key, const char *path,
                                       struct hg_err *err);
/* The same for the public key (SubjectPublicKeyInfo PEM), mode 0644. */
hg_status hg_sign_key_save_public_pem(const struct hg_sign_key *key, const char *path,
                                      struct hg_err *err);

/* Import a raw public key: Ed25519 32 bytes; ES256 65 bytes uncompressed
 * (0x04||X||Y), point checked to be on the curve. HG_EPARSE otherwise. */
hg_status hg_sign_key_from_raw_public(enum hg_sign_alg alg, const uint8_t *pub, size_t n,
                                      struct hg_sign_key **out, struct hg_err *err);
/* Import a raw Ed25519 private key (the 32-byte RFC 8032 seed), as carried in
 * C2SP/Go signed-note signer keys. Only HG_SIGN_ED25519. */
hg_status hg_sign_key_from_ed25519_seed(const uint8_t seed[HG_SIGN_ED25519_SEED],
                                        struct hg_sign_key **out, struct hg_err *err);

/* Export the raw public key (formats as above). *outlen receives 32 or 65.
 * HG_ETOOBIG if cap is short. */
hg_status hg_sign_key_public_raw(const struct hg_sign_key *key, uint8_t *out, size_t cap,
                                 size_t *outlen);

enum hg_sign_alg hg_sign_key_alg(const struct hg_sign_key *key);
int hg_sign_key_has_private(const struct hg_sign_key *key);

/* Free; NULL is fine. */
void hg_sign_key_free(struct hg_sign_key *key);

/* Sign n bytes of msg (ES256 hashes with SHA-256 first; Ed25519 signs the
 * message itself). Writes the signature to sig (cap bytes) and its length
 * to *siglen: Ed25519 64, ES256 raw 64, ES256 DER 8..72. HG_EINVAL without a
 * private key, HG_ETOOBIG if cap is short, HG_ECRYPTO on OpenSSL failure. */
hg_status hg_sign(const struct hg_sign_key *key, enum hg_sig_format fmt, const void *msg,
                  size_t n, uint8_t *sig, size_t cap, size_t *siglen, struct hg_err *err);

/* Verify: HG_OK when the signature is valid, HG_EVERIFY when it is not (wrong
 * length, non-canonical DER, bad signature). Never any other status for bad
 * input; HG_ECRYPTO only when OpenSSL cannot run at all. */
hg_status hg_sign_verify(const struct hg_sign_key *key, enum hg_sig_format fmt,
                         const void *msg, size_t n, const uint8_t *sig, size_t siglen);

/* Convert between the two ECDSA encodings. raw_to_der: 64 bytes in, DER out
 * (cap >= 72). der_to_raw: strict DER in (see above), 64 bytes out. HG_EPARSE
 * for malformed input, HG_ETOOBIG for r or s wider than 32 bytes. */
hg_status hg_sign_ecdsa_raw_to_der(const uint8_t raw[HG_SIGN_ES256_RAW_SIG], uint8_t *der,
                                   size_t cap, size_t *derlen);
hg_status hg_sign_ecdsa_der_to_raw(const uint8_t *der, size_t n,
                                   uint8_t raw[HG_SIGN_ES256_RAW_SIG]);

#endif
