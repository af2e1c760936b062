/* SPDX-License-Identifier: Apache-2.0
 *
 * test_log.c — audit/audit_log end to end: append, read, proofs against
 * signed checkpoints, reopen, segment rolling, async appends, 4-thread
 * concurrency (indexes unique and dense), the checkpoint hook, torn-tail
 * repair (truncated AND reported), a kill -9 crash test (every acknowledged
 * record survives and the verifier passes), and the tamper suite run through
 * hg_audit_verify_dir (the code behind `haulctl audit verify`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/audit_log.h"
#include "audit/audit_note.h"
#include "audit/audit_segment.h"
#include "audit/audit_verify.h"
#include "common/util.h"

/* ------------------------------------------------------------- helpers */

static char *mkdir_tmp(void)
{
    char *d = strdup("/tmp/hg-audit-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_rf(const char *d)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

static void copy_dir(const char *from, const char *to)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    assert_int_equal(system(cmd), 0);
}

static hg_status append_n(struct hg_audit_log *log, const char *tag, int n, uint64_t *last)
{
    for (int i = 0; i < n; i++) {
        char rid[64], tid[32];
        snprintf(rid, sizeof rid, "%s-%d", tag, i);
        snprintf(tid, sizeof tid, "t-%d", i);
        json_t *d = json_pack("{s:s, s:s, s:s, s:i}", "tender_id", tid, "from", "offered", "to",
                              "accepted", "n", i);
        const char *roles[] = {"tms"};
        struct hg_audit_record r = {
            .service = "test",
            .event_type = "tender.transitioned",
            .request_id = rid,
            .identity = {.subject = "spiffe://acme/tms", .roles = roles, .nroles = 1},
            .decision = "allow",
            .details = d,
        };
        struct hg_err err;
        hg_status st = hg_audit_append(log, &r, last, &err);
        json_decref(d);
        if (st != HG_OK)
            return st;
    }
    return HG_OK;
}

static struct hg_audit_log *open_log(const char *dir, uint64_t every, uint64_t segmax)
{
    struct hg_audit_options o;
    hg_audit_options_init(&o);
    o.origin = "haulgate.test/audit";
    if (every)
        o.checkpoint_every = every;
    if (segmax)
        o.segment_max_bytes = segmax;
    o.checkpoint_interval_ms = 60000; /* only count-driven checkpoints in tests */
    struct hg_audit_log *log = NULL;
    struct hg_err err;
    hg_status st = hg_audit_open(dir, &o, &log, &err);
    if (st != HG_OK)
        fail_msg("open %s: %s", dir, hg_err_msg(&err));
    return log;
}

static void expect_verify_ok(const char *dir, uint64_t records)
{
    struct hg_audit_verify_report rep;
    struct hg_err err;
    assert_int_equal(hg_audit_verify_dir(dir, NULL, &rep, &err), HG_OK);
    if (!rep.ok)
        fail_msg("verify %s: %s: %s", dir, hg_audit_fault_name(rep.fault), rep.message);
    assert_int_equal(rep.records, records);
}

struct collect {
    uint64_t n;
    char last[512];
};

static int collect_cb(void *ctx, uint64_t index, const char *data, size_t len)
{
    struct collect *c = ctx;
    assert_int_equal(index, c->n);
    struct hg_err err;
    assert_int_equal(hg_audit_record_check(data, len, &err), HG_OK);
    snprintf(c->last, sizeof c->last, "%.*s", (int)len, data);
    c->n++;
    return 0;
}

/* --------------------------------------------------------------- tests */

static void basic_append_read_prove(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    struct hg_audit_log *log = open_log(dir, 1000, 0);
    struct hg_audit_recovery rec;
    hg_audit_recovery_report(log, &rec);
    assert_true(rec.created);
    assert_int_equal(rec.warnings, 0);
    uint64_t idx = 99;
    assert_int_equal(append_n(log, "basic", 100, &idx), HG_OK);
    assert_int_equal(idx, 99);
    uint64_t size;
    uint8_t root[32], root2[32];
    hg_audit_state(log, &size, root);
    assert_int_equal(size, 100);
    struct hg_err err;
    assert_int_equal(hg_audit_root_at(log, 100, root2, &err), HG_OK);
    assert_memory_equal(root, root2, 32);

    struct collect c = {0};
    assert_int_equal(hg_audit_read(log, 0, 1000, collect_cb, &c, &err), HG_OK);
    assert_int_equal(c.n, 100);
    assert_non_null(strstr(c.last, "\"request_id\":\"basic-99\""));
    struct collect c2 = {.n = 37};
    assert_int_equal(hg_audit_read(log, 37, 40, collect_cb, &c2, &err), HG_OK);
    assert_int_equal(c2.n, 40);

    /* A checkpoint, then proofs checked against it with only the vkey. */
    assert_int_equal(hg_audit_checkpoint_now(log, &err), HG_OK);
    struct hg_buf cpb;
    hg_buf_init(&cpb, HG_AUDIT_NOTE_MAX);
    uint64_t cpsize = 0;
    assert_int_equal(hg_audit_latest_checkpoint(log, &cpb, &cpsize, &err), HG_OK);
    assert_int_equal(cpsize, 100);
    struct hg_audit_verifier v;
    const char *vk = hg_audit_vkey(log);
    assert_int_equal(hg_audit_verifier_parse(vk, strlen(vk), &v, &err), HG_OK);
    assert_string_equal(v.name, "haulgate.test/audit");
    struct hg_audit_checkpoint cp;
    assert_int_equal(hg_audit_checkpoint_open(cpb.data, cpb.len, &v, &cp, &err), HG_OK);
    assert_int_equal(cp.size, 100);
    assert_memory_equal(cp.root, root, 32);
    struct hg_merkle_hasher h;
    assert_int_equal(hg_merkle_hasher_init(&h), HG_OK);
    for (uint64_t i = 0; i < 100; i++) {
        struct hg_audit_proof_doc d;
        assert_int_equal(hg_audit_prove_inclusion(log, i, 100, &d, &err), HG_OK);
        assert_int_equal(hg_merkle_verify_inclusion(&h, i, 100, d.leaf_hash,
                                                    (const uint8_t(*)[32])d.proof.hashes,
                                                    d.proof.count, cp.root), HG_OK);
        /* JSON round trip */
        struct hg_buf j;
        hg_buf_init(&j, HG_AUDIT_PROOF_JSON_MAX);
        assert_int_equal(hg_audit_proof_to_json(&d, NULL, &j), HG_OK);
        struct hg_audit_proof_doc back;
        assert_int_equal(hg_audit_proof_from_json(j.data, j.len, &back, &err), HG_OK);
        assert_int_equal(back.a, i);
        assert_int_equal(back.proof.count, d.proof.count);
        assert_memory_equal(back.proof.hashes, d.proof.hashes, 32 * d.proof.count);
        hg_buf_cleanup(&j);
    }
    for (uint64_t m = 0; m <= 100; m += 7) {
        struct hg_audit_proof_doc d;
        assert_int_equal(hg_audit_prove_consistency(log, m, 100, &d, &err), HG_OK);
        assert_int_equal(hg_merkle_verify_consistency(&h, m, 100, d.from_root, cp.root,
                                                      (const uint8_t(*)[32])d.proof.hashes,
                                                      d.proof.count), HG_OK);
    }
    struct hg_audit_proof_doc d;
    assert_int_equal(hg_audit_prove_inclusion(log, 5, 101, &d, &err), HG_EINVAL);
    assert_int_equal(hg_audit_prove_inclusion(log, 100, 100, &d, &err), HG_EINVAL);
    hg_merkle_hasher_cleanup(&h);
    hg_audit_verifier_cleanup(&v);
    hg_buf_cleanup(&cpb);

    /* audit.checkpoint is not appendable; bad records are refused. */
    struct hg_audit_record bad = {.service = "s", .event_type = "audit.checkpoint",
                                  .request_id = "r", .decision = "none"};
    assert_int_equal(hg_audit_append(log, &bad, &idx, &err), HG_EINVAL);
    bad.event_type = "nope";
    assert_int_equal(hg_audit_append(log, &bad, &idx, &err), HG_EINVAL);
    assert_int_equal(hg_audit_close(log, &err), HG_OK);

    /* A second writer is refused while one is open; reopen restores state. */
    log = open_log(dir, 1000, 0);
    struct hg_audit_options o;
    hg_audit_options_init(&o);
    struct hg_audit_log *other = NULL;
    assert_int_equal(hg_audit_open(dir, &o, &other, &err), HG_EBUSY);
    o.origin = "another.origin/x";
    hg_audit_recovery_report(log, &rec);
    assert_false(rec.created);
    assert_int_equal(rec.warnings, 0);
    assert_int_equal(rec.records, 100);
    hg_audit_state(log, &size, root2);
    assert_int_equal(size, 100);
    assert_memory_equal(root, root2, 32);
    assert_int_equal(hg_audit_close(log, &err), HG_OK);
    assert_int_equal(hg_audit_open(dir, &o, &other, &err), HG_ECONFIG);
    assert_non_null(strstr(hg_err_msg(&err), "haulgate.test/audit"));

    /* Read-only access serves what is signed. */
    hg_audit_options_init(&o);
    o.read_only = 1;
    assert_int_equal(hg_audit_open(dir, &o, &other, &err), HG_OK);
    hg_audit_state(other, &size, root2);
    assert_int_equal(size, 100);
    assert_memory_equal(root, root2, 32);
    assert_int_equal(hg_audit_append(other, &bad, &idx, &err), HG_EINVAL);
    assert_int_equal(hg_audit_close(other, &err), HG_OK);

    expect_verify_ok(dir, 100);
    struct stat sb;
    char kp[512];
    snprintf(kp, sizeof kp, "%s/audit.key", dir);
    assert_int_equal(stat(kp, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    rm_rf(dir);
    free(dir);
}

static void segments_roll_and_reopen(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    struct hg_audit_log *log = open_log(dir, 7, 2048);
    uint64_t idx;
    assert_int_equal(append_n(log, "roll", 60, &idx), HG_OK);
    struct hg_err err;
    assert_int_equal(hg_audit_close(log, &err), HG_OK);
    uint64_t *firsts = NULL;
    size_t n = 0;
    char segdir[512];
    snprintf(segdir, sizeof segdir, "ls %s/segments/*.seg | wc -l > %s/count", dir, dir);
    assert_int_equal(system(segdir), 0);
    (void)firsts;
    (void)n;
    char cpath[512], buf[32];
    snprintf(cpath, sizeof cpath, "%s/count", dir);
    FILE *f = fopen(cpath, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    unlink(cpath);
    assert_true(atoi(buf) > 5);
    log = open_log(dir, 7, 2048);
    struct collect c = {0};
    assert_int_equal(hg_audit_read(log, 0, 60, collect_cb, &c, &err), HG_OK);
    assert_int_equal(c.n, 60);
    assert_int_equal(append_n(log, "roll2", 5, &idx), HG_OK);
    assert_int_equal(idx, 64);
    assert_int_equal(hg_audit_close(log, &err), HG_OK);
    expect_verify_ok(dir, 65);
    rm_rf(dir);
    free(dir);
}

struct async_ctx {
    pthread_mutex_t mu;
    uint64_t calls;
    uint8_t *seen;
    int bad;
};

static void async_done(void *ctx, hg_status st, uint64_t index)
{
    struct async_ctx *a = ctx;
    pthread_mutex_lock(&a->mu);
    if (st != HG_OK || index >= 2000 || a->seen[index])
        a->bad = 1;
    else
        a->seen[index] = 1;
    a->calls++;
    pthread_mutex_unlock(&a->mu);
}

static void async_appends(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    struct hg_audit_log *log = open_log(dir, 500, 0);
    struct async_ctx a = {.mu = PTHREAD_MUTEX_INITIALIZER, .seen = calloc(2000, 1)};
    struct hg_err err;
    for (int i = 0; i < 2000; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "async-%d", i);
        struct hg_audit_record r = {.service = "test", .event_type = "authn.failure",
                                    .request_id = rid, .decision = "deny", .reason = "no cert"};
        hg_status st;
        while ((st = hg_audit_append_async(log, &r, async_done, &a, &err)) == HG_EBUSY)
            usleep(100);
        assert_int_equal(st, HG_OK);
    }
    struct hg_audit_record r = {.service = "test", .event_type = "authn.failure",
                                .request_id = "x", .decision = "deny"};
    assert_int_equal(hg_audit_append_async(log, &r, NULL, NULL, &err), HG_EINVAL);
    assert_int_equal(hg_audit_close(log, &err), HG_OK); /* drains */
    assert_int_equal(a.calls, 2000);
    assert_false(a.bad);
    free(a.seen);
    expect_verify_ok(dir, 2000);
    rm_rf(dir);
    free(dir);
}

/* Records encoded earlier (the store's audit write-ahead rows) are
 * appended byte for byte; anything not canonical, or not an in-tree type,
 * is refused and nothing is appended. */
static void append_encoded(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    struct hg_audit_log *log = open_log(dir, 1000, 0);
    json_t *d = json_pack("{s:s, s:s, s:s, s:i}", "tender_id", "t-1", "from", "pending", "to",
                          "offered", "version", 2);
    const char *roles[] = {"tms"};
    struct hg_audit_record r = {.timestamp_ms = 1763700000000, .service = "test",
                                .event_type = "tender.transitioned", .request_id = "rq-1",
                                .identity = {.subject = "tms", .roles = roles, .nroles = 1},
                                .decision = "allow", .details = d};
    struct hg_buf b;
    hg_buf_init(&b, HG_AUDIT_RECORD_MAX);
    struct hg_err err;
    assert_int_equal(hg_audit_record_encode(&r, &b, &err), HG_OK);
    json_decref(d);
    uint64_t idx = 99;
    assert_int_equal(hg_audit_append_encoded(log, b.data, b.len, &idx, &err), HG_OK);
    assert_int_equal(idx, 0);
    /* not canonical: a space after the first brace */
    char *bad = malloc(b.len + 2);
    bad[0] = '{';
    bad[1] = ' ';
    memcpy(bad + 2, b.data + 1, b.len - 1);
    assert_int_not_equal(hg_audit_append_encoded(log, bad, b.len + 1, &idx, &err), HG_OK);
    free(bad);
    assert_int_not_equal(hg_audit_append_encoded(log, "{}", 2, &idx, &err), HG_OK);
    /* canonical, but a type that never goes into the tree */
    json_t *cd = json_pack("{s:i, s:s}", "tree_size", 1, "root_hash", "x");
    struct hg_audit_record cp = {.timestamp_ms = 1763700000000, .service = "test",
                                 .event_type = "audit.checkpoint", .request_id = "rq-2",
                                 .decision = "none", .details = cd};
    struct hg_buf cb;
    hg_buf_init(&cb, HG_AUDIT_RECORD_MAX);
    assert_int_equal(hg_audit_record_encode(&cp, &cb, &err), HG_OK);
    json_decref(cd);
    assert_int_equal(hg_audit_append_encoded(log, cb.data, cb.len, &idx, &err), HG_EINVAL);
    assert_non_null(strstr(hg_err_msg(&err), "audit.checkpoint"));
    hg_buf_cleanup(&cb);
    assert_int_not_equal(hg_audit_append_encoded(log, "not json", 8, &idx, &err), HG_OK);
    struct collect c = {0};
    assert_int_equal(hg_audit_read(log, 0, 10, collect_cb, &c, &err), HG_OK);
    assert_int_equal(c.n, 1);
    assert_memory_equal(c.last, b.data, b.len);
    assert_int_equal(hg_audit_close(log, &err), HG_OK);
    hg_buf_cleanup(&b);
    expect_verify_ok(dir, 1);
    rm_rf(dir);
    free(dir);
}

#define THREADS 4
#define PER_THREAD 1500

struct thr {
    struct hg_audit_log *log;
    int id;
    uint64_t idx[PER_THREAD];
    hg_status st;
};

static void *thr_main(void *arg)
{
    struct thr *t = arg;
    for (int i = 0; i < PER_THREAD && t->st == HG_OK; i++) {
        char rid[48];
        snprintf(rid, sizeof rid, "thr%d-%d", t->id, i);
        json_t *d = json_pack("{s:s}", "client_id", rid);
        struct hg_audit_record r = {.service = "test", .event_type = "token.issued",
                                    .request_id = rid, .decision = "allow", .details = d};
        struct hg_err err;
        t->st = hg_audit_append(t->log, &r, &t->idx[i], &err);
        json_decref(d);
    }
    return NULL;
}

static void concurrent_appends(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    struct hg_audit_log *log = open_log(dir, 1000, 0);
    static struct thr t[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        t[i].log = log;
        t[i].id = i;
        t[i].st = HG_OK;
        assert_int_equal(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    uint8_t *seen = calloc(THREADS * PER_THREAD, 1);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(t[i].st, HG_OK);
        for (int k = 0; k < PER_THREAD; k++) {
            assert_true(t[i].idx[k] < THREADS * PER_THREAD);
            assert_false(seen[t[i].idx[k]]);
            seen[t[i].idx[k]] = 1;
            if (k)
                assert_true(t[i].idx[k] > t[i].idx[k - 1]); /* per-thread order kept */
        }
    }
    free(seen); /* unique + count == range size → dense */
    uint64_t size;
    hg_audit_state(log, &size, NULL);
    assert_int_equal(size, THREADS * PER_THREAD);
    struct hg_err err;
    assert_int_equal(hg_audit_close(log, &err), HG_OK);
    expect_verify_ok(dir, THREADS * PER_THREAD);
    rm_rf(dir);
    free(dir);
}

struct hook {
    uint64_t sizes[64];
    int n;
    int bad;
};

static void hook_cb(void *ctx, const struct hg_audit_checkpoint_event *ev)
{
    struct hook *h = ctx;
    struct hg_err err;
    if (hg_audit_record_check(ev->record, ev->record_len, &err) != HG_OK ||
        !strstr(ev->record, "\"event_type\":\"audit.checkpoint\"") ||
        strncmp(ev->note, "haulgate.test/audit\n", 20) != 0)
        h->bad = 1;
    if (h->n < 64)
        h->sizes[h->n++] = ev->size;
}

static void checkpoint_hook(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    struct hook hk = {0};
    struct hg_audit_options o;
    hg_audit_options_init(&o);
    o.origin = "haulgate.test/audit";
    o.checkpoint_every = 10;
    o.checkpoint_interval_ms = 60000;
    o.on_checkpoint = hook_cb;
    o.on_checkpoint_ctx = &hk;
    struct hg_audit_log *log = NULL;
    struct hg_err err;
    assert_int_equal(hg_audit_open(dir, &o, &log, &err), HG_OK);
    uint64_t idx;
    assert_int_equal(append_n(log, "hook", 35, &idx), HG_OK);
    assert_int_equal(hg_audit_close(log, &err), HG_OK);
    assert_false(hk.bad);
    /* empty tree at creation, then every 10 (sync appends: one per batch),
     * then the final one at close */
    assert_int_equal(hk.n, 5);
    assert_int_equal(hk.sizes[0], 0);
    assert_int_equal(hk.sizes[1], 10);
    assert_int_equal(hk.sizes[3], 30);
    assert_int_equal(hk.sizes[4], 35);
    /* time-driven checkpoints: interval 50 ms */
    hk.n = 0;
    o.checkpoint_every = 100000;
    o.checkpoint_interval_ms = 50;
    assert_int_equal(hg_audit_open(dir, &o, &log, &err), HG_OK);
    assert_int_equal(append_n(log, "timer", 3, &idx), HG_OK);
    usleep(300 * 1000);
    assert_true(hk.n >= 1);
    assert_int_equal(hk.sizes[hk.n - 1], 38);
    assert_int_equal(hg_audit_close(log, &err), HG_OK);
    expect_verify_ok(dir, 38);
    rm_rf(dir);
    free(dir);
}

static long file_size(const char *p)
{
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    return (long)sb.st_size;
}

static void torn_tail_repaired_and_reported(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    struct hg_audit_log *log = open_log(dir, 1000, 0);
    uint64_t idx;
    assert_int_equal(append_n(log, "torn", 20, &idx), HG_OK);
    struct hg_err err;
    /* Ten records after the last checkpoint, then "crash" mid-write: we
     * simulate by cutting the last record in half after close. */
    assert_int_equal(hg_audit_checkpoint_now(log, &err), HG_OK);
    assert_int_equal(hg_audit_close(log, &err), HG_OK);
    char seg[512];
    snprintf(seg, sizeof seg, "%s/segments/%020d.seg", dir, 0);
    long len = file_size(seg);
    /* Append half a frame (as a torn write would). */
    int fd = open(seg, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    uint8_t junk[40] = {0x50, 0, 0, 0, 1, 2, 3, 4, 20, 0, 0, 0, 0, 0, 0, 0, 'x'};
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    struct hg_audit_verify_report rep;
    assert_int_equal(hg_audit_verify_dir(dir, NULL, &rep, &err), HG_OK);
    assert_false(rep.ok);
    assert_int_equal(rep.fault, HG_AUDIT_FAULT_TRUNCATED);
    assert_int_equal(rep.index, 20);

    log = open_log(dir, 1000, 0);
    struct hg_audit_recovery rec;
    hg_audit_recovery_report(log, &rec);
    assert_int_equal(rec.torn_bytes, sizeof junk);
    assert_true(rec.warnings >= 1);
    assert_non_null(strstr(rec.message, "torn tail"));
    assert_non_null(strstr(rec.message, ".torn-")); /* the cut bytes were kept */
    assert_int_equal(rec.records, 20);
    assert_int_equal(file_size(seg), len);
    assert_int_equal(append_n(log, "after", 2, &idx), HG_OK);
    assert_int_equal(idx, 21);
    assert_int_equal(hg_audit_close(log, &err), HG_OK);
    expect_verify_ok(dir, 22);

    /* Hash file lost or behind: rebuilt from the records, and reported. */
    char hp[512];
    snprintf(hp, sizeof hp, "%s/tree.hashes", dir);
    assert_int_equal(truncate(hp, 100), 0);
    log = open_log(dir, 1000, 0);
    hg_audit_recovery_report(log, &rec);
    assert_int_equal(rec.records, 22);
    assert_true(rec.hashes_rebuilt >= 22);
    assert_int_equal(hg_audit_close(log, &err), HG_OK);
    expect_verify_ok(dir, 22);
    /* Hash file garbage on the right edge: detected against the signed root
     * and rebuilt. Node (level 4, index 0) is on the frontier of 22 leaves. */
    fd = open(hp, O_WRONLY);
    assert_int_equal(pwrite(fd, "garbage!", 8, (off_t)(hg_merkle_node_position(4, 0) * 32)), 8);
    close(fd);
    log = open_log(dir, 1000, 0);
    hg_audit_recovery_report(log, &rec);
    assert_non_null(strstr(rec.message, "rebuilt"));
    assert_int_equal(hg_audit_close(log, &err), HG_OK);
    expect_verify_ok(dir, 22);
    rm_rf(dir);
    free(dir);
}

/* ----------------------------------------------------------- crash test */

struct ack {
    uint64_t index;
    uint32_t thread, n;
};

struct crash_thr {
    struct hg_audit_log *log;
    int fd;
    uint32_t id;
};

static void *crash_thr_main(void *arg)
{
    struct crash_thr *t = arg;
    for (uint32_t i = 0;; i++) {
        char rid[48];
        snprintf(rid, sizeof rid, "crash-%u-%u", t->id, i);
        struct hg_audit_record r = {.service = "test", .event_type = "authn.failure",
                                    .request_id = rid, .decision = "deny", .reason = "burst"};
        struct ack a = {0, t->id, i};
        struct hg_err err;
        if (hg_audit_append(t->log, &r, &a.index, &err) != HG_OK)
            _exit(3);
        if (write(t->fd, &a, sizeof a) != (ssize_t)sizeof a) /* atomic: < PIPE_BUF */
            _exit(4);
    }
    return NULL;
}

struct find_ctx {
    struct ack *acks;
    size_t nacks;
    uint8_t *ok;
};

static int crash_check(void *ctx, uint64_t index, const char *data, size_t len)
{
    struct find_ctx *f = ctx;
    for (size_t i = 0; i < f->nacks; i++)
        if (f->acks[i].index == index) {
            char want[64];
            snprintf(want, sizeof want, "\"request_id\":\"crash-%u-%u\"", f->acks[i].thread,
                     f->acks[i].n);
            char *rec = strndup(data, len);
            if (strstr(rec, want))
                f->ok[i] = 1;
            free(rec);
        }
    return 0;
}

static void crash_kill9(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        struct hg_audit_options o;
        hg_audit_options_init(&o);
        o.origin = "haulgate.test/audit";
        o.checkpoint_every = 50;
        struct hg_audit_log *log = NULL;
        struct hg_err err;
        if (hg_audit_open(dir, &o, &log, &err) != HG_OK)
            _exit(2);
        struct crash_thr t[4];
        pthread_t th[4];
        for (uint32_t i = 0; i < 4; i++) {
            t[i] = (struct crash_thr){log, p[1], i};
            pthread_create(&th[i], NULL, crash_thr_main, &t[i]);
        }
        pthread_join(th[0], NULL);
        _exit(0);
    }
    close(p[1]);
    size_t cap = 1 << 16, n = 0;
    struct ack *acks = malloc(cap * sizeof *acks);
    int killed = 0;
    for (;;) {
        struct ack a;
        ssize_t r = read(p[0], &a, sizeof a);
        if (r == 0)
            break;
        assert_int_equal(r, (ssize_t)sizeof a);
        if (n < cap)
            acks[n++] = a;
        if (n == 1500 && !killed) {
            kill(pid, SIGKILL); /* mid-burst: more appends are in flight */
            killed = 1;
        }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    close(p[0]);
    assert_true(n >= 1500);

    struct hg_audit_log *log = open_log(dir, 1000, 0);
    uint64_t size;
    hg_audit_state(log, &size, NULL);
    for (size_t i = 0; i < n; i++)
        assert_true(acks[i].index < size);
    struct find_ctx f = {acks, n, calloc(n, 1)};
    struct hg_err err;
    assert_int_equal(hg_audit_read(log, 0, size, crash_check, &f, &err), HG_OK);
    for (size_t i = 0; i < n; i++)
        if (!f.ok[i])
            fail_msg("acknowledged record %llu (crash-%u-%u) is not in the log",
                     (unsigned long long)acks[i].index, acks[i].thread, acks[i].n);
    print_message("crash test: %zu acknowledged, %llu in the log after kill -9\n", n,
                  (unsigned long long)size);
    assert_int_equal(hg_audit_close(log, &err), HG_OK);
    expect_verify_ok(dir, size);
    free(f.ok);
    free(acks);
    rm_rf(dir);
    free(dir);
}

/* ---------------------------------------------------------- tamper suite */

struct image {
    uint8_t *p;
    size_t n;
};

static struct image slurp(const char *path)
{
    struct image im = {0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    im.n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    im.p = malloc(im.n + 1);
    assert_int_equal(fread(im.p, 1, im.n, f), im.n);
    fclose(f);
    return im;
}

static void spit(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* Offsets of each frame in a file image. */
static size_t frames(const struct image *im, size_t *offs, size_t max)
{
    size_t off = HG_AUDIT_FILE_HDR, k = 0;
    while (off < im->n && k < max) {
        struct hg_audit_frame f;
        assert_int_equal(hg_audit_frame_decode(im->p + off, im->n - off, 1 << 20, &f),
                         HG_AUDIT_FRAME_OK);
        offs[k++] = off;
        off += f.size;
    }
    offs[k] = off;
    return k;
}

static const char *src_dir;

static int tamper_setup(void **state)
{
    char *dir = mkdir_tmp();
    struct hg_audit_log *log = open_log(dir, 10, 0);
    uint64_t idx;
    assert_int_equal(append_n(log, "tamper", 50, &idx), HG_OK);
    struct hg_err err;
    assert_int_equal(hg_audit_close(log, &err), HG_OK);
    expect_verify_ok(dir, 50);
    src_dir = dir;
    *state = dir;
    return 0;
}

static int tamper_teardown(void **state)
{
    rm_rf(*state);
    free(*state);
    return 0;
}

static void expect_fault(const char *dir, const char *vkey, enum hg_audit_fault f, uint64_t index,
                         const char *words)
{
    struct hg_audit_verify_report rep;
    struct hg_err err;
    assert_int_equal(hg_audit_verify_dir(dir, vkey, &rep, &err), HG_OK);
    if (rep.ok || rep.fault != f || (f <= HG_AUDIT_FAULT_TRUNCATED && rep.index != index) ||
        !strstr(rep.message, words))
        fail_msg("expected %s at %llu (\"%s\"), got %s at %llu: %s", hg_audit_fault_name(f),
                 (unsigned long long)index, words, hg_audit_fault_name(rep.fault),
                 (unsigned long long)rep.index, rep.message);
}

static void tamper_records(void **state)
{
    const char *orig = *state;
    char work[512], seg[600];
    snprintf(work, sizeof work, "%s.work", orig);
    snprintf(seg, sizeof seg, "%s/segments/%020d.seg", work, 0);
    size_t offs[128];

    /* 1. flip one byte in record 17 */
    copy_dir(orig, work);
    struct image im = slurp(seg);
    assert_int_equal(frames(&im, offs, 127), 50);
    im.p[offs[17] + HG_AUDIT_FRAME_HDR + 30] ^= 0x01;
    spit(seg, im.p, im.n);
    expect_fault(work, NULL, HG_AUDIT_FAULT_MODIFIED, 17, "record 17 was modified");
    free(im.p);

    /* 2. the same, with the CRC recomputed (an attacker who knows the format) */
    copy_dir(orig, work);
    im = slurp(seg);
    frames(&im, offs, 127);
    uint8_t *fr = im.p + offs[17];
    uint32_t len = (uint32_t)(offs[18] - offs[17] - HG_AUDIT_FRAME_HDR);
    fr[HG_AUDIT_FRAME_HDR + 30] ^= 0x01;
    hg_audit_frame_header_encode(fr, 17, fr + HG_AUDIT_FRAME_HDR, len);
    spit(seg, im.p, im.n);
    expect_fault(work, NULL, HG_AUDIT_FAULT_MODIFIED, 17, "record 17 was modified");
    free(im.p);

    /* 3. delete record 20 */
    copy_dir(orig, work);
    im = slurp(seg);
    frames(&im, offs, 127);
    memmove(im.p + offs[20], im.p + offs[21], im.n - offs[21]);
    spit(seg, im.p, im.n - (offs[21] - offs[20]));
    expect_fault(work, NULL, HG_AUDIT_FAULT_MISSING, 20, "missing");
    free(im.p);

    /* 4. swap records 20 and 21 (whole frames) */
    copy_dir(orig, work);
    im = slurp(seg);
    frames(&im, offs, 127);
    {
        size_t a = offs[21] - offs[20], b = offs[22] - offs[21];
        uint8_t *tmp = malloc(a + b);
        memcpy(tmp, im.p + offs[21], b);
        memcpy(tmp + b, im.p + offs[20], a);
        memcpy(im.p + offs[20], tmp, a + b);
        free(tmp);
    }
    spit(seg, im.p, im.n);
    expect_fault(work, NULL, HG_AUDIT_FAULT_REORDERED, 20, "out of order");
    free(im.p);

    /* 5. swap the contents of 20 and 21, renumbered and re-CRC'd */
    copy_dir(orig, work);
    im = slurp(seg);
    frames(&im, offs, 127);
    {
        size_t a = offs[21] - offs[20], b = offs[22] - offs[21];
        uint8_t *tmp = malloc(a + b);
        memcpy(tmp, im.p + offs[21], b);
        memcpy(tmp + b, im.p + offs[20], a);
        hg_audit_frame_header_encode(tmp, 20, tmp + HG_AUDIT_FRAME_HDR,
                                     (uint32_t)(b - HG_AUDIT_FRAME_HDR));
        hg_audit_frame_header_encode(tmp + b, 21, tmp + b + HG_AUDIT_FRAME_HDR,
                                     (uint32_t)(a - HG_AUDIT_FRAME_HDR));
        memcpy(im.p + offs[20], tmp, a + b);
        free(tmp);
    }
    spit(seg, im.p, im.n);
    expect_fault(work, NULL, HG_AUDIT_FAULT_REORDERED, 20, "content of record 21");
    free(im.p);

    /* 6. truncate at a record boundary: 30 of 50 records left */
    copy_dir(orig, work);
    im = slurp(seg);
    frames(&im, offs, 127);
    assert_int_equal(truncate(seg, (off_t)offs[30]), 0);
    expect_fault(work, NULL, HG_AUDIT_FAULT_TRUNCATED, 30, "were removed");
    /* and in the middle of a record */
    assert_int_equal(truncate(seg, (off_t)offs[30] - 5), 0);
    expect_fault(work, NULL, HG_AUDIT_FAULT_TRUNCATED, 29, "incomplete");
    free(im.p);

    /* 7. a modified record also caught by `open` (refuses, points to verify) */
    copy_dir(orig, work);
    im = slurp(seg);
    frames(&im, offs, 127);
    fr = im.p + offs[5];
    len = (uint32_t)(offs[6] - offs[5] - HG_AUDIT_FRAME_HDR);
    fr[HG_AUDIT_FRAME_HDR + 10] ^= 0x20;
    hg_audit_frame_header_encode(fr, 5, fr + HG_AUDIT_FRAME_HDR, len);
    spit(seg, im.p, im.n);
    char hp[600];
    snprintf(hp, sizeof hp, "%s/tree.hashes", work);
    unlink(hp); /* hide the trail: the stored tree is rebuilt from the records */
    expect_fault(work, NULL, HG_AUDIT_FAULT_MODIFIED, 0, "do not match signed checkpoint #1");
    struct hg_audit_options o;
    hg_audit_options_init(&o);
    struct hg_audit_log *log = NULL;
    struct hg_err err;
    assert_int_equal(hg_audit_open(work, &o, &log, &err), HG_ECORRUPT);
    assert_non_null(strstr(hg_err_msg(&err), "haulctl audit verify"));
    free(im.p);
    rm_rf(work);
}

static void rewrite_checkpoint(const char *cpfile, size_t which, const char *note, size_t len,
                               int drop)
{
    struct image im = slurp(cpfile);
    size_t offs[256];
    size_t n = frames(&im, offs, 255);
    assert_true(which < n);
    uint8_t *out = malloc(im.n + HG_AUDIT_NOTE_MAX);
    size_t o = offs[which];
    memcpy(out, im.p, o);
    if (!drop) {
        o += hg_audit_frame_header_encode(out + o, which, note, (uint32_t)len) - len;
        memcpy(out + o, note, len);
        o += len;
    }
    memcpy(out + o, im.p + offs[which + 1], im.n - offs[which + 1]);
    o += im.n - offs[which + 1];
    spit(cpfile, out, o);
    free(out);
    free(im.p);
}

static void tamper_checkpoints(void **state)
{
    const char *orig = *state;
    char work[512], cpf[600], kp[600];
    snprintf(work, sizeof work, "%s.work", orig);
    snprintf(cpf, sizeof cpf, "%s/checkpoints.log", work);
    snprintf(kp, sizeof kp, "%s/audit.key", work);
    /* Checkpoints: #0 size 0, #1 10, #2 20, ... #5 50. */
    struct hg_err err;

    /* 1. edit the root of checkpoint #2, keep its signature */
    copy_dir(orig, work);
    struct image im = slurp(cpf);
    size_t offs[64];
    assert_int_equal(frames(&im, offs, 63), 6);
    char note[HG_AUDIT_NOTE_MAX];
    size_t nlen = offs[3] - offs[2] - HG_AUDIT_FRAME_HDR;
    memcpy(note, im.p + offs[2] + HG_AUDIT_FRAME_HDR, nlen);
    note[nlen] = 0;
    assert_non_null(strstr(note, "\n20\n"));
    char *rootline = strstr(note, "\n20\n") + 4;
    rootline[0] = rootline[0] == 'A' ? 'B' : 'A';
    rewrite_checkpoint(cpf, 2, note, nlen, 0);
    expect_fault(work, NULL, HG_AUDIT_FAULT_BAD_SIGNATURE, 0, "checkpoint #2");
    free(im.p);

    /* 2. replace checkpoint #3 by one validly signed with the log's own key
     *    (a stolen key, or a forked log) but over a different tree */
    copy_dir(orig, work);
    struct hg_sign_key *key = NULL;
    assert_int_equal(hg_sign_key_load_pem(kp, &key, &err), HG_OK);
    struct hg_audit_checkpoint cp = {.origin = "haulgate.test/audit", .size = 30};
    memset(cp.root, 0x42, 32);
    char text[256];
    size_t tlen;
    assert_int_equal(hg_audit_checkpoint_format(&cp, text, sizeof text, &tlen), HG_OK);
    struct hg_buf nb;
    hg_buf_init(&nb, HG_AUDIT_NOTE_MAX);
    assert_int_equal(hg_audit_note_sign(text, tlen, cp.origin, key, &nb, &err), HG_OK);
    rewrite_checkpoint(cpf, 3, nb.data, nb.len, 0);
    expect_fault(work, NULL, HG_AUDIT_FAULT_INCONSISTENT, 0, "checkpoint #3");
    hg_buf_cleanup(&nb);
    hg_sign_key_free(key);

    /* 3. forge: sign a checkpoint with another key under the same name */
    copy_dir(orig, work);
    assert_int_equal(hg_sign_key_generate(HG_SIGN_ED25519, &key, &err), HG_OK);
    im = slurp(cpf);
    frames(&im, offs, 63);
    nlen = offs[5] - offs[4] - HG_AUDIT_FRAME_HDR;
    memcpy(note, im.p + offs[4] + HG_AUDIT_FRAME_HDR, nlen);
    size_t textlen = (size_t)(strstr(note, "\n\n") - note) + 1;
    hg_buf_init(&nb, HG_AUDIT_NOTE_MAX);
    assert_int_equal(hg_audit_note_sign(note, textlen, "haulgate.test/audit", key, &nb, &err), HG_OK);
    rewrite_checkpoint(cpf, 4, nb.data, nb.len, 0);
    expect_fault(work, NULL, HG_AUDIT_FAULT_BAD_SIGNATURE, 0, "no signature by the trusted key");
    hg_buf_cleanup(&nb);
    free(im.p);

    /* 4. and a whole log (records + checkpoints) re-signed by an attacker's
     *    key: caught when the published key is pinned with --key */
    copy_dir(orig, work);
    struct hg_audit_verifier v;
    assert_int_equal(hg_audit_verifier_from_key("haulgate.test/audit", key, &v, &err), HG_OK);
    char other_vkey[HG_AUDIT_VKEY_MAX];
    assert_int_equal(hg_audit_verifier_format(&v, other_vkey, sizeof other_vkey), HG_OK);
    expect_fault(work, other_vkey, HG_AUDIT_FAULT_BAD_SIGNATURE, 0, "checkpoint #0");
    hg_audit_verifier_cleanup(&v);
    hg_sign_key_free(key);

    /* 5. delete checkpoint #1 */
    copy_dir(orig, work);
    rewrite_checkpoint(cpf, 1, NULL, 0, 1);
    expect_fault(work, NULL, HG_AUDIT_FAULT_CORRUPT, 0, "removed or reordered");
    rm_rf(work);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(basic_append_read_prove),
        cmocka_unit_test(segments_roll_and_reopen),
        cmocka_unit_test(async_appends),
        cmocka_unit_test(append_encoded),
        cmocka_unit_test(concurrent_appends),
        cmocka_unit_test(checkpoint_hook),
        cmocka_unit_test(torn_tail_repaired_and_reported),
        cmocka_unit_test(crash_kill9),
        cmocka_unit_test_setup_teardown(tamper_records, tamper_setup, tamper_teardown),
        cmocka_unit_test_setup_teardown(tamper_checkpoints, tamper_setup, tamper_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
