/* SPDX-License-Identifier: Apache-2.0
 *
 * status.h — the one status enum of haulgate. Every function that can fail
 * returns an hg_status; outputs are out-parameters. Codes are generated from
 * one X-macro with a stable name and a message, and are only ever appended:
 * never renumber, never remove (curl's CURLcode rule).
 */
#ifndef HG_COMMON_STATUS_H
#define HG_COMMON_STATUS_H

#define HG_STATUS_TABLE(X)                                                   \
    X(HG_OK,            "ok")                                                \
    X(HG_ENOMEM,        "out of memory")                                     \
    X(HG_EINVAL,        "invalid argument")                                  \
    X(HG_ETOOBIG,       "input exceeds its size limit")                      \
    X(HG_EPARSE,        "malformed input")                                   \
    X(HG_EIO,           "input/output error")                                \
    X(HG_ENOTFOUND,     "not found")                                         \
    X(HG_EEXIST,        "already exists")                                    \
    X(HG_ECRYPTO,       "cryptographic operation failed")                    \
    X(HG_ETLS,          "TLS configuration error")                           \
    X(HG_ECONFIG,       "configuration error")                               \
    X(HG_ESYS,          "system call failed")                                \
    X(HG_EVERIFY,       "verification failed")                               \
    X(HG_ESTATE,        "operation not allowed in the current state")        \
    X(HG_EBUSY,         "resource busy, try again later")                    \
    X(HG_ETIMEOUT,      "timed out")                                         \
    X(HG_EPERM,         "not permitted")                                     \
    X(HG_ECONFLICT,     "conflict")                                          \
    X(HG_EUNSUPPORTED,  "not supported")                                     \
    X(HG_ECORRUPT,      "stored data is corrupt")

typedef enum hg_status {
#define HG_X_ENUM(name, msg) name,
    HG_STATUS_TABLE(HG_X_ENUM)
#undef HG_X_ENUM
    HG_STATUS__COUNT
} hg_status;

/* Stable symbolic name ("HG_ENOMEM"); never NULL. */
const char *hg_status_name(hg_status st);
/* Human message ("out of memory"); never NULL. */
const char *hg_status_str(hg_status st);

#endif
