/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_audit_proof.c — the Merkle proof JSON parser, then (when it parses)
 * both proof verifiers with the decoded values. Invariants: no crash, the
 * hash count never exceeds HG_MERKLE_MAX_PROOF, and re-serialising a parsed
 * proof parses back to the same values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_proof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    struct hg_err err;
    struct hg_audit_proof_doc *d = malloc(sizeof *d), *back = malloc(sizeof *back);
    if (d && back && hg_audit_proof_from_json(p, size, d, &err) == HG_OK) {
        if (d->proof.count > HG_MERKLE_MAX_PROOF)
            abort();
        struct hg_merkle_hasher h;
        if (hg_merkle_hasher_init(&h) == HG_OK) {
            const uint8_t(*hs)[HG_MERKLE_HASH] = (const uint8_t(*)[HG_MERKLE_HASH])d->proof.hashes;
            if (d->type == HG_AUDIT_PROOF_INCLUSION)
                (void)hg_merkle_verify_inclusion(&h, d->a, d->b, d->leaf_hash, hs, d->proof.count,
                                                 d->to_root);
            else
                (void)hg_merkle_verify_consistency(&h, d->a, d->b, d->from_root, d->to_root, hs,
                                                   d->proof.count);
            hg_merkle_hasher_cleanup(&h);
        }
        struct hg_buf b;
        hg_buf_init(&b, HG_AUDIT_PROOF_JSON_MAX);
        if (hg_audit_proof_to_json(d, NULL, &b) == HG_OK) {
            if (hg_audit_proof_from_json(b.data, b.len, back, &err) != HG_OK ||
                back->a != d->a || back->b != d->b || back->proof.count != d->proof.count ||
                memcmp(back->proof.hashes, d->proof.hashes, d->proof.count * HG_MERKLE_HASH))
                abort();
        }
        hg_buf_cleanup(&b);
    }
    free(d);
    free(back);
    free(p);
    return 0;
}
