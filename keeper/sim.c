/*
 * sim: asynchronous simulation of pending transactions (see sim.h).
 *
 * A simulation is a job: a slot of a fixed pool of max_inflight +
 * max_queue, holding the transaction (its calldata copied), the requests
 * waiting for it, its result so far and one completion context per rpc
 * call it may have in flight.  A context remembers the rpc id of its call,
 * so a reply that arrives after its job timed out (and the slot went to
 * another transaction) is recognised and dropped.  Queued jobs wait in a
 * FIFO ring; since every deadline is the request time plus the same
 * timeout on a monotonic clock, the queue is in deadline order and
 * timing out queued jobs only ever pops its head.
 *
 * The cache is a ring of cache_cap entries (the oldest overwritten) with a
 * chained hash index over (tx hash, watch entry); each entry holds
 * max_assets asset results in one array allocated at creation.
 */
#include "keeper/sim.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeper/det_outflow.h"
#include "signer/hex.h"

#define NONE32 UINT32_MAX
#define CALLS_MAX (2 * SIM_MAX_ASSETS + 1)

typedef enum {
	ROLE_SIMULATE = 1,
	ROLE_PRESTATE,
	ROLE_CALLS,
	ROLE_BALANCE,
} role_t;

typedef struct sim_call {
	sim_t *s;
	uint32_t job;
	bool active;
	uint64_t id;
	role_t role;
	size_t asset;             /* ROLE_BALANCE */
} sim_call_t;

typedef struct {
	sim_done_fn done;
	void *arg;
} waiter_t;

typedef struct {
	bool used;
	bool running;
	event_tx_t tx;            /* input points into `input` */
	char *input;
	size_t input_len;
	uint64_t deadline;
	waiter_t w[SIM_WAITERS];
	size_t nw;
	unsigned pending;         /* rpc calls in flight */
	sim_result_t res;
	sim_call_t call[SIM_MAX_ASSETS + 1];
} job_t;

typedef struct {
	bool used;
	bool reverted;
	uint8_t method;
	uint8_t hash[32];
	const config_watch_t *watch;
	uint32_t next;            /* hash chain */
	uint32_t nassets;
} centry_t;

struct sim {
	rpc_client_t *rpc;
	rpc_clock_fn clock;
	void *clock_ctx;
	loop_t *loop;
	loop_timer_t timer;
	sim_opts_t o;
	job_t *jobs;
	size_t njobs;
	uint32_t *free_;          /* stack of free job indexes */
	size_t nfree;
	uint32_t *queue;          /* FIFO ring of job indexes */
	size_t qhead, qlen;
	size_t running;
	size_t input_total;
	bool pumping;
	bool no_simulate[RPC_MAX_ENDPOINTS];
	centry_t *cache;
	sim_asset_t *cassets;     /* cache_cap * max_assets */
	uint32_t *heads;
	size_t hmask;
	size_t cnext;             /* the ring's next slot (the oldest) */
	char *req;                /* SIM_REQUEST_MAX bytes of scratch */
	sim_stats_t st;
};

const char *sim_method_name(sim_method_t m)
{
	switch (m) {
	case SIM_VIA_SIMULATE: return "simulate";
	case SIM_VIA_TRACE: return "trace";
	}
	return "unknown";
}

/* ---- request texts ------------------------------------------------------ */

typedef struct {
	char *p;
	size_t cap, n;
	bool over;
} wbuf_t;

static void put(wbuf_t *b, const char *s, size_t len)
{
	if (b->over || len > b->cap - b->n) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
}

static void puts_(wbuf_t *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_addr(wbuf_t *b, const addr_t *a)
{
	char t[43];

	t[0] = '0';
	t[1] = 'x';
	hex_encode(t + 2, a->b, 20);
	put(b, t, 42);
}

static void put_u256(wbuf_t *b, const u256_t *v)
{
	char t[U256_HEX_MAX];

	put(b, t, u256_to_hex(v, t, sizeof t));
}

static void put_u64(wbuf_t *b, uint64_t v)
{
	char t[24];

	put(b, t, (size_t)snprintf(t, sizeof t, "0x%llx", (unsigned long long)v));
}

/* The calldata text must be "0x" + an even number of hex digits: it is
 * copied into JSON, so an unchecked quote would change the request. */
static kerr_t check_input(const event_hex_t *in)
{
	if (in->len < 2 || !in->p || in->p[0] != '0' || in->p[1] != 'x')
		return KERR_HEX_PREFIX;
	if (in->len > 2 + 2 * (size_t)SIM_INPUT_MAX)
		return KERR_TOO_LONG;
	if (in->len % 2)
		return KERR_HEX_ODD;
	for (size_t i = 2; i < in->len; i++)
		if (hex_digit(in->p[i]) < 0)
			return KERR_HEX_CHAR;
	return KERR_OK;
}

static kerr_t check_tx(const event_tx_t *tx)
{
	if (!tx || !tx->full || !tx->has_to)
		return KERR_ARG;
	return check_input(&tx->input);
}

static void put_tx(wbuf_t *b, const event_tx_t *tx)
{
	puts_(b, "{\"from\":\"");
	put_addr(b, &tx->from);
	puts_(b, "\",\"to\":\"");
	put_addr(b, &tx->to);
	puts_(b, "\",\"value\":\"");
	put_u256(b, &tx->value);
	puts_(b, "\",\"data\":\"");
	put(b, tx->input.p, tx->input.len);
	puts_(b, "\",\"gas\":\"");
	put_u64(b, tx->gas);
	puts_(b, "\"}");
}

/* The word-padded watch address, as calldata after a selector. */
static void put_watch_word(wbuf_t *b, const addr_t *w)
{
	char t[41];

	puts_(b, "000000000000000000000000");
	hex_encode(t, w->b, 20);
	put(b, t, 40);
}

/* One balance read per asset: ETH through the reader, tokens balanceOf. */
static void put_reads(wbuf_t *b, const config_watch_t *w)
{
	puts_(b, "{\"to\":\"" SIM_READER "\",\"data\":\"0x");
	put_watch_word(b, &w->address);
	puts_(b, "\"}");
	for (size_t i = 0; i < w->ntokens; i++) {
		puts_(b, ",{\"to\":\"");
		put_addr(b, &w->tokens[i]);
		puts_(b, "\",\"data\":\"0x70a08231");
		put_watch_word(b, &w->address);
		puts_(b, "\"}");
	}
}

kerr_t sim_build_simulate(char *out, size_t cap, size_t *len,
			  const config_watch_t *watch, const event_tx_t *tx)
{
	wbuf_t b = { out, cap, 0, false };
	kerr_t err;

	if (!out || !len || !watch || watch->ntokens > CONFIG_MAX_TOKENS)
		return KERR_ARG;
	if ((err = check_tx(tx)))
		return err;
	puts_(&b, "[{\"blockStateCalls\":[{\"stateOverrides\":{\"" SIM_READER
	      "\":{\"code\":\"" SIM_READER_CODE "\"}},\"calls\":[");
	put_reads(&b, watch);
	puts_(&b, ",");
	put_tx(&b, tx);
	puts_(&b, ",");
	put_reads(&b, watch);
	puts_(&b, "]}],\"validation\":false},\"latest\"]");
	if (b.over)
		return KERR_BUF;
	*len = b.n;
	return KERR_OK;
}

kerr_t sim_build_trace(char *out, size_t cap, size_t *len,
		       const event_tx_t *tx, sim_tracer_t tracer)
{
	wbuf_t b = { out, cap, 0, false };
	kerr_t err;

	if (!out || !len || (tracer != SIM_TRACE_PRESTATE && tracer != SIM_TRACE_CALLS))
		return KERR_ARG;
	if ((err = check_tx(tx)))
		return err;
	puts_(&b, "[");
	put_tx(&b, tx);
	if (tracer == SIM_TRACE_PRESTATE)
		puts_(&b, ",\"latest\",{\"tracer\":\"prestateTracer\","
		      "\"tracerConfig\":{\"diffMode\":true}}]");
	else
		puts_(&b, ",\"latest\",{\"tracer\":\"callTracer\","
		      "\"tracerConfig\":{\"withLog\":true}}]");
	if (b.over)
		return KERR_BUF;
	*len = b.n;
	return KERR_OK;
}

/* ---- replies ------------------------------------------------------------ */

static kerr_t fail(sim_result_t *r, kerr_t err, const char *what)
{
	r->what = what;
	return err;
}

static void set_watch(sim_result_t *r, const config_watch_t *w)
{
	r->watch = w;
	r->nassets = 1 + w->ntokens;
	memset(&r->asset[0].token, 0, sizeof r->asset[0].token);
	for (size_t i = 0; i < w->ntokens; i++)
		r->asset[1 + i].token = w->tokens[i];
}

static void set_loss(sim_asset_t *a)
{
	if (u256_cmp(&a->before, &a->after) > 0)
		u256_sub(&a->loss, &a->before, &a->after);
	else
		u256_zero(&a->loss);
}

/* The elements of array tok into idx[0..cap); KERR_TOO_LONG past cap. */
static kerr_t elements(const jtok_doc_t *d, size_t tok, size_t *idx, size_t cap,
		       size_t *n)
{
	*n = 0;
	if (jtok_type(d, tok) != JTOK_ARRAY)
		return KERR_JSON;
	for (size_t k = jtok_first(d, tok); k != JTOK_NONE; k = jtok_after(d, tok, k)) {
		if (*n == cap)
			return KERR_TOO_LONG;
		idx[(*n)++] = k;
	}
	return KERR_OK;
}

/* status (0 or 1) and the returnData token of one simulated call. */
static kerr_t call_fields(const jtok_doc_t *d, size_t call, sim_result_t *r,
			  uint64_t *status, size_t *ret)
{
	size_t t;
	kerr_t err;

	if (jtok_type(d, call) != JTOK_OBJECT)
		return fail(r, KERR_JSON, "calls");
	if ((err = jtok_key(d, call, "status", 6, &t)))
		return fail(r, err, "calls.status");
	if ((err = jtok_u64(d, t, status)))
		return fail(r, err, "calls.status");
	if (*status > 1)
		return fail(r, KERR_NUM_RANGE, "calls.status");
	if ((err = jtok_key(d, call, "returnData", 10, ret)))
		return fail(r, err, "calls.returnData");
	if (jtok_type(d, *ret) != JTOK_STRING)
		return fail(r, KERR_JSON, "calls.returnData");
	return KERR_OK;
}

/*
 * A balance read: *ok false when it reverted or did not return one word
 * (a token that is not an ERC-20).  Our own reader (asset 0) always
 * returns one word, so anything else from it is an error of the node.
 */
static kerr_t read_balance(const jtok_doc_t *d, size_t call, size_t asset,
			   sim_result_t *r, u256_t *v, bool *ok)
{
	uint64_t status;
	size_t ret;
	uint8_t w[32];
	kerr_t err;

	*ok = false;
	if ((err = call_fields(d, call, r, &status, &ret)))
		return err;
	if (status != 1)
		return asset == 0 ? fail(r, KERR_NUM_RANGE, "calls.status") : KERR_OK;
	err = jtok_fixed(d, ret, w, 32);
	if (err == KERR_HEX_LENGTH && asset != 0)
		return KERR_OK;
	if (err)
		return fail(r, err, "calls.returnData");
	u256_from_be(v, w, 32);
	*ok = true;
	return KERR_OK;
}

kerr_t sim_parse_simulate(const jtok_doc_t *d, size_t result,
			  const config_watch_t *watch, sim_result_t *r)
{
	size_t blocks[2], calls[CALLS_MAX + 1], nb, nc, na, t;
	uint64_t status;
	kerr_t err;

	if (!d || !watch || !r || watch->ntokens > CONFIG_MAX_TOKENS)
		return KERR_ARG;
	set_watch(r, watch);
	r->reverted = false;
	na = r->nassets;
	err = elements(d, result, blocks, 2, &nb);
	if (err)
		return fail(r, err, "result");
	if (nb == 0)
		return fail(r, KERR_TRUNCATED, "result");
	if (nb > 1)
		return fail(r, KERR_TOO_LONG, "result");
	if (jtok_type(d, blocks[0]) != JTOK_OBJECT)
		return fail(r, KERR_JSON, "result.0");
	if ((err = jtok_key(d, blocks[0], "calls", 5, &t)))
		return fail(r, err, "result.0.calls");
	err = elements(d, t, calls, 2 * na + 2, &nc);
	if (err || nc > 2 * na + 1)
		return fail(r, err ? err : KERR_TOO_LONG, "result.0.calls");
	if (nc < 2 * na + 1)
		return fail(r, KERR_TRUNCATED, "result.0.calls");
	for (size_t i = 0; i < na; i++) {
		sim_asset_t *a = &r->asset[i];
		bool ok1, ok2;

		if ((err = read_balance(d, calls[i], i, r, &a->before, &ok1)) ||
		    (err = read_balance(d, calls[na + 1 + i], i, r, &a->after, &ok2)))
			return err;
		a->known = a->has_balance = ok1 && ok2;
		if (a->known)
			set_loss(a);
		else
			u256_zero(&a->loss);
	}
	if ((err = call_fields(d, calls[na], r, &status, &t)))
		return err;
	if (status == 0) {
		r->reverted = true;
		for (size_t i = 0; i < na; i++)
			u256_zero(&r->asset[i].loss);
	}
	return KERR_OK;
}

/* The member of object obj whose key is the address w, or JTOK_NONE; at
 * most SIM_MAX_ITEMS keys. */
static kerr_t find_account(const jtok_doc_t *d, size_t obj, const addr_t *w,
			   size_t *out)
{
	size_t n = 0;
	addr_t a;
	kerr_t err;

	*out = JTOK_NONE;
	if (jtok_type(d, obj) != JTOK_OBJECT)
		return KERR_JSON;
	for (size_t k = jtok_first(d, obj); k != JTOK_NONE; k = jtok_after(d, obj, k)) {
		if (++n > SIM_MAX_ITEMS)
			return KERR_TOO_LONG;
		if ((err = jtok_addr(d, k, &a)))
			return err;
		if (addr_eq(&a, w)) {
			if (*out != JTOK_NONE)
				return KERR_JSON;    /* the same account twice */
			*out = k + 1;
		}
	}
	if (*out != JTOK_NONE && jtok_type(d, *out) != JTOK_OBJECT)
		return KERR_JSON;
	return KERR_OK;
}

/* The account's balance; absent is *has false. */
static kerr_t account_balance(const jtok_doc_t *d, size_t acct, u256_t *v, bool *has)
{
	size_t t;
	kerr_t err;

	*has = false;
	if ((err = jtok_key_opt(d, acct, "balance", &t)))
		return err;
	if (t == JTOK_NONE)
		return KERR_OK;
	*has = true;
	return jtok_u256(d, t, v);
}

kerr_t sim_parse_prestate(const jtok_doc_t *d, size_t result,
			  const config_watch_t *watch, sim_result_t *r)
{
	size_t pre, post, a_pre, a_post;
	sim_asset_t *a;
	u256_t b;
	bool has;
	kerr_t err;

	if (!d || !watch || !r || watch->ntokens > CONFIG_MAX_TOKENS)
		return KERR_ARG;
	set_watch(r, watch);
	a = &r->asset[0];
	memset(a, 0, sizeof *a);
	if (jtok_type(d, result) != JTOK_OBJECT)
		return fail(r, KERR_JSON, "result");
	if ((err = jtok_key(d, result, "pre", 3, &pre)))
		return fail(r, err, "result.pre");
	if ((err = jtok_key(d, result, "post", 4, &post)))
		return fail(r, err, "result.post");
	if ((err = find_account(d, pre, &watch->address, &a_pre)))
		return fail(r, err, "result.pre");
	if ((err = find_account(d, post, &watch->address, &a_post)))
		return fail(r, err, "result.post");
	a->known = true;
	if (a_pre != JTOK_NONE) {
		if ((err = account_balance(d, a_pre, &a->before, &has)))
			return fail(r, err, "result.pre.balance");
		a->after = a->before;
		a->has_balance = true;
	}
	if (a_post != JTOK_NONE) {
		if ((err = account_balance(d, a_post, &b, &has)))
			return fail(r, err, "result.post.balance");
		if (has) {
			a->after = b;
			a->has_balance = true;
		}
	}
	set_loss(a);
	return KERR_OK;
}

typedef struct {
	const config_watch_t *w;
	sim_result_t *r;
	u256_t out[CONFIG_MAX_TOKENS], in[CONFIG_MAX_TOKENS];
	size_t items;
} walk_t;

static kerr_t add(u256_t *sum, const u256_t *v, sim_result_t *r)
{
	if (u256_add(sum, sum, v))
		return fail(r, KERR_NUM_OVERFLOW, "logs.data");
	return KERR_OK;
}

/* An address topic: 12 zero bytes, then the address; false otherwise. */
static bool topic_addr(const uint8_t t[32], addr_t *a)
{
	for (int i = 0; i < 12; i++)
		if (t[i])
			return false;
	memcpy(a->b, t + 12, 20);
	return true;
}

static kerr_t walk_log(walk_t *k, const jtok_doc_t *d, size_t log)
{
	size_t t, topics[4], nt, tok;
	uint8_t top[3][32], data[32];
	addr_t a, from, to;
	u256_t amount;
	kerr_t err;

	if (jtok_type(d, log) != JTOK_OBJECT)
		return fail(k->r, KERR_JSON, "logs");
	if ((err = jtok_key(d, log, "address", 7, &t)) || (err = jtok_addr(d, t, &a)))
		return fail(k->r, err, "logs.address");
	for (tok = 0; tok < k->w->ntokens && !addr_eq(&a, &k->w->tokens[tok]); tok++)
		;
	if (tok == k->w->ntokens)
		return KERR_OK;           /* not a watched token */
	if ((err = jtok_key(d, log, "topics", 6, &t)))
		return fail(k->r, err, "logs.topics");
	err = elements(d, t, topics, 4, &nt);
	if (err == KERR_TOO_LONG || (!err && nt != 3))
		return KERR_OK;           /* not an ERC-20 Transfer */
	if (err)
		return fail(k->r, err, "logs.topics");
	for (size_t i = 0; i < 3; i++)
		if ((err = jtok_fixed(d, topics[i], top[i], 32)))
			return fail(k->r, err, "logs.topics");
	if (memcmp(top[0], det_outflow_transfer_topic, 32) != 0 ||
	    !topic_addr(top[1], &from) || !topic_addr(top[2], &to))
		return KERR_OK;
	if ((err = jtok_key(d, log, "data", 4, &t)) || (err = jtok_fixed(d, t, data, 32)))
		return fail(k->r, err, "logs.data");
	u256_from_be(&amount, data, 32);
	if (addr_eq(&from, &to))
		return KERR_OK;
	if (addr_eq(&from, &k->w->address))
		return add(&k->out[tok], &amount, k->r);
	if (addr_eq(&to, &k->w->address))
		return add(&k->in[tok], &amount, k->r);
	return KERR_OK;
}

static kerr_t walk_frame(walk_t *k, const jtok_doc_t *d, size_t f, unsigned depth)
{
	size_t t;
	kerr_t err;

	if (++k->items > SIM_MAX_ITEMS || depth > JTOK_MAX_DEPTH)
		return fail(k->r, KERR_TOO_LONG, "calls");
	if (jtok_type(d, f) != JTOK_OBJECT)
		return fail(k->r, KERR_JSON, "calls");
	if ((err = jtok_key_opt(d, f, "error", &t)))
		return fail(k->r, err, "calls.error");
	if (t != JTOK_NONE)
		return KERR_OK;           /* reverted: its logs never happened */
	if ((err = jtok_key_opt(d, f, "logs", &t)))
		return fail(k->r, err, "logs");
	if (t != JTOK_NONE) {
		if (jtok_type(d, t) != JTOK_ARRAY)
			return fail(k->r, KERR_JSON, "logs");
		for (size_t l = jtok_first(d, t); l != JTOK_NONE; l = jtok_after(d, t, l)) {
			if (++k->items > SIM_MAX_ITEMS)
				return fail(k->r, KERR_TOO_LONG, "logs");
			if ((err = walk_log(k, d, l)))
				return err;
		}
	}
	if ((err = jtok_key_opt(d, f, "calls", &t)))
		return fail(k->r, err, "calls");
	if (t != JTOK_NONE) {
		if (jtok_type(d, t) != JTOK_ARRAY)
			return fail(k->r, KERR_JSON, "calls");
		for (size_t c = jtok_first(d, t); c != JTOK_NONE; c = jtok_after(d, t, c))
			if ((err = walk_frame(k, d, c, depth + 1)))
				return err;
	}
	return KERR_OK;
}

kerr_t sim_parse_calls(const jtok_doc_t *d, size_t result,
		       const config_watch_t *watch, sim_result_t *r)
{
	walk_t k;
	size_t t;
	kerr_t err;

	if (!d || !watch || !r || watch->ntokens > CONFIG_MAX_TOKENS)
		return KERR_ARG;
	set_watch(r, watch);
	memset(&k, 0, sizeof k);
	k.w = watch;
	k.r = r;
	if (jtok_type(d, result) != JTOK_OBJECT)
		return fail(r, KERR_JSON, "result");
	if ((err = jtok_key_opt(d, result, "error", &t)))
		return fail(r, err, "result.error");
	r->reverted = t != JTOK_NONE;
	if (!r->reverted && (err = walk_frame(&k, d, result, 0)))
		return err;
	for (size_t i = 0; i < watch->ntokens; i++) {
		sim_asset_t *a = &r->asset[1 + i];

		a->known = true;
		a->has_balance = false;
		u256_zero(&a->before);
		u256_zero(&a->after);
		if (u256_cmp(&k.out[i], &k.in[i]) > 0)
			u256_sub(&a->loss, &k.out[i], &k.in[i]);
		else
			u256_zero(&a->loss);
	}
	return KERR_OK;
}

/* ---- the cache ------------------------------------------------------------ */

static size_t bucket(const sim_t *s, const uint8_t hash[32], const config_watch_t *w)
{
	uint64_t h;

	memcpy(&h, hash, 8);          /* a keccak hash: already uniform */
	h ^= (uint64_t)(uintptr_t)w * 0x9e3779b97f4a7c15ull;
	return (size_t)(h ^ (h >> 29)) & s->hmask;
}

static centry_t *cache_find(sim_t *s, const uint8_t hash[32], const config_watch_t *w,
			    size_t *idx)
{
	for (uint32_t i = s->heads[bucket(s, hash, w)]; i != NONE32; i = s->cache[i].next) {
		centry_t *e = &s->cache[i];
		if (e->watch == w && memcmp(e->hash, hash, 32) == 0) {
			*idx = i;
			return e;
		}
	}
	return NULL;
}

static void cache_unlink(sim_t *s, uint32_t i)
{
	centry_t *e = &s->cache[i];
	uint32_t *p = &s->heads[bucket(s, e->hash, e->watch)];

	while (*p != NONE32 && *p != i)
		p = &s->cache[*p].next;
	if (*p == i)
		*p = e->next;
	e->used = false;
}

static void cache_put(sim_t *s, const sim_result_t *r)
{
	uint32_t i = (uint32_t)s->cnext;
	centry_t *e = &s->cache[i];
	size_t b, old;

	if (cache_find(s, r->hash, r->watch, &old))
		return;
	if (e->used) {
		cache_unlink(s, i);
		s->st.evictions++;
	}
	s->cnext = (s->cnext + 1) % s->o.cache_cap;
	e->used = true;
	e->reverted = r->reverted;
	e->method = (uint8_t)r->method;
	memcpy(e->hash, r->hash, 32);
	e->watch = r->watch;
	e->nassets = (uint32_t)r->nassets;
	memcpy(&s->cassets[(size_t)i * s->o.max_assets], r->asset,
	       r->nassets * sizeof r->asset[0]);
	b = bucket(s, e->hash, e->watch);
	e->next = s->heads[b];
	s->heads[b] = i;
}

static void cache_get(const sim_t *s, const centry_t *e, size_t i, sim_result_t *r)
{
	memset(r, 0, offsetof(sim_result_t, asset));
	r->err = KERR_OK;
	r->method = (sim_method_t)e->method;
	r->cached = true;
	r->reverted = e->reverted;
	memcpy(r->hash, e->hash, 32);
	r->watch = e->watch;
	r->nassets = e->nassets;
	memcpy(r->asset, &s->cassets[i * s->o.max_assets], e->nassets * sizeof r->asset[0]);
}

/* ---- jobs ----------------------------------------------------------------- */

static void pump(sim_t *s);
static void rearm(sim_t *s);
static void on_reply(void *arg, const rpc_reply_t *r);

static uint64_t now(const sim_t *s)
{
	return s->clock(s->clock_ctx);
}

static uint32_t job_index(const sim_t *s, const job_t *j)
{
	return (uint32_t)(j - s->jobs);
}

/*
 * End job j with err (what, and the node's error when it was one), hand
 * the result to every request waiting for it, and free the slot.  The
 * slot is free before any callback runs, so a callback may request again.
 */
static void finish(sim_t *s, job_t *j, kerr_t err, const char *what,
		   const rpc_reply_t *rep)
{
	sim_result_t res;
	waiter_t w[SIM_WAITERS];
	size_t nw = j->nw;

	for (size_t i = 0; i < SIM_MAX_ASSETS + 1; i++)
		j->call[i].active = false;
	j->res.err = err;
	j->res.what = err ? what : NULL;
	if (rep && err == KERR_RPC_ERROR && rep->out) {
		j->res.kind = rep->out->kind;
		j->res.code = rep->out->code;
	}
	if (err == KERR_OK) {
		if (j->res.reverted) {
			s->st.reverted++;
			for (size_t i = 0; i < j->res.nassets; i++)
				u256_zero(&j->res.asset[i].loss);
		}
		for (size_t i = 0; i < j->res.nassets; i++)
			s->st.unreadable += !j->res.asset[i].known;
		s->st.ok++;
		cache_put(s, &j->res);
	} else if (err == KERR_RPC_TIMEOUT) {
		s->st.timeouts++;
	} else {
		s->st.errors++;
	}
	res = j->res;
	memcpy(w, j->w, nw * sizeof w[0]);
	if (j->running)
		s->running--;
	s->input_total -= j->input_len;
	free(j->input);
	j->input = NULL;
	j->input_len = 0;
	j->used = false;
	j->running = false;
	j->nw = 0;
	s->free_[s->nfree++] = job_index(s, j);
	for (size_t i = 0; i < nw; i++)
		w[i].done(w[i].arg, &res);
}

/* Send one call of job j in its context k. */
static kerr_t submit(sim_t *s, job_t *j, size_t k, role_t role, size_t asset,
		     const char *method, const char *params, size_t plen,
		     const addr_t *to, const uint8_t *data, size_t dlen)
{
	sim_call_t *c = &j->call[k];
	uint64_t t = now(s), left = j->deadline > t ? j->deadline - t : 1;
	rpc_req_t req = { 0 };
	uint64_t id = 0;
	kerr_t err;

	if (method) {
		req.kind = RPC_REQ_RAW;
		req.method = method;
		req.params = params;
		req.params_len = plen;
	} else {
		req.kind = RPC_REQ_CALL;
		req.addr = to;
		req.block = RPC_LATEST;
		req.data = data;
		req.data_len = dlen;
	}
	/* No attempt outlives the deadline by much. */
	req.timeout_ms = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
	c->s = s;
	c->job = job_index(s, j);
	c->role = role;
	c->asset = asset;
	if ((err = rpc_submit(s->rpc, &req, on_reply, c, &id)))
		return err;
	c->id = id;
	c->active = true;
	j->pending++;
	return KERR_OK;
}

static kerr_t start_trace(sim_t *s, job_t *j)
{
	size_t len;
	kerr_t err;

	j->res.method = SIM_VIA_TRACE;
	s->st.via_trace++;
	if ((err = sim_build_trace(s->req, SIM_REQUEST_MAX, &len, &j->tx, SIM_TRACE_PRESTATE)) ||
	    (err = submit(s, j, 0, ROLE_PRESTATE, 0, "debug_traceCall", s->req, len,
			  NULL, NULL, 0)))
		return err;
	if (j->res.watch->ntokens == 0)
		return KERR_OK;
	if ((err = sim_build_trace(s->req, SIM_REQUEST_MAX, &len, &j->tx, SIM_TRACE_CALLS)) ||
	    (err = submit(s, j, 1, ROLE_CALLS, 0, "debug_traceCall", s->req, len,
			  NULL, NULL, 0)))
		return err;
	return KERR_OK;
}

static void start(sim_t *s, job_t *j)
{
	size_t ep = rpc_current(s->rpc), len;
	kerr_t err;

	j->running = true;
	s->running++;
	s->st.simulated++;
	if (s->o.force_trace || (ep < RPC_MAX_ENDPOINTS && s->no_simulate[ep])) {
		err = start_trace(s, j);
	} else {
		j->res.method = SIM_VIA_SIMULATE;
		s->st.via_simulate++;
		err = sim_build_simulate(s->req, SIM_REQUEST_MAX, &len, j->res.watch, &j->tx);
		if (!err)
			err = submit(s, j, 0, ROLE_SIMULATE, 0, "eth_simulateV1", s->req,
				     len, NULL, NULL, 0);
	}
	if (err)
		finish(s, j, err, "request", NULL);
}

/* Step 2 of a trace: the balances before of the tokens that lost. */
static void trace_balances(sim_t *s, job_t *j)
{
	uint8_t data[36] = { 0x70, 0xa0, 0x82, 0x31 };
	size_t k = 0;
	kerr_t err;

	memcpy(data + 16, j->res.watch->address.b, 20);
	for (size_t i = 1; i < j->res.nassets; i++) {
		sim_asset_t *a = &j->res.asset[i];
		if (j->res.reverted || !a->known || u256_is_zero(&a->loss))
			continue;
		if ((err = submit(s, j, k++, ROLE_BALANCE, i, NULL, NULL, 0, &a->token,
				  data, sizeof data))) {
			finish(s, j, err, "request", NULL);
			return;
		}
	}
	if (j->pending == 0)
		finish(s, j, KERR_OK, NULL, NULL);
}

static void on_reply(void *arg, const rpc_reply_t *r)
{
	sim_call_t *c = arg;
	sim_t *s = c->s;
	job_t *j = &s->jobs[c->job];
	sim_asset_t *a;
	uint8_t w[32];
	kerr_t err;

	if (!c->active || c->id != r->id) {
		s->st.stale++;
		return;
	}
	c->active = false;
	j->pending--;
	switch (c->role) {
	case ROLE_SIMULATE:
		if (r->err == KERR_RPC_ERROR && r->out &&
		    r->out->kind == RPC_E_METHOD_NOT_FOUND) {
			if (r->endpoint < RPC_MAX_ENDPOINTS)
				s->no_simulate[r->endpoint] = true;
			s->st.fallbacks++;
			if ((err = start_trace(s, j)))
				finish(s, j, err, "request", NULL);
			break;
		}
		if (r->err) {
			finish(s, j, r->err, r->what ? r->what : "reply", r);
			break;
		}
		err = sim_parse_simulate(r->doc, r->result, j->res.watch, &j->res);
		finish(s, j, err, j->res.what, NULL);
		break;
	case ROLE_PRESTATE:
	case ROLE_CALLS:
		if (r->err) {
			finish(s, j, r->err, r->what ? r->what : "reply", r);
			break;
		}
		err = c->role == ROLE_PRESTATE ?
			sim_parse_prestate(r->doc, r->result, j->res.watch, &j->res) :
			sim_parse_calls(r->doc, r->result, j->res.watch, &j->res);
		if (err)
			finish(s, j, err, j->res.what, NULL);
		else if (j->pending == 0)
			trace_balances(s, j);
		break;
	case ROLE_BALANCE:
		a = &j->res.asset[c->asset];
		if (r->err == KERR_OK && jtok_fixed(r->doc, r->result, w, 32) == KERR_OK) {
			u256_from_be(&a->before, w, 32);
			if (u256_cmp(&a->before, &a->loss) >= 0)
				u256_sub(&a->after, &a->before, &a->loss);
			else
				u256_zero(&a->after);
			a->has_balance = true;
		} else if (r->err == KERR_OK ||
			   (r->err == KERR_RPC_ERROR && r->out && r->out->kind == RPC_E_REVERTED)) {
			a->known = false;     /* not an ERC-20's balanceOf */
		} else {
			finish(s, j, r->err, r->what ? r->what : "reply", r);
			break;
		}
		if (j->pending == 0)
			finish(s, j, KERR_OK, NULL, NULL);
		break;
	}
	pump(s);
	rearm(s);
}

/* Start queued jobs while there is room.  Not re-entered: a job that
 * fails at once calls back, and a callback may request again. */
static void pump(sim_t *s)
{
	if (s->pumping)
		return;
	s->pumping = true;
	while (s->running < s->o.max_inflight && s->qlen > 0) {
		job_t *j = &s->jobs[s->queue[s->qhead]];
		s->qhead = (s->qhead + 1) % s->o.max_queue;
		s->qlen--;
		start(s, j);
	}
	s->pumping = false;
}

void sim_tick(sim_t *s)
{
	uint64_t t;

	if (!s)
		return;
	t = now(s);
	for (size_t i = 0; i < s->njobs; i++) {
		job_t *j = &s->jobs[i];
		if (j->used && j->running && j->deadline <= t)
			finish(s, j, KERR_RPC_TIMEOUT, "deadline", NULL);
	}
	while (s->qlen > 0) {
		job_t *j = &s->jobs[s->queue[s->qhead]];
		if (j->deadline > t)
			break;
		s->qhead = (s->qhead + 1) % s->o.max_queue;
		s->qlen--;
		finish(s, j, KERR_RPC_TIMEOUT, "deadline", NULL);
	}
	pump(s);
	rearm(s);
}

static void on_timer(loop_t *loop, void *arg)
{
	(void)loop;
	sim_tick(arg);
}

/* Arm the timer for the earliest deadline (with a loop). */
static void rearm(sim_t *s)
{
	uint64_t first = UINT64_MAX, t;

	if (!s->loop)
		return;
	for (size_t i = 0; i < s->njobs; i++)
		if (s->jobs[i].used && s->jobs[i].deadline < first)
			first = s->jobs[i].deadline;
	if (first == UINT64_MAX) {
		loop_timer_cancel(&s->timer);
		return;
	}
	t = now(s);
	loop_timer_arm_ms(&s->timer, first > t ? (int64_t)(first - t) : 0);
}

/* ---- requests ------------------------------------------------------------- */

static job_t *job_find(sim_t *s, const uint8_t hash[32], const config_watch_t *w)
{
	for (size_t i = 0; i < s->njobs; i++) {
		job_t *j = &s->jobs[i];
		if (j->used && j->res.watch == w && memcmp(j->res.hash, hash, 32) == 0)
			return j;
	}
	return NULL;
}

kerr_t sim_request(sim_t *s, const config_watch_t *watch, const event_tx_t *tx,
		   sim_done_fn done, void *arg)
{
	centry_t *e;
	job_t *j;
	size_t ci;
	bool can_start;
	kerr_t err;

	if (!s || !watch || !tx || !done || !tx->full || !tx->has_to ||
	    !addr_eq(&tx->to, &watch->address) || 1 + watch->ntokens > s->o.max_assets)
		return KERR_ARG;
	if ((err = check_input(&tx->input))) {
		if (err == KERR_TOO_LONG)
			s->st.too_long++;
		return err;
	}
	if ((e = cache_find(s, tx->hash, watch, &ci))) {
		sim_result_t r;
		s->st.requests++;
		s->st.cache_hits++;
		cache_get(s, e, ci, &r);
		done(arg, &r);
		return KERR_OK;
	}
	if ((j = job_find(s, tx->hash, watch))) {
		if (j->nw == SIM_WAITERS) {
			s->st.refused++;
			return KERR_RPC_BUSY;
		}
		j->w[j->nw++] = (waiter_t){ done, arg };
		s->st.requests++;
		s->st.joined++;
		return KERR_OK;
	}
	/* Start at once only when nothing waits ahead (pump() may be in a
	 * callback further up the stack, with jobs still queued). */
	can_start = s->running < s->o.max_inflight && s->qlen == 0;
	if (s->nfree == 0 || (!can_start && s->qlen == s->o.max_queue) ||
	    tx->input.len > s->o.max_input_total - s->input_total) {
		s->st.refused++;
		return KERR_RPC_BUSY;
	}
	j = &s->jobs[s->free_[s->nfree - 1]];
	memset(j, 0, offsetof(job_t, call));
	if (!(j->input = malloc(tx->input.len)))
		return KERR_NOMEM;
	s->nfree--;
	memcpy(j->input, tx->input.p, tx->input.len);
	j->input_len = tx->input.len;
	s->input_total += j->input_len;
	j->used = true;
	j->tx = *tx;
	j->tx.input = (event_hex_t){ j->input, j->input_len };
	j->deadline = now(s) + s->o.timeout_ms;
	j->w[0] = (waiter_t){ done, arg };
	j->nw = 1;
	memcpy(j->res.hash, tx->hash, 32);
	set_watch(&j->res, watch);
	s->st.requests++;
	if (can_start) {
		start(s, j);
	} else {
		s->queue[(s->qhead + s->qlen) % s->o.max_queue] = job_index(s, j);
		s->qlen++;
		s->st.queued++;
	}
	rearm(s);
	return KERR_OK;
}

/* ---- life ------------------------------------------------------------------- */

kerr_t sim_new(sim_t **out, rpc_client_t *rpc, rpc_clock_fn clock,
	       void *clock_ctx, loop_t *loop, const sim_opts_t *opts)
{
	sim_opts_t o = opts ? *opts : (sim_opts_t){ 0 };
	size_t nb = 1;
	sim_t *s;

	if (!out)
		return KERR_ARG;
	*out = NULL;
	if (!rpc || !clock)
		return KERR_ARG;
	if (!o.max_inflight)
		o.max_inflight = SIM_INFLIGHT_DEFAULT;
	if (!o.max_queue)
		o.max_queue = SIM_QUEUE_DEFAULT;
	if (!o.cache_cap)
		o.cache_cap = SIM_CACHE_DEFAULT;
	if (!o.timeout_ms)
		o.timeout_ms = SIM_TIMEOUT_DEFAULT;
	if (!o.max_assets)
		o.max_assets = SIM_MAX_ASSETS;
	if (!o.max_input_total)
		o.max_input_total = SIM_INPUT_TOTAL_DEFAULT;
	if (o.max_inflight > 4096 || o.max_queue > 65536 || o.cache_cap > ((size_t)1 << 24) ||
	    o.max_assets > SIM_MAX_ASSETS)
		return KERR_ARG;
	while (nb < 2 * o.cache_cap)
		nb <<= 1;
	if (!(s = calloc(1, sizeof *s)))
		return KERR_NOMEM;
	s->rpc = rpc;
	s->clock = clock;
	s->clock_ctx = clock_ctx;
	s->loop = loop;
	s->o = o;
	s->njobs = o.max_inflight + o.max_queue;
	s->hmask = nb - 1;
	s->jobs = calloc(s->njobs, sizeof *s->jobs);
	s->free_ = calloc(s->njobs, sizeof *s->free_);
	s->queue = calloc(o.max_queue, sizeof *s->queue);
	s->cache = calloc(o.cache_cap, sizeof *s->cache);
	s->cassets = calloc(o.cache_cap * o.max_assets, sizeof *s->cassets);
	s->heads = malloc(nb * sizeof *s->heads);
	s->req = malloc(SIM_REQUEST_MAX);
	if (!s->jobs || !s->free_ || !s->queue || !s->cache || !s->cassets || !s->heads ||
	    !s->req) {
		sim_free(s);
		return KERR_NOMEM;
	}
	for (size_t i = 0; i < nb; i++)
		s->heads[i] = NONE32;
	/* Lowest index on top: the first jobs take the first slots. */
	for (size_t i = 0; i < s->njobs; i++)
		s->free_[i] = (uint32_t)(s->njobs - 1 - i);
	s->nfree = s->njobs;
	if (loop)
		loop_timer_init(&s->timer, loop, on_timer, s);
	*out = s;
	return KERR_OK;
}

void sim_free(sim_t *s)
{
	if (!s)
		return;
	if (s->loop)
		loop_timer_cancel(&s->timer);
	if (s->jobs)
		for (size_t i = 0; i < s->njobs; i++)
			free(s->jobs[i].input);
	free(s->jobs);
	free(s->free_);
	free(s->queue);
	free(s->cache);
	free(s->cassets);
	free(s->heads);
	free(s->req);
	free(s);
}

size_t sim_running(const sim_t *s)
{
	return s->running;
}

size_t sim_waiting(const sim_t *s)
{
	return s->qlen;
}

const sim_stats_t *sim_stats(const sim_t *s)
{
	return &s->st;
}
