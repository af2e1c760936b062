/* SPDX-License-Identifier: Apache-2.0
 *
 * sqlite_naive.c — the naive durable-commit rate on this disk, the baseline
 * for haulgated's POST /v1/tenders in `make bench`. One SQLite connection in
 * WAL mode with synchronous=FULL inserts one tender-shaped row (UUIDv7 id,
 * state, creation time, ~1 KiB JSON document; primary key plus one secondary
 * index) per transaction, back to back, for warm-up + duration seconds, and
 * prints rows/s and the per-commit latency as one human line and one JSON
 * line shaped like bench/loadgen's. It is deliberately what a server without
 * group commit would do: every row waits for its own fsync. It works in a
 * fresh temporary directory under the one it is given (so it measures that
 * filesystem) and removes it when done; it never touches anything else.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "common/status.h"
#include "common/util.h"

/* Commit latencies are kept exactly, one bucket per µs, up to 1 s; slower
 * commits land in the last bucket (and max_us keeps the true maximum). */
#define LAT_BUCKETS 1000000u
#define DOC_MAX 2048

struct opts {
    const char *dir;
    const char *label;
    const char *format;
    int64_t duration_s, warmup_s;
};

struct stats {
    uint32_t *hist;            /* LAT_BUCKETS counters */
    uint64_t rows, warm_rows, sum_us, max_us;
};

static uint64_t percentile(const struct stats *st, double pct)
{
    if (st->rows == 0)
        return 0;
    uint64_t target = (uint64_t)ceil(pct / 100.0 * (double)st->rows);
    if (target == 0)
        target = 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < LAT_BUCKETS; i++) {
        seen += st->hist[i];
        if (seen >= target)
            return i < st->max_us ? i : st->max_us;
    }
    return st->max_us;
}

/* A tender-shaped document of about 1 KiB: what POST /v1/tenders stores. */
static int make_doc(char *out, size_t cap, const char *id, int64_t now_ms, uint64_t n)
{
    char created[HG_RFC3339_LEN + 1];
    hg_rfc3339(now_ms, created);
    int len = snprintf(out, cap,
        "{\"tenderId\":\"%s\",\"tmsLoadId\":\"LOAD-%020" PRIu64 "\",\"state\":\"pending\","
        "\"version\":1,\"origin\":{\"name\":\"Dallas Distribution Center, Dock 14\","
        "\"lat\":32.7767,\"lon\":-96.797},\"destination\":{\"name\":\"Houston Cross-Dock "
        "North, Door 3\",\"lat\":29.7604,\"lon\":-95.3698},\"pickupWindow\":{\"start\":"
        "\"%s\",\"end\":\"%s\"},\"deliveryWindow\":{\"start\":\"%s\",\"end\":\"%s\"},"
        "\"weightLbs\":38250.5,\"equipment\":\"dry_van\",\"hazmat\":false,\"lane\":"
        "\"DAL-HOU\",\"region\":\"TX\",\"requirements\":{\"autonomyAllowed\":true,"
        "\"humanFallbackAllowed\":true},\"offeredRate\":{\"currency\":\"USD\",\"amount\":"
        "1875.25},\"createdAt\":\"%s\",\"updatedAt\":\"%s\",\"correlationId\":\"%s\","
        "\"extensions\":{\"shipperRef\":\"PO-4471-2291-AX\",\"commodity\":\"palletized "
        "consumer goods\",\"pallets\":26,\"notes\":\"Appointment required at "
        "destination; call 30 minutes before arrival. Liftgate not required. Driver "
        "assist not required. Seal number to be recorded on the bill of lading.\","
        "\"contacts\":[{\"role\":\"shipper\",\"phone\":\"+1-214-555-0142\"},{\"role\":"
        "\"consignee\",\"phone\":\"+1-713-555-0199\"}]}}",
        id, n, created, created, created, created, created, created, id);
    return len > 0 && (size_t)len < cap ? len : 0;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sqlite_naive: '%s' failed: %s\n", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return 0;
    }
    return 1;
}

/* Run a PRAGMA and check its one-row answer is `want`: SQLite silently
 * keeps the old journal mode when it cannot switch, and a baseline that
 * is not really WAL + FULL would be meaningless. */
static int pragma_is(sqlite3 *db, const char *sql, const char *want)
{
    sqlite3_stmt *st = NULL;
    int ok = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *got = (const char *)sqlite3_column_text(st, 0);
        ok = got && strcmp(got, want) == 0;
        if (!ok)
            fprintf(stderr, "sqlite_naive: '%s' answered '%s', expected '%s'\n", sql,
                    got ? got : "(null)", want);
    } else {
        fprintf(stderr, "sqlite_naive: '%s' failed: %s\n", sql, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return ok;
}

static int print_results(const struct opts *o, const struct stats *st, double secs,
                         const char *path)
{
    double rps = secs > 0 ? (double)st->rows / secs : 0.0;
    uint64_t p50 = percentile(st, 50), p90 = percentile(st, 90), p99 = percentile(st, 99);
    uint64_t mean = st->rows ? st->sum_us / st->rows : 0;
    if (strcmp(o->format, "json") != 0)
        printf("%s%s%s: %.1f s: %" PRIu64 " rows, one per transaction (WAL, synchronous=FULL), "
               "%.1f rows/s, commit p50 %.3f ms p90 %.3f ms p99 %.3f ms max %.3f ms\n",
               o->label ? o->label : "", o->label ? ": " : "", path, secs, st->rows, rps,
               p50 / 1000.0, p90 / 1000.0, p99 / 1000.0, st->max_us / 1000.0);
    if (strcmp(o->format, "human") == 0)
        return 1;
    json_t *j = json_object();
    if (!j)
        return 0;
    int bad = 0;
    bad |= json_object_set_new(j, "label", o->label ? json_string(o->label) : json_null());
    bad |= json_object_set_new(j, "what", json_string("sqlite insert, 1 row/txn, WAL, synchronous=FULL"));
    bad |= json_object_set_new(j, "sqlite", json_string(sqlite3_libversion()));
    bad |= json_object_set_new(j, "warmup_s", json_integer(o->warmup_s));
    bad |= json_object_set_new(j, "duration_s", json_real(round(secs * 1000) / 1000));
    bad |= json_object_set_new(j, "requests", json_integer((json_int_t)st->rows));
    bad |= json_object_set_new(j, "warmup_requests", json_integer((json_int_t)st->warm_rows));
    bad |= json_object_set_new(j, "errors", json_integer(0));
    bad |= json_object_set_new(j, "rps", json_real(round(rps * 10) / 10));
    bad |= json_object_set_new(j, "p50_us", json_integer((json_int_t)p50));
    bad |= json_object_set_new(j, "p90_us", json_integer((json_int_t)p90));
    bad |= json_object_set_new(j, "p99_us", json_integer((json_int_t)p99));
    bad |= json_object_set_new(j, "max_us", json_integer((json_int_t)st->max_us));
    bad |= json_object_set_new(j, "mean_us", json_integer((json_int_t)mean));
    char *text = bad ? NULL : json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(j);
    if (!text)
        return 0;
    printf("%s\n", text);
    free(text);
    return 1;
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: sqlite_naive --dir DIR [options]\n"
"Inserts one ~1 KiB tender-shaped row per transaction into a fresh SQLite\n"
"database (WAL, synchronous=FULL) in a temporary directory under DIR, for\n"
"warm-up + duration seconds, and prints rows/s and commit latency.\n"
"  --dir DIR        where to make the temporary directory (its filesystem is measured)\n"
"  --duration S     measured seconds (default 10)\n"
"  --warmup S       seconds run before measuring, not counted (default 2)\n"
"  --label TEXT     name of this run in the output\n"
"  --format F       human | json | both (default both)\n"
"Exit: 0 measured, 1 setup or SQLite error, 2 usage error.\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    enum { O_DIR = 256, O_DUR, O_WARM, O_LABEL, O_FORMAT, O_HELP };
    static const struct option lo[] = {
        {"dir", required_argument, NULL, O_DIR},
        {"duration", required_argument, NULL, O_DUR},
        {"warmup", required_argument, NULL, O_WARM},
        {"label", required_argument, NULL, O_LABEL},
        {"format", required_argument, NULL, O_FORMAT},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    o->duration_s = 10;
    o->warmup_s = 2;
    o->format = "both";
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case O_DIR: o->dir = optarg; break;
        case O_DUR:
            if (hg_parse_i64(optarg, 1, 3600, &o->duration_s) != HG_OK) {
                fprintf(stderr, "sqlite_naive: --duration '%s' must be a whole number in 1..3600\n", optarg);
                return 0;
            }
            break;
        case O_WARM:
            if (hg_parse_i64(optarg, 0, 600, &o->warmup_s) != HG_OK) {
                fprintf(stderr, "sqlite_naive: --warmup '%s' must be a whole number in 0..600\n", optarg);
                return 0;
            }
            break;
        case O_LABEL: o->label = optarg; break;
        case O_FORMAT:
            if (strcmp(optarg, "human") != 0 && strcmp(optarg, "json") != 0 &&
                strcmp(optarg, "both") != 0) {
                fprintf(stderr, "sqlite_naive: --format must be human, json or both\n");
                return 0;
            }
            o->format = optarg;
            break;
        case O_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return 0;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sqlite_naive: unexpected argument '%s'\n", argv[optind]);
        return 0;
    }
    if (!o->dir) {
        fprintf(stderr, "sqlite_naive: --dir is required (the filesystem to measure, e.g. --dir /tmp)\n");
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    struct stats st = {0};
    char tmpl[4096], db_path[4200], side[4300];
    char doc[DOC_MAX];
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    int made_dir = 0, code = 1;

    if (!parse_args(argc, argv, &o))
        return 2;
    int n = snprintf(tmpl, sizeof tmpl, "%s/sqlite-naive.XXXXXX", o.dir);
    if (n < 0 || (size_t)n >= sizeof tmpl) {
        fprintf(stderr, "sqlite_naive: --dir '%s' is too long\n", o.dir);
        return 2;
    }
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "sqlite_naive: cannot create a directory under '%s': %s "
                "(is it writable?)\n", o.dir, strerror(errno));
        return 1;
    }
    made_dir = 1;
    snprintf(db_path, sizeof db_path, "%s/naive.db", tmpl);
    st.hist = calloc(LAT_BUCKETS, sizeof *st.hist);
    if (!st.hist) {
        fprintf(stderr, "sqlite_naive: out of memory\n");
        goto out;
    }
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite_naive: cannot open '%s': %s\n", db_path,
                db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    /* The same settings as haulgated's writer with durability full. */
    if (!pragma_is(db, "PRAGMA journal_mode=WAL", "wal") ||
        !exec(db, "PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=1000") ||
        !pragma_is(db, "PRAGMA synchronous", "2") ||
        !exec(db, "CREATE TABLE tenders (id TEXT PRIMARY KEY NOT NULL, state TEXT NOT NULL,"
                  " created_ms INTEGER NOT NULL, doc TEXT NOT NULL);"
                  "CREATE INDEX tenders_state_id ON tenders(state, id);"))
        goto out;
    if (sqlite3_prepare_v2(db, "INSERT INTO tenders (id, state, created_ms, doc) VALUES (?, 'pending', ?, ?)",
                           -1, &ins, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite_naive: cannot prepare the insert: %s\n", sqlite3_errmsg(db));
        goto out;
    }

    uint64_t t0 = hg_mono_us();
    uint64_t t_measure = t0 + (uint64_t)o.warmup_s * 1000000u;
    uint64_t t_end = t_measure + (uint64_t)o.duration_s * 1000000u;
    uint64_t now = t0, seq = 0;
    while (now < t_end) {
        char id[HG_UUID_STRLEN + 1];
        int64_t wall = hg_wall_ms();
        if (hg_uuid7(id) != HG_OK) {
            fprintf(stderr, "sqlite_naive: could not generate a UUID (OS random source failed)\n");
            goto out;
        }
        int dl = make_doc(doc, sizeof doc, id, wall, seq++);
        if (dl == 0) {
            fprintf(stderr, "sqlite_naive: internal: the document does not fit in %d bytes\n", DOC_MAX);
            goto out;
        }
        uint64_t start = hg_mono_us();
        /* Autocommit: the INSERT is its own transaction, committed (and
         * fsynced, synchronous=FULL) before sqlite3_step returns. */
        if (sqlite3_bind_text(ins, 1, id, HG_UUID_STRLEN, SQLITE_TRANSIENT) != SQLITE_OK ||
            sqlite3_bind_int64(ins, 2, wall) != SQLITE_OK ||
            sqlite3_bind_text(ins, 3, doc, dl, SQLITE_TRANSIENT) != SQLITE_OK ||
            sqlite3_step(ins) != SQLITE_DONE) {
            fprintf(stderr, "sqlite_naive: insert failed: %s\n", sqlite3_errmsg(db));
            goto out;
        }
        sqlite3_reset(ins);
        now = hg_mono_us();
        uint64_t lat = now - start;
        if (now >= t_measure && now < t_end) {
            st.rows++;
            st.hist[lat < LAT_BUCKETS ? lat : LAT_BUCKETS - 1]++;
            st.sum_us += lat;
            if (lat > st.max_us)
                st.max_us = lat;
        } else if (now < t_measure) {
            st.warm_rows++;
        }
    }
    uint64_t stopped = now < t_end ? now : t_end;
    double secs = stopped > t_measure ? (double)(stopped - t_measure) / 1e6 : 0.0;
    if (!print_results(&o, &st, secs, tmpl)) {
        fprintf(stderr, "sqlite_naive: out of memory while printing results\n");
        goto out;
    }
    fflush(stdout);
    code = 0;
out:
    sqlite3_finalize(ins);
    sqlite3_close(db);
    if (made_dir) {
        static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
        for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
            snprintf(side, sizeof side, "%s%s", db_path, suffix[i]);
            (void)unlink(side);
        }
        if (rmdir(tmpl) != 0)
            fprintf(stderr, "sqlite_naive: could not remove '%s': %s\n", tmpl, strerror(errno));
    }
    free(st.hist);
    return code;
}
