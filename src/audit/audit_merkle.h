/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_merkle.h — the RFC 6962 / RFC 9162 Merkle tree, as pure functions:
 * leaf and node hashing (SHA-256 with the 0x00 / 0x01 domain prefixes), the
 * compact "frontier" that lets a log append in O(1) amortised hashes and know
 * its root at any moment, proof generation over any store of complete-subtree
 * hashes, and proof verification. No I/O and no allocation on the hot path:
 * a hasher holds one reusable digest context, so callers create one per
 * thread. Never accepts a proof longer than HG_MERKLE_MAX_PROOF hashes.
 */
#ifndef HG_AUDIT_MERKLE_H
#define HG_AUDIT_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define HG_MERKLE_HASH 32
/* A tree of fewer than 2^64 leaves has inclusion proofs of at most 64
 * hashes and consistency proofs of at most 65; round up for safety. */
#define HG_MERKLE_MAX_PROOF 72
#define HG_MERKLE_MAX_LEVELS 64

/* One reusable SHA-256 context. Not thread-safe: one per thread. */
struct hg_merkle_hasher {
    void *ctx; /* EVP_MD_CTX */
    void *md;  /* EVP_MD, fetched once */
};

/* HG_ECRYPTO if OpenSSL cannot provide SHA-256; cleanup accepts a zeroed or
 * failed hasher. */
hg_status hg_merkle_hasher_init(struct hg_merkle_hasher *h);
void hg_merkle_hasher_cleanup(struct hg_merkle_hasher *h);

/* SHA-256(0x00 || data) and SHA-256(0x01 || left || right). */
void hg_merkle_leaf_hash(struct hg_merkle_hasher *h, const void *data, size_t n,
                         uint8_t out[HG_MERKLE_HASH]);
void hg_merkle_node_hash(struct hg_merkle_hasher *h, const uint8_t left[HG_MERKLE_HASH],
                         const uint8_t right[HG_MERKLE_HASH], uint8_t out[HG_MERKLE_HASH]);
/* The root of the empty tree: SHA-256 of the empty string. */
void hg_merkle_empty_root(uint8_t out[HG_MERKLE_HASH]);

/* The frontier (compact range [0, size)): for every set bit L of size, the
 * root of the complete subtree of 2^L leaves on the right edge. Appending a
 * leaf reports every complete subtree it finishes, so a store can keep them. */
struct hg_merkle_frontier {
    uint64_t size;
    uint8_t nodes[HG_MERKLE_MAX_LEVELS][HG_MERKLE_HASH];
};
typedef void (*hg_merkle_emit_fn)(void *ctx, unsigned level, uint64_t index,
                                  const uint8_t hash[HG_MERKLE_HASH]);
void hg_merkle_frontier_init(struct hg_merkle_frontier *f);
/* Append a leaf hash; emit (may be NULL) is called for the leaf (level 0)
 * and then for each completed parent, bottom-up, in storage (post-) order. */
void hg_merkle_frontier_append(struct hg_merkle_hasher *h, struct hg_merkle_frontier *f,
                               const uint8_t leaf[HG_MERKLE_HASH], hg_merkle_emit_fn emit,
                               void *ctx);
void hg_merkle_frontier_root(struct hg_merkle_hasher *h, const struct hg_merkle_frontier *f,
                             uint8_t out[HG_MERKLE_HASH]);

/* Where complete-subtree hashes come from when generating proofs: node(level,
 * index) must give the root of leaves [index<<level, (index+1)<<level). It
 * is only asked for subtrees that lie wholly inside the requested tree size. */
struct hg_merkle_source {
    hg_status (*node)(void *ctx, unsigned level, uint64_t index, uint8_t out[HG_MERKLE_HASH]);
    void *ctx;
};

struct hg_merkle_proof {
    size_t count;
    uint8_t hashes[HG_MERKLE_MAX_PROOF][HG_MERKLE_HASH];
};

/* MTH(D[begin:begin+n]) from the source (n >= 1), with O(log n) lookups. */
hg_status hg_merkle_range_root(struct hg_merkle_hasher *h, const struct hg_merkle_source *src,
                               uint64_t begin, uint64_t n, uint8_t out[HG_MERKLE_HASH]);
/* The root of the first `size` leaves (size 0: the empty root). */
hg_status hg_merkle_root(struct hg_merkle_hasher *h, const struct hg_merkle_source *src,
                         uint64_t size, uint8_t out[HG_MERKLE_HASH]);

/* RFC 9162 §2.1.3.1 PATH(index, D[size]). HG_EINVAL unless index < size. */
hg_status hg_merkle_inclusion_proof(struct hg_merkle_hasher *h,
                                    const struct hg_merkle_source *src, uint64_t index,
                                    uint64_t size, struct hg_merkle_proof *out);
/* RFC 9162 §2.1.4.1 PROOF(m, D[n]). HG_EINVAL unless m <= n. m == 0 or m == n
 * give an empty proof (the empty tree is a prefix of every tree). */
hg_status hg_merkle_consistency_proof(struct hg_merkle_hasher *h,
                                      const struct hg_merkle_source *src, uint64_t m,
                                      uint64_t n, struct hg_merkle_proof *out);

/* RFC 9162 §2.1.3.2. HG_OK when leaf `index` with hash `leaf` is in the tree
 * of `size` leaves with root `root`; HG_EVERIFY otherwise. */
hg_status hg_merkle_verify_inclusion(struct hg_merkle_hasher *h, uint64_t index, uint64_t size,
                                     const uint8_t leaf[HG_MERKLE_HASH],
                                     const uint8_t (*proof)[HG_MERKLE_HASH], size_t count,
                                     const uint8_t root[HG_MERKLE_HASH]);
/* RFC 9162 §2.1.4.2. HG_OK when the tree of m leaves with root1 is a prefix of
 * the tree of n leaves with root2; HG_EVERIFY otherwise. */
hg_status hg_merkle_verify_consistency(struct hg_merkle_hasher *h, uint64_t m, uint64_t n,
                                       const uint8_t root1[HG_MERKLE_HASH],
                                       const uint8_t root2[HG_MERKLE_HASH],
                                       const uint8_t (*proof)[HG_MERKLE_HASH], size_t count);

/* Position of complete-subtree node (level, index) in post-order storage,
 * where nodes are stored in the order a frontier completes them: after k
 * leaves the store holds exactly hg_merkle_stored_nodes(k) hashes. */
uint64_t hg_merkle_stored_nodes(uint64_t leaves);
uint64_t hg_merkle_node_position(unsigned level, uint64_t index);

#endif
