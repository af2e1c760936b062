/* SPDX-License-Identifier: Apache-2.0
 *
 * log.h — structured logs: one JSON object per line, written with a single
 * write(2) so lines from several threads never interleave. Fields are added
 * as key/value pairs; values are JSON-escaped. Never log a token, key or
 * whole certificate — only thumbprints and names.
 */
#ifndef HG_OBS_LOG_H
#define HG_OBS_LOG_H

#include <stdint.h>
#include "common/status.h"

enum hg_log_level { HG_LOG_DEBUG, HG_LOG_INFO, HG_LOG_WARN, HG_LOG_ERROR };

/* Parse "debug|info|warn|error". HG_EINVAL otherwise. */
hg_status hg_log_level_parse(const char *s, enum hg_log_level *out);

/* Open the sink: path NULL = standard error; otherwise append to the file
 * (created 0600). Call once at start-up; may be called again on SIGHUP to
 * reopen after rotation. */
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

/* A NULL string value is written as null. */
void hg_log(enum hg_log_level level, const char *msg, ...);

#endif
