/*
 * det_stale: the stale trigger.  Trips when a feed has been silent for
 * longer than after_ms: value = silence in ms (now - the feed's latest
 * tick), threshold = after_ms, condition value > after_ms ("longer than":
 * exactly after_ms is not yet stale).
 *
 * Silence is measured on keeper's own clock, never the feed's: a tick
 * counts at its recv_ms, and "now" is what the caller passes — the loop's
 * clock to det_stale_check() (call it as often as the resolution wanted,
 * e.g. every loop turn), or the time_ms of an EV_FEED_STALE the loop raised
 * for the feed (whose last_tick_ms is also taken as a tick).  Before the
 * first tick the silence runs from the start time given to init, so a feed
 * that never ticks goes stale too.
 *
 * Every evaluation (a check, EV_FEED_STALE, and each tick, where the
 * silence is 0) is fed to the trigger wrapper, so a tick ends a confirm run
 * and confirm_ticks counts evaluations.  EV_FEED_BACK is taken as a tick at
 * its last_tick_ms.
 *
 * Bad input (counted in stats): a tick whose price is NaN, infinite or <= 0
 * is not a sign of life (a feed sending garbage is not healthy) and is
 * dropped; a time earlier than the latest evaluation is dropped (backwards).
 * A tick at the same time as the latest one is counted in dup_time and used.
 */
#ifndef KEEPER_DET_STALE_H
#define KEEPER_DET_STALE_H

#include <stdbool.h>
#include <stdint.h>
#include "keeper/config.h"
#include "keeper/detect.h"
#include "keeper/event.h"
#include "keeper/kerr.h"

typedef struct {
	uint32_t feed;
	uint64_t after_ms;
	int64_t last_tick_ms;   /* latest tick, or the start time */
	int64_t last_eval_ms;   /* latest evaluation */
	/* read-only results of the latest evaluation */
	double value;           /* silence, ms */
	bool cond;
	detect_stats_t stats;
	detect_trigger_t trig;
} det_stale_t;

/* From a stale trigger; start_ms is when watching began (keeper's clock).
 * KERR_ARG when cfg is not stale or after_ms is 0.  No allocation. */
kerr_t det_stale_init(det_stale_t *d, const config_trigger_t *cfg,
		      uint32_t feed, int64_t start_ms);

/* A tick of the feed arrived at recv_ms; true when the trigger trips
 * (never, since a tick means silence 0, but kept uniform). */
bool det_stale_tick(det_stale_t *d, int64_t recv_ms, double price,
		    detect_trip_t *trip);

/* Judge the silence at now_ms; true when the trigger trips. */
bool det_stale_check(det_stale_t *d, int64_t now_ms, detect_trip_t *trip);

/* EV_PRICE (at recv_ms), EV_FEED_STALE and EV_FEED_BACK of this feed;
 * other events are ignored. */
bool det_stale_event(det_stale_t *d, const event_t *ev, detect_trip_t *trip);

#endif
