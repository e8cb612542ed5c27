/*
 * test_live_mempool_anvil: `mempool` triggers in `keeper run --dry-run`,
 * keeper issue 4.  On 127.0.0.1: an anvil (foundry 1.7.1 from .deps) with
 * tests/contracts/Erc20 and Vault deployed by cast (the vault holds 5 ether
 * from its construction and 777 tokens minted to it), then automining
 * turned off, so that what the test sends stays pending.  $KEEPER (the
 * build's keeper; default: bin/keeper beside this program's directory) runs
 * with two mempool triggers on the vault:
 *   - "sim": any call, simulate = true, threshold_pct = 10;
 *   - "sel": selectors = [ emergencyWithdraw(address,address) ], no
 *     simulation, threshold_pct = 10;
 * and its trip lines (log module "trip") are checked:
 *   - account 2's pending deposit() of 1 ether trips neither (it is
 *     simulated: the vault gains; its selector is not "sel"'s);
 *   - the attacker's pending emergencyWithdraw(token, attacker) trips each
 *     exactly once, with the hash `cast send` printed and the sender, type
 *     and fees `cast tx` reports; "sim"'s value is 100 with the vault's
 *     whole ETH balance (cast balance) as amount and ETH as token, "sel"'s
 *     the worst case, 100 with no amount;
 *   - SIGTERM stops keeper with exit 0 and a summary line counting two
 *     trips, three matches (deposit by "sim"; the drain by both), two
 *     simulations and no unjudged match.
 * Bounded by a 60 s alarm; anvil and keeper are killed at exit, on a fatal
 * signal and on the alarm.
 */
#include <signal.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "keeper/kerr.h"
#include "signer/u256.h"
#include "tests/e2e.h"

#define TOKEN DEPLOYED0
#define VAULT DEPLOYED1
/* emergencyWithdraw(address,address) */
#define SEL_DRAIN "0x6382d9ad"

static const char *cfg_path;

/* ---- the test */

static char dep_hash[67], drain_hash[67];

/* Compare a decimal trip field with a hex quantity of cast's JSON. */
static void want_fee(const char *line, const char *key, json_t *j, const char *member)
{
	char v[96], dec[96];
	const char *hx = json_string_value(json_object_get(j, member));
	u256_t a;

	CHECK_MSG(hx && field(line, key, v, sizeof v), "%s or %s missing", key, member);
	if (!hx || !field(line, key, v, sizeof v))
		return;
	CHECK_OK(u256_from_hex(&a, hx, strlen(hx)));
	u256_to_dec(&a, dec, sizeof dec);
	CHECK_MSG(!strcmp(v, dec), "%s=%s, cast's %s is %s", key, v, member, dec);
}

static void check_tx_fields(const char *line)
{
	char v[128], out[16384];
	json_t *j;

	CHECK(field(line, "tx", v, sizeof v) && !strcmp(v, drain_hash));
	CHECK(field(line, "sender", v, sizeof v) && !strcmp(v, ACCT3));
	if (cast(out, sizeof out, "tx %s --json", drain_hash) ||
	    !(j = json_loads(out, 0, NULL))) {
		CHECK_MSG(0, "cast tx %s failed", drain_hash);
		return;
	}
	CHECK(field(line, "tx_type", v, sizeof v) &&
	      strtol(v, NULL, 10) ==
		      strtol(json_string_value(json_object_get(j, "type")), NULL, 16));
	want_fee(line, "max_fee", j, "maxFeePerGas");
	want_fee(line, "max_priority_fee", j, "maxPriorityFeePerGas");
	CHECK(field(line, "max_fee", v, sizeof v) && !strcmp(v, "40000000000"));
	CHECK(field(line, "max_priority_fee", v, sizeof v) && !strcmp(v, "3000000000"));
	json_decref(j);
}

static void test_run(void)
{
	char line[2048], v[128], bal[128], summary[1024];

	if (!keeper_subscribed(cfg_path, true))
		return;
	CHECK_EQ_INT(count_in_log("not evaluated"), 0);
	CHECK(cast_balance(VAULT, bal, sizeof bal));

	/* A deposit: matched by "sim", simulated, harmless. */
	CHECK(send_async(dep_hash, "--private-key " K2 " --nonce 0 --value 1ether " VAULT
			 " 'deposit()'"));
	/* The drain. */
	CHECK(send_async(drain_hash, "--private-key " K3 " --nonce 0 --priority-gas-price 3gwei "
			 "--gas-price 40gwei " VAULT " 'emergencyWithdraw(address,address)' "
			 TOKEN " " ACCT3));
	printf("    deposit %s\n    drain   %s\n", dep_hash, drain_hash);

	CHECK_MSG(wait_log("trip: sel ", 1, 8000), "no trip of \"sel\":\n%s", logbuf);
	CHECK_MSG(wait_log("trip: sim ", 1, 8000), "no trip of \"sim\":\n%s", logbuf);
	if (log_line("trip: sim ", 0, line, sizeof line)) {
		printf("    %s\n", line);
		CHECK(field(line, "kind", v, sizeof v) && !strcmp(v, "mempool"));
		CHECK(field(line, "value", v, sizeof v) && !strcmp(v, "100"));
		CHECK(field(line, "threshold", v, sizeof v) && !strcmp(v, "10"));
		CHECK(field(line, "unit", v, sizeof v) && !strcmp(v, "pct"));
		CHECK(field(line, "action", v, sizeof v) && !strcmp(v, "pause-it"));
		/* ETH and the token both lose everything; ETH is reported */
		CHECK(field(line, "amount", v, sizeof v) && !strcmp(v, bal));
		CHECK(field(line, "token", v, sizeof v) && !strcmp(v, ZERO_ADDR));
		check_tx_fields(line);
	}
	if (log_line("trip: sel ", 0, line, sizeof line)) {
		printf("    %s\n", line);
		CHECK(field(line, "kind", v, sizeof v) && !strcmp(v, "mempool"));
		CHECK(field(line, "value", v, sizeof v) && !strcmp(v, "100"));
		CHECK(field(line, "threshold", v, sizeof v) && !strcmp(v, "10"));
		CHECK(!field(line, "amount", v, sizeof v));
		CHECK(!field(line, "token", v, sizeof v));
		check_tx_fields(line);
	}
	/* Give a late trip the time to show, then count. */
	usleep(1000000);
	CHECK_EQ_INT(count_in_log("trip: sim "), 1);
	CHECK_EQ_INT(count_in_log("trip: sel "), 1);
	CHECK_EQ_INT(count_in_log(" trip: "), 2);
	CHECK_EQ_INT(count_in_log(dep_hash), 0);
	CHECK_EQ_INT(count_in_log("could not be simulated"), 0);

	CHECK_EQ_INT(keeper_stop(summary, sizeof summary), 0);
	printf("    %s\n", summary);
	CHECK(strstr(summary, " 2 trips;") != NULL);
	CHECK(strstr(summary, " 2 pending_tx,") != NULL);
	CHECK(strstr(summary, " mempool 3 matched, 2 simulated, 0 unjudged;") != NULL);
	CHECK(strstr(summary, "stopped by SIGTERM") != NULL);
}

int main(int argc, char **argv)
{
	char cfg[4096];

	(void)argc;
	if (!keeper_test_begin("test_live_mempool_anvil", 60, argv[0], "live-mp", NULL))
		return 1;
	cfg_path = tmp_file("run.cfg");
	if (anvil_up(NULL) <= 0)
		return setup_failed("anvil did not start");
	/* From the deployment on, every transaction stays pending. */
	if (!deploy_vault() || !set_automine(false))
		return setup_failed("deploying Erc20 and Vault with cast");
	printf("    Vault at %s with 5 ether and 777 tokens; automine off\n", VAULT);
	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d/\"; rpc = [ \"%s\" ]; };\n"
		 "watch = ( { name = \"vault\"; address = \"" VAULT "\"; tokens = [ \"" TOKEN "\" ]; } );\n"
		 "triggers = (\n"
		 "  { name = \"sim\"; kind = \"mempool\"; watch = \"vault\"; simulate = true;\n"
		 "    threshold_pct = 10; action = \"pause-it\"; },\n"
		 "  { name = \"sel\"; kind = \"mempool\"; watch = \"vault\"; selectors = [ \"" SEL_DRAIN "\" ];\n"
		 "    threshold_pct = 10; action = \"pause-it\"; } );\n"
		 "actions = ( { name = \"pause-it\"; to = \"" VAULT "\"; call = \"pause()\"; "
		 "gas_limit = 100000; gas = \"g\"; } );\n"
		 "gas = ( { name = \"g\"; strategy = \"outbid\"; max_fee_gwei = 500; } );\n"
		 "log = { level = \"info\"; };\n",
		 anvil_port, rpc_url);
	if (!write_text(cfg_path, cfg))
		return setup_failed("config");
	RUN(test_run);
	return e2e_done();
}
