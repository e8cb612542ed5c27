/*
 * test_det_price_move: the price_move detector against hand-made edge cases
 * (exactly at the threshold, the window's inclusive edge, gaps longer than
 * the window, equal timestamps, invalid and out-of-order ticks), against a
 * plain O(n^2) window scan on 10,000 random series, and the band property:
 * a series that stays inside a band narrower than the threshold never trips.
 * Then long windows: a day of ticks every second, deques growing from their
 * starting 64 entries past a million mid-run, the hard cap's time
 * resolution on random series (all against a plain scan of the window as
 * the header defines it), and a growth the allocator refuses.
 */
#include <math.h>
#include <string.h>

#include "keeper/det_price_move.h"
#include "tests/test.h"

#define RNG_SEED 0x9E3779B97F4A7C15ull
#include "tests/rng.h"

/*
 * A malloc that can be told to fail, to reach the detector's answer to a
 * refused growth.  It forwards to glibc's own entry point, as the benches'
 * allocation counter does; under AddressSanitizer, which owns the
 * allocator, there is none and that test is skipped.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CAN_FAIL_MALLOC 0
#else
#define CAN_FAIL_MALLOC 1
static int fail_malloc;
extern void *__libc_malloc(size_t n);

void *malloc(size_t n)
{
	return fail_malloc ? NULL : __libc_malloc(n);
}
#endif

static config_trigger_t cfg_of(uint64_t window_ms, double thr,
			       config_direction_t dir)
{
	config_trigger_t c;

	memset(&c, 0, sizeof(c));
	c.name = "pm";
	c.kind = CONFIG_TRIGGER_PRICE_MOVE;
	c.window_ms = window_ms;
	c.threshold_pct = thr;
	c.direction = dir;
	return c;
}

static void test_init_errors(void)
{
	det_price_move_t d;
	config_trigger_t c = cfg_of(0, 5, CONFIG_DIR_BOTH);

	CHECK_ERR(det_price_move_init(&d, &c, 0), KERR_ARG);
	c = cfg_of(1000, 0, CONFIG_DIR_BOTH);
	CHECK_ERR(det_price_move_init(&d, &c, 0), KERR_ARG);
	c = cfg_of(1000, 5, CONFIG_DIR_BOTH);
	c.kind = CONFIG_TRIGGER_DEPEG;
	CHECK_ERR(det_price_move_init(&d, &c, 0), KERR_ARG);
	c = cfg_of(1000, 5, CONFIG_DIR_BOTH);
	CHECK_ERR(det_price_move_init_cap(&d, &c, 0, 1), KERR_ARG);
	det_price_move_release(&d);
}

/* Any window initialises, small; the resolution is as documented. */
static void test_long_windows_init(void)
{
	static const struct {
		uint64_t window_ms, res_ms;
	} cases[] = {
		{ 1, 1 },
		{ 3600000, 1 },                     /* etc/liquidator.cfg */
		{ (1u << 24) - 1, 1 },              /* 4.66 h: still exact */
		{ 1u << 24, 2 },
		{ 86400000, 6 },                    /* a day */
		{ 30ull * 86400000, 155 },          /* 30 days */
		{ UINT64_MAX, UINT64_MAX / ((1u << 24) - 1) + 1 },
	};
	det_price_move_t d;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		config_trigger_t c = cfg_of(cases[i].window_ms, 5, CONFIG_DIR_BOTH);
		CHECK_OK(det_price_move_init(&d, &c, 0));
		CHECK_EQ_INT(d.res_ms, cases[i].res_ms);
		CHECK(d.max.cap <= DET_PRICE_MOVE_MIN_ENTRIES && d.min.cap <= DET_PRICE_MOVE_MIN_ENTRIES);
		CHECK(d.max.limit <= DET_PRICE_MOVE_MAX_ENTRIES);
		/* a tick at any time works, also near the clock's ends */
		CHECK(!det_price_move_feed(&d, INT64_MIN + 5, 100, NULL));
		CHECK(det_price_move_feed(&d, INT64_MIN + 6, 200, NULL));
		CHECK(d.value == 100.0);
		det_price_move_feed(&d, INT64_MAX, 100, NULL);
		CHECK(d.value == (cases[i].window_ms == UINT64_MAX ? 50.0 : 0.0));
		det_price_move_release(&d);
	}
}

static void test_exact_threshold(void)
{
	det_price_move_t d;
	config_trigger_t c = cfg_of(1000, 10, CONFIG_DIR_DOWN);
	detect_trip_t trip;

	CHECK_OK(det_price_move_init(&d, &c, 3));
	CHECK(!det_price_move_feed(&d, 0, 100, &trip));
	CHECK(!det_price_move_feed(&d, 400, 90.5, &trip));
	CHECK(d.value == 9.5);
	/* (100 - 90) / 100 * 100 is exactly 10: at the threshold trips */
	CHECK(det_price_move_feed(&d, 500, 90, &trip));
	CHECK(trip.value == 10.0);
	CHECK(trip.threshold == 10.0);
	CHECK_EQ_INT(trip.unit, DETECT_UNIT_PCT);
	CHECK_EQ_INT(trip.kind, CONFIG_TRIGGER_PRICE_MOVE);
	CHECK_EQ_INT(trip.time_ms, 500);
	CHECK_EQ_STR(trip.trigger, "pm");
	det_price_move_release(&d);

	/* just under: 9.999...% does not */
	CHECK_OK(det_price_move_init(&d, &c, 3));
	CHECK(!det_price_move_feed(&d, 0, 100, NULL));
	CHECK(!det_price_move_feed(&d, 1, nextafter(90.0, 100.0), NULL));
	CHECK(d.value < 10.0);
	det_price_move_release(&d);
}

static void test_directions(void)
{
	det_price_move_t d;
	config_trigger_t c = cfg_of(1000, 10, CONFIG_DIR_UP);

	CHECK_OK(det_price_move_init(&d, &c, 0));
	CHECK(!det_price_move_feed(&d, 0, 100, NULL));
	CHECK(!det_price_move_feed(&d, 10, 50, NULL));     /* a 50% drop */
	CHECK(d.drop == 50.0 && d.value == 0.0);
	CHECK(det_price_move_feed(&d, 20, 55, NULL));      /* +10% from 50 */
	CHECK(d.rise == 10.0);
	det_price_move_release(&d);

	c = cfg_of(1000, 10, CONFIG_DIR_BOTH);
	CHECK_OK(det_price_move_init(&d, &c, 0));
	CHECK(!det_price_move_feed(&d, 0, 100, NULL));
	CHECK(det_price_move_feed(&d, 10, 110, NULL));
	CHECK(d.value == 10.0);
	CHECK(det_price_move_feed(&d, 20, 99, NULL));      /* 10% below 110 */
	det_price_move_release(&d);
}

static void test_window_edges_and_gaps(void)
{
	det_price_move_t d;
	config_trigger_t c = cfg_of(1000, 10, CONFIG_DIR_DOWN);

	/* the window is [t - window_ms, t]: a tick exactly window_ms old counts */
	CHECK_OK(det_price_move_init(&d, &c, 0));
	CHECK(!det_price_move_feed(&d, 0, 100, NULL));
	CHECK(det_price_move_feed(&d, 1000, 90, NULL));
	det_price_move_release(&d);

	/* one millisecond later it has left */
	CHECK_OK(det_price_move_init(&d, &c, 0));
	CHECK(!det_price_move_feed(&d, 0, 100, NULL));
	CHECK(!det_price_move_feed(&d, 1001, 90, NULL));
	CHECK(d.value == 0.0);
	/* a gap far longer than the window: the window holds only the new tick */
	CHECK(!det_price_move_feed(&d, 10000000, 1, NULL));
	CHECK(d.value == 0.0);
	CHECK_EQ_INT(det_price_move_depth(&d), 2);
	det_price_move_release(&d);
}

static void test_equal_timestamps(void)
{
	det_price_move_t d;
	config_trigger_t c = cfg_of(10, 10, CONFIG_DIR_BOTH);
	int i;

	CHECK_OK(det_price_move_init(&d, &c, 0));
	CHECK(!det_price_move_feed(&d, 5, 100, NULL));
	CHECK(det_price_move_feed(&d, 5, 80, NULL));   /* same ms, both used */
	CHECK_EQ_INT(d.stats.dup_time, 1);
	CHECK(d.value == 20.0);
	/* any number of ticks in one millisecond: one entry per deque, and at
	 * most window_ms + 1 entries each over the window (ASan watches). */
	for (i = 0; i < 100000; i++)
		det_price_move_feed(&d, 6 + i / 1000, 50 + 100 * rnd01(), NULL);
	CHECK(det_price_move_depth(&d) <= 2 * 11);
	CHECK_EQ_INT(d.stats.accepted, 100002);
	det_price_move_release(&d);

	/* a strictly falling series fills the max deque to exactly window + 1 */
	CHECK_OK(det_price_move_init(&d, &c, 0));
	for (i = 0; i < 100; i++)
		det_price_move_feed(&d, i, 1000.0 - i, NULL);
	CHECK_EQ_INT(d.max.len, 11);
	CHECK_EQ_INT(d.min.len, 1);
	det_price_move_release(&d);
}

static void test_invalid_and_backwards(void)
{
	det_price_move_t d;
	config_trigger_t c = cfg_of(1000, 10, CONFIG_DIR_BOTH);
	event_t ev;

	CHECK_OK(det_price_move_init(&d, &c, 2));
	CHECK(!det_price_move_feed(&d, 100, 100, NULL));
	CHECK(!det_price_move_feed(&d, 110, NAN, NULL));
	CHECK(!det_price_move_feed(&d, 110, INFINITY, NULL));
	CHECK(!det_price_move_feed(&d, 110, -INFINITY, NULL));
	CHECK(!det_price_move_feed(&d, 110, 0.0, NULL));
	CHECK(!det_price_move_feed(&d, 110, -50, NULL));
	CHECK_EQ_INT(d.stats.bad_value, 5);
	/* a 50% drop stamped before the previous tick is dropped */
	CHECK(!det_price_move_feed(&d, 99, 50, NULL));
	CHECK_EQ_INT(d.stats.backwards, 1);
	CHECK_EQ_INT(d.stats.accepted, 1);
	CHECK_EQ_INT(det_price_move_depth(&d), 2);
	CHECK(!det_price_move_feed(&d, 120, 95, NULL));
	CHECK(d.value == 5.0);

	/* events: only EV_PRICE of feed 2 */
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_PRICE;
	ev.price.feed = 1;
	ev.price.price = 10;
	ev.price.time_ms = 130;
	CHECK(!det_price_move_event(&d, &ev, NULL));
	CHECK_EQ_INT(d.stats.accepted, 2);
	ev.price.feed = 2;
	CHECK(det_price_move_event(&d, &ev, NULL));
	ev.kind = EV_FEED_STALE;
	CHECK(!det_price_move_event(&d, &ev, NULL));
	CHECK_EQ_INT(d.stats.accepted, 3);
	det_price_move_release(&d);
}

static void test_confirm_cooldown(void)
{
	det_price_move_t d;
	config_trigger_t c = cfg_of(1000, 10, CONFIG_DIR_DOWN);

	c.confirm_ticks = 2;
	c.cooldown_ms = 500;
	CHECK_OK(det_price_move_init(&d, &c, 0));
	CHECK(!det_price_move_feed(&d, 0, 100, NULL));
	CHECK(!det_price_move_feed(&d, 10, 80, NULL));   /* 1st tick of run */
	CHECK(det_price_move_feed(&d, 20, 80, NULL));    /* 2nd: trips */
	CHECK(!det_price_move_feed(&d, 30, 80, NULL));   /* cooling */
	CHECK(det_price_move_feed(&d, 520, 80, NULL));   /* re-armed */
	CHECK_EQ_INT(d.trig.trips, 2);
	det_price_move_release(&d);
}

/* Reference: the window's max and min by scanning every earlier accepted
 * tick, with the same formulas. */
typedef struct {
	int64_t t;
	double p;
} tick_t;

#define MAXN 300

static void test_reference_random(void)
{
	static tick_t acc[MAXN];
	int series, mism = 0, trips = 0;
	long ticks = 0;

	for (series = 0; series < 10000; series++) {
		det_price_move_t d;
		config_trigger_t c;
		uint64_t window = 1 + rnd() % 400;
		config_direction_t dir = (config_direction_t)(rnd() % 3);
		double thr = 0.5 + 5 * rnd01();
		int n = 1 + (int)(rnd() % MAXN), nacc = 0, i;
		int64_t t = (int64_t)(rnd() % 1000000);
		double p = 100;

		c = cfg_of(window, thr, dir);
		if (det_price_move_init(&d, &c, 0) != KERR_OK) {
			CHECK(0);
			return;
		}
		for (i = 0; i < n; i++) {
			uint64_t r = rnd() % 100;
			int64_t tt;
			double pp, hi, lo, drop, rise, want;
			int j;
			bool tripped;

			/* increments: 0 (duplicate), small, and gaps beyond the window */
			tt = t + (r < 10 ? 0 : r < 95 ? (int64_t)(rnd() % 50) :
				  (int64_t)(window + rnd() % 1000));
			pp = p * exp(0.02 * (rnd01() - 0.5));
			r = rnd() % 100;
			if (r < 3) {
				/* invalid price: must change nothing */
				det_price_move_feed(&d, tt, r == 0 ? NAN : r == 1 ? -pp : 0.0, NULL);
				continue;
			}
			if (r < 5 && nacc) {
				/* out of order: must change nothing */
				det_price_move_feed(&d, acc[nacc - 1].t - 1 - (int64_t)(rnd() % 5),
						    pp * 0.5, NULL);
				continue;
			}
			t = tt;
			p = pp;
			acc[nacc].t = t;
			acc[nacc].p = p;
			nacc++;
			tripped = det_price_move_feed(&d, t, p, NULL);
			ticks++;
			trips += tripped;
			hi = lo = p;
			for (j = 0; j < nacc; j++) {
				if (acc[j].t < t - (int64_t)window)
					continue;
				if (acc[j].p > hi)
					hi = acc[j].p;
				if (acc[j].p < lo)
					lo = acc[j].p;
			}
			drop = (hi - p) / hi * 100.0;
			rise = (p - lo) / lo * 100.0;
			want = dir == CONFIG_DIR_DOWN ? drop : dir == CONFIG_DIR_UP ? rise :
			       (drop > rise ? drop : rise);
			if (d.value != want || d.cond != (want >= thr) ||
			    tripped != (want >= thr)) {
				if (mism++ < 5)
					printf("    series %d tick %d: got %.17g want %.17g\n",
					       series, i, d.value, want);
			}
		}
		CHECK(det_price_move_depth(&d) <= 2 * ((size_t)window + 1));
		det_price_move_release(&d);
	}
	CHECK_EQ_INT(mism, 0);
	CHECK(trips > 1000);   /* the thresholds were reachable */
	printf("    10000 series, %ld ticks, %d trips, %d mismatches\n", ticks, trips, mism);
}

/* Property: prices inside [lo, hi] with (hi - lo) / lo < threshold never
 * trip, whatever the times, window and direction. */
static void test_band_never_trips(void)
{
	int series;
	long trips = 0, ticks = 0;
	double maxv = 0;

	for (series = 0; series < 2000; series++) {
		det_price_move_t d;
		config_trigger_t c;
		double thr = 0.1 + 10 * rnd01();
		double lo = 0.001 + 1000 * rnd01();
		/* rise (hi-lo)/lo is the larger of the two moves; keep it < thr */
		double hi = lo * (1 + thr / 100 * 0.999);
		int64_t t = 0;
		int i;

		c = cfg_of(1 + rnd() % 5000, thr, (config_direction_t)(rnd() % 3));
		if (det_price_move_init(&d, &c, 0) != KERR_OK) {
			CHECK(0);
			return;
		}
		for (i = 0; i < 500; i++) {
			double p = lo + (hi - lo) * rnd01();
			t += (int64_t)(rnd() % 20);
			/* touch the edges too */
			if (i % 97 == 0)
				p = lo;
			else if (i % 89 == 0)
				p = hi;
			trips += det_price_move_feed(&d, t, p, NULL);
			ticks++;
			if (d.value / thr > maxv)
				maxv = d.value / thr;
		}
		det_price_move_release(&d);
	}
	CHECK_EQ_INT(trips, 0);
	CHECK(maxv < 1.0);
	printf("    2000 series, %ld ticks in band, 0 trips expected, %ld seen; "
	       "largest value/threshold %.4f\n", ticks, trips, maxv);
}

/* ---- long windows against a plain scan ---------------------------------- */

/* The accepted ticks of a run, oldest first. */
static tick_t *g_ticks;
static size_t g_nticks;

/*
 * The header's definition, plainly: the window at the newest tick (time t)
 * holds the ticks whose time s has floor(s / res) >= floor((t - window) /
 * res), t - window taken as INT64_MIN when below it.  Times never go back,
 * so the window is a suffix of the ticks: a binary search finds its start,
 * and a scan its max and min.  Returns the direction's value.
 */
static int64_t ref_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return a % b != 0 && a < 0 ? q - 1 : q;
}

static double ref_value(uint64_t window, uint64_t res, config_direction_t dir)
{
	const tick_t *now = &g_ticks[g_nticks - 1];
	int64_t lo_t = window > (uint64_t)INT64_MAX || now->t < INT64_MIN + (int64_t)window ?
		       INT64_MIN : now->t - (int64_t)window;
	int64_t oldest = ref_floor_div(lo_t, (int64_t)res);
	size_t a = 0, b = g_nticks - 1;
	double hi = now->p, lo = now->p, drop, rise;

	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (ref_floor_div(g_ticks[m].t, (int64_t)res) >= oldest)
			b = m;
		else
			a = m + 1;
	}
	for (size_t j = a; j < g_nticks; j++) {
		hi = g_ticks[j].p > hi ? g_ticks[j].p : hi;
		lo = g_ticks[j].p < lo ? g_ticks[j].p : lo;
	}
	drop = (hi - now->p) / hi * 100.0;
	rise = (now->p - lo) / lo * 100.0;
	return dir == CONFIG_DIR_DOWN ? drop : dir == CONFIG_DIR_UP ? rise :
	       (drop > rise ? drop : rise);
}

/* Feed one tick to d and to the reference's list. */
static bool feed_ref(det_price_move_t *d, int64_t t, double p)
{
	g_ticks[g_nticks].t = t;
	g_ticks[g_nticks].p = p;
	g_nticks++;
	return det_price_move_feed(d, t, p, NULL);
}

/* A 24-hour window with a tick every second: 86,400 ticks in the window
 * (86,401 with both ends), a day falling at every tick so the max deque
 * holds all of them, then trends and noise for half a day more. */
static void test_day_window(void)
{
	const uint64_t day = 86400000;
	const size_t n = 86400 * 3 / 2 + 20000;
	det_price_move_t d;
	config_trigger_t c = cfg_of(day, 5, CONFIG_DIR_BOTH);
	double p = 2000;
	size_t checked = 0, deepest = 0, mism = 0;
	int trips = 0;

	g_ticks = calloc(n, sizeof *g_ticks);
	g_nticks = 0;
	CHECK_OK(det_price_move_init(&d, &c, 0));
	CHECK_EQ_INT(d.res_ms, 6);
	for (size_t i = 0; i < n; i++) {
		int64_t t = 1700000000000 + (int64_t)i * 1000;
		if (i < 90000)
			p *= 1 - 1e-6 * (1 + rnd01());              /* strictly falling */
		else if (i < 110000)
			p *= exp(1e-5 + 4e-4 * (rnd01() - 0.5));    /* rising, noisy */
		else
			p *= exp(4e-4 * (rnd01() - 0.5));
		trips += feed_ref(&d, t, p);
		if (d.max.len > deepest)
			deepest = d.max.len;
		if (i % 31 == 0 || i + 1 == n || (i >= 86395 && i <= 86405)) {
			double want = ref_value(day, 1, CONFIG_DIR_BOTH);
			checked++;
			if (d.value != want && mism++ < 5)
				printf("    tick %zu: got %.17g want %.17g\n", i, d.value, want);
		}
	}
	CHECK_EQ_INT(mism, 0);
	CHECK_EQ_INT(deepest, 86401);
	CHECK(d.max.cap >= 86401 && d.max.cap < 2 * 86401);
	CHECK(trips > 1000);
	printf("    %zu ticks, %zu checked against the scan, deepest deque %zu, %d trips, "
	       "%zu mismatches\n", n, checked, deepest, trips, mism);
	det_price_move_release(&d);
	free(g_ticks);
}

/* Deques that grow from 64 entries past a million in the middle of a run,
 * their rings wrapped around when they grow. */
static void test_growth_mid_run(void)
{
	const uint64_t window = 1200000;
	const size_t n = 30000 + 1250000 + 30000;
	det_price_move_t d;
	config_trigger_t c = cfg_of(window, 5, CONFIG_DIR_BOTH);
	double p = 100;
	int64_t t = 1700000000000;
	size_t checked = 0, growths = 0, wrapped = 0, mism = 0, deepest = 0;

	g_ticks = calloc(n, sizeof *g_ticks);
	g_nticks = 0;
	CHECK_OK(det_price_move_init(&d, &c, 0));
	CHECK_EQ_INT(d.max.cap, 64);
	for (size_t i = 0; i < n; i++) {
		size_t cap_max = d.max.cap, cap_min = d.min.cap;
		bool was_wrapped = d.max.head + d.max.len > d.max.cap ||
				   d.min.head + d.min.len > d.min.cap;
		if (i < 30000) {
			t += 1 + (int64_t)(rnd() % 3);
			p *= exp(2e-3 * (rnd01() - 0.5));
		} else if (i < 30000 + 1250000) {
			t += 1;
			p *= 1 - 1e-7 * (1 + rnd01());              /* strictly falling */
		} else {
			t += (int64_t)(rnd() % 3);
			p *= 1 + 1e-6 * (1 + rnd01());              /* strictly rising */
		}
		feed_ref(&d, t, p);
		if (d.max.len > deepest)
			deepest = d.max.len;
		if (d.max.cap != cap_max || d.min.cap != cap_min) {
			growths++;
			wrapped += was_wrapped;
		}
		if (i % 5003 == 0 || d.max.cap != cap_max || d.min.cap != cap_min ||
		    i + 1 == n) {
			double want = ref_value(window, 1, CONFIG_DIR_BOTH);
			checked++;
			if (d.value != want && mism++ < 5)
				printf("    tick %zu: got %.17g want %.17g\n", i, d.value, want);
		}
	}
	CHECK_EQ_INT(mism, 0);
	CHECK(deepest > 1000000);
	CHECK(growths >= 15);
	CHECK(wrapped >= 1);
	printf("    %zu ticks, deepest deque %zu (from 64 entries: %zu growths, %zu of a "
	       "wrapped ring), %zu checked against the scan, %zu mismatches\n",
	       n, deepest, growths, wrapped, checked, mism);
	det_price_move_release(&d);
	free(g_ticks);
}

/*
 * The hard cap on random series, with caps small enough that windows run
 * far past them: every tick's value equals the scan of the window at
 * res_ms, no deque ever holds more than the cap, and the value is never
 * below the exact window's (the stretch can only add older ticks).
 */
static void test_cap_rule(void)
{
	static const size_t caps[] = { 2, 3, 5, 16, 64, 100 };
	size_t full = 0, stretched = 0, ticks = 0, mism = 0, below = 0, over = 0;

	g_ticks = calloc(MAXN, sizeof *g_ticks);
	for (int series = 0; series < 3000; series++) {
		size_t cap = caps[rnd() % (sizeof caps / sizeof caps[0])];
		uint64_t span = rnd() % 2 ? 200 : 20000;
		uint64_t window = 1 + rnd() % span;
		config_direction_t dir = (config_direction_t)(rnd() % 3);
		config_trigger_t c = cfg_of(window, 0.5 + 5 * rnd01(), dir);
		det_price_move_t d;
		int64_t t = (int64_t)(rnd() % 1000000) - 500000;
		double p = 100, trend = 0;
		int n = 1 + (int)(rnd() % MAXN);

		if (det_price_move_init_cap(&d, &c, 0, cap) != KERR_OK) {
			CHECK(0);
			break;
		}
		CHECK_EQ_INT(d.res_ms, window <= cap - 1 ? 1 : (window + cap - 2) / (cap - 1));
		g_nticks = 0;
		for (int i = 0; i < n; i++) {
			uint64_t r = rnd() % 100;
			double want, exact;
			if (r < 5)
				trend = 0.01 * (rnd01() - 0.5);     /* a new trend */
			t += r < 15 ? 0 : r < 97 ? (int64_t)(rnd() % (window / 8 + 2)) :
			     (int64_t)(window + rnd() % 1000);
			p *= exp(trend + 0.004 * (rnd01() - 0.5));
			feed_ref(&d, t, p);
			ticks++;
			want = ref_value(window, d.res_ms, dir);
			exact = ref_value(window, 1, dir);
			stretched += want != exact;
			below += d.value < exact;
			full += d.max.len == cap || d.min.len == cap;
			over += d.max.len > cap || d.min.len > cap;
			if ((d.value != want || d.cond != (want >= d.threshold)) && mism++ < 5)
				printf("    series %d tick %d: got %.17g want %.17g\n",
				       series, i, d.value, want);
		}
		det_price_move_release(&d);
	}
	free(g_ticks);
	CHECK_EQ_INT(mism, 0);
	CHECK_EQ_INT(below, 0);
	CHECK_EQ_INT(over, 0);
	CHECK(full > 1000 && stretched > 100);
	printf("    3000 series, %zu ticks: %zu at a full deque, %zu where the stretch "
	       "added a tick; %zu over the cap, %zu below the exact value, %zu mismatches\n",
	       ticks, full, stretched, over, below, mism);
}

/* A growth the allocator refuses merges the tick into the newest entry:
 * nothing is dropped, values are never below the exact window's, and once
 * the merged entry has left the window everything is exact again.  The
 * window needs 101 entries of a falling series (one tick per ms); the ring
 * has 64 and may not grow for ticks 64..163, so ticks 64..100 are merged
 * into one entry (from 101 on, each tick's expiry makes room), which holds
 * tick 63's price until tick 100's expiry: the window's max from tick 164
 * (when it reaches the front) to 200, above the exact one. */
#if CAN_FAIL_MALLOC
/* Growth refused from tick 64 to 163: those ticks are merged, valued at
 * most above the exact window, never below it. */
static void refused_growth(void)
{
	const uint64_t window = 100;
	det_price_move_t d;
	config_trigger_t c = cfg_of(window, 5, CONFIG_DIR_BOTH);
	double p = 100;
	int64_t t = 0;
	size_t below = 0, larger = 0, exact_after = 0;

	g_ticks = calloc(1000, sizeof *g_ticks);
	g_nticks = 0;
	CHECK_OK(det_price_move_init(&d, &c, 0));
	for (; t < 64; t++)
		feed_ref(&d, t, p *= 0.999);
	CHECK_EQ_INT(d.max.cap, 64);
	fail_malloc = 1;
	for (; t < 1000; t++) {
		double exact;
		if (t == 164)
			fail_malloc = 0;
		feed_ref(&d, t, p *= 0.999);
		exact = ref_value(window, 1, CONFIG_DIR_BOTH);
		below += d.value < exact;
		larger += d.value > exact;
		exact_after += t > 200 && d.value == exact;
	}
	fail_malloc = 0;
	CHECK_EQ_INT(d.merged, 37);
	CHECK_EQ_INT(d.stats.accepted, 1000);
	CHECK_EQ_INT(below, 0);
	CHECK_EQ_INT(larger, 37);
	CHECK_EQ_INT(exact_after, 1000 - 201);
	printf("    %llu ticks merged: %zu valued above the exact window (%zu below), "
	       "%zu exact after it\n", (unsigned long long)d.merged, larger, below, exact_after);
	det_price_move_release(&d);
	free(g_ticks);
}
#endif

static void test_refused_growth(void)
{
#if CAN_FAIL_MALLOC
	/* Under valgrind (make valgrind-test) its own malloc replaces ours. */
	if (getenv("KEEPER_VALGRIND"))
		printf("    skipped: the allocator belongs to valgrind\n");
	else
		refused_growth();
#else
	printf("    skipped: the allocator belongs to AddressSanitizer\n");
#endif
}

int main(void)
{
	RUN(test_init_errors);
	RUN(test_long_windows_init);
	RUN(test_exact_threshold);
	RUN(test_directions);
	RUN(test_window_edges_and_gaps);
	RUN(test_equal_timestamps);
	RUN(test_invalid_and_backwards);
	RUN(test_confirm_cooldown);
	RUN(test_reference_random);
	RUN(test_band_never_trips);
	RUN(test_day_window);
	RUN(test_growth_mid_run);
	RUN(test_cap_rule);
	RUN(test_refused_growth);
	return t_done();
}
