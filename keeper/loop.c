/*
 * loop: lws context, client vhost, timers, clock cache and stop flag (see
 * loop.h).
 *
 * The clock cache is invalidated after every lws_service() call and after
 * every timer callback.  lws 4.1 runs ripe timers *before* it polls, inside
 * the same lws_service() call, so a value read by a timer callback must not
 * survive into the I/O callbacks after the poll, which may be much later.
 *
 * The stop pipe: lws_cancel_service() would also wake the poll, but it may
 * log, so it is not async-signal-safe.  The loop instead owns a pipe whose
 * read end is adopted as a raw-file wsi (lws closes that end when the wsi
 * dies; the loop owns the fd, so no dup is needed), and loop_stop() writes
 * one byte to the other end.
 */
#include "keeper/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "keeper/log.h"

struct loop {
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	volatile sig_atomic_t stop;
	int wake_w;                 /* write end of the stop pipe, or -1 */
	loop_handler_t wake;        /* receives the read end's callbacks */
	int64_t now_ns, wall_ms;
	bool now_valid, wall_valid;
};

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The one lws protocol callback of the client vhost. */
static int dispatch(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	loop_handler_t *h;

	if (reason == LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS) {
		/* Debian's lws looks for CAs in its build-time default
		 * "../share", so without this wss:// verifies nothing. */
		if (user && SSL_CTX_set_default_verify_paths(user) != 1)
			log_warn("loop", "cannot load the system CA store");
		return 0;
	}
	if (!wsi)
		return 0;
	h = lws_get_opaque_user_data(wsi);
	if (!h)
		return 0; /* protocol-level callback, or a wsi let go of */
	return h->fn(h, wsi, reason, in, len);
}

static const struct lws_protocols client_protocols[] = {
	{ LOOP_PROTO_WS, dispatch, 0, LOOP_WS_RX_CHUNK, 0, NULL, 0 },
	{ LOOP_PROTO_RAW, dispatch, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static int wake_cb(loop_handler_t *h, struct lws *wsi,
		   enum lws_callback_reasons reason, void *in, size_t len)
{
	struct loop *loop = (struct loop *)((char *)h - offsetof(struct loop, wake));
	char buf[64];

	(void)in;
	(void)len;
	if (reason == LWS_CALLBACK_RAW_RX_FILE) {
		while (read(lws_get_socket_fd(wsi), buf, sizeof buf) > 0)
			;
	} else if (reason == LWS_CALLBACK_RAW_CLOSE_FILE) {
		/* Only at context destroy: the pipe never hangs up before. */
		lws_set_opaque_user_data(wsi, NULL);
		if (loop->wake_w >= 0) {
			close(loop->wake_w);
			loop->wake_w = -1;
		}
	}
	return 0;
}

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_msg(level == LLL_ERR ? LOGL_ERROR : LOGL_WARN, "lws", "%.*s",
		(int)n, line);
}

static kerr_t wake_pipe(struct loop *loop)
{
	lws_adopt_desc_t ad;
	int fds[2];

	if (pipe(fds))
		return KERR_IO;
	for (int i = 0; i < 2; i++) {
		int fl = fcntl(fds[i], F_GETFL);

		if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) ||
		    fcntl(fds[i], F_SETFD, FD_CLOEXEC)) {
			close(fds[0]);
			close(fds[1]);
			return KERR_IO;
		}
	}
	loop->wake.fn = wake_cb;
	memset(&ad, 0, sizeof ad);
	ad.vh = loop->vhost;
	ad.type = LWS_ADOPT_RAW_FILE_DESC;
	ad.fd.filefd = fds[0];
	ad.vh_prot_name = LOOP_PROTO_RAW;
	ad.opaque = &loop->wake;
	/* lws closes fds[0] itself if the adoption fails. */
	if (!lws_adopt_descriptor_vhost_via_info(&ad)) {
		close(fds[1]);
		return KERR_IO;
	}
	loop->wake_w = fds[1];
	return KERR_OK;
}

kerr_t loop_create(const loop_config_t *cfg, loop_t **out)
{
	struct lws_context_creation_info info;
	struct loop *loop;
	kerr_t err;

	if (!out)
		return KERR_ARG;
	*out = NULL;
	loop = calloc(1, sizeof *loop);
	if (!loop)
		return KERR_NOMEM;
	loop->wake_w = -1;
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);

	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = client_protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.timeout_secs = cfg && cfg->connect_timeout_s ?
			    cfg->connect_timeout_s : 10;
	info.vhost_name = "keeper-client";
	loop->ctx = lws_create_context(&info);
	if (!loop->ctx) {
		free(loop);
		return KERR_NOMEM;
	}
	loop->vhost = lws_get_vhost_by_name(loop->ctx, "keeper-client");
	err = loop->vhost ? wake_pipe(loop) : KERR_NOMEM;
	if (err) {
		lws_context_destroy(loop->ctx);
		free(loop);
		return err;
	}
	*out = loop;
	return KERR_OK;
}

void loop_destroy(loop_t *loop)
{
	if (!loop)
		return;
	lws_context_destroy(loop->ctx); /* closes the pipe's read end */
	if (loop->wake_w >= 0)
		close(loop->wake_w);
	free(loop);
}

kerr_t loop_run(loop_t *loop)
{
	kerr_t err = KERR_OK;

	do {
		if (lws_service(loop->ctx, 0) < 0) {
			err = KERR_IO;
			break;
		}
		loop->now_valid = false;
		loop->wall_valid = false;
	} while (!loop->stop);
	loop->stop = 0;
	return err;
}

void loop_stop(loop_t *loop)
{
	int saved = errno;

	loop->stop = 1;
	if (loop->wake_w >= 0) {
		/* A full pipe already holds a wake-up: EAGAIN is fine. */
		ssize_t n = write(loop->wake_w, "", 1);

		(void)n;
	}
	errno = saved;
}

int64_t loop_now_ns(loop_t *loop)
{
	if (!loop->now_valid) {
		loop->now_ns = clock_ns(CLOCK_MONOTONIC);
		loop->now_valid = true;
	}
	return loop->now_ns;
}

int64_t loop_now_ms(loop_t *loop)
{
	return loop_now_ns(loop) / 1000000;
}

int64_t loop_wall_ms(loop_t *loop)
{
	if (!loop->wall_valid) {
		loop->wall_ms = clock_ns(CLOCK_REALTIME) / 1000000;
		loop->wall_valid = true;
	}
	return loop->wall_ms;
}

static void timer_cb(lws_sorted_usec_list_t *sul)
{
	loop_timer_t *t = (loop_timer_t *)sul;
	loop_t *loop = t->loop;

	loop->now_valid = false;
	loop->wall_valid = false;
	t->fn(loop, t->arg);
	loop->now_valid = false;
	loop->wall_valid = false;
}

void loop_timer_init(loop_timer_t *t, loop_t *loop, loop_timer_fn fn, void *arg)
{
	memset(t, 0, sizeof *t);
	t->loop = loop;
	t->fn = fn;
	t->arg = arg;
}

void loop_timer_arm_us(loop_timer_t *t, int64_t delay_us)
{
	/* lws reads a delay of -1 as "cancel" (LWS_SET_TIMER_USEC_CANCEL). */
	if (delay_us < 0)
		delay_us = 0;
	lws_sul_schedule(t->loop->ctx, 0, &t->sul, timer_cb, (lws_usec_t)delay_us);
}

void loop_timer_arm_ms(loop_timer_t *t, int64_t delay_ms)
{
	if (delay_ms > INT64_MAX / 1000)
		delay_ms = INT64_MAX / 1000;
	loop_timer_arm_us(t, delay_ms * 1000);
}

void loop_timer_cancel(loop_timer_t *t)
{
	lws_sul_cancel(&t->sul);
}

bool loop_timer_armed(const loop_timer_t *t)
{
	return !lws_dll2_is_detached(&t->sul.list);
}

struct lws_context *loop_lws(loop_t *loop)
{
	return loop->ctx;
}

struct lws_vhost *loop_vhost(loop_t *loop)
{
	return loop->vhost;
}

kerr_t loop_listen(loop_t *loop, const char *name, const char *iface,
		   int port, const struct lws_protocols *protocols,
		   int *bound_port)
{
	loop_listen_opts_t o;

	memset(&o, 0, sizeof o);
	o.name = name;
	o.iface = iface;
	o.port = port;
	o.protocols = protocols;
	return loop_listen_opts(loop, &o, bound_port);
}

kerr_t loop_listen_opts(loop_t *loop, const loop_listen_opts_t *o,
			int *bound_port)
{
	struct lws_context_creation_info info;
	struct lws_vhost *vh;

	if (!loop || !o || !o->name || !o->protocols || o->port < 0 ||
	    o->port > 65535)
		return KERR_ARG;
	memset(&info, 0, sizeof info);
	info.vhost_name = o->name;
	info.iface = o->iface;
	info.port = o->port;
	info.protocols = o->protocols;
	info.user = o->user;
	info.finalize = o->finalize;
	info.finalize_arg = o->finalize_arg;
	vh = lws_create_vhost(loop->ctx, &info);
	if (!vh)
		return KERR_IO;
	if (bound_port)
		*bound_port = lws_get_vhost_listen_port(vh);
	return KERR_OK;
}
