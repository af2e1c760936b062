/* SPDX-License-Identifier: Apache-2.0
 *
 * params.h — request parameters as the API reads them: strict query strings
 * (only the names a route takes, each at most once, percent-decoded, values
 * bounded, integers through hg_parse_i64) and content negotiation over the
 * Accept header (RFC 9110 §12.5.1). Both parsers take a length, never read
 * past it, never allocate, and refuse input over a fixed bound: a query
 * string is client input that ends up in error messages, so whatever is
 * quoted back is escaped to printable ASCII first.
 */
#ifndef HG_API_PARAMS_H
#define HG_API_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define HG_QUERY_MAX 2048        /* bytes of query string parsed; longer is HG_ETOOBIG */
#define HG_QUERY_MAX_PARAMS 8    /* names a route may take */
#define HG_QUERY_VALUE_MAX 64    /* decoded bytes of one value */
#define HG_QUERY_NAME_SHOW 64    /* bytes of a parameter name quoted in errors */

struct hg_query {
    size_t n;
    struct {
        const char *name;        /* points into the route's `allowed` list */
        char value[HG_QUERY_VALUE_MAX + 1];
    } p[HG_QUERY_MAX_PARAMS];
    /* After an error: the parameter at fault, escaped to printable ASCII
     * (non-printable bytes as \xHH, cut at HG_QUERY_NAME_SHOW bytes), or ""
     * when the fault is not one parameter's (the whole string too long). */
    char bad[4 * HG_QUERY_NAME_SHOW + 4];
};

/* Parse `n` bytes of a query string (the part after '?') against the
 * NULL-terminated list of names a route accepts (at most
 * HG_QUERY_MAX_PARAMS). Grammar: "" or name=value *( "&" name=value ).
 * Names and values are percent-decoded (%XX; '+' stays a literal '+', so
 * it never silently turns into a space). Refused, HG_EPARSE with a message
 * and q->bad set: an empty piece ("a=1&&b=2", a trailing '&'), a piece
 * without '=', an unknown name, a name given twice, a bad %-escape, a
 * decoded control character or NUL, a value over HG_QUERY_VALUE_MAX bytes.
 * HG_ETOOBIG (q->bad "") past HG_QUERY_MAX bytes; HG_EINVAL for NULL
 * arguments or more than HG_QUERY_MAX_PARAMS allowed names. */
hg_status hg_query_parse(const char *s, size_t n, const char *const *allowed,
                         struct hg_query *q, struct hg_err *err);

/* The decoded value of `name`, or NULL when it was not given. */
const char *hg_query_get(const struct hg_query *q, const char *name);

/* A required non-negative integer parameter (decimal, no sign, no leading
 * '+', at most INT64_MAX). HG_ENOTFOUND when absent, HG_EPARSE when not
 * such an integer; on either, q->bad = name and err says what was expected. */
hg_status hg_query_u64(struct hg_query *q, const char *name, uint64_t *out, struct hg_err *err);

#define HG_ACCEPT_MAX 1024       /* longer Accept values are treated as absent */
#define HG_ACCEPT_MAX_RANGES 32  /* media ranges looked at; the rest are ignored */

/* Pick the representation to send: `offers` are `noffers` lower-case
 * "type/subtype" media types the route can produce, the first being the
 * default. Each offer gets the q-value of the most specific media range of
 * `accept` (n bytes) that matches it (an exact "type/subtype" over a
 * "type/" wildcard over the full wildcard; media-type parameters other
 * than q are ignored for matching), or 0 when none does;
 * the offer with the highest q wins, ties going to the earlier offer.
 * No header (NULL or empty), one over HG_ACCEPT_MAX bytes, or one with no
 * well-formed range means "anything": returns 0. Malformed ranges are
 * skipped. Returns the offer's index, or -1 when every offer has q = 0
 * (answer 406). */
int hg_accept_pick(const char *accept, size_t n, const char *const *offers, size_t noffers);

#endif
