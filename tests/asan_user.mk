# SPDX-License-Identifier: MIT
# A program built with AddressSanitizer against the library as it is
# installed (uninstrumented, unless the whole build is): only the test
# program is instrumented.  Not in a ThreadSanitizer build, whose runtime
# cannot be loaded beside ASan's.
if !TSAN
check_PROGRAMS += tests/asan_user
TESTS += tests/asan_user
tests_asan_user_SOURCES = tests/asan_user.c
tests_asan_user_CFLAGS = $(AM_CFLAGS) -fsanitize=address \
	-fno-omit-frame-pointer
tests_asan_user_LDFLAGS = -fsanitize=address
tests_asan_user_LDADD = libpagedstack.la
endif
