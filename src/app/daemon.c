/* SPDX-License-Identifier: Apache-2.0
 *
 * daemon.c — haulgated's lifecycle: flags, configuration, data directory,
 * logs, metrics, TLS, the API and admin listeners, and signals.
 *   SIGTERM/SIGINT: stop accepting, let in-flight requests finish within
 *                   shutdown.drain_timeout, exit 0.
 *   SIGHUP:         reload the server certificate, key, CA bundle and CRL
 *                   (a bad file keeps the old material and logs an error),
 *                   the policy file (likewise) and the signing keys, and
 *                   reopen the log file. Connections are never dropped.
 * Once listening it writes <data_dir>/listen.json with the bound addresses,
 * so scripts and tests can use port 0. The audit log (<data_dir>/audit) is
 * opened before any listener exists and closed only after both have
 * stopped, so no request can run without it and its final checkpoint
 * covers every record a request wrote; a log that cannot be opened stops
 * the start-up. The store (tenders, offers, idempotency keys, outbox) opens
 * next, with the audit relay that moves its audit write-ahead rows into the
 * log; at shutdown the relay drains and the store completes its queue after
 * the listeners drained and before the servers are freed, so a suspended
 * request can never be resumed into freed memory. A timer on the main loop
 * deletes expired idempotency keys every idempotency.sweep_interval.
 */
#include "app/daemon.h"

#include <errno.h>
#include <event2/event.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "app/audit_relay.h"
#include "app/checkpoint_pub.h"
#include "app/config.h"
#include "app/daemon_auth.h"
#include "audit/audit_log.h"
#include "common/fs.h"
#include "common/util.h"
#include "http/server.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "store/store.h"
#include "tls/context.h"

struct daemon {
    struct hg_config *cfg;
    struct hg_metrics *metrics;
    struct hg_metric *m_expiry, *m_reloads;
    struct hg_http_metrics http_metrics;
    struct hg_tls_server *tls;
    struct hg_http_server *api_srv, *admin_srv;
    struct hg_audit_log *audit;
    char audit_dir[4200];
    struct hg_store *store;
    char db_path[4200];
    struct hg_audit_relay *relay;
    _Atomic(struct hg_ckpt_pub *) ckpt; /* set once the store is open */
    struct event *sweep_ev;
    struct hg_store_write sweep_job;   /* one sweep in flight at a time */
    atomic_int sweeping;
    struct hg_api api;
    struct hg_daemon_auth auth;
    struct event_base *base;
    char listen_path[4096];
    enum hg_log_level level;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: haulgated --config FILE [--data-dir DIR]\n"
            "       haulgated --check-config FILE\n"
            "       haulgated --version\n\n"
            "  --config FILE        YAML configuration (see config/haulgate.example.yaml)\n"
            "  --data-dir DIR       override data_dir from the configuration\n"
            "  --check-config FILE  validate FILE, print what is wrong, exit 0 (valid) or 1\n");
}

static hg_status ensure_dir(const char *path, struct hg_err *err)
{
    int tightened = 0;
    hg_status rc = hg_fs_mkdir_private(path, &tightened, err);
    if (rc == HG_OK && tightened) /* keys and state live here: nobody else may read them */
        hg_log(HG_LOG_WARN, "data directory was group/world accessible; set to 0700",
               HG_LF_STR("path", path), HG_LF_END);
    return rc;
}

static void set_expiry_metrics(struct daemon *d)
{
    const char *lv[] = {"server"};
    hg_metric_set(d->m_expiry, lv, (double)hg_tls_server_cert_expiry(d->tls));
    for (size_t i = 0; i < d->cfg->nclients; i++) {
        const struct hg_config_client *c = &d->cfg->clients[i];
        if (!c->cert)
            continue;
        X509 *x = NULL;
        struct hg_err err;
        hg_err_clear(&err);
        if (hg_tls_load_cert(c->cert, &x, &err) != HG_OK) {
            hg_log(HG_LOG_WARN, "cannot read client certificate for expiry metric",
                   HG_LF_STR("client", c->name), HG_LF_STR("error", hg_err_msg(&err)),
                   HG_LF_END);
            continue;
        }
        char label[128];
        snprintf(label, sizeof label, "client:%s", c->name);
        const char *cl[] = {label};
        hg_metric_set(d->m_expiry, cl, (double)hg_tls_cert_not_after(x));
        X509_free(x);
    }
}

static hg_status init_metrics(struct daemon *d, struct hg_err *err)
{
    if (hg_metrics_new(&d->metrics) != HG_OK)
        return hg_err_set(err, HG_ENOMEM, "cannot create the metrics registry");
    static const char *const info_l[] = {"version", "revision", NULL};
    static const char *const cert_l[] = {"cert", NULL};
    static const char *const res_l[] = {"result", NULL};
    struct hg_metric *info = NULL;
    if (hg_metrics_register(d->metrics, HG_METRIC_GAUGE, "haulgate_build_info",
                            "Build of this haulgated; value is always 1", info_l, NULL, 0,
                            &info) != HG_OK ||
        hg_metrics_register(d->metrics, HG_METRIC_GAUGE,
                            "haulgate_cert_expiry_timestamp_seconds",
                            "notAfter of the server and configured client certificates", cert_l,
                            NULL, 0, &d->m_expiry) != HG_OK ||
        hg_metrics_register(d->metrics, HG_METRIC_COUNTER, "haulgate_tls_reloads_total",
                            "SIGHUP reloads of TLS material, by result", res_l, NULL, 0,
                            &d->m_reloads) != HG_OK ||
        hg_http_metrics_register(d->metrics, &d->http_metrics) != HG_OK)
        return hg_err_set(err, HG_ENOMEM, "cannot register metrics");
    const char *iv[] = {HG_VERSION, HG_REVISION};
    hg_metric_set(info, iv, 1);
    return HG_OK;
}

static void write_listen_file(struct daemon *d)
{
    snprintf(d->listen_path, sizeof d->listen_path, "%s/listen.json", d->cfg->data_dir);
    char api[300], admin[300];
    int v6a = strchr(d->cfg->api.host, ':') != NULL, v6m = strchr(d->cfg->admin.host, ':') != NULL;
    snprintf(api, sizeof api, v6a ? "[%s]:%d" : "%s:%d", d->cfg->api.host,
             hg_http_server_port(d->api_srv));
    snprintf(admin, sizeof admin, v6m ? "[%s]:%d" : "%s:%d", d->cfg->admin.host,
             hg_http_server_port(d->admin_srv));
    json_t *o = json_pack("{s:s, s:s, s:i}", "api", api, "admin", admin, "pid", (int)getpid());
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    struct hg_err err;
    hg_err_clear(&err);
    if (!text || hg_fs_write_atomic(d->listen_path, text, strlen(text), 0644, &err) != HG_OK)
        hg_log(HG_LOG_WARN, "cannot write listen.json", HG_LF_STR("path", d->listen_path),
               HG_LF_STR("error", hg_err_msg(&err)), HG_LF_END);
    free(text);
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    struct daemon *d = arg;
    hg_log(HG_LOG_INFO, "shutting down", HG_LF_STR("signal", sig == SIGINT ? "SIGINT" : "SIGTERM"),
           HG_LF_INT("connections", hg_http_server_connections(d->api_srv)), HG_LF_END);
    event_base_loopexit(d->base, NULL);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    struct daemon *d = arg;
    struct hg_err err;
    hg_err_clear(&err);
    hg_log_open(d->cfg->log.file, d->level);
    hg_daemon_auth_reload(&d->auth);
    const char *lv[1];
    if (hg_tls_server_reload(d->tls, &err) != HG_OK) {
        lv[0] = "error";
        hg_metric_inc(d->m_reloads, lv, 1);
        hg_log(HG_LOG_ERROR, "TLS reload failed; keeping the previous certificate, key, CA and CRL",
               HG_LF_STR("error", hg_err_msg(&err)), HG_LF_END);
        return;
    }
    lv[0] = "ok";
    hg_metric_inc(d->m_reloads, lv, 1);
    set_expiry_metrics(d);
    hg_log(HG_LOG_INFO, "TLS material reloaded",
           HG_LF_INT("generation", (int64_t)hg_tls_server_generation(d->tls)),
           HG_LF_INT("cert_not_after", hg_tls_server_cert_expiry(d->tls)), HG_LF_END);
}

/* Runs on the audit writer thread (or the opening thread for the
 * checkpoint that open signs): the checkpoint goes to the outbox as an
 * event for witnesses (app/checkpoint_pub.h) once the store is open;
 * the one signed before that is published when the store opens. */
static void on_checkpoint(void *ctx, const struct hg_audit_checkpoint_event *ev)
{
    struct daemon *d = ctx;
    struct hg_ckpt_pub *pub = d ? atomic_load(&d->ckpt) : NULL;
    if (pub)
        hg_ckpt_pub_offer(pub, ev->size, ev->note, ev->note_len);
    if (!hg_log_enabled(HG_LOG_DEBUG))
        return;
    char root[48];
    hg_b64std_encode(ev->root, HG_MERKLE_HASH, root, sizeof root);
    hg_log(HG_LOG_DEBUG, "audit checkpoint signed", HG_LF_INT("tree_size", (int64_t)ev->size),
           HG_LF_STR("root_hash", root), HG_LF_END);
}

static hg_status open_audit(struct daemon *d, struct hg_err *err)
{
    int n = snprintf(d->audit_dir, sizeof d->audit_dir, "%s/audit", d->cfg->data_dir);
    if (n < 0 || (size_t)n >= sizeof d->audit_dir)
        return hg_err_set(err, HG_ETOOBIG, "data directory path too long for the audit log");
    struct hg_audit_options o;
    hg_audit_options_init(&o);
    o.checkpoint_every = (uint64_t)d->cfg->audit.checkpoint_records;
    o.checkpoint_interval_ms = (uint32_t)d->cfg->audit.checkpoint_interval_ms;
    o.on_checkpoint = on_checkpoint;
    o.on_checkpoint_ctx = d;
    struct hg_err aerr;
    hg_err_clear(&aerr);
    if (hg_audit_open(d->audit_dir, &o, &d->audit, &aerr) != HG_OK)
        return hg_err_set(err, aerr.status,
                          "cannot open the audit log, and haulgated does not run without it: "
                          "%s",
                          hg_err_msg(&aerr));
    struct hg_audit_recovery rec;
    hg_audit_recovery_report(d->audit, &rec);
    uint64_t size = 0;
    hg_audit_state(d->audit, &size, NULL);
    /* Recovery never drops anything silently: whatever open cut or rebuilt
     * is reported here, at warn. */
    if (rec.torn_bytes || rec.checkpoint_torn_bytes || rec.warnings)
        hg_log(HG_LOG_WARN, "audit log recovered after an unclean stop",
               HG_LF_STR("dir", d->audit_dir), HG_LF_INT("records", (int64_t)rec.records),
               HG_LF_INT("torn_bytes", (int64_t)rec.torn_bytes),
               HG_LF_INT("checkpoint_torn_bytes", (int64_t)rec.checkpoint_torn_bytes),
               HG_LF_INT("hashes_rebuilt", (int64_t)rec.hashes_rebuilt),
               HG_LF_INT("warnings", rec.warnings), HG_LF_STR("details", rec.message),
               HG_LF_END);
    hg_log(HG_LOG_INFO, rec.created ? "audit log created" : "audit log opened",
           HG_LF_STR("dir", d->audit_dir), HG_LF_INT("records", (int64_t)size),
           HG_LF_INT("hashes_rebuilt", (int64_t)rec.hashes_rebuilt),
           HG_LF_STR("verifier_key", hg_audit_vkey(d->audit)),
           HG_LF_INT("checkpoint_records", d->cfg->audit.checkpoint_records),
           HG_LF_INT("checkpoint_interval_ms", d->cfg->audit.checkpoint_interval_ms), HG_LF_END);
    return HG_OK;
}

/* After the listeners stopped: drain, sign the final checkpoint, close.
 * Returns 0, or 1 when the log reported an error (the exit code says so). */
static int close_audit(struct daemon *d)
{
    if (!d->audit)
        return 0;
    struct hg_err err;
    hg_err_clear(&err);
    hg_status st = hg_audit_close(d->audit, &err);
    d->audit = NULL;
    d->api.audit = NULL;
    if (st != HG_OK) {
        hg_log(HG_LOG_ERROR, "audit log closed with an error",
               HG_LF_STR("dir", d->audit_dir), HG_LF_STR("error", hg_err_msg(&err)), HG_LF_END);
        return 1;
    }
    hg_log(HG_LOG_INFO, "audit log closed", HG_LF_STR("dir", d->audit_dir), HG_LF_END);
    return 0;
}

/* The store opens after the audit log (its write-ahead audit rows need a
 * log to go to) and closes after the listeners, so every suspended request
 * still gets its commit. */
static hg_status open_store(struct daemon *d, struct hg_err *err)
{
    const char *path = d->cfg->store.path;
    if (!path) {
        int n = snprintf(d->db_path, sizeof d->db_path, "%s/haulgate.db", d->cfg->data_dir);
        if (n < 0 || (size_t)n >= sizeof d->db_path)
            return hg_err_set(err, HG_ETOOBIG, "data directory path too long for the database");
        path = d->db_path;
    } else {
        hg_strlcpy(d->db_path, path, sizeof d->db_path);
    }
    struct hg_store_opts o = {
        .backend = d->cfg->store.backend,
        .path = path,
        .durability_full = !strcmp(d->cfg->store.durability, "full"),
        .queue_max = d->cfg->store.queue_max,
        .batch_max = d->cfg->store.batch_max,
        .metrics = d->metrics,
    };
    struct hg_err serr;
    hg_err_clear(&serr);
    if (hg_store_open(&o, &d->store, &serr) != HG_OK)
        return hg_err_set(err, serr.status, "cannot open the store: %s", hg_err_msg(&serr));
    if (!o.durability_full)
        hg_log(HG_LOG_WARN, "store.durability is normal: a power loss may lose the last "
                            "acknowledged writes",
               HG_LF_END);
    struct hg_ckpt_pub *pub = NULL;
    hg_status rc = hg_ckpt_pub_start(d->store, &pub, err);
    if (rc != HG_OK)
        return rc;
    atomic_store(&d->ckpt, pub);
    /* the checkpoint signed before the store was open (at audit open) */
    struct hg_buf note;
    hg_buf_init(&note, 1 << 16);
    uint64_t size = 0;
    struct hg_err cerr;
    hg_err_clear(&cerr);
    if (hg_audit_latest_checkpoint(d->audit, &note, &size, &cerr) == HG_OK)
        hg_ckpt_pub_offer(pub, size, note.data, note.len);
    hg_buf_cleanup(&note);
    return hg_audit_relay_start(d->store, d->audit, d->metrics, &d->relay, err);
}

/* Writer thread: the sweep committed (or failed). */
static void on_swept(struct hg_store_write *w, void *arg)
{
    struct daemon *d = arg;
    if (w->result != HG_OK)
        hg_log(HG_LOG_ERROR, "idempotency sweep failed", HG_LF_STR("error", w->detail), HG_LF_END);
    else if (w->swept)
        hg_log(HG_LOG_DEBUG, "expired idempotency keys removed", HG_LF_INT("count", w->swept),
               HG_LF_END);
    atomic_store(&d->sweeping, 0);
}

static void on_sweep_timer(evutil_socket_t fd, short what, void *arg)
{
    struct daemon *d = arg;
    if (!d->store || atomic_exchange(&d->sweeping, 1))
        return;
    memset(&d->sweep_job, 0, sizeof d->sweep_job);
    d->sweep_job.op = HG_SOP_IDEM_SWEEP;
    d->sweep_job.now_ms = hg_wall_ms();
    d->sweep_job.done = on_swept;
    d->sweep_job.arg = d;
    if (hg_store_submit(d->store, &d->sweep_job) != HG_OK)
        atomic_store(&d->sweeping, 0); /* busy or closing: next tick */
}

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > 64 ? 64 : (int)n);
}

static hg_status start(struct daemon *d, struct hg_err *err)
{
    hg_status rc = ensure_dir(d->cfg->data_dir, err);
    if (rc != HG_OK)
        return rc;
    if ((rc = init_metrics(d, err)) != HG_OK)
        return rc;
    if ((rc = open_audit(d, err)) != HG_OK)
        return rc;
    if ((rc = open_store(d, err)) != HG_OK)
        return rc;
    struct hg_tls_files files = {d->cfg->api.tls.cert, d->cfg->api.tls.key, d->cfg->api.tls.ca,
                                 d->cfg->api.tls.crl};
    if ((rc = hg_tls_server_new(&files, &d->tls, err)) != HG_OK)
        return rc;
    if (!d->cfg->api.tls.crl)
        hg_log(HG_LOG_WARN, "no api.tls.crl configured: revoked client certificates are accepted",
               HG_LF_END);
    set_expiry_metrics(d);
    d->api.cfg = d->cfg;
    d->api.metrics = d->metrics;
    d->api.audit = d->audit;
    d->api.store = d->store;
    if ((rc = hg_api_init(&d->api, err)) != HG_OK)
        return rc;
    d->sweep_ev = event_new(d->base, -1, EV_PERSIST, on_sweep_timer, d);
    struct timeval sweep = {d->cfg->idempotency.sweep_interval_ms / 1000,
                            (d->cfg->idempotency.sweep_interval_ms % 1000) * 1000};
    if (!d->sweep_ev || event_add(d->sweep_ev, &sweep) != 0)
        return hg_err_set(err, HG_ENOMEM, "cannot start the idempotency sweeper");
    struct hg_http_server_opts o = {
        .name = "api",
        .host = d->cfg->api.host,
        .port = d->cfg->api.port,
        .threads = d->cfg->api.threads > 0 ? d->cfg->api.threads : default_threads(),
        .tls = d->tls,
        .max_header_bytes = d->cfg->api.max_header_bytes,
        .max_body_bytes = d->cfg->api.max_body_bytes,
        .header_timeout_ms = d->cfg->api.header_timeout_ms,
        .read_timeout_ms = d->cfg->api.read_timeout_ms,
        .write_timeout_ms = d->cfg->api.write_timeout_ms,
        .max_connections = d->cfg->api.max_connections,
        .dispatch = hg_api_dispatch,
        .dispatch_arg = &d->api,
        .on_conn = hg_api_on_conn,
        .on_conn_arg = &d->api,
        .metrics = &d->http_metrics,
        .log_requests = 1,
    };
    if ((rc = hg_http_server_new(&o, &d->api_srv, err)) != HG_OK)
        return rc;
    if ((rc = hg_daemon_auth_open(&d->auth, d->cfg, &d->api, d->audit, d->base,
                                  hg_http_server_port(d->api_srv), err)) != HG_OK)
        return rc;
    struct hg_http_server_opts a = o;
    a.name = "admin";
    a.host = d->cfg->admin.host;
    a.port = d->cfg->admin.port;
    a.threads = 1;
    a.tls = NULL;
    a.max_connections = 64;
    a.dispatch = hg_admin_dispatch;
    a.on_conn = NULL;
    a.log_requests = 0;
    if ((rc = hg_http_server_new(&a, &d->admin_srv, err)) != HG_OK)
        return rc;
    if ((rc = hg_http_server_start(d->api_srv, err)) != HG_OK ||
        (rc = hg_http_server_start(d->admin_srv, err)) != HG_OK)
        return rc;
    atomic_store(&d->api.ready, 1);
    write_listen_file(d);
    hg_log(HG_LOG_INFO, "haulgated started", HG_LF_STR("version", HG_VERSION),
           HG_LF_STR("config", d->cfg->path), HG_LF_STR("data_dir", d->cfg->data_dir),
           HG_LF_INT("api_port", hg_http_server_port(d->api_srv)),
           HG_LF_INT("admin_port", hg_http_server_port(d->admin_srv)),
           HG_LF_INT("threads", o.threads), HG_LF_END);
    return HG_OK;
}

static int stop(struct daemon *d)
{
    atomic_store(&d->api.ready, 0);
    hg_api_drain(&d->api);
    if (d->api_srv) {
        uint64_t t0 = hg_mono_us();
        int cut = hg_http_server_stop(d->api_srv, d->cfg->shutdown.drain_timeout_ms);
        hg_log(cut ? HG_LOG_WARN : HG_LOG_INFO, "API listener drained",
               HG_LF_INT("cut_connections", cut),
               HG_LF_INT("drain_ms", (int64_t)((hg_mono_us() - t0) / 1000)), HG_LF_END);
    }
    if (d->admin_srv)
        hg_http_server_stop(d->admin_srv, 1000);
    if (d->listen_path[0])
        unlink(d->listen_path);
    if (d->sweep_ev) {
        event_free(d->sweep_ev);
        d->sweep_ev = NULL;
    }
    /* The listeners are drained. Relay every pending audit row, then close
     * the store: it completes whatever is still queued (a request cut by the
     * drain timeout is answered into the void), so nothing can resume a
     * request once the servers are freed below. */
    int failed = 0;
    if (hg_audit_relay_stop(d->relay) != HG_OK) {
        hg_log(HG_LOG_ERROR, "audit relay stopped with an error; the rows stay in the store "
                             "and are relayed at the next start",
               HG_LF_END);
        failed = 1;
    }
    d->relay = NULL;
    hg_ckpt_pub_stop(atomic_load(&d->ckpt));
    hg_store_close(d->store);
    d->store = NULL;
    d->api.store = NULL;
    hg_http_server_free(d->api_srv);
    hg_http_server_free(d->admin_srv);
    d->api_srv = d->admin_srv = NULL;
    hg_daemon_auth_close(&d->auth);
    hg_api_cleanup(&d->api);
    /* No handler can run any more: the final checkpoint covers everything. */
    failed |= close_audit(d);
    hg_ckpt_pub_free(atomic_exchange(&d->ckpt, NULL));
    hg_tls_server_free(d->tls);
    hg_metrics_free(d->metrics);
    return failed;
}

static int check_config(const char *path)
{
    struct hg_config *cfg = NULL;
    struct hg_err err;
    hg_err_clear(&err);
    if (hg_config_load(path, &cfg, &err) != HG_OK) {
        fprintf(stderr, "haulgated: %s\n", hg_err_msg(&err));
        return 1;
    }
    printf("%s: configuration is valid (%zu clients)\n", path, cfg->nclients);
    hg_config_free(cfg);
    return 0;
}

int hg_daemon_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"data-dir", required_argument, NULL, 'd'},
        {"check-config", required_argument, NULL, 'k'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *data_dir = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "c:d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'd': data_dir = optarg; break;
        case 'k': return check_config(optarg);
        case 'V': printf("haulgated %s (%s)\n", HG_VERSION, HG_REVISION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!config || optind != argc) {
        usage(stderr);
        return 2;
    }
    struct daemon d;
    memset(&d, 0, sizeof d);
    struct hg_err err;
    hg_err_clear(&err);
    int code = 1;
    if (hg_config_load(config, &d.cfg, &err) != HG_OK) {
        fprintf(stderr, "haulgated: %s\n", hg_err_msg(&err));
        return 1;
    }
    if (data_dir) {
        char *dd = realpath(data_dir, NULL);
        if (!dd)
            dd = strdup(data_dir);
        free(d.cfg->data_dir);
        d.cfg->data_dir = dd;
    }
    if (hg_log_level_parse(d.cfg->log.level, &d.level) != HG_OK)
        d.level = HG_LOG_INFO;
    if (hg_log_open(d.cfg->log.file, d.level) != HG_OK) {
        fprintf(stderr, "haulgated: cannot open log file '%s': %s\n", d.cfg->log.file,
                strerror(errno));
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Block the signals we handle in every thread; the main loop takes them. */
    d.base = event_base_new();
    if (!d.base)
        goto out;
    struct event *ev_term = evsignal_new(d.base, SIGTERM, on_stop_signal, &d);
    struct event *ev_int = evsignal_new(d.base, SIGINT, on_stop_signal, &d);
    struct event *ev_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
    if (!ev_term || !ev_int || !ev_hup || evsignal_add(ev_term, NULL) || evsignal_add(ev_int, NULL) ||
        evsignal_add(ev_hup, NULL)) {
        fprintf(stderr, "haulgated: cannot install signal handlers\n");
        goto out_ev;
    }
    if (start(&d, &err) != HG_OK) {
        hg_log(HG_LOG_ERROR, "start-up failed", HG_LF_STR("error", hg_err_msg(&err)), HG_LF_END);
        fprintf(stderr, "haulgated: %s\n", hg_err_msg(&err));
        stop(&d);
        goto out_ev;
    }
    event_base_dispatch(d.base);
    code = stop(&d);
    hg_log(code ? HG_LOG_ERROR : HG_LOG_INFO, "haulgated stopped", HG_LF_END);
out_ev:
    if (ev_term)
        event_free(ev_term);
    if (ev_int)
        event_free(ev_int);
    if (ev_hup)
        event_free(ev_hup);
    event_base_free(d.base);
out:
    hg_config_free(d.cfg);
    hg_log_close();
    return code;
}
