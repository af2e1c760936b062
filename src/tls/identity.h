/* SPDX-License-Identifier: Apache-2.0
 *
 * identity.h — who is on the other end of a verified TLS connection, read
 * from its (already verified) client certificate: subject CN, SAN URIs
 * (SPIFFE-style spiffe://…), SAN DNS names, serial, not-after and the
 * RFC 8705 / RFC 7515 `x5t#S256` thumbprint (base64url SHA-256 of the DER).
 * Computed once per connection. This unit never verifies anything: the TLS
 * stack did that; it only reads.
 */
#ifndef HG_TLS_IDENTITY_H
#define HG_TLS_IDENTITY_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include "common/status.h"

#define HG_ID_MAX_SANS 16          /* more SAN entries of a kind are ignored */
#define HG_ID_STR_MAX 256          /* longer names are rejected (HG_ETOOBIG) */
#define HG_THUMBPRINT_LEN 43       /* base64url of 32 bytes, no padding */

struct hg_identity {
    char cn[HG_ID_STR_MAX];        /* "" when the subject has no CN */
    char *uris[HG_ID_MAX_SANS];    /* SAN URIs, owned */
    size_t nuris;
    char *dns[HG_ID_MAX_SANS];     /* SAN DNS names, owned */
    size_t ndns;
    char serial[80];               /* hex, upper-case, no separators */
    int64_t not_after;             /* Unix seconds */
    int64_t not_before;
    char thumbprint[HG_THUMBPRINT_LEN + 1]; /* x5t#S256 */
    char issuer_cn[HG_ID_STR_MAX];
};

/* Read the identity of `cert`. *out is a new object (free with
 * hg_identity_free; the SAN strings live in the same allocation and are not
 * freed separately). HG_ETOOBIG if a name has HG_ID_STR_MAX bytes or more,
 * HG_EPARSE if a name is not valid text (embedded NUL or other control
 * character, invalid UTF-8, non-IA5 or empty SAN, a subject with two CNs,
 * duplicate or undecodable subjectAltName, unreadable time), HG_EINVAL for a
 * NULL argument, HG_ENOMEM. On error *out is NULL. */
hg_status hg_identity_from_x509(X509 *cert, struct hg_identity **out);

/* x5t#S256 of a certificate (base64url SHA-256 of its DER encoding).
 * HG_EINVAL (NULL cert), HG_EPARSE (cannot be encoded), HG_ENOMEM. */
hg_status hg_identity_thumbprint(X509 *cert, char out[HG_THUMBPRINT_LEN + 1]);

/* A serial number as the `serial` field shows it: upper-case hex, two digits
 * per byte, no separators, '-' first if negative. HG_ETOOBIG if `cap` is
 * short (80 bytes always hold a 39-byte serial), HG_EINVAL, HG_EPARSE. */
hg_status hg_identity_serial_hex(const ASN1_INTEGER *sn, char *out, size_t cap);

/* Serialise as JSON text for /v1/whoami and logs:
 * {"subject_cn":…, "san_uris":[…], "san_dns":[…], "serial":…,
 *  "not_after":"RFC 3339", "not_before":…, "x5t#S256":…, "issuer_cn":…}.
 * Returns a jansson json_t* as void* to keep jansson out of this header
 * (release with json_decref), or NULL on allocation failure. */
void *hg_identity_to_json(const struct hg_identity *id);

void hg_identity_free(struct hg_identity *id);

#endif
