/* SPDX-License-Identifier: Apache-2.0
 *
 * test_checkpoint_pub.c — audit checkpoints become outbox events: a real
 * audit log signs checkpoints (through its hook) while records are
 * appended; each published event carries the tree size, the root hash and
 * the signed note exactly as the log serves it; sizes only grow; nothing
 * is published after stop; a malformed note is refused without a job.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/checkpoint_pub.h"
#include "audit/audit_log.h"
#include "common/buf.h"
#include "store/store.h"

static _Atomic(struct hg_ckpt_pub *) pub;

static void hook(void *ctx, const struct hg_audit_checkpoint_event *ev)
{
    (void)ctx;
    struct hg_ckpt_pub *p = atomic_load(&pub);
    if (p)
        hg_ckpt_pub_offer(p, ev->size, ev->note, ev->note_len);
}

static void rm_rf(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void publishes_checkpoints(void **state)
{
    (void)state;
    char dir[] = "/tmp/hg-ckpt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[128], adir[128];
    snprintf(db, sizeof db, "%s/db", dir);
    snprintf(adir, sizeof adir, "%s/audit", dir);
    struct hg_err err;
    hg_err_clear(&err);
    struct hg_store *st = NULL;
    struct hg_store_opts o = {.backend = "sqlite", .path = db, .durability_full = 0,
                              .queue_max = 64, .batch_max = 16};
    assert_int_equal(hg_store_open(&o, &st, &err), HG_OK);
    struct hg_ckpt_pub *p = NULL;
    assert_int_equal(hg_ckpt_pub_start(st, &p, &err), HG_OK);
    atomic_store(&pub, p);
    struct hg_audit_options ao;
    hg_audit_options_init(&ao);
    ao.origin = "haulgate.test/audit";
    ao.checkpoint_every = 5;
    ao.checkpoint_interval_ms = 60000;
    ao.on_checkpoint = hook;
    struct hg_audit_log *log = NULL;
    assert_int_equal(hg_audit_open(adir, &ao, &log, &err), HG_OK);
    for (int i = 0; i < 23; i++) {
        struct hg_audit_record rec = {.service = "test", .event_type = "config.reloaded",
                                      .request_id = "r-1", .identity = {.subject = "t"},
                                      .decision = "none", .reason = "x"};
        assert_int_equal(hg_audit_append(log, &rec, NULL, &err), HG_OK);
    }
    assert_int_equal(hg_audit_checkpoint_now(log, &err), HG_OK);
    /* the latest note as the log serves it */
    struct hg_buf latest;
    hg_buf_init(&latest, 1 << 16);
    uint64_t size = 0;
    assert_int_equal(hg_audit_latest_checkpoint(log, &latest, &size, &err), HG_OK);
    assert_int_equal(size, 23);
    /* wait for the writer */
    for (int i = 0; i < 200 && hg_ckpt_pub_count(p) == 0; i++)
        usleep(10000);
    hg_ckpt_pub_stop(p);
    uint64_t after = 0;
    struct hg_store_event *rows = NULL;
    size_t n = 0;
    assert_int_equal(hg_store_events_list(st, 0, 100, 0, &rows, &n), HG_OK);
    assert_true(n >= 1);
    uint64_t last = 0;
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(rows[i].type, HG_CKPT_EVENT_TYPE);
        json_t *d = json_loadb(rows[i].data, rows[i].data_len, 0, NULL);
        assert_non_null(d);
        uint64_t ts = (uint64_t)json_integer_value(json_object_get(d, "tree_size"));
        assert_true(i == 0 || ts > last); /* only ever grows */
        last = ts;
        char subj[32];
        snprintf(subj, sizeof subj, "%llu", (unsigned long long)ts);
        assert_string_equal(rows[i].subject, subj);
        const char *note = json_string_value(json_object_get(d, "checkpoint"));
        const char *root = json_string_value(json_object_get(d, "root_hash"));
        assert_non_null(note);
        assert_non_null(root);
        assert_int_equal(strlen(root), 44);
        assert_non_null(strstr(note, root)); /* the root is the note's own */
        if (ts == 23)
            assert_memory_equal(note, latest.data, latest.len);
        json_decref(d);
        after = ts;
    }
    assert_int_equal(after, 23); /* the last one published is the newest */
    hg_store_events_free(rows, n);
    hg_buf_cleanup(&latest);
    /* offers after stop are dropped: the close's checkpoint is not published */
    assert_int_equal(hg_audit_close(log, &err), HG_OK);
    atomic_store(&pub, NULL);
    hg_ckpt_pub_free(p);
    hg_store_close(st);
    rm_rf(dir);
}

static void malformed_note_is_dropped(void **state)
{
    (void)state;
    char dir[] = "/tmp/hg-ckpt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[128];
    snprintf(db, sizeof db, "%s/db", dir);
    struct hg_err err;
    struct hg_store *st = NULL;
    struct hg_store_opts o = {.backend = "sqlite", .path = db, .queue_max = 8, .batch_max = 4};
    assert_int_equal(hg_store_open(&o, &st, &err), HG_OK);
    struct hg_ckpt_pub *p = NULL;
    assert_int_equal(hg_ckpt_pub_start(st, &p, &err), HG_OK);
    hg_ckpt_pub_offer(p, 3, "only one line", 13);
    hg_ckpt_pub_free(p);
    struct hg_store_event *rows = NULL;
    size_t n = 9;
    assert_int_equal(hg_store_events_list(st, 0, 100, 0, &rows, &n), HG_OK);
    assert_int_equal(n, 0);
    hg_store_events_free(rows, n);
    hg_store_close(st);
    rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(publishes_checkpoints),
        cmocka_unit_test(malformed_note_is_dropped),
    };
    return cmocka_run_group_tests_name("app/checkpoint_pub", tests, NULL, NULL);
}
