/* SPDX-License-Identifier: Apache-2.0
 * buf.c — bounded growable buffer. */
#include "common/buf.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hg_buf_init(struct hg_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void hg_buf_cleanup(struct hg_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void hg_buf_cleanup_secret(struct hg_buf *b)
{
    if (b->data)
        OPENSSL_cleanse(b->data, b->cap);
    hg_buf_cleanup(b);
}

void hg_buf_reset(struct hg_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static hg_status reserve(struct hg_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return HG_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return HG_OK;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > (SIZE_MAX / 2) ? need : ncap * 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    char *p = realloc(b->data, ncap);
    if (!p)
        return HG_ENOMEM;
    b->data = p;
    b->cap = ncap;
    return HG_OK;
}

hg_status hg_buf_append(struct hg_buf *b, const void *p, size_t n)
{
    hg_status rc = reserve(b, n);
    if (rc != HG_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return HG_OK;
}

hg_status hg_buf_puts(struct hg_buf *b, const char *s)
{
    return hg_buf_append(b, s, strlen(s));
}

hg_status hg_buf_printf(struct hg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return HG_EINVAL;
    hg_status rc = reserve(b, (size_t)n);
    if (rc != HG_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return HG_OK;
}

char *hg_buf_steal(struct hg_buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
