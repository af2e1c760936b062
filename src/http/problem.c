/* SPDX-License-Identifier: Apache-2.0
 * problem.c — RFC 9457 problem documents from the one table of types. */
#include "http/problem.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/server.h"

static const struct {
    const char *slug;
    int status;
    const char *title;
} types[] = {
#define HG_X_PROB(id, slug, status, title) {slug, status, title},
    HG_PROBLEM_TABLE(HG_X_PROB)
#undef HG_X_PROB
};

const char *hg_problem_slug(enum hg_problem p)
{
    return (unsigned)p < HG_PROB__COUNT ? types[p].slug : "internal";
}

int hg_problem_status(enum hg_problem p)
{
    return (unsigned)p < HG_PROB__COUNT ? types[p].status : 500;
}

const char *hg_problem_title(enum hg_problem p)
{
    return (unsigned)p < HG_PROB__COUNT ? types[p].title : "Internal error";
}

void *hg_problem_json(enum hg_problem p, const char *detail, const char *instance,
                      const char *correlation_id, void *ext_)
{
    json_t *ext = ext_;
    char type[128];
    snprintf(type, sizeof type, "%s%s", HG_PROBLEM_BASE, hg_problem_slug(p));
    json_t *o = json_object();
    if (!o) {
        json_decref(ext);
        return NULL;
    }
    json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "title", json_string(hg_problem_title(p)));
    json_object_set_new(o, "status", json_integer(hg_problem_status(p)));
    /* detail may quote client input: json_stringn_nocheck would emit invalid
     * UTF-8, so fall back to a generic sentence if it is not valid text. */
    json_t *d = json_string(detail ? detail : hg_problem_title(p));
    json_object_set_new(o, "detail", d ? d : json_string("(detail not valid UTF-8)"));
    if (instance) {
        json_t *i = json_string(instance);
        if (i)
            json_object_set_new(o, "instance", i);
    }
    if (correlation_id)
        json_object_set_new(o, "correlation_id", json_string(correlation_id));
    if (ext && json_is_object(ext)) {
        const char *k;
        json_t *v;
        json_object_foreach(ext, k, v) {
            if (!json_object_get(o, k)) /* never let an extension hide a standard member */
                json_object_set(o, k, v);
        }
    }
    json_decref(ext);
    return o;
}

void hg_problem_send(struct hg_http_req *r, enum hg_problem p, void *ext,
                     const char *detail_fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, detail_fmt);
    vsnprintf(detail, sizeof detail, detail_fmt, ap);
    va_end(ap);
    json_t *o = hg_problem_json(p, detail, hg_http_req_path(r),
                                hg_http_req_correlation_id(r), ext);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s) {
        static const char fallback[] =
            "{\"type\":\"" HG_PROBLEM_BASE "internal\",\"title\":\"Internal error\","
            "\"status\":500,\"detail\":\"out of memory building an error\"}";
        hg_http_respond(r, 500, "application/problem+json", fallback, sizeof fallback - 1);
        return;
    }
    hg_http_respond(r, hg_problem_status(p), "application/problem+json", s, strlen(s));
    free(s);
}
