/*
 * test_det_depeg: the depeg detector: each direction, exactly at the
 * threshold, hold_ms (at, below, interrupted), invalid and out-of-order
 * ticks, event dispatch, and a direct O(n^2) recomputation of "off for at
 * least hold_ms" on 10,000 random series.
 */
#include <math.h>
#include <string.h>

#include "keeper/det_depeg.h"
#include "tests/test.h"

#define RNG_SEED 0xA0761D6478BD642Full
#include "tests/rng.h"

static config_trigger_t cfg_of(double peg, double thr, config_direction_t dir,
			       uint64_t hold_ms)
{
	config_trigger_t c;

	memset(&c, 0, sizeof(c));
	c.name = "usdc-depeg";
	c.kind = CONFIG_TRIGGER_DEPEG;
	c.peg = peg;
	c.threshold_pct = thr;
	c.direction = dir;
	c.hold_ms = hold_ms;
	return c;
}

static void test_init_errors(void)
{
	det_depeg_t d;
	config_trigger_t c = cfg_of(0, 2, CONFIG_DIR_DOWN, 0);

	CHECK_ERR(det_depeg_init(&d, &c, 0), KERR_ARG);
	c = cfg_of(NAN, 2, CONFIG_DIR_DOWN, 0);
	CHECK_ERR(det_depeg_init(&d, &c, 0), KERR_ARG);
	c = cfg_of(1, 0, CONFIG_DIR_DOWN, 0);
	CHECK_ERR(det_depeg_init(&d, &c, 0), KERR_ARG);
	c = cfg_of(1, 100, CONFIG_DIR_DOWN, 0);
	CHECK_ERR(det_depeg_init(&d, &c, 0), KERR_ARG);
	c = cfg_of(1, 2, CONFIG_DIR_DOWN, 0);
	c.kind = CONFIG_TRIGGER_EWMA_VOL;
	CHECK_ERR(det_depeg_init(&d, &c, 0), KERR_ARG);
}

static void test_directions_exact(void)
{
	det_depeg_t d;
	config_trigger_t c = cfg_of(100, 2, CONFIG_DIR_DOWN, 0);
	detect_trip_t trip;

	CHECK_OK(det_depeg_init(&d, &c, 0));
	CHECK(!det_depeg_feed(&d, 0, 102, NULL));      /* above: not "down" */
	CHECK(d.value == -2.0);
	CHECK(!det_depeg_feed(&d, 1, nextafter(98.0, 100.0), NULL));
	CHECK(det_depeg_feed(&d, 2, 98, &trip));       /* exactly 2% below */
	CHECK(trip.value == 2.0 && trip.threshold == 2.0);
	CHECK_EQ_INT(trip.unit, DETECT_UNIT_PCT);
	CHECK_EQ_INT(trip.kind, CONFIG_TRIGGER_DEPEG);
	CHECK_EQ_STR(trip.trigger, "usdc-depeg");

	c = cfg_of(100, 2, CONFIG_DIR_UP, 0);
	CHECK_OK(det_depeg_init(&d, &c, 0));
	CHECK(!det_depeg_feed(&d, 0, 90, NULL));
	CHECK(det_depeg_feed(&d, 1, 102, NULL));

	c = cfg_of(100, 2, CONFIG_DIR_BOTH, 0);
	CHECK_OK(det_depeg_init(&d, &c, 0));
	CHECK(!det_depeg_feed(&d, 0, 101, NULL));
	CHECK(det_depeg_feed(&d, 1, 98, NULL));
	CHECK(det_depeg_feed(&d, 2, 102, NULL));
}

static void test_hold(void)
{
	det_depeg_t d;
	config_trigger_t c = cfg_of(1, 2, CONFIG_DIR_DOWN, 1000);

	CHECK_OK(det_depeg_init(&d, &c, 0));
	CHECK(!det_depeg_feed(&d, 0, 0.95, NULL));
	CHECK(!det_depeg_feed(&d, 999, 0.95, NULL));
	CHECK(det_depeg_feed(&d, 1000, 0.95, NULL));   /* held exactly 1000 ms */
	/* back on peg ends the stretch */
	CHECK(!det_depeg_feed(&d, 1100, 0.999, NULL));
	CHECK(!det_depeg_feed(&d, 1200, 0.9, NULL));
	CHECK(!det_depeg_feed(&d, 2199, 0.9, NULL));
	CHECK(det_depeg_feed(&d, 2200, 0.9, NULL));
	/* a single tick after a long quiet gap is not "held": one tick is the
	 * whole stretch */
	CHECK(!det_depeg_feed(&d, 2300, 1.0, NULL));
	CHECK(!det_depeg_feed(&d, 900000, 0.5, NULL));
}

static void test_bad_input(void)
{
	det_depeg_t d;
	config_trigger_t c = cfg_of(1, 2, CONFIG_DIR_DOWN, 100);
	event_t ev;

	CHECK_OK(det_depeg_init(&d, &c, 9));
	CHECK(!det_depeg_feed(&d, 0, 0.9, NULL));
	CHECK(!det_depeg_feed(&d, 50, NAN, NULL));
	CHECK(!det_depeg_feed(&d, 50, 0, NULL));     /* 0 would be "100% off" */
	CHECK(!det_depeg_feed(&d, 50, -1, NULL));
	CHECK(!det_depeg_feed(&d, 50, INFINITY, NULL));
	CHECK_EQ_INT(d.stats.bad_value, 4);
	/* an old tick must not make the stretch look held */
	CHECK(!det_depeg_feed(&d, -500, 0.9, NULL));
	CHECK_EQ_INT(d.stats.backwards, 1);
	CHECK(!det_depeg_feed(&d, 0, 0.9, NULL));    /* equal time: used */
	CHECK_EQ_INT(d.stats.dup_time, 1);
	CHECK(d.off_since_ms == 0);
	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_PRICE;
	ev.price.feed = 8;
	ev.price.time_ms = 100;
	ev.price.price = 0.9;
	CHECK(!det_depeg_event(&d, &ev, NULL));
	ev.price.feed = 9;
	CHECK(det_depeg_event(&d, &ev, NULL));
	CHECK_EQ_INT(d.stats.accepted, 3);
}

#define MAXN 200

static void test_reference_random(void)
{
	static int64_t ts[MAXN];
	static double vs[MAXN];
	int series, mism = 0, trips = 0;
	long ticks = 0;

	for (series = 0; series < 10000; series++) {
		det_depeg_t d;
		double thr = 0.2 + 3 * rnd01();
		config_direction_t dir = (config_direction_t)(rnd() % 3);
		uint64_t hold = rnd() % 4 == 0 ? 0 : rnd() % 2000;
		config_trigger_t c = cfg_of(1.0, thr, dir, hold);
		int n = 1 + (int)(rnd() % MAXN), na = 0, i, k;
		int64_t t = (int64_t)(rnd() % 100000);
		double p = 1.0;

		if (det_depeg_init(&d, &c, 0) != KERR_OK) {
			CHECK(0);
			return;
		}
		for (i = 0; i < n; i++) {
			uint64_t r = rnd() % 100;
			double pp, diff, want;
			bool want_cond = false, tripped;

			t += r < 10 ? 0 : (int64_t)(rnd() % 300);
			/* mean-reverting around the peg, so stretches start and end */
			pp = 1.0 + 0.7 * (p - 1.0) + 0.02 * (rnd01() - 0.5);
			r = rnd() % 100;
			if (r < 3) {
				det_depeg_feed(&d, t, r ? -pp : NAN, NULL);
				continue;
			}
			if (r < 5 && na) {
				det_depeg_feed(&d, ts[na - 1] - 1, 0.5, NULL);
				continue;
			}
			p = pp;
			tripped = det_depeg_feed(&d, t, p, NULL);
			ticks++;
			trips += tripped;
			diff = dir == CONFIG_DIR_DOWN ? 1.0 - p : dir == CONFIG_DIR_UP ?
			       p - 1.0 : fabs(p - 1.0);
			want = diff / 1.0 * 100.0;
			ts[na] = t;
			vs[na] = want;
			na++;
			/* off at every tick from some k to now, with t - t_k >= hold */
			for (k = na - 1; k >= 0 && vs[k] >= thr; k--)
				if ((uint64_t)(t - ts[k]) >= hold)
					want_cond = true;
			if (d.value != want || d.cond != want_cond || tripped != want_cond) {
				if (mism++ < 5)
					printf("    series %d tick %d: got %.17g/%d want %.17g/%d\n",
					       series, i, d.value, d.cond, want, want_cond);
			}
		}
	}
	CHECK_EQ_INT(mism, 0);
	CHECK(trips > 1000);
	printf("    10000 series, %ld ticks, %d trips, %d mismatches\n", ticks, trips, mism);
}

int main(void)
{
	RUN(test_init_errors);
	RUN(test_directions_exact);
	RUN(test_hold);
	RUN(test_bad_input);
	RUN(test_reference_random);
	return t_done();
}
