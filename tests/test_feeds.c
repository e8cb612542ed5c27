/*
 * test_feeds: the live price feeds (keeper/feeds.h) against tests/feedsrv,
 * which each test starts on a kernel-chosen port of 127.0.0.1, with a
 * config loaded by config_load() from a file the test writes:
 *   - ticks of both presets (Binance-style trade, Coinbase-style ticker)
 *     and of a custom dot path, with the right price, source time, feed
 *     index and arrival time; acknowledgements and other channels counted
 *     as ignored; every message handed to the frame tap first, in order;
 *   - malformed, non-numeric and oversized messages counted by reason and
 *     skipped, the connection kept (the good ticks after them arrive);
 *   - a feed that stops sending is reported stale within stale_after_ms +
 *     100 ms of its last tick (the lateness is printed), and when it ticks
 *     again EV_FEED_BACK comes right before that tick's EV_PRICE; a feed
 *     that keeps sending heartbeats and junk but no price goes stale too,
 *     and so does one that never connects;
 *   - after the server closes the connection, the feed reconnects and
 *     sends its subscribe text again (feedsrv --ack echoes it, --wait-sub
 *     sends nothing until it arrives).
 * Every loop run is bounded by a watchdog timer; servers are always
 * stopped.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include "keeper/config.h"
#include "keeper/feeds.h"
#include "keeper/loop.h"
#include "tests/feedsrv.h"
#include "tests/loop_util.h"
#include "tests/net_util.h"
#include "tests/test.h"

/* ---- what the sink and the tap saw */

#define MAX_EV 512
#define MAX_FR 64

static struct {
	event_t ev[MAX_EV];
	int64_t ev_mono[MAX_EV];
	int nev, nticks, nstale, nback;
	struct { char src[CONFIG_NAME_MAX + 1]; char *p; size_t len; int64_t wall; } fr[MAX_FR];
	int nfr;
	int (*stop_when)(void);
	/* test_stale_back: freeze the server after this many ticks */
	pid_t freeze_pid;
	int freeze_after;
} R;

static void reset_seen(void)
{
	for (int i = 0; i < R.nfr && i < MAX_FR; i++)
		free(R.fr[i].p);
	memset(&R, 0, sizeof R);
}

static void sink(void *ctx, const event_t *ev)
{
	(void)ctx;
	if (R.nev < MAX_EV) {
		R.ev[R.nev] = *ev;
		R.ev_mono[R.nev] = mono_ms();
	}
	R.nev++;
	R.nticks += ev->kind == EV_PRICE;
	R.nstale += ev->kind == EV_FEED_STALE;
	R.nback += ev->kind == EV_FEED_BACK;
	if (R.freeze_pid > 0 && ev->kind == EV_PRICE && R.nticks == R.freeze_after)
		kill(R.freeze_pid, SIGSTOP);
	if (R.stop_when && R.stop_when())
		loop_stop(L);
}

static void tap(void *ctx, const char *src, const char *frame, size_t len,
		int64_t wall)
{
	(void)ctx;
	if (R.nfr < MAX_FR) {
		snprintf(R.fr[R.nfr].src, sizeof R.fr[R.nfr].src, "%s", src);
		R.fr[R.nfr].p = malloc(len ? len : 1);
		if (R.fr[R.nfr].p)
			memcpy(R.fr[R.nfr].p, frame, len);
		R.fr[R.nfr].len = len;
		R.fr[R.nfr].wall = wall;
	}
	R.nfr++;
}

/* ---- files and configs */

/* Text built with printf-style appends into a fixed buffer. */
typedef struct {
	char buf[16384];
	size_t len;
} text_t;

static void add(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text_t *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof t->buf - t->len)
		t->len += (size_t)n;
}

/* Writes t to a temporary file; path is filled, 0 on success. */
static int to_file(char path[64], const text_t *t)
{
	return feedsrv_tmpfile(path, t->buf, t->len) ? 0 : -1;
}

/*
 * Loads a config whose feeds list is `feeds` (libconfig text).  Returns
 * NULL after printing the errors.
 */
static config_keeper_t *load_cfg(const char *feeds)
{
	text_t t = { .len = 0 };
	char path[64];
	config_keeper_t *cfg = NULL;
	config_errors_t errs;

	add(&t, "chain = { id = 1; ws = \"ws://127.0.0.1:1\"; "
		"rpc = [ \"http://127.0.0.1:1\" ]; };\nfeeds = (\n%s\n);\n", feeds);
	if (to_file(path, &t))
		return NULL;
	config_errors_init(&errs);
	if (config_load(path, &cfg, &errs) != KERR_OK) {
		printf("    config:\n%s\n", t.buf);
		config_errors_print(&errs, stdout);
	}
	config_errors_release(&errs);
	unlink(path);
	return cfg;
}

/* Line i (0-based) of t, without its newline. */
static const char *line_at(const text_t *t, int i, size_t *len)
{
	const char *p = t->buf, *end = t->buf + t->len, *nl;

	while (i-- > 0) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return NULL;
		p = nl + 1;
	}
	nl = memchr(p, '\n', (size_t)(end - p));
	*len = nl ? (size_t)(nl - p) : (size_t)(end - p);
	return p;
}

static int frame_is(int i, const char *src, const char *p, size_t len)
{
	return i < R.nfr && i < MAX_FR && !strcmp(R.fr[i].src, src) &&
	       R.fr[i].len == len && R.fr[i].p && !memcmp(R.fr[i].p, p, len);
}

#define T0 INT64_C(1678520483000)

/* n Binance-style trades: price 1450 + i/4, time T0 + 7 i. */
static void add_trades(text_t *t, int n)
{
	for (int i = 0; i < n; i++)
		add(t, "{\"e\":\"trade\",\"E\":%lld,\"s\":\"ETHUSDT\",\"t\":%d,"
		       "\"p\":\"%.2f\",\"q\":\"0.10000000\",\"T\":%lld,\"m\":true}\n",
		    (long long)(T0 + 7 * i + 1), 1000 + i, 1450 + i / 4.0,
		    (long long)(T0 + 7 * i));
}

static void start_or_fail(feedsrv_t *s, const char *const *args, int *ok)
{
	if (feedsrv_start(s, args)) {
		CHECK(0);
		*ok = 0;
	}
}

/* ---- tests */

static int stop_at_15_ticks(void)
{
	return R.nticks >= 15;
}

static void test_presets_and_paths(void)
{
	text_t tr = { .len = 0 }, tk = { .len = 0 }, cu = { .len = 0 };
	char ptr[64], ptk[64], pcu[64], feeds[2048];
	feedsrv_t s1 = { -1, 0 }, s2 = { -1, 0 }, s3 = { -1, 0 };
	config_keeper_t *cfg = NULL;
	feeds_t *f = NULL;
	feeds_stats_t st;
	int ok = 1, idx[3] = { 0, 0, 0 };
	int64_t w0, w1;
	struct tm tm0;
	time_t base;

	/* trade: an ack and an aggTrade (ignored) around 5 trades */
	add(&tr, "{\"result\":null,\"id\":1}\n");
	add_trades(&tr, 3);
	add(&tr, "{\"e\":\"aggTrade\",\"E\":1678520483100,\"s\":\"ETHUSDT\",\"a\":5,"
		 "\"p\":\"9.99\",\"q\":\"1\",\"T\":1678520483100}\n");
	{
		text_t more = { .len = 0 };
		add_trades(&more, 5);
		/* trades 3 and 4 of the same sequence */
		for (int i = 3; i < 5; i++) {
			size_t n;
			const char *l = line_at(&more, i, &n);
			add(&tr, "%.*s\n", (int)n, l);
		}
	}
	/* ticker: subscriptions and a heartbeat (ignored), 5 tickers with
	 * ISO-8601 times, microseconds truncated to ms */
	add(&tk, "{\"type\":\"subscriptions\",\"channels\":[{\"name\":\"ticker\","
		 "\"product_ids\":[\"USDC-USD\"]}]}\n");
	add(&tk, "{\"type\":\"heartbeat\",\"sequence\":90,\"last_trade_id\":20,"
		 "\"product_id\":\"USDC-USD\",\"time\":\"2023-03-11T07:41:20.464459Z\"}\n");
	for (int i = 0; i < 5; i++)
		add(&tk, "{\"type\":\"ticker\",\"sequence\":%d,\"product_id\":\"USDC-USD\","
			 "\"price\":\"0.97%02d\",\"time\":\"2023-03-11T07:41:2%d.%03d999Z\"}\n",
		    100 + i, 10 + i, i, 100 * i);
	/* custom: a combined-stream envelope read with dot paths, the price
	 * once as a JSON number */
	for (int i = 0; i < 5; i++)
		add(&cu, "{\"stream\":\"btcusdt@trade\",\"data\":{\"p\":%s%d.5%s,"
			 "\"T\":%lld}}\n", i == 2 ? "" : "\"", 20000 + i,
		    i == 2 ? "" : "\"", (long long)(T0 + 1000 * i));
	if (to_file(ptr, &tr) || to_file(ptk, &tk) || to_file(pcu, &cu)) {
		CHECK(0);
		return;
	}
	{
		const char *a1[] = { "--file", ptr, "--interval-ms", "5", "--lifetime", "20", NULL };
		const char *a2[] = { "--file", ptk, "--interval-ms", "5", "--lifetime", "20", NULL };
		const char *a3[] = { "--file", pcu, "--interval-ms", "5", "--lifetime", "20", NULL };
		start_or_fail(&s1, a1, &ok);
		start_or_fail(&s2, a2, &ok);
		start_or_fail(&s3, a3, &ok);
	}
	if (!ok)
		goto out;
	snprintf(feeds, sizeof feeds,
		 "{ name = \"eth-usd\"; url = \"ws://127.0.0.1:%d/ws\"; preset = \"trade\"; "
		 "stale_after_ms = 60000; },\n"
		 "{ name = \"usdc-usd\"; url = \"ws://127.0.0.1:%d/\"; preset = \"ticker\"; "
		 "stale_after_ms = 60000; },\n"
		 "{ name = \"btc-usd\"; url = \"ws://127.0.0.1:%d\"; price = \"data.p\"; "
		 "time = \"data.T\"; stale_after_ms = 60000; }",
		 s1.port, s2.port, s3.port);
	cfg = load_cfg(feeds);
	CHECK(cfg != NULL);
	if (!cfg)
		goto out;
	reset_seen();
	R.stop_when = stop_at_15_ticks;
	CHECK_OK(feeds_new(L, cfg, sink, tap, NULL, &f));
	if (!f)
		goto out;
	CHECK_EQ_INT(feeds_count(f), 3);
	w0 = wall_ms();
	CHECK_OK(feeds_start(f));
	CHECK_ERR(feeds_start(f), KERR_ARG);
	CHECK(run_for(5000));
	w1 = wall_ms();
	CHECK_EQ_INT(R.nticks, 15);
	CHECK_EQ_INT(R.nstale, 0);

	memset(&tm0, 0, sizeof tm0);
	tm0.tm_year = 2023 - 1900;
	tm0.tm_mon = 2;
	tm0.tm_mday = 11;
	tm0.tm_hour = 7;
	tm0.tm_min = 41;
	tm0.tm_sec = 20;
	base = timegm(&tm0);
	for (int e = 0; e < R.nev && e < MAX_EV; e++) {
		const event_price_t *p = &R.ev[e].price;
		int i;

		CHECK_EQ_INT(R.ev[e].kind, EV_PRICE);
		if (R.ev[e].kind != EV_PRICE || p->feed > 2)
			continue;
		i = idx[p->feed]++;
		CHECK_MSG(p->recv_ms >= w0 && p->recv_ms <= w1, "recv_ms %lld outside "
			  "[%lld, %lld]", (long long)p->recv_ms, (long long)w0,
			  (long long)w1);
		if (p->feed == 0) {
			CHECK(p->price == 1450 + i / 4.0);
			CHECK_EQ_INT(p->time_ms, T0 + 7 * i);
		} else if (p->feed == 1) {
			CHECK(p->price == strtod(i == 0 ? "0.9710" : i == 1 ? "0.9711" :
					       i == 2 ? "0.9712" : i == 3 ? "0.9713" :
					       "0.9714", NULL));
			CHECK_EQ_INT(p->time_ms, (int64_t)(base + i) * 1000 + 100 * i);
		} else {
			CHECK(p->price == 20000 + i + 0.5);
			CHECK_EQ_INT(p->time_ms, T0 + 1000 * i);
		}
	}
	CHECK_EQ_INT(idx[0], 5);
	CHECK_EQ_INT(idx[1], 5);
	CHECK_EQ_INT(idx[2], 5);

	/* The tap saw every message of each feed, in order, before parsing. */
	{
		const text_t *src[3] = { &tr, &tk, &cu };
		const char *name[3] = { "eth-usd", "usdc-usd", "btc-usd" };
		int seen[3] = { 0, 0, 0 }, bad = 0;

		for (int i = 0; i < R.nfr && i < MAX_FR; i++) {
			for (int k = 0; k < 3; k++) {
				size_t n;
				const char *l;

				if (strcmp(R.fr[i].src, name[k]))
					continue;
				l = line_at(src[k], seen[k]++, &n);
				bad += !l || !frame_is(i, name[k], l, n);
				bad += R.fr[i].wall < w0 || R.fr[i].wall > w1;
			}
		}
		CHECK_EQ_INT(bad, 0);
		CHECK_EQ_INT(seen[0], 7);
		CHECK_EQ_INT(seen[1], 7);
		CHECK_EQ_INT(seen[2], 5);
	}
	CHECK_OK(feeds_stats(f, 0, &st));
	CHECK_EQ_INT(st.messages, 7);
	CHECK_EQ_INT(st.ticks, 5);
	CHECK_EQ_INT(st.ignored, 2);
	CHECK_EQ_INT(st.bad_json + st.bad_missing + st.bad_value, 0);
	CHECK_EQ_INT(st.opens, 1);
	CHECK(st.is_open);
	CHECK(!st.is_stale);
	CHECK(st.last_tick_ms >= w0 && st.last_tick_ms <= w1);
	CHECK_OK(feeds_stats(f, 1, &st));
	CHECK_EQ_INT(st.ticks, 5);
	CHECK_EQ_INT(st.ignored, 2);
	CHECK_OK(feeds_stats(f, 2, &st));
	CHECK_EQ_INT(st.ticks, 5);
	CHECK_EQ_INT(st.ignored, 0);
	CHECK_ERR(feeds_stats(f, 3, &st), KERR_ARG);
	printf("    15 ticks (trade, ticker, data.p), 4 ignored, %d frames tapped\n",
	       R.nfr);
out:
	feeds_free(f);
	run_for(50);
	config_free(cfg);
	feedsrv_stop(&s1);
	feedsrv_stop(&s2);
	feedsrv_stop(&s3);
	unlink(ptr);
	unlink(ptk);
	unlink(pcu);
	reset_seen();
}

static int stop_at_5_ticks(void)
{
	return R.nticks >= 5;
}

static void test_malformed_kept(void)
{
	static const char *const junk[] = {
		"not json at all",                                   /* json */
		"{\"e\":\"trade\",\"p\":\"1450.2\",\"T\":1678520483000", /* json: cut */
		"{\"e\":\"trade\",\"p\":\"abc\",\"T\":1678520483000}",   /* value */
		"{\"e\":\"trade\",\"p\":\"-5\",\"T\":1678520483000}",    /* value: < 0 */
		"{\"e\":\"trade\",\"p\":null,\"T\":1678520483000}",      /* value */
		"{\"e\":\"trade\",\"p\":\"1.5\",\"T\":1678520483}",      /* value: seconds */
		"{\"e\":\"trade\",\"T\":1678520483000}",                 /* missing p */
		"{\"e\":\"trade\",\"p\":\"1.5\"}",                       /* missing T */
	};
	text_t jt = { .len = 0 }, good = { .len = 0 };
	char pj[64] = "", pg[64] = "", feeds[512];
	feedsrv_t s = { -1, 0 };
	config_keeper_t *cfg = NULL;
	feeds_t *f = NULL;
	feeds_stats_t st;
	int ok = 1, bad = 0;
	const size_t njunk = sizeof junk / sizeof *junk;

	for (size_t i = 0; i < njunk; i++)
		add(&jt, "%s\n", junk[i]);
	add_trades(&good, 5);
	if (to_file(pj, &jt) || to_file(pg, &good)) {
		CHECK(0);
		goto out;
	}
	{
		/* the junk, one valid-JSON message of 1.1 MB (over the 1 MiB
		 * limit), then the good ticks */
		const char *a[] = { "--junk", pj, "--oversize", "1100000", "--file", pg,
				    "--interval-ms", "2", "--lifetime", "20", NULL };
		start_or_fail(&s, a, &ok);
	}
	if (!ok)
		goto out;
	snprintf(feeds, sizeof feeds,
		 "{ name = \"eth-usd\"; url = \"ws://127.0.0.1:%d/\"; preset = \"trade\"; "
		 "stale_after_ms = 60000; }", s.port);
	cfg = load_cfg(feeds);
	CHECK(cfg != NULL);
	if (!cfg)
		goto out;
	reset_seen();
	R.stop_when = stop_at_5_ticks;
	CHECK_OK(feeds_new(L, cfg, sink, tap, NULL, &f));
	if (!f)
		goto out;
	CHECK_OK(feeds_start(f));
	CHECK(run_for(5000));
	CHECK_EQ_INT(R.nticks, 5);
	CHECK_EQ_INT(R.nev, 5);
	for (int i = 0; i < R.nev && i < 5; i++)
		CHECK(R.ev[i].price.price == 1450 + i / 4.0);
	CHECK_OK(feeds_stats(f, 0, &st));
	CHECK_EQ_INT(st.bad_json, 2);
	CHECK_EQ_INT(st.bad_value, 4);
	CHECK_EQ_INT(st.bad_missing, 2);
	CHECK_EQ_INT(st.oversized, 1);
	CHECK_EQ_INT(st.binary, 0);
	CHECK_EQ_INT(st.ticks, 5);
	CHECK_EQ_INT(st.ignored, 0);
	CHECK_EQ_INT(st.messages, njunk + 5);
	CHECK_EQ_INT(st.opens, 1);       /* the connection was kept */
	CHECK_EQ_INT(st.reconnects, 0);
	CHECK(st.is_open);
	/* The tap saw the junk as it came, but not the oversized message. */
	CHECK_EQ_INT(R.nfr, (int)njunk + 5);
	for (size_t i = 0; i < njunk; i++)
		bad += !frame_is((int)i, "eth-usd", junk[i], strlen(junk[i]));
	CHECK_EQ_INT(bad, 0);
	printf("    skipped: %llu not JSON, %llu bad values, %llu missing, %llu "
	       "oversized; 5 ticks after them on the same connection\n",
	       (unsigned long long)st.bad_json, (unsigned long long)st.bad_value,
	       (unsigned long long)st.bad_missing, (unsigned long long)st.oversized);
out:
	feeds_free(f);
	run_for(50);
	config_free(cfg);
	feedsrv_stop(&s);
	if (*pj)
		unlink(pj);
	if (*pg)
		unlink(pg);
	reset_seen();
}

static int stop_at_stale(void)
{
	return R.nstale > 0;
}

/* Index of the last EV_PRICE before event `before`, or -1. */
static int last_tick_before(int before)
{
	for (int i = before - 1; i >= 0; i--)
		if (i < MAX_EV && R.ev[i].kind == EV_PRICE)
			return i;
	return -1;
}

static int stale_event(void)
{
	for (int i = 0; i < R.nev && i < MAX_EV; i++)
		if (R.ev[i].kind == EV_FEED_STALE)
			return i;
	return -1;
}

static void test_stale_on_stall(void)
{
	text_t good = { .len = 0 };
	char pg[64] = "", feeds[512];
	feedsrv_t s = { -1, 0 };
	config_keeper_t *cfg = NULL;
	feeds_t *f = NULL;
	feeds_stats_t st;
	int ok = 1, si, ti;
	int64_t late;

	add_trades(&good, 20);
	if (to_file(pg, &good)) {
		CHECK(0);
		goto out;
	}
	{
		/* 5 ticks 100 ms apart (400 ms in all, longer than the 300 ms
		 * watch, so each tick must push it back), then silence with the
		 * connection open */
		const char *a[] = { "--file", pg, "--interval-ms", "100", "--stall-after",
				    "5", "--lifetime", "20", NULL };
		start_or_fail(&s, a, &ok);
	}
	if (!ok)
		goto out;
	snprintf(feeds, sizeof feeds,
		 "{ name = \"eth-usd\"; url = \"ws://127.0.0.1:%d/\"; preset = \"trade\"; "
		 "stale_after_ms = 300; }", s.port);
	cfg = load_cfg(feeds);
	CHECK(cfg != NULL);
	if (!cfg)
		goto out;
	reset_seen();
	R.stop_when = stop_at_stale;
	CHECK_OK(feeds_new(L, cfg, sink, tap, NULL, &f));
	if (!f)
		goto out;
	CHECK_OK(feeds_start(f));
	CHECK(run_for(5000));
	CHECK_EQ_INT(R.nticks, 5);
	CHECK_EQ_INT(R.nstale, 1);
	si = stale_event();
	ti = last_tick_before(si);
	CHECK(si == 5 && ti == 4);
	if (si < 0 || ti < 0)
		goto out;
	late = R.ev_mono[si] - R.ev_mono[ti] - 300;
	CHECK_MSG(late >= -1 && late <= 100, "stale %lld ms after stale_after_ms",
		  (long long)late);
	CHECK_EQ_INT(R.ev[si].feed.feed, 0);
	CHECK_EQ_INT(R.ev[si].feed.last_tick_ms, R.ev[ti].price.recv_ms);
	CHECK(R.ev[si].feed.time_ms - R.ev[ti].price.recv_ms >= 299);
	printf("    EV_FEED_STALE %lld ms after the last tick: %lld ms late "
	       "(stale_after_ms 300)\n", (long long)(R.ev_mono[si] - R.ev_mono[ti]),
	       (long long)late);
	/* Once per episode: nothing more while the feed stays silent. */
	R.stop_when = NULL;
	run_for(700);
	CHECK_EQ_INT(R.nstale, 1);
	CHECK_OK(feeds_stats(f, 0, &st));
	CHECK_EQ_INT(st.stale, 1);
	CHECK(st.is_stale);
	CHECK(st.is_open);
out:
	feeds_free(f);
	run_for(50);
	config_free(cfg);
	feedsrv_stop(&s);
	if (*pg)
		unlink(pg);
	reset_seen();
}

static int stop_after_back(void)
{
	/* the tick after EV_FEED_BACK has arrived */
	return R.nback > 0 && R.nev >= 2 && R.ev[(R.nev - 1) % MAX_EV].kind == EV_PRICE;
}

static void test_stale_and_back(void)
{
	text_t good = { .len = 0 };
	char pg[64] = "", feeds[512];
	feedsrv_t s = { -1, 0 };
	config_keeper_t *cfg = NULL;
	feeds_t *f = NULL;
	feeds_stats_t st;
	int ok = 1, si, ti, bi;
	int64_t late;

	add_trades(&good, 200);
	if (to_file(pg, &good)) {
		CHECK(0);
		goto out;
	}
	{
		const char *a[] = { "--file", pg, "--interval-ms", "20", "--lifetime",
				    "20", NULL };
		start_or_fail(&s, a, &ok);
	}
	if (!ok)
		goto out;
	snprintf(feeds, sizeof feeds,
		 "{ name = \"eth-usd\"; url = \"ws://127.0.0.1:%d/\"; preset = \"trade\"; "
		 "stale_after_ms = 250; }", s.port);
	cfg = load_cfg(feeds);
	CHECK(cfg != NULL);
	if (!cfg)
		goto out;
	reset_seen();
	/* The server is frozen (SIGSTOP) from inside the sink at the 5th
	 * tick: it stops sending, the connection stays. */
	R.freeze_pid = s.pid;
	R.freeze_after = 5;
	R.stop_when = stop_at_stale;
	CHECK_OK(feeds_new(L, cfg, sink, tap, NULL, &f));
	if (!f)
		goto out;
	CHECK_OK(feeds_start(f));
	CHECK(run_for(5000));
	CHECK_EQ_INT(R.nstale, 1);
	CHECK_EQ_INT(R.nback, 0);
	si = stale_event();
	ti = last_tick_before(si);
	CHECK(si >= 5 && ti == si - 1);
	if (si < 0 || ti < 0)
		goto out;
	late = R.ev_mono[si] - R.ev_mono[ti] - 250;
	CHECK_MSG(late >= -1 && late <= 100, "stale %lld ms late", (long long)late);
	/* Thawed: the next tick raises EV_FEED_BACK, then its EV_PRICE. */
	R.stop_when = stop_after_back;
	kill(s.pid, SIGCONT);
	CHECK(run_for(5000));
	CHECK_EQ_INT(R.nback, 1);
	CHECK_EQ_INT(R.nstale, 1);
	bi = si + 1;
	CHECK(R.nev == bi + 2 && bi + 1 < MAX_EV);
	if (R.nev != bi + 2 || bi + 1 >= MAX_EV)
		goto out;
	CHECK_EQ_INT(R.ev[bi].kind, EV_FEED_BACK);
	CHECK_EQ_INT(R.ev[bi + 1].kind, EV_PRICE);
	CHECK_EQ_INT(R.ev[bi].feed.feed, 0);
	CHECK_EQ_INT(R.ev[bi].feed.last_tick_ms, R.ev[bi + 1].price.recv_ms);
	CHECK(R.ev[bi].feed.time_ms >= R.ev[si].feed.time_ms);
	CHECK_OK(feeds_stats(f, 0, &st));
	CHECK(!st.is_stale);
	CHECK_EQ_INT(st.stale, 1);
	CHECK_EQ_INT(st.opens, 1);
	/* Ticking steadily again: no new episode. */
	R.stop_when = NULL;
	run_for(400);
	CHECK_EQ_INT(R.nstale, 1);
	printf("    frozen server: EV_FEED_STALE %lld ms late (stale_after_ms 250); "
	       "EV_FEED_BACK then EV_PRICE on thaw\n", (long long)late);
out:
	if (s.pid > 0)
		kill(s.pid, SIGCONT);
	feeds_free(f);
	run_for(50);
	config_free(cfg);
	feedsrv_stop(&s);
	if (*pg)
		unlink(pg);
	reset_seen();
}

/* Staleness counts ticks: heartbeats and junk keep coming, the price
 * does not, and the feed is stale all the same. */
static void test_stale_despite_heartbeats(void)
{
	text_t t = { .len = 0 };
	char pt[64] = "", feeds[512];
	feedsrv_t s = { -1, 0 };
	config_keeper_t *cfg = NULL;
	feeds_t *f = NULL;
	feeds_stats_t st;
	int ok = 1, si;
	uint64_t msgs_at_stale;
	int64_t since;

	add(&t, "{\"type\":\"ticker\",\"price\":\"0.9990\",\"time\":\"2023-03-11T07:41:20.000Z\"}\n");
	for (int i = 0; i < 100; i++)
		add(&t, i % 10 == 9 ? "not json\n" :
			"{\"type\":\"heartbeat\",\"sequence\":%d}\n", i);
	if (to_file(pt, &t)) {
		CHECK(0);
		goto out;
	}
	{
		const char *a[] = { "--file", pt, "--interval-ms", "20", "--lifetime", "20", NULL };
		start_or_fail(&s, a, &ok);
	}
	if (!ok)
		goto out;
	snprintf(feeds, sizeof feeds,
		 "{ name = \"usdc-usd\"; url = \"ws://127.0.0.1:%d/\"; preset = \"ticker\"; "
		 "stale_after_ms = 200; }", s.port);
	cfg = load_cfg(feeds);
	CHECK(cfg != NULL);
	if (!cfg)
		goto out;
	reset_seen();
	R.stop_when = stop_at_stale;
	CHECK_OK(feeds_new(L, cfg, sink, NULL, NULL, &f));
	if (!f)
		goto out;
	CHECK_OK(feeds_start(f));
	CHECK(run_for(3000));
	CHECK_EQ_INT(R.nticks, 1);
	si = stale_event();
	CHECK_EQ_INT(si, 1);
	if (si != 1)
		goto out;
	since = R.ev_mono[1] - R.ev_mono[0];
	CHECK_MSG(since >= 199 && since <= 300, "stale %lld ms after the tick",
		  (long long)since);
	CHECK_OK(feeds_stats(f, 0, &st));
	msgs_at_stale = st.messages;
	CHECK(msgs_at_stale >= 5);      /* heartbeats went on meanwhile */
	R.stop_when = NULL;
	run_for(200);
	CHECK_OK(feeds_stats(f, 0, &st));
	CHECK(st.messages > msgs_at_stale);
	CHECK(st.ignored >= 5);
	CHECK(st.bad_json >= 1);
	CHECK_EQ_INT(st.stale, 1);
	CHECK(st.is_stale);
out:
	feeds_free(f);
	run_for(50);
	config_free(cfg);
	feedsrv_stop(&s);
	if (*pt)
		unlink(pt);
	reset_seen();
}

static void test_stale_never_connected(void)
{
	char feeds[512];
	config_keeper_t *cfg;
	feeds_t *f = NULL;
	feeds_stats_t st;
	int64_t t0, dt;

	snprintf(feeds, sizeof feeds,
		 "{ name = \"gone\"; url = \"ws://127.0.0.1:%d/\"; price = \"p\"; "
		 "stale_after_ms = 200; }", free_port(0, NULL));
	cfg = load_cfg(feeds);
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	reset_seen();
	R.stop_when = stop_at_stale;
	CHECK_OK(feeds_new(L, cfg, sink, NULL, NULL, &f));
	if (!f)
		goto out;
	t0 = mono_ms();
	CHECK_OK(feeds_start(f));
	CHECK(run_for(3000));
	dt = mono_ms() - t0;
	CHECK_EQ_INT(R.nstale, 1);
	CHECK_EQ_INT(R.ev[0].kind, EV_FEED_STALE);
	CHECK_EQ_INT(R.ev[0].feed.last_tick_ms, -1);
	CHECK_MSG(dt >= 199 && dt <= 300, "stale after %lld ms", (long long)dt);
	CHECK_OK(feeds_stats(f, 0, &st));
	CHECK_EQ_INT(st.opens, 0);
	CHECK(st.connect_fails >= 1);
	CHECK_EQ_INT(st.last_tick_ms, -1);
	CHECK_EQ_INT(st.messages, 0);
out:
	feeds_free(f);
	run_for(50);
	config_free(cfg);
	reset_seen();
}

static int stop_at_6_ticks(void)
{
	return R.nticks >= 6;
}

static void test_reconnect_resubscribe(void)
{
	static const char sub[] = "{\"method\":\"SUBSCRIBE\",\"params\":[\"ethusdt@trade\"],\"id\":1}";
	text_t good = { .len = 0 };
	char pg[64] = "", feeds[1024];
	feedsrv_t s = { -1, 0 };
	config_keeper_t *cfg = NULL;
	feeds_t *f = NULL;
	feeds_stats_t st;
	int ok = 1, bad = 0;

	add_trades(&good, 10);
	if (to_file(pg, &good)) {
		CHECK(0);
		goto out;
	}
	{
		/* Echo what the client sends, send nothing before it, close
		 * after 3 ticks. */
		const char *a[] = { "--file", pg, "--interval-ms", "5", "--close-after",
				    "3", "--ack", "--wait-sub", "--lifetime", "20", NULL };
		start_or_fail(&s, a, &ok);
	}
	if (!ok)
		goto out;
	snprintf(feeds, sizeof feeds,
		 "{ name = \"eth-usd\"; url = \"ws://127.0.0.1:%d/\"; preset = \"trade\"; "
		 "subscribe = \"{\\\"method\\\":\\\"SUBSCRIBE\\\",\\\"params\\\":"
		 "[\\\"ethusdt@trade\\\"],\\\"id\\\":1}\"; stale_after_ms = 60000; }",
		 s.port);
	cfg = load_cfg(feeds);
	CHECK(cfg != NULL);
	if (!cfg)
		goto out;
	CHECK_EQ_STR(cfg->feeds[0].subscribe, sub);
	reset_seen();
	R.stop_when = stop_at_6_ticks;
	CHECK_OK(feeds_new(L, cfg, sink, tap, NULL, &f));
	if (!f)
		goto out;
	CHECK_OK(feeds_start(f));
	CHECK(run_for(5000));
	CHECK_EQ_INT(R.nticks, 6);
	CHECK_OK(feeds_stats(f, 0, &st));
	CHECK_EQ_INT(st.opens, 2);
	CHECK(st.reconnects >= 1);
	CHECK_EQ_INT(st.ignored, 2);   /* the echoed subscriptions */
	CHECK_EQ_INT(st.ticks, 6);
	/* Each connection: the subscription (echoed), then ticks 0..2. */
	CHECK_EQ_INT(R.nfr, 8);
	for (int c = 0; c < 2; c++) {
		bad += !frame_is(4 * c, "eth-usd", sub, sizeof sub - 1);
		for (int i = 0; i < 3; i++) {
			size_t n;
			const char *l = line_at(&good, i, &n);
			bad += !l || !frame_is(4 * c + 1 + i, "eth-usd", l, n);
		}
	}
	CHECK_EQ_INT(bad, 0);
	printf("    2 connections, subscription sent on each (echoed back), 6 ticks\n");
out:
	feeds_free(f);
	run_for(50);
	config_free(cfg);
	feedsrv_stop(&s);
	if (*pg)
		unlink(pg);
	reset_seen();
}

static void test_args(void)
{
	config_keeper_t *cfg = load_cfg("");
	feeds_t *f = NULL;
	feeds_stats_t st;

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK_ERR(feeds_new(NULL, cfg, sink, NULL, NULL, &f), KERR_ARG);
	CHECK_ERR(feeds_new(L, NULL, sink, NULL, NULL, &f), KERR_ARG);
	CHECK_ERR(feeds_new(L, cfg, NULL, NULL, NULL, &f), KERR_ARG);
	CHECK_ERR(feeds_new(L, cfg, sink, NULL, NULL, NULL), KERR_ARG);
	/* No feeds: valid, and nothing happens. */
	CHECK_OK(feeds_new(L, cfg, sink, NULL, NULL, &f));
	CHECK_EQ_INT(feeds_count(f), 0);
	CHECK_OK(feeds_start(f));
	CHECK_ERR(feeds_stats(f, 0, &st), KERR_ARG);
	feeds_free(f);
	feeds_free(NULL);
	config_free(cfg);
}

int main(int argc, char **argv)
{
	(void)argc;
	feedsrv_locate(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	log_setup(LOGL_ERROR, LOGF_TEXT); /* the malformed cases warn by design */
	if (loop_create(NULL, &L) != KERR_OK) {
		printf("loop_create failed\n");
		return 1;
	}
	loop_util_init();
	RUN(test_args);
	RUN(test_presets_and_paths);
	RUN(test_malformed_kept);
	RUN(test_stale_on_stall);
	RUN(test_stale_and_back);
	RUN(test_stale_despite_heartbeats);
	RUN(test_stale_never_connected);
	RUN(test_reconnect_resubscribe);
	loop_destroy(L);
	return t_done();
}
