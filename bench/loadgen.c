/* SPDX-License-Identifier: Apache-2.0
 *
 * loadgen.c — haulgate's closed-loop HTTPS load generator (`make bench`).
 * N keep-alive TLS 1.3 connections (client certificate, server verified
 * against a CA) are spread over T threads, one epoll loop per thread. Each
 * connection has exactly one request in flight and sends the next as soon as
 * the previous response is complete, so the offered load follows the server
 * (closed loop) and two servers measured the same way can be compared.
 * Latencies go into a log-bucketed histogram (under 1 % relative error) so
 * memory never grows with the run. Results are one human line and one JSON
 * line. It never weakens TLS verification, every buffer has a bound, and it
 * stops by itself after warm-up + duration.
 *
 * The response parser sits first, alone, so tests/fuzz/fuzz_loadgen_resp.c
 * can include this file with HG_LOADGEN_PARSER_ONLY and fuzz just that.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* HTTP/1.1 response parser (RFC 9112 framing: status line, Content-Length, */
/* chunked, read-until-close). It only frames; it keeps no body.            */

#define RP_HEAD_MAX 8192           /* a bigger response head is an error */
#define RP_LINE_MAX 256            /* chunk-size and trailer lines */
#define RP_TRAILER_MAX 8192        /* all trailer lines together */
#define RP_CL_MAX 1000000000000ULL /* Content-Length above 1 TB is nonsense */

enum rp_state {
    RP_HEAD,        /* collecting the status line and headers */
    RP_BODY_LEN,    /* Content-Length body: `remaining` bytes to come */
    RP_BODY_EOF,    /* no framing: the body ends when the server closes */
    RP_CHUNK_SIZE,  /* expecting a chunk-size line */
    RP_CHUNK_DATA,  /* `remaining` bytes of chunk data */
    RP_CHUNK_CRLF,  /* the CRLF after chunk data */
    RP_TRAILER,     /* trailer lines until an empty one */
    RP_DONE,
    RP_FAILED
};

enum rp_result { RP_MORE, RP_COMPLETE, RP_ERROR };

struct rp {
    enum rp_state state;
    int status;             /* 100..999 once the head is parsed */
    int close;              /* the server will close after this response */
    int head_only;          /* the request was HEAD: no body follows */
    uint64_t remaining;
    size_t head_len;
    size_t line_len;
    size_t trailer_len;
    const char *why;        /* static text saying what was malformed */
    char head[RP_HEAD_MAX];
    char line[RP_LINE_MAX];
};

static void rp_reset(struct rp *p, int head_only)
{
    p->state = RP_HEAD;
    p->status = 0;
    p->close = 0;
    p->head_only = head_only;
    p->remaining = 0;
    p->head_len = 0;
    p->line_len = 0;
    p->trailer_len = 0;
    p->why = NULL;
}

static enum rp_result rp_fail(struct rp *p, const char *why)
{
    p->state = RP_FAILED;
    p->why = why;
    return RP_ERROR;
}

static int is_tchar(unsigned char ch)
{
    return isalnum(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Case-insensitive: does the comma-separated list [v, v+n) hold `tok`? */
static int list_has(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

/* Is `tok` the last element of the list (the final transfer coding)? */
static int list_last_is(const char *v, size_t n, const char *tok)
{
    size_t e = n;
    while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == '\t'))
        e--;
    size_t s = e;
    while (s > 0 && v[s - 1] != ',')
        s--;
    while (s < e && (v[s] == ' ' || v[s] == '\t'))
        s++;
    size_t tl = strlen(tok);
    return e - s == tl && strncasecmp(v + s, tok, tl) == 0;
}

/* Parse p->head[0 .. p->head_len), which ends with CRLF CRLF, and choose how
 * the body is framed. */
static enum rp_result rp_parse_head(struct rp *p)
{
    const char *h = p->head;
    size_t n = p->head_len - 2; /* keep the CRLF of the last header line */
    if (n < 14 || memcmp(h, "HTTP/1.", 7) != 0 || (h[7] != '0' && h[7] != '1') ||
        h[8] != ' ')
        return rp_fail(p, "status line is not 'HTTP/1.x NNN ...'");
    int http10 = h[7] == '0';
    if (!isdigit((unsigned char)h[9]) || !isdigit((unsigned char)h[10]) ||
        !isdigit((unsigned char)h[11]) || (h[12] != ' ' && h[12] != '\r'))
        return rp_fail(p, "status code is not three digits");
    p->status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
    if (p->status < 100)
        return rp_fail(p, "status code below 100");

    const char *eol = memchr(h, '\n', n);
    if (!eol || eol == h || eol[-1] != '\r')
        return rp_fail(p, "status line does not end with CRLF");
    size_t i = (size_t)(eol - h) + 1;

    int have_cl = 0, chunked = 0, te = 0, conn_close = 0, conn_keep = 0;
    uint64_t cl = 0;
    while (i < n) {
        const char *line = h + i;
        const char *nl = memchr(line, '\n', n - i);
        if (!nl || nl == line || nl[-1] != '\r')
            return rp_fail(p, "header line does not end with CRLF");
        size_t ll = (size_t)(nl - line) - 1; /* without CRLF */
        i += ll + 2;
        if (line[0] == ' ' || line[0] == '\t')
            return rp_fail(p, "obsolete folded header line");
        size_t c = 0;
        while (c < ll && is_tchar((unsigned char)line[c]))
            c++;
        if (c == 0 || c >= ll || line[c] != ':')
            return rp_fail(p, "header line is not 'Name: value'");
        size_t namelen = c;
        c++;
        while (c < ll && (line[c] == ' ' || line[c] == '\t'))
            c++;
        const char *v = line + c;
        size_t vl = ll - c;
        while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        for (size_t k = 0; k < vl; k++)
            if (v[k] == '\0' || v[k] == '\r' || v[k] == '\n')
                return rp_fail(p, "control character in a header value");

        if (namelen == 14 && strncasecmp(line, "content-length", 14) == 0) {
            uint64_t x = 0;
            if (vl == 0)
                return rp_fail(p, "empty Content-Length");
            for (size_t k = 0; k < vl; k++) {
                if (!isdigit((unsigned char)v[k]))
                    return rp_fail(p, "Content-Length is not a decimal number");
                x = x * 10 + (uint64_t)(v[k] - '0');
                if (x > RP_CL_MAX)
                    return rp_fail(p, "Content-Length too large");
            }
            if (have_cl && x != cl)
                return rp_fail(p, "conflicting Content-Length headers");
            have_cl = 1;
            cl = x;
        } else if (namelen == 17 &&
                   strncasecmp(line, "transfer-encoding", 17) == 0) {
            te = 1;
            chunked = list_last_is(v, vl, "chunked");
        } else if (namelen == 10 && strncasecmp(line, "connection", 10) == 0) {
            if (list_has(v, vl, "close"))
                conn_close = 1;
            if (list_has(v, vl, "keep-alive"))
                conn_keep = 1;
        }
    }

    p->close = conn_close || (http10 && !conn_keep);
    if (p->status < 200) {
        if (p->status == 101)
            return rp_fail(p, "unexpected protocol switch (101)");
        /* Interim response: the real one follows. */
        int head_only = p->head_only;
        rp_reset(p, head_only);
        return RP_MORE;
    }
    if (p->head_only || p->status == 204 || p->status == 304) {
        p->state = RP_DONE;
    } else if (te) {
        if (!chunked) {
            /* RFC 9112 §6.3: a final coding other than chunked means the
             * body runs until the connection closes. */
            p->state = RP_BODY_EOF;
            p->close = 1;
        } else {
            p->state = RP_CHUNK_SIZE; /* chunked wins over Content-Length */
        }
    } else if (have_cl) {
        p->remaining = cl;
        p->state = cl == 0 ? RP_DONE : RP_BODY_LEN;
    } else {
        p->state = RP_BODY_EOF;
        p->close = 1;
    }
    return RP_MORE;
}

/* One CRLF-terminated line of the chunked framing is in p->line (without
 * the CRLF); act on it. */
static enum rp_result rp_chunk_line(struct rp *p)
{
    const char *l = p->line;
    size_t n = p->line_len;
    switch (p->state) {
    case RP_CHUNK_SIZE: {
        uint64_t x = 0;
        size_t k = 0;
        while (k < n && isxdigit((unsigned char)l[k])) {
            if (k >= 15)
                return rp_fail(p, "chunk size too large");
            int ch = tolower((unsigned char)l[k]);
            x = x * 16 + (uint64_t)(isdigit(ch) ? ch - '0' : ch - 'a' + 10);
            k++;
        }
        if (k == 0)
            return rp_fail(p, "chunk size is not hexadecimal");
        while (k < n && (l[k] == ' ' || l[k] == '\t'))
            k++;
        if (k < n && l[k] != ';')
            return rp_fail(p, "garbage after the chunk size");
        if (x == 0) {
            p->state = RP_TRAILER;
        } else {
            p->remaining = x;
            p->state = RP_CHUNK_DATA;
        }
        return RP_MORE;
    }
    case RP_CHUNK_CRLF:
        if (n != 0)
            return rp_fail(p, "chunk data is longer than its size");
        p->state = RP_CHUNK_SIZE;
        return RP_MORE;
    case RP_TRAILER:
        if (n == 0) {
            p->state = RP_DONE;
            return RP_MORE;
        }
        p->trailer_len += n + 2;
        if (p->trailer_len > RP_TRAILER_MAX)
            return rp_fail(p, "trailer section exceeds 8 KiB");
        return RP_MORE;
    default:
        return rp_fail(p, "internal: line in a non-line state");
    }
}

/* Feed n bytes. Returns RP_COMPLETE when a whole final response has been
 * framed (*used = bytes of `d` it took; the rest belongs to whatever comes
 * next), RP_MORE when all n bytes were taken and more are needed, RP_ERROR
 * when the response is malformed (p->why says how). */
static enum rp_result rp_feed(struct rp *p, const char *d, size_t n, size_t *used)
{
    size_t i = 0;
    *used = 0;
    if (p->state == RP_FAILED)
        return RP_ERROR;
    while (p->state != RP_DONE && i < n) {
        switch (p->state) {
        case RP_HEAD: {
            size_t room = sizeof p->head - p->head_len;
            if (room == 0)
                return rp_fail(p, "response head exceeds 8 KiB");
            size_t take = n - i < room ? n - i : room;
            size_t from = p->head_len >= 3 ? p->head_len - 3 : 0;
            memcpy(p->head + p->head_len, d + i, take);
            p->head_len += take;
            const char *end = memmem(p->head + from, p->head_len - from,
                                     "\r\n\r\n", 4);
            if (!end) {
                i += take;
                break;
            }
            size_t hl = (size_t)(end - p->head) + 4;
            i += take - (p->head_len - hl); /* give back what follows */
            p->head_len = hl;
            if (rp_parse_head(p) == RP_ERROR)
                return RP_ERROR;
            break;
        }
        case RP_BODY_LEN:
        case RP_CHUNK_DATA: {
            uint64_t take = n - i;
            if (take > p->remaining)
                take = p->remaining;
            i += (size_t)take;
            p->remaining -= take;
            if (p->remaining == 0)
                p->state = p->state == RP_BODY_LEN ? RP_DONE : RP_CHUNK_CRLF;
            break;
        }
        case RP_BODY_EOF:
            i = n;
            break;
        case RP_CHUNK_SIZE:
        case RP_CHUNK_CRLF:
        case RP_TRAILER: {
            char ch = d[i++];
            if (ch == '\n') {
                if (p->line_len == 0 || p->line[p->line_len - 1] != '\r')
                    return rp_fail(p, "chunked framing line without CR");
                p->line_len--;
                enum rp_result r = rp_chunk_line(p);
                p->line_len = 0;
                if (r == RP_ERROR)
                    return r;
            } else {
                if (p->line_len >= sizeof p->line)
                    return rp_fail(p, "chunked framing line too long");
                p->line[p->line_len++] = ch;
            }
            break;
        }
        case RP_DONE:
        case RP_FAILED:
            break;
        }
    }
    *used = i;
    return p->state == RP_DONE ? RP_COMPLETE : RP_MORE;
}

/* The server closed the connection: RP_COMPLETE if that ends the body. */
static enum rp_result rp_eof(struct rp *p)
{
    if (p->state == RP_BODY_EOF) {
        p->state = RP_DONE;
        return RP_COMPLETE;
    }
    if (p->state == RP_DONE)
        return RP_COMPLETE;
    return rp_fail(p, "connection closed before the response was complete");
}

/* After RP_COMPLETE: the value of the first header named `name` (case-
 * insensitive), trimmed, pointing into p->head with *vlen bytes; NULL when
 * there is none. Scans only p->head[0 .. head_len). Used for --save-location. */
static const char *rp_header(const struct rp *p, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    size_t n = p->head_len;
    const char *h = p->head;
    *vlen = 0;
    if (p->state != RP_DONE || n > sizeof p->head)
        return NULL;
    const char *eol = memchr(h, '\n', n);
    if (!eol)
        return NULL;
    size_t i = (size_t)(eol - h) + 1; /* skip the status line */
    while (i < n) {
        const char *line = h + i;
        const char *e = memchr(line, '\n', n - i);
        size_t ll = e ? (size_t)(e - line) : n - i;
        i += ll + 1;
        if (ll > 0 && line[ll - 1] == '\r')
            ll--;
        if (ll > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            size_t s = nl + 1;
            while (s < ll && (line[s] == ' ' || line[s] == '\t'))
                s++;
            size_t end = ll;
            while (end > s && (line[end - 1] == ' ' || line[end - 1] == '\t'))
                end--;
            *vlen = end - s;
            return line + s;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* --paths-file: one request path per line ("/v1/tenders/0190…"), blank     */
/* lines and lines starting with '#' skipped, LF or CRLF line ends.         */

#define LG_PATH_MAX 2047

/* The next path in d[*pos .. n). Returns 1 with *path and *plen set, 0 at the
 * end, -1 when line *line_no is not a usable path (*why says what is
 * wrong). Never reads outside d[0 .. n). */
static int paths_next(const char *d, size_t n, size_t *pos, size_t *line_no,
                      const char **path, size_t *plen, const char **why)
{
    while (*pos < n) {
        const char *line = d + *pos;
        const char *e = memchr(line, '\n', n - *pos);
        size_t ll = e ? (size_t)(e - line) : n - *pos;
        *pos += e ? ll + 1 : ll;
        (*line_no)++;
        if (ll > 0 && line[ll - 1] == '\r')
            ll--;
        if (ll == 0 || line[0] == '#')
            continue;
        if (line[0] != '/') {
            *why = "a path must start with '/' (the URL gives scheme, host and port)";
            return -1;
        }
        if (ll > LG_PATH_MAX) {
            *why = "the path is longer than 2047 bytes";
            return -1;
        }
        for (size_t k = 0; k < ll; k++)
            if ((unsigned char)line[k] <= 0x20 || (unsigned char)line[k] >= 0x7f) {
                *why = "the path has a space, control or non-ASCII byte; percent-encode it";
                return -1;
            }
        *path = line;
        *plen = ll;
        return 1;
    }
    return 0;
}

#ifndef HG_LOADGEN_PARSER_ONLY

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/status.h"
#include "common/util.h"

#define MAX_CONNS 4096
#define MAX_THREADS 64
#define MAX_HEADERS 32
#define MAX_BODY (1u << 20)          /* --body-file limit */
#define MAX_REQ (MAX_BODY + 65536u)  /* whole request, head included */
#define MAX_URL 2048
#define SWEEP_US 10000               /* timeouts and reconnects every 10 ms */
#define READ_CHUNK 16384
#define MAX_PATHS 1000000            /* --paths-file lines */
#define MAX_TPL_BYTES (64u << 20)    /* all request templates together */
#define MAX_SAVED (32u << 20)        /* --save-location bytes per thread */

/* ------------------------------------------------------------------------ */
/* Latency histogram: exact below 256 µs, then 128 sub-buckets per power of  */
/* two (≤ 0.8 % error) up to 2^36 µs; larger values land in the last bucket. */

#define H_LINEAR 256
#define H_SUB 128
#define H_MAXSHIFT 28
#define H_BUCKETS (H_LINEAR + H_MAXSHIFT * H_SUB)

static size_t hist_index(uint64_t v)
{
    if (v < H_LINEAR)
        return (size_t)v;
    int shift = 63 - __builtin_clzll(v) - 7;
    if (shift > H_MAXSHIFT)
        return H_BUCKETS - 1;
    return H_LINEAR + (size_t)(shift - 1) * H_SUB + (size_t)((v >> shift) - H_SUB);
}

/* The largest value that falls into bucket i. */
static uint64_t hist_upper(size_t i)
{
    if (i < H_LINEAR)
        return i;
    size_t k = i - H_LINEAR;
    unsigned shift = (unsigned)(k / H_SUB) + 1;
    uint64_t m = (uint64_t)(k % H_SUB) + H_SUB;
    return ((m + 1) << shift) - 1;
}

enum err_kind { E_CONNECT, E_TLS, E_IO, E_PARSE, E_TIMEOUT, E__COUNT };

static const struct {
    const char *json;
    const char *what;
} err_names[E__COUNT] = {
    [E_CONNECT] = {"connect_errors", "TCP connect failed"},
    [E_TLS] = {"tls_errors", "TLS handshake failed"},
    [E_IO] = {"io_errors", "connection failed during a request"},
    [E_PARSE] = {"parse_errors", "malformed HTTP response"},
    [E_TIMEOUT] = {"timeouts", "request timed out"},
};

struct stats {
    uint64_t hist[H_BUCKETS];
    uint64_t responses;      /* complete responses in the window */
    uint64_t ok;             /* of which 2xx */
    uint64_t err[E__COUNT];
    uint64_t reconnects;
    uint64_t bytes_in;
    uint64_t sum_us;
    uint64_t max_us;
    uint64_t warm_responses; /* during warm-up, not in the figures */
    uint64_t warm_errors;
    uint64_t saved;          /* Location values kept (warm-up included) */
    uint64_t unsaved;        /* 2xx without a usable Location, or no room */
};

/* ------------------------------------------------------------------------ */
/* Options, shared read-only state                                           */

struct opts {
    char host[256];          /* without brackets */
    char port[8];
    char authority[300];     /* Host header value */
    char path[MAX_URL];
    const char *url;
    const char *cert, *key, *ca, *servername;
    const char *method;
    const char *body_file;
    const char *unique_header;
    const char *paths_file;
    const char *save_location;
    const char *label;
    const char *format;
    const char *headers[MAX_HEADERS];
    size_t nheaders;
    int64_t connections, threads, duration_s, warmup_s, timeout_ms;
};

/* A ready-to-send request: head and body. */
struct tpl {
    char *req;
    size_t len;
    size_t uuid_off;         /* where the UUID goes; 0 = no unique header */
};

struct run {
    struct opts o;
    SSL_CTX *ctx;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int sni;                 /* send SNI (server name is not an IP literal) */
    struct tpl *tpl;         /* one request template per path */
    size_t ntpl;
    size_t max_req_len;      /* the longest template */
    int unique;              /* each request gets a fresh UUID */
    int head_only;
    uint64_t t_start, t_measure, t_end;
};

enum cstate { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_WRITING, C_READING, C_DONE };

struct worker;

struct conn {
    struct worker *w;
    int fd;
    SSL *ssl;
    enum cstate state;
    uint64_t op_start;       /* connect or request start, for the timeout */
    uint64_t req_start;
    uint64_t retry_at;
    unsigned fails;          /* consecutive attempts without a response */
    uint64_t served;         /* responses on the current connection */
    char *req;               /* own copy when each request gets a UUID */
    const char *out;         /* the request being written */
    size_t out_len;
    size_t req_off;
    struct rp rp;
};

struct worker {
    pthread_t tid;
    int started;
    int ep;
    const struct run *run;
    struct conn *conns;
    size_t nconns;
    struct stats st;
    struct hg_buf saved;     /* --save-location: values, one per line */
    char rbuf[READ_CHUNK];
};

static atomic_int stop_flag;
static atomic_size_t next_tpl; /* round-robin over --paths-file */
static atomic_int reported[E__COUNT];
static atomic_int reported_non2xx;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, 1);
}

/* Print the first error of each kind, so a broken setup (wrong CA, wrong
 * port) is obvious instead of showing up only as a count. */
static void report_once(atomic_int *flag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void report_once(atomic_int *flag, const char *fmt, ...)
{
    if (atomic_exchange(flag, 1))
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "loadgen: %s (first of its kind; later ones are only counted)\n", msg);
}

/* ------------------------------------------------------------------------ */
/* Connections                                                               */

static void conn_open(struct conn *c, uint64_t now);
static void conn_close(struct conn *c);
static int conn_begin_request(struct conn *c, uint64_t now);

static int in_window(const struct run *r, uint64_t t)
{
    return t >= r->t_measure && t < r->t_end;
}

/* Close after a clean end (the run is over, or the server asked): say
 * close_notify so the server sees an orderly TLS close, not an abrupt EOF. */
static void conn_close_notify(struct conn *c)
{
    if (c->ssl && (c->state == C_WRITING || c->state == C_READING || c->state == C_DONE)) {
        ERR_clear_error();
        (void)SSL_shutdown(c->ssl); /* non-blocking: best effort, one try */
        ERR_clear_error();
    }
    conn_close(c);
}

static void conn_close(struct conn *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        /* Closing removes the fd from the epoll set. */
        close(c->fd);
        c->fd = -1;
    }
}

static void conn_fail(struct conn *c, enum err_kind kind, const char *detail)
{
    const struct run *r = c->w->run;
    uint64_t now = hg_mono_us();
    if (in_window(r, now))
        c->w->st.err[kind]++;
    else
        c->w->st.warm_errors++;
    report_once(&reported[kind], "%s [%s:%s]: %s", err_names[kind].what,
                r->o.host, r->o.port, detail ? detail : "no detail");
    int had_served = c->served > 0;
    conn_close(c);
    c->state = C_IDLE;
    if (had_served && c->fails == 0) {
        /* A working connection broke: reconnect at once, as a client would. */
        c->fails = 1;
        conn_open(c, now);
        return;
    }
    c->fails++;
    unsigned sh = c->fails > 7 ? 7 : c->fails;
    uint64_t delay = (uint64_t)10000 << sh; /* 20 ms .. 1.28 s */
    if (delay > 1000000)
        delay = 1000000;
    c->retry_at = now + delay;
}

static void tls_detail(const struct conn *c, int ret, int e, char *out, size_t cap)
{
    unsigned long code = ERR_peek_last_error();
    if (e == SSL_ERROR_SSL && code != 0) {
        char reason[256];
        ERR_error_string_n(code, reason, sizeof reason);
        long v = SSL_get_verify_result(c->ssl);
        if (v != X509_V_OK)
            snprintf(out, cap, "%s; server certificate: %s (check --ca and --servername)",
                     reason, X509_verify_cert_error_string(v));
        else
            snprintf(out, cap, "%s", reason);
    } else if (e == SSL_ERROR_SYSCALL) {
        if (ret == 0 || errno == 0)
            snprintf(out, cap, "the server closed the connection (does it accept this client certificate?)");
        else
            snprintf(out, cap, "%s", strerror(errno));
    } else if (e == SSL_ERROR_ZERO_RETURN) {
        snprintf(out, cap, "the server closed the connection");
    } else {
        snprintf(out, cap, "SSL error %d", e);
    }
    ERR_clear_error();
}

/* After an SSL call returned `ret` <= 0: 1 if it only has to wait for the
 * socket (edge-triggered epoll will call back), 0 if the connection failed. */
static int ssl_wait_or_fail(struct conn *c, int ret, enum err_kind kind)
{
    int e = SSL_get_error(c->ssl, ret);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 1;
    char detail[600];
    tls_detail(c, ret, e, detail, sizeof detail);
    conn_fail(c, kind, detail);
    return 0;
}

static void conn_open(struct conn *c, uint64_t now)
{
    const struct run *r = c->w->run;
    char detail[300];
    c->served = 0;
    c->op_start = now;
    c->fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        snprintf(detail, sizeof detail, "socket: %s", strerror(errno));
        conn_fail(c, E_CONNECT, detail);
        return;
    }
    int one = 1;
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (const struct sockaddr *)&r->addr, r->addrlen) != 0 &&
        errno != EINPROGRESS) {
        snprintf(detail, sizeof detail, "%s (is the server running?)", strerror(errno));
        conn_fail(c, E_CONNECT, detail);
        return;
    }
    c->ssl = SSL_new(r->ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 ||
        (r->sni && SSL_set_tlsext_host_name(c->ssl, r->o.servername) != 1)) {
        ERR_clear_error();
        conn_fail(c, E_TLS, "could not create the TLS session (out of memory?)");
        return;
    }
    SSL_set_connect_state(c->ssl);
    /* Edge-triggered, both directions, registered once per socket: the
     * state machine runs until OpenSSL says it must wait, so no epoll_ctl
     * is needed per request. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
    if (epoll_ctl(c->w->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        snprintf(detail, sizeof detail, "epoll_ctl: %s", strerror(errno));
        conn_fail(c, E_CONNECT, detail);
        return;
    }
    c->state = C_CONNECTING;
}

/* Start the next request; 0 when the run is over and nothing was started. */
static int conn_begin_request(struct conn *c, uint64_t now)
{
    const struct run *r = c->w->run;
    if (now >= r->t_end || atomic_load(&stop_flag)) {
        c->state = C_DONE;
        return 0;
    }
    const struct tpl *t = &r->tpl[0];
    if (r->ntpl > 1)
        t = &r->tpl[atomic_fetch_add_explicit(&next_tpl, 1, memory_order_relaxed) % r->ntpl];
    c->out = t->req;
    c->out_len = t->len;
    if (r->unique) {
        char id[HG_UUID_STRLEN + 1];
        memcpy(c->req, t->req, t->len);
        if (hg_uuid7(id) != HG_OK) {
            conn_fail(c, E_IO, "could not generate a UUID (OS random source failed)");
            return 0;
        }
        memcpy(c->req + t->uuid_off, id, HG_UUID_STRLEN);
        c->out = c->req;
    }
    c->req_off = 0;
    c->req_start = now;
    c->op_start = now;
    rp_reset(&c->rp, r->head_only);
    c->state = C_WRITING;
    return 1;
}

/* --save-location: keep the Location of a 2xx response (a created
 * resource), warm-up included, so a later run can --paths-file them. A
 * value that is not a plain path, or no room left, is only counted. */
static void save_location(struct worker *w, const struct rp *p)
{
    size_t vl = 0;
    const char *v = rp_header(p, "location", &vl);
    const char *path = NULL, *why = NULL;
    size_t pos = 0, line = 0, pl = 0;
    if (!v || paths_next(v, vl, &pos, &line, &path, &pl, &why) != 1 || pl != vl ||
        hg_buf_append(&w->saved, v, vl) != HG_OK) {
        w->st.unsaved++;
        return;
    }
    if (hg_buf_append(&w->saved, "\n", 1) != HG_OK) {
        w->saved.len -= vl; /* keep the buffer whole lines */
        w->st.unsaved++;
        return;
    }
    w->st.saved++;
}

static void conn_complete(struct conn *c)
{
    const struct run *r = c->w->run;
    struct stats *st = &c->w->st;
    uint64_t now = hg_mono_us();
    uint64_t lat = now - c->req_start;
    if (r->o.save_location && c->rp.status >= 200 && c->rp.status < 300)
        save_location(c->w, &c->rp);
    if (in_window(r, now)) {
        st->responses++;
        st->hist[hist_index(lat)]++;
        st->sum_us += lat;
        if (lat > st->max_us)
            st->max_us = lat;
        if (c->rp.status >= 200 && c->rp.status < 300)
            st->ok++;
        else
            report_once(&reported_non2xx, "the server answered %d to %s %s",
                        c->rp.status, r->o.method, r->o.path);
    } else {
        st->warm_responses++;
    }
    c->served++;
    c->fails = 0;
    if (c->rp.close) {
        conn_close_notify(c);
        if (in_window(r, now))
            st->reconnects++;
        if (now >= r->t_end || atomic_load(&stop_flag)) {
            c->state = C_DONE;
            return;
        }
        conn_open(c, now);
        return;
    }
    conn_begin_request(c, now);
}

/* Run the connection's state machine until it has to wait. */
static void conn_drive(struct conn *c)
{
    const struct run *r = c->w->run;
    for (;;) {
        switch (c->state) {
        case C_IDLE:
        case C_DONE:
            return;
        case C_CONNECTING: {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
                soerr = errno;
            if (soerr != 0) {
                char detail[300];
                snprintf(detail, sizeof detail, "%s (is the server running?)",
                         strerror(soerr));
                conn_fail(c, E_CONNECT, detail);
                return;
            }
            struct sockaddr_storage peer;
            socklen_t pl = sizeof peer;
            if (getpeername(c->fd, (struct sockaddr *)&peer, &pl) != 0)
                return; /* still connecting: a stale edge */
            c->state = C_HANDSHAKE;
            break;
        }
        case C_HANDSHAKE: {
            ERR_clear_error();
            int ret = SSL_connect(c->ssl);
            if (ret != 1) {
                (void)ssl_wait_or_fail(c, ret, E_TLS);
                return;
            }
            if (!conn_begin_request(c, hg_mono_us()))
                return;
            break;
        }
        case C_WRITING: {
            ERR_clear_error();
            int ret = SSL_write(c->ssl, c->out + c->req_off, (int)(c->out_len - c->req_off));
            if (ret <= 0) {
                (void)ssl_wait_or_fail(c, ret, E_IO);
                return;
            }
            c->req_off += (size_t)ret;
            if (c->req_off == c->out_len) {
                /* The response cannot be here yet, and its arrival raises
                 * a fresh EPOLLIN edge: wait for that instead of spending
                 * a read that would only return EAGAIN. */
                c->state = C_READING;
                return;
            }
            break;
        }
        case C_READING: {
            ERR_clear_error();
            int ret = SSL_read(c->ssl, c->w->rbuf, sizeof c->w->rbuf);
            if (ret <= 0) {
                int e = SSL_get_error(c->ssl, ret);
                if (e == SSL_ERROR_ZERO_RETURN) {
                    if (rp_eof(&c->rp) == RP_COMPLETE) {
                        c->rp.close = 1;
                        conn_complete(c);
                        break;
                    }
                    conn_fail(c, E_IO, "the server closed the connection before the response was complete");
                    return;
                }
                (void)ssl_wait_or_fail(c, ret, E_IO);
                return;
            }
            if (in_window(r, hg_mono_us()))
                c->w->st.bytes_in += (uint64_t)ret;
            size_t used = 0;
            enum rp_result pr = rp_feed(&c->rp, c->w->rbuf, (size_t)ret, &used);
            if (pr == RP_ERROR) {
                conn_fail(c, E_PARSE, c->rp.why);
                return;
            }
            if (pr == RP_COMPLETE) {
                if (used != (size_t)ret) {
                    conn_fail(c, E_PARSE, "the server sent bytes after the response (one request is in flight)");
                    return;
                }
                conn_complete(c);
            }
            break;
        }
        }
    }
}

static void worker_sweep(struct worker *w, uint64_t now)
{
    const struct run *r = w->run;
    uint64_t limit = (uint64_t)r->o.timeout_ms * 1000;
    for (size_t i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        switch (c->state) {
        case C_IDLE:
            if (now >= c->retry_at)
                conn_open(c, now);
            break;
        case C_CONNECTING:
        case C_HANDSHAKE:
        case C_WRITING:
        case C_READING:
            if (now - c->op_start > limit) {
                char detail[160];
                snprintf(detail, sizeof detail, "no progress within %" PRId64
                         " ms (--timeout)", r->o.timeout_ms);
                conn_fail(c, E_TIMEOUT, detail);
            }
            break;
        case C_DONE:
            break;
        }
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct run *r = w->run;
    struct epoll_event evs[128];
    uint64_t now = hg_mono_us();
    for (size_t i = 0; i < w->nconns; i++)
        conn_open(&w->conns[i], now);
    uint64_t next_sweep = now + SWEEP_US;
    for (;;) {
        now = hg_mono_us();
        if (now >= r->t_end || atomic_load(&stop_flag))
            break;
        if (now >= next_sweep) {
            worker_sweep(w, now);
            next_sweep = now + SWEEP_US;
        }
        uint64_t wake = next_sweep < r->t_end ? next_sweep : r->t_end;
        int to_ms = (int)((wake - now + 999) / 1000);
        int n = epoll_wait(w->ep, evs, (int)(sizeof evs / sizeof evs[0]), to_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "loadgen: epoll_wait: %s; this worker stops early\n",
                    strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++)
            conn_drive(evs[i].data.ptr);
    }
    for (size_t i = 0; i < w->nconns; i++)
        conn_close_notify(&w->conns[i]);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Setup                                                                     */

static hg_status parse_url(struct opts *o, struct hg_err *err)
{
    const char *u = o->url;
    if (strlen(u) >= MAX_URL)
        return hg_err_set(err, HG_EINVAL, "--url is longer than %d bytes", MAX_URL - 1);
    if (strncmp(u, "https://", 8) != 0)
        return hg_err_set(err, HG_EINVAL,
                          "--url '%s' must start with https:// (loadgen always uses TLS)", u);
    const char *a = u + 8;
    const char *slash = strchr(a, '/');
    size_t alen = slash ? (size_t)(slash - a) : strlen(a);
    if (alen == 0 || alen >= sizeof o->authority)
        return hg_err_set(err, HG_EINVAL, "--url '%s' has no usable host", u);
    memcpy(o->authority, a, alen);
    o->authority[alen] = '\0';
    const char *portp = NULL;
    size_t hlen;
    const char *hstart = a;
    if (a[0] == '[') {
        const char *rb = memchr(a, ']', alen);
        if (!rb)
            return hg_err_set(err, HG_EINVAL, "--url '%s': missing ']' after an IPv6 address", u);
        hstart = a + 1;
        hlen = (size_t)(rb - hstart);
        if ((size_t)(rb + 1 - a) < alen) {
            if (rb[1] != ':')
                return hg_err_set(err, HG_EINVAL, "--url '%s': expected ':' after ']'", u);
            portp = rb + 2;
        }
    } else {
        const char *colon = memchr(a, ':', alen);
        hlen = colon ? (size_t)(colon - a) : alen;
        if (colon)
            portp = colon + 1;
    }
    if (hlen == 0 || hlen >= sizeof o->host)
        return hg_err_set(err, HG_EINVAL, "--url '%s': empty or too long host", u);
    memcpy(o->host, hstart, hlen);
    o->host[hlen] = '\0';
    if (portp) {
        size_t plen = (size_t)(a + alen - portp);
        char tmp[8];
        int64_t port;
        if (plen == 0 || plen >= sizeof tmp)
            return hg_err_set(err, HG_EINVAL, "--url '%s': bad port", u);
        memcpy(tmp, portp, plen);
        tmp[plen] = '\0';
        if (hg_parse_i64(tmp, 1, 65535, &port) != HG_OK)
            return hg_err_set(err, HG_EINVAL, "--url '%s': port must be 1..65535", u);
        snprintf(o->port, sizeof o->port, "%" PRId64, port);
    } else {
        snprintf(o->port, sizeof o->port, "443");
    }
    const char *path = slash ? slash : "/";
    for (const char *q = path; *q; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
            return hg_err_set(err, HG_EINVAL,
                              "--url '%s': the path has a space or control character; percent-encode it", u);
    return hg_strlcpy(o->path, path, sizeof o->path) == HG_OK
               ? HG_OK
               : hg_err_set(err, HG_EINVAL, "--url path too long");
}

static int is_ip_literal(const char *s)
{
    unsigned char b[16];
    return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

static hg_status setup_tls(struct run *r, struct hg_err *err)
{
    const struct opts *o = &r->o;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return hg_err_set_ssl(err, HG_ETLS, "SSL_CTX_new failed");
    r->ctx = ctx;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1)
        return hg_err_set_ssl(err, HG_ETLS, "this OpenSSL cannot do TLS 1.3");
    if ((o->cert == NULL) != (o->key == NULL))
        return hg_err_set(err, HG_EINVAL, "--cert and --key go together; give both or neither");
    if (o->cert) {
        if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1)
            return hg_err_set_ssl(err, HG_ETLS, "cannot load --cert '%s' (PEM certificate chain)", o->cert);
        if (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1)
            return hg_err_set_ssl(err, HG_ETLS, "cannot load --key '%s' (PEM private key)", o->key);
        if (SSL_CTX_check_private_key(ctx) != 1)
            return hg_err_set_ssl(err, HG_ETLS, "--key '%s' does not match --cert '%s'", o->key, o->cert);
    }
    if (o->ca) {
        if (SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1)
            return hg_err_set_ssl(err, HG_ETLS, "cannot load --ca '%s' (PEM CA bundle)", o->ca);
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        return hg_err_set_ssl(err, HG_ETLS, "cannot load the system CA store; pass --ca");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* A server that closes without close_notify ends a read-until-close body;
     * report it as end of file rather than as a TLS error. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
    const char *name = o->servername;
    int ok = is_ip_literal(name) ? X509_VERIFY_PARAM_set1_ip_asc(param, name)
                                 : X509_VERIFY_PARAM_set1_host(param, name, 0);
    if (ok != 1)
        return hg_err_set_ssl(err, HG_ETLS, "cannot set the expected server name '%s'", name);
    r->sni = !is_ip_literal(name);
    return HG_OK;
}

static hg_status resolve(struct run *r, struct hg_err *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(r->o.host, r->o.port, &hints, &res);
    if (gai != 0)
        return hg_err_set(err, HG_EINVAL, "cannot resolve '%s': %s", r->o.host, gai_strerror(gai));
    if (res->ai_addrlen > sizeof r->addr) {
        freeaddrinfo(res);
        return hg_err_set(err, HG_EINVAL, "address of '%s' too long", r->o.host);
    }
    memcpy(&r->addr, res->ai_addr, res->ai_addrlen);
    r->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return HG_OK;
}

static hg_status read_file(const char *path, const char *flag, size_t max,
                           struct hg_buf *out, struct hg_err *err)
{
    hg_status rc = HG_OK;
    FILE *f = fopen(path, "rb");
    if (!f)
        return hg_err_set(err, HG_EIO, "cannot open %s '%s': %s", flag, path, strerror(errno));
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        rc = hg_buf_append(out, chunk, n);
        if (rc != HG_OK) {
            hg_err_set(err, rc, "%s '%s' is larger than %zu bytes", flag, path, max);
            goto out;
        }
    }
    if (ferror(f))
        rc = hg_err_set(err, HG_EIO, "cannot read %s '%s'", flag, path);
out:
    fclose(f);
    return rc;
}

static int valid_token(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i]))
            return 0;
    return 1;
}

/* One request for `path` (plen bytes) with the shared head lines and body. */
static hg_status build_one(struct run *r, const char *path, size_t plen,
                           const struct hg_buf *body, struct tpl *t, struct hg_err *err)
{
    const struct opts *o = &r->o;
    struct hg_buf b;
    hg_status rc;
    int user_host = 0, user_ctype = 0;
    hg_buf_init(&b, MAX_REQ);

    rc = hg_buf_printf(&b, "%s %.*s HTTP/1.1\r\n", o->method, (int)plen, path);
    for (size_t i = 0; rc == HG_OK && i < o->nheaders; i++) {
        const char *h = o->headers[i];
        const char *colon = strchr(h, ':');
        if (!colon || !valid_token(h, (size_t)(colon - h)) || strpbrk(h, "\r\n")) {
            rc = hg_err_set(err, HG_EINVAL,
                            "--header '%s' must be 'Name: value' on one line", h);
            goto out;
        }
        size_t nl = (size_t)(colon - h);
        if ((nl == 14 && strncasecmp(h, "content-length", 14) == 0) ||
            (nl == 17 && strncasecmp(h, "transfer-encoding", 17) == 0)) {
            rc = hg_err_set(err, HG_EINVAL,
                            "--header '%s': loadgen sets the body framing itself (use --body-file)", h);
            goto out;
        }
        if (nl == 4 && strncasecmp(h, "host", 4) == 0)
            user_host = 1;
        if (nl == 12 && strncasecmp(h, "content-type", 12) == 0)
            user_ctype = 1;
        rc = hg_buf_printf(&b, "%s\r\n", h);
    }
    if (rc == HG_OK && !user_host)
        rc = hg_buf_printf(&b, "Host: %s\r\n", o->authority);
    if (rc == HG_OK)
        rc = hg_buf_puts(&b, "User-Agent: haulgate-loadgen/1\r\n");
    if (rc == HG_OK && o->unique_header) {
        if (!valid_token(o->unique_header, strlen(o->unique_header))) {
            rc = hg_err_set(err, HG_EINVAL, "--unique-header '%s' is not a header name", o->unique_header);
            goto out;
        }
        rc = hg_buf_printf(&b, "%s: ", o->unique_header);
        t->uuid_off = b.len;
        if (rc == HG_OK)
            rc = hg_buf_puts(&b, "00000000-0000-0000-0000-000000000000\r\n");
    }
    int has_body = o->body_file != NULL;
    int wants_len = has_body || strcmp(o->method, "POST") == 0 ||
                    strcmp(o->method, "PUT") == 0 || strcmp(o->method, "PATCH") == 0;
    if (rc == HG_OK && has_body && !user_ctype)
        rc = hg_buf_puts(&b, "Content-Type: application/json\r\n");
    if (rc == HG_OK && wants_len)
        rc = hg_buf_printf(&b, "Content-Length: %zu\r\n", body->len);
    if (rc == HG_OK)
        rc = hg_buf_puts(&b, "\r\n");
    if (rc == HG_OK && body->len)
        rc = hg_buf_append(&b, body->data, body->len);
    if (rc != HG_OK) {
        hg_err_set(err, rc, "the request does not fit in %u bytes", MAX_REQ);
        goto out;
    }
    t->req = hg_buf_steal(&b, &t->len);
out:
    hg_buf_cleanup(&b);
    return rc;
}

/* The request templates: one for the URL's path, or one per line of
 * --paths-file (used round-robin). */
static hg_status build_requests(struct run *r, struct hg_err *err)
{
    const struct opts *o = &r->o;
    struct hg_buf body, paths;
    hg_status rc = HG_OK;
    size_t total = 0;
    hg_buf_init(&body, MAX_BODY);
    hg_buf_init(&paths, MAX_TPL_BYTES);

    if (!valid_token(o->method, strlen(o->method))) {
        rc = hg_err_set(err, HG_EINVAL, "--method '%s' is not an HTTP method token", o->method);
        goto out;
    }
    r->head_only = strcmp(o->method, "HEAD") == 0;
    r->unique = o->unique_header != NULL;
    if (o->body_file && (rc = read_file(o->body_file, "--body-file", MAX_BODY, &body, err)) != HG_OK)
        goto out;

    size_t cap = 1;
    if (o->paths_file) {
        if ((rc = read_file(o->paths_file, "--paths-file", paths.max, &paths, err)) != HG_OK)
            goto out;
        cap = 64;
    }
    r->tpl = calloc(cap, sizeof *r->tpl);
    if (!r->tpl) {
        rc = hg_err_set(err, HG_ENOMEM, "out of memory for the request templates");
        goto out;
    }
    if (!o->paths_file) {
        rc = build_one(r, o->path, strlen(o->path), &body, &r->tpl[0], err);
        if (rc == HG_OK) {
            r->ntpl = 1;
            r->max_req_len = r->tpl[0].len;
        }
        goto out;
    }
    size_t pos = 0, line = 0;
    for (;;) {
        const char *path = NULL, *why = NULL;
        size_t plen = 0;
        int got = paths_next(paths.data ? paths.data : "", paths.len, &pos, &line, &path, &plen, &why);
        if (got < 0) {
            rc = hg_err_set(err, HG_EINVAL, "--paths-file '%s' line %zu: %s", o->paths_file, line, why);
            goto out;
        }
        if (got == 0)
            break;
        if (r->ntpl == MAX_PATHS) {
            rc = hg_err_set(err, HG_ETOOBIG, "--paths-file '%s' has more than %d paths",
                            o->paths_file, MAX_PATHS);
            goto out;
        }
        if (r->ntpl == cap) {
            struct tpl *n = realloc(r->tpl, cap * 2 * sizeof *n);
            if (!n) {
                rc = hg_err_set(err, HG_ENOMEM, "out of memory for the request templates");
                goto out;
            }
            memset(n + cap, 0, cap * sizeof *n);
            r->tpl = n;
            cap *= 2;
        }
        struct tpl *t = &r->tpl[r->ntpl];
        if ((rc = build_one(r, path, plen, &body, t, err)) != HG_OK)
            goto out;
        r->ntpl++;
        total += t->len;
        if (t->len > r->max_req_len)
            r->max_req_len = t->len;
        if (total > MAX_TPL_BYTES) {
            rc = hg_err_set(err, HG_ETOOBIG, "--paths-file '%s': the requests for its paths take "
                            "more than %u MiB; use fewer paths or a smaller body",
                            o->paths_file, MAX_TPL_BYTES >> 20);
            goto out;
        }
    }
    if (r->ntpl == 0)
        rc = hg_err_set(err, HG_EINVAL, "--paths-file '%s' has no paths (one '/path' per line)",
                        o->paths_file);
out:
    hg_buf_cleanup(&body);
    hg_buf_cleanup(&paths);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Results                                                                   */

static uint64_t percentile(const struct stats *st, double pct)
{
    if (st->responses == 0)
        return 0;
    uint64_t target = (uint64_t)ceil(pct / 100.0 * (double)st->responses);
    if (target == 0)
        target = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < H_BUCKETS; i++) {
        seen += st->hist[i];
        if (seen >= target) {
            uint64_t v = hist_upper(i);
            return v < st->max_us ? v : st->max_us;
        }
    }
    return st->max_us;
}

static void merge(struct stats *dst, const struct stats *src)
{
    for (size_t i = 0; i < H_BUCKETS; i++)
        dst->hist[i] += src->hist[i];
    dst->responses += src->responses;
    dst->ok += src->ok;
    for (size_t k = 0; k < E__COUNT; k++)
        dst->err[k] += src->err[k];
    dst->reconnects += src->reconnects;
    dst->bytes_in += src->bytes_in;
    dst->sum_us += src->sum_us;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;
    dst->warm_responses += src->warm_responses;
    dst->warm_errors += src->warm_errors;
    dst->saved += src->saved;
    dst->unsaved += src->unsaved;
}

static hg_status print_results(const struct run *r, const struct stats *st, double secs)
{
    const struct opts *o = &r->o;
    uint64_t transport = 0;
    for (size_t k = 0; k < E__COUNT; k++)
        transport += st->err[k];
    uint64_t non2xx = st->responses - st->ok;
    uint64_t errors = non2xx + transport;
    double rps = secs > 0 ? (double)st->responses / secs : 0.0;
    uint64_t p50 = percentile(st, 50), p90 = percentile(st, 90), p99 = percentile(st, 99);
    uint64_t mean = st->responses ? st->sum_us / st->responses : 0;

    if (strcmp(o->format, "json") != 0) {
        printf("%s%s%s %" PRId64 " conn %" PRId64 " thr %.1f s: %" PRIu64 " requests, %"
               PRIu64 " errors, %.1f req/s, latency p50 %.3f ms p90 %.3f ms p99 %.3f ms max %.3f ms\n",
               o->label ? o->label : "", o->label ? ": " : "", o->url,
               o->connections, o->threads, secs, st->responses, errors, rps,
               p50 / 1000.0, p90 / 1000.0, p99 / 1000.0, st->max_us / 1000.0);
    }
    if (strcmp(o->format, "human") == 0)
        return HG_OK;

    json_t *j = json_object();
    if (!j)
        return HG_ENOMEM;
    hg_status rc = HG_ENOMEM;
    int bad = 0;
    bad |= json_object_set_new(j, "label", o->label ? json_string(o->label) : json_null());
    bad |= json_object_set_new(j, "url", json_string(o->url));
    bad |= json_object_set_new(j, "method", json_string(o->method));
    bad |= json_object_set_new(j, "connections", json_integer(o->connections));
    bad |= json_object_set_new(j, "threads", json_integer(o->threads));
    bad |= json_object_set_new(j, "warmup_s", json_integer(o->warmup_s));
    bad |= json_object_set_new(j, "duration_s", json_real(round(secs * 1000) / 1000));
    bad |= json_object_set_new(j, "requests", json_integer((json_int_t)st->responses));
    bad |= json_object_set_new(j, "ok", json_integer((json_int_t)st->ok));
    bad |= json_object_set_new(j, "errors", json_integer((json_int_t)errors));
    bad |= json_object_set_new(j, "non2xx", json_integer((json_int_t)non2xx));
    for (size_t k = 0; k < E__COUNT; k++)
        bad |= json_object_set_new(j, err_names[k].json, json_integer((json_int_t)st->err[k]));
    bad |= json_object_set_new(j, "reconnects", json_integer((json_int_t)st->reconnects));
    bad |= json_object_set_new(j, "warmup_requests", json_integer((json_int_t)st->warm_responses));
    bad |= json_object_set_new(j, "warmup_errors", json_integer((json_int_t)st->warm_errors));
    bad |= json_object_set_new(j, "bytes_in", json_integer((json_int_t)st->bytes_in));
    bad |= json_object_set_new(j, "rps", json_real(round(rps * 10) / 10));
    bad |= json_object_set_new(j, "p50_us", json_integer((json_int_t)p50));
    bad |= json_object_set_new(j, "p90_us", json_integer((json_int_t)p90));
    bad |= json_object_set_new(j, "p99_us", json_integer((json_int_t)p99));
    bad |= json_object_set_new(j, "max_us", json_integer((json_int_t)st->max_us));
    bad |= json_object_set_new(j, "mean_us", json_integer((json_int_t)mean));
    if (r->ntpl > 1)
        bad |= json_object_set_new(j, "paths", json_integer((json_int_t)r->ntpl));
    if (o->save_location) {
        bad |= json_object_set_new(j, "saved_locations", json_integer((json_int_t)st->saved));
        bad |= json_object_set_new(j, "unsaved_locations", json_integer((json_int_t)st->unsaved));
    }
    if (bad)
        goto out;
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    if (!text)
        goto out;
    printf("%s\n", text);
    free(text);
    rc = HG_OK;
out:
    json_decref(j);
    return rc;
}

/* --save-location: every thread's values into f (opened before the run,
 * so a bad path fails at once; closed here), then a note on stderr when
 * some 2xx responses had none to keep. */
static hg_status write_saved(const struct run *r, FILE *f, const struct worker *w, size_t nthr,
                             const struct stats *st, struct hg_err *err)
{
    const char *path = r->o.save_location;
    for (size_t t = 0; t < nthr; t++)
        if (w[t].saved.len && fwrite(w[t].saved.data, 1, w[t].saved.len, f) != w[t].saved.len)
            break;
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return hg_err_set(err, HG_EIO, "cannot write --save-location '%s': %s", path,
                          strerror(errno));
    if (st->unsaved)
        fprintf(stderr, "loadgen: %" PRIu64 " 2xx responses had no Location that is a plain "
                "path, or there was no room (%u MiB per thread); they are not in '%s'\n",
                st->unsaved, MAX_SAVED >> 20, path);
    return HG_OK;
}

/* ------------------------------------------------------------------------ */
/* Main                                                                      */

static void usage(FILE *f)
{
    fprintf(f,
"usage: loadgen --url https://HOST:PORT/PATH [options]\n"
"Closed-loop HTTPS load: every connection keeps one request in flight.\n"
"  --url URL            target (https only)\n"
"  --cert FILE --key FILE  client certificate chain and key (PEM), for mTLS\n"
"  --ca FILE            CA bundle to verify the server (default: system store)\n"
"  --servername NAME    name (or IP) the server certificate must carry and SNI\n"
"                       (default: the URL's host)\n"
"  --connections N      keep-alive connections (default 32, max %d)\n"
"  --threads N          threads, each an epoll loop (default 2, max %d)\n"
"  --duration S         measured seconds (default 10)\n"
"  --warmup S           seconds run before measuring, not counted (default 2)\n"
"  --timeout MS         a request/connect with no progress this long fails (default 10000)\n"
"  --method M           HTTP method (default GET)\n"
"  --header 'N: V'      extra request header, repeatable (max %d)\n"
"  --body-file FILE     request body (max %u bytes; Content-Type defaults to application/json)\n"
"  --unique-header NAME put a fresh UUIDv7 in header NAME on every request\n"
"                       (e.g. Idempotency-Key)\n"
"  --paths-file FILE    request these paths round-robin instead of the URL's\n"
"                       (one '/path' per line, at most %d; '#' comments)\n"
"  --save-location FILE write the Location of every 2xx response (warm-up\n"
"                       included) to FILE, one per line: a --paths-file later\n"
"  --label TEXT         name of this run in the output\n"
"  --format F           human | json | both (default both: a human line, then a JSON line)\n"
"Exit: 0 some 2xx responses, 1 setup error, 2 usage error, 3 no 2xx response at all.\n",
            MAX_CONNS, MAX_THREADS, MAX_HEADERS, MAX_BODY, MAX_PATHS);
}

static int parse_num(const char *flag, const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (hg_parse_i64(s, min, max, out) != HG_OK) {
        fprintf(stderr, "loadgen: %s '%s' must be a whole number in %" PRId64 "..%" PRId64 "\n",
                flag, s, min, max);
        return 0;
    }
    return 1;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    enum { O_URL = 256, O_CERT, O_KEY, O_CA, O_SNI, O_CONNS, O_THREADS, O_DUR,
           O_WARM, O_TIMEOUT, O_METHOD, O_HEADER, O_BODY, O_UNIQUE, O_LABEL,
           O_FORMAT, O_PATHS, O_SAVE_LOC, O_HELP };
    static const struct option lo[] = {
        {"url", required_argument, NULL, O_URL},
        {"cert", required_argument, NULL, O_CERT},
        {"key", required_argument, NULL, O_KEY},
        {"ca", required_argument, NULL, O_CA},
        {"servername", required_argument, NULL, O_SNI},
        {"connections", required_argument, NULL, O_CONNS},
        {"threads", required_argument, NULL, O_THREADS},
        {"duration", required_argument, NULL, O_DUR},
        {"warmup", required_argument, NULL, O_WARM},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"method", required_argument, NULL, O_METHOD},
        {"header", required_argument, NULL, O_HEADER},
        {"body-file", required_argument, NULL, O_BODY},
        {"unique-header", required_argument, NULL, O_UNIQUE},
        {"paths-file", required_argument, NULL, O_PATHS},
        {"save-location", required_argument, NULL, O_SAVE_LOC},
        {"label", required_argument, NULL, O_LABEL},
        {"format", required_argument, NULL, O_FORMAT},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    o->connections = 32;
    o->threads = 2;
    o->duration_s = 10;
    o->warmup_s = 2;
    o->timeout_ms = 10000;
    o->method = "GET";
    o->format = "both";
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case O_URL: o->url = optarg; break;
        case O_CERT: o->cert = optarg; break;
        case O_KEY: o->key = optarg; break;
        case O_CA: o->ca = optarg; break;
        case O_SNI: o->servername = optarg; break;
        case O_CONNS:
            if (!parse_num("--connections", optarg, 1, MAX_CONNS, &o->connections))
                return 0;
            break;
        case O_THREADS:
            if (!parse_num("--threads", optarg, 1, MAX_THREADS, &o->threads))
                return 0;
            break;
        case O_DUR:
            if (!parse_num("--duration", optarg, 1, 3600, &o->duration_s))
                return 0;
            break;
        case O_WARM:
            if (!parse_num("--warmup", optarg, 0, 600, &o->warmup_s))
                return 0;
            break;
        case O_TIMEOUT:
            if (!parse_num("--timeout", optarg, 1, 600000, &o->timeout_ms))
                return 0;
            break;
        case O_METHOD: o->method = optarg; break;
        case O_HEADER:
            if (o->nheaders >= MAX_HEADERS) {
                fprintf(stderr, "loadgen: at most %d --header options\n", MAX_HEADERS);
                return 0;
            }
            o->headers[o->nheaders++] = optarg;
            break;
        case O_BODY: o->body_file = optarg; break;
        case O_UNIQUE: o->unique_header = optarg; break;
        case O_PATHS: o->paths_file = optarg; break;
        case O_SAVE_LOC: o->save_location = optarg; break;
        case O_LABEL: o->label = optarg; break;
        case O_FORMAT:
            if (strcmp(optarg, "human") != 0 && strcmp(optarg, "json") != 0 &&
                strcmp(optarg, "both") != 0) {
                fprintf(stderr, "loadgen: --format must be human, json or both\n");
                return 0;
            }
            o->format = optarg;
            break;
        case O_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return 0;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "loadgen: unexpected argument '%s'\n", argv[optind]);
        return 0;
    }
    if (!o->url) {
        fprintf(stderr, "loadgen: --url is required (e.g. --url https://127.0.0.1:8443/v1/whoami)\n");
        return 0;
    }
    if (o->threads > o->connections)
        o->threads = o->connections;
    return 1;
}

int main(int argc, char **argv)
{
    static struct run r; /* zeroed; large-ish, keep off the stack */
    struct worker *workers = NULL;
    struct conn *conns = NULL;
    struct stats *total = NULL;
    FILE *save_f = NULL;
    struct hg_err err;
    int code = 1;
    int setup_failed = 0;
    hg_err_clear(&err);

    if (!parse_args(argc, argv, &r.o))
        return 2;
    if (parse_url(&r.o, &err) != HG_OK) {
        fprintf(stderr, "loadgen: %s\n", hg_err_msg(&err));
        return 2;
    }
    if (!r.o.servername)
        r.o.servername = r.o.host;
    if (setup_tls(&r, &err) != HG_OK || resolve(&r, &err) != HG_OK ||
        build_requests(&r, &err) != HG_OK) {
        fprintf(stderr, "loadgen: %s\n", hg_err_msg(&err));
        goto out;
    }
    if (r.o.save_location && !(save_f = fopen(r.o.save_location, "w"))) {
        fprintf(stderr, "loadgen: cannot create --save-location '%s': %s\n", r.o.save_location,
                strerror(errno));
        goto out;
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    size_t nthr = (size_t)r.o.threads, nconn = (size_t)r.o.connections;
    workers = calloc(nthr, sizeof *workers);
    conns = calloc(nconn, sizeof *conns);
    total = calloc(1, sizeof *total);
    if (!workers || !conns || !total) {
        fprintf(stderr, "loadgen: out of memory\n");
        goto out;
    }
    for (size_t t = 0; t < nthr; t++) {
        workers[t].ep = -1;
        hg_buf_init(&workers[t].saved, MAX_SAVED);
    }
    for (size_t i = 0; i < nconn; i++) {
        conns[i].fd = -1;
        if (r.unique && !(conns[i].req = malloc(r.max_req_len))) {
            fprintf(stderr, "loadgen: out of memory\n");
            goto out;
        }
    }
    r.t_start = hg_mono_us();
    r.t_measure = r.t_start + (uint64_t)r.o.warmup_s * 1000000;
    r.t_end = r.t_measure + (uint64_t)r.o.duration_s * 1000000;
    size_t next = 0;
    for (size_t t = 0; t < nthr; t++) {
        struct worker *w = &workers[t];
        size_t share = nconn / nthr + (t < nconn % nthr ? 1 : 0);
        w->run = &r;
        w->conns = conns + next;
        w->nconns = share;
        for (size_t i = 0; i < share; i++)
            w->conns[i].w = w;
        next += share;
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        if (w->ep < 0) {
            fprintf(stderr, "loadgen: epoll_create1: %s\n", strerror(errno));
            setup_failed = 1;
            atomic_store(&stop_flag, 1);
            break;
        }
        if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
            fprintf(stderr, "loadgen: cannot start thread %zu\n", t);
            setup_failed = 1;
            atomic_store(&stop_flag, 1);
            break;
        }
        w->started = 1;
    }
    for (size_t t = 0; t < nthr; t++) {
        if (workers[t].started)
            pthread_join(workers[t].tid, NULL);
        merge(total, &workers[t].st);
    }
    if (setup_failed)
        goto out; /* a setup failure stopped the run, already reported */
    uint64_t stopped = hg_mono_us();
    if (stopped > r.t_end)
        stopped = r.t_end;
    double secs = stopped > r.t_measure ? (double)(stopped - r.t_measure) / 1e6 : 0.0;
    if (save_f) {
        FILE *f = save_f;
        save_f = NULL; /* write_saved closes it */
        if (write_saved(&r, f, workers, nthr, total, &err) != HG_OK) {
            fprintf(stderr, "loadgen: %s\n", hg_err_msg(&err));
            goto out;
        }
    }
    if (print_results(&r, total, secs) != HG_OK) {
        fprintf(stderr, "loadgen: out of memory while printing results\n");
        goto out;
    }
    fflush(stdout);
    if (total->ok == 0) {
        fprintf(stderr, "loadgen: no 2xx response in the measured window; see the errors above\n");
        code = 3;
    } else {
        code = 0;
    }
out:
    if (workers)
        for (size_t t = 0; t < (size_t)r.o.threads; t++) {
            if (workers[t].ep >= 0)
                close(workers[t].ep);
            hg_buf_cleanup(&workers[t].saved);
        }
    if (conns)
        for (size_t i = 0; i < (size_t)r.o.connections; i++)
            free(conns[i].req);
    if (save_f)
        fclose(save_f);
    free(workers);
    free(conns);
    free(total);
    if (r.tpl)
        for (size_t i = 0; i < r.ntpl; i++)
            free(r.tpl[i].req);
    free(r.tpl);
    SSL_CTX_free(r.ctx);
    return code;
}

#endif /* HG_LOADGEN_PARSER_ONLY */
