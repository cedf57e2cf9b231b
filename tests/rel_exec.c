/* SPDX-License-Identifier: MIT */
/*
 * No descriptor the library opens survives exec: the page pool's memfd is
 * opened with MFD_CLOEXEC, in the thread that starts it and in the child
 * of a fork (which opens a pool of its own).  A program exec'ed after the
 * library was used sees no "memfd:pagedstack" among its descriptors.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "emulation.h"
#include "rel.h"

extern char **environ;

/* The exec'ed program's view of its descriptors, into buf. */
static int list_fds_after_exec(char *buf, size_t len)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    char *argv[] = { "sh", "-c",
                     "for f in /proc/self/fd/*; do "
                     "echo \"$f -> $(readlink $f)\"; done", NULL };
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return -1;
    }
    size_t n = 0;
    ssize_t k;
    while (n < len - 1 && (k = read(p[0], buf + n, len - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = '\0';
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return 0;
}

static REL_NOINLINE long deep(size_t depth)
{
    volatile char buf[4096];
    buf[0] = 1;
    return (depth > sizeof buf ? deep(depth - sizeof buf) : 0) + buf[0];
}

static char listing[8192];
static int listed;

static void *lister(void *arg)
{
    (void)arg;
    deep(200 * REL_KIB);
    listed = list_fds_after_exec(listing, sizeof listing);
    return NULL;
}

START_TEST(test_pool_fd_is_cloexec)
{
    pgs_task *t = pgs_create(lister, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    int fd = rel_find_pool_fd();
    ck_assert_msg(fd >= 0, "the page pool's memfd is not among our "
                  "descriptors");
    int flags = fcntl(fd, F_GETFD);
    ck_assert_msg(flags >= 0 && (flags & FD_CLOEXEC),
                  "the page pool's memfd (fd %d) is not close-on-exec", fd);
    ck_assert_int_eq(listed, 0);
    ck_assert_msg(strstr(listing, "/proc/self/fd/0") != NULL,
                  "the exec'ed shell listed nothing: %s", listing);
    ck_assert_msg(strstr(listing, "memfd:pagedstack") == NULL,
                  "a program exec'ed from a task inherited the pool: %s",
                  listing);
    ck_assert_int_eq(pgs_destroy(t), 0);
    /* And from the thread's own stack. */
    ck_assert_int_eq(list_fds_after_exec(listing, sizeof listing), 0);
    ck_assert_msg(strstr(listing, "memfd:pagedstack") == NULL,
                  "an exec'ed program inherited the pool: %s", listing);
}
END_TEST

/* The child of a fork opens its own pool: also close-on-exec. */
static void *fork_then_exec(void *arg)
{
    int *out = arg;
    deep(100 * REL_KIB);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = rel_find_pool_fd();
        int flags = fd >= 0 ? fcntl(fd, F_GETFD) : -1;
        if (fd < 0 || flags < 0 || !(flags & FD_CLOEXEC))
            _exit(3);
        /* exec from the task's stack, in the child */
        char *argv[] = { "sh", "-c",
                         "for f in /proc/self/fd/*; do readlink $f; done | "
                         "grep -q memfd:pagedstack && exit 4; exit 0",
                         NULL };
        execve("/bin/sh", argv, environ);
        _exit(5);
    }
    int st = -1;
    waitpid(pid, &st, 0);
    *out = st;
    return NULL;
}

START_TEST(test_forked_pool_fd_is_cloexec)
{
    int st = -1;
    pgs_task *t = pgs_create(fork_then_exec, &st);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(pgs_resume(t, NULL, NULL), 0);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "in the child of a fork from a task: %s",
                  WIFEXITED(st) && WEXITSTATUS(st) == 3
                      ? "the child's pool memfd is missing or not "
                        "close-on-exec"
                  : WIFEXITED(st) && WEXITSTATUS(st) == 4
                      ? "the exec'ed program inherited the pool"
                      : "the child failed");
    ck_assert_int_eq(pgs_destroy(t), 0);
}
END_TEST

Suite *rel_exec_suite(void)
{
    Suite *s = suite_create("exec");
    TCase *tc = tcase_create("exec");
    tcase_set_timeout(tc, 30);
    /* posix_spawn starts its child with clone(CLONE_VM | CLONE_VFORK);
     * qemu-user makes that a plain fork and does not suspend the parent
     * until the exec.  From a task, whose stack pages are MAP_SHARED, the
     * child and the parent then run at once on the same stack pages, and
     * the spawn fails or the parent's frames are overwritten: something
     * no kernel does. */
    if (!emu_skip("test_pool_fd_is_cloexec",
                  "qemu-user runs posix_spawn's vfork child beside its "
                  "parent, on a task's shared stack pages"))
        tcase_add_test(tc, test_pool_fd_is_cloexec);
    tcase_add_test(tc, test_forked_pool_fd_is_cloexec);
    suite_add_tcase(s, tc);
    return s;
}
