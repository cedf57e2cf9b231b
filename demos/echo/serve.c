/* SPDX-License-Identifier: MIT */
/*
 * The echo demo's connection handler: split the input into lines, answer
 * each request, and the STATS and WAIT requests.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "serve.h"

/* A field of /proc/self/status in bytes ("VmRSS:  123 kB"), or -1. */
static long long status_field(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    if (!p)
        return -1;
    long long v = strtoll(p + strlen(key), NULL, 10);
    return strstr(key, "Threads") ? v : v * 1024;
}

/* The STATS reply: the server's own memory as the kernel reports it. */
static size_t stats_reply(const struct serve_io *io, char *out, size_t len)
{
    char text[4096];
    ssize_t n = -1;
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, text, sizeof text - 1);
        close(fd);
    }
    text[n > 0 ? n : 0] = '\0';
    int w = snprintf(out, len, "STATS rss=%lld shmem=%lld pte=%lld threads=%lld",
                     status_field(text, "VmRSS:"),
                     status_field(text, "RssShmem:"),
                     status_field(text, "VmPTE:"),
                     status_field(text, "Threads:"));
    if (io->stats)
        io->stats(out + w, len - (size_t)w - 1);
    w = (int)strlen(out);
    out[w++] = '\n';
    return (size_t)w;
}

/* Answer one request line (without its newline) into out. */
static size_t answer(const struct serve_io *io, const struct req_limit *lim,
                     const char *line, size_t len, char *out, size_t outlen)
{
    if (len == 5 && memcmp(line, "STATS", 5) == 0)
        return stats_reply(io, out, outlen);
    if (len > 5 && memcmp(line, "WAIT ", 5) == 0) {
        if (io->wait_ms(io->ctx, (unsigned)strtoul(line + 5, NULL, 10)) != 0)
            return (size_t)snprintf(out, outlen, "ERR wait failed\n");
        return (size_t)snprintf(out, outlen, "OK waited\n");
    }
    int depth;
    uint64_t hash;
    switch (req_parse(line, len, lim, &depth, &hash)) {
    case REQ_OK:
        return (size_t)snprintf(out, outlen, "%d %016llx\n", depth,
                                (unsigned long long)hash);
    case REQ_TOO_DEEP:
        return (size_t)snprintf(out, outlen, "ERR too deep\n");
    default:
        return (size_t)snprintf(out, outlen, "ERR bad request\n");
    }
}

void serve(const struct serve_io *io, struct serve_buf *b)
{
    /* The handler's own frame is the top of what a request may use. */
    struct req_limit lim = { __builtin_frame_address(0), io->stack_bytes };
    b->have = 0;
    for (;;) {
        char *nl = memchr(b->in, '\n', b->have);
        if (!nl) {
            if (b->have == sizeof b->in) {
                static const char too_long[] = "ERR line too long\n";
                io->write(io->ctx, too_long, sizeof too_long - 1);
                return;
            }
            ssize_t n = io->read(io->ctx, b->in + b->have,
                                 sizeof b->in - b->have);
            if (n <= 0)
                return;
            b->have += (size_t)n;
            continue;
        }
        size_t len = (size_t)(nl - b->in);
        size_t out = answer(io, &lim, b->in, len, b->out, sizeof b->out);
        if (io->write(io->ctx, b->out, out) != 0)
            return;
        b->have -= len + 1;
        memmove(b->in, nl + 1, b->have);
    }
}

unsigned long long serve_parse_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    switch (*end) {
    case 'k': case 'K': return v << 10;
    case 'm': case 'M': return v << 20;
    case 'g': case 'G': return v << 30;
    default: return v;
    }
}
