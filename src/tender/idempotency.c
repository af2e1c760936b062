/* SPDX-License-Identifier: Apache-2.0
 *
 * idempotency.c — the pure rules of Idempotency-Key (draft-ietf-httpapi-
 * idempotency-key-header) and of list cursors. The key parser accepts the
 * draft's form (an RFC 8941 sf-string) and, for clients that cannot quote,
 * a bare token; everything else is refused with a sentence that names both
 * forms. The decision table is one function so the API cannot replay, 409
 * or 422 in an order other than the documented one. No I/O, no clock.
 */
#include "tender/idempotency.h"

#include <string.h>

#include "common/util.h"
#include "crypto/hash.h"
#include "tender/tender_int.h"

static const char WHY_FORM[] =
    "Idempotency-Key must be a quoted string of 1 to 255 printable ASCII characters, such as "
    "\"8e03978e-40d5-43e8-bc93-6894a57f9324\" (with \\\" and \\\\ as the only escapes), or a bare "
    "token of 1 to 255 characters from A-Z a-z 0-9 . _ : -";
static const char WHY_EMPTY[] =
    "Idempotency-Key is empty; send a unique key of 1 to 255 characters, such as "
    "\"8e03978e-40d5-43e8-bc93-6894a57f9324\"";
static const char WHY_LONG[] =
    "Idempotency-Key is longer than 255 characters; send a shorter unique key, such as a UUID";
static const char WHY_PARAMS[] =
    "Idempotency-Key takes no parameters (\";name=value\"); send only the key, as a quoted "
    "string or a bare token";
static const char WHY_MANY[] =
    "send exactly one Idempotency-Key header field with one key; this request has more than one";

static int ws(char c)
{
    return c == ' ' || c == '\t';
}

static int token_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == ':' || c == '-';
}

/* One field value; `why` is set on failure. */
static hg_status parse_one(const char *v, char out[HG_IDEM_KEY_MAX + 1], const char **why)
{
    size_t b = 0, e = strlen(v);
    while (b < e && ws(v[b]))
        b++;
    while (e > b && ws(v[e - 1]))
        e--;
    if (b == e) {
        *why = WHY_EMPTY;
        return HG_EINVAL;
    }
    size_t n = 0, i = b;
    if (v[i] == '"') {
        /* RFC 8941 §4.2.5: sf-string = DQUOTE *chr DQUOTE, chr = unescaped /
         * escaped, unescaped = %x20-21 / %x23-5B / %x5D-7E */
        for (i++;; i++) {
            if (i >= e) {
                *why = WHY_FORM; /* no closing quote */
                return HG_EINVAL;
            }
            unsigned char c = (unsigned char)v[i];
            if (c == '"')
                break;
            if (c == '\\') {
                if (i + 1 >= e || (v[i + 1] != '"' && v[i + 1] != '\\')) {
                    *why = WHY_FORM;
                    return HG_EINVAL;
                }
                c = (unsigned char)v[++i];
            } else if (c < 0x20 || c > 0x7E) {
                *why = WHY_FORM;
                return HG_EINVAL;
            }
            if (n == HG_IDEM_KEY_MAX) {
                *why = WHY_LONG;
                return HG_EINVAL;
            }
            out[n++] = (char)c;
        }
        i++; /* past the closing quote */
        while (i < e && ws(v[i]))
            i++;
        if (i < e) {
            *why = v[i] == ';' ? WHY_PARAMS : v[i] == ',' ? WHY_MANY : WHY_FORM;
            return HG_EINVAL;
        }
    } else {
        for (; i < e && token_char((unsigned char)v[i]); i++) {
            if (n == HG_IDEM_KEY_MAX) {
                *why = WHY_LONG;
                return HG_EINVAL;
            }
            out[n++] = v[i];
        }
        if (i < e) {
            size_t j = i;
            while (j < e && ws(v[j]))
                j++;
            *why = (j < e && v[j] == ';') ? WHY_PARAMS : (j < e && v[j] == ',') ? WHY_MANY
                                                                                   : WHY_FORM;
            return HG_EINVAL;
        }
    }
    if (n == 0) {
        *why = WHY_EMPTY;
        return HG_EINVAL;
    }
    out[n] = '\0';
    return HG_OK;
}

hg_status hg_idem_key_parse(const char *const *values, size_t n, char out[HG_IDEM_KEY_MAX + 1],
                            const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    out[0] = '\0';
    if (n == 0)
        return HG_ENOTFOUND;
    if (n > 1) {
        *why = WHY_MANY;
        return HG_EINVAL;
    }
    if (!values || !values[0]) {
        *why = WHY_EMPTY;
        return HG_EINVAL;
    }
    hg_status rc = parse_one(values[0], out, why);
    if (rc != HG_OK)
        out[0] = '\0';
    return rc;
}

void hg_idem_fingerprint(const char *method, const char *path, const void *body, size_t len,
                         uint8_t out[32])
{
    static const char nul = '\0';
    struct hg_sha256_part parts[5] = {
        {method, strlen(method)}, {&nul, 1}, {path, strlen(path)}, {&nul, 1}, {body, len},
    };
    hg_sha256_parts(parts, len ? 5 : 4, out);
}

/* The table, in the order the rules are tested:
 *   no record, or expires_ms <= now        → proceed
 *   in flight (whatever its fingerprint)   → in flight (409)
 *   completed, same fingerprint            → replay
 *   completed, other fingerprint           → mismatch (422)
 *   neither (a claim abandoned unfinished) → proceed */
enum hg_idem_action hg_idem_decide(const struct hg_idem_seen *seen, const uint8_t fp[32],
                                   int64_t now_ms)
{
    if (!seen || seen->expires_ms <= now_ms)
        return HG_IDEM_PROCEED;
    if (seen->in_flight)
        return HG_IDEM_IN_FLIGHT;
    if (seen->completed)
        return hg_ct_equal(seen->fingerprint, fp, 32) ? HG_IDEM_REPLAY : HG_IDEM_MISMATCH;
    return HG_IDEM_PROCEED;
}

/* ---- cursors: base64url(version | filters hash (8, big-endian) | id (36)) ---- */

#define CURSOR_VERSION 1
#define CURSOR_RAW (1 + 8 + HG_TENDER_ID_LEN)

static const char WHY_CURSOR_FORM[] =
    "cursor is not one this server issued; pass the nextCursor of the previous page unchanged, "
    "or leave cursor out to start from the first page";
static const char WHY_CURSOR_VERSION[] =
    "cursor was issued by another version of the server; leave cursor out to start from the "
    "first page";
static const char WHY_CURSOR_FILTERS[] =
    "cursor was issued for other filters; repeat the filters of the first page exactly, or "
    "leave cursor out to start again";

hg_status hg_cursor_encode(const char *last_id, uint64_t filters_hash,
                           char out[HG_CURSOR_MAX + 1])
{
    unsigned char raw[CURSOR_RAW];
    char id[HG_TENDER_ID_LEN + 1];
    out[0] = '\0';
    if (!last_id || !hg_uuid_norm(last_id, strlen(last_id), id))
        return HG_EINVAL;
    raw[0] = CURSOR_VERSION;
    for (int i = 0; i < 8; i++)
        raw[1 + i] = (unsigned char)(filters_hash >> (56 - 8 * i));
    memcpy(raw + 9, id, HG_TENDER_ID_LEN);
    return hg_b64url_encode(raw, sizeof raw, out, HG_CURSOR_MAX + 1);
}

hg_status hg_cursor_decode(const char *cursor, size_t len, uint64_t filters_hash,
                           char last_id[37], const char **why)
{
    unsigned char raw[CURSOR_RAW + 1];
    size_t n = 0;
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    last_id[0] = '\0';
    if (!cursor || len == 0 || len > HG_CURSOR_MAX ||
        hg_b64url_decode(cursor, len, raw, sizeof raw, &n) != HG_OK || n < 1) {
        *why = WHY_CURSOR_FORM;
        return HG_EINVAL;
    }
    if (raw[0] != CURSOR_VERSION) {
        *why = WHY_CURSOR_VERSION;
        return HG_EINVAL;
    }
    if (n != CURSOR_RAW ||
        !hg_uuid_norm((const char *)raw + 9, HG_TENDER_ID_LEN, NULL)) {
        *why = WHY_CURSOR_FORM;
        return HG_EINVAL;
    }
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | raw[1 + i];
    if (h != filters_hash) {
        *why = WHY_CURSOR_FILTERS;
        return HG_EINVAL;
    }
    hg_uuid_norm((const char *)raw + 9, HG_TENDER_ID_LEN, last_id);
    return HG_OK;
}
