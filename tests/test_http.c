/*
 * test_http: the HTTP POST client (keeper/http.h) on the loop, against
 * tests/feedsrv's HTTP mode (started by each test on a kernel-chosen port
 * of 127.0.0.1), a dead port and a port that accepts but never answers:
 * keep-alive reuse (counted with CURLINFO_NUM_CONNECTS), an HTTP 500
 * reported as a status with its body, a connect error, the per-request
 * timeout (within +100 ms), the answer size limit, the in-flight bound,
 * argument checks, a request body larger than the socket buffers, the
 * retry of an idempotent request whose kept-alive connection was reset,
 * a kept-alive connection the server closed while idle, and thousands of
 * requests, several at once, against a server (a thread here) that writes
 * each answer's head and body in two writes with Nagle on and closes its
 * connections every few dozen answers (fd numbers reused all along):
 * every answer must be this request's own, and quickly -- without
 * keeper/http.c's rule 5 each request waits for a delayed ACK (40 ms).
 * Every loop run is bounded by a watchdog timer.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>

#include "keeper/http.h"
#include "keeper/loop.h"
#include "tests/feedsrv.h"
#include "tests/loop_util.h"
#include "tests/net_util.h"
#include "tests/test.h"

/* ---- results collected by the callback */

#define RES_MAX 64
static struct got {
	http_kind_t kind;
	long status, connects;
	bool retried;
	intptr_t tag;       /* the ctx given to http_post */
	int64_t elapsed_us;
	char body[256];
	size_t len;
	char error[256];
} got[RES_MAX];
static int n_got, stop_after;

static void done_cb(const http_result_t *r, void *ctx)
{
	struct got *g = &got[n_got < RES_MAX ? n_got : RES_MAX - 1];

	g->tag = (intptr_t)ctx;
	g->kind = r->kind;
	g->status = r->status;
	g->connects = r->connects;
	g->retried = r->retried;
	g->elapsed_us = r->elapsed_us;
	g->len = r->len;
	snprintf(g->body, sizeof g->body, "%.*s", (int)(r->len < 255 ? r->len : 255), r->body);
	snprintf(g->error, sizeof g->error, "%s", r->error);
	CHECK(r->body != NULL && r->error != NULL);
	CHECK(r->body[r->len] == 0);
	n_got++;
	if (n_got == stop_after)
		loop_stop(L);
}

static void reset_got(int stop)
{
	memset(got, 0, sizeof got);
	n_got = 0;
	stop_after = stop;
}

static int start_srv(feedsrv_t *srv, const char *const *args, char *url, size_t n)
{
	if (feedsrv_start(srv, args))
		return -1;
	snprintf(url, n, "http://127.0.0.1:%d/", srv->port);
	return 0;
}

static const char req[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_blockNumber\",\"params\":[]}";

/* ---- keep-alive: sequential requests share one connection */

#define N_SEQ 20
static http_t *seq_h;
static const char *seq_url;

static void seq_cb(const http_result_t *r, void *ctx)
{
	done_cb(r, ctx);
	if (n_got < N_SEQ)
		CHECK_OK(http_post(seq_h, seq_url, req, sizeof req - 1, 2000, 0, seq_cb, NULL));
}

static void test_keepalive(void)
{
	const char *args[] = { "--lifetime", "20", NULL };
	feedsrv_t srv;
	char url[64];
	http_t *h;
	long connects = 0;

	if (start_srv(&srv, args, url, sizeof url)) {
		CHECK(0);
		return;
	}
	CHECK_OK(http_create(L, NULL, &h));
	reset_got(N_SEQ);
	seq_h = h;
	seq_url = url;
	CHECK_OK(http_post(h, url, req, sizeof req - 1, 2000, 0, seq_cb, NULL));
	CHECK_EQ_INT(http_inflight(h), 1);
	CHECK(run_for(5000));
	CHECK_EQ_INT(n_got, N_SEQ);
	for (int i = 0; i < n_got; i++) {
		CHECK_EQ_INT(got[i].kind, HTTP_OK);
		CHECK_EQ_INT(got[i].status, 200);
		CHECK_EQ_STR(got[i].body, "{}");
		CHECK(!got[i].retried);
		connects += got[i].connects;
	}
	CHECK_EQ_INT(got[0].connects, 1);
	CHECK_EQ_INT(connects, 1);
	CHECK_EQ_INT(http_stats(h)->connects, 1);
	CHECK_EQ_INT(http_stats(h)->ok, N_SEQ);
	CHECK_EQ_INT(http_stats(h)->requests, N_SEQ);
	CHECK_EQ_INT(http_inflight(h), 0);
	printf("    %d requests over %ld connection(s)\n", n_got, connects);
	http_destroy(h);
	run_for(20); /* the dup'ed fds' wsi die */
	feedsrv_stop(&srv);
}

/* ---- concurrency: several requests at once */

static void test_parallel(void)
{
	const char *args[] = { "--lifetime", "20", NULL };
	feedsrv_t srv;
	char url[64];
	http_t *h;
	http_config_t cfg = { .max_inflight = 8 };

	if (start_srv(&srv, args, url, sizeof url)) {
		CHECK(0);
		return;
	}
	CHECK_OK(http_create(L, &cfg, &h));
	reset_got(8);
	for (int i = 0; i < 8; i++)
		CHECK_OK(http_post(h, url, req, sizeof req - 1, 2000, 0, done_cb, NULL));
	CHECK_EQ_INT(http_inflight(h), 8);
	CHECK(run_for(5000));
	CHECK_EQ_INT(n_got, 8);
	for (int i = 0; i < n_got; i++)
		CHECK_EQ_INT(got[i].kind, HTTP_OK);
	CHECK(http_stats(h)->connects >= 1 && http_stats(h)->connects <= 8);
	/* The next round reuses the connections now in the cache. */
	reset_got(8);
	for (int i = 0; i < 8; i++)
		CHECK_OK(http_post(h, url, req, sizeof req - 1, 2000, 0, done_cb, NULL));
	CHECK(run_for(5000));
	for (int i = 0; i < n_got; i++)
		CHECK_EQ_INT(got[i].kind, HTTP_OK);
	CHECK(http_stats(h)->connects <= 8);
	printf("    16 requests, 8 at a time, over %llu connection(s)\n",
	       (unsigned long long)http_stats(h)->connects);
	http_destroy(h);
	feedsrv_stop(&srv);
}

/* ---- HTTP 500 is a status, with the body */

static void test_status_500(void)
{
	static const char body[] = "{\"error\":\"upstream down\"}";
	char path[64];
	const char *args[] = { "--http-status", "500", "--http-body", path,
			       "--lifetime", "20", NULL };
	feedsrv_t srv;
	char url[64];
	http_t *h;

	if (!feedsrv_tmpfile(path, body, sizeof body - 1) ||
	    start_srv(&srv, args, url, sizeof url)) {
		CHECK(0);
		return;
	}
	CHECK_OK(http_create(L, NULL, &h));
	reset_got(2);
	CHECK_OK(http_post(h, url, req, sizeof req - 1, 2000, 0, done_cb, NULL));
	CHECK_OK(http_post(h, url, req, sizeof req - 1, 2000, HTTP_F_RETRY, done_cb, NULL));
	CHECK(run_for(5000));
	for (int i = 0; i < 2; i++) {
		CHECK_EQ_INT(got[i].kind, HTTP_STATUS);
		CHECK_EQ_INT(got[i].status, 500);
		CHECK_EQ_STR(got[i].body, body);
		CHECK_EQ_STR(got[i].error, "");
		CHECK(!got[i].retried); /* a status is an answer: no retry */
	}
	CHECK_EQ_INT(http_stats(h)->status, 2);
	http_destroy(h);
	feedsrv_stop(&srv);
	unlink(path);
}

/* ---- a dead port: connect error */

static void test_connect_error(void)
{
	char url[64];
	http_t *h;

	snprintf(url, sizeof url, "http://127.0.0.1:%d/", free_port(0, NULL));
	CHECK_OK(http_create(L, NULL, &h));
	reset_got(1);
	CHECK_OK(http_post(h, url, req, sizeof req - 1, 2000, HTTP_F_RETRY, done_cb, NULL));
	CHECK(run_for(3000));
	CHECK_EQ_INT(got[0].kind, HTTP_ERR_CONNECT);
	CHECK_EQ_INT(got[0].status, 0);
	CHECK(!got[0].retried);
	CHECK(got[0].error[0] != 0);
	CHECK(got[0].elapsed_us < 1000000);
	CHECK_EQ_INT(http_stats(h)->failed, 1);
	printf("    connect error: %s (%s)\n", http_kind_str(got[0].kind), got[0].error);
	http_destroy(h);
}

/* ---- a server that accepts (the kernel does) but never answers */

static void test_timeout_and_inflight_bound(void)
{
	char url[64];
	http_t *h;
	http_config_t cfg = { .max_inflight = 2 };
	int lfd = -1, port = free_port(1, &lfd);
	int64_t ms[2];

	CHECK(lfd >= 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
	CHECK_OK(http_create(L, &cfg, &h));
	reset_got(2);
	CHECK_OK(http_post(h, url, req, sizeof req - 1, 300, 0, done_cb, NULL));
	CHECK_OK(http_post(h, url, req, sizeof req - 1, 600, HTTP_F_RETRY, done_cb, NULL));
	CHECK_ERR(http_post(h, url, req, sizeof req - 1, 300, 0, done_cb, NULL), KERR_BUF);
	CHECK_EQ_INT(http_stats(h)->refused, 1);
	CHECK(run_for(3000));
	for (int i = 0; i < 2; i++) {
		CHECK_EQ_INT(got[i].kind, HTTP_ERR_TIMEOUT);
		CHECK(!got[i].retried);
		ms[i] = got[i].elapsed_us / 1000;
	}
	CHECK_MSG(ms[0] >= 300 && ms[0] <= 400, "300 ms timeout after %lld ms", (long long)ms[0]);
	CHECK_MSG(ms[1] >= 600 && ms[1] <= 700, "600 ms timeout after %lld ms", (long long)ms[1]);
	printf("    timeouts of 300 and 600 ms ended after %lld and %lld ms (%s)\n",
	       (long long)ms[0], (long long)ms[1], got[0].error);
	/* Room again. */
	reset_got(1);
	CHECK_OK(http_post(h, url, req, sizeof req - 1, 50, 0, done_cb, NULL));
	CHECK(run_for(3000));
	CHECK_EQ_INT(got[0].kind, HTTP_ERR_TIMEOUT);
	/* Destroyed with requests in flight: no callbacks, nothing left. */
	reset_got(1);
	CHECK_OK(http_post(h, url, req, sizeof req - 1, 5000, 0, done_cb, NULL));
	CHECK_OK(http_post(h, url, req, sizeof req - 1, 5000, 0, done_cb, NULL));
	CHECK(!run_for(30));
	http_destroy(h);
	CHECK(!run_for(30));
	CHECK_EQ_INT(n_got, 0);
	close(lfd);
}

/* ---- the answer size limit */

static void test_body_limit(void)
{
	char path[64];
	const char *args[] = { "--http-body", path, "--lifetime", "20", NULL };
	size_t big = (4u << 20) + 1; /* one byte over the default limit */
	char *text = malloc(big);
	feedsrv_t srv;
	char url[64];
	http_t *h, *h2;
	http_config_t cfg = { .max_response = 1000 };

	if (!text)
		return;
	memset(text, ' ', big);
	text[0] = '{';
	text[big - 1] = '}';
	if (!feedsrv_tmpfile(path, text, big) || start_srv(&srv, args, url, sizeof url)) {
		free(text);
		CHECK(0);
		return;
	}
	free(text);
	CHECK_OK(http_create(L, NULL, &h));
	CHECK_OK(http_create(L, &cfg, &h2));
	reset_got(2);
	CHECK_OK(http_post(h, url, req, sizeof req - 1, 3000, 0, done_cb, NULL));
	CHECK_OK(http_post(h2, url, req, sizeof req - 1, 3000, 0, done_cb, NULL));
	CHECK(run_for(5000));
	CHECK_EQ_INT(got[0].kind, HTTP_ERR_TOO_LARGE);
	CHECK_EQ_INT(got[1].kind, HTTP_ERR_TOO_LARGE);
	CHECK_EQ_INT(got[0].len, 0);
	printf("    4 MiB + 1 answer: %s (%s)\n", http_kind_str(got[0].kind), got[0].error);
	http_destroy(h);
	http_destroy(h2);
	feedsrv_stop(&srv);
	unlink(path);

	/* Exactly at the limit is fine. */
	text = malloc(1000);
	if (!text)
		return;
	memset(text, 'x', 1000);
	if (!feedsrv_tmpfile(path, text, 1000) || start_srv(&srv, args, url, sizeof url)) {
		free(text);
		CHECK(0);
		return;
	}
	free(text);
	CHECK_OK(http_create(L, &cfg, &h2));
	reset_got(1);
	CHECK_OK(http_post(h2, url, req, sizeof req - 1, 3000, 0, done_cb, NULL));
	CHECK(run_for(5000));
	CHECK_EQ_INT(got[0].kind, HTTP_OK);
	CHECK_EQ_INT(got[0].len, 1000);
	http_destroy(h2);
	feedsrv_stop(&srv);
	unlink(path);
}

/* ---- argument checks */

static void test_args(void)
{
	http_t *h;
	http_config_t cfg = { .max_request = 100 };
	char body[101];

	memset(body, 'x', sizeof body);
	CHECK_ERR(http_create(L, NULL, NULL), KERR_ARG);
	CHECK_ERR(http_create(NULL, NULL, &h), KERR_ARG);
	CHECK_OK(http_create(L, &cfg, &h));
	CHECK_ERR(http_post(h, "http://127.0.0.1:1/", body, 101, 100, 0, done_cb, NULL),
		  KERR_TOO_LONG);
	CHECK_ERR(http_post(h, "ftp://127.0.0.1/", body, 10, 100, 0, done_cb, NULL), KERR_ARG);
	CHECK_ERR(http_post(h, "http://127.0.0.1:1/", body, 10, 0, 0, done_cb, NULL), KERR_ARG);
	CHECK_ERR(http_post(h, "http://127.0.0.1:1/", body, 10, 100, 4, done_cb, NULL), KERR_ARG);
	CHECK_ERR(http_post(h, "http://127.0.0.1:1/", body, 10, 100, 0, NULL, NULL), KERR_ARG);
	CHECK_ERR(http_post(h, "http://127.0.0.1:1/", NULL, 10, 100, 0, done_cb, NULL), KERR_ARG);
	CHECK_EQ_INT(http_inflight(h), 0);
	CHECK_EQ_INT(http_stats(h)->requests, 0);
	CHECK_EQ_STR(http_kind_str(HTTP_ERR_TIMEOUT), "timeout");
	CHECK_EQ_STR(http_kind_str((http_kind_t)99), "unknown");
	http_destroy(h);
}

/* ---- a request body larger than the socket buffers: curl needs POLLOUT
 * over several turns (the deferred re-arm of http.c's rule 3) */

static void test_large_request(void)
{
	const char *args[] = { "--lifetime", "20", NULL };
	size_t n = 8u << 20;
	char *body = malloc(n);
	feedsrv_t srv;
	char url[64];
	http_t *h;
	http_config_t cfg = { .max_request = 16u << 20 };

	if (!body || start_srv(&srv, args, url, sizeof url)) {
		free(body);
		CHECK(0);
		return;
	}
	memset(body, ' ', n);
	body[0] = '{';
	body[n - 1] = '}';
	CHECK_OK(http_create(L, &cfg, &h));
	reset_got(2);
	CHECK_OK(http_post(h, url, body, n, 5000, 0, done_cb, (void *)1));
	free(body); /* copied */
	CHECK_OK(http_post(h, url, req, sizeof req - 1, 5000, 0, done_cb, NULL));
	CHECK(run_for(8000));
	CHECK_EQ_INT(n_got, 2);
	CHECK_EQ_INT(got[0].kind, HTTP_OK);
	CHECK_EQ_INT(got[1].kind, HTTP_OK);
	for (int i = 0; i < n_got; i++)
		if (got[i].tag == 1)
			printf("    8 MiB request body: %s after %lld ms\n",
			       http_kind_str(got[i].kind),
			       (long long)(got[i].elapsed_us / 1000));
	http_destroy(h);
	feedsrv_stop(&srv);
}

/* ---- retry on a reused connection the server reset
 *
 * feedsrv resets every 2nd request on a connection: a small one once it
 * has arrived, a large one after its first MiB.  After any request that
 * ended well the cached connection has served an odd number, so the next
 * request on it is reset.
 *
 * curl 7.88 re-sends a request by itself (POST included: "Connection
 * died, retrying a fresh connect") when a reused connection fails before
 * any answer byte while curl reads, or while it sends the request's first
 * bytes, but at most 5 times per easy handle over the handle's life (the
 * counter is not reset between transfers), so every 6th such failure
 * comes out as an error.  It also gives up, with "Failed sending data to
 * the peer", when the reset hits the upload of a long body; whether that
 * happens depends on whether curl next reads or writes the reset socket,
 * so the large-body cases try up to 5 times.  HTTP_F_RETRY covers all of
 * these.
 */

static http_t *rt_h;
static char rt_url[64];

/* Posts and runs until the answer; the result is got[0]. */
static void rt_post(const char *body, size_t len, unsigned flags)
{
	reset_got(1);
	CHECK_OK(http_post(rt_h, rt_url, body, len, 3000, flags, done_cb, NULL));
	CHECK(run_for(4000));
}

static void test_retry_on_reset(void)
{
	const char *args[] = { "--http-reset-every", "2", "--lifetime", "20", NULL };
	/* Larger than what the socket buffers of both ends can hold. */
	size_t big_n = 16u << 20;
	char *big = malloc(big_n);
	feedsrv_t srv;
	http_config_t cfg = { .max_request = 32u << 20, .max_inflight = 1 };
	int curl_resent = 0, surfaced = 0, saw_send_error = 0, saw_our_retry = 0;
	uint64_t retries0;

	if (!big || start_srv(&srv, args, rt_url, sizeof rt_url)) {
		free(big);
		CHECK(0);
		return;
	}
	memset(big, ' ', big_n);
	big[0] = '{';
	big[big_n - 1] = '}';
	CHECK_OK(http_create(L, &cfg, &rt_h));

	/* Small requests, each 2nd one reset.  Without the flag curl hides
	 * most resets; what it lets through is a receive/send error on the
	 * reused connection. */
	rt_post(req, sizeof req - 1, 0);
	CHECK_EQ_INT(got[0].kind, HTTP_OK);
	CHECK_EQ_INT(got[0].connects, 1);
	for (int i = 0; i < 12; i++) {
		rt_post(req, sizeof req - 1, 0);
		CHECK(!got[0].retried);
		if (got[0].kind == HTTP_OK) {
			CHECK_EQ_INT(got[0].connects, 1);
			curl_resent++;
		} else {
			CHECK_MSG(got[0].kind == HTTP_ERR_RECV || got[0].kind == HTTP_ERR_SEND,
				  "got %s (%s)", http_kind_str(got[0].kind), got[0].error);
			CHECK_EQ_INT(got[0].connects, 0);
			surfaced++;
			rt_post(req, sizeof req - 1, 0); /* new connection: #1 */
			CHECK_EQ_INT(got[0].kind, HTTP_OK);
		}
	}
	printf("    12 resets without HTTP_F_RETRY: curl re-sent %d, reported %d\n",
	       curl_resent, surfaced);
	/* With the flag, every one ends well. */
	retries0 = http_stats(rt_h)->retries;
	for (int i = 0; i < 12; i++) {
		rt_post(req, sizeof req - 1, HTTP_F_RETRY);
		CHECK_MSG(got[0].kind == HTTP_OK, "got %s (%s)", http_kind_str(got[0].kind),
			  got[0].error);
		CHECK_EQ_INT(got[0].connects, 1);
	}
	printf("    12 resets with HTTP_F_RETRY: all answered, %llu re-sent by keeper\n",
	       (unsigned long long)(http_stats(rt_h)->retries - retries0));

	/* Large, without the flag: "Failed sending data" is reported. */
	for (int tries = 0; tries < 5 && !saw_send_error; tries++) {
		rt_post(big, big_n, 0);
		if (got[0].kind == HTTP_ERR_SEND) {
			saw_send_error = 1;
			CHECK_EQ_INT(got[0].connects, 0);
			CHECK(!got[0].retried);
			printf("    large body, reset on a reused connection: %s (%s)\n",
			       http_kind_str(got[0].kind), got[0].error);
			rt_post(req, sizeof req - 1, 0); /* new connection: #1 */
			CHECK_EQ_INT(got[0].kind, HTTP_OK);
		} else {
			/* re-sent by curl, on a new connection, as its #1 */
			CHECK_MSG(got[0].kind == HTTP_OK && got[0].connects == 1,
				  "got %s (%s)", http_kind_str(got[0].kind), got[0].error);
		}
	}
	CHECK(saw_send_error);

	/* Large, with the flag: sent again on a new connection. */
	for (int tries = 0; tries < 5 && !saw_our_retry; tries++) {
		rt_post(big, big_n, HTTP_F_RETRY);
		CHECK_MSG(got[0].kind == HTTP_OK, "got %s (%s)",
			  http_kind_str(got[0].kind), got[0].error);
		CHECK_EQ_INT(got[0].connects, 1);
		saw_our_retry = got[0].retried;
	}
	CHECK(saw_our_retry);
	http_destroy(rt_h);
	feedsrv_stop(&srv);

	/* A failure on a new connection is not retried: the server may have
	 * seen the request. */
	{
		const char *args1[] = { "--http-reset-every", "1", "--lifetime", "20", NULL };

		if (start_srv(&srv, args1, rt_url, sizeof rt_url)) {
			free(big);
			CHECK(0);
			return;
		}
		CHECK_OK(http_create(L, &cfg, &rt_h));
		rt_post(req, sizeof req - 1, HTTP_F_RETRY);
		CHECK_MSG(got[0].kind == HTTP_ERR_RECV, "got %s (%s)",
			  http_kind_str(got[0].kind), got[0].error);
		CHECK(!got[0].retried);
		rt_post(big, big_n, HTTP_F_RETRY);
		CHECK_MSG(got[0].kind == HTTP_ERR_SEND || got[0].kind == HTTP_ERR_RECV,
			  "got %s (%s)", http_kind_str(got[0].kind), got[0].error);
		CHECK(!got[0].retried);
		CHECK_EQ_INT(http_stats(rt_h)->retries, 0);
		http_destroy(rt_h);
		feedsrv_stop(&srv);
	}
	free(big);
}

/* ---- the server closes an idle kept-alive connection */

static void test_idle_close(void)
{
	const char *args[] = { "--http-keepalive", "1", "--lifetime", "20", NULL };
	feedsrv_t srv;
	char url[64];
	http_t *h;

	if (start_srv(&srv, args, url, sizeof url)) {
		CHECK(0);
		return;
	}
	CHECK_OK(http_create(L, NULL, &h));
	reset_got(1);
	CHECK_OK(http_post(h, url, req, sizeof req - 1, 2000, 0, done_cb, NULL));
	CHECK(run_for(3000));
	CHECK_EQ_INT(got[0].kind, HTTP_OK);
	/* The server hangs up after 1 s idle; the loop keeps running. */
	CHECK(!run_for(1600));
	reset_got(1);
	CHECK_OK(http_post(h, url, req, sizeof req - 1, 2000, 0, done_cb, NULL));
	CHECK(run_for(3000));
	CHECK_EQ_INT(got[0].kind, HTTP_OK);
	CHECK_EQ_INT(got[0].connects, 1); /* curl saw the old one was dead */
	CHECK_EQ_INT(http_stats(h)->connects, 2);
	http_destroy(h);
	feedsrv_stop(&srv);
}

/* ---- a server that splits its answers, under load */

#define SPLIT_CONNS 16
#define SPLIT_CLOSE_EVERY 40   /* answers per connection, then a close */
#define SPLIT_N 3000           /* requests */
#define SPLIT_AT_ONCE 6
#define SPLIT_BUF 8192

static int split_lfd = -1;
static atomic_int split_quit;
static atomic_int split_accepted;

struct split_conn {
	int fd, answered;
	size_t len;
	char buf[SPLIT_BUF];
};

/* Every complete request in c's buffer: its body echoed, head and body in
 * two writes.  Returns false once the connection is to be closed. */
static bool split_serve(struct split_conn *c)
{
	for (;;) {
		char *end, *cl, head[160];
		size_t hlen, blen = 0;
		int n;
		bool last;

		c->buf[c->len] = 0;
		if (!(end = strstr(c->buf, "\r\n\r\n")))
			return true;
		hlen = (size_t)(end - c->buf) + 4;
		for (cl = c->buf; (cl = strchr(cl, '\n')) && cl < end; cl++)
			if (!strncasecmp(cl, "\ncontent-length:", 16)) {
				blen = strtoul(cl + 16, NULL, 10);
				break;
			}
		if (c->len < hlen + blen)
			return true;
		last = ++c->answered == SPLIT_CLOSE_EVERY;
		n = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: "
			     "application/json\r\nContent-Length: %zu\r\n%s\r\n", blen,
			     last ? "Connection: close\r\n" : "");
		if (write(c->fd, head, (size_t)n) != n ||
		    write(c->fd, c->buf + hlen, blen) != (ssize_t)blen || last)
			return false;
		memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
		c->len -= hlen + blen;
	}
}

static void *split_main(void *arg)
{
	struct split_conn *conns = calloc(SPLIT_CONNS, sizeof *conns);

	(void)arg;
	for (int i = 0; conns && i < SPLIT_CONNS; i++)
		conns[i].fd = -1;
	while (conns && !atomic_load(&split_quit)) {
		struct pollfd pf[SPLIT_CONNS + 1];
		int map[SPLIT_CONNS + 1], n = 0;

		pf[n].fd = split_lfd;
		pf[n].events = POLLIN;
		map[n++] = -1;
		for (int i = 0; i < SPLIT_CONNS; i++)
			if (conns[i].fd >= 0) {
				pf[n].fd = conns[i].fd;
				pf[n].events = POLLIN;
				map[n++] = i;
			}
		if (poll(pf, (nfds_t)n, 20) <= 0)
			continue;
		if (pf[0].revents & POLLIN) {
			int fd = accept(split_lfd, NULL, NULL);

			for (int i = 0; fd >= 0 && i < SPLIT_CONNS; i++)
				if (conns[i].fd < 0) {
					conns[i].fd = fd;
					conns[i].len = 0;
					conns[i].answered = 0;
					fd = -1;
					atomic_fetch_add(&split_accepted, 1);
				}
			if (fd >= 0)
				close(fd);
		}
		for (int k = 1; k < n; k++) {
			struct split_conn *c = &conns[map[k]];
			ssize_t r;

			if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(c->fd, c->buf + c->len, SPLIT_BUF - 1 - c->len);
			if (r > 0) {
				c->len += (size_t)r;
				if (split_serve(c))
					continue;
			}
			close(c->fd);
			c->fd = -1;
		}
	}
	for (int i = 0; conns && i < SPLIT_CONNS; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	free(conns);
	return NULL;
}

static http_t *split_h;
static char split_url[64];
static int split_posted, split_done, split_bad, split_slow;

static void split_post(void);

static void split_cb(const http_result_t *r, void *ctx)
{
	char want[64];

	snprintf(want, sizeof want, "{\"id\":%d}", (int)(intptr_t)ctx);
	if (r->kind != HTTP_OK || r->len != strlen(want) || memcmp(r->body, want, r->len)) {
		if (split_bad++ < 5)
			printf("    request %d: %s %.*s (%s)\n", (int)(intptr_t)ctx,
			       http_kind_str(r->kind), (int)r->len, r->body, r->error);
	}
	split_done++;
	split_slow += r->elapsed_us >= 40000;
	split_post();
}

static void split_post(void)
{
	char body[64];
	int n;

	if (split_posted == SPLIT_N)
		return;
	n = snprintf(body, sizeof body, "{\"id\":%d}", split_posted);
	CHECK_OK(http_post(split_h, split_url, body, (size_t)n, 5000, HTTP_F_RETRY, split_cb,
			   (void *)(intptr_t)split_posted));
	split_posted++;
}

static bool split_all_done(void)
{
	return split_done == SPLIT_N;
}

static void test_split_answers_under_load(void)
{
	http_config_t cfg = { .max_inflight = SPLIT_AT_ONCE };
	int fd = -1, port = free_port(1, &fd);
	pthread_t th;
	int64_t t0, ms;

	if (!port) {
		CHECK(0);
		return;
	}
	split_lfd = fd;
	atomic_store(&split_quit, 0);
	atomic_store(&split_accepted, 0);
	if (pthread_create(&th, NULL, split_main, NULL)) {
		close(fd);
		CHECK(0);
		return;
	}
	snprintf(split_url, sizeof split_url, "http://127.0.0.1:%d/", port);
	CHECK_OK(http_create(L, &cfg, &split_h));
	split_posted = split_done = split_bad = split_slow = 0;
	t0 = mono_ms();
	for (int i = 0; i < SPLIT_AT_ONCE; i++)
		split_post();
	/* 3000 requests, 6 at a time: a 40 ms wait each is 20 s. */
	CHECK(run_until(split_all_done, 10000));
	ms = mono_ms() - t0;
	CHECK_EQ_INT(split_done, SPLIT_N);
	CHECK_EQ_INT(split_bad, 0);
	/* Every one of them, before rule 5; a few may meet a busy machine. */
	CHECK_MSG(split_slow < SPLIT_N / 20, "%d requests took 40 ms or more", split_slow);
	CHECK_EQ_INT(http_inflight(split_h), 0);
	/* Each connection closes after SPLIT_CLOSE_EVERY answers. */
	CHECK(atomic_load(&split_accepted) >= SPLIT_N / SPLIT_CLOSE_EVERY);
	CHECK(http_stats(split_h)->connects >= SPLIT_N / SPLIT_CLOSE_EVERY);
	printf("    %d requests, %d at once, over %d connections, in %lld ms, %d of them "
	       "40 ms or more (answers written in two parts)\n", split_done, SPLIT_AT_ONCE,
	       atomic_load(&split_accepted), (long long)ms, split_slow);
	http_destroy(split_h);
	run_for(20); /* the dup'ed fds' wsi die */
	atomic_store(&split_quit, 1);
	pthread_join(th, NULL);
	close(fd);
}

int main(int argc, char **argv)
{
	(void)argc;
	feedsrv_locate(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	if (loop_create(NULL, &L) != KERR_OK) {
		printf("loop_create failed\n");
		return 1;
	}
	loop_util_init();
	RUN(test_args);
	RUN(test_keepalive);
	RUN(test_parallel);
	RUN(test_status_500);
	RUN(test_connect_error);
	RUN(test_timeout_and_inflight_bound);
	RUN(test_body_limit);
	RUN(test_large_request);
	RUN(test_retry_on_reset);
	RUN(test_idle_close);
	RUN(test_split_answers_under_load);
	loop_destroy(L);
	return t_done();
}
