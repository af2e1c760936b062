/* SPDX-License-Identifier: Apache-2.0
 *
 * store.h — durable state behind one small interface: tenders and their
 * history, capacity offers, idempotency records, the transactional outbox
 * (events) and the audit write-ahead queue. The store knows rows, not the
 * domain: a tender is its resource JSON (`doc`, exactly as served) plus the
 * columns that lists filter on, so tender/ and api/ never see SQL and a
 * PostgreSQL backend can be added behind the same functions.
 *
 * Writes: every change is a `struct hg_store_write` handed to
 * hg_store_submit(). One writer thread takes jobs from a bounded queue and
 * commits them in groups (one transaction, one fsync for up to batch_max
 * jobs); each job runs inside its own SAVEPOINT, so a job that fails
 * (version conflict, duplicate key) rolls back alone and the rest of the
 * group still commits. After the group is durable the writer calls each
 * job's `done` callback on the writer thread, in submission order, with
 * `result` set. A job's rows (the tender, its history, its outbox events,
 * its audit records, its idempotency record) are committed together or not
 * at all — DESIGN §4 promise 1.
 *
 * Reads: every read function may be called from any thread at once; the
 * backend keeps its own read connections (WAL readers never block the
 * writer). A read sees every job whose `done` has been called.
 */
#ifndef HG_STORE_STORE_H
#define HG_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

struct hg_metrics;
struct hg_store;

struct hg_store_opts {
    const char *backend;       /* "sqlite" */
    const char *path;          /* database file (created 0600 if missing) */
    int durability_full;       /* 1: synchronous=FULL; 0: NORMAL */
    int queue_max;             /* jobs waiting; hg_store_submit → HG_EBUSY above */
    int batch_max;             /* most jobs per commit group */
    struct hg_metrics *metrics; /* may be NULL */
};

/* Open (creating and migrating as needed: versioned, forward-only
 * migrations in one table; a database newer than this binary is refused
 * with a message saying so) and start the writer thread. HG_OK;
 * HG_EINVAL (no path, queue_max or batch_max < 1), HG_EUNSUPPORTED (unknown
 * backend, or a schema newer than this binary), HG_ECORRUPT (not a
 * database), HG_ENOTFOUND (directory missing), HG_EIO, HG_ENOMEM, HG_ESYS. */
hg_status hg_store_open(const struct hg_store_opts *o, struct hg_store **out, struct hg_err *err);
/* Stop taking jobs, commit and complete every queued job, stop the writer,
 * close. Safe with NULL. Never from a done() callback (it joins the writer
 * thread) nor while another thread is still reading. */
void hg_store_close(struct hg_store *st);
/* The schema version in use (for logs and tests). */
int hg_store_schema_version(const struct hg_store *st);

/* ---- rows ---- */
struct hg_store_tender {
    char id[37];
    char tenant[65];
    char owner[65];
    char tms_load_id[129];
    char state[16];
    int64_t version;
    int64_t created_ms, updated_ms;
    char lane[65];
    char region[65];
    char *doc;                 /* resource JSON; reads: malloc'd, free with
                                * hg_store_tender_free; writes: borrowed */
    size_t doc_len;
};

struct hg_store_history {
    int64_t seq;               /* assigned by the store; ignored on write */
    char tender_id[37];
    char from_state[16];       /* "" for creation */
    char to_state[16];
    char actor[65];            /* principal name */
    char reason[513];
    int64_t at_ms;
    char correlation_id[129];
};

struct hg_store_offer {
    char id[37];
    char tenant[65];
    char owner[65];
    char provider_id[129];
    char autonomy_level[65];
    char lane[65];
    int64_t start_ms, end_ms;  /* availableWindow */
    int64_t expires_ms;
    int64_t created_ms;
    char *doc;                 /* as for tenders */
    size_t doc_len;
};

/* An outbox row: a CloudEvent waiting for the relay (the events issue). */
struct hg_store_event {
    int64_t seq;               /* assigned by the store; ignored on write */
    char id[37];               /* CloudEvents id (UUIDv7) */
    char type[96];             /* com.haulgate.tender.created, ... */
    char subject[129];         /* the tender or offer id */
    int64_t time_ms;
    char correlation_id[129];
    char traceparent[56];
    char *data;                /* JSON text; reads: malloc'd; writes: borrowed */
    size_t data_len;
    int64_t published_ms;      /* 0 until the relay marks it */
};

/* An audit record waiting to be appended to the Merkle log (write-ahead:
 * it is durable in the store with the change it records; the audit relay
 * appends it and then marks it done). */
struct hg_store_audit {
    int64_t seq;               /* assigned by the store */
    char *record;              /* canonical JSON; reads: malloc'd; writes: borrowed */
    size_t record_len;
};

/* A stored response under (principal, key). */
struct hg_store_idem {
    char principal[65];
    char key[256];
    uint8_t fingerprint[32];
    int status;                /* HTTP status of the stored response */
    char *headers;             /* JSON object of the replayed header fields; reads:
                                * malloc'd; writes: borrowed */
    char *body;                /* response body; same ownership */
    size_t body_len;
    int64_t created_ms, expires_ms;
};

/* ---- writes ---- */
enum hg_store_op {
    HG_SOP_NONE,               /* nothing but the idempotency record / audit rows */
    HG_SOP_TENDER_INSERT,      /* `tender` is new: HG_EEXIST if its id exists */
    HG_SOP_TENDER_UPDATE,      /* replace `tender` where version == expect_version:
                                * HG_ENOTFOUND, or HG_ECONFLICT if the version moved */
    HG_SOP_OFFER_INSERT,       /* `offer` is new */
    HG_SOP_OFFER_DELETE,       /* delete offer `offer.id`: HG_ENOTFOUND if absent */
    HG_SOP_IDEM_SWEEP,         /* delete idempotency records expired at now_ms;
                                * `swept` receives how many */
    HG_SOP_EVENTS_PUBLISHED,   /* mark outbox rows with seq <= upto_seq published */
    HG_SOP_AUDIT_DONE,         /* delete audit rows with seq <= upto_seq */
};

struct hg_store_write;
typedef void (*hg_store_done_fn)(struct hg_store_write *w, void *arg);

struct hg_store_write {
    enum hg_store_op op;
    struct hg_store_tender tender;
    int64_t expect_version;
    struct hg_store_offer offer;
    const struct hg_store_history *history;   /* rows to insert */
    size_t nhistory;
    const struct hg_store_event *events;      /* outbox rows to insert */
    size_t nevents;
    const struct hg_store_audit *audit;       /* audit rows to insert */
    size_t naudit;
    const struct hg_store_idem *idem;         /* NULL, or the response to keep */
    int idem_replace;          /* 1: overwrite an existing record of the key
                                * (a Prefer: wait response updated after the
                                * wait); 0: HG_EEXIST if the key is taken
                                * by a record not yet expired at the new
                                * one's created_ms (an expired one is
                                * overwritten, as hg_idem_decide treats it
                                * as absent) */
    int64_t now_ms;            /* IDEM_SWEEP */
    int64_t upto_seq;          /* EVENTS_PUBLISHED, AUDIT_DONE */
    hg_store_done_fn done;     /* required; writer thread, after commit */
    void *arg;
    /* set by the store before done() */
    hg_status result;          /* HG_OK, HG_EEXIST, HG_ENOTFOUND, HG_ECONFLICT, HG_EIO */
    int64_t swept;
    char detail[256];          /* for errors: what failed */
};

/* Queue `w` (the caller keeps it alive until done() runs). HG_OK,
 * HG_EBUSY when the queue is full (nothing queued: answer 503),
 * HG_ESTATE when the store is closing, HG_EINVAL for a malformed job (no
 * done, unknown op, a required id or doc missing; nothing queued). Any
 * thread. */
hg_status hg_store_submit(struct hg_store *st, struct hg_store_write *w);
/* Jobs waiting now (metrics, tests). */
size_t hg_store_queue_depth(struct hg_store *st);

/* ---- reads (any thread) ----
 * Strings read into `char *` fields (doc, data, record, headers, body) are
 * always non-NULL and NUL-terminated (the NUL not counted in the length). */
/* HG_OK, HG_ENOTFOUND, HG_EIO, HG_ENOMEM. */
hg_status hg_store_tender_get(struct hg_store *st, const char *id, struct hg_store_tender *out);
void hg_store_tender_free(struct hg_store_tender *t);

struct hg_store_tender_filter {
    const char *tenant;        /* NULL = any; "" = tenders without a tenant */
    const char *state;         /* NULL = any */
    const char *lane;          /* NULL = any */
    int64_t updated_after_ms;  /* < 0 = any; else updated_ms > this */
    const char *after_id;      /* NULL = from the start; else id > this */
    size_t limit;              /* 1..501 (a page of 500 + one to see if there is more) */
};
/* Rows in id order (ids are UUIDv7: creation order). *rows is an array of
 * *n rows; free with hg_store_tender_list_free. */
hg_status hg_store_tender_list(struct hg_store *st, const struct hg_store_tender_filter *f,
                               struct hg_store_tender **rows, size_t *n);
void hg_store_tender_list_free(struct hg_store_tender *rows, size_t n);

/* History of one tender in seq order. HG_OK (n may be 0). *rows is one
 * malloc'd array without inner pointers (NULL when n is 0): free(*rows). */
hg_status hg_store_tender_history(struct hg_store *st, const char *id,
                                  struct hg_store_history **rows, size_t *n);

hg_status hg_store_offer_get(struct hg_store *st, const char *id, struct hg_store_offer *out);
void hg_store_offer_free(struct hg_store_offer *o);

struct hg_store_offer_filter {
    const char *tenant;        /* NULL = any */
    const char *provider_id;   /* NULL = any */
    const char *autonomy_level;
    const char *lane;
    int64_t window_start_ms, window_end_ms; /* both >= 0: offers whose window overlaps
                                * (start < window_end && end > window_start) */
    int64_t live_at_ms;        /* >= 0: only offers not expired at this time
                                * (expires_ms > it; expires_ms 0 never expires) */
    const char *after_id;
    size_t limit;              /* 1..10000 */
};
hg_status hg_store_offer_list(struct hg_store *st, const struct hg_store_offer_filter *f,
                              struct hg_store_offer **rows, size_t *n);
void hg_store_offer_list_free(struct hg_store_offer *rows, size_t n);

/* The live record for (principal, key), expired ones included (the caller
 * decides with hg_idem_decide). HG_OK, HG_ENOTFOUND. */
hg_status hg_store_idem_get(struct hg_store *st, const char *principal, const char *key,
                            struct hg_store_idem *out);
void hg_store_idem_free(struct hg_store_idem *r);

/* Outbox rows with seq > after_seq, in seq order, at most limit
 * (unpublished only when unpublished_only). For the relay and the tests. */
hg_status hg_store_events_list(struct hg_store *st, int64_t after_seq, size_t limit,
                               int unpublished_only, struct hg_store_event **rows, size_t *n);
void hg_store_events_free(struct hg_store_event *rows, size_t n);

/* Audit rows not yet done, in seq order, at most limit. */
hg_status hg_store_audit_pending(struct hg_store *st, size_t limit,
                                 struct hg_store_audit **rows, size_t *n);
void hg_store_audit_free(struct hg_store_audit *rows, size_t n);

/* Row counts, for tests and `haulctl`: tenders, history, offers, events,
 * idempotency records, audit rows pending. */
struct hg_store_counts {
    int64_t tenders, history, offers, events, idem, audit_pending;
};
hg_status hg_store_counts(struct hg_store *st, struct hg_store_counts *out);

#endif
