/* SPDX-License-Identifier: Apache-2.0
 *
 * admin.c — the admin listener's handlers: liveness, readiness and the
 * Prometheus metrics. Plain HTTP, bound to loopback by default; it exposes
 * no tenant data.
 */
#include <jansson.h>

#include "api/api.h"
#include "common/buf.h"
#include "http/problem.h"
#include "obs/metrics.h"

void hg_admin_healthz(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p)
{
    (void)api;
    (void)p;
    hg_http_respond_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

void hg_admin_readyz(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p)
{
    (void)p;
    if (atomic_load(&api->ready)) {
        hg_http_respond_json(r, 200, json_pack("{s:s}", "status", "ready"));
        return;
    }
    hg_http_resp_header(r, "Retry-After", "1");
    hg_problem_send(r, HG_PROB_UNAVAILABLE, NULL,
                    "haulgated is starting or shutting down; retry shortly");
}

void hg_admin_metrics(struct hg_http_req *r, struct hg_api *api, const struct hg_route_params *p)
{
    (void)p;
    struct hg_buf b;
    hg_buf_init(&b, 16u << 20);
    if (hg_metrics_render(api->metrics, &b) != HG_OK) {
        hg_buf_cleanup(&b);
        hg_problem_send(r, HG_PROB_INTERNAL, NULL, "could not render metrics");
        return;
    }
    hg_http_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "",
                    b.len);
    hg_buf_cleanup(&b);
}
