/*
 * ws: a self-healing websocket client on the loop (see ws.h).
 *
 * A ws_t lives through many lws connections.  Each connection attempt is
 * one client wsi whose opaque pointer is the ws_t's loop handler; when an
 * attempt or connection ends (lws said so, or ws decided so), ws sets that
 * wsi's opaque pointer to NULL first.  From then on the loop drops the
 * wsi's remaining callbacks, so at any moment at most one wsi speaks for a
 * ws_t, and a late callback from an old connection cannot touch the new
 * one.  A wsi ws gives up on (ping timeout, ws_destroy) is killed with
 * LWS_TO_KILL_ASYNC, never synchronously: the call may come from inside an
 * lws callback of that very wsi.
 *
 * Timers are per ws_t: retry (back-off), keep-alive (ping, then check for
 * an answer) and silence.  The keep-alive and silence timers are not moved
 * for every frame: a frame only stores loop_now_ms(), and the timer, when
 * it fires, re-arms itself for the remaining time if frames came in.
 *
 * The send queue is one buffer of entries [size_t len][LWS_PRE][text],
 * consumed from the front and compacted with one memmove when an append
 * would not fit at the end; it never grows.
 */
#include "keeper/ws.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeper/log.h"

#define URL_MAX 2048
#define NAME_MAX_LEN 64
#define LOG_EVERY_MS 1000

enum state {
	ST_IDLE,       /* waiting for the retry timer */
	ST_CONNECTING, /* a wsi is connecting / handshaking */
	ST_OPEN,
};

/* Queue entry header: the payload follows at +ENTRY_HDR. */
#define ENTRY_LEN_SIZE sizeof(size_t)
#define ENTRY_HDR (ENTRY_LEN_SIZE + LWS_PRE)
#define ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

struct ws {
	loop_handler_t handler; /* first: the loop hands back this pointer */
	loop_t *loop;
	struct lws *wsi;
	enum state state;

	/* where to */
	char *url_buf;          /* one allocation: the strings below */
	const char *host;       /* to connect to, without [ ] */
	const char *host_hdr;   /* Host header and SNI: [ ] kept for IPv6 */
	const char *path, *name, *url;
	int port;
	bool tls;

	/* settings */
	size_t max_message, q_max_bytes;
	uint32_t q_max_msgs;
	uint32_t backoff_min, backoff_max, backoff_reset, jitter_pct;
	uint32_t ping_interval, ping_timeout;
	ws_callbacks_t cb;
	void *ctx;

	/* receive: a message spread over several chunks is gathered here */
	char *rx;
	size_t rx_len;
	bool rx_in_msg, rx_drop, rx_binary;

	/* send queue */
	unsigned char *q;
	size_t q_cap, q_head, q_tail, q_bytes;
	uint32_t q_n;
	bool ping_pending;
	ws_close_t close_reason; /* set before a callback returns -1 */

	/* timers and times (loop_now_ms) */
	loop_timer_t retry_t, ka_t, silence_t;
	int64_t opened_ms, last_rx_ms, ping_sent_ms;
	bool ka_waiting;
	uint32_t attempt;
	uint64_t rng;
	uint32_t silence_ms;
	int64_t silence_ref_ms;
	bool silence_fired;
	int peer_close_code;

	/* warning lines: connection trouble and bad data are limited apart,
	 * so a flood of junk cannot hide a reconnect */
	struct limiter {
		int64_t last_ms;
		bool any;
		uint32_t suppressed;
	} lim_conn, lim_data;

	ws_stats_t st;
};

static void ws_connect(ws_t *ws);

/* ---- logging, at most one warning line per connection per second */

static void warn_limited(ws_t *ws, struct limiter *lim, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void warn_limited(ws_t *ws, struct limiter *lim, const char *fmt, ...)
{
	int64_t now = loop_now_ms(ws->loop);
	char msg[512];
	va_list ap;

	if (lim->any && now - lim->last_ms < LOG_EVERY_MS) {
		lim->suppressed++;
		return;
	}
	if (!log_enabled(LOGL_WARN))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (lim->suppressed)
		log_warn("ws", "%s: %s (%u similar lines suppressed)", ws->name, msg,
			 lim->suppressed);
	else
		log_warn("ws", "%s: %s", ws->name, msg);
	lim->any = true;
	lim->last_ms = now;
	lim->suppressed = 0;
}

/* ---- URL: ws[s]://host[:port][/path][?query] */

static kerr_t parse_url(ws_t *ws, const char *url, const char *name)
{
	const char *p, *auth_end, *h0, *h1, *port_s = NULL;
	size_t ulen = strlen(url), nlen, hlen, plen;
	bool v6 = false;
	char *b;
	long port;

	if (ulen == 0 || ulen > URL_MAX)
		return KERR_ARG;
	for (size_t i = 0; i < ulen; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			return KERR_ARG; /* would break the request line */
	if (!strncmp(url, "ws://", 5)) {
		ws->tls = false;
		port = 80;
		p = url + 5;
	} else if (!strncmp(url, "wss://", 6)) {
		ws->tls = true;
		port = 443;
		p = url + 6;
	} else {
		return KERR_ARG;
	}
	auth_end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(auth_end - p)))
		return KERR_ARG; /* user:password@ is not supported */
	if (*p == '[') { /* [IPv6 literal] */
		v6 = true;
		h0 = p + 1;
		h1 = memchr(h0, ']', (size_t)(auth_end - h0));
		if (!h1)
			return KERR_ARG;
		if (h1 + 1 < auth_end) {
			if (h1[1] != ':')
				return KERR_ARG;
			port_s = h1 + 2;
		}
	} else {
		h0 = p;
		h1 = memchr(p, ':', (size_t)(auth_end - p));
		if (h1)
			port_s = h1 + 1;
		else
			h1 = auth_end;
	}
	hlen = (size_t)(h1 - h0);
	if (hlen == 0 || hlen > 255)
		return KERR_ARG;
	if (port_s) {
		port = 0;
		if (port_s == auth_end)
			return KERR_ARG;
		for (const char *q = port_s; q < auth_end; q++) {
			if (*q < '0' || *q > '9' || port > 65535)
				return KERR_ARG;
			port = port * 10 + (*q - '0');
		}
		if (port < 1 || port > 65535)
			return KERR_ARG;
	}
	plen = strcspn(auth_end, "#");
	nlen = name ? strlen(name) : hlen;
	if (nlen > NAME_MAX_LEN)
		nlen = NAME_MAX_LEN;

	/* host \0 [host] \0 "/"path \0 name \0 url \0 */
	b = malloc(hlen + 1 + hlen + 3 + plen + 2 + nlen + 1 + ulen + 1);
	if (!b)
		return KERR_NOMEM;
	ws->url_buf = b;
	ws->host = b;
	memcpy(b, h0, hlen);
	b += hlen;
	*b++ = 0;
	ws->host_hdr = v6 ? b : ws->host;
	if (v6) {
		*b++ = '[';
		memcpy(b, h0, hlen);
		b += hlen;
		*b++ = ']';
		*b++ = 0;
	}
	ws->path = b;
	if (*auth_end != '/')
		*b++ = '/';
	memcpy(b, auth_end, plen);
	b += plen;
	*b++ = 0;
	ws->name = b;
	memcpy(b, name ? name : h0, nlen);
	b += nlen;
	*b++ = 0;
	ws->url = b;
	memcpy(b, url, ulen + 1);
	ws->port = (int)port;
	return KERR_OK;
}

/* ---- back-off */

static uint64_t rng_next(ws_t *ws)
{
	/* xorshift64*: jitter needs spread, not secrecy */
	ws->rng ^= ws->rng >> 12;
	ws->rng ^= ws->rng << 25;
	ws->rng ^= ws->rng >> 27;
	return ws->rng * 0x2545F4914F6CDD1DULL;
}

static uint32_t backoff_ms(ws_t *ws)
{
	uint64_t base = ws->backoff_min, spread;

	for (uint32_t i = 0; i < ws->attempt && base < ws->backoff_max; i++)
		base *= 2;
	if (base > ws->backoff_max)
		base = ws->backoff_max;
	if (ws->attempt < UINT32_MAX)
		ws->attempt++;
	spread = base * ws->jitter_pct / 100;
	if (!spread)
		return (uint32_t)base;
	return (uint32_t)(base - spread + rng_next(ws) % (2 * spread + 1));
}

/* ---- send queue */

static void queue_clear(ws_t *ws)
{
	ws->q_head = ws->q_tail = ws->q_bytes = 0;
	ws->q_n = 0;
	ws->ping_pending = false;
}

static size_t entry_size(size_t len)
{
	return ALIGN8(ENTRY_HDR + len);
}

/* ---- connection end */

/*
 * The current attempt or connection is over.  kill: ws decided it, so the
 * wsi must still be closed.  Detaches the wsi, resets per-connection
 * state, schedules the retry, then tells the owner (last: the owner may
 * call ws_send or ws_silence_arm, which must see the closed state).
 */
static void lost(ws_t *ws, bool kill, ws_close_t reason, const char *why)
{
	bool was_open = ws->state == ST_OPEN;
	int64_t now = loop_now_ms(ws->loop);
	uint32_t delay;

	if (ws->wsi) {
		lws_set_opaque_user_data(ws->wsi, NULL);
		if (kill)
			lws_set_timeout(ws->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	}
	ws->wsi = NULL;
	ws->state = ST_IDLE;
	loop_timer_cancel(&ws->ka_t);
	queue_clear(ws);
	ws->rx_len = 0;
	ws->rx_in_msg = ws->rx_drop = false;

	if (was_open && now - ws->opened_ms >= (int64_t)ws->backoff_reset)
		ws->attempt = 0;
	delay = backoff_ms(ws);
	ws->st.reconnects++;
	loop_timer_arm_ms(&ws->retry_t, delay);
	if (was_open) {
		if (ws->peer_close_code)
			warn_limited(ws, &ws->lim_conn, "connection closed (%s, close code %d); "
				     "reconnecting in %u ms", why,
				     ws->peer_close_code, delay);
		else
			warn_limited(ws, &ws->lim_conn,
				     "connection closed (%s); reconnecting in %u ms",
				     why, delay);
		if (ws->cb.on_close)
			ws->cb.on_close(ws, reason, ws->ctx);
	} else {
		ws->st.connect_fails++;
		warn_limited(ws, &ws->lim_conn,
			     "connect to %s failed (%s); retrying in %u ms",
			     ws->url, why, delay);
	}
}

/* ---- timers */

static void retry_cb(loop_t *loop, void *arg)
{
	(void)loop;
	ws_connect(arg);
}

static void ka_cb(loop_t *loop, void *arg)
{
	ws_t *ws = arg;
	int64_t now = loop_now_ms(loop);

	if (ws->state != ST_OPEN)
		return;
	if (!ws->ka_waiting) {
		ws->ping_pending = true;
		ws->ping_sent_ms = now;
		ws->ka_waiting = true;
		lws_callback_on_writable(ws->wsi);
		loop_timer_arm_ms(&ws->ka_t, ws->ping_timeout);
		return;
	}
	if (ws->last_rx_ms >= ws->ping_sent_ms) {
		ws->ka_waiting = false;
		loop_timer_arm_ms(&ws->ka_t, ws->ping_sent_ms + ws->ping_interval - now);
		return;
	}
	ws->st.timeouts++;
	lost(ws, true, WS_CLOSE_TIMEOUT, "no pong");
}

static void silence_cb(loop_t *loop, void *arg)
{
	ws_t *ws = arg;
	int64_t due = ws->silence_ref_ms + ws->silence_ms, now = loop_now_ms(loop);

	if (now < due) { /* messages came in since the timer was armed */
		loop_timer_arm_ms(&ws->silence_t, due - now);
		return;
	}
	ws->silence_fired = true;
	ws->st.silences++;
	if (ws->cb.on_silence)
		ws->cb.on_silence(ws, ws->ctx);
}

/* ---- lws callbacks */

static void deliver(ws_t *ws, const char *msg, size_t len)
{
	if (ws->rx_binary) {
		ws->st.malformed++;
		warn_limited(ws, &ws->lim_data, "binary message of %zu bytes dropped", len);
		return;
	}
	ws->st.messages++;
	if (ws->silence_ms) {
		ws->silence_ref_ms = loop_now_ms(ws->loop);
		if (ws->silence_fired) {
			ws->silence_fired = false;
			loop_timer_arm_ms(&ws->silence_t, ws->silence_ms);
		}
	}
	if (ws->cb.on_message)
		ws->cb.on_message(ws, msg, len, ws->ctx);
}

static void on_receive(ws_t *ws, struct lws *wsi, const char *in, size_t len)
{
	bool last = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);

	ws->last_rx_ms = loop_now_ms(ws->loop);
	ws->st.bytes += len;
	if (!ws->rx_in_msg) {
		ws->rx_in_msg = true;
		ws->rx_binary = lws_frame_is_binary(wsi) != 0;
		ws->rx_len = 0;
		ws->rx_drop = false;
		if (last && len <= ws->max_message) {
			/* The whole message in one chunk: hand it over in place. */
			ws->rx_in_msg = false;
			deliver(ws, in, len);
			return;
		}
	}
	if (!ws->rx_drop) {
		if (len > ws->max_message - ws->rx_len) {
			ws->rx_drop = true;
			ws->st.oversized++;
			warn_limited(ws, &ws->lim_data, "message over %zu bytes dropped",
				     ws->max_message);
		} else {
			memcpy(ws->rx + ws->rx_len, in, len);
			ws->rx_len += len;
		}
	}
	if (!last)
		return;
	ws->rx_in_msg = false;
	if (!ws->rx_drop)
		deliver(ws, ws->rx, ws->rx_len);
	ws->rx_len = 0;
	ws->rx_drop = false;
}

static int on_writeable(ws_t *ws, struct lws *wsi)
{
	if (ws->ping_pending) {
		unsigned char buf[LWS_PRE + 1];

		ws->ping_pending = false;
		if (lws_write(wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) < 0) {
			ws->close_reason = WS_CLOSE_ERROR;
			return -1;
		}
		ws->st.pings++;
	} else if (ws->q_n) {
		unsigned char *e = ws->q + ws->q_head;
		size_t len;

		memcpy(&len, e, sizeof len);
		/* lws writes the frame header into the LWS_PRE bytes before
		 * the text, and masks the text in place: a client frame is
		 * sent once, so the entry may be changed. */
		if (lws_write(wsi, e + ENTRY_HDR, len, LWS_WRITE_TEXT) < (int)len) {
			ws->close_reason = WS_CLOSE_ERROR;
			return -1;
		}
		ws->st.sent++;
		ws->q_head += entry_size(len);
		ws->q_bytes -= len;
		if (--ws->q_n == 0)
			ws->q_head = ws->q_tail = 0;
	}
	if (ws->ping_pending || ws->q_n)
		lws_callback_on_writable(wsi);
	return 0;
}

static void on_established(ws_t *ws)
{
	int64_t now = loop_now_ms(ws->loop);

	ws->state = ST_OPEN;
	ws->opened_ms = now;
	ws->last_rx_ms = now;
	ws->peer_close_code = 0;
	ws->close_reason = WS_CLOSE_PEER;
	ws->ka_waiting = false;
	ws->st.opens++;
	if (ws->ping_interval != WS_NO_PING)
		loop_timer_arm_ms(&ws->ka_t, ws->ping_interval);
	log_info("ws", "%s: connected to %s", ws->name, ws->url);
	if (ws->cb.on_open)
		ws->cb.on_open(ws, ws->ctx);
}

static int ws_handler(loop_handler_t *h, struct lws *wsi,
		      enum lws_callback_reasons reason, void *in, size_t len)
{
	ws_t *ws = (ws_t *)h;

	/* Callbacks can come from inside lws_client_connect_via_info(),
	 * before it has returned the wsi. */
	if (!ws->wsi && ws->state == ST_CONNECTING)
		ws->wsi = wsi;
	if (wsi != ws->wsi) {
		lws_set_opaque_user_data(wsi, NULL);
		return 0;
	}
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
		char why[128];

		snprintf(why, sizeof why, "%.*s", in ? (int)strnlen(in, 120) : 7,
			 in ? (const char *)in : "unknown");
		lost(ws, false, WS_CLOSE_PEER, why);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		on_established(ws);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		on_receive(ws, wsi, in, len);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		ws->last_rx_ms = loop_now_ms(ws->loop);
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return on_writeable(ws, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (in && len >= 2)
			ws->peer_close_code = ((const unsigned char *)in)[0] << 8 |
					      ((const unsigned char *)in)[1];
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
	case LWS_CALLBACK_WSI_DESTROY:
		if (ws->state == ST_OPEN)
			lost(ws, false, ws->close_reason,
			     ws->close_reason == WS_CLOSE_ERROR ? "write failed" :
			     ws->peer_close_code ? "closed by the server" : "connection lost");
		else
			lost(ws, false, WS_CLOSE_PEER, "closed during the handshake");
		return 0;
	default:
		return 0;
	}
}

static void ws_connect(ws_t *ws)
{
	struct lws_client_connect_info ci;
	struct lws *wsi;

	memset(&ci, 0, sizeof ci);
	ci.context = loop_lws(ws->loop);
	ci.vhost = loop_vhost(ws->loop);
	ci.address = ws->host;
	ci.port = ws->port;
	ci.path = ws->path;
	ci.host = ws->host_hdr;
	ci.ssl_connection = ws->tls ? LCCSCF_USE_SSL : 0;
	ci.local_protocol_name = LOOP_PROTO_WS;
	ci.ietf_version_or_minus_one = -1;
	ci.opaque_user_data = &ws->handler;
	ws->state = ST_CONNECTING;
	ws->wsi = NULL;
	wsi = lws_client_connect_via_info(&ci);
	if (ws->state != ST_CONNECTING)
		return; /* failed inside the call, and handled already */
	if (!wsi)
		lost(ws, false, WS_CLOSE_PEER, "lws refused the connection");
	else
		ws->wsi = wsi;
}

/* ---- public */

kerr_t ws_create(loop_t *loop, const ws_config_t *cfg, ws_t **out)
{
	ws_t *ws;
	kerr_t err;

	if (!out)
		return KERR_ARG;
	*out = NULL;
	if (!loop || !cfg || !cfg->url)
		return KERR_ARG;
	ws = calloc(1, sizeof *ws);
	if (!ws)
		return KERR_NOMEM;
	ws->handler.fn = ws_handler;
	ws->loop = loop;
	err = parse_url(ws, cfg->url, cfg->name);
	if (err) {
		free(ws);
		return err;
	}
	ws->max_message = cfg->max_message ? cfg->max_message : 1u << 20;
	ws->q_max_bytes = cfg->send_queue_bytes ? cfg->send_queue_bytes : 64u << 10;
	ws->q_max_msgs = cfg->send_queue_msgs ? cfg->send_queue_msgs : 32;
	ws->backoff_min = cfg->backoff_min_ms ? cfg->backoff_min_ms : 250;
	ws->backoff_max = cfg->backoff_max_ms ? cfg->backoff_max_ms : 30000;
	ws->backoff_reset = cfg->backoff_reset_ms ? cfg->backoff_reset_ms : 10000;
	ws->jitter_pct = cfg->jitter_pct == WS_NO_JITTER ? 0 :
			 cfg->jitter_pct ? cfg->jitter_pct : 20;
	ws->ping_interval = cfg->ping_interval_ms ? cfg->ping_interval_ms : 20000;
	ws->ping_timeout = cfg->ping_timeout_ms ? cfg->ping_timeout_ms : 10000;
	ws->cb = cfg->cb;
	ws->ctx = cfg->ctx;
	if (ws->backoff_max < ws->backoff_min || ws->jitter_pct > 100 ||
	    ws->max_message > (1u << 30) || ws->q_max_bytes > (1u << 30) ||
	    ws->q_max_msgs > 65536) {
		free(ws->url_buf);
		free(ws);
		return KERR_ARG;
	}
	/* Room for every message the limits allow, whatever their sizes. */
	ws->q_cap = ws->q_max_bytes + (size_t)ws->q_max_msgs * (ENTRY_HDR + 7);
	ws->q = malloc(ws->q_cap);
	ws->rx = malloc(ws->max_message);
	if (!ws->q || !ws->rx) {
		free(ws->q);
		free(ws->rx);
		free(ws->url_buf);
		free(ws);
		return KERR_NOMEM;
	}
	ws->rng = (uint64_t)loop_now_ns(loop) ^ (uint64_t)(uintptr_t)ws;
	ws->rng = ws->rng * 0x9E3779B97F4A7C15ULL | 1;
	loop_timer_init(&ws->retry_t, loop, retry_cb, ws);
	loop_timer_init(&ws->ka_t, loop, ka_cb, ws);
	loop_timer_init(&ws->silence_t, loop, silence_cb, ws);
	ws->state = ST_IDLE;
	loop_timer_arm_ms(&ws->retry_t, 0);
	*out = ws;
	return KERR_OK;
}

void ws_destroy(ws_t *ws)
{
	if (!ws)
		return;
	loop_timer_cancel(&ws->retry_t);
	loop_timer_cancel(&ws->ka_t);
	loop_timer_cancel(&ws->silence_t);
	if (ws->wsi) {
		lws_set_opaque_user_data(ws->wsi, NULL);
		lws_set_timeout(ws->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	}
	free(ws->q);
	free(ws->rx);
	free(ws->url_buf);
	free(ws);
}

kerr_t ws_send(ws_t *ws, const char *text, size_t len)
{
	size_t need;
	unsigned char *e;

	if (!ws || (!text && len))
		return KERR_ARG;
	if (ws->state != ST_OPEN)
		return KERR_IO;
	if (len > ws->q_max_bytes)
		return KERR_TOO_LONG;
	if (ws->q_n >= ws->q_max_msgs || len > ws->q_max_bytes - ws->q_bytes) {
		ws->st.send_full++;
		return KERR_BUF;
	}
	need = entry_size(len);
	if (need > ws->q_cap - ws->q_tail) {
		/* Cannot fail: q_cap holds every queue the limits allow. */
		memmove(ws->q, ws->q + ws->q_head, ws->q_tail - ws->q_head);
		ws->q_tail -= ws->q_head;
		ws->q_head = 0;
	}
	e = ws->q + ws->q_tail;
	memcpy(e, &len, sizeof len);
	if (len)
		memcpy(e + ENTRY_HDR, text, len);
	ws->q_tail += need;
	ws->q_bytes += len;
	ws->q_n++;
	lws_callback_on_writable(ws->wsi);
	return KERR_OK;
}

void ws_silence_arm(ws_t *ws, uint32_t ms)
{
	ws->silence_ms = ms;
	ws->silence_fired = false;
	if (!ms) {
		loop_timer_cancel(&ws->silence_t);
		return;
	}
	ws->silence_ref_ms = loop_now_ms(ws->loop);
	loop_timer_arm_ms(&ws->silence_t, ms);
}

void ws_note_malformed(ws_t *ws, const char *why)
{
	ws->st.malformed++;
	warn_limited(ws, &ws->lim_data, "malformed message: %s",
		     why ? why : "rejected by the parser");
}

bool ws_is_open(const ws_t *ws)
{
	return ws->state == ST_OPEN;
}

const ws_stats_t *ws_stats(const ws_t *ws)
{
	return &ws->st;
}

const char *ws_name(const ws_t *ws)
{
	return ws->name;
}
