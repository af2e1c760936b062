/* SPDX-License-Identifier: Apache-2.0
 *
 * obs_int.c — locale-proof shortest round-trip number formatting and UTF-8
 * validation for the metrics exposition and the JSON log writer. Both output
 * formats are parsed by other programs, so a comma decimal point from a
 * stray setlocale() or a lone invalid byte would break the consumer.
 */
#include "obs/obs_int.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale = (locale_t)0;

static void c_locale_init(void)
{
    /* Kept for the life of the process: uselocale() is per thread and cheap,
     * newlocale() is neither, so it is created once. */
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

size_t obs__fmt_double(double v, char out[OBS__DBL_MAX_LEN + 1])
{
    if (isnan(v))
        return (size_t)snprintf(out, OBS__DBL_MAX_LEN + 1, "NaN");
    if (isinf(v))
        return (size_t)snprintf(out, OBS__DBL_MAX_LEN + 1, v > 0 ? "+Inf" : "-Inf");

    pthread_once(&c_locale_once, c_locale_init);
    locale_t old = (locale_t)0;
    if (c_locale != (locale_t)0)
        old = uselocale(c_locale);

    /* %.17g always round-trips an IEEE double but prints 0.1 as
     * 0.10000000000000001; try shorter precisions first so common values
     * read naturally. */
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(out, OBS__DBL_MAX_LEN + 1, "%.*g", prec, v);
        if (n < 0 || n > OBS__DBL_MAX_LEN) {
            n = snprintf(out, OBS__DBL_MAX_LEN + 1, "%.17g", v);
            break;
        }
        if (strtod(out, NULL) == v)
            break;
    }
    if (old != (locale_t)0)
        uselocale(old);
    return n < 0 ? 0 : (size_t)n;
}

size_t obs__utf8_seq(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;          /* overlong */
        else if (c == 0xED)
            hi = 0x9F;          /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;          /* overlong */
        else if (c == 0xF4)
            hi = 0x8F;          /* above U+10FFFF */
    } else {
        return 0;               /* continuation byte, C0/C1, F5..FF */
    }
    if (n < len)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

int obs__utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = obs__utf8_seq(p + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}
