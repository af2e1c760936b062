/* SPDX-License-Identifier: Apache-2.0
 *
 * audit.c — the audit log over HTTP (GET /v1/audit/checkpoint, /entries,
 * /proofs/inclusion, /proofs/consistency) and the audit records the API
 * writes itself about requests (authn.failure, authz.decision,
 * token.issued; api__audit_decision). Reads are bounded (1000 entries and 8 MiB of
 * records per call) and never change the log; records are only ever queued
 * with hg_audit_append_async, so a handler never waits for an fdatasync on
 * a worker's event loop. Proof documents are the ones `haulctl audit
 * verify-proof` reads, produced by the audit module's own serialiser.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_int.h"
#include "api/params.h"
#include "audit/audit_log.h"
#include "audit/audit_note.h"
#include "audit/audit_proof.h"
#include "common/util.h"
#include "http/problem.h"
#include "obs/log.h"
#include "tls/identity.h"

#define ENTRIES_MAX 1000               /* entries per call */
#define ENTRIES_BYTES_MAX (8u << 20)   /* record bytes per call (at least one entry) */

/* ------------------------------------------------------- writing records */

/* Runs on the audit writer thread: keep it short. ctx is the event type,
 * a string literal. */
static void appended(void *ctx, hg_status st, uint64_t index)
{
    if (st != HG_OK)
        hg_log(HG_LOG_ERROR, "audit record was not written", HG_LF_STR("event_type", ctx),
               HG_LF_STR("error", hg_status_str(st)), HG_LF_END);
    else
        hg_log(HG_LOG_DEBUG, "audit record written", HG_LF_STR("event_type", ctx),
               HG_LF_INT("index", (int64_t)index), HG_LF_END);
}

/* The certificate thumbprint as the audit record carries it: lower-case hex
 * of the SHA-256 (the identity has it as base64url x5t#S256). */
const char *api__thumb_hex(const struct hg_identity *id, char out[65])
{
    unsigned char raw[32];
    size_t n = 0;
    if (!id || hg_b64url_decode(id->thumbprint, strlen(id->thumbprint), raw, sizeof raw, &n) !=
                   HG_OK ||
        n != sizeof raw)
        return NULL;
    hg_hex(raw, sizeof raw, out);
    return out;
}

/* Queue one record about request r; details (may be NULL) is stolen. The
 * subject is the principal when there is one, else the certificate CN. */
hg_status api__audit_note(struct hg_api *api, struct hg_http_req *r, const char *event_type,
                          const char *decision, const char *reason, json_t *details)
{
    return api__audit_decision(api, r, event_type, NULL, decision, reason, details);
}

hg_status api__audit_decision(struct hg_api *api, struct hg_http_req *r,
                              const char *event_type, const char *policy_id,
                              const char *decision, const char *reason, json_t *details)
{
    if (!api->audit) {
        json_decref(details);
        return HG_OK;
    }
    const struct hg_principal *who = api__who(r);
    const struct hg_config_client *cl = hg_http_req_conn_data(r);
    const struct hg_identity *id = hg_http_req_identity(r);
    char hex[65];
    struct hg_audit_record rec = {
        .service = "haulgated",
        .event_type = event_type,
        .request_id = hg_http_req_correlation_id(r),
        .identity =
            {
                .subject = who ? who->name
                           : cl ? cl->name
                                : (id && id->cn[0] ? id->cn : NULL),
                .roles = who ? who->roles : cl ? (const char *const *)cl->roles : NULL,
                .nroles = who ? who->nroles : cl ? cl->nroles : 0,
                .cert_thumbprint = api__thumb_hex(id, hex),
            },
        .policy_id = policy_id,
        .decision = decision,
        .reason = reason,
        .details = details,
    };
    struct hg_err err;
    hg_err_clear(&err);
    /* The record is encoded before this returns, so details can go now. */
    hg_status rc = hg_audit_append_async(api->audit, &rec, appended, (void *)event_type, &err);
    if (rc != HG_OK)
        hg_log(HG_LOG_ERROR, "cannot queue an audit record; the request is refused",
               HG_LF_STR("event_type", event_type),
               HG_LF_STR("correlation_id", hg_http_req_correlation_id(r)),
               HG_LF_STR("error", hg_err_msg(&err)), HG_LF_END);
    json_decref(details);
    return rc;
}

void hg_api_audit_unknown_client(struct hg_api *api, struct hg_http_req *r,
                                 const struct hg_route *rt)
{
    if (!api->audit)
        return;
    const struct hg_identity *id = hg_http_req_identity(r);
    json_t *d = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?}", "mechanism", "mtls",
                          "method", hg_http_req_method(r), "route", rt->pattern, "peer",
                          hg_http_req_peer(r), "x5t#S256", id ? id->thumbprint : NULL, "serial",
                          id ? id->serial : NULL, "issuer_cn",
                          id && id->issuer_cn[0] ? id->issuer_cn : NULL);
    api__audit_note(api, r, "authn.failure", "deny",
           "the client certificate verified but matches no entry in clients:", d);
}

/* ---------------------------------------------------------------- helpers */

static int have_log(struct hg_http_req *r, struct hg_api *api)
{
    if (api->audit)
        return 1;
    hg_problem_send(r, HG_PROB_UNAVAILABLE, NULL, "the audit log is not open");
    return 0;
}

/* The common prologue: log, strict query (the dispatcher has checked the
 * audit:read scope and asked the policy). 1 to go on. */
static int begin(struct hg_http_req *r, struct hg_api *api, const char *const *allowed,
                 struct hg_query *q)
{
    if (!have_log(r, api))
        return 0;
    struct hg_err err;
    hg_err_clear(&err);
    const char *qs = hg_http_req_query(r);
    if (hg_query_parse(qs, strlen(qs), allowed, q, &err) != HG_OK) {
        hg_problem_send(r, HG_PROB_INVALID_PARAMETER,
                        q->bad[0] ? json_pack("{s:s}", "parameter", q->bad) : NULL, "%s",
                        hg_err_msg(&err));
        return 0;
    }
    return 1;
}

static int get_u64(struct hg_http_req *r, struct hg_query *q, const char *name, uint64_t *out)
{
    struct hg_err err;
    hg_err_clear(&err);
    if (hg_query_u64(q, name, out, &err) == HG_OK)
        return 1;
    hg_problem_send(r, HG_PROB_INVALID_PARAMETER, json_pack("{s:s}", "parameter", q->bad), "%s",
                    hg_err_msg(&err));
    return 0;
}

/* A parameter that is well-formed but out of range for this log. */
static void out_of_range(struct hg_http_req *r, const char *param, uint64_t tree_size,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void out_of_range(struct hg_http_req *r, const char *param, uint64_t tree_size,
                         const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    hg_problem_send(r, HG_PROB_INVALID_PARAMETER,
                    json_pack("{s:s, s:I}", "parameter", param, "tree_size",
                              (json_int_t)tree_size),
                    "%s", msg);
}

/* Reading the log failed: the details (paths) go to the server log, the
 * client gets the correlation id to quote. */
static void read_failed(struct hg_http_req *r, const char *what, const struct hg_err *err)
{
    hg_log(HG_LOG_ERROR, "audit log read failed", HG_LF_STR("operation", what),
           HG_LF_STR("correlation_id", hg_http_req_correlation_id(r)),
           HG_LF_STR("error", hg_err_msg(err)), HG_LF_END);
    hg_problem_send(r, HG_PROB_INTERNAL, NULL,
                    "reading the audit log failed (%s); the server log has the details under "
                    "this correlation id",
                    what);
}

static json_t *b64(const uint8_t h[HG_MERKLE_HASH])
{
    char s[48];
    return hg_b64std_encode(h, HG_MERKLE_HASH, s, sizeof s) == HG_OK ? json_string(s) : NULL;
}

/* ------------------------------------------------------------- checkpoint */

void hg_api_audit_checkpoint(struct hg_http_req *r, struct hg_api *api,
                             const struct hg_route_params *p)
{
    (void)p;
    static const char *const allowed[] = {NULL};
    static const char *const offers[] = {"text/plain", "application/json"};
    struct hg_query q;
    if (!begin(r, api, allowed, &q))
        return;
    hg_http_resp_header(r, "Vary", "Accept");
    const char *accept = hg_http_req_header(r, "Accept");
    int pick = hg_accept_pick(accept, accept ? strlen(accept) : 0, offers, 2);
    if (pick < 0) {
        hg_problem_send(r, HG_PROB_NOT_ACCEPTABLE, NULL,
                        "the checkpoint is available as text/plain (the signed note) or "
                        "application/json; the Accept header rules out both");
        return;
    }
    struct hg_buf note;
    struct hg_err err;
    hg_err_clear(&err);
    hg_buf_init(&note, HG_AUDIT_NOTE_MAX);
    uint64_t size = 0;
    if (hg_audit_latest_checkpoint(api->audit, &note, &size, &err) != HG_OK) {
        read_failed(r, "latest checkpoint", &err);
        goto out;
    }
    if (pick == 0) {
        hg_http_respond(r, 200, "text/plain; charset=utf-8", note.data, note.len);
        goto out;
    }
    /* The note came from our own signer; parsing it only extracts the root. */
    struct hg_audit_note parsed;
    struct hg_audit_checkpoint cp;
    if (hg_audit_note_parse(note.data, note.len, &parsed, &err) != HG_OK ||
        hg_audit_checkpoint_parse(note.data, parsed.text_len, &cp, &err) != HG_OK) {
        read_failed(r, "parsing the latest checkpoint", &err);
        goto out;
    }
    json_t *o = json_pack("{s:s%, s:s, s:I, s:o?, s:s}", "checkpoint", note.data, note.len,
                          "origin", cp.origin, "tree_size", (json_int_t)size, "root_hash",
                          b64(cp.root), "verifier_key", hg_audit_vkey(api->audit));
    hg_http_respond_json(r, 200, o);
out:
    hg_buf_cleanup(&note);
}

/* ---------------------------------------------------------------- entries */

struct entries {
    json_t *arr;
    struct hg_merkle_hasher h;
    size_t bytes;
    uint64_t next;   /* index expected next */
    int bad;         /* a stored record is not JSON */
};

static int add_entry(void *ctx, uint64_t index, const char *data, size_t len)
{
    struct entries *e = ctx;
    if (e->next != index || (e->bytes > 0 && e->bytes + len > ENTRIES_BYTES_MAX))
        return 1;
    json_error_t je;
    json_t *rec = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    uint8_t leaf[HG_MERKLE_HASH];
    hg_merkle_leaf_hash(&e->h, data, len, leaf);
    json_t *o = rec ? json_pack("{s:I, s:o, s:o?}", "index", (json_int_t)index, "record", rec,
                                "leaf_hash", b64(leaf))
                    : NULL;
    if (!o || json_array_append_new(e->arr, o) != 0) {
        e->bad = 1;
        return 1;
    }
    e->bytes += len;
    e->next++;
    return 0;
}

void hg_api_audit_entries(struct hg_http_req *r, struct hg_api *api,
                          const struct hg_route_params *p)
{
    (void)p;
    static const char *const allowed[] = {"from", "to", NULL};
    struct hg_query q;
    uint64_t from, to, size;
    if (!begin(r, api, allowed, &q) || !get_u64(r, &q, "from", &from) ||
        !get_u64(r, &q, "to", &to))
        return;
    hg_audit_state(api->audit, &size, NULL);
    if (from > to) {
        out_of_range(r, "from", size,
                     "from (%llu) is larger than to (%llu); entries are [from, to), to exclusive",
                     (unsigned long long)from, (unsigned long long)to);
        return;
    }
    if (to - from > ENTRIES_MAX) {
        out_of_range(r, "to", size,
                     "at most %d entries per request, %llu asked; page with to = from + %d",
                     ENTRIES_MAX, (unsigned long long)(to - from), ENTRIES_MAX);
        return;
    }
    if (to > size) {
        out_of_range(r, "to", size,
                     "to (%llu) is past the end of the log: the tree size is %llu, so entries "
                     "are [0, %llu)",
                     (unsigned long long)to, (unsigned long long)size, (unsigned long long)size);
        return;
    }
    struct entries e = {.arr = json_array(), .next = from};
    struct hg_err err;
    hg_err_clear(&err);
    if (!e.arr || hg_merkle_hasher_init(&e.h) != HG_OK) {
        json_decref(e.arr);
        hg_problem_send(r, HG_PROB_INTERNAL, NULL, "out of memory");
        return;
    }
    hg_status st = hg_audit_read(api->audit, from, to, add_entry, &e, &err);
    hg_merkle_hasher_cleanup(&e.h);
    if (st != HG_OK || e.bad) {
        json_decref(e.arr);
        if (e.bad)
            hg_err_set(&err, HG_ECORRUPT, "record %llu is not a JSON object; run `haulctl "
                       "audit verify`", (unsigned long long)e.next);
        read_failed(r, "entries", &err);
        return;
    }
    /* Fewer than asked only when the byte budget ran out: the client
     * continues from the last index + 1. */
    if (e.next == from && to > from) {
        json_decref(e.arr);
        hg_err_set(&err, HG_ECORRUPT, "no record read at index %llu", (unsigned long long)from);
        read_failed(r, "entries", &err);
        return;
    }
    hg_http_respond_json(r, 200,
                         json_pack("{s:o, s:I}", "entries", e.arr, "tree_size", (json_int_t)size));
}

/* ----------------------------------------------------------------- proofs */

/* Send a proof document, with the latest checkpoint when it is for the
 * proof's tree size (so the response alone can be fed to verify-proof
 * after pinning the key). */
static void send_proof(struct hg_http_req *r, struct hg_api *api,
                       const struct hg_audit_proof_doc *d)
{
    struct hg_buf cp, out;
    struct hg_err err;
    hg_err_clear(&err);
    hg_buf_init(&cp, HG_AUDIT_NOTE_MAX);
    hg_buf_init(&out, HG_AUDIT_PROOF_JSON_MAX + 2 * HG_AUDIT_NOTE_MAX);
    uint64_t cpsize = 0;
    int have = hg_audit_latest_checkpoint(api->audit, &cp, &cpsize, &err) == HG_OK &&
               cpsize == d->b; /* hg_buf keeps its content NUL-terminated */
    if (hg_audit_proof_to_json(d, have ? cp.data : NULL, &out) != HG_OK)
        hg_problem_send(r, HG_PROB_INTERNAL, NULL, "could not serialise the proof");
    else
        hg_http_respond(r, 200, "application/json", out.data, out.len);
    hg_buf_cleanup(&cp);
    hg_buf_cleanup(&out);
}

void hg_api_audit_inclusion(struct hg_http_req *r, struct hg_api *api,
                            const struct hg_route_params *p)
{
    (void)p;
    static const char *const allowed[] = {"index", "treeSize", NULL};
    struct hg_query q;
    uint64_t index, tsize, size;
    if (!begin(r, api, allowed, &q) ||
        !get_u64(r, &q, "index", &index) || !get_u64(r, &q, "treeSize", &tsize))
        return;
    hg_audit_state(api->audit, &size, NULL);
    if (tsize > size) {
        out_of_range(r, "treeSize", size,
                     "treeSize (%llu) is larger than the log (tree size %llu); use the size of "
                     "a checkpoint you hold",
                     (unsigned long long)tsize, (unsigned long long)size);
        return;
    }
    if (index >= tsize) {
        out_of_range(r, "index", size, "index (%llu) must be below treeSize (%llu)",
                     (unsigned long long)index, (unsigned long long)tsize);
        return;
    }
    struct hg_audit_proof_doc d;
    struct hg_err err;
    hg_err_clear(&err);
    if (hg_audit_prove_inclusion(api->audit, index, tsize, &d, &err) != HG_OK) {
        read_failed(r, "inclusion proof", &err);
        return;
    }
    send_proof(r, api, &d);
}

void hg_api_audit_consistency(struct hg_http_req *r, struct hg_api *api,
                              const struct hg_route_params *p)
{
    (void)p;
    static const char *const allowed[] = {"from", "to", NULL};
    struct hg_query q;
    uint64_t from, to, size;
    if (!begin(r, api, allowed, &q) ||
        !get_u64(r, &q, "from", &from) || !get_u64(r, &q, "to", &to))
        return;
    hg_audit_state(api->audit, &size, NULL);
    if (to > size) {
        out_of_range(r, "to", size,
                     "to (%llu) is larger than the log (tree size %llu); use the size of a "
                     "checkpoint you hold",
                     (unsigned long long)to, (unsigned long long)size);
        return;
    }
    if (from > to) {
        out_of_range(r, "from", size, "from (%llu) must not be larger than to (%llu)",
                     (unsigned long long)from, (unsigned long long)to);
        return;
    }
    struct hg_audit_proof_doc d;
    struct hg_err err;
    hg_err_clear(&err);
    if (hg_audit_prove_consistency(api->audit, from, to, &d, &err) != HG_OK) {
        read_failed(r, "consistency proof", &err);
        return;
    }
    send_proof(r, api, &d);
}
