/*
 * tests/proto/proto.c: the measurement driver shared by loop_lws.c and
 * loop_uv.c (see proto.h).  Everything here is loop-agnostic: it only ever
 * asks the loop for one-shot timers and for a stop, and it talks to curl
 * through the multi handle, never through curl_multi_perform or a wait of
 * its own, so all waiting happens in the loop under test.
 *
 * Samples live in static arrays sized at start: nothing is allocated per
 * frame or per request, which is also the keeper's hot-path rule, and an
 * allocation would show up in the very latencies being measured.
 */
#include "tests/proto/proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/resource.h>

#include <jansson.h>

#define WS_N_MAX 200000
#define HTTP_N_MAX 20000
#define TICK_N_MAX 3000
#define MIXED_WS_MAX 400000
#define MIXED_HTTP_MAX 200000
#define RX_MAX 4096
#define RESP_MAX 4096
#define TICK_US 10000
#define HTTP_TIMEOUT_MS 2000

typedef struct samples {
	int64_t *v;
	size_t n, cap;
	size_t dropped; /* samples beyond cap: counted, so a full array shows */
} samples_t;

#define STAT(name, size) \
	static int64_t name##_buf[size]; \
	static samples_t name = { name##_buf, 0, size, 0 }

STAT(st_ws_rtt, WS_N_MAX);
STAT(st_ws_oneway, WS_N_MAX);
STAT(st_http, HTTP_N_MAX);
STAT(st_tick, TICK_N_MAX);
STAT(st_mx_ws_rtt, MIXED_WS_MAX);
STAT(st_mx_ws_oneway, MIXED_WS_MAX);
STAT(st_mx_http, MIXED_HTTP_MAX);
STAT(st_mx_tick, TICK_N_MAX);

enum phase { P_CONNECT, P_WS, P_HTTP, P_TIMER, P_MIXED, P_DONE };
static const char *const phase_name[] = {
	"connect", "ws", "http", "timer", "mixed", "done"
};

static const proto_loop_t *loop;
static CURLM *multi;
static CURL *easy;
static struct curl_slist *http_headers;

static struct {
	int ws_port;
	char rpc_url[256];
	long n_ws, n_http, n_ticks, n_mixed_ticks;
} cfg = { 0, "", 20000, 2000, 300, 300 };

static enum phase phase = P_CONNECT;
static int64_t phase_deadline_ns;
static int failed;
/* CPU time (user + system) each phase used: unlike latency percentiles it
 * hardly moves when other processes compete for the CPU, so it compares
 * the loops' own costs even on a busy machine. */
static int64_t phase_cpu_ns[P_DONE + 1], phase_cpu_start_ns;

/* websocket client state: exactly one frame in flight at a time */
static struct lws *ws_wsi;
static int ws_inflight, ws_write_pending;
static uint32_t ws_seq;
static int64_t ws_t0;
static unsigned char ws_tx[LWS_PRE + PROTO_FRAME_LEN];
static unsigned char ws_frame_tmpl[PROTO_FRAME_LEN]; /* lws masks ws_tx in place */
static unsigned char ws_rx[RX_MAX];
static size_t ws_rx_len;

/* HTTP JSON-RPC client state: one easy handle, re-added per request */
static int http_inflight;
static long http_id, http_connects;
static int64_t http_t0;
static char http_req[256];
static char http_resp[RESP_MAX];
static size_t http_resp_len;
static int http_resp_overflow;

/* timer state */
static int64_t tick_due_ns;
static long ticks;

int64_t proto_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static void stat_add(samples_t *s, int64_t v)
{
	if (s->n < s->cap)
		s->v[s->n++] = v;
	else
		s->dropped++;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double pct_us(const samples_t *s, unsigned p)
{
	size_t i = (s->n * p + 99) / 100;

	if (i > 0)
		i--;
	return (double)s->v[i] / 1000.0;
}

static void stat_print(const char *label, samples_t *s)
{
	if (s->n == 0) {
		printf("  %-26s n=0\n", label);
		return;
	}
	qsort(s->v, s->n, sizeof s->v[0], cmp_i64);
	printf("  %-26s n=%-6zu p50 %8.1f us  p99 %8.1f us  min %8.1f  max %8.1f%s\n",
	       label, s->n, pct_us(s, 50), pct_us(s, 99), (double)s->v[0] / 1000.0,
	       (double)s->v[s->n - 1] / 1000.0, s->dropped ? "  (array full)" : "");
}

static double per_op_us(int64_t ns, size_t ops)
{
	return ops ? (double)ns / 1000.0 / (double)ops : 0.0;
}

static void fail(const char *fmt, const char *detail)
{
	if (!failed) {
		fprintf(stderr, "%s: phase %s: ", loop->name, phase_name[phase]);
		fprintf(stderr, fmt, detail);
		fputc('\n', stderr);
	}
	failed = 1;
	phase = P_DONE;
	loop->stop();
}

static void ws_kick(void)
{
	if (ws_inflight || !ws_wsi)
		return;
	ws_inflight = 1;
	ws_write_pending = 1;
	ws_seq++;
	/* t0 is the moment the application wants to send: the turn lws needs
	 * to report the socket writable is part of what the keeper would pay. */
	ws_t0 = proto_now_ns();
	lws_callback_on_writable(ws_wsi);
}

static void http_start(void)
{
	int n;
	CURLMcode mc;

	if (http_inflight)
		return;
	http_id++;
	n = snprintf(http_req, sizeof http_req,
		     "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"eth_blockNumber\","
		     "\"params\":[]}", http_id);
	if (n < 0 || (size_t)n >= sizeof http_req) {
		fail("%s", "request does not fit");
		return;
	}
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)n);
	http_resp_len = 0;
	http_resp_overflow = 0;
	http_t0 = proto_now_ns();
	mc = curl_multi_add_handle(multi, easy);
	if (mc != CURLM_OK) {
		fail("curl_multi_add_handle: %s", curl_multi_strerror(mc));
		return;
	}
	http_inflight = 1;
}

static void phase_next(void)
{
	int64_t now = proto_now_ns(), budget_s;

	if (phase == P_DONE)
		return;
	phase_cpu_ns[phase] = cpu_ns() - phase_cpu_start_ns;
	phase_cpu_start_ns = cpu_ns();
	phase++;
	switch (phase) {
	case P_WS:
		budget_s = 30;
		break;
	case P_HTTP:
		budget_s = 30;
		break;
	case P_TIMER:
		budget_s = 2 + cfg.n_ticks * TICK_US * 3 / 1000000;
		break;
	case P_MIXED:
		budget_s = 2 + cfg.n_mixed_ticks * TICK_US * 3 / 1000000;
		break;
	default:
		budget_s = 5;
		break;
	}
	phase_deadline_ns = now + budget_s * 1000000000;
	ticks = 0;
	switch (phase) {
	case P_WS:
		ws_kick();
		break;
	case P_HTTP:
		http_start();
		break;
	case P_TIMER:
		tick_due_ns = proto_now_ns() + TICK_US * 1000;
		loop->arm(PROTO_T_TICK, TICK_US);
		break;
	case P_MIXED:
		ws_kick();
		http_start();
		tick_due_ns = proto_now_ns() + TICK_US * 1000;
		loop->arm(PROTO_T_TICK, TICK_US);
		break;
	case P_DONE:
		loop->stop();
		break;
	default:
		break;
	}
}

/* Parses the server's fixed-width decimal stamp; -1 if it is not one. */
static int64_t parse_stamp(const unsigned char *p, size_t n)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

static void ws_frame(void)
{
	int64_t t = proto_now_ns(), srv;
	char want[11];

	snprintf(want, sizeof want, "%010" PRIu32, ws_seq);
	if (ws_rx_len != PROTO_FRAME_LEN ||
	    memcmp(ws_rx + PROTO_SEQ_OFF, want, 10) != 0) {
		fail("%s", "echo frame does not match the frame sent");
		return;
	}
	srv = parse_stamp(ws_rx + PROTO_SRV_OFF, PROTO_SRV_DIGITS);
	if (srv < 0) {
		fail("%s", "echo frame carries no server stamp");
		return;
	}
	ws_inflight = 0;
	if (phase == P_WS) {
		stat_add(&st_ws_rtt, t - ws_t0);
		stat_add(&st_ws_oneway, t - srv);
		if ((long)st_ws_rtt.n < cfg.n_ws)
			ws_kick();
		else
			phase_next();
	} else if (phase == P_MIXED) {
		stat_add(&st_mx_ws_rtt, t - ws_t0);
		stat_add(&st_mx_ws_oneway, t - srv);
		if (st_mx_ws_rtt.n < st_mx_ws_rtt.cap)
			ws_kick();
	}
}

int proto_ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
		      void *user, void *in, size_t len)
{
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (phase == P_CONNECT)
			phase_next();
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		ws_wsi = NULL;
		fail("websocket connect failed: %s", in ? (const char *)in : "?");
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		ws_wsi = NULL;
		if (phase != P_DONE)
			fail("%s", "websocket closed by the server");
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!ws_write_pending)
			break;
		ws_write_pending = 0;
		{
			char seq[11];

			snprintf(seq, sizeof seq, "%010" PRIu32, ws_seq);
			memcpy(ws_tx + LWS_PRE, ws_frame_tmpl, PROTO_FRAME_LEN);
			memcpy(ws_tx + LWS_PRE + PROTO_SEQ_OFF, seq, 10);
		}
		if (lws_write(wsi, ws_tx + LWS_PRE, PROTO_FRAME_LEN, LWS_WRITE_TEXT) <
		    PROTO_FRAME_LEN) {
			fail("%s", "lws_write failed");
			return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (len > sizeof ws_rx - ws_rx_len) {
			fail("%s", "echo frame larger than the receive buffer");
			return -1;
		}
		memcpy(ws_rx + ws_rx_len, in, len);
		ws_rx_len += len;
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			ws_frame();
			ws_rx_len = 0;
		}
		break;
	default:
		break;
	}
	return 0;
}

static size_t http_write_cb(char *data, size_t size, size_t nmemb, void *user)
{
	size_t n = size * nmemb;

	(void)user;
	if (n > sizeof http_resp - 1 - http_resp_len) {
		http_resp_overflow = 1;
		return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
	}
	memcpy(http_resp + http_resp_len, data, n);
	http_resp_len += n;
	return n;
}

/* Checks one JSON-RPC answer: right id, a result string, no error. */
static int http_answer_ok(void)
{
	json_error_t err;
	json_t *doc = json_loadb(http_resp, http_resp_len, 0, &err);
	json_t *id, *res;
	int ok;

	if (!doc)
		return 0;
	id = json_object_get(doc, "id");
	res = json_object_get(doc, "result");
	ok = json_is_integer(id) && json_integer_value(id) == http_id &&
	     json_is_string(res) && !json_object_get(doc, "error");
	json_decref(doc);
	return ok;
}

void proto_curl_progress(void)
{
	CURLMsg *msg;
	int queued;

	while ((msg = curl_multi_info_read(multi, &queued))) {
		int64_t t = proto_now_ns();
		CURLcode rc;
		long code = 0, connects = 0;

		if (msg->msg != CURLMSG_DONE || msg->easy_handle != easy)
			continue;
		rc = msg->data.result; /* msg dies with remove_handle */
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
		curl_multi_remove_handle(multi, easy);
		http_inflight = 0;
		http_connects += connects;
		if (rc != CURLE_OK) {
			fail("http request failed: %s", http_resp_overflow ?
			     "answer larger than the buffer" : curl_easy_strerror(rc));
			return;
		}
		if (code != 200 || !http_answer_ok()) {
			fail("%s", "http answer is not a JSON-RPC result for our id");
			return;
		}
		if (phase == P_HTTP) {
			stat_add(&st_http, t - http_t0);
			if ((long)st_http.n < cfg.n_http)
				http_start();
			else
				phase_next();
		} else if (phase == P_MIXED) {
			stat_add(&st_mx_http, t - http_t0);
			if (st_mx_http.n < st_mx_http.cap)
				http_start();
		}
	}
}

void proto_on_timer(enum proto_timer t)
{
	int64_t now = proto_now_ns();

	if (t == PROTO_T_WATCHDOG) {
		if (phase == P_DONE)
			return;
		if (now > phase_deadline_ns) {
			fail("%s", "timed out");
			return;
		}
		loop->arm(PROTO_T_WATCHDOG, 100000);
		return;
	}
	if (phase != P_TIMER && phase != P_MIXED)
		return;
	stat_add(phase == P_TIMER ? &st_tick : &st_mx_tick, now - tick_due_ns);
	ticks++;
	if (ticks >= (phase == P_TIMER ? cfg.n_ticks : cfg.n_mixed_ticks)) {
		phase_next();
		return;
	}
	tick_due_ns = proto_now_ns() + TICK_US * 1000;
	loop->arm(PROTO_T_TICK, TICK_US);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --ws-port P --rpc http://127.0.0.1:PORT/ [--ws-n N]\n"
		"       [--http-n N] [--ticks N] [--mixed-ticks N]\n"
		"Measures websocket round trips, HTTP JSON-RPC requests and 10 ms\n"
		"timers on one loop; talks to 127.0.0.1 only.\n", prog);
	return -1;
}

int proto_init(int argc, char **argv, const proto_loop_t *l)
{
	int i;
	long port = 0;

	loop = l;
	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = !v;

		if (bad)
			return usage(argv[0]);
		if (!strcmp(o, "--ws-port"))
			bad = parse_long(v, 1, 65535, &port);
		else if (!strcmp(o, "--rpc"))
			bad = strncmp(v, "http://127.0.0.1:", 17) != 0 ||
			      strlen(v) >= sizeof cfg.rpc_url;
		else if (!strcmp(o, "--ws-n"))
			bad = parse_long(v, 1, WS_N_MAX, &cfg.n_ws);
		else if (!strcmp(o, "--http-n"))
			bad = parse_long(v, 1, HTTP_N_MAX, &cfg.n_http);
		else if (!strcmp(o, "--ticks"))
			bad = parse_long(v, 1, TICK_N_MAX, &cfg.n_ticks);
		else if (!strcmp(o, "--mixed-ticks"))
			bad = parse_long(v, 1, TICK_N_MAX, &cfg.n_mixed_ticks);
		else
			bad = 1;
		if (bad)
			return usage(argv[0]);
		if (!strcmp(o, "--rpc"))
			strcpy(cfg.rpc_url, v); /* length checked above */
		i++;
	}
	if (!port || !cfg.rpc_url[0])
		return usage(argv[0]);
	cfg.ws_port = (int)port;

	memset(ws_frame_tmpl, 'x', PROTO_FRAME_LEN);
	memcpy(ws_frame_tmpl, "seq=0000000000 srv=", PROTO_SRV_OFF);
	memset(ws_frame_tmpl + PROTO_SRV_OFF, '0', PROTO_SRV_DIGITS);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fprintf(stderr, "curl_global_init failed\n"), -1;
	multi = curl_multi_init();
	easy = curl_easy_init();
	http_headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!multi || !easy || !http_headers)
		return fprintf(stderr, "curl init failed\n"), -1;
	curl_easy_setopt(easy, CURLOPT_URL, cfg.rpc_url);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, http_req);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, http_headers);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)HTTP_TIMEOUT_MS);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)HTTP_TIMEOUT_MS);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http");
	if (loop->closesocket)
		curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, loop->closesocket);
	return 0;
}

CURLM *proto_multi(void)
{
	return multi;
}

int proto_start(struct lws_context *ctx)
{
	struct lws_client_connect_info ci;

	memset(&ci, 0, sizeof ci);
	ci.context = ctx;
	ci.address = "127.0.0.1";
	ci.port = cfg.ws_port;
	ci.path = "/";
	ci.host = "127.0.0.1";
	ci.origin = "127.0.0.1";
	ci.protocol = PROTO_WS_PROTOCOL;
	ci.local_protocol_name = PROTO_WS_PROTOCOL;
	ci.ietf_version_or_minus_one = -1;
	ci.pwsi = &ws_wsi;
	phase_deadline_ns = proto_now_ns() + 5 * (int64_t)1000000000;
	if (!lws_client_connect_via_info(&ci)) {
		fprintf(stderr, "%s: websocket connect to 127.0.0.1:%d failed\n",
			loop->name, cfg.ws_port);
		failed = 1;
		return -1;
	}
	loop->arm(PROTO_T_WATCHDOG, 100000);
	return 0;
}

int proto_finish(const char *glue_note)
{
	printf("%s\n  lws %s, %s\n", loop->name, lws_get_library_version(),
	       curl_version());
	printf(" alone:\n");
	stat_print("ws round trip 1 KiB", &st_ws_rtt);
	stat_print("ws server write->callback", &st_ws_oneway);
	stat_print("http json-rpc keep-alive", &st_http);
	stat_print("timer 10 ms lateness", &st_tick);
	printf(" mixed (ws + http + timer at once, %ld ticks):\n", cfg.n_mixed_ticks);
	stat_print("ws round trip 1 KiB", &st_mx_ws_rtt);
	stat_print("ws server write->callback", &st_mx_ws_oneway);
	stat_print("http json-rpc keep-alive", &st_mx_http);
	stat_print("timer 10 ms lateness", &st_mx_tick);
	printf("  http connections opened: %ld for %ld requests\n", http_connects,
	       http_id);
	if (!failed) {
		printf("  %-26s %8.1f us\n", "cpu per ws round trip",
		       per_op_us(phase_cpu_ns[P_WS], st_ws_rtt.n));
		printf("  %-26s %8.1f us\n", "cpu per http request",
		       per_op_us(phase_cpu_ns[P_HTTP], st_http.n));
		printf("  %-26s %8.1f us\n", "cpu per 10 ms tick",
		       per_op_us(phase_cpu_ns[P_TIMER], st_tick.n));
		printf("  %-26s %8.1f us\n", "cpu per mixed ws/http op",
		       per_op_us(phase_cpu_ns[P_MIXED],
				 st_mx_ws_rtt.n + st_mx_ws_rtt.dropped +
				 st_mx_http.n + st_mx_http.dropped));
	}
	if (glue_note)
		printf("  %s\n", glue_note);
	printf("%s: %s\n", loop->name, failed ? "FAILED" : "ok");
	fflush(stdout);

	if (http_inflight)
		curl_multi_remove_handle(multi, easy);
	curl_easy_cleanup(easy);
	/* Closes the cached connection: the glue's close-socket hook still
	 * runs here, so the caller keeps its loop alive until this returns. */
	curl_multi_cleanup(multi);
	curl_slist_free_all(http_headers);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
