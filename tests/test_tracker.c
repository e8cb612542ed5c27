/*
 * test_tracker: the tracker's decisions against a scripted node.
 *
 * The fake transport queues every request rpc hands it; deliver() answers
 * them from a small model of one account on a chain: a mined nonce count,
 * a pool that applies the node rules (nonce too low, already known, the
 * +10% replacement rule, future nonces queued behind a hole), receipts,
 * a guard view, a balance and eth_feeHistory.  The test mines, reorgs and
 * spends the account's nonces behind the tracker's back by editing the
 * model, and feeds heads by hand; time is a variable.  Every transaction
 * the tracker broadcasts is decoded and logged, and at that moment the
 * state file is read back to check it already lists the transaction.
 *
 * The `private` strategies and the webhooks run for real on a loop: a
 * relay (tests/relaysrv.h: it recovers the X-Flashbots-Signature signer
 * itself) and a webhook endpoint (tests/hooksrv.h) on threads of this
 * test, reached through keeper/relay and keeper/notify over HTTP.  What
 * the relay accepted reaches the model chain only when the test hands it
 * over (the relay's builder includes it); the model node then mines it
 * like a pool transaction.  Without also_public not one
 * eth_sendRawTransaction may reach the model node, whatever happens.
 */
#include "keeper/tracker.h"

#include <fcntl.h>
#include <jansson.h>
#include <unistd.h>

#include "keeper/notify.h"
#include "keeper/relay.h"
#include "signer/hex.h"
#include "signer/tx.h"
#include "tests/config_util.h"
#include "tests/hooksrv.h"
#include "tests/loop_util.h"
#include "tests/relaysrv.h"
#include "tests/test.h"

#define K0 "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define VAULT "0x5FbDB2315678afecb367f032d93F642f64180aa3"
#define GWEI 1000000000ULL

static const char cfg_text[] =
	"chain = { id = 31337; ws = \"ws://127.0.0.1:8545\"; rpc = [ \"http://127.0.0.1:8545\" ]; };\n"
	"feeds = ( { name = \"f\"; url = \"wss://x.example/ws\"; price = \"p\"; stale_after_ms = 1000; } );\n"
	"gas = ( { name = \"fix\"; strategy = \"fixed\"; max_fee_gwei = 50; priority_fee_gwei = 2; },\n"
	"        { name = \"esc\"; strategy = \"escalate\"; max_fee_gwei = 5; } );\n"
	"actions = (\n"
	"  { name = \"pause\"; to = \"" VAULT "\"; call = \"pause()\"; guard = \"paused()\";\n"
	"    gas_limit = 60000; gas = \"fix\"; },\n"
	"  { name = \"pause-esc\"; to = \"" VAULT "\"; call = \"pause()\"; guard = \"paused()\";\n"
	"    gas_limit = 60000; gas = \"esc\"; },\n"
	"  { name = \"pause-ps\"; to = \"" VAULT "\"; call = \"pause()\"; guard = \"paused()\";\n"
	"    gas_limit = 60000; gas = \"fix\"; presign = true; },\n"
	"  { name = \"noguard\"; to = \"" VAULT "\"; call = \"pause()\"; gas_limit = 60000; gas = \"fix\"; },\n"
	"  { name = \"liq\"; to = \"" VAULT "\"; call = \"liquidate(address,uint256)\";\n"
	"    args = ( \"$account\", \"$amount\" ); gas_limit = 300000; gas = \"fix\"; } );\n"
	"triggers = ( { name = \"pm\"; kind = \"price_move\"; feed = \"f\"; window_ms = 1000;\n"
	"    threshold_pct = 1; action = \"pause\"; } );\n";

static config_keeper_t *CFG;
static signer_t *SG;
static addr_t FROM;
static char state_path[64];

/* ---- the model node -------------------------------------------------- */

typedef struct {
	uint8_t hash[32];
	uint64_t nonce;
	gas_fees_t f;
	uint8_t sel[4];
} ptx_t;

enum { BR_OK = 0, BR_TOO_LOW, BR_UNDERPRICED, BR_FUNDS, BR_TIMEOUT };

#define MAXP 64
#define MAXR 128
#define MAXS 256
static struct {
	uint64_t latest, block;
	ptx_t pool[MAXP];
	size_t npool;
	ptx_t priv[MAXP];        /* what a relay holds for the next blocks */
	size_t npriv;
	struct { uint8_t hash[32]; uint64_t block; } rc[MAXR];
	size_t nrc;
	bool guard;
	uint64_t balance_eth;
	int script[16];          /* replies to the next broadcasts */
	size_t nscript, iscript;
	/* every broadcast, decoded */
	ptx_t sent[MAXS];
	size_t nsent;
	size_t state_checked, state_missing;
	size_t calls[16];        /* by method below */
	uint64_t header_wei;     /* the latest block's base fee; 0: the node
				    answers eth_getBlockByNumber with null */
} C;

enum { M_COUNT, M_BAL, M_CALL, M_SEND, M_RCPT, M_FEES, M_BLOCK, M_HEADER, M_OTHER };

static int method_of(const char *m)
{
	if (!strcmp(m, "eth_getTransactionCount")) return M_COUNT;
	if (!strcmp(m, "eth_getBalance")) return M_BAL;
	if (!strcmp(m, "eth_call")) return M_CALL;
	if (!strcmp(m, "eth_sendRawTransaction")) return M_SEND;
	if (!strcmp(m, "eth_getTransactionReceipt")) return M_RCPT;
	if (!strcmp(m, "eth_feeHistory")) return M_FEES;
	if (!strcmp(m, "eth_blockNumber")) return M_BLOCK;
	if (!strcmp(m, "eth_getBlockByNumber")) return M_HEADER;
	return M_OTHER;
}

static uint64_t pending_count(void)
{
	uint64_t p = C.latest;
	bool moved = true;

	while (moved) {
		moved = false;
		for (size_t i = 0; i < C.npool; i++)
			if (C.pool[i].nonce == p) {
				p++;
				moved = true;
			}
	}
	return p;
}

static ptx_t *pool_at(uint64_t nonce)
{
	for (size_t i = 0; i < C.npool; i++)
		if (C.pool[i].nonce == nonce)
			return &C.pool[i];
	return NULL;
}

static void pool_del(ptx_t *p)
{
	*p = C.pool[--C.npool];
}

static ptx_t *priv_at(uint64_t nonce)
{
	for (size_t i = 0; i < C.npriv; i++)
		if (C.priv[i].nonce == nonce)
			return &C.priv[i];
	return NULL;
}

/* Mine every executable pool transaction, and what a relay holds, one
 * block. */
static size_t mine(void)
{
	size_t n = 0;
	ptx_t *p;

	C.block++;
	for (;;) {
		if ((p = pool_at(C.latest))) {
			memcpy(C.rc[C.nrc].hash, p->hash, 32);
			pool_del(p);
		} else if ((p = priv_at(C.latest))) {
			memcpy(C.rc[C.nrc].hash, p->hash, 32);
			*p = C.priv[--C.npriv];
		} else {
			break;
		}
		C.rc[C.nrc++].block = C.block;
		C.latest++;
		n++;
	}
	return n;
}

/* Someone else (same key, outside keeper) uses the next nonce. */
static void spend_outside(void)
{
	ptx_t *p = pool_at(C.latest);

	if (p)
		pool_del(p);
	C.latest++;
	C.block++;
}

static bool has_receipt(const uint8_t h[32], uint64_t *block)
{
	for (size_t i = 0; i < C.nrc; i++)
		if (!memcmp(C.rc[i].hash, h, 32)) {
			if (block)
				*block = C.rc[i].block;
			return true;
		}
	return false;
}

static void state_check(const uint8_t h[32])
{
	static state_t st;
	char why[128];

	if (!state_path[0])
		return;
	C.state_checked++;
	if (state_load(&st, state_path, 31337, &FROM, why, sizeof why) != KERR_OK) {
		C.state_missing++;
		return;
	}
	for (size_t i = 0; i < st.ntxs; i++)
		if (!memcmp(st.txs[i].hash, h, 32))
			return;
	C.state_missing++;
}

static char *hex0x(const uint8_t *b, size_t n, char *out)
{
	out[0] = '0', out[1] = 'x';
	hex_encode(out + 2, b, n);
	return out;
}

static const uint8_t guard_sel[4] = { 0x5c, 0x97, 0x5a, 0xbb };  /* paused() */

/* The JSON of one call's answer (result or error) into out. */
static void answer(const char *method, json_t *params, uint64_t id, char *out, size_t cap)
{
	char res[2048] = "null", hx[600];
	int m = method_of(method);

	C.calls[m]++;
	switch (m) {
	case M_COUNT: {
		const char *tag = json_string_value(json_array_get(params, 1));
		uint64_t v = tag && !strcmp(tag, "pending") ? pending_count() : C.latest;
		snprintf(res, sizeof res, "\"0x%" PRIx64 "\"", v);
		break;
	}
	case M_BAL: {
		u256_t b;
		u256_from_u64(&b, C.balance_eth);
		u256_mul_u64(&b, &b, 1000000000000000000ULL);
		res[0] = '"';
		u256_to_hex(&b, res + 1, sizeof res - 2);
		strcat(res, "\"");
		break;
	}
	case M_CALL:
		snprintf(res, sizeof res, "\"0x%064d\"", C.guard ? 1 : 0);
		break;
	case M_BLOCK:
		snprintf(res, sizeof res, "\"0x%" PRIx64 "\"", C.block);
		break;
	case M_HEADER:
		/* gas used half the limit: the next base fee is this one */
		if (C.header_wei)
			snprintf(res, sizeof res, "{\"number\":\"0x%" PRIx64 "\",\"baseFeePerGas\":"
				 "\"0x%" PRIx64 "\",\"gasUsed\":\"0xe4e1c0\",\"gasLimit\":"
				 "\"0x1c9c380\",\"transactions\":[]}", C.block, C.header_wei);
		break;
	case M_RCPT: {
		uint8_t h[32];
		uint64_t blk;
		const char *s = json_string_value(json_array_get(params, 0));
		if (s && hex_decode_exact(h, 32, s + 2, strlen(s) - 2) == KERR_OK &&
		    has_receipt(h, &blk))
			snprintf(res, sizeof res, "{\"transactionHash\":\"%s\",\"status\":\"0x1\","
				 "\"blockNumber\":\"0x%" PRIx64 "\"}", s, blk);
		break;
	}
	case M_FEES: {
		size_t npct = json_array_size(json_array_get(params, 2)), k;
		strcpy(res, "{\"oldestBlock\":\"0x1\",\"reward\":[");
		for (int b = 0; b < 3; b++) {
			strcat(res, b ? ",[" : "[");
			for (k = 0; k < npct; k++)
				strcat(res, k ? ",\"0x3b9aca00\"" : "\"0x3b9aca00\"");
			strcat(res, "]");
		}
		strcat(res, "]}");
		break;
	}
	case M_SEND: {
		const char *s = json_string_value(json_array_get(params, 0));
		uint8_t raw[1024];
		size_t len;
		tx_t tx;
		tx_sig_t sig;
		tx_access_t acc[TX_MAX_ACCESS];
		ptx_t x, *old;
		int r = C.iscript < C.nscript ? C.script[C.iscript++] : BR_OK;
		const char *err = NULL;

		if (!s || hex_decode(raw, sizeof raw, &len, s + 2, strlen(s) - 2) != KERR_OK ||
		    tx_decode(raw, len, &tx, &sig, acc) != KERR_OK) {
			snprintf(out, cap, "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"error\":"
				 "{\"code\":-32602,\"message\":\"bad tx\"}}", id);
			return;
		}
		memset(&x, 0, sizeof x);
		tx_hash(raw, len, x.hash);
		x.nonce = tx.nonce;
		x.f.max_fee = tx.max_fee;
		x.f.priority_fee = tx.max_priority_fee;
		memcpy(x.sel, tx.data, 4);
		if (C.nsent < MAXS)
			C.sent[C.nsent++] = x;
		if (memcmp(x.sel, guard_sel, 4) != 0)
			state_check(x.hash);
		old = pool_at(x.nonce);
		if (r == BR_TIMEOUT) {
			out[0] = 0;
			return;
		}
		if (r == BR_TOO_LOW || x.nonce < C.latest)
			err = "nonce too low";
		else if (r == BR_UNDERPRICED)
			err = "transaction underpriced";
		else if (r == BR_FUNDS)
			err = "insufficient funds for gas * price + value";
		else if (old && !memcmp(old->hash, x.hash, 32))
			err = "already known";
		else if (old && !gas_replaces(&old->f, &x.f, 10))
			err = "replacement transaction underpriced";
		if (err) {
			snprintf(out, cap, "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"error\":"
				 "{\"code\":-32000,\"message\":\"%s\"}}", id, err);
			return;
		}
		if (old)
			*old = x;
		else if (C.npool < MAXP)
			C.pool[C.npool++] = x;
		hex0x(x.hash, 32, hx);
		hx[66] = 0;
		snprintf(res, sizeof res, "\"%s\"", hx);
		break;
	}
	default:
		break;
	}
	snprintf(out, cap, "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"result\":%s}", id, res);
}

typedef struct {
	char *body;
	rpc_net_done_fn done;
	void *arg;
} req_t;

#define MAXQ 1024
static req_t Q[MAXQ];
static size_t nq, iq;
static uint64_t t_now = 1700000000000ULL;

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return t_now;
}

static kerr_t fake_send(void *ctx, size_t ep, const char *body, size_t len,
			uint32_t timeout_ms, rpc_net_done_fn done, void *arg)
{
	(void)ctx, (void)ep, (void)timeout_ms;
	if (nq == MAXQ)
		return KERR_NOMEM;
	Q[nq].body = strndup(body, len);
	Q[nq].done = done;
	Q[nq].arg = arg;
	nq++;
	return KERR_OK;
}

/* Answer every queued request, and those their answers cause. */
static void deliver(void)
{
	while (iq < nq) {
		req_t r = Q[iq++];
		json_t *j = json_loads(r.body, 0, NULL);
		char *out = calloc(1, 65536);
		rpc_net_result_t res = { .net = RPC_NET_OK, .http_status = 200 };
		bool timeout = false;

		if (json_is_array(j)) {
			size_t i, n = json_array_size(j), o = 1;
			out[0] = '[';
			for (i = 0; i < n; i++) {
				json_t *c = json_array_get(j, i);
				if (i)
					out[o++] = ',';
				answer(json_string_value(json_object_get(c, "method")),
				       json_object_get(c, "params"),
				       (uint64_t)json_integer_value(json_object_get(c, "id")),
				       out + o, 65536 - o - 2);
				o += strlen(out + o);
			}
			out[o++] = ']';
		} else if (j) {
			answer(json_string_value(json_object_get(j, "method")),
			       json_object_get(j, "params"),
			       (uint64_t)json_integer_value(json_object_get(j, "id")), out, 65536);
			timeout = !out[0];
		}
		json_decref(j);
		if (timeout) {
			res.net = RPC_NET_TIMEOUT;
			res.http_status = 0;
		} else {
			res.body = out;
			res.len = strlen(out);
		}
		r.done(r.arg, &res);
		free(out);
		free(r.body);
	}
}

static const rpc_transport_t fake = { NULL, fake_send };

/* ---- the tracker under test ------------------------------------------ */

#define MAXO 64
static tracker_outcome_t O[MAXO];
static size_t nO;

static void on_outcome(void *arg, const tracker_outcome_t *o)
{
	(void)arg;
	if (nO < MAXO)
		O[nO++] = *o;
}

static rpc_client_t *RPC;
static tracker_t *T;
/* The base fee head() announces, gwei. */
static uint64_t base_gwei = 1;

static void reset_model(void)
{
	for (size_t i = iq; i < nq; i++)
		free(Q[i].body);
	nq = iq = 0;
	memset(&C, 0, sizeof C);
	C.latest = 3;
	C.block = 100;
	C.balance_eth = 100;
	nO = 0;
	base_gwei = 1;
}

/* A fresh rpc client and tracker (state file kept unless wipe). */
static bool setup(bool wipe, bool with_signer, const tracker_opts_t *opts)
{
	if (wipe)
		unlink(state_path);
	if (rpc_new(&RPC, 1, &fake, fake_clock, NULL, NULL) != KERR_OK)
		return false;
	if (tracker_new(&T, CFG, with_signer ? SG : NULL, RPC, NULL, fake_clock, NULL,
			state_path, on_outcome, NULL, opts) != KERR_OK) {
		rpc_free(RPC);
		RPC = NULL;
		return false;
	}
	CHECK_OK(tracker_start(T));
	deliver();
	return true;
}

/* Drop everything without answering (a crash's view), then free. */
static void teardown(void)
{
	tracker_free(T);
	T = NULL;
	for (size_t i = iq; i < nq; i++)
		free(Q[i].body);
	nq = iq = 0;
	/* rpc holds slots for the dropped calls: free it regardless. */
	rpc_free(RPC);
	RPC = NULL;
}

static void head(void)
{
	event_head_t h;

	memset(&h, 0, sizeof h);
	h.number = C.block;
	h.has_base_fee = true;
	u256_from_u64(&h.base_fee, base_gwei * GWEI);
	h.has_gas = true;
	h.gas_limit = 30000000;
	h.gas_used = 15000000;
	tracker_head(T, &h);
	deliver();
}

static config_trigger_t trig_for(const char *action)
{
	config_trigger_t tr = CFG->triggers[0];

	tr.action = config_action_find(CFG, action);
	return tr;
}

static detect_trip_t a_trip(void)
{
	detect_trip_t t;

	memset(&t, 0, sizeof t);
	t.trigger = "pm";
	t.time_ms = (int64_t)t_now;
	return t;
}

static size_t sends_of(const uint8_t sel[4])
{
	size_t n = 0;

	for (size_t i = 0; i < C.nsent; i++)
		n += !memcmp(C.sent[i].sel, sel, 4);
	return n;
}

static const uint8_t pause_sel[4] = { 0x84, 0x56, 0xcb, 0x59 };

/* Receipts of pause() transactions: how many of ours landed. */
static size_t pauses_mined(void)
{
	size_t n = 0;

	for (size_t i = 0; i < C.nsent; i++) {
		bool dup = false;
		if (memcmp(C.sent[i].sel, pause_sel, 4) || !has_receipt(C.sent[i].hash, NULL))
			continue;
		for (size_t k = 0; k < i; k++)
			dup |= !memcmp(C.sent[k].hash, C.sent[i].hash, 32);
		n += !dup;
	}
	return n;
}

/* ---- tests -------------------------------------------------------------- */

static void test_guard_stops(void)
{
	config_trigger_t tr = trig_for("pause");
	detect_trip_t trip = a_trip();
	tracker_stats_t s;

	reset_model();
	C.guard = true;
	if (!setup(true, true, NULL))
		return;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	tracker_stats(T, &s);
	CHECK_EQ_INT(nO, 1);
	CHECK_EQ_INT(O[0].result, TRACKER_GUARD_STOPPED);
	CHECK(O[0].final && !O[0].has_tx);
	CHECK_EQ_INT(C.calls[M_SEND], 0);
	CHECK_EQ_INT(s.guard_stops, 1);
	CHECK_EQ_INT(s.in_flight, 0);
	teardown();
}

static void test_one_in_flight(void)
{
	config_trigger_t tp = trig_for("pause"), tl = trig_for("liq");
	detect_trip_t trip = a_trip(), ta = a_trip(), tb = a_trip();
	tracker_stats_t s;

	reset_model();
	if (!setup(true, true, NULL))
		return;
	CHECK_OK(tracker_trip(T, &tp, &trip));
	deliver();
	CHECK_EQ_INT(C.calls[M_SEND], 1);
	CHECK_ERR(tracker_trip(T, &tp, &trip), KERR_IN_FLIGHT);
	ta.has_account = tb.has_account = true;
	ta.has_amount = tb.has_amount = true;
	memset(ta.account.b, 0xaa, 20);
	memset(tb.account.b, 0xbb, 20);
	CHECK_OK(tracker_trip(T, &tl, &ta));
	CHECK_OK(tracker_trip(T, &tl, &tb));
	CHECK_ERR(tracker_trip(T, &tl, &ta), KERR_IN_FLIGHT);
	deliver();
	CHECK_EQ_INT(C.calls[M_SEND], 3);
	CHECK_EQ_INT(C.npool, 3);
	/* consecutive nonces 3, 4, 5 */
	CHECK(pool_at(3) && pool_at(4) && pool_at(5));
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.busy, 2);
	CHECK_EQ_INT(s.in_flight, 3);
	CHECK_EQ_INT(mine(), 3);
	head();
	CHECK_EQ_INT(nO, 3);
	for (size_t i = 0; i < nO; i++)
		CHECK(O[i].result == TRACKER_MINED && O[i].final);
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.in_flight, 0);
	CHECK_EQ_INT(s.mined, 3);
	/* the lane is free again */
	CHECK_OK(tracker_trip(T, &tl, &ta));
	deliver();
	CHECK_EQ_INT(C.calls[M_SEND], 4);
	CHECK_EQ_INT(C.state_missing, 0);
	CHECK(C.state_checked >= 4);
	teardown();
}

static void test_escalation(void)
{
	config_trigger_t tr = trig_for("pause-esc");
	detect_trip_t trip = a_trip();
	tracker_stats_t s;
	u256_t cap;
	size_t capped = 0;

	reset_model();
	if (!setup(true, true, NULL))
		return;
	head();                  /* base fee 1 gwei, rewards 1 gwei */
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	CHECK_EQ_INT(C.nsent, 1);
	if (C.nsent != 1)
		goto out;
	/* 2 x 1 gwei + 1 gwei */
	CHECK(u256_to_u64(&C.sent[0].f.max_fee, &(uint64_t){ 0 }));
	{
		uint64_t mf = 0, pf = 0;
		u256_to_u64(&C.sent[0].f.max_fee, &mf);
		u256_to_u64(&C.sent[0].f.priority_fee, &pf);
		CHECK_EQ_INT(mf, 3 * GWEI);
		CHECK_EQ_INT(pf, GWEI);
	}
	u256_from_u64(&cap, 5 * GWEI);
	for (int k = 0; k < 8; k++)
		head();
	printf("    escalate: %zu bids: ", C.nsent);
	for (size_t i = 0; i < C.nsent; i++) {
		uint64_t mf = 0;
		u256_to_u64(&C.sent[i].f.max_fee, &mf);
		printf("%s%.4f", i ? ", " : "", (double)mf / GWEI);
		CHECK(u256_cmp(&C.sent[i].f.max_fee, &cap) <= 0);
		CHECK_EQ_INT(C.sent[i].nonce, C.sent[0].nonce);
		if (i)
			CHECK(gas_replaces(&C.sent[i - 1].f, &C.sent[i].f, 10));
	}
	printf(" gwei\n");
	/* 3 -> 3.375 -> 3.797 -> 4.271 -> 4.805; 5.4 is over the cap and
	 * 5 does not clear +10%: hold at the cap. */
	CHECK_EQ_INT(C.nsent, 5);
	for (size_t i = 0; i < nO; i++)
		capped += O[i].result == TRACKER_CAPPED;
	CHECK_EQ_INT(capped, 1);
	CHECK(nO == 1 && !O[0].final);
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.replaced, 4);
	CHECK_EQ_INT(s.capped, 1);
	/* The last bid mines: the outcome names that version. */
	mine();
	head();
	CHECK_EQ_INT(nO, 2);
	CHECK(nO == 2 && O[1].result == TRACKER_MINED && O[1].versions == 5 &&
	      !memcmp(O[1].hash, C.sent[4].hash, 32));
	CHECK_EQ_INT(C.state_missing, 0);
out:
	teardown();
}

static uint64_t fee_u64(const u256_t *v)
{
	uint64_t x = UINT64_MAX;

	u256_to_u64(v, &x);
	return x;
}

/*
 * A trip before the first head: the start's round reads the latest block
 * (and the fee history), so the first bid is escalate's quote on that
 * market, 2 x 1 gwei + the 1 gwei reward, not the 5 gwei cap -- also for
 * a trip made before that round's answers came.  A head that comes before
 * the answer is newer and stays the market.  Without an answer the cap is
 * today's bid.
 */
static void test_first_bid_market(void)
{
	config_trigger_t tr = trig_for("pause-esc");
	detect_trip_t trip = a_trip();
	event_head_t h;
	tracker_stats_t s;

	/* the trip at once after tracker_start, nothing answered yet */
	reset_model();
	C.header_wei = GWEI;
	unlink(state_path);
	CHECK_OK(rpc_new(&RPC, 1, &fake, fake_clock, NULL, NULL));
	CHECK_OK(tracker_new(&T, CFG, SG, RPC, NULL, fake_clock, NULL, state_path, on_outcome,
			     NULL, NULL));
	if (!T)
		return;
	CHECK_OK(tracker_start(T));
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	CHECK_EQ_INT(C.calls[M_HEADER], 1);
	CHECK_EQ_INT(C.calls[M_FEES], 1);
	CHECK_EQ_INT(C.nsent, 1);
	if (C.nsent == 1) {
		CHECK_EQ_INT(fee_u64(&C.sent[0].f.max_fee), 3 * GWEI);
		CHECK_EQ_INT(fee_u64(&C.sent[0].f.priority_fee), GWEI);
		printf("    before any head: first bid max_fee %.4f gwei, priority %.4f gwei "
		       "(latest block's base fee 1 gwei; cap 5 gwei)\n",
		       (double)fee_u64(&C.sent[0].f.max_fee) / GWEI,
		       (double)fee_u64(&C.sent[0].f.priority_fee) / GWEI);
	}
	CHECK(nO == 0);
	teardown();

	/* a head (1.5 gwei) before the start's answers: it is the market */
	reset_model();
	C.header_wei = GWEI;
	unlink(state_path);
	CHECK_OK(rpc_new(&RPC, 1, &fake, fake_clock, NULL, NULL));
	CHECK_OK(tracker_new(&T, CFG, SG, RPC, NULL, fake_clock, NULL, state_path, on_outcome,
			     NULL, NULL));
	if (!T)
		return;
	CHECK_OK(tracker_start(T));
	memset(&h, 0, sizeof h);
	h.number = C.block + 1;
	h.has_base_fee = true;
	u256_from_u64(&h.base_fee, 3 * GWEI / 2);
	h.has_gas = true;
	h.gas_limit = 30000000;
	h.gas_used = 15000000;
	tracker_head(T, &h);
	deliver();
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	CHECK_EQ_INT(C.nsent, 1);
	if (C.nsent == 1)
		CHECK_EQ_INT(fee_u64(&C.sent[0].f.max_fee), 4 * GWEI);
	teardown();

	/* the node answers null: the cap, as before, and an rpc error */
	reset_model();
	if (!setup(true, true, NULL))
		return;
	CHECK_EQ_INT(C.calls[M_HEADER], 1);
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	CHECK_EQ_INT(C.nsent, 1);
	if (C.nsent == 1)
		CHECK_EQ_INT(fee_u64(&C.sent[0].f.max_fee), 5 * GWEI);
	tracker_stats(T, &s);
	CHECK(s.rpc_errors >= 1);
	/* ... until a head: no second read of the latest block */
	head();
	CHECK_EQ_INT(C.calls[M_HEADER], 1);
	teardown();
}

static void test_nonce_too_low(void)
{
	config_trigger_t tr = trig_for("noguard");
	detect_trip_t trip = a_trip();
	tracker_stats_t s;

	reset_model();
	if (!setup(true, true, NULL))
		return;
	CHECK_EQ_INT(tracker_nonce(T)->next, 3);
	spend_outside();         /* the key used nonce 3 outside keeper */
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	CHECK_EQ_INT(C.nsent, 2);
	CHECK(C.nsent == 2 && C.sent[0].nonce == 3 && C.sent[1].nonce == 4);
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.resyncs, 1);
	CHECK_EQ_INT(s.sent, 1);
	CHECK_EQ_INT(tracker_nonce(T)->too_low, 1);
	mine();
	head();
	CHECK(nO == 1 && O[0].result == TRACKER_MINED && O[0].nonce == 4);
	CHECK_EQ_INT(pauses_mined(), 1);
	CHECK_EQ_INT(C.state_missing, 0);
	teardown();
}

static void test_dropped(void)
{
	config_trigger_t tr = trig_for("noguard");
	detect_trip_t trip = a_trip();
	tracker_stats_t s;

	reset_model();
	if (!setup(true, true, NULL))
		return;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	CHECK_EQ_INT(C.nsent, 1);
	spend_outside();         /* another transaction took nonce 3 */
	head();                  /* suspect only: receipts may be a block late */
	CHECK_EQ_INT(C.nsent, 1);
	head();
	CHECK_EQ_INT(C.nsent, 2);
	CHECK(C.nsent == 2 && C.sent[1].nonce == 4);
	mine();
	head();
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.dropped, 1);
	CHECK(nO == 1 && O[0].result == TRACKER_MINED && O[0].nonce == 4);
	CHECK_EQ_INT(pauses_mined(), 1);
	teardown();
}

static void test_refused_retry(void)
{
	config_trigger_t tr = trig_for("noguard");
	detect_trip_t trip = a_trip();
	tracker_stats_t s;

	reset_model();
	if (!setup(true, true, &(tracker_opts_t){ .retry_heads = 2 }))
		return;
	C.script[C.nscript++] = BR_FUNDS;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	/* refused: nonce 3 given back, nothing in the state file */
	CHECK_EQ_INT(tracker_nonce(T)->next, 3);
	CHECK_EQ_INT(tracker_nonce(T)->given_back, 1);
	CHECK_EQ_INT(tracker_state(T)->ntxs, 0);
	head();
	CHECK_EQ_INT(C.nsent, 2);
	CHECK(C.nsent == 2 && C.sent[1].nonce == 3);
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.sent, 1);
	CHECK_EQ_INT(s.refused, 1);
	CHECK_EQ_INT(nO, 0);
	/* refused three times with retry_heads 2: FAILED */
	mine();
	head();
	CHECK(nO == 1 && O[0].result == TRACKER_MINED);
	C.script[C.nscript++] = BR_FUNDS;
	C.script[C.nscript++] = BR_FUNDS;
	C.script[C.nscript++] = BR_FUNDS;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	head();
	head();
	CHECK(nO == 2 && O[1].result == TRACKER_FAILED && O[1].final);
	CHECK_EQ_INT(tracker_nonce(T)->next, 4);
	teardown();
}

static void test_timeout_keeps_bytes(void)
{
	config_trigger_t tr = trig_for("noguard");
	detect_trip_t trip = a_trip();
	tracker_stats_t s;

	reset_model();
	if (!setup(true, true, NULL))
		return;
	C.script[C.nscript++] = BR_TIMEOUT;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	CHECK_EQ_INT(C.npool, 0);
	CHECK_EQ_INT(tracker_state(T)->ntxs, 1);
	head();                  /* the same bytes again */
	CHECK_EQ_INT(C.nsent, 2);
	CHECK(C.nsent == 2 && !memcmp(C.sent[0].hash, C.sent[1].hash, 32));
	CHECK_EQ_INT(C.npool, 1);
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.rebroadcasts, 1);
	mine();
	head();
	CHECK(nO == 1 && O[0].result == TRACKER_MINED);
	teardown();
}

static void test_stranded_fill(void)
{
	config_trigger_t tr = trig_for("noguard");
	detect_trip_t trip = a_trip();
	tracker_stats_t s;

	reset_model();
	if (!setup(true, true, NULL))
		return;
	/* The Relayer jam: the counter two ahead of the chain. */
	tracker_nonce(T)->next += 2;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	CHECK(C.nsent == 1 && C.sent[0].nonce == 5);
	CHECK_EQ_INT(pending_count(), 3);        /* queued behind the hole */
	head();
	/* holes 3 and 4 filled with paused() calls */
	CHECK_EQ_INT(sends_of(guard_sel), 2);
	CHECK_EQ_INT(pending_count(), 6);
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.fills, 2);
	CHECK_EQ_INT(mine(), 3);
	head();
	CHECK(nO == 1 && O[0].result == TRACKER_MINED && O[0].nonce == 5 &&
	      !memcmp(O[0].hash, C.sent[0].hash, 32));
	CHECK_EQ_INT(pauses_mined(), 1);
	CHECK_EQ_INT(tracker_nonce(T)->next, 6);
	teardown();
}

static void test_presign(void)
{
	config_trigger_t tr = trig_for("pause-ps");
	detect_trip_t trip = a_trip();
	tracker_stats_t s0, s1;
	size_t q0;

	reset_model();
	if (!setup(true, true, NULL))
		return;
	head();
	tracker_stats(T, &s0);
	CHECK(s0.presigned >= 1);
	q0 = nq;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	/* The raw transaction is on its way before any answer: no guard
	 * round trip, and no signature made on the path. */
	CHECK_EQ_INT(nq, q0 + 1);
	CHECK(nq == q0 + 1 && strstr(Q[q0].body, "eth_sendRawTransaction"));
	tracker_stats(T, &s1);
	CHECK_EQ_INT(s1.presign_used, 1);
	CHECK_EQ_INT(s1.presigned, s0.presigned);
	deliver();
	mine();
	head();
	CHECK(nO == 1 && O[0].result == TRACKER_MINED);
	/* The guard now reads true: nothing presigned, and a trip stops. */
	C.guard = true;
	head();
	tracker_stats(T, &s0);
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	CHECK(nO == 2 && O[1].result == TRACKER_GUARD_STOPPED);
	tracker_stats(T, &s1);
	CHECK_EQ_INT(s1.presign_used, 1);
	CHECK_EQ_INT(C.nsent, 1);
	teardown();
}

static void test_resume(void)
{
	config_trigger_t tr = trig_for("pause");
	detect_trip_t trip = a_trip();
	tracker_stats_t s;
	uint8_t h[32];

	reset_model();
	if (!setup(true, true, NULL))
		return;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	CHECK_EQ_INT(C.nsent, 1);
	memcpy(h, C.sent[0].hash, 32);
	teardown();              /* "crash": nothing resolved */
	nO = 0;
	/* restarted: tracks the same transaction, sends nothing new */
	if (!setup(false, true, NULL))
		return;
	head();
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.resumed, 1);
	CHECK_EQ_INT(s.in_flight, 1);
	CHECK_EQ_INT(C.nsent, 1);
	CHECK_ERR(tracker_trip(T, &tr, &trip), KERR_IN_FLIGHT);
	mine();
	head();
	CHECK(nO == 1 && O[0].result == TRACKER_MINED && !memcmp(O[0].hash, h, 32));
	CHECK_EQ_INT(tracker_state(T)->ntxs, 0);
	CHECK_EQ_INT(C.nsent, 1);
	teardown();
	/* the node lost it meanwhile: the same bytes, re-broadcast */
	reset_model();
	if (!setup(true, true, NULL))
		return;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	memcpy(h, C.sent[0].hash, 32);
	teardown();
	C.npool = 0;
	if (!setup(false, true, NULL))
		return;
	CHECK_EQ_INT(C.nsent, 2);
	CHECK(C.nsent == 2 && !memcmp(C.sent[1].hash, h, 32));
	teardown();
}

/* A restart after a fee bump: the state file lists the first bid with
 * the replacement, and when the node that mines never saw the bump and
 * mines the first bid, the restarted tracker knows it for its own (no
 * guard reads true here: without that, "nonce used elsewhere" would sign
 * the trip again). */
static void test_resume_older_bid(void)
{
	config_trigger_t tr = trig_for("pause-esc");
	detect_trip_t trip = a_trip();
	ptx_t first;

	reset_model();
	if (!setup(true, true, NULL))
		return;
	head();
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	head();                  /* not mined: escalate replaces it */
	CHECK_EQ_INT(C.nsent, 2);
	if (C.nsent != 2) {
		teardown();
		return;
	}
	first = C.sent[0];
	teardown();              /* "crash" */
	nO = 0;
	C.npool = 0;
	C.pool[C.npool++] = first;
	if (!setup(false, true, NULL))
		return;
	mine();
	head();
	head();                  /* where a suspect nonce would be re-signed */
	CHECK(nO == 1 && O[0].result == TRACKER_MINED && O[0].versions == 2 &&
	      !memcmp(O[0].hash, first.hash, 32));
	CHECK_EQ_INT(C.nsent, 2);
	CHECK_EQ_INT(tracker_state(T)->ntxs, 0);
	teardown();
}

static void test_reorg(void)
{
	config_trigger_t tr = trig_for("noguard");
	detect_trip_t trip = a_trip();
	tracker_stats_t s;

	reset_model();
	if (!setup(true, true, NULL))
		return;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	mine();
	head();
	CHECK(nO == 1 && O[0].result == TRACKER_MINED);
	/* the block is reorged away, and the node lost the transaction */
	C.nrc = 0;
	C.latest--;
	head();
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.reorgs, 1);
	CHECK_EQ_INT(C.nsent, 2);
	CHECK(C.nsent == 2 && !memcmp(C.sent[0].hash, C.sent[1].hash, 32));
	mine();
	head();
	CHECK(nO == 2 && O[1].result == TRACKER_MINED);
	CHECK_EQ_INT(pauses_mined(), 1);
	teardown();
}

static void test_balance_and_dry_run(void)
{
	config_trigger_t tr = trig_for("pause");
	detect_trip_t trip = a_trip();
	tracker_stats_t s;

	reset_model();
	C.balance_eth = 0;
	if (!setup(true, true, NULL))
		return;
	tracker_stats(T, &s);
	CHECK(s.low_balance);     /* 300000 x 50 gwei is the need */
	C.balance_eth = 1;
	head();
	tracker_stats(T, &s);
	CHECK(!s.low_balance);
	teardown();
	/* no signer: built and logged, never sent */
	reset_model();
	if (!setup(true, false, NULL))
		return;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	deliver();
	CHECK(nO == 1 && O[0].result == TRACKER_DRY_RUN && !O[0].has_tx);
	CHECK_EQ_INT(C.calls[M_SEND] + C.calls[M_COUNT], 0);
	teardown();
}

static void test_targets(void)
{
	addr_t to[8];
	uint8_t sel[8][4];
	size_t n;

	CHECK_OK(tracker_targets(CFG, to, sel, 8, &n));
	/* pause(), paused(), liquidate(address,uint256) */
	CHECK_EQ_INT(n, 3);
	CHECK_ERR(tracker_targets(CFG, to, sel, 2, &n), KERR_BUF);
}


/* ---- private strategies and webhooks ------------------------------------ */

static config_keeper_t *PCFG;
static relay_t *REL;
static notify_t *NOTI;
static bool priv_up;         /* the servers run */

static bool net_idle(void)
{
	relay_stats_t rs;
	notify_stats_t ns;

	relay_stats(REL, &rs);
	notify_stats(NOTI, &ns);
	return !rs.in_flight && !ns.waiting && !ns.in_flight;
}

/* The fake node's answers and the relay's and webhooks' HTTP, until
 * neither has anything left to do. */
static void settle(void)
{
	for (int k = 0; k < 100; k++) {
		deliver();
		CHECK(run_until(net_idle, 5000));
		if (iq == nq)
			return;
	}
	CHECK_MSG(0, "the tracker keeps asking");
}

static bool setup_priv(void)
{
	tracker_opts_t o = { .relay = REL, .notify = NOTI };

	unlink(state_path);
	if (rpc_new(&RPC, 1, &fake, fake_clock, NULL, NULL) != KERR_OK)
		return false;
	if (tracker_new(&T, PCFG, SG, RPC, NULL, fake_clock, NULL, state_path, on_outcome,
			NULL, &o) != KERR_OK) {
		rpc_free(RPC);
		RPC = NULL;
		return false;
	}
	CHECK_OK(tracker_start(T));
	settle();
	return true;
}

static config_trigger_t ptrig_for(const char *action)
{
	config_trigger_t tr = PCFG->triggers[0];

	tr.action = config_action_find(PCFG, action);
	return tr;
}

/* The relay's builder puts what it accepted into the next block. */
static void relay_include(const relaysrv_rec_t *r)
{
	tx_t tx;
	tx_sig_t sig;
	tx_access_t acc[TX_MAX_ACCESS];
	ptx_t x;

	CHECK_OK(tx_decode(r->raw, r->raw_len, &tx, &sig, acc));
	memset(&x, 0, sizeof x);
	memcpy(x.hash, r->hash, 32);
	x.nonce = tx.nonce;
	x.f.max_fee = tx.max_fee;
	x.f.priority_fee = tx.max_priority_fee;
	memcpy(x.sel, tx.data, 4);
	if (C.npriv < MAXP)
		C.priv[C.npriv++] = x;
}

/* Submission g (of RELAY_BLOCKS_DEFAULT requests) since n0: bundles of one
 * transaction for blocks first .. first + RELAY_BLOCKS_DEFAULT - 1, each
 * once (its requests may arrive in any order). */
static bool bundle_blocks(int n0, int g, uint64_t first)
{
	bool seen[RELAY_BLOCKS_DEFAULT] = { false };
	relaysrv_rec_t r0 = relaysrv_rec(n0 + g * RELAY_BLOCKS_DEFAULT);

	for (int i = 0; i < RELAY_BLOCKS_DEFAULT; i++) {
		relaysrv_rec_t r = relaysrv_rec(n0 + g * RELAY_BLOCKS_DEFAULT + i);

		if (!r.bundle || r.block < first || r.block >= first + RELAY_BLOCKS_DEFAULT ||
		    seen[r.block - first] || memcmp(r.hash, r0.hash, 32) != 0)
			return false;
		seen[r.block - first] = true;
	}
	return true;
}

/* Every request since n0 came from keeper's signer, well-formed. */
static void relay_all_signed(int n0)
{
	for (int i = n0; i < relaysrv_count(); i++) {
		relaysrv_rec_t r = relaysrv_rec(i);

		CHECK_MSG(r.ok && addr_eq(&r.who, &FROM), "relay request %d: %s", i, r.why);
	}
}

/* Webhook bodies since h0 are these events, in this order; those after
 * the trip name the version hashes[i] (the one sent, the one mined) and
 * nonce. */
static void hooks_are(int h0, const char *const *events, int n, const uint8_t (*hashes)[32],
		      uint64_t nonce)
{
	char hx[67];

	hx[0] = '0', hx[1] = 'x';
	hx[66] = 0;
	CHECK_EQ_INT(hooksrv_count() - h0, n);
	for (int i = 0; i < n && h0 + i < hooksrv_count(); i++) {
		hooksrv_rec_t r = hooksrv_rec(h0 + i);
		json_t *j = json_loads(r.body, 0, NULL);
		const char *ev = json_string_value(json_object_get(j, "event"));

		CHECK_MSG(ev && !strcmp(ev, events[i]), "body %d: %s, want %s", i, r.body,
			  events[i]);
		CHECK_EQ_STR(json_string_value(json_object_get(j, "trigger")), "pm");
		if (!strcmp(events[i], "trip")) {
			CHECK(json_is_null(json_object_get(j, "tx_hash")));
		} else {
			hex_encode(hx + 2, hashes[i], 32);
			CHECK_EQ_STR(json_string_value(json_object_get(j, "tx_hash")), hx);
			CHECK_EQ_INT(json_integer_value(json_object_get(j, "nonce")), nonce);
		}
		json_decref(j);
	}
}

static void teardown_priv(void)
{
	settle();
	teardown();
}

static void test_private_needs_relay(void)
{
	rpc_client_t *r = NULL;
	tracker_t *t = NULL;

	CHECK_OK(rpc_new(&r, 1, &fake, fake_clock, NULL, NULL));
	/* sending with a private action and nowhere to submit it */
	CHECK_ERR(tracker_new(&t, PCFG, SG, r, NULL, fake_clock, NULL, NULL, NULL, NULL,
			      NULL), KERR_ARG);
	/* a dry run needs none */
	CHECK_OK(tracker_new(&t, PCFG, NULL, r, NULL, fake_clock, NULL, NULL, NULL, NULL,
			     NULL));
	tracker_free(t);
	rpc_free(r);
}

/* private_tx, also_public false: the relay gets the transaction, signed
 * by keeper's key, and the public node never does; webhooks trip, sent,
 * mined. */
static void test_private_tx(void)
{
	config_trigger_t tr = ptrig_for("p-tx");
	detect_trip_t trip = a_trip();
	static const char *const ev[] = { "trip", "sent", "mined" };
	int n0 = relaysrv_count(), h0 = hooksrv_count();
	uint8_t hs[3][32] = { { 0 } };
	relaysrv_rec_t r;
	tracker_stats_t s;

	reset_model();
	if (!setup_priv())
		return;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	settle();
	CHECK_EQ_INT(relaysrv_count() - n0, 1);
	if (relaysrv_count() - n0 != 1)
		goto out;
	r = relaysrv_rec(n0);
	CHECK(!r.bundle);
	relay_all_signed(n0);
	/* No head yet: the start's eth_blockNumber read 100, so
	 * maxBlockNumber is 100 + 25. */
	CHECK_EQ_INT(r.block, 100 + RELAY_PRIVATE_BLOCKS_DEFAULT);
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.sent, 1);
	CHECK_EQ_INT(s.relayed, 1);
	CHECK_EQ_INT(s.in_flight, 1);
	CHECK_EQ_INT(C.calls[M_SEND], 0);
	CHECK_EQ_INT(tracker_state(T)->ntxs, 1);
	/* The first head gives a market (the bid without one was the cap):
	 * a new version, submitted at once, up to 101 + 25. */
	C.block++;
	head();
	settle();
	CHECK_EQ_INT(relaysrv_count() - n0, 2);
	r = relaysrv_rec(relaysrv_count() - 1);
	CHECK_EQ_INT(r.block, 101 + RELAY_PRIVATE_BLOCKS_DEFAULT);
	CHECK(memcmp(r.hash, relaysrv_rec(n0).hash, 32) != 0);
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.replaced, 1);
	/* a head before maxBlockNumber, the same bid: nothing is sent again */
	C.block++;
	head();
	settle();
	CHECK_EQ_INT(relaysrv_count() - n0, 2);
	relay_all_signed(n0);
	relay_include(&r);
	mine();
	head();
	settle();
	CHECK(nO == 1 && O[0].result == TRACKER_MINED && !memcmp(O[0].hash, r.hash, 32) &&
	      O[0].nonce == 3 && O[0].versions == 2);
	CHECK_EQ_INT(C.calls[M_SEND], 0);
	memcpy(hs[1], relaysrv_rec(n0).hash, 32);
	memcpy(hs[2], r.hash, 32);
	hooks_are(h0, ev, 3, (const uint8_t (*)[32])hs, 3);
	printf("    private_tx: %d relay requests (maxBlockNumber %" PRIu64 ", %" PRIu64
	       "), signed by the keeper key; %zu eth_sendRawTransaction; webhooks: %d\n",
	       relaysrv_count() - n0, relaysrv_rec(n0).block, r.block, C.calls[M_SEND],
	       hooksrv_count() - h0);
out:
	teardown_priv();
}

/* bundle: a relay refusal keeps the trip; every head submits again for the
 * blocks after it; a new bid is a new version to the relay; nothing public. */
static void test_private_bundle(void)
{
	config_trigger_t tr = ptrig_for("p-bundle");
	detect_trip_t trip = a_trip();
	static const char *const ev[] = { "trip", "sent", "mined" };
	int n0 = relaysrv_count(), h0 = hooksrv_count(), n;
	uint8_t hs[3][32] = { { 0 } };
	relaysrv_rec_t r;
	tracker_stats_t s;

	reset_model();
	if (!setup_priv())
		return;
	head();
	relaysrv_reject(RELAY_BLOCKS_DEFAULT);
	CHECK_OK(tracker_trip(T, &tr, &trip));
	settle();
	CHECK_EQ_INT(relaysrv_count() - n0, RELAY_BLOCKS_DEFAULT);
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.relay_errors, 1);
	CHECK_EQ_INT(s.sent, 0);
	CHECK_EQ_INT(s.in_flight, 1);
	CHECK_EQ_INT(nO, 0);
	/* the next head: accepted for blocks 102..104 */
	C.block++;
	head();
	settle();
	n = relaysrv_count() - n0;
	CHECK_EQ_INT(n, 2 * RELAY_BLOCKS_DEFAULT);
	CHECK(bundle_blocks(n0, 0, 101));
	CHECK(bundle_blocks(n0, 1, 102));
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.sent, 1);
	CHECK_EQ_INT(s.relayed, 1);
	/* an empty block: the window slides */
	C.block++;
	head();
	settle();
	CHECK_EQ_INT(relaysrv_count() - n0, 3 * RELAY_BLOCKS_DEFAULT);
	CHECK(bundle_blocks(n0, 2, 103));
	/* the base fee doubles: a fresh quote, a new version to the relay */
	base_gwei = 2;
	C.block++;
	head();
	settle();
	CHECK_EQ_INT(relaysrv_count() - n0, 4 * RELAY_BLOCKS_DEFAULT);
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.replaced, 1);
	r = relaysrv_rec(relaysrv_count() - 1);
	CHECK(memcmp(r.hash, relaysrv_rec(n0).hash, 32) != 0);
	relay_all_signed(n0);
	relay_include(&r);
	mine();
	head();
	settle();
	CHECK(nO == 1 && O[0].result == TRACKER_MINED && O[0].versions == 2 &&
	      !memcmp(O[0].hash, r.hash, 32));
	CHECK_EQ_INT(C.calls[M_SEND], 0);
	memcpy(hs[1], relaysrv_rec(n0).hash, 32);
	memcpy(hs[2], r.hash, 32);
	hooks_are(h0, ev, 3, (const uint8_t (*)[32])hs, 3);
	tracker_stats(T, &s);
	printf("    bundle: %d relay requests, the trip and 3 heads (%" PRIu64 " submission refused, %"
	       PRIu64 " accepted), %zu eth_sendRawTransaction; mined version %u\n",
	       relaysrv_count() - n0, s.relay_errors, s.relayed, C.calls[M_SEND],
	       nO ? O[0].versions : 0);
	teardown_priv();
}

/* also_public: the node and the relay both get it. */
static void test_private_also_public(void)
{
	config_trigger_t tr = ptrig_for("p-pub");
	detect_trip_t trip = a_trip();
	int n0 = relaysrv_count(), h0 = hooksrv_count();
	tracker_stats_t s;

	reset_model();
	if (!setup_priv())
		return;
	CHECK_OK(tracker_trip(T, &tr, &trip));
	settle();
	CHECK_EQ_INT(C.calls[M_SEND], 1);
	CHECK_EQ_INT(relaysrv_count() - n0, 1);
	relay_all_signed(n0);
	CHECK(C.nsent == 1 && relaysrv_count() > n0 &&
	      !memcmp(C.sent[0].hash, relaysrv_rec(n0).hash, 32));
	tracker_stats(T, &s);
	CHECK_EQ_INT(s.sent, 1);
	CHECK_EQ_INT(s.relayed, 1);
	mine();
	head();
	settle();
	CHECK(nO == 1 && O[0].result == TRACKER_MINED);
	CHECK_EQ_INT(hooksrv_count() - h0, 0);  /* no notify URL */
	teardown_priv();
}

/* The cap: an ALERT and a capped webhook, and the bid stays at the cap. */
static void test_private_capped(void)
{
	config_trigger_t tr = ptrig_for("p-cap");
	detect_trip_t trip = a_trip();
	static const char *const ev[] = { "trip", "capped", "sent", "mined" };
	int n0 = relaysrv_count(), h0 = hooksrv_count();
	relaysrv_rec_t r;
	tx_t tx;
	tx_sig_t sig;
	tx_access_t acc[TX_MAX_ACCESS];
	uint8_t hs[4][32] = { { 0 } };
	uint64_t mf = 0;

	reset_model();
	if (!setup_priv())
		return;
	head();                  /* the market: 2 x 1 + 1 = 3 gwei > 2 */
	CHECK_OK(tracker_trip(T, &tr, &trip));
	settle();
	CHECK(nO == 1 && O[0].result == TRACKER_CAPPED && !O[0].final);
	CHECK_EQ_INT(relaysrv_count() - n0, 1);
	if (relaysrv_count() - n0 != 1)
		goto out;
	r = relaysrv_rec(n0);
	CHECK_OK(tx_decode(r.raw, r.raw_len, &tx, &sig, acc));
	u256_to_u64(&tx.max_fee, &mf);
	CHECK_EQ_INT(mf, 2 * GWEI);        /* max_fee_gwei = 2 */
	relay_include(&r);
	mine();
	head();
	settle();
	CHECK(nO == 2 && O[1].result == TRACKER_MINED);
	CHECK_EQ_INT(C.calls[M_SEND], 0);
	for (int i = 1; i < 4; i++)
		memcpy(hs[i], r.hash, 32);
	hooks_are(h0, ev, 4, (const uint8_t (*)[32])hs, 3);
out:
	teardown_priv();
}

/* The config of the private cases: relay and webhook on this test's
 * servers. */
static bool private_setup(void)
{
	char text[4096];

	if (loop_create(NULL, &L) != KERR_OK)
		return false;
	loop_util_init();
	relaysrv_start();
	hooksrv_start();
	priv_up = true;
	snprintf(text, sizeof text,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:8545\"; rpc = [ \"http://127.0.0.1:8545\" ]; };\n"
		 "feeds = ( { name = \"f\"; url = \"wss://x.example/ws\"; price = \"p\"; stale_after_ms = 1000; } );\n"
		 "gas = ( { name = \"ptx\"; strategy = \"private\"; max_fee_gwei = 50; mode = \"private_tx\";\n"
		 "          relay = \"http://127.0.0.1:%d/\"; },\n"
		 "        { name = \"pbundle\"; strategy = \"private\"; max_fee_gwei = 50; mode = \"bundle\";\n"
		 "          relay = \"http://127.0.0.1:%d/\"; },\n"
		 "        { name = \"ppub\"; strategy = \"private\"; max_fee_gwei = 50; mode = \"private_tx\";\n"
		 "          relay = \"http://127.0.0.1:%d/\"; also_public = true; },\n"
		 "        { name = \"pcap\"; strategy = \"private\"; max_fee_gwei = 2; mode = \"private_tx\";\n"
		 "          relay = \"http://127.0.0.1:%d/\"; } );\n"
		 "actions = (\n"
		 "  { name = \"p-tx\"; to = \"" VAULT "\"; call = \"pause()\"; guard = \"paused()\";\n"
		 "    gas_limit = 60000; gas = \"ptx\"; notify = \"http://127.0.0.1:%d/hook\"; },\n"
		 "  { name = \"p-bundle\"; to = \"" VAULT "\"; call = \"pause()\"; guard = \"paused()\";\n"
		 "    gas_limit = 60000; gas = \"pbundle\"; notify = \"http://127.0.0.1:%d/hook\"; },\n"
		 "  { name = \"p-pub\"; to = \"" VAULT "\"; call = \"pause()\"; gas_limit = 60000; gas = \"ppub\"; },\n"
		 "  { name = \"p-cap\"; to = \"" VAULT "\"; call = \"pause()\"; gas_limit = 60000; gas = \"pcap\";\n"
		 "    notify = \"http://127.0.0.1:%d/hook\"; } );\n"
		 "triggers = ( { name = \"pm\"; kind = \"price_move\"; feed = \"f\"; window_ms = 1000;\n"
		 "    threshold_pct = 1; action = \"p-tx\"; } );\n",
		 RS.h.port, RS.h.port, RS.h.port, RS.h.port, HS.h.port, HS.h.port, HS.h.port);
	PCFG = load_cfg(text);
	return PCFG && relay_new(&REL, L, PCFG, SG, NULL) == KERR_OK &&
	       notify_new(&NOTI, L, NULL) == KERR_OK;
}

static void private_teardown(void)
{
	relay_free(REL);
	notify_free(NOTI);
	if (priv_up) {
		relaysrv_stop();
		hooksrv_stop();
	}
	config_free(PCFG);
	if (L)
		loop_destroy(L);
}

int main(void)
{
	uint8_t key[32];
	addr_t to[8];
	uint8_t sel[8][4];
	size_t n;

	/* The alerts these cases provoke on purpose stay out of the test's
	 * output; T_DEBUG=1 shows the tracker's every line. */
	log_setup(getenv("T_DEBUG") ? LOGL_DEBUG : LOGL_ERROR, LOGF_TEXT);
	if (!getenv("T_DEBUG"))
		log_set_fd(open("/dev/null", O_WRONLY));
	snprintf(state_path, sizeof state_path, "/tmp/keeper-test-tracker-%d.json", (int)getpid());
	CFG = load_cfg(cfg_text);
	if (!CFG || signer_new(&SG) != KERR_OK) {
		printf("FAIL setup\n0 passed, 1 failed\n");
		return 1;
	}
	hex_decode_exact(key, 32, K0, 64);
	signer_set_key(SG, key);
	signer_address(SG, &FROM);
	tracker_targets(CFG, to, sel, 8, &n);
	signer_restrict(SG, to, (const uint8_t (*)[4])sel, n);
	RUN(test_targets);
	RUN(test_guard_stops);
	RUN(test_one_in_flight);
	RUN(test_escalation);
	RUN(test_first_bid_market);
	RUN(test_nonce_too_low);
	RUN(test_dropped);
	RUN(test_refused_retry);
	RUN(test_timeout_keeps_bytes);
	RUN(test_stranded_fill);
	RUN(test_presign);
	RUN(test_resume);
	RUN(test_resume_older_bid);
	RUN(test_reorg);
	RUN(test_balance_and_dry_run);
	if (!private_setup()) {
		printf("FAIL setup of the private cases\n");
		t_failed++;
	} else {
		RUN(test_private_needs_relay);
		RUN(test_private_tx);
		RUN(test_private_bundle);
		RUN(test_private_also_public);
		RUN(test_private_capped);
	}
	private_teardown();
	unlink(state_path);
	signer_free(SG);
	config_free(CFG);
	return t_done();
}
