/* SPDX-License-Identifier: Apache-2.0
 *
 * test_note.c — audit/audit_note against the published Go sumdb/note
 * example (PeterNeumann key: signing must reproduce the note byte for byte),
 * the C2SP key-id rule, verifier-key parsing, checkpoint parsing and the
 * malformed-note cases the parser must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit_note.h"

static const char go_vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char go_skey[] =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char go_text[] = "If you think cryptography is the answer to your problem,\n"
                              "then you don't know what your problem is.\n";
static const char go_note[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xe2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

static void go_vector(void **state)
{
    (void)state;
    struct hg_err err;
    char name[HG_AUDIT_NOTE_NAME_MAX + 1];
    struct hg_sign_key *key = NULL;
    assert_int_equal(hg_audit_signer_parse(go_skey, strlen(go_skey), name, &key, &err), HG_OK);
    assert_string_equal(name, "PeterNeumann");
    struct hg_buf out;
    hg_buf_init(&out, 4096);
    assert_int_equal(hg_audit_note_sign(go_text, strlen(go_text), name, key, &out, &err), HG_OK);
    assert_string_equal(out.data, go_note);

    struct hg_audit_verifier v, v2;
    assert_int_equal(hg_audit_verifier_parse(go_vkey, strlen(go_vkey), &v, &err), HG_OK);
    assert_int_equal(v.keyid, 0xc74f20a3);
    assert_string_equal(v.name, "PeterNeumann");
    char fmt[HG_AUDIT_VKEY_MAX];
    assert_int_equal(hg_audit_verifier_format(&v, fmt, sizeof fmt), HG_OK);
    assert_string_equal(fmt, go_vkey);
    assert_int_equal(hg_audit_verifier_from_key(name, key, &v2, &err), HG_OK);
    assert_int_equal(v2.keyid, 0xc74f20a3);
    assert_memory_equal(v2.pub, v.pub, 32);

    size_t tl = 0;
    assert_int_equal(hg_audit_note_verify(go_note, strlen(go_note), &v, &tl, &err), HG_OK);
    assert_int_equal(tl, strlen(go_text));
    /* One changed character in the text. */
    char bad[sizeof go_note];
    memcpy(bad, go_note, sizeof go_note);
    bad[3] = 'Y';
    assert_int_equal(hg_audit_note_verify(bad, strlen(bad), &v, &tl, &err), HG_EVERIFY);
    assert_non_null(strstr(hg_err_msg(&err), "does not verify"));
    hg_audit_verifier_cleanup(&v);
    hg_audit_verifier_cleanup(&v2);
    hg_buf_cleanup(&out);
    hg_sign_key_free(key);
}

static void vkey_rejects(void **state)
{
    (void)state;
    struct hg_audit_verifier v;
    struct hg_err err;
    /* Trailing newline (as read from a file) is fine. */
    char withnl[128];
    snprintf(withnl, sizeof withnl, "%s\n", go_vkey);
    assert_int_equal(hg_audit_verifier_parse(withnl, strlen(withnl), &v, &err), HG_OK);
    hg_audit_verifier_cleanup(&v);
    const char *bads[] = {
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /* key id */
        "PeterNeumanm+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /* name */
        "PeterNeumann+c74f20a3+AhpC2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /* type */
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",   /* short */
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /* case */
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",             /* empty */
        "PeterNeumann",
        "",
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        assert_int_equal(hg_audit_verifier_parse(bads[i], strlen(bads[i]), &v, &err), HG_EPARSE);
        assert_null(v.key);
    }
}

static void note_parse_rules(void **state)
{
    (void)state;
    struct hg_audit_note n;
    struct hg_err err;
    assert_int_equal(hg_audit_note_parse(go_note, strlen(go_note), &n, &err), HG_OK);
    assert_int_equal(n.nsigs, 1);
    assert_int_equal(n.sigs[0].keyid, 0xc74f20a3);
    assert_int_equal(n.sigs[0].siglen, 64);
    const char *bads[] = {
        "text\n",                                    /* no blank line */
        "text\n\n",                                  /* no signatures */
        "text\n\n- PeterNeumann AAAAAAAA\n",         /* hyphen, not em dash */
        "text\n\n\xe2\x80\x94 PeterNeumann AAAAAAAA", /* no final newline */
        "text\n\n\xe2\x80\x94 Peter+Neumann AAAAAAAA\n",
        "text\n\n\xe2\x80\x94  AAAAAAAA\n",
        "text\n\n\xe2\x80\x94 PeterNeumann AAAA\n",  /* < 5 bytes */
        "text\n\n\xe2\x80\x94 PeterNeumann AAAAAAA*\n",
        "te\txt\n\n\xe2\x80\x94 PeterNeumann AAAAAAAA\n",
        "te\xffxt\n\n\xe2\x80\x94 PeterNeumann AAAAAAAA\n",
        "text\n\n\xe2\x80\x94 PeterNeumann AAAAAAAA\n\n",
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++)
        assert_int_equal(hg_audit_note_parse(bads[i], strlen(bads[i]), &n, &err), HG_EPARSE);
    /* Text may contain blank lines; the last blank line is the separator. */
    const char ok[] = "a\n\nb\n\n\xe2\x80\x94 k AAAAAAAA\n";
    assert_int_equal(hg_audit_note_parse(ok, strlen(ok), &n, &err), HG_OK);
    assert_int_equal(n.text_len, 5);
    /* 17 signatures is over the limit; 16 is fine. */
    char many[4096] = "t\n\n";
    for (int i = 0; i < 17; i++) {
        strcat(many, "\xe2\x80\x94 k AAAAAAAA\n");
        if (i == 15)
            assert_int_equal(hg_audit_note_parse(many, strlen(many), &n, &err), HG_OK);
    }
    assert_int_equal(hg_audit_note_parse(many, strlen(many), &n, &err), HG_ETOOBIG);
}

static void checkpoints(void **state)
{
    (void)state;
    struct hg_audit_checkpoint cp;
    struct hg_err err;
    const char t[] = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert_int_equal(hg_audit_checkpoint_parse(t, strlen(t), &cp, &err), HG_OK);
    assert_string_equal(cp.origin, "example.com/behind-the-sofa");
    assert_int_equal(cp.size, 20852163);
    char back[512];
    size_t len = 0;
    assert_int_equal(hg_audit_checkpoint_format(&cp, back, sizeof back, &len), HG_OK);
    assert_int_equal(len, strlen(t));
    assert_string_equal(back, t);
    const char ext[] = "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\n";
    assert_int_equal(hg_audit_checkpoint_parse(ext, strlen(ext), &cp, &err), HG_OK);
    assert_int_equal(cp.size, 0);
    const char *bads[] = {
        "o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jx\n",
        "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
        "o\n1\n",
        "o\n99999999999999999999\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++)
        assert_int_equal(hg_audit_checkpoint_parse(bads[i], strlen(bads[i]), &cp, &err), HG_EPARSE);
}

static void sign_open_and_foreign_key(void **state)
{
    (void)state;
    struct hg_err err;
    struct hg_sign_key *k1 = NULL, *k2 = NULL;
    assert_int_equal(hg_sign_key_generate(HG_SIGN_ED25519, &k1, &err), HG_OK);
    assert_int_equal(hg_sign_key_generate(HG_SIGN_ED25519, &k2, &err), HG_OK);
    struct hg_audit_checkpoint cp = {.origin = "haulgate.test/audit", .size = 7}, got;
    memset(cp.root, 0xab, 32);
    char text[512];
    size_t len = 0;
    assert_int_equal(hg_audit_checkpoint_format(&cp, text, sizeof text, &len), HG_OK);
    struct hg_buf n1, n2;
    hg_buf_init(&n1, 4096);
    hg_buf_init(&n2, 4096);
    assert_int_equal(hg_audit_note_sign(text, len, cp.origin, k1, &n1, &err), HG_OK);
    assert_int_equal(hg_audit_note_sign(text, len, cp.origin, k2, &n2, &err), HG_OK);
    struct hg_audit_verifier v;
    assert_int_equal(hg_audit_verifier_from_key(cp.origin, k1, &v, &err), HG_OK);
    assert_int_equal(hg_audit_checkpoint_open(n1.data, n1.len, &v, &got, &err), HG_OK);
    assert_int_equal(got.size, 7);
    assert_memory_equal(got.root, cp.root, 32);
    /* Same name, other key: a different key id, so "no signature by the trusted key". */
    assert_int_equal(hg_audit_checkpoint_open(n2.data, n2.len, &v, &got, &err), HG_EVERIFY);
    assert_non_null(strstr(hg_err_msg(&err), "no signature by the trusted key"));
    /* A note carrying both verifies (unknown signatures are ignored). */
    struct hg_buf both;
    hg_buf_init(&both, 4096);
    hg_buf_append(&both, n2.data, n2.len);
    const char *sig1 = strstr(n1.data, "\n\n") + 2;
    hg_buf_puts(&both, sig1);
    assert_int_equal(hg_audit_checkpoint_open(both.data, both.len, &v, &got, &err), HG_OK);
    hg_audit_verifier_cleanup(&v);
    hg_buf_cleanup(&n1);
    hg_buf_cleanup(&n2);
    hg_buf_cleanup(&both);
    hg_sign_key_free(k1);
    hg_sign_key_free(k2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(go_vector),        cmocka_unit_test(vkey_rejects),
        cmocka_unit_test(note_parse_rules), cmocka_unit_test(checkpoints),
        cmocka_unit_test(sign_open_and_foreign_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
