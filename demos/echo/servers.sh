# SPDX-License-Identifier: MIT
# Starting and stopping an echo server, for run.sh and smoke.test (which
# source this file and set $tmp, a private directory).
server=

# Start a server in the background and wait (bounded) for its port file.
start_server() {
	rm -f "$tmp/port"
	# PGS_RUN: the emulator under make check-aarch64.
	$PGS_RUN "$@" --port-file "$tmp/port" >"$tmp/server.log" 2>&1 &
	server=$!
	i=0
	while [ ! -s "$tmp/port" ] && [ $i -lt 300 ]; do
		kill -0 "$server" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$tmp/port" ] || { echo "FAIL: $* did not start"; cat "$tmp/server.log"; exit 1; }
}

# Stop the server; its exit status in $status.
stop_server() {
	kill "$server" 2>/dev/null
	status=0
	wait "$server" || status=$?
	server=
}
