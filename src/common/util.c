/* SPDX-License-Identifier: Apache-2.0
 * util.c — clocks, times, UUIDv7, base64url, hex, strict integers. */
#include "common/util.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t hg_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t hg_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hg_rfc3339(int64_t unix_ms, char out[HG_RFC3339_LEN + 1])
{
    time_t secs = (time_t)(unix_ms / 1000);
    int ms = (int)(unix_ms % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    unsigned f[7] = {(unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)tm.tm_mon + 1,
                     (unsigned)tm.tm_mday, (unsigned)tm.tm_hour, (unsigned)tm.tm_min,
                     (unsigned)tm.tm_sec, (unsigned)ms};
    /* fixed-width digits by hand: snprintf's truncation analysis cannot see
     * the ranges gmtime_r guarantees */
    char *o = out;
    for (int d = 1000; d; d /= 10) *o++ = (char)('0' + f[0] / d % 10);
    for (int i = 1; i < 6; i++) {
        *o++ = "--T::"[i - 1];
        *o++ = (char)('0' + f[i] / 10 % 10);
        *o++ = (char)('0' + f[i] % 10);
    }
    *o++ = '.';
    for (int d = 100; d; d /= 10) *o++ = (char)('0' + f[6] / d % 10);
    *o++ = 'Z';
    *o = '\0';
}

static int ndigits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

int64_t hg_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

hg_status hg_rfc3339_parse(const char *s, size_t n, int64_t *ms)
{
    int y, mo, d, h, mi, sec, frac = 0;
    if (!s || n < 20 || n > 40)
        return HG_EPARSE;
    if (!ndigits(s, 4, &y) || s[4] != '-' || !ndigits(s + 5, 2, &mo) || s[7] != '-' ||
        !ndigits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !ndigits(s + 11, 2, &h) ||
        s[13] != ':' || !ndigits(s + 14, 2, &mi) || s[16] != ':' || !ndigits(s + 17, 2, &sec))
        return HG_EPARSE;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        return HG_EPARSE;
    size_t i = 19;
    if (s[i] == '.') {
        size_t k = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, k++)
            if (k < 3)
                frac = frac * 10 + (s[i] - '0');
        if (k == 0 || k > 9)
            return HG_EPARSE;
        for (; k < 3; k++)
            frac *= 10;
    }
    if (i >= n)
        return HG_EPARSE;
    int64_t off = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        if (i + 1 != n)
            return HG_EPARSE;
    } else if (s[i] == '+' || s[i] == '-') {
        int oh, om;
        if (n - i != 6 || !ndigits(s + i + 1, 2, &oh) || s[i + 3] != ':' || !ndigits(s + i + 4, 2, &om) ||
            oh > 23 || om > 59)
            return HG_EPARSE;
        off = (int64_t)(oh * 60 + om) * 60 * (s[i] == '+' ? 1 : -1);
    } else {
        return HG_EPARSE;
    }
    int64_t secs = hg_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    int64_t t = secs * 1000 + frac;
    /* 9999-12-31T23:59:59.999Z is the last instant hg_rfc3339 writes back */
    if (t < 0 || t > INT64_C(253402300799999))
        return HG_EPARSE;
    *ms = t;
    return HG_OK;
}

int hg_uuid_norm(const char *s, size_t n, char out[HG_UUID_STRLEN + 1])
{
    char tmp[HG_UUID_STRLEN + 1];
    if (!s || n != HG_UUID_STRLEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (c >= 'A' && c <= 'F') {
            c = (char)(c - 'A' + 'a');
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
        tmp[i] = c;
    }
    tmp[n] = '\0';
    if (out)
        memcpy(out, tmp, sizeof tmp);
    return 1;
}

hg_status hg_random_ids(void *p, size_t n)
{
    static __thread unsigned char pool[512];
    static __thread size_t avail;
    if (n > sizeof pool)
        return RAND_bytes(p, (int)n) == 1 ? HG_OK : HG_ECRYPTO;
    if (avail < n) {
        if (RAND_bytes(pool, sizeof pool) != 1)
            return HG_ECRYPTO;
        avail = sizeof pool;
    }
    unsigned char *src = pool + sizeof pool - avail;
    memcpy(p, src, n);
    OPENSSL_cleanse(src, n); /* each byte is handed out once */
    avail -= n;
    return HG_OK;
}

/* UUIDv7 with the "monotonic random" method of RFC 9562 §6.2 (method 2):
 * within one millisecond the 12-bit rand_a is used as a counter seeded
 * randomly, so ids never go backwards inside a process. */
static pthread_mutex_t uuid_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t uuid_last_ms;
static uint16_t uuid_seq;

hg_status hg_uuid7(char out[HG_UUID_STRLEN + 1])
{
    unsigned char b[16];
    if (hg_random_ids(b, sizeof b) != HG_OK)
        return HG_ECRYPTO;
    int64_t ms = hg_wall_ms();
    pthread_mutex_lock(&uuid_mu);
    if (ms <= uuid_last_ms) {
        ms = uuid_last_ms;
        uuid_seq++;
        if (uuid_seq > 0x0fff) { /* counter overflow: borrow the next ms */
            ms = ++uuid_last_ms;
            uuid_seq = (uint16_t)(b[6] & 0x07);
        }
    } else {
        uuid_last_ms = ms;
        uuid_seq = (uint16_t)(((b[6] & 0x07) << 8) | b[7]); /* leave headroom */
    }
    uint16_t seq = uuid_seq;
    pthread_mutex_unlock(&uuid_mu);
    uint64_t ts = (uint64_t)ms;
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ts >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | ((seq >> 8) & 0x0f));
    b[7] = (unsigned char)(seq & 0xff);
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hx[b[i] >> 4];
        out[o++] = hx[b[i] & 15];
    }
    out[o] = '\0';
    return HG_OK;
}

static const char b64u[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64s[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t hg_b64url_enclen(size_t n)
{
    return (n / 3) * 4 + ((n % 3) ? (n % 3) + 1 : 0);
}

static hg_status enc(const char *alpha, int pad, const void *in, size_t n,
                     char *out, size_t cap)
{
    const unsigned char *p = in;
    size_t need = pad ? ((n + 2) / 3) * 4 : hg_b64url_enclen(n);
    if (cap < need + 1)
        return HG_ETOOBIG;
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        out[o++] = alpha[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return HG_OK;
}

hg_status hg_b64url_encode(const void *in, size_t n, char *out, size_t cap)
{
    return enc(b64u, 0, in, n, out, cap);
}

hg_status hg_b64std_encode(const void *in, size_t n, char *out, size_t cap)
{
    return enc(b64s, 1, in, n, out, cap);
}

static int val(const char *alpha, char c)
{
    const char *p = c ? memchr(alpha, c, 64) : NULL;
    return p ? (int)(p - alpha) : -1;
}

static hg_status dec(const char *alpha, int pad, const char *in, size_t n,
                     unsigned char *out, size_t cap, size_t *outlen)
{
    if (pad) {
        if (n % 4)
            return HG_EPARSE;
        if (n && in[n - 1] == '=')
            n--;
        if (n && in[n - 1] == '=')
            n--;
    }
    if (n % 4 == 1)
        return HG_EPARSE;
    size_t need = (n / 4) * 3 + ((n % 4) ? (n % 4) - 1 : 0);
    if (need > cap)
        return HG_ETOOBIG;
    size_t o = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        int a = val(alpha, in[i]), b = val(alpha, in[i + 1]);
        int c = val(alpha, in[i + 2]), d = val(alpha, in[i + 3]);
        if ((a | b | c | d) < 0)
            return HG_EPARSE;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[o++] = (unsigned char)(v >> 16);
        out[o++] = (unsigned char)(v >> 8);
        out[o++] = (unsigned char)v;
    }
    size_t rem = n - i;
    if (rem) {
        int a = val(alpha, in[i]), b = val(alpha, in[i + 1]);
        int c = rem == 3 ? val(alpha, in[i + 2]) : 0;
        if ((a | b | c) < 0)
            return HG_EPARSE;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
        out[o++] = (unsigned char)(v >> 16);
        if (rem == 3)
            out[o++] = (unsigned char)(v >> 8);
        /* canonical: the unused low bits must be zero */
        if ((rem == 2 && (v & 0xffff)) || (rem == 3 && (v & 0xff)))
            return HG_EPARSE;
    }
    *outlen = o;
    return HG_OK;
}

hg_status hg_b64url_decode(const char *in, size_t n, unsigned char *out,
                           size_t cap, size_t *outlen)
{
    return dec(b64u, 0, in, n, out, cap, outlen);
}

hg_status hg_b64std_decode(const char *in, size_t n, unsigned char *out,
                           size_t cap, size_t *outlen)
{
    return dec(b64s, 1, in, n, out, cap, outlen);
}

void hg_hex(const void *in, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    const unsigned char *p = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = '\0';
}

hg_status hg_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s)
        return HG_EPARSE;
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return HG_EPARSE;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0')
        return HG_EPARSE;
    if (errno == ERANGE || v < min || v > max)
        return HG_ETOOBIG;
    *out = v;
    return HG_OK;
}

hg_status hg_strlcpy(char *dst, const char *src, size_t cap)
{
    if (!cap)
        return HG_ETOOBIG;
    size_t n = strlen(src);
    if (n >= cap) {
        memcpy(dst, src, cap - 1);
        dst[cap - 1] = '\0';
        return HG_ETOOBIG;
    }
    memcpy(dst, src, n + 1);
    return HG_OK;
}

int hg_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}
