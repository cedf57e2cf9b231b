# SPDX-License-Identifier: MIT
# make check-valgrind: both Check suites under memcheck.  Every test runs
# in a child of its own, and valgrind follows the children: an error or a
# leak makes the child exit with 99, which fails that test.  Timeouts are
# stretched (CK_TIMEOUT_MULTIPLIER, which the suites' own child processes
# honour too): code runs tens of times slower under memcheck.
#
#   --vex-iropt-register-updates=allregs-at-mem-access
#        registers exact at every memory access, so that a stack fault can
#        be resumed (the library refuses to start without it);
#   --max-stackframe   a task may move its stack pointer by megabytes at
#        once (big arrays); the default 2 MB would take that for a switch
#        to another stack;
#   --suppressions     reports that are not errors (see the file).
VALGRIND_CHECK_FLAGS = -q --tool=memcheck \
	--vex-iropt-register-updates=allregs-at-mem-access \
	--max-stackframe=16777216 \
	--error-exitcode=99 \
	--leak-check=full --errors-for-leak-kinds=definite,indirect \
	--show-leak-kinds=definite,indirect \
	--suppressions=$(abs_srcdir)/tests/valgrind.supp
EXTRA_DIST += tests/valgrind.supp

# Without the register option the library must refuse to start, and say
# which option it needs (tests/vg_refuse.c).
check_PROGRAMS += tests/vg_refuse
tests_vg_refuse_SOURCES = tests/vg_refuse.c
tests_vg_refuse_LDADD = libpagedstack.la

check-valgrind:
	@if test -z "$(VALGRIND)"; then \
	  echo "check-valgrind: valgrind was not found by configure" >&2; \
	  exit 1; \
	fi
	$(MAKE) $(AM_MAKEFLAGS) tests/vg_refuse
	$(LIBTOOL) --mode=execute $(VALGRIND) -q tests/vg_refuse \
	  2> tests/vg_refuse.err; \
	  st=$$?; cat tests/vg_refuse.err; \
	  test $$st -eq 0 && \
	  grep -q 'allregs-at-mem-access' tests/vg_refuse.err || \
	  { echo "check-valgrind: without the register option the library" \
	         "did not refuse to start" >&2; exit 1; }
	CK_TIMEOUT_MULTIPLIER=20 $(MAKE) $(AM_MAKEFLAGS) check \
	  TESTS="tests/check_core tests/check_reliability" \
	  LOG_COMPILER="$(VALGRIND)" \
	  AM_LOG_FLAGS="$(VALGRIND_CHECK_FLAGS)" \
	  TEST_SUITE_LOG=tests/valgrind-suite.log

CLEANFILES += tests/vg_refuse.err
.PHONY: check-valgrind
