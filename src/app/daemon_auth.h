/* SPDX-License-Identifier: Apache-2.0
 *
 * daemon_auth.h — the daemon's identity and authorization parts, wired
 * together: the signing keyring (<data_dir>/keys unless auth.keys_dir),
 * the token service and its cache, the DPoP verifier, the external
 * issuers, and the policy. Opened once the API port is known (the default
 * issuer is https://<host>:<port>), reloaded on SIGHUP (policy: an invalid
 * file is refused and the old policy stays; keyring: rotations made by
 * `haulctl keys rotate`), and the keyring also on a timer.
 */
#ifndef HG_APP_DAEMON_AUTH_H
#define HG_APP_DAEMON_AUTH_H

#include <event2/event.h>

#include "api/api.h"
#include "app/config.h"
#include "common/err.h"

struct hg_daemon_auth {
    const struct hg_config *cfg;
    struct hg_api *api;
    struct hg_audit_log *audit;    /* policy.reloaded records; may be NULL */
    char issuer[300];
    char audience[300];
    struct event *key_ev;
};

/* Open everything and plug it into api (api->keys, tokens, dpop, issuers,
 * issuer, audience, and the policy). port is the bound API port. */
hg_status hg_daemon_auth_open(struct hg_daemon_auth *a, const struct hg_config *cfg,
                              struct hg_api *api, struct hg_audit_log *audit,
                              struct event_base *base, int port, struct hg_err *err);
/* SIGHUP: reload the policy file and the keyring. */
void hg_daemon_auth_reload(struct hg_daemon_auth *a);
/* After the listeners are stopped: free it all and clear api's pointers. */
void hg_daemon_auth_close(struct hg_daemon_auth *a);

#endif
