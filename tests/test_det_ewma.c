/*
 * test_det_ewma: the ewma_vol detector against its header's formula: a hand
 * computed case, the per-sqrt-minute scaling on irregular ticks, warmup,
 * exactly at the threshold, equal / backwards timestamps and invalid
 * prices, and a direct weighted-sum computation of the same estimate
 * (V_n = lambda^(n-1) x_1 + sum_{k=2..n} (1 - lambda) lambda^(n-k) x_k,
 * evaluated from scratch at every tick) on 10,000 random series.
 */
#include <math.h>
#include <string.h>

#include "keeper/det_ewma.h"
#include "tests/test.h"

#define RNG_SEED 0x2545F4914F6CDD1Dull
#include "tests/rng.h"

static config_trigger_t cfg_of(double lambda, double thr, uint64_t warmup)
{
	config_trigger_t c;

	memset(&c, 0, sizeof(c));
	c.name = "vol";
	c.kind = CONFIG_TRIGGER_EWMA_VOL;
	c.lambda = lambda;
	c.threshold_pct = thr;
	c.warmup = warmup;
	return c;
}

static bool close_rel(double a, double b, double tol)
{
	return fabs(a - b) <= tol * fmax(fabs(a), fabs(b)) + 1e-300;
}

static void test_init_errors(void)
{
	det_ewma_t d;
	config_trigger_t c = cfg_of(1.0, 1, 1);

	CHECK_ERR(det_ewma_init(&d, &c, 0), KERR_ARG);
	c = cfg_of(0.0, 1, 1);
	CHECK_ERR(det_ewma_init(&d, &c, 0), KERR_ARG);
	c = cfg_of(NAN, 1, 1);
	CHECK_ERR(det_ewma_init(&d, &c, 0), KERR_ARG);
	c = cfg_of(0.94, 0, 1);
	CHECK_ERR(det_ewma_init(&d, &c, 0), KERR_ARG);
	c = cfg_of(0.94, 1, 0);
	CHECK_ERR(det_ewma_init(&d, &c, 0), KERR_ARG);
	c = cfg_of(0.94, 1, 1);
	c.kind = CONFIG_TRIGGER_PRICE_MOVE;
	CHECK_ERR(det_ewma_init(&d, &c, 0), KERR_ARG);
}

static void test_hand_case(void)
{
	det_ewma_t d;
	config_trigger_t c = cfg_of(0.5, 1000, 1);
	double x1, x2, v;

	CHECK_OK(det_ewma_init(&d, &c, 0));
	CHECK(!det_ewma_feed(&d, 0, 100, NULL));
	CHECK(d.value == 0.0 && d.returns == 0);
	/* one minute, +1%: x1 = ln(1.01)^2 / 1 */
	CHECK(!det_ewma_feed(&d, 60000, 101, NULL));
	x1 = log(101.0 / 100.0) * log(101.0 / 100.0);
	CHECK(close_rel(d.value, 100 * sqrt(x1), 1e-12));
	/* 30 s later, -2%: x2 = ln(0.98)^2 / 0.5; V = 0.5 x1 + 0.5 x2 */
	CHECK(!det_ewma_feed(&d, 90000, 101 * 0.98, NULL));
	x2 = log(0.98) * log(0.98) / 0.5;
	v = 100 * sqrt(0.5 * x1 + 0.5 * x2);
	CHECK(close_rel(d.value, v, 1e-12));
	CHECK_EQ_INT(d.returns, 2);
}

/* The same random walk sampled every second or every 4 seconds with returns
 * twice as large (so the same variance per minute) gives the same rate. */
static void test_irregular_scaling(void)
{
	det_ewma_t a, b;
	config_trigger_t c = cfg_of(0.94, 1000, 1);
	double pa = 100, pb = 100;
	int i;

	CHECK_OK(det_ewma_init(&a, &c, 0));
	CHECK_OK(det_ewma_init(&b, &c, 1));
	det_ewma_feed(&a, 0, pa, NULL);
	det_ewma_feed(&b, 0, pb, NULL);
	for (i = 1; i <= 200; i++) {
		double s = (i % 2) ? 1 : -1;
		pa *= exp(s * 0.001);
		pb *= exp(s * 0.002);
		det_ewma_feed(&a, i * 1000, pa, NULL);
		det_ewma_feed(&b, i * 4000, pb, NULL);
	}
	/* x = 0.001^2 / (1/60) = 0.002^2 / (4/60) = 6e-5 per minute */
	CHECK(close_rel(a.value, b.value, 1e-6));
	CHECK(close_rel(a.value, 100 * sqrt(6e-5), 1e-6));
	printf("    1 s ticks: %.6f %%/sqrt(min), 4 s ticks: %.6f %%/sqrt(min)\n",
	       a.value, b.value);
}

static void test_warmup_and_threshold(void)
{
	det_ewma_t d;
	config_trigger_t c = cfg_of(0.94, 0.1, 3);
	detect_trip_t trip;
	double v;

	CHECK_OK(det_ewma_init(&d, &c, 7));
	CHECK(!det_ewma_feed(&d, 0, 100, NULL));
	CHECK(!det_ewma_feed(&d, 1000, 110, NULL));   /* huge, but return 1 */
	CHECK(d.value > 0.1 && !d.cond);
	CHECK(!det_ewma_feed(&d, 2000, 100, NULL));   /* return 2 */
	CHECK(det_ewma_feed(&d, 3000, 110, &trip));   /* return 3: warm */
	CHECK_EQ_INT(trip.unit, DETECT_UNIT_PCT_SQRT_MIN);
	CHECK_EQ_INT(trip.kind, CONFIG_TRIGGER_EWMA_VOL);
	CHECK(trip.value == d.value && trip.threshold == 0.1);

	/* exactly at the threshold trips, one ulp above it does not */
	v = 100 * sqrt(log(1.01) * log(1.01) / (1000 / 60000.0));
	c = cfg_of(0.94, v, 1);
	CHECK_OK(det_ewma_init(&d, &c, 0));
	det_ewma_feed(&d, 0, 100, NULL);
	CHECK(det_ewma_feed(&d, 1000, 101, NULL));
	CHECK(d.value == v);
	c = cfg_of(0.94, nextafter(v, INFINITY), 1);
	CHECK_OK(det_ewma_init(&d, &c, 0));
	det_ewma_feed(&d, 0, 100, NULL);
	CHECK(!det_ewma_feed(&d, 1000, 101, NULL));
}

static void test_bad_input(void)
{
	det_ewma_t d;
	config_trigger_t c = cfg_of(0.94, 1, 1);
	event_t ev;

	CHECK_OK(det_ewma_init(&d, &c, 4));
	CHECK(!det_ewma_feed(&d, 1000, 100, NULL));
	CHECK(!det_ewma_feed(&d, 1000, 50, NULL));     /* equal time: dropped */
	CHECK_EQ_INT(d.stats.dup_time, 1);
	CHECK(!det_ewma_feed(&d, 999, 50, NULL));      /* backwards: dropped */
	CHECK_EQ_INT(d.stats.backwards, 1);
	CHECK(!det_ewma_feed(&d, 2000, NAN, NULL));
	CHECK(!det_ewma_feed(&d, 2000, INFINITY, NULL));
	CHECK(!det_ewma_feed(&d, 2000, 0, NULL));
	CHECK(!det_ewma_feed(&d, 2000, -1, NULL));
	CHECK_EQ_INT(d.stats.bad_value, 4);
	CHECK_EQ_INT(d.returns, 0);
	CHECK(d.last_price == 100 && d.last_ms == 1000);
	/* the next good tick is measured from the kept price */
	CHECK(!det_ewma_feed(&d, 61000, 100, NULL));
	CHECK(d.value == 0.0);
	CHECK(isfinite(d.var));

	memset(&ev, 0, sizeof(ev));
	ev.kind = EV_PRICE;
	ev.price.feed = 3;
	ev.price.time_ms = 62000;
	ev.price.price = 200;
	CHECK(!det_ewma_event(&d, &ev, NULL));
	CHECK_EQ_INT(d.returns, 1);
	ev.price.feed = 4;
	CHECK(det_ewma_event(&d, &ev, NULL));           /* ln 2 in a second */
	CHECK_EQ_INT(d.returns, 2);
}

#define MAXN 200

static void test_reference_random(void)
{
	static double xs[MAXN];
	int series, mism = 0, trips = 0;
	long ticks = 0;
	double worst = 0;

	for (series = 0; series < 10000; series++) {
		det_ewma_t d;
		double lambda = 0.5 + 0.49 * rnd01();
		double thr = 0.05 + 2 * rnd01();
		uint64_t warmup = 1 + rnd() % 20;
		config_trigger_t c = cfg_of(lambda, thr, warmup);
		int n = 2 + (int)(rnd() % MAXN), nx = 0, i, k;
		int64_t t = (int64_t)(rnd() % 100000), last_t = 0;
		double p = 1 + 1000 * rnd01(), last_p = 0;
		bool have = false;

		if (det_ewma_init(&d, &c, 0) != KERR_OK) {
			CHECK(0);
			return;
		}
		for (i = 0; i < n; i++) {
			uint64_t r = rnd() % 100;
			double v, want;
			bool tripped;

			t += r < 5 ? 0 : r < 90 ? 1 + (int64_t)(rnd() % 2000) :
			     (int64_t)(rnd() % 600000);
			p *= exp(0.01 * (rnd01() - 0.5));
			r = rnd() % 100;
			if (r < 3) {
				det_ewma_feed(&d, t, r == 0 ? NAN : r == 1 ? -p : INFINITY, NULL);
				continue;
			}
			if (r < 5 && have) {
				det_ewma_feed(&d, last_t - 1, p * 2, NULL);
				continue;
			}
			tripped = det_ewma_feed(&d, t, p, NULL);
			ticks++;
			trips += tripped;
			if (have && t == last_t)
				continue;        /* the header's rule: dropped */
			if (have) {
				double m = (double)(t - last_t) / 60000.0;
				xs[nx++] = log(p / last_p) * log(p / last_p) / m;
			}
			have = true;
			last_t = t;
			last_p = p;
			if (nx == 0)
				continue;
			v = pow(lambda, nx - 1) * xs[0];
			for (k = 1; k < nx; k++)
				v += (1 - lambda) * pow(lambda, nx - 1 - k) * xs[k];
			want = 100 * sqrt(v);
			if (!close_rel(d.value, want, 1e-9)) {
				if (mism++ < 5)
					printf("    series %d tick %d: got %.17g want %.17g\n",
					       series, i, d.value, want);
			}
			if (fabs(d.value - want) / want > worst)
				worst = fabs(d.value - want) / want;
			/* the condition, away from rounding at the threshold */
			if (fabs(want - thr) > 1e-9 * thr &&
			    d.cond != ((uint64_t)nx >= warmup && want >= thr))
				mism++;
			if (tripped != d.cond)
				mism++;
		}
	}
	CHECK_EQ_INT(mism, 0);
	CHECK(trips > 1000);
	printf("    10000 series, %ld ticks, %d trips, %d mismatches, largest relative "
	       "difference %.3g\n", ticks, trips, mism, worst);
}

int main(void)
{
	RUN(test_init_errors);
	RUN(test_hand_case);
	RUN(test_irregular_scaling);
	RUN(test_warmup_and_threshold);
	RUN(test_bad_input);
	RUN(test_reference_random);
	return t_done();
}
