/*
 * test_node: keeper/node against a scripted node served in-process (an lws
 * server vhost on the test's own loop, speaking JSON-RPC over websocket)
 * and, for catch-ups, a scripted rpc transport under the real rpc client.
 * tests/test_node_anvil.c does the same against a real anvil; this file
 * covers what anvil cannot be made to do: refuse full pending objects,
 * send junk, removed logs, a provider's result cap on eth_getLogs.
 *
 *  - the subscription requests, byte for byte as JSON (filters per watch
 *    entry, topics, the full-object flag), and events routed by the ids the
 *    node gave;
 *  - duplicate logs from two subscriptions, removed and restored logs;
 *  - junk, a bad field, a result of the wrong shape, an unknown
 *    subscription and an oversized frame: counted by field, the
 *    connection goes on; every frame reaches the frame tap;
 *  - a refused full-object subscription: plain hashes, each fetched with
 *    eth_getTransactionByHash (a transaction, null, mined, an error, no
 *    answer), and the bound on fetches in flight;
 *  - catch-up after a reconnect: halved ranges on a result cap, a block
 *    skipped, an unreadable log counted, a live log not passed on twice,
 *    and a catch-up cut by a second disconnect whose late reply is
 *    ignored;
 *  - the pending pool read at each connection: the pending block, or
 *    txpool_content when the node takes "pending" for its head, does not
 *    know the method or answers null; the pending_max bound; a read that
 *    fails.
 * Every loop run is bounded by a watchdog.
 */
#include <ctype.h>
#include <unistd.h>

#include "keeper/config.h"
#include "keeper/loop.h"
#include "keeper/node.h"
#include "keeper/rpc.h"
#include "keeper/rpc_http.h"
#include "signer/hex.h"
#include "tests/config_util.h"
#include "tests/loop_util.h"
#include "tests/test.h"

/* ---- fixtures: anvil's frames (tests/fixtures/frames) */

static json_t *fx[32];   /* lines of anvil-stream.jsonl, 1-based */

static void fx_load(void)
{
	size_t len;
	char *text = t_read_file("tests/fixtures/frames/anvil-stream.jsonl", &len);
	char *line = text, *nl;
	int n = 1;

	for (; text && line && *line && n < 32; line = nl ? nl + 1 : NULL, n++) {
		nl = strchr(line, '\n');
		fx[n] = json_loadb(line, nl ? (size_t)(nl - line) : strlen(line), 0, NULL);
	}
	free(text);
}

/* A copy of line n's params.result (the caller decrefs). */
static json_t *fx_result(int n)
{
	return json_deep_copy(json_object_get(json_object_get(fx[n], "params"), "result"));
}

/* ---- the scripted node */

#define OUTQ 512
#define MAXSUB 32
#define MAXREQ 512

static struct {
	struct lws *wsi;
	int conns, closed;
	bool close_now;
	char *q[OUTQ];
	size_t qlen[OUTQ];
	int qh, qn;
	char rx[65536];
	size_t rxlen;
	json_t *req[MAXREQ];         /* every request, every connection */
	int nreq;
	char subid[MAXSUB][32];      /* this connection's subscriptions */
	json_t *subparams[MAXSUB];
	int nsub, seq;
	bool refuse_full;            /* refuse newPendingTransactions, true */
	bool answer_fetches;
	json_t *tx_answers;          /* hash -> result text for fetches */
} FS;

static void fs_send(const char *text)
{
	size_t len = strlen(text);
	char *b;
	int slot;

	if (FS.qn == OUTQ || !FS.wsi) {
		printf("    fake node: cannot queue (%s)\n", FS.wsi ? "full" : "no connection");
		return;
	}
	b = malloc(LWS_PRE + len);
	memcpy(b + LWS_PRE, text, len);
	slot = (FS.qh + FS.qn++) % OUTQ;
	FS.q[slot] = b;
	FS.qlen[slot] = len;
	lws_callback_on_writable(FS.wsi);
}

static void fs_sendj(json_t *j)
{
	char *t = json_dumps(j, JSON_COMPACT);
	fs_send(t);
	free(t);
	json_decref(j);
}

static void fs_notify(const char *subid, json_t *result)
{
	fs_sendj(json_pack("{s:s,s:s,s:{s:s,s:o}}", "jsonrpc", "2.0", "method",
			   "eth_subscription", "params", "subscription", subid,
			   "result", result));
}

static void fs_drop_queue(void)
{
	while (FS.qn) {
		free(FS.q[FS.qh]);
		FS.qh = (FS.qh + 1) % OUTQ;
		FS.qn--;
	}
}

static void fs_new_connection(void)
{
	for (int i = 0; i < FS.nsub; i++)
		json_decref(FS.subparams[i]);
	FS.nsub = 0;
	FS.rxlen = 0;
}

static void fs_request(const char *msg, size_t len)
{
	json_t *j = json_loadb(msg, len, 0, NULL), *id, *params;
	const char *method;

	if (!j) {
		printf("    fake node: unreadable request %.*s\n", (int)len, msg);
		return;
	}
	if (FS.nreq < MAXREQ)
		FS.req[FS.nreq++] = json_incref(j);
	id = json_object_get(j, "id");
	method = json_string_value(json_object_get(j, "method"));
	params = json_object_get(j, "params");
	if (method && strcmp(method, "eth_subscribe") == 0) {
		const char *what = json_string_value(json_array_get(params, 0));
		if (FS.refuse_full && what && strcmp(what, "newPendingTransactions") == 0 &&
		    json_is_true(json_array_get(params, 1))) {
			fs_sendj(json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id", id,
					   "error", "code", -32602,
					   "message", "full transactions not supported"));
		} else if (FS.nsub < MAXSUB) {
			snprintf(FS.subid[FS.nsub], sizeof FS.subid[0], "0xfeed%04x", FS.seq++);
			FS.subparams[FS.nsub] = json_incref(params);
			fs_sendj(json_pack("{s:s,s:O,s:s}", "jsonrpc", "2.0", "id", id,
					   "result", FS.subid[FS.nsub]));
			FS.nsub++;
		}
	} else if (method && strcmp(method, "eth_getTransactionByHash") == 0 &&
		   FS.answer_fetches && FS.tx_answers) {
		const char *h = json_string_value(json_array_get(params, 0));
		json_t *a = h ? json_object_get(FS.tx_answers, h) : NULL;
		if (json_is_string(a) && strcmp(json_string_value(a), "error") == 0)
			fs_sendj(json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id", id,
					   "error", "code", -32000, "message", "boom"));
		else if (a)
			fs_sendj(json_pack("{s:s,s:O,s:O}", "jsonrpc", "2.0", "id", id,
					   "result", a));
	}
	json_decref(j);
}

static int fs_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		 void *in, size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		FS.wsi = wsi;
		FS.conns++;
		fs_new_connection();
		return 0;
	case LWS_CALLBACK_RECEIVE:
		if (FS.rxlen + len > sizeof FS.rx)
			return -1;
		memcpy(FS.rx + FS.rxlen, in, len);
		FS.rxlen += len;
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			fs_request(FS.rx, FS.rxlen);
			FS.rxlen = 0;
		}
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (FS.close_now) {
			FS.close_now = false;
			return -1;
		}
		if (FS.qn) {
			char *b = FS.q[FS.qh];
			size_t n = FS.qlen[FS.qh];
			int w = lws_write(wsi, (unsigned char *)b + LWS_PRE, n, LWS_WRITE_TEXT);
			free(b);
			FS.qh = (FS.qh + 1) % OUTQ;
			FS.qn--;
			if (w < (int)n)
				return -1;
		}
		if (FS.qn)
			lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_CLOSED:
		if (wsi == FS.wsi)
			FS.wsi = NULL;
		FS.closed++;
		fs_drop_queue();
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols fs_protocols[] = {
	{ "fake-node", fs_cb, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* Close the connection from the node's side. */
static void fs_close(void)
{
	if (!FS.wsi)
		return;
	FS.close_now = true;
	lws_callback_on_writable(FS.wsi);
}

/* The id given to this connection's subscription whose params[0] is
 * `what`, k-th of that name. */
static const char *fs_sub(const char *what, int k)
{
	for (int i = 0; i < FS.nsub; i++) {
		const char *w = json_string_value(json_array_get(FS.subparams[i], 0));
		if (w && strcmp(w, what) == 0 && k-- == 0)
			return FS.subid[i];
	}
	return "0xnone";
}

static void fs_reset(void)
{
	fs_drop_queue();
	fs_new_connection();
	for (int i = 0; i < FS.nreq; i++)
		json_decref(FS.req[i]);
	json_decref(FS.tx_answers);
	memset(&FS, 0, sizeof FS);
}

/* ---- the sink and the frame tap */

#define MAXEV 256
static struct rec {
	event_t ev;
	char hex[8192];   /* the input or data view's text */
} R[MAXEV];
static int nR, nframes;
static size_t frame_bytes;

static void sink(void *ctx, const event_t *ev)
{
	struct rec *r;
	const event_hex_t *v = NULL;

	(void)ctx;
	if (nR == MAXEV)
		return;
	r = &R[nR++];
	r->ev = *ev;
	if (ev->kind == EV_PENDING_TX && ev->tx.full)
		v = &ev->tx.input;
	else if (ev->kind == EV_LOG)
		v = &ev->log.data;
	if (v) {
		size_t n = v->len < sizeof r->hex - 1 ? v->len : sizeof r->hex - 1;
		memcpy(r->hex, v->p, n);
		r->hex[n] = 0;
		if (ev->kind == EV_PENDING_TX)
			r->ev.tx.input = (event_hex_t){ r->hex, n };
		else
			r->ev.log.data = (event_hex_t){ r->hex, n };
	}
}

static void tap(void *ctx, const char *src, const char *frame, size_t len,
		int64_t wall_ms)
{
	(void)ctx;
	(void)frame;
	CHECK_EQ_STR(src, "node");
	CHECK(wall_ms > 1600000000000);
	nframes++;
	frame_bytes += len;
}

/* ---- set-up */

static node_t *N;
static config_keeper_t *CFG;
static int port;

#define VAULT "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
#define TOKA "0x5FbDB2315678afecb367f032d93F642f64180aa3"
#define TOKB "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
#define TRANSFER "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

/* A node on the scripted server: watch "vault" (tokens A and B) and
 * "tok" (token A itself, no tokens). */
static bool setup(rpc_client_t *rpc, const node_opts_t *opts)
{
	char text[2048];

	nR = nframes = 0;
	frame_bytes = 0;
	snprintf(text, sizeof text,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d\"; rpc = [ \"http://127.0.0.1:9\" ]; };\n"
		 "watch = ( { name = \"vault\"; address = \"" VAULT "\";\n"
		 "            tokens = [ \"" TOKA "\", \"" TOKB "\" ]; },\n"
		 "          { name = \"tok\"; address = \"" TOKA "\"; } );\n", port);
	CFG = load_cfg(text);
	CHECK(CFG != NULL);
	if (!CFG)
		return false;
	CHECK_OK(node_new(L, CFG, rpc, sink, tap, NULL, &N));
	if (!N)
		return false;
	if (opts)
		CHECK_OK(node_set_options(N, opts));
	CHECK_OK(node_start(N));
	CHECK_ERR(node_start(N), KERR_ARG);
	CHECK_ERR(node_set_options(N, opts ? opts : &(node_opts_t){ 0 }), KERR_ARG);
	return true;
}

static void teardown(void)
{
	node_free(N);
	N = NULL;
	config_free(CFG);
	CFG = NULL;
	/* Let the server see the close before the next test. */
	run_until(never, 30);
	fs_reset();
}

static node_stats_t ST;

static void stats(void)
{
	node_stats(N, &ST);
}

static bool ready1(void)
{
	stats();
	return ST.ready >= 1;
}

static uint64_t want_ev;
static bool have_events(void)
{
	return (uint64_t)nR >= want_ev;
}

/* Wait for n events in all. */
static bool events(int n, int ms)
{
	want_ev = (uint64_t)n;
	return run_until(have_events, ms);
}

/* ---- subscriptions and routing */

static json_t *pad(const char *addr)
{
	char t[67] = "0x000000000000000000000000";
	for (size_t i = 0; i < 40; i++)
		t[26 + i] = (char)tolower((unsigned char)addr[2 + i]);
	t[66] = 0;
	return json_string(t);
}

static json_t *lower(const char *s)
{
	char t[128];
	size_t i;
	for (i = 0; s[i] && i < sizeof t - 1; i++)
		t[i] = (char)tolower((unsigned char)s[i]);
	t[i] = 0;
	return json_string(t);
}

static void want_params(int i, json_t *want)
{
	char *a = FS.subparams[i] ? json_dumps(FS.subparams[i], JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *b = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_MSG(a && strcmp(a, b) == 0, "subscription %d: %s, want %s", i, a ? a : "(none)", b);
	free(a);
	free(b);
	json_decref(want);
}

static void test_subscriptions(void)
{
	const node_opts_t o = { .backoff_min_ms = 50, .backoff_max_ms = 100 };

	if (!setup(NULL, &o))
		return;
	CHECK(run_until(ready1, 3000));
	CHECK_EQ_INT(FS.nsub, 6);
	want_params(0, json_pack("[s]", "newHeads"));
	want_params(1, json_pack("[s,b]", "newPendingTransactions", 1));
	want_params(2, json_pack("[s,{s:[o,o],s:[s,o]}]", "logs", "address", lower(TOKA),
				 lower(TOKB), "topics", TRANSFER, pad(VAULT)));
	want_params(3, json_pack("[s,{s:[o,o],s:[s,n,o]}]", "logs", "address", lower(TOKA),
				 lower(TOKB), "topics", TRANSFER, pad(VAULT)));
	want_params(4, json_pack("[s,{s:o}]", "logs", "address", lower(VAULT)));
	want_params(5, json_pack("[s,{s:o}]", "logs", "address", lower(TOKA)));
	/* The JSON-RPC envelope; ids are fixed per subscription (3 is the
	 * plain-hash one, sent only when full objects are refused). */
	CHECK_EQ_INT(FS.nreq, 6);
	for (int i = 0; i < FS.nreq && i < 6; i++) {
		static const int ids[6] = { 1, 2, 4, 5, 6, 7 };
		CHECK_EQ_STR(json_string_value(json_object_get(FS.req[i], "jsonrpc")), "2.0");
		CHECK_EQ_STR(json_string_value(json_object_get(FS.req[i], "method")), "eth_subscribe");
		CHECK_EQ_INT(json_integer_value(json_object_get(FS.req[i], "id")), ids[i]);
	}
	stats();
	CHECK_EQ_INT(ST.subscribed, 6);
	CHECK_EQ_INT(ST.sub_errors, 0);
	CHECK_EQ_INT(ST.opens, 1);

	/* A head, a full transaction and a log, each on its subscription;
	 * the same log again from the second watch's subscription. */
	fs_notify(fs_sub("newHeads", 0), fx_result(7));
	fs_notify(fs_sub("newPendingTransactions", 0), fx_result(5));
	fs_notify(fs_sub("logs", 0), fx_result(14));
	fs_notify(fs_sub("logs", 3), fx_result(14));
	CHECK(events(3, 2000));
	run_until(never, 50);
	stats();
	CHECK_EQ_INT(nR, 3);
	CHECK_EQ_INT(ST.heads, 1);
	CHECK_EQ_INT(ST.txs, 1);
	CHECK_EQ_INT(ST.logs, 1);
	CHECK_EQ_INT(ST.logs_dup, 1);
	if (nR == 3) {
		json_t *h = fx_result(7), *t = fx_result(5), *l = fx_result(14);
		uint8_t b[32];
		CHECK_EQ_INT(R[0].ev.kind, EV_HEAD);
		CHECK_EQ_INT(R[0].ev.head.number,
			     strtoull(json_string_value(json_object_get(h, "number")), NULL, 16));
		CHECK_OK(hex_decode_exact(b, 32, json_string_value(json_object_get(h, "hash")), 66));
		CHECK_EQ_MEM(R[0].ev.head.hash, b, 32);
		CHECK(ST.head_known);
		CHECK_EQ_INT(ST.head, R[0].ev.head.number);
		CHECK_EQ_INT(R[1].ev.kind, EV_PENDING_TX);
		CHECK(R[1].ev.tx.full);
		CHECK_OK(hex_decode_exact(b, 32, json_string_value(json_object_get(t, "hash")), 66));
		CHECK_EQ_MEM(R[1].ev.tx.hash, b, 32);
		CHECK_EQ_INT(R[2].ev.kind, EV_LOG);
		CHECK_EQ_INT(R[2].ev.log.log_index,
			     strtoull(json_string_value(json_object_get(l, "logIndex")), NULL, 16));
		CHECK(!R[2].ev.log.removed);
		CHECK_EQ_STR(R[2].hex, json_string_value(json_object_get(l, "data")));
		json_decref(h);
		json_decref(t);
		json_decref(l);
	}

	/* A reorg takes the log back (twice over: both subscriptions),
	 * then brings it back. */
	{
		json_t *l = fx_result(14);
		json_object_set_new(l, "removed", json_true());
		fs_notify(fs_sub("logs", 0), json_incref(l));
		fs_notify(fs_sub("logs", 3), json_incref(l));
		json_object_set_new(l, "removed", json_false());
		fs_notify(fs_sub("logs", 0), l);
		CHECK(events(5, 2000));
		run_until(never, 50);
		stats();
		CHECK_EQ_INT(nR, 5);
		CHECK(nR >= 5 && R[3].ev.log.removed && !R[4].ev.log.removed);
		CHECK_EQ_INT(ST.logs, 3);
		CHECK_EQ_INT(ST.logs_removed, 1);
		CHECK_EQ_INT(ST.logs_dup, 2);
	}
	CHECK_EQ_INT(nframes, (int)ST.frames);
	CHECK_EQ_INT(ST.frames, 6 + 4 + 3);
	CHECK_EQ_INT(ST.replies, 6);
	teardown();
}

/* ---- hostile frames */

static void test_bad_frames(void)
{
	const node_opts_t o = { .backoff_min_ms = 50, .backoff_max_ms = 100,
				.max_frame = 65536 };
	char *big;
	json_t *h;

	if (!setup(NULL, &o))
		return;
	CHECK(run_until(ready1, 3000));
	fs_send("{");
	fs_send("[1,2,3]");
	h = fx_result(7);
	json_object_set_new(h, "number", json_string("0xzz"));
	fs_notify(fs_sub("newHeads", 0), h);
	fs_notify(fs_sub("logs", 0), fx_result(7));          /* a head on a logs subscription */
	fs_notify("0xdeadbeef", fx_result(7));                 /* no such subscription */
	fs_send("{\"jsonrpc\":\"2.0\",\"id\":77,\"result\":\"0x1\"}");  /* no such request */
	big = malloc(70001);
	memset(big, ' ', 70000);
	big[0] = '[';
	big[69998] = ']';
	big[70000] = 0;
	fs_send(big);
	free(big);
	/* And the connection goes on: a good head. */
	fs_notify(fs_sub("newHeads", 0), fx_result(10));
	CHECK(events(1, 2000));
	stats();
	CHECK_EQ_INT(nR, 1);
	CHECK_EQ_INT(ST.heads, 1);
	CHECK_EQ_INT(ST.opens, 1);
	CHECK_EQ_INT(ST.malformed, 4);
	CHECK_EQ_INT(ST.unknown_sub, 1);
	CHECK_EQ_INT(ST.unknown_reply, 1);
	CHECK_EQ_INT(ST.ws.oversized, 1);
	CHECK_EQ_INT(ST.ws.malformed, 4);
	CHECK_EQ_STR(ST.malformed_by[0].what, "frame");
	CHECK_EQ_INT(ST.malformed_by[0].n, 2);
	CHECK_EQ_STR(ST.malformed_by[1].what, "params.result.number");
	CHECK_EQ_INT(ST.malformed_by[1].n, 1);
	CHECK_EQ_STR(ST.malformed_by[2].what, "params.result");
	CHECK_EQ_INT(ST.malformed_by[2].n, 1);
	CHECK(ST.malformed_by[3].what == NULL);
	/* The tap saw every frame but the oversized one, which ws dropped. */
	CHECK_EQ_INT(nframes, (int)ST.frames);
	CHECK_EQ_INT(ST.frames, 6 + 7);
	teardown();
}

/* ---- pending hashes */

static char h_ok[67], h_gone[67], h_mined[67], h_err[67], h_silent[67];

static bool fetches_settled(void)
{
	stats();
	return ST.fetched + ST.fetch_gone + ST.fetch_mined + ST.fetch_errors >= 4;
}

static bool a_timeout(void)
{
	stats();
	return ST.fetch_timeouts >= 1;
}

static void test_hash_fallback(void)
{
	const node_opts_t o = { .backoff_min_ms = 50, .backoff_max_ms = 100,
				.fetch_timeout_ms = 300, .max_fetches = 4 };
	json_t *tx = fx_result(5), *mined;
	const char *hs[5] = { h_ok, h_gone, h_mined, h_err, h_silent };
	int64_t t0;

	FS.refuse_full = true;
	FS.answer_fetches = true;
	snprintf(h_ok, sizeof h_ok, "%s", json_string_value(json_object_get(tx, "hash")));
	snprintf(h_gone, sizeof h_gone, "0x%064x", 1);
	snprintf(h_mined, sizeof h_mined, "0x%064x", 2);
	snprintf(h_err, sizeof h_err, "0x%064x", 3);
	snprintf(h_silent, sizeof h_silent, "0x%064x", 4);
	mined = json_deep_copy(tx);
	json_object_set_new(mined, "hash", json_string(h_mined));
	json_object_set_new(mined, "blockNumber", json_string("0x5"));
	FS.tx_answers = json_pack("{s:O,s:n,s:o,s:s}", h_ok, tx, h_gone, h_mined, mined,
				  h_err, "error");
	if (!setup(NULL, &o)) {
		json_decref(tx);
		return;
	}
	CHECK(run_until(ready1, 3000));
	stats();
	/* Refused full objects, then plain hashes. */
	CHECK_EQ_INT(ST.sub_errors, 1);
	CHECK_EQ_INT(ST.subscribed, 6);
	CHECK_EQ_INT(FS.nreq, 7);
	CHECK(FS.nreq == 7 && json_array_size(json_object_get(FS.req[6], "params")) == 1 &&
	      strcmp(json_string_value(json_array_get(json_object_get(FS.req[6], "params"), 0)),
		     "newPendingTransactions") == 0);

	t0 = loop_now_ms(L);
	for (int i = 0; i < 5; i++)
		fs_notify(fs_sub("newPendingTransactions", 0), json_string(hs[i]));
	CHECK(run_until(fetches_settled, 3000));
	stats();
	CHECK_EQ_INT(ST.hashes, 5);
	CHECK_EQ_INT(ST.fetches, 4);       /* the bound: 4 in flight */
	CHECK_EQ_INT(ST.fetch_dropped, 1); /* the fifth, passed on as a hash */
	CHECK_EQ_INT(ST.fetched, 1);
	CHECK_EQ_INT(ST.fetch_gone, 1);
	CHECK_EQ_INT(ST.fetch_mined, 1);
	CHECK_EQ_INT(ST.fetch_errors, 1);
	CHECK_EQ_INT(nR, 2);
	if (nR == 2) {
		uint8_t b[32];
		/* The dropped one (the fifth, no slot) went out first, as a hash. */
		CHECK(!R[0].ev.tx.full);
		CHECK_OK(hex_decode_exact(b, 32, h_silent, 66));
		CHECK_EQ_MEM(R[0].ev.tx.hash, b, 32);
		CHECK(R[1].ev.tx.full);
		CHECK_OK(hex_decode_exact(b, 32, h_ok, 66));
		CHECK_EQ_MEM(R[1].ev.tx.hash, b, 32);
		CHECK_EQ_INT(R[1].ev.tx.nonce, 1);
		CHECK_EQ_INT(R[1].ev.tx.type, 0);
		CHECK_EQ_STR(R[1].hex, "0x");
	}
	/* The unanswered fetch: the silent hash again, with a free slot now,
	 * times out after fetch_timeout_ms. */
	fs_notify(fs_sub("newPendingTransactions", 0), json_string(h_silent));
	CHECK(run_until(a_timeout, 3000));
	stats();
	CHECK_EQ_INT(ST.fetch_timeouts, 1);
	CHECK_MSG(loop_now_ms(L) - t0 >= 300, "timed out after %lld ms",
		  (long long)(loop_now_ms(L) - t0));
	json_decref(tx);
	teardown();
}

/* ---- catch-up, with a scripted rpc transport */

#define FQ 64
static struct fr_call {
	bool used, held;
	rpc_net_done_fn done;
	void *arg;
	json_t *req;
} FRQ[FQ];

typedef struct {
	uint64_t block, index;
	const char *from, *to;
	int amount;
} fake_log_t;

static struct {
	uint64_t head;
	bool hold_head, hold_logs;
	uint64_t max_range, bad_block;
	uint64_t junk_block;      /* an unreadable log in transfers-from results */
	fake_log_t logs[16];
	int nlogs;
	int head_calls, logs_calls;
	json_t *calls;            /* every eth_getLogs params[0] */
} FR;
static loop_timer_t fr_t;

/* A topic position of a filter: null (any), a hash, or alternatives. */
static bool constrained(json_t *t)
{
	return json_is_string(t) || json_is_array(t);
}

static bool same_topic(json_t *t, const char *addr)
{
	json_t *p = pad(addr);
	bool eq = false;

	if (json_is_array(t) && json_array_size(t) == 1)
		t = json_array_get(t, 0);
	eq = json_is_string(t) && strcmp(json_string_value(t), json_string_value(p)) == 0;
	json_decref(p);
	return eq;
}

/* eth_getLogs over the scripted chain: Transfers of TOKA. */
static json_t *fr_logs(json_t *f, bool *err)
{
	uint64_t a = strtoull(json_string_value(json_object_get(f, "fromBlock")), NULL, 16);
	uint64_t b = strtoull(json_string_value(json_object_get(f, "toBlock")), NULL, 16);
	json_t *topics = json_object_get(f, "topics"), *addr = json_object_get(f, "address");
	json_t *out = json_array(), *t1 = json_array_get(topics, 1), *t2 = json_array_get(topics, 2);
	bool token_filter = json_array_size(topics) > 0;

	*err = b - a + 1 > FR.max_range ||
	       (FR.bad_block >= a && FR.bad_block <= b && constrained(t1));
	if (*err)
		return out;
	if (!token_filter)
		return out;   /* the watched addresses emit nothing themselves */
	if (!json_is_array(addr) || json_array_size(addr) != 2)
		return out;
	for (int i = 0; i < FR.nlogs; i++) {
		const fake_log_t *l = &FR.logs[i];
		char data[67], tx[67];
		if (l->block < a || l->block > b)
			continue;
		if (constrained(t1) && !same_topic(t1, l->from))
			continue;
		if (constrained(t2) && !same_topic(t2, l->to))
			continue;
		snprintf(data, sizeof data, "0x%064x", l->amount);
		snprintf(tx, sizeof tx, "0x%062llx%02llx", (unsigned long long)l->block,
			 (unsigned long long)l->index);
		json_array_append_new(out, json_pack(
			"{s:o,s:[s,o,o],s:s,s:s,s:s,s:s,s:b}", "address", lower(TOKA),
			"topics", TRANSFER, pad(l->from), pad(l->to), "data", data,
			"blockNumber", "", "logIndex", "", "transactionHash", tx,
			"removed", 0));
		{
			json_t *o = json_array_get(out, json_array_size(out) - 1);
			char q[24];
			snprintf(q, sizeof q, "0x%llx", (unsigned long long)l->block);
			json_object_set_new(o, "blockNumber", json_string(q));
			snprintf(q, sizeof q, "0x%llx", (unsigned long long)l->index);
			json_object_set_new(o, "logIndex", json_string(q));
		}
	}
	if (FR.junk_block >= a && FR.junk_block <= b && constrained(t1))
		json_array_append_new(out, json_pack("{s:o,s:[s],s:s,s:s,s:s,s:s}",
			"address", lower(TOKA), "topics", TRANSFER, "data", "0x123",
			"blockNumber", "0x66", "logIndex", "0x9", "transactionHash",
			"0x00000000000000000000000000000000000000000000000000000000000066ff"));
	return out;
}

static void fr_timer(loop_t *loop, void *arg)
{
	(void)loop;
	(void)arg;
	for (int guard = 0; guard < FQ; guard++) {
		struct fr_call *c = NULL;
		json_t *reply;
		char *body;
		const char *m;
		rpc_net_result_t res;

		for (int i = 0; i < FQ && !c; i++)
			if (FRQ[i].used && !FRQ[i].held)
				c = &FRQ[i];
		if (!c)
			return;
		m = json_string_value(json_object_get(c->req, "method"));
		reply = json_pack("{s:s,s:O}", "jsonrpc", "2.0", "id", json_object_get(c->req, "id"));
		if (strcmp(m, "eth_blockNumber") == 0) {
			char q[24];
			snprintf(q, sizeof q, "0x%llx", (unsigned long long)FR.head);
			json_object_set_new(reply, "result", json_string(q));
		} else {
			bool err;
			json_t *f = json_array_get(json_object_get(c->req, "params"), 0);
			json_t *logs = fr_logs(f, &err);
			if (err) {
				json_object_set_new(reply, "error", json_pack("{s:i,s:s}", "code", -32005,
					"message", "query returned more than 10000 results"));
				json_decref(logs);
			} else {
				json_object_set_new(reply, "result", logs);
			}
		}
		body = json_dumps(reply, JSON_COMPACT);
		json_decref(reply);
		json_decref(c->req);
		c->used = false;
		res = (rpc_net_result_t){ RPC_NET_OK, 200, body, strlen(body) };
		c->done(c->arg, &res);
		free(body);
	}
}

static kerr_t fr_send(void *ctx, size_t url, const char *body, size_t len,
		      uint32_t timeout_ms, rpc_net_done_fn done, void *arg)
{
	struct fr_call *c = NULL;
	const char *m;

	(void)ctx;
	(void)url;
	(void)timeout_ms;
	for (int i = 0; i < FQ && !c; i++)
		if (!FRQ[i].used)
			c = &FRQ[i];
	if (!c)
		return KERR_RPC_BUSY;
	c->req = json_loadb(body, len, 0, NULL);
	if (!c->req)
		return KERR_ARG;
	m = json_string_value(json_object_get(c->req, "method"));
	c->used = true;
	c->done = done;
	c->arg = arg;
	if (strcmp(m, "eth_blockNumber") == 0) {
		FR.head_calls++;
		c->held = FR.hold_head;
	} else {
		FR.logs_calls++;
		json_array_append(FR.calls, json_array_get(json_object_get(c->req, "params"), 0));
		c->held = FR.hold_logs;
	}
	loop_timer_arm_ms(&fr_t, 1);
	return KERR_OK;
}

static void fr_release(void)
{
	FR.hold_head = FR.hold_logs = false;
	for (int i = 0; i < FQ; i++)
		FRQ[i].held = false;
	loop_timer_arm_ms(&fr_t, 1);
}

static bool ready2(void)
{
	stats();
	return ST.ready >= 2;
}

static bool ready3(void)
{
	stats();
	return ST.ready >= 3;
}

static bool done1(void)
{
	stats();
	return ST.catchups_done >= 1;
}

static bool done2(void)
{
	stats();
	return ST.catchups_done >= 2;
}

static bool logs_held(void)
{
	int n = 0;
	for (int i = 0; i < FQ; i++)
		n += FRQ[i].used && FRQ[i].held;
	return n >= 1;
}

static bool baseline(void)
{
	stats();
	return ST.head_known;
}

static void log_event(int i, uint64_t block, const char *from, const char *to, int amount)
{
	json_t *pf = pad(from), *pt = pad(to);
	uint8_t b[32];
	const event_log_t *l = &R[i].ev.log;

	CHECK_EQ_INT(R[i].ev.kind, EV_LOG);
	CHECK_EQ_INT(l->block_number, block);
	CHECK_EQ_INT(l->ntopics, 3);
	CHECK_OK(hex_decode_exact(b, 32, json_string_value(pf), 66));
	CHECK_EQ_MEM(l->topics[1], b, 32);
	CHECK_OK(hex_decode_exact(b, 32, json_string_value(pt), 66));
	CHECK_EQ_MEM(l->topics[2], b, 32);
	CHECK_EQ_INT(strlen(R[i].hex), 66);
	CHECK_EQ_INT(strtol(R[i].hex + 50, NULL, 16), amount);
	json_decref(pf);
	json_decref(pt);
}

static void test_catchup(void)
{
	const rpc_transport_t t = { NULL, fr_send };
	const node_opts_t o = { .backoff_min_ms = 50, .backoff_max_ms = 100,
				.catchup_blocks = 40 };
	const char *other = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
	rpc_client_t *rpc = NULL;
	json_t *head;

	memset(&FR, 0, sizeof FR);
	memset(FRQ, 0, sizeof FRQ);
	FR.calls = json_array();
	FR.max_range = 20;
	FR.head = 100;
	loop_timer_init(&fr_t, L, fr_timer, NULL);
	CHECK_OK(rpc_new(&rpc, 1, &t, rpc_http_clock, L, NULL));
	if (!rpc || !setup(rpc, &o))
		goto out;
	/* First connection: no head yet, so the rpc's head is the baseline. */
	CHECK(run_until(baseline, 3000));
	stats();
	CHECK_EQ_INT(ST.head, 100);
	CHECK_EQ_INT(FR.head_calls, 1);
	CHECK_EQ_INT(ST.catchups, 0);
	head = fx_result(7);
	json_object_set_new(head, "number", json_string("0x64"));
	fs_notify(fs_sub("newHeads", 0), head);
	CHECK(events(1, 2000));

	/* Away while blocks 101..150 are mined: transfers from the vault at
	 * 101, 130 (a block the provider cannot serve) and 149, to it at 120. */
	FR.head = 150;
	FR.bad_block = 130;
	FR.junk_block = 102;
	FR.logs[FR.nlogs++] = (fake_log_t){ 101, 0, VAULT, other, 11 };
	FR.logs[FR.nlogs++] = (fake_log_t){ 120, 3, other, VAULT, 22 };
	FR.logs[FR.nlogs++] = (fake_log_t){ 130, 1, VAULT, other, 33 };
	FR.logs[FR.nlogs++] = (fake_log_t){ 149, 2, VAULT, other, 44 };
	FR.hold_head = true;
	fs_close();
	CHECK(run_until(ready2, 3000));
	stats();
	CHECK_EQ_INT(ST.reconnects, 1);
	/* Block 149's log also arrives live, before the catch-up reaches it. */
	{
		json_t *l = json_pack("{s:o,s:[s,o,o],s:s,s:s,s:s,s:s}", "address", lower(TOKA),
				      "topics", TRANSFER, pad(VAULT), pad(other),
				      "data", "0x000000000000000000000000000000000000000000000000000000000000002c",
				      "blockNumber", "0x95", "logIndex", "0x2", "transactionHash",
				      "0x0000000000000000000000000000000000000000000000000000000000009502");
		fs_notify(fs_sub("logs", 0), l);
	}
	CHECK(events(2, 2000));
	fr_release();
	CHECK(run_until(done1, 3000));
	run_until(never, 20);
	stats();
	CHECK_EQ_INT(ST.catchups, 1);
	CHECK_EQ_INT(ST.catchups_done, 1);
	CHECK_EQ_INT(ST.catchup_logs, 2);
	CHECK_EQ_INT(ST.logs_dup, 1);
	CHECK_EQ_INT(ST.catchup_skipped, 1);
	CHECK(ST.catchup_errors >= 4);
	/* The unreadable log was counted by its field; the rest went on. */
	CHECK_EQ_INT(ST.malformed, 1);
	CHECK_EQ_STR(ST.malformed_by[0].what, "result.data");
	CHECK_EQ_INT(ST.ws.malformed, 0);
	CHECK_EQ_INT(nR, 4);
	if (nR == 4) {
		log_event(1, 149, VAULT, other, 44);   /* live */
		log_event(2, 101, VAULT, other, 11);   /* caught up, in order */
		log_event(3, 120, other, VAULT, 22);
	}
	/* The first eth_getLogs: the transfers-from filter over 101..140. */
	{
		json_t *f = json_array_get(FR.calls, 0);
		CHECK_EQ_STR(json_string_value(json_object_get(f, "fromBlock")), "0x65");
		CHECK_EQ_STR(json_string_value(json_object_get(f, "toBlock")), "0x8c");
		CHECK_EQ_INT(json_array_size(json_object_get(f, "address")), 2);
		CHECK_EQ_INT(json_array_size(json_object_get(f, "topics")), 2);
		CHECK(same_topic(json_array_get(json_object_get(f, "topics"), 1), VAULT));
		/* No call spans more than the provider's cap but the refused
		 * first tries, and none goes past the head. */
		for (size_t i = 0; i < json_array_size(FR.calls); i++) {
			json_t *c = json_array_get(FR.calls, i);
			uint64_t a = strtoull(json_string_value(json_object_get(c, "fromBlock")), NULL, 16);
			uint64_t b = strtoull(json_string_value(json_object_get(c, "toBlock")), NULL, 16);
			CHECK(a >= 101 && b <= 150 && a <= b && b - a + 1 <= 40);
		}
		printf("    catch-up of 50 blocks: %d eth_getLogs calls, %llu refused\n",
		       FR.logs_calls, (unsigned long long)ST.catchup_errors);
	}

	/* Away again; the catch-up's first eth_getLogs is held while the
	 * socket drops once more: its late reply must be ignored, and the
	 * catch-up restarts from block 151 after the next reconnect. */
	head = fx_result(7);
	json_object_set_new(head, "number", json_string("0x96"));
	fs_notify(fs_sub("newHeads", 0), head);
	CHECK(events(5, 2000));
	FR.head = 200;
	FR.logs[FR.nlogs++] = (fake_log_t){ 160, 0, VAULT, other, 55 };
	FR.hold_logs = true;
	fs_close();
	CHECK(run_until(logs_held, 3000));
	fs_close();
	CHECK(run_until(ready3, 3000));
	fr_release();
	CHECK(run_until(done2, 3000));
	run_until(never, 30);
	stats();
	CHECK_EQ_INT(ST.catchups, 3);
	CHECK_EQ_INT(ST.catchups_done, 2);
	CHECK_EQ_INT(ST.catchup_logs, 3);
	CHECK_EQ_INT(ST.logs_dup, 1);
	CHECK_EQ_INT(nR, 6);
	if (nR == 6)
		log_event(5, 160, VAULT, other, 55);
out:
	/* The transport first (it holds completions pointing at the node). */
	loop_timer_cancel(&fr_t);
	for (int i = 0; i < FQ; i++) {
		if (FRQ[i].used)
			json_decref(FRQ[i].req);
		FRQ[i].used = false;
	}
	json_decref(FR.calls);
	teardown();
	rpc_free(rpc);
}

/* ---- the pending pool at connect, with a scripted rpc transport */

enum { PD_BLOCK, PD_LATEST, PD_NULL, PD_NO_METHOD };

#define PDQ 16
static struct {
	int mode;                 /* what eth_getBlockByNumber("pending") answers */
	bool pool_fails;          /* txpool_content: a node error */
	json_t *block_txs;        /* the pending block's transactions */
	json_t *pool;             /* txpool_content's result */
	int batches, pool_calls;
	json_t *last_batch;       /* the last batch request */
	struct { bool used; rpc_net_done_fn done; void *arg; json_t *req; } q[PDQ];
} PD;
static loop_timer_t pd_t;

/* A transaction of the fixture with another hash and nonce, and the
 * block fields a pending block's transactions carry (anvil: non-null). */
static json_t *pd_tx(int k, bool in_block)
{
	json_t *t = fx_result(5);
	char h[67], nn[24];

	snprintf(h, sizeof h, "0x%064x", 0x7000 + k);
	snprintf(nn, sizeof nn, "0x%x", k);
	json_object_set_new(t, "hash", json_string(h));
	json_object_set_new(t, "nonce", json_string(nn));
	if (in_block) {
		json_object_set_new(t, "blockNumber", json_string("0x65"));
		json_object_set_new(t, "blockHash", json_string(h));
	}
	return t;
}

static json_t *pd_answer(json_t *req)
{
	const char *m = json_string_value(json_object_get(req, "method"));
	json_t *r = json_pack("{s:s,s:O}", "jsonrpc", "2.0", "id", json_object_get(req, "id"));

	if (m && !strcmp(m, "eth_blockNumber")) {
		json_object_set_new(r, "result", json_string("0x64"));
	} else if (m && !strcmp(m, "eth_getBlockByNumber")) {
		if (PD.mode == PD_NO_METHOD)
			json_object_set_new(r, "error", json_pack("{s:i,s:s}", "code", -32601,
				"message", "the method eth_getBlockByNumber does not exist/is not available"));
		else if (PD.mode == PD_NULL)
			json_object_set_new(r, "result", json_null());
		else
			json_object_set_new(r, "result", json_pack("{s:s,s:O}", "number",
				PD.mode == PD_BLOCK ? "0x65" : "0x64", "transactions", PD.block_txs));
	} else if (m && !strcmp(m, "txpool_content")) {
		PD.pool_calls++;
		if (PD.pool_fails)
			json_object_set_new(r, "error", json_pack("{s:i,s:s}", "code", -32000,
				"message", "txpool busy"));
		else
			json_object_set_new(r, "result", json_incref(PD.pool));
	} else {
		json_object_set_new(r, "error", json_pack("{s:i,s:s}", "code", -32601,
			"message", "method not found"));
	}
	return r;
}

static void pd_timer(loop_t *loop, void *arg)
{
	(void)loop;
	(void)arg;
	for (int i = 0; i < PDQ; i++) {
		json_t *reply, *req = PD.q[i].req;
		rpc_net_result_t res;
		char *body;

		if (!PD.q[i].used)
			continue;
		if (json_is_array(req)) {
			size_t k;
			json_t *c;

			reply = json_array();
			json_array_foreach(req, k, c)
				json_array_append_new(reply, pd_answer(c));
		} else {
			reply = pd_answer(req);
		}
		body = json_dumps(reply, JSON_COMPACT);
		json_decref(reply);
		json_decref(req);
		PD.q[i].used = false;
		res = (rpc_net_result_t){ RPC_NET_OK, 200, body, strlen(body) };
		PD.q[i].done(PD.q[i].arg, &res);
		free(body);
	}
}

static kerr_t pd_send(void *ctx, size_t url, const char *body, size_t len,
		      uint32_t timeout_ms, rpc_net_done_fn done, void *arg)
{
	(void)ctx;
	(void)url;
	(void)timeout_ms;
	for (int i = 0; i < PDQ; i++) {
		if (PD.q[i].used)
			continue;
		if (!(PD.q[i].req = json_loadb(body, len, 0, NULL)))
			return KERR_ARG;
		if (json_is_array(PD.q[i].req)) {
			PD.batches++;
			json_decref(PD.last_batch);
			PD.last_batch = json_incref(PD.q[i].req);
		}
		PD.q[i].used = true;
		PD.q[i].done = done;
		PD.q[i].arg = arg;
		loop_timer_arm_ms(&pd_t, 1);
		return KERR_OK;
	}
	return KERR_RPC_BUSY;
}

static bool pd_failed(void)
{
	stats();
	return ST.pending_errors >= 1;
}

/* The hash of pending event i is 0x7000 + k. */
static void pd_is(int i, int k)
{
	uint8_t b[32];
	char h[67];

	snprintf(h, sizeof h, "0x%064x", 0x7000 + k);
	CHECK_OK(hex_decode_exact(b, 32, h, 66));
	CHECK(i < nR && R[i].ev.kind == EV_PENDING_TX && R[i].ev.tx.full);
	if (i < nR)
		CHECK_EQ_MEM(R[i].ev.tx.hash, b, 32);
}

/*
 * Each connection reads what was pending before its subscription: the
 * pending block (batched with eth_blockNumber; a transaction it renders
 * unreadably is fetched by its hash); a node that answers
 * "pending" with its latest block, or knows no such method, is asked
 * txpool_content (its pending part; queued is left), at most pending_max
 * transactions per read; a pool that cannot be read is counted and
 * logged, and the connection goes on.
 */
static void test_pending_read(void)
{
	const rpc_transport_t t = { NULL, pd_send };
	const node_opts_t o = { .backoff_min_ms = 50, .backoff_max_ms = 100,
				.read_pending = true, .pending_max = 3 };
	rpc_client_t *rpc = NULL;
	json_t *c, *bad;
	char h8[67];

	memset(&PD, 0, sizeof PD);
	/* the third one rendered without "to" (as anvil once did): fetched
	 * by its hash over the socket */
	bad = pd_tx(8, true);
	json_object_del(bad, "to");
	PD.block_txs = json_pack("[o,o,o]", pd_tx(1, true), pd_tx(2, true), bad);
	FS.answer_fetches = true;
	snprintf(h8, sizeof h8, "0x%064x", 0x7000 + 8);
	FS.tx_answers = json_pack("{s:o}", h8, pd_tx(8, false));
	PD.pool = json_pack("{s:{s:{s:o,s:o},s:{s:o,s:o}},s:{s:{s:o}}}",
			    "pending", "0x90f79bf6eb2c4f870365e785982e1f101e93b906",
			    "5", pd_tx(3, false), "6", pd_tx(4, false),
			    "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
			    "0", pd_tx(5, false), "1", pd_tx(6, false),
			    "queued", "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65",
			    "9", pd_tx(7, false));
	loop_timer_init(&pd_t, L, pd_timer, NULL);
	CHECK_OK(rpc_new(&rpc, 1, &t, rpc_http_clock, L, NULL));
	if (!rpc || !setup(rpc, &o))
		goto out;

	/* At start: the pending block's three transactions, the third
	 * through eth_getTransactionByHash. */
	CHECK(events(3, 3000));
	run_until(never, 30);
	stats();
	CHECK_EQ_INT(nR, 3);
	pd_is(0, 1);
	pd_is(1, 2);
	pd_is(2, 8);
	CHECK_EQ_INT(ST.pending_reads, 1);
	CHECK_EQ_INT(ST.pending_txs, 3);
	CHECK_EQ_INT(ST.pending_pool, 0);
	CHECK_EQ_INT(ST.txs, 3);
	CHECK_EQ_INT(ST.fetches, 1);
	CHECK_EQ_INT(ST.fetched, 1);
	CHECK_EQ_INT(ST.malformed, 1);
	CHECK_EQ_STR(ST.malformed_by[0].what, "result.to");
	CHECK_EQ_INT(PD.batches, 1);
	CHECK_EQ_INT(PD.pool_calls, 0);
	CHECK_EQ_INT(json_array_size(PD.last_batch), 2);
	c = json_array_get(PD.last_batch, 1);
	CHECK_EQ_STR(json_string_value(json_object_get(c, "method")), "eth_getBlockByNumber");
	CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(c, "params"), 0)), "pending");
	CHECK(json_is_true(json_array_get(json_object_get(c, "params"), 1)));

	/* A reconnect to a node that answers "pending" with its head block:
	 * txpool_content, whose four pending transactions exceed
	 * pending_max 3; the queued one is not passed on. */
	PD.mode = PD_LATEST;
	fs_close();
	CHECK(run_until(ready2, 3000));
	CHECK(events(6, 3000));
	run_until(never, 30);
	stats();
	CHECK_EQ_INT(nR, 6);
	CHECK_EQ_INT(ST.pending_reads, 2);
	CHECK_EQ_INT(ST.pending_pool, 1);
	CHECK_EQ_INT(ST.pending_txs, 6);
	CHECK_EQ_INT(ST.pending_over, 1);
	CHECK_EQ_INT(PD.pool_calls, 1);
	/* the pool's order: sender by sender, nonce by nonce */
	pd_is(3, 3);
	pd_is(4, 4);
	pd_is(5, 5);

	/* A node without the method, whose pool cannot be read either: a
	 * failed read, and the connection goes on (a head passes). */
	PD.mode = PD_NO_METHOD;
	PD.pool_fails = true;
	fs_close();
	CHECK(run_until(ready3, 3000));
	CHECK(run_until(pd_failed, 3000));
	fs_notify(fs_sub("newHeads", 0), fx_result(7));
	CHECK(events(7, 2000));
	stats();
	CHECK_EQ_INT(ST.pending_reads, 3);
	CHECK_EQ_INT(ST.pending_pool, 2);
	CHECK_EQ_INT(ST.pending_errors, 1);
	CHECK_EQ_INT(ST.pending_txs, 6);
	CHECK_EQ_INT(ST.heads, 1);

	/* A null pending block: the pool, read whole this time. */
	PD.mode = PD_NULL;
	PD.pool_fails = false;
	json_object_del(json_object_get(json_object_get(PD.pool, "pending"),
					"0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"), "1");
	fs_close();
	CHECK(events(10, 3000));
	run_until(never, 30);
	stats();
	CHECK_EQ_INT(nR, 10);
	CHECK_EQ_INT(ST.pending_reads, 4);
	CHECK_EQ_INT(ST.pending_pool, 3);
	CHECK_EQ_INT(ST.pending_txs, 9);
	CHECK_EQ_INT(ST.pending_over, 1);
	CHECK_EQ_INT(ST.malformed, 1);
	printf("    4 connections: %llu pending reads, %llu of them txpool_content, %llu "
	       "transactions passed on, %llu over pending_max, %llu failed\n",
	       (unsigned long long)ST.pending_reads, (unsigned long long)ST.pending_pool,
	       (unsigned long long)ST.pending_txs, (unsigned long long)ST.pending_over,
	       (unsigned long long)ST.pending_errors);
out:
	loop_timer_cancel(&pd_t);
	for (int i = 0; i < PDQ; i++) {
		if (PD.q[i].used)
			json_decref(PD.q[i].req);
		PD.q[i].used = false;
	}
	json_decref(PD.block_txs);
	json_decref(PD.pool);
	json_decref(PD.last_batch);
	teardown();
	rpc_free(rpc);
}

int main(void)
{
	int p = 0;

	fx_load();
	if (!fx[5] || !fx[7] || !fx[14] || loop_create(NULL, &L) != KERR_OK ||
	    loop_listen(L, "fake-node", "127.0.0.1", 0, fs_protocols, &p) != KERR_OK) {
		printf("cannot set up\n");
		return 1;
	}
	port = p;
	loop_util_init();
	RUN(test_subscriptions);
	RUN(test_bad_frames);
	RUN(test_hash_fallback);
	RUN(test_catchup);
	RUN(test_pending_read);
	loop_timer_cancel(&wd_t);
	loop_timer_cancel(&poll_t);
	loop_destroy(L);
	for (int i = 0; i < 32; i++)
		json_decref(fx[i]);
	return t_done();
}
