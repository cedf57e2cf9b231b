# SPDX-License-Identifier: MIT
# The instruction-stepping test (tests/step_switch.c): a program of its own,
# so that it can tell the automake harness that it skipped (exit status 77)
# where nothing can be stepped, and runs without a fixed time limit.
check_PROGRAMS += tests/step_switch
TESTS += tests/step_switch
tests_step_switch_SOURCES = tests/step_switch.c tests/memcheck.h
tests_step_switch_LDADD = libpagedstack-internal.la $(LIBUNWIND_LIBS) \
	$(PTHREAD_LIBS)
