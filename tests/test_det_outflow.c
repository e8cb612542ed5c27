/*
 * test_det_outflow: the outflow detector against its definition.
 *
 * Edge cases are checked one by one (exactly at the threshold, gaps longer
 * than the window, equal and out-of-order times, duplicates, removed logs,
 * ETH balance drops, the window-start balance), then the fast detector is
 * compared on 10,000 random series with a plain O(n^2) reference that keeps
 * every transfer and re-sums the window from scratch after each step, then
 * the property that a trip depends only on the summed window, not on how
 * the outflow is split into transfers, and last long series through a ring
 * of few remembered logs against a model that searches them linearly.
 */
#include <stdint.h>
#include <string.h>

#include "keeper/det_outflow.h"
#include "tests/test.h"

#define RNG_SEED 0x243f6a8885a308d3ull
#include "tests/rng.h"

static addr_t mkaddr(uint8_t tag)
{
	addr_t a;
	memset(a.b, 0, sizeof a.b);
	a.b[0] = 0xa0;
	a.b[19] = tag;
	return a;
}

#define WATCH 0x01
#define TOK1 0x11
#define TOK2 0x12
#define OTHER 0x77

/* A log with its own data text, so event_hex_t has something to point at. */
typedef struct {
	event_log_t log;
	char data[2 + 64 * 2 + 1];
} tlog_t;

static void put_topic_addr(uint8_t topic[32], uint8_t tag)
{
	addr_t a = mkaddr(tag);
	memset(topic, 0, 32);
	memcpy(topic + 12, a.b, 20);
}

static void mklog(tlog_t *t, uint8_t token, uint8_t from, uint8_t to,
		  const u256_t *amount, uint64_t block, uint64_t idx, bool removed)
{
	uint8_t be[32];
	static const char hexd[] = "0123456789abcdef";
	memset(t, 0, sizeof *t);
	t->log.address = mkaddr(token);
	t->log.ntopics = 3;
	memcpy(t->log.topics[0], det_outflow_transfer_topic, 32);
	put_topic_addr(t->log.topics[1], from);
	put_topic_addr(t->log.topics[2], to);
	u256_to_be(amount, be);
	t->data[0] = '0';
	t->data[1] = 'x';
	for (int i = 0; i < 32; i++) {
		t->data[2 + 2 * i] = hexd[be[i] >> 4];
		t->data[3 + 2 * i] = hexd[be[i] & 15];
	}
	t->log.data.p = t->data;
	t->log.data.len = 66;
	t->log.block_number = block;
	t->log.log_index = idx;
	/* tx hash derived from block and index: distinct per log */
	memcpy(t->log.tx_hash, &block, 8);
	memcpy(t->log.tx_hash + 8, &idx, 8);
	t->log.tx_hash[31] = 0x5a;
	t->log.removed = removed;
}

static u256_t U(uint64_t v)
{
	u256_t r;
	u256_from_u64(&r, v);
	return r;
}

static uint64_t u64of(const u256_t *a)
{
	uint64_t v = UINT64_MAX;
	(void)u256_to_u64(a, &v);
	return v;
}

static addr_t g_tokens[2];

static det_outflow_cfg_t mkcfg(uint64_t window_ms, double pct, uint64_t min_amount)
{
	det_outflow_cfg_t c;
	memset(&c, 0, sizeof c);
	g_tokens[0] = mkaddr(TOK1);
	g_tokens[1] = mkaddr(TOK2);
	c.watch = mkaddr(WATCH);
	c.tokens = g_tokens;
	c.ntokens = 2;
	c.window_ms = window_ms;
	c.threshold_pct = pct;
	c.min_amount = U(min_amount);
	c.min_block_ms = 1000;
	c.max_logs = 1024;
	return c;
}

/* Feed a token outflow from the watched contract. */
static det_outflow_outcome_t out_tok(det_outflow_t *d, uint8_t tok, uint64_t amount,
				     uint64_t block, uint64_t idx, int64_t t, bool removed)
{
	tlog_t l;
	u256_t a = U(amount);
	det_outflow_outcome_t oc = DET_OUTFLOW_IGNORED;
	mklog(&l, tok, WATCH, OTHER, &a, block, idx, removed);
	CHECK_OK(det_outflow_feed_log(d, &l.log, t, &oc, NULL));
	return oc;
}

static void test_init_args(void)
{
	det_outflow_t d;
	det_outflow_cfg_t c = mkcfg(60000, 10, 0);
	c.window_ms = 0;
	CHECK_ERR(det_outflow_init(&d, &c), KERR_ARG);
	c = mkcfg(60000, 0, 0);
	CHECK_ERR(det_outflow_init(&d, &c), KERR_ARG);
	c = mkcfg(60000, 100.5, 0);
	CHECK_ERR(det_outflow_init(&d, &c), KERR_ARG);
	c = mkcfg(60000, 10, 0);
	c.max_logs = 0;
	CHECK_ERR(det_outflow_init(&d, &c), KERR_ARG);
	c = mkcfg(3600000, 10, 0);
	c.min_block_ms = 1;  /* 3.6M heads per window: beyond the ring limit */
	CHECK_ERR(det_outflow_init(&d, &c), KERR_ARG);
	c = mkcfg(60000, 100, 0);
	CHECK_OK(det_outflow_init(&d, &c));
	CHECK_EQ_INT(det_outflow_nassets(&d), 3);
	det_outflow_release(&d);
}

static void test_exactly_at_threshold(void)
{
	det_outflow_t d;
	det_outflow_cfg_t c = mkcfg(60000, 10, 0);
	det_outflow_result_t r;
	u256_t bal = U(1000);
	CHECK_OK(det_outflow_init(&d, &c));
	CHECK_OK(det_outflow_feed_balance(&d, 1, 100, 1000000, &bal, NULL));
	CHECK_EQ_INT(out_tok(&d, TOK1, 99, 101, 0, 1001000, false), DET_OUTFLOW_COUNTED);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK(!r.tripped);
	CHECK_EQ_INT(u64of(&r.outflow), 99);
	CHECK_EQ_INT(u64of(&r.pct_limit), 100);
	CHECK(r.has_base && !r.by_min_amount);
	out_tok(&d, TOK1, 1, 101, 1, 1001000, false);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK(r.tripped);
	CHECK_EQ_INT(u64of(&r.outflow), 100);
	CHECK_EQ_INT(u64of(&r.limit), 100);
	CHECK(r.threshold_pct == 10);
	CHECK(r.token.b[19] == TOK1);
	/* the other token and ETH are untouched */
	CHECK_OK(det_outflow_eval(&d, 2, &r));
	CHECK(!r.tripped && u256_is_zero(&r.outflow));
	CHECK(det_outflow_eval_any(&d, &r));
	CHECK_EQ_INT(r.asset, 1);
	det_outflow_release(&d);

	/* a limit that is not a whole number: 33.333333% of 1000 is
	 * 333.33333, so 333 stays below and 334 reaches it */
	c = mkcfg(60000, 33.333333, 0);
	CHECK_OK(det_outflow_init(&d, &c));
	CHECK_OK(det_outflow_feed_balance(&d, 2, 1, 0, &bal, NULL));
	out_tok(&d, TOK2, 333, 2, 0, 10, false);
	CHECK_OK(det_outflow_eval(&d, 2, &r));
	CHECK(!r.tripped);
	CHECK_EQ_INT(u64of(&r.pct_limit), 334);
	out_tok(&d, TOK2, 1, 2, 1, 10, false);
	CHECK_OK(det_outflow_eval(&d, 2, &r));
	CHECK(r.tripped);
	det_outflow_release(&d);
}

static void test_min_amount(void)
{
	det_outflow_t d;
	det_outflow_cfg_t c = mkcfg(60000, 50, 500);
	det_outflow_result_t r;
	u256_t bal = U(100000), zero = U(0);
	CHECK_OK(det_outflow_init(&d, &c));
	/* no balance observed: only min_amount applies */
	out_tok(&d, TOK1, 499, 1, 0, 0, false);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK(!r.tripped && !r.has_base && r.by_min_amount);
	out_tok(&d, TOK1, 1, 1, 1, 0, false);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK(r.tripped && r.by_min_amount);
	CHECK_EQ_INT(u64of(&r.limit), 500);
	/* with a large base, min_amount (500) is still the lower limit */
	CHECK_OK(det_outflow_feed_balance(&d, 1, 1, 0, &bal, NULL));
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK(r.tripped && r.by_min_amount && r.has_base);
	CHECK_EQ_INT(u64of(&r.pct_limit), 50000);
	/* a zero base is no percent limit; without min_amount nothing trips */
	det_outflow_release(&d);
	c = mkcfg(60000, 50, 0);
	CHECK_OK(det_outflow_init(&d, &c));
	CHECK_OK(det_outflow_feed_balance(&d, 1, 1, 0, &zero, NULL));
	out_tok(&d, TOK1, 7, 2, 0, 5, false);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK(!r.tripped && r.has_base);
	CHECK_EQ_INT(u64of(&r.outflow), 7);
	/* and zero outflow never trips */
	CHECK_OK(det_outflow_eval(&d, 0, &r));
	CHECK(!r.tripped);
	det_outflow_release(&d);
}

static void test_window_gap(void)
{
	det_outflow_t d;
	det_outflow_cfg_t c = mkcfg(60000, 10, 0);   /* w = 235 ms, nb = 256 */
	det_outflow_result_t r;
	u256_t bal = U(1000);
	CHECK_OK(det_outflow_init(&d, &c));
	CHECK_OK(det_outflow_feed_balance(&d, 1, 1, 0, &bal, NULL));
	out_tok(&d, TOK1, 60, 2, 0, 1000, false);
	out_tok(&d, TOK1, 60, 3, 0, 30000, false);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK(r.tripped);
	/* 60 s after the first: still inside (the window covers >= 60 s) */
	det_outflow_advance(&d, 61000);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK_EQ_INT(u64of(&r.outflow), 120);
	/* a bucket and a half later the first has left */
	det_outflow_advance(&d, 61000 + 400);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK_EQ_INT(u64of(&r.outflow), 60);
	CHECK(!r.tripped);
	/* a gap of several windows empties everything */
	det_outflow_advance(&d, 10 * 60000);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK(u256_is_zero(&r.outflow) && !r.tripped);
	/* and the detector works normally after the gap */
	out_tok(&d, TOK1, 100, 4, 0, 10 * 60000 + 5, false);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK(r.tripped);
	CHECK_EQ_INT(u64of(&r.outflow), 100);
	det_outflow_release(&d);
}

static void test_equal_and_out_of_order_times(void)
{
	det_outflow_t d;
	det_outflow_cfg_t c = mkcfg(25600, 10, 0);   /* w = 100 ms, nb = 256 */
	det_outflow_result_t r;
	CHECK_OK(det_outflow_init(&d, &c));
	for (uint64_t i = 0; i < 5; i++)
		CHECK_EQ_INT(out_tok(&d, TOK1, 10, 7, i, 50000, false), DET_OUTFLOW_COUNTED);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK_EQ_INT(u64of(&r.outflow), 50);
	/* 2 s back: still in the window, counted at its own time */
	CHECK_EQ_INT(out_tok(&d, TOK1, 1, 8, 0, 48000, false), DET_OUTFLOW_COUNTED);
	CHECK_EQ_INT(det_outflow_stats(&d)->time_backwards, 1);
	CHECK_EQ_INT(det_outflow_now(&d), 50000);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK_EQ_INT(u64of(&r.outflow), 51);
	/* ... so it leaves 2 s before the others */
	det_outflow_advance(&d, 48000 + 25700);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK_EQ_INT(u64of(&r.outflow), 50);
	/* older than the window: not counted */
	CHECK_EQ_INT(out_tok(&d, TOK1, 1000, 9, 0, 1000, false), DET_OUTFLOW_STALE);
	CHECK_EQ_INT(det_outflow_stats(&d)->logs_stale, 1);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK_EQ_INT(u64of(&r.outflow), 50);
	det_outflow_release(&d);
}

static void test_removed_and_duplicates(void)
{
	det_outflow_t d;
	det_outflow_cfg_t c = mkcfg(10000, 10, 0);
	det_outflow_result_t r;
	CHECK_OK(det_outflow_init(&d, &c));
	out_tok(&d, TOK1, 70, 10, 3, 1000, false);
	out_tok(&d, TOK1, 5, 10, 4, 2000, false);
	CHECK_EQ_INT(out_tok(&d, TOK1, 70, 10, 3, 2500, false), DET_OUTFLOW_DUPLICATE);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK_EQ_INT(u64of(&r.outflow), 75);
	/* the reorg takes the first back, from the bucket at t=1000 */
	CHECK_EQ_INT(out_tok(&d, TOK1, 70, 10, 3, 3000, true), DET_OUTFLOW_TAKEN_BACK);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK_EQ_INT(u64of(&r.outflow), 5);
	/* a second removal of it is unknown */
	CHECK_EQ_INT(out_tok(&d, TOK1, 70, 10, 3, 3000, true), DET_OUTFLOW_REMOVED_UNKNOWN);
	/* re-included later: counts again */
	CHECK_EQ_INT(out_tok(&d, TOK1, 70, 10, 3, 4000, false), DET_OUTFLOW_COUNTED);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK_EQ_INT(u64of(&r.outflow), 75);
	/* after the window passed, a removal finds nothing to take back */
	det_outflow_advance(&d, 30000);
	CHECK_EQ_INT(out_tok(&d, TOK1, 5, 10, 4, 30000, true), DET_OUTFLOW_REMOVED_UNKNOWN);
	/* and a repeat of an expired log is a new outflow */
	CHECK_EQ_INT(out_tok(&d, TOK1, 5, 10, 4, 30000, false), DET_OUTFLOW_COUNTED);
	CHECK_EQ_INT(det_outflow_stats(&d)->logs_duplicate, 1);
	CHECK_EQ_INT(det_outflow_stats(&d)->logs_taken_back, 1);
	CHECK_EQ_INT(det_outflow_stats(&d)->removed_unknown, 2);
	det_outflow_release(&d);

	/* more logs in the window than remembered: the oldest is forgotten
	 * (still counted), so its removal is unknown */
	c.max_logs = 2;
	CHECK_OK(det_outflow_init(&d, &c));
	out_tok(&d, TOK1, 1, 1, 0, 0, false);
	out_tok(&d, TOK1, 2, 1, 1, 0, false);
	out_tok(&d, TOK1, 4, 1, 2, 0, false);
	CHECK_EQ_INT(det_outflow_stats(&d)->logs_forgotten, 1);
	CHECK_EQ_INT(out_tok(&d, TOK1, 1, 1, 0, 0, true), DET_OUTFLOW_REMOVED_UNKNOWN);
	CHECK_EQ_INT(out_tok(&d, TOK1, 2, 1, 1, 0, true), DET_OUTFLOW_TAKEN_BACK);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK_EQ_INT(u64of(&r.outflow), 5);
	det_outflow_release(&d);
}

static void test_ignored_and_malformed(void)
{
	det_outflow_t d;
	det_outflow_cfg_t c = mkcfg(10000, 10, 0);
	det_outflow_result_t r;
	det_outflow_outcome_t oc;
	tlog_t l;
	u256_t a = U(1000);
	size_t asset = 99;
	CHECK_OK(det_outflow_init(&d, &c));
	mklog(&l, TOK1, OTHER, WATCH, &a, 1, 0, false);      /* inflow */
	CHECK_OK(det_outflow_feed_log(&d, &l.log, 0, &oc, &asset));
	CHECK_EQ_INT(oc, DET_OUTFLOW_IGNORED);
	CHECK_EQ_INT(asset, 0);
	mklog(&l, OTHER, WATCH, OTHER, &a, 1, 1, false);     /* unwatched token */
	CHECK_OK(det_outflow_feed_log(&d, &l.log, 0, &oc, NULL));
	CHECK_EQ_INT(oc, DET_OUTFLOW_IGNORED);
	mklog(&l, TOK1, WATCH, WATCH, &a, 1, 2, false);      /* to itself */
	CHECK_OK(det_outflow_feed_log(&d, &l.log, 0, &oc, NULL));
	CHECK_EQ_INT(oc, DET_OUTFLOW_IGNORED);
	mklog(&l, TOK1, WATCH, OTHER, &a, 1, 3, false);      /* ERC-721 shape */
	l.log.ntopics = 4;
	CHECK_OK(det_outflow_feed_log(&d, &l.log, 0, &oc, NULL));
	CHECK_EQ_INT(oc, DET_OUTFLOW_IGNORED);
	mklog(&l, TOK1, WATCH, OTHER, &a, 1, 4, false);      /* other event */
	l.log.topics[0][0] ^= 1;
	CHECK_OK(det_outflow_feed_log(&d, &l.log, 0, &oc, NULL));
	CHECK_EQ_INT(oc, DET_OUTFLOW_IGNORED);
	mklog(&l, TOK1, WATCH, OTHER, &a, 1, 5, false);      /* dirty address word */
	l.log.topics[1][0] = 1;
	CHECK_OK(det_outflow_feed_log(&d, &l.log, 0, &oc, NULL));
	CHECK_EQ_INT(oc, DET_OUTFLOW_IGNORED);
	/* bad data on a real outflow is an error, not a count */
	mklog(&l, TOK1, WATCH, OTHER, &a, 1, 6, false);
	l.log.data.len = 64;
	CHECK_ERR(det_outflow_feed_log(&d, &l.log, 0, &oc, NULL), KERR_TRUNCATED);
	mklog(&l, TOK1, WATCH, OTHER, &a, 1, 7, false);
	l.data[10] = 'g';
	CHECK_ERR(det_outflow_feed_log(&d, &l.log, 0, &oc, NULL), KERR_HEX_CHAR);
	{
		char big[2 + 66 * 2];
		memset(big, '0', sizeof big);
		big[1] = 'x';
		l.log.data.p = big;
		l.log.data.len = sizeof big;
		CHECK_ERR(det_outflow_feed_log(&d, &l.log, 0, &oc, NULL), KERR_TOO_LONG);
	}
	CHECK_EQ_INT(det_outflow_stats(&d)->logs_malformed, 3);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK(u256_is_zero(&r.outflow));
	CHECK_ERR(det_outflow_eval(&d, 3, &r), KERR_ARG);
	CHECK_ERR(det_outflow_feed_balance(&d, 3, 1, 0, &a, NULL), KERR_ARG);
	det_outflow_release(&d);
}

/* The amount's text: either case of digits and prefix, and every limb of
 * a 256-bit word, read as the general hex decoder reads it. */
static void test_amount_text(void)
{
	det_outflow_t d;
	det_outflow_cfg_t c = mkcfg(10000, 10, 0);
	det_outflow_result_t r;
	tlog_t l;
	u256_t a, want;
	static const char *const words[] = {
		"0x00000000000000000000000000000000000000000000000000000000000f4240",
		"0X00000000000000000000000000000000000000000000000000000000000F4240",
		"0x000000000000000000000000000000000000000000000000DEADbeefCAFEf00d",
		"0x0123456789abcdef0000000000000000fedcba9876543210ABCDEF0000000001",
		"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	};

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		det_outflow_outcome_t oc;
		CHECK_OK(det_outflow_init(&d, &c));
		CHECK_OK(u256_from_hex(&want, words[i], 66));
		a = U(0);
		mklog(&l, TOK1, WATCH, OTHER, &a, 1, i, false);
		memcpy(l.data, words[i], 66);
		CHECK_OK(det_outflow_feed_log(&d, &l.log, 0, &oc, NULL));
		CHECK_EQ_INT(oc, DET_OUTFLOW_COUNTED);
		CHECK_OK(det_outflow_eval(&d, 1, &r));
		CHECK(u256_cmp(&r.outflow, &want) == 0);
		det_outflow_release(&d);
	}
	/* a bad character in a limb of zeros' place, and in the last digit */
	CHECK_OK(det_outflow_init(&d, &c));
	a = U(5);
	mklog(&l, TOK1, WATCH, OTHER, &a, 2, 0, false);
	l.data[2] = ' ';
	CHECK_ERR(det_outflow_feed_log(&d, &l.log, 0, NULL, NULL), KERR_HEX_CHAR);
	mklog(&l, TOK1, WATCH, OTHER, &a, 2, 1, false);
	l.data[65] = 'G';
	CHECK_ERR(det_outflow_feed_log(&d, &l.log, 0, NULL, NULL), KERR_HEX_CHAR);
	CHECK_EQ_INT(det_outflow_stats(&d)->logs_malformed, 2);
	det_outflow_release(&d);
}

static void test_eth_balance(void)
{
	det_outflow_t d;
	det_outflow_cfg_t c = mkcfg(60000, 20, 0);
	det_outflow_result_t r;
	det_outflow_outcome_t oc;
	u256_t b;
	CHECK_OK(det_outflow_init(&d, &c));
	b = U(1000);
	CHECK_OK(det_outflow_feed_balance(&d, 0, 100, 0, &b, &oc));
	CHECK_EQ_INT(oc, DET_OUTFLOW_OBSERVED);
	b = U(900);
	CHECK_OK(det_outflow_feed_balance(&d, 0, 101, 12000, &b, NULL));
	b = U(950);                   /* an increase offsets nothing */
	CHECK_OK(det_outflow_feed_balance(&d, 0, 102, 24000, &b, NULL));
	CHECK_OK(det_outflow_eval(&d, 0, &r));
	CHECK_EQ_INT(u64of(&r.outflow), 100);
	CHECK(!r.tripped);
	/* refused: the same block and balance, an older block, an older time */
	CHECK_OK(det_outflow_feed_balance(&d, 0, 102, 24500, &b, &oc));
	CHECK_EQ_INT(oc, DET_OUTFLOW_REFUSED);
	b = U(0);
	CHECK_OK(det_outflow_feed_balance(&d, 0, 99, 25000, &b, &oc));
	CHECK_EQ_INT(oc, DET_OUTFLOW_REFUSED);
	CHECK_OK(det_outflow_feed_balance(&d, 0, 103, 23000, &b, &oc));
	CHECK_EQ_INT(oc, DET_OUTFLOW_REFUSED);
	CHECK_EQ_INT(det_outflow_stats(&d)->obs_refused, 3);
	CHECK_OK(det_outflow_eval(&d, 0, &r));
	CHECK_EQ_INT(u64of(&r.outflow), 100);
	/* the same block with another balance (a reorg's block) is accepted,
	 * and its drop since 950 is outflow: 100 + 150 >= 20% of 1000 */
	b = U(800);
	CHECK_OK(det_outflow_feed_balance(&d, 0, 102, 26000, &b, &oc));
	CHECK_EQ_INT(oc, DET_OUTFLOW_OBSERVED);
	CHECK_OK(det_outflow_eval(&d, 0, &r));
	CHECK_EQ_INT(u64of(&r.outflow), 250);
	CHECK_EQ_INT(u64of(&r.base), 1000);
	CHECK(r.tripped);
	CHECK_EQ_INT(u64of(&r.limit), 200);
	det_outflow_release(&d);
}

static void test_base_at_window_start(void)
{
	det_outflow_t d;
	det_outflow_cfg_t c = mkcfg(25600, 10, 0);   /* w = 100 ms */
	det_outflow_result_t r;
	u256_t b;
	CHECK_OK(det_outflow_init(&d, &c));
	for (uint64_t i = 0; i < 10; i++) {
		b = U(1000 + i * 100);
		CHECK_OK(det_outflow_feed_balance(&d, 1, i, (int64_t)i * 10000, &b, NULL));
	}
	/* now 90000, window start = (900 - 256) * 100 = 64400: the latest
	 * observation at or before it is t=60000 (balance 1600) */
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK_EQ_INT(r.window_start_ms, 64400);
	CHECK(r.has_base && r.base_exact);
	CHECK_EQ_INT(u64of(&r.base), 1600);
	CHECK_EQ_INT(u64of(&r.pct_limit), 160);
	/* at exactly the observation's time it is still the base */
	det_outflow_advance(&d, 70000 + 25600);
	CHECK_OK(det_outflow_eval(&d, 1, &r));
	CHECK_EQ_INT(r.window_start_ms, 70000);
	CHECK_EQ_INT(u64of(&r.base), 1700);
	CHECK_EQ_INT(u64of(&r.pct_limit), 170);   /* a new base, a new limit */
	det_outflow_release(&d);

	/* no observation that old yet: the oldest stands in, marked inexact */
	CHECK_OK(det_outflow_init(&d, &c));
	b = U(5000);
	CHECK_OK(det_outflow_feed_balance(&d, 2, 1, 100000, &b, NULL));
	CHECK_OK(det_outflow_eval(&d, 2, &r));
	CHECK(r.has_base && !r.base_exact);
	CHECK_EQ_INT(u64of(&r.base), 5000);
	det_outflow_release(&d);
}

/* ---- random series against the O(n^2) reference -------------------------- */

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

typedef struct {
	int64_t time;
	uint8_t tok;
	uint64_t block, idx;
	u256_t amount;
	bool live;
} ref_t;

#define REF_MAX 160

typedef struct {
	uint64_t w, nb;
	int64_t now;
	bool started;
	ref_t rec[REF_MAX];
	size_t n;
	uint64_t dup, stale, back, unknown;
} ref_state_t;

static int64_t ref_floor(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static bool ref_in_window(const ref_state_t *s, int64_t t)
{
	return ref_floor(t, (int64_t)s->w) >= ref_floor(s->now, (int64_t)s->w) - (int64_t)s->nb;
}

/* Plain re-sum of every live transfer of tok in the window. */
static u256_t ref_sum(const ref_state_t *s, uint8_t tok)
{
	u256_t sum = U(0);
	for (size_t i = 0; i < s->n; i++)
		if (s->rec[i].live && s->rec[i].tok == tok && ref_in_window(s, s->rec[i].time))
			(void)u256_add(&sum, &sum, &s->rec[i].amount);
	return sum;
}

static ref_t *ref_find(ref_state_t *s, uint64_t block, uint64_t idx)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->rec[i].live && s->rec[i].block == block && s->rec[i].idx == idx &&
		    ref_in_window(s, s->rec[i].time))
			return &s->rec[i];
	return NULL;
}

static void ref_time(ref_state_t *s, int64_t t)
{
	if (!s->started || t > s->now)
		s->now = t;
	else if (t < s->now)
		s->back++;
	s->started = true;
}

/* Reference verdict: outflow * 100e6 >= base * pct_micro, or >= min. */
static bool ref_trip(const u256_t *sum, uint64_t base, uint64_t pct_micro,
		     uint64_t min_amount)
{
	u256_t lhs, rhs;
	if (u256_is_zero(sum))
		return false;
	if (base > 0) {
		CHECK_OK(u256_mul_u64(&lhs, sum, 100ull * DET_OUTFLOW_PCT_SCALE));
		u256_from_u64(&rhs, base);
		CHECK_OK(u256_mul_u64(&rhs, &rhs, pct_micro));
		if (u256_cmp(&lhs, &rhs) >= 0)
			return true;
	}
	if (min_amount > 0) {
		u256_t m = U(min_amount);
		if (u256_cmp(sum, &m) >= 0)
			return true;
	}
	return false;
}

static u256_t rnd_amount(void)
{
	u256_t a = U(0);
	switch (rnd_below(8)) {
	case 0:     /* a wide amount (< 2^100, so the reference's products fit) */
		a.w[0] = rnd();
		a.w[1] = rnd() & ((1ull << 36) - 1);
		break;
	case 1:
		a = U(0);
		break;
	default:
		a = U(1 + rnd_below(400));
	}
	return a;
}

static void test_random_vs_reference(void)
{
	static const double pcts[] = { 1, 10, 33.333333, 50, 100, 0.000001 };
	static ref_state_t s;
	int series = 10000, mismatched = 0;
	uint64_t ops_total = 0, trips = 0, checks = 0;

	for (int sr = 0; sr < series; sr++) {
		uint64_t window = 1 + rnd_below(rnd_below(2) ? 300 : 5000);
		size_t pi = (size_t)rnd_below(sizeof pcts / sizeof *pcts);
		uint64_t pct_micro = (uint64_t)(pcts[pi] * 1e6 + 0.5);
		uint64_t min_amount = rnd_below(3) == 0 ? 1 + rnd_below(3000) : 0;
		uint64_t base[2] = { rnd_below(5) == 0 ? 0 : rnd_below(20000),
				     rnd_below(1ull << 40) };
		int64_t t = (int64_t)rnd_below(1u << 30) - (1 << 29);
		size_t nops = 1 + (size_t)rnd_below(REF_MAX);
		det_outflow_cfg_t c = mkcfg(window, pcts[pi], min_amount);
		det_outflow_t d;
		bool bad = false;

		c.max_logs = 256;
		c.min_block_ms = 1 + window / 8;
		memset(&s, 0, sizeof s);
		s.w = (window + 255) / 256;
		s.nb = (window + s.w - 1) / s.w;
		if (det_outflow_init(&d, &c) != KERR_OK) {
			CHECK(!"init");
			continue;
		}
		for (int k = 0; k < 2; k++) {
			u256_t b = U(base[k]);
			CHECK_OK(det_outflow_feed_balance(&d, 1 + (size_t)k, 1, t, &b, NULL));
		}
		ref_time(&s, t);
		for (size_t op = 0; op < nops && !bad; op++) {
			uint64_t kind = rnd_below(100), step = rnd_below(12);
			det_outflow_outcome_t oc = DET_OUTFLOW_IGNORED, want;
			tlog_t l;

			if (step < 6)
				t += (int64_t)rnd_below(window / 4 + 2);
			else if (step < 8)
				;                                    /* equal time */
			else if (step < 10)
				t -= (int64_t)rnd_below(window + 2); /* backwards */
			else if (step < 11)
				t += (int64_t)(window + 1 + rnd_below(3 * window)); /* gap */
			else
				t += (int64_t)rnd_below(2);

			ref_time(&s, t);
			if (kind < 60 || s.n == 0) {
				/* a new transfer */
				ref_t *r = &s.rec[s.n];
				r->time = t;
				r->tok = rnd_below(2) ? TOK1 : TOK2;
				r->block = op / 3;
				r->idx = op;
				r->amount = rnd_amount();
				r->live = true;
				if (!ref_in_window(&s, t)) {
					r->live = false;
					s.stale++;
					want = DET_OUTFLOW_STALE;
				} else {
					want = DET_OUTFLOW_COUNTED;
				}
				s.n++;
				mklog(&l, r->tok, WATCH, OTHER, &r->amount, r->block, r->idx, false);
			} else if (kind < 75) {
				/* a repeat of an earlier log, stamped now */
				ref_t *o = &s.rec[rnd_below(s.n)];
				ref_t *live = ref_find(&s, o->block, o->idx);
				mklog(&l, o->tok, WATCH, OTHER, &o->amount, o->block, o->idx, false);
				if (!ref_in_window(&s, t)) {
					s.stale++;
					want = DET_OUTFLOW_STALE;
				} else if (live) {
					s.dup++;
					want = DET_OUTFLOW_DUPLICATE;
				} else {
					ref_t *r = &s.rec[s.n++];
					*r = *o;
					r->time = t;
					r->live = true;
					want = DET_OUTFLOW_COUNTED;
				}
			} else if (kind < 92) {
				/* removal of an earlier log */
				ref_t *o = &s.rec[rnd_below(s.n)];
				ref_t *live = ref_find(&s, o->block, o->idx);
				mklog(&l, o->tok, WATCH, OTHER, &o->amount, o->block, o->idx, true);
				if (live) {
					live->live = false;
					want = DET_OUTFLOW_TAKEN_BACK;
				} else {
					s.unknown++;
					want = DET_OUTFLOW_REMOVED_UNKNOWN;
				}
			} else {
				/* an inflow: never outflow */
				u256_t a = rnd_amount();
				mklog(&l, TOK1, OTHER, WATCH, &a, 999999, op, false);
				want = DET_OUTFLOW_IGNORED;
			}
			CHECK_OK(det_outflow_feed_log(&d, &l.log, t, &oc, NULL));
			ops_total++;
			if (oc != want) {
				CHECK_MSG(oc == want, "series %d op %zu: outcome %d, want %d",
					  sr, op, (int)oc, (int)want);
				bad = true;
			}
			for (int k = 0; k < 2; k++) {
				det_outflow_result_t res;
				u256_t sum = ref_sum(&s, k ? TOK2 : TOK1);
				bool trip = ref_trip(&sum, base[k], pct_micro, min_amount);
				CHECK_OK(det_outflow_eval(&d, 1 + (size_t)k, &res));
				checks++;
				trips += trip;
				if (u256_cmp(&res.outflow, &sum) != 0 || res.tripped != trip) {
					CHECK_MSG(0, "series %d op %zu tok %d: sum/trip differ "
						  "(got %llu/%d want %llu/%d)", sr, op, k,
						  (unsigned long long)u64of(&res.outflow),
						  res.tripped, (unsigned long long)u64of(&sum), trip);
					bad = true;
				}
			}
		}
		{
			const det_outflow_stats_t *st = det_outflow_stats(&d);
			CHECK_EQ_INT(st->logs_duplicate, s.dup);
			CHECK_EQ_INT(st->logs_stale, s.stale);
			CHECK_EQ_INT(st->removed_unknown, s.unknown);
			CHECK_EQ_INT(st->time_backwards, s.back);
			CHECK_EQ_INT(st->logs_forgotten, 0);
		}
		mismatched += bad;
		det_outflow_release(&d);
	}
	printf("    %d random series, %llu events, %llu window checks (%llu tripping), "
	       "%d mismatched\n", series, (unsigned long long)ops_total,
	       (unsigned long long)checks, (unsigned long long)trips, mismatched);
	CHECK_EQ_INT(mismatched, 0);
	CHECK(trips > 1000 && trips < checks);
}

/* ---- the remembered logs against a plain model --------------------------- */

/*
 * Long series through a small ring of remembered logs: logs are forgotten,
 * the index turns over its tables many times, and lookups must still find
 * exactly the remembered logs.  The model keeps every transfer (for the
 * sums) and the remembered ones in arrival order in a plain array, searched
 * linearly, with the documented rules: the oldest is forgotten when the
 * ring is full; the front leaves when taken back or its bucket has left
 * the window, checked as the window slides.
 */
#define MR_OPS 2000
#define MR_RING 64

typedef struct {
	int64_t bucket;
	uint8_t tok;
	uint64_t block, idx;
	u256_t amount;
	bool live;
} mr_rec_t;

typedef struct {
	uint64_t w, nb;
	int64_t now, cur;
	bool started;
	mr_rec_t rec[MR_OPS];
	size_t n;
	size_t ring[MR_RING];    /* indexes into rec, oldest first */
	size_t rlen, cap;
	uint64_t dup, stale, back, unknown, taken, forgotten;
} mr_state_t;

static int64_t mr_oldest(const mr_state_t *m)
{
	return m->cur - (int64_t)m->nb;
}

static void mr_pop(mr_state_t *m)
{
	memmove(m->ring, m->ring + 1, (m->rlen - 1) * sizeof m->ring[0]);
	m->rlen--;
}

static void mr_time(mr_state_t *m, int64_t t)
{
	int64_t c = ref_floor(t, (int64_t)m->w);
	if (!m->started) {
		m->started = true;
		m->now = t;
		m->cur = c;
		return;
	}
	if (t < m->now) {
		m->back++;
		return;
	}
	m->now = t;
	if (c == m->cur)
		return;
	m->cur = c;
	while (m->rlen > 0 && (!m->rec[m->ring[0]].live ||
			       m->rec[m->ring[0]].bucket < mr_oldest(m)))
		mr_pop(m);
}

static mr_rec_t *mr_find(mr_state_t *m, uint64_t block, uint64_t idx)
{
	for (size_t i = 0; i < m->rlen; i++) {
		mr_rec_t *r = &m->rec[m->ring[i]];
		if (r->live && r->block == block && r->idx == idx)
			return r;
	}
	return NULL;
}

static void mr_count(mr_state_t *m, const mr_rec_t *r)
{
	if (m->rlen == m->cap) {
		if (m->rec[m->ring[0]].live)
			m->forgotten++;
		mr_pop(m);
	}
	m->rec[m->n] = *r;
	m->ring[m->rlen++] = m->n++;
}

static u256_t mr_sum(const mr_state_t *m, uint8_t tok)
{
	u256_t sum = U(0);
	for (size_t i = 0; i < m->n; i++)
		if (m->rec[i].live && m->rec[i].tok == tok && m->rec[i].bucket >= mr_oldest(m))
			(void)u256_add(&sum, &sum, &m->rec[i].amount);
	return sum;
}

static void test_remembered_vs_model(void)
{
	static mr_state_t m;
	int series = 200, mismatched = 0;
	uint64_t forgotten = 0, found = 0, parts = 0;

	for (int sr = 0; sr < series; sr++) {
		uint64_t window = 1 + rnd_below(rnd_below(2) ? 200 : 3000);
		size_t cap = 1 + (size_t)rnd_below(rnd_below(2) ? 8 : MR_RING);
		int64_t t = (int64_t)rnd_below(1u << 30) - (1 << 29);
		det_outflow_cfg_t c = mkcfg(window, 50, 0);
		det_outflow_t d;
		bool bad = false;

		c.max_logs = cap;
		memset(&m, 0, sizeof m);
		m.w = (window + 255) / 256;
		m.nb = (window + m.w - 1) / m.w;
		m.cap = cap;
		if (det_outflow_init(&d, &c) != KERR_OK) {
			CHECK(!"init");
			continue;
		}
		for (size_t op = 0; op < MR_OPS && !bad; op++) {
			uint64_t kind = rnd_below(100), step = rnd_below(16);
			det_outflow_outcome_t oc = DET_OUTFLOW_IGNORED, want;
			int64_t kb;
			mr_rec_t r;
			tlog_t l;

			if (step < 8)
				t += (int64_t)rnd_below(window / 8 + 2);
			else if (step < 11)
				;                                    /* equal time */
			else if (step < 13)
				t -= (int64_t)rnd_below(window / 2 + 2); /* backwards */
			else if (step < 14)
				t += (int64_t)(window + 1 + rnd_below(3 * window)); /* gap */
			else
				t += 1;
			mr_time(&m, t);
			kb = ref_floor(t, (int64_t)m.w);
			memset(&r, 0, sizeof r);

			if (kind < 55 || m.n == 0) {
				r.bucket = kb;
				r.tok = rnd_below(2) ? TOK1 : TOK2;
				r.block = op / 4;
				r.idx = op;
				r.amount = U(1 + rnd_below(1000));
				r.live = true;
				mklog(&l, r.tok, WATCH, OTHER, &r.amount, r.block, r.idx, false);
				if (kb < mr_oldest(&m)) {
					m.stale++;
					want = DET_OUTFLOW_STALE;
				} else {
					mr_count(&m, &r);
					want = DET_OUTFLOW_COUNTED;
				}
			} else if (kind < 75) {
				/* a repeat of a recent log (recent, so often remembered) */
				size_t back = (size_t)rnd_below(m.n < 2 * cap + 2 ? m.n : 2 * cap + 2);
				mr_rec_t *o = &m.rec[m.n - 1 - back];
				mr_rec_t *live = mr_find(&m, o->block, o->idx);
				mklog(&l, o->tok, WATCH, OTHER, &o->amount, o->block, o->idx, false);
				if (kb < mr_oldest(&m)) {
					m.stale++;
					want = DET_OUTFLOW_STALE;
				} else if (live && live->bucket >= mr_oldest(&m)) {
					m.dup++;
					want = DET_OUTFLOW_DUPLICATE;
				} else {
					if (live)
						live->live = false;
					r = *o;
					r.bucket = kb;
					r.live = true;
					mr_count(&m, &r);
					want = DET_OUTFLOW_COUNTED;
				}
			} else {
				/* a removal of a recent log */
				size_t back = (size_t)rnd_below(m.n < 2 * cap + 2 ? m.n : 2 * cap + 2);
				mr_rec_t *o = &m.rec[m.n - 1 - back];
				mr_rec_t *live = mr_find(&m, o->block, o->idx);
				mklog(&l, o->tok, WATCH, OTHER, &o->amount, o->block, o->idx, true);
				if (live) {
					live->live = false;
					if (live->bucket >= mr_oldest(&m)) {
						m.taken++;
						want = DET_OUTFLOW_TAKEN_BACK;
					} else {
						m.unknown++;
						want = DET_OUTFLOW_REMOVED_UNKNOWN;
					}
				} else {
					m.unknown++;
					want = DET_OUTFLOW_REMOVED_UNKNOWN;
				}
			}
			found += want == DET_OUTFLOW_DUPLICATE || want == DET_OUTFLOW_TAKEN_BACK;
			CHECK_OK(det_outflow_feed_log(&d, &l.log, t, &oc, NULL));
			if (oc != want) {
				CHECK_MSG(oc == want, "series %d op %zu: outcome %d, want %d",
					  sr, op, (int)oc, (int)want);
				bad = true;
			}
			for (int k = 0; k < 2 && !bad; k++) {
				det_outflow_result_t res;
				u256_t sum = mr_sum(&m, k ? TOK2 : TOK1);
				CHECK_OK(det_outflow_eval(&d, 1 + (size_t)k, &res));
				if (u256_cmp(&res.outflow, &sum) != 0) {
					CHECK_MSG(0, "series %d op %zu tok %d: sum %llu, want %llu",
						  sr, op, k, (unsigned long long)u64of(&res.outflow),
						  (unsigned long long)u64of(&sum));
					bad = true;
				}
			}
		}
		{
			const det_outflow_stats_t *st = det_outflow_stats(&d);
			CHECK_EQ_INT(st->logs_duplicate, m.dup);
			CHECK_EQ_INT(st->logs_stale, m.stale);
			CHECK_EQ_INT(st->removed_unknown, m.unknown);
			CHECK_EQ_INT(st->logs_taken_back, m.taken);
			CHECK_EQ_INT(st->time_backwards, m.back);
			CHECK_EQ_INT(st->logs_forgotten, m.forgotten);
			forgotten += st->logs_forgotten;
			/* each remembered log takes one number; a part is
			 * ceil(cap / 2) of them */
			parts += st->logs_counted / ((cap + 1) / 2);
		}
		mismatched += bad;
		det_outflow_release(&d);
	}
	printf("    %d series of %d events, rings of 1..%d logs: %llu forgotten, "
	       "%llu found again, %llu index parts used; %d mismatched\n", series, MR_OPS,
	       MR_RING, (unsigned long long)forgotten, (unsigned long long)found,
	       (unsigned long long)parts, mismatched);
	CHECK_EQ_INT(mismatched, 0);
	CHECK(forgotten > 1000 && found > 10000 && parts > 10000);
}

/* A trip depends on the window's sum only: the same payments split into
 * 1..8 transfers at the same instants give the same verdicts, and the
 * verdict flips exactly where the running sum reaches the limit. */
static void test_split_invariance(void)
{
	int trials = 2000, flips = 0;
	for (int tr = 0; tr < trials; tr++) {
		uint64_t window = 1000 + rnd_below(100000);
		uint64_t base = 1000 + rnd_below(1000000);
		double pct = (double)(1 + rnd_below(100));
		det_outflow_cfg_t c = mkcfg(window, pct, 0);
		det_outflow_t whole, split;
		int64_t t = 1700000000000ll;
		u256_t b = U(base);
		uint64_t blk = 1, limit = (base * (uint64_t)pct + 99) / 100;
		bool prev = false;

		c.max_logs = 4096;
		CHECK_OK(det_outflow_init(&whole, &c));
		CHECK_OK(det_outflow_init(&split, &c));
		CHECK_OK(det_outflow_feed_balance(&whole, 1, 0, t, &b, NULL));
		CHECK_OK(det_outflow_feed_balance(&split, 1, 0, t, &b, NULL));
		for (int p = 0; p < 40; p++) {
			uint64_t amt = rnd_below(base / 8 + 1);
			uint64_t parts = 1 + rnd_below(8), left = amt;
			det_outflow_result_t rw, rs;
			t += (int64_t)rnd_below(window / 10 + 1);
			out_tok(&whole, TOK1, amt, blk, 0, t, false);
			for (uint64_t i = 0; i < parts; i++) {
				uint64_t piece = i + 1 == parts ? left : rnd_below(left + 1);
				left -= piece;
				out_tok(&split, TOK1, piece, blk, i, t, false);
			}
			blk++;
			CHECK_OK(det_outflow_eval(&whole, 1, &rw));
			CHECK_OK(det_outflow_eval(&split, 1, &rs));
			CHECK(u256_cmp(&rw.outflow, &rs.outflow) == 0);
			CHECK_EQ_INT(rw.tripped, rs.tripped);
			CHECK_EQ_INT(u64of(&rw.pct_limit), limit);
			CHECK_EQ_INT(rw.tripped, u64of(&rw.outflow) > 0 && u64of(&rw.outflow) >= limit);
			if (rw.tripped != prev)
				flips++;
			prev = rw.tripped;
		}
		det_outflow_release(&whole);
		det_outflow_release(&split);
	}
	printf("    %d split trials, %d verdict flips\n", trials, flips);
	CHECK(flips > 100);
}

int main(void)
{
	RUN(test_init_args);
	RUN(test_exactly_at_threshold);
	RUN(test_min_amount);
	RUN(test_window_gap);
	RUN(test_equal_and_out_of_order_times);
	RUN(test_removed_and_duplicates);
	RUN(test_ignored_and_malformed);
	RUN(test_amount_text);
	RUN(test_eth_balance);
	RUN(test_base_at_window_start);
	RUN(test_random_vs_reference);
	RUN(test_split_invariance);
	RUN(test_remembered_vs_model);
	return t_done();
}
