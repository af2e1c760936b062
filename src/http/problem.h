/* SPDX-License-Identifier: Apache-2.0
 *
 * problem.h — RFC 9457 problem documents. Every error haulgate answers is
 * one of the types in HG_PROBLEM_TABLE: a stable slug (the `type` URI is
 * HG_PROBLEM_BASE + slug, documented in docs/problems.md), its HTTP status and
 * title. Codes are only ever appended. Bodies carry type, title, status,
 * detail, instance (the request path) and correlation_id, plus optional
 * extension members.
 */
#ifndef HG_HTTP_PROBLEM_H
#define HG_HTTP_PROBLEM_H

#include "common/status.h"

#define HG_PROBLEM_BASE "https://haulgate.dev/problems/"

#define HG_PROBLEM_TABLE(X)                                                                  \
    X(HG_PROB_BAD_REQUEST, "bad-request", 400, "Malformed request")                          \
    X(HG_PROB_UNKNOWN_CLIENT, "unknown-client", 403, "Client certificate is not mapped to a principal") \
    X(HG_PROB_NOT_FOUND, "not-found", 404, "No such resource")                               \
    X(HG_PROB_METHOD_NOT_ALLOWED, "method-not-allowed", 405, "Method not allowed")           \
    X(HG_PROB_REQUEST_TIMEOUT, "request-timeout", 408, "Request was not received in time")   \
    X(HG_PROB_BODY_TOO_LARGE, "body-too-large", 413, "Request body too large")               \
    X(HG_PROB_HEADERS_TOO_LARGE, "headers-too-large", 431, "Request header fields too large") \
    X(HG_PROB_INTERNAL, "internal", 500, "Internal error")                                   \
    X(HG_PROB_UNAVAILABLE, "unavailable", 503, "Service unavailable")                        \
    X(HG_PROB_UNSUPPORTED_MEDIA, "unsupported-media-type", 415, "Unsupported media type")    \
    X(HG_PROB_NOT_ACCEPTABLE, "not-acceptable", 406, "Not acceptable")                      \
    X(HG_PROB_FORBIDDEN, "forbidden", 403, "Not allowed")                                    \
    X(HG_PROB_INVALID_PARAMETER, "invalid-parameter", 400, "Invalid query parameter")      \
    X(HG_PROB_INVALID_BODY, "invalid-body", 400, "Invalid request body")                     \
    X(HG_PROB_IDEMPOTENCY_KEY_MISSING, "idempotency-key-missing", 400,                       \
      "Idempotency-Key header required")                                                     \
    X(HG_PROB_IDEMPOTENCY_KEY_INVALID, "idempotency-key-invalid", 400,                       \
      "Invalid Idempotency-Key header")                                                      \
    X(HG_PROB_IDEMPOTENCY_KEY_REUSED, "idempotency-key-reused", 422,                         \
      "Idempotency-Key reused with a different request")                                     \
    X(HG_PROB_IDEMPOTENCY_KEY_IN_FLIGHT, "idempotency-key-in-flight", 409,                   \
      "A request with this Idempotency-Key is still being processed")                        \
    X(HG_PROB_INVALID_TRANSITION, "invalid-transition", 409, "Transition not allowed")       \
    X(HG_PROB_PRECONDITION_REQUIRED, "precondition-required", 428, "If-Match required")      \
    X(HG_PROB_PRECONDITION_FAILED, "precondition-failed", 412, "Resource has changed")       \
    X(HG_PROB_BUSINESS_RULE, "business-rule", 422, "Request breaks a business rule")         \
    X(HG_PROB_RATE_LIMITED, "rate-limited", 429, "Too many requests")                        \
    X(HG_PROB_OVERLOADED, "overloaded", 503, "Write queue full")                             \
    X(HG_PROB_UNAUTHORIZED, "unauthorized", 401, "Access token missing or invalid")         \
    X(HG_PROB_DPOP_INVALID, "invalid-dpop-proof", 401, "DPoP proof missing or invalid")     \
    X(HG_PROB_DPOP_NONCE, "use-dpop-nonce", 401, "DPoP proof needs the server's nonce")     \
    X(HG_PROB_INSUFFICIENT_SCOPE, "insufficient-scope", 403, "Token lacks the scope")        \
    X(HG_PROB_POLICY_DENIED, "policy-denied", 403, "Denied by policy")

enum hg_problem {
#define HG_X_PROB(id, slug, status, title) id,
    HG_PROBLEM_TABLE(HG_X_PROB)
#undef HG_X_PROB
    HG_PROB__COUNT
};

struct hg_http_req;

const char *hg_problem_slug(enum hg_problem p);
int hg_problem_status(enum hg_problem p);
const char *hg_problem_title(enum hg_problem p);

/* Build the JSON body (json_t* as void*; caller owns). `ext` (json_t* object
 * or NULL) contributes extension members; its reference is stolen. */
void *hg_problem_json(enum hg_problem p, const char *detail, const char *instance,
                      const char *correlation_id, void *ext);

/* Answer `r` with the problem, detail formatted printf-style. */
void hg_problem_send(struct hg_http_req *r, enum hg_problem p, void *ext,
                     const char *detail_fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
