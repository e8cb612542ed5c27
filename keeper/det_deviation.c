/*
 * det_deviation: disagreement between two fresh feeds (det_deviation.h).
 */
#include <math.h>
#include <string.h>

#include "keeper/det_deviation.h"

kerr_t det_deviation_init(det_deviation_t *d, const config_trigger_t *cfg,
			  uint32_t feed_a, uint32_t feed_b)
{
	memset(d, 0, sizeof(*d));
	if (cfg->kind != CONFIG_TRIGGER_DEVIATION || feed_a == feed_b ||
	    !(cfg->threshold_pct > 0) || cfg->max_age_ms == 0)
		return KERR_ARG;
	d->feed[0] = feed_a;
	d->feed[1] = feed_b;
	d->threshold = cfg->threshold_pct;
	d->max_age_ms = cfg->max_age_ms;
	detect_trigger_init(&d->trig, cfg, DETECT_UNIT_PCT);
	return KERR_OK;
}

static bool at_most_old(int64_t now, int64_t t, uint64_t max_age)
{
	return t >= now || (uint64_t)now - (uint64_t)t <= max_age;
}

bool det_deviation_feed(det_deviation_t *d, unsigned which, int64_t t_ms,
			double price, detect_trip_t *trip)
{
	int64_t now;
	double lo;

	if (which > 1)
		return false;
	if (!detect_admit(&d->stats, &d->has[which], &d->time_ms[which], t_ms,
			  price, true))
		return false;
	d->price[which] = price;
	if (!d->has[0] || !d->has[1])
		return false;

	now = d->time_ms[0] > d->time_ms[1] ? d->time_ms[0] : d->time_ms[1];
	lo = d->price[0] < d->price[1] ? d->price[0] : d->price[1];
	d->value = fabs(d->price[0] - d->price[1]) / lo * 100.0;
	d->fresh = at_most_old(now, d->time_ms[0], d->max_age_ms) &&
		   at_most_old(now, d->time_ms[1], d->max_age_ms);
	d->cond = d->fresh && d->value >= d->threshold;
	return detect_trigger_feed(&d->trig, now, d->cond, d->value,
				   d->threshold, trip);
}

bool det_deviation_event(det_deviation_t *d, const event_t *ev,
			 detect_trip_t *trip)
{
	if (ev->kind != EV_PRICE)
		return false;
	if (ev->price.feed == d->feed[0])
		return det_deviation_feed(d, 0, ev->price.time_ms, ev->price.price, trip);
	if (ev->price.feed == d->feed[1])
		return det_deviation_feed(d, 1, ev->price.time_ms, ev->price.price, trip);
	return false;
}
