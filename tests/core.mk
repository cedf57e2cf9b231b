# SPDX-License-Identifier: MIT
# The core test suite: one Check program, one topic per file.  It links the
# convenience library (internals visible, fault injection compiled in, and
# disarmed unless a test arms it).
check_PROGRAMS += tests/check_core
TESTS += tests/check_core
tests_check_core_SOURCES = \
	tests/core_util.h \
	tests/memcheck.h \
	tests/emulation.h \
	tests/core_util.c \
	tests/core_main.c \
	tests/core_api.c \
	tests/core_setup.c \
	tests/core_internal.c \
	tests/core_stacks.c \
	tests/core_regions.c \
	tests/core_resume.c \
	tests/core_isolation.c \
	tests/core_syscalls.c \
	tests/core_crashes.c \
	tests/core_signals.c \
	tests/core_threads.c \
	tests/core_memory.c \
	tests/core_debug.c \
	tests/core_defects.c
tests_check_core_CPPFLAGS = $(AM_CPPFLAGS) -DPGS_FAULT_INJECTION
tests_check_core_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_check_core_LDADD = libpagedstack-internal.la $(CHECK_LIBS) \
	$(LIBUNWIND_LIBS) $(PTHREAD_LIBS)
