/* SPDX-License-Identifier: MIT */
/*
 * Pattern tasks: tasks whose every stack frame holds words that can be
 * recomputed, so that any byte of a stack that changed behind the task's
 * back (a failed remap, a fork that shared pages, a copy that went wrong)
 * is found.  See rel.h for the commands.
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "rel.h"

#define WORDS (REL_FRAME / 8)

/* splitmix64's finaliser: every word differs from its neighbours, from the
 * same word of other frames and of other tasks. */
static inline uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static inline uint64_t word(uint64_t seed, unsigned id, unsigned level,
                            size_t i)
{
    return mix(seed ^ ((uint64_t)id << 44) ^ ((uint64_t)level << 24) ^ i);
}

void rel_fill(volatile uint64_t *w, size_t n, uint64_t seed, unsigned id,
              unsigned level)
{
    for (size_t i = 0; i < n; i++)
        w[i] = word(seed, id, level, i);
}

long rel_check(const volatile uint64_t *w, size_t n, uint64_t seed,
               unsigned id, unsigned level)
{
    long bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += w[i] != word(seed, id, level, i);
    return bad;
}

static REL_NOINLINE long scribble_rec(unsigned level, size_t left,
                                      uint64_t seed)
{
    volatile uint64_t buf[WORDS];
    long bad = 0;
    rel_fill(buf, WORDS, seed, 0xfff, level);
    if (left > REL_FRAME)
        bad += scribble_rec(level + 1, left - REL_FRAME, seed);
    bad += rel_check(buf, WORDS, seed, 0xfff, level);
    return bad;
}

REL_NOINLINE long rel_scribble(size_t bytes, uint64_t seed)
{
    return scribble_rec(0, bytes, seed);
}

REL_NOINLINE long rel_grow(size_t depth)
{
    volatile char buf[8192];
    buf[0] = (char)depth;
    long r = depth > sizeof buf ? rel_grow(depth - sizeof buf) : 0;
    return r + buf[0];
}

static long check_all(struct rel_pat *p)
{
    long bad = 0;
    for (unsigned l = 0; l < p->nframes && l < REL_MAX_FRAMES; l++)
        bad += rel_check(p->frame[l], WORDS, p->seed, p->id, l);
    return bad;
}

/* The bottom of the recursion: obey commands until told to finish. */
static REL_NOINLINE void bottom(struct rel_pat *p)
{
    p->at_bottom = 1;
    for (;;) {
        intptr_t cmd = (intptr_t)pgs_yield(p);
        switch (cmd) {
        case REL_CMD_CHECK:
            p->bad += check_all(p);
            break;
        case REL_CMD_REFILL:
            p->seed = p->next_seed;
            for (unsigned l = 0; l < p->nframes && l < REL_MAX_FRAMES; l++)
                rel_fill(p->frame[l], WORDS, p->seed, p->id, l);
            break;
        case REL_CMD_SCRIBBLE:
            p->bad += rel_scribble(p->scribble, p->next_seed);
            p->bad += check_all(p);
            break;
        case REL_CMD_HOOK:
            p->hook(p);
            break;
        case REL_CMD_FINISH:
            p->at_bottom = 0;
            return;
        default:
            p->bad += 1000000; /* a command that was never sent */
            break;
        }
    }
}

static REL_NOINLINE long rec(struct rel_pat *p, unsigned level, size_t left)
{
    volatile uint64_t buf[WORDS];
    long bad = 0;
    rel_fill(buf, WORDS, p->seed, p->id, level);
    if (level < REL_MAX_FRAMES) {
        p->frame[level] = buf;
        p->nframes = level + 1;
    }
    if (left > REL_FRAME && level + 1 < REL_MAX_FRAMES)
        bad += rec(p, level + 1, left - REL_FRAME);
    else
        bottom(p);
    /* The frame is checked on the way up, with whatever seed the frames
     * hold by then. */
    bad += rel_check(buf, WORDS, p->seed, p->id, level);
    return bad;
}

void rel_pat_init(struct rel_pat *p, unsigned id, size_t depth, uint64_t seed)
{
    memset(p, 0, sizeof *p);
    p->id = id;
    p->depth = depth;
    p->seed = seed;
    p->next_seed = seed ^ 0x5555aaaa5555aaaaull;
}

void *rel_pat_main(void *arg)
{
    struct rel_pat *p = arg;
    if (p->lazy)
        pgs_yield(p);
    p->bad += rec(p, 0, p->depth);
    p->finished = 1;
    return p;
}

pgs_task *rel_pat_create(struct rel_pat *p)
{
    return pgs_create(rel_pat_main, p);
}

int rel_pat_cmd(pgs_task *t, struct rel_pat *p, enum rel_cmd cmd)
{
    (void)p;
    return pgs_resume(t, (void *)(intptr_t)cmd, NULL);
}
