/*
 * det_ewma: the ewma_vol trigger, a RiskMetrics-style volatility estimate
 * that trips when a feed becomes too volatile.
 *
 * The formula, exactly.  For the i-th accepted tick after the first, with
 * price p_i at time t_i (ms) and the previous accepted tick (p_{i-1},
 * t_{i-1}):
 *   r_i  = ln(p_i / p_{i-1})                   log return
 *   m_i  = (t_i - t_{i-1}) / 60000             minutes since the previous
 *   x_i  = r_i^2 / m_i                         squared return per minute
 *   V_1  = x_1
 *   V_i  = lambda * V_{i-1} + (1 - lambda) * x_i      (i >= 2)
 *   value_i = 100 * sqrt(V_i)                  percent per sqrt(minute)
 * Dividing by the elapsed minutes makes irregular feeds comparable: for a
 * random walk, r^2 grows in proportion to the time between ticks, so x is
 * a per-minute variance whatever the tick spacing.  lambda weighs ticks,
 * as RiskMetrics weighs days (0.94 by default).
 *
 * The condition is i >= warmup and value_i >= threshold_pct: `warmup`
 * counts returns (accepted ticks after the first), so with warmup = 1 the
 * very first return can trip.
 *
 * Bad input (counted in stats): a price that is NaN, infinite or <= 0, or a
 * time earlier than the previous accepted tick's, is dropped.  A time
 * EQUAL to the previous accepted tick's is dropped too (counted in
 * dup_time): a return over zero time has no rate.  Nothing is lost by it:
 * the next tick's return is measured from the kept price, so the whole
 * move still enters the estimate.
 */
#ifndef KEEPER_DET_EWMA_H
#define KEEPER_DET_EWMA_H

#include <stdbool.h>
#include <stdint.h>
#include "keeper/config.h"
#include "keeper/detect.h"
#include "keeper/event.h"
#include "keeper/kerr.h"

typedef struct {
	uint32_t feed;
	double lambda;
	double threshold;       /* percent per sqrt(minute) */
	uint64_t warmup;        /* returns before the condition may hold */
	bool has_last;
	int64_t last_ms;
	double last_price;
	uint64_t returns;       /* returns folded into var */
	double var;             /* V_i, per minute (fraction^2) */
	/* read-only results of the latest accepted tick */
	double value;           /* percent per sqrt(minute); 0 before a return */
	bool cond;
	detect_stats_t stats;
	detect_trigger_t trig;
} det_ewma_t;

/* From an ewma_vol trigger.  KERR_ARG when cfg is not ewma_vol, lambda is
 * not in (0, 1), threshold is not > 0 or warmup is 0.  No allocation. */
kerr_t det_ewma_init(det_ewma_t *d, const config_trigger_t *cfg, uint32_t feed);

/* One tick; true when the trigger trips (*trip filled, may be NULL). */
bool det_ewma_feed(det_ewma_t *d, int64_t t_ms, double price,
		   detect_trip_t *trip);

/* EV_PRICE of this trigger's feed is fed (at its time_ms); others ignored. */
bool det_ewma_event(det_ewma_t *d, const event_t *ev, detect_trip_t *trip);

#endif
