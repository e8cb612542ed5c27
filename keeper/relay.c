/*
 * relay: submissions to private relays (see relay.h).
 *
 * keeper/rpc builds the bodies, numbers the ids and judges the replies; the
 * transport under it (send_cb) is where the relay differs from a node: it
 * signs each body it is handed and posts it with the signature header.  rpc
 * hands the transport the exact bytes it will send, and keeps them until
 * the completion, so the signature is over what goes on the wire.
 *
 * A submission holds one rpc call per target block; each call's argument
 * is its own record inside the submission, so that the completion knows
 * the block it answers for.  The submission ends when its last call does.
 */
#include "keeper/relay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeper/http.h"
#include "keeper/log.h"
#include "keeper/rpc.h"
#include "keeper/rpc_http.h"
#include "signer/hex.h"
#include "signer/keccak.h"
#include "signer/tx.h"

/* Request contexts of the transport = http's in-flight bound. */
#define RELAY_INFLIGHT 64
/* params: [{"txs":["0x<raw>"],"blockNumber":"0x<16>"}] and a margin. */
#define PARAMS_MAX (2 * RELAY_RAW_MAX + 128)
/* A body: the params and the JSON-RPC envelope around them. */
#define BODY_MAX (PARAMS_MAX + 256)

struct relay;

/* One relay URL: its rpc client and the transport context it calls. */
struct ep {
	struct relay *r;
	const char *url;          /* the config's */
	rpc_client_t *rpc;
};

/* The transport's record of one request in flight. */
struct req {
	struct ep *ep;
	rpc_net_done_fn done;
	void *done_arg;
};

struct sub;

struct call {
	struct sub *s;
	uint64_t block;
};

struct sub {
	struct relay *r;
	bool used;
	relay_done_fn done;
	void *ctx;
	const config_gas_t *gas;
	uint64_t first, last;
	unsigned requests, pending, accepted;
	uint8_t tx_hash[32];
	bool has_hash;
	uint64_t hash_block;
	uint8_t hash[32];
	bool has_fail;
	kerr_t fail_err;
	uint64_t fail_block;
	int64_t code;
	int http_status;
	char message[RELAY_MSG_MAX];
	struct call calls[RELAY_BLOCKS_MAX];
};

struct relay {
	const signer_t *signer;
	relay_opts_t o;
	http_t *http;
	struct ep *eps;
	size_t neps;
	struct req reqs[RELAY_INFLIGHT];
	struct req *free_[RELAY_INFLIGHT];
	size_t nfree;
	struct sub subs[RELAY_MAX_SUBMISSIONS];
	char params[PARAMS_MAX];
	relay_stats_t st;
};

const char *relay_method(config_relay_mode_t mode)
{
	return mode == CONFIG_RELAY_PRIVATE_TX ? "eth_sendPrivateTransaction" :
	       "eth_sendBundle";
}

kerr_t relay_params(char *out, size_t cap, size_t *len,
		    config_relay_mode_t mode, const uint8_t *raw,
		    size_t rawlen, uint64_t block)
{
	const char *pre, *mid;
	size_t n;
	int k;

	if (!out || !len || !raw || !rawlen ||
	    (mode != CONFIG_RELAY_BUNDLE && mode != CONFIG_RELAY_PRIVATE_TX))
		return KERR_ARG;
	if (rawlen > RELAY_RAW_MAX)
		return KERR_TOO_LONG;
	if (mode == CONFIG_RELAY_BUNDLE) {
		pre = "[{\"txs\":[\"0x";
		mid = "\"],\"blockNumber\":\"0x";
	} else {
		pre = "[{\"tx\":\"0x";
		mid = "\",\"maxBlockNumber\":\"0x";
	}
	/* prefix + digits + middle + up to 16 digits + "\"}]" + NUL */
	if (strlen(pre) + 2 * rawlen + strlen(mid) + 16 + 4 > cap)
		return KERR_BUF;
	n = (size_t)sprintf(out, "%s", pre);
	n += hex_encode(out + n, raw, rawlen);
	k = snprintf(out + n, cap - n, "%s%" PRIx64 "\"}]", mid, block);
	if (k < 0 || (size_t)k >= cap - n)
		return KERR_BUF;
	*len = n + (size_t)k;
	return KERR_OK;
}

kerr_t relay_sign_header(const signer_t *s, const char *body, size_t len,
			 char out[RELAY_SIG_HEADER_LEN])
{
	uint8_t digest[32], sig[65];
	char msg[2 + 64 + 1];
	addr_t a;
	kerr_t err;
	size_t n;

	if (!s || (!body && len) || !out)
		return KERR_ARG;
	if ((err = signer_address(s, &a)))
		return err;
	keccak256(digest, (const uint8_t *)body, len);
	msg[0] = '0';
	msg[1] = 'x';
	hex_encode(msg + 2, digest, 32);
	if ((err = signer_sign_message(s, (const uint8_t *)msg, 66, sig)))
		return err;
	addr_to_checksum(&a, out);
	n = ADDR_TEXT_LEN - 1;
	out[n++] = ':';
	out[n++] = '0';
	out[n++] = 'x';
	hex_encode(out + n, sig, 65);
	return KERR_OK;
}

/* ---- transport */

static void on_http(const http_result_t *res, void *ctx)
{
	struct req *q = ctx;
	struct relay *r = q->ep->r;
	rpc_net_done_fn done = q->done;
	void *done_arg = q->done_arg;
	rpc_net_result_t nr = { .net = rpc_http_net(res->kind) };

	if (nr.net == RPC_NET_OK) {
		nr.http_status = (int)res->status;
		nr.body = res->body;
		nr.len = res->len;
	} else {
		log_debug("relay", "%s", res->error);
	}
	/* Free before the completion: rpc may send again from inside it. */
	r->free_[r->nfree++] = q;
	done(done_arg, &nr);
}

static kerr_t send_cb(void *ctx, size_t url_index, const char *body,
		      size_t len, uint32_t timeout_ms, rpc_net_done_fn done,
		      void *done_arg)
{
	struct ep *ep = ctx;
	struct relay *r = ep->r;
	char sig[RELAY_SIG_HEADER_LEN];
	http_header_t hd = { "X-Flashbots-Signature", sig };
	struct req *q;
	kerr_t err;

	if (url_index != 0)
		return KERR_ARG;
	if (!r->nfree)
		return KERR_RPC_BUSY;
	if ((err = relay_sign_header(r->signer, body, len, sig)))
		return err;
	q = r->free_[--r->nfree];
	q->ep = ep;
	q->done = done;
	q->done_arg = done_arg;
	err = http_post_ex(r->http, ep->url, body, len, &hd, 1, timeout_ms,
			   HTTP_F_RETRY, on_http, q);
	if (err) {
		r->free_[r->nfree++] = q;
		return err == KERR_BUF ? KERR_RPC_BUSY : err;
	}
	r->st.requests++;
	return KERR_OK;
}

/* ---- submissions */

/* The result token: a bundle hash, or our transaction's hash. */
static kerr_t judge_result(const struct sub *s, const rpc_reply_t *rp,
			   uint8_t hash[32])
{
	const jtok_doc_t *d = rp->doc;
	size_t t = rp->result;

	if (s->gas->mode == CONFIG_RELAY_BUNDLE && jtok_type(d, t) == JTOK_OBJECT &&
	    jtok_key(d, t, "bundleHash", 10, &t))
		return KERR_RPC_REPLY;
	if (jtok_type(d, t) != JTOK_STRING || jtok_fixed(d, t, hash, 32))
		return KERR_RPC_REPLY;
	if (s->gas->mode == CONFIG_RELAY_PRIVATE_TX &&
	    memcmp(hash, s->tx_hash, 32) != 0)
		return KERR_RPC_REPLY;
	return KERR_OK;
}

static void note_fail(struct sub *s, uint64_t block, kerr_t err,
		      const rpc_outcome_t *out)
{
	if (s->has_fail && s->fail_block <= block)
		return;
	s->has_fail = true;
	s->fail_err = err;
	s->fail_block = block;
	s->code = 0;
	s->http_status = 0;
	s->message[0] = 0;
	if (out) {
		s->http_status = out->http_status;
		if (err == KERR_RPC_ERROR) {
			s->code = out->code;
			/* Printable bytes only: it goes into a log line. */
			size_t n = 0;

			for (size_t i = 0; i < out->message_len &&
			     n + 1 < sizeof s->message; i++) {
				unsigned char c = (unsigned char)out->message[i];

				s->message[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
			}
			s->message[n] = 0;
		}
	}
}

static void hash_short(const uint8_t h[32], char out[2 + 16 + 1])
{
	out[0] = '0';
	out[1] = 'x';
	hex_encode(out + 2, h, 8);
}

static void finish(struct relay *r, struct sub *s)
{
	relay_result_t res;
	char message[RELAY_MSG_MAX], txh[19], bh[19] = "";
	relay_done_fn done = s->done;
	void *ctx = s->ctx;

	memset(&res, 0, sizeof res);
	res.gas = s->gas->name;
	res.mode = s->gas->mode;
	res.first_block = s->first;
	res.last_block = s->last;
	res.requests = s->requests;
	res.accepted = s->accepted;
	memcpy(res.tx_hash, s->tx_hash, 32);
	res.has_hash = s->has_hash;
	memcpy(res.hash, s->hash, 32);
	memcpy(message, s->message, sizeof message);
	res.message = message;
	if (s->has_fail) {
		res.fail_err = s->fail_err;
		res.fail_block = s->fail_block;
		res.code = s->code;
		res.http_status = s->http_status;
	}
	res.err = s->accepted ? KERR_OK : res.fail_err;
	hash_short(s->tx_hash, txh);
	if (s->has_hash)
		hash_short(s->hash, bh);
	if (!s->has_fail)
		log_info("relay", "%s %s.. for blocks %" PRIu64 "..%" PRIu64
			 " accepted by the relay of gas %s (%s %s..)",
			 relay_method(res.mode), txh, res.first_block,
			 res.last_block, res.gas,
			 res.mode == CONFIG_RELAY_BUNDLE ? "bundle" : "tx", bh);
	else {
		char why[RELAY_MSG_MAX + 64];
		int k = snprintf(why, sizeof why, "%s", kerr_name(res.fail_err));

		if (res.http_status && k > 0 && (size_t)k < sizeof why)
			k += snprintf(why + k, sizeof why - (size_t)k, ", HTTP %d",
				      res.http_status);
		if (res.fail_err == KERR_RPC_ERROR && k > 0 && (size_t)k < sizeof why)
			snprintf(why + k, sizeof why - (size_t)k, ", code %" PRId64 ": %s",
				 res.code, message);
		log_warn("relay", "%s %s.. for blocks %" PRIu64 "..%" PRIu64
			 ": %u of %u accepted by the relay of gas %s; block %"
			 PRIu64 ": %s", relay_method(res.mode), txh,
			 res.first_block, res.last_block, res.accepted,
			 res.requests, res.gas, res.fail_block, why);
	}
	/* Free before the callback, which may submit again. */
	memset(s, 0, sizeof *s);
	s->r = r;
	r->st.in_flight--;
	if (done)
		done(ctx, &res);
}

static void on_reply(void *arg, const rpc_reply_t *rp)
{
	struct call *c = arg;
	struct sub *s = c->s;
	struct relay *r = s->r;
	uint8_t hash[32];
	kerr_t err = rp->err;

	if (!err)
		err = judge_result(s, rp, hash);
	if (!err) {
		r->st.accepted++;
		s->accepted++;
		if (!s->has_hash || c->block < s->hash_block) {
			s->has_hash = true;
			s->hash_block = c->block;
			memcpy(s->hash, hash, 32);
		}
	} else {
		if (err == KERR_RPC_ERROR)
			r->st.rejected++;
		else
			r->st.failed++;
		note_fail(s, c->block, err, rp->out);
	}
	if (--s->pending == 0)
		finish(r, s);
}

static struct ep *ep_find(const struct relay *r, const char *url)
{
	for (size_t i = 0; i < r->neps; i++)
		if (!strcmp(r->eps[i].url, url))
			return &r->eps[i];
	return NULL;
}

kerr_t relay_submit(relay_t *r, const config_gas_t *gas, const uint8_t *raw,
		    size_t len, uint64_t head, relay_done_fn done, void *ctx)
{
	struct sub *s = NULL;
	struct ep *ep;
	unsigned n;
	kerr_t first_err = KERR_OK;

	if (!r || !gas || !raw || !len || head >= UINT64_MAX - RELAY_PRIVATE_BLOCKS_MAX)
		return KERR_ARG;
	if (len > RELAY_RAW_MAX)
		return KERR_TOO_LONG;
	if (gas->strategy != CONFIG_GAS_PRIVATE || !gas->relay ||
	    !(ep = ep_find(r, gas->relay)))
		return KERR_NOT_FOUND;
	for (size_t i = 0; i < RELAY_MAX_SUBMISSIONS; i++) {
		if (!r->subs[i].used) {
			s = &r->subs[i];
			break;
		}
	}
	if (!s) {
		r->st.refused++;
		return KERR_FULL;
	}
	s->used = true;
	s->done = done;
	s->ctx = ctx;
	s->gas = gas;
	tx_hash(raw, len, s->tx_hash);
	s->first = head + 1;
	if (gas->mode == CONFIG_RELAY_BUNDLE) {
		n = r->o.bundle_blocks;
		s->last = head + n;
	} else {
		n = 1;
		s->last = head + r->o.private_blocks;
	}
	s->requests = n;
	/* pending counts the calls started plus one until the loop ends, so
	 * that no completion can finish the submission meanwhile (none runs
	 * inside rpc_call, but this keeps that an invariant of rpc's, not a
	 * correctness condition here). */
	s->pending = 1;
	r->st.in_flight++;
	for (unsigned i = 0; i < n; i++) {
		uint64_t block = gas->mode == CONFIG_RELAY_BUNDLE ? head + 1 + i :
				 s->last;
		size_t plen;
		kerr_t err;

		s->calls[i].s = s;
		s->calls[i].block = block;
		err = relay_params(r->params, sizeof r->params, &plen, gas->mode,
				   raw, len, block);
		if (!err)
			err = rpc_call(ep->rpc, relay_method(gas->mode), r->params,
				       plen, on_reply, &s->calls[i], NULL);
		if (err) {
			r->st.failed++;
			note_fail(s, block, err, NULL);
			if (!first_err)
				first_err = err;
			continue;
		}
		s->pending++;
	}
	if (s->pending == 1) {
		memset(s, 0, sizeof *s);
		s->r = r;
		r->st.in_flight--;
		r->st.refused++;
		return first_err;
	}
	r->st.submissions++;
	s->pending--;
	return KERR_OK;
}

void relay_forget(relay_t *r, const void *ctx)
{
	if (!r)
		return;
	for (size_t i = 0; i < RELAY_MAX_SUBMISSIONS; i++)
		if (r->subs[i].used && r->subs[i].ctx == ctx)
			r->subs[i].done = NULL;
}

void relay_stats(const relay_t *r, relay_stats_t *out)
{
	*out = r->st;
}

kerr_t relay_new(relay_t **out, loop_t *loop, const config_keeper_t *cfg,
		 const signer_t *signer, const relay_opts_t *opts)
{
	http_config_t hc = { .max_inflight = RELAY_INFLIGHT,
			     .max_request = BODY_MAX,
			     .max_response = 1u << 16 };
	rpc_opts_t ro = { .slots = RPC_MAX_SLOTS, .max_request = BODY_MAX,
			  .max_reply = 1u << 16 };
	relay_opts_t o = { 0 };
	struct relay *r;
	addr_t a;
	kerr_t err;

	if (!out)
		return KERR_ARG;
	*out = NULL;
	if (!loop || !cfg || !signer || signer_address(signer, &a))
		return KERR_ARG;
	if (opts)
		o = *opts;
	if (!o.bundle_blocks)
		o.bundle_blocks = RELAY_BLOCKS_DEFAULT;
	if (!o.private_blocks)
		o.private_blocks = RELAY_PRIVATE_BLOCKS_DEFAULT;
	if (!o.timeout_ms)
		o.timeout_ms = RELAY_TIMEOUT_DEFAULT;
	if (o.bundle_blocks > RELAY_BLOCKS_MAX ||
	    o.private_blocks > RELAY_PRIVATE_BLOCKS_MAX)
		return KERR_ARG;
	ro.timeout_ms = o.timeout_ms;
	if (!(r = calloc(1, sizeof *r)))
		return KERR_NOMEM;
	r->signer = signer;
	r->o = o;
	for (size_t i = 0; i < RELAY_MAX_SUBMISSIONS; i++)
		r->subs[i].r = r;
	for (size_t i = 0; i < RELAY_INFLIGHT; i++)
		r->free_[r->nfree++] = &r->reqs[i];
	if (cfg->ngas && !(r->eps = calloc(cfg->ngas, sizeof *r->eps))) {
		free(r);
		return KERR_NOMEM;
	}
	if ((err = http_create(loop, &hc, &r->http))) {
		relay_free(r);
		return err;
	}
	for (size_t i = 0; i < cfg->ngas; i++) {
		const config_gas_t *g = &cfg->gas[i];
		struct ep *ep;
		rpc_transport_t tr;

		if (g->strategy != CONFIG_GAS_PRIVATE || !g->relay ||
		    ep_find(r, g->relay))
			continue;
		ep = &r->eps[r->neps];
		ep->r = r;
		ep->url = g->relay;
		tr.ctx = ep;
		tr.send = send_cb;
		if ((err = rpc_new(&ep->rpc, 1, &tr, rpc_http_clock, loop, &ro))) {
			relay_free(r);
			return err;
		}
		r->neps++;
	}
	*out = r;
	return KERR_OK;
}

void relay_free(relay_t *r)
{
	if (!r)
		return;
	/* http first: it drops the requests whose completions point into
	 * the rpc clients, which may then go. */
	http_destroy(r->http);
	for (size_t i = 0; i < r->neps; i++)
		rpc_free(r->eps[i].rpc);
	free(r->eps);
	free(r);
}
