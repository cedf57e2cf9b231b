#!/bin/sh
# SPDX-License-Identifier: MIT
# The echo comparison, in one command (method: demos/echo/README.md):
#
#   demos/echo/run.sh [CONNECTIONS ...]        (default: 1000 10000)
#
# Environment: ROUNDS (requests per connection, default 10), REPEAT (runs
# of every cell, default 3), DEEP_SHARE (share of deep requests, 0.01).
# Writes demos/results/echo.csv, echo.md and echo.png.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
out=demos/results
rounds=${ROUNDS:-10}
repeat=${REPEAT:-3}
share=${DEEP_SHARE:-0.01}
[ $# -gt 0 ] || set -- 1000 10000
start=$(date +%s)

if [ ! -f Makefile ]; then
	[ -x configure ] || autoreconf -fi
	./configure
fi
if [ -z "$(sed -n 's/^LIBUV_LIBS = *//p' Makefile)" ]; then
	echo "run.sh: configure did not find libuv (Debian: apt-get install libuv1-dev), then ./configure again" >&2
	exit 1
fi
make -j2 demos/echo/echo_uv demos/echo/echo_threads demos/echo/echo_loadgen

# Limits for the largest N: each process needs a descriptor per
# connection, the load generator an ephemeral port per connection, and the
# thread server a thread per connection.
max=0
for n; do [ "$n" -gt "$max" ] && max=$n; done
need=$((max + 64))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
	ulimit -n "$need" 2>/dev/null || {
		echo "run.sh: $max connections need $need file descriptors per process;" \
			"the hard limit is $(ulimit -Hn).  Raise it (as root: ulimit -Hn $need," \
			"or nofile in /etc/security/limits.conf, or LimitNOFILE= for a service)," \
			"or run fewer connections." >&2
		exit 1
	}
fi
echo "run.sh: file descriptor limit $(ulimit -n)"
ports=$(cat /proc/sys/net/ipv4/ip_local_port_range)
lo=${ports%%[[:space:]]*} hi=${ports##*[[:space:]]}
[ $((hi - lo)) -gt "$need" ] || {
	echo "run.sh: $max connections need $need local ports; net.ipv4.ip_local_port_range is $lo-$hi" >&2
	exit 1
}
[ "$(cat /proc/sys/kernel/threads-max)" -gt "$need" ] || {
	echo "run.sh: the thread server needs $need threads; kernel.threads-max is $(cat /proc/sys/kernel/threads-max)" >&2
	exit 1
}

# Run what was built now, even if the tree is rebuilt during the run.
tmp=$(mktemp -d)
. demos/echo/servers.sh
trap '[ -z "$server" ] || kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
cp demos/echo/echo_uv demos/echo/echo_threads demos/echo/echo_loadgen "$tmp/"
cp -L .libs/libpagedstack.so.0 "$tmp/"
LD_LIBRARY_PATH="$tmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
build=$(git describe --always --dirty 2>/dev/null || echo 'this tree')

# cell MODEL N SEED SERVER-COMMAND...
cell() {
	model=$1 n=$2 seed=$3
	shift 3
	start_server "$@"
	"$tmp/echo_loadgen" --port-file "$tmp/port" -n "$n" --rounds "$rounds" \
		--deep-share "$share" --seed "$seed" --label "$model" \
		--csv "$tmp/echo.csv" || echo "run.sh: $model at N = $n: some requests failed"
	stop_server
}

for r in $(seq "$repeat"); do
	for n; do
		echo "run.sh: run $r of $repeat, N = $n"
		cell pagedstack "$n" "$r" "$tmp/echo_uv"
		cell threads-8M "$n" "$r" "$tmp/echo_threads" --stack-size 8M
		cell threads-64K "$n" "$r" "$tmp/echo_threads" --stack-size 64K
	done
done

# What a deep request does to a server with fixed 64 KiB stacks and no
# depth check.
start_server "$tmp/echo_threads" --stack-size 64K --no-depth-limit
crash=$("$tmp/echo_loadgen" --port-file "$tmp/port" -n "$1" --rounds 2 \
	--deep-share "$share" --seed 1 --label threads-64K-unchecked 2>&1 |
	grep ' requests, ' | sed 's/^echo_loadgen: //') || true
stop_server
if [ "$status" -eq 139 ]; then
	crash_note="the server died by SIGSEGV (stack overflow): $crash"
else
	crash_note="the server exited with status $status: $crash"
fi
echo "run.sh: 64 KiB stacks without the depth check: $crash_note"

mkdir -p "$out"
cp "$tmp/echo.csv" "$out/echo.csv"

# The table of medians (demos/bench report echo), and the chart's data.
make -s demos/bench
{
	demos/bench report echo "$out/echo.csv" --chart "$tmp/summary.dat" \
		--about "\`demos/echo/run.sh $*\` on $build, $(date -u '+%Y-%m-%d %H:%M UTC'): ROUNDS=$rounds, REPEAT=$repeat, DEEP_SHARE=$share; medians of $repeat runs (every run is in echo.csv); method: demos/echo/README.md. Machine: $(nproc) CPUs ($(sed -n "s/^model name[^:]*: //p" /proc/cpuinfo | head -n 1)), Linux $(uname -r), $(${CC:-cc} --version | head -n 1)."
	echo "64 KiB stacks without the depth check, N = $1: $crash_note"
} >"$out/echo.md"
cat "$out/echo.md"
if [ $# -ne 2 ]; then
	echo "run.sh: the chart compares two N; no chart for $#"
elif command -v gnuplot >/dev/null 2>&1; then
	gnuplot -e "data='$tmp/summary.dat'; outfile='$out/echo.png'; n1='$1'; n2='$2'" \
		demos/echo/plot.gp
	echo "run.sh: wrote $out/echo.png"
else
	echo "run.sh: gnuplot not installed (Debian: gnuplot-nox); no chart"
fi
echo "run.sh: done in $(( $(date +%s) - start )) s"
