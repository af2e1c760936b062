/* SPDX-License-Identifier: Apache-2.0
 * test_identity.c — tls/identity: what is read from certificates made by
 * the development PKI (checked against values OpenSSL computes on its own),
 * and what is refused in hand-crafted certificates: embedded NULs, control
 * characters, invalid UTF-8, over-long names, two CNs, duplicate or broken
 * subjectAltName; SANs beyond the bound are ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "common/util.h"
#include "tls/identity.h"
#include "unit/tls/fixture.h"

struct fx {
    char tmp[PATH_MAX];
    char pki[PATH_MAX];
    X509 *ca, *server, *tms;
    EVP_PKEY *key;           /* signs the crafted certificates */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fx_tmpdir(f->tmp);
    fx_pki(f->tmp, f->pki);
    f->ca = fx_load(f->pki, "ca");
    f->server = fx_load(f->pki, "server");
    f->tms = fx_load(f->pki, "tms");
    f->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(f->key);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    X509_free(f->ca);
    X509_free(f->server);
    X509_free(f->tms);
    EVP_PKEY_free(f->key);
    fx_rmrf(f->tmp);
    free(f);
    return 0;
}

/* ---- independent computations ------------------------------------------ */

/* x5t#S256 with EVP_Digest and EVP_EncodeBlock, not hg_sha256/hg_b64url. */
static void ref_thumbprint(X509 *x, char out[HG_THUMBPRINT_LEN + 1])
{
    unsigned char *der = NULL, md[32], b64[64];
    unsigned int mdlen = 0;
    int n = i2d_X509(x, &der);
    assert_true(n > 0);
    assert_int_equal(EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL), 1);
    OPENSSL_free(der);
    assert_int_equal(EVP_EncodeBlock(b64, md, 32), 44);
    for (int i = 0; i < 43; i++)
        out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
    out[43] = '\0';
    assert_int_equal(b64[43], '=');
}

static void ref_serial(X509 *x, char *out, size_t cap)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = BN_bn2hex(bn);
    assert_non_null(hex);
    assert_true(strlen(hex) < cap);
    snprintf(out, cap, "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
}

static int64_t ref_unix(const ASN1_TIME *t)
{
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    long d = fx_diff(epoch, t);
    ASN1_TIME_free(epoch);
    return d;
}

/* ---- certificates from the PKI ------------------------------------------- */

static void client_identity(void **state)
{
    struct fx *f = *state;
    struct hg_identity *id = NULL;
    char tp[HG_THUMBPRINT_LEN + 1], serial[80];
    assert_int_equal(hg_identity_from_x509(f->tms, &id), HG_OK);
    assert_string_equal(id->cn, "tms");
    assert_int_equal(id->nuris, 1);
    assert_string_equal(id->uris[0], "spiffe://haulgate.dev/tms");
    assert_int_equal(id->ndns, 0);
    assert_string_equal(id->issuer_cn, "haulgate development CA");
    ref_serial(f->tms, serial, sizeof serial);
    assert_string_equal(id->serial, serial);
    assert_int_equal(strlen(id->serial), 32); /* 16 bytes: top bit clear, so BN keeps all */
    ref_thumbprint(f->tms, tp);
    assert_string_equal(id->thumbprint, tp);
    assert_int_equal(id->not_after, ref_unix(X509_get0_notAfter(f->tms)));
    assert_int_equal(id->not_before, ref_unix(X509_get0_notBefore(f->tms)));
    assert_int_equal(id->not_after - id->not_before, 365 * 86400);
    int64_t now = hg_wall_ms() / 1000;
    assert_true(id->not_before <= now && id->not_before > now - 3600);
    hg_identity_free(id);
}

static void server_identity(void **state)
{
    struct fx *f = *state;
    struct hg_identity *id = NULL;
    assert_int_equal(hg_identity_from_x509(f->server, &id), HG_OK);
    assert_string_equal(id->cn, "localhost");
    assert_int_equal(id->ndns, 1);        /* the two IP SANs are not names */
    assert_string_equal(id->dns[0], "localhost");
    assert_int_equal(id->nuris, 0);
    hg_identity_free(id);
}

static void thumbprint_standalone(void **state)
{
    struct fx *f = *state;
    char a[HG_THUMBPRINT_LEN + 1], b[HG_THUMBPRINT_LEN + 1];
    assert_int_equal(hg_identity_thumbprint(f->ca, a), HG_OK);
    ref_thumbprint(f->ca, b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), HG_THUMBPRINT_LEN);
    assert_int_equal(hg_identity_thumbprint(NULL, a), HG_EINVAL);
}

static void json_shape(void **state)
{
    struct fx *f = *state;
    struct hg_identity *id = NULL;
    char when[HG_RFC3339_LEN + 1];
    assert_int_equal(hg_identity_from_x509(f->tms, &id), HG_OK);
    json_t *j = hg_identity_to_json(id);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "subject_cn")), "tms");
    json_t *uris = json_object_get(j, "san_uris");
    assert_int_equal(json_array_size(uris), 1);
    assert_string_equal(json_string_value(json_array_get(uris, 0)), "spiffe://haulgate.dev/tms");
    assert_int_equal(json_array_size(json_object_get(j, "san_dns")), 0);
    assert_true(json_is_array(json_object_get(j, "san_dns")));
    assert_string_equal(json_string_value(json_object_get(j, "serial")), id->serial);
    assert_string_equal(json_string_value(json_object_get(j, "x5t#S256")), id->thumbprint);
    assert_string_equal(json_string_value(json_object_get(j, "issuer_cn")),
                        "haulgate development CA");
    hg_rfc3339(id->not_after * 1000, when);
    assert_string_equal(json_string_value(json_object_get(j, "not_after")), when);
    hg_rfc3339(id->not_before * 1000, when);
    assert_string_equal(json_string_value(json_object_get(j, "not_before")), when);
    assert_int_equal(json_object_size(j), 8);
    json_decref(j);
    hg_identity_free(id);
    assert_null(hg_identity_to_json(NULL));
}

static void null_arguments(void **state)
{
    struct fx *f = *state;
    struct hg_identity *id = (struct hg_identity *)1;
    assert_int_equal(hg_identity_from_x509(NULL, &id), HG_EINVAL);
    assert_int_equal(hg_identity_from_x509(f->tms, NULL), HG_EINVAL);
    hg_identity_free(NULL);
}

/* ---- hand-crafted certificates ------------------------------------------- */

static X509 *craft_new(struct fx *f, long serial)
{
    X509 *x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
    assert_int_equal(X509_set_pubkey(x, f->key), 1);
    assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_issuer_name(x), "CN", MBSTRING_ASC,
                                                (const unsigned char *)"crafted", -1, -1, 0), 1);
    return x;
}

/* A CN with raw bytes of ASN.1 string `type` (no length or charset checks). */
static void craft_cn(X509 *x, int type, const void *p, int n)
{
    assert_int_equal(X509_NAME_add_entry_by_NID(X509_get_subject_name(x), NID_commonName, type,
                                                p, n, -1, 0), 1);
}

/* SANs of `type` with raw bytes; lens[i] < 0 means strlen. */
static void craft_sans(X509 *x, int type, const char *const *v, const int *lens, int n)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    assert_non_null(gens);
    for (int i = 0; i < n; i++) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        assert_true(g && s);
        assert_int_equal(ASN1_STRING_set(s, v[i], lens ? lens[i] : -1), 1);
        GENERAL_NAME_set0_value(g, type, s);
        assert_true(sk_GENERAL_NAME_push(gens, g) > 0);
    }
    assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_APPEND), 1);
    GENERAL_NAMES_free(gens);
}

static void craft_san1(X509 *x, int type, const char *v, int len)
{
    const char *vs[1] = {v};
    int lens[1] = {len};
    craft_sans(x, type, vs, lens, 1);
}

/* Sign, read the identity, free; returns the status (and *out if asked). */
static hg_status craft_read(struct fx *f, X509 *x, struct hg_identity **out)
{
    struct hg_identity *id = (struct hg_identity *)1;
    assert_true(X509_sign(x, f->key, EVP_sha256()) > 0);
    hg_status rc = hg_identity_from_x509(x, &id);
    if (rc != HG_OK)
        assert_null(id);      /* never a half-filled identity */
    if (out)
        *out = id;
    else
        hg_identity_free(id);
    X509_free(x);
    return rc;
}

static void san_uri_embedded_nul(void **state)
{
    struct fx *f = *state;
    X509 *x = craft_new(f, 10);
    craft_cn(x, V_ASN1_UTF8STRING, "tms", 3);
    craft_san1(x, GEN_URI, "spiffe://haulgate.dev/tms\0.evil.example", 39);
    assert_int_equal(craft_read(f, x, NULL), HG_EPARSE);
}

static void san_dns_embedded_nul(void **state)
{
    struct fx *f = *state;
    X509 *x = craft_new(f, 11);
    craft_san1(x, GEN_DNS, "gw.example\0.evil", 16);
    assert_int_equal(craft_read(f, x, NULL), HG_EPARSE);
}

static void san_not_ia5(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {"spiffe://h\xc3\xa9llo", "spiffe://a b", "spiffe://a\tb",
                                      "spiffe://a\x7f", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        X509 *x = craft_new(f, 12);
        craft_san1(x, GEN_URI, bad[i], -1);
        assert_int_equal(craft_read(f, x, NULL), HG_EPARSE);
    }
}

static void san_too_long(void **state)
{
    struct fx *f = *state;
    char big[HG_ID_STR_MAX + 1];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    X509 *x = craft_new(f, 13);
    craft_san1(x, GEN_DNS, big, HG_ID_STR_MAX); /* needs HG_ID_STR_MAX + 1 bytes */
    assert_int_equal(craft_read(f, x, NULL), HG_ETOOBIG);
    struct hg_identity *id = NULL;
    x = craft_new(f, 14);
    craft_san1(x, GEN_DNS, big, HG_ID_STR_MAX - 1); /* the longest that fits */
    assert_int_equal(craft_read(f, x, &id), HG_OK);
    assert_int_equal(strlen(id->dns[0]), HG_ID_STR_MAX - 1);
    hg_identity_free(id);
}

static void cn_too_long(void **state)
{
    struct fx *f = *state;
    char big[300];
    memset(big, 'c', sizeof big);
    X509 *x = craft_new(f, 15);
    craft_cn(x, V_ASN1_UTF8STRING, big, (int)sizeof big);
    assert_int_equal(craft_read(f, x, NULL), HG_ETOOBIG);
    x = craft_new(f, 16);
    craft_cn(x, V_ASN1_PRINTABLESTRING, big, HG_ID_STR_MAX);
    assert_int_equal(craft_read(f, x, NULL), HG_ETOOBIG);
    struct hg_identity *id = NULL;
    x = craft_new(f, 17);
    craft_cn(x, V_ASN1_UTF8STRING, big, HG_ID_STR_MAX - 1);
    assert_int_equal(craft_read(f, x, &id), HG_OK);
    assert_int_equal(strlen(id->cn), HG_ID_STR_MAX - 1);
    hg_identity_free(id);
}

static void cn_bad_text(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *p;
        int n;
        int type;
    } bad[] = {
        {"tm\0s", 4, V_ASN1_UTF8STRING},           /* embedded NUL */
        {"tms\n", 4, V_ASN1_UTF8STRING},           /* control character */
        {"caf\xc3\xa9", 5, V_ASN1_PRINTABLESTRING},/* non-ASCII in PrintableString */
        {"tms", 3, V_ASN1_BIT_STRING},             /* not a directory string */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        X509 *x = craft_new(f, 20 + (long)i);
        craft_cn(x, bad[i].type, bad[i].p, bad[i].n);
        assert_int_equal(craft_read(f, x, NULL), HG_EPARSE);
    }
}

/* OpenSSL will not encode invalid UTF-8 in a name, so sign a placeholder CN
 * and patch its bytes in the DER. OpenSSL may refuse to parse the result
 * (it canonicalises names on decode); if it parses, identity must refuse. */
static void cn_invalid_utf8(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *p;
        int n;
    } bad[] = {
        {"\xc0\xaf", 2},            /* overlong '/' */
        {"\xed\xa0\x80", 3},        /* surrogate */
        {"\xf4\x90\x80\x80", 4},    /* above U+10FFFF */
        {"\xe2\x82", 2},            /* truncated sequence */
        {"\xff\xfe", 2},            /* never valid */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        X509 *x = craft_new(f, 40 + (long)i);
        char marker[4] = {'Q', 'Q', 'Q', 'Q'};
        craft_cn(x, V_ASN1_UTF8STRING, marker, bad[i].n);
        assert_true(X509_sign(x, f->key, EVP_sha256()) > 0);
        unsigned char *der = NULL;
        int n = i2d_X509(x, &der);
        X509_free(x);
        unsigned char tlv[6] = {V_ASN1_UTF8STRING, (unsigned char)bad[i].n, 'Q', 'Q', 'Q', 'Q'};
        int at = -1;
        for (int k = 0; k + 2 + bad[i].n <= n; k++)
            if (!memcmp(der + k, tlv, 2 + (size_t)bad[i].n))
                at = k;
        assert_true(at >= 0);
        memcpy(der + at + 2, bad[i].p, (size_t)bad[i].n);
        const unsigned char *p = der;
        x = d2i_X509(NULL, &p, n);
        OPENSSL_free(der);
        ERR_clear_error();
        if (!x)
            continue; /* refused by OpenSSL already */
        struct hg_identity *id = (struct hg_identity *)1;
        assert_int_equal(hg_identity_from_x509(x, &id), HG_EPARSE);
        assert_null(id);
        X509_free(x);
    }
}

static void cn_encodings(void **state)
{
    struct fx *f = *state;
    struct hg_identity *id = NULL;
    X509 *x = craft_new(f, 30);
    craft_cn(x, V_ASN1_UTF8STRING, "Z\xc3\xbcrich \xf0\x9f\x9a\x9a", 12);
    assert_int_equal(craft_read(f, x, &id), HG_OK);
    assert_string_equal(id->cn, "Z\xc3\xbcrich \xf0\x9f\x9a\x9a");
    hg_identity_free(id);
    x = craft_new(f, 31);
    craft_cn(x, V_ASN1_BMPSTRING, "\0t\0m\0s\0\xfc", 8);   /* UTF-16BE "tmsü" */
    assert_int_equal(craft_read(f, x, &id), HG_OK);
    assert_string_equal(id->cn, "tms\xc3\xbc");
    hg_identity_free(id);
    x = craft_new(f, 32);
    craft_cn(x, V_ASN1_BMPSTRING, "\0t\0\n", 4);              /* converted, then checked */
    assert_int_equal(craft_read(f, x, NULL), HG_EPARSE);
}

static void two_cns(void **state)
{
    struct fx *f = *state;
    X509 *x = craft_new(f, 33);
    craft_cn(x, V_ASN1_UTF8STRING, "tms", 3);
    craft_cn(x, V_ASN1_UTF8STRING, "operator", 8);
    assert_int_equal(craft_read(f, x, NULL), HG_EPARSE);
}

static void no_names(void **state)
{
    struct fx *f = *state;
    struct hg_identity *id = NULL;
    X509 *x = craft_new(f, 34);
    assert_int_equal(craft_read(f, x, &id), HG_OK);
    assert_string_equal(id->cn, "");
    assert_int_equal(id->nuris, 0);
    assert_int_equal(id->ndns, 0);
    assert_string_equal(id->serial, "22");
    assert_string_equal(id->issuer_cn, "crafted");
    hg_identity_free(id);
}

static void sans_bounded(void **state)
{
    struct fx *f = *state;
    enum { N = HG_ID_MAX_SANS + 4 };
    char names[N][32];
    const char *uris[N], *dns[N];
    int ulen[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "spiffe://d/%d", i);
        uris[i] = names[i];
        dns[i] = names[i] + 9;
        ulen[i] = -1;
    }
    /* entries beyond the bound are ignored, not inspected: a NUL there is fine */
    uris[N - 1] = "spiffe://late\0nul";
    ulen[N - 1] = 17;
    /* one extension, URIs and DNS names interleaved */
    struct hg_identity *id = NULL;
    X509 *x = craft_new(f, 35);
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    for (int i = 0; i < 2 * N; i++) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        const char *v = i % 2 ? dns[i / 2] : uris[i / 2];
        assert_int_equal(ASN1_STRING_set(s, v, i % 2 ? -1 : ulen[i / 2]), 1);
        GENERAL_NAME_set0_value(g, i % 2 ? GEN_DNS : GEN_URI, s);
        sk_GENERAL_NAME_push(gens, g);
    }
    assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0), 1);
    GENERAL_NAMES_free(gens);
    assert_int_equal(craft_read(f, x, &id), HG_OK);
    assert_int_equal(id->nuris, HG_ID_MAX_SANS);
    assert_int_equal(id->ndns, HG_ID_MAX_SANS);
    for (int i = 0; i < HG_ID_MAX_SANS; i++) {
        assert_string_equal(id->uris[i], names[i]);
        assert_string_equal(id->dns[i], names[i] + 9);
    }
    json_t *j = hg_identity_to_json(id);
    assert_int_equal(json_array_size(json_object_get(j, "san_uris")), HG_ID_MAX_SANS);
    json_decref(j);
    hg_identity_free(id);
}

static void duplicate_san_extension(void **state)
{
    struct fx *f = *state;
    X509 *x = craft_new(f, 36);
    craft_san1(x, GEN_URI, "spiffe://haulgate.dev/tms", -1);
    craft_san1(x, GEN_URI, "spiffe://haulgate.dev/operator", -1);
    assert_int_equal(X509_get_ext_count(x), 2);
    assert_int_equal(craft_read(f, x, NULL), HG_EPARSE);
}

static void broken_san_leaves_error_queue_clean(void **state)
{
    struct fx *f = *state;
    static const unsigned char junk[] = {0x30, 0x05, 0x86, 0x09, 'a', 'b', 'c'};
    X509 *x = craft_new(f, 37);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    assert_int_equal(ASN1_OCTET_STRING_set(os, junk, sizeof junk), 1);
    X509_EXTENSION *ex = X509_EXTENSION_create_by_NID(NULL, NID_subject_alt_name, 0, os);
    assert_non_null(ex);
    assert_int_equal(X509_add_ext(x, ex, -1), 1);
    X509_EXTENSION_free(ex);
    ASN1_OCTET_STRING_free(os);
    ERR_clear_error();
    assert_int_equal(craft_read(f, x, NULL), HG_EPARSE);
    assert_int_equal(ERR_peek_error(), 0);
}

static void serial_forms(void **state)
{
    struct fx *f = *state;
    char out[80];
    ASN1_INTEGER *ai = ASN1_INTEGER_new();
    assert_int_equal(ASN1_INTEGER_set(ai, 0), 1);
    assert_int_equal(hg_identity_serial_hex(ai, out, sizeof out), HG_OK);
    assert_string_equal(out, "00");
    assert_int_equal(ASN1_INTEGER_set(ai, -0x1a2b), 1);
    assert_int_equal(hg_identity_serial_hex(ai, out, sizeof out), HG_OK);
    assert_string_equal(out, "-1A2B");
    assert_int_equal(ASN1_INTEGER_set(ai, 0x0a), 1);
    assert_int_equal(hg_identity_serial_hex(ai, out, sizeof out), HG_OK);
    assert_string_equal(out, "0A");
    assert_int_equal(hg_identity_serial_hex(ai, out, 2), HG_ETOOBIG);
    ASN1_INTEGER_free(ai);
    /* 40 bytes do not fit the identity's 80-char field */
    unsigned char b[40];
    memset(b, 0x42, sizeof b);
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    X509 *x = craft_new(f, 1);
    assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
    BN_free(bn);
    assert_int_equal(craft_read(f, x, NULL), HG_ETOOBIG);
}

static void large_cert_thumbprint(void **state)
{
    struct fx *f = *state;
    enum { N = 120 };
    static char names[N][64];
    const char *dns[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "host-%03d.a-rather-long-domain-name.example", i);
        dns[i] = names[i];
    }
    X509 *x = craft_new(f, 38);
    craft_sans(x, GEN_DNS, dns, NULL, N);
    assert_true(X509_sign(x, f->key, EVP_sha256()) > 0);
    assert_true(i2d_X509(x, NULL) > 4096);   /* takes the heap path */
    char a[HG_THUMBPRINT_LEN + 1], b[HG_THUMBPRINT_LEN + 1];
    assert_int_equal(hg_identity_thumbprint(x, a), HG_OK);
    ref_thumbprint(x, b);
    assert_string_equal(a, b);
    struct hg_identity *id = NULL;
    assert_int_equal(hg_identity_from_x509(x, &id), HG_OK);
    assert_string_equal(id->thumbprint, b);
    assert_int_equal(id->ndns, HG_ID_MAX_SANS);
    hg_identity_free(id);
    X509_free(x);
}

static void der_roundtrip(void **state)
{
    struct fx *f = *state;
    unsigned char *der = NULL;
    int n = i2d_X509(f->tms, &der);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, n);
    OPENSSL_free(der);
    struct hg_identity *a = NULL, *b = NULL;
    assert_int_equal(hg_identity_from_x509(x, &a), HG_OK);
    assert_int_equal(hg_identity_from_x509(f->tms, &b), HG_OK);
    assert_string_equal(a->thumbprint, b->thumbprint);
    assert_string_equal(a->serial, b->serial);
    hg_identity_free(a);
    hg_identity_free(b);
    X509_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(client_identity),
        cmocka_unit_test(server_identity),
        cmocka_unit_test(thumbprint_standalone),
        cmocka_unit_test(json_shape),
        cmocka_unit_test(null_arguments),
        cmocka_unit_test(san_uri_embedded_nul),
        cmocka_unit_test(san_dns_embedded_nul),
        cmocka_unit_test(san_not_ia5),
        cmocka_unit_test(san_too_long),
        cmocka_unit_test(cn_too_long),
        cmocka_unit_test(cn_bad_text),
        cmocka_unit_test(cn_invalid_utf8),
        cmocka_unit_test(cn_encodings),
        cmocka_unit_test(two_cns),
        cmocka_unit_test(no_names),
        cmocka_unit_test(sans_bounded),
        cmocka_unit_test(duplicate_san_extension),
        cmocka_unit_test(broken_san_leaves_error_queue_clean),
        cmocka_unit_test(serial_forms),
        cmocka_unit_test(large_cert_thumbprint),
        cmocka_unit_test(der_roundtrip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
