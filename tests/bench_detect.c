/*
 * bench_detect: what one price event costs each detector kind, and the
 * evidence that price_move is O(1) amortised: its per-event cost with a
 * window holding 10 events against one holding 1,000,000, on a random walk
 * (short deques) and on a steadily falling series (the max deque holds the
 * whole window, so every tick expires one entry and pushes one).  The
 * deques start small and grow while the window fills, before timing; the
 * two windows are timed in alternating rounds, so that a change in the
 * machine's load hits both figures alike.  Floors:
 * every kind < 1,000 ns per event (signing, the one step allowed to be
 * slow, costs ~45 us), the 1,000,000 / 10 ratio <= 2.0, and no heap
 * allocation per event.
 *
 * Allocation is counted, as in bench_parse: this program defines malloc,
 * calloc and realloc and counts calls around the measured loops (not
 * under AddressSanitizer, which must own the allocator).  Each figure is
 * the median of ROUNDS rounds; the series are generated before timing so
 * that only the detector is measured.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keeper/det_depeg.h"
#include "keeper/det_deviation.h"
#include "keeper/det_ewma.h"
#include "keeper/det_price_move.h"
#include "keeper/det_stale.h"
#include "tests/bench_util.h"

#define ROUNDS 7
#define EVENTS (1 << 21)     /* per round */
#define NPRICES (1 << 20)


static double prices[NPRICES];
static unsigned long sink, allocs_measured;
static int missed;

static config_trigger_t cfg_of(config_trigger_kind_t kind)
{
	config_trigger_t c;

	memset(&c, 0, sizeof(c));
	c.name = "bench";
	c.kind = kind;
	c.cooldown_ms = 60000;
	return c;
}

/* One detector under measurement: step() feeds event i at time t. */
typedef struct {
	const char *name;
	void *st;
	int64_t t;              /* next event time, ms */
	uint64_t i;             /* next event number */
	bool falling;
	unsigned long (*step)(void *st, uint64_t i, int64_t t, double p);
} runner_t;

static double price_at(const runner_t *r, uint64_t i)
{
	return r->falling ? 1e12 - (double)i : prices[i & (NPRICES - 1)];
}

/* Feed n events untimed (to fill a window). */
static void warm(runner_t *r, uint64_t n)
{
	for (uint64_t k = 0; k < n; k++, r->i++, r->t++)
		sink += r->step(r->st, r->i, r->t, price_at(r, r->i));
}

/* Median ns per event over ROUNDS rounds of EVENTS events. */
static double measure(runner_t *r)
{
	double ns[ROUNDS];

	for (int round = 0; round < ROUNDS; round++) {
		unsigned long a0 = n_alloc;
		double t0 = now_ns();
		for (uint64_t k = 0; k < EVENTS; k++, r->i++, r->t++)
			sink += r->step(r->st, r->i, r->t, price_at(r, r->i));
		ns[round] = (now_ns() - t0) / EVENTS;
		allocs_measured += n_alloc - a0;
	}
	qsort(ns, ROUNDS, sizeof ns[0], cmp_double);
	return ns[ROUNDS / 2];
}

static unsigned long step_pm(void *st, uint64_t i, int64_t t, double p)
{
	(void)i;
	return det_price_move_feed(st, t, p, NULL);
}

static unsigned long step_ewma(void *st, uint64_t i, int64_t t, double p)
{
	(void)i;
	return det_ewma_feed(st, t, p, NULL);
}

static unsigned long step_dev(void *st, uint64_t i, int64_t t, double p)
{
	/* the two feeds alternate; b runs 0.1% above a */
	return det_deviation_feed(st, (unsigned)(i & 1), t, (i & 1) ? p * 1.001 : p, NULL);
}

static unsigned long step_depeg(void *st, uint64_t i, int64_t t, double p)
{
	(void)i;
	return det_depeg_feed(st, t, p / 100.0, NULL);
}

static unsigned long step_stale(void *st, uint64_t i, int64_t t, double p)
{
	/* a tick, then a clock check, as the loop would interleave them */
	if (i & 1)
		return det_stale_check(st, t, NULL);
	return det_stale_tick(st, t, p, NULL);
}

static void judge(const char *what, double ns)
{
	printf("%-50s %7.1f ns/event   floor < 1000: %s\n", what, ns,
	       ns < 1000 ? "met" : "MISSED");
	if (ns >= 1000)
		missed = 1;
}

/* price_move with a window holding `events` ticks (one tick per ms),
 * filled before timing. */
static void pm_open(det_price_move_t *d, runner_t *r, uint64_t events, bool falling)
{
	config_trigger_t c = cfg_of(CONFIG_TRIGGER_PRICE_MOVE);
	runner_t r0 = {"price_move", d, 1700000000000, 0, falling, step_pm};

	c.window_ms = events - 1;
	c.threshold_pct = 5;
	c.direction = CONFIG_DIR_BOTH;
	if (det_price_move_init(d, &c, 0) != KERR_OK) {
		fprintf(stderr, "bench_detect: price_move init failed\n");
		exit(1);
	}
	*r = r0;
	warm(r, events);
}

/* One round of EVENTS events: ns per event. */
static double pm_round(runner_t *r)
{
	unsigned long a0 = n_alloc;
	double t0 = now_ns();

	for (uint64_t k = 0; k < EVENTS; k++, r->i++, r->t++)
		sink += r->step(r->st, r->i, r->t, price_at(r, r->i));
	allocs_measured += n_alloc - a0;
	return (now_ns() - t0) / EVENTS;
}

/* price_move with 10 and with 1,000,000 ticks in the window, timed in
 * alternating rounds: the medians, and each one's deepest deque. */
static void bench_pm(bool falling, double ns[2], size_t depth[2])
{
	static const uint64_t events[2] = { 10, 1000000 };
	det_price_move_t d[2];
	runner_t r[2];
	double t[2][ROUNDS];

	for (int k = 0; k < 2; k++)
		pm_open(&d[k], &r[k], events[k], falling);
	for (int round = 0; round < ROUNDS; round++)
		for (int k = 0; k < 2; k++)
			t[k][round] = pm_round(&r[k]);
	for (int k = 0; k < 2; k++) {
		qsort(t[k], ROUNDS, sizeof t[k][0], cmp_double);
		ns[k] = t[k][ROUNDS / 2];
		depth[k] = d[k].max.len > d[k].min.len ? d[k].max.len : d[k].min.len;
		det_price_move_release(&d[k]);
	}
}

int main(void)
{
	double p = 100, ns, small, big, pm_ns[2];
	size_t dsmall, dbig, pm_depth[2];
	char label[96];

	srand(1);
	for (int k = 0; k < NPRICES; k++) {
		p *= exp(0.0004 * ((double)rand() / RAND_MAX - 0.5));
		prices[k] = p;
	}

	for (int pattern = 0; pattern < 2; pattern++) {
		bool falling = pattern == 1;
		bench_pm(falling, pm_ns, pm_depth);
		small = pm_ns[0];
		big = pm_ns[1];
		dsmall = pm_depth[0];
		dbig = pm_depth[1];
		snprintf(label, sizeof label, "price_move, window of 10 events, %s",
			 falling ? "falling" : "random walk");
		judge(label, small);
		snprintf(label, sizeof label, "price_move, window of 1000000 events, %s",
			 falling ? "falling" : "random walk");
		judge(label, big);
		printf("  ratio 1000000 / 10: %.2f   floor <= 2.0: %s   (deepest deque: %zu vs %zu "
		       "entries)\n", big / small, big / small <= 2.0 ? "met" : "MISSED",
		       dbig, dsmall);
		if (big / small > 2.0)
			missed = 1;
	}

	{
		det_ewma_t d;
		config_trigger_t c = cfg_of(CONFIG_TRIGGER_EWMA_VOL);
		runner_t r = {"ewma_vol", &d, 1700000000000, 0, false, step_ewma};
		c.lambda = 0.94;
		c.threshold_pct = 5;
		c.warmup = 20;
		if (det_ewma_init(&d, &c, 0) != KERR_OK)
			return 1;
		ns = measure(&r);
		judge("ewma_vol", ns);
	}
	{
		det_deviation_t d;
		config_trigger_t c = cfg_of(CONFIG_TRIGGER_DEVIATION);
		runner_t r = {"deviation", &d, 1700000000000, 0, false, step_dev};
		c.threshold_pct = 1;
		c.max_age_ms = 5000;
		if (det_deviation_init(&d, &c, 0, 1) != KERR_OK)
			return 1;
		ns = measure(&r);
		judge("deviation (two feeds alternating)", ns);
	}
	{
		det_depeg_t d;
		config_trigger_t c = cfg_of(CONFIG_TRIGGER_DEPEG);
		runner_t r = {"depeg", &d, 1700000000000, 0, false, step_depeg};
		c.peg = 1;
		c.threshold_pct = 2;
		c.direction = CONFIG_DIR_BOTH;
		c.hold_ms = 1000;
		if (det_depeg_init(&d, &c, 0) != KERR_OK)
			return 1;
		ns = measure(&r);
		judge("depeg", ns);
	}
	{
		det_stale_t d;
		config_trigger_t c = cfg_of(CONFIG_TRIGGER_STALE);
		runner_t r = {"stale", &d, 1700000000000, 0, false, step_stale};
		c.after_ms = 5000;
		if (det_stale_init(&d, &c, 0, 1700000000000) != KERR_OK)
			return 1;
		ns = measure(&r);
		judge("stale (ticks and clock checks alternating)", ns);
	}

	if (COUNT_ALLOCS) {
		printf("heap allocations in the measured loops: %lu   floor 0: %s\n",
		       allocs_measured, allocs_measured == 0 ? "met" : "MISSED");
		if (allocs_measured)
			missed = 1;
	} else {
		printf("heap allocations: not counted under AddressSanitizer\n");
	}
	printf("[median of %d rounds x %d events; sink %lu]\n", ROUNDS, EVENTS, sink & 1);
	return missed;
}
