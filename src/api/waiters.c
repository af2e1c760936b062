/* SPDX-License-Identifier: Apache-2.0
 *
 * waiters.c — the Prefer: wait registry: tender id → requests held until
 * the tender is decided (docs/tenders.md "Waiting for a decision"). The
 * one rule that keeps it safe: a suspended request may be touched only
 * while its waiter is linked, and linking, unlinking and resuming all
 * happen under the registry lock. The notifier resumes and unlinks under
 * the lock; the resumed request — woken or timed out — unlinks itself under
 * the lock before it answers (a no-op if the notifier did it), so once it
 * answers no pointer to it is left here. Nothing here blocks beyond that
 * lock or allocates.
 */
#include <string.h>

#include "api/api_int.h"

static size_t bucket(const char *id)
{
    /* UUIDv7 text: the random tail spreads well */
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return (size_t)(h % API_WAITER_BUCKETS);
}

hg_status api__waiters_init(struct api_waiters *ws)
{
    memset(ws, 0, sizeof *ws);
    return pthread_mutex_init(&ws->mu, NULL) == 0 ? HG_OK : HG_ESYS;
}

void api__waiters_cleanup(struct api_waiters *ws)
{
    /* waiters belong to requests, which are gone by now: only forget them */
    memset(ws->b, 0, sizeof ws->b);
    ws->count = 0;
    pthread_mutex_destroy(&ws->mu);
}

static void unlink_locked(struct api_waiters *ws, struct api_waiter *w)
{
    if (!w->linked)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        ws->b[bucket(w->tender_id)] = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->linked = 0;
    w->armed = 0;
    w->r = NULL;
    ws->count--;
}

void api__waiter_add(struct api_waiters *ws, struct api_waiter *w)
{
    size_t i = bucket(w->tender_id);
    pthread_mutex_lock(&ws->mu);
    w->prev = NULL;
    w->next = ws->b[i];
    if (w->next)
        w->next->prev = w;
    ws->b[i] = w;
    w->linked = 1;
    w->armed = 0;
    w->decided = 0;
    w->r = NULL;
    ws->count++;
    pthread_mutex_unlock(&ws->mu);
}

int api__waiter_arm(struct api_waiters *ws, struct api_waiter *w, struct hg_http_req *r,
                    int timeout_ms, hg_http_resume_fn fn, void *arg)
{
    int ret;
    pthread_mutex_lock(&ws->mu);
    if (!w->linked || w->decided || ws->draining) {
        unlink_locked(ws, w);
        ret = 0;
    } else if (hg_http_req_suspend(r, timeout_ms, fn, arg) != HG_OK) {
        unlink_locked(ws, w);
        ret = -1;
    } else {
        w->r = r;
        w->armed = 1;
        ret = 1;
    }
    pthread_mutex_unlock(&ws->mu);
    return ret;
}

int api__waiter_remove(struct api_waiters *ws, struct api_waiter *w)
{
    pthread_mutex_lock(&ws->mu);
    unlink_locked(ws, w);
    int decided = w->decided;
    pthread_mutex_unlock(&ws->mu);
    return decided;
}

/* Resume an armed waiter and unlink it: 1 if it was armed. An armed
 * request is suspended and cannot have answered, because it unlinks itself
 * under this lock before it does. */
static size_t wake_locked(struct api_waiters *ws, struct api_waiter *w)
{
    if (!w->armed)
        return 0;
    hg_http_req_resume(w->r);
    unlink_locked(ws, w);
    return 1;
}

size_t api__waiters_notify(struct api_waiters *ws, const char *tender_id)
{
    size_t woken = 0;
    pthread_mutex_lock(&ws->mu);
    struct api_waiter *w = ws->b[bucket(tender_id)];
    while (w) {
        struct api_waiter *next = w->next;
        if (!strcmp(w->tender_id, tender_id)) {
            w->decided = 1;
            woken += wake_locked(ws, w);
        }
        w = next;
    }
    pthread_mutex_unlock(&ws->mu);
    return woken;
}

size_t api__waiters_drain(struct api_waiters *ws)
{
    size_t woken = 0;
    pthread_mutex_lock(&ws->mu);
    ws->draining = 1;
    for (size_t i = 0; i < API_WAITER_BUCKETS; i++) {
        struct api_waiter *w = ws->b[i];
        while (w) {
            struct api_waiter *next = w->next;
            woken += wake_locked(ws, w);
            w = next;
        }
    }
    pthread_mutex_unlock(&ws->mu);
    return woken;
}

size_t api__waiters_count(struct api_waiters *ws)
{
    pthread_mutex_lock(&ws->mu);
    size_t n = ws->count;
    pthread_mutex_unlock(&ws->mu);
    return n;
}
