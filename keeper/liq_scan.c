/*
 * liq_scan: scans of a liquidation trigger's book over rpc batches (the
 * rules are in liq_scan.h).
 *
 * A scan is a small state machine driven by rpc completions: phase HEALTH
 * walks the accounts of the book, phase DEBT the ones found liquidatable,
 * each in windows of at most `parallel` batches; when a phase has neither
 * calls left to send nor batches in flight, the next one starts.  Results
 * go into one array sized for the book, allocated with the scanner, so a
 * scan allocates nothing.  rpc builds a batch's body when it is submitted,
 * so the requests and their calldata live on the stack of the submitting
 * function; only a batch's place in its phase needs to outlive it.
 */
#include "keeper/liq_scan.h"

#include <stdlib.h>
#include <string.h>

#include "keeper/jtok.h"
#include "keeper/node_parse.h"

enum phase { IDLE = 0, HEALTH, DEBT };

/* A batch in flight: calls [first, first + n) of its phase's list. */
struct batch {
	liq_scan_t *s;
	bool busy;
	size_t first, n;
};

struct liq_scan {
	const config_trigger_t *trig;
	rpc_client_t *rpc;
	liq_scan_trip_fn on_trip;
	void *arg;
	liq_book_t *book;
	uint32_t feed;            /* index of trig->feed in cfg->feeds */
	bool has_feed;
	size_t max, batch, parallel;
	uint64_t logs_range;

	enum phase phase;
	bool again;               /* a request came during the scan */
	int64_t t_ms, again_t_ms;
	size_t naccts;            /* accounts in this scan */
	size_t nlist, next, inflight;
	uint32_t *list;           /* the phase's accounts (indexes into res) */
	liq_result_t *res;
	detect_trip_t *trips;
	struct batch b[LIQ_SCAN_PARALLEL_MAX];
	uint8_t ret[LIQ_SCAN_RETURN_MAX];

	bool cu_active, cu_last;   /* a catch-up; its last range is asked */
	uint64_t cu_next, cu_to;
	liq_scan_stats_t st;
};

static void pump(liq_scan_t *s);

kerr_t liq_scan_new(liq_scan_t **out, const config_keeper_t *cfg,
		    const config_trigger_t *trig, rpc_client_t *rpc,
		    liq_scan_trip_fn on_trip, void *arg,
		    const liq_scan_opts_t *opts)
{
	liq_scan_opts_t o = { 0 };
	liq_scan_t *s;
	kerr_t err;

	*out = NULL;
	if (opts)
		o = *opts;
	if (!o.max_accounts)
		o.max_accounts = LIQ_SCAN_ACCOUNTS_DEFAULT;
	if (!o.batch)
		o.batch = LIQ_SCAN_BATCH_DEFAULT;
	if (!o.parallel)
		o.parallel = LIQ_SCAN_PARALLEL_DEFAULT;
	if (!o.logs_range)
		o.logs_range = LIQ_SCAN_LOGS_RANGE_DEFAULT;
	if (!cfg || !trig || !rpc || !on_trip ||
	    trig->kind != CONFIG_TRIGGER_LIQUIDATION ||
	    o.max_accounts > LIQ_MAX_ACCOUNTS || o.batch > RPC_BATCH_MAX ||
	    o.parallel > LIQ_SCAN_PARALLEL_MAX ||
	    (trig->feed && (trig->feed < cfg->feeds ||
			    trig->feed >= cfg->feeds + cfg->nfeeds)))
		return KERR_ARG;
	if (!(s = calloc(1, sizeof *s)))
		return KERR_NOMEM;
	s->trig = trig;
	s->rpc = rpc;
	s->on_trip = on_trip;
	s->arg = arg;
	s->max = o.max_accounts;
	s->batch = o.batch;
	s->parallel = o.parallel;
	s->logs_range = o.logs_range;
	if (trig->feed) {
		s->has_feed = true;
		s->feed = (uint32_t)(trig->feed - cfg->feeds);
	}
	for (size_t i = 0; i < LIQ_SCAN_PARALLEL_MAX; i++)
		s->b[i].s = s;
	if ((err = liq_new(&s->book, trig, s->max))) {
		liq_scan_free(s);
		return err;
	}
	s->list = calloc(s->max, sizeof *s->list);
	s->res = calloc(s->max, sizeof *s->res);
	s->trips = calloc(s->max, sizeof *s->trips);
	if (!s->list || !s->res || !s->trips) {
		liq_scan_free(s);
		return KERR_NOMEM;
	}
	*out = s;
	return KERR_OK;
}

void liq_scan_free(liq_scan_t *s)
{
	if (!s)
		return;
	liq_free(s->book);
	free(s->list);
	free(s->res);
	free(s->trips);
	free(s);
}

liq_book_t *liq_scan_book(liq_scan_t *s)
{
	return s->book;
}

void liq_scan_stats(const liq_scan_t *s, liq_scan_stats_t *out)
{
	*out = s->st;
	out->scanning = s->phase != IDLE;
	out->catching_up = s->cu_active;
}

kerr_t liq_scan_resolved(liq_scan_t *s, const addr_t *a, liq_outcome_t outcome)
{
	return liq_resolved(s->book, a, outcome);
}

/* ---- scans --------------------------------------------------------------- */

/* Calldata of a view taking one address: selector + the address word. */
static void calldata(uint8_t out[36], const config_view_t *v, const addr_t *a)
{
	memcpy(out, v->selector, 4);
	memset(out + 4, 0, 12);
	memcpy(out + 16, a->b, 20);
}

static void advance(liq_scan_t *s);

/* A scan of every account in the book now. */
static void start(liq_scan_t *s, int64_t t_ms)
{
	s->phase = HEALTH;
	s->t_ms = t_ms;
	s->naccts = liq_count(s->book);
	for (size_t i = 0; i < s->naccts; i++) {
		s->res[i] = (liq_result_t){ .account = *liq_account(s->book, i) };
		s->list[i] = (uint32_t)i;
	}
	s->nlist = s->naccts;
	s->next = 0;
	pump(s);
	/* an empty book, or every batch refused: nothing will call back */
	advance(s);
}

static void finish(liq_scan_t *s)
{
	size_t n = 0;

	liq_decide(s->book, s->res, s->naccts, s->t_ms, s->trips, s->max, &n);
	s->st.scans++;
	s->st.trips += n;
	/* Still "scanning" while the trips go out: a request from on_trip
	 * becomes the scan that follows. */
	for (size_t i = 0; i < n; i++)
		s->on_trip(s->arg, &s->trips[i]);
	s->phase = IDLE;
	if (s->again) {
		s->again = false;
		start(s, s->again_t_ms);
	}
}

/* The next phase once the current one has nothing left. */
static void advance(liq_scan_t *s)
{
	if (s->next < s->nlist || s->inflight)
		return;
	if (s->phase == HEALTH) {
		/* Liquidatable answers wait for their debt; healthy ones are
		 * final (ok set when they came). */
		s->nlist = 0;
		for (size_t i = 0; i < s->naccts; i++) {
			if (s->res[i].liquidatable)
				s->list[s->nlist++] = (uint32_t)i;
		}
		s->next = 0;
		s->phase = DEBT;
		pump(s);
		if (s->next < s->nlist || s->inflight)
			return;
	}
	finish(s);
}

/* One answer of phase `ph` for result r. */
static void take(liq_scan_t *s, enum phase ph, liq_result_t *r,
		 const rpc_batch_reply_t *b, const rpc_item_t *it)
{
	size_t len;
	bool liq;
	double v;

	if (it->err != KERR_OK) {
		s->st.call_errors++;
		r->liquidatable = false;
		return;
	}
	if (jtok_bytes(b->doc, it->result, s->ret, sizeof s->ret, &len) != KERR_OK) {
		s->st.malformed++;
		r->liquidatable = false;
		return;
	}
	if (ph == HEALTH) {
		if (liq_judge_health(s->trig, s->ret, len, &liq, &v) != KERR_OK) {
			s->st.malformed++;
			return;
		}
		r->health = v;
		r->liquidatable = liq;
		r->ok = !liq;   /* a liquidatable one needs its debt first */
		return;
	}
	if (liq_decode_debt(s->ret, len, &r->debt) != KERR_OK) {
		s->st.malformed++;
		r->liquidatable = false;
		return;
	}
	r->ok = true;
}

static void on_batch(void *arg, const rpc_batch_reply_t *b)
{
	struct batch *bt = arg;
	liq_scan_t *s = bt->s;

	bt->busy = false;
	s->inflight--;
	for (size_t k = 0; k < bt->n && k < b->n; k++)
		take(s, s->phase, &s->res[s->list[bt->first + k]], b, &b->items[k]);
	pump(s);
	advance(s);
}

static struct batch *free_batch(liq_scan_t *s)
{
	for (size_t i = 0; i < s->parallel; i++)
		if (!s->b[i].busy)
			return &s->b[i];
	return NULL;
}

/* Calls [first, first + n) of the phase's list as one batch. */
static kerr_t submit(liq_scan_t *s, struct batch *bt, size_t first, size_t n)
{
	const config_view_t *view = s->phase == DEBT ? &s->trig->debt :
		s->trig->health.sig ? &s->trig->health : &s->trig->liquidatable;
	const addr_t *to = s->phase == DEBT ? &s->trig->debt_to : &s->trig->pool;
	rpc_req_t reqs[RPC_BATCH_MAX];
	uint8_t data[RPC_BATCH_MAX][36];
	kerr_t err;

	for (size_t k = 0; k < n; k++) {
		calldata(data[k], view, &s->res[s->list[first + k]].account);
		reqs[k] = (rpc_req_t){ .kind = RPC_REQ_CALL, .addr = to,
				       .data = data[k], .data_len = 36,
				       .block = RPC_LATEST };
	}
	bt->first = first;
	bt->n = n;
	if ((err = rpc_batch(s->rpc, reqs, n, on_batch, bt, NULL)))
		return err;
	bt->busy = true;
	s->inflight++;
	s->st.batches++;
	s->st.calls += n;
	return KERR_OK;
}

/* Send batches while there are calls left and room in flight. */
static void pump(liq_scan_t *s)
{
	struct batch *bt;

	while (s->next < s->nlist && (bt = free_batch(s))) {
		size_t n = s->nlist - s->next;
		kerr_t err;
		if (n > s->batch)
			n = s->batch;
		err = submit(s, bt, s->next, n);
		if (err == KERR_BUF && n > 1) {
			/* Too large for rpc's request buffer: smaller from now on. */
			s->batch = n / 2;
			s->st.splits++;
			continue;
		}
		if (err) {
			for (size_t k = 0; k < n; k++)
				s->res[s->list[s->next + k]].liquidatable = false;
			s->st.submit_errors += n;
		}
		s->next += n;
	}
}

static void request(liq_scan_t *s, int64_t t_ms)
{
	s->st.requests++;
	if (s->phase != IDLE) {
		s->st.coalesced++;
		s->again = true;
		s->again_t_ms = t_ms;
		return;
	}
	start(s, t_ms);
}

void liq_scan_head(liq_scan_t *s, const event_head_t *h)
{
	request(s, (int64_t)h->timestamp * 1000);
}

void liq_scan_tick(liq_scan_t *s, const event_price_t *p)
{
	if (s->has_feed && p->feed == s->feed)
		request(s, p->recv_ms);
}

/* ---- discovery ------------------------------------------------------------ */

void liq_scan_log(liq_scan_t *s, const event_log_t *l)
{
	static const uint8_t zeros[12];
	const config_trigger_t *t = s->trig;
	const uint8_t *topic;
	addr_t a;
	bool added;
	kerr_t err;

	s->st.logs++;
	if (!t->discover.sig || !addr_eq(&l->address, &t->pool) ||
	    l->ntopics < 1 || memcmp(l->topics[0], t->discover.topic0, 32) != 0) {
		s->st.logs_ignored++;
		return;
	}
	if (l->removed) {
		s->st.logs_removed++;
		return;
	}
	if (l->ntopics <= t->discover_topic) {
		s->st.logs_bad++;
		return;
	}
	topic = l->topics[t->discover_topic];
	if (memcmp(topic, zeros, 12) != 0) {
		s->st.logs_bad++;
		return;
	}
	memcpy(a.b, topic + 12, 20);
	err = liq_add(s->book, &a, &added);
	if (err == KERR_FULL)
		s->st.book_full++;
	else if (err)
		s->st.logs_bad++;       /* the zero address */
	else if (added)
		s->st.discovered++;
}

void liq_scan_event(liq_scan_t *s, const event_t *ev)
{
	switch (ev->kind) {
	case EV_HEAD:
		liq_scan_head(s, &ev->head);
		break;
	case EV_PRICE:
		liq_scan_tick(s, &ev->price);
		break;
	case EV_LOG:
		liq_scan_log(s, &ev->log);
		break;
	default:
		break;
	}
}

static kerr_t catch_up_next(liq_scan_t *s);

static void on_logs(void *arg, const rpc_reply_t *r)
{
	liq_scan_t *s = arg;

	if (r->err != KERR_OK || jtok_type(r->doc, r->result) != JTOK_ARRAY) {
		/* The range is given up; the live logs still come. */
		s->st.catchup_errors++;
	} else {
		node_parser_t p = { 0 };
		for (size_t e = jtok_first(r->doc, r->result); e != JTOK_NONE;
		     e = jtok_after(r->doc, r->result, e)) {
			event_t ev;
			if (node_parse_log_object(&p, r->doc, e, &ev) != KERR_OK) {
				s->st.logs++;
				s->st.logs_bad++;
				continue;
			}
			liq_scan_log(s, &ev.log);
		}
	}
	if (s->cu_last || catch_up_next(s) != KERR_OK)
		s->cu_active = false;
}

/* eth_getLogs of the next range. */
static kerr_t catch_up_next(liq_scan_t *s)
{
	const uint8_t (*topic0)[32] = &s->trig->discover.topic0;
	rpc_log_filter_t f;
	uint64_t to = s->cu_to;
	kerr_t err;

	if (s->cu_to - s->cu_next >= s->logs_range)
		to = s->cu_next + s->logs_range - 1;
	memset(&f, 0, sizeof f);
	f.from = RPC_BLOCK_NUM(s->cu_next);
	f.to = RPC_BLOCK_NUM(to);
	f.addrs = &s->trig->pool;
	f.naddrs = 1;
	f.topics[0] = (rpc_topic_t){ topic0, 1 };
	f.ntopics = 1;
	if ((err = rpc_get_logs(s->rpc, &f, on_logs, s, NULL))) {
		s->st.catchup_errors++;
		return err;
	}
	s->st.catchup_calls++;
	s->cu_last = to == s->cu_to;
	if (!s->cu_last)
		s->cu_next = to + 1;
	return KERR_OK;
}

kerr_t liq_scan_catch_up(liq_scan_t *s, uint64_t from, uint64_t to)
{
	kerr_t err;

	if (!s->trig->discover.sig || from > to)
		return KERR_ARG;
	if (s->cu_active)
		return KERR_RPC_BUSY;
	s->cu_next = from;
	s->cu_to = to;
	if ((err = catch_up_next(s)))
		return err;
	s->cu_active = true;
	return KERR_OK;
}
