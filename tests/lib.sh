# tests/lib.sh: helpers for shell tests (sourced).  Each case prints
# "ok   NAME" or "FAIL NAME" with the reasons indented; t_done prints the
# "N passed, N failed" line that tests/run.sh adds up.
T_PASS=0
T_FAIL=0
KEEPER=${KEEPER:-build/rel/bin/keeper}
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/keeper-test.XXXXXX")
trap 'rm -rf "$T_TMP"' EXIT

t_ok() { echo "ok   $1"; T_PASS=$((T_PASS + 1)); }

t_fail() {
	echo "FAIL $1"; shift
	for l in "$@"; do echo "    $l"; done
	T_FAIL=$((T_FAIL + 1))
}

t_done() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}

# run CMD...: stdout in $T_TMP/out, stderr in $T_TMP/err, status in $T_RC.
run() {
	"$@" >"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$?
	cat "$T_TMP/out" "$T_TMP/err" >>"$T_TMP/all-output"
}

# expect NAME STATUS PATTERN CMD...: CMD exits STATUS and its stderr (or,
# for status 0, its stdout) matches the grep -E PATTERN.
expect() {
	name=$1 want=$2 pat=$3; shift 3
	run "$@"
	if [ "$want" -eq 0 ]; then where="$T_TMP/out"; else where="$T_TMP/err"; fi
	if [ "$T_RC" -ne "$want" ]; then
		t_fail "$name" "exit $T_RC, want $want" "stderr: $(head -c 300 "$T_TMP/err")"
	elif ! grep -Eq -- "$pat" "$where"; then
		t_fail "$name" "output does not match /$pat/:" "$(head -c 300 "$where")"
	else
		t_ok "$name"
	fi
}
