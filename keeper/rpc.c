/*
 * rpc: the JSON-RPC client (see rpc.h for the rules it keeps).
 *
 * A call lives in a slot from rpc_submit() until its callback is called: the
 * slot holds the request body (resent unchanged on failover, same id), the
 * set of endpoints tried, and one outcome per endpoint.  Each attempt has
 * its own completion argument (slot, endpoint), so a broadcast's replies,
 * which arrive in any order, each land in their endpoint's outcome.  Replies
 * are tokenised into the client's one token array: completions never nest,
 * so one suffices, and it stays valid for the callback.
 */
#include "keeper/rpc.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- error texts ---------------------------------------------------------
 *
 * First match wins, compared without regard to case, anywhere in the
 * message (erigon prefixes its pool's reason with the import result:
 * "ALREADY_EXISTS: already known").  Order matters where one text contains
 * another: "replacement transaction underpriced" before "underpriced", the
 * EIP-7702 "authority nonce too low" before "nonce too low".  A revert is
 * decided before this table (code 3, or the message starting the same way
 * in row 1), because a contract's revert reason is free text: a require()
 * saying "nonce too low" must stay a revert.
 *
 * Sources: geth core/error.go, core/txpool/errors.go, core/txpool/
 * validation.go (messages wrapped as "<text>: <details>"); erigon
 * txnprovider/txpool/txpoolcfg (DiscardReason.String, wrapped as
 * "<IMPORT_RESULT>: <reason>" by eth_sendRawTransaction); nethermind
 * TxPoolErrorMessages.cs (geth's phrases since 2025) and, before, the
 * AcceptTxResult names ("OldNonce", "AlreadyKnown", ...); besu
 * RpcErrorType.java; anvil 1.7.1 as recorded in tests/fixtures/rpc; the
 * hosted RPCs' documented throttling replies (Infura, Alchemy).
 */
static const struct {
	const char *text;
	rpc_error_kind_t kind;
} texts[] = {
	{ "execution reverted", RPC_E_REVERTED },           /* geth, erigon, anvil, besu, nethermind */
	{ "authority nonce too low", RPC_E_OTHER },          /* geth (EIP-7702 authorisations) */
	{ "replacement transaction underpriced", RPC_E_REPLACEMENT_UNDERPRICED }, /* geth, erigon, nethermind, besu, anvil */
	{ "could not replace existing tx", RPC_E_REPLACEMENT_UNDERPRICED },       /* erigon NotReplaced */
	{ "replacementnotallowed", RPC_E_REPLACEMENT_UNDERPRICED },               /* nethermind, old */
	{ "already known", RPC_E_ALREADY_KNOWN },           /* geth, erigon, nethermind */
	{ "alreadyknown", RPC_E_ALREADY_KNOWN },            /* nethermind, old */
	{ "transaction already imported", RPC_E_ALREADY_KNOWN }, /* anvil */
	{ "known transaction", RPC_E_ALREADY_KNOWN },       /* besu; geth before 1.9.11 */
	{ "with same hash", RPC_E_ALREADY_KNOWN },          /* erigon DuplicateHash */
	{ "nonce too low", RPC_E_NONCE_TOO_LOW },           /* geth, erigon, nethermind, besu, anvil */
	{ "oldnonce", RPC_E_NONCE_TOO_LOW },                /* nethermind, old */
	{ "nonce too high", RPC_E_NONCE_TOO_HIGH },         /* geth, nethermind, besu */
	{ "noncegap", RPC_E_NONCE_TOO_HIGH },               /* nethermind, old */
	{ "nonce too far in future", RPC_E_NONCE_TOO_HIGH },/* nethermind */
	{ "nonce is too distant", RPC_E_NONCE_TOO_HIGH },   /* besu */
	{ "insufficient funds", RPC_E_INSUFFICIENT_FUNDS }, /* geth (both texts), erigon, anvil */
	{ "insufficientfunds", RPC_E_INSUFFICIENT_FUNDS },  /* nethermind, old */
	{ "upfront cost exceeds account balance", RPC_E_INSUFFICIENT_FUNDS }, /* besu */
	{ "transaction underpriced", RPC_E_UNDERPRICED },   /* geth, nethermind */
	{ "max fee per gas less than block base fee", RPC_E_UNDERPRICED }, /* geth, anvil */
	{ "gas price below", RPC_E_UNDERPRICED },           /* besu (minimum, base fee); geth's newer minimum-tip text */
	{ "fee too low", RPC_E_UNDERPRICED },               /* erigon FeeTooLow */
	{ "feetoolow", RPC_E_UNDERPRICED },                 /* nethermind, old (FeeTooLow, FeeTooLowToCompete) */
	{ "underpriced", RPC_E_UNDERPRICED },               /* erigon UnderPriced */
	{ "rate limit", RPC_E_RATE_LIMITED },               /* Infura "request rate limited", "Rate limit exceeded" */
	{ "too many requests", RPC_E_RATE_LIMITED },        /* Infura, code 429 */
	{ "compute units per second", RPC_E_RATE_LIMITED }, /* Alchemy, code 429 */
	{ "payment required", RPC_E_RATE_LIMITED },         /* Infura daily credit spent, code 402 */
	{ "method not found", RPC_E_METHOD_NOT_FOUND },     /* anvil, besu (also by code) */
	{ "does not exist/is not available", RPC_E_METHOD_NOT_FOUND }, /* geth, erigon */
};

/* Case-insensitive: does hay[0..hlen) contain the lowercase needle? */
static bool contains(const char *hay, size_t hlen, const char *needle)
{
	size_t nlen = strlen(needle);

	for (size_t i = 0; i + nlen <= hlen; i++) {
		size_t k = 0;
		while (k < nlen && tolower((unsigned char)hay[i + k]) == needle[k])
			k++;
		if (k == nlen)
			return true;
	}
	return false;
}

rpc_error_kind_t rpc_classify(int64_t code, const char *msg, size_t len)
{
	if (code == 3)              /* geth's revert code, kept by the others */
		return RPC_E_REVERTED;
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		if (contains(msg, len, texts[i].text))
			return texts[i].kind;
	switch (code) {
	case -32601: return RPC_E_METHOD_NOT_FOUND;
	case -32604: return RPC_E_METHOD_NOT_FOUND;  /* besu: method not enabled */
	case -32602: return RPC_E_INVALID_PARAMS;
	case 429: return RPC_E_RATE_LIMITED;          /* Infura, Alchemy */
	default: return RPC_E_OTHER;
	}
}

const char *rpc_error_kind_name(rpc_error_kind_t kind)
{
	switch (kind) {
	case RPC_E_NONE: return "none";
	case RPC_E_OTHER: return "other";
	case RPC_E_NONCE_TOO_LOW: return "nonce_too_low";
	case RPC_E_NONCE_TOO_HIGH: return "nonce_too_high";
	case RPC_E_REPLACEMENT_UNDERPRICED: return "replacement_underpriced";
	case RPC_E_ALREADY_KNOWN: return "already_known";
	case RPC_E_INSUFFICIENT_FUNDS: return "insufficient_funds";
	case RPC_E_UNDERPRICED: return "underpriced";
	case RPC_E_REVERTED: return "reverted";
	case RPC_E_RATE_LIMITED: return "rate_limited";
	case RPC_E_METHOD_NOT_FOUND: return "method_not_found";
	case RPC_E_INVALID_PARAMS: return "invalid_params";
	case RPC_E_KINDS: break;
	}
	return "unknown";
}

const char *rpc_fail_name(rpc_fail_t f)
{
	switch (f) {
	case RPC_FAIL_TIMEOUT: return "timeout";
	case RPC_FAIL_CONNECT: return "connect";
	case RPC_FAIL_IO: return "io";
	case RPC_FAIL_HTTP_5XX: return "http_5xx";
	case RPC_FAIL_HTTP_429: return "http_429";
	case RPC_FAIL_HTTP_OTHER: return "http_other";
	case RPC_FAIL_MALFORMED: return "malformed";
	case RPC_FAIL_TOO_LARGE: return "too_large";
	case RPC_FAIL_RATE_LIMITED: return "rate_limited";
	case RPC_FAIL_SEND: return "send";
	case RPC_FAIL_KINDS: break;
	}
	return "unknown";
}

/* ---- request bodies ------------------------------------------------------ */

/* A bounded writer: once something does not fit, `over` sticks and nothing
 * more is written, so builders check once at the end. */
typedef struct {
	char *p;
	size_t cap, len;
	bool over;
} wbuf_t;

static void put(wbuf_t *w, const char *s, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void put_s(wbuf_t *w, const char *s)
{
	put(w, s, strlen(s));
}

static void put_dec(wbuf_t *w, uint64_t v)
{
	char b[20];
	size_t i = sizeof b;

	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(w, b + i, sizeof b - i);
}

static const char digits[] = "0123456789abcdef";

/* A JSON-RPC quantity: "0x" and hex digits without leading zeros. */
static void put_qty(wbuf_t *w, uint64_t v)
{
	char b[16];
	size_t i = sizeof b;

	do {
		b[--i] = digits[v & 15];
		v >>= 4;
	} while (v);
	put(w, "\"0x", 3);
	put(w, b + i, sizeof b - i);
	put(w, "\"", 1);
}

/* "0x" + bytes as a JSON string. */
static void put_hex(wbuf_t *w, const uint8_t *b, size_t n)
{
	put(w, "\"0x", 3);
	if (w->over || n > (w->cap - w->len) / 2) {
		w->over = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		w->p[w->len++] = digits[b[i] >> 4];
		w->p[w->len++] = digits[b[i] & 15];
	}
	put(w, "\"", 1);
}

static bool valid_tag(const char *t)
{
	static const char *const tags[] = {
		"latest", "pending", "safe", "finalized", "earliest",
	};
	for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
		if (strcmp(t, tags[i]) == 0)
			return true;
	return false;
}

static kerr_t put_block(wbuf_t *w, rpc_block_t b)
{
	if (!b.tag) {
		put_qty(w, b.number);
		return KERR_OK;
	}
	if (!valid_tag(b.tag))
		return KERR_ARG;
	put(w, "\"", 1);
	put_s(w, b.tag);
	put(w, "\"", 1);
	return KERR_OK;
}

static bool valid_method(const char *m)
{
	size_t n = 0;

	if (!m)
		return false;
	for (; m[n]; n++) {
		unsigned char ch = (unsigned char)m[n];
		if (n >= 64 || !(isalnum(ch) || ch == '_'))
			return false;
	}
	return n > 0;
}

/* RAW params: a guard against passing something that is plainly not a
 * JSON array or object (the node judges the rest). */
static bool plausible_params(const char *p, size_t n)
{
	size_t a = 0, b = n;

	while (a < b && isspace((unsigned char)p[a]))
		a++;
	while (b > a && isspace((unsigned char)p[b - 1]))
		b--;
	return b - a >= 2 && ((p[a] == '[' && p[b - 1] == ']') ||
			      (p[a] == '{' && p[b - 1] == '}'));
}

static kerr_t put_logs(wbuf_t *w, const rpc_log_filter_t *f)
{
	kerr_t err;

	if (!f || f->ntopics > 4 || f->naddrs > RPC_LOGS_MAX_ADDRS ||
	    (f->naddrs && !f->addrs))
		return KERR_ARG;
	put_s(w, "[{\"fromBlock\":");
	if ((err = put_block(w, f->from)))
		return err;
	put_s(w, ",\"toBlock\":");
	if ((err = put_block(w, f->to)))
		return err;
	if (f->naddrs) {
		put_s(w, ",\"address\":[");
		for (size_t i = 0; i < f->naddrs; i++) {
			if (i)
				put(w, ",", 1);
			put_hex(w, f->addrs[i].b, sizeof f->addrs[i].b);
		}
		put(w, "]", 1);
	}
	if (f->ntopics) {
		put_s(w, ",\"topics\":[");
		for (size_t t = 0; t < f->ntopics; t++) {
			const rpc_topic_t *tp = &f->topics[t];
			if (tp->n > RPC_LOGS_MAX_TOPIC_ALTS || (tp->n && !tp->any))
				return KERR_ARG;
			if (t)
				put(w, ",", 1);
			if (!tp->n) {
				put_s(w, "null");
				continue;
			}
			put(w, "[", 1);
			for (size_t i = 0; i < tp->n; i++) {
				if (i)
					put(w, ",", 1);
				put_hex(w, tp->any[i], 32);
			}
			put(w, "]", 1);
		}
		put(w, "]", 1);
	}
	put(w, "}]", 2);
	return KERR_OK;
}

static kerr_t put_percentiles(wbuf_t *w, const double *pct, size_t n)
{
	put(w, "[", 1);
	for (size_t i = 0; i < n; i++) {
		char b[32];
		int k;
		if (!isfinite(pct[i]) || pct[i] < 0 || pct[i] > 100 ||
		    (i && pct[i] < pct[i - 1]))
			return KERR_ARG;
		/* %.10g of a value in 0..100 is a JSON number: digits, an
		 * optional point, or an exponent for tiny fractions.  keeper
		 * never calls setlocale, so the point is '.'. */
		k = snprintf(b, sizeof b, "%.10g", pct[i]);
		if (k <= 0 || (size_t)k >= sizeof b)
			return KERR_ARG;
		if (i)
			put(w, ",", 1);
		put(w, b, (size_t)k);
	}
	put(w, "]", 1);
	return KERR_OK;
}

static const char *method_of(const rpc_req_t *r)
{
	switch (r->kind) {
	case RPC_REQ_RAW: return r->method;
	case RPC_REQ_BLOCK_NUMBER: return "eth_blockNumber";
	case RPC_REQ_CHAIN_ID: return "eth_chainId";
	case RPC_REQ_GET_BALANCE: return "eth_getBalance";
	case RPC_REQ_GET_TX_COUNT: return "eth_getTransactionCount";
	case RPC_REQ_CALL: return "eth_call";
	case RPC_REQ_SEND_RAW_TX: return "eth_sendRawTransaction";
	case RPC_REQ_GET_TX: return "eth_getTransactionByHash";
	case RPC_REQ_GET_RECEIPT: return "eth_getTransactionReceipt";
	case RPC_REQ_GET_LOGS: return "eth_getLogs";
	case RPC_REQ_FEE_HISTORY: return "eth_feeHistory";
	}
	return NULL;
}

static kerr_t put_params(wbuf_t *w, const rpc_req_t *r)
{
	kerr_t err = KERR_OK;

	switch (r->kind) {
	case RPC_REQ_RAW:
		if (!r->params || !r->params_len) {
			put(w, "[]", 2);
			break;
		}
		if (!plausible_params(r->params, r->params_len))
			return KERR_ARG;
		put(w, r->params, r->params_len);
		break;
	case RPC_REQ_BLOCK_NUMBER:
	case RPC_REQ_CHAIN_ID:
		put(w, "[]", 2);
		break;
	case RPC_REQ_GET_BALANCE:
	case RPC_REQ_GET_TX_COUNT:
		if (!r->addr)
			return KERR_ARG;
		put(w, "[", 1);
		put_hex(w, r->addr->b, sizeof r->addr->b);
		put(w, ",", 1);
		err = put_block(w, r->block);
		put(w, "]", 1);
		break;
	case RPC_REQ_CALL:
		if (!r->addr || (r->data_len && !r->data))
			return KERR_ARG;
		put_s(w, "[{\"to\":");
		put_hex(w, r->addr->b, sizeof r->addr->b);
		put_s(w, ",\"data\":");
		put_hex(w, r->data, r->data_len);
		put(w, "},", 2);
		err = put_block(w, r->block);
		put(w, "]", 1);
		break;
	case RPC_REQ_SEND_RAW_TX:
		if (!r->data || !r->data_len)
			return KERR_ARG;
		put(w, "[", 1);
		put_hex(w, r->data, r->data_len);
		put(w, "]", 1);
		break;
	case RPC_REQ_GET_TX:
	case RPC_REQ_GET_RECEIPT:
		if (!r->hash)
			return KERR_ARG;
		put(w, "[", 1);
		put_hex(w, r->hash, 32);
		put(w, "]", 1);
		break;
	case RPC_REQ_GET_LOGS:
		err = put_logs(w, r->logs);
		break;
	case RPC_REQ_FEE_HISTORY:
		if (r->count < 1 || r->count > RPC_FEE_HISTORY_MAX_BLOCKS ||
		    r->npct > RPC_FEE_HISTORY_MAX_PCT || (r->npct && !r->pct))
			return KERR_ARG;
		put(w, "[", 1);
		put_qty(w, r->count);
		put(w, ",", 1);
		if ((err = put_block(w, r->block)))
			return err;
		put(w, ",", 1);
		err = put_percentiles(w, r->pct, r->npct);
		put(w, "]", 1);
		break;
	default:
		return KERR_ARG;
	}
	return err;
}

kerr_t rpc_build(char *out, size_t cap, size_t *len, uint64_t id,
		 const rpc_req_t *req)
{
	wbuf_t w = { out, cap, 0, false };
	const char *m;
	kerr_t err;

	*len = 0;
	if (!req || !(m = method_of(req)) || !valid_method(m))
		return KERR_ARG;
	put_s(&w, "{\"jsonrpc\":\"2.0\",\"id\":");
	put_dec(&w, id);
	put_s(&w, ",\"method\":\"");
	put_s(&w, m);
	put_s(&w, "\",\"params\":");
	if ((err = put_params(&w, req)))
		return err;
	put(&w, "}", 1);
	if (w.over)
		return KERR_BUF;
	*len = w.len;
	return KERR_OK;
}

kerr_t rpc_build_batch(char *out, size_t cap, size_t *len, uint64_t first_id,
		       const rpc_req_t *reqs, size_t n)
{
	size_t at = 0, one;
	kerr_t err;

	*len = 0;
	if (!reqs || n < 1 || n > RPC_BATCH_MAX)
		return KERR_ARG;
	if (cap < 2)
		return KERR_BUF;
	out[at++] = '[';
	for (size_t i = 0; i < n; i++) {
		if (i) {
			if (at >= cap)
				return KERR_BUF;
			out[at++] = ',';
		}
		if ((err = rpc_build(out + at, cap - at, &one, first_id + i, &reqs[i])))
			return err;
		at += one;
	}
	if (at >= cap)
		return KERR_BUF;
	out[at++] = ']';
	*len = at;
	return KERR_OK;
}

/* ---- the client ---------------------------------------------------------- */

struct slot;

/* The completion argument of one attempt. */
struct attempt {
	struct slot *s;
	uint8_t ep;
	bool live;        /* sent, completion not yet seen */
};

struct slot {
	rpc_client_t *c;
	bool busy, broadcast;
	uint64_t id;
	char *body;       /* max_request bytes */
	size_t len;
	uint32_t timeout_ms;
	uint32_t tried;   /* bit per endpoint */
	unsigned attempts, pending;
	size_t last;      /* endpoint of the latest attempt */
	rpc_done_fn done;
	rpc_bcast_fn bdone;
	rpc_batch_fn batch_done;
	size_t nitems;    /* a batch of this many calls, ids id..id+nitems-1; 0: one call */
	void *arg;
	rpc_outcome_t *out;   /* one per endpoint */
	struct attempt att[RPC_MAX_ENDPOINTS];
};

struct rpc_client {
	rpc_transport_t net;
	rpc_clock_fn clock;
	void *clock_ctx;
	rpc_opts_t o;
	size_t n, cur;
	rpc_endpoint_stats_t st[RPC_MAX_ENDPOINTS];  /* `down` is set when read */
	uint64_t next_id;
	struct slot *slots;
	size_t inflight;
	size_t *free_;            /* stack of free slot indexes */
	size_t nfree;
	char *bodies;
	rpc_outcome_t *outcomes;
	jtok_doc_t doc;
	/* What a callback reads, copied out of the slot so that the slot is
	 * free again during the callback. */
	rpc_outcome_t done_out[RPC_MAX_ENDPOINTS];
	uint8_t revert[RPC_REVERT_MAX];
	/* The calls of the batch reply being judged: filled by the judgement
	 * of an attempt and read by the callback within the same completion
	 * (completions never nest, so one set serves every batch). */
	rpc_item_t items[RPC_BATCH_MAX];
	rpc_outcome_t item_out[RPC_BATCH_MAX];
};

kerr_t rpc_new(rpc_client_t **out, size_t n, const rpc_transport_t *t,
	       rpc_clock_fn clock, void *clock_ctx, const rpc_opts_t *opts)
{
	rpc_client_t *c;
	rpc_opts_t o = { 0 };

	*out = NULL;
	if (opts)
		o = *opts;
	if (!o.timeout_ms)
		o.timeout_ms = RPC_TIMEOUT_DEFAULT;
	if (!o.backoff_ms)
		o.backoff_ms = RPC_BACKOFF_DEFAULT;
	if (!o.backoff_max_ms)
		o.backoff_max_ms = RPC_BACKOFF_MAX_DEFAULT;
	if (!o.slots)
		o.slots = RPC_MAX_SLOTS;
	if (!o.max_request)
		o.max_request = RPC_REQUEST_DEFAULT;
	if (!o.max_reply)
		o.max_reply = RPC_REPLY_DEFAULT;
	if (n < 1 || n > RPC_MAX_ENDPOINTS || !t || !t->send || !clock ||
	    o.backoff_max_ms < o.backoff_ms || o.slots > RPC_MAX_SLOTS ||
	    o.max_request < 256 || o.max_request > RPC_REQUEST_HARD ||
	    o.max_reply < 1024 || o.max_reply > RPC_REPLY_HARD)
		return KERR_ARG;

	if (!(c = calloc(1, sizeof *c)))
		return KERR_NOMEM;
	c->net = *t;
	c->clock = clock;
	c->clock_ctx = clock_ctx;
	c->o = o;
	c->n = n;
	c->next_id = 1;
	c->slots = calloc(o.slots, sizeof *c->slots);
	c->free_ = calloc(o.slots, sizeof *c->free_);
	c->bodies = malloc(o.slots * o.max_request);
	c->outcomes = calloc(o.slots * n, sizeof *c->outcomes);
	if (!c->slots || !c->free_ || !c->bodies || !c->outcomes ||
	    jtok_doc_alloc(&c->doc, o.max_reply / 8)) {
		rpc_free(c);
		return KERR_NOMEM;
	}
	for (size_t i = 0; i < o.slots; i++) {
		struct slot *s = &c->slots[i];
		s->c = c;
		s->body = c->bodies + i * o.max_request;
		s->out = c->outcomes + i * n;
		/* Popped from the end: slot 0 goes first. */
		c->free_[i] = o.slots - 1 - i;
	}
	c->nfree = o.slots;
	*out = c;
	return KERR_OK;
}

void rpc_free(rpc_client_t *c)
{
	if (!c)
		return;
	free(c->slots);
	free(c->free_);
	free(c->bodies);
	free(c->outcomes);
	jtok_doc_free(&c->doc);
	free(c);
}

size_t rpc_current(const rpc_client_t *c)
{
	return c->cur;
}

size_t rpc_inflight(const rpc_client_t *c)
{
	return c->inflight;
}

kerr_t rpc_stats(const rpc_client_t *c, size_t i, rpc_endpoint_stats_t *out)
{
	if (i >= c->n)
		return KERR_ARG;
	*out = c->st[i];
	out->down = out->down_until_ms > c->clock(c->clock_ctx);
	return KERR_OK;
}

static uint64_t now_ms(const rpc_client_t *c)
{
	return c->clock(c->clock_ctx);
}

/* The endpoint answered (whatever it said): it is up again. */
static void mark_up(rpc_client_t *c, size_t ep)
{
	c->st[ep].down_until_ms = 0;
	c->st[ep].backoff_level = 0;
}

/* A failover reason at ep: count it and put ep in back-off, doubling per
 * consecutive failure up to the cap. */
static void mark_down(rpc_client_t *c, size_t ep, rpc_fail_t why)
{
	rpc_endpoint_stats_t *st = &c->st[ep];
	uint64_t d = c->o.backoff_ms;

	st->fail[why]++;
	for (unsigned k = 0; k < st->backoff_level && d < c->o.backoff_max_ms; k++)
		d *= 2;
	if (d > c->o.backoff_max_ms)
		d = c->o.backoff_max_ms;
	st->down_until_ms = now_ms(c) + d;
	if (st->backoff_level < 64)
		st->backoff_level++;
}

/* The next endpoint for s: the first one up in ring order from the
 * current one; when every untried endpoint is down, the one whose back-off
 * ends first.  c->n when all have been tried. */
static size_t pick(const rpc_client_t *c, const struct slot *s)
{
	uint64_t now = now_ms(c);
	size_t best = c->n;

	for (size_t k = 0; k < c->n; k++) {
		size_t i = (c->cur + k) % c->n;
		if (s->tried & (1u << i))
			continue;
		if (c->st[i].down_until_ms <= now)
			return i;
		if (best == c->n ||
		    c->st[i].down_until_ms < c->st[best].down_until_ms)
			best = i;
	}
	return best;
}

static void on_net(void *arg, const rpc_net_result_t *res);

/* Hand s to endpoint ep. */
static kerr_t send_to(rpc_client_t *c, struct slot *s, size_t ep)
{
	struct attempt *a = &s->att[ep];
	kerr_t err;

	s->tried |= 1u << ep;
	s->last = ep;
	memset(&s->out[ep], 0, sizeof s->out[ep]);
	a->s = s;
	a->ep = (uint8_t)ep;
	a->live = true;
	err = c->net.send(c->net.ctx, ep, s->body, s->len, s->timeout_ms,
			  on_net, a);
	if (err) {
		a->live = false;
		c->st[ep].fail[RPC_FAIL_SEND]++;
		s->out[ep].err = err;
		return err;
	}
	s->attempts++;
	c->st[ep].calls++;
	return KERR_OK;
}

/* Send s to the next endpoint that takes it.  KERR_OK when one did, else
 * the first refusal (or KERR_ARG when there was no endpoint left). */
static kerr_t send_next(rpc_client_t *c, struct slot *s)
{
	kerr_t first = KERR_OK, err;
	size_t ep;

	while ((ep = pick(c, s)) < c->n) {
		if (!(err = send_to(c, s, ep)))
			return KERR_OK;
		if (!first)
			first = err;
	}
	return first ? first : KERR_ARG;
}

static struct slot *slot_get(rpc_client_t *c)
{
	struct slot *s;

	if (!c->nfree)
		return NULL;
	s = &c->slots[c->free_[--c->nfree]];
	s->busy = true;
	s->broadcast = false;
	s->nitems = 0;
	s->tried = 0;
	s->attempts = s->pending = 0;
	s->id = c->next_id++;
	c->inflight++;
	return s;
}

static void slot_put(rpc_client_t *c, struct slot *s)
{
	s->busy = false;
	c->free_[c->nfree++] = (size_t)(s - c->slots);
	c->inflight--;
}

/* ---- replies ------------------------------------------------------------- */

/* What one reply came to. */
typedef struct {
	kerr_t err;
	bool failover;
	bool parsed;          /* c->doc holds the reply */
	bool limited;         /* a batch: some call was rate limited */
	size_t result, data;  /* tokens, JTOK_NONE when absent */
	const char *what;
} judged_t;

/* Does token i hold the id we sent (a plain decimal number)? */
static bool id_matches(const jtok_doc_t *d, size_t i, uint64_t id)
{
	uint64_t x;

	return jtok_plain_u64(d, i, &x) && x == id;
}

/* Largest k <= max that does not split a UTF-8 sequence of p. */
static size_t utf8_cut(const char *p, size_t max)
{
	size_t k = max;

	while (k > 0 && ((unsigned char)p[k] & 0xC0) == 0x80)
		k--;
	return k;
}

/* error.message into o->message: unescaped when it fits, else the text as
 * sent, cut. */
static void copy_message(const jtok_doc_t *d, size_t i, rpc_outcome_t *o)
{
	jtok_view_t v = jtok_text(d, i);
	size_t n = 0;

	if (!(d->tok[i].flags & JTOK_F_ESCAPED) ||
	    jtok_unescape(d, i, o->message, RPC_MSG_MAX - 1, &n) != KERR_OK) {
		n = v.len;
		if (n > RPC_MSG_MAX - 1) {
			n = utf8_cut(v.p, RPC_MSG_MAX - 1);
			o->message_cut = true;
		}
		memcpy(o->message, v.p, n);
	}
	o->message[n] = 0;
	o->message_len = n;
}

/*
 * The error object er of a reply: KERR_RPC_ERROR with o's code, message and
 * kind and *data (error.data, or JTOK_NONE), or why it is malformed (*what
 * says where).
 */
static kerr_t parse_error(const jtok_doc_t *d, size_t er, rpc_outcome_t *o,
			  size_t *data, const char **what)
{
	size_t code, msg;
	int64_t code_v;
	kerr_t err;

	*what = "error";
	if (jtok_type(d, er) != JTOK_OBJECT)
		return KERR_RPC_REPLY;
	*what = "error.code";
	if ((err = jtok_key_opt(d, er, "code", &code)))
		return err;
	if (code == JTOK_NONE || jtok_type(d, code) != JTOK_NUMBER ||
	    jtok_int64(d, code, &code_v))
		return KERR_RPC_REPLY;
	*what = "error.message";
	if ((err = jtok_key_opt(d, er, "message", &msg)))
		return err;
	if (msg == JTOK_NONE || jtok_type(d, msg) != JTOK_STRING)
		return KERR_RPC_REPLY;
	*what = "error.data";
	if ((err = jtok_key_opt(d, er, "data", data)))
		return err;
	*what = NULL;
	o->code = code_v;
	copy_message(d, msg, o);
	o->kind = rpc_classify(o->code, o->message, o->message_len);
	return KERR_RPC_ERROR;
}

/*
 * Parse body as the reply to s.  KERR_OK with j->result, KERR_RPC_ERROR
 * with o's code, message and kind and j->data, or why it is no JSON-RPC
 * reply (j->what says where).
 */
static kerr_t parse_reply(rpc_client_t *c, struct slot *s, const char *body,
			  size_t len, rpc_outcome_t *o, judged_t *j)
{
	jtok_doc_t *d = &c->doc;
	size_t ver, id, res, er;
	kerr_t err;

	j->what = "reply";
	if (len > c->o.max_reply)
		return KERR_TOO_LONG;
	if ((err = jtok_parse(d, body, len)))
		return err;
	j->parsed = true;
	if (jtok_type(d, 0) != JTOK_OBJECT)
		return KERR_RPC_REPLY;
	j->what = "jsonrpc";
	if ((err = jtok_key_opt(d, 0, "jsonrpc", &ver)))
		return err;
	if (ver == JTOK_NONE || !jtok_str_eq(d, ver, "2.0", 3))
		return KERR_RPC_REPLY;
	j->what = "id";
	if ((err = jtok_key_opt(d, 0, "id", &id)))
		return err;
	j->what = "result";
	if ((err = jtok_key_opt(d, 0, "result", &res)))
		return err;
	j->what = "error";
	if ((err = jtok_key_opt(d, 0, "error", &er)))
		return err;
	/* A null id is how a server answers a request it could not read; it
	 * is our reply only as an error. */
	j->what = "id";
	if (id == JTOK_NONE)
		return KERR_RPC_ID;
	if (!(jtok_type(d, id) == JTOK_NULL && er != JTOK_NONE) &&
	    !id_matches(d, id, s->id))
		return KERR_RPC_ID;
	j->what = "result";
	if ((res == JTOK_NONE) == (er == JTOK_NONE))
		return KERR_RPC_REPLY;   /* neither, or both */
	if (res != JTOK_NONE) {
		j->what = NULL;
		j->result = res;
		return KERR_OK;
	}

	return parse_error(d, er, o, &j->data, &j->what);
}

/* Element e of a batch reply, already matched to its call by id, into
 * it and o: as strict as a single reply (rpc.h, "Batches"). */
static void parse_item(const jtok_doc_t *d, size_t e, rpc_item_t *it,
		       rpc_outcome_t *o)
{
	size_t ver, res, er;

	it->err = KERR_RPC_REPLY;
	it->what = "jsonrpc";
	if (jtok_key_opt(d, e, "jsonrpc", &ver) || ver == JTOK_NONE ||
	    !jtok_str_eq(d, ver, "2.0", 3))
		goto out;
	it->what = "result";
	if (jtok_key_opt(d, e, "result", &res))
		goto out;
	it->what = "error";
	if (jtok_key_opt(d, e, "error", &er))
		goto out;
	it->what = "result";
	if ((res == JTOK_NONE) == (er == JTOK_NONE))
		goto out;
	if (res != JTOK_NONE) {
		it->err = KERR_OK;
		it->what = NULL;
		it->result = res;
		goto out;
	}
	it->err = parse_error(d, er, o, &it->data, &it->what);
	if (it->err != KERR_RPC_ERROR)
		it->err = KERR_RPC_REPLY;  /* a jtok error inside one element */
out:
	o->err = it->err;
}

/*
 * Parse body as the reply to batch s (rpc.h, "Batches"): KERR_OK with
 * c->items filled (j->limited when a call was rate limited), a whole-batch
 * KERR_RPC_ERROR in o, or why the reply is malformed.
 */
static kerr_t parse_batch(rpc_client_t *c, struct slot *s, const char *body,
			  size_t len, rpc_outcome_t *o, judged_t *j)
{
	jtok_doc_t *d = &c->doc;
	bool seen[RPC_BATCH_MAX] = { false };
	kerr_t err;

	for (size_t i = 0; i < s->nitems; i++) {
		rpc_item_t *it = &c->items[i];
		memset(&c->item_out[i], 0, sizeof c->item_out[i]);
		c->item_out[i].err = KERR_RPC_MISSING;
		*it = (rpc_item_t){ .err = KERR_RPC_MISSING, .id = s->id + i,
				    .out = &c->item_out[i], .result = JTOK_NONE,
				    .data = JTOK_NONE };
	}
	j->what = "reply";
	if (len > c->o.max_reply)
		return KERR_TOO_LONG;
	if ((err = jtok_parse(d, body, len)))
		return err;
	j->parsed = true;
	if (jtok_type(d, 0) == JTOK_OBJECT) {
		/* The batch refused whole; a result here answers nothing. */
		err = parse_reply(c, s, body, len, o, j);
		if (err == KERR_OK) {
			j->what = "reply";
			j->result = JTOK_NONE;
			return KERR_RPC_REPLY;
		}
		return err;
	}
	if (jtok_type(d, 0) != JTOK_ARRAY)
		return KERR_RPC_REPLY;
	for (size_t e = jtok_first(d, 0); e != JTOK_NONE; e = jtok_after(d, 0, e)) {
		size_t id, er;
		uint64_t v;

		j->what = "reply";
		if (jtok_type(d, e) != JTOK_OBJECT)
			return KERR_RPC_REPLY;
		j->what = "id";
		if ((err = jtok_key_opt(d, e, "id", &id)))
			return err;
		if (id != JTOK_NONE && jtok_type(d, id) == JTOK_NULL) {
			if ((err = jtok_key_opt(d, e, "error", &er)))
				return err;
			if (er != JTOK_NONE)
				continue;   /* names no call */
			return KERR_RPC_ID;
		}
		if (id == JTOK_NONE || !jtok_plain_u64(d, id, &v) || v < s->id ||
		    v - s->id >= s->nitems || seen[v - s->id])
			return KERR_RPC_ID;
		seen[v - s->id] = true;
		parse_item(d, e, &c->items[v - s->id], &c->item_out[v - s->id]);
		if (c->items[v - s->id].err == KERR_RPC_ERROR &&
		    c->item_out[v - s->id].kind == RPC_E_RATE_LIMITED)
			j->limited = true;
	}
	j->what = NULL;
	return KERR_OK;
}

/*
 * Judge the outcome of s's attempt at ep: fill s->out[ep], update ep's
 * counters and back-off, and say whether the call should move on.
 */
static void judge(rpc_client_t *c, struct slot *s, size_t ep,
		  const rpc_net_result_t *res, judged_t *j)
{
	rpc_outcome_t *o = &s->out[ep];
	rpc_endpoint_stats_t *st = &c->st[ep];
	int status = res->http_status;
	bool ok_status;
	kerr_t err;

	memset(j, 0, sizeof *j);
	j->result = j->data = JTOK_NONE;
	o->net = res->net;
	switch (res->net) {
	case RPC_NET_TIMEOUT:
		j->err = KERR_RPC_TIMEOUT;
		j->failover = true;
		mark_down(c, ep, RPC_FAIL_TIMEOUT);
		break;
	case RPC_NET_CONNECT:
		j->err = KERR_RPC_CONNECT;
		j->failover = true;
		mark_down(c, ep, RPC_FAIL_CONNECT);
		break;
	case RPC_NET_IO:
		j->err = KERR_RPC_TRANSPORT;
		j->failover = true;
		mark_down(c, ep, RPC_FAIL_IO);
		break;
	case RPC_NET_TOO_LARGE:
		j->err = KERR_TOO_LONG;
		st->fail[RPC_FAIL_TOO_LARGE]++;
		mark_up(c, ep);
		break;
	case RPC_NET_OK:
		o->http_status = status;
		if (status >= 500 && status <= 599) {
			j->err = KERR_RPC_HTTP;
			j->failover = true;
			mark_down(c, ep, RPC_FAIL_HTTP_5XX);
			break;
		}
		if (status == 429) {
			j->err = KERR_RPC_HTTP;
			o->kind = RPC_E_RATE_LIMITED;
			j->failover = true;
			mark_down(c, ep, RPC_FAIL_HTTP_429);
			break;
		}
		ok_status = status >= 200 && status <= 299;
		err = (s->nitems ? parse_batch : parse_reply)(c, s,
				  res->body ? res->body : "", res->body ? res->len : 0,
				  o, j);
		if (err == KERR_OK && ok_status && j->limited) {
			/* Throttled in part: another endpoint may serve it all. */
			j->err = KERR_OK;
			st->results++;
			j->failover = true;
			mark_down(c, ep, RPC_FAIL_RATE_LIMITED);
		} else if (err == KERR_OK && ok_status) {
			j->err = KERR_OK;
			st->results++;
			mark_up(c, ep);
		} else if (err == KERR_RPC_ERROR) {
			j->err = KERR_RPC_ERROR;
			st->rpc_errors++;
			if (o->kind == RPC_E_RATE_LIMITED) {
				j->failover = true;
				mark_down(c, ep, RPC_FAIL_RATE_LIMITED);
			} else {
				mark_up(c, ep);
			}
		} else if (!ok_status) {
			/* Not a JSON-RPC error: what counts is the status.
			 * 401, 403 and 404 say the endpoint itself is wrong
			 * (an expired API key, a mistyped path), not the
			 * call, so another endpoint may well serve it. */
			j->err = KERR_RPC_HTTP;
			j->parsed = false;
			j->what = NULL;
			j->result = JTOK_NONE;
			if (status == 401 || status == 403 || status == 404) {
				j->failover = true;
				mark_down(c, ep, RPC_FAIL_HTTP_OTHER);
			} else {
				st->fail[RPC_FAIL_HTTP_OTHER]++;
				mark_up(c, ep);
			}
		} else if (err == KERR_TOO_LONG && !j->parsed) {
			j->err = KERR_TOO_LONG;
			st->fail[RPC_FAIL_TOO_LARGE]++;
			mark_up(c, ep);
		} else {
			j->err = err;
			j->parsed = false;
			j->failover = true;
			mark_down(c, ep, RPC_FAIL_MALFORMED);
		}
		break;
	default:
		j->err = KERR_RPC_TRANSPORT;
		j->failover = true;
		mark_down(c, ep, RPC_FAIL_IO);
		break;
	}
	o->err = j->err;
	/* The sticky endpoint follows calls only: a broadcast asks every
	 * endpoint, so its answers say nothing about which one to prefer. */
	if (!j->failover && !s->broadcast)
		c->cur = ep;
}

/* ---- completion ------------------------------------------------------------ */

/* The slot goes back to the pool before the callback runs, so that a
 * callback can start a call even when the pool has no other slot. */
static void finish_call(rpc_client_t *c, struct slot *s, const judged_t *j)
{
	const rpc_outcome_t *o = &c->done_out[0];
	rpc_done_fn done = s->done;
	void *arg = s->arg;
	rpc_reply_t r;

	c->done_out[0] = s->out[s->last];
	memset(&r, 0, sizeof r);
	r.err = o->err;
	r.id = s->id;
	r.endpoint = s->last;
	r.attempts = s->attempts;
	r.out = o;
	r.result = r.data = JTOK_NONE;
	r.what = j->what;
	if (j->parsed) {
		r.doc = &c->doc;
		r.result = j->result;
		r.data = j->data;
		if (o->kind == RPC_E_REVERTED && j->data != JTOK_NONE &&
		    jtok_bytes(&c->doc, j->data, c->revert, sizeof c->revert,
			       &r.revert_len) == KERR_OK) {
			r.has_revert = true;
			r.revert = c->revert;
		} else {
			r.revert_len = 0;
		}
	}
	slot_put(c, s);
	done(arg, &r);
}

/* As finish_call, for a batch: when the batch failed as a whole, every
 * call carries its error. */
static void finish_batch(rpc_client_t *c, struct slot *s, const judged_t *j)
{
	rpc_batch_fn done = s->batch_done;
	void *arg = s->arg;
	rpc_batch_reply_t b;

	c->done_out[0] = s->out[s->last];
	memset(&b, 0, sizeof b);
	b.err = c->done_out[0].err;
	b.id = s->id;
	b.endpoint = s->last;
	b.attempts = s->attempts;
	b.out = &c->done_out[0];
	b.what = j->what;
	b.n = s->nitems;
	b.items = c->items;
	if (j->parsed)
		b.doc = &c->doc;
	for (size_t i = 0; i < s->nitems; i++) {
		rpc_item_t *it = &c->items[i];
		if (b.err != KERR_OK) {
			*it = (rpc_item_t){ .err = b.err, .id = s->id + i, .out = b.out,
					    .result = JTOK_NONE,
					    .data = j->parsed ? j->data : JTOK_NONE,
					    .what = j->what };
		}
		if (it->err == KERR_OK || it->err == KERR_RPC_ERROR)
			b.answered++;
	}
	slot_put(c, s);
	done(arg, &b);
}

/* How informative a failed broadcast outcome is (see rpc_broadcast_t). */
static int rank(const rpc_outcome_t *o)
{
	if (o->err == KERR_RPC_ERROR) {
		switch (o->kind) {
		case RPC_E_NONCE_TOO_LOW: return 100;
		case RPC_E_REPLACEMENT_UNDERPRICED: return 99;
		case RPC_E_INSUFFICIENT_FUNDS: return 98;
		case RPC_E_UNDERPRICED: return 97;
		case RPC_E_NONCE_TOO_HIGH: return 96;
		case RPC_E_REVERTED: return 95;
		case RPC_E_OTHER: return 94;
		case RPC_E_INVALID_PARAMS: return 93;
		case RPC_E_METHOD_NOT_FOUND: return 92;
		case RPC_E_RATE_LIMITED: return 91;
		default: return 90;
		}
	}
	switch (o->err) {
	case KERR_RPC_HTTP: return 50;
	case KERR_RPC_REPLY:
	case KERR_RPC_ID:
	case KERR_JSON:
	case KERR_TRUNCATED: return 40;
	case KERR_TOO_LONG: return 35;
	case KERR_RPC_TIMEOUT: return 30;
	case KERR_RPC_TRANSPORT: return 20;
	case KERR_RPC_CONNECT: return 10;
	default: return 0;
	}
}

static void finish_broadcast(rpc_client_t *c, struct slot *s)
{
	rpc_broadcast_t b;
	size_t known = c->n, best = 0;

	rpc_bcast_fn done = s->bdone;
	void *arg = s->arg;

	memset(&b, 0, sizeof b);
	b.id = s->id;
	b.n = c->n;
	b.verdict = c->n;
	for (size_t i = 0; i < c->n; i++) {
		const rpc_outcome_t *o = &s->out[i];
		if (o->err == KERR_OK && b.verdict == c->n)
			b.verdict = i;
		if (o->err == KERR_RPC_ERROR && o->kind == RPC_E_ALREADY_KNOWN &&
		    known == c->n)
			known = i;
		if (rank(o) > rank(&s->out[best]))
			best = i;
	}
	if (b.verdict == c->n)
		b.verdict = known;
	if (b.verdict < c->n) {
		b.accepted = true;
		b.err = KERR_OK;
	} else {
		b.verdict = best;
		b.err = s->out[best].err;
	}
	b.kind = s->out[b.verdict].kind;
	memcpy(c->done_out, s->out, c->n * sizeof *s->out);
	b.outcome = c->done_out;
	slot_put(c, s);
	done(arg, &b);
}

static void on_net(void *arg, const rpc_net_result_t *res)
{
	struct attempt *a = arg;
	struct slot *s = a->s;
	rpc_client_t *c = s->c;
	size_t ep = a->ep;
	judged_t j;

	if (!a->live || !s->busy)
		return;   /* a second completion: the transport broke its contract */
	a->live = false;
	judge(c, s, ep, res, &j);

	if (s->broadcast) {
		rpc_outcome_t *o = &s->out[ep];
		/* Accepted means the node returned the tx hash. */
		if (o->err == KERR_OK &&
		    jtok_fixed(&c->doc, j.result, o->hash, sizeof o->hash) == KERR_OK)
			o->has_hash = true;
		else if (o->err == KERR_OK)
			o->err = KERR_RPC_REPLY;
		if (--s->pending == 0)
			finish_broadcast(c, s);
		return;
	}

	if (j.failover && send_next(c, s) == KERR_OK) {
		c->st[ep].failovers++;
		return;
	}
	/* No endpoint left, or every one left refused: report this failure,
	 * not the refusals. */
	s->last = ep;
	if (s->nitems)
		finish_batch(c, s, &j);
	else
		finish_call(c, s, &j);
}

/* ---- calls ------------------------------------------------------------------ */

kerr_t rpc_submit(rpc_client_t *c, const rpc_req_t *req, rpc_done_fn done,
		  void *arg, uint64_t *id)
{
	struct slot *s;
	kerr_t err;

	if (!done || !req)
		return KERR_ARG;
	if (!(s = slot_get(c)))
		return KERR_RPC_BUSY;
	if ((err = rpc_build(s->body, c->o.max_request, &s->len, s->id, req))) {
		slot_put(c, s);
		return err;
	}
	s->timeout_ms = req->timeout_ms ? req->timeout_ms : c->o.timeout_ms;
	s->done = done;
	s->bdone = NULL;
	s->arg = arg;
	if ((err = send_next(c, s))) {
		slot_put(c, s);
		return err;
	}
	if (id)
		*id = s->id;
	return KERR_OK;
}

kerr_t rpc_batch(rpc_client_t *c, const rpc_req_t *reqs, size_t n,
		 rpc_batch_fn done, void *arg, uint64_t *first_id)
{
	struct slot *s;
	kerr_t err;

	if (!done || !reqs || n < 1 || n > RPC_BATCH_MAX)
		return KERR_ARG;
	if (!(s = slot_get(c)))
		return KERR_RPC_BUSY;
	/* The batch's calls take ids s->id .. s->id + n - 1. */
	c->next_id += n - 1;
	if ((err = rpc_build_batch(s->body, c->o.max_request, &s->len, s->id,
				   reqs, n))) {
		slot_put(c, s);
		return err;
	}
	s->nitems = n;
	s->timeout_ms = c->o.timeout_ms;
	s->done = NULL;
	s->bdone = NULL;
	s->batch_done = done;
	s->arg = arg;
	if ((err = send_next(c, s))) {
		slot_put(c, s);
		return err;
	}
	if (first_id)
		*first_id = s->id;
	return KERR_OK;
}

kerr_t rpc_broadcast_raw_transaction(rpc_client_t *c, const uint8_t *raw,
				     size_t len, rpc_bcast_fn done, void *arg,
				     uint64_t *id)
{
	rpc_req_t req = { .kind = RPC_REQ_SEND_RAW_TX, .data = raw, .data_len = len };
	struct slot *s;
	kerr_t err, first = KERR_OK;

	if (!done)
		return KERR_ARG;
	if (!(s = slot_get(c)))
		return KERR_RPC_BUSY;
	if ((err = rpc_build(s->body, c->o.max_request, &s->len, s->id, &req))) {
		slot_put(c, s);
		return err;
	}
	s->broadcast = true;
	s->timeout_ms = c->o.timeout_ms;
	s->done = NULL;
	s->bdone = done;
	s->arg = arg;
	/* Count the sends first: a completion cannot arrive inside send(),
	 * but pending must cover them all before any could. */
	for (size_t i = 0; i < c->n; i++) {
		if ((err = send_to(c, s, i))) {
			if (!first)
				first = err;
			continue;
		}
		s->pending++;
	}
	if (!s->pending) {
		slot_put(c, s);
		return first;
	}
	if (id)
		*id = s->id;
	return KERR_OK;
}

kerr_t rpc_call(rpc_client_t *c, const char *method, const char *params,
		size_t params_len, rpc_done_fn done, void *arg, uint64_t *id)
{
	rpc_req_t r = { .kind = RPC_REQ_RAW, .method = method, .params = params,
			.params_len = params_len };
	return rpc_submit(c, &r, done, arg, id);
}

kerr_t rpc_block_number(rpc_client_t *c, rpc_done_fn done, void *arg,
			uint64_t *id)
{
	rpc_req_t r = { .kind = RPC_REQ_BLOCK_NUMBER };
	return rpc_submit(c, &r, done, arg, id);
}

kerr_t rpc_chain_id(rpc_client_t *c, rpc_done_fn done, void *arg, uint64_t *id)
{
	rpc_req_t r = { .kind = RPC_REQ_CHAIN_ID };
	return rpc_submit(c, &r, done, arg, id);
}

kerr_t rpc_get_balance(rpc_client_t *c, const addr_t *a, rpc_block_t b,
		       rpc_done_fn done, void *arg, uint64_t *id)
{
	rpc_req_t r = { .kind = RPC_REQ_GET_BALANCE, .addr = a, .block = b };
	return rpc_submit(c, &r, done, arg, id);
}

kerr_t rpc_get_transaction_count(rpc_client_t *c, const addr_t *a,
				 rpc_block_t b, rpc_done_fn done, void *arg,
				 uint64_t *id)
{
	rpc_req_t r = { .kind = RPC_REQ_GET_TX_COUNT, .addr = a, .block = b };
	return rpc_submit(c, &r, done, arg, id);
}

kerr_t rpc_eth_call(rpc_client_t *c, const addr_t *to, const uint8_t *data,
		    size_t len, rpc_block_t b, rpc_done_fn done, void *arg,
		    uint64_t *id)
{
	rpc_req_t r = { .kind = RPC_REQ_CALL, .addr = to, .data = data,
			.data_len = len, .block = b };
	return rpc_submit(c, &r, done, arg, id);
}

kerr_t rpc_send_raw_transaction(rpc_client_t *c, const uint8_t *raw,
				size_t len, rpc_done_fn done, void *arg,
				uint64_t *id)
{
	rpc_req_t r = { .kind = RPC_REQ_SEND_RAW_TX, .data = raw, .data_len = len };
	return rpc_submit(c, &r, done, arg, id);
}

kerr_t rpc_get_transaction_by_hash(rpc_client_t *c, const uint8_t hash[32],
				   rpc_done_fn done, void *arg, uint64_t *id)
{
	rpc_req_t r = { .kind = RPC_REQ_GET_TX, .hash = hash };
	return rpc_submit(c, &r, done, arg, id);
}

kerr_t rpc_get_transaction_receipt(rpc_client_t *c, const uint8_t hash[32],
				   rpc_done_fn done, void *arg, uint64_t *id)
{
	rpc_req_t r = { .kind = RPC_REQ_GET_RECEIPT, .hash = hash };
	return rpc_submit(c, &r, done, arg, id);
}

kerr_t rpc_get_logs(rpc_client_t *c, const rpc_log_filter_t *f,
		    rpc_done_fn done, void *arg, uint64_t *id)
{
	rpc_req_t r = { .kind = RPC_REQ_GET_LOGS, .logs = f };
	return rpc_submit(c, &r, done, arg, id);
}

kerr_t rpc_fee_history(rpc_client_t *c, uint64_t count, rpc_block_t newest,
		       const double *pct, size_t npct, rpc_done_fn done,
		       void *arg, uint64_t *id)
{
	rpc_req_t r = { .kind = RPC_REQ_FEE_HISTORY, .count = count,
			.block = newest, .pct = pct, .npct = npct };
	return rpc_submit(c, &r, done, arg, id);
}
