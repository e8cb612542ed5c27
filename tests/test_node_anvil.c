/*
 * test_node_anvil: keeper/node and keeper/rpc_http against a real anvil
 * (foundry 1.7.1 from .deps, see tests/deps.sh), everything on 127.0.0.1.
 * The test starts anvil itself on ports it picks, drives the chain with
 * cast (blocking, between loop runs), and kills every anvil it started at
 * exit, on a fatal signal and on its own 50 s alarm.
 *
 *  a. pending transactions sent with `cast send --async` (type 0 with
 *     --legacy and calldata, type 2) arrive as events whose every field
 *     equals `cast tx HASH --json` (anvil runs with --no-mining so that
 *     they stay pending; blocks are mined with evm_mine);
 *  b. new heads (number, hash, base fee against `cast block`), and the
 *     Transfers of tests/contracts/Token.sol from and to the watched
 *     address (from, to, amount), each passed on once although two
 *     subscriptions match it;
 *     a second node subscribed to pending hashes only fetches each with
 *     eth_getTransactionByHash;
 *  c. anvil stopped (its state dumped), a Transfer from the watched
 *     address mined on a second anvil loaded from that state while keeper
 *     cannot see it, then the chain restarted on the first port: keeper
 *     reconnects and resubscribes (the time from the node being back is
 *     printed and must be under 2 s) and the Transfer is delivered by the
 *     catch-up; a Transfer after that arrives live;
 *  d. rpc failover (the first chain.rpc URL a closed port), and an HTTP 200
 *     carrying a JSON-RPC error (a nonce-too-low raw transaction) reported
 *     as that error with its code, message and kind.
 */
#include <signal.h>
#include <unistd.h>

#include "keeper/config.h"
#include "keeper/loop.h"
#include "keeper/node.h"
#include "keeper/rpc.h"
#include "keeper/rpc_http.h"
#include "signer/hex.h"
#include "signer/u256.h"
#include "tests/config_util.h"
#include "tests/e2e.h"
#include "tests/loop_util.h"

/* The first contract account 0 deploys (nonce 0). */
#define TOKEN DEPLOYED0
#define VAULT ACCT1

/* ---- processes */

static const char *s1_path, *s2_path;   /* the dumped states */

/*
 * Start anvil on 127.0.0.1:port with --no-mining and the given state
 * options (NULL: none), and wait (up to 10 s) until it accepts
 * connections.  Returns the pid, or -1.  *ready_ms gets the time it did.
 */
static pid_t anvil_start(int port, const char *load, const char *dump, int64_t *ready_ms)
{
	const char *opts[6];
	int n = 0;
	pid_t pid;

	opts[n++] = "--no-mining";
	if (load) {
		opts[n++] = "--load-state";
		opts[n++] = load;
	}
	if (dump) {
		opts[n++] = "--dump-state";
		opts[n++] = dump;
	}
	opts[n] = NULL;
	pid = anvil_at(port, opts);
	if (pid > 0 && ready_ms)
		*ready_ms = mono_ms();
	return pid;
}

/* ---- the loop and the events */

#define MAXEV 512
static struct rec {
	int who;          /* 1: the node, 2: the hash-only node */
	event_t ev;
	char hex[4096];
} R[MAXEV];
static int nR;

static void sink(void *ctx, const event_t *ev)
{
	struct rec *r;
	const event_hex_t *v = NULL;

	if (nR == MAXEV)
		return;
	r = &R[nR++];
	r->who = (int)(intptr_t)ctx;
	r->ev = *ev;
	if (ev->kind == EV_PENDING_TX && ev->tx.full)
		v = &ev->tx.input;
	else if (ev->kind == EV_LOG)
		v = &ev->log.data;
	r->hex[0] = 0;
	if (v) {
		size_t n = v->len < sizeof r->hex - 1 ? v->len : sizeof r->hex - 1;
		memcpy(r->hex, v->p, n);
		r->hex[n] = 0;
		if (ev->kind == EV_PENDING_TX)
			r->ev.tx.input = (event_hex_t){ r->hex, n };
		else
			r->ev.log.data = (event_hex_t){ r->hex, n };
	}
}

static int frames;

static void tap(void *ctx, const char *src, const char *frame, size_t len, int64_t wall)
{
	(void)ctx;
	(void)frame;
	(void)len;
	(void)wall;
	if (strcmp(src, "node") == 0)
		frames++;
}

/* ---- the set-up shared by the tests, in order */

static int P, Q, D;
static pid_t anvil_a = -1;
static config_keeper_t *CFG;
static rpc_http_t *T;
static rpc_client_t *RPC;
static node_t *N, *N2;
static node_stats_t ST, ST2;

static void stats(void)
{
	node_stats(N, &ST);
	if (N2)
		node_stats(N2, &ST2);
}

static bool both_ready(void)
{
	stats();
	return ST.ready >= 1 && ST2.ready >= 1;
}

/* Wait for: an event of `kind` from node `who` matching `match` (NULL:
 * any), after index `from`. */
static int w_who, w_from;
static event_kind_t w_kind;
static bool (*w_match)(const struct rec *);
static int w_found;

static bool found_event(void)
{
	for (int i = w_from; i < nR; i++) {
		if (R[i].who == w_who && R[i].ev.kind == w_kind &&
		    (!w_match || w_match(&R[i]))) {
			w_found = i;
			return true;
		}
	}
	return false;
}

static int wait_event(int who, event_kind_t kind, bool (*match)(const struct rec *),
		      int from, int ms)
{
	w_who = who;
	w_kind = kind;
	w_match = match;
	w_from = from;
	w_found = -1;
	if (!run_until(found_event, ms))
		return -1;
	return w_found;
}

static uint8_t w_hash[32];
static bool tx_is(const struct rec *r)
{
	return r->ev.tx.full && memcmp(r->ev.tx.hash, w_hash, 32) == 0;
}

static uint64_t w_amount;
static bool log_amount_is(const struct rec *r)
{
	return strlen(r->hex) == 66 && strtoull(r->hex + 50, NULL, 16) == w_amount &&
	       !r->ev.log.removed;
}

static void want_u64_json(uint64_t got, json_t *s, const char *what)
{
	CHECK_MSG(json_is_string(s), "%s missing", what);
	if (json_is_string(s))
		CHECK_MSG(strtoull(json_string_value(s), NULL, 16) == got,
			  "%s: %llu, cast says %s", what, (unsigned long long)got,
			  json_string_value(s));
}

static void want_addr_json(const addr_t *got, json_t *s, const char *what)
{
	addr_t w;

	CHECK_MSG(json_is_string(s), "%s missing", what);
	if (!json_is_string(s))
		return;
	CHECK_OK(addr_parse(&w, json_string_value(s), json_string_length(s)));
	CHECK_MSG(addr_eq(got, &w), "%s differs from cast's %s", what, json_string_value(s));
}

static void want_hash_json(const uint8_t got[32], json_t *s, const char *what)
{
	uint8_t w[32];

	CHECK_MSG(json_is_string(s), "%s missing", what);
	if (!json_is_string(s))
		return;
	CHECK_OK(hex_decode_exact(w, 32, json_string_value(s), json_string_length(s)));
	CHECK_MSG(memcmp(got, w, 32) == 0, "%s differs from cast's %s", what, json_string_value(s));
}

static json_t *cast_json(const char *fmt_sub, const char *arg)
{
	char out[16384];
	json_t *j;

	if (cast(out, sizeof out, "%s %s --json", fmt_sub, arg))
		return NULL;
	j = json_loads(out, 0, NULL);
	CHECK_MSG(j != NULL, "cast %s %s: not JSON: %.200s", fmt_sub, arg, out);
	return j;
}

/* Every field of the pending-transaction event r against `cast tx`. */
static void compare_tx(const struct rec *r, const char *hash)
{
	const event_tx_t *t = &r->ev.tx;
	json_t *j = cast_json("tx", hash), *type;

	if (!j)
		return;
	CHECK(t->full);
	want_hash_json(t->hash, json_object_get(j, "hash"), "hash");
	want_addr_json(&t->from, json_object_get(j, "from"), "from");
	CHECK_EQ_INT(t->has_to, !json_is_null(json_object_get(j, "to")));
	if (t->has_to)
		want_addr_json(&t->to, json_object_get(j, "to"), "to");
	want_u256_json(&t->value, json_object_get(j, "value"), "value");
	CHECK_EQ_STR(r->hex, json_string_value(json_object_get(j, "input")));
	want_u64_json(t->nonce, json_object_get(j, "nonce"), "nonce");
	want_u64_json(t->gas, json_object_get(j, "gas"), "gas");
	type = json_object_get(j, "type");
	want_u64_json(t->type, type, "type");
	CHECK_EQ_INT(t->has_gas_price, json_object_get(j, "gasPrice") != NULL);
	if (t->has_gas_price)
		want_u256_json(&t->gas_price, json_object_get(j, "gasPrice"), "gasPrice");
	if (t->type <= 1) {
		want_u256_json(&t->max_fee, json_object_get(j, "gasPrice"), "max fee (gasPrice)");
		want_u256_json(&t->max_priority_fee, json_object_get(j, "gasPrice"), "tip (gasPrice)");
	} else {
		want_u256_json(&t->max_fee, json_object_get(j, "maxFeePerGas"), "maxFeePerGas");
		want_u256_json(&t->max_priority_fee, json_object_get(j, "maxPriorityFeePerGas"),
			       "maxPriorityFeePerGas");
	}
	json_decref(j);
}

/* The last head event of node 1 against `cast block NUMBER`. */
static void compare_head(const struct rec *r)
{
	char num[24];
	json_t *j;

	snprintf(num, sizeof num, "%llu", (unsigned long long)r->ev.head.number);
	if (!(j = cast_json("block", num)))
		return;
	want_u64_json(r->ev.head.number, json_object_get(j, "number"), "number");
	want_hash_json(r->ev.head.hash, json_object_get(j, "hash"), "hash");
	want_hash_json(r->ev.head.parent_hash, json_object_get(j, "parentHash"), "parentHash");
	want_u64_json(r->ev.head.timestamp, json_object_get(j, "timestamp"), "timestamp");
	CHECK(r->ev.head.has_base_fee);
	want_u256_json(&r->ev.head.base_fee, json_object_get(j, "baseFeePerGas"), "baseFeePerGas");
	json_decref(j);
}

/* A Transfer log event: token, from, to, amount. */
static void check_transfer(const struct rec *r, const char *from, const char *to,
			   uint64_t amount)
{
	const event_log_t *l = &r->ev.log;
	addr_t tok, a;
	uint8_t topic[32] = { 0 };

	CHECK_OK(addr_parse(&tok, TOKEN, strlen(TOKEN)));
	CHECK(addr_eq(&l->address, &tok));
	CHECK_EQ_INT(l->ntopics, 3);
	CHECK_OK(addr_parse(&a, from, strlen(from)));
	memcpy(topic + 12, a.b, 20);
	CHECK_EQ_MEM(l->topics[1], topic, 32);
	CHECK_OK(addr_parse(&a, to, strlen(to)));
	memcpy(topic + 12, a.b, 20);
	CHECK_EQ_MEM(l->topics[2], topic, 32);
	CHECK_EQ_INT(strlen(r->hex), 66);
	CHECK_EQ_INT(strtoull(r->hex + 50, NULL, 16), amount);
	CHECK(!l->removed);
}

/* ---- tests */

static void test_connect(void)
{
	char text[2048];
	const char *urls[2];
	char dead[64];
	node_opts_t o2 = { .pending_hashes_only = true };

	snprintf(rpc_url, sizeof rpc_url, "http://127.0.0.1:%d", P);
	snprintf(dead, sizeof dead, "http://127.0.0.1:%d", D);
	snprintf(text, sizeof text,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d\"; rpc = [ \"%s\", \"%s\" ]; };\n"
		 "watch = ( { name = \"vault\"; address = \"" VAULT "\"; tokens = [ \"" TOKEN "\" ]; },\n"
		 "          { name = \"token\"; address = \"" TOKEN "\"; } );\n", P, dead, rpc_url);
	CFG = load_cfg(text);
	CHECK(CFG != NULL);
	if (!CFG)
		return;
	urls[0] = CFG->chain.rpc[0];
	urls[1] = CFG->chain.rpc[1];
	CHECK_OK(rpc_http_new(L, urls, 2, NULL, &T));
	if (T) {
		rpc_transport_t tr = rpc_http_transport(T);
		CHECK_OK(rpc_new(&RPC, 2, &tr, rpc_http_clock, L,
				 &(rpc_opts_t){ .timeout_ms = 3000 }));
	}
	CHECK_OK(node_new(L, CFG, RPC, sink, tap, (void *)1, &N));
	CHECK_OK(node_new(L, CFG, RPC, sink, NULL, (void *)2, &N2));
	if (!N || !N2)
		return;
	CHECK_OK(node_set_options(N2, &o2));
	CHECK_OK(node_start(N));
	CHECK_OK(node_start(N2));
	CHECK(run_until(both_ready, 5000));
	stats();
	/* heads, pending, the vault's three filters, the token's own */
	CHECK_EQ_INT(ST.subscribed, 6);
	CHECK_EQ_INT(ST.sub_errors, 0);
	CHECK_EQ_INT(ST2.subscribed, 6);  /* with pending hashes instead */
	CHECK_EQ_INT(ST2.sub_errors, 0);
}

/* Replies of eth_chainId and eth_sendRawTransaction, for (d). */
static struct {
	int calls;
	kerr_t err;
	size_t endpoint;
	unsigned attempts;
	int http;
	rpc_error_kind_t kind;
	int64_t code;
	char msg[RPC_MSG_MAX];
	uint64_t u64;
} G;

static void on_reply(void *arg, const rpc_reply_t *r)
{
	(void)arg;
	G.calls++;
	G.err = r->err;
	G.endpoint = r->endpoint;
	G.attempts = r->attempts;
	G.http = r->out->http_status;
	G.kind = r->out->kind;
	G.code = r->out->code;
	snprintf(G.msg, sizeof G.msg, "%s", r->out->message);
	if (r->err == KERR_OK)
		jtok_u64(r->doc, r->result, &G.u64);
}

static bool replied(void)
{
	return G.calls > 0;
}

/* A client of its own (the nodes' client has failed over already, for
 * their first eth_blockNumber), on the same transport. */
static void test_rpc_failover(void)
{
	rpc_endpoint_stats_t s0, s1;
	rpc_transport_t tr;
	rpc_client_t *c = NULL;

	if (!T)
		return;
	tr = rpc_http_transport(T);
	CHECK_OK(rpc_new(&c, 2, &tr, rpc_http_clock, L, &(rpc_opts_t){ .timeout_ms = 3000 }));
	if (!c)
		return;
	memset(&G, 0, sizeof G);
	CHECK_OK(rpc_chain_id(c, on_reply, NULL, NULL));
	CHECK(run_until(replied, 8000));
	CHECK_ERR(G.err, KERR_OK);
	CHECK_EQ_INT(G.u64, 31337);
	CHECK_EQ_INT(G.endpoint, 1);
	CHECK_EQ_INT(G.attempts, 2);
	CHECK_OK(rpc_stats(c, 0, &s0));
	CHECK_OK(rpc_stats(c, 1, &s1));
	CHECK_EQ_INT(s0.fail[RPC_FAIL_CONNECT], 1);
	CHECK_EQ_INT(s0.failovers, 1);
	CHECK(s0.down);
	CHECK_EQ_INT(s1.results, 1);
	CHECK_EQ_INT(rpc_current(c), 1);
	/* The next call goes straight to the live endpoint. */
	memset(&G, 0, sizeof G);
	CHECK_OK(rpc_block_number(c, on_reply, NULL, NULL));
	CHECK(run_until(replied, 8000));
	CHECK_ERR(G.err, KERR_OK);
	CHECK_EQ_INT(G.attempts, 1);
	CHECK_EQ_INT(G.endpoint, 1);
	CHECK_EQ_INT(rpc_inflight(c), 0);
	rpc_free(c);
	/* The nodes' client took the same way for their baselines. */
	if (RPC) {
		CHECK_OK(rpc_stats(RPC, 0, &s0));
		CHECK(s0.fail[RPC_FAIL_CONNECT] >= 1);
	}
}

static void test_deploy_and_heads(void)
{
	char code[4096], args[8192], hash[67];
	char *bin = contract_code("tests/contracts/Token.bin", NULL);
	int i, h;

	CHECK(bin != NULL);
	if (!bin || !N) {
		free(bin);
		return;
	}
	snprintf(code, sizeof code, "0x%s", bin);
	free(bin);
	snprintf(args, sizeof args, "--private-key %s --create %s", K0, code);
	if (!send_async(hash, args))
		return;
	/* The creation is pending (to: null), with its init code as input. */
	CHECK_OK(hex_decode_exact(w_hash, 32, hash, 66));
	i = wait_event(1, EV_PENDING_TX, tx_is, 0, 3000);
	CHECK(i >= 0);
	if (i >= 0) {
		CHECK(!R[i].ev.tx.has_to);
		CHECK_EQ_STR(R[i].hex, code);
		compare_tx(&R[i], hash);
	}
	CHECK(evm_mine());
	/* The head, then the constructor's Transfer(0 -> account 0), which
	 * only the token's own filter matches. */
	h = wait_event(1, EV_HEAD, NULL, 0, 3000);
	CHECK(h >= 0);
	if (h >= 0) {
		CHECK_EQ_INT(R[h].ev.head.number, 1);
		compare_head(&R[h]);
	}
	w_amount = 0;
	i = wait_event(1, EV_LOG, NULL, 0, 3000);
	CHECK(i >= 0);
	if (i >= 0) {
		u256_t supply, got;
		CHECK_EQ_INT(R[i].ev.log.block_number, 1);
		static const char e24[] = "1000000000000000000000000";
		CHECK_OK(u256_from_dec(&supply, e24, sizeof e24 - 1));
		CHECK_OK(u256_from_hex(&got, R[i].hex, strlen(R[i].hex)));
		CHECK(u256_cmp(&got, &supply) == 0);
		CHECK(R[i].ev.log.topics[1][31] == 0 && R[i].ev.log.topics[1][12] == 0);
	}
}

static void test_pending(void)
{
	char h0[67], h2[67];
	int i;

	if (!N)
		return;
	/* Type 0 with calldata, type 2 with explicit fees, from account 2
	 * (nonces given: cast takes the mined count, and the second would
	 * replace the first). */
	if (!send_async(h0, "--legacy --nonce 0 --private-key " K2 " " ACCT3
			" 0xdeadbeef --value 1.5ether") ||
	    !send_async(h2, "--nonce 1 --private-key " K2 " --priority-gas-price 2gwei "
			"--gas-price 30gwei " ACCT3 " --value 12345"))
		return;
	CHECK_OK(hex_decode_exact(w_hash, 32, h0, 66));
	i = wait_event(1, EV_PENDING_TX, tx_is, 0, 3000);
	CHECK(i >= 0);
	if (i >= 0) {
		CHECK_EQ_INT(R[i].ev.tx.type, 0);
		CHECK_EQ_STR(R[i].hex, "0xdeadbeef");
		compare_tx(&R[i], h0);
	}
	CHECK_OK(hex_decode_exact(w_hash, 32, h2, 66));
	i = wait_event(1, EV_PENDING_TX, tx_is, 0, 3000);
	CHECK(i >= 0);
	if (i >= 0) {
		CHECK_EQ_INT(R[i].ev.tx.type, 2);
		compare_tx(&R[i], h2);
	}
	/* The hash-only node fetched both in full.  (The creation before
	 * them may have been mined by the time its fetch was answered.) */
	i = wait_event(2, EV_PENDING_TX, tx_is, 0, 3000);
	CHECK(i >= 0);
	if (i >= 0)
		compare_tx(&R[i], h2);
	CHECK_OK(hex_decode_exact(w_hash, 32, h0, 66));
	i = wait_event(2, EV_PENDING_TX, tx_is, 0, 3000);
	CHECK(i >= 0);
	if (i >= 0)
		compare_tx(&R[i], h0);
	stats();
	CHECK(ST2.hashes >= 3);
	CHECK(ST2.fetched >= 2);
	CHECK_EQ_INT(ST2.fetched + ST2.fetch_mined, ST2.hashes);
	CHECK_EQ_INT(ST2.fetch_dropped, 0);
	CHECK_EQ_INT(ST.hashes, 0);
	CHECK(evm_mine());
}

static void test_transfers(void)
{
	char h[67];
	int i, start;

	if (!N)
		return;
	start = nR;
	/* To the vault, then (mined in between: the vault needs the
	 * tokens) from it. */
	if (!send_async(h, "--private-key " K0 " " TOKEN
			" 'transfer(address,uint256)' " VAULT " 1000"))
		return;
	CHECK(evm_mine());
	w_amount = 1000;
	i = wait_event(1, EV_LOG, log_amount_is, start, 3000);
	CHECK(i >= 0);
	if (i >= 0)
		check_transfer(&R[i], ACCT0, VAULT, 1000);
	if (!send_async(h, "--private-key " K1 " " TOKEN
			" 'transfer(address,uint256)' " ACCT3 " 250"))
		return;
	CHECK(evm_mine());
	w_amount = 250;
	i = wait_event(1, EV_LOG, log_amount_is, start, 3000);
	CHECK(i >= 0);
	if (i >= 0)
		check_transfer(&R[i], VAULT, ACCT3, 250);
	/* Each Transfer matched two subscriptions (the vault's, the
	 * token's own) and was passed on once. */
	run_until(never, 100);
	stats();
	{
		int n = 0;
		for (int k = start; k < nR; k++)
			n += R[k].who == 1 && R[k].ev.kind == EV_LOG;
		CHECK_EQ_INT(n, 2);
	}
	CHECK(ST.logs_dup >= 2);
	/* The latest head is the block of the second transfer. */
	for (i = nR - 1; i >= 0 && !(R[i].who == 1 && R[i].ev.kind == EV_HEAD); i--)
		;
	CHECK(i >= 0);
	if (i >= 0)
		compare_head(&R[i]);
}

static bool ready_again(void)
{
	stats();
	return ST.ready >= 2;
}

static bool caught_up(void)
{
	stats();
	return ST.catchups_done >= 1;
}

static void test_restart_catchup(void)
{
	const char *s1 = s1_path, *s2 = s2_path;
	char qurl[64], h[67], out[16384];
	pid_t b, c;
	int64_t t_back = 0;
	uint64_t away_block = 0;
	int i, start;
	json_t *rc;

	if (!N || anvil_a <= 0)
		return;
	snprintf(qurl, sizeof qurl, "http://127.0.0.1:%d", Q);
	/* The node goes away; keeper keeps retrying (back-off grows). */
	anvil_stop(anvil_a);
	anvil_a = -1;
	run_until(never, 1200);
	stats();
	CHECK_EQ_INT(ST.opens, 1);
	CHECK(ST.ws.connect_fails >= 2);
	/* Meanwhile, where keeper cannot see it: a transfer of 77 from the
	 * vault, mined on a second anvil loaded from the first one's state. */
	b = anvil_start(Q, s1, s2, NULL);
	CHECK(b > 0);
	if (b <= 0)
		return;
	run_until(never, 200);
	CHECK(send_async_at(qurl, h, "--private-key " K1 " " TOKEN
			 " 'transfer(address,uint256)' " ACCT3 " 77"));
	CHECK(evm_mine_at(qurl));
	if (cast_at(qurl, out, sizeof out, "receipt %s --json", h) == 0 &&
	    (rc = json_loads(out, 0, NULL))) {
		CHECK_EQ_STR(json_string_value(json_object_get(rc, "status")), "0x1");
		away_block = strtoull(json_string_value(json_object_get(rc, "blockNumber")), NULL, 16);
		json_decref(rc);
	}
	anvil_stop(b);
	run_until(never, 200);
	/* The chain comes back on keeper's port. */
	start = nR;
	c = anvil_start(P, s2, NULL, &t_back);
	CHECK(c > 0);
	if (c <= 0)
		return;
	anvil_a = c;
	CHECK(run_until(ready_again, 5000));
	stats();
	CHECK_EQ_INT(ST.reconnects, 1);
	printf("    reconnected and resubscribed %lld ms after the node was back "
	       "(%llu failed attempts while away)\n",
	       (long long)(ST.ready_ms - t_back), (unsigned long long)ST.ws.connect_fails);
	CHECK_MSG(ST.ready_ms - t_back < 2000, "took %lld ms",
		  (long long)(ST.ready_ms - t_back));
	/* The transfer keeper never saw live comes from the catch-up. */
	w_amount = 77;
	i = wait_event(1, EV_LOG, log_amount_is, start, 5000);
	CHECK(i >= 0);
	if (i >= 0) {
		uint8_t th[32];
		check_transfer(&R[i], VAULT, ACCT3, 77);
		CHECK_EQ_INT(R[i].ev.log.block_number, away_block);
		CHECK_OK(hex_decode_exact(th, 32, h, 66));
		CHECK_EQ_MEM(R[i].ev.log.tx_hash, th, 32);
	}
	CHECK(run_until(caught_up, 5000));
	stats();
	CHECK_EQ_INT(ST.catchups, 1);
	CHECK(ST.catchup_logs >= 1);
	CHECK_EQ_INT(ST.catchup_skipped, 0);
	printf("    catch-up: %llu calls, %llu logs\n", (unsigned long long)ST.catchup_calls,
	       (unsigned long long)ST.catchup_logs);
	/* And live again. */
	if (!send_async(h, "--private-key " K1 " " TOKEN
			" 'transfer(address,uint256)' " ACCT3 " 5"))
		return;
	CHECK(evm_mine());
	w_amount = 5;
	i = wait_event(1, EV_LOG, log_amount_is, start, 3000);
	CHECK(i >= 0);
	if (i >= 0)
		check_transfer(&R[i], VAULT, ACCT3, 5);
	stats();
	CHECK_EQ_INT(ST.catchup_logs, 1);
	CHECK_EQ_INT(ST.malformed, 0);
	CHECK_EQ_INT(frames, (int)ST.frames);
}

static void test_rpc_error(void)
{
	char raw[1024];
	uint8_t tx[512];
	size_t n;

	if (!RPC)
		return;
	/* Nonce 0 of account 0 is spent (the token's creation). */
	if (cast(raw, sizeof raw, "mktx --private-key %s --nonce 0 --gas-limit 21000 "
		 "--priority-gas-price 1gwei --gas-price 10gwei %s --value 1", K0, ACCT3))
		return;
	CHECK_OK(hex_decode(tx, sizeof tx, &n, raw, strlen(raw)));
	memset(&G, 0, sizeof G);
	CHECK_OK(rpc_send_raw_transaction(RPC, tx, n, on_reply, NULL, NULL));
	CHECK(run_until(replied, 8000));
	CHECK_ERR(G.err, KERR_RPC_ERROR);
	CHECK_EQ_INT(G.http, 200);
	CHECK_EQ_INT(G.kind, RPC_E_NONCE_TOO_LOW);
	CHECK_EQ_INT(G.code, -32003);
	CHECK_EQ_STR(G.msg, "nonce too low");
	CHECK_EQ_INT(G.attempts, 1);
}

int main(void)
{
	e2e_begin("test_node_anvil", 50);
	if (!find_anvil_cast() || !tmp_dir_make("anvil"))
		return 1;
	s1_path = tmp_file("s1.json");
	s2_path = tmp_file("s2.json");
	P = free_port(0, NULL);
	Q = free_port(0, NULL);
	D = free_port(0, NULL);
	if (!P || !Q || !D || P == Q || P == D || Q == D || loop_create(NULL, &L) != KERR_OK) {
		printf("FAIL setup: ports or loop\n");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	anvil_a = anvil_start(P, NULL, s1_path, NULL);
	loop_util_init();
	if (anvil_a > 0) {
		RUN(test_connect);
		RUN(test_rpc_failover);
		RUN(test_deploy_and_heads);
		RUN(test_pending);
		RUN(test_transfers);
		RUN(test_restart_catchup);
		RUN(test_rpc_error);
	} else {
		printf("FAIL setup: anvil did not start\n");
		t_failed++;
	}
	/* The transport first: it drops completions that point at the nodes. */
	rpc_http_free(T);
	node_free(N);
	node_free(N2);
	rpc_free(RPC);
	config_free(CFG);
	loop_timer_cancel(&wd_t);
	loop_timer_cancel(&poll_t);
	loop_destroy(L);
	kill_all();
	remove_files();
	return t_done();
}
