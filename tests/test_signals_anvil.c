/*
 * test_signals_anvil: `keeper run`'s signals and its secrecy (keeper issue
 * 8), end to end with the build's keeper on anvil (automine off: this
 * test mines with evm_mine).  The Vault of tests/e2e.h; the attacker (dev
 * account 3) has 1 ether deposited, and withdrawing it takes 1/6 of the
 * vault's ether: a mempool trigger with simulate = true judges it 16.7 %
 * at risk.  keeper guards with the key of dev account 1 (the guardian),
 * metrics.listen set, `--drain 3`.
 *
 *  hup:     SIGHUP with a broken config (an unknown key) logs every error
 *           and keeps running; so does one that changes an action (needs
 *           a restart); a withdrawal then still trips at the old
 *           threshold_pct 10 and keeper's pause() is mined.  SIGHUP with
 *           threshold_pct 50 and log level debug: keeper says it reloaded,
 *           the next withdrawal is simulated (debug line) and does not
 *           trip; SIGHUP back to 10 (a second reload);
 *  term:    a withdrawal trips, the pause is sent and stays pending;
 *           SIGTERM: keeper follows it for 3 s, saves and exits 0 with 1
 *           in flight; the next start resumes the same hash and sends
 *           nothing; two SIGINTs stop it at once (exit 0); a third start
 *           resumes again, and after evm_mine logs it mined;
 *  secrets: every log of these runs, a /metrics scrape and the state file
 *           hold no private key bytes in any hex spelling (with or without
 *           0x, any case).
 * Bounded by an alarm (150 s); anvil and keeper are killed at exit.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

#include "tests/e2e.h"

#define VAULT DEPLOYED1
#define TOKEN DEPLOYED0
#define DRAIN_S "3"

static const char *key_path, *cfg_path, *state_path;
static int metrics_port;
/* Every log of every run, for the key check. */
static char all_logs[1 << 22];
static size_t all_len;
static char scrape[1 << 16];

/* ---- keeper */

static pid_t start(void)
{
	const char *argv[] = { keeper_bin, "run", "-c", cfg_path, "--drain", DRAIN_S, NULL };

	keeper_pid = spawn(argv, keeper_out, keeper_err, true);
	return keeper_pid;
}

/* start(), CHECKed to have its node subscriptions answered. */
static bool started(void)
{
	CHECK(start() > 0);
	if (keeper_pid <= 0)
		return false;
	CHECK_MSG(wait_log("subscriptions answered", 1, 8000), "not subscribed:\n%s", logbuf);
	return true;
}

/* The run's log kept for the key check. */
static void keep_log(void)
{
	size_t n = read_log();

	if (all_len + n < sizeof all_logs) {
		memcpy(all_logs + all_len, logbuf, n);
		all_len += n;
		all_logs[all_len] = 0;
	}
}

/* Wait up to ms for keeper to exit: its exit code, -1 (killed). */
static int wait_code(int ms, char *summary, size_t cap)
{
	int st = wait_exit(keeper_pid, ms);

	keeper_pid = -1;
	first_line(keeper_out, summary, cap);
	keep_log();
	return exit_code(st);
}

static bool write_cfg(int threshold, const char *level, int gas_limit, const char *extra)
{
	char cfg[4096];

	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d/\"; rpc = [ \"%s\" ]; };\n"
		 "signer = { key_file = \"%s\"; };\n"
		 "watch = ( { name = \"vault\"; address = \"" VAULT "\"; tokens = [ \"" TOKEN "\" ]; } );\n"
		 "triggers = ( { name = \"drain\"; kind = \"mempool\"; watch = \"vault\"; simulate = true;\n"
		 "    threshold_pct = %d; cooldown_ms = 0; action = \"pause-vault\"; %s } );\n"
		 "actions = ( { name = \"pause-vault\"; to = \"" VAULT "\"; call = \"pause()\";\n"
		 "    guard = \"paused()\"; gas_limit = %d; gas = \"fixed\"; } );\n"
		 "gas = ( { name = \"fixed\"; strategy = \"fixed\"; max_fee_gwei = 100; "
		 "priority_fee_gwei = 2; } );\n"
		 "metrics = { listen = \"127.0.0.1:%d\"; };\n"
		 "log = { level = \"%s\"; format = \"text\"; };\n"
		 "state_file = \"%s\";\n",
		 anvil_port, rpc_url, key_path, threshold, extra, gas_limit, metrics_port, level,
		 state_path);
	return write_mode(cfg_path, cfg, 0644);
}

/* SIGHUP, and wait for the n-th line holding needle. */
static bool hup(const char *needle, int n)
{
	kill(keeper_pid, SIGHUP);
	return wait_log(needle, n, 5000);
}

/* ---- chain */

static bool set_paused(bool on)
{
	/* paused_ is the Vault's first storage slot */
	return cast(NULL, 0, "rpc anvil_setStorageAt " VAULT " 0x0 0x%064d", on ? 1 : 0) == 0;
}

static bool deposit(void)
{
	char h[67];

	return send_async(h, "--private-key " K3 " " VAULT " 'deposit()' --value 1ether") &&
	       evm_mine();
}

/* The attacker's pending withdrawal of its 1 ether (1/6 of the vault). */
static bool withdraw(char hash[67])
{
	return send_async(hash, "--private-key " K3 " --gas-limit 200000 " VAULT
			  " 'withdraw(uint256)' 1000000000000000000");
}

/* GET /metrics into scrape; the HTTP status, -1 on failure. */
static int get_metrics(void)
{
	struct sockaddr_in sa;
	const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	size_t n = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)metrics_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1))
		while (n + 1 < sizeof scrape &&
		       (r = read(fd, scrape + n, sizeof scrape - 1 - n)) > 0)
			n += (size_t)r;
	close(fd);
	scrape[n] = 0;
	if (sscanf(scrape, "HTTP/1.1 %d", &status) != 1)
		status = -1;
	return status;
}

/* ---- the tests */

static void settle(void)
{
	/* anvil delivers a subscription a moment after answering it */
	usleep(500000);
}

static void test_hup(void)
{
	char w[67], line[2048], summary[2048];

	CHECK(write_cfg(10, "info", 100000, ""));
	CHECK(deposit());
	if (!started())
		return;
	settle();

	/* a broken config: every error logged, the old one runs on */
	CHECK(write_cfg(10, "info", 100000, "treshold = 3;"));
	CHECK_MSG(hup("the running config stays", 1), "no refusal:\n%s", logbuf);
	CHECK(count_in_log("reload: ") >= 1);
	CHECK(count_in_log("treshold") >= 1);
	/* valid, but an action changed: refused, named */
	CHECK(write_cfg(10, "info", 120000, ""));
	CHECK_MSG(hup("the running config stays", 2), "no refusal:\n%s", logbuf);
	CHECK(count_in_log("action \"pause-vault\" changed") == 1);
	CHECK(waitpid(keeper_pid, NULL, WNOHANG) == 0);
	printf("    broken config and changed action: refused, still running\n");

	/* the old threshold still trips */
	CHECK(withdraw(w));
	CHECK_MSG(wait_log("sent action=pause-vault", 1, 10000), "no send:\n%s", logbuf);
	CHECK(log_line("trip: drain", 0, line, sizeof line) ||
	      log_line("drain kind=mempool", 0, line, sizeof line));
	CHECK_MSG(strstr(line, "threshold=10 ") != NULL, "trip: %s", line);
	CHECK(evm_mine());
	CHECK_MSG(wait_log("mined action=pause-vault", 1, 10000), "not mined:\n%s", logbuf);
	printf("    %s\n", line);

	/* threshold 50 and debug: the same withdrawal (16.7 %) no longer trips */
	CHECK(set_paused(false));
	CHECK(write_cfg(50, "debug", 100000, ""));
	CHECK_MSG(hup("reloaded ", 1), "no reload:\n%s", logbuf);
	CHECK(withdraw(w));
	{
		char needle[128];

		snprintf(needle, sizeof needle, "tx %s seen pending", w);
		CHECK_MSG(wait_log(needle, 1, 10000), "not simulated:\n%s", logbuf);
		CHECK(log_line(needle, 0, line, sizeof line));
		printf("    after the reload: %s\n", line);
	}
	usleep(300000);
	CHECK_EQ_INT(count_in_log("drain kind=mempool"), 1);
	CHECK_EQ_INT(count_in_log("sent action=pause-vault"), 1);
	CHECK(evm_mine());   /* the withdrawal goes through: it was the attacker's own */

	/* back to 10 (a second reload frees the first one's config) */
	CHECK(write_cfg(10, "info", 100000, ""));
	CHECK_MSG(hup("reloaded ", 2), "no second reload:\n%s", logbuf);
	CHECK_EQ_INT(get_metrics(), 200);
	CHECK(strstr(scrape, "keeper_trips_total{trigger=\"drain\"} 1") != NULL);
	kill(keeper_pid, SIGTERM);
	CHECK_EQ_INT(wait_code(10000, summary, sizeof summary), 0);
	CHECK(strstr(summary, " 0 in flight;") != NULL);
	printf("    %s\n", summary);
}

static void test_term(void)
{
	char w[67], line[2048], summary[2048], hash[96], hash2[96];
	int64_t t0;
	int code;

	CHECK(deposit());
	if (!started())
		return;
	settle();
	CHECK(withdraw(w));
	CHECK_MSG(wait_log("sent action=pause-vault", 1, 10000), "no send:\n%s", logbuf);
	CHECK(log_line("sent action=pause-vault", 0, line, sizeof line));
	CHECK(field(line, "hash", hash, sizeof hash) && strlen(hash) == 66);

	/* SIGTERM with the pause pending: followed for 3 s, then saved */
	t0 = mono_ms();
	kill(keeper_pid, SIGTERM);
	CHECK_MSG(wait_log("following it up to 3.000 s", 1, 3000), "no drain:\n%s", logbuf);
	code = wait_code(10000, summary, sizeof summary);
	printf("    SIGTERM after %lld ms: %s\n", (long long)(mono_ms() - t0), summary);
	CHECK_EQ_INT(code, 0);
	CHECK(mono_ms() - t0 >= 2900);
	CHECK(strstr(summary, " 1 in flight;") != NULL);
	CHECK(strstr(summary, "stopped by SIGTERM after the drain deadline") != NULL);

	/* resumed, nothing new sent; two SIGINTs stop it at once */
	CHECK(start() > 0);
	CHECK_MSG(wait_log("subscriptions answered", 1, 8000), "not subscribed:\n%s", logbuf);
	CHECK_MSG(wait_log(hash, 1, 5000), "not resumed:\n%s", logbuf);
	usleep(500000);
	CHECK_EQ_INT(count_in_log("sent action="), 0);
	t0 = mono_ms();
	kill(keeper_pid, SIGINT);
	CHECK(wait_log("following it up to", 1, 3000));
	kill(keeper_pid, SIGINT);
	code = wait_code(10000, summary, sizeof summary);
	printf("    two SIGINTs: %lld ms: %s\n", (long long)(mono_ms() - t0), summary);
	CHECK_EQ_INT(code, 0);
	CHECK(mono_ms() - t0 < 2500);
	CHECK(strstr(summary, "then at once by a second signal") != NULL);

	/* a third start resumes the same hash; mined after evm_mine */
	CHECK(start() > 0);
	CHECK_MSG(wait_log("subscriptions answered", 1, 8000), "not subscribed:\n%s", logbuf);
	CHECK_MSG(wait_log(hash, 1, 5000), "not resumed:\n%s", logbuf);
	CHECK(evm_mine());
	CHECK_MSG(wait_log("mined action=pause-vault", 1, 10000), "not mined:\n%s", logbuf);
	CHECK(log_line("mined action=pause-vault", 0, line, sizeof line));
	CHECK(field(line, "hash", hash2, sizeof hash2) && !strcmp(hash, hash2));
	CHECK_EQ_INT(count_in_log("sent action="), 0);
	printf("    %s\n", line);
	CHECK_EQ_INT(get_metrics(), 200);
	kill(keeper_pid, SIGTERM);
	code = wait_code(5000, summary, sizeof summary);
	CHECK_EQ_INT(code, 0);
	CHECK(strstr(summary, " 0 in flight;") != NULL);
	printf("    %s\n", summary);
}

/* needle (hex, no 0x) anywhere in text, any case */
static bool has_hex(const char *text, const char *needle)
{
	size_t n = strlen(needle);

	for (const char *p = text; *p; p++)
		if (strncasecmp(p, needle, n) == 0)
			return true;
	return false;
}

static void test_secrets(void)
{
	static char state[1 << 20];
	char up[80];
	const char *k = K1 + 2;

	CHECK(all_len > 0);
	CHECK(read_file_into(state_path, state, sizeof state) > 0);
	CHECK(strstr(scrape, "keeper_transactions_total") != NULL);
	for (size_t i = 0; i < 64; i++)
		up[i] = (char)(k[i] >= 'a' && k[i] <= 'f' ? k[i] - 32 : k[i]);
	up[64] = 0;
	/* case-insensitive without 0x: covers lower, upper, 0x and 0X */
	CHECK(!has_hex(all_logs, k));
	CHECK(!has_hex(scrape, k));
	CHECK(!has_hex(state, k));
	CHECK(!strstr(all_logs, up) && !strstr(state, up) && !strstr(scrape, up));
	/* and the account is there: the search is over the right text */
	CHECK(has_hex(all_logs, ACCT1 + 2));
	printf("    %zu bytes of logs, %zu of /metrics, %zu of state: no key bytes\n", all_len,
	       strlen(scrape), strlen(state));
}

int main(int argc, char **argv)
{
	(void)argc;
	if (!keeper_test_begin("test_signals_anvil", 150, argv[0], "signals", NULL))
		return 1;
	key_path = tmp_file("guardian.key");
	cfg_path = tmp_file("run.cfg");
	state_path = tmp_file("keeper.state");
	tmp_file("keeper.state.tmp");
	if (!write_mode(key_path, K1 "\n", 0600))
		return setup_failed("key file");
	if (!(metrics_port = free_port(0, NULL)))
		return setup_failed("metrics port");
	if (anvil_up(NULL) <= 0)
		return setup_failed("anvil did not start");
	if (!deploy_vault() || !set_automine(false))
		return setup_failed("deploying Erc20 and Vault with cast");
	RUN(test_hup);
	RUN(test_term);
	RUN(test_secrets);
	return e2e_done();
}
