/* SPDX-License-Identifier: Apache-2.0
 * test_pki.c — tls/pki and `haulctl pki`: every test makes its own PKI in a
 * temporary directory through pki.h, then checks it with OpenSSL's own
 * verifier: the CA is a CA, the server and client certificates chain to it
 * with the right names and key usages, a revocation lands in a re-signed
 * CRL that makes X509_verify_cert fail with X509_V_ERR_CERT_REVOKED, issue
 * refuses duplicates, files and directory have the promised modes, and the
 * CLI verbs return 0 / 1 / 2 as documented. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/ctl.h"
#include "tls/identity.h"
#include "unit/tls/fixture.h"

struct fx {
    char tmp[PATH_MAX];
    char pki[PATH_MAX];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fx_tmpdir(f->tmp);
    fx_pki(f->tmp, f->pki);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    fx_rmrf(f->tmp);
    free(f);
    return 0;
}

/* ---- helpers ---------------------------------------------------------------- */

static mode_t mode_of(const char *dir, const char *file)
{
    char p[PATH_MAX];
    struct stat st;
    fx_join(p, dir, file);
    if (stat(p, &st) != 0)
        fail_msg("stat %s failed", p);
    return st.st_mode & 07777;
}

static X509_CRL *load_crl(const char *dir)
{
    char p[PATH_MAX];
    fx_join(p, dir, "crl.pem");
    FILE *fp = fopen(p, "r");
    assert_non_null(fp);
    X509_CRL *crl = PEM_read_X509_CRL(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(crl);
    return crl;
}

static int64_t crl_number(X509_CRL *crl)
{
    int64_t v = -1;
    ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    assert_non_null(n);
    assert_int_equal(ASN1_INTEGER_get_int64(&v, n), 1);
    ASN1_INTEGER_free(n);
    return v;
}

/* X509_verify_cert of `name` against DIR's CA; with_crl adds crl.pem and
 * X509_V_FLAG_CRL_CHECK. Returns the verify error (X509_V_OK on success). */
static int verify(const char *dir, const char *name, int purpose, int with_crl)
{
    X509 *ca = fx_load(dir, "ca"), *leaf = fx_load(dir, name);
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_CRL *crl = with_crl ? load_crl(dir) : NULL;
    assert_true(st && ctx);
    assert_int_equal(X509_STORE_add_cert(st, ca), 1);
    if (crl) {
        assert_int_equal(X509_STORE_add_crl(st, crl), 1);
        X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
    }
    assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, NULL), 1);
    if (purpose)
        assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
    int ok = X509_verify_cert(ctx);
    int e = X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    X509_CRL_free(crl);
    X509_free(ca);
    X509_free(leaf);
    return ok == 1 ? X509_V_OK : (e ? e : -1);
}

static void serial_of(const char *dir, const char *name, char out[80])
{
    X509 *x = fx_load(dir, name);
    assert_int_equal(hg_identity_serial_hex(X509_get0_serialNumber(x), out, 80), HG_OK);
    X509_free(x);
}

static json_t *load_index(const char *dir)
{
    char p[PATH_MAX];
    json_error_t je;
    fx_join(p, dir, "index.json");
    json_t *j = json_load_file(p, 0, &je);
    assert_non_null(j);
    return j;
}

static const X509_REVOKED *crl_find(X509_CRL *crl, const char *serial_hex)
{
    BIGNUM *bn = NULL;
    assert_true(BN_hex2bn(&bn, serial_hex) > 0);
    ASN1_INTEGER *sn = BN_to_ASN1_INTEGER(bn, NULL);
    X509_REVOKED *r = NULL;
    int found = X509_CRL_get0_by_serial(crl, &r, sn);
    ASN1_INTEGER_free(sn);
    BN_free(bn);
    return found ? r : NULL;
}

static long reason_of(const X509_REVOKED *r)
{
    int crit = 0;
    ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
    if (!e)
        return -1;        /* absent: "unspecified" */
    long v = ASN1_ENUMERATED_get(e);
    ASN1_ENUMERATED_free(e);
    return v;
}

static int crit_of(X509 *x, int nid)
{
    int i = X509_get_ext_by_NID(x, nid, -1);
    assert_true(i >= 0);
    return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

/* ---- init -------------------------------------------------------------------- */

static void layout_and_modes(void **state)
{
    struct fx *f = *state;
    static const char *const keys[] = {"ca.key", "server.key", "tms.key", "operator.key",
                                       "provider-sim.key"};
    static const char *const pub[] = {"ca.crt", "server.crt", "tms.crt", "operator.crt",
                                      "provider-sim.crt", "crl.pem", "index.json"};
    struct stat st;
    assert_int_equal(stat(f->pki, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(mode_of(f->pki, keys[i]), 0600);
    for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++)
        assert_int_equal(mode_of(f->pki, pub[i]), 0644);
}

static void modes_ignore_umask(void **state)
{
    struct fx *f = *state;
    char dir[PATH_MAX];
    struct hg_err e;
    fx_join(dir, f->tmp, "a/b/loose");
    mode_t old = umask(0);
    hg_status rc = hg_pki_init(dir, 0, &e);
    umask(old);
    assert_int_equal(rc, HG_OK);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(mode_of(dir, "ca.key"), 0600);
    assert_int_equal(mode_of(dir, "tms.key"), 0600);
}

static void init_refuses_existing(void **state)
{
    struct fx *f = *state;
    struct hg_err e;
    char before[80], after[80];
    serial_of(f->pki, "ca", before);
    hg_err_clear(&e);
    assert_int_equal(hg_pki_init(f->pki, 0, &e), HG_EEXIST);
    assert_non_null(strstr(e.msg, "--force"));
    serial_of(f->pki, "ca", after);
    assert_string_equal(before, after);           /* untouched */
    /* an extra certificate of the old PKI is removed by init --force */
    assert_int_equal(hg_pki_issue(f->pki, "extra", NULL, &e), HG_OK);
    assert_int_equal(hg_pki_init(f->pki, 1, &e), HG_OK);
    serial_of(f->pki, "ca", after);
    assert_string_not_equal(before, after);
    char p[PATH_MAX];
    fx_join(p, f->pki, "extra.crt");
    assert_int_equal(access(p, F_OK), -1);
    fx_join(p, f->pki, "extra.key");
    assert_int_equal(access(p, F_OK), -1);
    assert_int_equal(verify(f->pki, "tms", 0, 1), X509_V_OK);
}

static void ca_is_a_ca(void **state)
{
    struct fx *f = *state;
    X509 *ca = fx_load(f->pki, "ca");
    assert_int_equal(X509_check_ca(ca), 1);
    assert_true(X509_get_extension_flags(ca) & EXFLAG_CA);
    assert_int_equal(crit_of(ca, NID_basic_constraints), 1);
    assert_int_equal(crit_of(ca, NID_key_usage), 1);
    assert_int_equal(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_non_null(X509_get0_subject_key_id(ca));
    assert_int_equal(X509_self_signed(ca, 1), 1);
    assert_int_equal(fx_diff(X509_get0_notBefore(ca), X509_get0_notAfter(ca)), 3650L * 86400);
    EVP_PKEY *pk = X509_get0_pubkey(ca);
    char group[32];
    assert_true(EVP_PKEY_is_a(pk, "EC"));
    assert_int_equal(EVP_PKEY_get_group_name(pk, group, sizeof group, NULL), 1);
    assert_string_equal(group, "prime256v1");
    X509_free(ca);
}

static void server_cert(void **state)
{
    struct fx *f = *state;
    assert_int_equal(verify(f->pki, "server", X509_PURPOSE_SSL_SERVER, 1), X509_V_OK);
    /* serverAuth only: refused for client use */
    assert_int_equal(verify(f->pki, "server", X509_PURPOSE_SSL_CLIENT, 0),
                     X509_V_ERR_INVALID_PURPOSE);
    X509 *s = fx_load(f->pki, "server");
    assert_int_equal(X509_check_host(s, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(s, "example.com", 0, 0, NULL), 0);
    assert_int_equal(X509_check_ip_asc(s, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(s, "::1", 0), 1);
    assert_int_equal(X509_check_ip_asc(s, "127.0.0.2", 0), 0);
    assert_int_equal(X509_get_extended_key_usage(s), XKU_SSL_SERVER);
    assert_int_equal(X509_check_ca(s), 0);
    assert_true(fx_diff(X509_get0_notBefore(s), X509_get0_notAfter(s)) <= 825L * 86400);
    X509_free(s);
}

static void client_certs(void **state)
{
    struct fx *f = *state;
    static const char *const names[] = {"tms", "operator", "provider-sim"};
    X509 *ca = fx_load(f->pki, "ca");
    json_t *idx = load_index(f->pki);
    char seen[3][80];
    for (size_t i = 0; i < 3; i++) {
        char uri[128];
        struct hg_identity *id = NULL;
        assert_int_equal(verify(f->pki, names[i], X509_PURPOSE_SSL_CLIENT, 1), X509_V_OK);
        assert_int_equal(verify(f->pki, names[i], X509_PURPOSE_SSL_SERVER, 0),
                         X509_V_ERR_INVALID_PURPOSE);
        X509 *x = fx_load(f->pki, names[i]);
        assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
        assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
                                               X509_get0_subject_key_id(ca)), 0);
        assert_int_equal(hg_identity_from_x509(x, &id), HG_OK);
        assert_string_equal(id->cn, names[i]);
        snprintf(uri, sizeof uri, "spiffe://haulgate.dev/%s", names[i]);
        assert_int_equal(id->nuris, 1);
        assert_string_equal(id->uris[0], uri);
        /* 128-bit positive serial, recorded in the index */
        assert_true(ASN1_STRING_type(X509_get0_serialNumber(x)) == V_ASN1_INTEGER);
        assert_true(ASN1_STRING_length(X509_get0_serialNumber(x)) <= 16);
        assert_true(ASN1_STRING_length(X509_get0_serialNumber(x)) >= 8);
        json_t *e = json_object_get(json_object_get(idx, "certs"), names[i]);
        assert_string_equal(json_string_value(json_object_get(e, "serial")), id->serial);
        assert_string_equal(json_string_value(json_object_get(e, "uri")), uri);
        assert_true(json_is_false(json_object_get(e, "revoked")));
        assert_non_null(json_string_value(json_object_get(e, "not_after")));
        snprintf(seen[i], sizeof seen[i], "%s", id->serial);
        hg_identity_free(id);
        X509_free(x);
    }
    assert_string_not_equal(seen[0], seen[1]);
    assert_string_not_equal(seen[1], seen[2]);
    json_decref(idx);
    X509_free(ca);
}

static void empty_crl(void **state)
{
    struct fx *f = *state;
    X509 *ca = fx_load(f->pki, "ca");
    X509_CRL *crl = load_crl(f->pki);
    assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca)), 1);
    STACK_OF(X509_REVOKED) *rv = X509_CRL_get_REVOKED(crl);
    assert_true(rv == NULL || sk_X509_REVOKED_num(rv) == 0);
    assert_int_equal(crl_number(crl), 1);
    assert_int_equal(fx_diff(X509_CRL_get0_lastUpdate(crl), X509_CRL_get0_nextUpdate(crl)),
                     30L * 86400);
    assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)), 0);
    X509_CRL_free(crl);
    X509_free(ca);
}

/* ---- revoke ------------------------------------------------------------------- */

static void revoke_fails_verification(void **state)
{
    struct fx *f = *state;
    struct hg_pki_crl_info info;
    struct hg_err e;
    char tms[80], op[80];
    serial_of(f->pki, "tms", tms);
    serial_of(f->pki, "operator", op);
    assert_int_equal(verify(f->pki, "tms", 0, 1), X509_V_OK);

    assert_int_equal(hg_pki_revoke(f->pki, "tms", HG_PKI_REASON_KEY_COMPROMISE, &info, &e),
                     HG_OK);
    assert_string_equal(info.serial, tms);
    assert_int_equal(info.crl_number, 2);
    assert_int_equal(verify(f->pki, "tms", 0, 1), X509_V_ERR_CERT_REVOKED);
    assert_int_equal(verify(f->pki, "tms", 0, 0), X509_V_OK);   /* only the CRL says no */
    assert_int_equal(verify(f->pki, "operator", 0, 1), X509_V_OK);

    X509_CRL *crl = load_crl(f->pki);
    const X509_REVOKED *r = crl_find(crl, tms);
    assert_non_null(r);
    assert_int_equal(reason_of(r), 1);
    assert_int_equal(crl_number(crl), 2);
    X509_CRL_free(crl);

    /* a second revocation keeps the first; "unspecified" has no reason code */
    assert_int_equal(hg_pki_revoke(f->pki, "operator", HG_PKI_REASON_UNSPECIFIED, &info, &e),
                     HG_OK);
    crl = load_crl(f->pki);
    assert_int_equal(crl_number(crl), 3);
    assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
    assert_non_null(crl_find(crl, tms));
    assert_non_null(r = crl_find(crl, op));
    assert_int_equal(reason_of(r), -1);
    X509_CRL_free(crl);
    assert_int_equal(verify(f->pki, "operator", 0, 1), X509_V_ERR_CERT_REVOKED);
    assert_int_equal(verify(f->pki, "provider-sim", 0, 1), X509_V_OK);

    json_t *idx = load_index(f->pki);
    json_t *ent = json_object_get(json_object_get(idx, "certs"), "tms");
    assert_true(json_is_true(json_object_get(ent, "revoked")));
    assert_string_equal(json_string_value(json_object_get(ent, "reason")), "keyCompromise");
    assert_int_equal(json_array_size(json_object_get(idx, "revocations")), 2);
    json_decref(idx);
}

static void revoke_errors(void **state)
{
    struct fx *f = *state;
    struct hg_err e;
    assert_int_equal(hg_pki_revoke(f->pki, "tms", HG_PKI_REASON_SUPERSEDED, NULL, &e), HG_OK);
    hg_err_clear(&e);
    assert_int_equal(hg_pki_revoke(f->pki, "tms", HG_PKI_REASON_SUPERSEDED, NULL, &e),
                     HG_ESTATE);
    assert_non_null(strstr(e.msg, "already revoked"));
    assert_int_equal(hg_pki_revoke(f->pki, "nobody", HG_PKI_REASON_SUPERSEDED, NULL, &e),
                     HG_ENOTFOUND);
    assert_non_null(strstr(e.msg, "nobody"));
    assert_int_equal(hg_pki_revoke(f->pki, "../x", HG_PKI_REASON_SUPERSEDED, NULL, &e),
                     HG_EINVAL);
    assert_int_equal(hg_pki_revoke(f->pki, "tms", (enum hg_pki_reason)3, NULL, &e), HG_EINVAL);
    X509_CRL *crl = load_crl(f->pki);
    assert_int_equal(crl_number(crl), 2);   /* failed calls wrote nothing */
    X509_CRL_free(crl);
}

static void crl_refresh_and_rebuild(void **state)
{
    struct fx *f = *state;
    struct hg_pki_crl_info info;
    struct hg_err e;
    char tms[80], p[PATH_MAX];
    serial_of(f->pki, "tms", tms);
    assert_int_equal(hg_pki_revoke(f->pki, "tms", HG_PKI_REASON_CESSATION, NULL, &e), HG_OK);
    assert_int_equal(hg_pki_crl(f->pki, &info, &e), HG_OK);
    assert_int_equal(info.crl_number, 3);
    assert_string_equal(info.serial, "");
    /* crl.pem lost: rebuilt from the index with the revocation intact */
    fx_join(p, f->pki, "crl.pem");
    assert_int_equal(unlink(p), 0);
    assert_int_equal(hg_pki_crl(f->pki, &info, &e), HG_OK);
    X509_CRL *crl = load_crl(f->pki);
    assert_int_equal(crl_number(crl), 4);
    const X509_REVOKED *r = crl_find(crl, tms);
    assert_non_null(r);
    assert_int_equal(reason_of(r), 5);
    X509_CRL_free(crl);
    assert_int_equal(verify(f->pki, "tms", 0, 1), X509_V_ERR_CERT_REVOKED);
}

/* ---- issue --------------------------------------------------------------------- */

static void issue_duplicates_and_force(void **state)
{
    struct fx *f = *state;
    struct hg_err e;
    char old[80], now[80];
    serial_of(f->pki, "tms", old);
    hg_err_clear(&e);
    assert_int_equal(hg_pki_issue(f->pki, "tms", NULL, &e), HG_EEXIST);
    assert_non_null(strstr(e.msg, "--force"));
    serial_of(f->pki, "tms", now);
    assert_string_equal(old, now);

    struct hg_pki_issue_opts o = {.force = 1};
    assert_int_equal(hg_pki_issue(f->pki, "tms", &o, &e), HG_OK);
    serial_of(f->pki, "tms", now);
    assert_string_not_equal(old, now);
    /* the replaced certificate is revoked as superseded; the new one verifies */
    X509_CRL *crl = load_crl(f->pki);
    const X509_REVOKED *r = crl_find(crl, old);
    assert_non_null(r);
    assert_int_equal(reason_of(r), 4);
    assert_null(crl_find(crl, now));
    X509_CRL_free(crl);
    assert_int_equal(verify(f->pki, "tms", X509_PURPOSE_SSL_CLIENT, 1), X509_V_OK);
    assert_int_equal(mode_of(f->pki, "tms.key"), 0600);
}

static void issue_options(void **state)
{
    struct fx *f = *state;
    struct hg_err e;
    struct hg_identity *id = NULL;
    const char *dns[] = {"gw.example.test", "*.fleet.example.test"};
    struct hg_pki_issue_opts o = {.uri = "spiffe://haulgate.dev/ns/prod/gw", .dns = dns,
                                  .ndns = 2, .days = 10};
    hg_err_clear(&e);
    assert_int_equal(hg_pki_issue(f->pki, "gw", &o, &e), HG_OK);
    X509 *x = fx_load(f->pki, "gw");
    assert_int_equal(fx_diff(X509_get0_notBefore(x), X509_get0_notAfter(x)), 10L * 86400);
    assert_int_equal(hg_identity_from_x509(x, &id), HG_OK);
    assert_string_equal(id->uris[0], "spiffe://haulgate.dev/ns/prod/gw");
    assert_int_equal(id->ndns, 2);
    assert_string_equal(id->dns[1], "*.fleet.example.test");
    hg_identity_free(id);
    X509_free(x);
    assert_int_equal(verify(f->pki, "gw", X509_PURPOSE_SSL_CLIENT, 1), X509_V_OK);

    /* --server: serverAuth, DNS defaults to the name, no URI; --ip adds IPs */
    const char *ips[] = {"10.0.0.7", "fd00::7"};
    struct hg_pki_issue_opts s = {.server = 1, .ips = ips, .nips = 2};
    assert_int_equal(hg_pki_issue(f->pki, "edge1.local", &s, &e), HG_OK);
    x = fx_load(f->pki, "edge1.local");
    assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
    assert_int_equal(X509_check_host(x, "edge1.local", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(x, "10.0.0.7", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "fd00::7", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 0);
    assert_int_equal(fx_diff(X509_get0_notBefore(x), X509_get0_notAfter(x)), 365L * 86400);
    assert_int_equal(hg_identity_from_x509(x, &id), HG_OK);
    assert_int_equal(id->nuris, 0);
    hg_identity_free(id);
    X509_free(x);
    json_t *idx = load_index(f->pki);
    json_t *ent = json_object_get(json_object_get(idx, "certs"), "edge1.local");
    assert_string_equal(json_string_value(json_object_get(ent, "kind")), "server");
    json_decref(idx);
}

static void issue_rejects_bad_arguments(void **state)
{
    struct fx *f = *state;
    struct hg_err e;
    char long_name[66];
    memset(long_name, 'n', 65);
    long_name[65] = '\0';
    static const char *const bad_names[] = {"", "a/b", ".hidden", "-x", "ca", "a b", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        assert_int_equal(hg_pki_issue(f->pki, bad_names[i], NULL, &e), HG_EINVAL);
    assert_int_equal(hg_pki_issue(f->pki, long_name, NULL, &e), HG_EINVAL);
    assert_int_equal(hg_pki_issue(f->pki, NULL, NULL, &e), HG_EINVAL);
    long_name[64] = '\0';
    assert_int_equal(hg_pki_issue(f->pki, long_name, NULL, &e), HG_OK);   /* 64 is fine */

    struct hg_pki_issue_opts o = {.days = 826};
    assert_int_equal(hg_pki_issue(f->pki, "d1", &o, &e), HG_EINVAL);
    o.days = -1;
    assert_int_equal(hg_pki_issue(f->pki, "d1", &o, &e), HG_EINVAL);
    o = (struct hg_pki_issue_opts){.uri = "no-scheme"};
    assert_int_equal(hg_pki_issue(f->pki, "d1", &o, &e), HG_EINVAL);
    o.uri = "spiffe://a b";
    assert_int_equal(hg_pki_issue(f->pki, "d1", &o, &e), HG_EINVAL);
    o.uri = "spiffe:";
    assert_int_equal(hg_pki_issue(f->pki, "d1", &o, &e), HG_EINVAL);
    static const char *const bad_dns[] = {"bad_host", "-a.b", "a..b", "", "a.b-"};
    for (size_t i = 0; i < sizeof bad_dns / sizeof bad_dns[0]; i++) {
        o = (struct hg_pki_issue_opts){.dns = &bad_dns[i], .ndns = 1};
        assert_int_equal(hg_pki_issue(f->pki, "d1", &o, &e), HG_EINVAL);
    }
    static const char *const bad_ips[] = {"1.2.3", "::g", "localhost", "1.2.3.4/8", ""};
    for (size_t i = 0; i < sizeof bad_ips / sizeof bad_ips[0]; i++) {
        o = (struct hg_pki_issue_opts){.ips = &bad_ips[i], .nips = 1};
        assert_int_equal(hg_pki_issue(f->pki, "d1", &o, &e), HG_EINVAL);
    }
    o = (struct hg_pki_issue_opts){.server = 1};
    hg_err_clear(&e);
    assert_int_equal(hg_pki_issue(f->pki, "gw_1", &o, &e), HG_EINVAL);
    assert_non_null(strstr(e.msg, "--dns"));
    char p[PATH_MAX];
    fx_join(p, f->pki, "d1.crt");
    assert_int_equal(access(p, F_OK), -1);
    fx_join(p, f->pki, "gw_1.key");
    assert_int_equal(access(p, F_OK), -1);
}

static void no_pki_and_damage(void **state)
{
    struct fx *f = *state;
    struct hg_err e;
    char p[PATH_MAX];
    hg_err_clear(&e);
    assert_int_equal(hg_pki_issue(f->tmp, "x", NULL, &e), HG_ENOTFOUND);
    assert_non_null(strstr(e.msg, "pki init"));

    /* a CA key readable by others is refused */
    fx_join(p, f->pki, "ca.key");
    assert_int_equal(chmod(p, 0644), 0);
    assert_int_equal(hg_pki_issue(f->pki, "x", NULL, &e), HG_EPERM);
    assert_non_null(strstr(e.msg, "chmod 600"));
    assert_int_equal(chmod(p, 0600), 0);

    /* a damaged index is reported, not overwritten */
    fx_join(p, f->pki, "index.json");
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("{\"version\": 1, \"certs\": [", fp);
    fclose(fp);
    hg_err_clear(&e);
    assert_int_equal(hg_pki_issue(f->pki, "x", NULL, &e), HG_ECORRUPT);
    assert_non_null(strstr(e.msg, "index.json"));
    fp = fopen(p, "w");
    fputs("{\"version\": 1, \"crl_number\": 1, \"certs\": {\"tms\": {\"serial\": \"zz\"}}, "
          "\"revocations\": []}", fp);
    fclose(fp);
    assert_int_equal(hg_pki_revoke(f->pki, "tms", HG_PKI_REASON_SUPERSEDED, NULL, &e),
                     HG_ECORRUPT);
    fx_join(p, f->pki, "x.crt");
    assert_int_equal(access(p, F_OK), -1);
}

static void lock_excludes_concurrent_runs(void **state)
{
    struct fx *f = *state;
    struct hg_err e;
    char p[PATH_MAX];
    fx_join(p, f->pki, ".lock");
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    hg_err_clear(&e);
    assert_int_equal(hg_pki_issue(f->pki, "x", NULL, &e), HG_EBUSY);
    assert_non_null(strstr(e.msg, "retry"));
    close(fd);
    assert_int_equal(hg_pki_issue(f->pki, "x", NULL, &e), HG_OK);
}

static void show_json(void **state)
{
    struct fx *f = *state;
    struct hg_err e;
    char *text = NULL;
    json_error_t je;
    assert_int_equal(hg_pki_revoke(f->pki, "operator", HG_PKI_REASON_SUPERSEDED, NULL, &e),
                     HG_OK);
    assert_int_equal(hg_pki_show(f->pki, "tms", &text, &e), HG_OK);
    json_t *j = json_loads(text, 0, &je);
    free(text);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "tms");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "san_uris"), 0)),
                        "spiffe://haulgate.dev/tms");
    assert_true(json_is_false(json_object_get(j, "revoked")));
    json_decref(j);

    assert_int_equal(hg_pki_show(f->pki, NULL, &text, &e), HG_OK);
    j = json_loads(text, 0, &je);
    free(text);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 4);
    assert_true(json_is_true(json_object_get(json_object_get(j, "operator"), "revoked")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "server"),
                                                          "subject_cn")), "localhost");
    json_decref(j);

    assert_int_equal(hg_pki_show(f->pki, "ca", &text, &e), HG_OK);   /* the CA is showable */
    free(text);
    assert_int_equal(hg_pki_show(f->pki, "nobody", &text, &e), HG_ENOTFOUND);
    assert_null(text);
}

/* ---- the CLI --------------------------------------------------------------------- */

/* Run hg_ctl_pki with stdout/stderr captured into the fixture's directory. */
static int cli(struct fx *f, char *out, size_t outsz, const char *a0, ...)
{
    char *argv[16];
    int argc = 0;
    va_list ap;
    argv[argc++] = (char *)"pki";
    argv[argc++] = (char *)a0;
    va_start(ap, a0);
    for (const char *a; argc < 15 && (a = va_arg(ap, const char *));)
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;

    char path[PATH_MAX];
    fx_join(path, f->tmp, "cli.out");
    fflush(stdout);
    fflush(stderr);
    int o = dup(1), e = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    int rc = hg_ctl_pki(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(o, 1);
    dup2(e, 2);
    close(o);
    close(e);
    FILE *fp = fopen(path, "r");
    size_t n = fp ? fread(out, 1, outsz - 1, fp) : 0;
    out[n] = '\0';
    if (fp)
        fclose(fp);
    return rc;
}

static void cli_exit_codes(void **state)
{
    struct fx *f = *state;
    char out[8192], dir[PATH_MAX];
    fx_join(dir, f->tmp, "cli-pki");

    assert_int_equal(cli(f, out, sizeof out, "init", dir, NULL), 0);
    assert_non_null(strstr(out, "FOR DEVELOPMENT ONLY"));
    assert_int_equal(cli(f, out, sizeof out, "init", dir, NULL), 1);
    assert_non_null(strstr(out, "haulctl pki: "));
    assert_non_null(strstr(out, "--force"));
    assert_int_equal(cli(f, out, sizeof out, "init", dir, "--force", NULL), 0);
    assert_int_equal(cli(f, out, sizeof out, "init", NULL), 2);
    assert_non_null(strstr(out, "usage: haulctl pki init DIR"));
    assert_int_equal(cli(f, out, sizeof out, "init", dir, "extra", NULL), 2);
    assert_int_equal(cli(f, out, sizeof out, "frobnicate", NULL), 2);
    assert_int_equal(cli(f, out, sizeof out, "--help", NULL), 0);
    assert_int_equal(cli(f, out, sizeof out, "issue", "--help", NULL), 0);
    assert_non_null(strstr(out, "usage: haulctl pki issue"));

    assert_int_equal(cli(f, out, sizeof out, "issue", dir, "a/b", NULL), 2);
    assert_int_equal(cli(f, out, sizeof out, "issue", dir, "gw", "--days", "0", NULL), 2);
    assert_int_equal(cli(f, out, sizeof out, "issue", dir, "gw", "--days", "12x", NULL), 2);
    assert_int_equal(cli(f, out, sizeof out, "issue", dir, "gw", "--days", NULL), 2);
    assert_int_equal(cli(f, out, sizeof out, "issue", dir, "gw", "--bogus", NULL), 2);
    assert_int_equal(cli(f, out, sizeof out, "issue", dir, "gw", "--reason", "x", NULL), 2);
    assert_int_equal(cli(f, out, sizeof out, "issue", dir, "gw", "--uri", "nope", NULL), 2);
    assert_int_equal(cli(f, out, sizeof out, "issue", dir, "gw", "--force=1", NULL), 2);
    assert_int_equal(cli(f, out, sizeof out, "issue", dir, "tms", NULL), 1);
    assert_int_equal(cli(f, out, sizeof out, "issue", dir, "gw", "--days=30", "--dns",
                         "gw.local", "--uri=spiffe://haulgate.dev/gateway", NULL), 0);
    assert_non_null(strstr(out, "spiffe://haulgate.dev/gateway"));
    assert_non_null(strstr(out, "gw.local"));
    assert_int_equal(cli(f, out, sizeof out, "issue", dir, "gw", "--ip", "300.1.1.1", NULL), 2);
    assert_int_equal(cli(f, out, sizeof out, "issue", dir, "gw", "--server", "--force", "--ip",
                         "127.0.0.1", "--ip=::1", NULL), 0);
    X509 *gw = fx_load(dir, "gw");
    assert_int_equal(X509_check_ip_asc(gw, "::1", 0), 1);
    X509_free(gw);

    assert_int_equal(cli(f, out, sizeof out, "revoke", dir, "tms", "--reason", "bogus", NULL),
                     2);
    assert_int_equal(cli(f, out, sizeof out, "revoke", dir, NULL), 2);
    assert_int_equal(cli(f, out, sizeof out, "revoke", dir, "tms", "--reason",
                         "keyCompromise", NULL), 0);
    assert_non_null(strstr(out, "CRL number 3"));   /* 2 went to gw's superseded cert */
    assert_int_equal(cli(f, out, sizeof out, "revoke", dir, "tms", NULL), 1);
    assert_non_null(strstr(out, "already revoked"));
    assert_int_equal(cli(f, out, sizeof out, "revoke", dir, "nobody", NULL), 1);
    assert_int_equal(verify(dir, "tms", 0, 1), X509_V_ERR_CERT_REVOKED);

    assert_int_equal(cli(f, out, sizeof out, "crl", dir, NULL), 0);
    assert_non_null(strstr(out, "CRL number 4"));
    assert_int_equal(cli(f, out, sizeof out, "show", dir, "tms", NULL), 0);
    assert_non_null(strstr(out, "\"spiffe://haulgate.dev/tms\""));
    assert_non_null(strstr(out, "x5t#S256"));
    assert_int_equal(cli(f, out, sizeof out, "show", dir, NULL), 0);
    assert_non_null(strstr(out, "\"provider-sim\""));
    assert_int_equal(cli(f, out, sizeof out, "show", dir, "../etc", NULL), 2);
    assert_int_equal(cli(f, out, sizeof out, "show", dir, "nobody", NULL), 1);
    assert_int_equal(cli(f, out, sizeof out, "show", f->tmp, NULL), 1);
    assert_non_null(strstr(out, "no PKI in"));
    assert_int_equal(cli(f, out, sizeof out, "show", dir, "--", "tms", NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(layout_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(modes_ignore_umask, setup, teardown),
        cmocka_unit_test_setup_teardown(init_refuses_existing, setup, teardown),
        cmocka_unit_test_setup_teardown(ca_is_a_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(server_cert, setup, teardown),
        cmocka_unit_test_setup_teardown(client_certs, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_crl, setup, teardown),
        cmocka_unit_test_setup_teardown(revoke_fails_verification, setup, teardown),
        cmocka_unit_test_setup_teardown(revoke_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(crl_refresh_and_rebuild, setup, teardown),
        cmocka_unit_test_setup_teardown(issue_duplicates_and_force, setup, teardown),
        cmocka_unit_test_setup_teardown(issue_options, setup, teardown),
        cmocka_unit_test_setup_teardown(issue_rejects_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(no_pki_and_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(lock_excludes_concurrent_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(show_json, setup, teardown),
        cmocka_unit_test_setup_teardown(cli_exit_codes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
