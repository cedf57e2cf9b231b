/* SPDX-License-Identifier: MIT */
/*
 * The echo demo's requests: nested lists parsed by a recursive routine, so
 * that a request's nesting depth decides how much stack serving it takes.
 *
 * A request is one line: a list "(" atoms and lists ")" followed by "\n",
 * for example "(a(b(c)))".  Every nesting level of the parser has a frame
 * of about REQ_FRAME_BYTES (it gathers the atoms of its level there), so a
 * request nested 1000 deep needs about 1 MiB of stack and one nested 3
 * deep a few KiB.  The reply is "<depth> <hash>\n", the hash being FNV-1a
 * over every level's atoms, innermost level first, which the load
 * generator computes from the request it built and checks.
 *
 * Two more requests: "STATS\n" (the server's memory figures, one line) and
 * "WAIT <ms>\n" (the server waits that long on a timer, then says "OK").
 */
#ifndef ECHO_REQUEST_H
#define ECHO_REQUEST_H

#include <stddef.h>
#include <stdint.h>

/* Stack the parser keeps per nesting level for its level's atoms. */
#define REQ_FRAME_BYTES 1000

/* Longest request line the servers accept, newline included. */
#define REQ_MAX_LINE 4096

/* Stack the parser leaves unused below itself for what a handler calls
 * (write(2), snprintf): it refuses a level that would go deeper. */
#define REQ_STACK_MARGIN (16 * 1024)

/* What limits a parse: the address of the handler's first frame and the
 * stack the handler may use below it. */
struct req_limit {
    const char *stack_top;
    size_t stack_bytes;
};

/* The outcome of one request. */
enum req_status { REQ_OK, REQ_BAD, REQ_TOO_DEEP };

/*
 * Parse the list in line[0..len) (no newline).  On REQ_OK sets *depth and
 * *hash.  REQ_TOO_DEEP: the next level would use stack past lim (a server
 * with fixed small stacks refuses the request instead of overflowing).
 */
enum req_status req_parse(const char *line, size_t len,
                          const struct req_limit *lim,
                          int *depth, uint64_t *hash);

/*
 * Build a request nested depth deep (one atom per level, letters chosen by
 * seed) into buf, newline included.  Returns its length, or 0 if it does
 * not fit; sets *hash to the hash the server must answer.
 */
size_t req_build(char *buf, size_t len, int depth, unsigned seed,
                 uint64_t *hash);

#endif
