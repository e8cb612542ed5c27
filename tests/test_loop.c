/*
 * test_loop: the event loop's timers, clock cache, stop flag and server
 * vhost (keeper/loop.h).  Everything is bounded: a watchdog timer stops
 * each loop run that would otherwise hang, and the checks then fail.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "keeper/loop.h"
#include "tests/test.h"

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- timers fire in deadline order, never early */

#define N_ORDER 6
static const int order_delay_ms[N_ORDER] = { 30, 10, 0, 20, 5, 15 };
static int order_seen[N_ORDER], order_n;
static int64_t order_armed_ns, order_late_ns[N_ORDER], order_now_ns[N_ORDER];
static loop_timer_t order_t[N_ORDER];

static void order_cb(loop_t *loop, void *arg)
{
	int i = (int)(intptr_t)arg;

	order_now_ns[order_n] = loop_now_ns(loop);
	order_late_ns[order_n] = mono_ns() - (order_armed_ns + order_delay_ms[i] * 1000000LL);
	order_seen[order_n++] = i;
	if (order_n == N_ORDER)
		loop_stop(loop);
}

static void watchdog_cb(loop_t *loop, void *arg)
{
	*(int *)arg = 1;
	loop_stop(loop);
}

static void test_timer_order(void)
{
	loop_t *loop;
	loop_timer_t wd;
	int fired = 0;

	CHECK_OK(loop_create(NULL, &loop));
	if (!loop)
		return;
	loop_timer_init(&wd, loop, watchdog_cb, &fired);
	loop_timer_arm_ms(&wd, 2000);
	order_n = 0;
	order_armed_ns = mono_ns();
	for (int i = 0; i < N_ORDER; i++) {
		loop_timer_init(&order_t[i], loop, order_cb, (void *)(intptr_t)i);
		CHECK(!loop_timer_armed(&order_t[i]));
		loop_timer_arm_ms(&order_t[i], order_delay_ms[i]);
		CHECK(loop_timer_armed(&order_t[i]));
	}
	CHECK_OK(loop_run(loop));
	CHECK(!fired);
	CHECK_EQ_INT(order_n, N_ORDER);
	/* Sorted by delay: 0, 5, 10, 15, 20, 30. */
	CHECK_EQ_INT(order_seen[0], 2);
	CHECK_EQ_INT(order_seen[1], 4);
	CHECK_EQ_INT(order_seen[2], 1);
	CHECK_EQ_INT(order_seen[3], 5);
	CHECK_EQ_INT(order_seen[4], 3);
	CHECK_EQ_INT(order_seen[5], 0);
	for (int k = 0; k < order_n; k++) {
		int i = order_seen[k];

		CHECK(!loop_timer_armed(&order_t[i]));
		/* Never early, by the real clock nor by the cached one.  lws
		 * keeps deadlines in whole microseconds (truncated), so a timer
		 * may run up to 1 us before the nanosecond deadline. */
		CHECK_MSG(order_late_ns[k] > -1000, "timer %d fired %lld ns early", i,
			  (long long)-order_late_ns[k]);
		CHECK(order_now_ns[k] > order_armed_ns + order_delay_ms[i] * 1000000LL - 1000);
		CHECK_MSG(order_late_ns[k] < 200000000, "timer %d late by %lld ns", i,
			  (long long)order_late_ns[k]);
	}
	printf("    6 timers: lateness %.3f .. %.3f ms\n",
	       order_late_ns[0] / 1e6, order_late_ns[N_ORDER - 1] / 1e6);
	loop_timer_cancel(&wd);
	loop_destroy(loop);
}

/* ---- cancel and re-arm */

static int cancel_hits[3];

static void count_cb(loop_t *loop, void *arg)
{
	(void)loop;
	cancel_hits[(intptr_t)arg]++;
}

static void stop_cb(loop_t *loop, void *arg)
{
	(void)arg;
	loop_stop(loop);
}

static void test_timer_cancel(void)
{
	loop_t *loop;
	loop_timer_t a, b, c, stop;

	CHECK_OK(loop_create(NULL, &loop));
	if (!loop)
		return;
	memset(cancel_hits, 0, sizeof cancel_hits);
	loop_timer_init(&a, loop, count_cb, (void *)0);
	loop_timer_init(&b, loop, count_cb, (void *)1);
	loop_timer_init(&c, loop, count_cb, (void *)2);
	loop_timer_init(&stop, loop, stop_cb, NULL);
	loop_timer_arm_ms(&a, 10);
	loop_timer_arm_ms(&b, 10);
	loop_timer_arm_ms(&c, 500);
	loop_timer_cancel(&b);
	loop_timer_cancel(&b); /* twice: a no-op */
	CHECK(!loop_timer_armed(&b));
	loop_timer_arm_ms(&c, 5); /* moved earlier: fires once, early on */
	loop_timer_arm_ms(&stop, 60);
	CHECK_OK(loop_run(loop));
	CHECK_EQ_INT(cancel_hits[0], 1);
	CHECK_EQ_INT(cancel_hits[1], 0);
	CHECK_EQ_INT(cancel_hits[2], 1);
	CHECK(!loop_timer_armed(&c));
	loop_destroy(loop);
}

/* ---- a zero-delay timer re-armed from its callback does not starve others */

static long spin_n;
static loop_timer_t spin_t;

static void spin_cb(loop_t *loop, void *arg)
{
	(void)loop;
	(void)arg;
	spin_n++;
	loop_timer_arm_us(&spin_t, 0);
}

static void test_timer_zero_rearm(void)
{
	loop_t *loop;
	loop_timer_t stop;
	int64_t t0;

	CHECK_OK(loop_create(NULL, &loop));
	if (!loop)
		return;
	spin_n = 0;
	loop_timer_init(&spin_t, loop, spin_cb, NULL);
	loop_timer_init(&stop, loop, stop_cb, NULL);
	loop_timer_arm_us(&spin_t, 0);
	loop_timer_arm_ms(&stop, 20);
	t0 = mono_ns();
	CHECK_OK(loop_run(loop));
	CHECK(mono_ns() - t0 < 500000000);
	CHECK(spin_n > 1);
	printf("    %ld zero-delay re-arms in 20 ms\n", spin_n);
	loop_timer_cancel(&spin_t);
	loop_destroy(loop);
}

/* ---- the cached clock: monotonic, shared within a turn, fresh per timer */

#define N_NOW 50
static int64_t now_seen[N_NOW], now_real[N_NOW];
static int now_n, now_same;
static loop_timer_t now_t;

static void now_cb(loop_t *loop, void *arg)
{
	(void)arg;
	now_seen[now_n] = loop_now_ns(loop);
	now_real[now_n] = mono_ns();
	/* The second read in the same callback is the cached value. */
	now_same += loop_now_ns(loop) == now_seen[now_n];
	now_n++;
	if (now_n == N_NOW) {
		loop_stop(loop);
		return;
	}
	loop_timer_arm_us(&now_t, (now_n % 3) * 700);
}

static void test_now_monotonic(void)
{
	loop_t *loop;
	int64_t wall, real_wall;
	struct timespec ts;

	CHECK_OK(loop_create(NULL, &loop));
	if (!loop)
		return;
	now_n = now_same = 0;
	loop_timer_init(&now_t, loop, now_cb, NULL);
	loop_timer_arm_us(&now_t, 0);
	CHECK_OK(loop_run(loop));
	CHECK_EQ_INT(now_n, N_NOW);
	CHECK_EQ_INT(now_same, N_NOW);
	for (int i = 1; i < now_n; i++)
		CHECK_MSG(now_seen[i] >= now_seen[i - 1], "now went back at %d", i);
	for (int i = 0; i < now_n; i++) {
		/* Read at the timer's start: at most the callback's own time. */
		CHECK(now_seen[i] <= now_real[i]);
		CHECK(now_real[i] - now_seen[i] < 50000000);
	}
	CHECK_EQ_INT(loop_now_ms(loop), loop_now_ns(loop) / 1000000);
	clock_gettime(CLOCK_REALTIME, &ts);
	real_wall = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	wall = loop_wall_ms(loop);
	CHECK(wall - real_wall < 1000 && real_wall - wall < 1000);
	loop_destroy(loop);
}

/* ---- loop_stop from a signal handler wakes the poll at once */

static loop_t *sig_loop;

static void on_alarm(int sig)
{
	(void)sig;
	loop_stop(sig_loop);
}

static void test_stop_from_signal(void)
{
	struct sigaction sa, old;
	struct itimerval it;
	loop_timer_t wd;
	int fired = 0;
	int64_t t0, dt;

	CHECK_OK(loop_create(NULL, &sig_loop));
	if (!sig_loop)
		return;
	loop_timer_init(&wd, sig_loop, watchdog_cb, &fired);
	loop_timer_arm_ms(&wd, 3000);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, &old);
	memset(&it, 0, sizeof it);
	it.it_value.tv_usec = 50000;
	setitimer(ITIMER_REAL, &it, NULL);
	t0 = mono_ns();
	CHECK_OK(loop_run(sig_loop));
	dt = mono_ns() - t0;
	CHECK(!fired);
	/* The only wake-up due before 3 s is the pipe written by the handler. */
	CHECK_MSG(dt >= 45000000 && dt < 300000000, "loop_run took %lld ms",
		  (long long)(dt / 1000000));
	sigaction(SIGALRM, &old, NULL);

	/* A stop before loop_run: one turn, then return; consumed. */
	loop_stop(sig_loop);
	t0 = mono_ns();
	CHECK_OK(loop_run(sig_loop));
	CHECK(mono_ns() - t0 < 300000000);
	CHECK(!fired);
	/* The next run goes on until the watchdog stops it. */
	loop_timer_arm_ms(&wd, 30);
	CHECK_OK(loop_run(sig_loop));
	CHECK(fired);
	loop_destroy(sig_loop);
	sig_loop = NULL;
}

/* ---- a server vhost on the same loop */

static int srv_requests;

static int srv_cb(struct lws *wsi, enum lws_callback_reasons reason,
		  void *user, void *in, size_t len)
{
	static const char body[] = "pong\n";
	unsigned char hdr[LWS_PRE + 256], *p = hdr + LWS_PRE, *end = hdr + sizeof hdr;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		srv_requests++;
		if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "text/plain",
						sizeof body - 1, &p, end) ||
		    lws_finalize_write_http_header(wsi, hdr + LWS_PRE, &p, end))
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE: {
		unsigned char out[LWS_PRE + sizeof body];

		memcpy(out + LWS_PRE, body, sizeof body - 1);
		if (lws_write(wsi, out + LWS_PRE, sizeof body - 1,
			      LWS_WRITE_HTTP_FINAL) != (int)sizeof body - 1)
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols srv_protocols[] = {
	{ "http", srv_cb, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static int srv_fd = -1;
static char srv_buf[1024];
static size_t srv_len;

/* Polls the client socket from a timer: the loop stays the only waiter. */
static void srv_poll_cb(loop_t *loop, void *arg)
{
	loop_timer_t *self = arg;
	ssize_t n = recv(srv_fd, srv_buf + srv_len, sizeof srv_buf - 1 - srv_len,
			 MSG_DONTWAIT);

	if (n > 0)
		srv_len += (size_t)n;
	srv_buf[srv_len] = 0;
	if (strstr(srv_buf, "pong\n") || n == 0 || srv_len == sizeof srv_buf - 1) {
		loop_stop(loop);
		return;
	}
	loop_timer_arm_ms(self, 2);
}

static void test_listen(void)
{
	static const char req[] = "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	loop_t *loop;
	loop_timer_t poll_t, wd;
	struct sockaddr_in sa;
	int port = 0, fired = 0;

	CHECK_OK(loop_create(NULL, &loop));
	if (!loop)
		return;
	CHECK_ERR(loop_listen(loop, "t", "127.0.0.1", 70000, srv_protocols, NULL),
		  KERR_ARG);
	CHECK_OK(loop_listen(loop, "t", "127.0.0.1", 0, srv_protocols, &port));
	CHECK(port > 0 && port < 65536);
	srv_fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* The kernel completes the handshake from the listen backlog. */
	CHECK(connect(srv_fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	CHECK(send(srv_fd, req, sizeof req - 1, 0) == (ssize_t)sizeof req - 1);
	srv_len = 0;
	srv_requests = 0;
	loop_timer_init(&poll_t, loop, srv_poll_cb, &poll_t);
	loop_timer_init(&wd, loop, watchdog_cb, &fired);
	loop_timer_arm_ms(&poll_t, 1);
	loop_timer_arm_ms(&wd, 3000);
	CHECK_OK(loop_run(loop));
	CHECK(!fired);
	CHECK_EQ_INT(srv_requests, 1);
	CHECK_MSG(strncmp(srv_buf, "HTTP/1.1 200", 12) == 0, "answer: %.40s", srv_buf);
	CHECK(strstr(srv_buf, "\r\n\r\npong\n") != NULL);
	loop_timer_cancel(&poll_t);
	loop_timer_cancel(&wd);
	close(srv_fd);
	loop_destroy(loop);
}

int main(void)
{
	RUN(test_timer_order);
	RUN(test_timer_cancel);
	RUN(test_timer_zero_rearm);
	RUN(test_now_monotonic);
	RUN(test_stop_from_signal);
	RUN(test_listen);
	return t_done();
}
