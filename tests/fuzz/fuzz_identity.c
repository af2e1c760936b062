/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_identity.c — libFuzzer target for tls/identity. Input: DER bytes,
 * parsed with d2i_X509; whatever OpenSSL accepts is handed to
 * hg_identity_from_x509, hg_identity_to_json and hg_identity_free. Beyond
 * not crashing, the target checks the promises of identity.h: a failed read
 * leaves *out NULL; an accepted identity has at most HG_ID_MAX_SANS of each
 * SAN kind, every name shorter than HG_ID_STR_MAX, non-empty SANs with no
 * control characters, the same thumbprint hg_identity_thumbprint gives, and
 * always serialises to JSON (so every name was valid UTF-8).
 */
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls/identity.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void check_name(const char *s, int may_be_empty)
{
    size_t n = strnlen(s, HG_ID_STR_MAX);
    check(n < HG_ID_STR_MAX);
    check(may_be_empty || n > 0);
    for (size_t i = 0; i < n; i++)
        check((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

static void check_identity(X509 *x, const struct hg_identity *id)
{
    char tp[HG_THUMBPRINT_LEN + 1];
    check(id->nuris <= HG_ID_MAX_SANS && id->ndns <= HG_ID_MAX_SANS);
    check_name(id->cn, 1);
    check_name(id->issuer_cn, 1);
    for (size_t i = 0; i < id->nuris; i++)
        check_name(id->uris[i], 0);
    for (size_t i = 0; i < id->ndns; i++)
        check_name(id->dns[i], 0);
    check(strlen(id->thumbprint) == HG_THUMBPRINT_LEN);
    check(hg_identity_thumbprint(x, tp) == HG_OK && !strcmp(tp, id->thumbprint));
    check(strlen(id->serial) >= 2);
    json_t *j = hg_identity_to_json(id);
    check(j != NULL);
    char *text = json_dumps(j, JSON_COMPACT);
    check(text != NULL);
    free(text);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *p = data;
    if (size > (1u << 20))
        return 0;
    X509 *x = d2i_X509(NULL, &p, (long)size);
    if (x) {
        struct hg_identity *id = (struct hg_identity *)&id; /* poison: must be reset */
        hg_status rc = hg_identity_from_x509(x, &id);
        if (rc == HG_OK)
            check_identity(x, id);
        else
            check(id == NULL);
        hg_identity_free(id);
        X509_free(x);
    }
    ERR_clear_error();
    return 0;
}
