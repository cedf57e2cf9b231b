# SPDX-License-Identifier: MIT
# The gdb helper (gdb/pagedstack-gdb.py) against a small program.
check_PROGRAMS += tests/gdb_target
tests_gdb_target_SOURCES = tests/gdb_target.c
tests_gdb_target_CFLAGS = $(AM_CFLAGS) -O0 -g
tests_gdb_target_LDADD = libpagedstack.la
TESTS += tests/gdb.test
EXTRA_DIST += tests/gdb.test
