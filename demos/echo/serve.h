/* SPDX-License-Identifier: MIT */
/*
 * The echo demo's connection handler, written once for every server model:
 * read request lines, answer each.  A model supplies how to read, write and
 * wait (a pagedstack task yielding to libuv, or a thread blocking).
 */
#ifndef ECHO_SERVE_H
#define ECHO_SERVE_H

#include <stddef.h>
#include <sys/types.h>
#include "request.h"

struct serve_io {
    void *ctx;
    /* Read up to len bytes: >0 bytes read, 0 at end of stream, <0 error. */
    ssize_t (*read)(void *ctx, char *buf, size_t len);
    /* Write all len bytes: 0, or -1 on error. */
    int (*write)(void *ctx, const char *buf, size_t len);
    /* Wait ms milliseconds: 0, or -1 on error. */
    int (*wait_ms)(void *ctx, unsigned ms);
    /* Append the model's own figures (" key=value" pairs) to a STATS reply;
     * may be NULL. */
    void (*stats)(char *buf, size_t len);
    /* Stack the handler may use, from its first frame down; a request that
     * would go deeper is refused ("ERR too deep"). */
    size_t stack_bytes;
};

/* A connection's buffers.  On the heap, never on a task's stack: libuv
 * fills and drains them while the task is switched out (THE ONE RULE). */
struct serve_buf {
    size_t have;
    char in[REQ_MAX_LINE];
    char out[512];
};

/* Serve one connection until the peer closes it or an error. */
void serve(const struct serve_io *io, struct serve_buf *b);

/* Parse "--name=VALUE" or "--name VALUE" style sizes with K/M suffixes:
 * the servers and the load generator share it. */
unsigned long long serve_parse_size(const char *s);

#endif
