/*
 * test_live_anvil: `keeper run --dry-run` end to end, keeper issue 4.  On
 * 127.0.0.1: an anvil (foundry 1.7.1 from .deps) mining a block every
 * second, with tests/contracts/Erc20 deployed by cast and 1000 tokens
 * minted to anvil's dev account 1, and a tests/feedsrv playing a trade
 * feed.  $KEEPER (the build's keeper; default: bin/keeper beside this
 * program's directory) runs with a config holding
 *   - an outflow trigger watching account 1 and the token (1 % of the
 *     balance within two minutes), and
 *   - a price_move trigger on the feed (5 % down within a minute),
 * and its trip lines (log module "trip") are checked:
 *   - the feed's noise (+-0.4 %) trips nothing; its scripted 6 % drop trips
 *     price_move exactly once, at the drop tick's own time;
 *   - account 1 sending 10 ETH (0.1 %) and 5 tokens (0.5 %) trips nothing;
 *   - sending 200 ETH trips outflow for ETH (token = the zero address,
 *     amount = the balance's fall: 210 ETH and the gas);
 *   - sending 50 tokens trips outflow for the token, amount 55 tokens
 *     exactly (the two Transfer logs);
 *   - SIGTERM stops keeper with exit 0 and a summary line counting the
 *     events and the three trips;
 *   - without --dry-run, run exits 2 with its plain refusal.
 * Bounded by a 75 s alarm; anvil, feedsrv and keeper are killed at exit,
 * on a fatal signal and on the alarm.
 */
#include <errno.h>
#include <signal.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/anvil.h"
#include "tests/feedsrv.h"
#include "tests/test.h"

/* anvil's dev accounts 0, 1 and 3 and the keys of 0 and 1 (public test keys) */
#define ACCT0 "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
#define ACCT1 "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
#define ACCT3 "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
#define K0 "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define K1 "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
#define ZERO_ADDR "0x0000000000000000000000000000000000000000"

/* The feed's clock: trades 100 ms apart from here; line DROP_AT drops. */
#define FEED_T0 1700000000000LL
#define NOISE_LINES 30
#define AFTER_LINES 10

static char keeper_bin[1024], rpc_url[64], token[64];
static char dir[64], cfg_path[128], feed_path[128], out_path[128], err_path[128];
static pid_t keeper_pid = -1;

static void remove_files(void)
{
	if (!dir[0])
		return;
	unlink(cfg_path);
	unlink(feed_path);
	unlink(out_path);
	unlink(err_path);
	rmdir(dir);
}

static void on_fatal(int sig)
{
	static const char msg[] = "test_live_anvil: fatal signal or time limit; "
				  "children killed\n";
	ssize_t w = write(1, msg, sizeof msg - 1);

	(void)w;
	kill_all();
	remove_files();
	_exit(128 + sig);
}

static bool write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	size_t len = strlen(text);
	bool ok;

	if (!f)
		return false;
	ok = fwrite(text, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

/* ---- keeper's stderr */

#define LOG_MAX (1 << 20)
static char logbuf[LOG_MAX];

/* The log so far, NUL-terminated, in logbuf. */
static size_t read_log(void)
{
	int fd = open(err_path, O_RDONLY);
	ssize_t n;

	logbuf[0] = 0;
	if (fd < 0)
		return 0;
	n = read(fd, logbuf, LOG_MAX - 1);
	close(fd);
	logbuf[n > 0 ? n : 0] = 0;
	return n > 0 ? (size_t)n : 0;
}

static int count_in_log(const char *needle)
{
	int n = 0;

	read_log();
	for (const char *p = logbuf; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Wait (up to ms) until needle occurs at least `want` times. */
static bool wait_log(const char *needle, int want, int ms)
{
	int64_t t0 = mono_ms();

	while (count_in_log(needle) < want) {
		if (mono_ms() - t0 > ms || waitpid(keeper_pid, NULL, WNOHANG) == keeper_pid)
			return false;
		usleep(50000);
	}
	return true;
}

/* The n-th (0-based) line containing needle, copied into out. */
static bool log_line(const char *needle, int n, char *out, size_t cap)
{
	const char *p = logbuf;

	read_log();
	for (; (p = strstr(p, needle)); p++) {
		if (n-- == 0) {
			const char *s = p, *e = strchr(p, '\n');
			size_t len;

			while (s > logbuf && s[-1] != '\n')
				s--;
			len = e ? (size_t)(e - s) : strlen(s);
			if (len >= cap)
				len = cap - 1;
			memcpy(out, s, len);
			out[len] = 0;
			return true;
		}
	}
	return false;
}

/* The value of " key=" in a trip line, into out. */
static bool field(const char *line, const char *key, char *out, size_t cap)
{
	char k[32];
	const char *p;
	size_t len;

	snprintf(k, sizeof k, " %s=", key);
	if (!(p = strstr(line, k)))
		return false;
	p += strlen(k);
	len = strcspn(p, " \n");
	if (len >= cap)
		return false;
	memcpy(out, p, len);
	out[len] = 0;
	return true;
}

/* ---- chain */

static uint64_t block_number(void)
{
	char out[64];

	if (sh(out, sizeof out, "%s block-number --rpc-url %s", cast_bin, rpc_url))
		return 0;
	return strtoull(out, NULL, 10);
}

/* Wait until `blocks` more blocks are mined, then a little for the
 * balance reads of the last one. */
static void wait_blocks(uint64_t blocks)
{
	uint64_t b0 = block_number();
	int64_t t0 = mono_ms();

	while (block_number() < b0 + blocks && mono_ms() - t0 < 8000)
		usleep(100000);
	usleep(600000);
}

static bool cast_send(const char *key, const char *args)
{
	char out[8192];

	return sh(out, sizeof out, "%s send --rpc-url %s --private-key %s %s 2>&1",
		  cast_bin, rpc_url, key, args) == 0 && strstr(out, "status") &&
	       strstr(out, "1 (success)");
}

static bool deploy_token(void)
{
	char code[8192], out[16384], *bin;
	size_t len;
	const char *p;

	if (!(bin = t_read_file("tests/contracts/Erc20.bin", &len)))
		return false;
	while (len && (bin[len - 1] == '\n' || bin[len - 1] == '\r'))
		bin[--len] = 0;
	snprintf(code, sizeof code, "0x%s", bin);
	free(bin);
	if (sh(out, sizeof out, "%s send --json --rpc-url %s --private-key %s --create %s "
	       "'constructor(string,string)' Tok TOK", cast_bin, rpc_url, K0, code))
		return false;
	if (!(p = strstr(out, "\"contractAddress\":\"")))
		return false;
	p += strlen("\"contractAddress\":\"");
	if (strlen(p) < 42)
		return false;
	memcpy(token, p, 42);
	token[42] = 0;
	/* 1000 tokens (18 decimals) for account 1, before keeper reads its
	 * first balances: the base of the 1 % limit. */
	snprintf(code, sizeof code, "%s 'mint(address,uint256)' %s 1000000000000000000000",
		 token, ACCT1);
	return cast_send(K0, code);
}

/* ---- the feed */

static bool write_feed(void)
{
	static char text[16384];
	size_t n = 0;
	int i;

	for (i = 0; i < NOISE_LINES; i++) {
		/* 2000 +- 8: at most 0.8 % between two ticks. */
		int d = (i * 7) % 17 - 8;
		n += (size_t)snprintf(text + n, sizeof text - n,
				      "{\"e\":\"trade\",\"p\":\"%d.00\",\"T\":%lld}\n", 2000 + d,
				      FEED_T0 + 100LL * i);
	}
	/* The drop: 6 % below 2000 at line NOISE_LINES. */
	n += (size_t)snprintf(text + n, sizeof text - n,
			      "{\"e\":\"trade\",\"p\":\"1880.00\",\"T\":%lld}\n",
			      FEED_T0 + 100LL * i);
	for (i = 1; i <= AFTER_LINES; i++)
		n += (size_t)snprintf(text + n, sizeof text - n,
				      "{\"e\":\"trade\",\"p\":\"%d.00\",\"T\":%lld}\n",
				      1875 + i % 10, FEED_T0 + 100LL * (NOISE_LINES + i));
	return write_text(feed_path, text);
}

/* ---- the test */

static void test_run(void)
{
	const char *argv[] = { keeper_bin, "run", "-c", cfg_path, "--dry-run", NULL };
	char line[2048], v[128], cmd[512], summary[1024];
	int st = -1;
	FILE *f;

	keeper_pid = spawn(argv, out_path, err_path, true);
	CHECK(keeper_pid > 0);
	if (keeper_pid <= 0)
		return;
	CHECK_MSG(wait_log("subscriptions answered", 1, 8000), "node not subscribed:\n%s",
		  logbuf);
	CHECK_MSG(wait_log("all 2 watched balances read", 1, 8000),
		  "balances not read:\n%s", logbuf);

	/* The feed: its drop, once; the noise before it, never. */
	CHECK_MSG(wait_log("trip: px ", 1, 8000), "no price_move trip:\n%s", logbuf);
	if (log_line("trip: px ", 0, line, sizeof line)) {
		printf("    %s\n", line);
		CHECK(field(line, "kind", v, sizeof v) && !strcmp(v, "price_move"));
		CHECK(field(line, "value", v, sizeof v) && atof(v) >= 6.0 && atof(v) < 6.8);
		CHECK(field(line, "threshold", v, sizeof v) && !strcmp(v, "5"));
		CHECK(field(line, "unit", v, sizeof v) && !strcmp(v, "pct"));
		/* The drop tick's own time: FEED_T0 + 3 s. */
		CHECK(field(line, "time", v, sizeof v) &&
		      !strcmp(v, "2023-11-14T22:13:23.000Z"));
		CHECK(field(line, "action", v, sizeof v) && !strcmp(v, "pause-it"));
	}

	/* Small outflows: 10 ETH (0.1 %) and 5 tokens (0.5 %). */
	CHECK(cast_send(K1, ACCT3 " --value 10ether"));
	snprintf(cmd, sizeof cmd, "%s 'transfer(address,uint256)' %s 5000000000000000000",
		 token, ACCT3);
	CHECK(cast_send(K1, cmd));
	wait_blocks(2);
	CHECK_EQ_INT(count_in_log("trip: out "), 0);

	/* 200 ETH: outflow of ETH. */
	CHECK(cast_send(K1, ACCT3 " --value 200ether"));
	CHECK_MSG(wait_log("trip: out ", 1, 6000), "no ETH outflow trip:\n%s", logbuf);
	if (log_line("trip: out ", 0, line, sizeof line)) {
		printf("    %s\n", line);
		CHECK(field(line, "kind", v, sizeof v) && !strcmp(v, "outflow"));
		CHECK(field(line, "token", v, sizeof v) && !strcmp(v, ZERO_ADDR));
		/* 210 ETH and the gas of three transactions (under 0.01 ETH). */
		CHECK(field(line, "amount", v, sizeof v) && strlen(v) == 21 &&
		      strncmp(v, "21000", 5) == 0);
		CHECK(field(line, "value", v, sizeof v) && atof(v) > 2.09 && atof(v) < 2.11);
		CHECK(field(line, "threshold", v, sizeof v) && !strcmp(v, "1"));
	}

	/* 50 tokens: outflow of the token, 55 tokens in the window. */
	snprintf(cmd, sizeof cmd, "%s 'transfer(address,uint256)' %s 50000000000000000000",
		 token, ACCT3);
	CHECK(cast_send(K1, cmd));
	CHECK_MSG(wait_log("trip: out ", 2, 6000), "no token outflow trip:\n%s", logbuf);
	if (log_line("trip: out ", 1, line, sizeof line)) {
		printf("    %s\n", line);
		CHECK(field(line, "token", v, sizeof v) && !strcasecmp(v, token));
		CHECK(field(line, "amount", v, sizeof v) &&
		      !strcmp(v, "55000000000000000000"));
		CHECK(field(line, "value", v, sizeof v) && !strcmp(v, "5.5"));
	}
	/* Nothing else tripped meanwhile. */
	wait_blocks(1);
	CHECK_EQ_INT(count_in_log("trip: px "), 1);
	CHECK_EQ_INT(count_in_log("trip: out "), 2);
	CHECK_EQ_INT(count_in_log(" trip: "), 3);

	/* SIGTERM: a clean stop and the summary. */
	kill(keeper_pid, SIGTERM);
	{
		int64_t t0 = mono_ms();
		while (waitpid(keeper_pid, &st, WNOHANG) == 0) {
			if (mono_ms() - t0 > 5000) {
				printf("    keeper run did not stop on SIGTERM\n");
				kill(-keeper_pid, SIGKILL);
				waitpid(keeper_pid, &st, 0);
				break;
			}
			usleep(20000);
		}
	}
	untrack(keeper_pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	summary[0] = 0;
	if ((f = fopen(out_path, "r"))) {
		if (!fgets(summary, sizeof summary, f))
			summary[0] = 0;
		fclose(f);
	}
	summary[strcspn(summary, "\n")] = 0;
	printf("    %s\n", summary);
	CHECK(strstr(summary, "keeper run --dry-run: ") == summary);
	CHECK(strstr(summary, " 3 trips;") != NULL);
	CHECK(strstr(summary, "stopped by SIGTERM") != NULL);
	CHECK(strstr(summary, "(41 price,") != NULL);
	CHECK(strstr(summary, " 0 failed;") != NULL);
}

/* Without --dry-run, run refuses plainly, before connecting to anything. */
/* The config has no signer group: `run` without --dry-run refuses to
 * start rather than watch without the means to act. */
static void test_refuses_to_send(void)
{
	const char *argv[] = { keeper_bin, "run", "-c", cfg_path, NULL };
	pid_t pid = spawn(argv, out_path, err_path, false);
	int st = -1;

	CHECK(pid > 0);
	if (pid <= 0)
		return;
	waitpid(pid, &st, 0);
	untrack(pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	read_log();
	CHECK(strstr(logbuf, "no signer group") != NULL);
}

int main(int argc, char **argv)
{
	const char *kp = getenv("KEEPER");
	char cfg[4096];
	feedsrv_t fs = { -1, 0 };
	int port;

	(void)argc;
	install_fatal(on_fatal);
	alarm(75);
	if (kp && *kp) {
		snprintf(keeper_bin, sizeof keeper_bin, "%s", kp);
	} else {
		const char *slash = strrchr(argv[0], '/');
		snprintf(keeper_bin, sizeof keeper_bin, "%.*s/../bin/keeper",
			 slash ? (int)(slash - argv[0]) : 1, slash ? argv[0] : ".");
	}
	feedsrv_locate(argv[0]);
	if (!find_anvil_cast())
		return 1;
	if (access(keeper_bin, X_OK) != 0 || access(feedsrv_path, X_OK) != 0) {
		printf("FAIL setup: no keeper at %s or feedsrv at %s (build them, or set "
		       "KEEPER)\n0 passed, 1 failed\n", keeper_bin, feedsrv_path);
		return 1;
	}
	snprintf(dir, sizeof dir, "/tmp/keeper-live-anvil-XXXXXX");
	if (!mkdtemp(dir)) {
		dir[0] = 0;
		printf("FAIL setup: temporary directory\n0 passed, 1 failed\n");
		return 1;
	}
	atexit(remove_files);
	snprintf(cfg_path, sizeof cfg_path, "%s/run.cfg", dir);
	snprintf(feed_path, sizeof feed_path, "%s/feed.jsonl", dir);
	snprintf(out_path, sizeof out_path, "%s/stdout", dir);
	snprintf(err_path, sizeof err_path, "%s/stderr", dir);

	port = free_port(0, NULL);
	snprintf(rpc_url, sizeof rpc_url, "http://127.0.0.1:%d", port);
	if (!port || !write_feed()) {
		printf("FAIL setup: port or feed file\n0 passed, 1 failed\n");
		return 1;
	}
	{
		const char *args[] = { "--file", feed_path, "--interval-ms", "50",
				       "--lifetime", "90", NULL };
		if (feedsrv_start(&fs, args) == 0)
			track(fs.pid, false);
	}
	{
		char ps[16];
		const char *av[] = { anvil_bin, "--host", "127.0.0.1", "--port", ps,
				     "--block-time", "1", "--silent", NULL };
		snprintf(ps, sizeof ps, "%d", port);
		if (fs.pid <= 0 || anvil_run(av, port) <= 0) {
			printf("FAIL setup: feedsrv or anvil did not start\n0 passed, 1 failed\n");
			return 1;
		}
	}
	if (!deploy_token()) {
		printf("FAIL setup: deploying the Erc20 with cast\n0 passed, 1 failed\n");
		return 1;
	}
	printf("    Erc20 at %s, 1000 tokens minted to account 1\n", token);
	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d/\"; rpc = [ \"%s\" ]; };\n"
		 "feeds = ( { name = \"eth-usd\"; url = \"ws://127.0.0.1:%d/\"; "
		 "preset = \"trade\"; stale_after_ms = 60000; } );\n"
		 "watch = ( { name = \"acct1\"; address = \"" ACCT1 "\"; tokens = [ \"%s\" ]; } );\n"
		 "triggers = (\n"
		 "  { name = \"px\"; kind = \"price_move\"; feed = \"eth-usd\"; window_ms = 60000;\n"
		 "    threshold_pct = 5; direction = \"down\"; action = \"pause-it\"; },\n"
		 "  { name = \"out\"; kind = \"outflow\"; watch = \"acct1\"; window_ms = 120000;\n"
		 "    threshold_pct = 1; action = \"pause-it\"; } );\n"
		 "actions = ( { name = \"pause-it\"; to = \"%s\"; call = \"pause()\"; "
		 "gas_limit = 100000; gas = \"g\"; } );\n"
		 "gas = ( { name = \"g\"; strategy = \"fixed\"; max_fee_gwei = 30; "
		 "priority_fee_gwei = 1; } );\n"
		 "log = { level = \"info\"; };\n",
		 port, rpc_url, fs.port, token, token);
	if (!write_text(cfg_path, cfg)) {
		printf("FAIL setup: config\n0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_refuses_to_send);
	RUN(test_run);
	untrack(fs.pid);
	feedsrv_stop(&fs);
	kill_all();
	remove_files();
	return t_done();
}
