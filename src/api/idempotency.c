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
#include <jansson.h>
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
    {"POST", API_P_KEYS_ROTATE, 0},
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

/* ------------------------------------------------------- claim and decide */

/* Send a stored response: its status, body and the stored Content-Type,
 * Location, ETag and Preference-Applied, byte for byte. */
static void replay(struct hg_http_req *r, const struct hg_store_idem *rec)
{
    static const char *const names[] = {"Location", "ETag", "Preference-Applied"};
    json_error_t jerr;
    json_t *h = json_loads(rec->headers ? rec->headers : "{}", 0, &jerr);
    const char *ctype = NULL;
    if (json_is_object(h)) {
        ctype = json_string_value(json_object_get(h, "Content-Type"));
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            const char *v = json_string_value(json_object_get(h, names[i]));
            if (v)
                hg_http_resp_header(r, names[i], v);
        }
    }
    hg_http_respond(r, rec->status, ctype, rec->body, rec->body_len);
    json_decref(h);
}

int api__op_idem(struct api_op *op)
{
    if (!op->has_key)
        return 1;
    struct hg_api *api = op->api;
    struct hg_http_req *r = op->r;
    hg_status rc = api__inflight_claim(&api->st->inflight, op->who->name, op->key);
    if (rc == HG_EEXIST) {
        /* not stored: the first request's answer is the one to keep */
        hg_http_resp_header(r, "Retry-After", "1");
        hg_problem_send(r, HG_PROB_IDEMPOTENCY_KEY_IN_FLIGHT, NULL,
                        "a request with this Idempotency-Key is still being processed; retry "
                        "after Retry-After to get its response");
        api__op_free(op);
        return 0;
    }
    if (rc != HG_OK) {
        hg_http_resp_header(r, "Retry-After", "1");
        hg_problem_send(r, HG_PROB_UNAVAILABLE, NULL, "cannot track the request (%s); retry",
                        hg_status_str(rc));
        api__op_free(op);
        return 0;
    }
    op->claimed = 1;
    struct hg_store_idem rec;
    memset(&rec, 0, sizeof rec);
    rc = hg_store_idem_get(api->store, op->who->name, op->key, &rec);
    if (rc == HG_ENOTFOUND)
        return 1;
    if (rc != HG_OK) {
        hg_store_idem_free(&rec);
        hg_log(HG_LOG_ERROR, "cannot read an idempotency record",
               HG_LF_STR("status", hg_status_name(rc)),
               HG_LF_STR("correlation_id", hg_http_req_correlation_id(r)), HG_LF_END);
        hg_http_resp_header(r, "Retry-After", "1");
        hg_problem_send(r, HG_PROB_UNAVAILABLE, NULL,
                        "the store could not be read; retry with the same Idempotency-Key");
        api__op_free(op);
        return 0;
    }
    struct hg_idem_seen seen = {.in_flight = 0, .completed = 1, .expires_ms = rec.expires_ms};
    memcpy(seen.fingerprint, rec.fingerprint, sizeof seen.fingerprint);
    enum hg_idem_action act = hg_idem_decide(&seen, op->fp, hg_wall_ms());
    switch (act) {
    case HG_IDEM_PROCEED: /* expired: the new record overwrites it */
        hg_store_idem_free(&rec);
        return 1;
    case HG_IDEM_REPLAY:
        replay(r, &rec);
        break;
    case HG_IDEM_MISMATCH:
        hg_problem_send(r, HG_PROB_IDEMPOTENCY_KEY_REUSED, NULL,
                        "this Idempotency-Key was already used by this principal for a "
                        "different request (method, path or body differ); use a new key for "
                        "a new request");
        break;
    case HG_IDEM_IN_FLIGHT:
        hg_http_resp_header(r, "Retry-After", "1");
        hg_problem_send(r, HG_PROB_IDEMPOTENCY_KEY_IN_FLIGHT, NULL,
                        "a request with this Idempotency-Key is still being processed; retry "
                        "after Retry-After to get its response");
        break;
    }
    hg_store_idem_free(&rec);
    api__op_free(op);
    return 0;
}
