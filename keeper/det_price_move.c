/*
 * det_price_move: sliding-window max/min with monotonic deques in rings
 * sized once from window_ms (det_price_move.h says why that size is exact).
 */
#include <stdlib.h>
#include <string.h>

#include "keeper/det_price_move.h"

static det_pm_entry_t *dq_at(det_pm_deque_t *q, size_t i)
{
	size_t k = q->head + i;
	return &q->e[k >= q->cap ? k - q->cap : k];
}

static det_pm_entry_t *dq_back(det_pm_deque_t *q)
{
	return dq_at(q, q->len - 1);
}

static void dq_pop_front(det_pm_deque_t *q)
{
	q->head = q->head + 1 == q->cap ? 0 : q->head + 1;
	q->len--;
}

/*
 * Push (t, p) keeping the deque monotonic: for the max deque (sign +1)
 * entries are strictly decreasing in price front to back, for the min
 * deque (sign -1) strictly increasing.  An entry at most as extreme as the
 * new one can never be the extreme again (it expires first), so it goes.
 * When the newest remaining entry has the same time, the new price is
 * dominated by it and is not stored, which is what bounds the deque to one
 * entry per millisecond.
 */
static void dq_push(det_pm_deque_t *q, int64_t t, double p, int sign)
{
	det_pm_entry_t *b;

	while (q->len) {
		double bp = dq_back(q)->p;
		if (sign > 0 ? bp > p : bp < p)
			break;
		q->len--;
	}
	if (q->len && dq_back(q)->t == t)
		return;
	/* Cannot overflow: entries have distinct times in [t - window, t]. */
	q->len++;
	b = dq_back(q);
	b->t = t;
	b->p = p;
}

static void dq_expire(det_pm_deque_t *q, int64_t oldest)
{
	while (q->len && dq_at(q, 0)->t < oldest)
		dq_pop_front(q);
}

kerr_t det_price_move_init(det_price_move_t *d, const config_trigger_t *cfg,
			   uint32_t feed)
{
	size_t cap;

	memset(d, 0, sizeof(*d));
	if (cfg->kind != CONFIG_TRIGGER_PRICE_MOVE || cfg->window_ms == 0 ||
	    !(cfg->threshold_pct > 0))
		return KERR_ARG;
	if (cfg->window_ms > DET_PRICE_MOVE_MAX_WINDOW_MS)
		return KERR_NUM_RANGE;
	cap = (size_t)cfg->window_ms + 1;
	d->max.e = calloc(cap, sizeof(det_pm_entry_t));
	d->min.e = calloc(cap, sizeof(det_pm_entry_t));
	if (!d->max.e || !d->min.e) {
		det_price_move_release(d);
		return KERR_NOMEM;
	}
	d->max.cap = d->min.cap = cap;
	d->feed = feed;
	d->window_ms = cfg->window_ms;
	d->threshold = cfg->threshold_pct;
	d->direction = cfg->direction;
	detect_trigger_init(&d->trig, cfg, DETECT_UNIT_PCT);
	return KERR_OK;
}

void det_price_move_release(det_price_move_t *d)
{
	free(d->max.e);
	free(d->min.e);
	d->max.e = d->min.e = NULL;
	d->max.cap = d->min.cap = d->max.len = d->min.len = 0;
}

bool det_price_move_feed(det_price_move_t *d, int64_t t_ms, double price,
			 detect_trip_t *trip)
{
	double hi, lo;

	if (!detect_admit(&d->stats, &d->has_last, &d->last_ms, t_ms, price,
			  true))
		return false;

	/* window_ms <= one hour, so the subtraction only overflows for times
	 * within an hour of INT64_MIN, which no epoch-ms clock produces. */
	dq_expire(&d->max, t_ms - (int64_t)d->window_ms);
	dq_expire(&d->min, t_ms - (int64_t)d->window_ms);
	dq_push(&d->max, t_ms, price, 1);
	dq_push(&d->min, t_ms, price, -1);
	hi = d->max.e[d->max.head].p;
	lo = d->min.e[d->min.head].p;
	d->drop = (hi - price) / hi * 100.0;
	d->rise = (price - lo) / lo * 100.0;
	switch (d->direction) {
	case CONFIG_DIR_DOWN: d->value = d->drop; break;
	case CONFIG_DIR_UP: d->value = d->rise; break;
	case CONFIG_DIR_BOTH:
	default: d->value = d->drop > d->rise ? d->drop : d->rise; break;
	}
	d->cond = d->value >= d->threshold;
	return detect_trigger_feed(&d->trig, t_ms, d->cond, d->value,
				   d->threshold, trip);
}

bool det_price_move_event(det_price_move_t *d, const event_t *ev,
			  detect_trip_t *trip)
{
	if (ev->kind != EV_PRICE || ev->price.feed != d->feed)
		return false;
	return det_price_move_feed(d, ev->price.time_ms, ev->price.price, trip);
}

size_t det_price_move_depth(const det_price_move_t *d)
{
	return d->max.len + d->min.len;
}
