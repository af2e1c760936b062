/* SPDX-License-Identifier: Apache-2.0
 *
 * test_record.c — audit/audit_record: the canonical encoding equals what
 * jansson writes with JSON_SORT_KEYS|JSON_COMPACT (including escapes and
 * non-ASCII), is stable, rejects unknown event types, floats and missing
 * fields; and hg_audit_record_check accepts exactly canonical records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_record.h"

static const char *roles[] = {"dispatcher", "operator"};

static struct hg_audit_record base(json_t *details)
{
    struct hg_audit_record r = {
        .timestamp_ms = 1795280700123,
        .service = "haulgated",
        .event_type = "tender.transitioned",
        .request_id = "0192f0c1-7a3b-7c3d-8e9f-0123456789ab",
        .identity = {.subject = "spiffe://acme/tms", .roles = roles, .nroles = 2,
                     .cert_thumbprint = "ab12"},
        .policy_id = "tender-write",
        .decision = "allow",
        .reason = "ok",
        .details = details,
    };
    return r;
}

static void canonical_bytes(void **state)
{
    (void)state;
    json_t *d = json_pack("{s:s, s:s, s:s, s:I, s:[i,b,n]}", "tender_id", "t-1", "to",
                          "accepted", "from", "offered", "attempt", (json_int_t)3, "z", 1, 1);
    struct hg_audit_record r = base(d);
    struct hg_buf b;
    struct hg_err err;
    hg_buf_init(&b, HG_AUDIT_RECORD_MAX);
    assert_int_equal(hg_audit_record_encode(&r, &b, &err), HG_OK);
    const char want[] =
        "{\"decision\":\"allow\",\"details\":{\"attempt\":3,\"from\":\"offered\",\"tender_id\":"
        "\"t-1\",\"to\":\"accepted\",\"z\":[1,true,null]},\"event_type\":\"tender.transitioned\","
        "\"identity\":{\"cert_thumbprint\":\"ab12\",\"roles\":[\"dispatcher\",\"operator\"],"
        "\"subject\":\"spiffe://acme/tms\"},\"policy_id\":\"tender-write\",\"reason\":\"ok\","
        "\"request_id\":\"0192f0c1-7a3b-7c3d-8e9f-0123456789ab\",\"service\":\"haulgated\","
        "\"timestamp\":\"2026-11-21T17:05:00.123Z\",\"v\":1}";
    assert_string_equal(b.data, want);
    assert_int_equal(hg_audit_record_check(b.data, b.len, &err), HG_OK);
    /* Stable: the same input always gives the same bytes. */
    struct hg_buf b2;
    hg_buf_init(&b2, HG_AUDIT_RECORD_MAX);
    assert_int_equal(hg_audit_record_encode(&r, &b2, &err), HG_OK);
    assert_string_equal(b.data, b2.data);
    hg_buf_cleanup(&b2);
    hg_buf_cleanup(&b);
    json_decref(d);
}

static void escapes_match_jansson(void **state)
{
    (void)state;
    /* Every ASCII control char, quote, backslash, slash, DEL, and UTF-8 of
     * 2, 3 and 4 bytes, in the reason; jansson must produce the same bytes. */
    char reason[256];
    size_t k = 0;
    for (int c = 1; c < 0x20; c++)
        reason[k++] = (char)c;
    const char tail[] = "\"\\/\x7f caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x9a\x9a end";
    memcpy(reason + k, tail, sizeof tail);
    json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "tender_id", reason, "from", "a", "to", "b",
                          "\xc3\xa9t\xc3\xa9", "accent key");
    struct hg_audit_record r = base(d);
    r.reason = reason;
    r.policy_id = NULL;
    r.identity.cert_thumbprint = NULL;
    r.identity.subject = NULL;
    r.identity.nroles = 0;
    struct hg_buf b;
    struct hg_err err;
    hg_buf_init(&b, HG_AUDIT_RECORD_MAX);
    assert_int_equal(hg_audit_record_encode(&r, &b, &err), HG_OK);
    json_t *parsed = json_loadb(b.data, b.len, 0, NULL);
    assert_non_null(parsed);
    assert_string_equal(json_string_value(json_object_get(parsed, "reason")), reason);
    assert_true(json_is_null(json_object_get(parsed, "policy_id")));
    char *again = json_dumps(parsed, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(again, b.data);
    assert_int_equal(hg_audit_record_check(b.data, b.len, &err), HG_OK);
    free(again);
    json_decref(parsed);
    json_decref(d);
    hg_buf_cleanup(&b);
}

static void rejects(void **state)
{
    (void)state;
    struct hg_buf b;
    struct hg_err err;
    hg_buf_init(&b, HG_AUDIT_RECORD_MAX);
    json_t *d = json_pack("{s:s, s:s, s:s}", "tender_id", "t", "from", "a", "to", "b");
    struct hg_audit_record r = base(d);
    r.event_type = "tender.teleported";
    assert_int_equal(hg_audit_record_encode(&r, &b, &err), HG_EINVAL);
    assert_non_null(strstr(hg_err_msg(&err), "unknown audit event type 'tender.teleported'"));
    r = base(d);
    r.decision = "maybe";
    assert_int_equal(hg_audit_record_encode(&r, &b, &err), HG_EINVAL);
    r = base(d);
    r.request_id = "";
    assert_int_equal(hg_audit_record_encode(&r, &b, &err), HG_EINVAL);
    r = base(NULL);
    assert_int_equal(hg_audit_record_encode(&r, &b, &err), HG_EINVAL);
    assert_non_null(strstr(hg_err_msg(&err), "details.tender_id"));
    r = base(d);
    r.reason = "bad \xc0\xaf utf8";
    assert_int_equal(hg_audit_record_encode(&r, &b, &err), HG_EINVAL);
    json_object_set_new(d, "speed", json_real(61.5));
    r = base(d);
    assert_int_equal(hg_audit_record_encode(&r, &b, &err), HG_EINVAL);
    assert_non_null(strstr(hg_err_msg(&err), "floating-point"));
    assert_int_equal(b.len, 0); /* nothing left behind on error */
    /* Too big. */
    json_object_del(d, "speed");
    char *huge = malloc(HG_AUDIT_RECORD_MAX + 10);
    memset(huge, 'x', HG_AUDIT_RECORD_MAX + 9);
    huge[HG_AUDIT_RECORD_MAX + 9] = 0;
    r = base(d);
    r.reason = huge;
    assert_int_equal(hg_audit_record_encode(&r, &b, &err), HG_ETOOBIG);
    assert_int_equal(b.len, 0);
    free(huge);
    json_decref(d);

    const char *notcanon[] = {
        "{\"v\":1}",
        "not json",
        "{\"decision\":\"allow\",\"details\":{},\"event_type\":\"authn.failure\",\"identity\":{\"cert_thumbprint\":null,\"roles\":[],\"subject\":null},\"policy_id\":null,\"reason\":\"\",\"request_id\":\"r\",\"service\":\"s\",\"timestamp\":\"t\",\"v\":1} ",
        "{\"event_type\":\"authn.failure\",\"decision\":\"allow\",\"details\":{},\"identity\":{\"cert_thumbprint\":null,\"roles\":[],\"subject\":null},\"policy_id\":null,\"reason\":\"\",\"request_id\":\"r\",\"service\":\"s\",\"timestamp\":\"t\",\"v\":1}",
        "{\"decision\":\"allow\",\"details\":{\"x\":1.5},\"event_type\":\"authn.failure\",\"identity\":{\"cert_thumbprint\":null,\"roles\":[],\"subject\":null},\"policy_id\":null,\"reason\":\"\",\"request_id\":\"r\",\"service\":\"s\",\"timestamp\":\"t\",\"v\":1}",
        "{\"decision\":\"allow\",\"details\":{},\"event_type\":\"nope\",\"identity\":{\"cert_thumbprint\":null,\"roles\":[],\"subject\":null},\"policy_id\":null,\"reason\":\"\",\"request_id\":\"r\",\"service\":\"s\",\"timestamp\":\"t\",\"v\":1}",
    };
    for (size_t i = 0; i < sizeof notcanon / sizeof notcanon[0]; i++)
        assert_int_not_equal(hg_audit_record_check(notcanon[i], strlen(notcanon[i]), &err), HG_OK);
    const char ok[] = "{\"decision\":\"allow\",\"details\":{},\"event_type\":\"authn.failure\",\"identity\":{\"cert_thumbprint\":null,\"roles\":[],\"subject\":null},\"policy_id\":null,\"reason\":\"\",\"request_id\":\"r\",\"service\":\"s\",\"timestamp\":\"t\",\"v\":1}";
    assert_int_equal(hg_audit_record_check(ok, strlen(ok), &err), HG_OK);
    hg_buf_cleanup(&b);
}

static void table(void **state)
{
    (void)state;
    size_t n = 0;
    const struct hg_audit_event_type *t = hg_audit_event_types(&n);
    const char *must[] = {"authn.failure", "token.issued", "authz.decision", "tender.created",
                          "tender.transitioned", "tender.cancelled", "operator.override",
                          "telemetry.transform", "device.key.registered", "device.key.rotated",
                          "device.key.revoked", "cert.revoked", "policy.reloaded",
                          "dlq.enqueued", "dlq.replayed", "dlq.discarded", "audit.checkpoint"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        assert_non_null(hg_audit_event_type_find(must[i]));
    assert_null(hg_audit_event_type_find("device.key"));
    assert_null(hg_audit_event_type_find(NULL));
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(t[i].name, t[j].name);
    assert_false(hg_audit_event_type_find("audit.checkpoint")->in_tree);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canonical_bytes), cmocka_unit_test(escapes_match_jansson),
        cmocka_unit_test(rejects), cmocka_unit_test(table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
