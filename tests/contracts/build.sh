#!/bin/sh
# Regenerate tests/contracts/Token.bin (the creation bytecode, hex without
# 0x, one line) from Token.sol with the pinned solc of tests/deps.sh
# (.deps/node_modules/.bin/solcjs, 0.8.37, optimizer on).  tests/test_node
# deploys that bytecode on anvil; it is checked in so that the tests need no
# compiler.  Run from anywhere; writes only Token.bin.
set -eu
cd "$(dirname "$0")"
SOLCJS=../../.deps/node_modules/.bin/solcjs
OUT=$(mktemp -d "${TMPDIR:-/tmp}/keeper-solc.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
"$SOLCJS" --bin --optimize --base-path . -o "$OUT" Token.sol >/dev/null
tr -d '\n' <"$OUT/Token_sol_Token.bin" >Token.bin
echo >>Token.bin
echo "Token.bin: $(($(wc -c <Token.bin) / 2)) bytes of creation code"
