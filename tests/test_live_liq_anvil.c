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
#include <signal.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "keeper/kerr.h"
#include "signer/addr.h"
#include "signer/u256.h"
#include "tests/e2e.h"

/* Account 0's first two creations: the debt token, then the pool. */
#define TOKEN DEPLOYED0
#define POOL DEPLOYED1

#define NB 6
static const unsigned debt_units[NB] = { 300, 1300, 700, 1500, 1000, 1250 };
static char who[NB][64];          /* borrower addresses, checksummed */

static const char *cfg_path;

/* ---- keeper's stderr, one JSON object per line */

#define MAXTRIP 32
static char trips[MAXTRIP][1024];   /* the "msg" of each trip line */
static int ntrips, bad_lines;

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

/* ---- chain */

/* cast call POOL sig(address)(uint256) addr. */
static bool pool_u256(const char *sig, const char *addr, u256_t *out)
{
	return cast_u256(out, "call " POOL " '%s(address)(uint256)' %s", sig, addr);
}

static bool borrow(int i)
{
	return lending_borrow(POOL, who[i], debt_units[i]);
}

static bool setup_chain(void)
{
	if (!deploy_lending() || !dev_accounts(NULL, who, NB))
		return false;
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

		CHECK(pool_u256("healthFactor", who[i], &hf));
		CHECK(pool_u256("debtOf", who[i], &debt[i]));
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
	char summary[1024];

	if (!keeper_subscribed(cfg_path, true))
		return;
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
	CHECK(lending_set_price(POOL, 1500));
	CHECK_MSG(wait_trips(3, 8000), "trips after the drop:\n%s", logbuf);
	check_trips(0);

	/* b. in flight: no second trip */
	CHECK(evm_mine());
	CHECK(evm_mine());
	usleep(1500000);
	scan_log();
	CHECK_EQ_INT(ntrips, 3);

	/* c. healthy again, then unhealthy again */
	CHECK(lending_set_price(POOL, 2000));
	CHECK(evm_mine());
	usleep(1500000);
	scan_log();
	CHECK_EQ_INT(ntrips, 3);
	CHECK(lending_set_price(POOL, 1500));
	CHECK_MSG(wait_trips(6, 8000), "trips after the second drop:\n%s", logbuf);
	check_trips(3);
	CHECK(evm_mine());
	usleep(1000000);
	scan_log();
	CHECK_EQ_INT(ntrips, 6);
	CHECK_EQ_INT(bad_lines, 0);

	/* d. the stop */
	CHECK_EQ_INT(keeper_stop(summary, sizeof summary), 0);
	printf("    %s\n", summary);
	CHECK(strstr(summary, " 6 trips;") != NULL);
	CHECK(strstr(summary, " scans, 0 errors;") != NULL);
	CHECK(strstr(summary, "stopped by SIGTERM") != NULL);
}

int main(int argc, char **argv)
{
	char cfg[4096], accts[512];

	(void)argc;
	if (!keeper_test_begin("test_live_liq_anvil", 75, argv[0], "live-liq", NULL))
		return 1;
	cfg_path = tmp_file("run.cfg");
	if (anvil_up((const char *[]){ "--accounts", "10", NULL }) <= 0)
		return setup_failed("anvil did not start");
	if (!setup_chain())
		return setup_failed("deploying Erc20 and Lending, borrowing, with cast");
	printf("    Lending at %s; 4 of %d borrowers in\n", POOL, NB);
	snprintf(accts, sizeof accts, "\"%s\", \"%s\"", who[0], who[1]);
	lending_cfg(cfg, sizeof cfg, accts, "log = { level = \"info\"; format = \"json\"; };\n");
	if (!write_text(cfg_path, cfg))
		return setup_failed("config");
	RUN(test_run);
	return e2e_done();
}
