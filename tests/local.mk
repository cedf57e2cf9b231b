# SPDX-License-Identifier: MIT
# The test suites.  Each is one Check program linked with the convenience
# library (all internals visible, fault injection compiled in); each has its
# own fragment so it can be built and read on its own.
include $(srcdir)/tests/sanitizers.mk
include $(srcdir)/tests/gdb.mk
include $(srcdir)/tests/asan_user.mk
include $(srcdir)/tests/step.mk

if HAVE_CHECK
include $(srcdir)/tests/core.mk
include $(srcdir)/tests/reliability.mk
include $(srcdir)/tests/valgrind.mk
endif
