/* SPDX-License-Identifier: Apache-2.0
 *
 * checkpoint_pub.c — see checkpoint_pub.h. One store job at a time: the
 * publisher owns a struct hg_store_write and the event it points to, and
 * the writer thread's done callback submits the newest waiting checkpoint
 * if one came meanwhile. The root hash is read back from the note's third
 * line (C2SP tlog-checkpoint: origin, size, base64 root).
 */
#include "app/checkpoint_pub.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "obs/log.h"
#include "obs/trace.h"

struct hg_ckpt_pub {
    struct hg_store *store;
    pthread_mutex_t mu;
    pthread_cond_t idle;
    int inflight, stopping;
    /* the newest checkpoint not yet submitted */
    char *wait_note;
    size_t wait_len;
    uint64_t wait_size;
    /* the job in flight and what it borrows */
    struct hg_store_write w;
    struct hg_store_event ev;
    char *data;
    uint64_t published;
};

/* Build the event for (size, note) into p->ev / p->data. 0 or -1. */
static int build(struct hg_ckpt_pub *p, uint64_t size, const char *note, size_t len)
{
    /* line 3 of the note is the root hash */
    const char *l2 = memchr(note, '\n', len);
    const char *l3 = l2 ? memchr(l2 + 1, '\n', len - (size_t)(l2 + 1 - note)) : NULL;
    const char *end = l3 ? memchr(l3 + 1, '\n', len - (size_t)(l3 + 1 - note)) : NULL;
    if (!end)
        return -1;
    json_t *d = json_pack("{s:I, s:s%, s:s%}", "tree_size", (json_int_t)size, "root_hash",
                          l3 + 1, (size_t)(end - l3 - 1), "checkpoint", note, len);
    free(p->data);
    p->data = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (!p->data)
        return -1;
    memset(&p->ev, 0, sizeof p->ev);
    if (hg_uuid7(p->ev.id) != HG_OK)
        return -1;
    hg_strlcpy(p->ev.type, HG_CKPT_EVENT_TYPE, sizeof p->ev.type);
    snprintf(p->ev.subject, sizeof p->ev.subject, "%llu", (unsigned long long)size);
    p->ev.time_ms = hg_wall_ms();
    hg_uuid7(p->ev.correlation_id);
    struct hg_traceparent tp;
    if (hg_traceparent_new(&tp) == HG_OK)
        hg_traceparent_format(&tp, p->ev.traceparent);
    p->ev.data = p->data;
    p->ev.data_len = strlen(p->data);
    memset(&p->w, 0, sizeof p->w);
    p->w.op = HG_SOP_NONE;
    p->w.events = &p->ev;
    p->w.nevents = 1;
    return 0;
}

static void done(struct hg_store_write *w, void *arg);

/* With mu held: submit the waiting checkpoint if nothing is in flight. */
static void kick(struct hg_ckpt_pub *p)
{
    while (!p->inflight && p->wait_note && !p->stopping) {
        char *note = p->wait_note;
        size_t len = p->wait_len;
        uint64_t size = p->wait_size;
        p->wait_note = NULL;
        int ok = build(p, size, note, len) == 0;
        free(note);
        if (!ok) {
            hg_log(HG_LOG_ERROR, "cannot build the audit checkpoint event",
                   HG_LF_INT("tree_size", (int64_t)size), HG_LF_END);
            continue;
        }
        p->w.done = done;
        p->w.arg = p;
        p->inflight = 1;
        hg_status rc = hg_store_submit(p->store, &p->w);
        if (rc != HG_OK) {
            p->inflight = 0;
            /* the next checkpoint supersedes this one */
            hg_log(HG_LOG_WARN, "audit checkpoint event not queued; the next one carries it",
                   HG_LF_INT("tree_size", (int64_t)size),
                   HG_LF_STR("status", hg_status_name(rc)), HG_LF_END);
            break;
        }
    }
}

static void done(struct hg_store_write *w, void *arg)
{
    struct hg_ckpt_pub *p = arg;
    pthread_mutex_lock(&p->mu);
    p->inflight = 0;
    if (w->result == HG_OK)
        p->published++;
    else
        hg_log(HG_LOG_WARN, "audit checkpoint event not stored; the next one carries it",
               HG_LF_STR("status", hg_status_name(w->result)), HG_LF_STR("detail", w->detail),
               HG_LF_END);
    kick(p);
    pthread_cond_broadcast(&p->idle);
    pthread_mutex_unlock(&p->mu);
}

hg_status hg_ckpt_pub_start(struct hg_store *store, struct hg_ckpt_pub **out,
                            struct hg_err *err)
{
    struct hg_ckpt_pub *p = calloc(1, sizeof *p);
    if (!p)
        return hg_err_set(err, HG_ENOMEM, "out of memory for the checkpoint publisher");
    p->store = store;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->idle, NULL);
    *out = p;
    return HG_OK;
}

void hg_ckpt_pub_offer(struct hg_ckpt_pub *p, uint64_t size, const char *note, size_t len)
{
    if (!p || !note)
        return;
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, note, len);
    copy[len] = '\0';
    pthread_mutex_lock(&p->mu);
    if (p->stopping || (p->wait_note && p->wait_size > size)) {
        free(copy);
    } else {
        free(p->wait_note);
        p->wait_note = copy;
        p->wait_len = len;
        p->wait_size = size;
        kick(p);
    }
    pthread_mutex_unlock(&p->mu);
}

uint64_t hg_ckpt_pub_count(struct hg_ckpt_pub *p)
{
    pthread_mutex_lock(&p->mu);
    uint64_t n = p->published;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void hg_ckpt_pub_stop(struct hg_ckpt_pub *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    while (p->inflight)
        pthread_cond_wait(&p->idle, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void hg_ckpt_pub_free(struct hg_ckpt_pub *p)
{
    if (!p)
        return;
    hg_ckpt_pub_stop(p);
    free(p->wait_note);
    free(p->data);
    pthread_cond_destroy(&p->idle);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
