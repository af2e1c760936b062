/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_record.c — the event-type table and the canonical record encoder.
 * The fixed fields are written by hand in sorted key order (no per-field
 * allocation on the append path); only the free-form `details` object goes
 * through jansson. The string escaper reproduces jansson's byte output, and
 * hg_audit_record_check proves the two agree by re-serialising with jansson.
 */
#include "audit/audit_record.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"

static const struct hg_audit_event_type types[] = {
    {"authn.failure", {NULL}, 1, "a client failed to authenticate (TLS, token, DPoP)"},
    {"authn.success", {NULL}, 1, "a client authenticated"},
    {"token.issued", {"client_id", NULL}, 1, "an access token was issued"},
    {"token.revoked", {"jti", NULL}, 1, "an access token was revoked"},
    {"key.rotated", {"kid", NULL}, 1, "a token signing key was rotated in"},
    {"authz.decision", {"action", "resource", NULL}, 1, "a policy decision on a request"},
    {"tender.created", {"tender_id", NULL}, 1, "a tender was created"},
    {"tender.transitioned", {"tender_id", "from", "to", NULL}, 1,
     "a tender moved along the state machine"},
    {"tender.cancelled", {"tender_id", NULL}, 1, "a tender was cancelled"},
    {"capacity.published", {"capacity_id", NULL}, 1, "a capacity offer was published"},
    {"capacity.withdrawn", {"capacity_id", NULL}, 1, "a capacity offer was withdrawn"},
    {"operator.override", {"target", "action", NULL}, 1,
     "an operator overrode an automatic decision"},
    {"telemetry.transform", {"vehicle_id", "processor", NULL}, 1,
     "a privacy processor changed or dropped telemetry"},
    {"device.key.registered", {"device_id", "key_id", NULL}, 1, "a vehicle key was registered"},
    {"device.key.rotated", {"device_id", "key_id", NULL}, 1, "a vehicle key was rotated"},
    {"device.key.revoked", {"device_id", "key_id", NULL}, 1, "a vehicle key was revoked"},
    {"cert.revoked", {"serial", NULL}, 1, "a certificate was revoked"},
    {"cert.issued", {"serial", NULL}, 1, "a certificate was issued"},
    {"policy.reloaded", {"policy_version", NULL}, 1, "the policy set was reloaded"},
    {"config.reloaded", {NULL}, 1, "configuration was reloaded"},
    {"dlq.enqueued", {"message_id", NULL}, 1, "a message was dead-lettered"},
    {"dlq.replayed", {"message_id", NULL}, 1, "a dead-lettered message was replayed"},
    {"dlq.discarded", {"message_id", NULL}, 1, "a dead-lettered message was discarded"},
    {"audit.checkpoint", {"tree_size", "root_hash", NULL}, 0,
     "a signed checkpoint of this log (published as an event, not a leaf)"},
};

const struct hg_audit_event_type *hg_audit_event_type_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(types[i].name, name))
            return &types[i];
    return NULL;
}

const struct hg_audit_event_type *hg_audit_event_types(size_t *count)
{
    *count = sizeof types / sizeof types[0];
    return types;
}

static const char *const decisions[] = {"allow", "deny", "none"};

static int decision_ok(const char *d)
{
    for (size_t i = 0; d && i < sizeof decisions / sizeof decisions[0]; i++)
        if (!strcmp(d, decisions[i]))
            return 1;
    return 0;
}

int hg_audit_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

/* JSON string exactly as jansson's dump_string writes it without
 * JSON_ENSURE_ASCII / JSON_ESCAPE_SLASH: the two mandatory escapes, the
 * short forms for \b \f \n \r \t, \u00XX (upper-case hex) for the other
 * control characters, everything else (including U+007F and non-ASCII) raw. */
static hg_status put_str(struct hg_buf *b, const char *field, const char *s,
                         struct hg_err *err)
{
    size_t n = strlen(s);
    if (!hg_audit_utf8_valid(s, n))
        return hg_err_set(err, HG_EINVAL, "audit record field '%s' is not valid UTF-8", field);
    hg_status st = hg_buf_append(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; st == HG_OK && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char seq[8];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20) {
            snprintf(seq, sizeof seq, "\\u%04X", (unsigned)c);
            esc = seq;
        }
        if (!esc)
            continue;
        if (i > run)
            st = hg_buf_append(b, s + run, i - run);
        if (st == HG_OK)
            st = hg_buf_puts(b, esc);
        run = i + 1;
    }
    if (st == HG_OK && n > run)
        st = hg_buf_append(b, s + run, n - run);
    if (st == HG_OK)
        st = hg_buf_append(b, "\"", 1);
    if (st != HG_OK)
        return hg_err_set(err, st, "audit record exceeds %d bytes at field '%s'",
                          HG_AUDIT_RECORD_MAX, field);
    return HG_OK;
}

static hg_status put_key(struct hg_buf *b, const char *key, int first)
{
    hg_status st = first ? HG_OK : hg_buf_append(b, ",", 1);
    if (st == HG_OK)
        st = hg_buf_append(b, "\"", 1);
    if (st == HG_OK)
        st = hg_buf_puts(b, key);
    if (st == HG_OK)
        st = hg_buf_append(b, "\":", 2);
    return st;
}

static hg_status put_str_or_null(struct hg_buf *b, const char *field, const char *s,
                                 struct hg_err *err)
{
    if (!s) {
        hg_status st = hg_buf_append(b, "null", 4);
        return st == HG_OK ? HG_OK
                           : hg_err_set(err, st, "audit record exceeds %d bytes",
                                        HG_AUDIT_RECORD_MAX);
    }
    return put_str(b, field, s, err);
}

/* No reals anywhere, bounded depth: floats have no stable byte form. */
static hg_status check_json_value(const json_t *v, int depth, struct hg_err *err)
{
    if (depth > 16)
        return hg_err_set(err, HG_EINVAL, "audit record details nest deeper than 16 levels");
    if (json_is_real(v))
        return hg_err_set(err, HG_EINVAL,
                          "audit record details contain a floating-point number; "
                          "use an integer or a decimal string");
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            hg_status st = check_json_value(x, depth + 1, err);
            if (st != HG_OK)
                return st;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            hg_status st = check_json_value(x, depth + 1, err);
            if (st != HG_OK)
                return st;
        }
    }
    return HG_OK;
}

static int dump_cb(const char *p, size_t n, void *data)
{
    return hg_buf_append(data, p, n) == HG_OK ? 0 : -1;
}

#define TRY(expr)                                                                         \
    do {                                                                                  \
        st = (expr);                                                                      \
        if (st != HG_OK) {                                                                \
            if (err && err->status != st)                                                 \
                hg_err_set(err, st, "audit record exceeds %d bytes", HG_AUDIT_RECORD_MAX); \
            goto out;                                                                     \
        }                                                                                 \
    } while (0)

hg_status hg_audit_record_encode(const struct hg_audit_record *r, struct hg_buf *out,
                                 struct hg_err *err)
{
    const struct hg_audit_event_type *t = hg_audit_event_type_find(r->event_type);
    if (!t)
        return hg_err_set(err, HG_EINVAL,
                          "unknown audit event type '%s'; add it to the table in "
                          "src/audit/audit_record.c",
                          r->event_type ? r->event_type : "(null)");
    if (!r->service || !*r->service)
        return hg_err_set(err, HG_EINVAL, "audit record (%s) has no service", t->name);
    if (!r->request_id || !*r->request_id)
        return hg_err_set(err, HG_EINVAL, "audit record (%s) has no request_id", t->name);
    if (!decision_ok(r->decision))
        return hg_err_set(err, HG_EINVAL,
                          "audit record (%s) decision '%s' is not one of allow, deny, none",
                          t->name, r->decision ? r->decision : "(null)");
    if (r->details && !json_is_object(r->details))
        return hg_err_set(err, HG_EINVAL, "audit record (%s) details must be a JSON object",
                          t->name);
    for (size_t i = 0; i < 4 && t->required[i]; i++)
        if (!r->details || !json_object_get(r->details, t->required[i]))
            return hg_err_set(err, HG_EINVAL, "audit record (%s) is missing details.%s",
                              t->name, t->required[i]);
    if (r->identity.nroles && !r->identity.roles)
        return hg_err_set(err, HG_EINVAL, "audit record (%s) has nroles but no roles", t->name);
    if (r->details) {
        hg_status st = check_json_value(r->details, 0, err);
        if (st != HG_OK)
            return st;
    }

    if (err)
        hg_err_clear(err);
    size_t mark = out->len;
    hg_status st = HG_OK;
    char ts[HG_RFC3339_LEN + 1];
    hg_rfc3339(r->timestamp_ms ? r->timestamp_ms : hg_wall_ms(), ts);

    /* Keys in byte order: decision, details, event_type, identity
     * {cert_thumbprint, roles, subject}, policy_id, reason, request_id,
     * service, timestamp, v. */
    TRY(hg_buf_append(out, "{", 1));
    TRY(put_key(out, "decision", 1));
    TRY(put_str(out, "decision", r->decision, err));
    TRY(put_key(out, "details", 0));
    if (r->details) {
        if (json_dump_callback(r->details, dump_cb, out, JSON_SORT_KEYS | JSON_COMPACT) != 0) {
            st = hg_err_set(err, HG_ETOOBIG, "audit record details exceed %d bytes",
                            HG_AUDIT_RECORD_MAX);
            goto out;
        }
    } else {
        TRY(hg_buf_append(out, "{}", 2));
    }
    TRY(put_key(out, "event_type", 0));
    TRY(put_str(out, "event_type", t->name, err));
    TRY(put_key(out, "identity", 0));
    TRY(hg_buf_append(out, "{", 1));
    TRY(put_key(out, "cert_thumbprint", 1));
    TRY(put_str_or_null(out, "identity.cert_thumbprint", r->identity.cert_thumbprint, err));
    TRY(put_key(out, "roles", 0));
    TRY(hg_buf_append(out, "[", 1));
    for (size_t i = 0; i < r->identity.nroles; i++) {
        if (i)
            TRY(hg_buf_append(out, ",", 1));
        if (!r->identity.roles[i]) {
            st = hg_err_set(err, HG_EINVAL, "audit record (%s) role %zu is NULL", t->name, i);
            goto out;
        }
        TRY(put_str(out, "identity.roles", r->identity.roles[i], err));
    }
    TRY(hg_buf_append(out, "]", 1));
    TRY(put_key(out, "subject", 0));
    TRY(put_str_or_null(out, "identity.subject", r->identity.subject, err));
    TRY(hg_buf_append(out, "}", 1));
    TRY(put_key(out, "policy_id", 0));
    TRY(put_str_or_null(out, "policy_id", r->policy_id, err));
    TRY(put_key(out, "reason", 0));
    TRY(put_str(out, "reason", r->reason ? r->reason : "", err));
    TRY(put_key(out, "request_id", 0));
    TRY(put_str(out, "request_id", r->request_id, err));
    TRY(put_key(out, "service", 0));
    TRY(put_str(out, "service", r->service, err));
    TRY(put_key(out, "timestamp", 0));
    TRY(put_str(out, "timestamp", ts, err));
    TRY(put_key(out, "v", 0));
    TRY(hg_buf_append(out, "1}", 2));
    if (out->len - mark > HG_AUDIT_RECORD_MAX) {
        st = hg_err_set(err, HG_ETOOBIG, "audit record is %zu bytes; the limit is %d",
                        out->len - mark, HG_AUDIT_RECORD_MAX);
        goto out;
    }
out:
    if (st != HG_OK) {
        out->len = mark;
        if (out->data)
            out->data[mark] = '\0';
    }
    return st;
}

static int is_str_or_null(const json_t *v)
{
    return v && (json_is_string(v) || json_is_null(v));
}

hg_status hg_audit_record_check(const char *p, size_t n, struct hg_err *err)
{
    return hg_audit_record_check_type(p, n, NULL, err);
}

hg_status hg_audit_record_check_type(const char *p, size_t n,
                                     const struct hg_audit_event_type **type_out,
                                     struct hg_err *err)
{
    if (n > HG_AUDIT_RECORD_MAX)
        return hg_err_set(err, HG_ETOOBIG, "record is %zu bytes; the limit is %d", n,
                          HG_AUDIT_RECORD_MAX);
    json_error_t jerr;
    json_t *root = json_loadb(p, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return hg_err_set(err, HG_EPARSE, "record is not JSON: %s at byte %d", jerr.text,
                          jerr.position);
    hg_status st = HG_EINVAL;
    char *again = NULL;
    const char *missing = NULL;
    json_t *id = json_object_get(root, "identity");
    json_t *roles = json_object_get(id, "roles");
    json_t *v = json_object_get(root, "v");
    if (!json_is_object(root))
        missing = "an object at the top level";
    else if (!json_is_integer(v) || json_integer_value(v) != HG_AUDIT_RECORD_VERSION)
        missing = "v = 1";
    else if (!json_is_string(json_object_get(root, "timestamp")))
        missing = "timestamp (string)";
    else if (!json_is_string(json_object_get(root, "service")))
        missing = "service (string)";
    else if (!json_is_string(json_object_get(root, "event_type")))
        missing = "event_type (string)";
    else if (!json_is_string(json_object_get(root, "request_id")))
        missing = "request_id (string)";
    else if (!json_is_object(id) || !json_is_array(roles) ||
             !is_str_or_null(json_object_get(id, "subject")) ||
             !is_str_or_null(json_object_get(id, "cert_thumbprint")) || json_object_size(id) != 3)
        missing = "identity {subject, roles[], cert_thumbprint}";
    else if (!is_str_or_null(json_object_get(root, "policy_id")))
        missing = "policy_id (string or null)";
    else if (!json_is_string(json_object_get(root, "decision")) ||
             !decision_ok(json_string_value(json_object_get(root, "decision"))))
        missing = "decision (allow, deny or none)";
    else if (!json_is_string(json_object_get(root, "reason")))
        missing = "reason (string)";
    else if (!json_is_object(json_object_get(root, "details")))
        missing = "details (object)";
    else if (json_object_size(root) != 10)
        missing = "exactly the ten record fields";
    if (missing) {
        hg_err_set(err, HG_EINVAL, "record lacks %s", missing);
        goto out;
    }
    size_t i;
    json_t *role;
    json_array_foreach(roles, i, role) {
        if (!json_is_string(role)) {
            hg_err_set(err, HG_EINVAL, "record identity.roles[%zu] is not a string", i);
            goto out;
        }
    }
    const char *type = json_string_value(json_object_get(root, "event_type"));
    const struct hg_audit_event_type *t = hg_audit_event_type_find(type);
    if (!t) {
        hg_err_set(err, HG_EINVAL, "record has unknown event_type '%s'", type);
        goto out;
    }
    json_t *details = json_object_get(root, "details");
    for (size_t k = 0; k < 4 && t->required[k]; k++)
        if (!json_object_get(details, t->required[k])) {
            hg_err_set(err, HG_EINVAL, "record (%s) is missing details.%s", type,
                       t->required[k]);
            goto out;
        }
    if (check_json_value(root, -1, err) != HG_OK)
        goto out;
    again = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
    if (!again || strlen(again) != n || memcmp(again, p, n) != 0) {
        st = hg_err_set(err, HG_EPARSE,
                        "record is valid JSON but not in canonical form (sorted keys, "
                        "compact, jansson escaping)");
        goto out;
    }
    if (type_out)
        *type_out = t;
    st = HG_OK;
out:
    free(again);
    json_decref(root);
    return st;
}
