/* SPDX-License-Identifier: Apache-2.0
 *
 * harness_prism.c — the contract-check chain of the integration harness:
 * per client stem a socat that holds the client certificate (plain HTTP in,
 * mTLS out to haulgated) behind a `prism proxy --errors` that validates
 * every request and response against api/openapi.yaml. Requests that prism
 * flags fail; see harness.h for which function a test should use. It never
 * leaves a process behind: every tool runs in its own process group, killed
 * as a group.
 */
#include "integration/harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
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

#define MAX_LANES 8
#define START_TIMEOUT_MS 60000
#define STOP_GRACE_MS 3000
#define PRISM_ERRORS "https://stoplight.io/prism/errors#"
#define OUR_PROBLEMS "https://haulgate.dev/problems/"

struct lane {
    char client[64];
    pid_t socat, prism;
    int sport, pport;
};

struct hg_it_prism {
    size_t n;
    struct lane lane[MAX_LANES];
    char spec[320]; /* derived spec, made once */
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *root_dir(void)
{
    const char *r = getenv("HG_ROOT");
    return r && *r ? r : ".";
}

/* A loopback port that was free a moment ago. The tool that gets it binds
 * it a little later; a lost race shows up as the tool exiting at once, and
 * the caller retries with another port. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static int accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* fork + exec argv in a new process group with stdout/stderr appended to
 * `log`. Everything the child does before exec is async-signal-safe. */
static pid_t spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setpgid(0, 0);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid); /* also here, so a kill right after fork finds the group */
    return pid;
}

/* 1 while the group leader runs. Once it has exited (checked without
 * reaping it, so its group id cannot be reused meanwhile) whatever is left
 * of its group is killed, and then it is reaped. */
static int running(pid_t *pid)
{
    if (*pid <= 0)
        return 0;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)*pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0)
        return 1;
    kill(-*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = -1;
    return 0;
}

/* SIGTERM to the group, up to STOP_GRACE_MS for the leader to exit, then
 * SIGKILL to whatever of the group is left (socat's per-connection
 * children, a stuck node) and reap the leader. */
static void kill_group(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(-*pid, SIGTERM);
    for (int waited = 0; waited < STOP_GRACE_MS && running(pid); waited += 20)
        sleep_ms(20);
    if (*pid > 0) {
        kill(-*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
        *pid = -1;
    }
}

static void print_file(const char *what, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    fprintf(stderr, "---- %s (%s)\n", what, path);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stderr);
    fclose(f);
    fprintf(stderr, "----\n");
}

/* Run argv to completion with output in `log`; its exit status or -1. */
static int run_logged(char *const argv[], const char *log)
{
    pid_t pid = spawn(argv, log);
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static struct hg_it_prism *state(struct hg_it *it)
{
    if (!it->prism)
        it->prism = calloc(1, sizeof *it->prism);
    return it->prism;
}

static int tool(const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/node_modules/.bin/%s", root_dir(), name);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    if (access(out, X_OK) != 0) {
        fprintf(stderr,
                "%s not found: the npm tools are not installed; run `make deps` (scripts/deps.sh "
                "runs npm ci from package-lock.json)\n",
                out);
        return -1;
    }
    return 0;
}

/* Remove every `security` requirement: at the root and on operations. */
static void drop_security(json_t *spec)
{
    json_object_del(spec, "security");
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(spec, "paths"), path, item) {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op) {
            if (json_is_object(op))
                json_object_del(op, "security");
        }
    }
}

int hg_it_prism_spec(struct hg_it *it, char *out, size_t cap)
{
    struct hg_it_prism *p = state(it);
    if (!p)
        return -1;
    if (p->spec[0]) {
        snprintf(out, cap, "%s", p->spec);
        return 0;
    }
    char redocly[512], src[512], bundled[400], log[400], derived[320];
    if (tool("redocly", redocly, sizeof redocly) != 0)
        return -1;
    snprintf(src, sizeof src, "%s/api/openapi.yaml", root_dir());
    snprintf(bundled, sizeof bundled, "%s/openapi.bundled.json", it->dir);
    snprintf(log, sizeof log, "%s/redocly-bundle.log", it->dir);
    snprintf(derived, sizeof derived, "%s/openapi.prism.json", it->dir);
    /* no telemetry, no update check: tests run offline-quiet */
    setenv("REDOCLY_TELEMETRY", "off", 1);
    setenv("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true", 1);
    char *argv[] = {redocly, "bundle", src, "--ext", "json", "-o", bundled, NULL};
    if (run_logged(argv, log) != 0) {
        fprintf(stderr, "redocly bundle %s failed\n", src);
        print_file("redocly", log);
        return -1;
    }
    json_error_t e;
    json_t *spec = json_load_file(bundled, 0, &e);
    if (!json_is_object(spec)) {
        fprintf(stderr, "%s: %s (line %d)\n", bundled, e.text, e.line);
        json_decref(spec);
        return -1;
    }
    drop_security(spec);
    int rc = json_dump_file(spec, derived, JSON_INDENT(1));
    json_decref(spec);
    if (rc != 0) {
        fprintf(stderr, "cannot write %s\n", derived);
        return -1;
    }
    snprintf(p->spec, sizeof p->spec, "%s", derived);
    snprintf(out, cap, "%s", derived);
    return 0;
}

static struct lane *find_lane(struct hg_it *it, const char *client)
{
    for (size_t i = 0; it->prism && i < it->prism->n; i++)
        if (!strcmp(it->prism->lane[i].client, client))
            return &it->prism->lane[i];
    return NULL;
}

static void lane_log(struct hg_it *it, const struct lane *l, const char *tool_name, char *out,
                     size_t cap)
{
    snprintf(out, cap, "%s/%s-%s.log", it->dir, tool_name, l->client);
}

static int start_socat(struct hg_it *it, struct lane *l)
{
    char listen[96], connect[1400], log[400];
    lane_log(it, l, "socat", log, sizeof log);
    for (int attempt = 0; attempt < 5; attempt++) {
        l->sport = free_port();
        if (l->sport <= 0)
            return -1;
        snprintf(listen, sizeof listen, "TCP-LISTEN:%d,fork,reuseaddr,bind=127.0.0.1", l->sport);
        /* pf=ip4: the daemon listens on 127.0.0.1; "localhost" is also the
         * name its certificate carries and the SNI sent */
        snprintf(connect, sizeof connect,
                 "OPENSSL:localhost:%d,pf=ip4,cert=%s/%s.crt,key=%s/%s.key,cafile=%s/ca.crt,"
                 "verify=1,commonname=localhost,min-version=TLS1.3",
                 it->api_port, it->pki, l->client, it->pki, l->client, it->pki);
        char *argv[] = {"/usr/bin/socat", listen, connect, NULL};
        if (access(argv[0], X_OK) != 0) {
            fprintf(stderr, "/usr/bin/socat not found: run `make deps` (Debian package socat)\n");
            return -1;
        }
        l->socat = spawn(argv, log);
        if (l->socat < 0)
            return -1;
        for (int waited = 0; waited < 5000; waited += 10) {
            if (!running(&l->socat))
                break; /* port taken meanwhile, or a bad option: retry, then report */
            if (accepts(l->sport))
                return 0;
            sleep_ms(10);
        }
        kill_group(&l->socat);
    }
    fprintf(stderr, "socat for client '%s' did not start\n", l->client);
    print_file("socat", log);
    return -1;
}

static int spawn_prism(struct hg_it *it, const char *spec, struct lane *l)
{
    char prism[512], port[16], upstream[64], log[400];
    if (tool("prism", prism, sizeof prism) != 0)
        return -1;
    lane_log(it, l, "prism", log, sizeof log);
    l->pport = free_port();
    if (l->pport <= 0)
        return -1;
    snprintf(port, sizeof port, "%d", l->pport);
    snprintf(upstream, sizeof upstream, "http://127.0.0.1:%d", l->sport);
    char *argv[] = {prism, "proxy", "--errors", "-h", "127.0.0.1", "-p", port,
                    (char *)spec, upstream, NULL};
    l->prism = spawn(argv, log);
    return l->prism > 0 ? 0 : -1;
}

int hg_it_prism_start_spec(struct hg_it *it, const char *spec, const char *const *clients)
{
    struct hg_it_prism *p = state(it);
    if (!p || !clients || it->api_port <= 0) {
        fprintf(stderr, "hg_it_prism_start: start the daemon first\n");
        return -1;
    }
    double t0 = now_s();
    size_t first = p->n;
    for (size_t i = 0; clients[i]; i++) {
        if (find_lane(it, clients[i]) || p->n >= MAX_LANES ||
            strlen(clients[i]) >= sizeof p->lane[0].client) {
            fprintf(stderr, "hg_it_prism_start: client '%s' already has a lane, or too many\n",
                    clients[i]);
            return -1;
        }
        struct lane *l = &p->lane[p->n++];
        memset(l, 0, sizeof *l);
        l->socat = l->prism = -1;
        snprintf(l->client, sizeof l->client, "%s", clients[i]);
        if (start_socat(it, l) != 0)
            return -1;
    }
    /* Every prism at once: each spends seconds loading the spec, mostly
     * on one core, so in parallel they cost about one start on two cores. */
    for (size_t i = first; i < p->n; i++)
        if (spawn_prism(it, spec, &p->lane[i]) != 0)
            return -1;
    for (size_t i = first; i < p->n; i++) {
        struct lane *l = &p->lane[i];
        int up = 0;
        for (int attempt = 0; attempt < 3 && !up; attempt++) {
            while ((now_s() - t0) * 1000 < START_TIMEOUT_MS && running(&l->prism)) {
                if (accepts(l->pport)) {
                    up = 1;
                    break;
                }
                sleep_ms(25);
            }
            /* exited at once: most likely its port was taken; try another */
            if (!up && l->prism < 0 && spawn_prism(it, spec, l) != 0)
                break;
        }
        if (!up) {
            char log[400];
            lane_log(it, l, "prism", log, sizeof log);
            fprintf(stderr, "prism for client '%s' did not start within %d ms\n", l->client,
                    START_TIMEOUT_MS);
            print_file("prism", log);
            return -1;
        }
    }
    fprintf(stderr, "# prism: %zu lane(s) ready in %.2f s\n", p->n - first, now_s() - t0);
    return 0;
}

int hg_it_prism_start(struct hg_it *it, const char *const *clients)
{
    char spec[320];
    if (hg_it_prism_spec(it, spec, sizeof spec) != 0)
        return -1;
    return hg_it_prism_start_spec(it, spec, clients);
}

void hg_it_prism_stop(struct hg_it *it)
{
    struct hg_it_prism *p = it->prism;
    if (!p)
        return;
    /* prism first, so it does not see its upstream vanish mid-request */
    for (size_t i = 0; i < p->n; i++)
        kill_group(&p->lane[i].prism);
    for (size_t i = 0; i < p->n; i++)
        kill_group(&p->lane[i].socat);
    free(p);
    it->prism = NULL;
}

/* ------------------------------------------------------------- requests */

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

/* Plain HTTP/1.1 to 127.0.0.1:port. 0 when a response came back. */
static int plain_request(int port, const char *method, const char *path,
                         const char *const *headers, const char *body, size_t body_len,
                         struct hg_it_resp *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(out->error, sizeof out->error, "curl_easy_init failed");
        out->body = strdup("");
        out->headers = strdup("");
        return -1;
    }
    char url[1200];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
    struct sink b = {0}, h = {0};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    struct curl_slist *sl = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; headers && headers[i]; i++)
        sl = curl_slist_append(sl, headers[i]);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    out->curl_code = (int)rc;
    if (rc != CURLE_OK)
        snprintf(out->error, sizeof out->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &out->connects);
    out->body = b.p ? b.p : strdup("");
    out->body_len = b.n;
    out->headers = h.p ? h.p : strdup("");
    curl_slist_free_all(sl);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}

static void append(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(dst);
    if (n + 1 < cap)
        snprintf(dst + n, cap - n, "%s", s);
}

/* The problem `type` of a response when it is a problem document, else "". */
static void problem_type(const struct hg_it_resp *r, char *out, size_t cap, json_t **doc)
{
    out[0] = '\0';
    *doc = NULL;
    char ct[128];
    if (!hg_it_resp_header(r, "Content-Type", ct, sizeof ct) ||
        strncasecmp(ct, "application/problem+json", 24) != 0)
        return;
    json_error_t e;
    *doc = json_loadb(r->body, r->body_len, 0, &e);
    const char *t = json_string_value(json_object_get(*doc, "type"));
    snprintf(out, cap, "%s", t ? t : "");
}

/* 1 when prism reported a violation on this response; out->error says
 * which (prism's title, then each validation's location and message). */
static int prism_flagged(struct hg_it_resp *r)
{
    char sl[512], type[256];
    json_t *doc;
    problem_type(r, type, sizeof type, &doc);
    int flagged = 0;
    if (!strncmp(type, PRISM_ERRORS, strlen(PRISM_ERRORS))) {
        flagged = 1;
        snprintf(r->error, sizeof r->error, "prism %ld %.40s: %.160s", r->status,
                 type + strlen(PRISM_ERRORS),
                 json_string_value(json_object_get(doc, "detail"))
                     ? json_string_value(json_object_get(doc, "detail"))
                     : "");
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(doc, "validation"), i, v) {
            char line[256];
            json_t *loc = json_object_get(v, "location");
            char where[128] = "";
            size_t k;
            json_t *part;
            json_array_foreach(loc, k, part) {
                append(where, sizeof where, k ? "." : "");
                append(where, sizeof where, json_string_value(part) ? json_string_value(part) : "?");
            }
            snprintf(line, sizeof line, " | %s %s", where,
                     json_string_value(json_object_get(v, "message"))
                         ? json_string_value(json_object_get(v, "message"))
                         : "");
            append(r->error, sizeof r->error, line);
        }
    }
    if (hg_it_resp_header(r, "sl-violations", sl, sizeof sl)) {
        if (!flagged)
            snprintf(r->error, sizeof r->error, "prism sl-violations: %.220s", sl);
        flagged = 1;
    }
    json_decref(doc);
    return flagged;
}

int hg_it_prism_request(struct hg_it *it, const char *client, const char *method,
                        const char *path, const char *const *headers, const char *body,
                        size_t body_len, struct hg_it_resp *out)
{
    const struct lane *l = find_lane(it, client);
    if (!l) {
        memset(out, 0, sizeof *out);
        snprintf(out->error, sizeof out->error,
                 "no prism lane for client '%s': start it with hg_it_prism_start", client);
        out->body = strdup("");
        out->headers = strdup("");
        return -1;
    }
    char **h = hg_it_auth_headers(it, client, method, path, headers);
    int rc = plain_request(l->pport, method, path, h ? (const char *const *)h : headers, body,
                           body_len, out);
    hg_it_headers_free(h);
    if (rc != 0)
        return -1;
    return prism_flagged(out) ? -1 : 0;
}

int hg_it_prism_request_direct(struct hg_it *it, const char *client, const char *method,
                               const char *path, const char *const *headers, const char *body,
                               size_t body_len, struct hg_it_resp *out)
{
    const struct lane *l = find_lane(it, client);
    if (!l) {
        memset(out, 0, sizeof *out);
        snprintf(out->error, sizeof out->error,
                 "no prism lane for client '%s': start it with hg_it_prism_start", client);
        out->body = strdup("");
        out->headers = strdup("");
        return -1;
    }
    char **h = hg_it_auth_headers(it, client, method, path, headers);
    int rc = plain_request(l->sport, method, path, h ? (const char *const *)h : headers, body,
                           body_len, out);
    hg_it_headers_free(h);
    return rc;
}

int hg_it_prism_request_invalid(struct hg_it *it, const char *client, const char *method,
                                const char *path, const char *const *headers, const char *body,
                                size_t body_len, struct hg_it_resp *out)
{
    struct hg_it_resp first;
    int rc = hg_it_prism_request(it, client, method, path, headers, body, body_len, &first);
    /* A request violation is answered by prism itself with a 4xx; a 500
     * #VIOLATIONS would mean prism forwarded it and disliked the answer. */
    int rejected = rc != 0 && first.curl_code == 0 && first.status >= 400 && first.status < 500 &&
                   !strncmp(first.error, "prism ", 6);
    if (!rejected) {
        memset(out, 0, sizeof *out);
        out->status = first.status;
        if (rc == 0)
            snprintf(out->error, sizeof out->error,
                     "prism accepted %s %s (answered %ld): the spec allows this request, so it "
                     "is no negative contract test; use hg_it_prism_request",
                     method, path, first.status);
        else
            snprintf(out->error, sizeof out->error, "not a request violation: %.220s", first.error);
        out->body = first.body;
        out->headers = first.headers;
        out->body_len = first.body_len;
        return -1;
    }
    hg_it_resp_free(&first);
    if (hg_it_prism_request_direct(it, client, method, path, headers, body, body_len, out) != 0)
        return -1;
    char type[256];
    json_t *doc;
    problem_type(out, type, sizeof type, &doc);
    json_decref(doc);
    if (out->status < 400 || out->status >= 500 ||
        strncmp(type, OUR_PROBLEMS, strlen(OUR_PROBLEMS)) != 0) {
        snprintf(out->error, sizeof out->error,
                 "the daemon answered %ld without a 4xx problem document of ours (type '%.120s')",
                 out->status, type);
        return -1;
    }
    return 0;
}
