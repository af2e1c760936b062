/* SPDX-License-Identifier: Apache-2.0
 *
 * body.c — what the tender and capacity handlers share about reading a
 * request: the JSON media type (415), strict query parameters (400
 * invalid-parameter naming the parameter), list limits, repeated header
 * fields joined as RFC 9110 §5.3 combines them, resource ids and ETags.
 * Each helper either succeeds or has answered the request; none keeps a
 * pointer into it.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "api/params.h"
#include "common/util.h"
#include "crypto/hash.h"
#include "common/buf.h"
#include "http/problem.h"
#include "obs/log.h"
#include "tender/idempotency.h"

int api__join_header(struct hg_http_req *r, const char *name, char *buf, size_t cap)
{
    size_t used = 0;
    int count = 0;
    const char *n, *v;
    buf[0] = '\0';
    for (size_t i = 0; hg_http_req_header_at(r, i, &n, &v); i++) {
        if (strcasecmp(n, name))
            continue;
        size_t vl = strlen(v);
        size_t need = vl + (count ? 2 : 0);
        if (used + need + 1 > cap)
            return -1;
        if (count) {
            memcpy(buf + used, ", ", 2);
            used += 2;
        }
        memcpy(buf + used, v, vl);
        used += vl;
        buf[used] = '\0';
        count++;
    }
    return count;
}

int api__require_json(struct api_op *op)
{
    const char *ct = hg_http_req_header(op->r, "Content-Type");
    if (ct && hg_http_req_header_count(op->r, "Content-Type") == 1 &&
        api__ctype_is_json(ct, strlen(ct)))
        return 1;
    api__op_problem(op, HG_PROB_UNSUPPORTED_MEDIA, NULL,
                    "the body must be JSON: send Content-Type: application/json (charset, if "
                    "given, utf-8); got %s%.64s%s",
                    ct ? "'" : "", ct ? ct : "no Content-Type", ct ? "'" : "");
    return 0;
}

void api__etag(int64_t version, char out[32])
{
    snprintf(out, 32, "\"%" PRId64 "\"", version);
}

int api__read_begin(struct hg_http_req *r, struct hg_api *api, char tenant[65])
{
    const struct hg_principal *who = api__who(r);
    if (!api->store || !who) {
        hg_http_resp_header(r, "Retry-After", "1");
        hg_problem_send(r, HG_PROB_UNAVAILABLE, NULL,
                        "the tender store is not open yet; retry shortly");
        return 0;
    }
    if (api__tenant(who, tenant) != HG_OK) {
        hg_problem_send(r, HG_PROB_FORBIDDEN, NULL,
                        "the principal's tenant name is longer than 64 bytes, which the store "
                        "cannot hold; shorten it under clients: in the configuration");
        return 0;
    }
    return 1;
}

void api__bad_param(struct hg_http_req *r, const char *param, const char *fmt, ...)
{
    char detail[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    hg_problem_send(r, HG_PROB_INVALID_PARAMETER,
                    param && param[0] ? json_pack("{s:s}", "parameter", param) : NULL, "%s",
                    detail);
}

int api__query(struct hg_http_req *r, const char *const *allowed, struct hg_query *q)
{
    struct hg_err err;
    hg_err_clear(&err);
    const char *qs = hg_http_req_query(r);
    if (hg_query_parse(qs, strlen(qs), allowed, q, &err) == HG_OK)
        return 1;
    api__bad_param(r, q->bad, "%s", hg_err_msg(&err));
    return 0;
}

int api__limit(struct hg_http_req *r, struct hg_query *q, uint64_t def, uint64_t max,
               size_t *out)
{
    struct hg_err err;
    hg_err_clear(&err);
    uint64_t v = def;
    hg_status rc = hg_query_u64(q, "limit", &v, &err);
    if (rc == HG_ENOTFOUND) {
        *out = (size_t)def;
        return 1;
    }
    if (rc != HG_OK) {
        api__bad_param(r, "limit", "limit must be a whole number from 1 to %" PRIu64, max);
        return 0;
    }
    if (v < 1 || v > max) {
        api__bad_param(r, "limit", "limit must be from 1 to %" PRIu64 ", got %" PRIu64, max, v);
        return 0;
    }
    *out = (size_t)v;
    return 1;
}

int api__time_param(struct hg_http_req *r, struct hg_query *q, const char *name, int64_t *ms)
{
    const char *v = hg_query_get(q, name);
    if (!v) {
        *ms = -1;
        return 1;
    }
    if (hg_rfc3339_parse(v, strlen(v), ms) == HG_OK)
        return 1;
    api__bad_param(r, name,
                   "%s must be an RFC 3339 date-time after 1970 such as "
                   "2026-11-21T17:05:00.000Z",
                   name);
    return 0;
}

uint64_t api__filters_hash(const char *const *parts, size_t n)
{
    /* each part NUL-terminated, NULL as a distinct 0x01 byte: "a","" and
     * "a",NULL never hash alike */
    struct hg_sha256_part p[32];
    size_t k = 0;
    static const char null_mark[2] = {1, 0};
    for (size_t i = 0; i < n && k < 32; i++) {
        const char *s = parts[i] ? parts[i] : null_mark;
        p[k].p = s;
        p[k].n = strlen(s) + 1;
        k++;
    }
    uint8_t d[32];
    hg_sha256_parts(p, k, d);
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = (h << 8) | d[i];
    return h;
}

void api__store_unavailable(struct hg_http_req *r, hg_status rc, const char *what)
{
    hg_log(HG_LOG_ERROR, "store read failed", HG_LF_STR("operation", what),
           HG_LF_STR("status", hg_status_name(rc)),
           HG_LF_STR("correlation_id", hg_http_req_correlation_id(r)), HG_LF_END);
    hg_http_resp_header(r, "Retry-After", "1");
    hg_problem_send(r, HG_PROB_UNAVAILABLE, NULL,
                    "the store could not be read (%s); retry shortly", what);
}

int api__cursor_param(struct hg_http_req *r, struct hg_query *q, uint64_t fh, char after_id[37])
{
    after_id[0] = '\0';
    const char *cursor = hg_query_get(q, "cursor");
    if (!cursor)
        return 1;
    const char *why = NULL;
    if (hg_cursor_decode(cursor, strlen(cursor), fh, after_id, &why) == HG_OK)
        return 1;
    api__bad_param(r, "cursor", "%s",
                   why ? why : "the cursor is malformed; start again without one");
    return 0;
}

#define PAGE_BYTES_MAX ((size_t)64 << 20) /* 500 documents of the largest size fit */

void api__send_page(struct hg_http_req *r, const struct api_item *items, size_t n, size_t page,
                    uint64_t fh)
{
    int more = n > page;
    if (more)
        n = page;
    struct hg_buf b;
    hg_buf_init(&b, PAGE_BYTES_MAX);
    hg_status rc = hg_buf_puts(&b, "{\"items\":[");
    for (size_t i = 0; rc == HG_OK && i < n; i++) {
        if (i)
            rc = hg_buf_puts(&b, ",");
        if (rc == HG_OK)
            rc = hg_buf_append(&b, items[i].doc, items[i].len);
    }
    if (rc == HG_OK)
        rc = hg_buf_puts(&b, "]");
    if (rc == HG_OK && more) {
        char next[HG_CURSOR_MAX + 1];
        rc = hg_cursor_encode(items[n - 1].id, fh, next);
        if (rc == HG_OK)
            rc = hg_buf_printf(&b, ",\"nextCursor\":\"%s\"", next);
    }
    if (rc == HG_OK)
        rc = hg_buf_puts(&b, "}");
    if (rc != HG_OK)
        hg_problem_send(r, HG_PROB_INTERNAL, NULL, "could not build the list (%s)",
                        hg_status_str(rc));
    else
        hg_http_respond(r, 200, "application/json", b.data, b.len);
    hg_buf_cleanup(&b);
}
