/* SPDX-License-Identifier: Apache-2.0
 *
 * fields.c — the request header fields and query values the tender API
 * reads beyond the generic ones: Prefer (RFC 7240, only `wait`), If-Match
 * and If-None-Match entity-tag lists (RFC 9110 §8.8.3, §13.1), RFC 3339
 * date-times, and the JSON media type of Content-Type. Pure functions:
 * each takes a length, never reads past it, never allocates, and decides
 * in one pass. Whatever is unclear is refused (or, for Prefer, ignored, as
 * a server may ignore any preference); nothing here guesses.
 */
#include <string.h>
#include <strings.h>

#include "api/api_int.h"

/* RFC 9110 tchar */
static int tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static size_t skip_ows(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

static size_t token_end(const char *s, size_t n, size_t i)
{
    while (i < n && tchar((unsigned char)s[i]))
        i++;
    return i;
}

/* A quoted-string starting at s[i] == '"': the index after the closing
 * quote, or 0 if it does not close (or holds a control character). */
static size_t quoted_end(const char *s, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"')
            return i + 1;
        if (c == '\\') {
            if (++i >= n)
                return 0;
            c = (unsigned char)s[i];
            if (c < 0x20 && c != '\t')
                return 0;
            continue;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 0;
}

/* ------------------------------------------------------------------ Prefer */

/* Skip to just past the next ',' outside a quoted string (or to n). */
static size_t next_element(const char *s, size_t n, size_t i)
{
    while (i < n && s[i] != ',') {
        if (s[i] == '"') {
            size_t e = quoted_end(s, n, i);
            if (!e)
                return n;
            i = e;
        } else {
            i++;
        }
    }
    return i < n ? i + 1 : n;
}

/* delta-seconds, bare or quoted: 1-9 digits */
static int delta_seconds(const char *v, size_t len, int64_t *out)
{
    if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
        v++;
        len -= 2;
    }
    if (len == 0 || len > 9)
        return 0;
    int64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 0;
        x = x * 10 + (v[i] - '0');
    }
    *out = x;
    return 1;
}

int api__prefer_wait(const char *s, size_t n, int64_t *secs)
{
    size_t i = 0;
    while (i < n) {
        i = skip_ows(s, n, i);
        if (i < n && s[i] == ',') { /* empty list element */
            i++;
            continue;
        }
        if (i >= n)
            break;
        size_t ts = i, te = token_end(s, n, i);
        if (te == ts) {
            i = next_element(s, n, i);
            continue;
        }
        i = skip_ows(s, n, te);
        size_t vs = 0, ve = 0;
        int has_value = 0, ok = 1;
        if (i < n && s[i] == '=') {
            i = skip_ows(s, n, i + 1);
            vs = i;
            if (i < n && s[i] == '"') {
                ve = quoted_end(s, n, i);
                ok = ve != 0;
            } else {
                ve = token_end(s, n, i);
                ok = ve > vs;
            }
            has_value = ok;
            i = ok ? ve : i;
        }
        /* parameters: ignored, but they must not hide the next element */
        i = next_element(s, n, i);
        if (te - ts == 4 && !strncasecmp(s + ts, "wait", 4)) {
            /* RFC 7240 §2: only the first instance of a preference counts */
            return ok && has_value && delta_seconds(s + vs, ve - vs, secs);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ ETags */

hg_status api__etags_parse(const char *s, size_t n, struct api_etags *out)
{
    memset(out, 0, sizeof *out);
    size_t i = skip_ows(s, n, 0);
    size_t end = n;
    while (end > i && (s[end - 1] == ' ' || s[end - 1] == '\t'))
        end--;
    if (end - i == 1 && s[i] == '*') {
        out->any = 1;
        return HG_OK;
    }
    int seen = 0;
    while (i < end) {
        if (s[i] == ',') { /* empty elements are allowed (RFC 9110 §5.6.1.2) */
            i = skip_ows(s, end, i + 1);
            continue;
        }
        int weak = 0;
        if (end - i >= 2 && s[i] == 'W' && s[i + 1] == '/') {
            weak = 1;
            i += 2;
        }
        if (i >= end || s[i] != '"')
            return HG_EPARSE;
        size_t cs = ++i;
        while (i < end && s[i] != '"') {
            unsigned char c = (unsigned char)s[i];
            if (c != 0x21 && (c < 0x23 || c == 0x7f)) /* etagc: %x21 / %x23-7E / obs-text */
                return HG_EPARSE;
            i++;
        }
        if (i >= end)
            return HG_EPARSE;
        size_t ce = i++;
        if (out->n == API_ETAGS_MAX)
            return HG_EPARSE;
        /* ours are "<version>": canonical decimal, at most 18 digits */
        int64_t v = -1;
        size_t len = ce - cs;
        if (len >= 1 && len <= 18 && (len == 1 || s[cs] != '0')) {
            v = 0;
            for (size_t k = cs; k < ce; k++) {
                if (s[k] < '0' || s[k] > '9') {
                    v = -1;
                    break;
                }
                v = v * 10 + (s[k] - '0');
            }
        }
        out->tag[out->n].weak = weak;
        out->tag[out->n].version = v;
        out->n++;
        seen = 1;
        i = skip_ows(s, end, i);
        if (i < end) {
            if (s[i] != ',')
                return HG_EPARSE;
            i = skip_ows(s, end, i + 1);
        }
    }
    return seen ? HG_OK : HG_EPARSE;
}

int api__etags_match_strong(const struct api_etags *e, int64_t version)
{
    if (e->any)
        return 1;
    for (size_t i = 0; i < e->n; i++)
        if (!e->tag[i].weak && e->tag[i].version == version)
            return 1;
    return 0;
}

int api__etags_match_weak(const struct api_etags *e, int64_t version)
{
    if (e->any)
        return 1;
    for (size_t i = 0; i < e->n; i++)
        if (e->tag[i].version == version)
            return 1;
    return 0;
}

/* ------------------------------------------------------------ Content-Type */

int api__ctype_is_json(const char *s, size_t n)
{
    size_t i = skip_ows(s, n, 0);
    static const char want[] = "application/json";
    size_t wl = sizeof want - 1;
    if (n - i < wl || strncasecmp(s + i, want, wl))
        return 0;
    i += wl;
    /* parameters: charset must be utf-8 if given; others are ignored */
    for (;;) {
        i = skip_ows(s, n, i);
        if (i == n)
            return 1;
        if (s[i] != ';')
            return 0;
        i = skip_ows(s, n, i + 1);
        size_t ns = i, ne = token_end(s, n, i);
        if (ne == ns || ne >= n || s[ne] != '=')
            return 0;
        size_t vs = ne + 1, ve;
        if (vs < n && s[vs] == '"') {
            ve = quoted_end(s, n, vs);
            if (!ve)
                return 0;
        } else {
            ve = token_end(s, n, vs);
            if (ve == vs)
                return 0;
        }
        if (ne - ns == 7 && !strncasecmp(s + ns, "charset", 7)) {
            size_t a = vs, b = ve;
            if (s[a] == '"') {
                a++;
                b--;
            }
            if (b - a != 5 || strncasecmp(s + a, "utf-8", 5))
                return 0;
        }
        i = ve;
    }
}
