/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_log.c — the audit log: recovery on open, the group-commit writer
 * thread, checkpoints, reads and proofs. Storage design and the reasons for
 * it are in docs/internals/audit-log.md. In short: records go to CRC-framed
 * append-only segments (fdatasync per batch, before any ack); complete
 * subtree hashes go to tree.hashes in post-order (written per batch, synced
 * only before each checkpoint, so everything up to the latest checkpoint is
 * trusted on open and everything after it is recomputed from the records);
 * checkpoints are appended to checkpoints.log (synced) and copied to
 * `checkpoint` for publishing.
 */
#include "audit/audit_log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit_int.h"
#include "audit/audit_note.h"
#include "audit/audit_segment.h"
#include "common/fs.h"
#include "common/util.h"
#include "crypto/sign.h"

#define SPARSE_EVERY 256 /* one in-memory offset per this many records */
#define DEFAULT_ORIGIN "haulgate.local/audit"

struct seg {
    uint64_t first;
    uint64_t count;
    uint64_t bytes; /* file length (header + whole frames) */
    int fd;
};

struct sparse {
    uint64_t index;
    uint32_t seg;
    uint64_t off;
};

struct req {
    struct req *next;
    const uint8_t *data;
    uint32_t len;
    hg_audit_done_fn done; /* NULL for a synchronous waiter */
    void *ctx;
    int finished;
    hg_status st;
    uint64_t index;
    pthread_cond_t cv; /* sync waiters only: each sleeps on its own */
    /* async: the record bytes follow the struct */
};

struct hg_audit_log {
    char dir[AUDIT_PATH_MAX];
    struct hg_audit_options opt;
    int lock_fd;

    /* queue and lifecycle: mu */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done, cv_space;
    struct req *head, *tail;
    size_t queued;
    int stopping;
    uint64_t cp_requested, cp_completed; /* hg_audit_checkpoint_now generations */
    hg_status fatal;
    char fatal_msg[HG_ERR_MSG_MAX];
    pthread_t writer;
    int writer_started;

    /* writer-owned */
    struct hg_merkle_hasher wh;
    struct hg_merkle_frontier frontier;
    struct hg_buf batch;
    struct hg_buf hashes; /* node hashes awaiting write */
    int hash_fd;
    uint64_t hash_nodes;  /* nodes in tree.hashes */
    int cp_fd;
    uint64_t cp_count, cp_len;
    uint64_t last_cp_size;
    uint64_t last_cp_us;
    uint64_t next_index;  /* == frontier.size */
    struct hg_sign_key *key;
    struct hg_audit_verifier verifier;
    char vkey[HG_AUDIT_VKEY_MAX];

    /* published state: state_mu */
    pthread_mutex_t state_mu;
    uint64_t size;
    uint8_t root[HG_MERKLE_HASH];
    struct seg *segs;
    size_t nsegs, segcap;
    struct sparse *sparse;
    size_t nsparse, sparsecap;
    char *latest_cp;
    size_t latest_cp_len;
    uint64_t latest_cp_size;
    uint8_t latest_cp_root[HG_MERKLE_HASH];

    struct hg_audit_recovery rec;
};

void hg_audit_options_init(struct hg_audit_options *o)
{
    memset(o, 0, sizeof *o);
    o->origin = NULL; /* DEFAULT_ORIGIN for a new log; any existing origin is kept */
    o->checkpoint_every = 1000;
    o->checkpoint_interval_ms = 1000;
    o->segment_max_bytes = 64u << 20;
    o->max_batch = 4096;
    o->max_queue = 65536;
}

/* ---------------------------------------------------------------- helpers */

static hg_status write_all_at(int fd, const void *p, size_t n, uint64_t off)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = pwrite(fd, b, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return HG_EIO;
        b += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return HG_OK;
}

static hg_status read_all_at(int fd, void *p, size_t n, uint64_t off)
{
    uint8_t *b = p;
    while (n) {
        ssize_t r = pread(fd, b, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return HG_EIO;
        b += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return HG_OK;
}

static hg_status fsync_dir(const char *dir)
{
    return hg_fs_fsync_dir(dir, NULL);
}

static void warn(struct hg_audit_log *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void warn(struct hg_audit_log *log, const char *fmt, ...)
{
    size_t used = strlen(log->rec.message);
    if (used && used + 2 < sizeof log->rec.message) {
        memcpy(log->rec.message + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    if (used < sizeof log->rec.message)
        vsnprintf(log->rec.message + used, sizeof log->rec.message - used, fmt, ap);
    va_end(ap);
    log->rec.warnings++;
}

static hg_status set_fatal(struct hg_audit_log *log, hg_status st, const char *what)
{
    int e = errno;
    pthread_mutex_lock(&log->mu);
    if (log->fatal == HG_OK) {
        log->fatal = st;
        snprintf(log->fatal_msg, sizeof log->fatal_msg,
                 "audit log %.300s failed (%s: %s); appends are refused until it is reopened",
                 log->dir, what, strerror(e));
    }
    pthread_mutex_unlock(&log->mu);
    return st;
}

static hg_status push_seg(struct hg_audit_log *log, const struct seg *s)
{
    if (log->nsegs == log->segcap) {
        size_t nc = log->segcap ? log->segcap * 2 : 8;
        struct seg *p = realloc(log->segs, nc * sizeof *p);
        if (!p)
            return HG_ENOMEM;
        log->segs = p;
        log->segcap = nc;
    }
    log->segs[log->nsegs++] = *s;
    return HG_OK;
}

static hg_status push_sparse(struct hg_audit_log *log, uint64_t index, uint32_t seg,
                             uint64_t off)
{
    if (log->nsparse == log->sparsecap) {
        size_t nc = log->sparsecap ? log->sparsecap * 2 : 64;
        struct sparse *p = realloc(log->sparse, nc * sizeof *p);
        if (!p)
            return HG_ENOMEM;
        log->sparse = p;
        log->sparsecap = nc;
    }
    log->sparse[log->nsparse].index = index;
    log->sparse[log->nsparse].seg = seg;
    log->sparse[log->nsparse].off = off;
    log->nsparse++;
    return HG_OK;
}

/* Node source over tree.hashes, for proofs and roots. */
static hg_status file_node(void *ctx, unsigned level, uint64_t index, uint8_t out[HG_MERKLE_HASH])
{
    struct hg_audit_log *log = ctx;
    uint64_t pos = hg_merkle_node_position(level, index);
    return read_all_at(log->hash_fd, out, HG_MERKLE_HASH, pos * HG_MERKLE_HASH);
}

static void emit_node(void *ctx, unsigned level, uint64_t index, const uint8_t hash[HG_MERKLE_HASH])
{
    struct hg_audit_log *log = ctx;
    (void)level;
    (void)index;
    /* Bounded by the batch size; the buffer max is set generously at open. */
    if (hg_buf_append(&log->hashes, hash, HG_MERKLE_HASH) != HG_OK)
        abort();
}

static hg_status flush_hashes(struct hg_audit_log *log)
{
    if (log->hashes.len == 0)
        return HG_OK;
    hg_status st = write_all_at(log->hash_fd, log->hashes.data, log->hashes.len,
                                log->hash_nodes * HG_MERKLE_HASH);
    if (st == HG_OK)
        log->hash_nodes += log->hashes.len / HG_MERKLE_HASH;
    hg_buf_reset(&log->hashes);
    return st;
}

/* ------------------------------------------------------------ checkpoints */

static hg_status write_checkpoint(struct hg_audit_log *log, struct hg_err *err)
{
    struct hg_audit_checkpoint cp;
    uint8_t root[HG_MERKLE_HASH];
    hg_merkle_frontier_root(&log->wh, &log->frontier, root);
    memset(&cp, 0, sizeof cp);
    hg_strlcpy(cp.origin, log->verifier.name, sizeof cp.origin);
    cp.size = log->frontier.size;
    memcpy(cp.root, root, HG_MERKLE_HASH);
    char text[512];
    size_t tlen = 0;
    struct hg_buf note, frame, recbuf;
    hg_buf_init(&note, HG_AUDIT_NOTE_MAX);
    hg_buf_init(&frame, HG_AUDIT_NOTE_MAX + HG_AUDIT_FRAME_HDR);
    hg_buf_init(&recbuf, HG_AUDIT_RECORD_MAX);
    hg_status st;
    /* Hashes first: a checkpoint on disk promises that every node up to its
     * size is durable (open trusts them). */
    if (flush_hashes(log) != HG_OK || fdatasync(log->hash_fd) != 0) {
        st = hg_err_set(err, HG_EIO, "cannot sync %s/" HG_AUDIT_HASH_FILE ": %s", log->dir,
                        strerror(errno));
        goto out;
    }
    if ((st = hg_audit_checkpoint_format(&cp, text, sizeof text, &tlen)) != HG_OK ||
        (st = hg_audit_note_sign(text, tlen, log->verifier.name, log->key, &note, err)) != HG_OK)
        goto out;
    uint8_t hdr[HG_AUDIT_FRAME_HDR];
    hg_audit_frame_header_encode(hdr, log->cp_count, note.data, (uint32_t)note.len);
    if ((st = hg_buf_append(&frame, hdr, sizeof hdr)) != HG_OK ||
        (st = hg_buf_append(&frame, note.data, note.len)) != HG_OK)
        goto out;
    if (write_all_at(log->cp_fd, frame.data, frame.len, log->cp_len) != HG_OK ||
        fdatasync(log->cp_fd) != 0) {
        st = hg_err_set(err, HG_EIO, "cannot write %s/" HG_AUDIT_CP_FILE ": %s", log->dir,
                        strerror(errno));
        goto out;
    }
    log->cp_len += frame.len;
    log->cp_count++;
    /* Convenience copy for publishing; the durable history is checkpoints.log. */
    char path[AUDIT_PATH_MAX], tmp[AUDIT_PATH_MAX + 8];
    if (audit__path(path, sizeof path, log->dir, HG_AUDIT_LATEST_FILE) == HG_OK &&
        snprintf(tmp, sizeof tmp, "%s.tmp", path) < (int)sizeof tmp) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            int ok = write_all_at(fd, note.data, note.len, 0) == HG_OK;
            close(fd);
            if (!ok || rename(tmp, path) != 0)
                unlink(tmp);
        }
    }
    char *copy = malloc(note.len + 1);
    if (!copy) {
        st = hg_err_set(err, HG_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(copy, note.data, note.len + 1);
    pthread_mutex_lock(&log->state_mu);
    free(log->latest_cp);
    log->latest_cp = copy;
    log->latest_cp_len = note.len;
    log->latest_cp_size = cp.size;
    memcpy(log->latest_cp_root, root, HG_MERKLE_HASH);
    pthread_mutex_unlock(&log->state_mu);
    log->last_cp_size = cp.size;
    log->last_cp_us = hg_mono_us();

    if (log->opt.on_checkpoint) {
        char rootb64[48], sizestr[24], reqid[HG_UUID_STRLEN + 1];
        hg_b64std_encode(root, HG_MERKLE_HASH, rootb64, sizeof rootb64);
        snprintf(sizestr, sizeof sizestr, "%llu", (unsigned long long)cp.size);
        if (hg_uuid7(reqid) != HG_OK)
            hg_strlcpy(reqid, "checkpoint", sizeof reqid);
        json_t *details = json_pack("{s:s, s:s, s:s, s:s%}", "origin", cp.origin, "tree_size",
                                    sizestr, "root_hash", rootb64, "note", note.data, note.len);
        struct hg_audit_record r = {
            .service = "audit",
            .event_type = "audit.checkpoint",
            .request_id = reqid,
            .decision = "none",
            .reason = "signed checkpoint",
            .details = details,
        };
        struct hg_err ignored;
        if (details && hg_audit_record_encode(&r, &recbuf, &ignored) == HG_OK) {
            struct hg_audit_checkpoint_event ev = {
                .size = cp.size,
                .note = note.data,
                .note_len = note.len,
                .record = recbuf.data,
                .record_len = recbuf.len,
            };
            memcpy(ev.root, root, HG_MERKLE_HASH);
            log->opt.on_checkpoint(log->opt.on_checkpoint_ctx, &ev);
        }
        json_decref(details);
    }
    st = HG_OK;
out:
    hg_buf_cleanup(&note);
    hg_buf_cleanup(&frame);
    hg_buf_cleanup(&recbuf);
    return st;
}

/* ----------------------------------------------------------------- writer */

static hg_status new_segment(struct hg_audit_log *log, uint64_t first)
{
    char path[AUDIT_PATH_MAX], sdir[AUDIT_PATH_MAX];
    if (audit__seg_path(path, sizeof path, log->dir, first) != HG_OK ||
        audit__path(sdir, sizeof sdir, log->dir, HG_AUDIT_SEG_DIR) != HG_OK)
        return HG_ETOOBIG;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return HG_EIO;
    uint8_t hdr[HG_AUDIT_FILE_HDR];
    hg_audit_file_header_encode(hdr, HG_AUDIT_SEG_MAGIC, first);
    if (write_all_at(fd, hdr, sizeof hdr, 0) != HG_OK || fdatasync(fd) != 0 ||
        fsync_dir(sdir) != HG_OK) {
        close(fd);
        unlink(path);
        return HG_EIO;
    }
    struct seg s = {.first = first, .count = 0, .bytes = HG_AUDIT_FILE_HDR, .fd = fd};
    pthread_mutex_lock(&log->state_mu);
    hg_status st = push_seg(log, &s);
    pthread_mutex_unlock(&log->state_mu);
    if (st != HG_OK)
        close(fd);
    return st;
}

/* Write the pending frames of this batch to the active segment and make them
 * durable. `nrec` records, starting at index `first`. */
static hg_status flush_batch(struct hg_audit_log *log, uint64_t first, uint64_t nrec)
{
    if (nrec == 0)
        return HG_OK;
    pthread_mutex_lock(&log->state_mu);
    struct seg *s = &log->segs[log->nsegs - 1];
    int fd = s->fd;
    uint64_t off = s->bytes;
    uint32_t segno = (uint32_t)(log->nsegs - 1);
    pthread_mutex_unlock(&log->state_mu);
    if (write_all_at(fd, log->batch.data, log->batch.len, off) != HG_OK || fdatasync(fd) != 0)
        return set_fatal(log, HG_EIO, "writing a segment");
    /* Sparse offsets for the records of this flush. */
    const uint8_t *p = (const uint8_t *)log->batch.data;
    size_t pos = 0;
    pthread_mutex_lock(&log->state_mu);
    for (uint64_t i = 0; i < nrec; i++) {
        uint32_t len = (uint32_t)p[pos] | (uint32_t)p[pos + 1] << 8 | (uint32_t)p[pos + 2] << 16 |
                       (uint32_t)p[pos + 3] << 24;
        if ((first + i) % SPARSE_EVERY == 0 &&
            push_sparse(log, first + i, segno, off + pos) != HG_OK) {
            pthread_mutex_unlock(&log->state_mu);
            return set_fatal(log, HG_ENOMEM, "indexing");
        }
        pos += HG_AUDIT_FRAME_HDR + len;
    }
    log->segs[segno].bytes += log->batch.len;
    log->segs[segno].count += nrec;
    pthread_mutex_unlock(&log->state_mu);
    hg_buf_reset(&log->batch);
    return HG_OK;
}

static hg_status process_batch(struct hg_audit_log *log, struct req *list)
{
    uint64_t flush_first = log->next_index, pending = 0;
    hg_status st = HG_OK;
    for (struct req *r = list; r; r = r->next) {
        size_t frame = HG_AUDIT_FRAME_HDR + r->len;
        pthread_mutex_lock(&log->state_mu);
        struct seg *s = &log->segs[log->nsegs - 1];
        int roll = s->count + pending > 0 &&
                   s->bytes + log->batch.len + frame > log->opt.segment_max_bytes;
        pthread_mutex_unlock(&log->state_mu);
        if (roll) {
            if ((st = flush_batch(log, flush_first, pending)) != HG_OK)
                return st;
            if (new_segment(log, log->next_index) != HG_OK)
                return set_fatal(log, HG_EIO, "creating a segment");
            flush_first = log->next_index;
            pending = 0;
        }
        uint8_t hdr[HG_AUDIT_FRAME_HDR];
        hg_audit_frame_header_encode(hdr, log->next_index, r->data, r->len);
        if (hg_buf_append(&log->batch, hdr, sizeof hdr) != HG_OK ||
            hg_buf_append(&log->batch, r->data, r->len) != HG_OK)
            return set_fatal(log, HG_ENOMEM, "batching");
        uint8_t leaf[HG_MERKLE_HASH];
        hg_merkle_leaf_hash(&log->wh, r->data, r->len, leaf);
        hg_merkle_frontier_append(&log->wh, &log->frontier, leaf, emit_node, log);
        r->index = log->next_index++;
        pending++;
    }
    if ((st = flush_batch(log, flush_first, pending)) != HG_OK)
        return st;
    /* Records are durable. Hashes are derivable, so they are written now but
     * synced only before the next checkpoint. */
    if (flush_hashes(log) != HG_OK)
        return set_fatal(log, HG_EIO, "writing " HG_AUDIT_HASH_FILE);
    return HG_OK;
}

static void complete(struct hg_audit_log *log, struct req *list, hg_status st)
{
    /* Async callbacks outside the lock; sync waiters are flagged under it. */
    struct req *sync = NULL;
    for (struct req *r = list, *next; r; r = next) {
        next = r->next;
        if (r->done) {
            r->done(r->ctx, st, st == HG_OK ? r->index : 0);
            free(r);
        } else {
            r->next = sync;
            sync = r;
        }
    }
    /* Wake exactly the waiters of this batch (a broadcast would wake every
     * queued appender on every batch). The waiter owns r: touch it only
     * under the lock, before it can return. */
    pthread_mutex_lock(&log->mu);
    for (struct req *r = sync, *next; r; r = next) {
        next = r->next;
        r->st = st;
        r->finished = 1;
        pthread_cond_signal(&r->cv);
    }
    pthread_mutex_unlock(&log->mu);
}

static void deadline_from_us(struct timespec *ts, uint64_t mono_us)
{
    ts->tv_sec = (time_t)(mono_us / 1000000);
    ts->tv_nsec = (long)(mono_us % 1000000) * 1000;
}

static void *writer_main(void *arg)
{
    struct hg_audit_log *log = arg;
    pthread_mutex_lock(&log->mu);
    for (;;) {
        uint64_t interval = (uint64_t)log->opt.checkpoint_interval_ms * 1000;
        int cp_due = 0;
        while (!log->head && !log->stopping && log->cp_requested == log->cp_completed) {
            if (log->next_index > log->last_cp_size) {
                uint64_t due = log->last_cp_us + interval;
                if (hg_mono_us() >= due) {
                    cp_due = 1;
                    break;
                }
                struct timespec ts;
                deadline_from_us(&ts, due);
                pthread_cond_timedwait(&log->cv_work, &log->mu, &ts);
            } else {
                pthread_cond_wait(&log->cv_work, &log->mu);
            }
        }
        /* Take up to max_batch requests. */
        struct req *list = log->head, *last = NULL;
        size_t taken = 0;
        for (struct req *r = log->head; r && taken < log->opt.max_batch; r = r->next) {
            last = r;
            taken++;
        }
        if (last) {
            log->head = last->next;
            if (!log->head)
                log->tail = NULL;
            last->next = NULL;
            log->queued -= taken;
            pthread_cond_broadcast(&log->cv_space);
        } else {
            list = NULL;
        }
        hg_status fatal = log->fatal;
        uint64_t cp_gen = log->cp_requested;
        int stopping = log->stopping;
        pthread_mutex_unlock(&log->mu);

        if (list) {
            hg_status st = fatal != HG_OK ? fatal : process_batch(log, list);
            if (st == HG_OK) {
                uint8_t root[HG_MERKLE_HASH];
                hg_merkle_frontier_root(&log->wh, &log->frontier, root);
                pthread_mutex_lock(&log->state_mu);
                log->size = log->next_index;
                memcpy(log->root, root, HG_MERKLE_HASH);
                pthread_mutex_unlock(&log->state_mu);
            }
            complete(log, list, st);
        }
        pthread_mutex_lock(&log->mu);
        fatal = log->fatal;
        int more = log->head != NULL;
        pthread_mutex_unlock(&log->mu);
        uint64_t now = hg_mono_us();
        int uncovered = log->next_index > log->last_cp_size;
        if (fatal == HG_OK && uncovered &&
            (cp_due || log->next_index - log->last_cp_size >= log->opt.checkpoint_every ||
             now >= log->last_cp_us + interval || cp_gen != log->cp_completed ||
             (stopping && !more))) {
            struct hg_err e;
            if (write_checkpoint(log, &e) != HG_OK)
                set_fatal(log, HG_EIO, "writing a checkpoint");
        }
        pthread_mutex_lock(&log->mu);
        log->cp_completed = cp_gen;
        pthread_cond_broadcast(&log->cv_done);
        if (log->stopping && !log->head)
            break;
    }
    hg_status fatal = log->fatal;
    pthread_mutex_unlock(&log->mu);
    /* Closing: whatever the last batch added gets a signed checkpoint, so a
     * clean shutdown leaves nothing uncovered. */
    if (fatal == HG_OK && log->next_index > log->last_cp_size) {
        struct hg_err e;
        if (write_checkpoint(log, &e) != HG_OK)
            set_fatal(log, HG_EIO, "writing the final checkpoint");
    }
    return NULL;
}

/* ------------------------------------------------------------------- open */

static hg_status load_or_create_keys(struct hg_audit_log *log, const char *origin,
                                     struct hg_err *err)
{
    char kpath[AUDIT_PATH_MAX], vpath[AUDIT_PATH_MAX], text[HG_AUDIT_VKEY_MAX + 2];
    size_t len = 0;
    audit__path(kpath, sizeof kpath, log->dir, HG_AUDIT_KEY_FILE);
    audit__path(vpath, sizeof vpath, log->dir, HG_AUDIT_VKEY_FILE);
    hg_status st = audit__read_small(vpath, text, sizeof text, &len, err);
    if (st == HG_ENOTFOUND && !log->opt.read_only) {
        /* First open: a fresh key, private file first so a crash between the
         * two writes leaves a key we can still derive the vkey from. */
        if (access(kpath, F_OK) == 0)
            st = hg_sign_key_load_pem(kpath, &log->key, err);
        else if ((st = hg_sign_key_generate(HG_SIGN_ED25519, &log->key, err)) == HG_OK)
            st = hg_sign_key_save_private_pem(log->key, kpath, err);
        if (st != HG_OK)
            return st;
        if ((st = hg_audit_verifier_from_key(origin ? origin : DEFAULT_ORIGIN, log->key,
                                             &log->verifier, err)) != HG_OK ||
            (st = hg_audit_verifier_format(&log->verifier, log->vkey, sizeof log->vkey)) != HG_OK)
            return st;
        char line[HG_AUDIT_VKEY_MAX + 2];
        int w = snprintf(line, sizeof line, "%s\n", log->vkey);
        st = hg_fs_write_atomic(vpath, line, (size_t)w, 0644, err);
        log->rec.created = 1;
        return st;
    }
    if (st != HG_OK)
        return st;
    if ((st = hg_audit_verifier_parse(text, len, &log->verifier, err)) != HG_OK) {
        char inner[HG_ERR_MSG_MAX];
        hg_strlcpy(inner, hg_err_msg(err), sizeof inner);
        return hg_err_set(err, HG_ECORRUPT, "%s: %s", vpath, inner);
    }
    hg_audit_verifier_format(&log->verifier, log->vkey, sizeof log->vkey);
    if (origin && strcmp(origin, log->verifier.name) != 0)
        return hg_err_set(err, HG_ECONFIG,
                          "audit log %s was created with origin '%s', not '%s'; keep the "
                          "original origin (it names the log in every checkpoint)",
                          log->dir, log->verifier.name, origin);
    if (log->opt.read_only)
        return HG_OK;
    if ((st = hg_sign_key_load_pem(kpath, &log->key, err)) != HG_OK)
        return st;
    uint8_t pub[HG_SIGN_MAX_PUB];
    size_t publen = 0;
    if (hg_sign_key_alg(log->key) != HG_SIGN_ED25519 ||
        hg_sign_key_public_raw(log->key, pub, sizeof pub, &publen) != HG_OK ||
        publen != HG_SIGN_ED25519_PUB || memcmp(pub, log->verifier.pub, publen) != 0)
        return hg_err_set(err, HG_ECONFIG,
                          "%s does not belong to %s: the signing key and the verifier key "
                          "differ; restore the matching pair",
                          kpath, vpath);
    return HG_OK;
}

/* Read checkpoints.log: repair a torn tail, remember the latest. */
static hg_status load_checkpoints(struct hg_audit_log *log, struct hg_err *err)
{
    char path[AUDIT_PATH_MAX];
    audit__path(path, sizeof path, log->dir, HG_AUDIT_CP_FILE);
    struct audit_map m;
    hg_status st = audit__map(path, &m, err);
    if (st == HG_ENOTFOUND) {
        if (log->opt.read_only)
            return HG_OK;
        uint8_t hdr[HG_AUDIT_FILE_HDR];
        hg_audit_file_header_encode(hdr, HG_AUDIT_CP_MAGIC, 0);
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || write_all_at(fd, hdr, sizeof hdr, 0) != HG_OK || fdatasync(fd) != 0) {
            if (fd >= 0)
                close(fd);
            return hg_err_set(err, HG_EIO, "cannot create %s: %s", path, strerror(errno));
        }
        log->cp_fd = fd;
        log->cp_len = HG_AUDIT_FILE_HDR;
        return fsync_dir(log->dir);
    }
    if (st != HG_OK)
        return st;
    struct hg_audit_scan sc;
    if (hg_audit_scan_image(m.data, m.len, HG_AUDIT_CP_MAGIC, HG_AUDIT_NOTE_MAX, &sc) != HG_OK) {
        audit__unmap(&m);
        return hg_err_set(err, HG_ECORRUPT,
                          "%s has a damaged header; run `haulctl audit verify %s`", path,
                          log->dir);
    }
    /* Latest = last valid frame. */
    const uint8_t *p = m.data + HG_AUDIT_FILE_HDR;
    const uint8_t *last = NULL;
    uint32_t lastlen = 0;
    for (uint64_t i = 0; i < sc.count; i++) {
        struct hg_audit_frame f;
        hg_audit_frame_decode(p, (size_t)(m.data + sc.good_len - p), HG_AUDIT_NOTE_MAX, &f);
        last = f.payload;
        lastlen = f.len;
        p += f.size;
    }
    if (last) {
        struct hg_audit_checkpoint cp;
        st = hg_audit_checkpoint_open((const char *)last, lastlen, &log->verifier, &cp, err);
        if (st != HG_OK) {
            char inner[HG_ERR_MSG_MAX];
            hg_strlcpy(inner, hg_err_msg(err), sizeof inner);
            audit__unmap(&m);
            return hg_err_set(err, HG_ECORRUPT,
                              "latest checkpoint in %s does not verify (%s); run `haulctl "
                              "audit verify %s`",
                              path, inner, log->dir);
        }
        log->latest_cp = malloc(lastlen + 1);
        if (!log->latest_cp) {
            audit__unmap(&m);
            return hg_err_set(err, HG_ENOMEM, "out of memory");
        }
        memcpy(log->latest_cp, last, lastlen);
        log->latest_cp[lastlen] = '\0';
        log->latest_cp_len = lastlen;
        log->latest_cp_size = cp.size;
        memcpy(log->latest_cp_root, cp.root, HG_MERKLE_HASH);
        log->last_cp_size = cp.size;
    }
    size_t good = sc.good_len, total = m.len;
    audit__unmap(&m);
    log->cp_count = sc.count;
    log->cp_len = good;
    if (log->opt.read_only)
        return HG_OK;
    log->cp_fd = open(path, O_RDWR | O_CLOEXEC);
    if (log->cp_fd < 0)
        return hg_err_set(err, HG_EIO, "cannot open %s: %s", path, strerror(errno));
    if (good < total) {
        if (ftruncate(log->cp_fd, (off_t)good) != 0 || fsync(log->cp_fd) != 0)
            return hg_err_set(err, HG_EIO, "cannot truncate %s: %s", path, strerror(errno));
        log->rec.checkpoint_torn_bytes = total - good;
        warn(log, "cut a torn tail of %zu bytes from %s (%s)", total - good, path,
             sc.seq_mismatch ? "out-of-sequence frame" : hg_audit_frame_result_str(sc.stop));
    }
    return HG_OK;
}

/* Save the bytes about to be cut, so nothing disappears without a trace. */
static void save_torn(struct hg_audit_log *log, const char *path, const uint8_t *p, size_t n)
{
    char side[AUDIT_PATH_MAX + 32];
    snprintf(side, sizeof side, "%s.torn-%lld", path, (long long)hg_wall_ms());
    int fd = open(side, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (write_all_at(fd, p, n, 0) == HG_OK)
        (void)fsync(fd);
    close(fd);
    warn(log, "saved the %zu cut bytes as %s", n, side);
}

/* Scan every segment, verify every frame, build the offset index; repair a
 * torn tail of the last segment. Records found beyond `trusted` get their
 * hashes recomputed (replay) after the hash file is loaded. */
static hg_status load_segments(struct hg_audit_log *log, struct hg_err *err)
{
    uint64_t *firsts = NULL;
    size_t n = 0;
    char sdir[AUDIT_PATH_MAX];
    audit__path(sdir, sizeof sdir, log->dir, HG_AUDIT_SEG_DIR);
    hg_status st = audit__list_segments(log->dir, &firsts, &n, err);
    if (st == HG_ENOTFOUND && !log->opt.read_only) {
        if (mkdir(sdir, 0700) != 0 && errno != EEXIST)
            return hg_err_set(err, HG_EIO, "cannot create %s: %s", sdir, strerror(errno));
        fsync_dir(log->dir);
        st = HG_OK;
    }
    if (st != HG_OK)
        return st;
    uint64_t expect = 0;
    for (size_t i = 0; i < n; i++) {
        char path[AUDIT_PATH_MAX];
        audit__seg_path(path, sizeof path, log->dir, firsts[i]);
        int is_last = i + 1 == n;
        struct audit_map m;
        if ((st = audit__map(path, &m, err)) != HG_OK)
            goto out;
        struct hg_audit_scan sc;
        if (hg_audit_scan_image(m.data, m.len, HG_AUDIT_SEG_MAGIC, HG_AUDIT_RECORD_MAX, &sc) !=
            HG_OK) {
            /* A crash while creating the newest segment leaves a short or
             * empty header: nothing in it was ever acknowledged. */
            if (is_last && m.len <= HG_AUDIT_FILE_HDR && !log->opt.read_only) {
                audit__unmap(&m);
                unlink(path);
                fsync_dir(sdir);
                warn(log, "removed %s: an unfinished segment header (%zu bytes)", path,
                     (size_t)m.len);
                continue;
            }
            audit__unmap(&m);
            st = hg_err_set(err, HG_ECORRUPT,
                            "%s has a damaged header; run `haulctl audit verify %s`", path,
                            log->dir);
            goto out;
        }
        if (sc.first_seq != expect || firsts[i] != expect) {
            audit__unmap(&m);
            st = hg_err_set(err, HG_ECORRUPT,
                            "%s starts at record %llu but record %llu was expected (a segment "
                            "is missing or misnamed); run `haulctl audit verify %s`",
                            path, (unsigned long long)sc.first_seq,
                            (unsigned long long)expect, log->dir);
            goto out;
        }
        if (sc.good_len < m.len && !is_last) {
            audit__unmap(&m);
            st = hg_err_set(err, HG_ECORRUPT,
                            "%s is damaged at byte %zu (record %llu: %s); run `haulctl "
                            "audit verify %s`",
                            path, sc.good_len, (unsigned long long)(expect + sc.count),
                            sc.seq_mismatch ? "out of sequence"
                                            : hg_audit_frame_result_str(sc.stop),
                            log->dir);
            goto out;
        }
        /* Offsets for reads. */
        uint32_t segno = (uint32_t)log->nsegs;
        const uint8_t *p = m.data + HG_AUDIT_FILE_HDR;
        for (uint64_t k = 0; k < sc.count; k++) {
            uint64_t idx = expect + k;
            uint32_t len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24;
            if (idx % SPARSE_EVERY == 0 &&
                push_sparse(log, idx, segno, (uint64_t)(p - m.data)) != HG_OK) {
                audit__unmap(&m);
                st = hg_err_set(err, HG_ENOMEM, "out of memory indexing %s", path);
                goto out;
            }
            p += HG_AUDIT_FRAME_HDR + len;
        }
        int fd = open(path, (log->opt.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        if (fd < 0) {
            audit__unmap(&m);
            st = hg_err_set(err, HG_EIO, "cannot open %s: %s", path, strerror(errno));
            goto out;
        }
        if (sc.good_len < m.len && !log->opt.read_only) {
            /* Torn tail of the newest segment: records after the last
             * durable batch. Keep a copy, cut, report. */
            save_torn(log, path, m.data + sc.good_len, m.len - sc.good_len);
            if (ftruncate(fd, (off_t)sc.good_len) != 0 || fsync(fd) != 0) {
                close(fd);
                audit__unmap(&m);
                st = hg_err_set(err, HG_EIO, "cannot truncate %s: %s", path, strerror(errno));
                goto out;
            }
            log->rec.torn_bytes += m.len - sc.good_len;
            warn(log,
                 "cut a torn tail of %zu bytes from %s at record %llu (%s); those appends "
                 "were never acknowledged",
                 (size_t)(m.len - sc.good_len), path, (unsigned long long)(expect + sc.count),
                 sc.seq_mismatch ? "out-of-sequence frame" : hg_audit_frame_result_str(sc.stop));
        }
        struct seg s = {.first = expect, .count = sc.count, .bytes = sc.good_len, .fd = fd};
        audit__unmap(&m);
        if (push_seg(log, &s) != HG_OK) {
            close(fd);
            st = hg_err_set(err, HG_ENOMEM, "out of memory");
            goto out;
        }
        expect += sc.count;
    }
    log->size = expect;
out:
    free(firsts);
    return st;
}

/* Call fn for records [from, to) by reading the segments through their fds. */
static hg_status read_range(struct hg_audit_log *log, uint64_t from, uint64_t to,
                            hg_audit_entry_fn fn, void *ctx, struct hg_err *err)
{
    if (from >= to)
        return HG_OK;
    pthread_mutex_lock(&log->state_mu);
    /* Nearest indexed record at or before `from`. */
    size_t lo = 0, hi = log->nsparse;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (log->sparse[mid].index <= from)
            lo = mid;
        else
            hi = mid;
    }
    if (log->nsparse == 0) {
        pthread_mutex_unlock(&log->state_mu);
        return hg_err_set(err, HG_ECORRUPT, "no offset index for record %llu",
                          (unsigned long long)from);
    }
    struct sparse sp = log->sparse[lo];
    size_t nsegs = log->nsegs;
    pthread_mutex_unlock(&log->state_mu);

    uint8_t *buf = malloc(HG_AUDIT_FRAME_HDR + HG_AUDIT_RECORD_MAX);
    if (!buf)
        return hg_err_set(err, HG_ENOMEM, "out of memory");
    hg_status st = HG_OK;
    uint64_t idx = sp.index;
    uint32_t segno = sp.seg;
    uint64_t off = sp.off;
    while (idx < to && segno < nsegs) {
        pthread_mutex_lock(&log->state_mu);
        struct seg s = log->segs[segno];
        pthread_mutex_unlock(&log->state_mu);
        if (off >= s.bytes) {
            segno++;
            off = HG_AUDIT_FILE_HDR;
            continue;
        }
        if (read_all_at(s.fd, buf, HG_AUDIT_FRAME_HDR, off) != HG_OK) {
            st = hg_err_set(err, HG_EIO, "cannot read record %llu: %s",
                            (unsigned long long)idx, strerror(errno));
            break;
        }
        uint32_t len = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
                       (uint32_t)buf[3] << 24;
        struct hg_audit_frame f;
        if (len == 0 || len > HG_AUDIT_RECORD_MAX ||
            read_all_at(s.fd, buf + HG_AUDIT_FRAME_HDR, len, off + HG_AUDIT_FRAME_HDR) != HG_OK ||
            hg_audit_frame_decode(buf, HG_AUDIT_FRAME_HDR + len, HG_AUDIT_RECORD_MAX, &f) !=
                HG_AUDIT_FRAME_OK ||
            f.seq != idx) {
            st = hg_err_set(err, HG_ECORRUPT,
                            "record %llu in segment %llu at byte %llu is damaged; run "
                            "`haulctl audit verify %s`",
                            (unsigned long long)idx, (unsigned long long)s.first,
                            (unsigned long long)off, log->dir);
            break;
        }
        if (idx >= from && fn(ctx, idx, (const char *)f.payload, f.len) != 0)
            break;
        idx++;
        off += f.size;
    }
    free(buf);
    return st;
}

struct replay_ctx {
    struct hg_audit_log *log;
    hg_status st;
};

static int replay_one(void *ctx, uint64_t index, const char *data, size_t len)
{
    struct replay_ctx *rc = ctx;
    struct hg_audit_log *log = rc->log;
    (void)index;
    uint8_t leaf[HG_MERKLE_HASH];
    hg_merkle_leaf_hash(&log->wh, data, len, leaf);
    hg_merkle_frontier_append(&log->wh, &log->frontier, leaf, emit_node, log);
    log->rec.hashes_rebuilt++;
    if (log->hashes.len >= (1u << 20) && flush_hashes(log) != HG_OK) {
        rc->st = HG_EIO;
        return 1;
    }
    return 0;
}

/* Load the frontier at `trusted` leaves from tree.hashes. */
static hg_status frontier_from_file(struct hg_audit_log *log, uint64_t trusted)
{
    hg_merkle_frontier_init(&log->frontier);
    for (unsigned level = 0; level < HG_MERKLE_MAX_LEVELS; level++)
        if ((trusted >> level) & 1) {
            uint64_t idx = (trusted >> level) - 1;
            if (file_node(log, level, idx, log->frontier.nodes[level]) != HG_OK)
                return HG_EIO;
        }
    log->frontier.size = trusted;
    return HG_OK;
}

static hg_status load_hashes(struct hg_audit_log *log, struct hg_err *err)
{
    char path[AUDIT_PATH_MAX];
    audit__path(path, sizeof path, log->dir, HG_AUDIT_HASH_FILE);
    int flags = log->opt.read_only ? O_RDONLY : (O_RDWR | O_CREAT);
    log->hash_fd = open(path, flags | O_CLOEXEC, 0644);
    if (log->hash_fd < 0)
        return hg_err_set(err, HG_EIO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(log->hash_fd, &sb) != 0)
        return hg_err_set(err, HG_EIO, "cannot stat %s: %s", path, strerror(errno));
    uint64_t have = (uint64_t)sb.st_size / HG_MERKLE_HASH;
    uint64_t cp = log->latest_cp_size;
    if (cp > log->size)
        return hg_err_set(err, HG_ECORRUPT,
                          "the latest signed checkpoint covers %llu records but only %llu are "
                          "on disk: records were removed; run `haulctl audit verify %s`",
                          (unsigned long long)cp, (unsigned long long)log->size, log->dir);
    /* Trust what the latest checkpoint made durable, if it is all there and
     * still yields the signed root; otherwise rebuild from the records. */
    uint64_t trusted = cp;
    if (have < hg_merkle_stored_nodes(trusted) || frontier_from_file(log, trusted) != HG_OK)
        trusted = 0;
    if (trusted) {
        uint8_t root[HG_MERKLE_HASH];
        hg_merkle_frontier_root(&log->wh, &log->frontier, root);
        if (memcmp(root, log->latest_cp_root, HG_MERKLE_HASH) != 0) {
            warn(log, "%s disagreed with the latest checkpoint; rebuilt it from the records",
                 path);
            trusted = 0;
        }
    }
    if (log->opt.read_only) {
        if (trusted != cp)
            return hg_err_set(err, HG_ECORRUPT,
                              "%s does not match the latest checkpoint; open the log once for "
                              "writing to repair it, or run `haulctl audit verify %s`",
                              path, log->dir);
        log->size = cp; /* serve exactly what is signed */
        memcpy(log->root, log->latest_cp_root, HG_MERKLE_HASH);
        log->next_index = cp;
        return HG_OK;
    }
    if (trusted == 0)
        hg_merkle_frontier_init(&log->frontier);
    log->hash_nodes = hg_merkle_stored_nodes(trusted);
    if ((uint64_t)sb.st_size != log->hash_nodes * HG_MERKLE_HASH &&
        ftruncate(log->hash_fd, (off_t)(log->hash_nodes * HG_MERKLE_HASH)) != 0)
        return hg_err_set(err, HG_EIO, "cannot truncate %s: %s", path, strerror(errno));
    struct replay_ctx rc = {log, HG_OK};
    hg_status st = read_range(log, trusted, log->size, replay_one, &rc, err);
    if (st == HG_OK)
        st = rc.st;
    if (st == HG_OK && flush_hashes(log) != HG_OK)
        st = HG_EIO;
    if (st != HG_OK)
        return err && err->status == st ? st
                                        : hg_err_set(err, st, "cannot rebuild %s: %s", path,
                                                     strerror(errno));
    log->next_index = log->size;
    hg_merkle_frontier_root(&log->wh, &log->frontier, log->root);
    if (cp > 0 && trusted == 0) {
        uint8_t root[HG_MERKLE_HASH];
        struct hg_merkle_source src = {file_node, log};
        if (hg_merkle_root(&log->wh, &src, cp, root) != HG_OK ||
            memcmp(root, log->latest_cp_root, HG_MERKLE_HASH) != 0)
            return hg_err_set(err, HG_ECORRUPT,
                              "the records do not match the latest signed checkpoint (tree "
                              "size %llu): the log was altered; run `haulctl audit verify %s`",
                              (unsigned long long)cp, log->dir);
    }
    return HG_OK;
}

static void free_log(struct hg_audit_log *log)
{
    for (size_t i = 0; i < log->nsegs; i++)
        close(log->segs[i].fd);
    free(log->segs);
    free(log->sparse);
    free(log->latest_cp);
    if (log->hash_fd >= 0)
        close(log->hash_fd);
    if (log->cp_fd >= 0)
        close(log->cp_fd);
    if (log->lock_fd >= 0)
        close(log->lock_fd);
    hg_sign_key_free(log->key);
    hg_audit_verifier_cleanup(&log->verifier);
    hg_merkle_hasher_cleanup(&log->wh);
    hg_buf_cleanup(&log->batch);
    hg_buf_cleanup(&log->hashes);
    pthread_mutex_destroy(&log->mu);
    pthread_mutex_destroy(&log->state_mu);
    pthread_cond_destroy(&log->cv_work);
    pthread_cond_destroy(&log->cv_done);
    pthread_cond_destroy(&log->cv_space);
    free(log);
}

hg_status hg_audit_open(const char *dir, const struct hg_audit_options *opt,
                        struct hg_audit_log **out, struct hg_err *err)
{
    *out = NULL;
    struct hg_audit_log *log = calloc(1, sizeof *log);
    if (!log)
        return hg_err_set(err, HG_ENOMEM, "out of memory opening the audit log");
    log->hash_fd = log->cp_fd = log->lock_fd = -1;
    pthread_mutex_init(&log->mu, NULL);
    pthread_mutex_init(&log->state_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&log->cv_work, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&log->cv_done, NULL);
    pthread_cond_init(&log->cv_space, NULL);
    if (opt)
        log->opt = *opt;
    else
        hg_audit_options_init(&log->opt);
    struct hg_audit_options def;
    hg_audit_options_init(&def);
    if (!log->opt.checkpoint_every)
        log->opt.checkpoint_every = def.checkpoint_every;
    if (!log->opt.checkpoint_interval_ms)
        log->opt.checkpoint_interval_ms = def.checkpoint_interval_ms;
    if (!log->opt.segment_max_bytes)
        log->opt.segment_max_bytes = def.segment_max_bytes;
    if (!log->opt.max_batch)
        log->opt.max_batch = def.max_batch;
    if (!log->opt.max_queue)
        log->opt.max_queue = def.max_queue;
    hg_buf_init(&log->batch, (size_t)log->opt.max_batch * (HG_AUDIT_FRAME_HDR + HG_AUDIT_RECORD_MAX));
    hg_buf_init(&log->hashes, (size_t)64 << 20);
    hg_status st;
    if (hg_strlcpy(log->dir, dir, sizeof log->dir) != HG_OK) {
        st = hg_err_set(err, HG_ETOOBIG, "audit log path too long: %s", dir);
        goto fail;
    }
    if (hg_merkle_hasher_init(&log->wh) != HG_OK) {
        st = hg_err_set(err, HG_ECRYPTO, "SHA-256 is unavailable");
        goto fail;
    }
    if (!log->opt.read_only) {
        if ((st = hg_fs_mkdir_private(dir, NULL, err)) != HG_OK)
            goto fail;
        char lpath[AUDIT_PATH_MAX];
        audit__path(lpath, sizeof lpath, dir, HG_AUDIT_LOCK_FILE);
        log->lock_fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (log->lock_fd < 0) {
            st = hg_err_set(err, HG_EIO, "cannot open the lock file %s: %s; check that %s is "
                            "a writable directory", lpath, strerror(errno), dir);
            goto fail;
        }
        if (flock(log->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno == EWOULDBLOCK)
                st = hg_err_set(err, HG_EBUSY, "audit log %s is open for writing by another "
                                "process; stop it, or use read-only access for proofs", dir);
            else
                st = hg_err_set(err, HG_EIO, "cannot lock %s: %s", lpath, strerror(errno));
            goto fail;
        }
    }
    if ((st = load_or_create_keys(log, opt ? opt->origin : NULL, err)) != HG_OK)
        goto fail;
    if ((st = load_checkpoints(log, err)) != HG_OK || (st = load_segments(log, err)) != HG_OK)
        goto fail;
    if (!log->opt.read_only && log->nsegs == 0 && new_segment(log, 0) != HG_OK) {
        st = hg_err_set(err, HG_EIO, "cannot create the first segment in %s: %s", dir,
                        strerror(errno));
        goto fail;
    }
    if ((st = load_hashes(log, err)) != HG_OK)
        goto fail;
    log->rec.records = log->size;
    if (!log->opt.read_only) {
        /* Cover what recovery found (or an empty new log) right away. */
        log->last_cp_us = hg_mono_us();
        if ((log->latest_cp == NULL || log->size > log->latest_cp_size) &&
            (st = write_checkpoint(log, err)) != HG_OK)
            goto fail;
        if (pthread_create(&log->writer, NULL, writer_main, log) != 0) {
            st = hg_err_set(err, HG_ESYS, "cannot start the audit writer thread");
            goto fail;
        }
        log->writer_started = 1;
    }
    *out = log;
    return HG_OK;
fail:
    free_log(log);
    return st;
}

void hg_audit_recovery_report(const struct hg_audit_log *log, struct hg_audit_recovery *out)
{
    *out = log->rec;
}

hg_status hg_audit_close(struct hg_audit_log *log, struct hg_err *err)
{
    if (!log)
        return HG_OK;
    hg_status st = HG_OK;
    if (log->writer_started) {
        pthread_mutex_lock(&log->mu);
        log->stopping = 1;
        pthread_cond_signal(&log->cv_work);
        pthread_mutex_unlock(&log->mu);
        pthread_join(log->writer, NULL);
        if (log->fatal != HG_OK)
            st = hg_err_set(err, log->fatal, "%s", log->fatal_msg);
    }
    free_log(log);
    return st;
}

/* ----------------------------------------------------------------- append */

static hg_status enqueue(struct hg_audit_log *log, struct req *r, int wait_for_room,
                         struct hg_err *err)
{
    pthread_mutex_lock(&log->mu);
    for (;;) {
        if (log->fatal != HG_OK) {
            hg_status st = hg_err_set(err, log->fatal, "%s", log->fatal_msg);
            pthread_mutex_unlock(&log->mu);
            return st;
        }
        if (log->stopping || !log->writer_started) {
            pthread_mutex_unlock(&log->mu);
            return hg_err_set(err, HG_ESTATE, "audit log %s is %s", log->dir,
                              log->opt.read_only ? "read-only" : "closing");
        }
        if (log->queued < log->opt.max_queue)
            break;
        if (!wait_for_room) {
            pthread_mutex_unlock(&log->mu);
            return hg_err_set(err, HG_EBUSY, "audit queue is full (%u records waiting)",
                              log->opt.max_queue);
        }
        pthread_cond_wait(&log->cv_space, &log->mu);
    }
    r->next = NULL;
    if (log->tail)
        log->tail->next = r;
    else
        log->head = r;
    log->tail = r;
    log->queued++;
    pthread_cond_signal(&log->cv_work);
    if (r->done) {
        pthread_mutex_unlock(&log->mu);
        return HG_OK;
    }
    while (!r->finished)
        pthread_cond_wait(&r->cv, &log->mu);
    hg_status st = r->st;
    if (st != HG_OK)
        hg_err_set(err, st, "%s", log->fatal_msg[0] ? log->fatal_msg : "audit append failed");
    pthread_mutex_unlock(&log->mu);
    return st;
}

/* Encoding runs on the caller's thread, so many appenders encode in
 * parallel and the writer only frames, hashes and writes. */
hg_status hg_audit_append(struct hg_audit_log *log, const struct hg_audit_record *rec,
                          uint64_t *index, struct hg_err *err)
{
    const struct hg_audit_event_type *t = hg_audit_event_type_find(rec->event_type);
    if (t && !t->in_tree)
        return hg_err_set(err, HG_EINVAL,
                          "%s records describe the log itself and are published through the "
                          "checkpoint hook, not appended",
                          t->name);
    struct hg_buf local;
    struct hg_buf *b = &local;
    hg_buf_init(&local, HG_AUDIT_RECORD_MAX);
    hg_status st = hg_audit_record_encode(rec, b, err);
    if (st == HG_OK) {
        struct req r = {.data = (const uint8_t *)b->data, .len = (uint32_t)b->len};
        pthread_cond_init(&r.cv, NULL);
        st = enqueue(log, &r, 1, err);
        pthread_cond_destroy(&r.cv);
        if (st == HG_OK && index)
            *index = r.index;
    }
    hg_buf_cleanup(&local);
    return st;
}

/* An encoded record from elsewhere: one canonical record of an in-tree
 * type, or nothing is appended. */
static hg_status check_encoded(const char *rec, size_t len, struct hg_err *err)
{
    const struct hg_audit_event_type *t = NULL;
    hg_status st = hg_audit_record_check_type(rec, len, &t, err);
    if (st != HG_OK)
        return st;
    if (!t->in_tree)
        return hg_err_set(err, HG_EINVAL,
                          "%s records describe the log itself and are published through the "
                          "checkpoint hook, not appended",
                          t->name);
    return HG_OK;
}

hg_status hg_audit_append_encoded(struct hg_audit_log *log, const char *rec, size_t len,
                                  uint64_t *index, struct hg_err *err)
{
    hg_status st = check_encoded(rec, len, err);
    if (st != HG_OK)
        return st;
    struct req r = {.data = (const uint8_t *)rec, .len = (uint32_t)len};
    pthread_cond_init(&r.cv, NULL);
    st = enqueue(log, &r, 1, err);
    pthread_cond_destroy(&r.cv);
    if (st == HG_OK && index)
        *index = r.index;
    return st;
}

/* One allocation: the request with the record bytes after it. */
static hg_status enqueue_copy(struct hg_audit_log *log, const char *data, size_t len,
                              hg_audit_done_fn done, void *ctx, struct hg_err *err)
{
    struct req *r = malloc(sizeof *r + len);
    if (!r)
        return hg_err_set(err, HG_ENOMEM, "out of memory queueing an audit record");
    memset(r, 0, sizeof *r);
    memcpy(r + 1, data, len);
    r->data = (const uint8_t *)(r + 1);
    r->len = (uint32_t)len;
    r->done = done;
    r->ctx = ctx;
    hg_status st = enqueue(log, r, 0, err);
    if (st != HG_OK)
        free(r);
    return st;
}

hg_status hg_audit_append_encoded_async(struct hg_audit_log *log, const char *rec, size_t len,
                                        hg_audit_done_fn done, void *ctx, struct hg_err *err)
{
    if (!done)
        return hg_err_set(err, HG_EINVAL, "hg_audit_append_encoded_async needs a completion callback");
    hg_status st = check_encoded(rec, len, err);
    if (st != HG_OK)
        return st;
    return enqueue_copy(log, rec, len, done, ctx, err);
}

hg_status hg_audit_append_async(struct hg_audit_log *log, const struct hg_audit_record *rec,
                                hg_audit_done_fn done, void *ctx, struct hg_err *err)
{
    if (!done)
        return hg_err_set(err, HG_EINVAL, "hg_audit_append_async needs a completion callback");
    const struct hg_audit_event_type *t = hg_audit_event_type_find(rec->event_type);
    if (t && !t->in_tree)
        return hg_err_set(err, HG_EINVAL,
                          "%s records are published through the checkpoint hook, not appended",
                          t->name);
    struct hg_buf b;
    hg_buf_init(&b, HG_AUDIT_RECORD_MAX);
    hg_status st = hg_audit_record_encode(rec, &b, err);
    if (st != HG_OK) {
        hg_buf_cleanup(&b);
        return st;
    }
    st = enqueue_copy(log, b.data, b.len, done, ctx, err);
    hg_buf_cleanup(&b);
    return st;
}

hg_status hg_audit_checkpoint_now(struct hg_audit_log *log, struct hg_err *err)
{
    pthread_mutex_lock(&log->mu);
    if (!log->writer_started || log->stopping) {
        pthread_mutex_unlock(&log->mu);
        return hg_err_set(err, HG_ESTATE, "audit log %s is read-only or closing", log->dir);
    }
    uint64_t gen = ++log->cp_requested;
    pthread_cond_signal(&log->cv_work);
    while (log->cp_completed < gen && log->fatal == HG_OK)
        pthread_cond_wait(&log->cv_done, &log->mu);
    hg_status st = log->fatal;
    if (st != HG_OK)
        hg_err_set(err, st, "%s", log->fatal_msg);
    pthread_mutex_unlock(&log->mu);
    return st;
}

/* ------------------------------------------------------------ read access */

void hg_audit_state(struct hg_audit_log *log, uint64_t *size, uint8_t root[HG_MERKLE_HASH])
{
    pthread_mutex_lock(&log->state_mu);
    *size = log->size;
    if (root)
        memcpy(root, log->root, HG_MERKLE_HASH);
    pthread_mutex_unlock(&log->state_mu);
}

static hg_status check_size(struct hg_audit_log *log, uint64_t size, struct hg_err *err)
{
    uint64_t cur;
    hg_audit_state(log, &cur, NULL);
    if (size > cur)
        return hg_err_set(err, HG_EINVAL,
                          "tree size %llu is beyond the log's current size %llu",
                          (unsigned long long)size, (unsigned long long)cur);
    return HG_OK;
}

hg_status hg_audit_root_at(struct hg_audit_log *log, uint64_t size, uint8_t root[HG_MERKLE_HASH],
                           struct hg_err *err)
{
    hg_status st = check_size(log, size, err);
    if (st != HG_OK)
        return st;
    struct hg_merkle_hasher h;
    if (hg_merkle_hasher_init(&h) != HG_OK)
        return hg_err_set(err, HG_ECRYPTO, "SHA-256 is unavailable");
    struct hg_merkle_source src = {file_node, log};
    st = hg_merkle_root(&h, &src, size, root);
    hg_merkle_hasher_cleanup(&h);
    if (st != HG_OK)
        return hg_err_set(err, HG_EIO, "cannot read %s/" HG_AUDIT_HASH_FILE, log->dir);
    return HG_OK;
}

hg_status hg_audit_read(struct hg_audit_log *log, uint64_t from, uint64_t to,
                        hg_audit_entry_fn cb, void *ctx, struct hg_err *err)
{
    uint64_t cur;
    hg_audit_state(log, &cur, NULL);
    if (to > cur)
        to = cur;
    return read_range(log, from, to, cb, ctx, err);
}

hg_status hg_audit_prove_inclusion(struct hg_audit_log *log, uint64_t index, uint64_t size,
                                   struct hg_audit_proof_doc *out, struct hg_err *err)
{
    memset(out, 0, sizeof *out);
    hg_status st = check_size(log, size, err);
    if (st != HG_OK)
        return st;
    if (index >= size)
        return hg_err_set(err, HG_EINVAL, "index %llu is not below tree size %llu",
                          (unsigned long long)index, (unsigned long long)size);
    struct hg_merkle_hasher h;
    if (hg_merkle_hasher_init(&h) != HG_OK)
        return hg_err_set(err, HG_ECRYPTO, "SHA-256 is unavailable");
    struct hg_merkle_source src = {file_node, log};
    out->type = HG_AUDIT_PROOF_INCLUSION;
    out->a = index;
    out->b = size;
    if (file_node(log, 0, index, out->leaf_hash) != HG_OK ||
        hg_merkle_inclusion_proof(&h, &src, index, size, &out->proof) != HG_OK ||
        hg_merkle_root(&h, &src, size, out->to_root) != HG_OK)
        st = hg_err_set(err, HG_EIO, "cannot read %s/" HG_AUDIT_HASH_FILE, log->dir);
    hg_merkle_hasher_cleanup(&h);
    return st;
}

hg_status hg_audit_prove_consistency(struct hg_audit_log *log, uint64_t from, uint64_t to,
                                     struct hg_audit_proof_doc *out, struct hg_err *err)
{
    memset(out, 0, sizeof *out);
    hg_status st = check_size(log, to, err);
    if (st != HG_OK)
        return st;
    if (from > to)
        return hg_err_set(err, HG_EINVAL, "from %llu is larger than to %llu",
                          (unsigned long long)from, (unsigned long long)to);
    struct hg_merkle_hasher h;
    if (hg_merkle_hasher_init(&h) != HG_OK)
        return hg_err_set(err, HG_ECRYPTO, "SHA-256 is unavailable");
    struct hg_merkle_source src = {file_node, log};
    out->type = HG_AUDIT_PROOF_CONSISTENCY;
    out->a = from;
    out->b = to;
    if (hg_merkle_consistency_proof(&h, &src, from, to, &out->proof) != HG_OK ||
        hg_merkle_root(&h, &src, from, out->from_root) != HG_OK ||
        hg_merkle_root(&h, &src, to, out->to_root) != HG_OK)
        st = hg_err_set(err, HG_EIO, "cannot read %s/" HG_AUDIT_HASH_FILE, log->dir);
    hg_merkle_hasher_cleanup(&h);
    return st;
}

hg_status hg_audit_latest_checkpoint(struct hg_audit_log *log, struct hg_buf *out,
                                     uint64_t *size, struct hg_err *err)
{
    pthread_mutex_lock(&log->state_mu);
    hg_status st = HG_OK;
    if (!log->latest_cp)
        st = hg_err_set(err, HG_ENOTFOUND, "audit log %s has no checkpoint yet", log->dir);
    else if ((st = hg_buf_append(out, log->latest_cp, log->latest_cp_len)) != HG_OK)
        hg_err_set(err, st, "checkpoint does not fit the buffer");
    else if (size)
        *size = log->latest_cp_size;
    pthread_mutex_unlock(&log->state_mu);
    return st;
}

const char *hg_audit_vkey(const struct hg_audit_log *log)
{
    return log->vkey;
}
