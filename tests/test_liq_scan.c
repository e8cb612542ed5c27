/*
 * test_liq_scan: keeper/liq_scan over keeper/rpc with a scripted transport
 * playing the node.  The fake node reads each POSTed batch (jansson),
 * answers every eth_call from a table of accounts (health factor, debt, or
 * a fault: a node error, no answer at all, short or non-bool return data),
 * and sends the answers in reverse order, so that matching by id is
 * exercised on every batch.  The tests drive heads, ticks and logs by hand
 * and deliver the POSTs when they choose, which is how a scan is caught in
 * flight.
 */
#include "keeper/liq_scan.h"

#include <inttypes.h>

#include "signer/hex.h"
#include "tests/config_util.h"
#include "tests/test.h"

/* ---- the fake node ------------------------------------------------------- */

enum fault { F_NONE = 0, F_ERROR, F_MISSING, F_SHORT, F_BOOL2 };

typedef struct {
	addr_t a;
	uint64_t health_milli;   /* health factor x 1000 */
	uint64_t debt;
	bool liquidatable;       /* for the bool view */
	enum fault fault;        /* applies to the health call */
	enum fault debt_fault;
} acct_t;

#define MAXA 64
static acct_t A[MAXA];
static size_t nA;

typedef struct {
	char *body;
	size_t len;
	rpc_net_done_fn done;
	void *arg;
	bool delivered;
} sent_t;

#define MAXQ 256
static sent_t Q[MAXQ];
static size_t nQ;
static bool next_timeout;          /* the next delivery is a timeout */
static uint8_t sel_health[4], sel_debt[4], sel_liq[4];
static uint64_t t_now = 1000;

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return t_now;
}

static kerr_t fake_send(void *ctx, size_t ep, const char *body, size_t len,
			uint32_t timeout_ms, rpc_net_done_fn done, void *arg)
{
	(void)ctx;
	(void)ep;
	(void)timeout_ms;
	if (nQ == MAXQ)
		return KERR_NOMEM;
	Q[nQ].body = malloc(len + 1);
	memcpy(Q[nQ].body, body, len);
	Q[nQ].body[len] = 0;
	Q[nQ].len = len;
	Q[nQ].done = done;
	Q[nQ].arg = arg;
	Q[nQ].delivered = false;
	nQ++;
	return KERR_OK;
}

static void q_reset(void)
{
	for (size_t i = 0; i < nQ; i++)
		free(Q[i].body);
	nQ = 0;
	nA = 0;
	next_timeout = false;
}

static acct_t *find_acct(const addr_t *a)
{
	for (size_t i = 0; i < nA; i++)
		if (addr_eq(&A[i].a, a))
			return &A[i];
	return NULL;
}

static void put_hex_word(char *out, uint64_t hi_zero_lo)
{
	snprintf(out, 67, "0x%064" PRIx64, hi_zero_lo);
}

/* The answer element to one eth_call, or NULL (no answer). */
static json_t *answer_call(json_t *req)
{
	json_t *id = json_object_get(req, "id");
	json_t *p0 = json_array_get(json_object_get(req, "params"), 0);
	const char *data = json_string_value(json_object_get(p0, "data"));
	uint8_t cd[36];
	addr_t a;
	acct_t *x;
	enum fault f;
	char word[80];
	uint64_t v;

	if (!data || hex_decode_exact(cd, 36, data, strlen(data)) != KERR_OK)
		return json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id", id,
				 "error", "code", -32602, "message", "bad calldata");
	memcpy(a.b, cd + 16, 20);
	x = find_acct(&a);
	if (!x)
		return json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id", id,
				 "error", "code", -32000, "message", "unknown account");
	f = memcmp(cd, sel_debt, 4) == 0 ? x->debt_fault : x->fault;
	if (memcmp(cd, sel_debt, 4) == 0)
		v = x->debt;
	else if (memcmp(cd, sel_liq, 4) == 0)
		v = f == F_BOOL2 ? 2 : x->liquidatable;
	else
		v = x->health_milli * 1000000000000000ULL;
	switch (f) {
	case F_ERROR:
		return json_pack("{s:s,s:O,s:{s:i,s:s,s:s}}", "jsonrpc", "2.0", "id", id,
				 "error", "code", 3, "message", "execution reverted",
				 "data", "0x");
	case F_MISSING:
		return NULL;
	case F_SHORT:
		return json_pack("{s:s,s:O,s:s}", "jsonrpc", "2.0", "id", id, "result",
				 "0x0000000000000000000000000000000000000000000000000000000000");
	default:
		put_hex_word(word, v);
		return json_pack("{s:s,s:O,s:s}", "jsonrpc", "2.0", "id", id, "result", word);
	}
}

/* Log answers of eth_getLogs, set by the test; @ID is the request's id. */
static const char *logs_reply;

/* Answer request i from the table.  Calls in a batch answer in reverse. */
static void deliver(size_t i)
{
	sent_t *s = &Q[i];
	rpc_net_result_t r = { 0 };
	json_error_t je;
	json_t *req, *out;
	char *text = NULL;

	s->delivered = true;
	if (next_timeout) {
		next_timeout = false;
		r.net = RPC_NET_TIMEOUT;
		s->done(s->arg, &r);
		return;
	}
	req = json_loadb(s->body, s->len, 0, &je);
	if (json_is_array(req)) {
		out = json_array();
		for (size_t k = json_array_size(req); k-- > 0;) {
			json_t *e = answer_call(json_array_get(req, k));
			if (e)
				json_array_append_new(out, e);
		}
		text = json_dumps(out, JSON_COMPACT);
		json_decref(out);
	} else {
		/* eth_getLogs */
		json_int_t id = json_integer_value(json_object_get(req, "id"));
		size_t n = strlen(logs_reply) + 64;
		text = malloc(n);
		snprintf(text, n, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":%s}",
			 (long long)id, logs_reply);
	}
	json_decref(req);
	r.net = RPC_NET_OK;
	r.http_status = 200;
	r.body = text;
	r.len = strlen(text);
	s->done(s->arg, &r);
	free(text);
}

/* Deliver every request sent so far (and those sent meanwhile). */
static size_t deliver_all(void)
{
	size_t n = 0;

	for (size_t i = 0; i < nQ; i++) {
		if (!Q[i].delivered) {
			deliver(i);
			n++;
		}
	}
	return n;
}

/* Calls in request i's body. */
static size_t calls_in(size_t i)
{
	json_error_t je;
	json_t *j = json_loadb(Q[i].body, Q[i].len, 0, &je);
	size_t n = json_is_array(j) ? json_array_size(j) : 1;

	json_decref(j);
	return n;
}

/* ---- set-up ---------------------------------------------------------- */

#define POOL "0x5FbDB2315678afecb367f032d93F642f64180aa3"
#define DEBTT "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"

static config_keeper_t *CFG;
static rpc_client_t *RPC;
static liq_scan_t *S;
static detect_trip_t TR[MAXA];
static size_t nTR;

static void on_trip(void *arg, const detect_trip_t *t)
{
	(void)arg;
	if (nTR < MAXA)
		TR[nTR++] = *t;
}

static addr_t mkaddr(unsigned k)
{
	addr_t a;

	memset(&a, 0, sizeof a);
	a.b[0] = 0x10;
	a.b[1] = (uint8_t)(k * 29 + 3);
	a.b[19] = (uint8_t)k;
	return a;
}

static void add_acct(unsigned k, uint64_t health_milli, uint64_t debt)
{
	A[nA++] = (acct_t){ .a = mkaddr(k), .health_milli = health_milli,
			    .debt = debt, .liquidatable = health_milli < 1000 };
}

static const char *addr_text(const addr_t *a)
{
	static char t[4][ADDR_TEXT_LEN];
	static int k;
	char *p = t[k++ % 4];

	addr_to_checksum(a, p);
	return p;
}

/*
 * The config: a liquidation trigger (view per `view`, accounts 0..nconf-1
 * of the table listed, discovery of Borrow(address,uint256) topic 1, feed
 * "eth"), and a scanner over a fresh client with the given options.
 */
static bool setup(const char *view, unsigned nconf, const liq_scan_opts_t *o,
		  size_t max_request)
{
	char text[16384], list[8192] = "";
	size_t n = 0;
	rpc_transport_t tr = { NULL, fake_send };
	abi_sig_t sig;

	for (unsigned k = 0; k < nconf; k++)
		n += (size_t)snprintf(list + n, sizeof list - n, "%s\"%s\"", k ? ", " : "",
				      addr_text(&A[k].a));
	snprintf(text, sizeof text,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:1\"; rpc = [ \"http://127.0.0.1:1\" ]; };\n"
		 "feeds = ( { name = \"eth\"; url = \"ws://127.0.0.1:2\"; preset = \"trade\"; stale_after_ms = 5000; },\n"
		 "          { name = \"btc\"; url = \"ws://127.0.0.1:3\"; preset = \"trade\"; stale_after_ms = 5000; } );\n"
		 "actions = ( { name = \"liq\"; to = \"" POOL "\"; call = \"liquidate(address,uint256)\";\n"
		 "  args = [ \"$account\", \"$amount\" ]; gas_limit = 300000; gas = \"g\"; } );\n"
		 "gas = ( { name = \"g\"; strategy = \"fixed\"; max_fee_gwei = 50; priority_fee_gwei = 2; } );\n"
		 "triggers = ( { name = \"book\"; kind = \"liquidation\"; pool = \"" POOL "\";\n"
		 "  %s = \"%s(address)\"; debt = \"debtOf(address)\"; debt_to = \"" DEBTT "\";\n"
		 "  %s%s%s discover = \"Borrow(address,uint256)\"; feed = \"eth\";\n"
		 "  cooldown_ms = 0; action = \"liq\"; } );\n",
		 view, view, nconf ? "accounts = [ " : "", list, nconf ? " ];" : "");
	CFG = load_cfg(text);
	CHECK(CFG != NULL);
	if (!CFG)
		return false;
	abi_sig_parse(&sig, "healthFactor(address)", 21);
	memcpy(sel_health, sig.selector, 4);
	abi_sig_parse(&sig, "debtOf(address)", 15);
	memcpy(sel_debt, sig.selector, 4);
	abi_sig_parse(&sig, "liquidatable(address)", 21);
	memcpy(sel_liq, sig.selector, 4);
	CHECK_OK(rpc_new(&RPC, 1, &tr, fake_clock, NULL,
			 &(rpc_opts_t){ .max_request = max_request }));
	if (!RPC)
		return false;
	CHECK_OK(liq_scan_new(&S, CFG, &CFG->triggers[0], RPC, on_trip, NULL, o));
	nTR = 0;
	return S != NULL;
}

static void teardown(void)
{
	liq_scan_free(S);
	rpc_free(RPC);
	config_free(CFG);
	S = NULL;
	RPC = NULL;
	CFG = NULL;
	q_reset();
}

static void head(uint64_t ts)
{
	event_head_t h = { .number = ts, .timestamp = ts };
	liq_scan_head(S, &h);
}

static liq_scan_stats_t stats(void)
{
	liq_scan_stats_t st;
	liq_scan_stats(S, &st);
	return st;
}

static void check_dec(const u256_t *v, const char *want)
{
	char dec[U256_DEC_MAX];

	u256_to_dec(v, dec, sizeof dec);
	CHECK_EQ_STR(dec, want);
}

/* ---- tests -------------------------------------------------------------- */

/* Seven accounts, batches of 3, 2 in flight: health in 3 + 3 then 1, debt
 * of the three liquidatable ones in one batch; trips by debt. */
static void test_batching(void)
{
	liq_scan_stats_t st;

	q_reset();
	add_acct(0, 1500, 100);
	add_acct(1, 900, 300);
	add_acct(2, 2000, 50);
	add_acct(3, 999, 1000);
	add_acct(4, 1000, 700);   /* exactly 1.0: healthy */
	add_acct(5, 500, 201);
	add_acct(6, 3000, 0);
	if (!setup("health", 7, &(liq_scan_opts_t){ .batch = 3, .parallel = 2 }, 0))
		goto out;
	head(1700000000);
	CHECK_EQ_INT(nQ, 2);
	CHECK_EQ_INT(calls_in(0), 3);
	CHECK_EQ_INT(calls_in(1), 3);
	CHECK(stats().scanning);
	deliver(0);
	CHECK_EQ_INT(nQ, 3);          /* the window moved on */
	CHECK_EQ_INT(calls_in(2), 1);
	deliver(1);
	deliver(2);
	CHECK_EQ_INT(nQ, 4);          /* the debt batch */
	CHECK_EQ_INT(calls_in(3), 3);
	CHECK(strstr(Q[3].body, "\"to\":\"0xe7f1725e7734ce288f8367e1bb143e90bb3f0512\"") != NULL);
	CHECK(strstr(Q[0].body, "\"to\":\"0x5fbdb2315678afecb367f032d93f642f64180aa3\"") != NULL);
	CHECK_EQ_INT(nTR, 0);
	deliver(3);
	CHECK_EQ_INT(nTR, 3);
	if (nTR == 3) {
		addr_t want[3] = { A[3].a, A[1].a, A[5].a };
		const char *amt[3] = { "500", "150", "100" };
		for (int i = 0; i < 3; i++) {
			CHECK(addr_eq(&TR[i].account, &want[i]));
			check_dec(&TR[i].amount, amt[i]);
			CHECK_EQ_INT(TR[i].time_ms, 1700000000000LL);
			CHECK_EQ_STR(TR[i].trigger, "book");
		}
		CHECK(TR[0].value > 0.9989 && TR[0].value < 0.9991);
		CHECK(TR[2].value == 0.5);
	}
	st = stats();
	CHECK(!st.scanning);
	CHECK_EQ_INT(st.scans, 1);
	CHECK_EQ_INT(st.batches, 4);
	CHECK_EQ_INT(st.calls, 10);
	CHECK_EQ_INT(st.call_errors, 0);
	CHECK_EQ_INT(st.trips, 3);
	/* the next head: all three in flight, nothing trips */
	head(1700000012);
	deliver_all();
	CHECK_EQ_INT(nTR, 3);
	CHECK_EQ_INT(stats().scans, 2);
	/* one resolved and still liquidatable: it alone trips again */
	CHECK_OK(liq_scan_resolved(S, &A[1].a, LIQ_MINED));
	A[1].debt = 150;
	head(1700000024);
	deliver_all();
	CHECK_EQ_INT(nTR, 4);
	if (nTR == 4) {
		CHECK(addr_eq(&TR[3].account, &A[1].a));
		check_dec(&TR[3].amount, "75");
	}
out:
	teardown();
}

/* Faults hit their account only: errors, missing answers and data the
 * view cannot mean are counted and the account is left alone; a batch lost
 * to the transport costs its calls. */
static void test_partial_failures(void)
{
	liq_scan_stats_t st;

	q_reset();
	add_acct(0, 500, 100);
	A[0].fault = F_ERROR;
	add_acct(1, 500, 200);
	A[1].fault = F_MISSING;
	add_acct(2, 500, 300);
	A[2].fault = F_SHORT;
	add_acct(3, 500, 400);
	A[3].debt_fault = F_ERROR;    /* liquidatable, but its debt fails */
	add_acct(4, 500, 500);
	A[4].debt_fault = F_SHORT;
	add_acct(5, 500, 600);
	if (!setup("health", 6, &(liq_scan_opts_t){ .batch = 10 }, 0))
		goto out;
	head(10);
	deliver_all();
	CHECK_EQ_INT(nTR, 1);
	if (nTR)
		CHECK(addr_eq(&TR[0].account, &A[5].a));
	st = stats();
	CHECK_EQ_INT(st.call_errors, 3);   /* 0 (node error), 1 (missing), 3 (debt) */
	CHECK_EQ_INT(st.malformed, 2);     /* 2 (short health), 4 (short debt) */
	CHECK_EQ_INT(st.batches, 2);
	CHECK_EQ_INT(st.calls, 6 + 3);
	/* healed: they trip on the next scan */
	for (size_t i = 0; i < 5; i++)
		A[i].fault = A[i].debt_fault = F_NONE;
	head(11);
	deliver_all();
	CHECK_EQ_INT(nTR, 6);
	/* a batch lost to a timeout: its calls are errors, nothing changes */
	CHECK_OK(liq_scan_resolved(S, &A[5].a, LIQ_DROPPED));
	next_timeout = true;
	head(12);
	deliver_all();
	st = stats();
	CHECK_EQ_INT(st.scans, 3);
	CHECK_EQ_INT(st.call_errors, 3 + 6);
	CHECK_EQ_INT(nTR, 6);
out:
	teardown();
}

/* The bool view: 1 liquidatable, 0 not, 2 malformed. */
static void test_bool_view(void)
{
	q_reset();
	add_acct(0, 500, 100);
	add_acct(1, 1500, 100);
	add_acct(2, 500, 100);
	A[2].fault = F_BOOL2;
	if (!setup("liquidatable", 3, NULL, 0))
		goto out;
	head(1);
	deliver_all();
	CHECK_EQ_INT(nTR, 1);
	if (nTR) {
		CHECK(addr_eq(&TR[0].account, &A[0].a));
		CHECK(TR[0].value == 0);
		check_dec(&TR[0].amount, "50");
	}
	CHECK_EQ_INT(stats().malformed, 1);
	CHECK(strstr(Q[0].body, "\"data\":\"0x") != NULL);
out:
	teardown();
}

/* Requests during a scan make exactly one more scan, with the time of the
 * latest; ticks of another feed are not requests. */
static void test_coalescing(void)
{
	liq_scan_stats_t st;
	event_price_t tick = { .feed = 0, .price = 1800, .time_ms = 5, .recv_ms = 777000 };
	event_price_t other = { .feed = 1, .price = 60000, .time_ms = 5, .recv_ms = 778000 };
	event_t ev;

	q_reset();
	add_acct(0, 500, 100);
	if (!setup("health", 1, NULL, 0))
		goto out;
	head(100);
	CHECK_EQ_INT(nQ, 1);
	head(101);
	head(102);
	liq_scan_tick(S, &other);
	ev.kind = EV_PRICE;
	ev.price = tick;
	liq_scan_event(S, &ev);
	CHECK_EQ_INT(nQ, 1);          /* nothing new while the scan runs */
	st = stats();
	CHECK_EQ_INT(st.requests, 4);
	CHECK_EQ_INT(st.coalesced, 3);
	deliver(0);                   /* health -> debt */
	CHECK_EQ_INT(nQ, 2);
	deliver(1);                   /* the scan ends, the next one starts */
	CHECK_EQ_INT(nTR, 1);
	CHECK_EQ_INT(stats().scans, 1);
	CHECK_EQ_INT(nQ, 3);
	CHECK(stats().scanning);
	CHECK_OK(liq_scan_resolved(S, &A[0].a, LIQ_FAILED));
	deliver_all();
	CHECK_EQ_INT(stats().scans, 2);
	CHECK_EQ_INT(nTR, 2);
	if (nTR == 2)
		CHECK_EQ_INT(TR[1].time_ms, 777000);   /* the tick's */
	CHECK_EQ_INT(nQ, 4);          /* and no third scan */
	CHECK(!stats().scanning);
	/* a tick alone starts a scan */
	liq_scan_tick(S, &tick);
	CHECK_EQ_INT(nQ, 5);
	deliver_all();
	CHECK_EQ_INT(stats().scans, 3);
out:
	teardown();
}

/* Borrow logs of the pool add their topic-1 account; others are counted. */
static void test_discovery(void)
{
	liq_scan_stats_t st;
	event_log_t l;
	event_t ev;
	const config_trigger_t *t;

	q_reset();
	add_acct(0, 500, 100);
	add_acct(1, 800, 400);        /* discovered only */
	add_acct(2, 900, 900);        /* discovered only */
	if (!setup("health", 1, NULL, 0))
		goto out;
	t = &CFG->triggers[0];
	memset(&l, 0, sizeof l);
	l.address = t->pool;
	l.ntopics = 2;
	memcpy(l.topics[0], t->discover.topic0, 32);
	memcpy(l.topics[1] + 12, A[1].a.b, 20);
	l.data = (event_hex_t){ "0x", 2 };
	ev.kind = EV_LOG;
	ev.log = l;
	liq_scan_event(S, &ev);
	liq_scan_log(S, &l);          /* again: known */
	memcpy(l.topics[1] + 12, A[2].a.b, 20);
	l.removed = true;
	liq_scan_log(S, &l);          /* removed: ignored */
	l.removed = false;
	l.address = t->debt_to;       /* another contract */
	liq_scan_log(S, &l);
	l.address = t->pool;
	l.topics[0][0] ^= 1;          /* another event */
	liq_scan_log(S, &l);
	l.topics[0][0] ^= 1;
	l.topics[1][0] = 1;           /* not an address */
	liq_scan_log(S, &l);
	l.topics[1][0] = 0;
	l.ntopics = 1;                /* no topic 1 */
	liq_scan_log(S, &l);
	l.ntopics = 2;
	memset(l.topics[1], 0, 32);   /* the zero address */
	liq_scan_log(S, &l);
	memcpy(l.topics[1] + 12, A[2].a.b, 20);
	liq_scan_log(S, &l);
	st = stats();
	CHECK_EQ_INT(st.logs, 9);
	CHECK_EQ_INT(st.discovered, 2);
	CHECK_EQ_INT(st.logs_removed, 1);
	CHECK_EQ_INT(st.logs_ignored, 2);
	CHECK_EQ_INT(st.logs_bad, 3);
	CHECK_EQ_INT(liq_count(liq_scan_book(S)), 3);
	head(5);
	deliver_all();
	CHECK_EQ_INT(nTR, 3);
	if (nTR == 3) {
		CHECK(addr_eq(&TR[0].account, &A[2].a));
		CHECK(addr_eq(&TR[1].account, &A[1].a));
		CHECK(addr_eq(&TR[2].account, &A[0].a));
	}
out:
	teardown();
}

/* eth_getLogs over ranges of logs_range blocks, one at a time. */
static void test_catch_up(void)
{
	static char logs[4096];
	const config_trigger_t *t;
	char topic0[67], pool[43], who[2][67];
	liq_scan_stats_t st;

	q_reset();
	add_acct(0, 500, 100);
	add_acct(1, 700, 100);
	if (!setup("health", 0, &(liq_scan_opts_t){ .logs_range = 2000 }, 0))
		goto out;
	t = &CFG->triggers[0];
	CHECK_ERR(liq_scan_catch_up(S, 10, 9), KERR_ARG);
	memcpy(topic0, "0x", 2);
	hex_encode(topic0 + 2, t->discover.topic0, 32);
	memcpy(pool, "0x", 2);
	hex_encode(pool + 2, t->pool.b, 20);
	for (int k = 0; k < 2; k++) {
		uint8_t w[32] = { 0 };
		memcpy(w + 12, A[k].a.b, 20);
		memcpy(who[k], "0x", 2);
		hex_encode(who[k] + 2, w, 32);
	}
	snprintf(logs, sizeof logs,
		 "[{\"address\":\"%s\",\"topics\":[\"%s\",\"%s\"],\"data\":\"0x01\","
		 "\"blockNumber\":\"0x10\",\"logIndex\":\"0x0\",\"transactionHash\":"
		 "\"0x%064x\",\"removed\":false},"
		 "{\"address\":\"%s\",\"topics\":[\"%s\",\"%s\"],\"data\":\"0x01\","
		 "\"blockNumber\":\"0x11\",\"logIndex\":\"0x1\",\"transactionHash\":"
		 "\"0x%064x\",\"removed\":false},"
		 "{\"address\":\"%s\",\"topics\":[\"%s\"],\"data\":\"0x01\"}]",
		 pool, topic0, who[0], 1, pool, topic0, who[1], 2, pool, topic0);
	logs_reply = logs;
	CHECK_OK(liq_scan_catch_up(S, 0, 4500));
	CHECK_ERR(liq_scan_catch_up(S, 0, 1), KERR_RPC_BUSY);
	CHECK_EQ_INT(nQ, 1);
	CHECK(strstr(Q[0].body, "\"fromBlock\":\"0x0\",\"toBlock\":\"0x7cf\"") != NULL);
	CHECK(strstr(Q[0].body, topic0) != NULL);
	deliver(0);
	CHECK_EQ_INT(nQ, 2);
	CHECK(strstr(Q[1].body, "\"fromBlock\":\"0x7d0\",\"toBlock\":\"0xf9f\"") != NULL);
	CHECK(stats().catching_up);
	deliver(1);
	CHECK(strstr(Q[2].body, "\"fromBlock\":\"0xfa0\",\"toBlock\":\"0x1194\"") != NULL);
	deliver(2);
	CHECK_EQ_INT(nQ, 3);
	st = stats();
	CHECK(!st.catching_up);
	CHECK_EQ_INT(st.catchup_calls, 3);
	CHECK_EQ_INT(st.discovered, 2);
	CHECK_EQ_INT(st.logs_bad, 3);     /* the topic-less log, each time */
	CHECK_EQ_INT(liq_count(liq_scan_book(S)), 2);
	/* one block */
	CHECK_OK(liq_scan_catch_up(S, 7, 7));
	CHECK(strstr(Q[3].body, "\"fromBlock\":\"0x7\",\"toBlock\":\"0x7\"") != NULL);
	logs_reply = "{\"not\":\"an array\"}";
	deliver(3);
	CHECK_EQ_INT(stats().catchup_errors, 1);
	CHECK(!stats().catching_up);
out:
	teardown();
}

/* A batch too large for rpc's request buffer is split, not lost. */
static void test_split(void)
{
	liq_scan_stats_t st;

	q_reset();
	for (unsigned k = 0; k < 20; k++)
		add_acct(k, k % 2 ? 500 : 1500, 100 + k);
	if (!setup("health", 20, &(liq_scan_opts_t){ .batch = 20, .parallel = 1 }, 2048))
		goto out;
	head(1);
	deliver_all();
	st = stats();
	CHECK(st.splits >= 1);
	CHECK_EQ_INT(st.submit_errors, 0);
	CHECK_EQ_INT(st.calls, 30);
	CHECK_EQ_INT(st.scans, 1);
	CHECK_EQ_INT(nTR, 10);
	for (size_t i = 0; i < nQ; i++)
		CHECK(Q[i].len <= 2048);
out:
	teardown();
}

/* An empty book scans at once; bad arguments are refused. */
static void test_empty_and_args(void)
{
	liq_scan_t *s2 = NULL;

	q_reset();
	if (!setup("health", 0, NULL, 0))
		goto out;
	head(1);
	CHECK_EQ_INT(nQ, 0);
	CHECK_EQ_INT(stats().scans, 1);
	CHECK(!stats().scanning);
	CHECK_ERR(liq_scan_new(&s2, CFG, &CFG->triggers[0], RPC, NULL, NULL, NULL), KERR_ARG);
	CHECK_ERR(liq_scan_new(&s2, CFG, &CFG->triggers[0], RPC, on_trip, NULL,
			       &(liq_scan_opts_t){ .batch = RPC_BATCH_MAX + 1 }), KERR_ARG);
	CHECK_ERR(liq_scan_new(&s2, CFG, &CFG->triggers[0], RPC, on_trip, NULL,
			       &(liq_scan_opts_t){ .parallel = LIQ_SCAN_PARALLEL_MAX + 1 }), KERR_ARG);
	CHECK(s2 == NULL);
out:
	teardown();
}

int main(void)
{
	RUN(test_batching);
	RUN(test_partial_failures);
	RUN(test_bool_view);
	RUN(test_coalescing);
	RUN(test_discovery);
	RUN(test_catch_up);
	RUN(test_split);
	RUN(test_empty_and_args);
	return t_done();
}
