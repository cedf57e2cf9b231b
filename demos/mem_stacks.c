/* SPDX-License-Identifier: MIT */
/*
 * Models 3 and 4: a separate stack per task, switched with pgs__switch.
 *
 *   mmap-8M      8 MiB from mmap with a PROT_NONE guard page below, the
 *                way glibc makes thread stacks and Boost its
 *                protected_fixedsize_stack: two kernel mappings per task.
 *   malloc-128K  128 KiB from malloc, no guard (libco's default): the
 *                allocations merge into few mappings, but a task that needs
 *                more than 128 KiB cannot run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mem_cell.h"
#include "switch.h"

struct ctask {
    void *sp;    /* saved stack pointer while switched out */
    char *mem;   /* the stack allocation */
    long idx;
    int done;
};

static struct ctask **tasks;
static void *main_sp;
static size_t page;

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
    page = (size_t)sysconf(_SC_PAGESIZE);
    tasks = calloc((size_t)n, sizeof *tasks);
    if (!tasks) {
        mem_fail_errno(why, "setup", errno);
        return -1;
    }
    for (long i = 0; i < n; i++)
        tasks[i] = NULL;
    return 0;
}

/* Allocate a stack of `size` usable bytes, guarded or from malloc. */
static char *stack_mmap(size_t size, struct mem_fail *why)
{
    char *p = mmap(NULL, size + page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) {
        mem_fail_errno(why, "mmap", errno);
        return NULL;
    }
    if (mprotect(p, page, PROT_NONE) != 0) {
        mem_fail_errno(why, "mprotect (guard page)", errno);
        munmap(p, size + page);
        return NULL;
    }
    return p;
}

static char *stack_malloc(size_t size, struct mem_fail *why)
{
    char *p = malloc(size);
    if (!p)
        mem_fail_errno(why, "malloc", errno);
    return p;
}

static int create_with(long i, size_t size, size_t offset,
                       char *(*alloc)(size_t, struct mem_fail *),
                       struct mem_fail *why)
{
    struct ctask *t = malloc(sizeof *t);
    if (!t) {
        mem_fail_errno(why, "malloc", errno);
        return -1;
    }
    t->mem = alloc(size, why);
    if (!t->mem) {
        free(t);
        return -1;
    }
    t->idx = i;
    t->done = 0;
    char *top = (char *)((uintptr_t)(t->mem + offset + size) & ~(uintptr_t)15);
    t->sp = pgs__frame_init(top, entry, t);
    tasks[i] = t;
    pgs__switch(&main_sp, t->sp, NULL);
    return 0;
}

static int create_mmap(long i, struct mem_fail *why)
{
    return create_with(i, (size_t)8 << 20, page, stack_mmap, why);
}

static int create_malloc(long i, struct mem_fail *why)
{
    return create_with(i, (size_t)128 << 10, 0, stack_malloc, why);
}

static int resume(long i, struct mem_fail *why)
{
    (void)why;
    pgs__switch(&main_sp, tasks[i]->sp, NULL);
    return 0;
}

/* Run task i to its end.  Its stack is left to the process's exit: freeing
 * 100,000 stacks one munmap at a time costs more than the rest of the cell
 * and is not what is measured. */
static int finish(long i, struct mem_fail *why)
{
    struct ctask *t = tasks[i];
    pgs__switch(&main_sp, t->sp, NULL);
    if (!t->done) {
        why->status = "error";
        return -1;
    }
    return 0;
}

const struct mem_model mem_model_mmap = {
    .name = "mmap-8M",
    .stack_size = (size_t)8 << 20,
    .setup = setup,
    .create = create_mmap,
    .resume = resume,
    .finish = finish,
};

const struct mem_model mem_model_malloc = {
    .name = "malloc-128K",
    .stack_size = (size_t)128 << 10,
    .setup = setup,
    .create = create_malloc,
    .resume = resume,
    .finish = finish,
};
