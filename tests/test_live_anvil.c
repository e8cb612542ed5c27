/*
 * test_live_anvil: `keeper run --dry-run` end to end, keeper issue 4.  On
 * 127.0.0.1: an anvil (foundry 1.7.1 from .deps) mining a block every
 * second, with tests/contracts/Erc20 deployed by cast and 1000 tokens
 * minted to anvil's dev account 1, and a tests/feedsrv playing a trade
 * feed.  $KEEPER (the build's keeper; default: bin/keeper beside this
 * program's directory) runs with a config holding
 *   - an outflow trigger watching account 1 and the token (1 % of the
 *     balance within two minutes), and
 *   - a price_move trigger on the feed (5 % down within a minute),
 * and its trip lines (log module "trip") are checked:
 *   - the feed's noise (+-0.4 %) trips nothing; its scripted 6 % drop trips
 *     price_move exactly once, at the drop tick's own time;
 *   - account 1 sending 10 ETH (0.1 %) and 5 tokens (0.5 %) trips nothing;
 *   - sending 200 ETH trips outflow for ETH (token = the zero address,
 *     amount = the balance's fall: 210 ETH and the gas);
 *   - sending 50 tokens trips outflow for the token, amount 55 tokens
 *     exactly (the two Transfer logs);
 *   - SIGTERM stops keeper with exit 0 and a summary line counting the
 *     events and the three trips;
 *   - without --dry-run, run exits 2 with its plain refusal.
 * Bounded by a 75 s alarm; anvil, feedsrv and keeper are killed at exit,
 * on a fatal signal and on the alarm.
 */
#include <signal.h>
#include <strings.h>
#include <unistd.h>

#include "tests/e2e.h"
#include "tests/feedsrv.h"

/* The feed's clock: trades 100 ms apart from here; line DROP_AT drops. */
#define FEED_T0 1700000000000LL
#define NOISE_LINES 30
#define AFTER_LINES 10

static char token[64];
static const char *cfg_path, *feed_path;

/* ---- chain */

/* Wait until `blocks` more blocks are mined, then a little for the
 * balance reads of the last one. */
static void wait_blocks(uint64_t blocks)
{
	uint64_t b0 = block_number();
	int64_t t0 = mono_ms();

	while (block_number() < b0 + blocks && mono_ms() - t0 < 8000)
		usleep(100000);
	usleep(600000);
}

/* cast send from key, and its receipt says success. */
static bool cast_send(const char *key, const char *args)
{
	char out[8192];

	return cast(out, sizeof out, "send --private-key %s %s 2>&1", key, args) == 0 &&
	       strstr(out, "status") && strstr(out, "1 (success)");
}

static bool deploy_token(void)
{
	char code[256];

	if (!deploy("tests/contracts/Erc20.bin", "constructor(string,string)", "Tok TOK", NULL,
		    token))
		return false;
	/* 1000 tokens (18 decimals) for account 1, before keeper reads its
	 * first balances: the base of the 1 % limit. */
	snprintf(code, sizeof code, "%s 'mint(address,uint256)' %s 1000000000000000000000",
		 token, ACCT1);
	return cast_send(K0, code);
}

/* ---- the feed */

static bool write_feed(void)
{
	static char text[16384];
	size_t n = 0;
	int i;

	for (i = 0; i < NOISE_LINES; i++) {
		/* 2000 +- 8: at most 0.8 % between two ticks. */
		int d = (i * 7) % 17 - 8;
		n += (size_t)snprintf(text + n, sizeof text - n,
				      "{\"e\":\"trade\",\"p\":\"%d.00\",\"T\":%lld}\n", 2000 + d,
				      FEED_T0 + 100LL * i);
	}
	/* The drop: 6 % below 2000 at line NOISE_LINES. */
	n += (size_t)snprintf(text + n, sizeof text - n,
			      "{\"e\":\"trade\",\"p\":\"1880.00\",\"T\":%lld}\n",
			      FEED_T0 + 100LL * i);
	for (i = 1; i <= AFTER_LINES; i++)
		n += (size_t)snprintf(text + n, sizeof text - n,
				      "{\"e\":\"trade\",\"p\":\"%d.00\",\"T\":%lld}\n",
				      1875 + i % 10, FEED_T0 + 100LL * (NOISE_LINES + i));
	return write_text(feed_path, text);
}

/* ---- the test */

static void test_run(void)
{
	char line[2048], v[128], cmd[512], summary[1024];

	if (!keeper_subscribed(cfg_path, true))
		return;
	CHECK_MSG(wait_log("all 2 watched balances read", 1, 8000),
		  "balances not read:\n%s", logbuf);

	/* The feed: its drop, once; the noise before it, never. */
	CHECK_MSG(wait_log("trip: px ", 1, 8000), "no price_move trip:\n%s", logbuf);
	if (log_line("trip: px ", 0, line, sizeof line)) {
		printf("    %s\n", line);
		CHECK(field(line, "kind", v, sizeof v) && !strcmp(v, "price_move"));
		CHECK(field(line, "value", v, sizeof v) && atof(v) >= 6.0 && atof(v) < 6.8);
		CHECK(field(line, "threshold", v, sizeof v) && !strcmp(v, "5"));
		CHECK(field(line, "unit", v, sizeof v) && !strcmp(v, "pct"));
		/* The drop tick's own time: FEED_T0 + 3 s. */
		CHECK(field(line, "time", v, sizeof v) &&
		      !strcmp(v, "2023-11-14T22:13:23.000Z"));
		CHECK(field(line, "action", v, sizeof v) && !strcmp(v, "pause-it"));
	}

	/* Small outflows: 10 ETH (0.1 %) and 5 tokens (0.5 %). */
	CHECK(cast_send(K1, ACCT3 " --value 10ether"));
	snprintf(cmd, sizeof cmd, "%s 'transfer(address,uint256)' %s 5000000000000000000",
		 token, ACCT3);
	CHECK(cast_send(K1, cmd));
	wait_blocks(2);
	CHECK_EQ_INT(count_in_log("trip: out "), 0);

	/* 200 ETH: outflow of ETH. */
	CHECK(cast_send(K1, ACCT3 " --value 200ether"));
	CHECK_MSG(wait_log("trip: out ", 1, 6000), "no ETH outflow trip:\n%s", logbuf);
	if (log_line("trip: out ", 0, line, sizeof line)) {
		printf("    %s\n", line);
		CHECK(field(line, "kind", v, sizeof v) && !strcmp(v, "outflow"));
		CHECK(field(line, "token", v, sizeof v) && !strcmp(v, ZERO_ADDR));
		/* 210 ETH and the gas of three transactions (under 0.01 ETH). */
		CHECK(field(line, "amount", v, sizeof v) && strlen(v) == 21 &&
		      strncmp(v, "21000", 5) == 0);
		CHECK(field(line, "value", v, sizeof v) && atof(v) > 2.09 && atof(v) < 2.11);
		CHECK(field(line, "threshold", v, sizeof v) && !strcmp(v, "1"));
	}

	/* 50 tokens: outflow of the token, 55 tokens in the window. */
	snprintf(cmd, sizeof cmd, "%s 'transfer(address,uint256)' %s 50000000000000000000",
		 token, ACCT3);
	CHECK(cast_send(K1, cmd));
	CHECK_MSG(wait_log("trip: out ", 2, 6000), "no token outflow trip:\n%s", logbuf);
	if (log_line("trip: out ", 1, line, sizeof line)) {
		printf("    %s\n", line);
		CHECK(field(line, "token", v, sizeof v) && !strcasecmp(v, token));
		CHECK(field(line, "amount", v, sizeof v) &&
		      !strcmp(v, "55000000000000000000"));
		CHECK(field(line, "value", v, sizeof v) && !strcmp(v, "5.5"));
	}
	/* Nothing else tripped meanwhile. */
	wait_blocks(1);
	CHECK_EQ_INT(count_in_log("trip: px "), 1);
	CHECK_EQ_INT(count_in_log("trip: out "), 2);
	CHECK_EQ_INT(count_in_log(" trip: "), 3);

	/* SIGTERM: a clean stop and the summary. */
	CHECK_EQ_INT(keeper_stop(summary, sizeof summary), 0);
	printf("    %s\n", summary);
	CHECK(strstr(summary, "keeper run --dry-run: ") == summary);
	CHECK(strstr(summary, " 3 trips;") != NULL);
	CHECK(strstr(summary, "stopped by SIGTERM") != NULL);
	CHECK(strstr(summary, "(41 price,") != NULL);
	CHECK(strstr(summary, " 0 failed;") != NULL);
}

/* Without --dry-run, run refuses plainly, before connecting to anything. */
/* The config has no signer group: `run` without --dry-run refuses to
 * start rather than watch without the means to act. */
static void test_refuses_to_send(void)
{
	CHECK(keeper_run(cfg_path, false) > 0);
	CHECK_EQ_INT(exit_code(wait_exit(keeper_pid, 10000)), 2);
	read_log();
	CHECK(strstr(logbuf, "no signer group") != NULL);
}

int main(int argc, char **argv)
{
	char cfg[4096];
	feedsrv_t fs = { -1, 0 };

	(void)argc;
	feedsrv_locate(argv[0]);
	if (!keeper_test_begin("test_live_anvil", 75, argv[0], "live-anvil", feedsrv_path))
		return 1;
	cfg_path = tmp_file("run.cfg");
	feed_path = tmp_file("feed.jsonl");
	if (!write_feed())
		return setup_failed("feed file");
	{
		const char *args[] = { "--file", feed_path, "--interval-ms", "50",
				       "--lifetime", "90", NULL };
		if (feedsrv_start(&fs, args) == 0)
			track(fs.pid, false);
	}
	if (fs.pid <= 0 || anvil_up((const char *[]){ "--block-time", "1", NULL }) <= 0)
		return setup_failed("feedsrv or anvil did not start");
	if (!deploy_token())
		return setup_failed("deploying the Erc20 with cast");
	printf("    Erc20 at %s, 1000 tokens minted to account 1\n", token);
	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d/\"; rpc = [ \"%s\" ]; };\n"
		 "feeds = ( { name = \"eth-usd\"; url = \"ws://127.0.0.1:%d/\"; "
		 "preset = \"trade\"; stale_after_ms = 60000; } );\n"
		 "watch = ( { name = \"acct1\"; address = \"" ACCT1 "\"; tokens = [ \"%s\" ]; } );\n"
		 "triggers = (\n"
		 "  { name = \"px\"; kind = \"price_move\"; feed = \"eth-usd\"; window_ms = 60000;\n"
		 "    threshold_pct = 5; direction = \"down\"; action = \"pause-it\"; },\n"
		 "  { name = \"out\"; kind = \"outflow\"; watch = \"acct1\"; window_ms = 120000;\n"
		 "    threshold_pct = 1; action = \"pause-it\"; } );\n"
		 "actions = ( { name = \"pause-it\"; to = \"%s\"; call = \"pause()\"; "
		 "gas_limit = 100000; gas = \"g\"; } );\n"
		 "gas = ( { name = \"g\"; strategy = \"fixed\"; max_fee_gwei = 30; "
		 "priority_fee_gwei = 1; } );\n"
		 "log = { level = \"info\"; };\n",
		 anvil_port, rpc_url, fs.port, token, token);
	if (!write_text(cfg_path, cfg))
		return setup_failed("config");
	RUN(test_refuses_to_send);
	RUN(test_run);
	untrack(fs.pid);
	feedsrv_stop(&fs);
	return e2e_done();
}
