/*
 * tests/proto/loop_uv.c: design B of keeper issue 3: a libuv loop owns
 * everything.  lws runs inside it as a guest (LWS_SERVER_OPTION_LIBUV with
 * the loop passed in info.foreign_loops; lws 4.1 loads its uv glue from the
 * plugin libwebsockets-evlib_uv.so at context creation).  curl's sockets
 * are uv_poll handles and curl's timeout is a uv_timer, which is the
 * pattern curl documents for multi_socket; the driver's timers are
 * uv_timers too.
 *
 * Not chosen for keeper (tests/proto/RESULTS.md): no faster, two more
 * packages (one a plugin lws loads at run time), and lws 4.1's foreign-loop
 * path needed the work-arounds below.
 *
 * As in loop_lws.c, a socket's watcher lives as long as curl's connection
 * (CURL_POLL_REMOVE only stops it; CURLOPT_CLOSESOCKETFUNCTION closes it),
 * so both designs do the same work per keep-alive request.  uv_close() stops
 * the poll watcher synchronously, so the fd is out of epoll before curl's
 * close() and a reused fd number cannot be confused with the old one; the
 * handle memory is freed in the close callback, one allocation per
 * connection, never per request.
 *
 * curl asks for a zero timeout ("call me as soon as possible") after every
 * curl_multi_add_handle() and often while a transfer runs.  A zero uv_timer
 * started from a timer callback runs again in the same pass of libuv 1.44's
 * timer phase, whose clock is frozen for the pass, so back-to-back requests
 * chained through it starve sockets and every other timer (measured: 10 ms
 * timers 1.5 ms late at p50 and 20 ms at p99, 6 requests per loop turn).
 * Zero timeouts therefore go to a uv_idle handle, which runs once per turn.
 */
#include "tests/proto/proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#define FD_MAX 1024

struct cpoll {
	uv_poll_t h; /* first: the handle pointer is the struct pointer */
	curl_socket_t fd;
};

static struct cpoll *polls[FD_MAX];
static uv_loop_t loop;
static uv_timer_t t_curl, t_driver[PROTO_T_COUNT], t_guard;
static uv_idle_t i_curl; /* curl's zero timeouts: see the top of the file */
static struct lws_context *ctx;
static long n_sockcb, n_polls, n_closed;

static void curl_kick(curl_socket_t fd, int ev)
{
	int running;

	curl_multi_socket_action(proto_multi(), fd, ev, &running);
	proto_curl_progress();
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
	struct cpoll *p = (struct cpoll *)h;
	int ev = 0;

	if (status < 0)
		ev |= CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		ev |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		ev |= CURL_CSELECT_OUT;
	curl_kick(p->fd, ev);
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct cpoll *p;
	int events = 0;

	(void)e;
	(void)userp;
	(void)sockp;
	n_sockcb++;
	if (s < 0 || s >= FD_MAX)
		return -1;
	p = polls[s];
	if (what == CURL_POLL_REMOVE) {
		if (p)
			uv_poll_stop(&p->h);
		return 0;
	}
	if (!p) {
		p = malloc(sizeof *p);
		if (!p)
			return -1;
		p->fd = s;
		if (uv_poll_init_socket(&loop, &p->h, s)) {
			free(p);
			return -1;
		}
		polls[s] = p;
		n_polls++;
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	return uv_poll_start(&p->h, events, poll_cb) ? -1 : 0;
}

static void free_cb(uv_handle_t *h)
{
	free(h);
}

static int closesocket_cb(void *clientp, curl_socket_t s)
{
	(void)clientp;
	if (s >= 0 && s < FD_MAX && polls[s]) {
		uv_close((uv_handle_t *)&polls[s]->h, free_cb);
		polls[s] = NULL;
		n_closed++;
	}
	return close(s);
}

static void curl_timeout_cb(uv_timer_t *t)
{
	(void)t;
	curl_kick(CURL_SOCKET_TIMEOUT, 0);
}

static void curl_now_cb(uv_idle_t *h)
{
	uv_idle_stop(h);
	curl_kick(CURL_SOCKET_TIMEOUT, 0);
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	(void)m;
	(void)userp;
	if (timeout_ms < 0) {
		uv_timer_stop(&t_curl);
		uv_idle_stop(&i_curl);
	} else if (timeout_ms == 0) {
		uv_timer_stop(&t_curl);
		uv_idle_start(&i_curl, curl_now_cb);
	} else {
		uv_idle_stop(&i_curl);
		uv_timer_start(&t_curl, curl_timeout_cb, (uint64_t)timeout_ms, 0);
	}
	return 0;
}

static void driver_timer_cb(uv_timer_t *t)
{
	proto_on_timer((enum proto_timer)(t - t_driver));
}

static void arm(enum proto_timer t, int64_t delay_us)
{
	/* libuv timers have millisecond resolution: round up, never early */
	uv_timer_start(&t_driver[t], driver_timer_cb, (uint64_t)(delay_us + 999) / 1000, 0);
}

static void stop(void)
{
	uv_stop(&loop);
}

/*
 * Cost of holding many timers (keeper will keep one per tracked
 * transaction, per feed, per cooldown): libuv keeps a binary heap.  Arms
 * MANY timers in scrambled order, far in the future, then stops them;
 * returns the mean cost of each in ns.  The handles are closed later with
 * the others.
 */
#define MANY 1000
static uv_timer_t many[MANY];

static void many_cb(uv_timer_t *t)
{
	(void)t;
}

static void many_timers(double *arm_ns, double *cancel_ns)
{
	uint32_t x = 12345;
	int64_t t0, t1, t2;
	int i;

	for (i = 0; i < MANY; i++)
		uv_timer_init(&loop, &many[i]);
	t0 = proto_now_ns();
	for (i = 0; i < MANY; i++) {
		x = x * 1103515245u + 12345u;
		uv_timer_start(&many[i], many_cb, 1000 + (x >> 8) % 1000000, 0);
	}
	t1 = proto_now_ns();
	for (i = 0; i < MANY; i++)
		uv_timer_stop(&many[i]);
	t2 = proto_now_ns();
	*arm_ns = (double)(t1 - t0) / MANY;
	*cancel_ns = (double)(t2 - t1) / MANY;
}

static void guard_cb(uv_timer_t *t)
{
	(void)t;
	fprintf(stderr, "loop_uv: handles still open 3 s after shutdown\n");
	uv_stop(&loop);
}

static const proto_loop_t design = {
	"loop_uv: libuv 1.44 loop; lws 4.1 as guest via evlib_uv plugin; curl fds as uv_poll; uv_timer timers",
	arm, stop, closesocket_cb
};

static const struct lws_protocols protocols[] = {
	{ PROTO_WS_PROTOCOL, proto_ws_callback, 0, 4096, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

int main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	void *loops[1] = { &loop };
	char note[300];
	double arm_ns, cancel_ns;
	int rc, i;

	if (proto_init(argc, argv, &design))
		return 2;
	if (uv_loop_init(&loop))
		return fprintf(stderr, "uv_loop_init failed\n"), 1;
	uv_timer_init(&loop, &t_curl);
	uv_idle_init(&loop, &i_curl);
	for (i = 0; i < PROTO_T_COUNT; i++)
		uv_timer_init(&loop, &t_driver[i]);
	uv_timer_init(&loop, &t_guard);

	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_IPV6;
	info.foreign_loops = loops;
	info.pcontext = &ctx; /* lws writes NULL here when it is fully gone */
	ctx = lws_create_context(&info);
	if (!ctx)
		return fprintf(stderr, "lws_create_context (libuv) failed\n"), 1;
	curl_multi_setopt(proto_multi(), CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(proto_multi(), CURLMOPT_TIMERFUNCTION, timer_cb);

	if (proto_start(ctx) == 0)
		uv_run(&loop, UV_RUN_DEFAULT);
	many_timers(&arm_ns, &cancel_ns);
	snprintf(note, sizeof note,
		 "glue: %ld curl socket callbacks, %ld uv_poll handles, %ld closed "
		 "before cleanup\n  %d timers (uv_timer): arm %.0f ns, stop %.0f ns each",
		 n_sockcb, n_polls, n_closed, MANY, arm_ns, cancel_ns);
	rc = proto_finish(note); /* curl closes its sockets: handles close */

	/* A foreign loop outlives lws: lws closes its handles asynchronously,
	 * so the loop runs until they are gone, bounded by an unreferenced
	 * guard timer that only fires if something never closes.  lws 4.1
	 * then needs a second lws_context_destroy() to finish (found by
	 * experiment: after the first, pcontext is still set). */
	uv_close((uv_handle_t *)&t_curl, NULL);
	uv_close((uv_handle_t *)&i_curl, NULL);
	for (i = 0; i < PROTO_T_COUNT; i++)
		uv_close((uv_handle_t *)&t_driver[i], NULL);
	for (i = 0; i < MANY; i++)
		uv_close((uv_handle_t *)&many[i], NULL);
	lws_context_destroy(ctx);
	uv_timer_start(&t_guard, guard_cb, 3000, 0);
	uv_unref((uv_handle_t *)&t_guard);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (ctx) {
		lws_context_destroy(ctx);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	if (ctx) {
		fprintf(stderr, "loop_uv: lws context not fully destroyed\n");
		rc = 1;
	}
	uv_close((uv_handle_t *)&t_guard, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	if (uv_loop_close(&loop)) {
		fprintf(stderr, "loop_uv: uv_loop_close: handles left open\n");
		rc = 1;
	}
	return rc;
}
