/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_bench.c — audit log throughput, measured beside its baselines in the
 * same run:
 *   1. durable appends/s with checkpointing on (defaults: every 1,000 records
 *      or 1 s), several appending threads sharing the group commit; both the
 *      synchronous API (one record in flight per thread) and the async API
 *      (a window of records in flight per thread); baseline: the machine's
 *      fdatasync latency.
 *   2. `haulctl audit verify` throughput over a 1,000,000-record log in MB/s
 *      of record bytes; baseline: raw SHA-256 over the same records (one
 *      digest per record, as verify does) and over 16 KiB blocks (what
 *      `openssl speed -seconds 3 sha256` reports in its last column).
 * Benchmarks never fail on a number; they print them.
 * Usage: audit_bench [records-for-verify (default 1000000)] [dir]
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit_log.h"
#include "audit/audit_verify.h"
#include "common/util.h"

static double now_s(void)
{
    return (double)hg_mono_us() / 1e6;
}

/* A realistic record: ~420 bytes of canonical JSON. */
static void make_record(struct hg_audit_record *r, json_t **details, char *rid, size_t ridlen,
                        uint64_t n)
{
    static const char *roles[] = {"tms-integration", "tender-writer"};
    snprintf(rid, ridlen, "0192f0c1-7a3b-7c3d-8e9f-%012llx", (unsigned long long)n);
    *details = json_pack("{s:s, s:s, s:s, s:s, s:I}", "tender_id",
                         "0192f0c1-0000-7000-8000-00000000abcd", "from", "offered", "to",
                         "accepted", "provider", "aurora-like-fleet", "attempt", (json_int_t)1);
    memset(r, 0, sizeof *r);
    r->service = "haulgated";
    r->event_type = "tender.transitioned";
    r->request_id = rid;
    r->identity.subject = "spiffe://carrier.example/tms/prod";
    r->identity.roles = roles;
    r->identity.nroles = 2;
    r->identity.cert_thumbprint = "5d41402abc4b2a76b9719d911017c592ae2d0d8f5f8e4c1b9f2e3d4c5b6a7980";
    r->policy_id = "tender-state-write";
    r->decision = "allow";
    r->reason = "provider accepted within the acceptance window";
    r->details = *details;
}

struct sync_arg {
    struct hg_audit_log *log;
    uint64_t n;
    int id;
};

static void *sync_thread(void *p)
{
    struct sync_arg *a = p;
    for (uint64_t i = 0; i < a->n; i++) {
        struct hg_audit_record r;
        json_t *d;
        char rid[64];
        make_record(&r, &d, rid, sizeof rid, ((uint64_t)a->id << 40) | i);
        uint64_t idx;
        struct hg_err err;
        if (hg_audit_append(a->log, &r, &idx, &err) != HG_OK) {
            fprintf(stderr, "append: %s\n", hg_err_msg(&err));
            exit(1);
        }
        json_decref(d);
    }
    return NULL;
}

struct async_arg {
    struct hg_audit_log *log;
    uint64_t n;
    int id;
    int window;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight;
    uint64_t done;
};

static void async_done(void *ctx, hg_status st, uint64_t index)
{
    struct async_arg *a = ctx;
    (void)index;
    if (st != HG_OK)
        abort();
    pthread_mutex_lock(&a->mu);
    a->inflight--;
    a->done++;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

static void *async_thread(void *p)
{
    struct async_arg *a = p;
    for (uint64_t i = 0; i < a->n; i++) {
        pthread_mutex_lock(&a->mu);
        while (a->inflight >= a->window)
            pthread_cond_wait(&a->cv, &a->mu);
        a->inflight++;
        pthread_mutex_unlock(&a->mu);
        struct hg_audit_record r;
        json_t *d;
        char rid[64];
        make_record(&r, &d, rid, sizeof rid, ((uint64_t)a->id << 40) | i);
        struct hg_err err;
        hg_status st;
        while ((st = hg_audit_append_async(a->log, &r, async_done, a, &err)) == HG_EBUSY)
            usleep(50);
        if (st != HG_OK) {
            fprintf(stderr, "append_async: %s\n", hg_err_msg(&err));
            exit(1);
        }
        json_decref(d);
    }
    pthread_mutex_lock(&a->mu);
    while (a->inflight > 0)
        pthread_cond_wait(&a->cv, &a->mu);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static struct hg_audit_log *open_log(const char *dir)
{
    struct hg_audit_options o;
    hg_audit_options_init(&o); /* checkpoints every 1,000 records / 1 s */
    o.origin = "bench.haulgate/audit";
    struct hg_audit_log *log = NULL;
    struct hg_err err;
    if (hg_audit_open(dir, &o, &log, &err) != HG_OK) {
        fprintf(stderr, "open %s: %s\n", dir, hg_err_msg(&err));
        exit(1);
    }
    return log;
}

static double fsync_latency_us(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/fsync-probe", dir);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    char b[512] = {0};
    double t0 = now_s();
    for (int i = 0; i < 200; i++)
        if (write(fd, b, sizeof b) != (ssize_t)sizeof b || fdatasync(fd) != 0)
            break;
    double t = now_s() - t0;
    close(fd);
    unlink(path);
    return t / 200 * 1e6;
}

static void bench_appends(const char *base)
{
    char dir[4200];
    printf("== durable appends (group commit, checkpoint every 1000 records / 1 s)\n");
    printf("fdatasync latency on this disk: %.0f us (one writer alone: <= %.0f appends/s)\n",
           fsync_latency_us(base), 1e6 / fsync_latency_us(base));
    struct {
        int threads;
        int window; /* 0 = synchronous API */
        uint64_t per;
    } cfg[] = {{1, 0, 2000}, {4, 0, 4000}, {64, 0, 1500}, {256, 0, 600}, {4, 256, 50000}};
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        snprintf(dir, sizeof dir, "%s/appends-%zu", base, c);
        struct hg_audit_log *log = open_log(dir);
        int n = cfg[c].threads;
        pthread_t *th = calloc((size_t)n, sizeof *th);
        struct sync_arg *sa = calloc((size_t)n, sizeof *sa);
        struct async_arg *aa = calloc((size_t)n, sizeof *aa);
        double t0 = now_s();
        for (int i = 0; i < n; i++) {
            if (cfg[c].window) {
                aa[i] = (struct async_arg){.log = log, .n = cfg[c].per, .id = i,
                                           .window = cfg[c].window};
                pthread_mutex_init(&aa[i].mu, NULL);
                pthread_cond_init(&aa[i].cv, NULL);
                pthread_create(&th[i], NULL, async_thread, &aa[i]);
            } else {
                sa[i] = (struct sync_arg){log, cfg[c].per, i};
                pthread_create(&th[i], NULL, sync_thread, &sa[i]);
            }
        }
        for (int i = 0; i < n; i++)
            pthread_join(th[i], NULL);
        double t = now_s() - t0;
        uint64_t total = (uint64_t)n * cfg[c].per;
        struct hg_err err;
        hg_audit_close(log, &err);
        printf("%3d threads, %-28s %8llu records in %6.2f s = %8.0f durable appends/s\n", n,
               cfg[c].window ? "async, 256 in flight each," : "sync (1 in flight each),",
               (unsigned long long)total, t, (double)total / t);
        free(th);
        free(sa);
        free(aa);
    }
}

/* Collect record bytes for the raw-SHA-256 baseline. */
struct gather {
    uint8_t *buf;
    size_t len, cap;
    uint32_t *lens;
    uint64_t n, max;
};

static int gather_cb(void *ctx, uint64_t index, const char *data, size_t len)
{
    struct gather *g = ctx;
    (void)index;
    if (g->n >= g->max || g->len + len > g->cap)
        return 1;
    memcpy(g->buf + g->len, data, len);
    g->len += len;
    g->lens[g->n++] = (uint32_t)len;
    return 0;
}

static void bench_verify(const char *base, uint64_t records)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/verify", base);
    printf("\n== verify throughput over a %llu-record log\n", (unsigned long long)records);
    struct hg_audit_log *log = open_log(dir);
    /* Fill quickly with async appends (still durable, group committed). */
    int nthr = 2;
    pthread_t th[2];
    struct async_arg aa[2];
    double t0 = now_s();
    for (int i = 0; i < nthr; i++) {
        aa[i] = (struct async_arg){.log = log, .n = records / (uint64_t)nthr, .id = i,
                                   .window = 2048};
        pthread_mutex_init(&aa[i].mu, NULL);
        pthread_cond_init(&aa[i].cv, NULL);
        pthread_create(&th[i], NULL, async_thread, &aa[i]);
    }
    for (int i = 0; i < nthr; i++)
        pthread_join(th[i], NULL);
    double tfill = now_s() - t0;
    printf("filled in %.1f s (%.0f durable appends/s, 2 threads async)\n", tfill,
           (double)records / tfill);

    /* Baseline: SHA-256 of each record, one digest per record, same bytes. */
    struct gather g = {0};
    g.max = records;
    g.cap = (size_t)records * 600;
    g.buf = malloc(g.cap);
    g.lens = malloc(records * sizeof *g.lens);
    struct hg_err err;
    hg_audit_read(log, 0, records, gather_cb, &g, &err);
    struct hg_audit_recovery rec;
    (void)rec;
    hg_audit_close(log, &err);
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t out[32];
    unsigned olen;
    t0 = now_s();
    size_t off = 0;
    for (uint64_t i = 0; i < g.n; i++) {
        EVP_DigestInit_ex2(ctx, md, NULL);
        EVP_DigestUpdate(ctx, g.buf + off, g.lens[i]);
        EVP_DigestFinal_ex(ctx, out, &olen);
        off += g.lens[i];
    }
    double traw = now_s() - t0;
    double raw_mbs = (double)g.len / 1e6 / traw;
    /* Baseline: 16 KiB blocks (openssl speed's largest size). */
    t0 = now_s();
    size_t bulk = 0;
    while (bulk + 16384 <= g.len) {
        EVP_DigestInit_ex2(ctx, md, NULL);
        EVP_DigestUpdate(ctx, g.buf + bulk, 16384);
        EVP_DigestFinal_ex(ctx, out, &olen);
        bulk += 16384;
    }
    double tbulk = now_s() - t0;
    double bulk_mbs = (double)bulk / 1e6 / tbulk;
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);

    /* Verify: the same code path as `haulctl audit verify` (cold-ish: the
     * files were just written, so they are in the page cache). Best of 3. */
    double best = 1e9;
    struct hg_audit_verify_report rep;
    for (int k = 0; k < 3; k++) {
        t0 = now_s();
        if (hg_audit_verify_dir(dir, NULL, &rep, &err) != HG_OK || !rep.ok) {
            fprintf(stderr, "verify failed: %s %s\n", hg_err_msg(&err), rep.message);
            exit(1);
        }
        double t = now_s() - t0;
        if (t < best)
            best = t;
    }
    double v_mbs = (double)rep.bytes / 1e6 / best;
    printf("records: %llu, %.1f MB of canonical JSON (avg %.0f bytes)\n",
           (unsigned long long)rep.records, (double)rep.bytes / 1e6,
           (double)rep.bytes / (double)rep.records);
    printf("verify (haulctl audit verify path): %.2f s = %.0f MB/s, %.0f records/s\n", best,
           v_mbs, (double)rep.records / best);
    printf("raw SHA-256, one digest per record:  %.0f MB/s -> verify is %.2fx of it\n", raw_mbs,
           v_mbs / raw_mbs);
    printf("raw SHA-256, 16 KiB blocks:           %.0f MB/s -> verify is %.2fx of it\n",
           bulk_mbs, v_mbs / bulk_mbs);
    printf("(compare: openssl speed -seconds 3 sha256)\n");
    free(g.buf);
    free(g.lens);
}

int main(int argc, char **argv)
{
    uint64_t records = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    char base[4096];
    if (argc > 2) {
        snprintf(base, sizeof base, "%s", argv[2]);
    } else {
        snprintf(base, sizeof base, "%s", "/tmp/hg-audit-bench-XXXXXX");
        if (!mkdtemp(base)) {
            perror("mkdtemp");
            return 1;
        }
    }
    printf("audit_bench: working in %s\n", base);
    bench_appends(base);
    bench_verify(base, records);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (argc <= 2 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", base);
    return 0;
}
