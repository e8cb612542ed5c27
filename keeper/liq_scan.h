/*
 * liq_scan: the chain side of a liquidation trigger.  It feeds the trigger's
 * candidate book (strategies/liq.h) with borrowers discovered from the
 * pool's events, and on each new head and each tick of the trigger's feed
 * asks the chain, over keeper/rpc, which of them are liquidatable and for
 * how much, then hands the book's trips to a callback.
 *
 * One scan:
 *   1. the health view (or the bool liquidatable view) of every account in
 *      the book when the scan starts, as eth_calls to pool at "latest", in
 *      JSON-RPC batches (rpc_batch) of `batch` calls, `parallel` batches in
 *      flight at once;
 *   2. the debt view (on debt_to) of each account found liquidatable, the
 *      same way;
 *   3. the book decides (liq_decide) and each trip goes to on_trip, largest
 *      debt first.
 * An account whose call failed (a node error, a transport failure, a
 * missing batch answer) or whose return data the view cannot mean (shorter
 * than the word asked for, a bool that is neither 0 nor 1, more than
 * LIQ_SCAN_RETURN_MAX bytes) is an error for that account in this scan,
 * counted; the book leaves it as it was.  A batch rpc refuses to start
 * because its body is too large is split in halves (and `batch` halved for
 * later ones); one refused for any other reason (no free slot) counts its
 * calls as errors.
 *
 * Never two scans at once: a head or tick during a scan only marks that
 * another scan follows when this one ends, so a burst of ticks costs one
 * extra scan, not one each.  Health and debt may be read at different
 * blocks ("latest" moves); the pool's own check at liquidation time is the
 * one that counts, and a trip the chain no longer agrees with fails and is
 * resolved like any other.
 *
 * Discovery.  liq_scan_log() takes the pool's logs (EV_LOG; the node
 * subscribes to everything a watched address emits): a log of the
 * discover event whose topic discover_topic holds an address (12 zero bytes,
 * then the address) adds that account; other logs of the pool are ignored;
 * a malformed topic or a removed log is counted and ignored.
 * liq_scan_catch_up() finds the accounts of past events with eth_getLogs,
 * logs_range blocks per call, one call at a time.
 *
 * Time.  A trip's time is the head's timestamp (ms) or the tick's receive
 * time of the request that started the scan.
 *
 * Everything runs on the loop thread, from rpc's completions; on_trip may
 * call liq_scan_resolved() and liq_scan_head()/tick() (a scan requested
 * from there follows this one).  Teardown: free the rpc transport first
 * (it drops the completions that point here), then the scan, then the rpc
 * client.
 */
#ifndef KEEPER_LIQ_SCAN_H
#define KEEPER_LIQ_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/config.h"
#include "keeper/detect.h"
#include "keeper/event.h"
#include "keeper/kerr.h"
#include "keeper/rpc.h"
#include "strategies/liq.h"

#define LIQ_SCAN_ACCOUNTS_DEFAULT 4096
#define LIQ_SCAN_BATCH_DEFAULT 50      /* eth_calls per batch */
#define LIQ_SCAN_PARALLEL_DEFAULT 4    /* batches in flight */
#define LIQ_SCAN_PARALLEL_MAX 16
#define LIQ_SCAN_LOGS_RANGE_DEFAULT 2000 /* blocks per eth_getLogs */
#define LIQ_SCAN_RETURN_MAX 1024       /* bytes of a view's return data */

typedef struct {
	size_t max_accounts;   /* 0: LIQ_SCAN_ACCOUNTS_DEFAULT; 1..LIQ_MAX_ACCOUNTS */
	size_t batch;          /* 0: default; 1..RPC_BATCH_MAX */
	size_t parallel;       /* 0: default; 1..LIQ_SCAN_PARALLEL_MAX */
	uint64_t logs_range;   /* 0: default; >= 1 */
} liq_scan_opts_t;

/* One trip, in the order of the scan's trips (largest debt first). */
typedef void (*liq_scan_trip_fn)(void *arg, const detect_trip_t *trip);

typedef struct {
	uint64_t requests;      /* heads and ticks of the feed that asked for a scan */
	uint64_t coalesced;     /* of which during a scan */
	uint64_t scans;         /* scans completed */
	uint64_t batches;       /* batches sent */
	uint64_t calls;         /* eth_calls in them */
	uint64_t call_errors;   /* calls that failed (node error, transport, missing) */
	uint64_t malformed;     /* answers the view cannot mean */
	uint64_t submit_errors; /* calls of batches rpc refused to start */
	uint64_t splits;        /* batches split for their size */
	uint64_t trips;
	uint64_t logs;          /* logs handed to liq_scan_log (catch-up's too) */
	uint64_t logs_ignored;  /* of another contract or event */
	uint64_t logs_bad;      /* the discover event, but no address in its topic */
	uint64_t logs_removed;  /* removed by a reorg */
	uint64_t discovered;    /* accounts new to the book */
	uint64_t book_full;     /* discovered but refused: the book is full */
	uint64_t catchup_calls;
	uint64_t catchup_errors;
	bool scanning;
	bool catching_up;
} liq_scan_stats_t;

typedef struct liq_scan liq_scan_t;

/*
 * A scanner for trig (a liquidation trigger of cfg; both must outlive it)
 * over rpc.  on_trip(arg, trip) gets each trip.  opts may be NULL.
 * KERR_ARG, KERR_NOMEM.
 */
kerr_t liq_scan_new(liq_scan_t **out, const config_keeper_t *cfg,
		    const config_trigger_t *trig, rpc_client_t *rpc,
		    liq_scan_trip_fn on_trip, void *arg,
		    const liq_scan_opts_t *opts);

/* Free s (NULL is fine); see the teardown order above. */
void liq_scan_free(liq_scan_t *s);

/* A new head: scan (or mark another scan to follow the one under way). */
void liq_scan_head(liq_scan_t *s, const event_head_t *h);
/* A price tick: the same when it is of the trigger's feed; others are
 * ignored. */
void liq_scan_tick(liq_scan_t *s, const event_price_t *p);
/* A log: discovery (see above). */
void liq_scan_log(liq_scan_t *s, const event_log_t *l);
/* Any event: heads, ticks and logs to the three above, others ignored. */
void liq_scan_event(liq_scan_t *s, const event_t *ev);

/*
 * Find borrowers in the discover events of blocks from..to (inclusive).
 * KERR_ARG without discover or with from > to, KERR_RPC_BUSY when a
 * catch-up is under way, or rpc's error for the first call.
 */
kerr_t liq_scan_catch_up(liq_scan_t *s, uint64_t from, uint64_t to);

/* The transaction of a trip for account a is resolved (liq_resolved). */
kerr_t liq_scan_resolved(liq_scan_t *s, const addr_t *a, liq_outcome_t outcome);

/* The book (for its stats, or accounts added by other means). */
liq_book_t *liq_scan_book(liq_scan_t *s);

void liq_scan_stats(const liq_scan_t *s, liq_scan_stats_t *out);

#endif
