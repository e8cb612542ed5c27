/*
 * test_det_deviation: the deviation detector: exactly at the threshold,
 * freshness at and past max_age_ms, before both feeds ticked, equal and
 * backwards timestamps per feed, invalid prices, event dispatch, and a
 * direct recomputation from the two feeds' latest ticks on 10,000 random
 * interleaved series.
 */
#include <math.h>
#include <string.h>

#include "keeper/det_deviation.h"
#include "tests/test.h"

#define RNG_SEED 0xD1B54A32D192ED03ull
#include "tests/rng.h"

static config_trigger_t cfg_of(double thr, uint64_t max_age_ms)
{
	config_trigger_t c;

	memset(&c, 0, sizeof(c));
	c.name = "dev";
	c.kind = CONFIG_TRIGGER_DEVIATION;
	c.threshold_pct = thr;
	c.max_age_ms = max_age_ms;
	return c;
}

static void test_init_errors(void)
{
	det_deviation_t d;
	config_trigger_t c = cfg_of(1, 1000);

	CHECK_ERR(det_deviation_init(&d, &c, 2, 2), KERR_ARG);
	c = cfg_of(0, 1000);
	CHECK_ERR(det_deviation_init(&d, &c, 0, 1), KERR_ARG);
	c = cfg_of(1, 0);
	CHECK_ERR(det_deviation_init(&d, &c, 0, 1), KERR_ARG);
	c = cfg_of(1, 1000);
	c.kind = CONFIG_TRIGGER_STALE;
	CHECK_ERR(det_deviation_init(&d, &c, 0, 1), KERR_ARG);
}

static void test_exact_threshold(void)
{
	det_deviation_t d;
	config_trigger_t c = cfg_of(10, 1000);
	detect_trip_t trip;

	CHECK_OK(det_deviation_init(&d, &c, 0, 1));
	CHECK(!det_deviation_feed(&d, 0, 0, 100, NULL));      /* b not yet seen */
	CHECK(!d.cond && d.value == 0.0);
	CHECK(!det_deviation_feed(&d, 1, 10, nextafter(110.0, 0.0), NULL));
	CHECK(d.value < 10.0);
	/* |110 - 100| / 100 * 100 = 10 exactly: trips */
	CHECK(det_deviation_feed(&d, 1, 20, 110, &trip));
	CHECK(trip.value == 10.0 && trip.threshold == 10.0);
	CHECK_EQ_INT(trip.unit, DETECT_UNIT_PCT);
	CHECK_EQ_INT(trip.kind, CONFIG_TRIGGER_DEVIATION);
	CHECK_EQ_INT(trip.time_ms, 20);
	/* symmetric: the lower price is the base, whichever feed has it */
	CHECK(det_deviation_feed(&d, 0, 30, 121, NULL));
	CHECK(d.value == 10.0);
}

static void test_freshness(void)
{
	det_deviation_t d;
	config_trigger_t c = cfg_of(1, 1000);

	CHECK_OK(det_deviation_init(&d, &c, 0, 1));
	CHECK(!det_deviation_feed(&d, 0, 0, 100, NULL));
	/* b ticks exactly max_age_ms after a: a is still fresh */
	CHECK(det_deviation_feed(&d, 1, 1000, 200, NULL));
	CHECK(d.fresh);
	/* one ms later a is too old: no judgement, whatever the gap */
	CHECK(!det_deviation_feed(&d, 1, 1001, 300, NULL));
	CHECK(!d.fresh && !d.cond);
	CHECK(d.value == 200.0);
	/* a ticks again: both fresh */
	CHECK(det_deviation_feed(&d, 0, 1500, 100, NULL));
	/* a feed whose clock is behind: b's time is "now", a is 2000 ms old */
	CHECK(!det_deviation_feed(&d, 1, 3500, 300, NULL));
	CHECK(!d.fresh);
}

static void test_bad_input(void)
{
	det_deviation_t d;
	config_trigger_t c = cfg_of(5, 1000);
	event_t ev;

	CHECK_OK(det_deviation_init(&d, &c, 3, 7));
	CHECK(!det_deviation_feed(&d, 0, 100, 100, NULL));
	CHECK(!det_deviation_feed(&d, 1, 100, 100, NULL));
	CHECK(!det_deviation_feed(&d, 1, 101, NAN, NULL));
	CHECK(!det_deviation_feed(&d, 1, 101, -INFINITY, NULL));
	CHECK(!det_deviation_feed(&d, 1, 101, 0, NULL));
	CHECK_EQ_INT(d.stats.bad_value, 3);
	CHECK(!det_deviation_feed(&d, 1, 99, 500, NULL));   /* backwards for b */
	CHECK_EQ_INT(d.stats.backwards, 1);
	CHECK(d.price[1] == 100);
	CHECK(!det_deviation_feed(&d, 0, 100, 101, NULL));  /* equal time: replaces */
	CHECK_EQ_INT(d.stats.dup_time, 1);
	CHECK(d.price[0] == 101);
	CHECK(!det_deviation_feed(&d, 2, 200, 500, NULL));  /* no such side */
	CHECK_EQ_INT(d.stats.accepted, 3);

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_PRICE;
	ev.price.feed = 5;
	ev.price.time_ms = 200;
	ev.price.price = 200;
	CHECK(!det_deviation_event(&d, &ev, NULL));
	ev.price.feed = 7;
	CHECK(det_deviation_event(&d, &ev, NULL));
	CHECK(d.price[1] == 200);
	ev.price.feed = 3;
	ev.price.time_ms = 201;
	CHECK(!det_deviation_event(&d, &ev, NULL));        /* 200 vs 200 */
	CHECK(d.value == 0.0);
	ev.kind = EV_HEAD;
	CHECK(!det_deviation_event(&d, &ev, NULL));
	CHECK_EQ_INT(d.stats.accepted, 5);
}

static void test_reference_random(void)
{
	int series, mism = 0, trips = 0;
	long ticks = 0;

	for (series = 0; series < 10000; series++) {
		det_deviation_t d;
		double thr = 0.1 + 3 * rnd01();
		uint64_t age = 1 + rnd() % 500;
		config_trigger_t c = cfg_of(thr, age);
		int n = 1 + (int)(rnd() % 200), i;
		int64_t t[2] = {0, 0};
		double p[2] = {100, 100};
		bool has[2] = {false, false};

		if (det_deviation_init(&d, &c, 0, 1) != KERR_OK) {
			CHECK(0);
			return;
		}
		for (i = 0; i < n; i++) {
			unsigned w = (unsigned)(rnd() % 2);
			uint64_t r = rnd() % 100;
			int64_t tt = t[w] + (r < 10 ? 0 : (int64_t)(rnd() % (r < 90 ? 300 : 3000)));
			double pp = p[w] * exp(0.03 * (rnd01() - 0.5));
			bool tripped, want_cond;
			double want, lo;
			int64_t now;

			r = rnd() % 100;
			if (r < 3) {
				det_deviation_feed(&d, w, tt, r ? -pp : NAN, NULL);
				continue;
			}
			if (r < 5 && has[w]) {
				det_deviation_feed(&d, w, t[w] - 1, pp * 3, NULL);
				continue;
			}
			t[w] = tt;
			p[w] = pp;
			has[w] = true;
			tripped = det_deviation_feed(&d, w, tt, pp, NULL);
			ticks++;
			trips += tripped;
			if (!has[0] || !has[1]) {
				if (tripped || d.cond)
					mism++;
				continue;
			}
			now = t[0] > t[1] ? t[0] : t[1];
			lo = p[0] < p[1] ? p[0] : p[1];
			want = fabs(p[0] - p[1]) / lo * 100;
			want_cond = now - t[0] <= (int64_t)age && now - t[1] <= (int64_t)age &&
				    want >= thr;
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
	RUN(test_exact_threshold);
	RUN(test_freshness);
	RUN(test_bad_input);
	RUN(test_reference_random);
	return t_done();
}
