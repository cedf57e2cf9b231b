# SPDX-License-Identifier: MIT
# The test suites.  Each is one Check program linked with the convenience
# library (all internals visible, fault injection compiled in); each has its
# own fragment so it can be built and read on its own.
# What the scripted tests that compile, link or install (tests/gdb.test,
# tests/static.test) need to know of the build, in every build.
test_tools_environment = \
	CC='$(CC)'; CFLAGS='$(CFLAGS)'; LDFLAGS='$(LDFLAGS)'; \
	PKG_CONFIG='$(PKG_CONFIG)'; MAKE='$(MAKE)'; \
	export CC CFLAGS LDFLAGS PKG_CONFIG MAKE;

include $(srcdir)/tests/sanitizers.mk
include $(srcdir)/tests/static.mk
include $(srcdir)/tests/gdb.mk
include $(srcdir)/tests/asan_user.mk
include $(srcdir)/tests/step.mk

if HAVE_CHECK
include $(srcdir)/tests/core.mk
include $(srcdir)/tests/reliability.mk
include $(srcdir)/tests/valgrind.mk
endif

# No cycle between the files of lib/.
TESTS += tests/lib_cycles.test
EXTRA_DIST += tests/lib_cycles.test
