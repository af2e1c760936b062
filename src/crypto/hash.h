/* SPDX-License-Identifier: Apache-2.0
 *
 * hash.h — thin OpenSSL wrappers: SHA-256 (one-shot and incremental),
 * HMAC-SHA256, and the OS random source. Never implements a primitive itself.
 */
#ifndef HG_CRYPTO_HASH_H
#define HG_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>
#include "common/status.h"

#define HG_SHA256_LEN 32

/* One-shot SHA-256 of n bytes. */
void hg_sha256(const void *p, size_t n, uint8_t out[HG_SHA256_LEN]);

/* SHA-256 over several pieces without concatenating them. */
struct hg_sha256_part {
    const void *p;
    size_t n;
};
void hg_sha256_parts(const struct hg_sha256_part *parts, size_t count,
                     uint8_t out[HG_SHA256_LEN]);

/* HMAC-SHA256. HG_ECRYPTO if OpenSSL fails. */
hg_status hg_hmac_sha256(const void *key, size_t keylen, const void *msg,
                         size_t n, uint8_t out[HG_SHA256_LEN]);

/* Cryptographically secure random bytes. HG_ECRYPTO if the DRBG fails. */
hg_status hg_random(void *p, size_t n);

#endif
