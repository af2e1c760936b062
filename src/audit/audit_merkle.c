/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_merkle.c — RFC 6962/9162 Merkle hashing, frontier, proofs. The
 * generators follow the RFC's recursive definitions (split at the largest
 * power of two below n) over a node source, so they work against any store
 * of complete subtrees; the verifiers are the RFC 9162 iterative algorithms,
 * which need no tree at all.
 */
#include "audit/audit_merkle.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

hg_status hg_merkle_hasher_init(struct hg_merkle_hasher *h)
{
    h->ctx = EVP_MD_CTX_new();
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!h->ctx || !h->md) {
        hg_merkle_hasher_cleanup(h);
        return HG_ECRYPTO;
    }
    return HG_OK;
}

void hg_merkle_hasher_cleanup(struct hg_merkle_hasher *h)
{
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    h->ctx = NULL;
    h->md = NULL;
}

/* A failing SHA-256 would make every later hash meaningless; there is no
 * sensible recovery, and continuing could sign a wrong root. */
static void digest2(struct hg_merkle_hasher *h, uint8_t prefix, const void *a, size_t an,
                    const void *b, size_t bn, uint8_t out[HG_MERKLE_HASH])
{
    EVP_MD_CTX *ctx = h->ctx;
    unsigned int len = 0;
    if (EVP_DigestInit_ex2(ctx, h->md, NULL) != 1 || EVP_DigestUpdate(ctx, &prefix, 1) != 1 ||
        (an && EVP_DigestUpdate(ctx, a, an) != 1) || (bn && EVP_DigestUpdate(ctx, b, bn) != 1) ||
        EVP_DigestFinal_ex(ctx, out, &len) != 1)
        abort();
}

void hg_merkle_leaf_hash(struct hg_merkle_hasher *h, const void *data, size_t n,
                         uint8_t out[HG_MERKLE_HASH])
{
    digest2(h, 0x00, data, n, NULL, 0, out);
}

void hg_merkle_node_hash(struct hg_merkle_hasher *h, const uint8_t left[HG_MERKLE_HASH],
                         const uint8_t right[HG_MERKLE_HASH], uint8_t out[HG_MERKLE_HASH])
{
    uint8_t buf[2 * HG_MERKLE_HASH];
    memcpy(buf, left, HG_MERKLE_HASH);
    memcpy(buf + HG_MERKLE_HASH, right, HG_MERKLE_HASH);
    digest2(h, 0x01, buf, sizeof buf, NULL, 0, out);
}

void hg_merkle_empty_root(uint8_t out[HG_MERKLE_HASH])
{
    static const uint8_t empty[HG_MERKLE_HASH] = {
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
        0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
        0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
    memcpy(out, empty, HG_MERKLE_HASH);
}

void hg_merkle_frontier_init(struct hg_merkle_frontier *f)
{
    f->size = 0;
}

void hg_merkle_frontier_append(struct hg_merkle_hasher *h, struct hg_merkle_frontier *f,
                               const uint8_t leaf[HG_MERKLE_HASH], hg_merkle_emit_fn emit,
                               void *ctx)
{
    uint8_t carry[HG_MERKLE_HASH];
    uint64_t idx = f->size;
    unsigned level = 0;
    memcpy(carry, leaf, HG_MERKLE_HASH);
    if (emit)
        emit(ctx, 0, idx, carry);
    while ((f->size >> level) & 1) {
        hg_merkle_node_hash(h, f->nodes[level], carry, carry);
        level++;
        if (emit)
            emit(ctx, level, idx >> level, carry);
    }
    memcpy(f->nodes[level], carry, HG_MERKLE_HASH);
    f->size++;
}

void hg_merkle_frontier_root(struct hg_merkle_hasher *h, const struct hg_merkle_frontier *f,
                             uint8_t out[HG_MERKLE_HASH])
{
    if (f->size == 0) {
        hg_merkle_empty_root(out);
        return;
    }
    unsigned level = (unsigned)__builtin_ctzll(f->size);
    uint8_t acc[HG_MERKLE_HASH];
    memcpy(acc, f->nodes[level], HG_MERKLE_HASH);
    for (level++; level < HG_MERKLE_MAX_LEVELS; level++)
        if ((f->size >> level) & 1)
            hg_merkle_node_hash(h, f->nodes[level], acc, acc);
    memcpy(out, acc, HG_MERKLE_HASH);
}

/* Largest power of two strictly less than n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

hg_status hg_merkle_range_root(struct hg_merkle_hasher *h, const struct hg_merkle_source *src,
                               uint64_t begin, uint64_t n, uint8_t out[HG_MERKLE_HASH])
{
    if (n == 0)
        return HG_EINVAL;
    if ((n & (n - 1)) == 0 && (begin & (n - 1)) == 0) {
        unsigned level = (unsigned)__builtin_ctzll(n);
        return src->node(src->ctx, level, begin >> level, out);
    }
    /* Walk the right spine iteratively: collect the left (complete) subtree
     * roots, then fold them right to left. */
    uint8_t left[HG_MERKLE_MAX_LEVELS][HG_MERKLE_HASH];
    unsigned depth = 0;
    while (!((n & (n - 1)) == 0 && (begin & (n - 1)) == 0)) {
        uint64_t k = split_point(n);
        hg_status st = hg_merkle_range_root(h, src, begin, k, left[depth]);
        if (st != HG_OK)
            return st;
        depth++;
        begin += k;
        n -= k;
    }
    unsigned level = (unsigned)__builtin_ctzll(n);
    hg_status st = src->node(src->ctx, level, begin >> level, out);
    if (st != HG_OK)
        return st;
    while (depth > 0) {
        depth--;
        hg_merkle_node_hash(h, left[depth], out, out);
    }
    return HG_OK;
}

hg_status hg_merkle_root(struct hg_merkle_hasher *h, const struct hg_merkle_source *src,
                         uint64_t size, uint8_t out[HG_MERKLE_HASH])
{
    if (size == 0) {
        hg_merkle_empty_root(out);
        return HG_OK;
    }
    return hg_merkle_range_root(h, src, 0, size, out);
}

static hg_status push(struct hg_merkle_proof *p, const uint8_t hash[HG_MERKLE_HASH])
{
    if (p->count >= HG_MERKLE_MAX_PROOF)
        return HG_ETOOBIG;
    memcpy(p->hashes[p->count++], hash, HG_MERKLE_HASH);
    return HG_OK;
}

/* PATH(m, D[begin:begin+n]); appends innermost first, as the RFC orders it. */
static hg_status path(struct hg_merkle_hasher *h, const struct hg_merkle_source *src,
                      uint64_t m, uint64_t begin, uint64_t n, struct hg_merkle_proof *out)
{
    if (n <= 1)
        return HG_OK;
    uint64_t k = split_point(n);
    uint8_t sib[HG_MERKLE_HASH];
    hg_status st;
    if (m < k) {
        st = path(h, src, m, begin, k, out);
        if (st == HG_OK)
            st = hg_merkle_range_root(h, src, begin + k, n - k, sib);
    } else {
        st = path(h, src, m - k, begin + k, n - k, out);
        if (st == HG_OK)
            st = hg_merkle_range_root(h, src, begin, k, sib);
    }
    return st == HG_OK ? push(out, sib) : st;
}

hg_status hg_merkle_inclusion_proof(struct hg_merkle_hasher *h,
                                    const struct hg_merkle_source *src, uint64_t index,
                                    uint64_t size, struct hg_merkle_proof *out)
{
    out->count = 0;
    if (index >= size)
        return HG_EINVAL;
    return path(h, src, index, 0, size, out);
}

/* SUBPROOF(m, D[begin:begin+n], b). */
static hg_status subproof(struct hg_merkle_hasher *h, const struct hg_merkle_source *src,
                          uint64_t m, uint64_t begin, uint64_t n, int b,
                          struct hg_merkle_proof *out)
{
    uint8_t hash[HG_MERKLE_HASH];
    hg_status st;
    if (m == n) {
        if (b)
            return HG_OK;
        st = hg_merkle_range_root(h, src, begin, n, hash);
        return st == HG_OK ? push(out, hash) : st;
    }
    uint64_t k = split_point(n);
    if (m <= k) {
        st = subproof(h, src, m, begin, k, b, out);
        if (st == HG_OK)
            st = hg_merkle_range_root(h, src, begin + k, n - k, hash);
    } else {
        st = subproof(h, src, m - k, begin + k, n - k, 0, out);
        if (st == HG_OK)
            st = hg_merkle_range_root(h, src, begin, k, hash);
    }
    return st == HG_OK ? push(out, hash) : st;
}

hg_status hg_merkle_consistency_proof(struct hg_merkle_hasher *h,
                                      const struct hg_merkle_source *src, uint64_t m,
                                      uint64_t n, struct hg_merkle_proof *out)
{
    out->count = 0;
    if (m > n)
        return HG_EINVAL;
    if (m == 0 || m == n)
        return HG_OK;
    return subproof(h, src, m, 0, n, 1, out);
}

hg_status hg_merkle_verify_inclusion(struct hg_merkle_hasher *h, uint64_t index, uint64_t size,
                                     const uint8_t leaf[HG_MERKLE_HASH],
                                     const uint8_t (*proof)[HG_MERKLE_HASH], size_t count,
                                     const uint8_t root[HG_MERKLE_HASH])
{
    if (index >= size || count > HG_MERKLE_MAX_PROOF)
        return HG_EVERIFY;
    uint64_t fn = index, sn = size - 1;
    uint8_t r[HG_MERKLE_HASH];
    memcpy(r, leaf, HG_MERKLE_HASH);
    for (size_t i = 0; i < count; i++) {
        if (sn == 0)
            return HG_EVERIFY;
        if ((fn & 1) || fn == sn) {
            hg_merkle_node_hash(h, proof[i], r, r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            hg_merkle_node_hash(h, r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || memcmp(r, root, HG_MERKLE_HASH) != 0)
        return HG_EVERIFY;
    return HG_OK;
}

hg_status hg_merkle_verify_consistency(struct hg_merkle_hasher *h, uint64_t m, uint64_t n,
                                       const uint8_t root1[HG_MERKLE_HASH],
                                       const uint8_t root2[HG_MERKLE_HASH],
                                       const uint8_t (*proof)[HG_MERKLE_HASH], size_t count)
{
    if (m > n || count > HG_MERKLE_MAX_PROOF)
        return HG_EVERIFY;
    if (m == n)
        return count == 0 && memcmp(root1, root2, HG_MERKLE_HASH) == 0 ? HG_OK : HG_EVERIFY;
    if (m == 0) {
        /* Every tree extends the empty one; root1 must be the empty root. */
        uint8_t empty[HG_MERKLE_HASH];
        hg_merkle_empty_root(empty);
        return count == 0 && memcmp(root1, empty, HG_MERKLE_HASH) == 0 ? HG_OK : HG_EVERIFY;
    }
    if (count == 0)
        return HG_EVERIFY;
    size_t i = 0;
    uint8_t fr[HG_MERKLE_HASH], sr[HG_MERKLE_HASH];
    if ((m & (m - 1)) == 0) {
        /* m is a power of two: the old root is itself a node of the new
         * tree and is the implicit first element of the path. */
        memcpy(fr, root1, HG_MERKLE_HASH);
    } else {
        memcpy(fr, proof[0], HG_MERKLE_HASH);
        i = 1;
    }
    memcpy(sr, fr, HG_MERKLE_HASH);
    uint64_t fn = m - 1, sn = n - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; i < count; i++) {
        if (sn == 0)
            return HG_EVERIFY;
        if ((fn & 1) || fn == sn) {
            hg_merkle_node_hash(h, proof[i], fr, fr);
            hg_merkle_node_hash(h, proof[i], sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            hg_merkle_node_hash(h, sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || memcmp(fr, root1, HG_MERKLE_HASH) != 0 ||
        memcmp(sr, root2, HG_MERKLE_HASH) != 0)
        return HG_EVERIFY;
    return HG_OK;
}

uint64_t hg_merkle_stored_nodes(uint64_t leaves)
{
    return 2 * leaves - (uint64_t)__builtin_popcountll(leaves);
}

uint64_t hg_merkle_node_position(unsigned level, uint64_t index)
{
    uint64_t c = (index + 1) << level;
    return hg_merkle_stored_nodes(c - 1) + level;
}
