# SPDX-License-Identifier: MIT
# Demo programs: what the library is for, measured.
include $(srcdir)/demos/memory.mk
include $(srcdir)/demos/bench.mk
include $(srcdir)/demos/echo/echo.mk

# The measured results the README cites, shipped in the tarball: every
# file of demos/results but what a quick or interrupted benchmark run
# leaves there (bench-quick.*, bench-partial.*; see .gitignore).
dist-hook: dist-demo-results
dist-demo-results:
	$(MKDIR_P) $(distdir)/demos/results
	for f in $(srcdir)/demos/results/*; do \
		case $${f##*/} in \
		bench-quick.*|bench-partial.*) ;; \
		*) cp -p "$$f" $(distdir)/demos/results/ || exit 1 ;; \
		esac; \
	done
