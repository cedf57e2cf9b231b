# SPDX-License-Identifier: MIT
# Manual pages: a page for every public function, and pagedstack(7) for the
# design.  pgs_name.3, pgs_stats_print.3 and pgs_backtrace_print.3 are .so
# links to the page that documents them together with a sibling.
# man/render.test renders every page and fails on any formatter warning,
# and checks that every function the header exports has a page and that
# this list names every page.

dist_man3_MANS = \
	man/pgs_backtrace.3 \
	man/pgs_backtrace_print.3 \
	man/pgs_create.3 \
	man/pgs_destroy.3 \
	man/pgs_name.3 \
	man/pgs_resume.3 \
	man/pgs_self.3 \
	man/pgs_set_name.3 \
	man/pgs_state.3 \
	man/pgs_stats.3 \
	man/pgs_stats_print.3 \
	man/pgs_task_stack_bytes.3 \
	man/pgs_thread_fini.3 \
	man/pgs_thread_init.3 \
	man/pgs_yield.3

dist_man7_MANS = man/pagedstack.7

TESTS += man/render.test
EXTRA_DIST += man/render.test
