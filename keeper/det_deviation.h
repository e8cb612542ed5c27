/*
 * det_deviation: the deviation trigger.  Trips when two feeds of the same
 * asset disagree: value = |a - b| / min(a, b) * 100 (percent), condition
 * value >= threshold_pct (exactly at the threshold counts), judged only
 * while both latest prices are fresh.
 *
 * Time and freshness.  Each feed's latest accepted price keeps its tick
 * time.  "Now" is the newest of the two tick times, so the judgement uses
 * the feeds' own clocks and never a clock read inside the detector; a
 * price is fresh when now - its time <= max_age_ms (at most max_age_ms
 * old).  Before both feeds have ticked, or while one is older than that,
 * the condition is false (which also ends a confirm run).  The trigger
 * wrapper is fed at "now", which never goes backwards.
 *
 * Bad input, per feed (counted in stats): NaN, infinite or <= 0 prices and
 * times earlier than that feed's previous accepted tick are dropped; an
 * equal time is counted in dup_time and the newer price replaces the older.
 */
#ifndef KEEPER_DET_DEVIATION_H
#define KEEPER_DET_DEVIATION_H

#include <stdbool.h>
#include <stdint.h>
#include "keeper/config.h"
#include "keeper/detect.h"
#include "keeper/event.h"
#include "keeper/kerr.h"

typedef struct {
	uint32_t feed[2];
	double threshold;       /* percent */
	uint64_t max_age_ms;
	bool has[2];
	double price[2];
	int64_t time_ms[2];
	/* read-only results of the latest accepted tick */
	double value;           /* percent; 0 until both feeds ticked */
	bool fresh;             /* both present and at most max_age_ms old */
	bool cond;
	detect_stats_t stats;
	detect_trigger_t trig;
} det_deviation_t;

/* From a deviation trigger; feed_a/feed_b are the indexes of
 * cfg->feeds[0..1].  KERR_ARG when cfg is not deviation, the two indexes
 * are equal, threshold is not > 0 or max_age_ms is 0.  No allocation. */
kerr_t det_deviation_init(det_deviation_t *d, const config_trigger_t *cfg,
			  uint32_t feed_a, uint32_t feed_b);

/* A tick of feed `which` (0: a, 1: b); true when the trigger trips. */
bool det_deviation_feed(det_deviation_t *d, unsigned which, int64_t t_ms,
			double price, detect_trip_t *trip);

/* EV_PRICE of either feed is fed (at its time_ms); others ignored. */
bool det_deviation_event(det_deviation_t *d, const event_t *ev,
			 detect_trip_t *trip);

#endif
