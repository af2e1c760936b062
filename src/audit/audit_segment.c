/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_segment.c — frame encoding/decoding and CRC-32C for the audit log's
 * files. The CRC runs over every stored byte on open and verify, so it uses
 * the SSE4.2 crc32 instruction when present (several GB/s) and a table
 * otherwise.
 */
#include "audit/audit_segment.h"

#include <string.h>

static uint32_t table[8][256];
static int table_ready;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

static uint32_t crc_soft(uint32_t crc, const uint8_t *p, size_t n)
{
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
        build_table(); /* idempotent: racing builders write identical values */
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
              table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^
              table[2][(w >> 40) & 0xff] ^ table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p,
                                                          size_t n)
{
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t hg_audit_crc32c(uint32_t crc, const void *p, size_t n)
{
    crc = ~crc;
#if defined(__x86_64__)
    static int hw = -1;
    int h = __atomic_load_n(&hw, __ATOMIC_RELAXED);
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        __atomic_store_n(&hw, h, __ATOMIC_RELAXED);
    }
    if (h)
        return ~crc_hw(crc, p, n);
#endif
    return ~crc_soft(crc, p, n);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

void hg_audit_file_header_encode(uint8_t out[HG_AUDIT_FILE_HDR], const char magic[8],
                                 uint64_t first_seq)
{
    memcpy(out, magic, 8);
    put64(out + 8, first_seq);
    put32(out + 16, hg_audit_crc32c(0, out, 16));
    put32(out + 20, 0);
}

hg_status hg_audit_file_header_decode(const uint8_t *p, size_t n, const char magic[8],
                                      uint64_t *first_seq)
{
    if (n < HG_AUDIT_FILE_HDR || memcmp(p, magic, 8) != 0 ||
        get32(p + 16) != hg_audit_crc32c(0, p, 16) || get32(p + 20) != 0)
        return HG_ECORRUPT;
    *first_seq = get64(p + 8);
    return HG_OK;
}

static uint32_t frame_crc(const uint8_t hdr[HG_AUDIT_FRAME_HDR], const void *payload,
                          uint32_t len)
{
    uint8_t pre[12];
    memcpy(pre, hdr, 4);
    memcpy(pre + 4, hdr + 8, 8);
    return hg_audit_crc32c(hg_audit_crc32c(0, pre, sizeof pre), payload, len);
}

size_t hg_audit_frame_header_encode(uint8_t out[HG_AUDIT_FRAME_HDR], uint64_t seq,
                                    const void *payload, uint32_t len)
{
    put32(out, len);
    put64(out + 8, seq);
    put32(out + 4, frame_crc(out, payload, len));
    return HG_AUDIT_FRAME_HDR + (size_t)len;
}

enum hg_audit_frame_result hg_audit_frame_decode(const uint8_t *p, size_t n,
                                                 uint32_t max_payload,
                                                 struct hg_audit_frame *out)
{
    if (n < HG_AUDIT_FRAME_HDR)
        return HG_AUDIT_FRAME_SHORT;
    uint32_t len = get32(p);
    if (len == 0 || len > max_payload)
        return HG_AUDIT_FRAME_BADLEN;
    if (n - HG_AUDIT_FRAME_HDR < len)
        return HG_AUDIT_FRAME_SHORT;
    if (get32(p + 4) != frame_crc(p, p + HG_AUDIT_FRAME_HDR, len))
        return HG_AUDIT_FRAME_BADCRC;
    out->seq = get64(p + 8);
    out->payload = p + HG_AUDIT_FRAME_HDR;
    out->len = len;
    out->size = HG_AUDIT_FRAME_HDR + (size_t)len;
    return HG_AUDIT_FRAME_OK;
}

const char *hg_audit_frame_result_str(enum hg_audit_frame_result r)
{
    switch (r) {
    case HG_AUDIT_FRAME_OK:
        return "ok";
    case HG_AUDIT_FRAME_SHORT:
        return "incomplete frame (file ends inside it)";
    case HG_AUDIT_FRAME_BADLEN:
        return "impossible frame length";
    case HG_AUDIT_FRAME_BADCRC:
        return "CRC mismatch";
    }
    return "unknown";
}

hg_status hg_audit_scan_image(const uint8_t *p, size_t n, const char magic[8],
                              uint32_t max_payload, struct hg_audit_scan *out)
{
    memset(out, 0, sizeof *out);
    if (hg_audit_file_header_decode(p, n, magic, &out->first_seq) != HG_OK)
        return HG_ECORRUPT;
    size_t off = HG_AUDIT_FILE_HDR;
    out->good_len = off;
    while (off < n) {
        struct hg_audit_frame f;
        enum hg_audit_frame_result r = hg_audit_frame_decode(p + off, n - off, max_payload, &f);
        if (r != HG_AUDIT_FRAME_OK) {
            out->stop = r;
            return HG_OK;
        }
        if (f.seq != out->first_seq + out->count) {
            out->seq_mismatch = 1;
            return HG_OK;
        }
        out->count++;
        off += f.size;
        out->good_len = off;
    }
    return HG_OK;
}
