# SPDX-License-Identifier: MIT
# The static library (./configure --enable-static): a program links with
# libpagedstack.a and what pkg-config --static adds, and runs.  make
# distcheck configures with --enable-static so that it is always tested
# there; elsewhere the test skips when no libpagedstack.a was built.
TESTS += tests/static.test
EXTRA_DIST += tests/static.test tests/static_prog.c
AM_DISTCHECK_CONFIGURE_FLAGS = --enable-static
