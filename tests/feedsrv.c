/*
 * feedsrv: the peer that test_ws and test_http start (a test tool, not a
 * test: it is built as $(BUILD)/tests/feedsrv).  One lws context, one port
 * on 127.0.0.1, serving:
 *
 *   websocket: every connection gets the same schedule of messages, one
 *     per --interval-ms (default 10; 0: as fast as the socket takes them;
 *     --rate N is 1000/N ms): the lines of --junk FILE (hostile messages,
 *     as they are), then one --oversize message, then the lines of --file
 *     FILE (a JSON Lines file; each line's text is one message).
 *     Options shape the feed's failures: stop sending but keep the
 *     connection (--stall-after), close after K messages (--close-after),
 *     wait for the client's first message before sending (--wait-sub, as
 *     feeds do before a subscription), echo what the client sends (--ack,
 *     so a test can see its subscription arrive), and split long messages
 *     into fragments (--frag).
 *   HTTP: every POST gets --http-status (200) with the body of --http-body
 *     FILE ("{}"), keep-alive.  --http-reset-every N resets the connection
 *     (RST, no answer) instead of answering the N-th request on it, the way
 *     a server drops an idle kept-alive connection just as a request
 *     arrives: once the request's body has arrived, or after its first
 *     MiB, so that a long upload is cut off in the middle.
 *     --http-keepalive S closes a connection idle for S seconds (60).
 *   --tls-cert/--tls-key serve both over TLS (wss://, https://).
 *
 * It prints "ready PORT" on stdout once listening, and exits on SIGTERM or
 * SIGINT, or after --lifetime seconds (default 30, at most 600), so a
 * forgotten server never lingers.
 *
 * This program deliberately shares no code with keeper's loop/ws/http
 * modules: it is the independent other end of their tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#define MSG_MAX (16u << 20)  /* one message or HTTP body: 16 MiB */
#define RX_MAX 65536         /* a client message to ack */
#define ACK_MAX 64           /* acks waiting to be sent, per connection */
#define HTTP_CHUNK 65536     /* body bytes per writeable callback */
#define RESET_AFTER (1u << 20) /* --http-reset-every: body bytes before it */

struct msg {
	const char *p;
	size_t len;
};

static struct {
	long port, interval_ms, stall_after, close_after, lifetime, frag;
	long oversize, http_status, http_reset_every, http_keepalive;
	int ack, wait_sub;
	const char *file, *junk, *http_body, *tls_cert, *tls_key;
} opt = { .interval_ms = 10, .stall_after = -1, .close_after = -1, .lifetime = 30,
	    .http_status = 200, .http_keepalive = 60 };

static struct msg *sched;       /* the per-connection schedule */
static size_t n_sched;
static char *file_buf, *junk_buf, *over_buf, *body_buf;
static size_t body_len;
static unsigned char *tx;       /* LWS_PRE + the longest message */
static size_t tx_cap;

static volatile sig_atomic_t interrupted;
static struct lws_context *ctx;
static lws_sorted_usec_list_t sul_check;
static int64_t deadline_ns;

enum kind { K_NONE, K_HTTP, K_WS };

struct conn {
	enum kind kind;
	/* websocket */
	struct lws *wsi;
	lws_sorted_usec_list_t tick;  /* paces the schedule */
	size_t next;                  /* index into sched */
	size_t sent;                  /* schedule messages sent */
	size_t frag_off;              /* bytes of sched[next] sent, mid-message */
	int due, subscribed, closing;
	char rx[RX_MAX];
	size_t rx_len;
	char *ack[ACK_MAX];
	size_t ack_len[ACK_MAX];
	unsigned ack_head, ack_n;
	/* http */
	size_t body_off, body_seen;
	int headers_sent, answering, reset;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void check_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	if (interrupted || now_ns() > deadline_ns) {
		interrupted = 1;
		lws_cancel_service(ctx);
		return;
	}
	lws_sul_schedule(ctx, 0, &sul_check, check_cb, 50 * LWS_US_PER_MS);
}

/* Reads a whole file into a NUL-terminated heap buffer. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		fprintf(stderr, "feedsrv: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t got;

		if (cap - n < 65536) {
			char *nb;

			if (cap > MSG_MAX * 4u) {
				fprintf(stderr, "feedsrv: %s: too large\n", path);
				free(buf);
				fclose(f);
				return NULL;
			}
			nb = realloc(buf, cap * 2 + 65536 + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap = cap * 2 + 65536;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

/* Appends each non-empty line of buf (without its "\n" or "\r\n"). */
static int add_lines(char *buf, size_t len)
{
	char *p = buf, *end = buf + len;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *e = nl ? nl : end;
		size_t n = (size_t)(e - p);

		if (n && p[n - 1] == '\r')
			n--;
		if (n) {
			struct msg *ns = realloc(sched, (n_sched + 1) * sizeof *sched);

			if (!ns || n > MSG_MAX)
				return -1;
			sched = ns;
			sched[n_sched].p = p;
			sched[n_sched++].len = n;
		}
		p = e + 1;
	}
	return 0;
}

static int build_schedule(void)
{
	size_t len, max = 64;

	if (opt.junk) {
		if (!(junk_buf = slurp(opt.junk, &len)) || add_lines(junk_buf, len))
			return -1;
	}
	if (opt.oversize > 0) {
		struct msg *ns = realloc(sched, (n_sched + 1) * sizeof *sched);
		size_t n = (size_t)opt.oversize;

		if (!ns || n < 12 || !(over_buf = malloc(n)))
			return -1;
		sched = ns;
		/* Valid JSON, so only its size is wrong: {"pad":"xxx…"} */
		memset(over_buf, 'x', n);
		memcpy(over_buf, "{\"pad\":\"", 8);
		memcpy(over_buf + n - 2, "\"}", 2);
		sched[n_sched].p = over_buf;
		sched[n_sched++].len = n;
	}
	if (opt.file) {
		if (!(file_buf = slurp(opt.file, &len)) || add_lines(file_buf, len))
			return -1;
	}
	if (opt.http_body) {
		if (!(body_buf = slurp(opt.http_body, &body_len)))
			return -1;
	} else {
		body_buf = strdup("{}");
		body_len = 2;
		if (!body_buf)
			return -1;
	}
	for (size_t i = 0; i < n_sched; i++)
		if (sched[i].len > max)
			max = sched[i].len;
	if (RX_MAX > max)
		max = RX_MAX;
	if (body_len > max)
		max = body_len;
	tx_cap = max;
	tx = malloc(LWS_PRE + tx_cap);
	return tx ? 0 : -1;
}

/* ---- websocket side */

static void tick_cb(lws_sorted_usec_list_t *sul)
{
	struct conn *c = (struct conn *)((char *)sul - offsetof(struct conn, tick));

	c->due = 1;
	lws_callback_on_writable(c->wsi);
}

static void arm_tick(struct conn *c, long ms)
{
	lws_sul_schedule(ctx, 0, &c->tick, tick_cb, (lws_usec_t)ms * LWS_US_PER_MS);
}

static int sending_allowed(const struct conn *c)
{
	return (!opt.wait_sub || c->subscribed) && c->next < n_sched &&
	       (opt.stall_after < 0 || (long)c->sent < opt.stall_after);
}

/* Sends the next piece of the current schedule message; 1 when it ended. */
static int send_sched_piece(struct conn *c)
{
	const struct msg *m = &sched[c->next];
	size_t n = m->len - c->frag_off;
	int flags;

	if (opt.frag > 0 && n > (size_t)opt.frag)
		n = (size_t)opt.frag;
	flags = lws_write_ws_flags(LWS_WRITE_TEXT, c->frag_off == 0,
				   c->frag_off + n == m->len);
	memcpy(tx + LWS_PRE, m->p + c->frag_off, n);
	if (lws_write(c->wsi, tx + LWS_PRE, n, (enum lws_write_protocol)flags) < (int)n)
		return -1;
	c->frag_off += n;
	if (c->frag_off < m->len)
		return 0;
	c->frag_off = 0;
	c->next++;
	c->sent++;
	return 1;
}

static int ws_writeable(struct conn *c)
{
	int r;

	if (c->closing) {
		lws_close_reason(c->wsi, LWS_CLOSE_STATUS_NORMAL,
				 (unsigned char *)"close-after", 11);
		return -1;
	}
	if (c->frag_off) { /* finish a fragmented message before anything */
		r = send_sched_piece(c);
		if (r < 0)
			return -1;
		goto after_sched;
	}
	if (c->ack_n) {
		unsigned i = c->ack_head;
		size_t n = c->ack_len[i];

		memcpy(tx + LWS_PRE, c->ack[i], n);
		free(c->ack[i]);
		c->ack[i] = NULL;
		c->ack_head = (i + 1) % ACK_MAX;
		c->ack_n--;
		if (lws_write(c->wsi, tx + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
			return -1;
		if (c->ack_n || c->due)
			lws_callback_on_writable(c->wsi);
		return 0;
	}
	if (!c->due || !sending_allowed(c))
		return 0;
	r = send_sched_piece(c);
	if (r < 0)
		return -1;
after_sched:
	if (r == 0) { /* more fragments of this message */
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	c->due = 0;
	if (opt.close_after >= 0 && (long)c->sent >= opt.close_after) {
		/* Close on the next writeable: the message is flushed by then. */
		c->closing = 1;
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	if (sending_allowed(c))
		arm_tick(c, opt.interval_ms);
	if (c->ack_n)
		lws_callback_on_writable(c->wsi);
	return 0;
}

static void ws_received(struct conn *c, struct lws *wsi, const void *in, size_t len)
{
	if (len > sizeof c->rx - c->rx_len)
		len = sizeof c->rx - c->rx_len; /* cut: only acks use it */
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return;
	if (opt.ack && c->ack_n < ACK_MAX) {
		unsigned i = (c->ack_head + c->ack_n) % ACK_MAX;

		c->ack[i] = malloc(c->rx_len ? c->rx_len : 1);
		if (c->ack[i]) {
			memcpy(c->ack[i], c->rx, c->rx_len);
			c->ack_len[i] = c->rx_len;
			c->ack_n++;
			lws_callback_on_writable(wsi);
		}
	}
	c->rx_len = 0;
	if (opt.wait_sub && !c->subscribed) {
		c->subscribed = 1;
		arm_tick(c, 0);
	}
}

static void ws_closed(struct conn *c)
{
	lws_sul_cancel(&c->tick);
	while (c->ack_n) {
		free(c->ack[c->ack_head]);
		c->ack_head = (c->ack_head + 1) % ACK_MAX;
		c->ack_n--;
	}
}

/* ---- HTTP side */

static int http_answer(struct lws *wsi, struct conn *c)
{
	unsigned char hdr[LWS_PRE + 512], *p = hdr + LWS_PRE, *end = hdr + sizeof hdr;
	size_t n;

	if (!c->headers_sent) {
		if (lws_add_http_common_headers(wsi, (unsigned)opt.http_status,
						"application/json", body_len, &p, end) ||
		    lws_finalize_write_http_header(wsi, hdr + LWS_PRE, &p, end))
			return -1;
		c->headers_sent = 1;
		c->body_off = 0;
		lws_callback_on_writable(wsi);
		return 0;
	}
	n = body_len - c->body_off;
	if (n > HTTP_CHUNK)
		n = HTTP_CHUNK;
	memcpy(tx + LWS_PRE, body_buf + c->body_off, n);
	c->body_off += n;
	if (lws_write(wsi, tx + LWS_PRE, n, c->body_off == body_len ?
		      LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
		return -1;
	if (c->body_off < body_len) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	c->answering = 0;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/*
 * Resets the connection now.  Returning -1 alone makes lws 4.1 shut the
 * socket down gracefully (FIN, then wait for the peer), which a client
 * still uploading may never see.  So the socket gets SO_LINGER 0 and its
 * fd is replaced by /dev/null under lws: the socket's last reference goes,
 * the kernel sends an RST, and lws later closes /dev/null instead.
 */
static int http_reset(struct lws *wsi)
{
	struct linger lg = { 1, 0 };
	int fd = lws_get_socket_fd(wsi), nul;

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	nul = open("/dev/null", O_RDWR);
	if (nul >= 0) {
		dup2(nul, fd);
		close(nul);
	}
	return -1;
}

static int feed_cb(struct lws *wsi, enum lws_callback_reasons reason,
		   void *user, void *in, size_t len)
{
	struct conn *c = user;

	switch (reason) {
	/* websocket */
	case LWS_CALLBACK_ESTABLISHED:
		memset(c, 0, sizeof *c);
		c->kind = K_WS;
		c->wsi = wsi;
		if (!opt.wait_sub)
			arm_tick(c, 0);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		ws_received(c, wsi, in, len);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writeable(c);
	case LWS_CALLBACK_CLOSED:
		ws_closed(c);
		return 0;

	/* HTTP */
	case LWS_CALLBACK_HTTP: {
		intptr_t nreq = (intptr_t)lws_get_opaque_user_data(wsi) + 1;

		/* pss is cleared per transaction; the opaque pointer lives as
		 * long as the connection, so it counts requests on it. */
		lws_set_opaque_user_data(wsi, (void *)nreq);
		memset(c, 0, sizeof *c);
		c->kind = K_HTTP;
		if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0) {
			lws_return_http_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, NULL);
			return lws_http_transaction_completed(wsi) ? -1 : 0;
		}
		c->reset = opt.http_reset_every > 0 && nreq % opt.http_reset_every == 0;
		return 0; /* the body follows */
	}
	case LWS_CALLBACK_HTTP_BODY:
		/* The content does not matter.  A request to reset is reset
		 * mid-body if it is long: its sender is still uploading. */
		c->body_seen += len;
		if (c->reset && c->body_seen >= RESET_AFTER)
			return http_reset(wsi);
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (c->reset)
			return http_reset(wsi);
		c->answering = 1;
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (c->kind != K_HTTP || !c->answering)
			return 0;
		return http_answer(wsi, c);
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "feed", feed_cb, sizeof(struct conn), RX_MAX, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static int usage(void)
{
	fprintf(stderr,
		"usage: feedsrv [--port P] [--file JSONL] [--rate N | --interval-ms MS]\n"
		"  [--stall-after K] [--close-after K] [--ack] [--wait-sub]\n"
		"  [--junk FILE] [--oversize BYTES] [--frag BYTES] [--lifetime S]\n"
		"  [--http-status CODE] [--http-body FILE] [--http-reset-every N]\n"
		"  [--http-keepalive S]\n"
		"  [--tls-cert PEM --tls-key PEM]\n"
		"Serves 127.0.0.1 only; prints \"ready PORT\" when listening.\n");
	return 2;
}

static int num(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long rate;

		if (!strcmp(o, "--ack")) {
			opt.ack = 1;
			continue;
		}
		if (!strcmp(o, "--wait-sub")) {
			opt.wait_sub = 1;
			continue;
		}
		if (!v)
			return -1;
		i++;
		if (!strcmp(o, "--port")) {
			if (num(v, 0, 65535, &opt.port))
				return -1;
		} else if (!strcmp(o, "--file")) {
			opt.file = v;
		} else if (!strcmp(o, "--junk")) {
			opt.junk = v;
		} else if (!strcmp(o, "--http-body")) {
			opt.http_body = v;
		} else if (!strcmp(o, "--tls-cert")) {
			opt.tls_cert = v;
		} else if (!strcmp(o, "--tls-key")) {
			opt.tls_key = v;
		} else if (!strcmp(o, "--rate")) {
			if (num(v, 1, 1000000, &rate))
				return -1;
			opt.interval_ms = 1000 / rate;
		} else if (!strcmp(o, "--interval-ms")) {
			if (num(v, 0, 3600000, &opt.interval_ms))
				return -1;
		} else if (!strcmp(o, "--stall-after")) {
			if (num(v, 0, 1L << 30, &opt.stall_after))
				return -1;
		} else if (!strcmp(o, "--close-after")) {
			if (num(v, 1, 1L << 30, &opt.close_after))
				return -1;
		} else if (!strcmp(o, "--lifetime")) {
			if (num(v, 1, 600, &opt.lifetime))
				return -1;
		} else if (!strcmp(o, "--frag")) {
			if (num(v, 1, MSG_MAX, &opt.frag))
				return -1;
		} else if (!strcmp(o, "--oversize")) {
			if (num(v, 12, MSG_MAX, &opt.oversize))
				return -1;
		} else if (!strcmp(o, "--http-status")) {
			if (num(v, 100, 599, &opt.http_status))
				return -1;
		} else if (!strcmp(o, "--http-keepalive")) {
			if (num(v, 1, 600, &opt.http_keepalive))
				return -1;
		} else if (!strcmp(o, "--http-reset-every")) {
			if (num(v, 1, 1L << 30, &opt.http_reset_every))
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

static void release(void)
{
	free(sched);
	free(file_buf);
	free(junk_buf);
	free(over_buf);
	free(body_buf);
	free(tx);
}

int main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct sigaction sa;
	int port;

	if (parse_args(argc, argv) || !opt.tls_cert != !opt.tls_key)
		return usage();
	if (build_schedule()) {
		fprintf(stderr, "feedsrv: cannot load the messages\n");
		release();
		return 1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(LLL_ERR, NULL);

	memset(&info, 0, sizeof info);
	info.port = (int)opt.port;
	info.iface = "127.0.0.1";
	info.protocols = protocols;
	info.keepalive_timeout = (int)opt.http_keepalive;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	if (opt.tls_cert) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = opt.tls_cert;
		info.ssl_private_key_filepath = opt.tls_key;
	}
	ctx = lws_create_context(&info);
	if (!ctx) {
		fprintf(stderr, "feedsrv: cannot listen on 127.0.0.1:%ld\n", opt.port);
		release();
		return 1;
	}
	port = lws_get_vhost_listen_port(lws_get_vhost_by_name(ctx, "default"));
	printf("ready %d\n", port);
	fflush(stdout);

	deadline_ns = now_ns() + (int64_t)opt.lifetime * 1000000000;
	lws_sul_schedule(ctx, 0, &sul_check, check_cb, 50 * LWS_US_PER_MS);
	while (!interrupted && lws_service(ctx, 0) >= 0)
		;
	lws_context_destroy(ctx);
	release();
	return 0;
}
