/*
 * test_det_mempool: the `mempool` trigger's matching and judging, on
 * triggers loaded from config text (tests/config_util.h) and on simulation
 * results written out by hand, so that each rule of det_mempool.h is
 * checked at its edge: a loss exactly at threshold_pct of the balance
 * trips and one wei less does not.
 */
#include "keeper/det_mempool.h"

#include "tests/config_util.h"
#include "tests/test.h"

#define VAULT "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"
#define TOK "0x5fbdb2315678afecb367f032d93f642f64180aa3"
#define TOK2 "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"
#define ATT "0x90f79bf6eb2c4f870365e785982e1f101e93b906"
#define FRIEND "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"

static config_keeper_t *CFG;

static const config_trigger_t *trig(const char *name)
{
	for (size_t i = 0; CFG && i < CFG->ntriggers; i++)
		if (strcmp(CFG->triggers[i].name, name) == 0)
			return &CFG->triggers[i];
	CHECK_MSG(0, "no trigger %s", name);
	return NULL;
}

static addr_t A(const char *s)
{
	addr_t a;

	addr_parse(&a, s, strlen(s));
	return a;
}

static event_tx_t tx(const char *from, const char *input, uint8_t hb)
{
	event_tx_t t;

	memset(&t, 0, sizeof t);
	t.full = true;
	memset(t.hash, hb, 32);
	t.from = A(from);
	t.has_to = true;
	t.to = A(VAULT);
	t.gas = 200000;
	t.type = 2;
	t.input = (event_hex_t){ input, strlen(input) };
	return t;
}

static void test_init(void)
{
	det_mempool_t d;
	config_trigger_t bad;

	CHECK_OK(det_mempool_init(&d, trig("sel")));
	CHECK_ERR(det_mempool_init(&d, trig("pm")), KERR_ARG);
	if (!trig("sel"))
		return;
	bad = *trig("sel");
	bad.watch = NULL;
	CHECK_ERR(det_mempool_init(&d, &bad), KERR_ARG);
	bad = *trig("sel");
	bad.threshold_pct = 0;
	CHECK_ERR(det_mempool_init(&d, &bad), KERR_ARG);
	bad.threshold_pct = 100.5;
	CHECK_ERR(det_mempool_init(&d, &bad), KERR_ARG);
}

static void test_match(void)
{
	det_mempool_t d, any;
	event_tx_t t;
	const det_mempool_stats_t *st;

	if (det_mempool_init(&d, trig("sel")) || det_mempool_init(&any, trig("any")))
		return;
	/* emergencyWithdraw(address,address) is listed */
	t = tx(ATT, "0x6382d9ad0000", 1);
	CHECK(det_mempool_match(&d, &t));
	CHECK(det_mempool_match(&any, &t));
	/* deposit() is not */
	t = tx(ATT, "0xd0e30db0", 2);
	CHECK(!det_mempool_match(&d, &t));
	CHECK(det_mempool_match(&any, &t));
	/* short calldata: only without selectors */
	t = tx(ATT, "0x", 3);
	CHECK(!det_mempool_match(&d, &t));
	CHECK(det_mempool_match(&any, &t));
	t = tx(ATT, "0x6382d9", 3);
	CHECK(!det_mempool_match(&d, &t));
	CHECK(det_mempool_match(&any, &t));
	/* calldata that is not hex */
	t = tx(ATT, "0x6382d9zz", 4);
	CHECK(!det_mempool_match(&d, &t));
	/* an allowed sender, even with a listed selector */
	t = tx(FRIEND, "0x6382d9ad", 5);
	CHECK(!det_mempool_match(&d, &t));
	CHECK(det_mempool_match(&any, &t));
	/* another contract */
	t = tx(ATT, "0x6382d9ad", 6);
	t.to = A(TOK);
	CHECK(!det_mempool_match(&d, &t));
	/* a creation, even one whose init code starts with the selector */
	t = tx(ATT, "0x6382d9ad", 7);
	t.has_to = false;
	memset(&t.to, 0, sizeof t.to);
	CHECK(!det_mempool_match(&d, &t));
	CHECK(!det_mempool_match(&any, &t));
	/* hash only */
	memset(&t, 0, sizeof t);
	memset(t.hash, 8, 32);
	CHECK(!det_mempool_match(&d, &t));
	CHECK(!det_mempool_match(&any, &t));
	st = det_mempool_stats(&d);
	CHECK_EQ_INT(st->seen, 9);
	CHECK_EQ_INT(st->matched, 1);
	CHECK_EQ_INT(st->selector_miss, 3);
	CHECK_EQ_INT(st->bad_input, 1);
	CHECK_EQ_INT(st->allowed, 1);
	CHECK_EQ_INT(st->other_to, 1);
	CHECK_EQ_INT(st->creations, 1);
	CHECK_EQ_INT(st->hash_only, 1);
	CHECK_EQ_INT(det_mempool_stats(&any)->matched, 5);
}

/* A result for t on the trigger's watch: ETH, then its tokens, each
 * (before, after) in wei as decimal text; NULL before: unread. */
static sim_result_t result(const det_mempool_t *d, const event_tx_t *t,
			   const char *const *before, const char *const *after)
{
	sim_result_t r;

	memset(&r, 0, sizeof r);
	r.watch = d->cfg->watch;
	r.nassets = 1 + r.watch->ntokens;
	r.method = SIM_VIA_SIMULATE;
	memcpy(r.hash, t->hash, 32);
	for (size_t i = 0; i < r.nassets; i++) {
		sim_asset_t *a = &r.asset[i];
		if (i)
			a->token = r.watch->tokens[i - 1];
		if (!before[i])
			continue;
		a->known = a->has_balance = true;
		u256_from_dec(&a->before, before[i], strlen(before[i]));
		u256_from_dec(&a->after, after[i], strlen(after[i]));
		if (u256_cmp(&a->before, &a->after) > 0)
			u256_sub(&a->loss, &a->before, &a->after);
	}
	return r;
}

static bool u_eq(const u256_t *a, uint64_t v)
{
	u256_t b;

	u256_from_u64(&b, v);
	return u256_cmp(a, &b) == 0;
}

static void test_judge_threshold(void)
{
	det_mempool_t d;
	detect_trip_t trip;
	event_tx_t t = tx(ATT, "0x6382d9ad", 1);
	sim_result_t r;

	/* threshold 2.5 %: of 1000, 25 trips and 24 does not; of 1001,
	 * ceil(25.025) = 26 */
	if (det_mempool_init(&d, trig("sel")))
		return;
	r = result(&d, &t, (const char *[]){ "1000", "0", "0" }, (const char *[]){ "976", "0", "0" });
	CHECK(!det_mempool_judge(&d, &t, &r, 1000, &trip));
	r = result(&d, &t, (const char *[]){ "1000", "0", "0" }, (const char *[]){ "975", "0", "0" });
	CHECK(det_mempool_judge(&d, &t, &r, 2000, &trip));
	CHECK(trip.value == 2.5);
	CHECK(trip.threshold == 2.5);
	CHECK_EQ_INT(trip.unit, DETECT_UNIT_PCT);
	CHECK(trip.has_amount && u_eq(&trip.amount, 25));
	CHECK(trip.has_token);
	{
		addr_t zero;
		memset(&zero, 0, sizeof zero);
		CHECK(addr_eq(&trip.token, &zero));
	}
	r = result(&d, &t, (const char *[]){ "1001", "0", "0" }, (const char *[]){ "976", "0", "0" });
	CHECK(!det_mempool_judge(&d, &t, &r, 3000, &trip));
	r = result(&d, &t, (const char *[]){ "1001", "0", "0" }, (const char *[]){ "975", "0", "0" });
	CHECK(det_mempool_judge(&d, &t, &r, 4000, &trip));
	/* a balance that grew, or was empty, loses nothing */
	r = result(&d, &t, (const char *[]){ "1000", "0", "0" }, (const char *[]){ "5000", "0", "0" });
	CHECK(!det_mempool_judge(&d, &t, &r, 5000, &trip));
	CHECK_EQ_INT(det_mempool_stats(&d)->tripped, 2);
	CHECK_EQ_INT(det_mempool_stats(&d)->below, 3);
}

static void test_judge_assets(void)
{
	det_mempool_t d;
	detect_trip_t trip;
	event_tx_t t = tx(ATT, "0x6382d9ad", 2);
	sim_result_t r;
	const det_mempool_stats_t *st;

	if (det_mempool_init(&d, trig("sel")))
		return;
	/* ETH 1 % (below), token 1 40 %, token 2 60 %: the worst is reported */
	r = result(&d, &t, (const char *[]){ "1000", "1000", "500" },
		   (const char *[]){ "990", "600", "200" });
	CHECK(det_mempool_judge(&d, &t, &r, 1000, &trip));
	CHECK(trip.value == 60.0);
	CHECK(u_eq(&trip.amount, 300));
	CHECK(addr_eq(&trip.token, &d.cfg->watch->tokens[1]));
	/* a token alone, ETH untouched */
	r = result(&d, &t, (const char *[]){ "1000", "1000000000000000000000", "1" },
		   (const char *[]){ "1000", "0", "1" });
	CHECK(det_mempool_judge(&d, &t, &r, 2000, &trip));
	CHECK_MSG(trip.value == 100.0, "value %.17g", trip.value);
	CHECK(addr_eq(&trip.token, &d.cfg->watch->tokens[0]));
	/* reverted: whatever the balances say, no loss */
	r = result(&d, &t, (const char *[]){ "1000", "1000", "1000" },
		   (const char *[]){ "0", "0", "0" });
	r.reverted = true;
	CHECK(!det_mempool_judge(&d, &t, &r, 3000, &trip));
	/* an unread asset is not judged; the others are */
	r = result(&d, &t, (const char *[]){ "1000", NULL, "1000" },
		   (const char *[]){ "1000", NULL, "0" });
	CHECK(det_mempool_judge(&d, &t, &r, 4000, &trip));
	CHECK(addr_eq(&trip.token, &d.cfg->watch->tokens[1]));
	/* a failed simulation is not evaluated, nor is another tx's result */
	r.err = KERR_RPC_TIMEOUT;
	CHECK(!det_mempool_judge(&d, &t, &r, 5000, &trip));
	r.err = KERR_OK;
	r.hash[0] ^= 1;
	CHECK(!det_mempool_judge(&d, &t, &r, 5000, &trip));
	st = det_mempool_stats(&d);
	CHECK_EQ_INT(st->reverted, 1);
	CHECK_EQ_INT(st->unknown, 1);
	CHECK_EQ_INT(st->sim_failed, 2);
	CHECK_EQ_INT(st->judged, 4);
	CHECK_EQ_INT(st->tripped, 3);
}

static void test_confirm_cooldown(void)
{
	det_mempool_t d, c;
	detect_trip_t trip;
	event_tx_t t = tx(ATT, "0x6382d9ad", 3);
	sim_result_t big, small;

	/* cooldown 1000 ms */
	if (det_mempool_init(&d, trig("sel")) || det_mempool_init(&c, trig("twice")))
		return;
	big = result(&d, &t, (const char *[]){ "100", "0", "0" }, (const char *[]){ "0", "0", "0" });
	small = result(&d, &t, (const char *[]){ "100", "0", "0" }, (const char *[]){ "99", "0", "0" });
	CHECK(det_mempool_judge(&d, &t, &big, 10000, &trip));
	CHECK(!det_mempool_judge(&d, &t, &big, 10500, &trip));
	CHECK_EQ_INT(d.tr.suppressed, 1);
	CHECK(det_mempool_judge(&d, &t, &big, 11000, &trip));
	/* confirm_ticks 2: two suspicious results in a row */
	CHECK(!det_mempool_judge(&c, &t, &big, 1000, &trip));
	CHECK(det_mempool_judge(&c, &t, &big, 1001, &trip));
	/* a harmless one ends the run */
	CHECK(!det_mempool_judge(&c, &t, &small, 100000, &trip));
	CHECK(!det_mempool_judge(&c, &t, &big, 100001, &trip));
	CHECK(det_mempool_judge(&c, &t, &big, 100002, &trip));
	CHECK_EQ_STR(trip.trigger, "twice");
	CHECK_EQ_INT(trip.kind, CONFIG_TRIGGER_MEMPOOL);
	CHECK_EQ_INT(trip.time_ms, 100002);
}

static void test_trip_carries_tx(void)
{
	det_mempool_t d;
	detect_trip_t trip;
	event_tx_t t0 = tx(ATT, "0x6382d9ad", 0x41), t2 = tx(ATT, "0x6382d9ad", 0x42);
	sim_result_t r;

	if (det_mempool_init(&d, trig("nosim")))
		return;
	/* type 0: one bid, normalised into every fee field */
	t0.type = 0;
	t0.has_gas_price = true;
	u256_from_u64(&t0.gas_price, 30000000000ull);
	t0.max_fee = t0.max_priority_fee = t0.gas_price;
	CHECK(det_mempool_match(&d, &t0));
	CHECK(det_mempool_judge(&d, &t0, NULL, 1000, &trip));
	CHECK(trip.has_tx);
	CHECK_EQ_MEM(trip.tx_hash, t0.hash, 32);
	CHECK(addr_eq(&trip.tx_from, &t0.from));
	CHECK_EQ_INT(trip.tx_type, 0);
	CHECK(u_eq(&trip.tx_gas_price, 30000000000ull));
	CHECK(u_eq(&trip.tx_max_fee, 30000000000ull));
	CHECK(u_eq(&trip.tx_max_priority_fee, 30000000000ull));
	/* without simulation: the worst case, no amount */
	CHECK(trip.value == 100.0);
	CHECK(trip.threshold == 50.0);
	CHECK(!trip.has_amount && !trip.has_token);
	/* type 2, with a simulated loss (cooldown 0 on this trigger) */
	t2.has_gas_price = true;
	u256_from_u64(&t2.gas_price, 7000000000ull);
	u256_from_u64(&t2.max_fee, 40000000000ull);
	u256_from_u64(&t2.max_priority_fee, 2000000000ull);
	r = result(&d, &t2, (const char *[]){ "10", "0" }, (const char *[]){ "0", "0" });
	CHECK(det_mempool_judge(&d, &t2, &r, 2000, &trip));
	CHECK_EQ_MEM(trip.tx_hash, t2.hash, 32);
	CHECK_EQ_INT(trip.tx_type, 2);
	CHECK(u_eq(&trip.tx_gas_price, 7000000000ull));
	CHECK(u_eq(&trip.tx_max_fee, 40000000000ull));
	CHECK(u_eq(&trip.tx_max_priority_fee, 2000000000ull));
	CHECK(trip.has_amount && u_eq(&trip.amount, 10));
	/* a type 2 whose node reported no gasPrice */
	t2.has_gas_price = false;
	CHECK(det_mempool_judge(&d, &t2, &r, 3000, &trip));
	CHECK(u_eq(&trip.tx_gas_price, 0));
}

/*
 * The policy on failed simulations: what the transaction itself can cause
 * (calldata over SIM_INPUT_MAX, a reply too deep or large to parse: both
 * KERR_TOO_LONG) is judged as the worst case; transport and node failures
 * are not judged at all.
 */
static void test_unsimulable(void)
{
	det_mempool_t d, c;
	detect_trip_t trip;
	event_tx_t t = tx(ATT, "0x6382d9ad", 5), big;
	sim_result_t r, harmless;
	static char pad[2 * (SIM_INPUT_MAX + 1) + 3], out[SIM_REQUEST_MAX];
	size_t len;
	kerr_t err;
	const det_mempool_stats_t *st;
	static const kerr_t transport[] = { KERR_RPC_TIMEOUT, KERR_RPC_CONNECT,
					    KERR_RPC_TRANSPORT, KERR_RPC_ERROR,
					    KERR_RPC_HTTP, KERR_RPC_BUSY, KERR_JSON };

	/* "sel": threshold 2.5 %, cooldown 1000 ms; "twice": confirm_ticks 2 */
	if (det_mempool_init(&d, trig("sel")) || det_mempool_init(&c, trig("twice")))
		return;
	/* calldata one byte over the limit: sim refuses it with KERR_TOO_LONG */
	memcpy(pad, "0x6382d9ad", 10);
	memset(pad + 10, '0', sizeof pad - 11);
	big = tx(ATT, pad, 6);
	CHECK(det_mempool_match(&d, &big));
	err = sim_build_simulate(out, sizeof out, &len, d.cfg->watch, &big);
	CHECK_ERR(err, KERR_TOO_LONG);
	CHECK(det_mempool_unsimulable(err));
	CHECK(det_mempool_judge_failed(&d, &big, err, 1000, &trip));
	CHECK(trip.value == 100.0);
	CHECK(trip.threshold == 2.5);
	CHECK(trip.has_tx && !trip.has_amount && !trip.has_token);
	CHECK_EQ_MEM(trip.tx_hash, big.hash, 32);
	CHECK(addr_eq(&trip.tx_from, &big.from));
	/* a result the parser could not take, past the cooldown */
	r = result(&d, &t, (const char *[]){ "1000", "0", "0" }, (const char *[]){ "1000", "0", "0" });
	r.err = KERR_TOO_LONG;
	r.what = "calls";
	CHECK(det_mempool_judge(&d, &t, &r, 2000, &trip));
	CHECK(trip.value == 100.0);
	CHECK_EQ_MEM(trip.tx_hash, t.hash, 32);
	/* inside the cooldown it is held back like any trip */
	CHECK(!det_mempool_judge(&d, &t, &r, 2500, &trip));
	/* transport and node failures: never judged, never a trip */
	for (size_t i = 0; i < sizeof transport / sizeof transport[0]; i++) {
		CHECK(!det_mempool_unsimulable(transport[i]));
		CHECK(!det_mempool_judge_failed(&d, &t, transport[i], 10000 + (int64_t)i, &trip));
		r.err = transport[i];
		CHECK(!det_mempool_judge(&d, &t, &r, 20000 + (int64_t)i, &trip));
	}
	st = det_mempool_stats(&d);
	CHECK_EQ_INT(st->unsimulable, 3);
	CHECK_EQ_INT(st->sim_failed, 14);
	CHECK_EQ_INT(st->judged, 3);
	CHECK_EQ_INT(st->over, 3);
	CHECK_EQ_INT(st->tripped, 2);
	CHECK_EQ_INT(d.tr.suppressed, 1);

	/* a transport failure neither counts toward confirm_ticks nor ends a
	 * run; an unsimulable result counts as one suspicious evaluation and
	 * a harmless one ends the run */
	harmless = result(&c, &t, (const char *[]){ "100", "0", "0" }, (const char *[]){ "100", "0", "0" });
	CHECK(!det_mempool_judge_failed(&c, &t, KERR_TOO_LONG, 1000, &trip));
	CHECK(!det_mempool_judge_failed(&c, &t, KERR_RPC_TIMEOUT, 1001, &trip));
	CHECK(det_mempool_judge_failed(&c, &t, KERR_TOO_LONG, 1002, &trip));
	CHECK(!det_mempool_judge(&c, &t, &harmless, 2001, &trip));
	CHECK(!det_mempool_judge_failed(&c, &t, KERR_TOO_LONG, 2002, &trip));
	CHECK(det_mempool_judge_failed(&c, &t, KERR_TOO_LONG, 2003, &trip));
	CHECK_EQ_INT(det_mempool_stats(&c)->tripped, 2);
	CHECK_EQ_INT(det_mempool_stats(&c)->sim_failed, 1);
}

int main(void)
{
	CFG = load_cfg(
		"chain = { id = 1; ws = \"ws://127.0.0.1:1\"; rpc = [ \"http://127.0.0.1:1\" ]; };\n"
		"feeds = ( { name = \"f\"; url = \"wss://x.example/ws\"; price = \"p\"; stale_after_ms = 1000; } );\n"
		"watch = ( { name = \"v\"; address = \"" VAULT "\"; tokens = [ \"" TOK "\", \"" TOK2 "\" ]; },\n"
		"          { name = \"v0\"; address = \"" VAULT "\"; } );\n"
		"gas = ( { name = \"g\"; strategy = \"outbid\"; max_fee_gwei = 100; } );\n"
		"actions = ( { name = \"a\"; to = \"" VAULT "\"; call = \"pause()\"; gas_limit = 100000; gas = \"g\"; } );\n"
		"triggers = (\n"
		"  { name = \"sel\"; kind = \"mempool\"; watch = \"v\"; selectors = [ \"0x6382d9ad\" ];\n"
		"    allow = [ \"" FRIEND "\" ]; simulate = true; threshold_pct = 2.5; cooldown_ms = 1000; action = \"a\"; },\n"
		"  { name = \"any\"; kind = \"mempool\"; watch = \"v\"; simulate = true; threshold_pct = 10; action = \"a\"; },\n"
		"  { name = \"twice\"; kind = \"mempool\"; watch = \"v\"; simulate = true; threshold_pct = 10;\n"
		"    confirm_ticks = 2; cooldown_ms = 0; action = \"a\"; },\n"
		"  { name = \"nosim\"; kind = \"mempool\"; watch = \"v0\"; threshold_pct = 50; cooldown_ms = 0; action = \"a\"; },\n"
		"  { name = \"pm\"; kind = \"price_move\"; feed = \"f\"; window_ms = 1000; threshold_pct = 1; action = \"a\"; } );\n");
	CHECK(CFG != NULL);
	RUN(test_init);
	RUN(test_match);
	RUN(test_judge_threshold);
	RUN(test_judge_assets);
	RUN(test_confirm_cooldown);
	RUN(test_trip_carries_tx);
	RUN(test_unsimulable);
	config_free(CFG);
	return t_done();
}
