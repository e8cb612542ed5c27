/*
 * http: curl multi_socket glue on the lws loop, and the request slots (see
 * http.h).
 *
 * curl tells which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to
 * call it back (CURLMOPT_TIMERFUNCTION).  lws 4.1 can only watch an fd it
 * holds as a wsi, so each curl socket is adopted as a raw-file wsi, with
 * these rules (tests/proto/RESULTS.md has the experiments behind them):
 *
 *  1. lws closes a raw-file wsi's fd when the wsi dies, and kills the wsi
 *     on its own when it sees POLLHUP.  curl owns its sockets, so lws gets
 *     a dup() of each; CURLOPT_CLOSESOCKETFUNCTION says when curl closes
 *     the original, and then the wsi is let go (opaque pointer cleared
 *     first, because curl may hand out the same fd number at once) and
 *     killed asynchronously.
 *  2. CURL_POLL_REMOVE (a connection idle in the keep-alive cache) only
 *     switches interest off, so a kept-alive request costs no adoption.
 *  3. lws clears POLLOUT after the writeable callback returns, so asking
 *     for it again from inside that callback is lost: the re-arm is
 *     deferred to a zero-delay timer.
 *  4. A wsi lws dropped by itself (hang-up) is reported to curl from that
 *     timer too, never from inside lws's close path.
 *  5. TCP_QUICKACK is set on a socket whenever curl starts waiting for
 *     an answer on it (CURL_POLL_IN) and before each read event.  A server
 *     that writes an answer's head and body in two send()s without
 *     TCP_NODELAY (Nagle on) holds the body until the head is ACKed, and
 *     Linux delays that ACK (40 ms) on a connection where we talk in turns:
 *     sending a request soon after an answer puts the socket in
 *     "pingpong" mode, where reading a small segment no longer ACKs it.
 *     The flag leaves that mode (and sends an ACK already due), so the
 *     read of the head ACKs it.  Only at read events is not enough: curl
 *     may read the head in the very pass that sent the request (rule 6
 *     makes that common), before any event.  Without it: 40 ms per
 *     request, on every request, with no error and nothing for the
 *     timeout to catch.  This is what "stalled" tests/bench_trip (keeper
 *     issue 5): its fake chain wrote in two parts, each trip cost two such
 *     waits (~88 ms), and the run hit its 30 s limit after ~330 trips with
 *     every request answered.  Nothing in this glue was stuck: ss showed
 *     every keeper socket's receive queue empty and the server's send
 *     queue holding the unACKed body; poll() watched the right socket.
 *     Keeper does not choose its RPC servers, so it defends itself: the
 *     flag costs a setsockopt() per request and per read event, and is
 *     harmless on a server that writes its answer at once.
 *  6. http_post() kicks curl at once (curl_multi_socket_action on its
 *     expired timers, which the new handle's "run now" is), so a request
 *     on a kept-alive connection is on the wire when http_post() returns
 *     instead of one loop turn later on curl's 0 ms timer; trips
 *     broadcast this way.  Transfers that pass finished are reaped from a
 *     zero-delay timer, so a callback still never runs inside http_post().
 *
 * Sockets are few (requests in flight plus kept-alive connections), so
 * they live in a small table searched by fd.
 *
 * Every curl_multi_socket_action() is followed by reaping finished
 * transfers; user callbacks run there, outside every curl callback, so
 * they may post new requests.
 */
#include "keeper/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "keeper/log.h"

#define RESP_INITIAL 16384
#define REQ_INITIAL 4096

struct hsock {
	loop_handler_t handler; /* first: the loop hands back this pointer */
	struct http *h;
	curl_socket_t fd;       /* CURL_SOCKET_BAD when the record is free */
	struct lws *wsi;        /* raw-file wsi on a dup of fd, or NULL */
	int want;               /* CURL_POLL_* asked for; 0 after REMOVE */
	bool rearm_out;         /* rule 3 */
	bool hup;               /* rule 4 */
};

struct slot {
	struct http *h;
	CURL *easy;
	bool busy;
	unsigned flags;
	bool retried, overflow;
	uint32_t timeout_ms;
	int64_t start_ns;
	long connects;
	http_done_fn done;
	void *ctx;
	char *req;              /* the body, kept for a retry */
	size_t req_cap;
	char *resp;             /* the answer, NUL-terminated */
	size_t resp_len, resp_cap;
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *xhdr; /* http_post_ex: the shared headers plus
				    this request's, or NULL */
};

struct http {
	loop_t *loop;
	CURLM *multi;
	struct curl_slist *headers;
	struct slot *slots;
	uint32_t n_slots, inflight;
	struct hsock *socks;
	uint32_t n_socks;
	size_t max_request, max_response;
	uint32_t connect_timeout_ms;
	loop_timer_t curl_t;     /* curl's own timeout */
	loop_timer_t deferred_t; /* rules 3 and 4 */
	loop_timer_t reap_t;     /* rule 6 */
	http_stats_t st;
};

static void reap(struct http *h);

/* Back to the shared header list once a request with its own has left
 * curl (or never entered it). */
static void drop_headers(struct slot *sl)
{
	if (!sl->xhdr)
		return;
	curl_easy_setopt(sl->easy, CURLOPT_HTTPHEADER, sl->h->headers);
	curl_slist_free_all(sl->xhdr);
	sl->xhdr = NULL;
}

/* ---- sockets */

static struct hsock *sock_find(struct http *h, curl_socket_t fd)
{
	for (uint32_t i = 0; i < h->n_socks; i++)
		if (h->socks[i].fd == fd)
			return &h->socks[i];
	return NULL;
}

static void kick(struct http *h, curl_socket_t fd, int ev)
{
	int running;

	curl_multi_socket_action(h->multi, fd, ev, &running);
	reap(h);
}

static int sock_handler(loop_handler_t *hd, struct lws *wsi,
			enum lws_callback_reasons reason, void *in, size_t len);

static int adopt(struct hsock *s)
{
	lws_adopt_desc_t ad;
	int d = dup(s->fd);

	if (d < 0)
		return -1;
	memset(&ad, 0, sizeof ad);
	ad.vh = loop_vhost(s->h->loop);
	ad.type = LWS_ADOPT_RAW_FILE_DESC;
	ad.fd.filefd = d;
	ad.vh_prot_name = LOOP_PROTO_RAW;
	ad.opaque = &s->handler;
	s->wsi = lws_adopt_descriptor_vhost_via_info(&ad); /* closes d on failure */
	return s->wsi ? 0 : -1;
}

static void interest(struct hsock *s)
{
	lws_rx_flow_control(s->wsi, (s->want & CURL_POLL_IN) ? 1 : 0);
	if (s->want & CURL_POLL_OUT)
		lws_callback_on_writable(s->wsi);
}

static void quickack(curl_socket_t fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp,
		   void *sockp)
{
	struct http *h = userp;
	struct hsock *s = sock_find(h, fd);

	(void)e;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			s->want = 0;
			if (s->wsi)
				lws_rx_flow_control(s->wsi, 0);
		}
		return 0;
	}
	if (!s) {
		s = sock_find(h, CURL_SOCKET_BAD);
		if (!s) {
			log_error("http", "socket table full (%u)", h->n_socks);
			return -1; /* curl fails the transfer */
		}
		memset(s, 0, sizeof *s);
		s->handler.fn = sock_handler;
		s->h = h;
		s->fd = fd;
	}
	s->want = what;
	if (what & CURL_POLL_IN)
		quickack(fd);
	if (!s->wsi && adopt(s)) {
		log_error("http", "lws could not adopt a curl socket");
		return -1;
	}
	interest(s);
	return 0;
}

static int closesocket_cb(void *clientp, curl_socket_t fd)
{
	struct hsock *s = sock_find(clientp, fd);

	if (s) {
		if (s->wsi) {
			lws_set_opaque_user_data(s->wsi, NULL);
			lws_rx_flow_control(s->wsi, 0);
			lws_set_timeout(s->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT,
					LWS_TO_KILL_ASYNC);
		}
		memset(s, 0, sizeof *s);
		s->fd = CURL_SOCKET_BAD;
	}
	return close(fd);
}

static void deferred_cb(loop_t *loop, void *arg)
{
	struct http *h = arg;

	(void)loop;
	for (uint32_t i = 0; i < h->n_socks; i++) {
		struct hsock *s = &h->socks[i];
		curl_socket_t fd = s->fd;

		if (fd == CURL_SOCKET_BAD)
			continue;
		if (s->hup) {
			s->hup = false;
			kick(h, fd, CURL_CSELECT_IN | CURL_CSELECT_ERR);
			/* curl may have closed (and freed) the record meanwhile. */
			if (s->fd == fd && s->want && !s->wsi && !adopt(s))
				interest(s);
		}
		if (s->fd == fd && s->rearm_out) {
			s->rearm_out = false;
			if (s->wsi && (s->want & CURL_POLL_OUT))
				lws_callback_on_writable(s->wsi);
		}
	}
}

static int sock_handler(loop_handler_t *hd, struct lws *wsi,
			enum lws_callback_reasons reason, void *in, size_t len)
{
	struct hsock *s = (struct hsock *)hd;
	struct http *h = s->h;
	curl_socket_t fd = s->fd;

	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (s->want & CURL_POLL_IN) {
			quickack(fd);
			kick(h, fd, CURL_CSELECT_IN);
		}
		break;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (!(s->want & CURL_POLL_OUT))
			break;
		kick(h, fd, CURL_CSELECT_OUT);
		if (lws_get_opaque_user_data(wsi) == hd && (s->want & CURL_POLL_OUT)) {
			s->rearm_out = true;
			loop_timer_arm_us(&h->deferred_t, 0);
		}
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		s->wsi = NULL;
		s->hup = true;
		loop_timer_arm_us(&h->deferred_t, 0);
		break;
	default:
		break;
	}
	return 0;
}

static void reap_cb(loop_t *loop, void *arg)
{
	(void)loop;
	reap(arg);
}

static void curl_timer_cb(loop_t *loop, void *arg)
{
	(void)loop;
	kick(arg, CURL_SOCKET_TIMEOUT, 0);
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct http *h = userp;

	(void)m;
	if (timeout_ms < 0)
		loop_timer_cancel(&h->curl_t);
	else
		loop_timer_arm_ms(&h->curl_t, timeout_ms);
	return 0;
}

/* ---- requests */

static size_t write_cb(char *data, size_t size, size_t nmemb, void *user)
{
	struct slot *sl = user;
	struct http *h = sl->h;
	size_t n = size * nmemb;

	if (n > h->max_response - sl->resp_len) {
		sl->overflow = true;
		return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	if (sl->resp_len + n + 1 > sl->resp_cap) {
		size_t cap = sl->resp_cap;
		char *nb;

		while (cap < sl->resp_len + n + 1)
			cap *= 2;
		if (cap > h->max_response + 1)
			cap = h->max_response + 1;
		nb = realloc(sl->resp, cap);
		if (!nb)
			return 0;
		sl->resp = nb;
		sl->resp_cap = cap;
	}
	memcpy(sl->resp + sl->resp_len, data, n);
	sl->resp_len += n;
	return n;
}

static http_kind_t kind_of(CURLcode rc, bool overflow)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_ERR_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return HTTP_ERR_CONNECT;
	case CURLE_SEND_ERROR:
		return HTTP_ERR_SEND;
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return HTTP_ERR_RECV;
	case CURLE_FILESIZE_EXCEEDED:
		return HTTP_ERR_TOO_LARGE;
	case CURLE_WRITE_ERROR:
		return overflow ? HTTP_ERR_TOO_LARGE : HTTP_ERR_OTHER;
	default:
		return HTTP_ERR_OTHER;
	}
}

/* Sets the per-request options and hands the slot's handle to curl. */
static kerr_t start(struct slot *sl, uint32_t timeout_ms, bool fresh)
{
	struct http *h = sl->h;
	uint32_t ct = h->connect_timeout_ms < timeout_ms ?
		      h->connect_timeout_ms : timeout_ms;

	sl->resp_len = 0;
	sl->overflow = false;
	sl->errbuf[0] = 0;
	curl_easy_setopt(sl->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(sl->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)ct);
	curl_easy_setopt(sl->easy, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
	if (curl_multi_add_handle(h->multi, sl->easy) != CURLM_OK)
		return KERR_NOMEM;
	return KERR_OK;
}

/* The failure a dead kept-alive connection produces, on a reused one. */
static bool retryable(const struct slot *sl, CURLcode rc)
{
	return (sl->flags & HTTP_F_RETRY) && !sl->retried && sl->connects == 0 &&
	       (rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
		rc == CURLE_GOT_NOTHING);
}

static void finish(struct slot *sl, CURLcode rc)
{
	struct http *h = sl->h;
	http_result_t res;
	http_done_fn done = sl->done;
	void *ctx = sl->ctx;
	long code = 0;
	/* A copy: the callback may post again into this very slot, which
	 * clears its error buffer (the answer stays: curl writes it only
	 * on later turns). */
	char error[CURL_ERROR_SIZE];

	memset(&res, 0, sizeof res);
	curl_easy_getinfo(sl->easy, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK) {
		res.kind = code >= 200 && code < 300 ? HTTP_OK : HTTP_STATUS;
		res.status = code;
		res.error = "";
	} else {
		res.kind = kind_of(rc, sl->overflow);
		snprintf(error, sizeof error, "%s",
			 sl->overflow ? "answer larger than max_response" :
			 sl->errbuf[0] ? sl->errbuf : curl_easy_strerror(rc));
		res.error = error;
	}
	if (res.kind == HTTP_OK || res.kind == HTTP_STATUS) {
		sl->resp[sl->resp_len] = 0;
		res.body = sl->resp;
		res.len = sl->resp_len;
	} else {
		res.body = "";
	}
	res.retried = sl->retried;
	res.connects = sl->connects;
	res.elapsed_us = (loop_now_ns(h->loop) - sl->start_ns) / 1000;
	if (res.kind == HTTP_OK)
		h->st.ok++;
	else if (res.kind == HTTP_STATUS)
		h->st.status++;
	else
		h->st.failed++;
	drop_headers(sl);
	/* The slot is free before the callback, which may post again. */
	sl->busy = false;
	sl->done = NULL;
	sl->ctx = NULL;
	h->inflight--;
	done(&res, ctx);
}

static void reap(struct http *h)
{
	CURLMsg *msg;
	int queued;

	while ((msg = curl_multi_info_read(h->multi, &queued))) {
		struct slot *sl;
		char *priv = NULL;
		CURLcode rc;
		long connects = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result; /* msg dies with remove_handle */
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		sl = (struct slot *)priv;
		curl_easy_getinfo(sl->easy, CURLINFO_NUM_CONNECTS, &connects);
		curl_multi_remove_handle(h->multi, sl->easy);
		sl->connects += connects;
		h->st.connects += (uint64_t)connects;
		if (retryable(sl, rc)) {
			int64_t left_ms = sl->timeout_ms -
					  (loop_now_ns(h->loop) - sl->start_ns) / 1000000;

			if (left_ms >= 1) {
				log_info("http", "kept-alive connection was closed (%s); "
					 "retrying on a new one",
					 sl->errbuf[0] ? sl->errbuf : curl_easy_strerror(rc));
				sl->retried = true;
				h->st.retries++;
				if (start(sl, (uint32_t)left_ms, true) == KERR_OK)
					continue;
			}
		}
		finish(sl, rc);
	}
}

/* ---- public */

kerr_t http_create(loop_t *loop, const http_config_t *cfg, http_t **out)
{
	http_config_t c;
	struct http *h;

	if (!out)
		return KERR_ARG;
	*out = NULL;
	if (!loop)
		return KERR_ARG;
	memset(&c, 0, sizeof c);
	if (cfg)
		c = *cfg;
	if (!c.max_inflight)
		c.max_inflight = 16;
	if (!c.max_request)
		c.max_request = 1u << 20;
	if (!c.max_response)
		c.max_response = 4u << 20;
	if (!c.connect_timeout_ms)
		c.connect_timeout_ms = 5000;
	if (!c.max_connections)
		c.max_connections = c.max_inflight;
	if (!c.user_agent)
		c.user_agent = "keeper";
	if (c.max_inflight > 1024 || c.max_connections > 1024 ||
	    c.max_request > (1u << 30) || c.max_response > (1u << 30))
		return KERR_ARG;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return KERR_NOMEM;
	h = calloc(1, sizeof *h);
	if (!h) {
		curl_global_cleanup();
		return KERR_NOMEM;
	}
	h->loop = loop;
	h->max_request = c.max_request;
	h->max_response = c.max_response;
	h->connect_timeout_ms = c.connect_timeout_ms;
	h->n_slots = c.max_inflight;
	/* Happy eyeballs may open two sockets per connect; closed
	 * connections linger until their wsi dies; hence the slack. */
	h->n_socks = 2 * c.max_inflight + c.max_connections + 8;
	loop_timer_init(&h->curl_t, loop, curl_timer_cb, h);
	loop_timer_init(&h->deferred_t, loop, deferred_cb, h);
	loop_timer_init(&h->reap_t, loop, reap_cb, h);
	h->slots = calloc(h->n_slots, sizeof *h->slots);
	h->socks = calloc(h->n_socks, sizeof *h->socks);
	h->multi = curl_multi_init();
	h->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (h->headers) {
		/* curl waits up to 1 s for "100 Continue" before sending a
		 * body over 1 KiB; JSON-RPC servers do not send it. */
		struct curl_slist *l = curl_slist_append(h->headers, "Expect:");

		if (l)
			h->headers = l;
		else {
			curl_slist_free_all(h->headers);
			h->headers = NULL;
		}
	}
	if (!h->slots || !h->socks || !h->multi || !h->headers)
		goto fail;
	for (uint32_t i = 0; i < h->n_socks; i++)
		h->socks[i].fd = CURL_SOCKET_BAD;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)c.max_connections);
	for (uint32_t i = 0; i < h->n_slots; i++) {
		struct slot *sl = &h->slots[i];

		sl->h = h;
		sl->easy = curl_easy_init();
		sl->req = malloc(REQ_INITIAL);
		sl->req_cap = REQ_INITIAL;
		sl->resp_cap = RESP_INITIAL < c.max_response + 1 ? RESP_INITIAL :
			       c.max_response + 1;
		sl->resp = malloc(sl->resp_cap);
		if (!sl->easy || !sl->req || !sl->resp)
			goto fail;
		curl_easy_setopt(sl->easy, CURLOPT_PRIVATE, (char *)sl);
		curl_easy_setopt(sl->easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(sl->easy, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(sl->easy, CURLOPT_HTTPHEADER, h->headers);
		curl_easy_setopt(sl->easy, CURLOPT_USERAGENT, c.user_agent);
		curl_easy_setopt(sl->easy, CURLOPT_WRITEFUNCTION, write_cb);
		curl_easy_setopt(sl->easy, CURLOPT_WRITEDATA, sl);
		curl_easy_setopt(sl->easy, CURLOPT_ERRORBUFFER, sl->errbuf);
		curl_easy_setopt(sl->easy, CURLOPT_MAXFILESIZE_LARGE,
				 (curl_off_t)c.max_response);
		curl_easy_setopt(sl->easy, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(sl->easy, CURLOPT_CLOSESOCKETFUNCTION, closesocket_cb);
		curl_easy_setopt(sl->easy, CURLOPT_CLOSESOCKETDATA, h);
	}
	*out = h;
	return KERR_OK;
fail:
	http_destroy(h);
	return KERR_NOMEM;
}

void http_destroy(http_t *h)
{
	if (!h)
		return;
	for (uint32_t i = 0; h->slots && i < h->n_slots; i++)
		if (h->slots[i].busy)
			curl_multi_remove_handle(h->multi, h->slots[i].easy);
	/* Closes the kept-alive connections, through closesocket_cb. */
	if (h->multi)
		curl_multi_cleanup(h->multi);
	for (uint32_t i = 0; h->slots && i < h->n_slots; i++) {
		if (h->slots[i].easy)
			curl_easy_cleanup(h->slots[i].easy);
		curl_slist_free_all(h->slots[i].xhdr);
		free(h->slots[i].req);
		free(h->slots[i].resp);
	}
	loop_timer_cancel(&h->curl_t);
	loop_timer_cancel(&h->deferred_t);
	loop_timer_cancel(&h->reap_t);
	for (uint32_t i = 0; h->socks && i < h->n_socks; i++) {
		struct hsock *s = &h->socks[i];

		if (s->fd != CURL_SOCKET_BAD && s->wsi) {
			lws_set_opaque_user_data(s->wsi, NULL);
			lws_set_timeout(s->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT,
					LWS_TO_KILL_ASYNC);
		}
	}
	curl_slist_free_all(h->headers);
	free(h->slots);
	free(h->socks);
	free(h);
	curl_global_cleanup();
}

static bool header_ok(const http_header_t *hd)
{
	static const char *const ours[] = { "Content-Type", "Content-Length",
					    "Expect", "Host", "Transfer-Encoding" };
	size_t nl, vl;

	if (!hd->name || !hd->value)
		return false;
	nl = strlen(hd->name);
	vl = strlen(hd->value);
	if (!nl || nl + 2 + vl > HTTP_HEADER_MAX)
		return false;
	for (size_t i = 0; i < nl; i++) {
		unsigned char c = (unsigned char)hd->name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c)))
			return false;
	}
	for (size_t i = 0; i < vl; i++) {
		unsigned char c = (unsigned char)hd->value[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
		if (!strcasecmp(hd->name, ours[i]))
			return false;
	return true;
}

/* The shared list plus the request's own lines, as one new list. */
static kerr_t build_headers(const struct http *h, const http_header_t *hd,
			    size_t n, struct curl_slist **out)
{
	struct curl_slist *l = NULL, *t;
	char line[HTTP_HEADER_MAX + 1];

	*out = NULL;
	for (const struct curl_slist *c = h->headers; c; c = c->next) {
		if (!(t = curl_slist_append(l, c->data)))
			goto nomem;
		l = t;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(line, sizeof line, "%s: %s", hd[i].name, hd[i].value);
		if (!(t = curl_slist_append(l, line)))
			goto nomem;
		l = t;
	}
	*out = l;
	return KERR_OK;
nomem:
	curl_slist_free_all(l);
	return KERR_NOMEM;
}

kerr_t http_post(http_t *h, const char *url, const char *body, size_t len,
		 uint32_t timeout_ms, unsigned flags, http_done_fn done, void *ctx)
{
	return http_post_ex(h, url, body, len, NULL, 0, timeout_ms, flags,
			    done, ctx);
}

kerr_t http_post_ex(http_t *h, const char *url, const char *body, size_t len,
		    const http_header_t *headers, size_t n, uint32_t timeout_ms,
		    unsigned flags, http_done_fn done, void *ctx)
{
	struct slot *sl = NULL;
	kerr_t err;

	if (!h || !url || (!body && len) || !done || !timeout_ms ||
	    (flags & ~HTTP_F_RETRY) ||
	    (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) ||
	    n > HTTP_MAX_HEADERS || (n && !headers))
		return KERR_ARG;
	for (size_t i = 0; i < n; i++)
		if (!header_ok(&headers[i]))
			return KERR_ARG;
	if (len > h->max_request)
		return KERR_TOO_LONG;
	for (uint32_t i = 0; i < h->n_slots; i++) {
		if (!h->slots[i].busy) {
			sl = &h->slots[i];
			break;
		}
	}
	if (!sl) {
		h->st.refused++;
		return KERR_BUF;
	}
	if (len > sl->req_cap) {
		size_t cap = sl->req_cap;
		char *nb;

		while (cap < len)
			cap *= 2;
		if (cap > h->max_request)
			cap = h->max_request;
		nb = realloc(sl->req, cap);
		if (!nb)
			return KERR_NOMEM;
		sl->req = nb;
		sl->req_cap = cap;
	}
	if (len)
		memcpy(sl->req, body, len);
	if (curl_easy_setopt(sl->easy, CURLOPT_URL, url) != CURLE_OK)
		return KERR_NOMEM;
	if (n) {
		if ((err = build_headers(h, headers, n, &sl->xhdr)))
			return err;
		curl_easy_setopt(sl->easy, CURLOPT_HTTPHEADER, sl->xhdr);
	}
	curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDS, sl->req);
	curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	sl->flags = flags;
	sl->retried = false;
	sl->timeout_ms = timeout_ms;
	sl->connects = 0;
	sl->done = done;
	sl->ctx = ctx;
	sl->start_ns = loop_now_ns(h->loop);
	err = start(sl, timeout_ms, false);
	if (err) {
		drop_headers(sl);
		return err;
	}
	sl->busy = true;
	h->inflight++;
	h->st.requests++;
	/* Rule 6: on its way now, but its end (and any other transfer's
	 * this pass finished) is reported on a later turn. */
	{
		int running;

		curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		loop_timer_arm_us(&h->reap_t, 0);
	}
	return KERR_OK;
}

uint32_t http_inflight(const http_t *h)
{
	return h->inflight;
}

const http_stats_t *http_stats(const http_t *h)
{
	return &h->st;
}

const char *http_kind_str(http_kind_t kind)
{
	switch (kind) {
	case HTTP_OK:
		return "ok";
	case HTTP_STATUS:
		return "status";
	case HTTP_ERR_TIMEOUT:
		return "timeout";
	case HTTP_ERR_CONNECT:
		return "connect";
	case HTTP_ERR_SEND:
		return "send";
	case HTTP_ERR_RECV:
		return "recv";
	case HTTP_ERR_TOO_LARGE:
		return "too large";
	case HTTP_ERR_OTHER:
		return "other";
	}
	return "unknown";
}
