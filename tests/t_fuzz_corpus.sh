# t_fuzz_corpus.sh: every fuzz harness (tests/fuzz/fuzz_*.c, built with the
# plain-C replay driver into $BUILD/fuzz/) over the whole corpus.
#
# Each harness replays its own corpus (tests/fuzz/corpus/NAME/: seeds and
# every crash input found so far), then every other harness's corpus, since
# bytes meant for one parser are good hostile input for the next.  A case
# passes when the driver prints "N inputs ok" and exits 0: no invariant
# broke, and in the sanitizer build ASan/UBSan/LSan said nothing.  When
# one fails, each file is replayed alone to name the input at fault.
. tests/lib.sh

BUILD=${BUILD:-build/rel}
CORPUS=tests/fuzz/corpus

for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	bin=$BUILD/fuzz/$name
	if [ ! -x "$bin" ]; then
		t_fail "$name" "$bin not built"
		continue
	fi
	own=$CORPUS/$name
	if [ ! -d "$own" ] || [ -z "$(ls "$own")" ]; then
		t_fail "$name/seeds" "no corpus in $own"
		continue
	fi
	others=""
	for d in "$CORPUS"/*/; do
		d=${d%/}
		[ "$d" = "$own" ] || others="$others $d"
	done
	# shellcheck disable=SC2086
	run "$bin" "$own" $others
	line=$(grep -E '^[0-9]+ inputs ok$' "$T_TMP/out")
	if [ "$T_RC" -eq 0 ] && [ -n "$line" ]; then
		echo "     $name: $line ($(ls "$own" | wc -l | tr -d ' ') own)"
		t_ok "$name"
		continue
	fi
	culprit=""
	for f in "$own"/* $(for d in $others; do echo "$d"/*; done); do
		if ! "$bin" "$f" >/dev/null 2>&1; then
			culprit=$f
			break
		fi
	done
	t_fail "$name" "exit $T_RC; first failing input: ${culprit:-none alone}" \
		"$(tail -n 20 "$T_TMP/err")"
done

t_done
