/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_record.h — what an audit record is: the table of event types, the
 * record fields every security-relevant action must carry, and the one
 * canonical JSON serialisation whose bytes are hashed into the Merkle tree.
 * Canonical form: a JSON object with keys sorted by byte value at every
 * level, no insignificant whitespace, strings in UTF-8 escaped exactly as
 * jansson's JSON_COMPACT|JSON_SORT_KEYS writes them, integers only (no
 * floating point anywhere, because float formatting is not a stable byte
 * form). Encoding never reads past the record's bounds and never exceeds
 * HG_AUDIT_RECORD_MAX bytes.
 */
#ifndef HG_AUDIT_RECORD_H
#define HG_AUDIT_RECORD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define HG_AUDIT_RECORD_MAX (64 * 1024) /* canonical bytes of one record */
#define HG_AUDIT_RECORD_VERSION 1

/* One row per event type (STYLE: tables over branches). `required` lists
 * keys that must be present in the record's `details` object. `in_tree` is
 * 0 for types that describe the log itself (audit.checkpoint): those are
 * published as events, never appended as leaves, because a checkpoint
 * commits to the tree and cannot also be inside what it commits to. */
struct hg_audit_event_type {
    const char *name;
    const char *required[4];
    int in_tree;
    const char *summary;
};

/* The event type named `name` (exact match), or NULL when unknown. */
const struct hg_audit_event_type *hg_audit_event_type_find(const char *name);
/* The whole table (for docs, `haulctl audit types`, and tests). */
const struct hg_audit_event_type *hg_audit_event_types(size_t *count);

struct hg_audit_identity {
    const char *subject;            /* NULL → null (e.g. authentication failed) */
    const char *const *roles;       /* may be NULL when nroles == 0 */
    size_t nroles;
    const char *cert_thumbprint;    /* SHA-256 hex of the client cert, NULL → null */
};

/* A record as callers build it; all strings borrowed, UTF-8. */
struct hg_audit_record {
    int64_t timestamp_ms;           /* Unix ms; 0 = now */
    const char *service;            /* emitting component, e.g. "haulgated" (required) */
    const char *event_type;         /* a row of the table above (required) */
    const char *request_id;         /* correlation id (required, non-empty) */
    struct hg_audit_identity identity;
    const char *policy_id;          /* NULL → null when no policy applied */
    const char *decision;           /* "allow" | "deny" | "none" (required) */
    const char *reason;             /* NULL → "" */
    const json_t *details;          /* event-specific object, NULL → {} (borrowed) */
};

/* Validate and serialise canonically into out (which should have a max of
 * at least HG_AUDIT_RECORD_MAX; content is appended). HG_EINVAL with a
 * message naming the field for a missing field, unknown event type, bad
 * decision, invalid UTF-8, or a non-integer number; HG_ETOOBIG past
 * HG_AUDIT_RECORD_MAX. On error out is left as it was. */
hg_status hg_audit_record_encode(const struct hg_audit_record *r, struct hg_buf *out,
                                 struct hg_err *err);

/* Check that n bytes are one canonical record: parses (duplicate keys
 * rejected), checks every required field and type, the event type and its
 * required details, and that re-serialising gives exactly the same bytes.
 * HG_EPARSE / HG_EINVAL with a message otherwise. */
hg_status hg_audit_record_check(const char *p, size_t n, struct hg_err *err);
/* The same, also giving the record's event type on success (type_out may
 * be NULL): one parse for callers that need both. */
hg_status hg_audit_record_check_type(const char *p, size_t n,
                                     const struct hg_audit_event_type **type_out,
                                     struct hg_err *err);

/* Validate UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
int hg_audit_utf8_valid(const char *p, size_t n);

#endif
