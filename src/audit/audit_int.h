/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_int.h — helpers shared by the audit module's files (the log and the
 * offline verifier): listing segment files, mapping files read-only, path
 * building. Not part of the module's contract.
 */
#ifndef HG_AUDIT_INT_H
#define HG_AUDIT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define AUDIT_PATH_MAX 4096

/* Sorted list of segment first indexes found in DIR/segments ("%020llu.seg").
 * Other files (e.g. *.torn-*) are ignored. *firsts malloc'd; free it. */
hg_status audit__list_segments(const char *dir, uint64_t **firsts, size_t *count,
                               struct hg_err *err);
hg_status audit__path(char *out, size_t cap, const char *dir, const char *name);
hg_status audit__seg_path(char *out, size_t cap, const char *dir, uint64_t first);

/* A read-only mapping of a whole file (len 0 → data NULL). */
struct audit_map {
    const uint8_t *data;
    size_t len;
};
/* HG_ENOTFOUND when the file does not exist. */
hg_status audit__map(const char *path, struct audit_map *m, struct hg_err *err);
void audit__unmap(struct audit_map *m);

/* Read a small text file (at most max bytes) into buf (NUL-terminated). */
hg_status audit__read_small(const char *path, char *buf, size_t max, size_t *len,
                            struct hg_err *err);

#endif
