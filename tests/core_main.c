/* SPDX-License-Identifier: MIT */
/*
 * The core test suite of pagedstack: the API contract, stacks that stay
 * intact through thousands of switches, isolation between tasks, system
 * calls into untouched stack, crashes that must stay loud and faults that
 * must stay someone else's, threads, and the memory figures.
 *
 * Every test runs in a child process of its own (CK_FORK is forced: the
 * crash tests need it, and every test relies on starting with a thread
 * that never ran a task).  This process never calls the library.
 * CK_RUN_CASE=name runs one case; CK_VERBOSITY=verbose lists every test.
 */
#include "config.h"
#include <stdlib.h>
#include "core_util.h"

int main(void)
{
    Suite *s = suite_create("core");
    core_add_api(s);
    core_add_setup(s);
    core_add_internal(s);
    core_add_stacks(s);
    core_add_regions(s);
    core_add_resume(s);
    core_add_isolation(s);
    core_add_syscalls(s);
    core_add_crashes(s);
    core_add_signals(s);
    core_add_threads(s);
    core_add_memory(s);
    core_add_debug(s);
    core_add_defects(s);

    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
