/*
 * live: loop + node + feeds + rpc + engine, and the balance reads outflow
 * needs (rules and clocks in live.h).
 *
 * The balance reads are a small scheduler: each wanted (watch, asset)
 * remembers the newest block it should be read at; a ring of wants waiting
 * to be sent is drained while fewer than LIVE_BALANCE_INFLIGHT reads are
 * out, so a contract with many tokens never takes every rpc slot from the
 * node's catch-up, and a burst of heads costs one read per want, not one
 * per head.
 *
 * A simulation in flight holds one of LIVE_SIM_PENDING request records
 * (allocated with the driver, on a free list): sim calls back exactly once
 * per accepted request but not at all when it is freed with requests
 * still waiting, so records owned here cannot leak at teardown.
 *
 * The tracker is the last stop of a trip and sees a head after every
 * detector did, so that a head's trips are taken before the head round
 * that may presign or replace on the same market.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keeper/det_mempool.h"
#include "keeper/feeds.h"
#include "keeper/liq_scan.h"
#include "keeper/live.h"
#include "keeper/log.h"
#include "keeper/metrics.h"
#include "keeper/node.h"
#include "keeper/notify.h"
#include "keeper/relay.h"
#include "keeper/rpc.h"
#include "keeper/rpc_http.h"
#include "keeper/sim.h"
#include "strategies/liq.h"
#include "signer/hex.h"
#include "signer/keccak.h"

typedef struct live_bal live_bal_t;

/* Trips handed to the tracker whose first transaction has not reached the
 * wire yet (see "metrics" below). */
#define LIVE_WIRE_PENDING 64

/* A trip waiting for its first eth_sendRawTransaction. */
typedef struct {
	double t0;              /* monotonic seconds at the trip */
	size_t trigger;
	uint64_t seq;
} live_wire_t;

/* The metrics registry's series and checks (metrics.listen). */
typedef struct {
	metrics_t *m;
	metrics_series_t **feed_ev, **feed_bad, **feed_rec, **feed_age; /* per feed */
	metrics_series_t *node_ev, *node_bad, *node_rec;
	metrics_series_t **trips;   /* per trigger */
	metrics_series_t *tx_sent, *tx_replaced, *tx_mined, *tx_reverted, *tx_failed;
	metrics_series_t **rpc_err; /* per chain.rpc endpoint */
	metrics_series_t *t2w;      /* trip-to-wire seconds */
	metrics_series_t *nonce;    /* NULL without a signer */
	metrics_series_t *balance;  /* NULL without a signer */
	metrics_series_t *relay_ok, *relay_rej, *relay_fail; /* NULL: no relay */
	metrics_series_t *hook_ok, *hook_fail, *hook_drop;   /* NULL: no notify */
	metrics_check_t *c_feed, *c_node, *c_balance, *c_state;
	uint64_t state_errors;      /* tracker's count at the last collect */
	int64_t state_bad_until;    /* wall ms: state_file fails until then */
	rpc_transport_t inner;      /* rpc_http's, wrapped to see the wire */
	live_wire_t wire[LIVE_WIRE_PENDING];
	size_t wire_head, wire_len;
	uint64_t wire_seq;
} live_metrics_t;

struct live_bal {
	live_t *lv;
	engine_want_t w;
	uint8_t call[4 + 32];   /* balanceOf(holder) calldata, tokens */
	bool want;              /* a read at (block, time) is due */
	bool in_ring;
	bool inflight;
	bool failing;           /* the last read failed (logged once) */
	bool ever;              /* read successfully at least once */
	uint64_t block;         /* the newest head to read at */
	int64_t time_ms;        /* its arrival on the engine clock */
	uint64_t rd_block;      /* the read in flight */
	int64_t rd_time;
};

/* A mempool trigger.  det judges by tcfg, a copy of the trigger (of the
 * latest accepted config) whose watch is always the first config's: sim
 * keeps the watch of a request in flight, and det_mempool matches a
 * result to its watch by pointer, so that pointer must survive reloads. */
typedef struct {
	size_t trigger;         /* index in the config's triggers[] */
	config_trigger_t tcfg;
	det_mempool_t det;
} live_mp_t;

/* A simulation asked for mempool trigger mp and not yet answered. */
typedef struct {
	live_t *lv;
	size_t mp;
	event_tx_t tx;          /* fixed fields only: input is "0x" */
	int64_t seen_ms;        /* engine clock when it was matched */
	size_t next_free;
} live_simreq_t;

/* A liquidation trigger. */
typedef struct {
	live_t *lv;
	size_t trigger;
	liq_scan_t *scan;
	size_t known;           /* borrowers in the book, as last logged */
	bool catching_up;       /* as last seen */
} live_liq_t;

struct live {
	const config_keeper_t *cfg;
	live_opts_t opts;
	loop_t *loop;
	rpc_http_t *http;
	rpc_client_t *rpc;
	rpc_client_t *sim_rpc;  /* the sim's, with large request bodies */
	node_t *node;
	feeds_t *feeds;
	engine_t *eng;
	sim_t *sim;
	live_mp_t *mp;
	size_t nmp;
	live_simreq_t *req;     /* LIVE_SIM_PENDING, with sim */
	size_t req_free;        /* head of the free list; SIZE_MAX: none */
	bool warned;            /* warned_hash holds the last unjudged tx */
	uint8_t warned_hash[32];
	live_liq_t *liq;
	size_t nliq;
	bool liq_catchup;       /* the start's discovery catch-up is due */
	loop_timer_t tick;
	bool started;
	int64_t now;            /* the engine clock, never decreasing */
	live_bal_t *bal;
	size_t nbal;
	size_t *ring;           /* wants waiting to be sent */
	size_t ring_head, ring_len;
	size_t inflight;
	size_t nbal_read;       /* wants read at least once */
	tracker_t *trk;
	relay_t *relay;         /* the private strategies' relays, or NULL */
	notify_t *notify;       /* the actions' webhooks, or NULL */
	volatile sig_atomic_t stopping; /* live_stop() was called */
	volatile sig_atomic_t abort_;   /* ... and called again */
	bool draining;          /* the loop runs on for transactions in flight */
	int64_t drain_until;    /* monotonic ms */
	engine_stats_t eng_base;/* the counters of engines a reload replaced */
	live_metrics_t ms;      /* ms.m NULL: no metrics.listen */
	live_stats_t st;
};

/* The engine clock: the loop turn's wall time, held still if the system
 * clock steps back. */
static int64_t live_now(live_t *lv)
{
	int64_t t = loop_wall_ms(lv->loop);

	if (t > lv->now)
		lv->now = t;
	return lv->now;
}

/* ---- trip to wire ------------------------------------------------------------ */

/*
 * keeper_trip_to_wire_seconds is measured from the trip (before the
 * tracker sees it) to the moment the first eth_sendRawTransaction after it
 * is handed to the rpc transport: the chain.rpc transport is wrapped, and
 * while trips wait the request bodies are searched for that method.  The
 * tracker has no "first broadcast" hook, and its guard read makes the
 * send asynchronous, so the wrapper is the one place that sees the wire
 * itself.  Trips wait in order, and the oldest is paired with the next
 * send: exact for one lane at a time, an approximation when several
 * actions send at once.  A trip whose transaction is never signed (a guard
 * reading true, a failure before signing) leaves the queue by its outcome.
 */
static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool is_send_raw(const char *body, size_t len)
{
	static const char m[] = "\"eth_sendRawTransaction\"";
	size_t n = sizeof m - 1;

	for (size_t i = 0; i + n <= len; i++)
		if (body[i] == '"' && memcmp(body + i, m, n) == 0)
			return true;
	return false;
}

static kerr_t wire_send(void *ctx, size_t url_index, const char *body, size_t len,
			uint32_t timeout_ms, rpc_net_done_fn done, void *done_arg)
{
	live_t *lv = ctx;
	live_metrics_t *ms = &lv->ms;
	kerr_t err = ms->inner.send(ms->inner.ctx, url_index, body, len, timeout_ms,
				    done, done_arg);

	if (err == KERR_OK && ms->wire_len && is_send_raw(body, len)) {
		metrics_observe(ms->t2w, mono_s() - ms->wire[ms->wire_head].t0);
		ms->wire_head = (ms->wire_head + 1) % LIVE_WIRE_PENDING;
		ms->wire_len--;
	}
	return err;
}

/* A trip about to go to the tracker; its sequence number. */
static uint64_t wire_push(live_t *lv, size_t trigger, double t0)
{
	live_metrics_t *ms = &lv->ms;
	live_wire_t *w;

	if (ms->wire_len == LIVE_WIRE_PENDING) {
		/* The oldest never reached the wire: forget it. */
		ms->wire_head = (ms->wire_head + 1) % LIVE_WIRE_PENDING;
		ms->wire_len--;
	}
	w = &ms->wire[(ms->wire_head + ms->wire_len) % LIVE_WIRE_PENDING];
	w->t0 = t0;
	w->trigger = trigger;
	w->seq = ++ms->wire_seq;
	ms->wire_len++;
	return w->seq;
}

/* Take the waiting trip at position k of the queue out. */
static void wire_remove(live_metrics_t *ms, size_t k)
{
	for (size_t j = k; j + 1 < ms->wire_len; j++)
		ms->wire[(ms->wire_head + j) % LIVE_WIRE_PENDING] =
			ms->wire[(ms->wire_head + j + 1) % LIVE_WIRE_PENDING];
	ms->wire_len--;
}

/* The tracker refused the trip seq at once: it will never be sent. */
static void wire_cancel(live_t *lv, uint64_t seq)
{
	live_metrics_t *ms = &lv->ms;

	for (size_t k = 0; k < ms->wire_len; k++)
		if (ms->wire[(ms->wire_head + k) % LIVE_WIRE_PENDING].seq == seq) {
			wire_remove(ms, k);
			return;
		}
}

/* A trip of this trigger ended without a transaction: its oldest waiting
 * entry goes. */
static void wire_unsigned(live_t *lv, const char *trigger)
{
	live_metrics_t *ms = &lv->ms;

	for (size_t k = 0; k < ms->wire_len; k++) {
		size_t t = ms->wire[(ms->wire_head + k) % LIVE_WIRE_PENDING].trigger;

		if (!strcmp(lv->cfg->triggers[t].name, trigger)) {
			wire_remove(ms, k);
			return;
		}
	}
}

/* ---- trips ---------------------------------------------------------------- */

static void log_trip(const live_t *lv, size_t i, const detect_trip_t *t)
{
	const config_trigger_t *c = i < lv->cfg->ntriggers ? &lv->cfg->triggers[i] : NULL;
	char msg[1536], ts[25], a[ADDR_TEXT_LEN], dec[80], dec2[80], hx[67];
	size_t n = 0, cap = sizeof msg;

	log_format_time(t->time_ms, ts);
	n += (size_t)snprintf(msg, cap, "%s kind=%s value=%.6g threshold=%.6g unit=%s time=%s",
			      t->trigger ? t->trigger : "?",
			      config_trigger_kind_name(t->kind), t->value, t->threshold,
			      detect_unit_name(t->unit), ts);
	if (c && c->action && n < cap)
		n += (size_t)snprintf(msg + n, cap - n, " action=%s", c->action->name);
	if (t->has_tx && n < cap) {
		hx[0] = '0';
		hx[1] = 'x';
		hex_encode(hx + 2, t->tx_hash, 32);
		hx[66] = 0;
		n += (size_t)snprintf(msg + n, cap - n, " tx=%s", hx);
	}
	if (t->has_tx && n < cap) {
		addr_to_checksum(&t->tx_from, a);
		n += (size_t)snprintf(msg + n, cap - n, " sender=%s tx_type=%u", a,
				      (unsigned)t->tx_type);
	}
	/* The rival's bid, as a gas strategy reads it: one price before
	 * EIP-1559, the two caps after. */
	if (t->has_tx && t->tx_type < 2 && n < cap) {
		u256_to_dec(&t->tx_gas_price, dec, sizeof dec);
		n += (size_t)snprintf(msg + n, cap - n, " gas_price=%s", dec);
	} else if (t->has_tx && n < cap) {
		u256_to_dec(&t->tx_max_fee, dec, sizeof dec);
		u256_to_dec(&t->tx_max_priority_fee, dec2, sizeof dec2);
		n += (size_t)snprintf(msg + n, cap - n, " max_fee=%s max_priority_fee=%s",
				      dec, dec2);
	}
	if (t->has_account && n < cap) {
		addr_to_checksum(&t->account, a);
		n += (size_t)snprintf(msg + n, cap - n, " account=%s", a);
	}
	if (t->has_amount && n < cap) {
		u256_to_dec(&t->amount, dec, sizeof dec);
		n += (size_t)snprintf(msg + n, cap - n, " amount=%s", dec);
	}
	if (t->has_token && n < cap) {
		addr_to_checksum(&t->token, a);
		n += (size_t)snprintf(msg + n, cap - n, " token=%s", a);
	}
	log_msg(LOGL_WARN, "trip", "%s", msg);
}

static live_liq_t *liq_of(live_t *lv, size_t trigger)
{
	for (size_t i = 0; i < lv->nliq; i++)
		if (lv->liq[i].trigger == trigger)
			return &lv->liq[i];
	return NULL;
}

/* A liquidation trip's account is re-armed in its book. */
static void liq_resolve(live_t *lv, size_t trigger, const addr_t *a, liq_outcome_t how)
{
	live_liq_t *l = liq_of(lv, trigger);
	kerr_t err;

	if (l && (err = liq_scan_resolved(l->scan, a, how)) != KERR_OK)
		log_warn("run", "trigger %s: resolving an account: %s",
			 lv->cfg->triggers[trigger].name, kerr_str(err));
}

/* The tracker's outcomes: only liquidation books need to hear of them
 * (the tracker logged each already). */
static void on_outcome(void *arg, const tracker_outcome_t *o)
{
	live_t *lv = arg;
	liq_outcome_t how;

	if (lv->ms.m && o->final && !o->has_tx)
		wire_unsigned(lv, o->trigger);
	if (!o->final || !o->has_account || o->result == TRACKER_DRY_RUN)
		return;
	switch (o->result) {
	case TRACKER_FAILED:
		how = LIQ_FAILED;
		break;
	default:
		/* mined, reverted, or the guard says it is done */
		how = LIQ_MINED;
		break;
	}
	for (size_t i = 0; i < lv->nliq; i++)
		if (!strcmp(lv->cfg->triggers[lv->liq[i].trigger].name, o->trigger))
			liq_resolve(lv, lv->liq[i].trigger, &o->account, how);
}

/* The trip's action: the tracker's. */
static void act(live_t *lv, size_t trigger, const detect_trip_t *trip, double t0)
{
	const config_trigger_t *c = &lv->cfg->triggers[trigger];
	uint64_t seq = 0;
	kerr_t err;

	if (!lv->trk || !c->action)
		return;
	if (lv->stopping) {
		lv->st.trips_ignored++;
		log_warn("run", "trigger %s: stopping, trip not acted on", c->name);
		return;
	}
	/* Queued before the call: the presigned path sends inside it.  A
	 * private action's transaction goes to its relay only, never to the
	 * chain.rpc transport this measures at: nothing to wait for. */
	if (lv->ms.m && lv->opts.signer && !lv->opts.dry_run &&
	    (c->action->gas->strategy != CONFIG_GAS_PRIVATE || c->action->gas->also_public))
		seq = wire_push(lv, trigger, t0);
	err = tracker_trip(lv->trk, c, trip);
	if (err == KERR_OK)
		return;
	if (seq)
		wire_cancel(lv, seq);
	lv->st.trips_refused++;
	/* A busy lane is the tracker's to log: its transaction answers. */
	if (err != KERR_IN_FLIGHT)
		log_error("run", "trigger %s: action %s not taken: %s", c->name,
			  c->action->name, kerr_str(err));
	if (err != KERR_IN_FLIGHT && trip->has_account)
		liq_resolve(lv, trigger, &trip->account, LIQ_FAILED);
}

/* Every trip, whoever evaluated it: counted, logged, handed on. */
static void emit_trip(live_t *lv, size_t trigger, const detect_trip_t *trip)
{
	double t0 = lv->ms.m ? mono_s() : 0;

	lv->st.trips++;
	if (lv->ms.m && trigger < lv->cfg->ntriggers)
		metrics_inc(lv->ms.trips[trigger]);
	log_trip(lv, trigger, trip);
	act(lv, trigger, trip, t0);
	if (lv->opts.on_trip)
		lv->opts.on_trip(lv->opts.ctx, trigger, trip);
}

static void on_trip(void *ctx, size_t trigger, const detect_trip_t *trip)
{
	emit_trip(ctx, trigger, trip);
}

/* ---- mempool -------------------------------------------------------------- */

static void tx_hash_text(const uint8_t hash[32], char out[67])
{
	out[0] = '0';
	out[1] = 'x';
	hex_encode(out + 2, hash, 32);
	out[66] = 0;
}

/* A match left unjudged: counted, and one warning per transaction (the
 * requests of several triggers for one transaction fail together). */
static void sim_unjudged(live_t *lv, const live_mp_t *m, const event_tx_t *tx,
			 kerr_t err, const sim_result_t *r)
{
	char hx[67], why[128];

	lv->st.sim_unjudged++;
	tx_hash_text(tx->hash, hx);
	if (r && err == KERR_RPC_ERROR)
		snprintf(why, sizeof why, "%s (code %lld)", kerr_str(err), (long long)r->code);
	else
		snprintf(why, sizeof why, "%s", kerr_str(err));
	if (lv->warned && memcmp(lv->warned_hash, tx->hash, 32) == 0) {
		log_debug("run", "trigger %s: tx %s not simulated: %s",
			  lv->cfg->triggers[m->trigger].name, hx, why);
		return;
	}
	lv->warned = true;
	memcpy(lv->warned_hash, tx->hash, 32);
	log_warn("run", "trigger %s: tx %s could not be simulated (%s%s%s): not judged",
		 lv->cfg->triggers[m->trigger].name, hx, why,
		 r && r->what ? ", at " : "", r && r->what ? r->what : "");
}

/* A verdict over the threshold that the trigger's cooldown held back
 * (its suppressed count moved past `before`): said at info, so that an
 * attack keeper saw and left to its previous trip -- perhaps a previous
 * process's, from the state file -- does not look like one it missed. */
static void mp_held(const live_t *lv, const live_mp_t *m, const event_tx_t *tx,
		    uint64_t before)
{
	const detect_trigger_t *tr = &m->det.tr;
	char hx[67], ts[25];

	if (tr->suppressed == before)
		return;
	tx_hash_text(tx->hash, hx);
	log_format_time(tr->last_trip_ms, ts);
	log_info("run", "trigger %s: tx %s is over the threshold but inside the cooldown "
		 "(cooldown_ms %llu after the trip at %s): suppressed",
		 lv->cfg->triggers[m->trigger].name, hx, (unsigned long long)tr->cooldown_ms, ts);
}

/* The verdict on a matched tx whose simulation failed with err. */
static void judge_unsimulated(live_t *lv, live_mp_t *m, const event_tx_t *tx,
			      kerr_t err, const sim_result_t *r)
{
	detect_trip_t trip;
	uint64_t held = m->det.tr.suppressed;
	char hx[67];

	if (!det_mempool_unsimulable(err)) {
		det_mempool_judge_failed(&m->det, tx, err, live_now(lv), NULL);
		sim_unjudged(lv, m, tx, err, r);
		return;
	}
	lv->st.sim_unsimulable++;
	tx_hash_text(tx->hash, hx);
	log_info("run", "trigger %s: tx %s defeats simulation (%s): judged as the "
		 "worst case", lv->cfg->triggers[m->trigger].name, hx, kerr_str(err));
	if (det_mempool_judge_failed(&m->det, tx, err, live_now(lv), &trip))
		emit_trip(lv, m->trigger, &trip);
	else
		mp_held(lv, m, tx, held);
}

/* A pending transaction a mempool trigger looks at.  Debug only: every
 * deposit to a watched vault matches a trigger without selectors, and
 * the ones that trip say when they were seen (log_sim, the trip line). */
static void log_match(const live_t *lv, const live_mp_t *m, const event_tx_t *tx)
{
	char hx[67], from[ADDR_TEXT_LEN];

	if (!log_enabled(LOGL_DEBUG))
		return;
	tx_hash_text(tx->hash, hx);
	addr_to_checksum(&tx->from, from);
	log_debug("run", "trigger %s: pending tx %s from %s matches%s",
		  lv->cfg->triggers[m->trigger].name, hx, from,
		  m->det.cfg->simulate ? ": simulating" : "");
}

/* A simulation's verdict, logged before its trip (info) or instead of
 * one (debug): when the transaction was seen, how long the node took, and
 * what it would move out, so that a reaction can be timed from the
 * attack's arrival and a trip traced to the node's answer. */
static void log_sim(const live_t *lv, const live_mp_t *m, const sim_result_t *r,
		    int64_t seen_ms, int64_t now, bool tripped)
{
	char msg[1024], hx[67], a[ADDR_TEXT_LEN], loss[80], before[80], ts[25];
	size_t n = 0, cap = sizeof msg, out = 0;
	log_level_t level = tripped ? LOGL_INFO : LOGL_DEBUG;

	if (!log_enabled(level))
		return;
	msg[0] = 0;
	for (size_t i = 0; i < r->nassets && !r->reverted && n < cap; i++) {
		const sim_asset_t *s = &r->asset[i];

		if (!s->known || u256_is_zero(&s->loss))
			continue;
		out++;
		u256_to_dec(&s->loss, loss, sizeof loss);
		if (i == 0)
			snprintf(a, sizeof a, "ETH");
		else
			addr_to_checksum(&s->token, a);
		if (s->has_balance) {
			u256_to_dec(&s->before, before, sizeof before);
			n += (size_t)snprintf(msg + n, cap - n, "%s %s %s of %s",
					      out > 1 ? "," : "", a, loss, before);
		} else {
			n += (size_t)snprintf(msg + n, cap - n, "%s %s %s",
					      out > 1 ? "," : "", a, loss);
		}
	}
	tx_hash_text(r->hash, hx);
	log_format_time(seen_ms, ts);
	log_msg(level, "run", "trigger %s: tx %s seen pending at %s, simulated in %lld ms "
		"(%s%s): %s%s", lv->cfg->triggers[m->trigger].name, hx, ts,
		(long long)(now - seen_ms), sim_method_name(r->method),
		r->cached ? ", cached" : "",
		r->reverted ? "reverts" : out ? "moves out" : "moves nothing out", msg);
}

static void on_sim(void *arg, const sim_result_t *r)
{
	live_simreq_t *q = arg;
	live_t *lv = q->lv;
	live_mp_t *m = &lv->mp[q->mp];
	event_tx_t tx = q->tx;
	int64_t seen_ms = q->seen_ms, now;
	uint64_t held = m->det.tr.suppressed;
	detect_trip_t trip;
	bool tripped;

	/* The record goes back first: a trip's callback may see more. */
	q->next_free = lv->req_free;
	lv->req_free = (size_t)(q - lv->req);
	if (r->err) {
		judge_unsimulated(lv, m, &tx, r->err, r);
		return;
	}
	now = live_now(lv);
	tripped = det_mempool_judge(&m->det, &tx, r, now, &trip);
	log_sim(lv, m, r, seen_ms, now, tripped);
	if (tripped)
		emit_trip(lv, m->trigger, &trip);
	else
		mp_held(lv, m, &tx, held);
}

static void mempool_ask(live_t *lv, size_t i, const event_tx_t *tx)
{
	live_mp_t *m = &lv->mp[i];
	live_simreq_t *q;
	size_t k = lv->req_free;
	kerr_t err;

	if (k == SIZE_MAX) {
		judge_unsimulated(lv, m, tx, KERR_RPC_BUSY, NULL);
		return;
	}
	q = &lv->req[k];
	lv->req_free = q->next_free;
	q->lv = lv;
	q->mp = i;
	q->tx = *tx;
	q->tx.input = (event_hex_t){ "0x", 2 };
	q->seen_ms = live_now(lv);
	err = sim_request(lv->sim, m->det.cfg->watch, tx, on_sim, q);
	if (err == KERR_OK) {
		lv->st.sim_requests++;
		return;
	}
	q->next_free = lv->req_free;
	lv->req_free = k;
	judge_unsimulated(lv, m, tx, err, NULL);
}

static void mempool_event(live_t *lv, const event_tx_t *tx, int64_t now)
{
	detect_trip_t trip;

	for (size_t i = 0; i < lv->nmp; i++) {
		live_mp_t *m = &lv->mp[i];
		uint64_t held = m->det.tr.suppressed;

		if (!det_mempool_match(&m->det, tx))
			continue;
		lv->st.mempool_matched++;
		log_match(lv, m, tx);
		if (m->det.cfg->simulate)
			mempool_ask(lv, i, tx);
		else if (det_mempool_judge(&m->det, tx, NULL, now, &trip))
			emit_trip(lv, m->trigger, &trip);
		else
			mp_held(lv, m, tx, held);
	}
}

/* ---- liquidation ------------------------------------------------------------ */

static void on_liq_trip(void *arg, const detect_trip_t *trip)
{
	live_liq_t *l = arg;

	emit_trip(l->lv, l->trigger, trip);
}

/* What the books learnt since the last tick, one line each: borrowers
 * are few and come seldom, and an operator must be able to see that
 * discovery works. */
static void liq_report(live_t *lv)
{
	for (size_t i = 0; i < lv->nliq; i++) {
		live_liq_t *l = &lv->liq[i];
		const char *name = lv->cfg->triggers[l->trigger].name;
		size_t n = liq_count(liq_scan_book(l->scan));
		liq_scan_stats_t ls;

		liq_scan_stats(l->scan, &ls);
		if (n != l->known)
			log_info("run", "trigger %s: %zu borrowers known", name, n);
		if (l->catching_up && !ls.catching_up)
			log_info("run", "trigger %s: past logs read (%llu calls, %llu failed)",
				 name, (unsigned long long)ls.catchup_calls,
				 (unsigned long long)ls.catchup_errors);
		l->known = n;
		l->catching_up = ls.catching_up;
	}
}

/* The start's discovery: the last LIVE_LIQ_CATCHUP_BLOCKS blocks up to
 * head. */
static void liq_catch_up_all(live_t *lv, uint64_t head)
{
	uint64_t from = head >= LIVE_LIQ_CATCHUP_BLOCKS ? head - LIVE_LIQ_CATCHUP_BLOCKS + 1 : 0;

	lv->liq_catchup = false;
	for (size_t i = 0; i < lv->nliq; i++) {
		live_liq_t *l = &lv->liq[i];
		kerr_t err;

		if (!lv->cfg->triggers[l->trigger].discover.sig)
			continue;
		if ((err = liq_scan_catch_up(l->scan, from, head))) {
			log_warn("run", "trigger %s: cannot read past %s logs: %s",
				 lv->cfg->triggers[l->trigger].name,
				 lv->cfg->triggers[l->trigger].discover.sig, kerr_str(err));
			continue;
		}
		l->catching_up = true;
		log_info("run", "trigger %s: reading %s logs of blocks %llu..%llu",
			 lv->cfg->triggers[l->trigger].name,
			 lv->cfg->triggers[l->trigger].discover.sig,
			 (unsigned long long)from, (unsigned long long)head);
	}
}

/* ---- balances ------------------------------------------------------------- */

static void bal_pump(live_t *lv);

static void ring_push(live_t *lv, size_t i)
{
	lv->ring[(lv->ring_head + lv->ring_len) % lv->nbal] = i;
	lv->ring_len++;
	lv->bal[i].in_ring = true;
}

static const char *bal_name(const live_bal_t *b, char tok[ADDR_TEXT_LEN])
{
	if (!b->w.is_token)
		return "ETH";
	addr_to_checksum(&b->w.token, tok);
	return tok;
}

static void bal_failed(live_bal_t *b, const char *why)
{
	live_t *lv = b->lv;
	char tok[ADDR_TEXT_LEN];

	lv->st.balance_failed++;
	/* One warning when a balance starts failing, not one per head. */
	if (!b->failing)
		log_warn("run", "watch %s: reading the %s balance at block %llu failed: "
			 "%s; retrying at each new head",
			 lv->cfg->watch[b->w.watch].name, bal_name(b, tok),
			 (unsigned long long)b->rd_block, why);
	else
		log_debug("run", "watch %s: %s balance at block %llu: %s",
			  lv->cfg->watch[b->w.watch].name, bal_name(b, tok),
			  (unsigned long long)b->rd_block, why);
	b->failing = true;
}

static void on_balance(void *arg, const rpc_reply_t *r)
{
	live_bal_t *b = arg;
	live_t *lv = b->lv;
	u256_t v;
	kerr_t err = r->err;

	b->inflight = false;
	lv->inflight--;
	if (!err) {
		if (b->w.is_token) {
			uint8_t word[32];

			/* balanceOf returns one uint256 word; anything else
			 * (a "0x" from an address without code) is no balance. */
			err = jtok_fixed(r->doc, r->result, word, 32);
			if (!err)
				err = u256_from_be(&v, word, 32);
		} else {
			err = jtok_u256(r->doc, r->result, &v);
		}
	}
	if (err) {
		char why[RPC_MSG_MAX + 64];

		if (err == KERR_RPC_ERROR && r->out)
			snprintf(why, sizeof why, "%s: %s", kerr_str(err), r->out->message);
		else
			snprintf(why, sizeof why, "%s", kerr_str(err));
		bal_failed(b, why);
	} else {
		char tok[ADDR_TEXT_LEN];

		if (b->failing)
			log_info("run", "watch %s: the %s balance reads again",
				 lv->cfg->watch[b->w.watch].name, bal_name(b, tok));
		b->failing = false;
		lv->st.balance_ok++;
		if (!b->ever) {
			b->ever = true;
			/* From here on every outflow trigger has its bases. */
			if (++lv->nbal_read == lv->nbal)
				log_info("run", "all %zu watched balances read (block %llu)",
					 lv->nbal, (unsigned long long)b->rd_block);
		}
		err = engine_balance(lv->eng, b->w.watch, b->w.asset, b->rd_block,
				     b->rd_time, &v);
		if (err)
			log_warn("run", "watch %s: balance at block %llu refused: %s",
				 lv->cfg->watch[b->w.watch].name,
				 (unsigned long long)b->rd_block, kerr_str(err));
	}
	if (b->want && !b->in_ring)
		ring_push(lv, (size_t)(b - lv->bal));
	bal_pump(lv);
}

/* Send waiting reads while there is room. */
static void bal_pump(live_t *lv)
{
	while (lv->ring_len && lv->inflight < LIVE_BALANCE_INFLIGHT) {
		size_t i = lv->ring[lv->ring_head];
		live_bal_t *b = &lv->bal[i];
		kerr_t err;

		lv->ring_head = (lv->ring_head + 1) % lv->nbal;
		lv->ring_len--;
		b->in_ring = false;
		if (b->inflight || !b->want)
			continue;
		b->want = false;
		b->rd_block = b->block;
		b->rd_time = b->time_ms;
		if (b->w.is_token)
			err = rpc_eth_call(lv->rpc, &b->w.token, b->call, sizeof b->call,
					   RPC_BLOCK_NUM(b->block), on_balance, b, NULL);
		else
			err = rpc_get_balance(lv->rpc, &b->w.holder, RPC_BLOCK_NUM(b->block),
					      on_balance, b, NULL);
		if (err) {
			/* Left for the next head, like a failed read. */
			bal_failed(b, kerr_str(err));
			if (err == KERR_RPC_BUSY)
				break;
			continue;
		}
		b->inflight = true;
		lv->inflight++;
		lv->st.balance_reads++;
	}
}

/* Read every wanted balance at block, which arrived at time_ms. */
static void bal_read_all(live_t *lv, uint64_t block, int64_t time_ms)
{
	if (!lv->nbal)
		return;
	lv->st.heads++;
	for (size_t i = 0; i < lv->nbal; i++) {
		live_bal_t *b = &lv->bal[i];

		b->want = true;
		b->block = block;
		b->time_ms = time_ms;
		if (!b->in_ring && !b->inflight)
			ring_push(lv, i);
	}
	bal_pump(lv);
}

/* eth_blockNumber at start: the first reading of every balance. */
static void on_block_number(void *arg, const rpc_reply_t *r)
{
	live_t *lv = arg;
	uint64_t n;
	kerr_t err = r->err;

	if (!err)
		err = jtok_u64(r->doc, r->result, &n);
	if (err) {
		log_warn("run", "eth_blockNumber at start failed: %s; balances are "
			 "read and past logs searched from the first head on",
			 kerr_str(err));
		return;
	}
	bal_read_all(lv, n, live_now(lv));
	if (lv->liq_catchup)
		liq_catch_up_all(lv, n);
}

/* ---- events and time ------------------------------------------------------- */

static void on_event(void *ctx, const event_t *ev)
{
	live_t *lv = ctx;
	int64_t now = live_now(lv);

	engine_event(lv->eng, ev, now);
	if (ev->kind == EV_HEAD)
		bal_read_all(lv, ev->head.number, now);
	if (ev->kind == EV_PENDING_TX)
		mempool_event(lv, &ev->tx, now);
	if (ev->kind == EV_HEAD && lv->liq_catchup)
		liq_catch_up_all(lv, ev->head.number);
	for (size_t i = 0; i < lv->nliq; i++)
		liq_scan_event(lv->liq[i].scan, ev);
	if (ev->kind == EV_HEAD && lv->trk)
		tracker_head(lv->trk, &ev->head);
}

void live_event(live_t *lv, const event_t *ev)
{
	if (lv && ev)
		on_event(lv, ev);
}

/* Transactions the tracker still follows. */
static size_t drain_left(live_t *lv)
{
	tracker_stats_t ts;

	tracker_stats(lv->trk, &ts);
	return ts.in_flight;
}

static void on_tick(loop_t *loop, void *arg)
{
	live_t *lv = arg;

	(void)loop;
	engine_time(lv->eng, live_now(lv));
	liq_report(lv);
	if (lv->draining && (drain_left(lv) == 0 || loop_now_ms(lv->loop) >= lv->drain_until))
		loop_stop(lv->loop);
	loop_timer_arm_ms(&lv->tick, lv->opts.tick_ms);
}

/* ---- setup ---------------------------------------------------------------- */

void live_free(live_t *lv)
{
	if (!lv)
		return;
	if (lv->loop)
		loop_timer_cancel(&lv->tick);
	/* The registry first: no scrape may reach the modules below. */
	metrics_free(lv->ms.m);
	free(lv->ms.feed_ev);
	free(lv->ms.trips);
	free(lv->ms.rpc_err);
	/* rpc_http first: it drops the completions that point at the node,
	 * the balance wants, the sim, the scans and the tracker. */
	rpc_http_free(lv->http);
	/* The tracker forgets its relay submissions, then the relay and the
	 * webhooks drop what they still hold. */
	tracker_free(lv->trk);
	relay_free(lv->relay);
	notify_free(lv->notify);
	sim_free(lv->sim);
	for (size_t i = 0; lv->liq && i < lv->nliq; i++)
		liq_scan_free(lv->liq[i].scan);
	node_free(lv->node);
	feeds_free(lv->feeds);
	rpc_free(lv->sim_rpc);
	rpc_free(lv->rpc);
	engine_free(lv->eng);
	loop_destroy(lv->loop);
	free(lv->bal);
	free(lv->ring);
	free(lv->mp);
	free(lv->req);
	free(lv->liq);
	free(lv);
}

static kerr_t setup_balances(live_t *lv)
{
	uint8_t sel[32];
	static const char sig[] = "balanceOf(address)";
	size_t n = engine_balance_wants(lv->eng, NULL, 0);
	engine_want_t *w;

	if (!n)
		return KERR_OK;
	w = calloc(n, sizeof *w);
	lv->bal = calloc(n, sizeof *lv->bal);
	lv->ring = calloc(n, sizeof *lv->ring);
	if (!w || !lv->bal || !lv->ring) {
		free(w);
		return KERR_NOMEM;
	}
	lv->nbal = n;
	engine_balance_wants(lv->eng, w, n);
	keccak256(sel, (const uint8_t *)sig, sizeof sig - 1);
	for (size_t i = 0; i < n; i++) {
		live_bal_t *b = &lv->bal[i];

		b->lv = lv;
		b->w = w[i];
		memcpy(b->call, sel, 4);
		memcpy(b->call + 4 + 12, w[i].holder.b, 20);
	}
	free(w);
	return KERR_OK;
}

/* The det_mempool of each mempool trigger, and the sim when one of them
 * simulates. */
static kerr_t setup_mempool(live_t *lv, const rpc_transport_t *tr, size_t *bad)
{
	const config_keeper_t *cfg = lv->cfg;
	size_t n = 0, maxtok = 0;
	bool simulate = false;
	kerr_t err;

	for (size_t i = 0; i < cfg->ntriggers; i++)
		n += cfg->triggers[i].kind == CONFIG_TRIGGER_MEMPOOL;
	if (!n)
		return KERR_OK;
	if (!(lv->mp = calloc(n, sizeof *lv->mp)))
		return KERR_NOMEM;
	for (size_t i = 0; i < cfg->ntriggers; i++) {
		const config_trigger_t *t = &cfg->triggers[i];
		live_mp_t *m;

		if (t->kind != CONFIG_TRIGGER_MEMPOOL)
			continue;
		m = &lv->mp[lv->nmp];
		m->trigger = i;
		m->tcfg = *t;
		if ((err = det_mempool_init(&m->det, &m->tcfg))) {
			if (bad)
				*bad = i;
			return err;
		}
		lv->nmp++;
		if (t->simulate) {
			simulate = true;
			if (t->watch->ntokens > maxtok)
				maxtok = t->watch->ntokens;
		}
	}
	if (!simulate)
		return KERR_OK;
	{
		/* A simulation has at most max(2, tokens) calls out at once
		 * (the debug_traceCall fallback: two traces, then one
		 * balanceOf per token that lost). */
		size_t per = maxtok > 2 ? maxtok : 2, slots = SIM_INFLIGHT_DEFAULT * per;
		rpc_opts_t ro = {
			.slots = slots > RPC_MAX_SLOTS ? RPC_MAX_SLOTS : slots,
			.max_request = SIM_REQUEST_MAX + 256,
		};
		sim_opts_t so = { .max_assets = 1 + maxtok };

		if ((err = rpc_new(&lv->sim_rpc, cfg->chain.nrpc, tr, rpc_http_clock,
				   lv->loop, &ro)) ||
		    (err = sim_new(&lv->sim, lv->sim_rpc, rpc_http_clock, lv->loop,
				   lv->loop, &so)))
			return err;
	}
	if (!(lv->req = calloc(LIVE_SIM_PENDING, sizeof *lv->req)))
		return KERR_NOMEM;
	for (size_t k = 0; k < LIVE_SIM_PENDING; k++)
		lv->req[k].next_free = k + 1 < LIVE_SIM_PENDING ? k + 1 : SIZE_MAX;
	lv->req_free = 0;
	return KERR_OK;
}

/* One liq_scan per liquidation trigger, on the chain.rpc client. */
static kerr_t setup_liquidation(live_t *lv, size_t *bad)
{
	const config_keeper_t *cfg = lv->cfg;
	size_t n = 0;
	kerr_t err;

	for (size_t i = 0; i < cfg->ntriggers; i++)
		n += cfg->triggers[i].kind == CONFIG_TRIGGER_LIQUIDATION;
	if (!n)
		return KERR_OK;
	if (!(lv->liq = calloc(n, sizeof *lv->liq)))
		return KERR_NOMEM;
	for (size_t i = 0; i < cfg->ntriggers; i++) {
		const config_trigger_t *t = &cfg->triggers[i];
		live_liq_t *l;

		if (t->kind != CONFIG_TRIGGER_LIQUIDATION)
			continue;
		l = &lv->liq[lv->nliq];
		l->lv = lv;
		l->trigger = i;
		if ((err = liq_scan_new(&l->scan, cfg, t, lv->rpc, on_liq_trip, l, NULL))) {
			if (bad && err != KERR_NOMEM)
				*bad = i;
			return err;
		}
		lv->nliq++;
		if (t->discover.sig)
			lv->liq_catchup = true;
	}
	return KERR_OK;
}

/* The tracker's clock: the engine's (wall time, never back). */
static uint64_t live_clock(void *ctx)
{
	return (uint64_t)live_now(ctx);
}

/*
 * The cooldowns of the state file (tracker_state: the trips the previous
 * process acted on) handed to the triggers, so that neither a restart nor
 * a reload trips again within cooldown_ms of them (engine.h,
 * engine_seed_cooldown).  A mempool trigger's own wrapper takes it here,
 * on the engine clock its trips are stamped with, never later than now.
 * Liquidation triggers are not seeded: their cooldowns are per account,
 * which the file does not keep (a lane's transaction in flight holds an
 * account back instead).  With announce, one line per trigger seeded.
 */
static void seed_cooldowns(live_t *lv, bool announce)
{
	const config_keeper_t *cfg = lv->cfg;
	const state_t *st = tracker_state(lv->trk);
	int64_t now = live_now(lv);

	for (size_t k = 0; k < st->ncooldowns; k++) {
		const state_cooldown_t *c = &st->cooldowns[k];
		int64_t at = c->last_trip_ms, until;
		char ts[25], ts2[25];
		uint64_t cd;
		bool took;
		size_t i;

		for (i = 0; i < cfg->ntriggers && strcmp(cfg->triggers[i].name, c->trigger); i++)
			;
		if (i == cfg->ntriggers)
			continue;   /* a trigger the config no longer has */
		took = engine_seed_cooldown(lv->eng, i, at);
		for (size_t j = 0; j < lv->nmp; j++)
			if (lv->mp[j].trigger == i)
				took |= detect_trigger_seed(&lv->mp[j].det.tr, at < now ? at : now);
		cd = cfg->triggers[i].cooldown_ms;
		if (!took || !announce || !cd)
			continue;
		until = cd < (uint64_t)(INT64_MAX - at) ? at + (int64_t)cd : INT64_MAX;
		log_format_time(at, ts);
		log_format_time(until, ts2);
		log_info("run", "trigger %s: last tripped at %s (state file): cooldown_ms %llu, "
			 "no trip before %s", c->trigger, ts, (unsigned long long)cd, ts2);
	}
}

/* Whether address a is a watch entry (the node then delivers its logs). */
static bool watched(const config_keeper_t *cfg, const addr_t *a)
{
	for (size_t i = 0; i < cfg->nwatch; i++)
		if (addr_eq(&cfg->watch[i].address, a))
			return true;
	return false;
}

/* ---- metrics ------------------------------------------------------------------ */

/* A failed state file write keeps /healthz failing this long: the tracker
 * counts failures but not successes, and one scrape must not miss it. */
#define LIVE_STATE_BAD_MS 60000

/* Append name to a ", "-separated list in buf, as far as it fits. */
static void list_add(char *buf, size_t cap, size_t *n, const char *name)
{
	if (*n < cap)
		*n += (size_t)snprintf(buf + *n, cap - *n, "%s%s", *n ? ", " : "", name);
}

/* The collect hook: the modules' own counters into the series, and the
 * health checks judged now. */
static void live_collect(void *ctx)
{
	live_t *lv = ctx;
	live_metrics_t *ms = &lv->ms;
	const config_keeper_t *cfg = lv->cfg;
	int64_t wall = loop_wall_ms(lv->loop);
	char stale[METRICS_REASON_MAX];
	size_t nstale = 0;
	node_stats_t ns;
	tracker_stats_t ts;

	stale[0] = 0;
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		feeds_stats_t fs;

		if (feeds_stats(lv->feeds, i, &fs) != KERR_OK)
			continue;
		metrics_set(ms->feed_ev[i], (double)fs.ticks);
		metrics_set(ms->feed_bad[i], (double)(fs.bad_json + fs.bad_missing +
						      fs.bad_value + fs.oversized + fs.binary));
		metrics_set(ms->feed_rec[i], (double)fs.reconnects);
		metrics_set(ms->feed_age[i], fs.last_tick_ms < 0 ? NAN :
			    (double)(wall - fs.last_tick_ms) / 1000.0);
		if (fs.is_stale)
			list_add(stale, sizeof stale, &nstale, cfg->feeds[i].name);
	}
	if (nstale)
		metrics_check_fail(ms->c_feed, "stale: %s", stale);
	else
		metrics_check_pass(ms->c_feed);

	node_stats(lv->node, &ns);
	metrics_set(ms->node_ev, (double)(ns.heads + ns.txs + ns.logs));
	metrics_set(ms->node_bad, (double)ns.malformed);
	metrics_set(ms->node_rec, (double)ns.reconnects);
	/* ws counts a reconnect for every close of an open socket and every
	 * failed attempt: more opens than closes means open now. */
	if (ns.ws.opens > ns.ws.reconnects - ns.ws.connect_fails)
		metrics_check_pass(ms->c_node);
	else if (ns.ws.opens)
		metrics_check_fail(ms->c_node, "disconnected, reconnecting (%llu reconnects)",
				   (unsigned long long)ns.ws.reconnects);
	else
		metrics_check_fail(ms->c_node, "not connected yet");

	tracker_stats(lv->trk, &ts);
	metrics_set(ms->tx_sent, (double)ts.sent);
	metrics_set(ms->tx_replaced, (double)ts.replaced);
	metrics_set(ms->tx_mined, (double)ts.mined);
	metrics_set(ms->tx_reverted, (double)ts.reverted);
	metrics_set(ms->tx_failed, (double)ts.failed);
	if (ms->balance)
		metrics_set(ms->balance, ts.has_balance ? ts.balance_wei : NAN);
	if (ts.low_balance)
		metrics_check_fail(ms->c_balance, "below gas_limit x max_fee_gwei of the "
				   "costliest action");
	else
		metrics_check_pass(ms->c_balance);
	if (ts.state_errors > ms->state_errors) {
		ms->state_errors = ts.state_errors;
		ms->state_bad_until = wall + LIVE_STATE_BAD_MS;
	}
	if (ms->state_bad_until && wall < ms->state_bad_until)
		metrics_check_fail(ms->c_state, "%s: %llu writes failed, the last within "
				   "%d s", cfg->state_file ? cfg->state_file : "state file",
				   (unsigned long long)ts.state_errors, LIVE_STATE_BAD_MS / 1000);
	else
		metrics_check_pass(ms->c_state);
	if (ms->nonce) {
		const nonce_t *n = tracker_nonce(lv->trk);

		metrics_set(ms->nonce, n && n->synced ? (double)n->next : NAN);
	}
	if (lv->relay) {
		relay_stats_t rs;

		relay_stats(lv->relay, &rs);
		metrics_set(ms->relay_ok, (double)rs.accepted);
		metrics_set(ms->relay_rej, (double)rs.rejected);
		metrics_set(ms->relay_fail, (double)rs.failed);
	}
	if (lv->notify) {
		notify_stats_t nst;

		notify_stats(lv->notify, &nst);
		metrics_set(ms->hook_ok, (double)nst.delivered);
		metrics_set(ms->hook_fail, (double)nst.failed);
		metrics_set(ms->hook_drop, (double)nst.dropped);
	}

	for (size_t i = 0; i < cfg->chain.nrpc; i++) {
		rpc_endpoint_stats_t es;
		uint64_t e = 0;

		/* The sim's client talks to the same endpoints. */
		for (int c = 0; c < 2; c++) {
			rpc_client_t *r = c ? lv->sim_rpc : lv->rpc;

			if (!r || rpc_stats(r, i, &es) != KERR_OK)
				continue;
			e += es.rpc_errors;
			for (size_t k = 0; k < RPC_FAIL_KINDS; k++)
				e += es.fail[k];
		}
		metrics_set(ms->rpc_err[i], (double)e);
	}
}

/* One series of a labelled family. */
static kerr_t series1(metrics_family_t *f, const char *value, metrics_series_t **out)
{
	const char *v[1] = { value };

	return metrics_series_new(f, v, out);
}

/* A labelled family of one label. */
static kerr_t family1(metrics_t *m, metrics_type_t type, const char *name,
		      const char *help, const char *label, metrics_family_t **out)
{
	const char *l[1] = { label };

	return metrics_family_new(m, type, name, help, l, 1, NULL, 0, out);
}

/* The registry, its series and checks, and the server (metrics.listen). */
static kerr_t setup_metrics(live_t *lv)
{
	const config_keeper_t *cfg = lv->cfg;
	live_metrics_t *ms = &lv->ms;
	metrics_family_t *ev, *bad, *rec, *age, *trips, *txs, *rpce, *fam;
	size_t nf = cfg->nfeeds;
	char idx[24];
	int port = 0;
	kerr_t err;

	if ((err = metrics_new(NULL, &ms->m)))
		return err;
	ms->feed_ev = calloc(nf ? 4 * nf : 1, sizeof *ms->feed_ev);
	ms->trips = calloc(cfg->ntriggers ? cfg->ntriggers : 1, sizeof *ms->trips);
	ms->rpc_err = calloc(cfg->chain.nrpc, sizeof *ms->rpc_err);
	if (!ms->feed_ev || !ms->trips || !ms->rpc_err)
		return KERR_NOMEM;
	ms->feed_bad = ms->feed_ev + nf;
	ms->feed_rec = ms->feed_ev + 2 * nf;
	ms->feed_age = ms->feed_ev + 3 * nf;
	if ((err = family1(ms->m, METRICS_COUNTER, "keeper_events_total",
			   "Events passed to the detectors: price ticks of each feed, "
			   "heads, pending transactions and logs of the node", "source", &ev)) ||
	    (err = family1(ms->m, METRICS_COUNTER, "keeper_malformed_frames_total",
			   "Messages refused as malformed or oversized", "source", &bad)) ||
	    (err = family1(ms->m, METRICS_COUNTER, "keeper_reconnects_total",
			   "Reconnections (retries after a close or a failed attempt for a "
			   "feed, opens after the first for the node)", "source", &rec)) ||
	    (err = family1(ms->m, METRICS_GAUGE, "keeper_feed_age_seconds",
			   "Seconds since the feed's latest tick (NaN before the first)",
			   "feed", &age)))
		return err;
	for (size_t i = 0; i < nf; i++)
		if ((err = series1(ev, cfg->feeds[i].name, &ms->feed_ev[i])) ||
		    (err = series1(bad, cfg->feeds[i].name, &ms->feed_bad[i])) ||
		    (err = series1(rec, cfg->feeds[i].name, &ms->feed_rec[i])) ||
		    (err = series1(age, cfg->feeds[i].name, &ms->feed_age[i])))
			return err;
	if ((err = series1(ev, "node", &ms->node_ev)) ||
	    (err = series1(bad, "node", &ms->node_bad)) ||
	    (err = series1(rec, "node", &ms->node_rec)) ||
	    (err = family1(ms->m, METRICS_COUNTER, "keeper_trips_total",
			   "Trips, by trigger", "trigger", &trips)))
		return err;
	for (size_t i = 0; i < cfg->ntriggers; i++)
		if ((err = series1(trips, cfg->triggers[i].name, &ms->trips[i])))
			return err;
	if ((err = family1(ms->m, METRICS_COUNTER, "keeper_transactions_total",
			   "Action transactions: first sends and replacements a node "
			   "accepted, receipts (mined, reverted), trips given up (failed)",
			   "result", &txs)) ||
	    (err = series1(txs, "sent", &ms->tx_sent)) ||
	    (err = series1(txs, "replaced", &ms->tx_replaced)) ||
	    (err = series1(txs, "mined", &ms->tx_mined)) ||
	    (err = series1(txs, "reverted", &ms->tx_reverted)) ||
	    (err = series1(txs, "failed", &ms->tx_failed)) ||
	    (err = metrics_histogram_new(ms->m, "keeper_trip_to_wire_seconds",
					 "From a trip to its first eth_sendRawTransaction "
					 "handed to the chain.rpc transport",
					 metrics_latency_buckets, METRICS_LATENCY_BUCKETS_N,
					 &ms->t2w)) ||
	    (err = family1(ms->m, METRICS_COUNTER, "keeper_rpc_errors_total",
			   "chain.rpc calls that failed (transport, HTTP, malformed) or "
			   "got a JSON-RPC error, by endpoint index in chain.rpc",
			   "endpoint", &rpce)))
		return err;
	for (size_t i = 0; i < cfg->chain.nrpc; i++) {
		snprintf(idx, sizeof idx, "%zu", i);
		if ((err = series1(rpce, idx, &ms->rpc_err[i])))
			return err;
	}
	if (lv->opts.signer &&
	    ((err = metrics_gauge_new(ms->m, "keeper_nonce", "The nonce the signer's next "
				      "transaction gets (NaN until read from the chain)",
				      &ms->nonce)) ||
	     (err = metrics_gauge_new(ms->m, "keeper_signer_balance_wei", "The signer's "
				      "balance at the last head, wei (NaN until read)",
				      &ms->balance))))
		return err;
	if (lv->relay &&
	    ((err = family1(ms->m, METRICS_COUNTER, "keeper_relay_requests_total",
			    "Requests to the private relays: accepted, rejected (a JSON-RPC "
			    "error), failed (transport, HTTP, malformed reply, not started)",
			    "result", &fam)) ||
	     (err = series1(fam, "accepted", &ms->relay_ok)) ||
	     (err = series1(fam, "rejected", &ms->relay_rej)) ||
	     (err = series1(fam, "failed", &ms->relay_fail))))
		return err;
	if (lv->notify &&
	    ((err = family1(ms->m, METRICS_COUNTER, "keeper_webhooks_total",
			    "Webhook bodies: delivered (2xx), failed (given up), dropped "
			    "(pushed out of a full queue)", "result", &fam)) ||
	     (err = series1(fam, "delivered", &ms->hook_ok)) ||
	     (err = series1(fam, "failed", &ms->hook_fail)) ||
	     (err = series1(fam, "dropped", &ms->hook_drop))))
		return err;
	if ((err = metrics_check_new(ms->m, "feed", &ms->c_feed)) ||
	    (err = metrics_check_new(ms->m, "node", &ms->c_node)) ||
	    (err = metrics_check_new(ms->m, "signer_balance", &ms->c_balance)) ||
	    (err = metrics_check_new(ms->m, "state_file", &ms->c_state)))
		return err;
	metrics_on_collect(ms->m, live_collect, lv);
	if ((err = metrics_listen(ms->m, lv->loop, cfg->metrics_listen, &port))) {
		log_error("run", "metrics.listen %s: cannot serve: %s%s", cfg->metrics_listen,
			  kerr_str(err), err == KERR_IO ? " (the port is taken?)" : "");
		return err;
	}
	log_info("run", "metrics on %s (port %d): GET /metrics, GET /healthz",
		 cfg->metrics_listen, port);
	return KERR_OK;
}

/* The relay client of the private gas strategies and the webhook queue,
 * when the config has either and the tracker sends (a dry run posts and
 * submits nothing). */
static kerr_t setup_hands(live_t *lv)
{
	const config_keeper_t *cfg = lv->cfg;
	bool priv = false, hooks = false;
	kerr_t err;

	if (!lv->opts.signer || lv->opts.dry_run)
		return KERR_OK;
	for (size_t i = 0; i < cfg->nactions; i++) {
		priv |= cfg->actions[i].gas->strategy == CONFIG_GAS_PRIVATE;
		hooks |= cfg->actions[i].notify != NULL;
	}
	if (priv && (err = relay_new(&lv->relay, lv->loop, cfg, lv->opts.signer, NULL))) {
		log_error("run", "cannot set up the private relays: %s", kerr_str(err));
		return err;
	}
	if (hooks && (err = notify_new(&lv->notify, lv->loop, NULL))) {
		log_error("run", "cannot set up the webhooks: %s", kerr_str(err));
		return err;
	}
	return KERR_OK;
}

kerr_t live_new(const config_keeper_t *cfg, const live_opts_t *opts,
		live_t **out, size_t *bad)
{
	live_t *lv;
	rpc_transport_t tr;
	engine_opts_t eo;
	kerr_t err;

	if (bad)
		*bad = SIZE_MAX;
	if (!cfg || !out || !cfg->chain.nrpc)
		return KERR_ARG;
	*out = NULL;
	if (!(lv = calloc(1, sizeof *lv)))
		return KERR_NOMEM;
	lv->cfg = cfg;
	if (opts)
		lv->opts = *opts;
	if (!lv->opts.tick_ms)
		lv->opts.tick_ms = LIVE_TICK_MS_DEFAULT;
	if ((err = loop_create(NULL, &lv->loop)))
		goto fail;
	loop_timer_init(&lv->tick, lv->loop, on_tick, lv);
	lv->now = loop_wall_ms(lv->loop);
	memset(&eo, 0, sizeof eo);
	eo.start_ms = lv->now;
	eo.min_block_ms = lv->opts.min_block_ms;
	if ((err = engine_new(cfg, &eo, on_trip, lv, &lv->eng, bad)))
		goto fail;
	if ((err = setup_balances(lv)))
		goto fail;
	if ((err = rpc_http_new(lv->loop, cfg->chain.rpc, cfg->chain.nrpc, NULL,
				&lv->http)))
		goto fail;
	tr = rpc_http_transport(lv->http);
	if (cfg->metrics_listen) {
		lv->ms.inner = tr;
		tr.ctx = lv;
		tr.send = wire_send;
	}
	if ((err = rpc_new(&lv->rpc, cfg->chain.nrpc, &tr, rpc_http_clock, lv->loop,
			   NULL)))
		goto fail;
	if ((err = setup_mempool(lv, &tr, bad)) || (err = setup_liquidation(lv, bad)))
		goto fail;
	if ((err = node_new(lv->loop, cfg, lv->rpc, on_event, NULL, lv, &lv->node)) ||
	    (err = feeds_new(lv->loop, cfg, on_event, NULL, lv, &lv->feeds)))
		goto fail;
	/* A drain already pending at start (or announced while the node's
	 * socket was down) is read from the pool: only mempool triggers
	 * look at pending transactions. */
	if (lv->nmp && (err = node_set_options(lv->node, &(node_opts_t){ .read_pending = true })))
		goto fail;
	if ((err = setup_hands(lv)))
		goto fail;
	{
		tracker_opts_t to = { .dry_run = lv->opts.dry_run, .relay = lv->relay,
				      .notify = lv->notify };

		if ((err = tracker_new(&lv->trk, cfg, lv->opts.signer, lv->rpc, lv->loop,
				       live_clock, lv, cfg->state_file, on_outcome, lv,
				       &to)))
			goto fail;
	}
	seed_cooldowns(lv, true);
	if (cfg->metrics_listen && (err = setup_metrics(lv)))
		goto fail;
	*out = lv;
	return KERR_OK;
fail:
	live_free(lv);
	return err;
}

/*
 * The stop's grace: the loop runs on (heads, receipts, escalation) until
 * nothing is in flight, drain_ms has passed, or live_stop() is called
 * again; the tick timer checks the first two.  What is left is in the
 * state file, which the caller's next start resumes.
 */
static kerr_t drain(live_t *lv)
{
	size_t n = drain_left(lv);
	kerr_t err;

	lv->st.drained = true;
	log_info("run", "stopping: %zu transaction%s in flight; following %s up to %u.%03u s "
		 "(a second SIGINT or SIGTERM stops at once)", n, n == 1 ? "" : "s",
		 n == 1 ? "it" : "them", (unsigned)(lv->opts.drain_ms / 1000),
		 (unsigned)(lv->opts.drain_ms % 1000));
	lv->drain_until = loop_now_ms(lv->loop) + (int64_t)lv->opts.drain_ms;
	lv->draining = true;
	err = loop_run(lv->loop);
	lv->draining = false;
	if (err)
		return err;
	n = drain_left(lv);
	if (lv->abort_) {
		lv->st.aborted = true;
		log_warn("run", "stopping at once (second signal): %zu transaction%s in flight, "
			 "saved for the next start", n, n == 1 ? "" : "s");
	} else if (n) {
		lv->st.drain_expired = true;
		log_warn("run", "stopping: %u.%03u s passed with %zu transaction%s in flight, "
			 "saved for the next start", (unsigned)(lv->opts.drain_ms / 1000),
			 (unsigned)(lv->opts.drain_ms % 1000), n, n == 1 ? "" : "s");
	} else {
		log_info("run", "stopping: nothing in flight any more");
	}
	return KERR_OK;
}

kerr_t live_run(live_t *lv)
{
	kerr_t err;

	if (!lv || lv->started)
		return KERR_ARG;
	lv->started = true;
	if ((err = feeds_start(lv->feeds))) {
		log_error("run", "cannot start the feeds: %s", kerr_str(err));
		return err;
	}
	if ((err = node_start(lv->node))) {
		log_error("run", "cannot connect to the node %s: %s", lv->cfg->chain.ws,
			  kerr_str(err));
		return err;
	}
	for (size_t i = 0; i < lv->nliq; i++) {
		const config_trigger_t *t = &lv->cfg->triggers[lv->liq[i].trigger];
		char a[ADDR_TEXT_LEN];

		if (!t->discover.sig || watched(lv->cfg, &t->pool))
			continue;
		addr_to_checksum(&t->pool, a);
		log_warn("run", "trigger %s: pool %s is not a watch entry, so its %s logs "
			 "are read for the last %u blocks at start only: add it to watch "
			 "to discover new borrowers", t->name, a, t->discover.sig,
			 (unsigned)LIVE_LIQ_CATCHUP_BLOCKS);
	}
	if ((lv->nbal || lv->liq_catchup) &&
	    (err = rpc_block_number(lv->rpc, on_block_number, lv, NULL)))
		log_warn("run", "eth_blockNumber at start: %s; balances are read and "
			 "past logs searched from the first head on", kerr_str(err));
	if ((err = tracker_start(lv->trk))) {
		log_error("run", "cannot start the tracker: %s", kerr_str(err));
		return err;
	}
	loop_timer_arm_ms(&lv->tick, lv->opts.tick_ms);
	err = loop_run(lv->loop);
	if (!err && lv->stopping && !lv->abort_ && lv->opts.drain_ms && drain_left(lv))
		err = drain(lv);
	loop_timer_cancel(&lv->tick);
	if (err)
		log_error("run", "the event loop failed: %s", kerr_str(err));
	/* Every change was saved as it happened; this is the last word. */
	tracker_save(lv->trk);
	return err;
}

void live_stop(live_t *lv)
{
	if (!lv)
		return;
	if (lv->stopping)
		lv->abort_ = 1;
	lv->stopping = 1;
	if (lv->loop)
		loop_stop(lv->loop);
}

engine_t *live_engine(live_t *lv)
{
	return lv ? lv->eng : NULL;
}

loop_t *live_loop(live_t *lv)
{
	return lv ? lv->loop : NULL;
}

tracker_t *live_tracker(live_t *lv)
{
	return lv ? lv->trk : NULL;
}

bool live_evaluates(const live_t *lv, size_t trigger)
{
	engine_trigger_stats_t ts;
	config_trigger_kind_t k;

	if (!lv || trigger >= lv->cfg->ntriggers ||
	    engine_trigger_stats(lv->eng, trigger, &ts) != KERR_OK)
		return false;
	k = lv->cfg->triggers[trigger].kind;
	return !ts.external || k == CONFIG_TRIGGER_MEMPOOL || k == CONFIG_TRIGGER_LIQUIDATION;
}

/* ---- reload ------------------------------------------------------------------- */

/* a += b, for the counters of an engine a reload replaced. */
static void eng_stats_add(engine_stats_t *a, const engine_stats_t *b)
{
	a->events += b->events;
	for (size_t k = 0; k < ENGINE_EVENT_KINDS; k++)
		a->by_event[k] += b->by_event[k];
	a->unrouted += b->unrouted;
	a->bad_feed += b->bad_feed;
	a->time_calls += b->time_calls;
	a->time_backwards += b->time_backwards;
	a->balances += b->balances;
	a->balance_refused += b->balance_refused;
	a->balance_unwanted += b->balance_unwanted;
	a->trips += b->trips;
	a->external_refused += b->external_refused;
	for (size_t k = 0; k < CONFIG_TRIGGER_KINDS; k++) {
		a->kind_routed[k] += b->kind_routed[k];
		a->kind_trips[k] += b->kind_trips[k];
	}
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Two references to named config entries (an action, a feed, a watch) are
 * the same when the names are: the lists themselves are compared apart. */
#define NAME_OF(p) ((p) ? (p)->name : NULL)

/* One refused difference: logged, counted. */
static void refuse(size_t *n, const char *what, const char *name)
{
	(*n)++;
	if (name)
		log_error("run", "reload: %s \"%s\" changed: it needs a restart", what, name);
	else
		log_error("run", "reload: %s changed: it needs a restart", what);
}

static bool feed_same(const config_feed_t *a, const config_feed_t *b)
{
	return str_same(a->name, b->name) && str_same(a->url, b->url) &&
	       str_same(a->subscribe, b->subscribe) && a->preset == b->preset &&
	       str_same(a->price, b->price) && str_same(a->time, b->time) &&
	       str_same(a->match_path, b->match_path) &&
	       str_same(a->match_value, b->match_value) && a->stale_after_ms == b->stale_after_ms;
}

static bool watch_same(const config_watch_t *a, const config_watch_t *b)
{
	if (!str_same(a->name, b->name) || !addr_eq(&a->address, &b->address) ||
	    a->ntokens != b->ntokens)
		return false;
	for (size_t k = 0; k < a->ntokens; k++)
		if (!addr_eq(&a->tokens[k], &b->tokens[k]))
			return false;
	return true;
}

static bool gas_same(const config_gas_t *a, const config_gas_t *b)
{
	return str_same(a->name, b->name) && a->strategy == b->strategy &&
	       u256_cmp(&a->max_fee, &b->max_fee) == 0 &&
	       u256_cmp(&a->priority_fee, &b->priority_fee) == 0 &&
	       a->base_multiplier == b->base_multiplier &&
	       a->priority_percentile == b->priority_percentile && a->bump_pct == b->bump_pct &&
	       a->every_ms == b->every_ms && str_same(a->relay, b->relay) &&
	       a->mode == b->mode && a->also_public == b->also_public;
}

static bool action_same(const config_action_t *a, const config_action_t *b)
{
	if (!str_same(a->name, b->name) || !addr_eq(&a->to, &b->to) ||
	    strcmp(a->call.canonical, b->call.canonical) || a->nargs != b->nargs ||
	    a->has_guard != b->has_guard ||
	    (a->has_guard && strcmp(a->guard.canonical, b->guard.canonical)) ||
	    a->gas_limit != b->gas_limit || !str_same(NAME_OF(a->gas), NAME_OF(b->gas)) ||
	    a->presign != b->presign || !str_same(a->notify, b->notify))
		return false;
	for (size_t k = 0; k < a->nargs; k++)
		if (a->args[k].src != b->args[k].src || !str_same(a->args[k].text, b->args[k].text))
			return false;
	return true;
}

/* A liquidation trigger's settings: its scan and book stay. */
static bool liq_same(const config_trigger_t *a, const config_trigger_t *b)
{
	if (!addr_eq(&a->pool, &b->pool) || !addr_eq(&a->debt_to, &b->debt_to) ||
	    !str_same(a->health.sig, b->health.sig) ||
	    !str_same(a->liquidatable.sig, b->liquidatable.sig) ||
	    !str_same(a->debt.sig, b->debt.sig) || a->health_word != b->health_word ||
	    a->close_factor_pct != b->close_factor_pct || a->naccounts != b->naccounts ||
	    !str_same(a->discover.sig, b->discover.sig) ||
	    a->discover_topic != b->discover_topic || a->confirm_ms != b->confirm_ms ||
	    a->confirm_ticks != b->confirm_ticks || a->cooldown_ms != b->cooldown_ms)
		return false;
	for (size_t k = 0; k < a->naccounts; k++)
		if (!addr_eq(&a->accounts[k], &b->accounts[k]))
			return false;
	return true;
}

/* What a trigger is tied to: its name, kind, action, feeds and watch. */
static bool trigger_ties_same(const config_trigger_t *a, const config_trigger_t *b)
{
	return str_same(a->name, b->name) && a->kind == b->kind &&
	       str_same(NAME_OF(a->action), NAME_OF(b->action)) &&
	       str_same(NAME_OF(a->feed), NAME_OF(b->feed)) &&
	       str_same(NAME_OF(a->feeds[0]), NAME_OF(b->feeds[0])) &&
	       str_same(NAME_OF(a->feeds[1]), NAME_OF(b->feeds[1])) &&
	       str_same(NAME_OF(a->watch), NAME_OF(b->watch));
}

/* Every difference between the running config a and b that cannot be
 * applied in place, each logged; their number. */
static size_t reload_refusals(const config_keeper_t *a, const config_keeper_t *b)
{
	size_t n = 0;
	bool same;

	same = a->chain.id == b->chain.id && str_same(a->chain.ws, b->chain.ws) &&
	       a->chain.nrpc == b->chain.nrpc;
	for (size_t k = 0; same && k < a->chain.nrpc; k++)
		same = str_same(a->chain.rpc[k], b->chain.rpc[k]);
	if (!same)
		refuse(&n, "chain", NULL);
	if (a->signer.kind != b->signer.kind || !str_same(a->signer.key_file, b->signer.key_file) ||
	    !str_same(a->signer.keystore, b->signer.keystore) ||
	    !str_same(a->signer.password_file, b->signer.password_file))
		refuse(&n, "signer", NULL);
	if (a->nfeeds != b->nfeeds)
		refuse(&n, "the list of feeds", NULL);
	for (size_t k = 0; a->nfeeds == b->nfeeds && k < a->nfeeds; k++)
		if (!feed_same(&a->feeds[k], &b->feeds[k]))
			refuse(&n, "feed", a->feeds[k].name);
	if (a->nwatch != b->nwatch)
		refuse(&n, "the list of watch entries", NULL);
	for (size_t k = 0; a->nwatch == b->nwatch && k < a->nwatch; k++)
		if (!watch_same(&a->watch[k], &b->watch[k]))
			refuse(&n, "watch entry", a->watch[k].name);
	if (a->nactions != b->nactions)
		refuse(&n, "the list of actions", NULL);
	for (size_t k = 0; a->nactions == b->nactions && k < a->nactions; k++)
		if (!action_same(&a->actions[k], &b->actions[k]))
			refuse(&n, "action", a->actions[k].name);
	if (a->ngas != b->ngas)
		refuse(&n, "the list of gas strategies", NULL);
	for (size_t k = 0; a->ngas == b->ngas && k < a->ngas; k++)
		if (!gas_same(&a->gas[k], &b->gas[k]))
			refuse(&n, "gas strategy", a->gas[k].name);
	if (!str_same(a->metrics_listen, b->metrics_listen))
		refuse(&n, "metrics.listen", NULL);
	if (!str_same(a->state_file, b->state_file))
		refuse(&n, "state_file", NULL);
	if (a->ntriggers != b->ntriggers)
		refuse(&n, "the list of triggers", NULL);
	for (size_t k = 0; a->ntriggers == b->ntriggers && k < a->ntriggers; k++) {
		const config_trigger_t *x = &a->triggers[k], *y = &b->triggers[k];

		if (!trigger_ties_same(x, y))
			refuse(&n, "the name, kind, action, feed or watch of trigger", x->name);
		else if (x->kind == CONFIG_TRIGGER_LIQUIDATION && !liq_same(x, y))
			refuse(&n, "liquidation trigger", x->name);
		else if (x->kind == CONFIG_TRIGGER_MEMPOOL && x->simulate != y->simulate)
			refuse(&n, "the simulate setting of trigger", x->name);
	}
	return n;
}

kerr_t live_reload(live_t *lv, const config_keeper_t *cfg)
{
	engine_t *eng = NULL;
	engine_opts_t eo;
	engine_stats_t es;
	config_trigger_t *tc = NULL;
	size_t bad = SIZE_MAX, n, k;
	kerr_t err;

	if (!lv || !cfg)
		return KERR_ARG;
	if ((n = reload_refusals(lv->cfg, cfg))) {
		lv->st.reloads_refused++;
		log_error("run", "reload of %s refused (%zu difference%s above); the running "
			  "config stays", cfg->path ? cfg->path : "the config", n, n == 1 ? "" : "s");
		return KERR_CONFIG_INVALID;
	}
	/* Everything is built before anything is swapped: a refusal leaves the
	 * running detectors untouched. */
	memset(&eo, 0, sizeof eo);
	eo.start_ms = live_now(lv);
	eo.min_block_ms = lv->opts.min_block_ms;
	err = engine_new(cfg, &eo, on_trip, lv, &eng, &bad);
	if (!err && engine_balance_wants(eng, NULL, 0) != lv->nbal)
		err = KERR_CONFIG_INVALID;   /* the same triggers and watch: cannot happen */
	if (!err && lv->nmp && !(tc = calloc(lv->nmp, sizeof *tc)))
		err = KERR_NOMEM;
	for (k = 0; !err && k < lv->nmp; k++) {
		det_mempool_t d;

		tc[k] = cfg->triggers[lv->mp[k].trigger];
		tc[k].watch = lv->cfg->triggers[lv->mp[k].trigger].watch;
		if ((err = det_mempool_init(&d, &tc[k])))
			bad = lv->mp[k].trigger;
	}
	if (err) {
		lv->st.reloads_refused++;
		if (bad < cfg->ntriggers)
			log_error("run", "reload: %s:%d: trigger \"%s\": %s; the running config "
				  "stays", cfg->path ? cfg->path : "config",
				  cfg->triggers[bad].line, cfg->triggers[bad].name, kerr_str(err));
		else
			log_error("run", "reload: %s; the running config stays", kerr_str(err));
		engine_free(eng);
		free(tc);
		return err;
	}
	engine_stats(lv->eng, &es);
	eng_stats_add(&lv->eng_base, &es);
	engine_free(lv->eng);
	lv->eng = eng;
	for (k = 0; k < lv->nmp; k++) {
		live_mp_t *m = &lv->mp[k];

		m->tcfg = tc[k];
		/* accepted above on the same settings */
		det_mempool_init(&m->det, &m->tcfg);
	}
	free(tc);
	/* As at a start: the trips acted on keep their cooldowns. */
	seed_cooldowns(lv, false);
	lv->st.reloads++;
	log_info("run", "reloaded %s: %zu triggers with the new settings (their windows "
		 "and confirm start afresh; cooldowns run on from the state file)",
		 cfg->path ? cfg->path : "the config", cfg->ntriggers);
	return KERR_OK;
}

void live_stats(const live_t *lv, live_stats_t *out)
{
	if (!lv || !out)
		return;
	*out = lv->st;
	engine_stats(lv->eng, &out->engine);
	eng_stats_add(&out->engine, &lv->eng_base);
	tracker_stats(lv->trk, &out->tracker);
	if (lv->relay)
		relay_stats(lv->relay, &out->relay);
	if (lv->notify)
		notify_stats(lv->notify, &out->notify);
	for (size_t i = 0; i < lv->nliq; i++) {
		liq_scan_stats_t ls;

		liq_scan_stats(lv->liq[i].scan, &ls);
		out->liq_scans += ls.scans;
		out->liq_errors += ls.call_errors + ls.malformed + ls.submit_errors;
		out->liq_discovered += ls.discovered;
	}
}
