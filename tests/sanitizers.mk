# SPDX-License-Identifier: MIT
# How every test runs in a sanitizer build (./configure --enable-asan or
# --enable-tsan).  The library owns SIGSEGV: stack growth is a SIGSEGV,
# and the tests check that every other fault kills the process by SIGSEGV
# (with a core) exactly as it would without the library.  Those options,
# and why each is needed, are below; the README says which a program that
# uses the library needs.  Instrumented code runs several times slower, so
# Check's per-case timeouts are stretched (CK_TIMEOUT_MULTIPLIER, unless
# set already).  PGS_SANITIZER tells the scripted tests which sanitizer the
# programs run under (tests/gdb.test).
# What both sanitizers are run with (each option explained under ASAN).
sanitizer_options = handle_segv=0:use_sigaltstack=0
sanitizer_environment = \
	CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-4}; \
	export CK_TIMEOUT_MULTIPLIER;

if ASAN
# handle_segv=0: AddressSanitizer installs a SIGSEGV handler of its own
#   before main.  The library's handler would pass every fault that is not
#   stack growth on to it, and it would print a report and exit with
#   status 1 where the tests expect death by SIGSEGV.
# use_sigaltstack=0: it also gives every thread an alternate signal stack
#   for that handler.  The library then replaces it with a larger one and
#   puts it back when the thread is done, which works, but the tests check
#   that a thread without an alternate stack is left without one.
AM_TESTS_ENVIRONMENT = $(test_tools_environment) \
	ASAN_OPTIONS="$(sanitizer_options)$${ASAN_OPTIONS:+:$$ASAN_OPTIONS}"; \
	export ASAN_OPTIONS; \
	$(sanitizer_environment) PGS_SANITIZER=address; export PGS_SANITIZER;
endif
if TSAN
# handle_segv=0, use_sigaltstack=0: as for ASan above; ThreadSanitizer
#   installs the same SIGSEGV handler and alternate signal stacks.
AM_TESTS_ENVIRONMENT = $(test_tools_environment) \
	TSAN_OPTIONS="$(sanitizer_options)$${TSAN_OPTIONS:+:$$TSAN_OPTIONS}"; \
	export TSAN_OPTIONS; \
	$(sanitizer_environment) PGS_SANITIZER=thread; export PGS_SANITIZER;
endif
if !ASAN
if !TSAN
AM_TESTS_ENVIRONMENT = $(test_tools_environment)
endif
endif
