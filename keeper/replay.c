/*
 * replay: lines -> events -> engine on a virtual clock, trips -> would-be
 * transactions (rules in replay.h).
 *
 * The hot path is one line: replay_file has already read it (a canonical
 * price line without the tokeniser, any other line tokenised whole); a
 * price line costs a feed lookup (the previous line's feed is tried first,
 * since a file is usually long runs of one source; names' lengths are
 * computed once), the clock step and engine_event; a raw node line's frame
 * is read from the line's own tokens (node_parse_doc), so it is not
 * tokenised twice; a raw feed line costs feed_parse.  Nothing is allocated
 * per line; trips grow their array.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keeper/det_mempool.h"
#include "keeper/feed_parse.h"
#include "keeper/jtok.h"
#include "keeper/node_parse.h"
#include "keeper/replay.h"

typedef struct {
	bool used;
	int64_t tmin, tmax;
	double pmin, pmax;
} sbucket_t;

/* One feed's decimated series: bucket k holds [t0 + k w, t0 + (k+1) w). */
typedef struct {
	bool has;
	double last;                 /* the last tick's price */
	int64_t t0;
	uint64_t width;
	sbucket_t b[REPLAY_SERIES_BUCKETS];
} series_t;

struct replay {
	const config_keeper_t *cfg;
	replay_opts_t opts;
	engine_t *eng;
	bool started;
	int64_t now;                 /* the virtual clock */
	int64_t due;                 /* engine_next_due(now), kept current */
	node_parser_t np;
	feed_parser_t fp;
	size_t last_feed;            /* the previous line's feed, SIZE_MAX */
	size_t *feed_len;            /* strlen of each feed's name */
	det_mempool_t *mp;           /* one per mempool trigger */
	size_t *mp_trigger;          /* its index in the config */
	size_t nmp;
	bool has_head;               /* a head with base fee and gas */
	gas_market_t head;
	replay_trip_t *trips;
	size_t ntrips, cap;
	uint64_t *by_trigger;
	series_t *series;
	replay_stats_t st;
	kerr_t cb_err;               /* KERR_NOMEM inside the trip callback */
};

const char *replay_bad_name(unsigned kind)
{
	switch (kind) {
	case REPLAY_BAD_UNKNOWN_SRC: return "unknown_src";
	case REPLAY_BAD_NODE_FRAME: return "node_frame";
	case REPLAY_BAD_FEED_FRAME: return "feed_frame";
	default: return replay_file_err_name((replay_err_t)kind);
	}
}

const char *replay_market_name(replay_market_t m)
{
	switch (m) {
	case REPLAY_MARKET_HEAD: return "head";
	case REPLAY_MARKET_GAS_FILE: return "gas_file";
	default: return "none";
	}
}

/* ---- the gas file ------------------------------------------------------- */

/* A percentile in wei (a JSON number, possibly with a fraction) to the
 * nearest wei. */
static kerr_t gas_wei(const jtok_doc_t *d, size_t i, u256_t *out)
{
	double v;
	kerr_t err;

	if (jtok_type(d, i) != JTOK_NUMBER)
		return KERR_JSON;
	if ((err = jtok_double(d, i, &v)))
		return err;
	if (!(v >= 0) || !(v < 1e30))
		return KERR_NUM_RANGE;
	v = floor(v + 0.5);
	if (v < 18446744073709551616.0) {
		u256_from_u64(out, (uint64_t)v);
		return KERR_OK;
	}
	/* Beyond 64 bits (no real gas price): exact through the high part. */
	{
		double hi = floor(v / 4294967296.0), lo = v - hi * 4294967296.0;
		u256_t h;

		u256_from_u64(&h, (uint64_t)hi);
		if ((err = u256_mul_u64(&h, &h, 4294967296ull)))
			return err;
		u256_from_u64(out, (uint64_t)lo);
		return u256_add(out, out, &h);
	}
}

kerr_t replay_gas_parse(const char *buf, size_t len, replay_gas_t *out,
			size_t *where, const char **what)
{
	jtok_doc_t d;
	size_t data, n = 0, k;
	kerr_t err;

	memset(out, 0, sizeof *out);
	if (where)
		*where = SIZE_MAX;
	if (what)
		*what = NULL;
	if (len > REPLAY_GAS_MAX_FILE)
		return KERR_TOO_LONG;
	/* A token needs at least two bytes of text (a digit and a comma). */
	if ((err = jtok_doc_alloc(&d, len / 2 + 16)))
		return err;
	if ((err = jtok_parse(&d, buf, len)))
		goto out;
	if ((err = jtok_key(&d, 0, "data", 4, &data))) {
		if (what)
			*what = "data";
		goto out;
	}
	if (jtok_type(&d, data) != JTOK_ARRAY) {
		err = KERR_JSON;
		if (what)
			*what = "data";
		goto out;
	}
	for (k = jtok_first(&d, data); k != JTOK_NONE; k = jtok_after(&d, data, k))
		n++;
	if (n == 0) {
		err = KERR_IMPORT_INVALID;
		if (what)
			*what = "data";
		goto out;
	}
	if (!(out->b = calloc(n, sizeof *out->b))) {
		err = KERR_NOMEM;
		goto out;
	}
	for (k = jtok_first(&d, data); k != JTOK_NONE; k = jtok_after(&d, data, k)) {
		replay_gas_bucket_t *b = &out->b[out->n];
		size_t ts, p30, p60;
		jtok_view_t v;
		u256_t lo, hi;

		if (where)
			*where = out->n;
		if (what)
			*what = "timestamp";
		if ((err = jtok_key(&d, k, "timestamp", 9, &ts)))
			goto out;
		if (jtok_type(&d, ts) != JTOK_STRING) {
			err = KERR_JSON;
			goto out;
		}
		v = jtok_text(&d, ts);
		if ((err = feed_parse_iso8601(v.p, v.len, &b->t_ms)))
			goto out;
		if (out->n > 0 && b->t_ms <= out->b[out->n - 1].t_ms) {
			err = KERR_IMPORT_INVALID;
			goto out;
		}
		if (what)
			*what = "30.0 Perc";
		if ((err = jtok_key(&d, k, "30.0 Perc", 9, &p30)) ||
		    (err = gas_wei(&d, p30, &lo)))
			goto out;
		if (what)
			*what = "60.0 Perc";
		if ((err = jtok_key(&d, k, "60.0 Perc", 9, &p60)) ||
		    (err = gas_wei(&d, p60, &hi)))
			goto out;
		b->base_fee = lo;
		if (u256_sub(&b->reward, &hi, &lo) != KERR_OK)
			u256_zero(&b->reward);
		out->n++;
	}
	if (where)
		*where = SIZE_MAX;
	if (what)
		*what = NULL;
out:
	jtok_doc_free(&d);
	if (err)
		replay_gas_free(out);
	return err;
}

kerr_t replay_gas_load(const char *path, replay_gas_t *out, size_t *where,
		       const char **what)
{
	struct stat sb;
	char *buf;
	size_t got = 0;
	int fd, saved;
	kerr_t err;

	memset(out, 0, sizeof *out);
	if (where)
		*where = SIZE_MAX;
	if (what)
		*what = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return KERR_IO;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		saved = S_ISDIR(sb.st_mode) ? EISDIR : errno;
		close(fd);
		errno = saved;
		return KERR_IO;
	}
	if ((size_t)sb.st_size > REPLAY_GAS_MAX_FILE) {
		close(fd);
		return KERR_TOO_LONG;
	}
	if (!(buf = malloc((size_t)sb.st_size + 1))) {
		close(fd);
		return KERR_NOMEM;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)sb.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	saved = errno;
	close(fd);
	if (got != (size_t)sb.st_size) {
		free(buf);
		errno = saved ? saved : EIO;
		return KERR_IO;
	}
	err = replay_gas_parse(buf, got, out, where, what);
	free(buf);
	return err;
}

void replay_gas_free(replay_gas_t *g)
{
	if (!g)
		return;
	free(g->b);
	g->b = NULL;
	g->n = 0;
}

bool replay_gas_market(const replay_gas_t *g, int64_t t_ms, gas_market_t *m,
		       u256_t *reward)
{
	size_t lo = 0, hi;
	int64_t end;

	if (!g || g->n == 0 || t_ms < g->b[0].t_ms)
		return false;
	/* The last bucket starting at or before t_ms. */
	hi = g->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->b[mid].t_ms <= t_ms)
			lo = mid;
		else
			hi = mid;
	}
	end = lo + 1 < g->n ? g->b[lo + 1].t_ms :
	      (g->b[lo].t_ms > INT64_MAX - REPLAY_GAS_BUCKET_MS ? INT64_MAX :
	       g->b[lo].t_ms + REPLAY_GAS_BUCKET_MS);
	if (t_ms >= end)
		return false;
	memset(m, 0, sizeof *m);
	m->has_head = true;
	m->base_fee = g->b[lo].base_fee;
	m->gas_limit = REPLAY_GAS_BLOCK_LIMIT;
	m->gas_used = REPLAY_GAS_BLOCK_LIMIT / 2;
	*reward = g->b[lo].reward;
	m->rewards = reward;
	m->nrewards = 1;
	return true;
}

/* ---- series ------------------------------------------------------------- */

static void bucket_merge(sbucket_t *into, const sbucket_t *b)
{
	if (!b->used)
		return;
	if (!into->used) {
		*into = *b;
		return;
	}
	/* into is the earlier bucket: on ties its extremes stay. */
	if (b->pmin < into->pmin) {
		into->pmin = b->pmin;
		into->tmin = b->tmin;
	}
	if (b->pmax > into->pmax) {
		into->pmax = b->pmax;
		into->tmax = b->tmax;
	}
}

static void series_add(series_t *s, int64_t t, double p)
{
	uint64_t k;
	sbucket_t *b;

	if (!s->has) {
		s->has = true;
		s->t0 = t;
		s->width = 1;
	}
	s->last = p;
	if (t < s->t0)
		t = s->t0;
	k = ((uint64_t)t - (uint64_t)s->t0) / s->width;
	while (k >= REPLAY_SERIES_BUCKETS) {
		for (size_t i = 0; i < REPLAY_SERIES_BUCKETS / 2; i++) {
			sbucket_t m = s->b[2 * i];

			bucket_merge(&m, &s->b[2 * i + 1]);
			s->b[i] = m;
		}
		memset(&s->b[REPLAY_SERIES_BUCKETS / 2], 0,
		       sizeof s->b[0] * (REPLAY_SERIES_BUCKETS / 2));
		s->width *= 2;
		k = ((uint64_t)t - (uint64_t)s->t0) / s->width;
	}
	b = &s->b[k];
	if (!b->used) {
		b->used = true;
		b->tmin = b->tmax = t;
		b->pmin = b->pmax = p;
		return;
	}
	if (p < b->pmin) {
		b->pmin = p;
		b->tmin = t;
	}
	if (p > b->pmax) {
		b->pmax = p;
		b->tmax = t;
	}
}

size_t replay_series(const replay_t *r, size_t feed, replay_point_t *out,
		     size_t cap)
{
	const series_t *s;
	size_t n = 0;

	if (!r || feed >= r->cfg->nfeeds || !r->series[feed].has)
		return 0;
	s = &r->series[feed];
	for (size_t i = 0; i < REPLAY_SERIES_BUCKETS; i++) {
		const sbucket_t *b = &s->b[i];
		replay_point_t p[2];
		size_t np = 0;

		if (!b->used)
			continue;
		if (b->tmin < b->tmax || (b->tmin == b->tmax && b->pmin != b->pmax)) {
			p[np++] = (replay_point_t){ b->tmin, b->pmin };
			p[np++] = (replay_point_t){ b->tmax, b->pmax };
		} else if (b->tmin > b->tmax) {
			p[np++] = (replay_point_t){ b->tmax, b->pmax };
			p[np++] = (replay_point_t){ b->tmin, b->pmin };
		} else {
			p[np++] = (replay_point_t){ b->tmin, b->pmin };
		}
		for (size_t j = 0; j < np; j++, n++)
			if (out && n < cap)
				out[n] = p[j];
	}
	return n;
}

/* ---- trips -------------------------------------------------------------- */

static void build_tx(replay_t *r, replay_trip_t *x)
{
	const config_trigger_t *tc = &r->cfg->triggers[x->trigger];
	const config_action_t *a = tc->action;
	const gas_strategy_t *gs;
	gas_market_t m;
	gas_quote_t q;
	u256_t reward;
	kerr_t err;

	x->action = a;
	if (!a) {
		x->tx_err = KERR_NOT_FOUND;
		return;
	}
	if ((err = action_calldata(a, tc, &x->trip, x->data, sizeof x->data,
				   &x->data_len, &x->tx_missing))) {
		x->tx_err = err;
		return;
	}
	memset(&m, 0, sizeof m);
	if (r->has_head) {
		m = r->head;
		x->market = REPLAY_MARKET_HEAD;
	} else if (replay_gas_market(r->opts.gas, r->now, &m, &reward)) {
		x->market = REPLAY_MARKET_GAS_FILE;
	}
	if (x->trip.has_tx) {
		m.has_rival = true;
		m.rival.max_fee = x->trip.tx_max_fee;
		m.rival.priority_fee = x->trip.tx_max_priority_fee;
	}
	if (!a->gas || !(gs = gas_strategy(a->gas->strategy))) {
		x->tx_err = KERR_NOT_FOUND;
		return;
	}
	if ((err = gs->initial(a->gas, &m, &q))) {
		x->tx_err = err;
		return;
	}
	x->fees = q.fees;
	x->capped = q.capped;
	x->gas = a->gas_limit;
	x->nonce = r->st.tx_built;
	if (r->opts.signer) {
		tx_t tx;

		memset(&tx, 0, sizeof tx);
		tx.type = TX_EIP1559;
		tx.chain_id = r->cfg->chain.id;
		tx.nonce = x->nonce;
		tx.max_fee = x->fees.max_fee;
		tx.max_priority_fee = x->fees.priority_fee;
		tx.gas_limit = x->gas;
		tx.has_to = true;
		tx.to = a->to;
		tx.data = x->data;
		tx.data_len = x->data_len;
		if ((err = signer_sign_tx(r->opts.signer, &tx, x->raw, sizeof x->raw,
					  &x->raw_len, x->tx_hash))) {
			x->tx_err = err;
			return;
		}
		x->has_raw = true;
	}
	r->st.tx_built++;
}

static void on_trip(void *ctx, size_t trigger, const detect_trip_t *trip)
{
	replay_t *r = ctx;
	replay_trip_t *x;

	r->st.trips++;
	if (trigger < r->cfg->ntriggers)
		r->by_trigger[trigger]++;
	if (r->ntrips == REPLAY_MAX_TRIPS) {
		r->st.trips_dropped++;
		return;
	}
	if (r->ntrips == r->cap) {
		size_t nc = r->cap ? 2 * r->cap : 16;
		replay_trip_t *nt;

		if (nc > REPLAY_MAX_TRIPS)
			nc = REPLAY_MAX_TRIPS;
		if (!(nt = realloc(r->trips, nc * sizeof *nt))) {
			r->cb_err = KERR_NOMEM;
			r->st.trips_dropped++;
			return;
		}
		r->trips = nt;
		r->cap = nc;
	}
	x = &r->trips[r->ntrips++];
	memset(x, 0, sizeof *x);
	x->trigger = trigger;
	x->trip = *trip;
	x->at_ms = r->now;
	if (trigger < r->cfg->ntriggers && r->cfg->triggers[trigger].feed) {
		const series_t *s = &r->series[r->cfg->triggers[trigger].feed - r->cfg->feeds];

		x->has_price = s->has;
		x->price = s->last;
	}
	build_tx(r, x);
}

/* ---- setup -------------------------------------------------------------- */

/* A det_mempool per mempool trigger: the engine leaves them to its host,
 * and replay is the host here, as live is when running. */
static kerr_t setup_mempool(replay_t *r, size_t *bad)
{
	const config_keeper_t *c = r->cfg;
	kerr_t err;

	for (size_t i = 0; i < c->ntriggers; i++) {
		if (c->triggers[i].kind != CONFIG_TRIGGER_MEMPOOL)
			continue;
		if ((err = det_mempool_init(&r->mp[r->nmp], &c->triggers[i]))) {
			if (bad)
				*bad = i;
			return err;
		}
		r->mp_trigger[r->nmp++] = i;
	}
	return KERR_OK;
}

static kerr_t make_engine(replay_t *r, int64_t start_ms, size_t *bad)
{
	engine_opts_t eo = { start_ms, 0, 0 };

	engine_free(r->eng);
	r->eng = NULL;
	return engine_new(r->cfg, &eo, on_trip, r, &r->eng, bad);
}

kerr_t replay_new(const config_keeper_t *cfg, const replay_opts_t *opts,
		  replay_t **out, size_t *bad)
{
	replay_t *r;
	kerr_t err;

	if (bad)
		*bad = SIZE_MAX;
	if (!out || !cfg)
		return KERR_ARG;
	*out = NULL;
	if (!(r = calloc(1, sizeof *r)))
		return KERR_NOMEM;
	r->cfg = cfg;
	if (opts)
		r->opts = *opts;
	r->last_feed = SIZE_MAX;
	r->due = INT64_MAX;
	r->st.first_t = r->st.last_t = -1;
	r->by_trigger = calloc(cfg->ntriggers ? cfg->ntriggers : 1, sizeof *r->by_trigger);
	r->series = calloc(cfg->nfeeds ? cfg->nfeeds : 1, sizeof *r->series);
	r->feed_len = calloc(cfg->nfeeds ? cfg->nfeeds : 1, sizeof *r->feed_len);
	r->mp = calloc(cfg->ntriggers ? cfg->ntriggers : 1, sizeof *r->mp);
	r->mp_trigger = calloc(cfg->ntriggers ? cfg->ntriggers : 1, sizeof *r->mp_trigger);
	if (!r->by_trigger || !r->series || !r->feed_len || !r->mp || !r->mp_trigger) {
		replay_free(r);
		return KERR_NOMEM;
	}
	for (size_t i = 0; i < cfg->nfeeds; i++)
		r->feed_len[i] = strlen(cfg->feeds[i].name);
	if ((err = setup_mempool(r, bad))) {
		replay_free(r);
		return err;
	}
	if ((err = node_parse_init(&r->np, r->opts.max_frame)) ||
	    (err = feed_parse_init(&r->fp, r->opts.max_frame)) ||
	    (err = make_engine(r, 0, bad))) {
		replay_free(r);
		return err;
	}
	*out = r;
	return KERR_OK;
}

void replay_free(replay_t *r)
{
	if (!r)
		return;
	engine_free(r->eng);
	node_parse_release(&r->np);
	feed_parse_release(&r->fp);
	free(r->trips);
	free(r->by_trigger);
	free(r->series);
	free(r->feed_len);
	free(r->mp);
	free(r->mp_trigger);
	free(r);
}

/* ---- the clock and the lines -------------------------------------------- */

/* Every due time up to t, then the clock at t. */
static void clock_to(replay_t *r, int64_t t)
{
	while (r->due <= t) {
		r->now = r->due;
		engine_time(r->eng, r->now);
		r->st.time_calls++;
		r->due = engine_next_due(r->eng, r->now);
	}
	r->now = t;
}

/*
 * A pending transaction for the mempool triggers, after the engine has
 * seen it (live's order): one without simulate is judged on the match
 * alone (det_mempool_judge with no result, the worst case); one with
 * simulate needs a node to run the transaction against, which a replay
 * has not, so its matches are counted as not evaluated.
 */
static void mempool_tx(replay_t *r, const event_tx_t *tx, int64_t t)
{
	for (size_t i = 0; i < r->nmp; i++) {
		det_mempool_t *m = &r->mp[i];
		detect_trip_t trip;

		if (!det_mempool_match(m, tx))
			continue;
		r->st.mempool_matched++;
		if (m->cfg->simulate)
			r->st.mempool_unevaluated++;
		else if (det_mempool_judge(m, tx, NULL, t, &trip))
			on_trip(r, r->mp_trigger[i], &trip);
	}
}

static void event_at(replay_t *r, const event_t *ev, int64_t t)
{
	clock_to(r, t);
	engine_event(r->eng, ev, t);
	r->st.events++;
	r->st.by_event[(unsigned)ev->kind < ENGINE_EVENT_KINDS ? (unsigned)ev->kind : 0]++;
	if (ev->kind == EV_PENDING_TX && r->nmp)
		mempool_tx(r, &ev->tx, t);
	r->due = engine_next_due(r->eng, t);
}

static void bad_line(replay_t *r, unsigned kind)
{
	r->st.bad++;
	r->st.bad_by[kind]++;
}

static size_t find_feed(replay_t *r, const jtok_view_t *src)
{
	const config_keeper_t *c = r->cfg;

	if (r->last_feed < c->nfeeds && r->feed_len[r->last_feed] == src->len &&
	    memcmp(c->feeds[r->last_feed].name, src->p, src->len) == 0)
		return r->last_feed;
	for (size_t i = 0; i < c->nfeeds; i++)
		if (r->feed_len[i] == src->len && memcmp(c->feeds[i].name, src->p, src->len) == 0)
			return r->last_feed = i;
	return SIZE_MAX;
}

static void on_head(replay_t *r, const event_head_t *h)
{
	if (!h->has_base_fee || !h->has_gas || h->gas_limit < 2 ||
	    h->gas_used > h->gas_limit)
		return;
	memset(&r->head, 0, sizeof r->head);
	r->head.has_head = true;
	r->head.base_fee = h->base_fee;
	r->head.gas_used = h->gas_used;
	r->head.gas_limit = h->gas_limit;
	r->has_head = true;
}

/* A node reply (its tokens in d): a fetched pending transaction, or
 * nothing for us. */
static void node_reply(replay_t *r, const jtok_doc_t *d, const node_frame_t *f,
		       int64_t t)
{
	event_t ev;
	size_t bn;

	if (f->result == JTOK_NONE || jtok_type(d, f->result) != JTOK_OBJECT ||
	    jtok_key_opt(d, f->result, "from", &bn) != KERR_OK || bn == JTOK_NONE ||
	    node_parse_tx_object(&r->np, d, f->result, &ev) != KERR_OK) {
		r->st.replies++;
		return;
	}
	if (jtok_key_opt(d, f->result, "blockNumber", &bn) == KERR_OK &&
	    bn != JTOK_NONE && jtok_type(d, bn) != JTOK_NULL) {
		r->st.mined++;
		return;
	}
	event_at(r, &ev, t);
}

static void raw_line(replay_t *r, const replay_line_t *ln)
{
	event_t ev;

	if (ln->src.len == 4 && memcmp(ln->src.p, "node", 4) == 0) {
		/* A frame the line's tokens already hold is read from them. */
		const jtok_doc_t *d = ln->doc && ln->frame_tok != JTOK_NONE ? ln->doc : &r->np.doc;
		node_frame_t f;
		kerr_t err;

		err = d == ln->doc ? node_parse_doc(&r->np, d, ln->frame_tok, &f, &ev)
				   : node_parse_frame(&r->np, ln->frame.p, ln->frame.len, &f, &ev);
		if (err) {
			bad_line(r, REPLAY_BAD_NODE_FRAME);
			clock_to(r, ln->t);
			return;
		}
		if (f.kind == NODE_FRAME_REPLY) {
			node_reply(r, d, &f, ln->t);
			clock_to(r, ln->t);
			return;
		}
		if (ev.kind == EV_HEAD)
			on_head(r, &ev.head);
		event_at(r, &ev, ln->t);
		return;
	}
	{
		size_t fi = find_feed(r, &ln->src);
		feed_result_t res;

		if (fi == SIZE_MAX) {
			bad_line(r, REPLAY_BAD_UNKNOWN_SRC);
		} else if (feed_parse_frame(&r->fp, &r->cfg->feeds[fi], (uint32_t)fi, ln->t,
					    ln->frame.p, ln->frame.len, &res, &ev)) {
			bad_line(r, REPLAY_BAD_FEED_FRAME);
		} else if (res != FEED_TICK) {
			r->st.ignored++;
		} else {
			series_add(&r->series[fi], ln->t, ev.price.price);
			event_at(r, &ev, ln->t);
			return;
		}
		clock_to(r, ln->t);
	}
}

kerr_t replay_line(replay_t *r, const replay_line_t *ln)
{
	size_t bad;
	kerr_t err;

	if (!r || !ln)
		return KERR_ARG;
	r->st.lines++;
	if (ln->err != REPLAY_OK) {
		bad_line(r, (unsigned)ln->err < REPLAY_E_COUNT ? (unsigned)ln->err : 0);
		return KERR_OK;
	}
	if (!r->started) {
		/* The engine's start is the recording's: see replay.h. */
		if ((err = make_engine(r, ln->t, &bad)))
			return err;
		r->started = true;
		r->now = ln->t;
		r->due = engine_next_due(r->eng, ln->t);
		r->st.first_t = ln->t;
	}
	r->st.last_t = ln->t;
	if (ln->kind == REPLAY_PRICE) {
		size_t fi;
		event_t ev;

		if ((ln->src.len == 4 && memcmp(ln->src.p, "node", 4) == 0) ||
		    (fi = find_feed(r, &ln->src)) == SIZE_MAX) {
			bad_line(r, REPLAY_BAD_UNKNOWN_SRC);
			clock_to(r, ln->t);
			return r->cb_err;
		}
		ev.kind = EV_PRICE;
		ev.price.feed = (uint32_t)fi;
		ev.price.price = ln->price;
		ev.price.time_ms = ln->t;
		ev.price.recv_ms = ln->t;
		series_add(&r->series[fi], ln->t, ln->price);
		event_at(r, &ev, ln->t);
	} else {
		raw_line(r, ln);
	}
	return r->cb_err;
}

kerr_t replay_run(replay_t *r, replay_file_t *f)
{
	replay_file_stats_t fs;
	replay_line_t ln;
	kerr_t err;

	if (!r || !f)
		return KERR_ARG;
	while ((err = replay_file_next(f, &ln)) == KERR_OK)
		if ((err = replay_line(r, &ln)))
			break;
	replay_file_stats(f, &fs);
	r->st.bytes = fs.bytes;
	return err == KERR_NOT_FOUND ? KERR_OK : err;
}

void replay_stats(const replay_t *r, replay_stats_t *out)
{
	if (r && out)
		*out = r->st;
}

const config_keeper_t *replay_config(const replay_t *r)
{
	return r ? r->cfg : NULL;
}

size_t replay_ntrips(const replay_t *r)
{
	return r ? r->ntrips : 0;
}

const replay_trip_t *replay_trip(const replay_t *r, size_t i)
{
	return r && i < r->ntrips ? &r->trips[i] : NULL;
}

uint64_t replay_trigger_trips(const replay_t *r, size_t trigger)
{
	return r && trigger < r->cfg->ntriggers ? r->by_trigger[trigger] : 0;
}
