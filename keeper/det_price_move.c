/*
 * det_price_move: sliding-window max/min with monotonic deques in rings
 * that grow on demand, time taken at the resolution that bounds them
 * (det_price_move.h says why that bound is exact and what it costs).
 */
#include <stdlib.h>
#include <string.h>

#include "keeper/det_price_move.h"

/* floor(a / b) for b > 0, also for negative a. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if (a % b != 0 && a < 0)
		q--;
	return q;
}

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

static kerr_t dq_init(det_pm_deque_t *q, size_t limit)
{
	q->limit = limit;
	q->cap = limit < DET_PRICE_MOVE_MIN_ENTRIES ? limit : DET_PRICE_MOVE_MIN_ENTRIES;
	q->head = q->len = 0;
	q->e = malloc(q->cap * sizeof(det_pm_entry_t));
	return q->e ? KERR_OK : KERR_NOMEM;
}

/* Double the ring (to at most limit), unwrapping it to start at 0; false
 * when the allocator refuses. */
static bool dq_grow(det_pm_deque_t *q)
{
	size_t cap = q->cap > q->limit / 2 ? q->limit : 2 * q->cap;
	size_t first = q->cap - q->head;
	det_pm_entry_t *e = malloc(cap * sizeof(det_pm_entry_t));

	if (!e)
		return false;
	if (first > q->len)
		first = q->len;
	memcpy(e, q->e + q->head, first * sizeof(det_pm_entry_t));
	memcpy(e + first, q->e, (q->len - first) * sizeof(det_pm_entry_t));
	free(q->e);
	q->e = e;
	q->cap = cap;
	q->head = 0;
	return true;
}

/*
 * Push (cell, p) keeping the deque monotonic: for the max deque (sign +1)
 * entries are strictly decreasing in price front to back, for the min
 * deque (sign -1) strictly increasing.  An entry at most as extreme as the
 * new one can never be the extreme again (it expires first), so it goes.
 * When the newest remaining entry has the same cell, the new price is
 * dominated by it and is not stored, which is what bounds the deque to one
 * entry per cell of the window, so to q->limit: a full ring below the limit
 * can grow, and one at the limit cannot be full here.
 */
static void dq_push(det_price_move_t *d, det_pm_deque_t *q, int64_t cell,
		    double p, int sign)
{
	det_pm_entry_t *b;

	while (q->len) {
		double bp = dq_back(q)->p;
		if (sign > 0 ? bp > p : bp < p)
			break;
		q->len--;
	}
	if (q->len && dq_back(q)->cell == cell)
		return;
	if (q->len == q->cap && !dq_grow(q)) {
		/* The newest entry is more extreme than p (the loop above
		 * stopped at it), so taking p's expiry keeps every later
		 * extreme at least as extreme: moves can only look larger. */
		dq_back(q)->cell = cell;
		d->merged++;
		return;
	}
	q->len++;
	b = dq_back(q);
	b->cell = cell;
	b->p = p;
}

static void dq_expire(det_pm_deque_t *q, int64_t oldest)
{
	while (q->len && dq_at(q, 0)->cell < oldest)
		dq_pop_front(q);
}

kerr_t det_price_move_init(det_price_move_t *d, const config_trigger_t *cfg,
			   uint32_t feed)
{
	return det_price_move_init_cap(d, cfg, feed, DET_PRICE_MOVE_MAX_ENTRIES);
}

kerr_t det_price_move_init_cap(det_price_move_t *d, const config_trigger_t *cfg,
			       uint32_t feed, size_t max_entries)
{
	uint64_t w, steps;
	size_t limit;

	memset(d, 0, sizeof(*d));
	if (cfg->kind != CONFIG_TRIGGER_PRICE_MOVE || cfg->window_ms == 0 ||
	    !(cfg->threshold_pct > 0) || max_entries < 2)
		return KERR_ARG;
	w = cfg->window_ms;
	d->res_ms = w / (max_entries - 1) + (w % (max_entries - 1) != 0);
	if (d->res_ms == 0)
		d->res_ms = 1;
	/* A window spans at most ceil(w / res_ms) + 1 cells (<= max_entries):
	 * no deque ever needs more. */
	steps = w / d->res_ms + (w % d->res_ms != 0);
	limit = (size_t)steps + 1;
	if (dq_init(&d->max, limit) != KERR_OK || dq_init(&d->min, limit) != KERR_OK) {
		det_price_move_release(d);
		return KERR_NOMEM;
	}
	d->feed = feed;
	d->window_ms = w;
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

/* The cell of the window's oldest time, t - window_ms; a start before
 * INT64_MIN is taken as INT64_MIN, which no tick precedes. */
static int64_t oldest_cell(const det_price_move_t *d, int64_t t)
{
	int64_t lo;

	if (d->window_ms > (uint64_t)INT64_MAX || t < INT64_MIN + (int64_t)d->window_ms)
		lo = INT64_MIN;
	else
		lo = t - (int64_t)d->window_ms;
	return d->res_ms == 1 ? lo : floor_div(lo, (int64_t)d->res_ms);
}

bool det_price_move_feed(det_price_move_t *d, int64_t t_ms, double price,
			 detect_trip_t *trip)
{
	int64_t cell, oldest;
	double hi, lo;

	if (!detect_admit(&d->stats, &d->has_last, &d->last_ms, t_ms, price,
			  true))
		return false;

	cell = d->res_ms == 1 ? t_ms : floor_div(t_ms, (int64_t)d->res_ms);
	oldest = oldest_cell(d, t_ms);
	dq_expire(&d->max, oldest);
	dq_expire(&d->min, oldest);
	dq_push(d, &d->max, cell, price, 1);
	dq_push(d, &d->min, cell, price, -1);
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
