# SPDX-License-Identifier: MIT
# Memory demos.
#
# first_look: the README's first demo (100,000 tasks that may each use
# 8 MiB, and what they really cost).  compare_memory: the same workloads on
# pagedstack and the usual alternatives, one child process per cell; it
# runs its pagedstack and thread cells itself, the models built on the bare
# context switch in mem_switched (which needs the internal library), and
# the Boost.Context model in mem_boost, which demos/run_memory.sh builds
# with c++ when libboost-context-dev is installed.
#
# -no-install: no libtool wrapper script, so that demos/first_look is the
# program itself and compare_memory finds mem_switched next to it.

mem_common = \
	demos/mem_measure.c demos/mem_measure.h \
	demos/mem_work.c demos/mem_work.h \
	demos/mem_cell.c demos/mem_cell.h

noinst_PROGRAMS += demos/first_look demos/compare_memory demos/mem_switched

demos_first_look_SOURCES = demos/first_look.c \
	demos/mem_measure.c demos/mem_measure.h
demos_first_look_LDADD = libpagedstack.la
demos_first_look_LDFLAGS = -no-install

demos_compare_memory_SOURCES = demos/compare_memory.c \
	demos/mem_driver.h demos/mem_spawn.c demos/mem_report.c \
	demos/mem_pgs.c demos/mem_threads.c $(mem_common)
demos_compare_memory_LDADD = libpagedstack.la $(PTHREAD_LIBS)
demos_compare_memory_LDFLAGS = -no-install

demos_mem_switched_SOURCES = demos/mem_switched.c \
	demos/mem_stacks.c demos/mem_copystack.c demos/stack_copy.h \
	$(mem_common)
demos_mem_switched_LDADD = libpagedstack-internal.la
demos_mem_switched_LDFLAGS = -no-install

TESTS += demos/memory-quick.test
EXTRA_DIST += demos/memory-quick.test demos/run_memory.sh \
	demos/plot_memory.gp demos/mem_boost.cpp
CLEANFILES += demos/mem_boost
