/*
 * liq: the candidate book (rules in liq.h).
 *
 * Accounts live in one array in the order added, found by an open-
 * addressing table of indexes keyed by the address: liq_decide looks up
 * every answer of a scan, and a linear search over tens of thousands of
 * borrowers per answer would make a scan quadratic.  Nothing is ever
 * removed, so the table needs no tombstones.  The candidates of a scan are
 * gathered into an array allocated with the book and sorted by debt.
 */
#include "strategies/liq.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY UINT32_MAX

typedef struct {
	addr_t a;
	bool in_flight;
	bool has_trip;
	int64_t last_trip_ms;
	bool running;           /* a run of liquidatable answers */
	int64_t run_start_ms;
	uint64_t run_ticks;
	uint64_t gen;           /* the liq_decide call that last saw it */
} acct_t;

/* A candidate of one scan, carrying its sort key so that qsort needs no
 * context. */
typedef struct {
	u256_t debt;
	addr_t a;
	uint32_t acct;
	uint32_t res;
} cand_t;

struct liq_book {
	const config_trigger_t *trig;
	size_t max, n;
	acct_t *acct;
	uint32_t *slot;         /* index into acct, or EMPTY */
	size_t mask;            /* slots - 1 (a power of two) */
	cand_t *cand;
	uint64_t gen;
	size_t in_flight;
	liq_stats_t st;
};

/* Addresses are keccak output: their first bytes are already uniform. */
static size_t hash_addr(const addr_t *a)
{
	uint64_t h;

	memcpy(&h, a->b, sizeof h);
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (size_t)h;
}

/* The slot of a, or the empty slot where it would go. */
static size_t find_slot(const liq_book_t *b, const addr_t *a)
{
	size_t i = hash_addr(a) & b->mask;

	while (b->slot[i] != EMPTY && !addr_eq(&b->acct[b->slot[i]].a, a))
		i = (i + 1) & b->mask;
	return i;
}

static acct_t *find(const liq_book_t *b, const addr_t *a)
{
	size_t i = find_slot(b, a);

	return b->slot[i] == EMPTY ? NULL : &b->acct[b->slot[i]];
}

kerr_t liq_new(liq_book_t **out, const config_trigger_t *trig,
	       size_t max_accounts)
{
	liq_book_t *b;
	size_t slots = 1;

	*out = NULL;
	if (!trig || trig->kind != CONFIG_TRIGGER_LIQUIDATION ||
	    max_accounts < 1 || max_accounts > LIQ_MAX_ACCOUNTS ||
	    max_accounts < trig->naccounts || trig->close_factor_pct < 1 ||
	    trig->close_factor_pct > 100)
		return KERR_ARG;
	/* At most half full: probes stay short. */
	while (slots < 2 * max_accounts)
		slots *= 2;
	if (!(b = calloc(1, sizeof *b)))
		return KERR_NOMEM;
	b->trig = trig;
	b->max = max_accounts;
	b->mask = slots - 1;
	b->acct = calloc(max_accounts, sizeof *b->acct);
	b->slot = malloc(slots * sizeof *b->slot);
	b->cand = calloc(max_accounts, sizeof *b->cand);
	if (!b->acct || !b->slot || !b->cand) {
		liq_free(b);
		return KERR_NOMEM;
	}
	for (size_t i = 0; i < slots; i++)
		b->slot[i] = EMPTY;
	for (size_t i = 0; i < trig->naccounts; i++) {
		kerr_t err = liq_add(b, &trig->accounts[i], NULL);
		/* the config refuses the zero address and repeats */
		if (err) {
			liq_free(b);
			return KERR_ARG;
		}
	}
	*out = b;
	return KERR_OK;
}

void liq_free(liq_book_t *b)
{
	if (!b)
		return;
	free(b->acct);
	free(b->slot);
	free(b->cand);
	free(b);
}

kerr_t liq_add(liq_book_t *b, const addr_t *a, bool *added)
{
	static const addr_t zero;
	size_t i;

	if (added)
		*added = false;
	if (addr_eq(a, &zero)) {
		b->st.zero++;
		return KERR_ARG;
	}
	i = find_slot(b, a);
	if (b->slot[i] != EMPTY) {
		b->st.known++;
		return KERR_OK;
	}
	if (b->n == b->max) {
		b->st.full++;
		return KERR_FULL;
	}
	memset(&b->acct[b->n], 0, sizeof b->acct[b->n]);
	b->acct[b->n].a = *a;
	b->slot[i] = (uint32_t)b->n;
	b->n++;
	b->st.added++;
	if (added)
		*added = true;
	return KERR_OK;
}

size_t liq_count(const liq_book_t *b)
{
	return b->n;
}

const addr_t *liq_account(const liq_book_t *b, size_t i)
{
	return i < b->n ? &b->acct[i].a : NULL;
}

bool liq_in_flight(const liq_book_t *b, const addr_t *a)
{
	const acct_t *x = find(b, a);

	return x && x->in_flight;
}

size_t liq_in_flight_count(const liq_book_t *b)
{
	return b->in_flight;
}

void liq_stats(const liq_book_t *b, liq_stats_t *out)
{
	*out = b->st;
}

kerr_t liq_amount(u256_t *out, const u256_t *debt, uint64_t pct)
{
	u256_t q, part;
	uint64_t r;
	kerr_t err;

	if (pct < 1 || pct > 100)
		return KERR_ARG;
	/* debt = 100q + r, so debt * pct / 100 = q * pct + r * pct / 100:
	 * neither term can overflow, since q * pct <= debt. */
	if ((err = u256_div_u64(&q, debt, 100, &r)) ||
	    (err = u256_mul_u64(&part, &q, pct)))
		return err;
	u256_from_u64(&q, r * pct / 100);
	return u256_add(out, &part, &q);
}

/* A u256 as the nearest double it rounds down to (health factors are far
 * below 2^1024, and a ratio needs no more than a double's precision). */
static double u256_double(const u256_t *v)
{
	double d = 0;

	for (int i = 3; i >= 0; i--)
		d = d * 18446744073709551616.0 + (double)v->w[i];
	return d;
}

kerr_t liq_judge_health(const config_trigger_t *trig, const uint8_t *ret,
			size_t len, bool *liquidatable, double *value)
{
	static const uint8_t zeros[31];
	size_t at = (size_t)trig->health_word * 32;
	u256_t hf, one;
	kerr_t err;

	if (len < at + 32)
		return KERR_TRUNCATED;
	ret += at;
	if (trig->liquidatable.sig) {
		if (memcmp(ret, zeros, 31) != 0 || ret[31] > 1)
			return KERR_ABI_VALUE;
		*liquidatable = ret[31] == 1;
		*value = *liquidatable ? 0 : 1;
		return KERR_OK;
	}
	if ((err = u256_from_be(&hf, ret, 32)))
		return err;
	u256_from_u64(&one, 1000000000000000000ULL);
	*liquidatable = u256_cmp(&hf, &one) < 0;
	*value = u256_double(&hf) / 1e18;
	return KERR_OK;
}

kerr_t liq_decode_debt(const uint8_t *ret, size_t len, u256_t *debt)
{
	if (len < 32)
		return KERR_TRUNCATED;
	return u256_from_be(debt, ret, 32);
}

/* The run of a's liquidatable answers, as detect.c keeps a trigger's:
 * true when it is confirmed at t. */
static bool confirmed(const config_trigger_t *trig, acct_t *x, int64_t t)
{
	if (!x->running) {
		x->running = true;
		x->run_start_ms = t;
		x->run_ticks = 0;
	}
	x->run_ticks++;
	if (trig->confirm_ms && (t < x->run_start_ms ||
				 (uint64_t)(t - x->run_start_ms) < trig->confirm_ms))
		return false;
	return !trig->confirm_ticks || x->run_ticks >= trig->confirm_ticks;
}

/* Largest debt first; ties by address. */
static int by_debt(const void *pa, const void *pb)
{
	const cand_t *a = pa, *b = pb;
	int c = u256_cmp(&b->debt, &a->debt);

	return c ? c : memcmp(a->a.b, b->a.b, sizeof a->a.b);
}

kerr_t liq_decide(liq_book_t *b, const liq_result_t *res, size_t n,
		  int64_t t_ms, detect_trip_t *trips, size_t cap,
		  size_t *ntrips)
{
	const config_trigger_t *trig = b->trig;
	size_t nc = 0;

	*ntrips = 0;
	if ((n && !res) || (cap && !trips))
		return KERR_ARG;
	b->gen++;
	for (size_t i = 0; i < n; i++) {
		const liq_result_t *r = &res[i];
		acct_t *x;

		b->st.results++;
		if (!r->ok) {
			b->st.errors++;
			continue;
		}
		if (!(x = find(b, &r->account))) {
			b->st.unknown++;
			continue;
		}
		if (x->gen == b->gen) {
			b->st.repeated++;
			continue;
		}
		x->gen = b->gen;
		if (!r->liquidatable) {
			x->running = false;
			if (x->in_flight) {
				x->in_flight = false;
				b->in_flight--;
				b->st.healthy_rearm++;
			}
			continue;
		}
		if (!confirmed(trig, x, t_ms)) {
			b->st.confirming++;
			continue;
		}
		if (x->in_flight) {
			b->st.in_flight++;
			continue;
		}
		if (x->has_trip && trig->cooldown_ms &&
		    (t_ms < x->last_trip_ms ||
		     (uint64_t)(t_ms - x->last_trip_ms) < trig->cooldown_ms)) {
			b->st.cooling++;
			continue;
		}
		b->cand[nc++] = (cand_t){ r->debt, x->a, (uint32_t)(x - b->acct),
					  (uint32_t)i };
	}
	qsort(b->cand, nc, sizeof *b->cand, by_debt);
	for (size_t k = 0; k < nc; k++) {
		const liq_result_t *r = &res[b->cand[k].res];
		acct_t *x = &b->acct[b->cand[k].acct];
		detect_trip_t *tp;
		u256_t amount;

		if (liq_amount(&amount, &r->debt, trig->close_factor_pct) ||
		    u256_is_zero(&amount)) {
			b->st.dust++;
			continue;
		}
		if (*ntrips == cap) {
			b->st.deferred++;
			continue;
		}
		tp = &trips[(*ntrips)++];
		memset(tp, 0, sizeof *tp);
		tp->trigger = trig->name;
		tp->kind = trig->kind;
		tp->value = r->health;
		tp->threshold = 1.0;
		tp->unit = DETECT_UNIT_RATIO;
		tp->time_ms = t_ms;
		tp->has_account = true;
		tp->account = x->a;
		tp->has_amount = true;
		tp->amount = amount;
		x->in_flight = true;
		x->has_trip = true;
		x->last_trip_ms = t_ms;
		b->in_flight++;
		b->st.trips++;
	}
	return KERR_OK;
}

kerr_t liq_resolved(liq_book_t *b, const addr_t *a, liq_outcome_t outcome)
{
	acct_t *x = find(b, a);

	(void)outcome;  /* every outcome re-arms; the scan decides what is next */
	if (!x)
		return KERR_NOT_FOUND;
	if (!x->in_flight) {
		b->st.resolved_idle++;
		return KERR_OK;
	}
	x->in_flight = false;
	b->in_flight--;
	b->st.resolved++;
	return KERR_OK;
}
