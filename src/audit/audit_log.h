/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_log.h — haulgate's tamper-evident audit log: an append-only RFC 6962
 * Merkle tree of canonical JSON records, stored in CRC-framed segment files,
 * with an interior-hash file for O(log n) proofs and C2SP signed checkpoints
 * (Ed25519) every N records or T ms. Appends are group-committed: any number
 * of threads may append; one writer thread batches them and makes each batch
 * durable with one fdatasync before any caller in it is told its index.
 *
 * Thread safety: every function may be called from any thread, except that
 * hg_audit_close must not race with other calls on the same log. Callbacks
 * (async completion, checkpoint hook) run on the writer thread — except the
 * checkpoint hook for the checkpoint hg_audit_open itself signs, which runs
 * on the opening thread: keep them short and never call hg_audit_append
 * (sync), hg_audit_checkpoint_now or hg_audit_close from them.
 *
 * Failure policy: after an I/O error the log stops accepting appends
 * (HG_EIO, fail closed) until it is closed and reopened, which repairs it.
 * It never acknowledges a record that is not on disk.
 */
#ifndef HG_AUDIT_LOG_H
#define HG_AUDIT_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit_merkle.h"
#include "audit/audit_proof.h"
#include "audit/audit_record.h"
#include "common/buf.h"
#include "common/err.h"

struct hg_audit_log;

/* Handed to the checkpoint hook for each new signed checkpoint. `note` is
 * the C2SP signed note; `record` is a canonical audit.checkpoint record
 * (not in the tree) ready to publish as an event. Valid during the call. */
struct hg_audit_checkpoint_event {
    uint64_t size;
    uint8_t root[HG_MERKLE_HASH];
    const char *note;
    size_t note_len;
    const char *record;
    size_t record_len;
};
typedef void (*hg_audit_checkpoint_fn)(void *ctx, const struct hg_audit_checkpoint_event *ev);

/* Async completion: st is HG_OK and index the record's position once it is
 * durable, or an error (the record is not in the log). Called exactly once. */
typedef void (*hg_audit_done_fn)(void *ctx, hg_status st, uint64_t index);

struct hg_audit_options {
    const char *origin;              /* checkpoint origin = key name; used when the
                                      * log is created (default "haulgate.local/audit") */
    uint64_t checkpoint_every;       /* records; default 1000 */
    uint32_t checkpoint_interval_ms; /* default 1000 */
    uint64_t segment_max_bytes;      /* roll segments at this size; default 64 MiB */
    uint32_t max_batch;              /* records per group commit; default 4096 */
    uint32_t max_queue;              /* waiting appends; default 65536 (sync appends
                                      * wait for room, async ones get HG_EBUSY) */
    int read_only;                   /* no writer, no lock, no key, no repair: serves
                                      * reads and proofs up to the latest checkpoint */
    hg_audit_checkpoint_fn on_checkpoint;
    void *on_checkpoint_ctx;
};
void hg_audit_options_init(struct hg_audit_options *o);

/* What open found and repaired. Nothing is ever dropped silently: a torn
 * tail is cut off, saved beside the segment as <segment>.torn-<ms>, and
 * counted here. */
struct hg_audit_recovery {
    uint64_t records;             /* records in the log after open */
    uint64_t torn_bytes;          /* bytes cut from the last segment's tail */
    uint64_t checkpoint_torn_bytes;
    uint64_t hashes_rebuilt;      /* tree nodes recomputed from records */
    int created;                  /* a new log (and key) was created */
    int warnings;                 /* number of warnings below */
    char message[768];            /* the warnings, human-readable, "" if none */
};

/* Open (creating if needed: directory 0700, Ed25519 key audit.key 0600,
 * verifier key audit.vkey 0644) and recover. HG_EBUSY if another process
 * has it open for writing; HG_ECORRUPT (with the file and offset) if data
 * covered by a signed checkpoint is damaged — run `haulctl audit verify`;
 * HG_ECONFIG if options.origin differs from the existing log's origin. */
hg_status hg_audit_open(const char *dir, const struct hg_audit_options *opt,
                        struct hg_audit_log **out, struct hg_err *err);
void hg_audit_recovery_report(const struct hg_audit_log *log, struct hg_audit_recovery *out);

/* Drain the queue (all pending appends complete), write a final checkpoint
 * if records are not yet covered, stop the writer, release everything.
 * NULL is fine. Returns the first error met while draining. */
hg_status hg_audit_close(struct hg_audit_log *log, struct hg_err *err);

/* Encode, append and wait until durable; *index receives the position.
 * HG_EINVAL for an invalid record (nothing appended), HG_EIO when the log
 * has failed, HG_ESTATE when closing or read-only. */
hg_status hg_audit_append(struct hg_audit_log *log, const struct hg_audit_record *rec,
                          uint64_t *index, struct hg_err *err);
/* Append a record that is already canonical (made by
 * hg_audit_record_encode earlier and kept elsewhere, e.g. the store's
 * audit write-ahead rows) and wait until durable. The bytes are checked
 * with hg_audit_record_check first: HG_EPARSE / HG_EINVAL (nothing
 * appended) if they are not one canonical in-tree record. Otherwise as
 * hg_audit_append. */
hg_status hg_audit_append_encoded(struct hg_audit_log *log, const char *rec, size_t len,
                                  uint64_t *index, struct hg_err *err);
/* The same, queued: done is called from the writer thread once durable
 * (never on an error return). HG_EBUSY when the queue is full. */
hg_status hg_audit_append_encoded_async(struct hg_audit_log *log, const char *rec, size_t len,
                                        hg_audit_done_fn done, void *ctx, struct hg_err *err);
/* Encode and queue; done is called from the writer thread once durable.
 * On any error return, done is never called. HG_EBUSY when the queue is
 * full (the caller decides: retry, or fail the request closed). */
hg_status hg_audit_append_async(struct hg_audit_log *log, const struct hg_audit_record *rec,
                                hg_audit_done_fn done, void *ctx, struct hg_err *err);

/* Current tree size and root (the last durable batch). */
void hg_audit_state(struct hg_audit_log *log, uint64_t *size, uint8_t root[HG_MERKLE_HASH]);
/* Root of the first `size` leaves (size <= current size). */
hg_status hg_audit_root_at(struct hg_audit_log *log, uint64_t size, uint8_t root[HG_MERKLE_HASH],
                           struct hg_err *err);

/* Read records [from, to) in order: cb gets each record's canonical bytes
 * (valid during the call); returning non-zero stops early. to is clamped to
 * the current size. */
typedef int (*hg_audit_entry_fn)(void *ctx, uint64_t index, const char *data, size_t len);
hg_status hg_audit_read(struct hg_audit_log *log, uint64_t from, uint64_t to,
                        hg_audit_entry_fn cb, void *ctx, struct hg_err *err);

/* Proofs against the tree of `size` leaves (size <= current size). */
hg_status hg_audit_prove_inclusion(struct hg_audit_log *log, uint64_t index, uint64_t size,
                                   struct hg_audit_proof_doc *out, struct hg_err *err);
hg_status hg_audit_prove_consistency(struct hg_audit_log *log, uint64_t from, uint64_t to,
                                     struct hg_audit_proof_doc *out, struct hg_err *err);

/* The latest signed checkpoint (appended to out) and its tree size.
 * HG_ENOTFOUND before the first checkpoint. */
hg_status hg_audit_latest_checkpoint(struct hg_audit_log *log, struct hg_buf *out,
                                     uint64_t *size, struct hg_err *err);
/* Sign a checkpoint now (if records are uncovered) and wait for it. */
hg_status hg_audit_checkpoint_now(struct hg_audit_log *log, struct hg_err *err);

/* The verifier key text (name+keyid+base64), for publishing. */
const char *hg_audit_vkey(const struct hg_audit_log *log);

/* Files inside a log directory. */
#define HG_AUDIT_KEY_FILE "audit.key"
#define HG_AUDIT_VKEY_FILE "audit.vkey"
#define HG_AUDIT_HASH_FILE "tree.hashes"
#define HG_AUDIT_CP_FILE "checkpoints.log"
#define HG_AUDIT_LATEST_FILE "checkpoint"
#define HG_AUDIT_SEG_DIR "segments"
#define HG_AUDIT_LOCK_FILE "LOCK"

#endif
