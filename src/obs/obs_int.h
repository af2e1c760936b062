/* SPDX-License-Identifier: Apache-2.0
 *
 * obs_int.h — helpers shared by the obs/ units only (metrics.c, log.c): number
 * formatting that is independent of the process locale and round-trips, and
 * a UTF-8 validator. Not part of any public contract; nothing outside
 * src/obs/ may include it.
 */
#ifndef HG_OBS_OBS_INT_H
#define HG_OBS_OBS_INT_H

#include <stddef.h>

/* Longest text obs__fmt_double writes, without the NUL ("-1.2345678901234567e-308"). */
#define OBS__DBL_MAX_LEN 32

/* Shortest decimal text that parses back (strtod) to exactly `v`, always with
 * '.' as the decimal point whatever setlocale() says. Non-finite values are
 * spelled the Prometheus way: "+Inf", "-Inf", "NaN" (callers writing JSON
 * must not pass them). `out` holds OBS__DBL_MAX_LEN + 1 bytes; returns the
 * length written. */
size_t obs__fmt_double(double v, char out[OBS__DBL_MAX_LEN + 1]);

/* Length of the well-formed UTF-8 sequence starting at s[0] (1..4), or 0 if
 * s[0] does not begin one within n bytes (stray continuation byte, overlong
 * form, surrogate, code point above U+10FFFF, or truncated sequence). */
size_t obs__utf8_seq(const unsigned char *s, size_t n);

/* 1 if all n bytes are well-formed UTF-8. */
int obs__utf8_valid(const char *s, size_t n);

#endif
