/*
 * e2e.h: what the end-to-end tests against anvil share, so that each test
 * file holds only its scenario.  Header-only like test.h and anvil.h (on
 * which it builds: spawn, sh, kill_all, anvil_run).
 *
 *  - the dev accounts and keys of anvil, and the addresses account 0's
 *    first creations get;
 *  - the test's frame: e2e_begin() (fatal-signal handler and time limit),
 *    a temporary directory whose files are removed at exit and on a fatal
 *    signal (tmp_dir_make, tmp_file), setup_failed() for the one-line
 *    verdict of a set-up that did not work;
 *  - the keeper process: its binary ($KEEPER, else bin/keeper beside the
 *    test's directory), `keeper run` started, refused, stopped with
 *    SIGTERM and its summary line read;
 *  - keeper's log (stderr, read whole into logbuf): counting, waiting for
 *    and fetching lines, and the " key=value" fields of a line;
 *  - the chain: anvil on a free port, `cast` run against it (cast() puts
 *    --rpc-url right after the subcommand, where every cast subcommand
 *    takes it, even `send --create`), and the usual cast wrappers
 *    (receipt() among them);
 *  - contracts: tests/contracts/NAME.bin deployed from account 0 with its
 *    constructor's arguments, the Erc20 + Vault set-up, the Lending pool's
 *    borrow and price.
 */
#ifndef TESTS_E2E_H
#define TESTS_E2E_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "keeper/kerr.h"
#include "signer/addr.h"
#include "signer/u256.h"
#include "tests/anvil.h"
#include "tests/clock_ms.h"
#include "tests/net_util.h"
#include "tests/test.h"

/* anvil's dev accounts 0..3 and their keys (public test keys) */
#define ACCT0 "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
#define ACCT1 "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
#define ACCT2 "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
#define ACCT3 "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
#define K0 "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define K1 "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
#define K2 "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
#define K3 "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"
#define ZERO_ADDR "0x0000000000000000000000000000000000000000"
/* What account 0 creates with nonces 0, 1 and 2 on a fresh anvil. */
#define DEPLOYED0 "0x5FbDB2315678afecb367f032d93F642f64180aa3"
#define DEPLOYED1 "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
#define DEPLOYED2 "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
/* 10^18: token amounts in whole units. */
#define E18 "000000000000000000"

/* ---- the test's frame */

#define TMP_FILES_MAX 16
static char tmp_dir[64];
static char tmp_files[TMP_FILES_MAX][160];
static volatile sig_atomic_t tmp_nfiles;
static char fatal_msg[160];
static size_t fatal_len;

/* Remove the temporary files and their directory.  Async-signal-safe:
 * the fatal handler calls it. */
static void remove_files(void)
{
	if (!tmp_dir[0])
		return;
	for (int i = 0; i < tmp_nfiles; i++)
		unlink(tmp_files[i]);
	rmdir(tmp_dir);
}

static void e2e_on_fatal(int sig)
{
	ssize_t w = write(1, fatal_msg, fatal_len);

	(void)w;
	kill_all();
	remove_files();
	_exit(128 + sig);
}

/* The test's frame: on a fatal signal or when `seconds` have passed, say
 * so (naming the test), kill every child and remove the temporary files;
 * kill_all() also runs at exit. */
static __attribute__((unused)) void e2e_begin(const char *name, unsigned seconds)
{
	snprintf(fatal_msg, sizeof fatal_msg,
		 "%s: fatal signal or time limit; children killed\n", name);
	fatal_len = strlen(fatal_msg);
	install_fatal(e2e_on_fatal);
	alarm(seconds);
}

/* A set-up step failed: the verdict of the whole test, and its status. */
static __attribute__((unused)) int setup_failed(const char *what)
{
	printf("FAIL setup: %s\n0 passed, 1 failed\n", what);
	kill_all();
	return 1;
}

/* /tmp/keeper-TAG-XXXXXX, removed (with the files tmp_file named) at exit
 * and on a fatal signal; false after printing the failed set-up. */
static __attribute__((unused)) bool tmp_dir_make(const char *tag)
{
	snprintf(tmp_dir, sizeof tmp_dir, "/tmp/keeper-%s-XXXXXX", tag);
	if (!mkdtemp(tmp_dir)) {
		tmp_dir[0] = 0;
		setup_failed("temporary directory");
		return false;
	}
	atexit(remove_files);
	return true;
}

/* The path of `name` in the temporary directory, put on record for
 * removal.  The table is sized for every test; running out of it is the
 * test's bug, so it stops the test. */
static __attribute__((unused)) const char *tmp_file(const char *name)
{
	char *p;

	if (tmp_nfiles == TMP_FILES_MAX) {
		printf("FAIL setup: more than %d temporary files\n", TMP_FILES_MAX);
		exit(1);
	}
	p = tmp_files[tmp_nfiles];
	snprintf(p, sizeof tmp_files[0], "%s/%s", tmp_dir, name);
	tmp_nfiles++;
	return p;
}

/* Write text to path (created or truncated) with the given mode. */
static __attribute__((unused)) bool write_mode(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "wb");
	size_t len = strlen(text);
	bool ok;

	if (!f)
		return false;
	ok = fwrite(text, 1, len, f) == len;
	return fclose(f) == 0 && ok && chmod(path, mode) == 0;
}

static __attribute__((unused)) bool write_text(const char *path, const char *text)
{
	return write_mode(path, text, 0600);
}

/* The file whole (up to cap - 1 bytes), NUL-terminated, in buf; its length. */
static __attribute__((unused)) size_t read_file_into(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	buf[0] = 0;
	if (fd < 0)
		return 0;
	n = read(fd, buf, cap - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n > 0 ? (size_t)n : 0;
}

/* The first line of a file, without its newline ("" if none). */
static __attribute__((unused)) void first_line(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");

	out[0] = 0;
	if (f) {
		if (!fgets(out, (int)cap, f))
			out[0] = 0;
		fclose(f);
	}
	out[strcspn(out, "\n")] = 0;
}

/* ---- child processes */

/* Wait up to ms for pid to exit; past that SIGKILL it (and its process
 * group) and reap it.  Off the record either way.  Returns the wait
 * status, -1 when it had to be killed. */
static int wait_exit(pid_t pid, int ms)
{
	int64_t t0 = mono_ms();
	int st = -1;

	if (pid <= 0)
		return -1;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (mono_ms() - t0 > ms) {
			printf("    pid %d did not exit within %d ms: killed\n", (int)pid, ms);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			st = -1;
			break;
		}
		usleep(10000);
	}
	untrack(pid);
	return st;
}

/* SIGTERM pid, then wait_exit(pid, ms). */
static __attribute__((unused)) int stop_child(pid_t pid, int ms)
{
	if (pid > 0)
		kill(pid, SIGTERM);
	return wait_exit(pid, ms);
}

/* The exit code in a wait status, -1 when the process did not exit. */
static __attribute__((unused)) int exit_code(int st)
{
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- the keeper process */

static char keeper_bin[1024];
static const char *keeper_out, *keeper_err;   /* its stdout, its stderr (the log) */
static pid_t keeper_pid = -1;

/* keeper_bin: $KEEPER, else bin/keeper beside the directory of the test
 * program (argv0), i.e. the keeper of the same build. */
static __attribute__((unused)) void keeper_locate(const char *argv0)
{
	const char *kp = getenv("KEEPER");

	if (kp && *kp) {
		snprintf(keeper_bin, sizeof keeper_bin, "%s", kp);
	} else {
		const char *slash = strrchr(argv0, '/');

		snprintf(keeper_bin, sizeof keeper_bin, "%.*s/../bin/keeper",
			 slash ? (int)(slash - argv0) : 1, slash ? argv0 : ".");
	}
}

/* Is keeper_bin there?  If not, the failed set-up is printed. */
static __attribute__((unused)) bool keeper_found(void)
{
	if (access(keeper_bin, X_OK) == 0)
		return true;
	printf("FAIL setup: no keeper at %s (build it, or set KEEPER)\n"
	       "0 passed, 1 failed\n", keeper_bin);
	return false;
}

/*
 * The frame of a test that runs keeper: e2e_begin(name, seconds), anvil
 * and cast found, keeper_bin located from argv0 and present (and `also`,
 * another program the test runs, e.g. feedsrv_path; NULL: none), the
 * temporary directory /tmp/keeper-TAG-XXXXXX made, with keeper_out and
 * keeper_err in it.  False after printing the failed set-up.
 */
static __attribute__((unused)) bool keeper_test_begin(const char *name, unsigned seconds,
						      const char *argv0, const char *tag,
						      const char *also)
{
	e2e_begin(name, seconds);
	keeper_locate(argv0);
	if (!find_anvil_cast())
		return false;
	if (also && access(also, X_OK) != 0) {
		printf("FAIL setup: no %s (build it)\n0 passed, 1 failed\n", also);
		return false;
	}
	if (!keeper_found() || !tmp_dir_make(tag))
		return false;
	keeper_out = tmp_file("stdout");
	keeper_err = tmp_file("stderr");
	return true;
}

/* The end of a test's main(): children killed, files removed, the verdict. */
static __attribute__((unused)) int e2e_done(void)
{
	kill_all();
	remove_files();
	return t_done();
}

/* `keeper run -c cfg [--dry-run]` in its own process group, stdout and
 * stderr to keeper_out and keeper_err: keeper_pid, or -1. */
static __attribute__((unused)) pid_t keeper_run(const char *cfg, bool dry_run)
{
	const char *argv[] = { keeper_bin, "run", "-c", cfg, dry_run ? "--dry-run" : NULL, NULL };

	/* Emptied here, not only by the child after fork: a wait_log() right
	 * after this call would otherwise still read the previous run's lines
	 * ("subscriptions answered") and go on before this keeper is ready. */
	if (truncate(keeper_out, 0) != 0 && errno != ENOENT)
		return -1;
	if (truncate(keeper_err, 0) != 0 && errno != ENOENT)
		return -1;
	keeper_pid = spawn(argv, keeper_out, keeper_err, true);
	return keeper_pid;
}

/* SIGTERM keeper (killed after 10 s), its first stdout line (the run's
 * summary) into summary; the exit code, -1 if it did not exit. */
static __attribute__((unused)) int keeper_stop(char *summary, size_t cap)
{
	int st = stop_child(keeper_pid, 10000);

	keeper_pid = -1;
	first_line(keeper_out, summary, cap);
	return exit_code(st);
}

/* ---- keeper's log */

#define LOG_MAX (1 << 21)
static char logbuf[LOG_MAX];

/* The log so far (keeper_err), NUL-terminated, in logbuf. */
static size_t read_log(void)
{
	return read_file_into(keeper_err, logbuf, sizeof logbuf);
}

/* Occurrences of needle in text. */
static __attribute__((unused)) int count_in(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static int count_in_log(const char *needle)
{
	read_log();
	return count_in(logbuf, needle);
}

/* Wait (up to ms) until needle occurs at least `want` times; false at
 * once if keeper exits. */
static __attribute__((unused)) bool wait_log(const char *needle, int want, int ms)
{
	int64_t t0 = mono_ms();

	while (count_in_log(needle) < want) {
		if (mono_ms() - t0 > ms || waitpid(keeper_pid, NULL, WNOHANG) == keeper_pid)
			return false;
		usleep(20000);
	}
	return true;
}

/* The n-th (0-based) line of the log containing needle, into out. */
static __attribute__((unused)) bool log_line(const char *needle, int n, char *out, size_t cap)
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

/* The value of " key=" in a log line or message, into out.  It ends at a
 * space, a newline or a quote (the end of a JSON line's "msg"). */
static __attribute__((unused)) bool field(const char *line, const char *key, char *out, size_t cap)
{
	char k[32];
	const char *p;
	size_t len;

	snprintf(k, sizeof k, " %s=", key);
	if (!(p = strstr(line, k)))
		return false;
	p += strlen(k);
	len = strcspn(p, " \n\"");
	if (len >= cap)
		return false;
	memcpy(out, p, len);
	out[len] = 0;
	return true;
}

/* keeper_run(), CHECKed to have started and (within 8 s) to have its
 * node subscriptions answered: false when it did not start. */
static __attribute__((unused)) bool keeper_subscribed(const char *cfg, bool dry_run)
{
	CHECK(keeper_run(cfg, dry_run) > 0);
	if (keeper_pid <= 0)
		return false;
	CHECK_MSG(wait_log("subscriptions answered", 1, 8000), "node not subscribed:\n%s",
		  logbuf);
	return true;
}

/* ---- the chain: anvil and cast */

static char rpc_url[64];   /* anvil_up's chain */
static int anvil_port;

/* anvil --host 127.0.0.1 --port port OPTS... --silent (opts NULL-ended,
 * may be NULL), waited for as anvil_run does: its pid, or -1. */
static __attribute__((unused)) pid_t anvil_at(int port, const char *const *opts)
{
	const char *argv[24];
	char ps[16];
	int argc = 0;

	snprintf(ps, sizeof ps, "%d", port);
	argv[argc++] = anvil_bin;
	argv[argc++] = "--host";
	argv[argc++] = "127.0.0.1";
	argv[argc++] = "--port";
	argv[argc++] = ps;
	while (opts && *opts && argc < 22)
		argv[argc++] = *opts++;
	argv[argc++] = "--silent";
	argv[argc] = NULL;
	return anvil_run(argv, port);
}

/* anvil_at on a free port, which becomes anvil_port and rpc_url. */
static __attribute__((unused)) pid_t anvil_up(const char *const *opts)
{
	anvil_port = free_port(0, NULL);
	snprintf(rpc_url, sizeof rpc_url, "http://127.0.0.1:%d", anvil_port);
	return anvil_port ? anvil_at(anvil_port, opts) : -1;
}

static int cast_v(const char *url, char *out, size_t cap, const char *fmt, va_list ap)
{
	char cmd[8192];
	size_t sub;

	vsnprintf(cmd, sizeof cmd, fmt, ap);
	sub = strcspn(cmd, " ");
	return sh(out, cap, "%s %.*s --rpc-url %s%s", cast_bin, (int)sub, cmd, url, cmd + sub);
}

/*
 * `cast SUBCOMMAND ARGS` (fmt and what follows) against the node at url,
 * as sh() runs it: stdout into out (NULL: dropped), the exit status
 * returned.  cast(out, cap, fmt, ...) is the same against rpc_url.
 */
static int cast_at(const char *url, char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), unused));
static int cast_at(const char *url, char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = cast_v(url, out, cap, fmt, ap);
	va_end(ap);
	return r;
}

#define cast(...) cast_at(rpc_url, __VA_ARGS__)

/* cast send, waiting for the receipt. */
static __attribute__((unused)) bool send_mined(const char *args)
{
	return cast(NULL, 0, "send -q %s", args) == 0;
}

/* cast send --async to url: the hash cast prints into hash. */
static __attribute__((unused)) bool send_async_at(const char *url, char hash[67], const char *args)
{
	char out[256];

	if (cast_at(url, out, sizeof out, "send --async %s", args))
		return false;
	CHECK_MSG(strlen(out) == 66, "cast send printed %s", out);
	if (strlen(out) != 66)
		return false;
	memcpy(hash, out, 67);
	return true;
}

static __attribute__((unused)) bool send_async(char hash[67], const char *args)
{
	return send_async_at(rpc_url, hash, args);
}

/* cast send from a key, or (unlocked) from one of anvil's accounts. */
static __attribute__((unused)) bool send_from(const char *key_or_addr, bool unlocked,
					      const char *to, const char *sig_args)
{
	return cast(NULL, 0, "send %s %s %s %s", unlocked ? "--unlocked --from" : "--private-key",
		    key_or_addr, to, sig_args) == 0;
}

static __attribute__((unused)) bool evm_mine_at(const char *url)
{
	return cast_at(url, NULL, 0, "rpc evm_mine") == 0;
}

static __attribute__((unused)) bool evm_mine(void)
{
	return evm_mine_at(rpc_url);
}

/* Automining on or off (off: what is sent stays pending until evm_mine). */
static __attribute__((unused)) bool set_automine(bool on)
{
	return cast(NULL, 0, "rpc evm_setAutomine %s", on ? "true" : "false") == 0;
}

/* The latest block's number, 0 on error. */
static __attribute__((unused)) uint64_t block_number(void)
{
	char o[64];

	if (cast(o, sizeof o, "block-number"))
		return 0;
	return strtoull(o, NULL, 10);
}

/* addr's nonce at block ("latest", "pending", a number); UINT64_MAX on error. */
static __attribute__((unused)) uint64_t cast_nonce(const char *addr, const char *block)
{
	char o[64];

	if (cast(o, sizeof o, "nonce %s --block %s", addr, block))
		return UINT64_MAX;
	return strtoull(o, NULL, 10);
}

/* A transaction's receipt as the tests judge it: found is false while
 * there is none (pending, dropped, or the call failed); a member the node
 * left out reads UINT64_MAX. */
typedef struct {
	bool found;
	uint64_t status, index, block;   /* status, transactionIndex, blockNumber */
	uint64_t gas_used, price;        /* gasUsed, effectiveGasPrice (wei) */
} receipt_t;

/* A hex quantity member of a JSON object, UINT64_MAX when absent. */
static __attribute__((unused)) uint64_t hex_member(json_t *j, const char *k)
{
	const char *v = json_string_value(json_object_get(j, k));

	return v ? strtoull(v, NULL, 16) : UINT64_MAX;
}

/* eth_getTransactionReceipt of hash (0x and 64 hex digits) on rpc_url. */
static __attribute__((unused)) receipt_t receipt(const char *hash)
{
	static char o[65536];
	receipt_t r = { 0 };
	json_t *j;

	if (cast(o, sizeof o, "rpc eth_getTransactionReceipt %s", hash) ||
	    !(j = json_loads(o, 0, NULL)))
		return r;
	if (json_is_object(j)) {
		r.found = true;
		r.status = hex_member(j, "status");
		r.index = hex_member(j, "transactionIndex");
		r.block = hex_member(j, "blockNumber");
		r.gas_used = hex_member(j, "gasUsed");
		r.price = hex_member(j, "effectiveGasPrice");
	}
	json_decref(j);
	return r;
}

/* addr's ETH balance in wei, as cast prints it. */
static __attribute__((unused)) bool cast_balance(const char *addr, char *out, size_t cap)
{
	return cast(out, cap, "balance %s", addr) == 0;
}

/* A cast command whose answer is a uint256 in decimal (cast may add
 * " [7.77e20]"). */
static bool cast_u256(u256_t *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), unused));
static bool cast_u256(u256_t *out, const char *fmt, ...)
{
	char o[256];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = cast_v(rpc_url, o, sizeof o, fmt, ap);
	va_end(ap);
	return r == 0 && u256_from_dec(out, o, strcspn(o, " \n")) == KERR_OK;
}

/* anvil's dev accounts 1..n (account 0 deploys): checksummed text into
 * txt (may be NULL) and parsed into a (may be NULL). */
static __attribute__((unused)) bool dev_accounts(addr_t *a, char (*txt)[64], int n)
{
	char accts[4096];
	const char *p = accts;

	if (cast(accts, sizeof accts, "rpc eth_accounts"))
		return false;
	for (int i = -1; i < n; i++) {
		addr_t x;

		if (!(p = strstr(p, "0x")) || addr_parse(&x, p, 42) != KERR_OK)
			return false;
		if (i >= 0 && a)
			a[i] = x;
		if (i >= 0 && txt)
			addr_to_checksum(&x, txt[i]);
		p += 42;
	}
	return true;
}

/* A hex quantity of cast's JSON equals got. */
static __attribute__((unused)) void want_u256_json(const u256_t *got, json_t *s, const char *what)
{
	u256_t w;

	CHECK_MSG(json_is_string(s), "%s missing", what);
	if (!json_is_string(s))
		return;
	CHECK_OK(u256_from_hex(&w, json_string_value(s), json_string_length(s)));
	CHECK_MSG(u256_cmp(got, &w) == 0, "%s differs from cast's %s", what, json_string_value(s));
}

/* ---- contracts */

/* tests/contracts/NAME.bin's hex (no 0x, no newline), malloc'd; NULL
 * after printing why. */
static __attribute__((unused)) char *contract_code(const char *bin_path, size_t *len_out)
{
	size_t len;
	char *bin = t_read_file(bin_path, &len);

	if (!bin)
		return NULL;
	while (len && (bin[len - 1] == '\n' || bin[len - 1] == '\r'))
		bin[--len] = 0;
	if (len_out)
		*len_out = len;
	return bin;
}

/*
 * Deploy bin_path from account 0: constructor ctor (a signature; only its
 * types count) with args, value (cast's spelling, NULL: none), waiting for
 * the receipt.  The new address into addr (NULL: not wanted).
 */
static __attribute__((unused)) bool deploy(const char *bin_path, const char *ctor, const char *args,
					   const char *value, char addr[43])
{
	static char out[65536];
	char *bin, *cmd, enc[1024] = "";
	const char *p;
	size_t len;
	bool ok;

	if (!(bin = contract_code(bin_path, &len)))
		return false;
	if (sh(enc, sizeof enc, "%s abi-encode '%s' %s", cast_bin, ctor, args)) {
		free(bin);
		return false;
	}
	cmd = malloc(len + strlen(enc) + 256);
	sprintf(cmd, "--private-key " K0 " %s %s --create 0x%s%s", value ? "--value" : "",
		value ? value : "", bin, enc + 2);
	ok = cast(out, sizeof out, "send --json %s", cmd) == 0;
	free(cmd);
	free(bin);
	if (ok && addr) {
		static const char key[] = "\"contractAddress\":\"";

		if (!(p = strstr(out, key)) || strlen(p += sizeof key - 1) < 42)
			return false;
		memcpy(addr, p, 42);
		addr[42] = 0;
	}
	return ok;
}

/*
 * The guardian scenario's chain: Erc20("Test", "TST") at DEPLOYED0, a Vault
 * with guardian account 1 and that token at DEPLOYED1 holding 5 ether from
 * its construction, 777 tokens minted to the vault.
 */
static __attribute__((unused)) bool deploy_vault(void)
{
	char g[64];

	if (!deploy("tests/contracts/Erc20.bin", "constructor(string,string)", "Test TST", NULL,
		    NULL) ||
	    !deploy("tests/contracts/Vault.bin", "constructor(address,address)",
		    ACCT1 " " DEPLOYED0, "5ether", NULL) ||
	    !send_mined("--private-key " K0 " " DEPLOYED0 " 'mint(address,uint256)' " DEPLOYED1
			" 777000000000000000000"))
		return false;
	return cast(g, sizeof g, "call " DEPLOYED1 " 'guardian()(address)'") == 0 &&
	       strcmp(g, ACCT1) == 0;
}

/* The Lending set-up: Erc20("Debt", "DBT") at DEPLOYED0, Lending (that
 * token, price 2000) at DEPLOYED1, a million tokens minted to the pool. */
static __attribute__((unused)) bool deploy_lending(void)
{
	return deploy("tests/contracts/Erc20.bin", "f(string,string)", "Debt DBT", NULL, NULL) &&
	       deploy("tests/contracts/Lending.bin", "f(address,uint256)", DEPLOYED0 " 2000" E18,
		      NULL, NULL) &&
	       send_from(K0, false, DEPLOYED0,
			 "'mint(address,uint256)' " DEPLOYED1 " 1000000" E18);
}

/*
 * A config for deploy_lending()'s pool on anvil_up's chain: the pool
 * watched, a liquidation trigger "lending" (healthFactor, debtOf, accounts
 * = [ ACCOUNTS ], discovery by Borrow logs, no cooldown) whose action
 * "liq" calls liquidate($account, $amount), then `extra` (more settings,
 * "" for none).  Its length, as snprintf's.
 */
static __attribute__((unused)) int lending_cfg(char *out, size_t cap, const char *accounts,
					       const char *extra)
{
	return snprintf(out, cap,
		"chain = { id = 31337; ws = \"ws://127.0.0.1:%d\"; rpc = [ \"%s\" ]; };\n"
		"watch = ( { name = \"pool\"; address = \"" DEPLOYED1 "\"; } );\n"
		"actions = ( { name = \"liq\"; to = \"" DEPLOYED1 "\";\n"
		"  call = \"liquidate(address,uint256)\"; args = [ \"$account\", \"$amount\" ];\n"
		"  gas_limit = 300000; gas = \"g\"; } );\n"
		"gas = ( { name = \"g\"; strategy = \"fixed\"; max_fee_gwei = 50; "
		"priority_fee_gwei = 2; } );\n"
		"triggers = ( { name = \"lending\"; kind = \"liquidation\"; pool = \"" DEPLOYED1 "\";\n"
		"  health = \"healthFactor(address)\"; debt = \"debtOf(address)\";\n"
		"  accounts = [ %s ];\n"
		"  discover = \"Borrow(address,uint256)\"; discover_topic = 1;\n"
		"  cooldown_ms = 0; action = \"liq\"; } );\n"
		"%s", anvil_port, rpc_url, accounts, extra);
}

/* Lending: the unlocked account `who` deposits 1 ether of collateral and
 * borrows `units` whole tokens from pool. */
static __attribute__((unused)) bool lending_borrow(const char *pool, const char *who,
						   unsigned units)
{
	char a[128];

	snprintf(a, sizeof a, "'borrow(uint256)' %u" E18, units);
	return send_from(who, true, pool, "'deposit()' --value 1ether") &&
	       send_from(who, true, pool, a);
}

/* Lending: the collateral's price, in whole tokens (account 0 owns the pool). */
static __attribute__((unused)) bool lending_set_price(const char *pool, unsigned units)
{
	char a[128];

	snprintf(a, sizeof a, "'setPrice(uint256)' %u" E18, units);
	return send_from(K0, false, pool, a);
}

#endif
