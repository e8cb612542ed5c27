/*
 * det_outflow: the `outflow` trigger's detector (EIP-7265-style rate
 * limit): how much value left one watched contract within the last
 * window_ms, per asset, compared with a percentage of the asset's balance
 * at the window's start and with an absolute min_amount.
 *
 * The detector is pure: it does no I/O and reads no clock.  The caller
 * feeds it what the node delivered (logs) and what it read (balances), each
 * stamped with the caller's one millisecond clock (the loop's turn time),
 * and asks whether an asset trips.  Logs carry no time of their own, so
 * header timestamps (seconds, another clock) must not be mixed in.
 *
 * Assets.  Asset 0 is native ETH; asset 1 + i is watch.tokens[i].
 *
 * What counts as outflow.
 *  - Token: an ERC-20 Transfer log (topic0 = keccak("Transfer(address,
 *    address,uint256)"), exactly 3 topics, data = one 32-byte word) emitted
 *    by a watched token, whose `from` (topic1) is the watched contract and
 *    whose `to` (topic2) is not.  Logs with 4 topics (ERC-721's Transfer)
 *    or from other emitters are ignored.
 *  - ETH: native transfers leave no log, so the outflow is the decrease of
 *    the balance between consecutive accepted balance observations, counted
 *    at the later observation's time.  An increase counts as nothing.
 *  Inflows do not offset outflows.  EIP-7265's reference limiter nets them
 *    (it records a signed liquidity change per inflow and outflow), but a
 *    keeper sees whole transactions after the fact: a drain that first
 *    deposits a flash loan and then withdraws it plus the protocol's funds
 *    would net to exactly the stolen amount while hiding behind the
 *    deposit's churn within one window.  Gross outflow is the conservative
 *    reading; a busy contract with large legitimate churn needs a larger
 *    threshold.  (The ETH figure is necessarily net per observation
 *    interval, since a balance is all there is.)
 *
 * The window.  Time is cut into DET_OUTFLOW_BUCKETS-or-fewer buckets of
 * width w = ceil(window_ms / DET_OUTFLOW_BUCKETS) ms, nb = ceil(window_ms /
 * w) of them spanning window_ms; bucket k holds times [k*w, (k+1)*w).  With
 * `now` the largest time fed so far and c = floor(now / w), the window holds
 * every outflow whose own time t has floor(t / w) >= c - nb.  It therefore
 * covers at least [now - window_ms, now] and at most w ms more at its old
 * end: the bucket alignment errs on the side of tripping.  The window's
 * start is the time (c - nb) * w.  This definition is what "exact" means
 * for the test's O(n^2) reference.
 *
 * The threshold.  An asset trips when its window outflow is > 0 and
 *   - its balance at the window's start B is known and outflow >=
 *     B * threshold_pct / 100 (compared exactly: limit = ceil(B * pct /
 *     100) with pct taken to 1e-6 percent), or
 *   - min_amount > 0 and outflow >= min_amount.
 * B is the balance of the latest accepted observation whose time is at or
 * before the window's start; when every kept observation is younger (just
 * started, or more heads than the ring holds), the oldest kept one stands
 * in and base_exact is false.  Observations are kept in a ring of
 * window_ms / min_block_ms + 2 entries per asset, fixed at init.  No
 * observation at all, or B = 0 (a percentage of nothing is no limit: an
 * empty contract that takes a deposit and pays it out must not trip): only
 * min_amount can trip.
 *
 * Bad values (each counted in det_outflow_stats_t, none ever adds value):
 *  - Out of order: a log or ETH decrease whose time is before `now` is
 *    still put in its own time's bucket when that bucket is in the window,
 *    exactly as the reference defines; when older than the window it is not
 *    counted (stale).  `now` never goes back.
 *  - Duplicate log: the same (block_number, log_index, tx_hash) as a log
 *    already counted and still in the window is ignored.
 *  - Removed log (reorg): found by (block_number, log_index, tx_hash) among
 *    the logs counted in the window, its recorded amount leaves the bucket
 *    it was added to, and a later re-add counts again.  Not found (never
 *    counted, already out of the window, or forgotten, below) it is only
 *    counted (removed_unknown): an amount that has left the window needs no
 *    taking back.
 *  - Remembered logs: removal and duplicate lookups use a ring of max_logs
 *    entries plus a hash index, fixed at init (96 bytes per entry in the
 *    ring, 32 to 64 in the index).  When more logs than that are
 *    in the window the oldest is forgotten (its amount stays counted; only a
 *    later removal or duplicate of it goes unrecognised) and counted.
 *  - Balance observation with a lower block number, or an earlier time,
 *    than the asset's latest accepted one, or the same block and balance
 *    (a repeat): ignored and counted.  Ignoring never loses an ETH decrease:
 *    the next accepted observation is compared with the last accepted one.
 *    The same block with another balance (a reorg's replacement) is
 *    accepted.
 *  - A window sum that would exceed 2^256 - 1 refuses the amount
 *    (KERR_NUM_OVERFLOW) and counts it; no real token gets there.
 *
 * Cost: every feed and query is O(1) amortised in the number of events in
 * the window (bucket sums with a running total, a ring, an open-addressing
 * index), and about as fast with a million logs in the window as with ten
 * (tests/bench_outflow); memory is allocated only by det_outflow_init().
 */
#ifndef KEEPER_DET_OUTFLOW_H
#define KEEPER_DET_OUTFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keeper/config.h"
#include "keeper/event.h"
#include "keeper/kerr.h"
#include "signer/addr.h"
#include "signer/u256.h"

/* Upper bound on the buckets a window is cut into (resolution window/256). */
#define DET_OUTFLOW_BUCKETS 256
/* threshold_pct is used to this many millionths of a percent. */
#define DET_OUTFLOW_PCT_SCALE 1000000u
/* Limits on init parameters. */
#define DET_OUTFLOW_MAX_LOGS (1u << 26)
#define DET_OUTFLOW_MAX_HEADS (1u << 20)

/* keccak256("Transfer(address,address,uint256)") */
extern const uint8_t det_outflow_transfer_topic[32];

typedef struct {
	addr_t watch;              /* the protected contract */
	const addr_t *tokens;      /* its ERC-20s (copied at init) */
	size_t ntokens;            /* 0..CONFIG_MAX_TOKENS */
	uint64_t window_ms;        /* > 0 */
	double threshold_pct;      /* > 0, <= 100 */
	u256_t min_amount;         /* 0: no absolute limit */
	uint64_t min_block_ms;     /* > 0: the fastest the chain makes blocks
				      (sizes the balance ring) */
	size_t max_logs;           /* 1..DET_OUTFLOW_MAX_LOGS: logs remembered
				      for removal/duplicate lookup */
} det_outflow_cfg_t;

/* What a feed did with its input. */
typedef enum {
	DET_OUTFLOW_IGNORED = 0,   /* not an outflow of this contract */
	DET_OUTFLOW_COUNTED,       /* added to the window */
	DET_OUTFLOW_TAKEN_BACK,    /* a removed log's amount left the window */
	DET_OUTFLOW_DUPLICATE,     /* a repeat, ignored */
	DET_OUTFLOW_STALE,         /* older than the window, not counted */
	DET_OUTFLOW_REMOVED_UNKNOWN,/* removed log not among those counted */
	DET_OUTFLOW_OBSERVED,      /* balance observation accepted */
	DET_OUTFLOW_REFUSED,       /* balance observation ignored (out of order
				      or a repeat) */
} det_outflow_outcome_t;

typedef struct {
	uint64_t logs_counted;
	uint64_t logs_duplicate;
	uint64_t logs_stale;          /* outflows (logs or ETH) older than the window */
	uint64_t logs_taken_back;
	uint64_t removed_unknown;
	uint64_t logs_forgotten;      /* evicted from the lookup ring while in window */
	uint64_t logs_malformed;      /* Transfer from the contract with bad data */
	uint64_t time_backwards;      /* inputs stamped before `now` */
	uint64_t obs_refused;         /* balance observations ignored */
	uint64_t obs_evicted;         /* observations dropped by a full ring
					 while still needed */
	uint64_t overflow;            /* amounts refused: sum beyond 2^256 - 1 */
} det_outflow_stats_t;

/* The verdict on one asset at the current `now`. */
typedef struct {
	bool tripped;
	size_t asset;              /* 0 ETH, 1 + i tokens[i] */
	addr_t token;              /* zero address for ETH */
	u256_t outflow;            /* in the asset's smallest unit */
	bool has_base;             /* a balance observation exists */
	bool base_exact;           /* it is at or before the window's start */
	u256_t base;               /* balance at the window's start */
	u256_t pct_limit;          /* ceil(base * pct / 100), when has_base
				      (applies only when base > 0) */
	u256_t limit;              /* the lowest applicable limit (pct_limit
				      and/or min_amount); zero when none */
	bool by_min_amount;        /* limit is min_amount (below pct_limit or
				      no base) */
	double threshold_pct;      /* as configured */
	int64_t window_start_ms;   /* (c - nb) * w */
} det_outflow_result_t;

typedef struct det_outflow_asset det_outflow_asset_t;
typedef struct det_outflow_link det_outflow_link_t;
typedef struct det_outflow_entry det_outflow_entry_t;

typedef struct {
	/* private */
	addr_t watch_;
	addr_t tokens_[CONFIG_MAX_TOKENS];
	size_t nassets_;
	uint64_t width_;           /* bucket width w, ms */
	uint64_t nb_;              /* buckets spanning window_ms */
	uint64_t pct_micro_;       /* threshold_pct * 1e6, rounded */
	double pct_;
	u256_t min_amount_;
	bool started_;
	int64_t now_;
	int64_t cur_;              /* floor(now / w) */
	int64_t cur_first_;        /* bucket cur's first and last ms, */
	int64_t cur_last_;         /* clamped to the int64 range */
	size_t cur_slot_;          /* cur mod (nb + 1) */
	det_outflow_asset_t *assets_;
	size_t heads_cap_;
	det_outflow_link_t *link_; /* remembered logs: what expiry reads */
	det_outflow_entry_t *ring_;/* and what only a lookup hit reads */
	size_t ring_cap_, ring_head_, ring_len_;
	uint64_t seq_;             /* the next remembered log's number */
	void *index_mem_;          /* as allocated; index_ is inside it */
	uint64_t *index_;          /* 4 tables of index_mask_ + 1 entries */
	size_t index_mask_;
	uint64_t part_;            /* log numbers per table */
	uint64_t front_part_;      /* the table part of the ring's front */
	uint64_t back_part_;       /* the table part of its newest log */
	uint64_t clear_part_;      /* the oldest table part not yet cleared */
	size_t clear_pos_;
	uint64_t pending_;         /* an index entry not yet written */
	size_t pending_table_;
	bool has_top_;             /* (top_block_, top_index_): the largest */
	uint64_t top_block_;       /* (block, log index) ever indexed */
	uint64_t top_index_;
	det_outflow_stats_t stats_;
} det_outflow_t;

/*
 * Fill cfg from an `outflow` trigger (its watch, window_ms, threshold_pct,
 * min_amount) with the given sizing.  KERR_ARG when trig is not an outflow
 * trigger or has no watch.
 */
kerr_t det_outflow_cfg_from_trigger(det_outflow_cfg_t *cfg,
				    const config_trigger_t *trig,
				    uint64_t min_block_ms, size_t max_logs);

/*
 * Allocate and initialise.  KERR_ARG for a parameter out of range
 * (window_ms 0, threshold_pct outside (0, 100], min_block_ms 0, max_logs
 * outside 1..DET_OUTFLOW_MAX_LOGS, ntokens > CONFIG_MAX_TOKENS, a ring of
 * more than DET_OUTFLOW_MAX_HEADS observations), KERR_NOMEM.
 */
kerr_t det_outflow_init(det_outflow_t *d, const det_outflow_cfg_t *cfg);
void det_outflow_release(det_outflow_t *d);

/*
 * A log from the node, received at time_ms.  *asset (may be NULL) receives
 * the asset it concerned (meaningful unless IGNORED).  A Transfer from the
 * watched contract whose data is not one 32-byte word: KERR_TRUNCATED (fewer
 * bytes), KERR_TOO_LONG (more), KERR_HEX_CHAR; KERR_NUM_OVERFLOW (see
 * above).  Every other log is KERR_OK with IGNORED.
 */
kerr_t det_outflow_feed_log(det_outflow_t *d, const event_log_t *log,
			    int64_t time_ms, det_outflow_outcome_t *outcome,
			    size_t *asset);

/*
 * A balance of asset (0 ETH, 1 + i tokens[i]) read at block, at time_ms.
 * For ETH a decrease since the last accepted observation is outflow.
 * KERR_ARG for an asset out of range, KERR_NUM_OVERFLOW.
 */
kerr_t det_outflow_feed_balance(det_outflow_t *d, size_t asset,
				uint64_t block, int64_t time_ms,
				const u256_t *balance,
				det_outflow_outcome_t *outcome);

/* Move `now` forward without input (a timer); an earlier time is ignored
 * and counted in time_backwards. */
void det_outflow_advance(det_outflow_t *d, int64_t time_ms);

/* The verdict on one asset.  KERR_ARG for an asset out of range. */
kerr_t det_outflow_eval(det_outflow_t *d, size_t asset,
			det_outflow_result_t *res);

/* true when some asset trips; res then holds the first (ETH, then tokens
 * in config order).  False leaves res as asset 0's verdict. */
bool det_outflow_eval_any(det_outflow_t *d, det_outflow_result_t *res);

/* Number of assets: 1 + ntokens. */
size_t det_outflow_nassets(const det_outflow_t *d);
/* The largest time fed (INT64_MIN before any). */
int64_t det_outflow_now(const det_outflow_t *d);
const det_outflow_stats_t *det_outflow_stats(const det_outflow_t *d);

#endif
