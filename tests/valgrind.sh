#!/bin/sh
# valgrind.sh: every test program of the build (build/rel/tests/test_*) under
# valgrind's memcheck, for `make valgrind-test`.  A program passes when its
# own tests pass AND memcheck found no error and no definite or indirect
# leak (--error-exitcode).  Children a test starts (anvil, the keeper
# binary, feedsrv) run natively: the unit tests are what is checked here.
# Installs valgrind (apt-get) when it is missing.  Ends with
# "N passed, N failed" like every test.
#
# Environment: BUILD (default build/rel), KEEPER (the keeper binary some
# tests run); KEEPER_VALGRIND=1 is set for the tests, which skip what
# cannot work under valgrind (a test that replaces malloc).
set -u
BUILD=${BUILD:-build/rel}
KEEPER=${KEEPER:-$BUILD/bin/keeper}
export BUILD KEEPER
KEEPER_VALGRIND=1
export KEEPER_VALGRIND
if ! command -v valgrind >/dev/null 2>&1; then
	echo "valgrind.sh: installing valgrind"
	if [ "$(id -u)" -eq 0 ]; then
		apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
	else
		sudo apt-get update -qq && sudo apt-get install -y -qq valgrind >/dev/null
	fi || { echo "valgrind.sh: cannot install valgrind"; echo "0 passed, 1 failed"; exit 1; }
fi
pass=0 fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	start=$(date +%s)
	valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect \
		--suppressions=tests/valgrind.supp "$t" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok   $name (${secs} s: ${summary:-no summary})"
	else
		fail=$((fail + 1))
		echo "FAIL $name (exit $rc, ${secs} s: ${summary:-no summary})"
		grep -E '^==[0-9]+==' "$log" | head -n 40
		grep -E '^    .*(FAIL|CHECK)|^FAIL' "$log" | head -n 20
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
