/* SPDX-License-Identifier: Apache-2.0
 *
 * util.h — small shared helpers: clocks, RFC 3339 times, UUIDv7, base64url,
 * strict number parsing, bounded string copy. No I/O beyond the clock and
 * the OS random source.
 */
#ifndef HG_COMMON_UTIL_H
#define HG_COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "common/status.h"

/* Monotonic clock in microseconds (for durations and deadlines). */
uint64_t hg_mono_us(void);
/* Wall clock in milliseconds since the Unix epoch. */
int64_t hg_wall_ms(void);

/* RFC 3339 UTC with milliseconds: "2026-11-21T17:05:00.123Z". `out` must hold
 * HG_RFC3339_LEN + 1 bytes. */
#define HG_RFC3339_LEN 24
void hg_rfc3339(int64_t unix_ms, char out[HG_RFC3339_LEN + 1]);
/* Read an RFC 3339 date-time (`n` bytes, at most 40): "T" or "t", "Z",
 * "z" or a ±hh:mm offset, 1 to 9 fraction digits (floored to the
 * millisecond), years 1970 to 9999, no leap seconds. HG_OK with Unix ms,
 * else HG_EPARSE. Every hg_rfc3339 output reads back to the same ms. */
hg_status hg_rfc3339_parse(const char *s, size_t n, int64_t *ms);
/* Days since 1970-01-01 of proleptic Gregorian y-m-d (m 1..12; H. Hinnant's
 * days_from_civil): exact for every year, no time zone, no libc state. */
int64_t hg_days_from_civil(int64_t y, int m, int d);

/* Random bytes from OpenSSL's DRBG, drawn 512 at a time into a per-thread
 * pool: for per-request identifiers (UUIDv7, trace and span ids) where one
 * DRBG call per id costs more than the request. Never for keys, nonces or
 * other secrets (use hg_random in crypto/hash.h). Not fork-safe: a child
 * would repeat its parent's pool. HG_ECRYPTO if the DRBG fails. */
hg_status hg_random_ids(void *p, size_t n);

/* UUIDv7 (RFC 9562) as 36 lower-case chars + NUL. Monotonic within a process:
 * ids from one process sort in creation order even within a millisecond. */
#define HG_UUID_STRLEN 36
hg_status hg_uuid7(char out[HG_UUID_STRLEN + 1]);
/* 1 if `n` bytes are UUID text (8-4-4-4-12 hex, either case; RFC 9562 §4),
 * writing the lower-case form to out (may be NULL); else 0. Ids are stored
 * in lower case, so an upper-case spelling names the same resource. */
int hg_uuid_norm(const char *s, size_t n, char out[HG_UUID_STRLEN + 1]);

/* base64url without padding (RFC 4648 §5). Encoded length for n bytes. */
size_t hg_b64url_enclen(size_t n);
/* Writes hg_b64url_enclen(n) chars + NUL into out (cap bytes). HG_ETOOBIG if
 * cap is short. */
hg_status hg_b64url_encode(const void *in, size_t n, char *out, size_t cap);
/* Decodes strict unpadded base64url (rejects '=', '+', '/', whitespace and
 * non-canonical trailing bits). *outlen receives the byte count. */
hg_status hg_b64url_decode(const char *in, size_t n, unsigned char *out,
                           size_t cap, size_t *outlen);
/* Standard base64 with padding (for C2SP notes, PEM-free key blobs). */
hg_status hg_b64std_encode(const void *in, size_t n, char *out, size_t cap);
hg_status hg_b64std_decode(const char *in, size_t n, unsigned char *out,
                           size_t cap, size_t *outlen);

/* Lower-case hex. `out` holds 2n+1 bytes. */
void hg_hex(const void *in, size_t n, char *out);

/* Strict decimal integer in [min, max]: the whole string, optional '-', no
 * spaces, no '+', no trailing garbage. HG_EPARSE / HG_ETOOBIG (out of range). */
hg_status hg_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Copy at most cap-1 bytes and NUL-terminate; HG_ETOOBIG if truncated. */
hg_status hg_strlcpy(char *dst, const char *src, size_t cap);

/* Constant-time equality of two byte strings of the same length n. */
int hg_ct_equal(const void *a, const void *b, size_t n);

#endif
