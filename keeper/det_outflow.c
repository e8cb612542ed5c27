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
 * index on (block, log index, tx hash), all sized once at init.
 *
 * Why the cost stays flat as the window grows (tests/bench_outflow: 10
 * against 1,000,000 logs in the window).  With a million logs the ring and
 * index are far beyond the caches, so a large window costs exactly its
 * random memory accesses; measuring variants found three, and the design
 * avoids each:
 *  - a probe reading the ring record of every occupied slot to compare
 *    keys: an index entry holds a 32-bit tag of the key beside the record's
 *    number, so the ring is read only on a tag match (a real duplicate or
 *    removal), and a deletion finds homes from the tags;
 *  - an index deletion, one more random access, per expired record: the
 *    index is tables filled in record-number order (below), which records
 *    leave without touching it;
 *  - page walks: a random access to a table of tens of MB misses the TLB
 *    as well, which a prefetch does not hide: large tables are advised as
 *    huge pages (index_alloc).
 * What remains is one index line per new log, prefetched as the log
 * arrives and written at the next insertion.  A log above every key
 * indexed so far, the usual order, cannot be a duplicate and needs no
 * lookup at all.  The ring is only walked in order, which the hardware
 * prefetches; it is split into links (what expiry reads) and entries (key
 * and amount, read only on a lookup hit).
 *
 * The rest is keeping constant work small: no integer division on the
 * common path (the current bucket's time range and slot are kept), the
 * amount's 64 hex digits decoded in 16-digit words that are mostly zeros,
 * and ceil(B * pct / 100) computed again only when an asset's B changes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "keeper/det_outflow.h"

const uint8_t det_outflow_transfer_topic[32] = {
	0xdd, 0xf2, 0x52, 0xad, 0x1b, 0xe2, 0xc8, 0x9b, 0x69, 0xc2, 0xb0,
	0x68, 0xfc, 0x37, 0x8d, 0xaa, 0x95, 0x2b, 0xa7, 0xf1, 0x63, 0xc4,
	0xa1, 0x16, 0x28, 0xf5, 0x5a, 0x4d, 0xf5, 0x23, 0xb3, 0xef,
};

/* An index entry is (key tag << 32) | (32 bits of the record number);
 * tags have their top bit set, so no entry is zero. */
#define INDEX_EMPTY 0
#define NTABLES 4
/* Slots of a retired table cleared per insertion: a table has fewer than
 * 4 * part slots and at least `part` insertions to be cleared in
 * (index_prepare), so this leaves room for several retired at once. */
#define CLEAR_STEP 16

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

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
	bool has_limit;        /* limit_of_base = ceil(limit_base * pct/100) */
	u256_t limit_base;
	u256_t limit_of_base;
};

struct det_outflow_link {
	int64_t bucket;        /* the bucket its amount went into */
	uint32_t asset;
	bool live;             /* still counted and indexed */
};

struct det_outflow_entry {
	uint64_t block;
	uint64_t log_index;
	uint8_t tx_hash[32];
	u256_t amount;
};

/* floor(a / b) for b > 0, also for negative a. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if (a % b != 0 && a < 0)
		q--;
	return q;
}

static int64_t oldest_bucket(const det_outflow_t *d)
{
	return d->cur_ - (int64_t)d->nb_;
}

/* The slot of bucket kb, which is in the window (cur - nb <= kb <= cur). */
static size_t slot_of(const det_outflow_t *d, int64_t kb)
{
	size_t back = (size_t)(d->cur_ - kb);
	return d->cur_slot_ >= back ? d->cur_slot_ - back
				    : d->cur_slot_ + (size_t)d->nb_ + 1 - back;
}

/* The bucket of time t <= now. */
static int64_t bucket_of(const det_outflow_t *d, int64_t t)
{
	return t >= d->cur_first_ ? d->cur_ : floor_div(t, (int64_t)d->width_);
}

static size_t ring_next(const det_outflow_t *d, size_t i)
{
	return i + 1 == d->ring_cap_ ? 0 : i + 1;
}

/* ---- the log index ------------------------------------------------------ */

/*
 * Records are numbered in arrival order and the index is NTABLES tables:
 * part q, the records numbered [q * part, (q + 1) * part) with part =
 * ceil(max_logs / 2), goes into table q mod NTABLES, a power of two of at
 * least 2 * part slots (so never more than half full).  An entry whose
 * number is no longer in the ring is stale and lookups skip it, so an entry
 * never needs deleting when its record leaves.  Records leave in number
 * order, so once a part has left, its table holds only stale entries and is
 * cleared as a whole, a little at each insertion.  The ring's at most
 * 2 * part records lie in at most 3 consecutive parts: lookups search at
 * most 3 tables, and the fourth has time to be cleared (index_prepare).
 */

static size_t table_cap(const det_outflow_t *d)
{
	return d->index_mask_ + 1;
}

static uint64_t *table_of(const det_outflow_t *d, uint64_t part)
{
	return d->index_ + (size_t)(part % NTABLES) * table_cap(d);
}

static uint32_t key_tag(uint64_t block, uint64_t log_index,
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
	/* The top bit set keeps every entry non-zero (zero is empty); a
	 * table has at most 2^26 slots, so the home bits are unaffected. */
	return (uint32_t)x | 0x80000000u;
}

static size_t home_of(const det_outflow_t *d, uint32_t tag)
{
	return (size_t)tag & d->index_mask_;
}

static uint64_t front_seq(const det_outflow_t *d)
{
	return d->seq_ - d->ring_len_;
}

/* Clear up to n slots of the tables whose records have all left. */
static void index_clear(det_outflow_t *d, size_t n)
{
	while (n > 0 && d->clear_part_ < d->front_part_) {
		size_t k = table_cap(d) - d->clear_pos_;
		if (k > n)
			k = n;
		memset(table_of(d, d->clear_part_) + d->clear_pos_, 0, k * sizeof(uint64_t));
		d->clear_pos_ += k;
		n -= k;
		if (d->clear_pos_ == table_cap(d)) {
			d->clear_part_++;
			d->clear_pos_ = 0;
		}
	}
}

/* Write the pending entry.  A new log's entry is written at the next
 * insertion, whose work hides the wait for the line its prefetch asked
 * for; everything that reads the index or drops records writes it first. */
static void index_flush(det_outflow_t *d)
{
	uint64_t *tab;
	size_t i;

	if (d->pending_ == INDEX_EMPTY)
		return;
	tab = d->index_ + d->pending_table_ * table_cap(d);
	i = home_of(d, (uint32_t)(d->pending_ >> 32));
	while (tab[i] != INDEX_EMPTY)
		i = (i + 1) & d->index_mask_;
	tab[i] = d->pending_;
	d->pending_ = INDEX_EMPTY;
}

/* Where a live record was found. */
typedef struct {
	uint64_t *table;
	size_t pos;       /* in table */
	size_t slot;      /* in the ring */
} found_t;

/* The live record with this key (tag), searched in every table that can
 * hold one. */
static bool index_find(det_outflow_t *d, const event_log_t *log, uint32_t tag,
		       found_t *f)
{
	uint32_t front = (uint32_t)front_seq(d);

	index_flush(d);
	for (uint64_t q = d->front_part_; q <= d->back_part_ && d->ring_len_ > 0; q++) {
		uint64_t *tab = table_of(d, q);
		for (size_t i = home_of(d, tag);; i = (i + 1) & d->index_mask_) {
			uint64_t s = tab[i];
			uint32_t back;
			size_t slot;
			const det_outflow_entry_t *e;

			if (s == INDEX_EMPTY)
				break;
			/* 32 bits of the number suffice: a table is
			 * cleared long before numbers wrap around. */
			back = (uint32_t)s - front;
			if ((uint32_t)(s >> 32) != tag || back >= d->ring_len_)
				continue;
			slot = d->ring_head_ + back;
			if (slot >= d->ring_cap_)
				slot -= d->ring_cap_;
			e = &d->ring_[slot];
			if (e->block == log->block_number && e->log_index == log->log_index &&
			    memcmp(e->tx_hash, log->tx_hash, 32) == 0) {
				f->table = tab;
				f->pos = i;
				f->slot = slot;
				return true;
			}
		}
	}
	return false;
}

/* Delete a found entry, shifting later members of the probe run back so
 * that lookups need no tombstones.  Homes come from the tags: no ring
 * record is read. */
static void index_delete(det_outflow_t *d, const found_t *f)
{
	uint64_t *tab = f->table;
	size_t i = f->pos, j = f->pos;
	for (;;) {
		j = (j + 1) & d->index_mask_;
		if (tab[j] == INDEX_EMPTY)
			break;
		size_t k = home_of(d, (uint32_t)(tab[j] >> 32));
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		tab[i] = tab[j];
		i = j;
	}
	tab[i] = INDEX_EMPTY;
}

/* Record number seq_ is about to be indexed: when it starts a new part,
 * that part's table must be empty.  The ring holds at most 2 * part - 1
 * records here, so its front is in part back_part_ - 2 or later, and part
 * back_part_ - NTABLES left it at least `part` insertions ago, in which
 * CLEAR_STEP slots each have normally cleared its table; when not (a gap
 * dropped several parts at once), this finishes the clearing. */
static void index_prepare(det_outflow_t *d)
{
	if (d->seq_ == (d->back_part_ + 1) * d->part_) {
		d->back_part_++;
		while (d->clear_part_ + NTABLES <= d->back_part_)
			index_clear(d, table_cap(d));
	}
	index_clear(d, CLEAR_STEP);
}

/* Drop the ring's front record. */
static void ring_pop(det_outflow_t *d)
{
	d->ring_head_ = ring_next(d, d->ring_head_);
	d->ring_len_--;
	if (front_seq(d) == (d->front_part_ + 1) * d->part_)
		d->front_part_++;
}

/* Drop records whose bucket has left the window from the ring's front.
 * Their index entries go stale and need no visit. */
static void ring_expire(det_outflow_t *d)
{
	int64_t oldest = oldest_bucket(d);

	if (d->ring_len_ == 0 ||
	    (d->link_[d->ring_head_].live && d->link_[d->ring_head_].bucket >= oldest))
		return;
	index_flush(d);
	while (d->ring_len_ > 0) {
		const det_outflow_link_t *l = &d->link_[d->ring_head_];
		if (l->live && l->bucket >= oldest)
			break;
		ring_pop(d);
	}
}

/* ---- time ---------------------------------------------------------------- */

/* k mod (nb + 1), the slot of bucket k. */
static size_t slot_mod(const det_outflow_t *d, int64_t k)
{
	int64_t m = k % ((int64_t)d->nb_ + 1);
	return (size_t)(m < 0 ? m + (int64_t)d->nb_ + 1 : m);
}

/* Make c, which holds time t, the current bucket. */
static void set_cur(det_outflow_t *d, int64_t c, int64_t t)
{
	/* t - c * w, in [0, w), computed without the product overflowing */
	uint64_t r = (uint64_t)t - (uint64_t)c * d->width_;
	uint64_t up = d->width_ - 1 - r;

	d->cur_ = c;
	d->cur_first_ = t < INT64_MIN + (int64_t)r ? INT64_MIN : t - (int64_t)r;
	d->cur_last_ = t > INT64_MAX - (int64_t)up ? INT64_MAX : t + (int64_t)up;
}

static void slide_to(det_outflow_t *d, int64_t c, int64_t t)
{
	uint64_t steps = (uint64_t)(c - d->cur_);
	size_t nslots = (size_t)d->nb_ + 1;

	if (steps > d->nb_) {
		for (size_t a = 0; a < d->nassets_; a++) {
			memset(d->assets_[a].bucket, 0, nslots * sizeof(u256_t));
			u256_zero(&d->assets_[a].total);
		}
		d->cur_slot_ = slot_mod(d, c);
	} else {
		for (uint64_t k = 0; k < steps; k++) {
			size_t s = d->cur_slot_ + 1 == nslots ? 0 : d->cur_slot_ + 1;
			d->cur_slot_ = s;
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
	set_cur(d, c, t);
	ring_expire(d);
}

/* Bring `now` up to t (never back); count t < now. */
static void note_time(det_outflow_t *d, int64_t t)
{
	if (!d->started_) {
		int64_t c = floor_div(t, (int64_t)d->width_);
		d->started_ = true;
		d->now_ = t;
		d->cur_slot_ = slot_mod(d, c);
		set_cur(d, c, t);
		return;
	}
	if (t < d->now_) {
		d->stats_.time_backwards++;
		return;
	}
	d->now_ = t;
	if (t <= d->cur_last_)
		return;
	/* t > cur_last_ >= cur_first_: the difference is positive and
	 * exact in uint64_t; within one width it is the next bucket. */
	if ((uint64_t)t - (uint64_t)d->cur_last_ <= d->width_)
		slide_to(d, d->cur_ + 1, t);
	else
		slide_to(d, floor_div(t, (int64_t)d->width_), t);
}

/* Add amount at bucket kb (in the window) of asset a; refuses overflow. */
static kerr_t bucket_add(det_outflow_t *d, size_t a, int64_t kb,
			 const u256_t *amount)
{
	det_outflow_asset_t *as = &d->assets_[a];
	size_t s = slot_of(d, kb);
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
	size_t s = slot_of(d, kb);
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

/*
 * The index tables, zeroed (zero is empty) by calloc, which leaves large
 * blocks untouched until used.  Tables of a million logs are hit at random
 * across tens of MB, where with 4 KB pages nearly every access also misses
 * the TLB, and a page walk (a slow one under virtualisation) costs more than
 * the prefetch can hide: bench_outflow measured about 50 ns per event.  So
 * large tables are aligned to and advised as huge pages where the system
 * offers them (Linux's transparent huge pages); elsewhere, or if the advice
 * is refused, they work the same, only slower.
 */
static uint64_t *index_alloc(det_outflow_t *d, size_t bytes)
{
#if defined(MADV_HUGEPAGE)
	const size_t huge = (size_t)2 << 20;
	if (bytes >= huge) {
		size_t whole = (bytes + huge - 1) & ~(huge - 1);
		char *p = calloc(whole + huge, 1);
		uintptr_t at;
		if (!p)
			return NULL;
		d->index_mem_ = p;
		at = ((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1);
		(void)madvise((void *)at, whole, MADV_HUGEPAGE);
		return (uint64_t *)at;
	}
#endif
	d->index_mem_ = calloc(bytes, 1);
	return d->index_mem_;
}

kerr_t det_outflow_init(det_outflow_t *d, const det_outflow_cfg_t *cfg)
{
	size_t tcap = 2;
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
	d->part_ = (cfg->max_logs + 1) / 2;
	while (tcap < 2 * d->part_)
		tcap <<= 1;
	d->index_mask_ = tcap - 1;

	d->assets_ = calloc(d->nassets_, sizeof *d->assets_);
	d->link_ = malloc(d->ring_cap_ * sizeof *d->link_);
	d->ring_ = malloc(d->ring_cap_ * sizeof *d->ring_);
	d->index_ = index_alloc(d, NTABLES * tcap * sizeof *d->index_);
	if (!d->assets_ || !d->link_ || !d->ring_ || !d->index_)
		goto nomem;
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
	free(d->link_);
	free(d->ring_);
	free(d->index_mem_);
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

/* 16 hex digits to a 64-bit word; false on a character that is not one. */
static bool hex_word(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned bad = 0;
	for (int i = 0; i < 16; i++) {
		unsigned c = (unsigned char)s[i];
		unsigned dig = c - '0', let = (c | 0x20) - 'a';
		bad |= dig > 9 && let > 5;
		v = v << 4 | ((dig > 9 ? let + 10 : dig) & 15);
	}
	*out = v;
	return !bad;
}

static kerr_t decode_amount(const event_log_t *log, u256_t *amount)
{
	static const char zeros[] = "0000000000000000";
	const char *s = log->data.p;
	uint8_t word[32];
	size_t n, got;
	kerr_t e;

	/* The usual shape, "0x" and 64 digits, is read a 16-digit limb at a
	 * time, and a limb of zeros (most of them: amounts rarely need more
	 * than 128 bits) is recognised without decoding.  Everything else,
	 * including a bad character, goes the general way below, which gives
	 * the precise error. */
	if (log->data.len == 66 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		bool ok = true;
		for (int l = 0; l < 4 && ok; l++) {
			const char *w = s + 2 + 16 * (3 - l);
			if (memcmp(w, zeros, 16) == 0)
				amount->w[l] = 0;
			else
				ok = hex_word(w, &amount->w[l]);
		}
		if (ok)
			return KERR_OK;
	}
	n = event_hex_nbytes(&log->data);
	if (n < 32)
		return KERR_TRUNCATED;
	if (n > 32)
		return KERR_TOO_LONG;
	e = event_hex_decode(&log->data, word, sizeof word, &got);
	if (e != KERR_OK)
		return e;
	return u256_from_be(amount, word, got);
}

static det_outflow_outcome_t take_back(det_outflow_t *d, const event_log_t *log,
				       uint32_t tag)
{
	found_t f;
	det_outflow_link_t *l;

	if (!index_find(d, log, tag, &f)) {
		d->stats_.removed_unknown++;
		return DET_OUTFLOW_REMOVED_UNKNOWN;
	}
	l = &d->link_[f.slot];
	index_delete(d, &f);
	l->live = false;
	if (l->bucket < oldest_bucket(d)) {
		/* Out of order in the ring, so not yet expired from it; its
		 * amount already left the window with its bucket. */
		d->stats_.removed_unknown++;
		return DET_OUTFLOW_REMOVED_UNKNOWN;
	}
	bucket_sub(d, l->asset, l->bucket, &d->ring_[f.slot].amount);
	d->stats_.logs_taken_back++;
	return DET_OUTFLOW_TAKEN_BACK;
}

static bool above_top(const det_outflow_t *d, const event_log_t *log)
{
	return !d->has_top_ || log->block_number > d->top_block_ ||
	       (log->block_number == d->top_block_ && log->log_index > d->top_index_);
}

static kerr_t count_log(det_outflow_t *d, const event_log_t *log, uint32_t tag,
			size_t a, int64_t kb, const u256_t *amount,
			det_outflow_outcome_t *oc)
{
	det_outflow_link_t *l;
	det_outflow_entry_t *e;
	size_t slot;
	kerr_t err;
	bool top = above_top(d, log);

	/* Logs come in (block, log index) order but for catch-ups and reorgs:
	 * a key above every key ever indexed cannot be a duplicate, so the
	 * common case needs no lookup (and no wait for its index line). */
	if (!top) {
		found_t f;
		if (index_find(d, log, tag, &f)) {
			l = &d->link_[f.slot];
			if (l->bucket >= oldest_bucket(d)) {
				d->stats_.logs_duplicate++;
				*oc = DET_OUTFLOW_DUPLICATE;
				return KERR_OK;
			}
			/* An expired record the front-expiry has not reached:
			 * the log is new again as far as the window is
			 * concerned. */
			index_delete(d, &f);
			l->live = false;
		}
	}
	err = bucket_add(d, a, kb, amount);
	if (err != KERR_OK)
		return err;
	index_flush(d);
	if (d->ring_len_ == d->ring_cap_) {
		/* The front's index entry goes stale with it: forgotten. */
		if (d->link_[d->ring_head_].live)
			d->stats_.logs_forgotten++;
		ring_pop(d);
	}
	index_prepare(d);
	slot = d->ring_head_ + d->ring_len_;
	if (slot >= d->ring_cap_)
		slot -= d->ring_cap_;
	l = &d->link_[slot];
	l->bucket = kb;
	l->asset = (uint32_t)a;
	l->live = true;
	e = &d->ring_[slot];
	e->block = log->block_number;
	e->log_index = log->log_index;
	memcpy(e->tx_hash, log->tx_hash, 32);
	e->amount = *amount;
	d->ring_len_++;
	d->pending_ = (uint64_t)tag << 32 | (uint32_t)d->seq_;
	d->pending_table_ = (size_t)(d->back_part_ % NTABLES);
	d->seq_++;
	if (top) {
		d->has_top_ = true;
		d->top_block_ = log->block_number;
		d->top_index_ = log->log_index;
	}
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
	uint32_t tag = 0;
	u256_t amount;
	kerr_t err = KERR_OK;

	if (a != 0) {
		/* Its index line is the one access a large window cannot
		 * keep in cache: fetch it now, for its insertion at the
		 * next counted log (index_flush) or a lookup below. */
		tag = key_tag(log->block_number, log->log_index, log->tx_hash);
		PREFETCH(&table_of(d, d->back_part_)[home_of(d, tag)]);
	}
	note_time(d, time_ms);
	if (a != 0) {
		err = decode_amount(log, &amount);
		if (err != KERR_OK) {
			d->stats_.logs_malformed++;
		} else if (log->removed) {
			oc = take_back(d, log, tag);
		} else {
			int64_t kb = bucket_of(d, time_ms);
			if (kb < oldest_bucket(d)) {
				d->stats_.logs_stale++;
				oc = DET_OUTFLOW_STALE;
			} else {
				err = count_log(d, log, tag, a, kb, &amount, &oc);
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
	size_t k = as->obs_head + i;
	return &as->obs[k >= d->heads_cap_ ? k - d->heads_cap_ : k];
}

static void obs_pop(det_outflow_t *d, det_outflow_asset_t *as)
{
	as->obs_head = as->obs_head + 1 == d->heads_cap_ ? 0 : as->obs_head + 1;
	as->obs_len--;
}

/* Keep only what the window's start can still need: the latest observation
 * at or before it, and everything after. */
static void obs_prune(det_outflow_t *d, det_outflow_asset_t *as, int64_t start)
{
	while (as->obs_len >= 2 && obs_at(d, as, 1)->time <= start)
		obs_pop(d, as);
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
		int64_t kb = bucket_of(d, time_ms);
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
		obs_pop(d, as);
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
		/* The base changes at most once per observation, the verdict
		 * is asked for at every event: the division is done once per
		 * base.  pct <= 100, so the limit never exceeds the base. */
		if (!as->has_limit || u256_cmp(&as->limit_base, &res->base) != 0) {
			(void)u256_muldiv_ceil(&as->limit_of_base, &res->base,
					       d->pct_micro_, 100ull * DET_OUTFLOW_PCT_SCALE);
			as->limit_base = res->base;
			as->has_limit = true;
		}
		res->pct_limit = as->limit_of_base;
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
