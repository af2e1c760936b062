/* SPDX-License-Identifier: Apache-2.0
 *
 * test_audit.c — the audit log inside a real haulgated: signed checkpoints
 * over HTTP that verify against the published key, entries paging and
 * bounds, inclusion and consistency proofs that verify against signed
 * roots (with the audit module's own verifiers and with `haulctl audit
 * verify-proof`), who may read, what gets audited (unmapped certificates,
 * refused reads), strict query parameters, the final checkpoint at SIGTERM
 * (`haulctl audit verify` passes), torn-tail recovery that is logged, and a
 * daemon that refuses to start without its log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit_merkle.h"
#include "audit/audit_note.h"
#include "audit/audit_proof.h"
#include "common/util.h"
#include "crypto/sign.h"
#include "integration/harness.h"

/* Checkpoints every 5 records or 50 ms, so tests see new ones quickly. An
 * extra client with role auditor; operator (role operator) may read too,
 * tms (role tms) may not. */
#define EXTRA_YAML                                                                           \
    "  - name: auditor\n"                                                                    \
    "    match: {uri: \"spiffe://haulgate.dev/auditor\"}\n"                                  \
    "    roles: [auditor]\n"                                                                 \
    "audit:\n"                                                                               \
    "  checkpoint_records: 5\n"                                                              \
    "  checkpoint_interval: 50ms\n"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int start_daemon(struct hg_it *it)
{
    if (hg_it_setup(it) != 0)
        return -1;
    snprintf(it->extra_yaml, sizeof it->extra_yaml, "%s", EXTRA_YAML);
    if (hg_it_pki(it, "issue", "auditor", NULL) != 0 || hg_it_pki(it, "issue", "stranger", NULL) != 0)
        return -1;
    return hg_it_start_verbose(it);
}

static int setup(void **state)
{
    return hg_it_fixture(state, start_daemon);
}

static int teardown(void **state)
{
    return hg_it_fixture_free(state);
}

/* ---------------------------------------------------------------- helpers */

static json_t *get_json(struct hg_it *it, const char *client, const char *path, long *status)
{
    struct hg_it_resp r;
    const char *h[] = {"Accept: application/json", NULL};
    if (hg_it_request(it, NULL, client, "GET", path, h, NULL, 0, &r) != 0) {
        fprintf(stderr, "GET %s failed: %s\n", path, r.error);
        hg_it_resp_free(&r);
        return NULL;
    }
    *status = r.status;
    json_error_t e;
    json_t *o = json_loads(r.body, 0, &e);
    if (!o)
        fprintf(stderr, "GET %s: not JSON (%ld): %s\n", path, r.status, r.body);
    hg_it_resp_free(&r);
    return o;
}

/* A problem document with our members, and the parameter it names. */
static void assert_problem(const struct hg_it_resp *r, long status, const char *slug,
                           const char *param)
{
    if (r->status != status)
        fprintf(stderr, "unexpected %ld: %s\n", r->status, r->body);
    assert_int_equal(r->status, status);
    char ct[128];
    assert_non_null(hg_it_resp_header(r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "application/problem+json");
    json_error_t e;
    json_t *o = json_loads(r->body, 0, &e);
    assert_non_null(o);
    char want[160];
    snprintf(want, sizeof want, "https://haulgate.dev/problems/%s", slug);
    assert_string_equal(json_string_value(json_object_get(o, "type")), want);
    assert_int_equal(json_integer_value(json_object_get(o, "status")), status);
    const char *detail = json_string_value(json_object_get(o, "detail"));
    assert_non_null(detail);
    assert_non_null(json_string_value(json_object_get(o, "correlation_id")));
    if (param) {
        const char *got = json_string_value(json_object_get(o, "parameter"));
        if (!got || strcmp(got, param) != 0)
            fprintf(stderr, "want parameter '%s' in %s\n", param, r->body);
        assert_non_null(got);
        assert_string_equal(got, param);
        assert_non_null(strstr(detail, param)); /* the detail names it too */
    }
    json_decref(o);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static int write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

/* The published verifier key: the file the daemon wrote when it created
 * the log (what an operator pins). */
static void load_verifier(struct hg_it *it, struct hg_audit_verifier *v, char *text, size_t cap)
{
    char path[400];
    snprintf(path, sizeof path, "%s/audit/audit.vkey", it->data);
    size_t n = 0;
    char *s = slurp(path, &n);
    assert_non_null(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    struct hg_err err;
    memset(v, 0, sizeof *v);
    assert_int_equal(hg_audit_verifier_parse(s, n, v, &err), HG_OK);
    if (text)
        snprintf(text, cap, "%s", s);
    free(s);
}

/* GET the signed checkpoint (text form) and verify it; *note gets the text. */
static void get_checkpoint(struct hg_it *it, const struct hg_audit_verifier *v,
                           struct hg_audit_checkpoint *cp, char **note)
{
    struct hg_it_resp r;
    assert_int_equal(
        hg_it_request(it, NULL, "operator", "GET", "/v1/audit/checkpoint", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    char ct[128];
    assert_string_equal(hg_it_resp_header(&r, "Content-Type", ct, sizeof ct),
                        "text/plain; charset=utf-8");
    struct hg_err err;
    if (hg_audit_checkpoint_open(r.body, r.body_len, v, cp, &err) != HG_OK) {
        fprintf(stderr, "checkpoint does not verify: %s\n%s\n", hg_err_msg(&err), r.body);
        fail();
    }
    if (note) {
        *note = r.body;
        r.body = NULL;
    }
    hg_it_resp_free(&r);
}

/* Wait until a signed checkpoint covers at least `min` records. */
static void wait_checkpoint(struct hg_it *it, const struct hg_audit_verifier *v, uint64_t min,
                            struct hg_audit_checkpoint *cp, char **note)
{
    for (int i = 0; i < 100; i++) {
        char *n = NULL;
        get_checkpoint(it, v, cp, &n);
        if (cp->size >= min) {
            if (note)
                *note = n;
            else
                free(n);
            return;
        }
        free(n);
        sleep_ms(50);
    }
    fail_msg("no checkpoint covering %llu records within 5 s", (unsigned long long)min);
}

/* One request with an unmapped certificate: 403 unknown-client. */
static void stranger_request(struct hg_it *it, const char *cid)
{
    struct hg_it_resp r;
    char h[200];
    snprintf(h, sizeof h, "X-Correlation-ID: %s", cid);
    const char *hs[] = {h, NULL};
    assert_int_equal(hg_it_request(it, NULL, "stranger", "GET", "/v1/whoami", hs, NULL, 0, &r), 0);
    assert_problem(&r, 403, "unknown-client", NULL);
    hg_it_resp_free(&r);
}

/* All entries [from, to) as a JSON array (borrowed from *holder). */
static json_t *get_entries(struct hg_it *it, uint64_t from, uint64_t to, json_t **holder)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/audit/entries?from=%llu&to=%llu", (unsigned long long)from,
             (unsigned long long)to);
    long status = 0;
    json_t *o = get_json(it, "operator", path, &status);
    assert_non_null(o);
    assert_int_equal(status, 200);
    *holder = o;
    json_t *a = json_object_get(o, "entries");
    assert_true(json_is_array(a));
    return a;
}

/* The log's current size (records, signed or not yet). */
static uint64_t live_size(struct hg_it *it)
{
    long status = 0;
    json_t *o = get_json(it, "operator", "/v1/audit/entries?from=0&to=0", &status);
    assert_non_null(o);
    assert_int_equal(status, 200);
    json_int_t n = json_integer_value(json_object_get(o, "tree_size"));
    json_decref(o);
    return (uint64_t)n;
}

/* Wait until the log holds a record with this request_id and event type;
 * returns it (a new reference) or NULL after 5 s. */
static json_t *find_record(struct hg_it *it, const char *request_id, const char *event_type)
{
    for (int tries = 0; tries < 100; tries++) {
        uint64_t live = live_size(it);
        for (uint64_t from = 0; from < live; from += 1000) {
            uint64_t to = live - from > 1000 ? from + 1000 : live;
            json_t *holder = NULL;
            json_t *a = get_entries(it, from, to, &holder);
            size_t i;
            json_t *e;
            json_array_foreach(a, i, e) {
                json_t *rec = json_object_get(e, "record");
                const char *rid = json_string_value(json_object_get(rec, "request_id"));
                const char *et = json_string_value(json_object_get(rec, "event_type"));
                if (rid && et && !strcmp(rid, request_id) && !strcmp(et, event_type)) {
                    json_incref(rec);
                    json_decref(holder);
                    return rec;
                }
            }
            json_decref(holder);
        }
        sleep_ms(50);
    }
    return NULL;
}

/* ------------------------------------------------------------------ tests */

static void checkpoint_verifies(void **state)
{
    struct hg_it *it = *state;
    struct hg_audit_verifier v;
    char vkey[HG_AUDIT_VKEY_MAX + 1];
    load_verifier(it, &v, vkey, sizeof vkey);
    struct hg_audit_checkpoint cp;
    char *note = NULL;
    get_checkpoint(it, &v, &cp, &note);
    assert_string_equal(cp.origin, v.name);
    /* the note is byte for byte what the log stored */
    char path[400];
    snprintf(path, sizeof path, "%s/audit/checkpoint", it->data);
    char *disk = slurp(path, NULL);
    assert_non_null(disk);
    struct hg_audit_checkpoint dcp;
    struct hg_err err;
    assert_int_equal(hg_audit_checkpoint_open(disk, strlen(disk), &v, &dcp, &err), HG_OK);
    if (dcp.size == cp.size)
        assert_string_equal(disk, note);
    free(disk);
    free(note);

    /* a checkpoint signed by another key does not verify: the check can fail */
    struct hg_sign_key *other = NULL;
    assert_int_equal(hg_sign_key_generate(HG_SIGN_ED25519, &other, &err), HG_OK);
    struct hg_audit_verifier ov;
    assert_int_equal(hg_audit_verifier_from_key(v.name, other, &ov, &err), HG_OK);
    struct hg_it_resp r;
    assert_int_equal(
        hg_it_request(it, NULL, "operator", "GET", "/v1/audit/checkpoint", NULL, NULL, 0, &r), 0);
    assert_int_not_equal(hg_audit_checkpoint_open(r.body, r.body_len, &ov, &dcp, &err), HG_OK);
    char vary[64];
    assert_non_null(hg_it_resp_header(&r, "Vary", vary, sizeof vary));
    assert_string_equal(vary, "Accept");
    hg_it_resp_free(&r);
    hg_audit_verifier_cleanup(&ov);
    hg_sign_key_free(other);

    /* the JSON form: the same note, its size and root, and the key */
    long status = 0;
    json_t *o = get_json(it, "auditor", "/v1/audit/checkpoint", &status);
    assert_non_null(o);
    assert_int_equal(status, 200);
    const char *text = json_string_value(json_object_get(o, "checkpoint"));
    assert_non_null(text);
    assert_int_equal(hg_audit_checkpoint_open(text, strlen(text), &v, &dcp, &err), HG_OK);
    assert_int_equal(json_integer_value(json_object_get(o, "tree_size")), (json_int_t)dcp.size);
    char root[48];
    hg_b64std_encode(dcp.root, HG_MERKLE_HASH, root, sizeof root);
    assert_string_equal(json_string_value(json_object_get(o, "root_hash")), root);
    assert_string_equal(json_string_value(json_object_get(o, "verifier_key")), vkey);
    assert_string_equal(json_string_value(json_object_get(o, "origin")), v.name);
    json_decref(o);

    /* nothing acceptable: 406 */
    const char *h[] = {"Accept: image/png", NULL};
    assert_int_equal(
        hg_it_request(it, NULL, "operator", "GET", "/v1/audit/checkpoint", h, NULL, 0, &r), 0);
    assert_problem(&r, 406, "not-acceptable", NULL);
    hg_it_resp_free(&r);
    hg_audit_verifier_cleanup(&v);
}

static void entries_paging_and_bounds(void **state)
{
    struct hg_it *it = *state;
    for (int i = 0; i < 12; i++) {
        char cid[64];
        snprintf(cid, sizeof cid, "paging-%d", i);
        stranger_request(it, cid);
    }
    struct hg_audit_verifier v;
    load_verifier(it, &v, NULL, 0);
    struct hg_audit_checkpoint cp;
    wait_checkpoint(it, &v, 12, &cp, NULL);
    uint64_t n = cp.size;

    json_t *all_holder, *p1_holder, *p2_holder;
    json_t *all = get_entries(it, 0, n, &all_holder);
    assert_int_equal(json_array_size(all), n);
    struct hg_merkle_hasher h;
    assert_int_equal(hg_merkle_hasher_init(&h), HG_OK);
    struct hg_merkle_frontier f;
    hg_merkle_frontier_init(&f);
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e) {
        assert_int_equal(json_integer_value(json_object_get(e, "index")), (json_int_t)i);
        json_t *rec = json_object_get(e, "record");
        assert_true(json_is_object(rec));
        assert_non_null(json_string_value(json_object_get(rec, "event_type")));
        /* the record's canonical bytes hash to the leaf hash given ... */
        char *canon = json_dumps(rec, JSON_SORT_KEYS | JSON_COMPACT);
        assert_non_null(canon);
        uint8_t leaf[HG_MERKLE_HASH];
        hg_merkle_leaf_hash(&h, canon, strlen(canon), leaf);
        free(canon);
        char b64[48];
        hg_b64std_encode(leaf, HG_MERKLE_HASH, b64, sizeof b64);
        assert_string_equal(json_string_value(json_object_get(e, "leaf_hash")), b64);
        hg_merkle_frontier_append(&h, &f, leaf, NULL, NULL);
    }
    /* ... and all of them together to the signed root */
    uint8_t root[HG_MERKLE_HASH];
    hg_merkle_frontier_root(&h, &f, root);
    assert_memory_equal(root, cp.root, HG_MERKLE_HASH);
    hg_merkle_hasher_cleanup(&h);

    /* two pages are the whole */
    json_t *p1 = get_entries(it, 0, 5, &p1_holder);
    json_t *p2 = get_entries(it, 5, n, &p2_holder);
    assert_int_equal(json_array_size(p1) + json_array_size(p2), n);
    assert_true(json_equal(json_array_get(p1, 4), json_array_get(all, 4)));
    assert_true(json_equal(json_array_get(p2, 0), json_array_get(all, 5)));
    json_decref(p1_holder);
    json_decref(p2_holder);
    json_decref(all_holder);
    /* empty range */
    json_t *empty = get_entries(it, 3, 3, &p1_holder);
    assert_int_equal(json_array_size(empty), 0);
    json_decref(p1_holder);

    /* bounds */
    uint64_t live = live_size(it);
    json_t *o;
    char path[160];
    struct hg_it_resp r;
    snprintf(path, sizeof path, "/v1/audit/entries?from=0&to=%llu", (unsigned long long)live + 100);
    assert_int_equal(hg_it_request(it, NULL, "operator", "GET", path, NULL, NULL, 0, &r), 0);
    assert_problem(&r, 400, "invalid-parameter", "to");
    json_error_t je;
    o = json_loads(r.body, 0, &je);
    assert_true(json_integer_value(json_object_get(o, "tree_size")) >= (json_int_t)live);
    assert_non_null(strstr(json_string_value(json_object_get(o, "detail")), "past the end"));
    json_decref(o);
    hg_it_resp_free(&r);
    assert_int_equal(hg_it_request(it, NULL, "operator", "GET",
                                   "/v1/audit/entries?from=0&to=1001", NULL, NULL, 0, &r), 0);
    assert_problem(&r, 400, "invalid-parameter", "to");
    assert_non_null(strstr(r.body, "at most 1000 entries"));
    hg_it_resp_free(&r);
    assert_int_equal(hg_it_request(it, NULL, "operator", "GET",
                                   "/v1/audit/entries?from=4&to=3", NULL, NULL, 0, &r), 0);
    assert_problem(&r, 400, "invalid-parameter", "from");
    hg_it_resp_free(&r);
    hg_audit_verifier_cleanup(&v);
}

static void inclusion_proofs_verify(void **state)
{
    struct hg_it *it = *state;
    struct hg_audit_verifier v;
    char vkey[HG_AUDIT_VKEY_MAX + 1];
    load_verifier(it, &v, vkey, sizeof vkey);
    struct hg_audit_checkpoint cp;
    char *note = NULL;
    wait_checkpoint(it, &v, 3, &cp, &note);
    json_t *holder;
    json_t *entries = get_entries(it, 0, cp.size, &holder);
    struct hg_merkle_hasher h;
    assert_int_equal(hg_merkle_hasher_init(&h), HG_OK);
    char cpfile[400], pfile[400], vfile[400];
    snprintf(cpfile, sizeof cpfile, "%s/cp.txt", it->dir);
    snprintf(pfile, sizeof pfile, "%s/proof.json", it->dir);
    snprintf(vfile, sizeof vfile, "%s/pinned.vkey", it->dir);
    assert_int_equal(write_file(cpfile, note, strlen(note)), 0);
    assert_int_equal(write_file(vfile, vkey, strlen(vkey)), 0);
    for (uint64_t i = 0; i < cp.size; i++) {
        char path[160];
        snprintf(path, sizeof path, "/v1/audit/proofs/inclusion?index=%llu&treeSize=%llu",
                 (unsigned long long)i, (unsigned long long)cp.size);
        struct hg_it_resp r;
        assert_int_equal(hg_it_request(it, NULL, "operator", "GET", path, NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        struct hg_audit_proof_doc d;
        struct hg_err err;
        assert_int_equal(hg_audit_proof_from_json(r.body, r.body_len, &d, &err), HG_OK);
        assert_int_equal(d.type, HG_AUDIT_PROOF_INCLUSION);
        assert_int_equal(d.a, i);
        assert_int_equal(d.b, cp.size);
        /* the leaf is the entry's leaf */
        char b64[48];
        hg_b64std_encode(d.leaf_hash, HG_MERKLE_HASH, b64, sizeof b64);
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(entries, i), "leaf_hash")), b64);
        const uint8_t(*hs)[HG_MERKLE_HASH] = (const uint8_t(*)[HG_MERKLE_HASH])d.proof.hashes;
        assert_int_equal(hg_merkle_verify_inclusion(&h, d.a, d.b, d.leaf_hash, hs,
                                                    d.proof.count, cp.root),
                         HG_OK);
        /* a different leaf does not verify */
        d.leaf_hash[0] ^= 1;
        assert_int_equal(hg_merkle_verify_inclusion(&h, d.a, d.b, d.leaf_hash, hs,
                                                    d.proof.count, cp.root),
                         HG_EVERIFY);
        /* and the document is what `haulctl audit verify-proof` takes */
        if (i == 0 || i + 1 == cp.size) {
            assert_int_equal(write_file(pfile, r.body, r.body_len), 0);
            char *argv[] = {(char *)hg_it_bin("haulctl"), "audit", "verify-proof", "--vkey",
                            vfile, "--checkpoint", cpfile, "--proof", pfile, NULL};
            assert_int_equal(hg_it_run(argv), 0);
        }
        hg_it_resp_free(&r);
    }
    hg_merkle_hasher_cleanup(&h);
    json_decref(holder);
    free(note);
    hg_audit_verifier_cleanup(&v);
}

static void consistency_proofs_verify(void **state)
{
    struct hg_it *it = *state;
    struct hg_audit_verifier v;
    char vkey[HG_AUDIT_VKEY_MAX + 1];
    load_verifier(it, &v, vkey, sizeof vkey);
    struct hg_audit_checkpoint old, cur;
    char *oldnote = NULL, *note = NULL;
    get_checkpoint(it, &v, &old, &oldnote);
    for (int i = 0; i < 7; i++) {
        char cid[64];
        snprintf(cid, sizeof cid, "consistency-%d", i);
        stranger_request(it, cid);
    }
    wait_checkpoint(it, &v, old.size + 7, &cur, &note);
    char path[160];
    snprintf(path, sizeof path, "/v1/audit/proofs/consistency?from=%llu&to=%llu",
             (unsigned long long)old.size, (unsigned long long)cur.size);
    struct hg_it_resp r;
    assert_int_equal(hg_it_request(it, NULL, "operator", "GET", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    struct hg_audit_proof_doc d;
    struct hg_err err;
    assert_int_equal(hg_audit_proof_from_json(r.body, r.body_len, &d, &err), HG_OK);
    assert_int_equal(d.type, HG_AUDIT_PROOF_CONSISTENCY);
    assert_int_equal(d.a, old.size);
    assert_int_equal(d.b, cur.size);
    assert_memory_equal(d.from_root, old.root, HG_MERKLE_HASH);
    struct hg_merkle_hasher h;
    assert_int_equal(hg_merkle_hasher_init(&h), HG_OK);
    const uint8_t(*hs)[HG_MERKLE_HASH] = (const uint8_t(*)[HG_MERKLE_HASH])d.proof.hashes;
    /* both roots come from signed checkpoints, not from the proof */
    assert_int_equal(hg_merkle_verify_consistency(&h, old.size, cur.size, old.root, cur.root, hs,
                                                  d.proof.count),
                     HG_OK);
    uint8_t wrong[HG_MERKLE_HASH];
    memcpy(wrong, old.root, HG_MERKLE_HASH);
    wrong[5] ^= 0x80;
    assert_int_equal(hg_merkle_verify_consistency(&h, old.size, cur.size, wrong, cur.root, hs,
                                                  d.proof.count),
                     HG_EVERIFY);
    hg_merkle_hasher_cleanup(&h);
    /* verify-proof with both checkpoints */
    char cpfile[400], oldfile[400], pfile[400], vfile[400];
    snprintf(cpfile, sizeof cpfile, "%s/cp2.txt", it->dir);
    snprintf(oldfile, sizeof oldfile, "%s/cp1.txt", it->dir);
    snprintf(pfile, sizeof pfile, "%s/cons.json", it->dir);
    snprintf(vfile, sizeof vfile, "%s/pinned2.vkey", it->dir);
    assert_int_equal(write_file(cpfile, note, strlen(note)), 0);
    assert_int_equal(write_file(oldfile, oldnote, strlen(oldnote)), 0);
    assert_int_equal(write_file(pfile, r.body, r.body_len), 0);
    assert_int_equal(write_file(vfile, vkey, strlen(vkey)), 0);
    char *argv[] = {(char *)hg_it_bin("haulctl"), "audit", "verify-proof", "--vkey", vfile,
                    "--checkpoint", cpfile, "--proof", pfile, "--old-checkpoint", oldfile, NULL};
    assert_int_equal(hg_it_run(argv), 0);
    /* the old checkpoint as the new one: refused */
    char *bad[] = {(char *)hg_it_bin("haulctl"), "audit", "verify-proof", "--vkey", vfile,
                   "--checkpoint", oldfile, "--proof", pfile, NULL};
    assert_int_equal(hg_it_run(bad), 1);
    hg_it_resp_free(&r);
    free(note);
    free(oldnote);
    hg_audit_verifier_cleanup(&v);
}

static void tms_forbidden_and_audited(void **state)
{
    struct hg_it *it = *state;
    static const char *const paths[] = {
        "/v1/audit/checkpoint",
        "/v1/audit/entries?from=0&to=1",
        "/v1/audit/proofs/inclusion?index=0&treeSize=1",
        "/v1/audit/proofs/consistency?from=0&to=1",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct hg_it_resp r;
        const char *h[] = {"X-Correlation-ID: tms-reads-audit", NULL};
        assert_int_equal(hg_it_request(it, NULL, "tms", "GET", paths[i], h, NULL, 0, &r), 0);
        /* the tms role brings no audit:read scope, so its token lacks it */
        assert_problem(&r, 403, "insufficient-scope", NULL);
        json_error_t e;
        json_t *o = json_loads(r.body, 0, &e);
        assert_string_equal(json_string_value(json_object_get(o, "required_scope")),
                            "audit:read");
        json_decref(o);
        char wa[600];
        assert_non_null(hg_it_resp_header(&r, "WWW-Authenticate", wa, sizeof wa));
        assert_non_null(strstr(wa, "error=\"insufficient_scope\""));
        hg_it_resp_free(&r);
    }
    /* the refusal is an authz.decision record with who and what */
    json_t *rec = find_record(it, "tms-reads-audit", "authz.decision");
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "decision")), "deny");
    json_t *id = json_object_get(rec, "identity");
    assert_string_equal(json_string_value(json_object_get(id, "subject")), "tms");
    assert_string_equal(json_string_value(json_array_get(json_object_get(id, "roles"), 0)), "tms");
    json_t *d = json_object_get(rec, "details");
    assert_string_equal(json_string_value(json_object_get(d, "action")), "audit:read");
    assert_string_equal(json_string_value(json_object_get(d, "resource")), "/v1/audit/checkpoint");
    json_decref(rec);
}

static void unmapped_cert_audited(void **state)
{
    struct hg_it *it = *state;
    struct hg_it_resp r;
    const char *h[] = {"X-Correlation-ID: stranger-knocks-1", NULL};
    assert_int_equal(hg_it_request(it, NULL, "stranger", "GET", "/v1/audit/entries?from=0&to=1",
                                   h, NULL, 0, &r),
                     0);
    assert_problem(&r, 403, "unknown-client", NULL);
    json_error_t e;
    json_t *o = json_loads(r.body, 0, &e);
    const char *x5t =
        json_string_value(json_object_get(json_object_get(o, "identity"), "x5t#S256"));
    assert_non_null(x5t);
    unsigned char raw[32];
    size_t rawlen = 0;
    assert_int_equal(hg_b64url_decode(x5t, strlen(x5t), raw, sizeof raw, &rawlen), HG_OK);
    char hex[65];
    hg_hex(raw, rawlen, hex);
    hg_it_resp_free(&r);

    json_t *rec = find_record(it, "stranger-knocks-1", "authn.failure");
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "decision")), "deny");
    assert_string_equal(json_string_value(json_object_get(rec, "service")), "haulgated");
    assert_non_null(strstr(json_string_value(json_object_get(rec, "reason")), "clients"));
    json_t *id = json_object_get(rec, "identity");
    assert_string_equal(json_string_value(json_object_get(id, "subject")), "stranger");
    assert_string_equal(json_string_value(json_object_get(id, "cert_thumbprint")), hex);
    assert_int_equal(json_array_size(json_object_get(id, "roles")), 0);
    json_t *d = json_object_get(rec, "details");
    assert_string_equal(json_string_value(json_object_get(d, "x5t#S256")), x5t);
    assert_string_equal(json_string_value(json_object_get(d, "route")), "/v1/audit/entries");
    assert_string_equal(json_string_value(json_object_get(d, "method")), "GET");
    json_decref(rec);
    json_decref(o);
    /* a mapped client is not: no authn.failure under its correlation id */
    const char *h2[] = {"X-Correlation-ID: operator-fine-1", NULL};
    assert_int_equal(hg_it_request(it, NULL, "operator", "GET", "/v1/whoami", h2, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
    stranger_request(it, "after-operator"); /* a later record to wait for */
    rec = find_record(it, "after-operator", "authn.failure");
    assert_non_null(rec);
    json_decref(rec);
    uint64_t n = live_size(it);
    json_t *holder;
    json_t *a = get_entries(it, 0, n < 1000 ? n : 1000, &holder);
    size_t i;
    json_t *en;
    json_array_foreach(a, i, en) {
        const char *rid =
            json_string_value(json_object_get(json_object_get(en, "record"), "request_id"));
        assert_string_not_equal(rid, "operator-fine-1");
    }
    json_decref(holder);
}

static void bad_parameters(void **state)
{
    struct hg_it *it = *state;
    static const struct {
        const char *path, *param;
    } cases[] = {
        {"/v1/audit/entries?from=0", "to"},
        {"/v1/audit/entries?to=1", "from"},
        {"/v1/audit/entries", "from"},
        {"/v1/audit/entries?from=a&to=1", "from"},
        {"/v1/audit/entries?from=-1&to=1", "from"},
        {"/v1/audit/entries?from=1.5&to=2", "from"},
        {"/v1/audit/entries?from=0&to=1&from=0", "from"},
        {"/v1/audit/entries?from=0&to=1&limit=3", "limit"},
        {"/v1/audit/entries?from=0&to=99999999999999999999", "to"},
        {"/v1/audit/entries?from=1%0a&to=2", "from"},
        {"/v1/audit/proofs/inclusion?index=0", "treeSize"},
        {"/v1/audit/proofs/inclusion?index=0&tree_size=1", "tree_size"},
        {"/v1/audit/proofs/inclusion?index=5&treeSize=3", "index"},
        {"/v1/audit/proofs/inclusion?index=0&treeSize=0", "index"},
        {"/v1/audit/proofs/inclusion?index=0&treeSize=999999999", "treeSize"},
        {"/v1/audit/proofs/consistency?from=2&to=1", "from"},
        {"/v1/audit/proofs/consistency?from=0&to=999999999", "to"},
        {"/v1/audit/proofs/consistency?from=0", "to"},
        {"/v1/audit/checkpoint?pretty=1", "pretty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hg_it_resp r;
        assert_int_equal(hg_it_request(it, NULL, "operator", "GET", cases[i].path, NULL, NULL, 0,
                                       &r),
                         0);
        assert_problem(&r, 400, "invalid-parameter", cases[i].param);
        hg_it_resp_free(&r);
    }
    /* not one parameter's fault: no `parameter` member, still a 400 */
    struct hg_it_resp r;
    assert_int_equal(hg_it_request(it, NULL, "operator", "GET", "/v1/audit/entries?from=0&&to=1",
                                   NULL, NULL, 0, &r),
                     0);
    assert_problem(&r, 400, "invalid-parameter", NULL);
    assert_null(strstr(r.body, "\"parameter\""));
    hg_it_resp_free(&r);
    /* the daemon is fine afterwards */
    assert_int_equal(hg_it_request(it, NULL, "auditor", "GET", "/v1/audit/entries?from=0&to=1",
                                   NULL, NULL, 0, &r),
                     0);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
}

/* Last in the shared group: SIGTERM, exit 0, the final checkpoint covers
 * every record and the offline verifier passes with the pinned key. */
static void sigterm_then_verify(void **state)
{
    struct hg_it *it = *state;
    stranger_request(it, "last-words"); /* a record that may still be queued */
    assert_int_equal(hg_it_stop(it), 0);
    char *log = hg_it_log(it);
    assert_non_null(strstr(log, "\"audit log created\""));
    assert_non_null(strstr(log, "\"audit log closed\""));
    assert_null(strstr(log, "Sanitizer"));
    assert_null(strstr(log, "runtime error"));
    assert_null(strstr(log, "audit record was not written"));
    free(log);
    char dir[400], vfile[400];
    snprintf(dir, sizeof dir, "%s/audit", it->data);
    snprintf(vfile, sizeof vfile, "%s/audit/audit.vkey", it->data);
    char *argv[] = {(char *)hg_it_bin("haulctl"), "audit", "verify", dir, "--key", vfile, NULL};
    assert_int_equal(hg_it_run(argv), 0);
    /* the last checkpoint covers every record: nothing uncovered */
    struct hg_audit_verifier v;
    load_verifier(it, &v, NULL, 0);
    char path[400];
    snprintf(path, sizeof path, "%s/audit/checkpoint", it->data);
    char *note = slurp(path, NULL);
    assert_non_null(note);
    struct hg_audit_checkpoint cp;
    struct hg_err err;
    assert_int_equal(hg_audit_checkpoint_open(note, strlen(note), &v, &cp, &err), HG_OK);
    free(note);
    char *show[] = {(char *)hg_it_bin("haulctl"), "audit", "show", dir, "--index", NULL, NULL};
    char idx[32];
    snprintf(idx, sizeof idx, "%llu", (unsigned long long)(cp.size - 1));
    show[5] = idx;
    assert_int_equal(hg_it_run(show), 0); /* the last record is covered */
    snprintf(idx, sizeof idx, "%llu", (unsigned long long)cp.size);
    assert_int_equal(hg_it_run(show), 1); /* and there is none after it */
    hg_audit_verifier_cleanup(&v);
}

/* ---- tests with their own daemon ---- */

static void torn_tail_is_logged(void **state)
{
    struct hg_it *it = *state;
    stranger_request(it, "before-crash");
    struct hg_audit_verifier v;
    load_verifier(it, &v, NULL, 0);
    struct hg_audit_checkpoint cp;
    wait_checkpoint(it, &v, 1, &cp, NULL);
    assert_int_equal(hg_it_stop(it), 0);
    /* half a frame at the end of the newest segment, as a crash mid-write
     * leaves it */
    char seg[512];
    snprintf(seg, sizeof seg, "%s/audit/segments/00000000000000000000.seg", it->data);
    int fd = open(seg, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    static const char torn[] = "\x40\x00\x00\x00\x12\x34\x56\x78partial";
    assert_int_equal(write(fd, torn, sizeof torn - 1), (ssize_t)(sizeof torn - 1));
    close(fd);
    assert_int_equal(hg_it_start(it), 0);
    char *log = hg_it_log(it);
    char *warn = strstr(log, "audit log recovered");
    assert_non_null(warn);
    /* the line is at warn and says what was cut */
    char *bol = warn;
    while (bol > log && bol[-1] != '\n')
        bol--;
    char *eol = strchr(warn, '\n');
    if (eol)
        *eol = '\0';
    assert_non_null(strstr(bol, "\"level\":\"warn\""));
    assert_non_null(strstr(bol, "\"torn_bytes\":15"));
    assert_non_null(strstr(bol, "torn tail"));
    free(log);
    /* the log goes on and still verifies */
    stranger_request(it, "after-crash");
    json_t *rec = find_record(it, "after-crash", "authn.failure");
    assert_non_null(rec);
    json_decref(rec);
    assert_int_equal(hg_it_stop(it), 0);
    log = hg_it_log(it);
    assert_null(strstr(log, "Sanitizer"));
    assert_null(strstr(log, "runtime error"));
    free(log);
    char dir[400], vfile[400];
    snprintf(dir, sizeof dir, "%s/audit", it->data);
    snprintf(vfile, sizeof vfile, "%s/audit/audit.vkey", it->data);
    char *argv[] = {(char *)hg_it_bin("haulctl"), "audit", "verify", dir, "--key", vfile, NULL};
    assert_int_equal(hg_it_run(argv), 0);
    hg_audit_verifier_cleanup(&v);
}

/* Run haulgated in the foreground with it->cfg; stderr into `out`. */
static int run_daemon_once(struct hg_it *it, char *out, size_t cap)
{
    char errpath[400];
    snprintf(errpath, sizeof errpath, "%s/second.err", it->dir);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(hg_it_bin("haulgated"), "haulgated", "--config", it->cfg, (char *)NULL);
        _exit(127);
    }
    int st = 0, code = -1;
    for (int i = 0; i < 1000; i++) { /* 10 s */
        if (waitpid(pid, &st, WNOHANG) == pid) {
            code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        sleep_ms(10);
    }
    if (code < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    char *s = slurp(errpath, NULL);
    snprintf(out, cap, "%s", s ? s : "");
    free(s);
    return code;
}

static void refuses_to_start_without_log(void **state)
{
    struct hg_it *it = *state;
    /* the first daemon holds the log: a second one on the same data_dir
     * must not start (two writers would fork the tree) */
    char out[8192];
    int code = run_daemon_once(it, out, sizeof out);
    if (code != 1)
        fprintf(stderr, "second daemon exit %d:\n%s\n", code, out);
    assert_int_equal(code, 1);
    assert_non_null(strstr(out, "cannot open the audit log"));
    assert_non_null(strstr(out, "open for writing by another process"));
    assert_null(strstr(out, "Sanitizer")); /* the failed start cleans up after itself */
    assert_true(hg_it_alive(it));
    struct hg_it_resp r;
    assert_int_equal(
        hg_it_request(it, NULL, "operator", "GET", "/v1/audit/checkpoint", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    hg_it_resp_free(&r);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(checkpoint_verifies),
        cmocka_unit_test(entries_paging_and_bounds),
        cmocka_unit_test(inclusion_proofs_verify),
        cmocka_unit_test(consistency_proofs_verify),
        cmocka_unit_test(tms_forbidden_and_audited),
        cmocka_unit_test(unmapped_cert_audited),
        cmocka_unit_test(bad_parameters),
        cmocka_unit_test(sigterm_then_verify),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test_setup_teardown(torn_tail_is_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_to_start_without_log, setup, teardown),
    };
    int fails = cmocka_run_group_tests_name("audit", shared, setup, teardown);
    fails += cmocka_run_group_tests_name("audit lifecycle", own, NULL, NULL);
    curl_global_cleanup();
    return fails;
}
