# t_replay.sh: `keeper replay` on the real price series of tests/data/prices
# (imported with `keeper import`), each first trip time compared with one
# computed here, independently, by awk over the same file:
#   (a) depeg, USDC/USD Chainlink rounds, March 2023 (SVB): down 2 %, held
#       30 minutes;
#   (b) depeg, USDT/USD rounds 2021-2022: down 2 %, the UST collapse of
#       May 2022;
#   (c) price_move, ETH/USD 10-minute bars of 2020-03-12: down 10 % within
#       30 minutes;
#   (d) no trip at all on USDC/USD 2021-2022 for a down depeg rule at 2 %.
# Plus the HTML page (one inline SVG, one table row per trip), determinism
# (two runs, identical bytes), the --gas file, and the exit statuses.
. tests/lib.sh

D=tests/data/prices
cfg=$T_TMP/backtest.cfg
# $1: the triggers.
mkcfg() {
	cat >"$cfg" <<EOF
chain = { id = 31337; ws = "ws://127.0.0.1:8545"; rpc = [ "http://127.0.0.1:8545" ]; };
feeds = (
	{ name = "usdc-usd"; url = "ws://127.0.0.1:1"; preset = "trade"; stale_after_ms = 129600000; },
	{ name = "usdt-usd"; url = "ws://127.0.0.1:2"; preset = "trade"; stale_after_ms = 129600000; },
	{ name = "eth-usd"; url = "ws://127.0.0.1:3"; preset = "trade"; stale_after_ms = 1800000; }
);
triggers = ( $1 );
actions = ( { name = "pause"; to = "0x5FbDB2315678afecb367f032d93F642f64180aa3"; call = "pause()";
              gas_limit = 100000; gas = "g"; } );
gas = ( { name = "g"; strategy = "eip1559"; max_fee_gwei = 500; priority_fee_gwei = 2; } );
log = { level = "error"; };
EOF
}

# first_trip REPORT TRIGGER: the t of the trigger's first trip, or "none".
first_trip() {
	t=$(grep -o "\"t\": [0-9]*, \"trigger\": \"$2\"" "$1" | head -n 1 | sed 's/"t": \([0-9]*\),.*/\1/')
	echo "${t:-none}"
}

# depeg_expect CSV THRESHOLD_ANSWER HOLD_MS: the first time the rounds stay
# at or below the threshold answer (8 decimals) for HOLD_MS, or "none".
# A stretch starts at its first round at or below; the hold ends at start +
# HOLD_MS if no round above comes before (a round exactly then is later).
depeg_expect() {
	awk -F, -v thr="$2" -v hold="$3" '
		/^#/ || $1 == "roundId" { next }
		{
			t = $3 * 1000; off = ($2 + 0 <= thr + 0)
			if (in_off && start + hold <= t) { printf "%.0f\n", start + hold; found = 1; exit }
			if (off && !in_off) { in_off = 1; start = t }
			if (!off) in_off = 0
			if (in_off && hold == 0) { printf "%.0f\n", t; found = 1; exit }
		}
		END { if (!found) print "none" }' "$1"
}

# move_expect JSONL WINDOW_MS PCT: the first tick whose drop from the
# highest tick of the last WINDOW_MS (itself included) is >= PCT.
move_expect() {
	sed 's/^{"t":\([0-9]*\),"src":"[^"]*","price":\([0-9.eE+-]*\)}$/\1 \2/' "$1" |
	awk -v w="$2" -v pct="$3" '
		{
			t[NR] = $1; p[NR] = $2 + 0; hi = p[NR]
			for (j = NR - 1; j >= 1 && t[j] >= $1 - w; j--)
				if (p[j] > hi) hi = p[j]
			if ((hi - p[NR]) / hi * 100 >= pct) { print $1; found = 1; exit }
		}
		END { if (!found) print "none" }'
}

# check NAME GOT WANT
check() {
	if [ "$2" = "$3" ] && [ "$2" != none ]; then t_ok "$1 ($2)"
	else t_fail "$1" "replay: $2" "expected: $3"; fi
}

DEPEG='{ name = "dp"; kind = "depeg"; feed = "FEED"; peg = 1.0; threshold_pct = 2; direction = "down";
	  hold_ms = HOLD; cooldown_ms = 86400000; action = "pause"; }'

# (a) USDC, March 2023
"$KEEPER" import --format chainlink-csv --feed usdc-usd $D/chainlink_usdc_usd_depeg_2023-03.csv \
	>"$T_TMP/usdc23.jsonl" 2>/dev/null
mkcfg "$(echo "$DEPEG" | sed 's/FEED/usdc-usd/; s/HOLD/1800000/')"
run "$KEEPER" replay -c "$cfg" "$T_TMP/usdc23.jsonl" --report "$T_TMP/a.json" --html "$T_TMP/a.html"
if [ "$T_RC" -ne 0 ]; then t_fail usdc-2023-runs "exit $T_RC" "$(head -c 300 "$T_TMP/err")"
else t_ok usdc-2023-runs; fi
got=$(first_trip "$T_TMP/a.json" dp)
want=$(depeg_expect $D/chainlink_usdc_usd_depeg_2023-03.csv 98000000 1800000)
check usdc-2023-depeg-first-trip "$got" "$want"
case $(date -u -d "@$((got / 1000))" +%F 2>/dev/null) in
2023-03-11) t_ok usdc-2023-depeg-on-2023-03-11 ;;
*) t_fail usdc-2023-depeg-on-2023-03-11 "trip at $got" ;;
esac
if grep -q '^keeper replay: .*400 lines, 400 events (400 price' "$T_TMP/out"; then t_ok usdc-2023-summary
else t_fail usdc-2023-summary "$(head -c 300 "$T_TMP/out")"; fi

# The HTML page: one inline SVG, the trips' rows, the threshold line.
ntrips=$(grep -c '"trigger": "dp"' "$T_TMP/a.json")
if [ "$(grep -c '<svg' "$T_TMP/a.html")" -eq 1 ] && grep -q '</svg>' "$T_TMP/a.html" &&
   [ "$(grep -o '<tr class="trip">' "$T_TMP/a.html" | wc -l)" -eq "$ntrips" ] && [ "$ntrips" -ge 1 ] &&
   grep -q 'class="thr".*dp 0.98</text>' "$T_TMP/a.html" && ! grep -q '<script' "$T_TMP/a.html" &&
   grep -q '</html>' "$T_TMP/a.html"; then
	t_ok "html-page ($ntrips trip rows)"
else
	t_fail html-page "svg $(grep -c '<svg' "$T_TMP/a.html"), rows vs $ntrips trips"
fi
if python3 -c 'import sys,xml.dom.minidom as m; s=open(sys.argv[1]).read(); m.parseString(s[s.index("<svg"):s.index("</svg>")+6])' \
	"$T_TMP/a.html" 2>/dev/null; then t_ok html-svg-well-formed
elif ! command -v python3 >/dev/null; then t_ok "html-svg-well-formed (no python3: skipped)"
else t_fail html-svg-well-formed "the SVG does not parse as XML"; fi

# Determinism: byte-identical reports from a second run.
run "$KEEPER" replay -c "$cfg" "$T_TMP/usdc23.jsonl" --report "$T_TMP/a2.json" --html "$T_TMP/a2.html"
if cmp -s "$T_TMP/a.json" "$T_TMP/a2.json" && cmp -s "$T_TMP/a.html" "$T_TMP/a2.html"; then
	t_ok deterministic-reports
else t_fail deterministic-reports "reports differ between two runs"; fi

# (b) USDT, May 2022
"$KEEPER" import --format chainlink-csv --feed usdt-usd $D/chainlink_usdt_usd_2021-2022.csv \
	>"$T_TMP/usdt.jsonl" 2>/dev/null
mkcfg "$(echo "$DEPEG" | sed 's/FEED/usdt-usd/; s/HOLD/0/')"
run "$KEEPER" replay -c "$cfg" "$T_TMP/usdt.jsonl" --report "$T_TMP/b.json"
got=$(first_trip "$T_TMP/b.json" dp)
check usdt-2022-depeg-first-trip "$got" "$(depeg_expect $D/chainlink_usdt_usd_2021-2022.csv 98000000 0)"
case $(date -u -d "@$((got / 1000))" +%Y-%m 2>/dev/null) in
2022-05) t_ok usdt-depeg-in-may-2022 ;;
*) t_fail usdt-depeg-in-may-2022 "trip at $got" ;;
esac

# (c) ETH, Black Thursday: the gas file prices the transaction.
"$KEEPER" import --format ohlcv-json --feed eth-usd $D/eth_usd_10min_03-12-2020.json \
	>"$T_TMP/eth.jsonl" 2>/dev/null
mkcfg '{ name = "crash"; kind = "price_move"; feed = "eth-usd"; window_ms = 1800000; threshold_pct = 10;
	 direction = "down"; cooldown_ms = 86400000; action = "pause"; }'
run "$KEEPER" replay -c "$cfg" "$T_TMP/eth.jsonl" --report "$T_TMP/c.json" --gas $D/gas_03-12-2020.json
got=$(first_trip "$T_TMP/c.json" crash)
check eth-2020-price-move-first-trip "$got" "$(move_expect "$T_TMP/eth.jsonl" 1800000 10)"
if grep -q '"market": "gas_file"' "$T_TMP/c.json"; then t_ok eth-fees-from-gas-file
else t_fail eth-fees-from-gas-file "$(head -c 400 "$T_TMP/c.json")"; fi

# (d) USDC 2021-2022: never 2 % below the peg.
"$KEEPER" import --format chainlink-csv --feed usdc-usd $D/chainlink_usdc_usd_2021-2022.csv \
	>"$T_TMP/usdc21.jsonl" 2>/dev/null
mkcfg "$(echo "$DEPEG" | sed 's/FEED/usdc-usd/; s/HOLD/0/')"
run "$KEEPER" replay -c "$cfg" "$T_TMP/usdc21.jsonl" --report "$T_TMP/d.json"
if [ "$T_RC" -eq 0 ] && grep -q '"by_trigger": {"dp": 0}' "$T_TMP/d.json" &&
   grep -q '"trips": \[\]' "$T_TMP/d.json" &&
   [ "$(depeg_expect $D/chainlink_usdc_usd_2021-2022.csv 98000000 0)" = none ] &&
   grep -q '762 events' "$T_TMP/out"; then
	t_ok usdc-2021-2022-no-trip
else t_fail usdc-2021-2022-no-trip "exit $T_RC" "$(head -c 300 "$T_TMP/d.json")"; fi

# Bad lines are counted, not fatal.
{ head -n 3 "$T_TMP/usdc21.jsonl"; echo '{"t":1,"src":"usdc-usd"'; echo '{"t":1613606725000,"src":"nope","price":1}'
  echo 'not json'; } >"$T_TMP/bad.jsonl"
run "$KEEPER" replay -c "$cfg" "$T_TMP/bad.jsonl" --report "$T_TMP/e.json"
if [ "$T_RC" -eq 0 ] && grep -q 'bad lines by kind: cut 1, json 1, unknown_src 1' "$T_TMP/out" &&
   grep -q '"bad_lines": {"cut": 1, "json": 1, "unknown_src": 1}' "$T_TMP/e.json"; then
	t_ok bad-lines-counted
else t_fail bad-lines-counted "$(cat "$T_TMP/out")"; fi

# Exit statuses.
expect replay-no-events 2 'missing EVENTS' "$KEEPER" replay -c "$cfg"
expect replay-no-config 2 'missing -c FILE' "$KEEPER" replay "$T_TMP/bad.jsonl"
expect replay-unreadable 1 "cannot read $T_TMP/none.jsonl" "$KEEPER" replay -c "$cfg" "$T_TMP/none.jsonl"
expect replay-bad-gas 1 "feed-binance.jsonl: " "$KEEPER" replay -c "$cfg" "$T_TMP/bad.jsonl" \
	--gas tests/fixtures/frames/feed-binance.jsonl
printf '{"data":[{"timestamp":"2020-03-12T00:00:00.000Z","60.0 Perc":1}]}' >"$T_TMP/gas.json"
expect replay-gas-missing-field 1 "bucket 0: 30.0 Perc" "$KEEPER" replay -c "$cfg" "$T_TMP/bad.jsonl" \
	--gas "$T_TMP/gas.json"
expect replay-unwritable 1 'cannot write the report' "$KEEPER" replay -c "$cfg" "$T_TMP/bad.jsonl" \
	--report /nonexistent/dir/r.json
mkcfg '{ name = "w"; kind = "price_move"; feed = "eth-usd"; window_ms = 2592000000L; threshold_pct = 10; action = "pause"; }'
run "$KEEPER" check -c "$cfg"
if [ "$T_RC" -eq 0 ]; then
	# The detector's own window limit (if any) is a config error: exit 2
	# naming the trigger; without a limit the replay runs.
	run "$KEEPER" replay -c "$cfg" "$T_TMP/eth.jsonl"
	if [ "$T_RC" -eq 0 ] || { [ "$T_RC" -eq 2 ] && grep -q 'trigger "w"' "$T_TMP/err"; }; then
		t_ok replay-window-limit-is-config-error
	else t_fail replay-window-limit-is-config-error "exit $T_RC" "$(head -c 300 "$T_TMP/err")"; fi
fi

t_done
