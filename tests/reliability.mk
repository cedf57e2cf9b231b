# SPDX-License-Identifier: MIT
# The reliability suite (issue 3): fault injection, signals, other SIGSEGV
# handlers, fork, exec, thread exit, dlclose, stack secrecy.  Linked with
# the convenience library (fault injection compiled in); the dlopen test
# loads the installed-style shared library from the build tree.
check_PROGRAMS += tests/check_reliability
TESTS += tests/check_reliability
tests_check_reliability_SOURCES = \
	tests/rel.h \
	tests/memcheck.h \
	tests/emulation.h \
	tests/rel_main.c \
	tests/rel_proc.c \
	tests/rel_pattern.c \
	tests/rel_inject.h \
	tests/rel_inject.c \
	tests/rel_inject_ops.c \
	tests/rel_sent.c \
	tests/rel_handlers.c \
	tests/rel_signals.c \
	tests/rel_async.c \
	tests/rel_lost.c \
	tests/rel_chain.c \
	tests/rel_fork.c \
	tests/rel_exec.c \
	tests/rel_thread.c \
	tests/rel_dlopen.c \
	tests/rel_security.c \
	tests/rel_helper.c
tests_check_reliability_CPPFLAGS = $(AM_CPPFLAGS) -DPGS_FAULT_INJECTION \
	-DPGS_SO_PATH=\"$(abs_top_builddir)/.libs/libpagedstack.so\"
tests_check_reliability_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_check_reliability_LDADD = libpagedstack-internal.la $(CHECK_LIBS) \
	$(LIBUNWIND_LIBS) $(PTHREAD_LIBS) -ldl
CLEANFILES += tests/injection-coverage.txt
