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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeper/feeds.h"
#include "keeper/live.h"
#include "keeper/log.h"
#include "keeper/node.h"
#include "keeper/rpc.h"
#include "keeper/rpc_http.h"
#include "signer/hex.h"
#include "signer/keccak.h"

typedef struct live_bal live_bal_t;

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

struct live {
	const config_keeper_t *cfg;
	live_opts_t opts;
	loop_t *loop;
	rpc_http_t *http;
	rpc_client_t *rpc;
	node_t *node;
	feeds_t *feeds;
	engine_t *eng;
	loop_timer_t tick;
	bool started;
	int64_t now;            /* the engine clock, never decreasing */
	live_bal_t *bal;
	size_t nbal;
	size_t *ring;           /* wants waiting to be sent */
	size_t ring_head, ring_len;
	size_t inflight;
	size_t nbal_read;       /* wants read at least once */
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

/* ---- trips ---------------------------------------------------------------- */

static void log_trip(const live_t *lv, size_t i, const detect_trip_t *t)
{
	const config_trigger_t *c = i < lv->cfg->ntriggers ? &lv->cfg->triggers[i] : NULL;
	char msg[1024], ts[25], a[ADDR_TEXT_LEN], dec[80], hx[67];
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
		n += (size_t)snprintf(msg + n, cap - n, " sender=%s", a);
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

static void on_trip(void *ctx, size_t trigger, const detect_trip_t *trip)
{
	live_t *lv = ctx;

	log_trip(lv, trigger, trip);
	if (lv->opts.on_trip)
		lv->opts.on_trip(lv->opts.ctx, trigger, trip);
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
			 "read from the first head on", kerr_str(err));
		return;
	}
	bal_read_all(lv, n, live_now(lv));
}

/* ---- events and time ------------------------------------------------------- */

static void on_event(void *ctx, const event_t *ev)
{
	live_t *lv = ctx;
	int64_t now = live_now(lv);

	engine_event(lv->eng, ev, now);
	if (ev->kind == EV_HEAD)
		bal_read_all(lv, ev->head.number, now);
}

static void on_tick(loop_t *loop, void *arg)
{
	live_t *lv = arg;

	(void)loop;
	engine_time(lv->eng, live_now(lv));
	loop_timer_arm_ms(&lv->tick, lv->opts.tick_ms);
}

/* ---- setup ---------------------------------------------------------------- */

void live_free(live_t *lv)
{
	if (!lv)
		return;
	if (lv->loop)
		loop_timer_cancel(&lv->tick);
	/* rpc_http first: it drops the completions that point at the node
	 * and at the balance wants. */
	rpc_http_free(lv->http);
	node_free(lv->node);
	feeds_free(lv->feeds);
	rpc_free(lv->rpc);
	engine_free(lv->eng);
	loop_destroy(lv->loop);
	free(lv->bal);
	free(lv->ring);
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
	if ((err = rpc_new(&lv->rpc, cfg->chain.nrpc, &tr, rpc_http_clock, lv->loop,
			   NULL)))
		goto fail;
	if ((err = node_new(lv->loop, cfg, lv->rpc, on_event, NULL, lv, &lv->node)) ||
	    (err = feeds_new(lv->loop, cfg, on_event, NULL, lv, &lv->feeds)))
		goto fail;
	*out = lv;
	return KERR_OK;
fail:
	live_free(lv);
	return err;
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
	if (lv->nbal && (err = rpc_block_number(lv->rpc, on_block_number, lv, NULL)))
		log_warn("run", "eth_blockNumber at start: %s; balances are read from "
			 "the first head on", kerr_str(err));
	loop_timer_arm_ms(&lv->tick, lv->opts.tick_ms);
	err = loop_run(lv->loop);
	loop_timer_cancel(&lv->tick);
	if (err)
		log_error("run", "the event loop failed: %s", kerr_str(err));
	return err;
}

void live_stop(live_t *lv)
{
	if (lv && lv->loop)
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

void live_stats(const live_t *lv, live_stats_t *out)
{
	if (!lv || !out)
		return;
	*out = lv->st;
	engine_stats(lv->eng, &out->engine);
}
