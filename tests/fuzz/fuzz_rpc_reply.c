/*
 * fuzz_rpc_reply: reply bodies through the rpc client's reply judging.
 *
 * rpc does no I/O: a scripted transport (as tests/test_rpc.c has) takes
 * each request and the harness completes it with the input as the HTTP
 * body.  Each input is judged as the answer to a single call
 * (eth_blockNumber), to eth_sendRawTransaction (the hash-reading path), to
 * a batch of three calls (ids 1..3 of a fresh client, so recorded replies
 * match), and to a broadcast over two endpoints; the single call is also
 * judged under an HTTP status other than 200 chosen by the input's length
 * (errors in 4xx bodies, 429, 5xx).  A failover's retry is answered with a
 * timeout.
 *
 * Invariants: every callback comes exactly once; a success has a parsed
 * document and a result token inside it; an error's message is
 * NUL-terminated within RPC_MSG_MAX; a batch's items carry ids id + i and
 * `answered` counts the items that were answered; a broadcast's verdict is
 * one of its outcomes.
 */
#include "keeper/rpc.h"

#include "tests/fuzz/fuzz.h"

#define NEP 2
#define MAXQ 16

typedef struct {
	rpc_net_done_fn done;
	void *arg;
} pending_t;

static pending_t Q[MAXQ];
static size_t nq;
static int calls;

static kerr_t fake_send(void *ctx, size_t ep, const char *body, size_t len,
			uint32_t timeout_ms, rpc_net_done_fn done, void *arg)
{
	(void)ctx, (void)ep, (void)body, (void)len, (void)timeout_ms;
	if (nq == MAXQ)
		return KERR_NOMEM;
	Q[nq].done = done;
	Q[nq].arg = arg;
	nq++;
	return KERR_OK;
}

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return 1000000;
}

static void check_outcome(const rpc_outcome_t *o)
{
	FUZZ_CHECK(o->message_len < RPC_MSG_MAX);
	FUZZ_CHECK(o->message[o->message_len] == 0);
	FUZZ_CHECK(o->kind >= RPC_E_NONE && o->kind < RPC_E_KINDS);
}

static void on_call(void *arg, const rpc_reply_t *r)
{
	(void)arg;
	calls++;
	FUZZ_CHECK(r->out != NULL);
	check_outcome(r->out);
	FUZZ_CHECK(r->attempts >= 1 && r->attempts <= NEP && r->endpoint < NEP);
	if (r->err == KERR_OK) {
		FUZZ_CHECK(r->doc != NULL && r->result < r->doc->n);
	} else if (r->err == KERR_RPC_ERROR && r->doc) {
		FUZZ_CHECK(r->data == JTOK_NONE || r->data < r->doc->n);
	}
	if (r->has_revert)
		FUZZ_CHECK(r->revert_len <= RPC_REVERT_MAX &&
			   (r->revert_len == 0 || r->revert != NULL));
}

static void on_batch(void *arg, const rpc_batch_reply_t *b)
{
	size_t answered = 0;

	(void)arg;
	calls++;
	FUZZ_CHECK(b->n == 3 && b->items != NULL);
	for (size_t i = 0; i < b->n; i++) {
		const rpc_item_t *it = &b->items[i];
		FUZZ_CHECK(it->id == b->id + i);
		if (it->err == KERR_OK) {
			FUZZ_CHECK(b->doc != NULL && it->result < b->doc->n);
			answered++;
		} else if (it->err == KERR_RPC_ERROR) {
			FUZZ_CHECK(it->out != NULL);
			check_outcome(it->out);
			answered++;
		}
	}
	FUZZ_CHECK(b->answered == answered);
	if (b->err != KERR_OK)
		FUZZ_CHECK(answered == 0 || b->err == KERR_RPC_ERROR);
}

static void on_bcast(void *arg, const rpc_broadcast_t *b)
{
	(void)arg;
	calls++;
	FUZZ_CHECK(b->n == NEP && b->verdict < b->n);
	for (size_t i = 0; i < b->n; i++)
		check_outcome(&b->outcome[i]);
	FUZZ_CHECK(b->accepted == (b->err == KERR_OK));
}

/* Answer the first request with the input, later ones (failover retries,
 * the broadcast's second endpoint) with a timeout. */
static void deliver(const char *body, size_t len, int status)
{
	for (size_t i = 0; i < nq; i++) {
		rpc_net_result_t r = { 0 };
		if (i == 0) {
			r.net = RPC_NET_OK;
			r.http_status = status;
			r.body = body;
			r.len = len;
		} else {
			r.net = RPC_NET_TIMEOUT;
		}
		Q[i].done(Q[i].arg, &r);
	}
	nq = 0;
}

static const rpc_transport_t fake = { NULL, fake_send };
static const rpc_opts_t opts = { .slots = 2, .max_request = 4096,
				 .max_reply = 64 * 1024 };

static void one(int mode, const char *body, size_t len, int status)
{
	rpc_client_t *c;
	static const uint8_t raw[] = { 0xc0 };
	kerr_t err;

	if (rpc_new(&c, NEP, &fake, fake_clock, NULL, &opts) != KERR_OK)
		abort();
	calls = 0;
	switch (mode) {
	case 0:
		err = rpc_block_number(c, on_call, NULL, NULL);
		break;
	case 1:
		err = rpc_send_raw_transaction(c, raw, sizeof raw, on_call, NULL, NULL);
		break;
	case 2: {
		rpc_req_t reqs[3] = {
			{ .kind = RPC_REQ_BLOCK_NUMBER },
			{ .kind = RPC_REQ_CHAIN_ID },
			{ .kind = RPC_REQ_RAW, .method = "eth_gasPrice" },
		};
		err = rpc_batch(c, reqs, 3, on_batch, NULL, NULL);
		break;
	}
	default:
		err = rpc_broadcast_raw_transaction(c, raw, sizeof raw, on_bcast,
						    NULL, NULL);
		break;
	}
	FUZZ_CHECK(err == KERR_OK);
	deliver(body, len, status);
	/* A failover sent inside the completion is answered too. */
	while (nq)
		deliver(body, len, status);
	FUZZ_CHECK(calls == 1);
	FUZZ_CHECK(rpc_inflight(c) == 0);
	rpc_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int statuses[] = { 400, 401, 402, 403, 404, 429, 500,
					503, 301, 100 };
	char *body = fuzz_dup(data, size);

	for (int mode = 0; mode < 4; mode++)
		one(mode, body, size, 200);
	one(0, body, size, statuses[size % (sizeof statuses / sizeof statuses[0])]);
	free(body);
	return 0;
}
