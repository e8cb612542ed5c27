/*
 * test_replay: keeper/replay and engine_next_due, the virtual clock.
 *
 *   - engine_next_due names the exact times of stale silence, a depeg's
 *     hold end, confirm_ms and cooldown repeats, outflow bucket expiry, and
 *     INT64_MAX when nothing is pending;
 *   - a replay on due times gives exactly the trips of an engine driven by
 *     engine_time() every millisecond, on a random series with depeg hold,
 *     confirm_ms, cooldowns, stale silence and deviation freshness;
 *   - raw node frames and raw feed frames (tests/fixtures/frames) go through
 *     the real parsers: events by kind, replies, ignored messages; heads
 *     set the gas market; bad lines are counted by kind;
 *   - a trip's transaction: calldata, nonce from 0, fees from the recorded
 *     head or the --gas file (mapping checked against independently
 *     computed figures), signed and recoverable with a signer;
 *   - the gas file parser on the real file and on broken ones;
 *   - the decimated series keeps a crash's low and stays bounded;
 *   - determinism: two runs give byte-identical JSON and HTML reports;
 *   - node_parse_doc (the frame read from the replay line's own tokens)
 *     against node_parse_frame on every fixture frame and thousands of
 *     mutations of them, and at the parser's length and token limits;
 *   - mempool triggers: without simulate judged on each matching recorded
 *     pending transaction (trip at the line's time, carrying the tx); with
 *     simulate counted as not evaluated, never tripping.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper/det_outflow.h"
#include "keeper/engine.h"
#include "keeper/node_parse.h"
#include "keeper/replay.h"
#include "keeper/report.h"
#include "signer/signer.h"
#include "signer/tx.h"
#include "tests/config_util.h"
#include "tests/test.h"
#define RNG_SEED 0x7e91a7c10cull
#include "tests/rng.h"

#define TO_ADDR "0x5FbDB2315678afecb367f032d93F642f64180aa3"

#define HEAD_CFG \
	"chain = { id = 31337; ws = \"ws://127.0.0.1:8545\"; rpc = [ \"http://127.0.0.1:8545\" ]; };\n" \
	"feeds = ( { name = \"a\"; url = \"ws://127.0.0.1:1\"; preset = \"trade\"; stale_after_ms = 60000; },\n" \
	"          { name = \"b\"; url = \"ws://127.0.0.1:2\"; preset = \"ticker\"; stale_after_ms = 60000; } );\n" \
	"watch = ( { name = \"v\"; address = \"" TO_ADDR "\"; tokens = [ \"0x0000000000000000000000000000000000000011\" ]; } );\n" \
	"actions = ( { name = \"p\"; to = \"" TO_ADDR "\"; call = \"pause()\"; gas_limit = 100000; gas = \"g\"; },\n" \
	"            { name = \"q\"; to = \"" TO_ADDR "\"; call = \"pause()\"; gas_limit = 120000; gas = \"e\"; } );\n" \
	"gas = ( { name = \"g\"; strategy = \"fixed\"; max_fee_gwei = 30; priority_fee_gwei = 1.5; },\n" \
	"        { name = \"e\"; strategy = \"eip1559\"; max_fee_gwei = 5000; priority_fee_gwei = 0.5; } );\n"

static config_keeper_t *cfg_with(const char *triggers)
{
	char text[8192];

	snprintf(text, sizeof text, "%striggers = (\n%s\n);\n", HEAD_CFG, triggers);
	return load_cfg(text);
}

/* ---- engine_next_due ---------------------------------------------------- */

static engine_t *eng(const config_keeper_t *cfg, int64_t start)
{
	engine_opts_t o = { start, 0, 0 };
	engine_t *e = NULL;

	CHECK_OK(engine_new(cfg, &o, NULL, NULL, &e, NULL));
	return e;
}

static size_t tick(engine_t *e, uint32_t feed, int64_t t, double p)
{
	event_t ev;

	memset(&ev, 0, sizeof ev);
	ev.kind = EV_PRICE;
	ev.price.feed = feed;
	ev.price.price = p;
	ev.price.time_ms = t;
	ev.price.recv_ms = t;
	return engine_event(e, &ev, t);
}

static void test_due_stale(void)
{
	config_keeper_t *cfg = cfg_with(
		"{ name = \"s\"; kind = \"stale\"; feed = \"a\"; after_ms = 1000; cooldown_ms = 5000; action = \"p\"; }");
	engine_t *e = cfg ? eng(cfg, 10000) : NULL;

	if (!e)
		goto out;
	/* Silent since the start: stale from start + after_ms + 1. */
	CHECK_EQ_INT(engine_next_due(e, 10000), 11001);
	tick(e, 0, 10500, 1.0);
	CHECK_EQ_INT(engine_next_due(e, 10500), 11501);
	CHECK_EQ_INT(engine_time(e, 11500), 0);
	CHECK_EQ_INT(engine_time(e, 11501), 1);
	/* Tripped: again after the cooldown while the silence goes on. */
	CHECK_EQ_INT(engine_next_due(e, 11501), 16501);
	CHECK_EQ_INT(engine_time(e, 16500), 0);
	CHECK_EQ_INT(engine_time(e, 16501), 1);
out:
	engine_free(e);
	config_free(cfg);
}

static void test_due_depeg(void)
{
	config_keeper_t *cfg = cfg_with(
		"{ name = \"d\"; kind = \"depeg\"; feed = \"a\"; peg = 1.0; threshold_pct = 2; direction = \"down\";\n"
		"  hold_ms = 5000; cooldown_ms = 60000; action = \"p\"; },\n"
		"{ name = \"c\"; kind = \"depeg\"; feed = \"b\"; peg = 1.0; threshold_pct = 2; direction = \"down\";\n"
		"  confirm_ms = 2000; cooldown_ms = 60000; action = \"p\"; }");
	engine_t *e = cfg ? eng(cfg, 0) : NULL;

	if (!e)
		goto out;
	CHECK_EQ_INT(engine_next_due(e, 0), INT64_MAX);
	tick(e, 0, 1000, 0.999);
	CHECK_EQ_INT(engine_next_due(e, 1000), INT64_MAX);
	tick(e, 0, 2000, 0.97);
	CHECK_EQ_INT(engine_next_due(e, 2000), 7000);
	CHECK_EQ_INT(engine_time(e, 6999), 0);
	CHECK_EQ_INT(engine_time(e, 7000), 1);
	CHECK_EQ_INT(engine_next_due(e, 7000), 67000);
	/* Back on the peg: nothing pending. */
	tick(e, 0, 8000, 1.0);
	CHECK_EQ_INT(engine_next_due(e, 8000), INT64_MAX);
	/* confirm_ms on feed b: the run started at the tick. */
	tick(e, 1, 9000, 0.95);
	CHECK_EQ_INT(engine_next_due(e, 9000), 11000);
	CHECK_EQ_INT(engine_time(e, 11000), 1);
	CHECK_EQ_INT(engine_next_due(e, 11000), 71000);
out:
	engine_free(e);
	config_free(cfg);
}

static void test_due_feed_clock(void)
{
	/* A feed whose ticks are stamped 300 ms before they arrive: the hold
	 * ends on the feed's clock, placed on the engine clock. */
	config_keeper_t *cfg = cfg_with(
		"{ name = \"d\"; kind = \"depeg\"; feed = \"a\"; peg = 1.0; threshold_pct = 2; direction = \"down\";\n"
		"  hold_ms = 1000; action = \"p\"; }");
	engine_t *e = cfg ? eng(cfg, 0) : NULL;
	event_t ev;

	if (!e)
		goto out;
	memset(&ev, 0, sizeof ev);
	ev.kind = EV_PRICE;
	ev.price.price = 0.9;
	ev.price.time_ms = 4700;
	ev.price.recv_ms = 5000;
	engine_event(e, &ev, 5000);
	CHECK_EQ_INT(engine_next_due(e, 5000), 6000);
	CHECK_EQ_INT(engine_time(e, 5999), 0);
	CHECK_EQ_INT(engine_time(e, 6000), 1);
out:
	engine_free(e);
	config_free(cfg);
}

static void test_due_price_move(void)
{
	config_keeper_t *cfg = cfg_with(
		"{ name = \"m\"; kind = \"price_move\"; feed = \"a\"; window_ms = 60000; threshold_pct = 10;\n"
		"  cooldown_ms = 30000; action = \"p\"; },\n"
		"{ name = \"t\"; kind = \"price_move\"; feed = \"b\"; window_ms = 60000; threshold_pct = 10;\n"
		"  confirm_ticks = 2; action = \"p\"; }");
	engine_t *e = cfg ? eng(cfg, 0) : NULL;

	if (!e)
		goto out;
	tick(e, 0, 1000, 100);
	CHECK_EQ_INT(engine_next_due(e, 1000), INT64_MAX);
	CHECK_EQ_INT(tick(e, 0, 2000, 85), 1);
	/* The verdict holds with no news: repeated after the cooldown. */
	CHECK_EQ_INT(engine_next_due(e, 2000), 32000);
	CHECK_EQ_INT(engine_time(e, 32000), 1);
	/* confirm_ticks counts ticks only: never due by time. */
	tick(e, 1, 33000, 100);
	tick(e, 1, 34000, 80);
	CHECK_EQ_INT(engine_next_due(e, 34000), 62000);
out:
	engine_free(e);
	config_free(cfg);
}

static void test_due_outflow(void)
{
	/* window 25600 ms: buckets of 100 ms. */
	config_keeper_t *cfg = cfg_with(
		"{ name = \"o\"; kind = \"outflow\"; watch = \"v\"; window_ms = 25600; threshold_pct = 10;\n"
		"  min_amount = \"1000\"; action = \"p\"; }");
	engine_t *e = cfg ? eng(cfg, 0) : NULL;
	event_t ev;
	addr_t from, to;

	if (!e)
		goto out;
	CHECK_EQ_INT(engine_next_due(e, 5000), INT64_MAX);
	memset(&ev, 0, sizeof ev);
	ev.kind = EV_LOG;
	CHECK_OK(addr_parse(&ev.log.address, "0x0000000000000000000000000000000000000011", 42));
	CHECK_OK(addr_parse(&from, TO_ADDR, 42));
	CHECK_OK(addr_parse(&to, "0x00000000000000000000000000000000000000b0", 42));
	ev.log.ntopics = 3;
	memcpy(ev.log.topics[0], det_outflow_transfer_topic, 32);
	memcpy(ev.log.topics[1] + 12, from.b, 20);
	memcpy(ev.log.topics[2] + 12, to.b, 20);
	ev.log.data.p = "0x00000000000000000000000000000000000000000000000000000000000001f4";
	ev.log.data.len = strlen(ev.log.data.p);
	ev.log.block_number = 1;
	engine_event(e, &ev, 5050);
	/* 500 in the window (below min_amount): the window moves at the next
	 * 100 ms boundary. */
	CHECK_EQ_INT(engine_next_due(e, 5050), 5100);
	engine_time(e, 5100);
	CHECK_EQ_INT(engine_next_due(e, 5100), 5200);
out:
	engine_free(e);
	config_free(cfg);
}

/* ---- replay helpers ----------------------------------------------------- */

static char *tmp_file(const char *text, size_t len)
{
	char *path = strdup("/tmp/keeper-test-replay-XXXXXX");
	int fd = path ? mkstemp(path) : -1;

	if (fd < 0) {
		free(path);
		return NULL;
	}
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

/* Replay text through a fresh replay of cfg. */
static replay_t *replay_text(const config_keeper_t *cfg, const char *text,
			     const replay_opts_t *o)
{
	char *path = tmp_file(text, strlen(text));
	replay_file_t *f = NULL;
	replay_t *r = NULL;

	CHECK(path != NULL);
	if (!path)
		return NULL;
	CHECK_OK(replay_new(cfg, o, &r, NULL));
	CHECK_OK(replay_file_open(&f, path, NULL));
	if (r && f)
		CHECK_OK(replay_run(r, f));
	replay_file_close(f);
	unlink(path);
	free(path);
	return r;
}

/* ---- virtual clock vs. a millisecond timer ------------------------------ */

typedef struct {
	size_t n;
	size_t trig[4096];
	int64_t t[4096];
} brute_t;

static void brute_trip(void *ctx, size_t trigger, const detect_trip_t *trip)
{
	brute_t *b = ctx;

	if (b->n < 4096) {
		b->trig[b->n] = trigger;
		b->t[b->n] = trip->time_ms;
	}
	b->n++;
}

static void test_virtual_clock_equivalence(void)
{
	config_keeper_t *cfg = cfg_with(
		"{ name = \"dp\"; kind = \"depeg\"; feed = \"a\"; peg = 1.0; threshold_pct = 2; direction = \"down\";\n"
		"  hold_ms = 700; cooldown_ms = 1500; action = \"p\"; },\n"
		"{ name = \"st\"; kind = \"stale\"; feed = \"b\"; after_ms = 900; cooldown_ms = 2000; action = \"p\"; },\n"
		"{ name = \"pm\"; kind = \"price_move\"; feed = \"a\"; window_ms = 1000; threshold_pct = 3;\n"
		"  confirm_ms = 300; cooldown_ms = 400; action = \"p\"; },\n"
		"{ name = \"dv\"; kind = \"deviation\"; feeds = [ \"a\", \"b\" ]; threshold_pct = 4; max_age_ms = 600;\n"
		"  cooldown_ms = 1000; action = \"p\"; }");
	size_t cap = 1 << 20, len = 0, nev = 0;
	char *text = malloc(cap);
	int64_t *et = malloc(4000 * sizeof *et);
	double *ep = malloc(4000 * sizeof *ep);
	int *ef = malloc(4000 * sizeof *ef);
	int64_t t = 1700000000000;
	double pa = 1.0, pb = 1.0;
	brute_t *br = calloc(1, sizeof *br);
	engine_t *e = NULL;
	replay_t *r = NULL;
	engine_opts_t o = { 0, 0, 0 };

	if (!cfg || !text || !et || !ep || !ef || !br)
		goto out;
	while (nev < 4000 && t < 1700000000000 + 300000) {
		int f = rnd() % 3 == 0;

		t += (int64_t)(rnd() % 5 == 0 ? rnd() % 1500 : rnd() % 120);
		if (!f) {
			pa += (rnd01() - 0.5) * 0.02;
			if (rnd() % 40 == 0)
				pa = 0.93 + rnd01() * 0.1;
			if (pa < 0.5)
				pa = 0.5;
		} else {
			pb = 1.0 + (rnd01() - 0.5) * 0.1;
		}
		et[nev] = t;
		ep[nev] = f ? pb : pa;
		ef[nev] = f;
		len += (size_t)snprintf(text + len, cap - len, "{\"t\":%lld,\"src\":\"%s\",\"price\":%.17g}\n",
					(long long)t, f ? "b" : "a", ep[nev]);
		nev++;
	}
	/* Brute force: engine_time at every millisecond, then that ms's events. */
	o.start_ms = et[0];
	CHECK_OK(engine_new(cfg, &o, brute_trip, br, &e, NULL));
	if (!e)
		goto out;
	for (int64_t ms = et[0], k = 0; ms <= et[nev - 1]; ms++) {
		engine_time(e, ms);
		for (; (size_t)k < nev && et[k] == ms; k++)
			tick(e, (uint32_t)ef[k], ms, ep[k]);
	}
	r = replay_text(cfg, text, NULL);
	if (!r)
		goto out;
	CHECK(br->n > 20);
	CHECK_EQ_INT(replay_ntrips(r), br->n);
	for (size_t i = 0; i < br->n && i < replay_ntrips(r); i++) {
		const replay_trip_t *x = replay_trip(r, i);

		CHECK_MSG(x->trigger == br->trig[i] && x->trip.time_ms == br->t[i],
			  "trip %zu: replay %zu at %lld, timer %zu at %lld", i, x->trigger,
			  (long long)x->trip.time_ms, br->trig[i], (long long)br->t[i]);
		if (x->trigger != br->trig[i] || x->trip.time_ms != br->t[i])
			break;
	}
	for (size_t k = 0; k < 4; k++)
		CHECK_MSG(replay_trigger_trips(r, k) > 0, "trigger %zu never tripped", k);
	printf("virtual clock: %zu events, %zu trips, identical to a 1 ms timer\n", nev, br->n);
out:
	replay_free(r);
	engine_free(e);
	free(text);
	free(et);
	free(ep);
	free(ef);
	free(br);
	config_free(cfg);
}

/* ---- raw frames --------------------------------------------------------- */

/* Wrap each frame of a fixture as a raw line of src, from t on. */
static size_t wrap(char *out, size_t cap, const char *fixture, const char *src, int64_t *t)
{
	size_t len = 0, n = 0;
	char *data = t_read_file(fixture, &len);
	char *p = data, *nl;

	CHECK(data != NULL);
	if (!data)
		return 0;
	for (; p < data + len && (nl = memchr(p, '\n', (size_t)(data + len - p))); p = nl + 1) {
		if (nl == p)
			continue;
		n += (size_t)snprintf(out + n, cap - n, "{\"t\":%lld,\"src\":\"%s\",\"raw\":%.*s}\n",
				      (long long)(*t += 10), src, (int)(nl - p), p);
	}
	free(data);
	return n;
}

#define RAW_TRIGGERS \
	"{ name = \"cb\"; kind = \"depeg\"; feed = \"b\"; peg = 1.0; threshold_pct = 2; direction = \"down\";\n" \
	"  action = \"q\"; },\n" \
	"{ name = \"bn\"; kind = \"price_move\"; feed = \"a\"; window_ms = 1000; threshold_pct = 50; action = \"p\"; }"

static char *raw_text(void)
{
	size_t cap = 1 << 20, n = 0;
	char *text = malloc(cap);
	int64_t t = 1678520000000;

	if (!text)
		return NULL;
	n += wrap(text + n, cap - n, "tests/fixtures/frames/anvil-stream.jsonl", "node", &t);
	n += wrap(text + n, cap - n, "tests/fixtures/frames/feed-binance.jsonl", "a", &t);
	n += wrap(text + n, cap - n, "tests/fixtures/frames/feed-coinbase.jsonl", "b", &t);
	/* Bad lines: not JSON, an unknown src, a frame the node parser
	 * refuses, a feed frame without its price. */
	n += (size_t)snprintf(text + n, cap - n,
			      "{\"t\":%lld,\"src\":\"node\",\"raw\"\n"
			      "{\"t\":%lld,\"src\":\"nosuch\",\"price\":1}\n"
			      "{\"t\":%lld,\"src\":\"node\",\"raw\":{\"jsonrpc\":\"2.0\",\"method\":\"x\"}}\n"
			      "{\"t\":%lld,\"src\":\"b\",\"raw\":{\"type\":\"ticker\",\"time\":\"2023-03-11T07:41:24Z\"}}\n",
			      (long long)t + 10, (long long)t + 20, (long long)t + 30, (long long)t + 40);
	return text;
}

static void test_raw_frames(void)
{
	config_keeper_t *cfg = cfg_with(RAW_TRIGGERS);
	char *text = raw_text();
	replay_t *r = NULL;
	replay_stats_t st;
	const replay_trip_t *x;

	if (!cfg || !text)
		goto out;
	r = replay_text(cfg, text, NULL);
	if (!r)
		goto out;
	replay_stats(r, &st);
	/* anvil-stream: 4 acks, 6 full pending transactions and 6 hashes, 6
	 * heads, 4 logs; binance: 1 trade of 4 messages; coinbase: 2 tickers of
	 * 4 messages. */
	CHECK_EQ_INT(st.by_event[EV_PENDING_TX], 12);
	CHECK_EQ_INT(st.by_event[EV_HEAD], 6);
	CHECK_EQ_INT(st.by_event[EV_LOG], 4);
	CHECK_EQ_INT(st.by_event[EV_PRICE], 3);
	CHECK_EQ_INT(st.replies, 4);
	CHECK_EQ_INT(st.ignored, 5);
	CHECK_EQ_INT(st.bad, 4);
	CHECK_EQ_INT(st.bad_by[REPLAY_E_CUT], 1);
	CHECK_EQ_INT(st.bad_by[REPLAY_BAD_UNKNOWN_SRC], 1);
	CHECK_EQ_INT(st.bad_by[REPLAY_BAD_NODE_FRAME], 1);
	CHECK_EQ_INT(st.bad_by[REPLAY_BAD_FEED_FRAME], 1);
	CHECK_EQ_INT(st.lines, 26 + 4 + 4 + 4);
	/* The 0.8774 USDC ticker trips the depeg; its fees come from the last
	 * anvil head: eip1559, 2 * next base fee + the floor (no history). */
	CHECK_EQ_INT(replay_ntrips(r), 1);
	if ((x = replay_trip(r, 0))) {
		CHECK_EQ_STR(x->trip.trigger, "cb");
		CHECK_EQ_INT(x->tx_err, KERR_OK);
		CHECK_EQ_INT(x->market, REPLAY_MARKET_HEAD);
		CHECK_EQ_INT(x->nonce, 0);
		CHECK_EQ_INT(x->gas, 120000);
		CHECK_EQ_INT(x->data_len, 4);
		CHECK_EQ_MEM(x->data, "\x84\x56\xcb\x59", 4);
		CHECK(!x->has_raw);
		CHECK_EQ_INT(x->trip.time_ms, 1678520483123);  /* the ticker's own time */
	}
out:
	replay_free(r);
	free(text);
	config_free(cfg);
}

/* The market of the last anvil head, computed from the frame itself. */
static void test_head_market_fees(void)
{
	config_keeper_t *cfg = cfg_with(RAW_TRIGGERS);
	char *text = raw_text();
	replay_t *r = NULL;
	const replay_trip_t *x;
	u256_t base, next, want, half;
	uint64_t used = 0, limit = 0;
	size_t len;
	char *fx = t_read_file("tests/fixtures/frames/anvil-stream.jsonl", &len);
	char *p, *q;

	if (!cfg || !text || !fx)
		goto out;
	/* Line 26 is the last head: read baseFeePerGas, gasUsed, gasLimit. */
	p = strstr(fx, "\"parentHash\"");
	for (q = p; q && (q = strstr(q + 1, "\"parentHash\"")); )
		p = q;
	CHECK(p != NULL);
	if (!p)
		goto out;
	{
		char *b = strstr(p, "\"baseFeePerGas\":\"") + 17, *u = strstr(p, "\"gasUsed\":\"") + 11,
		     *l = strstr(p, "\"gasLimit\":\"") + 12;

		CHECK_OK(u256_from_hex(&base, b, (size_t)(strchr(b, '"') - b)));
		used = strtoull(u, NULL, 16);
		limit = strtoull(l, NULL, 16);
	}
	/* EIP-1559 by hand, the gas used below target on an idle anvil. */
	CHECK(used < limit / 2);
	{
		u256_t d;
		uint64_t rem;

		CHECK_OK(u256_mul_u64(&d, &base, limit / 2 - used));
		CHECK_OK(u256_div_u64(&d, &d, limit / 2, &rem));
		CHECK_OK(u256_div_u64(&d, &d, 8, &rem));
		CHECK_OK(u256_sub(&next, &base, &d));
	}
	CHECK_OK(u256_mul_u64(&want, &next, 2));
	CHECK_OK(u256_from_dec(&half, "500000000", 9));
	CHECK_OK(u256_add(&want, &want, &half));
	r = replay_text(cfg, text, NULL);
	if (r && (x = replay_trip(r, 0))) {
		CHECK(u256_cmp(&x->fees.max_fee, &want) == 0);
		CHECK(u256_cmp(&x->fees.priority_fee, &half) == 0);
	}
out:
	replay_free(r);
	free(fx);
	free(text);
	config_free(cfg);
}

/* ---- the gas file ------------------------------------------------------- */

static void test_gas_file(void)
{
	replay_gas_t g;
	gas_market_t m;
	u256_t rw, want;
	size_t where;
	const char *what;
	const char *bad_order =
		"{\"data\":[{\"timestamp\":\"2020-03-12T00:10:00.000Z\",\"30.0 Perc\":1,\"60.0 Perc\":2},"
		"{\"timestamp\":\"2020-03-12T00:00:00.000Z\",\"30.0 Perc\":1,\"60.0 Perc\":2}]}";
	const char *missing =
		"{\"data\":[{\"timestamp\":\"2020-03-12T00:10:00.000Z\",\"30.0 Perc\":1,\"60.0 Perc\":2},"
		"{\"timestamp\":\"2020-03-12T00:20:00.000Z\",\"60.0 Perc\":2}]}";
	const char *negative =
		"{\"data\":[{\"timestamp\":\"2020-03-12T00:10:00.000Z\",\"30.0 Perc\":-1,\"60.0 Perc\":2}]}";

	CHECK_OK(replay_gas_load("tests/data/prices/gas_03-12-2020.json", &g, &where, &what));
	CHECK_EQ_INT(g.n, 144);
	if (g.n == 144) {
		/* Bucket 0: 30th 4526965738.059997 -> 4526965738 wei; 60th
		 * 6924610389.526622 -> 6924610390; reward the difference. */
		CHECK_EQ_INT(g.b[0].t_ms, 1583971200000);
		u256_from_u64(&want, 4526965738ull);
		CHECK(u256_cmp(&g.b[0].base_fee, &want) == 0);
		u256_from_u64(&want, 6924610390ull - 4526965738ull);
		CHECK(u256_cmp(&g.b[0].reward, &want) == 0);
		/* Inside bucket 1 (00:10 .. 00:20): 30th 2058914832.614442 and
		 * 60th 6000000000.412008. */
		CHECK(replay_gas_market(&g, 1583971200000 + 600000 + 1234, &m, &rw));
		u256_from_u64(&want, 2058914833ull);
		CHECK(m.has_head && u256_cmp(&m.base_fee, &want) == 0);
		CHECK_EQ_INT(m.nrewards, 1);
		u256_from_u64(&want, 6000000000ull - 2058914833ull);
		CHECK(m.rewards && u256_cmp(&m.rewards[0], &want) == 0);
		CHECK_EQ_INT(m.gas_used * 2, m.gas_limit);
		CHECK(!replay_gas_market(&g, 1583971200000 - 1, &m, &rw));
		CHECK(replay_gas_market(&g, g.b[143].t_ms + 599999, &m, &rw));
		CHECK(!replay_gas_market(&g, g.b[143].t_ms + 600000, &m, &rw));
	}
	replay_gas_free(&g);
	CHECK_ERR(replay_gas_parse(bad_order, strlen(bad_order), &g, &where, &what),
		  KERR_IMPORT_INVALID);
	CHECK_EQ_INT(where, 1);
	CHECK_ERR(replay_gas_parse(missing, strlen(missing), &g, &where, &what), KERR_NOT_FOUND);
	CHECK_EQ_INT(where, 1);
	CHECK_EQ_STR(what, "30.0 Perc");
	CHECK_ERR(replay_gas_parse(negative, strlen(negative), &g, &where, &what), KERR_NUM_RANGE);
	CHECK_ERR(replay_gas_parse("{\"data\":[]}", 11, &g, &where, &what), KERR_IMPORT_INVALID);
	CHECK_ERR(replay_gas_parse("[1,", 3, &g, &where, &what), KERR_TRUNCATED);
	CHECK_ERR(replay_gas_load("/nonexistent/gas.json", &g, &where, &what), KERR_IO);
}

/* A trip priced from the gas file: eip1559 on a steady block is
 * 2 * base + max(reward, floor). */
static void test_gas_file_trip(void)
{
	config_keeper_t *cfg = cfg_with(
		"{ name = \"d\"; kind = \"depeg\"; feed = \"a\"; peg = 1.0; threshold_pct = 2; direction = \"down\";\n"
		"  action = \"q\"; }");
	replay_gas_t g;
	replay_opts_t o;
	replay_t *r = NULL;
	const replay_trip_t *x;
	u256_t want, rw;
	const char *text = "{\"t\":1583971800000,\"src\":\"a\",\"price\":1}\n"
			   "{\"t\":1583971801234,\"src\":\"a\",\"price\":0.9}\n";

	CHECK_OK(replay_gas_load("tests/data/prices/gas_03-12-2020.json", &g, NULL, NULL));
	if (!cfg || g.n != 144)
		goto out;
	memset(&o, 0, sizeof o);
	o.gas = &g;
	r = replay_text(cfg, text, &o);
	if (r && (x = replay_trip(r, 0))) {
		CHECK_EQ_INT(x->market, REPLAY_MARKET_GAS_FILE);
		u256_from_u64(&rw, 6000000000ull - 2058914833ull);
		u256_from_u64(&want, 2 * 2058914833ull);
		CHECK_OK(u256_add(&want, &want, &rw));
		CHECK(u256_cmp(&x->fees.max_fee, &want) == 0);
		CHECK(u256_cmp(&x->fees.priority_fee, &rw) == 0);
	}
out:
	replay_free(r);
	replay_gas_free(&g);
	config_free(cfg);
}

/* ---- signing, nonces ---------------------------------------------------- */

static void test_signed_trips(void)
{
	config_keeper_t *cfg = cfg_with(
		"{ name = \"d\"; kind = \"depeg\"; feed = \"a\"; peg = 1.0; threshold_pct = 2; direction = \"down\";\n"
		"  cooldown_ms = 1000; action = \"p\"; }");
	static const uint8_t key[32] = { 0xac, 0x09, 0x74, 0xbe, 0xc3, 0x9a, 0x17, 0xe3, 0x6b, 0xa4,
		0xa6, 0xb4, 0xd2, 0x38, 0xff, 0x94, 0x4b, 0xac, 0xb4, 0x78, 0xcb, 0xed, 0x5e, 0xfc,
		0xae, 0x78, 0x4d, 0x7b, 0xf4, 0xf2, 0xff, 0x80 };
	signer_t *s = NULL;
	replay_opts_t o;
	replay_t *r = NULL;
	addr_t me, from, to;
	uint8_t sel[1][4] = { { 0x84, 0x56, 0xcb, 0x59 } };
	const char *text = "{\"t\":1000000,\"src\":\"a\",\"price\":0.9}\n"
			   "{\"t\":1003500,\"src\":\"a\",\"price\":0.9}\n";

	if (!cfg)
		return;
	CHECK_OK(signer_new(&s));
	CHECK_OK(signer_set_key(s, key));
	CHECK_OK(signer_address(s, &me));
	CHECK_OK(addr_parse(&to, TO_ADDR, 42));
	CHECK_OK(signer_restrict(s, &to, (const uint8_t (*)[4])sel, 1));
	memset(&o, 0, sizeof o);
	o.signer = s;
	r = replay_text(cfg, text, &o);
	/* 1000000, then cooldown repeats at 1001000, 1002000, 1003000 (the
	 * verdict holds with no news), and the tick at 1003500 is inside the
	 * cooldown. */
	CHECK_EQ_INT(replay_ntrips(r), 4);
	for (size_t i = 0; r && i < replay_ntrips(r); i++) {
		const replay_trip_t *x = replay_trip(r, i);
		tx_t tx;
		tx_sig_t sig;
		tx_access_t acc[TX_MAX_ACCESS];

		CHECK_EQ_INT(x->trip.time_ms, 1000000 + 1000 * (int64_t)i);
		CHECK(x->has_raw);
		CHECK_EQ_INT(x->nonce, i);
		CHECK_OK(tx_decode(x->raw, x->raw_len, &tx, &sig, acc));
		CHECK_EQ_INT(tx.nonce, i);
		CHECK_EQ_INT(tx.chain_id, 31337);
		CHECK_EQ_INT(tx.gas_limit, 100000);
		CHECK(tx.data_len == 4 && memcmp(tx.data, sel[0], 4) == 0);
		CHECK_OK(tx_sender(x->raw, x->raw_len, &from));
		CHECK(addr_eq(&from, &me));
	}
	replay_free(r);
	signer_free(s);
	config_free(cfg);
}

/* ---- series and determinism --------------------------------------------- */

static void test_series(void)
{
	config_keeper_t *cfg = cfg_with(
		"{ name = \"d\"; kind = \"depeg\"; feed = \"a\"; peg = 1.0; threshold_pct = 50; direction = \"down\";\n"
		"  action = \"p\"; }");
	replay_t *r = NULL;
	replay_point_t *pt = malloc(2 * REPLAY_SERIES_BUCKETS * sizeof *pt);
	size_t n;
	bool low = false, high = false;

	if (!cfg || !pt)
		goto out;
	CHECK_OK(replay_new(cfg, NULL, &r, NULL));
	for (int64_t i = 0; r && i < 200000; i++) {
		replay_line_t ln;

		memset(&ln, 0, sizeof ln);
		ln.t = 1600000000000 + i * 37;
		ln.src.p = "a";
		ln.src.len = 1;
		ln.kind = REPLAY_PRICE;
		ln.price = 100 + sin((double)i / 1000.0);
		if (i == 123457)
			ln.price = 3.25;     /* a one-tick crash */
		if (i == 7)
			ln.price = 999;
		CHECK_OK(replay_line(r, &ln));
	}
	n = replay_series(r, 0, pt, 2 * REPLAY_SERIES_BUCKETS);
	CHECK(n > REPLAY_SERIES_BUCKETS / 2 && n <= 2 * REPLAY_SERIES_BUCKETS);
	for (size_t i = 0; i < n; i++) {
		if (pt[i].price == 3.25 && pt[i].t == 1600000000000 + 123457 * 37)
			low = true;
		if (pt[i].price == 999)
			high = true;
		if (i)
			CHECK(pt[i].t >= pt[i - 1].t);
	}
	CHECK(low);
	CHECK(high);
	CHECK_EQ_INT(replay_series(r, 1, NULL, 0), 0);
out:
	replay_free(r);
	free(pt);
	config_free(cfg);
}

static void test_determinism(void)
{
	config_keeper_t *cfg = cfg_with(RAW_TRIGGERS);
	char *text = raw_text(), *j[2] = { NULL, NULL }, *h[2] = { NULL, NULL };
	size_t jl[2] = { 0, 0 }, hl[2] = { 0, 0 };

	if (!cfg || !text)
		goto out;
	for (int k = 0; k < 2; k++) {
		replay_t *r = replay_text(cfg, text, NULL);

		if (!r)
			continue;
		CHECK_OK(report_json(r, &j[k], &jl[k]));
		CHECK_OK(report_html(r, "raw.jsonl", &h[k], &hl[k]));
		replay_free(r);
	}
	CHECK(jl[0] > 100 && jl[0] == jl[1] && j[0] && j[1] && memcmp(j[0], j[1], jl[0]) == 0);
	CHECK(hl[0] > 1000 && hl[0] == hl[1] && h[0] && h[1] && memcmp(h[0], h[1], hl[0]) == 0);
out:
	for (int k = 0; k < 2; k++) {
		free(j[k]);
		free(h[k]);
	}
	free(text);
	config_free(cfg);
}

/* ---- node_parse_doc == node_parse_frame --------------------------------- */

/* An event with its views replaced by their contents' length and first
 * byte, so that two parses of the same text in different buffers compare
 * equal with memcmp. */
static void ev_norm(event_t *ev)
{
	event_hex_t *h = ev->kind == EV_PENDING_TX ? &ev->tx.input :
			 ev->kind == EV_LOG ? &ev->log.data : NULL;

	if (h && h->p) {
		size_t sum = 0;

		for (size_t i = 0; i < h->len; i++)
			sum = sum * 31 + (unsigned char)h->p[i];
		h->p = (const char *)(uintptr_t)sum;
	}
}

/* Frames compared (the rest did not make a good replay line). */
static size_t n_compared;

/* One frame both ways: through a replay line (its tokens) and alone.
 * Returns 1 when they differ. */
static int doc_vs_frame(node_parser_t *pa, node_parser_t *pb, const char *frame,
			size_t flen, size_t *n_ok)
{
	char *line = malloc(flen + 64), *path;
	int n = snprintf(line, 64, "{\"t\":1,\"src\":\"node\",\"raw\":");
	replay_file_t *f = NULL;
	replay_line_t ln;
	node_frame_t fa, fb;
	event_t ea, eb;
	kerr_t xa, xb;
	int differ = 0;

	memcpy(line + n, frame, flen);
	memcpy(line + n + flen, "}\n", 3);
	path = tmp_file(line, (size_t)n + flen + 2);
	free(line);
	if (!path || replay_file_open(&f, path, NULL) != KERR_OK ||
	    replay_file_next(f, &ln) != KERR_OK) {
		replay_file_close(f);
		if (path)
			unlink(path);
		free(path);
		return 1;
	}
	/* Only frames that make a good line reach the parser in a replay. */
	if (ln.err != REPLAY_OK || !ln.doc) {
		replay_file_close(f);
		unlink(path);
		free(path);
		return 0;
	}
	n_compared++;
	memset(&ea, 0, sizeof ea);
	memset(&eb, 0, sizeof eb);
	xa = node_parse_doc(pa, ln.doc, ln.frame_tok, &fa, &ea);
	xb = node_parse_frame(pb, frame, flen, &fb, &eb);
	if (xa != xb || (pa->what == NULL) != (pb->what == NULL) ||
	    (pa->what && strcmp(pa->what, pb->what) != 0))
		differ = 1;
	else if (xa == KERR_OK) {
		if (fa.kind != fb.kind)
			differ = 1;
		else if (fa.kind == NODE_FRAME_EVENT) {
			ev_norm(&ea);
			ev_norm(&eb);
			differ = fa.sub.len != fb.sub.len ||
				 memcmp(fa.sub.p, fb.sub.p, fa.sub.len) != 0 ||
				 memcmp(&ea, &eb, sizeof ea) != 0;
		} else {
			/* The reply's members, as text in each document. */
			size_t ia[3] = { fa.id, fa.result, fa.error },
			       ib[3] = { fb.id, fb.result, fb.error };

			for (int k = 0; k < 3; k++) {
				jtok_view_t va, vb;

				if ((ia[k] == JTOK_NONE) != (ib[k] == JTOK_NONE)) {
					differ = 1;
					break;
				}
				if (ia[k] == JTOK_NONE)
					continue;
				va = jtok_text(ln.doc, ia[k]);
				vb = jtok_text(&pb->doc, ib[k]);
				if (va.len != vb.len || memcmp(va.p, vb.p, va.len) != 0)
					differ = 1;
			}
			differ |= fa.id_is_num != fb.id_is_num || fa.id_num != fb.id_num;
		}
		if (!differ)
			(*n_ok)++;
	}
	if (differ)
		CHECK_MSG(0, "doc %s (%s), frame %s (%s): %.*s", kerr_str(xa),
			  pa->what ? pa->what : "-", kerr_str(xb), pb->what ? pb->what : "-",
			  (int)(flen > 200 ? 200 : flen), frame);
	replay_file_close(f);
	unlink(path);
	free(path);
	return differ;
}

static void test_node_parse_doc(void)
{
	static const char *const fixtures[] = {
		"tests/fixtures/frames/anvil-stream.jsonl",
		"tests/fixtures/frames/anvil-berlin.jsonl",
		"tests/fixtures/frames/anvil-replies.jsonl",
	};
	node_parser_t pa, pb, sa, sb;
	size_t frames = 0, mutants = 0, good = 0;
	int differ = 0;

	CHECK_OK(node_parse_init(&pa, 0));
	CHECK_OK(node_parse_init(&pb, 0));
	/* 8 KiB frames: 1,024 tokens, so the token limit can be met below the
	 * length limit. */
	CHECK_OK(node_parse_init(&sa, 8192));
	CHECK_OK(node_parse_init(&sb, 8192));
	for (size_t fi = 0; fi < sizeof fixtures / sizeof fixtures[0]; fi++) {
		size_t len = 0;
		char *data = t_read_file(fixtures[fi], &len), *p, *nl;

		CHECK(data != NULL);
		if (!data)
			continue;
		for (p = data; p < data + len && (nl = memchr(p, '\n', (size_t)(data + len - p)));
		     p = nl + 1) {
			size_t fl = (size_t)(nl - p);
			char *m;

			if (!fl)
				continue;
			frames++;
			differ += doc_vs_frame(&pa, &pb, p, fl, &good);
			if (!(m = malloc(fl + 32)))
				continue;
			/* Mutations: one byte replaced, deleted or doubled. */
			for (int k = 0; k < 300 && differ < 5; k++) {
				static const char alpha[] = "0x1fF\"{}[],:-.ntu \\9";
				uint64_t x = rnd();
				size_t at = (size_t)(x >> 8) % fl, ml = fl;
				char c = alpha[(x >> 32) % (sizeof alpha - 1)];

				memcpy(m, p, fl);
				if (x % 3 == 0) {
					m[at] = c;
				} else if (x % 3 == 1) {
					memmove(m + at, m + at + 1, fl - at - 1);
					ml--;
				} else {
					memmove(m + at + 1, m + at, fl - at);
					ml++;
				}
				mutants++;
				differ += doc_vs_frame(&pa, &pb, m, ml, &good);
			}
			free(m);
		}
		free(data);
	}
	/* The limits: a frame over the length limit, and one within it with
	 * more tokens than the parser holds (an ignored member of 1,100
	 * numbers), then one just within both. */
	{
		static const char head[] = "{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\","
			"\"params\":{\"subscription\":\"0x1\",\"result\":\"0x"
			"00000000000000000000000000000000000000000000000000000000000000aa\"},\"x\":";
		char *big = malloc(16384);
		size_t hl = sizeof head - 1, n;

		if (big) {
			/* Tokens: 13 + k (the root, 3 members, params' 2, the key
			 * "x" and its array of k): 1,024 is the limit. */
			for (size_t k = 1000; k < 1020; k++) {
				memcpy(big, head, hl);
				n = hl;
				big[n++] = '[';
				for (size_t j = 0; j < k; j++) {
					big[n++] = '0';
					big[n++] = j + 1 < k ? ',' : ']';
				}
				big[n++] = '}';
				differ += doc_vs_frame(&sa, &sb, big, n, &good);
			}
			for (size_t want = 8188; want < 8197; want++) {
				memcpy(big, head, hl);
				n = hl;
				big[n++] = '"';
				while (n < want - 2)
					big[n++] = 'a';
				big[n++] = '"';
				big[n++] = '}';
				differ += doc_vs_frame(&sa, &sb, big, n, &good);
			}
			free(big);
		}
	}
	CHECK_EQ_INT(differ, 0);
	CHECK(good > frames);
	printf("node_parse_doc: %zu fixture frames, %zu mutations and 29 at the limits; "
	       "%zu made a good replay line: %zu parsed alike to the event, %zu refused "
	       "alike (same code and field)\n", frames, mutants, n_compared, good,
	       n_compared - good);
	node_parse_release(&pa);
	node_parse_release(&pb);
	node_parse_release(&sa);
	node_parse_release(&sb);
}

/* ---- mempool triggers ----------------------------------------------------- */

/* The contract of tests/fixtures/frames/anvil-stream.jsonl that four of its
 * six full pending transactions call (lines 12, 17, 22, 25). */
#define MP_WATCH "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"

static void test_mempool(void)
{
	char text[4096];
	config_keeper_t *cfg;
	char *frames, *p, *nl;
	size_t len = 0, nfull = 0, line = 0;
	int64_t t = 1700000000000;
	char want_hash[4][67];
	int64_t want_t[4];
	replay_stats_t st;
	replay_t *r = NULL;

	snprintf(text, sizeof text,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:8545\"; rpc = [ \"http://127.0.0.1:8545\" ]; };\n"
		 "watch = ( { name = \"w\"; address = \"%s\"; } );\n"
		 "actions = ( { name = \"p\"; to = \"" TO_ADDR "\"; call = \"pause()\"; gas_limit = 100000; gas = \"o\"; } );\n"
		 "gas = ( { name = \"o\"; strategy = \"outbid\"; max_fee_gwei = 500; } );\n"
		 "triggers = (\n"
		 " { name = \"mp\"; kind = \"mempool\"; watch = \"w\"; threshold_pct = 10; cooldown_ms = 1; action = \"p\"; },\n"
		 " { name = \"ms\"; kind = \"mempool\"; watch = \"w\"; simulate = true; threshold_pct = 10; action = \"p\"; },\n"
		 " { name = \"mo\"; kind = \"mempool\"; watch = \"w\"; selectors = [ \"0xa9059cbb\" ];\n"
		 "   allow = [ \"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\" ]; threshold_pct = 10; action = \"p\"; } );\n",
		 MP_WATCH);
	cfg = load_cfg(text);
	frames = t_read_file("tests/fixtures/frames/anvil-stream.jsonl", &len);
	CHECK(cfg != NULL && frames != NULL);
	if (!cfg || !frames)
		goto out;
	/* The expectation from the frames themselves: the full pending
	 * transactions to the watch, their hashes and line times. */
	{
		char *out = malloc(len * 2 + 4096);
		size_t n = 0;

		if (!out)
			goto out;
		for (p = frames; p < frames + len && (nl = memchr(p, '\n', (size_t)(frames + len - p)));
		     p = nl + 1) {
			char *h;

			t += 10;
			line++;
			n += (size_t)snprintf(out + n, len * 2 + 4096 - n,
					      "{\"t\":%lld,\"src\":\"node\",\"raw\":%.*s}\n",
					      (long long)t, (int)(nl - p), p);
			*nl = 0;
			if (strstr(p, "\"eth_subscription\"") && strstr(p, "\"from\"") &&
			    strstr(p, "\"to\":\"" MP_WATCH "\"") && (h = strstr(p, "\"hash\":\"")) &&
			    nfull < 4) {
				memcpy(want_hash[nfull], h + 8, 66);
				want_hash[nfull][66] = 0;
				want_t[nfull++] = t;
			}
			*nl = '\n';
		}
		r = replay_text(cfg, out, NULL);
		free(out);
	}
	CHECK_EQ_INT(nfull, 4);
	if (!r)
		goto out;
	replay_stats(r, &st);
	/* mp matches all four, ms too (not evaluated), mo none: the one
	 * transfer() call comes from the allowed dev account. */
	CHECK_EQ_INT(st.mempool_matched, 8);
	CHECK_EQ_INT(st.mempool_unevaluated, 4);
	CHECK_EQ_INT(replay_trigger_trips(r, 0), 4);
	CHECK_EQ_INT(replay_trigger_trips(r, 1), 0);
	CHECK_EQ_INT(replay_trigger_trips(r, 2), 0);
	CHECK_EQ_INT(replay_ntrips(r), 4);
	for (size_t i = 0; i < replay_ntrips(r) && i < nfull; i++) {
		const replay_trip_t *x = replay_trip(r, i);
		char hx[67];

		hx[0] = '0';
		hx[1] = 'x';
		for (int k = 0; k < 32; k++)
			snprintf(hx + 2 + 2 * k, 3, "%02x", x->trip.tx_hash[k]);
		CHECK(x->trip.has_tx);
		CHECK_EQ_STR(hx, want_hash[i]);
		CHECK_EQ_INT(x->trip.time_ms, want_t[i]);
		CHECK_EQ_INT(x->at_ms, want_t[i]);
		CHECK(x->trip.value == 100 && x->trip.threshold == 10);
		/* The rival goes to the outbid strategy: a bid above its own. */
		CHECK_EQ_INT(x->tx_err, KERR_OK);
		CHECK(u256_cmp(&x->fees.max_fee, &x->trip.tx_max_fee) > 0);
	}
	printf("mempool: %zu matching pending transactions: %llu trips without simulate, "
	       "%llu matches of simulate = true not evaluated\n", nfull,
	       (unsigned long long)replay_trigger_trips(r, 0),
	       (unsigned long long)st.mempool_unevaluated);
out:
	replay_free(r);
	free(frames);
	config_free(cfg);
}

int main(void)
{
	RUN(test_due_stale);
	RUN(test_due_depeg);
	RUN(test_due_feed_clock);
	RUN(test_due_price_move);
	RUN(test_due_outflow);
	RUN(test_virtual_clock_equivalence);
	RUN(test_raw_frames);
	RUN(test_head_market_fees);
	RUN(test_gas_file);
	RUN(test_gas_file_trip);
	RUN(test_signed_trips);
	RUN(test_series);
	RUN(test_determinism);
	RUN(test_node_parse_doc);
	RUN(test_mempool);
	return t_done();
}
