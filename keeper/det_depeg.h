/*
 * det_depeg: the depeg trigger.  Trips when a feed that should sit at a
 * fixed peg (a stablecoin at 1.0) has been off it by threshold_pct or more,
 * in the configured direction, for at least hold_ms.
 *
 * Value and threshold are percent of the peg:
 *   down: value = (peg - p) / peg * 100     (below the peg)
 *   up:   value = (p - peg) / peg * 100     (above the peg)
 *   both: value = |p - peg| / peg * 100
 * so value is negative on the wrong side for down/up.  The price is "off"
 * when value >= threshold_pct (exactly at the threshold counts).  Hold:
 * the condition is true at a tick when the price has been off at every
 * tick since a tick at least hold_ms earlier (the first off tick of the
 * current stretch; an on-peg tick ends the stretch).  hold_ms = 0: off is
 * enough.  confirm_ms/confirm_ticks then apply on top, as for every kind.
 *
 * Bad input (counted in stats): NaN, infinite or <= 0 prices and times
 * earlier than the previous accepted tick's are dropped.  An equal time is
 * counted in dup_time and used (a later price at the same millisecond).
 */
#ifndef KEEPER_DET_DEPEG_H
#define KEEPER_DET_DEPEG_H

#include <stdbool.h>
#include <stdint.h>
#include "keeper/config.h"
#include "keeper/detect.h"
#include "keeper/event.h"
#include "keeper/kerr.h"

typedef struct {
	uint32_t feed;
	double peg;
	double threshold;       /* percent */
	config_direction_t direction;
	uint64_t hold_ms;
	bool has_last;
	int64_t last_ms;
	bool off;               /* off-peg stretch under way */
	int64_t off_since_ms;
	/* read-only results of the latest accepted tick */
	double value;           /* percent */
	bool cond;              /* off for at least hold_ms */
	detect_stats_t stats;
	detect_trigger_t trig;
} det_depeg_t;

/* From a depeg trigger.  KERR_ARG when cfg is not depeg, peg is not finite
 * and > 0, or threshold not in (0, 100).  No allocation. */
kerr_t det_depeg_init(det_depeg_t *d, const config_trigger_t *cfg, uint32_t feed);

bool det_depeg_feed(det_depeg_t *d, int64_t t_ms, double price,
		    detect_trip_t *trip);

/* EV_PRICE of this trigger's feed is fed (at its time_ms); others ignored. */
bool det_depeg_event(det_depeg_t *d, const event_t *ev, detect_trip_t *trip);

#endif
