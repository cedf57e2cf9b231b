/* SPDX-License-Identifier: MIT */
/*
 * The echo server written thread-per-connection: every connection gets a
 * pthread with a stack of fixed size, and blocks in read(2) and write(2).
 *
 *   echo_threads [--port N] [--port-file FILE] [--stack-size BYTES]
 *                [--no-depth-limit]
 *
 * --stack-size: each thread's stack (8 MiB by default, as glibc gives).
 * A request is refused ("ERR too deep") when parsing it would take the
 * thread's stack within 16 KiB of its end; --no-depth-limit removes that
 * check, and a request deeper than the stack then overflows it: the
 * guard page is hit and the whole server dies by SIGSEGV, every
 * connection with it.  Runs until SIGINT or SIGTERM.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "serve.h"
#include "setup.h"

struct conn {
    int fd;
    struct serve_buf buf;
};

static size_t stack_bytes = 8u << 20;
static size_t parse_budget;

static ssize_t conn_read(void *ctx, char *buf, size_t len)
{
    struct conn *c = ctx;
    ssize_t n;
    do
        n = read(c->fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

static int conn_write(void *ctx, const char *buf, size_t len)
{
    struct conn *c = ctx;
    while (len > 0) {
        ssize_t n = write(c->fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int conn_wait_ms(void *ctx, unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) != 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

static void *conn_thread(void *arg)
{
    struct conn *c = arg;
    struct serve_io io = { c, conn_read, conn_write, conn_wait_ms, NULL,
                           parse_budget };
    serve(&io, &c->buf);
    close(c->fd);
    free(c);
    return NULL;
}

int main(int argc, char **argv)
{
    int port = 0, o, depth_limit = 1;
    const char *port_file = NULL;
    static const struct option opts[] = {
        ECHO_SERVER_OPTIONS,
        { "no-depth-limit", no_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 }
    };
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'p': port = atoi(optarg); break;
        case 'f': port_file = optarg; break;
        case 's': stack_bytes = serve_parse_size(optarg); break;
        case 'n': depth_limit = 0; break;
        default:
            fprintf(stderr, "usage: echo_threads [--port N] [--port-file FILE] "
                    "[--stack-size BYTES] [--no-depth-limit]\n");
            return 2;
        }
    }
    /* The handler's first frame is a little below the top of the thread's
     * stack (glibc keeps the thread's TLS and descriptor there), so the
     * budget leaves 8 KiB for that beside the parser's own margin. */
    parse_budget = depth_limit ? stack_bytes - 8192 : (size_t)-1 / 2;
    if (echo_raise_fd_limit("echo_threads", 0) != 0)
        return 1;

    int one = 1;
    int ls = echo_listen("echo_threads", &port, SOCK_STREAM, SO_REUSEADDR);
    if (ls < 0 || echo_announce("echo_threads", port, port_file) != 0)
        return 1;

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if ((errno = pthread_attr_setstacksize(&attr, stack_bytes)) != 0) {
        perror("echo_threads: stack size");
        return 1;
    }
    for (;;) {
        int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("echo_threads: accept");
            /* Out of descriptors: wait for connections to close. */
            sleep(1);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = malloc(sizeof *c);
        pthread_t t;
        if (c)
            c->fd = fd;
        if (!c || (errno = pthread_create(&t, &attr, conn_thread, c)) != 0) {
            /* Out of threads or memory: turn the connection away. */
            perror("echo_threads: pthread_create");
            free(c);
            close(fd);
            continue;
        }
    }
}
