/* SPDX-License-Identifier: Apache-2.0
 * test_log.c — obs/log: level parsing and filtering, JSON correctness for
 * nasty strings (control characters, quotes, invalid UTF-8 → U+FFFD),
 * typed fields, "ts"/"level"/"msg" first, truncation of long lines, 4
 * threads × 1000 lines with no torn or lost line, and reopen for rotation.
 * Every line is parsed back with jansson (strict UTF-8, unique keys). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "obs/log.h"

struct fixture {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/hg_test_log.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/haulgate.log", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    hg_log_close();
    char p[160];
    static const char *const names[] = {"haulgate.log", "haulgate.log.1"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s", f->dir, names[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Read the file and parse each line; returns the array of objects. */
static json_t *read_lines(const char *path, size_t *count)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    json_t *arr = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, fp)) > 0) {
        assert_true(n <= HG_LOG_LINE_MAX);
        assert_int_equal(line[n - 1], '\n');
        assert_null(memchr(line, '\n', (size_t)n - 1)); /* one object per line */
        json_error_t err;
        json_t *o = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &err);
        if (!o)
            fail_msg("line is not JSON (%s): %.*s", err.text, (int)n, line);
        assert_true(json_is_object(o));
        /* ts, level, msg are the first three members, in that order */
        assert_int_equal(strncmp(line, "{\"ts\":\"", 7), 0);
        assert_int_equal(strncmp(line + 7 + 24, "\",\"level\":\"", 11), 0);
        assert_non_null(strstr(line, "\",\"msg\":\""));
        assert_true(strstr(line, "\",\"msg\":\"") < line + 60);
        const char *ts = json_string_value(json_object_get(o, "ts"));
        assert_non_null(ts);
        assert_int_equal(strlen(ts), 24);
        assert_int_equal(ts[23], 'Z');
        json_array_append_new(arr, o);
    }
    free(line);
    fclose(fp);
    *count = json_array_size(arr);
    return arr;
}

static void level_parse_and_filter(void **state)
{
    struct fixture *f = *state;
    enum hg_log_level lv;
    assert_int_equal(hg_log_level_parse("debug", &lv), HG_OK);
    assert_int_equal(lv, HG_LOG_DEBUG);
    assert_int_equal(hg_log_level_parse("warn", &lv), HG_OK);
    assert_int_equal(lv, HG_LOG_WARN);
    assert_int_equal(hg_log_level_parse("error", &lv), HG_OK);
    assert_int_equal(hg_log_level_parse("info", &lv), HG_OK);
    assert_int_equal(lv, HG_LOG_INFO);
    assert_int_equal(hg_log_level_parse("WARN", &lv), HG_EINVAL);
    assert_int_equal(hg_log_level_parse("warning", &lv), HG_EINVAL);
    assert_int_equal(hg_log_level_parse("", &lv), HG_EINVAL);
    assert_int_equal(hg_log_level_parse(NULL, &lv), HG_EINVAL);
    assert_int_equal(hg_log_open(f->path, (enum hg_log_level)9), HG_EINVAL);

    assert_int_equal(hg_log_open(f->path, HG_LOG_WARN), HG_OK);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_false(hg_log_enabled(HG_LOG_INFO));
    assert_true(hg_log_enabled(HG_LOG_WARN));
    hg_log(HG_LOG_DEBUG, "no", HG_LF_END);
    hg_log(HG_LOG_INFO, "no", HG_LF_END);
    hg_log(HG_LOG_WARN, "w", HG_LF_END);
    hg_log(HG_LOG_ERROR, "e", HG_LF_END);
    hg_log_set_level(HG_LOG_DEBUG);
    hg_log(HG_LOG_DEBUG, "d", HG_LF_END);
    hg_log_set_level((enum hg_log_level)-1); /* ignored */
    assert_true(hg_log_enabled(HG_LOG_DEBUG));
    assert_false(hg_log_enabled((enum hg_log_level)7));
    size_t n;
    json_t *a = read_lines(f->path, &n);
    assert_int_equal(n, 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "msg")), "w");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "level")), "error");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 2), "level")), "debug");
    json_decref(a);
}

static void fields_and_escaping(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(hg_log_open(f->path, HG_LOG_DEBUG), HG_OK);
    const char *nasty = "q\"b\\s/\x01\x1f\b\f\n\r\t\x7f end";
    const char *bad_utf8 = "a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xf4\x90\x80\x80" "e\xe2\x82";
    const char *good_utf8 = "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80";
    hg_log(HG_LOG_INFO, nasty,
           HG_LF_STR("s", nasty),
           HG_LF_STR("bad", bad_utf8),
           HG_LF_STR("good", good_utf8),
           HG_LF_STR("k\"ey\n", "v"),
           HG_LF_STR("nul", NULL),
           HG_LF_INT("min", INT64_MIN),
           HG_LF_INT("max", INT64_MAX),
           HG_LF_DBL("d", 0.1),
           HG_LF_DBL("nan", NAN),
           HG_LF_DBL("inf", -INFINITY),
           HG_LF_BOOL("t", 7),
           HG_LF_BOOL("f", 0),
           HG_LF_STR(NULL, "skipped"),
           HG_LF_STR("msg", "renamed"),
           HG_LF_INT("ts", 1),
           HG_LF_END);
    hg_log(HG_LOG_ERROR, NULL, HG_LF_END);
    size_t n;
    json_t *a = read_lines(f->path, &n);
    assert_int_equal(n, 2);
    json_t *o = json_array_get(a, 0);
    assert_string_equal(json_string_value(json_object_get(o, "msg")), nasty);
    assert_string_equal(json_string_value(json_object_get(o, "s")), nasty);
    assert_string_equal(json_string_value(json_object_get(o, "bad")),
                        "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
                        "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                        "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                        "e\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(json_string_value(json_object_get(o, "good")), good_utf8);
    assert_string_equal(json_string_value(json_object_get(o, "k\"ey\n")), "v");
    assert_true(json_is_null(json_object_get(o, "nul")));
    assert_true(json_integer_value(json_object_get(o, "min")) == INT64_MIN);
    assert_true(json_integer_value(json_object_get(o, "max")) == INT64_MAX);
    assert_true(json_real_value(json_object_get(o, "d")) == 0.1);
    assert_true(json_is_null(json_object_get(o, "nan")));
    assert_true(json_is_null(json_object_get(o, "inf")));
    assert_true(json_is_true(json_object_get(o, "t")));
    assert_true(json_is_false(json_object_get(o, "f")));
    assert_string_equal(json_string_value(json_object_get(o, "field_msg")), "renamed");
    assert_int_equal(json_integer_value(json_object_get(o, "field_ts")), 1);
    assert_null(json_object_get(o, "truncated"));
    assert_int_equal(json_object_size(o), 3 + 14);
    json_t *o2 = json_array_get(a, 1);
    assert_string_equal(json_string_value(json_object_get(o2, "msg")), "");
    assert_string_equal(json_string_value(json_object_get(o2, "level")), "error");
    assert_int_equal(json_object_size(o2), 3);
    json_decref(a);
}

static void truncation(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(hg_log_open(f->path, HG_LOG_INFO), HG_OK);
    static char big[10000];
    memset(big, 'x', sizeof big - 1);
    static char ctl[3000]; /* each byte escapes to 6: must be cut mid-way */
    memset(ctl, 0x01, sizeof ctl - 1);
    static char utf[6000]; /* 3-byte characters: cut only at a boundary */
    for (size_t i = 0; i + 3 < sizeof utf; i += 3)
        memcpy(utf + i, "\xe2\x9c\x93", 3);
    hg_log(HG_LOG_INFO, big, HG_LF_INT("after", 1), HG_LF_END);
    hg_log(HG_LOG_INFO, "m", HG_LF_INT("before", 1), HG_LF_STR("s", ctl), HG_LF_INT("after", 2), HG_LF_END);
    hg_log(HG_LOG_INFO, "m", HG_LF_STR("u", utf), HG_LF_END);
    hg_log(HG_LOG_INFO, "m", HG_LF_STR("a", big + 6500), HG_LF_STR("b", big + 9000), HG_LF_END);
    size_t n;
    json_t *a = read_lines(f->path, &n); /* also checks every line fits HG_LOG_LINE_MAX */
    assert_int_equal(n, 4);
    json_t *o = json_array_get(a, 0);
    assert_true(json_is_true(json_object_get(o, "truncated")));
    assert_null(json_object_get(o, "after"));
    assert_true(json_string_length(json_object_get(o, "msg")) > 3000);
    o = json_array_get(a, 1);
    assert_true(json_is_true(json_object_get(o, "truncated")));
    assert_int_equal(json_integer_value(json_object_get(o, "before")), 1);
    assert_true(json_string_length(json_object_get(o, "s")) > 500);
    assert_null(json_object_get(o, "after"));
    o = json_array_get(a, 2);
    assert_true(json_is_true(json_object_get(o, "truncated")));
    assert_int_equal(json_string_length(json_object_get(o, "u")) % 3, 0);
    o = json_array_get(a, 3);
    /* the first value fits whole, the second is cut */
    assert_int_equal(json_string_length(json_object_get(o, "a")), 3499);
    assert_true(json_is_true(json_object_get(o, "truncated")));
    json_decref(a);
}

/* ---- threads ---------------------------------------------------------------- */

#define THREADS 4
#define LINES 1000

static void *writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    char pad[300];
    memset(pad, 'a' + id, sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < LINES; i++)
        hg_log(HG_LOG_INFO, "tick \"quoted\"\n", HG_LF_INT("thread", id), HG_LF_INT("seq", i),
               HG_LF_STR("pad", pad), HG_LF_DBL("half", i + 0.5), HG_LF_BOOL("even", i % 2 == 0),
               HG_LF_END);
    return NULL;
}

static void four_threads(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(hg_log_open(f->path, HG_LOG_INFO), HG_OK);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    size_t n;
    json_t *a = read_lines(f->path, &n);
    assert_int_equal(n, THREADS * LINES);
    int next[THREADS] = {0};
    size_t idx;
    json_t *o;
    json_array_foreach(a, idx, o) {
        int id = (int)json_integer_value(json_object_get(o, "thread"));
        assert_true(id >= 0 && id < THREADS);
        int seq = (int)json_integer_value(json_object_get(o, "seq"));
        assert_int_equal(seq, next[id]); /* per-thread order kept, none lost */
        next[id]++;
        assert_string_equal(json_string_value(json_object_get(o, "msg")), "tick \"quoted\"\n");
        assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
        const char *pad = json_string_value(json_object_get(o, "pad"));
        assert_int_equal(strlen(pad), 299);
        assert_int_equal(pad[0], 'a' + id);
        assert_int_equal(pad[298], 'a' + id);
        assert_true(json_real_value(json_object_get(o, "half")) == seq + 0.5);
        assert_true(json_is_boolean(json_object_get(o, "even")));
        assert_int_equal(json_is_true(json_object_get(o, "even")), seq % 2 == 0);
        assert_int_equal(json_object_size(o), 8);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(next[i], LINES);
    json_decref(a);
}

static void reopen_after_rotation(void **state)
{
    struct fixture *f = *state;
    char rotated[160];
    snprintf(rotated, sizeof rotated, "%s.1", f->path);
    assert_int_equal(hg_log_open(f->path, HG_LOG_INFO), HG_OK);
    hg_log(HG_LOG_INFO, "before", HG_LF_END);
    assert_int_equal(rename(f->path, rotated), 0);
    hg_log(HG_LOG_INFO, "still old", HG_LF_END); /* the old inode until SIGHUP */
    assert_int_equal(hg_log_open(f->path, HG_LOG_INFO), HG_OK); /* the SIGHUP path */
    hg_log(HG_LOG_INFO, "after", HG_LF_END);

    /* a failed reopen keeps the current sink */
    char missing[200];
    snprintf(missing, sizeof missing, "%s/no/such/dir.log", f->dir);
    assert_int_equal(hg_log_open(missing, HG_LOG_INFO), HG_ENOTFOUND);
    hg_log(HG_LOG_INFO, "kept", HG_LF_END);

    size_t n;
    json_t *a = read_lines(rotated, &n);
    assert_int_equal(n, 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "msg")), "before");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "msg")), "still old");
    json_decref(a);
    a = read_lines(f->path, &n);
    assert_int_equal(n, 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "msg")), "after");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "msg")), "kept");
    json_decref(a);

    /* after close, lines go to stderr, not the file */
    hg_log_close();
    char cap[160];
    snprintf(cap, sizeof cap, "%s.1", f->path); /* reuse the rotated name as a capture file */
    int saved = dup(STDERR_FILENO);
    int fd = open(cap, O_WRONLY | O_TRUNC);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    hg_log(HG_LOG_WARN, "to stderr", HG_LF_END);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    a = read_lines(f->path, &n);
    assert_int_equal(n, 2);
    json_decref(a);
    a = read_lines(cap, &n);
    assert_int_equal(n, 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "msg")), "to stderr");
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(level_parse_and_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(fields_and_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(four_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_after_rotation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
