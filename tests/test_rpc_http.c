/*
 * test_rpc_http: rpc's transport on http (keeper/rpc_http.h), against
 * tests/feedsrv's HTTP mode, a dead port and a port that accepts but never
 * answers, all on 127.0.0.1:
 *  - which methods count as idempotent (eth_getFilterChanges does not);
 *  - http's outcomes mapped to rpc's: a status with its body, connect,
 *    timeout, too large; a bad endpoint index; the bound on contexts;
 *  - HTTP_F_RETRY chosen by method: with the server resetting every second
 *    request on a kept-alive connection, eth_blockNumber always gets its
 *    answer, while evm_mine (not idempotent) sees the resets once curl's
 *    own re-sends are spent;
 *  - the real rpc client over it: failover from a dead URL to a live one.
 * Every loop run is bounded by a watchdog timer.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "keeper/loop.h"
#include "keeper/rpc.h"
#include "keeper/rpc_http.h"
#include "tests/feedsrv.h"
#include "tests/loop_util.h"
#include "tests/net_util.h"
#include "tests/test.h"

#define GOT_MAX 32
static struct {
	rpc_net_t net;
	int status;
	char body[256];
	size_t len;
	intptr_t tag;
} got[GOT_MAX];
static int n_got, stop_after;

static void done(void *arg, const rpc_net_result_t *r)
{
	int i = n_got < GOT_MAX ? n_got : GOT_MAX - 1;

	got[i].net = r->net;
	got[i].status = r->http_status;
	got[i].len = r->len;
	got[i].tag = (intptr_t)arg;
	snprintf(got[i].body, sizeof got[i].body, "%.*s",
		 (int)(r->len < 255 ? r->len : 255), r->body ? r->body : "");
	CHECK(r->net == RPC_NET_OK || (r->body == NULL && r->len == 0 && r->http_status == 0));
	if (++n_got == stop_after)
		loop_stop(L);
}

static void reset_got(int stop)
{
	memset(got, 0, sizeof got);
	n_got = 0;
	stop_after = stop;
}

static const char bn[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_blockNumber\",\"params\":[]}";
static const char mine[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"evm_mine\",\"params\":[]}";

static void test_idempotent(void)
{
	static const char *const yes[] = {
		"eth_blockNumber", "eth_chainId", "eth_call", "eth_getLogs",
		"eth_getTransactionByHash", "eth_getTransactionReceipt",
		"eth_getTransactionCount", "eth_getBalance", "eth_feeHistory",
		"eth_sendRawTransaction", "eth_estimateGas", "eth_getFilterLogs",
	};
	static const char *const no[] = {
		"eth_sendTransaction", "eth_getFilterChanges", "eth_newFilter",
		"evm_mine", "eth_subscribe", "eth_blockNumberX", "eth_block", "",
	};
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
		CHECK_MSG(rpc_http_idempotent(yes[i], strlen(yes[i])), "%s", yes[i]);
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		CHECK_MSG(!rpc_http_idempotent(no[i], strlen(no[i])), "%s", no[i]);
	CHECK(!rpc_http_idempotent(NULL, 0));
	/* By length, not by prefix. */
	CHECK(!rpc_http_idempotent("eth_call", 7));
}

static void test_args(void)
{
	const char *ok[] = { "http://127.0.0.1:1/" };
	const char *bad[] = { "ws://127.0.0.1:1/" };
	const char *many[RPC_MAX_ENDPOINTS + 1];
	rpc_http_t *t = NULL;

	for (size_t i = 0; i < RPC_MAX_ENDPOINTS + 1; i++)
		many[i] = ok[0];
	CHECK_ERR(rpc_http_new(L, bad, 1, NULL, &t), KERR_ARG);
	CHECK_ERR(rpc_http_new(L, ok, 0, NULL, &t), KERR_ARG);
	CHECK_ERR(rpc_http_new(L, many, RPC_MAX_ENDPOINTS + 1, NULL, &t), KERR_ARG);
	CHECK_ERR(rpc_http_new(NULL, ok, 1, NULL, &t), KERR_ARG);
	CHECK(t == NULL);
	CHECK_OK(rpc_http_new(L, many, RPC_MAX_ENDPOINTS, NULL, &t));
	if (t) {
		rpc_transport_t tr = rpc_http_transport(t);
		CHECK_ERR(tr.send(tr.ctx, RPC_MAX_ENDPOINTS, bn, sizeof bn - 1, 1000, done, NULL),
			  KERR_ARG);
		CHECK_ERR(tr.send(tr.ctx, 0, bn, sizeof bn - 1, 0, done, NULL), KERR_ARG);
		CHECK_EQ_INT(rpc_http_stats(t)->requests, 0);
	}
	rpc_http_free(t);
	rpc_http_free(NULL);
	CHECK(rpc_http_clock(L) == (uint64_t)loop_now_ms(L));
}

static void test_mapping(void)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,\"message\":\"x\"}}";
	char path[64], srv_url[64], dead[64], silent[64];
	const char *args[] = { "--http-status", "503", "--http-body", path, "--lifetime", "20", NULL };
	const char *urls[3];
	http_config_t hc = { .max_inflight = 2, .max_response = 32 };
	feedsrv_t srv;
	rpc_http_t *t = NULL;
	rpc_transport_t tr;
	int lfd = -1;

	if (!feedsrv_tmpfile(path, body, sizeof body - 1) || feedsrv_start(&srv, args)) {
		CHECK(0);
		return;
	}
	snprintf(srv_url, sizeof srv_url, "http://127.0.0.1:%d/", srv.port);
	snprintf(dead, sizeof dead, "http://127.0.0.1:%d/", free_port(0, NULL));
	snprintf(silent, sizeof silent, "http://127.0.0.1:%d/", free_port(1, &lfd));
	urls[0] = srv_url;
	urls[1] = dead;
	urls[2] = silent;

	/* A status and its body (also when it is not 2xx). */
	CHECK_OK(rpc_http_new(L, urls, 3, NULL, &t));
	if (!t)
		goto out;
	tr = rpc_http_transport(t);
	reset_got(1);
	CHECK_OK(tr.send(tr.ctx, 0, bn, sizeof bn - 1, 2000, done, (void *)7));
	CHECK(run_for(3000));
	CHECK_EQ_INT(got[0].net, RPC_NET_OK);
	CHECK_EQ_INT(got[0].status, 503);
	CHECK_EQ_STR(got[0].body, body);
	CHECK_EQ_INT(got[0].tag, 7);
	/* Connect. */
	reset_got(1);
	CHECK_OK(tr.send(tr.ctx, 1, bn, sizeof bn - 1, 2000, done, NULL));
	CHECK(run_for(3000));
	CHECK_EQ_INT(got[0].net, RPC_NET_CONNECT);
	/* Timeout. */
	reset_got(1);
	CHECK_OK(tr.send(tr.ctx, 2, bn, sizeof bn - 1, 200, done, NULL));
	CHECK(run_for(3000));
	CHECK_EQ_INT(got[0].net, RPC_NET_TIMEOUT);
	rpc_http_free(t);

	/* Too large, and the bound on requests in flight. */
	CHECK_OK(rpc_http_new(L, urls, 3, &hc, &t));
	if (!t)
		goto out;
	tr = rpc_http_transport(t);
	reset_got(2);
	CHECK_OK(tr.send(tr.ctx, 0, bn, sizeof bn - 1, 2000, done, NULL));
	CHECK_OK(tr.send(tr.ctx, 2, bn, sizeof bn - 1, 300, done, NULL));
	CHECK_ERR(tr.send(tr.ctx, 0, bn, sizeof bn - 1, 2000, done, NULL), KERR_RPC_BUSY);
	CHECK(run_for(3000));
	CHECK_EQ_INT(got[0].net, RPC_NET_TOO_LARGE);
	CHECK_EQ_INT(got[1].net, RPC_NET_TIMEOUT);
	/* Contexts are back: two more fit. */
	reset_got(2);
	CHECK_OK(tr.send(tr.ctx, 1, bn, sizeof bn - 1, 2000, done, NULL));
	CHECK_OK(tr.send(tr.ctx, 1, bn, sizeof bn - 1, 2000, done, NULL));
	CHECK(run_for(3000));
	CHECK_EQ_INT(got[0].net, RPC_NET_CONNECT);
	CHECK_EQ_INT(got[1].net, RPC_NET_CONNECT);
	/* Freed with a request in flight: no completion afterwards. */
	reset_got(1);
	CHECK_OK(tr.send(tr.ctx, 2, bn, sizeof bn - 1, 5000, done, NULL));
	rpc_http_free(t);
	CHECK(!run_for(50));
	CHECK_EQ_INT(n_got, 0);
out:
	if (lfd >= 0)
		close(lfd);
	feedsrv_stop(&srv);
	unlink(path);
}

static void test_retry_by_method(void)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x2a\"}";
	char path[64], url[64];
	const char *args[] = { "--http-reset-every", "2", "--http-body", path,
			       "--lifetime", "20", NULL };
	const char *urls[1] = { url };
	http_config_t hc = { .max_inflight = 1 };
	feedsrv_t srv;
	rpc_http_t *t = NULL;
	rpc_transport_t tr;
	int failed_mine = 0;

	if (!feedsrv_tmpfile(path, body, sizeof body - 1) || feedsrv_start(&srv, args)) {
		CHECK(0);
		return;
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", srv.port);
	CHECK_OK(rpc_http_new(L, urls, 1, &hc, &t));
	if (!t)
		goto out;
	tr = rpc_http_transport(t);
	/* One handle.  curl re-sends some resets by itself (see http.h);
	 * those it lets through are retried for eth_blockNumber, and come
	 * out as I/O errors for evm_mine. */
	for (int i = 0; i < 16; i++) {
		reset_got(1);
		CHECK_OK(tr.send(tr.ctx, 0, bn, sizeof bn - 1, 3000, done, NULL));
		CHECK(run_for(4000));
		CHECK_MSG(got[0].net == RPC_NET_OK && got[0].status == 200,
			  "eth_blockNumber #%d: net %d status %d", i, got[0].net, got[0].status);
	}
	CHECK(rpc_http_stats(t)->retries > 0);
	printf("    16 eth_blockNumber, every 2nd reset: all answered, %llu re-sent\n",
	       (unsigned long long)rpc_http_stats(t)->retries);
	for (int i = 0; i < 16; i++) {
		reset_got(1);
		CHECK_OK(tr.send(tr.ctx, 0, mine, sizeof mine - 1, 3000, done, NULL));
		CHECK(run_for(4000));
		if (got[0].net == RPC_NET_IO)
			failed_mine++;
		else
			CHECK_EQ_INT(got[0].net, RPC_NET_OK);
	}
	CHECK(failed_mine > 0);
	printf("    16 evm_mine, every 2nd reset: %d reported as I/O errors\n", failed_mine);
	rpc_http_free(t);
out:
	feedsrv_stop(&srv);
	unlink(path);
}

static struct {
	int calls;
	kerr_t err;
	size_t endpoint;
	unsigned attempts;
	uint64_t v;
} R;

static void on_reply(void *arg, const rpc_reply_t *r)
{
	(void)arg;
	R.calls++;
	R.err = r->err;
	R.endpoint = r->endpoint;
	R.attempts = r->attempts;
	if (!r->err)
		jtok_u64(r->doc, r->result, &R.v);
	loop_stop(L);
}

static void test_client_failover(void)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x2a\"}";
	char path[64], url[64], dead[64];
	const char *args[] = { "--http-body", path, "--lifetime", "20", NULL };
	const char *urls[2] = { dead, url };
	feedsrv_t srv;
	rpc_http_t *t = NULL;
	rpc_client_t *c = NULL;
	rpc_endpoint_stats_t st;

	if (!feedsrv_tmpfile(path, body, sizeof body - 1) || feedsrv_start(&srv, args)) {
		CHECK(0);
		return;
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", srv.port);
	snprintf(dead, sizeof dead, "http://127.0.0.1:%d/", free_port(0, NULL));
	CHECK_OK(rpc_http_new(L, urls, 2, NULL, &t));
	if (t) {
		rpc_transport_t tr = rpc_http_transport(t);
		CHECK_OK(rpc_new(&c, 2, &tr, rpc_http_clock, L, NULL));
	}
	if (c) {
		memset(&R, 0, sizeof R);
		CHECK_OK(rpc_chain_id(c, on_reply, NULL, NULL));   /* id 1 */
		CHECK(run_for(5000));
		CHECK_ERR(R.err, KERR_OK);
		CHECK_EQ_INT(R.v, 42);
		CHECK_EQ_INT(R.endpoint, 1);
		CHECK_EQ_INT(R.attempts, 2);
		CHECK_OK(rpc_stats(c, 0, &st));
		CHECK_EQ_INT(st.fail[RPC_FAIL_CONNECT], 1);
		CHECK(st.down);
		CHECK_EQ_INT(rpc_inflight(c), 0);
	}
	rpc_http_free(t);
	rpc_free(c);
	feedsrv_stop(&srv);
	unlink(path);
}

int main(int argc, char **argv)
{
	(void)argc;
	feedsrv_locate(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	if (loop_create(NULL, &L) != KERR_OK) {
		printf("cannot create the loop\n");
		return 1;
	}
	loop_util_init();
	RUN(test_idempotent);
	RUN(test_args);
	RUN(test_mapping);
	RUN(test_retry_by_method);
	RUN(test_client_failover);
	loop_timer_cancel(&wd_t);
	loop_destroy(L);
	return t_done();
}
