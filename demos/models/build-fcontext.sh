# SPDX-License-Identifier: MIT
# Build demos/bench-fcontext: demos/bench with the Boost.Context model in
# place of the others, as Boost's users build a release: c++ -O2 -DNDEBUG
# (a failed stack allocation throws instead of asserting), Boost.Context
# linked statically when it can be (pagedstack is too: no PLT jump per
# switch for either).  run_bench.sh and run_memory.sh source this file and
# call `build_fcontext SRCDIR BUILDDIR`, which sets $fcontext (the program,
# or empty) and $fcontext_about.
build_fcontext() {
	fcontext= fcontext_about="no fcontext figures: Boost.Context is not installed (libboost-context-dev)"
	cxx=${CXX:-c++} d=$1/demos objs= log=$2/demos/bench-fcontext.log
	printf '#include <boost/context/detail/fcontext.hpp>\n' |
		"$cxx" -x c++ -fsyntax-only - >/dev/null 2>&1 || return 0
	for f in harness/cell harness/main harness/measure harness/report \
		harness/row harness/timing models/job switch/switch memory/memory; do
		o=$2/demos/fcontext-${f#*/}.o
		"${CC:-cc}" -std=gnu11 -O2 -g -I"$d/harness" -I"$d/models" \
			-c "$d/$f.c" -o "$o" 2>>"$log" || return 0
		objs="$objs $o"
	done
	version=$(printf '#include <boost/version.hpp>\nBOOST_LIB_VERSION\n' |
		"$cxx" -x c++ -E -P - 2>/dev/null | tail -n 1 | tr -d '"' | tr _ .)
	for link in "-Wl,-Bstatic -lboost_context -Wl,-Bdynamic" -lboost_context; do
		# shellcheck disable=SC2086
		if "$cxx" -std=c++14 -O2 -g -DNDEBUG -I"$d/harness" -I"$d/models" \
			-o "$2/demos/bench-fcontext" "$d/models/fcontext.cpp" $objs \
			$link -pthread -lm 2>>"$log"; then
			fcontext=$2/demos/bench-fcontext
			fcontext_about="fcontext: Boost $version, $cxx -O2 -DNDEBUG, linked with $link"
			break
		fi
	done
	rm -f $objs
}
