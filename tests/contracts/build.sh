#!/bin/sh
# Regenerate tests/contracts/NAME.bin (the creation bytecode, hex without
# 0x, one line) from NAME.sol with the pinned solc of tests/deps.sh
# (.deps/node_modules/.bin/solcjs, 0.8.37, optimizer on), for each NAME
# given, or for every .sol file here.  The tests deploy these bytecodes on
# anvil; they are checked in so that the tests need no compiler.  Run from
# anywhere; writes only the .bin files.
set -eu
cd "$(dirname "$0")"
SOLCJS=../../.deps/node_modules/.bin/solcjs
OUT=$(mktemp -d "${TMPDIR:-/tmp}/keeper-solc.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
if [ $# -eq 0 ]; then
	set -- $(ls *.sol | sed 's/\.sol$//')
fi
for name in "$@"; do
	"$SOLCJS" --bin --optimize --base-path . -o "$OUT" "$name.sol" >/dev/null
	tr -d '\n' <"$OUT/${name}_sol_${name}.bin" >"$name.bin"
	echo >>"$name.bin"
	echo "$name.bin: $(($(wc -c <"$name.bin") / 2)) bytes of creation code"
done
