#!/bin/sh
# SPDX-License-Identifier: MIT
# The switch benchmark, in one command:
#
#   demos/run_bench.sh [--quick] [SCENARIO-PATTERN...]
#
# Builds demos/bench_switch (make) and, when Boost.Context is installed,
# demos/bench_boost (c++); runs every scenario on the Boost.Context fcontext
# model (bench_switch starts bench_boost for each scenario just before the
# other models, so that a row is measured under one load), pagedstack,
# copy-stack and pthreads; cross-checks the library's own system call
# counts against strace -c -f; writes demos/results/bench.csv (every
# figure), demos/results/bench.md (the tables in markdown) and
# demos/results/bench.txt (the table as printed), and prints the table.
# Every figure is the median of rounds that interleave the models (see
# demos/bench_switch.c); the goals of issue 12 close the report, with a
# before/after table when demos/results/bench-before.csv (an earlier
# run's bench.csv) is there.
#
# Without patterns it runs every scenario, the million-task one included
# (--full), in about 10 minutes.  Patterns (shell globs, see
# `demos/bench_switch --list`) rerun a few, e.g. 'hot' or 'rr-10k-1k-*',
# and write demos/results/bench-partial.* instead (--quick, the smoke run:
# bench-quick.*), so that the full results stay.
#
# Run it from the build directory (where `make` works); it finds the
# sources next to itself.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/.." && pwd)
builddir=$(pwd)
[ -f "$builddir/Makefile" ] || builddir=$srcdir
results=$srcdir/demos/results
mkdir -p "$results"

quick=
mode=--full
name=bench
case "${1:-}" in
--quick) quick=--quick; mode=; name=bench-quick; shift ;;
esac
if [ $# -gt 0 ]; then
	mode=
	name=bench-partial
fi

start=$(date +%s)
log() { printf '%s\n' "$*" >&2; }

log "== building demos/bench_switch"
make -C "$builddir" -s demos/bench_switch >&2

bench=$builddir/demos/bench_switch
boost=$builddir/demos/bench_boost
have_boost=
about="no fcontext figures: Boost.Context is not installed"
cxx=${CXX:-c++}
if command -v "$cxx" >/dev/null 2>&1 &&
	printf '#include <boost/context/detail/fcontext.hpp>\n' |
	"$cxx" -x c++ -fsyntax-only - >/dev/null 2>&1; then
	log "== building demos/bench_boost (Boost.Context)"
	version=$(printf '#include <boost/version.hpp>\nBOOST_LIB_VERSION\n' |
		"$cxx" -x c++ -E -P - 2>/dev/null | tail -n 1 | tr -d '"' | tr _ .)
	common=$builddir/demos/bench_boost-common.o
	buildlog=$results/.boost-build.log
	# Static Boost.Context when there is one: the pagedstack figures come
	# from a static convenience library too, so neither pays a PLT jump.
	if "${CC:-cc}" -O2 -g -std=gnu11 -Wall -c -o "$common" \
		"$srcdir/demos/bench_common.c" 2>"$buildlog"; then
		for link in "-Wl,-Bstatic -lboost_context -Wl,-Bdynamic" \
			"-lboost_context"; do
			# shellcheck disable=SC2086
			if "$cxx" -O2 -g -std=c++14 -Wall -I"$srcdir/demos" \
				-o "$boost" "$srcdir/demos/bench_boost.cpp" \
				"$common" $link -pthread 2>"$buildlog"; then
				have_boost=yes
				about="fcontext: Boost $version, $cxx -O2, linked with $link"
				log "   $about"
				break
			fi
		done
	fi
	[ -n "$have_boost" ] || { log "   build failed:"; cat "$buildlog" >&2; }
	rm -f "$buildlog"
else
	log "== Boost.Context not found: no fcontext figures" \
		"(apt-get install libboost-context-dev)"
fi

# The library counts its own system calls (wrappers in lib/sys.h, plus one
# rt_sigreturn per stack fault it serves).  Check that count against
# strace on a scenario that remaps on every switch, and on pgs_create: run
# the same program for K1 and K2 round trips and divide the difference in
# system calls by K2 - K1, so that setup and exit cancel out.
syscheck() {
	scen=$1 k1=$2 k2=$3
	tmp=$(mktemp -d)
	if ! "$bench" --count "$scen" --iters "$k2" >"$tmp/c1" 2>&1 ||
		! strace -f -c -o "$tmp/s1" "$bench" --count "$scen" \
			--iters "$k1" >/dev/null 2>&1 ||
		! strace -f -c -o "$tmp/s2" "$bench" --count "$scen" \
			--iters "$k2" >/dev/null 2>&1; then
		printf '%s\t0\t-1\t-1\tfailed\n' "$scen"
		rm -rf "$tmp"
		return 0
	fi
	lib=$(sed -n 's/.*(\([0-9.]*\) each).*/\1/p' "$tmp/c1")
	# One line for bench_switch --syscheck: scenario, K2 - K1, system
	# calls per operation under strace, as the library counted them, and
	# the calls strace saw by name.
	awk -v k="$((k2 - k1))" -v scen="$scen" -v lib="$lib" '
		# strace -c: "% time seconds usecs/call calls [errors] syscall"
		FNR == 1 { f++ }
		/^[ 0-9.]+[0-9] / && $NF != "total" {
			n[f, $NF] += $4
			names[$NF] = 1
		}
		END {
			line = ""
			for (s in names) {
				d = n[2, s] - n[1, s]
				if (d <= 0) continue
				total += d
				line = line sprintf(" %s %.3f", s, d / k)
			}
			printf "%s\t%d\t%.4f\t%s\t%s\n", scen, k, total / k, lib,
				line == "" ? "none" : substr(line, 2)
		}' "$tmp/s1" "$tmp/s2"
	rm -rf "$tmp"
}

syscheck_opt=
if [ "$name" = bench ] && command -v strace >/dev/null 2>&1; then
	log "== strace cross-check of the library's system call counts"
	sys=$results/bench-syscalls.tsv
	{
		syscheck regions-1-2-1m-top 200 1200
		syscheck rr-10k-1k-top 20000 120000
		syscheck create 1000 11000
	} >"$sys"
	syscheck_opt="--syscheck $sys"
elif [ "$name" = bench ]; then
	log "== strace is not installed: no cross-check of the system call counts"
fi

fctx_opt=
[ -n "$have_boost" ] && fctx_opt="--boost $boost"
before_opt=
if [ "$name" = bench ] && [ -f "$results/bench-before.csv" ]; then
	before_opt="--before $results/bench-before.csv"
fi

log "== running (progress on stderr, table at the end)"
out=$results/$name.txt
# shellcheck disable=SC2086
"$bench" $quick $mode $fctx_opt $syscheck_opt $before_opt --about "$about" \
	--csv "$results/$name.csv" --md "$results/$name.md" "$@" >"$out"

end=$(date +%s)
took="run took $((end - start)) s (run_bench.sh, builds included)"
echo "$took" >>"$out"
echo "$took" >>"$results/$name.md"
cat "$out"
