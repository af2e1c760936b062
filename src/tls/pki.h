/* SPDX-License-Identifier: Apache-2.0
 *
 * pki.h — the development PKI behind `haulctl pki`: one EC P-256 CA, a
 * server certificate for localhost, client certificates with SPIFFE-style
 * URIs, a CRL, and an index.json that remembers what was issued and revoked.
 * FOR DEVELOPMENT AND TESTS ONLY: the CA key sits unencrypted on disk;
 * production certificates come from the organisation's CA. It never shells
 * out, never overwrites a PKI or a certificate unless asked to (force), and
 * writes every file atomically (temporary file, fsync, rename) so a running
 * haulgated reloading on SIGHUP never reads half a file.
 *
 * Layout of DIR (0700): ca.crt ca.key server.crt server.key <name>.crt
 * <name>.key crl.pem index.json .lock — keys 0600, the rest 0644.
 */
#ifndef HG_TLS_PKI_H
#define HG_TLS_PKI_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

#define HG_PKI_NAME_MAX 64          /* [A-Za-z0-9._-], not starting with '.' or '-' */
#define HG_PKI_MAX_DNS 16           /* --dns given more often is a usage error */
#define HG_PKI_MAX_IPS 16           /* likewise --ip */
#define HG_PKI_DAYS_DEFAULT 365
#define HG_PKI_DAYS_MAX 825         /* CA/Browser Forum's old ceiling, kept for leaves */
#define HG_PKI_CA_DAYS 3650
#define HG_PKI_CRL_DAYS 30
#define HG_PKI_URI_PREFIX "spiffe://haulgate.dev/"

/* RFC 5280 §5.3.1 CRLReason codes that `revoke` offers. */
enum hg_pki_reason {
    HG_PKI_REASON_UNSPECIFIED = 0,
    HG_PKI_REASON_KEY_COMPROMISE = 1,
    HG_PKI_REASON_SUPERSEDED = 4,
    HG_PKI_REASON_CESSATION = 5,
};

struct hg_pki_issue_opts {
    const char *uri;                /* NULL: HG_PKI_URI_PREFIX NAME (clients only) */
    const char *const *dns;         /* SAN DNS names; a server with none gets NAME */
    size_t ndns;
    const char *const *ips;         /* SAN IP addresses, IPv4 or IPv6 text */
    size_t nips;
    int days;                       /* 0: HG_PKI_DAYS_DEFAULT; else 1..HG_PKI_DAYS_MAX */
    int server;                     /* EKU serverAuth instead of clientAuth */
    int force;                      /* replace NAME; its old certificate is revoked (superseded) */
};

/* What a CRL update did (any out-parameter of this type may be NULL). */
struct hg_pki_crl_info {
    char serial[80];                /* the serial revoked ("" for hg_pki_crl) */
    int64_t crl_number;
    int64_t next_update;            /* Unix seconds */
};

/* Argument checks, shared with the CLI so it can tell usage errors apart.
 * All return HG_OK or HG_EINVAL with a message saying what is allowed. */
hg_status hg_pki_name_check(const char *name, struct hg_err *err);
hg_status hg_pki_uri_check(const char *uri, struct hg_err *err);
hg_status hg_pki_dns_check(const char *dns, struct hg_err *err);
hg_status hg_pki_ip_check(const char *ip, struct hg_err *err);

/* "keyCompromise" | "superseded" | "cessationOfOperation" | "unspecified".
 * HG_EINVAL for anything else. */
hg_status hg_pki_reason_parse(const char *s, enum hg_pki_reason *out);
const char *hg_pki_reason_name(enum hg_pki_reason r);

/* Create DIR (mode 0700, parents as needed) and the whole PKI in it: CA,
 * server (localhost, 127.0.0.1, ::1), clients tms, operator, provider-sim,
 * an empty CRL (number 1) and the index. HG_EEXIST if DIR already holds a
 * PKI and !force; with force the old PKI's files are replaced and the
 * certificates the old index lists are deleted. HG_EBUSY if another haulctl
 * holds DIR's lock; HG_ESYS, HG_EIO, HG_ECRYPTO, HG_ENOMEM. */
hg_status hg_pki_init(const char *dir, int force, struct hg_err *err);

/* Issue NAME.crt/NAME.key signed by DIR's CA and record it in the index.
 * HG_EINVAL (bad name, URI, DNS name, IP address or days), HG_EEXIST (NAME exists and
 * !o->force), HG_ENOTFOUND (no PKI in DIR), HG_ECORRUPT (index or CA files
 * damaged), HG_EPERM (ca.key readable by others), HG_EBUSY, HG_ESYS,
 * HG_EIO, HG_ECRYPTO, HG_ENOMEM. `o` may be NULL for all defaults. */
hg_status hg_pki_issue(const char *dir, const char *name,
                       const struct hg_pki_issue_opts *o, struct hg_err *err);

/* Revoke NAME's current certificate: mark it in the index and re-sign
 * crl.pem with every revocation so far and the next CRL number.
 * HG_ENOTFOUND (no such NAME or no PKI), HG_ESTATE (already revoked), and
 * the statuses of hg_pki_issue. `info` may be NULL. */
hg_status hg_pki_revoke(const char *dir, const char *name, enum hg_pki_reason reason,
                        struct hg_pki_crl_info *info, struct hg_err *err);

/* Re-sign crl.pem from the index with fresh dates and the next CRL number
 * (the CRL expires after HG_PKI_CRL_DAYS; run this before it does). */
hg_status hg_pki_crl(const char *dir, struct hg_pki_crl_info *info, struct hg_err *err);

/* Load DIR/NAME.crt (NAME "ca" is the CA). *out is owned by the caller
 * (X509_free). HG_EINVAL, HG_ENOTFOUND, HG_EPARSE, HG_EIO. */
hg_status hg_pki_load_cert(const char *dir, const char *name, X509 **out,
                           struct hg_err *err);

/* JSON text describing NAME's certificate (hg_identity_to_json plus "name"
 * and, for indexed names, "revoked"), or with name NULL an object of every
 * indexed certificate keyed by name. *out is malloc'd, caller frees.
 * Statuses of hg_pki_load_cert, HG_ECORRUPT, HG_EPARSE. */
hg_status hg_pki_show(const char *dir, const char *name, char **out, struct hg_err *err);

#endif
