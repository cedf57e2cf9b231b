# SPDX-License-Identifier: MIT
# The echo demo: a TCP server on libuv in which every connection is a
# pagedstack task, the same server thread-per-connection, and a load
# generator to compare them (demos/echo/run.sh).  Built only when configure
# found libuv (Debian: libuv1-dev).  The files: demos/echo/README.md.

echo_common = demos/echo/request.c demos/echo/request.h \
	demos/echo/serve.c demos/echo/serve.h \
	demos/echo/setup.c demos/echo/setup.h

if HAVE_LIBUV
noinst_PROGRAMS += demos/echo/echo_uv demos/echo/echo_threads \
	demos/echo/echo_loadgen
TESTS += demos/echo/smoke.test
endif

demos_echo_echo_uv_SOURCES = demos/echo/server_uv.c demos/echo/uv_yield.h \
	$(echo_common)
demos_echo_echo_uv_CFLAGS = $(AM_CFLAGS) $(LIBUV_CFLAGS)
demos_echo_echo_uv_LDADD = libpagedstack.la $(LIBUV_LIBS)
demos_echo_echo_uv_LDFLAGS = -no-install

demos_echo_echo_threads_SOURCES = demos/echo/server_threads.c $(echo_common)
demos_echo_echo_threads_LDADD = $(PTHREAD_LIBS)

demos_echo_echo_loadgen_SOURCES = demos/echo/loadgen.c $(echo_common) \
	demos/harness/measure.c demos/harness/harness.h
demos_echo_echo_loadgen_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/demos/harness

EXTRA_DIST += demos/echo/run.sh demos/echo/plot.gp demos/echo/smoke.test \
	demos/echo/README.md demos/echo/servers.sh
