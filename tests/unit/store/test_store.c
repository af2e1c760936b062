/* SPDX-License-Identifier: Apache-2.0
 *
 * test_store.c — the store against a real SQLite file in a temporary
 * directory: schema creation, idempotent reopen and refusal of a newer
 * schema; tender, history, offer, idempotency, outbox and audit rows;
 * group commit (a failing job alone rolls back, a failed COMMIT fails the
 * whole group, a full queue refuses, close drains); concurrent readers see
 * every acknowledged job; and a child process killed with SIGKILL mid-burst
 * leaves every acknowledged job whole and no job partial.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/util.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "store/store.h"
#include "store/store_int.h"

static char tmpdir[64];
static char dbpath[128];

/* ---- fixture ---- */

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hg-store-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(dbpath, sizeof dbpath, "%s/haulgate.db", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd);
}

static struct hg_store_opts opts(void)
{
    struct hg_store_opts o = { .backend = "sqlite", .path = dbpath, .durability_full = 1,
                               .queue_max = 1024, .batch_max = 256, .metrics = NULL };
    return o;
}

static struct hg_store *open_store(const struct hg_store_opts *o)
{
    struct hg_store *st = NULL;
    struct hg_err err;
    hg_err_clear(&err);
    hg_status rc = hg_store_open(o, &st, &err);
    if (rc != HG_OK)
        fail_msg("hg_store_open: %s", hg_err_msg(&err));
    return st;
}

/* ---- jobs ---- */

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
};

static struct waiter W = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

static void on_done(struct hg_store_write *w, void *arg)
{
    (void)w;
    struct waiter *wt = arg;
    pthread_mutex_lock(&wt->mu);
    wt->done++;
    pthread_cond_broadcast(&wt->cv);
    pthread_mutex_unlock(&wt->mu);
}

static void wait_done(struct waiter *wt, int target)
{
    pthread_mutex_lock(&wt->mu);
    while (wt->done < target)
        pthread_cond_wait(&wt->cv, &wt->mu);
    pthread_mutex_unlock(&wt->mu);
}

static int done_count(struct waiter *wt)
{
    pthread_mutex_lock(&wt->mu);
    int n = wt->done;
    pthread_mutex_unlock(&wt->mu);
    return n;
}

/* A job with its own storage for every row it writes. */
struct job {
    struct hg_store_write w;
    struct hg_store_history hist[1];
    struct hg_store_event ev[2];
    struct hg_store_audit au[1];
    struct hg_store_idem idem;
    char doc[160];
    char data[2][96];
    char rec[96];
    char body[64];
};

static void job_init(struct job *j, enum hg_store_op op)
{
    memset(j, 0, sizeof *j);
    j->w.op = op;
    j->w.done = on_done;
    j->w.arg = &W;
}

static void tender_fill(struct hg_store_tender *t, char *docbuf, size_t cap, const char *id,
                        const char *state, const char *lane, const char *tenant,
                        int64_t version, int64_t updated_ms)
{
    hg_strlcpy(t->id, id, sizeof t->id);
    hg_strlcpy(t->state, state, sizeof t->state);
    hg_strlcpy(t->lane, lane, sizeof t->lane);
    hg_strlcpy(t->tenant, tenant, sizeof t->tenant);
    hg_strlcpy(t->owner, "tms-a", sizeof t->owner);
    snprintf(t->tms_load_id, sizeof t->tms_load_id, "LOAD-%.30s", id);
    hg_strlcpy(t->region, "us-sw", sizeof t->region);
    t->version = version;
    t->created_ms = 1000;
    t->updated_ms = updated_ms;
    int n = snprintf(docbuf, cap, "{\"tenderId\":\"%s\",\"state\":\"%s\",\"version\":%lld}", id,
                     state, (long long)version);
    t->doc = docbuf;
    t->doc_len = (size_t)n;
}

/* A tender insert with one history row, two outbox events, one audit
 * record and an idempotency record (key "k-<id>"): a whole POST /tenders. */
static void job_tender_full(struct job *j, const char *id)
{
    job_init(j, HG_SOP_TENDER_INSERT);
    tender_fill(&j->w.tender, j->doc, sizeof j->doc, id, "pending", "PHX-DAL", "acme", 1, 1000);
    struct hg_store_history *h = &j->hist[0];
    hg_strlcpy(h->tender_id, id, sizeof h->tender_id);
    hg_strlcpy(h->to_state, "pending", sizeof h->to_state);
    hg_strlcpy(h->actor, "tms-a", sizeof h->actor);
    hg_strlcpy(h->reason, "created", sizeof h->reason);
    h->at_ms = 1000;
    hg_strlcpy(h->correlation_id, "corr-1", sizeof h->correlation_id);
    j->w.history = j->hist;
    j->w.nhistory = 1;
    for (int i = 0; i < 2; i++) {
        struct hg_store_event *e = &j->ev[i];
        snprintf(e->id, sizeof e->id, "ev%d-%.20s", i, id);
        hg_strlcpy(e->type, i ? "com.haulgate.tender.offered" : "com.haulgate.tender.created",
                   sizeof e->type);
        hg_strlcpy(e->subject, id, sizeof e->subject);
        e->time_ms = 1000 + i;
        hg_strlcpy(e->correlation_id, "corr-1", sizeof e->correlation_id);
        hg_strlcpy(e->traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                   sizeof e->traceparent);
        int n = snprintf(j->data[i], sizeof j->data[i], "{\"tenderId\":\"%s\",\"n\":%d}", id, i);
        e->data = j->data[i];
        e->data_len = (size_t)n;
    }
    j->w.events = j->ev;
    j->w.nevents = 2;
    int n = snprintf(j->rec, sizeof j->rec, "{\"event_type\":\"tender.created\",\"id\":\"%s\"}", id);
    j->au[0].record = j->rec;
    j->au[0].record_len = (size_t)n;
    j->w.audit = j->au;
    j->w.naudit = 1;
    struct hg_store_idem *r = &j->idem;
    hg_strlcpy(r->principal, "tms-a", sizeof r->principal);
    snprintf(r->key, sizeof r->key, "k-%s", id);
    memset(r->fingerprint, 0xab, sizeof r->fingerprint);
    r->status = 201;
    r->headers = "{\"location\":\"/v1/tenders/x\"}";
    n = snprintf(j->body, sizeof j->body, "{\"tenderId\":\"%s\"}", id);
    r->body = j->body;
    r->body_len = (size_t)n;
    r->created_ms = 1000;
    r->expires_ms = 1000 + 86400000;
    j->w.idem = r;
}

/* Submit and wait; returns the job's result. */
static hg_status run_job(struct hg_store *st, struct job *j)
{
    int before = done_count(&W);
    hg_status rc = hg_store_submit(st, &j->w);
    if (rc != HG_OK)
        return rc;
    wait_done(&W, before + 1);
    return j->w.result;
}

static void insert_tender(struct hg_store *st, const char *id, const char *state,
                          const char *lane, const char *tenant, int64_t updated_ms)
{
    struct job j;
    job_init(&j, HG_SOP_TENDER_INSERT);
    tender_fill(&j.w.tender, j.doc, sizeof j.doc, id, state, lane, tenant, 1, updated_ms);
    assert_int_equal(run_job(st, &j), HG_OK);
}

/* ---- writer hooks: a gate that holds the writer, a commit fault ---- */

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered;
    int open;
    int fail_commits;
};

static void gate_init(struct gate *g)
{
    memset(g, 0, sizeof *g);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
}

static void gate_destroy(struct gate *g)
{
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

static void gate_hook(void *arg, size_t njobs)
{
    (void)njobs;
    struct gate *g = arg;
    pthread_mutex_lock(&g->mu);
    g->entered++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static hg_status commit_hook(void *arg)
{
    struct gate *g = arg;
    pthread_mutex_lock(&g->mu);
    hg_status rc = HG_OK;
    if (g->fail_commits > 0) {
        g->fail_commits--;
        rc = HG_EIO;
    }
    pthread_mutex_unlock(&g->mu);
    return rc;
}

static void gate_wait_entered(struct gate *g, int n)
{
    pthread_mutex_lock(&g->mu);
    while (g->entered < n)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_release(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void hold_writer(struct hg_store *st, struct gate *g)
{
    struct store__hooks h = { .group_start = gate_hook, .before_commit = commit_hook, .arg = g };
    store__set_hooks(st, &h);
}

/* ---- direct SQLite checks (what the store must have done on disk) ---- */

static int64_t sql_int(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void sql_exec(const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* ---- schema ---- */

static void open_creates_schema(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    struct hg_store *st = open_store(&o);
    assert_int_equal(hg_store_schema_version(st), store__sqlite_latest_version());
    assert_true(hg_store_schema_version(st) >= 1);
    struct stat sb;
    assert_int_equal(stat(dbpath, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char side[160];
    snprintf(side, sizeof side, "%s-wal", dbpath);
    insert_tender(st, "t-mode", "pending", "L", "", 1);
    assert_int_equal(stat(side, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    snprintf(side, sizeof side, "%s-shm", dbpath);
    assert_int_equal(stat(side, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    struct hg_store_counts c;
    assert_int_equal(hg_store_counts(st, &c), HG_OK);
    assert_int_equal(c.tenders, 1);
    assert_int_equal(c.history + c.offers + c.events + c.idem + c.audit_pending, 0);
    hg_store_close(st);

    assert_int_equal(sql_int("SELECT count(*) FROM schema_migrations"),
                     store__sqlite_latest_version());
    assert_int_equal(sql_int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
                             " ('tenders','tender_history','offers','outbox','audit_outbox',"
                             "'idempotency')"), 6);
    assert_int_equal(sql_int("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN"
                             " ('tenders_state_id','tenders_updated','tenders_lane_id',"
                             "'tenders_tenant_id','idempotency_expires','offers_expires')"), 6);
    assert_int_equal(sql_int("SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
}

static void reopen_is_idempotent(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    struct hg_store *st = open_store(&o);
    insert_tender(st, "t-0001", "pending", "L", "acme", 5);
    hg_store_close(st);
    int64_t applied = sql_int("SELECT max(applied_at) FROM schema_migrations");

    st = open_store(&o);
    assert_int_equal(hg_store_schema_version(st), store__sqlite_latest_version());
    struct hg_store_tender t;
    assert_int_equal(hg_store_tender_get(st, "t-0001", &t), HG_OK);
    hg_store_tender_free(&t);
    hg_store_close(st);
    assert_int_equal(sql_int("SELECT count(*) FROM schema_migrations"),
                     store__sqlite_latest_version());
    assert_int_equal(sql_int("SELECT max(applied_at) FROM schema_migrations"), applied);
}

static void newer_schema_refused(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    struct hg_store *st = open_store(&o);
    hg_store_close(st);
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO schema_migrations VALUES (%d, 1)",
             store__sqlite_latest_version() + 1);
    sql_exec(sql);

    struct hg_err err;
    st = NULL;
    assert_int_equal(hg_store_open(&o, &st, &err), HG_EUNSUPPORTED);
    assert_null(st);
    assert_non_null(strstr(hg_err_msg(&err), "newer haulgate"));
    assert_non_null(strstr(hg_err_msg(&err), dbpath));
}

static void bad_open(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    struct hg_store *st = NULL;
    struct hg_err err;

    o.backend = "postgres";
    assert_int_equal(hg_store_open(&o, &st, &err), HG_EUNSUPPORTED);
    assert_non_null(strstr(hg_err_msg(&err), "postgres"));
    o = opts();
    o.queue_max = 0;
    assert_int_equal(hg_store_open(&o, &st, &err), HG_EINVAL);
    o = opts();
    o.path = NULL;
    assert_int_equal(hg_store_open(&o, &st, &err), HG_EINVAL);

    /* not a database */
    FILE *f = fopen(dbpath, "w");
    assert_non_null(f);
    for (int i = 0; i < 512; i++)
        fputs("this is not sqlite ", f);
    fclose(f);
    o = opts();
    assert_int_equal(hg_store_open(&o, &st, &err), HG_ECORRUPT);
    assert_non_null(strstr(hg_err_msg(&err), "not a haulgate database"));
    assert_null(st);

    /* missing directory */
    char missing[160];
    snprintf(missing, sizeof missing, "%s/nope/haulgate.db", tmpdir);
    o.path = missing;
    assert_int_equal(hg_store_open(&o, &st, &err), HG_ENOTFOUND);
    assert_non_null(strstr(hg_err_msg(&err), "directory"));
}

static void submit_invalid(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    struct hg_store *st = open_store(&o);
    struct job j;
    job_init(&j, HG_SOP_TENDER_INSERT);
    tender_fill(&j.w.tender, j.doc, sizeof j.doc, "t-x", "pending", "L", "", 1, 1);
    j.w.done = NULL;
    assert_int_equal(hg_store_submit(st, &j.w), HG_EINVAL);
    j.w.done = on_done;
    j.w.tender.doc = NULL;
    assert_int_equal(hg_store_submit(st, &j.w), HG_EINVAL);
    job_init(&j, (enum hg_store_op)99);
    assert_int_equal(hg_store_submit(st, &j.w), HG_EINVAL);
    job_init(&j, HG_SOP_NONE);
    j.w.nevents = 1;               /* events NULL */
    assert_int_equal(hg_store_submit(st, &j.w), HG_EINVAL);
    assert_int_equal(hg_store_queue_depth(st), 0);
    hg_store_close(st);
}

/* ---- tenders ---- */

static void tender_insert_get_list(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    struct hg_store *st = open_store(&o);
    insert_tender(st, "t-01", "pending", "PHX-DAL", "acme", 100);
    insert_tender(st, "t-02", "offered", "PHX-DAL", "acme", 200);
    insert_tender(st, "t-03", "pending", "LAX-SEA", "", 300);
    insert_tender(st, "t-04", "pending", "PHX-DAL", "zeta", 400);

    struct hg_store_tender t;
    assert_int_equal(hg_store_tender_get(st, "t-02", &t), HG_OK);
    assert_string_equal(t.id, "t-02");
    assert_string_equal(t.state, "offered");
    assert_string_equal(t.lane, "PHX-DAL");
    assert_string_equal(t.tenant, "acme");
    assert_string_equal(t.owner, "tms-a");
    assert_string_equal(t.tms_load_id, "LOAD-t-02");
    assert_string_equal(t.region, "us-sw");
    assert_int_equal(t.version, 1);
    assert_int_equal(t.created_ms, 1000);
    assert_int_equal(t.updated_ms, 200);
    assert_string_equal(t.doc, "{\"tenderId\":\"t-02\",\"state\":\"offered\",\"version\":1}");
    assert_int_equal(t.doc_len, strlen(t.doc));
    hg_store_tender_free(&t);
    assert_null(t.doc);
    assert_int_equal(hg_store_tender_get(st, "t-99", &t), HG_ENOTFOUND);

    /* duplicate id: HG_EEXIST naming the tender, nothing changed */
    struct job j;
    job_init(&j, HG_SOP_TENDER_INSERT);
    tender_fill(&j.w.tender, j.doc, sizeof j.doc, "t-01", "offered", "X", "acme", 7, 1);
    assert_int_equal(run_job(st, &j), HG_EEXIST);
    assert_non_null(strstr(j.w.detail, "t-01"));
    assert_int_equal(hg_store_tender_get(st, "t-01", &t), HG_OK);
    assert_string_equal(t.state, "pending");
    hg_store_tender_free(&t);

    struct { struct hg_store_tender_filter f; const char *want; } cases[] = {
        { { NULL, NULL, NULL, -1, NULL, 500 }, "t-01,t-02,t-03,t-04" },
        { { NULL, "pending", NULL, -1, NULL, 500 }, "t-01,t-03,t-04" },
        { { NULL, NULL, "PHX-DAL", -1, NULL, 500 }, "t-01,t-02,t-04" },
        { { "acme", NULL, NULL, -1, NULL, 500 }, "t-01,t-02" },
        { { "", NULL, NULL, -1, NULL, 500 }, "t-03" },
        { { NULL, NULL, NULL, 200, NULL, 500 }, "t-03,t-04" },
        { { NULL, "pending", "PHX-DAL", 150, NULL, 500 }, "t-04" },
        { { "acme", "offered", "PHX-DAL", 0, NULL, 500 }, "t-02" },
        { { NULL, NULL, NULL, -1, "t-02", 500 }, "t-03,t-04" },
        { { NULL, NULL, NULL, -1, NULL, 2 }, "t-01,t-02" },
        { { NULL, "pending", NULL, -1, "t-01", 1 }, "t-03" },
        { { NULL, "delivered", NULL, -1, NULL, 10 }, "" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct hg_store_tender *rows;
        size_t n;
        assert_int_equal(hg_store_tender_list(st, &cases[c].f, &rows, &n), HG_OK);
        char got[128] = "";
        for (size_t i = 0; i < n; i++) {
            strncat(got, i ? "," : "", sizeof got - strlen(got) - 1);
            strncat(got, rows[i].id, sizeof got - strlen(got) - 1);
            assert_non_null(rows[i].doc);
        }
        if (strcmp(got, cases[c].want) != 0)
            fail_msg("case %zu: got '%s', want '%s'", c, got, cases[c].want);
        hg_store_tender_list_free(rows, n);
    }
    struct hg_store_tender_filter bad = { NULL, NULL, NULL, -1, NULL, 0 };
    struct hg_store_tender *rows;
    size_t n;
    assert_int_equal(hg_store_tender_list(st, &bad, &rows, &n), HG_EINVAL);
    bad.limit = 502;
    assert_int_equal(hg_store_tender_list(st, &bad, &rows, &n), HG_EINVAL);
    hg_store_close(st);
}

struct inserter {
    struct hg_store *st;
    int n;
};

static void *inserter_main(void *arg)
{
    struct inserter *in = arg;
    struct waiter wt = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
    for (int i = 0; i < in->n; i++) {
        struct job j;
        char id[HG_UUID_STRLEN + 1];
        if (hg_uuid7(id) != HG_OK)
            return (void *)1;
        job_init(&j, HG_SOP_TENDER_INSERT);
        j.w.arg = &wt;
        tender_fill(&j.w.tender, j.doc, sizeof j.doc, id, "pending", "L", "acme", 1, 1);
        if (hg_store_submit(in->st, &j.w) != HG_OK)
            return (void *)1;
        wait_done(&wt, i + 1);
        if (j.w.result != HG_OK)
            return (void *)1;
    }
    return NULL;
}

static void pagination_under_inserts(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    o.durability_full = 0;         /* speed: the point is ordering, not fsync */
    struct hg_store *st = open_store(&o);
    enum { N0 = 60 };
    char ids[N0][HG_UUID_STRLEN + 1];
    for (int i = 0; i < N0; i++) {
        assert_int_equal(hg_uuid7(ids[i]), HG_OK);
        insert_tender(st, ids[i], "pending", "L", "acme", 1);
    }
    struct inserter in = { st, 80 };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, inserter_main, &in), 0);

    char last[37] = "";
    int seen_orig = 0, pages = 0;
    size_t total = 0;
    for (;;) {
        struct hg_store_tender_filter f = { "acme", "pending", NULL, -1, last[0] ? last : NULL, 7 };
        struct hg_store_tender *rows;
        size_t n;
        assert_int_equal(hg_store_tender_list(st, &f, &rows, &n), HG_OK);
        for (size_t i = 0; i < n; i++) {
            assert_true(strcmp(rows[i].id, last) > 0);   /* strictly increasing: no repeats */
            hg_strlcpy(last, rows[i].id, sizeof last);
            for (int k = 0; k < N0; k++)
                if (strcmp(ids[k], rows[i].id) == 0)
                    seen_orig++;
        }
        hg_store_tender_list_free(rows, n);
        total += n;
        pages++;
        if (n < 7)
            break;
        usleep(500);
    }
    void *ret;
    pthread_join(th, &ret);
    assert_null(ret);
    assert_int_equal(seen_orig, N0);
    assert_true(total >= N0 && total <= N0 + 80);
    assert_true(pages >= N0 / 7);
    hg_store_close(st);
}

static void history_rows(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    struct hg_store *st = open_store(&o);
    struct job j;
    job_tender_full(&j, "t-h");
    assert_int_equal(run_job(st, &j), HG_OK);

    struct job u;
    job_init(&u, HG_SOP_TENDER_UPDATE);
    tender_fill(&u.w.tender, u.doc, sizeof u.doc, "t-h", "offered", "PHX-DAL", "acme", 2, 2000);
    u.w.expect_version = 1;
    struct hg_store_history h = { 0 };
    hg_strlcpy(h.tender_id, "t-h", sizeof h.tender_id);
    hg_strlcpy(h.from_state, "pending", sizeof h.from_state);
    hg_strlcpy(h.to_state, "offered", sizeof h.to_state);
    hg_strlcpy(h.actor, "orchestrator", sizeof h.actor);
    hg_strlcpy(h.reason, "sent to provider", sizeof h.reason);
    h.at_ms = 2000;
    hg_strlcpy(h.correlation_id, "corr-2", sizeof h.correlation_id);
    u.w.history = &h;
    u.w.nhistory = 1;
    assert_int_equal(run_job(st, &u), HG_OK);

    struct hg_store_history *rows;
    size_t n;
    assert_int_equal(hg_store_tender_history(st, "t-h", &rows, &n), HG_OK);
    assert_int_equal(n, 2);
    assert_true(rows[0].seq < rows[1].seq);
    assert_string_equal(rows[0].from_state, "");
    assert_string_equal(rows[0].to_state, "pending");
    assert_string_equal(rows[0].reason, "created");
    assert_string_equal(rows[1].from_state, "pending");
    assert_string_equal(rows[1].to_state, "offered");
    assert_string_equal(rows[1].actor, "orchestrator");
    assert_string_equal(rows[1].reason, "sent to provider");
    assert_string_equal(rows[1].correlation_id, "corr-2");
    assert_int_equal(rows[1].at_ms, 2000);
    assert_string_equal(rows[1].tender_id, "t-h");
    free(rows);

    assert_int_equal(hg_store_tender_history(st, "t-none", &rows, &n), HG_OK);
    assert_int_equal(n, 0);
    assert_null(rows);

    /* history for a tender that does not exist: refused, nothing written */
    struct job orphan;
    job_init(&orphan, HG_SOP_NONE);
    hg_strlcpy(h.tender_id, "t-ghost", sizeof h.tender_id);
    orphan.w.history = &h;
    orphan.w.nhistory = 1;
    assert_int_equal(run_job(st, &orphan), HG_ENOTFOUND);
    assert_non_null(strstr(orphan.w.detail, "t-ghost"));
    struct hg_store_counts c;
    assert_int_equal(hg_store_counts(st, &c), HG_OK);
    assert_int_equal(c.history, 2);
    hg_store_close(st);
}

static void update_versions(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    struct hg_store *st = open_store(&o);
    insert_tender(st, "t-u", "pending", "L", "acme", 10);

    struct job u;
    job_init(&u, HG_SOP_TENDER_UPDATE);
    tender_fill(&u.w.tender, u.doc, sizeof u.doc, "t-u", "offered", "L2", "acme", 2, 20);
    u.w.expect_version = 1;
    assert_int_equal(run_job(st, &u), HG_OK);
    struct hg_store_tender t;
    assert_int_equal(hg_store_tender_get(st, "t-u", &t), HG_OK);
    assert_int_equal(t.version, 2);
    assert_string_equal(t.state, "offered");
    assert_string_equal(t.lane, "L2");
    assert_int_equal(t.updated_ms, 20);
    assert_string_equal(t.doc, u.doc);
    hg_store_tender_free(&t);

    /* stale expect_version: conflict, and the job's other rows are undone */
    struct job stale;
    job_tender_full(&stale, "t-u");
    stale.w.op = HG_SOP_TENDER_UPDATE;
    tender_fill(&stale.w.tender, stale.doc, sizeof stale.doc, "t-u", "accepted", "L", "acme",
                3, 30);
    stale.w.expect_version = 1;
    assert_int_equal(run_job(st, &stale), HG_ECONFLICT);
    assert_non_null(strstr(stale.w.detail, "version 2"));
    struct hg_store_counts c;
    assert_int_equal(hg_store_counts(st, &c), HG_OK);
    assert_int_equal(c.history + c.events + c.audit_pending + c.idem, 0);
    assert_int_equal(hg_store_tender_get(st, "t-u", &t), HG_OK);
    assert_string_equal(t.state, "offered");
    hg_store_tender_free(&t);

    job_init(&u, HG_SOP_TENDER_UPDATE);
    tender_fill(&u.w.tender, u.doc, sizeof u.doc, "t-missing", "offered", "L", "acme", 2, 20);
    u.w.expect_version = 1;
    assert_int_equal(run_job(st, &u), HG_ENOTFOUND);
    assert_non_null(strstr(u.w.detail, "t-missing"));
    hg_store_close(st);
}

/* ---- offers ---- */

static void offer_fill(struct job *j, const char *id, const char *provider, const char *level,
                       const char *lane, int64_t start, int64_t end, int64_t expires)
{
    job_init(j, HG_SOP_OFFER_INSERT);
    struct hg_store_offer *of = &j->w.offer;
    hg_strlcpy(of->id, id, sizeof of->id);
    hg_strlcpy(of->tenant, "acme", sizeof of->tenant);
    hg_strlcpy(of->owner, provider, sizeof of->owner);
    hg_strlcpy(of->provider_id, provider, sizeof of->provider_id);
    hg_strlcpy(of->autonomy_level, level, sizeof of->autonomy_level);
    hg_strlcpy(of->lane, lane, sizeof of->lane);
    of->start_ms = start;
    of->end_ms = end;
    of->expires_ms = expires;
    of->created_ms = 5;
    int n = snprintf(j->doc, sizeof j->doc, "{\"capacityId\":\"%s\"}", id);
    of->doc = j->doc;
    of->doc_len = (size_t)n;
}

static void offers(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    struct hg_store *st = open_store(&o);
    struct job j;
    offer_fill(&j, "o-1", "aurora", "L4", "PHX-DAL", 100, 200, 1000);
    assert_int_equal(run_job(st, &j), HG_OK);
    offer_fill(&j, "o-2", "aurora", "L3", "LAX-SEA", 150, 300, 50);
    assert_int_equal(run_job(st, &j), HG_OK);
    offer_fill(&j, "o-3", "kodiak", "L4", "PHX-DAL", 300, 400, 0);
    assert_int_equal(run_job(st, &j), HG_OK);
    offer_fill(&j, "o-4", "kodiak", "L4", "", 0, 99, 2000);
    assert_int_equal(run_job(st, &j), HG_OK);
    offer_fill(&j, "o-1", "other", "L2", "X", 1, 2, 3);
    assert_int_equal(run_job(st, &j), HG_EEXIST);

    struct hg_store_offer of;
    assert_int_equal(hg_store_offer_get(st, "o-2", &of), HG_OK);
    assert_string_equal(of.provider_id, "aurora");
    assert_string_equal(of.autonomy_level, "L3");
    assert_string_equal(of.lane, "LAX-SEA");
    assert_string_equal(of.tenant, "acme");
    assert_int_equal(of.start_ms, 150);
    assert_int_equal(of.end_ms, 300);
    assert_int_equal(of.expires_ms, 50);
    assert_int_equal(of.created_ms, 5);
    assert_string_equal(of.doc, "{\"capacityId\":\"o-2\"}");
    hg_store_offer_free(&of);

    struct { struct hg_store_offer_filter f; const char *want; } cases[] = {
        { { NULL, NULL, NULL, NULL, -1, -1, -1, NULL, 100 }, "o-1,o-2,o-3,o-4" },
        { { NULL, "kodiak", NULL, NULL, -1, -1, -1, NULL, 100 }, "o-3,o-4" },
        { { NULL, NULL, "L4", NULL, -1, -1, -1, NULL, 100 }, "o-1,o-3,o-4" },
        { { NULL, NULL, NULL, "PHX-DAL", -1, -1, -1, NULL, 100 }, "o-1,o-3" },
        { { "acme", NULL, NULL, NULL, -1, -1, -1, NULL, 100 }, "o-1,o-2,o-3,o-4" },
        { { "other", NULL, NULL, NULL, -1, -1, -1, NULL, 100 }, "" },
        /* window [190, 310): o-1 (100-200), o-2 (150-300), o-3 (300-400) */
        { { NULL, NULL, NULL, NULL, 190, 310, -1, NULL, 100 }, "o-1,o-2,o-3" },
        /* touching ends do not overlap: [200, 300) misses o-1 and o-3 */
        { { NULL, NULL, NULL, NULL, 200, 300, -1, NULL, 100 }, "o-2" },
        /* live at 60: o-2 expired at 50; o-3 never expires */
        { { NULL, NULL, NULL, NULL, -1, -1, 60, NULL, 100 }, "o-1,o-3,o-4" },
        { { NULL, NULL, NULL, NULL, -1, -1, 1000, NULL, 100 }, "o-3,o-4" },
        { { NULL, "aurora", "L4", "PHX-DAL", 0, 1000, 10, NULL, 100 }, "o-1" },
        { { NULL, NULL, NULL, NULL, -1, -1, -1, "o-1", 2 }, "o-2,o-3" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct hg_store_offer *rows;
        size_t n;
        assert_int_equal(hg_store_offer_list(st, &cases[c].f, &rows, &n), HG_OK);
        char got[128] = "";
        for (size_t i = 0; i < n; i++) {
            strncat(got, i ? "," : "", sizeof got - strlen(got) - 1);
            strncat(got, rows[i].id, sizeof got - strlen(got) - 1);
        }
        if (strcmp(got, cases[c].want) != 0)
            fail_msg("case %zu: got '%s', want '%s'", c, got, cases[c].want);
        hg_store_offer_list_free(rows, n);
    }
    struct hg_store_offer_filter big = { NULL, NULL, NULL, NULL, -1, -1, -1, NULL, 10000 };
    struct hg_store_offer *rows;
    size_t n;
    assert_int_equal(hg_store_offer_list(st, &big, &rows, &n), HG_OK);
    hg_store_offer_list_free(rows, n);
    big.limit = 10001;
    assert_int_equal(hg_store_offer_list(st, &big, &rows, &n), HG_EINVAL);

    job_init(&j, HG_SOP_OFFER_DELETE);
    hg_strlcpy(j.w.offer.id, "o-2", sizeof j.w.offer.id);
    assert_int_equal(run_job(st, &j), HG_OK);
    assert_int_equal(run_job(st, &j), HG_ENOTFOUND);
    assert_non_null(strstr(j.w.detail, "o-2"));
    assert_int_equal(hg_store_offer_get(st, "o-2", &of), HG_ENOTFOUND);
    struct hg_store_counts c;
    assert_int_equal(hg_store_counts(st, &c), HG_OK);
    assert_int_equal(c.offers, 3);
    hg_store_close(st);
}

/* ---- idempotency ---- */

static void idem_job(struct job *j, const char *key, int status, const char *body, size_t blen,
                     int64_t created, int64_t expires, int replace)
{
    job_init(j, HG_SOP_NONE);
    struct hg_store_idem *r = &j->idem;
    hg_strlcpy(r->principal, "tms-a", sizeof r->principal);
    hg_strlcpy(r->key, key, sizeof r->key);
    memset(r->fingerprint, status & 0xff, sizeof r->fingerprint);
    r->status = status;
    r->headers = "{\"etag\":\"\\\"1\\\"\"}";
    memcpy(j->body, body, blen);
    r->body = j->body;
    r->body_len = blen;
    r->created_ms = created;
    r->expires_ms = expires;
    j->w.idem = r;
    j->w.idem_replace = replace;
}

static void idempotency(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    struct hg_store *st = open_store(&o);
    struct job j;
    static const char body1[] = "{\"a\":1}\0tail";       /* embedded NUL kept */
    idem_job(&j, "key-1", 201, body1, sizeof body1 - 1, 1000, 5000, 0);
    assert_int_equal(run_job(st, &j), HG_OK);

    struct hg_store_idem r;
    assert_int_equal(hg_store_idem_get(st, "tms-a", "key-1", &r), HG_OK);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.body_len, sizeof body1 - 1);
    assert_memory_equal(r.body, body1, sizeof body1 - 1);
    assert_string_equal(r.headers, "{\"etag\":\"\\\"1\\\"\"}");
    uint8_t fp[32];
    memset(fp, 201, sizeof fp);
    assert_memory_equal(r.fingerprint, fp, 32);
    assert_int_equal(r.created_ms, 1000);
    assert_int_equal(r.expires_ms, 5000);
    assert_string_equal(r.principal, "tms-a");
    assert_string_equal(r.key, "key-1");
    hg_store_idem_free(&r);
    /* scoped to the principal */
    assert_int_equal(hg_store_idem_get(st, "tms-b", "key-1", &r), HG_ENOTFOUND);

    /* taken and live: refused, the record unchanged */
    idem_job(&j, "key-1", 500, "x", 1, 2000, 9000, 0);
    assert_int_equal(run_job(st, &j), HG_EEXIST);
    assert_non_null(strstr(j.w.detail, "key-1"));
    assert_int_equal(hg_store_idem_get(st, "tms-a", "key-1", &r), HG_OK);
    assert_int_equal(r.status, 201);
    hg_store_idem_free(&r);

    /* replace */
    idem_job(&j, "key-1", 202, "{\"b\":2}", 7, 2000, 6000, 1);
    assert_int_equal(run_job(st, &j), HG_OK);
    assert_int_equal(hg_store_idem_get(st, "tms-a", "key-1", &r), HG_OK);
    assert_int_equal(r.status, 202);
    assert_int_equal(r.body_len, 7);
    assert_string_equal(r.body, "{\"b\":2}");
    assert_int_equal(r.expires_ms, 6000);
    hg_store_idem_free(&r);

    /* expired by the new record's creation: overwritten without replace */
    idem_job(&j, "key-1", 409, "{}", 2, 6000, 9000, 0);
    assert_int_equal(run_job(st, &j), HG_OK);
    assert_int_equal(hg_store_idem_get(st, "tms-a", "key-1", &r), HG_OK);
    assert_int_equal(r.status, 409);
    hg_store_idem_free(&r);

    idem_job(&j, "key-2", 200, "", 0, 100, 3000, 0);
    assert_int_equal(run_job(st, &j), HG_OK);
    assert_int_equal(hg_store_idem_get(st, "tms-a", "key-2", &r), HG_OK);
    assert_int_equal(r.body_len, 0);
    assert_non_null(r.body);
    hg_store_idem_free(&r);
    idem_job(&j, "key-3", 200, "z", 1, 100, 3001, 0);
    assert_int_equal(run_job(st, &j), HG_OK);

    /* sweep at 3000: key-2 (expires 3000) goes; key-3 and key-1 stay */
    job_init(&j, HG_SOP_IDEM_SWEEP);
    j.w.now_ms = 3000;
    assert_int_equal(run_job(st, &j), HG_OK);
    assert_int_equal(j.w.swept, 1);
    assert_int_equal(hg_store_idem_get(st, "tms-a", "key-2", &r), HG_ENOTFOUND);
    assert_int_equal(hg_store_idem_get(st, "tms-a", "key-3", &r), HG_OK);
    hg_store_idem_free(&r);
    j.w.now_ms = 10000;
    assert_int_equal(run_job(st, &j), HG_OK);
    assert_int_equal(j.w.swept, 2);
    struct hg_store_counts c;
    assert_int_equal(hg_store_counts(st, &c), HG_OK);
    assert_int_equal(c.idem, 0);
    hg_store_close(st);
}

/* ---- outbox and audit ---- */

static void outbox_with_tender(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    struct hg_store *st = open_store(&o);
    struct job j;
    job_tender_full(&j, "t-e1");
    assert_int_equal(run_job(st, &j), HG_OK);

    struct hg_store_event *ev;
    size_t n;
    assert_int_equal(hg_store_events_list(st, 0, 100, 0, &ev, &n), HG_OK);
    assert_int_equal(n, 2);
    assert_true(ev[0].seq < ev[1].seq);
    assert_string_equal(ev[0].id, "ev0-t-e1");
    assert_string_equal(ev[0].type, "com.haulgate.tender.created");
    assert_string_equal(ev[0].subject, "t-e1");
    assert_string_equal(ev[0].correlation_id, "corr-1");
    assert_string_equal(ev[0].traceparent,
                        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assert_int_equal(ev[0].time_ms, 1000);
    assert_string_equal(ev[1].data, "{\"tenderId\":\"t-e1\",\"n\":1}");
    assert_int_equal(ev[1].data_len, strlen(ev[1].data));
    assert_int_equal(ev[0].published_ms, 0);
    int64_t first = ev[0].seq, second = ev[1].seq;
    hg_store_events_free(ev, n);

    /* an event id reused by a later job: that job fails whole (its tender too) */
    struct job dup;
    job_tender_full(&dup, "t-e2");
    hg_strlcpy(dup.ev[1].id, "ev0-t-e1", sizeof dup.ev[1].id);
    assert_int_equal(run_job(st, &dup), HG_EEXIST);
    struct hg_store_tender t;
    assert_int_equal(hg_store_tender_get(st, "t-e2", &t), HG_ENOTFOUND);
    struct hg_store_counts c;
    assert_int_equal(hg_store_counts(st, &c), HG_OK);
    assert_int_equal(c.tenders, 1);
    assert_int_equal(c.events, 2);
    assert_int_equal(c.history, 1);
    assert_int_equal(c.idem, 1);
    assert_int_equal(c.audit_pending, 1);

    job_tender_full(&j, "t-e3");
    assert_int_equal(run_job(st, &j), HG_OK);

    job_init(&j, HG_SOP_EVENTS_PUBLISHED);
    j.w.upto_seq = first;
    j.w.now_ms = 777;
    assert_int_equal(run_job(st, &j), HG_OK);
    assert_int_equal(j.w.swept, 1);
    assert_int_equal(hg_store_events_list(st, 0, 100, 1, &ev, &n), HG_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ev[0].seq, second);
    assert_string_equal(ev[1].subject, "t-e3");
    hg_store_events_free(ev, n);
    assert_int_equal(hg_store_events_list(st, 0, 1, 0, &ev, &n), HG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].published_ms, 777);
    hg_store_events_free(ev, n);
    assert_int_equal(hg_store_events_list(st, second, 100, 0, &ev, &n), HG_OK);
    assert_int_equal(n, 2);
    assert_true(ev[0].seq > second);
    hg_store_events_free(ev, n);
    /* published rows are not marked twice */
    j.w.upto_seq = second;
    assert_int_equal(run_job(st, &j), HG_OK);
    assert_int_equal(j.w.swept, 1);
    assert_int_equal(hg_store_events_list(st, 0, 0, 0, &ev, &n), HG_EINVAL);
    hg_store_close(st);
}

static void audit_queue(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    struct hg_store *st = open_store(&o);
    struct job j;
    struct hg_store_audit recs[3] = {
        { 0, "{\"r\":1}", 7 }, { 0, "{\"r\":2}", 7 }, { 0, "{\"r\":3}", 7 },
    };
    job_init(&j, HG_SOP_NONE);
    j.w.audit = recs;
    j.w.naudit = 3;
    assert_int_equal(run_job(st, &j), HG_OK);

    struct hg_store_audit *rows;
    size_t n;
    assert_int_equal(hg_store_audit_pending(st, 10, &rows, &n), HG_OK);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].record, "{\"r\":1}");
    assert_string_equal(rows[2].record, "{\"r\":3}");
    assert_int_equal(rows[2].record_len, 7);
    int64_t s2 = rows[1].seq, s3 = rows[2].seq;
    hg_store_audit_free(rows, n);

    job_init(&j, HG_SOP_AUDIT_DONE);
    j.w.upto_seq = s3;
    assert_int_equal(run_job(st, &j), HG_OK);
    assert_int_equal(j.w.swept, 3);
    /* seqs are never reused after the rows are gone */
    job_init(&j, HG_SOP_NONE);
    j.w.audit = recs;
    j.w.naudit = 2;
    assert_int_equal(run_job(st, &j), HG_OK);
    assert_int_equal(hg_store_audit_pending(st, 1, &rows, &n), HG_OK);
    assert_int_equal(n, 1);
    assert_true(rows[0].seq > s3);
    int64_t s4 = rows[0].seq;
    hg_store_audit_free(rows, n);
    job_init(&j, HG_SOP_AUDIT_DONE);
    j.w.upto_seq = s4;
    assert_int_equal(run_job(st, &j), HG_OK);
    assert_int_equal(j.w.swept, 1);
    assert_int_equal(hg_store_audit_pending(st, 10, &rows, &n), HG_OK);
    assert_int_equal(n, 1);
    assert_true(rows[0].seq > s4 && s2 < s4);
    hg_store_audit_free(rows, n);
    hg_store_close(st);
}

/* ---- group commit ---- */

static double metric_value(struct hg_metrics *m, const char *series)
{
    struct hg_buf b;
    hg_buf_init(&b, 1 << 20);
    assert_int_equal(hg_metrics_render(m, &b), HG_OK);
    double v = -1;
    char needle[160];
    snprintf(needle, sizeof needle, "\n%s ", series);
    const char *p = strstr(b.data, needle);
    if (p)
        v = strtod(p + strlen(needle), NULL);
    hg_buf_cleanup(&b);
    return v;
}

static void failing_job_isolated(void **state)
{
    (void)state;
    struct hg_metrics *m = NULL;
    assert_int_equal(hg_metrics_new(&m), HG_OK);
    struct hg_store_opts o = opts();
    o.metrics = m;
    struct hg_store *st = open_store(&o);
    insert_tender(st, "t-000", "pending", "L", "acme", 1);

    struct gate g;
    gate_init(&g);
    hold_writer(st, &g);
    enum { N = 40, BAD = 17 };
    static struct job jobs[N + 1];
    int before = done_count(&W);
    /* The first job is taken by the writer, which then waits at the gate:
     * the next N pile up and must go as one group. */
    job_init(&jobs[N], HG_SOP_TENDER_INSERT);
    tender_fill(&jobs[N].w.tender, jobs[N].doc, sizeof jobs[N].doc, "t-first", "pending", "L",
                "acme", 1, 1);
    assert_int_equal(hg_store_submit(st, &jobs[N].w), HG_OK);
    gate_wait_entered(&g, 1);
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "t-%03d", i == BAD ? 0 : i + 1);   /* BAD repeats t-000 */
        job_tender_full(&jobs[i], id);
        assert_int_equal(hg_store_submit(st, &jobs[i].w), HG_OK);
    }
    assert_int_equal(hg_store_queue_depth(st), N);
    assert_int_equal(metric_value(m, "haulgate_store_queue_depth"), N);
    uint64_t g0;
    store__stats(st, &g0, NULL);
    gate_release(&g);
    wait_done(&W, before + N + 1);

    for (int i = 0; i < N; i++) {
        if (i == BAD) {
            assert_int_equal(jobs[i].w.result, HG_EEXIST);
            assert_non_null(strstr(jobs[i].w.detail, "t-000"));
        } else {
            assert_int_equal(jobs[i].w.result, HG_OK);
            assert_string_equal(jobs[i].w.detail, "");
        }
    }
    uint64_t groups, njobs;
    store__stats(st, &groups, &njobs);
    /* counted after release: the held job's group, then one group for all N */
    assert_int_equal(groups - g0, 2);
    assert_true(groups > 0 && groups < njobs);
    assert_int_equal(metric_value(m, "haulgate_store_commit_groups_total"), (double)groups);
    assert_int_equal(metric_value(m, "haulgate_store_group_jobs_count"), (double)groups);
    assert_int_equal(metric_value(m, "haulgate_store_group_jobs_sum"), (double)njobs);
    assert_int_equal(metric_value(m, "haulgate_store_commit_seconds_count"), (double)groups);
    assert_int_equal(metric_value(m, "haulgate_store_job_failures_total{result=\"HG_EEXIST\"}"),
                     1);
    assert_int_equal(metric_value(m, "haulgate_store_queue_depth"), 0);

    struct hg_store_counts c;
    assert_int_equal(hg_store_counts(st, &c), HG_OK);
    assert_int_equal(c.tenders, 2 + N - 1);
    assert_int_equal(c.events, 2 * (N - 1));
    assert_int_equal(c.history, N - 1);
    assert_int_equal(c.idem, N - 1);
    assert_int_equal(c.audit_pending, N - 1);
    struct hg_store_tender t;
    assert_int_equal(hg_store_tender_get(st, "t-000", &t), HG_OK);
    assert_int_equal(t.updated_ms, 1);             /* the original, untouched */
    hg_store_tender_free(&t);

    /* a second store on the same registry opens (metrics tolerated) */
    char path2[160];
    snprintf(path2, sizeof path2, "%s/second.db", tmpdir);
    struct hg_store_opts o2 = opts();
    o2.path = path2;
    o2.metrics = m;
    struct hg_store *st2 = open_store(&o2);
    insert_tender(st2, "t-x", "pending", "L", "acme", 1);
    hg_store_close(st2);

    hg_store_close(st);
    gate_destroy(&g);
    hg_metrics_free(m);
}

/* Hold the writer on an empty job, queue N tender jobs behind it, and fail
 * the second commit: exactly the group that holds them. */
struct arm {
    struct gate *g;
    int calls;
};

static hg_status fail_second_commit(void *arg)
{
    struct arm *a = arg;
    return ++a->calls == 2 ? HG_EIO : HG_OK;
}

static void gate_only(void *arg, size_t njobs)
{
    struct arm *a = arg;
    gate_hook(a->g, njobs);
}

static void commit_failure(void **state)
{
    (void)state;
    struct hg_metrics *m = NULL;
    assert_int_equal(hg_metrics_new(&m), HG_OK);
    struct hg_store_opts o = opts();
    o.metrics = m;
    struct hg_store *st = open_store(&o);
    struct gate g;
    gate_init(&g);
    struct arm a = { &g, 0 };
    store__set_hooks(st, &(struct store__hooks){ .group_start = gate_only,
                                                 .before_commit = fail_second_commit,
                                                 .arg = &a });
    enum { N = 6 };
    static struct job held, jobs[N];
    int before = done_count(&W);
    job_init(&held, HG_SOP_NONE);
    assert_int_equal(hg_store_submit(st, &held.w), HG_OK);
    gate_wait_entered(&g, 1);
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "t-cf%d", i);
        job_tender_full(&jobs[i], id);
        if (i == 3)                      /* one job fails on its own as well */
            jobs[i].w.op = HG_SOP_TENDER_UPDATE;
        assert_int_equal(hg_store_submit(st, &jobs[i].w), HG_OK);
    }
    gate_release(&g);
    wait_done(&W, before + 1 + N);
    assert_int_equal(held.w.result, HG_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(jobs[i].w.result, HG_EIO);
        assert_non_null(strstr(jobs[i].w.detail, "commit"));
    }
    assert_int_equal(a.calls, 2);
    struct hg_store_counts c;
    assert_int_equal(hg_store_counts(st, &c), HG_OK);
    assert_int_equal(c.tenders + c.history + c.events + c.idem + c.audit_pending, 0);
    assert_int_equal(metric_value(m, "haulgate_store_job_failures_total{result=\"HG_EIO\"}"), N);

    /* the writer goes on: the same jobs now commit */
    store__set_hooks(st, NULL);
    for (int i = 0; i < N; i++)
        if (i != 3)
            assert_int_equal(run_job(st, &jobs[i]), HG_OK);
    assert_int_equal(hg_store_counts(st, &c), HG_OK);
    assert_int_equal(c.tenders, N - 1);
    assert_int_equal(c.events, 2 * (N - 1));
    hg_store_close(st);
    gate_destroy(&g);
    hg_metrics_free(m);
}

static void queue_full(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    o.queue_max = 4;
    o.batch_max = 1;
    struct hg_store *st = open_store(&o);
    struct gate g;
    gate_init(&g);
    hold_writer(st, &g);
    static struct job jobs[6];
    int before = done_count(&W);
    for (int i = 0; i < 6; i++) {
        char id[16];
        snprintf(id, sizeof id, "t-q%d", i);
        job_init(&jobs[i], HG_SOP_TENDER_INSERT);
        tender_fill(&jobs[i].w.tender, jobs[i].doc, sizeof jobs[i].doc, id, "pending", "L",
                    "acme", 1, 1);
    }
    assert_int_equal(hg_store_submit(st, &jobs[0].w), HG_OK);
    gate_wait_entered(&g, 1);               /* jobs[0] is out of the queue */
    for (int i = 1; i <= 4; i++)
        assert_int_equal(hg_store_submit(st, &jobs[i].w), HG_OK);
    assert_int_equal(hg_store_queue_depth(st), 4);
    assert_int_equal(hg_store_submit(st, &jobs[5].w), HG_EBUSY);
    assert_int_equal(hg_store_queue_depth(st), 4);
    gate_release(&g);
    wait_done(&W, before + 5);
    for (int i = 0; i <= 4; i++)
        assert_int_equal(jobs[i].w.result, HG_OK);
    uint64_t groups;
    store__stats(st, &groups, NULL);
    assert_int_equal(groups, 5);            /* batch_max 1: one job per group */
    /* room again */
    assert_int_equal(run_job(st, &jobs[5]), HG_OK);
    hg_store_close(st);
    gate_destroy(&g);
}

struct resubmit {
    struct hg_store *st;
    struct job extra;
    hg_status rc;
    int called;
};

static void resubmit_done(struct hg_store_write *w, void *arg)
{
    (void)w;
    struct resubmit *r = arg;
    job_init(&r->extra, HG_SOP_NONE);
    r->rc = hg_store_submit(r->st, &r->extra.w);
    r->called = 1;
}

static void *release_later(void *arg)
{
    struct gate *g = arg;
    usleep(50 * 1000);
    gate_release(g);
    return NULL;
}

static void close_drains(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    struct hg_store *st = open_store(&o);
    struct gate g;
    gate_init(&g);
    hold_writer(st, &g);
    enum { N = 20 };
    static struct job jobs[N];
    struct resubmit rs = { .st = st, .rc = HG_OK };
    int before = done_count(&W);
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "t-d%02d", i);
        job_tender_full(&jobs[i], id);
    }
    jobs[N - 1].w.done = resubmit_done;   /* completes during close */
    jobs[N - 1].w.arg = &rs;
    assert_int_equal(hg_store_submit(st, &jobs[0].w), HG_OK);
    gate_wait_entered(&g, 1);
    for (int i = 1; i < N; i++)
        assert_int_equal(hg_store_submit(st, &jobs[i].w), HG_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, release_later, &g), 0);
    hg_store_close(st);                   /* closing while the writer is held */
    pthread_join(th, NULL);
    assert_int_equal(done_count(&W), before + N - 1);
    assert_true(rs.called);
    assert_int_equal(rs.rc, HG_ESTATE);
    for (int i = 0; i < N; i++)
        assert_int_equal(jobs[i].w.result, HG_OK);
    gate_destroy(&g);

    st = open_store(&o);
    struct hg_store_counts c;
    assert_int_equal(hg_store_counts(st, &c), HG_OK);
    assert_int_equal(c.tenders, N);
    assert_int_equal(c.events, 2 * N);
    hg_store_close(st);
}

/* ---- concurrency ---- */

enum { CR_N = 300, CR_READERS = 4 };
static char cr_ids[CR_N][40];
static _Atomic int cr_acked = -1;
static _Atomic int cr_stop;

struct cr_reader {
    struct hg_store *st;
    int checks;
    int bad;
};

static void *cr_reader_main(void *arg)
{
    struct cr_reader *r = arg;
    while (!atomic_load(&cr_stop)) {
        int k = atomic_load(&cr_acked);
        if (k < 0)
            continue;
        struct hg_store_tender t;
        if (hg_store_tender_get(r->st, cr_ids[k], &t) != HG_OK)
            r->bad++;
        else
            hg_store_tender_free(&t);
        struct hg_store_tender_filter f = { "acme", NULL, NULL, -1, NULL, 50 };
        struct hg_store_tender *rows;
        size_t n;
        if (hg_store_tender_list(r->st, &f, &rows, &n) != HG_OK || n == 0)
            r->bad++;
        else
            hg_store_tender_list_free(rows, n);
        struct hg_store_counts c;
        if (hg_store_counts(r->st, &c) != HG_OK || c.tenders < k + 1)
            r->bad++;
        r->checks++;
    }
    return NULL;
}

struct cr_job {
    struct job j;                 /* first: the write is the job's address */
    int index;
};

static void cr_job_done(struct hg_store_write *w, void *arg)
{
    struct cr_job *cj = (struct cr_job *)(void *)w;
    if (w->result == HG_OK)
        atomic_store(&cr_acked, cj->index);   /* done() runs in submission order */
    on_done(w, arg);
}

static void concurrent_readers(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    o.queue_max = 64;
    o.batch_max = 16;
    struct hg_store *st = open_store(&o);
    atomic_store(&cr_acked, -1);
    atomic_store(&cr_stop, 0);
    struct cr_reader rd[CR_READERS];
    pthread_t th[CR_READERS];
    for (int i = 0; i < CR_READERS; i++) {
        rd[i] = (struct cr_reader){ st, 0, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, cr_reader_main, &rd[i]), 0);
    }
    static struct cr_job jobs[CR_N];
    int before = done_count(&W);
    for (int i = 0; i < CR_N; i++) {
        assert_int_equal(hg_uuid7(cr_ids[i]), HG_OK);
        job_tender_full(&jobs[i].j, cr_ids[i]);
        jobs[i].index = i;
        jobs[i].j.w.done = cr_job_done;
        hg_status rc;
        while ((rc = hg_store_submit(st, &jobs[i].j.w)) == HG_EBUSY)
            usleep(200);
        assert_int_equal(rc, HG_OK);
    }
    wait_done(&W, before + CR_N);
    atomic_store(&cr_stop, 1);
    int checks = 0;
    for (int i = 0; i < CR_READERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(rd[i].bad, 0);
        checks += rd[i].checks;
    }
    assert_true(checks > 0);
    for (int i = 0; i < CR_N; i++)
        assert_int_equal(jobs[i].j.w.result, HG_OK);
    uint64_t groups, njobs;
    store__stats(st, &groups, &njobs);
    assert_int_equal(njobs, CR_N);
    assert_true(groups < njobs);          /* the burst was grouped */
    hg_store_close(st);
}

/* A real I/O failure at COMMIT: in a child (the limit is per process and
 * must not hit the test's own output), cap the file size at the WAL's
 * current length so SQLite cannot append the group's frames. Every job of
 * the group must fail with HG_EIO and leave nothing; with the cap lifted
 * the writer goes on. Exit codes say which check failed. */
static int disk_full_child(void)
{
    struct hg_store_opts o = opts();
    struct hg_store *st = NULL;
    struct hg_err err;
    if (hg_store_open(&o, &st, &err) != HG_OK)
        return 10;
    static struct job first, jobs[3];
    job_tender_full(&first, "t-df0");
    if (run_job(st, &first) != HG_OK)
        return 11;
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", dbpath);
    struct stat sb;
    if (stat(wal, &sb) != 0 || sb.st_size == 0)
        return 12;
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = { (rlim_t)sb.st_size, RLIM_INFINITY };
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        return 13;

    struct gate g;
    gate_init(&g);
    hold_writer(st, &g);
    int before = done_count(&W);
    struct job held;
    job_init(&held, HG_SOP_NONE);          /* writes nothing: commits fine */
    if (hg_store_submit(st, &held.w) != HG_OK)
        return 14;
    gate_wait_entered(&g, 1);
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "t-df%d", i + 1);
        job_tender_full(&jobs[i], id);
        if (hg_store_submit(st, &jobs[i].w) != HG_OK)
            return 15;
    }
    gate_release(&g);
    wait_done(&W, before + 4);
    for (int i = 0; i < 3; i++)
        if (jobs[i].w.result != HG_EIO || !strstr(jobs[i].w.detail, "commit"))
            return 16;
    struct hg_store_counts c;
    if (hg_store_counts(st, &c) != HG_OK || c.tenders != 1 || c.events != 2)
        return 17;

    lim.rlim_cur = RLIM_INFINITY;
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        return 18;
    store__set_hooks(st, NULL);
    for (int i = 0; i < 3; i++)
        if (run_job(st, &jobs[i]) != HG_OK)
            return 19;
    if (hg_store_counts(st, &c) != HG_OK || c.tenders != 4 || c.events != 8 || c.idem != 4)
        return 20;
    hg_store_close(st);
    gate_destroy(&g);
    return 0;
}

static void disk_full_at_commit(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(disk_full_child());
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* and the file is sound afterwards */
    struct hg_store_opts o = opts();
    struct hg_store *st = open_store(&o);
    struct hg_store_counts c;
    assert_int_equal(hg_store_counts(st, &c), HG_OK);
    assert_int_equal(c.tenders, 4);
    assert_int_equal(c.history, 4);
    hg_store_close(st);
}

static void durability_normal(void **state)
{
    (void)state;
    struct hg_store_opts o = opts();
    o.durability_full = 0;
    struct hg_store *st = open_store(&o);
    struct job j;
    job_tender_full(&j, "t-n");
    assert_int_equal(run_job(st, &j), HG_OK);
    hg_store_close(st);
    st = open_store(&o);
    struct hg_store_tender t;
    assert_int_equal(hg_store_tender_get(st, "t-n", &t), HG_OK);
    hg_store_tender_free(&t);
    hg_store_close(st);
    assert_int_equal(sql_int("SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
}

/* ---- crash atomicity ---- */

enum { CRASH_N = 4000, CRASH_KILL_AFTER = 400 };
static int crash_pipe;
static _Atomic int crash_acks;

struct crash_job {
    struct job j;
    int index;
};

static void crash_done(struct hg_store_write *w, void *arg)
{
    (void)arg;
    struct crash_job *cj = (struct crash_job *)(void *)w;
    if (w->result == HG_OK) {
        int32_t i = cj->index;
        /* write(2) is immediate: the parent learns of the ack before any
         * later instant at which the child may die. */
        if (write(crash_pipe, &i, sizeof i) != (ssize_t)sizeof i)
            _exit(3);
        atomic_fetch_add(&crash_acks, 1);
    }
}

static void crash_child(void)
{
    struct hg_store_opts o = opts();
    o.queue_max = 256;
    o.batch_max = 32;
    struct hg_store *st = NULL;
    struct hg_err err;
    if (hg_store_open(&o, &st, &err) != HG_OK)
        _exit(2);
    struct crash_job *jobs = calloc(CRASH_N, sizeof *jobs);
    if (!jobs)
        _exit(2);
    for (int i = 0; i < CRASH_N; i++) {
        char id[16];
        snprintf(id, sizeof id, "c-%06d", i);
        job_tender_full(&jobs[i].j, id);
        jobs[i].index = i;
        jobs[i].j.w.done = crash_done;
        jobs[i].j.w.arg = NULL;
        while (hg_store_submit(st, &jobs[i].j.w) == HG_EBUSY)
            usleep(100);
        /* Die at an arbitrary instant while the writer is mid-group. */
        if (atomic_load(&crash_acks) >= CRASH_KILL_AFTER)
            raise(SIGKILL);
    }
    while (atomic_load(&crash_acks) < CRASH_KILL_AFTER)
        usleep(100);
    raise(SIGKILL);
    _exit(4);
}

static void crash_atomicity(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        crash_pipe = fds[1];
        crash_child();
    }
    close(fds[1]);
    static unsigned char acked[CRASH_N];
    memset(acked, 0, sizeof acked);
    int nacked = 0;
    int32_t idx;
    ssize_t r;
    while ((r = read(fds[0], &idx, sizeof idx)) == (ssize_t)sizeof idx) {
        assert_true(idx >= 0 && idx < CRASH_N);
        acked[idx] = 1;
        nacked++;
    }
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    assert_true(nacked >= CRASH_KILL_AFTER);

    struct hg_store_opts o = opts();
    struct hg_store *st = open_store(&o);
    struct hg_store_counts c;
    assert_int_equal(hg_store_counts(st, &c), HG_OK);
    /* every job whole or absent: each tender has exactly its rows */
    assert_true(c.tenders >= nacked);
    assert_int_equal(c.history, c.tenders);
    assert_int_equal(c.events, 2 * c.tenders);
    assert_int_equal(c.idem, c.tenders);
    assert_int_equal(c.audit_pending, c.tenders);
    for (int i = 0; i < CRASH_N; i++) {
        if (!acked[i])
            continue;
        char id[16], key[24];
        snprintf(id, sizeof id, "c-%06d", i);
        snprintf(key, sizeof key, "k-%s", id);
        struct hg_store_tender t;
        assert_int_equal(hg_store_tender_get(st, id, &t), HG_OK);
        hg_store_tender_free(&t);
        struct hg_store_history *h;
        size_t n;
        assert_int_equal(hg_store_tender_history(st, id, &h, &n), HG_OK);
        assert_int_equal(n, 1);
        free(h);
        struct hg_store_idem rec;
        assert_int_equal(hg_store_idem_get(st, "tms-a", key, &rec), HG_OK);
        hg_store_idem_free(&rec);
    }
    /* no event without its tender */
    int64_t after = 0;
    size_t seen = 0;
    for (;;) {
        struct hg_store_event *ev;
        size_t n;
        assert_int_equal(hg_store_events_list(st, after, 1000, 0, &ev, &n), HG_OK);
        for (size_t i = 0; i < n; i++) {
            struct hg_store_tender t;
            assert_int_equal(hg_store_tender_get(st, ev[i].subject, &t), HG_OK);
            hg_store_tender_free(&t);
            after = ev[i].seq;
        }
        hg_store_events_free(ev, n);
        seen += n;
        if (n < 1000)
            break;
    }
    assert_int_equal(seen, c.events);
    hg_store_close(st);
}

int main(void)
{
    hg_log_set_level(HG_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(open_creates_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_open, setup, teardown),
        cmocka_unit_test_setup_teardown(submit_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(tender_insert_get_list, setup, teardown),
        cmocka_unit_test_setup_teardown(pagination_under_inserts, setup, teardown),
        cmocka_unit_test_setup_teardown(history_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(update_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(offers, setup, teardown),
        cmocka_unit_test_setup_teardown(idempotency, setup, teardown),
        cmocka_unit_test_setup_teardown(outbox_with_tender, setup, teardown),
        cmocka_unit_test_setup_teardown(audit_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(failing_job_isolated, setup, teardown),
        cmocka_unit_test_setup_teardown(commit_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(queue_full, setup, teardown),
        cmocka_unit_test_setup_teardown(close_drains, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(disk_full_at_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(durability_normal, setup, teardown),
        cmocka_unit_test_setup_teardown(crash_atomicity, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
