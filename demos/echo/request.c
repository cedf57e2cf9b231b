/* SPDX-License-Identifier: MIT */
/*
 * The echo demo's recursive request parser, and the builder the load
 * generator uses to make requests it can check the answers of.
 */
#include <string.h>
#include "request.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * FNV_PRIME;
    return h;
}

struct cursor {
    const char *p, *end;
    const struct req_limit *lim;
    uint64_t hash;
    enum req_status status;
};

/* Stack in use below the handler's first frame, this frame included. */
static size_t stack_used(const struct req_limit *lim)
{
    return (size_t)(lim->stack_top - (const char *)__builtin_frame_address(0));
}

/*
 * One list, at c->p (which is '(').  Returns its depth (1 for a list with
 * no list inside), or -1 with c->status set.  The atoms of this level are
 * gathered in a frame-local buffer: that is what makes each level cost
 * stack, as a real parser's per-level token and state would.
 * noinline and noclone keep the compiler from flattening the recursion.
 */
__attribute__((noinline, noclone))
static int parse_list(struct cursor *c)
{
    char atoms[REQ_FRAME_BYTES];
    size_t n = 0;
    int deepest = 0;

    if (stack_used(c->lim) + sizeof atoms + REQ_STACK_MARGIN >
        c->lim->stack_bytes) {
        c->status = REQ_TOO_DEEP;
        return -1;
    }
    c->p++; /* '(' */
    while (c->p < c->end && *c->p != ')') {
        char ch = *c->p;
        if (ch == '(') {
            int d = parse_list(c);
            if (d < 0)
                return -1;
            if (d > deepest)
                deepest = d;
        } else if (ch >= 'a' && ch <= 'z' && n < sizeof atoms) {
            atoms[n++] = ch;
            c->p++;
        } else {
            c->status = REQ_BAD;
            return -1;
        }
    }
    if (c->p == c->end) {
        c->status = REQ_BAD;
        return -1;
    }
    c->p++; /* ')' */
    c->hash = fnv(c->hash, atoms, n);
    return deepest + 1;
}

enum req_status req_parse(const char *line, size_t len,
                          const struct req_limit *lim,
                          int *depth, uint64_t *hash)
{
    struct cursor c = { line, line + len, lim, FNV_OFFSET, REQ_OK };
    if (len == 0 || line[0] != '(')
        return REQ_BAD;
    int d = parse_list(&c);
    if (d < 0)
        return c.status;
    if (c.p != c.end)
        return REQ_BAD;
    *depth = d;
    *hash = c.hash;
    return REQ_OK;
}

size_t req_build(char *buf, size_t len, int depth, unsigned seed,
                 uint64_t *hash)
{
    size_t need = 3 * (size_t)depth + 1;
    if (depth < 1 || need > len)
        return 0;
    char *p = buf;
    for (int i = 0; i < depth; i++) {
        *p++ = '(';
        *p++ = (char)('a' + (seed + (unsigned)i) % 26);
    }
    memset(p, ')', (size_t)depth);
    p += depth;
    *p++ = '\n';
    /* The parser hashes a level when it closes: innermost first. */
    uint64_t h = FNV_OFFSET;
    for (int i = depth - 1; i >= 0; i--)
        h = fnv(h, &buf[2 * i + 1], 1);
    *hash = h;
    return (size_t)(p - buf);
}
