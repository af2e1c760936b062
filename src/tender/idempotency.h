/* SPDX-License-Identifier: Apache-2.0
 *
 * idempotency.h — the pure rules of draft-ietf-httpapi-idempotency-key-
 * header and of list cursors: parsing the Idempotency-Key field, the
 * request fingerprint, the decision table (proceed / replay / 422 / 409),
 * and the opaque cursor of GET /v1/tenders. No I/O: the stored records
 * come from store/, the in-flight set lives in api/.
 */
#ifndef HG_TENDER_IDEMPOTENCY_H
#define HG_TENDER_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>
#include "common/status.h"

#define HG_IDEM_KEY_MAX 255

/* Parse the Idempotency-Key field. `values` are every occurrence of the
 * header (n of them; n == 0 means absent). Accepted forms:
 *   - an RFC 8941 sf-string: "..." of printable ASCII (0x20-0x7E) with \" and
 *     \\ escapes, 1..255 characters after unescaping;
 *   - for compatibility, a bare token of [A-Za-z0-9._:-], 1..255 characters.
 * Optional surrounding whitespace (SP/HTAB) is ignored. Parameters (";a=b")
 * are refused.
 * Returns HG_OK with the key in out (NUL-terminated), HG_ENOTFOUND when
 * absent, HG_EINVAL for a malformed value or more than one header; `why`
 * then points to a static sentence that says what is accepted. */
hg_status hg_idem_key_parse(const char *const *values, size_t n,
                            char out[HG_IDEM_KEY_MAX + 1], const char **why);

/* SHA-256 over method, NUL, path (with query), NUL, body. */
void hg_idem_fingerprint(const char *method, const char *path, const void *body, size_t len,
                         uint8_t out[32]);

/* What to do with a request that carries a key. */
enum hg_idem_action {
    HG_IDEM_PROCEED,    /* no live record: process it (and store the response) */
    HG_IDEM_REPLAY,     /* same key, same fingerprint, completed: send the stored response */
    HG_IDEM_MISMATCH,   /* same key, other fingerprint: 422 */
    HG_IDEM_IN_FLIGHT,  /* same key, the first request has not finished: 409 */
};

/* A stored record as the decision needs it. */
struct hg_idem_seen {
    int in_flight;            /* claimed by a request still running */
    int completed;            /* a response is stored */
    uint8_t fingerprint[32];
    int64_t expires_ms;       /* a record at or past this is treated as absent */
};

/* The decision table (docs/tenders.md#idempotency). `seen` NULL = no
 * record. Expired records are absent. In flight wins over completed. */
enum hg_idem_action hg_idem_decide(const struct hg_idem_seen *seen, const uint8_t fp[32],
                                   int64_t now_ms);

/* ---- cursors ---- */
/* A cursor is opaque to clients: base64url of a version byte, the last id
 * returned and an 8-byte hash of the filters it was made with, so a cursor
 * cannot be replayed against other filters (400). Ids sort by time
 * (UUIDv7), so paging by id is stable under concurrent inserts: a new row
 * lands after the last page, never inside one already read. */
#define HG_CURSOR_MAX 96

/* filters_hash: any stable 64-bit digest of the list's filters (e.g. the
 * first 8 bytes of SHA-256 of their canonical text). */
hg_status hg_cursor_encode(const char *last_id, uint64_t filters_hash,
                           char out[HG_CURSOR_MAX + 1]);
/* HG_OK with last_id filled; HG_EINVAL if malformed or made for other
 * filters (`why` says which). */
hg_status hg_cursor_decode(const char *cursor, size_t len, uint64_t filters_hash,
                           char last_id[37], const char **why);

#endif
