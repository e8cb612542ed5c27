/*
 * test_e2e_faults_anvil: keeper issue 7, scenario 5 -- faults during a
 * run.  `keeper run` (sending, not dry) guards tests/contracts/Vault on a
 * real anvil: guardian dev account 1, action pause() with guard paused(),
 * a mempool trigger that simulates pending calls to the vault (the
 * attacker's emergencyWithdraw drain trips it), gas outbid (never
 * replaces: whatever keeper sends again for a trip is the same bytes).
 * Automining is off: blocks are mined by this test.  chain.rpc has two
 * URLs, each through a tests/tcpproxy.h forwarder to anvil (A and B),
 * which count the eth_sendRawTransaction requests reaching the node
 * through them; metrics.listen serves keeper's counters.
 *
 *  rpc_url_failing: A, keeper's first (sticky) endpoint, starts resetting
 *     every connection, its kept-alive ones included, before the attack:
 *     keeper still trips, simulates, sends (through B) and sees its pause
 *     mined; one Paused event, the guardian's nonce +1, one "sent", the
 *     pause reached the node once (B) and not through A; keeper's
 *     keeper_rpc_errors_total{endpoint="0"} counts the failures, and its
 *     log (at level debug: info says nothing of them) names each one.
 *  ws_dropped: chain.ws goes through a third forwarder W.  W cuts the
 *     websocket while keeper is idle: keeper reconnects and resubscribes.
 *     An attack is caught, and while its pause is in flight W cuts again
 *     and refuses keeper's reconnections while the block holding the
 *     pause is mined (keeper misses that head); once W lets keeper back
 *     in, the next head resolves the pause as mined (the receipt of the
 *     hash it sent, in the block mined during the outage), with no
 *     second send or re-broadcast.  A new attack after the reconnection
 *     is caught and paused too.
 *  anvil_restart: anvil runs with --state FILE --state-interval 1.  With a
 *     pause in flight anvil is stopped (SIGTERM: it dumps its state) and
 *     started again on the same port from that state (--no-mining); the
 *     pending pause is gone from its pool.  keeper reconnects, and at the
 *     next head re-broadcasts the same signed bytes (the same hash is in
 *     the pool again), which the next block mines.  A second round does
 *     the same with SIGKILL right after an interval dump.  Per trip: one
 *     "sent", no "replaced", nonce +1, one Paused event.
 * Each prints its downtimes, reconnects, broadcasts per URL, hashes and
 * nonces.  Bounded by an alarm (90 s); anvil and keeper are killed at
 * exit, on a fatal signal and on the alarm.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "signer/hex.h"
#include "signer/keccak.h"
#include "tests/e2e.h"
#include "tests/net_util.h"
#include "tests/tcpproxy.h"

#define TOKEN DEPLOYED0
#define VAULT DEPLOYED1
#define SENT "sent action=pause-vault"
#define MINED "mined action=pause-vault"
#define SUBSCRIBED "subscriptions answered"

static const char *key_path, *cfg_path, *kstate_path, *anvil_state;
static tcpproxy_t pa, pb, pw;     /* chain.rpc A and B, chain.ws W */
static pid_t anvil_pid;
static int metrics_port;
static char paused_topic[67];     /* 0x + keccak("Paused(address)") */
static char resp[1 << 17];        /* the latest /metrics answer */

/* ---- keeper's config and metrics */

/* A run on ws_port (anvil's, or W's) with chain.rpc = [ A, B ], logging
 * at level. */
static bool write_cfg(int ws_port, const char *level)
{
	char cfg[4096];

	if (!(metrics_port = free_port(0, NULL)))
		return false;
	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d/\";\n"
		 "    rpc = [ \"http://127.0.0.1:%d\", \"http://127.0.0.1:%d\" ]; };\n"
		 "signer = { key_file = \"%s\"; };\n"
		 "watch = ( { name = \"vault\"; address = \"" VAULT "\"; tokens = [ \"" TOKEN "\" ]; } );\n"
		 "triggers = ( { name = \"drain\"; kind = \"mempool\"; watch = \"vault\";\n"
		 "    simulate = true; threshold_pct = 10; cooldown_ms = 0; action = \"pause-vault\"; } );\n"
		 "actions = ( { name = \"pause-vault\"; to = \"" VAULT "\"; call = \"pause()\";\n"
		 "    guard = \"paused()\"; gas_limit = 100000; gas = \"outbid\"; } );\n"
		 "gas = ( { name = \"outbid\"; strategy = \"outbid\"; max_fee_gwei = 1000; } );\n"
		 "metrics = { listen = \"127.0.0.1:%d\"; };\n"
		 "log = { level = \"%s\"; format = \"text\"; };\n"
		 "state_file = \"%s\";\n",
		 ws_port, pa.port, pb.port, key_path, metrics_port, level, kstate_path);
	return write_mode(cfg_path, cfg, 0644);
}

/* GET /metrics into resp; the HTTP status, or -1. */
static int metrics_get(void)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	struct sockaddr_in sa = { 0 };
	size_t n = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;

	if (fd < 0)
		return -1;
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)metrics_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1)) {
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

/* The value of the sample line `series VALUE` in resp; -1 if none. */
static double sample(const char *series)
{
	size_t len = strlen(series);

	for (const char *p = resp; (p = strstr(p, series)); p += len)
		if ((p == resp || p[-1] == '\n') && p[len] == ' ')
			return strtod(p + len + 1, NULL);
	return -1;
}

/* ---- the chain */

static bool set_paused(bool on)
{
	/* paused_ is the Vault's first storage slot (see test_run_send_anvil) */
	return cast(NULL, 0, "rpc anvil_setStorageAt " VAULT " 0x0 0x%064d", on ? 1 : 0) == 0;
}

static bool vault_paused(void)
{
	char o[64];

	return cast(o, sizeof o, "call " VAULT " 'paused()(bool)'") == 0 && !strcmp(o, "true");
}

static uint64_t guardian_nonce(void)
{
	return cast_nonce(ACCT1, "latest");
}

/* Is hash in anvil's pool or chain (eth_getTransactionByHash not null)? */
static bool tx_known(const char *hash)
{
	char o[8192];

	return cast(o, sizeof o, "rpc eth_getTransactionByHash %s", hash) == 0 &&
	       strncmp(o, "null", 4) != 0 && o[0] == '{';
}

/* The vault's Paused events from block `from` on; -1 on error. */
static int paused_events(uint64_t from)
{
	static char o[65536];
	json_t *j;
	int n = -1;

	if (cast(o, sizeof o, "rpc eth_getLogs '{\"address\":\"" VAULT "\",\"fromBlock\":"
		 "\"0x%" PRIx64 "\",\"toBlock\":\"latest\",\"topics\":[\"%s\"]}'", from,
		 paused_topic) || !(j = json_loads(o, 0, NULL)))
		return -1;
	if (json_is_array(j))
		n = (int)json_array_size(j);
	json_decref(j);
	return n;
}

/* The attacker's drain, pending (automine off). */
static bool drain(char hash[67])
{
	return send_async(hash, "--private-key " K3 " --priority-gas-price 3000000000 "
			  "--gas-price 40000000000 " VAULT " 'emergencyWithdraw(address,address)' "
			  TOKEN " " ACCT3);
}

/* anvil on anvil_port from anvil_state, dumping it every second, mining
 * on demand only (a restart would turn automining back on). */
static bool anvil_start(void)
{
	const char *opts[] = { "--state", anvil_state, "--state-interval", "1", "--no-mining",
			       NULL };

	anvil_pid = anvil_at(anvil_port, opts);
	return anvil_pid > 0;
}

/* ---- keeper */

/* The hash of keeper's n-th (1-based) "sent" line into out. */
static bool sent_hash(int n, char out[67])
{
	char line[2048];

	return log_line(SENT, n - 1, line, sizeof line) && field(line, "hash", out, 67) &&
	       strlen(out) == 66;
}

/* An attack and keeper's answer: the drain sent, keeper's n-th "sent"
 * awaited, its hash into hash. */
static bool attack(int n, char hash[67])
{
	char d[67];

	CHECK(drain(d));
	CHECK_MSG(wait_log(SENT, n, 10000), "attack %d: no send:\n%s", n, logbuf);
	CHECK(sent_hash(n, hash));
	return t_cur_failed == 0;
}

/* anvil answers eth_subscribe a moment before the subscription delivers
 * (test_run_send_anvil's settle): after a (re)subscription, before an
 * attack. */
static void settle(void)
{
	usleep(500000);
}

static bool keeper_start(int ws_port, const char *level)
{
	if (keeper_pid > 0) {   /* left by a failed sub-case */
		stop_child(keeper_pid, 5000);
		keeper_pid = -1;
	}
	CHECK(write_cfg(ws_port, level));
	return keeper_subscribed(cfg_path, false);
}

/* SIGTERM keeper: exit 0, `sent` sent and mined, none replaced, none in
 * flight; every drain failed, so the vault still holds its 5 ether. */
static void keeper_end(int sent)
{
	char summary[2048], want[64], bal[128];

	CHECK(cast_balance(VAULT, bal, sizeof bal) && !strcmp(bal, "5000000000000000000"));
	CHECK_EQ_INT(keeper_stop(summary, sizeof summary), 0);
	printf("    %s\n", summary);
	snprintf(want, sizeof want, " %d sent, 0 replaced, %d mined,", sent, sent);
	CHECK_MSG(strstr(summary, want) != NULL, "want \"%s\"", want);
	CHECK(strstr(summary, " 0 in flight;") != NULL);
	CHECK_EQ_INT(count_in_log("ALERT"), 0);
}

/* ---- the tests */

static void test_rpc_url_failing(void)
{
	char pause[67], line[2048];
	tcpproxy_stats_t a0, b0, a1, b1;
	double e0, e1;
	uint64_t n0, from;
	receipt_t r;

	/* debug: keeper logs each failed call to an endpoint at that level */
	if (!keeper_start(anvil_port, "debug"))
		return;
	settle();
	a0 = tcpproxy_stats(&pa);
	b0 = tcpproxy_stats(&pb);
	/* keeper's calls so far went to its sticky first endpoint */
	CHECK_MSG(a0.forwarded >= 1, "A forwarded %u", a0.forwarded);
	CHECK_EQ_INT(metrics_get(), 200);
	e0 = sample("keeper_rpc_errors_total{endpoint=\"0\"}");
	CHECK(e0 >= 0);
	n0 = guardian_nonce();
	from = block_number() + 1;
	tcpproxy_refuse(&pa, true);
	if (!attack(1, pause))
		return;
	CHECK(tx_known(pause));
	CHECK(evm_mine());
	CHECK_MSG(wait_log(MINED, 1, 10000), "not mined:\n%s", logbuf);
	CHECK(count_in_log(MINED " trigger=drain nonce") == 1 && strstr(logbuf, pause));
	r = receipt(pause);
	CHECK(r.found && r.status == 1);
	CHECK(vault_paused());
	CHECK_EQ_INT(guardian_nonce(), n0 + 1);
	CHECK_EQ_INT(paused_events(from), 1);
	CHECK_EQ_INT(count_in_log(SENT), 1);
	a1 = tcpproxy_stats(&pa);
	b1 = tcpproxy_stats(&pb);
	/* the broadcast reached the node once, through B; A reset it */
	CHECK_EQ_INT(b1.hits - b0.hits, 1);
	CHECK_EQ_INT(a1.hits - a0.hits, 0);
	CHECK(a1.reset >= 1);
	CHECK_EQ_INT(metrics_get(), 200);
	e1 = sample("keeper_rpc_errors_total{endpoint=\"0\"}");
	CHECK_MSG(e1 > e0, "endpoint 0 errors %.0f -> %.0f", e0, e1);
	/* B never failed a call */
	CHECK_EQ_INT(count_in_log("rpc: endpoint 1 ("), 0);
	CHECK(count_in_log("rpc: endpoint 0 (") >= 1);
	if (log_line("rpc: endpoint 0 (", 0, line, sizeof line))
		printf("    %s\n", line);
	printf("    rpc URL 0 resetting: keeper's attempts on it %u (all reset, %u kept-alive "
	       "cut), debug lines on endpoint 0 %d, keeper_rpc_errors_total endpoint 0 %.0f -> "
	       "%.0f, endpoint 1 %.0f; node reconnects %.0f\n", a1.reset, a1.cut,
	       count_in_log("rpc: endpoint 0 ("), e0, e1,
	       sample("keeper_rpc_errors_total{endpoint=\"1\"}"),
	       sample("keeper_reconnects_total{source=\"node\"}"));
	printf("    pause %s: broadcasts reaching the node via URL 0 %u, via URL 1 %u; block "
	       "%" PRIu64 " status %" PRIu64 "; Paused events 1; nonce %" PRIu64 " -> %" PRIu64
	       "; downtime of URL 0: the rest of the run\n", pause, a1.hits - a0.hits,
	       b1.hits - b0.hits, r.block, r.status, n0, guardian_nonce());
	tcpproxy_refuse(&pa, false);
	keeper_end(1);
}

static void test_ws_dropped(void)
{
	char pause1[67], pause2[67], line[2048] = "";
	tcpproxy_stats_t w0, w1, a0, b0, a1, b1;
	int64_t t0, down1, down2;
	uint64_t n0, from, outage_block;
	receipt_t r;

	CHECK(set_paused(false));
	if (!keeper_start(pw.port, "info"))
		return;
	settle();
	/* 1. idle */
	w0 = tcpproxy_stats(&pw);
	t0 = mono_ms();
	tcpproxy_cut(&pw);
	CHECK_MSG(wait_log(SUBSCRIBED, 2, 10000), "no resubscription:\n%s", logbuf);
	down1 = mono_ms() - t0;
	w1 = tcpproxy_stats(&pw);
	CHECK_EQ_INT(w1.cut - w0.cut, 1);
	CHECK(w1.forwarded - w0.forwarded >= 1);
	CHECK(count_in_log("node: connection closed") >= 1);
	printf("    idle cut: resubscribed after %lld ms (connection back after %lld ms)\n",
	       (long long)down1, (long long)(w1.last_forward_ms - t0));
	settle();
	/* 2. a pause in flight */
	n0 = guardian_nonce();
	from = block_number() + 1;
	a0 = tcpproxy_stats(&pa);
	b0 = tcpproxy_stats(&pb);
	if (!attack(1, pause1))
		return;
	CHECK(tx_known(pause1));
	t0 = mono_ms();
	tcpproxy_refuse(&pw, true);
	CHECK(evm_mine());
	outage_block = block_number();
	/* keeper is kept out until it has tried to come back */
	for (int64_t t = mono_ms(); tcpproxy_stats(&pw).reset < 1 && mono_ms() - t < 10000;)
		usleep(20000);
	CHECK(tcpproxy_stats(&pw).reset >= 1);
	CHECK_EQ_INT(count_in_log(MINED), 0);
	tcpproxy_refuse(&pw, false);
	CHECK_MSG(wait_log(SUBSCRIBED, 3, 10000), "no resubscription:\n%s", logbuf);
	down2 = mono_ms() - t0;
	w1 = tcpproxy_stats(&pw);
	/* keeper missed the head of the outage block: nothing resolved yet */
	CHECK_EQ_INT(count_in_log(MINED), 0);
	CHECK(evm_mine());
	CHECK_MSG(wait_log(MINED, 1, 10000), "not mined:\n%s", logbuf);
	CHECK(log_line(MINED, 0, line, sizeof line) && strstr(line, pause1));
	r = receipt(pause1);
	CHECK(r.found && r.status == 1 && r.block == outage_block);
	CHECK_EQ_INT(guardian_nonce(), n0 + 1);
	CHECK_EQ_INT(paused_events(from), 1);
	CHECK_EQ_INT(count_in_log(SENT), 1);
	a1 = tcpproxy_stats(&pa);
	b1 = tcpproxy_stats(&pb);
	CHECK_EQ_INT(a1.hits - a0.hits, 1);
	CHECK_EQ_INT(b1.hits - b0.hits, 1);
	if (log_line("catch-up done", 0, line, sizeof line) ||
	    log_line("catch-up: no block missed", 0, line, sizeof line))
		printf("    %s\n", line);
	printf("    in-flight cut: keeper refused %u times, resubscribed after %lld ms; pause %s "
	       "mined in block %" PRIu64 " during the outage, seen as mined at the next head; "
	       "broadcasts via URL 0 %u, URL 1 %u; nonce %" PRIu64 " -> %" PRIu64 "\n",
	       w1.reset, (long long)down2, pause1, r.block, a1.hits - a0.hits, b1.hits - b0.hits,
	       n0, guardian_nonce());
	/* 3. a new attack after the reconnection */
	CHECK(set_paused(false));
	settle();
	n0 = guardian_nonce();
	from = block_number() + 1;
	if (!attack(2, pause2))
		return;
	CHECK(evm_mine());
	CHECK_MSG(wait_log(MINED, 2, 10000), "not mined:\n%s", logbuf);
	r = receipt(pause2);
	CHECK(r.found && r.status == 1);
	CHECK(vault_paused());
	CHECK_EQ_INT(guardian_nonce(), n0 + 1);
	CHECK_EQ_INT(paused_events(from), 1);
	CHECK_EQ_INT(metrics_get(), 200);
	CHECK(sample("keeper_reconnects_total{source=\"node\"}") >= 2);
	printf("    attack after reconnecting: pause %s mined in block %" PRIu64 "; nonce %"
	       PRIu64 " -> %" PRIu64 "; keeper_reconnects_total node %.0f; W connections "
	       "%u accepted, %u forwarded\n", pause2, r.block, n0, guardian_nonce(),
	       sample("keeper_reconnects_total{source=\"node\"}"), tcpproxy_stats(&pw).accepted,
	       tcpproxy_stats(&pw).forwarded);
	keeper_end(2);
}

/* The file's modification time, wall ms; 0 if none. */
static int64_t mtime_ms(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return 0;
	return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

/* Has anvil finished a dump of its state since wall time ref?  The file
 * is rewritten in place (truncated, then written): it must also be whole
 * JSON again. */
static bool dumped_since(int64_t ref)
{
	json_t *j;

	if (mtime_ms(anvil_state) <= ref || !(j = json_load_file(anvil_state, 0, NULL)))
		return false;
	json_decref(j);
	return true;
}

/* One round: an attack, anvil stopped by sig with the pause in flight and
 * started again from its state; keeper's n-th trip. */
static void restart_round(int n, int sig)
{
	char pause[67];
	tcpproxy_stats_t a0, b0, a1, b1;
	int64_t t0, t_back, down, t_head;
	uint64_t n0, from, head;
	bool lost;
	receipt_t r;

	CHECK(set_paused(false));
	n0 = guardian_nonce();
	from = block_number() + 1;
	a0 = tcpproxy_stats(&pa);
	b0 = tcpproxy_stats(&pb);
	if (!attack(n, pause))
		return;
	CHECK(tx_known(pause));
	if (sig == SIGKILL) {
		/* SIGKILL dumps nothing: wait for an interval dump that holds
		 * the unpaused vault, then kill at once, well before the next */
		int64_t ref = wall_ms();

		for (int64_t t = mono_ms(); !dumped_since(ref) && mono_ms() - t < 5000;)
			usleep(10000);
		CHECK(dumped_since(ref));
	}
	head = block_number();
	t0 = mono_ms();
	if (sig == SIGKILL) {
		kill(-anvil_pid, SIGKILL);
		waitpid(anvil_pid, NULL, 0);
		untrack(anvil_pid);
	} else {
		anvil_stop(anvil_pid);
	}
	CHECK(anvil_start());
	if (anvil_pid <= 0)
		return;
	t_back = mono_ms() - t0;
	/* the pool is not kept: the pause is gone, unless keeper already put
	 * it back (it does so at a head; none has been mined yet) */
	lost = !tx_known(pause);
	CHECK_EQ_INT(block_number(), head);
	CHECK(!vault_paused());
	CHECK_MSG(wait_log(SUBSCRIBED, n + 1, 10000), "no resubscription:\n%s", logbuf);
	down = mono_ms() - t0;
	/* a head: keeper finds its pause missing from the pool */
	CHECK(evm_mine());
	t_head = mono_ms();
	while (!tx_known(pause) && mono_ms() - t_head < 10000)
		usleep(20000);
	t_head = mono_ms() - t_head;
	CHECK_MSG(tx_known(pause), "pause %s not re-broadcast:\n%s", pause, logbuf);
	CHECK(evm_mine());
	CHECK_MSG(wait_log(MINED, n, 10000), "not mined:\n%s", logbuf);
	r = receipt(pause);
	CHECK(r.found && r.status == 1 && r.block > head);
	CHECK(vault_paused());
	CHECK_EQ_INT(guardian_nonce(), n0 + 1);
	CHECK_EQ_INT(paused_events(from), 1);
	CHECK_EQ_INT(count_in_log(SENT), n);
	CHECK_EQ_INT(count_in_log("replaced action="), 0);
	a1 = tcpproxy_stats(&pa);
	b1 = tcpproxy_stats(&pb);
	/* The first broadcast reached the node through both URLs, the
	 * re-broadcast through at least one (an endpoint's transport may
	 * still be backing off from the outage: the other one suffices), and
	 * neither URL carried the pause more than twice. */
	CHECK(a1.hits - a0.hits >= 1 && a1.hits - a0.hits <= 2);
	CHECK(b1.hits - b0.hits >= 1 && b1.hits - b0.hits <= 2);
	CHECK(a1.hits - a0.hits + b1.hits - b0.hits >= 3);
	printf("    %s: anvil back after %lld ms, keeper resubscribed after %lld ms; pool "
	       "after restart: %s; pause %s back in the pool %lld ms after the next head "
	       "(broadcasts via URL 0 %u, URL 1 %u), mined in block %" PRIu64 " (restart at %"
	       PRIu64 "); nonce %" PRIu64 " -> %" PRIu64 "\n",
	       sig == SIGKILL ? "SIGKILL" : "SIGTERM", (long long)t_back, (long long)down,
	       lost ? "pause lost" : "pause already back", pause, (long long)t_head,
	       a1.hits - a0.hits, b1.hits - b0.hits, r.block, head, n0, guardian_nonce());
}

static void test_anvil_restart(void)
{
	if (!keeper_start(anvil_port, "info"))
		return;
	settle();
	restart_round(1, SIGTERM);
	if (t_cur_failed)
		return;
	settle();
	restart_round(2, SIGKILL);
	CHECK_EQ_INT(metrics_get(), 200);
	CHECK(sample("keeper_reconnects_total{source=\"node\"}") >= 2);
	printf("    keeper_reconnects_total node %.0f; keeper_rpc_errors_total endpoint 0 %.0f, "
	       "endpoint 1 %.0f\n", sample("keeper_reconnects_total{source=\"node\"}"),
	       sample("keeper_rpc_errors_total{endpoint=\"0\"}"),
	       sample("keeper_rpc_errors_total{endpoint=\"1\"}"));
	keeper_end(2);
}

int main(int argc, char **argv)
{
	const char *opts[] = { "--state", NULL, "--state-interval", "1", NULL };
	uint8_t h[32];

	(void)argc;
	if (!keeper_test_begin("test_e2e_faults_anvil", 90, argv[0], "faults", NULL))
		return 1;
	key_path = tmp_file("guardian.key");
	cfg_path = tmp_file("run.cfg");
	kstate_path = tmp_file("keeper.state");
	tmp_file("keeper.state.tmp");   /* the state's atomic replacement */
	anvil_state = tmp_file("anvil.json");
	opts[1] = anvil_state;
	keccak256(h, (const uint8_t *)"Paused(address)", 15);
	paused_topic[0] = '0';
	paused_topic[1] = 'x';
	hex_encode(paused_topic + 2, h, 32);
	if (!write_mode(key_path, K1 "\n", 0600))
		return setup_failed("key file");
	if ((anvil_pid = anvil_up(opts)) <= 0)
		return setup_failed("anvil did not start");
	if (!deploy_vault() || !set_automine(false))
		return setup_failed("deploying Erc20 and Vault with cast");
	if (!tcpproxy_start(&pa, anvil_port, "eth_sendRawTransaction") ||
	    !tcpproxy_start(&pb, anvil_port, "eth_sendRawTransaction") ||
	    !tcpproxy_start(&pw, anvil_port, NULL))
		return setup_failed("tcp proxies");
	printf("    Vault at %s, guardian %s; anvil on %d (--state, dumped every 1 s), "
	       "automine off; chain.rpc via proxies %d (URL 0) and %d (URL 1)\n", VAULT, ACCT1,
	       anvil_port, pa.port, pb.port);
	RUN(test_rpc_url_failing);
	RUN(test_ws_dropped);
	RUN(test_anvil_restart);
	if (keeper_pid > 0)
		stop_child(keeper_pid, 5000);
	tcpproxy_stop(&pa);
	tcpproxy_stop(&pb);
	tcpproxy_stop(&pw);
	return e2e_done();
}
