/* SPDX-License-Identifier: Apache-2.0
 *
 * err.h — an error context: a status plus a human sentence that says what
 * failed, on which input, and what to do. Functions that can fail in ways a
 * user must understand take a `struct hg_err *` (which may be NULL when the
 * caller only wants the status). The message never contains secrets.
 */
#ifndef HG_COMMON_ERR_H
#define HG_COMMON_ERR_H

#include "common/status.h"

#define HG_ERR_MSG_MAX 512

struct hg_err {
    hg_status status;
    char msg[HG_ERR_MSG_MAX];
};

/* Clear to HG_OK and an empty message. */
void hg_err_clear(struct hg_err *err);

/* Record `st` with a printf-style message; returns `st` so callers can write
 * `return hg_err_set(err, HG_EINVAL, "...")`. `err` may be NULL. A message
 * longer than HG_ERR_MSG_MAX is truncated with "...". */
hg_status hg_err_set(struct hg_err *err, hg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like hg_err_set, then append the OpenSSL error queue's first reason (and
 * clear the queue). */
hg_status hg_err_set_ssl(struct hg_err *err, hg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The message, or the status's generic message when none was set. */
const char *hg_err_msg(const struct hg_err *err);

#endif
