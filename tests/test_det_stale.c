/*
 * test_det_stale: the stale detector: a feed that never ticks, exactly at
 * and past after_ms, ticks ending the silence, EV_FEED_STALE and
 * EV_FEED_BACK, clock checks going backwards, invalid ticks, confirm_ticks
 * over checks, and a direct recomputation of the silence on 10,000 random
 * sequences of ticks and checks.
 */
#include <math.h>
#include <string.h>

#include "keeper/det_stale.h"
#include "tests/test.h"

#define RNG_SEED 0x853C49E6748FEA9Bull
#include "tests/rng.h"

static config_trigger_t cfg_of(uint64_t after_ms)
{
	config_trigger_t c;

	memset(&c, 0, sizeof(c));
	c.name = "eth-stale";
	c.kind = CONFIG_TRIGGER_STALE;
	c.after_ms = after_ms;
	c.cooldown_ms = 60000;
	return c;
}

static void test_init_errors(void)
{
	det_stale_t d;
	config_trigger_t c = cfg_of(0);

	CHECK_ERR(det_stale_init(&d, &c, 0, 0), KERR_ARG);
	c = cfg_of(10);
	c.kind = CONFIG_TRIGGER_DEPEG;
	CHECK_ERR(det_stale_init(&d, &c, 0, 0), KERR_ARG);
}

static void test_never_ticked_and_exact(void)
{
	det_stale_t d;
	config_trigger_t c = cfg_of(5000);
	detect_trip_t trip;

	CHECK_OK(det_stale_init(&d, &c, 0, 1000000));
	CHECK(!det_stale_check(&d, 1005000, NULL));   /* exactly after_ms: not yet */
	CHECK(d.value == 5000.0 && !d.cond);
	CHECK(det_stale_check(&d, 1005001, &trip));
	CHECK(trip.value == 5001.0 && trip.threshold == 5000.0);
	CHECK_EQ_INT(trip.unit, DETECT_UNIT_MS);
	CHECK_EQ_INT(trip.kind, CONFIG_TRIGGER_STALE);
	CHECK_EQ_INT(trip.time_ms, 1005001);
	CHECK_EQ_STR(trip.trigger, "eth-stale");
	/* cooldown: still stale, not tripped again within 60 s */
	CHECK(!det_stale_check(&d, 1010000, NULL));
	CHECK(d.cond);
	CHECK(det_stale_check(&d, 1065001, NULL));
}

static void test_ticks(void)
{
	det_stale_t d;
	config_trigger_t c = cfg_of(1000);

	CHECK_OK(det_stale_init(&d, &c, 2, 0));
	CHECK(!det_stale_tick(&d, 900, 5.0, NULL));
	CHECK(!det_stale_check(&d, 1900, NULL));
	CHECK(det_stale_check(&d, 1901, NULL));
	CHECK(!det_stale_tick(&d, 1950, 5.0, NULL));
	CHECK(!d.cond && d.value == 0.0);
	CHECK(!det_stale_tick(&d, 1950, 5.0, NULL));   /* same ms: used */
	CHECK_EQ_INT(d.stats.dup_time, 1);
	/* garbage is not a sign of life */
	CHECK(!det_stale_tick(&d, 2500, NAN, NULL));
	CHECK(!det_stale_tick(&d, 2500, -3, NULL));
	CHECK(!det_stale_tick(&d, 2500, INFINITY, NULL));
	CHECK_EQ_INT(d.stats.bad_value, 3);
	CHECK(d.last_tick_ms == 1950);
	/* a check from the past is dropped */
	CHECK(!det_stale_check(&d, 100, NULL));
	CHECK(!det_stale_tick(&d, 1000, 1.0, NULL));
	CHECK_EQ_INT(d.stats.backwards, 2);
	CHECK(!det_stale_check(&d, 2950, NULL));
	CHECK(d.value == 1000.0);
}

static void test_events(void)
{
	det_stale_t d;
	config_trigger_t c = cfg_of(3000);
	event_t ev;

	CHECK_OK(det_stale_init(&d, &c, 4, 0));
	memset(&ev, 0, sizeof(ev));
	/* a tick counts at its arrival time, not the source's timestamp */
	ev.kind = EV_PRICE;
	ev.price.feed = 4;
	ev.price.price = 1;
	ev.price.time_ms = 1;
	ev.price.recv_ms = 10000;
	CHECK(!det_stale_event(&d, &ev, NULL));
	CHECK(d.last_tick_ms == 10000);
	ev.price.feed = 5;
	ev.price.recv_ms = 20000;
	CHECK(!det_stale_event(&d, &ev, NULL));
	CHECK(d.last_tick_ms == 10000);

	ev.kind = EV_FEED_STALE;
	ev.feed.feed = 4;
	ev.feed.time_ms = 13000;
	ev.feed.last_tick_ms = 10000;
	CHECK(!det_stale_event(&d, &ev, NULL));       /* exactly 3000 */
	ev.feed.time_ms = 14000;
	CHECK(det_stale_event(&d, &ev, NULL));
	/* the loop knew of a later tick than we did */
	ev.feed.time_ms = 15000;
	ev.feed.last_tick_ms = 14500;
	CHECK(!det_stale_event(&d, &ev, NULL));
	CHECK(d.value == 500.0);
	/* another feed's staleness is not ours */
	ev.feed.feed = 1;
	ev.feed.time_ms = 90000;
	CHECK(!det_stale_event(&d, &ev, NULL));
	CHECK(d.last_eval_ms == 15000);

	/* FEED_BACK: the tick that ended the staleness */
	CHECK(det_stale_check(&d, 80000, NULL));
	ev.kind = EV_FEED_BACK;
	ev.feed.feed = 4;
	ev.feed.time_ms = 81000;
	ev.feed.last_tick_ms = 80500;
	CHECK(!det_stale_event(&d, &ev, NULL));
	CHECK(!d.cond && d.last_tick_ms == 80500 && d.last_eval_ms == 80500);
	ev.feed.last_tick_ms = -1;                       /* never ticked: ignored */
	CHECK(!det_stale_event(&d, &ev, NULL));
	ev.kind = EV_HEAD;
	CHECK(!det_stale_event(&d, &ev, NULL));
}

static void test_confirm_ticks(void)
{
	det_stale_t d;
	config_trigger_t c = cfg_of(100);

	c.confirm_ticks = 3;
	CHECK_OK(det_stale_init(&d, &c, 0, 0));
	CHECK(!det_stale_check(&d, 200, NULL));
	CHECK(!det_stale_check(&d, 300, NULL));
	CHECK(!det_stale_tick(&d, 350, 1, NULL));      /* ends the run */
	CHECK(!det_stale_check(&d, 500, NULL));
	CHECK(!det_stale_check(&d, 600, NULL));
	CHECK(det_stale_check(&d, 700, NULL));
}

static void test_reference_random(void)
{
	int series, mism = 0, trips = 0;
	long evals = 0;

	for (series = 0; series < 10000; series++) {
		det_stale_t d;
		uint64_t after = 1 + rnd() % 3000;
		config_trigger_t c = cfg_of(after);
		int64_t start = (int64_t)(rnd() % 1000000), now = start, last = start;
		int n = 1 + (int)(rnd() % 200), i;

		c.cooldown_ms = 0;
		if (det_stale_init(&d, &c, 0, start) != KERR_OK) {
			CHECK(0);
			return;
		}
		for (i = 0; i < n; i++) {
			uint64_t r = rnd() % 100;
			bool tripped, want_cond;
			int64_t t = now + (r < 10 ? 0 : (int64_t)(rnd() % (r < 80 ? 500 : 6000)));

			r = rnd() % 100;
			if (r < 3) {
				det_stale_tick(&d, t, NAN, NULL);
				continue;
			}
			if (r < 6 && now > 0) {
				det_stale_check(&d, now - 1, NULL);
				continue;
			}
			now = t;
			if (r < 40) {
				last = t;
				tripped = det_stale_tick(&d, t, 1.0, NULL);
			} else {
				tripped = det_stale_check(&d, t, NULL);
			}
			evals++;
			trips += tripped;
			want_cond = (uint64_t)(now - last) > after;
			if (d.value != (double)(now - last) || d.cond != want_cond ||
			    tripped != want_cond) {
				if (mism++ < 5)
					printf("    series %d step %d: got %.0f want %lld\n",
					       series, i, d.value, (long long)(now - last));
			}
		}
	}
	CHECK_EQ_INT(mism, 0);
	CHECK(trips > 1000);
	printf("    10000 series, %ld evaluations, %d trips, %d mismatches\n",
	       evals, trips, mism);
}

int main(void)
{
	RUN(test_init_errors);
	RUN(test_never_ticked_and_exact);
	RUN(test_ticks);
	RUN(test_events);
	RUN(test_confirm_ticks);
	RUN(test_reference_random);
	return t_done();
}
