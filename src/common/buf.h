/* SPDX-License-Identifier: Apache-2.0
 *
 * buf.h — a growable byte buffer with a hard maximum (curl's dynbuf). Hitting
 * the maximum is HG_ETOOBIG, never a silent truncation. The content is always
 * NUL-terminated (the NUL is not counted in len) so text can be used directly.
 */
#ifndef HG_COMMON_BUF_H
#define HG_COMMON_BUF_H

#include <stddef.h>
#include "common/status.h"

struct hg_buf {
    char *data;     /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max;     /* content may never exceed this many bytes */
};

/* Caller-owned storage: init with a maximum, cleanup frees. */
void hg_buf_init(struct hg_buf *b, size_t max);
void hg_buf_cleanup(struct hg_buf *b);
/* Cleanse the content with OPENSSL_cleanse, then free (for secrets). */
void hg_buf_cleanup_secret(struct hg_buf *b);
/* Empty the buffer, keeping its allocation. */
void hg_buf_reset(struct hg_buf *b);

/* Append; HG_ETOOBIG if len would exceed max, HG_ENOMEM on allocation failure.
 * On error the buffer is unchanged. */
hg_status hg_buf_append(struct hg_buf *b, const void *p, size_t n);
hg_status hg_buf_puts(struct hg_buf *b, const char *s);
hg_status hg_buf_printf(struct hg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Take ownership of the content (NUL-terminated, or NULL if empty); the
 * buffer is left empty. Free with free(). */
char *hg_buf_steal(struct hg_buf *b, size_t *len);

#endif
