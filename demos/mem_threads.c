/* SPDX-License-Identifier: MIT */
/*
 * Model 2: one POSIX thread per task, with the default stack size (the
 * RLIMIT_STACK soft limit, 8 MiB here, plus a guard page).  A waiting task
 * is a thread blocked on its own semaphore; "resume task i" posts it and
 * waits until the thread has parked again, so that one round is the same
 * hand-over, one task at a time, as with coroutines.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mem_cell.h"
#include "mem_measure.h"

static pthread_t *threads;
static sem_t *go;      /* go[i]: task i may continue */
static sem_t parked;   /* posted by a task each time it waits or ends */

static void wait_sem(void *ctx)
{
    sem_t *mine = ctx;
    sem_post(&parked);
    while (sem_wait(mine) != 0)
        ;
}

static void *body(void *arg)
{
    long i = (long)(intptr_t)arg;
    mem_work_run(mem_cell_work, i, wait_sem, &go[i]);
    sem_post(&parked);
    return NULL;
}

static void wait_parked(void)
{
    while (sem_wait(&parked) != 0)
        ;
}

static int setup(long n, const struct mem_work *w, struct mem_fail *why)
{
    (void)w;
    threads = calloc((size_t)n, sizeof *threads);
    go = calloc((size_t)n, sizeof *go);
    if (!threads || !go || sem_init(&parked, 0, 0) != 0) {
        mem_fail_errno(why, "setup", errno);
        return -1;
    }
    for (long i = 0; i < n; i++)
        sem_init(&go[i], 0, 0);
    return 0;
}

static int create(long i, struct mem_fail *why)
{
    int err = pthread_create(&threads[i], NULL, body, (void *)(intptr_t)i);
    if (err) {
        mem_fail_errno(why, "pthread_create", err);
        /* Say which limits were near: threads are pids. */
        size_t len = strlen(why->note);
        snprintf(why->note + len, sizeof why->note - len,
                 "; kernel.pid_max %ld, kernel.threads-max %ld, %ld threads here",
                 mem_read_long("/proc/sys/kernel/pid_max"),
                 mem_read_long("/proc/sys/kernel/threads-max"), i + 1);
        return -1;
    }
    wait_parked();
    return 0;
}

static int resume(long i, struct mem_fail *why)
{
    (void)why;
    sem_post(&go[i]);
    wait_parked();
    return 0;
}

static int finish(long i, struct mem_fail *why)
{
    (void)why;
    sem_post(&go[i]);
    wait_parked();
    pthread_join(threads[i], NULL);
    return 0;
}

const struct mem_model mem_model_threads = {
    .name = "threads",
    .stack_size = (size_t)8 << 20, /* glibc's default: RLIMIT_STACK, 8 MiB */
    .setup = setup,
    .create = create,
    .resume = resume,
    .finish = finish,
};
