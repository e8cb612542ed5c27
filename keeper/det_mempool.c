/*
 * det_mempool: matching and judging pending transactions (see
 * det_mempool.h).
 */
#include "keeper/det_mempool.h"

#include <math.h>
#include <string.h>

kerr_t det_mempool_init(det_mempool_t *d, const config_trigger_t *cfg)
{
	if (!d || !cfg || cfg->kind != CONFIG_TRIGGER_MEMPOOL || !cfg->watch ||
	    !(cfg->threshold_pct > 0) || !(cfg->threshold_pct <= 100) ||
	    (cfg->nselectors && !cfg->selectors) || (cfg->nallow && !cfg->allow))
		return KERR_ARG;
	memset(d, 0, sizeof *d);
	d->cfg = cfg;
	d->pct_micro = (uint64_t)llround(cfg->threshold_pct * DET_MEMPOOL_PCT_SCALE);
	if (d->pct_micro == 0)
		d->pct_micro = 1;    /* below 1e-6 %: any loss */
	detect_trigger_init(&d->tr, cfg, DETECT_UNIT_PCT);
	return KERR_OK;
}

bool det_mempool_match(det_mempool_t *d, const event_tx_t *tx)
{
	const config_trigger_t *c = d->cfg;

	d->st.seen++;
	if (!tx->full) {
		d->st.hash_only++;
		return false;
	}
	if (!tx->has_to) {
		d->st.creations++;
		return false;
	}
	if (!addr_eq(&tx->to, &c->watch->address)) {
		d->st.other_to++;
		return false;
	}
	if (c->nselectors) {
		uint8_t sel[4];
		size_t i;
		kerr_t err = event_hex_selector(&tx->input, sel);

		if (err == KERR_TRUNCATED) {
			d->st.selector_miss++;
			return false;
		}
		if (err) {
			d->st.bad_input++;
			return false;
		}
		for (i = 0; i < c->nselectors && memcmp(c->selectors[i], sel, 4) != 0; i++)
			;
		if (i == c->nselectors) {
			d->st.selector_miss++;
			return false;
		}
	}
	for (size_t i = 0; i < c->nallow; i++) {
		if (addr_eq(&tx->from, &c->allow[i])) {
			d->st.allowed++;
			return false;
		}
	}
	d->st.matched++;
	return true;
}

static double u256_dbl(const u256_t *a)
{
	return ldexp((double)a->w[3], 192) + ldexp((double)a->w[2], 128) +
	       ldexp((double)a->w[1], 64) + (double)a->w[0];
}

/* 100 * loss / before, for the report (the trip decision is exact). */
static double pct_of(const u256_t *loss, const u256_t *before)
{
	return u256_dbl(loss) / u256_dbl(before) * 100.0;
}

/* Whether asset a's loss reaches the threshold. */
static bool over(const det_mempool_t *d, const sim_asset_t *a)
{
	u256_t limit;

	if (!a->known || !a->has_balance || u256_is_zero(&a->loss) ||
	    u256_is_zero(&a->before))
		return false;
	/* ceil(before * pct_micro / (100 * scale)); the product cannot lose
	 * bits (muldiv keeps 512), and pct <= 100 keeps the result in range. */
	if (u256_muldiv_ceil(&limit, &a->before, d->pct_micro,
			     100ull * DET_MEMPOOL_PCT_SCALE))
		return false;
	return u256_cmp(&a->loss, &limit) >= 0;
}

static void fill_tx(detect_trip_t *out, const event_tx_t *tx)
{
	out->has_tx = true;
	memcpy(out->tx_hash, tx->hash, 32);
	out->tx_from = tx->from;
	out->tx_type = tx->type;
	if (tx->has_gas_price)
		out->tx_gas_price = tx->gas_price;
	else
		u256_zero(&out->tx_gas_price);
	out->tx_max_fee = tx->max_fee;
	out->tx_max_priority_fee = tx->max_priority_fee;
}

/* The worst case: a match alone, everything assumed at risk. */
static bool judge_worst(det_mempool_t *d, const event_tx_t *tx, int64_t t_ms,
			detect_trip_t *out)
{
	d->st.judged++;
	d->st.over++;
	if (!detect_trigger_feed(&d->tr, t_ms, true, 100.0, d->cfg->threshold_pct, out))
		return false;
	d->st.tripped++;
	if (out)
		fill_tx(out, tx);
	return true;
}

bool det_mempool_unsimulable(kerr_t err)
{
	/* Every limit the transaction can push the simulation past ends in
	 * KERR_TOO_LONG (sim.h, "Bounds"); transport and node failures have
	 * codes of their own. */
	return err == KERR_TOO_LONG;
}

bool det_mempool_judge_failed(det_mempool_t *d, const event_tx_t *tx, kerr_t err,
			      int64_t t_ms, detect_trip_t *out)
{
	if (!det_mempool_unsimulable(err)) {
		d->st.sim_failed++;
		return false;
	}
	d->st.unsimulable++;
	return judge_worst(d, tx, t_ms, out);
}

bool det_mempool_judge(det_mempool_t *d, const event_tx_t *tx,
		       const sim_result_t *r, int64_t t_ms, detect_trip_t *out)
{
	const double thr = d->cfg->threshold_pct;
	const sim_asset_t *best = NULL;
	double value = 0;
	bool cond = false;

	if (!r)
		return judge_worst(d, tx, t_ms, out);
	if (r->watch != d->cfg->watch || memcmp(r->hash, tx->hash, 32) != 0 ||
	    r->nassets > SIM_MAX_ASSETS) {
		d->st.sim_failed++;
		return false;
	}
	if (r->err)
		return det_mempool_judge_failed(d, tx, r->err, t_ms, out);
	if (r->reverted)
		d->st.reverted++;
	for (size_t i = 0; i < r->nassets; i++) {
		const sim_asset_t *a = &r->asset[i];
		double p;

		if (!a->known) {
			d->st.unknown++;
			continue;
		}
		if (r->reverted || !a->has_balance || u256_is_zero(&a->before))
			continue;
		p = pct_of(&a->loss, &a->before);
		if (over(d, a)) {
			/* the most severe tripping asset is the one reported */
			if (!cond || p > value) {
				best = a;
				value = p;
			}
			cond = true;
		} else if (!cond && p > value) {
			value = p;
		}
	}
	d->st.judged++;
	if (cond)
		d->st.over++;
	else
		d->st.below++;
	if (!detect_trigger_feed(&d->tr, t_ms, cond, value, thr, out))
		return false;
	d->st.tripped++;
	if (out) {
		fill_tx(out, tx);
		out->has_amount = true;
		out->amount = best->loss;
		out->has_token = true;
		out->token = best->token;
	}
	return true;
}

const det_mempool_stats_t *det_mempool_stats(const det_mempool_t *d)
{
	return &d->st;
}
