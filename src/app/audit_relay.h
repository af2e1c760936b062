/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_relay.h — moves audit records from the store's write-ahead rows
 * into the Merkle log. A state change (a tender created, transitioned,
 * cancelled) writes its audit record into the store in the same
 * transaction as the change, so the request is acknowledged only when
 * both are durable together (DESIGN §4 promise 1, issue 5). This thread
 * then appends each pending row to the audit log in store order, waits
 * for the log's fsync, and deletes the rows it appended (one store job).
 *
 * Exactly once across crashes: a crash between the audit append and the
 * delete leaves rows that are already in the log. At start the relay
 * compares the pending rows with the tail of the log (byte-equal records:
 * every such record names a tender and a version, so two distinct changes
 * never share bytes) and deletes, without appending again, the prefix it
 * finds there.
 */
#ifndef HG_APP_AUDIT_RELAY_H
#define HG_APP_AUDIT_RELAY_H

#include "common/err.h"

struct hg_audit_log;
struct hg_store;
struct hg_metrics;
struct hg_audit_relay;

/* Start the relay thread. The store and log must outlive it. */
hg_status hg_audit_relay_start(struct hg_store *st, struct hg_audit_log *log,
                               struct hg_metrics *metrics, struct hg_audit_relay **out,
                               struct hg_err *err);
/* Wake the relay now (after a commit that wrote audit rows); it also polls. Any thread. */
void hg_audit_relay_kick(struct hg_audit_relay *r);
/* Relay whatever is pending, then stop the thread. Call after the
 * listeners have stopped and before the store closes. NULL is fine.
 * Returns HG_OK, or the first error met (rows then stay in the store and
 * are relayed at the next start). */
hg_status hg_audit_relay_stop(struct hg_audit_relay *r);
/* Rows appended since start (tests, metrics). */
unsigned long long hg_audit_relay_appended(const struct hg_audit_relay *r);

#endif
