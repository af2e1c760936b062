/* SPDX-License-Identifier: Apache-2.0
 *
 * checkpoint_pub.h — signed audit checkpoints published as events: each
 * one becomes a `com.haulgate.audit.checkpoint` CloudEvent in the store's
 * transactional outbox (data: tree_size, root_hash, the C2SP signed note),
 * so it leaves the gateway with every other event for witnesses and
 * anchoring jobs (DESIGN.md §6). A checkpoint supersedes the ones before
 * it: while a publish is in flight only the newest waiting one is kept,
 * and when the store queue is full the next checkpoint carries the news.
 */
#ifndef HG_APP_CHECKPOINT_PUB_H
#define HG_APP_CHECKPOINT_PUB_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

#define HG_CKPT_EVENT_TYPE "com.haulgate.audit.checkpoint"

struct hg_ckpt_pub;

hg_status hg_ckpt_pub_start(struct hg_store *store, struct hg_ckpt_pub **out,
                            struct hg_err *err);
/* Offer a checkpoint (any thread). note is the signed note (copied). */
void hg_ckpt_pub_offer(struct hg_ckpt_pub *p, uint64_t size, const char *note, size_t len);
/* Checkpoints written to the outbox so far. */
uint64_t hg_ckpt_pub_count(struct hg_ckpt_pub *p);
/* Wait for the publish in flight; later offers are dropped. Call before
 * the store closes. NULL is fine. */
void hg_ckpt_pub_stop(struct hg_ckpt_pub *p);
/* Stop if needed and free, once nothing can offer any more (after the
 * audit log is closed: its writer thread calls the hook). */
void hg_ckpt_pub_free(struct hg_ckpt_pub *p);

#endif
