#!/bin/sh
# Runs every test program (build/…/tests/test_*) and every shell test
# (tests/t_*.sh), each of which ends with "N passed, N failed", and adds the
# counts up.  The last line is the total.  Exit status 1 if anything failed or
# a program died without its summary line.
#
# Environment: BUILD (build/rel or build/san), KEEPER (the binary under test).
set -u
BUILD=${BUILD:-build/rel}
KEEPER=${KEEPER:-$BUILD/bin/keeper}
export BUILD KEEPER
# Sanitizer builds: leaks inside third-party libraries are listed there.
LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"
export LSAN_OPTIONS
total_p=0 total_f=0 broken=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

run_one() {
	name=$1; shift
	echo "== $name"
	"$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	if [ -z "$line" ]; then
		echo "!! $name exited $rc without a summary line"
		broken=$((broken + 1))
		return
	fi
	p=${line%% passed*}
	f=${line#*passed, }; f=${f%% failed*}
	total_p=$((total_p + p)); total_f=$((total_f + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "!! $name exited $rc"
		broken=$((broken + 1))
	fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" "$t"
done
for t in tests/t_*.sh; do
	[ -f "$t" ] || continue
	run_one "$(basename "$t")" sh "$t"
done
total_f=$((total_f + broken))
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
