/* SPDX-License-Identifier: Apache-2.0
 *
 * metrics.h — a small, fast, thread-safe metrics registry rendered in the
 * Prometheus text exposition format (version 0.0.4), which must pass
 * `promtool check metrics`. Counters, gauges and histograms, each with a
 * fixed set of label names declared at registration. Hot-path updates are
 * lock-free (relaxed atomics) once a series exists; creating a new label
 * combination takes a lock. Series per family are bounded (HG_METRICS_MAX_SERIES),
 * beyond which updates go to one overflow series labelled "_overflow" so a
 * client cannot explode memory by sending odd paths.
 */
#ifndef HG_OBS_METRICS_H
#define HG_OBS_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"
#include "common/status.h"

#define HG_METRICS_MAX_LABELS 4
#define HG_METRICS_MAX_SERIES 512
#define HG_METRICS_MAX_BUCKETS 16

struct hg_metrics;            /* the registry */
struct hg_metric;             /* one family */

enum hg_metric_kind { HG_METRIC_COUNTER, HG_METRIC_GAUGE, HG_METRIC_HISTOGRAM };

hg_status hg_metrics_new(struct hg_metrics **out);
void hg_metrics_free(struct hg_metrics *m);

/* Register a family. `labels` is a NULL-terminated list of label names (may
 * be NULL for none). `buckets` (histograms only) are ascending upper bounds,
 * +Inf is implied. The returned family lives as long as the registry. Names
 * must match [a-zA-Z_:][a-zA-Z0-9_:]* (HG_EINVAL otherwise). */
hg_status hg_metrics_register(struct hg_metrics *m, enum hg_metric_kind kind,
                              const char *name, const char *help,
                              const char *const *labels, const double *buckets,
                              size_t nbuckets, struct hg_metric **out);

/* Updates. `values` are label values in registration order (count must match;
 * NULL when the family has no labels). Label values are escaped on output. */
void hg_metric_inc(struct hg_metric *f, const char *const *values, double by);
void hg_metric_set(struct hg_metric *f, const char *const *values, double v);
void hg_metric_observe(struct hg_metric *f, const char *const *values, double v);

/* Render every family in the text format into `out` (appended). */
hg_status hg_metrics_render(struct hg_metrics *m, struct hg_buf *out);

#endif
