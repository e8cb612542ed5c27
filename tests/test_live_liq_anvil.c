/*
 * test_live_liq_anvil: `liquidation` triggers in `keeper run --dry-run`,
 * keeper issue 4.  On 127.0.0.1: an anvil (foundry 1.7.1 from .deps,
 * automining) with tests/contracts/Erc20 (the debt token) and Lending
 * (price 2000, liquidation threshold 80 %, close factor 50 %) deployed by
 * cast.  Six borrowers (anvil's dev accounts 1..6, 1 ether of collateral
 * each) owe 300, 1300, 700, 1500, 1000 and 1250 tokens: at 2000 all are
 * healthy.  The first two are the trigger's `accounts`; the next two
 * borrow before keeper starts and must be found by the start's catch-up of
 * Borrow logs; the last two borrow while it runs and must be found from
 * the pool's live logs (the pool is a watch entry).  $KEEPER (the build's
 * keeper; default: bin/keeper beside this program's directory) logs in
 * JSON, and every line of its stderr must be one JSON object.  Then:
 *   a. setPrice(1500): trip lines for exactly the borrowers `cast call
 *      healthFactor` finds below 1e18 (1500, 1300 and 1250), once each,
 *      largest debt first, with account= the borrower and amount= its
 *      `cast call debtOf` * 50 / 100;
 *   b. two more blocks trip none of them again (in flight: a dry run never
 *      resolves a trip);
 *   c. setPrice(2000) makes them healthy (seen so, they are re-armed), and
 *      setPrice(1500) trips the same three once more;
 *   d. SIGTERM: exit 0, a summary of six trips and no scan errors.
 * Bounded by a 75 s alarm; anvil and keeper are killed at exit, on a fatal
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
#include "signer/addr.h"
#include "signer/u256.h"
#include "tests/anvil.h"
#include "tests/test.h"

#define K0 "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define ACCT0 "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
/* Account 0's first two creations: the debt token, then the pool. */
#define TOKEN "0x5FbDB2315678afecb367f032d93F642f64180aa3"
#define POOL "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
#define E18 "000000000000000000"

#define NB 6
static const unsigned debt_units[NB] = { 300, 1300, 700, 1500, 1000, 1250 };
static char who[NB][64];          /* borrower addresses, checksummed */

static char keeper_bin[1024], url[64];
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
	static const char msg[] = "test_live_liq_anvil: fatal signal or time limit; "
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

/* ---- keeper's stderr, one JSON object per line */

#define LOG_MAX (1 << 20)
#define MAXTRIP 32
static char logbuf[LOG_MAX];
static char trips[MAXTRIP][1024];   /* the "msg" of each trip line */
static int ntrips, bad_lines;

static void read_log(void)
{
	int fd = open(err_path, O_RDONLY);
	ssize_t n;

	logbuf[0] = 0;
	if (fd < 0)
		return;
	n = read(fd, logbuf, LOG_MAX - 1);
	close(fd);
	logbuf[n > 0 ? n : 0] = 0;
}

/* Read the log again: trips[] from its trip lines, bad_lines the lines
 * that are not JSON log objects. */
static void scan_log(void)
{
	char *p, *e;

	read_log();
	ntrips = bad_lines = 0;
	for (p = logbuf; *p; p = e + 1) {
		json_t *j;
		const char *mod, *msg;

		if (!(e = strchr(p, '\n')))
			break;      /* a line still being written */
		if (!(j = json_loadb(p, (size_t)(e - p), 0, NULL))) {
			bad_lines++;
			continue;
		}
		mod = json_string_value(json_object_get(j, "mod"));
		msg = json_string_value(json_object_get(j, "msg"));
		if (!mod || !msg || !json_is_string(json_object_get(j, "level")))
			bad_lines++;
		else if (!strcmp(mod, "trip") && ntrips < MAXTRIP)
			snprintf(trips[ntrips++], sizeof trips[0], "%s", msg);
		json_decref(j);
	}
}

static int count_in_log(const char *needle)
{
	int n = 0;

	read_log();
	for (const char *p = logbuf; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

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

static bool wait_trips(int want, int ms)
{
	int64_t t0 = mono_ms();

	for (scan_log(); ntrips < want; scan_log()) {
		if (mono_ms() - t0 > ms || waitpid(keeper_pid, NULL, WNOHANG) == keeper_pid)
			return false;
		usleep(50000);
	}
	return true;
}

/* The value of " key=" in a trip message (which starts with the trigger's
 * name), into out. */
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

static bool cast_send(const char *from_key_or_addr, bool unlocked, const char *to,
		      const char *sig_args)
{
	return sh(NULL, 0, "%s send --rpc-url %s %s %s %s %s", cast_bin, url,
		  unlocked ? "--unlocked --from" : "--private-key", from_key_or_addr,
		  to, sig_args) == 0;
}

/* cast call POOL sig(address)(uint256) addr (cast prints "N [Ne]"). */
static bool cast_u256(const char *sig, const char *addr, u256_t *out)
{
	char o[256];

	if (sh(o, sizeof o, "%s call --rpc-url %s " POOL " '%s(address)(uint256)' %s",
	       cast_bin, url, sig, addr))
		return false;
	return u256_from_dec(out, o, strcspn(o, " \n")) == KERR_OK;
}

static bool deploy(const char *bin_path, const char *ctor_sig, const char *ctor_args)
{
	char *bin, *cmd, enc[1024] = "";
	size_t len;
	bool ok;

	if (!(bin = t_read_file(bin_path, &len)))
		return false;
	while (len && (bin[len - 1] == '\n' || bin[len - 1] == '\r'))
		bin[--len] = 0;
	if (sh(enc, sizeof enc, "%s abi-encode '%s' %s", cast_bin, ctor_sig, ctor_args)) {
		free(bin);
		return false;
	}
	cmd = malloc(len + strlen(enc) + 256);
	sprintf(cmd, "--create 0x%s%s", bin, enc + 2);
	ok = sh(NULL, 0, "%s send --rpc-url %s --private-key " K0 " %s", cast_bin, url,
		cmd) == 0;
	free(cmd);
	free(bin);
	return ok;
}

static bool borrow(int i)
{
	char a[128];

	snprintf(a, sizeof a, "'borrow(uint256)' %u" E18, debt_units[i]);
	return cast_send(who[i], true, POOL, "'deposit()' --value 1ether") &&
	       cast_send(who[i], true, POOL, a);
}

static bool set_price(unsigned units)
{
	char a[128];

	snprintf(a, sizeof a, "'setPrice(uint256)' %u" E18, units);
	return cast_send(K0, false, POOL, a);
}

static bool mine(void)
{
	return sh(NULL, 0, "%s rpc evm_mine --rpc-url %s", cast_bin, url) == 0;
}

static bool setup_chain(void)
{
	char accts[2048], *p;

	if (!deploy("tests/contracts/Erc20.bin", "f(string,string)", "Debt DBT") ||
	    !deploy("tests/contracts/Lending.bin", "f(address,uint256)", TOKEN " 2000" E18) ||
	    !cast_send(K0, false, TOKEN, "'mint(address,uint256)' " POOL " 1000000" E18))
		return false;
	if (sh(accts, sizeof accts, "%s rpc --rpc-url %s eth_accounts", cast_bin, url))
		return false;
	p = accts;
	for (int i = -1; i < NB; i++) {
		addr_t a;

		if (!(p = strstr(p, "0x")) || addr_parse(&a, p, 42) != KERR_OK)
			return false;
		if (i >= 0)
			addr_to_checksum(&a, who[i]);
		p += 42;
	}
	/* 0 and 1 are listed in the config, 2 and 3 are for the catch-up */
	for (int i = 0; i < 4; i++)
		if (!borrow(i))
			return false;
	return true;
}

/* ---- the test */

/*
 * trips[from..ntrips) must be exactly the borrowers cast finds unhealthy,
 * once each, largest debt first, with amount = debtOf * 50 / 100.
 */
static void check_trips(int from)
{
	bool want[NB];
	u256_t debt[NB], one, prev;
	int nwant = 0;

	u256_from_u64(&one, 1000000000000000000ULL);
	for (int i = 0; i < NB; i++) {
		u256_t hf;

		CHECK(cast_u256("healthFactor", who[i], &hf));
		CHECK(cast_u256("debtOf", who[i], &debt[i]));
		want[i] = u256_cmp(&hf, &one) < 0;
		nwant += want[i];
	}
	CHECK_EQ_INT(ntrips - from, nwant);
	for (int k = from; k < ntrips; k++) {
		char v[128], dec[U256_DEC_MAX];
		u256_t amount;
		int i = -1;

		printf("    %s\n", trips[k]);
		CHECK(strncmp(trips[k], "lending ", 8) == 0);
		CHECK(field(trips[k], "kind", v, sizeof v) && !strcmp(v, "liquidation"));
		CHECK(field(trips[k], "unit", v, sizeof v) && !strcmp(v, "ratio"));
		CHECK(field(trips[k], "threshold", v, sizeof v) && !strcmp(v, "1"));
		CHECK(field(trips[k], "value", v, sizeof v) && atof(v) > 0.5 && atof(v) < 1.0);
		CHECK(field(trips[k], "action", v, sizeof v) && !strcmp(v, "liq"));
		CHECK(!field(trips[k], "tx", v, sizeof v));
		if (field(trips[k], "account", v, sizeof v))
			for (int j = 0; j < NB; j++)
				if (!strcmp(v, who[j]))
					i = j;
		CHECK_MSG(i >= 0 && want[i], "trip %d: account not expected: %s", k, trips[k]);
		if (i < 0 || !want[i])
			continue;
		want[i] = false;   /* a second trip of it fails the line above */
		/* close factor 50: floor(debt * 50 / 100) = floor(debt / 2) */
		CHECK_OK(u256_div_u64(&amount, &debt[i], 2, NULL));
		u256_to_dec(&amount, dec, sizeof dec);
		CHECK_MSG(field(trips[k], "amount", v, sizeof v) && !strcmp(v, dec),
			  "amount of %s: want %s", who[i], dec);
		if (k > from)
			CHECK(u256_cmp(&prev, &amount) > 0);
		prev = amount;
	}
}

static void test_run(void)
{
	const char *argv[] = { keeper_bin, "run", "-c", cfg_path, "--dry-run", NULL };
	char summary[1024];
	int st = -1;
	FILE *f;

	keeper_pid = spawn(argv, out_path, err_path, true);
	CHECK(keeper_pid > 0);
	if (keeper_pid <= 0)
		return;
	CHECK_MSG(wait_log("subscriptions answered", 1, 8000), "node not subscribed:\n%s",
		  logbuf);
	/* 2 listed + 2 from the catch-up */
	CHECK_MSG(wait_log("past logs read", 1, 8000), "no catch-up:\n%s", logbuf);
	CHECK_MSG(wait_log("lending: 4 borrowers known", 1, 8000), "catch-up found:\n%s",
		  logbuf);
	/* 2 more from the live Borrow logs */
	CHECK(borrow(4));
	CHECK(borrow(5));
	CHECK_MSG(wait_log("lending: 6 borrowers known", 1, 8000), "live discovery:\n%s",
		  logbuf);
	scan_log();
	CHECK_EQ_INT(ntrips, 0);

	/* a. the drop */
	CHECK(set_price(1500));
	CHECK_MSG(wait_trips(3, 8000), "trips after the drop:\n%s", logbuf);
	check_trips(0);

	/* b. in flight: no second trip */
	CHECK(mine());
	CHECK(mine());
	usleep(1500000);
	scan_log();
	CHECK_EQ_INT(ntrips, 3);

	/* c. healthy again, then unhealthy again */
	CHECK(set_price(2000));
	CHECK(mine());
	usleep(1500000);
	scan_log();
	CHECK_EQ_INT(ntrips, 3);
	CHECK(set_price(1500));
	CHECK_MSG(wait_trips(6, 8000), "trips after the second drop:\n%s", logbuf);
	check_trips(3);
	CHECK(mine());
	usleep(1000000);
	scan_log();
	CHECK_EQ_INT(ntrips, 6);
	CHECK_EQ_INT(bad_lines, 0);

	/* d. the stop */
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
	CHECK(strstr(summary, " 6 trips;") != NULL);
	CHECK(strstr(summary, " scans, 0 errors;") != NULL);
	CHECK(strstr(summary, "stopped by SIGTERM") != NULL);
}

int main(int argc, char **argv)
{
	const char *kp = getenv("KEEPER");
	char cfg[4096], ps[16];
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
	if (!find_anvil_cast())
		return 1;
	if (access(keeper_bin, X_OK) != 0) {
		printf("FAIL setup: no keeper at %s (build it, or set KEEPER)\n"
		       "0 passed, 1 failed\n", keeper_bin);
		return 1;
	}
	snprintf(dir, sizeof dir, "/tmp/keeper-live-liq-XXXXXX");
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
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	snprintf(ps, sizeof ps, "%d", port);
	{
		const char *av[] = { anvil_bin, "--host", "127.0.0.1", "--port", ps,
				     "--accounts", "10", "--silent", NULL };
		if (!port || anvil_run(av, port) <= 0) {
			printf("FAIL setup: anvil did not start\n0 passed, 1 failed\n");
			return 1;
		}
	}
	if (!setup_chain()) {
		printf("FAIL setup: deploying Erc20 and Lending, borrowing, with cast\n"
		       "0 passed, 1 failed\n");
		kill_all();
		return 1;
	}
	printf("    Lending at %s; 4 of %d borrowers in\n", POOL, NB);
	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d\"; rpc = [ \"%s\" ]; };\n"
		 "watch = ( { name = \"pool\"; address = \"" POOL "\"; } );\n"
		 "actions = ( { name = \"liq\"; to = \"" POOL "\"; call = \"liquidate(address,uint256)\";\n"
		 "  args = [ \"$account\", \"$amount\" ]; gas_limit = 300000; gas = \"g\"; } );\n"
		 "gas = ( { name = \"g\"; strategy = \"fixed\"; max_fee_gwei = 50; priority_fee_gwei = 2; } );\n"
		 "triggers = ( { name = \"lending\"; kind = \"liquidation\"; pool = \"" POOL "\";\n"
		 "  health = \"healthFactor(address)\"; debt = \"debtOf(address)\";\n"
		 "  accounts = [ \"%s\", \"%s\" ];\n"
		 "  discover = \"Borrow(address,uint256)\"; discover_topic = 1;\n"
		 "  cooldown_ms = 0; action = \"liq\"; } );\n"
		 "log = { level = \"info\"; format = \"json\"; };\n",
		 port, url, who[0], who[1]);
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
