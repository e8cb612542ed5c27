/*
 * test_run_send_anvil: `keeper run` with its hands (keeper issue 5), the
 * guardian scenario end to end.  On 127.0.0.1: an anvil (foundry from
 * .deps) with tests/contracts/Erc20 and Vault deployed by cast (the vault
 * holds 5 ether and 777 tokens; its guardian is dev account 1, whose key
 * keeper gets in a chmod 600 key file), then automining turned off: blocks
 * are mined by this test with evm_mine, one at a time.  $KEEPER (the
 * build's keeper; default: bin/keeper beside this program's directory)
 * runs without --dry-run:
 *
 *  refusals: without a signer group, and with a key file others can read,
 *           run exits 2 with a message naming the problem, before
 *           connecting;
 *  guardian: a mempool trigger (simulate = true) on the vault, the
 *           action pause() with guard paused(), gas strategy outbid capped
 *           at 1000 gwei.  In each of N rounds (RUN_SEND_ROUNDS, default 5;
 *           20 for a longer run) the attacker (dev account 3) sends the
 *           drain emergencyWithdraw(token, attacker) with random fees below
 *           the cap; keeper simulates it, trips, reads the guard and sends
 *           pause() outbidding it; the test mines one block: the pause is
 *           in it before the drain (transaction index), the drain reverts
 *           (status 0), the vault keeps its 5 ether and is paused, keeper's
 *           account used exactly one nonce, and keeper logs the outcome
 *           "mined" with the hash it logged as "sent".  Between rounds the
 *           vault is unpaused by writing its storage (anvil_setStorageAt),
 *           so one keeper process guards every round.  SIGTERM: exit 0 and
 *           a summary of N sent, N mined, nothing in flight;
 *  guard:   keeper is started again (same state file, JSON log lines) with
 *           a trigger that does not simulate, on the paused vault; a new
 *           drain trips it, the guard reads paused() true and keeper logs
 *           guard_stopped: its account's nonce does not move, neither
 *           pending nor after a mined block.  Every line keeper wrote is a
 *           JSON object.
 * Bounded by an alarm (60 s + 10 s per round); anvil and keeper are killed
 * at exit, on a fatal signal and on the alarm.
 */
#include <signal.h>
#include <unistd.h>

#include <jansson.h>

#include "keeper/kerr.h"
#include "signer/u256.h"
#define RNG_SEED 0x72756e2d73656e64ULL
#include "tests/rng.h"
#include "tests/e2e.h"

/* anvil's dev accounts 1 (the guardian: keeper) and 3 (the attacker);
 * account 0 deploys the token and the vault. */
#define TOKEN DEPLOYED0
#define VAULT DEPLOYED1
#define VAULT_WEI "5000000000000000000"
#define CAP_GWEI 1000

static const char *key_path, *open_key_path, *cfg_path, *nosig_path, *openkey_cfg_path,
	*state_path;

/* Run keeper on cfg to its exit (a refusal); its status, stderr in logbuf. */
static int keeper_refusal(const char *cfg)
{
	int st;

	if (keeper_run(cfg, false) <= 0)
		return -1;
	st = wait_exit(keeper_pid, 5000);
	keeper_pid = -1;
	read_log();
	return exit_code(st);
}

/* ---- chain */

static bool set_paused(bool on)
{
	/* paused_ is the Vault's first storage slot (guardian and token are
	 * immutable: in the code, not in storage). */
	return cast(NULL, 0, "rpc anvil_setStorageAt " VAULT " 0x0 0x%064d", on ? 1 : 0) == 0;
}

static bool vault_paused(void)
{
	char o[64];

	return cast(o, sizeof o, "call " VAULT " 'paused()(bool)'") == 0 && !strcmp(o, "true");
}

/* The guardian's nonce at "latest" or "pending"; UINT64_MAX on error. */
static uint64_t guardian_nonce(const char *block)
{
	return cast_nonce(ACCT1, block);
}

/* ---- configs */

static bool write_cfg(const char *path, const char *signer, const char *trigger,
		      const char *log_format)
{
	char cfg[4096];

	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d/\"; rpc = [ \"%s\" ]; };\n"
		 "%s\n"
		 "watch = ( { name = \"vault\"; address = \"" VAULT "\"; tokens = [ \"" TOKEN "\" ]; } );\n"
		 "triggers = ( %s );\n"
		 "actions = ( { name = \"pause-vault\"; to = \"" VAULT "\"; call = \"pause()\";\n"
		 "    guard = \"paused()\"; gas_limit = 100000; gas = \"outbid\"; } );\n"
		 "gas = ( { name = \"outbid\"; strategy = \"outbid\"; max_fee_gwei = %d; } );\n"
		 "log = { level = \"info\"; format = \"%s\"; };\n"
		 "state_file = \"%s\";\n",
		 anvil_port, rpc_url, signer, trigger, CAP_GWEI, log_format, state_path);
	return write_mode(path, cfg, 0644);
}

#define TRIG_SIM "{ name = \"drain\"; kind = \"mempool\"; watch = \"vault\"; simulate = true;\n" \
	"    threshold_pct = 10; cooldown_ms = 0; action = \"pause-vault\"; }"
#define TRIG_SEL "{ name = \"sel\"; kind = \"mempool\"; watch = \"vault\";\n" \
	"    selectors = [ \"emergencyWithdraw(address,address)\" ]; threshold_pct = 10;\n" \
	"    cooldown_ms = 0; action = \"pause-vault\"; }"

/* ---- the tests */

/* anvil answers eth_subscribe a moment before the subscription delivers:
 * a transaction sent at once after keeper logged its subscriptions
 * answered is sometimes never notified (seen with foundry 1.7.1). */
static void settle(void)
{
	usleep(500000);
}

static void test_refusals(void)
{
	char sig[256];

	CHECK(write_cfg(nosig_path, "", TRIG_SIM, "text"));
	CHECK_EQ_INT(keeper_refusal(nosig_path), 2);
	CHECK_MSG(strstr(logbuf, "no signer group") != NULL, "stderr: %s", logbuf);
	printf("    no signer: %s", logbuf);

	snprintf(sig, sizeof sig, "signer = { key_file = \"%s\"; };", open_key_path);
	CHECK(write_cfg(openkey_cfg_path, sig, TRIG_SIM, "text"));
	CHECK_EQ_INT(keeper_refusal(openkey_cfg_path), 2);
	CHECK_MSG(strstr(logbuf, "chmod 600") != NULL && strstr(logbuf, open_key_path) != NULL,
		  "stderr: %s", logbuf);
	CHECK(strstr(logbuf, K1 + 2) == NULL);
	printf("    key file 0644: %s", logbuf);
}

static int rounds = 5;

/* One attack: the drain with random fees below the cap, keeper's pause,
 * one block. */
static void one_round(int r, const char *bal0)
{
	char drain[67], cmd[512], line[2048], ours[96], bal[128], fee[64];
	uint64_t prio = 1 + rnd() % 300, max = prio + 1 + rnd() % 200;
	uint64_t n0 = guardian_nonce("latest");
	receipt_t rp, rd;

	/* in wei: cast reads some "Ngwei" spellings of small N otherwise */
	snprintf(cmd, sizeof cmd, "--private-key " K3 " --priority-gas-price %" PRIu64 "000000000 "
		 "--gas-price %" PRIu64 "000000000 " VAULT " 'emergencyWithdraw(address,address)' "
		 TOKEN " " ACCT3, prio, max);
	CHECK(send_async(drain, cmd));
	CHECK_MSG(wait_log("sent action=pause-vault", r, 10000), "round %d: no send:\n%s", r,
		  logbuf);
	CHECK(log_line("sent action=pause-vault", r - 1, line, sizeof line));
	CHECK(field(line, "hash", ours, sizeof ours) && strlen(ours) == 66);
	/* outbid: strictly above both of the drain's fees, within the cap */
	CHECK(field(line, "priority_fee", fee, sizeof fee));
	CHECK(strtoull(fee, NULL, 10) > prio * 1000000000ULL);
	CHECK(field(line, "max_fee", fee, sizeof fee));
	CHECK(strtoull(fee, NULL, 10) > max * 1000000000ULL);
	CHECK(strtoull(fee, NULL, 10) <= CAP_GWEI * 1000000000ULL);
	CHECK(evm_mine());
	CHECK_MSG(wait_log("mined action=pause-vault", r, 10000), "round %d: not mined:\n%s", r,
		  logbuf);
	CHECK(log_line("mined action=pause-vault", r - 1, line, sizeof line));
	CHECK(strstr(line, ours) != NULL);
	rp = receipt(ours);
	rd = receipt(drain);
	CHECK(rp.found && rd.found);
	CHECK_EQ_INT(rp.block, rd.block);
	CHECK_EQ_INT(rp.status, 1);
	CHECK_EQ_INT(rd.status, 0);
	CHECK_MSG(rp.index < rd.index, "pause at %llu, drain at %llu",
		  (unsigned long long)rp.index, (unsigned long long)rd.index);
	CHECK(cast_balance(VAULT, bal, sizeof bal) && !strcmp(bal, bal0));
	CHECK(vault_paused());
	CHECK_EQ_INT(guardian_nonce("latest"), n0 + 1);
	printf("    round %d: drain tip %3" PRIu64 " max %3" PRIu64 " gwei; block %" PRIu64
	       ": pause at %" PRIu64 " (status 1), drain at %" PRIu64 " (status 0)\n", r, prio,
	       max, rp.block, rp.index, rd.index);
}

static void test_guardian(void)
{
	char summary[2048], bal0[128], want[64];
	int st;

	CHECK(cast_balance(VAULT, bal0, sizeof bal0) && !strcmp(bal0, VAULT_WEI));
	CHECK(keeper_run(cfg_path, false) > 0);
	if (keeper_pid <= 0)
		return;
	CHECK_MSG(wait_log("subscriptions answered", 1, 8000), "node not subscribed:\n%s",
		  logbuf);
	CHECK(count_in_log("sending as " ACCT1) == 1);
	settle();
	for (int r = 1; r <= rounds && t_cur_failed == 0; r++) {
		if (r > 1) {
			CHECK(set_paused(false));
			CHECK(!vault_paused());
		}
		one_round(r, bal0);
	}
	CHECK_EQ_INT(count_in_log("capped"), 0);
	CHECK_EQ_INT(count_in_log("ALERT"), 0);
	st = keeper_stop(summary, sizeof summary);
	printf("    %s\n", summary);
	CHECK_EQ_INT(st, 0);
	CHECK(strstr(summary, "keeper run: ") == summary);
	snprintf(want, sizeof want, " %d sent,", rounds);
	CHECK(strstr(summary, want) != NULL);
	snprintf(want, sizeof want, " %d mined,", rounds);
	CHECK(strstr(summary, want) != NULL);
	CHECK(strstr(summary, " 0 in flight;") != NULL);
	CHECK(strstr(summary, "stopped by SIGTERM") != NULL);
}

static void test_guard(void)
{
	char drain[67], summary[2048], line[2048] = "";
	uint64_t n0, p0;
	int st, lines = 0, json_lines = 0;

	CHECK(vault_paused());
	n0 = guardian_nonce("latest");
	p0 = guardian_nonce("pending");
	CHECK_EQ_INT(p0, n0);
	CHECK(keeper_run(cfg_path, false) > 0);
	if (keeper_pid <= 0)
		return;
	CHECK_MSG(wait_log("subscriptions answered", 1, 8000), "node not subscribed:\n%s",
		  logbuf);
	settle();
	/* paused: estimating gas would revert, so give it */
	CHECK(send_async(drain, "--private-key " K3 " --gas-limit 200000 --priority-gas-price "
			 "5000000000 --gas-price 50000000000 " VAULT " 'emergencyWithdraw(address,address)' "
			 TOKEN " " ACCT3));
	CHECK_MSG(wait_log("guard_stopped action=pause-vault trigger=sel", 1, 10000),
		  "no guard stop:\n%s", logbuf);
	usleep(500000);
	CHECK_EQ_INT(guardian_nonce("pending"), n0);
	CHECK(evm_mine());
	usleep(500000);
	CHECK_EQ_INT(guardian_nonce("latest"), n0);
	CHECK_EQ_INT(guardian_nonce("pending"), n0);
	CHECK_EQ_INT(count_in_log("sent action="), 0);
	st = keeper_stop(summary, sizeof summary);
	printf("    %s\n", summary);
	CHECK_EQ_INT(st, 0);
	CHECK(strstr(summary, " 0 sent,") != NULL);
	CHECK(strstr(summary, " 1 stopped by guard,") != NULL);
	/* every line a JSON object; the guard stop one with its ids */
	read_log();
	for (char *p = logbuf, *e; *p; p = e + 1) {
		json_t *j;

		if (!(e = strchr(p, '\n')))
			break;
		*e = 0;
		lines++;
		if ((j = json_loads(p, 0, NULL)) && json_is_object(j)) {
			const char *m = json_string_value(json_object_get(j, "msg"));

			json_lines++;
			if (m && strstr(m, "guard_stopped action=pause-vault trigger=sel")) {
				size_t len = strlen(p) < sizeof line ? strlen(p) : sizeof line - 1;

				memcpy(line, p, len);
				line[len] = 0;
			}
		}
		json_decref(j);
	}
	CHECK(lines > 0);
	CHECK_EQ_INT(json_lines, lines);
	printf("    %d JSON lines; %s\n", lines, line);
}

int main(int argc, char **argv)
{
	const char *nr = getenv("RUN_SEND_ROUNDS");
	char sig[256];

	(void)argc;
	if (nr && atoi(nr) > 0)
		rounds = atoi(nr);
	if (!keeper_test_begin("test_run_send_anvil", 60 + 10 * (unsigned)rounds, argv[0],
			       "run-send", NULL))
		return 1;
	key_path = tmp_file("guardian.key");
	open_key_path = tmp_file("open.key");
	cfg_path = tmp_file("run.cfg");
	nosig_path = tmp_file("nosigner.cfg");
	openkey_cfg_path = tmp_file("openkey.cfg");
	state_path = tmp_file("keeper.state");
	tmp_file("keeper.state.tmp");   /* the state's atomic replacement */
	if (!write_mode(key_path, K1 "\n", 0600) || !write_mode(open_key_path, K1 "\n", 0644))
		return setup_failed("key files");
	if (anvil_up(NULL) <= 0)
		return setup_failed("anvil did not start");
	if (!deploy_vault() || !set_automine(false))
		return setup_failed("deploying Erc20 and Vault with cast");
	RUN(test_refusals);
	printf("    Vault at %s with 5 ether and 777 tokens, guardian %s; automine off; "
	       "%d rounds\n", VAULT, ACCT1, rounds);
	snprintf(sig, sizeof sig, "signer = { key_file = \"%s\"; };", key_path);
	if (!write_cfg(cfg_path, sig, TRIG_SIM, "text"))
		return setup_failed("config");
	RUN(test_guardian);
	if (!write_cfg(cfg_path, sig, TRIG_SEL, "json"))
		return setup_failed("config");
	RUN(test_guard);
	return e2e_done();
}
