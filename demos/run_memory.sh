#!/bin/sh
# SPDX-License-Identifier: MIT
# The memory comparison, in one command (method: demos/memory/README.md):
#
#   demos/run_memory.sh [extra `demos/bench memory` options]
#
# Builds demos/bench (and demos/bench-fcontext), runs every cell on copies
# of the programs (a rebuild during the run cannot change them), within
# ten minutes, and writes demos/results/memory.csv, memory.md and the chart
# memory.png (gnuplot).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=demos/results
start=$(date +%s)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ ! -f Makefile ]; then
	[ -x configure ] || autoreconf -fi
	./configure
fi
make -j2 demos/bench
. demos/models/build-fcontext.sh
build_fcontext "$top" "$top"
echo "run_memory: $fcontext_about"
cp demos/bench "$tmp/"
[ -z "$fcontext" ] || cp "$fcontext" "$tmp/"
build=$(git describe --always --dirty 2>/dev/null || echo 'this tree')

# 450 s for the cells (one more may overrun by its 60 s limit), the rest
# for building and the report.
"$tmp/bench" memory --csv "$out/memory.csv" --max-seconds 450 \
	${fcontext:+--fcontext "$tmp/bench-fcontext"} "$@"
"$tmp/bench" report memory "$out/memory.csv" --about "\`demos/run_memory.sh${*:+ $*}\` on $build, $(date -u '+%Y-%m-%d %H:%M UTC'), $(($(date +%s) - start)) s, load average $(cut -d' ' -f1-3 /proc/loadavg). $fcontext_about. Each cell runs in a fresh process; method: demos/memory/README.md. Machine: $(nproc) CPUs ($(sed -n "s/^model name[^:]*: //p" /proc/cpuinfo | head -n 1)), Linux $(uname -r), $(${CC:-cc} --version | head -n 1)." >"$out/memory.md"
if command -v gnuplot >/dev/null 2>&1; then
	gnuplot -e "dir='$out'" demos/memory/plot.gp
else
	echo "run_memory: gnuplot is not installed: no chart"
fi
echo "run_memory: wrote $out/memory.csv, memory.md and memory.png in $(($(date +%s) - start)) s"
