/*
 * gas: the gas-bidding strategies.  See gas.h for the rules; the comments
 * here say why the arithmetic is done the way it is.
 */
#include "strategies/gas.h"

#include <math.h>
#include <string.h>

/* Percentages and multipliers are fixed-point to 1e-6 so that 12.5% is
 * exact and no double ever touches a fee. */
#define SCALE 100000000ULL   /* 100% in 1e-6 percent */
#define MULT_SCALE 1000000ULL

static const u256_t *max_u(const u256_t *a, const u256_t *b)
{
	return u256_cmp(a, b) >= 0 ? a : b;
}

/* Scaled integer of a non-negative double, rounded to nearest; false when
 * it is not finite, negative or too large to be a sensible setting. */
static bool fixed_point(double v, uint64_t scale, uint64_t *out)
{
	double x;

	if (!isfinite(v) || v < 0)
		return false;
	x = v * (double)scale + 0.5;
	if (x >= 1e18)
		return false;
	*out = (uint64_t)x;
	return true;
}

/* Clamp to the cap: max_fee <= cap, priority <= max_fee. */
static void clamp(gas_fees_t *f, const u256_t *cap, bool *capped)
{
	if (u256_cmp(&f->max_fee, cap) > 0) {
		f->max_fee = *cap;
		*capped = true;
	}
	if (u256_cmp(&f->priority_fee, &f->max_fee) > 0) {
		/* A tip above the fee cap is not a bid any node accepts
		 * (geth: "max priority fee per gas higher than max fee"). */
		if (u256_cmp(&f->priority_fee, cap) > 0)
			*capped = true;
		f->priority_fee = f->max_fee;
	}
}

kerr_t gas_next_base_fee(const u256_t *base, uint64_t gas_used,
			 uint64_t gas_limit, u256_t *out)
{
	uint64_t target, diff;
	u256_t delta;
	kerr_t err;

	if (gas_limit < GAS_ELASTICITY || gas_used > gas_limit)
		return KERR_ARG;
	target = gas_limit / GAS_ELASTICITY;
	if (gas_used == target) {
		*out = *base;
		return KERR_OK;
	}
	diff = gas_used > target ? gas_used - target : target - gas_used;
	/* base * diff / target / 8, both divisions floored as the EIP writes
	 * them (floor(floor(a / b) / c) equals floor(a / (b * c)), but b * c
	 * could overflow 64 bits, so divide twice). */
	if ((err = u256_mul_u64(&delta, base, diff)) != KERR_OK)
		return err;
	if ((err = u256_div_u64(&delta, &delta, target, NULL)) != KERR_OK)
		return err;
	if ((err = u256_div_u64(&delta, &delta, GAS_BASE_FEE_CHANGE_DENOM, NULL)) != KERR_OK)
		return err;
	if (gas_used > target) {
		u256_t one;

		u256_from_u64(&one, 1);
		return u256_add(out, base, max_u(&delta, &one));
	}
	return u256_sub(out, base, &delta);
}

/* y > x and y >= floor(x * (100 + bump) / 100): y may replace x. */
static bool clears(const u256_t *x, const u256_t *y, unsigned bump_pct)
{
	u256_t q, t, frac;
	uint64_t r;

	if (u256_cmp(y, x) <= 0)
		return false;
	/* With x = 100q + r, floor(x * (100 + b) / 100) = x + q*b +
	 * floor(r*b / 100) exactly, and no intermediate exceeds the result,
	 * so an overflow means a threshold above 2^256 - 1 that no y meets. */
	(void)u256_div_u64(&q, x, 100, &r);
	if (u256_mul_u64(&t, &q, bump_pct) != KERR_OK)
		return false;
	u256_from_u64(&frac, r * bump_pct / 100);
	if (u256_add(&t, &t, &frac) != KERR_OK || u256_add(&t, &t, x) != KERR_OK)
		return false;
	return u256_cmp(y, &t) >= 0;
}

bool gas_replaces(const gas_fees_t *prev, const gas_fees_t *next,
		  unsigned bump_pct)
{
	return clears(&prev->max_fee, &next->max_fee, bump_pct) &&
	       clears(&prev->priority_fee, &next->priority_fee, bump_pct);
}

/* x raised by bump (1e-6 percent units): ceil(x * (SCALE + bump) / SCALE),
 * at least x + 1. */
static kerr_t raise(const u256_t *x, uint64_t bump, u256_t *out)
{
	u256_t plus1, one;
	kerr_t err;

	if ((err = u256_muldiv_ceil(out, x, SCALE + bump, SCALE)) != KERR_OK)
		return err;
	u256_from_u64(&one, 1);
	if ((err = u256_add(&plus1, x, &one)) != KERR_OK)
		return err;
	if (u256_cmp(out, &plus1) < 0)
		*out = plus1;
	return KERR_OK;
}

kerr_t gas_bump(const gas_fees_t *prev, double bump_pct, const u256_t *cap,
		gas_fees_t *out, bool *capped)
{
	uint64_t b;
	kerr_t err;

	if (!fixed_point(bump_pct, SCALE / 100, &b) || b == 0)
		return KERR_ARG;
	*capped = false;
	if ((err = raise(&prev->max_fee, b, &out->max_fee)) != KERR_OK)
		return err;
	if ((err = raise(&prev->priority_fee, b, &out->priority_fee)) != KERR_OK)
		return err;
	clamp(out, cap, capped);
	return KERR_OK;
}

void gas_median(const u256_t *v, size_t n, u256_t *out)
{
	/* Selection by counting: n is at most GAS_MAX_HISTORY and this runs
	 * once per head, so O(n^2) without a scratch buffer is the simple
	 * choice.  The element of rank (n - 1) / 2 is the one with fewer than
	 * or equal to that many smaller elements and more than that many
	 * smaller-or-equal ones. */
	size_t k, i, j;

	u256_zero(out);
	if (n == 0)
		return;
	k = (n - 1) / 2;
	for (i = 0; i < n; i++) {
		size_t less = 0, le = 0;

		for (j = 0; j < n; j++) {
			int c = u256_cmp(&v[j], &v[i]);

			less += c < 0;
			le += c <= 0;
		}
		if (less <= k && k < le) {
			*out = v[i];
			return;
		}
	}
}

/* The eip1559 bid with the given multiplier and floor. */
static kerr_t quote_1559(const config_gas_t *g, const gas_market_t *m,
			 double multiplier, const u256_t *floor,
			 gas_quote_t *out)
{
	u256_t med, next;
	uint64_t mult;
	kerr_t err;

	memset(out, 0, sizeof *out);
	out->verdict = GAS_SEND;
	if (m->nrewards > GAS_MAX_HISTORY || (m->nrewards && !m->rewards))
		return KERR_ARG;
	gas_median(m->rewards, m->nrewards, &med);
	out->fees.priority_fee = *max_u(&med, floor);
	if (!m->has_head) {
		/* No base fee known: the cap is the only safe ceiling. */
		out->fees.max_fee = g->max_fee;
	} else {
		if (!fixed_point(multiplier, MULT_SCALE, &mult) || mult < MULT_SCALE)
			return KERR_ARG;
		if ((err = gas_next_base_fee(&m->base_fee, m->gas_used, m->gas_limit,
					     &next)) != KERR_OK)
			return err;
		err = u256_muldiv_ceil(&out->fees.max_fee, &next, mult, MULT_SCALE);
		if (err == KERR_OK)
			err = u256_add(&out->fees.max_fee, &out->fees.max_fee,
				       &out->fees.priority_fee);
		if (err == KERR_NUM_OVERFLOW)
			out->fees.max_fee = g->max_fee, out->capped = true;
		else if (err != KERR_OK)
			return err;
	}
	clamp(&out->fees, &g->max_fee, &out->capped);
	return KERR_OK;
}

static kerr_t default_1559(const config_gas_t *g, const gas_market_t *m,
			   gas_quote_t *out)
{
	u256_t zero;

	u256_zero(&zero);
	return quote_1559(g, m, 2.0, &zero, out);
}

/* ---- fixed ------------------------------------------------------------- */

static kerr_t fixed_initial(const config_gas_t *g, const gas_market_t *m,
			    gas_quote_t *out)
{
	(void)m;
	memset(out, 0, sizeof *out);
	out->verdict = GAS_SEND;
	out->fees.max_fee = g->max_fee;
	out->fees.priority_fee = g->priority_fee;
	clamp(&out->fees, &g->max_fee, &out->capped);
	return KERR_OK;
}

static kerr_t hold(const gas_fees_t *prev, gas_quote_t *out)
{
	memset(out, 0, sizeof *out);
	out->verdict = GAS_HOLD;
	out->fees = *prev;
	return KERR_OK;
}

static kerr_t fixed_replace(const config_gas_t *g, const gas_market_t *m,
			    const gas_fees_t *prev, gas_quote_t *out)
{
	(void)g, (void)m;
	return hold(prev, out);
}

/* ---- eip1559 ----------------------------------------------------------- */

static kerr_t eip1559_initial(const config_gas_t *g, const gas_market_t *m,
			      gas_quote_t *out)
{
	return quote_1559(g, m, g->base_multiplier > 0 ? g->base_multiplier : 2.0,
			  &g->priority_fee, out);
}

static kerr_t eip1559_replace(const config_gas_t *g, const gas_market_t *m,
			      const gas_fees_t *prev, gas_quote_t *out)
{
	kerr_t err = eip1559_initial(g, m, out);

	if (err != KERR_OK)
		return err;
	if (!gas_replaces(prev, &out->fees, GAS_NODE_BUMP_PCT)) {
		bool capped = out->capped;

		hold(prev, out);
		out->capped = capped;
	}
	return KERR_OK;
}

/* ---- outbid ------------------------------------------------------------ */

static kerr_t outbid_initial(const config_gas_t *g, const gas_market_t *m,
			     gas_quote_t *out)
{
	u256_t next, need;
	uint64_t b;
	kerr_t err;

	if (!m->has_rival)
		return default_1559(g, m, out);
	if (!fixed_point(g->bump_pct > 0 ? g->bump_pct : 12.5, SCALE / 100, &b) || b == 0)
		return KERR_ARG;
	memset(out, 0, sizeof *out);
	out->verdict = GAS_SEND;
	if ((err = raise(&m->rival.priority_fee, b, &out->fees.priority_fee)) != KERR_OK ||
	    (err = raise(&m->rival.max_fee, b, &out->fees.max_fee)) != KERR_OK) {
		if (err != KERR_NUM_OVERFLOW)
			return err;
		/* A rival bidding near 2^256 wei is beyond any cap. */
		out->fees.max_fee = g->max_fee;
		out->fees.priority_fee = g->max_fee;
		out->capped = true;
		return KERR_OK;
	}
	if (m->has_head &&
	    gas_next_base_fee(&m->base_fee, m->gas_used, m->gas_limit, &next) == KERR_OK &&
	    u256_add(&need, &next, &out->fees.priority_fee) == KERR_OK &&
	    u256_cmp(&need, &out->fees.max_fee) > 0)
		out->fees.max_fee = need;
	clamp(&out->fees, &g->max_fee, &out->capped);
	return KERR_OK;
}

static kerr_t outbid_replace(const config_gas_t *g, const gas_market_t *m,
			     const gas_fees_t *prev, gas_quote_t *out)
{
	(void)g, (void)m;
	return hold(prev, out);
}

/* ---- escalate ---------------------------------------------------------- */

static kerr_t escalate_replace(const config_gas_t *g, const gas_market_t *m,
			       const gas_fees_t *prev, gas_quote_t *out)
{
	gas_fees_t next;
	bool capped;
	kerr_t err;

	(void)m;
	if ((err = gas_bump(prev, g->bump_pct > 0 ? g->bump_pct : 12.5, &g->max_fee,
			    &next, &capped)) != KERR_OK)
		return err;
	if (!gas_replaces(prev, &next, GAS_NODE_BUMP_PCT)) {
		/* Only the cap can make a >= 10% bump fail the rule. */
		hold(prev, out);
		out->capped = true;
		return KERR_OK;
	}
	memset(out, 0, sizeof *out);
	out->verdict = GAS_SEND;
	out->fees = next;
	out->capped = capped;
	return KERR_OK;
}

/* ---- private ----------------------------------------------------------- */

static kerr_t private_replace(const config_gas_t *g, const gas_market_t *m,
			      const gas_fees_t *prev, gas_quote_t *out)
{
	kerr_t err = default_1559(g, m, out);

	if (err == KERR_OK &&
	    u256_cmp(&out->fees.max_fee, &prev->max_fee) == 0 &&
	    u256_cmp(&out->fees.priority_fee, &prev->priority_fee) == 0) {
		bool capped = out->capped;

		hold(prev, out);
		out->capped = capped;
	}
	return err;
}

static const gas_strategy_t strategies[CONFIG_GAS_STRATEGIES] = {
	[CONFIG_GAS_FIXED] = { CONFIG_GAS_FIXED, "fixed", fixed_initial, fixed_replace },
	[CONFIG_GAS_EIP1559] = { CONFIG_GAS_EIP1559, "eip1559", eip1559_initial, eip1559_replace },
	[CONFIG_GAS_OUTBID] = { CONFIG_GAS_OUTBID, "outbid", outbid_initial, outbid_replace },
	[CONFIG_GAS_ESCALATE] = { CONFIG_GAS_ESCALATE, "escalate", default_1559, escalate_replace },
	[CONFIG_GAS_PRIVATE] = { CONFIG_GAS_PRIVATE, "private", default_1559, private_replace },
};

const gas_strategy_t *gas_strategy(config_gas_strategy_t id)
{
	if ((unsigned)id >= CONFIG_GAS_STRATEGIES)
		return NULL;
	return &strategies[id];
}

const gas_strategy_t *gas_strategy_find(const char *name)
{
	size_t i;

	for (i = 0; i < CONFIG_GAS_STRATEGIES; i++)
		if (strcmp(strategies[i].name, name) == 0)
			return &strategies[i];
	return NULL;
}
