/* SPDX-License-Identifier: MIT */
/*
 * tests/check_reliability: the reliability suite's runner.
 *
 * Every test runs in a process of its own (Check's fork mode): the library
 * installs a process-wide SIGSEGV handler once per process, and several
 * tests need to install theirs before it, or to be the first to call it.
 * So this process itself never calls the library.
 *
 * `check_reliability --helper NAME` runs one of the helper modes
 * (rel_helper), for tests that need a freshly exec'ed process or a
 * shell's view of one.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rel.h"

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--helper") == 0)
        return rel_helper(argv[2]);

    /* Line by line: a failing test's process ends without flushing. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    rel_cov_begin();
    SRunner *sr = srunner_create(rel_inject_suite());
    srunner_add_suite(sr, rel_sent_suite());
    srunner_add_suite(sr, rel_handlers_suite());
    srunner_add_suite(sr, rel_signals_suite());
    srunner_add_suite(sr, rel_async_suite());
    srunner_add_suite(sr, rel_lost_suite());
    srunner_add_suite(sr, rel_chain_suite());
    srunner_add_suite(sr, rel_fork_suite());
    srunner_add_suite(sr, rel_exec_suite());
    srunner_add_suite(sr, rel_thread_suite());
    srunner_add_suite(sr, rel_dlopen_suite());
    srunner_add_suite(sr, rel_security_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    rel_cov_summary();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
