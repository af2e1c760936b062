/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_audit_segment.c — the segment/checkpoint-history reader on arbitrary
 * file images: the header decoder, the whole-image scanner and the single
 * frame decoder, plus the canonical-record checker on each frame's payload.
 * Invariants: no crash, no read past the image, and the scanner's valid
 * prefix never exceeds the image and re-scans to the same count.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_record.h"
#include "audit/audit_segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    /* Seeds are real segment images; also try the bytes as a history file
     * by swapping in the other magic. */
    for (int pass = 0; pass < 2; pass++) {
        const char *magic = pass ? HG_AUDIT_CP_MAGIC : HG_AUDIT_SEG_MAGIC;
        struct hg_audit_scan sc, again;
        if (hg_audit_scan_image(p, size, magic, HG_AUDIT_RECORD_MAX, &sc) == HG_OK) {
            if (sc.good_len > size || sc.good_len < HG_AUDIT_FILE_HDR)
                abort();
            if (hg_audit_scan_image(p, sc.good_len, magic, HG_AUDIT_RECORD_MAX, &again) != HG_OK ||
                again.count != sc.count || again.good_len != sc.good_len)
                abort();
        }
    }
    size_t off = size > HG_AUDIT_FILE_HDR ? HG_AUDIT_FILE_HDR : 0;
    while (off < size) {
        struct hg_audit_frame f;
        if (hg_audit_frame_decode(p + off, size - off, HG_AUDIT_RECORD_MAX, &f) != HG_AUDIT_FRAME_OK)
            break;
        if (f.size > size - off)
            abort();
        struct hg_err err;
        (void)hg_audit_record_check((const char *)f.payload, f.len, &err);
        off += f.size;
    }
    free(p);
    return 0;
}
