/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_proof.c — Merkle proof documents to and from JSON (jansson). The
 * parser checks every field's type and range before anything is used.
 */
#include "audit/audit_proof.h"

#include <jansson.h>
#include <string.h>

#include "common/util.h"

static json_t *b64(const uint8_t h[HG_MERKLE_HASH])
{
    char s[48];
    if (hg_b64std_encode(h, HG_MERKLE_HASH, s, sizeof s) != HG_OK)
        return NULL;
    return json_string(s);
}

static int dump_cb(const char *p, size_t n, void *data)
{
    return hg_buf_append(data, p, n) == HG_OK ? 0 : -1;
}

hg_status hg_audit_proof_to_json(const struct hg_audit_proof_doc *d, const char *checkpoint,
                                 struct hg_buf *out)
{
    json_t *o = json_object();
    json_t *arr = json_array();
    hg_status st = HG_ENOMEM;
    if (!o || !arr)
        goto out;
    for (size_t i = 0; i < d->proof.count; i++)
        if (json_array_append_new(arr, b64(d->proof.hashes[i])) != 0)
            goto out;
    int bad = 0;
    if (d->type == HG_AUDIT_PROOF_INCLUSION) {
        bad |= json_object_set_new(o, "type", json_string("inclusion"));
        bad |= json_object_set_new(o, "log_index", json_integer((json_int_t)d->a));
        bad |= json_object_set_new(o, "tree_size", json_integer((json_int_t)d->b));
        bad |= json_object_set_new(o, "leaf_hash", b64(d->leaf_hash));
        bad |= json_object_set_new(o, "root", b64(d->to_root));
    } else {
        bad |= json_object_set_new(o, "type", json_string("consistency"));
        bad |= json_object_set_new(o, "from_size", json_integer((json_int_t)d->a));
        bad |= json_object_set_new(o, "to_size", json_integer((json_int_t)d->b));
        bad |= json_object_set_new(o, "from_root", b64(d->from_root));
        bad |= json_object_set_new(o, "to_root", b64(d->to_root));
    }
    bad |= json_object_set(o, "hashes", arr);
    if (checkpoint)
        bad |= json_object_set_new(o, "checkpoint", json_string(checkpoint));
    if (bad)
        goto out;
    if (json_dump_callback(o, dump_cb, out, JSON_SORT_KEYS | JSON_COMPACT) != 0) {
        st = HG_ETOOBIG;
        goto out;
    }
    st = hg_buf_append(out, "\n", 1);
out:
    json_decref(arr);
    json_decref(o);
    return st;
}

static hg_status get_size(json_t *o, const char *key, uint64_t *out, struct hg_err *err)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return hg_err_set(err, HG_EPARSE, "proof field '%s' must be a non-negative integer",
                          key);
    *out = (uint64_t)json_integer_value(v);
    return HG_OK;
}

static hg_status get_hash(json_t *v, const char *what, uint8_t out[HG_MERKLE_HASH],
                          struct hg_err *err)
{
    const char *s = json_string_value(v);
    size_t n = 0;
    if (!s || hg_b64std_decode(s, json_string_length(v), out, HG_MERKLE_HASH, &n) != HG_OK ||
        n != HG_MERKLE_HASH)
        return hg_err_set(err, HG_EPARSE, "proof field '%s' must be base64 of 32 bytes", what);
    return HG_OK;
}

hg_status hg_audit_proof_from_json(const char *p, size_t n, struct hg_audit_proof_doc *out,
                                   struct hg_err *err)
{
    memset(out, 0, sizeof *out);
    if (n > HG_AUDIT_PROOF_JSON_MAX)
        return hg_err_set(err, HG_ETOOBIG, "proof is %zu bytes; the limit is %d", n,
                          HG_AUDIT_PROOF_JSON_MAX);
    json_error_t jerr;
    json_t *o = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!o)
        return hg_err_set(err, HG_EPARSE, "proof is not JSON: %s (line %d)", jerr.text,
                          jerr.line);
    hg_status st = HG_EPARSE;
    const char *type = json_string_value(json_object_get(o, "type"));
    if (!json_is_object(o) || !type) {
        hg_err_set(err, HG_EPARSE, "proof must be an object with a \"type\"");
        goto out;
    }
    if (!strcmp(type, "inclusion")) {
        out->type = HG_AUDIT_PROOF_INCLUSION;
        if ((st = get_size(o, "log_index", &out->a, err)) != HG_OK ||
            (st = get_size(o, "tree_size", &out->b, err)) != HG_OK ||
            (st = get_hash(json_object_get(o, "leaf_hash"), "leaf_hash", out->leaf_hash, err)) != HG_OK)
            goto out;
        if (out->a >= out->b) {
            st = hg_err_set(err, HG_EPARSE, "proof log_index %llu is not below tree_size %llu",
                            (unsigned long long)out->a, (unsigned long long)out->b);
            goto out;
        }
    } else if (!strcmp(type, "consistency")) {
        out->type = HG_AUDIT_PROOF_CONSISTENCY;
        if ((st = get_size(o, "from_size", &out->a, err)) != HG_OK ||
            (st = get_size(o, "to_size", &out->b, err)) != HG_OK ||
            (st = get_hash(json_object_get(o, "from_root"), "from_root", out->from_root, err)) != HG_OK ||
            (st = get_hash(json_object_get(o, "to_root"), "to_root", out->to_root, err)) != HG_OK)
            goto out;
        if (out->a > out->b) {
            st = hg_err_set(err, HG_EPARSE, "proof from_size %llu exceeds to_size %llu",
                            (unsigned long long)out->a, (unsigned long long)out->b);
            goto out;
        }
    } else {
        st = hg_err_set(err, HG_EPARSE, "proof type '%s' is not inclusion or consistency", type);
        goto out;
    }
    json_t *arr = json_object_get(o, "hashes");
    if (!json_is_array(arr) || json_array_size(arr) > HG_MERKLE_MAX_PROOF) {
        st = hg_err_set(err, HG_EPARSE, "proof field 'hashes' must be an array of at most %d",
                        HG_MERKLE_MAX_PROOF);
        goto out;
    }
    size_t i;
    json_t *h;
    json_array_foreach(arr, i, h) {
        if ((st = get_hash(h, "hashes[]", out->proof.hashes[i], err)) != HG_OK)
            goto out;
    }
    out->proof.count = json_array_size(arr);
    st = HG_OK;
out:
    json_decref(o);
    return st;
}
