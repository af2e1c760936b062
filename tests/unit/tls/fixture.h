/* SPDX-License-Identifier: Apache-2.0
 *
 * fixture.h — shared by the tls/ unit tests: a throwaway directory (removed
 * afterwards) and certificates loaded from a PKI made through pki.h. Include
 * after <cmocka.h>. Everything is static inline so a test that uses only
 * part of it still builds with -Werror.
 */
#ifndef HG_TEST_TLS_FIXTURE_H
#define HG_TEST_TLS_FIXTURE_H

#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "tls/pki.h"

static inline int fx_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb, (void)flag, (void)f;
    return remove(p);
}

static inline void fx_rmrf(const char *dir)
{
    nftw(dir, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void fx_tmpdir(char out[PATH_MAX])
{
    const char *base = getenv("TMPDIR");
    snprintf(out, PATH_MAX, "%s/hg-tls-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(out));
}

static inline void fx_join(char out[PATH_MAX], const char *dir, const char *file)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, file);
    assert_true(n > 0 && n < PATH_MAX);
}

/* A fresh PKI in DIR/pki; returns HG_OK or fails the test with the message. */
static inline void fx_pki(const char *dir, char out[PATH_MAX])
{
    struct hg_err e;
    hg_err_clear(&e);
    fx_join(out, dir, "pki");
    if (hg_pki_init(out, 0, &e) != HG_OK)
        fail_msg("hg_pki_init: %s", hg_err_msg(&e));
}

static inline X509 *fx_load(const char *dir, const char *name)
{
    X509 *x = NULL;
    struct hg_err e;
    hg_err_clear(&e);
    if (hg_pki_load_cert(dir, name, &x, &e) != HG_OK)
        fail_msg("hg_pki_load_cert %s: %s", name, hg_err_msg(&e));
    return x;
}

/* Seconds from a to b, computed by OpenSSL (independently of identity.c). */
static inline long fx_diff(const ASN1_TIME *a, const ASN1_TIME *b)
{
    int days = 0, secs = 0;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, a, b), 1);
    return (long)days * 86400 + secs;
}

#endif
