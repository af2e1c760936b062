/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_segment.h — the on-disk framing of the audit log's append-only files
 * (record segments and the checkpoint history). A file starts with a 24-byte
 * header; then frames follow back to back:
 *
 *   file header : magic[8] | first_seq u64 LE | crc32c(previous 16 bytes) u32 LE | 0 u32
 *   frame       : len u32 LE | crc u32 LE | seq u64 LE | payload[len]
 *                 crc = CRC-32C over (len LE | seq LE | payload)
 *
 * `seq` is the record's log index (segments) or the checkpoint's ordinal
 * (history), so a frame out of place is recognisable on its own. The CRC
 * catches torn and bit-rotted writes; it is NOT the tamper evidence (anyone
 * can recompute a CRC) — the Merkle tree and signed checkpoints are. The
 * decoder takes a length, never reads past it, and never allocates.
 */
#ifndef HG_AUDIT_SEGMENT_H
#define HG_AUDIT_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define HG_AUDIT_FILE_HDR 24
#define HG_AUDIT_FRAME_HDR 16
#define HG_AUDIT_SEG_MAGIC "HGAUDSG1"  /* record segment */
#define HG_AUDIT_CP_MAGIC "HGAUDCP1"   /* checkpoint history */

/* CRC-32C (Castagnoli), SSE4.2 instruction when the CPU has it. Pass 0 as
 * the initial crc; chain calls by passing the previous result. */
uint32_t hg_audit_crc32c(uint32_t crc, const void *p, size_t n);

void hg_audit_file_header_encode(uint8_t out[HG_AUDIT_FILE_HDR], const char magic[8],
                                 uint64_t first_seq);
/* HG_OK and *first_seq, or HG_ECORRUPT when n is short, the magic differs
 * or the header CRC fails. */
hg_status hg_audit_file_header_decode(const uint8_t *p, size_t n, const char magic[8],
                                      uint64_t *first_seq);

/* Writes the frame header for payload into out; the caller writes the
 * payload right after it. Returns the total frame size. */
size_t hg_audit_frame_header_encode(uint8_t out[HG_AUDIT_FRAME_HDR], uint64_t seq,
                                    const void *payload, uint32_t len);

enum hg_audit_frame_result {
    HG_AUDIT_FRAME_OK = 0,
    HG_AUDIT_FRAME_SHORT,   /* fewer bytes than the frame claims (torn tail) */
    HG_AUDIT_FRAME_BADLEN,  /* length 0 or beyond the limit */
    HG_AUDIT_FRAME_BADCRC,  /* CRC mismatch: torn or corrupted */
};

struct hg_audit_frame {
    uint64_t seq;
    const uint8_t *payload;
    uint32_t len;
    size_t size; /* header + payload */
};

/* Decode the frame at the start of p[0..n). max_payload bounds len. */
enum hg_audit_frame_result hg_audit_frame_decode(const uint8_t *p, size_t n,
                                                 uint32_t max_payload,
                                                 struct hg_audit_frame *out);
const char *hg_audit_frame_result_str(enum hg_audit_frame_result r);

/* Scan a whole file image: header, then frames whose seq must count up from
 * the header's first_seq. Stops at the first bad or out-of-sequence frame.
 * *good_len is the byte length of the valid prefix (header + whole frames),
 * *count the number of valid frames, *stop why it stopped (FRAME_OK at a
 * clean end, or with *seq_mismatch set when a frame was out of sequence).
 * HG_ECORRUPT when the header itself is bad. */
struct hg_audit_scan {
    uint64_t first_seq;
    uint64_t count;
    size_t good_len;
    enum hg_audit_frame_result stop;
    int seq_mismatch;
};
hg_status hg_audit_scan_image(const uint8_t *p, size_t n, const char magic[8],
                              uint32_t max_payload, struct hg_audit_scan *out);

#endif
