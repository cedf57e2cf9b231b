# SPDX-License-Identifier: MIT
# make check-aarch64: the library cross-built for aarch64 Linux in a build
# directory of its own, and every test suite (both Check suites, the
# scripted tests, the demos' quick tests) run there under user-mode
# emulation.  The build directory configures a copy of the distributed
# sources (make distdir), so that it works beside an in-tree build.
#
# Needs (Debian): gcc-aarch64-linux-gnu qemu-user-static, and through
# multiarch (dpkg --add-architecture arm64) check:arm64 libunwind-dev:arm64.
#
# Every test program runs as `qemu-aarch64-static PROGRAM` through the
# harness's LOG_COMPILER (and PGS_RUN in the scripted tests), with
# libtool --mode=execute in front for programs linked with the uninstalled
# shared library; binfmt_misc is never needed.  No -L: the aarch64
# libraries the tests link with are multiarch's (/lib/aarch64-linux-gnu),
# and so must be the loader.  The cross toolchain's own sysroot
# (/usr/aarch64-linux-gnu) holds an older build of glibc, and its ld.so
# loading multiarch's libc.so makes every forked child spin forever.
#
# PGS_EMULATOR tells the tests that they run under an emulator: what
# qemu-user does not do as a kernel does is skipped there, each skip named
# in the test log (tests/emulation.h).  Emulated code runs several times
# slower, so Check's per-test timeouts are stretched.  LeakSanitizer
# stops threads with ptrace, which qemu-user does not implement, so
# tests/asan_user runs there with AddressSanitizer's checks but without
# the leak check.  The benchmarks run
# as smoke tests only: emulated times mean nothing.
AARCH64_HOST = aarch64-linux-gnu
AARCH64_BUILDDIR = build-aarch64
AARCH64_EMULATOR = qemu-aarch64-static
AARCH64_PKG_CONFIG_LIBDIR = /usr/lib/$(AARCH64_HOST)/pkgconfig:/usr/share/pkgconfig

check-aarch64:
	@command -v $(AARCH64_HOST)-gcc >/dev/null && \
	  command -v $(AARCH64_EMULATOR) >/dev/null || { \
	  echo "check-aarch64: needs $(AARCH64_HOST)-gcc and $(AARCH64_EMULATOR)" \
	       "(Debian: gcc-aarch64-linux-gnu qemu-user-static)" >&2; exit 1; }
	rm -rf $(AARCH64_BUILDDIR)
	$(MKDIR_P) $(AARCH64_BUILDDIR)/build
	$(MAKE) $(AM_MAKEFLAGS) distdir distdir=$(AARCH64_BUILDDIR)/src
	cd $(AARCH64_BUILDDIR)/build && \
	  ../src/configure --host=$(AARCH64_HOST) \
	    PKG_CONFIG_LIBDIR='$(AARCH64_PKG_CONFIG_LIBDIR)' && \
	  $(MAKE) $(AM_MAKEFLAGS) && \
	  CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-10} \
	  ASAN_OPTIONS=detect_leaks=0 \
	  $(MAKE) $(AM_MAKEFLAGS) check \
	    PGS_EMULATOR='$(AARCH64_EMULATOR)' \
	    PGS_RUN='$$(LIBTOOL) --mode=execute $(AARCH64_EMULATOR)' || { \
	  cat test-suite.log; exit 1; }
	cd $(AARCH64_BUILDDIR)/build && grep -h '^# SKIP' tests/*.log demos/*.log || :
