/* SPDX-License-Identifier: MIT */
/*
 * Model 5: copy-stack, as libco's share-stack mode and libaco do it.  Every
 * task runs on one shared 8 MiB stack (mmap, guard page below).  When a
 * task is switched out, the bytes it uses (from its stack pointer to the
 * top) are copied into a malloc'd buffer of exactly that size; when it is
 * switched in, they are copied back.  A waiting task costs its live bytes;
 * every switch costs two copies of them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mem_cell.h"
#include "stack_copy.h"
#include "switch.h"

#define STACK_SIZE ((size_t)8 << 20)

struct ctask {
    void *sp;    /* saved stack pointer; NULL before the first run */
    char *buf;   /* the saved bytes [sp, top) while switched out */
    size_t len;
    long idx;
    int done;
};

static struct ctask **tasks;
static void *main_sp;
static char *stack_top;

static void wait_switch(void *ctx)
{
    struct ctask *t = ctx;
    pgs__switch(&t->sp, main_sp, NULL);
}

static void entry(void *arg)
{
    struct ctask *t = arg;
    mem_work_run(mem_cell_work, t->idx, wait_switch, t);
    t->done = 1;
    pgs__switch(&t->sp, main_sp, NULL);
    __builtin_unreachable();
}

static int setup(long n, const struct mem_work *w, struct mem_fail *why)
{
    (void)w;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    tasks = calloc((size_t)n, sizeof *tasks);
    char *p = mmap(NULL, STACK_SIZE + page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (!tasks || p == MAP_FAILED || mprotect(p, page, PROT_NONE) != 0) {
        mem_fail_errno(why, "setup", errno);
        return -1;
    }
    for (long i = 0; i < n; i++)
        tasks[i] = NULL;
    stack_top = p + page + STACK_SIZE;
    return 0;
}

/* Run t on the shared stack until it waits or ends, then save its bytes. */
static int run(struct ctask *t, struct mem_fail *why)
{
    if (!t->sp)
        t->sp = pgs__frame_init(stack_top, entry, t);
    else
        stack_copy(stack_top - t->len, t->buf, t->len);
    pgs__switch(&main_sp, t->sp, NULL);
    if (t->done)
        return 0;
    size_t len = (size_t)(stack_top - (char *)t->sp);
    if (len != t->len) {
        char *b = realloc(t->buf, len);
        if (!b) {
            mem_fail_errno(why, "realloc (save buffer)", errno);
            return -1;
        }
        t->buf = b;
        t->len = len;
    }
    stack_copy(t->buf, t->sp, len);
    return 0;
}

static int create(long i, struct mem_fail *why)
{
    struct ctask *t = calloc(1, sizeof *t);
    if (!t) {
        mem_fail_errno(why, "malloc", errno);
        return -1;
    }
    t->idx = i;
    tasks[i] = t;
    return run(t, why);
}

static int resume(long i, struct mem_fail *why)
{
    return run(tasks[i], why);
}

static int finish(long i, struct mem_fail *why)
{
    struct ctask *t = tasks[i];
    if (run(t, why) != 0)
        return -1;
    if (!t->done) {
        why->status = "error";
        return -1;
    }
    free(t->buf);
    free(t);
    return 0;
}

const struct mem_model mem_model_copystack = {
    .name = "copy-stack",
    .stack_size = STACK_SIZE,
    .setup = setup,
    .create = create,
    .resume = resume,
    .finish = finish,
};
