/* SPDX-License-Identifier: Apache-2.0
 *
 * context.h — the server-side TLS context: TLS 1.3 only, AEAD suites only,
 * X25519/P-256, client certificate required and verified against the CA
 * bundle, CRL checking, a session id context (so resumption works with
 * client certificates). Hot reload builds a complete new SSL_CTX from the
 * files and swaps it in only when everything loaded; established connections
 * keep the SSL_CTX they were born with (it is reference-counted), so a reload
 * never drops a connection and a bad file never replaces good material.
 */
#ifndef HG_TLS_CONTEXT_H
#define HG_TLS_CONTEXT_H

#include <openssl/ssl.h>
#include <stdint.h>
#include "common/err.h"

struct hg_tls_files {
    const char *cert;   /* PEM chain, leaf first */
    const char *key;    /* PEM private key */
    const char *ca;     /* PEM CA bundle for client certificates */
    const char *crl;    /* PEM CRL(s) or NULL */
};

struct hg_tls_server;

/* Build the first context. HG_ETLS with a message naming the file on error. */
hg_status hg_tls_server_new(const struct hg_tls_files *files,
                            struct hg_tls_server **out, struct hg_err *err);
void hg_tls_server_free(struct hg_tls_server *ts);

/* Rebuild from the same file paths; on success the new context serves every
 * new connection. On failure the old context stays and err says why. */
hg_status hg_tls_server_reload(struct hg_tls_server *ts, struct hg_err *err);

/* A new SSL for an accepted connection, from the current context. NULL on
 * allocation failure. Thread-safe. */
SSL *hg_tls_server_ssl_new(struct hg_tls_server *ts);

/* The server certificate's notAfter (Unix seconds) of the current context. */
int64_t hg_tls_server_cert_expiry(struct hg_tls_server *ts);
/* How many successful reloads happened (for tests and logs). */
uint64_t hg_tls_server_generation(struct hg_tls_server *ts);

/* A short, bounded reason label for a failed handshake on `ssl`, for the
 * haulgate_tls_handshake_failures_total{reason} metric and the log:
 * "no_client_cert", "unknown_ca", "cert_revoked", "cert_expired",
 * "bad_certificate", "protocol_version", "no_shared_cipher", "http_request",
 * "eof", "other". `ssl_err` is the OpenSSL error code seen (may be 0). */
const char *hg_tls_failure_reason(SSL *ssl, unsigned long ssl_err);

/* Load one PEM certificate file (first certificate) — used for expiry metrics. */
hg_status hg_tls_load_cert(const char *path, X509 **out, struct hg_err *err);
int64_t hg_tls_cert_not_after(X509 *cert);

#endif
