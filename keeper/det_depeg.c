/*
 * det_depeg: distance from a fixed peg, held for hold_ms (det_depeg.h).
 */
#include <math.h>
#include <string.h>

#include "keeper/det_depeg.h"

kerr_t det_depeg_init(det_depeg_t *d, const config_trigger_t *cfg, uint32_t feed)
{
	memset(d, 0, sizeof(*d));
	if (cfg->kind != CONFIG_TRIGGER_DEPEG || !detect_price_ok(cfg->peg) ||
	    !(cfg->threshold_pct > 0) || !(cfg->threshold_pct < 100))
		return KERR_ARG;
	d->feed = feed;
	d->peg = cfg->peg;
	d->threshold = cfg->threshold_pct;
	d->direction = cfg->direction;
	d->hold_ms = cfg->hold_ms;
	detect_trigger_init(&d->trig, cfg, DETECT_UNIT_PCT);
	return KERR_OK;
}

bool det_depeg_feed(det_depeg_t *d, int64_t t_ms, double price,
		    detect_trip_t *trip)
{
	double diff;

	if (!detect_admit(&d->stats, &d->has_last, &d->last_ms, t_ms, price,
			  true))
		return false;

	switch (d->direction) {
	case CONFIG_DIR_DOWN: diff = d->peg - price; break;
	case CONFIG_DIR_UP: diff = price - d->peg; break;
	case CONFIG_DIR_BOTH:
	default: diff = fabs(price - d->peg); break;
	}
	d->value = diff / d->peg * 100.0;
	if (d->value >= d->threshold) {
		if (!d->off) {
			d->off = true;
			d->off_since_ms = t_ms;
		}
	} else {
		d->off = false;
	}
	d->cond = d->off &&
		  (uint64_t)t_ms - (uint64_t)d->off_since_ms >= d->hold_ms;
	return detect_trigger_feed(&d->trig, t_ms, d->cond, d->value,
				   d->threshold, trip);
}

bool det_depeg_event(det_depeg_t *d, const event_t *ev, detect_trip_t *trip)
{
	if (ev->kind != EV_PRICE || ev->price.feed != d->feed)
		return false;
	return det_depeg_feed(d, ev->price.time_ms, ev->price.price, trip);
}
