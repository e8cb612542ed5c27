/*
 * test_liq_anvil: the liquidation trigger end to end against a real anvil
 * (foundry 1.7.1 from .deps) and tests/contracts/Lending.sol: keeper/node
 * delivers heads and the pool's logs, keeper/liq_scan checks the borrowers
 * over rpc_http in JSON-RPC batches, strategies/liq decides.
 *
 * Eight borrowers (anvil's dev accounts 1..8, 1 ETH of collateral each,
 * debts 300 .. 1500 at a price of 2000, LT 80%: all healthy).  Accounts 1..4
 * are in the config; 5 and 6 borrowed before keeper started and are found
 * by the catch-up (eth_getLogs of Borrow); 7 and 8 borrow while it runs and
 * are found from the live logs.  Then:
 *   a. setPrice(1500): exactly the borrowers whose healthFactor, read
 *      independently with `cast call`, is below 1e18 trip, once each,
 *      largest debt first, $amount = debt * 50 / 100 (debt from cast);
 *   b. the next head trips none of them again (in flight);
 *   c. one of them is liquidated with cast for its trip's amount, which
 *      makes it healthy; liq_resolved(MINED), and the next head does not
 *      trip it (cast agrees it is healthy), nor the other one in flight;
 *   d. setPrice(1250): exactly the borrowers cast finds unhealthy and that
 *      are not in flight trip (the liquidated one among them: resolved,
 *      then unhealthy again), in debt order; one at exactly 1.0 does not.
 * The test starts anvil itself on a free port and kills it at exit, on a
 * fatal signal and on its own 90 s alarm.
 */
#include <signal.h>
#include <unistd.h>

#include "keeper/config.h"
#include "keeper/liq_scan.h"
#include "keeper/loop.h"
#include "keeper/node.h"
#include "keeper/rpc.h"
#include "keeper/rpc_http.h"
#include "signer/addr.h"
#include "signer/u256.h"
#include "tests/config_util.h"
#include "tests/e2e.h"
#include "tests/loop_util.h"

/* Account 0's first two creations: the debt token, then the pool. */
#define TOKEN DEPLOYED0
#define POOL DEPLOYED1

#define NB 8
static const unsigned debt_units[NB] = { 300, 500, 700, 900, 1000, 1100, 1300, 1500 };
static char who[NB][64];          /* borrower addresses, checksummed */
static addr_t whoa[NB];

static pid_t anvil_pid = -1;
static config_keeper_t *CFG;
static rpc_http_t *T;
static rpc_client_t *RPC;
static node_t *N;
static liq_scan_t *S;

#define MAXTR 64
static detect_trip_t TR[MAXTR];
static int nTR;

static void on_trip(void *arg, const detect_trip_t *t)
{
	(void)arg;
	if (nTR < MAXTR)
		TR[nTR++] = *t;
}

static void sink(void *ctx, const event_t *ev)
{
	(void)ctx;
	if (S)
		liq_scan_event(S, ev);
}

/* cast call POOL sig(address)(uint256) addr. */
static bool pool_u256(const char *sig, const char *addr, u256_t *out)
{
	return cast_u256(out, "call " POOL " '%s(address)(uint256)' %s", sig, addr);
}

static bool idle_after(void)
{
	liq_scan_stats_t st;

	liq_scan_stats(S, &st);
	return !st.scanning;
}

/* Wait for the head of the block just mined to be scanned: a new request,
 * then no scan under way (a request during a scan makes the scan that
 * follows, so idle means every request was served). */
static uint64_t req_mark;
static bool scanned(void)
{
	liq_scan_stats_t st;

	liq_scan_stats(S, &st);
	return st.requests > req_mark && !st.scanning;
}

static void mark(void)
{
	liq_scan_stats_t st;

	liq_scan_stats(S, &st);
	req_mark = st.requests;
}

/* What cast says: is borrower i liquidatable, and its debt. */
static bool unhealthy(int i, u256_t *debt)
{
	u256_t hf, one;

	CHECK(pool_u256("healthFactor", who[i], &hf));
	CHECK(pool_u256("debtOf", who[i], debt));
	u256_from_u64(&one, 1000000000000000000ULL);
	return u256_cmp(&hf, &one) < 0;
}

/*
 * The trips TR[from..nTR) must be exactly the borrowers cast finds
 * unhealthy that were not in flight before (was_in_flight), once each,
 * ordered by debt, with amount = debt / 2.  Returns how many tripped.
 */
static int check_trips(int from, const bool was_in_flight[NB])
{
	bool want[NB] = { false };
	u256_t debt[NB];
	int nwant = 0, got = nTR - from;

	for (int i = 0; i < NB; i++) {
		want[i] = unhealthy(i, &debt[i]) && !was_in_flight[i];
		nwant += want[i];
	}
	CHECK_EQ_INT(got, nwant);
	for (int k = from; k < nTR; k++) {
		int i = -1;
		u256_t amount;
		for (int j = 0; j < NB; j++)
			if (addr_eq(&TR[k].account, &whoa[j]))
				i = j;
		CHECK_MSG(i >= 0 && want[i], "trip %d: account not expected", k);
		if (i < 0 || !want[i])
			continue;
		want[i] = false;   /* a second trip would fail the line above */
		CHECK(u256_div_u64(&amount, &debt[i], 2, NULL) == KERR_OK &&
		      u256_cmp(&amount, &TR[k].amount) == 0);
		CHECK(TR[k].value < 1.0 && TR[k].threshold == 1.0);
		if (k > from)
			CHECK(u256_cmp(&TR[k - 1].amount, &TR[k].amount) >= 0);
	}
	return got;
}

static void in_flight_now(bool out[NB])
{
	for (int i = 0; i < NB; i++)
		out[i] = liq_in_flight(liq_scan_book(S), &whoa[i]);
}

static bool borrow(int i)
{
	return lending_borrow(POOL, who[i], debt_units[i]);
}

static bool n_ready(void)
{
	node_stats_t ns;

	node_stats(N, &ns);
	return ns.ready >= 1;
}

static void test_setup(void)
{
	char text[4096], accts[512];
	const char *urls[1];
	rpc_transport_t tr;

	CHECK(deploy_lending());
	CHECK(send_from(K0, false, TOKEN, "'mint(address,uint256)' " ACCT0 " 1000000" E18));
	CHECK(send_from(K0, false, TOKEN, "'approve(address,uint256)' " POOL " 1000000" E18));
	/* the dev accounts 1..8 */
	CHECK(dev_accounts(whoa, who, NB));
	/* 1..6 borrow now (5 and 6 will be found by the catch-up) */
	for (int i = 0; i < 6; i++)
		CHECK(borrow(i));
	snprintf(accts, sizeof accts, "\"%s\", \"%s\", \"%s\", \"%s\"", who[0], who[1],
		 who[2], who[3]);
	lending_cfg(text, sizeof text, accts, "");
	CFG = load_cfg(text);
	CHECK(CFG != NULL);
	if (!CFG)
		return;
	urls[0] = CFG->chain.rpc[0];
	CHECK_OK(rpc_http_new(L, urls, 1, NULL, &T));
	if (!T)
		return;
	tr = rpc_http_transport(T);
	CHECK_OK(rpc_new(&RPC, 1, &tr, rpc_http_clock, L, &(rpc_opts_t){ .timeout_ms = 3000 }));
	if (!RPC)
		return;
	/* batches of 3, 2 in flight: 8 accounts take several batches */
	CHECK_OK(liq_scan_new(&S, CFG, &CFG->triggers[0], RPC, on_trip, NULL,
			      &(liq_scan_opts_t){ .batch = 3, .parallel = 2 }));
	CHECK_OK(node_new(L, CFG, RPC, sink, NULL, NULL, &N));
	if (!S || !N)
		return;
	CHECK_OK(node_start(N));
	CHECK(run_until(n_ready, 5000));
}

static bool catch_up_done(void)
{
	liq_scan_stats_t st;

	liq_scan_stats(S, &st);
	return !st.catching_up;
}

static bool all_known(void)
{
	return liq_count(liq_scan_book(S)) == NB && idle_after();
}

static void test_discovery(void)
{
	char bn[64];
	liq_scan_stats_t st;

	if (!S)
		return;
	CHECK_EQ_INT(liq_count(liq_scan_book(S)), 4);
	CHECK(cast(bn, sizeof bn, "block-number") == 0);
	CHECK_OK(liq_scan_catch_up(S, 0, strtoull(bn, NULL, 10)));
	CHECK(run_until(catch_up_done, 5000));
	CHECK_EQ_INT(liq_count(liq_scan_book(S)), 6);
	/* 7 and 8 borrow live: their Borrow logs come through the node */
	CHECK(borrow(6));
	CHECK(borrow(7));
	CHECK(run_until(all_known, 5000));
	liq_scan_stats(S, &st);
	printf("    %zu accounts: %" PRIu64 " from the catch-up's and live logs\n",
	       liq_count(liq_scan_book(S)), st.discovered);
	CHECK_EQ_INT(st.discovered, 4);
	CHECK_EQ_INT(st.catchup_calls, 1);
	CHECK(st.scans >= 1);
	CHECK_EQ_INT(st.call_errors + st.malformed + st.submit_errors, 0);
	CHECK_EQ_INT(nTR, 0);         /* everyone healthy at 2000 */
}

static void test_price_drop(void)
{
	bool fl[NB] = { false };
	liq_scan_stats_t st;
	int from = nTR, got;

	if (!S || liq_count(liq_scan_book(S)) != NB)
		return;
	mark();
	CHECK(lending_set_price(POOL, 1500));
	CHECK(run_until(scanned, 5000));
	got = check_trips(from, fl);
	printf("    price 1500: %d of %d borrowers tripped\n", got, NB);
	CHECK_EQ_INT(got, 2);         /* debts 1300 and 1500: 0.923, 0.8 */
	liq_scan_stats(S, &st);
	CHECK(st.batches >= 4);       /* 8 health calls in batches of 3, and debts */
	CHECK_EQ_INT(st.call_errors + st.malformed, 0);

	/* b: the next head trips nobody again */
	mark();
	CHECK(evm_mine());
	CHECK(run_until(scanned, 5000));
	CHECK_EQ_INT(nTR, from + got);
	CHECK_EQ_INT(liq_in_flight_count(liq_scan_book(S)), 2);
}

static void test_liquidated(void)
{
	char a[256], dec[U256_DEC_MAX];
	u256_t hf, one;
	int k = -1;

	if (!S || nTR < 2)
		return;
	/* the trip of borrower 7 (debt 1300, health 0.923) */
	for (int i = 0; i < nTR; i++)
		if (addr_eq(&TR[i].account, &whoa[6]))
			k = i;
	CHECK(k >= 0);
	if (k < 0)
		return;
	u256_to_dec(&TR[k].amount, dec, sizeof dec);
	snprintf(a, sizeof a, "'liquidate(address,uint256)' %s %s", who[6], dec);
	CHECK(send_from(K0, false, POOL, a));
	CHECK(pool_u256("healthFactor", who[6], &hf));
	u256_from_u64(&one, 1000000000000000000ULL);
	CHECK(u256_cmp(&hf, &one) >= 0);   /* healthy after it */
	CHECK_OK(liq_scan_resolved(S, &whoa[6], LIQ_MINED));
	CHECK(!liq_in_flight(liq_scan_book(S), &whoa[6]));
	mark();
	CHECK(evm_mine());
	CHECK(run_until(scanned, 5000));
	CHECK_EQ_INT(nTR, 2);               /* neither it nor borrower 8 */
	CHECK(liq_in_flight(liq_scan_book(S), &whoa[7]));
}

static void test_further_drop(void)
{
	bool fl[NB];
	int from = nTR, got;
	u256_t hf, one;

	if (!S || nTR != 2)
		return;
	in_flight_now(fl);
	mark();
	CHECK(lending_set_price(POOL, 1250));
	CHECK(run_until(scanned, 5000));
	got = check_trips(from, fl);
	printf("    price 1250: %d more tripped (borrower 8 still in flight)\n", got);
	/* 1100 (0.909) and the liquidated 7 (0.838); 1000 sits at exactly 1.0 */
	CHECK_EQ_INT(got, 2);
	CHECK(pool_u256("healthFactor", who[4], &hf));
	u256_from_u64(&one, 1000000000000000000ULL);
	CHECK(u256_cmp(&hf, &one) == 0);
	for (int k = from; k < nTR; k++)
		CHECK(!addr_eq(&TR[k].account, &whoa[7]) && !addr_eq(&TR[k].account, &whoa[4]));
}

int main(void)
{
	e2e_begin("test_liq_anvil", 90);
	if (!find_anvil_cast())
		return 1;
	anvil_pid = anvil_up((const char *[]){ "--accounts", "12", NULL });
	if (loop_create(NULL, &L) != KERR_OK) {
		printf("FAIL setup: loop\n");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	loop_util_init();
	if (anvil_pid > 0) {
		RUN(test_setup);
		RUN(test_discovery);
		RUN(test_price_drop);
		RUN(test_liquidated);
		RUN(test_further_drop);
	} else {
		printf("FAIL setup: anvil did not start\n");
		t_failed++;
	}
	/* The transport first: it drops completions that point at the rest. */
	rpc_http_free(T);
	node_free(N);
	liq_scan_free(S);
	rpc_free(RPC);
	config_free(CFG);
	loop_timer_cancel(&wd_t);
	loop_timer_cancel(&poll_t);
	loop_destroy(L);
	anvil_stop(anvil_pid);
	kill_all();
	return t_done();
}
