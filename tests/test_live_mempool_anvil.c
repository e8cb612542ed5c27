/*
 * test_live_mempool_anvil: `mempool` triggers in `keeper run --dry-run`,
 * keeper issue 4.  On 127.0.0.1: an anvil (foundry 1.7.1 from .deps) with
 * tests/contracts/Erc20 and Vault deployed by cast (the vault holds 5 ether
 * from its construction and 777 tokens minted to it), then automining
 * turned off, so that what the test sends stays pending.  $KEEPER (the
 * build's keeper; default: bin/keeper beside this program's directory) runs
 * with two mempool triggers on the vault:
 *   - "sim": any call, simulate = true, threshold_pct = 10;
 *   - "sel": selectors = [ emergencyWithdraw(address,address) ], no
 *     simulation, threshold_pct = 10;
 * and its trip lines (log module "trip") are checked:
 *   - account 2's pending deposit() of 1 ether trips neither (it is
 *     simulated: the vault gains; its selector is not "sel"'s);
 *   - the attacker's pending emergencyWithdraw(token, attacker) trips each
 *     exactly once, with the hash `cast send` printed and the sender, type
 *     and fees `cast tx` reports; "sim"'s value is 100 with the vault's
 *     whole ETH balance (cast balance) as amount and ETH as token, "sel"'s
 *     the worst case, 100 with no amount;
 *   - SIGTERM stops keeper with exit 0 and a summary line counting two
 *     trips, three matches (deposit by "sim"; the drain by both), two
 *     simulations and no unjudged match.
 * Bounded by a 60 s alarm; anvil and keeper are killed at exit, on a fatal
 * signal and on the alarm.
 */
#include <errno.h>
#include <signal.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "keeper/kerr.h"
#include "signer/u256.h"
#include "tests/anvil.h"
#include "tests/test.h"

/* anvil's dev accounts 1, 2 and 3 and the keys of 0, 2 and 3 (public test keys) */
#define ACCT1 "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
#define ACCT2 "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
#define ACCT3 "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
#define K0 "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define K2 "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
#define K3 "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"
#define ZERO_ADDR "0x0000000000000000000000000000000000000000"
/* What account 0 creates with nonces 0 and 1. */
#define TOKEN "0x5FbDB2315678afecb367f032d93F642f64180aa3"
#define VAULT "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
/* emergencyWithdraw(address,address) */
#define SEL_DRAIN "0x6382d9ad"

static char keeper_bin[1024], rpc_url[64];
static char dir[64], cfg_path[128], out_path[128], err_path[128];
static pid_t keeper_pid = -1;

static void remove_files(void)
{
	if (!dir[0])
		return;
	unlink(cfg_path);
	unlink(out_path);
	unlink(err_path);
	rmdir(dir);
}

static void on_fatal(int sig)
{
	static const char msg[] = "test_live_mempool_anvil: fatal signal or time limit; "
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

static bool send_mined(const char *args)
{
	return sh(NULL, 0, "%s send -q --rpc-url %s %s", cast_bin, rpc_url, args) == 0;
}

/* Send without waiting for a receipt; the hash cast prints into hash. */
static bool send_async(char hash[67], const char *args)
{
	char out[256];

	if (sh(out, sizeof out, "%s send --async --rpc-url %s %s", cast_bin, rpc_url, args))
		return false;
	CHECK_MSG(strlen(out) == 66, "cast send printed %s", out);
	if (strlen(out) != 66)
		return false;
	memcpy(hash, out, 67);
	return true;
}

static bool deploy(const char *bin_path, const char *ctor, const char *args,
		   const char *value)
{
	char *bin, *cmd, enc[512];
	size_t len;
	bool ok;

	if (!(bin = t_read_file(bin_path, &len)))
		return false;
	while (len && (bin[len - 1] == '\n' || bin[len - 1] == '\r'))
		bin[--len] = 0;
	if (sh(enc, sizeof enc, "%s abi-encode '%s' %s", cast_bin, ctor, args)) {
		free(bin);
		return false;
	}
	cmd = malloc(len + strlen(enc) + 256);
	sprintf(cmd, "--private-key " K0 " %s %s --create 0x%s%s", value ? "--value" : "",
		value ? value : "", bin, enc + 2);
	ok = send_mined(cmd);
	free(cmd);
	free(bin);
	return ok;
}

/* The vault's ETH balance in wei, as cast prints it. */
static bool vault_balance(char *out, size_t cap)
{
	return sh(out, cap, "%s balance %s --rpc-url %s", cast_bin, VAULT, rpc_url) == 0;
}

static bool setup_chain(void)
{
	char g[64];

	if (!deploy("tests/contracts/Erc20.bin", "constructor(string,string)", "Test TST", NULL) ||
	    !deploy("tests/contracts/Vault.bin", "constructor(address,address)",
		    ACCT1 " " TOKEN, "5ether") ||
	    !send_mined("--private-key " K0 " " TOKEN " 'mint(address,uint256)' " VAULT
			" 777000000000000000000"))
		return false;
	if (sh(g, sizeof g, "%s call %s 'guardian()(address)' --rpc-url %s", cast_bin, VAULT,
	       rpc_url) || strcmp(g, ACCT1) != 0)
		return false;
	/* From now on every transaction stays pending. */
	return sh(NULL, 0, "%s rpc evm_setAutomine false --rpc-url %s", cast_bin, rpc_url) == 0;
}

/* ---- the test */

static char dep_hash[67], drain_hash[67];

/* Compare a decimal trip field with a hex quantity of cast's JSON. */
static void want_fee(const char *line, const char *key, json_t *j, const char *member)
{
	char v[96], dec[96];
	const char *hx = json_string_value(json_object_get(j, member));
	u256_t a;

	CHECK_MSG(hx && field(line, key, v, sizeof v), "%s or %s missing", key, member);
	if (!hx || !field(line, key, v, sizeof v))
		return;
	CHECK_OK(u256_from_hex(&a, hx, strlen(hx)));
	u256_to_dec(&a, dec, sizeof dec);
	CHECK_MSG(!strcmp(v, dec), "%s=%s, cast's %s is %s", key, v, member, dec);
}

static void check_tx_fields(const char *line)
{
	char v[128], out[16384];
	json_t *j;

	CHECK(field(line, "tx", v, sizeof v) && !strcmp(v, drain_hash));
	CHECK(field(line, "sender", v, sizeof v) && !strcmp(v, ACCT3));
	if (sh(out, sizeof out, "%s tx %s --json --rpc-url %s", cast_bin, drain_hash, rpc_url) ||
	    !(j = json_loads(out, 0, NULL))) {
		CHECK_MSG(0, "cast tx %s failed", drain_hash);
		return;
	}
	CHECK(field(line, "tx_type", v, sizeof v) &&
	      strtol(v, NULL, 10) ==
		      strtol(json_string_value(json_object_get(j, "type")), NULL, 16));
	want_fee(line, "max_fee", j, "maxFeePerGas");
	want_fee(line, "max_priority_fee", j, "maxPriorityFeePerGas");
	CHECK(field(line, "max_fee", v, sizeof v) && !strcmp(v, "40000000000"));
	CHECK(field(line, "max_priority_fee", v, sizeof v) && !strcmp(v, "3000000000"));
	json_decref(j);
}

static void test_run(void)
{
	const char *argv[] = { keeper_bin, "run", "-c", cfg_path, "--dry-run", NULL };
	char line[2048], v[128], bal[128], summary[1024];
	int st = -1;
	FILE *f;

	keeper_pid = spawn(argv, out_path, err_path, true);
	CHECK(keeper_pid > 0);
	if (keeper_pid <= 0)
		return;
	CHECK_MSG(wait_log("subscriptions answered", 1, 8000), "node not subscribed:\n%s",
		  logbuf);
	CHECK_EQ_INT(count_in_log("not evaluated"), 0);
	CHECK(vault_balance(bal, sizeof bal));

	/* A deposit: matched by "sim", simulated, harmless. */
	CHECK(send_async(dep_hash, "--private-key " K2 " --nonce 0 --value 1ether " VAULT
			 " 'deposit()'"));
	/* The drain. */
	CHECK(send_async(drain_hash, "--private-key " K3 " --nonce 0 --priority-gas-price 3gwei "
			 "--gas-price 40gwei " VAULT " 'emergencyWithdraw(address,address)' "
			 TOKEN " " ACCT3));
	printf("    deposit %s\n    drain   %s\n", dep_hash, drain_hash);

	CHECK_MSG(wait_log("trip: sel ", 1, 8000), "no trip of \"sel\":\n%s", logbuf);
	CHECK_MSG(wait_log("trip: sim ", 1, 8000), "no trip of \"sim\":\n%s", logbuf);
	if (log_line("trip: sim ", 0, line, sizeof line)) {
		printf("    %s\n", line);
		CHECK(field(line, "kind", v, sizeof v) && !strcmp(v, "mempool"));
		CHECK(field(line, "value", v, sizeof v) && !strcmp(v, "100"));
		CHECK(field(line, "threshold", v, sizeof v) && !strcmp(v, "10"));
		CHECK(field(line, "unit", v, sizeof v) && !strcmp(v, "pct"));
		CHECK(field(line, "action", v, sizeof v) && !strcmp(v, "pause-it"));
		/* ETH and the token both lose everything; ETH is reported */
		CHECK(field(line, "amount", v, sizeof v) && !strcmp(v, bal));
		CHECK(field(line, "token", v, sizeof v) && !strcmp(v, ZERO_ADDR));
		check_tx_fields(line);
	}
	if (log_line("trip: sel ", 0, line, sizeof line)) {
		printf("    %s\n", line);
		CHECK(field(line, "kind", v, sizeof v) && !strcmp(v, "mempool"));
		CHECK(field(line, "value", v, sizeof v) && !strcmp(v, "100"));
		CHECK(field(line, "threshold", v, sizeof v) && !strcmp(v, "10"));
		CHECK(!field(line, "amount", v, sizeof v));
		CHECK(!field(line, "token", v, sizeof v));
		check_tx_fields(line);
	}
	/* Give a late trip the time to show, then count. */
	usleep(1000000);
	CHECK_EQ_INT(count_in_log("trip: sim "), 1);
	CHECK_EQ_INT(count_in_log("trip: sel "), 1);
	CHECK_EQ_INT(count_in_log(" trip: "), 2);
	CHECK_EQ_INT(count_in_log(dep_hash), 0);
	CHECK_EQ_INT(count_in_log("could not be simulated"), 0);

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
	CHECK(strstr(summary, " 2 trips;") != NULL);
	CHECK(strstr(summary, " 2 pending_tx,") != NULL);
	CHECK(strstr(summary, " mempool 3 matched, 2 simulated, 0 unjudged;") != NULL);
	CHECK(strstr(summary, "stopped by SIGTERM") != NULL);
}

int main(int argc, char **argv)
{
	const char *kp = getenv("KEEPER");
	char cfg[4096], ps[16];
	int port;

	(void)argc;
	install_fatal(on_fatal);
	alarm(60);
	if (kp && *kp) {
		snprintf(keeper_bin, sizeof keeper_bin, "%s", kp);
	} else {
		const char *slash = strrchr(argv[0], '/');
		snprintf(keeper_bin, sizeof keeper_bin, "%.*s/../bin/keeper",
			 slash ? (int)(slash - argv[0]) : 1, slash ? argv[0] : ".");
	}
	if (!find_anvil_cast())
		return 1;
	if (access(keeper_bin, X_OK) != 0) {
		printf("FAIL setup: no keeper at %s (build it, or set KEEPER)\n"
		       "0 passed, 1 failed\n", keeper_bin);
		return 1;
	}
	snprintf(dir, sizeof dir, "/tmp/keeper-live-mp-XXXXXX");
	if (!mkdtemp(dir)) {
		dir[0] = 0;
		printf("FAIL setup: temporary directory\n0 passed, 1 failed\n");
		return 1;
	}
	atexit(remove_files);
	snprintf(cfg_path, sizeof cfg_path, "%s/run.cfg", dir);
	snprintf(out_path, sizeof out_path, "%s/stdout", dir);
	snprintf(err_path, sizeof err_path, "%s/stderr", dir);

	port = free_port(0, NULL);
	snprintf(rpc_url, sizeof rpc_url, "http://127.0.0.1:%d", port);
	snprintf(ps, sizeof ps, "%d", port);
	{
		const char *av[] = { anvil_bin, "--host", "127.0.0.1", "--port", ps, "--silent",
				     NULL };
		if (!port || anvil_run(av, port) <= 0) {
			printf("FAIL setup: anvil did not start\n0 passed, 1 failed\n");
			return 1;
		}
	}
	if (!setup_chain()) {
		printf("FAIL setup: deploying Erc20 and Vault with cast\n0 passed, 1 failed\n");
		kill_all();
		return 1;
	}
	printf("    Vault at %s with 5 ether and 777 tokens; automine off\n", VAULT);
	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d/\"; rpc = [ \"%s\" ]; };\n"
		 "watch = ( { name = \"vault\"; address = \"" VAULT "\"; tokens = [ \"" TOKEN "\" ]; } );\n"
		 "triggers = (\n"
		 "  { name = \"sim\"; kind = \"mempool\"; watch = \"vault\"; simulate = true;\n"
		 "    threshold_pct = 10; action = \"pause-it\"; },\n"
		 "  { name = \"sel\"; kind = \"mempool\"; watch = \"vault\"; selectors = [ \"" SEL_DRAIN "\" ];\n"
		 "    threshold_pct = 10; action = \"pause-it\"; } );\n"
		 "actions = ( { name = \"pause-it\"; to = \"" VAULT "\"; call = \"pause()\"; "
		 "gas_limit = 100000; gas = \"g\"; } );\n"
		 "gas = ( { name = \"g\"; strategy = \"outbid\"; max_fee_gwei = 500; } );\n"
		 "log = { level = \"info\"; };\n",
		 port, rpc_url);
	if (!write_text(cfg_path, cfg)) {
		printf("FAIL setup: config\n0 passed, 1 failed\n");
		kill_all();
		return 1;
	}
	RUN(test_run);
	kill_all();
	remove_files();
	return t_done();
}
