/*
 * tests/proto/loop_lws.c: design A of keeper issue 3: lws's own poll()
 * loop owns everything.  The websocket client is native lws; the driver's
 * timers are lws_sul (lws's sorted microsecond timer list); curl's sockets
 * are put into the lws loop by adopting them as raw-file descriptors
 * (LWS_ROLE_RAW_FILE via lws_adopt_descriptor_vhost_via_info), and curl's
 * timeout is one more lws_sul.  lws 4.1 has no other way to watch a foreign
 * fd from its own loop, and calling curl_multi_poll() from it would block
 * the websockets.
 *
 * This is the design chosen for keeper (tests/proto/RESULTS.md has the
 * figures and the reasons: as fast or faster, no extra dependencies, lws
 * serves /metrics and test websockets on the same loop, microsecond timers).
 *
 * What the adoption costs (the reason this file is longer than loop_uv.c):
 *  - lws closes the fd of a raw-file wsi when the wsi dies, including when
 *    it decides on its own that the peer hung up (POLLHUP).  curl owns the
 *    socket, so lws gets a dup() of it; the dup is closed when curl closes
 *    its socket (CURLOPT_CLOSESOCKETFUNCTION) or when lws gives up on it.
 *  - curl's CURL_POLL_REMOVE (connection idle in the keep-alive cache)
 *    only switches interest off; tearing the wsi down would re-adopt it on
 *    every request.  So the wsi lives as long as curl's connection.
 *  - lws treats POLLOUT as one-shot and clears it after the writeable
 *    callback returns, so a re-arm from inside that callback is lost; a
 *    zero-delay sul re-arms it on the next turn while curl still wants OUT.
 *  - a wsi lws closed by itself is reported to curl on the next turn, never
 *    from inside lws's close path.
 * The fd table is indexed by fd and bounded (FD_MAX); a real module would
 * bound it by the configured number of connections instead.
 */
#include "tests/proto/proto.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FD_MAX 1024

struct cfd {
	struct lws *wsi; /* raw-file wsi watching a dup of the fd, or NULL */
	int want;        /* CURL_POLL_* last asked for; 0 after REMOVE */
	int rearm_out;   /* POLLOUT must be asked for again next turn */
	int hup;         /* lws dropped the wsi on its own: tell curl */
};

static struct cfd cfds[FD_MAX];
static int fd_hi = -1; /* highest fd ever in cfds: bounds the deferred scan */
static struct lws_context *ctx;
static struct lws_vhost *vhost;
static lws_sorted_usec_list_t sul_curl, sul_deferred, sul_timer[PROTO_T_COUNT];
static int stopping;
static long n_sockcb, n_adopt, n_closed, n_rearm, n_hup;

static void curl_kick(curl_socket_t fd, int ev)
{
	int running;

	curl_multi_socket_action(proto_multi(), fd, ev, &running);
	proto_curl_progress();
}

static int adopt(int fd)
{
	struct cfd *c = &cfds[fd];
	lws_adopt_desc_t ad;
	int d = dup(fd);

	if (d < 0)
		return -1;
	memset(&ad, 0, sizeof ad);
	ad.vh = vhost;
	ad.type = LWS_ADOPT_RAW_FILE_DESC;
	ad.fd.filefd = d;
	ad.vh_prot_name = "curl-fd";
	ad.opaque = c;
	c->wsi = lws_adopt_descriptor_vhost_via_info(&ad); /* closes d on failure */
	if (!c->wsi)
		return -1;
	n_adopt++;
	if (fd > fd_hi)
		fd_hi = fd;
	return 0;
}

static void interest(struct cfd *c)
{
	lws_rx_flow_control(c->wsi, (c->want & CURL_POLL_IN) ? 1 : 0);
	if (c->want & CURL_POLL_OUT)
		lws_callback_on_writable(c->wsi);
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct cfd *c;

	(void)e;
	(void)userp;
	(void)sockp;
	n_sockcb++;
	if (s < 0 || s >= FD_MAX)
		return -1;
	c = &cfds[s];
	if (what == CURL_POLL_REMOVE) {
		c->want = 0;
		if (c->wsi)
			lws_rx_flow_control(c->wsi, 0);
		return 0;
	}
	c->want = what;
	if (!c->wsi && adopt(s))
		return -1;
	interest(c);
	return 0;
}

static int closesocket_cb(void *clientp, curl_socket_t s)
{
	(void)clientp;
	if (s >= 0 && s < FD_MAX) {
		struct cfd *c = &cfds[s];

		if (c->wsi) {
			/* Detach first: the wsi may still get callbacks this turn,
			 * and curl may hand out the same fd number right away. */
			lws_set_opaque_user_data(c->wsi, NULL);
			lws_rx_flow_control(c->wsi, 0);
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT,
					LWS_TO_KILL_ASYNC);
			n_closed++;
		}
		memset(c, 0, sizeof *c);
	}
	return close(s);
}

/* Work that must not run inside an lws callback for the wsi concerned. */
static void deferred_cb(lws_sorted_usec_list_t *sul)
{
	int fd;

	(void)sul;
	for (fd = 0; fd <= fd_hi; fd++) {
		struct cfd *c = &cfds[fd];

		if (c->hup) {
			c->hup = 0;
			curl_kick(fd, CURL_CSELECT_IN | CURL_CSELECT_ERR);
			if (c->want && !c->wsi && !adopt(fd))
				interest(c);
		}
		if (c->rearm_out) {
			c->rearm_out = 0;
			if (c->wsi && (c->want & CURL_POLL_OUT))
				lws_callback_on_writable(c->wsi);
		}
	}
}

static int curlfd_cb(struct lws *wsi, enum lws_callback_reasons reason,
		     void *user, void *in, size_t len)
{
	struct cfd *c = lws_get_opaque_user_data(wsi);
	int fd;

	(void)user;
	(void)in;
	(void)len;
	if (!c)
		return 0; /* curl closed this socket already; the wsi is dying */
	fd = (int)(c - cfds);
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (c->want & CURL_POLL_IN)
			curl_kick(fd, CURL_CSELECT_IN);
		break;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (!(c->want & CURL_POLL_OUT))
			break;
		curl_kick(fd, CURL_CSELECT_OUT);
		if (lws_get_opaque_user_data(wsi) == c && (c->want & CURL_POLL_OUT)) {
			c->rearm_out = 1;
			n_rearm++;
			lws_sul_schedule(ctx, 0, &sul_deferred, deferred_cb, 0);
		}
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		c->wsi = NULL;
		c->hup = 1;
		n_hup++;
		lws_sul_schedule(ctx, 0, &sul_deferred, deferred_cb, 0);
		break;
	default:
		break;
	}
	return 0;
}

static void curl_timeout_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	curl_kick(CURL_SOCKET_TIMEOUT, 0);
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	(void)m;
	(void)userp;
	if (timeout_ms < 0)
		lws_sul_cancel(&sul_curl);
	else
		lws_sul_schedule(ctx, 0, &sul_curl, curl_timeout_cb,
				 (lws_usec_t)timeout_ms * LWS_US_PER_MS);
	return 0;
}

static void driver_timer_cb(lws_sorted_usec_list_t *sul)
{
	proto_on_timer((enum proto_timer)(sul - sul_timer));
}

static void arm(enum proto_timer t, int64_t delay_us)
{
	lws_sul_schedule(ctx, 0, &sul_timer[t], driver_timer_cb, delay_us);
}

static void stop(void)
{
	stopping = 1;
}

/*
 * Cost of holding many timers (keeper will keep one per tracked
 * transaction, per feed, per cooldown): lws_sul keeps a sorted list, so an
 * insert walks it.  Arms MANY timers in scrambled order, far in the future,
 * then cancels them; returns the mean cost of each in ns.
 */
#define MANY 1000
static lws_sorted_usec_list_t many[MANY];

static void many_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
}

static void many_timers(double *arm_ns, double *cancel_ns)
{
	uint32_t x = 12345;
	int64_t t0, t1, t2;
	int i;

	t0 = proto_now_ns();
	for (i = 0; i < MANY; i++) {
		x = x * 1103515245u + 12345u;
		lws_sul_schedule(ctx, 0, &many[i], many_cb,
				 (lws_usec_t)(1000 + (x >> 8) % 1000000) * LWS_US_PER_MS);
	}
	t1 = proto_now_ns();
	for (i = 0; i < MANY; i++)
		lws_sul_cancel(&many[i]);
	t2 = proto_now_ns();
	*arm_ns = (double)(t1 - t0) / MANY;
	*cancel_ns = (double)(t2 - t1) / MANY;
}

static const proto_loop_t design = {
	"loop_lws: lws 4.1 own poll() loop; curl fds adopted as lws raw-file wsi; lws_sul timers",
	arm, stop, closesocket_cb
};

static const struct lws_protocols protocols[] = {
	{ PROTO_WS_PROTOCOL, proto_ws_callback, 0, 4096, 0, NULL, 0 },
	{ "curl-fd", curlfd_cb, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

int main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	char note[300];
	double arm_ns, cancel_ns;
	int rc;

	if (proto_init(argc, argv, &design))
		return 2;
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	ctx = lws_create_context(&info);
	if (!ctx)
		return fprintf(stderr, "lws_create_context failed\n"), 1;
	vhost = lws_get_vhost_by_name(ctx, "default");
	if (!vhost)
		return fprintf(stderr, "lws: no default vhost\n"), 1;
	curl_multi_setopt(proto_multi(), CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(proto_multi(), CURLMOPT_TIMERFUNCTION, timer_cb);

	if (proto_start(ctx))
		stopping = 1;
	while (!stopping && lws_service(ctx, 0) >= 0)
		;
	many_timers(&arm_ns, &cancel_ns);
	snprintf(note, sizeof note,
		 "glue: %ld curl socket callbacks, %ld adoptions, %ld closes, "
		 "%ld POLLOUT re-arms, %ld lws hang-ups (before cleanup)\n"
		 "  %d timers (lws_sul): arm %.0f ns, cancel %.0f ns each",
		 n_sockcb, n_adopt, n_closed, n_rearm, n_hup, MANY, arm_ns, cancel_ns);
	rc = proto_finish(note); /* curl closes its sockets: wsi die async */
	lws_context_destroy(ctx);
	return rc;
}
