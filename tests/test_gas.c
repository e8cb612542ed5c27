/*
 * test_gas: the gas strategies with numbers.  The EIP-1559 base-fee rule
 * and the node's replacement rule are checked against direct integer
 * formulas written here in 128-bit arithmetic (independent of u256), on
 * hand-picked edges and on random values; each strategy's bid is checked
 * with worked figures; and the cap is shown to hold on every path,
 * including the runaway escalation that once produced a 1,110,001 gwei bid.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "strategies/gas.h"
#define RNG_SEED 0x6761735f62696473ULL   /* "gas_bids" */
#include "tests/rng.h"
#include "tests/test.h"

#define GWEI 1000000000ULL

typedef unsigned __int128 u128;

static u256_t U(uint64_t v)
{
	u256_t r;

	u256_from_u64(&r, v);
	return r;
}

static u128 to128(const u256_t *a)
{
	return ((u128)a->w[1] << 64) | a->w[0];
}

static bool eq128(const u256_t *a, u128 v)
{
	return a->w[2] == 0 && a->w[3] == 0 && to128(a) == v;
}

static gas_fees_t F(uint64_t max, uint64_t prio)
{
	gas_fees_t f;

	f.max_fee = U(max);
	f.priority_fee = U(prio);
	return f;
}

static config_gas_t G(config_gas_strategy_t s, uint64_t cap)
{
	config_gas_t g;

	memset(&g, 0, sizeof g);
	g.name = "g";
	g.strategy = s;
	g.max_fee = U(cap);
	return g;
}

/* EIP-1559's next base fee, as the EIP's Python writes it. */
static u128 ref_next_base(u128 base, uint64_t used, uint64_t limit)
{
	uint64_t target = limit / 2;
	u128 d;

	if (used == target)
		return base;
	if (used > target) {
		d = base * (used - target) / target / 8;
		return base + (d > 1 ? d : 1);
	}
	d = base * (target - used) / target / 8;
	return base - d;
}

/* geth legacypool: new > old and new >= old * (100 + bump) / 100 on both. */
static bool ref_replaces(u128 om, u128 op, u128 nm, u128 np, unsigned bump)
{
	if (nm <= om || np <= op)
		return false;
	return nm >= om * (100 + bump) / 100 && np >= op * (100 + bump) / 100;
}

static void test_next_base_fee(void)
{
	u256_t out, b = U(1 * GWEI);
	int i, bad = 0;

	/* Full block: +12.5%; empty: -12.5%; at target: unchanged. */
	CHECK_OK(gas_next_base_fee(&b, 30000000, 30000000, &out));
	CHECK(eq128(&out, 1125000000));
	CHECK_OK(gas_next_base_fee(&b, 0, 30000000, &out));
	CHECK(eq128(&out, 875000000));
	CHECK_OK(gas_next_base_fee(&b, 15000000, 30000000, &out));
	CHECK(eq128(&out, 1000000000));
	/* One gas above target: 1e9 * 1 / 15e6 / 8 = 8 wei; for a base of 100
	 * wei the delta floors to 0 and is raised to the minimum of 1. */
	CHECK_OK(gas_next_base_fee(&b, 15000001, 30000000, &out));
	CHECK(eq128(&out, 1000000008));
	b = U(100);
	CHECK_OK(gas_next_base_fee(&b, 15000001, 30000000, &out));
	CHECK(eq128(&out, 101));
	/* A base fee of 7 wei (the floor it decays to) in an empty block: 7 *
	 * 15e6 / 15e6 / 8 = 0, so it stays 7. */
	b = U(7);
	CHECK_OK(gas_next_base_fee(&b, 0, 30000000, &out));
	CHECK(eq128(&out, 7));
	CHECK_ERR(gas_next_base_fee(&b, 2, 1, &out), KERR_ARG);
	CHECK_ERR(gas_next_base_fee(&b, 31, 30, &out), KERR_ARG);
	/* 2^256 - 1 in a full block overflows. */
	memset(&b, 0xff, sizeof b);
	CHECK_ERR(gas_next_base_fee(&b, 30000000, 30000000, &out), KERR_NUM_OVERFLOW);

	for (i = 0; i < 100000; i++) {
		uint64_t limit = 2 + rnd() % 60000000, used = rnd() % (limit + 1);
		u128 base = rnd() % (i % 2 ? 1000 * GWEI : 100);

		b = U((uint64_t)base);
		if (gas_next_base_fee(&b, used, limit, &out) != KERR_OK ||
		    !eq128(&out, ref_next_base(base, used, limit)))
			bad++;
	}
	printf("    next base fee: 100000 random (base, used, limit) vs the EIP's formula: %d wrong\n",
	       bad);
	CHECK_EQ_INT(bad, 0);
}

static void test_replacement_rule(void)
{
	static const uint64_t edge[] = { 0, 1, 2, 9, 10, 11, 99, 100, 101, 109, 110, 111,
					 999, 1000, 1100, 1101, GWEI, 1100000000ULL };
	size_t i, j, k, l;
	int bad = 0, n = 0;

	for (i = 0; i < sizeof edge / sizeof *edge; i++)
		for (j = 0; j < sizeof edge / sizeof *edge; j++)
			for (k = 0; k < sizeof edge / sizeof *edge; k += 3)
				for (l = 0; l < sizeof edge / sizeof *edge; l += 3) {
					gas_fees_t o = F(edge[i], edge[k]), x = F(edge[j], edge[l]);

					n++;
					if (gas_replaces(&o, &x, 10) !=
					    ref_replaces(edge[i], edge[k], edge[j], edge[l], 10))
						bad++;
				}
	/* The worked cases: 100 -> 110 passes, 109 does not; 0 -> 1 passes
	 * (strictly greater; the threshold is 0); equal never does. */
	{
		gas_fees_t o = F(100, 100), a = F(110, 110), b = F(109, 110), c = F(110, 109);
		gas_fees_t z = F(0, 0), one = F(1, 1);

		CHECK(gas_replaces(&o, &a, 10));
		CHECK(!gas_replaces(&o, &b, 10));
		CHECK(!gas_replaces(&o, &c, 10));
		CHECK(gas_replaces(&z, &one, 10));
		CHECK(!gas_replaces(&o, &o, 10));
	}
	for (i = 0; i < 200000; i++) {
		uint64_t om = rnd() >> (rnd() % 64), op = rnd() >> (rnd() % 64);
		uint64_t nm = om + (rnd() % (om / 5 + 3)), np = op + (rnd() % (op / 5 + 3));
		gas_fees_t o = F(om, op), x = F(nm, np);

		n++;
		if (gas_replaces(&o, &x, 10) != ref_replaces(om, op, nm, np, 10))
			bad++;
	}
	/* Near 2^256: the threshold of 2^256 - 1 exceeds 2^256, nothing clears. */
	{
		gas_fees_t o, x;

		memset(&o, 0xff, sizeof o);
		x = o;
		CHECK(!gas_replaces(&o, &x, 10));
	}
	printf("    replacement rule: %d (old, new) pairs vs geth's integer formula: %d wrong\n", n, bad);
	CHECK_EQ_INT(bad, 0);
}

static void test_bump(void)
{
	static const double bumps[] = { 10, 12.5, 15, 33.333333, 100, 1000 };
	u256_t cap;
	gas_fees_t o, x;
	bool capped;
	int i, bad = 0, rule = 0;

	memset(&cap, 0xff, sizeof cap);
	/* 12.5% of 1 gwei / 2 gwei, rounded up: exact here. */
	o = F(2 * GWEI, 1 * GWEI);
	CHECK_OK(gas_bump(&o, 12.5, &cap, &x, &capped));
	CHECK(eq128(&x.max_fee, 2250000000) && eq128(&x.priority_fee, 1125000000) && !capped);
	/* 12.5% of 7 wei = 7.875 -> 8 (ceil); of 1 wei = 1.125 -> 2; of 0 -> 1
	 * (at least +1 wei, or the node's "strictly greater" fails). */
	o = F(7, 1);
	CHECK_OK(gas_bump(&o, 12.5, &cap, &x, &capped));
	CHECK(eq128(&x.max_fee, 8) && eq128(&x.priority_fee, 2));
	o = F(1, 0);
	CHECK_OK(gas_bump(&o, 12.5, &cap, &x, &capped));
	CHECK(eq128(&x.max_fee, 2) && eq128(&x.priority_fee, 1));
	CHECK(gas_replaces(&o, &x, 10));
	CHECK_ERR(gas_bump(&o, 0, &cap, &x, &capped), KERR_ARG);
	CHECK_ERR(gas_bump(&o, -5, &cap, &x, &capped), KERR_ARG);
	CHECK_ERR(gas_bump(&o, NAN, &cap, &x, &capped), KERR_ARG);

	for (i = 0; i < 100000; i++) {
		double bp = bumps[i % 6];
		uint64_t m = rnd() >> (rnd() % 64), p = rnd() >> (rnd() % 64);
		uint64_t scaled = (uint64_t)(bp * 1000000 + 0.5);   /* 1e-6 percent */
		u128 want_m = ((u128)m * (100000000 + scaled) + 99999999) / 100000000;
		u128 want_p = ((u128)p * (100000000 + scaled) + 99999999) / 100000000;

		if (want_m < (u128)m + 1)
			want_m = (u128)m + 1;
		if (want_p < (u128)p + 1)
			want_p = (u128)p + 1;
		if (want_p > want_m)   /* the tip is clamped to the fee cap */
			want_p = want_m;
		o = F(m, p);
		if (gas_bump(&o, bp, &cap, &x, &capped) != KERR_OK ||
		    !eq128(&x.max_fee, want_m) || !eq128(&x.priority_fee, want_p))
			bad++;
		/* With p <= m (every real bid), each bump >= 10% clears the rule. */
		if (p <= m && !gas_replaces(&o, &x, 10))
			rule++;
	}
	printf("    bump: 100000 random bids x bump 10..1000%%: %d differ from ceil(x*(1+b)), "
	       "%d fail the node rule\n", bad, rule);
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(rule, 0);
}

/* Escalation from 1 gwei under a 100 gwei cap: every step clears the node
 * rule, no step passes the cap, and at the cap it holds and says so. */
static void test_escalate_cap(void)
{
	config_gas_t g = G(CONFIG_GAS_ESCALATE, 100 * GWEI);
	const gas_strategy_t *s = gas_strategy(CONFIG_GAS_ESCALATE);
	gas_market_t m;
	gas_fees_t cur = F(1 * GWEI, 1 * GWEI / 10);
	gas_quote_t q;
	int steps = 0, over = 0, rule = 0;

	memset(&m, 0, sizeof m);
	g.bump_pct = 12.5;
	for (;;) {
		CHECK_OK(s->replace(&g, &m, &cur, &q));
		if (q.verdict == GAS_HOLD)
			break;
		if (u256_cmp(&q.fees.max_fee, &g.max_fee) > 0 ||
		    u256_cmp(&q.fees.priority_fee, &q.fees.max_fee) > 0)
			over++;
		if (!gas_replaces(&cur, &q.fees, 10))
			rule++;
		cur = q.fees;
		if (++steps > 1000)
			break;
	}
	printf("    escalate 1 gwei -> cap 100 gwei at 12.5%%: %d replacements, last %llu wei, "
	       "%d over the cap, %d failing the node rule\n",
	       steps, (unsigned long long)cur.max_fee.w[0], over, rule);
	/* After 39 bumps the bid is 98.84 gwei (1.125^39 with rounding up);
	 * the 40th would be 111.2, cut to the cap of 100, which is less than
	 * +10% over 98.84: the node would refuse it, so keeper holds. */
	CHECK_EQ_INT(steps, 39);
	CHECK(eq128(&cur.max_fee, 98843559446ULL));
	CHECK(q.verdict == GAS_HOLD && q.capped);
	CHECK_EQ_INT(over, 0);
	CHECK_EQ_INT(rule, 0);
	/* Whatever the previous bid (even one above the cap, as a hand-made
	 * state file could hold), no quote exceeds the cap. */
	cur = F(1110001 * GWEI, 1110001 * GWEI);
	CHECK_OK(s->replace(&g, &m, &cur, &q));
	CHECK(q.verdict == GAS_HOLD && q.capped);
}

static void test_fixed(void)
{
	config_gas_t g = G(CONFIG_GAS_FIXED, 80 * GWEI);
	const gas_strategy_t *s = gas_strategy_find("fixed");
	gas_market_t m;
	gas_quote_t q;
	gas_fees_t prev = F(80 * GWEI, 1500000000);

	memset(&m, 0, sizeof m);
	g.priority_fee = U(1500000000);   /* 1.5 gwei */
	CHECK(s != NULL && s->id == CONFIG_GAS_FIXED);
	CHECK_OK(s->initial(&g, &m, &q));
	CHECK(q.verdict == GAS_SEND && !q.capped);
	CHECK(eq128(&q.fees.max_fee, 80 * GWEI) && eq128(&q.fees.priority_fee, 1500000000));
	CHECK_OK(s->replace(&g, &m, &prev, &q));
	CHECK(q.verdict == GAS_HOLD);
	/* A tip above the cap is clamped to it, and flagged. */
	g.priority_fee = U(90 * GWEI);
	CHECK_OK(s->initial(&g, &m, &q));
	CHECK(eq128(&q.fees.priority_fee, 80 * GWEI) && q.capped);
}

static void test_eip1559(void)
{
	config_gas_t g = G(CONFIG_GAS_EIP1559, 200 * GWEI);
	const gas_strategy_t *s = gas_strategy(CONFIG_GAS_EIP1559);
	u256_t rw[5] = { U(3 * GWEI), U(1 * GWEI), U(2 * GWEI), U(50 * GWEI), U(2 * GWEI) };
	gas_market_t m;
	gas_quote_t q;
	gas_fees_t prev;

	memset(&m, 0, sizeof m);
	g.base_multiplier = 2.0;
	g.priority_fee = U(GWEI / 10);
	m.has_head = true;
	m.base_fee = U(30 * GWEI);
	m.gas_used = 30000000;
	m.gas_limit = 30000000;
	m.rewards = rw;
	m.nrewards = 5;
	/* Next base 33.75 gwei (full block), x2 = 67.5, + median tip 2 gwei
	 * (the 50 gwei outlier does not move a median) = 69.5 gwei. */
	CHECK_OK(s->initial(&g, &m, &q));
	CHECK(eq128(&q.fees.max_fee, 69500000000ULL) && eq128(&q.fees.priority_fee, 2 * GWEI));
	CHECK(!q.capped);
	/* The floor wins over a lower market tip. */
	g.priority_fee = U(5 * GWEI);
	CHECK_OK(s->initial(&g, &m, &q));
	CHECK(eq128(&q.fees.priority_fee, 5 * GWEI) && eq128(&q.fees.max_fee, 72500000000ULL));
	/* Multiplier 1.5: ceil(33.75 * 1.5) = 50.625 gwei + 5. */
	g.base_multiplier = 1.5;
	CHECK_OK(s->initial(&g, &m, &q));
	CHECK(eq128(&q.fees.max_fee, 55625000000ULL));
	/* Replacement only when the new quote clears +10% on both. */
	prev = q.fees;
	CHECK_OK(s->replace(&g, &m, &prev, &q));
	CHECK(q.verdict == GAS_HOLD);
	m.base_fee = U(60 * GWEI);
	g.priority_fee = U(6 * GWEI);
	CHECK_OK(s->replace(&g, &m, &prev, &q));
	CHECK(q.verdict == GAS_SEND && gas_replaces(&prev, &q.fees, 10));
	/* Base fee beyond the cap: the cap, flagged. */
	m.base_fee = U(500 * GWEI);
	CHECK_OK(s->initial(&g, &m, &q));
	CHECK(eq128(&q.fees.max_fee, 200 * GWEI) && q.capped);
	/* No head: the cap is the max fee, the tip from history. */
	m.has_head = false;
	CHECK_OK(s->initial(&g, &m, &q));
	CHECK(eq128(&q.fees.max_fee, 200 * GWEI) && eq128(&q.fees.priority_fee, 6 * GWEI));
	CHECK(!q.capped);
}

static void test_outbid(void)
{
	config_gas_t g = G(CONFIG_GAS_OUTBID, 150 * GWEI);
	const gas_strategy_t *s = gas_strategy(CONFIG_GAS_OUTBID);
	gas_market_t m;
	gas_quote_t q;
	u256_t next;
	int i, notahead = 0, over = 0;

	memset(&m, 0, sizeof m);
	g.bump_pct = 12.5;
	m.has_head = true;
	m.base_fee = U(10 * GWEI);
	m.gas_used = 15000000;
	m.gas_limit = 30000000;
	/* The attacker: type 2, tip 3 gwei, max 40 gwei -> ours 3.375 / 45. */
	m.has_rival = true;
	m.rival = F(40 * GWEI, 3 * GWEI);
	CHECK_OK(s->initial(&g, &m, &q));
	CHECK(eq128(&q.fees.priority_fee, 3375000000ULL) && eq128(&q.fees.max_fee, 45 * GWEI));
	/* A legacy attacker at 12 gwei gas price: both fields from it; the max
	 * fee is raised to next base (10) + our tip (13.5) = 23.5 gwei. */
	m.rival = F(12 * GWEI, 12 * GWEI);
	CHECK_OK(s->initial(&g, &m, &q));
	CHECK(eq128(&q.fees.priority_fee, 13500000000ULL) && eq128(&q.fees.max_fee, 23500000000ULL));
	/* A 1-wei rival: +1 wei each, not 1.125 rounded to 2 only by luck. */
	m.rival = F(1, 0);
	m.has_head = false;
	CHECK_OK(s->initial(&g, &m, &q));
	CHECK(eq128(&q.fees.priority_fee, 1) && eq128(&q.fees.max_fee, 2));
	/* A rival above the cap: quote the cap, flagged. */
	m.rival = F(1000 * GWEI, 1000 * GWEI);
	CHECK_OK(s->initial(&g, &m, &q));
	CHECK(eq128(&q.fees.max_fee, 150 * GWEI) && eq128(&q.fees.priority_fee, 150 * GWEI) &&
	      q.capped);
	/* Random rivals under the cap: ours is strictly ahead in a block
	 * ordered by effective tip min(tip, max - base), and never above it. */
	m.has_head = true;
	for (i = 0; i < 100000; i++) {
		uint64_t base = rnd() % (50 * GWEI), rmax = base + rnd() % (80 * GWEI);
		uint64_t rtip = rnd() % (rmax + 1);
		u128 theirs, ours;

		m.base_fee = U(base);
		m.rival = F(rmax, rtip);
		CHECK_OK(s->initial(&g, &m, &q));
		CHECK_OK(gas_next_base_fee(&m.base_fee, m.gas_used, m.gas_limit, &next));
		if (u256_cmp(&q.fees.max_fee, &g.max_fee) > 0)
			over++;
		theirs = (u128)rmax - base < rtip ? (u128)rmax - base : rtip;
		ours = to128(&q.fees.max_fee) - base < to128(&q.fees.priority_fee)
			       ? to128(&q.fees.max_fee) - base
			       : to128(&q.fees.priority_fee);
		if (!q.capped && ours <= theirs)
			notahead++;
	}
	printf("    outbid: 100000 random rivals under a 150 gwei cap: %d not strictly ahead, "
	       "%d over the cap\n", notahead, over);
	CHECK_EQ_INT(notahead, 0);
	CHECK_EQ_INT(over, 0);
	/* No rival: eip1559 with its defaults; a replacement holds. */
	m.has_rival = false;
	m.base_fee = U(10 * GWEI);
	CHECK_OK(s->initial(&g, &m, &q));
	CHECK(eq128(&q.fees.max_fee, 20 * GWEI) && eq128(&q.fees.priority_fee, 0));
	{
		gas_fees_t prev = q.fees;

		CHECK_OK(s->replace(&g, &m, &prev, &q));
		CHECK(q.verdict == GAS_HOLD);
	}
}

static void test_private_and_names(void)
{
	config_gas_t g = G(CONFIG_GAS_PRIVATE, 150 * GWEI);
	const gas_strategy_t *s = gas_strategy(CONFIG_GAS_PRIVATE);
	gas_market_t m;
	gas_quote_t q;
	gas_fees_t prev;
	int i;

	memset(&m, 0, sizeof m);
	m.has_head = true;
	m.base_fee = U(10 * GWEI);
	m.gas_used = 15000000;
	m.gas_limit = 30000000;
	CHECK_OK(s->initial(&g, &m, &q));
	CHECK(eq128(&q.fees.max_fee, 20 * GWEI));
	prev = q.fees;
	CHECK_OK(s->replace(&g, &m, &prev, &q));
	CHECK(q.verdict == GAS_HOLD);
	/* The next block's bundle follows the market down as well as up. */
	m.base_fee = U(9 * GWEI);
	CHECK_OK(s->replace(&g, &m, &prev, &q));
	CHECK(q.verdict == GAS_SEND && eq128(&q.fees.max_fee, 18 * GWEI));
	for (i = 0; i < CONFIG_GAS_STRATEGIES; i++) {
		const gas_strategy_t *t = gas_strategy((config_gas_strategy_t)i);

		CHECK(t != NULL && gas_strategy_find(t->name) == t);
		CHECK_EQ_STR(t->name, config_gas_strategy_name((config_gas_strategy_t)i));
	}
	CHECK(gas_strategy_find("yolo") == NULL);
	CHECK(gas_strategy((config_gas_strategy_t)CONFIG_GAS_STRATEGIES) == NULL);
}

static void test_median(void)
{
	u256_t v[6] = { U(5), U(1), U(4), U(4), U(9), U(2) }, out;

	gas_median(v, 0, &out);
	CHECK(eq128(&out, 0));
	gas_median(v, 1, &out);
	CHECK(eq128(&out, 5));
	gas_median(v, 5, &out);     /* 1 4 4 5 9 */
	CHECK(eq128(&out, 4));
	gas_median(v, 6, &out);     /* 1 2 4 4 5 9: lower middle */
	CHECK(eq128(&out, 4));
	gas_median(v, 2, &out);     /* 1 5 */
	CHECK(eq128(&out, 1));
}

int main(void)
{
	RUN(test_next_base_fee);
	RUN(test_replacement_rule);
	RUN(test_bump);
	RUN(test_escalate_cap);
	RUN(test_fixed);
	RUN(test_eip1559);
	RUN(test_outbid);
	RUN(test_private_and_names);
	RUN(test_median);
	return t_done();
}
