/* SPDX-License-Identifier: MIT */
/*
 * The models that keep stacks of their own making: copy-stack, and a
 * separate stack per task (mmap-8M, guarded; malloc-128K, fixed).  They
 * switch registers with the library's assembly switch, an internal header
 * (lib/switch.h), for one reason: every model then switches the same way
 * (callee-saved registers, MXCSR and the x87 control word, as libaco does
 * by default), so that the comparison measures what each does with its
 * stacks, not a different switch.
 *
 * copy-stack is libaco's way: one shared 8 MiB stack per thread; resuming
 * a task that is not the occupant copies the occupant's live bytes out to
 * a buffer kept per task (resized only when their size changes) and the
 * incoming task's in.  Nothing below the stack pointer is cleared.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif
#include "switch.h"
#include "model.h"

#define BIG ((size_t)8 << 20)
/* The guard page below each stack: the kernel's page size. */
#define PAGE ((size_t)sysconf(_SC_PAGESIZE))

struct sw_task {
    void *sp;    /* saved stack pointer; NULL before the first run */
    struct job *j;
    char *mem;   /* its own stack, or NULL on the shared one */
    size_t size;
    char *buf;   /* copy-stack: its live bytes while switched out */
    size_t len;
};

static __thread struct {
    void *main_sp;
    struct sw_task *cur, *occupant;
    char *shared; /* copy-stack: guard page + shared stack */
} th;

static char *map_guarded(size_t size)
{
    char *p = mmap(NULL, size + PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (mprotect(p, PAGE, PROT_NONE) != 0) {
        munmap(p, size + PAGE);
        return NULL;
    }
    return p;
}

static inline __attribute__((always_inline)) void yield(void)
{
    pgs__switch(&th.cur->sp, th.main_sp, NULL);
}

MODEL_BODY(body, yield())

static void entry(void *p)
{
    struct sw_task *t = p;
    body(t->j);
    if (th.occupant == t) /* the shared stack is free */
        th.occupant = NULL;
    yield();
    __builtin_unreachable();
}

/* Under AddressSanitizer the copied frames keep their poisoned redzones:
 * unpoison both sides first, as pagedstack does for a region. */
static inline void copy(void *dst, const void *src, size_t n)
{
#if defined(__SANITIZE_ADDRESS__)
    __asan_unpoison_memory_region(src, n);
    __asan_unpoison_memory_region(dst, n);
#endif
    memcpy(dst, src, n);
}

static inline int cs_resume(void *p)
{
    struct sw_task *t = p, *o = th.occupant;
    char *top = th.shared + PAGE + BIG;
    if (o != t) {
        if (o) {
            size_t len = (size_t)(top - (char *)o->sp);
            if (len != o->len) {
                free(o->buf);
                if (!(o->buf = malloc(len)))
                    return -1;
                o->len = len;
            }
            copy(o->buf, o->sp, len);
        }
        if (t->sp)
            copy(t->sp, t->buf, t->len);
        else
            t->sp = pgs__frame_init(top, entry, t);
        th.occupant = t;
    }
    th.cur = t;
    pgs__switch(&th.main_sp, t->sp, NULL);
    return 0;
}

static inline int own_resume(void *p)
{
    struct sw_task *t = p;
    th.cur = t;
    pgs__switch(&th.main_sp, t->sp, NULL);
    return 0;
}

MODEL_RING(cs_ring, cs_resume)
MODEL_RING(own_ring, own_resume)

static int cs_init(const struct job *j)
{
    (void)j;
    return (th.shared = map_guarded(BIG)) ? 0 : -1;
}

static void cs_fini(void)
{
    munmap(th.shared, BIG + PAGE);
    th.occupant = NULL;
}

static void *cs_create(struct job *j)
{
    struct sw_task *t = calloc(1, sizeof *t);
    if (t)
        t->j = j;
    return t;
}

/* A separate stack: the job's size from malloc, or 8 MiB from mmap with a
 * guard page (two kernel mappings, as glibc makes thread stacks). */
static void *own_create(struct job *j, size_t size)
{
    struct sw_task *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->j = j;
    t->size = size;
    t->mem = size == BIG ? map_guarded(BIG) : malloc(size);
    if (!t->mem) {
        free(t);
        return NULL;
    }
    char *top = t->mem + (size == BIG ? PAGE : 0) + size;
    t->sp = pgs__frame_init((void *)((uintptr_t)top & ~(uintptr_t)15), entry,
                            t);
    return t;
}

static void *guarded_create(struct job *j)
{
    return own_create(j, BIG);
}

static void *fixed_create(struct job *j)
{
    return own_create(j, (size_t)128 << 10);
}

static int destroy(void *p)
{
    struct sw_task *t = p;
    if (th.occupant == t)
        th.occupant = NULL;
    if (t->mem && t->size == BIG)
        munmap(t->mem, BIG + PAGE);
    else
        free(t->mem);
    free(t->buf);
    free(t);
    return 0;
}

static double cs_held(void *p)
{
    struct sw_task *t = p;
    return t->sp ? (double)(th.shared + PAGE + BIG - (char *)t->sp) : -1;
}

const struct model model_copystack = {
    "copy-stack", "libaco's way: one shared stack, live bytes copied",
    BIG, cs_init, cs_fini, cs_create, cs_resume, cs_ring, destroy,
    NULL, cs_held, NULL,
};

const struct model model_guarded = {
    "mmap-8M", "a separate 8 MiB stack per task, mmap + guard page",
    BIG, NULL, NULL, guarded_create, own_resume, own_ring, destroy,
    NULL, NULL, NULL,
};

const struct model model_fixed = {
    "malloc-128K", "a separate 128 KiB stack per task from malloc",
    (size_t)128 << 10, NULL, NULL, fixed_create, own_resume, own_ring,
    destroy, NULL, NULL, NULL,
};
