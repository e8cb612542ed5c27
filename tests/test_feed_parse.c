/*
 * test_feed_parse: price-feed messages into ticks.
 *
 * - the Binance trade and Coinbase ticker message formats
 *   (tests/fixtures/frames/feed-*.jsonl) through the two presets and
 *   through generic dot paths: ticks with the right price and source time,
 *   acknowledgements and other channels ignored;
 * - the price rules (number or numeric string, finite, > 0) and the time
 *   rules (ms integers in a plausible range, ISO-8601 with offsets and
 *   fractions), each refusal with its code and field;
 * - feed_parse_iso8601 against the C library's timegm() for every day from
 *   1970 to 2100 at varied times of day;
 * - hostile messages: truncated, oversized, duplicate keys, not JSON.
 */
#include <time.h>   /* timegm: glibc, with _DEFAULT_SOURCE */

#include "keeper/feed_parse.h"
#include "tests/test.h"

static char *binance, *coinbase;
static feed_parser_t fp;

/* As config.c sets the presets up. */
static const config_feed_t trade = {
	.name = "eth-btc", .preset = CONFIG_PRESET_TRADE, .price = "p", .time = "T",
	.match_path = "e", .match_value = "trade", .stale_after_ms = 5000,
};
static const config_feed_t ticker = {
	.name = "btc-usd", .preset = CONFIG_PRESET_TICKER, .price = "price", .time = "time",
	.match_path = "type", .match_value = "ticker", .stale_after_ms = 5000,
};
/* A Binance combined stream read with generic paths, with and without time. */
static const config_feed_t combined = {
	.name = "combined", .price = "data.p", .time = "data.T", .stale_after_ms = 5000,
};
static const config_feed_t untimed = {
	.name = "untimed", .price = "data.p", .stale_after_ms = 5000,
};

#define RECV INT64_C(1700000000000)

/* Parse s[0..len) from a heap block of exactly that size (ASan). */
static kerr_t feed_n(const config_feed_t *cfg, const char *s, size_t len,
		     feed_result_t *res, event_t *ev)
{
	char *m = malloc(len ? len : 1);
	kerr_t err;
	memcpy(m, s, len);
	err = feed_parse_frame(&fp, cfg, 3, RECV, m, len, res, ev);
	free(m);
	return err;
}

static kerr_t feed(const config_feed_t *cfg, const char *s, feed_result_t *res, event_t *ev)
{
	return feed_n(cfg, s, strlen(s), res, ev);
}

static kerr_t feed_line(const config_feed_t *cfg, const char *buf, int n,
			feed_result_t *res, event_t *ev)
{
	size_t len = 0;
	const char *l = t_line_of(buf, n, &len);
	CHECK(l != NULL);
	return feed_n(cfg, l ? l : "", len, res, ev);
}

static void test_trade_preset(void)
{
	feed_result_t r;
	event_t ev;

	CHECK_OK(feed_line(&trade, binance, 1, &r, &ev));   /* {"result":null,"id":1} */
	CHECK_EQ_INT(r, FEED_IGNORED);
	CHECK_OK(feed_line(&trade, binance, 2, &r, &ev));
	CHECK_EQ_INT(r, FEED_TICK);
	CHECK_EQ_INT(ev.kind, EV_PRICE);
	CHECK_EQ_INT(ev.price.feed, 3);
	CHECK(ev.price.price == 0.019141);
	CHECK(ev.price.time_ms == INT64_C(1579481530910));   /* "T", not "E" */
	CHECK(ev.price.recv_ms == RECV);
	CHECK_OK(feed_line(&trade, binance, 3, &r, &ev));   /* aggTrade: another event type */
	CHECK_EQ_INT(r, FEED_IGNORED);
	CHECK_OK(feed_line(&trade, binance, 4, &r, &ev));   /* wrapped: "e" is not at the top */
	CHECK_EQ_INT(r, FEED_IGNORED);
	/* The discriminator compared after unescaping. */
	CHECK_OK(feed(&trade, "{\"e\":\"tr\\u0061de\",\"p\":\"2\",\"T\":1579481530910}", &r, &ev));
	CHECK(r == FEED_TICK && ev.price.price == 2);
	/* A discriminator of another type is no match. */
	CHECK_OK(feed(&trade, "{\"e\":1,\"p\":\"2\",\"T\":1579481530910}", &r, &ev));
	CHECK_EQ_INT(r, FEED_IGNORED);
	CHECK_OK(feed(&trade, "[1,2]", &r, &ev));
	CHECK_EQ_INT(r, FEED_IGNORED);
	CHECK_OK(feed(&trade, "\"pong\"", &r, &ev));
	CHECK_EQ_INT(r, FEED_IGNORED);
}

static void test_ticker_preset(void)
{
	feed_result_t r;
	event_t ev;

	CHECK_OK(feed_line(&ticker, coinbase, 1, &r, &ev));   /* subscriptions */
	CHECK_EQ_INT(r, FEED_IGNORED);
	CHECK_OK(feed_line(&ticker, coinbase, 2, &r, &ev));   /* heartbeat */
	CHECK_EQ_INT(r, FEED_IGNORED);
	CHECK_OK(feed_line(&ticker, coinbase, 3, &r, &ev));
	CHECK_EQ_INT(r, FEED_TICK);
	CHECK(ev.price.price == 4388.01);
	CHECK(ev.price.time_ms == INT64_C(1504371949250));   /* 2017-09-02T17:05:49.250Z */
	CHECK_OK(feed_line(&ticker, coinbase, 4, &r, &ev));
	CHECK(r == FEED_TICK && ev.price.price == 0.8774);
	CHECK(ev.price.time_ms == INT64_C(1678520483123));   /* 2023-03-11T07:41:23.123Z */
}

static void test_generic_paths(void)
{
	feed_result_t r;
	event_t ev;

	CHECK_OK(feed_line(&combined, binance, 4, &r, &ev));
	CHECK(r == FEED_TICK && ev.price.price == 0.019141);
	CHECK(ev.price.time_ms == INT64_C(1579481530910));
	CHECK_OK(feed_line(&untimed, binance, 4, &r, &ev));
	CHECK(r == FEED_TICK && ev.price.time_ms == RECV && ev.price.recv_ms == RECV);
	/* Without a discriminator an acknowledgement is "no price here". */
	CHECK_ERR(feed_line(&combined, binance, 1, &r, &ev), KERR_NOT_FOUND);
	CHECK_EQ_STR(fp.what, "price");
	/* Array paths and number prices. */
	{
		static const config_feed_t arr = { .name = "a", .price = "data.0.p",
						   .time = "data.0.t", .stale_after_ms = 1 };
		CHECK_OK(feed(&arr, "{\"data\":[{\"p\":1450.21,\"t\":\"1678520483119\"}]}", &r, &ev));
		CHECK(r == FEED_TICK && ev.price.price == 1450.21);
		CHECK(ev.price.time_ms == INT64_C(1678520483119));
		CHECK_ERR(feed(&arr, "{\"data\":[]}", &r, &ev), KERR_NOT_FOUND);
		CHECK_ERR(feed(&arr, "{\"data\":{\"0\":{\"p\":1}}}", &r, &ev), KERR_NOT_FOUND);
		CHECK_EQ_STR(fp.what, "time");   /* "0" is a key in an object: price found */
	}
}

static void test_price_rules(void)
{
	static const struct {
		const char *p;
		kerr_t want;
	} c[] = {
		{ "\"0\"", KERR_NUM_RANGE }, { "0", KERR_NUM_RANGE }, { "-0.0", KERR_NUM_RANGE },
		{ "\"-1450.21\"", KERR_NUM_RANGE }, { "1e-400", KERR_NUM_RANGE },
		{ "\"abc\"", KERR_NUM_CHAR }, { "\"\"", KERR_NUM_EMPTY },
		{ "\"NaN\"", KERR_NUM_CHAR }, { "\"Infinity\"", KERR_NUM_CHAR },
		{ "\"1,450.21\"", KERR_NUM_CHAR }, { "\" 1450\"", KERR_NUM_CHAR },
		{ "\"$1450\"", KERR_NUM_CHAR }, { "\"0x5a\"", KERR_NUM_CHAR },
		{ "1e999", KERR_NUM_RANGE }, { "\"1e999\"", KERR_NUM_RANGE },
		{ "true", KERR_JSON }, { "null", KERR_JSON }, { "[1]", KERR_JSON },
		{ "{\"v\":1}", KERR_JSON },
		{ "\"1450.21\"", KERR_OK }, { "1450.21", KERR_OK }, { "\"5e-324\"", KERR_OK },
		{ "1.7976931348623157e308", KERR_OK },
	};
	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		char msg[200];
		feed_result_t r = 0;
		event_t ev;
		kerr_t err;
		snprintf(msg, sizeof msg, "{\"e\":\"trade\",\"p\":%s,\"T\":1579481530910}", c[i].p);
		err = feed(&trade, msg, &r, &ev);
		CHECK_MSG(err == c[i].want, "price %s: got %s, want %s", c[i].p, kerr_name(err),
			  kerr_name(c[i].want));
		if (err)
			CHECK_EQ_STR(fp.what, "price");
		else
			CHECK(r == FEED_TICK && ev.price.price > 0);
	}
	{
		feed_result_t r;
		event_t ev;
		CHECK_ERR(feed(&trade, "{\"e\":\"trade\",\"T\":1579481530910}", &r, &ev), KERR_NOT_FOUND);
		CHECK_EQ_STR(fp.what, "price");
		CHECK_ERR(feed(&trade, "{\"e\":\"trade\",\"p\":\"1\",\"p\":\"2\",\"T\":1579481530910}",
			       &r, &ev), KERR_JSON);
		CHECK_EQ_STR(fp.what, "price");
		CHECK_ERR(feed(&trade, "{\"e\":\"trade\",\"e\":\"x\",\"p\":\"1\",\"T\":1579481530910}",
			       &r, &ev), KERR_JSON);
		CHECK_EQ_STR(fp.what, "match");
	}
}

static void test_time_rules(void)
{
	static const struct {
		const char *t;
		kerr_t want;
		int64_t ms;
	} c[] = {
		{ "1579481530910", KERR_OK, INT64_C(1579481530910) },
		{ "\"1579481530910\"", KERR_OK, INT64_C(1579481530910) },
		{ "\"2023-03-11T07:41:23Z\"", KERR_OK, INT64_C(1678520483000) },
		{ "\"2023-03-11T07:41:23.1Z\"", KERR_OK, INT64_C(1678520483100) },
		{ "\"2023-03-11T07:41:23.123456789Z\"", KERR_OK, INT64_C(1678520483123) },
		{ "\"2023-03-11T09:41:23.5+02:00\"", KERR_OK, INT64_C(1678520483500) },
		{ "\"2023-03-11T02:11:23-05:30\"", KERR_OK, INT64_C(1678520483000) },
		{ "\"2023-03-11t07:41:23z\"", KERR_OK, INT64_C(1678520483000) },
		{ "\"2016-12-31T23:59:60Z\"", KERR_OK, INT64_C(1483228800000) },   /* leap second */
		{ "\"2024-02-29T00:00:00Z\"", KERR_OK, INT64_C(1709164800000) },
		/* seconds, microseconds, before 2001: refused as implausible ms */
		{ "1579481530", KERR_NUM_RANGE, 0 }, { "1579481530910000", KERR_NUM_RANGE, 0 },
		{ "\"1999-12-31T23:59:59Z\"", KERR_NUM_RANGE, 0 }, { "-1", KERR_NUM_RANGE, 0 },
		{ "1579481530910.5", KERR_NUM_CHAR, 0 }, { "1.5e12", KERR_NUM_CHAR, 0 },
		{ "99999999999999999999", KERR_NUM_OVERFLOW, 0 },
		{ "\"2023-02-29T00:00:00Z\"", KERR_NUM_RANGE, 0 },
		{ "\"2023-04-31T00:00:00Z\"", KERR_NUM_RANGE, 0 },
		{ "\"2023-13-01T00:00:00Z\"", KERR_NUM_RANGE, 0 },
		{ "\"2023-03-11T24:00:00Z\"", KERR_NUM_RANGE, 0 },
		{ "\"2023-03-11T07:60:00Z\"", KERR_NUM_RANGE, 0 },
		{ "\"2023-03-11T07:41:61Z\"", KERR_NUM_RANGE, 0 },
		{ "\"2023-03-11T07:41:23+24:00\"", KERR_NUM_RANGE, 0 },
		{ "\"2023-03-11 07:41:23Z\"", KERR_NUM_CHAR, 0 },
		{ "\"2023-03-11T07:41:23\"", KERR_NUM_CHAR, 0 },
		{ "\"2023-03-11T07:41:23.Z\"", KERR_NUM_CHAR, 0 },
		{ "\"2023-03-11T07:41:23.1234567890Z\"", KERR_NUM_CHAR, 0 },
		{ "\"2023-03-11T07:41:23Zjunk\"", KERR_NUM_CHAR, 0 },
		{ "\"2023-03-11T07:41:23+0200\"", KERR_NUM_CHAR, 0 },
		{ "\"2023-3-11T07:41:23Z\"", KERR_NUM_CHAR, 0 },
		{ "\"\"", KERR_NUM_CHAR, 0 }, { "\"1579481530910 \"", KERR_NUM_CHAR, 0 },
		{ "\"157948153091\\u0030\"", KERR_NUM_CHAR, 0 },
		{ "true", KERR_JSON, 0 }, { "null", KERR_JSON, 0 }, { "{}", KERR_JSON, 0 },
	};
	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		char msg[200];
		feed_result_t r = 0;
		event_t ev;
		kerr_t err;
		snprintf(msg, sizeof msg, "{\"e\":\"trade\",\"p\":\"1\",\"T\":%s}", c[i].t);
		err = feed(&trade, msg, &r, &ev);
		CHECK_MSG(err == c[i].want, "time %s: got %s, want %s", c[i].t, kerr_name(err),
			  kerr_name(c[i].want));
		if (err)
			CHECK_EQ_STR(fp.what, "time");
		else
			CHECK_MSG(ev.price.time_ms == c[i].ms, "time %s: %lld", c[i].t,
				  (long long)ev.price.time_ms);
	}
	{
		feed_result_t r;
		event_t ev;
		CHECK_ERR(feed(&trade, "{\"e\":\"trade\",\"p\":\"1\"}", &r, &ev), KERR_NOT_FOUND);
		CHECK_EQ_STR(fp.what, "time");
	}
}

/* Every day 1970..2100 at a time of day that moves, against timegm(). */
static void test_iso_vs_timegm(void)
{
	int days = 0;
	for (int y = 1970; y <= 2100; y++) {
		for (int m = 1; m <= 12; m++) {
			for (int d = 1; d <= 31; d++) {
				struct tm tm = { 0 };
				char s[64];
				int64_t ms = 0;
				kerr_t err;
				time_t want;
				int hh = (d * 7 + m) % 24, mi = (d * 13 + y) % 60, ss = (m * 17 + d) % 60;

				tm.tm_year = y - 1900;
				tm.tm_mon = m - 1;
				tm.tm_mday = d;
				tm.tm_hour = hh;
				tm.tm_min = mi;
				tm.tm_sec = ss;
				want = timegm(&tm);
				snprintf(s, sizeof s, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, hh,
					 mi, ss, d * 31 % 1000);
				err = feed_parse_iso8601(s, strlen(s), &ms);
				if (tm.tm_mday != d) {   /* timegm normalised: no such day */
					CHECK_MSG(err == KERR_NUM_RANGE, "%s: %s", s, kerr_name(err));
					continue;
				}
				days++;
				CHECK_MSG(err == KERR_OK && ms == (int64_t)want * 1000 + d * 31 % 1000,
					  "%s: %s %lld != %lld", s, kerr_name(err), (long long)ms,
					  (long long)want * 1000);
			}
		}
	}
	CHECK_EQ_INT(days, 47847);   /* days from 1970-01-01 to 2100-12-31 */
	printf("    %d days agree with timegm\n", days);
}

static void test_hostile(void)
{
	feed_result_t r;
	event_t ev;
	size_t len;
	const char *l = t_line_of(coinbase, 3, &len);
	feed_parser_t small;
	char *big;

	CHECK(l != NULL);
	if (!l)
		return;
	for (size_t cut = 0; cut < len; cut++) {
		kerr_t err = feed_n(&ticker, l, cut, &r, &ev);
		if (err != KERR_TRUNCATED)
			CHECK_MSG(0, "cut %zu: %s", cut, kerr_name(err));
	}
	CHECK_ERR(feed(&ticker, "pong", &r, &ev), KERR_JSON);
	CHECK_EQ_STR(fp.what, "frame");
	CHECK_ERR(feed(&ticker, "", &r, &ev), KERR_TRUNCATED);

	CHECK_OK(feed_parse_init(&small, len));
	CHECK_OK(feed_parse_frame(&small, &ticker, 0, RECV, l, len, &r, &ev));
	CHECK(r == FEED_TICK);
	feed_parse_release(&small);
	CHECK_OK(feed_parse_init(&small, len - 1));
	CHECK_ERR(feed_parse_frame(&small, &ticker, 0, RECV, l, len, &r, &ev), KERR_TOO_LONG);
	CHECK_EQ_STR(small.what, "frame");
	feed_parse_release(&small);
	CHECK_ERR(feed_parse_init(&small, FEED_PARSE_FRAME_HARD + 1), KERR_ARG);

	big = malloc(FEED_PARSE_FRAME_DEFAULT + 1);
	memcpy(big, l, len);
	memset(big + len, '\n', FEED_PARSE_FRAME_DEFAULT + 1 - len);
	CHECK_ERR(feed_parse_frame(&fp, &ticker, 0, RECV, big, FEED_PARSE_FRAME_DEFAULT + 1, &r, &ev),
		  KERR_TOO_LONG);
	CHECK_OK(feed_parse_frame(&fp, &ticker, 0, RECV, big, FEED_PARSE_FRAME_DEFAULT, &r, &ev));
	free(big);

	/* Deep nesting where the price should be. */
	{
		char deep[400];
		size_t n = 0;
		n += (size_t)snprintf(deep, sizeof deep, "{\"e\":\"trade\",\"T\":1579481530910,\"p\":");
		for (int k = 0; k < JTOK_MAX_DEPTH; k++)
			deep[n++] = '[';
		for (int k = 0; k < JTOK_MAX_DEPTH; k++)
			deep[n++] = ']';
		deep[n++] = '}';
		CHECK_ERR(feed_n(&trade, deep, n, &r, &ev), KERR_TOO_LONG);
	}
	/* A config without a price path is a caller bug. */
	{
		static const config_feed_t none = { .name = "x", .stale_after_ms = 1 };
		CHECK_ERR(feed(&none, "{}", &r, &ev), KERR_ARG);
	}
}

int main(void)
{
	binance = t_read_file("tests/fixtures/frames/feed-binance.jsonl", NULL);
	coinbase = t_read_file("tests/fixtures/frames/feed-coinbase.jsonl", NULL);
	if (!binance || !coinbase || feed_parse_init(&fp, 0) != KERR_OK) {
		printf("cannot set up\n");
		return 1;
	}
	RUN(test_trade_preset);
	RUN(test_ticker_preset);
	RUN(test_generic_paths);
	RUN(test_price_rules);
	RUN(test_time_rules);
	RUN(test_iso_vs_timegm);
	RUN(test_hostile);
	feed_parse_release(&fp);
	free(binance);
	free(coinbase);
	return t_done();
}
