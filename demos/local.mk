# SPDX-License-Identifier: MIT
# Demo programs: what the library is for, measured.
include $(srcdir)/demos/memory.mk
include $(srcdir)/demos/bench.mk
include $(srcdir)/demos/echo/echo.mk
