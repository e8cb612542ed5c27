/*
 * test_run_crash_anvil: keeper issue 5 point 4 with the real binary:
 * `kill -9` of `keeper run` after it sent its pause and before the
 * receipt; restarted on the same config and state file, it resumes the
 * same transaction and sends nothing new for that trip.
 * (tests/test_tracker_anvil.c shows the same of the tracker module in a
 * forked child; this one kills the process an operator runs.)
 *
 * On 127.0.0.1: an anvil (foundry from .deps) with tests/contracts/Erc20
 * and Vault deployed by cast (5 ether and 777 tokens in the vault; its
 * guardian is dev account 1, whose key keeper gets in a chmod 600 key
 * file), automining off: blocks are mined by this test, one at a time, so
 * nothing keeper sends is mined before the kill.  keeper runs without
 * --dry-run with a mempool trigger (simulate = true) on the vault whose
 * action is pause() with guard paused(), and a state_file in the
 * temporary directory.  The attacker (dev account 3) sends the drain
 * emergencyWithdraw(token, attacker).
 *
 *  first bid: before any head (keeper has seen no block when it trips),
 *            an eip1559 action bids on the latest block keeper read at
 *            start: max_fee - priority_fee is exactly 2 x the next base
 *            fee computed from that block, far below the 1000 gwei cap
 *            (which was the bid before keeper read a market at start);
 *            one block: the pause first, the drain after it, reverted;
 *  basic:    keeper logs "sent" (its hash and nonce); SIGKILL at once,
 *            before any block.  The state file on disk names that hash
 *            and nonce; the node holds it (pending nonce + 1), no receipt.
 *            Restarted, keeper logs "resumed" with that hash, logs no
 *            "sent", and the guardian's pending nonce does not move; the
 *            first drain, still pending, is read from the node's pool at
 *            the restart and is a trip that finds the action in flight
 *            (one in flight per action), and so is a second drain sent
 *            after the restart.  One block: the pause with that
 *            hash at index 0, status 1, both drains after it, reverted;
 *            keeper logs "mined" with the hash; the nonce moved by exactly
 *            one, one Paused event, the vault keeps its 5 ether.  SIGTERM:
 *            the summary of the second process is 0 sent, 0 replaced,
 *            1 mined, 0 in flight, and the state file lists nothing;
 *  escalate: the action bids with the escalate strategy (a block is mined
 *            first, so that keeper knows a base fee and bids below its
 *            cap); the drain bids the base fee with a tip of 1 wei.  The
 *            next block's base fee is set (anvil_setNextBlockBaseFeePerGas)
 *            to twice the first bid, so neither is mined (anvil drops both
 *            from its pool: the drain never runs); on that head keeper
 *            replaces its bid ("replaced", same nonce); SIGKILL at once.  The
 *            state file names the replacement as the current bid and the
 *            first bid as an earlier version; restarted, keeper resumes
 *            with both versions known.  Two endings:
 *            - the replacement is mined (the node holds it);
 *            - the first bid is mined: the test takes the replacement out
 *              of the node's pool and gives it the first bid's bytes
 *              again (from the state file as it was after "sent"), as a
 *              block builder that never saw the replacement would mine
 *              it.  keeper must recognise it as its own ("mined" with the
 *              first bid's hash), not sign the trip again;
 *            in both, nothing is sent beyond replacements of the same
 *            nonce, the nonce moves by exactly one and one pause lands;
 *  delays:   the basic kill 5 times, each a random 0..50 ms (fixed seed)
 *            after "sent" was seen, to land anywhere in the work that
 *            follows a send: every restart resumes the hash the first
 *            process sent, and exactly one pause lands per trip.  (The one
 *            save of a trip precedes its broadcast, so a kill after "sent"
 *            cannot cut it; a save cut short is test_state's SIGKILL test.)
 *  cooldown: a trigger with cooldown_ms = 60000 (its own state file)
 *            trips, its pause is mined; SIGTERM; the state file lists the
 *            trip's time.  The vault is unpaused and keeper restarted: it
 *            logs the trigger's last trip and the end of its cooldown, and
 *            the same drain again, seconds later, is over the threshold
 *            but suppressed (logged), no trip, nothing sent, the
 *            guardian's nonce unchanged;
 *  pending at start: keeper is killed (SIGKILL) before any attack; the
 *            drain is sent while it is down; restarted, keeper reads it
 *            from the node's pending pool (newPendingTransactions would
 *            never announce it), trips, outbids it, and its pause is mined
 *            before the drain in the next block: one pause, one send.
 * Every round prints its hashes and nonces.  Bounded by an alarm; anvil
 * and keeper are killed at exit, on a fatal signal and on the alarm.
 */
#include <inttypes.h>
#include <signal.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "keeper/kerr.h"
#include "keeper/state.h"
#include "signer/u256.h"
#include "strategies/gas.h"
#define RNG_SEED 0x6b696c6c2d6e696eULL
#include "tests/rng.h"
#include "tests/e2e.h"

#define TOKEN DEPLOYED0
#define VAULT DEPLOYED1
#define VAULT_WEI "5000000000000000000"
#define CAP_GWEI 1000
#define DELAY_ROUNDS 5

static const char *key_path, *cfg_path, *esc_cfg_path, *state_path;
static const char *first_cfg_path, *cool_cfg_path, *cool_state_path;

/* The first process's log, kept: the second one's spawn truncates the file. */
static char log1[1 << 16];

/* ---- chain */

/* The vault's pause flag (storage slot 0: guardian and token are
 * immutable, in the code), written directly to start a round afresh. */
static bool set_paused(bool on)
{
	return cast(NULL, 0, "rpc anvil_setStorageAt " VAULT " 0x0 0x%064d", on ? 1 : 0) == 0;
}

static bool vault_paused(void)
{
	char o[64];

	return cast(o, sizeof o, "call " VAULT " 'paused()(bool)'") == 0 && !strcmp(o, "true");
}

static uint64_t guardian_nonce(const char *block)
{
	return cast_nonce(ACCT1, block);
}

/* Paused events of the vault from block `from` on; -1 on error. */
static int paused_events(uint64_t from)
{
	static char o[65536];
	int n = 0;

	if (cast(o, sizeof o, "logs --json --from-block %" PRIu64 " --to-block latest "
		 "--address " VAULT " 'Paused(address)'", from))
		return -1;
	for (char *p = o; (p = strstr(p, "\"transactionHash\"")); p++)
		n++;
	return n;
}

/* The next block's base fee, in wei. */
static bool set_next_base_fee(const u256_t *wei)
{
	char hx[U256_HEX_MAX];

	u256_to_hex(wei, hx, sizeof hx);
	return cast(NULL, 0, "rpc anvil_setNextBlockBaseFeePerGas %s", hx) == 0;
}

/* The attacker's drain with the given fees (wei) and nonce: its hash.
 * The gas limit is given: estimating it would fail once the vault is
 * paused.  The nonce too: cast takes the latest one, and a second drain
 * while the first is pending needs the next. */
static bool send_drain(char hash[67], uint64_t prio_wei, uint64_t max_wei, uint64_t nonce)
{
	char cmd[512];

	snprintf(cmd, sizeof cmd, "--private-key " K3 " --nonce %" PRIu64 " --gas-limit 200000 "
		 "--priority-gas-price %" PRIu64 " --gas-price %" PRIu64 " " VAULT
		 " 'emergencyWithdraw(address,address)' " TOKEN " " ACCT3, nonce, prio_wei, max_wei);
	return send_async(hash, cmd);
}

/* ---- the state file (keeper/state.h: JSON, one object per line, the last
 * complete line is the state) */

typedef struct {
	bool ok;            /* a last complete line that is a state object */
	int ntxs;
	bool found;         /* a transaction whose hash is the one asked */
	uint64_t nonce;     /* ... its nonce */
	int nprev;          /* ... the earlier versions listed with it */
	bool prev_has;      /* ... among them the other hash asked */
	char raw[2 * STATE_RAW_MAX + 3];
} st_view_t;

static st_view_t state_view(const char *hash, const char *prev)
{
	static char buf[1 << 20];
	st_view_t v;
	size_t len = read_file_into(state_path, buf, sizeof buf);
	char *end, *start;
	json_t *j, *txs, *tx;
	size_t i;

	memset(&v, 0, sizeof v);
	/* an append cut short has no newline: it is not the state */
	while (len && buf[len - 1] != '\n')
		buf[--len] = 0;
	if (!len)
		return v;
	end = buf + len - 1;
	*end = 0;
	start = strrchr(buf, '\n');
	start = start ? start + 1 : buf;
	if (!(j = json_loads(start, 0, NULL)))
		return v;
	txs = json_object_get(j, "txs");
	v.ok = json_is_array(txs);
	v.ntxs = (int)json_array_size(txs);
	json_array_foreach(txs, i, tx) {
		const char *h = json_string_value(json_object_get(tx, "hash"));
		const char *raw = json_string_value(json_object_get(tx, "raw"));
		json_t *pv = json_object_get(tx, "prev"), *x;
		size_t k;

		if (!h || !hash || strcasecmp(h, hash))
			continue;
		v.found = true;
		v.nonce = (uint64_t)json_integer_value(json_object_get(tx, "nonce"));
		if (raw)
			snprintf(v.raw, sizeof v.raw, "%s", raw);
		v.nprev = (int)json_array_size(pv);
		json_array_foreach(pv, k, x)
			if (prev && json_string_value(x) && !strcasecmp(json_string_value(x), prev))
				v.prev_has = true;
	}
	json_decref(j);
	return v;
}

/* ---- keeper */

#define GWEI 1000000000ULL

/* A config: the vault watched, the mempool trigger on its drain (with
 * cooldown_ms), pause() with guard paused() bid for by the gas strategy
 * `gas` (a gas group entry named "g"), the state file state. */
static bool write_cfg(const char *path, const char *gas, unsigned cooldown_ms,
		      const char *state)
{
	char cfg[4096];

	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d/\"; rpc = [ \"%s\" ]; };\n"
		 "signer = { key_file = \"%s\"; };\n"
		 "watch = ( { name = \"vault\"; address = \"" VAULT "\"; tokens = [ \"" TOKEN "\" ]; } );\n"
		 "triggers = ( { name = \"drain\"; kind = \"mempool\"; watch = \"vault\"; simulate = true;\n"
		 "    threshold_pct = 10; cooldown_ms = %u; action = \"pause-vault\"; } );\n"
		 "actions = ( { name = \"pause-vault\"; to = \"" VAULT "\"; call = \"pause()\";\n"
		 "    guard = \"paused()\"; gas_limit = 100000; gas = \"g\"; } );\n"
		 "gas = ( { name = \"g\"; %s } );\n"
		 "log = { level = \"info\"; format = \"text\"; };\n"
		 "state_file = \"%s\";\n",
		 anvil_port, rpc_url, key_path, cooldown_ms, gas, state);
	return write_mode(path, cfg, 0644);
}

/* anvil answers eth_subscribe a moment before the subscription delivers:
 * a transaction sent at once after keeper logged its subscriptions
 * answered is sometimes never notified (seen with foundry 1.7.1). */
static void settle(void)
{
	usleep(500000);
}

/* As wait_log, polling every millisecond: the kill follows the line as
 * closely as a reader of the log can. */
static bool wait_log_fast(const char *needle, int want, int ms)
{
	int64_t t0 = mono_ms();

	while (count_in_log(needle) < want) {
		if (mono_ms() - t0 > ms || waitpid(keeper_pid, NULL, WNOHANG) == keeper_pid)
			return false;
		usleep(1000);
	}
	return true;
}

/* SIGKILL keeper; its log kept in log1.  When the signal went. */
static int64_t kill9(void)
{
	int64_t t = mono_ms();
	size_t len;
	int st;

	CHECK(kill(keeper_pid, SIGKILL) == 0);
	st = wait_exit(keeper_pid, 5000);
	CHECK_MSG(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		  "keeper was not killed by the SIGKILL (status %d)", st);
	keeper_pid = -1;
	len = read_log();
	if (len >= sizeof log1)
		len = sizeof log1 - 1;
	memcpy(log1, logbuf, len);
	log1[len] = 0;
	return t;
}

/* The n-th (0-based) line of text containing needle, into out. */
static bool line_in(const char *text, const char *needle, int n, char *out, size_t cap)
{
	const char *p = text;

	for (; (p = strstr(p, needle)); p++) {
		if (n-- == 0) {
			const char *s = p, *e = strchr(p, '\n');
			size_t len;

			while (s > text && s[-1] != '\n')
				s--;
			len = e ? (size_t)(e - s) : strlen(s);
			if (len >= cap)
				len = cap - 1;
			memcpy(out, s, len);
			out[len] = 0;
			return true;
		}
	}
	return false;
}

/* hash= and nonce= of a tracker line. */
static bool hash_nonce(const char *line, char hash[67], uint64_t *nonce)
{
	char n[32];

	if (!field(line, "hash", hash, 67) || strlen(hash) != 66 || !field(line, "nonce", n, sizeof n))
		return false;
	*nonce = strtoull(n, NULL, 10);
	return true;
}

/* A round that cannot go on: keeper (if running) killed, so that the
 * next round starts alone. */
static void abandon(void)
{
	if (keeper_pid > 0)
		kill9();
}

/* Start keeper on cfg and wait for its subscriptions (and, with
 * resumed, for its "resumed" line); false (keeper killed) when it did
 * not get that far. */
static bool start(const char *cfg, bool resumed)
{
	if (!keeper_subscribed(cfg, false)) {
		abandon();
		return false;
	}
	if (resumed)
		CHECK_MSG(wait_log("resumed action=pause-vault", 1, 8000), "nothing resumed:\n%s",
			  logbuf);
	return true;
}

/* SIGTERM the second process: exit 0 and a summary with 0 sent,
 * `replaced` replaced, 1 mined, nothing in flight; the state file then
 * lists nothing. */
static void stop_second(uint64_t replaced)
{
	char summary[2048], want[64];
	st_view_t sv;

	CHECK_EQ_INT(keeper_stop(summary, sizeof summary), 0);
	printf("    %s\n", summary);
	CHECK(strstr(summary, " 0 sent,") != NULL);
	snprintf(want, sizeof want, " %" PRIu64 " replaced,", replaced);
	CHECK_MSG(strstr(summary, want) != NULL, "want%s", want);
	CHECK(strstr(summary, " 1 mined,") != NULL);
	CHECK(strstr(summary, " 0 reverted,") != NULL);
	CHECK(strstr(summary, " 0 stopped by guard,") != NULL);
	CHECK(strstr(summary, " 0 in flight;") != NULL);
	CHECK(strstr(summary, "stopped by SIGTERM") != NULL);
	sv = state_view(NULL, NULL);
	CHECK(sv.ok);
	CHECK_EQ_INT(sv.ntxs, 0);
}

/*
 * One trip killed after "sent": keeper started, the drain, SIGKILL
 * delay_us after "sent" was seen; the restart resumes the hash and sends
 * nothing; one block mines it.  With second_drain, a second drain sent
 * after the restart trips into the action in flight.
 */
static void crash_round(const char *tag, unsigned delay_us, bool second_drain)
{
	char drain[67], drain2[67] = "", line[2048], hash[67], h2[67], bal[128];
	uint64_t n0, nonce = 0, n2, from, prio, max, an;
	int64_t t_seen, t_kill;
	receipt_t rp, rd, rd2;
	st_view_t sv;

	if (vault_paused())
		CHECK(set_paused(false));
	n0 = guardian_nonce("latest");
	CHECK_EQ_INT(guardian_nonce("pending"), n0);
	from = block_number() + 1;
	if (!start(cfg_path, false))
		return;
	settle();
	/* random fees below the cap: outbid has to beat them */
	prio = (1 + rnd() % 300) * GWEI;
	max = prio + (1 + rnd() % 200) * GWEI;
	CHECK((an = cast_nonce(ACCT3, "latest")) != UINT64_MAX);
	CHECK(send_drain(drain, prio, max, an));
	if (!wait_log_fast("sent action=pause-vault", 1, 10000)) {
		CHECK_MSG(0, "%s: no send:\n%s", tag, logbuf);
		abandon();
		return;
	}
	t_seen = mono_ms();
	if (delay_us)
		usleep(delay_us);
	t_kill = kill9();
	CHECK(line_in(log1, "sent action=pause-vault", 0, line, sizeof line));
	CHECK(hash_nonce(line, hash, &nonce));
	CHECK_EQ_INT(nonce, n0);
	CHECK_EQ_INT(count_in(log1, "sent action="), 1);
	/* killed before any block: only this test mines */
	CHECK_EQ_INT(block_number(), from - 1);
	CHECK(!receipt(hash).found);
	CHECK_EQ_INT(guardian_nonce("pending"), n0 + 1);
	sv = state_view(hash, NULL);
	CHECK_MSG(sv.found, "%s: the state file does not name %s", tag, hash);
	CHECK_EQ_INT(sv.nonce, n0);
	CHECK_EQ_INT(sv.ntxs, 1);
	CHECK_EQ_INT(sv.nprev, 0);

	/* the restart */
	if (!start(cfg_path, true))
		return;
	CHECK(log_line("resumed action=pause-vault", 0, line, sizeof line));
	CHECK(hash_nonce(line, h2, &n2));
	CHECK_EQ_STR(h2, hash);
	CHECK_EQ_INT(n2, n0);
	CHECK(strstr(line, " versions=1") != NULL);
	CHECK_EQ_INT(count_in_log("resumed action="), 1);
	if (second_drain) {
		char tx[80];

		/* the first drain, pending all along, is read from the node's
		 * pool at the restart: a trip, and the action is in flight */
		CHECK_MSG(wait_log("trip of drain: action pause-vault already in flight", 1, 10000),
			  "the first drain, pending at the restart: no busy trip:\n%s", logbuf);
		CHECK(log_line("kind=mempool", 0, line, sizeof line));
		CHECK(field(line, "tx", tx, sizeof tx) && !strcasecmp(tx, drain));
		CHECK(count_in_log("transactions pending at connect (eth_getBlockByNumber "
				   "pending)") == 1);
		/* a second one is a new trip, and the action is in flight */
		settle();
		CHECK(send_drain(drain2, prio, max, an + 1));
		CHECK_MSG(wait_log("trip of drain: action pause-vault already in flight", 2, 10000),
			  "the second drain: no busy trip:\n%s", logbuf);
		CHECK_EQ_INT(count_in_log("kind=mempool"), 2);
	}
	CHECK_EQ_INT(count_in_log("sent action="), 0);
	CHECK_EQ_INT(guardian_nonce("pending"), n0 + 1);

	CHECK(evm_mine());
	CHECK_MSG(wait_log("mined action=pause-vault", 1, 10000), "%s: not mined:\n%s", tag,
		  logbuf);
	CHECK(log_line("mined action=pause-vault", 0, line, sizeof line));
	CHECK(strstr(line, hash) != NULL);
	rp = receipt(hash);
	rd = receipt(drain);
	CHECK(rp.found && rd.found);
	CHECK_EQ_INT(rp.block, from);
	CHECK_EQ_INT(rp.index, 0);
	CHECK_EQ_INT(rp.status, 1);
	CHECK_EQ_INT(rd.block, rp.block);
	CHECK_EQ_INT(rd.status, 0);
	CHECK(rd.index > rp.index);
	if (second_drain) {
		rd2 = receipt(drain2);
		CHECK(rd2.found && rd2.block == rp.block && rd2.status == 0);
	}
	CHECK_EQ_INT(guardian_nonce("latest"), n0 + 1);
	CHECK_EQ_INT(guardian_nonce("pending"), n0 + 1);
	CHECK_EQ_INT(paused_events(from), 1);
	CHECK(vault_paused());
	CHECK(cast_balance(VAULT, bal, sizeof bal) && !strcmp(bal, VAULT_WEI));
	CHECK_EQ_INT(count_in_log("sent action="), 0);
	stop_second(0);
	printf("    %s: kill %3lld ms after \"sent\" seen; sent %s nonce %" PRIu64
	       "; state names it; resumed it%s; block %" PRIu64 ": pause at %" PRIu64
	       " (status 1), drain at %" PRIu64 " (status 0); nonce %" PRIu64 " -> %" PRIu64
	       "; 1 Paused\n", tag, (long long)(t_kill - t_seen), hash, nonce,
	       second_drain ? ", the drain pending at the restart and a second one found it in "
	       "flight" : "", rp.block, rp.index,
	       rd.index, n0, guardian_nonce("latest"));
}

static void test_basic(void)
{
	crash_round("basic", 0, true);
}

static void test_delays(void)
{
	char tag[32];

	for (int k = 1; k <= DELAY_ROUNDS && t_cur_failed == 0; k++) {
		unsigned d = (unsigned)(rnd() % 50001);

		snprintf(tag, sizeof tag, "delay %d (%u us)", k, d);
		crash_round(tag, d, false);
	}
}

/* The current base fee (the pending block's), in wei; 0 on error. */
static uint64_t base_fee(void)
{
	char o[64];

	if (cast(o, sizeof o, "base-fee pending"))
		return 0;
	return strtoull(o, NULL, 10);
}

/*
 * The kill during escalation: the first bid priced out of one block,
 * replaced on its head, SIGKILL right after "replaced".  first_bid_mined:
 * the node is made to mine the first bid instead of the replacement.
 */
static void escalate_round(const char *tag, bool first_bid_mined)
{
	char drain[67], line[2048], v1[67], v2[67], mh[67], raw1[2 * STATE_RAW_MAX + 3];
	char o[256], fee[64], bal[128];
	uint64_t n0, n1 = 0, n2 = 0, nr = 0, from, b, v1max, mined_block, an;
	u256_t w;
	receipt_t rp;
	st_view_t sv;
	int replaced2;

	if (vault_paused())
		CHECK(set_paused(false));
	n0 = guardian_nonce("latest");
	from = block_number() + 1;
	if (!start(esc_cfg_path, false))
		return;
	settle();
	/* A head for keeper's market: without a base fee known, the first
	 * bid is the cap, which no escalation can raise.  The node notifies
	 * it before the drain below. */
	CHECK(evm_mine());
	from++;
	/* The drain bids the base fee with a tip of 1 wei: the raised base
	 * fee below prices it out (anvil drops it), so it cannot run before
	 * the pause whatever the tips. */
	CHECK((b = base_fee()) > 0);
	CHECK((an = cast_nonce(ACCT3, "latest")) != UINT64_MAX);
	CHECK(send_drain(drain, 1, b, an));
	if (!wait_log("sent action=pause-vault", 1, 10000)) {
		CHECK_MSG(0, "%s: no send:\n%s", tag, logbuf);
		abandon();
		return;
	}
	CHECK(log_line("sent action=pause-vault", 0, line, sizeof line));
	CHECK(hash_nonce(line, v1, &n1));
	CHECK_EQ_INT(n1, n0);
	CHECK(field(line, "max_fee", fee, sizeof fee));
	v1max = strtoull(fee, NULL, 10);
	CHECK_MSG(v1max > b && v1max < CAP_GWEI * GWEI, "first bid max_fee %" PRIu64, v1max);
	/* the first bid's bytes, as the state file holds them */
	sv = state_view(v1, NULL);
	CHECK(sv.found && strlen(sv.raw) > 2);
	snprintf(raw1, sizeof raw1, "%s", sv.raw);

	/* the next block's base fee twice the first bid: not mined */
	u256_from_u64(&w, 2 * v1max);
	CHECK(set_next_base_fee(&w));
	CHECK(evm_mine());
	if (!wait_log_fast("replaced action=pause-vault", 1, 10000)) {
		CHECK_MSG(0, "%s: no replacement:\n%s", tag, logbuf);
		abandon();
		return;
	}
	kill9();
	CHECK(!receipt(v1).found);
	CHECK(!receipt(drain).found);
	CHECK(line_in(log1, "replaced action=pause-vault", 0, line, sizeof line));
	CHECK(hash_nonce(line, v2, &nr));
	CHECK_EQ_INT(nr, n0);
	CHECK(strcmp(v1, v2) != 0);
	CHECK_EQ_INT(count_in(log1, "sent action="), 1);
	CHECK_EQ_INT(block_number(), from);
	CHECK_EQ_INT(guardian_nonce("pending"), n0 + 1);
	/* the state names the replacement, and the first bid as an earlier
	 * version of it (a node that never saw the replacement may mine it) */
	sv = state_view(v2, v1);
	CHECK_MSG(sv.found, "%s: the state file does not name the replacement %s", tag, v2);
	CHECK_EQ_INT(sv.nonce, n0);
	CHECK_EQ_INT(sv.ntxs, 1);
	CHECK_MSG(sv.prev_has, "%s: the state file does not list the first bid %s", tag, v1);
	CHECK_EQ_INT(sv.nprev, 1);

	if (first_bid_mined) {
		/* A pool that holds the first bid only, priced in: the next
		 * base fee below it (and above what the drain bid). */
		u256_from_u64(&w, (b + v1max) / 2);
		CHECK(set_next_base_fee(&w));
		CHECK(cast(NULL, 0, "rpc anvil_dropTransaction %s", v2) == 0);
		CHECK(cast(o, sizeof o, "rpc eth_sendRawTransaction %s", raw1) == 0);
		CHECK_MSG(strstr(o, v1 + 2) != NULL, "eth_sendRawTransaction answered %s", o);
		CHECK_EQ_INT(guardian_nonce("pending"), n0 + 1);
	}

	if (!start(esc_cfg_path, true))
		return;
	CHECK(log_line("resumed action=pause-vault", 0, line, sizeof line));
	CHECK(hash_nonce(line, mh, &n2));
	CHECK_EQ_STR(mh, v2);
	CHECK_EQ_INT(n2, n0);
	CHECK_MSG(strstr(line, " versions=2") != NULL, "%s: not both versions: %s", tag, line);
	CHECK_EQ_INT(count_in_log("sent action="), 0);
	CHECK_EQ_INT(guardian_nonce("pending"), n0 + 1);

	CHECK(evm_mine());
	CHECK_MSG(wait_log("mined action=pause-vault", 1, 10000), "%s: not mined:\n%s", tag,
		  logbuf);
	CHECK(log_line("mined action=pause-vault", 0, line, sizeof line));
	CHECK(field(line, "hash", mh, sizeof mh));
	CHECK_EQ_STR(mh, first_bid_mined ? v1 : v2);
	rp = receipt(mh);
	CHECK(rp.found && rp.status == 1);
	mined_block = rp.block;
	CHECK_EQ_INT(mined_block, from + 1);
	CHECK_EQ_INT(guardian_nonce("latest"), n0 + 1);
	CHECK_EQ_INT(paused_events(from), 1);
	/* the drain bid the base fee of its time: the raised one priced it
	 * out of the node's pool with the first bid, and it never ran */
	CHECK(!receipt(drain).found);
	CHECK(cast_balance(VAULT, bal, sizeof bal) && !strcmp(bal, VAULT_WEI));
	CHECK(vault_paused());
	/* nothing new: replacements of the same nonce only */
	CHECK_EQ_INT(count_in_log("sent action="), 0);
	read_log();
	replaced2 = count_in(logbuf, "replaced action=pause-vault");
	for (int k = 0; k < replaced2; k++) {
		char l2[2048], h[67];
		uint64_t n;

		CHECK(log_line("replaced action=pause-vault", k, l2, sizeof l2));
		CHECK(hash_nonce(l2, h, &n) && n == n0);
	}
	stop_second((uint64_t)replaced2);
	printf("    %s: nonce %" PRIu64 ": first bid %s (max_fee %" PRIu64 " wei) priced out in "
	       "block %" PRIu64 ", replaced by %s; SIGKILL; state: the replacement and the first "
	       "bid; resumed; mined %s (the %s) in block %" PRIu64 ", %d replacements after the "
	       "restart; nonce %" PRIu64 " -> %" PRIu64 "; 1 Paused\n", tag, n0, v1, v1max, from,
	       v2, mh, first_bid_mined ? "first bid" : "replacement", mined_block, replaced2, n0,
	       guardian_nonce("latest"));
}

static void test_escalate(void)
{
	escalate_round("escalate, replacement mined", false);
}

static void test_escalate_first_bid(void)
{
	escalate_round("escalate, first bid mined", true);
}

/* ---- restart and start-up */

/* The latest block's base fee, gas used and gas limit. */
static bool latest_block(u256_t *base, uint64_t *used, uint64_t *limit, uint64_t *number)
{
	static char o[65536];
	json_t *j;
	bool ok;

	if (cast(o, sizeof o, "rpc eth_getBlockByNumber latest false") ||
	    !(j = json_loads(o, 0, NULL)))
		return false;
	*used = hex_member(j, "gasUsed");
	*limit = hex_member(j, "gasLimit");
	*number = hex_member(j, "number");
	ok = json_string_value(json_object_get(j, "baseFeePerGas")) &&
	     u256_from_hex(base, json_string_value(json_object_get(j, "baseFeePerGas")),
			   strlen(json_string_value(json_object_get(j, "baseFeePerGas")))) == KERR_OK &&
	     *used != UINT64_MAX && *limit != UINT64_MAX && *number != UINT64_MAX;
	json_decref(j);
	return ok;
}

/* A decimal field of a log line as a u256 (fees exceed nothing here, but
 * the cap is checked exactly). */
static bool dec_field(const char *line, const char *key, u256_t *out)
{
	char v[U256_DEC_MAX];

	return field(line, key, v, sizeof v) && u256_from_dec(out, v, strlen(v)) == KERR_OK;
}

/*
 * Gap 2: keeper trips before it has seen any head (only this test mines,
 * and it mines after the send).  The eip1559 bid is priced on the latest
 * block read at start: max_fee = 2 x its next base fee + the priority fee
 * (at least the 50 gwei floor), not the 1000 gwei cap.
 */
static void test_first_bid(void)
{
	char drain[67], line[2048], hash[67], ts[U256_DEC_MAX], tn[U256_DEC_MAX];
	u256_t base, next, two_next, mf, pf, cap, diff;
	uint64_t used = 0, limit = 0, number = 0, n0, nonce = 0, from, an;
	receipt_t rp, rd;

	if (vault_paused())
		CHECK(set_paused(false));
	n0 = guardian_nonce("latest");
	from = block_number() + 1;
	CHECK(latest_block(&base, &used, &limit, &number));
	CHECK_OK(gas_next_base_fee(&base, used, limit, &next));
	CHECK_OK(u256_add(&two_next, &next, &next));
	if (!start(first_cfg_path, false))
		return;
	CHECK_MSG(wait_log("market at start: block", 1, 8000), "no market read:\n%s", logbuf);
	CHECK(log_line("market at start: block", 0, line, sizeof line));
	snprintf(ts, sizeof ts, "block %" PRIu64 ",", number);
	CHECK_MSG(strstr(line, ts) != NULL, "want %s in: %s", ts, line);
	settle();
	CHECK((an = cast_nonce(ACCT3, "latest")) != UINT64_MAX);
	CHECK(send_drain(drain, GWEI, 10 * GWEI, an));
	if (!wait_log("sent action=pause-vault", 1, 10000)) {
		CHECK_MSG(0, "first bid: no send:\n%s", logbuf);
		abandon();
		return;
	}
	/* no block came between the start and the send */
	CHECK_EQ_INT(block_number(), from - 1);
	CHECK(log_line("sent action=pause-vault", 0, line, sizeof line));
	CHECK(hash_nonce(line, hash, &nonce));
	CHECK_EQ_INT(nonce, n0);
	CHECK(dec_field(line, "max_fee", &mf) && dec_field(line, "priority_fee", &pf));
	u256_from_u64(&cap, CAP_GWEI * GWEI);
	CHECK_MSG(u256_cmp(&mf, &cap) < 0, "the first bid is the cap: %s", line);
	CHECK_OK(u256_sub(&diff, &mf, &pf));
	u256_to_dec(&diff, ts, sizeof ts);
	u256_to_dec(&two_next, tn, sizeof tn);
	CHECK_MSG(u256_cmp(&diff, &two_next) == 0, "max_fee - priority_fee %s, want 2 x next "
		  "base fee %s", ts, tn);
	CHECK(evm_mine());
	CHECK_MSG(wait_log("mined action=pause-vault", 1, 10000), "first bid: not mined:\n%s",
		  logbuf);
	rp = receipt(hash);
	rd = receipt(drain);
	CHECK(rp.found && rp.status == 1 && rp.block == from && rp.index == 0);
	CHECK(rd.found && rd.status == 0 && rd.block == from && rd.index > rp.index);
	CHECK_EQ_INT(paused_events(from), 1);
	CHECK_EQ_INT(keeper_stop(line, sizeof line), 0);
	u256_to_dec(&base, ts, sizeof ts);
	u256_to_dec(&mf, tn, sizeof tn);
	printf("    first bid before any head: block %" PRIu64 " read at start (base fee %s wei), "
	       "max_fee %s wei = 2 x next base fee + priority, cap %d gwei; pause mined at "
	       "index %" PRIu64 " of block %" PRIu64 ", drain reverted\n", number, ts, tn,
	       CAP_GWEI, rp.index, rp.block);
}

/* The state file's last_trip_ms of trigger "drain" (cool_state_path); -1
 * when there is none. */
static int64_t cool_last_trip(void)
{
	static char buf[1 << 20];
	size_t len = read_file_into(cool_state_path, buf, sizeof buf);
	int64_t v = -1;
	char *start;
	json_t *j, *c;
	size_t i;

	while (len && buf[len - 1] != '\n')
		buf[--len] = 0;
	if (!len)
		return -1;
	buf[len - 1] = 0;
	start = strrchr(buf, '\n');
	if (!(j = json_loads(start ? start + 1 : buf, 0, NULL)))
		return -1;
	json_array_foreach(json_object_get(j, "cooldowns"), i, c)
		if (!strcmp(json_string_value(json_object_get(c, "trigger")) ?
			    json_string_value(json_object_get(c, "trigger")) : "", "drain"))
			v = (int64_t)json_integer_value(json_object_get(c, "last_trip_ms"));
	json_decref(j);
	return v;
}

/*
 * Gap 1: a trigger's cooldown survives a restart.  cooldown_ms = 60000:
 * the trip, its pause mined; SIGTERM; the vault unpaused and keeper
 * restarted; the same drain seconds later is suppressed, nothing sent.
 */
static void test_cooldown(void)
{
	char drain[67], drain2[67], line[2048], summary[2048], t1[64], want[128];
	uint64_t n0, from, an;
	int64_t last, t_trip;
	receipt_t rp;

	if (vault_paused())
		CHECK(set_paused(false));
	n0 = guardian_nonce("latest");
	from = block_number() + 1;
	if (!start(cool_cfg_path, false))
		return;
	settle();
	CHECK((an = cast_nonce(ACCT3, "latest")) != UINT64_MAX);
	CHECK(send_drain(drain, 2 * GWEI, 20 * GWEI, an));
	if (!wait_log("sent action=pause-vault", 1, 10000)) {
		CHECK_MSG(0, "cooldown: no send:\n%s", logbuf);
		abandon();
		return;
	}
	t_trip = mono_ms();
	CHECK(log_line("kind=mempool", 0, line, sizeof line));
	CHECK(field(line, "time", t1, sizeof t1));
	CHECK(evm_mine());
	CHECK_MSG(wait_log("mined action=pause-vault", 1, 10000), "cooldown: not mined:\n%s",
		  logbuf);
	CHECK(log_line("mined action=pause-vault", 0, line, sizeof line));
	CHECK(field(line, "hash", want, sizeof want));
	rp = receipt(want);
	CHECK(rp.found && rp.status == 1 && rp.block == from);
	CHECK(receipt(drain).status == 0);
	CHECK(vault_paused());
	CHECK_EQ_INT(keeper_stop(summary, sizeof summary), 0);
	CHECK(strstr(summary, " 1 sent,") != NULL && strstr(summary, " 1 mined,") != NULL);
	CHECK((last = cool_last_trip()) > 0);
	CHECK_EQ_INT(guardian_nonce("latest"), n0 + 1);

	/* The attack again, the vault open again, keeper restarted. */
	CHECK(set_paused(false));
	if (!start(cool_cfg_path, false))
		return;
	snprintf(want, sizeof want, "trigger drain: last tripped at %s (state file): "
		 "cooldown_ms 60000", t1);
	CHECK_MSG(count_in_log(want) == 1, "want \"%s\" in:\n%s", want, logbuf);
	settle();
	CHECK(send_drain(drain2, 2 * GWEI, 20 * GWEI, an + 1));
	CHECK_MSG(wait_log("is over the threshold but inside the cooldown", 1, 10000),
		  "the drain after the restart: not suppressed:\n%s", logbuf);
	CHECK(log_line("is over the threshold but inside the cooldown", 0, line, sizeof line));
	CHECK_MSG(strstr(line, drain2) != NULL, "not %s: %s", drain2, line);
	CHECK_EQ_INT(count_in_log("kind=mempool"), 0);
	CHECK_EQ_INT(count_in_log("sent action="), 0);
	CHECK_EQ_INT(guardian_nonce("pending"), n0 + 1);
	CHECK_EQ_INT(guardian_nonce("latest"), n0 + 1);
	CHECK_MSG(mono_ms() - t_trip < 60000, "the test took longer than the cooldown");
	CHECK_EQ_INT(keeper_stop(summary, sizeof summary), 0);
	CHECK(strstr(summary, " 0 trips;") != NULL && strstr(summary, " 0 sent,") != NULL);
	/* The drain must not run: paused again, it reverts in the next block. */
	CHECK(set_paused(true));
	CHECK(evm_mine());
	CHECK(receipt(drain2).found && receipt(drain2).status == 0);
	CHECK_EQ_INT(guardian_nonce("latest"), n0 + 1);
	{
		char bal[128];

		CHECK(cast_balance(VAULT, bal, sizeof bal) && !strcmp(bal, VAULT_WEI));
	}
	printf("    cooldown: trip at %s (state: last_trip_ms %" PRId64 "), pause in block %"
	       PRIu64 "; restarted, the same drain %lld ms after the trip: suppressed, 0 trips, "
	       "0 sent, nonce %" PRIu64 " -> %" PRIu64 "\n", t1, last, rp.block,
	       (long long)(mono_ms() - t_trip), n0 + 1, guardian_nonce("latest"));
}

/*
 * Gap 3: keeper is down (SIGKILL before any trip) when the drain is sent;
 * restarted, it reads the drain from the node's pool, trips, outbids it,
 * and its pause is mined before the drain.
 */
static void test_pending_at_start(void)
{
	char drain[67], line[2048], summary[2048], hash[67], tx[80], bal[128];
	uint64_t n0, nonce = 0, from, an, prio, max;
	u256_t mf, pf, dmax, dprio;
	receipt_t rp, rd;

	if (vault_paused())
		CHECK(set_paused(false));
	n0 = guardian_nonce("latest");
	from = block_number() + 1;
	if (!start(cfg_path, false))
		return;
	kill9();
	CHECK_EQ_INT(count_in(log1, "kind=mempool"), 0);
	prio = (1 + rnd() % 300) * GWEI;
	max = prio + (1 + rnd() % 200) * GWEI;
	CHECK((an = cast_nonce(ACCT3, "latest")) != UINT64_MAX);
	CHECK(send_drain(drain, prio, max, an));
	CHECK_EQ_INT(cast_nonce(ACCT3, "pending"), an + 1);
	if (!start(cfg_path, false))
		return;
	if (!wait_log("sent action=pause-vault", 1, 10000)) {
		CHECK_MSG(0, "pending at start: no send:\n%s", logbuf);
		abandon();
		return;
	}
	CHECK(count_in_log("transactions pending at connect (eth_getBlockByNumber pending)") == 1);
	CHECK(log_line("kind=mempool", 0, line, sizeof line));
	CHECK(field(line, "tx", tx, sizeof tx) && !strcasecmp(tx, drain));
	CHECK(log_line("sent action=pause-vault", 0, line, sizeof line));
	CHECK(hash_nonce(line, hash, &nonce));
	CHECK_EQ_INT(nonce, n0);
	/* outbid: strictly above the drain on both fees */
	u256_from_u64(&dmax, max);
	u256_from_u64(&dprio, prio);
	CHECK(dec_field(line, "max_fee", &mf) && dec_field(line, "priority_fee", &pf));
	CHECK(u256_cmp(&mf, &dmax) > 0 && u256_cmp(&pf, &dprio) > 0);
	CHECK_EQ_INT(block_number(), from - 1);
	CHECK(evm_mine());
	CHECK_MSG(wait_log("mined action=pause-vault", 1, 10000), "pending at start: not "
		  "mined:\n%s", logbuf);
	rp = receipt(hash);
	rd = receipt(drain);
	CHECK(rp.found && rp.status == 1 && rp.block == from && rp.index == 0);
	CHECK(rd.found && rd.status == 0 && rd.block == from && rd.index > rp.index);
	CHECK_EQ_INT(paused_events(from), 1);
	CHECK_EQ_INT(guardian_nonce("latest"), n0 + 1);
	CHECK(cast_balance(VAULT, bal, sizeof bal) && !strcmp(bal, VAULT_WEI));
	CHECK_EQ_INT(count_in_log("kind=mempool"), 1);
	CHECK_EQ_INT(count_in_log("sent action="), 1);
	CHECK_EQ_INT(keeper_stop(summary, sizeof summary), 0);
	CHECK(strstr(summary, " 1 sent,") != NULL && strstr(summary, " 1 mined,") != NULL);
	printf("    pending at start: drain %s sent while keeper was down (SIGKILL); "
	       "restarted, read from the pool, tripped; pause %s (nonce %" PRIu64 ") at index "
	       "%" PRIu64 " of block %" PRIu64 ", drain at %" PRIu64 " (status 0); 1 Paused\n",
	       drain, hash, nonce, rp.index, rp.block, rd.index);
}

int main(int argc, char **argv)
{
	char gas[128], esc[128], first[160];

	(void)argc;
	if (!keeper_test_begin("test_run_crash_anvil", 120, argv[0], "run-crash", NULL))
		return 1;
	key_path = tmp_file("guardian.key");
	cfg_path = tmp_file("outbid.cfg");
	esc_cfg_path = tmp_file("escalate.cfg");
	state_path = tmp_file("keeper.state");
	tmp_file("keeper.state.tmp");   /* the state's atomic replacement */
	first_cfg_path = tmp_file("first.cfg");
	cool_cfg_path = tmp_file("cooldown.cfg");
	cool_state_path = tmp_file("cooldown.state");
	tmp_file("cooldown.state.tmp");
	if (!write_mode(key_path, K1 "\n", 0600))
		return setup_failed("key file");
	if (anvil_up(NULL) <= 0)
		return setup_failed("anvil did not start");
	if (!deploy_vault() || !set_automine(false))
		return setup_failed("deploying Erc20 and Vault with cast");
	/* escalate's bump: the replacement clears a base fee twice the first
	 * bid, less the 12.5% an empty block takes off it */
	snprintf(gas, sizeof gas, "strategy = \"outbid\"; max_fee_gwei = %d;", CAP_GWEI);
	snprintf(esc, sizeof esc, "strategy = \"escalate\"; max_fee_gwei = %d; bump_pct = 150;",
		 CAP_GWEI);
	/* the first bid: a floor far above the drain's tip, so that the pause
	 * goes first whatever anvil orders by */
	snprintf(first, sizeof first, "strategy = \"eip1559\"; max_fee_gwei = %d; "
		 "priority_fee_gwei = 50;", CAP_GWEI);
	if (!write_cfg(cfg_path, gas, 0, state_path) || !write_cfg(esc_cfg_path, esc, 0, state_path) ||
	    !write_cfg(first_cfg_path, first, 0, state_path) ||
	    !write_cfg(cool_cfg_path, gas, 60000, cool_state_path))
		return setup_failed("configs");
	printf("    Vault at %s with 5 ether and 777 tokens, guardian %s (keeper); automine off\n",
	       VAULT, ACCT1);
	RUN(test_first_bid);
	RUN(test_basic);
	RUN(test_escalate);
	RUN(test_escalate_first_bid);
	RUN(test_delays);
	RUN(test_cooldown);
	RUN(test_pending_at_start);
	return e2e_done();
}
