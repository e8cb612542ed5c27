/*
 * det_outflow: sliding-window outflow per asset of one watched contract
 * (the rules, units and bad-value policy are in det_outflow.h).
 *
 * Why this shape: the window sum must stay O(1) per event however many
 * transfers a drain is split into, so amounts go into time buckets whose
 * running total is adjusted as buckets enter and leave the window.  Taking
 * a reorged log back needs to know which bucket it went into, which only a
 * per-log record can tell; those records live in a ring in arrival order
 * (expired from the front as the window slides) with an open-addressing
 * index on (block, log index, tx hash), both sized once at init.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keeper/det_outflow.h"

const uint8_t det_outflow_transfer_topic[32] = {
	0xdd, 0xf2, 0x52, 0xad, 0x1b, 0xe2, 0xc8, 0x9b, 0x69, 0xc2, 0xb0,
	0x68, 0xfc, 0x37, 0x8d, 0xaa, 0x95, 0x2b, 0xa7, 0xf1, 0x63, 0xc4,
	0xa1, 0x16, 0x28, 0xf5, 0x5a, 0x4d, 0xf5, 0x23, 0xb3, 0xef,
};

#define INDEX_EMPTY UINT32_MAX

typedef struct {
	uint64_t block;
	int64_t time;
	u256_t balance;
} obs_t;

struct det_outflow_asset {
	u256_t *bucket;        /* nb + 1 slots: bucket k at k mod (nb + 1) */
	u256_t total;          /* sum of the window's buckets */
	obs_t *obs;            /* ring of accepted observations, oldest first */
	size_t obs_head, obs_len;
	bool has_last;         /* the newest accepted observation, kept apart
				  from the ring because pruning may empty it
				  of older ones but never of this */
	uint64_t last_block;
	int64_t last_time;
	u256_t last_bal;
};

struct det_outflow_entry {
	uint64_t block;
	uint64_t log_index;
	uint8_t tx_hash[32];
	int64_t bucket;        /* the bucket its amount went into */
	u256_t amount;
	uint32_t asset;
	bool live;             /* still counted and indexed */
};

/* floor(a / b) for b > 0, also for negative a. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if (a % b != 0 && a < 0)
		q--;
	return q;
}

static size_t mod_slot(int64_t k, uint64_t n)
{
	int64_t m = k % (int64_t)n;
	return (size_t)(m < 0 ? m + (int64_t)n : m);
}

static int64_t oldest_bucket(const det_outflow_t *d)
{
	return d->cur_ - (int64_t)d->nb_;
}

/* ---- the log index ------------------------------------------------------ */

static uint64_t key_hash(uint64_t block, uint64_t log_index,
			 const uint8_t tx_hash[32])
{
	uint64_t t;
	memcpy(&t, tx_hash, sizeof t);
	/* splitmix64's finaliser over a cheap combination: block numbers and
	 * log indexes are small and sequential, so they need mixing. */
	uint64_t x = block * 0x9e3779b97f4a7c15ull ^ (log_index + 1) * 0xc2b2ae3d27d4eb4full ^ t;
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static size_t entry_home(const det_outflow_t *d, const det_outflow_entry_t *e)
{
	return (size_t)key_hash(e->block, e->log_index, e->tx_hash) & d->index_mask_;
}

/* Position in index_ of the live entry with this key, or SIZE_MAX. */
static size_t index_find(const det_outflow_t *d, const event_log_t *log)
{
	size_t i = (size_t)key_hash(log->block_number, log->log_index, log->tx_hash) &
		   d->index_mask_;
	for (;;) {
		uint32_t s = d->index_[i];
		if (s == INDEX_EMPTY)
			return SIZE_MAX;
		const det_outflow_entry_t *e = &d->ring_[s];
		if (e->block == log->block_number && e->log_index == log->log_index &&
		    memcmp(e->tx_hash, log->tx_hash, 32) == 0)
			return i;
		i = (i + 1) & d->index_mask_;
	}
}

static void index_insert(det_outflow_t *d, uint32_t slot)
{
	size_t i = entry_home(d, &d->ring_[slot]);
	while (d->index_[i] != INDEX_EMPTY)
		i = (i + 1) & d->index_mask_;
	d->index_[i] = slot;
}

/* Delete position p, shifting later members of the probe run back so that
 * lookups need no tombstones (the load stays <= 1/2 for ever). */
static void index_delete_at(det_outflow_t *d, size_t p)
{
	size_t i = p, j = p;
	for (;;) {
		j = (j + 1) & d->index_mask_;
		if (d->index_[j] == INDEX_EMPTY)
			break;
		size_t k = entry_home(d, &d->ring_[d->index_[j]]);
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		d->index_[i] = d->index_[j];
		i = j;
	}
	d->index_[i] = INDEX_EMPTY;
}

static void entry_unindex(det_outflow_t *d, det_outflow_entry_t *e)
{
	event_log_t key;
	key.block_number = e->block;
	key.log_index = e->log_index;
	memcpy(key.tx_hash, e->tx_hash, 32);
	size_t p = index_find(d, &key);
	if (p != SIZE_MAX)
		index_delete_at(d, p);
	e->live = false;
}

/* Drop records whose bucket has left the window from the ring's front. */
static void ring_expire(det_outflow_t *d)
{
	while (d->ring_len_ > 0) {
		det_outflow_entry_t *e = &d->ring_[d->ring_head_];
		if (e->live && e->bucket >= oldest_bucket(d))
			break;
		if (e->live)
			entry_unindex(d, e);
		d->ring_head_ = (d->ring_head_ + 1) % d->ring_cap_;
		d->ring_len_--;
	}
}

/* ---- time ---------------------------------------------------------------- */

static void slide_to(det_outflow_t *d, int64_t c)
{
	uint64_t steps = (uint64_t)(c - d->cur_);
	if (steps > d->nb_) {
		for (size_t a = 0; a < d->nassets_; a++) {
			memset(d->assets_[a].bucket, 0, (d->nb_ + 1) * sizeof(u256_t));
			u256_zero(&d->assets_[a].total);
		}
	} else {
		for (int64_t k = d->cur_ + 1; k <= c; k++) {
			size_t s = mod_slot(k, d->nb_ + 1);
			for (size_t a = 0; a < d->nassets_; a++) {
				det_outflow_asset_t *as = &d->assets_[a];
				if (u256_is_zero(&as->bucket[s]))
					continue;
				/* total is the sum of the buckets, so it
				 * cannot go below zero here. */
				(void)u256_sub(&as->total, &as->total, &as->bucket[s]);
				u256_zero(&as->bucket[s]);
			}
		}
	}
	d->cur_ = c;
	ring_expire(d);
}

/* Bring `now` up to t (never back); count t < now. */
static void note_time(det_outflow_t *d, int64_t t)
{
	if (!d->started_) {
		d->started_ = true;
		d->now_ = t;
		d->cur_ = floor_div(t, (int64_t)d->width_);
		return;
	}
	if (t < d->now_) {
		d->stats_.time_backwards++;
		return;
	}
	d->now_ = t;
	int64_t c = floor_div(t, (int64_t)d->width_);
	if (c != d->cur_)
		slide_to(d, c);
}

/* Add amount at bucket kb (in the window) of asset a; refuses overflow. */
static kerr_t bucket_add(det_outflow_t *d, size_t a, int64_t kb,
			 const u256_t *amount)
{
	det_outflow_asset_t *as = &d->assets_[a];
	size_t s = mod_slot(kb, d->nb_ + 1);
	u256_t b, t;
	/* The total bounds every bucket, so checking it first suffices. */
	if (u256_add(&t, &as->total, amount) != KERR_OK ||
	    u256_add(&b, &as->bucket[s], amount) != KERR_OK) {
		d->stats_.overflow++;
		return KERR_NUM_OVERFLOW;
	}
	as->total = t;
	as->bucket[s] = b;
	return KERR_OK;
}

static void bucket_sub(det_outflow_t *d, size_t a, int64_t kb,
		       const u256_t *amount)
{
	det_outflow_asset_t *as = &d->assets_[a];
	size_t s = mod_slot(kb, d->nb_ + 1);
	(void)u256_sub(&as->bucket[s], &as->bucket[s], amount);
	(void)u256_sub(&as->total, &as->total, amount);
}

/* ---- init ---------------------------------------------------------------- */

kerr_t det_outflow_cfg_from_trigger(det_outflow_cfg_t *cfg,
				    const config_trigger_t *trig,
				    uint64_t min_block_ms, size_t max_logs)
{
	if (!cfg || !trig || trig->kind != CONFIG_TRIGGER_OUTFLOW || !trig->watch)
		return KERR_ARG;
	memset(cfg, 0, sizeof *cfg);
	cfg->watch = trig->watch->address;
	cfg->tokens = trig->watch->tokens;
	cfg->ntokens = trig->watch->ntokens;
	cfg->window_ms = trig->window_ms;
	cfg->threshold_pct = trig->threshold_pct;
	cfg->min_amount = trig->min_amount;
	cfg->min_block_ms = min_block_ms;
	cfg->max_logs = max_logs;
	return KERR_OK;
}

kerr_t det_outflow_init(det_outflow_t *d, const det_outflow_cfg_t *cfg)
{
	size_t icap = 1;
	uint64_t heads;

	memset(d, 0, sizeof *d);
	if (!cfg || cfg->window_ms == 0 || cfg->window_ms > (uint64_t)INT64_MAX / 4 ||
	    !(cfg->threshold_pct > 0 && cfg->threshold_pct <= 100) ||
	    cfg->min_block_ms == 0 || cfg->max_logs == 0 ||
	    cfg->max_logs > DET_OUTFLOW_MAX_LOGS || cfg->ntokens > CONFIG_MAX_TOKENS ||
	    (cfg->ntokens > 0 && !cfg->tokens))
		return KERR_ARG;
	heads = cfg->window_ms / cfg->min_block_ms + 2;
	if (heads > DET_OUTFLOW_MAX_HEADS)
		return KERR_ARG;

	d->watch_ = cfg->watch;
	if (cfg->ntokens)
		memcpy(d->tokens_, cfg->tokens, cfg->ntokens * sizeof(addr_t));
	d->nassets_ = 1 + cfg->ntokens;
	d->width_ = (cfg->window_ms + DET_OUTFLOW_BUCKETS - 1) / DET_OUTFLOW_BUCKETS;
	d->nb_ = (cfg->window_ms + d->width_ - 1) / d->width_;
	d->pct_ = cfg->threshold_pct;
	d->pct_micro_ = (uint64_t)llround(cfg->threshold_pct * DET_OUTFLOW_PCT_SCALE);
	if (d->pct_micro_ == 0)
		return KERR_ARG;       /* below 1e-6 percent: not representable */
	d->min_amount_ = cfg->min_amount;
	d->heads_cap_ = (size_t)heads;
	d->ring_cap_ = cfg->max_logs;
	while (icap < 2 * cfg->max_logs)
		icap <<= 1;
	d->index_mask_ = icap - 1;

	d->assets_ = calloc(d->nassets_, sizeof *d->assets_);
	d->ring_ = malloc(d->ring_cap_ * sizeof *d->ring_);
	d->index_ = malloc(icap * sizeof *d->index_);
	if (!d->assets_ || !d->ring_ || !d->index_)
		goto nomem;
	memset(d->index_, 0xff, icap * sizeof *d->index_);
	for (size_t a = 0; a < d->nassets_; a++) {
		d->assets_[a].bucket = calloc(d->nb_ + 1, sizeof(u256_t));
		d->assets_[a].obs = calloc(d->heads_cap_, sizeof(obs_t));
		if (!d->assets_[a].bucket || !d->assets_[a].obs)
			goto nomem;
	}
	d->now_ = INT64_MIN;
	return KERR_OK;
nomem:
	det_outflow_release(d);
	return KERR_NOMEM;
}

void det_outflow_release(det_outflow_t *d)
{
	if (!d)
		return;
	if (d->assets_) {
		for (size_t a = 0; a < d->nassets_; a++) {
			free(d->assets_[a].bucket);
			free(d->assets_[a].obs);
		}
	}
	free(d->assets_);
	free(d->ring_);
	free(d->index_);
	memset(d, 0, sizeof *d);
}

/* ---- logs ---------------------------------------------------------------- */

/* An indexed address topic: 12 zero bytes, then the address. */
static bool topic_is(const uint8_t topic[32], const addr_t *a)
{
	static const uint8_t zero[12];
	return memcmp(topic, zero, 12) == 0 && memcmp(topic + 12, a->b, 20) == 0;
}

/* The token asset (1 + i) of an ERC-20 Transfer out of the watched
 * contract, or 0 when the log is not one. */
static size_t classify(const det_outflow_t *d, const event_log_t *log)
{
	if (log->ntopics != 3 ||
	    memcmp(log->topics[0], det_outflow_transfer_topic, 32) != 0 ||
	    !topic_is(log->topics[1], &d->watch_) || topic_is(log->topics[2], &d->watch_))
		return 0;
	for (size_t i = 0; i + 1 < d->nassets_; i++)
		if (addr_eq(&log->address, &d->tokens_[i]))
			return i + 1;
	return 0;
}

static kerr_t decode_amount(const event_log_t *log, u256_t *amount)
{
	uint8_t word[32];
	size_t n = event_hex_nbytes(&log->data), got;
	kerr_t e;

	if (n < 32)
		return KERR_TRUNCATED;
	if (n > 32)
		return KERR_TOO_LONG;
	e = event_hex_decode(&log->data, word, sizeof word, &got);
	if (e != KERR_OK)
		return e;
	return u256_from_be(amount, word, got);
}

static det_outflow_outcome_t take_back(det_outflow_t *d, const event_log_t *log)
{
	size_t p = index_find(d, log);
	det_outflow_entry_t *e;

	if (p == SIZE_MAX) {
		d->stats_.removed_unknown++;
		return DET_OUTFLOW_REMOVED_UNKNOWN;
	}
	e = &d->ring_[d->index_[p]];
	index_delete_at(d, p);
	e->live = false;
	if (e->bucket < oldest_bucket(d)) {
		/* Out of order in the ring, so not yet expired from it; its
		 * amount already left the window with its bucket. */
		d->stats_.removed_unknown++;
		return DET_OUTFLOW_REMOVED_UNKNOWN;
	}
	bucket_sub(d, e->asset, e->bucket, &e->amount);
	d->stats_.logs_taken_back++;
	return DET_OUTFLOW_TAKEN_BACK;
}

static kerr_t count_log(det_outflow_t *d, const event_log_t *log, size_t a,
			int64_t kb, const u256_t *amount,
			det_outflow_outcome_t *oc)
{
	size_t p = index_find(d, log);
	det_outflow_entry_t *e;
	size_t slot;
	kerr_t err;

	if (p != SIZE_MAX) {
		e = &d->ring_[d->index_[p]];
		if (e->bucket >= oldest_bucket(d)) {
			d->stats_.logs_duplicate++;
			*oc = DET_OUTFLOW_DUPLICATE;
			return KERR_OK;
		}
		/* An expired record the front-expiry has not reached: the log
		 * is new again as far as the window is concerned. */
		index_delete_at(d, p);
		e->live = false;
	}
	err = bucket_add(d, a, kb, amount);
	if (err != KERR_OK)
		return err;
	if (d->ring_len_ == d->ring_cap_) {
		e = &d->ring_[d->ring_head_];
		if (e->live) {
			entry_unindex(d, e);
			d->stats_.logs_forgotten++;
		}
		d->ring_head_ = (d->ring_head_ + 1) % d->ring_cap_;
		d->ring_len_--;
	}
	slot = (d->ring_head_ + d->ring_len_) % d->ring_cap_;
	e = &d->ring_[slot];
	e->block = log->block_number;
	e->log_index = log->log_index;
	memcpy(e->tx_hash, log->tx_hash, 32);
	e->bucket = kb;
	e->amount = *amount;
	e->asset = (uint32_t)a;
	e->live = true;
	d->ring_len_++;
	index_insert(d, (uint32_t)slot);
	d->stats_.logs_counted++;
	*oc = DET_OUTFLOW_COUNTED;
	return KERR_OK;
}

kerr_t det_outflow_feed_log(det_outflow_t *d, const event_log_t *log,
			    int64_t time_ms, det_outflow_outcome_t *outcome,
			    size_t *asset)
{
	det_outflow_outcome_t oc = DET_OUTFLOW_IGNORED;
	size_t a = classify(d, log);
	u256_t amount;
	kerr_t err = KERR_OK;

	note_time(d, time_ms);
	if (a != 0) {
		err = decode_amount(log, &amount);
		if (err != KERR_OK) {
			d->stats_.logs_malformed++;
		} else if (log->removed) {
			oc = take_back(d, log);
		} else {
			int64_t kb = floor_div(time_ms, (int64_t)d->width_);
			if (kb < oldest_bucket(d)) {
				d->stats_.logs_stale++;
				oc = DET_OUTFLOW_STALE;
			} else {
				err = count_log(d, log, a, kb, &amount, &oc);
			}
		}
	}
	if (outcome)
		*outcome = oc;
	if (asset)
		*asset = a;
	return err;
}

/* ---- balances ------------------------------------------------------------ */

static obs_t *obs_at(det_outflow_t *d, det_outflow_asset_t *as, size_t i)
{
	return &as->obs[(as->obs_head + i) % d->heads_cap_];
}

/* Keep only what the window's start can still need: the latest observation
 * at or before it, and everything after. */
static void obs_prune(det_outflow_t *d, det_outflow_asset_t *as, int64_t start)
{
	while (as->obs_len >= 2 && obs_at(d, as, 1)->time <= start) {
		as->obs_head = (as->obs_head + 1) % d->heads_cap_;
		as->obs_len--;
	}
}

static int64_t window_start(const det_outflow_t *d)
{
	return oldest_bucket(d) * (int64_t)d->width_;
}

kerr_t det_outflow_feed_balance(det_outflow_t *d, size_t asset,
				uint64_t block, int64_t time_ms,
				const u256_t *balance,
				det_outflow_outcome_t *outcome)
{
	det_outflow_asset_t *as;
	det_outflow_outcome_t oc = DET_OUTFLOW_OBSERVED;
	kerr_t err = KERR_OK;

	if (asset >= d->nassets_ || !balance)
		return KERR_ARG;
	as = &d->assets_[asset];
	note_time(d, time_ms);
	if (as->has_last &&
	    (block < as->last_block || time_ms < as->last_time ||
	     (block == as->last_block && u256_cmp(balance, &as->last_bal) == 0))) {
		d->stats_.obs_refused++;
		if (outcome)
			*outcome = DET_OUTFLOW_REFUSED;
		return KERR_OK;
	}
	if (asset == 0 && as->has_last && u256_cmp(balance, &as->last_bal) < 0) {
		u256_t drop;
		int64_t kb = floor_div(time_ms, (int64_t)d->width_);
		(void)u256_sub(&drop, &as->last_bal, balance);
		if (kb < oldest_bucket(d))
			d->stats_.logs_stale++;
		else
			err = bucket_add(d, 0, kb, &drop);
	}
	as->has_last = true;
	as->last_block = block;
	as->last_time = time_ms;
	as->last_bal = *balance;

	obs_prune(d, as, window_start(d));
	if (as->obs_len == d->heads_cap_) {
		as->obs_head = (as->obs_head + 1) % d->heads_cap_;
		as->obs_len--;
		d->stats_.obs_evicted++;
	}
	*obs_at(d, as, as->obs_len) = (obs_t){ block, time_ms, *balance };
	as->obs_len++;
	if (outcome)
		*outcome = oc;
	return err;
}

void det_outflow_advance(det_outflow_t *d, int64_t time_ms)
{
	note_time(d, time_ms);
}

/* ---- verdict ------------------------------------------------------------- */

kerr_t det_outflow_eval(det_outflow_t *d, size_t asset,
			det_outflow_result_t *res)
{
	det_outflow_asset_t *as;
	bool has_min, has_pct;

	if (asset >= d->nassets_ || !res)
		return KERR_ARG;
	as = &d->assets_[asset];
	memset(res, 0, sizeof *res);
	res->asset = asset;
	if (asset > 0)
		res->token = d->tokens_[asset - 1];
	res->outflow = as->total;
	res->threshold_pct = d->pct_;
	res->window_start_ms = d->started_ ? window_start(d) : INT64_MIN;
	has_min = !u256_is_zero(&d->min_amount_);

	if (as->obs_len > 0) {
		const obs_t *o;
		if (d->started_)
			obs_prune(d, as, res->window_start_ms);
		o = obs_at(d, as, 0);
		res->has_base = true;
		res->base_exact = o->time <= res->window_start_ms;
		res->base = o->balance;
		/* pct <= 100, so the limit never exceeds the base. */
		(void)u256_muldiv_ceil(&res->pct_limit, &res->base, d->pct_micro_,
				       100ull * DET_OUTFLOW_PCT_SCALE);
		res->limit = res->pct_limit;
	}
	/* A percentage of nothing is no limit: an empty contract that takes
	 * a deposit and pays it out again must not trip on the percent rule. */
	has_pct = res->has_base && !u256_is_zero(&res->base);
	if (has_min && (!has_pct || u256_cmp(&d->min_amount_, &res->pct_limit) < 0)) {
		res->limit = d->min_amount_;
		res->by_min_amount = true;
	}
	res->tripped = !u256_is_zero(&res->outflow) && (has_pct || has_min) &&
		       u256_cmp(&res->outflow, &res->limit) >= 0;
	return KERR_OK;
}

bool det_outflow_eval_any(det_outflow_t *d, det_outflow_result_t *res)
{
	det_outflow_result_t r;
	for (size_t a = 0; a < d->nassets_; a++) {
		(void)det_outflow_eval(d, a, &r);
		if (a == 0 || r.tripped)
			*res = r;
		if (r.tripped)
			return true;
	}
	return false;
}

size_t det_outflow_nassets(const det_outflow_t *d)
{
	return d->nassets_;
}

int64_t det_outflow_now(const det_outflow_t *d)
{
	return d->now_;
}

const det_outflow_stats_t *det_outflow_stats(const det_outflow_t *d)
{
	return &d->stats_;
}
