/* SPDX-License-Identifier: Apache-2.0
 *
 * trace.h — request tracing identifiers: W3C Trace Context (`traceparent`,
 * `tracestate`, level 1/2 rules) and haulgate's correlation id. Pure parsing,
 * no I/O. Every parser takes the header value and its length and never reads
 * past it.
 */
#ifndef HG_OBS_TRACE_H
#define HG_OBS_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include "common/status.h"

struct hg_traceparent {
    uint8_t version;
    char trace_id[33];       /* 32 lower-case hex */
    char parent_id[17];      /* 16 lower-case hex */
    uint8_t flags;
};

/* Parse one traceparent value (W3C Trace Context). HG_EPARSE when invalid
 * (wrong lengths, upper-case hex, all-zero ids, version ff, version 00 with
 * extra fields, ...). Future versions (> 00) are accepted per the spec: at
 * least 55 chars, and anything after the flags must start with '-' (it is
 * not parsed). The value must already be trimmed: surrounding whitespace is
 * the HTTP layer's business (hg_trace_from_headers trims it). */
hg_status hg_traceparent_parse(const char *s, size_t n, struct hg_traceparent *out);

/* A new trace: random trace id and span id, flags 01 (sampled). */
hg_status hg_traceparent_new(struct hg_traceparent *out);

/* A child span of `parent`: same trace id, new random parent id, version 00,
 * flags kept except the bits level 2 leaves undefined (only sampled 0x01
 * and random-trace-id 0x02 survive). HG_ECRYPTO if the random source fails. */
hg_status hg_traceparent_child(const struct hg_traceparent *parent,
                               struct hg_traceparent *out);

/* Format as "00-<trace>-<parent>-<flags>" (55 chars + NUL). Always version
 * 00, the highest this code knows: the spec's "downgrade" of a parsed future
 * version. */
#define HG_TRACEPARENT_LEN 55
void hg_traceparent_format(const struct hg_traceparent *tp, char out[HG_TRACEPARENT_LEN + 1]);

/* Validate a tracestate value (list-members of key=value, at most 32, keys
 * and values per the spec's grammar). HG_OK or HG_EPARSE.
 * This is the strict check for a value haulgate sends: at most
 * HG_TRACESTATE_MAX bytes, at most 32 members, no key twice. Key grammar is
 * the current spec's (a-z or 0-9 first, then up to 255 of a-z 0-9 _ - * / @,
 * which covers the level-1 "tenant@system" form); a value is 1-256 printable
 * ASCII chars except ',' and '=', not ending in a space. Optional whitespace
 * around members and empty members are allowed, as the spec's list allows. */
#define HG_TRACESTATE_MAX 512
hg_status hg_tracestate_validate(const char *s, size_t n);

/* ---- from request headers ---------------------------------------------------
 * The rules the W3C test suite encodes, in one place for the HTTP layer:
 * header names match in any case; more than one traceparent field makes it
 * invalid; surrounding spaces/tabs are trimmed; several tracestate fields are
 * combined with ',' (RFC 9110 field order); tracestate is not even parsed
 * unless traceparent is valid; a malformed tracestate member discards the
 * whole tracestate but never the traceparent. A well-formed tracestate is
 * normalised for propagation: whitespace and empty members dropped, a
 * repeated key keeps its first entry, and if it still has more than 32
 * members or HG_TRACESTATE_MAX bytes, whole entries are removed, those longer
 * than 128 chars first (from the right), then from the right end. */

struct hg_trace_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

enum hg_traceparent_verdict {
    HG_TRACEPARENT_ABSENT,   /* no traceparent field: start a new trace */
    HG_TRACEPARENT_VALID,    /* `tp` holds it */
    HG_TRACEPARENT_INVALID,  /* malformed or repeated: restart the trace */
};

enum hg_tracestate_verdict {
    HG_TRACESTATE_ABSENT,    /* none, empty, or ignored (traceparent not valid) */
    HG_TRACESTATE_VALID,     /* `tracestate` holds the normalised value */
    HG_TRACESTATE_INVALID,   /* a malformed member: discard, do not propagate */
    HG_TRACESTATE_TOOBIG,    /* combined input over HG_TRACESTATE_INPUT_MAX: discarded unparsed */
};

/* Combined tracestate input parsed at most; larger input is not looked at. */
#define HG_TRACESTATE_INPUT_MAX 4096

struct hg_trace_ctx {
    enum hg_traceparent_verdict tp_verdict;
    struct hg_traceparent tp;                   /* zeroed unless VALID */
    enum hg_tracestate_verdict ts_verdict;
    char tracestate[HG_TRACESTATE_MAX + 1];     /* "" unless VALID */
    size_t tracestate_len;
    int ts_truncated;                           /* entries removed to fit the limits */
};

/* Read traceparent/tracestate from `n` request header fields (other names
 * are skipped; names and values are length-delimited, need not be
 * NUL-terminated, and are never read past their lengths). Always fills
 * `out`; there is no error to return, only verdicts. */
void hg_trace_from_headers(const struct hg_trace_header *h, size_t n,
                           struct hg_trace_ctx *out);

/* Correlation id rule: 1–128 chars of [A-Za-z0-9._:-]. Returns 1 if valid. */
int hg_correlation_id_valid(const char *s, size_t n);
#define HG_CORRELATION_ID_MAX 128

/* The X-Correlation-ID rule in one call: copy `s` (n bytes; s may be NULL
 * when the header is absent) into `out` if it is valid, otherwise write a
 * new UUIDv7. *generated (may be NULL) is set to 1 when a new id was made.
 * HG_ECRYPTO if generating failed (out is then ""). */
hg_status hg_correlation_id_accept(const char *s, size_t n,
                                   char out[HG_CORRELATION_ID_MAX + 1], int *generated);

#endif
