/*
 * test_ws: the websocket client (keeper/ws.h) against tests/feedsrv, which
 * each test starts on a kernel-chosen port of 127.0.0.1: messages arrive
 * complete and in order (fragmented, larger than a receive chunk);
 * reconnects after the server closes, with back-off, and on_open runs
 * again to re-subscribe; oversized and malformed messages are counted and
 * the connection goes on; the silence timer fires on time when the feed
 * stalls; the send queue's bounds; ping keep-alive and its timeout against
 * a frozen (SIGSTOP) server; retries with back-off against a dead port;
 * URL checks; wss:// with certificate verification.  Every loop run is
 * bounded by a watchdog timer.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "keeper/loop.h"
#include "keeper/ws.h"
#include "tests/feedsrv.h"
#include "tests/loop_util.h"
#include "tests/net_util.h"
#include "tests/test.h"

/* ---- the replayed feed: JSON lines, some longer than a receive chunk */

#define N_LINES 40
#define N_SMALL 10
static char *lines_text, *small_text;
static size_t lines_len, small_len;
static struct { const char *p; size_t len; } line[N_LINES];
static char lines_path[64], small_path[64], junk_path[64];

static size_t pad_of(int i)
{
	if (i == 10)
		return 150000; /* several receive chunks, one frame */
	if (i == 20)
		return 300000; /* several frames */
	return (size_t)(i % 7) * 100;
}

static int make_files(void)
{
	static const char junk[] =
		"{\"seq\":\n"
		"not json at all\n"
		"{\"a\":[1,2}\n"
		"\"unterminated\n";
	size_t cap = 1 << 20, n = 0;

	lines_text = malloc(cap);
	if (!lines_text)
		return -1;
	for (int i = 0; i < N_LINES; i++) {
		size_t pad = pad_of(i);
		int h = snprintf(lines_text + n, cap - n, "{\"seq\":%d,\"pad\":\"", i);

		line[i].p = lines_text + n;
		memset(lines_text + n + h, 'a' + i % 26, pad);
		memcpy(lines_text + n + h + pad, "\"}", 2);
		line[i].len = (size_t)h + pad + 2;
		n += line[i].len;
		lines_text[n++] = '\n';
		if (i == N_SMALL - 1)
			small_len = n;
	}
	lines_len = n;
	small_text = lines_text; /* the first N_SMALL lines are all short */
	if (!feedsrv_tmpfile(lines_path, lines_text, lines_len) ||
	    !feedsrv_tmpfile(small_path, small_text, small_len) ||
	    !feedsrv_tmpfile(junk_path, junk, sizeof junk - 1))
		return -1;
	return 0;
}

/* ---- shared per-test state and callbacks */

static struct {
	int opens, closes, got, bad, good, silences, acks;
	ws_close_t close_reason[8];
	int64_t open_ms[8], close_ms[8], last_msg_ms, silence_ms;
	int idx_in_conn;    /* messages on the current connection */
	int stop_at;        /* stop the loop after this many good messages */
	int expect_ack;     /* reconnect test: first message is the ack */
	char sub[64];
	size_t sub_len;
} S;

static void reset_state(void)
{
	memset(&S, 0, sizeof S);
}

static void cb_open(ws_t *ws, void *ctx)
{
	(void)ctx;
	if (S.opens < 8)
		S.open_ms[S.opens] = mono_ms();
	S.opens++;
	S.idx_in_conn = 0;
	if (S.expect_ack) {
		S.sub_len = (size_t)snprintf(S.sub, sizeof S.sub,
					     "{\"subscribe\":%d}", S.opens);
		CHECK_OK(ws_send(ws, S.sub, S.sub_len));
	}
}

static void cb_close(ws_t *ws, ws_close_t reason, void *ctx)
{
	(void)ctx;
	CHECK(!ws_is_open(ws));
	CHECK_ERR(ws_send(ws, "x", 1), KERR_IO);
	if (S.closes < 8) {
		S.close_ms[S.closes] = mono_ms();
		S.close_reason[S.closes] = reason;
	}
	S.closes++;
}

/* Messages must be the feed's lines, in order, from line 0 on each
 * connection (after the ack when the test subscribes). */
static void cb_message(ws_t *ws, const char *msg, size_t len, void *ctx)
{
	int i = S.idx_in_conn++;

	(void)ctx;
	(void)ws;
	S.last_msg_ms = mono_ms();
	if (S.expect_ack) {
		if (i == 0) {
			if (len == S.sub_len && !memcmp(msg, S.sub, len))
				S.acks++;
			else
				S.bad++;
			return;
		}
		i--;
	}
	if (i < N_LINES && len == line[i].len && !memcmp(msg, line[i].p, len))
		S.good++;
	else
		S.bad++;
	if (S.stop_at && S.good == S.stop_at)
		loop_stop(L);
}

static ws_config_t base_cfg(const char *url)
{
	ws_config_t c;

	memset(&c, 0, sizeof c);
	c.url = url;
	c.name = "test";
	c.cb.on_open = cb_open;
	c.cb.on_close = cb_close;
	c.cb.on_message = cb_message;
	return c;
}

static void url_of(char *buf, size_t n, const char *scheme, int port)
{
	snprintf(buf, n, "%s://127.0.0.1:%d/feed", scheme, port);
}

/* ---- tests */

static void test_in_order(void)
{
	const char *args[] = { "--file", lines_path, "--interval-ms", "0",
			       "--frag", "200000", "--lifetime", "20", NULL };
	feedsrv_t srv;
	char url[128];
	ws_config_t cfg;
	ws_t *ws;
	const ws_stats_t *st;

	if (feedsrv_start(&srv, args)) {
		CHECK(0);
		return;
	}
	reset_state();
	url_of(url, sizeof url, "ws", srv.port);
	cfg = base_cfg(url);
	S.stop_at = N_LINES;
	CHECK_OK(ws_create(L, &cfg, &ws));
	CHECK(!ws_is_open(ws));
	CHECK(run_for(5000));
	st = ws_stats(ws);
	CHECK_EQ_INT(S.good, N_LINES);
	CHECK_EQ_INT(S.bad, 0);
	CHECK_EQ_INT(st->messages, N_LINES);
	CHECK_EQ_INT(st->bytes, lines_len - N_LINES);
	CHECK_EQ_INT(st->oversized, 0);
	CHECK_EQ_INT(st->opens, 1);
	CHECK_EQ_INT(S.opens, 1);
	CHECK(ws_is_open(ws));
	CHECK_EQ_STR(ws_name(ws), "test");
	printf("    %d messages, %llu bytes (largest 300 KB in 2 frames)\n", S.good,
	       (unsigned long long)st->bytes);
	/* Destroyed while open: the wsi dies later, its callbacks dropped. */
	ws_destroy(ws);
	run_for(50);
	feedsrv_stop(&srv);
}

static void test_reconnect_resubscribe(void)
{
	const char *args[] = { "--file", small_path, "--interval-ms", "5",
			       "--close-after", "3", "--ack", "--wait-sub",
			       "--lifetime", "20", NULL };
	feedsrv_t srv;
	char url[128];
	ws_config_t cfg;
	ws_t *ws;
	int64_t gap1, gap2;

	if (feedsrv_start(&srv, args)) {
		CHECK(0);
		return;
	}
	reset_state();
	S.expect_ack = 1;
	url_of(url, sizeof url, "ws", srv.port);
	cfg = base_cfg(url);
	cfg.backoff_reset_ms = 60000; /* short connections: keep doubling */
	S.stop_at = 9;                /* 3 connections x 3 lines */
	CHECK_OK(ws_create(L, &cfg, &ws));
	CHECK(run_for(5000));
	CHECK_EQ_INT(S.opens, 3);
	CHECK_EQ_INT(S.acks, 3);   /* the subscription, re-sent on each open */
	CHECK_EQ_INT(S.good, 9);
	CHECK_EQ_INT(S.bad, 0);
	CHECK_EQ_INT(S.closes, 2);
	CHECK_EQ_INT(S.close_reason[0], WS_CLOSE_PEER);
	CHECK_EQ_INT(S.close_reason[1], WS_CLOSE_PEER);
	CHECK_EQ_INT(ws_stats(ws)->reconnects, 2);
	/* 250 ms ±20%, then 500 ms ±20%, plus the connect itself. */
	gap1 = S.open_ms[1] - S.close_ms[0];
	gap2 = S.open_ms[2] - S.close_ms[1];
	CHECK_MSG(gap1 >= 199 && gap1 <= 400, "first retry after %lld ms", (long long)gap1);
	CHECK_MSG(gap2 >= 399 && gap2 <= 700, "second retry after %lld ms", (long long)gap2);
	printf("    reconnects after %lld ms and %lld ms\n", (long long)gap1,
	       (long long)gap2);
	ws_destroy(ws);
	feedsrv_stop(&srv);
}

static void cb_message_json(ws_t *ws, const char *msg, size_t len, void *ctx)
{
	json_error_t err;
	json_t *doc = json_loadb(msg, len, 0, &err);

	if (!doc) {
		ws_note_malformed(ws, err.text);
		return;
	}
	json_decref(doc);
	cb_message(ws, msg, len, ctx);
}

static void oversize_case(const char *oversize, const char *frag, size_t max_message)
{
	const char *args[] = { "--junk", junk_path, "--oversize", oversize,
			       "--file", small_path, "--interval-ms", "1",
			       "--lifetime", "20", frag ? "--frag" : NULL, frag, NULL };
	feedsrv_t srv;
	char url[128];
	ws_config_t cfg;
	ws_t *ws;
	const ws_stats_t *st;

	if (feedsrv_start(&srv, args)) {
		CHECK(0);
		return;
	}
	reset_state();
	url_of(url, sizeof url, "ws", srv.port);
	cfg = base_cfg(url);
	cfg.cb.on_message = cb_message_json;
	cfg.max_message = max_message;
	S.stop_at = N_SMALL;
	S.idx_in_conn = 0;
	CHECK_OK(ws_create(L, &cfg, &ws));
	/* cb_open resets idx_in_conn; the junk lines are not counted in it
	 * (cb_message sees only the good ones). */
	CHECK(run_for(5000));
	st = ws_stats(ws);
	CHECK_EQ_INT(S.good, N_SMALL);
	CHECK_EQ_INT(S.bad, 0);
	CHECK_EQ_INT(st->malformed, 4);
	CHECK_EQ_INT(st->oversized, 1);
	CHECK_EQ_INT(st->messages, 4 + N_SMALL);
	CHECK_EQ_INT(st->opens, 1);     /* the connection went on */
	CHECK_EQ_INT(st->reconnects, 0);
	CHECK(ws_is_open(ws));
	ws_destroy(ws);
	feedsrv_stop(&srv);
}

static void test_oversized_and_malformed(void)
{
	/* Over max in fragments, each fragment within a receive chunk. */
	oversize_case("100000", "16384", 65536);
	/* Over max in a single chunk (the in-place path). */
	oversize_case("5000", NULL, 1000);
}

static void cb_silence(ws_t *ws, void *ctx)
{
	(void)ws;
	(void)ctx;
	S.silences++;
	S.silence_ms = mono_ms();
	loop_stop(L);
}

static void cb_open_silence(ws_t *ws, void *ctx)
{
	cb_open(ws, ctx);
	ws_silence_arm(ws, 300);
}

static void test_silence(void)
{
	/* 5 messages 100 ms apart (longer in total than the 300 ms watch, so
	 * each message must push it back), then the feed stalls. */
	const char *args[] = { "--file", small_path, "--interval-ms", "100",
			       "--stall-after", "5", "--lifetime", "20", NULL };
	feedsrv_t srv;
	char url[128];
	ws_config_t cfg;
	ws_t *ws;
	int64_t late;

	if (feedsrv_start(&srv, args)) {
		CHECK(0);
		return;
	}
	reset_state();
	url_of(url, sizeof url, "ws", srv.port);
	cfg = base_cfg(url);
	cfg.cb.on_open = cb_open_silence;
	cfg.cb.on_silence = cb_silence;
	CHECK_OK(ws_create(L, &cfg, &ws));
	CHECK(run_for(5000));
	CHECK_EQ_INT(S.good, 5);
	CHECK_EQ_INT(S.silences, 1);
	CHECK_EQ_INT(ws_stats(ws)->silences, 1);
	late = S.silence_ms - S.last_msg_ms;
	CHECK_MSG(late >= 299 && late <= 400, "silence after %lld ms", (long long)late);
	printf("    silence reported %lld ms after the last message (armed 300)\n",
	       (long long)late);
	/* Disarmed: nothing more fires, the connection stays. */
	ws_silence_arm(ws, 0);
	run_for(400);
	CHECK_EQ_INT(S.silences, 1);
	CHECK(ws_is_open(ws));
	ws_destroy(ws);
	feedsrv_stop(&srv);
}

/* Queue: at most 4 messages and 1000 bytes. */
static char q_a[300], q_b[200], q_c[50], q_big[2000];
static int q_results[8], q_acked;

static void cb_open_queue(ws_t *ws, void *ctx)
{
	(void)ctx;
	S.opens++;
	q_results[0] = ws_send(ws, q_a, sizeof q_a);     /* 300 */
	q_results[1] = ws_send(ws, q_a, sizeof q_a);     /* 600 */
	q_results[2] = ws_send(ws, q_a, sizeof q_a);     /* 900 */
	q_results[3] = ws_send(ws, q_b, sizeof q_b);     /* 1100 > 1000 */
	q_results[4] = ws_send(ws, q_c, sizeof q_c);     /* 950, 4th */
	q_results[5] = ws_send(ws, q_c, 1);              /* 5th message */
	q_results[6] = ws_send(ws, q_big, sizeof q_big); /* never fits */
}

static void cb_message_queue(ws_t *ws, const char *msg, size_t len, void *ctx)
{
	(void)ctx;
	if (q_acked < 3)
		S.good += len == sizeof q_a && !memcmp(msg, q_a, len);
	else if (q_acked == 3)
		S.good += len == sizeof q_c && !memcmp(msg, q_c, len);
	else if (q_acked == 4)
		S.good += len == 5 && !memcmp(msg, "again", 5);
	q_acked++;
	if (q_acked == 4) /* drained: room again */
		q_results[7] = ws_send(ws, "again", 5);
	if (q_acked == 5)
		loop_stop(L);
}

static void test_send_queue(void)
{
	const char *args[] = { "--ack", "--lifetime", "20", NULL };
	feedsrv_t srv;
	char url[128];
	ws_config_t cfg;
	ws_t *ws;

	if (feedsrv_start(&srv, args)) {
		CHECK(0);
		return;
	}
	reset_state();
	memset(q_a, 'a', sizeof q_a);
	memset(q_b, 'b', sizeof q_b);
	memset(q_c, 'c', sizeof q_c);
	memset(q_big, 'd', sizeof q_big);
	q_acked = 0;
	url_of(url, sizeof url, "ws", srv.port);
	cfg = base_cfg(url);
	cfg.cb.on_open = cb_open_queue;
	cfg.cb.on_message = cb_message_queue;
	cfg.send_queue_msgs = 4;
	cfg.send_queue_bytes = 1000;
	CHECK_OK(ws_create(L, &cfg, &ws));
	CHECK_ERR(ws_send(ws, "x", 1), KERR_IO); /* not open yet */
	CHECK_ERR(ws_send(ws, NULL, 1), KERR_ARG);
	CHECK(run_for(5000));
	CHECK_ERR(q_results[0], KERR_OK);
	CHECK_ERR(q_results[1], KERR_OK);
	CHECK_ERR(q_results[2], KERR_OK);
	CHECK_ERR(q_results[3], KERR_BUF);      /* bytes bound */
	CHECK_ERR(q_results[4], KERR_OK);
	CHECK_ERR(q_results[5], KERR_BUF);      /* message-count bound */
	CHECK_ERR(q_results[6], KERR_TOO_LONG); /* larger than the queue */
	CHECK_ERR(q_results[7], KERR_OK);
	CHECK_EQ_INT(q_acked, 5);
	CHECK_EQ_INT(S.good, 5);
	CHECK_EQ_INT(ws_stats(ws)->send_full, 2);
	CHECK_EQ_INT(ws_stats(ws)->sent, 5);
	ws_destroy(ws);
	feedsrv_stop(&srv);
}

static void cb_close_stop(ws_t *ws, ws_close_t reason, void *ctx)
{
	cb_close(ws, reason, ctx);
	loop_stop(L);
}

static void cb_open_stop(ws_t *ws, void *ctx)
{
	cb_open(ws, ctx);
	if (S.opens > 1)
		loop_stop(L);
}

static void test_ping_timeout(void)
{
	const char *args[] = { "--file", small_path, "--interval-ms", "10",
			       "--stall-after", "2", "--lifetime", "20", NULL };
	feedsrv_t srv;
	char url[128];
	ws_config_t cfg;
	ws_t *ws;
	const ws_stats_t *st;
	int64_t t0, dt;

	if (feedsrv_start(&srv, args)) {
		CHECK(0);
		return;
	}
	reset_state();
	url_of(url, sizeof url, "ws", srv.port);
	cfg = base_cfg(url);
	cfg.cb.on_close = cb_close_stop;
	cfg.cb.on_open = cb_open_stop;
	cfg.ping_interval_ms = 200;
	cfg.ping_timeout_ms = 200;
	CHECK_OK(ws_create(L, &cfg, &ws));
	st = ws_stats(ws);
	/* A quiet feed that answers pings stays connected. */
	CHECK(!run_for(1100));
	CHECK_EQ_INT(S.opens, 1);
	CHECK_EQ_INT(S.good, 2);
	CHECK_EQ_INT(st->timeouts, 0);
	CHECK_MSG(st->pings >= 4, "%llu pings", (unsigned long long)st->pings);
	/* A frozen server answers nothing: dropped within interval + timeout. */
	kill(srv.pid, SIGSTOP);
	t0 = mono_ms();
	CHECK(run_for(3000));
	dt = mono_ms() - t0;
	CHECK_EQ_INT(S.closes, 1);
	CHECK_EQ_INT(S.close_reason[0], WS_CLOSE_TIMEOUT);
	CHECK_EQ_INT(st->timeouts, 1);
	CHECK_MSG(dt <= 200 + 200 + 100, "dead connection noticed after %lld ms",
		  (long long)dt);
	printf("    frozen server noticed after %lld ms (ping 200 + timeout 200)\n",
	       (long long)dt);
	/* Thawed: the pending attempt completes and on_open runs again. */
	kill(srv.pid, SIGCONT);
	CHECK(run_for(5000));
	CHECK_EQ_INT(S.opens, 2);
	ws_destroy(ws);
	feedsrv_stop(&srv);
}

static void test_connect_backoff(void)
{
	char url[128];
	ws_config_t cfg;
	ws_t *ws;
	const ws_stats_t *st;

	reset_state();
	url_of(url, sizeof url, "ws", free_port(0, NULL));
	cfg = base_cfg(url);
	cfg.backoff_min_ms = 50;
	cfg.backoff_max_ms = 400;
	cfg.jitter_pct = WS_NO_JITTER;
	CHECK_OK(ws_create(L, &cfg, &ws));
	/* Attempts at 0, 50, 150, 350, 750 ms (then 1150). */
	CHECK(!run_for(1000));
	st = ws_stats(ws);
	CHECK_MSG(st->connect_fails >= 4 && st->connect_fails <= 6, "%llu failures",
		  (unsigned long long)st->connect_fails);
	CHECK_EQ_INT(st->reconnects, st->connect_fails);
	CHECK_EQ_INT(st->opens, 0);
	CHECK_EQ_INT(S.opens, 0);
	CHECK_EQ_INT(S.closes, 0);
	printf("    %llu failed attempts in 1 s (50 ms doubling, cap 400)\n",
	       (unsigned long long)st->connect_fails);
	ws_destroy(ws);
}

/* A server that accepts (the kernel does) but never answers the
 * handshake: ws is destroyed mid-connect, and later mid-back-off. */
static void test_destroy_while_connecting(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char url[128];
	ws_config_t cfg;
	ws_t *ws;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	CHECK(listen(fd, 4) == 0);
	reset_state();
	url_of(url, sizeof url, "ws", ntohs(sa.sin_port));
	cfg = base_cfg(url);
	CHECK_OK(ws_create(L, &cfg, &ws));
	CHECK(!run_for(100));
	CHECK(!ws_is_open(ws));
	CHECK_EQ_INT(ws_stats(ws)->connect_fails, 0); /* still waiting */
	ws_destroy(ws);
	CHECK(!run_for(50));
	close(fd);

	/* The port is dead now: destroyed while waiting to retry. */
	CHECK_OK(ws_create(L, &cfg, &ws));
	CHECK(!run_for(100));
	CHECK(ws_stats(ws)->connect_fails >= 1);
	ws_destroy(ws);
	CHECK(!run_for(20));
	CHECK_EQ_INT(S.opens, 0);
	CHECK_EQ_INT(S.closes, 0);
}

static void test_bad_config(void)
{
	static const char *const bad[] = {
		"http://127.0.0.1/", "ws://", "ws:///x", "ws://h:0/", "ws://h:65536/",
		"ws://h:/", "ws://h:1x/", "ws://user@h/", "ws://h/a b", "ws://[::1",
		"ws://[::1]x/", "", "WS://h/",
	};
	static const char *const good[] = {
		"ws://h", "wss://h:8443/p?q=1#frag", "ws://[::1]:9/x", "ws://h?x",
	};
	ws_config_t cfg;
	ws_t *ws = NULL;

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		cfg = base_cfg(bad[i]);
		CHECK_MSG(ws_create(L, &cfg, &ws) == KERR_ARG, "accepted %s", bad[i]);
		CHECK(ws == NULL);
	}
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		cfg = base_cfg(good[i]);
		cfg.name = NULL;
		CHECK_MSG(ws_create(L, &cfg, &ws) == KERR_OK, "refused %s", good[i]);
		if (ws && i == 2)
			CHECK_EQ_STR(ws_name(ws), "::1");
		ws_destroy(ws); /* before its first attempt */
		ws = NULL;
	}
	cfg = base_cfg("ws://h/");
	cfg.backoff_min_ms = 1000;
	cfg.backoff_max_ms = 10;
	CHECK_ERR(ws_create(L, &cfg, &ws), KERR_ARG);
	cfg = base_cfg("ws://h/");
	cfg.jitter_pct = 101;
	CHECK_ERR(ws_create(L, &cfg, &ws), KERR_ARG);
	CHECK_ERR(ws_create(L, NULL, &ws), KERR_ARG);
}

/*
 * wss://: the server's certificate is verified; SSL_CERT_FILE stands in for
 * the system CA store, which does not know the test certificate.  The CA
 * store is loaded when the loop is created, so each case gets a new loop.
 * The shared loop is destroyed first: lws 4.1.6 leaks the client TLS
 * context when two of its contexts are alive at once (see loop.h).
 */
static void wss_case(int trusted, int port)
{
	char url[128];
	ws_config_t cfg;
	ws_t *ws;

	loop_destroy(L);
	if (trusted)
		setenv("SSL_CERT_FILE", "tests/fixtures/tls/cert.pem", 1);
	CHECK_OK(loop_create(NULL, &L));
	if (trusted)
		unsetenv("SSL_CERT_FILE");
	if (!L)
		return;
	loop_util_init();
	reset_state();
	snprintf(url, sizeof url, "wss://localhost:%d/", port);
	cfg = base_cfg(url);
	S.stop_at = N_SMALL;
	CHECK_OK(ws_create(L, &cfg, &ws));
	if (trusted) {
		CHECK(run_for(5000));
		CHECK_EQ_INT(S.good, N_SMALL);
		CHECK_EQ_INT(S.opens, 1);
	} else {
		CHECK(!run_for(1000));
		CHECK_EQ_INT(S.opens, 0);
		CHECK(ws_stats(ws)->connect_fails >= 1);
	}
	ws_destroy(ws);
}

static void test_wss(void)
{
	const char *args[] = { "--file", small_path, "--interval-ms", "1",
			       "--tls-cert", "tests/fixtures/tls/cert.pem",
			       "--tls-key", "tests/fixtures/tls/key.pem",
			       "--lifetime", "20", NULL };
	feedsrv_t srv;

	if (feedsrv_start(&srv, args)) {
		CHECK(0);
		return;
	}
	wss_case(1, srv.port);
	wss_case(0, srv.port);
	feedsrv_stop(&srv);
}

int main(int argc, char **argv)
{
	(void)argc;
	feedsrv_locate(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	if (make_files()) {
		printf("cannot write the test files\n");
		return 1;
	}
	if (loop_create(NULL, &L) != KERR_OK) {
		printf("loop_create failed\n");
		return 1;
	}
	loop_util_init();
	RUN(test_bad_config);
	RUN(test_in_order);
	RUN(test_reconnect_resubscribe);
	RUN(test_oversized_and_malformed);
	RUN(test_silence);
	RUN(test_send_queue);
	RUN(test_ping_timeout);
	RUN(test_connect_backoff);
	RUN(test_destroy_while_connecting);
	RUN(test_wss); /* last: it replaces the shared loop */
	loop_destroy(L);
	unlink(lines_path);
	unlink(small_path);
	unlink(junk_path);
	free(lines_text);
	return t_done();
}
