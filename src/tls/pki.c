/* SPDX-License-Identifier: Apache-2.0
 *
 * pki.c — the development PKI: key generation, certificate and CRL signing
 * with OpenSSL 3, and the index that remembers issued and revoked serials.
 * The index is the source of truth for revocations: every CRL is rebuilt
 * from it, so a CRL can never forget an earlier revocation and a lost
 * crl.pem is one `haulctl pki crl` away. Keys only pass through secure-heap
 * memory BIOs and buffers that are cleansed before they are freed. It must
 * never shell out and never replace anything the caller did not ask it to.
 */
#include "tls/pki.h"

#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "crypto/hash.h"
#include "tls/identity.h"

#define FILE_MAX (4u << 20)        /* PEM files and the index; real ones are KiB */
#define BACKDATE_S 300             /* notBefore slack for hosts with skewed clocks */
#define ORG "haulgate development"
#define CA_CN "haulgate development CA"
#define INDEX_FILE "index.json"
#define INDEX_VERSION 1
#define FNAME_MAX (HG_PKI_NAME_MAX + 8)
#define SERIAL_HEX_MAX 78          /* 39 bytes: hg_identity's serial[80] */

/* ---- argument checks --------------------------------------------------- */

static int name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

hg_status hg_pki_name_check(const char *name, struct hg_err *err)
{
    static const char rule[] = "use 1 to 64 of A-Z a-z 0-9 . _ -, not starting with '.' or '-'";
    size_t n = name ? strnlen(name, HG_PKI_NAME_MAX + 1) : 0;
    if (n == 0 || n > HG_PKI_NAME_MAX)
        return hg_err_set(err, HG_EINVAL, "invalid certificate name: it has %s characters; %s",
                          n ? "more than 64" : "no", rule);
    for (size_t i = 0; i < n; i++)
        if (!name_char((unsigned char)name[i]))
            return hg_err_set(err, HG_EINVAL,
                              "invalid certificate name: character %zu (0x%02x) is not allowed; %s",
                              i + 1, (unsigned char)name[i], rule);
    if (name[0] == '.' || name[0] == '-')
        return hg_err_set(err, HG_EINVAL, "invalid certificate name '%s': %s", name, rule);
    if (!strcmp(name, "ca"))
        return hg_err_set(err, HG_EINVAL,
                          "invalid certificate name 'ca': it is the CA's own file name; choose another name");
    return HG_OK;
}

/* RFC 3986 characters; the rest (space, controls, "<>\^`{|}) never appear
 * unescaped in a URI. */
static int uri_char(int c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"<>\\^`{|}", c);
}

hg_status hg_pki_uri_check(const char *uri, struct hg_err *err)
{
    size_t n = uri ? strnlen(uri, HG_ID_STR_MAX) : 0;
    if (n == 0 || n >= HG_ID_STR_MAX)
        return hg_err_set(err, HG_EINVAL,
                          "invalid --uri: it must have 1 to %d characters; give e.g. %sNAME",
                          HG_ID_STR_MAX - 1, HG_PKI_URI_PREFIX);
    size_t i = 0;
    if (!((uri[0] >= 'a' && uri[0] <= 'z') || (uri[0] >= 'A' && uri[0] <= 'Z')))
        return hg_err_set(err, HG_EINVAL, "invalid --uri: it must start with a scheme such as "
                          "'spiffe:'; give e.g. %sNAME", HG_PKI_URI_PREFIX);
    while (i < n && (name_char((unsigned char)uri[i]) || uri[i] == '+') && uri[i] != '_')
        i++;
    if (i == n || uri[i] != ':' || i + 1 == n)
        return hg_err_set(err, HG_EINVAL, "invalid --uri: no 'scheme:' followed by a path; "
                          "give e.g. %sNAME", HG_PKI_URI_PREFIX);
    for (i = 0; i < n; i++)
        if (!uri_char((unsigned char)uri[i]))
            return hg_err_set(err, HG_EINVAL,
                              "invalid --uri: character %zu (0x%02x) is not allowed in a URI; "
                              "percent-encode it", i + 1, (unsigned char)uri[i]);
    return HG_OK;
}

/* A host name: dot-separated labels of letters, digits and inner hyphens,
 * 1..63 each, 253 in all; a leading "*." wildcard label is allowed. */
hg_status hg_pki_dns_check(const char *dns, struct hg_err *err)
{
    size_t n = dns ? strnlen(dns, 254) : 0;
    const char *p = dns;
    if (n == 0 || n > 253)
        goto bad;
    if (n > 2 && p[0] == '*' && p[1] == '.')
        p += 2;
    for (;;) {
        size_t len = 0;
        while (p[len] && p[len] != '.') {
            int c = (unsigned char)p[len];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '-'))
                goto bad;
            len++;
        }
        if (len == 0 || len > 63 || p[0] == '-' || p[len - 1] == '-')
            goto bad;
        if (!p[len])
            return HG_OK;
        p += len + 1;
    }
bad:
    return hg_err_set(err, HG_EINVAL,
                      "invalid DNS name: use labels of letters, digits and inner '-', "
                      "1-63 characters each, 253 in all (e.g. gw1.example.test)");
}

hg_status hg_pki_ip_check(const char *ip, struct hg_err *err)
{
    ASN1_OCTET_STRING *a = ip && strnlen(ip, 64) < 64 ? a2i_IPADDRESS(ip) : NULL;
    ERR_clear_error();
    if (!a)
        return hg_err_set(err, HG_EINVAL, "invalid IP address: give IPv4 (127.0.0.1) or "
                          "IPv6 (::1) text");
    ASN1_OCTET_STRING_free(a);
    return HG_OK;
}

static const struct {
    const char *name;
    enum hg_pki_reason code;
} reasons[] = {
    {"unspecified", HG_PKI_REASON_UNSPECIFIED},
    {"keyCompromise", HG_PKI_REASON_KEY_COMPROMISE},
    {"superseded", HG_PKI_REASON_SUPERSEDED},
    {"cessationOfOperation", HG_PKI_REASON_CESSATION},
};

hg_status hg_pki_reason_parse(const char *s, enum hg_pki_reason *out)
{
    for (size_t i = 0; s && i < sizeof reasons / sizeof reasons[0]; i++) {
        if (!strcmp(s, reasons[i].name)) {
            *out = reasons[i].code;
            return HG_OK;
        }
    }
    return HG_EINVAL;
}

const char *hg_pki_reason_name(enum hg_pki_reason r)
{
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].code == r)
            return reasons[i].name;
    return NULL;
}

/* ---- errors from OpenSSL and the OS ------------------------------------ */

/* "<what>: <OpenSSL's reason>; <todo>", and the OpenSSL queue emptied. */
static hg_status ssl_fail(struct hg_err *err, hg_status st, const char *todo,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static hg_status ssl_fail(struct hg_err *err, hg_status st, const char *todo,
                          const char *fmt, ...)
{
    char what[HG_ERR_MSG_MAX];
    unsigned long e = ERR_peek_last_error();
    const char *why = e ? ERR_reason_error_string(e) : NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    hg_err_set(err, st, "%s: %s; %s", what, why ? why : "OpenSSL gave no reason", todo);
    ERR_clear_error();
    return st;
}

/* Add a clause to a message already set (truncated if it does not fit). */
static void err_append(struct hg_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void err_append(struct hg_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    size_t len = strnlen(err->msg, sizeof err->msg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + len, sizeof err->msg - len, fmt, ap);
    va_end(ap);
}

static const char todo_crypto[] = "check that OpenSSL 3 is installed correctly and retry";

static hg_status sys_fail(struct hg_err *err, const char *what, const char *path, int e,
                          const char *todo)
{
    return hg_err_set(err, e == ENOENT ? HG_ENOTFOUND : HG_ESYS, "%s %s: %s; %s", what, path,
                      strerror(e), todo);
}

/* ---- files ------------------------------------------------------------- */

static hg_status path_of(char out[PATH_MAX], const char *dir, const char *file,
                         struct hg_err *err)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, file);
    if (n < 0 || n >= PATH_MAX)
        return hg_err_set(err, HG_EINVAL, "path too long: '%s/%s'; use a shorter directory",
                          dir, file);
    return HG_OK;
}

static void fname_of(char out[FNAME_MAX], const char *name, const char *ext)
{
    /* name is at most HG_PKI_NAME_MAX (checked), ext at most ".crt" */
    snprintf(out, FNAME_MAX, "%.64s%s", name, ext);
}

static int exists_in(const char *dir, const char *file)
{
    char path[PATH_MAX];
    struct stat st;
    return path_of(path, dir, file, NULL) == HG_OK && lstat(path, &st) == 0;
}

struct blob {
    unsigned char *p;
    size_t n;
    int secret;            /* cleanse before free */
};

static void blob_free(struct blob *b)
{
    if (b->p && b->secret)
        OPENSSL_cleanse(b->p, b->n);
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

static hg_status read_fd(int fd, const char *path, struct blob *b, struct hg_err *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return sys_fail(err, "cannot stat", path, errno, "check its permissions");
    if (!S_ISREG(st.st_mode))
        return hg_err_set(err, HG_EIO, "cannot read %s: not a regular file; replace it", path);
    if (b->secret && (st.st_mode & 077))
        return hg_err_set(err, HG_EPERM,
                          "refusing to use %s: it is readable by others (mode %04o); "
                          "run 'chmod 600 %s'", path, (unsigned)(st.st_mode & 07777), path);
    if ((uint64_t)st.st_size > FILE_MAX)
        return hg_err_set(err, HG_ETOOBIG, "cannot read %s: larger than %u bytes; "
                          "it is not a file this tool wrote", path, FILE_MAX);
    size_t want = (size_t)st.st_size;
    b->p = malloc(want + 1);
    if (!b->p)
        return hg_err_set(err, HG_ENOMEM, "cannot read %s: out of memory", path);
    while (b->n < want) {
        ssize_t r = read(fd, b->p + b->n, want - b->n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return hg_err_set(err, HG_EIO, "cannot read %s: %s; retry", path,
                              r < 0 ? strerror(errno) : "it shrank while being read");
        b->n += (size_t)r;
    }
    b->p[b->n] = '\0';
    return HG_OK;
}

/* Whole file into b (NUL-terminated). Secrets must not be group/other
 * readable: a key that leaked once is not worth signing with. */
static hg_status read_file(const char *path, int secret, struct blob *b, struct hg_err *err)
{
    b->p = NULL, b->n = 0, b->secret = secret;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sys_fail(err, "cannot open", path, errno, "check the path and its permissions");
    hg_status rc = read_fd(fd, path, b, err);
    close(fd);
    if (rc != HG_OK)
        blob_free(b);
    return rc;
}

/* Write dir/file atomically with `mode` (common/fs): a reader (haulgated on
 * SIGHUP) sees the old file or the new one, never a mix. */
static hg_status write_atomic(const char *dir, const char *file, const void *p, size_t n,
                              mode_t mode, struct hg_err *err)
{
    char path[PATH_MAX];
    hg_status rc = path_of(path, dir, file, err);
    return rc != HG_OK ? rc : hg_fs_write_atomic(path, p, n, mode, err);
}

/* One haulctl at a time per PKI: two concurrent issues would each rewrite
 * the index from what they read and lose the other's entry. */
static hg_status lock_dir(const char *dir, int *fd_out, struct hg_err *err)
{
    char path[PATH_MAX];
    hg_status rc = path_of(path, dir, ".lock", err);
    if (rc != HG_OK)
        return rc;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return sys_fail(err, "cannot open lock file", path, errno,
                        "check the directory's permissions");
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return hg_err_set(err, HG_EBUSY, "%s is locked by another 'haulctl pki' run; "
                              "wait for it to finish and retry", dir);
        return sys_fail(err, "cannot lock", path, e, "retry");
    }
    *fd_out = fd;
    return HG_OK;
}

/* ---- PEM in and out ----------------------------------------------------- */

static hg_status bio_to_file(BIO *b, const char *dir, const char *file, mode_t mode,
                             struct hg_err *err)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    if (n <= 0 || !p)
        return ssl_fail(err, HG_ECRYPTO, todo_crypto, "encoding %s/%s failed", dir, file);
    return write_atomic(dir, file, p, (size_t)n, mode, err);
}

static hg_status write_key(const char *dir, const char *file, EVP_PKEY *key,
                           struct hg_err *err)
{
    /* a secure-heap BIO: OpenSSL cleanses it when it grows and when freed */
    BIO *b = BIO_new(BIO_s_secmem());
    hg_status rc;
    if (!b || PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1)
        rc = ssl_fail(err, HG_ECRYPTO, todo_crypto, "encoding %s/%s failed", dir, file);
    else
        rc = bio_to_file(b, dir, file, 0600, err);
    BIO_free(b);
    return rc;
}

static hg_status write_cert(const char *dir, const char *file, X509 *x, struct hg_err *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    hg_status rc;
    if (!b || PEM_write_bio_X509(b, x) != 1)
        rc = ssl_fail(err, HG_ECRYPTO, todo_crypto, "encoding %s/%s failed", dir, file);
    else
        rc = bio_to_file(b, dir, file, 0644, err);
    BIO_free(b);
    return rc;
}

static hg_status write_crl(const char *dir, X509_CRL *crl, struct hg_err *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    hg_status rc;
    if (!b || PEM_write_bio_X509_CRL(b, crl) != 1)
        rc = ssl_fail(err, HG_ECRYPTO, todo_crypto, "encoding %s/crl.pem failed", dir);
    else
        rc = bio_to_file(b, dir, "crl.pem", 0644, err);
    BIO_free(b);
    return rc;
}

static hg_status load_x509(const char *path, X509 **out, struct hg_err *err)
{
    struct blob b;
    hg_status rc = read_file(path, 0, &b, err);
    if (rc != HG_OK)
        return rc;
    BIO *bio = BIO_new_mem_buf(b.p, (int)b.n);
    *out = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    if (!*out)
        rc = ssl_fail(err, HG_EPARSE, "restore it or re-create the PKI",
                      "%s is not a PEM certificate", path);
    BIO_free(bio);
    blob_free(&b);
    return rc;
}

/* Encrypted keys are not part of this tool's format; never prompt. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

static hg_status load_key(const char *path, EVP_PKEY **out, struct hg_err *err)
{
    struct blob b;
    hg_status rc = read_file(path, 1, &b, err);
    if (rc != HG_OK)
        return rc;
    BIO *bio = BIO_new_mem_buf(b.p, (int)b.n);
    *out = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    if (!*out)
        rc = ssl_fail(err, HG_EPARSE, "restore it or re-create the PKI",
                      "%s is not an unencrypted PEM private key", path);
    BIO_free(bio);
    blob_free(&b);
    return rc;
}

/* ---- the CA ------------------------------------------------------------- */

struct ca {
    X509 *cert;
    EVP_PKEY *key;
};

static void ca_cleanup(struct ca *ca)
{
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key); /* OpenSSL clears the private scalar */
    ca->cert = NULL;
    ca->key = NULL;
}

static hg_status ca_load(const char *dir, struct ca *ca, struct hg_err *err)
{
    char path[PATH_MAX];
    hg_status rc = path_of(path, dir, "ca.crt", err);
    if (rc == HG_OK)
        rc = load_x509(path, &ca->cert, err);
    if (rc == HG_OK)
        rc = path_of(path, dir, "ca.key", err);
    if (rc == HG_OK)
        rc = load_key(path, &ca->key, err);
    if (rc == HG_OK && X509_check_private_key(ca->cert, ca->key) != 1) {
        ERR_clear_error();
        rc = hg_err_set(err, HG_ECORRUPT, "%s/ca.key does not belong to %s/ca.crt; restore "
                        "the pair or re-create the PKI with 'haulctl pki init %s --force'",
                        dir, dir, dir);
    }
    return rc;
}

/* ---- certificates ------------------------------------------------------- */

struct ext_row {
    int nid;
    const char *value;   /* OpenSSL config syntax; constant, never user input */
};

static const struct ext_row ca_exts[] = {
    {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
    {NID_key_usage, "critical,keyCertSign,cRLSign"},
    {NID_subject_key_identifier, "hash"},
};
static const struct ext_row server_exts[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature"},
    {NID_ext_key_usage, "serverAuth"},
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
};
static const struct ext_row client_exts[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature"},
    {NID_ext_key_usage, "clientAuth"},
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
};

#define ROWS(a) (a), (sizeof(a) / sizeof((a)[0]))

/* What one end-entity certificate says. SAN values are user input and are
 * therefore built as GENERAL_NAMEs, never pasted into a config string. */
struct leaf {
    const char *name;            /* file stem and index key */
    const char *cn;
    const char *uri;             /* NULL: none */
    const char *const *dns;
    size_t ndns;
    const char *const *ips;
    size_t nips;
    int days;
    int server;
};

static hg_status keygen(EVP_PKEY **out, struct hg_err *err)
{
    *out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!*out)
        return ssl_fail(err, HG_ECRYPTO, todo_crypto, "generating an EC P-256 key failed");
    return HG_OK;
}

/* 16 random bytes with the top bit cleared (positive, RFC 5280's 20
 * octets at most) and the next one set, so the serial always has all 16
 * bytes (a leading zero byte would make it shorter, and its hex length
 * would vary); 126 random bits stay, unguessable. */
static hg_status set_serial(X509 *x, struct hg_err *err)
{
    unsigned char b[16];
    BIGNUM *bn = NULL;
    do {
        if (hg_random(b, sizeof b) != HG_OK)
            return ssl_fail(err, HG_ECRYPTO, todo_crypto, "drawing a serial number failed");
        b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
        BN_free(bn);
        bn = BN_bin2bn(b, sizeof b, NULL);
    } while (bn && BN_is_zero(bn));
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? HG_OK : ssl_fail(err, HG_ECRYPTO, todo_crypto, "setting a serial number failed");
}

static hg_status set_subject(X509 *x, const char *cn, struct hg_err *err)
{
    X509_NAME *nm = X509_get_subject_name(x);
    const unsigned char *o = (const unsigned char *)ORG, *c = (const unsigned char *)cn;
    if (!X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8, o, -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, c, -1, -1, 0))
        return ssl_fail(err, HG_ECRYPTO, todo_crypto, "setting subject CN '%s' failed", cn);
    return HG_OK;
}

/* notBefore a little in the past and notAfter exactly `days` after it (so
 * the period, which clients limit, is `days`), but never after the
 * issuer's own notAfter: a leaf cannot outlive its CA. */
static hg_status set_validity(X509 *x, const X509 *issuer, int days, time_t now,
                              struct hg_err *err)
{
    if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, -BACKDATE_S, &now) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), days, -BACKDATE_S, &now))
        return ssl_fail(err, HG_ECRYPTO, todo_crypto, "setting the validity period failed");
    if (issuer && ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(issuer)) > 0 &&
        !X509_set1_notAfter(x, X509_get0_notAfter(issuer)))
        return ssl_fail(err, HG_ECRYPTO, todo_crypto, "capping the validity period failed");
    return HG_OK;
}

static hg_status add_exts(X509 *x, X509 *issuer, const struct ext_row *rows, size_t n,
                          struct hg_err *err)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    X509V3_set_ctx_nodb(&ctx);
    for (size_t i = 0; i < n; i++) {
        X509_EXTENSION *ex = X509V3_EXT_nconf_nid(NULL, &ctx, rows[i].nid, rows[i].value);
        int ok = ex && X509_add_ext(x, ex, -1);
        X509_EXTENSION_free(ex);
        if (!ok)
            return ssl_fail(err, HG_ECRYPTO, todo_crypto, "adding extension %s failed",
                            OBJ_nid2sn(rows[i].nid));
    }
    return HG_OK;
}

static int san_push(GENERAL_NAMES *gens, int type, const char *v)
{
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_STRING *s = NULL;
    if (!g)
        return 0;
    if (type == GEN_IPADD) {
        s = a2i_IPADDRESS(v);
    } else if ((s = ASN1_IA5STRING_new()) && !ASN1_STRING_set(s, v, -1)) {
        ASN1_STRING_free(s);
        s = NULL;
    }
    if (!s) {
        GENERAL_NAME_free(g);
        return 0;
    }
    GENERAL_NAME_set0_value(g, type, s);
    if (!sk_GENERAL_NAME_push(gens, g)) {
        GENERAL_NAME_free(g);
        return 0;
    }
    return 1;
}

static hg_status add_san(X509 *x, const struct leaf *l, struct hg_err *err)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    int ok = gens != NULL;
    for (size_t i = 0; ok && i < l->ndns; i++)
        ok = san_push(gens, GEN_DNS, l->dns[i]);
    for (size_t i = 0; ok && i < l->nips; i++)
        ok = san_push(gens, GEN_IPADD, l->ips[i]);
    if (ok && l->uri)
        ok = san_push(gens, GEN_URI, l->uri);
    if (ok && sk_GENERAL_NAME_num(gens) > 0)
        ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1;
    GENERAL_NAMES_free(gens);
    if (!ok)
        return ssl_fail(err, HG_ECRYPTO, todo_crypto, "adding subjectAltName to '%s' failed",
                        l->name);
    return HG_OK;
}

/* Fields every certificate shares. issuer NULL: self-signed. */
static hg_status cert_base(X509 *x, const X509 *issuer, const char *cn, EVP_PKEY *pub,
                           int days, time_t now, struct hg_err *err)
{
    hg_status rc = HG_OK;
    if (!X509_set_version(x, X509_VERSION_3) || !X509_set_pubkey(x, pub))
        return ssl_fail(err, HG_ECRYPTO, todo_crypto, "preparing certificate '%s' failed", cn);
    rc = set_serial(x, err);
    if (rc == HG_OK)
        rc = set_subject(x, cn, err);
    if (rc == HG_OK &&
        !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(x)))
        rc = ssl_fail(err, HG_ECRYPTO, todo_crypto, "setting the issuer of '%s' failed", cn);
    if (rc == HG_OK)
        rc = set_validity(x, issuer, days, now, err);
    return rc;
}

static hg_status sign(X509 *x, EVP_PKEY *key, const char *what, struct hg_err *err)
{
    if (X509_sign(x, key, EVP_sha256()) <= 0)
        return ssl_fail(err, HG_ECRYPTO, todo_crypto, "signing %s failed", what);
    return HG_OK;
}

static hg_status ca_make(struct ca *ca, time_t now, struct hg_err *err)
{
    hg_status rc = keygen(&ca->key, err);
    if (rc != HG_OK)
        return rc;
    if (!(ca->cert = X509_new()))
        return ssl_fail(err, HG_ENOMEM, todo_crypto, "creating the CA certificate failed");
    rc = cert_base(ca->cert, NULL, CA_CN, ca->key, HG_PKI_CA_DAYS, now, err);
    if (rc == HG_OK)
        rc = add_exts(ca->cert, NULL, ROWS(ca_exts), err);
    if (rc == HG_OK)
        rc = sign(ca->cert, ca->key, "the CA certificate", err);
    return rc;
}

static hg_status leaf_make(const struct ca *ca, const struct leaf *l, time_t now, X509 **xo,
                           EVP_PKEY **ko, struct hg_err *err)
{
    hg_status rc = keygen(ko, err);
    if (rc != HG_OK)
        return rc;
    if (!(*xo = X509_new()))
        return ssl_fail(err, HG_ENOMEM, todo_crypto, "creating certificate '%s' failed", l->name);
    rc = cert_base(*xo, ca->cert, l->cn, *ko, l->days, now, err);
    if (rc == HG_OK && l->server)
        rc = add_exts(*xo, ca->cert, ROWS(server_exts), err);
    else if (rc == HG_OK)
        rc = add_exts(*xo, ca->cert, ROWS(client_exts), err);
    if (rc == HG_OK)
        rc = add_san(*xo, l, err);
    if (rc == HG_OK)
        rc = sign(*xo, ca->key, l->name, err);
    return rc;
}

/* ---- the index ----------------------------------------------------------- */

static json_t *index_new(void)
{
    return json_pack("{s:i, s:I, s:{}, s:[]}", "version", INDEX_VERSION, "crl_number",
                     (json_int_t)0, "certs", "revocations");
}

static int serial_ok(const char *s)
{
    size_t n = s ? strnlen(s, SERIAL_HEX_MAX + 1) : 0;
    if (n < 2 || n > SERIAL_HEX_MAX || n % 2)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
            return 0;
    return 1;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (hg_rfc3339's form) → ASN1_TIME, or NULL. */
static ASN1_TIME *time_from_rfc3339(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    char g[16];
    size_t o = 0;
    if (!s || strlen(s) != sizeof shape - 1)
        return NULL;
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd' && (s[i] < '0' || s[i] > '9'))
            return NULL;
        if (shape[i] != 'd' && s[i] != shape[i])
            return NULL;
        if (shape[i] == 'd' && i < 19)
            g[o++] = s[i];
    }
    g[o++] = 'Z';
    g[o] = '\0';
    ASN1_TIME *t = ASN1_TIME_new();
    if (t && !ASN1_TIME_set_string_X509(t, g)) {
        ASN1_TIME_free(t);
        t = NULL;
    }
    return t;
}

static int str_is(json_t *o, const char *key, int (*ok)(const char *))
{
    const char *v = json_string_value(json_object_get(o, key));
    return v && (!ok || ok(v));
}

static int reason_ok(const char *s)
{
    enum hg_pki_reason r;
    return hg_pki_reason_parse(s, &r) == HG_OK;
}

static int time_ok(const char *s)
{
    ASN1_TIME *t = time_from_rfc3339(s);
    ASN1_TIME_free(t);
    return t != NULL;
}

static int cert_entry_ok(const char *name, json_t *e)
{
    const char *kind = json_string_value(json_object_get(e, "kind"));
    return hg_pki_name_check(name, NULL) == HG_OK && json_is_object(e) &&
           str_is(e, "serial", serial_ok) && json_is_boolean(json_object_get(e, "revoked")) &&
           kind && (!strcmp(kind, "client") || !strcmp(kind, "server"));
}

static int revocation_ok(json_t *r)
{
    return json_is_object(r) && str_is(r, "serial", serial_ok) &&
           str_is(r, "revoked_at", time_ok) && str_is(r, "reason", reason_ok) &&
           str_is(r, "name", NULL);
}

/* Shape check once at load, so the rest can trust the index's types. */
static hg_status index_check(json_t *idx, const char *path, struct hg_err *err)
{
    json_t *certs = json_object_get(idx, "certs");
    json_t *revs = json_object_get(idx, "revocations");
    json_t *num = json_object_get(idx, "crl_number");
    const char *key;
    json_t *val;
    size_t i;
    if (json_integer_value(json_object_get(idx, "version")) != INDEX_VERSION ||
        !json_is_integer(num) || json_integer_value(num) < 0 ||
        json_integer_value(num) >= INT64_MAX || !json_is_object(certs) ||
        !json_is_array(revs))
        return hg_err_set(err, HG_ECORRUPT, "%s is not a version %d index (needs version, "
                          "crl_number, certs, revocations); restore it or re-create the PKI "
                          "with --force", path, INDEX_VERSION);
    json_object_foreach(certs, key, val)
        if (!cert_entry_ok(key, val))
            return hg_err_set(err, HG_ECORRUPT, "%s: entry '%.64s' is malformed (needs a valid "
                              "name, hex serial, kind, revoked); fix or remove it", path, key);
    json_array_foreach(revs, i, val)
        if (!revocation_ok(val))
            return hg_err_set(err, HG_ECORRUPT, "%s: revocation #%zu is malformed (needs "
                              "serial, name, revoked_at, reason); fix or remove it", path, i + 1);
    return HG_OK;
}

static hg_status index_load(const char *dir, json_t **out, struct hg_err *err)
{
    char path[PATH_MAX];
    struct blob b;
    json_error_t je;
    hg_status rc = path_of(path, dir, INDEX_FILE, err);
    if (rc == HG_OK)
        rc = read_file(path, 0, &b, err);
    if (rc == HG_ENOTFOUND)
        return hg_err_set(err, HG_ECORRUPT, "%s is missing, so issued and revoked serials are "
                          "unknown; restore it or re-create the PKI with 'haulctl pki init %s "
                          "--force'", path, dir);
    if (rc != HG_OK)
        return rc;
    *out = json_loadb((const char *)b.p, b.n, JSON_REJECT_DUPLICATES, &je);
    blob_free(&b);
    if (!*out)
        return hg_err_set(err, HG_ECORRUPT, "%s line %d: %s; fix it or re-create the PKI with "
                          "--force", path, je.line, je.text);
    rc = index_check(*out, path, err);
    if (rc != HG_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static hg_status index_save(const char *dir, json_t *idx, struct hg_err *err)
{
    char *text = json_dumps(idx, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text)
        return hg_err_set(err, HG_ENOMEM, "encoding %s/%s failed: out of memory", dir,
                          INDEX_FILE);
    size_t n = strlen(text);
    text[n] = '\n'; /* replaces the NUL; json_dumps leaves no trailing newline */
    hg_status rc = write_atomic(dir, INDEX_FILE, text, n + 1, 0644, err);
    free(text);
    return rc;
}

static json_t *rfc3339_json(int64_t unix_s)
{
    char buf[HG_RFC3339_LEN + 1];
    hg_rfc3339(unix_s * 1000, buf);
    return json_string(buf);
}

/* Record a fresh certificate under its name (replacing any old entry). */
static hg_status index_put(json_t *idx, const struct leaf *l, X509 *x, struct hg_err *err)
{
    struct hg_identity *id = NULL;
    hg_status rc = hg_identity_from_x509(x, &id);
    if (rc != HG_OK)
        return hg_err_set(err, rc, "reading back certificate '%s' failed: %s; retry", l->name,
                          hg_status_str(rc));
    json_t *e = json_pack("{s:s, s:s?, s:s, s:o, s:b}", "serial", id->serial, "uri", l->uri,
                          "kind", l->server ? "server" : "client", "not_after",
                          rfc3339_json(id->not_after), "revoked", 0);
    hg_identity_free(id);
    if (!e || json_object_set_new(json_object_get(idx, "certs"), l->name, e) != 0)
        return hg_err_set(err, HG_ENOMEM, "recording '%s' in the index failed: out of memory",
                          l->name);
    return HG_OK;
}

/* Mark NAME's entry revoked and append to the revocation list. */
static hg_status index_revoke(json_t *idx, const char *name, json_t *entry,
                              enum hg_pki_reason reason, time_t now, struct hg_err *err)
{
    json_t *at = rfc3339_json((int64_t)now);
    const char *serial = json_string_value(json_object_get(entry, "serial"));
    json_t *r = json_pack("{s:s, s:s, s:O, s:s}", "serial", serial, "name", name,
                          "revoked_at", at, "reason", hg_pki_reason_name(reason));
    int ok = r && json_array_append_new(json_object_get(idx, "revocations"), r) == 0 &&
             json_object_set_new(entry, "revoked", json_true()) == 0 &&
             json_object_set(entry, "revoked_at", at) == 0 &&
             json_object_set_new(entry, "reason", json_string(hg_pki_reason_name(reason))) == 0;
    json_decref(at);
    if (!ok)
        return hg_err_set(err, HG_ENOMEM, "recording the revocation of '%s' failed: out of "
                          "memory", name);
    return HG_OK;
}

/* ---- the CRL -------------------------------------------------------------- */

static hg_status crl_add(X509_CRL *crl, json_t *rev, struct hg_err *err)
{
    enum hg_pki_reason reason = HG_PKI_REASON_UNSPECIFIED;
    BIGNUM *bn = NULL;
    ASN1_INTEGER *sn = NULL;
    ASN1_TIME *at = time_from_rfc3339(json_string_value(json_object_get(rev, "revoked_at")));
    ASN1_ENUMERATED *code = NULL;
    X509_REVOKED *r = X509_REVOKED_new();
    const char *hex = json_string_value(json_object_get(rev, "serial"));
    hg_pki_reason_parse(json_string_value(json_object_get(rev, "reason")), &reason);
    int ok = r && at && BN_hex2bn(&bn, hex) && (sn = BN_to_ASN1_INTEGER(bn, NULL)) &&
             X509_REVOKED_set_serialNumber(r, sn) && X509_REVOKED_set_revocationDate(r, at);
    /* RFC 5280 §5.3.1: reasonCode "unspecified" SHOULD be absent */
    if (ok && reason != HG_PKI_REASON_UNSPECIFIED)
        ok = (code = ASN1_ENUMERATED_new()) && ASN1_ENUMERATED_set(code, reason) &&
             X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, code, 0, 0) == 1;
    if (ok)
        ok = X509_CRL_add0_revoked(crl, r);
    if (!ok)
        X509_REVOKED_free(r);
    ASN1_ENUMERATED_free(code);
    ASN1_INTEGER_free(sn);
    ASN1_TIME_free(at);
    BN_free(bn);
    if (!ok)
        return ssl_fail(err, HG_ECRYPTO, todo_crypto, "adding serial %s to the CRL failed", hex);
    return HG_OK;
}

static hg_status crl_exts(X509_CRL *crl, const struct ca *ca, int64_t number,
                          struct hg_err *err)
{
    X509V3_CTX ctx;
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    X509V3_set_ctx(&ctx, ca->cert, NULL, NULL, crl, 0);
    X509V3_set_ctx_nodb(&ctx);
    X509_EXTENSION *aki = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier,
                                               "keyid:always");
    int ok = num && aki && ASN1_INTEGER_set_int64(num, number) &&
             X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) == 1 &&
             X509_CRL_add_ext(crl, aki, -1);
    X509_EXTENSION_free(aki);
    ASN1_INTEGER_free(num);
    if (!ok)
        return ssl_fail(err, HG_ECRYPTO, todo_crypto, "adding CRL extensions failed");
    return HG_OK;
}

/* A v2 CRL with every revocation in the index, number `number`, valid from
 * now for HG_PKI_CRL_DAYS. */
static hg_status crl_build(const struct ca *ca, json_t *idx, int64_t number, time_t now,
                           X509_CRL **out, struct hg_err *err)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *last = ASN1_TIME_set(NULL, now);
    ASN1_TIME *next = ASN1_TIME_adj(NULL, now, HG_PKI_CRL_DAYS, 0);
    hg_status rc = HG_OK;
    json_t *rev;
    size_t i;
    if (!crl || !last || !next || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
        !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) ||
        !X509_CRL_set1_lastUpdate(crl, last) || !X509_CRL_set1_nextUpdate(crl, next))
        rc = ssl_fail(err, HG_ECRYPTO, todo_crypto, "preparing the CRL failed");
    json_array_foreach(json_object_get(idx, "revocations"), i, rev)
        if (rc == HG_OK)
            rc = crl_add(crl, rev, err);
    if (rc == HG_OK)
        rc = crl_exts(crl, ca, number, err);
    if (rc == HG_OK && (!X509_CRL_sort(crl) || X509_CRL_sign(crl, ca->key, EVP_sha256()) <= 0))
        rc = ssl_fail(err, HG_ECRYPTO, todo_crypto, "signing the CRL failed");
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    if (rc != HG_OK) {
        X509_CRL_free(crl);
        crl = NULL;
    }
    *out = crl;
    return rc;
}

/* Next CRL number, new crl.pem. The index is saved first: if the CRL write
 * then fails, the revocation is still on record and `pki crl` rebuilds it. */
static hg_status crl_update(const char *dir, const struct ca *ca, json_t *idx, time_t now,
                            struct hg_pki_crl_info *info, struct hg_err *err)
{
    X509_CRL *crl = NULL;
    int64_t number = (int64_t)json_integer_value(json_object_get(idx, "crl_number")) + 1;
    hg_status rc = crl_build(ca, idx, number, now, &crl, err);
    if (rc == HG_OK && json_object_set_new(idx, "crl_number", json_integer(number)) != 0)
        rc = hg_err_set(err, HG_ENOMEM, "updating the CRL number failed: out of memory");
    if (rc == HG_OK)
        rc = index_save(dir, idx, err);
    if (rc == HG_OK) {
        rc = write_crl(dir, crl, err);
        if (rc != HG_OK)
            err_append(err, " (the index is up to date: 'haulctl pki crl %s' rebuilds crl.pem)",
                       dir);
    }
    if (rc == HG_OK && info) {
        info->crl_number = number;
        info->next_update = (int64_t)now + (int64_t)HG_PKI_CRL_DAYS * 86400;
    }
    X509_CRL_free(crl);
    return rc;
}

/* ---- operations ------------------------------------------------------------ */

/* An open PKI: locked, CA loaded, index loaded. */
struct pki {
    const char *dir;
    int lockfd;
    struct ca ca;
    json_t *idx;
    time_t now;
};

static void pki_close(struct pki *p)
{
    ca_cleanup(&p->ca);
    json_decref(p->idx);
    p->idx = NULL;
    if (p->lockfd >= 0)
        close(p->lockfd);
    p->lockfd = -1;
}

static hg_status pki_open(struct pki *p, const char *dir, struct hg_err *err)
{
    memset(p, 0, sizeof *p);
    p->dir = dir;
    p->lockfd = -1;
    p->now = time(NULL);
    if (!dir || !*dir)
        return hg_err_set(err, HG_EINVAL, "no PKI directory given; pass DIR");
    if (!exists_in(dir, "ca.crt"))
        return hg_err_set(err, HG_ENOTFOUND, "no PKI in %s: ca.crt not found; run 'haulctl "
                          "pki init %s' first", dir, dir);
    hg_status rc = lock_dir(dir, &p->lockfd, err);
    if (rc == HG_OK)
        rc = ca_load(dir, &p->ca, err);
    if (rc == HG_OK)
        rc = index_load(dir, &p->idx, err);
    return rc;
}

/* Make, write and index one end-entity certificate. */
static hg_status leaf_issue(struct pki *p, const struct leaf *l, struct hg_err *err)
{
    char fkey[FNAME_MAX], fcrt[FNAME_MAX];
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    fname_of(fkey, l->name, ".key");
    fname_of(fcrt, l->name, ".crt");
    hg_status rc = leaf_make(&p->ca, l, p->now, &x, &k, err);
    if (rc == HG_OK)
        rc = write_key(p->dir, fkey, k, err);
    if (rc == HG_OK)
        rc = write_cert(p->dir, fcrt, x, err);
    if (rc == HG_OK)
        rc = index_put(p->idx, l, x, err);
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

static const char *const server_dns[] = {"localhost"};
static const char *const server_ips[] = {"127.0.0.1", "::1"};
static const char *const default_clients[] = {"tms", "operator", "provider-sim"};

static hg_status init_leaves(struct pki *p, struct hg_err *err)
{
    char uri[sizeof HG_PKI_URI_PREFIX + HG_PKI_NAME_MAX];
    struct leaf srv = {.name = "server", .cn = "localhost", .dns = server_dns, .ndns = 1,
                       .ips = server_ips, .nips = 2, .days = HG_PKI_DAYS_MAX, .server = 1};
    hg_status rc = leaf_issue(p, &srv, err);
    for (size_t i = 0; rc == HG_OK && i < sizeof default_clients / sizeof *default_clients; i++) {
        const char *n = default_clients[i];
        snprintf(uri, sizeof uri, "%s%s", HG_PKI_URI_PREFIX, n);
        struct leaf cl = {.name = n, .cn = n, .uri = uri, .days = HG_PKI_DAYS_DEFAULT};
        rc = leaf_issue(p, &cl, err);
    }
    return rc;
}

static int pki_present(const char *dir)
{
    return exists_in(dir, "ca.crt") || exists_in(dir, "ca.key") || exists_in(dir, INDEX_FILE);
}

/* init --force: certificates of the old PKI no longer verify; drop the
 * files its index lists so nothing stale looks usable. Best effort: a
 * damaged old index just means nothing extra is removed. */
static void purge_old(const char *dir)
{
    json_t *old = NULL;
    const char *name;
    json_t *val;
    if (index_load(dir, &old, NULL) != HG_OK)
        return;
    json_object_foreach(json_object_get(old, "certs"), name, val) {
        char f[FNAME_MAX], path[PATH_MAX];
        fname_of(f, name, ".key");
        if (path_of(path, dir, f, NULL) == HG_OK)
            unlink(path);
        fname_of(f, name, ".crt");
        if (path_of(path, dir, f, NULL) == HG_OK)
            unlink(path);
    }
    json_decref(old);
}

hg_status hg_pki_init(const char *dir, int force, struct hg_err *err)
{
    struct pki p = {.dir = dir, .lockfd = -1, .now = time(NULL)};
    hg_status rc;
    if (!dir || !*dir)
        return hg_err_set(err, HG_EINVAL, "no PKI directory given; pass DIR");
    rc = hg_fs_mkdir_private(dir, NULL, err);
    if (rc == HG_OK)
        rc = lock_dir(dir, &p.lockfd, err);
    if (rc != HG_OK)
        goto out;
    if (pki_present(dir)) {
        if (!force) {
            rc = hg_err_set(err, HG_EEXIST, "%s already holds a PKI (ca.crt, ca.key or %s); "
                            "pass --force to replace it, which invalidates every certificate "
                            "it issued", dir, INDEX_FILE);
            goto out;
        }
        purge_old(dir);
    }
    rc = ca_make(&p.ca, p.now, err);
    if (rc == HG_OK)
        rc = write_key(dir, "ca.key", p.ca.key, err);
    if (rc == HG_OK)
        rc = write_cert(dir, "ca.crt", p.ca.cert, err);
    if (rc == HG_OK && !(p.idx = index_new()))
        rc = hg_err_set(err, HG_ENOMEM, "creating the index failed: out of memory");
    if (rc == HG_OK)
        rc = init_leaves(&p, err);
    if (rc == HG_OK)
        rc = crl_update(dir, &p.ca, p.idx, p.now, NULL, err);
out:
    pki_close(&p);
    return rc;
}

/* The leaf that `issue` makes from its options; uri and dns may point into
 * the scratch buffers. */
static hg_status issue_leaf(const char *name, const struct hg_pki_issue_opts *o,
                            struct leaf *l, char *uri, size_t urisz, const char **dns1,
                            struct hg_err *err)
{
    hg_status rc = hg_pki_name_check(name, err);
    if (rc != HG_OK)
        return rc;
    if (o->days < 0 || o->days > HG_PKI_DAYS_MAX)
        return hg_err_set(err, HG_EINVAL, "invalid --days %d: use 1 to %d", o->days,
                          HG_PKI_DAYS_MAX);
    if (o->ndns > HG_PKI_MAX_DNS)
        return hg_err_set(err, HG_EINVAL, "too many --dns names (%zu): at most %d", o->ndns,
                          HG_PKI_MAX_DNS);
    if (o->nips > HG_PKI_MAX_IPS)
        return hg_err_set(err, HG_EINVAL, "too many --ip addresses (%zu): at most %d", o->nips,
                          HG_PKI_MAX_IPS);
    for (size_t i = 0; i < o->ndns; i++)
        if ((rc = hg_pki_dns_check(o->dns[i], err)) != HG_OK)
            return rc;
    for (size_t i = 0; i < o->nips; i++)
        if ((rc = hg_pki_ip_check(o->ips[i], err)) != HG_OK)
            return rc;
    *l = (struct leaf){.name = name, .cn = name, .uri = o->uri, .dns = o->dns,
                       .ndns = o->ndns, .ips = o->ips, .nips = o->nips,
                       .days = o->days ? o->days : HG_PKI_DAYS_DEFAULT, .server = o->server};
    if (o->uri && (rc = hg_pki_uri_check(o->uri, err)) != HG_OK)
        return rc;
    if (!o->uri && !o->server) {
        snprintf(uri, urisz, "%s%s", HG_PKI_URI_PREFIX, name);
        l->uri = uri;
    }
    if (o->server && !o->ndns) {
        if (hg_pki_dns_check(name, NULL) != HG_OK)
            return hg_err_set(err, HG_EINVAL, "'%s' is not a DNS name, and a server "
                              "certificate needs one; pass --dns HOST", name);
        *dns1 = name;
        l->dns = dns1;
        l->ndns = 1;
    }
    return HG_OK;
}

/* An existing NAME (in the index or on disk) needs force; with force its
 * live certificate is revoked as superseded. *crl is set when the CRL must
 * be rebuilt. */
static hg_status issue_replace(struct pki *p, const char *name, int force, int *crl,
                               struct hg_err *err)
{
    char fkey[FNAME_MAX], fcrt[FNAME_MAX];
    json_t *old = json_object_get(json_object_get(p->idx, "certs"), name);
    fname_of(fkey, name, ".key");
    fname_of(fcrt, name, ".crt");
    *crl = 0;
    if (!old && !exists_in(p->dir, fkey) && !exists_in(p->dir, fcrt))
        return HG_OK;
    if (!force)
        return hg_err_set(err, HG_EEXIST, "certificate '%s' already exists in %s; pass --force "
                          "to replace it (the old one is then revoked as superseded)", name,
                          p->dir);
    if (!old || json_is_true(json_object_get(old, "revoked")))
        return HG_OK;
    *crl = 1;
    return index_revoke(p->idx, name, old, HG_PKI_REASON_SUPERSEDED, p->now, err);
}

hg_status hg_pki_issue(const char *dir, const char *name, const struct hg_pki_issue_opts *o,
                       struct hg_err *err)
{
    static const struct hg_pki_issue_opts defaults = {0};
    char uri[sizeof HG_PKI_URI_PREFIX + HG_PKI_NAME_MAX];
    const char *dns1 = NULL;
    struct leaf l;
    struct pki p = {.lockfd = -1};
    int crl = 0;
    hg_status rc = issue_leaf(name, o ? o : &defaults, &l, uri, sizeof uri, &dns1, err);
    if (rc == HG_OK)
        rc = pki_open(&p, dir, err);
    if (rc == HG_OK)
        rc = issue_replace(&p, name, o && o->force, &crl, err);
    if (rc == HG_OK)
        rc = leaf_issue(&p, &l, err);
    if (rc == HG_OK && crl)
        rc = crl_update(dir, &p.ca, p.idx, p.now, NULL, err);
    else if (rc == HG_OK)
        rc = index_save(dir, p.idx, err);
    pki_close(&p);
    return rc;
}

hg_status hg_pki_revoke(const char *dir, const char *name, enum hg_pki_reason reason,
                        struct hg_pki_crl_info *info, struct hg_err *err)
{
    struct pki p = {.lockfd = -1};
    hg_status rc = hg_pki_name_check(name, err);
    if (rc == HG_OK && !hg_pki_reason_name(reason))
        rc = hg_err_set(err, HG_EINVAL, "invalid revocation reason %d; use keyCompromise, "
                        "superseded, cessationOfOperation or unspecified", (int)reason);
    if (rc == HG_OK)
        rc = pki_open(&p, dir, err);
    if (rc != HG_OK)
        goto out;
    json_t *e = json_object_get(json_object_get(p.idx, "certs"), name);
    if (!e) {
        rc = hg_err_set(err, HG_ENOTFOUND, "no certificate named '%s' in %s/%s; 'haulctl pki "
                        "show %s' lists the names", name, dir, INDEX_FILE, dir);
        goto out;
    }
    const char *serial = json_string_value(json_object_get(e, "serial"));
    if (json_is_true(json_object_get(e, "revoked"))) {
        rc = hg_err_set(err, HG_ESTATE, "'%s' (serial %s) is already revoked; nothing to do "
                        "(issue a new one with 'haulctl pki issue %s %s --force')", name,
                        serial, dir, name);
        goto out;
    }
    if (info)
        hg_strlcpy(info->serial, serial, sizeof info->serial);
    rc = index_revoke(p.idx, name, e, reason, p.now, err);
    if (rc == HG_OK)
        rc = crl_update(dir, &p.ca, p.idx, p.now, info, err);
out:
    pki_close(&p);
    return rc;
}

hg_status hg_pki_crl(const char *dir, struct hg_pki_crl_info *info, struct hg_err *err)
{
    struct pki p = {.lockfd = -1};
    hg_status rc = pki_open(&p, dir, err);
    if (info)
        info->serial[0] = '\0';
    if (rc == HG_OK)
        rc = crl_update(dir, &p.ca, p.idx, p.now, info, err);
    pki_close(&p);
    return rc;
}

hg_status hg_pki_load_cert(const char *dir, const char *name, X509 **out, struct hg_err *err)
{
    char f[FNAME_MAX], path[PATH_MAX];
    *out = NULL;
    if (!name || strcmp(name, "ca")) {
        hg_status rc = hg_pki_name_check(name, err);
        if (rc != HG_OK)
            return rc;
    }
    if (!dir || !*dir)
        return hg_err_set(err, HG_EINVAL, "no PKI directory given; pass DIR");
    fname_of(f, name, ".crt");
    hg_status rc = path_of(path, dir, f, err);
    if (rc == HG_OK)
        rc = load_x509(path, out, err);
    if (rc == HG_ENOTFOUND)
        hg_err_set(err, rc, "no certificate %s; 'haulctl pki show %s' lists the names", path,
                   dir);
    return rc;
}

/* Identity JSON of DIR/NAME.crt with "name" and, if indexed, "revoked". */
static hg_status show_one(const char *dir, const char *name, json_t *idx, json_t **out,
                          struct hg_err *err)
{
    X509 *x = NULL;
    struct hg_identity *id = NULL;
    json_t *e = idx ? json_object_get(json_object_get(idx, "certs"), name) : NULL;
    hg_status rc = hg_pki_load_cert(dir, name, &x, err);
    if (rc == HG_OK && (rc = hg_identity_from_x509(x, &id)) != HG_OK)
        hg_err_set(err, rc, "reading the identity of %s/%s.crt failed: %s; re-issue it", dir,
                   name, hg_status_str(rc));
    if (rc == HG_OK) {
        *out = hg_identity_to_json(id);
        if (!*out || json_object_set_new(*out, "name", json_string(name)) != 0 ||
            (e && json_object_set(*out, "revoked", json_object_get(e, "revoked")) != 0))
            rc = hg_err_set(err, HG_ENOMEM, "describing '%s' failed: out of memory", name);
        if (rc != HG_OK) {
            json_decref(*out);
            *out = NULL;
        }
    }
    hg_identity_free(id);
    X509_free(x);
    return rc;
}

static hg_status show_all(const char *dir, json_t *idx, json_t **out, struct hg_err *err)
{
    const char *name;
    json_t *val, *one = NULL;
    hg_status rc = HG_OK;
    if (!(*out = json_object()))
        return hg_err_set(err, HG_ENOMEM, "listing %s failed: out of memory", dir);
    json_object_foreach(json_object_get(idx, "certs"), name, val) {
        rc = show_one(dir, name, idx, &one, err);
        if (rc == HG_OK && json_object_set_new(*out, name, one) != 0)
            rc = hg_err_set(err, HG_ENOMEM, "listing %s failed: out of memory", dir);
        if (rc != HG_OK)
            break;
    }
    return rc;
}

hg_status hg_pki_show(const char *dir, const char *name, char **out, struct hg_err *err)
{
    json_t *idx = NULL, *doc = NULL;
    hg_status rc = HG_OK;
    *out = NULL;
    if (!dir || !*dir)
        return hg_err_set(err, HG_EINVAL, "no PKI directory given; pass DIR");
    if (!name && !exists_in(dir, INDEX_FILE) && !exists_in(dir, "ca.crt"))
        return hg_err_set(err, HG_ENOTFOUND, "no PKI in %s: neither ca.crt nor %s found; run "
                          "'haulctl pki init %s' first", dir, INDEX_FILE, dir);
    if (name) {
        (void)index_load(dir, &idx, NULL); /* only for "revoked"; a lone cert shows too */
        rc = show_one(dir, name, idx, &doc, err);
    } else {
        rc = index_load(dir, &idx, err);
        if (rc == HG_OK)
            rc = show_all(dir, idx, &doc, err);
    }
    if (rc == HG_OK && !(*out = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS)))
        rc = hg_err_set(err, HG_ENOMEM, "encoding the description failed: out of memory");
    json_decref(doc);
    json_decref(idx);
    return rc;
}
