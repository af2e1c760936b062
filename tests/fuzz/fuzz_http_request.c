/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_http_request.c — the server's request assembly: http-parser callbacks
 * filling the bounded header arena, the URL split, header lookups and the
 * route table, over arbitrary bytes fed in arbitrary chunk sizes (the first
 * input byte picks the chunk size, as reads would split them). Includes
 * server.c to reach its statics; no sockets, no event loop.
 */
#include "../../src/http/server.c"

#include "api/api.h"

static void check_request(struct hg_http_req *r)
{
    /* every accessor must give NUL-terminated text inside the arena */
    const char *n, *v;
    for (size_t i = 0; hg_http_req_header_at(r, i, &n, &v); i++)
        (void)(strlen(n) + strlen(v));
    (void)hg_http_req_header(r, "Content-Type");
    (void)hg_http_req_header_count(r, "traceparent");
    size_t blen;
    const char *b = hg_http_req_body(r, &blen);
    if (blen > r->body.max)
        abort();
    (void)b;
    if (!r->has_early) {
        struct hg_route_params p;
        int known;
        char allow[128];
        hg_route_find(hg_api_routes, hg_api_routes_count, r->method, r->path, &p, &known,
                      allow, sizeof allow);
        req_prepare(r);
        if (strlen(r->corr) == 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pthread_once(&settings_once, settings_init);
    if (size < 1)
        return 0;
    size_t chunk = (size_t)(data[0] % 64) + 1;
    data++;
    size--;
    struct hg_http_server srv;
    memset(&srv, 0, sizeof srv);
    srv.o.max_header_bytes = 2048;
    srv.o.max_body_bytes = 4096;
    srv.o.max_headers = 32;
    srv.name = "fuzz";
    struct worker w;
    memset(&w, 0, sizeof w);
    w.s = &srv;
    w.base = event_base_new();
    struct conn c;
    memset(&c, 0, sizeof c);
    c.w = &w;
    c.timer = evtimer_new(w.base, conn_timeout, &c);
    http_parser_init(&c.parser, HTTP_REQUEST);
    c.parser.data = &c;
    size_t off = 0;
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        size_t used = http_parser_execute(&c.parser, &settings, (const char *)data + off, n);
        enum http_errno e = HTTP_PARSER_ERRNO(&c.parser);
        if (used > n)
            abort();
        off += used;
        if (c.msg_done) {
            check_request(c.req);
            int early = c.req->has_early;
            req_free(c.req);
            c.req = NULL;
            c.msg_done = 0;
            http_parser_pause(&c.parser, 0);
            if (early)
                break; /* the server closes after a framing error */
            continue;
        }
        if (e != HPE_OK)
            break;
        if (used < n)
            break;
    }
    req_free(c.req);
    event_free(c.timer);
    event_base_free(w.base);
    return 0;
}
