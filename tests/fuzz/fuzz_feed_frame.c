/*
 * fuzz_feed_frame: price-feed messages through feed_parse_frame() under
 * each kind of feed config keeper has: the two presets (trade, ticker, with
 * their match discriminator), generic dot paths with and without a time
 * path, and an array-indexing path.  Also the ISO-8601 reader on its own.
 *
 * Invariants: a tick's price is finite and > 0; with a time path its time
 * lies in [FEED_TIME_MIN_MS, FEED_TIME_MAX_MS), without one it is recv_ms;
 * an error names what failed.
 */
#include "keeper/feed_parse.h"

#include <math.h>

#include "tests/fuzz/fuzz.h"

static const config_feed_t feeds[] = {
	{ .name = "trade", .preset = CONFIG_PRESET_TRADE, .price = "p", .time = "T",
	  .match_path = "e", .match_value = "trade", .stale_after_ms = 5000 },
	{ .name = "ticker", .preset = CONFIG_PRESET_TICKER, .price = "price",
	  .time = "time", .match_path = "type", .match_value = "ticker",
	  .stale_after_ms = 5000 },
	{ .name = "combined", .price = "data.p", .time = "data.T", .stale_after_ms = 5000 },
	{ .name = "untimed", .price = "data.p", .stale_after_ms = 5000 },
	{ .name = "indexed", .price = "data.0.p", .time = "data.0.t", .stale_after_ms = 5000 },
};

#define RECV INT64_C(1700000000000)
#define DAY_MS INT64_C(86400000)

static feed_parser_t P;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;
	int64_t ms;

	if (!ready) {
		if (feed_parse_init(&P, 64 * 1024) != KERR_OK)
			abort();
		ready = 1;
	}
	buf = fuzz_dup(data, size);
	for (size_t i = 0; i < sizeof feeds / sizeof feeds[0]; i++) {
		feed_result_t res = 0;
		event_t ev;
		kerr_t err;

		memset(&ev, 0, sizeof ev);
		err = feed_parse_frame(&P, &feeds[i], (uint32_t)i, RECV, buf, size,
				       &res, &ev);
		if (err != KERR_OK) {
			FUZZ_CHECK(P.what != NULL);
			continue;
		}
		FUZZ_CHECK(res == FEED_TICK || res == FEED_IGNORED);
		if (res == FEED_IGNORED) {
			FUZZ_CHECK(feeds[i].match_path != NULL);
			continue;
		}
		FUZZ_CHECK(ev.kind == EV_PRICE && ev.price.feed == i);
		FUZZ_CHECK(isfinite(ev.price.price) && ev.price.price > 0);
		FUZZ_CHECK(ev.price.recv_ms == RECV);
		if (feeds[i].time)
			FUZZ_CHECK(ev.price.time_ms >= FEED_TIME_MIN_MS &&
				   ev.price.time_ms < FEED_TIME_MAX_MS);
		else
			FUZZ_CHECK(ev.price.time_ms == RECV);
	}
	/* Years 1970..9999, shifted by an offset of at most a day. */
	if (feed_parse_iso8601(buf, size, &ms) == KERR_OK)
		FUZZ_CHECK(ms > -DAY_MS && ms < INT64_C(253402300800000) + DAY_MS);
	free(buf);
	return 0;
}
