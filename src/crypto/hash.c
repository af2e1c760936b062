/* SPDX-License-Identifier: Apache-2.0
 * hash.c — SHA-256, HMAC-SHA256 and random bytes through OpenSSL 3. */
#include "crypto/hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdlib.h>

void hg_sha256(const void *p, size_t n, uint8_t out[HG_SHA256_LEN])
{
    SHA256(p, n, out);
}

void hg_sha256_parts(const struct hg_sha256_part *parts, size_t count,
                     uint8_t out[HG_SHA256_LEN])
{
    /* The low-level SHA256_* API is deprecated in OpenSSL 3 but is several
     * times faster than EVP for the 65-byte Merkle node inputs; EVP with a
     * per-thread fetched digest is the portable path. */
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        abort();
    for (size_t i = 0; i < count; i++)
        if (EVP_DigestUpdate(ctx, parts[i].p, parts[i].n) != 1)
            abort();
    if (EVP_DigestFinal_ex(ctx, out, &len) != 1)
        abort();
    EVP_MD_CTX_free(ctx);
}

hg_status hg_hmac_sha256(const void *key, size_t keylen, const void *msg,
                         size_t n, uint8_t out[HG_SHA256_LEN])
{
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, msg, n, out, &len) || len != HG_SHA256_LEN)
        return HG_ECRYPTO;
    return HG_OK;
}

hg_status hg_random(void *p, size_t n)
{
    return RAND_bytes(p, (int)n) == 1 ? HG_OK : HG_ECRYPTO;
}
