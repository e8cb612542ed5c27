/*
 * test_mempool_anvil: the `mempool` trigger with simulation against a real
 * anvil (foundry 1.7.1 from .deps), end to end on keeper's own parts: the
 * node subscription delivers pending transactions (event_tx_t), the real
 * rpc_http transport carries keeper/sim's eth_simulateV1 and
 * debug_traceCall, det_mempool judges.  The test starts anvil itself on a
 * port it picks, deploys tests/contracts/Erc20 and Vault with cast, funds
 * the vault (5 ether at construction, 1 ether deposited by account 2,
 * 777e18 tokens minted to it), then turns automining off so that what it
 * sends stays pending.  anvil is killed at exit, on a fatal signal and on
 * the test's own 60 s alarm.
 *
 *  a. the attacker's pending emergencyWithdraw(token, attacker) trips with
 *     a loss equal to the vault's ETH balance (cast balance) and to its
 *     token balance (cast call balanceOf), value 100 %, and the trip's
 *     hash, sender, type and fees equal `cast tx`;
 *  b. a pending deposit() of 1 ether and account 2's withdraw of 0.1 ether
 *     of its own deposit (1.7 % of the vault's ETH, under the 50 %
 *     threshold) to the same contract do not trip;
 *  c. a second simulator forced onto the debug_traceCall fallback computes
 *     the same losses for all three, and trips on the drain alone;
 *  d. two node connections notify every pending transaction twice: each is
 *     simulated once per simulator (the other request joins it or hits
 *     the cache), and a third notification after the result is a cache hit.
 */
#include <signal.h>
#include <unistd.h>

#include "keeper/config.h"
#include "keeper/det_mempool.h"
#include "keeper/loop.h"
#include "keeper/node.h"
#include "keeper/rpc.h"
#include "keeper/rpc_http.h"
#include "keeper/sim.h"
#include "signer/hex.h"
#include "signer/u256.h"
#include "tests/config_util.h"
#include "tests/e2e.h"
#include "tests/loop_util.h"

/* What account 0 creates with nonces 0 and 1. */
#define TOKEN DEPLOYED0
#define VAULT DEPLOYED1

/* ---- keeper's side: node -> det_mempool -> sim -> det_mempool */

static config_keeper_t *CFG;
static const config_trigger_t *TRIG;
static rpc_http_t *T;
static rpc_client_t *RPC;
static node_t *N1, *N2;
static sim_t *S, *ST;           /* eth_simulateV1; forced debug_traceCall */
static det_mempool_t DM, DMT;

#define MAXTX 32
/* One pending transaction to the vault, with what each simulator made of it. */
static struct txrec {
	event_tx_t tx;                 /* fixed fields only (the input view dies) */
	int notified;
	int results[2];
	sim_result_t res[2];
	bool tripped[2];
	detect_trip_t trip[2];
} X[MAXTX];
static int nX;
static int req_errors;

static struct txrec *rec_of(const uint8_t hash[32])
{
	for (int i = 0; i < nX; i++)
		if (memcmp(X[i].tx.hash, hash, 32) == 0)
			return &X[i];
	return NULL;
}

static void on_sim(void *arg, const sim_result_t *r, int which)
{
	struct txrec *x = arg;
	det_mempool_t *d = which ? &DMT : &DM;

	/* A keeper judges each transaction once: the answers to its
	 * repeated notifications (the same result) are only counted. */
	if (x->results[which]++) {
		CHECK_EQ_INT(r->err, x->res[which].err);
		CHECK(r->nassets == x->res[which].nassets &&
		      memcmp(r->asset, x->res[which].asset, r->nassets * sizeof r->asset[0]) == 0);
		x->res[which] = *r;
		return;
	}
	x->res[which] = *r;
	if (det_mempool_judge(d, &x->tx, r, loop_now_ms(L), &x->trip[which]))
		x->tripped[which] = true;
}

static void on_sim_a(void *arg, const sim_result_t *r)
{
	on_sim(arg, r, 0);
}

static void on_sim_t(void *arg, const sim_result_t *r)
{
	on_sim(arg, r, 1);
}

/* What the keeper does with a pending transaction (both detectors use the
 * same trigger, so one match decides for both). */
static void handle(const event_tx_t *tx)
{
	struct txrec *x;
	bool m = det_mempool_match(&DM, tx);

	det_mempool_match(&DMT, tx);
	if (!m)
		return;
	if (!(x = rec_of(tx->hash))) {
		if (nX == MAXTX)
			return;
		x = &X[nX++];
		x->tx = *tx;
		x->tx.input = (event_hex_t){ "0x", 2 };
	}
	x->notified++;
	if (sim_request(S, TRIG->watch, tx, on_sim_a, x) != KERR_OK)
		req_errors++;
	if (sim_request(ST, TRIG->watch, tx, on_sim_t, x) != KERR_OK)
		req_errors++;
}

static void sink(void *ctx, const event_t *ev)
{
	(void)ctx;
	if (ev->kind == EV_PENDING_TX)
		handle(&ev->tx);
}

/* ---- helpers */

static uint8_t w_hash[32];
static bool have_results(void)
{
	struct txrec *x = rec_of(w_hash);
	return x && x->results[0] >= 2 && x->results[1] >= 2 && sim_running(S) == 0 &&
	       sim_running(ST) == 0;
}

static bool notified_twice(void)
{
	struct txrec *x = rec_of(w_hash);
	return x && x->notified >= 2 && have_results();
}

/* Send, then wait until both simulators answered and both nodes notified. */
static struct txrec *send_and_wait(const char *args, char hash[67])
{
	if (!send_async(hash, args))
		return NULL;
	CHECK_OK(hex_decode_exact(w_hash, 32, hash, 66));
	CHECK(run_until(notified_twice, 5000));
	return rec_of(w_hash);
}

static bool u_eq(const u256_t *a, const u256_t *b)
{
	return u256_cmp(a, b) == 0;
}

static bool is_zero_u(const u256_t *a)
{
	return u256_is_zero(a);
}

/* ---- tests */

static void test_setup_chain(void)
{
	/* Erc20("Test", "TST"), then Vault(guardian = account 1, token) with
	 * 5 ether and 777e18 tokens, mined at once (automine is still on). */
	CHECK(deploy_vault());
	CHECK(send_mined("--private-key " K2 " --value 1ether " VAULT " 'deposit()'"));
	/* From now on every transaction stays pending. */
	CHECK(set_automine(false));
}

static bool both_ready(void)
{
	node_stats_t a, b;

	node_stats(N1, &a);
	node_stats(N2, &b);
	return a.ready >= 1 && b.ready >= 1;
}

static void test_connect(void)
{
	char text[4096];
	const char *urls[1];
	rpc_transport_t tr;

	snprintf(text, sizeof text,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d\"; rpc = [ \"%s\" ]; };\n"
		 "watch = ( { name = \"vault\"; address = \"" VAULT "\"; tokens = [ \"" TOKEN "\" ]; } );\n"
		 "gas = ( { name = \"g\"; strategy = \"outbid\"; max_fee_gwei = 500; } );\n"
		 "actions = ( { name = \"pause\"; to = \"" VAULT "\"; call = \"pause()\"; "
		 "gas_limit = 100000; gas = \"g\"; } );\n"
		 "triggers = ( { name = \"drain\"; kind = \"mempool\"; watch = \"vault\"; simulate = true; "
		 "threshold_pct = 50; cooldown_ms = 0; action = \"pause\"; } );\n", anvil_port, rpc_url);
	CFG = load_cfg(text);
	CHECK(CFG != NULL);
	if (!CFG)
		return;
	TRIG = &CFG->triggers[0];
	CHECK_OK(det_mempool_init(&DM, TRIG));
	CHECK_OK(det_mempool_init(&DMT, TRIG));
	urls[0] = CFG->chain.rpc[0];
	CHECK_OK(rpc_http_new(L, urls, 1, NULL, &T));
	if (!T)
		return;
	tr = rpc_http_transport(T);
	CHECK_OK(rpc_new(&RPC, 1, &tr, rpc_http_clock, L, &(rpc_opts_t){
		.timeout_ms = 3000, .max_request = SIM_REQUEST_MAX + 256 }));
	if (!RPC)
		return;
	CHECK_OK(sim_new(&S, RPC, rpc_http_clock, L, L, NULL));
	CHECK_OK(sim_new(&ST, RPC, rpc_http_clock, L, L, &(sim_opts_t){ .force_trace = true }));
	CHECK_OK(node_new(L, CFG, RPC, sink, NULL, NULL, &N1));
	CHECK_OK(node_new(L, CFG, RPC, sink, NULL, NULL, &N2));
	if (!N1 || !N2 || !S || !ST)
		return;
	CHECK_OK(node_start(N1));
	CHECK_OK(node_start(N2));
	CHECK(run_until(both_ready, 5000));
}

static char drain_hash[67], dep_hash[67], wd_hash[67];

static void test_drain_trips(void)
{
	struct txrec *x;
	u256_t eth, tok;
	json_t *j;
	char out[16384];

	if (!S || !N1)
		return;
	CHECK(cast_u256(&eth, "balance %s", VAULT));
	CHECK(cast_u256(&tok, "call " TOKEN " 'balanceOf(address)(uint256)' %s", VAULT));
	/* 6 ether and 777e18 tokens (the recording in tests/fixtures/sim too) */
	{
		u256_t e6;
		u256_from_dec(&e6, "6000000000000000000", 19);
		CHECK(u_eq(&eth, &e6));
	}
	x = send_and_wait("--private-key " K3 " --nonce 0 --priority-gas-price 3gwei "
			  "--gas-price 40gwei " VAULT " 'emergencyWithdraw(address,address)' "
			  TOKEN " " ACCT3, drain_hash);
	CHECK(x != NULL);
	if (!x)
		return;
	for (int w = 0; w < 2; w++) {
		const sim_result_t *r = &x->res[w];
		const detect_trip_t *t = &x->trip[w];

		CHECK_EQ_INT(x->results[w], 2);   /* one per notification */
		CHECK_OK(r->err);
		CHECK_EQ_INT(r->method, w ? SIM_VIA_TRACE : SIM_VIA_SIMULATE);
		CHECK(!r->reverted);
		CHECK_EQ_INT(r->nassets, 2);
		CHECK(u_eq(&r->asset[0].loss, &eth));
		CHECK(u_eq(&r->asset[0].before, &eth));
		CHECK(u_eq(&r->asset[1].loss, &tok));
		CHECK(u_eq(&r->asset[1].before, &tok));
		CHECK(x->tripped[w]);
		if (!x->tripped[w])
			continue;
		CHECK(t->value == 100.0);
		CHECK(t->threshold == 50.0);
		CHECK(t->has_amount && u_eq(&t->amount, &eth));   /* ETH: the first of equals */
		CHECK(t->has_token);
		for (int b = 0; b < 20; b++)
			CHECK_EQ_INT(t->token.b[b], 0);            /* ETH */
		CHECK(t->has_tx);
		CHECK_EQ_MEM(t->tx_hash, w_hash, 32);
		CHECK_EQ_STR(t->trigger, "drain");
	}
	/* The trip's transaction is the one cast sent, fees and all. */
	if (cast(out, sizeof out, "tx %s --json", drain_hash) == 0 &&
	    (j = json_loads(out, 0, NULL))) {
		const detect_trip_t *t = &x->trip[0];
		addr_t from;
		const char *f = json_string_value(json_object_get(j, "from"));

		CHECK(f && addr_parse(&from, f, strlen(f)) == KERR_OK && addr_eq(&from, &t->tx_from));
		CHECK_EQ_INT(t->tx_type, strtol(json_string_value(json_object_get(j, "type")), NULL, 16));
		CHECK_EQ_INT(t->tx_type, 2);
		want_u256_json(&t->tx_max_fee, json_object_get(j, "maxFeePerGas"), "maxFeePerGas");
		want_u256_json(&t->tx_max_priority_fee, json_object_get(j, "maxPriorityFeePerGas"),
			       "maxPriorityFeePerGas");
		if (json_object_get(j, "gasPrice"))
			want_u256_json(&t->tx_gas_price, json_object_get(j, "gasPrice"), "gasPrice");
		{
			u256_t want;
			u256_from_dec(&want, "40000000000", 11);
			CHECK(u_eq(&t->tx_max_fee, &want));
		}
		json_decref(j);
	} else {
		CHECK_MSG(0, "cast tx %s failed", drain_hash);
	}
	{
		char e[U256_DEC_MAX], k[U256_DEC_MAX];
		u256_to_dec(&x->res[0].asset[0].loss, e, sizeof e);
		u256_to_dec(&x->res[0].asset[1].loss, k, sizeof k);
		printf("    drain %.18s…: ETH loss %s wei, token loss %s; simulated via %s and %s\n",
		       drain_hash, e, k, sim_method_name(x->res[0].method),
		       sim_method_name(x->res[1].method));
	}
}

static void test_harmless_no_trip(void)
{
	struct txrec *d, *w;
	u256_t tenth;

	if (!S || !N1)
		return;
	d = send_and_wait("--private-key " K3 " --nonce 1 --value 1ether " VAULT " 'deposit()'",
			  dep_hash);
	w = send_and_wait("--private-key " K2 " --nonce 1 " VAULT " 'withdraw(uint256)' "
			  "100000000000000000", wd_hash);
	CHECK(d != NULL && w != NULL);
	if (!d || !w)
		return;
	u256_from_dec(&tenth, "100000000000000000", 18);
	for (int k = 0; k < 2; k++) {
		CHECK_OK(d->res[k].err);
		CHECK_OK(w->res[k].err);
		CHECK(!d->res[k].reverted && !w->res[k].reverted);
		CHECK(is_zero_u(&d->res[k].asset[0].loss));
		CHECK(is_zero_u(&d->res[k].asset[1].loss));
		CHECK(u_eq(&w->res[k].asset[0].loss, &tenth));
		CHECK(is_zero_u(&w->res[k].asset[1].loss));
		CHECK(!d->tripped[k]);
		CHECK(!w->tripped[k]);
	}
	CHECK_EQ_INT(det_mempool_stats(&DM)->tripped, 1);
	CHECK_EQ_INT(det_mempool_stats(&DM)->below, 2);
	CHECK_EQ_INT(det_mempool_stats(&DMT)->tripped, 1);
}

static void test_fallback_agrees(void)
{
	if (!S)
		return;
	CHECK_EQ_INT(nX, 3);
	for (int i = 0; i < nX; i++) {
		const sim_result_t *a = &X[i].res[0], *b = &X[i].res[1];
		CHECK_EQ_INT(a->nassets, b->nassets);
		for (size_t k = 0; k < a->nassets && k < b->nassets; k++)
			CHECK_MSG(u_eq(&a->asset[k].loss, &b->asset[k].loss),
				  "tx %d asset %zu: simulate and trace disagree", i, k);
		CHECK_EQ_INT(X[i].tripped[0], X[i].tripped[1]);
	}
	CHECK_EQ_INT(sim_stats(ST)->via_simulate, 0);
	CHECK_EQ_INT(sim_stats(ST)->via_trace, 3);
	CHECK_EQ_INT(sim_stats(S)->via_simulate, 3);
	CHECK_EQ_INT(sim_stats(S)->fallbacks, 0);
}

static void test_simulated_once(void)
{
	struct txrec *x;
	const sim_stats_t *a, *b;

	if (!S)
		return;
	a = sim_stats(S);
	b = sim_stats(ST);
	/* three transactions, each notified by both nodes */
	for (int i = 0; i < nX; i++)
		CHECK_EQ_INT(X[i].notified, 2);
	CHECK_EQ_INT(a->requests, 6);
	CHECK_EQ_INT(a->simulated, 3);
	CHECK_EQ_INT(a->joined + a->cache_hits, 3);
	CHECK_EQ_INT(b->simulated, 3);
	CHECK_EQ_INT(b->joined + b->cache_hits, 3);
	/* a third notification of the drain, its result long in */
	CHECK_OK(hex_decode_exact(w_hash, 32, drain_hash, 66));
	x = rec_of(w_hash);
	if (!x)
		return;
	{
		event_tx_t t = x->tx;
		uint64_t hits = a->cache_hits;
		t.input = (event_hex_t){ "0x", 2 };
		CHECK_OK(sim_request(S, TRIG->watch, &t, on_sim_a, x));
		CHECK_EQ_INT(a->cache_hits, hits + 1);
		CHECK_EQ_INT(a->simulated, 3);
		CHECK_EQ_INT(x->results[0], 3);
		CHECK(x->res[0].cached);
		CHECK_EQ_INT(x->res[0].asset[1].loss.w[0], X[0].res[1].asset[1].loss.w[0]);
	}
	CHECK_EQ_INT(req_errors, 0);
	printf("    S: %llu requests, %llu simulated, %llu joined, %llu cache hits; "
	       "ST (trace): %llu simulated, %llu joined, %llu cache hits\n",
	       (unsigned long long)a->requests, (unsigned long long)a->simulated,
	       (unsigned long long)a->joined, (unsigned long long)a->cache_hits,
	       (unsigned long long)b->simulated, (unsigned long long)b->joined,
	       (unsigned long long)b->cache_hits);
}

int main(void)
{
	pid_t anvil;

	e2e_begin("test_mempool_anvil", 60);
	if (!find_anvil_cast())
		return 1;
	anvil = anvil_up(NULL);
	if (loop_create(NULL, &L) != KERR_OK) {
		printf("FAIL setup: loop\n");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	loop_util_init();
	if (anvil > 0) {
		RUN(test_setup_chain);
		RUN(test_connect);
		RUN(test_drain_trips);
		RUN(test_harmless_no_trip);
		RUN(test_fallback_agrees);
		RUN(test_simulated_once);
	} else {
		printf("FAIL setup: anvil did not start\n");
		t_failed++;
	}
	/* The transport first: it drops completions that point at the nodes
	 * and the simulators. */
	rpc_http_free(T);
	node_free(N1);
	node_free(N2);
	sim_free(S);
	sim_free(ST);
	rpc_free(RPC);
	config_free(CFG);
	loop_timer_cancel(&wd_t);
	loop_timer_cancel(&poll_t);
	loop_destroy(L);
	kill_all();
	return t_done();
}
