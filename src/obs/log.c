/* SPDX-License-Identifier: Apache-2.0
 *
 * log.c — JSON-lines logging. A line is built on the caller's stack (no
 * allocation, no lock), then handed to the kernel in one write(2) on an
 * O_APPEND descriptor, so concurrent lines never interleave. Lines are capped
 * at PIPE_BUF bytes so that holds for a pipe on standard error too. Any
 * string, whatever bytes it holds, becomes valid JSON: control characters
 * are escaped and bytes that are not well-formed UTF-8 become U+FFFD. A line
 * that would be too long is cut at a field or character boundary and marked
 * "truncated": true, never emitted as broken JSON. It must never block other
 * threads on formatting, and never log through itself.
 */
#include "obs/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "obs/obs_int.h"

#define LINE_MAX_BYTES PIPE_BUF   /* 4096 on Linux: one atomic write even to a pipe */
#define RESERVE 32                /* room kept for `",truncated":true}\n` and a quote */
#define MAX_FIELDS 64             /* guards against a missing HG_LF_END */

/* The sink: writers hold the read side for the duration of write(2), so a
 * reopen (write side) can never close a descriptor mid-write or let its
 * number be reused under a writer. */
static pthread_rwlock_t sink_lock = PTHREAD_RWLOCK_INITIALIZER;
static int sink_fd = STDERR_FILENO;
static bool sink_owned;           /* sink_fd is ours to close (not stderr) */
static _Atomic int cur_level = HG_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

hg_status hg_log_level_parse(const char *s, enum hg_log_level *out)
{
    if (!s || !out)
        return HG_EINVAL;
    for (int i = HG_LOG_DEBUG; i <= HG_LOG_ERROR; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum hg_log_level)i;
            return HG_OK;
        }
    }
    return HG_EINVAL;
}

static bool level_ok(enum hg_log_level level)
{
    return (int)level >= HG_LOG_DEBUG && (int)level <= HG_LOG_ERROR;
}

hg_status hg_log_open(const char *path, enum hg_log_level level)
{
    if (!level_ok(level))
        return HG_EINVAL;
    int fd = STDERR_FILENO;
    if (path) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0) {
            /* the old sink stays in place: a failed reopen after rotation
             * must not lose the log */
            return errno == EACCES || errno == EPERM ? HG_EPERM
                   : errno == ENOENT || errno == ENOTDIR ? HG_ENOTFOUND
                                                         : HG_EIO;
        }
    }
    pthread_rwlock_wrlock(&sink_lock);
    int old = sink_fd;
    bool old_owned = sink_owned;
    sink_fd = fd;
    sink_owned = path != NULL;
    pthread_rwlock_unlock(&sink_lock);
    if (old_owned && old != fd)
        close(old);
    atomic_store_explicit(&cur_level, (int)level, memory_order_relaxed);
    return HG_OK;
}

void hg_log_close(void)
{
    pthread_rwlock_wrlock(&sink_lock);
    int old = sink_fd;
    bool old_owned = sink_owned;
    sink_fd = STDERR_FILENO;
    sink_owned = false;
    pthread_rwlock_unlock(&sink_lock);
    if (old_owned)
        close(old);
}

void hg_log_set_level(enum hg_log_level level)
{
    if (level_ok(level))
        atomic_store_explicit(&cur_level, (int)level, memory_order_relaxed);
}

int hg_log_enabled(enum hg_log_level level)
{
    return level_ok(level) && (int)level >= atomic_load_explicit(&cur_level, memory_order_relaxed);
}

/* ---- line building -------------------------------------------------------- */

struct line {
    char buf[LINE_MAX_BYTES];
    size_t len;
    bool truncated;
};

static bool room(struct line *l, size_t n)
{
    if (l->len + n > sizeof l->buf - RESERVE) {
        l->truncated = true;
        return false;
    }
    return true;
}

static bool put(struct line *l, const char *s, size_t n)
{
    if (!room(l, n))
        return false;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    return true;
}

static bool puts_(struct line *l, const char *s)
{
    return put(l, s, strlen(s));
}

enum put_result { PUT_OK, PUT_CUT, PUT_NOROOM };

/* A JSON string. If the budget runs out it is cut at a character boundary
 * and still closed (the closing quote comes out of RESERVE): PUT_CUT, and
 * the caller stops adding fields. PUT_NOROOM: nothing was written. */
static enum put_result put_string(struct line *l, const char *s)
{
    static const char hx[] = "0123456789abcdef";
    if (!put(l, "\"", 1))
        return PUT_NOROOM;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    bool ok = true;
    for (size_t i = 0; i < n && ok;) {
        unsigned char c = p[i];
        char esc[8];
        const char *out = esc;
        size_t on = 0, adv = 1;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            on = 2;
        } else if (c < 0x20 || c == 0x7f) {
            /* control characters, DEL too so a log viewer's terminal is safe */
            const char *short_esc = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t"
                                    : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
            if (short_esc) {
                out = short_esc;
                on = 2;
            } else {
                memcpy(esc, "\\u00", 4);
                esc[4] = hx[c >> 4];
                esc[5] = hx[c & 15];
                on = 6;
            }
        } else if (c < 0x80) {
            esc[0] = (char)c;
            on = 1;
        } else {
            adv = obs__utf8_seq(p + i, n - i);
            if (adv) {
                out = (const char *)p + i;
                on = adv;
            } else {
                out = "\xef\xbf\xbd"; /* U+FFFD for each byte that is not UTF-8 */
                on = 3;
                adv = 1;
            }
        }
        ok = put(l, out, on);
        i += adv;
    }
    l->buf[l->len++] = '"'; /* always fits: RESERVE */
    return ok ? PUT_OK : PUT_CUT;
}

static bool put_double(struct line *l, double v)
{
    if (!isfinite(v))
        return puts_(l, "null"); /* JSON has no NaN or infinities */
    char num[OBS__DBL_MAX_LEN + 1];
    size_t n = obs__fmt_double(v, num);
    return put(l, num, n);
}

static const char *field_key(const char *k, char *tmp, size_t cap)
{
    /* The first three members are fixed; a field with the same name would
     * make a duplicate key, which JSON parsers resolve differently. */
    if (strcmp(k, "ts") == 0 || strcmp(k, "level") == 0 || strcmp(k, "msg") == 0) {
        snprintf(tmp, cap, "field_%s", k);
        return tmp;
    }
    return k;
}

static void add_fields(struct line *l, va_list ap)
{
    for (int f = 0; f < MAX_FIELDS; f++) {
        int type = va_arg(ap, int);
        if (type == HG_LFT_END)
            return;
        const char *key = va_arg(ap, const char *);
        const char *sval = NULL;
        int64_t ival = 0;
        double dval = 0;
        int bval = 0;
        switch (type) {
        case HG_LFT_STR:
            sval = va_arg(ap, const char *);
            break;
        case HG_LFT_INT:
            ival = va_arg(ap, int64_t);
            break;
        case HG_LFT_DBL:
            dval = va_arg(ap, double);
            break;
        case HG_LFT_BOOL:
            bval = va_arg(ap, int);
            break;
        default:
            return; /* unknown type: the rest of the list cannot be decoded */
        }
        if (!key)
            continue;
        size_t mark = l->len;
        char tmp[16];
        if (!put(l, ",", 1) || put_string(l, field_key(key, tmp, sizeof tmp)) != PUT_OK ||
            !put(l, ":", 1)) {
            l->len = mark; /* never a key without a value */
            return;
        }
        bool ok;
        if (type == HG_LFT_STR && sval) {
            enum put_result r = put_string(l, sval);
            if (r == PUT_CUT)
                return; /* keep the cut value: it is closed, and marked truncated */
            ok = r == PUT_OK;
        } else if (type == HG_LFT_STR) {
            ok = puts_(l, "null");
        } else if (type == HG_LFT_INT) {
            char num[24];
            int n = snprintf(num, sizeof num, "%" PRId64, ival);
            ok = put(l, num, (size_t)n);
        } else if (type == HG_LFT_DBL) {
            ok = put_double(l, dval);
        } else {
            ok = puts_(l, bval ? "true" : "false");
        }
        if (!ok) {
            l->len = mark;
            return;
        }
    }
}

void hg_log(enum hg_log_level level, const char *msg, ...)
{
    if (!hg_log_enabled(level))
        return;
    struct line l;
    l.len = 0;
    l.truncated = false;
    char ts[HG_RFC3339_LEN + 1];
    hg_rfc3339(hg_wall_ms(), ts);
    bool ok = puts_(&l, "{\"ts\":\"") && puts_(&l, ts) && puts_(&l, "\",\"level\":\"") &&
              puts_(&l, level_names[level]) && puts_(&l, "\",\"msg\":") &&
              put_string(&l, msg ? msg : "") == PUT_OK;
    if (ok) {
        va_list ap;
        va_start(ap, msg);
        add_fields(&l, ap);
        va_end(ap);
    }
    /* RESERVE guarantees the tail fits */
    const char *tail = l.truncated ? ",\"truncated\":true}\n" : "}\n";
    size_t tn = strlen(tail);
    memcpy(l.buf + l.len, tail, tn);
    l.len += tn;

    pthread_rwlock_rdlock(&sink_lock);
    size_t off = 0;
    while (off < l.len) {
        ssize_t w = write(sink_fd, l.buf + off, l.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* nowhere to report it: logging must not fail the caller */
        off += (size_t)w;
    }
    pthread_rwlock_unlock(&sink_lock);
}
