/* SPDX-License-Identifier: Apache-2.0
 *
 * replay_main.c — runs a libFuzzer target over saved inputs without
 * libFuzzer, so `make test` (and its sanitizer pass) replays every seed and
 * every crasher committed under tests/fuzz/corpus/<target>/. Prints TAP:
 * one line per file. Arguments are files or directories.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("not ok %d - %s: cannot open\n", ++count, path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            if (cap >= (64u << 20))
                break;
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        printf("not ok %d - %s: out of memory\n", ++count, path);
        return 1;
    }
    /* an exact-size copy so ASan sees reads past the input's end */
    uint8_t *exact = malloc(n ? n : 1);
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    printf("ok %d - %s\n", ++count, path);
    return 0;
}

static int run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("not ok %d - %s: missing\n", ++count, path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path);
    struct dirent **list = NULL;
    int n = scandir(path, &list, NULL, alphasort);
    int fails = 0;
    for (int i = 0; i < n; i++) {
        if (list[i]->d_name[0] != '.') {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", path, list[i]->d_name);
            fails += run_path(p);
        }
        free(list[i]);
    }
    free(list);
    return fails;
}

int main(int argc, char **argv)
{
    int fails = 0;
    for (int i = 1; i < argc; i++)
        fails += run_path(argv[i]);
    printf("1..%d\n", count);
    return fails ? 1 : 0;
}
