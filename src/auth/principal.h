/* SPDX-License-Identifier: Apache-2.0
 *
 * principal.h — mapping a verified certificate identity to a configured
 * principal (the `clients:` section). Every match_* that a client entry sets
 * must match; the first entry that matches wins. A certificate that verifies
 * but maps to no principal is authenticated yet unauthorised: callers answer
 * 403 and say which identity they saw.
 */
#ifndef HG_AUTH_PRINCIPAL_H
#define HG_AUTH_PRINCIPAL_H

#include "app/config.h"
#include "tls/identity.h"

/* The matching client entry, or NULL. Pure; no allocation. */
const struct hg_config_client *hg_principal_match(const struct hg_config *cfg,
                                                  const struct hg_identity *id);

#endif
