# t_record.sh: `keeper record` against tests/feedsrv on 127.0.0.1 (ports
# the kernel picks), with configs written here that pass `keeper check`:
# one feedsrv plays the price feeds, another the node (chain.ws), replaying
# recorded anvil frames (it ignores the subscriptions, which is fine: record
# records what arrives).
#
#   - a 2 s run with two feeds on one server and the node: every line is
#     one JSON object with exactly t, src, raw; t never decreases; each
#     source's frames are what its feedsrv sent, in order, byte for byte:
#     valid JSON objects and arrays verbatim, anything else (not JSON, a
#     scalar, a line with a tab, a byte that is not UTF-8) as a JSON string
#     of its text; the summary line's counts match the file; --duration
#     stops within +0.5 s;
#   - SIGTERM mid-run: exit 0, every line complete and intact, the summary
#     says so; SIGKILL mid-run: every complete line intact, at most the
#     last one cut;
#   - an existing output is refused without --append and left untouched;
#     --append adds whole lines, ending a cut last line first;
#   - usage errors and invalid configs exit 2, an uncreatable output 1.
#
# The checker is a small node script (node is installed by tests/deps.sh);
# it compares bytes, so it reads every file as a Buffer.  Every run is
# bounded (--duration, or a kill after a sleep), servers are always killed.
. tests/lib.sh

BUILD=${BUILD:-build/rel}
FEEDSRV=$BUILD/tests/feedsrv
NODE_FRAMES=tests/fixtures/frames/anvil-stream.jsonl
SRV_PIDS=""
REC_PID=""

stop_all() {
	[ -n "$REC_PID" ] && kill -KILL "$REC_PID" 2>/dev/null
	for p in $SRV_PIDS; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	REC_PID="" SRV_PIDS=""
}
trap 'stop_all; rm -rf "$T_TMP"' EXIT

ms_now() { date +%s%3N; }

# start_srv NAME ARGS...: feedsrv in the background; PORT is set.
start_srv() {
	sname=$1; shift
	PORT=0
	"$FEEDSRV" "$@" >"$T_TMP/$sname.out" 2>"$T_TMP/$sname.err" &
	SRV_PIDS="$SRV_PIDS $!"
	for _ in $(seq 50); do
		if grep -q '^ready ' "$T_TMP/$sname.out" 2>/dev/null; then
			PORT=$(sed -n 's/^ready \([0-9]*\)$/\1/p' "$T_TMP/$sname.out")
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# The feed: trades, with hostile lines among them.  \377 is never UTF-8.
feed=$T_TMP/feed.jsonl
i=0
while [ $i -lt 400 ]; do
	printf '{"e":"trade","E":%d,"s":"ETHUSDT","t":%d,"p":"%d.%02d","q":"0.1","T":%d}\n' \
		$((1678520483000 + i)) $i $((1400 + i % 97)) $((i % 100)) $((1678520483000 + i))
	case $i in
	3) printf 'not json at all\n' ;;
	5) printf '42\n' ;;
	7) printf '{"e":"trade",  "p" : "1.5" ,"T":1678520483000}\n' ;;
	9) printf '"tab\there \\"quoted\\" \\\\ back"\n' ;;
	11) printf '{"x":"\377"}\n' ;;
	13) printf '{"e":"trade","p":"\342\202\254 1","T":1678520483000}\n' ;;
	15) printf '[1,2,{"a":null}]\n' ;;
	17) printf '{"cut":\n' ;;
	esac
	i=$((i + 1))
done >"$feed"

# check.js OUT MODE SRC:SENT:MIN...: MODE "whole" (every line complete) or
# "cut" (the last line may be incomplete); each source's frames must be a
# prefix of the lines of its SENT file, at least MIN of them.  Prints one
# line per failure and, last, "lines N" and "SRC N" per source.
cat >"$T_TMP/check.js" <<'EOF'
const fs = require('fs');
const [outPath, mode, ...specs] = process.argv.slice(2);
const fail = (m) => { console.log('FAIL ' + m); process.exitCode = 1; };
const split = (b) => { const r = []; let s = 0;
	for (let i = 0; i < b.length; i++) if (b[i] === 10) { r.push(b.subarray(s, i)); s = i + 1; }
	return { lines: r, rest: b.subarray(s) }; };
const src = {};
for (const spec of specs) {
	const [name, path, min] = spec.split(':');
	src[name] = { sent: split(fs.readFileSync(path)).lines.filter((l) => l.length), min: Number(min), seen: 0 };
}
const out = split(fs.readFileSync(outPath));
if (out.rest.length && mode === 'whole') fail('last line has no newline: ' + out.rest.length + ' bytes');
const utf8 = new TextDecoder('utf-8', { fatal: true });
const isValue = (b) => { try { const v = JSON.parse(utf8.decode(b)); return v !== null && typeof v === 'object'; } catch (e) { return false; } };
let lastT = 0, n = 0;
for (const line of out.lines) {
	n++;
	let text, o;
	try { text = utf8.decode(line); o = JSON.parse(text); } catch (e) { fail(`line ${n}: not UTF-8 JSON: ${e.message}`); continue; }
	const keys = Object.keys(o).join(',');
	if (keys !== 't,src,raw') { fail(`line ${n}: keys ${keys}`); continue; }
	if (!Number.isInteger(o.t) || o.t < lastT || Math.abs(o.t - Date.now()) > 600000) fail(`line ${n}: t ${o.t}`);
	lastT = o.t;
	const s = src[o.src];
	if (!s) { fail(`line ${n}: src ${o.src}`); continue; }
	const k = s.seen++;
	if (k >= s.sent.length) { fail(`line ${n}: more frames than sent`); continue; }
	const want = Buffer.from(s.sent[k]);
	const prefix = Buffer.from(`{"t":${o.t},"src":${JSON.stringify(o.src)},"raw":`);
	if (!line.subarray(0, prefix.length).equals(prefix) || line[line.length - 1] !== 125) { fail(`line ${n}: layout`); continue; }
	if (isValue(want)) {
		// verbatim: the bytes between "raw": and the final } are the frame
		if (!line.subarray(prefix.length, line.length - 1).equals(want))
			fail(`line ${n}: raw is not ${o.src} frame ${k} verbatim`);
	} else {
		for (let j = 0; j < want.length; j++) if (want[j] === 0xff) want[j] = 0;
		if (typeof o.raw !== 'string' || !Buffer.from(o.raw, 'utf8').equals(want))
			fail(`line ${n}: raw string is not ${o.src} frame ${k}: ${JSON.stringify(o.raw)}`);
	}
}
console.log('lines ' + n);
for (const name in src) {
	console.log(name + ' ' + src[name].seen);
	if (src[name].seen < src[name].min) fail(`${name}: ${src[name].seen} frames, want >= ${src[name].min}`);
}
EOF

# verify NAME MODE MIN [NODE_MIN]: runs the checker on $out, one case:
# at least MIN frames of each feed and NODE_MIN (default 0) of the node.
verify() {
	name=$1 mode=$2 min=$3 nmin=${4:-0}
	if ! command -v node >/dev/null 2>&1; then
		t_fail "$name" "node not found (make deps installs it)"
		return 1
	fi
	node "$T_TMP/check.js" "$out" "$mode" "eth-usd:$feed:$min" \
		"raw.feed-2:$feed:$min" "node:$NODE_FRAMES:$nmin" >"$T_TMP/check.out" 2>&1
	if [ $? -ne 0 ]; then
		t_fail "$name" "$(head -n 12 "$T_TMP/check.out")"
		return 1
	fi
	t_ok "$name"
}

# count SRC: frames of SRC the checker counted.
count() { sed -n "s/^$1 \([0-9]*\)\$/\1/p" "$T_TMP/check.out"; }

# cfg_for FILE FEED_PORT NODE_PORT
cfg_for() {
	cat >"$1" <<EOF
chain = { id = 1; ws = "ws://127.0.0.1:$3/"; rpc = [ "http://127.0.0.1:1" ]; };
feeds = (
	{ name = "eth-usd"; url = "ws://127.0.0.1:$2/ws"; preset = "trade"; stale_after_ms = 60000; },
	{ name = "raw.feed-2"; url = "ws://127.0.0.1:$2/";
	  subscribe = "{\"op\":\"subscribe\"}"; price = "p"; time = "T"; stale_after_ms = 60000; }
);
log = { level = "error"; };
EOF
}

nlines=$(grep -c . "$NODE_FRAMES")
if ! start_srv node --file "$NODE_FRAMES" --interval-ms 10 --lifetime 60; then
	t_fail "feedsrv" "did not start: $(cat "$T_TMP/node.err")"
	t_done
	exit 1
fi
NODE_PORT=$PORT
if ! start_srv feeds --file "$feed" --interval-ms 10 --lifetime 60; then
	t_fail "feedsrv" "did not start: $(cat "$T_TMP/feeds.err")"
	t_done
	exit 1
fi
cfg=$T_TMP/rec.cfg
cfg_for "$cfg" "$PORT" "$NODE_PORT"
expect config-valid 0 '^ok$' "$KEEPER" check -c "$cfg"

# ---- 2 s with --duration
out=$T_TMP/out.jsonl
t0=$(ms_now)
run "$KEEPER" record -c "$cfg" -o "$out" --duration 2
t1=$(ms_now)
el=$((t1 - t0))
if [ "$T_RC" -eq 0 ] && [ "$el" -ge 2000 ] && [ "$el" -le 2500 ]; then
	t_ok "duration-on-time"
else
	t_fail "duration-on-time" "exit $T_RC after $el ms, want 0 within 2000..2500" \
		"$(head -c 300 "$T_TMP/err")"
fi
echo "    --duration 2 took $el ms"
# The node's frames all fit in the first 0.3 s.
verify "frames-intact-in-order" whole 100 "$nlines"
n1=$(count eth-usd) n2=$(count raw.feed-2) n3=$(count node)
echo "    eth-usd $n1 frames, raw.feed-2 $n2 frames, node $n3 frames"
if grep -Eq "^keeper record: [0-9.]+ s, $((n1 + n2 + n3)) frames, $(wc -c <"$out") bytes -> $out; eth-usd $n1, raw.feed-2 $n2, node $n3; stopped after --duration\$" "$T_TMP/out"; then
	t_ok "summary-line"
else
	t_fail "summary-line" "$(cat "$T_TMP/out")"
fi
# Both string and verbatim forms occurred (the hostile lines are early).
if grep -q '"raw":"not json at all"}$' "$out" && grep -q '"raw":"42"}$' "$out" \
	&& grep -q '"raw":{"e":"trade",  "p" : "1.5" ,"T":1678520483000}}$' "$out" \
	&& grep -q '"raw":"{\\"x\\":\\"\\u0000\\"}"}$' "$out"; then
	t_ok "raw-forms"
else
	t_fail "raw-forms" "$(sed -n 1,30p "$out" | grep -v '"e":"trade","E"' | head -c 600)"
fi
mode=$(stat -c %a "$out")
if [ "$mode" = "$(printf '%o' $((0644 & ~0$(umask))))" ]; then t_ok "mode-0644"; else t_fail "mode-0644" "mode $mode"; fi

# ---- an existing output is refused and untouched
sum=$(cksum <"$out")
expect exists-refused 1 "$out exists; .*--append" "$KEEPER" record -c "$cfg" -o "$out" --duration 1
if [ "$(cksum <"$out")" = "$sum" ]; then t_ok "exists-untouched"; else t_fail "exists-untouched"; fi

# ---- --append adds whole lines after a cut last line
app=$T_TMP/app.jsonl
printf '{"t":1,"src":"eth-usd","raw":{"cut' >"$app"
run "$KEEPER" record -c "$cfg" -o "$app" --duration 0.6 --append
first=$(head -n 1 "$app")
tail -n +2 "$app" >"$T_TMP/app-rest.jsonl"
lines=$(wc -l <"$app")
if [ "$T_RC" -eq 0 ] && [ "$first" = '{"t":1,"src":"eth-usd","raw":{"cut' ] && [ "$lines" -gt 10 ]; then
	out=$T_TMP/app-rest.jsonl
	verify "append-after-cut-line" whole 5
else
	t_fail "append-after-cut-line" "exit $T_RC, first line '$first', $lines lines"
fi

# ---- SIGTERM mid-run
out=$T_TMP/term.jsonl
"$KEEPER" record -c "$cfg" -o "$out" >"$T_TMP/term.out" 2>"$T_TMP/term.err" &
REC_PID=$!
sleep 1.2
kill -TERM "$REC_PID"
wait "$REC_PID"
rc=$?
REC_PID=""
if [ "$rc" -eq 0 ] && grep -q 'stopped by SIGTERM$' "$T_TMP/term.out"; then
	t_ok "sigterm-clean-exit"
else
	t_fail "sigterm-clean-exit" "exit $rc" "$(cat "$T_TMP/term.out" "$T_TMP/term.err" | head -c 400)"
fi
verify "sigterm-lines-intact" whole 50 "$nlines"
n=$(sed -n 's/^lines //p' "$T_TMP/check.out")
if grep -q " $n frames, " "$T_TMP/term.out"; then t_ok "sigterm-summary-count"; else
	t_fail "sigterm-summary-count" "file has $n lines: $(cat "$T_TMP/term.out")"; fi

# ---- SIGINT: the same clean stop
out=$T_TMP/int.jsonl
"$KEEPER" record -c "$cfg" -o "$out" >"$T_TMP/int.out" 2>"$T_TMP/int.err" &
REC_PID=$!
sleep 0.8
kill -INT "$REC_PID"
wait "$REC_PID"
rc=$?
REC_PID=""
if [ "$rc" -eq 0 ] && grep -q 'stopped by SIGINT$' "$T_TMP/int.out"; then
	t_ok "sigint-clean-exit"
else
	t_fail "sigint-clean-exit" "exit $rc" "$(cat "$T_TMP/int.out" "$T_TMP/int.err" | head -c 400)"
fi

# ---- SIGKILL mid-run: whatever is there is whole lines, but for the last
out=$T_TMP/kill.jsonl
"$KEEPER" record -c "$cfg" -o "$out" >/dev/null 2>&1 &
REC_PID=$!
sleep 1.2
kill -KILL "$REC_PID"
wait "$REC_PID" 2>/dev/null
REC_PID=""
verify "sigkill-complete-lines-intact" cut 50

stop_all

# ---- usage and failures
expect help-record 0 'usage: keeper record -c FILE -o EVENTS' "$KEEPER" help record
expect missing-output 2 'missing -o EVENTS' "$KEEPER" record -c "$cfg"
expect missing-config 2 'missing -c FILE' "$KEEPER" record -o "$T_TMP/x.jsonl"
expect duration-zero 2 '--duration: not a number' "$KEEPER" record -c "$cfg" -o "$T_TMP/x.jsonl" --duration 0
expect duration-junk 2 '--duration: not a number' "$KEEPER" record -c "$cfg" -o "$T_TMP/x.jsonl" --duration 2s
expect unknown-flag 2 'unknown option: --bogus' "$KEEPER" record -c "$cfg" -o "$T_TMP/x.jsonl" --bogus
printf 'chain = { id = 1; ws = "ws://127.0.0.1:1"; rpc = [ "http://127.0.0.1:1" ]; };\nfeeds = ( { name = "a"; url = "ws://127.0.0.1:1/"; preset = "trade"; } );\n' >"$T_TMP/bad.cfg"
expect invalid-config 2 "bad.cfg:2: .*stale_after_ms" "$KEEPER" record -c "$T_TMP/bad.cfg" -o "$T_TMP/x.jsonl"
# Only the node, and nobody there: a clean run that records nothing.
printf 'chain = { id = 1; ws = "ws://127.0.0.1:1"; rpc = [ "http://127.0.0.1:1" ]; };\nlog = { level = "error"; };\n' >"$T_TMP/nofeeds.cfg"
expect node-only-nobody-there 0 '0 frames, 0 bytes -> .*; node 0; stopped after --duration$' \
	"$KEEPER" record -c "$T_TMP/nofeeds.cfg" -o "$T_TMP/empty.jsonl" --duration 0.3
expect uncreatable-output 1 "cannot create $T_TMP/no/such/dir.jsonl" \
	"$KEEPER" record -c "$cfg" -o "$T_TMP/no/such/dir.jsonl" --duration 1
if [ ! -e "$T_TMP/x.jsonl" ]; then t_ok "no-output-on-usage-error"; else t_fail "no-output-on-usage-error"; fi

t_done
