/* SPDX-License-Identifier: MIT */
/*
 * Threads: several threads run their own tasks at once; a task belongs to
 * the thread that created it (resume and destroy elsewhere say EPERM, the
 * read-only calls work anywhere); a thread that exits with live tasks
 * releases its stacks, and its tasks become orphans that can only be
 * destroyed.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core_util.h"

#define V(x) ((void *)(uintptr_t)(x))

/* ---- several threads at once ----------------------------------------- */

#define THREADS 4
#define PER_THREAD 200

struct worker {
    unsigned index;
    unsigned regions;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pgs_config cfg = { .regions = w->regions };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    struct core_stask *v = calloc(PER_THREAD, sizeof *v);
    ck_assert_ptr_nonnull(v);
    uint64_t rng = 1000 + w->index;
    for (unsigned i = 0; i < PER_THREAD; i++) {
        unsigned r = (unsigned)(core_rand(&rng) % 100);
        v[i].id = w->index * 10000 + i + 1;
        v[i].depth = r < 3 ? (400 << 10) + core_rand(&rng) % (112 << 10)
                   : r < 20 ? core_rand(&rng) % (64 << 10)
                            : core_rand(&rng) % (6 << 10);
        v[i].rounds = 4;
    }
    core_stasks_run(v, PER_THREAD, rng);
    struct pgs_stats st = core_stats();
    ck_assert_uint_eq(st.tasks, 0);
    ck_assert_uint_eq(st.stack_bytes, 0);
    ck_assert_uint_gt(st.faults, 0);
    free(v);
    ck_assert_int_eq(pgs_thread_fini(), 0);
    return V(w->index + 1);
}

START_TEST(threads_at_once)
{
    pthread_t th[THREADS];
    struct worker w[THREADS];
    for (unsigned i = 0; i < THREADS; i++) {
        w[i] = (struct worker){ .index = i, .regions = (unsigned)_i };
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (unsigned i = 0; i < THREADS; i++) {
        void *r = NULL;
        ck_assert_int_eq(pthread_join(th[i], &r), 0);
        ck_assert_ptr_eq(r, V(i + 1));
    }
    /* The main thread never ran a task: its figures are its own. */
    ck_assert_uint_eq(core_stats().tasks, 0);
}
END_TEST

/* ---- a task belongs to its thread ------------------------------------- */

static pthread_barrier_t bar;
static pgs_task *owned;     /* created by the other thread */
static pgs_task *main_task; /* created by the main thread */

static void *owner_main(void *arg)
{
    owned = pgs_create(core_yield_forever, V(0x0e));
    ck_assert_ptr_nonnull(owned);
    ck_assert_int_eq(pgs_set_name(owned, "owned"), 0);
    void *out = NULL;
    ck_assert_int_eq(pgs_resume(owned, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(0x0e));
    pthread_barrier_wait(&bar); /* 1: main tries our task */
    pthread_barrier_wait(&bar); /* 2: main has a task of its own */
    errno = 0;
    ck_assert_int_eq(pgs_resume(main_task, NULL, NULL), -1);
    ck_assert_int_eq(errno, EPERM);
    errno = 0;
    ck_assert_int_eq(pgs_destroy(main_task), -1);
    ck_assert_int_eq(errno, EPERM);
    ck_assert_int_eq(pgs_state(main_task), PGS_SUSPENDED);
    /* Our own task still works after all that. */
    ck_assert_int_eq(pgs_resume(owned, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(0x0e));
    ck_assert_int_eq(pgs_destroy(owned), 0);
    pthread_barrier_wait(&bar); /* 3 */
    return NULL;
}

START_TEST(cross_thread_eperm)
{
    ck_assert_int_eq(pthread_barrier_init(&bar, NULL, 2), 0);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, owner_main, NULL), 0);
    pthread_barrier_wait(&bar); /* 1 */
    /* This thread is not even initialised. */
    void *out = V(0x99);
    errno = 0;
    ck_assert_int_eq(pgs_resume(owned, NULL, &out), -1);
    ck_assert_int_eq(errno, EPERM);
    ck_assert_ptr_eq(out, V(0x99));
    errno = 0;
    ck_assert_int_eq(pgs_destroy(owned), -1);
    ck_assert_int_eq(errno, EPERM);
    /* The read-only calls work from any thread; the stack figure only
     * the owner can tell (elsewhere it is 0). */
    ck_assert_int_eq(pgs_state(owned), PGS_SUSPENDED);
    ck_assert_str_eq(pgs_name(owned), "owned");
    ck_assert_uint_eq(pgs_task_stack_bytes(owned), 0);
    /* Initialised, with a task of its own: still not its task. */
    main_task = pgs_create(core_yield_forever, V(0x3a));
    ck_assert_ptr_nonnull(main_task);
    ck_assert_int_eq(pgs_resume(main_task, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(0x3a));
    errno = 0;
    ck_assert_int_eq(pgs_resume(owned, NULL, &out), -1);
    ck_assert_int_eq(errno, EPERM);
    errno = 0;
    ck_assert_int_eq(pgs_destroy(owned), -1);
    ck_assert_int_eq(errno, EPERM);
    ck_assert_int_eq(pgs_state(owned), PGS_SUSPENDED);
    pthread_barrier_wait(&bar); /* 2 */
    pthread_barrier_wait(&bar); /* 3 */
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(pgs_resume(main_task, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(0x3a));
    ck_assert_int_eq(pgs_destroy(main_task), 0);
    pthread_barrier_destroy(&bar);
}
END_TEST

/* ---- a thread exits with live tasks ------------------------------------ */

enum { ORPHAN_CREATED, ORPHAN_SHALLOW, ORPHAN_DEEP, ORPHAN_DONE, ORPHANS };
static pgs_task *orphans[ORPHANS];
static const int orphan_states[ORPHANS] = {
    PGS_CREATED, PGS_SUSPENDED, PGS_SUSPENDED, PGS_DONE,
};

static void *fn_deep_wait(void *arg)
{
    static struct core_stask s = { .id = 9, .depth = CORE_MIB, .rounds = 1 };
    s.task = pgs_self();
    core_stask_descend(&s); /* waits at the bottom, forever */
    return NULL;
}

static void *leaver_main(void *arg)
{
    struct pgs_config cfg = { .regions = (unsigned)(uintptr_t)arg };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    orphans[ORPHAN_CREATED] = pgs_create(core_yield_forever, NULL);
    orphans[ORPHAN_SHALLOW] = pgs_create(core_yield_forever, NULL);
    orphans[ORPHAN_DEEP] = pgs_create(fn_deep_wait, NULL);
    orphans[ORPHAN_DONE] = pgs_create(core_return_arg, NULL);
    for (int i = 0; i < ORPHANS; i++) {
        ck_assert_ptr_nonnull(orphans[i]);
        char name[16];
        snprintf(name, sizeof name, "orphan-%d", i);
        ck_assert_int_eq(pgs_set_name(orphans[i], name), 0);
        if (i != ORPHAN_CREATED)
            ck_assert_int_eq(pgs_resume(orphans[i], NULL, NULL), 0);
        ck_assert_int_eq(pgs_state(orphans[i]), orphan_states[i]);
    }
    ck_assert_uint_ge(pgs_task_stack_bytes(orphans[ORPHAN_DEEP]), CORE_MIB);
    return NULL; /* exits with four live tasks */
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static int pool_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "memfd:pagedstack"))
            n++;
    fclose(f);
    return n;
}

START_TEST(thread_exit_orphans)
{
    int main_inits = _i >= 2;
    unsigned regions = (_i & 1) ? 1 : 0;
    pgs_task *mine = NULL;
    if (main_inits) {
        ck_assert_int_eq(pgs_thread_init(NULL), 0);
        mine = pgs_create(core_yield_forever, V(0x11));
        ck_assert_int_eq(pgs_resume(mine, NULL, NULL), 0);
    }
    int fds = count_fds(), maps = pool_mappings();
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, leaver_main,
                                    (void *)(uintptr_t)regions), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    /* The thread's pool (memfd) and regions went with it. */
    ck_assert_int_eq(count_fds(), fds);
    ck_assert_int_eq(pool_mappings(), maps);

    for (int i = 0; i < ORPHANS; i++) {
        pgs_task *t = orphans[i];
        errno = 0;
        ck_assert_int_eq(pgs_resume(t, NULL, NULL), -1);
        ck_assert_int_eq(errno, EPERM);
        ck_assert_int_eq(pgs_state(t), orphan_states[i]);
        ck_assert_uint_eq(pgs_task_stack_bytes(t), 0);
        char name[16];
        snprintf(name, sizeof name, "orphan-%d", i);
        ck_assert_str_eq(pgs_name(t), name);
    }
    for (int i = 0; i < ORPHANS; i++)
        ck_assert_int_eq(pgs_destroy(orphans[i]), 0);

    /* This thread's tasks were not disturbed, and new ones work. */
    if (mine) {
        void *out = NULL;
        ck_assert_int_eq(pgs_resume(mine, NULL, &out), 0);
        ck_assert_ptr_eq(out, V(0x11));
        ck_assert_int_eq(pgs_destroy(mine), 0);
    }
    struct core_stask s = { .id = 3, .depth = 512 << 10, .rounds = 2 };
    core_stasks_run(&s, 1, 3);
    ck_assert_uint_eq(core_stats().tasks, 0);
}
END_TEST

void core_add_threads(Suite *s)
{
    TCase *tc = core_tcase(s, "threads");
    tcase_add_loop_test(tc, threads_at_once, 0, 2);
    tcase_add_test(tc, cross_thread_eperm);
    tcase_add_loop_test(tc, thread_exit_orphans, 0, 4);
}
