#!/bin/sh
# Runs libFuzzer harnesses (built by `make fuzz-bin` into $FUZZ_DIR/bin)
# for FUZZ_SECONDS each, FUZZ_JOBS at a time, and prints one line per
# harness with its executions (libFuzzer's final stats) and crashes, then
# the totals.  Exit status 1 when any harness crashed, leaked, timed out
# or ran out of memory.
#
# Corpus: libFuzzer reads tests/fuzz/corpus/NAME (the committed seeds) and
# $FUZZ_DIR/corpus/NAME, and writes the inputs it finds interesting only to
# the latter, so the committed corpus changes only by hand.  Crash inputs
# go to tests/fuzz/crashes/NAME-crash-SHA1 (leak-, timeout-, oom- alike);
# after a fix, copy them into tests/fuzz/corpus/NAME so `make test` replays
# them.  The log of each run is $FUZZ_DIR/log/NAME.log.
#
# Usage: run.sh NAME...    (internally: run.sh --one NAME)
set -u
FUZZ_DIR=${FUZZ_DIR:-build/libfuzzer}
FUZZ_SECONDS=${FUZZ_SECONDS:-300}
FUZZ_JOBS=${FUZZ_JOBS:-2}
CRASHES=tests/fuzz/crashes
export FUZZ_DIR FUZZ_SECONDS FUZZ_JOBS
# Leaks inside third-party libraries (libconfig) are listed there, as for
# the SANITIZE=1 tests.
LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"
export LSAN_OPTIONS

one() {
	name=$1
	bin=$FUZZ_DIR/bin/$name
	work=$FUZZ_DIR/corpus/$name
	log=$FUZZ_DIR/log/$name.log
	mkdir -p "$work" "$FUZZ_DIR/log" "$CRASHES"
	before=$(ls "$CRASHES" | grep -c "^$name-" || true)
	# -timeout: no input should take a second; 10 s is a hang.
	# -rss_limit_mb: the keystore harness may run scrypt with up to the
	# budget's memory; far below this.
	# libFuzzer ends without running atexit handlers, so the harnesses'
	# temporary files go to a directory removed here.
	tmp=$(mktemp -d /dev/shm/keeper-fuzz-run.XXXXXX 2>/dev/null || mktemp -d)
	TMPDIR=$tmp "$bin" "$work" "tests/fuzz/corpus/$name" \
		-max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-artifact_prefix="$CRASHES/$name-" >"$log" 2>&1
	rc=$?
	rm -rf "$tmp"
	after=$(ls "$CRASHES" | grep -c "^$name-" || true)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
	echo "$name: ${execs:-0} executions in ${secs:-?} s, $((after - before)) crashes (exit $rc)" \
		>"$log.summary"
	cat "$log.summary"
}

if [ "${1:-}" = "--one" ]; then
	one "$2"
	exit 0
fi

[ $# -gt 0 ] || { echo "usage: run.sh NAME..." >&2; exit 2; }
echo "fuzz: $# harnesses, $FUZZ_SECONDS s each, $FUZZ_JOBS at a time"
printf '%s\n' "$@" | xargs -P "$FUZZ_JOBS" -n 1 sh "$0" --one >/dev/null
total=0 crashes=0
for name in "$@"; do
	s=$(cat "$FUZZ_DIR/log/$name.log.summary")
	echo "$s"
	e=$(echo "$s" | sed 's/^[^:]*: \([0-9]*\) executions.*/\1/')
	c=$(echo "$s" | sed 's/.* \([0-9]*\) crashes.*/\1/')
	total=$((total + e)); crashes=$((crashes + c))
done
echo "fuzz: $total executions, $crashes crashes"
[ "$crashes" -eq 0 ]
