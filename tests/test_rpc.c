/*
 * test_rpc: the JSON-RPC client against a scripted fake transport.
 *
 * The fake records every request rpc hands it and answers, when the test
 * says so, with the next step scripted for that endpoint: a transport
 * failure, or an HTTP status and a body ("@ID" in a body becomes the id of
 * the request it answers).  Bodies are handed over in buffers of exactly
 * their length, so ASan catches a read past a reply.  Time is a variable.
 * Node error replies come from tests/fixtures/rpc (recorded from anvil by
 * record.sh there) and from the texts geth, erigon, nethermind and besu
 * define in their sources.
 */
#include "keeper/rpc.h"

#include <math.h>

#include "tests/test.h"

/* ---- fake transport and clock ------------------------------------------ */

typedef struct {
	rpc_net_t net;
	int status;
	const char *body;
} step_t;

typedef struct {
	size_t ep;
	char *body;
	size_t len;
	uint32_t timeout_ms;
	rpc_net_done_fn done;
	void *arg;
	bool delivered;
} sent_t;

#define MAXQ 512
#define MAXSTEPS 80

static struct {
	sent_t q[MAXQ];
	size_t nq;
	step_t script[RPC_MAX_ENDPOINTS][MAXSTEPS];
	size_t nscript[RPC_MAX_ENDPOINTS], next[RPC_MAX_ENDPOINTS];
	kerr_t refuse[RPC_MAX_ENDPOINTS];
	size_t sends[RPC_MAX_ENDPOINTS];
} F;

static uint64_t t_now;

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return t_now;
}

static kerr_t fake_send(void *ctx, size_t ep, const char *body, size_t len,
			uint32_t timeout_ms, rpc_net_done_fn done, void *arg)
{
	sent_t *s;

	(void)ctx;
	if (F.refuse[ep])
		return F.refuse[ep];
	if (F.nq == MAXQ) {
		printf("    fake queue full\n");
		return KERR_NOMEM;
	}
	s = &F.q[F.nq++];
	s->ep = ep;
	s->body = malloc(len + 1);
	memcpy(s->body, body, len);
	s->body[len] = 0;
	s->len = len;
	s->timeout_ms = timeout_ms;
	s->done = done;
	s->arg = arg;
	s->delivered = false;
	F.sends[ep]++;
	return KERR_OK;
}

static const rpc_transport_t fake = { NULL, fake_send };

static void fake_reset(void)
{
	for (size_t i = 0; i < F.nq; i++)
		free(F.q[i].body);
	memset(&F, 0, sizeof F);
	t_now = 1000000;
}

static void script(size_t ep, rpc_net_t net, int status, const char *body)
{
	if (F.nscript[ep] == MAXSTEPS) {
		printf("    script of endpoint %zu full\n", ep);
		return;
	}
	F.script[ep][F.nscript[ep]++] = (step_t){ net, status, body };
}

static void ok200(size_t ep, const char *body)
{
	script(ep, RPC_NET_OK, 200, body);
}

/* The id in a request body we built. */
static uint64_t request_id(const char *body)
{
	const char *p = strstr(body, "\"id\":");
	return p ? strtoull(p + 5, NULL, 10) : 0;
}

/* body with every "@ID" replaced by id, in a buffer of exactly its length. */
static char *expand(const char *body, uint64_t id, size_t *len)
{
	char ids[24], *out;
	size_t n = 0, cap = strlen(body) * 2 + 64;
	int idl = snprintf(ids, sizeof ids, "%" PRIu64, id);
	char *tmp = malloc(cap);

	for (const char *p = body; *p;) {
		if (strncmp(p, "@ID", 3) == 0) {
			memcpy(tmp + n, ids, (size_t)idl);
			n += (size_t)idl;
			p += 3;
		} else {
			tmp[n++] = *p++;
		}
	}
	out = malloc(n ? n : 1);
	memcpy(out, tmp, n);
	free(tmp);
	*len = n;
	return out;
}

/* Answer the oldest unanswered request from its endpoint's script.
 * false when there is none. */
static bool deliver_one(void)
{
	for (size_t i = 0; i < F.nq; i++) {
		sent_t *s = &F.q[i];
		rpc_net_result_t r = { 0 };
		const step_t *st;
		char *b = NULL;

		if (s->delivered)
			continue;
		s->delivered = true;
		if (F.next[s->ep] == F.nscript[s->ep]) {
			printf("    no step scripted for endpoint %zu\n", s->ep);
			t_cur_failed++;
			r.net = RPC_NET_TIMEOUT;
			s->done(s->arg, &r);
			return true;
		}
		st = &F.script[s->ep][F.next[s->ep]++];
		r.net = st->net;
		r.http_status = st->status;
		if (st->body) {
			b = expand(st->body, request_id(s->body), &r.len);
			r.body = b;
		}
		s->done(s->arg, &r);
		free(b);
		return true;
	}
	return false;
}

static size_t deliver_all(void)
{
	size_t n = 0;
	while (deliver_one())
		n++;
	return n;
}

/* ---- reply capture --------------------------------------------------- */

typedef struct {
	int calls;
	kerr_t err;
	uint64_t id;
	size_t endpoint;
	unsigned attempts;
	int http;
	rpc_net_t net;
	rpc_error_kind_t kind;
	int64_t code;
	char msg[RPC_MSG_MAX];
	size_t msg_len;
	bool cut;
	char what[32];
	bool doc;
	int result_type;
	char result[512];
	bool has_revert;
	uint8_t revert[RPC_REVERT_MAX];
	size_t revert_len;
	bool has_data;
	uint64_t u64;         /* the result read as a quantity, when it is one */
	kerr_t u64_err;
} got_t;

static void on_reply(void *arg, const rpc_reply_t *r)
{
	got_t *g = arg;

	g->calls++;
	g->err = r->err;
	g->id = r->id;
	g->endpoint = r->endpoint;
	g->attempts = r->attempts;
	g->http = r->out->http_status;
	g->net = r->out->net;
	g->kind = r->out->kind;
	g->code = r->out->code;
	memcpy(g->msg, r->out->message, r->out->message_len + 1);
	g->msg_len = r->out->message_len;
	g->cut = r->out->message_cut;
	snprintf(g->what, sizeof g->what, "%s", r->what ? r->what : "");
	g->doc = r->doc != NULL;
	g->has_data = r->data != JTOK_NONE;
	g->has_revert = r->has_revert;
	g->revert_len = r->revert_len;
	if (r->has_revert)
		memcpy(g->revert, r->revert, r->revert_len);
	if (r->doc && r->result != JTOK_NONE) {
		jtok_view_t v = jtok_text(r->doc, r->result);
		g->result_type = (int)jtok_type(r->doc, r->result);
		snprintf(g->result, sizeof g->result, "%.*s", (int)v.len, v.p);
		g->u64_err = jtok_u64(r->doc, r->result, &g->u64);
	}
}

static rpc_client_t *mk(size_t n, const rpc_opts_t *o)
{
	rpc_client_t *c = NULL;
	kerr_t err;

	fake_reset();
	err = rpc_new(&c, n, &fake, fake_clock, NULL, o);
	if (err)
		printf("    rpc_new: %s\n", kerr_name(err));
	return c;
}

static const addr_t ADDR1 = { { 0x70, 0x99, 0x79, 0x70, 0xc5, 0x18, 0x12, 0xdc,
				0x3a, 0x65, 0xc0, 0xf7, 0x99, 0xd0, 0x79, 0xb4,
				0xc4, 0x5a, 0x7a, 0x9c } };
static const addr_t ADDR2 = { { 0xf3, 0x9f, 0xd6, 0xe5, 0x1a, 0xad, 0x88, 0xf6,
				0xf4, 0xce, 0x6a, 0xb8, 0x82, 0x72, 0x79, 0xcf,
				0xff, 0xb9, 0x22, 0x66 } };

static void fill32(uint8_t *h, uint8_t start)
{
	for (int i = 0; i < 32; i++)
		h[i] = (uint8_t)(start + i);
}

/* ---- request bodies ---------------------------------------------------- */

/* rpc_build gives exactly want, is refused KERR_BUF with any smaller
 * buffer, and the text is JSON with our envelope. */
static void check_build(const rpc_req_t *r, uint64_t id, const char *want)
{
	size_t wl = strlen(want), len = 99;
	char *buf = malloc(wl + 16);
	json_error_t je;
	json_t *j;

	CHECK_OK(rpc_build(buf, wl + 16, &len, id, r));
	CHECK_EQ_INT(len, wl);
	buf[len < wl + 16 ? len : 0] = 0;
	CHECK_EQ_STR(buf, want);
	/* The text is JSON with our envelope (jansson reads integers as
	 * int64_t: a larger id is checked by the text alone). */
	if (id <= INT64_MAX) {
		j = json_loadb(buf, len, 0, &je);
		CHECK_MSG(j != NULL, "not JSON: %s", buf);
		CHECK_EQ_STR(json_string_value(json_object_get(j, "jsonrpc")), "2.0");
		CHECK_EQ_INT(json_integer_value(json_object_get(j, "id")), (long long)id);
		json_decref(j);
	}
	for (size_t cap = 0; cap < wl; cap++) {
		char *small = malloc(cap ? cap : 1);
		kerr_t e = rpc_build(cap ? small : NULL, cap, &len, id, r);
		CHECK_MSG(e == KERR_BUF, "cap %zu of %zu: %s", cap, wl, kerr_name(e));
		free(small);
	}
	free(buf);
}

static void test_build(void)
{
	uint8_t h[32], t1[32], t2[32], t3[32];
	static const uint8_t calldata[] = { 0x5c, 0x97, 0x5a, 0xbb };
	static const uint8_t raw[] = { 0x02, 0xc0, 0xff };
	const addr_t addrs[2] = { ADDR1, ADDR2 };
	uint8_t alts[2][32];
	const double pct[] = { 25, 50, 75 }, pct2[] = { 0, 12.5, 100 };
	rpc_log_filter_t lf;
	rpc_req_t r;

	fill32(h, 0x10);
	fill32(t1, 0xa0);
	fill32(t2, 0x00);
	fill32(t3, 0x40);
	memcpy(alts[0], t2, 32);
	memcpy(alts[1], t3, 32);

	check_build(&(rpc_req_t){ .kind = RPC_REQ_BLOCK_NUMBER }, 1,
		    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_blockNumber\",\"params\":[]}");
	check_build(&(rpc_req_t){ .kind = RPC_REQ_CHAIN_ID }, 18446744073709551615u,
		    "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551615,\"method\":\"eth_chainId\",\"params\":[]}");
	check_build(&(rpc_req_t){ .kind = RPC_REQ_GET_BALANCE, .addr = &ADDR1,
				  .block = RPC_LATEST }, 7,
		    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"eth_getBalance\",\"params\":"
		    "[\"0x70997970c51812dc3a65c0f799d079b4c45a7a9c\",\"latest\"]}");
	check_build(&(rpc_req_t){ .kind = RPC_REQ_GET_TX_COUNT, .addr = &ADDR2,
				  .block = RPC_PENDING }, 8,
		    "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"eth_getTransactionCount\",\"params\":"
		    "[\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\",\"pending\"]}");
	check_build(&(rpc_req_t){ .kind = RPC_REQ_CALL, .addr = &ADDR1, .data = calldata,
				  .data_len = sizeof calldata,
				  .block = RPC_BLOCK_NUM(1234567) }, 9,
		    "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"eth_call\",\"params\":"
		    "[{\"to\":\"0x70997970c51812dc3a65c0f799d079b4c45a7a9c\",\"data\":\"0x5c975abb\"},\"0x12d687\"]}");
	check_build(&(rpc_req_t){ .kind = RPC_REQ_CALL, .addr = &ADDR1,
				  .block = RPC_BLOCK_NUM(0) }, 10,
		    "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"eth_call\",\"params\":"
		    "[{\"to\":\"0x70997970c51812dc3a65c0f799d079b4c45a7a9c\",\"data\":\"0x\"},\"0x0\"]}");
	check_build(&(rpc_req_t){ .kind = RPC_REQ_SEND_RAW_TX, .data = raw,
				  .data_len = sizeof raw }, 11,
		    "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"eth_sendRawTransaction\",\"params\":[\"0x02c0ff\"]}");
	check_build(&(rpc_req_t){ .kind = RPC_REQ_GET_TX, .hash = h }, 12,
		    "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"eth_getTransactionByHash\",\"params\":"
		    "[\"0x101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f\"]}");
	check_build(&(rpc_req_t){ .kind = RPC_REQ_GET_RECEIPT, .hash = h }, 13,
		    "{\"jsonrpc\":\"2.0\",\"id\":13,\"method\":\"eth_getTransactionReceipt\",\"params\":"
		    "[\"0x101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f\"]}");

	memset(&lf, 0, sizeof lf);
	lf.from = RPC_BLOCK_NUM(100);
	lf.to = RPC_LATEST;
	lf.addrs = addrs;
	lf.naddrs = 2;
	lf.topics[0] = (rpc_topic_t){ (const uint8_t (*)[32])t1, 1 };
	lf.topics[1] = (rpc_topic_t){ NULL, 0 };
	lf.topics[2] = (rpc_topic_t){ (const uint8_t (*)[32])alts, 2 };
	lf.ntopics = 3;
	check_build(&(rpc_req_t){ .kind = RPC_REQ_GET_LOGS, .logs = &lf }, 14,
		    "{\"jsonrpc\":\"2.0\",\"id\":14,\"method\":\"eth_getLogs\",\"params\":[{"
		    "\"fromBlock\":\"0x64\",\"toBlock\":\"latest\",\"address\":["
		    "\"0x70997970c51812dc3a65c0f799d079b4c45a7a9c\","
		    "\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\"],\"topics\":["
		    "[\"0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\"],null,"
		    "[\"0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\","
		    "\"0x404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f\"]]}]}");
	memset(&lf, 0, sizeof lf);
	lf.from = RPC_BLOCK_TAG("finalized");
	lf.to = RPC_BLOCK_TAG("safe");
	check_build(&(rpc_req_t){ .kind = RPC_REQ_GET_LOGS, .logs = &lf }, 15,
		    "{\"jsonrpc\":\"2.0\",\"id\":15,\"method\":\"eth_getLogs\",\"params\":[{"
		    "\"fromBlock\":\"finalized\",\"toBlock\":\"safe\"}]}");

	check_build(&(rpc_req_t){ .kind = RPC_REQ_FEE_HISTORY, .count = 5,
				  .block = RPC_LATEST, .pct = pct, .npct = 3 }, 16,
		    "{\"jsonrpc\":\"2.0\",\"id\":16,\"method\":\"eth_feeHistory\",\"params\":"
		    "[\"0x5\",\"latest\",[25,50,75]]}");
	check_build(&(rpc_req_t){ .kind = RPC_REQ_FEE_HISTORY, .count = 1024,
				  .block = RPC_BLOCK_NUM(0xabcdef), .pct = pct2, .npct = 3 }, 17,
		    "{\"jsonrpc\":\"2.0\",\"id\":17,\"method\":\"eth_feeHistory\",\"params\":"
		    "[\"0x400\",\"0xabcdef\",[0,12.5,100]]}");
	check_build(&(rpc_req_t){ .kind = RPC_REQ_FEE_HISTORY, .count = 2,
				  .block = RPC_PENDING }, 18,
		    "{\"jsonrpc\":\"2.0\",\"id\":18,\"method\":\"eth_feeHistory\",\"params\":"
		    "[\"0x2\",\"pending\",[]]}");
	check_build(&(rpc_req_t){ .kind = RPC_REQ_RAW, .method = "eth_getBlockByNumber",
				  .params = "[\"latest\",false]", .params_len = 16 }, 19,
		    "{\"jsonrpc\":\"2.0\",\"id\":19,\"method\":\"eth_getBlockByNumber\",\"params\":"
		    "[\"latest\",false]}");
	check_build(&(rpc_req_t){ .kind = RPC_REQ_RAW, .method = "net_version" }, 20,
		    "{\"jsonrpc\":\"2.0\",\"id\":20,\"method\":\"net_version\",\"params\":[]}");

	/* Refused requests. */
	{
		char b[1024];
		size_t n;
		const double bad1[] = { 50, 25 }, bad2[] = { 101 }, bad3[] = { -1 };
		double nan_ = NAN;
		rpc_topic_t many = { (const uint8_t (*)[32])t1, RPC_LOGS_MAX_TOPIC_ALTS + 1 };

		r = (rpc_req_t){ .kind = RPC_REQ_GET_BALANCE, .addr = &ADDR1,
				 .block = RPC_BLOCK_TAG("newest") };
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		r = (rpc_req_t){ .kind = RPC_REQ_GET_BALANCE, .block = RPC_LATEST };
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		r = (rpc_req_t){ .kind = RPC_REQ_RAW, .method = "eth_call\",\"x" };
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		r = (rpc_req_t){ .kind = RPC_REQ_RAW, .method = "" };
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		r = (rpc_req_t){ .kind = RPC_REQ_RAW };
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		r = (rpc_req_t){ .kind = RPC_REQ_RAW, .method = "eth_x", .params = "1", .params_len = 1 };
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		r = (rpc_req_t){ .kind = RPC_REQ_RAW, .method = "eth_x", .params = "[1}", .params_len = 3 };
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		r = (rpc_req_t){ .kind = RPC_REQ_SEND_RAW_TX };
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		r = (rpc_req_t){ .kind = RPC_REQ_GET_TX };
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		r = (rpc_req_t){ .kind = RPC_REQ_FEE_HISTORY, .count = 0, .block = RPC_LATEST };
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		r = (rpc_req_t){ .kind = RPC_REQ_FEE_HISTORY, .count = 1025, .block = RPC_LATEST };
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		r = (rpc_req_t){ .kind = RPC_REQ_FEE_HISTORY, .count = 1, .block = RPC_LATEST,
				 .pct = bad1, .npct = 2 };
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		r.pct = bad2;
		r.npct = 1;
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		r.pct = bad3;
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		r.pct = &nan_;
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		memset(&lf, 0, sizeof lf);
		lf.from = lf.to = RPC_LATEST;
		lf.ntopics = 5;
		r = (rpc_req_t){ .kind = RPC_REQ_GET_LOGS, .logs = &lf };
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		lf.ntopics = 1;
		lf.topics[0] = many;
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		lf.ntopics = 0;
		lf.naddrs = 1;
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
		r = (rpc_req_t){ .kind = 0 };
		CHECK_ERR(rpc_build(b, sizeof b, &n, 1, &r), KERR_ARG);
	}
}

/* Each shorthand sends what rpc_build builds for its request. */
static void test_helpers_send_built_bodies(void)
{
	rpc_client_t *c = mk(1, NULL);
	uint8_t h[32];
	static const uint8_t raw[] = { 0x02, 0x01 }, cd[] = { 0xaa };
	const double pct[] = { 50 };
	rpc_log_filter_t lf = { .from = RPC_BLOCK_NUM(1), .to = RPC_BLOCK_NUM(2) };
	rpc_req_t want[11];
	got_t g = { 0 };
	uint64_t id = 0;
	size_t k = 0;

	fill32(h, 1);
	want[0] = (rpc_req_t){ .kind = RPC_REQ_RAW, .method = "web3_clientVersion" };
	want[1] = (rpc_req_t){ .kind = RPC_REQ_BLOCK_NUMBER };
	want[2] = (rpc_req_t){ .kind = RPC_REQ_CHAIN_ID };
	want[3] = (rpc_req_t){ .kind = RPC_REQ_GET_BALANCE, .addr = &ADDR1, .block = RPC_LATEST };
	want[4] = (rpc_req_t){ .kind = RPC_REQ_GET_TX_COUNT, .addr = &ADDR1, .block = RPC_PENDING };
	want[5] = (rpc_req_t){ .kind = RPC_REQ_CALL, .addr = &ADDR2, .data = cd, .data_len = 1,
			       .block = RPC_BLOCK_NUM(5) };
	want[6] = (rpc_req_t){ .kind = RPC_REQ_SEND_RAW_TX, .data = raw, .data_len = 2 };
	want[7] = (rpc_req_t){ .kind = RPC_REQ_GET_TX, .hash = h };
	want[8] = (rpc_req_t){ .kind = RPC_REQ_GET_RECEIPT, .hash = h };
	want[9] = (rpc_req_t){ .kind = RPC_REQ_GET_LOGS, .logs = &lf };
	want[10] = (rpc_req_t){ .kind = RPC_REQ_FEE_HISTORY, .count = 4, .block = RPC_LATEST,
				.pct = pct, .npct = 1 };
	if (!c)
		return;
	CHECK_OK(rpc_call(c, "web3_clientVersion", NULL, 0, on_reply, &g, &id));
	CHECK_EQ_INT(id, 1);
	CHECK_OK(rpc_block_number(c, on_reply, &g, &id));
	CHECK_EQ_INT(id, 2);
	CHECK_OK(rpc_chain_id(c, on_reply, &g, NULL));
	CHECK_OK(rpc_get_balance(c, &ADDR1, RPC_LATEST, on_reply, &g, NULL));
	CHECK_OK(rpc_get_transaction_count(c, &ADDR1, RPC_PENDING, on_reply, &g, NULL));
	CHECK_OK(rpc_eth_call(c, &ADDR2, cd, 1, RPC_BLOCK_NUM(5), on_reply, &g, NULL));
	CHECK_OK(rpc_send_raw_transaction(c, raw, 2, on_reply, &g, NULL));
	CHECK_OK(rpc_get_transaction_by_hash(c, h, on_reply, &g, NULL));
	CHECK_OK(rpc_get_transaction_receipt(c, h, on_reply, &g, NULL));
	CHECK_OK(rpc_get_logs(c, &lf, on_reply, &g, NULL));
	CHECK_OK(rpc_fee_history(c, 4, RPC_LATEST, pct, 1, on_reply, &g, &id));
	CHECK_EQ_INT(id, 11);
	CHECK_EQ_INT(F.nq, 11);
	CHECK_EQ_INT(rpc_inflight(c), 11);
	for (k = 0; k < F.nq && k < 11; k++) {
		char b[1024];
		size_t n;
		CHECK_OK(rpc_build(b, sizeof b, &n, k + 1, &want[k]));
		CHECK_EQ_INT(F.q[k].len, n);
		CHECK_MSG(F.q[k].len == n && memcmp(F.q[k].body, b, n) == 0,
			  "request %zu: %s", k + 1, F.q[k].body);
		CHECK_EQ_INT(F.q[k].timeout_ms, RPC_TIMEOUT_DEFAULT);
		ok200(0, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x1\"}");
	}
	CHECK_EQ_INT(deliver_all(), 11);
	CHECK_EQ_INT(g.calls, 11);
	CHECK_EQ_INT(rpc_inflight(c), 0);
	rpc_free(c);
}

/* ---- replies ------------------------------------------------------------ */

static void test_success(void)
{
	rpc_client_t *c = mk(2, &(rpc_opts_t){ .timeout_ms = 750 });
	rpc_endpoint_stats_t st;
	got_t g = { 0 };
	uint64_t id = 0;

	if (!c)
		return;
	ok200(0, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x12d687\"}");
	CHECK_OK(rpc_block_number(c, on_reply, &g, &id));
	CHECK_EQ_INT(F.q[0].ep, 0);
	CHECK_EQ_INT(F.q[0].timeout_ms, 750);
	CHECK_EQ_INT(g.calls, 0);   /* never from inside the call */
	deliver_all();
	CHECK_EQ_INT(g.calls, 1);
	CHECK_OK(g.err);
	CHECK_EQ_INT(g.id, id);
	CHECK_EQ_INT(g.endpoint, 0);
	CHECK_EQ_INT(g.attempts, 1);
	CHECK_EQ_INT(g.http, 200);
	CHECK_EQ_INT(g.kind, RPC_E_NONE);
	CHECK(g.doc);
	CHECK_EQ_INT(g.result_type, JTOK_STRING);
	CHECK_OK(g.u64_err);
	CHECK_EQ_INT(g.u64, 1234567);
	CHECK_EQ_INT(F.sends[1], 0);
	CHECK_OK(rpc_stats(c, 0, &st));
	CHECK_EQ_INT(st.calls, 1);
	CHECK_EQ_INT(st.results, 1);
	CHECK_EQ_INT(st.rpc_errors, 0);
	CHECK(!st.down);
	CHECK_ERR(rpc_stats(c, 2, &st), KERR_ARG);

	/* A null result (no receipt yet) is a success; members in any order. */
	g = (got_t){ 0 };
	script(0, RPC_NET_OK, 200, " {\"result\":null,\"id\":@ID,\"jsonrpc\":\"2.0\"} ");
	CHECK_OK(rpc_get_transaction_receipt(c, (const uint8_t[32]){ 1 }, on_reply, &g, NULL));
	deliver_all();
	CHECK_OK(g.err);
	CHECK_EQ_INT(g.result_type, JTOK_NULL);

	/* Per-request timeout. */
	g = (got_t){ 0 };
	ok200(0, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":[]}");
	CHECK_OK(rpc_submit(c, &(rpc_req_t){ .kind = RPC_REQ_CHAIN_ID, .timeout_ms = 42 },
			    on_reply, &g, NULL));
	CHECK_EQ_INT(F.q[2].timeout_ms, 42);
	deliver_all();
	CHECK_OK(g.err);
	CHECK_EQ_INT(g.result_type, JTOK_ARRAY);
	rpc_free(c);
}

/* One reply to a fresh single-endpoint client's first call. */
static got_t one(int status, const char *body)
{
	rpc_client_t *c = mk(1, NULL);
	got_t g = { 0 };

	if (!c)
		return g;
	script(0, RPC_NET_OK, status, body);
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_EQ_INT(g.calls, 1);
	CHECK_EQ_INT(rpc_inflight(c), 0);
	rpc_free(c);
	return g;
}

static void test_id_mismatch(void)
{
	got_t g;

	g = one(200, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"0x1\"}");
	CHECK_ERR(g.err, KERR_RPC_ID);
	CHECK_EQ_STR(g.what, "id");
	CHECK(!g.doc);
	g = one(200, "{\"jsonrpc\":\"2.0\",\"result\":\"0x1\"}");
	CHECK_ERR(g.err, KERR_RPC_ID);
	g = one(200, "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":\"0x1\"}");
	CHECK_ERR(g.err, KERR_RPC_ID);
	g = one(200, "{\"jsonrpc\":\"2.0\",\"id\":1.0,\"result\":\"0x1\"}");
	CHECK_ERR(g.err, KERR_RPC_ID);
	g = one(200, "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":\"0x1\"}");
	CHECK_ERR(g.err, KERR_RPC_ID);
	g = one(200, "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551617,\"result\":\"0x1\"}");
	CHECK_ERR(g.err, KERR_RPC_ID);
	/* A null id with an error is the server's answer to an unreadable
	 * request (anvil-invalid-request.json has one). */
	g = one(200, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}");
	CHECK_ERR(g.err, KERR_RPC_ERROR);
	CHECK_EQ_INT(g.code, -32700);
}

static void test_http200_error_body(void)
{
	rpc_client_t *c = mk(2, NULL);
	rpc_endpoint_stats_t st;
	got_t g = { 0 };

	if (!c)
		return;
	/* geth's answer for an unknown account key: status 200, an error. */
	ok200(0, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"error\":{\"code\":-32000,"
		 "\"message\":\"header not found\"}}");
	CHECK_OK(rpc_get_balance(c, &ADDR1, RPC_BLOCK_NUM(99999999), on_reply, &g, NULL));
	deliver_all();
	CHECK_ERR(g.err, KERR_RPC_ERROR);
	CHECK_EQ_INT(g.http, 200);
	CHECK_EQ_INT(g.code, -32000);
	CHECK_EQ_STR(g.msg, "header not found");
	CHECK_EQ_INT(g.msg_len, 16);
	CHECK_EQ_INT(g.kind, RPC_E_OTHER);
	CHECK(g.doc);
	CHECK(!g.has_data);
	CHECK_EQ_STR(g.result, "");
	/* The node answered: no failover, endpoint 0 stays up and current. */
	CHECK_EQ_INT(g.attempts, 1);
	CHECK_EQ_INT(F.sends[1], 0);
	CHECK_OK(rpc_stats(c, 0, &st));
	CHECK_EQ_INT(st.rpc_errors, 1);
	CHECK_EQ_INT(st.results, 0);
	CHECK(!st.down);
	CHECK_EQ_INT(rpc_current(c), 0);
	rpc_free(c);
}

typedef struct {
	const char *file;
	kerr_t err;
	int64_t code;
	rpc_error_kind_t kind;
	const char *msg;
} fixture_t;

/* anvil 1.7.1's replies, recorded by tests/fixtures/rpc/record.sh. */
static const fixture_t anvil[] = {
	{ "nonce-too-low", KERR_RPC_ERROR, -32003, RPC_E_NONCE_TOO_LOW, "nonce too low" },
	{ "already-known", KERR_RPC_ERROR, -32003, RPC_E_ALREADY_KNOWN,
	  "transaction already imported" },
	{ "replacement-underpriced", KERR_RPC_ERROR, -32003, RPC_E_REPLACEMENT_UNDERPRICED,
	  "replacement transaction underpriced" },
	{ "insufficient-funds", KERR_RPC_ERROR, -32003, RPC_E_INSUFFICIENT_FUNDS,
	  "Insufficient funds for gas * price + value" },
	{ "fee-cap-below-base-fee", KERR_RPC_ERROR, -32003, RPC_E_UNDERPRICED,
	  "max fee per gas less than block base fee" },
	{ "tip-above-fee-cap", KERR_RPC_ERROR, -32003, RPC_E_OTHER,
	  "max priority fee per gas higher than max fee per gas" },
	{ "intrinsic-gas-too-low", KERR_RPC_ERROR, -32000, RPC_E_OTHER, "intrinsic gas too low" },
	{ "reverted-reason", KERR_RPC_ERROR, 3, RPC_E_REVERTED, "execution reverted: nope" },
	{ "reverted-custom", KERR_RPC_ERROR, 3, RPC_E_REVERTED,
	  "execution reverted: custom error 0xdeadbeef" },
	{ "reverted-empty", KERR_RPC_ERROR, 3, RPC_E_REVERTED, "execution reverted" },
	{ "method-not-found", KERR_RPC_ERROR, -32601, RPC_E_METHOD_NOT_FOUND, "Method not found" },
	{ "invalid-params", KERR_RPC_ERROR, -32602, RPC_E_INVALID_PARAMS, "invalid string length" },
	{ "invalid-raw-tx", KERR_RPC_ERROR, -32602, RPC_E_INVALID_PARAMS,
	  "Failed to decode transaction" },
	{ "invalid-request", KERR_RPC_ERROR, -32600, RPC_E_OTHER, "Invalid request" },
	{ "send-ok", KERR_OK, 0, RPC_E_NONE, "" },
};

static void test_anvil_fixtures(void)
{
	for (size_t i = 0; i < sizeof anvil / sizeof anvil[0]; i++) {
		const fixture_t *fx = &anvil[i];
		char path[128];
		size_t len;
		char *body;
		got_t g;

		snprintf(path, sizeof path, "tests/fixtures/rpc/anvil-%s.json", fx->file);
		if (!(body = t_read_file(path, &len))) {
			t_cur_failed++;
			continue;
		}
		g = one(200, body);
		CHECK_MSG(g.err == fx->err, "%s: %s", fx->file, kerr_name(g.err));
		CHECK_MSG(g.kind == fx->kind, "%s: kind %s", fx->file, rpc_error_kind_name(g.kind));
		CHECK_MSG(g.code == fx->code, "%s: code %lld", fx->file, (long long)g.code);
		CHECK_MSG(strcmp(g.msg, fx->msg) == 0, "%s: message \"%s\"", fx->file, g.msg);
		CHECK(!g.cut);
		free(body);
	}
}

static void test_revert_data(void)
{
	char *body;
	size_t len;
	got_t g;
	uint8_t want[100];

	/* Error(string) "nope": selector, offset 0x20, length 4, "nope". */
	memset(want, 0, sizeof want);
	memcpy(want, "\x08\xc3\x79\xa0", 4);
	want[4 + 31] = 0x20;
	want[36 + 31] = 4;
	memcpy(want + 68, "nope", 4);
	if ((body = t_read_file("tests/fixtures/rpc/anvil-reverted-reason.json", &len))) {
		g = one(200, body);
		CHECK(g.has_data);
		CHECK(g.has_revert);
		CHECK_EQ_INT(g.revert_len, 100);
		CHECK_EQ_MEM(g.revert, want, 100);
		free(body);
	}
	if ((body = t_read_file("tests/fixtures/rpc/anvil-reverted-custom.json", &len))) {
		g = one(200, body);
		CHECK(g.has_revert);
		CHECK_EQ_INT(g.revert_len, 4);
		CHECK_EQ_MEM(g.revert, "\xde\xad\xbe\xef", 4);
		free(body);
	}
	if ((body = t_read_file("tests/fixtures/rpc/anvil-reverted-empty.json", &len))) {
		g = one(200, body);
		CHECK(g.has_revert);
		CHECK_EQ_INT(g.revert_len, 0);
		free(body);
	}
	/* Escaped message: \u0000 four times, kept with its length. */
	if ((body = t_read_file("tests/fixtures/rpc/anvil-reverted-escaped.json", &len))) {
		g = one(200, body);
		CHECK_ERR(g.err, KERR_RPC_ERROR);
		CHECK_EQ_INT(g.kind, RPC_E_REVERTED);
		CHECK_EQ_INT(g.msg_len, 24);
		CHECK_EQ_MEM(g.msg, "execution reverted: \0\0\0\0", 25);
		CHECK(g.has_revert);
		CHECK_EQ_INT(g.revert_len, 4);
		CHECK_EQ_MEM(g.revert, "\0\0\0\0", 4);
		free(body);
	}
	/* Revert data that is no hex string: the token is there, no bytes. */
	g = one(200, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32015,"
		     "\"message\":\"VM execution error.\",\"data\":\"Reverted 0x1234\"}}");
	CHECK_EQ_INT(g.kind, RPC_E_OTHER);
	CHECK(g.has_data);
	CHECK(!g.has_revert);
	/* Besu's revert: code -32000, the text decides. */
	g = one(200, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,"
		     "\"message\":\"Execution reverted: paused\",\"data\":\"0x08c379a0\"}}");
	CHECK_EQ_INT(g.kind, RPC_E_REVERTED);
	CHECK(g.has_revert);
	CHECK_EQ_INT(g.revert_len, 4);
}

typedef struct {
	const char *who;
	int64_t code;
	const char *msg;
	rpc_error_kind_t kind;
} text_t;

/* Texts as the clients' sources write them (rpc.c names the files), with
 * the details geth and erigon wrap around them. */
static const text_t texts[] = {
	{ "geth", -32000, "nonce too low: next nonce 7, tx nonce 5", RPC_E_NONCE_TOO_LOW },
	{ "geth", -32000, "nonce too high: tx nonce 9, gapped nonce 7", RPC_E_NONCE_TOO_HIGH },
	{ "geth", -32000, "replacement transaction underpriced", RPC_E_REPLACEMENT_UNDERPRICED },
	{ "geth", -32000, "already known", RPC_E_ALREADY_KNOWN },
	{ "geth", -32000, "insufficient funds for gas * price + value: balance 0, tx cost 21000, overshot 21000",
	  RPC_E_INSUFFICIENT_FUNDS },
	{ "geth", -32000, "insufficient funds for transfer", RPC_E_INSUFFICIENT_FUNDS },
	{ "geth", -32000, "transaction underpriced: gas tip cap 1, minimum needed 2", RPC_E_UNDERPRICED },
	{ "geth", -32000, "max fee per gas less than block base fee: address 0x70997970C51812dc3A65C0F799D079b4c45A7a9C, maxFeePerGas: 1, baseFee: 7",
	  RPC_E_UNDERPRICED },
	{ "geth", -32000, "transaction gas price below minimum: gas tip cap 0, minimum needed 1", RPC_E_UNDERPRICED },
	{ "geth", 3, "execution reverted: nonce too low", RPC_E_REVERTED },
	{ "geth", -32000, "authority nonce too low", RPC_E_OTHER },
	{ "geth", -32601, "the method eth_foo does not exist/is not available", RPC_E_METHOD_NOT_FOUND },
	{ "geth", -32602, "invalid argument 0: hex string has length 2, want 40 for common.Address",
	  RPC_E_INVALID_PARAMS },
	{ "geth", -32000, "intrinsic gas too low: gas 20000, minimum needed 21000", RPC_E_OTHER },
	{ "geth", -32000, "txpool is full", RPC_E_OTHER },
	{ "erigon", -32000, "ALREADY_EXISTS: already known", RPC_E_ALREADY_KNOWN },
	{ "erigon", -32000, "INTERNAL_ERROR: existing txn with same hash", RPC_E_ALREADY_KNOWN },
	{ "erigon", -32000, "FEE_TOO_LOW: could not replace existing tx", RPC_E_REPLACEMENT_UNDERPRICED },
	{ "erigon", -32000, "FEE_TOO_LOW: replacement transaction underpriced", RPC_E_REPLACEMENT_UNDERPRICED },
	{ "erigon", -32000, "FEE_TOO_LOW: underpriced", RPC_E_UNDERPRICED },
	{ "erigon", -32000, "FEE_TOO_LOW: fee too low", RPC_E_UNDERPRICED },
	{ "erigon", -32000, "STALE: nonce too low", RPC_E_NONCE_TOO_LOW },
	{ "erigon", -32000, "INVALID: insufficient funds", RPC_E_INSUFFICIENT_FUNDS },
	{ "nethermind", -32010, "AlreadyKnown", RPC_E_ALREADY_KNOWN },
	{ "nethermind", -32010, "OldNonce, Current nonce: 5, nonce of rejected tx: 3", RPC_E_NONCE_TOO_LOW },
	{ "nethermind", -32010, "NonceGap, Future nonce. Expected nonce: 5", RPC_E_NONCE_TOO_HIGH },
	{ "nethermind", -32010, "InsufficientFunds, Account balance: 0, cumulative cost: 21000",
	  RPC_E_INSUFFICIENT_FUNDS },
	{ "nethermind", -32010, "FeeTooLowToCompete", RPC_E_UNDERPRICED },
	{ "nethermind", -32010, "ReplacementNotAllowed", RPC_E_REPLACEMENT_UNDERPRICED },
	{ "nethermind", -32000, "nonce too far in future", RPC_E_NONCE_TOO_HIGH },
	{ "nethermind", -32000, "already known", RPC_E_ALREADY_KNOWN },
	{ "besu", -32001, "Nonce too low", RPC_E_NONCE_TOO_LOW },
	{ "besu", -32006, "Nonce too high", RPC_E_NONCE_TOO_HIGH },
	{ "besu", -32000, "Known transaction", RPC_E_ALREADY_KNOWN },
	{ "besu", -32000, "Replacement transaction underpriced", RPC_E_REPLACEMENT_UNDERPRICED },
	{ "besu", -32004, "Upfront cost exceeds account balance", RPC_E_INSUFFICIENT_FUNDS },
	{ "besu", -32009, "Gas price below configured minimum gas price", RPC_E_UNDERPRICED },
	{ "besu", -32009, "Gas price below current base fee", RPC_E_UNDERPRICED },
	{ "besu", -32000, "Transaction nonce is too distant from current sender nonce", RPC_E_NONCE_TOO_HIGH },
	{ "besu", -32000, "Execution reverted", RPC_E_REVERTED },
	{ "besu", -32604, "Method not enabled", RPC_E_METHOD_NOT_FOUND },
	{ "besu", -32602, "Invalid params", RPC_E_INVALID_PARAMS },
	{ "besu", -32005, "Transaction gas limit exceeds block gas limit", RPC_E_OTHER },
	{ "infura", 429, "Too Many Requests", RPC_E_RATE_LIMITED },
	{ "infura", 402, "Payment Required", RPC_E_RATE_LIMITED },
	{ "infura", -32005, "daily request count exceeded, request rate limited", RPC_E_RATE_LIMITED },
	{ "alchemy", 429, "Your app has exceeded its compute units per second capacity. If you have retries enabled, you can safely ignore this message.",
	  RPC_E_RATE_LIMITED },
	{ "any", 429, "", RPC_E_RATE_LIMITED },
	{ "any", -32000, "", RPC_E_OTHER },
};

static void test_client_texts(void)
{
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		const text_t *t = &texts[i];
		rpc_error_kind_t k = rpc_classify(t->code, t->msg, strlen(t->msg));
		CHECK_MSG(k == t->kind, "%s \"%s\": %s, want %s", t->who, t->msg,
			  rpc_error_kind_name(k), rpc_error_kind_name(t->kind));
	}
	/* And through a reply, HTTP 200, for every text that is no
	 * throttling reply (those fail over: see test_failover_rate_limited). */
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		const text_t *t = &texts[i];
		char body[512];
		got_t g;
		if (t->kind == RPC_E_RATE_LIMITED)
			continue;
		snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":"
			 "{\"code\":%lld,\"message\":\"%s\"}}", (long long)t->code, t->msg);
		g = one(200, body);
		CHECK_ERR(g.err, KERR_RPC_ERROR);
		CHECK_EQ_INT(g.kind, t->kind);
		CHECK_EQ_INT(g.code, t->code);
		CHECK_EQ_STR(g.msg, t->msg);
	}
	CHECK_EQ_STR(rpc_error_kind_name(RPC_E_ALREADY_KNOWN), "already_known");
	CHECK_EQ_STR(rpc_error_kind_name(RPC_E_KINDS), "unknown");
	CHECK_EQ_STR(rpc_fail_name(RPC_FAIL_HTTP_429), "http_429");
	CHECK_EQ_STR(rpc_fail_name(RPC_FAIL_KINDS), "unknown");
}

/* ---- failover ----------------------------------------------------------- */

static void check_failover(rpc_net_t net, int status, const char *body,
			   rpc_fail_t fail, const char *name)
{
	rpc_client_t *c = mk(2, NULL);
	rpc_endpoint_stats_t s0, s1;
	got_t g = { 0 };

	if (!c)
		return;
	script(0, net, status, body);
	ok200(1, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x2a\"}");
	CHECK_OK(rpc_chain_id(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_MSG(g.err == KERR_OK, "%s: %s", name, kerr_name(g.err));
	CHECK_EQ_INT(g.u64, 42);
	CHECK_EQ_INT(g.endpoint, 1);
	CHECK_EQ_INT(g.attempts, 2);
	/* The same body, same id, went to endpoint 1. */
	CHECK_EQ_INT(F.nq, 2);
	CHECK_EQ_INT(F.q[1].ep, 1);
	CHECK_EQ_STR(F.q[1].body, F.q[0].body);
	CHECK_OK(rpc_stats(c, 0, &s0));
	CHECK_OK(rpc_stats(c, 1, &s1));
	CHECK_MSG(s0.fail[fail] == 1, "%s: fail[%s] = %llu", name, rpc_fail_name(fail),
		  (unsigned long long)s0.fail[fail]);
	CHECK_EQ_INT(s0.failovers, 1);
	CHECK(s0.down);
	CHECK_EQ_INT(s0.down_until_ms, t_now + RPC_BACKOFF_DEFAULT);
	CHECK_EQ_INT(s0.backoff_level, 1);
	CHECK_EQ_INT(s1.results, 1);
	CHECK(!s1.down);
	CHECK_EQ_INT(rpc_current(c), 1);

	/* The next call skips endpoint 0 and stays on the current one, also
	 * after 0's back-off has ended (sticky). */
	ok200(1, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x2b\"}");
	CHECK_OK(rpc_chain_id(c, on_reply, &g, NULL));
	CHECK_EQ_INT(F.q[2].ep, 1);
	deliver_all();
	t_now += RPC_BACKOFF_DEFAULT;
	ok200(1, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x2c\"}");
	CHECK_OK(rpc_chain_id(c, on_reply, &g, NULL));
	CHECK_EQ_INT(F.q[3].ep, 1);
	deliver_all();
	CHECK_EQ_INT(g.calls, 3);
	CHECK_EQ_INT(g.u64, 44);
	CHECK_EQ_INT(F.sends[0], 1);
	rpc_free(c);
}

static void test_failover(void)
{
	check_failover(RPC_NET_TIMEOUT, 0, NULL, RPC_FAIL_TIMEOUT, "timeout");
	check_failover(RPC_NET_CONNECT, 0, NULL, RPC_FAIL_CONNECT, "connect");
	check_failover(RPC_NET_IO, 0, NULL, RPC_FAIL_IO, "io");
	check_failover(RPC_NET_OK, 502, "<html>Bad Gateway</html>", RPC_FAIL_HTTP_5XX, "502");
	check_failover(RPC_NET_OK, 503, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"error\":"
		       "{\"code\":-32603,\"message\":\"Internal error\"}}", RPC_FAIL_HTTP_5XX, "503+body");
	check_failover(RPC_NET_OK, 429, "", RPC_FAIL_HTTP_429, "429");
	/* A 200 that is no JSON-RPC reply: a proxy's page, a wrong id. */
	check_failover(RPC_NET_OK, 200, "<html>maintenance</html>", RPC_FAIL_MALFORMED, "html");
	check_failover(RPC_NET_OK, 200, "{\"jsonrpc\":\"2.0\",\"id\":999,\"result\":\"0x1\"}",
		       RPC_FAIL_MALFORMED, "wrong id");
}

static void test_failover_rate_limited(void)
{
	/* Infura: 402 with a JSON-RPC error once the day's credit is spent;
	 * Alchemy and Infura: code 429 in the body. */
	check_failover(RPC_NET_OK, 402, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"error\":{\"code\":402,"
		       "\"event\":-33000,\"message\":\"Payment Required\",\"details\":\"You have "
		       "reached your daily credit limit.\"}}", RPC_FAIL_RATE_LIMITED, "402 credit");
	check_failover(RPC_NET_OK, 200, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"error\":{\"code\":429,"
		       "\"message\":\"Your app has exceeded its compute units per second capacity.\"}}",
		       RPC_FAIL_RATE_LIMITED, "200 + 429 body");
	check_failover(RPC_NET_OK, 200, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"error\":{\"code\":-32005,"
		       "\"message\":\"daily request count exceeded, request rate limited\"}}",
		       RPC_FAIL_RATE_LIMITED, "-32005");
}

static void test_http_4xx_no_failover(void)
{
	rpc_client_t *c = mk(2, NULL);
	rpc_endpoint_stats_t st;
	got_t g = { 0 };

	if (!c)
		return;
	script(0, RPC_NET_OK, 400, "Bad Request");
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_ERR(g.err, KERR_RPC_HTTP);
	CHECK_EQ_INT(g.http, 400);
	CHECK_EQ_INT(g.attempts, 1);
	CHECK_EQ_INT(F.sends[1], 0);
	CHECK(!g.doc);
	CHECK_OK(rpc_stats(c, 0, &st));
	CHECK_EQ_INT(st.fail[RPC_FAIL_HTTP_OTHER], 1);
	CHECK_EQ_INT(st.failovers, 0);
	CHECK(!st.down);

	/* besu: 400 carrying a JSON-RPC error: reported as that error. */
	g = (got_t){ 0 };
	script(0, RPC_NET_OK, 400, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"error\":"
		   "{\"code\":-32602,\"message\":\"Invalid params\"}}");
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_ERR(g.err, KERR_RPC_ERROR);
	CHECK_EQ_INT(g.http, 400);
	CHECK_EQ_INT(g.kind, RPC_E_INVALID_PARAMS);
	CHECK_EQ_STR(g.msg, "Invalid params");

	/* 405 and a result under a 4xx: the status decides. */
	g = (got_t){ 0 };
	script(0, RPC_NET_OK, 405, "");
	script(0, RPC_NET_OK, 410, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x1\"}");
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_EQ_INT(g.calls, 2);
	CHECK_ERR(g.err, KERR_RPC_HTTP);
	CHECK_EQ_INT(g.http, 410);
	CHECK_EQ_INT(F.sends[1], 0);

	/* A 404 carrying a JSON-RPC error is that error, not an endpoint
	 * problem: no failover either. */
	g = (got_t){ 0 };
	script(0, RPC_NET_OK, 404, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"error\":"
		   "{\"code\":-32601,\"message\":\"Method not found\"}}");
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_ERR(g.err, KERR_RPC_ERROR);
	CHECK_EQ_INT(g.http, 404);
	CHECK_EQ_INT(g.kind, RPC_E_METHOD_NOT_FOUND);
	CHECK_EQ_INT(F.sends[1], 0);
	rpc_free(c);
}

/* 401, 403 and 404 without a JSON-RPC error: the endpoint is unusable
 * (expired key, wrong path), so the call moves on, as for a 5xx. */
static void test_http_endpoint_failover(void)
{
	check_failover(RPC_NET_OK, 401, "", RPC_FAIL_HTTP_OTHER, "401");
	check_failover(RPC_NET_OK, 401, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x1\"}",
		       RPC_FAIL_HTTP_OTHER, "401+result");
	check_failover(RPC_NET_OK, 403, "{\"message\":\"invalid key\"}",
		       RPC_FAIL_HTTP_OTHER, "403");
	check_failover(RPC_NET_OK, 404, "<html>Not Found</html>", RPC_FAIL_HTTP_OTHER, "404");
}

static void test_all_down_then_backoff_expiry(void)
{
	rpc_client_t *c = mk(3, NULL);
	rpc_endpoint_stats_t st;
	got_t g = { 0 };
	uint64_t t0 = t_now;

	if (!c)
		return;
	script(0, RPC_NET_TIMEOUT, 0, NULL);
	script(1, RPC_NET_CONNECT, 0, NULL);
	script(2, RPC_NET_OK, 502, "bad gateway");
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_EQ_INT(g.calls, 1);
	CHECK_ERR(g.err, KERR_RPC_HTTP);   /* the last try's */
	CHECK_EQ_INT(g.http, 502);
	CHECK_EQ_INT(g.endpoint, 2);
	CHECK_EQ_INT(g.attempts, 3);
	CHECK(!g.doc);
	for (size_t i = 0; i < 3; i++) {
		CHECK_OK(rpc_stats(c, i, &st));
		CHECK(st.down);
		CHECK_EQ_INT(st.down_until_ms, t0 + RPC_BACKOFF_DEFAULT);
		CHECK_EQ_INT(st.failovers, i < 2 ? 1 : 0);
	}
	CHECK_EQ_INT(rpc_stats(c, 1, &st), KERR_OK);
	CHECK_EQ_INT(st.fail[RPC_FAIL_CONNECT], 1);
	CHECK_EQ_INT(rpc_current(c), 0);

	t_now = t0 + RPC_BACKOFF_DEFAULT - 1;
	CHECK_OK(rpc_stats(c, 0, &st));
	CHECK(st.down);
	/* Back-off over: endpoint 0 is up and first again. */
	t_now = t0 + RPC_BACKOFF_DEFAULT;
	CHECK_OK(rpc_stats(c, 0, &st));
	CHECK(!st.down);
	ok200(0, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x7\"}");
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_EQ_INT(g.calls, 2);
	CHECK_OK(g.err);
	CHECK_EQ_INT(g.endpoint, 0);
	CHECK_EQ_INT(g.attempts, 1);
	CHECK_EQ_INT(g.u64, 7);
	CHECK_OK(rpc_stats(c, 0, &st));
	CHECK_EQ_INT(st.backoff_level, 0);
	CHECK_EQ_INT(st.down_until_ms, 0);
	rpc_free(c);
}

/* While every endpoint is down a call is still made, first to the one
 * whose back-off ends first, and each endpoint at most once. */
static void test_all_down_still_tried(void)
{
	rpc_client_t *c = mk(2, NULL);
	rpc_endpoint_stats_t st;
	got_t g = { 0 };
	uint64_t t0 = t_now;

	if (!c)
		return;
	script(0, RPC_NET_TIMEOUT, 0, NULL);
	script(1, RPC_NET_TIMEOUT, 0, NULL);
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_ERR(g.err, KERR_RPC_TIMEOUT);
	CHECK_EQ_INT(g.attempts, 2);

	t_now = t0 + 10;
	script(0, RPC_NET_CONNECT, 0, NULL);
	script(1, RPC_NET_OK, 200, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x1\"}");
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	CHECK_EQ_INT(F.q[2].ep, 0);
	deliver_all();
	CHECK_OK(g.err);
	CHECK_EQ_INT(g.endpoint, 1);
	CHECK_EQ_INT(g.attempts, 2);
	CHECK_EQ_INT(F.nq, 4);
	CHECK_EQ_INT(rpc_current(c), 1);
	/* Endpoint 0 failed twice in a row: its back-off doubled. */
	CHECK_OK(rpc_stats(c, 0, &st));
	CHECK_EQ_INT(st.backoff_level, 2);
	CHECK_EQ_INT(st.down_until_ms, t0 + 10 + 2 * RPC_BACKOFF_DEFAULT);
	CHECK_OK(rpc_stats(c, 1, &st));
	CHECK(!st.down);
	rpc_free(c);
}

/* ---- broadcast capture -------------------------------------------------- */

typedef struct {
	int calls;
	uint64_t id;
	bool accepted;
	size_t verdict, n;
	kerr_t err;
	rpc_error_kind_t kind;
	rpc_outcome_t out[RPC_MAX_ENDPOINTS];
} bgot_t;

static void on_bcast(void *arg, const rpc_broadcast_t *b)
{
	bgot_t *g = arg;

	g->calls++;
	g->id = b->id;
	g->accepted = b->accepted;
	g->verdict = b->verdict;
	g->n = b->n;
	g->err = b->err;
	g->kind = b->kind;
	memcpy(g->out, b->outcome, b->n * sizeof *b->outcome);
}

static const char *const HASH_OK = "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":"
	"\"0x7ee347c6563de55dc262aa8a962ba79c4c0d8e6bf11782ea559ba299780e5e35\"}";
static const uint8_t RAW[] = { 0x02, 0xc0 };

/* Failover order among endpoints that are all down: the back-off ending
 * first wins over ring order.  Broadcasts put endpoints 1 and 2 in
 * back-off without moving the current endpoint (0). */
static void test_failover_prefers_earliest_recovery(void)
{
	rpc_client_t *c = mk(3, NULL);
	rpc_endpoint_stats_t s1, s2;
	got_t g = { 0 };
	bgot_t b = { 0 };
	uint64_t t0 = t_now;

	if (!c)
		return;
	ok200(0, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x1\"}");
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_EQ_INT(rpc_current(c), 0);
	/* Endpoint 1 fails three broadcasts in a row (back-off 1, 2, 4 s);
	 * endpoint 2 fails, answers, fails (1 s, reset, 1 s). */
	ok200(0, HASH_OK);
	ok200(0, HASH_OK);
	ok200(0, HASH_OK);
	script(1, RPC_NET_TIMEOUT, 0, NULL);
	script(1, RPC_NET_TIMEOUT, 0, NULL);
	script(1, RPC_NET_TIMEOUT, 0, NULL);
	script(2, RPC_NET_TIMEOUT, 0, NULL);
	ok200(2, HASH_OK);
	script(2, RPC_NET_CONNECT, 0, NULL);
	for (uint64_t k = 0; k < 3; k++) {
		t_now = t0 + 10 * k;
		CHECK_OK(rpc_broadcast_raw_transaction(c, RAW, sizeof RAW, on_bcast, &b, NULL));
		deliver_all();
		CHECK(b.accepted);
	}
	CHECK_EQ_INT(b.calls, 3);
	CHECK_EQ_INT(rpc_current(c), 0);
	CHECK_OK(rpc_stats(c, 1, &s1));
	CHECK_OK(rpc_stats(c, 2, &s2));
	CHECK_EQ_INT(s1.down_until_ms, t0 + 20 + 4 * RPC_BACKOFF_DEFAULT);
	CHECK_EQ_INT(s2.down_until_ms, t0 + 20 + RPC_BACKOFF_DEFAULT);

	/* Endpoint 0 fails: 1 and 2 are both down, 2 recovers first. */
	t_now = t0 + 30;
	script(0, RPC_NET_TIMEOUT, 0, NULL);
	ok200(2, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x2\"}");
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_OK(g.err);
	CHECK_EQ_INT(g.endpoint, 2);
	CHECK_EQ_INT(g.attempts, 2);
	CHECK_EQ_INT(F.q[F.nq - 1].ep, 2);
	CHECK_EQ_INT(rpc_current(c), 2);
	rpc_free(c);
}

static void test_backoff_doubles_to_cap(void)
{
	rpc_client_t *c = mk(1, &(rpc_opts_t){ .backoff_ms = 1000, .backoff_max_ms = 4000 });
	static const uint64_t want[] = { 1000, 2000, 4000, 4000, 4000 };
	rpc_endpoint_stats_t st;
	got_t g = { 0 };

	if (!c)
		return;
	for (size_t k = 0; k < 5; k++) {
		script(0, RPC_NET_IO, 0, NULL);
		CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
		deliver_all();
		CHECK_ERR(g.err, KERR_RPC_TRANSPORT);
		CHECK_OK(rpc_stats(c, 0, &st));
		CHECK_EQ_INT(st.down_until_ms - t_now, want[k]);
		CHECK_EQ_INT(st.backoff_level, k + 1);
		t_now += 1;
	}
	/* An answer resets it. */
	ok200(0, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"error\":{\"code\":-32000,\"message\":\"x\"}}");
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_ERR(g.err, KERR_RPC_ERROR);
	script(0, RPC_NET_IO, 0, NULL);
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_OK(rpc_stats(c, 0, &st));
	CHECK_EQ_INT(st.down_until_ms - t_now, 1000);
	CHECK_EQ_INT(st.fail[RPC_FAIL_IO], 6);
	CHECK_EQ_INT(st.calls, 7);
	CHECK_EQ_INT(st.failovers, 0);
	rpc_free(c);
}

/* ---- malformed replies --------------------------------------------------- */

static void test_malformed(void)
{
	static const struct {
		const char *body;
		kerr_t err;
		const char *what;
	} cases[] = {
		{ "", KERR_TRUNCATED, "reply" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x", KERR_TRUNCATED, "reply" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"", KERR_TRUNCATED, "reply" },
		{ "<html><body>502 Bad Gateway</body></html>", KERR_JSON, "reply" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":0x1}", KERR_JSON, "reply" },
		{ "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"}]", KERR_RPC_REPLY, "reply" },
		{ "\"0x1\"", KERR_RPC_REPLY, "reply" },
		{ "{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":\"0x1\"}", KERR_RPC_REPLY, "jsonrpc" },
		{ "{\"jsonrpc\":2.0,\"id\":1,\"result\":\"0x1\"}", KERR_RPC_REPLY, "jsonrpc" },
		{ "{\"id\":1,\"result\":\"0x1\"}", KERR_RPC_REPLY, "jsonrpc" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\",\"error\":{\"code\":1,\"message\":\"m\"}}",
		  KERR_RPC_REPLY, "result" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\",\"error\":null}", KERR_RPC_REPLY, "result" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1}", KERR_RPC_REPLY, "result" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":\"nonce too low\"}", KERR_RPC_REPLY, "error" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"message\":\"m\"}}", KERR_RPC_REPLY, "error.code" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"-32000\",\"message\":\"m\"}}",
		  KERR_RPC_REPLY, "error.code" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000.5,\"message\":\"m\"}}",
		  KERR_RPC_REPLY, "error.code" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":99999999999999999999,\"message\":\"m\"}}",
		  KERR_RPC_REPLY, "error.code" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000}}", KERR_RPC_REPLY, "error.message" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,\"message\":7}}",
		  KERR_RPC_REPLY, "error.message" },
		/* Duplicate members read two ways are refused (jtok.h). */
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\",\"result\":\"0x2\"}", KERR_JSON, "result" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"result\":\"0x1\"}", KERR_JSON, "id" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1,\"code\":2,\"message\":\"m\"}}",
		  KERR_JSON, "error.code" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"\xff\"}", KERR_JSON, "reply" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		got_t g = one(200, cases[i].body);
		CHECK_MSG(g.err == cases[i].err, "case %zu: %s, want %s", i,
			  kerr_name(g.err), kerr_name(cases[i].err));
		CHECK_MSG(strcmp(g.what, cases[i].what) == 0, "case %zu: what \"%s\"", i, g.what);
		CHECK(!g.doc);
	}
}

/* A huge error message: the code and kind survive, the text is cut, and
 * never inside a UTF-8 sequence. */
static void test_huge_message(void)
{
	size_t big = 100000, n;
	char *body = malloc(big + 200), *m;
	got_t g;

	n = (size_t)sprintf(body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,"
				  "\"message\":\"nonce too low: ");
	m = body + n;
	/* 'x' up to byte 509 of the message, then 3-byte characters: byte 511
	 * would fall inside one. */
	memset(m, 'x', 509 - 15);
	n += 509 - 15;
	while (n < big) {
		memcpy(body + n, "\xe2\x82\xac", 3);
		n += 3;
	}
	n += (size_t)sprintf(body + n, "\"}}");
	g = one(200, body);
	CHECK_ERR(g.err, KERR_RPC_ERROR);
	CHECK_EQ_INT(g.code, -32000);
	CHECK_EQ_INT(g.kind, RPC_E_NONCE_TOO_LOW);
	CHECK(g.cut);
	CHECK_EQ_INT(g.msg_len, 509);
	CHECK_EQ_INT(strlen(g.msg), 509);
	CHECK_EQ_MEM(g.msg, "nonce too low: xxx", 18);

	/* Escaped and too long to unescape into the buffer: kept as sent. */
	n = (size_t)sprintf(body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":3,"
				  "\"message\":\"execution reverted: ");
	for (size_t k = 0; k < 2000; k++)
		n += (size_t)sprintf(body + n, "\\u00e9");
	n += (size_t)sprintf(body + n, "\"}}");
	g = one(200, body);
	CHECK_ERR(g.err, KERR_RPC_ERROR);
	CHECK_EQ_INT(g.kind, RPC_E_REVERTED);
	CHECK(g.cut);
	CHECK_EQ_INT(g.msg_len, RPC_MSG_MAX - 1);
	CHECK_EQ_MEM(g.msg, "execution reverted: \\u00e9", 26);

	/* Escaped and short: unescaped, not cut. */
	g = one(200, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,"
		     "\"message\":\"already \\u006bnown \\\"x\\\" \\u00e9\"}}");
	CHECK_EQ_STR(g.msg, "already known \"x\" \xc3\xa9");
	CHECK_EQ_INT(g.kind, RPC_E_ALREADY_KNOWN);
	CHECK(!g.cut);
	free(body);
}

static void test_too_large(void)
{
	rpc_client_t *c = mk(2, &(rpc_opts_t){ .max_reply = 1024 });
	char body[2048];
	rpc_endpoint_stats_t st;
	got_t g = { 0 };
	int n;

	if (!c)
		return;
	n = snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x");
	memset(body + n, '0', 1100);
	memcpy(body + n + 1100, "\"}", 3);
	ok200(0, body);
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_ERR(g.err, KERR_TOO_LONG);
	CHECK_EQ_STR(g.what, "reply");
	CHECK_EQ_INT(g.attempts, 1);   /* the same answer everywhere: no failover */
	/* The transport's own limit. */
	script(0, RPC_NET_TOO_LARGE, 0, NULL);
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_ERR(g.err, KERR_TOO_LONG);
	CHECK_EQ_INT(g.attempts, 1);
	/* More tokens than the array holds (1024 / 8). */
	n = snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":[");
	for (int k = 0; k < 200; k++)
		n += snprintf(body + n, sizeof body - (size_t)n, "%s0", k ? "," : "");
	snprintf(body + n, sizeof body - (size_t)n, "]}");
	ok200(0, body);
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_ERR(g.err, KERR_TOO_LONG);
	CHECK_EQ_INT(F.sends[1], 0);
	CHECK_OK(rpc_stats(c, 0, &st));
	CHECK_EQ_INT(st.fail[RPC_FAIL_TOO_LARGE], 3);
	CHECK(!st.down);
	rpc_free(c);
}

/* ---- pool, transport refusals, re-entry ------------------------------------ */

static void test_pool_exhaustion(void)
{
	rpc_client_t *c = mk(1, &(rpc_opts_t){ .slots = 4 });
	got_t g = { 0 };
	bgot_t b = { 0 };

	if (!c)
		return;
	for (int k = 0; k < 4; k++)
		CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	CHECK_EQ_INT(rpc_inflight(c), 4);
	CHECK_ERR(rpc_block_number(c, on_reply, &g, NULL), KERR_RPC_BUSY);
	CHECK_ERR(rpc_broadcast_raw_transaction(c, RAW, sizeof RAW, on_bcast, &b, NULL),
		  KERR_RPC_BUSY);
	CHECK_EQ_INT(F.nq, 4);
	ok200(0, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x1\"}");
	CHECK(deliver_one());
	CHECK_EQ_INT(rpc_inflight(c), 3);
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	CHECK_ERR(rpc_block_number(c, on_reply, &g, NULL), KERR_RPC_BUSY);
	for (int k = 0; k < 4; k++)
		ok200(0, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x1\"}");
	CHECK_EQ_INT(deliver_all(), 4);
	CHECK_EQ_INT(g.calls, 5);
	CHECK_EQ_INT(rpc_inflight(c), 0);
	rpc_free(c);

	/* The default pool: 64. */
	c = mk(1, NULL);
	if (!c)
		return;
	for (int k = 0; k < RPC_MAX_SLOTS; k++)
		CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	CHECK_ERR(rpc_block_number(c, on_reply, &g, NULL), KERR_RPC_BUSY);
	for (int k = 0; k < RPC_MAX_SLOTS; k++)
		script(0, RPC_NET_TIMEOUT, 0, NULL);
	deliver_all();
	CHECK_EQ_INT(rpc_inflight(c), 0);
	rpc_free(c);

	/* A request longer than a slot's body buffer. */
	c = mk(1, &(rpc_opts_t){ .max_request = 256 });
	if (c) {
		uint8_t raw[200] = { 0 };
		CHECK_ERR(rpc_send_raw_transaction(c, raw, sizeof raw, on_reply, &g, NULL), KERR_BUF);
		CHECK_OK(rpc_send_raw_transaction(c, raw, 50, on_reply, &g, NULL));
		CHECK_EQ_INT(rpc_inflight(c), 1);
		script(0, RPC_NET_TIMEOUT, 0, NULL);
		deliver_all();
		rpc_free(c);
	}
}

static void test_transport_refuses(void)
{
	rpc_client_t *c = mk(3, NULL);
	rpc_endpoint_stats_t st;
	got_t g = { 0 };

	if (!c)
		return;
	/* Endpoint 0 refuses at once: the call starts at endpoint 1. */
	F.refuse[0] = KERR_NOMEM;
	ok200(1, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x1\"}");
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	CHECK_EQ_INT(F.q[0].ep, 1);
	deliver_all();
	CHECK_OK(g.err);
	CHECK_EQ_INT(g.attempts, 1);
	CHECK_OK(rpc_stats(c, 0, &st));
	CHECK_EQ_INT(st.fail[RPC_FAIL_SEND], 1);
	CHECK_EQ_INT(st.calls, 0);
	/* All refuse: an error now, no callback, no slot kept. */
	F.refuse[1] = F.refuse[2] = KERR_IO;
	CHECK_ERR(rpc_block_number(c, on_reply, &g, NULL), KERR_IO);
	CHECK_EQ_INT(rpc_inflight(c), 0);
	/* A failover whose every target refuses reports the failure that
	 * caused it: endpoint 1 (current) times out, 2 and 0 refuse. */
	F.refuse[1] = KERR_OK;
	script(1, RPC_NET_TIMEOUT, 0, NULL);
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_EQ_INT(g.calls, 2);
	CHECK_ERR(g.err, KERR_RPC_TIMEOUT);
	CHECK_EQ_INT(g.endpoint, 1);
	CHECK_EQ_INT(g.attempts, 1);
	CHECK_EQ_INT(rpc_inflight(c), 0);
	CHECK_OK(rpc_stats(c, 1, &st));
	CHECK_EQ_INT(st.failovers, 0);   /* it went nowhere */
	rpc_free(c);
}

/* A callback that starts the next call; and a transport that completes
 * twice is not believed the second time. */
static rpc_client_t *chain_c;
static int chain_left;

static void on_chain(void *arg, const rpc_reply_t *r)
{
	got_t *g = arg;

	on_reply(arg, r);
	if (chain_left-- > 0)
		CHECK_OK(rpc_block_number(chain_c, on_chain, g, NULL));
}

static void test_callback_reentry(void)
{
	got_t g = { 0 };
	rpc_net_result_t again = { RPC_NET_OK, 200, "{}", 2 };

	chain_c = mk(1, &(rpc_opts_t){ .slots = 1 });
	if (!chain_c)
		return;
	chain_left = 3;
	for (int k = 0; k < 4; k++)
		ok200(0, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x9\"}");
	CHECK_OK(rpc_block_number(chain_c, on_chain, &g, NULL));
	/* One slot is enough: a call's slot is free when its callback runs. */
	deliver_all();
	CHECK_EQ_INT(g.calls, 4);
	CHECK_EQ_INT(F.nq, 4);
	CHECK_EQ_INT(rpc_inflight(chain_c), 0);
	rpc_free(chain_c);

	chain_c = mk(1, &(rpc_opts_t){ .slots = 2 });
	if (!chain_c)
		return;
	chain_left = 3;
	g = (got_t){ 0 };
	for (int k = 0; k < 4; k++)
		ok200(0, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x9\"}");
	CHECK_OK(rpc_block_number(chain_c, on_chain, &g, NULL));
	deliver_all();
	CHECK_EQ_INT(g.calls, 4);
	CHECK_EQ_INT(g.id, 4);
	CHECK_EQ_INT(g.u64, 9);
	CHECK_EQ_INT(rpc_inflight(chain_c), 0);
	/* A second completion of an answered request changes nothing. */
	F.q[0].done(F.q[0].arg, &again);
	CHECK_EQ_INT(g.calls, 4);
	CHECK_EQ_INT(rpc_inflight(chain_c), 0);
	rpc_free(chain_c);
}

static void test_new_args(void)
{
	static int junk;
	rpc_client_t *c = (rpc_client_t *)&junk;   /* rpc_new clears it on error */
	rpc_transport_t none = { NULL, NULL };

	CHECK_ERR(rpc_new(&c, 0, &fake, fake_clock, NULL, NULL), KERR_ARG);
	CHECK(c == NULL);
	CHECK_ERR(rpc_new(&c, RPC_MAX_ENDPOINTS + 1, &fake, fake_clock, NULL, NULL), KERR_ARG);
	CHECK_ERR(rpc_new(&c, 1, &none, fake_clock, NULL, NULL), KERR_ARG);
	CHECK_ERR(rpc_new(&c, 1, &fake, NULL, NULL, NULL), KERR_ARG);
	CHECK_ERR(rpc_new(&c, 1, &fake, fake_clock, NULL,
			  &(rpc_opts_t){ .slots = RPC_MAX_SLOTS + 1 }), KERR_ARG);
	CHECK_ERR(rpc_new(&c, 1, &fake, fake_clock, NULL,
			  &(rpc_opts_t){ .backoff_ms = 5000, .backoff_max_ms = 1000 }), KERR_ARG);
	CHECK_ERR(rpc_new(&c, 1, &fake, fake_clock, NULL,
			  &(rpc_opts_t){ .max_request = 100 }), KERR_ARG);
	CHECK_ERR(rpc_new(&c, 1, &fake, fake_clock, NULL,
			  &(rpc_opts_t){ .max_reply = RPC_REPLY_HARD + 1 }), KERR_ARG);
	CHECK_OK(rpc_new(&c, RPC_MAX_ENDPOINTS, &fake, fake_clock, NULL, NULL));
	if (c) {
		got_t g = { 0 };
		CHECK_ERR(rpc_block_number(c, NULL, NULL, NULL), KERR_ARG);
		CHECK_ERR(rpc_submit(c, NULL, on_reply, &g, NULL), KERR_ARG);
		CHECK_ERR(rpc_call(c, "bad method", NULL, 0, on_reply, &g, NULL), KERR_ARG);
		CHECK_EQ_INT(rpc_inflight(c), 0);
	}
	rpc_free(c);
	rpc_free(NULL);
}

/* ---- broadcast ----------------------------------------------------------- */

static const char *const ANVIL_KNOWN = "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"error\":"
	"{\"code\":-32003,\"message\":\"transaction already imported\"}}";

static bgot_t bcast3(const step_t st[3])
{
	rpc_client_t *c = mk(3, NULL);
	bgot_t b = { 0 };
	uint64_t id = 0;

	if (!c)
		return b;
	for (size_t i = 0; i < 3; i++)
		script(i, st[i].net, st[i].status, st[i].body);
	CHECK_OK(rpc_broadcast_raw_transaction(c, RAW, sizeof RAW, on_bcast, &b, &id));
	CHECK_EQ_INT(F.nq, 3);
	for (size_t i = 0; i < F.nq; i++) {
		CHECK_EQ_INT(F.q[i].ep, i);
		CHECK_EQ_STR(F.q[i].body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
			     "\"eth_sendRawTransaction\",\"params\":[\"0x02c0\"]}");
	}
	CHECK_EQ_INT(b.calls, 0);
	deliver_all();
	CHECK_EQ_INT(b.calls, 1);
	CHECK_EQ_INT(b.id, id);
	CHECK_EQ_INT(b.n, 3);
	CHECK_EQ_INT(rpc_inflight(c), 0);
	rpc_free(c);
	return b;
}

static void test_broadcast(void)
{
	static const uint8_t hash[32] = {
		0x7e, 0xe3, 0x47, 0xc6, 0x56, 0x3d, 0xe5, 0x5d, 0xc2, 0x62, 0xaa,
		0x8a, 0x96, 0x2b, 0xa7, 0x9c, 0x4c, 0x0d, 0x8e, 0x6b, 0xf1, 0x17,
		0x82, 0xea, 0x55, 0x9b, 0xa2, 0x99, 0x78, 0x0e, 0x5e, 0x35 };
	const char *nonce_low = "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"error\":"
		"{\"code\":-32003,\"message\":\"nonce too low\"}}";
	const char *repl = "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"error\":"
		"{\"code\":-32000,\"message\":\"replacement transaction underpriced\"}}";
	const char *funds = "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"error\":{\"code\":-32000,"
		"\"message\":\"insufficient funds for gas * price + value: balance 0\"}}";
	const char *throttled = "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"error\":"
		"{\"code\":429,\"message\":\"Too Many Requests\"}}";
	bgot_t b;

	/* One accepts, one knows it already, one times out: accepted, and the
	 * verdict is the endpoint that returned the hash. */
	b = bcast3((const step_t[3]){ { RPC_NET_TIMEOUT, 0, NULL },
				      { RPC_NET_OK, 200, ANVIL_KNOWN },
				      { RPC_NET_OK, 200, HASH_OK } });
	CHECK(b.accepted);
	CHECK_OK(b.err);
	CHECK_EQ_INT(b.verdict, 2);
	CHECK(b.out[2].has_hash);
	CHECK_EQ_MEM(b.out[2].hash, hash, 32);
	CHECK_ERR(b.out[0].err, KERR_RPC_TIMEOUT);
	CHECK_ERR(b.out[1].err, KERR_RPC_ERROR);
	CHECK_EQ_INT(b.out[1].kind, RPC_E_ALREADY_KNOWN);
	CHECK_EQ_STR(b.out[1].message, "transaction already imported");

	/* Only "already known": accepted all the same. */
	b = bcast3((const step_t[3]){ { RPC_NET_OK, 200, ANVIL_KNOWN },
				      { RPC_NET_CONNECT, 0, NULL },
				      { RPC_NET_OK, 503, "" } });
	CHECK(b.accepted);
	CHECK_OK(b.err);
	CHECK_EQ_INT(b.verdict, 0);
	CHECK_EQ_INT(b.kind, RPC_E_ALREADY_KNOWN);
	CHECK_ERR(b.out[2].err, KERR_RPC_HTTP);
	CHECK_EQ_INT(b.out[2].http_status, 503);

	/* All refuse: nonce too low outranks replacement underpriced and a
	 * 502, wherever it stands. */
	b = bcast3((const step_t[3]){ { RPC_NET_OK, 502, "bad gateway" },
				      { RPC_NET_OK, 200, repl },
				      { RPC_NET_OK, 200, nonce_low } });
	CHECK(!b.accepted);
	CHECK_ERR(b.err, KERR_RPC_ERROR);
	CHECK_EQ_INT(b.verdict, 2);
	CHECK_EQ_INT(b.kind, RPC_E_NONCE_TOO_LOW);
	CHECK_EQ_STR(b.out[b.verdict].message, "nonce too low");

	b = bcast3((const step_t[3]){ { RPC_NET_OK, 200, funds },
				      { RPC_NET_OK, 200, throttled },
				      { RPC_NET_OK, 200, repl } });
	CHECK(!b.accepted);
	CHECK_EQ_INT(b.verdict, 2);
	CHECK_EQ_INT(b.kind, RPC_E_REPLACEMENT_UNDERPRICED);

	/* A node's judgement beats a failure to reach one. */
	b = bcast3((const step_t[3]){ { RPC_NET_TIMEOUT, 0, NULL },
				      { RPC_NET_CONNECT, 0, NULL },
				      { RPC_NET_OK, 200, funds } });
	CHECK(!b.accepted);
	CHECK_EQ_INT(b.verdict, 2);
	CHECK_EQ_INT(b.kind, RPC_E_INSUFFICIENT_FUNDS);
	b = bcast3((const step_t[3]){ { RPC_NET_OK, 429, "" },
				      { RPC_NET_OK, 200, throttled },
				      { RPC_NET_CONNECT, 0, NULL } });
	CHECK_EQ_INT(b.verdict, 1);
	CHECK_EQ_INT(b.kind, RPC_E_RATE_LIMITED);
	CHECK_ERR(b.err, KERR_RPC_ERROR);

	/* No node reached: the most informative transport failure. */
	b = bcast3((const step_t[3]){ { RPC_NET_CONNECT, 0, NULL },
				      { RPC_NET_TIMEOUT, 0, NULL },
				      { RPC_NET_IO, 0, NULL } });
	CHECK(!b.accepted);
	CHECK_EQ_INT(b.verdict, 1);
	CHECK_ERR(b.err, KERR_RPC_TIMEOUT);
	CHECK_EQ_INT(b.kind, RPC_E_NONE);

	/* A "success" that is no tx hash is not an acceptance. */
	b = bcast3((const step_t[3]){ { RPC_NET_OK, 200, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":true}" },
				      { RPC_NET_TIMEOUT, 0, NULL },
				      { RPC_NET_TIMEOUT, 0, NULL } });
	CHECK(!b.accepted);
	CHECK_ERR(b.out[0].err, KERR_RPC_REPLY);
	CHECK_EQ_INT(b.verdict, 0);
}

static void test_broadcast_endpoints_and_refusals(void)
{
	rpc_client_t *c = mk(3, NULL);
	rpc_endpoint_stats_t st;
	got_t g = { 0 };
	bgot_t b = { 0 };

	if (!c)
		return;
	/* Endpoint 1 in back-off still gets the broadcast. */
	script(0, RPC_NET_OK, 200, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x1\"}");
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	script(1, RPC_NET_TIMEOUT, 0, NULL);
	script(0, RPC_NET_TIMEOUT, 0, NULL);
	ok200(2, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x1\"}");
	CHECK_OK(rpc_block_number(c, on_reply, &g, NULL));
	deliver_all();
	CHECK_OK(rpc_stats(c, 0, &st));
	CHECK(st.down);
	F.refuse[1] = KERR_NOMEM;
	ok200(0, HASH_OK);
	ok200(2, ANVIL_KNOWN);
	CHECK_OK(rpc_broadcast_raw_transaction(c, RAW, sizeof RAW, on_bcast, &b, NULL));
	CHECK_EQ_INT(F.sends[0], 3);
	deliver_all();
	CHECK_EQ_INT(b.calls, 1);
	CHECK(b.accepted);
	CHECK_EQ_INT(b.verdict, 0);
	CHECK_ERR(b.out[1].err, KERR_NOMEM);
	/* The broadcast's answers bring endpoint 0 back up; the current
	 * endpoint stays 2. */
	CHECK_OK(rpc_stats(c, 0, &st));
	CHECK(!st.down);
	CHECK_EQ_INT(rpc_current(c), 2);
	/* Every send refused: an error now, no callback. */
	F.refuse[0] = F.refuse[2] = KERR_IO;
	CHECK_ERR(rpc_broadcast_raw_transaction(c, RAW, sizeof RAW, on_bcast, &b, NULL), KERR_IO);
	CHECK_EQ_INT(b.calls, 1);
	CHECK_EQ_INT(rpc_inflight(c), 0);
	CHECK_ERR(rpc_broadcast_raw_transaction(c, RAW, 0, on_bcast, &b, NULL), KERR_ARG);
	CHECK_ERR(rpc_broadcast_raw_transaction(c, RAW, 2, NULL, &b, NULL), KERR_ARG);
	rpc_free(c);
}

/* ---- batches ---------------------------------------------------------- */

typedef struct {
	int calls;
	kerr_t err;
	uint64_t id;
	size_t endpoint;
	unsigned attempts;
	size_t n, answered;
	bool doc;
	char what[32];
	struct {
		kerr_t err;
		uint64_t id;
		rpc_error_kind_t kind;
		int64_t code;
		char msg[64];
		char result[80];
		char what[32];
		bool has_data;
	} it[RPC_BATCH_MAX];
} batch_got_t;

static void on_batch(void *arg, const rpc_batch_reply_t *b)
{
	batch_got_t *g = arg;

	g->calls++;
	g->err = b->err;
	g->id = b->id;
	g->endpoint = b->endpoint;
	g->attempts = b->attempts;
	g->n = b->n;
	g->answered = b->answered;
	g->doc = b->doc != NULL;
	snprintf(g->what, sizeof g->what, "%s", b->what ? b->what : "");
	for (size_t i = 0; i < b->n && i < RPC_BATCH_MAX; i++) {
		const rpc_item_t *it = &b->items[i];
		g->it[i].err = it->err;
		g->it[i].id = it->id;
		g->it[i].kind = it->out ? it->out->kind : RPC_E_NONE;
		g->it[i].code = it->out ? it->out->code : 0;
		snprintf(g->it[i].msg, sizeof g->it[i].msg, "%.63s",
			 it->out ? it->out->message : "");
		snprintf(g->it[i].what, sizeof g->it[i].what, "%s", it->what ? it->what : "");
		g->it[i].has_data = it->data != JTOK_NONE;
		g->it[i].result[0] = 0;
		if (it->err == KERR_OK && b->doc) {
			jtok_view_t v = jtok_text(b->doc, it->result);
			snprintf(g->it[i].result, sizeof g->it[i].result, "%.*s",
				 (int)v.len, v.p);
		}
	}
}

/* Three eth_calls of a view on ADDR1 (a batch as liq_scan sends it). */
static rpc_req_t breqs[3];
static const uint8_t bdata[3][4] = { { 1, 2, 3, 4 }, { 5, 6, 7, 8 }, { 9, 10, 11, 12 } };

static void batch_reqs(void)
{
	for (size_t i = 0; i < 3; i++)
		breqs[i] = (rpc_req_t){ .kind = RPC_REQ_CALL, .addr = &ADDR1,
					.data = bdata[i], .data_len = 4,
					.block = RPC_LATEST };
}

static void test_batch_build(void)
{
	char out[1024];
	size_t len = 99;
	rpc_req_t two[2] = { { .kind = RPC_REQ_BLOCK_NUMBER }, { .kind = RPC_REQ_CHAIN_ID } };
	static const char want[] =
		"[{\"jsonrpc\":\"2.0\",\"id\":41,\"method\":\"eth_blockNumber\",\"params\":[]},"
		"{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"eth_chainId\",\"params\":[]}]";
	static rpc_req_t many[RPC_BATCH_MAX + 1];

	CHECK_OK(rpc_build_batch(out, sizeof out, &len, 41, two, 2));
	CHECK_EQ_INT(len, sizeof want - 1);
	CHECK(len == sizeof want - 1 && memcmp(out, want, len) == 0);
	/* exactly enough room, then one byte short */
	CHECK_OK(rpc_build_batch(out, sizeof want - 1, &len, 41, two, 2));
	CHECK_ERR(rpc_build_batch(out, sizeof want - 2, &len, 41, two, 2), KERR_BUF);
	CHECK_EQ_INT(len, 0);
	CHECK_ERR(rpc_build_batch(out, sizeof out, &len, 1, two, 0), KERR_ARG);
	for (size_t i = 0; i < RPC_BATCH_MAX + 1; i++)
		many[i] = (rpc_req_t){ .kind = RPC_REQ_BLOCK_NUMBER };
	CHECK_ERR(rpc_build_batch(out, sizeof out, &len, 1, many, RPC_BATCH_MAX + 1), KERR_ARG);
	/* a request rpc_build refuses spoils the batch */
	two[1] = (rpc_req_t){ .kind = RPC_REQ_GET_BALANCE };
	CHECK_ERR(rpc_build_batch(out, sizeof out, &len, 1, two, 2), KERR_ARG);
}

/* Replies in any order, matched by id; a revert among them is that call's
 * error; the ids are consecutive and the next call continues after them. */
static void test_batch_any_order(void)
{
	rpc_client_t *c = mk(1, NULL);
	batch_got_t g = { 0 };
	got_t one_g = { 0 };
	uint64_t first = 0, next = 0;
	static char reply[512];

	if (!c)
		return;
	batch_reqs();
	CHECK_OK(rpc_batch(c, breqs, 3, on_batch, &g, &first));
	CHECK_EQ_INT(first, 1);
	CHECK_EQ_INT(F.nq, 1);
	/* one POST holding the three calls */
	CHECK(F.q[0].body[0] == '[' && strstr(F.q[0].body, "\"id\":3,") != NULL);
	CHECK(strstr(F.q[0].body, "\"data\":\"0x090a0b0c\"") != NULL);
	snprintf(reply, sizeof reply,
		 "[{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":\"0x03\"},"
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x01\"},"
		 "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":3,\"message\":\"execution reverted\","
		 "\"data\":\"0x\"}}]");
	ok200(0, reply);
	CHECK_EQ_INT(deliver_all(), 1);
	CHECK_EQ_INT(g.calls, 1);
	CHECK_ERR(g.err, KERR_OK);
	CHECK_EQ_INT(g.n, 3);
	CHECK_EQ_INT(g.answered, 3);
	CHECK_EQ_INT(g.attempts, 1);
	CHECK(g.doc);
	CHECK_ERR(g.it[0].err, KERR_OK);
	CHECK_EQ_INT(g.it[0].id, 1);
	CHECK_EQ_STR(g.it[0].result, "0x01");
	CHECK_ERR(g.it[1].err, KERR_RPC_ERROR);
	CHECK_EQ_INT(g.it[1].kind, RPC_E_REVERTED);
	CHECK_EQ_INT(g.it[1].code, 3);
	CHECK_EQ_STR(g.it[1].msg, "execution reverted");
	CHECK(g.it[1].has_data);
	CHECK_ERR(g.it[2].err, KERR_OK);
	CHECK_EQ_STR(g.it[2].result, "0x03");
	CHECK_EQ_INT(rpc_inflight(c), 0);
	/* the next call takes the id after the batch's */
	CHECK_OK(rpc_block_number(c, on_reply, &one_g, &next));
	CHECK_EQ_INT(next, 4);
	ok200(0, "{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x10\"}");
	deliver_all();
	CHECK_ERR(one_g.err, KERR_OK);
	rpc_free(c);
}

/* A call without an answer is KERR_RPC_MISSING, a malformed element is
 * that call's KERR_RPC_REPLY; the others stand and nothing fails over. */
static void test_batch_partial(void)
{
	static const struct {
		const char *elem;      /* the element answering id 2 */
		kerr_t err;
		const char *what;
	} cases[] = {
		{ "", KERR_RPC_MISSING, "" },
		{ ",{\"jsonrpc\":\"1.0\",\"id\":2,\"result\":\"0x2\"}", KERR_RPC_REPLY, "jsonrpc" },
		{ ",{\"id\":2,\"result\":\"0x2\"}", KERR_RPC_REPLY, "jsonrpc" },
		{ ",{\"jsonrpc\":\"2.0\",\"id\":2}", KERR_RPC_REPLY, "result" },
		{ ",{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"0x2\",\"error\":{\"code\":1,\"message\":\"m\"}}",
		  KERR_RPC_REPLY, "result" },
		{ ",{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":\"1\",\"message\":\"m\"}}",
		  KERR_RPC_REPLY, "error.code" },
		{ ",{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":1}}", KERR_RPC_REPLY, "error.message" },
		{ ",{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"0x2\",\"result\":\"0x3\"}", KERR_RPC_REPLY, "result" },
		/* a null-id error names no call: skipped, the call is missing */
		{ ",{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"invalid request\"}}",
		  KERR_RPC_MISSING, "" },
	};
	static char reply[8][512];

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		rpc_client_t *c = mk(2, NULL);
		batch_got_t g = { 0 };
		char *r = reply[k % 8];
		if (!c)
			return;
		batch_reqs();
		CHECK_OK(rpc_batch(c, breqs, 3, on_batch, &g, NULL));
		snprintf(r, 512, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"}%s,"
			 "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":\"0x3\"}]", cases[k].elem);
		ok200(0, r);
		deliver_all();
		CHECK_MSG(g.calls == 1 && g.err == KERR_OK, "case %zu: %s", k, kerr_name(g.err));
		CHECK_EQ_INT(g.attempts, 1);
		CHECK_EQ_INT(g.answered, 2);
		CHECK_ERR(g.it[0].err, KERR_OK);
		CHECK_MSG(g.it[1].err == cases[k].err, "case %zu: %s, want %s", k,
			  kerr_name(g.it[1].err), kerr_name(cases[k].err));
		CHECK_MSG(strcmp(g.it[1].what, cases[k].what) == 0, "case %zu: what \"%s\"", k,
			  g.it[1].what);
		CHECK_ERR(g.it[2].err, KERR_OK);
		CHECK_EQ_STR(g.it[2].result, "0x3");
		rpc_free(c);
	}
}

/* A reply no call can be matched to is malformed as a whole: the batch
 * fails over, as a single call with a wrong id does. */
static void test_batch_malformed_fails_over(void)
{
	static const struct {
		const char *body;
		kerr_t err;
	} cases[] = {
		{ "[{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":\"0x1\"}]", KERR_RPC_ID },
		{ "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"},{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"}]",
		  KERR_RPC_ID },
		{ "[{\"jsonrpc\":\"2.0\",\"result\":\"0x1\"}]", KERR_RPC_ID },
		{ "[{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":\"0x1\"}]", KERR_RPC_ID },
		{ "[{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":\"0x1\"}]", KERR_RPC_ID },
		{ "[\"0x1\"]", KERR_RPC_REPLY },
		{ "\"0x1\"", KERR_RPC_REPLY },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"}", KERR_RPC_REPLY },
		{ "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"}", KERR_TRUNCATED },
		{ "<html>502</html>", KERR_JSON },
	};

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		rpc_client_t *c = mk(2, NULL);
		batch_got_t g = { 0 };
		rpc_endpoint_stats_t st;
		if (!c)
			return;
		batch_reqs();
		CHECK_OK(rpc_batch(c, breqs, 2, on_batch, &g, NULL));
		ok200(0, cases[k].body);
		ok200(1, "[{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"0x2\"},"
		      "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"}]");
		CHECK_EQ_INT(deliver_all(), 2);
		CHECK_MSG(g.calls == 1 && g.err == KERR_OK, "case %zu: %s", k, kerr_name(g.err));
		CHECK_EQ_INT(g.attempts, 2);
		CHECK_EQ_INT(g.endpoint, 1);
		CHECK_EQ_INT(g.answered, 2);
		CHECK_EQ_STR(g.it[0].result, "0x1");
		CHECK_EQ_STR(g.it[1].result, "0x2");
		CHECK_OK(rpc_stats(c, 0, &st));
		CHECK_EQ_INT(st.fail[RPC_FAIL_MALFORMED], 1);
		rpc_free(c);

		/* with no endpoint left the batch reports it, on every call */
		c = mk(1, NULL);
		memset(&g, 0, sizeof g);
		CHECK_OK(rpc_batch(c, breqs, 2, on_batch, &g, NULL));
		ok200(0, cases[k].body);
		deliver_all();
		CHECK_MSG(g.err == cases[k].err, "case %zu: %s, want %s", k, kerr_name(g.err),
			  kerr_name(cases[k].err));
		CHECK_EQ_INT(g.answered, 0);
		CHECK_MSG(g.it[0].err == cases[k].err && g.it[1].err == cases[k].err,
			  "case %zu: items %s %s", k, kerr_name(g.it[0].err), kerr_name(g.it[1].err));
		rpc_free(c);
	}
}

/* The node refusing the batch whole answers one error object: every call
 * carries it; no failover (the node understood and said no). */
static void test_batch_refused_whole(void)
{
	rpc_client_t *c = mk(2, NULL);
	batch_got_t g = { 0 };

	if (!c)
		return;
	batch_reqs();
	CHECK_OK(rpc_batch(c, breqs, 3, on_batch, &g, NULL));
	ok200(0, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
	      "\"message\":\"batch too large\"}}");
	CHECK_EQ_INT(deliver_all(), 1);
	CHECK_ERR(g.err, KERR_RPC_ERROR);
	CHECK_EQ_INT(g.attempts, 1);
	CHECK_EQ_INT(g.answered, 3);
	for (size_t i = 0; i < 3; i++) {
		CHECK_ERR(g.it[i].err, KERR_RPC_ERROR);
		CHECK_EQ_INT(g.it[i].code, -32600);
		CHECK_EQ_STR(g.it[i].msg, "batch too large");
		CHECK_EQ_INT(g.it[i].id, 1 + i);
	}
	rpc_free(c);
}

/* One call throttled: the batch goes to the next endpoint whole; with none
 * left, the throttled call carries its error and the rest their results. */
static void test_batch_rate_limited(void)
{
	static const char limited[] =
		"[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"},"
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":429,\"message\":\"Too Many Requests\"}}]";
	rpc_client_t *c = mk(2, NULL);
	batch_got_t g = { 0 };
	rpc_endpoint_stats_t st;

	if (!c)
		return;
	batch_reqs();
	CHECK_OK(rpc_batch(c, breqs, 2, on_batch, &g, NULL));
	ok200(0, limited);
	ok200(1, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"},"
	      "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"0x2\"}]");
	CHECK_EQ_INT(deliver_all(), 2);
	CHECK_ERR(g.err, KERR_OK);
	CHECK_EQ_INT(g.endpoint, 1);
	CHECK_EQ_INT(g.answered, 2);
	CHECK_ERR(g.it[1].err, KERR_OK);
	CHECK_OK(rpc_stats(c, 0, &st));
	CHECK_EQ_INT(st.fail[RPC_FAIL_RATE_LIMITED], 1);
	CHECK(st.down);
	rpc_free(c);

	c = mk(1, NULL);
	memset(&g, 0, sizeof g);
	CHECK_OK(rpc_batch(c, breqs, 2, on_batch, &g, NULL));
	ok200(0, limited);
	deliver_all();
	CHECK_ERR(g.err, KERR_OK);
	CHECK_ERR(g.it[0].err, KERR_OK);
	CHECK_ERR(g.it[1].err, KERR_RPC_ERROR);
	CHECK_EQ_INT(g.it[1].kind, RPC_E_RATE_LIMITED);
	rpc_free(c);
}

/* Transport failures and HTTP errors are the batch's, and every call's. */
static void test_batch_transport(void)
{
	rpc_client_t *c = mk(1, NULL);
	batch_got_t g = { 0 };

	if (!c)
		return;
	batch_reqs();
	CHECK_OK(rpc_batch(c, breqs, 3, on_batch, &g, NULL));
	script(0, RPC_NET_TIMEOUT, 0, NULL);
	deliver_all();
	CHECK_ERR(g.err, KERR_RPC_TIMEOUT);
	CHECK(!g.doc);
	CHECK_EQ_INT(g.answered, 0);
	for (size_t i = 0; i < 3; i++)
		CHECK_ERR(g.it[i].err, KERR_RPC_TIMEOUT);

	/* an array behind a 4xx is not a success */
	memset(&g, 0, sizeof g);
	CHECK_OK(rpc_batch(c, breqs, 1, on_batch, &g, NULL));
	script(0, RPC_NET_OK, 400, "[{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":\"0x1\"}]");
	deliver_all();
	CHECK_ERR(g.err, KERR_RPC_HTTP);
	CHECK_ERR(g.it[0].err, KERR_RPC_HTTP);
	rpc_free(c);
}

static void test_batch_args(void)
{
	rpc_client_t *c = mk(1, &(rpc_opts_t){ .max_request = 256, .slots = 1 });
	batch_got_t g = { 0 };

	if (!c)
		return;
	batch_reqs();
	CHECK_ERR(rpc_batch(c, breqs, 0, on_batch, &g, NULL), KERR_ARG);
	CHECK_ERR(rpc_batch(c, breqs, RPC_BATCH_MAX + 1, on_batch, &g, NULL), KERR_ARG);
	CHECK_ERR(rpc_batch(c, breqs, 1, NULL, &g, NULL), KERR_ARG);
	/* three calls do not fit 256 bytes; the slot is free again */
	CHECK_ERR(rpc_batch(c, breqs, 3, on_batch, &g, NULL), KERR_BUF);
	CHECK_EQ_INT(rpc_inflight(c), 0);
	CHECK_OK(rpc_batch(c, breqs, 1, on_batch, &g, NULL));
	CHECK_ERR(rpc_batch(c, breqs, 1, on_batch, &g, NULL), KERR_RPC_BUSY);
	ok200(0, "[{\"jsonrpc\":\"2.0\",\"id\":@ID,\"result\":\"0x1\"}]");
	deliver_all();
	CHECK_ERR(g.err, KERR_OK);
	CHECK_EQ_INT(g.calls, 1);
	CHECK_EQ_INT(g.answered, 1);
	CHECK_EQ_INT(F.nq, 1);
	rpc_free(c);
}

int main(void)
{
	RUN(test_build);
	RUN(test_helpers_send_built_bodies);
	RUN(test_success);
	RUN(test_id_mismatch);
	RUN(test_http200_error_body);
	RUN(test_anvil_fixtures);
	RUN(test_revert_data);
	RUN(test_client_texts);
	RUN(test_failover);
	RUN(test_failover_rate_limited);
	RUN(test_http_4xx_no_failover);
	RUN(test_http_endpoint_failover);
	RUN(test_all_down_then_backoff_expiry);
	RUN(test_all_down_still_tried);
	RUN(test_failover_prefers_earliest_recovery);
	RUN(test_backoff_doubles_to_cap);
	RUN(test_malformed);
	RUN(test_huge_message);
	RUN(test_too_large);
	RUN(test_pool_exhaustion);
	RUN(test_transport_refuses);
	RUN(test_callback_reentry);
	RUN(test_new_args);
	RUN(test_broadcast);
	RUN(test_broadcast_endpoints_and_refusals);
	RUN(test_batch_build);
	RUN(test_batch_any_order);
	RUN(test_batch_partial);
	RUN(test_batch_malformed_fails_over);
	RUN(test_batch_refused_whole);
	RUN(test_batch_rate_limited);
	RUN(test_batch_transport);
	RUN(test_batch_args);
	fake_reset();
	return t_done();
}
