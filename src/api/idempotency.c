/* SPDX-License-Identifier: Apache-2.0
 *
 * idempotency.c — Idempotency-Key in the API (docs/tenders.md#idempotency):
 * which routes take a key, the in-flight set of (principal, key) claims,
 * and the start of every keyed request: parse the key, claim it, look the
 * stored response up, then replay it, refuse a reuse with another body
 * (422), refuse a duplicate still running (409), or let the request
 * proceed. The decision itself is tender/idempotency.h's table; the record
 * of a request that proceeds is written by api/write.c in the same store
 * job as the change. Never store an answer that says nothing about the
 * request (a bad key, 409 in flight, 429, 503): retrying those must work.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "common/util.h"
#include "crypto/hash.h"
#include "obs/log.h"

/* ------------------------------------------------------------ route table */

const struct api_idem_route api__idem_routes[] = {
    {"POST", API_P_OFFERS, 1},
    {"DELETE", API_P_OFFER, 0},
    {"POST", API_P_TENDERS, 1},
    {"POST", API_P_TRANSITIONS, 0},
    {"POST", API_P_CANCEL, 0},
};
const size_t api__idem_routes_count = sizeof api__idem_routes / sizeof api__idem_routes[0];

const struct api_idem_route *api__idem_route(const char *method, const char *pattern)
{
    for (size_t i = 0; i < api__idem_routes_count; i++)
        if (!strcmp(api__idem_routes[i].method, method) &&
            !strcmp(api__idem_routes[i].pattern, pattern))
            return &api__idem_routes[i];
    return NULL;
}

/* ---------------------------------------------------------- in-flight set */

struct api_claim {
    struct api_claim *next;
    char principal[65];
    char key[HG_IDEM_KEY_MAX + 1];
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* FNV-1a over principal NUL key, keyed by a random seed and finished with
 * a mixer: clients choose keys, so bucket placement must not be theirs. */
static size_t bucket(const struct api_inflight *s, const char *principal, const char *key)
{
    uint64_t h = 0xcbf29ce484222325ull ^ s->seed;
    for (const unsigned char *p = (const unsigned char *)principal; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    h = (h ^ 0xffu) * 0x100000001b3ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return (size_t)(mix(h) % API_INFLIGHT_BUCKETS);
}

hg_status api__inflight_init(struct api_inflight *s)
{
    memset(s, 0, sizeof *s);
    if (hg_random(&s->seed, sizeof s->seed) != HG_OK)
        return HG_ECRYPTO;
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        return HG_ESYS;
    return HG_OK;
}

void api__inflight_cleanup(struct api_inflight *s)
{
    for (size_t i = 0; i < API_INFLIGHT_BUCKETS; i++) {
        struct api_claim *c = s->b[i];
        while (c) {
            struct api_claim *next = c->next;
            free(c);
            c = next;
        }
        s->b[i] = NULL;
    }
    s->count = 0;
    pthread_mutex_destroy(&s->mu);
}

hg_status api__inflight_claim(struct api_inflight *s, const char *principal, const char *key)
{
    if (strlen(principal) > 64 || strlen(key) > HG_IDEM_KEY_MAX)
        return HG_EINVAL;
    /* allocate outside the lock; most claims succeed */
    struct api_claim *c = malloc(sizeof *c);
    if (!c)
        return HG_ENOMEM;
    hg_strlcpy(c->principal, principal, sizeof c->principal);
    hg_strlcpy(c->key, key, sizeof c->key);
    size_t i = bucket(s, principal, key);
    pthread_mutex_lock(&s->mu);
    for (struct api_claim *e = s->b[i]; e; e = e->next) {
        if (!strcmp(e->key, key) && !strcmp(e->principal, principal)) {
            pthread_mutex_unlock(&s->mu);
            free(c);
            return HG_EEXIST;
        }
    }
    c->next = s->b[i];
    s->b[i] = c;
    s->count++;
    pthread_mutex_unlock(&s->mu);
    return HG_OK;
}

void api__inflight_release(struct api_inflight *s, const char *principal, const char *key)
{
    size_t i = bucket(s, principal, key);
    struct api_claim *gone = NULL;
    pthread_mutex_lock(&s->mu);
    for (struct api_claim **pp = &s->b[i]; *pp; pp = &(*pp)->next) {
        if (!strcmp((*pp)->key, key) && !strcmp((*pp)->principal, principal)) {
            gone = *pp;
            *pp = gone->next;
            s->count--;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    free(gone);
}

size_t api__inflight_count(struct api_inflight *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->count;
    pthread_mutex_unlock(&s->mu);
    return n;
}
