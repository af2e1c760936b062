/* SPDX-License-Identifier: Apache-2.0
 *
 * trace.c — W3C Trace Context (traceparent, tracestate) and correlation ids.
 * Every byte parsed here comes from a client's request headers, so every
 * function takes a length, never reads past it, never allocates, and turns
 * anything odd into a verdict rather than an error path. It must never
 * propagate a tracestate it could not fully parse.
 */
#include "obs/trace.h"

#include <stdbool.h>
#include <string.h>

#include "common/util.h"
#include "crypto/hash.h"

#define TP_TRACE_OFF 3
#define TP_PARENT_OFF 36
#define TP_FLAGS_OFF 53
#define KEY_MAX 256
#define VALUE_MAX 256
#define MEMBERS_MAX 32
#define LONG_ENTRY 128 /* the spec's "remove entries longer than 128 first" */

/* ---- traceparent ---------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10; /* upper case is invalid in trace context */
    return -1;
}

/* n lower-case hex chars at s; *nonzero set if any is not '0'. */
static bool lowhex(const char *s, size_t n, bool *nonzero)
{
    bool nz = false;
    for (size_t i = 0; i < n; i++) {
        if (hexval(s[i]) < 0)
            return false;
        nz |= s[i] != '0';
    }
    if (nonzero)
        *nonzero = nz;
    return true;
}

hg_status hg_traceparent_parse(const char *s, size_t n, struct hg_traceparent *out)
{
    if (!s || !out)
        return HG_EINVAL;
    memset(out, 0, sizeof *out);
    if (n < HG_TRACEPARENT_LEN)
        return HG_EPARSE;
    bool trace_nz = false, parent_nz = false;
    if (!lowhex(s, 2, NULL) || s[2] != '-' ||
        !lowhex(s + TP_TRACE_OFF, 32, &trace_nz) || s[TP_PARENT_OFF - 1] != '-' ||
        !lowhex(s + TP_PARENT_OFF, 16, &parent_nz) || s[TP_FLAGS_OFF - 1] != '-' ||
        !lowhex(s + TP_FLAGS_OFF, 2, NULL))
        return HG_EPARSE;
    int version = hexval(s[0]) << 4 | hexval(s[1]);
    if (version == 0xff || !trace_nz || !parent_nz)
        return HG_EPARSE;
    /* Version 00 is exactly 55 chars. A later version may append fields, but
     * only after a '-' so the flags cannot silently grow. */
    if (n > HG_TRACEPARENT_LEN && (version == 0 || s[HG_TRACEPARENT_LEN] != '-'))
        return HG_EPARSE;
    out->version = (uint8_t)version;
    memcpy(out->trace_id, s + TP_TRACE_OFF, 32);
    out->trace_id[32] = '\0';
    memcpy(out->parent_id, s + TP_PARENT_OFF, 16);
    out->parent_id[16] = '\0';
    out->flags = (uint8_t)(hexval(s[TP_FLAGS_OFF]) << 4 | hexval(s[TP_FLAGS_OFF + 1]));
    return HG_OK;
}

/* Random non-zero id as lower-case hex (an all-zero id is invalid). */
static hg_status random_id(char *hex, size_t nbytes)
{
    unsigned char b[16];
    for (int tries = 0; tries < 4; tries++) {
        hg_status rc = hg_random_ids(b, nbytes);
        if (rc != HG_OK)
            return rc;
        for (size_t i = 0; i < nbytes; i++) {
            if (b[i]) {
                hg_hex(b, nbytes, hex);
                return HG_OK;
            }
        }
    }
    return HG_ECRYPTO; /* four all-zero draws: the DRBG is broken */
}

hg_status hg_traceparent_new(struct hg_traceparent *out)
{
    if (!out)
        return HG_EINVAL;
    memset(out, 0, sizeof *out);
    hg_status rc = random_id(out->trace_id, 16);
    if (rc == HG_OK)
        rc = random_id(out->parent_id, 8);
    if (rc != HG_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->flags = 0x01;
    return HG_OK;
}

hg_status hg_traceparent_child(const struct hg_traceparent *parent, struct hg_traceparent *out)
{
    if (!parent || !out)
        return HG_EINVAL;
    struct hg_traceparent c;
    memset(&c, 0, sizeof c);
    memcpy(c.trace_id, parent->trace_id, sizeof c.trace_id);
    c.trace_id[32] = '\0';
    c.flags = parent->flags & 0x03;
    hg_status rc = random_id(c.parent_id, 8);
    if (rc != HG_OK)
        return rc;
    *out = c;
    return HG_OK;
}

void hg_traceparent_format(const struct hg_traceparent *tp, char out[HG_TRACEPARENT_LEN + 1])
{
    static const char hx[] = "0123456789abcdef";
    char *o = out;
    *o++ = '0';
    *o++ = '0';
    *o++ = '-';
    memcpy(o, tp->trace_id, 32);
    o += 32;
    *o++ = '-';
    memcpy(o, tp->parent_id, 16);
    o += 16;
    *o++ = '-';
    *o++ = hx[tp->flags >> 4];
    *o++ = hx[tp->flags & 15];
    *o = '\0';
}

/* ---- tracestate ----------------------------------------------------------- */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_keychar(char c)
{
    return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/' ||
           c == '@';
}

/* chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E */
static bool is_nblk(char c)
{
    return c >= 0x21 && c <= 0x7e && c != ',' && c != '=';
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_ows(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_ows((*s)[*n - 1]))
        (*n)--;
}

/* One trimmed, non-empty list member. Sets *klen to the key length. */
static bool member_valid(const char *m, size_t n, size_t *klen)
{
    size_t k = 0;
    while (k < n && m[k] != '=')
        k++;
    if (k == 0 || k == n || k > KEY_MAX)
        return false;
    if (!is_lcalpha(m[0]) && !is_digit(m[0]))
        return false;
    for (size_t i = 1; i < k; i++)
        if (!is_keychar(m[i]))
            return false;
    const char *v = m + k + 1;
    size_t vn = n - k - 1;
    if (vn == 0 || vn > VALUE_MAX || !is_nblk(v[vn - 1]))
        return false;
    for (size_t i = 0; i < vn; i++)
        if (v[i] != ' ' && !is_nblk(v[i]))
            return false;
    *klen = k;
    return true;
}

/* Walk the list in s[0..n): calls `fn` for every non-empty member (trimmed);
 * stops with false as soon as a member is malformed or fn says stop. */
typedef bool (*member_fn)(void *ctx, const char *m, size_t n, size_t klen);

static bool each_member(const char *s, size_t n, member_fn fn, void *ctx)
{
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        const char *m = s + i;
        size_t mn = j - i;
        trim(&m, &mn);
        if (mn) {
            size_t klen = 0;
            if (!member_valid(m, mn, &klen) || !fn(ctx, m, mn, klen))
                return false;
        }
        i = j + 1;
    }
    return true;
}

struct strict_ctx {
    const char *key[MEMBERS_MAX];
    size_t klen[MEMBERS_MAX];
    size_t count;
};

static bool strict_member(void *vctx, const char *m, size_t n, size_t klen)
{
    (void)n;
    struct strict_ctx *c = vctx;
    if (c->count == MEMBERS_MAX)
        return false;
    for (size_t i = 0; i < c->count; i++)
        if (c->klen[i] == klen && memcmp(c->key[i], m, klen) == 0)
            return false;
    c->key[c->count] = m;
    c->klen[c->count] = klen;
    c->count++;
    return true;
}

hg_status hg_tracestate_validate(const char *s, size_t n)
{
    if (!s && n)
        return HG_EINVAL;
    if (n > HG_TRACESTATE_MAX)
        return HG_EPARSE;
    struct strict_ctx c = {.count = 0};
    return each_member(s ? s : "", n, strict_member, &c) ? HG_OK : HG_EPARSE;
}

/* ---- from headers --------------------------------------------------------- */

/* Each member is at least "k=v" plus a separating ',' (or a new field, which
 * the combined-length rule also counts as a ','), so this many fit. */
#define INPUT_MEMBERS (HG_TRACESTATE_INPUT_MAX / 4 + 1)
#define DEDUP_SLOTS 4096 /* power of two, > 2 * INPUT_MEMBERS */
_Static_assert(DEDUP_SLOTS > 2 * INPUT_MEMBERS, "dedup table too small");

struct span {
    const char *p;
    uint16_t len;
    uint16_t klen;
    bool keep;
};

struct collect_ctx {
    struct span m[INPUT_MEMBERS];
    size_t count;
    uint16_t slot[DEDUP_SLOTS]; /* index + 1 of a kept member, 0 = empty */
};

static uint32_t key_hash(const char *k, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 16777619u;
    }
    return h ^ (h >> 15);
}

static bool collect_member(void *vctx, const char *m, size_t n, size_t klen)
{
    struct collect_ctx *c = vctx;
    if (c->count == INPUT_MEMBERS)
        return false; /* cannot happen within HG_TRACESTATE_INPUT_MAX */
    /* A repeated key keeps its first entry, as the reference implementation
     * does; the spec allows dropping or passing it on. */
    size_t i = key_hash(m, klen) & (DEDUP_SLOTS - 1);
    while (c->slot[i]) {
        const struct span *o = &c->m[c->slot[i] - 1];
        if (o->klen == klen && memcmp(o->p, m, klen) == 0)
            return true;
        i = (i + 1) & (DEDUP_SLOTS - 1);
    }
    c->m[c->count] = (struct span){m, (uint16_t)n, (uint16_t)klen, true};
    c->slot[i] = (uint16_t)(c->count + 1);
    c->count++;
    return true;
}

static bool name_is(const struct hg_trace_header *h, const char *want)
{
    size_t n = strlen(want);
    if (!h->name || h->name_len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = h->name[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != want[i])
            return false;
    }
    return true;
}

static void tracestate_from_headers(const struct hg_trace_header *h, size_t n,
                                    struct hg_trace_ctx *out)
{
    /* Combined length as RFC 9110 would join the fields: values + commas. */
    size_t total = 0, fields = 0;
    for (size_t i = 0; i < n; i++) {
        if (!name_is(&h[i], "tracestate"))
            continue;
        const char *v = h[i].value ? h[i].value : "";
        size_t vn = h[i].value ? h[i].value_len : 0;
        trim(&v, &vn);
        total += vn + (fields ? 1 : 0);
        fields++;
        if (total > HG_TRACESTATE_INPUT_MAX) {
            out->ts_verdict = HG_TRACESTATE_TOOBIG;
            return;
        }
    }
    if (!fields)
        return;

    /* ~24 KiB: this runs on a worker thread's stack, once per request. */
    struct collect_ctx c;
    c.count = 0;
    memset(c.slot, 0, sizeof c.slot);
    for (size_t i = 0; i < n; i++) {
        if (!name_is(&h[i], "tracestate"))
            continue;
        const char *v = h[i].value ? h[i].value : "";
        size_t vn = h[i].value ? h[i].value_len : 0;
        trim(&v, &vn);
        if (!each_member(v, vn, collect_member, &c)) {
            out->ts_verdict = HG_TRACESTATE_INVALID;
            return;
        }
    }
    if (c.count == 0)
        return; /* only empty members: accepted, nothing to propagate */

    /* Fit the propagation limits by removing whole entries. */
    size_t kept = c.count, len = 0;
    for (size_t i = 0; i < c.count; i++)
        len += c.m[i].len + (i ? 1 : 0);
    for (size_t i = c.count; i-- > 0 && (kept > MEMBERS_MAX || len > HG_TRACESTATE_MAX);) {
        if (c.m[i].len > LONG_ENTRY) {
            c.m[i].keep = false;
            kept--;
            len -= c.m[i].len + (kept ? 1 : 0);
        }
    }
    for (size_t i = c.count; i-- > 0 && (kept > MEMBERS_MAX || len > HG_TRACESTATE_MAX);) {
        if (c.m[i].keep) {
            c.m[i].keep = false;
            kept--;
            len -= c.m[i].len + (kept ? 1 : 0);
        }
    }
    out->ts_truncated = kept < c.count;

    char *o = out->tracestate;
    for (size_t i = 0; i < c.count; i++) {
        if (!c.m[i].keep)
            continue;
        if (o != out->tracestate)
            *o++ = ',';
        memcpy(o, c.m[i].p, c.m[i].len);
        o += c.m[i].len;
    }
    *o = '\0';
    out->tracestate_len = (size_t)(o - out->tracestate);
    out->ts_verdict = out->tracestate_len ? HG_TRACESTATE_VALID : HG_TRACESTATE_ABSENT;
}

void hg_trace_from_headers(const struct hg_trace_header *h, size_t n, struct hg_trace_ctx *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    out->tp_verdict = HG_TRACEPARENT_ABSENT;
    out->ts_verdict = HG_TRACESTATE_ABSENT;
    if (!h)
        n = 0;

    const struct hg_trace_header *tp = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!name_is(&h[i], "traceparent"))
            continue;
        if (tp) {
            /* two traceparents cannot both be the parent: restart */
            out->tp_verdict = HG_TRACEPARENT_INVALID;
            return;
        }
        tp = &h[i];
    }
    if (!tp)
        return;
    const char *v = tp->value ? tp->value : "";
    size_t vn = tp->value ? tp->value_len : 0;
    trim(&v, &vn);
    if (hg_traceparent_parse(v, vn, &out->tp) != HG_OK) {
        memset(&out->tp, 0, sizeof out->tp);
        out->tp_verdict = HG_TRACEPARENT_INVALID;
        return; /* spec: tracestate MUST NOT be parsed then */
    }
    out->tp_verdict = HG_TRACEPARENT_VALID;
    tracestate_from_headers(h, n, out);
}

/* ---- correlation id --------------------------------------------------------- */

int hg_correlation_id_valid(const char *s, size_t n)
{
    if (!s || n == 0 || n > HG_CORRELATION_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

hg_status hg_correlation_id_accept(const char *s, size_t n,
                                   char out[HG_CORRELATION_ID_MAX + 1], int *generated)
{
    if (!out)
        return HG_EINVAL;
    if (generated)
        *generated = 0;
    if (s && hg_correlation_id_valid(s, n)) {
        memcpy(out, s, n);
        out[n] = '\0';
        return HG_OK;
    }
    if (generated)
        *generated = 1;
    _Static_assert(HG_UUID_STRLEN <= HG_CORRELATION_ID_MAX, "uuid must fit");
    hg_status rc = hg_uuid7(out);
    if (rc != HG_OK)
        out[0] = '\0';
    return rc;
}
