# SPDX-License-Identifier: MIT
# The switch benchmark: pagedstack next to a copy-stack runtime, pthreads
# and Boost.Context fcontext.  demos/run_bench.sh runs it all and writes
# demos/results/bench.{csv,md}; demos/bench-quick.test is its smoke run.
noinst_PROGRAMS += demos/bench_switch
demos_bench_switch_SOURCES = \
	demos/bench.h \
	demos/bench_common.c \
	demos/bench_models.h \
	demos/bench_models.c \
	demos/stack_copy.h \
	demos/bench_memory.c \
	demos/mem_measure.c \
	demos/mem_measure.h \
	demos/bench_report.c \
	demos/bench_switch.c
# The internal library: the copy-stack model is written on pgs__switch, and
# its system call wrappers count every call the library makes (lib/sys.h).
demos_bench_switch_LDADD = libpagedstack-internal.la $(PTHREAD_LIBS)

# Boost.Context is optional (configure does not look for it): run_bench.sh
# compiles this with c++ when the header is there.
EXTRA_DIST += demos/bench_boost.cpp demos/run_bench.sh
CLEANFILES += demos/bench_boost demos/bench_boost-common.o

# Smoke run: every model and scenario kind, tiny counts; never a time.
TESTS += demos/bench-quick.test
EXTRA_DIST += demos/bench-quick.test
