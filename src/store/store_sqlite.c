/* SPDX-License-Identifier: Apache-2.0
 *
 * store_sqlite.c — the SQLite backend of the store: schema migrations, the
 * writer connection (WAL, synchronous FULL or NORMAL, one savepoint per
 * job inside the group's transaction) and a pool of read-only connections.
 * Every statement is a fixed string prepared once per connection with
 * SQLITE_PREPARE_PERSISTENT; values are always bound with their lengths,
 * never spliced into SQL. It is called by store.c only: the writer-side
 * functions from the writer thread alone, the reads from any thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"
#include "obs/log.h"
#include "store/store_int.h"

#define BUSY_TIMEOUT_MS 5000
/* Pages of WAL before an automatic checkpoint: SQLite's default (~4 MiB
 * with 4 KiB pages) keeps the WAL, and so read latency, small while
 * checkpointing rarely enough not to stall the writer. */
#define WAL_AUTOCHECKPOINT 1000
/* Read connections kept open. Each costs a file descriptor pair and a page
 * cache; more readers than this wait briefly for a free one. */
#define READ_CONNS_MAX 32
/* Most history rows returned for one tender (the state machine allows a
 * handful; this bounds the buffer whatever the table holds). */
#define HISTORY_MAX 10000

/* ---- schema ---- */

/* Forward-only migrations: migrations[i] takes the schema from version i to
 * i + 1 and is applied in its own transaction together with its row in
 * schema_migrations. Never edit a released entry; append a new one. */
static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE tenders ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " tenant TEXT NOT NULL,"
    " owner TEXT NOT NULL,"
    " tms_load_id TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL,"
    " lane TEXT NOT NULL,"
    " region TEXT NOT NULL,"
    " doc TEXT NOT NULL);"
    "CREATE INDEX tenders_state_id ON tenders(state, id);"
    "CREATE INDEX tenders_updated ON tenders(updated_ms);"
    "CREATE INDEX tenders_lane_id ON tenders(lane, id);"
    "CREATE INDEX tenders_tenant_id ON tenders(tenant, id);"
    /* AUTOINCREMENT on every seq: a seq is a position others remember (the
     * relay, the audit appender), so it must never be reused after rows are
     * deleted, which plain rowids would do. */
    "CREATE TABLE tender_history ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " tender_id TEXT NOT NULL REFERENCES tenders(id),"
    " from_state TEXT NOT NULL,"
    " to_state TEXT NOT NULL,"
    " actor TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL,"
    " correlation_id TEXT NOT NULL);"
    "CREATE INDEX tender_history_tender ON tender_history(tender_id, seq);"
    "CREATE TABLE offers ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " tenant TEXT NOT NULL,"
    " owner TEXT NOT NULL,"
    " provider_id TEXT NOT NULL,"
    " autonomy_level TEXT NOT NULL,"
    " lane TEXT NOT NULL,"
    " start_ms INTEGER NOT NULL,"
    " end_ms INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " doc TEXT NOT NULL);"
    "CREATE INDEX offers_provider_id ON offers(provider_id, id);"
    "CREATE INDEX offers_lane_id ON offers(lane, id);"
    "CREATE INDEX offers_tenant_id ON offers(tenant, id);"
    "CREATE INDEX offers_expires ON offers(expires_ms);"
    "CREATE TABLE outbox ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE,"
    " type TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " time_ms INTEGER NOT NULL,"
    " correlation_id TEXT NOT NULL,"
    " traceparent TEXT NOT NULL,"
    " data TEXT NOT NULL,"
    " published_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX outbox_unpublished ON outbox(seq) WHERE published_ms = 0;"
    "CREATE TABLE audit_outbox ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " record TEXT NOT NULL);"
    "CREATE TABLE idempotency ("
    " principal TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " fingerprint BLOB NOT NULL,"
    " status INTEGER NOT NULL,"
    " headers TEXT NOT NULL,"
    " body BLOB NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL,"
    " PRIMARY KEY (principal, key));"
    "CREATE INDEX idempotency_expires ON idempotency(expires_ms);",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int store__sqlite_latest_version(void)
{
    return NMIGRATIONS;
}

/* ---- writer statements ---- */

enum wst {
    W_BEGIN, W_COMMIT, W_ROLLBACK, W_SAVEPOINT, W_RELEASE, W_ROLLBACK_TO,
    W_TENDER_INSERT, W_TENDER_UPDATE, W_TENDER_VERSION,
    W_OFFER_INSERT, W_OFFER_DELETE,
    W_IDEM_SWEEP, W_EVENTS_PUBLISHED, W_AUDIT_DONE,
    W_HISTORY_INSERT, W_EVENT_INSERT, W_AUDIT_INSERT, W_IDEM_INSERT, W_IDEM_REPLACE,
    W__COUNT
};

#define IDEM_COLS "principal, key, fingerprint, status, headers, body, created_ms, expires_ms"

static const char *const wsql[W__COUNT] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_SAVEPOINT] = "SAVEPOINT job",
    [W_RELEASE] = "RELEASE job",
    [W_ROLLBACK_TO] = "ROLLBACK TO job",
    [W_TENDER_INSERT] =
        "INSERT INTO tenders (id, tenant, owner, tms_load_id, state, version, created_ms,"
        " updated_ms, lane, region, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [W_TENDER_UPDATE] =
        "UPDATE tenders SET tenant = ?2, owner = ?3, tms_load_id = ?4, state = ?5,"
        " version = ?6, created_ms = ?7, updated_ms = ?8, lane = ?9, region = ?10, doc = ?11"
        " WHERE id = ?1 AND version = ?12",
    [W_TENDER_VERSION] = "SELECT version FROM tenders WHERE id = ?1",
    [W_OFFER_INSERT] =
        "INSERT INTO offers (id, tenant, owner, provider_id, autonomy_level, lane, start_ms,"
        " end_ms, expires_ms, created_ms, doc)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [W_OFFER_DELETE] = "DELETE FROM offers WHERE id = ?1",
    [W_IDEM_SWEEP] = "DELETE FROM idempotency WHERE expires_ms <= ?1",
    [W_EVENTS_PUBLISHED] =
        "UPDATE outbox SET published_ms = ?1 WHERE seq <= ?2 AND published_ms = 0",
    [W_AUDIT_DONE] = "DELETE FROM audit_outbox WHERE seq <= ?1",
    [W_HISTORY_INSERT] =
        "INSERT INTO tender_history (tender_id, from_state, to_state, actor, reason, at_ms,"
        " correlation_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [W_EVENT_INSERT] =
        "INSERT INTO outbox (id, type, subject, time_ms, correlation_id, traceparent, data)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [W_AUDIT_INSERT] = "INSERT INTO audit_outbox (record) VALUES (?1)",
    /* A record that expired by the new one's creation is as good as absent
     * (hg_idem_decide treats it so), so it may be overwritten even without
     * idem_replace; a live one leaves changes() at 0 → HG_EEXIST. */
    [W_IDEM_INSERT] =
        "INSERT INTO idempotency (" IDEM_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " ON CONFLICT (principal, key) DO UPDATE SET fingerprint = excluded.fingerprint,"
        " status = excluded.status, headers = excluded.headers, body = excluded.body,"
        " created_ms = excluded.created_ms, expires_ms = excluded.expires_ms"
        " WHERE idempotency.expires_ms <= excluded.created_ms",
    [W_IDEM_REPLACE] =
        "INSERT OR REPLACE INTO idempotency (" IDEM_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
};

/* ---- read statements ---- */

enum rst { R_TENDER_GET, R_HISTORY, R_OFFER_GET, R_IDEM_GET, R_EVENTS, R_EVENTS_UNPUB,
           R_AUDIT, R_COUNTS, R__COUNT };

#define TENDER_COLS \
    "id, tenant, owner, tms_load_id, state, version, created_ms, updated_ms, lane, region, doc"
#define OFFER_COLS \
    "id, tenant, owner, provider_id, autonomy_level, lane, start_ms, end_ms, expires_ms," \
    " created_ms, doc"
#define EVENT_COLS \
    "seq, id, type, subject, time_ms, correlation_id, traceparent, data, published_ms"

static const char *const rsql[R__COUNT] = {
    [R_TENDER_GET] = "SELECT " TENDER_COLS " FROM tenders WHERE id = ?1",
    [R_HISTORY] = "SELECT seq, tender_id, from_state, to_state, actor, reason, at_ms,"
                  " correlation_id FROM tender_history WHERE tender_id = ?1 ORDER BY seq"
                  " LIMIT ?2",
    [R_OFFER_GET] = "SELECT " OFFER_COLS " FROM offers WHERE id = ?1",
    [R_IDEM_GET] = "SELECT fingerprint, status, headers, body, created_ms, expires_ms"
                   " FROM idempotency WHERE principal = ?1 AND key = ?2",
    [R_EVENTS] = "SELECT " EVENT_COLS " FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    [R_EVENTS_UNPUB] = "SELECT " EVENT_COLS " FROM outbox WHERE seq > ?1 AND published_ms = 0"
                       " ORDER BY seq LIMIT ?2",
    [R_AUDIT] = "SELECT seq, record FROM audit_outbox ORDER BY seq LIMIT ?1",
    /* One statement, so the counts come from one snapshot. */
    [R_COUNTS] = "SELECT (SELECT count(*) FROM tenders), (SELECT count(*) FROM tender_history),"
                 " (SELECT count(*) FROM offers), (SELECT count(*) FROM outbox),"
                 " (SELECT count(*) FROM idempotency), (SELECT count(*) FROM audit_outbox)",
};

/* List queries are built from fixed fragments, one statement per
 * combination of filters present (a bit each), so each gets a plan that
 * uses the matching index; no input ever becomes SQL text. */
enum { TF_TENANT = 1, TF_STATE = 2, TF_LANE = 4, TF_UPDATED = 8, TF__COMBOS = 16 };
static const char *const tender_frag[] = {
    " AND tenant = ?1", " AND state = ?2", " AND lane = ?3", " AND updated_ms > ?4",
};
enum { OF_TENANT = 1, OF_PROVIDER = 2, OF_AUTONOMY = 4, OF_LANE = 8, OF_WINDOW = 16,
       OF_LIVE = 32, OF__COMBOS = 64 };
static const char *const offer_frag[] = {
    " AND tenant = ?1", " AND provider_id = ?2", " AND autonomy_level = ?3", " AND lane = ?4",
    /* half-open windows overlap when each starts before the other ends */
    " AND start_ms < ?6 AND end_ms > ?5",
    /* expires_ms 0: the offer never expires */
    " AND (expires_ms <= 0 OR expires_ms > ?7)",
};

/* A read connection: used by one thread at a time (taken from the pool). */
struct rconn {
    sqlite3 *db;
    sqlite3_stmt *st[R__COUNT];
    sqlite3_stmt *tlist[TF__COMBOS];
    sqlite3_stmt *olist[OF__COMBOS];
    struct rconn *next;               /* free list */
};

struct sq {
    char *path;
    sqlite3 *w;                       /* writer connection: writer thread only */
    sqlite3_stmt *ws[W__COUNT];

    /* Read pool. A mutex-guarded free list rather than one connection per
     * thread (pthread key): the store must close every connection at
     * hg_store_close, which a thread-local scheme could only do by keeping
     * this same registry, and HTTP worker threads outlive nothing here. The
     * lock is held only to pop or push, never during SQL. */
    pthread_mutex_t pmu;
    pthread_cond_t pcv;
    struct rconn *free;
    int nconns;                       /* open, free or in use */
};

/* ---- helpers ---- */

static hg_status map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return HG_OK;
    case SQLITE_NOMEM:
        return HG_ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return HG_ECORRUPT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return HG_EBUSY;
    case SQLITE_TOOBIG:
        return HG_ETOOBIG;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
        return HG_EPERM;
    default:
        return HG_EIO;
    }
}

static int bind_fixed(sqlite3_stmt *s, int i, const char *str, size_t cap)
{
    return sqlite3_bind_text(s, i, str, (int)strnlen(str, cap), SQLITE_STATIC);
}
#define BIND_FIXED(s, i, field) bind_fixed((s), (i), (field), sizeof(field))

static int bind_text(sqlite3_stmt *s, int i, const char *p, size_t n)
{
    return sqlite3_bind_text64(s, i, p ? p : "", p ? n : 0, SQLITE_STATIC, SQLITE_UTF8);
}

static int bind_blob(sqlite3_stmt *s, int i, const void *p, size_t n)
{
    return sqlite3_bind_blob64(s, i, p ? p : "", p ? n : 0, SQLITE_STATIC);
}

/* Step a statement that returns no rows (or whose rows are ignored) and
 * reset it, so it never pins a transaction or snapshot. The detail is
 * written before the reset, while sqlite3_errmsg still describes the step. */
static int step_done(sqlite3 *db, sqlite3_stmt *s, char *detail, size_t cap, const char *what)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    } else if (detail) {
        snprintf(detail, cap, "%s: %s", what, sqlite3_errmsg(db));
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

static void col_copy(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
    const unsigned char *p = sqlite3_column_text(s, i);
    size_t n = (size_t)sqlite3_column_bytes(s, i);
    if (!p)
        n = 0;
    if (n > cap - 1)
        n = cap - 1;
    if (n)
        memcpy(dst, p, n);
    dst[n] = '\0';
}
#define COL_COPY(s, i, field) col_copy((s), (i), (field), sizeof(field))

/* A malloc'd, NUL-terminated copy of a column (text or blob); NULL is "". */
static hg_status col_dup(sqlite3_stmt *s, int i, char **out, size_t *len)
{
    const void *p = sqlite3_column_blob(s, i);
    size_t n = (size_t)sqlite3_column_bytes(s, i);
    char *d = malloc(n + 1);
    if (!d)
        return HG_ENOMEM;
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    *out = d;
    if (len)
        *len = n;
    return HG_OK;
}

/* The array of `elem`-sized rows, grown if needed to hold row n; NULL when
 * out of memory (the old array is then still valid). */
static void *grow(void *arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return arr;
    size_t nc = *cap ? *cap * 2 : 16;
    char *p = realloc(arr, nc * elem);
    if (!p)
        return NULL;
    memset(p + *cap * elem, 0, (nc - *cap) * elem);
    *cap = nc;
    return p;
}

static hg_status exec_sql(sqlite3 *db, const char *sql, struct hg_err *err, const char *path,
                          const char *what)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return HG_OK;
    hg_status st = map_rc(rc);
    hg_err_set(err, st, "store %s: %s failed: %s%s", path, what,
               msg ? msg : sqlite3_errstr(rc),
               st == HG_ECORRUPT ? " (the file is not a haulgate database or is damaged; "
                                   "restore it from a backup)" : "");
    sqlite3_free(msg);
    return st;
}

/* ---- open, pragmas, migrations ---- */

/* Create the file ourselves so it is 0600 from its first instant whatever
 * the umask (SQLite would use 0644); SQLite gives -wal and -shm the mode of
 * the database file. A new file's directory entry is fsync'd so the
 * database cannot vanish with a power loss after its first commit. */
static hg_status create_private(const char *path, struct hg_err *err)
{
    int created = 1;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EEXIST) {
        created = 0;
        fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0)
        return hg_err_set(err, errno == ENOENT ? HG_ENOTFOUND : HG_EIO,
                          "store: cannot open or create %s: %s; check that the directory "
                          "exists and is writable by this user", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (sb.st_mode & 077))
        hg_log(HG_LOG_WARN, "store database is readable by group or others",
               HG_LF_STR("path", path), HG_LF_STR("fix", "chmod 600 the file"), HG_LF_END);
    close(fd);
    if (!created)
        return HG_OK;
    char *dir = strdup(path);
    if (!dir)
        return hg_err_set(err, HG_ENOMEM, "store: out of memory");
    hg_status rc = hg_fs_fsync_dir(dirname(dir), err);
    free(dir);
    return rc;
}

static hg_status pragma_check(sqlite3 *db, const char *sql, const char *want,
                              const char *path, struct hg_err *err)
{
    sqlite3_stmt *s = NULL;
    hg_status rc = HG_OK;
    int src = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_step(s);
    if (src != SQLITE_ROW) {
        rc = map_rc(src);
        hg_err_set(err, rc == HG_OK ? HG_EIO : rc, "store %s: %s failed: %s%s", path, sql,
                   sqlite3_errmsg(db),
                   rc == HG_ECORRUPT ? " (the file is not a haulgate database or is "
                                       "damaged; restore it from a backup)" : "");
        if (rc == HG_OK)
            rc = HG_EIO;
        goto out;
    }
    const char *got = (const char *)sqlite3_column_text(s, 0);
    if (!got || strcmp(got, want) != 0) {
        rc = hg_err_set(err, HG_EIO, "store %s: %s gave '%s', not '%s'; the file system may "
                        "not support it (WAL needs shared memory: not on a network share)",
                        path, sql, got ? got : "", want);
    }
out:
    sqlite3_finalize(s);
    return rc;
}

static hg_status read_version(sqlite3 *db, int *version, const char *path, struct hg_err *err)
{
    sqlite3_stmt *s = NULL;
    hg_status rc = HG_OK;
    int src = sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_migrations",
                                 -1, &s, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_step(s);
    if (src != SQLITE_ROW) {
        rc = hg_err_set(err, HG_EIO, "store %s: cannot read the schema version: %s", path,
                        sqlite3_errmsg(db));
        goto out;
    }
    *version = sqlite3_column_int(s, 0);
out:
    sqlite3_finalize(s);
    return rc;
}

/* Apply every migration newer than the database, each in its own
 * transaction. BEGIN IMMEDIATE takes the write lock before the version is
 * read, so two processes opening the same file cannot both migrate. */
static hg_status migrate(sqlite3 *db, const char *path, int *out_version, struct hg_err *err)
{
    hg_status rc = exec_sql(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
                            err, path, "creating schema_migrations");
    if (rc != HG_OK)
        return rc;
    for (;;) {
        int v = 0;
        rc = exec_sql(db, "BEGIN IMMEDIATE", err, path, "starting a migration");
        if (rc != HG_OK)
            return rc;
        rc = read_version(db, &v, path, err);
        if (rc != HG_OK)
            goto fail;
        if (v > NMIGRATIONS) {
            rc = hg_err_set(err, HG_EUNSUPPORTED,
                            "store %s has schema version %d but this program knows versions "
                            "up to %d: it was written by a newer haulgate; run that release "
                            "(or a newer one) on it, or restore a backup made by this one",
                            path, v, NMIGRATIONS);
            goto fail;
        }
        if (v == NMIGRATIONS) {
            rc = exec_sql(db, "COMMIT", err, path, "ending the schema check");
            if (rc == HG_OK)
                *out_version = v;
            return rc;
        }
        char what[64];
        snprintf(what, sizeof what, "migration %d", v + 1);
        rc = exec_sql(db, migrations[v], err, path, what);
        if (rc != HG_OK)
            goto fail;
        sqlite3_stmt *s = NULL;
        int src = sqlite3_prepare_v2(db, "INSERT INTO schema_migrations (version, applied_at)"
                                         " VALUES (?1, ?2)", -1, &s, NULL);
        if (src == SQLITE_OK) {
            sqlite3_bind_int(s, 1, v + 1);
            sqlite3_bind_int64(s, 2, hg_wall_ms());
            src = sqlite3_step(s);
        }
        sqlite3_finalize(s);
        if (src != SQLITE_DONE) {
            rc = hg_err_set(err, HG_EIO, "store %s: recording migration %d failed: %s", path,
                            v + 1, sqlite3_errmsg(db));
            goto fail;
        }
        rc = exec_sql(db, "COMMIT", err, path, what);
        if (rc != HG_OK)
            goto fail;
        hg_log(HG_LOG_INFO, "store migration applied", HG_LF_STR("path", path),
               HG_LF_INT("version", v + 1), HG_LF_END);
    }
fail:
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static hg_status conn_open(const char *path, int readonly, sqlite3 **out, struct hg_err *err)
{
    sqlite3 *db = NULL;
    int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        hg_status st = map_rc(rc);
        hg_err_set(err, st == HG_OK ? HG_EIO : st, "store: cannot open %s: %s", path,
                   db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return st == HG_OK ? HG_EIO : st;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    *out = db;
    return HG_OK;
}

static void rconn_free(struct rconn *c)
{
    if (!c)
        return;
    for (int i = 0; i < R__COUNT; i++)
        sqlite3_finalize(c->st[i]);
    for (int i = 0; i < TF__COMBOS; i++)
        sqlite3_finalize(c->tlist[i]);
    for (int i = 0; i < OF__COMBOS; i++)
        sqlite3_finalize(c->olist[i]);
    sqlite3_close_v2(c->db);
    free(c);
}

static void sq_close(void *vb)
{
    struct sq *b = vb;
    if (!b)
        return;
    int freed = 0;
    while (b->free) {
        struct rconn *c = b->free;
        b->free = c->next;
        rconn_free(c);
        freed++;
    }
    if (freed != b->nconns)
        hg_log(HG_LOG_ERROR, "store closed while reads were running",
               HG_LF_INT("in_use", b->nconns - freed), HG_LF_END);
    for (int i = 0; i < W__COUNT; i++)
        sqlite3_finalize(b->ws[i]);
    /* The last connection to close checkpoints the WAL into the database. */
    sqlite3_close_v2(b->w);
    pthread_cond_destroy(&b->pcv);
    pthread_mutex_destroy(&b->pmu);
    free(b->path);
    free(b);
}

static hg_status sq_open(const struct hg_store_opts *o, void **out, int *schema_version,
                         struct hg_err *err)
{
    hg_status rc;
    struct sq *b = NULL;
    char sql[64];

    if (!sqlite3_threadsafe())
        return hg_err_set(err, HG_EUNSUPPORTED, "store: this SQLite library was built without "
                          "thread support; install a thread-safe libsqlite3");
    b = calloc(1, sizeof *b);
    if (!b)
        return hg_err_set(err, HG_ENOMEM, "store: out of memory");
    pthread_mutex_init(&b->pmu, NULL);
    pthread_cond_init(&b->pcv, NULL);
    b->path = strdup(o->path);
    if (!b->path) {
        rc = hg_err_set(err, HG_ENOMEM, "store: out of memory");
        goto out;
    }
    rc = create_private(o->path, err);
    if (rc != HG_OK)
        goto out;
    rc = conn_open(o->path, 0, &b->w, err);
    if (rc != HG_OK)
        goto out;
    rc = pragma_check(b->w, "PRAGMA journal_mode=WAL", "wal", o->path, err);
    if (rc != HG_OK)
        goto out;
    snprintf(sql, sizeof sql, "PRAGMA synchronous=%s; PRAGMA wal_autocheckpoint=%d",
             o->durability_full ? "FULL" : "NORMAL", WAL_AUTOCHECKPOINT);
    rc = exec_sql(b->w, sql, err, o->path, "setting durability");
    if (rc != HG_OK)
        goto out;
    rc = exec_sql(b->w, "PRAGMA foreign_keys=ON", err, o->path, "enabling foreign keys");
    if (rc != HG_OK)
        goto out;
    /* The undo data of each job's SAVEPOINT is a statement journal; past
     * 64 KiB SQLite spills it to a temporary file in /var/tmp, created and
     * deleted once per commit group (15% of POST CPU in the profile,
     * docs/performance.md). A group is at most batch_max jobs of a few KiB:
     * keep it in memory. Durability is unaffected: the WAL is the journal. */
    rc = exec_sql(b->w, "PRAGMA temp_store=MEMORY", err, o->path, "keeping temporary data in memory");
    if (rc != HG_OK)
        goto out;
    rc = migrate(b->w, o->path, schema_version, err);
    if (rc != HG_OK)
        goto out;
    for (int i = 0; i < W__COUNT; i++) {
        if (sqlite3_prepare_v3(b->w, wsql[i], -1, SQLITE_PREPARE_PERSISTENT, &b->ws[i],
                               NULL) != SQLITE_OK) {
            rc = hg_err_set(err, HG_EIO, "store %s: preparing a statement failed: %s (%s)",
                            o->path, sqlite3_errmsg(b->w), wsql[i]);
            goto out;
        }
    }
    hg_log(HG_LOG_INFO, "store opened", HG_LF_STR("path", o->path),
           HG_LF_INT("schema_version", *schema_version),
           HG_LF_STR("durability", o->durability_full ? "full" : "normal"), HG_LF_END);
    *out = b;
    b = NULL;
out:
    sq_close(b);
    return rc;
}

/* ---- writer ---- */

static hg_status sq_begin(void *vb, char *detail, size_t cap)
{
    struct sq *b = vb;
    int rc = step_done(b->w, b->ws[W_BEGIN], detail, cap, "BEGIN IMMEDIATE");
    return rc == SQLITE_OK ? HG_OK : HG_EIO;
}

static hg_status sq_commit(void *vb, char *detail, size_t cap)
{
    struct sq *b = vb;
    int rc = step_done(b->w, b->ws[W_COMMIT], detail, cap, "COMMIT");
    if (rc == SQLITE_OK)
        return HG_OK;
    /* A failed COMMIT may leave the transaction open (SQLITE_BUSY): end it
     * so the next group starts clean; nothing of this one was committed. */
    if (!sqlite3_get_autocommit(b->w))
        step_done(b->w, b->ws[W_ROLLBACK], NULL, 0, "ROLLBACK");
    return HG_EIO;
}

static void sq_rollback(void *vb)
{
    struct sq *b = vb;
    if (!sqlite3_get_autocommit(b->w))
        step_done(b->w, b->ws[W_ROLLBACK], NULL, 0, "ROLLBACK");
}

/* A failed statement inside a job: its status and detail. */
static hg_status job_err(struct hg_store_write *w, int rc, const char *what)
{
    int ext = rc;
    switch (ext) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        snprintf(w->detail, sizeof w->detail, "%s: already exists", what);
        return HG_EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        snprintf(w->detail, sizeof w->detail, "%s: the tender it refers to does not exist",
                 what);
        return HG_ENOTFOUND;
    default:
        /* detail was written by step_done */
        return (ext & 0xff) == SQLITE_CONSTRAINT ? HG_EINVAL : HG_EIO;
    }
}

static int bind_tender(sqlite3_stmt *s, const struct hg_store_tender *t)
{
    int rc = BIND_FIXED(s, 1, t->id);
    rc = rc ? rc : BIND_FIXED(s, 2, t->tenant);
    rc = rc ? rc : BIND_FIXED(s, 3, t->owner);
    rc = rc ? rc : BIND_FIXED(s, 4, t->tms_load_id);
    rc = rc ? rc : BIND_FIXED(s, 5, t->state);
    rc = rc ? rc : sqlite3_bind_int64(s, 6, t->version);
    rc = rc ? rc : sqlite3_bind_int64(s, 7, t->created_ms);
    rc = rc ? rc : sqlite3_bind_int64(s, 8, t->updated_ms);
    rc = rc ? rc : BIND_FIXED(s, 9, t->lane);
    rc = rc ? rc : BIND_FIXED(s, 10, t->region);
    rc = rc ? rc : bind_text(s, 11, t->doc, t->doc_len);
    return rc;
}

/* Run one bound statement of job w; on failure fill w->detail and return
 * the job's status. */
static hg_status job_step(struct sq *b, struct hg_store_write *w, sqlite3_stmt *s, int bound,
                          const char *what)
{
    int rc = bound;
    if (rc != SQLITE_OK) {
        snprintf(w->detail, sizeof w->detail, "%s: binding failed: %s", what,
                 sqlite3_errstr(rc));
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return HG_EIO;
    }
    rc = step_done(b->w, s, w->detail, sizeof w->detail, what);
    return rc == SQLITE_OK ? HG_OK : job_err(w, rc, what);
}

static hg_status job_op(struct sq *b, struct hg_store_write *w)
{
    sqlite3_stmt *s;
    hg_status rc = HG_OK;
    int brc;
    char what[96];

    switch (w->op) {
    case HG_SOP_NONE:
        return HG_OK;
    case HG_SOP_TENDER_INSERT:
        s = b->ws[W_TENDER_INSERT];
        snprintf(what, sizeof what, "inserting tender %.40s", w->tender.id);
        return job_step(b, w, s, bind_tender(s, &w->tender), what);
    case HG_SOP_TENDER_UPDATE:
        s = b->ws[W_TENDER_UPDATE];
        snprintf(what, sizeof what, "updating tender %.40s", w->tender.id);
        brc = bind_tender(s, &w->tender);
        brc = brc ? brc : sqlite3_bind_int64(s, 12, w->expect_version);
        rc = job_step(b, w, s, brc, what);
        if (rc != HG_OK || sqlite3_changes(b->w) > 0)
            return rc;
        /* Nothing matched: tell a moved version from a missing tender. */
        s = b->ws[W_TENDER_VERSION];
        BIND_FIXED(s, 1, w->tender.id);
        int src = sqlite3_step(s);
        int64_t cur = src == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        if (src != SQLITE_ROW && src != SQLITE_DONE)
            snprintf(w->detail, sizeof w->detail, "%s: %s", what, sqlite3_errmsg(b->w));
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        if (src == SQLITE_ROW) {
            snprintf(w->detail, sizeof w->detail,
                     "tender %.40s is at version %lld, not %lld", w->tender.id,
                     (long long)cur, (long long)w->expect_version);
            return HG_ECONFLICT;
        }
        if (src == SQLITE_DONE) {
            snprintf(w->detail, sizeof w->detail, "tender %.40s does not exist", w->tender.id);
            return HG_ENOTFOUND;
        }
        return HG_EIO;
    case HG_SOP_OFFER_INSERT: {
        const struct hg_store_offer *o = &w->offer;
        s = b->ws[W_OFFER_INSERT];
        snprintf(what, sizeof what, "inserting offer %.40s", o->id);
        brc = BIND_FIXED(s, 1, o->id);
        brc = brc ? brc : BIND_FIXED(s, 2, o->tenant);
        brc = brc ? brc : BIND_FIXED(s, 3, o->owner);
        brc = brc ? brc : BIND_FIXED(s, 4, o->provider_id);
        brc = brc ? brc : BIND_FIXED(s, 5, o->autonomy_level);
        brc = brc ? brc : BIND_FIXED(s, 6, o->lane);
        brc = brc ? brc : sqlite3_bind_int64(s, 7, o->start_ms);
        brc = brc ? brc : sqlite3_bind_int64(s, 8, o->end_ms);
        brc = brc ? brc : sqlite3_bind_int64(s, 9, o->expires_ms);
        brc = brc ? brc : sqlite3_bind_int64(s, 10, o->created_ms);
        brc = brc ? brc : bind_text(s, 11, o->doc, o->doc_len);
        return job_step(b, w, s, brc, what);
    }
    case HG_SOP_OFFER_DELETE:
        s = b->ws[W_OFFER_DELETE];
        snprintf(what, sizeof what, "deleting offer %.40s", w->offer.id);
        rc = job_step(b, w, s, BIND_FIXED(s, 1, w->offer.id), what);
        if (rc == HG_OK && sqlite3_changes(b->w) == 0) {
            snprintf(w->detail, sizeof w->detail, "offer %.40s does not exist", w->offer.id);
            rc = HG_ENOTFOUND;
        }
        return rc;
    case HG_SOP_IDEM_SWEEP:
        s = b->ws[W_IDEM_SWEEP];
        rc = job_step(b, w, s, sqlite3_bind_int64(s, 1, w->now_ms),
                      "sweeping idempotency records");
        break;
    case HG_SOP_EVENTS_PUBLISHED:
        s = b->ws[W_EVENTS_PUBLISHED];
        brc = sqlite3_bind_int64(s, 1, w->now_ms > 0 ? w->now_ms : hg_wall_ms());
        brc = brc ? brc : sqlite3_bind_int64(s, 2, w->upto_seq);
        rc = job_step(b, w, s, brc, "marking events published");
        break;
    case HG_SOP_AUDIT_DONE:
        s = b->ws[W_AUDIT_DONE];
        rc = job_step(b, w, s, sqlite3_bind_int64(s, 1, w->upto_seq),
                      "deleting appended audit rows");
        break;
    default:
        snprintf(w->detail, sizeof w->detail, "unknown store operation %d", (int)w->op);
        return HG_EINVAL;
    }
    if (rc == HG_OK)
        w->swept = sqlite3_changes64(b->w);
    return rc;
}

static hg_status job_rows(struct sq *b, struct hg_store_write *w)
{
    hg_status rc = HG_OK;
    sqlite3_stmt *s;
    int brc;
    char what[96];

    for (size_t i = 0; i < w->nhistory && rc == HG_OK; i++) {
        const struct hg_store_history *h = &w->history[i];
        s = b->ws[W_HISTORY_INSERT];
        snprintf(what, sizeof what, "history row %zu of tender %.40s", i + 1, h->tender_id);
        brc = BIND_FIXED(s, 1, h->tender_id);
        brc = brc ? brc : BIND_FIXED(s, 2, h->from_state);
        brc = brc ? brc : BIND_FIXED(s, 3, h->to_state);
        brc = brc ? brc : BIND_FIXED(s, 4, h->actor);
        brc = brc ? brc : BIND_FIXED(s, 5, h->reason);
        brc = brc ? brc : sqlite3_bind_int64(s, 6, h->at_ms);
        brc = brc ? brc : BIND_FIXED(s, 7, h->correlation_id);
        rc = job_step(b, w, s, brc, what);
    }
    for (size_t i = 0; i < w->nevents && rc == HG_OK; i++) {
        const struct hg_store_event *e = &w->events[i];
        s = b->ws[W_EVENT_INSERT];
        snprintf(what, sizeof what, "outbox event %.40s", e->id);
        brc = BIND_FIXED(s, 1, e->id);
        brc = brc ? brc : BIND_FIXED(s, 2, e->type);
        brc = brc ? brc : BIND_FIXED(s, 3, e->subject);
        brc = brc ? brc : sqlite3_bind_int64(s, 4, e->time_ms);
        brc = brc ? brc : BIND_FIXED(s, 5, e->correlation_id);
        brc = brc ? brc : BIND_FIXED(s, 6, e->traceparent);
        brc = brc ? brc : bind_text(s, 7, e->data, e->data_len);
        rc = job_step(b, w, s, brc, what);
    }
    for (size_t i = 0; i < w->naudit && rc == HG_OK; i++) {
        s = b->ws[W_AUDIT_INSERT];
        snprintf(what, sizeof what, "audit record %zu", i + 1);
        rc = job_step(b, w, s, bind_text(s, 1, w->audit[i].record, w->audit[i].record_len),
                      what);
    }
    if (w->idem && rc == HG_OK) {
        const struct hg_store_idem *r = w->idem;
        s = b->ws[w->idem_replace ? W_IDEM_REPLACE : W_IDEM_INSERT];
        snprintf(what, sizeof what, "idempotency record for key '%.64s'", r->key);
        brc = BIND_FIXED(s, 1, r->principal);
        brc = brc ? brc : BIND_FIXED(s, 2, r->key);
        brc = brc ? brc : sqlite3_bind_blob(s, 3, r->fingerprint, sizeof r->fingerprint,
                                            SQLITE_STATIC);
        brc = brc ? brc : sqlite3_bind_int(s, 4, r->status);
        brc = brc ? brc : bind_text(s, 5, r->headers, r->headers ? strlen(r->headers) : 0);
        brc = brc ? brc : bind_blob(s, 6, r->body, r->body_len);
        brc = brc ? brc : sqlite3_bind_int64(s, 7, r->created_ms);
        brc = brc ? brc : sqlite3_bind_int64(s, 8, r->expires_ms);
        rc = job_step(b, w, s, brc, what);
        if (rc == HG_OK && !w->idem_replace && sqlite3_changes(b->w) == 0) {
            snprintf(w->detail, sizeof w->detail,
                     "idempotency key '%.64s' of %.64s is already taken", r->key, r->principal);
            rc = HG_EEXIST;
        }
    }
    return rc;
}

static hg_status sq_apply(void *vb, struct hg_store_write *w, int *txn_lost)
{
    struct sq *b = vb;
    *txn_lost = 0;
    int rc = step_done(b->w, b->ws[W_SAVEPOINT], w->detail, sizeof w->detail, "SAVEPOINT");
    if (rc != SQLITE_OK) {
        *txn_lost = sqlite3_get_autocommit(b->w);
        return HG_EIO;
    }
    hg_status st = job_op(b, w);
    if (st == HG_OK)
        st = job_rows(b, w);
    if (st == HG_OK) {
        rc = step_done(b->w, b->ws[W_RELEASE], w->detail, sizeof w->detail, "RELEASE");
        if (rc == SQLITE_OK)
            return HG_OK;
        st = HG_EIO;
    }
    w->swept = 0;
    /* Some errors (I/O, disk full, out of memory) make SQLite roll back the
     * whole transaction by itself: then there is no savepoint to return to
     * and the group is lost. Otherwise undo only this job. */
    if (sqlite3_get_autocommit(b->w)) {
        *txn_lost = 1;
        return st;
    }
    rc = step_done(b->w, b->ws[W_ROLLBACK_TO], NULL, 0, "ROLLBACK TO");
    if (rc == SQLITE_OK)
        rc = step_done(b->w, b->ws[W_RELEASE], NULL, 0, "RELEASE");
    if (rc != SQLITE_OK)
        *txn_lost = 1;
    return st;
}

/* ---- read pool ---- */

static hg_status pool_get(struct sq *b, struct rconn **out)
{
    pthread_mutex_lock(&b->pmu);
    while (!b->free && b->nconns >= READ_CONNS_MAX)
        pthread_cond_wait(&b->pcv, &b->pmu);
    struct rconn *c = b->free;
    if (c) {
        b->free = c->next;
        pthread_mutex_unlock(&b->pmu);
        *out = c;
        return HG_OK;
    }
    b->nconns++;
    pthread_mutex_unlock(&b->pmu);

    hg_status rc = HG_ENOMEM;
    c = calloc(1, sizeof *c);
    if (c) {
        struct hg_err err;
        rc = conn_open(b->path, 1, &c->db, &err);
        if (rc != HG_OK)
            hg_log(HG_LOG_ERROR, "store read connection failed",
                   HG_LF_STR("detail", hg_err_msg(&err)), HG_LF_END);
    }
    if (rc != HG_OK) {
        free(c);
        pthread_mutex_lock(&b->pmu);
        b->nconns--;
        pthread_cond_signal(&b->pcv);
        pthread_mutex_unlock(&b->pmu);
        return rc;
    }
    *out = c;
    return HG_OK;
}

static void pool_put(struct sq *b, struct rconn *c)
{
    pthread_mutex_lock(&b->pmu);
    c->next = b->free;
    b->free = c;
    pthread_cond_signal(&b->pcv);
    pthread_mutex_unlock(&b->pmu);
}

static hg_status prep(sqlite3 *db, sqlite3_stmt **slot, const char *sql)
{
    if (*slot)
        return HG_OK;
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
    if (rc != SQLITE_OK) {
        hg_log(HG_LOG_ERROR, "store prepare failed", HG_LF_STR("detail", sqlite3_errmsg(db)),
               HG_LF_END);
        *slot = NULL;
        return map_rc(rc) == HG_OK ? HG_EIO : map_rc(rc);
    }
    return HG_OK;
}

static hg_status rprep(struct rconn *c, enum rst which, sqlite3_stmt **out)
{
    hg_status rc = prep(c->db, &c->st[which], rsql[which]);
    *out = c->st[which];
    return rc;
}

static void rdone(sqlite3_stmt *s)
{
    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
}

static hg_status step_err(sqlite3 *db, int rc)
{
    hg_status st = map_rc(rc);
    hg_log(HG_LOG_ERROR, "store read failed", HG_LF_STR("detail", sqlite3_errmsg(db)),
           HG_LF_END);
    return st == HG_OK ? HG_EIO : st;
}

/* ---- reads: every list is one statement stepped into an array ---- */

/* How to read one kind of row: its size, the reader, and the one column
 * it malloc()s (freed again when a later row fails), if any. */
struct row_kind {
    size_t size;
    hg_status (*read)(sqlite3_stmt *s, void *row);
    ptrdiff_t owned;           /* offset of a char * member, or -1 */
};

static hg_status tender_row(sqlite3_stmt *s, void *row)
{
    struct hg_store_tender *t = row;
    COL_COPY(s, 0, t->id);
    COL_COPY(s, 1, t->tenant);
    COL_COPY(s, 2, t->owner);
    COL_COPY(s, 3, t->tms_load_id);
    COL_COPY(s, 4, t->state);
    t->version = sqlite3_column_int64(s, 5);
    t->created_ms = sqlite3_column_int64(s, 6);
    t->updated_ms = sqlite3_column_int64(s, 7);
    COL_COPY(s, 8, t->lane);
    COL_COPY(s, 9, t->region);
    return col_dup(s, 10, &t->doc, &t->doc_len);
}

static hg_status offer_row(sqlite3_stmt *s, void *row)
{
    struct hg_store_offer *o = row;
    COL_COPY(s, 0, o->id);
    COL_COPY(s, 1, o->tenant);
    COL_COPY(s, 2, o->owner);
    COL_COPY(s, 3, o->provider_id);
    COL_COPY(s, 4, o->autonomy_level);
    COL_COPY(s, 5, o->lane);
    o->start_ms = sqlite3_column_int64(s, 6);
    o->end_ms = sqlite3_column_int64(s, 7);
    o->expires_ms = sqlite3_column_int64(s, 8);
    o->created_ms = sqlite3_column_int64(s, 9);
    return col_dup(s, 10, &o->doc, &o->doc_len);
}

static hg_status history_row(sqlite3_stmt *s, void *row)
{
    struct hg_store_history *h = row;
    h->seq = sqlite3_column_int64(s, 0);
    COL_COPY(s, 1, h->tender_id);
    COL_COPY(s, 2, h->from_state);
    COL_COPY(s, 3, h->to_state);
    COL_COPY(s, 4, h->actor);
    COL_COPY(s, 5, h->reason);
    h->at_ms = sqlite3_column_int64(s, 6);
    COL_COPY(s, 7, h->correlation_id);
    return HG_OK;
}

static hg_status event_row(sqlite3_stmt *s, void *row)
{
    struct hg_store_event *e = row;
    e->seq = sqlite3_column_int64(s, 0);
    COL_COPY(s, 1, e->id);
    COL_COPY(s, 2, e->type);
    COL_COPY(s, 3, e->subject);
    e->time_ms = sqlite3_column_int64(s, 4);
    COL_COPY(s, 5, e->correlation_id);
    COL_COPY(s, 6, e->traceparent);
    e->published_ms = sqlite3_column_int64(s, 8);
    return col_dup(s, 7, &e->data, &e->data_len);
}

static hg_status audit_row(sqlite3_stmt *s, void *row)
{
    struct hg_store_audit *a = row;
    a->seq = sqlite3_column_int64(s, 0);
    return col_dup(s, 1, &a->record, &a->record_len);
}

static const struct row_kind K_TENDER = {sizeof(struct hg_store_tender), tender_row,
                                         offsetof(struct hg_store_tender, doc)};
static const struct row_kind K_OFFER = {sizeof(struct hg_store_offer), offer_row,
                                        offsetof(struct hg_store_offer, doc)};
static const struct row_kind K_HISTORY = {sizeof(struct hg_store_history), history_row, -1};
static const struct row_kind K_EVENT = {sizeof(struct hg_store_event), event_row,
                                        offsetof(struct hg_store_event, data)};
static const struct row_kind K_AUDIT = {sizeof(struct hg_store_audit), audit_row,
                                        offsetof(struct hg_store_audit, record)};

/* Step the bound statement `s` to its end, reading each row into a grown
 * array (rows and n are set on HG_OK); on failure nothing is left allocated. More
 * than `max` rows (0 = no limit beyond the statement's own) is
 * HG_ETOOBIG. */
static hg_status collect(struct rconn *c, sqlite3_stmt *s, const struct row_kind *k,
                         size_t max, void **rows, size_t *n)
{
    char *arr = NULL;
    size_t cap = 0, cnt = 0;
    hg_status rc = HG_OK;
    int src;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        if (max && cnt == max) {
            rc = HG_ETOOBIG;
            break;
        }
        char *p = grow(arr, &cap, cnt, k->size);
        if (!p) {
            rc = HG_ENOMEM;
            break;
        }
        arr = p;
        if ((rc = k->read(s, arr + cnt * k->size)) != HG_OK)
            break;
        cnt++;
    }
    if (rc == HG_OK && src != SQLITE_DONE)
        rc = step_err(c->db, src);
    if (rc != HG_OK) {
        for (size_t i = 0; k->owned >= 0 && i < cnt; i++)
            free(*(char **)(arr + i * k->size + k->owned));
        free(arr);
        return rc;
    }
    *rows = arr;
    *n = cnt;
    return HG_OK;
}

/* The list statement for one combination of filters (`mask` picks the
 * fragments), prepared on first use and cached in *slot: fixed text only,
 * every value is bound. */
static hg_status list_stmt(sqlite3 *db, sqlite3_stmt **slot, const char *head,
                           const char *const *frag, unsigned nfrag, unsigned mask,
                           const char *tail, sqlite3_stmt **out)
{
    if (!*slot) {
        char sql[1024];
        size_t off = (size_t)snprintf(sql, sizeof sql, "%s", head);
        for (unsigned i = 0; i < nfrag; i++)
            if (mask & (1u << i))
                off += (size_t)snprintf(sql + off, sizeof sql - off, "%s", frag[i]);
        snprintf(sql + off, sizeof sql - off, "%s", tail);
        hg_status rc = prep(db, slot, sql);
        if (rc != HG_OK)
            return rc;
    }
    *out = *slot;
    return HG_OK;
}

/* One row by id from a prepared read statement: HG_ENOTFOUND if none. */
static hg_status get_by_id(struct sq *b, enum rst which, const char *id,
                           const struct row_kind *k, void *out)
{
    struct rconn *c;
    sqlite3_stmt *s = NULL;
    hg_status rc = pool_get(b, &c);
    if (rc != HG_OK)
        return rc;
    if ((rc = rprep(c, which, &s)) == HG_OK) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        int src = sqlite3_step(s);
        if (src == SQLITE_ROW)
            rc = k->read(s, out);
        else
            rc = src == SQLITE_DONE ? HG_ENOTFOUND : step_err(c->db, src);
    }
    rdone(s);
    pool_put(b, c);
    return rc;
}

static hg_status sq_tender_get(void *vb, const char *id, struct hg_store_tender *out)
{
    return get_by_id(vb, R_TENDER_GET, id, &K_TENDER, out);
}

static hg_status sq_offer_get(void *vb, const char *id, struct hg_store_offer *out)
{
    return get_by_id(vb, R_OFFER_GET, id, &K_OFFER, out);
}

static hg_status sq_tender_list(void *vb, const struct hg_store_tender_filter *f,
                                struct hg_store_tender **rows, size_t *n)
{
    struct sq *b = vb;
    struct rconn *c;
    sqlite3_stmt *s = NULL;
    unsigned mask = (f->tenant ? TF_TENANT : 0) | (f->state ? TF_STATE : 0) |
                    (f->lane ? TF_LANE : 0) | (f->updated_after_ms >= 0 ? TF_UPDATED : 0);
    hg_status rc = pool_get(b, &c);
    if (rc != HG_OK)
        return rc;
    rc = list_stmt(c->db, &c->tlist[mask], "SELECT " TENDER_COLS " FROM tenders WHERE id > ?5",
                   tender_frag, 4, mask, " ORDER BY id LIMIT ?6", &s);
    if (rc != HG_OK)
        goto out;
    if (f->tenant)
        sqlite3_bind_text(s, 1, f->tenant, -1, SQLITE_STATIC);
    if (f->state)
        sqlite3_bind_text(s, 2, f->state, -1, SQLITE_STATIC);
    if (f->lane)
        sqlite3_bind_text(s, 3, f->lane, -1, SQLITE_STATIC);
    if (f->updated_after_ms >= 0)
        sqlite3_bind_int64(s, 4, f->updated_after_ms);
    sqlite3_bind_text(s, 5, f->after_id ? f->after_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)f->limit);
    rc = collect(c, s, &K_TENDER, 0, (void **)rows, n);
out:
    rdone(s);
    pool_put(b, c);
    return rc;
}

static hg_status sq_offer_list(void *vb, const struct hg_store_offer_filter *f,
                               struct hg_store_offer **rows, size_t *n)
{
    struct sq *b = vb;
    struct rconn *c;
    sqlite3_stmt *s = NULL;
    unsigned mask = (f->tenant ? OF_TENANT : 0) | (f->provider_id ? OF_PROVIDER : 0) |
                    (f->autonomy_level ? OF_AUTONOMY : 0) | (f->lane ? OF_LANE : 0) |
                    (f->window_start_ms >= 0 && f->window_end_ms >= 0 ? OF_WINDOW : 0) |
                    (f->live_at_ms >= 0 ? OF_LIVE : 0);
    hg_status rc = pool_get(b, &c);
    if (rc != HG_OK)
        return rc;
    rc = list_stmt(c->db, &c->olist[mask], "SELECT " OFFER_COLS " FROM offers WHERE id > ?8",
                   offer_frag, 6, mask, " ORDER BY id LIMIT ?9", &s);
    if (rc != HG_OK)
        goto out;
    if (mask & OF_TENANT)
        sqlite3_bind_text(s, 1, f->tenant, -1, SQLITE_STATIC);
    if (mask & OF_PROVIDER)
        sqlite3_bind_text(s, 2, f->provider_id, -1, SQLITE_STATIC);
    if (mask & OF_AUTONOMY)
        sqlite3_bind_text(s, 3, f->autonomy_level, -1, SQLITE_STATIC);
    if (mask & OF_LANE)
        sqlite3_bind_text(s, 4, f->lane, -1, SQLITE_STATIC);
    if (mask & OF_WINDOW) {
        sqlite3_bind_int64(s, 5, f->window_start_ms);
        sqlite3_bind_int64(s, 6, f->window_end_ms);
    }
    if (mask & OF_LIVE)
        sqlite3_bind_int64(s, 7, f->live_at_ms);
    sqlite3_bind_text(s, 8, f->after_id ? f->after_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 9, (sqlite3_int64)f->limit);
    rc = collect(c, s, &K_OFFER, 0, (void **)rows, n);
out:
    rdone(s);
    pool_put(b, c);
    return rc;
}

static hg_status sq_tender_history(void *vb, const char *id, struct hg_store_history **rows,
                                   size_t *n)
{
    struct sq *b = vb;
    struct rconn *c;
    sqlite3_stmt *s = NULL;
    hg_status rc = pool_get(b, &c);
    if (rc != HG_OK)
        return rc;
    if ((rc = rprep(c, R_HISTORY, &s)) == HG_OK) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, HISTORY_MAX + 1);
        rc = collect(c, s, &K_HISTORY, HISTORY_MAX, (void **)rows, n);
    }
    rdone(s);
    pool_put(b, c);
    return rc;
}

static hg_status sq_idem_get(void *vb, const char *principal, const char *key,
                             struct hg_store_idem *out)
{
    struct sq *b = vb;
    struct rconn *c;
    sqlite3_stmt *s = NULL;
    hg_status rc = pool_get(b, &c);
    if (rc != HG_OK)
        return rc;
    rc = rprep(c, R_IDEM_GET, &s);
    if (rc != HG_OK)
        goto out;
    sqlite3_bind_text(s, 1, principal, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    int src = sqlite3_step(s);
    if (src != SQLITE_ROW) {
        rc = src == SQLITE_DONE ? HG_ENOTFOUND : step_err(c->db, src);
        goto out;
    }
    if (sqlite3_column_bytes(s, 0) != (int)sizeof out->fingerprint) {
        rc = HG_ECORRUPT;
        goto out;
    }
    hg_strlcpy(out->principal, principal, sizeof out->principal);
    hg_strlcpy(out->key, key, sizeof out->key);
    memcpy(out->fingerprint, sqlite3_column_blob(s, 0), sizeof out->fingerprint);
    out->status = sqlite3_column_int(s, 1);
    out->created_ms = sqlite3_column_int64(s, 4);
    out->expires_ms = sqlite3_column_int64(s, 5);
    rc = col_dup(s, 2, &out->headers, NULL);
    if (rc == HG_OK)
        rc = col_dup(s, 3, &out->body, &out->body_len);
    if (rc != HG_OK) {
        free(out->headers);
        out->headers = NULL;
    }
out:
    rdone(s);
    pool_put(b, c);
    return rc;
}

static hg_status sq_events_list(void *vb, int64_t after_seq, size_t limit, int unpublished_only,
                                struct hg_store_event **rows, size_t *n)
{
    struct sq *b = vb;
    struct rconn *c;
    sqlite3_stmt *s = NULL;
    hg_status rc = pool_get(b, &c);
    if (rc != HG_OK)
        return rc;
    if ((rc = rprep(c, unpublished_only ? R_EVENTS_UNPUB : R_EVENTS, &s)) == HG_OK) {
        sqlite3_bind_int64(s, 1, after_seq);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)limit);
        rc = collect(c, s, &K_EVENT, 0, (void **)rows, n);
    }
    rdone(s);
    pool_put(b, c);
    return rc;
}

static hg_status sq_audit_pending(void *vb, size_t limit, struct hg_store_audit **rows,
                                  size_t *n)
{
    struct sq *b = vb;
    struct rconn *c;
    sqlite3_stmt *s = NULL;
    hg_status rc = pool_get(b, &c);
    if (rc != HG_OK)
        return rc;
    if ((rc = rprep(c, R_AUDIT, &s)) == HG_OK) {
        sqlite3_bind_int64(s, 1, (sqlite3_int64)limit);
        rc = collect(c, s, &K_AUDIT, 0, (void **)rows, n);
    }
    rdone(s);
    pool_put(b, c);
    return rc;
}

static hg_status sq_counts(void *vb, struct hg_store_counts *out)
{
    struct sq *b = vb;
    struct rconn *c;
    sqlite3_stmt *s = NULL;
    hg_status rc = pool_get(b, &c);
    if (rc != HG_OK)
        return rc;
    rc = rprep(c, R_COUNTS, &s);
    if (rc != HG_OK)
        goto out;
    int src = sqlite3_step(s);
    if (src != SQLITE_ROW) {
        rc = step_err(c->db, src);
        goto out;
    }
    out->tenders = sqlite3_column_int64(s, 0);
    out->history = sqlite3_column_int64(s, 1);
    out->offers = sqlite3_column_int64(s, 2);
    out->events = sqlite3_column_int64(s, 3);
    out->idem = sqlite3_column_int64(s, 4);
    out->audit_pending = sqlite3_column_int64(s, 5);
out:
    rdone(s);
    pool_put(b, c);
    return rc;
}

const struct hg_store_backend store__sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .apply = sq_apply,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .tender_get = sq_tender_get,
    .tender_list = sq_tender_list,
    .tender_history = sq_tender_history,
    .offer_get = sq_offer_get,
    .offer_list = sq_offer_list,
    .idem_get = sq_idem_get,
    .events_list = sq_events_list,
    .audit_pending = sq_audit_pending,
    .counts = sq_counts,
};
