/* SPDX-License-Identifier: Apache-2.0
 *
 * config.h — haulgated's configuration: one YAML file, loaded strictly.
 * An unknown key, a wrong type, a value out of range or a missing file is an
 * error that names the file, the line and the key; the daemon then refuses to
 * start. Keys are described by one schema table in config.c (key, type,
 * default, range, one-line doc) that also drives `--check-config` and the
 * documented example in config/haulgate.example.yaml.
 *
 * Relative paths in the file are resolved against the directory that holds
 * the file, so a config works the same from any working directory.
 */
#ifndef HG_APP_CONFIG_H
#define HG_APP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

/* A client certificate identity mapped to a principal. At least one match_*
 * is set; all that are set must match. */
struct hg_config_client {
    char *name;              /* principal name, unique */
    char *match_uri;         /* SAN URI, e.g. spiffe://haulgate.dev/tms */
    char *match_dns;         /* SAN DNS name */
    char *match_cn;          /* subject CN */
    char *match_thumbprint;  /* x5t#S256, base64url SHA-256 of the DER cert */
    char **roles;
    size_t nroles;
    char *tenant;            /* may be NULL */
    char **regions;
    size_t nregions;
    char *cert;              /* optional certificate file, for the expiry metric */
    char **scopes;           /* OAuth scopes it may be granted; none listed =
                              * the defaults of its roles (auth/scope.h) */
    size_t nscopes;
};

/* A trusted external identity provider (auth/issuers.h). */
struct hg_config_issuer {
    char *issuer;            /* exact "iss" of its tokens */
    char *jwks_url;          /* https URL of its JWK Set */
    char *audience;          /* "aud" its tokens must carry for us */
    char *ca;                /* PEM CA bundle for the JWKS fetch; NULL = system */
    int refresh_interval_ms; /* least time between refetches on an unknown kid */
    int max_age_ms;          /* keys are refetched after this long */
    int fetch_timeout_ms;
    char *roles_claim;       /* claim holding its roles (string or array) */
    char **role_map;         /* "its-role=our-role" pairs */
    size_t nrole_map;
    char *tenant_claim;      /* claim holding the tenant; NULL = use `tenant` */
    char *tenant;            /* fixed tenant for its principals; may be NULL */
    bool insecure_unbound_tokens; /* accept tokens without cnf (warned) */
};

struct hg_config_tls {
    char *cert;              /* PEM server certificate (chain) */
    char *key;               /* PEM private key */
    char *ca;                /* PEM CA bundle that client certificates must chain to */
    char *crl;               /* PEM CRL file; NULL = no CRL checking */
};

struct hg_config {
    char *path;              /* absolute path of the file loaded */
    char *data_dir;          /* created 0700 at start-up */

    struct {
        char *listen;        /* "host:port"; port 0 = ephemeral */
        char *host;          /* split from listen */
        int port;
        int threads;         /* 0 = one per CPU */
        struct hg_config_tls tls;
        size_t max_header_bytes;   /* 431 above this */
        size_t max_body_bytes;     /* 413 above this */
        int header_timeout_ms;     /* whole request head must arrive within */
        int read_timeout_ms;       /* body / idle keep-alive read timeout */
        int write_timeout_ms;
        int max_connections;       /* per process; new ones are refused above */
    } api;

    struct {
        char *listen;
        char *host;
        int port;
    } admin;

    struct {
        int drain_timeout_ms;      /* SIGTERM: in-flight requests get this long */
    } shutdown;

    struct {
        char *level;               /* debug | info | warn | error */
        char *file;                /* NULL = standard error */
    } log;

    struct {
        int checkpoint_records;    /* sign a checkpoint after this many records */
        int checkpoint_interval_ms; /* ... or this long after the last one, if
                                     * records are uncovered */
    } audit;

    struct {
        char *backend;             /* "sqlite" */
        char *path;                /* NULL = <data_dir>/haulgate.db */
        char *durability;          /* "full" | "normal" */
        int queue_max;             /* waiting write jobs; 503 above */
        int batch_max;             /* jobs per commit group */
    } store;

    struct {
        int ttl_ms;                /* keys and stored responses live this long */
        int sweep_interval_ms;
    } idempotency;

    struct {
        int rate;                  /* requests/s per principal; 0 = unlimited */
        int burst;
    } ratelimit;

    struct {
        int max_wait_ms;           /* cap on Prefer: wait */
    } tenders;

    struct {
        char *issuer;              /* NULL = "https://<api.listen>" at start-up */
        char *audience;            /* NULL = the issuer */
        int token_lifetime_ms;
        int leeway_ms;             /* on exp / nbf / iat */
        char *signing_alg;         /* "ES256" | "EdDSA" */
        char *keys_dir;            /* NULL = <data_dir>/keys */
        int key_publish_delay_ms;  /* a new key is in the JWKS this long before it signs */
        int key_check_interval_ms; /* how often the manifest is checked for rotations */
        int token_cache;           /* verified-token cache entries; 0 = off */
        bool insecure_mtls_only;   /* no tokens: certificate principals get their
                                    * configured scopes (benchmarks only; warned) */
        struct {
            int iat_window_ms;
            int jti_cache;         /* replay cache entries */
            bool require_nonce;
            int nonce_step_ms;
        } dpop;
        struct hg_config_issuer *issuers;
        size_t nissuers;
    } auth;

    struct {
        char *file;                /* ABAC rules (docs/policy.md); NULL = deny all */
    } policy;

    struct hg_config_client *clients;
    size_t nclients;
};

/* Load and validate `path`. On success *out is a new config (free with
 * hg_config_free). On failure returns HG_ECONFIG (or HG_ENOMEM) and `err`
 * says "FILE:LINE: key 'a.b': what is wrong; what to do". */
hg_status hg_config_load(const char *path, struct hg_config **out,
                         struct hg_err *err);

/* Like hg_config_load, but the file's bytes are given: `len` bytes of `text`
 * (need not be NUL-terminated), at most 1 MiB. `name` is used in messages and
 * as the file's location: relative paths in the text resolve against its
 * directory (a relative `name` starts at the current directory; it need not
 * exist). For fuzzing and tests. Returns HG_OK, HG_ECONFIG, HG_ENOMEM, or
 * HG_EINVAL for NULL arguments. */
hg_status hg_config_load_mem(const char *name, const char *text, size_t len,
                             struct hg_config **out, struct hg_err *err);

/* A config with every default and no file (used by tests and haulctl):
 * path NULL, TLS paths NULL, no clients, data_dir "./data" resolved against
 * the current directory. HG_OK, HG_ENOMEM, or HG_ESYS if the current
 * directory cannot be found. */
hg_status hg_config_defaults(struct hg_config **out);

void hg_config_free(struct hg_config *cfg);

#endif
