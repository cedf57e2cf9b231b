#!/bin/sh
# SPDX-License-Identifier: MIT
# The switch benchmark, in one command (method: demos/switch/README.md):
#
#   demos/run_bench.sh [--quick] [--rounds R] [SCENARIO-PATTERN...]
#
# Builds demos/bench and demos/bench-fcontext (when Boost.Context is
# there), runs every scenario, checks the library's system call counts
# against strace, writes demos/results/bench.csv and bench.md (the goals
# beside bench-before.csv) and prints bench.md.  Patterns rerun a few
# scenarios into bench-partial.* (--quick: bench-quick.*), so that the
# full results stay.  Run it from the build directory.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/.." && pwd)
builddir=$(pwd)
[ -f "$builddir/Makefile" ] || builddir=$srcdir
results=$srcdir/demos/results
name=bench
opts=--full
start=$(date +%s)
load=$(cut -d' ' -f1 /proc/loadavg)
case "${1:-}" in
--quick) opts=--quick name=bench-quick; shift ;;
esac
case "${1:-}" in
--rounds) opts="$opts --rounds $2"; shift 2 ;;
esac
[ $# -eq 0 ] || { [ "$name" = bench-quick ] || name=bench-partial; opts=${opts#--full}; }

make -C "$builddir" -s demos/bench >&2
. "$srcdir/demos/models/build-fcontext.sh"
build_fcontext "$srcdir" "$builddir"
echo "== $fcontext_about" >&2
# Run copies, so that a rebuild in the tree during the run cannot change
# the programs half-way.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$builddir/demos/bench" ${fcontext:+"$fcontext"} "$tmp/"
bench=$tmp/bench
fcontext=${fcontext:+$tmp/bench-fcontext}
csv=$results/$name.csv

# shellcheck disable=SC2086
"$bench" switch $opts ${fcontext:+--fcontext "$fcontext"} --csv "$csv" "$@"

# strace cross-check: a cell of K1 and one of K2 round trips (or creates)
# under strace -f -c, their difference in system calls over K2 - K1, so
# that setup and exit cancel out, beside the library's own count (the
# cell's syscalls).  One row a scenario, appended to the CSV.
syscheck() {
	scen=$1 k1=$2 k2=$3
	for k in "$k1" "$k2"; do
		strace -f -c -o "$tmp/s$k" "$bench" cell switch "$scen" pagedstack \
			--runs 1 --fixed "$k" >"$tmp/row" 2>/dev/null || return 0
	done
	lib=$(sed -n 's/.* syscalls=\([^ ]*\).*/\1/p' "$tmp/row")
	awk -v k=$((k2 - k1)) -v scen="$scen" -v lib="$lib" '
		FNR == 1 { f++ }
		f == 3 { if (FNR == 1) nh = split($0, hdr, ","); next }
		/^[ 0-9.]+[0-9] / && $NF != "total" { n[f, $NF] += $4; names[$NF] = 1 }
		END {
			for (s in names) if ((d = n[2, s] - n[1, s]) > 0) {
				total += d; by = by sprintf(" %s %.3f", s, d / k)
			}
			v["scenario"] = scen; v["model"] = "strace"; v["status"] = "ok"
			v["syscalls"] = sprintf("%.4f", total / k); v["lib_sys"] = lib
			for (i = 1; i < nh; i++) printf "%s,", v[hdr[i]]
			printf "\"by call:%s\"\n", by == "" ? " none" : by
		}' "$tmp/s$k1" "$tmp/s$k2" "$csv" >>"$csv.new"
}
if [ "$name" = bench ] && command -v strace >/dev/null 2>&1; then
	echo "== strace cross-check of the library's system call counts" >&2
	syscheck regions-1-2-1m-top 200 1200
	syscheck rr-10k-1k-top 20000 120000
	syscheck create 1000 11000
	cat "$csv.new" >>"$csv" 2>/dev/null || true
	rm -f "$csv.new"
fi

before=
[ "$name" != bench ] || [ ! -f "$results/bench-before.csv" ] ||
	before="--before demos/results/bench-before.csv"
cd "$srcdir"
# shellcheck disable=SC2086
"$bench" report switch "$csv" $before --goals demos/switch/goals.csv --about "\`demos/run_bench.sh${*:+ $*}\`, $(date -u '+%Y-%m-%d %H:%M UTC'), load average $load at the start and $(cut -d' ' -f1 /proc/loadavg) at the end, $(($(date +%s) - start)) s. $fcontext_about. Each figure is the median of rounds that interleave the models, each the median of timed runs of ~20 ms in the process's CPU time (user + system; the wall clock for the thread pairs). Machine: $(nproc) CPUs ($(sed -n "s/^model name[^:]*: //p" /proc/cpuinfo | head -n 1)), Linux $(uname -r), $(${CC:-cc} --version | head -n 1)." >"$results/$name.md"
cat "$results/$name.md"
