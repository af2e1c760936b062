/* SPDX-License-Identifier: Apache-2.0
 * err.c — error context with a bounded message. */
#include "common/err.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void hg_err_clear(struct hg_err *err)
{
    if (!err)
        return;
    err->status = HG_OK;
    err->msg[0] = '\0';
}

__attribute__((format(printf, 3, 0)))
static void vset(struct hg_err *err, hg_status st, const char *fmt, va_list ap)
{
    err->status = st;
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    if (n >= (int)sizeof err->msg)
        memcpy(err->msg + sizeof err->msg - 4, "...", 4);
}

hg_status hg_err_set(struct hg_err *err, hg_status st, const char *fmt, ...)
{
    if (!err)
        return st;
    va_list ap;
    va_start(ap, fmt);
    vset(err, st, fmt, ap);
    va_end(ap);
    return st;
}

hg_status hg_err_set_ssl(struct hg_err *err, hg_status st, const char *fmt, ...)
{
    unsigned long e = ERR_get_error();
    char reason[256] = "no detail from OpenSSL";
    if (e)
        ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    if (!err)
        return st;
    va_list ap;
    va_start(ap, fmt);
    vset(err, st, fmt, ap);
    va_end(ap);
    size_t len = strlen(err->msg);
    if (len < sizeof err->msg - 1)
        snprintf(err->msg + len, sizeof err->msg - len, ": %s", reason);
    return st;
}

const char *hg_err_msg(const struct hg_err *err)
{
    if (!err)
        return "";
    if (err->msg[0])
        return err->msg;
    return hg_status_str(err->status);
}
