/*
 * det_ewma: EWMA of time-scaled squared log returns (formula in det_ewma.h).
 */
#include <math.h>
#include <string.h>

#include "keeper/det_ewma.h"

kerr_t det_ewma_init(det_ewma_t *d, const config_trigger_t *cfg, uint32_t feed)
{
	memset(d, 0, sizeof(*d));
	if (cfg->kind != CONFIG_TRIGGER_EWMA_VOL || !(cfg->lambda > 0) ||
	    !(cfg->lambda < 1) || !(cfg->threshold_pct > 0) || cfg->warmup == 0)
		return KERR_ARG;
	d->feed = feed;
	d->lambda = cfg->lambda;
	d->threshold = cfg->threshold_pct;
	d->warmup = cfg->warmup;
	detect_trigger_init(&d->trig, cfg, DETECT_UNIT_PCT_SQRT_MIN);
	return KERR_OK;
}

bool det_ewma_feed(det_ewma_t *d, int64_t t_ms, double price,
		   detect_trip_t *trip)
{
	bool first = !d->has_last;
	int64_t prev_ms = d->last_ms;
	double r, x;

	/* A return over zero time has no rate: a same-ms tick is dropped. */
	if (!detect_admit(&d->stats, &d->has_last, &d->last_ms, t_ms, price,
			  false))
		return false;
	if (first) {
		d->last_price = price;
		return false;
	}
	r = log(price / d->last_price);
	/* The difference is > 0; as a double it is exact below 2^53 ms. */
	x = r * r / ((double)((uint64_t)t_ms - (uint64_t)prev_ms) / 60000.0);
	d->var = d->returns == 0 ? x : d->lambda * d->var + (1.0 - d->lambda) * x;
	d->returns++;
	d->last_price = price;
	d->value = 100.0 * sqrt(d->var);
	d->cond = d->returns >= d->warmup && d->value >= d->threshold;
	return detect_trigger_feed(&d->trig, t_ms, d->cond, d->value,
				   d->threshold, trip);
}

bool det_ewma_event(det_ewma_t *d, const event_t *ev, detect_trip_t *trip)
{
	if (ev->kind != EV_PRICE || ev->price.feed != d->feed)
		return false;
	return det_ewma_feed(d, ev->price.time_ms, ev->price.price, trip);
}
