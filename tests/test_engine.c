/*
 * test_engine: keeper/engine routes events to exactly the detectors they
 * concern and drives the time-driven conditions.  Every config is text
 * loaded through config_load (tests/config_util.h), so the engine sees what
 * the loader makes of a real file.
 *
 *   - price ticks reach only the triggers on their feed, two triggers on
 *     one feed both see each tick (trips in config order), deviation sees
 *     both of its feeds and nothing else;
 *   - outflow sees only Transfer logs of its watch's tokens sent from the
 *     watch address, and ETH through balances; engine_balance_wants lists
 *     exactly the (watch, asset) pairs the outflow triggers need;
 *   - engine_time drives stale silence, depeg hold_ms and confirm_ms (on
 *     the feed's own clock), but not confirm_ticks;
 *   - cooldown is per trigger; a cooldown handed over from a previous
 *     process (engine_seed_cooldown) holds trips back on the trigger's own
 *     clock, for every asset of an outflow trigger, never past cooldown_ms
 *     from the engine clock;
 *   - engine_external passes a mempool condition through the trigger's
 *     confirm/cooldown and carries tx, account, amount and token;
 *   - the same random sequence twice gives identical trip lists;
 *   - the counters add up.
 */
#include <math.h>

#include "keeper/det_outflow.h"
#include "keeper/engine.h"
#include "tests/config_util.h"
#include "tests/test.h"
#define RNG_SEED 0x5eed4e61e5ull
#include "tests/rng.h"

#define WATCH_V "0x00000000000000000000000000000000000000a1"
#define WATCH_W "0x00000000000000000000000000000000000000a2"
#define TOK_1 "0x0000000000000000000000000000000000000011"
#define TOK_2 "0x0000000000000000000000000000000000000012"
#define TOK_3 "0x0000000000000000000000000000000000000013"
#define OTHER "0x0000000000000000000000000000000000000077"

/* Everything but the triggers. */
#define HEAD_CFG \
	"chain = { id = 31337; ws = \"ws://127.0.0.1:8545\"; rpc = [ \"http://127.0.0.1:8545\" ]; };\n" \
	"feeds = ( { name = \"a\"; url = \"ws://127.0.0.1:1\"; preset = \"trade\"; stale_after_ms = 60000; },\n" \
	"          { name = \"b\"; url = \"ws://127.0.0.1:2\"; preset = \"trade\"; stale_after_ms = 60000; },\n" \
	"          { name = \"c\"; url = \"ws://127.0.0.1:3\"; preset = \"trade\"; stale_after_ms = 60000; } );\n" \
	"watch = ( { name = \"v\"; address = \"" WATCH_V "\"; tokens = [ \"" TOK_1 "\", \"" TOK_2 "\" ]; },\n" \
	"          { name = \"w\"; address = \"" WATCH_W "\"; tokens = [ \"" TOK_1 "\" ]; },\n" \
	"          { name = \"x\"; address = \"" OTHER "\"; } );\n" \
	"actions = ( { name = \"p\"; to = \"" WATCH_V "\"; call = \"pause()\"; gas_limit = 100000; gas = \"g\"; } );\n" \
	"gas = ( { name = \"g\"; strategy = \"fixed\"; max_fee_gwei = 30; priority_fee_gwei = 1; } );\n"

/* ---- trips seen by the callback */

#define MAX_TRIPS 4096

typedef struct {
	size_t n;
	size_t trig[MAX_TRIPS];
	detect_trip_t trip[MAX_TRIPS];
} trips_t;

static void on_trip(void *ctx, size_t trigger, const detect_trip_t *trip)
{
	trips_t *t = ctx;

	if (t->n < MAX_TRIPS) {
		t->trig[t->n] = trigger;
		t->trip[t->n] = *trip;
	}
	t->n++;
}

static engine_t *mk(config_keeper_t **cfg, const char *triggers, trips_t *tr,
		    int64_t start_ms)
{
	char text[8192];
	engine_opts_t o = { start_ms, 0, 0 };
	engine_t *e = NULL;
	size_t bad;

	snprintf(text, sizeof text, "%striggers = (\n%s\n);\n", HEAD_CFG, triggers);
	*cfg = load_cfg(text);
	CHECK(*cfg != NULL);
	if (!*cfg)
		return NULL;
	memset(tr, 0, sizeof *tr);
	CHECK_OK(engine_new(*cfg, &o, on_trip, tr, &e, &bad));
	return e;
}

static void done(engine_t *e, config_keeper_t *cfg)
{
	engine_free(e);
	config_free(cfg);
}

static size_t tick(engine_t *e, uint32_t feed, int64_t t, double price)
{
	event_t ev;

	memset(&ev, 0, sizeof ev);
	ev.kind = EV_PRICE;
	ev.price.feed = feed;
	ev.price.price = price;
	ev.price.time_ms = t;
	ev.price.recv_ms = t;
	return engine_event(e, &ev, t);
}

/* A tick whose source time differs from its arrival. */
static size_t tick2(engine_t *e, uint32_t feed, int64_t t, int64_t recv, double price)
{
	event_t ev;

	memset(&ev, 0, sizeof ev);
	ev.kind = EV_PRICE;
	ev.price.feed = feed;
	ev.price.price = price;
	ev.price.time_ms = t;
	ev.price.recv_ms = recv;
	return engine_event(e, &ev, recv);
}

static uint64_t routed(const engine_t *e, size_t i)
{
	engine_trigger_stats_t s;

	if (engine_trigger_stats(e, i, &s) != KERR_OK)
		return UINT64_MAX;
	return s.routed;
}

static addr_t A(const char *s)
{
	addr_t a;

	memset(&a, 0, sizeof a);
	(void)addr_parse(&a, s, strlen(s));
	return a;
}

static u256_t U(uint64_t v)
{
	u256_t r;

	u256_from_u64(&r, v);
	return r;
}

/* ---- logs */

typedef struct {
	event_t ev;
	char data[2 + 64 + 1];
} tlog_t;

static void topic_addr(uint8_t topic[32], const addr_t *a)
{
	memset(topic, 0, 32);
	memcpy(topic + 12, a->b, 20);
}

static void mklog(tlog_t *t, const char *token, const char *from, const char *to,
		  uint64_t amount, uint64_t block, uint64_t idx)
{
	addr_t f = A(from), d = A(to);
	u256_t v = U(amount);
	uint8_t be[32];
	static const char hexd[] = "0123456789abcdef";

	memset(t, 0, sizeof *t);
	t->ev.kind = EV_LOG;
	t->ev.log.address = A(token);
	t->ev.log.ntopics = 3;
	memcpy(t->ev.log.topics[0], det_outflow_transfer_topic, 32);
	topic_addr(t->ev.log.topics[1], &f);
	topic_addr(t->ev.log.topics[2], &d);
	u256_to_be(&v, be);
	t->data[0] = '0';
	t->data[1] = 'x';
	for (int i = 0; i < 32; i++) {
		t->data[2 + 2 * i] = hexd[be[i] >> 4];
		t->data[3 + 2 * i] = hexd[be[i] & 15];
	}
	t->ev.log.data.p = t->data;
	t->ev.log.data.len = 66;
	t->ev.log.block_number = block;
	t->ev.log.log_index = idx;
	memcpy(t->ev.log.tx_hash, &block, 8);
	memcpy(t->ev.log.tx_hash + 8, &idx, 8);
}

/* ---- tests */

static void test_price_routing(void)
{
	config_keeper_t *cfg;
	static trips_t tr;
	engine_t *e = mk(&cfg,
		"{ name = \"pm1\"; kind = \"price_move\"; feed = \"a\"; window_ms = 10000; threshold_pct = 5; direction = \"down\"; action = \"p\"; },\n"
		"{ name = \"pm2\"; kind = \"price_move\"; feed = \"a\"; window_ms = 10000; threshold_pct = 5; action = \"p\"; },\n"
		"{ name = \"pm3\"; kind = \"price_move\"; feed = \"b\"; window_ms = 10000; threshold_pct = 5; action = \"p\"; },\n"
		"{ name = \"ew\"; kind = \"ewma_vol\"; feed = \"c\"; threshold_pct = 1000; warmup = 1; action = \"p\"; }",
		&tr, 0);

	if (!e)
		goto out;
	/* A drop of b: only pm3. */
	CHECK_EQ_INT(tick(e, 1, 1000, 100), 0);
	CHECK_EQ_INT(tick(e, 1, 2000, 90), 1);
	CHECK_EQ_INT(tr.n, 1);
	CHECK_EQ_INT(tr.trig[0], 2);
	CHECK_EQ_STR(tr.trip[0].trigger, "pm3");
	CHECK(fabs(tr.trip[0].value - 10.0) < 1e-9);
	CHECK(tr.trip[0].threshold == 5.0);
	CHECK_EQ_INT(tr.trip[0].unit, DETECT_UNIT_PCT);
	CHECK_EQ_INT(tr.trip[0].time_ms, 2000);
	CHECK_EQ_INT(routed(e, 0), 0);
	CHECK_EQ_INT(routed(e, 1), 0);
	CHECK_EQ_INT(routed(e, 2), 2);
	CHECK_EQ_INT(routed(e, 3), 0);
	/* A drop of a: pm1 and pm2, in config order, from one tick. */
	CHECK_EQ_INT(tick(e, 0, 1000, 100), 0);
	CHECK_EQ_INT(tick(e, 0, 3000, 94), 2);
	CHECK_EQ_INT(tr.n, 3);
	CHECK_EQ_INT(tr.trig[1], 0);
	CHECK_EQ_INT(tr.trig[2], 1);
	CHECK_EQ_INT(routed(e, 0), 2);
	CHECK_EQ_INT(routed(e, 1), 2);
	CHECK_EQ_INT(routed(e, 2), 2);
	/* A rise of a: pm2 (both directions) only; pm1 watches drops. */
	CHECK_EQ_INT(tick(e, 0, 4000, 104), 0);  /* inside pm2's cooldown */
	CHECK_EQ_INT(routed(e, 3), 0);
	CHECK_EQ_INT(tick(e, 2, 1000, 100), 0);
	CHECK_EQ_INT(routed(e, 3), 1);
	CHECK_EQ_INT(routed(e, 0), 3);
out:
	done(e, cfg);
}

static void test_deviation_routing(void)
{
	config_keeper_t *cfg;
	static trips_t tr;
	engine_t *e = mk(&cfg,
		"{ name = \"st\"; kind = \"stale\"; feed = \"c\"; after_ms = 100000; action = \"p\"; },\n"
		"{ name = \"dv\"; kind = \"deviation\"; feeds = [ \"a\", \"c\" ]; threshold_pct = 1; max_age_ms = 5000; action = \"p\"; }",
		&tr, 0);

	if (!e)
		goto out;
	CHECK_EQ_INT(tick(e, 0, 1000, 100.0), 0);
	CHECK_EQ_INT(tick(e, 1, 1000, 50.0), 0);   /* feed b: neither */
	CHECK_EQ_INT(routed(e, 1), 1);
	CHECK_EQ_INT(routed(e, 0), 0);
	CHECK_EQ_INT(tick(e, 2, 1500, 102.0), 1);  /* c: both */
	CHECK_EQ_INT(routed(e, 0), 1);
	CHECK_EQ_INT(routed(e, 1), 2);
	CHECK_EQ_INT(tr.n, 1);
	CHECK_EQ_INT(tr.trig[0], 1);
	CHECK(fabs(tr.trip[0].value - 2.0) < 1e-9);
	/* A stale feed c (too old for max_age) ends deviation's judgement. */
	CHECK_EQ_INT(tick(e, 0, 9000, 100.0), 0);
out:
	done(e, cfg);
}

static void test_outflow_routing(void)
{
	config_keeper_t *cfg;
	static trips_t tr;
	tlog_t l;
	engine_want_t w[8];
	u256_t b;
	engine_t *e = mk(&cfg,
		"{ name = \"ov\"; kind = \"outflow\"; watch = \"v\"; window_ms = 60000; threshold_pct = 10; action = \"p\"; },\n"
		"{ name = \"ow\"; kind = \"outflow\"; watch = \"w\"; window_ms = 60000; threshold_pct = 10; min_amount = \"400\"; action = \"p\"; }",
		&tr, 0);
	addr_t v = A(WATCH_V), t1 = A(TOK_1), t2 = A(TOK_2), zero;

	memset(&zero, 0, sizeof zero);
	if (!e)
		goto out;
	/* Wants: v's ETH, TOK_1, TOK_2; w's ETH, TOK_1; nothing of x. */
	CHECK_EQ_INT(engine_balance_wants(e, NULL, 0), 5);
	CHECK_EQ_INT(engine_balance_wants(e, w, 8), 5);
	CHECK(w[0].watch == 0 && w[0].asset == 0 && !w[0].is_token && addr_eq(&w[0].holder, &v));
	CHECK(w[1].watch == 0 && w[1].asset == 1 && w[1].is_token && addr_eq(&w[1].token, &t1));
	CHECK(w[2].watch == 0 && w[2].asset == 2 && addr_eq(&w[2].token, &t2));
	CHECK(w[3].watch == 1 && w[3].asset == 0);
	CHECK(w[4].watch == 1 && w[4].asset == 1 && addr_eq(&w[4].token, &t1));
	b = U(1);
	CHECK_ERR(engine_balance(e, 2, 0, 1, 1000, &b), KERR_ARG);
	CHECK_ERR(engine_balance(e, 0, 3, 1, 1000, &b), KERR_ARG);

	/* Bases: v holds 1000 TOK_1 and 1000 wei at block 1. */
	b = U(1000);
	CHECK_OK(engine_balance(e, 0, 1, 1, 1000, &b));
	CHECK_OK(engine_balance(e, 0, 0, 1, 1000, &b));
	CHECK_EQ_INT(routed(e, 0), 2);
	CHECK_EQ_INT(routed(e, 1), 0);

	/* 50 TOK_1 out of v: 5 %, no trip; reaches both triggers (TOK_1 is
	 * also w's), counted by v's only. */
	mklog(&l, TOK_1, WATCH_V, OTHER, 50, 2, 0);
	CHECK_EQ_INT(engine_event(e, &l.ev, 2000), 0);
	CHECK_EQ_INT(routed(e, 0), 3);
	CHECK_EQ_INT(routed(e, 1), 1);
	/* Incoming TOK_1, a token v does not list, v itself emitting: none
	 * counts; the last two reach no trigger at all. */
	mklog(&l, TOK_1, OTHER, WATCH_V, 5000, 2, 1);
	CHECK_EQ_INT(engine_event(e, &l.ev, 2000), 0);
	mklog(&l, TOK_3, WATCH_V, OTHER, 5000, 2, 2);
	CHECK_EQ_INT(engine_event(e, &l.ev, 2000), 0);
	mklog(&l, WATCH_V, WATCH_V, OTHER, 5000, 2, 3);
	CHECK_EQ_INT(engine_event(e, &l.ev, 2000), 0);
	CHECK_EQ_INT(routed(e, 0), 4);
	/* 500 TOK_1 out of w: w's trigger, by min_amount (no base). */
	mklog(&l, TOK_1, WATCH_W, OTHER, 500, 2, 4);
	CHECK_EQ_INT(engine_event(e, &l.ev, 2100), 1);
	CHECK_EQ_INT(tr.n, 1);
	CHECK_EQ_INT(tr.trig[0], 1);
	CHECK(tr.trip[0].has_amount && u256_cmp(&tr.trip[0].amount, &(u256_t){ 0 }) != 0);
	b = U(500);
	CHECK(u256_cmp(&tr.trip[0].amount, &b) == 0);
	CHECK(tr.trip[0].has_token && addr_eq(&tr.trip[0].token, &t1));
	CHECK(tr.trip[0].value == 0);   /* no base known */
	/* 60 more TOK_1 out of v: 110 >= 10 % of 1000. */
	mklog(&l, TOK_1, WATCH_V, OTHER, 60, 3, 0);
	CHECK_EQ_INT(engine_event(e, &l.ev, 3000), 1);
	CHECK_EQ_INT(tr.n, 2);
	CHECK_EQ_INT(tr.trig[1], 0);
	CHECK_EQ_STR(tr.trip[1].trigger, "ov");
	CHECK_EQ_INT(tr.trip[1].kind, CONFIG_TRIGGER_OUTFLOW);
	b = U(110);
	CHECK(u256_cmp(&tr.trip[1].amount, &b) == 0);
	CHECK(addr_eq(&tr.trip[1].token, &t1));
	CHECK(fabs(tr.trip[1].value - 11.0) < 1e-9);
	CHECK(tr.trip[1].threshold == 10.0);
	CHECK_EQ_INT(tr.trip[1].time_ms, 3000);
	/* ETH: 1000 -> 850 wei is 15 %: its own wrapper trips although
	 * TOK_1's is in its cooldown. */
	b = U(850);
	CHECK_OK(engine_balance(e, 0, 0, 3, 3500, &b));
	CHECK_EQ_INT(tr.n, 3);
	b = U(150);
	CHECK(tr.trig[2] == 0 && u256_cmp(&tr.trip[2].amount, &b) == 0);
	CHECK(addr_eq(&tr.trip[2].token, &zero));
	/* A repeat observation is refused and counted. */
	b = U(850);
	CHECK_OK(engine_balance(e, 0, 0, 3, 3600, &b));
	CHECK_EQ_INT(tr.n, 3);
	{
		engine_stats_t s;
		engine_stats(e, &s);
		CHECK_EQ_INT(s.balances, 3);
		CHECK_EQ_INT(s.balance_refused, 1);
		CHECK_EQ_INT(s.balance_unwanted, 2);
		CHECK_EQ_INT(s.unrouted, 2);
		CHECK_EQ_INT(s.kind_trips[CONFIG_TRIGGER_OUTFLOW], 3);
	}
	/* Once the window has moved past, TOK_1 no longer trips and a new
	 * small outflow does not either. */
	CHECK_EQ_INT(engine_time(e, 200000), 0);
	mklog(&l, TOK_1, WATCH_V, OTHER, 20, 300, 0);
	CHECK_EQ_INT(engine_event(e, &l.ev, 200000), 0);
out:
	done(e, cfg);
}

/* Tick feed c (keeping stale quiet) and run the timers at t. */
static size_t at(engine_t *e, int64_t t)
{
	tick(e, 2, t, 7.0);
	return engine_time(e, t);
}

static void test_time_stale_depeg(void)
{
	config_keeper_t *cfg;
	static trips_t tr;
	engine_t *e = mk(&cfg,
		"{ name = \"st\"; kind = \"stale\"; feed = \"c\"; after_ms = 1000; cooldown_ms = 0; action = \"p\"; },\n"
		"{ name = \"dp\"; kind = \"depeg\"; feed = \"a\"; peg = 1.0; threshold_pct = 2; direction = \"down\"; hold_ms = 5000; action = \"p\"; }",
		&tr, 1000000);

	if (!e)
		goto out;
	/* stale: silent since the start. */
	CHECK_EQ_INT(engine_time(e, 1000500), 0);
	CHECK_EQ_INT(engine_time(e, 1001000), 0);   /* exactly after_ms: not yet */
	CHECK_EQ_INT(engine_time(e, 1001001), 1);
	CHECK_EQ_STR(tr.trip[0].trigger, "st");
	CHECK(tr.trip[0].value == 1001 && tr.trip[0].threshold == 1000);
	CHECK_EQ_INT(tr.trip[0].unit, DETECT_UNIT_MS);
	CHECK_EQ_INT(tick(e, 2, 1001500, 7.0), 0);  /* a tick ends it */
	CHECK_EQ_INT(engine_time(e, 1002400), 0);
	CHECK_EQ_INT(engine_time(e, 1002600), 1);   /* cooldown 0 */
	CHECK_EQ_INT(tr.n, 2);

	/* depeg hold: off at 1003000, held at 1008000 without a tick of a. */
	CHECK_EQ_INT(tick(e, 0, 1003000, 0.97), 0);
	CHECK_EQ_INT(at(e, 1003000), 0);
	CHECK_EQ_INT(at(e, 1007999), 0);
	CHECK_EQ_INT(tr.n, 2);
	CHECK_EQ_INT(at(e, 1008000), 1);
	CHECK_EQ_STR(tr.trip[2].trigger, "dp");
	CHECK_EQ_INT(tr.trip[2].time_ms, 1008000);
	CHECK(fabs(tr.trip[2].value - 3.0) < 1e-9);
	/* Back on the peg: no more depeg trips, whatever the time. */
	CHECK_EQ_INT(tick(e, 0, 1008100, 1.0), 0);
	CHECK_EQ_INT(at(e, 1009000), 0);
	CHECK_EQ_INT(at(e, 1200000), 0);
	CHECK_EQ_INT(engine_time(e, 1200999), 0);
	CHECK_EQ_INT(engine_time(e, 1201001), 1);   /* only stale of c */
	CHECK_EQ_STR(tr.trip[3].trigger, "st");
	CHECK_EQ_INT(tr.n, 4);
out:
	done(e, cfg);
}

static void test_time_confirm(void)
{
	config_keeper_t *cfg;
	static trips_t tr;
	engine_stats_t s;
	engine_t *e = mk(&cfg,
		"{ name = \"cm\"; kind = \"price_move\"; feed = \"b\"; window_ms = 60000; threshold_pct = 5; confirm_ms = 2000; action = \"p\"; },\n"
		"{ name = \"ct\"; kind = \"price_move\"; feed = \"b\"; window_ms = 60000; threshold_pct = 5; confirm_ticks = 3; action = \"p\"; }",
		&tr, 1200000);

	if (!e)
		goto out;
	/* Feed b's clock is 700 s behind keeper's: the drop at feed time
	 * 500000 (arrival 1201000) is confirmed at feed time 502000, i.e. at
	 * 1203000 on the engine clock; confirm_ticks waits for its third
	 * tick whatever the time. */
	CHECK_EQ_INT(tick2(e, 1, 499000, 1200500, 100), 0);
	CHECK_EQ_INT(tick2(e, 1, 500000, 1201000, 90), 0);
	CHECK_EQ_INT(engine_time(e, 1202000), 0);
	CHECK_EQ_INT(engine_time(e, 1202999), 0);
	CHECK_EQ_INT(engine_time(e, 1203000), 1);
	CHECK_EQ_INT(tr.n, 1);
	CHECK_EQ_STR(tr.trip[0].trigger, "cm");
	CHECK_EQ_INT(tr.trip[0].time_ms, 502000);
	CHECK_EQ_INT(engine_time(e, 1210000), 0);   /* cm in cooldown, ct needs ticks */
	CHECK_EQ_INT(tick2(e, 1, 510000, 1210100, 90), 0);
	CHECK_EQ_INT(tick2(e, 1, 511000, 1210200, 90), 1);
	CHECK_EQ_STR(tr.trip[1].trigger, "ct");
	/* Time does not run backwards. */
	CHECK_EQ_INT(engine_time(e, 1000), 0);
	engine_stats(e, &s);
	CHECK_EQ_INT(s.time_backwards, 1);
	CHECK_EQ_INT(engine_now(e), 1210200);
out:
	done(e, cfg);
}

static void test_cooldown_per_trigger(void)
{
	config_keeper_t *cfg;
	static trips_t tr;
	engine_trigger_stats_t s0, s1;
	engine_t *e = mk(&cfg,
		"{ name = \"fast\"; kind = \"price_move\"; feed = \"a\"; window_ms = 60000; threshold_pct = 5; cooldown_ms = 1000; action = \"p\"; },\n"
		"{ name = \"slow\"; kind = \"price_move\"; feed = \"a\"; window_ms = 60000; threshold_pct = 5; cooldown_ms = 100000; action = \"p\"; }",
		&tr, 0);

	if (!e)
		goto out;
	CHECK_EQ_INT(tick(e, 0, 0, 100), 0);
	CHECK_EQ_INT(tick(e, 0, 100, 90), 2);
	CHECK_EQ_INT(tick(e, 0, 600, 89), 0);
	CHECK_EQ_INT(tick(e, 0, 1100, 88), 1);
	CHECK_EQ_INT(tr.trig[2], 0);
	CHECK_EQ_INT(tick(e, 0, 1500, 87), 0);
	CHECK_OK(engine_trigger_stats(e, 0, &s0));
	CHECK_OK(engine_trigger_stats(e, 1, &s1));
	CHECK_EQ_INT(s0.trips, 2);
	CHECK_EQ_INT(s0.suppressed, 2);
	CHECK_EQ_INT(s1.trips, 1);
	CHECK_EQ_INT(s1.suppressed, 3);
	CHECK_EQ_INT(s0.routed, 5);
	/* Timed re-evaluation repeats fast's trip once its cooldown is over
	 * (the drop still stands), and does not count slow's suppressions. */
	CHECK_EQ_INT(engine_time(e, 2200), 1);
	CHECK_EQ_INT(engine_time(e, 2300), 0);
	CHECK_OK(engine_trigger_stats(e, 1, &s1));
	CHECK_EQ_INT(s1.suppressed, 3);
	CHECK_ERR(engine_trigger_stats(e, 2, &s1), KERR_ARG);
out:
	done(e, cfg);
}

/* A silent feed after a drop: the kept price_move verdict repeats every
 * cooldown only while the drop is still inside the window (the feed's last
 * tick + window_ms); after that the unchanged price is the whole window. */
static void test_price_move_expires(void)
{
	config_keeper_t *cfg;
	static trips_t tr;
	engine_t *e = mk(&cfg,
		"{ name = \"pm\"; kind = \"price_move\"; feed = \"a\"; window_ms = 5000; threshold_pct = 5; cooldown_ms = 1000; action = \"p\"; }",
		&tr, 0);
	int64_t t;
	size_t repeats = 0;

	if (!e)
		goto out;
	CHECK_EQ_INT(tick(e, 0, 0, 100), 0);
	CHECK_EQ_INT(tick(e, 0, 100, 90), 1);
	/* Next due: the first repeat, 1000 ms after the trip. */
	CHECK_EQ_INT(engine_next_due(e, 100), 1100);
	for (t = 200; t <= 20000; t += 100)
		repeats += engine_time(e, t);
	/* Repeats at 1100, 2100, 3100, 4100, 5100; at 5101 the window
	 * (last tick 100 + 5000) is over. */
	CHECK_EQ_INT(repeats, 5);
	CHECK_EQ_INT(engine_next_due(e, 20000), INT64_MAX);
	/* A new drop trips again. */
	CHECK_EQ_INT(tick(e, 0, 30000, 100), 0);
	CHECK_EQ_INT(tick(e, 0, 30100, 80), 1);
out:
	done(e, cfg);
}

static void test_external(void)
{
	config_keeper_t *cfg;
	static trips_t tr;
	detect_trip_t extra, out;
	engine_stats_t s;
	engine_trigger_stats_t ts;
	engine_t *e = mk(&cfg,
		"{ name = \"pm\"; kind = \"price_move\"; feed = \"a\"; window_ms = 1000; threshold_pct = 5; action = \"p\"; },\n"
		"{ name = \"mp\"; kind = \"mempool\"; watch = \"v\"; threshold_pct = 5; confirm_ticks = 2; cooldown_ms = 5000; action = \"p\"; }",
		&tr, 0);
	addr_t acct = A(OTHER), t1 = A(TOK_1);

	if (!e)
		goto out;
	memset(&extra, 0, sizeof extra);
	extra.trigger = "ignored";
	extra.value = -1;
	extra.has_tx = true;
	memset(extra.tx_hash, 0xab, 32);
	extra.has_account = true;
	extra.account = acct;
	extra.has_amount = true;
	extra.amount = U(12345);
	extra.has_token = true;
	extra.token = t1;
	CHECK(!engine_external(e, 1, 1000, true, 7.5, 5, &extra, &out));
	CHECK(engine_external(e, 1, 1100, true, 8.5, 5, &extra, &out));
	CHECK_EQ_INT(tr.n, 1);
	CHECK_EQ_INT(tr.trig[0], 1);
	CHECK_EQ_STR(out.trigger, "mp");
	CHECK_EQ_INT(out.kind, CONFIG_TRIGGER_MEMPOOL);
	CHECK(out.value == 8.5 && out.threshold == 5);
	CHECK_EQ_INT(out.time_ms, 1100);
	CHECK(out.has_tx && out.tx_hash[0] == 0xab && out.tx_hash[31] == 0xab);
	CHECK(out.has_account && addr_eq(&out.account, &acct));
	CHECK(out.has_amount && u256_cmp(&out.amount, &extra.amount) == 0);
	CHECK(out.has_token && addr_eq(&out.token, &t1));
	CHECK(tr.trip[0].trigger == out.trigger && tr.trip[0].time_ms == out.time_ms &&
	      tr.trip[0].has_tx && u256_cmp(&tr.trip[0].amount, &out.amount) == 0);
	/* Its cooldown; then a false condition ends the run. */
	CHECK(!engine_external(e, 1, 1200, true, 9, 5, NULL, NULL));
	CHECK(!engine_external(e, 1, 7000, false, 0, 5, NULL, NULL));
	CHECK(!engine_external(e, 1, 7100, true, 9, 5, NULL, NULL));
	CHECK(engine_external(e, 1, 7200, true, 9, 5, NULL, &out));
	CHECK(!out.has_tx && !out.has_amount);
	/* Refused: a trigger the engine evaluates, or none. */
	CHECK(!engine_external(e, 0, 7300, true, 9, 5, NULL, NULL));
	CHECK(!engine_external(e, 2, 7300, true, 9, 5, NULL, NULL));
	engine_stats(e, &s);
	CHECK_EQ_INT(s.external_refused, 2);
	CHECK_EQ_INT(s.kind_trips[CONFIG_TRIGGER_MEMPOOL], 2);
	CHECK_OK(engine_trigger_stats(e, 1, &ts));
	CHECK(ts.external);
	CHECK_EQ_INT(ts.routed, 6);
	CHECK_EQ_INT(ts.trips, 2);
	CHECK_EQ_INT(ts.suppressed, 1);
	/* Pending transactions are nobody's inside the engine. */
	{
		event_t ev;
		memset(&ev, 0, sizeof ev);
		ev.kind = EV_PENDING_TX;
		CHECK_EQ_INT(engine_event(e, &ev, 8000), 0);
		engine_stats(e, &s);
		CHECK_EQ_INT(s.unrouted, 1);
		CHECK_EQ_INT(s.by_event[EV_PENDING_TX], 1);
	}
out:
	done(e, cfg);
}

/*
 * Cooldowns handed over from a previous process (the state file): a
 * seeded trigger holds its trips back until cooldown_ms after the seed,
 * on the clock its wrapper judges on (a price_move's feed clock, here
 * behind the engine's wall clock); an unseeded twin trips at once; every
 * asset of an outflow trigger takes the seed; a seed later than the
 * engine clock counts from the engine clock; a trigger that tripped
 * itself keeps its own time.
 */
static void test_seed_cooldown(void)
{
	config_keeper_t *cfg;
	static trips_t tr;
	engine_trigger_stats_t s;
	tlog_t l;
	u256_t b;
	addr_t t2 = A(TOK_2);
	const int64_t start = 1000000;
	engine_t *e = mk(&cfg,
		"{ name = \"pm\"; kind = \"price_move\"; feed = \"a\"; window_ms = 10000; threshold_pct = 5; cooldown_ms = 60000; action = \"p\"; },\n"
		"{ name = \"twin\"; kind = \"price_move\"; feed = \"b\"; window_ms = 10000; threshold_pct = 5; cooldown_ms = 60000; action = \"p\"; },\n"
		"{ name = \"of\"; kind = \"outflow\"; watch = \"v\"; window_ms = 60000; threshold_pct = 10; cooldown_ms = 60000; action = \"p\"; },\n"
		"{ name = \"mp\"; kind = \"mempool\"; watch = \"v\"; threshold_pct = 5; cooldown_ms = 60000; action = \"p\"; }",
		&tr, start);

	if (!e)
		goto out;
	/* The previous process tripped pm at feed time 990000 (its feed's
	 * clock runs 5 s behind the engine's) and of at engine time 999000. */
	CHECK(engine_seed_cooldown(e, 0, 990000));
	CHECK(engine_seed_cooldown(e, 2, 999000));
	CHECK(!engine_seed_cooldown(e, 4, 990000));
	CHECK(!engine_seed_cooldown(NULL, 0, 990000));
	CHECK_EQ_INT(tr.n, 0);
	CHECK_OK(engine_trigger_stats(e, 0, &s));
	CHECK_EQ_INT(s.trips, 0);

	/* The same drop on both feeds: only the twin trips. */
	CHECK_EQ_INT(tick2(e, 0, 995000, start + 100, 100), 0);
	CHECK_EQ_INT(tick2(e, 0, 995100, start + 200, 90), 0);
	CHECK_EQ_INT(tick2(e, 1, 995000, start + 100, 100), 0);
	CHECK_EQ_INT(tick2(e, 1, 995100, start + 200, 90), 1);
	CHECK_EQ_INT(tr.n, 1);
	CHECK_EQ_INT(tr.trig[0], 1);
	CHECK_OK(engine_trigger_stats(e, 0, &s));
	CHECK_EQ_INT(s.suppressed, 1);
	/* Its own trip is newer than any seed. */
	CHECK(!engine_seed_cooldown(e, 1, 900000));
	/* Timers while the drop is in pm's window do not trip it either. */
	for (int64_t t = start + 300; t <= start + 20000; t += 100)
		engine_time(e, t);
	CHECK_EQ_INT(tr.n, 1);
	/* A drop 60 s after the seed on pm's clock trips. */
	CHECK_EQ_INT(tick2(e, 0, 1049900, start + 55000, 100), 0);
	CHECK_EQ_INT(tick2(e, 0, 1050000, start + 55100, 90), 1);
	CHECK_EQ_INT(tr.trig[1], 0);
	CHECK_EQ_INT(tr.trip[1].time_ms, 1050000);

	/* Outflow: bases of v's ETH and both tokens, then 50 % of TOK_2 out
	 * (an asset other than whichever tripped before): held back. */
	b = U(1000);
	CHECK_OK(engine_balance(e, 0, 0, 1, start + 55100, &b));
	CHECK_OK(engine_balance(e, 0, 1, 1, start + 55100, &b));
	CHECK_OK(engine_balance(e, 0, 2, 1, start + 55100, &b));
	mklog(&l, TOK_2, WATCH_V, OTHER, 500, 2, 0);
	CHECK_EQ_INT(engine_event(e, &l.ev, start + 56000), 0);
	CHECK_OK(engine_trigger_stats(e, 2, &s));
	CHECK_EQ_INT(s.trips, 0);
	CHECK_EQ_INT(s.suppressed, 1);
	/* ... until 60 s after its seed: the next timer past it trips. */
	CHECK_EQ_INT(engine_time(e, 999000 + 59999), 0);
	CHECK_EQ_INT(engine_time(e, 999000 + 60000), 1);
	CHECK_EQ_INT(tr.trig[2], 2);
	CHECK(tr.trip[2].has_token && addr_eq(&tr.trip[2].token, &t2));

	/* A seed from a clock ahead of the engine's counts from the engine
	 * clock (now 1059000): held back 60 s from there, not from 2e9. */
	CHECK_EQ_INT(engine_now(e), 1059000);
	CHECK(engine_seed_cooldown(e, 3, 2000000000));
	CHECK(!engine_external(e, 3, 1059000 + 59999, true, 100, 5, NULL, NULL));
	CHECK(engine_external(e, 3, 1059000 + 60000, true, 100, 5, NULL, NULL));
	CHECK_OK(engine_trigger_stats(e, 3, &s));
	CHECK_EQ_INT(s.trips, 1);
	CHECK_EQ_INT(s.suppressed, 1);
out:
	done(e, cfg);
}

/* Every kind at once, for determinism and counters. */
#define ALL_KINDS \
	"{ name = \"pm\"; kind = \"price_move\"; feed = \"a\"; window_ms = 5000; threshold_pct = 1.5; cooldown_ms = 2000; action = \"p\"; },\n" \
	"{ name = \"ew\"; kind = \"ewma_vol\"; feed = \"a\"; threshold_pct = 3; warmup = 5; cooldown_ms = 3000; action = \"p\"; },\n" \
	"{ name = \"dv\"; kind = \"deviation\"; feeds = [ \"a\", \"b\" ]; threshold_pct = 2; max_age_ms = 2000; confirm_ms = 300; cooldown_ms = 1000; action = \"p\"; },\n" \
	"{ name = \"dp\"; kind = \"depeg\"; feed = \"b\"; peg = 100; threshold_pct = 2; direction = \"both\"; hold_ms = 400; cooldown_ms = 1500; action = \"p\"; },\n" \
	"{ name = \"st\"; kind = \"stale\"; feed = \"c\"; after_ms = 700; cooldown_ms = 2500; action = \"p\"; },\n" \
	"{ name = \"of\"; kind = \"outflow\"; watch = \"v\"; window_ms = 4000; threshold_pct = 5; cooldown_ms = 1000; action = \"p\"; },\n" \
	"{ name = \"mp\"; kind = \"mempool\"; watch = \"v\"; threshold_pct = 5; confirm_ticks = 2; action = \"p\"; }"

#define STEPS 20000

/* One run of the random sequence (the generator restarted at seed). */
static void run_sequence(engine_t *e, uint64_t seed)
{
	double pa = 100, pb = 100;
	int64_t t = 10000;
	uint64_t block = 1, bal_eth = 1000000, bal_t1 = 1000000;
	tlog_t l;

	rng_state = seed;
	for (int i = 0; i < STEPS; i++) {
		uint64_t r = rnd() % 100;

		t += (int64_t)(rnd() % 50);
		if (r < 30) {
			pa *= 1 + (rnd01() - 0.5) * 0.02;
			tick(e, 0, t, pa);
		} else if (r < 55) {
			pb *= 1 + (rnd01() - 0.5) * 0.02;
			tick(e, 1, t, pb);
		} else if (r < 60) {
			tick(e, 2, t, 5.0);
		} else if (r < 70) {
			uint64_t amt = rnd() % 20000;
			mklog(&l, rnd() % 4 ? TOK_1 : TOK_2, WATCH_V, OTHER, amt, block,
			      (uint64_t)i);
			engine_event(e, &l.ev, t);
		} else if (r < 75) {
			u256_t b;
			block++;
			bal_eth = bal_eth - bal_eth / 50 + rnd() % 5000;
			bal_t1 += rnd() % 30000;
			b = U(bal_eth);
			engine_balance(e, 0, 0, block, t, &b);
			b = U(bal_t1);
			engine_balance(e, 0, 1, block, t, &b);
		} else if (r < 80) {
			engine_external(e, 6, t, rnd() % 2, 6, 5, NULL, NULL);
		} else {
			engine_time(e, t);
		}
	}
}

static void test_determinism(void)
{
	config_keeper_t *cfg1, *cfg2;
	static trips_t tr1, tr2;
	engine_t *e1 = mk(&cfg1, ALL_KINDS, &tr1, 10000);
	engine_t *e2 = mk(&cfg2, ALL_KINDS, &tr2, 10000);
	size_t by_trig[7] = { 0 };
	bool same = true;

	if (!e1 || !e2)
		goto out;
	run_sequence(e1, 42);
	run_sequence(e2, 42);
	CHECK(tr1.n > 0 && tr1.n < MAX_TRIPS);
	CHECK_EQ_INT(tr1.n, tr2.n);
	for (size_t i = 0; i < tr1.n && i < tr2.n && i < MAX_TRIPS; i++) {
		const detect_trip_t *a = &tr1.trip[i], *b = &tr2.trip[i];

		if (tr1.trig[i] < 7)
			by_trig[tr1.trig[i]]++;
		same &= tr1.trig[i] == tr2.trig[i] && a->time_ms == b->time_ms &&
			a->value == b->value && a->threshold == b->threshold &&
			a->has_amount == b->has_amount &&
			u256_cmp(&a->amount, &b->amount) == 0 &&
			addr_eq(&a->token, &b->token) && !strcmp(a->trigger, b->trigger);
	}
	CHECK(same);
	printf("    %zu trips: pm %zu, ew %zu, dv %zu, dp %zu, st %zu, of %zu, mp %zu\n",
	       tr1.n, by_trig[0], by_trig[1], by_trig[2], by_trig[3], by_trig[4],
	       by_trig[5], by_trig[6]);
	/* Every kind tripped at least once in the sequence. */
	for (size_t k = 0; k < 7; k++)
		CHECK_MSG(by_trig[k] > 0, "trigger %zu never tripped", k);

	/* Counters add up: per-kind trips are the callback's, per trigger
	 * they are the wrappers'. */
	{
		engine_stats_t s;
		uint64_t sum = 0, ev = 0;

		engine_stats(e1, &s);
		CHECK_EQ_INT(s.trips, tr1.n);
		for (size_t k = 0; k < CONFIG_TRIGGER_KINDS; k++)
			sum += s.kind_trips[k];
		CHECK_EQ_INT(sum, tr1.n);
		for (size_t i = 0; i < 7; i++) {
			engine_trigger_stats_t ts;
			CHECK_OK(engine_trigger_stats(e1, i, &ts));
			CHECK_EQ_INT(ts.trips, by_trig[i]);
			CHECK_EQ_INT(s.kind_trips[ts.kind], by_trig[i]);
			CHECK(ts.routed > 0);
		}
		for (size_t k = 0; k < ENGINE_EVENT_KINDS; k++)
			ev += s.by_event[k];
		CHECK_EQ_INT(ev, s.events);
		CHECK_EQ_INT(s.bad_feed, 0);
		CHECK(s.time_calls > 0 && s.balances > 0);
	}
out:
	done(e1, cfg1);
	done(e2, cfg2);
}

static void test_bad_input(void)
{
	char text[4096];
	config_keeper_t *cfg;
	static trips_t tr;
	engine_stats_t s;
	engine_t *e = NULL;
	size_t bad = 0;

	/* Windows of any length build (det_price_move grows its deques and
	 * coarsens time past 4.66 h): 2 h and 30 days, next to a stale one. */
	snprintf(text, sizeof text, "%striggers = ( { name = \"ok\"; kind = \"stale\"; "
		 "feed = \"a\"; after_ms = 10; action = \"p\"; }, { name = \"pm\"; "
		 "kind = \"price_move\"; feed = \"a\"; window_ms = 7200000; "
		 "threshold_pct = 5; action = \"p\"; }, { name = \"pm30d\"; "
		 "kind = \"price_move\"; feed = \"a\"; window_ms = 2592000000L; "
		 "threshold_pct = 5; action = \"p\"; } );\n", HEAD_CFG);
	cfg = load_cfg(text);
	CHECK(cfg != NULL);
	if (cfg) {
		CHECK_OK(engine_new(cfg, NULL, NULL, NULL, &e, &bad));
		CHECK_EQ_INT(bad, SIZE_MAX);
		CHECK(e != NULL);
		engine_free(e);
		e = NULL;
	}
	config_free(cfg);
	CHECK_ERR(engine_new(NULL, NULL, NULL, NULL, &e, &bad), KERR_ARG);
	CHECK_EQ_INT(bad, SIZE_MAX);

	e = mk(&cfg, "{ name = \"pm\"; kind = \"price_move\"; feed = \"a\"; window_ms = 1000; threshold_pct = 5; action = \"p\"; }",
	       &tr, 0);
	if (!e)
		goto out;
	CHECK_EQ_INT(tick(e, 9, 100, 1.0), 0);
	CHECK_EQ_INT(tick(e, 0, 100, NAN), 0);
	engine_stats(e, &s);
	CHECK_EQ_INT(s.bad_feed, 1);
	CHECK_EQ_INT(s.events, 2);
	CHECK_EQ_INT(engine_ntriggers(e), 1);
	CHECK_EQ_INT(engine_balance_wants(e, NULL, 0), 0);
out:
	done(e, cfg);
}

int main(void)
{
	RUN(test_price_routing);
	RUN(test_deviation_routing);
	RUN(test_outflow_routing);
	RUN(test_time_stale_depeg);
	RUN(test_time_confirm);
	RUN(test_cooldown_per_trigger);
	RUN(test_price_move_expires);
	RUN(test_external);
	RUN(test_seed_cooldown);
	RUN(test_determinism);
	RUN(test_bad_input);
	return t_done();
}
