/*
 * test_metrics: the registry and its exposition text (golden strings,
 * escaping, numbers, histogram buckets, limits), the health checks, and
 * the HTTP server on a real loop, driven by plain sockets polled from a
 * loop timer (the loop stays the only waiter): /metrics, /healthz turning
 * 503 and back, 404, 405, 414, an oversized request, no keep-alive, a busy
 * server, a scrape that stays one snapshot while the loop updates the
 * series under it, and both orders of freeing the registry and the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "keeper/metrics.h"
#include "tests/loop_util.h"
#include "tests/net_util.h"
#include "tests/test.h"

static char text[1 << 20];

/* Render m into text[]; "" when that fails. */
static const char *render(metrics_t *m)
{
	size_t len = 0;

	text[0] = 0;
	CHECK_OK(metrics_render(m, text, sizeof text, &len));
	CHECK_EQ_INT(len, strlen(text));
	CHECK(len <= metrics_text_max(m));
	return text;
}

/* ---- exposition text */

static void test_golden(void)
{
	static const char *const src[] = { "source" };
	static const char *const trig[] = { "trigger" };
	static const double b[] = { 0.001, 0.01, 0.1 };
	metrics_t *m = NULL;
	metrics_family_t *ev, *ttw, *rpc;
	metrics_series_t *feed, *node, *age, *depeg;

	CHECK_OK(metrics_new(NULL, &m));
	if (!m)
		return;
	CHECK_EQ_STR(render(m), "");
	CHECK_EQ_INT(metrics_text_max(m), 0);
	CHECK_OK(metrics_family_new(m, METRICS_COUNTER, "keeper_events_total",
				    "Events received, by source.", src, 1, NULL, 0, &ev));
	CHECK_OK(metrics_series_new(ev, (const char *[]){ "eth-usd" }, &feed));
	CHECK_OK(metrics_series_new(ev, (const char *[]){ "node" }, &node));
	CHECK_OK(metrics_gauge_new(m, "keeper_feed_age_seconds",
				   "Seconds since the feed's last message.", &age));
	CHECK_OK(metrics_family_new(m, METRICS_HISTOGRAM, "keeper_trip_to_wire_seconds",
				    "Trip to raw transaction sent.", trig, 1, b, 3, &ttw));
	CHECK_OK(metrics_series_new(ttw, (const char *[]){ "depeg" }, &depeg));
	/* A labelled family without series is left out. */
	CHECK_OK(metrics_family_new(m, METRICS_COUNTER, "keeper_rpc_errors_total",
				    "RPC errors, by endpoint.",
				    (const char *[]){ "endpoint" }, 1, NULL, 0, &rpc));
	for (int i = 0; i < 3; i++)
		metrics_inc(feed);
	metrics_add(node, 2);
	metrics_set(age, 1.5);
	/* Powers of two: the sum is exact, 0.5126953125. */
	metrics_observe(depeg, 0.0009765625);
	metrics_observe(depeg, 0.00390625);
	metrics_observe(depeg, 0.0078125);
	metrics_observe(depeg, 0.5);
	CHECK_EQ_STR(render(m),
		"# HELP keeper_events_total Events received, by source.\n"
		"# TYPE keeper_events_total counter\n"
		"keeper_events_total{source=\"eth-usd\"} 3\n"
		"keeper_events_total{source=\"node\"} 2\n"
		"# HELP keeper_feed_age_seconds Seconds since the feed's last message.\n"
		"# TYPE keeper_feed_age_seconds gauge\n"
		"keeper_feed_age_seconds 1.5\n"
		"# HELP keeper_trip_to_wire_seconds Trip to raw transaction sent.\n"
		"# TYPE keeper_trip_to_wire_seconds histogram\n"
		"keeper_trip_to_wire_seconds_bucket{trigger=\"depeg\",le=\"0.001\"} 1\n"
		"keeper_trip_to_wire_seconds_bucket{trigger=\"depeg\",le=\"0.01\"} 3\n"
		"keeper_trip_to_wire_seconds_bucket{trigger=\"depeg\",le=\"0.1\"} 3\n"
		"keeper_trip_to_wire_seconds_bucket{trigger=\"depeg\",le=\"+Inf\"} 4\n"
		"keeper_trip_to_wire_seconds_sum{trigger=\"depeg\"} 0.5126953125\n"
		"keeper_trip_to_wire_seconds_count{trigger=\"depeg\"} 4\n");
	CHECK_EQ_INT(metrics_count(depeg), 4);
	CHECK(metrics_value(depeg) == 0.5126953125);
	/* The first series of the labelled family brings its lines in. */
	{
		metrics_series_t *e0;

		CHECK_OK(metrics_series_new(rpc, (const char *[]){ "0" }, &e0));
		metrics_inc(e0);
		CHECK(strstr(render(m), "# HELP keeper_rpc_errors_total RPC errors, by endpoint.\n"
				   "# TYPE keeper_rpc_errors_total counter\n"
				   "keeper_rpc_errors_total{endpoint=\"0\"} 1\n") != NULL);
	}
	metrics_free(m);
}

static void test_escaping(void)
{
	metrics_t *m = NULL;
	metrics_family_t *f;
	metrics_series_t *s, *s2;

	CHECK_OK(metrics_new(NULL, &m));
	if (!m)
		return;
	/* HELP escapes backslash and newline, not the quote. */
	CHECK_OK(metrics_family_new(m, METRICS_GAUGE, "x:odd_name",
				    "a \\ b\nc \"q\" caf\xc3\xa9",
				    (const char *[]){ "a", "b_2" }, 2, NULL, 0, &f));
	CHECK_OK(metrics_series_new(f, (const char *[]){ "back\\slash \"quoted\"\nnext",
							 "caf\xc3\xa9 \xf0\x9f\x94\xa5" }, &s));
	metrics_set(s, -3);
	CHECK_EQ_STR(render(m),
		"# HELP x:odd_name a \\\\ b\\nc \"q\" caf\xc3\xa9\n"
		"# TYPE x:odd_name gauge\n"
		"x:odd_name{a=\"back\\\\slash \\\"quoted\\\"\\nnext\","
		"b_2=\"caf\xc3\xa9 \xf0\x9f\x94\xa5\"} -3\n");
	/* The same values are the same series; the escaped form of another
	 * value cannot collide with it. */
	CHECK_OK(metrics_series_new(f, (const char *[]){ "back\\slash \"quoted\"\nnext",
							 "caf\xc3\xa9 \xf0\x9f\x94\xa5" }, &s2));
	CHECK(s2 == s);
	CHECK_OK(metrics_series_new(f, (const char *[]){ "back\\\\slash \\\"quoted\\\"\\nnext",
							 "caf\xc3\xa9 \xf0\x9f\x94\xa5" }, &s2));
	CHECK(s2 != s);
	/* Empty values are values. */
	CHECK_OK(metrics_series_new(f, (const char *[]){ "", "" }, &s2));
	CHECK(strstr(render(m), "x:odd_name{a=\"\",b_2=\"\"} 0\n") != NULL);
	/* Not UTF-8: a lone continuation byte, a truncated sequence, an
	 * overlong '/', a surrogate, above U+10FFFF. */
	CHECK_ERR(metrics_series_new(f, (const char *[]){ "\x80", "" }, &s2), KERR_ARG);
	CHECK_ERR(metrics_series_new(f, (const char *[]){ "\xc3", "" }, &s2), KERR_ARG);
	CHECK_ERR(metrics_series_new(f, (const char *[]){ "\xc0\xaf", "" }, &s2), KERR_ARG);
	CHECK_ERR(metrics_series_new(f, (const char *[]){ "\xed\xa0\x80", "" }, &s2), KERR_ARG);
	CHECK_ERR(metrics_series_new(f, (const char *[]){ "\xf4\x90\x80\x80", "" }, &s2), KERR_ARG);
	CHECK_ERR(metrics_family_new(m, METRICS_GAUGE, "bad_help", "\xff", NULL, 0,
				     NULL, 0, &f), KERR_ARG);
	metrics_free(m);
}

static void test_numbers(void)
{
	static const struct { double v; const char *want; } cases[] = {
		{ 0, "0" }, { 12, "12" }, { -7, "-7" }, { 0.1, "0.1" },
		{ 1e-6, "1e-06" }, { 2.5e-6, "2.5e-06" }, { 1.0 / 3, "0.3333333333333333" },
		{ 0.1 + 0.2, "0.30000000000000004" }, { 1e21, "1e+21" },
		{ 9007199254740993.0, "9007199254740992" },
		{ 123456789012345680000.0, "1.2345678901234568e+20" },
		{ -2.2250738585072014e-308, "-2.2250738585072014e-308" },
		{ INFINITY, "+Inf" }, { -INFINITY, "-Inf" }, { NAN, "NaN" },
	};
	metrics_t *m = NULL;
	metrics_series_t *g;
	char want[128];

	CHECK_OK(metrics_new(NULL, &m));
	if (!m)
		return;
	CHECK_OK(metrics_gauge_new(m, "g", "", &g));
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		metrics_set(g, cases[i].v);
		snprintf(want, sizeof want, "# HELP g \n# TYPE g gauge\ng %s\n", cases[i].want);
		CHECK_EQ_STR(render(m), want);
	}
	metrics_free(m);
}

static void test_histogram(void)
{
	static const double b[] = { 0.1, 1, 10 };
	metrics_t *m = NULL;
	metrics_series_t *h, *lat;

	CHECK_OK(metrics_new(NULL, &m));
	if (!m)
		return;
	CHECK_OK(metrics_histogram_new(m, "h", "h.", b, 3, &h));
	/* A bound is inclusive (le); below the first bound goes in the
	 * first bucket; above the last only in +Inf; NaN is not counted. */
	metrics_observe(h, 0.1);
	metrics_observe(h, -1);
	metrics_observe(h, 0.5);
	metrics_observe(h, 1);
	metrics_observe(h, 10.5);
	metrics_observe(h, 0.25);
	metrics_observe(h, NAN);
	CHECK_EQ_STR(render(m),
		"# HELP h h.\n# TYPE h histogram\n"
		"h_bucket{le=\"0.1\"} 2\n"
		"h_bucket{le=\"1\"} 5\n"
		"h_bucket{le=\"10\"} 5\n"
		"h_bucket{le=\"+Inf\"} 6\n"
		"h_sum 11.35\n"
		"h_count 6\n");
	/* Only histograms observe; counters and gauges ignore it, and the
	 * other way round. */
	metrics_inc(h);
	metrics_add(h, 5);
	metrics_set(h, 5);
	CHECK_EQ_INT(metrics_count(h), 6);
	CHECK(metrics_value(h) == 11.35);

	/* The trip-to-wire buckets: 1 us .. 1 s in 1-2.5-5 steps. */
	CHECK_OK(metrics_histogram_new(m, "lat", "", metrics_latency_buckets,
				       METRICS_LATENCY_BUCKETS_N, &lat));
	metrics_observe(lat, 3e-6);
	metrics_observe(lat, 0.0007);
	metrics_observe(lat, 2);
	render(m);
	{
		static const char *const le[METRICS_LATENCY_BUCKETS_N] = {
			"1e-06", "2.5e-06", "5e-06", "1e-05", "2.5e-05", "5e-05",
			"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
			"0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1" };
		char line[96];

		for (int i = 0; i < METRICS_LATENCY_BUCKETS_N; i++) {
			int want = i < 2 ? 0 : i < 9 ? 1 : 2;

			snprintf(line, sizeof line, "\nlat_bucket{le=\"%s\"} %d\n", le[i], want);
			CHECK_MSG(strstr(text, line) != NULL, "missing %s", line + 1);
		}
		CHECK(strstr(text, "\nlat_bucket{le=\"+Inf\"} 3\nlat_sum 2.000703\nlat_count 3\n") != NULL);
	}
	metrics_free(m);
}

static void test_counters(void)
{
	metrics_t *m = NULL;
	metrics_series_t *c, *g;

	CHECK_OK(metrics_new(NULL, &m));
	if (!m)
		return;
	CHECK_OK(metrics_counter_new(m, "c_total", "", &c));
	CHECK_OK(metrics_gauge_new(m, "g", "", &g));
	metrics_inc(c);
	metrics_add(c, 2.5);
	metrics_add(c, -1);   /* a counter never goes down */
	metrics_add(c, NAN);
	CHECK(metrics_value(c) == 3.5);
	/* Mirroring a module's own count. */
	metrics_set(c, 42);
	CHECK(metrics_value(c) == 42);
	metrics_inc(g);       /* gauges are set, not counted */
	metrics_add(g, 3);
	metrics_observe(g, 3);
	CHECK(metrics_value(g) == 0);
	metrics_set(g, -0.5);
	CHECK(metrics_value(g) == -0.5);
	CHECK_EQ_INT(metrics_count(g), 0);
	/* NULL series: no-ops. */
	metrics_inc(NULL);
	metrics_add(NULL, 1);
	metrics_set(NULL, 1);
	metrics_observe(NULL, 1);
	CHECK(metrics_value(NULL) == 0);
	CHECK_EQ_STR(render(m), "# HELP c_total \n# TYPE c_total counter\nc_total 42\n"
				"# HELP g \n# TYPE g gauge\ng -0.5\n");
	metrics_free(m);
}

static void test_rules(void)
{
	static const double b[] = { 1, 2 }, bad_b[] = { 2, 1 }, nan_b[] = { 1, NAN };
	static const double inf_b[] = { 1, INFINITY };
	metrics_t *m = NULL;
	metrics_family_t *f;
	metrics_series_t *s;
	char name[METRICS_NAME_MAX + 2], val[METRICS_LABEL_VALUE_MAX + 2];

	CHECK_OK(metrics_new(NULL, &m));
	if (!m)
		return;
	/* Metric names. */
	CHECK_ERR(metrics_counter_new(m, "", "", &s), KERR_ARG);
	CHECK_ERR(metrics_counter_new(m, "9lives", "", &s), KERR_ARG);
	CHECK_ERR(metrics_counter_new(m, "a-b", "", &s), KERR_ARG);
	CHECK_ERR(metrics_counter_new(m, "a b", "", &s), KERR_ARG);
	CHECK_ERR(metrics_counter_new(m, NULL, "", &s), KERR_ARG);
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = 0;
	CHECK_ERR(metrics_counter_new(m, name, "", &s), KERR_ARG);
	name[METRICS_NAME_MAX] = 0;
	CHECK_OK(metrics_counter_new(m, name, "", &s));
	CHECK_OK(metrics_counter_new(m, "_a:b9", "", &s));
	CHECK_ERR(metrics_gauge_new(m, "_a:b9", "", &s), KERR_ARG); /* taken */
	/* Label names. */
	CHECK_ERR(metrics_family_new(m, METRICS_GAUGE, "l1", "",
				     (const char *[]){ "a:b" }, 1, NULL, 0, &f), KERR_ARG);
	CHECK_ERR(metrics_family_new(m, METRICS_GAUGE, "l1", "",
				     (const char *[]){ "__x" }, 1, NULL, 0, &f), KERR_ARG);
	CHECK_ERR(metrics_family_new(m, METRICS_GAUGE, "l1", "",
				     (const char *[]){ "a", "a" }, 2, NULL, 0, &f), KERR_ARG);
	CHECK_ERR(metrics_family_new(m, METRICS_GAUGE, "l1", "",
				     (const char *[]){ "a", "b", "c", "d", "e" }, 5,
				     NULL, 0, &f), KERR_ARG);
	CHECK_ERR(metrics_family_new(m, METRICS_GAUGE, "l1", "", NULL, 1, NULL, 0, &f),
		  KERR_ARG);
	CHECK_ERR(metrics_family_new(m, METRICS_HISTOGRAM, "l1", "",
				     (const char *[]){ "le" }, 1, b, 2, &f), KERR_ARG);
	CHECK_OK(metrics_family_new(m, METRICS_GAUGE, "l1", "",
				    (const char *[]){ "le" }, 1, NULL, 0, &f));
	/* Label values: one per name, bounded. */
	CHECK_ERR(metrics_series_new(f, NULL, &s), KERR_ARG);
	CHECK_ERR(metrics_series_new(f, (const char *[]){ NULL }, &s), KERR_ARG);
	memset(val, 'v', sizeof val - 1);
	val[sizeof val - 1] = 0;
	CHECK_ERR(metrics_series_new(f, (const char *[]){ val }, &s), KERR_ARG);
	val[METRICS_LABEL_VALUE_MAX] = 0;
	CHECK_OK(metrics_series_new(f, (const char *[]){ val }, &s));
	/* Buckets: histograms only, increasing, finite, bounded. */
	CHECK_ERR(metrics_histogram_new(m, "h1", "", NULL, 0, &s), KERR_ARG);
	CHECK_ERR(metrics_histogram_new(m, "h1", "", bad_b, 2, &s), KERR_ARG);
	CHECK_ERR(metrics_histogram_new(m, "h1", "", (const double[]){ 1, 1 }, 2, &s),
		  KERR_ARG);
	CHECK_ERR(metrics_histogram_new(m, "h1", "", nan_b, 2, &s), KERR_ARG);
	CHECK_ERR(metrics_histogram_new(m, "h1", "", inf_b, 2, &s), KERR_ARG);
	CHECK_ERR(metrics_histogram_new(m, "h1", "", b, METRICS_BUCKETS_MAX + 1, &s),
		  KERR_ARG);
	CHECK_ERR(metrics_family_new(m, METRICS_COUNTER, "h1", "", NULL, 0, b, 2, &f),
		  KERR_ARG);
	CHECK_ERR(metrics_family_new(m, (metrics_type_t)7, "h1", "", NULL, 0, NULL, 0, &f),
		  KERR_ARG);
	CHECK_OK(metrics_histogram_new(m, "h1", "", b, 2, &s));
	/* HELP length. */
	{
		char help[METRICS_HELP_MAX + 2];

		memset(help, 'h', sizeof help - 1);
		help[sizeof help - 1] = 0;
		CHECK_ERR(metrics_gauge_new(m, "h2", help, &s), KERR_ARG);
		help[METRICS_HELP_MAX] = 0;
		CHECK_OK(metrics_gauge_new(m, "h2", help, &s));
	}
	metrics_free(m);
}

static void test_limits(void)
{
	static const double b[] = { 1, 2, 3 };
	metrics_limits_t lim = { .families = 3, .series = 4, .cells = 5,
				 .label_bytes = 40, .checks = 1 };
	metrics_t *m = NULL;
	metrics_family_t *f, *h;
	metrics_series_t *s;
	metrics_check_t *c;
	char small[16];
	size_t len;

	CHECK_OK(metrics_new(&lim, &m));
	if (!m)
		return;
	CHECK_OK(metrics_family_new(m, METRICS_COUNTER, "a", "", (const char *[]){ "k" }, 1,
				    NULL, 0, &f));
	CHECK_OK(metrics_family_new(m, METRICS_HISTOGRAM, "h", "", (const char *[]){ "k" }, 1,
				    b, 3, &h));
	CHECK_OK(metrics_gauge_new(m, "g", "", &s));          /* 1 series */
	CHECK_ERR(metrics_gauge_new(m, "g2", "", &s), KERR_FULL); /* families */
	/* Histogram cells: 3 each, 5 in all. */
	CHECK_OK(metrics_series_new(h, (const char *[]){ "x" }, &s));
	CHECK_ERR(metrics_series_new(h, (const char *[]){ "y" }, &s), KERR_FULL);
	/* Label bytes: k="x" took 5 of 40, k="<25>" takes 29. */
	CHECK_OK(metrics_series_new(f, (const char *[]){ "0123456789012345678901234" }, &s));
	CHECK_ERR(metrics_series_new(f, (const char *[]){ "012" }, &s), KERR_FULL);
	CHECK_OK(metrics_series_new(f, (const char *[]){ "0" }, &s)); /* 4th series */
	CHECK_ERR(metrics_series_new(f, (const char *[]){ "" }, &s), KERR_FULL); /* series */
	/* An existing series is found even when the table is full. */
	CHECK_OK(metrics_series_new(f, (const char *[]){ "0" }, &s));
	CHECK_OK(metrics_check_new(m, "one", &c));
	CHECK_ERR(metrics_check_new(m, "two", &c), KERR_FULL);

	/* The text bound holds for the widest values and is needed whole. */
	metrics_set(s, -2.2250738585072014e-308);
	CHECK(strlen(render(m)) <= metrics_text_max(m));
	CHECK_ERR(metrics_render(m, text, metrics_text_max(m), &len), KERR_BUF);
	CHECK_OK(metrics_render(m, text, metrics_text_max(m) + 1, &len));
	CHECK_ERR(metrics_render(m, small, sizeof small, &len), KERR_BUF);
	CHECK_ERR(metrics_new(&lim, NULL), KERR_ARG);
	metrics_free(m);
	metrics_free(NULL);
}

/* ---- health and the collect hook */

static int collects;
static metrics_check_t *coll_chk;
static metrics_series_t *coll_ser;

static void collect(void *ctx)
{
	collects++;
	metrics_set(coll_ser, *(double *)ctx);
	if (*(double *)ctx > 10)
		metrics_check_fail(coll_chk, "feed eth-usd silent for %.1f s", *(double *)ctx);
	else
		metrics_check_pass(coll_chk);
}

static void test_health(void)
{
	metrics_t *m = NULL;
	metrics_check_t *node, *feed, *bal;
	char buf[1024];
	size_t len;
	bool ok = false;
	double age = 1;

	CHECK_OK(metrics_new(NULL, &m));
	if (!m)
		return;
	/* No checks: healthy. */
	CHECK_OK(metrics_health(m, buf, sizeof buf, &len, &ok));
	CHECK(ok);
	CHECK_EQ_STR(buf, "ok\n");
	CHECK_ERR(metrics_check_new(m, "", &node), KERR_ARG);
	CHECK_ERR(metrics_check_new(m, "a b", &node), KERR_ARG);
	CHECK_ERR(metrics_check_new(m, "a:b", &node), KERR_ARG);
	CHECK_ERR(metrics_check_new(m, "tab\t", &node), KERR_ARG);
	CHECK_OK(metrics_check_new(m, "node", &node));
	CHECK_OK(metrics_check_new(m, "feed", &feed));
	CHECK_OK(metrics_check_new(m, "signer_balance", &bal));
	CHECK_ERR(metrics_check_new(m, "node", &node), KERR_ARG);
	CHECK(metrics_check_passing(node));
	CHECK_OK(metrics_health(m, buf, sizeof buf, &len, &ok));
	CHECK(ok);
	CHECK_EQ_STR(buf, "ok\n");
	CHECK_EQ_INT(len, 3);

	/* Failing checks, in registration order, one line each. */
	metrics_check_fail(bal, "balance %s ETH below %s", "0.01", "0.05");
	metrics_check_fail(node, "disconnected:\nretrying\r in 2 s");
	CHECK(!metrics_check_passing(node));
	CHECK_OK(metrics_health(m, buf, sizeof buf, &len, &ok));
	CHECK(!ok);
	CHECK_EQ_STR(buf, "node: disconnected: retrying  in 2 s\n"
			  "signer_balance: balance 0.01 ETH below 0.05\n");
	CHECK_EQ_INT(len, strlen(buf));
	CHECK(len <= metrics_health_max(m));
	/* An empty reason still says something; a long one is cut. */
	metrics_check_fail(node, "%s", "");
	metrics_check_pass(bal);
	CHECK_OK(metrics_health(m, buf, sizeof buf, &len, &ok));
	CHECK_EQ_STR(buf, "node: failing\n");
	{
		char longr[METRICS_REASON_MAX * 2];

		memset(longr, 'r', sizeof longr - 1);
		longr[sizeof longr - 1] = 0;
		metrics_check_fail(node, "%s", longr);
		CHECK_OK(metrics_health(m, buf, sizeof buf, &len, &ok));
		CHECK_EQ_INT(len, strlen("node: ") + METRICS_REASON_MAX + 1);
	}
	metrics_check_pass(node);

	/* The collect hook runs before each rendering: staleness judged at
	 * scrape time. */
	CHECK_OK(metrics_gauge_new(m, "feed_age_seconds", "", &coll_ser));
	coll_chk = feed;
	collects = 0;
	metrics_on_collect(m, collect, &age);
	CHECK_OK(metrics_health(m, buf, sizeof buf, &len, &ok));
	CHECK(ok);
	age = 12.5;
	CHECK_OK(metrics_health(m, buf, sizeof buf, &len, &ok));
	CHECK(!ok);
	CHECK_EQ_STR(buf, "feed: feed eth-usd silent for 12.5 s\n");
	CHECK(strstr(render(m), "\nfeed_age_seconds 12.5\n") != NULL);
	CHECK_EQ_INT(collects, 3);
	age = 0.5;
	CHECK_OK(metrics_health(m, buf, sizeof buf, &len, &ok));
	CHECK(ok);
	CHECK_ERR(metrics_health(m, buf, 3, &len, &ok), KERR_BUF);
	metrics_on_collect(m, NULL, NULL);
	render(m);
	CHECK_EQ_INT(collects, 5);
	metrics_free(m);
}

/* ---- plain socket clients, polled from a loop timer */

typedef struct {
	int fd;
	char out[70000];
	size_t out_len, out_sent;
	char *in;
	size_t in_len, in_cap;
	bool done;             /* EOF or error */
	int64_t read_after_ms; /* loop_now_ms() before which it does not read */
} client_t;

#define NCLIENTS 4
static client_t *cl[NCLIENTS];
static loop_timer_t cl_t;
static int port_now;

static void client_step(client_t *c)
{
	ssize_t n;

	while (c->out_sent < c->out_len) {
		n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				c->out_len = c->out_sent; /* server closed: stop */
			break;
		}
		c->out_sent += (size_t)n;
	}
	if (loop_now_ms(L) < c->read_after_ms)
		return;
	for (;;) {
		if (c->in_cap - c->in_len < 4096) {
			c->in_cap = c->in_cap * 2 + 8192;
			c->in = realloc(c->in, c->in_cap + 1);
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (n > 0) {
			c->in_len += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			c->done = true;
		break;
	}
	c->in[c->in_len] = 0;
}

static void clients_cb(loop_t *loop, void *arg)
{
	(void)loop;
	(void)arg;
	for (int i = 0; i < NCLIENTS; i++) {
		if (cl[i] && !cl[i]->done)
			client_step(cl[i]);
	}
	loop_timer_arm_ms(&cl_t, 1);
}

/* Connect to the current server; rcvbuf > 0 shrinks the receive buffer
 * (before connecting, so the window is small from the start). */
static client_t *client_new(const char *req, int rcvbuf)
{
	client_t *c = calloc(1, sizeof *c);
	size_t req_len = strlen(req);
	struct sockaddr_in sa;

	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (rcvbuf > 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port_now);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* The kernel completes the handshake from the listen backlog. */
	CHECK(connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	if (req_len > sizeof c->out)
		req_len = sizeof c->out;
	memcpy(c->out, req, req_len);
	c->out_len = req_len;
	c->in_cap = 8192;
	c->in = malloc(c->in_cap + 1);
	c->in[0] = 0;
	return c;
}

static void client_free(client_t *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->in);
	free(c);
}

static bool all_done(void)
{
	for (int i = 0; i < NCLIENTS; i++) {
		if (cl[i] && !cl[i]->done)
			return false;
	}
	return true;
}

/* Run the loop until every client in cl[] saw its connection end. */
static bool run_clients(int ms)
{
	bool ok;

	loop_timer_arm_ms(&cl_t, 0);
	ok = run_until(all_done, ms);
	loop_timer_cancel(&cl_t);
	CHECK_MSG(ok, "a client did not finish within %d ms", ms);
	return ok;
}

/* The status of c's response, 0 if there is none. */
static int status_of(const client_t *c)
{
	int st = 0;

	if (c->in_len < 12 || (strncmp(c->in, "HTTP/1.1 ", 9) != 0 &&
				strncmp(c->in, "HTTP/1.0 ", 9) != 0))
		return 0;
	sscanf(c->in + 9, "%3d", &st);
	return st;
}

static const char *body_of(const client_t *c)
{
	const char *b = strstr(c->in, "\r\n\r\n");

	return b ? b + 4 : "";
}

/* The value of header name (case-insensitive) in c's response, in out. */
static const char *header_of(const client_t *c, const char *name, char *out, size_t cap)
{
	const char *p = c->in, *end = strstr(c->in, "\r\n\r\n");
	size_t n = strlen(name);

	out[0] = 0;
	while (end && (p = strstr(p, "\r\n")) && p < end) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(out, cap, "%.*s", (int)(e - v), v);
			return out;
		}
	}
	return out;
}

/* One request, run to the end of its connection. */
static client_t *fetch(const char *req)
{
	client_t *c = client_new(req, 0);

	cl[0] = c;
	run_clients(3000);
	cl[0] = NULL;
	return c;
}

static void check_length(const client_t *c)
{
	char v[64];

	header_of(c, "content-length", v, sizeof v);
	CHECK_EQ_INT(atol(v), strlen(body_of(c)));
	CHECK_EQ_STR(header_of(c, "connection", v, sizeof v), "close");
}

/* ---- the server */

static void test_server(void)
{
	metrics_t *m = NULL;
	metrics_series_t *ev, *trips, *ttw;
	metrics_check_t *feed, *node;
	metrics_http_stats_t st;
	client_t *c;
	char v[128], expect[4096];
	size_t elen;
	int port = 0;

	CHECK_OK(metrics_new(NULL, &m));
	if (!m)
		return;
	CHECK_OK(metrics_counter_new(m, "keeper_events_total", "Events.", &ev));
	CHECK_OK(metrics_counter_new(m, "keeper_trips_total", "Trips.", &trips));
	CHECK_OK(metrics_histogram_new(m, "keeper_trip_to_wire_seconds", "Trip to wire.",
				       metrics_latency_buckets, METRICS_LATENCY_BUCKETS_N, &ttw));
	CHECK_OK(metrics_check_new(m, "feed", &feed));
	CHECK_OK(metrics_check_new(m, "node", &node));
	/* Malformed addresses. */
	CHECK_ERR(metrics_listen(m, L, "127.0.0.1", &port), KERR_ARG);
	CHECK_ERR(metrics_listen(m, L, "127.0.0.1:", &port), KERR_ARG);
	CHECK_ERR(metrics_listen(m, L, "127.0.0.1:70000", &port), KERR_ARG);
	CHECK_ERR(metrics_listen(m, L, "127.0.0.1:8x", &port), KERR_ARG);
	CHECK_ERR(metrics_listen(m, L, ":9464", &port), KERR_ARG);
	CHECK_ERR(metrics_listen(m, L, "::1:9464", &port), KERR_ARG);
	CHECK_ERR(metrics_listen(m, L, "[::1]9464", &port), KERR_ARG);
	CHECK_ERR(metrics_listen(m, NULL, "127.0.0.1:0", &port), KERR_ARG);
	/* A port someone else holds. */
	{
		int fd = -1, busy = free_port(1, &fd);
		char hp[32];

		snprintf(hp, sizeof hp, "127.0.0.1:%d", busy);
		CHECK(busy > 0);
		CHECK_ERR(metrics_listen(m, L, hp, &port), KERR_IO);
		if (fd >= 0)
			close(fd);
	}
	/* Registration still open after the failures; then listen. */
	CHECK_OK(metrics_check_new(m, "state_file", &node));
	CHECK_OK(metrics_check_new(m, "node_link", &node));
	CHECK_OK(metrics_listen(m, L, "localhost:0", &port));
	CHECK(port > 0);
	port_now = port;
	CHECK_ERR(metrics_listen(m, L, "127.0.0.1:0", &port), KERR_ARG);
	/* Frozen: nothing new, but existing series can be updated. */
	CHECK_ERR(metrics_counter_new(m, "late_total", "", &ev), KERR_ARG);
	CHECK_ERR(metrics_check_new(m, "late", &node), KERR_ARG);
	metrics_inc(ev);
	metrics_inc(ev);
	metrics_inc(trips);
	metrics_observe(ttw, 0.0003);
	CHECK_OK(metrics_render(m, expect, sizeof expect, &elen));

	c = fetch("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	CHECK_EQ_INT(status_of(c), 200);
	CHECK_EQ_STR(header_of(c, "content-type", v, sizeof v),
		     "text/plain; version=0.0.4; charset=utf-8");
	check_length(c);
	CHECK_EQ_STR(body_of(c), expect);
	CHECK(strstr(body_of(c), "\nkeeper_events_total 2\n") != NULL);
	CHECK(strstr(body_of(c), "\nkeeper_trips_total 1\n") != NULL);
	CHECK(strstr(body_of(c), "\nkeeper_trip_to_wire_seconds_bucket{le=\"0.0005\"} 1\n") != NULL);
	client_free(c);

	/* /healthz: 200, then 503 with the reasons, then 200 again. */
	c = fetch("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_EQ_INT(status_of(c), 200);
	CHECK_EQ_STR(body_of(c), "ok\n");
	check_length(c);
	client_free(c);
	metrics_check_fail(feed, "feed eth-usd stale: no message for %d s", 31);
	metrics_check_fail(node, "node disconnected");
	c = fetch("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_EQ_INT(status_of(c), 503);
	CHECK_EQ_STR(body_of(c), "feed: feed eth-usd stale: no message for 31 s\n"
				 "node_link: node disconnected\n");
	check_length(c);
	client_free(c);
	metrics_check_pass(feed);
	metrics_check_pass(node);
	c = fetch("GET /healthz HTTP/1.0\r\n\r\n");
	CHECK_EQ_INT(status_of(c), 200);
	CHECK_EQ_STR(body_of(c), "ok\n");
	client_free(c);

	/* A query string is ignored. */
	c = fetch("GET /metrics?name[]=x HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_EQ_INT(status_of(c), 200);
	client_free(c);
	/* 404, 405 (with Allow), 414. */
	c = fetch("GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_EQ_INT(status_of(c), 404);
	check_length(c);
	client_free(c);
	c = fetch("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_EQ_INT(status_of(c), 404);
	client_free(c);
	c = fetch("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
	CHECK_EQ_INT(status_of(c), 405);
	CHECK_EQ_STR(header_of(c, "allow", v, sizeof v), "GET");
	check_length(c);
	client_free(c);
	c = fetch("DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_EQ_INT(status_of(c), 405);
	client_free(c);
	/* HEAD: the headers of the 405, and no body after them. */
	c = fetch("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_EQ_INT(status_of(c), 405);
	CHECK_EQ_STR(header_of(c, "allow", v, sizeof v), "GET");
	CHECK_EQ_STR(body_of(c), "");
	CHECK(strstr(c->in, "\r\n\r\n") != NULL);
	client_free(c);
	{
		char req[1024];

		snprintf(req, sizeof req, "GET /%0*d HTTP/1.1\r\nHost: x\r\n\r\n",
			 METRICS_URI_MAX, 7);
		c = fetch(req);
		CHECK_EQ_INT(status_of(c), 414);
		client_free(c);
	}

	/* No keep-alive: an HTTP/1.1 request that did not ask to close, and a
	 * second request pipelined behind it, get one response and a close. */
	c = fetch("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
		  "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_EQ_INT(status_of(c), 200);
	CHECK_EQ_STR(body_of(c), "ok\n");
	CHECK(strstr(c->in + 1, "HTTP/1.1") == NULL);
	client_free(c);

	/* An oversized request (headers beyond lws's limit) gets no answer
	 * from this module and the server goes on. */
	metrics_http_stats(m, &st);
	{
		char *req = malloc(65536);
		size_t n = (size_t)snprintf(req, 65536, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ");

		memset(req + n, 'p', 60000);
		n += 60000;
		memcpy(req + n, "\r\n\r\n", 5);
		c = client_new(req, 0);
		free(req);
		cl[0] = c;
		run_clients(5000);
		cl[0] = NULL;
		CHECK_MSG(status_of(c) != 200, "answer: %.60s", c->in);
		printf("    oversized request: %zu bytes sent of %zu, answer \"%.40s\"\n",
		       c->out_sent, c->out_len, c->in_len ? strtok(c->in, "\r") : "");
		client_free(c);
	}
	{
		metrics_http_stats_t st2;

		metrics_http_stats(m, &st2);
		CHECK_EQ_INT(st2.metrics, st.metrics);
	}
	c = fetch("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_EQ_INT(status_of(c), 200);
	client_free(c);

	metrics_http_stats(m, &st);
	CHECK_EQ_INT(st.metrics, 3);
	CHECK_EQ_INT(st.healthz_ok, 3);
	CHECK_EQ_INT(st.healthz_bad, 1);
	CHECK_EQ_INT(st.not_found, 2);
	CHECK_EQ_INT(st.bad_method, 3);
	CHECK_EQ_INT(st.too_long, 1);
	CHECK_EQ_INT(st.busy, 0);

	/* Freed before the loop: the port stays bound, but a connection is
	 * closed without an answer. */
	metrics_free(m);
	c = fetch("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_EQ_INT(c->in_len, 0);
	client_free(c);
}

/* ---- one snapshot per scrape while the loop updates the series; busy */

static metrics_series_t *ticks, *lat;
static double ticks_at_collect;
static loop_timer_t tick_t;
static double ticks_at_busy;  /* when the second client was turned away */

/* The first scrape's collect: the slow client's. */
static void snap(void *ctx)
{
	(void)ctx;
	if (ticks_at_collect < 0)
		ticks_at_collect = metrics_value(ticks);
}

static void tick_cb(loop_t *loop, void *arg)
{
	(void)arg;
	(void)loop;
	metrics_inc(ticks);
	metrics_observe(lat, 0.001);
	if (cl[1] && cl[1]->done && ticks_at_busy < 0)
		ticks_at_busy = metrics_value(ticks);
	loop_timer_arm_ms(&tick_t, 1);
}

static void test_snapshot(void)
{
	metrics_limits_t lim = { .conns = 1, .series = 12100, .label_bytes = 6 << 20 };
	metrics_t *m = NULL;
	metrics_family_t *pad;
	metrics_http_stats_t st;
	client_t *slow, *second;
	char want[128], v[64];
	const char *body;
	int port = 0;

	CHECK_OK(metrics_new(&lim, &m));
	if (!m)
		return;
	CHECK_OK(metrics_counter_new(m, "ticks_total", "Timer ticks.", &ticks));
	CHECK_OK(metrics_histogram_new(m, "lat_seconds", "", metrics_latency_buckets,
				       METRICS_LATENCY_BUCKETS_N, &lat));
	/* More text than the kernel buffers of both ends can hold (the
	 * server's send buffer grows up to tcp_wmem's 4 MiB), so the scrape
	 * stays in progress until the client reads. */
	for (int i = 0; i < 12000; i++) {
		char val[METRICS_LABEL_VALUE_MAX + 1], fill[METRICS_LABEL_VALUE_MAX + 1];
		metrics_series_t *s;

		/* 12 families: registration looks for the values in the
		 * family, which a sanitizer build makes slow for one of 12000. */
		if (i % 1000 == 0) {
			snprintf(val, sizeof val, "pad%d", i / 1000);
			CHECK_OK(metrics_family_new(m, METRICS_GAUGE, val, "Padding.",
						    (const char *[]){ "i", "a", "b", "c" }, 4,
						    NULL, 0, &pad));
		}
		snprintf(val, sizeof val, "%05d", i);
		memset(fill, 'f', METRICS_LABEL_VALUE_MAX);
		fill[METRICS_LABEL_VALUE_MAX] = 0;
		CHECK_OK(metrics_series_new(pad, (const char *[]){ val, fill, fill, fill }, &s));
		metrics_set(s, i);
	}
	metrics_on_collect(m, snap, NULL);
	CHECK_OK(metrics_listen(m, L, "127.0.0.1:0", &port));
	port_now = port;
	metrics_inc(ticks);

	ticks_at_busy = -1;
	ticks_at_collect = -1;
	/* The slow client reads nothing for 80 ms through a small window;
	 * meanwhile the timer counts and observes every millisecond. */
	slow = client_new("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 4096);
	slow->read_after_ms = loop_now_ms(L) + 80;
	cl[0] = slow;
	loop_timer_init(&tick_t, L, tick_cb, NULL);
	loop_timer_arm_ms(&tick_t, 1);
	loop_timer_arm_ms(&cl_t, 0);
	run_until(never, 40);
	/* Its scrape holds the only slot: the next one is told to come back. */
	second = client_new("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 0);
	cl[1] = second;
	run_clients(10000);
	loop_timer_cancel(&tick_t);
	cl[0] = cl[1] = NULL;

	CHECK_EQ_INT(status_of(second), 503);
	CHECK_EQ_STR(body_of(second), "busy\n");
	CHECK_EQ_INT(status_of(slow), 200);
	check_length(slow);
	body = body_of(slow);
	printf("    scrape of %zu bytes: ticks %.0f at collect, %.0f while it still "
	       "held its slot, %.0f at the end\n", strlen(body), ticks_at_collect,
	       ticks_at_busy, metrics_value(ticks));
	CHECK(strlen(body) > 4194304 + 4096);
	/* The series moved while the response was still being sent (the
	 * 503 says its slot was held), yet the body is the state at collect
	 * time. */
	CHECK(ticks_at_collect >= 1);
	CHECK(ticks_at_busy > ticks_at_collect);
	CHECK(metrics_value(ticks) > ticks_at_busy);
	snprintf(want, sizeof want, "\nticks_total %.0f\n", ticks_at_collect);
	CHECK_MSG(strstr(body, want) != NULL, "no %s", want + 1);
	snprintf(want, sizeof want, "\nlat_seconds_bucket{le=\"+Inf\"} %.0f\n"
		 "lat_seconds_sum ", ticks_at_collect - 1);
	CHECK_MSG(strstr(body, want) != NULL, "no %s", want + 1);
	snprintf(want, sizeof want, "\nlat_seconds_count %.0f\n", ticks_at_collect - 1);
	CHECK_MSG(strstr(body, want) != NULL, "no %s", want + 1);
	CHECK(strstr(body, "\npad11{i=\"11999\",a=\"fff") != NULL);
	CHECK(body[strlen(body) - 1] == '\n');
	CHECK_EQ_STR(header_of(slow, "connection", v, sizeof v), "close");
	client_free(slow);
	client_free(second);

	/* The slot is free again. */
	second = fetch("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_EQ_INT(status_of(second), 200);
	client_free(second);
	metrics_http_stats(m, &st);
	CHECK_EQ_INT(st.busy, 1);
	CHECK_EQ_INT(st.metrics, 1);
	CHECK_EQ_INT(st.healthz_ok, 1);
	metrics_free(m);
}

/* ---- the loop destroyed first */

static void test_loop_first(void)
{
	metrics_t *m = NULL;
	metrics_series_t *s;
	client_t *c;
	int port = 0;

	CHECK_OK(metrics_new(NULL, &m));
	if (!m)
		return;
	CHECK_OK(metrics_counter_new(m, "c_total", "", &s));
	CHECK_OK(metrics_listen(m, L, "127.0.0.1:0", &port));
	port_now = port;
	c = fetch("GET /metrics HTTP/1.0\r\n\r\n");
	CHECK_EQ_INT(status_of(c), 200);
	client_free(c);
	/* A scrape still open when the loop goes. */
	c = client_new("GET /metrics HTTP/1.1\r\nHost: x\r\n", 0);
	cl[0] = c;
	loop_timer_arm_ms(&cl_t, 0);
	run_until(never, 20);
	loop_timer_cancel(&cl_t);
	cl[0] = NULL;
	loop_timer_cancel(&wd_t);
	loop_timer_cancel(&poll_t);
	loop_destroy(L);
	L = NULL;
	client_free(c);
	/* The registry works on without a server and frees what is left. */
	metrics_inc(s);
	CHECK(strstr(render(m), "c_total 1\n") != NULL);
	metrics_free(m);
}

int main(void)
{
	RUN(test_golden);
	RUN(test_escaping);
	RUN(test_numbers);
	RUN(test_histogram);
	RUN(test_counters);
	RUN(test_rules);
	RUN(test_limits);
	RUN(test_health);
	if (loop_create(NULL, &L) != KERR_OK) {
		printf("cannot create the loop\n");
		return 1;
	}
	loop_util_init();
	loop_timer_init(&cl_t, L, clients_cb, NULL);
	RUN(test_server);
	RUN(test_snapshot);
	RUN(test_loop_first);
	return t_done();
}
