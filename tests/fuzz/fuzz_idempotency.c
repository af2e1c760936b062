/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_idempotency.c — libFuzzer target for tender/idempotency.h. The input
 * is read two ways. As Idempotency-Key field values: the pieces between
 * '\n's, each its own NUL-terminated heap string (at most 4 fields).
 * Invariants: a key is 1..255 printable ASCII characters and parses again
 * to itself once re-quoted as an sf-string (and as a bare token when it is
 * one); a failure always has a sentence; more than one field never parses.
 * As a cursor: the whole input with its length, in an exact-size buffer.
 * Invariants: a decoded id is 36 lower-case UUID characters and re-encodes
 * to a cursor that decodes to the same id; a cursor for other filters is
 * refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tender/idempotency.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HASH UINT64_C(0x0123456789abcdef)
#define MAX_FIELDS 4

static void check(int cond)
{
    if (!cond)
        abort();
}

static int is_token(const char *k)
{
    for (; *k; k++)
        if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
              *k == '.' || *k == '_' || *k == ':' || *k == '-'))
            return 0;
    return 1;
}

static void check_key(const char *key)
{
    size_t n = strlen(key);
    check(n >= 1 && n <= HG_IDEM_KEY_MAX);
    for (size_t i = 0; i < n; i++)
        check(key[i] >= 0x20 && key[i] <= 0x7E);
    /* re-quote and parse again */
    char q[2 * HG_IDEM_KEY_MAX + 3], again[HG_IDEM_KEY_MAX + 1];
    size_t m = 0;
    q[m++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (key[i] == '"' || key[i] == '\\')
            q[m++] = '\\';
        q[m++] = key[i];
    }
    q[m++] = '"';
    q[m] = '\0';
    const char *v[1] = {q};
    const char *why;
    check(hg_idem_key_parse(v, 1, again, &why) == HG_OK && strcmp(again, key) == 0);
    if (is_token(key)) {
        v[0] = key;
        check(hg_idem_key_parse(v, 1, again, &why) == HG_OK && strcmp(again, key) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* header fields */
    char *fields[MAX_FIELDS];
    size_t nf = 0, off = 0;
    while (nf < MAX_FIELDS && off <= size) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
        fields[nf] = malloc(len + 1);
        if (!fields[nf])
            abort();
        if (len)
            memcpy(fields[nf], data + off, len);
        fields[nf][len] = '\0';
        nf++;
        off += len + 1;
        if (!nl)
            break;
    }
    char key[HG_IDEM_KEY_MAX + 1];
    const char *why = NULL;
    hg_status rc = hg_idem_key_parse((const char *const *)fields, nf, key, &why);
    if (nf > 1) {
        check(rc == HG_EINVAL && why != NULL);
    } else if (rc == HG_OK) {
        check(why == NULL);
        check_key(key);
    } else {
        check(rc == HG_EINVAL && why != NULL && key[0] == '\0');
    }
    /* every field alone */
    for (size_t i = 0; i < nf; i++) {
        const char *one[1] = {fields[i]};
        if (hg_idem_key_parse(one, 1, key, &why) == HG_OK)
            check_key(key);
        else
            check(why != NULL);
    }
    for (size_t i = 0; i < nf; i++)
        free(fields[i]);

    /* cursor */
    char *c = malloc(size ? size : 1);
    if (!c)
        abort();
    if (size)
        memcpy(c, data, size);
    char id[37], id2[37], enc[HG_CURSOR_MAX + 1];
    rc = hg_cursor_decode(c, size, HASH, id, &why);
    if (rc == HG_OK) {
        check(strlen(id) == 36);
        for (size_t i = 0; i < 36; i++)
            check((i == 8 || i == 13 || i == 18 || i == 23) ? id[i] == '-'
                                                             : ((id[i] >= '0' && id[i] <= '9') ||
                                                                (id[i] >= 'a' && id[i] <= 'f')));
        check(hg_cursor_encode(id, HASH, enc) == HG_OK);
        check(hg_cursor_decode(enc, strlen(enc), HASH, id2, NULL) == HG_OK);
        check(strcmp(id, id2) == 0);
        check(hg_cursor_decode(c, size, HASH ^ 1, id2, &why) == HG_EINVAL && why != NULL);
    } else {
        check(rc == HG_EINVAL && why != NULL && id[0] == '\0');
    }
    /* the fingerprint is a pure function */
    uint8_t a[32], b[32];
    hg_idem_fingerprint("POST", "/v1/tenders", c, size, a);
    hg_idem_fingerprint("POST", "/v1/tenders", c, size, b);
    check(memcmp(a, b, 32) == 0);
    free(c);
    return 0;
}
