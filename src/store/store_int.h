/* SPDX-License-Identifier: Apache-2.0
 *
 * store_int.h — what store.c (the generic part: queue, writer thread,
 * group-commit loop, metrics, callbacks) and a backend (store_sqlite.c;
 * later a PostgreSQL one) share. A backend is a table of function pointers
 * chosen by name at open, like curl's vtls. The generic part owns
 * threading and ordering; a backend owns SQL and its connections and never
 * calls a job's done() nor touches the queue. Also the test hooks: they
 * exist so the unit test can block the writer and fail a commit on purpose,
 * and must never be set outside tests.
 */
#ifndef HG_STORE_STORE_INT_H
#define HG_STORE_STORE_INT_H

#include <stddef.h>
#include <stdint.h>
#include "store/store.h"

/* Writer-side calls (begin, apply, commit, rollback) are made only from the
 * writer thread, one at a time. Read calls may come from any thread at
 * once: the backend serialises them onto its own read connections. Every
 * read output follows store.h's ownership rules (the generic part frees). */
struct hg_store_backend {
    const char *name;
    /* Open or create the database, migrate it, prepare the writer. On
     * success *schema_version is the version now in use. */
    hg_status (*open)(const struct hg_store_opts *o, void **out, int *schema_version,
                      struct hg_err *err);
    void (*close)(void *b);

    /* Start one group's transaction. HG_EIO (+ detail) if it cannot. */
    hg_status (*begin)(void *b, char *detail, size_t cap);
    /* Apply one job inside the open transaction, all of its rows or none
     * (a savepoint): on failure the job's changes are undone, w->detail
     * says why and the status is returned. *txn_lost is set to 1 when the
     * database aborted the whole transaction (I/O error, disk full): the
     * group can then commit nothing. */
    hg_status (*apply)(void *b, struct hg_store_write *w, int *txn_lost);
    /* Make the group durable. On failure nothing of the group is
     * committed and the transaction is no longer open. */
    hg_status (*commit)(void *b, char *detail, size_t cap);
    /* Abandon the open transaction (if any). */
    void (*rollback)(void *b);

    /* Reads; arguments are already checked by store.c. */
    hg_status (*tender_get)(void *b, const char *id, struct hg_store_tender *out);
    hg_status (*tender_list)(void *b, const struct hg_store_tender_filter *f,
                             struct hg_store_tender **rows, size_t *n);
    hg_status (*tender_history)(void *b, const char *id, struct hg_store_history **rows,
                                size_t *n);
    hg_status (*offer_get)(void *b, const char *id, struct hg_store_offer *out);
    hg_status (*offer_list)(void *b, const struct hg_store_offer_filter *f,
                            struct hg_store_offer **rows, size_t *n);
    hg_status (*idem_get)(void *b, const char *principal, const char *key,
                          struct hg_store_idem *out);
    hg_status (*events_list)(void *b, int64_t after_seq, size_t limit, int unpublished_only,
                             struct hg_store_event **rows, size_t *n);
    hg_status (*audit_pending)(void *b, size_t limit, struct hg_store_audit **rows, size_t *n);
    hg_status (*counts)(void *b, struct hg_store_counts *out);
};

extern const struct hg_store_backend store__sqlite;

/* Newest schema version the SQLite backend knows (tests). */
int store__sqlite_latest_version(void);

/* ---- test hooks ---- */
struct store__hooks {
    /* Writer thread, after a group is taken off the queue and before its
     * transaction begins. May block (that is how tests hold the writer). */
    void (*group_start)(void *arg, size_t njobs);
    /* Writer thread, just before COMMIT. Anything but HG_OK makes the
     * writer treat the commit as failed: it rolls the group back and every
     * job in it gets HG_EIO. */
    hg_status (*before_commit)(void *arg);
    void *arg;
};
/* Replace the hooks (NULL clears them); takes effect from the next group. */
void store__set_hooks(struct hg_store *st, const struct store__hooks *h);

/* Groups committed (or failed) and jobs completed since open. */
void store__stats(struct hg_store *st, uint64_t *groups, uint64_t *jobs);

#endif
