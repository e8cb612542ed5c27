/*
 * engine: the detectors of one config, their routing tables and the
 * time-driven evaluations (rules in engine.h).
 *
 * Why tables: an event must reach its detectors in O(1) whatever the
 * config, so everything a lookup needs is resolved once, at engine_new():
 * feed pointers become indexes, each feed and each watch gets the list of
 * triggers it feeds (compressed rows: an offset array and one entry
 * array), and token addresses go into an open-addressing table, so a log
 * costs one hash probe and no name is ever compared per event.  Entries
 * are filled in trigger order, which is what makes the order of trips
 * within one event the config's order.
 */
#include <stdlib.h>
#include <string.h>

#include "keeper/det_depeg.h"
#include "keeper/det_deviation.h"
#include "keeper/det_ewma.h"
#include "keeper/det_outflow.h"
#include "keeper/det_price_move.h"
#include "keeper/det_stale.h"
#include "keeper/engine.h"

/* One routing entry: a trigger, and which of its inputs this is
 * (deviation: feeds[0] or feeds[1]). */
typedef struct {
	uint16_t trig;
	uint8_t which;
} route_t;

/* Rows of routes by key (feed index, watch index, token slot). */
typedef struct {
	uint32_t *off;      /* nkeys + 1 */
	route_t *ent;
	size_t nkeys;
} rows_t;

/* A token address in the log table; its routes are row `row` of logs. */
typedef struct {
	bool used;
	addr_t key;
	uint32_t row;
} tok_slot_t;

/* The latest tick of a feed, on both clocks: the feed's own (time_ms) and
 * the engine's (recv_ms), to place "now" on the feed's clock. */
typedef struct {
	bool has;
	int64_t time_ms;
	int64_t recv_ms;
} feed_clock_t;

typedef struct {
	const config_trigger_t *cfg;
	bool external;
	bool ready;                 /* detector initialised (to release) */
	uint32_t feed[2];
	size_t watch;
	union {
		det_price_move_t pm;
		det_ewma_t ew;
		det_deviation_t dv;
		det_depeg_t dp;
		det_stale_t st;
		det_outflow_t of;
		detect_trigger_t ext;
	} d;
	detect_trigger_t *asset_trig;   /* outflow: one wrapper per asset */
	size_t nassets;
	uint64_t live_mask;             /* outflow: bit a set when asset a had
					   outflow in its window at its latest
					   evaluation (engine_next_due) */
	uint64_t routed, timed, errors;
} etrig_t;

struct engine {
	const config_keeper_t *cfg;
	engine_trip_fn fn;
	void *ctx;
	etrig_t *trig;
	size_t ntrig;
	feed_clock_t *feed_clock;
	size_t nfeeds;
	rows_t price;        /* by feed: every trigger a tick of it feeds */
	rows_t feedev;       /* by feed: stale triggers (EV_FEED_STALE/BACK) */
	rows_t by_watch;     /* by watch: outflow triggers */
	rows_t logs;         /* by token slot: outflow triggers */
	tok_slot_t *tok;
	size_t tok_mask;
	engine_want_t *wants;
	size_t nwants;
	int64_t now;
	engine_stats_t stats;
};

/* ---- building ----------------------------------------------------------- */

static size_t feed_index(const config_keeper_t *cfg, const config_feed_t *f)
{
	return f ? (size_t)(f - cfg->feeds) : SIZE_MAX;
}

static uint64_t addr_hash(const addr_t *a)
{
	uint64_t x;

	memcpy(&x, a->b + 4, sizeof x);
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ull;
	x ^= x >> 29;
	return x;
}

/* The slot of token a: its own, or the empty one where it belongs. */
static size_t tok_find(const engine_t *e, const addr_t *a)
{
	size_t i = (size_t)addr_hash(a) & e->tok_mask;

	while (e->tok[i].used && !addr_eq(&e->tok[i].key, a))
		i = (i + 1) & e->tok_mask;
	return i;
}

/*
 * Rows are filled in two passes over the triggers: pass 0 counts entries
 * per key, then offsets are summed and the entries allocated, pass 1 puts
 * each entry at its key's cursor.
 */
static void rows_add(rows_t *r, uint32_t *cursor, int pass, size_t key,
		     size_t trig, unsigned which)
{
	if (pass == 0) {
		r->off[key + 1]++;
		return;
	}
	r->ent[cursor[key]].trig = (uint16_t)trig;
	r->ent[cursor[key]].which = (uint8_t)which;
	cursor[key]++;
}

static kerr_t rows_alloc(rows_t *r, size_t nkeys)
{
	r->nkeys = nkeys;
	r->off = calloc(nkeys + 1, sizeof *r->off);
	return r->off ? KERR_OK : KERR_NOMEM;
}

/* After pass 0: offsets, entries, and the cursors for pass 1. */
static kerr_t rows_mid(rows_t *r, uint32_t **cursor)
{
	for (size_t k = 0; k < r->nkeys; k++)
		r->off[k + 1] += r->off[k];
	r->ent = calloc(r->off[r->nkeys] ? r->off[r->nkeys] : 1, sizeof *r->ent);
	*cursor = malloc((r->nkeys ? r->nkeys : 1) * sizeof **cursor);
	if (!r->ent || !*cursor)
		return KERR_NOMEM;
	memcpy(*cursor, r->off, r->nkeys * sizeof **cursor);
	return KERR_OK;
}

static void rows_free(rows_t *r)
{
	free(r->off);
	free(r->ent);
}

/* Each trigger's entries into the four row sets, for one pass. */
static void route_pass(engine_t *e, int pass, uint32_t *cur_price,
		       uint32_t *cur_feedev, uint32_t *cur_watch,
		       uint32_t *cur_logs)
{
	for (size_t i = 0; i < e->ntrig; i++) {
		const etrig_t *t = &e->trig[i];
		const config_watch_t *w;

		if (t->external)
			continue;
		switch (t->cfg->kind) {
		case CONFIG_TRIGGER_PRICE_MOVE:
		case CONFIG_TRIGGER_EWMA_VOL:
		case CONFIG_TRIGGER_DEPEG:
			rows_add(&e->price, cur_price, pass, t->feed[0], i, 0);
			break;
		case CONFIG_TRIGGER_STALE:
			rows_add(&e->price, cur_price, pass, t->feed[0], i, 0);
			rows_add(&e->feedev, cur_feedev, pass, t->feed[0], i, 0);
			break;
		case CONFIG_TRIGGER_DEVIATION:
			rows_add(&e->price, cur_price, pass, t->feed[0], i, 0);
			rows_add(&e->price, cur_price, pass, t->feed[1], i, 1);
			break;
		case CONFIG_TRIGGER_OUTFLOW:
			rows_add(&e->by_watch, cur_watch, pass, t->watch, i, 0);
			w = t->cfg->watch;
			for (size_t k = 0; k < w->ntokens; k++) {
				size_t s = tok_find(e, &w->tokens[k]);

				if (pass == 0 && !e->tok[s].used) {
					e->tok[s].used = true;
					e->tok[s].key = w->tokens[k];
					e->tok[s].row = (uint32_t)e->logs.nkeys++;
				}
				rows_add(&e->logs, cur_logs, pass, e->tok[s].row, i, 0);
			}
			break;
		default:
			break;
		}
	}
}

static kerr_t build_routes(engine_t *e)
{
	const config_keeper_t *cfg = e->cfg;
	uint32_t *cp = NULL, *cf = NULL, *cw = NULL, *cl = NULL;
	size_t ntok = 0, cap = 16;
	kerr_t err;

	for (size_t i = 0; i < e->ntrig; i++)
		if (!e->trig[i].external && e->trig[i].cfg->kind == CONFIG_TRIGGER_OUTFLOW)
			ntok += e->trig[i].cfg->watch->ntokens;
	while (cap < 2 * ntok)
		cap *= 2;
	e->tok = calloc(cap, sizeof *e->tok);
	e->tok_mask = cap - 1;
	if (!e->tok)
		return KERR_NOMEM;
	if ((err = rows_alloc(&e->price, cfg->nfeeds)) ||
	    (err = rows_alloc(&e->feedev, cfg->nfeeds)) ||
	    (err = rows_alloc(&e->by_watch, cfg->nwatch)))
		return err;
	/* The token rows are numbered as pass 0 meets them, at most ntok. */
	e->logs.off = calloc(ntok + 1, sizeof *e->logs.off);
	if (!e->logs.off)
		return KERR_NOMEM;
	e->logs.nkeys = 0;
	route_pass(e, 0, NULL, NULL, NULL, NULL);
	if (!(err = rows_mid(&e->price, &cp)) &&
	    !(err = rows_mid(&e->feedev, &cf)) &&
	    !(err = rows_mid(&e->by_watch, &cw)) &&
	    !(err = rows_mid(&e->logs, &cl)))
		route_pass(e, 1, cp, cf, cw, cl);
	free(cp);
	free(cf);
	free(cw);
	free(cl);
	return err;
}

/* One want per asset of every watch that some outflow trigger watches. */
static kerr_t build_wants(engine_t *e)
{
	const config_keeper_t *cfg = e->cfg;
	size_t n = 0;

	for (int pass = 0; pass < 2; pass++) {
		n = 0;
		for (size_t w = 0; w < cfg->nwatch; w++) {
			const config_watch_t *cw = &cfg->watch[w];

			if (e->by_watch.off[w + 1] == e->by_watch.off[w])
				continue;
			for (size_t a = 0; a <= cw->ntokens; a++, n++) {
				engine_want_t *x;

				if (pass == 0)
					continue;
				x = &e->wants[n];
				x->watch = w;
				x->asset = a;
				x->holder = cw->address;
				x->is_token = a > 0;
				if (a > 0)
					x->token = cw->tokens[a - 1];
			}
		}
		if (pass == 0 && !(e->wants = calloc(n ? n : 1, sizeof *e->wants)))
			return KERR_NOMEM;
	}
	e->nwants = n;
	return KERR_OK;
}

/* The detector of trigger i (or its external wrapper). */
static kerr_t init_trigger(engine_t *e, size_t i, const engine_opts_t *o)
{
	etrig_t *t = &e->trig[i];
	const config_trigger_t *c = &e->cfg->triggers[i];
	det_outflow_cfg_t ocfg;
	kerr_t err;

	t->cfg = c;
	t->feed[0] = (uint32_t)feed_index(e->cfg, c->feed);
	switch (c->kind) {
	case CONFIG_TRIGGER_PRICE_MOVE:
		err = det_price_move_init(&t->d.pm, c, t->feed[0]);
		break;
	case CONFIG_TRIGGER_EWMA_VOL:
		err = det_ewma_init(&t->d.ew, c, t->feed[0]);
		break;
	case CONFIG_TRIGGER_DEPEG:
		err = det_depeg_init(&t->d.dp, c, t->feed[0]);
		break;
	case CONFIG_TRIGGER_STALE:
		err = det_stale_init(&t->d.st, c, t->feed[0], o->start_ms);
		break;
	case CONFIG_TRIGGER_DEVIATION:
		t->feed[0] = (uint32_t)feed_index(e->cfg, c->feeds[0]);
		t->feed[1] = (uint32_t)feed_index(e->cfg, c->feeds[1]);
		err = det_deviation_init(&t->d.dv, c, t->feed[0], t->feed[1]);
		break;
	case CONFIG_TRIGGER_OUTFLOW:
		if (!c->watch)
			return KERR_ARG;
		t->watch = (size_t)(c->watch - e->cfg->watch);
		err = det_outflow_cfg_from_trigger(&ocfg, c, o->min_block_ms,
						   o->outflow_max_logs);
		if (!err)
			err = det_outflow_init(&t->d.of, &ocfg);
		if (err)
			return err;
		t->ready = true;
		t->nassets = det_outflow_nassets(&t->d.of);
		if (!(t->asset_trig = calloc(t->nassets, sizeof *t->asset_trig)))
			return KERR_NOMEM;
		for (size_t a = 0; a < t->nassets; a++)
			detect_trigger_init(&t->asset_trig[a], c, DETECT_UNIT_PCT);
		return KERR_OK;
	default:
		/* mempool, and kinds added after this file: the host
		 * evaluates them (engine_external). */
		t->external = true;
		detect_trigger_init(&t->d.ext, c, DETECT_UNIT_PCT);
		err = KERR_OK;
		break;
	}
	if (!err)
		t->ready = true;
	/* A feed that is not in the config's array cannot be routed to. */
	if (!err && !t->external && c->kind != CONFIG_TRIGGER_OUTFLOW &&
	    (t->feed[0] >= e->cfg->nfeeds ||
	     (c->kind == CONFIG_TRIGGER_DEVIATION && t->feed[1] >= e->cfg->nfeeds)))
		err = KERR_ARG;
	return err;
}

static void release_trigger(etrig_t *t)
{
	if (!t->ready || t->external)
		return;
	switch (t->cfg->kind) {
	case CONFIG_TRIGGER_PRICE_MOVE:
		det_price_move_release(&t->d.pm);
		break;
	case CONFIG_TRIGGER_OUTFLOW:
		det_outflow_release(&t->d.of);
		break;
	default:
		break;
	}
	free(t->asset_trig);
	t->asset_trig = NULL;
	t->ready = false;
}

void engine_free(engine_t *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->ntrig; i++)
		release_trigger(&e->trig[i]);
	free(e->trig);
	free(e->feed_clock);
	rows_free(&e->price);
	rows_free(&e->feedev);
	rows_free(&e->by_watch);
	rows_free(&e->logs);
	free(e->tok);
	free(e->wants);
	free(e);
}

kerr_t engine_new(const config_keeper_t *cfg, const engine_opts_t *opts,
		  engine_trip_fn fn, void *ctx, engine_t **out, size_t *bad)
{
	engine_opts_t o = { 0, 0, 0 };
	engine_t *e;
	kerr_t err = KERR_OK;

	if (bad)
		*bad = SIZE_MAX;
	if (out)
		*out = NULL;
	if (!cfg || !out || cfg->ntriggers > CONFIG_MAX_TRIGGERS ||
	    cfg->nfeeds > CONFIG_MAX_FEEDS || cfg->nwatch > CONFIG_MAX_WATCH)
		return KERR_ARG;
	if (opts)
		o = *opts;
	if (!o.min_block_ms)
		o.min_block_ms = ENGINE_MIN_BLOCK_MS_DEFAULT;
	if (!o.outflow_max_logs)
		o.outflow_max_logs = ENGINE_OUTFLOW_LOGS_DEFAULT;
	if (!(e = calloc(1, sizeof *e)))
		return KERR_NOMEM;
	e->cfg = cfg;
	e->fn = fn;
	e->ctx = ctx;
	e->now = o.start_ms;
	e->ntrig = cfg->ntriggers;
	e->nfeeds = cfg->nfeeds;
	e->trig = calloc(e->ntrig ? e->ntrig : 1, sizeof *e->trig);
	e->feed_clock = calloc(e->nfeeds ? e->nfeeds : 1, sizeof *e->feed_clock);
	if (!e->trig || !e->feed_clock) {
		engine_free(e);
		return KERR_NOMEM;
	}
	for (size_t i = 0; i < e->ntrig; i++) {
		if ((err = init_trigger(e, i, &o))) {
			if (bad && err != KERR_NOMEM)
				*bad = i;
			engine_free(e);
			return err;
		}
	}
	if ((err = build_routes(e)) || (err = build_wants(e))) {
		engine_free(e);
		return err;
	}
	*out = e;
	return KERR_OK;
}

/* ---- evaluation --------------------------------------------------------- */

static void deliver(engine_t *e, size_t i, const detect_trip_t *trip)
{
	config_trigger_kind_t k = e->trig[i].cfg->kind;

	e->stats.trips++;
	if ((size_t)k < CONFIG_TRIGGER_KINDS)
		e->stats.kind_trips[k]++;
	if (e->fn)
		e->fn(e->ctx, i, trip);
}

static void note_routed(engine_t *e, etrig_t *t)
{
	config_trigger_kind_t k = t->cfg->kind;

	t->routed++;
	if ((size_t)k < CONFIG_TRIGGER_KINDS)
		e->stats.kind_routed[k]++;
}

/* Move the engine clock; false when now_ms is behind it (counted). */
static bool clock_at(engine_t *e, int64_t now_ms)
{
	if (now_ms < e->now) {
		e->stats.time_backwards++;
		return false;
	}
	e->now = now_ms;
	return true;
}

/*
 * A time-driven evaluation of a wrapper: made only when it can change
 * something, so that a condition that keeps holding inside its cooldown
 * does not count one suppressed trip per timer call, and a false
 * condition after a false one costs nothing.
 */
static bool timed_feed(detect_trigger_t *tr, int64_t t, bool cond,
		       double value, double threshold, detect_trip_t *trip)
{
	if (tr->has_time && t < tr->last_ms)
		return false;
	if (!cond && !tr->running)
		return false;
	if (cond && tr->running && tr->has_tripped && t >= tr->last_trip_ms &&
	    (uint64_t)t - (uint64_t)tr->last_trip_ms < tr->cooldown_ms)
		return false;
	return detect_trigger_feed(tr, t, cond, value, threshold, trip);
}

static double u256_as_double(const u256_t *a)
{
	uint8_t b[32];
	double d = 0;

	u256_to_be(a, b);
	for (size_t i = 0; i < 32; i++)
		d = d * 256.0 + b[i];
	return d;
}

/* Judge one asset of outflow trigger i and feed its wrapper (timed: only
 * when that can change something).  Returns 1 on a trip. */
static size_t outflow_eval(engine_t *e, size_t i, size_t a, bool timed)
{
	etrig_t *t = &e->trig[i];
	det_outflow_result_t res;
	detect_trip_t trip;
	double value = 0;
	int64_t at = det_outflow_now(&t->d.of);
	bool hit;

	if (det_outflow_eval(&t->d.of, a, &res) != KERR_OK)
		return 0;
	if (u256_is_zero(&res.outflow))
		t->live_mask &= ~((uint64_t)1 << a);
	else
		t->live_mask |= (uint64_t)1 << a;
	if (res.has_base && !u256_is_zero(&res.base))
		value = u256_as_double(&res.outflow) / u256_as_double(&res.base) * 100.0;
	if (timed)
		hit = timed_feed(&t->asset_trig[a], at, res.tripped, value,
				 res.threshold_pct, &trip);
	else
		hit = detect_trigger_feed(&t->asset_trig[a], at, res.tripped, value,
					  res.threshold_pct, &trip);
	if (!hit)
		return 0;
	trip.has_amount = true;
	trip.amount = res.outflow;
	trip.has_token = true;
	trip.token = res.token;
	deliver(e, i, &trip);
	return 1;
}

/* A tick of feed f to trigger i (route r). */
static bool price_to(etrig_t *t, const route_t *r, const event_price_t *p,
		     detect_trip_t *trip)
{
	switch (t->cfg->kind) {
	case CONFIG_TRIGGER_PRICE_MOVE:
		return det_price_move_feed(&t->d.pm, p->time_ms, p->price, trip);
	case CONFIG_TRIGGER_EWMA_VOL:
		return det_ewma_feed(&t->d.ew, p->time_ms, p->price, trip);
	case CONFIG_TRIGGER_DEPEG:
		return det_depeg_feed(&t->d.dp, p->time_ms, p->price, trip);
	case CONFIG_TRIGGER_DEVIATION:
		return det_deviation_feed(&t->d.dv, r->which, p->time_ms, p->price,
					  trip);
	case CONFIG_TRIGGER_STALE:
		/* Silence is measured on keeper's clock: the arrival. */
		return det_stale_tick(&t->d.st, p->recv_ms, p->price, trip);
	default:
		return false;
	}
}

static size_t on_price(engine_t *e, const event_price_t *p, size_t *consumed)
{
	feed_clock_t *fc;
	size_t trips = 0;

	if (p->feed >= e->nfeeds) {
		e->stats.bad_feed++;
		return 0;
	}
	fc = &e->feed_clock[p->feed];
	if (detect_price_ok(p->price) && (!fc->has || p->time_ms >= fc->time_ms)) {
		fc->has = true;
		fc->time_ms = p->time_ms;
		fc->recv_ms = p->recv_ms;
	}
	for (uint32_t k = e->price.off[p->feed]; k < e->price.off[p->feed + 1]; k++) {
		const route_t *r = &e->price.ent[k];
		etrig_t *t = &e->trig[r->trig];
		detect_trip_t trip;

		note_routed(e, t);
		(*consumed)++;
		if (price_to(t, r, p, &trip)) {
			deliver(e, r->trig, &trip);
			trips++;
		}
	}
	return trips;
}

static size_t on_feed_event(engine_t *e, const event_t *ev, size_t *consumed)
{
	uint32_t f = ev->feed.feed;
	size_t trips = 0;

	if (f >= e->nfeeds) {
		e->stats.bad_feed++;
		return 0;
	}
	for (uint32_t k = e->feedev.off[f]; k < e->feedev.off[f + 1]; k++) {
		const route_t *r = &e->feedev.ent[k];
		etrig_t *t = &e->trig[r->trig];
		detect_trip_t trip;

		note_routed(e, t);
		(*consumed)++;
		if (det_stale_event(&t->d.st, ev, &trip)) {
			deliver(e, r->trig, &trip);
			trips++;
		}
	}
	return trips;
}

static size_t on_log(engine_t *e, const event_log_t *log, size_t *consumed)
{
	size_t s, trips = 0;
	uint32_t row;

	if (e->logs.nkeys == 0)
		return 0;
	s = tok_find(e, &log->address);
	if (!e->tok[s].used)
		return 0;
	row = e->tok[s].row;
	for (uint32_t k = e->logs.off[row]; k < e->logs.off[row + 1]; k++) {
		const route_t *r = &e->logs.ent[k];
		etrig_t *t = &e->trig[r->trig];
		det_outflow_outcome_t oc;
		size_t asset = 0;

		note_routed(e, t);
		(*consumed)++;
		/* Logs carry no time: stamped with the engine clock. */
		if (det_outflow_feed_log(&t->d.of, log, e->now, &oc, &asset) != KERR_OK)
			t->errors++;
		else if (oc == DET_OUTFLOW_COUNTED || oc == DET_OUTFLOW_TAKEN_BACK)
			trips += outflow_eval(e, r->trig, asset, false);
	}
	return trips;
}

size_t engine_event(engine_t *e, const event_t *ev, int64_t now_ms)
{
	size_t trips = 0, consumed = 0;

	if (!e || !ev)
		return 0;
	(void)clock_at(e, now_ms);
	e->stats.events++;
	e->stats.by_event[(unsigned)ev->kind < ENGINE_EVENT_KINDS ? (unsigned)ev->kind : 0]++;
	switch (ev->kind) {
	case EV_PRICE:
		trips = on_price(e, &ev->price, &consumed);
		break;
	case EV_FEED_STALE:
	case EV_FEED_BACK:
		trips = on_feed_event(e, ev, &consumed);
		break;
	case EV_LOG:
		trips = on_log(e, &ev->log, &consumed);
		break;
	case EV_HEAD:
		/* A head is the chain's clock tick: old outflow leaves the
		 * windows now rather than at the next timer. */
		for (size_t w = 0; w < e->by_watch.nkeys; w++)
			for (uint32_t k = e->by_watch.off[w]; k < e->by_watch.off[w + 1]; k++) {
				det_outflow_advance(&e->trig[e->by_watch.ent[k].trig].d.of,
						    e->now);
				consumed++;
			}
		break;
	default:
		/* EV_PENDING_TX: the mempool trigger is evaluated outside. */
		break;
	}
	if (!consumed)
		e->stats.unrouted++;
	return trips;
}

/* "Now" on feed f's own clock (see engine.h), INT64_MIN before a tick. */
static int64_t feed_now(const engine_t *e, uint32_t f)
{
	const feed_clock_t *fc = &e->feed_clock[f];

	if (!fc->has)
		return INT64_MIN;
	return fc->time_ms + (e->now > fc->recv_ms ? e->now - fc->recv_ms : 0);
}

static bool at_most_old(int64_t now, int64_t t, uint64_t max_age)
{
	return t >= now || (uint64_t)now - (uint64_t)t <= max_age;
}

/* The time-driven evaluation of trigger i; returns its trips. */
static size_t timed_trigger(engine_t *e, size_t i)
{
	etrig_t *t = &e->trig[i];
	const config_trigger_t *c = t->cfg;
	detect_trip_t trip;
	detect_trigger_t *tr;
	int64_t at;
	bool hit = false;

	if (t->external)
		return 0;
	switch (c->kind) {
	case CONFIG_TRIGGER_STALE:
		tr = &t->d.st.trig;
		/* Without a tick silence only grows: a stale feed inside its
		 * cooldown needs no new judgement. */
		if (t->d.st.cond && tr->running && tr->has_tripped &&
		    e->now >= tr->last_trip_ms &&
		    (uint64_t)e->now - (uint64_t)tr->last_trip_ms < tr->cooldown_ms)
			return 0;
		t->timed++;
		hit = det_stale_check(&t->d.st, e->now, &trip);
		break;
	case CONFIG_TRIGGER_OUTFLOW: {
		size_t trips = 0;

		det_outflow_advance(&t->d.of, e->now);
		if (c->confirm_ticks)
			return 0;
		t->timed++;
		for (size_t a = 0; a < t->nassets; a++)
			trips += outflow_eval(e, i, a, true);
		return trips;
	}
	case CONFIG_TRIGGER_PRICE_MOVE: {
		bool held;

		if (c->confirm_ticks || !t->d.pm.cond)
			return 0;
		if ((at = feed_now(e, t->feed[0])) == INT64_MIN)
			return 0;
		/* Past window_ms of silence the unchanged price is all the
		 * window holds: the move is over (engine.h). */
		held = at_most_old(at, e->feed_clock[t->feed[0]].time_ms, c->window_ms);
		if (!held)
			t->d.pm.cond = false;
		t->timed++;
		hit = timed_feed(&t->d.pm.trig, at, held, t->d.pm.value,
				 t->d.pm.threshold, &trip);
		break;
	}
	case CONFIG_TRIGGER_EWMA_VOL:
		if (c->confirm_ticks || !t->d.ew.cond)
			return 0;
		if ((at = feed_now(e, t->feed[0])) == INT64_MIN)
			return 0;
		t->timed++;
		hit = timed_feed(&t->d.ew.trig, at, true, t->d.ew.value,
				 t->d.ew.threshold, &trip);
		break;
	case CONFIG_TRIGGER_DEPEG: {
		const det_depeg_t *d = &t->d.dp;
		bool cond;

		if (c->confirm_ticks || !d->off)
			return 0;
		if ((at = feed_now(e, t->feed[0])) == INT64_MIN)
			return 0;
		cond = at >= d->off_since_ms &&
		       (uint64_t)at - (uint64_t)d->off_since_ms >= d->hold_ms;
		t->timed++;
		hit = timed_feed(&t->d.dp.trig, at, cond, d->value, d->threshold, &trip);
		break;
	}
	case CONFIG_TRIGGER_DEVIATION: {
		const det_deviation_t *d = &t->d.dv;
		int64_t a0, a1;
		bool fresh;

		if (c->confirm_ticks || !d->cond)
			return 0;
		a0 = feed_now(e, t->feed[0]);
		a1 = feed_now(e, t->feed[1]);
		at = a0 > a1 ? a0 : a1;
		if (at == INT64_MIN)
			return 0;
		fresh = at_most_old(at, d->time_ms[0], d->max_age_ms) &&
			at_most_old(at, d->time_ms[1], d->max_age_ms);
		t->timed++;
		hit = timed_feed(&t->d.dv.trig, at, fresh, d->value, d->threshold, &trip);
		break;
	}
	default:
		return 0;
	}
	if (!hit)
		return 0;
	deliver(e, i, &trip);
	return 1;
}

size_t engine_time(engine_t *e, int64_t now_ms)
{
	size_t trips = 0;

	if (!e)
		return 0;
	e->stats.time_calls++;
	if (!clock_at(e, now_ms))
		return 0;
	for (size_t i = 0; i < e->ntrig; i++)
		trips += timed_trigger(e, i);
	return trips;
}

kerr_t engine_balance(engine_t *e, size_t watch, size_t asset, uint64_t block,
		      int64_t time_ms, const u256_t *balance)
{
	kerr_t first = KERR_OK;
	bool observed = false;

	if (!e || !balance)
		return KERR_ARG;
	if (watch >= e->by_watch.nkeys ||
	    e->by_watch.off[watch] == e->by_watch.off[watch + 1] ||
	    asset > e->cfg->watch[watch].ntokens) {
		e->stats.balance_unwanted++;
		return KERR_ARG;
	}
	/* Stamped at the head's arrival, which may be before the reply's:
	 * the clock moves forward only. */
	if (time_ms > e->now)
		e->now = time_ms;
	for (uint32_t k = e->by_watch.off[watch]; k < e->by_watch.off[watch + 1]; k++) {
		size_t i = e->by_watch.ent[k].trig;
		etrig_t *t = &e->trig[i];
		det_outflow_outcome_t oc;
		kerr_t err;

		note_routed(e, t);
		err = det_outflow_feed_balance(&t->d.of, asset, block, time_ms, balance, &oc);
		if (err) {
			t->errors++;
			if (!first)
				first = err;
			continue;
		}
		if (oc == DET_OUTFLOW_OBSERVED) {
			observed = true;
			(void)outflow_eval(e, i, asset, false);
		}
	}
	if (observed)
		e->stats.balances++;
	else if (!first)
		e->stats.balance_refused++;
	return first;
}

size_t engine_balance_wants(const engine_t *e, engine_want_t *out, size_t cap)
{
	if (!e)
		return 0;
	for (size_t i = 0; out && i < cap && i < e->nwants; i++)
		out[i] = e->wants[i];
	return e->nwants;
}

bool engine_external(engine_t *e, size_t trigger, int64_t t_ms, bool cond,
		     double value, double threshold,
		     const detect_trip_t *extra, detect_trip_t *out)
{
	detect_trip_t trip, core;
	etrig_t *t;

	if (!e)
		return false;
	if (trigger >= e->ntrig || !e->trig[trigger].external) {
		e->stats.external_refused++;
		return false;
	}
	t = &e->trig[trigger];
	note_routed(e, t);
	if (t_ms > e->now)
		e->now = t_ms;
	if (!detect_trigger_feed(&t->d.ext, t_ms, cond, value, threshold, &core))
		return false;
	/* Every optional part of extra, whatever detect.h adds later; the
	 * wrapper's own fields win. */
	if (extra)
		trip = *extra;
	else
		memset(&trip, 0, sizeof trip);
	trip.trigger = core.trigger;
	trip.kind = core.kind;
	trip.value = core.value;
	trip.threshold = core.threshold;
	trip.unit = core.unit;
	trip.time_ms = core.time_ms;
	deliver(e, trigger, &trip);
	if (out)
		*out = trip;
	return true;
}

/* Trigger i's confirm/cooldown wrappers: *n of them (outflow: one per
 * asset), NULL when it has none. */
static detect_trigger_t *wrappers(etrig_t *t, size_t *n)
{
	*n = 1;
	if (t->external)
		return &t->d.ext;
	switch (t->cfg->kind) {
	case CONFIG_TRIGGER_PRICE_MOVE: return &t->d.pm.trig;
	case CONFIG_TRIGGER_EWMA_VOL: return &t->d.ew.trig;
	case CONFIG_TRIGGER_DEVIATION: return &t->d.dv.trig;
	case CONFIG_TRIGGER_DEPEG: return &t->d.dp.trig;
	case CONFIG_TRIGGER_STALE: return &t->d.st.trig;
	case CONFIG_TRIGGER_OUTFLOW:
		*n = t->nassets;
		return t->asset_trig;
	default:
		*n = 0;
		return NULL;
	}
}

bool engine_seed_cooldown(engine_t *e, size_t trigger, int64_t last_trip_ms)
{
	detect_trigger_t *tr;
	bool took = false;
	size_t n;

	if (!e || trigger >= e->ntrig)
		return false;
	if (last_trip_ms > e->now)
		last_trip_ms = e->now;
	tr = wrappers(&e->trig[trigger], &n);
	for (size_t a = 0; tr && a < n; a++)
		took |= detect_trigger_seed(&tr[a], last_trip_ms);
	return took;
}

/* ---- the next due time (engine.h, "The virtual clock") ------------------ */

static int64_t add_sat(int64_t a, uint64_t b)
{
	if (b >= (uint64_t)INT64_MAX || a > INT64_MAX - (int64_t)b)
		return INT64_MAX;
	return a + (int64_t)b;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* When wrapper tr, fed a condition true from `from` on, trips next (on its
 * own clock): see engine.h. */
static int64_t wrapper_due(const detect_trigger_t *tr, int64_t from)
{
	int64_t at = from;

	if (!tr->running)
		return from;
	at = max64(at, add_sat(tr->run_start_ms, tr->confirm_ms));
	if (tr->confirm_ticks && tr->run_ticks < tr->confirm_ticks)
		at = max64(at, add_sat(tr->last_ms, ENGINE_TIMER_MS));
	if (tr->has_tripped)
		at = max64(at, add_sat(tr->last_trip_ms, tr->cooldown_ms > ENGINE_TIMER_MS ?
				       tr->cooldown_ms : ENGINE_TIMER_MS));
	return at;
}

/* The engine time at which feed f's clock (feed_now) reads x: INT64_MIN
 * when it already does at any time, INT64_MAX before the feed ticked. */
static int64_t feed_to_engine(const engine_t *e, uint32_t f, int64_t x)
{
	const feed_clock_t *fc = &e->feed_clock[f];

	if (!fc->has)
		return INT64_MAX;
	if (x <= fc->time_ms)
		return INT64_MIN;
	return add_sat(fc->recv_ms, (uint64_t)x - (uint64_t)fc->time_ms);
}

/* Deviation's clock is the later of its two feeds' (timed_trigger). */
static int64_t pair_to_engine(const engine_t *e, const etrig_t *t, int64_t x)
{
	return min64(feed_to_engine(e, t->feed[0], x), feed_to_engine(e, t->feed[1], x));
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t outflow_due(const etrig_t *t, int64_t now_ms)
{
	int64_t due = INT64_MAX, n, w, c;
	bool any = t->live_mask != 0;

	for (size_t a = 0; a < t->nassets; a++)
		if (t->asset_trig[a].running) {
			any = true;
			due = min64(due, wrapper_due(&t->asset_trig[a], add_sat(now_ms, 1)));
		}
	if (!any)
		return INT64_MAX;
	w = (int64_t)((t->cfg->window_ms + DET_OUTFLOW_BUCKETS - 1) / DET_OUTFLOW_BUCKETS);
	if (w <= 0)
		w = 1;
	n = max64(det_outflow_now(&t->d.of), now_ms);
	c = floor_div(n, w);
	return min64(due, c >= INT64_MAX / w ? INT64_MAX : (c + 1) * w);
}

static int64_t trigger_due(const engine_t *e, const etrig_t *t, int64_t now_ms)
{
	const config_trigger_t *c = t->cfg;

	if (t->external)
		return INT64_MAX;
	switch (c->kind) {
	case CONFIG_TRIGGER_STALE:
		/* On the engine clock: silence > after_ms from this ms on. */
		return wrapper_due(&t->d.st.trig,
				   add_sat(t->d.st.last_tick_ms, t->d.st.after_ms + 1));
	case CONFIG_TRIGGER_DEPEG:
		if (c->confirm_ticks || !t->d.dp.off)
			return INT64_MAX;
		return feed_to_engine(e, t->feed[0],
				      wrapper_due(&t->d.dp.trig, add_sat(t->d.dp.off_since_ms,
									 t->d.dp.hold_ms)));
	case CONFIG_TRIGGER_PRICE_MOVE:
		if (c->confirm_ticks || !t->d.pm.cond)
			return INT64_MAX;
		/* The next repeat, or the end of the move (engine.h). */
		return min64(feed_to_engine(e, t->feed[0],
					    wrapper_due(&t->d.pm.trig, t->d.pm.trig.last_ms)),
			     feed_to_engine(e, t->feed[0],
					    add_sat(e->feed_clock[t->feed[0]].time_ms,
						    c->window_ms + 1)));
	case CONFIG_TRIGGER_EWMA_VOL:
		if (c->confirm_ticks || !t->d.ew.cond)
			return INT64_MAX;
		return feed_to_engine(e, t->feed[0],
				      wrapper_due(&t->d.ew.trig, t->d.ew.trig.last_ms));
	case CONFIG_TRIGGER_DEVIATION: {
		const det_deviation_t *d = &t->d.dv;
		int64_t oldest;

		if (c->confirm_ticks || !d->cond)
			return INT64_MAX;
		oldest = min64(d->time_ms[0], d->time_ms[1]);
		return min64(pair_to_engine(e, t, wrapper_due(&d->trig, d->trig.last_ms)),
			     pair_to_engine(e, t, add_sat(oldest, d->max_age_ms + 1)));
	}
	case CONFIG_TRIGGER_OUTFLOW:
		if (c->confirm_ticks)
			return INT64_MAX;
		return outflow_due(t, now_ms);
	default:
		return INT64_MAX;
	}
}

int64_t engine_next_due(const engine_t *e, int64_t now_ms)
{
	int64_t best = INT64_MAX;

	if (!e || now_ms == INT64_MAX)
		return INT64_MAX;
	for (size_t i = 0; i < e->ntrig; i++) {
		int64_t d = trigger_due(e, &e->trig[i], now_ms);

		/* Already due (a time that passed between calls): at once. */
		if (d <= now_ms)
			d = now_ms + 1;
		best = min64(best, d);
	}
	return best;
}

int64_t engine_now(const engine_t *e)
{
	return e ? e->now : 0;
}

size_t engine_ntriggers(const engine_t *e)
{
	return e ? e->ntrig : 0;
}

void engine_stats(const engine_t *e, engine_stats_t *out)
{
	if (e && out)
		*out = e->stats;
}

/* The wrapper counters of trigger t, summed over outflow's assets. */
static void add_wrapper(engine_trigger_stats_t *s, const detect_trigger_t *tr)
{
	s->trips += tr->trips;
	s->suppressed += tr->suppressed;
	s->backwards += tr->backwards;
}

kerr_t engine_trigger_stats(const engine_t *e, size_t trigger,
			    engine_trigger_stats_t *out)
{
	const etrig_t *t;

	if (!e || !out || trigger >= e->ntrig)
		return KERR_ARG;
	t = &e->trig[trigger];
	memset(out, 0, sizeof *out);
	out->kind = t->cfg->kind;
	out->external = t->external;
	out->routed = t->routed;
	out->timed = t->timed;
	out->errors = t->errors;
	if (t->external) {
		add_wrapper(out, &t->d.ext);
		return KERR_OK;
	}
	switch (t->cfg->kind) {
	case CONFIG_TRIGGER_PRICE_MOVE: add_wrapper(out, &t->d.pm.trig); break;
	case CONFIG_TRIGGER_EWMA_VOL: add_wrapper(out, &t->d.ew.trig); break;
	case CONFIG_TRIGGER_DEVIATION: add_wrapper(out, &t->d.dv.trig); break;
	case CONFIG_TRIGGER_DEPEG: add_wrapper(out, &t->d.dp.trig); break;
	case CONFIG_TRIGGER_STALE: add_wrapper(out, &t->d.st.trig); break;
	case CONFIG_TRIGGER_OUTFLOW:
		for (size_t a = 0; a < t->nassets; a++)
			add_wrapper(out, &t->asset_trig[a]);
		break;
	default:
		break;
	}
	return KERR_OK;
}
