/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_relay.c — the thread that moves audit write-ahead rows from the
 * store into the Merkle log (see audit_relay.h for why and for the
 * exactly-once argument). One pass: read up to BATCH pending rows, queue
 * them all on the audit log (its writer makes them durable with one
 * fdatasync), wait for the last completion, then delete the rows with one
 * store job and wait for its commit. Passes repeat while rows are pending;
 * otherwise the thread sleeps until kicked or POLL_MS passes.
 */
#include "app/audit_relay.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit_log.h"
#include "common/util.h"
#include "crypto/hash.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "store/store.h"

#define BATCH 512
#define POLL_MS 50
#define TAIL_SLACK 8192 /* records others may append while a batch is in flight */

struct hg_audit_relay {
    struct hg_store *st;
    struct hg_audit_log *log;
    struct hg_metric *m_relayed;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* kicks, stop, and completions */
    int kicked, stopping, running;
    size_t outstanding;      /* audit appends not yet completed in this pass */
    hg_status pass_st;
    atomic_ullong appended;
    hg_status result;
    /* store job completion */
    int job_done;
};

static void on_appended(void *ctx, hg_status st, uint64_t index)
{
    (void)index;
    struct hg_audit_relay *r = ctx;
    pthread_mutex_lock(&r->mu);
    if (st != HG_OK && r->pass_st == HG_OK)
        r->pass_st = st;
    r->outstanding--;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void on_job(struct hg_store_write *w, void *arg)
{
    (void)w;
    struct hg_audit_relay *r = arg;
    pthread_mutex_lock(&r->mu);
    r->job_done = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* Delete rows up to seq with one store job and wait for its commit. */
static hg_status mark_done(struct hg_audit_relay *r, int64_t upto)
{
    struct hg_store_write w;
    memset(&w, 0, sizeof w);
    w.op = HG_SOP_AUDIT_DONE;
    w.upto_seq = upto;
    w.done = on_job;
    w.arg = r;
    r->job_done = 0;
    hg_status st;
    /* the queue may be full under load: this job is small, keep trying */
    while ((st = hg_store_submit(r->st, &w)) == HG_EBUSY) {
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (st != HG_OK)
        return st;
    pthread_mutex_lock(&r->mu);
    while (!r->job_done)
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
    return w.result;
}

struct tail_ctx {
    uint8_t (*hashes)[32];
    size_t n, cap;
};

static int tail_cb(void *ctx, uint64_t index, const char *data, size_t len)
{
    (void)index;
    struct tail_ctx *t = ctx;
    if (t->n < t->cap)
        hg_sha256(data, len, t->hashes[t->n++]);
    return 0;
}

/* Rows that a crash left both in the log and in the store: delete them
 * without appending them again (audit_relay.h). */
static hg_status dedup_at_start(struct hg_audit_relay *r)
{
    struct hg_store_audit *rows = NULL;
    size_t n = 0;
    hg_status st = hg_store_audit_pending(r->st, BATCH, &rows, &n);
    if (st != HG_OK || n == 0)
        return st;
    uint64_t size = 0;
    hg_audit_state(r->log, &size, NULL);
    uint64_t want = BATCH + TAIL_SLACK;
    uint64_t from = size > want ? size - want : 0;
    struct tail_ctx t = {calloc((size_t)(size - from) + 1, 32), 0, (size_t)(size - from)};
    struct hg_err err;
    hg_err_clear(&err);
    if (!t.hashes) {
        st = HG_ENOMEM;
        goto out;
    }
    if ((st = hg_audit_read(r->log, from, size, tail_cb, &t, &err)) != HG_OK)
        goto out;
    /* the rows were appended in seq order, so what is in the log is a prefix */
    int64_t upto = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t h[32];
        hg_sha256(rows[i].record, rows[i].record_len, h);
        int found = 0;
        for (size_t k = 0; k < t.n && !found; k++)
            found = !memcmp(t.hashes[k], h, 32);
        if (!found)
            break;
        upto = rows[i].seq;
    }
    if (upto > 0) {
        hg_log(HG_LOG_WARN, "audit relay: records already in the log after an unclean stop; "
                            "not appending them twice",
               HG_LF_INT("upto_seq", upto), HG_LF_END);
        st = mark_done(r, upto);
    }
out:
    free(t.hashes);
    hg_store_audit_free(rows, n);
    return st;
}

/* One pass. *moved = rows relayed. */
static hg_status relay_pass(struct hg_audit_relay *r, size_t *moved)
{
    *moved = 0;
    struct hg_store_audit *rows = NULL;
    size_t n = 0;
    hg_status st = hg_store_audit_pending(r->st, BATCH, &rows, &n);
    if (st != HG_OK || n == 0)
        return st;
    struct hg_err err;
    hg_err_clear(&err);
    pthread_mutex_lock(&r->mu);
    r->pass_st = HG_OK;
    r->outstanding = 0;
    pthread_mutex_unlock(&r->mu);
    size_t queued = 0;
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&r->mu);
        r->outstanding++;
        pthread_mutex_unlock(&r->mu);
        while ((st = hg_audit_append_encoded_async(r->log, rows[i].record, rows[i].record_len,
                                                   on_appended, r, &err)) == HG_EBUSY) {
            struct timespec ts = {0, 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (st != HG_OK) {
            pthread_mutex_lock(&r->mu);
            r->outstanding--;
            pthread_mutex_unlock(&r->mu);
            hg_log(HG_LOG_ERROR, "audit relay: a stored record could not be appended",
                   HG_LF_INT("seq", rows[i].seq), HG_LF_STR("error", hg_err_msg(&err)),
                   HG_LF_END);
            break;
        }
        queued++;
    }
    pthread_mutex_lock(&r->mu);
    while (r->outstanding)
        pthread_cond_wait(&r->cv, &r->mu);
    hg_status ap = r->pass_st;
    pthread_mutex_unlock(&r->mu);
    /* Only a prefix that is wholly durable in the log may be deleted: the
     * log acknowledges in order, so if every queued append succeeded the
     * first `queued` rows are in. */
    if (ap == HG_OK && queued > 0) {
        st = mark_done(r, rows[queued - 1].seq);
        if (st == HG_OK) {
            *moved = queued;
            atomic_fetch_add(&r->appended, queued);
            if (r->m_relayed)
                hg_metric_inc(r->m_relayed, NULL, (double)queued);
        }
    } else if (ap != HG_OK) {
        st = ap;
    }
    hg_store_audit_free(rows, n);
    return st;
}

static void *relay_main(void *arg)
{
    struct hg_audit_relay *r = arg;
    hg_status st = dedup_at_start(r);
    if (st != HG_OK)
        hg_log(HG_LOG_ERROR, "audit relay: start-up check failed; records stay in the store",
               HG_LF_STR("error", hg_status_str(st)), HG_LF_END);
    for (;;) {
        size_t moved = 0;
        st = relay_pass(r, &moved);
        if (st != HG_OK) {
            if (r->result == HG_OK)
                r->result = st;
            hg_log(HG_LOG_ERROR, "audit relay pass failed; retrying",
                   HG_LF_STR("error", hg_status_str(st)), HG_LF_END);
        }
        pthread_mutex_lock(&r->mu);
        if (r->stopping && (moved == 0 || st != HG_OK)) {
            pthread_mutex_unlock(&r->mu);
            break;
        }
        if (moved == BATCH || (moved && r->kicked)) {
            r->kicked = 0;
            pthread_mutex_unlock(&r->mu);
            continue;
        }
        if (!r->kicked && !r->stopping) {
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            /* back off after a failure: the log line repeats at most once a second */
            long ms = st == HG_OK ? POLL_MS : 1000;
            dl.tv_sec += ms / 1000;
            dl.tv_nsec += (ms % 1000) * 1000000L;
            if (dl.tv_nsec >= 1000000000L) {
                dl.tv_sec++;
                dl.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&r->cv, &r->mu, &dl);
        }
        r->kicked = 0;
        pthread_mutex_unlock(&r->mu);
    }
    return NULL;
}

hg_status hg_audit_relay_start(struct hg_store *st, struct hg_audit_log *log,
                               struct hg_metrics *metrics, struct hg_audit_relay **out,
                               struct hg_err *err)
{
    struct hg_audit_relay *r = calloc(1, sizeof *r);
    if (!r)
        return hg_err_set(err, HG_ENOMEM, "out of memory starting the audit relay");
    r->st = st;
    r->log = log;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (metrics)
        hg_metrics_register(metrics, HG_METRIC_COUNTER, "haulgate_audit_relayed_total",
                            "Audit records moved from the store's write-ahead rows to the log",
                            NULL, NULL, 0, &r->m_relayed);
    if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return hg_err_set(err, HG_ESYS, "cannot start the audit relay thread");
    }
    r->running = 1;
    *out = r;
    return HG_OK;
}

void hg_audit_relay_kick(struct hg_audit_relay *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->kicked = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

hg_status hg_audit_relay_stop(struct hg_audit_relay *r)
{
    if (!r)
        return HG_OK;
    pthread_mutex_lock(&r->mu);
    r->stopping = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (r->running)
        pthread_join(r->thread, NULL);
    hg_status st = r->result;
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
    return st;
}

unsigned long long hg_audit_relay_appended(const struct hg_audit_relay *r)
{
    return atomic_load(&((struct hg_audit_relay *)r)->appended);
}
