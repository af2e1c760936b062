/* SPDX-License-Identifier: Apache-2.0
 *
 * metrics.c — the metrics registry and its Prometheus text (0.0.4) renderer.
 * Every HTTP request on every worker thread updates a few series, so the hot
 * path takes no lock: a family keeps an open-addressing table of series that
 * only ever grows (slots are published with release stores and never
 * cleared), so a lookup is a hash plus a probe, and the update is a relaxed
 * atomic on the series. Only creating a series takes the family's mutex.
 * Values are IEEE doubles kept as their bit pattern in an atomic uint64 and
 * added with a compare-and-swap loop (exact for integer counts up to 2^53).
 * This file must never let a label value that a client controls grow memory
 * without bound or produce text that promtool rejects.
 */
#include "obs/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "obs/obs_int.h"

/* Table slots per family: a power of two at least twice the most series a
 * family can hold (HG_METRICS_MAX_SERIES + the overflow series), so probes
 * are short and always end at an empty slot. */
#define SLOTS 2048
_Static_assert(SLOTS >= 2 * (HG_METRICS_MAX_SERIES + 1), "table too small");
_Static_assert((SLOTS & (SLOTS - 1)) == 0, "SLOTS must be a power of two");

/* Families per registry; a bound so a registration loop bug fails loudly. */
#define MAX_FAMILIES 256

static const char OVERFLOW_VALUE[] = "_overflow";

static const double default_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                         0.5,   1,    2.5,   5,    10};

struct series {
    uint64_t hash;
    const char *values[HG_METRICS_MAX_LABELS]; /* point into the same allocation */
    /* counter, gauge: v[0] = value bits.
     * histogram: v[0..nbuckets] = per-bucket counts (not cumulative; the last
     * one is +Inf), v[nbuckets + 1] = sum bits. */
    _Atomic uint64_t v[];
};

struct hg_metric {
    enum hg_metric_kind kind;
    char *name;
    char *help;
    size_t nlabels;
    char *labels[HG_METRICS_MAX_LABELS];
    size_t nbuckets;
    double buckets[HG_METRICS_MAX_BUCKETS];
    uint64_t seed;

    pthread_mutex_t mu;               /* serialises series creation */
    _Atomic(struct series *) slots[SLOTS];
    /* Creation order, for stable output. Entries below `nlist` are written
     * before `nlist` is published, so the renderer reads them unlocked. */
    struct series *list[HG_METRICS_MAX_SERIES + 1];
    _Atomic size_t nlist;
    size_t nregular;                  /* series counted against the cap (under mu) */
    struct series *overflow;          /* under mu */
    struct series *single;            /* the one series of a label-less family */
};

struct hg_metrics {
    pthread_mutex_t mu;               /* guards fams and nfams */
    struct hg_metric *fams[MAX_FAMILIES];
    size_t nfams;
    uint64_t seed;
};

/* ---- doubles in atomics -------------------------------------------------- */

static uint64_t d2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double u2d(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void atomic_add_double(_Atomic uint64_t *p, double by)
{
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(p, &old, d2u(u2d(old) + by),
                                                  memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

/* ---- names --------------------------------------------------------------- */

static bool valid_metric_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                  (p != s && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static bool valid_label_name(const char *s)
{
    if (!s || !*s)
        return false;
    if (s[0] == '_' && s[1] == '_')
        return false; /* reserved for Prometheus' internal labels */
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (p != s && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* ---- series lookup ------------------------------------------------------- */

static const char *label_value(const char *const *values, size_t i)
{
    const char *v = values ? values[i] : NULL;
    return v ? v : "";
}

static uint64_t mix64(uint64_t x)
{
    /* splitmix64's finaliser: spreads FNV's weak low bits over the mask */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t hash_values(uint64_t seed, const char *const *values, size_t n)
{
    /* FNV-1a, seeded per registry so a client cannot precompute colliding
     * paths; 0xff separates values because it never occurs in UTF-8. */
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)label_value(values, i); *p; p++) {
            h ^= *p;
            h *= 0x100000001b3ULL;
        }
        h ^= 0xff;
        h *= 0x100000001b3ULL;
    }
    return mix64(h);
}

static bool series_matches(const struct series *s, uint64_t h, const char *const *values,
                           size_t n)
{
    if (s->hash != h)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->values[i], label_value(values, i)) != 0)
            return false;
    return true;
}

/* Probe for `values`; returns the series or NULL, and the first empty slot
 * seen in *empty (valid when NULL is returned). */
static struct series *probe(struct hg_metric *f, uint64_t h, const char *const *values,
                            size_t *empty)
{
    size_t i = (size_t)h & (SLOTS - 1);
    for (;;) {
        struct series *s = atomic_load_explicit(&f->slots[i], memory_order_acquire);
        if (!s) {
            if (empty)
                *empty = i;
            return NULL;
        }
        if (series_matches(s, h, values, f->nlabels))
            return s;
        i = (i + 1) & (SLOTS - 1);
    }
}

static size_t nvalues(const struct hg_metric *f)
{
    return f->kind == HG_METRIC_HISTOGRAM ? f->nbuckets + 2 : 1;
}

static struct series *series_alloc(const struct hg_metric *f, const char *const *values,
                                   uint64_t h)
{
    size_t lens[HG_METRICS_MAX_LABELS] = {0};
    size_t nv = nvalues(f);
    size_t size = sizeof(struct series) + nv * sizeof(_Atomic uint64_t);
    for (size_t i = 0; i < f->nlabels; i++) {
        lens[i] = strlen(label_value(values, i));
        size += lens[i] + 1;
    }
    struct series *s = calloc(1, size);
    if (!s)
        return NULL;
    s->hash = h;
    for (size_t i = 0; i < nv; i++)
        atomic_init(&s->v[i], 0); /* all-zero bits are 0.0 and a count of 0 */
    char *p = (char *)&s->v[nv];
    for (size_t i = 0; i < f->nlabels; i++) {
        memcpy(p, label_value(values, i), lens[i] + 1);
        s->values[i] = p;
        p += lens[i] + 1;
    }
    return s;
}

/* Caller holds f->mu; `slot` is an empty slot from a probe for `s`'s labels. */
static void publish(struct hg_metric *f, struct series *s, size_t slot)
{
    size_t n = atomic_load_explicit(&f->nlist, memory_order_relaxed);
    f->list[n] = s;
    atomic_store_explicit(&f->nlist, n + 1, memory_order_release);
    atomic_store_explicit(&f->slots[slot], s, memory_order_release);
}

/* A label value may become a series only if it is short and valid UTF-8:
 * the exposition format is UTF-8, and an unbounded value is a memory lever. */
static bool values_acceptable(const struct hg_metric *f, const char *const *values)
{
    for (size_t i = 0; i < f->nlabels; i++) {
        const char *v = label_value(values, i);
        size_t n = strnlen(v, HG_METRICS_MAX_LABEL_VALUE + 1);
        if (n > HG_METRICS_MAX_LABEL_VALUE || !obs__utf8_valid(v, n))
            return false;
    }
    return true;
}

/* Caller holds f->mu. The overflow series is the one whose every label is
 * "_overflow"; it may already exist if a caller used that value literally,
 * in which case it is shared rather than duplicated (a duplicate label set
 * would make the exposition invalid). */
static struct series *overflow_locked(struct hg_metric *f)
{
    if (f->overflow)
        return f->overflow;
    const char *ov[HG_METRICS_MAX_LABELS];
    for (size_t i = 0; i < f->nlabels; i++)
        ov[i] = OVERFLOW_VALUE;
    uint64_t h = hash_values(f->seed, ov, f->nlabels);
    size_t slot = 0;
    struct series *s = probe(f, h, ov, &slot);
    if (!s) {
        s = series_alloc(f, ov, h);
        if (!s)
            return NULL;
        publish(f, s, slot);
    }
    f->overflow = s;
    return s;
}

static struct series *series_create(struct hg_metric *f, const char *const *values, uint64_t h)
{
    pthread_mutex_lock(&f->mu);
    size_t slot = 0;
    struct series *s = probe(f, h, values, &slot); /* another thread may have won */
    if (s)
        goto out;
    if (f->nregular >= HG_METRICS_MAX_SERIES || !values_acceptable(f, values)) {
        s = overflow_locked(f);
        goto out;
    }
    s = series_alloc(f, values, h);
    if (!s)
        goto out; /* the update is dropped; metrics never fail a request */
    publish(f, s, slot);
    f->nregular++;
out:
    pthread_mutex_unlock(&f->mu);
    return s;
}

static struct series *series_get(struct hg_metric *f, const char *const *values, bool create)
{
    if (f->nlabels == 0)
        return f->single;
    uint64_t h = hash_values(f->seed, values, f->nlabels);
    struct series *s = probe(f, h, values, NULL);
    if (s || !create)
        return s;
    return series_create(f, values, h);
}

/* ---- registry ------------------------------------------------------------ */

static void family_free(struct hg_metric *f)
{
    if (!f)
        return;
    size_t n = atomic_load_explicit(&f->nlist, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        free(f->list[i]);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->name);
    free(f->help);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

hg_status hg_metrics_new(struct hg_metrics **out)
{
    if (!out)
        return HG_EINVAL;
    *out = NULL;
    struct hg_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return HG_ENOMEM;
    hg_status rc = hg_random(&m->seed, sizeof m->seed);
    if (rc != HG_OK) {
        free(m);
        return rc;
    }
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return HG_OK;
}

void hg_metrics_free(struct hg_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nfams; i++)
        family_free(m->fams[i]);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static hg_status check_registration(enum hg_metric_kind kind, const char *name,
                                    const char *help, const char *const *labels,
                                    const double *buckets, size_t nbuckets, size_t *nlabels)
{
    if (kind != HG_METRIC_COUNTER && kind != HG_METRIC_GAUGE && kind != HG_METRIC_HISTOGRAM)
        return HG_EINVAL;
    if (!valid_metric_name(name) || !help || !*help)
        return HG_EINVAL;
    /* promtool's lint: counters end in _total and nothing else does. */
    if ((kind == HG_METRIC_COUNTER) != ends_with(name, "_total"))
        return HG_EINVAL;
    size_t n = 0;
    while (labels && labels[n]) {
        if (n == HG_METRICS_MAX_LABELS || !valid_label_name(labels[n]))
            return HG_EINVAL;
        if (kind == HG_METRIC_HISTOGRAM && strcmp(labels[n], "le") == 0)
            return HG_EINVAL;
        for (size_t j = 0; j < n; j++)
            if (strcmp(labels[j], labels[n]) == 0)
                return HG_EINVAL;
        n++;
    }
    *nlabels = n;
    if (kind != HG_METRIC_HISTOGRAM)
        return (buckets || nbuckets) ? HG_EINVAL : HG_OK;
    if (nbuckets > HG_METRICS_MAX_BUCKETS || (nbuckets && !buckets))
        return HG_EINVAL;
    for (size_t i = 0; i < nbuckets; i++) {
        if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1])))
            return HG_EINVAL;
    }
    return HG_OK;
}

/* Is `name` one of the sample names a histogram called `hist` writes? */
static bool is_series_name(const char *name, const char *hist)
{
    size_t hl = strlen(hist);
    return strncmp(name, hist, hl) == 0 &&
           (strcmp(name + hl, "_bucket") == 0 || strcmp(name + hl, "_sum") == 0 ||
            strcmp(name + hl, "_count") == 0);
}

hg_status hg_metrics_register(struct hg_metrics *m, enum hg_metric_kind kind,
                              const char *name, const char *help,
                              const char *const *labels, const double *buckets,
                              size_t nbuckets, struct hg_metric **out)
{
    if (!m || !out)
        return HG_EINVAL;
    *out = NULL;
    size_t nlabels = 0;
    hg_status rc = check_registration(kind, name, help, labels, buckets, nbuckets, &nlabels);
    if (rc != HG_OK)
        return rc;
    if (kind == HG_METRIC_HISTOGRAM && !buckets) {
        buckets = default_buckets;
        nbuckets = sizeof default_buckets / sizeof default_buckets[0];
    }

    struct hg_metric *f = calloc(1, sizeof *f);
    if (!f)
        return HG_ENOMEM;
    pthread_mutex_init(&f->mu, NULL);
    f->kind = kind;
    f->name = strdup(name);
    f->help = strdup(help);
    rc = (f->name && f->help) ? HG_OK : HG_ENOMEM;
    for (size_t i = 0; i < nlabels && rc == HG_OK; i++) {
        f->labels[i] = strdup(labels[i]);
        if (!f->labels[i])
            rc = HG_ENOMEM;
        f->nlabels = i + 1;
    }
    if (rc != HG_OK)
        goto fail;
    f->nbuckets = nbuckets;
    if (nbuckets)
        memcpy(f->buckets, buckets, nbuckets * sizeof *buckets);

    pthread_mutex_lock(&m->mu);
    f->seed = m->seed;
    for (size_t i = 0; i < m->nfams && rc == HG_OK; i++) {
        /* A histogram also owns name_bucket/_sum/_count; forbid those too. */
        const char *other = m->fams[i]->name;
        if (strcmp(other, name) == 0 ||
            (m->fams[i]->kind == HG_METRIC_HISTOGRAM && is_series_name(name, other)) ||
            (kind == HG_METRIC_HISTOGRAM && is_series_name(other, name)))
            rc = HG_EEXIST;
    }
    if (rc == HG_OK && m->nfams == MAX_FAMILIES)
        rc = HG_ETOOBIG;
    if (rc == HG_OK && nlabels == 0) {
        /* Label-less families expose a zero sample from the start, as
         * Prometheus client libraries do, so dashboards see 0 not absence. */
        f->single = series_alloc(f, NULL, 0);
        if (!f->single) {
            rc = HG_ENOMEM;
        } else {
            f->list[0] = f->single;
            atomic_store_explicit(&f->nlist, 1, memory_order_release);
        }
    }
    if (rc == HG_OK)
        m->fams[m->nfams++] = f;
    pthread_mutex_unlock(&m->mu);
    if (rc != HG_OK)
        goto fail;
    *out = f;
    return HG_OK;
fail:
    family_free(f);
    return rc;
}

/* ---- updates ------------------------------------------------------------- */

void hg_metric_inc(struct hg_metric *f, const char *const *values, double by)
{
    if (!f || f->kind == HG_METRIC_HISTOGRAM || isnan(by))
        return;
    if (f->kind == HG_METRIC_COUNTER && by < 0)
        return; /* a counter that goes down reads as a restart to Prometheus */
    struct series *s = series_get(f, values, true);
    if (s)
        atomic_add_double(&s->v[0], by);
}

void hg_metric_set(struct hg_metric *f, const char *const *values, double v)
{
    if (!f || f->kind != HG_METRIC_GAUGE)
        return;
    struct series *s = series_get(f, values, true);
    if (s)
        atomic_store_explicit(&s->v[0], d2u(v), memory_order_relaxed);
}

void hg_metric_observe(struct hg_metric *f, const char *const *values, double v)
{
    if (!f || f->kind != HG_METRIC_HISTOGRAM || isnan(v))
        return;
    struct series *s = series_get(f, values, true);
    if (!s)
        return;
    size_t b = 0;
    while (b < f->nbuckets && v > f->buckets[b])
        b++;
    atomic_fetch_add_explicit(&s->v[b], 1, memory_order_relaxed);
    atomic_add_double(&s->v[f->nbuckets + 1], v);
}

hg_status hg_metric_get(struct hg_metric *f, const char *const *values, double *out)
{
    if (!f || !out)
        return HG_EINVAL;
    struct series *s = series_get(f, values, false);
    if (!s)
        return HG_ENOTFOUND;
    if (f->kind != HG_METRIC_HISTOGRAM) {
        *out = u2d(atomic_load_explicit(&s->v[0], memory_order_relaxed));
        return HG_OK;
    }
    uint64_t count = 0;
    for (size_t b = 0; b <= f->nbuckets; b++)
        count += atomic_load_explicit(&s->v[b], memory_order_relaxed);
    *out = (double)count;
    return HG_OK;
}

/* ---- rendering ----------------------------------------------------------- */

/* Escape per the text format: label values escape \ " and newline; HELP
 * text escapes \ and newline only. */
static hg_status put_escaped(struct hg_buf *out, const char *s, bool quote)
{
    hg_status rc = HG_OK;
    const char *run = s;
    for (const char *p = s; *p && rc == HG_OK; p++) {
        const char *esc = NULL;
        if (*p == '\\')
            esc = "\\\\";
        else if (*p == '\n')
            esc = "\\n";
        else if (quote && *p == '"')
            esc = "\\\"";
        if (!esc)
            continue;
        rc = hg_buf_append(out, run, (size_t)(p - run));
        if (rc == HG_OK)
            rc = hg_buf_puts(out, esc);
        run = p + 1;
    }
    if (rc == HG_OK)
        rc = hg_buf_puts(out, run);
    return rc;
}

static hg_status put_double(struct hg_buf *out, double v)
{
    char num[OBS__DBL_MAX_LEN + 1];
    size_t n = obs__fmt_double(v, num);
    return hg_buf_append(out, num, n);
}

/* "name{l1="v1",l2="v2"[,le="x"]} " — `le` NULL for no bucket label. */
static hg_status put_series_head(struct hg_buf *out, const struct hg_metric *f,
                                 const struct series *s, const char *suffix, const char *le)
{
    hg_status rc = hg_buf_puts(out, f->name);
    if (rc == HG_OK && suffix)
        rc = hg_buf_puts(out, suffix);
    if (rc != HG_OK || (f->nlabels == 0 && !le))
        return rc == HG_OK ? hg_buf_puts(out, " ") : rc;
    rc = hg_buf_puts(out, "{");
    for (size_t i = 0; i < f->nlabels && rc == HG_OK; i++) {
        rc = hg_buf_printf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
        if (rc == HG_OK)
            rc = put_escaped(out, s->values[i], true);
        if (rc == HG_OK)
            rc = hg_buf_puts(out, "\"");
    }
    if (rc == HG_OK && le)
        rc = hg_buf_printf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    if (rc == HG_OK)
        rc = hg_buf_puts(out, "} ");
    return rc;
}

static hg_status render_histogram(struct hg_buf *out, const struct hg_metric *f,
                                  const struct series *s)
{
    /* Snapshot the buckets once so every cumulative count, +Inf and _count
     * agree even while observations land concurrently. */
    uint64_t counts[HG_METRICS_MAX_BUCKETS + 1];
    for (size_t b = 0; b <= f->nbuckets; b++)
        counts[b] = atomic_load_explicit(&s->v[b], memory_order_relaxed);
    double sum = u2d(atomic_load_explicit(&s->v[f->nbuckets + 1], memory_order_relaxed));

    hg_status rc = HG_OK;
    uint64_t cum = 0;
    for (size_t b = 0; b <= f->nbuckets && rc == HG_OK; b++) {
        char le[OBS__DBL_MAX_LEN + 1];
        if (b < f->nbuckets)
            obs__fmt_double(f->buckets[b], le);
        else
            memcpy(le, "+Inf", 5);
        cum += counts[b];
        rc = put_series_head(out, f, s, "_bucket", le);
        if (rc == HG_OK)
            rc = hg_buf_printf(out, "%llu\n", (unsigned long long)cum);
    }
    if (rc == HG_OK)
        rc = put_series_head(out, f, s, "_sum", NULL);
    if (rc == HG_OK)
        rc = put_double(out, sum);
    if (rc == HG_OK)
        rc = hg_buf_puts(out, "\n");
    if (rc == HG_OK)
        rc = put_series_head(out, f, s, "_count", NULL);
    if (rc == HG_OK)
        rc = hg_buf_printf(out, "%llu\n", (unsigned long long)cum);
    return rc;
}

static hg_status render_family(struct hg_buf *out, struct hg_metric *f)
{
    static const char *const kinds[] = {"counter", "gauge", "histogram"};
    hg_status rc = hg_buf_printf(out, "# HELP %s ", f->name);
    if (rc == HG_OK)
        rc = put_escaped(out, f->help, false);
    if (rc == HG_OK)
        rc = hg_buf_printf(out, "\n# TYPE %s %s\n", f->name, kinds[f->kind]);
    size_t n = atomic_load_explicit(&f->nlist, memory_order_acquire);
    for (size_t i = 0; i < n && rc == HG_OK; i++) {
        const struct series *s = f->list[i];
        if (f->kind == HG_METRIC_HISTOGRAM) {
            rc = render_histogram(out, f, s);
            continue;
        }
        rc = put_series_head(out, f, s, NULL, NULL);
        if (rc == HG_OK)
            rc = put_double(out, u2d(atomic_load_explicit(&s->v[0], memory_order_relaxed)));
        if (rc == HG_OK)
            rc = hg_buf_puts(out, "\n");
    }
    return rc;
}

hg_status hg_metrics_render(struct hg_metrics *m, struct hg_buf *out)
{
    if (!m || !out)
        return HG_EINVAL;
    size_t start = out->len;
    hg_status rc = HG_OK;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nfams && rc == HG_OK; i++)
        rc = render_family(out, m->fams[i]);
    pthread_mutex_unlock(&m->mu);
    if (rc != HG_OK && out->data) {
        /* all or nothing: a half exposition would be scraped as truth */
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}
