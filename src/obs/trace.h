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
 * extra fields, ...). Future versions (> 00) are accepted per the spec. */
hg_status hg_traceparent_parse(const char *s, size_t n, struct hg_traceparent *out);

/* A new trace: random trace id and span id, flags 01 (sampled). */
hg_status hg_traceparent_new(struct hg_traceparent *out);

/* A child span of `parent`: same trace id, new random parent id. */
hg_status hg_traceparent_child(const struct hg_traceparent *parent,
                               struct hg_traceparent *out);

/* Format as "00-<trace>-<parent>-<flags>" (55 chars + NUL). */
#define HG_TRACEPARENT_LEN 55
void hg_traceparent_format(const struct hg_traceparent *tp, char out[HG_TRACEPARENT_LEN + 1]);

/* Validate a tracestate value (list-members of key=value, at most 32, keys
 * and values per the spec's grammar). HG_OK or HG_EPARSE. */
hg_status hg_tracestate_validate(const char *s, size_t n);

/* Correlation id rule: 1–128 chars of [A-Za-z0-9._:-]. Returns 1 if valid. */
int hg_correlation_id_valid(const char *s, size_t n);
#define HG_CORRELATION_ID_MAX 128

#endif
