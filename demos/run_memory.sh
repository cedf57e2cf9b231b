#!/bin/sh
# SPDX-License-Identifier: MIT
# The memory comparison, start to finish, in one command:
#
#   demos/run_memory.sh [extra compare_memory options]
#
# builds the demos (configuring first if needed), builds demos/mem_boost
# with c++ when libboost-context-dev is installed (the build system does not
# look for Boost), runs every cell of demos/compare_memory with a run-time
# budget that keeps the whole run under ten minutes, and writes
# demos/results/memory.{csv,md,png,svg}.
#
# The programs and the library are copied to a private directory and run
# from there, so that a rebuild in the tree during the run (by make, or by
# someone else working in it) cannot change or remove them half-way: every
# cell measures the same build.
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
make -j2 demos/compare_memory demos/mem_switched

# Model 6: Boost.Context fcontext, a program of its own.
boost_hdr=/usr/include/boost/context/detail/fcontext.hpp
rm -f demos/mem_boost
if [ -f "$boost_hdr" ] && command -v c++ >/dev/null 2>&1; then
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
	rm -f "$tmp"/*.o
else
	echo "run_memory: libboost-context-dev not installed; the Boost cells are skipped"
fi

# Snapshot what is measured.  compare_memory finds its cell programs next
# to itself, and the library through LD_LIBRARY_PATH (which its RUNPATH,
# the build tree, gives way to).
mkdir -p "$tmp/bin"
cp demos/compare_memory demos/mem_switched "$tmp/bin/"
[ ! -x demos/mem_boost ] || cp demos/mem_boost "$tmp/bin/"
cp -L .libs/libpagedstack.so.0 "$tmp/bin/libpagedstack.so.0"
build=$(git describe --always --dirty 2>/dev/null || echo 'this tree')
echo "run_memory: measuring $build"

mkdir -p "$out"
# 450 s for the cells (one more may overrun by its 60 s limit), the rest
# for building and plotting: under ten minutes in all.
LD_LIBRARY_PATH="$tmp/bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
	"$tmp/bin/compare_memory" --out "$out" --max-seconds 450 \
	--about "\`demos/run_memory.sh${*:+ $*}\` on $build" "$@"

if command -v gnuplot >/dev/null 2>&1; then
	gnuplot -e "dir='$out'" demos/plot_memory.gp
	echo "run_memory: wrote $out/memory.png and $out/memory.svg"
else
	echo "run_memory: gnuplot not installed; no chart"
fi
echo "run_memory: done in $(( $(date +%s) - start )) s"
