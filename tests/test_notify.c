/*
 * test_notify: webhooks (keeper/notify.h).  The body's exact text and its
 * parse by jansson (every key, nulls, escapes, the shortest round-trip
 * numbers), the messages made from a trip, a first send and each tracker
 * outcome; then, on the loop, against a small HTTP/1.1 server on a thread
 * of this test that records each request's path and body in arrival
 * order: bodies arrive in the order posted; a slow endpoint keeps only the
 * first body and the newest queue_max (drop-oldest, counted); an endpoint
 * that accepts connections but never answers does not stop the loop (a
 * 10 ms timer keeps ticking, posting takes no time) nor the bodies of
 * another URL, and its queue stays bounded; a 500 is tried once more and
 * then delivered, a 400 is not retried, a dead port costs two attempts and
 * is then given up.  Every loop run is bounded by a watchdog timer.
 */
#include <math.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "keeper/loop.h"
#include "keeper/notify.h"
#include "signer/hex.h"
#include "tests/httpsrv.h"
#include "tests/loop_util.h"
#include "tests/net_util.h"
#include "tests/test.h"

/* ---- the webhook endpoint (tests/httpsrv.h)
 *   /ok     200
 *   /slow   200 after slow_ms (the whole server waits: one endpoint)
 *   /flaky  500 to the first request, 200 after
 *   /bad    400 */

#define SRV_RECS 256

struct rec {
	char path[16];
	char body[NOTIFY_BODY_MAX];
};

static struct srv {
	httpsrv_t h;
	int slow_ms;
	int flaky_seen;
	struct rec recs[SRV_RECS];
	int nrec;
} S;

static void srv_serve(httpsrv_conn_t *c)
{
	size_t head, blen;

	while (httpsrv_request(c, &head, &blen)) {
		const char *sp;
		struct rec r;
		int status = 200, slow = 0;

		/* "POST /path HTTP/1.1" */
		sp = memchr(c->buf + 5, ' ', head - 5);
		snprintf(r.path, sizeof r.path, "%.*s",
			 sp ? (int)(sp - c->buf - 5) : 0, c->buf + 5);
		snprintf(r.body, sizeof r.body, "%.*s", (int)blen, c->buf + head);
		pthread_mutex_lock(&S.h.mu);
		if (S.nrec < SRV_RECS)
			S.recs[S.nrec++] = r;
		if (!strcmp(r.path, "/slow"))
			slow = S.slow_ms;
		else if (!strcmp(r.path, "/flaky"))
			status = S.flaky_seen++ ? 200 : 500;
		else if (!strcmp(r.path, "/bad"))
			status = 400;
		pthread_mutex_unlock(&S.h.mu);
		if (slow) {
			struct timespec ts = { slow / 1000, (long)(slow % 1000) * 1000000 };

			nanosleep(&ts, NULL);
		}
		httpsrv_send(c->fd, status, NULL, "ok");
		httpsrv_consume(c, head + blen);
	}
}

static void srv_start(void)
{
	S.nrec = 0;
	S.slow_ms = 0;
	S.flaky_seen = 0;
	httpsrv_start(&S.h, srv_serve);
}

static void srv_stop(void)
{
	httpsrv_stop(&S.h);
}

static int srv_count(void)
{
	int n;

	pthread_mutex_lock(&S.h.mu);
	n = S.nrec;
	pthread_mutex_unlock(&S.h.mu);
	return n;
}

/* time_ms of record i (the tests number their messages with it). */
static long long rec_seq(int i)
{
	json_t *j;
	long long v = -1;

	pthread_mutex_lock(&S.h.mu);
	j = json_loads(S.recs[i].body, 0, NULL);
	pthread_mutex_unlock(&S.h.mu);
	if (j && json_is_integer(json_object_get(j, "time_ms")))
		v = json_integer_value(json_object_get(j, "time_ms"));
	json_decref(j);
	return v;
}

/* ---- helpers */

static notify_t *N;

static notify_msg_t msg_n(int64_t i)
{
	notify_msg_t m;

	memset(&m, 0, sizeof m);
	m.event = NOTIFY_TRIP;
	m.trigger = "t";
	m.action = "pause-vault";
	m.time_ms = i;
	return m;
}

static bool idle(void)
{
	notify_stats_t st;

	notify_stats(N, &st);
	return st.waiting == 0 && st.in_flight == 0;
}

/* ---- pure parts */

static detect_trip_t sample_trip(void)
{
	detect_trip_t t;

	memset(&t, 0, sizeof t);
	t.trigger = "usdc-depeg";
	t.kind = CONFIG_TRIGGER_DEPEG;
	t.value = 0.9712;
	t.threshold = 0.98;
	t.unit = DETECT_UNIT_PCT;
	t.time_ms = 1678520483000;
	return t;
}

static void test_body(void)
{
	char out[NOTIFY_BODY_MAX];
	size_t len;
	detect_trip_t t = sample_trip();
	notify_msg_t m;
	json_t *j;

	notify_msg_trip(&m, &t, "pause-vault");
	CHECK_OK(notify_body(out, sizeof out, &len, &m));
	CHECK_EQ_STR(out, "{\"event\":\"trip\",\"trigger\":\"usdc-depeg\","
		     "\"action\":\"pause-vault\",\"kind\":\"depeg\",\"value\":0.9712,"
		     "\"threshold\":0.98,\"unit\":\"pct\",\"time_ms\":1678520483000,"
		     "\"tx_hash\":null,\"nonce\":null,\"account\":null,\"amount\":null}");
	CHECK_EQ_INT(len, strlen(out));

	/* Every optional part, a number needing 17 digits, and a name that
	 * must be escaped. */
	memset(&m, 0, sizeof m);
	m.event = NOTIFY_MINED;
	m.trigger = "q\"uo\\te\n";
	m.action = "liq";
	m.has_trip = true;
	m.kind = CONFIG_TRIGGER_LIQUIDATION;
	m.value = 0.1 + 0.2;
	m.threshold = 1;
	m.unit = DETECT_UNIT_RATIO;
	m.time_ms = -5;
	m.has_tx = true;
	for (int i = 0; i < 32; i++)
		m.tx_hash[i] = (uint8_t)(0xa0 + i);
	m.has_nonce = true;
	m.nonce = 12;
	m.has_account = true;
	CHECK_OK(addr_parse(&m.account, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", 42));
	m.has_amount = true;
	CHECK_OK(u256_from_dec(&m.amount,
			       "115792089237316195423570985008687907853269984665640564039457584007913129639935",
			       78));
	CHECK_OK(notify_body(out, sizeof out, &len, &m));
	j = json_loadb(out, len, 0, NULL);
	CHECK(j != NULL);
	CHECK_EQ_INT(json_object_size(j), 12);
	CHECK_EQ_STR(json_string_value(json_object_get(j, "event")), "mined");
	CHECK_EQ_STR(json_string_value(json_object_get(j, "trigger")), "q\"uo\\te\n");
	CHECK_EQ_STR(json_string_value(json_object_get(j, "kind")), "liquidation");
	CHECK(json_real_value(json_object_get(j, "value")) == 0.1 + 0.2);
	CHECK(json_number_value(json_object_get(j, "threshold")) == 1);
	CHECK_EQ_STR(json_string_value(json_object_get(j, "unit")), "ratio");
	CHECK_EQ_INT(json_integer_value(json_object_get(j, "time_ms")), -5);
	CHECK_EQ_INT(json_integer_value(json_object_get(j, "nonce")), 12);
	CHECK_EQ_STR(json_string_value(json_object_get(j, "tx_hash")),
		     "0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
	CHECK_EQ_STR(json_string_value(json_object_get(j, "account")),
		     "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
	CHECK_EQ_STR(json_string_value(json_object_get(j, "amount")),
		     "115792089237316195423570985008687907853269984665640564039457584007913129639935");
	json_decref(j);
	/* A nonce above 2^63 is checked as text (jansson's integers are
	 * signed and refuse it). */
	m.nonce = UINT64_MAX;
	CHECK_OK(notify_body(out, sizeof out, &len, &m));
	CHECK(strstr(out, "\"nonce\":18446744073709551615,") != NULL);
	CHECK(strstr(out, "\"value\":0.30000000000000004,") != NULL);

	/* Non-finite values are null; names absent are null. */
	memset(&m, 0, sizeof m);
	m.event = NOTIFY_FAILED;
	m.has_trip = true;
	m.value = NAN;
	m.threshold = INFINITY;
	CHECK_OK(notify_body(out, sizeof out, &len, &m));
	CHECK(strstr(out, "\"trigger\":null,\"action\":null,") != NULL);
	CHECK(strstr(out, "\"value\":null,\"threshold\":null,") != NULL);

	CHECK_ERR(notify_body(out, 40, &len, &m), KERR_BUF);
	m.event = NOTIFY_EVENTS;
	CHECK_ERR(notify_body(out, sizeof out, &len, &m), KERR_ARG);
}

static void test_messages(void)
{
	detect_trip_t t = sample_trip();
	tracker_outcome_t o;
	notify_msg_t m;
	uint8_t h[32];
	static const struct {
		tracker_result_t r;
		notify_event_t e;
	} map[] = {
		{ TRACKER_MINED, NOTIFY_MINED },
		{ TRACKER_REVERTED, NOTIFY_REVERTED },
		{ TRACKER_GUARD_STOPPED, NOTIFY_GUARD_STOPPED },
		{ TRACKER_CAPPED, NOTIFY_CAPPED },
		{ TRACKER_FAILED, NOTIFY_FAILED },
	};

	/* A mempool trip names the pending transaction that caused it. */
	t.has_tx = true;
	memset(t.tx_hash, 0x77, 32);
	t.has_account = true;
	memset(t.account.b, 0x11, 20);
	t.has_amount = true;
	u256_from_u64(&t.amount, 42);
	notify_msg_trip(&m, &t, "a");
	CHECK_EQ_INT(m.event, NOTIFY_TRIP);
	CHECK_EQ_STR(m.trigger, "usdc-depeg");
	CHECK_EQ_STR(m.action, "a");
	CHECK(m.has_trip && m.kind == CONFIG_TRIGGER_DEPEG && m.value == 0.9712);
	CHECK_EQ_INT(m.time_ms, 1678520483000);
	CHECK(m.has_tx && m.tx_hash[0] == 0x77 && !m.has_nonce);
	CHECK(m.has_account && m.has_amount);

	memset(h, 0x33, 32);
	notify_msg_sent(&m, "usdc-depeg", "a", &t, h, 9, 2000);
	CHECK_EQ_INT(m.event, NOTIFY_SENT);
	CHECK_EQ_STR(m.trigger, "usdc-depeg");
	CHECK(m.has_tx && m.tx_hash[0] == 0x33);
	CHECK(m.has_nonce && m.nonce == 9);
	CHECK_EQ_INT(m.time_ms, 2000);
	CHECK(m.has_trip && m.has_amount);
	notify_msg_sent(&m, "usdc-depeg", "a", NULL, h, 9, 2000);
	CHECK(!m.has_trip && !m.has_amount && !m.has_account);
	CHECK(m.has_tx && m.has_nonce);

	memset(&o, 0, sizeof o);
	o.action = "a";
	o.trigger = "usdc-depeg";
	o.has_tx = true;
	o.nonce = 4;
	memset(o.hash, 0x44, 32);
	o.has_account = true;
	memset(o.account.b, 0x22, 20);
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		o.result = map[i].r;
		CHECK(notify_msg_outcome(&m, &o, &t, 3000));
		CHECK_EQ_INT(m.event, map[i].e);
		CHECK_EQ_STR(m.trigger, "usdc-depeg");
		CHECK(m.has_tx && m.tx_hash[0] == 0x44 && m.nonce == 4);
		CHECK(m.has_account && m.account.b[0] == 0x22);
		CHECK(m.has_trip && m.value == 0.9712 && m.has_amount);
		CHECK_EQ_INT(m.time_ms, 3000);
	}
	/* Without the trip and without a transaction (stopped by the guard
	 * before anything was signed). */
	o.result = TRACKER_GUARD_STOPPED;
	o.has_tx = false;
	o.has_account = false;
	CHECK(notify_msg_outcome(&m, &o, NULL, 3000));
	CHECK(!m.has_trip && !m.has_tx && !m.has_nonce && !m.has_account &&
	      !m.has_amount);
	o.result = TRACKER_DRY_RUN;
	m.event = NOTIFY_TRIP;
	CHECK(!notify_msg_outcome(&m, &o, &t, 3000));
	CHECK_EQ_INT(m.event, NOTIFY_TRIP);
	for (int e = 0; e < NOTIFY_EVENTS; e++)
		CHECK(strcmp(notify_event_name((notify_event_t)e), "unknown"));
	CHECK_EQ_STR(notify_event_name(NOTIFY_GUARD_STOPPED), "guard_stopped");
}

/* ---- on the loop */

static void test_order(void)
{
	char url[64];
	notify_stats_t st;
	notify_msg_t m;

	srv_start();
	snprintf(url, sizeof url, "http://127.0.0.1:%d/ok", S.h.port);
	CHECK_OK(notify_new(&N, L, NULL));
	for (int i = 0; i < 40; i++) {
		m = msg_n(i);
		CHECK_OK(notify_post(N, url, &m));
	}
	CHECK(run_until(idle, 5000));
	notify_stats(N, &st);
	CHECK_EQ_INT(st.posted, 40);
	CHECK_EQ_INT(st.delivered, 40);
	CHECK_EQ_INT(st.dropped, 0);
	CHECK_EQ_INT(st.failed, 0);
	CHECK_EQ_INT(srv_count(), 40);
	for (int i = 0; i < srv_count(); i++)
		CHECK_EQ_INT(rec_seq(i), i);
	CHECK_ERR(notify_post(N, "ftp://x/", &m), KERR_ARG);
	CHECK_ERR(notify_post(N, NULL, &m), KERR_ARG);
	notify_free(N);
	srv_stop();
}

/* A slow endpoint: the first body goes at once, then the queue keeps the
 * newest queue_max. */
static void test_queue_bound(void)
{
	char url[64];
	notify_stats_t st;
	notify_opts_t o = { .queue_max = 4 };
	notify_msg_t m;

	srv_start();
	S.slow_ms = 100;
	snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", S.h.port);
	CHECK_OK(notify_new(&N, L, &o));
	for (int i = 0; i < 30; i++) {
		m = msg_n(i);
		CHECK_OK(notify_post(N, url, &m));
		notify_stats(N, &st);
		CHECK(st.waiting <= 4);
		CHECK_EQ_INT(st.in_flight, 1);
	}
	notify_stats(N, &st);
	CHECK_EQ_INT(st.dropped, 25);
	CHECK(run_until(idle, 5000));
	notify_stats(N, &st);
	CHECK_EQ_INT(st.delivered, 5);
	CHECK_EQ_INT(srv_count(), 5);
	CHECK_EQ_INT(rec_seq(0), 0);
	for (int i = 1; i < srv_count(); i++)
		CHECK_EQ_INT(rec_seq(i), 25 + i);
	notify_free(N);
	srv_stop();
}

/* An endpoint that accepts but never answers: the loop ticks on, posting
 * costs nothing, the queue stays bounded, another URL is served. */
static void test_dead_endpoint(void)
{
	char dead[64], live[64];
	notify_stats_t st;
	notify_opts_t o = { .queue_max = 8, .timeout_ms = 200 };
	notify_msg_t m;
	int lfd = -1, port = free_port(1, &lfd);
	int64_t t0, t1;

	CHECK(port > 0);
	srv_start();
	snprintf(dead, sizeof dead, "http://127.0.0.1:%d/", port);
	snprintf(live, sizeof live, "http://127.0.0.1:%d/ok", S.h.port);
	CHECK_OK(notify_new(&N, L, &o));
	ticker_start(L);
	t0 = mono_ms();
	for (int i = 0; i < 50; i++) {
		m = msg_n(i);
		CHECK_OK(notify_post(N, dead, &m));
	}
	t1 = mono_ms();
	CHECK_MSG(t1 - t0 < 100, "50 posts took %lld ms", (long long)(t1 - t0));
	notify_stats(N, &st);
	CHECK_EQ_INT(st.waiting, 8);
	CHECK_EQ_INT(st.in_flight, 1);
	CHECK_EQ_INT(st.dropped, 41);
	/* The live URL's bodies go past the dead one's queue (which holds
	 * the oldest waiting entries: these push out dead ones). */
	for (int i = 100; i < 103; i++) {
		m = msg_n(i);
		CHECK_OK(notify_post(N, live, &m));
	}
	run_until(never, 1000);
	notify_stats(N, &st);
	CHECK_EQ_INT(srv_count(), 3);
	for (int i = 0; i < srv_count(); i++)
		CHECK_EQ_INT(rec_seq(i), 100 + i);
	CHECK_EQ_INT(st.delivered, 3);
	CHECK_MSG(ticks >= 60, "ticks %d in 1 s", ticks);
	CHECK(st.waiting <= 8);
	CHECK(st.failed >= 1 && st.retries >= 1);
	CHECK_EQ_INT(st.posted, st.delivered + st.failed + st.dropped + st.waiting +
				st.in_flight);
	ticker_stop();
	/* Freed with bodies waiting and in flight. */
	notify_free(N);
	close(lfd);
	srv_stop();
}

static void test_retry(void)
{
	char url[64];
	notify_stats_t st;
	notify_msg_t m = msg_n(7);

	srv_start();
	CHECK_OK(notify_new(&N, L, NULL));
	/* 500, then 200 on the retry. */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/flaky", S.h.port);
	CHECK_OK(notify_post(N, url, &m));
	CHECK(run_until(idle, 5000));
	notify_stats(N, &st);
	CHECK_EQ_INT(st.delivered, 1);
	CHECK_EQ_INT(st.retries, 1);
	CHECK_EQ_INT(st.failed, 0);
	CHECK_EQ_INT(srv_count(), 2);
	CHECK_EQ_INT(rec_seq(0), 7);
	CHECK_EQ_INT(rec_seq(1), 7);
	/* 400: refused, not retried. */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/bad", S.h.port);
	CHECK_OK(notify_post(N, url, &m));
	CHECK(run_until(idle, 5000));
	notify_stats(N, &st);
	CHECK_EQ_INT(st.failed, 1);
	CHECK_EQ_INT(st.retries, 1);
	CHECK_EQ_INT(srv_count(), 3);
	/* Nothing listens: two attempts, then given up. */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", free_port(0, NULL));
	CHECK_OK(notify_post(N, url, &m));
	CHECK(run_until(idle, 5000));
	notify_stats(N, &st);
	CHECK_EQ_INT(st.failed, 2);
	CHECK_EQ_INT(st.retries, 2);
	CHECK_EQ_INT(st.delivered, 1);
	notify_free(N);
	srv_stop();
}

static void test_opts(void)
{
	notify_opts_t o = { .queue_max = NOTIFY_QUEUE_MAX + 1 };

	CHECK_ERR(notify_new(&N, L, &o), KERR_ARG);
	CHECK(N == NULL);
	o.queue_max = 0;
	o.max_inflight = NOTIFY_INFLIGHT_MAX + 1;
	CHECK_ERR(notify_new(&N, L, &o), KERR_ARG);
	CHECK_ERR(notify_new(&N, NULL, NULL), KERR_ARG);
	notify_free(NULL);
}

int main(void)
{
	pthread_mutex_init(&S.h.mu, NULL);
	CHECK_OK(loop_create(NULL, &L));
	loop_util_init();
	RUN(test_body);
	RUN(test_messages);
	RUN(test_order);
	RUN(test_queue_bound);
	RUN(test_dead_endpoint);
	RUN(test_retry);
	RUN(test_opts);
	loop_destroy(L);
	return t_done();
}
