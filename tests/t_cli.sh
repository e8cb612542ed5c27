# t_cli.sh: the command line as interface.md fixes it: help, version, exit
# statuses, and `keeper sign` / `keeper address` with good and bad input.
# Bad input must exit non-zero with a message naming the problem, and no
# output of any case may contain the private key in any spelling.
. tests/lib.sh

# A test key (printed in this file, so it holds nothing); its address is
# what `cast wallet address` prints for it.
KEY=ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcc5e6b37b5c7d5e0b
ADDR=0x5F132aB24485761254D261B31889690E4E11A507
TO=0x70997970C51812dc3A010C7d01b50e0d17dc79C8
kf=$T_TMP/key
printf '0x%s\n' "$KEY" >"$kf"; chmod 600 "$kf"

expect version 0 '^keeper [0-9]+\.[0-9]+' "$KEEPER" --version
expect help 0 'check.*validate' "$KEEPER" help
expect help-sign 0 '--priority-fee WEI' "$KEEPER" help sign
expect help-unknown 2 'no such command: nosuch' "$KEEPER" help nosuch
expect no-command 2 '^keeper: no command given' "$KEEPER"
expect unknown-command 2 '^keeper: unknown command: frobnicate' "$KEEPER" frobnicate
expect unknown-command-usage 2 '^usage: keeper COMMAND' "$KEEPER" frobnicate
expect replay-usage 2 '^keeper: missing EVENTS' "$KEEPER" replay -c etc/guardian.cfg
expect replay-usage-text 2 '^usage: keeper replay -c FILE EVENTS' "$KEEPER" replay -c etc/guardian.cfg
expect help-replay 0 '--html OUT.html' "$KEEPER" help replay
expect run-needs-signer 2 'no signer group: run signs and sends' "$KEEPER" run -c etc/backtest.cfg
# A private relay strategy and a notify webhook: check and run take them
# (run submits through the relay and posts the webhooks).  run starts on a
# node that is not there, keeps trying, and stops cleanly on SIGTERM with
# its summary, relay and webhook counts included.
expect check-private-notify 0 '^ok' "$KEEPER" check -c etc/liquidator.cfg
cat >"$T_TMP/private.cfg" <<EOF
chain = { id = 31337; ws = "ws://127.0.0.1:1/"; rpc = [ "http://127.0.0.1:1/" ]; };
signer = { key_file = "$kf"; };
watch = ( { name = "vault"; address = "$TO"; } );
triggers = ( { name = "sel"; kind = "mempool"; watch = "vault";
    selectors = [ "emergencyWithdraw(address,address)" ]; threshold_pct = 10; action = "pause"; } );
actions = ( { name = "pause"; to = "$TO"; call = "pause()"; gas_limit = 100000; gas = "fb";
    notify = "http://127.0.0.1:1/hook"; } );
gas = ( { name = "fb"; strategy = "private"; max_fee_gwei = 100; relay = "http://127.0.0.1:1/";
    mode = "bundle"; also_public = false; } );
EOF
expect run-takes-private-notify 0 '^keeper run: .* relay 0 accepted, 0 failed; webhooks 0 delivered, 0 failed, 0 dropped; stopped by SIGTERM' \
	timeout --preserve-status -s TERM 1 "$KEEPER" run -c "$T_TMP/private.cfg"
expect unknown-flag 2 'unknown option: --bogus' "$KEEPER" sign --bogus
expect flag-needs-value 2 '--nonce needs a value' "$KEEPER" sign --nonce

S="$KEEPER sign --key-file $kf --chain-id 31337 --nonce 5 --gas 100000 --to $TO"
# Reference bytes from `cast mktx` for the same parameters.
expect sign-eip1559 0 '^0x02f873827a6905843b9aca008477359400830186a09470997970c51812dc3a010c7d01b50e0d17dc79c882303984deadbeefc001a0835dba7e7460c77dbdaff6eb6edefd7f9c2037d8acfe112060fbbf62a43f06baa064866f172f8b90b6c9fdf5a0d7dcd611ef4fc8d4a1d69ea94bb134cc14f91c0d$' \
	$S --value 12345 --data 0xdeadbeef --max-fee 2000000000 --priority-fee 1000000000
expect sign-legacy-eip155 0 '^0xf8' $S --gas-price 0x77359400
expect data-odd 2 '--data: odd number of hex digits' $S --data 0xabc --gas-price 1
expect data-char 2 '--data: character that is not a hex digit' $S --data 0xzz --gas-price 1
expect data-prefix 2 '--data: missing 0x prefix' $S --data deadbeef --gas-price 1
expect value-over-256-bits 2 '--value: value does not fit' $S --gas-price 1 \
	--value 115792089237316195423570985008687907853269984665640564039457584007913129639936
expect value-hex-over-256-bits 2 '--value: value does not fit' $S --gas-price 1 \
	--value 0x10000000000000000000000000000000000000000000000000000000000000000
expect fee-not-a-number 2 '--max-fee: character that is not a digit' $S --max-fee 12gwei --priority-fee 1
expect nonce-over-64-bits 2 '--nonce: value does not fit' \
	"$KEEPER" sign --key-file "$kf" --chain-id 1 --nonce 18446744073709551616 --gas 1 --to $TO --gas-price 1
expect nonce-eip2681 2 '--nonce: 2\^64-1 is not a valid nonce' \
	"$KEEPER" sign --key-file "$kf" --chain-id 1 --nonce 18446744073709551615 --gas 1 --to $TO --gas-price 1
expect chain-id-zero 2 '--chain-id: must be at least 1' \
	"$KEEPER" sign --key-file "$kf" --chain-id 0 --nonce 1 --gas 1 --to $TO --gas-price 1
expect to-checksum 2 '--to: mixed-case address fails EIP-55' \
	"$KEEPER" sign --key-file "$kf" --chain-id 1 --nonce 1 --gas 1 --to 0x70997970C51812dc3A010C7d01b50e0d17dc79c8 --gas-price 1
expect to-short 2 '--to: address is not 0x \+ 40 hex digits' \
	"$KEEPER" sign --key-file "$kf" --chain-id 1 --nonce 1 --gas 1 --to 0x7099 --gas-price 1
expect missing-nonce 2 'missing --nonce' "$KEEPER" sign --key-file "$kf" --chain-id 1 --gas 1 --to $TO --gas-price 1
expect missing-to 2 'missing --to' "$KEEPER" sign --key-file "$kf" --chain-id 1 --nonce 1 --gas 1 --gas-price 1
expect missing-fees 2 'missing --max-fee' $S
expect missing-priority 2 'missing --priority-fee' $S --max-fee 5
expect legacy-and-1559 2 '--gas-price \(legacy\) excludes' $S --gas-price 1 --max-fee 2 --priority-fee 1
expect twice 2 '--nonce given twice' $S --nonce 6 --gas-price 1
expect missing-key 2 'missing --key-file' "$KEEPER" sign --chain-id 1 --nonce 1 --gas 1 --to $TO --gas-price 1
expect key-file-missing 1 "cannot read $T_TMP/nokey: No such file" \
	"$KEEPER" sign --key-file "$T_TMP/nokey" --chain-id 1 --nonce 1 --gas 1 --to $TO --gas-price 1

open=$T_TMP/open.key
printf '0x%s\n' "$KEY" >"$open"; chmod 644 "$open"
expect key-file-too-open 1 "$open is readable by group or others.*chmod 600 $open" \
	"$KEEPER" sign --key-file "$open" --chain-id 1 --nonce 1 --gas 1 --to $TO --gas-price 1
expect address-key-too-open 1 "chmod 600 $open" "$KEEPER" address --key-file "$open"

bad=$T_TMP/bad.key
printf '0x%s\n' "${KEY%?}" >"$bad"; chmod 600 "$bad"
expect key-file-malformed 1 "$bad: not a key file" "$KEEPER" address --key-file "$bad"
printf '0x%064d\n' 0 >"$bad"
expect key-zero 1 "$bad: the key is not a valid secp256k1 private key" "$KEEPER" address --key-file "$bad"

expect address-key-file 0 "^$ADDR\$" "$KEEPER" address --key-file "$kf"
ks=tests/fixtures/keystore-pbkdf2.json
pw=$T_TMP/pw
printf 'testpassword\n' >"$pw"; chmod 600 "$pw"
expect address-keystore 0 '^0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b$' \
	"$KEEPER" address --keystore "$ks" --password-file "$pw"
printf 'wrongpassword\n' >"$T_TMP/pw2"; chmod 600 "$T_TMP/pw2"
expect keystore-wrong-password 1 "$ks: wrong password \(from $T_TMP/pw2\)" \
	"$KEEPER" address --keystore "$ks" --password-file "$T_TMP/pw2"
chmod 640 "$T_TMP/pw2"
expect password-file-too-open 1 "$T_TMP/pw2 is readable by group or others" \
	"$KEEPER" address --keystore "$ks" --password-file "$T_TMP/pw2"
expect keystore-no-password 2 '--keystore needs --password-file' "$KEEPER" address --keystore "$ks"
expect keystore-missing 1 "cannot read $T_TMP/none.json" \
	"$KEEPER" address --keystore "$T_TMP/none.json" --password-file "$pw"

# import: the real series convert; bad usage exits 2, bad data 1 with the
# line named and nothing on stdout.
D=tests/data/prices
expect import-chainlink 0 '^\{"t":1668921395000,"src":"usdc-usd","price":1.00018009\}$' \
	"$KEEPER" import --format chainlink-csv --feed usdc-usd $D/chainlink_usdc_usd_depeg_2023-03.csv
expect import-chainlink-count 0 '400 rounds, 400 price events for feed usdc-usd' \
	sh -c "\"\$1\" import --format chainlink-csv --feed usdc-usd $D/chainlink_usdc_usd_depeg_2023-03.csv 2>&1 >/dev/null" x "$KEEPER"
expect import-ohlcv 0 '^\{"t":1584057600000,"src":"eth-usd","price":107.52\}$' \
	"$KEEPER" import --format ohlcv-json --feed eth-usd $D/eth_usd_10min_03-12-2020.json
expect import-no-format 2 '--format is required' "$KEEPER" import --feed f $D/gas_03-12-2020.json
expect import-bad-format 2 'unknown --format "csv"' "$KEEPER" import --format csv --feed f x
expect import-feed-node 2 'is not a feed name' "$KEEPER" import --format ohlcv-json --feed node x
expect import-no-file 2 'FILE is required' "$KEEPER" import --format ohlcv-json --feed f
expect import-missing-file 1 'nosuch.csv: No such file' "$KEEPER" import --format chainlink-csv --feed f $T_TMP/nosuch.csv
printf 'roundId,answer,updatedAt\n1,100000000,5\n2,-1,6\n3,100000000,4\n' >"$T_TMP/bad.csv"
expect import-bad-rows 1 'bad.csv: line 4: updatedAt 4 is earlier' \
	"$KEEPER" import --format chainlink-csv --feed f "$T_TMP/bad.csv"
expect import-bad-rows-first 1 'bad.csv: line 3: answer: a price <= 0' \
	"$KEEPER" import --format chainlink-csv --feed f "$T_TMP/bad.csv"
if [ -s "$T_TMP/out" ]; then
	t_fail import-nothing-written "stdout holds $(wc -c <"$T_TMP/out") bytes after a refused file"
else
	t_ok import-nothing-written
fi
expect import-gas-not-ohlcv 1 'not a JSON array of bars' \
	"$KEEPER" import --format ohlcv-json --feed f $D/gas_03-12-2020.json

# No output of any case above holds the key, in any case, with or without 0x.
upper=$(printf '%s' "$KEY" | tr a-f A-F)
if grep -qi -e "$KEY" -e "$upper" "$T_TMP/all-output"; then
	t_fail no-key-in-output "the private key appears in the output"
else
	t_ok no-key-in-output
fi
t_done
