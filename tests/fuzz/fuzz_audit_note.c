/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_audit_note.c — the C2SP signed-note parser, the checkpoint-text
 * parser, the verifier-key parser and note verification, on arbitrary bytes.
 * Invariants: no crash, no read past the input, and a parsed note's text
 * length never exceeds the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Copy into an exact-size heap buffer so ASan catches any over-read. */
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    struct hg_err err;
    struct hg_audit_note *note = malloc(sizeof *note);
    if (note && hg_audit_note_parse(p, size, note, &err) == HG_OK) {
        if (note->text_len > size || note->nsigs == 0 || note->nsigs > HG_AUDIT_NOTE_MAX_SIGS)
            abort();
        struct hg_audit_checkpoint cp;
        (void)hg_audit_checkpoint_parse(p, note->text_len, &cp, &err);
    }
    free(note);
    struct hg_audit_checkpoint cp;
    (void)hg_audit_checkpoint_parse(p, size, &cp, &err);
    struct hg_audit_verifier v;
    if (hg_audit_verifier_parse(p, size, &v, &err) == HG_OK) {
        size_t tl = 0;
        (void)hg_audit_note_verify(p, size, &v, &tl, &err);
    }
    hg_audit_verifier_cleanup(&v);
    /* And against a fixed key, so signature lines with its name and id are
     * checked through the verify path too. */
    static const char vk[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    if (hg_audit_verifier_parse(vk, sizeof vk - 1, &v, &err) == HG_OK) {
        (void)hg_audit_checkpoint_open(p, size, &v, &cp, &err);
        hg_audit_verifier_cleanup(&v);
    }
    free(p);
    return 0;
}
