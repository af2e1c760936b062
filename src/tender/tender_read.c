/* SPDX-License-Identifier: Apache-2.0
 *
 * tender_read.c — the strict JSON readers behind hg_tender_parse and
 * hg_offer_parse (see tender_int.h): member tables, typed value readers with
 * bounds, RFC 3339 times, UUIDs, and JSON Pointers for errors. Every error
 * names the pointer of the bad value and says what is expected; nothing a
 * client sends is echoed without being bounded and cut at a UTF-8 boundary,
 * because the sentence goes back out in a JSON problem document.
 */
#include "tender/tender_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

/* Cut s (strlen n) so it does not end inside a UTF-8 sequence. */
static void cut_utf8(char *s, size_t n)
{
    size_t i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && n - i < 3)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (i - 1 + need > n)
        s[i - 1] = '\0';
}

hg_status tender__fail(struct hg_verr *err, int status, const char *ptr, const char *fmt, ...)
{
    if (!err)
        return HG_EINVAL;
    err->status = status;
    if (hg_strlcpy(err->pointer, ptr ? ptr : "", sizeof err->pointer) != HG_OK)
        cut_utf8(err->pointer, strlen(err->pointer));
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
    if (n < 0)
        err->detail[0] = '\0';
    else if ((size_t)n >= sizeof err->detail)
        cut_utf8(err->detail, strlen(err->detail));
    return HG_EINVAL;
}

/* Length of the UTF-8 sequence starting at p (at most `left` bytes); 1 for
 * a stray byte so callers always advance. */
static size_t seq_len(const unsigned char *p, size_t left)
{
    size_t need = p[0] < 0x80 ? 1 : p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC0 ? 2 : 1;
    return need > left ? left : need;
}

void tender__ptr_member(char out[TENDER_PTR_MAX], const char *parent, const char *name)
{
    size_t n = 0;
    if (hg_strlcpy(out, parent, TENDER_PTR_MAX) != HG_OK) {
        cut_utf8(out, strlen(out));
        return;
    }
    n = strlen(out);
    if (n + 1 >= TENDER_PTR_MAX)
        return;
    out[n++] = '/';
    const unsigned char *p = (const unsigned char *)name;
    size_t left = strlen(name);
    while (left > 0) {
        const char *unit;
        size_t ulen;
        char one[4];
        if (*p == '~') {
            unit = "~0";
            ulen = 2;
        } else if (*p == '/') {
            unit = "~1";
            ulen = 2;
        } else {
            ulen = seq_len(p, left);
            memcpy(one, p, ulen);
            unit = one;
        }
        if (n + ulen >= TENDER_PTR_MAX)
            break; /* keep whole units only: no half escape, no half character */
        memcpy(out + n, unit, ulen);
        n += ulen;
        size_t adv = (*p == '~' || *p == '/') ? 1 : ulen;
        p += adv;
        left -= adv;
    }
    out[n] = '\0';
}

void tender__ptr_index(char out[TENDER_PTR_MAX], const char *parent, size_t i)
{
    int n = snprintf(out, TENDER_PTR_MAX, "%s/%zu", parent, i);
    if (n < 0 || (size_t)n >= TENDER_PTR_MAX)
        cut_utf8(out, strlen(out));
}

void tender__label(char out[TENDER_PTR_MAX], const char *ptr)
{
    size_t n = 0;
    if (!*ptr) {
        hg_strlcpy(out, "the document", TENDER_PTR_MAX);
        return;
    }
    const char *p = ptr;
    while (*p == '/' && n + 1 < TENDER_PTR_MAX) {
        p++;
        const char *end = strchr(p, '/');
        size_t seg = end ? (size_t)(end - p) : strlen(p);
        int digits = seg > 0;
        for (size_t i = 0; i < seg; i++)
            if (p[i] < '0' || p[i] > '9')
                digits = 0;
        if (digits) {
            if (n + seg + 2 >= TENDER_PTR_MAX)
                break;
            out[n++] = '[';
            memcpy(out + n, p, seg);
            n += seg;
            out[n++] = ']';
        } else {
            if (n > 0)
                out[n++] = '.';
            for (size_t i = 0; i < seg && n + 1 < TENDER_PTR_MAX; i++) {
                char c = p[i];
                if (c == '~' && i + 1 < seg && (p[i + 1] == '0' || p[i + 1] == '1'))
                    c = p[++i] == '0' ? '~' : '/';
                out[n++] = c;
            }
        }
        p += seg;
    }
    out[n] = '\0';
    cut_utf8(out, n);
}

void tender__quote(char out[72], const char *name)
{
    size_t len = strlen(name);
    if (len <= 64) {
        memcpy(out, name, len + 1);
        return;
    }
    memcpy(out, name, 64);
    out[64] = '\0';
    cut_utf8(out, 64);
    size_t n = strlen(out);
    memcpy(out + n, "...", 4);
}

hg_status tender__load(const char *body, size_t len, json_t **out, struct hg_verr *err)
{
    *out = NULL;
    if (len > TENDER_BODY_MAX)
        return tender__fail(err, 400, "",
                            "the body is %zu bytes; at most %zu are accepted, send a smaller "
                            "document",
                            len, TENDER_BODY_MAX);
    if (!body || len == 0)
        return tender__fail(err, 400, "", "the body is empty; send a JSON object");
    json_error_t je;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        /* jansson's text may quote raw input bytes ("near '...'"): keep only
         * printable ASCII so the sentence is safe to send back. */
        char text[JSON_ERROR_TEXT_LENGTH];
        size_t i = 0;
        for (; je.text[i] && i + 1 < sizeof text; i++) {
            unsigned char c = (unsigned char)je.text[i];
            text[i] = c >= 0x20 && c < 0x7F ? (char)c : '?';
        }
        text[i] = '\0';
        return tender__fail(err, 400, "",
                            "the body is not valid JSON (%s, at line %d column %d); send one "
                            "JSON object encoded in UTF-8",
                            text, je.line, je.column);
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        return tender__fail(err, 400, "", "the body must be a JSON object ({...})");
    }
    *out = doc;
    return HG_OK;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "an unknown value";
}

hg_status tender__check_members(const json_t *obj, const char *ptr, const char *what,
                                const struct tender__field *fields, size_t n, int from_client,
                                struct hg_verr *err)
{
    char lab[TENDER_PTR_MAX];
    if (!json_is_object(obj)) {
        tender__label(lab, ptr);
        return tender__fail(err, 400, ptr, "%s must be an object (%s); got %s", lab, what,
                            type_name(obj));
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        size_t i = 0;
        while (i < n && strcmp(fields[i].name, key) != 0)
            i++;
        char kp[TENDER_PTR_MAX];
        tender__ptr_member(kp, ptr, key);
        if (i == n) {
            char q[72], list[200];
            size_t ln = 0;
            int has_ext = 0;
            list[0] = '\0';
            for (size_t j = 0; j < n; j++) {
                if (from_client && (fields[j].flags & TF_SERVER))
                    continue;
                if (strcmp(fields[j].name, "extensions") == 0)
                    has_ext = 1;
                int w = snprintf(list + ln, sizeof list - ln, "%s%s", ln ? ", " : "",
                                 fields[j].name);
                if (w < 0 || (size_t)w >= sizeof list - ln)
                    break;
                ln += (size_t)w;
            }
            tender__quote(q, key);
            return tender__fail(err, 400, kp, "unknown field \"%s\" in %s; the fields are %s%s",
                                q, what, list,
                                has_ext ? " (put your own data under \"extensions\")" : "");
        }
        if (from_client && (fields[i].flags & TF_SERVER))
            return tender__fail(err, 400, kp,
                                "%s is assigned by the server; leave it out of the request",
                                fields[i].name);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned need = from_client ? TF_REQUIRED : TF_STORED;
        if ((fields[i].flags & need) && !json_object_get(obj, fields[i].name)) {
            char kp[TENDER_PTR_MAX];
            tender__ptr_member(kp, ptr, fields[i].name);
            tender__label(lab, kp);
            return tender__fail(err, 400, kp, "%s is missing; %s requires it", lab, what);
        }
    }
    return HG_OK;
}

static int is_tag_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == ':' || c == '-';
}

hg_status tender__read_str(const json_t *v, const char *ptr, enum tender_str_kind kind,
                           size_t min, size_t max, char *out, struct hg_verr *err)
{
    char lab[TENDER_PTR_MAX];
    tender__label(lab, ptr);
    const char *shape = kind == TS_TAG ? "a tag of characters A-Z a-z 0-9 _ . : -"
                                       : "a string without control characters";
    if (!json_is_string(v))
        return tender__fail(err, 400, ptr, "%s must be %s, %zu to %zu bytes long; got %s", lab,
                            shape, min, max, type_name(v));
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t len = json_string_length(v);
    if (len < min || len > max)
        return tender__fail(err, 400, ptr, "%s must be %s, %zu to %zu bytes long; got %zu bytes",
                            lab, shape, min, max, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        int bad = kind == TS_TAG ? !is_tag_char(c)
                                 : (c < 0x20 || c == 0x7F ||
                                    /* C1 controls U+0080..U+009F */
                                    (c == 0xC2 && i + 1 < len && s[i + 1] >= 0x80 &&
                                     s[i + 1] <= 0x9F));
        if (bad)
            return tender__fail(err, 400, ptr,
                                "%s must be %s; the byte at offset %zu (0x%02X) is not allowed",
                                lab, shape, i, c);
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return HG_OK;
}

hg_status tender__read_bool(const json_t *v, const char *ptr, int *out, struct hg_verr *err)
{
    if (!json_is_boolean(v)) {
        char lab[TENDER_PTR_MAX];
        tender__label(lab, ptr);
        return tender__fail(err, 400, ptr, "%s must be true or false; got %s", lab,
                            type_name(v));
    }
    *out = json_is_true(v);
    return HG_OK;
}

hg_status tender__read_num(const json_t *v, const char *ptr, double lo, int lo_open, double hi,
                           const char *unit, double *out, struct hg_verr *err)
{
    char lab[TENDER_PTR_MAX];
    tender__label(lab, ptr);
    if (!json_is_number(v))
        return tender__fail(err, 400, ptr, "%s must be a number %s %.10g and at most %.10g%s; got %s",
                            lab, lo_open ? "greater than" : "of at least", lo, hi, unit,
                            type_name(v));
    double d = json_number_value(v);
    if (!isfinite(d) || (lo_open ? !(d > lo) : !(d >= lo)) || !(d <= hi))
        return tender__fail(err, 400, ptr,
                            "%s must be a number %s %.10g and at most %.10g%s; got %.10g", lab,
                            lo_open ? "greater than" : "of at least", lo, hi, unit, d);
    *out = d;
    return HG_OK;
}

hg_status tender__read_int(const json_t *v, const char *ptr, int64_t lo, int64_t hi,
                           int64_t *out, struct hg_verr *err)
{
    char lab[TENDER_PTR_MAX];
    tender__label(lab, ptr);
    if (!json_is_integer(v))
        return tender__fail(err, 400, ptr, "%s must be an integer from %lld to %lld; got %s", lab,
                            (long long)lo, (long long)hi, type_name(v));
    json_int_t i = json_integer_value(v);
    if (i < lo || i > hi)
        return tender__fail(err, 400, ptr, "%s must be an integer from %lld to %lld; got %lld",
                            lab, (long long)lo, (long long)hi, (long long)i);
    *out = (int64_t)i;
    return HG_OK;
}

hg_status tender__read_time(const json_t *v, const char *ptr, int64_t *out, struct hg_verr *err)
{
    if (!json_is_string(v) ||
        hg_rfc3339_parse(json_string_value(v), json_string_length(v), out) != HG_OK) {
        char lab[TENDER_PTR_MAX];
        tender__label(lab, ptr);
        return tender__fail(err, 400, ptr,
                            "%s must be an RFC 3339 date-time with a time zone, such as "
                            "\"2026-11-21T10:00:00Z\" (years 1970 to 9999, no leap second); "
                            "got %s",
                            lab, json_is_string(v) ? "a string that is not one" : type_name(v));
    }
    return HG_OK;
}

static const struct tender__field window_fields[] = {
    {"start", TF_REQUIRED | TF_STORED},
    {"end", TF_REQUIRED | TF_STORED},
};

hg_status tender__read_window(const json_t *v, const char *ptr, struct hg_window *out,
                              struct hg_verr *err)
{
    char sp[TENDER_PTR_MAX], ep[TENDER_PTR_MAX];
    hg_status rc = tender__check_members(v, ptr, "a time window {start, end}", window_fields, 2,
                                         1, err);
    if (rc != HG_OK)
        return rc;
    tender__ptr_member(sp, ptr, "start");
    tender__ptr_member(ep, ptr, "end");
    if ((rc = tender__read_time(json_object_get(v, "start"), sp, &out->start_ms, err)) != HG_OK ||
        (rc = tender__read_time(json_object_get(v, "end"), ep, &out->end_ms, err)) != HG_OK)
        return rc;
    return HG_OK;
}

hg_status tender__window_rule(const struct hg_window *w, const char *ptr, struct hg_verr *err)
{
    if (w->end_ms > w->start_ms)
        return HG_OK;
    char lab[TENDER_PTR_MAX], ep[TENDER_PTR_MAX], a[HG_RFC3339_LEN + 1], b[HG_RFC3339_LEN + 1];
    tender__label(lab, ptr);
    tender__ptr_member(ep, ptr, "end");
    hg_rfc3339(w->start_ms, a);
    hg_rfc3339(w->end_ms, b);
    return tender__fail(err, 422, ep, "%s is empty: its end (%s) must be after its start (%s)",
                        lab, b, a);
}

static const struct tender__field geo_fields[] = {
    {"lat", TF_REQUIRED | TF_STORED},
    {"lon", TF_REQUIRED | TF_STORED},
};
static const struct tender__field place_fields[] = {
    {"name", TF_REQUIRED | TF_STORED},
    {"lat", TF_REQUIRED | TF_STORED},
    {"lon", TF_REQUIRED | TF_STORED},
};

hg_status tender__read_geo(const json_t *v, const char *ptr, struct hg_geo *geo, char *name_out,
                           struct hg_verr *err)
{
    char p[TENDER_PTR_MAX];
    hg_status rc = name_out ? tender__check_members(v, ptr, "a place {name, lat, lon}",
                                                    place_fields, 3, 1, err)
                            : tender__check_members(v, ptr, "a point {lat, lon}", geo_fields, 2,
                                                    1, err);
    if (rc != HG_OK)
        return rc;
    if (name_out) {
        tender__ptr_member(p, ptr, "name");
        rc = tender__read_str(json_object_get(v, "name"), p, TS_TEXT, 1, HG_TENDER_NAME_MAX,
                              name_out, err);
        if (rc != HG_OK)
            return rc;
    }
    tender__ptr_member(p, ptr, "lat");
    rc = tender__read_num(json_object_get(v, "lat"), p, -90, 0, 90, " degrees", &geo->lat, err);
    if (rc != HG_OK)
        return rc;
    tender__ptr_member(p, ptr, "lon");
    return tender__read_num(json_object_get(v, "lon"), p, -180, 0, 180, " degrees", &geo->lon,
                            err);
}

static const struct tender__field money_fields[] = {
    {"currency", TF_REQUIRED | TF_STORED},
    {"amount", TF_REQUIRED | TF_STORED},
};

hg_status tender__read_money(const json_t *v, const char *ptr, struct hg_money *out,
                             struct hg_verr *err)
{
    char p[TENDER_PTR_MAX];
    hg_status rc = tender__check_members(v, ptr, "an amount of money {currency, amount}",
                                         money_fields, 2, 1, err);
    if (rc != HG_OK)
        return rc;
    tender__ptr_member(p, ptr, "currency");
    const json_t *c = json_object_get(v, "currency");
    const char *s = json_string_value(c);
    if (!s || json_string_length(c) != 3 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' ||
        s[1] > 'Z' || s[2] < 'A' || s[2] > 'Z') {
        char lab[TENDER_PTR_MAX];
        tender__label(lab, p);
        return tender__fail(err, 400, p,
                            "%s must be an ISO 4217 code of three upper-case letters, such as "
                            "\"USD\"",
                            lab);
    }
    memcpy(out->currency, s, 4);
    tender__ptr_member(p, ptr, "amount");
    return tender__read_num(json_object_get(v, "amount"), p, 0, 0, 1e9, "", &out->amount, err);
}

hg_status tender__read_uuid(const json_t *v, const char *ptr, char out[HG_TENDER_ID_LEN + 1],
                            struct hg_verr *err)
{
    if (!json_is_string(v) ||
        !hg_uuid_norm(json_string_value(v), json_string_length(v), out)) {
        char lab[TENDER_PTR_MAX];
        tender__label(lab, ptr);
        return tender__fail(err, 400, ptr,
                            "%s must be a UUID as the server returned it, such as "
                            "\"0193a5b0-7c1e-7d3a-9f00-1234567890ab\"; got %s",
                            lab, json_is_string(v) ? "a string that is not one" : type_name(v));
    }
    return HG_OK;
}

/* ---- RFC 3339 ---- */

/* ---- writers ---- */

json_t *tender__built(json_t *o, int ok)
{
    if (ok)
        return o;
    json_decref(o);
    return NULL;
}

json_t *tender__time_json(int64_t ms)
{
    char b[HG_RFC3339_LEN + 1];
    hg_rfc3339(ms, b);
    return json_string(b);
}

json_t *tender__num_json(double v)
{
    /* integers print as integers ("weightLbs": 42000), which is what a
     * dispatcher sent; both forms read back to the same double */
    if (isfinite(v) && v == floor(v) && fabs(v) <= 9007199254740992.0)
        return json_integer((json_int_t)v);
    return json_real(v);
}

json_t *tender__window_json(const struct hg_window *w)
{
    int ok = 1;
    json_t *o = json_object();
    if (!o)
        return NULL;
    tender__put(o, "start", tender__time_json(w->start_ms), &ok);
    tender__put(o, "end", tender__time_json(w->end_ms), &ok);
    return tender__built(o, ok);
}

json_t *tender__money_json(const struct hg_money *m)
{
    int ok = 1;
    json_t *o = json_object();
    if (!o)
        return NULL;
    tender__put(o, "currency", json_string(m->currency), &ok);
    tender__put(o, "amount", tender__num_json(m->amount), &ok);
    return tender__built(o, ok);
}

void tender__put(json_t *obj, const char *key, json_t *v, int *ok)
{
    if (!v) {
        *ok = 0;
        return;
    }
    if (json_object_set_new(obj, key, v) != 0)
        *ok = 0;
}
