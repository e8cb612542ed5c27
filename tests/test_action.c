/*
 * test_action: calldata of actions for trips, against `cast calldata`
 * (foundry 1.7.1) for the same signature and values, and every way a trip
 * can lack what its action needs.
 */
#include <stdio.h>
#include <string.h>
#include "keeper/action.h"
#include "signer/hex.h"
#include "tests/config_util.h"
#include "tests/test.h"

static const char cfg_text[] =
	"chain = { id = 31337; ws = \"ws://127.0.0.1:8545\"; rpc = [ \"http://127.0.0.1:8545\" ]; };\n"
	"feeds = ( { name = \"f\"; url = \"wss://x.example/ws\"; price = \"p\"; stale_after_ms = 1000; } );\n"
	"watch = ( { name = \"w\"; address = \"0x3333333333333333333333333333333333333333\"; } );\n"
	"gas = ( { name = \"e\"; strategy = \"fixed\"; max_fee_gwei = 10; priority_fee_gwei = 1; } );\n"
	"actions = (\n"
	"  { name = \"pause\"; to = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"; call = \"pause()\";\n"
	"    guard = \"paused()\"; gas_limit = 50000; gas = \"e\"; },\n"
	"  { name = \"liq\"; to = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\";\n"
	"    call = \"liquidate(address,uint256)\"; args = ( \"$account\", \"$amount\" );\n"
	"    gas_limit = 500000; gas = \"e\"; },\n"
	"  { name = \"sweep\"; to = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\";\n"
	"    call = \"sweep(address,address,uint8,bool,address)\";\n"
	"    args = ( \"$sender\", \"$token\", \"$amount\", true, \"$watch\" );\n"
	"    gas_limit = 500000; gas = \"e\"; } );\n"
	"triggers = (\n"
	"  { name = \"pm\"; kind = \"price_move\"; feed = \"f\"; window_ms = 1000; threshold_pct = 1; action = \"pause\"; },\n"
	"  { name = \"mp\"; kind = \"mempool\"; watch = \"w\"; threshold_pct = 5; action = \"sweep\"; } );\n";

static void want_hex(const uint8_t *b, size_t n, const char *hex)
{
	char got[2 * ACTION_CALLDATA_MAX + 3];

	got[0] = '0', got[1] = 'x';
	hex_encode(got + 2, b, n);
	CHECK_EQ_STR(got, hex);
}

static void test_actions(void)
{
	config_keeper_t *c = load_cfg(cfg_text);
	const config_action_t *pause, *liq, *sweep;
	uint8_t out[ACTION_CALLDATA_MAX], sel[4], word[32];
	const char *missing;
	detect_trip_t trip;
	size_t len;
	bool done;

	CHECK(c != NULL);
	if (!c)
		return;
	pause = config_action_find(c, "pause");
	liq = config_action_find(c, "liq");
	sweep = config_action_find(c, "sweep");
	memset(&trip, 0, sizeof trip);
	/* pause(): no arguments, any trip. */
	CHECK_OK(action_calldata(pause, &c->triggers[0], &trip, out, sizeof out, &len, NULL));
	want_hex(out, len, "0x8456cb59");
	CHECK_OK(action_guard_calldata(pause, sel));
	want_hex(sel, 4, "0x5c975abb");
	CHECK_ERR(action_guard_calldata(liq, sel), KERR_NOT_FOUND);
	/* liquidate(account, amount = 2^256 - 1). */
	CHECK_ERR(action_calldata(liq, NULL, &trip, out, sizeof out, &len, &missing),
		  KERR_ACTION_FIELD);
	CHECK_EQ_STR(missing, "$account");
	trip.has_account = true;
	memset(trip.account.b, 0x42, 20);
	CHECK_ERR(action_calldata(liq, NULL, &trip, out, sizeof out, &len, &missing),
		  KERR_ACTION_FIELD);
	CHECK_EQ_STR(missing, "$amount");
	trip.has_amount = true;
	memset(&trip.amount, 0xff, sizeof trip.amount);
	CHECK_OK(action_calldata(liq, NULL, &trip, out, sizeof out, &len, NULL));
	want_hex(out, len, "0xbcbaf4870000000000000000000000004242424242424242424242424242424242424242"
			   "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	CHECK_ERR(action_calldata(liq, NULL, &trip, out, 67, &len, NULL), KERR_BUF);
	/* sweep($sender, $token, $amount as uint8, true, $watch). */
	CHECK_ERR(action_calldata(sweep, &c->triggers[1], &trip, out, sizeof out, &len, &missing),
		  KERR_ACTION_FIELD);
	CHECK_EQ_STR(missing, "$sender");
	trip.has_tx = true;
	memset(trip.tx_from.b, 0x11, 20);
	CHECK_ERR(action_calldata(sweep, &c->triggers[1], &trip, out, sizeof out, &len, &missing),
		  KERR_ACTION_FIELD);
	CHECK_EQ_STR(missing, "$token");
	trip.has_token = true;
	memset(trip.token.b, 0x22, 20);
	/* 2^256 - 1 does not fit uint8; 256 does not; 255 does. */
	CHECK_ERR(action_calldata(sweep, &c->triggers[1], &trip, out, sizeof out, &len, &missing),
		  KERR_ABI_VALUE);
	u256_from_u64(&trip.amount, 256);
	CHECK_ERR(action_calldata(sweep, &c->triggers[1], &trip, out, sizeof out, &len, NULL),
		  KERR_ABI_VALUE);
	u256_from_u64(&trip.amount, 255);
	/* $watch needs a trigger with a watch. */
	CHECK_ERR(action_calldata(sweep, &c->triggers[0], &trip, out, sizeof out, &len, &missing),
		  KERR_ACTION_FIELD);
	CHECK_EQ_STR(missing, "$watch");
	CHECK_OK(action_calldata(sweep, &c->triggers[1], &trip, out, sizeof out, &len, NULL));
	want_hex(out, len, "0x9f1141ed"
			   "0000000000000000000000001111111111111111111111111111111111111111"
			   "0000000000000000000000002222222222222222222222222222222222222222"
			   "00000000000000000000000000000000000000000000000000000000000000ff"
			   "0000000000000000000000000000000000000000000000000000000000000001"
			   "0000000000000000000000003333333333333333333333333333333333333333");
	/* Guard answers: exactly one word of 0 or 1. */
	memset(word, 0, sizeof word);
	CHECK_OK(action_guard_result(word, 32, &done));
	CHECK(!done);
	word[31] = 1;
	CHECK_OK(action_guard_result(word, 32, &done));
	CHECK(done);
	word[31] = 2;
	CHECK_ERR(action_guard_result(word, 32, &done), KERR_ABI_VALUE);
	word[31] = 1;
	word[0] = 1;
	CHECK_ERR(action_guard_result(word, 32, &done), KERR_ABI_VALUE);
	CHECK_ERR(action_guard_result(word, 0, &done), KERR_ABI_VALUE);
	CHECK_ERR(action_guard_result(word, 31, &done), KERR_ABI_VALUE);
	config_free(c);
}

int main(void)
{
	RUN(test_actions);
	return t_done();
}
