/* SPDX-License-Identifier: Apache-2.0
 * harness.c — start a real haulgated with a throwaway PKI and talk to it. */
#include "integration/harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void client_ctx_drop(void);

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

const char *hg_it_bin(const char *name)
{
    static __thread char path[512];
    const char *b = getenv("HG_BUILD");
    snprintf(path, sizeof path, "%s/bin/%s", b ? b : "build/release", name);
    return path;
}

int hg_it_run(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int hg_it_pki(struct hg_it *it, const char *verb, const char *name, const char *extra)
{
    char *argv[12];
    int n = 0;
    argv[n++] = (char *)hg_it_bin("haulctl");
    argv[n++] = "pki";
    argv[n++] = (char *)verb;
    argv[n++] = it->pki;
    if (name)
        argv[n++] = (char *)name;
    char buf[512] = "";
    if (extra) {
        /* split extra on spaces */
        snprintf(buf, sizeof buf, "%s", extra);
        for (char *tok = strtok(buf, " "); tok && n < 11; tok = strtok(NULL, " "))
            argv[n++] = tok;
    }
    argv[n] = NULL;
    return hg_it_run(argv);
}

int hg_it_setup(struct hg_it *it)
{
    memset(it, 0, sizeof *it);
    it->pid = -1;
    snprintf(it->dir, sizeof it->dir, "/tmp/haulgate-it-XXXXXX");
    if (!mkdtemp(it->dir))
        return -1;
    snprintf(it->pki, sizeof it->pki, "%s/pki", it->dir);
    snprintf(it->cfg, sizeof it->cfg, "%s/haulgate.yaml", it->dir);
    snprintf(it->data, sizeof it->data, "%s/data", it->dir);
    snprintf(it->log, sizeof it->log, "%s/haulgated.log", it->dir);
    return hg_it_pki(it, "init", NULL, NULL) == 0 ? 0 : -1;
}

static int write_config(struct hg_it *it)
{
    char policy[700];
    if (it->policy[0]) {
        snprintf(policy, sizeof policy, "%s", it->policy);
    } else {
        /* absolute: the config resolves relative paths against its own folder */
        const char *root = getenv("HG_ROOT");
        char cwd[400] = ".";
        if (!root && getcwd(cwd, sizeof cwd))
            root = cwd;
        snprintf(policy, sizeof policy, "%s/config/policy.example.yaml", root ? root : cwd);
    }
    FILE *f = fopen(it->cfg, "w");
    if (!f)
        return -1;
    fprintf(f,
            "data_dir: %s\n"
            "api:\n"
            "  listen: 127.0.0.1:0\n"
            "  threads: 2\n"
            "  tls:\n"
            "    cert: %s/server.crt\n"
            "    key: %s/server.key\n"
            "    ca: %s/ca.crt\n"
            "    crl: %s/crl.pem\n"
            "  limits:\n"
            "    header_timeout: 3s\n"
            "admin:\n"
            "  listen: 127.0.0.1:0\n"
            "shutdown:\n"
            "  drain_timeout: 5s\n"
            "log:\n"
            "  level: info\n"
            "policy:\n"
            "  file: %s\n"
            "clients:\n"
            "  - name: tms\n"
            "    match: {uri: \"spiffe://haulgate.dev/tms\"}\n"
            "    roles: [tms]\n"
            "    tenant: acme\n"
            "    regions: [us-tx]\n"
            "    cert: %s/tms.crt\n"
            "  - name: operator\n"
            "    match: {uri: \"spiffe://haulgate.dev/operator\"}\n"
            "    roles: [operator]\n"
            "    tenant: acme\n"
            "%s",
            it->data, it->pki, it->pki, it->pki, it->pki, policy, it->pki, it->extra_yaml);
    return fclose(f);
}

int hg_it_start(struct hg_it *it)
{
    /* the port (so the issuer) may change across restarts: fetch anew */
    hg_it_auth_free(it);
    if (write_config(it) != 0)
        return -1;
    char listen[400];
    snprintf(listen, sizeof listen, "%s/listen.json", it->data);
    unlink(listen);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(it->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(hg_it_bin("haulgated"), "haulgated", "--config", it->cfg, (char *)NULL);
        _exit(127);
    }
    it->pid = pid;
    for (int i = 0; i < 200; i++) { /* 10 s */
        json_error_t e;
        json_t *o = json_load_file(listen, 0, &e);
        if (o) {
            const char *api = json_string_value(json_object_get(o, "api"));
            const char *adm = json_string_value(json_object_get(o, "admin"));
            const char *pa = api ? strrchr(api, ':') : NULL;
            const char *pm = adm ? strrchr(adm, ':') : NULL;
            it->api_port = pa ? atoi(pa + 1) : 0;
            it->admin_port = pm ? atoi(pm + 1) : 0;
            json_decref(o);
            if (it->api_port > 0 && it->admin_port > 0)
                return 0;
        }
        if (!hg_it_alive(it))
            return -1;
        sleep_ms(50);
    }
    return -1;
}

int hg_it_alive(struct hg_it *it)
{
    if (it->pid <= 0)
        return 0;
    int st;
    pid_t r = waitpid(it->pid, &st, WNOHANG);
    if (r == it->pid) {
        it->pid = -(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st)) - 1;
        return 0;
    }
    return r == 0;
}

int hg_it_signal(struct hg_it *it, int sig)
{
    return it->pid > 0 ? kill(it->pid, sig) : -1;
}

int hg_it_wait(struct hg_it *it, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        if (it->pid <= 0)
            return it->pid < -1 ? -(it->pid + 1) : -1;
        int st;
        pid_t r = waitpid(it->pid, &st, WNOHANG);
        if (r == it->pid) {
            int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            it->pid = -code - 1;
            return code;
        }
        sleep_ms(10);
    }
    return -1;
}

int hg_it_stop(struct hg_it *it)
{
    if (it->pid <= 0)
        return it->pid < -1 ? -(it->pid + 1) : -1;
    kill(it->pid, SIGTERM);
    int code = hg_it_wait(it, 15000);
    if (code < 0 && it->pid > 0) {
        kill(it->pid, SIGKILL);
        code = hg_it_wait(it, 5000);
        return -1;
    }
    return code;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void hg_it_teardown(struct hg_it *it)
{
    hg_it_prism_stop(it);
    hg_it_auth_free(it);
    client_ctx_drop();
    if (it->pid > 0)
        hg_it_stop(it);
    if (it->dir[0] && !getenv("HG_KEEP_TMP"))
        nftw(it->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

struct sink {
    char *p;
    size_t n;
};

static size_t sink_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t len = size * nmemb;
    if (s->n + len > (64u << 20))
        return 0;
    char *q = realloc(s->p, s->n + len + 1);
    if (!q)
        return 0;
    memcpy(q + s->n, ptr, len);
    s->n += len;
    q[s->n] = '\0';
    s->p = q;
    return len;
}

int hg_it_request_opts(struct hg_it *it, void *handle, const struct hg_it_opts *o,
                       const char *client, const char *method, const char *path,
                       const char *const *headers, const char *body, size_t body_len,
                       struct hg_it_resp *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = handle ? handle : curl_easy_init();
    if (!c)
        return -1;
    char url[512], cert[400], key[400], ca[400];
    struct curl_slist *rs = NULL;
    const char *pki = o && o->client_dir ? o->client_dir : it->pki;
    if (o && o->admin)
        snprintf(url, sizeof url, "http://127.0.0.1:%d%s", it->admin_port, path);
    else
        snprintf(url, sizeof url, "https://localhost:%d%s", it->api_port, path);
    /* name the server as its certificate does, without asking a resolver */
    char resolve[64];
    snprintf(resolve, sizeof resolve, "localhost:%d:127.0.0.1", it->api_port);
    rs = curl_slist_append(NULL, resolve);
    curl_easy_setopt(c, CURLOPT_RESOLVE, rs);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    snprintf(ca, sizeof ca, "%s/ca.crt", it->pki);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (client) {
        snprintf(cert, sizeof cert, "%s/%s.crt", pki, client);
        snprintf(key, sizeof key, "%s/%s.key", pki, client);
        curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, key);
    } else {
        curl_easy_setopt(c, CURLOPT_SSLCERT, NULL);
        curl_easy_setopt(c, CURLOPT_SSLKEY, NULL);
    }
    curl_easy_setopt(c, CURLOPT_SSLVERSION,
                     o && o->tls12_only ? (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2)
                                        : (long)CURL_SSLVERSION_TLSv1_2);
    struct sink b = {0}, h = {0};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    struct curl_slist *sl = NULL;
    char **auth = o && o->admin ? NULL : hg_it_auth_headers(it, client, method, path, headers);
    if (auth)
        for (size_t i = 0; auth[i]; i++)
            sl = curl_slist_append(sl, auth[i]);
    else
        for (size_t i = 0; headers && headers[i]; i++)
            sl = curl_slist_append(sl, headers[i]);
    hg_it_headers_free(auth);
    if (body) {
        sl = curl_slist_append(sl, "Expect:");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    out->curl_code = (int)rc;
    snprintf(out->error, sizeof out->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &out->connects);
    out->body = b.p ? b.p : strdup("");
    out->body_len = b.n;
    out->headers = h.p ? h.p : strdup("");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(sl);
    curl_easy_setopt(c, CURLOPT_RESOLVE, NULL);
    curl_slist_free_all(rs);
    if (!handle)
        curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}

int hg_it_request(struct hg_it *it, void *handle, const char *client, const char *method,
                  const char *path, const char *const *headers, const char *body,
                  size_t body_len, struct hg_it_resp *out)
{
    return hg_it_request_opts(it, handle, NULL, client, method, path, headers, body, body_len,
                              out);
}

void hg_it_resp_free(struct hg_it_resp *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}

const char *hg_it_resp_header(const struct hg_it_resp *r, const char *name, char *buf,
                              size_t cap)
{
    size_t nl = strlen(name);
    /* the last response's header block (curl may record 100-continue etc.) */
    for (const char *p = r->headers; p && *p;) {
        const char *e = strstr(p, "\r\n");
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > nl + 1 && !strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - p);
            if (vl >= cap)
                vl = cap - 1;
            memcpy(buf, v, vl);
            buf[vl] = '\0';
            return buf;
        }
        p = e ? e + 2 : p + len;
    }
    return NULL;
}

int hg_it_tcp(struct hg_it *it, int port)
{
    (void)it;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

SSL *hg_it_tls(struct hg_it *it, const char *client, int *fdp)
{
    return hg_it_tls_resume(it, client, fdp, NULL);
}

/* One client SSL_CTX kept per (PKI, client): OpenSSL resumes a session only
 * from the context that made it, as a real client would. */
static SSL_CTX *cached_ctx;
static char cached_key[512];

static void client_ctx_drop(void)
{
    SSL_CTX_free(cached_ctx);
    cached_ctx = NULL;
    cached_key[0] = '\0';
}

static SSL_CTX *client_ctx(struct hg_it *it, const char *client)
{
    char key[512];
    snprintf(key, sizeof key, "%s|%s", it->pki, client ? client : "");
    if (cached_ctx && !strcmp(key, cached_key))
        return cached_ctx;
    client_ctx_drop();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return NULL;
    char path[400];
    snprintf(path, sizeof path, "%s/ca.crt", it->pki);
    SSL_CTX_load_verify_locations(ctx, path, NULL);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (client) {
        snprintf(path, sizeof path, "%s/%s.crt", it->pki, client);
        SSL_CTX_use_certificate_chain_file(ctx, path);
        snprintf(path, sizeof path, "%s/%s.key", it->pki, client);
        SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM);
    }
    cached_ctx = ctx;
    snprintf(cached_key, sizeof cached_key, "%s", key);
    return ctx;
}

SSL *hg_it_tls_resume(struct hg_it *it, const char *client, int *fdp, SSL_SESSION *resume)
{
    SSL_CTX *ctx = client_ctx(it, client);
    if (!ctx)
        return NULL;
    int fd = hg_it_tcp(it, it->api_port);
    SSL *ssl = fd >= 0 ? SSL_new(ctx) : NULL;
    if (!ssl) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    if (resume)
        SSL_set_session(ssl, resume);
    if (SSL_connect(ssl) != 1) {
        ERR_clear_error();
        SSL_free(ssl);
        close(fd);
        return NULL;
    }
    *fdp = fd;
    return ssl;
}

void hg_it_tls_close(SSL *ssl, int fd)
{
    if (ssl) {
        /* a polite close: without close_notify OpenSSL marks the session
         * not resumable */
        if (SSL_shutdown(ssl) < 0)
            ERR_clear_error();
        SSL_free(ssl);
    }
    if (fd >= 0)
        close(fd);
}

size_t hg_it_tls_read_all(SSL *ssl, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;
    int fd = SSL_get_fd(ssl);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (n + 1 < cap) {
        int r = SSL_read(ssl, buf + n, (int)(cap - 1 - n));
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    ERR_clear_error();
    buf[n] = '\0';
    return n;
}

char *hg_it_log(struct hg_it *it)
{
    FILE *f = fopen(it->log, "r");
    if (!f)
        return strdup("");
    struct sink s = {0};
    char buf[4096];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, f)) > 0)
        sink_write(buf, 1, r, &s);
    fclose(f);
    return s.p ? s.p : strdup("");
}

int hg_it_start_verbose(struct hg_it *it)
{
    if (hg_it_start(it) == 0)
        return 0;
    char *log = hg_it_log(it);
    fprintf(stderr, "daemon failed to start:\n%s\n", log);
    free(log);
    return -1;
}

static int default_prepare(struct hg_it *it)
{
    return hg_it_setup(it) == 0 ? hg_it_start_verbose(it) : -1;
}

int hg_it_fixture(void **state, int (*prepare)(struct hg_it *it))
{
    struct hg_it *it = calloc(1, sizeof *it);
    if (!it)
        return -1;
    if ((prepare ? prepare : default_prepare)(it) != 0) {
        hg_it_teardown(it);
        free(it);
        return -1;
    }
    *state = it;
    return 0;
}

int hg_it_fixture_free(void **state)
{
    struct hg_it *it = *state;
    if (it) {
        hg_it_teardown(it);
        free(it);
        *state = NULL;
    }
    return 0;
}
