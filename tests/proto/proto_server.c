/*
 * tests/proto/proto_server.c: the peer for the event-loop prototypes
 * (keeper issue 3).  One lws context, one thread, one port on 127.0.0.1
 * serving both:
 *   - websocket protocol "echo": sends every text frame back, after writing
 *     its CLOCK_MONOTONIC time into the frame's srv= field just before the
 *     write, so the client can measure server-write -> client-callback;
 *   - HTTP POST /: a JSON-RPC answer to eth_blockNumber (a counter), with a
 *     Content-Length so the connection stays alive between requests.
 * It is also a small rehearsal of what keeper needs later from lws on the
 * same loop: an HTTP server (/metrics) and a websocket server for tests.
 *
 * usage: proto_server [--port P] [--lifetime S] [--close-every N]
 * Port 0 (the default) lets the kernel choose; the chosen port is printed
 * as "proto_server: listening on 127.0.0.1:PORT".  It exits on SIGINT or
 * SIGTERM, or after --lifetime seconds (default 300), whichever is first.
 * --close-every N hangs up an HTTP connection after every N-th answer on
 * it, to drive the clients' reconnect path (curl closing and reopening
 * sockets under the loop glue); 0, the default, keeps connections alive.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "tests/proto/proto.h"

#define BODY_MAX 4096
#define FRAME_MAX 4096

static volatile sig_atomic_t interrupted;
static int64_t deadline_ns;
static struct lws_context *ctx;
static lws_sorted_usec_list_t sul_check;
static long block_number = 0x1000;
static long close_every;

struct http_pss {
	char body[BODY_MAX];
	size_t body_len;
	unsigned char out[LWS_PRE + 1024];
	size_t out_len;
	int is_post;
};

struct echo_pss {
	unsigned char buf[LWS_PRE + FRAME_MAX];
	size_t len;
	int complete; /* a whole frame is waiting to be sent back */
};

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Polls the stop conditions every 100 ms: a signal handler may not call
 * into lws, and a bounded lifetime keeps a forgotten server from lingering. */
static void check_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	if (interrupted || proto_now_ns() > deadline_ns) {
		interrupted = 1;
		lws_cancel_service(ctx);
		return;
	}
	lws_sul_schedule(ctx, 0, &sul_check, check_cb, 100 * LWS_US_PER_MS);
}

/* Builds the JSON-RPC answer for one request body into pss->out. */
static int rpc_answer(struct http_pss *pss)
{
	json_error_t err;
	json_t *req = json_loadb(pss->body, pss->body_len, 0, &err), *id, *m;
	char *id_txt = NULL;
	int n = -1;

	if (!req)
		return -1;
	id = json_object_get(req, "id");
	m = json_object_get(req, "method");
	if (id && json_is_string(m))
		id_txt = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);
	if (id_txt) {
		char tmp[512];

		if (!strcmp(json_string_value(m), "eth_blockNumber"))
			n = snprintf(tmp, sizeof tmp,
				     "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":\"0x%lx\"}",
				     id_txt, block_number++);
		else
			n = snprintf(tmp, sizeof tmp,
				     "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":"
				     "-32601,\"message\":\"method not found\"}}", id_txt);
		if (n > 0 && (size_t)n < sizeof tmp) {
			memcpy(pss->out + LWS_PRE, tmp, (size_t)n);
			pss->out_len = (size_t)n;
		} else {
			n = -1;
		}
	}
	free(id_txt);
	json_decref(req);
	return n < 0 ? -1 : 0;
}

static int http_cb(struct lws *wsi, enum lws_callback_reasons reason,
		   void *user, void *in, size_t len)
{
	struct http_pss *pss = user;
	unsigned char hdr[LWS_PRE + 512], *p, *end;
	int last = 0;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		pss->body_len = 0;
		pss->out_len = 0;
		pss->is_post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
		if (!pss->is_post) {
			lws_return_http_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, NULL);
			return lws_http_transaction_completed(wsi) ? -1 : 0;
		}
		return 0; /* the body follows */
	case LWS_CALLBACK_HTTP_BODY:
		if (len > sizeof pss->body - pss->body_len)
			return -1; /* too large: drop the connection */
		memcpy(pss->body + pss->body_len, in, len);
		pss->body_len += len;
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (rpc_answer(pss)) {
			lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST, NULL);
			return lws_http_transaction_completed(wsi) ? -1 : 0;
		}
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!pss->out_len)
			return 0;
		if (close_every) {
			/* lws clears the per-session data for every transaction
			 * on a kept-alive connection; the wsi's opaque pointer
			 * lives as long as the connection, so it holds the count. */
			intptr_t answers = (intptr_t)lws_get_opaque_user_data(wsi) + 1;

			lws_set_opaque_user_data(wsi, (void *)answers);
			last = answers % close_every == 0;
		}
		p = hdr + LWS_PRE;
		end = hdr + sizeof hdr - 1;
		if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "application/json",
						pss->out_len, &p, end))
			return -1;
		/* Announced, so the client does not send its next request into
		 * a connection that is about to close. */
		if (last && lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
							 (const unsigned char *)"close",
							 5, &p, end))
			return -1;
		if (lws_finalize_write_http_header(wsi, hdr + LWS_PRE, &p, end))
			return -1;
		if (lws_write(wsi, pss->out + LWS_PRE, pss->out_len,
			      LWS_WRITE_HTTP_FINAL) != (int)pss->out_len)
			return -1;
		pss->out_len = 0;
		if (last)
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static int echo_cb(struct lws *wsi, enum lws_callback_reasons reason,
		   void *user, void *in, size_t len)
{
	struct echo_pss *pss = user;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		pss->len = 0;
		pss->complete = 0;
		break;
	case LWS_CALLBACK_RECEIVE:
		/* The client keeps one frame in flight; a second one before the
		 * echo, or an oversized one, is a broken client: hang up. */
		if (pss->complete || len > FRAME_MAX - pss->len)
			return -1;
		memcpy(pss->buf + LWS_PRE + pss->len, in, len);
		pss->len += len;
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			pss->complete = 1;
			lws_callback_on_writable(wsi);
		}
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!pss->complete)
			break;
		if (pss->len >= PROTO_SRV_OFF + PROTO_SRV_DIGITS &&
		    !memcmp(pss->buf + LWS_PRE + PROTO_SRV_OFF - 4, "srv=", 4)) {
			char stamp[PROTO_SRV_DIGITS + 1];

			snprintf(stamp, sizeof stamp, "%020lld", (long long)proto_now_ns());
			memcpy(pss->buf + LWS_PRE + PROTO_SRV_OFF, stamp, PROTO_SRV_DIGITS);
		}
		if (lws_write(wsi, pss->buf + LWS_PRE, pss->len, LWS_WRITE_TEXT) <
		    (int)pss->len)
			return -1;
		pss->len = 0;
		pss->complete = 0;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "http", http_cb, sizeof(struct http_pss), 0, 0, NULL, 0 },
	{ PROTO_WS_PROTOCOL, echo_cb, sizeof(struct echo_pss), FRAME_MAX, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

int64_t proto_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct sigaction sa;
	long port = 0, lifetime = 300;
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		char *end;
		long v = strtol(argv[i + 1], &end, 10);

		if (*end || v < 0 || v > 65535)
			break;
		if (!strcmp(argv[i], "--port"))
			port = v;
		else if (!strcmp(argv[i], "--lifetime") && v > 0)
			lifetime = v;
		else if (!strcmp(argv[i], "--close-every"))
			close_every = v;
		else
			break;
	}
	if (i != argc) {
		fprintf(stderr, "usage: %s [--port P] [--lifetime S] [--close-every N]\n",
			argv[0]);
		return 2;
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);

	memset(&info, 0, sizeof info);
	info.port = (int)port;
	info.iface = "127.0.0.1";
	info.protocols = protocols;
	info.keepalive_timeout = 60;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	ctx = lws_create_context(&info);
	if (!ctx) {
		fprintf(stderr, "proto_server: lws_create_context failed\n");
		return 1;
	}
	printf("proto_server: listening on 127.0.0.1:%d\n",
	       lws_get_vhost_listen_port(lws_get_vhost_by_name(ctx, "default")));
	fflush(stdout);

	deadline_ns = proto_now_ns() + (int64_t)lifetime * 1000000000;
	lws_sul_schedule(ctx, 0, &sul_check, check_cb, 100 * LWS_US_PER_MS);
	while (!interrupted && lws_service(ctx, 0) >= 0)
		;
	lws_context_destroy(ctx);
	printf("proto_server: stopped\n");
	return 0;
}
