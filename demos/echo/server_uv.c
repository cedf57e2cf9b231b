/* SPDX-License-Identifier: MIT */
/*
 * The echo server on pagedstack and libuv: every connection is a task, and
 * a task that would block yields to the loop until the callback resumes it
 * (uv_yield.h).  One libuv loop per thread, --loops threads (default: one
 * per CPU, as the thread-per-connection server uses every CPU too), each
 * with its own listening socket on the same port (SO_REUSEPORT: the kernel
 * spreads the connections) and its own tasks, regions and page pool.
 *
 *   echo_uv [--port N] [--port-file FILE] [--stack-size BYTES] [--loops N]
 *
 * Listens on 127.0.0.1 (port 0: any free port, written to --port-file).
 * --stack-size is pgs_config.stack_size, the most any task may use (8 MiB
 * by default).  Runs until SIGINT or SIGTERM.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "setup.h"
#include "serve.h"
#include "uv_yield.h"

/* A connection: its handle, its wait, its buffers; one heap block. */
struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct uvy wait;
    int closing; /* handles still closing, when turned away */
    struct serve_buf buf;
};

/* A loop thread: its loop and its listening socket. */
struct loop_thread {
    pthread_t tid;
    int fd;
    uv_loop_t loop;
    uv_tcp_t server;
};

static struct pgs_config cfg;
static size_t task_stack_bytes;
static unsigned long long served, refused_create; /* atomic */

static ssize_t conn_read(void *ctx, char *buf, size_t len)
{
    struct conn *c = ctx;
    return uvy_read(&c->wait, (uv_stream_t *)&c->tcp, buf, len);
}

static int conn_write(void *ctx, const char *buf, size_t len)
{
    struct conn *c = ctx;
    return uvy_write(&c->wait, (uv_stream_t *)&c->tcp, buf, len) == 0 ? 0 : -1;
}

static int conn_wait_ms(void *ctx, unsigned ms)
{
    struct conn *c = ctx;
    return uvy_sleep(&c->wait, &c->timer, ms) == 0 ? 0 : -1;
}

/* The STATS figure only pagedstack has: what the page pools of every loop
 * thread hold from the OS, mapped or not.  pgs_stats reports the calling
 * thread's pool; the others' are read as the kernel counts them, from the
 * blocks of every pagedstack memfd of the process (which is what
 * pgs_stats' pool_bytes is, thread by thread). */
static void conn_stats(char *buf, size_t len)
{
    unsigned long long pool = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[300], target[128];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        struct stat st;
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strncmp(target, "/memfd:pagedstack", 17) == 0 &&
            stat(path, &st) == 0)
            pool += (unsigned long long)st.st_blocks * 512;
    }
    if (d)
        closedir(d);
    struct pgs_stats s;
    pgs_stats(&s);
    snprintf(buf, len, " pool=%llu tasks_here=%zu", pool, s.tasks);
}

/* The task: serve the connection, close it, free it. */
static void *conn_task(void *arg)
{
    struct conn *c = arg;
    struct serve_io io = { c, conn_read, conn_write, conn_wait_ms,
                           conn_stats, task_stack_bytes };
    serve(&io, &c->buf);
    uvy_close(&c->wait, (uv_handle_t *)&c->timer);
    uvy_close(&c->wait, (uv_handle_t *)&c->tcp);
    free(c);
    __atomic_fetch_add(&served, 1, __ATOMIC_RELAXED);
    return NULL;
}

/* A connection turned away before it had a task: free it once libuv has
 * let go of both its handles (in whichever order it finishes them). */
static void close_free_cb(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->closing == 0)
        free(c);
}

static void turn_away(struct conn *c)
{
    c->closing = 2;
    uv_close((uv_handle_t *)&c->timer, close_free_cb);
    uv_close((uv_handle_t *)&c->tcp, close_free_cb);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0) {
        fprintf(stderr, "echo_uv: accept: %s\n", uv_strerror(status));
        return;
    }
    struct conn *c = malloc(sizeof *c);
    if (!c) {
        perror("echo_uv: malloc");
        return;
    }
    uv_tcp_init(server->loop, &c->tcp);
    uv_timer_init(server->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        turn_away(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    pgs_task *t = pgs_create(conn_task, c);
    if (!t) {
        /* Out of memory for a task: turn the connection away, keep serving
         * the others. */
        perror("echo_uv: pgs_create");
        __atomic_fetch_add(&refused_create, 1, __ATOMIC_RELAXED);
        turn_away(c);
        return;
    }
    uvy_run(t);
}

static void on_signal(uv_signal_t *s, int signum)
{
    fprintf(stderr, "echo_uv: signal %d: %llu connections served, %llu turned "
            "away\n", signum, __atomic_load_n(&served, __ATOMIC_RELAXED),
            __atomic_load_n(&refused_create, __ATOMIC_RELAXED));
    exit(0);
}

/* Set up the calling thread's pagedstack and loop; serve its socket. */
static int loop_setup(struct loop_thread *lt)
{
    if (pgs_thread_init(&cfg) != 0) {
        perror("echo_uv: pgs_thread_init");
        return -1;
    }
    int rc = uv_loop_init(&lt->loop);
    if (rc == 0)
        rc = uv_tcp_init(&lt->loop, &lt->server);
    if (rc == 0)
        rc = uv_tcp_open(&lt->server, lt->fd);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&lt->server, ECHO_BACKLOG, on_connection);
    if (rc != 0) {
        fprintf(stderr, "echo_uv: %s\n", uv_strerror(rc));
        return -1;
    }
    return 0;
}

static void *loop_thread_main(void *arg)
{
    struct loop_thread *lt = arg;
    if (loop_setup(lt) != 0)
        exit(1);
    uv_run(&lt->loop, UV_RUN_DEFAULT);
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        ECHO_SERVER_OPTIONS,
        { "loops", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 }
    };
    int port = 0, o;
    long nloops = sysconf(_SC_NPROCESSORS_ONLN);
    const char *port_file = NULL;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'p': port = atoi(optarg); break;
        case 'f': port_file = optarg; break;
        case 's': cfg.stack_size = serve_parse_size(optarg); break;
        case 'l': nloops = atol(optarg); break;
        default:
            fprintf(stderr, "usage: echo_uv [--port N] [--port-file FILE] "
                    "[--stack-size BYTES] [--loops N]\n");
            return 2;
        }
    }
    if (nloops < 1)
        nloops = 1;
    if (echo_raise_fd_limit("echo_uv", 0) != 0)
        return 1;
    task_stack_bytes = cfg.stack_size ? cfg.stack_size : 8u << 20;

    /* Every socket first, so that the port is known and taken by all
     * before any connection arrives. */
    struct loop_thread *lts = calloc((size_t)nloops, sizeof *lts);
    if (!lts)
        return 1;
    for (long i = 0; i < nloops; i++)
        if ((lts[i].fd = echo_listen("echo_uv", &port, SOCK_STREAM |
                                     SOCK_NONBLOCK, SO_REUSEPORT)) < 0)
            return 1;
    /* Loop 0 runs on the main thread, with the signal handlers. */
    if (loop_setup(&lts[0]) != 0)
        return 1;
    uv_signal_t sigint, sigterm;
    uv_signal_init(&lts[0].loop, &sigint);
    uv_signal_init(&lts[0].loop, &sigterm);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    for (long i = 1; i < nloops; i++)
        if ((errno = pthread_create(&lts[i].tid, NULL, loop_thread_main,
                                    &lts[i])) != 0) {
            perror("echo_uv: pthread_create");
            return 1;
        }
    if (echo_announce("echo_uv", port, port_file) != 0)
        return 1;
    uv_run(&lts[0].loop, UV_RUN_DEFAULT);
    return 0;
}
