/* SPDX-License-Identifier: Apache-2.0
 *
 * ctl_audit.c — `haulctl audit ...`: verify a log directory, print the
 * latest checkpoint or a record, produce inclusion/consistency proofs, and
 * check a proof offline with only a verifier key and a checkpoint. Exit
 * codes: 0 success, 1 verification failed or the operation failed, 2 usage.
 * Never writes to a log directory (proofs open it read-only).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/ctl.h"
#include "audit/audit_log.h"
#include "audit/audit_note.h"
#include "audit/audit_proof.h"
#include "audit/audit_verify.h"
#include "common/util.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: haulctl audit <verb> ...\n\n"
            "  verify DIR [--key VKEY]          recompute every leaf and the tree, check every\n"
            "                                   checkpoint; exit 1 naming the first bad index\n"
            "  prove DIR --index I --size N     inclusion proof of record I in the tree of N (JSON)\n"
            "  prove DIR --from A --to B        consistency proof between tree sizes A and B (JSON)\n"
            "  verify-proof --vkey VKEY --checkpoint FILE --proof FILE [--record FILE]\n"
            "               [--old-checkpoint FILE]\n"
            "                                   check a proof offline against a signed checkpoint\n"
            "  checkpoint DIR                   print the latest signed checkpoint\n"
            "  show DIR [--index I]             print record I (its exact canonical bytes), or\n"
            "                                   every signed record, one per line\n"
            "  types                            list the audit event types\n\n"
            "VKEY is a verifier key (name+keyid+base64) or a file holding one, such as\n"
            "DIR/audit.vkey. Pin the key you published: a key read from the log directory\n"
            "only proves that the directory is consistent with itself.\n");
}

/* Read a whole (bounded) file; *out malloc'd and NUL-terminated. */
static int slurp(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "haulctl audit: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        fprintf(stderr, "haulctl audit: cannot read %s\n", path);
        free(buf);
        return -1;
    }
    if (n > max) {
        fprintf(stderr, "haulctl audit: %s is larger than %zu bytes\n", path, max);
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* VKEY: an existing file, else the key text itself. */
static int load_vkey(const char *arg, char *out, size_t cap)
{
    struct stat sb;
    if (stat(arg, &sb) == 0) {
        char *buf = NULL;
        size_t n = 0;
        if (slurp(arg, HG_AUDIT_VKEY_MAX, &buf, &n) != 0)
            return -1;
        hg_strlcpy(out, buf, cap);
        free(buf);
        return 0;
    }
    if (!strchr(arg, '+')) {
        fprintf(stderr,
                "haulctl audit: %s is neither a file nor a verifier key "
                "(name+keyid+base64)\n",
                arg);
        return -1;
    }
    return hg_strlcpy(out, arg, cap) == HG_OK ? 0 : -1;
}

static int parse_u64(const char *flag, const char *s, uint64_t *out)
{
    int64_t v;
    if (!s || hg_parse_i64(s, 0, INT64_MAX, &v) != HG_OK) {
        fprintf(stderr, "haulctl audit: %s needs a non-negative integer, got '%s'\n", flag,
                s ? s : "");
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

static int cmd_verify(int argc, char **argv)
{
    const char *dir = NULL, *keyarg = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--key") && i + 1 < argc)
            keyarg = argv[++i];
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            fprintf(stderr, "haulctl audit verify: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "usage: haulctl audit verify DIR [--key VKEY]\n");
        return 2;
    }
    char vkey[HG_AUDIT_VKEY_MAX + 1];
    if (keyarg && load_vkey(keyarg, vkey, sizeof vkey) != 0)
        return 2;
    struct hg_audit_verify_report rep;
    struct hg_err err;
    uint64_t t0 = hg_mono_us();
    hg_status st = hg_audit_verify_dir(dir, keyarg ? vkey : NULL, &rep, &err);
    double secs = (double)(hg_mono_us() - t0) / 1e6;
    if (st != HG_OK) {
        fprintf(stderr, "haulctl audit verify: cannot verify %s: %s\n", dir, hg_err_msg(&err));
        return 1;
    }
    if (!keyarg)
        fprintf(stderr,
                "haulctl audit verify: note: using %s/" HG_AUDIT_VKEY_FILE
                " from the log itself; pass --key with the published key to detect a "
                "re-signed log\n",
                dir);
    if (!rep.ok) {
        if (rep.checkpoint >= 0 && rep.fault >= HG_AUDIT_FAULT_BAD_SIGNATURE)
            printf("FAIL: %s (checkpoint #%lld): %s\n", hg_audit_fault_name(rep.fault),
                   (long long)rep.checkpoint, rep.message);
        else
            printf("FAIL: %s at index %llu: %s\n", hg_audit_fault_name(rep.fault),
                   (unsigned long long)rep.index, rep.message);
        return 1;
    }
    char root[48];
    hg_b64std_encode(rep.root, HG_MERKLE_HASH, root, sizeof root);
    printf("OK: %llu records, %llu checkpoints, tree size %llu, root %s\n",
           (unsigned long long)rep.records, (unsigned long long)rep.checkpoints,
           (unsigned long long)rep.records, root);
    if (rep.uncovered)
        printf("note: the last %llu records are not yet covered by a signed checkpoint "
               "(latest checkpoint: tree size %llu)\n",
               (unsigned long long)rep.uncovered, (unsigned long long)rep.latest_size);
    fprintf(stderr, "verified %.1f MB in %.2f s (%.0f MB/s)\n", (double)rep.bytes / 1e6, secs,
            secs > 0 ? (double)rep.bytes / 1e6 / secs : 0.0);
    return 0;
}

static int open_ro(const char *dir, struct hg_audit_log **log)
{
    struct hg_audit_options o;
    hg_audit_options_init(&o);
    o.read_only = 1;
    struct hg_err err;
    if (hg_audit_open(dir, &o, log, &err) != HG_OK) {
        fprintf(stderr, "haulctl audit: cannot open %s: %s\n", dir, hg_err_msg(&err));
        return -1;
    }
    return 0;
}

static int cmd_prove(int argc, char **argv)
{
    const char *dir = NULL;
    const char *idx = NULL, *size = NULL, *from = NULL, *to = NULL;
    for (int i = 1; i < argc; i++) {
        const char **slot = !strcmp(argv[i], "--index") ? &idx
                            : !strcmp(argv[i], "--size") ? &size
                            : !strcmp(argv[i], "--from") ? &from
                            : !strcmp(argv[i], "--to")   ? &to
                                                         : NULL;
        if (slot && i + 1 < argc)
            *slot = argv[++i];
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            fprintf(stderr, "haulctl audit prove: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    int incl = idx && size && !from && !to, cons = from && to && !idx && !size;
    if (!dir || (!incl && !cons)) {
        fprintf(stderr, "usage: haulctl audit prove DIR --index I --size N\n"
                        "       haulctl audit prove DIR --from A --to B\n");
        return 2;
    }
    uint64_t a, b;
    if (parse_u64(incl ? "--index" : "--from", incl ? idx : from, &a) != 0 ||
        parse_u64(incl ? "--size" : "--to", incl ? size : to, &b) != 0)
        return 2;
    struct hg_audit_log *log = NULL;
    if (open_ro(dir, &log) != 0)
        return 1;
    struct hg_audit_proof_doc d;
    struct hg_err err;
    hg_status st = incl ? hg_audit_prove_inclusion(log, a, b, &d, &err)
                        : hg_audit_prove_consistency(log, a, b, &d, &err);
    int rc = 0;
    if (st != HG_OK) {
        uint64_t cur;
        hg_audit_state(log, &cur, NULL);
        fprintf(stderr,
                "haulctl audit prove: %s (proofs are served up to the latest signed "
                "checkpoint, tree size %llu)\n",
                hg_err_msg(&err), (unsigned long long)cur);
        rc = 1;
    } else {
        struct hg_buf cp, out;
        hg_buf_init(&cp, HG_AUDIT_NOTE_MAX);
        hg_buf_init(&out, HG_AUDIT_PROOF_JSON_MAX + HG_AUDIT_NOTE_MAX);
        uint64_t cpsize = 0;
        int have_cp = hg_audit_latest_checkpoint(log, &cp, &cpsize, &err) == HG_OK && cpsize == b;
        if (hg_audit_proof_to_json(&d, have_cp ? cp.data : NULL, &out) != HG_OK) {
            fprintf(stderr, "haulctl audit prove: cannot encode the proof\n");
            rc = 1;
        } else {
            fwrite(out.data, 1, out.len, stdout);
        }
        hg_buf_cleanup(&cp);
        hg_buf_cleanup(&out);
    }
    hg_audit_close(log, NULL);
    return rc;
}

static int cmd_verify_proof(int argc, char **argv)
{
    const char *vk = NULL, *cpf = NULL, *pf = NULL, *rf = NULL, *oldf = NULL;
    for (int i = 1; i < argc; i++) {
        const char **slot = !strcmp(argv[i], "--vkey")             ? &vk
                            : !strcmp(argv[i], "--checkpoint")     ? &cpf
                            : !strcmp(argv[i], "--proof")          ? &pf
                            : !strcmp(argv[i], "--record")         ? &rf
                            : !strcmp(argv[i], "--old-checkpoint") ? &oldf
                                                                   : NULL;
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "haulctl audit verify-proof: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!vk || !cpf || !pf) {
        fprintf(stderr, "usage: haulctl audit verify-proof --vkey VKEY --checkpoint FILE "
                        "--proof FILE [--record FILE] [--old-checkpoint FILE]\n");
        return 2;
    }
    char vkey[HG_AUDIT_VKEY_MAX + 1];
    if (load_vkey(vk, vkey, sizeof vkey) != 0)
        return 2;
    int rc = 1;
    char *cptext = NULL, *ptext = NULL, *rtext = NULL, *oldtext = NULL;
    size_t cplen = 0, plen = 0, rlen = 0, oldlen = 0;
    struct hg_audit_verifier v;
    struct hg_err err;
    memset(&v, 0, sizeof v);
    if (hg_audit_verifier_parse(vkey, strlen(vkey), &v, &err) != HG_OK) {
        fprintf(stderr, "haulctl audit verify-proof: %s\n", hg_err_msg(&err));
        return 2;
    }
    if (slurp(cpf, HG_AUDIT_NOTE_MAX, &cptext, &cplen) != 0 ||
        slurp(pf, HG_AUDIT_PROOF_JSON_MAX, &ptext, &plen) != 0 ||
        (rf && slurp(rf, HG_AUDIT_RECORD_MAX + 1, &rtext, &rlen) != 0) ||
        (oldf && slurp(oldf, HG_AUDIT_NOTE_MAX, &oldtext, &oldlen) != 0))
        goto out;
    struct hg_audit_checkpoint cp;
    if (hg_audit_checkpoint_open(cptext, cplen, &v, &cp, &err) != HG_OK) {
        printf("FAIL: checkpoint %s: %s\n", cpf, hg_err_msg(&err));
        goto out;
    }
    struct hg_audit_proof_doc d;
    if (hg_audit_proof_from_json(ptext, plen, &d, &err) != HG_OK) {
        printf("FAIL: proof %s: %s\n", pf, hg_err_msg(&err));
        goto out;
    }
    if (d.b != cp.size) {
        printf("FAIL: the proof is for tree size %llu but the checkpoint is for %llu; "
               "make the proof with --%s %llu\n",
               (unsigned long long)d.b, (unsigned long long)cp.size,
               d.type == HG_AUDIT_PROOF_INCLUSION ? "size" : "to", (unsigned long long)cp.size);
        goto out;
    }
    struct hg_merkle_hasher h;
    if (hg_merkle_hasher_init(&h) != HG_OK)
        goto out;
    const uint8_t(*hashes)[HG_MERKLE_HASH] = (const uint8_t(*)[HG_MERKLE_HASH])d.proof.hashes;
    if (d.type == HG_AUDIT_PROOF_INCLUSION) {
        if (rtext) {
            /* The record file holds the canonical bytes; a single trailing
             * newline (as `show` prints) is not part of them. */
            if (rlen && rtext[rlen - 1] == '\n')
                rlen--;
            uint8_t leaf[HG_MERKLE_HASH];
            hg_merkle_leaf_hash(&h, rtext, rlen, leaf);
            if (memcmp(leaf, d.leaf_hash, HG_MERKLE_HASH) != 0) {
                printf("FAIL: record %s does not match the proof's leaf hash (the record was "
                       "altered, or it is not record %llu)\n",
                       rf, (unsigned long long)d.a);
                hg_merkle_hasher_cleanup(&h);
                goto out;
            }
        }
        if (hg_merkle_verify_inclusion(&h, d.a, d.b, d.leaf_hash, hashes, d.proof.count,
                                       cp.root) != HG_OK) {
            printf("FAIL: inclusion proof for index %llu does not lead to the signed root of "
                   "tree size %llu\n",
                   (unsigned long long)d.a, (unsigned long long)d.b);
        } else {
            printf("OK: %s %llu is included in the tree of size %llu signed by %s\n",
                   rtext ? "record" : "leaf", (unsigned long long)d.a, (unsigned long long)d.b,
                   v.name);
            rc = 0;
        }
    } else {
        if (oldtext) {
            struct hg_audit_checkpoint old;
            if (hg_audit_checkpoint_open(oldtext, oldlen, &v, &old, &err) != HG_OK) {
                printf("FAIL: old checkpoint %s: %s\n", oldf, hg_err_msg(&err));
                hg_merkle_hasher_cleanup(&h);
                goto out;
            }
            if (old.size != d.a || memcmp(old.root, d.from_root, HG_MERKLE_HASH) != 0) {
                printf("FAIL: the old checkpoint (tree size %llu) is not the proof's starting "
                       "point (tree size %llu)\n",
                       (unsigned long long)old.size, (unsigned long long)d.a);
                hg_merkle_hasher_cleanup(&h);
                goto out;
            }
        }
        if (hg_merkle_verify_consistency(&h, d.a, d.b, d.from_root, cp.root, hashes,
                                         d.proof.count) != HG_OK) {
            printf("FAIL: the tree of size %llu is not proven to be a prefix of the signed "
                   "tree of size %llu\n",
                   (unsigned long long)d.a, (unsigned long long)d.b);
        } else {
            char fr[48];
            hg_b64std_encode(d.from_root, HG_MERKLE_HASH, fr, sizeof fr);
            printf("OK: the tree of size %llu (root %s) is a prefix of the tree of size %llu "
                   "signed by %s%s\n",
                   (unsigned long long)d.a, fr, (unsigned long long)d.b, v.name,
                   oldtext ? " (old checkpoint verified too)" : "");
            rc = 0;
        }
    }
    hg_merkle_hasher_cleanup(&h);
out:
    free(cptext);
    free(ptext);
    free(rtext);
    free(oldtext);
    hg_audit_verifier_cleanup(&v);
    return rc;
}

static int cmd_checkpoint(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: haulctl audit checkpoint DIR\n");
        return 2;
    }
    struct hg_audit_log *log = NULL;
    if (open_ro(argv[1], &log) != 0)
        return 1;
    struct hg_buf b;
    struct hg_err err;
    hg_buf_init(&b, HG_AUDIT_NOTE_MAX);
    int rc = 0;
    if (hg_audit_latest_checkpoint(log, &b, NULL, &err) != HG_OK) {
        fprintf(stderr, "haulctl audit checkpoint: %s\n", hg_err_msg(&err));
        rc = 1;
    } else {
        fwrite(b.data, 1, b.len, stdout);
    }
    hg_buf_cleanup(&b);
    hg_audit_close(log, NULL);
    return rc;
}

static int show_cb(void *ctx, uint64_t index, const char *data, size_t len)
{
    (void)index;
    *(int *)ctx = 1;
    fwrite(data, 1, len, stdout);
    fputc('\n', stdout);
    return 1;
}

static int show_all_cb(void *ctx, uint64_t index, const char *data, size_t len)
{
    (void)index;
    (*(uint64_t *)ctx)++;
    fwrite(data, 1, len, stdout);
    fputc('\n', stdout);
    return ferror(stdout) ? 1 : 0;
}

static int cmd_show(int argc, char **argv)
{
    const char *dir = NULL, *idx = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--index") && i + 1 < argc)
            idx = argv[++i];
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            fprintf(stderr, "haulctl audit show: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    uint64_t i;
    if (!dir) {
        fprintf(stderr, "usage: haulctl audit show DIR [--index I]\n");
        return 2;
    }
    if (idx && parse_u64("--index", idx, &i) != 0)
        return 2;
    struct hg_audit_log *log = NULL;
    if (open_ro(dir, &log) != 0)
        return 1;
    if (!idx) {
        uint64_t n = 0, size = 0;
        struct hg_err e;
        hg_audit_state(log, &size, NULL);
        int r = 0;
        if (hg_audit_read(log, 0, size, show_all_cb, &n, &e) != HG_OK) {
            fprintf(stderr, "haulctl audit show: %s\n", hg_err_msg(&e));
            r = 1;
        }
        hg_audit_close(log, NULL);
        return r;
    }
    int found = 0;
    struct hg_err err;
    int rc = 0;
    if (hg_audit_read(log, i, i + 1, show_cb, &found, &err) != HG_OK) {
        fprintf(stderr, "haulctl audit show: %s\n", hg_err_msg(&err));
        rc = 1;
    } else if (!found) {
        fprintf(stderr,
                "haulctl audit show: no record %llu in the signed part of the log (records "
                "become readable here once a checkpoint covers them)\n",
                (unsigned long long)i);
        rc = 1;
    }
    hg_audit_close(log, NULL);
    return rc;
}

static int cmd_types(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    size_t n = 0;
    const struct hg_audit_event_type *t = hg_audit_event_types(&n);
    for (size_t i = 0; i < n; i++)
        printf("%-24s %s%s\n", t[i].name, t[i].summary, t[i].in_tree ? "" : " [not a leaf]");
    return 0;
}

static const struct hg_ctl_verb audit_verbs[] = {
    {"verify", cmd_verify, "verify a log directory"},
    {"prove", cmd_prove, "print an inclusion or consistency proof"},
    {"verify-proof", cmd_verify_proof, "check a proof offline"},
    {"checkpoint", cmd_checkpoint, "print the latest signed checkpoint"},
    {"show", cmd_show, "print one record, or all"},
    {"types", cmd_types, "list the audit event types"},
};

int hg_ctl_audit(int argc, char **argv)
{
    return hg_ctl_dispatch("haulctl audit", audit_verbs, sizeof audit_verbs / sizeof audit_verbs[0],
                           usage, argc, argv);
}
