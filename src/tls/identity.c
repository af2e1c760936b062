/* SPDX-License-Identifier: Apache-2.0
 *
 * identity.c — reads who a verified client certificate names: subject CN,
 * SAN URIs and DNS names, serial, validity and the x5t#S256 thumbprint. It
 * runs once per connection, so it costs one allocation (the struct and every
 * SAN string share one block) plus OpenSSL's own SAN decode, and hashes the
 * DER from a stack buffer. It never verifies and never trusts a name it has
 * not bounded and checked to be clean text: names feed policy decisions,
 * logs and headers, so an embedded NUL, a control character, invalid UTF-8
 * or a second CN makes the whole identity unusable rather than half-read.
 */
#include "tls/identity.h"

#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "crypto/hash.h"

/* Which characters a name may contain. Every kind excludes C0 controls and
 * DEL; SAN URIs and DNS names are IA5 (ASCII) and never contain a space. */
enum text_kind {
    TEXT_UTF8,      /* directory string after conversion to UTF-8 */
    TEXT_ASCII,     /* PrintableString, IA5String, VisibleString in a DN */
    TEXT_IA5_WORD,  /* SAN URI / DNS name */
};

/* DER of a typical certificate is 0.5–2 KiB; larger ones use the heap. */
#define DER_STACK_MAX 4096

/* Length of one strict UTF-8 sequence starting at p (no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned c = p[0], cp, min;
    size_t len;
    if ((c & 0xe0) == 0xc0) {
        len = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (avail < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[k] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static int text_ok(const unsigned char *p, size_t n, enum text_kind kind)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x20 || c == 0x7f || (c == ' ' && kind == TEXT_IA5_WORD))
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len = kind == TEXT_UTF8 ? utf8_seq(p + i, n - i) : 0;
        if (!len)
            return 0;
        i += len;
    }
    return 1;
}

/* Check a raw string and copy it NUL-terminated into out (cap bytes). */
static hg_status copy_checked(const unsigned char *p, size_t n, enum text_kind kind,
                              char *out, size_t cap)
{
    if (n >= cap)
        return HG_ETOOBIG;
    if (!text_ok(p, n, kind))
        return HG_EPARSE;
    memcpy(out, p, n);
    out[n] = '\0';
    return HG_OK;
}

/* A DN attribute value as UTF-8. The common string types are copied in
 * place; the rare wide ones (BMP, Universal, T61) go through OpenSSL's
 * converter, which allocates. */
static hg_status dirstring_utf8(const ASN1_STRING *s, char out[HG_ID_STR_MAX])
{
    const unsigned char *p = ASN1_STRING_get0_data(s);
    int n = ASN1_STRING_length(s);
    if (!p || n < 0)
        return HG_EPARSE;
    switch (ASN1_STRING_type(s)) {
    case V_ASN1_UTF8STRING:
        return copy_checked(p, (size_t)n, TEXT_UTF8, out, HG_ID_STR_MAX);
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_NUMERICSTRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_VISIBLESTRING:
        return copy_checked(p, (size_t)n, TEXT_ASCII, out, HG_ID_STR_MAX);
    case V_ASN1_BMPSTRING:
    case V_ASN1_UNIVERSALSTRING:
    case V_ASN1_T61STRING:
        break;
    default:
        return HG_EPARSE;
    }
    /* bound the conversion's work before doing it: 4 bytes per character
     * is the widest input encoding */
    if ((size_t)n >= 4u * HG_ID_STR_MAX)
        return HG_ETOOBIG;
    unsigned char *u = NULL;
    int un = ASN1_STRING_to_UTF8(&u, s);
    if (un < 0)
        return HG_EPARSE;
    hg_status rc = copy_checked(u, (size_t)un, TEXT_UTF8, out, HG_ID_STR_MAX);
    OPENSSL_free(u);
    return rc;
}

/* The one CN of a name ("" if none). Two CNs make the name ambiguous —
 * which one would policy match? — so they are refused. */
static hg_status name_cn(const X509_NAME *nm, char out[HG_ID_STR_MAX])
{
    out[0] = '\0';
    if (!nm)
        return HG_OK;
    int i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
    if (i < 0)
        return HG_OK;
    if (X509_NAME_get_index_by_NID(nm, NID_commonName, i) >= 0)
        return HG_EPARSE;
    const X509_NAME_ENTRY *e = X509_NAME_get_entry(nm, i);
    const ASN1_STRING *s = e ? X509_NAME_ENTRY_get_data(e) : NULL;
    return s ? dirstring_utf8(s, out) : HG_EPARSE;
}

/* The SANs that will be kept: at most HG_ID_MAX_SANS of each kind, each
 * checked, and the bytes they need once copied. */
struct san_scan {
    const ASN1_IA5STRING *uri[HG_ID_MAX_SANS];
    size_t nuri;
    const ASN1_IA5STRING *dns[HG_ID_MAX_SANS];
    size_t ndns;
    size_t bytes;
};

static hg_status san_check(const ASN1_IA5STRING *s)
{
    const unsigned char *p = ASN1_STRING_get0_data(s);
    int n = ASN1_STRING_length(s);
    if (!p || n <= 0)
        return HG_EPARSE;          /* RFC 5280 §4.2.1.6: never empty */
    if (n >= HG_ID_STR_MAX)
        return HG_ETOOBIG;
    return text_ok(p, (size_t)n, TEXT_IA5_WORD) ? HG_OK : HG_EPARSE;
}

static hg_status san_keep(const ASN1_IA5STRING **slot, size_t *count,
                          const ASN1_IA5STRING *s, size_t *bytes)
{
    if (*count >= HG_ID_MAX_SANS)
        return HG_OK;              /* beyond the bound: ignored, not read */
    hg_status rc = san_check(s);
    if (rc != HG_OK)
        return rc;
    slot[(*count)++] = s;
    *bytes += (size_t)ASN1_STRING_length(s) + 1;
    return HG_OK;
}

static hg_status san_scan(const GENERAL_NAMES *gens, struct san_scan *sc)
{
    int n = sk_GENERAL_NAME_num(gens);
    for (int i = 0; i < n; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        hg_status rc = HG_OK;
        if (g->type == GEN_URI)
            rc = san_keep(sc->uri, &sc->nuri, g->d.uniformResourceIdentifier, &sc->bytes);
        else if (g->type == GEN_DNS)
            rc = san_keep(sc->dns, &sc->ndns, g->d.dNSName, &sc->bytes);
        if (rc != HG_OK)
            return rc;
    }
    return HG_OK;
}

/* Decode the subjectAltName extension. No extension is fine (*out NULL);
 * two of them (crit == -2) or one that does not decode is malformed. */
static hg_status san_decode(X509 *cert, GENERAL_NAMES **out)
{
    int crit = -1;
    *out = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (*out)
        return HG_OK;
    return crit == -1 ? HG_OK : HG_EPARSE;
}

/* Copy the kept strings into the pool that follows the struct. */
static char *pool_put(char **pool, const ASN1_IA5STRING *s)
{
    size_t n = (size_t)ASN1_STRING_length(s);
    char *dst = *pool;
    memcpy(dst, ASN1_STRING_get0_data(s), n);
    dst[n] = '\0';
    *pool += n + 1;
    return dst;
}

/* ASN1_TIME → Unix seconds. ASN1_TIME_to_tm() treats a NULL time as "now",
 * which would silently turn a missing field into a valid-looking one, so a
 * NULL is refused here first. */
static hg_status asn1_unix(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return HG_EPARSE;
    int64_t days = hg_days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    *out = days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    return HG_OK;
}

hg_status hg_identity_serial_hex(const ASN1_INTEGER *sn, char *out, size_t cap)
{
    static const char hx[] = "0123456789ABCDEF";
    if (!sn || !cap)
        return HG_EINVAL;
    const unsigned char *p = ASN1_STRING_get0_data(sn);
    int n = ASN1_STRING_length(sn);
    int neg = ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER;
    if (n < 0 || (n > 0 && !p))
        return HG_EPARSE;
    size_t digits = n ? 2 * (size_t)n : 2;
    if ((size_t)neg + digits + 1 > cap)
        return HG_ETOOBIG;
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (!n) {
        out[o++] = '0';
        out[o++] = '0';
    }
    for (int i = 0; i < n; i++) {
        out[o++] = hx[p[i] >> 4];
        out[o++] = hx[p[i] & 15];
    }
    out[o] = '\0';
    return HG_OK;
}

hg_status hg_identity_thumbprint(X509 *cert, char out[HG_THUMBPRINT_LEN + 1])
{
    unsigned char stackbuf[DER_STACK_MAX];
    unsigned char *der = stackbuf, *heap = NULL;
    uint8_t md[HG_SHA256_LEN];
    if (!cert)
        return HG_EINVAL;
    int n = i2d_X509(cert, NULL);
    if (n <= 0)
        return HG_EPARSE;
    if ((size_t)n > sizeof stackbuf) {
        heap = malloc((size_t)n);
        if (!heap)
            return HG_ENOMEM;
        der = heap;
    }
    unsigned char *w = der;
    hg_status rc = HG_EPARSE;
    if (i2d_X509(cert, &w) == n) {
        hg_sha256(der, (size_t)n, md);
        rc = hg_b64url_encode(md, sizeof md, out, HG_THUMBPRINT_LEN + 1);
    }
    free(heap);
    return rc;
}

/* Everything that lives in the struct itself (no SAN strings). */
static hg_status fill_fixed(X509 *cert, struct hg_identity *id)
{
    hg_status rc = name_cn(X509_get_subject_name(cert), id->cn);
    if (rc == HG_OK)
        rc = name_cn(X509_get_issuer_name(cert), id->issuer_cn);
    if (rc == HG_OK)
        rc = hg_identity_serial_hex(X509_get0_serialNumber(cert), id->serial,
                                    sizeof id->serial);
    if (rc == HG_OK)
        rc = asn1_unix(X509_get0_notBefore(cert), &id->not_before);
    if (rc == HG_OK)
        rc = asn1_unix(X509_get0_notAfter(cert), &id->not_after);
    if (rc == HG_OK)
        rc = hg_identity_thumbprint(cert, id->thumbprint);
    return rc;
}

hg_status hg_identity_from_x509(X509 *cert, struct hg_identity **out)
{
    struct san_scan sc = {0};
    GENERAL_NAMES *gens = NULL;
    struct hg_identity *id = NULL;
    hg_status rc;

    if (!cert || !out)
        return HG_EINVAL;
    *out = NULL;
    /* Whatever OpenSSL queues while we decode is ours to drop: a stale error
     * left on this thread's queue would confuse the next SSL_get_error(). */
    ERR_set_mark();
    rc = san_decode(cert, &gens);
    if (rc == HG_OK && gens)
        rc = san_scan(gens, &sc);
    if (rc != HG_OK)
        goto out;
    id = calloc(1, sizeof *id + sc.bytes);
    if (!id) {
        rc = HG_ENOMEM;
        goto out;
    }
    char *pool = (char *)(id + 1);
    for (size_t i = 0; i < sc.nuri; i++)
        id->uris[i] = pool_put(&pool, sc.uri[i]);
    id->nuris = sc.nuri;
    for (size_t i = 0; i < sc.ndns; i++)
        id->dns[i] = pool_put(&pool, sc.dns[i]);
    id->ndns = sc.ndns;
    rc = fill_fixed(cert, id);
out:
    GENERAL_NAMES_free(gens);
    ERR_pop_to_mark();
    if (rc != HG_OK) {
        free(id);
        id = NULL;
    }
    *out = id;
    return rc;
}

/* Set key to a new value; the value is consumed even on failure. */
static int put(json_t *obj, const char *key, json_t *val)
{
    return val && json_object_set_new(obj, key, val) == 0;
}

static json_t *str_array(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *rfc3339(int64_t unix_s)
{
    char buf[HG_RFC3339_LEN + 1];
    hg_rfc3339(unix_s * 1000, buf);
    return json_string(buf);
}

void *hg_identity_to_json(const struct hg_identity *id)
{
    if (!id || id->nuris > HG_ID_MAX_SANS || id->ndns > HG_ID_MAX_SANS)
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    int ok = put(o, "subject_cn", json_string(id->cn)) &&
             put(o, "san_uris", str_array(id->uris, id->nuris)) &&
             put(o, "san_dns", str_array(id->dns, id->ndns)) &&
             put(o, "serial", json_string(id->serial)) &&
             put(o, "not_after", rfc3339(id->not_after)) &&
             put(o, "not_before", rfc3339(id->not_before)) &&
             put(o, "x5t#S256", json_string(id->thumbprint)) &&
             put(o, "issuer_cn", json_string(id->issuer_cn));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void hg_identity_free(struct hg_identity *id)
{
    free(id); /* the SAN strings live in the same block */
}
