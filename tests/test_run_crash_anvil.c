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
 *  basic:    keeper logs "sent" (its hash and nonce); SIGKILL at once,
 *            before any block.  The state file on disk names that hash
 *            and nonce; the node holds it (pending nonce + 1), no receipt.
 *            Restarted, keeper logs "resumed" with that hash, logs no
 *            "sent", and the guardian's pending nonce does not move; a
 *            second drain is then a trip that finds the action in flight
 *            (one in flight per action).  One block: the pause with that
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
#define RNG_SEED 0x6b696c6c2d6e696eULL
#include "tests/rng.h"
#include "tests/e2e.h"

#define TOKEN DEPLOYED0
#define VAULT DEPLOYED1
#define VAULT_WEI "5000000000000000000"
#define CAP_GWEI 1000
#define DELAY_ROUNDS 5

static const char *key_path, *cfg_path, *esc_cfg_path, *state_path;

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

typedef struct {
	bool found;
	uint64_t status, index, block;
} receipt_t;

static uint64_t hex_member(json_t *j, const char *k)
{
	const char *v = json_string_value(json_object_get(j, k));

	return v ? strtoull(v, NULL, 16) : UINT64_MAX;
}

static receipt_t receipt(const char *hash)
{
	static char o[65536];
	receipt_t r = { 0 };
	json_t *j;

	if (cast(o, sizeof o, "rpc eth_getTransactionReceipt %s", hash) ||
	    !(j = json_loads(o, 0, NULL)))
		return r;
	if (json_is_object(j)) {
		r.found = true;
		r.status = hex_member(j, "status");
		r.index = hex_member(j, "transactionIndex");
		r.block = hex_member(j, "blockNumber");
	}
	json_decref(j);
	return r;
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

/* A config: the vault watched, the mempool trigger on its drain, pause()
 * with guard paused() bid for by the gas strategy `gas` (a gas group
 * entry named "g"), the state file. */
static bool write_cfg(const char *path, const char *gas)
{
	char cfg[4096];

	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d/\"; rpc = [ \"%s\" ]; };\n"
		 "signer = { key_file = \"%s\"; };\n"
		 "watch = ( { name = \"vault\"; address = \"" VAULT "\"; tokens = [ \"" TOKEN "\" ]; } );\n"
		 "triggers = ( { name = \"drain\"; kind = \"mempool\"; watch = \"vault\"; simulate = true;\n"
		 "    threshold_pct = 10; cooldown_ms = 0; action = \"pause-vault\"; } );\n"
		 "actions = ( { name = \"pause-vault\"; to = \"" VAULT "\"; call = \"pause()\";\n"
		 "    guard = \"paused()\"; gas_limit = 100000; gas = \"g\"; } );\n"
		 "gas = ( { name = \"g\"; %s } );\n"
		 "log = { level = \"info\"; format = \"text\"; };\n"
		 "state_file = \"%s\";\n",
		 anvil_port, rpc_url, key_path, gas, state_path);
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
		/* the first drain, pending all along, is not seen again (the
		 * node notifies new transactions); a second one is a new trip,
		 * and the action is in flight */
		settle();
		CHECK_EQ_INT(count_in_log("kind=mempool"), 0);
		CHECK(send_drain(drain2, prio, max, an + 1));
		CHECK_MSG(wait_log("trip of drain: action pause-vault already in flight", 1, 10000),
			  "the second drain: no busy trip:\n%s", logbuf);
		CHECK_EQ_INT(count_in_log("kind=mempool"), 1);
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
	       second_drain ? ", a second drain found it in flight" : "", rp.block, rp.index,
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

int main(int argc, char **argv)
{
	char gas[128], esc[128];

	(void)argc;
	if (!keeper_test_begin("test_run_crash_anvil", 120, argv[0], "run-crash", NULL))
		return 1;
	key_path = tmp_file("guardian.key");
	cfg_path = tmp_file("outbid.cfg");
	esc_cfg_path = tmp_file("escalate.cfg");
	state_path = tmp_file("keeper.state");
	tmp_file("keeper.state.tmp");   /* the state's atomic replacement */
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
	if (!write_cfg(cfg_path, gas) || !write_cfg(esc_cfg_path, esc))
		return setup_failed("configs");
	printf("    Vault at %s with 5 ether and 777 tokens, guardian %s (keeper); automine off\n",
	       VAULT, ACCT1);
	RUN(test_basic);
	RUN(test_escalate);
	RUN(test_escalate_first_bid);
	RUN(test_delays);
	return e2e_done();
}
