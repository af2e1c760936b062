/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_issuer_claims.c — libFuzzer target for auth/issuers' claim mapping
 * (the code that reads an external IdP's token payload into struct
 * hg_token_claims). The file includes issuers.c to reach its statics: each
 * input up to HG_TOKEN_MAX bytes that is a JSON object is mapped by two
 * issuers, one requiring a cnf binding and mapping the tenant from a claim,
 * one with insecure_unbound_tokens and a fixed tenant. Invariants beyond not
 * crashing: a success has this issuer and audience, a non-empty sub and
 * client_id, at most HG_TOKEN_MAX_ROLES roles each from the role map, a
 * 43-character cnf exactly when bound, an unbound token only for the
 * insecure issuer, and scope bits within the table; a failure says why.
 */
#include "auth/issuers.c"

#include <stdint.h>
#include <stdlib.h>

static void check(int cond)
{
    if (!cond)
        abort();
}

static struct issuer fz[2];

static void init_once(void)
{
    static int ready;
    static char *map[] = {"admin=admin", "ops=operator", "ops=auditor", "tms=tms"};
    if (ready)
        return;
    struct hg_config_issuer c = {
        .issuer = "https://idp.example", .jwks_url = "https://idp.example/jwks",
        .audience = "https://gw.example", .refresh_interval_ms = 1000, .max_age_ms = 1000,
        .fetch_timeout_ms = 1000, .roles_claim = "roles", .role_map = map, .nrole_map = 4,
        .tenant_claim = "tenant", .tenant = "fixed"};
    if (issuer_init(&fz[0], &c, NULL) != HG_OK)
        abort();
    c.insecure_unbound_tokens = true;
    c.tenant_claim = NULL;
    if (issuer_init(&fz[1], &c, NULL) != HG_OK)
        abort();
    ready = 1;
}

static int is_ours(const char *role)
{
    return !strcmp(role, "admin") || !strcmp(role, "operator") || !strcmp(role, "auditor") ||
           !strcmp(role, "tms");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    if (size > HG_TOKEN_MAX)
        return 0;
    json_error_t jerr;
    json_t *p = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!p)
        return 0;
    if (json_is_object(p)) {
        for (int i = 0; i < 2; i++) {
            struct hg_token_claims c;
            struct hg_err e;
            memset(&c, 0, sizeof c);
            hg_err_clear(&e);
            hg_status st = map_claims(&fz[i], p, &c, &e);
            if (st != HG_OK) {
                check(st == HG_EPARSE || st == HG_EVERIFY);
                check(e.msg[0] != '\0');
                continue;
            }
            check(!strcmp(c.iss, "https://idp.example"));
            check(!strcmp(c.aud, "https://gw.example"));
            check(c.sub[0] && strlen(c.sub) <= HG_TOKEN_NAME_MAX);
            check(c.client_id[0] && strlen(c.client_id) <= HG_TOKEN_NAME_MAX);
            check(strlen(c.tenant) <= HG_TOKEN_NAME_MAX);
            check(strlen(c.jti) <= HG_TOKEN_NAME_MAX);
            check(i == 0 || !strcmp(c.tenant, "fixed"));
            check(c.nroles <= HG_TOKEN_MAX_ROLES);
            for (size_t r = 0; r < c.nroles; r++)
                check(is_ours(c.roles[r]));
            check((c.scopes & ~HG_SCOPE_ALL) == 0);
            check(c.external == 1);
            if (c.bind == HG_BIND_NONE)
                check(i == 1 && c.cnf[0] == '\0');
            else
                check(strlen(c.cnf) == HG_JWK_THUMB_LEN);
        }
    }
    json_decref(p);
    return 0;
}
