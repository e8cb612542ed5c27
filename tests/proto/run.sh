#!/bin/sh
# Measures the two event-loop prototypes of keeper issue 3 (see
# tests/proto/RESULTS.md): starts proto_server on 127.0.0.1 (a kernel-chosen
# port), runs loop_lws and loop_uv against it ROUNDS times, alternating so
# that background load hits both alike, stops the server, and prints each
# run's figures followed by the median over rounds of every p50 and p99.
# With PIN=1 (and taskset, and two CPUs or more) the server is pinned to
# CPU 0 and the clients to CPU 1: steadier on a quiet machine, worse on a
# busy one, where the scheduler can no longer move them to an idle CPU.
# Every run is bounded by `timeout`.
#
# Environment: BUILD (build/rel), ROUNDS (3), PIN (0), PROTO_ARGS (extra
# arguments for both clients, e.g. "--ws-n 5000 --http-n 500").
# Exit status 1 if the server did not start or any run failed.
set -u
BUILD=${BUILD:-build/rel}
ROUNDS=${ROUNDS:-3}
PROTO_ARGS=${PROTO_ARGS:-}
PIN=${PIN:-0}
bin=$BUILD/proto
tmp=$(mktemp -d)
srv=""

cleanup() {
	if [ -n "$srv" ]; then
		kill "$srv" 2>/dev/null
		wait "$srv" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

srv_pin="" cli_pin=""
if [ "$PIN" = 1 ] && command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	srv_pin="taskset -c 0" cli_pin="taskset -c 1"
fi

# shellcheck disable=SC2086
$srv_pin "$bin/proto_server" --lifetime 900 >"$tmp/server.log" 2>&1 &
srv=$!
port=""
i=0
while [ $i -lt 50 ]; do
	port=$(sed -n 's/^proto_server: listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
		"$tmp/server.log")
	[ -n "$port" ] && break
	sleep 0.1
	i=$((i + 1))
done
if [ -z "$port" ]; then
	echo "proto-run: the server did not start:" >&2
	cat "$tmp/server.log" >&2
	exit 1
fi
echo "proto-run: server on 127.0.0.1:$port, $ROUNDS round(s)${cli_pin:+, pinned}"

fail=0
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for d in lws uv; do
		# shellcheck disable=SC2086
		timeout 120 $cli_pin "$bin/loop_$d" --ws-port "$port" \
			--rpc "http://127.0.0.1:$port/" $PROTO_ARGS >"$tmp/$d.$r" 2>&1
		rc=$?
		echo "== round $r: loop_$d (exit $rc)"
		cat "$tmp/$d.$r"
		[ $rc -eq 0 ] || fail=1
	done
	r=$((r + 1))
done

kill "$srv" 2>/dev/null
wait "$srv" 2>/dev/null
srv=""

echo
echo "median over $ROUNDS round(s) of each run's p50 / p99, microseconds; cpu rows: CPU"
echo "time per operation, timer rows: cost per call, both in the p50 columns:"
for f in "$tmp"/lws.* "$tmp"/uv.*; do
	d=${f##*/}
	echo "@ ${d%%.*}"
	cat "$f"
done | awk '
function med(list,   a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) {
		t = a[i] + 0
		for (j = i - 1; j >= 1 && a[j] + 0 > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
	return n ? sprintf("%.1f", a[int((n + 1) / 2)]) : "-"
}
/^@ /       { d = $2; next }
/^ alone:/  { sec = "alone"; next }
/^ mixed/   { sec = "mixed"; next }
/^  cpu per .* us$/ {
	k = $0
	sub(/^ +/, "", k)
	sub(/ +[0-9.]+ us$/, "", k)
	if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
	p50[k, d] = p50[k, d] " " $(NF - 1)
	next
}
/ timers \(.*\): arm / {
	for (i = 1; i <= NF; i++)
		if ($i == "arm" || $i == "stop" || $i == "cancel") {
			k = "ns per timer " ($i == "arm" ? "arm" : "cancel") ", " $1 " armed"
			if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
			p50[k, d] = p50[k, d] " " $(i + 1)
		}
	next
}
/ n=[0-9]+ +p50 / {
	lab = $0
	sub(/^ +/, "", lab)
	sub(/ +n=.*/, "", lab)
	k = sec " " lab
	if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
	for (i = 1; i <= NF; i++) {
		if ($i == "p50") p50[k, d] = p50[k, d] " " $(i + 1)
		if ($i == "p99") p99[k, d] = p99[k, d] " " $(i + 1)
	}
}
END {
	printf "  %-33s %9s %9s %9s %9s\n", "", "lws p50", "lws p99", "uv p50", "uv p99"
	for (i = 1; i <= nk; i++) {
		k = order[i]
		printf "  %-33s %9s %9s %9s %9s\n", k, med(p50[k, "lws"]), \
		       med(p99[k, "lws"]), med(p50[k, "uv"]), med(p99[k, "uv"])
	}
}'
[ $fail -eq 0 ] || echo "proto-run: at least one run FAILED" >&2
exit $fail
