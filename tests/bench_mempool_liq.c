/*
 * bench_mempool_liq: the per-event cost of the two detectors bench_detect
 * does not cover.
 *  - mempool: det_mempool_match on a pending transaction (a mix of calls to
 *    the watch with the watched selector, other selectors, other contracts
 *    and allowed senders), and det_mempool_judge on a simulation result;
 *  - liquidation: liq_decide per account answer, with books of 100 and
 *    10,000 candidates, one in ten liquidatable each scan and every trip
 *    resolved before the next scan, so that trips keep happening.  The
 *    per-account cost must stay nearly flat as the book grows (a sort by
 *    debt is O(n log n) per scan: log(10000)/log(100) = 2 is the bound).
 * Each figure is printed beside its floor, measured in the same run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "keeper/det_mempool.h"
#include "strategies/liq.h"
#include "tests/bench_util.h"
#include "tests/config_util.h"
#define RNG_SEED 0x62656e63686d6cULL
#include "tests/rng.h"

#define ROUNDS 7
#define WATCH "0x00000000000000000000000000000000000000a1"

static const char cfg_text[] =
	"chain = { id = 31337; ws = \"ws://127.0.0.1:8545\"; rpc = [ \"http://127.0.0.1:8545\" ]; };\n"
	"watch = ( { name = \"v\"; address = \"" WATCH "\"; "
	"tokens = [ \"0x0000000000000000000000000000000000000011\" ]; } );\n"
	"gas = ( { name = \"g\"; strategy = \"fixed\"; max_fee_gwei = 50; priority_fee_gwei = 2; } );\n"
	"actions = ( { name = \"p\"; to = \"" WATCH "\"; call = \"pause()\"; gas_limit = 100000; gas = \"g\"; },\n"
	"  { name = \"liq\"; to = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\";\n"
	"    call = \"liquidate(address,uint256)\"; args = ( \"$account\", \"$amount\" );\n"
	"    gas_limit = 300000; gas = \"g\"; } );\n"
	"triggers = (\n"
	"  { name = \"mp\"; kind = \"mempool\"; watch = \"v\"; simulate = true; threshold_pct = 10;\n"
	"    selectors = [ \"0x12345678\", \"0xdeadbeef\" ];\n"
	"    allow = [ \"0x00000000000000000000000000000000000000b0\" ]; cooldown_ms = 0; action = \"p\"; },\n"
	"  { name = \"l\"; kind = \"liquidation\"; pool = \"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512\";\n"
	"    health = \"healthFactor(address)\"; debt = \"debtOf(address)\"; cooldown_ms = 0;\n"
	"    action = \"liq\"; } );\n";

static int missed;
static unsigned long sink;

static void judge(const char *what, double ns, double floor_ns)
{
	printf("%-58s %7.1f ns   floor < %.0f: %s\n", what, ns, floor_ns,
	       ns < floor_ns ? "met" : "MISSED");
	if (ns >= floor_ns)
		missed = 1;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

/* ---- mempool ------------------------------------------------------------ */

#define NTX 1024

static void bench_mempool(const config_keeper_t *cfg)
{
	static event_tx_t tx[NTX];
	static char input[NTX][2 + 8 + 64 * 2 + 1];
	det_mempool_t d;
	sim_result_t r;
	double m[ROUNDS], j[ROUNDS];
	int round;
	size_t i;

	if (det_mempool_init(&d, &cfg->triggers[0]) != KERR_OK) {
		missed = 1;
		return;
	}
	for (i = 0; i < NTX; i++) {
		static const char *const sel[] = { "12345678", "deadbeef", "a9059cbb", "095ea7b3" };
		uint64_t k = rnd();

		memset(&tx[i], 0, sizeof tx[i]);
		tx[i].full = true;
		tx[i].has_to = true;
		tx[i].type = 2;
		memset(tx[i].hash, (int)i, 32);
		memset(tx[i].from.b, (int)(k >> 8), 20);
		if (k % 8 == 0)   /* an allowed sender */
			memcpy(tx[i].from.b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\xb0", 20);
		(void)addr_parse(&tx[i].to, k % 4 == 3 ? "0x00000000000000000000000000000000000000c3" : WATCH, 42);
		snprintf(input[i], sizeof input[i], "0x%s%064llx%064llx", sel[(k >> 4) % 4],
			 (unsigned long long)k, (unsigned long long)(k ^ 77));
		tx[i].input.p = input[i];
		tx[i].input.len = strlen(input[i]);
	}
	memset(&r, 0, sizeof r);
	r.err = KERR_OK;
	r.method = SIM_VIA_SIMULATE;
	r.watch = cfg->triggers[0].watch;
	r.nassets = 2;
	for (round = 0; round < ROUNDS; round++) {
		unsigned long before = n_alloc;
		double t0 = now_ns(), t1;
		int rep;

		for (rep = 0; rep < 200; rep++)
			for (i = 0; i < NTX; i++)
				sink += det_mempool_match(&d, &tx[i]);
		t1 = now_ns();
		m[round] = (t1 - t0) / (200.0 * NTX);
		t0 = now_ns();
		for (rep = 0; rep < 200; rep++)
			for (i = 0; i < NTX; i++) {
				memcpy(r.hash, tx[i].hash, 32);
				u256_from_u64(&r.asset[0].before, 1000000 + i);
				u256_from_u64(&r.asset[0].after, (i % 10) ? 1000000 + i : 0);
				u256_from_u64(&r.asset[0].loss, (i % 10) ? 0 : 1000000 + i);
				r.asset[0].known = r.asset[0].has_balance = true;
				r.asset[1] = r.asset[0];
				sink += det_mempool_judge(&d, &tx[i], &r, (int64_t)(round * 1000000 + rep * NTX + i), NULL);
			}
		t1 = now_ns();
		j[round] = (t1 - t0) / (200.0 * NTX);
		if (n_alloc != before)
			missed = 1;
	}
	judge("mempool match (mixed pending transactions)", median(m, ROUNDS), 1000);
	judge("mempool judge (simulation result, 2 assets)", median(j, ROUNDS), 1000);
}

/* ---- liquidation --------------------------------------------------------- */

/* ns per account answer over `scans` scans of a book of n accounts. */
static double liq_round(const config_trigger_t *trig, size_t n, int scans, uint64_t *trips_out)
{
	liq_book_t *b = NULL;
	liq_result_t *res = malloc(n * sizeof *res);
	detect_trip_t *trips = malloc(n * sizeof *trips);
	double t0, t1 = 0, spent = 0;
	uint64_t trips_total = 0;
	size_t i, nt;
	int s;

	if (!res || !trips || liq_new(&b, trig, n) != KERR_OK) {
		free(res);
		free(trips);
		missed = 1;
		return 0;
	}
	for (i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof res[i]);
		res[i].account.b[0] = 1;
		memcpy(res[i].account.b + 1, &i, sizeof i);
		(void)liq_add(b, &res[i].account, NULL);
	}
	for (s = 0; s < scans; s++) {
		for (i = 0; i < n; i++) {
			uint64_t k = rnd();

			res[i].ok = true;
			res[i].liquidatable = k % 10 == 0;
			res[i].health = res[i].liquidatable ? 0.9 : 1.5;
			u256_from_u64(&res[i].debt, 1 + (k >> 20) % 1000000000);
		}
		t0 = now_ns();
		if (liq_decide(b, res, n, (int64_t)s * 12000, trips, n, &nt) != KERR_OK)
			missed = 1;
		for (i = 0; i < nt; i++)
			(void)liq_resolved(b, &trips[i].account, LIQ_MINED);
		t1 = now_ns();
		spent += t1 - t0;
		trips_total += nt;
	}
	*trips_out = trips_total;
	liq_free(b);
	free(res);
	free(trips);
	return spent / ((double)n * scans);
}

static void bench_liq(const config_keeper_t *cfg)
{
	double small[ROUNDS], large[ROUNDS], ms, ml;
	uint64_t ts = 0, tl = 0;
	int round;

	for (round = 0; round < ROUNDS; round++) {
		small[round] = liq_round(&cfg->triggers[1], 100, 2000, &ts);
		large[round] = liq_round(&cfg->triggers[1], 10000, 20, &tl);
	}
	ms = median(small, ROUNDS);
	ml = median(large, ROUNDS);
	judge("liquidation decide per account, book of 100", ms, 1000);
	judge("liquidation decide per account, book of 10000", ml, 1000);
	printf("  ratio 10000 / 100: %.2f   floor <= 2.0: %s   (trips per round: %llu and %llu)\n",
	       ml / ms, ml / ms <= 2.0 ? "met" : "MISSED", (unsigned long long)ts,
	       (unsigned long long)tl);
	if (ml / ms > 2.0)
		missed = 1;
}

int main(void)
{
	config_keeper_t *cfg = load_cfg(cfg_text);

	if (!cfg) {
		printf("bench_mempool_liq: config refused\n");
		return 1;
	}
	bench_mempool(cfg);
	bench_liq(cfg);
	printf("[median of %d rounds; sink %lu]\n", ROUNDS, sink & 1);
	config_free(cfg);
	return missed;
}
