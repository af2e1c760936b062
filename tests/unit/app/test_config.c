/* SPDX-License-Identifier: Apache-2.0
 *
 * test_config.c — app/config: the example file loads with its documented
 * values; defaults; every class of error names the exact FILE:LINE and key;
 * relative paths resolve against the file's directory; sizes and durations
 * with suffixes; the size bounds. Includes config.c to reach the schema table
 * (to check that docs and example cover every key) and the bool type, which
 * no key uses yet. Each case writes its files into its own mkdtemp()
 * directory and removes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/config.c"
#include "common/buf.h"

/* ------------------------------------------------------------ fixture */

struct fx {
    char dir[PATH_MAX];       /* realpath of the mkdtemp directory */
    char path[PATH_MAX + 64]; /* the config file being loaded */
    struct hg_config *cfg;
    struct hg_err err;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char tmpl[] = "/tmp/hg-config-XXXXXX";
    if (!f || !mkdtemp(tmpl) || !realpath(tmpl, f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    hg_config_free(f->cfg);
    int rc = nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return rc;
}

static void write_at(const char *path, const char *text, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Write `text` to DIR/c.yaml and load it. */
static hg_status load(struct fx *f, const char *text)
{
    snprintf(f->path, sizeof f->path, "%s/c.yaml", f->dir);
    write_at(f->path, text, strlen(text));
    hg_config_free(f->cfg);
    f->cfg = NULL;
    return hg_config_load(f->path, &f->cfg, &f->err);
}

/* The load must fail with a message that starts "PATH:LINE: key 'KEY': "
 * (no key part when key is NULL) and contains `needle`. */
static void expect_err(struct fx *f, const char *text, int line,
                       const char *key, const char *needle)
{
    char prefix[PATH_MAX + 256];
    assert_int_equal(load(f, text), HG_ECONFIG);
    assert_null(f->cfg);
    assert_int_equal(f->err.status, HG_ECONFIG);
    if (key)
        snprintf(prefix, sizeof prefix, "%s:%d: key '%s': ", f->path, line, key);
    else
        snprintf(prefix, sizeof prefix, "%s:%d: ", f->path, line);
    if (strncmp(f->err.msg, prefix, strlen(prefix)) != 0 ||
        !strstr(f->err.msg + strlen(prefix), needle)) {
        print_error("message: %s\nwanted prefix: %s\nand: %s\n", f->err.msg,
                    prefix, needle);
        fail();
    }
}

static void expect_exact(struct fx *f, const char *text, int line,
                         const char *key, const char *rest)
{
    char want[PATH_MAX + 1024];
    assert_int_equal(load(f, text), HG_ECONFIG);
    snprintf(want, sizeof want, "%s:%d: key '%s': %s", f->path, line, key, rest);
    assert_string_equal(f->err.msg, want);
}

/* Lines 1-5: the three required keys. Tests append from line 6 on. */
#define BASE "api:\n" \
             "  tls:\n" \
             "    cert: c.pem\n" \
             "    key: k.pem\n" \
             "    ca: ca.pem\n"

static const char *root(void)
{
    const char *r = getenv("HG_ROOT");
    return r && *r ? r : ".";
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%s/%s", a, b);
    return s;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return calloc(1, 1);   /* a missing file documents nothing */
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* ----------------------------------------------------- example, defaults */

static void example_loads(void **state)
{
    struct fx *f = *state;
    char *p = join(root(), "config/haulgate.example.yaml");
    char rr[PATH_MAX], want[PATH_MAX + 64];
    assert_non_null(realpath(root(), rr));

    assert_int_equal(hg_config_load(p, &f->cfg, &f->err), HG_OK);
    const struct hg_config *c = f->cfg;
    snprintf(want, sizeof want, "%s/config/haulgate.example.yaml", rr);
    assert_string_equal(c->path, want);
    snprintf(want, sizeof want, "%s/run/data", rr);
    assert_string_equal(c->data_dir, want);
    assert_string_equal(c->api.listen, "127.0.0.1:8443");
    assert_string_equal(c->api.host, "127.0.0.1");
    assert_int_equal(c->api.port, 8443);
    assert_int_equal(c->api.threads, 0);
    snprintf(want, sizeof want, "%s/run/pki/server.crt", rr);
    assert_string_equal(c->api.tls.cert, want);
    snprintf(want, sizeof want, "%s/run/pki/server.key", rr);
    assert_string_equal(c->api.tls.key, want);
    snprintf(want, sizeof want, "%s/run/pki/ca.crt", rr);
    assert_string_equal(c->api.tls.ca, want);
    snprintf(want, sizeof want, "%s/run/pki/crl.pem", rr);
    assert_string_equal(c->api.tls.crl, want);
    assert_int_equal(c->api.max_header_bytes, 16 * 1024);
    assert_int_equal(c->api.max_body_bytes, 1024 * 1024);
    assert_int_equal(c->api.header_timeout_ms, 10000);
    assert_int_equal(c->api.read_timeout_ms, 60000);
    assert_int_equal(c->api.write_timeout_ms, 30000);
    assert_int_equal(c->api.max_connections, 10000);
    assert_string_equal(c->admin.listen, "127.0.0.1:9090");
    assert_string_equal(c->admin.host, "127.0.0.1");
    assert_int_equal(c->admin.port, 9090);
    assert_int_equal(c->shutdown.drain_timeout_ms, 10000);
    assert_string_equal(c->log.level, "info");
    assert_null(c->log.file);

    assert_int_equal(c->nclients, 3);
    const struct hg_config_client *t = &c->clients[0];
    assert_string_equal(t->name, "tms");
    assert_string_equal(t->match_uri, "spiffe://haulgate.dev/tms");
    assert_null(t->match_dns);
    assert_null(t->match_cn);
    assert_null(t->match_thumbprint);
    assert_int_equal(t->nroles, 1);
    assert_string_equal(t->roles[0], "tms");
    assert_string_equal(t->tenant, "acme");
    assert_int_equal(t->nregions, 2);
    assert_string_equal(t->regions[0], "us-tx");
    assert_string_equal(t->regions[1], "us-az");
    snprintf(want, sizeof want, "%s/run/pki/tms.crt", rr);
    assert_string_equal(t->cert, want);

    const struct hg_config_client *o = &c->clients[1];
    assert_string_equal(o->name, "operator");
    assert_string_equal(o->match_uri, "spiffe://haulgate.dev/operator");
    assert_int_equal(o->nroles, 1);
    assert_string_equal(o->roles[0], "operator");
    assert_string_equal(o->tenant, "acme");
    assert_int_equal(o->nregions, 0);
    snprintf(want, sizeof want, "%s/run/pki/operator.crt", rr);
    assert_string_equal(o->cert, want);

    const struct hg_config_client *s = &c->clients[2];
    assert_string_equal(s->name, "provider-sim");
    assert_string_equal(s->match_uri, "spiffe://haulgate.dev/provider-sim");
    assert_int_equal(s->nroles, 1);
    assert_string_equal(s->roles[0], "provider");
    assert_string_equal(s->tenant, "acme");
    snprintf(want, sizeof want, "%s/run/pki/provider-sim.crt", rr);
    assert_string_equal(s->cert, want);
    free(p);
}

/* The example documents every key, and docs/configuration.md has a row for
 * every key: adding a schema row without documenting it fails here. */
static void docs_cover_schema(void **state)
{
    (void)state;
    char *ep = join(root(), "config/haulgate.example.yaml");
    char *dp = join(root(), "docs/configuration.md");
    char *ex = slurp(ep), *doc = slurp(dp);
    char want[128], missing[2048] = "";
    size_t o = 0;
    free(ep);
    free(dp);
    for (size_t t = 0; t < 3; t++) {
        const struct cfg_row *tab = t == 2 ? issuer_rows : t ? client_rows : cfg_rows;
        size_t n = t == 2   ? sizeof issuer_rows / sizeof issuer_rows[0]
                   : t == 1 ? sizeof client_rows / sizeof client_rows[0]
                            : NROWS;
        const char *pre = t == 2 ? "auth.issuers[]." : t ? "clients[]." : "";
        for (size_t i = 0; i < n; i++) {
            const char *leaf = strrchr(tab[i].key, '.');
            leaf = leaf ? leaf + 1 : tab[i].key;
            snprintf(want, sizeof want, "%s:", leaf);
            if (!strstr(ex, want) && o < sizeof missing)
                o += (size_t)snprintf(missing + o, sizeof missing - o,
                                      " example:%s%s", pre, tab[i].key);
            snprintf(want, sizeof want, "| `%s%s` |", pre, tab[i].key);
            if (!strstr(doc, want) && o < sizeof missing)
                o += (size_t)snprintf(missing + o, sizeof missing - o,
                                      " docs:%s%s", pre, tab[i].key);
        }
    }
    free(ex);
    free(doc);
    if (o)
        fail_msg("not documented:%s", missing);
}

static void defaults(void **state)
{
    struct fx *f = *state;
    char cwd[PATH_MAX], want[PATH_MAX + 16];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(hg_config_defaults(&f->cfg), HG_OK);
    const struct hg_config *c = f->cfg;
    assert_null(c->path);
    snprintf(want, sizeof want, "%s/data", cwd);
    assert_string_equal(c->data_dir, want);
    assert_string_equal(c->api.listen, "127.0.0.1:8443");
    assert_string_equal(c->api.host, "127.0.0.1");
    assert_int_equal(c->api.port, 8443);
    assert_int_equal(c->api.threads, 0);
    assert_null(c->api.tls.cert);
    assert_null(c->api.tls.key);
    assert_null(c->api.tls.ca);
    assert_null(c->api.tls.crl);
    assert_int_equal(c->api.max_header_bytes, 16384);
    assert_int_equal(c->api.max_body_bytes, 1048576);
    assert_int_equal(c->api.header_timeout_ms, 10000);
    assert_int_equal(c->api.read_timeout_ms, 60000);
    assert_int_equal(c->api.write_timeout_ms, 30000);
    assert_int_equal(c->api.max_connections, 10000);
    assert_string_equal(c->admin.listen, "127.0.0.1:9090");
    assert_int_equal(c->admin.port, 9090);
    assert_int_equal(c->shutdown.drain_timeout_ms, 10000);
    assert_string_equal(c->log.level, "info");
    assert_null(c->log.file);
    assert_int_equal(c->nclients, 0);
    assert_null(c->clients);
    /* identity and authorization (docs/auth.md) */
    assert_null(c->auth.issuer);   /* derived from api.listen at start-up */
    assert_null(c->auth.audience);
    assert_int_equal(c->auth.token_lifetime_ms, 5 * 60 * 1000);
    assert_int_equal(c->auth.leeway_ms, 60000);
    assert_string_equal(c->auth.signing_alg, "ES256");
    assert_int_equal(c->auth.key_publish_delay_ms, 5 * 60 * 1000);
    assert_int_equal(c->auth.token_cache, 10000);
    assert_false(c->auth.insecure_mtls_only);
    assert_int_equal(c->auth.dpop.iat_window_ms, 60000);
    assert_false(c->auth.dpop.require_nonce);
    assert_int_equal(c->auth.nissuers, 0);
    assert_null(c->policy.file);
    hg_config_free(NULL); /* NULL-safe */
    assert_int_equal(hg_config_defaults(NULL), HG_EINVAL);
}

/* A file with only the required keys gets every default, and the default
 * data_dir is next to the file. */
static void minimal_file_takes_defaults(void **state)
{
    struct fx *f = *state;
    char want[PATH_MAX + 16];
    assert_int_equal(load(f, BASE), HG_OK);
    snprintf(want, sizeof want, "%s/data", f->dir);
    assert_string_equal(f->cfg->data_dir, want);
    snprintf(want, sizeof want, "%s/c.pem", f->dir);
    assert_string_equal(f->cfg->api.tls.cert, want);
    assert_null(f->cfg->api.tls.crl);
    assert_int_equal(f->cfg->api.max_body_bytes, 1048576);
    assert_string_equal(f->cfg->log.level, "info");
    assert_int_equal(f->cfg->nclients, 0);
}

/* --------------------------------------------------------------- errors */

static void err_unknown_key_suggests(void **state)
{
    struct fx *f = *state;
    expect_exact(f, BASE "  limts:\n    max_body_bytes: 2KiB\n", 6, "api.limts",
                 "unknown key; did you mean 'limits'? Valid keys here: listen, "
                 "threads, tls, limits");
    expect_exact(f, "data-dir: x\n" BASE, 1, "data-dir",
                 "unknown key; did you mean 'data_dir'? Valid keys here: "
                 "data_dir, api, admin, shutdown, log, audit, store, idempotency, ratelimit, tenders, auth, policy, clients");
    expect_err(f, BASE "    cret: x\n", 6, "api.tls.cret", "did you mean 'cert'?");
    /* Nothing close: no suggestion, but the list. */
    expect_exact(f, BASE "frobnicate: 1\n", 6, "frobnicate",
                 "unknown key; valid keys here: data_dir, api, admin, shutdown, "
                 "log, audit, store, idempotency, ratelimit, tenders, auth, policy, clients");
    /* A dotted key is not a shortcut for nesting. */
    expect_err(f, BASE "log.level: info\n", 6, "log.level", "unknown key");
    expect_err(f, BASE "clients:\n  - name: a\n    match: {cn: x}\n    tennant: t\n",
               9, "clients[0].tennant", "did you mean 'tenant'?");
}

static void err_bad_type(void **state)
{
    struct fx *f = *state;
    expect_exact(f, BASE "  limits:\n    max_body_bytes: lots\n", 7,
                 "api.limits.max_body_bytes",
                 "expected a size from 1 KiB to 64 MiB (a whole number of bytes, "
                 "or one followed by KiB, MiB or GiB), got \"lots\"");
    expect_exact(f, BASE "  threads: \"4\"\n", 6, "api.threads",
                 "expected an integer from 0 to 64, got \"4\" (quoted); write the "
                 "number without quotes");
    expect_err(f, BASE "  threads: [1]\n", 6, "api.threads", "got a list");
    expect_err(f, BASE "  threads: {a: 1}\n", 6, "api.threads", "got a mapping");
    expect_err(f, BASE "  threads: 1.5\n", 6, "api.threads", "got \"1.5\"");
    expect_err(f, BASE "  threads:\n", 6, "api.threads",
               "got an empty value; remove the key to use the default");
    expect_err(f, BASE "log: [info]\n", 6, "log",
               "expected a mapping of settings");
    expect_err(f, "api: 3\n", 1, "api", "expected a mapping of settings");
    expect_err(f, BASE "clients:\n  name: a\n", 7, "clients",
               "expected a list of clients, each a mapping with a name and a "
               "match, got a mapping");
    expect_err(f, BASE "clients:\n  - tms\n", 7, "clients[0]",
               "expected a mapping (one entry of clients), got \"tms\"");
    expect_err(f, BASE "clients:\n  - name: a\n    match: {cn: x}\n    roles: tms\n",
               9, "clients[0].roles", "write a single item as [tms]");
    expect_err(f, BASE "clients:\n  - name: a\n    match: {cn: x}\n    roles: [[a]]\n",
               9, "clients[0].roles[0]", "expected a non-empty string, got a list");
    expect_err(f, BASE "data_dir: \"a\\tb\"\n", 6, "data_dir",
               "control characters are not allowed");
    expect_err(f, "- api\n", 1, NULL,
               "the top level must be a mapping of settings such as 'api:', got a list");
}

static void err_out_of_range(void **state)
{
    struct fx *f = *state;
    expect_exact(f, BASE "  threads: 65\n", 6, "api.threads",
                 "expected an integer from 0 to 64, got \"65\"");
    expect_err(f, BASE "  threads: -1\n", 6, "api.threads", "from 0 to 64");
    expect_err(f, BASE "  limits:\n    max_body_bytes: 65MiB\n", 7,
               "api.limits.max_body_bytes", "got \"65MiB\"");
    expect_err(f, BASE "  limits:\n    max_header_bytes: 1023\n", 7,
               "api.limits.max_header_bytes", "from 1 KiB to 1 MiB");
    expect_err(f, BASE "  limits:\n    max_connections: 0\n", 7,
               "api.limits.max_connections", "from 1 to 1000000");
    expect_err(f, BASE "  limits:\n    read_timeout: 2h\n", 7,
               "api.limits.read_timeout", "from 100 ms to 1 h");
    expect_err(f, BASE "  limits:\n    header_timeout: 99ms\n", 7,
               "api.limits.header_timeout", "got \"99ms\"");
    expect_err(f, BASE "  limits:\n    max_body_bytes: 99999999999999999999GiB\n",
               7, "api.limits.max_body_bytes", "expected a size");
}

static void err_duplicate_key(void **state)
{
    struct fx *f = *state;
    expect_exact(f, BASE "  threads: 2\n  threads: 3\n", 7, "api.threads",
                 "duplicate key (first set at line 6); each key may appear only once");
    expect_err(f, BASE "api:\n  threads: 2\n", 6, "api", "first set at line 1");
}

static void err_missing_required(void **state)
{
    struct fx *f = *state;
    /* Reported at the line of the mapping it belongs in. */
    expect_exact(f, "api:\n  tls:\n    key: k.pem\n    ca: ca.pem\n", 2,
                 "api.tls.cert",
                 "required key is missing; add it: PEM server certificate (chain)");
    expect_err(f, "# comment\napi:\n  threads: 2\n", 2, "api.tls.cert",
               "required key is missing");
    expect_err(f, "log:\n  level: warn\n", 1, "api.tls.cert", "required key is missing");
    expect_err(f, BASE "clients:\n  - match: {cn: x}\n", 7, "clients[0].name",
               "required key is missing");
}

/* The auth section: issuers, their role maps, client scopes. */
static void auth_keys(void **state)
{
    struct fx *f = *state;
    assert_int_equal(load(f, BASE "auth:\n"
                                  "  issuer: https://gw.example:8443\n"
                                  "  signing_alg: EdDSA\n"
                                  "  dpop: {require_nonce: true, iat_window: 30s}\n"
                                  "  issuers:\n"
                                  "    - issuer: https://idp.example\n"
                                  "      jwks_url: https://idp.example/jwks\n"
                                  "      audience: haulgate\n"
                                  "      role_map: [dispatchers=tms, admins=admin]\n"
                                  "policy: {file: p.yaml}\n"
                                  "clients:\n  - name: a\n    match: {cn: x}\n"
                                  "    scopes: [tender:read, audit:read]\n"),
                     HG_OK);
    const struct hg_config *c = f->cfg;
    assert_string_equal(c->auth.issuer, "https://gw.example:8443");
    assert_string_equal(c->auth.signing_alg, "EdDSA");
    assert_true(c->auth.dpop.require_nonce);
    assert_int_equal(c->auth.dpop.iat_window_ms, 30000);
    assert_int_equal(c->auth.nissuers, 1);
    assert_string_equal(c->auth.issuers[0].roles_claim, "roles"); /* default */
    assert_int_equal(c->auth.issuers[0].refresh_interval_ms, 60000);
    assert_int_equal(c->auth.issuers[0].nrole_map, 2);
    assert_non_null(strstr(c->policy.file, "/p.yaml")); /* resolved next to the file */
    assert_int_equal(c->clients[0].nscopes, 2);

    expect_err(f, BASE "auth: {issuer: \"http://gw\"}\n", 6, "auth.issuer", "https://");
    expect_err(f, BASE "auth: {signing_alg: HS256}\n", 6, "auth.signing_alg", "ES256");
    expect_err(f, BASE "clients:\n  - name: a\n    match: {cn: x}\n    scopes: [warp]\n", 9,
               "clients[0].scopes", "unknown scope 'warp'; the scopes are: tender:write");
    const char *iss = BASE "auth:\n  issuers:\n"
                           "    - {issuer: \"https://i\", jwks_url: \"https://i/k\", audience: a}\n";
    char text[1024];
    snprintf(text, sizeof text, "%s    - {issuer: \"https://i\", jwks_url: \"https://j/k\", "
                                "audience: b}\n", iss);
    expect_err(f, text, 9, "auth.issuers[1].issuer", "duplicate issuer");
    expect_err(f, BASE "auth:\n  issuers:\n    - issuer: https://i\n"
                       "      jwks_url: https://i/k\n      audience: a\n"
                       "      role_map: [admins]\n",
               11, "auth.issuers[0].role_map", "their-role=our-role");
    expect_err(f, BASE "auth:\n  issuers:\n    - {issuer: \"https://i\", audience: a}\n", 8,
               "auth.issuers[0].jwks_url", "required key is missing");
}

static void err_listen(void **state)
{
    struct fx *f = *state;
    expect_exact(f, BASE "  listen: 127.0.0.1\n", 6, "api.listen",
                 "expected host:port with a port from 0 to 65535, such as "
                 "127.0.0.1:8443 or, for IPv6, \"[::1]:8443\" (quoted), got "
                 "\"127.0.0.1\"; the port is missing");
    expect_err(f, BASE "  listen: 127.0.0.1:65536\n", 6, "api.listen",
               "the port is not a number in range");
    expect_err(f, BASE "  listen: 127.0.0.1:http\n", 6, "api.listen",
               "the port is not a number in range");
    expect_err(f, BASE "  listen: ::1:8443\n", 6, "api.listen",
               "write IPv6 addresses in brackets");
    expect_err(f, BASE "  listen: \"[::g]:8443\"\n", 6, "api.listen",
               "not an IPv6 address");
    expect_err(f, BASE "  listen: \"[::1]8443\"\n", 6, "api.listen",
               "a ':' and a port must follow the ']'");
    expect_err(f, BASE "  listen: :8443\n", 6, "api.listen", "the host is empty");
    expect_err(f, BASE "  listen: bad_host!:80\n", 6, "api.listen",
               "neither an IPv4 address nor a host name");
    expect_err(f, BASE "  listen: \"*:80\"\n", 6, "api.listen",
               "neither an IPv4 address nor a host name");
    expect_err(f, BASE "admin:\n  listen: 127.0.0.1:8443\n", 7, "admin.listen",
               "api.listen and admin.listen are both 127.0.0.1:8443");
    /* Unquoted brackets are YAML flow syntax: a syntax error on that line. */
    expect_err(f, BASE "  listen: [::1]:8443\n", 6, NULL, "invalid YAML");
}

static void listen_forms(void **state)
{
    struct fx *f = *state;
    assert_int_equal(load(f, BASE "  listen: \"[::1]:8443\"\nadmin:\n  listen: "
                              "localhost:0\n"), HG_OK);
    assert_string_equal(f->cfg->api.listen, "[::1]:8443");
    assert_string_equal(f->cfg->api.host, "::1");
    assert_int_equal(f->cfg->api.port, 8443);
    assert_string_equal(f->cfg->admin.host, "localhost");
    assert_int_equal(f->cfg->admin.port, 0);
    /* Port 0 on both is fine: each gets its own ephemeral port. */
    assert_int_equal(load(f, BASE "  listen: 0.0.0.0:0\nadmin:\n  listen: 0.0.0.0:0\n"),
                     HG_OK);
    assert_string_equal(f->cfg->api.host, "0.0.0.0");
}

static void err_enum(void **state)
{
    struct fx *f = *state;
    expect_exact(f, BASE "log:\n  level: verbose\n", 7, "log.level",
                 "expected one of debug, info, warn, error, got \"verbose\"");
    expect_err(f, BASE "log:\n  level: INFO\n", 7, "log.level", "got \"INFO\"");
}

static void err_suffix(void **state)
{
    struct fx *f = *state;
    expect_err(f, BASE "  limits:\n    max_body_bytes: 16KB\n", 7,
               "api.limits.max_body_bytes", "got \"16KB\"");
    expect_err(f, BASE "  limits:\n    max_body_bytes: 16kib\n", 7,
               "api.limits.max_body_bytes", "KiB, MiB or GiB");
    expect_err(f, BASE "  limits:\n    max_body_bytes: 1.5MiB\n", 7,
               "api.limits.max_body_bytes", "got \"1.5MiB\"");
    expect_err(f, BASE "  limits:\n    max_body_bytes: MiB\n", 7,
               "api.limits.max_body_bytes", "got \"MiB\"");
    expect_exact(f, BASE "  limits:\n    read_timeout: 10sec\n", 7,
                 "api.limits.read_timeout",
                 "expected a duration from 100 ms to 1 h (whole milliseconds, or "
                 "a whole number followed by ms, s, m or h), got \"10sec\"");
    expect_err(f, BASE "shutdown:\n  drain_timeout: 1d\n", 7,
               "shutdown.drain_timeout", "got \"1d\"");
    expect_err(f, BASE "shutdown:\n  drain_timeout: -5s\n", 7,
               "shutdown.drain_timeout", "got \"-5s\"");
}

static void err_clients(void **state)
{
    struct fx *f = *state;
    expect_exact(f, BASE "clients:\n  - name: tms\n    roles: [tms]\n", 7,
                 "clients[0].match",
                 "a client needs a match with at least one of uri, dns, cn, "
                 "thumbprint; without one no certificate maps to 'tms'");
    expect_err(f, BASE "clients:\n  - name: tms\n    match: {}\n", 8,
               "clients[0].match", "at least one of uri, dns, cn, thumbprint");
    expect_exact(f, BASE "clients:\n"
                         "  - name: tms\n    match: {cn: a}\n"
                         "  - name: ops\n    match: {cn: b}\n"
                         "  - name: tms\n    match: {cn: c}\n", 11,
                 "clients[2].name",
                 "duplicate client name 'tms' (also clients[0]); names must be unique");
    expect_err(f, BASE "clients:\n  - name: a\n    match: {cn: x}\n"
                       "  - name: b\n    match: {cn: x}\n", 10, "clients[1].match",
               "the same match as clients[0] ('a')");
    expect_err(f, BASE "clients:\n  - name: \"has space\"\n    match: {cn: x}\n", 7,
               "clients[0].name", "A-Z a-z 0-9 . _ -");
    expect_err(f, BASE "clients:\n  - name: a\n    match: {uri: not a uri}\n", 8,
               "clients[0].match.uri", "a URI such as");
    expect_err(f, BASE "clients:\n  - name: a\n    match:\n      dns: bad..name\n", 9,
               "clients[0].match.dns", "a DNS name");
    expect_err(f, BASE "clients:\n  - name: a\n    match: {cn: x}\n    roles: [r, r]\n",
               9, "clients[0].roles[1]", "duplicate item \"r\" (also item 0");
    /* The first repeat in file order is reported, with its first use. */
    expect_err(f, BASE "clients:\n  - name: a\n    match: {cn: x}\n"
                       "    regions: [a, b, c, b, a, a]\n",
               9, "clients[0].regions[3]", "duplicate item \"b\" (also item 1");
    expect_err(f, BASE "clients:\n  - name: a\n    match: {cn: x}\n"
                       "    regions:\n      - z\n      - y\n      - z\n",
               12, "clients[0].regions[2]", "\"z\" (also item 0 at line 10)");
    expect_err(f, BASE "clients:\n  - name: a\n    match: {cn: x}\n    tenant: \"\"\n",
               9, "clients[0].tenant", "expected a string of 1 to 64 characters");
}

static void err_thumbprint(void **state)
{
    struct fx *f = *state;
    static const char *bad[] = {
        "abc",                                           /* too short */
        "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFUx",  /* 44 chars */
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",   /* std alphabet */
        "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFV",   /* non-canonical tail */
    };
    char text[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text,
                 BASE "clients:\n  - name: a\n    match:\n      thumbprint: \"%s\"\n",
                 bad[i]);
        expect_err(f, text, 9, "clients[0].match.thumbprint",
                   "expected 43 characters of base64url");
    }
    /* SHA-256 of the empty string, base64url: 43 chars, decodes to 32 bytes. */
    assert_int_equal(load(f, BASE "clients:\n  - name: a\n    match:\n      thumbprint: "
                              "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU\n"), HG_OK);
    assert_string_equal(f->cfg->clients[0].match_thumbprint,
                        "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
}

static void err_file(void **state)
{
    struct fx *f = *state;
    char p[PATH_MAX + 32], want[PATH_MAX + 128];
    snprintf(p, sizeof p, "%s/nope.yaml", f->dir);
    assert_int_equal(hg_config_load(p, &f->cfg, &f->err), HG_ECONFIG);
    assert_null(f->cfg);
    snprintf(want, sizeof want,
             "%s: cannot open the configuration file: No such file or directory; "
             "check the path", p);
    assert_true(strncmp(f->err.msg, want, strlen(want)) == 0);

    /* A directory is not a config file. */
    assert_int_equal(hg_config_load(f->dir, &f->cfg, &f->err), HG_ECONFIG);
    snprintf(want, sizeof want, "%s: not a regular file", f->dir);
    assert_true(strncmp(f->err.msg, want, strlen(want)) == 0);

    /* Unreadable (skipped as root, who can read anything). */
    if (geteuid() != 0) {
        snprintf(p, sizeof p, "%s/secret.yaml", f->dir);
        write_at(p, BASE, strlen(BASE));
        assert_int_equal(chmod(p, 0), 0);
        assert_int_equal(hg_config_load(p, &f->cfg, &f->err), HG_ECONFIG);
        assert_non_null(strstr(f->err.msg, "Permission denied"));
    }
    assert_int_equal(hg_config_load(NULL, &f->cfg, &f->err), HG_EINVAL);
}

static void err_empty(void **state)
{
    struct fx *f = *state;
    expect_err(f, "", 1, NULL, "the file holds no settings");
    expect_err(f, "# just a comment\n\n", 1, NULL, "the file holds no settings");
    expect_err(f, "---\n", 1, NULL, "the file holds no settings");
}

static void err_syntax_lines(void **state)
{
    struct fx *f = *state;
    char want[PATH_MAX + 256];
    assert_int_equal(load(f, "api:\n  threads: 1\n   listen: x\n"), HG_ECONFIG);
    snprintf(want, sizeof want,
             "%s:3: invalid YAML: mapping values are not allowed in this context; "
             "check the indentation and quoting", f->path);
    assert_string_equal(f->err.msg, want);
    expect_err(f, BASE "log: {level: [info, warn}\n", 6, NULL,
               "invalid YAML: did not find expected ',' or ']' (while parsing a "
               "flow sequence that starts at line 6)");
    expect_err(f, BASE "log:\n  level: \"info\n", 8, NULL, "invalid YAML");
    expect_err(f, BASE "log:\n  level: in\xff" "fo\n", 7, NULL,
               "invalid YAML: invalid leading UTF-8 octet");
    expect_err(f, BASE "log:\n\tlevel: info\n", 7, NULL, "invalid YAML");
}

static void err_yaml_features(void **state)
{
    struct fx *f = *state;
    expect_exact(f, BASE "log:\n  level: &lvl info\n", 7, "log.level",
                 "anchors (&lvl) are not supported; write each value out in full");
    expect_exact(f, BASE "  threads: 2\nadmin:\n  listen: *x\n", 8, "admin.listen",
                 "aliases (*x) are not supported; write the value out in full");
    expect_err(f, BASE "clients:\n  - &c {name: a, match: {cn: x}}\n", 7,
               "clients[0]", "anchors (&c)");
    expect_err(f, BASE "clients:\n  - *c\n", 7, "clients[0]", "aliases (*c)");
    expect_exact(f, BASE "  threads: !!int 2\n", 6, "api.threads",
                 "tags (!!int) are not supported; remove the tag");
    expect_err(f, BASE "  threads: !local 2\n", 6, "api.threads", "tags (!local)");
    expect_err(f, BASE "---\nlog:\n  level: info\n", 6, NULL,
               "the file holds more than one YAML document");
    expect_err(f, "%TAG !e! tag:example.com,2000:\n---\n" BASE, 1, NULL,
               "%TAG directives are not supported");
    expect_err(f, BASE "? [a, b]\n: 1\n", 6, NULL, "keys must be non-empty strings");
}

/* ----------------------------------------------------------- values */

static void sizes_and_durations(void **state)
{
    struct fx *f = *state;
    assert_int_equal(load(f, BASE "  limits:\n"
                              "    max_header_bytes: 2048\n"
                              "    max_body_bytes: 64 MiB\n"
                              "    header_timeout: 250\n"
                              "    read_timeout: 1h\n"
                              "    write_timeout: \"1500ms\"\n"
                              "shutdown:\n"
                              "  drain_timeout: 0\n"), HG_OK);
    assert_int_equal(f->cfg->api.max_header_bytes, 2048);
    assert_int_equal(f->cfg->api.max_body_bytes, 64 * 1024 * 1024);
    assert_int_equal(f->cfg->api.header_timeout_ms, 250);
    assert_int_equal(f->cfg->api.read_timeout_ms, 3600000);
    assert_int_equal(f->cfg->api.write_timeout_ms, 1500);
    assert_int_equal(f->cfg->shutdown.drain_timeout_ms, 0);

    assert_int_equal(load(f, BASE "  limits:\n"
                              "    max_header_bytes: 1MiB\n"
                              "    max_body_bytes: 4KiB\n"
                              "    header_timeout: 2s\n"
                              "    read_timeout: 5m\n"
                              "    write_timeout: 100ms\n"), HG_OK);
    assert_int_equal(f->cfg->api.max_header_bytes, 1048576);
    assert_int_equal(f->cfg->api.max_body_bytes, 4096);
    assert_int_equal(f->cfg->api.header_timeout_ms, 2000);
    assert_int_equal(f->cfg->api.read_timeout_ms, 300000);
    assert_int_equal(f->cfg->api.write_timeout_ms, 100);

    /* GiB parses, and is then out of range for these keys. */
    uint64_t v = 0;
    assert_true(parse_scaled("3GiB", 4, size_units, &v));
    assert_true(v == 3ULL << 30);
    assert_false(parse_scaled("3 ", 2, size_units, &v));
    assert_false(parse_scaled("3  KiB", 6, size_units, &v));
    assert_false(parse_scaled("18446744073709551615KiB", 23, size_units, &v));
}

static void other_values(void **state)
{
    struct fx *f = *state;
    assert_int_equal(load(f, BASE "  threads: 64\n"
                              "log:\n  level: debug\n  file: logs/hg.log\n"
                              "clients:\n"
                              "  - name: Fleet_1.a-b\n"
                              "    match:\n"
                              "      dns: fleet.example.com\n"
                              "      cn: Fleet One\n"
                              "    roles: []\n"
                              "    regions: [eu-west]\n"), HG_OK);
    const struct hg_config *c = f->cfg;
    char want[PATH_MAX + 32];
    assert_int_equal(c->api.threads, 64);
    assert_string_equal(c->log.level, "debug");
    snprintf(want, sizeof want, "%s/logs/hg.log", f->dir);
    assert_string_equal(c->log.file, want);
    assert_int_equal(c->nclients, 1);
    assert_string_equal(c->clients[0].name, "Fleet_1.a-b");
    assert_string_equal(c->clients[0].match_dns, "fleet.example.com");
    assert_string_equal(c->clients[0].match_cn, "Fleet One");
    assert_null(c->clients[0].match_uri);
    assert_int_equal(c->clients[0].nroles, 0);
    assert_int_equal(c->clients[0].nregions, 1);
    assert_string_equal(c->clients[0].regions[0], "eu-west");
    assert_null(c->clients[0].tenant);
    assert_null(c->clients[0].cert);
}

/* The bool type has no key yet; check it through a one-row table, as a
 * future key would use it. */
static void bool_type(void **state)
{
    (void)state;
    struct { bool on; } s = {false};
    const struct cfg_row row = {.key = "x.enabled", .type = T_BOOL, .off = 0};
    struct hg_err e;
    struct cfg_ctx c = {.file = "t.yaml", .err = &e, .dir = "/"};
    struct cfg_node n = {.kind = N_SCALAR, .line = 4, .plain = true};

    n.s = "true", n.len = 4;
    assert_int_equal(set_value(&c, &row, &s, &n, "x.enabled"), HG_OK);
    assert_true(s.on);
    n.s = "false", n.len = 5;
    assert_int_equal(set_value(&c, &row, &s, &n, "x.enabled"), HG_OK);
    assert_false(s.on);
    n.s = "yes", n.len = 3;
    assert_int_equal(set_value(&c, &row, &s, &n, "x.enabled"), HG_ECONFIG);
    assert_string_equal(e.msg, "t.yaml:4: key 'x.enabled': expected true or false, got \"yes\"");
    n.s = "true", n.len = 4, n.plain = false;
    assert_int_equal(set_value(&c, &row, &s, &n, "x.enabled"), HG_ECONFIG);
}

/* --------------------------------------------------------------- paths */

static void relative_paths(void **state)
{
    struct fx *f = *state;
    char sub[PATH_MAX + 16], p[PATH_MAX + 32], want[PATH_MAX + 64];
    snprintf(sub, sizeof sub, "%s/conf", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(p, sizeof p, "%s/c.yaml", sub);
    const char *text =
        "data_dir: ../state\n"
        "api:\n"
        "  tls:\n"
        "    cert: ./pki//server.crt\n"
        "    key: /etc/haulgate/server.key\n"
        "    ca: ../../ca.crt\n"
        "    crl: pki/../crl.pem\n"
        "log:\n"
        "  file: .\n";
    write_at(p, text, strlen(text));
    assert_int_equal(hg_config_load(p, &f->cfg, &f->err), HG_OK);
    const struct hg_config *c = f->cfg;
    assert_string_equal(c->path, p);
    snprintf(want, sizeof want, "%s/state", f->dir);
    assert_string_equal(c->data_dir, want);
    snprintf(want, sizeof want, "%s/pki/server.crt", sub);
    assert_string_equal(c->api.tls.cert, want);
    assert_string_equal(c->api.tls.key, "/etc/haulgate/server.key");
    /* Leading ".." walks up from the (real) directory of the file. */
    char up[PATH_MAX];
    snprintf(up, sizeof up, "%s", f->dir);
    *strrchr(up, '/') = '\0';
    snprintf(want, sizeof want, "%s/ca.crt", *up ? up : "");
    assert_string_equal(c->api.tls.ca, want);
    /* After an ordinary segment, ".." is kept for the kernel to resolve. */
    snprintf(want, sizeof want, "%s/pki/../crl.pem", sub);
    assert_string_equal(c->api.tls.crl, want);
    assert_string_equal(c->log.file, sub);

    /* Through a symlink, paths start from the real file's directory. */
    char link[PATH_MAX + 32];
    snprintf(link, sizeof link, "%s/link.yaml", f->dir);
    assert_int_equal(symlink(p, link), 0);
    hg_config_free(f->cfg);
    f->cfg = NULL;
    assert_int_equal(hg_config_load(link, &f->cfg, &f->err), HG_OK);
    assert_string_equal(f->cfg->path, p);
    snprintf(want, sizeof want, "%s/pki/server.crt", sub);
    assert_string_equal(f->cfg->api.tls.cert, want);

    /* "~" is not expanded by the loader; say so instead of making "./~". */
    expect_err(f, BASE "data_dir: ~/hg\n", 6, "data_dir", "'~' is not expanded");
}

static void resolve_edges(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(resolve("/", "../../x", out, sizeof out), HG_OK);
    assert_string_equal(out, "/x");
    assert_int_equal(resolve("/a/b", "..", out, sizeof out), HG_OK);
    assert_string_equal(out, "/a");
    assert_int_equal(resolve("/a", "./b/./c/", out, sizeof out), HG_OK);
    assert_string_equal(out, "/a/b/c");
    assert_int_equal(resolve("/a", "b/../../c", out, sizeof out), HG_OK);
    assert_string_equal(out, "/a/b/../../c");
    assert_int_equal(resolve("/a", "0123456789012345678901234567890123456789"
                                   "0123456789012345678901234567890123456789",
                             out, sizeof out), HG_ETOOBIG);
}

static void load_mem_api(void **state)
{
    struct fx *f = *state;
    char cwd[PATH_MAX], want[PATH_MAX + 64];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(hg_config_load_mem("conf/x.yaml", BASE, strlen(BASE),
                                        &f->cfg, &f->err), HG_OK);
    snprintf(want, sizeof want, "%s/conf/c.pem", cwd);
    assert_string_equal(f->cfg->api.tls.cert, want);
    snprintf(want, sizeof want, "%s/conf/x.yaml", cwd);
    assert_string_equal(f->cfg->path, want);
    hg_config_free(f->cfg);
    f->cfg = NULL;
    /* Not NUL-terminated: only len bytes are read. */
    const char text[] = BASE "  threads: 7\n";
    char *copy = malloc(sizeof text - 1);
    assert_non_null(copy);
    memcpy(copy, text, sizeof text - 1);
    assert_int_equal(hg_config_load_mem("/m.yaml", copy, sizeof text - 1, &f->cfg,
                                        &f->err), HG_OK);
    assert_int_equal(f->cfg->api.threads, 7);
    assert_string_equal(f->cfg->api.tls.ca, "/ca.pem");
    free(copy);
    hg_config_free(f->cfg);
    f->cfg = NULL;
    assert_int_equal(hg_config_load_mem("m.yaml", "x: 1\n", 5, &f->cfg, &f->err),
                     HG_ECONFIG);
    assert_string_equal(f->err.msg,
                        "m.yaml:1: key 'x': unknown key; valid keys here: data_dir, "
                        "api, admin, shutdown, log, audit, store, idempotency, ratelimit, tenders, auth, policy, clients");
    assert_int_equal(hg_config_load_mem("m.yaml", NULL, 3, &f->cfg, &f->err),
                     HG_EINVAL);
}

/* -------------------------------------------------------------- bounds */

static void bound_file_size(void **state)
{
    struct fx *f = *state;
    size_t n = CFG_MAX_FILE + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memcpy(big, BASE, strlen(BASE));
    memset(big + strlen(BASE), '#', n - strlen(BASE));
    big[n - 1] = '\n';
    snprintf(f->path, sizeof f->path, "%s/big.yaml", f->dir);
    write_at(f->path, big, n);
    assert_int_equal(hg_config_load(f->path, &f->cfg, &f->err), HG_ECONFIG);
    assert_non_null(strstr(f->err.msg, "the configuration file is 1048577 bytes; at most 1048576 are allowed"));
    assert_int_equal(hg_config_load_mem("big.yaml", big, n, &f->cfg, &f->err),
                     HG_ECONFIG);
    assert_non_null(strstr(f->err.msg, "at most 1048576 bytes"));
    /* Exactly 1 MiB is fine (all comment after the base). */
    write_at(f->path, big, n - 1);
    assert_int_equal(hg_config_load(f->path, &f->cfg, &f->err), HG_OK);
    free(big);
}

static void bound_depth(void **state)
{
    struct fx *f = *state;
    char text[256];
    /* The top-level mapping is level 1, so 15 brackets fit and 16 do not. */
    snprintf(text, sizeof text, BASE "x: %.*s%.*s\n", 15,
             "[[[[[[[[[[[[[[[[[[[[", 15, "]]]]]]]]]]]]]]]]]]]]");
    expect_err(f, text, 6, "x", "unknown key");
    snprintf(text, sizeof text, BASE "x: %.*s%.*s\n", 16,
             "[[[[[[[[[[[[[[[[[[[[", 16, "]]]]]]]]]]]]]]]]]]]]");
    expect_err(f, text, 6, "x[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]",
               "lists and mappings nest deeper than 16 levels");
}

static void bound_strings_and_lists(void **state)
{
    struct fx *f = *state;
    struct hg_buf b;
    hg_buf_init(&b, 1 << 20);
    assert_int_equal(hg_buf_printf(&b, BASE "data_dir: "), HG_OK);
    for (int i = 0; i < CFG_MAX_STR + 1; i++)
        assert_int_equal(hg_buf_puts(&b, "d"), HG_OK);
    assert_int_equal(hg_buf_puts(&b, "\n"), HG_OK);
    expect_err(f, b.data, 6, "data_dir", "a value is 4097 bytes long; at most 4096");
    hg_buf_reset(&b);

    /* 1024 roles are fine, 1025 are not. */
    for (int extra = 0; extra < 2; extra++) {
        hg_buf_reset(&b);
        assert_int_equal(hg_buf_puts(&b, BASE "clients:\n  - name: a\n    match: "
                                          "{cn: x}\n    roles: ["), HG_OK);
        for (int i = 0; i < CFG_MAX_LIST + extra; i++)
            assert_int_equal(hg_buf_printf(&b, "%sr%d", i ? "," : "", i), HG_OK);
        assert_int_equal(hg_buf_puts(&b, "]\n"), HG_OK);
        if (!extra) {
            assert_int_equal(load(f, b.data), HG_OK);
            assert_int_equal(f->cfg->clients[0].nroles, CFG_MAX_LIST);
        } else {
            expect_err(f, b.data, 9, "clients[0].roles", "it has 1025 items");
        }
    }

    /* No YAML list may exceed 4096 items, whatever the key. */
    hg_buf_reset(&b);
    assert_int_equal(hg_buf_puts(&b, BASE "x: ["), HG_OK);
    for (int i = 0; i < CFG_MAX_SEQ + 1; i++)
        assert_int_equal(hg_buf_puts(&b, i ? ",a" : "a"), HG_OK);
    assert_int_equal(hg_buf_puts(&b, "]\n"), HG_OK);
    expect_err(f, b.data, 6, "x[4096]", "a list may hold at most 4096 items");

    /* The total number of nodes is capped too (about 2 bytes per node). */
    hg_buf_reset(&b);
    assert_int_equal(hg_buf_puts(&b, BASE "x: ["), HG_OK);
    for (int l = 0; l < 70; l++) {
        assert_int_equal(hg_buf_puts(&b, l ? ",[" : "["), HG_OK);
        for (int i = 0; i < 4000; i++)
            assert_int_equal(hg_buf_puts(&b, i ? ",a" : "a"), HG_OK);
        assert_int_equal(hg_buf_puts(&b, "]"), HG_OK);
    }
    assert_int_equal(hg_buf_puts(&b, "]\n"), HG_OK);
    expect_err(f, b.data, 6, NULL, "");
    assert_non_null(strstr(f->err.msg, "the file holds more than 262144 values"));
    hg_buf_cleanup(&b);
}

static void bound_clients(void **state)
{
    struct fx *f = *state;
    struct hg_buf b;
    hg_buf_init(&b, 1 << 20);
    assert_int_equal(hg_buf_puts(&b, BASE "clients:\n"), HG_OK);
    for (int i = 0; i < CFG_MAX_CLIENTS; i++)
        assert_int_equal(hg_buf_printf(&b, "- {name: c%d, match: {cn: c%d}}\n", i, i),
                         HG_OK);
    assert_int_equal(load(f, b.data), HG_OK);
    assert_int_equal(f->cfg->nclients, CFG_MAX_CLIENTS);
    assert_string_equal(f->cfg->clients[4095].name, "c4095");
    assert_int_equal(hg_buf_puts(&b, "- {name: one-more, match: {cn: x}}\n"), HG_OK);
    expect_err(f, b.data, 6 + CFG_MAX_CLIENTS + 1, "clients[4096]",
               "a list may hold at most 4096 items");
    hg_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(example_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(docs_cover_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(minimal_file_takes_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(err_unknown_key_suggests, setup, teardown),
        cmocka_unit_test_setup_teardown(err_bad_type, setup, teardown),
        cmocka_unit_test_setup_teardown(err_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(err_duplicate_key, setup, teardown),
        cmocka_unit_test_setup_teardown(err_missing_required, setup, teardown),
        cmocka_unit_test_setup_teardown(err_listen, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(listen_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(err_enum, setup, teardown),
        cmocka_unit_test_setup_teardown(err_suffix, setup, teardown),
        cmocka_unit_test_setup_teardown(err_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(err_thumbprint, setup, teardown),
        cmocka_unit_test_setup_teardown(err_file, setup, teardown),
        cmocka_unit_test_setup_teardown(err_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(err_syntax_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(err_yaml_features, setup, teardown),
        cmocka_unit_test_setup_teardown(sizes_and_durations, setup, teardown),
        cmocka_unit_test_setup_teardown(other_values, setup, teardown),
        cmocka_unit_test_setup_teardown(bool_type, setup, teardown),
        cmocka_unit_test_setup_teardown(relative_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(resolve_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(load_mem_api, setup, teardown),
        cmocka_unit_test_setup_teardown(bound_file_size, setup, teardown),
        cmocka_unit_test_setup_teardown(bound_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(bound_strings_and_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(bound_clients, setup, teardown),
    };
    return cmocka_run_group_tests_name("app/config", tests, NULL, NULL);
}
