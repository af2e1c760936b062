/* SPDX-License-Identifier: Apache-2.0
 *
 * sign.c — Ed25519 and ECDSA P-256/SHA-256 through OpenSSL 3's EVP API.
 * Strictness lives here so callers cannot forget it: ECDSA DER signatures
 * are decoded, re-encoded and compared byte for byte (OpenSSL alone accepts
 * some BER forms), raw signatures must be exactly 64 bytes, and PEM input is
 * bounded. Raw private bytes that pass through our buffers are cleansed.
 */
#include "crypto/sign.h"

#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

struct hg_sign_key {
    EVP_PKEY *pkey;
    enum hg_sign_alg alg;
    int has_private;
};

static hg_status wrap(EVP_PKEY *pkey, int has_private, struct hg_sign_key **out,
                      struct hg_err *err)
{
    enum hg_sign_alg alg;
    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        alg = HG_SIGN_ED25519;
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64] = "";
        size_t glen = 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                           sizeof group, &glen) != 1 ||
            (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
            EVP_PKEY_free(pkey);
            return hg_err_set(err, HG_EPARSE,
                              "EC key is on curve '%s'; only P-256 (prime256v1) is supported",
                              group[0] ? group : "unknown");
        }
        alg = HG_SIGN_ES256;
    } else {
        EVP_PKEY_free(pkey);
        return hg_err_set(err, HG_EPARSE,
                          "unsupported key type; use an Ed25519 or P-256 key");
    }
    struct hg_sign_key *k = calloc(1, sizeof *k);
    if (!k) {
        EVP_PKEY_free(pkey);
        return hg_err_set(err, HG_ENOMEM, "out of memory for a key");
    }
    k->pkey = pkey;
    k->alg = alg;
    k->has_private = has_private;
    *out = k;
    return HG_OK;
}

hg_status hg_sign_key_generate(enum hg_sign_alg alg, struct hg_sign_key **out,
                               struct hg_err *err)
{
    EVP_PKEY *pkey = NULL;
    *out = NULL;
    if (alg == HG_SIGN_ED25519)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else if (alg == HG_SIGN_ES256)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else
        return hg_err_set(err, HG_EINVAL, "unknown signature algorithm %d", (int)alg);
    if (!pkey)
        return hg_err_set_ssl(err, HG_ECRYPTO, "key generation failed");
    return wrap(pkey, 1, out, err);
}

hg_status hg_sign_key_from_pem(const char *pem, size_t n, struct hg_sign_key **out,
                               struct hg_err *err)
{
    *out = NULL;
    if (n > HG_SIGN_PEM_MAX)
        return hg_err_set(err, HG_ETOOBIG, "PEM key is %zu bytes; the limit is %d", n,
                          HG_SIGN_PEM_MAX);
    BIO *bio = BIO_new_mem_buf(pem, (int)n);
    if (!bio)
        return hg_err_set(err, HG_ENOMEM, "out of memory reading a PEM key");
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    int priv = 1;
    if (!pkey) {
        ERR_clear_error();
        (void)BIO_reset(bio);
        pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        priv = 0;
    }
    BIO_free(bio);
    if (!pkey)
        return hg_err_set_ssl(err, HG_EPARSE,
                              "not a PEM private key (PKCS#8) or public key (SPKI)");
    ERR_clear_error();
    return wrap(pkey, priv, out, err);
}

hg_status hg_sign_key_load_pem(const char *path, struct hg_sign_key **out,
                               struct hg_err *err)
{
    hg_status st = HG_OK;
    char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hg_err_set(err, errno == ENOENT ? HG_ENOTFOUND : HG_EIO,
                          "cannot open key file %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = hg_err_set(err, HG_EIO, "cannot stat key file %s: %s", path, strerror(errno));
        goto out;
    }
    if (sb.st_size > HG_SIGN_PEM_MAX) {
        st = hg_err_set(err, HG_ETOOBIG, "key file %s is larger than %d bytes", path,
                        HG_SIGN_PEM_MAX);
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
            st = hg_err_set(err, HG_EIO, "cannot read key file %s: %s", path,
                            r < 0 ? strerror(errno) : "short read");
            goto out;
        }
        len += (size_t)r;
    }
    st = hg_sign_key_from_pem(buf, len, out, err);
    if (st != HG_OK) {
        char inner[HG_ERR_MSG_MAX];
        hg_strlcpy(inner, hg_err_msg(err), sizeof inner);
        st = hg_err_set(err, st, "key file %s: %s", path, inner);
        goto out;
    }
    if ((*out)->has_private && (sb.st_mode & 077)) {
        hg_sign_key_free(*out);
        *out = NULL;
        st = hg_err_set(err, HG_EPERM,
                        "private key file %s is readable by group or others (mode %03o); "
                        "run: chmod 600 %s",
                        path, (unsigned)(sb.st_mode & 0777), path);
    }
out:
    if (buf) {
        OPENSSL_cleanse(buf, len);
        free(buf);
    }
    close(fd);
    return st;
}

static hg_status save_pem(const struct hg_sign_key *key, const char *path, int priv,
                          struct hg_err *err)
{
    if (priv && !key->has_private)
        return hg_err_set(err, HG_EINVAL, "key has no private part to save to %s", path);
    /* The secure-heap BIO wipes its memory when freed (falls back to a
     * normal allocation when no secure heap is configured, so we also
     * cleanse explicitly below). */
    BIO *bio = BIO_new(priv ? BIO_s_secmem() : BIO_s_mem());
    if (!bio)
        return hg_err_set(err, HG_ENOMEM, "out of memory writing %s", path);
    int ok = priv ? PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL)
                  : PEM_write_bio_PUBKEY(bio, key->pkey);
    if (ok != 1) {
        BIO_free(bio);
        return hg_err_set_ssl(err, HG_ECRYPTO, "cannot encode the key for %s", path);
    }
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    hg_status st = hg_fs_write_atomic(path, data, (size_t)len, priv ? 0600 : 0644, err);
    if (priv && data && len > 0)
        OPENSSL_cleanse(data, (size_t)len);
    BIO_free(bio);
    return st;
}

hg_status hg_sign_key_save_private_pem(const struct hg_sign_key *key, const char *path,
                                       struct hg_err *err)
{
    return save_pem(key, path, 1, err);
}

hg_status hg_sign_key_save_public_pem(const struct hg_sign_key *key, const char *path,
                                      struct hg_err *err)
{
    return save_pem(key, path, 0, err);
}

hg_status hg_sign_key_from_raw_public(enum hg_sign_alg alg, const uint8_t *pub, size_t n,
                                      struct hg_sign_key **out, struct hg_err *err)
{
    *out = NULL;
    EVP_PKEY *pkey = NULL;
    if (alg == HG_SIGN_ED25519) {
        if (n != HG_SIGN_ED25519_PUB)
            return hg_err_set(err, HG_EPARSE, "Ed25519 public key must be 32 bytes, got %zu",
                              n);
        pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, n);
        if (!pkey)
            return hg_err_set_ssl(err, HG_EPARSE, "invalid Ed25519 public key");
        return wrap(pkey, 0, out, err);
    }
    if (alg != HG_SIGN_ES256)
        return hg_err_set(err, HG_EINVAL, "unknown signature algorithm %d", (int)alg);
    if (n != HG_SIGN_ES256_PUB || pub[0] != 0x04)
        return hg_err_set(err, HG_EPARSE,
                          "P-256 public key must be 65 bytes, uncompressed (0x04||X||Y)");
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    hg_status st = HG_OK;
    if (!bld ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, n) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
        EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        st = hg_err_set_ssl(err, HG_EPARSE, "invalid P-256 public key");
        goto out;
    }
    /* fromdata decodes the point; the explicit check also rejects the point
     * at infinity and points outside the group. */
    EVP_PKEY_CTX_free(ctx);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!ctx || EVP_PKEY_public_check(ctx) != 1) {
        st = hg_err_set_ssl(err, HG_EPARSE, "P-256 public key is not a valid curve point");
        goto out;
    }
    st = wrap(pkey, 0, out, err);
    pkey = NULL;
out:
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return st;
}

hg_status hg_sign_key_from_ed25519_seed(const uint8_t seed[HG_SIGN_ED25519_SEED],
                                        struct hg_sign_key **out, struct hg_err *err)
{
    *out = NULL;
    EVP_PKEY *pkey =
        EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, HG_SIGN_ED25519_SEED);
    if (!pkey)
        return hg_err_set_ssl(err, HG_EPARSE, "invalid Ed25519 private key");
    return wrap(pkey, 1, out, err);
}

hg_status hg_sign_key_public_raw(const struct hg_sign_key *key, uint8_t *out, size_t cap,
                                 size_t *outlen)
{
    size_t len = 0;
    if (key->alg == HG_SIGN_ED25519) {
        if (cap < HG_SIGN_ED25519_PUB)
            return HG_ETOOBIG;
        len = cap;
        if (EVP_PKEY_get_raw_public_key(key->pkey, out, &len) != 1 ||
            len != HG_SIGN_ED25519_PUB) {
            ERR_clear_error();
            return HG_ECRYPTO;
        }
    } else {
        if (cap < HG_SIGN_ES256_PUB)
            return HG_ETOOBIG;
        if (EVP_PKEY_get_octet_string_param(key->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out,
                                            cap, &len) != 1 ||
            len != HG_SIGN_ES256_PUB || out[0] != 0x04) {
            ERR_clear_error();
            return HG_ECRYPTO;
        }
    }
    *outlen = len;
    return HG_OK;
}

enum hg_sign_alg hg_sign_key_alg(const struct hg_sign_key *key)
{
    return key->alg;
}

int hg_sign_key_has_private(const struct hg_sign_key *key)
{
    return key->has_private;
}

void hg_sign_key_free(struct hg_sign_key *key)
{
    if (!key)
        return;
    EVP_PKEY_free(key->pkey); /* OpenSSL cleanses private key material */
    free(key);
}

hg_status hg_sign_ecdsa_raw_to_der(const uint8_t raw[HG_SIGN_ES256_RAW_SIG], uint8_t *der,
                                   size_t cap, size_t *derlen)
{
    hg_status st = HG_OK;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL);
    BIGNUM *s = BN_bin2bn(raw + 32, 32, NULL);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        st = HG_ENOMEM;
        goto out;
    }
    int len = i2d_ECDSA_SIG(sig, NULL);
    if (len <= 0) {
        st = HG_ECRYPTO;
        goto out;
    }
    if ((size_t)len > cap) {
        st = HG_ETOOBIG;
        goto out;
    }
    unsigned char *p = der;
    if (i2d_ECDSA_SIG(sig, &p) != len) {
        st = HG_ECRYPTO;
        goto out;
    }
    *derlen = (size_t)len;
out:
    ECDSA_SIG_free(sig);
    ERR_clear_error();
    return st;
}

hg_status hg_sign_ecdsa_der_to_raw(const uint8_t *der, size_t n,
                                   uint8_t raw[HG_SIGN_ES256_RAW_SIG])
{
    hg_status st = HG_OK;
    const unsigned char *p = der;
    unsigned char *re = NULL;
    if (n == 0 || n > HG_SIGN_MAX_SIG)
        return HG_EPARSE;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)n);
    if (!sig || p != der + n) {
        st = HG_EPARSE;
        goto out;
    }
    /* DER is unique: re-encoding must give back exactly the input. This is
     * what rejects long-form lengths, leading zero padding, and the like. */
    int len = i2d_ECDSA_SIG(sig, &re);
    if (len <= 0 || (size_t)len != n || memcmp(re, der, n) != 0) {
        st = HG_EPARSE;
        goto out;
    }
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_is_negative(r) || BN_is_negative(s) || BN_num_bytes(r) > 32 ||
        BN_num_bytes(s) > 32) {
        st = HG_ETOOBIG;
        goto out;
    }
    if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32)
        st = HG_EPARSE;
out:
    OPENSSL_free(re);
    ECDSA_SIG_free(sig);
    ERR_clear_error();
    return st;
}

hg_status hg_sign(const struct hg_sign_key *key, enum hg_sig_format fmt, const void *msg,
                  size_t n, uint8_t *sig, size_t cap, size_t *siglen, struct hg_err *err)
{
    if (!key->has_private)
        return hg_err_set(err, HG_EINVAL, "cannot sign with a public key");
    uint8_t der[HG_SIGN_MAX_SIG];
    size_t len = sizeof der;
    hg_status st = HG_OK;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return hg_err_set(err, HG_ENOMEM, "out of memory for signing");
    const EVP_MD *md = key->alg == HG_SIGN_ES256 ? EVP_sha256() : NULL;
    if (EVP_DigestSignInit(ctx, NULL, md, NULL, key->pkey) != 1 ||
        EVP_DigestSign(ctx, der, &len, msg, n) != 1) {
        st = hg_err_set_ssl(err, HG_ECRYPTO, "signing failed");
        goto out;
    }
    if (key->alg == HG_SIGN_ES256 && fmt == HG_SIG_RAW) {
        if (cap < HG_SIGN_ES256_RAW_SIG) {
            st = hg_err_set(err, HG_ETOOBIG, "signature buffer too small");
            goto out;
        }
        st = hg_sign_ecdsa_der_to_raw(der, len, sig);
        if (st != HG_OK) {
            hg_err_set(err, HG_ECRYPTO, "OpenSSL produced an unexpected ECDSA signature");
            st = HG_ECRYPTO;
            goto out;
        }
        *siglen = HG_SIGN_ES256_RAW_SIG;
        goto out;
    }
    if (len > cap) {
        st = hg_err_set(err, HG_ETOOBIG, "signature buffer too small");
        goto out;
    }
    memcpy(sig, der, len);
    *siglen = len;
out:
    EVP_MD_CTX_free(ctx);
    return st;
}

hg_status hg_sign_verify(const struct hg_sign_key *key, enum hg_sig_format fmt,
                         const void *msg, size_t n, const uint8_t *sig, size_t siglen)
{
    uint8_t der[HG_SIGN_MAX_SIG];
    size_t derlen = 0;
    const EVP_MD *md = NULL;
    if (key->alg == HG_SIGN_ED25519) {
        if (siglen != 64)
            return HG_EVERIFY;
        memcpy(der, sig, 64);
        derlen = 64;
    } else {
        md = EVP_sha256();
        if (fmt == HG_SIG_RAW) {
            if (siglen != HG_SIGN_ES256_RAW_SIG)
                return HG_EVERIFY;
            if (hg_sign_ecdsa_raw_to_der(sig, der, sizeof der, &derlen) != HG_OK)
                return HG_EVERIFY;
        } else {
            uint8_t raw[HG_SIGN_ES256_RAW_SIG];
            if (hg_sign_ecdsa_der_to_raw(sig, siglen, raw) != HG_OK)
                return HG_EVERIFY;
            memcpy(der, sig, siglen);
            derlen = siglen;
        }
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return HG_ECRYPTO;
    hg_status st = HG_EVERIFY;
    if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, key->pkey) != 1) {
        st = HG_ECRYPTO;
    } else if (EVP_DigestVerify(ctx, der, derlen, msg, n) == 1) {
        st = HG_OK;
    }
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return st;
}
