/* SPDX-License-Identifier: Apache-2.0
 *
 * harness.h — integration-test harness: a throwaway PKI (made by
 * `haulctl pki init`), a config file, a real haulgated on free loopback
 * ports, and clients that speak to it over mTLS (libcurl, or raw OpenSSL
 * when a test needs to misbehave on purpose). Everything lives in one
 * temporary directory that is removed afterwards.
 */
#ifndef HG_TEST_HARNESS_H
#define HG_TEST_HARNESS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/types.h>

struct hg_it {
    char dir[256];        /* temporary root */
    char pki[300];        /* dir/pki */
    char cfg[300];        /* dir/haulgate.yaml */
    char data[300];       /* dir/data */
    char log[300];        /* dir/haulgated.log (daemon stderr) */
    pid_t pid;
    int api_port;
    int admin_port;
    char extra_yaml[4096]; /* appended to the generated config */
    struct hg_it_prism *prism; /* contract-check chain (harness_prism.c), NULL until started */
    struct hg_it_auth *auth;   /* DPoP keys and tokens per client (harness_auth.c) */
    char policy[400];          /* policy file for the config; "" = config/policy.example.yaml */
};

struct hg_it_resp {
    long status;
    char *body;           /* NUL-terminated */
    size_t body_len;
    char *headers;        /* raw response header block */
    long connects;        /* CURLINFO_NUM_CONNECTS: new connections made */
    int curl_code;        /* CURLcode, 0 = ok */
    char error[256];
};

/* Path of a built program ($HG_BUILD/bin/NAME). */
const char *hg_it_bin(const char *name);

/* Run a command (argv, NULL-terminated) and return its exit status, or -1. */
int hg_it_run(char *const argv[]);

/* Create the temp dir and the PKI (CA, server, tms, operator, provider-sim). */
int hg_it_setup(struct hg_it *it);
/* Write the config (with it->extra_yaml appended) and start haulgated; wait
 * until listen.json appears. 0 on success. */
int hg_it_start(struct hg_it *it);
/* Send a signal to the daemon. */
int hg_it_signal(struct hg_it *it, int sig);
/* Wait for the daemon to exit, at most timeout_ms; returns its exit status
 * (0..255), 128+signal if killed by one, or -1 on timeout. */
int hg_it_wait(struct hg_it *it, int timeout_ms);
/* SIGTERM, wait, SIGKILL if needed. Returns the exit status. */
int hg_it_stop(struct hg_it *it);
/* Stop (if running) and remove the temp dir. */
void hg_it_teardown(struct hg_it *it);
/* 1 while the daemon process is alive. */
int hg_it_alive(struct hg_it *it);

/* Issue a client cert NAME with optional URI (NULL = default). */
int hg_it_pki(struct hg_it *it, const char *verb, const char *name, const char *extra);

/* A curl request over mTLS with client certificate `client` (a file stem in
 * the PKI dir, e.g. "tms"; NULL = no client cert). `headers` is a
 * NULL-terminated list of "Name: value" lines, may be NULL. Reuses `handle`
 * (a CURL*) when given, so keep-alive can be tested. */
int hg_it_request(struct hg_it *it, void *handle, const char *client, const char *method,
                  const char *path, const char *const *headers, const char *body,
                  size_t body_len, struct hg_it_resp *out);
/* The same against an arbitrary URL with options for TLS version and CA. */
struct hg_it_opts {
    const char *client_dir;   /* PKI dir for client cert; NULL = it->pki */
    int tls12_only;           /* force TLS 1.2 */
    int admin;                /* plain HTTP to the admin port */
};
int hg_it_request_opts(struct hg_it *it, void *handle, const struct hg_it_opts *o,
                       const char *client, const char *method, const char *path,
                       const char *const *headers, const char *body, size_t body_len,
                       struct hg_it_resp *out);
void hg_it_resp_free(struct hg_it_resp *r);
/* Value of a response header (case-insensitive) copied into buf, or NULL. */
const char *hg_it_resp_header(const struct hg_it_resp *r, const char *name, char *buf,
                              size_t cap);

/* A raw TCP connection to the API port; -1 on failure. */
int hg_it_tcp(struct hg_it *it, int port);
/* A raw mTLS connection (blocking) with client cert `client`. NULL on failure.
 * *fd receives the socket. */
SSL *hg_it_tls(struct hg_it *it, const char *client, int *fd);
void hg_it_tls_close(SSL *ssl, int fd);
/* Like hg_it_tls, offering `resume` (may be NULL) for session resumption. */
SSL *hg_it_tls_resume(struct hg_it *it, const char *client, int *fd, SSL_SESSION *resume);
/* Read everything until EOF or timeout_ms; returns bytes read into buf. */
size_t hg_it_tls_read_all(SSL *ssl, char *buf, size_t cap, int timeout_ms);

/* cmocka fixtures: a new struct hg_it in *state, made ready by `prepare`
 * (NULL = hg_it_setup + hg_it_start, printing the daemon's log if it fails
 * to start), and its teardown. */
int hg_it_fixture(void **state, int (*prepare)(struct hg_it *it));
int hg_it_fixture_free(void **state);
/* hg_it_start, printing the daemon's log on failure. */
int hg_it_start_verbose(struct hg_it *it);

/* Read the daemon's log file into a malloc'd string. */
char *hg_it_log(struct hg_it *it);


/* ---- contract checks: requests through `prism proxy --errors` ----------
 * (harness_prism.c; docs/contract.md.) Prism validates every request and
 * response against api/openapi.yaml but cannot present a client
 * certificate, so each client stem gets a "lane":
 *
 *   test --HTTP--> prism proxy --errors 127.0.0.1:P --HTTP--> socat 127.0.0.1:S
 *        --TLS 1.3 with <pki>/<stem>.crt, CA-verified--> haulgated :api_port
 *
 * One prism per lane (prism has one upstream, and socat one certificate),
 * all started in parallel once per test binary (start-up takes seconds);
 * stopped, process groups and all, by hg_it_teardown.
 *
 * Prism is given a JSON copy of the spec without its `security`
 * requirement (mutualTLS is enforced below HTTP, by socat and the daemon;
 * prism has no handler for it and would refuse every request).
 *
 * Which function to use:
 *  - hg_it_prism_request: every request that the spec allows. It FAILS
 *    (non-zero, reason in out->error, the response still in *out) when
 *    prism flags the request (prism answers itself: 4xx/422 with a type
 *    under https://stoplight.io/prism/errors#), the response (500 #VIOLATIONS),
 *    or sends an `sl-violations` header (a status the operation does not
 *    list, and other warnings).
 *  - hg_it_prism_request_invalid: a negative test that must reach OUR
 *    server with a request the spec forbids (a missing Idempotency-Key,
 *    a malformed query, an unknown path). It first sends the request
 *    through prism and fails unless prism rejects it as a request
 *    violation (so the test proves the contract forbids it), then sends
 *    it again straight to the lane's socat and returns the daemon's
 *    answer, which must be a problem document of ours (4xx,
 *    application/problem+json, type under https://haulgate.dev/problems/).
 *    The daemon sees the request twice only if prism forwarded the first
 *    one, which it does not for request violations.
 *  - hg_it_prism_request_direct: straight to socat, nothing checked; for
 *    bytes prism would rewrite (prism parses and re-serialises JSON bodies,
 *    so duplicate keys, odd whitespace or invalid UTF-8 never reach the
 *    daemon through it) and for comparing exact response bytes (prism
 *    re-serialises JSON responses too: same data, bytes may differ).
 *
 * `headers` is a NULL-terminated list of "Name: value" lines (may be NULL);
 * `body` (may be NULL) is sent as is. Responses are like hg_it_request's;
 * free them with hg_it_resp_free even on failure. */
struct hg_it_prism;
/* The spec prism is given: api/openapi.yaml ($HG_ROOT, else the working
 * directory) bundled to JSON by the project's redocly, security removed;
 * made once per hg_it in its temp dir. Its path goes to `out`. 0 or -1
 * (the reason on stderr). */
int hg_it_prism_spec(struct hg_it *it, char *out, size_t cap);
/* Start one lane per client stem in `clients` (NULL-terminated, e.g.
 * {"tms", "operator", NULL}; each a cert/key pair in it->pki) with `spec`,
 * and wait until every prism and socat accepts connections (at most 60 s).
 * The daemon must be running. May be called again for more stems; a stem
 * that already has a lane is an error. 0 or -1 (the reason and the tools'
 * logs on stderr). */
int hg_it_prism_start_spec(struct hg_it *it, const char *spec, const char *const *clients);
/* hg_it_prism_spec + hg_it_prism_start_spec. */
int hg_it_prism_start(struct hg_it *it, const char *const *clients);
int hg_it_prism_request(struct hg_it *it, const char *client, const char *method,
                        const char *path, const char *const *headers, const char *body,
                        size_t body_len, struct hg_it_resp *out);
int hg_it_prism_request_invalid(struct hg_it *it, const char *client, const char *method,
                                const char *path, const char *const *headers, const char *body,
                                size_t body_len, struct hg_it_resp *out);
int hg_it_prism_request_direct(struct hg_it *it, const char *client, const char *method,
                               const char *path, const char *const *headers, const char *body,
                               size_t body_len, struct hg_it_resp *out);
/* Stop every lane (SIGTERM to each process group, SIGKILL after 3 s) and
 * free the state. Safe to call when nothing was started. */
void hg_it_prism_stop(struct hg_it *it);

/* ---- tokens (harness_auth.c) -------------------------------------------
 * hg_it_request / hg_it_request_opts (not to the admin port) and the prism
 * requests add `Authorization: DPoP <token>` and a fresh `DPoP` proof for
 * a client stem automatically, unless the caller's headers name
 * Authorization themselves (an empty "Authorization:" sends none). The
 * token is DPoP-bound, fetched once per stem from POST /oauth2/token and
 * cached; a stem the token endpoint refuses is sent without one. */
struct hg_it_auth;
/* POST /oauth2/token for stem with scope (NULL = default), DPoP-bound when
 * dpop (a proof made with the stem's key), certificate-bound otherwise. */
int hg_it_token_request(struct hg_it *it, const char *stem, const char *scope, int dpop,
                        struct hg_it_resp *out);
/* The cached DPoP-bound token of stem (fetched on first use), or NULL. */
const char *hg_it_token(struct hg_it *it, const char *stem);
/* A fresh certificate-bound token of stem (for Authorization: Bearer, e.g.
 * in raw TLS requests) into out. 0, or -1. */
int hg_it_bearer(struct hg_it *it, const char *stem, char *out, size_t cap);
/* Drop stem's cached token (the next request fetches a new one). */
void hg_it_auth_forget(struct hg_it *it, const char *stem);
/* The stem's DPoP key (a struct hg_sign_key *), made on first use. */
const void *hg_it_dpop_key(struct hg_it *it, const char *stem);
/* "https://127.0.0.1:<api_port><path without query>": the htu of a proof. */
void hg_it_url(struct hg_it *it, const char *path, char *out, size_t cap);
/* A DPoP proof by stem's key for method + path (+ ath of token when not
 * NULL); malloc'd. */
char *hg_it_dpop_proof(struct hg_it *it, const char *stem, const char *method,
                       const char *path, const char *token);
/* The same with any key (struct hg_sign_key *), any URL, iat shifted by
 * iat_offset seconds, and a chosen jti (NULL = a fresh UUIDv7). */
char *hg_it_dpop_proof_key(const void *key, const char *method, const char *url,
                           const char *token, long iat_offset, const char *jti);
/* headers plus the automatic Authorization and DPoP lines (see above), as
 * a NULL-terminated malloc'd array for hg_it_headers_free. */
char **hg_it_auth_headers(struct hg_it *it, const char *stem, const char *method,
                          const char *path, const char *const *headers);
void hg_it_headers_free(char **h);
void hg_it_auth_free(struct hg_it *it);

#endif
