/* SPDX-License-Identifier: Apache-2.0
 *
 * policy_cond.c — the `when:` conditions of a rule: "<attr> <op> <literal>"
 * parsed once at load into a path, an operator and a typed literal, and
 * evaluated against the resource's JSON without allocating. The grammar is
 * deliberately tiny (no and/or, no functions): a rule's conditions are all
 * required, and anything richer belongs in a second rule. Parse errors say
 * which part is wrong and how to write it.
 */
#include "policy/policy_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COND_HELP "write <attribute> <op> <value>, such as weightLbs <= 80000"

__attribute__((format(printf, 3, 4)))
static hg_status why_set(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return HG_EPARSE;
}

static bool is_alpha(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool is_name(char ch)
{
    return is_alpha(ch) || is_digit(ch) || ch == '-';
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

void policy__cond_free(struct pol_cond *c)
{
    if (!c)
        return;
    free(c->path);
    free(c->s);
    c->path = NULL;
    c->s = NULL;
}

/* attr := seg ('.' seg)*; the first segment starts with a letter or '_',
 * later ones may be all digits (an array index). */
static hg_status parse_attr(const char *s, size_t n, size_t *i, struct pol_cond *c,
                            char *why, size_t whycap)
{
    size_t start = *i, k = *i;
    if (k >= n || !is_alpha(s[k]))
        return why_set(why, whycap,
                       "it must start with an attribute name (letters, digits, '_' or "
                       "'-', starting with a letter or '_'); %s", COND_HELP);
    for (;;) {
        size_t seg = k;
        while (k < n && is_name(s[k]))
            k++;
        if (k == seg)
            return why_set(why, whycap,
                           "the attribute path has an empty part at column %zu; join "
                           "member names with single dots, such as requirements.hazmat",
                           k + 1);
        if (c->nseg == POL_MAX_SEGS)
            return why_set(why, whycap,
                           "the attribute path has more than %d parts; a condition "
                           "reaches at most %d levels into the resource",
                           POL_MAX_SEGS, POL_MAX_SEGS);
        c->nseg++;
        if (k < n && s[k] == '.') {
            k++;
            continue;
        }
        break;
    }
    size_t plen = k - start;
    if (plen > POL_MAX_NAME)
        return why_set(why, whycap, "the attribute path is %zu bytes; at most %d are allowed",
                       plen, POL_MAX_NAME);
    c->path = malloc(plen + 1);
    if (!c->path)
        return HG_ENOMEM;
    memcpy(c->path, s + start, plen);
    c->path[plen] = '\0';
    /* Split in place: each '.' becomes the NUL ending its segment. */
    char *p = c->path;
    for (uint8_t j = 0; j < c->nseg; j++) {
        c->seg[j] = p;
        char *dot = strchr(p, '.');
        if (dot)
            *dot = '\0';
        c->idx[j] = -1;
        size_t sl = strlen(p);
        bool digits = sl > 0 && sl <= 9;
        for (size_t q = 0; digits && q < sl; q++)
            digits = is_digit(p[q]);
        if (digits && !(sl > 1 && p[0] == '0'))
            c->idx[j] = strtol(p, NULL, 10);
        p += sl + 1;
    }
    *i = k;
    return HG_OK;
}

static hg_status parse_op(const char *s, size_t n, size_t *i, struct pol_cond *c, char *why,
                          size_t whycap)
{
    size_t k = *i;
    char a = k < n ? s[k] : '\0', b = k + 1 < n ? s[k + 1] : '\0';
    if (a == '=' && b == '=') {
        c->op = POL_EQ;
        k += 2;
    } else if (a == '!' && b == '=') {
        c->op = POL_NE;
        k += 2;
    } else if (a == '<' && b == '=') {
        c->op = POL_LE;
        k += 2;
    } else if (a == '>' && b == '=') {
        c->op = POL_GE;
        k += 2;
    } else if (a == '<') {
        c->op = POL_LT;
        k += 1;
    } else if (a == '>') {
        c->op = POL_GT;
        k += 1;
    } else if (a == '=' && (b == '>' || b == '<')) {
        return why_set(why, whycap, "'=%c' is not an operator; write '%c='", b, b);
    } else if (a == '=') {
        return why_set(why, whycap, "'=' is not an operator; write '==' to compare");
    } else if (a == '\0') {
        return why_set(why, whycap, "the operator and value are missing; %s", COND_HELP);
    } else {
        char e[24];
        policy__esc(s + k, n - k, e, sizeof e, 8);
        return why_set(why, whycap,
                       "expected an operator (==, !=, <, <=, >, >=) at column %zu, got "
                       "\"%s\"", k + 1, e);
    }
    /* "<==", "===", "=>" and the like: a typo, not a value starting with '='. */
    if (k < n && (s[k] == '=' || s[k] == '<' || s[k] == '>' || s[k] == '!'))
        return why_set(why, whycap,
                       "unknown operator at column %zu; use one of ==, !=, <, <=, >, >=",
                       *i + 1);
    *i = k;
    return HG_OK;
}

/* JSON's number grammar: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
static hg_status parse_number(const char *s, size_t n, size_t *i, struct pol_cond *c,
                              char *why, size_t whycap)
{
    size_t k = *i, start = *i;
    bool frac = false;
    if (k < n && s[k] == '-')
        k++;
    if (k >= n || !is_digit(s[k]))
        goto bad;
    if (s[k] == '0' && k + 1 < n && is_digit(s[k + 1]))
        goto bad;
    while (k < n && is_digit(s[k]))
        k++;
    if (k < n && s[k] == '.') {
        frac = true;
        k++;
        if (k >= n || !is_digit(s[k]))
            goto bad;
        while (k < n && is_digit(s[k]))
            k++;
    }
    if (k < n && (s[k] == 'e' || s[k] == 'E')) {
        frac = true;
        k++;
        if (k < n && (s[k] == '+' || s[k] == '-'))
            k++;
        if (k >= n || !is_digit(s[k]))
            goto bad;
        while (k < n && is_digit(s[k]))
            k++;
    }
    char buf[72];
    if (k - start >= sizeof buf)
        return why_set(why, whycap, "the number has more than %zu characters",
                       sizeof buf - 1);
    memcpy(buf, s + start, k - start);
    buf[k - start] = '\0';
    errno = 0;
    c->d = strtod(buf, NULL);
    if (!isfinite(c->d))
        return why_set(why, whycap, "the number %s is out of range", buf);
    c->is_int = false;
    if (!frac) {
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        if (errno != ERANGE) {
            c->is_int = true;
            c->i = v;
        }
    }
    c->lit = POL_LIT_NUM;
    *i = k;
    return HG_OK;
bad:;
    char e[40];
    policy__esc(s + start, n - start, e, sizeof e, 16);
    return why_set(why, whycap,
                   "\"%s\" is not a number; write numbers as in JSON, such as 80000, "
                   "-3 or 12.5", e);
}

static hg_status parse_string(const char *s, size_t n, size_t *i, struct pol_cond *c,
                              char *why, size_t whycap)
{
    size_t k = *i + 1, o = 0;
    char *buf = malloc(n - *i + 1);
    if (!buf)
        return HG_ENOMEM;
    for (;;) {
        if (k >= n) {
            free(buf);
            return why_set(why, whycap,
                           "the string that starts at column %zu has no closing '\"'",
                           *i + 1);
        }
        char ch = s[k++];
        if (ch == '"')
            break;
        if (ch == '\\') {
            if (k < n && (s[k] == '"' || s[k] == '\\')) {
                buf[o++] = s[k++];
                continue;
            }
            free(buf);
            return why_set(why, whycap,
                           "unknown escape at column %zu; inside a string only \\\" and "
                           "\\\\ are escapes", k);
        }
        buf[o++] = ch;
    }
    buf[o] = '\0';
    c->s = buf;
    c->slen = o;
    c->lit = POL_LIT_STR;
    *i = k;
    return HG_OK;
}

static bool word_at(const char *s, size_t n, size_t i, const char *w)
{
    size_t wl = strlen(w);
    return n - i >= wl && memcmp(s + i, w, wl) == 0 &&
           (i + wl == n || !is_name(s[i + wl]));
}

static hg_status parse_literal(const char *s, size_t n, size_t *i, struct pol_cond *c,
                               char *why, size_t whycap)
{
    size_t k = *i;
    if (k >= n)
        return why_set(why, whycap,
                       "the value after the operator is missing; %s", COND_HELP);
    if (s[k] == '"')
        return parse_string(s, n, i, c, why, whycap);
    if (s[k] == '-' || is_digit(s[k]))
        return parse_number(s, n, i, c, why, whycap);
    if (word_at(s, n, k, "true") || word_at(s, n, k, "false")) {
        c->lit = POL_LIT_BOOL;
        c->b = s[k] == 't';
        *i = k + (c->b ? 4 : 5);
        return HG_OK;
    }
    if (word_at(s, n, k, "null")) {
        c->lit = POL_LIT_NULL;
        *i = k + 4;
        return HG_OK;
    }
    size_t e = k;
    while (e < n && s[e] != ' ' && s[e] != '\t')
        e++;
    char w[64];
    policy__esc(s + k, e - k, w, sizeof w, 32);
    return why_set(why, whycap,
                   "the value \"%s\" is not a number, true, false, null or a string in "
                   "double quotes; write strings as \"%s\"", w, w);
}

hg_status policy__cond_parse(const char *s, size_t n, struct pol_cond *out, char *why,
                             size_t whycap)
{
    hg_status rc;
    size_t i;
    memset(out, 0, sizeof *out);
    why[0] = '\0';
    if (n > POL_MAX_COND) {
        rc = why_set(why, whycap, "a condition is %zu bytes; at most %d are allowed", n,
                     POL_MAX_COND);
        goto out;
    }
    i = skip_ws(s, n, 0);
    if (i == n) {
        rc = why_set(why, whycap, "the condition is empty; %s", COND_HELP);
        goto out;
    }
    rc = parse_attr(s, n, &i, out, why, whycap);
    if (rc != HG_OK)
        goto out;
    i = skip_ws(s, n, i);
    rc = parse_op(s, n, &i, out, why, whycap);
    if (rc != HG_OK)
        goto out;
    i = skip_ws(s, n, i);
    rc = parse_literal(s, n, &i, out, why, whycap);
    if (rc != HG_OK)
        goto out;
    i = skip_ws(s, n, i);
    if (i < n) {
        char e[40];
        policy__esc(s + i, n - i, e, sizeof e, 16);
        rc = why_set(why, whycap,
                     "unexpected \"%s\" after the value at column %zu; a condition is one "
                     "comparison (write several conditions as several list items)",
                     e, i + 1);
        goto out;
    }
    if (out->op != POL_EQ && out->op != POL_NE && out->lit != POL_LIT_NUM) {
        rc = why_set(why, whycap,
                     "<, <=, > and >= compare numbers only; use == or != for %s",
                     out->lit == POL_LIT_STR    ? "strings"
                     : out->lit == POL_LIT_BOOL ? "true and false"
                                                : "null");
        goto out;
    }
out:
    if (rc != HG_OK)
        policy__cond_free(out);
    return rc;
}

static const json_t *lookup(const struct pol_cond *c, const json_t *v)
{
    for (uint8_t i = 0; i < c->nseg && v; i++) {
        if (json_is_object(v))
            v = json_object_get(v, c->seg[i]);
        else if (json_is_array(v) && c->idx[i] >= 0)
            v = json_array_get(v, (size_t)c->idx[i]);
        else
            return NULL;
    }
    return v;
}

bool policy__cond_eval(const struct pol_cond *c, const json_t *resource)
{
    const json_t *v = lookup(c, resource);
    bool eq;
    if (!v)
        return false;
    switch (c->lit) {
    case POL_LIT_NULL:
        eq = json_is_null(v);
        break;
    case POL_LIT_BOOL:
        eq = json_is_boolean(v) && json_is_true(v) == c->b;
        break;
    case POL_LIT_STR:
        eq = json_is_string(v) && json_string_length(v) == c->slen &&
             memcmp(json_string_value(v), c->s, c->slen) == 0;
        break;
    default: {
        if (!json_is_number(v)) {
            eq = false;
            if (c->op != POL_EQ && c->op != POL_NE)
                return false;
            break;
        }
        int cmp;
        if (c->is_int && json_is_integer(v)) {
            json_int_t x = json_integer_value(v);
            cmp = (x > c->i) - (x < c->i);
        } else {
            double x = json_number_value(v);
            cmp = (x > c->d) - (x < c->d);
        }
        switch (c->op) {
        case POL_LT:
            return cmp < 0;
        case POL_LE:
            return cmp <= 0;
        case POL_GT:
            return cmp > 0;
        case POL_GE:
            return cmp >= 0;
        default:
            eq = cmp == 0;
            break;
        }
        break;
    }
    }
    return c->op == POL_EQ ? eq : !eq;
}
