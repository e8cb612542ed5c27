/*
 * test_tracker_anvil: the tracker against a real anvil (foundry from
 * .deps), over keeper's own loop, rpc_http and node (heads from the
 * websocket).  The signer is anvil's dev key 0, restricted to the pairs
 * tracker_targets() names; it deploys tests/contracts/Erc20 (nonce 0) and
 * two Vaults, A and B, whose guardian it is (nonces 1 and 2).
 *
 *  crash:   a forked child runs a tracker with a state file over its own
 *           loop on anvil without automining, sends pause() to A, and is
 *           killed with SIGKILL before any receipt; a new tracker on the
 *           same file resumes that transaction, sends nothing new, and
 *           reports it mined with the child's hash after evm_mine;
 *  escalate: the first bid is priced out by anvil_setNextBlockBaseFeePerGas
 *           (the block is mined without it); on that head the strategy
 *           replaces it, and the replacement is what gets mined;
 *  outbid:  a pending transfer of another account, then our trip with it
 *           as the rival: one evm_mine puts ours first in the block;
 *  guard:   pause() of B is mined, then a second trip reads paused() true
 *           and sends nothing;
 *  nonce behind: the key sends a transaction with cast behind keeper's
 *           back; the trip's nonce is too low, keeper resyncs and re-signs;
 *  nonce ahead: the counter is pushed 2 ahead (the Relayer jam); the
 *           stranded pause() lands after two paused() fillers.
 * In every case exactly one Paused event of the vault answers the trip;
 * since pause() of a paused vault reverts, A is unpaused (its storage
 * written) before each case that pauses it again.
 * anvil is started on a free port and killed at exit, on a fatal signal
 * and on the test's own 150 s alarm.
 */
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "keeper/config.h"
#include "keeper/loop.h"
#include "keeper/node.h"
#include "keeper/rpc.h"
#include "keeper/rpc_http.h"
#include "keeper/tracker.h"
#include "signer/hex.h"
#include "signer/signer.h"
#include "tests/config_util.h"
#include "tests/e2e.h"
#include "tests/loop_util.h"

/* Account 0's creations: the token, then vaults A and B. */
#define TOKEN DEPLOYED0
#define VAULT_A DEPLOYED1
#define VAULT_B DEPLOYED2

static char state_path[80];
static config_keeper_t *CFG;
static signer_t *SG;
static rpc_http_t *HT;
static rpc_client_t *RPC;
static node_t *N;
static tracker_t *T;

#define MAXO 32
static tracker_outcome_t O[MAXO];
static int nO;

static void on_outcome(void *arg, const tracker_outcome_t *o)
{
	(void)arg;
	if (nO < MAXO)
		O[nO++] = *o;
}

static void sink(void *ctx, const event_t *ev)
{
	(void)ctx;
	if (T && ev->kind == EV_HEAD)
		tracker_head(T, &ev->head);
}

static uint64_t account_nonce(void)
{
	uint64_t n = cast_nonce(ACCT0, "latest");

	return n == UINT64_MAX ? 0 : n;
}

/* Paused events of vault since block `from`. */
static int paused_events(const char *vault, uint64_t from)
{
	static char o[65536];
	int n = 0;

	if (cast(o, sizeof o, "logs --json --from-block %" PRIu64 " --to-block latest "
		 "--address %s 'Paused(address)'", from, vault))
		return -1;
	for (char *p = o; (p = strstr(p, "\"transactionHash\"")); p++)
		n++;
	return n;
}

/* Field `field` of the JSON object that `cast rpc method 0xHASH` returns
 * ("" when it returns null or lacks the field). */
static void rpc_field(const char *method, const uint8_t h[32], const char *field,
		      char *out, size_t cap)
{
	static char o[65536];
	char hs[67];
	json_t *j;

	hs[0] = '0', hs[1] = 'x';
	hex_encode(hs + 2, h, 32);
	hs[66] = 0;
	out[0] = 0;
	if (cast(o, sizeof o, "rpc %s %s", method, hs))
		return;
	if ((j = json_loads(o, 0, NULL))) {
		const char *v = json_string_value(json_object_get(j, field));
		if (v)
			snprintf(out, cap, "%s", v);
		json_decref(j);
	}
}

static void receipt_field(const uint8_t h[32], const char *field, char *out, size_t cap)
{
	rpc_field("eth_getTransactionReceipt", h, field, out, cap);
}

/* Vault A unpaused: paused_ is its storage slot 0. */
static bool unpause_a(void)
{
	return cast(NULL, 0, "rpc anvil_setStorageAt " VAULT_A " 0x0 0x%064d", 0) == 0;
}

static bool n_ready(void)
{
	node_stats_t ns;

	node_stats(N, &ns);
	return ns.ready >= 1;
}

static config_keeper_t *make_cfg(void)
{
	char text[4096];

	snprintf(text, sizeof text,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d\"; rpc = [ \"%s\" ]; };\n"
		 "gas = ( { name = \"fix\"; strategy = \"fixed\"; max_fee_gwei = 100; priority_fee_gwei = 2; },\n"
		 "        { name = \"esc\"; strategy = \"escalate\"; max_fee_gwei = 500; bump_pct = 200; },\n"
		 "        { name = \"out\"; strategy = \"outbid\"; max_fee_gwei = 500; } );\n"
		 "actions = (\n"
		 "  { name = \"pause-a\"; to = \"" VAULT_A "\"; call = \"pause()\"; gas_limit = 100000; gas = \"fix\"; },\n"
		 "  { name = \"pause-b\"; to = \"" VAULT_B "\"; call = \"pause()\"; guard = \"paused()\";\n"
		 "    gas_limit = 100000; gas = \"fix\"; },\n"
		 "  { name = \"esc-a\"; to = \"" VAULT_A "\"; call = \"pause()\"; gas_limit = 100000; gas = \"esc\"; },\n"
		 "  { name = \"out-a\"; to = \"" VAULT_A "\"; call = \"pause()\"; gas_limit = 100000; gas = \"out\"; } );\n",
		 anvil_port, rpc_url);
	return load_cfg(text);
}

static bool make_signer(const config_keeper_t *cfg, signer_t **out)
{
	uint8_t key[32], sel[8][4];
	addr_t to[8];
	size_t n;

	if (signer_new(out) != KERR_OK)
		return false;
	return hex_decode_exact(key, 32, K0 + 2, 64) == KERR_OK &&
	       signer_set_key(*out, key) == KERR_OK &&
	       tracker_targets(cfg, to, sel, 8, &n) == KERR_OK &&
	       signer_restrict(*out, to, (const uint8_t (*)[4])sel, n) == KERR_OK;
}

static config_trigger_t trig_for(const char *action)
{
	config_trigger_t tr;

	memset(&tr, 0, sizeof tr);
	tr.name = "test";
	tr.kind = CONFIG_TRIGGER_STALE;
	tr.action = config_action_find(CFG, action);
	return tr;
}

static detect_trip_t a_trip(void)
{
	detect_trip_t t;

	memset(&t, 0, sizeof t);
	t.trigger = "test";
	t.time_ms = wall_ms();
	return t;
}

static tracker_stats_t st(void)
{
	tracker_stats_t s;

	tracker_stats(T, &s);
	return s;
}

static uint64_t want_rounds, want_sent, want_replaced;
static int want_outcomes;
static bool rounds_done(void)
{
	return st().rounds >= want_rounds;
}
static bool sent_done(void)
{
	return st().sent >= want_sent;
}
static bool replaced_done(void)
{
	return st().replaced >= want_replaced;
}
static bool outcomes_done(void)
{
	return nO >= want_outcomes;
}

/* The hash of action's transaction in flight (from the state). */
static bool inflight_hash(const char *action, uint8_t h[32], gas_fees_t *f)
{
	const state_t *s = tracker_state(T);

	for (size_t i = 0; i < s->ntxs; i++)
		if (!strcmp(s->txs[i].action, action)) {
			memcpy(h, s->txs[i].hash, 32);
			if (f) {
				f->max_fee = s->txs[i].max_fee;
				f->priority_fee = s->txs[i].priority_fee;
			}
			return true;
		}
	return false;
}

/* ---- crash: the child ---------------------------------------------------- */

static uint64_t crash_from_block;
static uint8_t crash_hash[32];
static bool crash_ok;

static void child_run(int wfd)
{
	config_keeper_t *cfg;
	const char *urls[1];
	rpc_transport_t tr;
	config_trigger_t trg;
	detect_trip_t trip = a_trip();
	tracker_stats_t s;
	uint8_t h[32];
	char hex[65];

	if (loop_create(NULL, &L) != KERR_OK || !(cfg = make_cfg()) || !make_signer(cfg, &SG))
		_exit(2);
	CFG = cfg;
	loop_util_init();
	urls[0] = cfg->chain.rpc[0];
	if (rpc_http_new(L, urls, 1, NULL, &HT) != KERR_OK)
		_exit(3);
	tr = rpc_http_transport(HT);
	if (rpc_new(&RPC, 1, &tr, rpc_http_clock, L, &(rpc_opts_t){ .timeout_ms = 3000 }) ||
	    tracker_new(&T, cfg, SG, RPC, L, rpc_http_clock, L, state_path, NULL, NULL, NULL) ||
	    tracker_start(T))
		_exit(4);
	want_rounds = 1;
	if (!run_until(rounds_done, 10000))
		_exit(5);
	trg = trig_for("pause-a");
	if (tracker_trip(T, &trg, &trip) != KERR_OK)
		_exit(6);
	want_sent = 1;
	if (!run_until(sent_done, 10000))
		_exit(7);
	tracker_stats(T, &s);
	if (!inflight_hash("pause-a", h, NULL))
		_exit(8);
	hex_encode(hex, h, 32);
	hex[64] = 0;
	if (write(wfd, hex, 64) != 64)
		_exit(9);
	/* Alive, tracking, until the parent's SIGKILL. */
	run_until(never, 60000);
	_exit(10);
}

/* Runs before the parent creates its loop (one lws context per process). */
static void crash_child_phase(void)
{
	int fds[2];
	pid_t pid;
	char hex[65] = "";
	struct pollfd pf;
	char r[512];

	crash_from_block = block_number();
	if (!set_automine(false) || pipe(fds))
		return;
	pid = fork();
	if (pid == 0) {
		/* Not the child's to kill: anvil belongs to the parent. */
		for (int i = 0; i < PROCS_MAX; i++)
			procs[i] = 0;
		close(fds[0]);
		child_run(fds[1]);
	}
	close(fds[1]);
	if (pid < 0)
		return;
	track(pid, false);
	pf.fd = fds[0];
	pf.events = POLLIN;
	if (poll(&pf, 1, 30000) == 1 && read(fds[0], hex, 64) == 64 &&
	    hex_decode_exact(crash_hash, 32, hex, 64) == KERR_OK)
		crash_ok = true;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	untrack(pid);
	close(fds[0]);
	if (!crash_ok)
		return;
	/* sent, and not mined */
	receipt_field(crash_hash, "status", r, sizeof r);
	if (r[0])
		crash_ok = false;
}

/* ---- the parent's tracker ------------------------------------------------- */

static void test_setup(void)
{
	const char *urls[1];
	rpc_transport_t tr;

	CFG = make_cfg();
	CHECK(CFG != NULL);
	if (!CFG)
		return;
	CHECK(make_signer(CFG, &SG));
	urls[0] = CFG->chain.rpc[0];
	CHECK_OK(rpc_http_new(L, urls, 1, NULL, &HT));
	if (!HT)
		return;
	tr = rpc_http_transport(HT);
	CHECK_OK(rpc_new(&RPC, 1, &tr, rpc_http_clock, L, &(rpc_opts_t){ .timeout_ms = 3000 }));
	if (!RPC)
		return;
	CHECK_OK(tracker_new(&T, CFG, SG, RPC, L, rpc_http_clock, L, state_path, on_outcome,
			     NULL, NULL));
	CHECK_OK(node_new(L, CFG, RPC, sink, NULL, NULL, &N));
	if (!T || !N)
		return;
	CHECK_OK(tracker_start(T));
	CHECK_OK(node_start(N));
	CHECK(run_until(n_ready, 5000));
}

static void test_crash_resume(void)
{
	tracker_stats_t s;

	CHECK(crash_ok);
	if (!T || !crash_ok)
		return;
	s = st();
	CHECK_EQ_INT(s.resumed, 1);
	want_rounds = 1;
	CHECK(run_until(rounds_done, 10000));
	run_until(never, 300);
	s = st();
	/* the node still holds it: nothing sent, not even the same bytes */
	CHECK_EQ_INT(s.sent + s.rebroadcasts + s.replaced, 0);
	CHECK_EQ_INT(s.in_flight, 1);
	CHECK(evm_mine());
	want_outcomes = 1;
	CHECK(run_until(outcomes_done, 10000));
	CHECK(nO == 1 && O[0].result == TRACKER_MINED && !memcmp(O[0].hash, crash_hash, 32));
	CHECK_EQ_INT(paused_events(VAULT_A, crash_from_block), 1);
	CHECK_EQ_INT(tracker_state(T)->ntxs, 0);
	s = st();
	CHECK_EQ_INT(s.sent + s.rebroadcasts + s.replaced, 0);
	printf("    resumed the child's transaction after SIGKILL; mined, nothing new sent\n");
}

static void test_escalate(void)
{
	config_trigger_t tr = trig_for("esc-a");
	detect_trip_t trip = a_trip();
	uint8_t h1[32], h2[32];
	gas_fees_t f1, f2;
	char r[512], hx[U256_HEX_MAX], a1[U256_DEC_MAX], a2[U256_DEC_MAX];
	uint64_t from = block_number(), r0;
	u256_t high;
	int base = nO;

	if (!T)
		return;
	CHECK(unpause_a());
	/* automine is off since the crash phase; a fresh head for the market */
	r0 = st().rounds;
	CHECK(evm_mine());
	want_rounds = r0 + 1;
	CHECK(run_until(rounds_done, 10000));
	want_sent = st().sent + 1;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	CHECK(run_until(sent_done, 10000));
	CHECK(inflight_hash("esc-a", h1, &f1));
	/* price the first bid out of the next block */
	CHECK_OK(u256_mul_u64(&high, &f1.max_fee, 2));
	u256_to_hex(&high, hx, sizeof hx);
	CHECK(cast(NULL, 0, "rpc anvil_setNextBlockBaseFeePerGas %s", hx) == 0);
	want_replaced = st().replaced + 1;
	CHECK(evm_mine());
	receipt_field(h1, "status", r, sizeof r);
	CHECK_MSG(r[0] == 0, "the first bid was mined (%s)", r);
	/* that head: no receipt, so escalate replaces it */
	CHECK(run_until(replaced_done, 10000));
	CHECK(inflight_hash("esc-a", h2, &f2));
	CHECK(memcmp(h1, h2, 32) != 0);
	CHECK(gas_replaces(&f1, &f2, 10));
	CHECK(u256_cmp(&f2.max_fee, &high) > 0);
	u256_to_dec(&f1.max_fee, a1, sizeof a1);
	u256_to_dec(&f2.max_fee, a2, sizeof a2);
	printf("    first bid max_fee %s wei priced out by base fee x2; replaced at %s wei\n", a1, a2);
	want_outcomes = base + 1;
	CHECK(evm_mine());
	CHECK(run_until(outcomes_done, 10000));
	CHECK(nO == base + 1 && O[base].result == TRACKER_MINED && O[base].versions == 2 &&
	      !memcmp(O[base].hash, h2, 32));
	receipt_field(h1, "status", r, sizeof r);
	CHECK(r[0] == 0);
	receipt_field(h2, "status", r, sizeof r);
	CHECK_EQ_STR(r, "0x1");
	CHECK_EQ_INT(paused_events(VAULT_A, from + 1), 1);
}

static void test_outbid(void)
{
	config_trigger_t tr = trig_for("out-a");
	detect_trip_t trip = a_trip();
	char rival[128], o[256], i_ours[64], i_rival[64], b_ours[64], b_rival[64];
	uint8_t rh[32], h[32];
	uint64_t from = block_number();
	int base = nO;

	if (!T)
		return;
	CHECK(unpause_a());
	/* the trigger: another account's pending transfer, 3 gwei tip */
	CHECK(cast(rival, sizeof rival, "send --async --private-key " K1 " --priority-gas-price "
		   "3000000000 --gas-price 20000000000 " ACCT3 " --value 1") == 0);
	CHECK(hex_decode_exact(rh, 32, rival + 2, 64) == KERR_OK);
	trip.has_tx = true;
	memcpy(trip.tx_hash, rh, 32);
	trip.tx_type = 2;
	rpc_field("eth_getTransactionByHash", rh, "maxFeePerGas", o, sizeof o);
	CHECK_OK(u256_parse(&trip.tx_max_fee, o, strlen(o)));
	rpc_field("eth_getTransactionByHash", rh, "maxPriorityFeePerGas", o, sizeof o);
	CHECK_OK(u256_parse(&trip.tx_max_priority_fee, o, strlen(o)));
	want_sent = st().sent + 1;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	CHECK(run_until(sent_done, 10000));
	CHECK(inflight_hash("out-a", h, NULL));
	want_outcomes = base + 1;
	CHECK(evm_mine());
	CHECK(run_until(outcomes_done, 10000));
	CHECK(nO == base + 1 && O[base].result == TRACKER_MINED);
	receipt_field(h, "transactionIndex", i_ours, sizeof i_ours);
	receipt_field(rh, "transactionIndex", i_rival, sizeof i_rival);
	receipt_field(h, "blockNumber", b_ours, sizeof b_ours);
	receipt_field(rh, "blockNumber", b_rival, sizeof b_rival);
	printf("    block %s: ours at index %s, the trigger at %s\n", b_ours, i_ours, i_rival);
	CHECK_EQ_STR(b_ours, b_rival);
	CHECK(i_ours[0] && i_rival[0] && strtoull(i_ours, NULL, 16) < strtoull(i_rival, NULL, 16));
	CHECK_EQ_INT(paused_events(VAULT_A, from + 1), 1);
}

static void test_guard(void)
{
	config_trigger_t tr = trig_for("pause-b");
	detect_trip_t trip = a_trip();
	char o[128];
	uint64_t from = block_number(), n0;
	tracker_stats_t s0, s1;
	int base = nO;

	if (!T)
		return;
	CHECK(set_automine(true));
	want_outcomes = base + 1;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	CHECK(run_until(outcomes_done, 15000));
	CHECK(nO == base + 1 && O[base].result == TRACKER_MINED);
	CHECK(cast(o, sizeof o, "call " VAULT_B " 'paused()(bool)'") == 0);
	CHECK_EQ_STR(o, "true");
	/* the second trip: paused() reads true, nothing is sent */
	n0 = account_nonce();
	s0 = st();
	want_outcomes = base + 2;
	trip.time_ms = wall_ms();
	CHECK_OK(tracker_trip(T, &tr, &trip));
	CHECK(run_until(outcomes_done, 10000));
	CHECK(nO == base + 2 && O[base + 1].result == TRACKER_GUARD_STOPPED && !O[base + 1].has_tx);
	s1 = st();
	CHECK_EQ_INT(s1.sent, s0.sent);
	CHECK_EQ_INT(account_nonce(), n0);
	CHECK_EQ_INT(paused_events(VAULT_B, from + 1), 1);
}

static void test_nonce_behind(void)
{
	config_trigger_t tr = trig_for("pause-a");
	detect_trip_t trip = a_trip();
	uint64_t from, n0, r0;
	int base = nO;

	if (!T)
		return;
	CHECK(unpause_a());
	run_until(never, 300);   /* every head of the last test seen */
	from = block_number();
	n0 = account_nonce();
	r0 = st().resyncs;
	/* the same key, outside keeper (automine on: mined at once) */
	CHECK(send_mined("--private-key " K0 " " ACCT3 " --value 1"));
	CHECK_EQ_INT(account_nonce(), n0 + 1);
	/* keeper has not seen that head yet: its nonce is n0 */
	CHECK_EQ_INT(tracker_nonce(T)->next, n0);
	want_outcomes = base + 1;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	CHECK(run_until(outcomes_done, 15000));
	CHECK(nO == base + 1 && O[base].result == TRACKER_MINED && O[base].nonce == n0 + 1);
	CHECK_EQ_INT(st().resyncs, r0 + 1);
	CHECK_EQ_INT(account_nonce(), n0 + 2);
	CHECK_EQ_INT(paused_events(VAULT_A, from + 1), 1);
	printf("    nonce %" PRIu64 " used behind keeper's back: too low, resynced, mined at %"
	       PRIu64 "\n", n0, n0 + 1);
}

static void test_nonce_ahead(void)
{
	config_trigger_t tr = trig_for("pause-a");
	detect_trip_t trip = a_trip();
	uint64_t from, n0;
	tracker_stats_t s0;
	uint8_t h[32];
	int base = nO;

	if (!T)
		return;
	CHECK(unpause_a());
	run_until(never, 300);   /* every head of the last test seen */
	from = block_number();
	n0 = account_nonce();
	CHECK_EQ_INT(tracker_nonce(T)->next, n0);
	s0 = st();
	tracker_nonce(T)->next += 2;
	want_sent = s0.sent + 1;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	CHECK(run_until(sent_done, 10000));
	CHECK(inflight_hash("pause-a", h, NULL));
	run_until(never, 300);
	CHECK_EQ_INT(account_nonce(), n0);        /* queued behind the hole */
	/* a head: the tracker finds it stranded and fills the hole */
	want_outcomes = base + 1;
	CHECK(evm_mine());
	CHECK(run_until(outcomes_done, 15000));
	CHECK(nO == base + 1 && O[base].result == TRACKER_MINED && O[base].nonce == n0 + 2 &&
	      !memcmp(O[base].hash, h, 32));
	CHECK_EQ_INT(st().fills, s0.fills + 2);
	CHECK_EQ_INT(account_nonce(), n0 + 3);
	CHECK_EQ_INT(paused_events(VAULT_A, from + 1), 1);
	run_until(never, 300);
	CHECK_EQ_INT(tracker_nonce(T)->next, n0 + 3);
	printf("    counter 2 ahead: 2 fillers, the stranded pause() mined at nonce %" PRIu64 "\n",
	       n0 + 2);
}

int main(void)
{
	pid_t anvil_pid;

	e2e_begin("test_tracker_anvil", 150);
	log_setup(getenv("T_DEBUG") ? LOGL_DEBUG : LOGL_WARN, LOGF_TEXT);
	if (!find_anvil_cast())
		return 1;
	snprintf(state_path, sizeof state_path, "/tmp/keeper-test-tracker-anvil-%d.json",
		 (int)getpid());
	unlink(state_path);
	anvil_pid = anvil_up(NULL);
	if (anvil_pid <= 0)
		return setup_failed("anvil did not start");
	if (!deploy("tests/contracts/Erc20.bin", "f(string,string)", "Test TST", NULL, NULL) ||
	    !deploy("tests/contracts/Vault.bin", "f(address,address)", ACCT0 " " TOKEN, NULL, NULL) ||
	    !deploy("tests/contracts/Vault.bin", "f(address,address)", ACCT0 " " TOKEN, NULL, NULL)) {
		anvil_stop(anvil_pid);
		return setup_failed("deploy");
	}
	crash_child_phase();
	if (loop_create(NULL, &L) != KERR_OK) {
		printf("FAIL setup: loop\n0 passed, 1 failed\n");
		anvil_stop(anvil_pid);
		return 1;
	}
	loop_util_init();
	RUN(test_setup);
	RUN(test_crash_resume);
	RUN(test_escalate);
	RUN(test_outbid);
	RUN(test_guard);
	RUN(test_nonce_behind);
	RUN(test_nonce_ahead);
	/* The transport first: it drops completions that point at the rest. */
	rpc_http_free(HT);
	node_free(N);
	tracker_free(T);
	rpc_free(RPC);
	signer_free(SG);
	config_free(CFG);
	loop_timer_cancel(&wd_t);
	loop_timer_cancel(&poll_t);
	loop_destroy(L);
	anvil_stop(anvil_pid);
	kill_all();
	unlink(state_path);
	return t_done();
}
