/* SPDX-License-Identifier: MIT */
/*
 * The threads model: one POSIX thread per task, handing control back and
 * forth with the thread that resumes it through futexes (each side sleeps
 * in FUTEX_WAIT until the other wakes it), so that one task runs at a
 * time, as with coroutines.  Stacks: glibc's default (RLIMIT_STACK, 8 MiB,
 * and a guard page), or the job's size plus room for the thread's own
 * frames.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "model.h"

#if defined(__SANITIZE_THREAD__)
#define SLACK ((size_t)4 << 20) /* ThreadSanitizer's frames are far larger */
#else
#define SLACK ((size_t)256 << 10)
#endif

struct th_task {
    int go, back, stop, done;
    struct job *j;
    pthread_t th;
};

static __thread struct th_task *self;

static void futex(int *word, int op, int val)
{
    syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

/* Set *word, wake its waiter; then wait for *mine, and clear it. */
static inline void hand_over(int *word, int *mine)
{
    __atomic_store_n(word, 1, __ATOMIC_RELEASE);
    futex(word, FUTEX_WAKE_PRIVATE, 1);
    while (!__atomic_load_n(mine, __ATOMIC_ACQUIRE))
        futex(mine, FUTEX_WAIT_PRIVATE, 0);
    *mine = 0;
}

static inline void yield(void)
{
    hand_over(&self->back, &self->go);
    if (self->stop)
        pthread_exit(NULL);
}

MODEL_BODY(body, yield())

static void *entry(void *p)
{
    self = p;
    while (!__atomic_load_n(&self->go, __ATOMIC_ACQUIRE))
        futex(&self->go, FUTEX_WAIT_PRIVATE, 0);
    self->go = 0;
    if (!self->stop)
        body(self->j);
    self->done = 1;
    __atomic_store_n(&self->back, 1, __ATOMIC_RELEASE);
    futex(&self->back, FUTEX_WAKE_PRIVATE, 1);
    return NULL;
}

static void *create(struct job *j)
{
    struct th_task *t = calloc(1, sizeof *t);
    pthread_attr_t a;
    int err;
    if (!t)
        return NULL;
    t->j = j;
    pthread_attr_init(&a);
    if (j->stack)
        pthread_attr_setstacksize(&a, j->stack + SLACK);
    err = pthread_create(&t->th, &a, entry, t);
    pthread_attr_destroy(&a);
    if (err) {
        free(t);
        errno = err;
        return NULL;
    }
    return t;
}

static inline int resume(void *p)
{
    struct th_task *t = p;
    hand_over(&t->go, &t->back);
    return 0;
}

MODEL_RING(ring, resume)

static int destroy(void *p)
{
    struct th_task *t = p;
    if (!t->done) {
        t->stop = 1;
        __atomic_store_n(&t->go, 1, __ATOMIC_RELEASE);
        futex(&t->go, FUTEX_WAKE_PRIVATE, 1);
    }
    pthread_join(t->th, NULL);
    free(t);
    return 0;
}

const struct model model_threads = {
    "threads", "one POSIX thread per task, futex hand-off",
    (size_t)8 << 20, NULL, NULL, create, resume, ring, destroy,
    NULL, NULL, NULL,
};
