/*
 * test_run_private_anvil: `keeper run` with a `private` gas strategy and a
 * `notify` webhook (keeper issue 5), end to end.  On 127.0.0.1: an anvil
 * (foundry from .deps) with tests/contracts/Erc20 and Vault deployed by
 * cast, automining off (this test mines each block with evm_mine); its
 * guardian, dev account 1, is keeper's key.  Three peers run on threads of
 * this test:
 *  - a counting proxy in front of anvil, which is keeper's only chain.rpc
 *    URL: every request keeper makes over HTTP passes through it, and each
 *    eth_sendRawTransaction in them is counted (the node websocket goes to
 *    anvil directly; keeper never sends a transaction over it);
 *  - a relay (tests/relaysrv.h) that recovers each request's
 *    X-Flashbots-Signature signer itself and records the raw transaction
 *    and target block; its builder is this test, which hands the raw
 *    transaction to anvil (eth_sendRawTransaction) at once for private_tx,
 *    and just before mining the block a bundle targets for bundle;
 *  - a webhook endpoint (tests/hooksrv.h) recording the JSON bodies.
 * In each scenario the attacker (dev account 3) sends the drain
 * emergencyWithdraw(token, attacker); keeper's mempool trigger (selector)
 * trips, reads the guard paused() and sends pause():
 *  private_tx: the relay gets eth_sendPrivateTransaction signed by the
 *           guardian's key, for the blocks up to the head + 25; the pause
 *           is mined in the next block; not one eth_sendRawTransaction went
 *           through chain.rpc; the webhook got trip (naming the drain),
 *           sent and mined (naming the pause's hash and nonce), in order;
 *  bundle, a webhook that never answers: the relay gets eth_sendBundle for
 *           the next 3 blocks while the trip's POST hangs unanswered; the
 *           bundle's first target block is the next one, and the pause is
 *           mined in it; nothing public either;
 *  also_public: the relay and chain.rpc both get the pause.
 * keeper's /metrics counts the relay's requests and the webhooks
 * delivered; each keeper is stopped with SIGTERM: exit 0, and its summary
 * counts the relay's acceptances and the webhooks too.  Bounded by an alarm;
 * anvil and keeper are killed at exit, on a fatal signal and on the alarm.
 */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <jansson.h>

#include "keeper/notify.h"
#include "keeper/relay.h"
#include "tests/e2e.h"
#include "tests/hooksrv.h"
#include "tests/relaysrv.h"

#define TOKEN DEPLOYED0
#define VAULT DEPLOYED1

static const char *key_path, *cfg_path, *state_path;
static int metrics_port;

/* ---- the counting proxy in front of anvil */

#define PX_REPLY (1 << 20)

static struct {
	httpsrv_t h;
	int requests;             /* HTTP requests forwarded */
	int sends;                /* eth_sendRawTransaction calls in them */
	char reply[PX_REPLY];     /* the server thread's */
} PX;

/* One HTTP/1.1 request to 127.0.0.1:port (a POST of body when body is
 * not NULL, else a GET of path), its answer's body into out
 * (NUL-terminated); false unless the answer was a 200. */
static bool http_req(int port, const char *path, const char *body, size_t len, char *out,
		     size_t cap)
{
	struct sockaddr_in sa = { 0 };
	char head[256], *sep;
	size_t got = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), n;

	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	if (body)
		n = snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			     "Connection: close\r\n\r\n", path, len);
	else
		n = snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			     "Connection: close\r\n\r\n", path);
	if (write(fd, head, (size_t)n) != n || (body && write(fd, body, len) != (ssize_t)len)) {
		close(fd);
		return false;
	}
	for (;;) {
		ssize_t r = read(fd, out + got, cap - 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || got + (size_t)r >= cap - 1) {
			if (r > 0)
				got += (size_t)r;
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	out[got] = 0;
	if (strncmp(out, "HTTP/1.1 200", 12) || !(sep = strstr(out, "\r\n\r\n")))
		return false;
	memmove(out, sep + 4, strlen(sep + 4) + 1);
	return true;
}

static void px_serve(httpsrv_conn_t *c)
{
	size_t head, blen;

	while (httpsrv_request(c, &head, &blen)) {
		int sends = 0;

		for (const char *p = c->buf + head;
		     (p = httpsrv_find(p, (size_t)(c->buf + head + blen - p),
				       "\"eth_sendRawTransaction\"")); p++)
			sends++;
		pthread_mutex_lock(&PX.h.mu);
		PX.requests++;
		PX.sends += sends;
		pthread_mutex_unlock(&PX.h.mu);
		if (http_req(anvil_port, "/", c->buf + head, blen, PX.reply, sizeof PX.reply))
			httpsrv_send(c->fd, 200, "application/json", PX.reply);
		else
			httpsrv_send(c->fd, 502, NULL, "");
		httpsrv_consume(c, head + blen);
	}
}

static void px_counts(int *requests, int *sends)
{
	pthread_mutex_lock(&PX.h.mu);
	*requests = PX.requests;
	*sends = PX.sends;
	pthread_mutex_unlock(&PX.h.mu);
}

/* ---- chain */

static bool set_paused(bool on)
{
	/* paused_ is the Vault's first storage slot */
	return cast(NULL, 0, "rpc anvil_setStorageAt " VAULT " 0x0 0x%064d", on ? 1 : 0) == 0;
}

static bool vault_paused(void)
{
	char o[64];

	return cast(o, sizeof o, "call " VAULT " 'paused()(bool)'") == 0 && !strcmp(o, "true");
}

/* The relay's builder: the raw transaction of record r into anvil's pool. */
static bool builder_include(const relaysrv_rec_t *r)
{
	char hx[2 * RELAYSRV_RAW + 3];

	hx[0] = '0', hx[1] = 'x';
	hex_encode(hx + 2, r->raw, r->raw_len);
	hx[2 + 2 * r->raw_len] = 0;
	return cast(NULL, 0, "rpc eth_sendRawTransaction %s", hx) == 0;
}

/* ---- peers: waiting and reading */

static bool wait_count(int (*count)(void), int want, int ms)
{
	int64_t t0 = mono_ms();

	while (count() < want) {
		if (mono_ms() - t0 > ms)
			return false;
		usleep(10000);
	}
	return true;
}

static void hash_hex(const uint8_t h[32], char out[67])
{
	out[0] = '0', out[1] = 'x';
	hex_encode(out + 2, h, 32);
	out[66] = 0;
}

/* Webhook body i: its event, tx_hash and nonce (-1: null). */
static bool hook_body(int i, char *event, size_t ecap, char *txh, size_t hcap, long long *nonce)
{
	hooksrv_rec_t r = hooksrv_rec(i);
	json_t *j = json_loads(r.body, 0, NULL), *n;
	const char *e, *h;

	if (!j)
		return false;
	e = json_string_value(json_object_get(j, "event"));
	h = json_string_value(json_object_get(j, "tx_hash"));
	n = json_object_get(j, "nonce");
	snprintf(event, ecap, "%s", e ? e : "?");
	snprintf(txh, hcap, "%s", h ? h : "null");
	*nonce = json_is_integer(n) ? (long long)json_integer_value(n) : -1;
	json_decref(j);
	return true;
}

/* The value of the series `name` (with its labels, as rendered) in
 * keeper's /metrics; -1 when absent or unreadable. */
static double metric(const char *name)
{
	static char page[1 << 16];
	const char *p;

	if (!http_req(metrics_port, "/metrics", NULL, 0, page, sizeof page))
		return -1;
	for (p = page; (p = strstr(p, name)); p++)
		if ((p == page || p[-1] == '\n') && p[strlen(name)] == ' ')
			return strtod(p + strlen(name) + 1, NULL);
	return -1;
}

/* metric(name), polled until it reaches want or ms pass: the last value.
 * (The webhook's answer reaches keeper a moment after the body reached the
 * endpoint.) */
static double wait_metric(const char *name, double want, int ms)
{
	int64_t t0 = mono_ms();
	double v;

	while ((v = metric(name)) < want && mono_ms() - t0 < ms)
		usleep(20000);
	return v;
}

/* ---- configs */

static bool write_cfg(const char *mode, bool also_public)
{
	char cfg[4096];

	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d/\";\n"
		 "    rpc = [ \"http://127.0.0.1:%d/\" ]; };\n"
		 "signer = { key_file = \"%s\"; };\n"
		 "watch = ( { name = \"vault\"; address = \"" VAULT "\"; tokens = [ \"" TOKEN "\" ]; } );\n"
		 "triggers = ( { name = \"sel\"; kind = \"mempool\"; watch = \"vault\";\n"
		 "    selectors = [ \"emergencyWithdraw(address,address)\" ]; threshold_pct = 10;\n"
		 "    cooldown_ms = 0; action = \"pause-vault\"; } );\n"
		 "actions = ( { name = \"pause-vault\"; to = \"" VAULT "\"; call = \"pause()\";\n"
		 "    guard = \"paused()\"; gas_limit = 100000; gas = \"relay\";\n"
		 "    notify = \"http://127.0.0.1:%d/keeper\"; } );\n"
		 "gas = ( { name = \"relay\"; strategy = \"private\"; max_fee_gwei = 1000;\n"
		 "    relay = \"http://127.0.0.1:%d/\"; mode = \"%s\"; also_public = %s; } );\n"
		 "log = { level = \"info\"; format = \"text\"; };\n"
		 "metrics = { listen = \"127.0.0.1:%d\"; };\n"
		 "state_file = \"%s\";\n",
		 anvil_port, PX.h.port, key_path, HS.h.port, RS.h.port, mode,
		 also_public ? "true" : "false", metrics_port, state_path);
	return write_mode(cfg_path, cfg, 0644);
}

/* ---- one scenario */

typedef struct {
	const char *mode;
	bool also_public;
	bool silent_hook;
} scenario_t;

/* anvil answers eth_subscribe a moment before the subscription delivers
 * (test_run_send_anvil): a transaction sent at once is sometimes never
 * notified. */
static void settle(void)
{
	usleep(500000);
}

static void drain_tx(char hash[67])
{
	CHECK(send_async(hash, "--private-key " K3 " --gas-limit 200000 --priority-gas-price "
			 "1000000000 --gas-price 50000000000 " VAULT
			 " 'emergencyWithdraw(address,address)' " TOKEN " " ACCT3));
}

static void run_scenario(const scenario_t *sc)
{
	bool bundle = !strcmp(sc->mode, "bundle");
	int nreq = bundle ? RELAY_BLOCKS_DEFAULT : 1;
	int n0 = relaysrv_count(), px_req0, px_send0, px_req, px_send, target = -1;
	char drain[67], line[2048], ours[96], nonce_s[32], summary[2048], want[96];
	uint64_t b0, n_g, seen_lo = UINT64_MAX, seen_hi = 0;
	relaysrv_rec_t rec;
	receipt_t rp;
	int st, acc = 0;

	CHECK(write_cfg(sc->mode, sc->also_public));
	CHECK(!vault_paused());
	hooksrv_reset(sc->silent_hook);
	px_counts(&px_req0, &px_send0);
	CHECK(keeper_run(cfg_path, false) > 0);
	if (keeper_pid <= 0)
		return;
	CHECK_MSG(wait_log("subscriptions answered", 1, 8000), "node not subscribed:\n%s", logbuf);
	settle();
	b0 = block_number();
	n_g = cast_nonce(ACCT1, "latest");
	drain_tx(drain);
	CHECK_MSG(wait_log("sent action=pause-vault", 1, 10000), "no send:\n%s", logbuf);
	CHECK(log_line("sent action=pause-vault", 0, line, sizeof line));
	CHECK(field(line, "hash", ours, sizeof ours) && strlen(ours) == 66);
	CHECK(field(line, "nonce", nonce_s, sizeof nonce_s));
	CHECK_EQ_INT(strtoull(nonce_s, NULL, 10), n_g);
	CHECK_MSG(wait_count(relaysrv_count, n0 + nreq, 5000), "relay requests: %d",
		  relaysrv_count() - n0);
	/* what the relay got: the pause, signed by the guardian's key */
	for (int i = n0; i < relaysrv_count() && i < n0 + nreq; i++) {
		char h[67], who[ADDR_TEXT_LEN];

		rec = relaysrv_rec(i);
		hash_hex(rec.hash, h);
		addr_to_checksum(&rec.who, who);
		CHECK_MSG(rec.ok, "relay request %d: %s", i, rec.why);
		CHECK_EQ_STR(who, ACCT1);
		CHECK_EQ_STR(h, ours);
		CHECK_EQ_INT(rec.bundle, bundle);
		if (rec.block < seen_lo)
			seen_lo = rec.block, target = i;
		if (rec.block > seen_hi)
			seen_hi = rec.block;
	}
	if (bundle) {
		CHECK_EQ_INT(seen_lo, b0 + 1);
		CHECK_EQ_INT(seen_hi, b0 + RELAY_BLOCKS_DEFAULT);
	} else {
		CHECK_EQ_INT(seen_lo, b0 + RELAY_PRIVATE_BLOCKS_DEFAULT);
	}
	if (sc->silent_hook) {
		/* the trip's POST arrived and hangs: the pause went out anyway */
		CHECK(wait_count(hooksrv_count, 1, 5000));
		if (hooksrv_count() >= 1 && target >= 0) {
			int64_t lag = relaysrv_rec(target).at_ms - hooksrv_rec(0).at_ms;

			CHECK_MSG(lag < NOTIFY_TIMEOUT_DEFAULT, "relay %lld ms after the webhook",
				  (long long)lag);
			printf("    webhook never answers: its trip POST at +0 ms, the relay's "
			       "request at +%lld ms\n", (long long)lag);
		}
	}
	/* the builder includes it (the bundle's first target block, or the
	 * private transaction's next block), unless it went public anyway */
	if (!sc->also_public && target >= 0) {
		rec = relaysrv_rec(target);
		CHECK(builder_include(&rec));
	}
	CHECK(evm_mine());
	CHECK_MSG(wait_log("mined action=pause-vault", 1, 10000), "not mined:\n%s", logbuf);
	CHECK(log_line("mined action=pause-vault", 0, line, sizeof line));
	CHECK(strstr(line, ours) != NULL);
	rp = receipt(ours);
	CHECK(rp.found);
	CHECK_EQ_INT(rp.status, 1);
	CHECK_EQ_INT(rp.block, b0 + 1);
	CHECK(vault_paused());
	CHECK_EQ_INT(cast_nonce(ACCT1, "latest"), n_g + 1);
	px_counts(&px_req, &px_send);
	if (sc->also_public)
		CHECK(px_send - px_send0 >= 1);
	else
		CHECK_EQ_INT(px_send - px_send0, 0);
	/* webhooks: trip (the drain), sent and mined (the pause) */
	if (!sc->silent_hook) {
		static const char *const ev[] = { "trip", "sent", "mined" };

		CHECK_MSG(wait_count(hooksrv_count, 3, 5000), "webhooks: %d", hooksrv_count());
		for (int i = 0; i < 3 && i < hooksrv_count(); i++) {
			char e[32], h[96];
			long long n;

			CHECK(hook_body(i, e, sizeof e, h, sizeof h, &n));
			CHECK_EQ_STR(e, ev[i]);
			CHECK_EQ_STR(h, i ? ours : drain);
			CHECK_EQ_INT(n, i ? (long long)n_g : -1);
		}
	} else {
		char e[32], h[96];
		long long n;

		CHECK(hooksrv_count() >= 1 && hook_body(0, e, sizeof e, h, sizeof h, &n) &&
		      !strcmp(e, "trip") && !strcmp(h, drain));
	}
	/* the relay's and the webhooks' counters on /metrics */
	CHECK(wait_metric("keeper_relay_requests_total{result=\"accepted\"}", nreq, 5000) >= nreq);
	CHECK_EQ_INT(metric("keeper_relay_requests_total{result=\"failed\"}"), 0);
	CHECK_EQ_INT(wait_metric("keeper_webhooks_total{result=\"delivered\"}",
				 sc->silent_hook ? 0 : 3, 5000), sc->silent_hook ? 0 : 3);
	st = keeper_stop(summary, sizeof summary);
	printf("    %s\n", summary);
	CHECK_EQ_INT(st, 0);
	CHECK(strstr(summary, " 1 sent,") != NULL);
	CHECK(strstr(summary, " 1 mined,") != NULL);
	CHECK(strstr(summary, " 0 in flight;") != NULL);
	/* one submission at least (a head before the receipt submits again) */
	CHECK(strstr(summary, "relay ") && sscanf(strstr(summary, "relay "),
						  "relay %d accepted, 0 failed;", &acc) == 1 &&
	      acc >= 1);
	snprintf(want, sizeof want, "webhooks %d delivered,", sc->silent_hook ? 0 : 3);
	CHECK(strstr(summary, want) != NULL);
	printf("    %s%s: drain %.10s.. at block %" PRIu64 "; relay got %d %s for blocks %"
	       PRIu64 "..%" PRIu64 ", signed by %s; pause %.10s.. nonce %" PRIu64
	       " mined in block %" PRIu64 " (status %" PRIu64 "); chain.rpc: %d requests, %d "
	       "eth_sendRawTransaction; webhooks: %d bodies\n", sc->mode,
	       sc->also_public ? " + also_public" : "", drain, b0, nreq,
	       bundle ? "eth_sendBundle" : "eth_sendPrivateTransaction",
	       bundle ? seen_lo : b0 + 1, seen_hi, ACCT1, ours, n_g, rp.block, rp.status,
	       px_req - px_req0, px_send - px_send0, hooksrv_count());
	CHECK(set_paused(false));
}

static void test_private_tx(void)
{
	static const scenario_t sc = { "private_tx", false, false };

	run_scenario(&sc);
}

static void test_bundle_silent_hook(void)
{
	static const scenario_t sc = { "bundle", false, true };

	run_scenario(&sc);
}

static void test_also_public(void)
{
	static const scenario_t sc = { "private_tx", true, false };

	run_scenario(&sc);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (!keeper_test_begin("test_run_private_anvil", 90, argv[0], "run-private", NULL))
		return 1;
	key_path = tmp_file("guardian.key");
	cfg_path = tmp_file("run.cfg");
	state_path = tmp_file("keeper.state");
	tmp_file("keeper.state.tmp");
	if (!write_mode(key_path, K1 "\n", 0600))
		return setup_failed("key file");
	if (!(metrics_port = free_port(0, NULL)))
		return setup_failed("a port for metrics");
	if (anvil_up(NULL) <= 0)
		return setup_failed("anvil did not start");
	if (!deploy_vault() || !set_automine(false))
		return setup_failed("deploying Erc20 and Vault with cast");
	pthread_mutex_init(&PX.h.mu, NULL);
	httpsrv_start(&PX.h, px_serve);
	relaysrv_start();
	hooksrv_start();
	printf("    Vault at %s, guardian %s; chain.rpc through a counting proxy on port %d, "
	       "relay on %d, webhook on %d; automine off\n", VAULT, ACCT1, PX.h.port,
	       RS.h.port, HS.h.port);
	RUN(test_private_tx);
	RUN(test_bundle_silent_hook);
	RUN(test_also_public);
	kill_all();
	httpsrv_stop(&PX.h);
	relaysrv_stop();
	hooksrv_stop();
	return e2e_done();
}
