/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_verify.c — offline verification of an audit log directory. One
 * sequential pass over the segments (memory-mapped): frame CRC, sequence
 * number, leaf hash, frontier append, and a root comparison whenever the
 * tree reaches the size of a signed checkpoint. The first fault found is
 * reported with its index and kind; the interior-hash file only helps to
 * say *which* record changed, it is never a source of trust.
 */
#include "audit/audit_verify.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"
#include "audit/audit_log.h"
#include "audit/audit_note.h"
#include "audit/audit_record.h"
#include "audit/audit_segment.h"
#include "common/util.h"

const char *hg_audit_fault_name(enum hg_audit_fault f)
{
    switch (f) {
    case HG_AUDIT_FAULT_NONE:
        return "ok";
    case HG_AUDIT_FAULT_MODIFIED:
        return "modified";
    case HG_AUDIT_FAULT_MISSING:
        return "missing";
    case HG_AUDIT_FAULT_REORDERED:
        return "reordered";
    case HG_AUDIT_FAULT_TRUNCATED:
        return "truncated";
    case HG_AUDIT_FAULT_BAD_SIGNATURE:
        return "bad signature";
    case HG_AUDIT_FAULT_INCONSISTENT:
        return "inconsistent checkpoint";
    case HG_AUDIT_FAULT_CORRUPT:
        return "corrupt";
    }
    return "unknown";
}

static void fault(struct hg_audit_verify_report *rep, enum hg_audit_fault f, uint64_t index,
                  int64_t cp, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void fault(struct hg_audit_verify_report *rep, enum hg_audit_fault f, uint64_t index,
                  int64_t cp, const char *fmt, ...)
{
    if (rep->fault != HG_AUDIT_FAULT_NONE)
        return; /* the first fault is the one to look at */
    rep->fault = f;
    rep->index = index;
    rep->checkpoint = cp;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->message, sizeof rep->message, fmt, ap);
    va_end(ap);
}

struct cp {
    uint64_t size;
    uint8_t root[HG_MERKLE_HASH];
    int valid;   /* signature verified and text parsed */
    int matched; /* root compared equal to the records' root */
};

/* Frames are decoded (CRC) and leaf-hashed in chunks, the two halves of
 * each chunk on two threads; everything order-dependent (sequence numbers,
 * the frontier, checkpoint comparisons) stays on the main thread. */
#define CHUNK 4096

struct chunk {
    size_t count;
    size_t offs[CHUNK];
    enum hg_audit_frame_result res[CHUNK];
    struct hg_audit_frame fr[CHUNK];
    uint8_t leaf[CHUNK][HG_MERKLE_HASH];
    const uint8_t *base;
    size_t n;
};

struct half {
    struct chunk *c;
    size_t from, to;
    struct hg_merkle_hasher *h;
};

static void hash_range(struct half *hf)
{
    struct chunk *c = hf->c;
    for (size_t k = hf->from; k < hf->to; k++) {
        c->res[k] = hg_audit_frame_decode(c->base + c->offs[k], c->n - c->offs[k],
                                          HG_AUDIT_RECORD_MAX, &c->fr[k]);
        if (c->res[k] == HG_AUDIT_FRAME_OK)
            hg_merkle_leaf_hash(hf->h, c->fr[k].payload, c->fr[k].len, c->leaf[k]);
    }
}

static void *half_main(void *p)
{
    hash_range(p);
    return NULL;
}

/* Find up to CHUNK whole frames from `off` by their lengths alone, then
 * decode and hash them in parallel. Stops early at a frame whose length is
 * impossible; the caller then decodes that one itself to report it. */
static void fill_chunk(struct chunk *c, const uint8_t *base, size_t n, size_t off,
                       struct hg_merkle_hasher *h1, struct hg_merkle_hasher *h2)
{
    c->count = 0;
    c->base = base;
    c->n = n;
    while (off < n && c->count < CHUNK) {
        if (n - off < HG_AUDIT_FRAME_HDR)
            break;
        const uint8_t *p = base + off;
        uint32_t len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                       (uint32_t)p[3] << 24;
        if (len == 0 || len > HG_AUDIT_RECORD_MAX || n - off - HG_AUDIT_FRAME_HDR < len)
            break;
        c->offs[c->count++] = off;
        off += HG_AUDIT_FRAME_HDR + (size_t)len;
    }
    struct half a = {c, 0, c->count, h1}, b = {c, c->count, c->count, h2};
    pthread_t t;
    int threaded = 0;
    if (c->count >= 64 && h2->ctx) {
        a.to = b.from = c->count / 2;
        threaded = pthread_create(&t, NULL, half_main, &b) == 0;
        if (!threaded)
            a.to = c->count;
    }
    hash_range(&a);
    if (threaded)
        pthread_join(t, NULL);
}

struct vstate {
    const char *dir;
    struct hg_audit_verify_report *rep;
    struct hg_merkle_hasher h;
    struct hg_merkle_hasher h2; /* for the second hashing thread */
    struct chunk *chunk;
    struct hg_merkle_frontier fr;
    struct audit_map hashes;
    struct cp *cps;
    size_t ncps;
    size_t ci;                 /* next checkpoint to compare */
    int64_t first_leaf_diff;   /* first index whose leaf differs from tree.hashes */
    uint8_t diff_leaf[HG_MERKLE_HASH];
    int64_t last_matched_size; /* size of the last checkpoint that matched */
};

static const uint8_t *stored_node(const struct vstate *v, unsigned level, uint64_t index)
{
    uint64_t pos = hg_merkle_node_position(level, index);
    if (!v->hashes.data || (pos + 1) * HG_MERKLE_HASH > v->hashes.len)
        return NULL;
    return v->hashes.data + pos * HG_MERKLE_HASH;
}

static hg_status map_node(void *ctx, unsigned level, uint64_t index, uint8_t out[HG_MERKLE_HASH])
{
    const uint8_t *p = stored_node(ctx, level, index);
    if (!p)
        return HG_ENOTFOUND;
    memcpy(out, p, HG_MERKLE_HASH);
    return HG_OK;
}

static hg_status load_checkpoints(struct vstate *v, const struct hg_audit_verifier *vk,
                                  struct hg_err *err)
{
    char path[AUDIT_PATH_MAX];
    struct audit_map m;
    audit__path(path, sizeof path, v->dir, HG_AUDIT_CP_FILE);
    hg_status st = audit__map(path, &m, err);
    if (st == HG_ENOTFOUND) {
        fault(v->rep, HG_AUDIT_FAULT_CORRUPT, 0, -1,
              "%s is missing: without signed checkpoints nothing can be verified", path);
        return HG_OK;
    }
    if (st != HG_OK)
        return st;
    uint64_t first = 0;
    if (hg_audit_file_header_decode(m.data, m.len, HG_AUDIT_CP_MAGIC, &first) != HG_OK) {
        fault(v->rep, HG_AUDIT_FAULT_CORRUPT, 0, -1, "%s has a damaged header", path);
        audit__unmap(&m);
        return HG_OK;
    }
    size_t off = HG_AUDIT_FILE_HDR, cap = 0;
    uint64_t prev_size = 0;
    int64_t prev_k = -1;
    while (off < m.len) {
        int64_t k = (int64_t)v->ncps;
        struct hg_audit_frame f;
        enum hg_audit_frame_result r =
            hg_audit_frame_decode(m.data + off, m.len - off, HG_AUDIT_NOTE_MAX, &f);
        if (r != HG_AUDIT_FRAME_OK) {
            fault(v->rep, r == HG_AUDIT_FRAME_SHORT ? HG_AUDIT_FAULT_TRUNCATED : HG_AUDIT_FAULT_CORRUPT, 0, k,
                  "checkpoint #%lld in %s is damaged (%s at byte %zu): modified, or torn by "
                  "a crash (opening the log repairs a torn tail)",
                  (long long)k, path, hg_audit_frame_result_str(r), off);
            break;
        }
        if (f.seq != first + (uint64_t)k) {
            fault(v->rep, HG_AUDIT_FAULT_CORRUPT, 0, k,
                  "checkpoint #%lld in %s carries sequence number %llu: checkpoints were "
                  "removed or reordered",
                  (long long)k, path, (unsigned long long)f.seq);
            break;
        }
        if (v->ncps == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct cp *p = realloc(v->cps, nc * sizeof *p);
            if (!p) {
                audit__unmap(&m);
                return hg_err_set(err, HG_ENOMEM, "out of memory reading checkpoints");
            }
            v->cps = p;
            cap = nc;
        }
        struct cp *c = &v->cps[v->ncps++];
        memset(c, 0, sizeof *c);
        struct hg_audit_checkpoint ck;
        struct hg_err e;
        if (hg_audit_checkpoint_open((const char *)f.payload, f.len, vk, &ck, &e) != HG_OK) {
            fault(v->rep, HG_AUDIT_FAULT_BAD_SIGNATURE, 0, k, "checkpoint #%lld: %s",
                  (long long)k, hg_err_msg(&e));
        } else {
            c->valid = 1;
            c->size = ck.size;
            memcpy(c->root, ck.root, HG_MERKLE_HASH);
            if (prev_k >= 0 && ck.size < prev_size)
                fault(v->rep, HG_AUDIT_FAULT_INCONSISTENT, ck.size, k,
                      "checkpoint #%lld has tree size %llu, smaller than checkpoint #%lld "
                      "(%llu): a log never shrinks",
                      (long long)k, (unsigned long long)ck.size, (long long)prev_k,
                      (unsigned long long)prev_size);
            prev_size = ck.size;
            prev_k = k;
            v->rep->latest_size = ck.size;
        }
        off += f.size;
    }
    v->rep->checkpoints = v->ncps;
    audit__unmap(&m);
    return HG_OK;
}

/* The root at a checkpoint's size differs from the signed one: say why. */
static void explain_mismatch(struct vstate *v, size_t k, const uint8_t computed[HG_MERKLE_HASH])
{
    const struct cp *c = &v->cps[k];
    if (v->first_leaf_diff >= 0 && (uint64_t)v->first_leaf_diff < c->size) {
        uint64_t i = (uint64_t)v->first_leaf_diff;
        /* Is it another record's content (a swap)? */
        for (uint64_t j = 0;; j++) {
            const uint8_t *p = stored_node(v, 0, j);
            if (!p)
                break;
            if (j != i && memcmp(p, v->diff_leaf, HG_MERKLE_HASH) == 0) {
                fault(v->rep, HG_AUDIT_FAULT_REORDERED, i, (int64_t)k,
                      "record %llu holds the content of record %llu: records were reordered "
                      "(checkpoint #%zu, tree size %llu, does not match)",
                      (unsigned long long)i, (unsigned long long)j, k,
                      (unsigned long long)c->size);
                return;
            }
        }
        fault(v->rep, HG_AUDIT_FAULT_MODIFIED, i, (int64_t)k,
              "record %llu was modified: its hash differs from the stored tree, and "
              "checkpoint #%zu (tree size %llu) does not match the records",
              (unsigned long long)i, k, (unsigned long long)c->size);
        return;
    }
    uint64_t from = v->last_matched_size >= 0 ? (uint64_t)v->last_matched_size : 0;
    uint8_t stored_root[HG_MERKLE_HASH];
    struct hg_merkle_source src = {map_node, v};
    int have_stored = hg_merkle_root(&v->h, &src, c->size, stored_root) == HG_OK;
    if (have_stored && memcmp(stored_root, computed, HG_MERKLE_HASH) == 0) {
        fault(v->rep, HG_AUDIT_FAULT_INCONSISTENT, c->size, (int64_t)k,
              "checkpoint #%zu is validly signed but its root for tree size %llu matches "
              "neither the records nor the stored tree: a replaced or forked checkpoint",
              k, (unsigned long long)c->size);
        return;
    }
    fault(v->rep, HG_AUDIT_FAULT_MODIFIED, from, (int64_t)k,
          "records in [%llu, %llu) do not match signed checkpoint #%zu; the stored tree "
          "was rewritten too, so the exact record cannot be named",
          (unsigned long long)from, (unsigned long long)c->size, k);
}

static void reached(struct vstate *v)
{
    while (v->ci < v->ncps) {
        struct cp *c = &v->cps[v->ci];
        if (!c->valid) {
            v->ci++;
            continue;
        }
        if (c->size != v->fr.size)
            return;
        uint8_t root[HG_MERKLE_HASH];
        hg_merkle_frontier_root(&v->h, &v->fr, root);
        if (memcmp(root, c->root, HG_MERKLE_HASH) == 0) {
            c->matched = 1;
            v->last_matched_size = (int64_t)c->size;
        } else {
            explain_mismatch(v, v->ci, root);
        }
        v->ci++;
    }
}

/* Find where record `want` is, scanning frames from (segment s, offset off). */
static int64_t find_later(const char *dir, const uint64_t *firsts, size_t nseg, size_t s,
                          size_t off, uint64_t want, uint64_t pos)
{
    for (; s < nseg; s++, off = HG_AUDIT_FILE_HDR) {
        char path[AUDIT_PATH_MAX];
        struct audit_map m;
        struct hg_err e;
        if (audit__seg_path(path, sizeof path, dir, firsts[s]) != HG_OK ||
            audit__map(path, &m, &e) != HG_OK)
            return -1;
        while (off < m.len) {
            struct hg_audit_frame f;
            if (hg_audit_frame_decode(m.data + off, m.len - off, HG_AUDIT_RECORD_MAX, &f) !=
                HG_AUDIT_FRAME_OK)
                break;
            if (f.seq == want) {
                audit__unmap(&m);
                return (int64_t)pos;
            }
            off += f.size;
            pos++;
        }
        audit__unmap(&m);
    }
    return -1;
}

static hg_status scan_records(struct vstate *v, struct hg_err *err)
{
    uint64_t *firsts = NULL;
    size_t nseg = 0;
    hg_status st = audit__list_segments(v->dir, &firsts, &nseg, err);
    if (st == HG_ENOTFOUND) {
        nseg = 0;
        st = HG_OK;
    }
    if (st != HG_OK)
        return st;
    uint64_t expect = 0;
    int stop = 0;
    for (size_t s = 0; s < nseg && !stop; s++) {
        char path[AUDIT_PATH_MAX];
        struct audit_map m;
        audit__seg_path(path, sizeof path, v->dir, firsts[s]);
        if ((st = audit__map(path, &m, err)) != HG_OK)
            break;
        uint64_t first = 0;
        if (hg_audit_file_header_decode(m.data, m.len, HG_AUDIT_SEG_MAGIC, &first) != HG_OK) {
            fault(v->rep, HG_AUDIT_FAULT_CORRUPT, expect, -1, "segment %s has a damaged header",
                  path);
            audit__unmap(&m);
            break;
        }
        if (first != expect) {
            if (first > expect)
                fault(v->rep, HG_AUDIT_FAULT_MISSING, expect, -1,
                      "records %llu..%llu are missing: segment %s starts at record %llu",
                      (unsigned long long)expect, (unsigned long long)first - 1, path,
                      (unsigned long long)first);
            else
                fault(v->rep, HG_AUDIT_FAULT_REORDERED, expect, -1,
                      "segment %s starts at record %llu, but %llu records came before it "
                      "(duplicated or reordered segment)",
                      path, (unsigned long long)first, (unsigned long long)expect);
            audit__unmap(&m);
            break;
        }
        size_t off = HG_AUDIT_FILE_HDR, ci = 0;
        v->chunk->count = 0;
        while (off < m.len) {
            struct hg_audit_frame f;
            enum hg_audit_frame_result r;
            const uint8_t *leafp = NULL;
            if (ci == v->chunk->count) {
                fill_chunk(v->chunk, m.data, m.len, off, &v->h, &v->h2);
                ci = 0;
            }
            if (ci < v->chunk->count) {
                r = v->chunk->res[ci];
                f = v->chunk->fr[ci];
                leafp = v->chunk->leaf[ci];
                ci++;
            } else {
                r = hg_audit_frame_decode(m.data + off, m.len - off, HG_AUDIT_RECORD_MAX, &f);
            }
            if (r == HG_AUDIT_FRAME_SHORT) {
                fault(v->rep, HG_AUDIT_FAULT_TRUNCATED, expect, -1,
                      "record %llu is incomplete: %s ends inside it at byte %zu (truncated "
                      "file or torn write; opening the log repairs a torn tail)",
                      (unsigned long long)expect, path, (size_t)m.len);
                stop = 1;
                break;
            }
            if (r != HG_AUDIT_FRAME_OK) {
                fault(v->rep, HG_AUDIT_FAULT_MODIFIED, expect, -1,
                      "record %llu was modified: %s at byte %zu of %s", (unsigned long long)expect,
                      hg_audit_frame_result_str(r), off, path);
                stop = 1;
                break;
            }
            if (f.seq != expect) {
                int64_t later = find_later(v->dir, firsts, nseg, s, off + f.size, expect, expect + 1);
                if (later >= 0)
                    fault(v->rep, HG_AUDIT_FAULT_REORDERED, expect, -1,
                          "records are out of order: position %llu holds record %llu and "
                          "record %llu appears later, at position %lld",
                          (unsigned long long)expect, (unsigned long long)f.seq,
                          (unsigned long long)expect, (long long)later);
                else if (f.seq > expect)
                    fault(v->rep, HG_AUDIT_FAULT_MISSING, expect, -1,
                          "records %llu..%llu are missing: position %llu holds record %llu",
                          (unsigned long long)expect, (unsigned long long)f.seq - 1,
                          (unsigned long long)expect, (unsigned long long)f.seq);
                else
                    fault(v->rep, HG_AUDIT_FAULT_REORDERED, expect, -1,
                          "record %llu appears again at position %llu (duplicated or "
                          "reordered)",
                          (unsigned long long)f.seq, (unsigned long long)expect);
                stop = 1;
                break;
            }
            uint8_t leaf[HG_MERKLE_HASH];
            if (leafp)
                memcpy(leaf, leafp, HG_MERKLE_HASH);
            else
                hg_merkle_leaf_hash(&v->h, f.payload, f.len, leaf);
            const uint8_t *stored = stored_node(v, 0, expect);
            if (v->first_leaf_diff < 0 && stored && memcmp(stored, leaf, HG_MERKLE_HASH) != 0) {
                v->first_leaf_diff = (int64_t)expect;
                memcpy(v->diff_leaf, leaf, HG_MERKLE_HASH);
            }
            hg_merkle_frontier_append(&v->h, &v->fr, leaf, NULL, NULL);
            v->rep->bytes += f.len;
            expect++;
            off += f.size;
            reached(v);
        }
        audit__unmap(&m);
    }
    free(firsts);
    v->rep->records = expect;
    return st;
}

hg_status hg_audit_verify_dir(const char *dir, const char *vkey,
                              struct hg_audit_verify_report *rep, struct hg_err *err)
{
    memset(rep, 0, sizeof *rep);
    rep->checkpoint = -1;
    struct vstate v;
    memset(&v, 0, sizeof v);
    v.dir = dir;
    v.rep = rep;
    v.first_leaf_diff = -1;
    v.last_matched_size = -1;
    struct hg_audit_verifier vk;
    memset(&vk, 0, sizeof vk);
    char text[HG_AUDIT_VKEY_MAX + 2];
    size_t len = 0;
    hg_status st;
    if (!vkey) {
        char path[AUDIT_PATH_MAX];
        audit__path(path, sizeof path, dir, HG_AUDIT_VKEY_FILE);
        if ((st = audit__read_small(path, text, sizeof text, &len, err)) != HG_OK)
            return st;
        vkey = text;
    } else {
        len = strlen(vkey);
    }
    if ((st = hg_audit_verifier_parse(vkey, len, &vk, err)) != HG_OK)
        return st;
    v.chunk = malloc(sizeof *v.chunk);
    if (!v.chunk || hg_merkle_hasher_init(&v.h) != HG_OK) {
        free(v.chunk);
        hg_audit_verifier_cleanup(&vk);
        return hg_err_set(err, HG_ECRYPTO, "SHA-256 is unavailable or out of memory");
    }
    if (hg_merkle_hasher_init(&v.h2) != HG_OK)
        memset(&v.h2, 0, sizeof v.h2); /* fall back to one thread */
    hg_merkle_frontier_init(&v.fr);
    char hpath[AUDIT_PATH_MAX];
    audit__path(hpath, sizeof hpath, dir, HG_AUDIT_HASH_FILE);
    struct hg_err ignored;
    (void)audit__map(hpath, &v.hashes, &ignored); /* optional: diagnostics only */

    if ((st = load_checkpoints(&v, &vk, err)) != HG_OK)
        goto out;
    reached(&v); /* checkpoints of the empty tree */
    if ((st = scan_records(&v, err)) != HG_OK)
        goto out;
    hg_merkle_frontier_root(&v.h, &v.fr, rep->root);
    /* Signed checkpoints beyond the records: the end was cut off. */
    for (size_t k = v.ci; k < v.ncps; k++) {
        const struct cp *c = &v.cps[k];
        if (c->valid && c->size > rep->records)
            fault(rep, HG_AUDIT_FAULT_TRUNCATED, rep->records, (int64_t)k,
                  "checkpoint #%zu is signed over %llu records but the log has only %llu: "
                  "records %llu..%llu were removed",
                  k, (unsigned long long)c->size, (unsigned long long)rep->records,
                  (unsigned long long)rep->records, (unsigned long long)c->size - 1);
    }
    if (v.first_leaf_diff >= 0)
        fault(rep, HG_AUDIT_FAULT_MODIFIED, (uint64_t)v.first_leaf_diff, -1,
              "record %lld was modified: its hash differs from the stored tree (it is not "
              "yet covered by a signed checkpoint)",
              (long long)v.first_leaf_diff);
    /* Consecutive checkpoints must be consistent. Where both were matched
     * against the records that is already proven; otherwise check a
     * consistency proof from the stored tree. */
    {
        int64_t prev = -1;
        for (size_t k = 0; k < v.ncps; k++) {
            if (!v.cps[k].valid)
                continue;
            if (prev >= 0 && !(v.cps[prev].matched && v.cps[k].matched)) {
                const struct cp *a = &v.cps[prev], *b = &v.cps[k];
                struct hg_merkle_proof p;
                struct hg_merkle_source src = {map_node, &v};
                if (a->size <= b->size &&
                    (hg_merkle_consistency_proof(&v.h, &src, a->size, b->size, &p) != HG_OK ||
                     hg_merkle_verify_consistency(&v.h, a->size, b->size, a->root, b->root,
                                                  (const uint8_t(*)[HG_MERKLE_HASH])p.hashes,
                                                  p.count) != HG_OK))
                    fault(rep, HG_AUDIT_FAULT_INCONSISTENT, b->size, (int64_t)k,
                          "checkpoint #%zu (tree size %llu) cannot be proven consistent with "
                          "checkpoint #%lld (tree size %llu)",
                          k, (unsigned long long)b->size, (long long)prev,
                          (unsigned long long)a->size);
            }
            prev = (int64_t)k;
        }
    }
    if (rep->latest_size < rep->records)
        rep->uncovered = rep->records - rep->latest_size;
    rep->ok = rep->fault == HG_AUDIT_FAULT_NONE;
out:
    audit__unmap(&v.hashes);
    free(v.cps);
    free(v.chunk);
    hg_merkle_hasher_cleanup(&v.h);
    hg_merkle_hasher_cleanup(&v.h2);
    hg_audit_verifier_cleanup(&vk);
    return st;
}
