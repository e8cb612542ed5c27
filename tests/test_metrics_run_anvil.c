/*
 * test_metrics_run_anvil: `keeper run`'s /metrics and /healthz (keeper
 * issue 8) during an end-to-end run.  On 127.0.0.1: an anvil with
 * tests/contracts/Erc20 and Vault deployed (tests/e2e.h's deploy_vault),
 * automining then turned off so the drain stays pending; a tests/feedsrv
 * price feed ticking every 50 ms (stale_after_ms 800); keeper run, sending,
 * with metrics.listen on a free port.  The attacker's drain trips a
 * mempool trigger on its selector; keeper reads the guard and sends
 * pause().  A plain-socket GET of /metrics then shows events of the node
 * and of the feed, the trip, a sent transaction and a trip-to-wire
 * histogram with buckets.  /healthz is 200 while the feed ticks, 503
 * naming the feed while feedsrv is stopped (SIGSTOP: the connection stays,
 * the ticks stop) for longer than stale_after_ms, and 200 again once it
 * goes on (SIGCONT).  Bounded by a 60 s alarm.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/e2e.h"
#include "tests/feedsrv.h"
#include "tests/net_util.h"

#define TOKEN DEPLOYED0
#define VAULT DEPLOYED1

static int metrics_port;
static char resp[1 << 16];

/* GET path from keeper's metrics server into resp; the HTTP status, or -1. */
static int http_get(const char *path)
{
	struct sockaddr_in sa = { 0 };
	char req[256];
	size_t n = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;

	if (fd < 0)
		return -1;
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)metrics_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
		/* "Connection: close": the body ends with the stream. */
		while (n + 1 < sizeof resp && (r = read(fd, resp + n, sizeof resp - 1 - n)) > 0)
			n += (size_t)r;
	}
	close(fd);
	resp[n] = 0;
	if (sscanf(resp, "HTTP/1.1 %d", &status) != 1)
		status = -1;
	return status;
}

/* The value of the sample line starting with `series ` in resp; -1 if none. */
static double sample(const char *series)
{
	size_t len = strlen(series);

	for (const char *p = resp; (p = strstr(p, series)); p += len)
		if ((p == resp || p[-1] == '\n') && p[len] == ' ')
			return strtod(p + len + 1, NULL);
	return -1;
}

/* Poll /healthz for up to ms until it answers want; the last status. */
static int healthz_until(int want, int ms)
{
	int st = -1;

	for (int t = 0; t < ms; t += 100) {
		if ((st = http_get("/healthz")) == want)
			break;
		usleep(100000);
	}
	return st;
}

static feedsrv_t fs = { -1, 0 };
static const char *cfg_path;

static void test_metrics(void)
{
	char drain[67];
	const char *body;
	double v;

	if (!keeper_subscribed(cfg_path, false))
		return;
	/* See test_run_send_anvil's settle(): anvil needs a moment. */
	usleep(500000);
	CHECK(send_async(drain, "--private-key " K3 " " VAULT
			 " 'emergencyWithdraw(address,address)' " TOKEN " " ACCT3));
	CHECK_MSG(wait_log("sent action=pause-vault", 1, 10000), "no send:\n%s", logbuf);
	CHECK_EQ_INT(http_get("/metrics"), 200);
	body = strstr(resp, "\r\n\r\n");
	CHECK(body != NULL);
	CHECK((v = sample("keeper_events_total{source=\"node\"}")) > 0);
	printf("    events node %.0f", v);
	CHECK((v = sample("keeper_events_total{source=\"eth-usd\"}")) > 0);
	printf(", feed %.0f", v);
	CHECK((v = sample("keeper_trips_total{trigger=\"sel\"}")) >= 1);
	printf("; trips %.0f", v);
	CHECK((v = sample("keeper_transactions_total{result=\"sent\"}")) >= 1);
	printf("; sent %.0f", v);
	CHECK((v = sample("keeper_trip_to_wire_seconds_count")) >= 1);
	printf("; trip_to_wire count %.0f sum %.6f s", v,
	       sample("keeper_trip_to_wire_seconds_sum"));
	CHECK_EQ_INT((int)sample("keeper_trip_to_wire_seconds_bucket{le=\"+Inf\"}"), (int)v);
	CHECK(sample("keeper_trip_to_wire_seconds_bucket{le=\"1\"}") >= 0);
	CHECK(sample("keeper_nonce") >= 1);
	CHECK(sample("keeper_signer_balance_wei") > 1e18);   /* anvil's 10000 ETH, less gas */
	CHECK(sample("keeper_feed_age_seconds{feed=\"eth-usd\"}") >= 0);
	printf("; nonce %.0f\n", sample("keeper_nonce"));
	CHECK(strstr(resp, "# TYPE keeper_trip_to_wire_seconds histogram") != NULL);

	CHECK_EQ_INT(healthz_until(200, 3000), 200);
	CHECK(strstr(resp, "\r\n\r\nok\n") != NULL);
	/* The feed falls silent for 2 s, over its stale_after_ms. */
	CHECK(kill(fs.pid, SIGSTOP) == 0);
	CHECK_EQ_INT(healthz_until(503, 3000), 503);
	CHECK_MSG(strstr(resp, "feed: stale: eth-usd") != NULL, "%s", resp);
	printf("    stopped feed: %s", strstr(resp, "feed: "));
	usleep(1000000);
	CHECK(kill(fs.pid, SIGCONT) == 0);
	CHECK_EQ_INT(healthz_until(200, 3000), 200);
	printf("    feed back: /healthz 200\n");
	/* Mine the pause so nothing is in flight: SIGTERM then stops at once
	 * instead of following it for the drain deadline. */
	CHECK(evm_mine());
	CHECK_MSG(wait_log("mined action=pause-vault", 1, 10000), "not mined:\n%s", logbuf);
	CHECK_EQ_INT(keeper_stop(drain, sizeof drain), 0);
}

int main(int argc, char **argv)
{
	char cfg[4096], line[128];
	const char *key_path, *state_path, *feed_path;
	static char feed[1 << 18];
	size_t n = 0;

	(void)argc;
	feedsrv_locate(argv[0]);
	if (!keeper_test_begin("test_metrics_run_anvil", 60, argv[0], "metrics-run",
			       feedsrv_path))
		return 1;
	key_path = tmp_file("guardian.key");
	state_path = tmp_file("keeper.state");
	tmp_file("keeper.state.tmp");
	cfg_path = tmp_file("run.cfg");
	feed_path = tmp_file("feed.jsonl");
	/* 4000 ticks at 50 ms: longer than the test. */
	for (int i = 0; i < 4000 && n < sizeof feed - 128; i++)
		n += (size_t)snprintf(feed + n, sizeof feed - n,
				      "{\"e\":\"trade\",\"p\":\"%d.00\",\"T\":%lld}\n",
				      2000 + i % 5, 1700000000000LL + 50LL * i);
	if (!write_mode(key_path, K1 "\n", 0600) || !write_text(feed_path, feed))
		return setup_failed("key or feed file");
	{
		const char *args[] = { "--file", feed_path, "--interval-ms", "50",
				       "--lifetime", "90", NULL };

		if (feedsrv_start(&fs, args) == 0)
			track(fs.pid, false);
	}
	if (fs.pid <= 0 || anvil_up(NULL) <= 0)
		return setup_failed("feedsrv or anvil did not start");
	if (!deploy_vault() || !set_automine(false))
		return setup_failed("deploying Erc20 and Vault with cast");
	if (!(metrics_port = free_port(0, NULL)))
		return setup_failed("no free port");
	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d/\"; rpc = [ \"%s\" ]; };\n"
		 "signer = { key_file = \"%s\"; };\n"
		 "feeds = ( { name = \"eth-usd\"; url = \"ws://127.0.0.1:%d/\"; "
		 "preset = \"trade\"; stale_after_ms = 800; } );\n"
		 "watch = ( { name = \"vault\"; address = \"" VAULT "\"; tokens = [ \"" TOKEN "\" ]; } );\n"
		 "triggers = ( { name = \"sel\"; kind = \"mempool\"; watch = \"vault\";\n"
		 "    selectors = [ \"emergencyWithdraw(address,address)\" ]; threshold_pct = 10;\n"
		 "    cooldown_ms = 0; action = \"pause-vault\"; } );\n"
		 "actions = ( { name = \"pause-vault\"; to = \"" VAULT "\"; call = \"pause()\";\n"
		 "    guard = \"paused()\"; gas_limit = 100000; gas = \"outbid\"; } );\n"
		 "gas = ( { name = \"outbid\"; strategy = \"outbid\"; max_fee_gwei = 1000; } );\n"
		 "metrics = { listen = \"127.0.0.1:%d\"; };\n"
		 "log = { level = \"info\"; };\n"
		 "state_file = \"%s\";\n",
		 anvil_port, rpc_url, key_path, fs.port, metrics_port, state_path);
	if (!write_text(cfg_path, cfg))
		return setup_failed("config");
	snprintf(line, sizeof line, "127.0.0.1:%d", metrics_port);
	printf("    Vault at %s, automine off; feed every 50 ms, stale after 800 ms; "
	       "metrics on %s\n", VAULT, line);
	RUN(test_metrics);
	untrack(fs.pid);
	feedsrv_stop(&fs);
	return e2e_done();
}
