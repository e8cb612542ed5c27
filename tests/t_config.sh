# t_config.sh: `keeper check` against the config contract.
#
# Every tests/configs/bad/NAME.cfg breaks one rule (several-errors.cfg
# breaks many): check must exit 2, print nothing on stdout, and print on
# stderr exactly NAME.expect, i.e. every error, as FILE:LINE: message with
# the line of the setting at fault.  Every example under etc/ must pass with
# "ok" and exit 0, since operators start from them.
. tests/lib.sh

BAD=tests/configs/bad

# git records no read bits, so give the fixture the mode its case is about.
chmod 644 "$BAD/key-file-perms.key"

n=0
for cfg in "$BAD"/*.cfg; do
	n=$((n + 1))
	name=bad/$(basename "$cfg" .cfg)
	exp=${cfg%.cfg}.expect
	if [ ! -f "$exp" ]; then
		t_fail "$name" "missing $exp"
		continue
	fi
	run "$KEEPER" check -c "$cfg"
	if [ "$T_RC" -ne 2 ]; then
		t_fail "$name" "exit $T_RC, want 2" "stderr: $(head -c 300 "$T_TMP/err")"
	elif ! diff -u "$exp" "$T_TMP/err" >"$T_TMP/diff"; then
		t_fail "$name" "stderr differs from $exp:" "$(cat "$T_TMP/diff")"
	elif [ -s "$T_TMP/out" ]; then
		t_fail "$name" "stdout not empty: $(head -c 200 "$T_TMP/out")"
	else
		t_ok "$name"
	fi
done

# The suite itself: enough cases, and no expectation without its config.
if [ "$n" -ge 30 ]; then t_ok "bad-config-count"; else t_fail "bad-config-count" "$n bad configs, want >= 30"; fi
orphans=""
for exp in "$BAD"/*.expect; do
	[ -f "${exp%.expect}.cfg" ] || orphans="$orphans $exp"
done
if [ -z "$orphans" ]; then t_ok "no-orphan-expect"; else t_fail "no-orphan-expect" "$orphans"; fi

for cfg in etc/*.cfg; do
	name=example/$(basename "$cfg" .cfg)
	run "$KEEPER" check -c "$cfg"
	if [ "$T_RC" -ne 0 ]; then
		t_fail "$name" "exit $T_RC, want 0" "$(head -c 600 "$T_TMP/err")"
	elif [ "$(cat "$T_TMP/out")" != "ok" ] || [ -s "$T_TMP/err" ]; then
		t_fail "$name" "want exactly 'ok' on stdout and nothing on stderr" \
			"stdout: $(head -c 200 "$T_TMP/out")" "stderr: $(head -c 200 "$T_TMP/err")"
	else
		t_ok "$name"
	fi
done

# Usage and unreadable files.
expect check-no-config 2 '^keeper: missing -c FILE' "$KEEPER" check
expect check-unknown-option 2 '^keeper: unknown option: --bogus' "$KEEPER" check --bogus -c etc/guardian.cfg
expect check-config-needs-value 2 '^keeper: -c needs a value' "$KEEPER" check -c
expect check-extra-argument 2 '^keeper: unexpected argument: extra' "$KEEPER" check -c etc/guardian.cfg extra
expect check-long-option 0 '^ok$' "$KEEPER" check --config etc/guardian.cfg
expect check-missing-file 2 "^$T_TMP/nope.cfg: cannot read: No such file or directory\$" \
	"$KEEPER" check -c "$T_TMP/nope.cfg"

# An @include is followed; errors in it name the included file and its line.
mkdir -p "$T_TMP/inc"
cat >"$T_TMP/inc/main.cfg" <<'EOF'
chain = {
	id = 1;
	ws = "wss://node.example/ws";
	@include "rpc.cfg"
};
EOF
printf '# rpc URLs\nrpc = [ "ws://wrong.example" ];\n' >"$T_TMP/inc/rpc.cfg"
expect check-include 2 "^$T_TMP/inc/rpc.cfg:2: chain: rpc\\[0\\] \"ws://wrong.example\" must start with http:// or https://\$" \
	"$KEEPER" check -c "$T_TMP/inc/main.cfg"

t_done
