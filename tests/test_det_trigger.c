/*
 * test_det_trigger: the confirm/cooldown wrapper shared by every trigger
 * kind (keeper/detect.h): runs, confirm_ms, confirm_ticks, cooldown,
 * re-trips while the condition holds, time going backwards, trip context.
 */
#include <math.h>
#include <string.h>

#include "keeper/detect.h"
#include "tests/test.h"

static config_trigger_t cfg_of(uint64_t confirm_ms, uint64_t confirm_ticks,
			       uint64_t cooldown_ms)
{
	config_trigger_t c;

	memset(&c, 0, sizeof(c));
	c.name = "t1";
	c.kind = CONFIG_TRIGGER_DEPEG;
	c.confirm_ms = confirm_ms;
	c.confirm_ticks = confirm_ticks;
	c.cooldown_ms = cooldown_ms;
	return c;
}

static void test_immediate_and_context(void)
{
	config_trigger_t c = cfg_of(0, 0, 1000);
	detect_trigger_t tr;
	detect_trip_t trip;

	detect_trigger_init(&tr, &c, DETECT_UNIT_PCT);
	CHECK(!detect_trigger_feed(&tr, 10, false, 1.0, 2.0, &trip));
	memset(&trip, 0xAA, sizeof(trip));
	CHECK(detect_trigger_feed(&tr, 20, true, 3.5, 2.0, &trip));
	CHECK_EQ_STR(trip.trigger, "t1");
	CHECK_EQ_INT(trip.kind, CONFIG_TRIGGER_DEPEG);
	CHECK(trip.value == 3.5);
	CHECK(trip.threshold == 2.0);
	CHECK_EQ_INT(trip.unit, DETECT_UNIT_PCT);
	CHECK_EQ_INT(trip.time_ms, 20);
	CHECK(!trip.has_tx && !trip.has_account && !trip.has_amount && !trip.has_token);
	CHECK_EQ_INT(tr.trips, 1);
	CHECK_EQ_STR(detect_unit_name(DETECT_UNIT_PCT_SQRT_MIN), "pct_per_sqrt_min");
	CHECK_EQ_STR(detect_unit_name(DETECT_UNIT_MS), "ms");
	CHECK_EQ_STR(detect_unit_name(DETECT_UNIT_RATIO), "ratio");
	CHECK_EQ_STR(detect_unit_name((detect_unit_t)99), "unknown");
}

static void test_confirm_ms(void)
{
	config_trigger_t c = cfg_of(500, 0, 0);
	detect_trigger_t tr;

	detect_trigger_init(&tr, &c, DETECT_UNIT_PCT);
	CHECK(!detect_trigger_feed(&tr, 1000, true, 1, 1, NULL));
	CHECK(!detect_trigger_feed(&tr, 1499, true, 1, 1, NULL));
	/* exactly confirm_ms after the run started */
	CHECK(detect_trigger_feed(&tr, 1500, true, 1, 1, NULL));
	/* a false condition ends the run: the clock starts again */
	CHECK(!detect_trigger_feed(&tr, 1600, false, 0, 1, NULL));
	CHECK(!detect_trigger_feed(&tr, 1700, true, 1, 1, NULL));
	CHECK(!detect_trigger_feed(&tr, 2199, true, 1, 1, NULL));
	CHECK(detect_trigger_feed(&tr, 2200, true, 1, 1, NULL));
	CHECK_EQ_INT(tr.trips, 2);
}

static void test_confirm_ticks(void)
{
	config_trigger_t c = cfg_of(0, 3, 0);
	detect_trigger_t tr;

	detect_trigger_init(&tr, &c, DETECT_UNIT_PCT);
	CHECK(!detect_trigger_feed(&tr, 1, true, 1, 1, NULL));
	CHECK(!detect_trigger_feed(&tr, 1, true, 1, 1, NULL));
	CHECK(!detect_trigger_feed(&tr, 2, false, 1, 1, NULL));
	CHECK(!detect_trigger_feed(&tr, 3, true, 1, 1, NULL));
	CHECK(!detect_trigger_feed(&tr, 4, true, 1, 1, NULL));
	CHECK(detect_trigger_feed(&tr, 5, true, 1, 1, NULL));
	/* cooldown 0: every further confirmed call trips */
	CHECK(detect_trigger_feed(&tr, 5, true, 1, 1, NULL));
	CHECK_EQ_INT(tr.trips, 2);
}

static void test_cooldown(void)
{
	config_trigger_t c = cfg_of(0, 0, 1000);
	detect_trigger_t tr;

	detect_trigger_init(&tr, &c, DETECT_UNIT_PCT);
	CHECK(detect_trigger_feed(&tr, 0, true, 1, 1, NULL));
	CHECK(!detect_trigger_feed(&tr, 500, true, 1, 1, NULL));
	CHECK(!detect_trigger_feed(&tr, 600, false, 1, 1, NULL));
	CHECK(!detect_trigger_feed(&tr, 999, true, 1, 1, NULL));
	CHECK_EQ_INT(tr.suppressed, 2);
	/* still holding: trips again once the cooldown has passed */
	CHECK(detect_trigger_feed(&tr, 1000, true, 1, 1, NULL));
	CHECK(!detect_trigger_feed(&tr, 1999, true, 1, 1, NULL));
	CHECK(detect_trigger_feed(&tr, 2000, true, 1, 1, NULL));
	CHECK_EQ_INT(tr.trips, 3);
	CHECK_EQ_INT(tr.suppressed, 3);
}

static void test_backwards(void)
{
	config_trigger_t c = cfg_of(100, 0, 0);
	detect_trigger_t tr;

	detect_trigger_init(&tr, &c, DETECT_UNIT_PCT);
	CHECK(!detect_trigger_feed(&tr, 1000, true, 1, 1, NULL));
	/* a time before the run start must not count as "held 100 ms" */
	CHECK(!detect_trigger_feed(&tr, 500, true, 1, 1, NULL));
	CHECK(!detect_trigger_feed(&tr, 0, false, 1, 1, NULL));
	CHECK_EQ_INT(tr.backwards, 2);
	CHECK(tr.running);
	CHECK(detect_trigger_feed(&tr, 1100, true, 1, 1, NULL));
}

static void test_price_ok(void)
{
	CHECK(detect_price_ok(1e-300));
	CHECK(!detect_price_ok(0.0));
	CHECK(!detect_price_ok(-1.0));
	CHECK(!detect_price_ok(NAN));
	CHECK(!detect_price_ok(INFINITY));
	CHECK(!detect_price_ok(-INFINITY));
}

int main(void)
{
	RUN(test_immediate_and_context);
	RUN(test_confirm_ms);
	RUN(test_confirm_ticks);
	RUN(test_cooldown);
	RUN(test_backwards);
	RUN(test_price_ok);
	return t_done();
}
