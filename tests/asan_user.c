/* SPDX-License-Identifier: MIT */
/*
 * A program built with AddressSanitizer against the library built without
 * it, as users build theirs (issue 13): only this file is instrumented.
 * Its frames poison redzones in ASan's shadow at the region's addresses;
 * the library copies shallow stacks aside and back and shows one task
 * after another at the same addresses, and neither its copies nor the
 * next task may trip over the redzones another task left.  Many shallow
 * tasks and a few deep ones take turns in one region; every frame checks
 * its bytes after each switch.  Exit status 0 passes; ASan's report (exit
 * status 1) or a changed frame (2) fails.
 */
#include <pagedstack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TASKS 40
#define ROUNDS 6

static __attribute__((noinline)) int frames(int depth, unsigned seed,
                                            size_t big)
{
    char buf[200]; /* redzones on both sides */
    memset(buf, (int)(seed & 0xff), sizeof buf);
    int bad = 0;
    if (depth > 0) {
        bad = frames(depth - 1, seed * 31u + 7u, big);
    } else if (big) {
        char *deep = __builtin_alloca(big); /* deep enough for an extent */
        memset(deep, 0x5a, big);
        pgs_yield(NULL);
        for (size_t i = 0; i < big; i += 4096)
            bad |= deep[i] != 0x5a;
    } else {
        pgs_yield(NULL);
    }
    for (size_t i = 0; i < sizeof buf; i++)
        bad |= buf[i] != (char)(seed & 0xff);
    return bad;
}

static void *task(void *arg)
{
    unsigned n = (unsigned)(size_t)arg;
    size_t big = n % 10 == 0 ? (size_t)500 << 10 : 0;
    int bad = 0;
    for (int r = 0; r < ROUNDS; r++)
        bad |= frames((int)(n % 9) + 1, n + (unsigned)r, big);
    return bad ? (void *)1 : NULL;
}

int main(void)
{
    struct pgs_config c = { .regions = 1 };
    if (pgs_thread_init(&c) != 0) {
        perror("pgs_thread_init");
        return 3;
    }
    pgs_task *t[TASKS];
    for (unsigned i = 0; i < TASKS; i++)
        if (!(t[i] = pgs_create(task, (void *)(size_t)i))) {
            perror("pgs_create");
            return 3;
        }
    int bad = 0, live = TASKS;
    while (live > 0) {
        live = 0;
        for (unsigned i = 0; i < TASKS; i++) {
            if (pgs_state(t[i]) == PGS_DONE)
                continue;
            void *out = NULL;
            if (pgs_resume(t[i], NULL, &out) != 0) {
                perror("pgs_resume");
                return 3;
            }
            if (pgs_state(t[i]) == PGS_DONE)
                bad |= out != NULL;
            else
                live++;
        }
    }
    for (unsigned i = 0; i < TASKS; i++)
        pgs_destroy(t[i]);
    pgs_thread_fini();
    if (bad)
        fprintf(stderr, "asan_user: a task found its frames changed\n");
    return bad ? 2 : 0;
}
