/*
 * test_det_price_move: the price_move detector against hand-made edge cases
 * (exactly at the threshold, the window's inclusive edge, gaps longer than
 * the window, equal timestamps, invalid and out-of-order ticks), against a
 * plain O(n^2) window scan on 10,000 random series, and the band property:
 * a series that stays inside a band narrower than the threshold never trips.
 */
#include <math.h>
#include <string.h>

#include "keeper/det_price_move.h"
#include "tests/test.h"

#define RNG_SEED 0x9E3779B97F4A7C15ull
#include "tests/rng.h"

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
	c = cfg_of((uint64_t)DET_PRICE_MOVE_MAX_WINDOW_MS + 1, 5, CONFIG_DIR_BOTH);
	CHECK_ERR(det_price_move_init(&d, &c, 0), KERR_NUM_RANGE);
	c = cfg_of(DET_PRICE_MOVE_MAX_WINDOW_MS, 5, CONFIG_DIR_BOTH);
	CHECK_OK(det_price_move_init(&d, &c, 0));
	det_price_move_release(&d);
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

int main(void)
{
	RUN(test_init_errors);
	RUN(test_exact_threshold);
	RUN(test_directions);
	RUN(test_window_edges_and_gaps);
	RUN(test_equal_timestamps);
	RUN(test_invalid_and_backwards);
	RUN(test_confirm_cooldown);
	RUN(test_reference_random);
	RUN(test_band_never_trips);
	return t_done();
}
