/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_proof.h — the JSON form of Merkle proofs, as `haulctl audit prove`
 * prints them and `haulctl audit verify-proof` (and the HTTP API) read them.
 * Hashes are standard base64 (as in C2SP checkpoints); sizes are integers.
 *
 *   {"type":"inclusion","log_index":I,"tree_size":N,"leaf_hash":B64,
 *    "hashes":[B64,...]}
 *   {"type":"consistency","from_size":A,"to_size":B,"from_root":B64,
 *    "to_root":B64,"hashes":[B64,...]}
 *
 * Optional on output and ignored on input: "root" (inclusion; the root the
 * proof leads to) and "checkpoint" (the signed note text, for convenience).
 * Neither is trusted by the verifier: trust comes only from a checkpoint
 * whose signature verifies. The parser is bounded (HG_AUDIT_PROOF_JSON_MAX).
 */
#ifndef HG_AUDIT_PROOF_H
#define HG_AUDIT_PROOF_H

#include <stdint.h>

#include "audit/audit_merkle.h"
#include "common/buf.h"
#include "common/err.h"

#define HG_AUDIT_PROOF_JSON_MAX (64 * 1024)

enum hg_audit_proof_type { HG_AUDIT_PROOF_INCLUSION = 1, HG_AUDIT_PROOF_CONSISTENCY = 2 };

struct hg_audit_proof_doc {
    enum hg_audit_proof_type type;
    uint64_t a; /* inclusion: log_index; consistency: from_size */
    uint64_t b; /* inclusion: tree_size; consistency: to_size */
    uint8_t leaf_hash[HG_MERKLE_HASH]; /* inclusion */
    uint8_t from_root[HG_MERKLE_HASH]; /* consistency */
    uint8_t to_root[HG_MERKLE_HASH];   /* consistency; inclusion: the root (output only) */
    struct hg_merkle_proof proof;
};

/* Serialise as one JSON object (sorted keys, compact) plus a newline.
 * `checkpoint` (may be NULL) is included verbatim as a string. */
hg_status hg_audit_proof_to_json(const struct hg_audit_proof_doc *d, const char *checkpoint,
                                 struct hg_buf *out);
/* Parse and validate: type, sizes (inclusion: index < size; consistency:
 * from <= to), every hash exactly 32 bytes, at most HG_MERKLE_MAX_PROOF of
 * them. HG_EPARSE with a message naming the field otherwise. */
hg_status hg_audit_proof_from_json(const char *p, size_t n, struct hg_audit_proof_doc *out,
                                   struct hg_err *err);

#endif
