/* SPDX-License-Identifier: MIT */
/*
 * The echo server on pagedstack and libuv: one thread runs the libuv loop,
 * every connection is a task, and a task that would block yields to the
 * loop until the callback resumes it (uv_yield.h).
 *
 *   echo_uv [--port N] [--port-file FILE] [--stack-size BYTES]
 *
 * Listens on 127.0.0.1 (port 0: any free port, written to --port-file).
 * --stack-size is pgs_config.stack_size, the most any task may use (8 MiB
 * by default).  Runs until SIGINT or SIGTERM.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "setup.h"
#include "serve.h"
#include "uv_yield.h"

/* A connection: its handle, its wait, its buffers; one heap block. */
struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct uvy wait;
    struct serve_buf buf;
};

static uv_loop_t *loop;
static size_t task_stack_bytes;
static unsigned long long served, refused_create;

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

/* The STATS figures only pagedstack knows: what its pool holds from the
 * OS (mapped or not), what its tasks hold, and how many there are. */
static void conn_stats(char *buf, size_t len)
{
    struct pgs_stats s;
    if (pgs_stats(&s) == 0)
        snprintf(buf, len, " pool=%zu stack=%zu tasks=%zu", s.pool_bytes,
                 s.stack_bytes, s.tasks);
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
    served++;
    return NULL;
}

static void close_free_cb(uv_handle_t *h)
{
    free(h->data);
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
    uv_tcp_init(loop, &c->tcp);
    uv_timer_init(loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->timer, NULL);
        uv_close((uv_handle_t *)&c->tcp, close_free_cb);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    pgs_task *t = pgs_create(conn_task, c);
    if (!t) {
        /* Out of memory for a task: turn the connection away, keep serving
         * the others. */
        perror("echo_uv: pgs_create");
        refused_create++;
        uv_close((uv_handle_t *)&c->timer, NULL);
        uv_close((uv_handle_t *)&c->tcp, close_free_cb);
        return;
    }
    uvy_run(t);
}

static void on_signal(uv_signal_t *s, int signum)
{
    fprintf(stderr, "echo_uv: signal %d: %llu connections served, %llu turned "
            "away\n", signum, served, refused_create);
    uv_stop(s->loop);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "port", required_argument, NULL, 'p' },
        { "port-file", required_argument, NULL, 'f' },
        { "stack-size", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 }
    };
    int port = 0, o;
    const char *port_file = NULL;
    struct pgs_config cfg = { 0 };
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'p': port = atoi(optarg); break;
        case 'f': port_file = optarg; break;
        case 's': cfg.stack_size = serve_parse_size(optarg); break;
        default:
            fprintf(stderr, "usage: echo_uv [--port N] [--port-file FILE] "
                    "[--stack-size BYTES]\n");
            return 2;
        }
    }
    if (echo_raise_fd_limit("echo_uv", 0) != 0)
        return 1;
    if (pgs_thread_init(&cfg) != 0) {
        perror("echo_uv: pgs_thread_init");
        return 1;
    }
    task_stack_bytes = cfg.stack_size ? cfg.stack_size : 8u << 20;

    loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    uv_tcp_init(loop, &server);
    int rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&server, ECHO_BACKLOG, on_connection);
    if (rc != 0) {
        fprintf(stderr, "echo_uv: listen on 127.0.0.1:%d: %s\n", port,
                uv_strerror(rc));
        return 1;
    }
    int len = sizeof addr;
    uv_tcp_getsockname(&server, (struct sockaddr *)&addr, &len);
    if (echo_announce("echo_uv", ntohs(addr.sin_port), port_file) != 0)
        return 1;

    uv_signal_t sigint, sigterm;
    uv_signal_init(loop, &sigint);
    uv_signal_init(loop, &sigterm);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}
