# SPDX-License-Identifier: MIT
# Demo programs: what the library is for, measured.
include $(srcdir)/demos/memory.mk
include $(srcdir)/demos/bench.mk
include $(srcdir)/demos/echo/echo.mk

# The measured results the README cites, shipped in the tarball.
EXTRA_DIST += \
	demos/results/memory.md demos/results/memory.csv \
	demos/results/memory.png demos/results/memory.svg \
	demos/results/bench.md demos/results/bench.csv \
	demos/results/bench.txt demos/results/bench-syscalls.tsv \
	demos/results/echo.md demos/results/echo.csv demos/results/echo.png
