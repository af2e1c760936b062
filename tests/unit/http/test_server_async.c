/* SPDX-License-Identifier: Apache-2.0
 *
 * test_server_async.c — deferred responses on a real (plain-HTTP, loopback)
 * server: a handler suspends, another thread resumes it; a timeout answers
 * when nobody does; a client that hangs up while its request is suspended
 * costs nothing but the dropped answer; pipelined requests behind a
 * suspended one are served after it, in order; a draining server waits for
 * suspended requests; a callback may suspend its request again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "http/server.h"

struct fx {
    struct hg_http_server *srv;
    int port;
    atomic_int resumed_late;   /* answers given after a resume */
    atomic_int timed_out;      /* answers given after a timeout */
    atomic_int answered_dead;  /* resume callbacks that ran for a dead client */
};

struct job {
    struct hg_http_req *r;
    int delay_ms;
};

static void *resumer(void *arg)
{
    struct job *j = arg;
    struct timespec ts = {j->delay_ms / 1000, (long)(j->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    hg_http_req_resume(j->r);
    free(j);
    return NULL;
}

static void on_resumed(struct hg_http_req *r, void *arg, int timed_out)
{
    struct fx *f = arg;
    char body[64];
    snprintf(body, sizeof body, "%s %s", timed_out ? "timeout" : "resumed", hg_http_req_path(r));
    atomic_fetch_add(timed_out ? &f->timed_out : &f->resumed_late, 1);
    hg_http_respond(r, timed_out ? 202 : 200, "text/plain", body, strlen(body));
}

/* /stages: resumed from another thread, the callback suspends again (with
 * a 100 ms timeout) and answers from its second run. */
static void on_stage(struct hg_http_req *r, void *arg, int timed_out)
{
    struct fx *f = arg;
    if (!timed_out) {
        assert_int_equal(hg_http_req_suspend(r, 100, on_stage, f), HG_OK);
        return;
    }
    atomic_fetch_add(&f->timed_out, 1);
    hg_http_respond(r, 200, "text/plain", "staged", 6);
}

/* /now → answer at once; /later/N → resume from another thread after N ms;
 * /never → suspend with a 200 ms timeout and never resume. */
static void dispatch(struct hg_http_req *r, void *arg)
{
    struct fx *f = arg;
    const char *path = hg_http_req_path(r);
    if (!strcmp(path, "/now")) {
        hg_http_respond(r, 200, "text/plain", "now", 3);
        return;
    }
    if (!strcmp(path, "/never")) {
        assert_int_equal(hg_http_req_suspend(r, 200, on_resumed, f), HG_OK);
        assert_int_equal(hg_http_req_suspend(r, 200, on_resumed, f), HG_ESTATE);
        return;
    }
    if (!strcmp(path, "/stages")) {
        struct job *j = malloc(sizeof *j);
        assert_non_null(j);
        j->r = r;
        j->delay_ms = 20;
        assert_int_equal(hg_http_req_suspend(r, 0, on_stage, f), HG_OK);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, resumer, j), 0);
        pthread_detach(t);
        return;
    }
    if (!strncmp(path, "/later/", 7)) {
        struct job *j = malloc(sizeof *j);
        assert_non_null(j);
        j->r = r;
        j->delay_ms = atoi(path + 7);
        assert_int_equal(hg_http_req_suspend(r, 0, on_resumed, f), HG_OK);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, resumer, j), 0);
        pthread_detach(t);
        return;
    }
    hg_http_respond(r, 404, NULL, NULL, 0);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct hg_http_server_opts o = {
        .name = "t", .host = "127.0.0.1", .port = 0, .threads = 1,
        .max_header_bytes = 8192, .max_body_bytes = 65536, .header_timeout_ms = 5000,
        .read_timeout_ms = 5000, .write_timeout_ms = 5000, .max_connections = 64,
        .dispatch = dispatch, .dispatch_arg = f,
    };
    struct hg_err err;
    hg_err_clear(&err);
    assert_int_equal(hg_http_server_new(&o, &f->srv, &err), HG_OK);
    assert_int_equal(hg_http_server_start(f->srv, &err), HG_OK);
    f->port = hg_http_server_port(f->srv);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    hg_http_server_stop(f->srv, 2000);
    hg_http_server_free(f->srv);
    free(f);
    return 0;
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const char *s)
{
    size_t n = strlen(s);
    assert_int_equal(write(fd, s, n), (ssize_t)n);
}

/* Read until `want` complete responses (counted by their bodies, which are
 * all short and end the read) have arrived or the peer closes. */
static size_t read_until(int fd, char *buf, size_t cap, const char *needle)
{
    size_t len = 0;
    buf[0] = 0;
    while (len + 1 < cap && !strstr(buf, needle)) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = 0;
    }
    return len;
}

static void resume_from_other_thread(void **state)
{
    struct fx *f = *state;
    int fd = dial(f->port);
    char buf[4096];
    uint64_t t0 = hg_mono_us();
    send_all(fd, "GET /later/100 HTTP/1.1\r\nHost: x\r\n\r\n");
    read_until(fd, buf, sizeof buf, "resumed /later/100");
    assert_non_null(strstr(buf, "HTTP/1.1 200 "));
    assert_non_null(strstr(buf, "resumed /later/100"));
    assert_true(hg_mono_us() - t0 >= 90000);
    /* the connection is kept alive and serves the next request */
    send_all(fd, "GET /now HTTP/1.1\r\nHost: x\r\n\r\n");
    read_until(fd, buf, sizeof buf, "now");
    assert_non_null(strstr(buf, "HTTP/1.1 200 "));
    close(fd);
    assert_int_equal(atomic_load(&f->resumed_late), 1);
}

static void timeout_answers(void **state)
{
    struct fx *f = *state;
    int fd = dial(f->port);
    char buf[4096];
    send_all(fd, "GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
    read_until(fd, buf, sizeof buf, "timeout /never");
    assert_non_null(strstr(buf, "HTTP/1.1 202 "));
    close(fd);
    assert_int_equal(atomic_load(&f->timed_out), 1);
}

static void suspend_again_from_callback(void **state)
{
    struct fx *f = *state;
    int fd = dial(f->port);
    char buf[4096];
    uint64_t t0 = hg_mono_us();
    send_all(fd, "GET /stages HTTP/1.1\r\nHost: x\r\n\r\n");
    read_until(fd, buf, sizeof buf, "staged");
    assert_non_null(strstr(buf, "HTTP/1.1 200 "));
    assert_non_null(strstr(buf, "staged"));
    assert_true(hg_mono_us() - t0 >= 110000); /* 20 ms + the 100 ms second stage */
    send_all(fd, "GET /now HTTP/1.1\r\nHost: x\r\n\r\n");
    read_until(fd, buf, sizeof buf, "now");
    assert_non_null(strstr(buf, "HTTP/1.1 200 "));
    close(fd);
    assert_int_equal(atomic_load(&f->timed_out), 1);
}

static void pipelined_behind_suspended(void **state)
{
    struct fx *f = *state;
    int fd = dial(f->port);
    char buf[8192];
    send_all(fd, "GET /later/50 HTTP/1.1\r\nHost: x\r\n\r\n"
                 "GET /now HTTP/1.1\r\nHost: x\r\n\r\n"
                 "GET /later/10 HTTP/1.1\r\nHost: x\r\n\r\n");
    read_until(fd, buf, sizeof buf, "resumed /later/10");
    char *a = strstr(buf, "resumed /later/50");
    char *b = strstr(buf, "\r\n\r\nnow");
    char *c = strstr(buf, "resumed /later/10");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c); /* answered in order */
    close(fd);
}

static void client_gone_while_suspended(void **state)
{
    struct fx *f = *state;
    int fd = dial(f->port);
    send_all(fd, "GET /later/150 HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(30000);
    close(fd); /* before the answer */
    for (int i = 0; i < 100 && atomic_load(&f->resumed_late) == 0; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&f->resumed_late), 1);
    /* the server is fine and the dead connection is no longer counted */
    int fd2 = dial(f->port);
    char buf[4096];
    send_all(fd2, "GET /now HTTP/1.1\r\nHost: x\r\n\r\n");
    read_until(fd2, buf, sizeof buf, "now");
    assert_non_null(strstr(buf, "HTTP/1.1 200 "));
    close(fd2);
    for (int i = 0; i < 100 && hg_http_server_connections(f->srv) != 0; i++)
        usleep(10000);
    assert_int_equal(hg_http_server_connections(f->srv), 0);
}

struct stopper {
    struct fx *f;
    int cut;
};

static void *stop_thread(void *arg)
{
    struct stopper *s = arg;
    s->cut = hg_http_server_stop(s->f->srv, 3000);
    return NULL;
}

static void drain_waits_for_suspended(void **state)
{
    struct fx *f = *state;
    int fd = dial(f->port);
    char buf[4096];
    send_all(fd, "GET /later/300 HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(50000);
    struct stopper s = {f, -1};
    pthread_t t;
    pthread_create(&t, NULL, stop_thread, &s);
    read_until(fd, buf, sizeof buf, "resumed /later/300");
    pthread_join(t, NULL);
    assert_non_null(strstr(buf, "resumed /later/300"));
    assert_non_null(strstr(buf, "Connection: close"));
    assert_int_equal(s.cut, 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(resume_from_other_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(timeout_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(suspend_again_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(pipelined_behind_suspended, setup, teardown),
        cmocka_unit_test_setup_teardown(client_gone_while_suspended, setup, teardown),
        cmocka_unit_test_setup_teardown(drain_waits_for_suspended, setup, teardown),
    };
    return cmocka_run_group_tests_name("http/server_async", tests, NULL, NULL);
}
