# SPDX-License-Identifier: MIT
# Demo programs: what the library is for, measured (the README's Layout
# says what each directory holds).
demo_cppflags = $(AM_CPPFLAGS) -I$(srcdir)/demos/harness \
	-I$(srcdir)/demos/models

# -no-install: no libtool wrapper script, so that the program that runs is
# the one the parent runs again for every cell.
noinst_PROGRAMS += demos/first_look demos/bench
demos_first_look_SOURCES = demos/first_look.c demos/harness/measure.c \
	demos/harness/harness.h
demos_first_look_CPPFLAGS = $(demo_cppflags)
demos_first_look_LDADD = libpagedstack.la
demos_first_look_LDFLAGS = -no-install

demos_bench_SOURCES = demos/harness/harness.h \
	demos/harness/main.c demos/harness/cell.c demos/harness/measure.c \
	demos/harness/report.c demos/harness/row.c demos/harness/timing.c \
	demos/models/model.h demos/models/job.c demos/models/models.c \
	demos/models/pagedstack.c demos/models/switched.c \
	demos/models/threads.c demos/switch/switch.c demos/memory/memory.c
demos_bench_CPPFLAGS = $(demo_cppflags)
# The internal library (the same sources, internals visible): its system
# call wrappers count (models/pagedstack.c), and the models on stacks of
# their own switch with its register switch (models/switched.c).
demos_bench_LDADD = libpagedstack-internal.la $(PTHREAD_LIBS) -lm
demos_bench_LDFLAGS = -no-install

TESTS += demos/bench-quick.test demos/memory-quick.test
EXTRA_DIST += demos/bench-quick.test demos/memory-quick.test \
	demos/run_bench.sh demos/run_memory.sh demos/models/fcontext.cpp \
	demos/models/build-fcontext.sh demos/memory/plot.gp demos/switch/goals.csv \
	demos/switch/README.md demos/memory/README.md
CLEANFILES += demos/bench-fcontext

include $(srcdir)/demos/echo/echo.mk

# The measured results the README cites, shipped in the tarball: every
# file of demos/results but what a quick or partial run leaves there.
dist-hook: dist-demo-results
dist-demo-results:
	$(MKDIR_P) $(distdir)/demos/results
	for f in $(srcdir)/demos/results/*; do \
		case $${f##*/} in \
		bench-quick.*|bench-partial.*) ;; \
		*) cp -p "$$f" $(distdir)/demos/results/ || exit 1 ;; \
		esac; \
	done
