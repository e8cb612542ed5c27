/*
 * det_stale: silence of a feed on keeper's clock (det_stale.h).
 */
#include <string.h>

#include "keeper/det_stale.h"

kerr_t det_stale_init(det_stale_t *d, const config_trigger_t *cfg,
		      uint32_t feed, int64_t start_ms)
{
	memset(d, 0, sizeof(*d));
	if (cfg->kind != CONFIG_TRIGGER_STALE || cfg->after_ms == 0)
		return KERR_ARG;
	d->feed = feed;
	d->after_ms = cfg->after_ms;
	d->last_tick_ms = start_ms;
	d->last_eval_ms = start_ms;
	detect_trigger_init(&d->trig, cfg, DETECT_UNIT_MS);
	return KERR_OK;
}

static bool evaluate(det_stale_t *d, int64_t now_ms, detect_trip_t *trip)
{
	uint64_t silence = now_ms > d->last_tick_ms ?
		(uint64_t)now_ms - (uint64_t)d->last_tick_ms : 0;

	d->last_eval_ms = now_ms;
	d->value = (double)silence;
	d->cond = silence > d->after_ms;
	return detect_trigger_feed(&d->trig, now_ms, d->cond, d->value,
				   (double)d->after_ms, trip);
}

bool det_stale_tick(det_stale_t *d, int64_t recv_ms, double price,
		    detect_trip_t *trip)
{
	if (!detect_price_ok(price)) {
		d->stats.bad_value++;
		return false;
	}
	if (recv_ms < d->last_eval_ms) {
		d->stats.backwards++;
		return false;
	}
	if (recv_ms == d->last_tick_ms)
		d->stats.dup_time++;
	d->stats.accepted++;
	d->last_tick_ms = recv_ms;
	return evaluate(d, recv_ms, trip);
}

bool det_stale_check(det_stale_t *d, int64_t now_ms, detect_trip_t *trip)
{
	if (now_ms < d->last_eval_ms) {
		d->stats.backwards++;
		return false;
	}
	return evaluate(d, now_ms, trip);
}

bool det_stale_event(det_stale_t *d, const event_t *ev, detect_trip_t *trip)
{
	switch (ev->kind) {
	case EV_PRICE:
		if (ev->price.feed != d->feed)
			return false;
		return det_stale_tick(d, ev->price.recv_ms, ev->price.price, trip);
	case EV_FEED_STALE:
		if (ev->feed.feed != d->feed)
			return false;
		/* The loop saw a tick we may have missed (e.g. while this
		 * trigger was not yet set up); a later one is still news. */
		if (ev->feed.last_tick_ms > d->last_tick_ms &&
		    ev->feed.last_tick_ms <= ev->feed.time_ms)
			d->last_tick_ms = ev->feed.last_tick_ms;
		return det_stale_check(d, ev->feed.time_ms, trip);
	case EV_FEED_BACK:
		if (ev->feed.feed != d->feed || ev->feed.last_tick_ms < 0)
			return false;
		d->stats.accepted++;
		if (ev->feed.last_tick_ms > d->last_tick_ms)
			d->last_tick_ms = ev->feed.last_tick_ms;
		/* Judged at the tick, or at the latest evaluation if that was
		 * later (the tick still ends the silence from then on). */
		return det_stale_check(d, ev->feed.last_tick_ms > d->last_eval_ms ?
				       ev->feed.last_tick_ms : d->last_eval_ms, trip);
	default:
		return false;
	}
}
