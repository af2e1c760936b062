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
 *
 * Values are doubles held as their bit pattern in a C11 atomic uint64 and
 * added with a compare-and-swap loop; counts are exact up to 2^53. Numbers
 * are rendered as the shortest text that round-trips, "+Inf"/"-Inf"/"NaN"
 * for the non-finite ones, independent of the process locale.
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
/* A label value longer than this (bytes) or not valid UTF-8 never gets a
 * series of its own: the update goes to the "_overflow" series. */
#define HG_METRICS_MAX_LABEL_VALUE 256

struct hg_metrics;            /* the registry */
struct hg_metric;             /* one family */

enum hg_metric_kind { HG_METRIC_COUNTER, HG_METRIC_GAUGE, HG_METRIC_HISTOGRAM };

hg_status hg_metrics_new(struct hg_metrics **out);
void hg_metrics_free(struct hg_metrics *m);

/* Register a family. `labels` is a NULL-terminated list of label names (may
 * be NULL for none). `buckets` (histograms only) are ascending upper bounds,
 * +Inf is implied. The returned family lives as long as the registry. Names
 * must match [a-zA-Z_:][a-zA-Z0-9_:]* (HG_EINVAL otherwise).
 * Also HG_EINVAL (promtool's rules, enforced early): empty help; a counter
 * whose name does not end in "_total" or a gauge/histogram whose name does;
 * more than HG_METRICS_MAX_LABELS labels, a label name not matching
 * [a-zA-Z_][a-zA-Z0-9_]* or starting with "__", a repeated label name, "le"
 * on a histogram; buckets on a non-histogram; more than
 * HG_METRICS_MAX_BUCKETS buckets, a non-finite or non-increasing bound.
 * A histogram with buckets NULL and nbuckets 0 gets Prometheus' defaults
 * (.005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 seconds). HG_EEXIST if the name
 * (or, next to a histogram, its _bucket/_sum/_count) is taken; HG_ETOOBIG
 * past 256 families; HG_ENOMEM. A family without labels renders a zero
 * sample from the start. */
hg_status hg_metrics_register(struct hg_metrics *m, enum hg_metric_kind kind,
                              const char *name, const char *help,
                              const char *const *labels, const double *buckets,
                              size_t nbuckets, struct hg_metric **out);

/* Updates. `values` are label values in registration order (count must match;
 * NULL when the family has no labels; a NULL value counts as ""). Label values
 * are escaped on output. Lock-free once the series exists; safe from any
 * thread. Misuse is ignored rather than fatal: inc on a histogram, set on
 * anything but a gauge, observe on anything but a histogram, a negative inc
 * on a counter, and NaN increments or observations do nothing. After
 * HG_METRICS_MAX_SERIES series, new label tuples go to the series whose every
 * label is "_overflow". */
void hg_metric_inc(struct hg_metric *f, const char *const *values, double by);
void hg_metric_set(struct hg_metric *f, const char *const *values, double v);
void hg_metric_observe(struct hg_metric *f, const char *const *values, double v);

/* Read one series without creating it: a counter's or gauge's value, a
 * histogram's observation count. HG_ENOTFOUND if that label tuple has no
 * series (yet), HG_EINVAL on NULL arguments. */
hg_status hg_metric_get(struct hg_metric *f, const char *const *values, double *out);

/* Render every family in the text format into `out` (appended), families in
 * registration order and series in creation order. All or nothing: on
 * HG_ETOOBIG (out's maximum) or HG_ENOMEM, out is left as it was. */
hg_status hg_metrics_render(struct hg_metrics *m, struct hg_buf *out);

#endif
