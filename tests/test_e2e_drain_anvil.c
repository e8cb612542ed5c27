/*
 * test_e2e_drain_anvil: keeper issue 7, scenario 2 -- a drain keeper
 * cannot see coming.  "The attacker's transactions are mined directly, e.g.
 * in blocks built on command: the outflow trigger pauses within one block
 * of the threshold being crossed; the loss is at most the threshold plus
 * one block's outflow."
 *
 * Without mempool visibility means here: keeper has no mempool trigger, so
 * nothing in it judges a pending transaction (its summary: mempool 0
 * matched, 0 simulated; its node module still subscribes to
 * newPendingTransactions and counts what anvil announces, unused), and
 * each slice of the drain is sent to anvil with automining off and mined
 * at once by this test (evm_mine) in the same step.  What keeper acts on
 * is the block a slice is in: a new head, then the vault's balances read
 * at that block (ETH) and the Transfer logs of the block (the token).
 * That is the view of a keeper whose node never gossips the attacker's
 * transactions (a private builder, a relay), and the trip is the outflow
 * trigger's.
 *
 * The chain: anvil (foundry, .deps) with tests/contracts Erc20 and Vault
 * (guardian dev account 1, whose key keeper holds in a chmod 600 file).
 * Dev account 2 deposits 95 ETH on top of the vault's 5, and 9223 tokens
 * (depositToken) on top of its 777, so it owns 95 % of the vault's ETH and
 * 92 % of its 10000 tokens: its withdraw() and withdrawToken() in slices
 * are a bank run (or a stolen depositor key) through the vault's normal
 * exits, both of which pause() closes.  The state after set-up is an
 * anvil snapshot each part starts from.
 *
 * keeper runs without --dry-run: one `outflow` trigger on the vault (its
 * ETH and the token, threshold 10 %), the action pause() with guard
 * paused(), gas strategy `fixed` (tip 3 gwei, capped at 50).  Slices pay
 * a 1 gwei tip: anvil orders a block by tip, as builders do, so a slice
 * sent before the pause still comes after it.
 *
 *  ETH drain: window 10 minutes (all of the run).  Each block 4 % of the
 *          starting balance leaves by withdraw().  The test finds, from
 *          the vault's balances at each block, block B where the outflow
 *          since keeper's first reading first reaches ceil(10 % of it).
 *          After mining B it sends the next slice and waits for keeper's
 *          "sent" line (keeper has one block time), then mines B + 1: the
 *          pause is in B + 1, ahead of the slice (transaction index), the
 *          slice reverts with "paused" (its call trace), the vault is
 *          paused and lost exactly the outflow up to B, which is <= the
 *          threshold plus B's own slice.  keeper's trip line names the
 *          zero address and the same outflow as the chain.
 *  token drain: the same with withdrawToken() slices, B from the
 *          token's balanceOf(vault) at each block: the trip names the token
 *          and exactly the slices' sum, the pause is mined in B + 1 ahead of
 *          the next slice, which reverts with "paused", and the vault lost
 *          exactly the outflow up to B, <= the threshold plus one slice.
 *  control: window 1 s, each block 4 % of the ETH and 4 % of the tokens
 *          leave, blocks 1.3 s apart: 16 % of each leaves over the run
 *          (beyond the threshold) but no window holds more than one slice
 *          (4.5 % at most; even two slices a late head would bunch stay
 *          under 10 %): no trip, nothing sent, the guardian's nonce
 *          unchanged, and keeper's summary shows it read both balances at
 *          every head.
 * Bounded by an alarm (120 s); anvil and keeper are killed at exit, on a
 * fatal signal and on the alarm.
 */
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "keeper/kerr.h"
#include "signer/u256.h"
#include "tests/e2e.h"

#define TOKEN DEPLOYED0
#define VAULT DEPLOYED1
/* The depositor who runs on the vault. */
#define DRAINER ACCT2
#define DRAINER_KEY K2
/* Its token deposit, on top of deploy_vault()'s 777: 10000 in the vault. */
#define TOKEN_DEPOSIT "9223" E18
#define TOKEN_TOTAL "10000" E18

#define THRESHOLD_PCT 10
/* A slice: 1/SLICE_DIV (4 %) of the starting balance, each block. */
#define SLICE_DIV 25
#define MAX_SLICES 8
#define LONG_WINDOW_MS 600000
#define SHORT_WINDOW_MS 1000
#define CONTROL_STEPS 4
/* Blocks of the control are this far apart: beyond the window and the
 * detector's bucket alignment (window / 256 at most, twice for rounding),
 * with room for a head that reaches keeper late. */
#define CONTROL_GAP_MS (SHORT_WINDOW_MS + 2 * ((SHORT_WINDOW_MS + 255) / 256) + 300)
/* The slices' fees (wei): a 1 gwei tip, below keeper's 3. */
#define SLICE_FEES "--gas-limit 100000 --priority-gas-price 1000000000 --gas-price 20000000000"

static const char *key_path, *long_cfg, *short_cfg;
static char snapshot_id[32];

/* ---- chain */

/* The revert reason anvil's call tracer gives for a mined transaction
 * ("" when it did not revert or the trace failed). */
static void revert_reason(const char *hash, char *out, size_t cap)
{
	static char o[65536];
	json_t *j;
	const char *r;

	out[0] = 0;
	if (cast(o, sizeof o, "rpc debug_traceTransaction %s '{\"tracer\":\"callTracer\"}'", hash) ||
	    !(j = json_loads(o, 0, NULL)))
		return;
	if ((r = json_string_value(json_object_get(j, "revertReason"))))
		snprintf(out, cap, "%s", r);
	json_decref(j);
}

static bool vault_paused(void)
{
	char o[64];

	return cast(o, sizeof o, "call " VAULT " 'paused()(bool)'") == 0 && !strcmp(o, "true");
}

/* The vault's holding of the asset (ETH, or the token) after block. */
static bool holding(bool token, uint64_t block, u256_t *out)
{
	if (token)
		return cast_u256(out, "call " TOKEN " 'balanceOf(address)(uint256)' " VAULT
				 " --block %" PRIu64, block);
	return cast_u256(out, "balance " VAULT " --block %" PRIu64, block);
}

/* A slice of the drain, sent (not mined): the depositor's withdraw() or
 * withdrawToken().  Its nonce is the pool's next one for the depositor:
 * cast takes the latest block's, which would make the control's second
 * slice of a block replace the first. */
static bool send_slice(bool token, const u256_t *amount, char hash[67])
{
	char amt[U256_DEC_MAX], args[512];
	uint64_t nonce = cast_nonce(DRAINER, "pending");

	if (nonce == UINT64_MAX)
		return false;
	u256_to_dec(amount, amt, sizeof amt);
	snprintf(args, sizeof args, "--private-key " DRAINER_KEY " --nonce %" PRIu64 " " SLICE_FEES
		 " " VAULT " '%s(uint256)' %s", nonce, token ? "withdrawToken" : "withdraw", amt);
	return send_async(hash, args);
}

/* An amount of 18 decimals as text with 6 (figures only). */
static const char *units(const u256_t *a, char *buf, size_t cap)
{
	u256_t micro;
	uint64_t m = 0;

	if (u256_div_u64(&micro, a, 1000000000000ULL, NULL) != KERR_OK ||
	    !u256_to_u64(&micro, &m))
		snprintf(buf, cap, "?");
	else
		snprintf(buf, cap, "%" PRIu64 ".%06" PRIu64, m / 1000000, m % 1000000);
	return buf;
}

/* a / b in percent (figures only). */
static double pct_of(const u256_t *a, const u256_t *b)
{
	char x[U256_DEC_MAX], y[U256_DEC_MAX];

	u256_to_dec(a, x, sizeof x);
	u256_to_dec(b, y, sizeof y);
	return strtod(y, NULL) > 0 ? strtod(x, NULL) / strtod(y, NULL) * 100.0 : 0;
}

/* Back to the state after set-up, for the next part: anvil's snapshot is
 * used up by the revert, so a new one is taken. */
static bool restore(void)
{
	char o[64];

	if (cast(o, sizeof o, "rpc evm_revert %s", snapshot_id) || strcmp(o, "true"))
		return false;
	if (cast(o, sizeof o, "rpc evm_snapshot") || strlen(o) < 3)
		return false;
	snprintf(snapshot_id, sizeof snapshot_id, "%.*s", (int)strlen(o) - 2, o + 1);
	return !vault_paused();
}

/* The depositor's 95 ETH and 9223 tokens in the vault (checked: what the
 * vault holds and what it owes the depositor), automining off, and the
 * snapshot of that state. */
static bool setup_chain(void)
{
	u256_t held, owed, want_held, want_owed;
	char o[64];

	if (!send_mined("--private-key " DRAINER_KEY " " VAULT " 'deposit()' --value 95ether") ||
	    !send_mined("--private-key " K0 " " TOKEN " 'mint(address,uint256)' " DRAINER " "
			TOKEN_DEPOSIT) ||
	    !send_mined("--private-key " DRAINER_KEY " " TOKEN " 'approve(address,uint256)' " VAULT
			" " TOKEN_DEPOSIT) ||
	    !send_mined("--private-key " DRAINER_KEY " " VAULT " 'depositToken(uint256)' "
			TOKEN_DEPOSIT) ||
	    !cast_u256(&held, "call " TOKEN " 'balanceOf(address)(uint256)' " VAULT) ||
	    !cast_u256(&owed, "call " VAULT " 'tokenDeposits(address)(uint256)' " DRAINER) ||
	    u256_from_dec(&want_held, TOKEN_TOTAL, strlen(TOKEN_TOTAL)) != KERR_OK ||
	    u256_from_dec(&want_owed, TOKEN_DEPOSIT, strlen(TOKEN_DEPOSIT)) != KERR_OK ||
	    u256_cmp(&held, &want_held) != 0 || u256_cmp(&owed, &want_owed) != 0)
		return false;
	if (!set_automine(false) || cast(o, sizeof o, "rpc evm_snapshot") || strlen(o) < 3)
		return false;
	snprintf(snapshot_id, sizeof snapshot_id, "%.*s", (int)strlen(o) - 2, o + 1);
	return true;
}

/* ---- keeper */

static bool write_cfg(const char *path, int window_ms)
{
	char cfg[4096];

	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d/\"; rpc = [ \"%s\" ]; };\n"
		 "signer = { key_file = \"%s\"; };\n"
		 "watch = ( { name = \"vault\"; address = \"" VAULT "\"; tokens = [ \"" TOKEN "\" ]; } );\n"
		 "triggers = ( { name = \"drain\"; kind = \"outflow\"; watch = \"vault\";\n"
		 "    window_ms = %d; threshold_pct = %d; action = \"pause-vault\"; } );\n"
		 "actions = ( { name = \"pause-vault\"; to = \"" VAULT "\"; call = \"pause()\";\n"
		 "    guard = \"paused()\"; gas_limit = 100000; gas = \"capped\"; } );\n"
		 "gas = ( { name = \"capped\"; strategy = \"fixed\"; priority_fee_gwei = 3;\n"
		 "    max_fee_gwei = 50; } );\n"
		 "log = { level = \"info\"; };\n",
		 anvil_port, rpc_url, key_path, window_ms, THRESHOLD_PCT);
	return write_mode(path, cfg, 0644);
}

/* anvil answers eth_subscribe a moment before the subscription delivers
 * (seen with foundry 1.7.1): a block mined at once may go unnoticed. */
static void settle(void)
{
	usleep(500000);
}

/* keeper started on cfg, subscribed, with both of the vault's balances
 * read: the block of that first reading (keeper's base), 0 on failure. */
static uint64_t keeper_ready(const char *cfg)
{
	char line[1024];
	const char *p;

	if (!keeper_subscribed(cfg, false))
		return 0;
	CHECK_MSG(wait_log("all 2 watched balances read (block ", 1, 10000),
		  "balances not read:\n%s", logbuf);
	if (!log_line("all 2 watched balances read (block ", 0, line, sizeof line) ||
	    !(p = strstr(line, "(block ")))
		return 0;
	settle();
	return strtoull(p + 7, NULL, 10);
}

/* ---- the tests */

/*
 * The drain of one asset, slice by slice, until the threshold is crossed
 * at block B; keeper's pause must be mined in B + 1 ahead of the next
 * slice.
 */
static void drain(bool token)
{
	const char *what = token ? "token" : "ETH", *unit = token ? "tokens" : "ETH";
	char hash[67], next[67], ours[96], line[2048], v[128], summary[2048], why[64];
	char s_base[48], s_limit[48], s_slice[48], s_out[48], s_one[48], amt[U256_DEC_MAX];
	u256_t base, limit, slice, prev, bal, out = { 0 }, one = { 0 }, after, bound;
	uint64_t n0 = cast_nonce(ACCT1, "latest"), start, blk = 0, crossed = 0;
	int64_t t0, sent_ms;
	receipt_t rp, rs;
	int st;

	if (!(start = keeper_ready(long_cfg)))
		return;
	CHECK(holding(token, start, &base));
	CHECK_OK(u256_muldiv_ceil(&limit, &base, THRESHOLD_PCT, 100));
	CHECK_OK(u256_div_u64(&slice, &base, SLICE_DIV, NULL));
	prev = base;
	for (int i = 1; i <= MAX_SLICES && !crossed && t_cur_failed == 0; i++) {
		receipt_t r;

		/* Nothing sent while the window holds less than the limit. */
		CHECK_EQ_INT(count_in_log("sent action="), 0);
		CHECK(send_slice(token, &slice, hash));
		CHECK(evm_mine());
		blk = block_number();
		r = receipt(hash);
		CHECK_MSG(r.found && r.status == 1 && r.block == blk,
			  "slice %d: status %llu in block %llu of %llu", i,
			  (unsigned long long)r.status, (unsigned long long)r.block,
			  (unsigned long long)blk);
		CHECK(holding(token, blk, &bal));
		CHECK_OK(u256_sub(&out, &base, &bal));
		CHECK_OK(u256_sub(&one, &prev, &bal));
		prev = bal;
		if (u256_cmp(&out, &limit) >= 0)
			crossed = blk;
	}
	CHECK_MSG(crossed != 0, "%s: threshold not crossed in %d slices", what, MAX_SLICES);
	if (!crossed) {
		keeper_stop(summary, sizeof summary);
		return;
	}

	/* Block B is mined: the attacker goes on, keeper has one block time. */
	t0 = mono_ms();
	CHECK(send_slice(token, &slice, next));
	CHECK_MSG(wait_log("sent action=pause-vault", 1, 20000), "%s: no pause sent:\n%s", what,
		  logbuf);
	sent_ms = mono_ms() - t0;
	CHECK(log_line("sent action=pause-vault", 0, line, sizeof line));
	CHECK(field(line, "hash", ours, sizeof ours) && strlen(ours) == 66);
	/* keeper tripped on B's outflow, as the chain has it */
	CHECK(log_line("trip: drain ", 0, line, sizeof line));
	printf("    %s\n", line);
	CHECK(field(line, "kind", v, sizeof v) && !strcmp(v, "outflow"));
	CHECK(field(line, "token", v, sizeof v) && !strcasecmp(v, token ? TOKEN : ZERO_ADDR));
	u256_to_dec(&out, amt, sizeof amt);
	CHECK_MSG(field(line, "amount", v, sizeof v) && !strcmp(v, amt), "amount %s, chain %s", v,
		  amt);
	CHECK(field(line, "value", v, sizeof v) && atof(v) >= THRESHOLD_PCT);

	CHECK(evm_mine());
	CHECK_EQ_INT(block_number(), crossed + 1);
	rp = receipt(ours);
	rs = receipt(next);
	CHECK(rp.found && rs.found);
	CHECK_EQ_INT(rp.block, crossed + 1);
	CHECK_EQ_INT(rp.status, 1);
	CHECK_EQ_INT(rs.block, crossed + 1);
	CHECK_MSG(rp.index < rs.index, "pause at %llu, slice at %llu",
		  (unsigned long long)rp.index, (unsigned long long)rs.index);
	CHECK(vault_paused());
	CHECK(holding(token, crossed + 1, &after));
	CHECK_OK(u256_add(&bound, &limit, &one));
	/* Nothing of B + 1 came before the pause: the outflow until the pause
	 * took effect is the outflow up to B. */
	CHECK(u256_cmp(&out, &bound) <= 0);
	/* Both exits are gated: the slice after the pause failed on it, and
	 * the vault lost exactly the outflow up to B. */
	CHECK_EQ_INT(rs.status, 0);
	revert_reason(next, why, sizeof why);
	CHECK_EQ_STR(why, "paused");
	CHECK(u256_cmp(&after, &bal) == 0);
	units(&base, s_base, sizeof s_base);
	units(&limit, s_limit, sizeof s_limit);
	units(&slice, s_slice, sizeof s_slice);
	units(&out, s_out, sizeof s_out);
	units(&one, s_one, sizeof s_one);
	printf("    scenario 2 (%s): vault %s %s, threshold %d%% = %s, %s a block: crossed at "
	       "block %" PRIu64 " (%s out), pause sent within %lld ms of that block and mined "
	       "in block %" PRIu64 " at index %" PRIu64 ", the next slice at index %" PRIu64
	       " reverted (%s); loss %s %s <= %s + %s\n",
	       what, s_base, unit, THRESHOLD_PCT, s_limit, s_slice, crossed, s_out,
	       (long long)sent_ms, rp.block, rp.index, rs.index, why, s_out, unit, s_limit, s_one);

	CHECK_MSG(wait_log("mined action=pause-vault", 1, 10000), "not mined:\n%s", logbuf);
	CHECK(log_line("mined action=pause-vault", 0, line, sizeof line) && strstr(line, ours));
	CHECK_EQ_INT(cast_nonce(ACCT1, "latest"), n0 + 1);
	CHECK_EQ_INT(count_in_log("ALERT"), 0);
	st = keeper_stop(summary, sizeof summary);
	printf("    %s\n", summary);
	CHECK_EQ_INT(st, 0);
	CHECK(strstr(summary, "mempool 0 matched, 0 simulated,") != NULL);
	CHECK(strstr(summary, " 1 trips;") != NULL);
	CHECK(strstr(summary, " 1 sent,") != NULL);
	CHECK(strstr(summary, " 1 mined,") != NULL);
}

static void test_eth_drain(void)
{
	drain(false);
}

static void test_token_drain(void)
{
	drain(true);
}

/*
 * Outflow beyond the threshold over the run, but never within one window:
 * keeper must stay quiet.
 */
static void test_control(void)
{
	char summary[2048], h1[67], h2[67], a[48], b[48], want[64];
	u256_t base[2], limit[2], slice[2], prev[2], bal, out;
	uint64_t n0 = cast_nonce(ACCT1, "latest"), start, blk;
	double most = 0;
	int st;

	if (!(start = keeper_ready(short_cfg)))
		return;
	for (int t = 0; t < 2; t++) {
		CHECK(holding(t, start, &base[t]));
		CHECK_OK(u256_muldiv_ceil(&limit[t], &base[t], THRESHOLD_PCT, 100));
		CHECK_OK(u256_div_u64(&slice[t], &base[t], SLICE_DIV, NULL));
		prev[t] = base[t];
	}
	for (int i = 1; i <= CONTROL_STEPS && t_cur_failed == 0; i++) {
		int64_t t0;
		receipt_t r1, r2;

		CHECK(send_slice(false, &slice[0], h1));
		CHECK(send_slice(true, &slice[1], h2));
		CHECK(evm_mine());
		t0 = mono_ms();
		blk = block_number();
		r1 = receipt(h1);
		r2 = receipt(h2);
		CHECK(r1.status == 1 && r1.block == blk && r2.status == 1 && r2.block == blk);
		for (int t = 0; t < 2; t++) {
			u256_t one;

			/* one slice against the balance before it: what a
			 * window holding only this block measures */
			CHECK(holding(t, blk, &bal));
			CHECK_OK(u256_sub(&one, &prev[t], &bal));
			if (pct_of(&one, &prev[t]) > most)
				most = pct_of(&one, &prev[t]);
			prev[t] = bal;
		}
		/* The pace of the scenario, not a proof: the next block comes
		 * after this one has left the window. */
		while (mono_ms() - t0 < CONTROL_GAP_MS)
			usleep(20000);
	}
	CHECK(most > 0 && most < THRESHOLD_PCT);
	/* Over the run each asset lost more than the threshold. */
	for (int t = 0; t < 2; t++) {
		CHECK_OK(u256_sub(&out, &base[t], &prev[t]));
		CHECK(u256_cmp(&out, &limit[t]) >= 0);
		printf("    control %s: %s of %s left in %d blocks (%.1f%%, limit %d%%)\n",
		       t ? "token" : "ETH", units(&out, a, sizeof a), units(&base[t], b, sizeof b),
		       CONTROL_STEPS, pct_of(&out, &base[t]), THRESHOLD_PCT);
	}
	CHECK_EQ_INT(count_in_log("trip: "), 0);
	CHECK_EQ_INT(count_in_log("sent action="), 0);
	CHECK_EQ_INT(cast_nonce(ACCT1, "latest"), n0);
	CHECK_EQ_INT(cast_nonce(ACCT1, "pending"), n0);
	st = keeper_stop(summary, sizeof summary);
	printf("    %s\n", summary);
	CHECK_EQ_INT(st, 0);
	CHECK(strstr(summary, " 0 trips;") != NULL);
	CHECK(strstr(summary, " 0 sent,") != NULL);
	CHECK(strstr(summary, "mempool 0 matched, 0 simulated,") != NULL);
	/* keeper saw every block and read both balances at each (and at
	 * start): it judged every slice, and none tripped. */
	snprintf(want, sizeof want, " %d head,", CONTROL_STEPS);
	CHECK(strstr(summary, want) != NULL);
	snprintf(want, sizeof want, "balances %d read, 0 failed;", 2 * (CONTROL_STEPS + 1));
	CHECK(strstr(summary, want) != NULL);
	printf("    scenario 2 control: window %d ms, %d blocks %d ms apart, at most %.2f%% "
	       "in one window < %d%%: no trip, nothing sent, guardian nonce %" PRIu64
	       " unchanged\n", SHORT_WINDOW_MS, CONTROL_STEPS, CONTROL_GAP_MS, most,
	       THRESHOLD_PCT, n0);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (!keeper_test_begin("test_e2e_drain_anvil", 120, argv[0], "drain", NULL))
		return 1;
	key_path = tmp_file("guardian.key");
	long_cfg = tmp_file("long.cfg");
	short_cfg = tmp_file("short.cfg");
	if (!write_mode(key_path, K1 "\n", 0600))
		return setup_failed("key file");
	if (anvil_up(NULL) <= 0)
		return setup_failed("anvil did not start");
	if (!deploy_vault() || !setup_chain())
		return setup_failed("deploying Erc20 and Vault, the deposit and the tokens");
	if (!write_cfg(long_cfg, LONG_WINDOW_MS) || !write_cfg(short_cfg, SHORT_WINDOW_MS))
		return setup_failed("configs");
	printf("    Vault %s (guardian %s) with 100 ETH and 10000 tokens (95 ETH and 9223 "
	       "tokens of them %s's); automine off; no mempool trigger\n", VAULT, ACCT1, DRAINER);
	RUN(test_eth_drain);
	if (!restore())
		return setup_failed("evm_revert to the set-up's snapshot");
	RUN(test_token_drain);
	if (!restore())
		return setup_failed("evm_revert to the set-up's snapshot");
	RUN(test_control);
	return e2e_done();
}
