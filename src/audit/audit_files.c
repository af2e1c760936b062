/* SPDX-License-Identifier: Apache-2.0
 *
 * audit_files.c — file helpers shared by the audit log and its verifier:
 * segment listing, read-only mappings, bounded small-file reads.
 */
#include "audit/audit_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit_log.h"

hg_status audit__path(char *out, size_t cap, const char *dir, const char *name)
{
    int w = snprintf(out, cap, "%s/%s", dir, name);
    return w < 0 || (size_t)w >= cap ? HG_ETOOBIG : HG_OK;
}

hg_status audit__seg_path(char *out, size_t cap, const char *dir, uint64_t first)
{
    int w = snprintf(out, cap, "%s/" HG_AUDIT_SEG_DIR "/%020llu.seg", dir,
                     (unsigned long long)first);
    return w < 0 || (size_t)w >= cap ? HG_ETOOBIG : HG_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

hg_status audit__list_segments(const char *dir, uint64_t **firsts, size_t *count,
                               struct hg_err *err)
{
    char path[AUDIT_PATH_MAX];
    *firsts = NULL;
    *count = 0;
    if (audit__path(path, sizeof path, dir, HG_AUDIT_SEG_DIR) != HG_OK)
        return hg_err_set(err, HG_ETOOBIG, "path too long: %s", dir);
    DIR *d = opendir(path);
    if (!d)
        return hg_err_set(err, errno == ENOENT ? HG_ENOTFOUND : HG_EIO,
                          "cannot open %s: %s", path, strerror(errno));
    size_t cap = 0;
    hg_status st = HG_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strlen(n) != 24 || strcmp(n + 20, ".seg") != 0)
            continue;
        uint64_t v = 0;
        int ok = 1;
        for (int i = 0; i < 20; i++) {
            if (n[i] < '0' || n[i] > '9') {
                ok = 0;
                break;
            }
            v = v * 10 + (uint64_t)(n[i] - '0');
        }
        if (!ok)
            continue;
        if (*count == cap) {
            size_t nc = cap ? cap * 2 : 16;
            uint64_t *p = realloc(*firsts, nc * sizeof *p);
            if (!p) {
                st = hg_err_set(err, HG_ENOMEM, "out of memory listing %s", path);
                break;
            }
            *firsts = p;
            cap = nc;
        }
        (*firsts)[(*count)++] = v;
    }
    closedir(d);
    if (st != HG_OK) {
        free(*firsts);
        *firsts = NULL;
        *count = 0;
        return st;
    }
    if (*count)
        qsort(*firsts, *count, sizeof **firsts, cmp_u64);
    return HG_OK;
}

hg_status audit__map(const char *path, struct audit_map *m, struct hg_err *err)
{
    m->data = NULL;
    m->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hg_err_set(err, errno == ENOENT ? HG_ENOTFOUND : HG_EIO, "cannot open %s: %s",
                          path, strerror(errno));
    struct stat sb;
    hg_status st = HG_OK;
    if (fstat(fd, &sb) != 0) {
        st = hg_err_set(err, HG_EIO, "cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    if (sb.st_size > 0) {
        /* Populate up front: one pass in the kernel beats a page fault per 4 KiB
         * when every byte is about to be read (open and verify both scan). */
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p == MAP_FAILED) {
            st = hg_err_set(err, HG_EIO, "cannot map %s: %s", path, strerror(errno));
            goto out;
        }
        (void)madvise(p, (size_t)sb.st_size, MADV_SEQUENTIAL);
        m->data = p;
        m->len = (size_t)sb.st_size;
    }
out:
    close(fd);
    return st;
}

void audit__unmap(struct audit_map *m)
{
    if (m->data)
        munmap((void *)m->data, m->len);
    m->data = NULL;
    m->len = 0;
}

hg_status audit__read_small(const char *path, char *buf, size_t max, size_t *len,
                            struct hg_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hg_err_set(err, errno == ENOENT ? HG_ENOTFOUND : HG_EIO, "cannot open %s: %s",
                          path, strerror(errno));
    size_t n = 0, cap = max - 1; /* room for the NUL */
    hg_status st = HG_OK;
    for (;;) {
        char extra;
        ssize_t r = n < cap ? read(fd, buf + n, cap - n) : read(fd, &extra, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = hg_err_set(err, HG_EIO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        if (n >= cap) {
            st = hg_err_set(err, HG_ETOOBIG, "%s is larger than %zu bytes", path, cap);
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    if (st == HG_OK) {
        buf[n] = '\0';
        *len = n;
    }
    return st;
}
