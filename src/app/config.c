/* SPDX-License-Identifier: Apache-2.0
 *
 * config.c — load haulgated's YAML configuration strictly, from one schema
 * table. The file is read whole (at most 1 MiB), turned by libyaml's event
 * API into a small bounded tree (depth, string, list and node counts are
 * capped while parsing), then walked against the table: every key must be in
 * the table, every value must parse as the row's type and range, and every
 * required row must be present. The first problem found stops the load with
 * "FILE:LINE: key 'a.b': what is wrong; what is expected". This unit must
 * never accept a file it only half understood: anchors, aliases, tags,
 * duplicate keys and second documents are rejected rather than interpreted.
 * Adding a setting is adding one row to cfg_rows (or client_rows).
 */
#include "app/config.h"
#include "auth/scope.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "common/fs.h"
#include "common/util.h"

/* Bounds on what a configuration may contain; see docs/configuration.md. */
#define CFG_MAX_FILE    (1024 * 1024)   /* bytes in the file */
#define CFG_MAX_DEPTH   16              /* nested lists/mappings */
#define CFG_MAX_STR     4096            /* bytes in one key or value */
#define CFG_MAX_LIST    1024            /* items in a list of strings */
#define CFG_MAX_CLIENTS 4096            /* entries in `clients` */
#define CFG_MAX_SEQ     CFG_MAX_CLIENTS /* items in any YAML sequence */
#define CFG_MAX_KEYS    1024            /* keys in any YAML mapping */
#define CFG_MAX_NODES   (1 << 18)       /* YAML nodes in the whole file */
#define CFG_MAX_PATH    4096            /* bytes in a resolved path */
#define CFG_MAX_SEG     64              /* longest key segment the schema has */
#define CFG_KEYBUF      384             /* bytes of a key path shown in messages */

#define KIB 1024ULL
#define MIB (1024ULL * 1024)
#define GIB (1024ULL * 1024 * 1024)

/* ---------------------------------------------------------------- schema */

enum cfg_type {
    T_STRING,   /* char *; min/max bound the length (0/0 = 1..CFG_MAX_STR) */
    T_PATH,     /* char *, resolved against the file's directory */
    T_INT,      /* int in [min, max]; unquoted decimal */
    T_SIZE,     /* size_t bytes in [min, max]; N, N KiB, N MiB, N GiB */
    T_DURATION, /* int milliseconds in [min, max]; N, N ms, N s, N m, N h */
    T_BOOL,     /* bool; true | false */
    T_ENUM,     /* char *, one of row.choices */
    T_LISTEN,   /* char *listen at off, char *host at off2, int port at off3 */
    T_STRLIST,  /* char ** at off, size_t count at off2; at most max items */
    T_MAPLIST,  /* array of row.itemsize structs at off, size_t count at off2,
                 * each described by row.sub; at most max items */
};

#define F_REQUIRED 1u

struct cfg_ctx;
struct cfg_node;

struct cfg_row {
    const char *key;            /* dotted: "api.limits.max_body_bytes" */
    enum cfg_type type;
    unsigned flags;
    size_t off, off2, off3;     /* where the value goes in the base struct */
    const char *def;            /* default, written as it would be in the file */
    int64_t min, max;
    const char *const *choices; /* T_ENUM: NULL-terminated */
    /* T_STRING: extra validation; NULL if the value is fine. */
    bool (*check)(const char *s, size_t len);
    const char *what;           /* overrides the generated "expected ..." text */
    /* T_MAPLIST: the item schema and a check run after each item is read. */
    const struct cfg_row *sub;
    size_t nsub;
    size_t itemsize;
    hg_status (*item_check)(struct cfg_ctx *c, void *items, size_t i,
                            const struct cfg_node *item, const char *dpath,
                            const int *lines);
    const char *doc;            /* one line: what the setting means */
};

static bool check_client_name(const char *s, size_t len);
static bool check_uri(const char *s, size_t len);
static bool check_dns(const char *s, size_t len);
static bool check_thumbprint(const char *s, size_t len);
static bool check_https_url(const char *s, size_t len);
static hg_status issuer_check(struct cfg_ctx *c, void *items, size_t i,
                              const struct cfg_node *item, const char *dpath,
                              const int *lines);
static int key_line(const struct cfg_node *map, const char *key, int dflt);
static hg_status client_check(struct cfg_ctx *c, void *items, size_t i,
                              const struct cfg_node *item, const char *dpath,
                              const int *lines);

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const store_backends[] = {"sqlite", NULL};
static const char *const durabilities[] = {"full", "normal", NULL};
static const char *const signing_algs[] = {"ES256", "EdDSA", NULL};

#define COFF(f) offsetof(struct hg_config_client, f)
static const struct cfg_row client_rows[] = {
    {.key = "name", .type = T_STRING, .flags = F_REQUIRED, .off = COFF(name),
     .min = 1, .max = 64, .check = check_client_name,
     .what = "a name of 1 to 64 characters from A-Z a-z 0-9 . _ -",
     .doc = "principal name used in policy and audit records; unique"},
    {.key = "match.uri", .type = T_STRING, .off = COFF(match_uri),
     .check = check_uri, .what = "a URI such as spiffe://haulgate.dev/tms",
     .doc = "the client certificate must carry this SAN URI"},
    {.key = "match.dns", .type = T_STRING, .off = COFF(match_dns), .max = 253,
     .check = check_dns, .what = "a DNS name such as tms.haulgate.dev",
     .doc = "the client certificate must carry this SAN DNS name"},
    {.key = "match.cn", .type = T_STRING, .off = COFF(match_cn), .max = 64,
     .doc = "the client certificate's subject CN must equal this"},
    {.key = "match.thumbprint", .type = T_STRING, .off = COFF(match_thumbprint),
     .check = check_thumbprint,
     .what = "43 characters of base64url without padding (x5t#S256: the SHA-256 of the DER certificate)",
     .doc = "base64url SHA-256 of the client certificate (x5t#S256)"},
    {.key = "roles", .type = T_STRLIST, .off = COFF(roles), .off2 = COFF(nroles),
     .max = CFG_MAX_LIST, .doc = "roles granted to this principal"},
    {.key = "tenant", .type = T_STRING, .off = COFF(tenant), .max = 64,
     .doc = "tenant the principal belongs to; absent = none"},
    {.key = "regions", .type = T_STRLIST, .off = COFF(regions),
     .off2 = COFF(nregions), .max = CFG_MAX_LIST,
     .doc = "regions the principal may act in; empty = no regional scope"},
    {.key = "cert", .type = T_PATH, .off = COFF(cert),
     .doc = "the client's certificate file, watched for the expiry metric; optional"},
    {.key = "scopes", .type = T_STRLIST, .off = COFF(scopes), .off2 = COFF(nscopes),
     .max = 32,
     .doc = "OAuth scopes this client may be granted; absent = the defaults of its roles"},
};
#undef COFF

#define IOFF(f) offsetof(struct hg_config_issuer, f)
static const struct cfg_row issuer_rows[] = {
    {.key = "issuer", .type = T_STRING, .flags = F_REQUIRED, .off = IOFF(issuer),
     .max = 255, .check = check_https_url, .what = "an https:// URL of at most 255 bytes",
     .doc = "the exact \"iss\" of the provider's tokens"},
    {.key = "jwks_url", .type = T_STRING, .flags = F_REQUIRED, .off = IOFF(jwks_url),
     .max = 2048, .check = check_https_url, .what = "an https:// URL",
     .doc = "where the provider publishes its JWK Set (fetched over verified HTTPS)"},
    {.key = "audience", .type = T_STRING, .flags = F_REQUIRED, .off = IOFF(audience),
     .max = 255, .doc = "the \"aud\" the provider's tokens must carry for this gateway"},
    {.key = "ca", .type = T_PATH, .off = IOFF(ca),
     .doc = "PEM CA bundle that verifies the JWKS server; absent = the system's"},
    {.key = "refresh_interval", .type = T_DURATION, .off = IOFF(refresh_interval_ms),
     .def = "1m", .min = 1000, .max = 24 * 3600 * 1000,
     .doc = "least time between two refetches caused by an unknown kid"},
    {.key = "max_age", .type = T_DURATION, .off = IOFF(max_age_ms), .def = "1h",
     .min = 1000, .max = 7 * 24 * 3600 * 1000,
     .doc = "the JWK Set is refetched after this long (kept if the fetch fails)"},
    {.key = "fetch_timeout", .type = T_DURATION, .off = IOFF(fetch_timeout_ms),
     .def = "5s", .min = 100, .max = 60 * 1000, .doc = "a JWKS fetch gives up after this"},
    {.key = "roles_claim", .type = T_STRING, .off = IOFF(roles_claim), .def = "roles",
     .max = 64, .doc = "claim holding the provider's roles (a string or an array)"},
    {.key = "role_map", .type = T_STRLIST, .off = IOFF(role_map), .off2 = IOFF(nrole_map),
     .max = 256, .doc = "\"their-role=our-role\" pairs; roles not listed are dropped"},
    {.key = "tenant_claim", .type = T_STRING, .off = IOFF(tenant_claim), .max = 64,
     .doc = "claim holding the tenant; absent = the fixed tenant below"},
    {.key = "tenant", .type = T_STRING, .off = IOFF(tenant), .max = 64,
     .doc = "tenant of every principal of this provider; absent = none"},
    {.key = "insecure_unbound_tokens", .type = T_BOOL, .off = IOFF(insecure_unbound_tokens),
     .def = "false",
     .doc = "accept tokens with no cnf binding (a stolen token then works anywhere); warned"},
};
#undef IOFF

#define OFF(f) offsetof(struct hg_config, f)
static const struct cfg_row cfg_rows[] = {
    {.key = "data_dir", .type = T_PATH, .off = OFF(data_dir), .def = "./data",
     .doc = "directory for the database, event log and audit log; created 0700"},
    {.key = "api.listen", .type = T_LISTEN, .off = OFF(api.listen),
     .off2 = OFF(api.host), .off3 = OFF(api.port), .def = "127.0.0.1:8443",
     .min = 0, .max = 65535,
     .doc = "address of the mTLS API (host:port, IPv6 as \"[::1]:8443\", port 0 = ephemeral)"},
    {.key = "api.threads", .type = T_INT, .off = OFF(api.threads), .def = "0",
     .min = 0, .max = 64, .doc = "worker threads; 0 = one per CPU"},
    {.key = "api.tls.cert", .type = T_PATH, .flags = F_REQUIRED,
     .off = OFF(api.tls.cert), .doc = "PEM server certificate (chain)"},
    {.key = "api.tls.key", .type = T_PATH, .flags = F_REQUIRED,
     .off = OFF(api.tls.key), .doc = "PEM private key of the server certificate"},
    {.key = "api.tls.ca", .type = T_PATH, .flags = F_REQUIRED,
     .off = OFF(api.tls.ca),
     .doc = "PEM CA bundle that client certificates must chain to"},
    {.key = "api.tls.crl", .type = T_PATH, .off = OFF(api.tls.crl),
     .doc = "PEM CRL file; absent = no CRL checking"},
    {.key = "api.limits.max_header_bytes", .type = T_SIZE,
     .off = OFF(api.max_header_bytes), .def = "16KiB", .min = KIB, .max = MIB,
     .doc = "largest request head; larger gets 431"},
    {.key = "api.limits.max_body_bytes", .type = T_SIZE,
     .off = OFF(api.max_body_bytes), .def = "1MiB", .min = KIB, .max = 64 * MIB,
     .doc = "largest request body; larger gets 413"},
    {.key = "api.limits.header_timeout", .type = T_DURATION,
     .off = OFF(api.header_timeout_ms), .def = "10s", .min = 100,
     .max = 10 * 60 * 1000, .doc = "the whole request head must arrive within this"},
    {.key = "api.limits.read_timeout", .type = T_DURATION,
     .off = OFF(api.read_timeout_ms), .def = "60s", .min = 100,
     .max = 60 * 60 * 1000, .doc = "body and idle keep-alive read timeout"},
    {.key = "api.limits.write_timeout", .type = T_DURATION,
     .off = OFF(api.write_timeout_ms), .def = "30s", .min = 100,
     .max = 60 * 60 * 1000, .doc = "a response must be written within this"},
    {.key = "api.limits.max_connections", .type = T_INT,
     .off = OFF(api.max_connections), .def = "10000", .min = 1, .max = 1000000,
     .doc = "open connections per process; new ones are refused above"},
    {.key = "admin.listen", .type = T_LISTEN, .off = OFF(admin.listen),
     .off2 = OFF(admin.host), .off3 = OFF(admin.port), .def = "127.0.0.1:9090",
     .min = 0, .max = 65535,
     .doc = "address of the plain-HTTP admin endpoint (metrics, health); keep it on loopback"},
    {.key = "shutdown.drain_timeout", .type = T_DURATION,
     .off = OFF(shutdown.drain_timeout_ms), .def = "10s", .min = 0,
     .max = 10 * 60 * 1000,
     .doc = "on SIGTERM, in-flight requests get this long to finish"},
    {.key = "log.level", .type = T_ENUM, .off = OFF(log.level), .def = "info",
     .choices = log_levels, .doc = "least severe level written"},
    {.key = "log.file", .type = T_PATH, .off = OFF(log.file),
     .doc = "file the JSON log lines are appended to; absent = standard error"},
    {.key = "audit.checkpoint_records", .type = T_INT,
     .off = OFF(audit.checkpoint_records), .def = "1000", .min = 1, .max = 1000000,
     .doc = "sign an audit checkpoint after this many new records"},
    {.key = "audit.checkpoint_interval", .type = T_DURATION,
     .off = OFF(audit.checkpoint_interval_ms), .def = "1s", .min = 10,
     .max = 60 * 60 * 1000,
     .doc = "sign an audit checkpoint this long after the last one when records are uncovered"},
    {.key = "store.backend", .type = T_ENUM, .off = OFF(store.backend), .def = "sqlite",
     .choices = store_backends,
     .doc = "where tenders, offers, idempotency keys and the outbox live"},
    {.key = "store.path", .type = T_PATH, .off = OFF(store.path),
     .doc = "SQLite database file; absent = <data_dir>/haulgate.db"},
    {.key = "store.durability", .type = T_ENUM, .off = OFF(store.durability), .def = "full",
     .choices = durabilities,
     .doc = "full: every commit group is fsync'd before any request in it is answered; "
            "normal: WAL without fsync per commit (a power loss may lose the last commits)"},
    {.key = "store.queue_max", .type = T_INT, .off = OFF(store.queue_max), .def = "4096",
     .min = 1, .max = 1000000,
     .doc = "write requests waiting for the writer thread; above this a write gets 503"},
    {.key = "store.batch_max", .type = T_INT, .off = OFF(store.batch_max), .def = "512",
     .min = 1, .max = 100000, .doc = "most write requests committed in one group"},
    {.key = "idempotency.ttl", .type = T_DURATION, .off = OFF(idempotency.ttl_ms),
     .def = "24h", .min = 1000, .max = 7 * 24 * 3600 * 1000,
     .doc = "an Idempotency-Key and its stored response are kept this long"},
    {.key = "idempotency.sweep_interval", .type = T_DURATION,
     .off = OFF(idempotency.sweep_interval_ms), .def = "1m", .min = 100,
     .max = 24 * 3600 * 1000, .doc = "how often expired idempotency keys are deleted"},
    {.key = "ratelimit.rate", .type = T_INT, .off = OFF(ratelimit.rate), .def = "0",
     .min = 0, .max = 10000000,
     .doc = "requests per second each principal may make (token bucket); 0 = unlimited"},
    {.key = "ratelimit.burst", .type = T_INT, .off = OFF(ratelimit.burst), .def = "100",
     .min = 1, .max = 10000000, .doc = "requests a principal may make at once above the rate"},
    {.key = "tenders.max_wait", .type = T_DURATION, .off = OFF(tenders.max_wait_ms),
     .def = "30s", .min = 0, .max = 10 * 60 * 1000,
     .doc = "longest Prefer: wait a client may ask for on POST /v1/tenders"},
    {.key = "auth.issuer", .type = T_STRING, .off = OFF(auth.issuer), .max = 255,
     .check = check_https_url, .what = "an https:// URL of at most 255 bytes",
     .doc = "\"iss\" of the tokens this gateway issues; absent = https://<api.listen>"},
    {.key = "auth.audience", .type = T_STRING, .off = OFF(auth.audience), .max = 255,
     .doc = "\"aud\" of the tokens this gateway issues and accepts; absent = the issuer"},
    {.key = "auth.token_lifetime", .type = T_DURATION, .off = OFF(auth.token_lifetime_ms),
     .def = "5m", .min = 10 * 1000, .max = 24 * 3600 * 1000,
     .doc = "lifetime of the access tokens this gateway issues"},
    {.key = "auth.leeway", .type = T_DURATION, .off = OFF(auth.leeway_ms), .def = "60s",
     .min = 0, .max = 5 * 60 * 1000,
     .doc = "clock skew allowed on a token's exp, nbf and iat"},
    {.key = "auth.signing_alg", .type = T_ENUM, .off = OFF(auth.signing_alg),
     .def = "ES256", .choices = signing_algs,
     .doc = "algorithm of newly created signing keys"},
    {.key = "auth.keys_dir", .type = T_PATH, .off = OFF(auth.keys_dir),
     .doc = "directory of the token signing keys; absent = <data_dir>/keys"},
    {.key = "auth.key_publish_delay", .type = T_DURATION,
     .off = OFF(auth.key_publish_delay_ms), .def = "5m", .min = 0,
     .max = 24 * 3600 * 1000,
     .doc = "a rotated-in key is published in the JWKS this long before it signs"},
    {.key = "auth.key_check_interval", .type = T_DURATION,
     .off = OFF(auth.key_check_interval_ms), .def = "5s", .min = 100,
     .max = 3600 * 1000,
     .doc = "how often the daemon looks for a rotation made by haulctl keys rotate"},
    {.key = "auth.token_cache", .type = T_INT, .off = OFF(auth.token_cache),
     .def = "10000", .min = 0, .max = 1000000,
     .doc = "verified tokens cached until they expire; 0 = verify every request"},
    {.key = "auth.insecure_mtls_only", .type = T_BOOL, .off = OFF(auth.insecure_mtls_only),
     .def = "false",
     .doc = "accept requests without a token (certificate principals get their scopes); "
            "benchmarks only; warned at start-up"},
    {.key = "auth.dpop.iat_window", .type = T_DURATION, .off = OFF(auth.dpop.iat_window_ms),
     .def = "60s", .min = 1000, .max = 10 * 60 * 1000,
     .doc = "a DPoP proof's iat must be this close to now; also how long its jti is remembered"},
    {.key = "auth.dpop.jti_cache", .type = T_INT, .off = OFF(auth.dpop.jti_cache),
     .def = "100000", .min = 100, .max = 10000000,
     .doc = "DPoP proof ids remembered against replay; when full, proofs are refused"},
    {.key = "auth.dpop.require_nonce", .type = T_BOOL, .off = OFF(auth.dpop.require_nonce),
     .def = "false", .doc = "every DPoP proof must carry a fresh server nonce (DPoP-Nonce)"},
    {.key = "auth.dpop.nonce_step", .type = T_DURATION, .off = OFF(auth.dpop.nonce_step_ms),
     .def = "5m", .min = 1000, .max = 24 * 3600 * 1000,
     .doc = "a server nonce is good for one to two of these"},
    {.key = "auth.issuers", .type = T_MAPLIST, .off = OFF(auth.issuers),
     .off2 = OFF(auth.nissuers), .max = 32, .sub = issuer_rows,
     .nsub = sizeof issuer_rows / sizeof issuer_rows[0],
     .itemsize = sizeof(struct hg_config_issuer), .item_check = issuer_check,
     .what = "a list of issuers, each a mapping with issuer, jwks_url and audience",
     .doc = "trusted external identity providers whose tokens are accepted"},
    {.key = "policy.file", .type = T_PATH, .off = OFF(policy.file),
     .doc = "ABAC policy rules (docs/policy.md); absent = every request is denied"},
    {.key = "clients", .type = T_MAPLIST, .off = OFF(clients),
     .off2 = OFF(nclients), .max = CFG_MAX_CLIENTS, .sub = client_rows,
     .nsub = sizeof client_rows / sizeof client_rows[0],
     .itemsize = sizeof(struct hg_config_client), .item_check = client_check,
     .what = "a list of clients, each a mapping with a name and a match",
     .doc = "client certificate identities and the principals they map to"},
};
#undef OFF
#define NROWS (sizeof cfg_rows / sizeof cfg_rows[0])

/* ------------------------------------------------------------- context */

enum node_kind { N_SCALAR, N_SEQ, N_MAP };

struct cfg_node {
    enum node_kind kind;
    int line;                  /* 1-based, from libyaml's start mark */
    bool plain;                /* scalar written without quotes */
    char *s;                   /* scalar bytes, NUL-terminated */
    size_t len;
    struct cfg_node **kid;     /* SEQ: items; MAP: key, value, key, value... */
    size_t nkid, cap;
};

struct cfg_ctx {
    const char *file;          /* as the user named it, for messages */
    char *dir;                 /* absolute directory relative paths start from */
    struct hg_err *err;
    size_t nodes;
};

/* Record a configuration error "FILE:LINE: key 'K': MSG". line 0 = no line;
 * key NULL or "" = no key. */
__attribute__((format(printf, 4, 5)))
static hg_status cfg_fail(struct cfg_ctx *c, int line, const char *key,
                      const char *fmt, ...)
{
    char body[HG_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    char where[32] = "";
    if (line > 0)
        snprintf(where, sizeof where, ":%d", line);
    if (key && *key)
        return hg_err_set(c->err, HG_ECONFIG, "%s%s: key '%s': %s", c->file,
                          where, key, body);
    return hg_err_set(c->err, HG_ECONFIG, "%s%s: %s", c->file, where, body);
}

static hg_status nomem(struct cfg_ctx *c)
{
    return hg_err_set(c->err, HG_ENOMEM,
                      "%s: out of memory while loading the configuration",
                      c->file);
}

/* Write s as shown in messages: printable, escaped, at most `max` bytes of
 * input, "..." when cut. Always NUL-terminates out. */
static void esc(const char *s, size_t len, char *out, size_t cap, size_t max)
{
    size_t o = 0;
    bool cut = len > max;
    if (cut)
        len = max;
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    if (cut && o + 4 <= cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o < cap ? o : cap - 1] = '\0';
}

/* "prefix.seg" (or "seg" at the top) into a CFG_KEYBUF buffer. A path that
 * does not fit is cut; it only ever appears in messages and lookups of
 * schema keys, which are short. */
static void key_join(char *out, const char *prefix, const char *seg)
{
    int n = snprintf(out, CFG_KEYBUF, "%s%s%s", prefix, *prefix ? "." : "", seg);
    if (n < 0)
        out[0] = '\0';
}

static void key_index(char *out, const char *prefix, size_t i)
{
    int n = snprintf(out, CFG_KEYBUF, "%s[%zu]", prefix, i);
    if (n < 0)
        out[0] = '\0';
}

static bool is_null(const struct cfg_node *n)
{
    if (n->kind != N_SCALAR || !n->plain)
        return false;
    return n->len == 0 || strcmp(n->s, "~") == 0 || strcmp(n->s, "null") == 0 ||
           strcmp(n->s, "Null") == 0 || strcmp(n->s, "NULL") == 0;
}

/* "a list", "a mapping", "an empty value" or the quoted scalar. */
static const char *got(const struct cfg_node *n, char *buf, size_t cap)
{
    if (n->kind == N_SEQ)
        return "a list";
    if (n->kind == N_MAP)
        return "a mapping";
    if (is_null(n))
        return "an empty value";
    char e[160];
    esc(n->s, n->len, e, sizeof e, 60);
    snprintf(buf, cap, "\"%s\"%s", e, n->plain ? "" : " (quoted)");
    return buf;
}

/* ------------------------------------------------------------ the tree */

static void node_free(struct cfg_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkid; i++)
        node_free(n->kid[i]);
    free(n->kid);
    free(n->s);
    free(n);
}

/* Path of the slot being filled, for messages raised while parsing. */
static void tree_path(struct cfg_node *const *stack, int depth, char *out,
                      size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < depth && o < cap; i++) {
        const struct cfg_node *n = stack[i];
        bool pending = i == depth - 1;   /* innermost: next slot, not last */
        size_t idx = pending ? n->nkid : n->nkid - 1;
        if (n->kind == N_SEQ) {
            o += (size_t)snprintf(out + o, cap - o, "[%zu]", idx);
            continue;
        }
        if (idx % 2 == 0 || n->kid[idx - 1]->kind != N_SCALAR)
            break;              /* a key itself, not a value */
        char e[CFG_MAX_SEG + 8];
        const struct cfg_node *k = n->kid[idx - 1];
        esc(k->s, k->len, e, sizeof e, CFG_MAX_SEG);
        o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? "." : "", e);
    }
    if (o >= cap)
        out[cap - 1] = '\0';
}

static hg_status node_add(struct cfg_ctx *c, struct cfg_node *parent,
                          struct cfg_node *kid, const char *path)
{
    if (parent->kind == N_SEQ && parent->nkid >= CFG_MAX_SEQ)
        return cfg_fail(c, kid->line, path,
                        "a list may hold at most %d items",
                        CFG_MAX_SEQ);
    if (parent->kind == N_MAP && parent->nkid >= 2 * CFG_MAX_KEYS)
        return cfg_fail(c, kid->line, path,
                        "a mapping may hold at most %d keys", CFG_MAX_KEYS);
    if (parent->nkid == parent->cap) {
        size_t ncap = parent->cap ? parent->cap * 2 : 4;
        struct cfg_node **k = realloc(parent->kid, ncap * sizeof *k);
        if (!k)
            return nomem(c);
        parent->kid = k;
        parent->cap = ncap;
    }
    parent->kid[parent->nkid++] = kid;
    return HG_OK;
}

/* libyaml's message for a syntax error, with the line it points at. */
static hg_status syntax_error(struct cfg_ctx *c, const yaml_parser_t *p,
                              const char *text, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR)
        return nomem(c);
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->error == YAML_READER_ERROR) {
        int line = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++)
            line += text[i] == '\n';
        return cfg_fail(c, line, NULL,
                        "invalid YAML: %s at byte %zu; the file must be UTF-8 "
                        "text without control characters", problem,
                        p->problem_offset);
    }
    int line = (int)p->problem_mark.line + 1;
    if (p->context)
        return cfg_fail(c, line, NULL,
                        "invalid YAML: %s (%s that starts at line %d); check the "
                        "indentation and quoting", problem, p->context,
                        (int)p->context_mark.line + 1);
    return cfg_fail(c, line, NULL,
                    "invalid YAML: %s; check the indentation and quoting", problem);
}

/* Reject YAML features this loader does not interpret. */
static hg_status plain_yaml_only(struct cfg_ctx *c, int line, const char *path,
                                 const yaml_char_t *anchor,
                                 const yaml_char_t *tag)
{
    char e[80];
    if (anchor) {
        esc((const char *)anchor, strlen((const char *)anchor), e, sizeof e, 40);
        return cfg_fail(c, line, path,
                        "anchors (&%s) are not supported; write each value out in full",
                        e);
    }
    if (tag) {
        /* Show the short form the user most likely wrote ("!!str"). */
        static const char yaml_ns[] = "tag:yaml.org,2002:";
        const char *t = (const char *)tag;
        size_t o = 0;
        if (strncmp(t, yaml_ns, sizeof yaml_ns - 1) == 0) {
            t += sizeof yaml_ns - 1;
            memcpy(e, "!!", 2);
            o = 2;
        }
        esc(t, strlen(t), e + o, sizeof e - o, 40);
        return cfg_fail(c, line, path,
                        "tags (%s) are not supported; remove the tag", e);
    }
    return HG_OK;
}

static hg_status parse_tree(struct cfg_ctx *c, const char *text, size_t len,
                            struct cfg_node **out)
{
    yaml_parser_t p;
    yaml_event_t ev;
    struct cfg_node *stack[CFG_MAX_DEPTH];
    struct cfg_node *root = NULL;
    int depth = 0, docs = 0;
    bool done = false;
    hg_status rc = HG_OK;
    char path[CFG_KEYBUF];

    *out = NULL;
    if (!yaml_parser_initialize(&p))
        return nomem(c);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);

    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            rc = syntax_error(c, &p, text, len);
            goto out;
        }
        int line = (int)ev.start_mark.line + 1;
        struct cfg_node *n = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                rc = cfg_fail(c, line, NULL,
                              "the file holds more than one YAML document ('---'); "
                              "put every setting in one document");
            } else if (ev.data.document_start.tag_directives.start !=
                       ev.data.document_start.tag_directives.end) {
                rc = cfg_fail(c, line, NULL,
                              "%%TAG directives are not supported; remove them");
            }
            break;
        case YAML_ALIAS_EVENT: {
            char e[80];
            const char *a = (const char *)ev.data.alias.anchor;
            esc(a, strlen(a), e, sizeof e, 40);
            tree_path(stack, depth, path, sizeof path);
            rc = cfg_fail(c, line, path,
                          "aliases (*%s) are not supported; write the value out in full",
                          e);
            break;
        }
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            tree_path(stack, depth, path, sizeof path);
            if (ev.type == YAML_SCALAR_EVENT)
                rc = plain_yaml_only(c, line, path, ev.data.scalar.anchor,
                                     ev.data.scalar.tag);
            else if (ev.type == YAML_SEQUENCE_START_EVENT)
                rc = plain_yaml_only(c, line, path,
                                     ev.data.sequence_start.anchor,
                                     ev.data.sequence_start.tag);
            else
                rc = plain_yaml_only(c, line, path,
                                     ev.data.mapping_start.anchor,
                                     ev.data.mapping_start.tag);
            if (rc != HG_OK)
                break;
            if (ev.type != YAML_SCALAR_EVENT && depth == CFG_MAX_DEPTH) {
                rc = cfg_fail(c, line, path,
                              "lists and mappings nest deeper than %d levels",
                              CFG_MAX_DEPTH);
                break;
            }
            if (ev.type == YAML_SCALAR_EVENT &&
                ev.data.scalar.length > CFG_MAX_STR) {
                rc = cfg_fail(c, line, path,
                              "a value is %zu bytes long; at most %d are allowed",
                              ev.data.scalar.length, CFG_MAX_STR);
                break;
            }
            if (++c->nodes > CFG_MAX_NODES) {
                rc = cfg_fail(c, line, path,
                              "the file holds more than %d values; that is far more "
                              "than any configuration needs", CFG_MAX_NODES);
                break;
            }
            n = calloc(1, sizeof *n);
            if (!n) {
                rc = nomem(c);
                break;
            }
            n->line = line;
            if (ev.type == YAML_SCALAR_EVENT) {
                n->kind = N_SCALAR;
                n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                n->len = ev.data.scalar.length;
                n->s = malloc(n->len + 1);
                if (!n->s) {
                    free(n);
                    rc = nomem(c);
                    break;
                }
                memcpy(n->s, ev.data.scalar.value, n->len);
                n->s[n->len] = '\0';
            } else {
                n->kind = ev.type == YAML_SEQUENCE_START_EVENT ? N_SEQ : N_MAP;
            }
            if (depth == 0) {
                root = n;   /* one document, so one root */
            } else if ((rc = node_add(c, stack[depth - 1], n, path)) != HG_OK) {
                node_free(n);
                break;
            }
            if (n->kind != N_SCALAR)
                stack[depth++] = n;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc != HG_OK)
            goto out;
    }
    if (!root || is_null(root)) {
        rc = cfg_fail(c, 1, NULL,
                      "the file holds no settings; it needs at least api.tls.cert, "
                      "api.tls.key and api.tls.ca (see config/haulgate.example.yaml)");
        goto out;
    }
    *out = root;
    root = NULL;
out:
    node_free(root);
    yaml_parser_delete(&p);
    return rc;
}

/* ------------------------------------------------------- value parsers */

struct unit {
    const char *name;
    uint64_t mult;
};

static const struct unit size_units[] = {
    {"KiB", KIB}, {"MiB", MIB}, {"GiB", GIB}, {NULL, 0}};
static const struct unit dur_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {NULL, 0}};

/* "N" or "N<unit>" or "N <unit>", N decimal digits; no sign, no fraction. */
static bool parse_scaled(const char *s, size_t len, const struct unit *units,
                         uint64_t *out)
{
    size_t i = 0;
    uint64_t v = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
        i++;
    }
    if (i == 0)
        return false;
    if (i == len) {
        *out = v;
        return true;
    }
    if (s[i] == ' ')
        i++;
    for (const struct unit *u = units; u->name; u++) {
        size_t ul = strlen(u->name);
        if (len - i == ul && memcmp(s + i, u->name, ul) == 0) {
            if (v > UINT64_MAX / u->mult)
                return false;
            *out = v * u->mult;
            return true;
        }
    }
    return false;
}

static void fmt_size(uint64_t v, char *out, size_t cap)
{
    if (v && v % GIB == 0)
        snprintf(out, cap, "%llu GiB", (unsigned long long)(v / GIB));
    else if (v && v % MIB == 0)
        snprintf(out, cap, "%llu MiB", (unsigned long long)(v / MIB));
    else if (v && v % KIB == 0)
        snprintf(out, cap, "%llu KiB", (unsigned long long)(v / KIB));
    else
        snprintf(out, cap, "%llu bytes", (unsigned long long)v);
}

static void fmt_ms(uint64_t v, char *out, size_t cap)
{
    if (v && v % 3600000 == 0)
        snprintf(out, cap, "%llu h", (unsigned long long)(v / 3600000));
    else if (v && v % 60000 == 0)
        snprintf(out, cap, "%llu m", (unsigned long long)(v / 60000));
    else if (v && v % 1000 == 0)
        snprintf(out, cap, "%llu s", (unsigned long long)(v / 1000));
    else
        snprintf(out, cap, "%llu ms", (unsigned long long)v);
}

static size_t str_max(const struct cfg_row *r)
{
    return r->max > 0 ? (size_t)r->max : CFG_MAX_STR;
}

/* What a row accepts, for "expected ..." messages. */
static void describe(const struct cfg_row *r, char *out, size_t cap)
{
    char lo[32], hi[32];
    if (r->what) {
        snprintf(out, cap, "%s", r->what);
        return;
    }
    switch (r->type) {
    case T_STRING:
        snprintf(out, cap, "a string of 1 to %zu characters", str_max(r));
        break;
    case T_PATH:
        snprintf(out, cap, "a file path (relative to this file's directory)");
        break;
    case T_INT:
        snprintf(out, cap, "an integer from %lld to %lld", (long long)r->min,
                 (long long)r->max);
        break;
    case T_SIZE:
        fmt_size((uint64_t)r->min, lo, sizeof lo);
        fmt_size((uint64_t)r->max, hi, sizeof hi);
        snprintf(out, cap,
                 "a size from %s to %s (a whole number of bytes, or one "
                 "followed by KiB, MiB or GiB)", lo, hi);
        break;
    case T_DURATION:
        fmt_ms((uint64_t)r->min, lo, sizeof lo);
        fmt_ms((uint64_t)r->max, hi, sizeof hi);
        snprintf(out, cap,
                 "a duration from %s to %s (whole milliseconds, or a whole "
                 "number followed by ms, s, m or h)", lo, hi);
        break;
    case T_BOOL:
        snprintf(out, cap, "true or false");
        break;
    case T_ENUM: {
        size_t o = (size_t)snprintf(out, cap, "one of");
        for (size_t i = 0; r->choices[i] && o < cap; i++)
            o += (size_t)snprintf(out + o, cap - o, "%s %s", i ? "," : "",
                                  r->choices[i]);
        break;
    }
    case T_LISTEN:
        snprintf(out, cap,
                 "host:port with a port from %lld to %lld, such as "
                 "127.0.0.1:8443 or, for IPv6, \"[::1]:8443\" (quoted)",
                 (long long)r->min, (long long)r->max);
        break;
    case T_STRLIST:
        snprintf(out, cap, "a list of at most %lld distinct strings, such as [a, b]",
                 (long long)r->max);
        break;
    case T_MAPLIST:
        snprintf(out, cap, "a list of mappings");
        break;
    }
}

__attribute__((format(printf, 6, 7)))
static hg_status expected(struct cfg_ctx *c, const struct cfg_row *r, int line,
                          const char *key, const struct cfg_node *n,
                          const char *hint, ...)
{
    char want[320], g[200], h[200] = "";
    describe(r, want, sizeof want);
    if (hint) {
        va_list ap;
        va_start(ap, hint);
        vsnprintf(h, sizeof h, hint, ap);
        va_end(ap);
    }
    return cfg_fail(c, line, key, "expected %s, got %s%s%s", want,
                    got(n, g, sizeof g), *h ? "; " : "", h);
}

static bool has_ctl(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return true;
    return false;
}

/* Join `rel` onto the absolute directory `dir`. Leading "." and ".." are
 * folded into `dir`, which is safe because `dir` names real directories (it
 * comes from realpath or getcwd); after the first ordinary segment the rest
 * is kept as written, so a ".." after a symlink means what the kernel says. */
static hg_status resolve(const char *dir, const char *rel, char *out, size_t cap)
{
    size_t o;
    if (rel[0] == '/') {
        if (hg_strlcpy(out, rel, cap) != HG_OK)
            return HG_ETOOBIG;
        return HG_OK;
    }
    if (hg_strlcpy(out, dir, cap) != HG_OK)
        return HG_ETOOBIG;
    o = strlen(out);
    bool leading = true;
    const char *p = rel;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.')) {
            /* empty or "." segment: nothing to add */
        } else if (leading && n == 2 && p[0] == '.' && p[1] == '.') {
            while (o > 1 && out[o - 1] != '/')
                o--;
            if (o > 1)
                o--;    /* drop the slash unless it is the root */
            out[o] = '\0';
        } else {
            leading = false;
            bool root = o == 1 && out[0] == '/';
            if (o + !root + n + 1 > cap)
                return HG_ETOOBIG;
            if (!root)
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
            out[o] = '\0';
        }
        p += n;
        if (*p == '/')
            p++;
    }
    return HG_OK;
}

/* Split "host:port" / "[v6]:port" and check both parts. Writes host into
 * hostbuf. Returns NULL or a hint saying what is wrong. */
static const char *split_listen(const char *s, size_t len, int64_t pmin,
                                int64_t pmax, char *hostbuf, size_t hcap,
                                int *port)
{
    const char *colon;
    size_t hlen;
    const char *h;
    if (len && s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        if (!rb)
            return "the IPv6 address has no closing ']'";
        h = s + 1;
        hlen = (size_t)(rb - h);
        if (rb + 1 >= s + len || rb[1] != ':')
            return "a ':' and a port must follow the ']'";
        colon = rb + 1;
        if (hlen == 0 || hlen >= hcap)
            return "the IPv6 address is empty or too long";
        memcpy(hostbuf, h, hlen);
        hostbuf[hlen] = '\0';
        unsigned char a6[16];
        if (inet_pton(AF_INET6, hostbuf, a6) != 1)
            return "the part in brackets is not an IPv6 address";
    } else {
        colon = memchr(s, ':', len);
        if (!colon)
            return "the port is missing";
        if (memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)))
            return "write IPv6 addresses in brackets, such as \"[::1]:8443\"";
        h = s;
        hlen = (size_t)(colon - s);
        if (hlen == 0)
            return "the host is empty; use 0.0.0.0 to listen on every IPv4 address";
        if (hlen >= hcap || hlen > 253)
            return "the host name is too long";
        memcpy(hostbuf, h, hlen);
        hostbuf[hlen] = '\0';
        unsigned char a4[4];
        if (inet_pton(AF_INET, hostbuf, a4) != 1) {
            if (!check_dns(hostbuf, hlen) || memchr(hostbuf, '*', hlen))
                return "the host is neither an IPv4 address nor a host name";
        }
    }
    size_t plen = len - (size_t)(colon + 1 - s);
    char pb[8];
    int64_t v;
    if (plen == 0 || plen > 5)
        return "the port must be 1 to 5 digits";
    memcpy(pb, colon + 1, plen);
    pb[plen] = '\0';
    if (pb[0] == '-' || hg_parse_i64(pb, pmin, pmax, &v) != HG_OK)
        return "the port is not a number in range";
    *port = (int)v;
    return NULL;
}

static void set_str(void *base, size_t off, char *v)
{
    char **f = (char **)((char *)base + off);
    free(*f);
    *f = v;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Parse one scalar for a scalar-typed row and store it into base. `n` is the
 * node it came from (NULL for built-in defaults). */
static hg_status set_scalar(struct cfg_ctx *c, const struct cfg_row *r,
                            void *base, const char *s, size_t len, bool plain,
                            const struct cfg_node *n, const char *key)
{
    int line = n ? n->line : 0;
    struct cfg_node fake = {.kind = N_SCALAR, .plain = plain,
                            .s = (char *)s, .len = len};
    if (!n)
        n = &fake;

    if (r->type != T_BOOL && r->type != T_INT && has_ctl(s, len))
        return expected(c, r, line, key, n,
                        "control characters are not allowed");
    switch (r->type) {
    case T_STRING: {
        size_t mn = r->min > 0 ? (size_t)r->min : 1;
        if (len < mn || len > str_max(r) || (r->check && !r->check(s, len)))
            return expected(c, r, line, key, n, NULL);
        char *v = dup_n(s, len);
        if (!v)
            return nomem(c);
        set_str(base, r->off, v);
        return HG_OK;
    }
    case T_ENUM:
        for (size_t i = 0; r->choices[i]; i++) {
            if (strlen(r->choices[i]) == len && memcmp(r->choices[i], s, len) == 0) {
                char *v = dup_n(s, len);
                if (!v)
                    return nomem(c);
                set_str(base, r->off, v);
                return HG_OK;
            }
        }
        return expected(c, r, line, key, n, NULL);
    case T_PATH: {
        char buf[CFG_MAX_PATH];
        if (len == 0)
            return expected(c, r, line, key, n, NULL);
        if (len >= 1 && s[0] == '~')
            return expected(c, r, line, key, n,
                            "'~' is not expanded; write the full path");
        if (memchr(s, '\0', len))
            return expected(c, r, line, key, n, NULL);
        if (resolve(c->dir, s, buf, sizeof buf) != HG_OK)
            return expected(c, r, line, key, n,
                            "the resolved path is longer than %d bytes",
                            CFG_MAX_PATH - 1);
        char *v = strdup(buf);
        if (!v)
            return nomem(c);
        set_str(base, r->off, v);
        return HG_OK;
    }
    case T_INT: {
        int64_t v;
        if (!plain)
            return expected(c, r, line, key, n, "write the number without quotes");
        if (s[0] == '+' || hg_parse_i64(s, r->min, r->max, &v) != HG_OK)
            return expected(c, r, line, key, n, NULL);
        *(int *)((char *)base + r->off) = (int)v;
        return HG_OK;
    }
    case T_SIZE:
    case T_DURATION: {
        uint64_t v;
        bool ok = parse_scaled(s, len, r->type == T_SIZE ? size_units : dur_units,
                               &v);
        if (!ok || v < (uint64_t)r->min || v > (uint64_t)r->max)
            return expected(c, r, line, key, n, NULL);
        if (r->type == T_SIZE)
            *(size_t *)((char *)base + r->off) = (size_t)v;
        else
            *(int *)((char *)base + r->off) = (int)v;
        return HG_OK;
    }
    case T_BOOL:
        if (plain && strcmp(s, "true") == 0)
            *(bool *)((char *)base + r->off) = true;
        else if (plain && strcmp(s, "false") == 0)
            *(bool *)((char *)base + r->off) = false;
        else
            return expected(c, r, line, key, n, NULL);
        return HG_OK;
    case T_LISTEN: {
        char host[256];
        int port = 0;
        const char *why = split_listen(s, len, r->min, r->max, host, sizeof host,
                                       &port);
        if (why)
            return expected(c, r, line, key, n, "%s", why);
        char *l = dup_n(s, len), *h = strdup(host);
        if (!l || !h) {
            free(l);
            free(h);
            return nomem(c);
        }
        set_str(base, r->off, l);
        set_str(base, r->off2, h);
        *(int *)((char *)base + r->off3) = port;
        return HG_OK;
    }
    case T_STRLIST:
    case T_MAPLIST:
        break;
    }
    return expected(c, r, line, key, n, NULL);
}

/* ------------------------------------------------------------- walking */

static hg_status walk_map(struct cfg_ctx *c, const struct cfg_row *tab,
                          size_t ntab, void *base, const struct cfg_node *map,
                          const char *sprefix, const char *dprefix, int *lines,
                          int keyline);

struct item_ref {
    const char *s;
    size_t i;
};

static int item_cmp(const void *a, const void *b)
{
    const struct item_ref *x = a, *y = b;
    int d = strcmp(x->s, y->s);
    return d ? d : (x->i > y->i) - (x->i < y->i);
}

/* Report the first item (in file order) that repeats an earlier one. Sorting
 * keeps this O(n log n): a 1 MiB file can hold hundreds of 1024-item lists. */
static hg_status strlist_unique(struct cfg_ctx *c, char **v,
                                const struct cfg_node *n, const char *key)
{
    if (n->nkid < 2)
        return HG_OK;
    struct item_ref *ref = malloc(n->nkid * sizeof *ref);
    if (!ref)
        return nomem(c);
    for (size_t i = 0; i < n->nkid; i++)
        ref[i] = (struct item_ref){v[i], i};
    qsort(ref, n->nkid, sizeof *ref, item_cmp);
    size_t dup = SIZE_MAX, first = 0;
    for (size_t i = 1; i < n->nkid; i++) {
        /* ref[i-1] is the earliest of its run when the run starts there. */
        if (strcmp(ref[i].s, ref[i - 1].s) == 0 &&
            (i == 1 || strcmp(ref[i - 1].s, ref[i - 2].s) != 0) &&
            ref[i].i < dup) {
            dup = ref[i].i;
            first = ref[i - 1].i;
        }
    }
    free(ref);
    if (dup == SIZE_MAX)
        return HG_OK;
    char e[100], ikey[CFG_KEYBUF];
    const struct cfg_node *it = n->kid[dup];
    esc(it->s, it->len, e, sizeof e, 60);
    key_index(ikey, key, dup);
    return cfg_fail(c, it->line, ikey,
                    "duplicate item \"%s\" (also item %zu at line %d); list "
                    "each one once", e, first, n->kid[first]->line);
}

static hg_status set_strlist(struct cfg_ctx *c, const struct cfg_row *r,
                             void *base, const struct cfg_node *n,
                             const char *key)
{
    if (n->kind == N_SCALAR && !is_null(n)) {
        char e[100];
        esc(n->s, n->len, e, sizeof e, 60);
        return expected(c, r, n->line, key, n, "write a single item as [%s]", e);
    }
    if (n->kind != N_SEQ)
        return expected(c, r, n->line, key, n, NULL);
    if (n->nkid > (size_t)r->max)
        return expected(c, r, n->line, key, n, "it has %zu items", n->nkid);
    char ***items = (char ***)((char *)base + r->off);
    size_t *count = (size_t *)((char *)base + r->off2);
    char **v = calloc(n->nkid ? n->nkid : 1, sizeof *v);
    if (!v)
        return nomem(c);
    /* Hand the array over before filling it so hg_config_free always sees a
     * consistent (items, count) pair, even after an error half-way. */
    for (size_t i = 0; i < *count; i++)
        free((*items)[i]);
    free(*items);
    *items = v;
    *count = n->nkid;
    for (size_t i = 0; i < n->nkid; i++) {
        const struct cfg_node *it = n->kid[i];
        char ikey[CFG_KEYBUF];
        key_index(ikey, key, i);
        if (it->kind != N_SCALAR || is_null(it) || it->len > CFG_MAX_STR ||
            has_ctl(it->s, it->len)) {
            char g[200];
            return cfg_fail(c, it->line, ikey, "expected a non-empty string, got %s",
                            got(it, g, sizeof g));
        }
        v[i] = dup_n(it->s, it->len);
        if (!v[i])
            return nomem(c);
    }
    return strlist_unique(c, v, n, key);
}

static hg_status apply_defaults(struct cfg_ctx *c, const struct cfg_row *tab,
                                size_t ntab, void *base)
{
    for (size_t i = 0; i < ntab; i++) {
        if (!tab[i].def)
            continue;
        hg_status rc = set_scalar(c, &tab[i], base, tab[i].def,
                                  strlen(tab[i].def), true, NULL, tab[i].key);
        if (rc != HG_OK)
            return rc;
    }
    return HG_OK;
}

static hg_status set_maplist(struct cfg_ctx *c, const struct cfg_row *r,
                             void *base, const struct cfg_node *n,
                             const char *key)
{
    if (n->kind != N_SEQ)
        return expected(c, r, n->line, key, n, NULL);
    if (n->nkid > (size_t)r->max)
        return expected(c, r, n->line, key, n,
                        "it has %zu entries; at most %lld are allowed", n->nkid,
                        (long long)r->max);
    /* Duplicate keys are refused before a row is set twice, so the array is
     * still empty here. */
    char *items = calloc(n->nkid ? n->nkid : 1, r->itemsize);
    if (!items)
        return nomem(c);
    *(void **)((char *)base + r->off) = items;
    *(size_t *)((char *)base + r->off2) = n->nkid;
    int *lines = calloc(r->nsub, sizeof *lines);
    if (!lines)
        return nomem(c);
    hg_status rc = HG_OK;
    for (size_t i = 0; i < n->nkid && rc == HG_OK; i++) {
        const struct cfg_node *it = n->kid[i];
        void *item = items + i * r->itemsize;
        char ikey[CFG_KEYBUF];
        key_index(ikey, key, i);
        if (it->kind != N_MAP) {
            char g[200];
            rc = cfg_fail(c, it->line, ikey, "expected a mapping (one entry of %s), got %s",
                          key, got(it, g, sizeof g));
            break;
        }
        memset(lines, 0, r->nsub * sizeof *lines);
        rc = apply_defaults(c, r->sub, r->nsub, item);
        if (rc == HG_OK)
            rc = walk_map(c, r->sub, r->nsub, item, it, "", ikey, lines, it->line);
        if (rc == HG_OK && r->item_check)
            rc = r->item_check(c, items, i, it, ikey, lines);
    }
    free(lines);
    return rc;
}

static hg_status set_value(struct cfg_ctx *c, const struct cfg_row *r,
                           void *base, const struct cfg_node *n,
                           const char *key)
{
    switch (r->type) {
    case T_STRLIST:
        return set_strlist(c, r, base, n, key);
    case T_MAPLIST:
        return set_maplist(c, r, base, n, key);
    default:
        break;
    }
    if (n->kind != N_SCALAR || is_null(n))
        return expected(c, r, n->line, key, n,
                        is_null(n) ? "remove the key to use the default" : NULL);
    return set_scalar(c, r, base, n->s, n->len, n->plain, n, key);
}

/* Does any row sit below `prefix` (i.e. is prefix a section)? */
static bool is_section(const struct cfg_row *tab, size_t ntab, const char *prefix)
{
    size_t pl = strlen(prefix);
    for (size_t i = 0; i < ntab; i++)
        if (strncmp(tab[i].key, prefix, pl) == 0 && tab[i].key[pl] == '.')
            return true;
    return false;
}

/* Edit distance counting a swap of two neighbours as one edit (optimal
 * string alignment), case-insensitive; both strings are at most
 * CFG_MAX_SEG bytes. */
static size_t edit_distance(const char *a, size_t al, const char *b)
{
    size_t bl = strlen(b);
    unsigned short d[CFG_MAX_SEG + 1][CFG_MAX_SEG + 1];
    if (al > CFG_MAX_SEG || bl > CFG_MAX_SEG)
        return SIZE_MAX;
    for (size_t i = 0; i <= al; i++)
        d[i][0] = (unsigned short)i;
    for (size_t j = 0; j <= bl; j++)
        d[0][j] = (unsigned short)j;
    for (size_t i = 1; i <= al; i++) {
        for (size_t j = 1; j <= bl; j++) {
            int ca = a[i - 1], cb = b[j - 1];
            if (ca >= 'A' && ca <= 'Z')
                ca += 'a' - 'A';
            if (cb >= 'A' && cb <= 'Z')
                cb += 'a' - 'A';
            unsigned v = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1u < v)
                v = d[i - 1][j] + 1u;
            if (d[i][j - 1] + 1u < v)
                v = d[i][j - 1] + 1u;
            if (i > 1 && j > 1 && ca != cb) {
                int pa = a[i - 2], pb = b[j - 2];
                if (pa >= 'A' && pa <= 'Z')
                    pa += 'a' - 'A';
                if (pb >= 'A' && pb <= 'Z')
                    pb += 'a' - 'A';
                if (ca == pb && cb == pa && d[i - 2][j - 2] + 1u < v)
                    v = d[i - 2][j - 2] + 1u;
            }
            d[i][j] = (unsigned short)v;
        }
    }
    return d[al][bl];
}

static hg_status unknown_key(struct cfg_ctx *c, const struct cfg_row *tab,
                             size_t ntab, const char *sprefix,
                             const char *dprefix, const struct cfg_node *k)
{
    char valid[256] = "", best[CFG_MAX_SEG + 1] = "";
    size_t vo = 0, bestd = SIZE_MAX, pl = strlen(sprefix);
    for (size_t i = 0; i < ntab; i++) {
        const char *rk = tab[i].key;
        if (pl && (strncmp(rk, sprefix, pl) != 0 || rk[pl] != '.'))
            continue;
        const char *seg = pl ? rk + pl + 1 : rk;
        size_t sl = strcspn(seg, ".");
        bool dup = false;   /* several rows share a section name */
        for (size_t j = 0; j < i && !dup; j++) {
            const char *pk = tab[j].key;
            if (pl && (strncmp(pk, sprefix, pl) != 0 || pk[pl] != '.'))
                continue;
            const char *ps = pl ? pk + pl + 1 : pk;
            dup = strcspn(ps, ".") == sl && memcmp(ps, seg, sl) == 0;
        }
        if (dup || sl > CFG_MAX_SEG)
            continue;
        char sname[CFG_MAX_SEG + 1];
        memcpy(sname, seg, sl);
        sname[sl] = '\0';
        if (vo < sizeof valid)
            vo += (size_t)snprintf(valid + vo, sizeof valid - vo, "%s%s",
                                   vo ? ", " : "", sname);
        size_t d = edit_distance(k->s, k->len, sname);
        if (d < bestd) {
            bestd = d;
            memcpy(best, sname, sl + 1);
        }
    }
    char e[CFG_MAX_SEG + 8], path[CFG_KEYBUF];
    esc(k->s, k->len, e, sizeof e, CFG_MAX_SEG);
    key_join(path, dprefix, e);
    /* A near-typo: one edit, or two in a word of five letters or more. */
    if (bestd <= 1 || (bestd == 2 && strlen(best) >= 5))
        return cfg_fail(c, k->line, path,
                        "unknown key; did you mean '%s'? Valid keys here: %s",
                        best, valid);
    return cfg_fail(c, k->line, path, "unknown key; valid keys here: %s", valid);
}

static hg_status walk_map(struct cfg_ctx *c, const struct cfg_row *tab,
                          size_t ntab, void *base, const struct cfg_node *map,
                          const char *sprefix, const char *dprefix, int *lines,
                          int keyline)
{
    hg_status rc;
    char g[200];
    for (size_t i = 0; i + 1 < map->nkid; i += 2) {
        const struct cfg_node *k = map->kid[i], *v = map->kid[i + 1];
        if (k->kind != N_SCALAR || is_null(k))
            return cfg_fail(c, k->line, dprefix,
                            "keys must be non-empty strings, got %s",
                            got(k, g, sizeof g));
        for (size_t j = 0; j < i; j += 2) {
            const struct cfg_node *pk = map->kid[j];
            if (pk->kind == N_SCALAR && pk->len == k->len &&
                memcmp(pk->s, k->s, k->len) == 0) {
                char e[CFG_MAX_SEG + 8], path[CFG_KEYBUF];
                esc(k->s, k->len, e, sizeof e, CFG_MAX_SEG);
                key_join(path, dprefix, e);
                return cfg_fail(c, k->line, path,
                                "duplicate key (first set at line %d); each key "
                                "may appear only once", pk->line);
            }
        }
        if (k->len > CFG_MAX_SEG || memchr(k->s, '.', k->len) ||
            strlen(k->s) != k->len)
            return unknown_key(c, tab, ntab, sprefix, dprefix, k);
        char full[CFG_KEYBUF], dkey[CFG_KEYBUF];
        key_join(full, sprefix, k->s);
        key_join(dkey, dprefix, k->s);
        const struct cfg_row *r = NULL;
        for (size_t j = 0; j < ntab && !r; j++)
            if (strcmp(tab[j].key, full) == 0)
                r = &tab[j];
        if (r) {
            rc = set_value(c, r, base, v, dkey);
            if (rc != HG_OK)
                return rc;
            lines[r - tab] = k->line;
        } else if (is_section(tab, ntab, full)) {
            if (v->kind != N_MAP)
                return cfg_fail(c, v->line, dkey,
                                "expected a mapping of settings (keys on the lines "
                                "below, indented), got %s", got(v, g, sizeof g));
            rc = walk_map(c, tab, ntab, base, v, full, dkey, lines, k->line);
            if (rc != HG_OK)
                return rc;
        } else {
            return unknown_key(c, tab, ntab, sprefix, dprefix, k);
        }
    }
    /* Required rows under this prefix that no key supplied. Those inside a
     * sub-mapping that is present were checked by the recursion, so what is
     * left is absent here. */
    size_t pl = strlen(sprefix);
    for (size_t i = 0; i < ntab; i++) {
        if (!(tab[i].flags & F_REQUIRED) || lines[i])
            continue;
        if (pl && (strncmp(tab[i].key, sprefix, pl) != 0 || tab[i].key[pl] != '.'))
            continue;
        char dkey[CFG_KEYBUF];
        const char *rest = pl ? tab[i].key + pl + 1 : tab[i].key;
        key_join(dkey, dprefix, rest);
        return cfg_fail(c, keyline, dkey,
                        "required key is missing; add it: %s", tab[i].doc);
    }
    return HG_OK;
}

/* -------------------------------------------------------- client rules */

static bool name_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
           (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
}

static bool check_client_name(const char *s, size_t len)
{
    if (len < 1 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!name_char(s[i]))
            return false;
    return true;
}

/* RFC 3986 scheme ":" then something, no spaces. */
static bool check_uri(const char *s, size_t len)
{
    size_t i = 0;
    if (len == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    while (i < len && s[i] != ':') {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.'))
            return false;
        i++;
    }
    if (i == len || i + 1 == len)
        return false;
    for (; i < len; i++)
        if (s[i] == ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

/* Host name: labels of letters, digits, '-' (and '*' for wildcard SANs). */
static bool check_dns(const char *s, size_t len)
{
    if (len == 0 || len > 253 || s[0] == '.' || s[0] == '-' || s[len - 1] == '.')
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '*'))
            return false;
        if (++label > 63)
            return false;
    }
    return true;
}

static bool check_thumbprint(const char *s, size_t len)
{
    unsigned char raw[33];
    size_t n = 0;
    return len == 43 && hg_b64url_decode(s, len, raw, sizeof raw, &n) == HG_OK &&
           n == 32;
}

/* "https://" and a host; no spaces or control characters. */
static bool check_https_url(const char *s, size_t len)
{
    if (len <= 8 || strncmp(s, "https://", 8) != 0 || s[8] == '/')
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

static hg_status issuer_check(struct cfg_ctx *c, void *items, size_t i,
                              const struct cfg_node *item, const char *dpath,
                              const int *lines)
{
    struct hg_config_issuer *all = items, *is = &all[i];
    char key[CFG_KEYBUF];
    (void)lines;
    for (size_t j = 0; j < i; j++)
        if (strcmp(all[j].issuer, is->issuer) == 0) {
            key_join(key, dpath, "issuer");
            return cfg_fail(c, key_line(item, "issuer", item->line), key,
                            "duplicate issuer '%s' (also auth.issuers[%zu]); list each "
                            "identity provider once", is->issuer, j);
        }
    for (size_t j = 0; j < is->nrole_map; j++) {
        const char *m = is->role_map[j], *eq = strchr(m, '=');
        if (!eq || eq == m || !eq[1] || strchr(eq + 1, '=') || strlen(eq + 1) > 32) {
            key_join(key, dpath, "role_map");
            return cfg_fail(c, key_line(item, "role_map", item->line), key,
                            "item %zu ('%s') is not \"their-role=our-role\" (our role at "
                            "most 32 characters)", j, m);
        }
    }
    return HG_OK;
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int key_line(const struct cfg_node *map, const char *key, int dflt)
{
    for (size_t i = 0; i + 1 < map->nkid; i += 2)
        if (map->kid[i]->kind == N_SCALAR && strcmp(map->kid[i]->s, key) == 0)
            return map->kid[i]->line;
    return dflt;
}

static hg_status client_check(struct cfg_ctx *c, void *items, size_t i,
                              const struct cfg_node *item, const char *dpath,
                              const int *lines)
{
    struct hg_config_client *all = items, *cl = &all[i];
    char key[CFG_KEYBUF];
    (void)lines;
    if (!cl->match_uri && !cl->match_dns && !cl->match_cn && !cl->match_thumbprint) {
        key_join(key, dpath, "match");
        return cfg_fail(c, key_line(item, "match", item->line), key,
                        "a client needs a match with at least one of uri, dns, cn, "
                        "thumbprint; without one no certificate maps to '%s'",
                        cl->name);
    }
    for (size_t j = 0; j < cl->nscopes; j++)
        if (!hg_scope_bit(cl->scopes[j], strlen(cl->scopes[j]))) {
            char known[HG_SCOPE_LIST_MAX + 1];
            hg_scope_format(HG_SCOPE_ALL, known, sizeof known); /* the one list */
            key_join(key, dpath, "scopes");
            return cfg_fail(c, key_line(item, "scopes", item->line), key,
                            "unknown scope '%s'; the scopes are: %s", cl->scopes[j], known);
        }
    for (size_t j = 0; j < i; j++) {
        if (strcmp(all[j].name, cl->name) == 0) {
            key_join(key, dpath, "name");
            return cfg_fail(c, key_line(item, "name", item->line), key,
                            "duplicate client name '%s' (also clients[%zu]); "
                            "names must be unique", cl->name, j);
        }
        if (same_str(all[j].match_uri, cl->match_uri) &&
            same_str(all[j].match_dns, cl->match_dns) &&
            same_str(all[j].match_cn, cl->match_cn) &&
            same_str(all[j].match_thumbprint, cl->match_thumbprint)) {
            key_join(key, dpath, "match");
            return cfg_fail(c, key_line(item, "match", item->line), key,
                            "the same match as clients[%zu] ('%s'); a certificate "
                            "must map to one client only", j, all[j].name);
        }
    }
    return HG_OK;
}

/* ------------------------------------------------------------ lifecycle */

static void free_fields(const struct cfg_row *tab, size_t ntab, void *base)
{
    for (size_t i = 0; i < ntab; i++) {
        const struct cfg_row *r = &tab[i];
        char *b = base;
        switch (r->type) {
        case T_STRING:
        case T_PATH:
        case T_ENUM:
            free(*(char **)(b + r->off));
            break;
        case T_LISTEN:
            free(*(char **)(b + r->off));
            free(*(char **)(b + r->off2));
            break;
        case T_STRLIST: {
            char **v = *(char ***)(b + r->off);
            size_t n = *(size_t *)(b + r->off2);
            for (size_t j = 0; v && j < n; j++)
                free(v[j]);
            free(v);
            break;
        }
        case T_MAPLIST: {
            char *v = *(char **)(b + r->off);
            size_t n = *(size_t *)(b + r->off2);
            for (size_t j = 0; v && j < n; j++)
                free_fields(r->sub, r->nsub, v + j * r->itemsize);
            free(v);
            break;
        }
        case T_INT:
        case T_SIZE:
        case T_DURATION:
        case T_BOOL:
            break;
        }
    }
}

void hg_config_free(struct hg_config *cfg)
{
    if (!cfg)
        return;
    free_fields(cfg_rows, NROWS, cfg);
    free(cfg->path);
    free(cfg);
}

/* Checks that involve more than one row. */
static hg_status cross_checks(struct cfg_ctx *c, const struct hg_config *cfg,
                              const int *lines)
{
    if (cfg->api.port != 0 && cfg->api.port == cfg->admin.port &&
        strcmp(cfg->api.host, cfg->admin.host) == 0) {
        int li = 0;
        for (size_t i = 0; i < NROWS; i++)
            if (strcmp(cfg_rows[i].key, "admin.listen") == 0)
                li = lines[i];
        if (!li)
            for (size_t i = 0; i < NROWS; i++)
                if (strcmp(cfg_rows[i].key, "api.listen") == 0)
                    li = lines[i];
        return cfg_fail(c, li, li ? "admin.listen" : NULL,
                        "api.listen and admin.listen are both %s; give them "
                        "different ports", cfg->api.listen);
    }
    return HG_OK;
}

static hg_status load_text(const char *name, const char *abspath,
                           const char *text, size_t len,
                           struct hg_config **out, struct hg_err *err)
{
    struct cfg_ctx c = {.file = name, .err = err};
    struct hg_config *cfg = NULL;
    struct cfg_node *root = NULL;
    int lines[NROWS] = {0};
    hg_status rc;

    if (len > CFG_MAX_FILE) {
        rc = cfg_fail(&c, 0, NULL,
                      "the file is %zu bytes; a configuration may be at most %d bytes",
                      len, CFG_MAX_FILE);
        goto out;
    }
    c.dir = strdup(abspath);
    cfg = calloc(1, sizeof *cfg);
    if (!c.dir || !cfg) {
        rc = nomem(&c);
        goto out;
    }
    char *slash = strrchr(c.dir, '/');
    if (slash == c.dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    cfg->path = strdup(abspath);
    if (!cfg->path) {
        rc = nomem(&c);
        goto out;
    }
    rc = apply_defaults(&c, cfg_rows, NROWS, cfg);
    if (rc != HG_OK)
        goto out;
    rc = parse_tree(&c, text, len, &root);
    if (rc != HG_OK)
        goto out;
    if (root->kind != N_MAP) {
        char g[200];
        rc = cfg_fail(&c, root->line, NULL,
                      "the top level must be a mapping of settings such as "
                      "'api:', got %s", got(root, g, sizeof g));
        goto out;
    }
    rc = walk_map(&c, cfg_rows, NROWS, cfg, root, "", "", lines, root->line);
    if (rc != HG_OK)
        goto out;
    rc = cross_checks(&c, cfg, lines);
    if (rc != HG_OK)
        goto out;
    *out = cfg;
    cfg = NULL;
out:
    node_free(root);
    hg_config_free(cfg);
    free(c.dir);
    return rc;
}

hg_status hg_config_load_mem(const char *name, const char *text, size_t len,
                             struct hg_config **out, struct hg_err *err)
{
    char cwd[CFG_MAX_PATH], abspath[CFG_MAX_PATH];
    hg_err_clear(err);
    if (!out || !name || (!text && len))
        return hg_err_set(err, HG_EINVAL, "hg_config_load_mem: NULL argument");
    *out = NULL;
    if (!getcwd(cwd, sizeof cwd))
        return hg_err_set(err, HG_ECONFIG,
                          "%s: cannot find the current directory to resolve "
                          "relative paths against: %s", name, strerror(errno));
    if (!*name || resolve(cwd, name, abspath, sizeof abspath) != HG_OK)
        return hg_err_set(err, HG_ECONFIG, "%s: the name is empty or too long",
                          name);
    return load_text(name, abspath, text ? text : "", len, out, err);
}

hg_status hg_config_load(const char *path, struct hg_config **out,
                         struct hg_err *err)
{
    char *text = NULL;
    char *abspath = NULL;
    size_t len = 0;
    hg_status rc;

    hg_err_clear(err);
    if (!out || !path)
        return hg_err_set(err, HG_EINVAL, "hg_config_load: NULL argument");
    *out = NULL;
    rc = hg_fs_read_bounded(path, CFG_MAX_FILE, "configuration file",
                            "check the path (relative paths start at the current directory)",
                            &text, &len, err);
    if (rc != HG_OK) {
        /* every way a configuration can fail to load is a configuration error */
        if (rc != HG_ENOMEM)
            rc = err->status = HG_ECONFIG;
        goto out;
    }
    abspath = realpath(path, NULL);
    if (!abspath) {
        rc = hg_err_set(err, HG_ECONFIG, "%s: cannot resolve the path: %s", path,
                        strerror(errno));
        goto out;
    }
    rc = load_text(path, abspath, text, len, out, err);
out:
    free(text);
    free(abspath);
    return rc;
}

hg_status hg_config_defaults(struct hg_config **out)
{
    char cwd[CFG_MAX_PATH];
    struct cfg_ctx c = {.file = "(defaults)", .err = NULL};
    struct hg_config *cfg;
    hg_status rc;

    if (!out)
        return HG_EINVAL;
    *out = NULL;
    if (!getcwd(cwd, sizeof cwd))
        return HG_ESYS;
    cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return HG_ENOMEM;
    c.dir = cwd;
    rc = apply_defaults(&c, cfg_rows, NROWS, cfg);
    if (rc != HG_OK) {
        hg_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return HG_OK;
}
