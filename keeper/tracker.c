/*
 * tracker: submission and tracking of the actions' transactions
 * (keeper/tracker.h has the rules).  The code is organised around the
 * head round: every chain read of one round is collected first, then all
 * decisions are made at once in finish_round(), so that no decision sees
 * half a round.  Completions find their object through a small struct op
 * embedded in it; an object is never reused while one of its calls is in
 * flight (its `ops` count), so a completion never lands on a stranger.
 */
#include "keeper/tracker.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeper/log.h"
#include "keeper/notify.h"
#include "keeper/relay.h"
#include "signer/hex.h"
#include "signer/tx.h"

#define MOD "tracker"
#define WATCH_DEFAULT 2
#define RETRY_DEFAULT 10
/* Reward percentile of the strategies that do not configure one. */
#define PCT_DEFAULT 50.0

enum phase {
	P_FREE = 0,
	P_GUARD,     /* the guard read before the first send */
	P_WAIT,      /* waiting for a nonce (or a retry) to be signed */
	P_SENDING,   /* first broadcast in flight */
	P_PENDING,   /* in flight: receipts, replacements */
	P_WATCH,     /* mined: watched for a reorg; its lane is free */
};

enum bcast_kind { B_FIRST, B_REPLACE, B_REBROADCAST };

/* A completion's way back: the tracker and the index of the object. */
struct op {
	tracker_t *t;
	size_t idx;
};

struct entry {
	int phase;
	unsigned ops;                /* calls in flight pointing here */
	const config_action_t *a;
	size_t ai;                   /* index of a in cfg->actions */
	char trigger[CONFIG_NAME_MAX + 1];
	bool has_account;
	addr_t account;
	bool has_trip;               /* false: resumed from the state file */
	detect_trip_t trip;
	int64_t trip_ms;
	uint8_t data[ACTION_CALLDATA_MAX];
	size_t data_len;
	bool has_nonce;
	uint64_t nonce;
	uint8_t raw[TRACKER_RAW_MAX];   /* the current version */
	size_t raw_len;
	uint8_t hash[32];
	gas_fees_t fees;
	int64_t sent_ms;
	uint8_t rep_raw[TRACKER_RAW_MAX]; /* a replacement being broadcast */
	size_t rep_len;
	uint8_t rep_hash[32];
	gas_fees_t rep_fees;
	uint8_t vers[TRACKER_VERSIONS][32];
	unsigned nvers;              /* versions signed (ring of the last ones) */
	bool in_state;
	bool seen_sending;           /* a round ran during its first send */
	bool bcast_busy;
	int bkind;
	bool suspect;                /* nonce used, no receipt: once */
	bool capped_reported;
	/* a private strategy's relay submission (tracker.h, Private) */
	bool relay_busy;             /* in flight, or due */
	bool relay_due;              /* waiting for a block number */
	int rkind;                   /* what it submits (enum bcast_kind) */
	bool relay_ok;               /* the last submission was accepted ... */
	uint64_t relay_last;         /* ... up to this block */
	bool relay_stale;            /* a version was signed and not submitted */
	bool unsent;                 /* its first send is not accepted yet */
	unsigned attempts;           /* signings after node refusals */
	unsigned watch_left;
	uint64_t mined_block;
	/* the round's questions (as asked: the entry may move meanwhile) */
	int q_phase;
	unsigned q_nv;               /* receipts asked, newest version first */
	uint8_t q_hash[TRACKER_VERSIONS][32];
	bool q_guard;
	/* and answers */
	bool r_ok, r_mined, r_guard_known, r_guard;
	uint64_t r_status, r_block;
	uint8_t r_hash[32];
	struct op op_guard, op_bcast, op_round, op_relay;
};

struct presign {
	bool eligible;               /* presign, literal args */
	bool valid;
	uint64_t nonce;
	gas_fees_t fees;
	uint8_t raw[TRACKER_RAW_MAX];
	size_t len;
	uint8_t hash[32];
	bool guard_done;             /* its guard read true at the last round */
	bool r_guard_known, r_guard;
	unsigned ops;
	struct op op;
};

struct fill {
	int phase;                   /* 0 free, 1 sending, 2 accepted */
	unsigned ops;
	uint64_t nonce;
	uint8_t raw[TRACKER_RAW_MAX];
	size_t len;
	uint8_t hash[32];
	bool bcast_busy;
	bool counted;                /* its acceptance is in the stats */
	struct op op;
};

struct tracker {
	const config_keeper_t *cfg;
	const signer_t *signer;
	rpc_client_t *rpc;
	loop_t *loop;
	rpc_clock_fn clock;
	void *clock_ctx;
	char *state_path;
	state_log_t *slog;      /* appends to state_path (state.h) */
	tracker_outcome_fn on_outcome;
	void *arg;
	tracker_opts_t o;
	relay_t *relay;              /* o.relay */
	notify_t *notify;            /* o.notify */
	bool need_block;             /* a private action: rounds read the block */
	bool has_block;
	uint64_t block;              /* the latest block number known */
	addr_t from;
	nonce_t nonce;
	state_t *st;
	struct entry *e;             /* TRACKER_MAX_TXS */
	struct presign *ps;          /* cfg->nactions */
	struct fill fills[TRACKER_MAX_FILLS];
	const config_action_t *filler; /* an action with a guard, or NULL */
	bool started;
	/* market */
	bool has_head;
	bool market_due;             /* the start's read of the latest block */
	struct op op_market;
	u256_t base_fee;
	uint64_t gas_used, gas_limit;
	double pct[TRACKER_MAX_PCT];
	size_t npct;
	bool need_fees;              /* some strategy reads rewards */
	u256_t *rew;                 /* npct rows of o.fee_blocks */
	size_t nrew;
	/* rounds */
	bool round_busy, round_again, again_head, round_head;
	unsigned round_wait;
	bool obs_ok, bal_ok;
	uint64_t obs_latest, obs_pending;
	u256_t balance, need;
	struct op op_obs, op_fees;
	bool obs_busy, fees_busy;
	/* every_ms */
	loop_timer_t timer;
	bool timer_on;
	uint64_t every_ms;
	tracker_stats_t s;
};

/* ---- small helpers ------------------------------------------------------ */

const char *tracker_result_name(tracker_result_t r)
{
	switch (r) {
	case TRACKER_MINED: return "mined";
	case TRACKER_REVERTED: return "reverted";
	case TRACKER_GUARD_STOPPED: return "guard_stopped";
	case TRACKER_CAPPED: return "capped";
	case TRACKER_FAILED: return "failed";
	case TRACKER_DRY_RUN: return "dry_run";
	}
	return "unknown";
}

static int64_t now_ms(const tracker_t *t)
{
	return t->clock ? (int64_t)t->clock(t->clock_ctx) : 0;
}

static void hash_text(const uint8_t h[32], char out[67])
{
	out[0] = '0', out[1] = 'x';
	hex_encode(out + 2, h, 32);
	out[66] = 0;
}

/* "max_fee=… priority_fee=…" in wei. */
static void fees_text(const gas_fees_t *f, char *out, size_t cap)
{
	char a[U256_DEC_MAX], b[U256_DEC_MAX];

	u256_to_dec(&f->max_fee, a, sizeof a);
	u256_to_dec(&f->priority_fee, b, sizeof b);
	snprintf(out, cap, "max_fee=%s priority_fee=%s", a, b);
}

static bool lane_account(const config_action_t *a)
{
	for (size_t i = 0; i < a->nargs; i++)
		if (a->args[i].src == CONFIG_ARG_ACCOUNT)
			return true;
	return false;
}

static bool args_literal(const config_action_t *a)
{
	for (size_t i = 0; i < a->nargs; i++)
		if (a->args[i].src != CONFIG_ARG_LITERAL)
			return false;
	return true;
}

static size_t action_index(const tracker_t *t, const config_action_t *a)
{
	return (size_t)(a - t->cfg->actions);
}

static size_t entry_index(const tracker_t *t, const struct entry *e)
{
	return (size_t)(e - t->e);
}

/* A lane is busy from the trip until its outcome is final. */
static bool lane_busy(const struct entry *e)
{
	return e->phase != P_FREE && e->phase != P_WATCH;
}

static struct entry *lane_find(tracker_t *t, const config_action_t *a,
			       bool has_account, const addr_t *account)
{
	for (size_t i = 0; i < TRACKER_MAX_TXS; i++) {
		struct entry *e = &t->e[i];

		if (lane_busy(e) && e->a == a && e->has_account == has_account &&
		    (!has_account || addr_eq(&e->account, account)))
			return e;
	}
	return NULL;
}

static bool is_private(const struct entry *e)
{
	return e->a->gas->strategy == CONFIG_GAS_PRIVATE;
}

/* Whether e's transactions go to chain.rpc: a private one only with
 * also_public, since a public mempool would show it to those it must
 * beat. */
static bool goes_public(const struct entry *e)
{
	return !is_private(e) || e->a->gas->also_public;
}

/* Queue m for action a's webhook, if it has one. */
static void notify_send(tracker_t *t, const config_action_t *a, const notify_msg_t *m)
{
	kerr_t err;

	if (!t->notify || !a->notify)
		return;
	if ((err = notify_post(t->notify, a->notify, m)) != KERR_OK) {
		t->s.notify_errors++;
		log_warn(MOD, "webhook %s of %s not queued: %s", notify_event_name(m->event),
			 a->name, kerr_str(err));
		return;
	}
	t->s.notified++;
}

static struct entry *entry_alloc(tracker_t *t)
{
	/* A watched entry gives way to a new one only when nothing else is
	 * free: the reorg watch is a courtesy, a trip is not. */
	struct entry *watch = NULL;

	for (size_t i = 0; i < TRACKER_MAX_TXS; i++) {
		struct entry *e = &t->e[i];

		if (e->ops)
			continue;
		if (e->phase == P_FREE)
			return e;
		if (e->phase == P_WATCH && !watch)
			watch = e;
	}
	return watch;
}

static void entry_reset(tracker_t *t, struct entry *e)
{
	size_t i = entry_index(t, e);
	unsigned ops = e->ops;

	memset(e, 0, sizeof *e);
	e->ops = ops;
	e->op_guard = (struct op){ t, i };
	e->op_bcast = (struct op){ t, i };
	e->op_round = (struct op){ t, i };
	e->op_relay = (struct op){ t, i };
}

static void push_version(struct entry *e, const uint8_t h[32])
{
	memcpy(e->vers[e->nvers % TRACKER_VERSIONS], h, 32);
	e->nvers++;
}

static unsigned nversions(const struct entry *e)
{
	return e->nvers < TRACKER_VERSIONS ? e->nvers : TRACKER_VERSIONS;
}

/* ---- state file --------------------------------------------------------- */

static kerr_t save(tracker_t *t)
{
	kerr_t err;

	if (!t->state_path)
		return KERR_OK;
	if ((err = state_log_save(t->slog, t->st)) != KERR_OK) {
		t->s.state_errors++;
		log_error(MOD, "state file %s not written: %s", t->state_path,
			  kerr_str(err));
	}
	return err;
}

/* Record e's current version (or, with rep, its replacement). */
_Static_assert(STATE_MAX_PREV >= TRACKER_VERSIONS - 1,
	       "the state file must hold every version the tracker asks about");

static void st_put(tracker_t *t, struct entry *e, bool rep)
{
	state_tx_t x;
	kerr_t err;

	memset(&x, 0, sizeof x);
	snprintf(x.action, sizeof x.action, "%s", e->a->name);
	snprintf(x.trigger, sizeof x.trigger, "%s", e->trigger);
	x.has_account = e->has_account;
	x.account = e->account;
	x.nonce = e->nonce;
	memcpy(x.hash, rep ? e->rep_hash : e->hash, 32);
	x.raw_len = rep ? e->rep_len : e->raw_len;
	memcpy(x.raw, rep ? e->rep_raw : e->raw, x.raw_len);
	/* The other versions too, oldest first: a node that never saw a
	 * replacement may mine an older bid, after a restart as well. */
	for (unsigned v = nversions(e); v > 0; v--) {
		const uint8_t *h = e->vers[(e->nvers - v) % TRACKER_VERSIONS];

		if (memcmp(h, x.hash, 32) != 0 && x.nprev < STATE_MAX_PREV)
			memcpy(x.prev[x.nprev++], h, 32);
	}
	x.max_fee = rep ? e->rep_fees.max_fee : e->fees.max_fee;
	x.priority_fee = rep ? e->rep_fees.priority_fee : e->fees.priority_fee;
	x.sent_ms = now_ms(t);
	x.trip_ms = e->trip_ms;
	if ((err = state_put_tx(t->st, &x)) != KERR_OK) {
		t->s.state_errors++;
		log_error(MOD, "state: %s nonce %" PRIu64 " not recorded: %s",
			  e->a->name, e->nonce, kerr_str(err));
		return;
	}
	e->in_state = true;
}

static void st_drop(tracker_t *t, struct entry *e)
{
	if (!e->in_state)
		return;
	state_drop_tx(t->st, e->a->name, e->has_account, &e->account, e->nonce);
	e->in_state = false;
}

/* ---- outcomes ----------------------------------------------------------- */

static void report(tracker_t *t, struct entry *e, tracker_result_t r, kerr_t err)
{
	tracker_outcome_t o;
	notify_msg_t m;
	char hs[67], fs[200];

	memset(&o, 0, sizeof o);
	o.result = r;
	o.final = r != TRACKER_CAPPED;
	o.action = e->a->name;
	o.trigger = e->trigger;
	o.has_account = e->has_account;
	o.account = e->account;
	o.has_tx = e->nvers > 0;
	o.nonce = e->nonce;
	memcpy(o.hash, (r == TRACKER_MINED || r == TRACKER_REVERTED) ? e->r_hash : e->hash, 32);
	o.fees = e->fees;
	o.versions = e->nvers;
	o.block = e->mined_block;
	o.err = err;
	o.trip_ms = e->trip_ms;
	hash_text(o.hash, hs);
	fees_text(&o.fees, fs, sizeof fs);
	if (r == TRACKER_FAILED)
		log_error(MOD, "%s action=%s trigger=%s nonce=%" PRIu64 " versions=%u: %s",
			  tracker_result_name(r), o.action, o.trigger, o.nonce,
			  o.versions, kerr_str(err));
	else if (r == TRACKER_CAPPED)
		log_error(MOD, "ALERT capped action=%s trigger=%s nonce=%" PRIu64
			  " hash=%s %s: the bid is at max_fee_gwei and may not be mined",
			  o.action, o.trigger, o.nonce, hs, fs);
	else if (!o.has_tx)
		/* nothing was signed: no nonce, hash or fees to name */
		log_info(MOD, "%s action=%s trigger=%s nonce=- hash=- versions=0",
			 tracker_result_name(r), o.action, o.trigger);
	else
		log_info(MOD, "%s action=%s trigger=%s nonce=%" PRIu64 " hash=%s %s"
			 " block=%" PRIu64 " versions=%u", tracker_result_name(r),
			 o.action, o.trigger, o.nonce, hs, fs, o.block, o.versions);
	if (t->notify && e->a->notify &&
	    notify_msg_outcome(&m, &o, e->has_trip ? &e->trip : NULL, now_ms(t)))
		notify_send(t, e->a, &m);
	if (t->on_outcome)
		t->on_outcome(t->arg, &o);
}

/* The trip is over: outcome, state, lane. */
static void finish(tracker_t *t, struct entry *e, tracker_result_t r, kerr_t err)
{
	switch (r) {
	case TRACKER_MINED: t->s.mined++; break;
	case TRACKER_REVERTED: t->s.reverted++; break;
	case TRACKER_GUARD_STOPPED: t->s.guard_stops++; break;
	case TRACKER_FAILED: t->s.failed++; break;
	case TRACKER_DRY_RUN: t->s.dry_runs++; break;
	case TRACKER_CAPPED: break;
	}
	st_drop(t, e);
	save(t);
	report(t, e, r, err);
	if (r == TRACKER_MINED || r == TRACKER_REVERTED) {
		e->phase = P_WATCH;
		e->watch_left = t->o.watch_blocks;
	} else {
		e->phase = P_FREE;
	}
}

/* ---- market and quotes -------------------------------------------------- */

static double strategy_pct(const config_gas_t *g)
{
	return g->strategy == CONFIG_GAS_EIP1559 ? g->priority_percentile : PCT_DEFAULT;
}

static void market_for(const tracker_t *t, const config_action_t *a,
		       const detect_trip_t *rival, gas_market_t *m)
{
	double p = strategy_pct(a->gas);

	memset(m, 0, sizeof *m);
	m->has_head = t->has_head;
	m->base_fee = t->base_fee;
	m->gas_used = t->gas_used;
	m->gas_limit = t->gas_limit;
	for (size_t i = 0; i < t->npct && t->nrew; i++)
		if (t->pct[i] == p) {
			m->rewards = t->rew + i * t->o.fee_blocks;
			m->nrewards = t->nrew;
		}
	if (rival && rival->has_tx) {
		m->has_rival = true;
		m->rival.max_fee = rival->tx_max_fee;
		m->rival.priority_fee = rival->tx_max_priority_fee;
	}
}

static kerr_t quote_initial(const tracker_t *t, const config_action_t *a,
			    const detect_trip_t *rival, gas_quote_t *q)
{
	const gas_strategy_t *gs = gas_strategy(a->gas->strategy);
	gas_market_t m;

	if (!gs)
		return KERR_ARG;
	market_for(t, a, rival, &m);
	return gs->initial(a->gas, &m, q);
}

/* ---- signing ------------------------------------------------------------- */

static kerr_t sign(const tracker_t *t, const config_action_t *a, const uint8_t *data,
		   size_t len, uint64_t nonce, const gas_fees_t *f, uint8_t *out,
		   size_t *out_len, uint8_t hash[32])
{
	tx_t tx;

	memset(&tx, 0, sizeof tx);
	tx.type = TX_EIP1559;
	tx.chain_id = t->cfg->chain.id;
	tx.nonce = nonce;
	tx.max_fee = f->max_fee;
	tx.max_priority_fee = f->priority_fee;
	tx.gas_limit = a->gas_limit;
	tx.has_to = true;
	tx.to = a->to;
	tx.data = data;
	tx.data_len = len;
	return signer_sign_tx(t->signer, &tx, out, TRACKER_RAW_MAX, out_len, hash);
}

/* ---- nonces --------------------------------------------------------------- */

static size_t ours(const tracker_t *t, uint64_t *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < TRACKER_MAX_TXS && n < cap; i++) {
		const struct entry *e = &t->e[i];

		if ((e->phase == P_SENDING || e->phase == P_PENDING) && e->has_nonce)
			out[n++] = e->nonce;
	}
	for (size_t i = 0; i < TRACKER_MAX_FILLS && n < cap; i++)
		if (t->fills[i].phase)
			out[n++] = t->fills[i].nonce;
	return n;
}

/* After a nonce was taken for a hole: walk the counter past our nonces
 * above it again (nonce_take only counts one up). */
static void relink(tracker_t *t)
{
	uint64_t v[TRACKER_MAX_TXS + TRACKER_MAX_FILLS];
	size_t n = ours(t, v, sizeof v / sizeof v[0]);
	bool above = false;

	for (size_t i = 0; i < n; i++)
		above |= v[i] >= t->nonce.next;
	if (above && t->nonce.synced && !t->nonce.need_sync)
		nonce_observe(&t->nonce, t->nonce.chain_latest, t->nonce.chain_pending, v, n);
}

static void request_round(tracker_t *t, bool head);
static void presign_refresh(tracker_t *t);

/* ---- broadcasting --------------------------------------------------------- */

static void bcast_cb(void *arg, const rpc_broadcast_t *b);
static void relay_cb(void *ctx, const relay_result_t *res);

/* e's relay submission (of the version e->rkind names), once a block
 * number is known to target the blocks after. */
static void relay_start(tracker_t *t, struct entry *e)
{
	const uint8_t *raw = e->rkind == B_REPLACE ? e->rep_raw : e->raw;
	size_t len = e->rkind == B_REPLACE ? e->rep_len : e->raw_len;
	relay_result_t fail;
	kerr_t err;

	if (!t->has_block) {
		e->relay_due = true;
		request_round(t, false);
		return;
	}
	e->relay_due = false;
	e->ops++;
	err = relay_submit(t->relay, e->a->gas, raw, len, t->block, relay_cb, &e->op_relay);
	if (err == KERR_OK)
		return;
	/* Nothing started, so no callback comes: the failure is judged here. */
	memset(&fail, 0, sizeof fail);
	fail.err = err;
	fail.message = "";
	relay_cb(&e->op_relay, &fail);
}

/*
 * Hand e's version (kind) to its relay and/or to chain.rpc.  A private
 * transaction without also_public has the relay's answer for a verdict,
 * so its bcast_busy follows the relay submission.  A relay submission
 * asked for while one is under way is made when that one ends.
 */
static void broadcast_via(tracker_t *t, struct entry *e, int kind, bool relay, bool pub)
{
	const uint8_t *raw = kind == B_REPLACE ? e->rep_raw : e->raw;
	size_t len = kind == B_REPLACE ? e->rep_len : e->raw_len;
	rpc_broadcast_t fake;
	rpc_outcome_t out;
	kerr_t err;

	if (kind == B_FIRST)
		e->unsent = true;
	if (relay && e->relay_busy) {
		e->relay_stale = true;
	} else if (relay) {
		e->relay_busy = true;
		e->relay_stale = false;
		e->rkind = kind;
		if (!goes_public(e)) {
			e->bcast_busy = true;
			e->bkind = kind;
		}
		relay_start(t, e);
	}
	if (!pub)
		return;
	e->bcast_busy = true;
	e->bkind = kind;
	e->ops++;
	err = rpc_broadcast_raw_transaction(t->rpc, raw, len, bcast_cb, &e->op_bcast, NULL);
	if (err == KERR_OK)
		return;
	/* Not even handed to a transport: as if no node had answered. */
	t->s.rpc_errors++;
	memset(&out, 0, sizeof out);
	out.err = err;
	memset(&fake, 0, sizeof fake);
	fake.err = err;
	fake.n = 1;
	fake.outcome = &out;
	bcast_cb(&e->op_bcast, &fake);
}

static void broadcast(tracker_t *t, struct entry *e, int kind)
{
	broadcast_via(t, e, kind, is_private(e), goes_public(e));
}

static void fail_or_retry(tracker_t *t, struct entry *e, kerr_t err);

/* Sign e's trip with a fresh nonce and send it (first send). */
static void send_new(tracker_t *t, struct entry *e)
{
	gas_quote_t q;
	uint64_t n;
	kerr_t err;

	if ((err = quote_initial(t, e->a, e->has_trip ? &e->trip : NULL, &q)) != KERR_OK) {
		finish(t, e, TRACKER_FAILED, err);
		return;
	}
	if (nonce_take(&t->nonce, &n) != KERR_OK) {
		e->phase = P_WAIT;
		request_round(t, false);
		return;
	}
	e->fees = q.fees;
	if ((err = sign(t, e->a, e->data, e->data_len, n, &q.fees, e->raw,
			&e->raw_len, e->hash)) != KERR_OK) {
		nonce_rejected(&t->nonce, n, false);
		finish(t, e, TRACKER_FAILED, err);
		return;
	}
	e->has_nonce = true;
	e->nonce = n;
	e->suspect = false;
	e->seen_sending = false;
	e->sent_ms = now_ms(t);
	push_version(e, e->hash);
	e->phase = P_SENDING;
	relink(t);
	if (q.capped && !e->capped_reported) {
		e->capped_reported = true;
		t->s.capped++;
		report(t, e, TRACKER_CAPPED, KERR_OK);
	}
	st_put(t, e, false);
	save(t);
	broadcast(t, e, B_FIRST);
}

static void log_sent(const char *what, const struct entry *e, const uint8_t h[32],
		     const gas_fees_t *f)
{
	char hs[67], fs[200];

	hash_text(h, hs);
	fees_text(f, fs, sizeof fs);
	log_info(MOD, "%s action=%s trigger=%s nonce=%" PRIu64 " hash=%s %s", what,
		 e->a->name, e->trigger, e->nonce, hs, fs);
}

/* A node or the relay accepted the first send of e's current version. */
static void note_sent(tracker_t *t, struct entry *e)
{
	notify_msg_t m;

	e->unsent = false;
	t->s.sent++;
	log_sent("sent", e, e->hash, &e->fees);
	notify_msg_sent(&m, e->trigger, e->a->name, e->has_trip ? &e->trip : NULL, e->hash,
			e->nonce, now_ms(t));
	notify_send(t, e->a, &m);
}

static bool node_said(const rpc_broadcast_t *b)
{
	return b->err == KERR_RPC_ERROR;
}

static void first_verdict(tracker_t *t, struct entry *e, const rpc_broadcast_t *b)
{
	if (b->accepted) {
		e->phase = P_PENDING;
		note_sent(t, e);
		/* A chain that mines on arrival (a dev node) may have sent the
		 * head of its block before this answer: look again now. */
		if (e->seen_sending)
			request_round(t, false);
		return;
	}
	t->s.refused++;
	if (node_said(b) && (b->kind == RPC_E_NONCE_TOO_LOW ||
			     b->kind == RPC_E_REPLACEMENT_UNDERPRICED)) {
		/* Another transaction of this account holds the nonce. */
		log_warn(MOD, "nonce %" PRIu64 " of %s is %s: resync and sign again",
			 e->nonce, e->a->name, rpc_error_kind_name(b->kind));
		t->s.resyncs++;
		nonce_rejected(&t->nonce, e->nonce, true);
		st_drop(t, e);
		save(t);
		e->has_nonce = false;
		e->phase = P_WAIT;
		request_round(t, false);
		presign_refresh(t);
		return;
	}
	if (node_said(b)) {
		/* The nodes understood and refused: nobody holds it. */
		if (b->kind == RPC_E_INSUFFICIENT_FUNDS)
			log_error(MOD, "ALERT %s nonce %" PRIu64 ": insufficient funds",
				  e->a->name, e->nonce);
		else
			log_warn(MOD, "%s nonce %" PRIu64 " refused: %s (%s)", e->a->name,
				 e->nonce, rpc_error_kind_name(b->kind),
				 b->outcome && b->verdict < b->n ? b->outcome[b->verdict].message : "");
		nonce_rejected(&t->nonce, e->nonce, false);
		st_drop(t, e);
		save(t);
		e->has_nonce = false;
		fail_or_retry(t, e, KERR_RPC_ERROR);
		presign_refresh(t);
		return;
	}
	/* Nobody answered: some node may hold it.  Keep the bytes. */
	log_warn(MOD, "%s nonce %" PRIu64 ": no node answered (%s); re-broadcast on the next head",
		 e->a->name, e->nonce, kerr_str(b->err));
	e->phase = P_PENDING;
}

/* The replacement is what is in flight now. */
static void adopt_replacement(tracker_t *t, struct entry *e)
{
	memcpy(e->raw, e->rep_raw, e->rep_len);
	e->raw_len = e->rep_len;
	memcpy(e->hash, e->rep_hash, 32);
	e->fees = e->rep_fees;
	e->sent_ms = now_ms(t);
}

static void replace_verdict(tracker_t *t, struct entry *e, const rpc_broadcast_t *b)
{
	if (e->phase != P_PENDING)
		return;
	if (b->accepted) {
		adopt_replacement(t, e);
		t->s.replaced++;
		log_sent("replaced", e, e->hash, &e->fees);
		return;
	}
	t->s.refused++;
	/* The file must name what the nodes hold: the previous version. */
	st_put(t, e, false);
	save(t);
	log_warn(MOD, "replacement of %s nonce %" PRIu64 " not accepted: %s",
		 e->a->name, e->nonce,
		 node_said(b) ? rpc_error_kind_name(b->kind) : kerr_str(b->err));
}

static void bcast_cb(void *arg, const rpc_broadcast_t *b)
{
	struct op *op = arg;
	tracker_t *t = op->t;
	struct entry *e = &t->e[op->idx];

	e->ops--;
	e->bcast_busy = false;
	switch (e->bkind) {
	case B_FIRST:
		if (e->phase == P_SENDING)
			first_verdict(t, e, b);
		break;
	case B_REPLACE:
		replace_verdict(t, e, b);
		break;
	case B_REBROADCAST:
		if (b->accepted)
			t->s.rebroadcasts++;
		else
			log_debug(MOD, "re-broadcast of %s nonce %" PRIu64 ": %s", e->a->name,
				  e->nonce, node_said(b) ? rpc_error_kind_name(b->kind) : kerr_str(b->err));
		break;
	}
}

/*
 * The relay's answer.  With also_public it is only counted (the public
 * verdict rules); without, it is the broadcast's verdict (tracker.h,
 * Private): a failure keeps the transaction in flight for the next head.
 */
static void relay_cb(void *ctx, const relay_result_t *res)
{
	struct op *op = ctx;
	tracker_t *t = op->t;
	struct entry *e = &t->e[op->idx];
	bool ok = res->err == KERR_OK;

	e->ops--;
	e->relay_busy = false;
	e->relay_ok = ok;
	if (ok) {
		t->s.relayed++;
		e->relay_last = res->last_block;
	} else {
		t->s.relay_errors++;
		log_warn(MOD, "%s nonce %" PRIu64 ": relay submission failed: %s%s", e->a->name,
			 e->nonce, kerr_str(res->err),
			 goes_public(e) ? "" : "; submitted again at the next head");
	}
	if (!goes_public(e)) {
		e->bcast_busy = false;
		switch (e->rkind) {
		case B_FIRST:
			if (e->phase != P_SENDING)
				break;
			e->phase = P_PENDING;
			if (ok)
				note_sent(t, e);
			/* as in first_verdict: a head may have come first */
			if (e->seen_sending)
				request_round(t, false);
			break;
		case B_REPLACE:
			if (e->phase != P_PENDING)
				break;
			if (ok) {
				adopt_replacement(t, e);
				if (e->unsent) {
					note_sent(t, e);
				} else {
					t->s.replaced++;
					log_sent("replaced", e, e->hash, &e->fees);
				}
			} else {
				/* The file must name what the relay holds. */
				st_put(t, e, false);
				save(t);
			}
			break;
		case B_REBROADCAST:
			if (ok && e->phase == P_PENDING && e->unsent)
				note_sent(t, e);
			break;
		}
	}
	if (e->relay_stale && (e->phase == P_SENDING || e->phase == P_PENDING))
		broadcast_via(t, e, e->phase == P_SENDING ? B_FIRST : B_REBROADCAST, true, false);
}

static void fail_or_retry(tracker_t *t, struct entry *e, kerr_t err)
{
	if (++e->attempts > t->o.retry_heads) {
		finish(t, e, TRACKER_FAILED, err);
		return;
	}
	e->phase = P_WAIT;
}

/* ---- replacements ------------------------------------------------------- */

/* true when a replacement went out. */
static bool replace(tracker_t *t, struct entry *e)
{
	const gas_strategy_t *gs = gas_strategy(e->a->gas->strategy);
	gas_market_t m;
	gas_quote_t q;
	kerr_t err;

	if (!gs || e->bcast_busy)
		return false;
	market_for(t, e->a, e->has_trip ? &e->trip : NULL, &m);
	if ((err = gs->replace(e->a->gas, &m, &e->fees, &q)) != KERR_OK) {
		log_warn(MOD, "%s nonce %" PRIu64 ": no replacement quote: %s",
			 e->a->name, e->nonce, kerr_str(err));
		return false;
	}
	if (q.capped && !e->capped_reported) {
		e->capped_reported = true;
		t->s.capped++;
		report(t, e, TRACKER_CAPPED, KERR_OK);
	}
	if (q.verdict != GAS_SEND)
		return false;
	e->rep_fees = q.fees;
	if ((err = sign(t, e->a, e->data, e->data_len, e->nonce, &q.fees, e->rep_raw,
			&e->rep_len, e->rep_hash)) != KERR_OK) {
		log_error(MOD, "%s nonce %" PRIu64 ": replacement not signed: %s",
			  e->a->name, e->nonce, kerr_str(err));
		return false;
	}
	/* Remembered before the send: a node may mine it even if the
	 * broadcast's answer never comes. */
	push_version(e, e->rep_hash);
	st_put(t, e, true);
	save(t);
	broadcast(t, e, B_REPLACE);
	return true;
}

void tracker_poll(tracker_t *t)
{
	int64_t now = now_ms(t);

	for (size_t i = 0; i < TRACKER_MAX_TXS; i++) {
		struct entry *e = &t->e[i];
		const config_gas_t *g;

		if (e->phase != P_PENDING)
			continue;
		g = e->a->gas;
		if (g->strategy == CONFIG_GAS_ESCALATE && g->every_ms > 0 &&
		    now - e->sent_ms >= (int64_t)g->every_ms)
			replace(t, e);
	}
}

static void timer_cb(loop_t *loop, void *arg)
{
	tracker_t *t = arg;

	(void)loop;
	tracker_poll(t);
	loop_timer_arm_ms(&t->timer, (int64_t)t->every_ms);
}

/* ---- fillers ------------------------------------------------------------ */

static void fill_cb(void *arg, const rpc_broadcast_t *b)
{
	struct op *op = arg;
	tracker_t *t = op->t;
	struct fill *f = &t->fills[op->idx];
	char hs[67];

	f->ops--;
	f->bcast_busy = false;
	hash_text(f->hash, hs);
	if (b->accepted) {
		/* Counted even when a round already saw it mined (phase 0):
		 * a chain that mines on arrival may announce it first. */
		if (!f->counted)
			t->s.fills++;
		f->counted = true;
		if (f->phase == 1)
			f->phase = 2;
		log_info(MOD, "filler nonce=%" PRIu64 " hash=%s accepted", f->nonce, hs);
		return;
	}
	if (!f->phase)
		return;
	if (f->phase == 1) {
		log_error(MOD, "filler nonce=%" PRIu64 " hash=%s refused: %s", f->nonce, hs,
			  node_said(b) ? rpc_error_kind_name(b->kind) : kerr_str(b->err));
		nonce_rejected(&t->nonce, f->nonce, node_said(b) &&
			       (b->kind == RPC_E_NONCE_TOO_LOW ||
				b->kind == RPC_E_REPLACEMENT_UNDERPRICED));
		f->phase = 0;
	}
}

static void fill_send(tracker_t *t, struct fill *f)
{
	kerr_t err;

	f->bcast_busy = true;
	f->ops++;
	err = rpc_broadcast_raw_transaction(t->rpc, f->raw, f->len, fill_cb, &f->op, NULL);
	if (err != KERR_OK) {
		f->ops--;
		f->bcast_busy = false;
		t->s.rpc_errors++;
		if (f->phase == 1) {
			nonce_rejected(&t->nonce, f->nonce, false);
			f->phase = 0;
		}
	}
}

/* Fill the hole at the counter with a call of a guard view. */
static bool fill_one(tracker_t *t, const gas_fees_t *fees)
{
	struct fill *f = NULL;
	uint64_t n;
	char hs[67];

	for (size_t i = 0; i < TRACKER_MAX_FILLS; i++)
		if (!t->fills[i].phase && !t->fills[i].ops) {
			f = &t->fills[i];
			break;
		}
	if (!f || nonce_take(&t->nonce, &n) != KERR_OK)
		return false;
	if (sign(t, t->filler, t->filler->guard.selector, 4, n, fees, f->raw, &f->len,
		 f->hash) != KERR_OK) {
		nonce_rejected(&t->nonce, n, false);
		return false;
	}
	f->nonce = n;
	f->phase = 1;
	f->counted = false;
	hash_text(f->hash, hs);
	log_warn(MOD, "nonce hole at %" PRIu64 " below a stranded transaction: filler "
		 "%s() to %s hash=%s", n, t->filler->guard.name, t->filler->name, hs);
	relink(t);
	fill_send(t, f);
	return true;
}

/* The stranded transaction with the lowest nonce, or NULL. */
static struct entry *lowest_stranded(tracker_t *t)
{
	struct entry *low = NULL;

	for (size_t i = 0; i < TRACKER_MAX_TXS; i++) {
		struct entry *e = &t->e[i];

		if ((e->phase == P_SENDING || e->phase == P_PENDING) && e->has_nonce &&
		    nonce_stranded(&t->nonce, e->nonce) && (!low || e->nonce < low->nonce))
			low = e;
	}
	return low;
}

static bool filler_stranded(const tracker_t *t)
{
	for (size_t i = 0; i < TRACKER_MAX_FILLS; i++)
		if (t->fills[i].phase && nonce_stranded(&t->nonce, t->fills[i].nonce))
			return true;
	return false;
}

/* Nonce holes: waiting trips take them first, then fillers (or, with no
 * guard view to call, the stranded transaction is signed again). */
static void fill_holes(tracker_t *t)
{
	for (size_t i = 0; i < TRACKER_MAX_TXS; i++) {
		struct entry *e = &t->e[i];

		if (e->phase == P_WAIT && !e->bcast_busy) {
			if (!t->nonce.synced || t->nonce.need_sync)
				return;
			send_new(t, e);
		}
	}
	for (unsigned guard = 0; guard < TRACKER_MAX_TXS + TRACKER_MAX_FILLS; guard++) {
		struct entry *e;

		if (!t->nonce.synced || t->nonce.need_sync)
			return;
		e = lowest_stranded(t);
		if (!e && !filler_stranded(t))
			return;
		if (t->filler) {
			gas_quote_t q;

			/* The filler bids what the transaction it unblocks
			 * bids: it must be mined first. */
			if (e)
				q.fees = e->fees;
			else if (quote_initial(t, t->filler, NULL, &q) != KERR_OK)
				return;
			if (!fill_one(t, &q.fees))
				return;
			continue;
		}
		if (!e)
			return;
		/* No view to fill with: nonce.h's rule, at the risk it names. */
		log_error(MOD, "%s nonce %" PRIu64 " is stranded and no guard view can fill "
			  "the hole: signing it again with a fresh nonce (the stranded "
			  "bytes may still land if the hole is filled)", e->a->name, e->nonce);
		t->s.resigned_stranded++;
		st_drop(t, e);
		e->has_nonce = false;
		e->phase = P_WAIT;
		send_new(t, e);
	}
}

/* ---- presigned transactions ----------------------------------------------- */

static void presign_refresh(tracker_t *t)
{
	for (size_t i = 0; i < t->cfg->nactions; i++) {
		struct presign *p = &t->ps[i];
		const config_action_t *a = &t->cfg->actions[i];
		uint8_t data[ACTION_CALLDATA_MAX];
		size_t len;
		gas_quote_t q;
		uint64_t n;

		if (!p->eligible)
			continue;
		if (p->guard_done || lane_find(t, a, false, NULL) ||
		    nonce_peek(&t->nonce, &n) != KERR_OK ||
		    quote_initial(t, a, NULL, &q) != KERR_OK ||
		    action_calldata(a, NULL, &(detect_trip_t){ 0 }, data, sizeof data, &len,
				    NULL) != KERR_OK) {
			p->valid = false;
			continue;
		}
		if (p->valid && p->nonce == n &&
		    u256_cmp(&p->fees.max_fee, &q.fees.max_fee) == 0 &&
		    u256_cmp(&p->fees.priority_fee, &q.fees.priority_fee) == 0)
			continue;
		p->valid = sign(t, a, data, len, n, &q.fees, p->raw, &p->len, p->hash) == KERR_OK;
		if (p->valid) {
			p->nonce = n;
			p->fees = q.fees;
			t->s.presigned++;
		}
	}
}

/* ---- rounds --------------------------------------------------------------- */

static void round_done(tracker_t *t);

static void obs_cb(void *arg, const rpc_batch_reply_t *b)
{
	struct op *op = arg;
	tracker_t *t = op->t;
	uint64_t l, p;

	t->obs_busy = false;
	if (b->err == KERR_OK && b->n >= 3 && b->items[0].err == KERR_OK &&
	    b->items[1].err == KERR_OK &&
	    jtok_u64(b->doc, b->items[0].result, &l) == KERR_OK &&
	    jtok_u64(b->doc, b->items[1].result, &p) == KERR_OK) {
		t->obs_ok = true;
		t->obs_latest = l;
		t->obs_pending = p;
	} else {
		t->s.rpc_errors++;
	}
	if (b->err == KERR_OK && b->n >= 3 && b->items[2].err == KERR_OK &&
	    jtok_u256(b->doc, b->items[2].result, &t->balance) == KERR_OK)
		t->bal_ok = true;
	/* eth_blockNumber, asked when a private action needs a target */
	if (b->err == KERR_OK && b->n == 4) {
		if (b->items[3].err == KERR_OK &&
		    jtok_u64(b->doc, b->items[3].result, &l) == KERR_OK) {
			if (!t->has_block || l > t->block)
				t->block = l;
			t->has_block = true;
		} else {
			t->s.rpc_errors++;
		}
	}
	round_done(t);
}

static void fee_history_cb(void *arg, const rpc_reply_t *r)
{
	struct op *op = arg;
	tracker_t *t = op->t;
	size_t rw, blk;
	size_t n = 0;
	kerr_t err = r->err;

	t->fees_busy = false;
	if (err == KERR_OK)
		err = jtok_key_opt(r->doc, r->result, "reward", &rw);
	if (err == KERR_OK && rw != JTOK_NONE) {
		for (blk = jtok_first(r->doc, rw); blk != JTOK_NONE && err == KERR_OK &&
		     n < t->o.fee_blocks; blk = jtok_after(r->doc, rw, blk), n++) {
			for (size_t k = 0; k < t->npct && err == KERR_OK; k++) {
				size_t v;

				err = jtok_index(r->doc, blk, k, &v);
				if (err == KERR_OK)
					err = jtok_u256(r->doc, v, &t->rew[k * t->o.fee_blocks + n]);
			}
		}
	}
	if (err == KERR_OK)
		t->nrew = n;
	else
		t->s.rpc_errors++;
	round_done(t);
}

/* Receipt token i: *found, status and block. */
static kerr_t read_receipt(const jtok_doc_t *d, size_t i, bool *found,
			   uint64_t *status, uint64_t *block)
{
	size_t k;
	kerr_t err;

	*found = false;
	if (jtok_type(d, i) == JTOK_NULL)
		return KERR_OK;
	if ((err = jtok_key(d, i, "status", 6, &k)) != KERR_OK ||
	    (err = jtok_u64(d, k, status)) != KERR_OK ||
	    (err = jtok_key(d, i, "blockNumber", 11, &k)) != KERR_OK)
		return err;
	if (jtok_type(d, k) == JTOK_NULL)      /* a pending "receipt" */
		return KERR_OK;
	if ((err = jtok_u64(d, k, block)) != KERR_OK)
		return err;
	*found = true;
	return KERR_OK;
}

static kerr_t read_guard(const jtok_doc_t *d, size_t i, bool *done)
{
	uint8_t ret[64];
	size_t len;
	kerr_t err = jtok_bytes(d, i, ret, sizeof ret, &len);

	return err != KERR_OK ? err : action_guard_result(ret, len, done);
}

static void entry_round_cb(void *arg, const rpc_batch_reply_t *b)
{
	struct op *op = arg;
	tracker_t *t = op->t;
	struct entry *e = &t->e[op->idx];
	unsigned nv = e->q_nv;
	bool ok = b->err == KERR_OK;

	e->ops--;
	/* The batch's layout: the receipts of q_nv versions, then the guard
	 * when q_guard (round_start). */
	for (unsigned v = 0; ok && v < nv && v < b->n; v++) {
		const rpc_item_t *it = &b->items[v];
		bool found;
		uint64_t st = 0, blk = 0;

		if (it->err != KERR_OK ||
		    read_receipt(b->doc, it->result, &found, &st, &blk) != KERR_OK) {
			ok = false;
			break;
		}
		if (found && !e->r_mined) {
			e->r_mined = true;
			e->r_status = st;
			e->r_block = blk;
			memcpy(e->r_hash, e->q_hash[v], 32);
		}
	}
	if (ok && e->q_guard && nv < b->n) {
		const rpc_item_t *it = &b->items[nv];

		if (it->err == KERR_OK &&
		    read_guard(b->doc, it->result, &e->r_guard) == KERR_OK)
			e->r_guard_known = true;
		else
			log_warn(MOD, "guard %s() of %s unreadable this round",
				 e->a->guard.name, e->a->name);
	}
	if (!ok)
		t->s.rpc_errors++;
	e->r_ok = ok;
	round_done(t);
}

static void ps_guard_cb(void *arg, const rpc_reply_t *r)
{
	struct op *op = arg;
	tracker_t *t = op->t;
	struct presign *p = &t->ps[op->idx];

	p->ops--;
	if (r->err == KERR_OK && read_guard(r->doc, r->result, &p->r_guard) == KERR_OK)
		p->r_guard_known = true;
	else
		t->s.rpc_errors++;
	round_done(t);
}

/* The market of a block: a head's, or the latest block read at start. */
static void market_set(tracker_t *t, const event_head_t *h)
{
	if (!t->has_block || h->number > t->block)
		t->block = h->number;
	t->has_block = true;
	if (h->has_base_fee && h->has_gas && h->gas_limit >= 2) {
		t->has_head = true;
		t->base_fee = h->base_fee;
		t->gas_used = h->gas_used;
		t->gas_limit = h->gas_limit;
	}
}

/* The header fields of a block object (eth_getBlockByNumber) a market
 * needs; baseFeePerGas is absent before London. */
static kerr_t read_header(const jtok_doc_t *d, size_t o, event_head_t *h)
{
	size_t k;
	kerr_t err;

	memset(h, 0, sizeof *h);
	if (jtok_type(d, o) != JTOK_OBJECT)
		return KERR_RPC_REPLY;
	if ((err = jtok_key(d, o, "number", 6, &k)) || (err = jtok_u64(d, k, &h->number)) ||
	    (err = jtok_key(d, o, "gasUsed", 7, &k)) || (err = jtok_u64(d, k, &h->gas_used)) ||
	    (err = jtok_key(d, o, "gasLimit", 8, &k)) || (err = jtok_u64(d, k, &h->gas_limit)) ||
	    (err = jtok_key_opt(d, o, "baseFeePerGas", &k)))
		return err;
	h->has_gas = true;
	if (k != JTOK_NONE && jtok_type(d, k) != JTOK_NULL) {
		if ((err = jtok_u256(d, k, &h->base_fee)))
			return err;
		h->has_base_fee = true;
	}
	return KERR_OK;
}

/* The start's latest block: the market until the first head. */
static void market_cb(void *arg, const rpc_reply_t *r)
{
	struct op *op = arg;
	tracker_t *t = op->t;
	char fee[U256_DEC_MAX];
	event_head_t h;
	kerr_t err = r->err;

	if (!err)
		err = read_header(r->doc, r->result, &h);
	if (err) {
		t->s.rpc_errors++;
		log_warn(MOD, "the latest block is unreadable at start (%s): until the first "
			 "head a trip bids its gas strategy's cap", kerr_str(err));
	} else if (!t->has_head) {
		/* A head that came first is newer: it stays. */
		market_set(t, &h);
		if (h.has_base_fee)
			u256_to_dec(&h.base_fee, fee, sizeof fee);
		log_info(MOD, "market at start: block %" PRIu64 ", base fee %s wei, gas used "
			 "%" PRIu64 " of %" PRIu64, h.number, h.has_base_fee ? fee : "(none)",
			 h.gas_used, h.gas_limit);
	}
	round_done(t);
}

static void round_start(tracker_t *t)
{
	uint8_t sel[4];
	size_t i;
	/* The start's round reads the latest block and the fee history that
	 * a head round reads, so that a trip before the first head bids on
	 * the market rather than at its strategy's cap. */
	bool market = t->market_due && !t->has_head;

	t->round_busy = true;
	t->round_head = t->again_head;
	t->again_head = false;
	t->round_wait = 1;   /* released at the end: no finish mid-start */
	t->obs_ok = t->bal_ok = false;
	if (t->signer && !t->obs_busy) {
		rpc_req_t q[4] = {
			{ .kind = RPC_REQ_GET_TX_COUNT, .addr = &t->from, .block = RPC_LATEST },
			{ .kind = RPC_REQ_GET_TX_COUNT, .addr = &t->from, .block = RPC_PENDING },
			{ .kind = RPC_REQ_GET_BALANCE, .addr = &t->from, .block = RPC_LATEST },
			{ .kind = RPC_REQ_BLOCK_NUMBER },
		};
		if (rpc_batch(t->rpc, q, t->need_block ? 4 : 3, obs_cb, &t->op_obs,
			      NULL) == KERR_OK) {
			t->obs_busy = true;
			t->round_wait++;
		} else {
			t->s.rpc_errors++;
		}
	}
	t->market_due = false;
	if (market) {
		static const char latest[] = "[\"latest\",false]";

		if (rpc_call(t->rpc, "eth_getBlockByNumber", latest, sizeof latest - 1,
			     market_cb, &t->op_market, NULL) == KERR_OK) {
			t->round_wait++;
		} else {
			t->s.rpc_errors++;
			log_warn(MOD, "the latest block is not read at start: until the first "
				 "head a trip bids its gas strategy's cap");
		}
	}
	if ((t->round_head || market) && t->need_fees && !t->fees_busy) {
		if (rpc_fee_history(t->rpc, t->o.fee_blocks, RPC_LATEST, t->pct, t->npct,
				    fee_history_cb, &t->op_fees, NULL) == KERR_OK) {
			t->fees_busy = true;
			t->round_wait++;
		} else {
			t->s.rpc_errors++;
		}
	}
	for (i = 0; i < TRACKER_MAX_TXS; i++) {
		struct entry *e = &t->e[i];
		rpc_req_t q[TRACKER_VERSIONS + 1];
		unsigned nv = 0, n = 0;

		e->r_ok = e->r_mined = e->r_guard_known = e->r_guard = false;
		if (e->phase == P_SENDING)
			e->seen_sending = true;
		if (e->phase != P_PENDING && e->phase != P_WATCH && e->phase != P_WAIT)
			continue;
		if (e->phase != P_WAIT)
			nv = nversions(e);
		e->q_phase = e->phase;
		e->q_nv = nv;
		for (unsigned v = 0; v < nv; v++)
			memcpy(e->q_hash[v], e->vers[(e->nvers - 1 - v) % TRACKER_VERSIONS], 32);
		/* Refused replacements enter the ring too: when it is full, the
		 * version a node accepted may have left it, and a receipt never
		 * asked for reads as "nonce used elsewhere" (a second send).  So
		 * the accepted one always takes the oldest slot. */
		if (nv == TRACKER_VERSIONS) {
			bool asked = false;

			for (unsigned v = 0; v < nv; v++)
				asked = asked || memcmp(e->q_hash[v], e->hash, 32) == 0;
			if (!asked)
				memcpy(e->q_hash[nv - 1], e->hash, 32);
		}
		for (unsigned v = 0; v < nv; v++)
			q[n++] = (rpc_req_t){ .kind = RPC_REQ_GET_RECEIPT, .hash = e->q_hash[v] };
		e->q_guard = e->a->has_guard && e->phase != P_WATCH;
		if (e->q_guard) {
			action_guard_calldata(e->a, sel);
			q[n++] = (rpc_req_t){ .kind = RPC_REQ_CALL, .addr = &e->a->to,
				.block = RPC_LATEST, .data = sel, .data_len = 4 };
		}
		if (!n)
			continue;
		e->ops++;
		if (rpc_batch(t->rpc, q, n, entry_round_cb, &e->op_round, NULL) == KERR_OK) {
			t->round_wait++;
		} else {
			e->ops--;
			t->s.rpc_errors++;
		}
	}
	for (i = 0; i < t->cfg->nactions; i++) {
		struct presign *p = &t->ps[i];
		const config_action_t *a = &t->cfg->actions[i];

		p->r_guard_known = p->r_guard = false;
		if (!p->eligible || !a->has_guard || p->ops)
			continue;
		action_guard_calldata(a, sel);
		p->ops++;
		if (rpc_eth_call(t->rpc, &a->to, sel, 4, RPC_LATEST, ps_guard_cb, &p->op,
				 NULL) == KERR_OK) {
			t->round_wait++;
		} else {
			p->ops--;
			t->s.rpc_errors++;
		}
	}
	round_done(t);
}

static void rebroadcast(tracker_t *t, struct entry *e)
{
	if (!e->bcast_busy)
		broadcast(t, e, B_REBROADCAST);
}

/* A head round: whether e's relay should have its transaction again
 * (tracker.h, Private). */
static bool relay_again(const tracker_t *t, const struct entry *e)
{
	return !e->relay_busy && t->has_block &&
	       (e->a->gas->mode == CONFIG_RELAY_BUNDLE || !e->relay_ok || e->relay_stale ||
		t->block >= e->relay_last);
}

/* The decisions of one round for one entry (tracker.h's order). */
static void decide(tracker_t *t, struct entry *e)
{
	bool used = t->obs_ok && e->has_nonce && t->obs_latest > e->nonce;

	if (e->phase != e->q_phase)
		return;      /* moved during the round: its answers are stale */
	if (e->phase == P_WAIT) {
		if (e->r_guard_known && e->r_guard)
			finish(t, e, TRACKER_GUARD_STOPPED, KERR_OK);
		return;
	}
	if (!e->r_ok)
		return;
	if (e->phase == P_WATCH) {
		if (e->r_mined) {
			if (e->watch_left)
				e->watch_left--;
			if (!e->watch_left && !e->ops)
				e->phase = P_FREE;
			return;
		}
		/* The receipt is gone: a reorg took the block. */
		log_warn(MOD, "reorg: receipt of %s nonce %" PRIu64 " (block %" PRIu64
			  ") is gone: re-broadcasting", e->a->name, e->nonce, e->mined_block);
		t->s.reorgs++;
		if (lane_find(t, e->a, e->has_account, &e->account)) {
			/* A newer trip holds the lane; it answers for both. */
			e->phase = P_FREE;
			return;
		}
		e->phase = P_PENDING;
		e->suspect = false;
		relink(t);
		st_put(t, e, false);
		save(t);
		rebroadcast(t, e);
		return;
	}
	/* P_PENDING */
	if (e->r_mined) {
		e->mined_block = e->r_block;
		finish(t, e, e->r_status == 1 ? TRACKER_MINED : TRACKER_REVERTED, KERR_OK);
		return;
	}
	if (e->r_guard_known && e->r_guard) {
		finish(t, e, TRACKER_GUARD_STOPPED, KERR_OK);
		return;
	}
	if (used) {
		if (!e->suspect) {
			e->suspect = true;
			return;
		}
		log_warn(MOD, "nonce %" PRIu64 " of %s was used by another transaction: "
			 "signing the trip again", e->nonce, e->a->name);
		t->s.dropped++;
		st_drop(t, e);
		save(t);
		e->has_nonce = false;
		e->phase = P_WAIT;
		return;
	}
	e->suspect = false;
	/* A replacement also puts the nonce back in a pool that lost it. */
	if (t->round_head && t->has_head &&
	    !(e->a->gas->strategy == CONFIG_GAS_ESCALATE && e->a->gas->every_ms > 0) &&
	    replace(t, e))
		return;
	if (is_private(e) && t->round_head && relay_again(t, e))
		broadcast_via(t, e, B_REBROADCAST, true, false);
	/* The public pool never holds a private transaction: only one that
	 * also goes public is re-broadcast there. */
	if (goes_public(e) && !e->bcast_busy && t->obs_ok && t->obs_pending <= e->nonce &&
	    !nonce_stranded(&t->nonce, e->nonce))
		broadcast_via(t, e, B_REBROADCAST, false, true);
}

static void balance_check(tracker_t *t)
{
	char have[U256_DEC_MAX], need[U256_DEC_MAX];

	if (!t->bal_ok)
		return;
	/* For the gauge only: a double holds any balance to 15 digits. */
	t->s.has_balance = true;
	t->s.balance_wei = 0;
	for (int w = 3; w >= 0; w--)
		t->s.balance_wei = t->s.balance_wei * 18446744073709551616.0 +
				   (double)t->balance.w[w];
	if (u256_cmp(&t->balance, &t->need) >= 0) {
		if (t->s.low_balance)
			log_info(MOD, "signer balance is enough again");
		t->s.low_balance = false;
		return;
	}
	if (!t->s.low_balance) {
		u256_to_dec(&t->balance, have, sizeof have);
		u256_to_dec(&t->need, need, sizeof need);
		log_error(MOD, "ALERT signer balance %s wei cannot pay gas_limit x max fee "
			  "(%s wei) of its costliest action", have, need);
	}
	t->s.low_balance = true;
}

static void finish_round(tracker_t *t)
{
	size_t i;

	t->s.rounds++;
	if (t->obs_ok) {
		uint64_t v[TRACKER_MAX_TXS + TRACKER_MAX_FILLS];
		size_t n = ours(t, v, sizeof v / sizeof v[0]);

		nonce_observe(&t->nonce, t->obs_latest, t->obs_pending, v, n);
		for (i = 0; i < TRACKER_MAX_FILLS; i++) {
			struct fill *f = &t->fills[i];

			if (!f->phase)
				continue;
			if (t->obs_latest > f->nonce)
				f->phase = 0;      /* mined (or replaced): done */
			else if (t->obs_pending <= f->nonce && !f->bcast_busy &&
				 !nonce_stranded(&t->nonce, f->nonce))
				fill_send(t, f);
		}
	}
	balance_check(t);
	/* Relay submissions that waited for a block number.  One that also
	 * goes public submits the version now current. */
	for (i = 0; i < TRACKER_MAX_TXS && t->has_block; i++) {
		struct entry *e = &t->e[i];

		if (!e->relay_due)
			continue;
		if (goes_public(e))
			e->rkind = B_REBROADCAST;
		relay_start(t, e);
	}
	for (i = 0; i < t->cfg->nactions; i++) {
		struct presign *p = &t->ps[i];

		if (p->r_guard_known)
			p->guard_done = p->r_guard;
	}
	for (i = 0; i < TRACKER_MAX_TXS; i++)
		if (t->e[i].phase != P_FREE)
			decide(t, &t->e[i]);
	fill_holes(t);
	presign_refresh(t);
}

static void round_done(tracker_t *t)
{
	if (--t->round_wait)
		return;
	finish_round(t);
	t->round_busy = false;
	if (t->round_again) {
		t->round_again = false;
		round_start(t);
	}
}

static void request_round(tracker_t *t, bool head)
{
	if (!t->started)
		return;
	if (head)
		t->again_head = true;
	if (t->round_busy) {
		t->round_again = true;
		return;
	}
	round_start(t);
}

void tracker_head(tracker_t *t, const event_head_t *h)
{
	market_set(t, h);
	request_round(t, true);
}

/* ---- trips ----------------------------------------------------------------- */

static void guard_cb(void *arg, const rpc_reply_t *r)
{
	struct op *op = arg;
	tracker_t *t = op->t;
	struct entry *e = &t->e[op->idx];
	bool done = false;

	e->ops--;
	if (e->phase != P_GUARD)
		return;
	if (r->err == KERR_OK && read_guard(r->doc, r->result, &done) == KERR_OK) {
		if (done) {
			finish(t, e, TRACKER_GUARD_STOPPED, KERR_OK);
			return;
		}
	} else {
		t->s.rpc_errors++;
		log_warn(MOD, "guard %s() of %s unreadable (%s): sending anyway",
			 e->a->guard.name, e->a->name, kerr_str(r->err));
	}
	send_new(t, e);
}

/* "0x" + hex of b[0..n), malloc'ed (NULL when out of memory). */
static char *hex_dup(const uint8_t *b, size_t n)
{
	char *s = malloc(2 * n + 3);

	if (s) {
		s[0] = '0', s[1] = 'x';
		hex_encode(s + 2, b, n);
		s[2 + 2 * n] = 0;
	}
	return s;
}

static void dry_run(tracker_t *t, struct entry *e)
{
	char to[ADDR_TEXT_LEN], fs[200], signed_text[128] = "", hs[67], *data, *raw = NULL;
	gas_quote_t q;
	uint64_t n;
	kerr_t err;

	if ((err = quote_initial(t, e->a, &e->trip, &q)) != KERR_OK) {
		finish(t, e, TRACKER_FAILED, err);
		return;
	}
	e->fees = q.fees;
	/* Peeked, not taken: nothing is sent, so the next real trip must
	 * find the same nonce free. */
	if (t->signer && nonce_peek(&t->nonce, &n) == KERR_OK) {
		if ((err = sign(t, e->a, e->data, e->data_len, n, &q.fees, e->raw,
				&e->raw_len, e->hash)) != KERR_OK) {
			finish(t, e, TRACKER_FAILED, err);
			return;
		}
		e->nonce = n;
		hash_text(e->hash, hs);
		raw = hex_dup(e->raw, e->raw_len);
		snprintf(signed_text, sizeof signed_text, " nonce=%" PRIu64 " hash=%s", n, hs);
	} else if (t->signer) {
		snprintf(signed_text, sizeof signed_text, " nonce=unknown");
	}
	addr_to_checksum(&e->a->to, to);
	fees_text(&q.fees, fs, sizeof fs);
	data = hex_dup(e->data, e->data_len);
	log_info(MOD, "dry-run: would send action=%s trigger=%s to=%s data=%s gas_limit=%"
		 PRIu64 " %s%s%s%s%s", e->a->name, e->trigger, to, data ? data : "?",
		 e->a->gas_limit, fs, q.capped ? " (capped)" : "", signed_text,
		 raw ? " raw=" : "", raw ? raw : "");
	free(data);
	free(raw);
	finish(t, e, TRACKER_DRY_RUN, KERR_OK);
}

/* Whether the presigned bid is what this trip would bid: a trip whose
 * rival (outbid) bids more must not go out at the bid made without it. */
static bool presign_fits(const tracker_t *t, const struct presign *p,
			 const config_action_t *a, const detect_trip_t *trip)
{
	gas_quote_t q;

	if (!trip->has_tx)
		return true;
	return quote_initial(t, a, trip, &q) == KERR_OK &&
	       u256_cmp(&q.fees.max_fee, &p->fees.max_fee) == 0 &&
	       u256_cmp(&q.fees.priority_fee, &p->fees.priority_fee) == 0;
}

kerr_t tracker_trip(tracker_t *t, const config_trigger_t *trig,
		    const detect_trip_t *trip)
{
	const config_action_t *a;
	struct presign *p;
	struct entry *e;
	notify_msg_t m;
	bool per_account;
	const char *missing;
	uint64_t n;
	kerr_t err;

	if (!t || !trig || !trip || !(a = trig->action))
		return KERR_ARG;
	t->s.trips++;
	per_account = lane_account(a) && trip->has_account;
	if (lane_find(t, a, per_account, &trip->account)) {
		t->s.busy++;
		log_info(MOD, "trip of %s: action %s already in flight", trig->name, a->name);
		return KERR_IN_FLIGHT;
	}
	if (!(e = entry_alloc(t)))
		return KERR_FULL;
	entry_reset(t, e);
	e->a = a;
	e->ai = action_index(t, a);
	snprintf(e->trigger, sizeof e->trigger, "%s", trig->name);
	e->has_account = per_account;
	if (per_account)
		e->account = trip->account;
	e->has_trip = true;
	e->trip = *trip;
	e->trip_ms = trip->time_ms;
	if ((err = action_calldata(a, trig, trip, e->data, sizeof e->data, &e->data_len,
				   &missing)) != KERR_OK) {
		log_error(MOD, "trip of %s: calldata of %s: %s%s%s", trig->name, a->name,
			  kerr_str(err), missing ? " " : "", missing ? missing : "");
		return err;
	}
	if (!t->signer || t->o.dry_run) {
		e->phase = P_GUARD;   /* busy only for the call below */
		dry_run(t, e);
		return KERR_OK;
	}
	if (state_set_cooldown(t->st, trig->name, trip->time_ms) != KERR_OK)
		t->s.state_errors++;
	if (t->notify && a->notify) {
		notify_msg_trip(&m, trip, a->name);
		notify_send(t, a, &m);
	}
	p = &t->ps[e->ai];
	if (p->valid && nonce_peek(&t->nonce, &n) == KERR_OK && n == p->nonce &&
	    presign_fits(t, p, a, trip)) {
		/* The fast path: the bytes are ready (the peek just
		 * succeeded, so the take cannot fail). */
		(void)nonce_take(&t->nonce, &n);
		e->nonce = n;
		e->has_nonce = true;
		memcpy(e->raw, p->raw, p->len);
		e->raw_len = p->len;
		memcpy(e->hash, p->hash, 32);
		e->fees = p->fees;
		e->sent_ms = now_ms(t);
		push_version(e, e->hash);
		e->phase = P_SENDING;
		p->valid = false;
		t->s.presign_used++;
		relink(t);
		st_put(t, e, false);
		save(t);
		broadcast(t, e, B_FIRST);
		presign_refresh(t);
		return KERR_OK;
	}
	if (a->has_guard) {
		uint8_t sel[4];

		action_guard_calldata(a, sel);
		e->phase = P_GUARD;
		e->ops++;
		if ((err = rpc_eth_call(t->rpc, &a->to, sel, 4, RPC_LATEST, guard_cb,
					&e->op_guard, NULL)) == KERR_OK)
			return KERR_OK;
		e->ops--;
		t->s.rpc_errors++;
		log_warn(MOD, "guard %s() of %s not read (%s): sending anyway",
			 a->guard.name, a->name, kerr_str(err));
	}
	e->phase = P_WAIT;
	send_new(t, e);
	presign_refresh(t);
	return KERR_OK;
}

/* ---- life cycle ------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One state file transaction into a tracked entry. */
static kerr_t resume(tracker_t *t, const state_tx_t *x, char *why, size_t cap)
{
	const config_action_t *a = config_action_find(t->cfg, x->action);
	tx_access_t acc[TX_MAX_ACCESS];
	char hs[67], fs[200];
	uint8_t h[32];
	struct entry *e;
	tx_sig_t sig;
	addr_t from;
	tx_t tx;

	if (!a) {
		snprintf(why, cap, "action \"%s\" is not in the config", x->action);
		return KERR_STATE_INVALID;
	}
	tx_hash(x->raw, x->raw_len, h);
	if (x->raw_len > TRACKER_RAW_MAX || memcmp(h, x->hash, 32) != 0 ||
	    tx_decode(x->raw, x->raw_len, &tx, &sig, acc) != KERR_OK ||
	    tx_recover(&tx, &sig, &from) != KERR_OK || !addr_eq(&from, &t->from) ||
	    tx.type != TX_EIP1559 || tx.chain_id != t->cfg->chain.id ||
	    tx.nonce != x->nonce || !tx.has_to || !addr_eq(&tx.to, &a->to) ||
	    tx.data_len > ACTION_CALLDATA_MAX ||
	    u256_cmp(&tx.max_fee, &x->max_fee) != 0 ||
	    u256_cmp(&tx.max_priority_fee, &x->priority_fee) != 0) {
		snprintf(why, cap, "%s nonce %" PRIu64 ": raw is not the listed transaction "
			 "of this chain, signer and action", x->action, x->nonce);
		return KERR_STATE_INVALID;
	}
	if (lane_find(t, a, x->has_account, &x->account)) {
		snprintf(why, cap, "%s: two transactions in flight for one lane", x->action);
		return KERR_STATE_INVALID;
	}
	if (!(e = entry_alloc(t)))
		return KERR_FULL;
	entry_reset(t, e);
	e->a = a;
	e->ai = action_index(t, a);
	snprintf(e->trigger, sizeof e->trigger, "%s", x->trigger);
	e->has_account = x->has_account;
	e->account = x->account;
	e->trip_ms = x->trip_ms;
	memcpy(e->data, tx.data, tx.data_len);
	e->data_len = tx.data_len;
	e->has_nonce = true;
	e->nonce = x->nonce;
	memcpy(e->raw, x->raw, x->raw_len);
	e->raw_len = x->raw_len;
	memcpy(e->hash, x->hash, 32);
	e->fees.max_fee = x->max_fee;
	e->fees.priority_fee = x->priority_fee;
	e->sent_ms = x->sent_ms;
	e->in_state = true;
	for (size_t i = 0; i < x->nprev; i++)
		push_version(e, x->prev[i]);
	push_version(e, e->hash);
	e->phase = P_PENDING;
	t->s.resumed++;
	hash_text(e->hash, hs);
	fees_text(&e->fees, fs, sizeof fs);
	log_info(MOD, "resumed action=%s trigger=%s nonce=%" PRIu64 " hash=%s %s versions=%u",
		 e->a->name, e->trigger, e->nonce, hs, fs, nversions(e));
	return KERR_OK;
}

static kerr_t load_state(tracker_t *t)
{
	char why[256] = "";
	kerr_t err;

	state_init(t->st, t->cfg->chain.id, &t->from);
	if (!t->state_path)
		return KERR_OK;
	err = state_load(t->st, t->state_path, t->cfg->chain.id, &t->from, why, sizeof why);
	if (err == KERR_NOT_FOUND) {
		state_init(t->st, t->cfg->chain.id, &t->from);
		return KERR_OK;
	}
	if (err != KERR_OK) {
		log_error(MOD, "state file %s: %s%s%s", t->state_path, kerr_str(err),
			  why[0] ? ": " : "", why);
		return err;
	}
	for (size_t i = 0; i < t->st->ntxs; i++)
		if ((err = resume(t, &t->st->txs[i], why, sizeof why)) != KERR_OK) {
			log_error(MOD, "state file %s: %s", t->state_path, why);
			return err;
		}
	return KERR_OK;
}

kerr_t tracker_new(tracker_t **out, const config_keeper_t *cfg,
		   const signer_t *signer, rpc_client_t *rpc, loop_t *loop,
		   rpc_clock_fn clock, void *clock_ctx, const char *state_path,
		   tracker_outcome_fn on_outcome, void *arg,
		   const tracker_opts_t *opts)
{
	tracker_t *t;
	kerr_t err;
	size_t i;
	/* Only a tracker that sends keeps a state file or presigns. */
	bool sends = signer && !(opts && opts->dry_run);

	if (!out || !cfg || !rpc)
		return KERR_ARG;
	*out = NULL;
	if (!(t = calloc(1, sizeof *t)))
		return KERR_NOMEM;
	t->cfg = cfg;
	t->signer = signer;
	t->rpc = rpc;
	t->loop = loop;
	t->clock = clock;
	t->clock_ctx = clock_ctx;
	t->on_outcome = on_outcome;
	t->arg = arg;
	if (opts)
		t->o = *opts;
	t->relay = t->o.relay;
	t->notify = t->o.notify;
	if (!t->o.watch_blocks)
		t->o.watch_blocks = WATCH_DEFAULT;
	if (!t->o.retry_heads)
		t->o.retry_heads = RETRY_DEFAULT;
	if (!t->o.fee_blocks)
		t->o.fee_blocks = TRACKER_FEE_BLOCKS_DEFAULT;
	if (t->o.fee_blocks > TRACKER_FEE_BLOCKS_MAX) {
		free(t);
		return KERR_ARG;
	}
	nonce_init(&t->nonce);
	t->op_obs = (struct op){ t, 0 };
	t->op_fees = (struct op){ t, 0 };
	t->op_market = (struct op){ t, 0 };
	t->e = calloc(TRACKER_MAX_TXS, sizeof *t->e);
	t->ps = calloc(cfg->nactions ? cfg->nactions : 1, sizeof *t->ps);
	t->st = calloc(1, sizeof *t->st);
	if (state_path && sends && (t->state_path = strdup(state_path)) &&
	    state_log_new(state_path, &t->slog) != KERR_OK) {
		free(t->state_path);
		t->state_path = NULL;
	}
	if (!t->e || !t->ps || !t->st || (state_path && sends && !t->state_path)) {
		tracker_free(t);
		return KERR_NOMEM;
	}
	for (i = 0; i < TRACKER_MAX_TXS; i++)
		entry_reset(t, &t->e[i]);
	for (i = 0; i < TRACKER_MAX_FILLS; i++)
		t->fills[i].op = (struct op){ t, i };
	/* Percentiles, the fee need, presign eligibility, the filler view. */
	t->pct[t->npct++] = PCT_DEFAULT;
	for (i = 0; i < cfg->nactions; i++) {
		const config_action_t *a = &cfg->actions[i];
		const config_gas_t *g = a->gas;
		double p = strategy_pct(g);
		bool have = false;
		u256_t cost;

		t->ps[i].op = (struct op){ t, i };
		t->ps[i].eligible = sends && a->presign && args_literal(a);
		for (size_t k = 0; k < t->npct; k++)
			have |= t->pct[k] == p;
		if (!have && t->npct < TRACKER_MAX_PCT)
			t->pct[t->npct++] = p;
		t->need_fees |= g->strategy != CONFIG_GAS_FIXED;
		if (u256_mul_u64(&cost, &g->max_fee, a->gas_limit) == KERR_OK &&
		    u256_cmp(&cost, &t->need) > 0)
			t->need = cost;
		if (a->has_guard && !t->filler)
			t->filler = a;
		t->need_block |= sends && g->strategy == CONFIG_GAS_PRIVATE;
		if (g->strategy == CONFIG_GAS_ESCALATE && g->every_ms > 0 &&
		    (!t->every_ms || g->every_ms < t->every_ms))
			t->every_ms = g->every_ms;
	}
	qsort(t->pct, t->npct, sizeof t->pct[0], cmp_double);
	/* A private action with no relay would have nowhere to go: refused
	 * here rather than sent publicly or never. */
	if (t->need_block && !t->relay) {
		tracker_free(t);
		return KERR_ARG;
	}
	if (!(t->rew = calloc(t->npct * t->o.fee_blocks, sizeof *t->rew))) {
		tracker_free(t);
		return KERR_NOMEM;
	}
	if (signer && (err = signer_address(signer, &t->from)) != KERR_OK) {
		tracker_free(t);
		return err;
	}
	if (sends && (err = load_state(t)) != KERR_OK) {
		tracker_free(t);
		return err;
	}
	if (!sends)
		state_init(t->st, cfg->chain.id, &t->from);
	if (loop && t->every_ms)
		loop_timer_init(&t->timer, loop, timer_cb, t);
	*out = t;
	return KERR_OK;
}

kerr_t tracker_start(tracker_t *t)
{
	if (!t || t->started)
		return KERR_ARG;
	t->started = true;
	t->market_due = true;
	if (t->loop && t->every_ms) {
		t->timer_on = true;
		loop_timer_arm_ms(&t->timer, (int64_t)t->every_ms);
	}
	request_round(t, false);
	return KERR_OK;
}

kerr_t tracker_save(tracker_t *t)
{
	return t ? save(t) : KERR_OK;
}

void tracker_free(tracker_t *t)
{
	if (!t)
		return;
	if (t->timer_on)
		loop_timer_cancel(&t->timer);
	for (size_t i = 0; t->relay && t->e && i < TRACKER_MAX_TXS; i++)
		relay_forget(t->relay, &t->e[i].op_relay);
	free(t->rew);
	free(t->e);
	free(t->ps);
	free(t->st);
	state_log_free(t->slog);
	free(t->state_path);
	free(t);
}

kerr_t tracker_targets(const config_keeper_t *cfg, addr_t *to,
		       uint8_t (*sel)[4], size_t cap, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < cfg->nactions; i++) {
		const config_action_t *a = &cfg->actions[i];

		for (int g = 0; g < 2; g++) {
			const uint8_t *s = g ? a->guard.selector : a->call.selector;
			bool dup = false;

			if (g && !a->has_guard)
				continue;
			for (size_t k = 0; k < *n; k++)
				dup |= addr_eq(&to[k], &a->to) && memcmp(sel[k], s, 4) == 0;
			if (dup)
				continue;
			if (*n == cap)
				return KERR_BUF;
			to[*n] = a->to;
			memcpy(sel[*n], s, 4);
			(*n)++;
		}
	}
	return KERR_OK;
}

void tracker_stats(const tracker_t *t, tracker_stats_t *out)
{
	*out = t->s;
	out->in_flight = 0;
	for (size_t i = 0; i < TRACKER_MAX_TXS; i++)
		out->in_flight += lane_busy(&t->e[i]);
}

const state_t *tracker_state(const tracker_t *t)
{
	return t->st;
}

nonce_t *tracker_nonce(tracker_t *t)
{
	return &t->nonce;
}
