/* SPDX-License-Identifier: Apache-2.0
 *
 * params.c — strict query strings and Accept negotiation. Both work on
 * (pointer, length) input with fixed-size outputs and no allocation, so a
 * hostile request can neither read past its bytes nor make us allocate.
 * Whatever we quote back in an error is escaped to printable ASCII here,
 * because problem details must be valid UTF-8 and must not carry control
 * characters into logs.
 */
#include "api/params.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

/* Printable ASCII as is (except backslash and quote), anything else \xHH. */
static void show(char *dst, size_t cap, const char *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (len > HG_QUERY_NAME_SHOW)
        len = HG_QUERY_NAME_SHOW;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
            if (o + 2 > cap)
                break;
            dst[o++] = (char)c;
        } else {
            if (o + 5 > cap)
                break;
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    dst[o] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enum dec { DEC_OK, DEC_ESCAPE, DEC_CONTROL, DEC_LONG };

/* Percent-decode n bytes into out (cap bytes including the NUL). */
static enum dec decode(const char *s, size_t n, char *out, size_t cap, size_t *outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3)
                return DEC_ESCAPE;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return DEC_ESCAPE;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f)
            return DEC_CONTROL;
        if (o + 1 >= cap)
            return DEC_LONG;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    *outlen = o;
    return DEC_OK;
}

/* "from, to" for messages. */
static void list_names(const char *const *allowed, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; allowed[i]; i++) {
        size_t l = strlen(allowed[i]);
        if (o + l + 3 >= cap)
            break;
        if (i) {
            memcpy(out + o, ", ", 2);
            o += 2;
        }
        memcpy(out + o, allowed[i], l);
        o += l;
        out[o] = '\0';
    }
    if (o == 0)
        hg_strlcpy(out, "none", cap);
}

hg_status hg_query_parse(const char *s, size_t n, const char *const *allowed,
                         struct hg_query *q, struct hg_err *err)
{
    if (!q)
        return hg_err_set(err, HG_EINVAL, "hg_query_parse: no output");
    memset(q, 0, sizeof *q);
    if ((!s && n) || !allowed)
        return hg_err_set(err, HG_EINVAL, "hg_query_parse: NULL argument");
    size_t nallowed = 0;
    while (allowed[nallowed])
        nallowed++;
    if (nallowed > HG_QUERY_MAX_PARAMS)
        return hg_err_set(err, HG_EINVAL, "a route may take at most %d query parameters",
                          HG_QUERY_MAX_PARAMS);
    if (n > HG_QUERY_MAX)
        return hg_err_set(err, HG_ETOOBIG,
                          "the query string is %zu bytes; at most %d are accepted", n,
                          HG_QUERY_MAX);
    char names[256];
    list_names(allowed, names, sizeof names);
    size_t pos = 0;
    while (n > 0) {
        const char *piece = s + pos;
        const char *amp = memchr(piece, '&', n - pos);
        size_t plen = amp ? (size_t)(amp - piece) : n - pos;
        if (plen == 0) {
            q->bad[0] = '\0';
            return hg_err_set(err, HG_EPARSE,
                              "the query string has an empty parameter (a leading, trailing "
                              "or doubled '&'); send name=value pairs separated by one '&'");
        }
        const char *eq = memchr(piece, '=', plen);
        size_t rawname = eq ? (size_t)(eq - piece) : plen;
        char name[HG_QUERY_NAME_SHOW + 1];
        size_t namelen = 0;
        enum dec d = decode(piece, rawname, name, sizeof name, &namelen);
        if (d != DEC_OK) {
            show(q->bad, sizeof q->bad, piece, rawname);
            if (d == DEC_LONG)
                return hg_err_set(err, HG_EPARSE,
                                  "unknown query parameter '%s...'; this resource takes: %s",
                                  q->bad, names);
            return hg_err_set(err, HG_EPARSE, "the query parameter name '%s' has %s", q->bad,
                              d == DEC_ESCAPE ? "a malformed %-escape; write a byte as %XX "
                                                "with two hex digits"
                                              : "a control character, which is not allowed");
        }
        show(q->bad, sizeof q->bad, name, namelen);
        if (namelen == 0)
            return hg_err_set(err, HG_EPARSE,
                              "a query parameter has an empty name; send name=value");
        size_t k = 0;
        while (allowed[k] && !(strlen(allowed[k]) == namelen && !memcmp(allowed[k], name, namelen)))
            k++;
        if (!allowed[k])
            return hg_err_set(err, HG_EPARSE,
                              "unknown query parameter '%s'; this resource takes: %s", q->bad,
                              names);
        for (size_t j = 0; j < q->n; j++)
            if (q->p[j].name == allowed[k])
                return hg_err_set(err, HG_EPARSE,
                                  "query parameter '%s' is given more than once; give it once",
                                  q->bad);
        if (!eq)
            return hg_err_set(err, HG_EPARSE,
                              "query parameter '%s' has no value; send %s=VALUE", q->bad,
                              q->bad);
        size_t vlen = 0;
        d = decode(eq + 1, plen - rawname - 1, q->p[q->n].value, sizeof q->p[q->n].value,
                   &vlen);
        if (d == DEC_LONG)
            return hg_err_set(err, HG_EPARSE,
                              "query parameter '%s' is longer than %d bytes", q->bad,
                              HG_QUERY_VALUE_MAX);
        if (d != DEC_OK)
            return hg_err_set(err, HG_EPARSE, "query parameter '%s' has %s", q->bad,
                              d == DEC_ESCAPE ? "a malformed %-escape in its value; write a "
                                                "byte as %XX with two hex digits"
                                              : "a control character in its value, which is "
                                                "not allowed");
        q->p[q->n].name = allowed[k];
        q->n++; /* bounded: each allowed name at most once */
        if (!amp)
            break;
        pos += plen + 1;
        if (pos == n) {
            q->bad[0] = '\0';
            return hg_err_set(err, HG_EPARSE, "the query string ends with '&'; remove it");
        }
    }
    q->bad[0] = '\0';
    return HG_OK;
}

const char *hg_query_get(const struct hg_query *q, const char *name)
{
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->p[i].name, name))
            return q->p[i].value;
    return NULL;
}

hg_status hg_query_u64(struct hg_query *q, const char *name, uint64_t *out, struct hg_err *err)
{
    const char *v = hg_query_get(q, name);
    int64_t x;
    show(q->bad, sizeof q->bad, name, strlen(name));
    if (!v)
        return hg_err_set(err, HG_ENOTFOUND, "query parameter '%s' is required", q->bad);
    if (v[0] == '-' || v[0] == '+' || hg_parse_i64(v, 0, INT64_MAX, &x) != HG_OK) {
        char shown[4 * HG_QUERY_NAME_SHOW + 4];
        show(shown, sizeof shown, v, strlen(v));
        return hg_err_set(err, HG_EPARSE,
                          "query parameter '%s' must be a non-negative integer, got '%s'",
                          q->bad, shown);
    }
    q->bad[0] = '\0';
    *out = (uint64_t)x;
    return HG_OK;
}

/* ------------------------------------------------------------------ Accept */

static bool tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static size_t skip_ows(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

static size_t token(const char *s, size_t i, size_t n)
{
    while (i < n && tchar(s[i]))
        i++;
    return i;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in
 * thousandths. -1 when malformed. */
static int qvalue(const char *s, size_t n)
{
    if (n == 0 || n > 5 || (s[0] != '0' && s[0] != '1'))
        return -1;
    int v = (s[0] - '0') * 1000;
    if (n == 1)
        return v;
    if (s[1] != '.')
        return -1;
    int scale = 100;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v += (s[i] - '0') * scale;
    }
    return v > 1000 ? -1 : v;
}

/* Parse one media range in s[0..n): type, subtype, q (thousandths).
 * 0 when malformed. */
static int media_range(const char *s, size_t n, const char **type, size_t *tl,
                       const char **sub, size_t *sl, int *q)
{
    size_t i = skip_ows(s, 0, n);
    size_t t0 = i;
    i = token(s, i, n);
    if (i == t0 || i >= n || s[i] != '/')
        return 0;
    *type = s + t0;
    *tl = i - t0;
    size_t s0 = ++i;
    i = token(s, i, n);
    if (i == s0)
        return 0;
    *sub = s + s0;
    *sl = i - s0;
    if (*tl == 1 && **type == '*' && !(*sl == 1 && **sub == '*'))
        return 0; /* "* /subtype" is not a media range */
    *q = 1000;
    for (;;) {
        i = skip_ows(s, i, n);
        if (i == n)
            return 1;
        if (s[i] != ';')
            return 0;
        i = skip_ows(s, i + 1, n);
        size_t p0 = i;
        i = token(s, i, n);
        if (i == p0 || i >= n || s[i] != '=')
            return 0;
        size_t pl = i - p0;
        size_t v0 = ++i;
        if (i < n && s[i] == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            if (i >= n)
                return 0;
            i++;
        } else {
            i = token(s, i, n);
            if (i == v0)
                return 0;
        }
        if (pl == 1 && (s[p0] == 'q' || s[p0] == 'Q')) {
            /* q ends the media-type parameters; what follows are
             * accept-ext parameters, which we do not use */
            *q = qvalue(s + v0, i - v0);
            return *q >= 0;
        }
    }
}

int hg_accept_pick(const char *accept, size_t n, const char *const *offers, size_t noffers)
{
    if (noffers == 0)
        return -1;
    if (!accept || n == 0 || n > HG_ACCEPT_MAX)
        return 0;
    int q[16], spec[16];
    if (noffers > 16)
        noffers = 16;
    for (size_t o = 0; o < noffers; o++)
        q[o] = spec[o] = 0;
    int any = 0;
    size_t pos = 0, ranges = 0;
    while (pos <= n && ranges < HG_ACCEPT_MAX_RANGES) {
        const char *comma = memchr(accept + pos, ',', n - pos);
        size_t len = comma ? (size_t)(comma - (accept + pos)) : n - pos;
        const char *type, *sub;
        size_t tl, sl;
        int qv;
        if (skip_ows(accept + pos, 0, len) < len) { /* empty list elements are allowed */
            ranges++;
            if (media_range(accept + pos, len, &type, &tl, &sub, &sl, &qv)) {
                any = 1;
                for (size_t o = 0; o < noffers; o++) {
                    const char *slash = strchr(offers[o], '/');
                    if (!slash)
                        continue;
                    size_t otl = (size_t)(slash - offers[o]);
                    int sp = 0;
                    if (tl == 1 && type[0] == '*')
                        sp = 1;
                    else if (tl == otl && !strncasecmp(type, offers[o], tl)) {
                        if (sl == 1 && sub[0] == '*')
                            sp = 2;
                        else if (sl == strlen(slash + 1) && !strncasecmp(sub, slash + 1, sl))
                            sp = 3;
                    }
                    if (sp > spec[o]) {
                        spec[o] = sp;
                        q[o] = qv;
                    }
                }
            }
        }
        if (!comma)
            break;
        pos += len + 1;
    }
    if (!any)
        return 0;
    int best = -1, bestq = 0;
    for (size_t o = 0; o < noffers; o++)
        if (spec[o] && q[o] > bestq) {
            best = (int)o;
            bestq = q[o];
        }
    return best;
}
