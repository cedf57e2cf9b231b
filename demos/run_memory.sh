#!/bin/sh
# The memory comparison, start to finish, in one command:
#
#   demos/run_memory.sh [extra compare_memory options]
#
# builds the demos (configuring first if needed), builds demos/mem_boost
# with c++ when libboost-context-dev is installed (the build system does not
# look for Boost), runs every cell of demos/compare_memory with a run-time
# budget that keeps the whole run under ten minutes, and writes
# demos/results/memory.{csv,md,png,svg}.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=demos/results
start=$(date +%s)

if [ ! -f Makefile ]; then
	[ -x configure ] || autoreconf -fi
	./configure
fi
make -j2 demos/compare_memory demos/mem_switched

# Model 6: Boost.Context fcontext, a program of its own.
boost_hdr=/usr/include/boost/context/detail/fcontext.hpp
rm -f demos/mem_boost
if [ -f "$boost_hdr" ] && command -v c++ >/dev/null 2>&1; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	for f in mem_measure mem_work mem_cell; do
		${CC:-cc} -std=gnu11 -O2 -g -Iinclude -Idemos \
			-c "demos/$f.c" -o "$tmp/$f.o"
	done
	if ${CXX:-c++} -std=gnu++17 -O2 -g -DNDEBUG -Iinclude -Idemos \
		demos/mem_boost.cpp "$tmp"/*.o -lboost_context -o demos/mem_boost
	then
		echo "run_memory: built demos/mem_boost (Boost.Context fcontext)"
	else
		echo "run_memory: could not build demos/mem_boost; its cells are skipped"
	fi
else
	echo "run_memory: libboost-context-dev not installed; the Boost cells are skipped"
fi

mkdir -p "$out"
# 480 s for the cells, the rest for building and plotting.
demos/compare_memory --out "$out" --max-seconds 480 "$@"

if command -v gnuplot >/dev/null 2>&1; then
	gnuplot -e "dir='$out'" demos/plot_memory.gp
	echo "run_memory: wrote $out/memory.png and $out/memory.svg"
else
	echo "run_memory: gnuplot not installed; no chart"
fi
echo "run_memory: done in $(( $(date +%s) - start )) s"
