/* SPDX-License-Identifier: Apache-2.0
 *
 * context.c — building and hot-swapping the server SSL_CTX. The current
 * context is behind a mutex; a new connection takes a reference, so a swap
 * never frees a context that a connection still uses.
 */
#include "tls/context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct hg_tls_server {
    pthread_mutex_t mu;
    SSL_CTX *ctx;
    int64_t cert_expiry;
    uint64_t generation;
    char *cert, *key, *ca, *crl;
};

static const unsigned char sid_ctx[] = "haulgate-api";

hg_status hg_tls_load_cert(const char *path, X509 **out, struct hg_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return hg_err_set(err, HG_ETLS, "cannot open certificate '%s': %m", path);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        return hg_err_set_ssl(err, HG_ETLS, "no PEM certificate in '%s'", path);
    *out = x;
    return HG_OK;
}

int64_t hg_tls_cert_not_after(X509 *cert)
{
    const ASN1_TIME *t = X509_get0_notAfter(cert);
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

static hg_status load_crls(X509_STORE *store, const char *path, struct hg_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return hg_err_set(err, HG_ETLS, "cannot open CRL '%s': %m", path);
    int n = 0;
    X509_CRL *crl;
    while ((crl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) != NULL) {
        int ok = X509_STORE_add_crl(store, crl);
        X509_CRL_free(crl);
        if (!ok) {
            fclose(f);
            return hg_err_set_ssl(err, HG_ETLS, "cannot use CRL from '%s'", path);
        }
        n++;
    }
    fclose(f);
    unsigned long e = ERR_peek_last_error();
    if (n > 0 && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
        ERR_clear_error();
    if (n == 0)
        return hg_err_set_ssl(err, HG_ETLS, "no PEM CRL in '%s'", path);
    return HG_OK;
}

static hg_status build(struct hg_tls_server *ts, SSL_CTX **out, int64_t *expiry,
                       struct hg_err *err)
{
    hg_status rc = HG_OK;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return hg_err_set_ssl(err, HG_ENOMEM, "SSL_CTX_new");
    /* TLS 1.3 only: all its suites are AEAD; we list the three we accept. */
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_256_GCM_SHA384:"
                                       "TLS_CHACHA20_POLY1305_SHA256:"
                                       "TLS_AES_128_GCM_SHA256") ||
        !SSL_CTX_set1_groups_list(ctx, "X25519:P-256")) {
        rc = hg_err_set_ssl(err, HG_ETLS, "cannot restrict TLS to 1.3/AEAD/X25519+P-256");
        goto out;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, ts->cert) != 1) {
        rc = hg_err_set_ssl(err, HG_ETLS, "cannot load server certificate '%s'", ts->cert);
        goto out;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, ts->key, SSL_FILETYPE_PEM) != 1) {
        rc = hg_err_set_ssl(err, HG_ETLS, "cannot load server key '%s'", ts->key);
        goto out;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        rc = hg_err_set_ssl(err, HG_ETLS, "server key '%s' does not match certificate '%s'",
                            ts->key, ts->cert);
        goto out;
    }
    if (SSL_CTX_load_verify_locations(ctx, ts->ca, NULL) != 1) {
        rc = hg_err_set_ssl(err, HG_ETLS, "cannot load CA bundle '%s'", ts->ca);
        goto out;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ts->ca);
    if (!names) {
        rc = hg_err_set_ssl(err, HG_ETLS, "no CA certificate in '%s'", ts->ca);
        goto out;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    if (ts->crl) {
        X509_STORE *store = SSL_CTX_get_cert_store(ctx);
        rc = load_crls(store, ts->crl, err);
        if (rc != HG_OK)
            goto out;
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_verify_depth(ctx, 4);
    if (SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1) != 1) {
        rc = hg_err_set_ssl(err, HG_ETLS, "cannot set session id context");
        goto out;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_timeout(ctx, 3600);
    SSL_CTX_set_num_tickets(ctx, 1);
    *expiry = hg_tls_cert_not_after(SSL_CTX_get0_certificate(ctx));
    *out = ctx;
    ctx = NULL;
out:
    SSL_CTX_free(ctx);
    return rc;
}

static char *dupnull(const char *s)
{
    return s ? strdup(s) : NULL;
}

hg_status hg_tls_server_new(const struct hg_tls_files *files,
                            struct hg_tls_server **out, struct hg_err *err)
{
    if (!files->cert || !files->key || !files->ca)
        return hg_err_set(err, HG_EINVAL, "TLS needs a certificate, a key and a CA bundle");
    struct hg_tls_server *ts = calloc(1, sizeof *ts);
    if (!ts)
        return HG_ENOMEM;
    pthread_mutex_init(&ts->mu, NULL);
    ts->cert = dupnull(files->cert);
    ts->key = dupnull(files->key);
    ts->ca = dupnull(files->ca);
    ts->crl = dupnull(files->crl);
    if (!ts->cert || !ts->key || !ts->ca || (files->crl && !ts->crl)) {
        hg_tls_server_free(ts);
        return HG_ENOMEM;
    }
    hg_status rc = build(ts, &ts->ctx, &ts->cert_expiry, err);
    if (rc != HG_OK) {
        hg_tls_server_free(ts);
        return rc;
    }
    *out = ts;
    return HG_OK;
}

void hg_tls_server_free(struct hg_tls_server *ts)
{
    if (!ts)
        return;
    SSL_CTX_free(ts->ctx);
    pthread_mutex_destroy(&ts->mu);
    free(ts->cert);
    free(ts->key);
    free(ts->ca);
    free(ts->crl);
    free(ts);
}

hg_status hg_tls_server_reload(struct hg_tls_server *ts, struct hg_err *err)
{
    SSL_CTX *ctx = NULL;
    int64_t expiry = 0;
    hg_status rc = build(ts, &ctx, &expiry, err);
    if (rc != HG_OK)
        return rc;
    pthread_mutex_lock(&ts->mu);
    SSL_CTX *old = ts->ctx;
    ts->ctx = ctx;
    ts->cert_expiry = expiry;
    ts->generation++;
    pthread_mutex_unlock(&ts->mu);
    SSL_CTX_free(old); /* connections still holding it keep it alive */
    return HG_OK;
}

SSL *hg_tls_server_ssl_new(struct hg_tls_server *ts)
{
    pthread_mutex_lock(&ts->mu);
    SSL *ssl = SSL_new(ts->ctx); /* takes its own reference on ctx */
    pthread_mutex_unlock(&ts->mu);
    return ssl;
}

int64_t hg_tls_server_cert_expiry(struct hg_tls_server *ts)
{
    pthread_mutex_lock(&ts->mu);
    int64_t v = ts->cert_expiry;
    pthread_mutex_unlock(&ts->mu);
    return v;
}

uint64_t hg_tls_server_generation(struct hg_tls_server *ts)
{
    pthread_mutex_lock(&ts->mu);
    uint64_t v = ts->generation;
    pthread_mutex_unlock(&ts->mu);
    return v;
}

const char *hg_tls_failure_reason(SSL *ssl, unsigned long ssl_err)
{
    if (ssl) {
        long vr = SSL_get_verify_result(ssl);
        switch (vr) {
        case X509_V_OK:
            break;
        case X509_V_ERR_CERT_REVOKED:
            return "cert_revoked";
        case X509_V_ERR_CERT_HAS_EXPIRED:
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return "cert_expired";
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            return "unknown_ca";
        case X509_V_ERR_UNABLE_TO_GET_CRL:
        case X509_V_ERR_CRL_HAS_EXPIRED:
            return "crl_unavailable";
        default:
            return "bad_certificate";
        }
    }
    if (!ssl_err)
        return "eof";
    switch (ERR_GET_REASON(ssl_err)) {
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return "no_client_cert";
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_VERSION_TOO_LOW:
        return "protocol_version";
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
        return "no_shared_cipher";
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
        return "http_request";
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return "bad_certificate";
    default:
        return "other";
    }
}
