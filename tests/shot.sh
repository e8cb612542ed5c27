#!/bin/sh
# shot.sh: the Black Thursday backtest as a picture (keeper issue 6, point 3),
# run by `make backtest-shot`.  It imports the ETH/USD 10-minute bars of
# 2020-03-12, replays them with etc/backtest.cfg and that day's gas file into
# an HTML report, opens the page in Debian's headless chromium (installed
# with apt-get when missing) and screenshots it, then checks that the picture
# is a real one: a PNG of the window's size, not a blank page, and that the
# report it shows has the crash trip.
#
# Environment: KEEPER (default bin/keeper), OUT (default build): the files
# are OUT/black-thursday.{jsonl,json,html,png}.
set -eu
KEEPER=${KEEPER:-bin/keeper}
OUT=${OUT:-build}
W=1400 H=900
mkdir -p "$OUT"

if ! command -v chromium >/dev/null 2>&1; then
	echo "shot: installing Debian's chromium (apt-get)"
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
fi

ev="$OUT/black-thursday.jsonl"
html="$OUT/black-thursday.html"
png="$OUT/black-thursday.png"
"$KEEPER" import --format ohlcv-json --feed eth-usd \
	tests/data/prices/eth_usd_10min_03-12-2020.json > "$ev"
"$KEEPER" replay -c etc/backtest.cfg "$ev" --gas tests/data/prices/gas_03-12-2020.json \
	--report "$OUT/black-thursday.json" --html "$html"
grep -q '"trigger": "eth-crash", "kind": "price_move"' "$OUT/black-thursday.json" || {
	echo "shot: the report has no eth-crash trip" >&2
	exit 1
}

rm -f "$png"
# A throw-away profile: nothing of a user's chromium is read or kept.
prof=$(mktemp -d)
trap 'rm -rf "$prof"' EXIT
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
	--user-data-dir="$prof" --screenshot="$png" --window-size=$W,$H \
	"file://$(cd "$(dirname "$html")" && pwd)/$(basename "$html")" >/dev/null 2>&1 || true

# The PNG signature, IHDR's width and height, and a size no blank page
# compresses to (a white 1400x900 PNG is about 5 KB; the chart is tens).
[ -s "$png" ] || { echo "shot: chromium wrote no $png" >&2; exit 1; }
sig=$(od -An -tx1 -N8 "$png" | tr -d ' \n')
[ "$sig" = 89504e470d0a1a0a ] || { echo "shot: $png is not a PNG" >&2; exit 1; }
dims=$(od -An -tu1 -j16 -N8 "$png" | awk '{ printf "%d %d", (($1*256+$2)*256+$3)*256+$4, (($5*256+$6)*256+$7)*256+$8 }')
[ "$dims" = "$W $H" ] || { echo "shot: $png is $dims, not $W $H" >&2; exit 1; }
size=$(wc -c < "$png")
[ "$size" -gt 20000 ] || { echo "shot: $png is only $size bytes: a blank page?" >&2; exit 1; }
echo "shot: $png ($W x $H, $size bytes) of $html"
