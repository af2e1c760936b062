/* SPDX-License-Identifier: Apache-2.0
 *
 * test_crash_tenders.c — issue 3's crash test. Clients post 2,000 tenders,
 * each with its own Idempotency-Key, retrying on any failure; the daemon
 * is killed with SIGKILL mid-burst and restarted, and the clients keep
 * retrying with the same keys. Afterwards, read straight from the SQLite
 * file and the audit log:
 *   - every tender acknowledged (201) before the kill exists, with the id
 *     the client was told, and a retry of its key replays that id;
 *   - every key made exactly one tender (no duplicates from retries);
 *   - every tender has its created event in the outbox and every outbox
 *     event has its tender; every tender has its history row;
 *   - every tender has exactly one tender.created record in the audit log,
 *     and `haulctl audit verify` passes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "integration/harness.h"

#define TENDERS 2000
#define THREADS 4
#define KILL_AFTER 400  /* acknowledged tenders before the SIGKILL */

struct slot {
    char key[48];
    char body[768];          /* fixed per key: a retry must be byte-identical */
    char acked_id[40];       /* tenderId of the first 201 seen for this key */
    int acked_before_kill;
};

struct run {
    struct hg_it *it;
    struct slot slots[TENDERS];
    atomic_int acked;
    atomic_int generation;   /* bumped at each restart; clients wait while 0 */
    atomic_int up;           /* 1 while a daemon should be answering */
    atomic_int mismatches;   /* a replay returned another id */
    atomic_int bad_status;   /* an answer that is neither 201 nor a retryable one */
    char bad_detail[512];
};

struct worker {
    struct run *run;
    int first, step;
};

static void body_for(int i, char *out, size_t cap)
{
    int64_t now = hg_wall_ms();
    char p0[HG_RFC3339_LEN + 1], p1[HG_RFC3339_LEN + 1], d0[HG_RFC3339_LEN + 1],
        d1[HG_RFC3339_LEN + 1];
    hg_rfc3339(now + 3600 * 1000, p0);
    hg_rfc3339(now + 7200 * 1000, p1);
    hg_rfc3339(now + 10800 * 1000, d0);
    hg_rfc3339(now + 14400 * 1000, d1);
    snprintf(out, cap,
             "{\"tmsLoadId\":\"crash-%d\",\"origin\":{\"name\":\"Dallas\",\"lat\":32.7767,"
             "\"lon\":-96.797},\"destination\":{\"name\":\"Houston\",\"lat\":29.7604,"
             "\"lon\":-95.3698},\"pickupWindow\":{\"start\":\"%s\",\"end\":\"%s\"},"
             "\"deliveryWindow\":{\"start\":\"%s\",\"end\":\"%s\"},\"weightLbs\":30000,"
             "\"equipment\":\"dry_van\",\"lane\":\"DAL-HOU\"}",
             i, p0, p1, d0, d1);
}

/* One attempt; returns 1 when the key is settled (201 seen). */
static int attempt(struct run *run, void *curl, int i)
{
    struct slot *s = &run->slots[i];
    char hdr[96];
    const char *pinned = s->body;
    snprintf(hdr, sizeof hdr, "Idempotency-Key: \"%s\"", s->key);
    const char *headers[] = {hdr, "Content-Type: application/json", NULL};
    struct hg_it_resp r;
    memset(&r, 0, sizeof r);
    int rc = hg_it_request(run->it, curl, "tms", "POST", "/v1/tenders", headers, pinned,
                           strlen(pinned), &r);
    int settled = 0;
    if (rc == 0 && r.status == 201) {
        json_t *doc = json_loads(r.body, 0, NULL);
        const char *id = doc ? json_string_value(json_object_get(doc, "tenderId")) : NULL;
        if (!id) {
            atomic_fetch_add(&run->bad_status, 1);
        } else if (!s->acked_id[0]) {
            hg_strlcpy(s->acked_id, id, sizeof s->acked_id);
            s->acked_before_kill = atomic_load(&run->generation) == 1;
            atomic_fetch_add(&run->acked, 1);
        } else if (strcmp(s->acked_id, id)) {
            atomic_fetch_add(&run->mismatches, 1);
        }
        json_decref(doc);
        settled = 1;
    } else if (rc == 0 && r.status != 503 && r.status != 409 && r.status != 429) {
        /* anything but "retry later" is a failure of the promise */
        if (atomic_fetch_add(&run->bad_status, 1) == 0)
            snprintf(run->bad_detail, sizeof run->bad_detail, "key %s: %ld %s", s->key,
                     r.status, r.body ? r.body : "");
        settled = 1;
    }
    hg_it_resp_free(&r);
    return settled;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *run = w->run;
    void *curl = curl_easy_init();
    for (int i = w->first; i < TENDERS; i += w->step) {
        for (int tries = 0; tries < 2000; tries++) {
            if (atomic_load(&run->up) && attempt(run, curl, i))
                break;
            /* daemon down or answer lost: a fresh connection next time */
            curl_easy_cleanup(curl);
            curl = curl_easy_init();
            usleep(20000);
        }
    }
    curl_easy_cleanup(curl);
    return NULL;
}

static int64_t count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (n < 0)
        fail_msg("sql failed: %s: %s", sql, sqlite3_errmsg(db));
    return n;
}

static int audit_created_count(struct hg_it *it, json_t *ids)
{
    char dir[400], out[400];
    snprintf(dir, sizeof dir, "%s/audit", it->data);
    snprintf(out, sizeof out, "%s/audit-show.jsonl", it->dir);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "'%s' audit show '%s' > '%s'", hg_it_bin("haulctl"), dir, out);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    static char line[70000];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *doc = json_loads(line, 0, NULL);
        if (!doc)
            continue;
        json_t *rec = json_object_get(doc, "record");
        if (!rec)
            rec = doc;
        const char *type = json_string_value(json_object_get(rec, "event_type"));
        if (type && !strcmp(type, "tender.created")) {
            const char *tid =
                json_string_value(json_object_get(json_object_get(rec, "details"), "tender_id"));
            if (tid) {
                json_t *c = json_object_get(ids, tid);
                json_object_set_new(ids, tid, json_integer(c ? json_integer_value(c) + 1 : 1));
            }
            n++;
        }
        json_decref(doc);
    }
    fclose(f);
    return n;
}

static void crash_mid_burst(void **state)
{
    struct hg_it *it = *state;
    struct run *run = calloc(1, sizeof *run);
    run->it = it;
    char nonce[40];
    hg_uuid7(nonce);
    for (int i = 0; i < TENDERS; i++) {
        snprintf(run->slots[i].key, sizeof run->slots[i].key, "crash-%.8s-%d", nonce + 28, i);
        body_for(i, run->slots[i].body, sizeof run->slots[i].body);
    }
    atomic_store(&run->generation, 1);
    atomic_store(&run->up, 1);
    pthread_t t[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){run, i, THREADS};
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < 3000 && atomic_load(&run->acked) < KILL_AFTER; i++)
        usleep(10000);
    assert_true(atomic_load(&run->acked) >= KILL_AFTER);
    /* kill mid-burst: requests are in flight on every thread */
    atomic_store(&run->generation, 2);
    assert_int_equal(hg_it_signal(it, SIGKILL), 0);
    atomic_store(&run->up, 0);
    assert_int_equal(hg_it_wait(it, 10000), 128 + SIGKILL);
    int acked_at_kill = atomic_load(&run->acked);
    assert_int_equal(hg_it_start_verbose(it), 0);
    atomic_store(&run->up, 1);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    if (atomic_load(&run->bad_status))
        fail_msg("%d unexpected answers; first: %s", atomic_load(&run->bad_status),
                 run->bad_detail);
    assert_int_equal(atomic_load(&run->mismatches), 0);
    assert_int_equal(atomic_load(&run->acked), TENDERS);
    assert_true(acked_at_kill < TENDERS); /* the kill really was mid-burst */
    print_message("# %d acknowledged before SIGKILL, %d after restart\n", acked_at_kill,
                  TENDERS - acked_at_kill);

    /* every key again: each replays the id first acknowledged */
    void *curl = curl_easy_init();
    for (int i = 0; i < TENDERS; i += 7)
        assert_int_equal(attempt(run, curl, i), 1);
    curl_easy_cleanup(curl);
    assert_int_equal(atomic_load(&run->mismatches), 0);
    assert_int_equal(atomic_load(&run->bad_status), 0);

    assert_int_equal(hg_it_stop(it), 0); /* clean stop: relay drains */

    char path[400];
    snprintf(path, sizeof path, "%s/haulgate.db", it->data);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(count(db, "SELECT count(*) FROM tenders"), TENDERS);
    assert_int_equal(count(db, "SELECT count(DISTINCT tms_load_id) FROM tenders"), TENDERS);
    assert_int_equal(count(db, "SELECT count(*) FROM idempotency"), TENDERS);
    /* no tender without its event, no event without its tender */
    assert_int_equal(count(db, "SELECT count(*) FROM tenders t WHERE NOT EXISTS (SELECT 1 FROM "
                               "outbox o WHERE o.subject = t.id AND o.type = "
                               "'com.haulgate.tender.created')"),
                     0);
    /* (the outbox also carries audit checkpoints, whose subject is a tree size) */
    assert_int_equal(count(db, "SELECT count(*) FROM outbox o WHERE o.type LIKE "
                               "'com.haulgate.tender.%' AND NOT EXISTS (SELECT 1 FROM "
                               "tenders t WHERE t.id = o.subject)"),
                     0);
    assert_true(count(db, "SELECT count(*) FROM outbox WHERE type = "
                          "'com.haulgate.audit.checkpoint'") >= 1);
    assert_int_equal(count(db, "SELECT count(*) FROM outbox WHERE type = "
                               "'com.haulgate.tender.created'"),
                     TENDERS);
    assert_int_equal(count(db, "SELECT count(*) FROM tenders t WHERE NOT EXISTS (SELECT 1 FROM "
                               "tender_history h WHERE h.tender_id = t.id)"),
                     0);
    assert_int_equal(count(db, "SELECT count(*) FROM audit_outbox"), 0); /* all relayed */
    /* each acknowledged id is the stored one */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM tenders WHERE id = ?1 AND "
                                            "tms_load_id = ?2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    for (int i = 0; i < TENDERS; i++) {
        char load[32];
        snprintf(load, sizeof load, "crash-%d", i);
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, run->slots[i].acked_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, load, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        if (sqlite3_column_int(st, 0) != 1)
            fail_msg("tender %s for key %d (acknowledged %s the kill) is missing",
                     run->slots[i].acked_id, i,
                     run->slots[i].acked_before_kill ? "before" : "after");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* the audit log: one tender.created per tender, and it verifies */
    json_t *ids = json_object();
    assert_int_equal(audit_created_count(it, ids), TENDERS);
    assert_int_equal(json_object_size(ids), TENDERS);
    json_decref(ids);
    char dir[400];
    snprintf(dir, sizeof dir, "%s/audit", it->data);
    char *const argv[] = {(char *)hg_it_bin("haulctl"), "audit", "verify", dir, NULL};
    assert_int_equal(hg_it_run(argv), 0);
    free(run);
}

struct waiting_post {
    struct hg_it *it;
    char body[768];
    struct hg_it_resp resp;
    int rc;
};

static void *waiting_post_main(void *arg)
{
    struct waiting_post *p = arg;
    const char *headers[] = {"Idempotency-Key: \"drain-1\"", "Content-Type: application/json",
                             "Prefer: wait=30", NULL};
    p->rc = hg_it_request(p->it, NULL, "tms", "POST", "/v1/tenders", headers, p->body,
                          strlen(p->body), &p->resp);
    return NULL;
}

/* SIGTERM does not sit out a Prefer: wait: the waiting request is answered
 * at once with the tender as it is, and the daemon exits cleanly. */
static void drain_ends_waits(void **state)
{
    struct hg_it *it = *state;
    struct waiting_post p;
    memset(&p, 0, sizeof p);
    p.it = it;
    body_for(0, p.body, sizeof p.body);
    pthread_t t;
    pthread_create(&t, NULL, waiting_post_main, &p);
    usleep(700000); /* created and waiting */
    uint64_t t0 = hg_mono_us();
    assert_int_equal(hg_it_signal(it, SIGTERM), 0);
    pthread_join(t, NULL);
    uint64_t waited_ms = (hg_mono_us() - t0) / 1000;
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.resp.status, 201);
    assert_non_null(strstr(p.resp.body, "\"state\":\"pending\""));
    assert_true(waited_ms < 8000); /* not the 30 s asked for */
    hg_it_resp_free(&p.resp);
    assert_int_equal(hg_it_wait(it, 10000), 0);
}

static int setup(void **state)
{
    return hg_it_fixture(state, NULL);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(crash_mid_burst, setup, hg_it_fixture_free),
        cmocka_unit_test_setup_teardown(drain_ends_waits, setup, hg_it_fixture_free),
    };
    int rc = cmocka_run_group_tests_name("crash_tenders", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
