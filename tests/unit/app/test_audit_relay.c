/* SPDX-License-Identifier: Apache-2.0
 *
 * test_audit_relay.c — audit write-ahead rows move from the store into the
 * Merkle log exactly once: in store order, deleted from the store only once
 * durable in the log, and never appended twice after a crash that left
 * them in both places.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/audit_relay.h"
#include "audit/audit_log.h"
#include "common/buf.h"
#include "store/store.h"

struct fx {
    char dir[64];
    char db[128];
    char audit[128];
    struct hg_store *st;
    struct hg_audit_log *log;
};

static void open_all(struct fx *f)
{
    struct hg_store_opts o = {.backend = "sqlite", .path = f->db, .durability_full = 0,
                              .queue_max = 64, .batch_max = 16};
    struct hg_err err;
    hg_err_clear(&err);
    if (hg_store_open(&o, &f->st, &err) != HG_OK)
        fail_msg("store: %s", hg_err_msg(&err));
    struct hg_audit_options ao;
    hg_audit_options_init(&ao);
    ao.origin = "haulgate.test/audit";
    ao.checkpoint_interval_ms = 60000;
    if (hg_audit_open(f->audit, &ao, &f->log, &err) != HG_OK)
        fail_msg("audit: %s", hg_err_msg(&err));
}

static void close_all(struct fx *f)
{
    struct hg_err err;
    hg_store_close(f->st);
    f->st = NULL;
    assert_int_equal(hg_audit_close(f->log, &err), HG_OK);
    f->log = NULL;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/hg-relay-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/db", f->dir);
    snprintf(f->audit, sizeof f->audit, "%s/audit", f->dir);
    open_all(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->st || f->log)
        close_all(f);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* One canonical tender.transitioned record for tender t, version v. */
static void encode(int t, int v, struct hg_buf *out)
{
    char tid[32];
    snprintf(tid, sizeof tid, "tender-%d", t);
    json_t *d = json_pack("{s:s, s:s, s:s, s:i}", "tender_id", tid, "from", "pending", "to",
                          "offered", "version", v);
    const char *roles[] = {"tms"};
    struct hg_audit_record r = {.timestamp_ms = 1763700000000 + t, .service = "test",
                                .event_type = "tender.transitioned", .request_id = tid,
                                .identity = {.subject = "tms", .roles = roles, .nroles = 1},
                                .decision = "allow", .details = d};
    struct hg_err err;
    hg_buf_init(out, HG_AUDIT_RECORD_MAX);
    assert_int_equal(hg_audit_record_encode(&r, out, &err), HG_OK);
    json_decref(d);
}

struct wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    hg_status result;
};

static void on_done(struct hg_store_write *w, void *arg)
{
    struct wait *x = arg;
    pthread_mutex_lock(&x->mu);
    x->done = 1;
    x->result = w->result;
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

/* Write records [from, to) as audit rows, one store job each. */
static void put_rows(struct fx *f, int from, int to)
{
    for (int i = from; i < to; i++) {
        struct hg_buf b;
        encode(i, 1, &b);
        struct hg_store_audit row = {.record = b.data, .record_len = b.len};
        struct wait x = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, HG_OK};
        struct hg_store_write w;
        memset(&w, 0, sizeof w);
        w.op = HG_SOP_NONE;
        w.audit = &row;
        w.naudit = 1;
        w.done = on_done;
        w.arg = &x;
        assert_int_equal(hg_store_submit(f->st, &w), HG_OK);
        pthread_mutex_lock(&x.mu);
        while (!x.done)
            pthread_cond_wait(&x.cv, &x.mu);
        pthread_mutex_unlock(&x.mu);
        assert_int_equal(x.result, HG_OK);
        hg_buf_cleanup(&b);
    }
}

struct seen {
    int n;
    int order_ok;
    int last;
    int dup;
    unsigned char mark[4096];
};

static int seen_cb(void *ctx, uint64_t index, const char *data, size_t len)
{
    struct seen *s = ctx;
    json_t *doc = json_loadb(data, len, 0, NULL);
    assert_non_null(doc);
    const char *tid = json_string_value(json_object_get(json_object_get(doc, "details"),
                                                         "tender_id"));
    if (!tid) { /* another kind of record */
        json_decref(doc);
        return 0;
    }
    int t = atoi(tid + 7);
    json_decref(doc);
    if (t < s->last)
        s->order_ok = 0;
    s->last = t;
    if (s->mark[t])
        s->dup = 1;
    s->mark[t] = 1;
    s->n++;
    return 0;
}

static void expect_log(struct fx *f, int n)
{
    struct seen s = {.order_ok = 1, .last = -1};
    struct hg_err err;
    assert_int_equal(hg_audit_read(f->log, 0, 1u << 30, seen_cb, &s, &err), HG_OK);
    assert_int_equal(s.n, n);
    assert_true(s.order_ok);
    assert_false(s.dup);
    for (int i = 0; i < n; i++)
        assert_int_equal(s.mark[i], 1);
}

static int64_t pending(struct fx *f)
{
    struct hg_store_counts c;
    assert_int_equal(hg_store_counts(f->st, &c), HG_OK);
    return c.audit_pending;
}

static void relays_in_order_and_deletes(void **state)
{
    struct fx *f = *state;
    put_rows(f, 0, 300);
    assert_int_equal(pending(f), 300);
    struct hg_audit_relay *r = NULL;
    struct hg_err err;
    assert_int_equal(hg_audit_relay_start(f->st, f->log, NULL, &r, &err), HG_OK);
    put_rows(f, 300, 700); /* more arrive while it runs */
    hg_audit_relay_kick(r);
    for (int i = 0; i < 500 && pending(f) > 0; i++)
        usleep(10000);
    assert_int_equal(hg_audit_relay_stop(r), HG_OK);
    assert_int_equal(pending(f), 0);
    expect_log(f, 700);
}

static void stop_drains_everything(void **state)
{
    struct fx *f = *state;
    struct hg_audit_relay *r = NULL;
    struct hg_err err;
    assert_int_equal(hg_audit_relay_start(f->st, f->log, NULL, &r, &err), HG_OK);
    put_rows(f, 0, 1200);
    assert_int_equal(hg_audit_relay_stop(r), HG_OK); /* at once: must still relay all */
    assert_int_equal(pending(f), 0);
    expect_log(f, 1200);
}

/* A crash after the log append and before the delete: the first 40 rows
 * are in both places (some other record in between, as in real life). */
static void no_duplicates_after_crash(void **state)
{
    struct fx *f = *state;
    put_rows(f, 0, 100);
    struct hg_err err;
    for (int i = 0; i < 40; i++) {
        struct hg_buf b;
        encode(i, 1, &b);
        assert_int_equal(hg_audit_append_encoded(f->log, b.data, b.len, NULL, &err), HG_OK);
        hg_buf_cleanup(&b);
        if (i == 20) {
            struct hg_audit_record other = {.service = "test", .event_type = "authn.failure",
                                            .request_id = "x", .decision = "deny"};
            assert_int_equal(hg_audit_append(f->log, &other, NULL, &err), HG_OK);
        }
    }
    close_all(f); /* "crash": both sides durable, rows not deleted */
    open_all(f);
    struct hg_audit_relay *r = NULL;
    assert_int_equal(hg_audit_relay_start(f->st, f->log, NULL, &r, &err), HG_OK);
    for (int i = 0; i < 500 && pending(f) > 0; i++)
        usleep(10000);
    assert_int_equal(hg_audit_relay_stop(r), HG_OK);
    assert_int_equal(pending(f), 0);
    /* 100 tender records, each once and in order, + 1 authn.failure */
    expect_log(f, 100);
    uint64_t size = 0;
    hg_audit_state(f->log, &size, NULL);
    assert_int_equal(size, 101);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(relays_in_order_and_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown(stop_drains_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(no_duplicates_after_crash, setup, teardown),
    };
    return cmocka_run_group_tests_name("app/audit_relay", tests, NULL, NULL);
}
