/*
 * det_price_move: the price_move trigger.  Trips when a feed's price has
 * moved by threshold_pct or more within window_ms: the current tick's drop
 * from the highest price in the window and/or its rise from the lowest.
 *
 * Value and threshold are percent:
 *   drop = (max - p) / max * 100      rise = (p - min) / min * 100
 * where p is the current tick and max/min are over the window, which holds
 * the ticks with time in [t - window_ms, t] (the current one included, so a
 * lone tick, e.g. after a gap longer than the window, is a move of 0; for
 * windows over 4.66 hours its start is rounded down to res_ms, below).
 * direction down: value = drop; up: value = rise; both: the larger.  The
 * condition is value >= threshold_pct (exactly at the threshold trips).
 * Checking the current tick against the window's extremes finds every
 * move of threshold_pct within window_ms, at the tick that completes it.
 *
 * How: two monotonic deques (window max, window min) in rings; each tick
 * pushes once and pops at most what was pushed before, so the cost is O(1)
 * amortised.
 *
 * Any window_ms, and memory for what the ticks need.  A deque keeps at most
 * one entry per distinct time in the window (a tick whose time equals the
 * deque's newest entry either replaces it, or is dominated by it: same
 * expiry, no better extreme), so however fast the ticks come it never holds
 * more than window_ms + 1 entries, and in practice far fewer (a random walk
 * with a million ticks in the window keeps about a thousand; only a price
 * moving one way at every millisecond of the window fills it).  The rings
 * therefore start at
 * DET_PRICE_MOVE_MIN_ENTRIES and double when full: a long window initialises
 * cheaply, memory follows the deepest deque seen (16 bytes an entry), and
 * once the deques have reached their depth no tick allocates.
 *
 * The hard cap, and why no tick is refused for it.  A deque never holds more
 * than max_entries (DET_PRICE_MOVE_MAX_ENTRIES, 2^24 = 256 MB per deque, by
 * default), and no tick is ever refused or dropped for it: instead time is
 * taken at a resolution res_ms = max(1, ceil(window_ms / (max_entries -
 * 1))), fixed at init.  With it, the window at a tick of time t holds the
 * ticks whose time s has floor(s / res_ms) >= floor((t - window_ms) /
 * res_ms): the window [t - window_ms, t] stretched back to a multiple of
 * res_ms, by less than res_ms.  A deque then holds at most one entry per
 * res_ms step of the window, so at most ceil(window_ms / res_ms) + 1 <=
 * max_entries entries, whatever the input.  Up to max_entries - 1 ms (4.66
 * hours by default) res_ms is 1 and the window is exactly [t - window_ms,
 * t]; 6 hours has res_ms 2, 24 hours 6, 30 days 155.  The stretch only
 * ever adds older ticks, so it can make a move larger, never hide one.
 *
 * A growth the allocator refuses does not lose the tick either: it is
 * merged into the deque's newest entry, which keeps its (more extreme)
 * price and takes the tick's expiry, so that price stays in the window
 * longer than it should: again larger moves, never a hidden one.  Counted
 * in `merged`.
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

/* Entries each deque starts with, and the default hard cap on them. */
#define DET_PRICE_MOVE_MIN_ENTRIES 64u
#define DET_PRICE_MOVE_MAX_ENTRIES (1u << 24)


typedef struct {
	int64_t cell;             /* floor(time / res_ms): the time when
				     res_ms is 1 */
	double p;
} det_pm_entry_t;

/* A ring used as a deque; it grows (by doubling, to at most `limit`). */
typedef struct {
	det_pm_entry_t *e;
	size_t cap, head, len;
	size_t limit;             /* the most entries it can ever need */
} det_pm_deque_t;

typedef struct {
	uint32_t feed;            /* feed index this trigger watches */
	uint64_t window_ms;
	uint64_t res_ms;          /* time resolution (above): 1 unless the
				     window is longer than max_entries - 1 ms */
	uint64_t merged;          /* ticks merged because a deque could not
				     grow (out of memory) */
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
 * cooldown); feed is the index of cfg->feed in the config's feeds[].  Any
 * window_ms > 0 is accepted.  Allocates the rings at their starting size:
 * KERR_NOMEM; KERR_ARG when cfg is not price_move or its window or
 * threshold is not > 0.  The same as det_price_move_init_cap() with
 * DET_PRICE_MOVE_MAX_ENTRIES.
 */
kerr_t det_price_move_init(det_price_move_t *d, const config_trigger_t *cfg,
			   uint32_t feed);
/* The same with another hard cap on the entries of each deque (>= 2, else
 * KERR_ARG): a smaller cap trades memory for a coarser res_ms. */
kerr_t det_price_move_init_cap(det_price_move_t *d, const config_trigger_t *cfg,
			       uint32_t feed, size_t max_entries);
void det_price_move_release(det_price_move_t *d);

/* One tick.  Returns true when the trigger trips (*trip filled, may be
 * NULL).  O(1) amortised; allocates only while a deque is deeper than it
 * has ever been (doubling its ring). */
bool det_price_move_feed(det_price_move_t *d, int64_t t_ms, double price,
			 detect_trip_t *trip);

/* An event: EV_PRICE of this trigger's feed is fed (at its time_ms); every
 * other event is ignored (false). */
bool det_price_move_event(det_price_move_t *d, const event_t *ev,
			  detect_trip_t *trip);

/* Entries currently in the max / min deques (tests, bench). */
size_t det_price_move_depth(const det_price_move_t *d);

#endif
