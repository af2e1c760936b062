/* SPDX-License-Identifier: Apache-2.0
 *
 * api_int.h — what the files of api/ share and no one else sees: the
 * private state behind struct hg_api (the in-flight set of idempotency
 * keys, the per-principal rate buckets, the Prefer: wait registry), the
 * write operation that carries one mutating request from its
 * Idempotency-Key through one store job to its answer, the header-field
 * parsers, and the tender/offer handlers the route table points at.
 * Nothing here may block a worker thread on the store's writer: writes are
 * store jobs and the request is suspended until the job is done.
 */
#ifndef HG_API_API_INT_H
#define HG_API_API_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "auth/principal.h"
#include "common/buf.h"
#include "http/problem.h"
#include "store/store.h"
#include "tender/idempotency.h"
#include "tender/tender.h"

/* ---------------------------------------------------------------- patterns */
/* Route patterns, shared by the route table and the handlers (the handlers
 * look their idempotency policy up by them). */
#define API_P_OFFERS "/v1/capacity-offers"
#define API_P_OFFER "/v1/capacity-offers/{id}"
#define API_P_TENDERS "/v1/tenders"
#define API_P_TENDER "/v1/tenders/{id}"
#define API_P_HISTORY "/v1/tenders/{id}/history"
#define API_P_MATCHES "/v1/tenders/{id}/matches"
#define API_P_TRANSITIONS "/v1/tenders/{id}/transitions"
#define API_P_CANCEL "/v1/tenders/{id}/cancel"
#define API_P_KEYS_ROTATE "/v1/keys/rotate"

/* --------------------------------------------------------- in-flight keys */
/* A mutex-protected hash set of (principal, key) claims: a claim exists
 * from the moment a request with an Idempotency-Key starts until it has
 * been answered, so a concurrent duplicate gets 409 instead of running
 * twice. Process-local: the store's unique (principal, key) row is the
 * backstop across processes (HG_EEXIST → 409). */
#define API_INFLIGHT_BUCKETS 1024

struct api_claim;

struct api_inflight {
    pthread_mutex_t mu;
    uint64_t seed;            /* random: keys are client-chosen */
    size_t count;
    struct api_claim *b[API_INFLIGHT_BUCKETS];
};

hg_status api__inflight_init(struct api_inflight *s);
void api__inflight_cleanup(struct api_inflight *s);
/* HG_OK: claimed by the caller; HG_EEXIST: someone holds it; HG_ENOMEM;
 * HG_EINVAL for a principal over 64 or a key over 255 bytes. */
hg_status api__inflight_claim(struct api_inflight *s, const char *principal, const char *key);
/* Release a claim the caller holds (no-op if absent). */
void api__inflight_release(struct api_inflight *s, const char *principal, const char *key);
size_t api__inflight_count(struct api_inflight *s);

/* The routes that change something, and whether they require a key
 * (required) or accept one (optional). The route-table test checks that
 * every POST and DELETE route is here. */
struct api_idem_route {
    const char *method;
    const char *pattern;
    int required;
};
extern const struct api_idem_route api__idem_routes[];
extern const size_t api__idem_routes_count;
/* The row for method + pattern, or NULL. */
const struct api_idem_route *api__idem_route(const char *method, const char *pattern);

/* -------------------------------------------------------------- rate limit */
/* One bucket per configured principal (index into cfg->clients), as GCRA:
 * one atomic "theoretical arrival time", so taking a token is one
 * compare-and-swap and never a lock. Equivalent to a token bucket of
 * `burst` tokens refilled at `rate` per second. */
struct api_bucket {
    _Atomic uint64_t tat_ns;  /* theoretical arrival time, monotonic ns */
};

struct api_ratelimit {
    struct api_bucket *b;
    size_t n;
    uint64_t interval_ns;     /* 1 s / rate; 0 = unlimited */
    uint64_t burst;
};

hg_status api__rl_init(struct api_ratelimit *rl, size_t nprincipals, int rate, int burst);
void api__rl_cleanup(struct api_ratelimit *rl);
/* Take one token at now_ns. 1 if allowed; 0 if not, with *retry_s the whole
 * seconds (>= 1) until a token is back. Pure apart from the bucket. */
int api__rl_take(struct api_bucket *b, uint64_t now_ns, uint64_t interval_ns, uint64_t burst,
                 uint64_t *retry_s);
/* The bucket of principal `who` (a row of api->cfg->clients) at the
 * monotonic clock: 1 allowed (or no limit configured), 0 refused with
 * *retry_s. */
int api__rl_check(struct hg_api *api, const struct hg_config_client *who, uint64_t *retry_s);

/* ------------------------------------------------------------------ waiters */
/* Prefer: wait — tender id → the requests waiting for it to be decided.
 * A waiter is registered before its tender's create job is submitted (so
 * a decision made between the commit and the wait is not missed), then
 * armed (the request suspended with the wait as its timeout). A notifier
 * resumes armed waiters under the registry lock and unlinks them; the
 * resumed request unlinks itself under the same lock before it answers,
 * so no one touches a request after it has been answered (server.h). */
#define API_WAITER_BUCKETS 256

struct api_waiter {
    char tender_id[HG_TENDER_ID_LEN + 1];
    struct hg_http_req *r;    /* valid while armed and linked */
    int linked, armed, decided;
    struct api_waiter *prev, *next;
};

struct api_waiters {
    pthread_mutex_t mu;
    size_t count;
    int draining;             /* shutting down: no new waits, end the armed ones */
    struct api_waiter *b[API_WAITER_BUCKETS];
};

hg_status api__waiters_init(struct api_waiters *ws);
void api__waiters_cleanup(struct api_waiters *ws);
/* Link w (tender_id set, not armed). */
void api__waiter_add(struct api_waiters *ws, struct api_waiter *w);
/* Suspend r for timeout_ms with fn/arg and arm w, unless a decision came
 * already: 1 armed, 0 decided (or no longer linked: nothing suspended),
 * -1 when suspending failed (w unlinked). */
int api__waiter_arm(struct api_waiters *ws, struct api_waiter *w, struct hg_http_req *r,
                    int timeout_ms, hg_http_resume_fn fn, void *arg);
/* Unlink w if linked. Returns w->decided. */
int api__waiter_remove(struct api_waiters *ws, struct api_waiter *w);
/* The tender was decided: mark every waiter of it, resume the armed ones
 * and unlink them. Returns how many were woken. */
size_t api__waiters_notify(struct api_waiters *ws, const char *tender_id);
size_t api__waiters_count(struct api_waiters *ws);
/* Shutting down: end every armed wait now (each answers with the tender as
 * it is) and make later arms answer at once. Returns how many were woken. */
size_t api__waiters_drain(struct api_waiters *ws);

/* -------------------------------------------------------- private state */
struct hg_api_state {
    struct api_inflight inflight;
    struct api_ratelimit rl;
    struct api_waiters waiters;
    pthread_mutex_t policy_mu;   /* guards the swap of `policy` only */
    struct hg_policy *policy;    /* hg_api_set_policy; NULL = deny everything */
};

/* ------------------------------------------------------------ header fields */
/* Pure parsers of request fields; each takes a length and never reads past
 * it (api/fields.c, fuzzed by tests/fuzz/fuzz_api_fields.c). */

/* Prefer (RFC 7240), all occurrences joined with ",": the first `wait`
 * preference whose value is a delta-seconds (1*DIGIT, optionally quoted,
 * at most 9 digits). Other preferences and their parameters are ignored; a
 * wait with a malformed value is ignored (as RFC 7240 §2 lets a server
 * ignore any preference). Returns 1 with *secs, or 0 when there is none. */
int api__prefer_wait(const char *s, size_t n, int64_t *secs);

/* If-Match / If-None-Match (RFC 9110 §13.1.1-2) for ETags of the form
 * "<version>". */
#define API_ETAGS_MAX 16
struct api_etags {
    int any;                  /* "*" */
    size_t n;
    struct {
        int weak;
        int64_t version;      /* -1: a tag that is not one of ours */
    } tag[API_ETAGS_MAX];
};
/* HG_OK, or HG_EPARSE (malformed list; more than API_ETAGS_MAX tags). */
hg_status api__etags_parse(const char *s, size_t n, struct api_etags *out);
/* If-Match uses the strong comparison: a weak tag never matches. */
int api__etags_match_strong(const struct api_etags *e, int64_t version);
/* If-None-Match uses the weak comparison. */
int api__etags_match_weak(const struct api_etags *e, int64_t version);


/* 1 if the Content-Type value is application/json (any case, parameters
 * allowed, charset only utf-8). */
int api__ctype_is_json(const char *s, size_t n);

/* ------------------------------------------------------------ write ops */
/* A response being built: sent as is, and, for a request with an
 * Idempotency-Key, stored with the change so a retry gets the same bytes. */
struct api_resp {
    int status;
    const char *ctype;        /* static string or NULL */
    char *body;               /* malloc'd or NULL */
    size_t len;
    char location[160];
    char etag[32];
    char pref[32];            /* Preference-Applied */
    int retry_after;          /* Retry-After seconds; never stored */
};

void api__resp_clear(struct api_resp *rs);
/* Serialise `doc` (stolen) as application/json. HG_OK or HG_ENOMEM. */
hg_status api__resp_json(struct api_resp *rs, int status, json_t *doc);
/* A copy of n bytes of text as application/json. */
hg_status api__resp_text(struct api_resp *rs, int status, const char *text, size_t n);
/* The problem document for request r (ext stolen). */
hg_status api__resp_problem(struct api_resp *rs, struct hg_http_req *r, enum hg_problem p,
                            json_t *ext, const char *detail);
/* Send rs (headers included) on r. */
void api__resp_send(struct hg_http_req *r, const struct api_resp *rs);

enum api_phase {
    OP_START,                 /* in the handler */
    OP_COMMIT,                /* the change's job is queued */
    OP_STORE_ERROR,           /* a 400/422 is being stored under the key */
    OP_WAIT,                  /* Prefer: wait, armed */
    OP_REPLACE,               /* the final response of a wait is being stored */
};

struct api_op;
/* Called on the request's worker thread after the change is durable
 * (result HG_OK). Return 1 if the hook took the op over (suspended it
 * again, or answered and freed it), 0 to have op->resp answered now. */
typedef int (*api_committed_fn)(struct api_op *op);

struct api_op {
    struct hg_api *api;
    struct hg_http_req *r;
    const struct hg_principal *who; /* lives with r: only until r is answered */
    char who_name[65];        /* who->name, for after the answer (the claim) */
    char tenant[65];          /* the principal's tenant, "" if none */
    enum api_phase phase;
    int64_t now_ms;           /* wall clock when the request started */
    int submit_failed;        /* the job was never queued (w.result says why) */
    /* idempotency */
    int has_key, claimed;
    char key[HG_IDEM_KEY_MAX + 1];
    uint8_t fp[32];
    struct hg_store_idem idem;
    char *idem_headers;
    /* the store job and the rows it borrows */
    struct hg_store_write w;
    struct hg_store_history hist;
    struct hg_store_event ev;
    struct hg_store_audit aud;
    char *doc;                /* tender/offer document */
    char *ev_data;
    struct hg_buf audit_rec;
    /* answers */
    struct api_resp resp;     /* on success */
    struct api_resp first;    /* Prefer: wait: what was stored with the change */
    api_committed_fn committed;
    /* the tender the change is about (412 needs its current version) */
    char tender_id[HG_TENDER_ID_LEN + 1];
    int decided;              /* the change moved a tender to a decision state */
    int wait_ms;              /* Prefer: wait honoured, ms; 0 none */
    int wait_secs;
    struct api_waiter waiter;
};

/* Start a request of route (method of r, pattern): checks the store is
 * open, reads the Idempotency-Key by the route's policy. Returns the op, or
 * NULL when r has been answered (400 key missing/invalid, 503). */
struct api_op *api__op_begin(struct hg_http_req *r, struct hg_api *api, const char *pattern);
/* Claim the key (409 in flight) and look up a stored response (replay,
 * 422 reused). 1 to go on; 0 when answered (the op is freed). Without a
 * key: 1. */
int api__op_idem(struct api_op *op);
/* Answer with a problem and finish the op (freed). A 400/422 of a keyed
 * request is stored under the key first (STORE_ERROR). ext is stolen. */
void api__op_problem(struct api_op *op, enum hg_problem p, json_t *ext, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A validation failure from tender/ as 400 invalid-body or 422
 * business-rule with its pointer. */
void api__op_verr(struct api_op *op, const struct hg_verr *e);
/* Submit op->w (rows and op->resp prepared) with the idempotency record
 * built from op->resp, suspend, answer when durable. The op is owned by
 * the machinery from here on. */
void api__op_commit(struct api_op *op);
/* Answer op->resp now and finish (no store write). */
void api__op_answer(struct api_op *op);
/* The committed hook of a Prefer: wait request (op->waiter linked before
 * the job was submitted, op->wait_ms > 0): wait for the decision, then
 * replace the stored response with the final one and answer it. Always
 * takes the op over (returns 1). */
int api__op_wait_start(struct api_op *op);
/* Release the claim and free (the request must have been answered). */
void api__op_free(struct api_op *op);

/* Fill op->ev with an outbox event for `subject`; data (stolen) as JSON. */
hg_status api__op_event(struct api_op *op, const char *type, const char *subject, json_t *data);
/* Fill op->aud with the canonical audit record of this change; details
 * stolen. */
hg_status api__op_audit(struct api_op *op, const char *event_type, const char *reason,
                        json_t *details);

/* ------------------------------------------------------------ requests */
struct hg_query;
/* All occurrences of header `name` joined with ", " into buf (cap bytes).
 * Returns how many there were, or -1 when they do not fit. */
int api__join_header(struct hg_http_req *r, const char *name, char *buf, size_t cap);
/* 1 if the request says its body is JSON; else answers 415 (op freed). */
int api__require_json(struct api_op *op);
/* "\"<version>\"" */
void api__etag(int64_t version, char out[32]);
/* A store read failed: logged, and answered 503 with Retry-After. */
void api__store_unavailable(struct hg_http_req *r, hg_status rc, const char *what);
/* The `cursor` query parameter, which must have been made for filters
 * hashing to fh: 1 with after_id set ("" without a cursor), or 0 after
 * answering 400. */
int api__cursor_param(struct hg_http_req *r, struct hg_query *q, uint64_t fh, char after_id[37]);
/* One listed resource: its id and stored representation. */
struct api_item {
    const char *id;
    const char *doc;
    size_t len;
};
/* Answer 200 {"items":[...],"nextCursor":"..."} from n items read with a
 * store limit of page + 1: at most `page` are sent, and nextCursor (after
 * the last one sent) only when the extra row shows there are more. */
void api__send_page(struct hg_http_req *r, const struct api_item *items, size_t n, size_t page,
                    uint64_t fh);
/* The prologue of a read: store open (else 503), principal's tenant (else
 * 403). 1 to go on. */
int api__read_begin(struct hg_http_req *r, struct hg_api *api, char tenant[65]);
/* 400 invalid-parameter naming `param`. */
void api__bad_param(struct hg_http_req *r, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Strict query parse against `allowed` (NULL-terminated); 1 or answered. */
int api__query(struct hg_http_req *r, const char *const *allowed, struct hg_query *q);
/* `limit` in 1..max, default def; 1 or answered. */
int api__limit(struct hg_http_req *r, struct hg_query *q, uint64_t def, uint64_t max,
               size_t *out);
/* An RFC 3339 parameter → ms (-1 when absent); 1 or answered. */
int api__time_param(struct hg_http_req *r, struct hg_query *q, const char *name, int64_t *ms);
/* A stable 64-bit digest of a list's filters (NULL parts allowed), the
 * binding of its cursors. */
uint64_t api__filters_hash(const char *const *parts, size_t n);

/* ------------------------------------------------------------ principals */
/* The request's authenticated principal (set by the dispatcher before any
 * non-public handler runs), or NULL on public routes. */
const struct hg_principal *api__who(const struct hg_http_req *r);
/* The principal's tenant, "" if none; HG_ETOOBIG when it does not fit a
 * store row (64 bytes). */
hg_status api__tenant(const struct hg_principal *who, char out[65]);
/* 1 if who has the role. */
int api__has_role(const struct hg_principal *who, const char *role);
/* Tenancy: 1 if a principal of `tenant` (with who's roles) may see a
 * resource of `res_tenant`. */
int api__tenant_visible(const struct hg_principal *who, const char *tenant,
                        const char *res_tenant);
/* The tenant filter for lists: NULL (all: operator/admin without a tenant)
 * or the principal's tenant (possibly ""). */
const char *api__tenant_filter(const struct hg_principal *who, const char *tenant);

/* ---------------------------------------------------------- authn / authz */
/* Authenticate r for route rt (api/authn.c): the bearer or DPoP token, its
 * binding to this connection's certificate or DPoP key, DPoP on critical
 * routes, then the route's scope. On success *p is filled and 1 returned;
 * otherwise r has been answered (401/403/503, with WWW-Authenticate) and
 * audited, and 0 is returned. */
int api__authenticate(struct hg_http_req *r, struct hg_api *api, const struct hg_route *rt,
                      struct hg_principal *p);
/* Ask the policy about rt's verb for p (api/authz.c), with the request's
 * JSON body as the resource when the policy has conditions for the verb.
 * Every deny, and every allow of a critical route, is audited. 1 allowed;
 * 0 answered with 403 policy-denied. */
int api__authorize(struct hg_http_req *r, struct hg_api *api, const struct hg_route *rt,
                   const struct hg_principal *p);
/* 403 unknown-client for a certificate that maps to no clients: entry,
 * with an authn.failure record. */
void api__unknown_client(struct hg_http_req *r, struct hg_api *api, const struct hg_route *rt);
/* The issuer URL the daemon answers as ("https://host:port"). */
const char *api__issuer(const struct hg_api *api);

/* Lower-case hex SHA-256 of the client certificate (api/audit.c). */
const char *api__thumb_hex(const struct hg_identity *id, char out[65]);
/* Queue an audit record about request r (api/audit.c). details stolen.
 * HG_OK when queued (or no log is open: tests without one); otherwise the
 * record is lost, logged, and a request that it would allow must be
 * refused: nothing security-relevant happens unrecorded. */
hg_status api__audit_note(struct hg_api *api, struct hg_http_req *r, const char *event_type,
                          const char *decision, const char *reason, json_t *details);
/* The same with the deciding policy rule's id (may be NULL). */
hg_status api__audit_decision(struct hg_api *api, struct hg_http_req *r,
                              const char *event_type, const char *policy_id,
                              const char *decision, const char *reason, json_t *details);

/* ------------------------------------------------------------- handlers */
/* OAuth and discovery (api/oauth.c). */
void hg_api_oauth_token(struct hg_http_req *r, struct hg_api *api,
                        const struct hg_route_params *p);
void hg_api_oauth_metadata(struct hg_http_req *r, struct hg_api *api,
                           const struct hg_route_params *p);
void hg_api_jwks(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p);
void hg_api_keys_rotate(struct hg_http_req *r, struct hg_api *api,
                        const struct hg_route_params *p);
/* application/x-www-form-urlencoded (api/oauth.c, fuzzed): the value of
 * `name` in n bytes of form, percent- and '+'-decoded into out (cap bytes,
 * NUL-terminated). 1 found, 0 absent, -1 malformed, repeated, or too long
 * (RFC 6749 §3.2: parameters must not repeat). */
int api__form_get(const char *form, size_t n, const char *name, char *out, size_t cap);
void hg_api_offer_create(struct hg_http_req *r, struct hg_api *api,
                         const struct hg_route_params *p);
void hg_api_offer_list(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p);
void hg_api_offer_get(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p);
void hg_api_offer_delete(struct hg_http_req *r, struct hg_api *api,
                         const struct hg_route_params *p);
void hg_api_tender_create(struct hg_http_req *r, struct hg_api *api,
                          const struct hg_route_params *p);
void hg_api_tender_list(struct hg_http_req *r, struct hg_api *api,
                        const struct hg_route_params *p);
void hg_api_tender_get(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p);
void hg_api_tender_history(struct hg_http_req *r, struct hg_api *api,
                           const struct hg_route_params *p);
void hg_api_tender_matches(struct hg_http_req *r, struct hg_api *api,
                           const struct hg_route_params *p);
void hg_api_tender_transition(struct hg_http_req *r, struct hg_api *api,
                              const struct hg_route_params *p);
void hg_api_tender_cancel(struct hg_http_req *r, struct hg_api *api,
                          const struct hg_route_params *p);

#endif
