/*
 * det_price_move: the price_move trigger.  Trips when a feed's price has
 * moved by threshold_pct or more within window_ms: the current tick's drop
 * from the highest price in the window and/or its rise from the lowest.
 *
 * Value and threshold are percent:
 *   drop = (max - p) / max * 100      rise = (p - min) / min * 100
 * where p is the current tick and max/min are over the window, which holds
 * the ticks with time in [t - window_ms, t] (the current one included, so a
 * lone tick, e.g. after a gap longer than the window, is a move of 0).
 * direction down: value = drop; up: value = rise; both: the larger.  The
 * condition is value >= threshold_pct (exactly at the threshold trips).
 * Checking the current tick against the window's extremes finds every
 * move of threshold_pct within window_ms, at the tick that completes it.
 *
 * How: two monotonic deques (window max, window min) in rings allocated at
 * init; each tick pushes once and pops at most what was pushed before, so
 * the cost is O(1) amortised, with no allocation per tick.
 *
 * Window size and memory, exact for every input: a deque keeps at most one
 * entry per distinct millisecond (a tick whose time equals the deque's
 * newest entry either replaces it, or is dominated by it: same expiry, no
 * better extreme), so it never holds more than window_ms + 1 entries,
 * whatever the tick rate.  The rings are sized to exactly that at init:
 * 2 x 16 bytes x (window_ms + 1), e.g. 1.9 MB for a one-minute window.
 * No tick is ever dropped or approximated.  To keep that memory bounded,
 * window_ms is at most DET_PRICE_MOVE_MAX_WINDOW_MS (one hour, 115 MB
 * worst case); init refuses a longer one with KERR_NUM_RANGE.
 *
 * Bad input (counted in stats): a price that is NaN, infinite or <= 0, or a
 * time earlier than the previous accepted tick's, is dropped and changes
 * nothing.  A time equal to the previous tick's is counted in dup_time and
 * used: two trades in the same millisecond are both real prices.
 */
#ifndef KEEPER_DET_PRICE_MOVE_H
#define KEEPER_DET_PRICE_MOVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keeper/config.h"
#include "keeper/detect.h"
#include "keeper/event.h"
#include "keeper/kerr.h"

#define DET_PRICE_MOVE_MAX_WINDOW_MS 3600000u

typedef struct {
	int64_t t;
	double p;
} det_pm_entry_t;

/* A fixed-capacity ring used as a deque. */
typedef struct {
	det_pm_entry_t *e;
	size_t cap, head, len;
} det_pm_deque_t;

typedef struct {
	uint32_t feed;            /* feed index this trigger watches */
	uint64_t window_ms;
	double threshold;         /* percent */
	config_direction_t direction;
	det_pm_deque_t max, min;
	bool has_last;
	int64_t last_ms;
	/* read-only results of the latest accepted tick */
	double value;             /* percent, as above */
	bool cond;                /* value >= threshold */
	double drop, rise;        /* percent, both directions */
	detect_stats_t stats;
	detect_trigger_t trig;
} det_price_move_t;

/*
 * From a price_move trigger (window_ms, threshold_pct, direction, confirm,
 * cooldown); feed is the index of cfg->feed in the config's feeds[].
 * Allocates the rings: KERR_NOMEM; KERR_ARG when cfg is not price_move or
 * its window or threshold is not > 0; KERR_NUM_RANGE when window_ms >
 * DET_PRICE_MOVE_MAX_WINDOW_MS.
 */
kerr_t det_price_move_init(det_price_move_t *d, const config_trigger_t *cfg,
			   uint32_t feed);
void det_price_move_release(det_price_move_t *d);

/* One tick.  Returns true when the trigger trips (*trip filled, may be
 * NULL).  O(1) amortised, no allocation. */
bool det_price_move_feed(det_price_move_t *d, int64_t t_ms, double price,
			 detect_trip_t *trip);

/* An event: EV_PRICE of this trigger's feed is fed (at its time_ms); every
 * other event is ignored (false). */
bool det_price_move_event(det_price_move_t *d, const event_t *ev,
			  detect_trip_t *trip);

/* Entries currently in the max / min deques (tests, bench). */
size_t det_price_move_depth(const det_price_move_t *d);

#endif
