/* SPDX-License-Identifier: Apache-2.0
 *
 * log.h — structured logs: one JSON object per line, written with a single
 * write(2) so lines from several threads never interleave. Fields are added
 * as key/value pairs; values are JSON-escaped. Never log a token, key or
 * whole certificate — only thumbprints and names.
 *
 * Every line is valid JSON whatever the strings hold: control characters are
 * escaped, bytes that are not well-formed UTF-8 become U+FFFD. A line is at
 * most HG_LOG_LINE_MAX bytes (PIPE_BUF, so one write is atomic on a pipe
 * too); longer ones are cut at a field or character boundary and end with
 * "truncated":true. Before hg_log_open the sink is standard error at info.
 */
#ifndef HG_OBS_LOG_H
#define HG_OBS_LOG_H

#include <limits.h>
#include <stdint.h>
#include "common/status.h"

#define HG_LOG_LINE_MAX PIPE_BUF

enum hg_log_level { HG_LOG_DEBUG, HG_LOG_INFO, HG_LOG_WARN, HG_LOG_ERROR };

/* Parse "debug|info|warn|error" (lower case). HG_EINVAL otherwise. */
hg_status hg_log_level_parse(const char *s, enum hg_log_level *out);

/* Open the sink: path NULL = standard error; otherwise append to the file
 * (created 0600, O_APPEND). Call once at start-up; may be called again on
 * SIGHUP to reopen after rotation: the new file replaces the old sink
 * atomically with respect to concurrent hg_log calls, and the old one is
 * closed. On failure the previous sink stays in use. HG_EINVAL (bad level),
 * HG_EPERM (permission denied), HG_ENOTFOUND (directory missing), HG_EIO. */
hg_status hg_log_open(const char *path, enum hg_log_level level);
void hg_log_close(void);
void hg_log_set_level(enum hg_log_level level);
int hg_log_enabled(enum hg_log_level level);

/* Field list for hg_log: typed key/value pairs ended by HG_LF_END.
 *   hg_log(HG_LOG_INFO, "request", HG_LF_STR("method", "GET"),
 *          HG_LF_INT("status", 200), HG_LF_END);
 * Each line gets "ts" (RFC 3339 ms), "level" and "msg" first. */
enum hg_lf_type { HG_LFT_END, HG_LFT_STR, HG_LFT_INT, HG_LFT_DBL, HG_LFT_BOOL };
#define HG_LF_STR(k, v) HG_LFT_STR, (const char *)(k), (const char *)(v)
#define HG_LF_INT(k, v) HG_LFT_INT, (const char *)(k), (int64_t)(v)
#define HG_LF_DBL(k, v) HG_LFT_DBL, (const char *)(k), (double)(v)
#define HG_LF_BOOL(k, v) HG_LFT_BOOL, (const char *)(k), (int)(v)
#define HG_LF_END HG_LFT_END

/* A NULL string value is written as null, a NULL msg as "", a non-finite
 * double as null; a field with a NULL key is skipped; a field named "ts",
 * "level" or "msg" is written as "field_ts" etc. so keys stay unique. At most
 * 64 fields are read. Thread-safe; never fails the caller (a write error is
 * dropped, there is nowhere to report it). */
void hg_log(enum hg_log_level level, const char *msg, ...);

#endif
