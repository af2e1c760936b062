/* SPDX-License-Identifier: Apache-2.0
 *
 * test_merkle.c — audit/audit_merkle against the RFC 6962 reference vectors
 * and against a straightforward recursive reference implementation written
 * here from the RFC 9162 definitions (MTH, PATH, PROOF), for every tree size,
 * every inclusion (index, size) and every consistency (m, n) up to 64 leaves,
 * plus negative checks: a wrong index, sibling, size or root must fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_merkle.h"
#include "crypto/hash.h"

#define MAXN 300

/* ---- reference implementation (independent of the code under test) ---- */

static void ref_leaf(const void *d, size_t n, uint8_t out[32])
{
    uint8_t z = 0;
    struct hg_sha256_part parts[2] = {{&z, 1}, {d, n}};
    hg_sha256_parts(parts, 2, out);
}

static void ref_node(const uint8_t l[32], const uint8_t r[32], uint8_t out[32])
{
    uint8_t one = 1;
    struct hg_sha256_part parts[3] = {{&one, 1}, {l, 32}, {r, 32}};
    hg_sha256_parts(parts, 3, out);
}

static uint64_t ref_k(uint64_t n)
{
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return k;
}

static void ref_mth(uint8_t (*leaves)[32], uint64_t n, uint8_t out[32])
{
    if (n == 0) {
        hg_sha256("", 0, out);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[0], 32);
        return;
    }
    uint64_t k = ref_k(n);
    uint8_t a[32], b[32];
    ref_mth(leaves, k, a);
    ref_mth(leaves + k, n - k, b);
    ref_node(a, b, out);
}

static void ref_path(uint64_t m, uint8_t (*leaves)[32], uint64_t n, uint8_t (*out)[32],
                     size_t *cnt)
{
    if (n <= 1)
        return;
    uint64_t k = ref_k(n);
    if (m < k) {
        ref_path(m, leaves, k, out, cnt);
        ref_mth(leaves + k, n - k, out[(*cnt)++]);
    } else {
        ref_path(m - k, leaves + k, n - k, out, cnt);
        ref_mth(leaves, k, out[(*cnt)++]);
    }
}

static void ref_subproof(uint64_t m, uint8_t (*leaves)[32], uint64_t n, int b,
                         uint8_t (*out)[32], size_t *cnt)
{
    if (m == n) {
        if (!b)
            ref_mth(leaves, n, out[(*cnt)++]);
        return;
    }
    uint64_t k = ref_k(n);
    if (m <= k) {
        ref_subproof(m, leaves, k, b, out, cnt);
        ref_mth(leaves + k, n - k, out[(*cnt)++]);
    } else {
        ref_subproof(m - k, leaves + k, n - k, 0, out, cnt);
        ref_mth(leaves, k, out[(*cnt)++]);
    }
}

/* ---- a node source backed by the post-order store the frontier emits ---- */

struct store {
    uint8_t nodes[2 * MAXN][32];
    uint64_t count;
    int bad_order;
};

static void store_emit(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32])
{
    struct store *s = ctx;
    if (hg_merkle_node_position(level, index) != s->count)
        s->bad_order = 1;
    memcpy(s->nodes[s->count++], hash, 32);
}

static hg_status store_node(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
    struct store *s = ctx;
    uint64_t pos = hg_merkle_node_position(level, index);
    if (pos >= s->count)
        return HG_ENOTFOUND;
    memcpy(out, s->nodes[pos], 32);
    return HG_OK;
}

struct fixture {
    struct hg_merkle_hasher h;
    uint8_t leaves[MAXN][32];
    struct store st;
    struct hg_merkle_source src;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(hg_merkle_hasher_init(&f->h), HG_OK);
    struct hg_merkle_frontier fr;
    hg_merkle_frontier_init(&fr);
    for (int i = 0; i < MAXN; i++) {
        uint8_t data[3] = {(uint8_t)i, (uint8_t)(i >> 8), 0x5a};
        hg_merkle_leaf_hash(&f->h, data, sizeof data, f->leaves[i]);
        uint8_t want[32];
        ref_leaf(data, sizeof data, want);
        assert_memory_equal(f->leaves[i], want, 32);
        hg_merkle_frontier_append(&f->h, &fr, f->leaves[i], store_emit, &f->st);
    }
    assert_false(f->st.bad_order);
    assert_int_equal(f->st.count, hg_merkle_stored_nodes(MAXN));
    f->src.node = store_node;
    f->src.ctx = &f->st;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    hg_merkle_hasher_cleanup(&f->h);
    free(f);
    return 0;
}

static void unhex32(const char *s, uint8_t out[32])
{
    for (int i = 0; i < 32; i++) {
        unsigned v;
        assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void rfc6962_vectors(void **state)
{
    struct fixture *f = *state;
    static const char *data[8] = {"", "\x00", "\x10", "\x20\x21", "\x30\x31",
                                  "\x40\x41\x42\x43", "\x50\x51\x52\x53\x54\x55\x56\x57",
                                  "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};
    static const size_t len[8] = {0, 1, 1, 2, 2, 4, 8, 16};
    static const char *roots[9] = {
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
    struct hg_merkle_frontier fr;
    struct store st = {0};
    struct hg_merkle_source src = {store_node, &st};
    uint8_t leaves[8][32], root[32], want[32];
    hg_merkle_frontier_init(&fr);
    hg_merkle_frontier_root(&f->h, &fr, root);
    unhex32(roots[0], want);
    assert_memory_equal(root, want, 32);
    for (int i = 0; i < 8; i++) {
        hg_merkle_leaf_hash(&f->h, data[i], len[i], leaves[i]);
        hg_merkle_frontier_append(&f->h, &fr, leaves[i], store_emit, &st);
        hg_merkle_frontier_root(&f->h, &fr, root);
        unhex32(roots[i + 1], want);
        assert_memory_equal(root, want, 32);
        assert_int_equal(hg_merkle_root(&f->h, &src, (uint64_t)i + 1, root), HG_OK);
        assert_memory_equal(root, want, 32);
    }
    struct {
        int a, b, incl;
        const char *h[3];
    } cases[] = {
        {0, 8, 1, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                   "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                   "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
        {5, 8, 1, {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                   "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                   "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
        {6, 8, 0, {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                   "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                   "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
        {2, 5, 0, {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                   "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", NULL}},
        {2, 8, 0, {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                   "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4", NULL}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct hg_merkle_proof p;
        size_t n = cases[c].h[2] ? 3 : 2;
        if (cases[c].incl)
            assert_int_equal(hg_merkle_inclusion_proof(&f->h, &src, (uint64_t)cases[c].a,
                                                       (uint64_t)cases[c].b, &p), HG_OK);
        else
            assert_int_equal(hg_merkle_consistency_proof(&f->h, &src, (uint64_t)cases[c].a,
                                                         (uint64_t)cases[c].b, &p), HG_OK);
        assert_int_equal(p.count, n);
        for (size_t i = 0; i < n; i++) {
            unhex32(cases[c].h[i], want);
            assert_memory_equal(p.hashes[i], want, 32);
        }
    }
}

static void roots_match_reference(void **state)
{
    struct fixture *f = *state;
    struct hg_merkle_frontier fr;
    hg_merkle_frontier_init(&fr);
    for (uint64_t n = 0; n <= MAXN; n++) {
        uint8_t want[32], a[32], b[32];
        ref_mth(f->leaves, n, want);
        hg_merkle_frontier_root(&f->h, &fr, a);
        assert_memory_equal(a, want, 32);
        assert_int_equal(hg_merkle_root(&f->h, &f->src, n, b), HG_OK);
        assert_memory_equal(b, want, 32);
        if (n < MAXN)
            hg_merkle_frontier_append(&f->h, &fr, f->leaves[n], NULL, NULL);
    }
    /* Any sub-range too (used for the right-hand siblings of proofs). */
    for (uint64_t b = 0; b < 64; b++)
        for (uint64_t n = 1; b + n <= 64; n++) {
            uint8_t want[32], got[32];
            ref_mth(f->leaves + b, n, want);
            assert_int_equal(hg_merkle_range_root(&f->h, &f->src, b, n, got), HG_OK);
            assert_memory_equal(got, want, 32);
        }
}

static void inclusion_all(void **state)
{
    struct fixture *f = *state;
    int checked = 0;
    for (uint64_t n = 1; n <= 64; n++) {
        uint8_t root[32];
        ref_mth(f->leaves, n, root);
        for (uint64_t i = 0; i < n; i++) {
            struct hg_merkle_proof p;
            uint8_t want[HG_MERKLE_MAX_PROOF][32];
            size_t wc = 0;
            ref_path(i, f->leaves, n, want, &wc);
            assert_int_equal(hg_merkle_inclusion_proof(&f->h, &f->src, i, n, &p), HG_OK);
            assert_int_equal(p.count, wc);
            if (wc)
                assert_memory_equal(p.hashes, want, wc * 32);
            const uint8_t(*ph)[32] = (const uint8_t(*)[32])p.hashes;
            assert_int_equal(hg_merkle_verify_inclusion(&f->h, i, n, f->leaves[i], ph, p.count, root), HG_OK);
            checked++;
            /* wrong index */
            if (n > 1) {
                uint64_t j = (i + 1) % n;
                assert_int_equal(hg_merkle_verify_inclusion(&f->h, j, n, f->leaves[i], ph, p.count, root), HG_EVERIFY);
                assert_int_equal(hg_merkle_verify_inclusion(&f->h, i, n, f->leaves[j], ph, p.count, root), HG_EVERIFY);
            }
            assert_int_equal(hg_merkle_verify_inclusion(&f->h, n, n, f->leaves[i], ph, p.count, root), HG_EVERIFY);
            /* wrong sibling, in every position */
            for (size_t k = 0; k < p.count; k++) {
                p.hashes[k][k % 32] ^= 0x40;
                assert_int_equal(hg_merkle_verify_inclusion(&f->h, i, n, f->leaves[i], ph, p.count, root), HG_EVERIFY);
                p.hashes[k][k % 32] ^= 0x40;
            }
            /* short or long proof */
            if (p.count)
                assert_int_equal(hg_merkle_verify_inclusion(&f->h, i, n, f->leaves[i], ph, p.count - 1, root), HG_EVERIFY);
            memcpy(p.hashes[p.count], root, 32);
            assert_int_equal(hg_merkle_verify_inclusion(&f->h, i, n, f->leaves[i], ph, p.count + 1, root), HG_EVERIFY);
        }
    }
    assert_int_equal(checked, 64 * 65 / 2);
    struct hg_merkle_proof p;
    assert_int_equal(hg_merkle_inclusion_proof(&f->h, &f->src, 5, 5, &p), HG_EINVAL);
}

static void consistency_all(void **state)
{
    struct fixture *f = *state;
    int checked = 0;
    for (uint64_t n = 1; n <= 64; n++) {
        uint8_t r2[32];
        ref_mth(f->leaves, n, r2);
        for (uint64_t m = 0; m <= n; m++) {
            uint8_t r1[32];
            ref_mth(f->leaves, m, r1);
            struct hg_merkle_proof p;
            uint8_t want[HG_MERKLE_MAX_PROOF][32];
            size_t wc = 0;
            if (m > 0 && m < n)
                ref_subproof(m, f->leaves, n, 1, want, &wc);
            assert_int_equal(hg_merkle_consistency_proof(&f->h, &f->src, m, n, &p), HG_OK);
            assert_int_equal(p.count, wc);
            if (wc)
                assert_memory_equal(p.hashes, want, wc * 32);
            const uint8_t(*ph)[32] = (const uint8_t(*)[32])p.hashes;
            assert_int_equal(hg_merkle_verify_consistency(&f->h, m, n, r1, r2, ph, p.count), HG_OK);
            checked++;
            if (m == 0 || m == n) {
                /* the trivial cases still bind the roots */
                uint8_t bad[32];
                memcpy(bad, r2, 32);
                bad[0] ^= 1;
                assert_int_equal(hg_merkle_verify_consistency(&f->h, m, n, bad, r2, ph, 0), HG_EVERIFY);
                continue;
            }
            uint8_t other[32];
            ref_mth(f->leaves + 1, m, other); /* a different tree of size m */
            assert_int_equal(hg_merkle_verify_consistency(&f->h, m, n, other, r2, ph, p.count), HG_EVERIFY);
            assert_int_equal(hg_merkle_verify_consistency(&f->h, m, n, r1, other, ph, p.count), HG_EVERIFY);
            if (m + 1 < n)
                assert_int_equal(hg_merkle_verify_consistency(&f->h, m + 1, n, r1, r2, ph, p.count), HG_EVERIFY);
            for (size_t k = 0; k < p.count; k++) {
                p.hashes[k][31 - k % 32] ^= 0x01;
                assert_int_equal(hg_merkle_verify_consistency(&f->h, m, n, r1, r2, ph, p.count), HG_EVERIFY);
                p.hashes[k][31 - k % 32] ^= 0x01;
            }
            assert_int_equal(hg_merkle_verify_consistency(&f->h, m, n, r1, r2, ph, p.count - 1), HG_EVERIFY);
            memcpy(p.hashes[p.count], r2, 32);
            assert_int_equal(hg_merkle_verify_consistency(&f->h, m, n, r1, r2, ph, p.count + 1), HG_EVERIFY);
        }
    }
    assert_int_equal(checked, 64 * 65 / 2 + 64); /* every 0 <= m <= n, 1 <= n <= 64 */
    struct hg_merkle_proof p;
    assert_int_equal(hg_merkle_consistency_proof(&f->h, &f->src, 9, 8, &p), HG_EINVAL);
}

static void positions(void **state)
{
    (void)state;
    /* leaves 0,1 then their parent; leaf 2, leaf 3, parent(2,3), grandparent */
    assert_int_equal(hg_merkle_node_position(0, 0), 0);
    assert_int_equal(hg_merkle_node_position(0, 1), 1);
    assert_int_equal(hg_merkle_node_position(1, 0), 2);
    assert_int_equal(hg_merkle_node_position(0, 2), 3);
    assert_int_equal(hg_merkle_node_position(0, 3), 4);
    assert_int_equal(hg_merkle_node_position(1, 1), 5);
    assert_int_equal(hg_merkle_node_position(2, 0), 6);
    assert_int_equal(hg_merkle_stored_nodes(4), 7);
    assert_int_equal(hg_merkle_stored_nodes(5), 8);
    assert_int_equal(hg_merkle_stored_nodes(0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(positions),
        cmocka_unit_test_setup_teardown(rfc6962_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(roots_match_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(inclusion_all, setup, teardown),
        cmocka_unit_test_setup_teardown(consistency_all, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
