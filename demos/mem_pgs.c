/* SPDX-License-Identifier: MIT */
/*
 * Model 1: pagedstack, through its public API only.  Every task may use the
 * default 8 MiB; what it costs is what it touched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "pagedstack.h"
#include "mem_cell.h"

static pgs_task **tasks;

static void wait_yield(void *ctx)
{
    (void)ctx;
    pgs_yield(NULL);
}

static void *body(void *arg)
{
    mem_work_run(mem_cell_work, (long)(intptr_t)arg, wait_yield, NULL);
    return NULL;
}

static int setup(long n, const struct mem_work *w, struct mem_fail *why)
{
    (void)w;
    tasks = calloc((size_t)n, sizeof *tasks);
    if (!tasks || pgs_thread_init(NULL) != 0) {
        mem_fail_errno(why, "setup", errno);
        return -1;
    }
    for (long i = 0; i < n; i++) /* touch the handle array now */
        tasks[i] = NULL;
    return 0;
}

static int create(long i, struct mem_fail *why)
{
    tasks[i] = pgs_create(body, (void *)(intptr_t)i);
    if (!tasks[i]) {
        mem_fail_errno(why, "pgs_create", errno);
        return -1;
    }
    if (pgs_resume(tasks[i], NULL, NULL) != 0) {
        mem_fail_errno(why, "pgs_resume (first)", errno);
        return -1;
    }
    return 0;
}

static int resume(long i, struct mem_fail *why)
{
    if (pgs_resume(tasks[i], NULL, NULL) != 0) {
        mem_fail_errno(why, "pgs_resume", errno);
        return -1;
    }
    return 0;
}

static int finish(long i, struct mem_fail *why)
{
    if (pgs_resume(tasks[i], NULL, NULL) != 0 ||
        pgs_state(tasks[i]) != PGS_DONE || pgs_destroy(tasks[i]) != 0) {
        mem_fail_errno(why, "pgs_resume/pgs_destroy (finish)", errno);
        return -1;
    }
    return 0;
}

static void stats(char *buf, size_t len)
{
    struct pgs_stats s;
    if (pgs_stats(&s) == 0)
        snprintf(buf, len,
                 " pgs_stack=%zu pgs_pool=%zu pgs_faults=%llu pgs_remaps=%llu",
                 s.stack_bytes, s.pool_bytes, (unsigned long long)s.faults,
                 (unsigned long long)s.remaps);
}

const struct mem_model mem_model_pgs = {
    .name = "pagedstack",
    .stack_size = (size_t)8 << 20,
    .setup = setup,
    .create = create,
    .resume = resume,
    .finish = finish,
    .stats = stats,
};
