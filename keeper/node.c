/*
 * node: subscriptions on chain.ws, routing of the node's frames, hash
 * fetches and the catch-up after a reconnect (see node.h for the rules).
 *
 * Request ids on the socket say what a reply answers without a lookup
 * table: subscription i is always id i + 1 (the requests are built once,
 * at node_new, and re-sent unchanged on every connection), and
 * eth_getTransactionByHash fetches use ids from FETCH_ID_BASE up, one new
 * id per fetch, so a late reply to a fetch that timed out cannot be taken
 * for the reply to a newer one in the same slot.  Nothing survives a
 * connection: ws never delivers a frame of an old connection, so replies
 * after a reconnect answer requests of that connection.
 *
 * The pending pool read at connect is a second, smaller one: one read at
 * a time (the pending block, or the pool after it), never cancelled, so
 * its completions need no id check.
 *
 * The catch-up is a small state machine driven by rpc completions and one
 * timer.  A completion is accepted only if its request id is the one the
 * machine waits for, so a call that was still in flight when the socket
 * dropped (and the machine restarted) is ignored when it lands.
 */
#include "keeper/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeper/log.h"
#include "keeper/node_parse.h"
#include "signer/hex.h"
#include "signer/keccak.h"

#define MOD "node"
/* Subscription ids seen: geth and anvil "0x" + 32 digits; room for
 * providers that use longer ones. */
#define SUB_ID_MAX 128
#define FETCH_ID_BASE ((uint64_t)1 << 32)
/* An eth_getTransactionByHash request: ~120 bytes with a 20-digit id. */
#define FETCH_REQ_MAX 192
#define DEDUP_BUCKETS (2 * NODE_DEDUP_LOGS)
#define CU_RETRY_MIN_MS 500
#define CU_RETRY_MAX_MS 30000

enum sub_kind {
	SUB_HEADS,
	SUB_PENDING,          /* full objects */
	SUB_PENDING_HASHES,   /* sent only instead of, or after refusal of, SUB_PENDING */
	SUB_LOGS_FROM,
	SUB_LOGS_TO,
	SUB_LOGS_SELF,
};
/* Subscriptions 0..2 are the ones above, in that order; logs follow. */
#define SUB_FIRST_LOGS 3

struct sub {
	uint8_t kind;
	uint32_t watch;        /* LOGS_*: index into cfg->watch */
	const char *req;       /* the eth_subscribe request (in the arena) */
	size_t req_len;
	bool sent, answered;   /* on this connection */
	uint8_t id_len;        /* 0: no subscription id (not active) */
	char id[SUB_ID_MAX];
};

struct fetch {
	bool busy;
	uint64_t id;
	int64_t sent_ms;
};

/* A log passed on, for dropping repeats; `next` chains a bucket
 * (index + 1, 0 ends it). */
struct dent {
	uint64_t block, index;
	uint8_t tx[32];
	uint32_t next;
	bool removed, used;
};

enum cu_state {
	CU_IDLE,
	CU_WAIT,     /* reconnected: waiting for every subscription's answer */
	CU_HEAD,     /* eth_blockNumber in flight */
	CU_LOGS,     /* eth_getLogs in flight */
	CU_RETRY,    /* waiting to retry the last call */
};

enum pr_state {
	PR_IDLE,
	PR_BLOCK,    /* eth_blockNumber + eth_getBlockByNumber("pending") out */
	PR_POOL,     /* txpool_content out */
};

struct node {
	loop_t *loop;
	const config_keeper_t *cfg;
	rpc_client_t *rpc;
	event_sink_fn sink;
	event_frame_fn frame;
	void *ctx;
	node_opts_t o;
	bool started;
	ws_t *ws;
	node_parser_t np;

	struct sub *subs;
	size_t nsubs, nlogsubs;
	char *arena;            /* the subscription requests */
	size_t arena_len;
	size_t nsent, nanswered;/* subscriptions on this connection */
	bool ready_now;         /* all answered on this connection */
	uint8_t transfer[32];   /* topic 0 of Transfer(address,address,uint256) */
	uint8_t (*wtopic)[32];  /* each watched address as a topic */

	struct fetch *fetch;
	uint64_t fetch_seq;
	uint32_t fetch_busy;
	loop_timer_t fetch_t;

	struct dent *dd;
	uint32_t *bucket;
	uint32_t dd_pos;

	struct {
		enum cu_state state;
		bool gap;           /* blocks from `from` on may be missing */
		uint64_t from;      /* first block not yet delivered */
		uint64_t to;        /* the target: the rpc's head */
		bool have_to;
		uint64_t round_to;  /* this round: blocks from..round_to */
		size_t filter;      /* log subscription being fetched */
		uint64_t pos;       /* its next block */
		uint64_t span;      /* blocks per call for it */
		uint64_t call;      /* id of the rpc call awaited; 0: none
				       (rpc's ids start at 1) */
		uint32_t retry_ms;
		uint64_t run_logs;  /* logs of this catch-up, for its log line */
		uint64_t run_errors, run_bad;
		uint64_t run_from;
	} cu;
	loop_timer_t cu_t;

	struct {
		enum pr_state state;
		bool again;         /* another connection got ready meanwhile */
		bool warned;        /* no rpc client: said once */
		size_t passed, over, bad;   /* this read's */
	} pr;

	node_stats_t st;
};

/* ---- helpers -------------------------------------------------------------- */

/* What a subscription is, for log lines: "transfers from vault". */
static const char *describe(const node_t *n, const struct sub *s, char *buf,
			    size_t cap)
{
	const char *w = s->kind >= SUB_LOGS_FROM ? n->cfg->watch[s->watch].name : "";

	switch (s->kind) {
	case SUB_HEADS: return "newHeads";
	case SUB_PENDING: return "newPendingTransactions (full objects)";
	case SUB_PENDING_HASHES: return "newPendingTransactions (hashes)";
	case SUB_LOGS_FROM: snprintf(buf, cap, "logs: transfers from %s", w); break;
	case SUB_LOGS_TO: snprintf(buf, cap, "logs: transfers to %s", w); break;
	default: snprintf(buf, cap, "logs: emitted by %s", w); break;
	}
	return buf;
}

/* A bounded text writer: `over` sticks once something did not fit. */
typedef struct {
	char *p;
	size_t cap, len;
	bool over;
} wbuf_t;

static void put(wbuf_t *w, const char *s, size_t len)
{
	if (w->over || len > w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->len, s, len);
	w->len += len;
}

static void put_s(wbuf_t *w, const char *s)
{
	put(w, s, strlen(s));
}

/* "0x…" of n bytes as a JSON string. */
static void put_hex(wbuf_t *w, const uint8_t *b, size_t n)
{
	char tmp[2 * 32 + 1];

	put(w, "\"0x", 3);
	hex_encode(tmp, b, n);   /* n <= 32 here */
	put(w, tmp, 2 * n);
	put(w, "\"", 1);
}

/* The eth_subscribe params of s. */
static void put_params(const node_t *n, const struct sub *s, wbuf_t *w)
{
	const config_watch_t *wa;

	switch (s->kind) {
	case SUB_HEADS:
		put_s(w, "[\"newHeads\"]");
		return;
	case SUB_PENDING:
		put_s(w, "[\"newPendingTransactions\",true]");
		return;
	case SUB_PENDING_HASHES:
		put_s(w, "[\"newPendingTransactions\"]");
		return;
	default:
		break;
	}
	wa = &n->cfg->watch[s->watch];
	put_s(w, "[\"logs\",{\"address\":");
	if (s->kind == SUB_LOGS_SELF) {
		put_hex(w, wa->address.b, 20);
		put_s(w, "}]");
		return;
	}
	put(w, "[", 1);
	for (size_t i = 0; i < wa->ntokens; i++) {
		if (i)
			put(w, ",", 1);
		put_hex(w, wa->tokens[i].b, 20);
	}
	put_s(w, "],\"topics\":[");
	put_hex(w, n->transfer, 32);
	put_s(w, s->kind == SUB_LOGS_FROM ? "," : ",null,");
	put_hex(w, n->wtopic[s->watch], 32);
	put_s(w, "]}]");
}

/* Room for s's request: the envelope, two topics and the addresses. */
static size_t req_bound(const node_t *n, const struct sub *s)
{
	size_t tokens = s->kind == SUB_LOGS_FROM || s->kind == SUB_LOGS_TO ?
			n->cfg->watch[s->watch].ntokens : 0;
	return 400 + 2 * 70 + tokens * 45;
}

/* The eth_getLogs filter of log subscription s over blocks a..b. */
static void filter_of(const node_t *n, const struct sub *s, uint64_t a,
		      uint64_t b, rpc_log_filter_t *f)
{
	const config_watch_t *wa = &n->cfg->watch[s->watch];

	memset(f, 0, sizeof *f);
	f->from = RPC_BLOCK_NUM(a);
	f->to = RPC_BLOCK_NUM(b);
	if (s->kind == SUB_LOGS_SELF) {
		f->addrs = &wa->address;
		f->naddrs = 1;
		return;
	}
	f->addrs = wa->tokens;
	f->naddrs = wa->ntokens;
	f->topics[0].any = &n->transfer;
	f->topics[0].n = 1;
	if (s->kind == SUB_LOGS_FROM) {
		f->topics[1].any = &n->wtopic[s->watch];
		f->topics[1].n = 1;
		f->ntopics = 2;
	} else {
		f->topics[2].any = &n->wtopic[s->watch];
		f->topics[2].n = 1;
		f->ntopics = 3;
	}
}

/* Count something refused by the field at fault. */
static const char *count_malformed(node_t *n, const char *what)
{
	size_t i;

	n->st.malformed++;
	if (!what)
		what = "frame";
	for (i = 0; i < NODE_MALFORMED_FIELDS; i++) {
		node_malformed_t *m = &n->st.malformed_by[i];
		if (!m->what)
			m->what = what;
		if (m->what == what || strcmp(m->what, what) == 0) {
			m->n++;
			break;
		}
	}
	if (i == NODE_MALFORMED_FIELDS)
		n->st.malformed_other++;
	return what;
}

/* A refused frame: counted, and logged by ws (rate-limited). */
static void malformed(node_t *n, const char *what, kerr_t err)
{
	char why[160];

	what = count_malformed(n, what);
	snprintf(why, sizeof why, "%s: %s", what, kerr_str(err));
	ws_note_malformed(n->ws, why);
}

static void note_head(node_t *n, uint64_t number)
{
	/* The last head, not the highest: after a reorg to a shorter chain
	 * the blocks after it are new ones, to be caught up if missed. */
	n->st.head = number;
	n->st.head_known = true;
}

/* ---- duplicate logs ------------------------------------------------------- */

static uint32_t dd_hash(uint64_t block, uint64_t index, const uint8_t tx[32],
			bool removed)
{
	uint64_t t, h;

	memcpy(&t, tx, sizeof t);
	h = block * 0x9E3779B97F4A7C15ull ^ (index + 1) * 0xC2B2AE3D27D4EB4Full ^
	    t ^ (uint64_t)removed;
	h ^= h >> 31;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 29;
	return (uint32_t)(h & (DEDUP_BUCKETS - 1));
}

/* Index + 1 of the entry for the key, 0 when absent. */
static uint32_t dd_find(const node_t *n, const event_log_t *l, bool removed)
{
	uint32_t i = n->bucket[dd_hash(l->block_number, l->log_index, l->tx_hash,
				       removed)];

	while (i) {
		const struct dent *e = &n->dd[i - 1];
		if (e->block == l->block_number && e->index == l->log_index &&
		    e->removed == removed && memcmp(e->tx, l->tx_hash, 32) == 0)
			return i;
		i = e->next;
	}
	return 0;
}

static void dd_unlink(node_t *n, uint32_t idx)
{
	struct dent *e = &n->dd[idx];
	uint32_t *link = &n->bucket[dd_hash(e->block, e->index, e->tx, e->removed)];

	while (*link && *link != idx + 1)
		link = &n->dd[*link - 1].next;
	if (*link)
		*link = e->next;
	e->used = false;
}

static void dd_add(node_t *n, const event_log_t *l)
{
	uint32_t idx = n->dd_pos, h;
	struct dent *e = &n->dd[idx];

	n->dd_pos = (n->dd_pos + 1) % NODE_DEDUP_LOGS;
	if (e->used)
		dd_unlink(n, idx);
	e->block = l->block_number;
	e->index = l->log_index;
	memcpy(e->tx, l->tx_hash, 32);
	e->removed = l->removed;
	e->used = true;
	h = dd_hash(e->block, e->index, e->tx, e->removed);
	e->next = n->bucket[h];
	n->bucket[h] = idx + 1;
}

/* Pass a log on unless it was passed on in this state already. */
static void emit_log(node_t *n, const event_t *ev, bool catchup)
{
	const event_log_t *l = &ev->log;
	uint32_t twin;

	if (dd_find(n, l, l->removed)) {
		n->st.logs_dup++;
		return;
	}
	dd_add(n, l);
	if ((twin = dd_find(n, l, !l->removed)))
		dd_unlink(n, twin - 1);
	n->st.logs++;
	if (l->removed)
		n->st.logs_removed++;
	if (catchup) {
		n->st.catchup_logs++;
		n->cu.run_logs++;
	}
	n->sink(n->ctx, ev);
}

/* ---- catch-up ------------------------------------------------------------ */

static void cu_head(node_t *n);
static void cu_logs(node_t *n);

static void cu_retry(node_t *n)
{
	n->cu.state = CU_RETRY;
	loop_timer_arm_ms(&n->cu_t, n->cu.retry_ms);
	n->cu.retry_ms = n->cu.retry_ms * 2 > CU_RETRY_MAX_MS ? CU_RETRY_MAX_MS
							       : n->cu.retry_ms * 2;
}

static void cu_finish(node_t *n)
{
	n->cu.state = CU_IDLE;
	n->cu.gap = false;
	n->cu.have_to = false;
	n->st.catchups_done++;
	if (n->cu.run_from > n->cu.to)
		log_info(MOD, "catch-up: no block missed (head %llu)",
			 (unsigned long long)n->cu.to);
	else
		log_info(MOD, "catch-up done: blocks %llu..%llu, %llu logs, "
			 "%llu calls refused or failed, %llu unreadable logs",
			 (unsigned long long)n->cu.run_from,
			 (unsigned long long)n->cu.to,
			 (unsigned long long)n->cu.run_logs,
			 (unsigned long long)n->cu.run_errors,
			 (unsigned long long)n->cu.run_bad);
}

/* Start the next round (from..round_to) at its first filter. */
static void cu_round(node_t *n)
{
	uint64_t span = n->o.catchup_blocks;

	if (n->cu.from > n->cu.to) {
		cu_finish(n);
		return;
	}
	n->cu.round_to = n->cu.to - n->cu.from < span ? n->cu.to
						       : n->cu.from + span - 1;
	n->cu.filter = 0;
	n->cu.pos = n->cu.from;
	n->cu.span = span;
	cu_logs(n);
}

/* The current filter is done for this round: the next one, or the next
 * round once every filter has covered it. */
static void cu_next_filter(node_t *n)
{
	if (++n->cu.filter < n->nlogsubs) {
		n->cu.pos = n->cu.from;
		n->cu.span = n->o.catchup_blocks;
		cu_logs(n);
		return;
	}
	n->cu.from = n->cu.round_to + 1;
	cu_round(n);
}

static void cu_head_done(void *arg, const rpc_reply_t *r)
{
	node_t *n = arg;
	uint64_t h;

	if (r->id != n->cu.call)
		return;
	n->cu.call = 0;
	if (r->err || jtok_u64(r->doc, r->result, &h)) {
		n->st.catchup_errors++;
		log_warn(MOD, "catch-up: eth_blockNumber failed (%s); retrying in %u ms",
			 kerr_str(r->err ? r->err : KERR_RPC_REPLY), n->cu.retry_ms);
		cu_retry(n);
		return;
	}
	n->cu.retry_ms = CU_RETRY_MIN_MS;
	if (!n->cu.gap) {
		/* The first connection's baseline: only if no head came. */
		n->cu.state = CU_IDLE;
		if (!n->st.head_known)
			note_head(n, h);
		return;
	}
	n->cu.to = h;
	n->cu.have_to = true;
	n->cu.run_from = n->cu.from;
	n->cu.run_logs = 0;
	n->cu.run_errors = 0;
	n->cu.run_bad = 0;
	if (n->cu.from <= h)
		log_info(MOD, "catch-up: fetching logs of blocks %llu..%llu",
			 (unsigned long long)n->cu.from, (unsigned long long)h);
	cu_round(n);
}

static void cu_head(node_t *n)
{
	uint64_t id;
	kerr_t err;

	n->cu.state = CU_HEAD;
	n->cu.have_to = false;
	err = rpc_block_number(n->rpc, cu_head_done, n, &id);
	if (err) {
		n->st.catchup_errors++;
		cu_retry(n);
		return;
	}
	n->st.catchup_calls++;
	n->cu.call = id;
}

static void cu_logs_done(void *arg, const rpc_reply_t *r)
{
	node_t *n = arg;
	const struct sub *s;
	char what[CONFIG_NAME_MAX + 32];
	uint64_t a, b;

	if (r->id != n->cu.call)
		return;
	n->cu.call = 0;
	s = &n->subs[SUB_FIRST_LOGS + n->cu.filter];
	a = n->cu.pos;
	b = n->cu.round_to - a < n->cu.span ? n->cu.round_to : a + n->cu.span - 1;
	if (r->err == KERR_OK && jtok_type(r->doc, r->result) == JTOK_ARRAY) {
		const jtok_doc_t *d = r->doc;
		n->cu.retry_ms = CU_RETRY_MIN_MS;
		for (size_t e = jtok_first(d, r->result); e != JTOK_NONE;
		     e = jtok_after(d, r->result, e)) {
			event_t ev;
			kerr_t err = node_parse_log_object(&n->np, d, e, &ev);
			if (err) {
				/* Not a socket frame: counted here, and only
				 * the first of a catch-up is logged. */
				const char *w = count_malformed(n, n->np.what);
				if (!n->cu.run_bad++)
					log_warn(MOD, "catch-up: unreadable log in an "
						 "eth_getLogs result: %s: %s", w,
						 kerr_str(err));
				continue;
			}
			emit_log(n, &ev, true);
		}
		n->cu.pos = b + 1;
		/* A range halved for a crowded stretch grows back after it. */
		if (n->cu.span < n->o.catchup_blocks)
			n->cu.span = n->cu.span * 2 < n->o.catchup_blocks ?
				     n->cu.span * 2 : n->o.catchup_blocks;
		if (n->cu.pos > n->cu.round_to)
			cu_next_filter(n);
		else
			cu_logs(n);
		return;
	}
	n->st.catchup_errors++;
	n->cu.run_errors++;
	/* A node's refusal (a result cap, a range limit) or an answer too
	 * big for us: ask for fewer blocks.  Rate limiting and transport
	 * failures: the same call later. */
	if ((r->err == KERR_RPC_ERROR && r->out->kind != RPC_E_RATE_LIMITED) ||
	    r->err == KERR_TOO_LONG) {
		if (b > a) {
			/* Routine with providers that cap results: debug
			 * only; the summary line counts them. */
			n->cu.span = (b - a + 1) / 2;
			log_debug(MOD, "catch-up: eth_getLogs of blocks %llu..%llu (%s): "
				  "%s%s%s; trying %llu blocks per call",
				  (unsigned long long)a, (unsigned long long)b,
				  describe(n, s, what, sizeof what), kerr_str(r->err),
				  r->err == KERR_RPC_ERROR ? ": " : "",
				  r->err == KERR_RPC_ERROR ? r->out->message : "",
				  (unsigned long long)n->cu.span);
			cu_logs(n);
			return;
		}
		n->st.catchup_skipped++;
		log_error(MOD, "catch-up: logs of block %llu (%s) cannot be fetched "
			  "(%s%s%s): skipped", (unsigned long long)a,
			  describe(n, s, what, sizeof what), kerr_str(r->err),
			  r->err == KERR_RPC_ERROR ? ": " : "",
			  r->err == KERR_RPC_ERROR ? r->out->message : "");
		n->cu.pos = b + 1;
		if (n->cu.pos > n->cu.round_to)
			cu_next_filter(n);
		else
			cu_logs(n);
		return;
	}
	if (r->err == KERR_OK)
		log_warn(MOD, "catch-up: eth_getLogs result is no array; retrying in %u ms",
			 n->cu.retry_ms);
	else
		log_warn(MOD, "catch-up: eth_getLogs failed (%s); retrying in %u ms",
			 kerr_str(r->err), n->cu.retry_ms);
	cu_retry(n);
}

/* eth_getLogs of the current filter from pos, at most span blocks, not
 * past the round. */
static void cu_logs(node_t *n)
{
	const struct sub *s = &n->subs[SUB_FIRST_LOGS + n->cu.filter];
	uint64_t a = n->cu.pos, id;
	uint64_t b = n->cu.round_to - a < n->cu.span ? n->cu.round_to
						      : a + n->cu.span - 1;
	rpc_log_filter_t f;
	kerr_t err;

	n->cu.state = CU_LOGS;
	filter_of(n, s, a, b, &f);
	err = rpc_get_logs(n->rpc, &f, cu_logs_done, n, &id);
	if (err) {
		n->st.catchup_errors++;
		log_warn(MOD, "catch-up: eth_getLogs not sent (%s); retrying in %u ms",
			 kerr_str(err), n->cu.retry_ms);
		cu_retry(n);
		return;
	}
	n->st.catchup_calls++;
	n->cu.call = id;
}

/* The connection is ready (or tired of waiting): catch up if a gap is
 * open, or take a baseline head if none is known. */
static void cu_begin(node_t *n)
{
	loop_timer_cancel(&n->cu_t);
	if (n->cu.state != CU_WAIT)
		return;
	n->cu.state = CU_IDLE;
	n->cu.retry_ms = CU_RETRY_MIN_MS;
	if (n->cu.gap) {
		n->st.catchups++;
		cu_head(n);
	} else if (!n->st.head_known) {
		cu_head(n);
	}
}

static void cu_timer(loop_t *loop, void *arg)
{
	node_t *n = arg;

	(void)loop;
	switch (n->cu.state) {
	case CU_WAIT:
		log_warn(MOD, "%zu of %zu subscriptions unanswered after %u ms; "
			 "starting the catch-up anyway", n->nsent - n->nanswered,
			 n->nsent, n->o.ready_wait_ms);
		cu_begin(n);
		break;
	case CU_RETRY:
		if (n->cu.have_to)
			cu_logs(n);
		else if (n->cu.gap || !n->st.head_known)
			cu_head(n);
		else
			n->cu.state = CU_IDLE;   /* a head came: no baseline needed */
		break;
	default:
		break;
	}
}

/* A connection opened: decide whether it will need a catch-up (or a
 * baseline) once its subscriptions are answered. */
static void cu_on_open(node_t *n)
{
	if (!n->nlogsubs || !n->rpc)
		return;
	if (!n->cu.gap && n->st.head_known)
		return;
	n->cu.state = CU_WAIT;
	loop_timer_arm_ms(&n->cu_t, n->o.ready_wait_ms);
}

/* A connection ended: blocks from the last head on may be missed. */
static void cu_on_close(node_t *n)
{
	loop_timer_cancel(&n->cu_t);
	n->cu.call = 0;
	n->cu.state = CU_IDLE;
	n->cu.have_to = false;
	if (!n->nlogsubs || n->cu.gap)
		return;   /* an unfinished catch-up keeps its `from` */
	if (!n->st.head_known) {
		log_warn(MOD, "connection lost before any block was seen: logs of "
			 "blocks missed while away cannot be fetched");
		return;
	}
	n->cu.gap = true;
	n->cu.from = n->st.head + 1;
	if (!n->rpc)
		log_warn(MOD, "no rpc client: logs of blocks from %llu on that are "
			 "missed while away will not be fetched",
			 (unsigned long long)n->cu.from);
}

/* ---- pending transaction fetches ------------------------------------------ */

static void fetch_timer(loop_t *loop, void *arg)
{
	node_t *n = arg;
	int64_t now = loop_now_ms(loop), next = -1;

	for (uint32_t i = 0; i < n->o.max_fetches; i++) {
		struct fetch *f = &n->fetch[i];
		int64_t due;
		if (!f->busy)
			continue;
		due = f->sent_ms + n->o.fetch_timeout_ms;
		if (due <= now) {
			f->busy = false;
			n->fetch_busy--;
			n->st.fetch_timeouts++;
		} else if (next < 0 || due < next) {
			next = due;
		}
	}
	if (next >= 0)
		loop_timer_arm_ms(&n->fetch_t, next - now);
}

/* A pending transaction notified by hash: fetch it, or pass the hash on
 * when no fetch can be started. */
static void fetch_tx(node_t *n, const event_t *ev)
{
	struct fetch *f = NULL;
	char req[FETCH_REQ_MAX];
	rpc_req_t r = { .kind = RPC_REQ_GET_TX, .hash = ev->tx.hash };
	size_t len;
	uint64_t id;

	if (n->fetch_busy < n->o.max_fetches) {
		for (uint32_t i = 0; i < n->o.max_fetches; i++) {
			if (!n->fetch[i].busy) {
				f = &n->fetch[i];
				break;
			}
		}
	}
	id = FETCH_ID_BASE + n->fetch_seq;
	if (!f || rpc_build(req, sizeof req, &len, id, &r) != KERR_OK ||
	    ws_send(n->ws, req, len) != KERR_OK) {
		n->st.fetch_dropped++;
		n->st.txs++;
		n->sink(n->ctx, ev);
		return;
	}
	n->fetch_seq++;
	f->busy = true;
	f->id = id;
	f->sent_ms = loop_now_ms(n->loop);
	n->fetch_busy++;
	n->st.fetches++;
	if (!loop_timer_armed(&n->fetch_t))
		loop_timer_arm_ms(&n->fetch_t, n->o.fetch_timeout_ms);
}

static void fetch_reply(node_t *n, uint64_t id, const node_frame_t *fr)
{
	const jtok_doc_t *d = &n->np.doc;
	struct fetch *f = NULL;
	size_t bn;
	event_t ev;
	kerr_t err;

	for (uint32_t i = 0; i < n->o.max_fetches; i++) {
		if (n->fetch[i].busy && n->fetch[i].id == id) {
			f = &n->fetch[i];
			break;
		}
	}
	if (!f) {
		n->st.unknown_reply++;   /* timed out already */
		return;
	}
	f->busy = false;
	n->fetch_busy--;
	if (fr->error != JTOK_NONE || fr->result == JTOK_NONE) {
		n->st.fetch_errors++;
		return;
	}
	if (jtok_type(d, fr->result) == JTOK_NULL) {
		n->st.fetch_gone++;
		return;
	}
	if (jtok_type(d, fr->result) == JTOK_OBJECT &&
	    jtok_key(d, fr->result, "blockNumber", 11, &bn) == KERR_OK &&
	    jtok_type(d, bn) != JTOK_NULL) {
		n->st.fetch_mined++;
		return;
	}
	if ((err = node_parse_tx_object(&n->np, d, fr->result, &ev))) {
		n->st.fetch_errors++;
		malformed(n, n->np.what, err);
		return;
	}
	n->st.fetched++;
	n->st.txs++;
	n->sink(n->ctx, &ev);
}

/* ---- the pending pool at connect (node.h) ---------------------------------- */

static void pr_start(node_t *n);

/* The read is over (done or failed): the next one if a connection got
 * ready meanwhile. */
static void pr_end(node_t *n)
{
	n->pr.state = PR_IDLE;
	if (n->pr.again) {
		n->pr.again = false;
		pr_start(n);
	}
}

static void pr_fail(node_t *n, const char *method, kerr_t err, const rpc_outcome_t *out)
{
	n->st.pending_errors++;
	log_warn(MOD, "reading the pending transactions (%s) failed: %s%s%s; those pending "
		 "before the subscription are not seen", method, kerr_str(err),
		 err == KERR_RPC_ERROR && out ? ": " : "",
		 err == KERR_RPC_ERROR && out ? out->message : "");
	pr_end(n);
}

static void pr_finish(node_t *n, const char *method)
{
	log_info(MOD, "%zu transactions pending at connect (%s)", n->pr.passed, method);
	if (n->pr.over)
		log_warn(MOD, "pending transactions at connect: %zu beyond pending_max %u "
			 "not passed on", n->pr.over, n->o.pending_max);
	pr_end(n);
}

/* One transaction object of the reply, passed on as if announced. */
static void pr_tx(node_t *n, const jtok_doc_t *d, size_t obj)
{
	event_t ev;
	size_t h;
	kerr_t err;

	if (n->pr.passed >= n->o.pending_max) {
		n->pr.over++;
		n->st.pending_over++;
		return;
	}
	if ((err = node_parse_tx_object(&n->np, d, obj, &ev))) {
		/* Not a socket frame: counted here, the first logged.  A
		 * block's rendering of a transaction need not be the pool's
		 * (anvil's pending block was seen without a "to"): with its
		 * hash readable it is fetched as an announced hash would be. */
		const char *w = count_malformed(n, n->np.what);
		char hx[67] = "without a hash";
		uint8_t hash[32];
		bool by_hash = jtok_type(d, obj) == JTOK_OBJECT &&
			       jtok_key(d, obj, "hash", 4, &h) == KERR_OK &&
			       jtok_fixed(d, h, hash, 32) == KERR_OK;

		if (by_hash) {
			hx[0] = '0', hx[1] = 'x';
			hex_encode(hx + 2, hash, 32);
			hx[66] = 0;
		}
		if (!n->pr.bad++)
			log_warn(MOD, "pending transactions at connect: unreadable transaction "
				 "%s: %s: %s%s", hx, w, kerr_str(err),
				 by_hash ? "; fetching it by its hash" : "");
		if (!by_hash)
			return;
		memset(&ev, 0, sizeof ev);
		ev.kind = EV_PENDING_TX;
		memcpy(ev.tx.hash, hash, 32);
		n->pr.passed++;
		n->st.pending_txs++;
		fetch_tx(n, &ev);   /* counted in txs when passed on */
		return;
	}
	n->pr.passed++;
	n->st.pending_txs++;
	n->st.txs++;
	n->sink(n->ctx, &ev);
}

/* txpool_content: {"pending": {sender: {nonce: tx}}, "queued": ...}. */
static void pr_pool_done(void *arg, const rpc_reply_t *r)
{
	node_t *n = arg;
	const jtok_doc_t *d = r->doc;
	size_t p;

	if (r->err) {
		pr_fail(n, "txpool_content", r->err, r->out);
		return;
	}
	if (jtok_type(d, r->result) != JTOK_OBJECT ||
	    jtok_key(d, r->result, "pending", 7, &p) != KERR_OK ||
	    jtok_type(d, p) != JTOK_OBJECT) {
		pr_fail(n, "txpool_content", KERR_RPC_REPLY, NULL);
		return;
	}
	for (size_t a = jtok_first(d, p); a != JTOK_NONE; a = jtok_after(d, p, a)) {
		size_t txs = a + 1;

		if (jtok_type(d, txs) != JTOK_OBJECT) {
			n->pr.bad++;
			count_malformed(n, "result.pending");
			continue;
		}
		for (size_t k = jtok_first(d, txs); k != JTOK_NONE; k = jtok_after(d, txs, k))
			pr_tx(n, d, k + 1);
	}
	pr_finish(n, "txpool_content");
}

/* The pending block will not do (why): the pool instead. */
static void pr_pool(node_t *n, const char *why)
{
	kerr_t err;

	log_info(MOD, "pending block %s: reading txpool_content instead", why);
	n->st.pending_pool++;
	if ((err = rpc_call(n->rpc, "txpool_content", NULL, 0, pr_pool_done, n, NULL))) {
		pr_fail(n, "txpool_content", err, NULL);
		return;
	}
	n->pr.state = PR_POOL;
}

static void pr_block_done(void *arg, const rpc_batch_reply_t *b)
{
	node_t *n = arg;
	const rpc_item_t *hd, *bl;
	const jtok_doc_t *d = b->doc;
	uint64_t head, num;
	size_t k, txs;

	if (b->err || b->n != 2) {
		pr_fail(n, "eth_getBlockByNumber", b->err ? b->err : KERR_RPC_REPLY, b->out);
		return;
	}
	hd = &b->items[0];
	bl = &b->items[1];
	if (bl->err == KERR_RPC_ERROR && (bl->out->kind == RPC_E_METHOD_NOT_FOUND ||
					  bl->out->kind == RPC_E_INVALID_PARAMS)) {
		pr_pool(n, "not served");
		return;
	}
	if (bl->err) {
		pr_fail(n, "eth_getBlockByNumber", bl->err, bl->out);
		return;
	}
	if (jtok_type(d, bl->result) == JTOK_NULL) {
		pr_pool(n, "is null");
		return;
	}
	if (jtok_type(d, bl->result) != JTOK_OBJECT ||
	    jtok_key(d, bl->result, "number", 6, &k) != KERR_OK ||
	    jtok_u64(d, k, &num) != KERR_OK ||
	    jtok_key(d, bl->result, "transactions", 12, &txs) != KERR_OK ||
	    jtok_type(d, txs) != JTOK_ARRAY) {
		pr_fail(n, "eth_getBlockByNumber", KERR_RPC_REPLY, NULL);
		return;
	}
	/* Without the head (its call failed) the block is taken as pending. */
	if (hd->err == KERR_OK && jtok_u64(d, hd->result, &head) == KERR_OK && num <= head) {
		pr_pool(n, "is a mined block");
		return;
	}
	for (k = jtok_first(d, txs); k != JTOK_NONE; k = jtok_after(d, txs, k))
		pr_tx(n, d, k);
	pr_finish(n, "eth_getBlockByNumber pending");
}

static void pr_start(node_t *n)
{
	static const char params[] = "[\"pending\",true]";
	const rpc_req_t q[2] = {
		{ .kind = RPC_REQ_BLOCK_NUMBER },
		{ .kind = RPC_REQ_RAW, .method = "eth_getBlockByNumber", .params = params,
		  .params_len = sizeof params - 1 },
	};
	kerr_t err;

	if (!n->rpc) {
		if (!n->pr.warned)
			log_warn(MOD, "no rpc client: transactions pending before the "
				 "subscription are not read");
		n->pr.warned = true;
		return;
	}
	if (n->pr.state != PR_IDLE) {
		n->pr.again = true;
		return;
	}
	n->pr.passed = n->pr.over = n->pr.bad = 0;
	n->st.pending_reads++;
	if ((err = rpc_batch(n->rpc, q, 2, pr_block_done, n, NULL))) {
		pr_fail(n, "eth_getBlockByNumber", err, NULL);
		return;
	}
	n->pr.state = PR_BLOCK;
}

/* ---- subscriptions -------------------------------------------------------- */

static void send_sub(node_t *n, struct sub *s)
{
	kerr_t err = ws_send(n->ws, s->req, s->req_len);

	if (err) {
		char what[CONFIG_NAME_MAX + 32];
		/* The queue is sized for every request, so this is a
		 * connection that just failed; on_open will run again. */
		log_warn(MOD, "cannot send the subscription to %s: %s",
			 describe(n, s, what, sizeof what), kerr_str(err));
		return;
	}
	s->sent = true;
	n->nsent++;
}

static void check_ready(node_t *n)
{
	if (n->ready_now || n->nanswered < n->nsent)
		return;
	n->ready_now = true;
	n->st.ready++;
	n->st.ready_ms = loop_now_ms(n->loop);
	log_info(MOD, "%zu subscriptions answered%s", n->nsent,
		 n->st.reconnects ? " after a reconnect" : "");
	if (n->cu.state == CU_WAIT)
		cu_begin(n);
}

static void sub_reply(node_t *n, struct sub *s, const node_frame_t *fr)
{
	const jtok_doc_t *d = &n->np.doc;

	if (!s->sent || s->answered) {
		n->st.unknown_reply++;
		return;
	}
	s->answered = true;
	n->nanswered++;
	if (fr->result != JTOK_NONE && jtok_type(d, fr->result) == JTOK_STRING &&
	    !(d->tok[fr->result].flags & JTOK_F_ESCAPED) &&
	    d->tok[fr->result].len > 0 && d->tok[fr->result].len <= SUB_ID_MAX) {
		jtok_view_t v = jtok_text(d, fr->result);
		memcpy(s->id, v.p, v.len);
		s->id_len = (uint8_t)v.len;
		n->st.subscribed++;
		/* From here on new pending transactions are announced: what
		 * came before is read once. */
		if (n->o.read_pending && (s->kind == SUB_PENDING || s->kind == SUB_PENDING_HASHES))
			pr_start(n);
	} else {
		char msg[200] = "no subscription id in the reply";
		char what[CONFIG_NAME_MAX + 32];
		size_t m, ml;

		n->st.sub_errors++;
		if (fr->error != JTOK_NONE &&
		    jtok_key(d, fr->error, "message", 7, &m) == KERR_OK &&
		    jtok_unescape(d, m, msg, sizeof msg - 1, &ml) == KERR_OK)
			msg[ml] = 0;
		log_warn(MOD, "subscription to %s refused: %s",
			 describe(n, s, what, sizeof what), msg);
		if (s->kind == SUB_PENDING) {
			log_warn(MOD, "falling back to pending hashes and "
				 "eth_getTransactionByHash");
			send_sub(n, &n->subs[SUB_PENDING_HASHES]);
		}
	}
	check_ready(n);
}

/* The subscription a notification belongs to, NULL if none. */
static struct sub *find_sub(node_t *n, jtok_view_t id)
{
	if (id.len == 0 || id.len > SUB_ID_MAX)
		return NULL;
	for (size_t i = 0; i < n->nsubs; i++) {
		struct sub *s = &n->subs[i];
		if (s->id_len == id.len && memcmp(s->id, id.p, id.len) == 0)
			return s;
	}
	return NULL;
}

/* ---- ws callbacks -------------------------------------------------------- */

static void on_open(ws_t *ws, void *ctx)
{
	node_t *n = ctx;

	(void)ws;
	n->st.opens++;
	if (n->st.opens > 1)
		n->st.reconnects++;
	n->nsent = n->nanswered = 0;
	n->ready_now = false;
	for (size_t i = 0; i < n->nsubs; i++) {
		n->subs[i].sent = n->subs[i].answered = false;
		n->subs[i].id_len = 0;
	}
	cu_on_open(n);
	for (size_t i = 0; i < n->nsubs; i++) {
		uint8_t k = n->subs[i].kind;
		if (k == SUB_PENDING && n->o.pending_hashes_only)
			continue;
		if (k == SUB_PENDING_HASHES && !n->o.pending_hashes_only)
			continue;
		send_sub(n, &n->subs[i]);
	}
	check_ready(n);
}

static void on_close(ws_t *ws, ws_close_t reason, void *ctx)
{
	node_t *n = ctx;

	(void)ws;
	(void)reason;
	for (uint32_t i = 0; i < n->o.max_fetches; i++)
		n->fetch[i].busy = false;
	n->fetch_busy = 0;
	loop_timer_cancel(&n->fetch_t);
	for (size_t i = 0; i < n->nsubs; i++)
		n->subs[i].id_len = 0;
	n->ready_now = false;
	cu_on_close(n);
}

static void on_reply(node_t *n, const node_frame_t *f)
{
	n->st.replies++;
	if (!f->id_is_num) {
		n->st.unknown_reply++;
		return;
	}
	if (f->id_num >= 1 && f->id_num <= n->nsubs)
		sub_reply(n, &n->subs[f->id_num - 1], f);
	else if (f->id_num >= FETCH_ID_BASE)
		fetch_reply(n, f->id_num, f);
	else
		n->st.unknown_reply++;
}

static void on_message(ws_t *ws, const char *msg, size_t len, void *ctx)
{
	node_t *n = ctx;
	node_frame_t f;
	event_t ev;
	struct sub *s;
	kerr_t err;

	(void)ws;
	n->st.frames++;
	if (n->frame)
		n->frame(n->ctx, "node", msg, len, loop_wall_ms(n->loop));
	if ((err = node_parse_frame(&n->np, msg, len, &f, &ev))) {
		malformed(n, n->np.what, err);
		return;
	}
	if (f.kind == NODE_FRAME_REPLY) {
		on_reply(n, &f);
		return;
	}
	if (!(s = find_sub(n, f.sub))) {
		n->st.unknown_sub++;
		return;
	}
	switch (s->kind) {
	case SUB_HEADS:
		if (ev.kind != EV_HEAD)
			break;
		note_head(n, ev.head.number);
		n->st.heads++;
		n->sink(n->ctx, &ev);
		return;
	case SUB_PENDING:
	case SUB_PENDING_HASHES:
		if (ev.kind != EV_PENDING_TX)
			break;
		if (!ev.tx.full) {
			n->st.hashes++;
			fetch_tx(n, &ev);
			return;
		}
		n->st.txs++;
		n->sink(n->ctx, &ev);
		return;
	default:
		if (ev.kind != EV_LOG)
			break;
		emit_log(n, &ev, false);
		return;
	}
	/* A result of another shape than the subscription's. */
	malformed(n, "params.result", KERR_JSON);
}

/* ---- public --------------------------------------------------------------- */

/* The ERC-20 event whose hash is topic 0 of every transfer log. */
static const char transfer_sig[] = "Transfer(address,address,uint256)";

static const node_opts_t defaults = {
	.max_frame = NODE_PARSE_FRAME_DEFAULT,
	.backoff_min_ms = 250,
	.backoff_max_ms = 1000,
	.ping_interval_ms = 15000,
	.ping_timeout_ms = 10000,
	.max_fetches = 64,
	.fetch_timeout_ms = 10000,
	.catchup_blocks = 2000,
	.ready_wait_ms = 5000,
	.pending_max = 1024,
};

static void apply_defaults(node_opts_t *o)
{
#define DEF(f) do { if (!o->f) o->f = defaults.f; } while (0)
	DEF(max_frame);
	DEF(backoff_min_ms);
	DEF(backoff_max_ms);
	DEF(ping_interval_ms);
	DEF(ping_timeout_ms);
	DEF(max_fetches);
	DEF(fetch_timeout_ms);
	DEF(catchup_blocks);
	DEF(ready_wait_ms);
	DEF(pending_max);
#undef DEF
}

/* The subscription table and its requests (built once). */
static kerr_t build_subs(node_t *n)
{
	const config_keeper_t *cfg = n->cfg;
	size_t k = 0, off = 0, scratch_cap = 0;
	char *scratch;

	n->nsubs = SUB_FIRST_LOGS;
	for (size_t w = 0; w < cfg->nwatch; w++)
		n->nsubs += cfg->watch[w].ntokens ? 3 : 1;
	n->nlogsubs = n->nsubs - SUB_FIRST_LOGS;
	n->subs = calloc(n->nsubs, sizeof *n->subs);
	n->wtopic = calloc(cfg->nwatch ? cfg->nwatch : 1, sizeof *n->wtopic);
	if (!n->subs || !n->wtopic)
		return KERR_NOMEM;
	n->subs[k++].kind = SUB_HEADS;
	n->subs[k++].kind = SUB_PENDING;
	n->subs[k++].kind = SUB_PENDING_HASHES;
	for (size_t w = 0; w < cfg->nwatch; w++) {
		/* An address as a topic: left-padded to 32 bytes. */
		memcpy(n->wtopic[w] + 12, cfg->watch[w].address.b, 20);
		if (cfg->watch[w].ntokens) {
			n->subs[k].kind = SUB_LOGS_FROM;
			n->subs[k++].watch = (uint32_t)w;
			n->subs[k].kind = SUB_LOGS_TO;
			n->subs[k++].watch = (uint32_t)w;
		}
		n->subs[k].kind = SUB_LOGS_SELF;
		n->subs[k++].watch = (uint32_t)w;
	}
	for (size_t i = 0; i < n->nsubs; i++) {
		size_t b = req_bound(n, &n->subs[i]);
		n->arena_len += b + 128;
		if (b > scratch_cap)
			scratch_cap = b;
	}
	n->arena = malloc(n->arena_len);
	scratch = malloc(scratch_cap);
	if (!n->arena || !scratch) {
		free(scratch);
		return KERR_NOMEM;
	}
	for (size_t i = 0; i < n->nsubs; i++) {
		struct sub *s = &n->subs[i];
		wbuf_t w = { scratch, scratch_cap, 0, false };
		rpc_req_t r = { .kind = RPC_REQ_RAW, .method = "eth_subscribe" };
		size_t len;
		kerr_t err;

		put_params(n, s, &w);
		r.params = scratch;
		r.params_len = w.len;
		if (w.over || (err = rpc_build(n->arena + off, n->arena_len - off,
					       &len, i + 1, &r))) {
			free(scratch);
			return KERR_BUF;   /* req_bound is wrong: a bug */
		}
		s->req = n->arena + off;
		s->req_len = len;
		off += len;
	}
	free(scratch);
	return KERR_OK;
}

kerr_t node_new(loop_t *loop, const config_keeper_t *cfg, rpc_client_t *rpc,
		event_sink_fn sink, event_frame_fn frame, void *ctx,
		node_t **out)
{
	node_t *n;
	kerr_t err;

	if (!out)
		return KERR_ARG;
	*out = NULL;
	if (!loop || !cfg || !cfg->chain.ws || !sink)
		return KERR_ARG;
	if (!(n = calloc(1, sizeof *n)))
		return KERR_NOMEM;
	n->loop = loop;
	n->cfg = cfg;
	n->rpc = rpc;
	n->sink = sink;
	n->frame = frame;
	n->ctx = ctx;
	n->o = defaults;
	keccak256(n->transfer, (const uint8_t *)transfer_sig, sizeof transfer_sig - 1);
	loop_timer_init(&n->fetch_t, loop, fetch_timer, n);
	loop_timer_init(&n->cu_t, loop, cu_timer, n);
	n->cu.retry_ms = CU_RETRY_MIN_MS;
	n->dd = calloc(NODE_DEDUP_LOGS, sizeof *n->dd);
	n->bucket = calloc(DEDUP_BUCKETS, sizeof *n->bucket);
	if (!n->dd || !n->bucket) {
		node_free(n);
		return KERR_NOMEM;
	}
	if ((err = build_subs(n))) {
		node_free(n);
		return err;
	}
	*out = n;
	return KERR_OK;
}

kerr_t node_set_options(node_t *n, const node_opts_t *opts)
{
	node_opts_t o;

	if (!n || !opts || n->started)
		return KERR_ARG;
	o = *opts;
	apply_defaults(&o);
	if (o.max_frame > NODE_PARSE_FRAME_HARD || o.backoff_max_ms < o.backoff_min_ms ||
	    o.max_fetches > NODE_MAX_FETCHES || o.pending_max > NODE_MAX_PENDING)
		return KERR_ARG;
	n->o = o;
	return KERR_OK;
}

kerr_t node_start(node_t *n)
{
	ws_config_t wc;
	kerr_t err;

	if (!n || n->started)
		return KERR_ARG;
	free(n->fetch);                /* a failed start's, if any */
	node_parse_release(&n->np);
	if (!(n->fetch = calloc(n->o.max_fetches, sizeof *n->fetch)))
		return KERR_NOMEM;
	if ((err = node_parse_init(&n->np, n->o.max_frame)))
		return err;
	memset(&wc, 0, sizeof wc);
	wc.url = n->cfg->chain.ws;
	wc.name = "node";
	wc.max_message = n->o.max_frame;
	/* Every subscription at once (the pending one twice, after a
	 * refusal), plus every fetch the bound allows. */
	wc.send_queue_bytes = n->arena_len + (size_t)n->o.max_fetches * FETCH_REQ_MAX;
	wc.send_queue_msgs = (uint32_t)(n->nsubs + n->o.max_fetches + 1);
	wc.backoff_min_ms = n->o.backoff_min_ms;
	wc.backoff_max_ms = n->o.backoff_max_ms;
	wc.ping_interval_ms = n->o.ping_interval_ms;
	wc.ping_timeout_ms = n->o.ping_timeout_ms;
	wc.cb.on_open = on_open;
	wc.cb.on_message = on_message;
	wc.cb.on_close = on_close;
	wc.ctx = n;
	if ((err = ws_create(n->loop, &wc, &n->ws)))
		return err;
	n->started = true;
	return KERR_OK;
}

void node_stats(const node_t *n, node_stats_t *out)
{
	*out = n->st;
	if (n->ws)
		out->ws = *ws_stats(n->ws);
}

void node_free(node_t *n)
{
	if (!n)
		return;
	ws_destroy(n->ws);
	loop_timer_cancel(&n->fetch_t);
	loop_timer_cancel(&n->cu_t);
	node_parse_release(&n->np);
	free(n->fetch);
	free(n->dd);
	free(n->bucket);
	free(n->subs);
	free(n->wtopic);
	free(n->arena);
	free(n);
}
