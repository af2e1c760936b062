/* SPDX-License-Identifier: Apache-2.0
 *
 * daemon_auth.c — see daemon_auth.h. Start-up refuses to run with a
 * policy file that does not load (the error names file and line), warns
 * about every insecure_* setting, and fetches external issuers' JWKS once
 * (a failure there is logged, not fatal: their tokens fail until a fetch
 * succeeds).
 */
#include "app/daemon_auth.h"

#include <stdio.h>
#include <string.h>

#include "audit/audit_log.h"
#include "auth/dpop.h"
#include "auth/issuers.h"
#include "auth/keyring.h"
#include "auth/token.h"
#include "common/util.h"
#include "obs/log.h"
#include "policy/policy.h"

static hg_status load_policy(struct hg_daemon_auth *a, struct hg_policy **out,
                             struct hg_err *err)
{
    if (!a->cfg->policy.file)
        return hg_policy_empty(out);
    return hg_policy_load(a->cfg->policy.file, out, err);
}

static void on_key_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hg_daemon_auth *a = arg;
    struct hg_err err;
    hg_err_clear(&err);
    int changed = 0;
    if (hg_keyring_reload(a->api->keys, &changed, &err) != HG_OK)
        hg_log(HG_LOG_ERROR, "signing keys could not be reloaded; keeping the previous ones",
               HG_LF_STR("error", hg_err_msg(&err)), HG_LF_END);
    else if (changed)
        hg_log(HG_LOG_INFO, "signing keys reloaded (a rotation was made)", HG_LF_END);
}

hg_status hg_daemon_auth_open(struct hg_daemon_auth *a, const struct hg_config *cfg,
                              struct hg_api *api, struct hg_audit_log *audit,
                              struct event_base *base, int port, struct hg_err *err)
{
    hg_status rc;
    memset(a, 0, sizeof *a);
    a->cfg = cfg;
    a->api = api;
    a->audit = audit;
    if (cfg->auth.issuer) {
        hg_strlcpy(a->issuer, cfg->auth.issuer, sizeof a->issuer);
    } else {
        const char *h = cfg->api.host;
        int v6 = strchr(h, ':') != NULL;
        if (!strcmp(h, "0.0.0.0") || !strcmp(h, "::"))
            hg_log(HG_LOG_WARN,
                   "api.listen is a wildcard address and auth.issuer is not set: tokens name "
                   "the wildcard as their issuer and DPoP proofs must use it in htu; set "
                   "auth.issuer to the URL clients use",
                   HG_LF_END);
        snprintf(a->issuer, sizeof a->issuer, "https://%s%s%s:%d", v6 ? "[" : "", h,
                 v6 ? "]" : "", port);
    }
    /* a trailing slash would double in htu and endpoint URLs */
    size_t il = strlen(a->issuer);
    while (il > 8 && a->issuer[il - 1] == '/')
        a->issuer[--il] = '\0';
    hg_strlcpy(a->audience, cfg->auth.audience ? cfg->auth.audience : a->issuer,
               sizeof a->audience);
    api->issuer = a->issuer;
    api->audience = a->audience;

    char keys_dir[4200];
    if (cfg->auth.keys_dir)
        hg_strlcpy(keys_dir, cfg->auth.keys_dir, sizeof keys_dir);
    else
        snprintf(keys_dir, sizeof keys_dir, "%s/keys", cfg->data_dir);
    int64_t now = hg_wall_ms() / 1000;
    struct hg_keyring_opts ko = {
        .dir = keys_dir,
        .alg = strcmp(cfg->auth.signing_alg, "EdDSA") == 0 ? HG_JOSE_EDDSA : HG_JOSE_ES256,
        .publish_delay_s = cfg->auth.key_publish_delay_ms / 1000,
        .token_lifetime_s = cfg->auth.token_lifetime_ms / 1000,
        .leeway_s = cfg->auth.leeway_ms / 1000,
    };
    if ((rc = hg_keyring_open(&ko, now, &api->keys, err)) != HG_OK)
        return rc;
    if ((rc = hg_issuers_new(cfg, &api->issuers, err)) != HG_OK)
        return rc;
    struct hg_token_opts to = {
        .issuer = a->issuer,
        .audience = a->audience,
        .lifetime_s = cfg->auth.token_lifetime_ms / 1000,
        .leeway_s = cfg->auth.leeway_ms / 1000,
        .cache_max = (size_t)cfg->auth.token_cache,
        .keys = api->keys,
        .external = api->issuers,
    };
    if ((rc = hg_tokens_new(&to, &api->tokens, err)) != HG_OK)
        return rc;
    struct hg_dpop_opts dopt = {
        .iat_window_s = cfg->auth.dpop.iat_window_ms / 1000,
        .jti_cache_max = (size_t)cfg->auth.dpop.jti_cache,
        .require_nonce = cfg->auth.dpop.require_nonce,
        .nonce_step_s = cfg->auth.dpop.nonce_step_ms / 1000,
    };
    if ((rc = hg_dpop_new(&dopt, &api->dpop, err)) != HG_OK)
        return rc;

    struct hg_policy *pol = NULL;
    if ((rc = load_policy(a, &pol, err)) != HG_OK)
        return rc;
    if (!cfg->policy.file)
        hg_log(HG_LOG_WARN,
               "no policy.file configured: every request that needs a policy decision is "
               "denied (docs/policy.md)",
               HG_LF_END);
    hg_log(HG_LOG_INFO, "policy loaded", HG_LF_STR("file", hg_policy_source(pol)),
           HG_LF_INT("rules", (int64_t)hg_policy_rule_count(pol)), HG_LF_END);
    hg_api_set_policy(api, pol);

    if (cfg->auth.insecure_mtls_only)
        hg_log(HG_LOG_WARN,
               "auth.insecure_mtls_only is on: requests without a token are accepted and get "
               "their client's configured scopes; never run it in production",
               HG_LF_END);
    if (hg_issuers_count(api->issuers)) {
        size_t failed = hg_issuers_prefetch(api->issuers, now);
        if (failed)
            hg_log(HG_LOG_WARN, "some external issuers' keys could not be fetched at start-up; "
                                "their tokens are refused until a fetch succeeds",
                   HG_LF_INT("failed", (int64_t)failed), HG_LF_END);
    }
    a->key_ev = event_new(base, -1, EV_PERSIST, on_key_timer, a);
    struct timeval tv = {cfg->auth.key_check_interval_ms / 1000,
                         (cfg->auth.key_check_interval_ms % 1000) * 1000};
    if (!a->key_ev || event_add(a->key_ev, &tv) != 0)
        return hg_err_set(err, HG_ENOMEM, "cannot start the signing-key watcher");
    hg_log(HG_LOG_INFO, "token service ready", HG_LF_STR("issuer", a->issuer),
           HG_LF_STR("audience", a->audience), HG_LF_STR("keys_dir", keys_dir),
           HG_LF_INT("external_issuers", (int64_t)hg_issuers_count(api->issuers)), HG_LF_END);
    return HG_OK;
}

void hg_daemon_auth_reload(struct hg_daemon_auth *a)
{
    if (!a->api || !a->api->keys)
        return;
    struct hg_err err;
    hg_err_clear(&err);
    struct hg_policy *pol = NULL;
    if (load_policy(a, &pol, &err) != HG_OK) {
        hg_log(HG_LOG_ERROR, "policy reload failed; keeping the previous policy",
               HG_LF_STR("error", hg_err_msg(&err)), HG_LF_END);
    } else {
        size_t rules = hg_policy_rule_count(pol);
        hg_api_set_policy(a->api, pol);
        hg_log(HG_LOG_INFO, "policy reloaded", HG_LF_STR("file", a->cfg->policy.file),
               HG_LF_INT("rules", (int64_t)rules), HG_LF_END);
        if (a->audit) {
            char ver[32], rid[HG_UUID_STRLEN + 1] = "sighup";
            snprintf(ver, sizeof ver, "%zu rules", rules);
            hg_uuid7(rid);
            json_t *d = json_pack("{s:s, s:s?}", "policy_version", ver, "file",
                                  a->cfg->policy.file);
            struct hg_audit_record rec = {
                .service = "haulgated",
                .event_type = "policy.reloaded",
                .request_id = rid,
                .identity = {.subject = "haulgated"},
                .decision = "none",
                .reason = "SIGHUP",
                .details = d,
            };
            hg_audit_append_async(a->audit, &rec, NULL, NULL, &err);
            json_decref(d);
        }
    }
    on_key_timer(-1, 0, a);
}

void hg_daemon_auth_close(struct hg_daemon_auth *a)
{
    struct hg_api *api = a->api;
    if (a->key_ev) {
        event_free(a->key_ev);
        a->key_ev = NULL;
    }
    if (!api)
        return;
    hg_api_set_policy(api, NULL);
    hg_tokens_free(api->tokens);
    hg_dpop_free(api->dpop);
    hg_issuers_free(api->issuers);
    hg_keyring_close(api->keys);
    api->tokens = NULL;
    api->dpop = NULL;
    api->issuers = NULL;
    api->keys = NULL;
}
