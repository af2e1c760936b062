/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_verify.h — the offline verifier behind `haulctl audit verify`. It
 * reads a log directory without opening it as a log (no lock, no repair, no
 * writes), recomputes every leaf hash and the tree from the records alone,
 * checks every checkpoint's signature with a verifier key, that each signed
 * root equals the root recomputed from the records at that size, and that
 * consecutive checkpoints are consistent. It trusts nothing in the
 * directory except through the verifier key; the interior-hash file is used
 * only to pinpoint which record changed and to check checkpoint consistency
 * where records are missing. Run it on a quiescent log or a copy: a write in
 * progress looks like a torn tail.
 */
#ifndef HG_AUDIT_VERIFY_H
#define HG_AUDIT_VERIFY_H

#include <stdint.h>

#include "audit/audit_merkle.h"
#include "common/err.h"

enum hg_audit_fault {
    HG_AUDIT_FAULT_NONE = 0,
    HG_AUDIT_FAULT_MODIFIED,      /* a record's bytes changed */
    HG_AUDIT_FAULT_MISSING,       /* records absent from the middle */
    HG_AUDIT_FAULT_REORDERED,     /* records out of order or duplicated */
    HG_AUDIT_FAULT_TRUNCATED,     /* records cut from the end */
    HG_AUDIT_FAULT_BAD_SIGNATURE, /* a checkpoint not signed by the trusted key */
    HG_AUDIT_FAULT_INCONSISTENT,  /* a validly signed checkpoint that disagrees */
    HG_AUDIT_FAULT_CORRUPT,       /* unreadable structure (headers, history) */
};

/* "modified", "missing", ... */
const char *hg_audit_fault_name(enum hg_audit_fault f);

struct hg_audit_verify_report {
    int ok;
    enum hg_audit_fault fault;
    uint64_t index;          /* first bad record index (record faults) */
    int64_t checkpoint;      /* ordinal of the checkpoint involved, or -1 */
    char message[1024];      /* what is wrong and where, for a person */
    uint64_t records;        /* readable records */
    uint64_t checkpoints;    /* checkpoints read */
    uint64_t latest_size;    /* size of the latest checkpoint */
    uint8_t root[HG_MERKLE_HASH]; /* root over all readable records */
    uint64_t bytes;          /* record bytes hashed */
    uint64_t uncovered;      /* records after the latest checkpoint */
};

/* Verify the log in `dir`. vkey: the verifier key text, or NULL to use
 * DIR/audit.vkey (which then proves only internal consistency: pin the key
 * you published). Returns HG_OK when the verification ran (rep->ok tells
 * the verdict), or an error when it could not run (unreadable key, missing
 * directory), with a message. */
hg_status hg_audit_verify_dir(const char *dir, const char *vkey,
                              struct hg_audit_verify_report *rep, struct hg_err *err);

#endif
