/* SPDX-License-Identifier: Apache-2.0
 *
 * store.c — the backend-independent half of the store: the bounded job
 * queue, the one writer thread and its group-commit loop, completion
 * callbacks, metrics, argument checks and the read dispatch. It never
 * speaks SQL (that is the backend's, store_sqlite.c) and never calls a
 * job's done() before the group holding it is durable or has definitely
 * failed, nor while holding the queue lock (done() may submit again).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "store/store.h"
#include "store/store_int.h"

#define TENDER_LIST_MAX 501 /* a page of 500 and one row that says there is more */
#define OFFER_LIST_MAX 10000
#define EVENTS_LIST_MAX 10000
#define AUDIT_LIST_MAX 10000

static const struct hg_store_backend *const backends[] = { &store__sqlite };

struct hg_store {
    const struct hg_store_backend *be;
    void *b;                          /* backend state */
    int schema_version;
    size_t batch_max;

    pthread_mutex_t mu;               /* guards everything down to `hooks` */
    pthread_cond_t cv;                /* work arrived, or closing */
    struct hg_store_write **q;        /* ring of qcap pointers */
    size_t qcap, qhead, qlen;
    int closing;
    struct store__hooks hooks;

    pthread_t writer;
    struct hg_store_write **batch;    /* writer thread only */
    _Atomic uint64_t groups, jobs;

    /* NULL when metrics are off or the family was already registered by
     * another store on the same registry (updates are then skipped). */
    struct hg_metric *m_groups, *m_group_jobs, *m_commit_s, *m_depth, *m_failures;
};

/* ---- metrics ---- */

static struct hg_metric *reg(struct hg_metrics *m, enum hg_metric_kind kind, const char *name,
                             const char *help, const char *const *labels,
                             const double *buckets, size_t nbuckets)
{
    struct hg_metric *f = NULL;
    hg_status rc = hg_metrics_register(m, kind, name, help, labels, buckets, nbuckets, &f);
    if (rc != HG_OK) {
        /* The registry has no lookup: a second store on one registry (tests)
         * simply reports nothing rather than failing to open. */
        hg_log(HG_LOG_DEBUG, "store metric not registered", HG_LF_STR("metric", name),
               HG_LF_STR("status", hg_status_name(rc)), HG_LF_END);
        return NULL;
    }
    return f;
}

static void metrics_init(struct hg_store *st, struct hg_metrics *m)
{
    static const double job_buckets[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024 };
    static const double sec_buckets[] = { .0005, .001, .002, .005, .01, .02,
                                          .05,   .1,   .25,  .5,   1,   2.5 };
    static const char *const result_label[] = { "result", NULL };
    if (!m)
        return;
    st->m_groups = reg(m, HG_METRIC_COUNTER, "haulgate_store_commit_groups_total",
                       "Commit groups (transactions) the store writer has run", NULL, NULL, 0);
    st->m_group_jobs = reg(m, HG_METRIC_HISTOGRAM, "haulgate_store_group_jobs",
                           "Write jobs per commit group", NULL, job_buckets,
                           sizeof job_buckets / sizeof job_buckets[0]);
    st->m_commit_s = reg(m, HG_METRIC_HISTOGRAM, "haulgate_store_commit_seconds",
                         "Time to execute and commit one group, fsync included", NULL,
                         sec_buckets, sizeof sec_buckets / sizeof sec_buckets[0]);
    st->m_depth = reg(m, HG_METRIC_GAUGE, "haulgate_store_queue_depth",
                      "Write jobs waiting for the store writer", NULL, NULL, 0);
    st->m_failures = reg(m, HG_METRIC_COUNTER, "haulgate_store_job_failures_total",
                         "Write jobs that completed with an error, by result", result_label,
                         NULL, 0);
}

static void depth_update(struct hg_store *st)
{
    if (st->m_depth)
        hg_metric_set(st->m_depth, NULL, (double)st->qlen);
}

/* ---- writer ---- */

/* snprintf for messages that may be cut short on purpose (a detail quoting
 * another detail); through vsnprintf so -Wformat-truncation stays quiet. */
__attribute__((format(printf, 3, 4)))
static void msg_set(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

static void fail_all(struct hg_store_write **jobs, size_t n, const char *why)
{
    for (size_t i = 0; i < n; i++) {
        jobs[i]->result = HG_EIO;
        jobs[i]->swept = 0;
        msg_set(jobs[i]->detail, sizeof jobs[i]->detail, "%s", why);
    }
}

/* Execute and commit one group. Every job leaves with result (and detail)
 * set; nothing is committed for a job whose result is not HG_OK. */
static void run_group(struct hg_store *st, struct hg_store_write **jobs, size_t n,
                      const struct store__hooks *hooks)
{
    char detail[256] = "";
    char why[300];
    int lost = 0;

    for (size_t i = 0; i < n; i++) {
        jobs[i]->result = HG_OK;
        jobs[i]->swept = 0;
        jobs[i]->detail[0] = '\0';
    }

    hg_status rc = st->be->begin(st->b, detail, sizeof detail);
    if (rc != HG_OK) {
        msg_set(why, sizeof why, "store transaction did not start: %s", detail);
        fail_all(jobs, n, why);
        hg_log(HG_LOG_ERROR, "store commit group failed", HG_LF_STR("stage", "begin"),
               HG_LF_INT("jobs", n), HG_LF_STR("detail", detail), HG_LF_END);
        return;
    }
    for (size_t i = 0; i < n && !lost; i++) {
        jobs[i]->result = st->be->apply(st->b, jobs[i], &lost);
        if (lost) {
            /* The database threw the whole transaction away (disk full, I/O
             * error): nothing of this group will be committed, so no job in
             * it may report success. */
            msg_set(why, sizeof why, "not committed: job %zu of the group aborted the "
                     "transaction: %s", i + 1, jobs[i]->detail);
            hg_log(HG_LOG_ERROR, "store commit group failed", HG_LF_STR("stage", "apply"),
                   HG_LF_INT("jobs", n), HG_LF_STR("detail", jobs[i]->detail), HG_LF_END);
            for (size_t j = 0; j < n; j++)
                if (j != i) {
                    jobs[j]->result = HG_EIO;
                    jobs[j]->swept = 0;
                    msg_set(jobs[j]->detail, sizeof jobs[j]->detail, "%s", why);
                }
            jobs[i]->result = HG_EIO;
            st->be->rollback(st->b);
            return;
        }
    }

    rc = hooks->before_commit ? hooks->before_commit(hooks->arg) : HG_OK;
    if (rc != HG_OK) {
        msg_set(detail, sizeof detail, "commit refused by test hook (%s)", hg_status_name(rc));
        st->be->rollback(st->b);
    } else {
        rc = st->be->commit(st->b, detail, sizeof detail);
    }
    if (rc != HG_OK) {
        msg_set(why, sizeof why, "not committed: the group's commit failed: %s", detail);
        fail_all(jobs, n, why);
        hg_log(HG_LOG_ERROR, "store commit group failed", HG_LF_STR("stage", "commit"),
               HG_LF_INT("jobs", n), HG_LF_STR("detail", detail), HG_LF_END);
    }
}

static void *writer_main(void *arg)
{
    struct hg_store *st = arg;
    for (;;) {
        pthread_mutex_lock(&st->mu);
        while (st->qlen == 0 && !st->closing)
            pthread_cond_wait(&st->cv, &st->mu);
        if (st->qlen == 0) {          /* closing and drained */
            pthread_mutex_unlock(&st->mu);
            break;
        }
        size_t n = st->qlen < st->batch_max ? st->qlen : st->batch_max;
        for (size_t i = 0; i < n; i++) {
            st->batch[i] = st->q[st->qhead];
            st->qhead = (st->qhead + 1) % st->qcap;
        }
        st->qlen -= n;
        depth_update(st);
        struct store__hooks hooks = st->hooks;
        pthread_mutex_unlock(&st->mu);

        if (hooks.group_start)
            hooks.group_start(hooks.arg, n);

        uint64_t t0 = hg_mono_us();
        run_group(st, st->batch, n, &hooks);
        double secs = (double)(hg_mono_us() - t0) / 1e6;

        atomic_fetch_add(&st->groups, 1);
        if (st->m_groups)
            hg_metric_inc(st->m_groups, NULL, 1);
        if (st->m_group_jobs)
            hg_metric_observe(st->m_group_jobs, NULL, (double)n);
        if (st->m_commit_s)
            hg_metric_observe(st->m_commit_s, NULL, secs);
        for (size_t i = 0; i < n; i++) {
            struct hg_store_write *w = st->batch[i];
            st->batch[i] = NULL;
            if (w->result != HG_OK && st->m_failures) {
                const char *lv[] = { hg_status_name(w->result) };
                hg_metric_inc(st->m_failures, lv, 1);
            }
            atomic_fetch_add(&st->jobs, 1);
            /* After done() the job may be freed or resubmitted: not touched. */
            w->done(w, w->arg);
        }
    }
    return NULL;
}

/* ---- lifecycle ---- */

static const struct hg_store_backend *backend_find(const char *name)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

hg_status hg_store_open(const struct hg_store_opts *o, struct hg_store **out, struct hg_err *err)
{
    hg_status rc = HG_OK;
    struct hg_store *st = NULL;
    int locks = 0;

    if (!o || !out || !o->path || !o->path[0])
        return hg_err_set(err, HG_EINVAL, "store: no database path given; set store.path");
    *out = NULL;
    const char *name = o->backend ? o->backend : "sqlite";
    const struct hg_store_backend *be = backend_find(name);
    if (!be)
        return hg_err_set(err, HG_EUNSUPPORTED,
                          "store backend '%s' is not built into this program; use 'sqlite'",
                          name);
    if (o->queue_max < 1 || o->batch_max < 1)
        return hg_err_set(err, HG_EINVAL,
                          "store: queue_max (%d) and batch_max (%d) must both be at least 1",
                          o->queue_max, o->batch_max);

    st = calloc(1, sizeof *st);
    if (!st)
        return hg_err_set(err, HG_ENOMEM, "store: out of memory");
    st->be = be;
    st->qcap = (size_t)o->queue_max;
    st->batch_max = (size_t)o->batch_max;
    st->q = calloc(st->qcap, sizeof *st->q);
    st->batch = calloc(st->batch_max, sizeof *st->batch);
    if (!st->q || !st->batch) {
        rc = hg_err_set(err, HG_ENOMEM, "store: out of memory for a queue of %d jobs",
                        o->queue_max);
        goto out;
    }
    atomic_init(&st->groups, 0);
    atomic_init(&st->jobs, 0);
    if (pthread_mutex_init(&st->mu, NULL) != 0) {
        rc = hg_err_set(err, HG_ESYS, "store: pthread_mutex_init failed");
        goto out;
    }
    if (pthread_cond_init(&st->cv, NULL) != 0) {
        pthread_mutex_destroy(&st->mu);
        rc = hg_err_set(err, HG_ESYS, "store: pthread_cond_init failed");
        goto out;
    }
    locks = 1;

    rc = be->open(o, &st->b, &st->schema_version, err);
    if (rc != HG_OK)
        goto out;
    metrics_init(st, o->metrics);

    if (pthread_create(&st->writer, NULL, writer_main, st) != 0) {
        be->close(st->b);
        st->b = NULL;
        rc = hg_err_set(err, HG_ESYS, "store: cannot start the writer thread");
        goto out;
    }
    *out = st;
    st = NULL;
out:
    if (st) {
        if (locks) {
            pthread_cond_destroy(&st->cv);
            pthread_mutex_destroy(&st->mu);
        }
        free(st->q);
        free(st->batch);
        free(st);
    }
    return rc;
}

void hg_store_close(struct hg_store *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&st->mu);
    st->closing = 1;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    /* The writer drains the queue before it sees closing with nothing left. */
    pthread_join(st->writer, NULL);
    st->be->close(st->b);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    free(st->q);
    free(st->batch);
    free(st);
}

int hg_store_schema_version(const struct hg_store *st)
{
    return st ? st->schema_version : 0;
}

/* ---- submit ---- */

static int fixed_ok(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static int nonempty(const char *s, size_t cap)
{
    return fixed_ok(s, cap) && s[0] != '\0';
}

#define NONEMPTY(field) nonempty((field), sizeof(field))
#define TERMINATED(field) fixed_ok((field), sizeof(field))

/* Reject what cannot be a valid job before it is queued, so a caller bug is
 * an immediate HG_EINVAL rather than a failure inside someone's group. */
static int job_valid(const struct hg_store_write *w)
{
    if (!w->done)
        return 0;
    switch (w->op) {
    case HG_SOP_TENDER_INSERT:
    case HG_SOP_TENDER_UPDATE: {
        const struct hg_store_tender *t = &w->tender;
        if (!NONEMPTY(t->id) || !NONEMPTY(t->state) || !t->doc || !TERMINATED(t->tenant) ||
            !TERMINATED(t->owner) || !TERMINATED(t->tms_load_id) || !TERMINATED(t->lane) ||
            !TERMINATED(t->region))
            return 0;
        break;
    }
    case HG_SOP_OFFER_INSERT: {
        const struct hg_store_offer *o = &w->offer;
        if (!NONEMPTY(o->id) || !o->doc || !TERMINATED(o->tenant) || !TERMINATED(o->owner) ||
            !TERMINATED(o->provider_id) || !TERMINATED(o->autonomy_level) ||
            !TERMINATED(o->lane))
            return 0;
        break;
    }
    case HG_SOP_OFFER_DELETE:
        if (!NONEMPTY(w->offer.id))
            return 0;
        break;
    case HG_SOP_NONE:
    case HG_SOP_IDEM_SWEEP:
    case HG_SOP_EVENTS_PUBLISHED:
    case HG_SOP_AUDIT_DONE:
        break;
    default:
        return 0;
    }
    if ((w->nhistory && !w->history) || (w->nevents && !w->events) || (w->naudit && !w->audit))
        return 0;
    for (size_t i = 0; i < w->nhistory; i++) {
        const struct hg_store_history *h = &w->history[i];
        if (!NONEMPTY(h->tender_id) || !NONEMPTY(h->to_state) || !TERMINATED(h->from_state) ||
            !TERMINATED(h->actor) || !TERMINATED(h->reason) || !TERMINATED(h->correlation_id))
            return 0;
    }
    for (size_t i = 0; i < w->nevents; i++) {
        const struct hg_store_event *e = &w->events[i];
        if (!NONEMPTY(e->id) || !NONEMPTY(e->type) || !TERMINATED(e->subject) ||
            !TERMINATED(e->correlation_id) || !TERMINATED(e->traceparent) ||
            (!e->data && e->data_len))
            return 0;
    }
    for (size_t i = 0; i < w->naudit; i++)
        if (!w->audit[i].record)
            return 0;
    if (w->idem) {
        const struct hg_store_idem *r = w->idem;
        if (!NONEMPTY(r->principal) || !NONEMPTY(r->key) || (!r->body && r->body_len))
            return 0;
    }
    return 1;
}

hg_status hg_store_submit(struct hg_store *st, struct hg_store_write *w)
{
    if (!st || !w || !job_valid(w))
        return HG_EINVAL;
    hg_status rc = HG_OK;
    pthread_mutex_lock(&st->mu);
    if (st->closing) {
        rc = HG_ESTATE;
    } else if (st->qlen == st->qcap) {
        rc = HG_EBUSY;
    } else {
        st->q[(st->qhead + st->qlen) % st->qcap] = w;
        st->qlen++;
        depth_update(st);
        pthread_cond_signal(&st->cv);
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

size_t hg_store_queue_depth(struct hg_store *st)
{
    if (!st)
        return 0;
    pthread_mutex_lock(&st->mu);
    size_t n = st->qlen;
    pthread_mutex_unlock(&st->mu);
    return n;
}

void store__set_hooks(struct hg_store *st, const struct store__hooks *h)
{
    pthread_mutex_lock(&st->mu);
    if (h)
        st->hooks = *h;
    else
        memset(&st->hooks, 0, sizeof st->hooks);
    pthread_mutex_unlock(&st->mu);
}

void store__stats(struct hg_store *st, uint64_t *groups, uint64_t *jobs)
{
    if (groups)
        *groups = atomic_load(&st->groups);
    if (jobs)
        *jobs = atomic_load(&st->jobs);
}

/* ---- reads ---- */

#define INIT_ROWS(rows, n) (*(rows) = NULL, *(n) = 0)

hg_status hg_store_tender_get(struct hg_store *st, const char *id, struct hg_store_tender *out)
{
    if (!st || !id || !out)
        return HG_EINVAL;
    memset(out, 0, sizeof *out);
    return st->be->tender_get(st->b, id, out);
}

void hg_store_tender_free(struct hg_store_tender *t)
{
    if (!t)
        return;
    free(t->doc);
    t->doc = NULL;
    t->doc_len = 0;
}

hg_status hg_store_tender_list(struct hg_store *st, const struct hg_store_tender_filter *f,
                               struct hg_store_tender **rows, size_t *n)
{
    if (!st || !f || !rows || !n)
        return HG_EINVAL;
    INIT_ROWS(rows, n);
    if (f->limit < 1 || f->limit > TENDER_LIST_MAX)
        return HG_EINVAL;
    return st->be->tender_list(st->b, f, rows, n);
}

void hg_store_tender_list_free(struct hg_store_tender *rows, size_t n)
{
    if (!rows)
        return;
    for (size_t i = 0; i < n; i++)
        free(rows[i].doc);
    free(rows);
}

hg_status hg_store_tender_history(struct hg_store *st, const char *id,
                                  struct hg_store_history **rows, size_t *n)
{
    if (!st || !id || !rows || !n)
        return HG_EINVAL;
    INIT_ROWS(rows, n);
    return st->be->tender_history(st->b, id, rows, n);
}

hg_status hg_store_offer_get(struct hg_store *st, const char *id, struct hg_store_offer *out)
{
    if (!st || !id || !out)
        return HG_EINVAL;
    memset(out, 0, sizeof *out);
    return st->be->offer_get(st->b, id, out);
}

void hg_store_offer_free(struct hg_store_offer *o)
{
    if (!o)
        return;
    free(o->doc);
    o->doc = NULL;
    o->doc_len = 0;
}

hg_status hg_store_offer_list(struct hg_store *st, const struct hg_store_offer_filter *f,
                              struct hg_store_offer **rows, size_t *n)
{
    if (!st || !f || !rows || !n)
        return HG_EINVAL;
    INIT_ROWS(rows, n);
    if (f->limit < 1 || f->limit > OFFER_LIST_MAX)
        return HG_EINVAL;
    return st->be->offer_list(st->b, f, rows, n);
}

void hg_store_offer_list_free(struct hg_store_offer *rows, size_t n)
{
    if (!rows)
        return;
    for (size_t i = 0; i < n; i++)
        free(rows[i].doc);
    free(rows);
}

hg_status hg_store_idem_get(struct hg_store *st, const char *principal, const char *key,
                            struct hg_store_idem *out)
{
    if (!st || !principal || !key || !out)
        return HG_EINVAL;
    memset(out, 0, sizeof *out);
    return st->be->idem_get(st->b, principal, key, out);
}

void hg_store_idem_free(struct hg_store_idem *r)
{
    if (!r)
        return;
    free(r->headers);
    free(r->body);
    r->headers = NULL;
    r->body = NULL;
    r->body_len = 0;
}

hg_status hg_store_events_list(struct hg_store *st, int64_t after_seq, size_t limit,
                               int unpublished_only, struct hg_store_event **rows, size_t *n)
{
    if (!st || !rows || !n)
        return HG_EINVAL;
    INIT_ROWS(rows, n);
    if (limit < 1 || limit > EVENTS_LIST_MAX)
        return HG_EINVAL;
    return st->be->events_list(st->b, after_seq, limit, unpublished_only, rows, n);
}

void hg_store_events_free(struct hg_store_event *rows, size_t n)
{
    if (!rows)
        return;
    for (size_t i = 0; i < n; i++)
        free(rows[i].data);
    free(rows);
}

hg_status hg_store_audit_pending(struct hg_store *st, size_t limit,
                                 struct hg_store_audit **rows, size_t *n)
{
    if (!st || !rows || !n)
        return HG_EINVAL;
    INIT_ROWS(rows, n);
    if (limit < 1 || limit > AUDIT_LIST_MAX)
        return HG_EINVAL;
    return st->be->audit_pending(st->b, limit, rows, n);
}

void hg_store_audit_free(struct hg_store_audit *rows, size_t n)
{
    if (!rows)
        return;
    for (size_t i = 0; i < n; i++)
        free(rows[i].record);
    free(rows);
}

hg_status hg_store_counts(struct hg_store *st, struct hg_store_counts *out)
{
    if (!st || !out)
        return HG_EINVAL;
    memset(out, 0, sizeof *out);
    return st->be->counts(st->b, out);
}
