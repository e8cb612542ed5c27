#!/bin/sh
# demo.sh: `make demo` (keeper issue 7), the guardian scenario end to end on
# a throwaway anvil, told as a timeline.
#
# It starts anvil on a free port of 127.0.0.1, deploys tests/contracts'
# Erc20 and Vault (5 ether and 777 tokens in the vault; anvil dev account 1
# deploys, account 0 is the guardian), turns automining off, and starts
# `keeper run` on a copy of etc/demo.cfg (port and temporary paths put in)
# with the guardian's key in a chmod 600 file.  Then the attacker (account
# 2) sends the vault's emergencyWithdraw drain with a generous tip; keeper
# sees it pending, simulates it, trips, and sends pause() outbidding it.
# Once keeper logged the send, this script mines one block (evm_mine), and
# prints what happened with millisecond offsets from the attack's send,
# read from keeper's JSON log and the two receipts.
#
# Everything it started (anvil, keeper) is stopped on every exit, failures
# and Ctrl-C included, and its temporary directory is removed (kept, and
# named, when the demo fails).  Exit status 0 only when the vault was
# protected: the pause mined before the drain in the same block, the drain
# reverted, and the vault's ETH and token balances unchanged.
#
# Environment: KEEPER (default bin/keeper), DEMO_CFG (default
# etc/demo.cfg; another config must name the same vault and token),
# DEMO_KEEP=1 keeps the temporary directory (keeper's log, the config it
# ran).
set -u
cd "$(dirname "$0")/.." || exit 1

T_START=$(date +%s%3N)
KEEPER=${KEEPER:-bin/keeper}
CFG=${DEMO_CFG:-etc/demo.cfg}

# anvil's default dev accounts (public test keys of its mnemonic).
K0=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
K1=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
K2=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
GUARDIAN=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
ATTACKER=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
# What account 1 creates with its nonces 0 and 1 (etc/demo.cfg names them).
TOKEN=0x8464135c8F25Da09e49BC8782676a84730C318bC
VAULT=0x71C95911E9a5D330f4D621842EC243EE1343292e
VAULT_WEI=5000000000000000000
VAULT_TOKENS=777000000000000000000
# The attacker's bid, in wei (50 gwei tip, 200 gwei max fee), and a gas
# limit given so that nothing about the attack waits on an estimate.
ATTACK_TIP=50000000000
ATTACK_MAX=200000000000

TMP=""
ANVIL_PID=""
KEEPER_PID=""
FAILED=1

say() { printf '%s\n' "$*"; }
now_ms() { date +%s%3N; }

# Stop a child: SIGTERM, then SIGKILL after 5 s.  The npm wrappers (used
# only when the native binaries are missing) run the tool as their child,
# which is stopped first.
stop_pid() {
	[ -n "$1" ] || return 0
	kill -0 "$1" 2>/dev/null || return 0
	if [ -n "${WRAPPED:-}" ] && command -v pkill >/dev/null 2>&1; then
		pkill -TERM -P "$1" 2>/dev/null
	fi
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
	stop_pid "$KEEPER_PID"
	stop_pid "$ANVIL_PID"
	KEEPER_PID=""
	ANVIL_PID=""
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		if [ "$FAILED" -ne 0 ] || [ "${DEMO_KEEP:-0}" = 1 ]; then
			say "demo: logs kept in $TMP (keeper.log: keeper's stderr)"
		else
			rm -rf "$TMP"
		fi
	fi
}
trap cleanup EXIT
trap 'say "demo: interrupted"; exit 130' INT TERM HUP

fail() {
	say "demo: FAILED: $*" >&2
	if [ -n "$TMP" ] && [ -s "$TMP/keeper.log" ]; then
		say "---- keeper's last log lines" >&2
		tail -n 15 "$TMP/keeper.log" >&2
	fi
	exit 1
}

# The native binary of an npm package starts in milliseconds, its node
# wrapper in a few hundred: the attack's timing is measured around cast.
tool() {
	for f in .deps/node_modules/@foundry-rs/"$1"-*/bin/"$1"; do
		[ -x "$f" ] && { printf '%s' "$f"; return 0; }
	done
	[ -x ".deps/node_modules/.bin/$1" ] || return 1
	WRAPPED=1
	printf '%s' ".deps/node_modules/.bin/$1"
}
ANVIL=$(tool anvil) || fail "anvil not found under .deps (run: make deps)"
CAST=$(tool cast) || fail "cast not found under .deps (run: make deps)"
[ -x "$KEEPER" ] || fail "no keeper at $KEEPER (run: make)"
if ! grep -q "$VAULT" "$CFG" || ! grep -q "$TOKEN" "$CFG"; then
	fail "$CFG does not name the vault $VAULT and token $TOKEN"
fi

TMP=$(mktemp -d /tmp/keeper-demo.XXXXXX) || fail "no temporary directory"

# wait_for FILE PATTERN MS [PID]: until a line of FILE matches PATTERN
# (grep -E), at most MS ms, and while PID (if given) lives.
wait_for() {
	end=$(($(now_ms) + $3))
	while ! grep -Eq "$2" "$1" 2>/dev/null; do
		if [ "$(now_ms)" -gt "$end" ]; then
			return 1
		fi
		if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
			return 1
		fi
		sleep 0.02
	done
	return 0
}

# cast SUBCOMMAND with the node's URL before the subcommand's own
# arguments (after --create they would be constructor arguments).
c() {
	sub=$1
	shift
	"$CAST" "$sub" --rpc-url "$RPC" "$@"
}

# ---- chain ---------------------------------------------------------------
"$ANVIL" --host 127.0.0.1 --port 0 >"$TMP/anvil.log" 2>&1 &
ANVIL_PID=$!
wait_for "$TMP/anvil.log" '^Listening on 127\.0\.0\.1:[0-9]+' 15000 "$ANVIL_PID" \
	|| fail "anvil did not start"
PORT=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$TMP/anvil.log" | head -n 1)
RPC="http://127.0.0.1:$PORT"

code() { tr -d '\r\n' <"tests/contracts/$1.bin"; }
enc=$("$CAST" abi-encode 'constructor(string,string)' 'Demo Token' DEMO) || fail "abi-encode"
c send -q --private-key "$K1" --create "0x$(code Erc20)${enc#0x}" >/dev/null \
	|| fail "deploying Erc20"
enc=$("$CAST" abi-encode 'constructor(address,address)' "$GUARDIAN" "$TOKEN") || fail "abi-encode"
c send -q --private-key "$K1" --value "$VAULT_WEI" --create "0x$(code Vault)${enc#0x}" >/dev/null \
	|| fail "deploying Vault"
c send -q --private-key "$K1" "$TOKEN" 'mint(address,uint256)' "$VAULT" "$VAULT_TOKENS" \
	>/dev/null || fail "minting the vault's tokens"
[ "$(c call "$VAULT" 'guardian()(address)')" = "$GUARDIAN" ] \
	|| fail "the vault is not at $VAULT (was anvil's account 1 used before?)"
# From here on the demo mines: the attack must wait in the mempool.
c rpc evm_setAutomine false >/dev/null || fail "evm_setAutomine"

eth_of() { c balance "$VAULT"; }
tokens_of() { c call "$TOKEN" 'balanceOf(address)(uint256)' "$VAULT" | cut -d' ' -f1; }
ETH0=$(eth_of)
TOK0=$(tokens_of)
if [ "$ETH0" != "$VAULT_WEI" ] || [ "$TOK0" != "$VAULT_TOKENS" ]; then
	fail "vault funded with $ETH0 wei and $TOK0 tokens"
fi

# ---- keeper --------------------------------------------------------------
(umask 077 && printf '%s\n' "$K0" >"$TMP/guardian.key") || fail "key file"
chmod 600 "$TMP/guardian.key"
sed -e "s/127\.0\.0\.1:8545/127.0.0.1:$PORT/g" -e "s#\"var/demo/#\"$TMP/#g" \
	"$CFG" >"$TMP/demo.cfg" || fail "config copy"
"$KEEPER" check -c "$TMP/demo.cfg" >"$TMP/check.out" 2>&1 \
	|| fail "keeper check: $(cat "$TMP/check.out")"

"$KEEPER" run -c "$TMP/demo.cfg" >"$TMP/keeper.out" 2>"$TMP/keeper.log" &
KEEPER_PID=$!
wait_for "$TMP/keeper.log" 'subscriptions answered' 10000 "$KEEPER_PID" \
	|| fail "keeper did not subscribe to the node"
# The second line of defence is armed once the balances are read.
wait_for "$TMP/keeper.log" 'watched balances read' 5000 "$KEEPER_PID" \
	|| fail "keeper did not read the vault's balances"
# anvil answers eth_subscribe a moment before the subscription delivers
# (foundry 1.7.1): a transaction sent at once can go unnotified.
sleep 0.5
T_READY=$(now_ms)

# ---- the attack ------------------------------------------------------------
# Signed beforehand, so that "sent" is the broadcast and not cast's work.
RAW=$(c mktx --private-key "$K2" --nonce 0 --gas-limit 300000 \
	--priority-gas-price "$ATTACK_TIP" --gas-price "$ATTACK_MAX" \
	"$VAULT" 'emergencyWithdraw(address,address)' "$TOKEN" "$ATTACKER") \
	|| fail "signing the attack"
T0=$(now_ms)
DRAIN=$(c publish --async "$RAW") || fail "sending the attack"
[ ${#DRAIN} -eq 66 ] || fail "cast publish printed: $DRAIN"

wait_for "$TMP/keeper.log" '"msg":"sent action=pause-vault' 10000 "$KEEPER_PID" \
	|| fail "keeper sent no pause()"
T_MINE=$(now_ms)
c rpc evm_mine >/dev/null || fail "evm_mine"
wait_for "$TMP/keeper.log" '"msg":"(mined|reverted) action=pause-vault' 10000 "$KEEPER_PID" \
	|| fail "keeper saw no receipt of its pause()"

# ---- the outcome -----------------------------------------------------------
PAUSE=$(sed -n 's/.*"msg":"sent action=pause-vault .*hash=\(0x[0-9a-f]\{64\}\).*/\1/p' \
	"$TMP/keeper.log" | head -n 1)
[ -n "$PAUSE" ] || fail "no hash in keeper's sent line"
rcpt() { c receipt "$1" "$2" | cut -d' ' -f1; }
P_BLOCK=$(rcpt "$PAUSE" blockNumber)
P_INDEX=$(rcpt "$PAUSE" transactionIndex)
P_STATUS=$(rcpt "$PAUSE" status)
D_BLOCK=$(rcpt "$DRAIN" blockNumber)
D_INDEX=$(rcpt "$DRAIN" transactionIndex)
D_STATUS=$(rcpt "$DRAIN" status)
ETH1=$(eth_of)
TOK1=$(tokens_of)
PAUSED=$(c call "$VAULT" 'paused()(bool)')

stop_pid "$KEEPER_PID"
KEEPER_PID=""
SUMMARY=$(head -n 1 "$TMP/keeper.out")
stop_pid "$ANVIL_PID"
ANVIL_PID=""

# ---- the timeline ----------------------------------------------------------
# ms_of PATTERN: the epoch ms of keeper's first log line matching PATTERN.
ms_of() {
	ts=$(grep -E "$1" "$TMP/keeper.log" | head -n 1 | sed -n 's/^{"ts":"\([^"]*\)".*/\1/p')
	[ -n "$ts" ] && date -u -d "$ts" +%s%3N
}
# msg_of PATTERN: that line's message.
msg_of() {
	grep -E "$1" "$TMP/keeper.log" | head -n 1 | sed -n 's/.*"msg":"\(.*\)"}$/\1/p'
}
# A value of " key=" in a message.
val() { printf '%s\n' "$1" | sed -n "s/.* $2=\([^ ]*\).*/\1/p"; }
gwei() { awk -v w="$1" 'BEGIN { printf "%.9g", w / 1e9 }'; }
units() { awk -v w="$1" 'BEGIN { printf "%.6g", w / 1e18 }'; }
# cast prints a receipt's status as true/false (older versions 1/0).
status() {
	case $1 in
	true | 1) printf '(success)' ;;
	false | 0) printf '(reverted)' ;;
	*) printf '(no receipt)' ;;
	esac
}
row() {
	if [ -n "$2" ]; then
		printf '%+8d ms  %-15s %s\n' "$(($2 - T0))" "$1" "$3"
	else
		printf '%11s  %-15s %s\n' "-" "$1" "$3"
	fi
}

# keeper logs the simulation of a pending transaction that trips, with
# the time it saw the transaction arrive.
SIM_RE="\"msg\":\"trigger [^ ]+: tx $DRAIN seen pending at "
TRIP_RE="\"mod\":\"trip\".*tx=$DRAIN"
SENT_RE='"msg":"sent action=pause-vault'
MINED_RE='"msg":"(mined|reverted) action=pause-vault'
sim=$(msg_of "$SIM_RE")
trip=$(msg_of "$TRIP_RE")
sent=$(msg_of "$SENT_RE")

say ""
say "keeper demo: a drain of the vault $VAULT and keeper's pause()"
say "  (offsets in ms from the attack's broadcast; keeper's times from its log)"
say ""
row "attack sent" "$T0" "emergencyWithdraw by $ATTACKER, tip $(gwei $ATTACK_TIP) gwei, max fee $(gwei $ATTACK_MAX) gwei: $DRAIN"
seen=$(printf '%s\n' "$sim" | sed -n 's/.* seen pending at \([^ ,]*\),.*/\1/p')
row "attack seen" "$([ -n "$seen" ] && date -u -d "$seen" +%s%3N)" \
	"keeper sees it pending: ${sim%%:*} matches it"
row "simulated" "$(ms_of "$SIM_RE")" "${sim#*, simulated }"
row "tripped" "$(ms_of "$TRIP_RE")" "trigger ${trip%% *} ($(val "$trip" kind)): $(val "$trip" value) $(val "$trip" unit) at risk >= $(val "$trip" threshold), action $(val "$trip" action)"
row "signed + sent" "$(ms_of "$SENT_RE")" "pause() nonce $(val "$sent" nonce), tip $(gwei "$(val "$sent" priority_fee)") gwei, max fee $(gwei "$(val "$sent" max_fee)") gwei: $(val "$sent" hash)"
row "block mined" "$T_MINE" "block $P_BLOCK (evm_mine by this script): pause() at index $P_INDEX $(status "$P_STATUS"), drain at index $D_INDEX $(status "$D_STATUS")$([ "$D_BLOCK" = "$P_BLOCK" ] || printf ' of block %s' "$D_BLOCK")"
row "keeper: mined" "$(ms_of "$MINED_RE")" "$(msg_of "$MINED_RE" | cut -d' ' -f1-4)"
say ""
say "vault ETH:    before $ETH0 wei ($(units "$ETH0") ETH), after $ETH1 wei ($(units "$ETH1") ETH)"
say "vault tokens: before $TOK0 ($(units "$TOK0") DEMO), after $TOK1 ($(units "$TOK1") DEMO)"
say "vault paused: $PAUSED"
say "$SUMMARY"

if [ "$(status "$P_STATUS")" = "(success)" ] && [ "$(status "$D_STATUS")" = "(reverted)" ] \
	&& [ -n "$P_BLOCK" ] && [ "$P_BLOCK" = "$D_BLOCK" ] \
	&& [ "$P_INDEX" -lt "$D_INDEX" ] 2>/dev/null \
	&& [ "$ETH1" = "$ETH0" ] && [ "$TOK1" = "$TOK0" ] && [ "$PAUSED" = true ]; then
	FAILED=0
	say ""
	say "outcome: PROTECTED: the pause landed first, the drain reverted, nothing left the vault"
	T_END=$(now_ms)
	say "demo: $(awk -v a="$T_START" -v b="$T_END" 'BEGIN { printf "%.1f", (b - a) / 1000 }') s" \
		"(keeper ready after $(awk -v a="$T_START" -v b="$T_READY" 'BEGIN { printf "%.1f", (b - a) / 1000 }') s)"
	exit 0
fi
say ""
fail "the vault was NOT protected"
