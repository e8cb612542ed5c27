/*
 * engine: every detector of a config behind one door.  From a
 * config_keeper_t it builds one detector per trigger of the kinds it
 * evaluates itself (price_move, ewma_vol, deviation, depeg, stale, outflow),
 * routes each event to exactly the detectors it concerns, drives the
 * conditions that change with time alone, and hands every trip to one
 * callback as (trigger index, detect_trip_t).  The same engine runs live
 * (keeper/live.h), in --dry-run and in replay, which differ only in where
 * events and the clock come from.
 *
 * Pure.  No I/O, no clock reads, and no allocation after engine_new()
 * except a price_move deque doubling when its window holds more ticks
 * than ever before (amortised O(1), bounded by DET_PRICE_MOVE_MAX_ENTRIES,
 * and never again once the window's tick count has peaked): the caller
 * passes every time.  The same sequence of calls (events, times,
 * balances, external conditions) gives the same trips in the same order,
 * whatever machine or clock: replay drives it with a virtual clock.
 *
 * The engine clock.  Every call carries now_ms, the caller's clock in ms
 * since the epoch: live, the loop's cached wall clock of the turn (the
 * clock feeds stamp recv_ms and EV_FEED_* with); in replay, the file's
 * arrival times.  It is what stale silence is measured on, what logs (which
 * carry no time) and balances are stamped with for outflow, and what moves
 * outflow windows.  A now_ms earlier than the latest one is counted
 * (time_backwards) and does not move the clock back.
 *
 * Routing, O(1) per event (tables built once, no name compared per event):
 *   EV_PRICE of feed f        price_move, ewma_vol, depeg and stale triggers
 *                             on f, deviation triggers with f as either feed
 *   EV_FEED_STALE/BACK of f   stale triggers on f
 *   EV_LOG emitted by T       outflow triggers whose watch lists token T
 *                             (det_outflow keeps only Transfers from the
 *                             watch; removed logs are taken back)
 *   EV_HEAD                   moves the outflow windows to now_ms
 *   EV_PENDING_TX             nothing yet (mempool is evaluated outside)
 * Within one event, triggers are visited in config order, so trips of one
 * event come out in config order.
 *
 * Time-driven conditions (engine_time).  Some conditions change while no
 * event arrives, so the host calls engine_time() periodically:
 *   - stale: the silence is judged at now_ms (det_stale_check);
 *   - outflow: the windows advance to now_ms (old outflow leaves them);
 *   - depeg hold_ms, confirm_ms of every price kind, and the repeat of a
 *     trip after cooldown_ms while a condition holds: the trigger's latest
 *     verdict is evaluated again "as of now", assuming the market unchanged
 *     since the feed's latest tick (no news is the latest news).  Price
 *     detectors judge on the feed's own timestamps, so "now" on that clock
 *     is the latest tick's time plus the engine-clock time elapsed since it
 *     arrival).  A depeg's hold is recomputed at that time, a deviation's
 *     freshness too; an ewma_vol verdict is kept as it was; a price_move
 *     verdict is kept until window_ms after the feed's latest tick (on the
 *     feed's clock): by then, with the price unchanged since that tick, the
 *     window holds no other price and there is no move left, so the run
 *     ends instead of re-tripping every cooldown on a silent feed.
 *     Only a trigger whose verdict is true (or, for depeg, whose price is
 *     off the peg) is evaluated again.
 *   A trigger with confirm_ticks > 0 is never evaluated by time, because
 *   confirm_ticks counts inputs (ticks, logs, balances); its stale checks
 *   are the exception, since det_stale defines its ticks as evaluations.
 *
 * Outflow.  One det_outflow per outflow trigger and one confirm/cooldown
 * wrapper per asset (ETH, then each token of the watch), because two assets
 * draining are two findings with different $token and $amount: each trips
 * on its own and a trip of one does not hide the other.  The trip's value
 * is the window outflow in percent of the asset's balance at the window's
 * start (0 when no such balance is known or it is 0, in which case only
 * min_amount can trip), the threshold is threshold_pct, and the trip
 * carries the outflow as $amount and the token as $token (the zero address
 * for ETH).  The host reads the balances outflow needs
 * (engine_balance_wants) and feeds each with engine_balance().
 *
 * Kinds the engine does not evaluate (mempool, and any kind added to the
 * config later) get no detector but their own confirm/cooldown wrapper:
 * the host evaluates them and passes each condition through
 * engine_external(), so confirm_ms, confirm_ticks and cooldown_ms act the
 * same for every kind.
 *
 * The trip callback runs synchronously inside the engine call that caused
 * the trip; it may read stats but must not call any other engine function.
 */
#ifndef KEEPER_ENGINE_H
#define KEEPER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/config.h"
#include "keeper/detect.h"
#include "keeper/event.h"
#include "keeper/kerr.h"
#include "signer/addr.h"
#include "signer/u256.h"

/* Sizing of the outflow detectors when engine_opts_t leaves it 0: the
 * shortest block time expected (sizes the balance ring: window / this) and
 * the logs remembered per outflow trigger for duplicates and reorgs. */
#define ENGINE_MIN_BLOCK_MS_DEFAULT 1000
#define ENGINE_OUTFLOW_LOGS_DEFAULT 65536
/* by_event[] slots: event_kind_t values below this; others go to slot 0. */
#define ENGINE_EVENT_KINDS 8

typedef struct engine engine_t;

/* A trip of trigger `trigger` (its index in the config's triggers[]).
 * trip and the strings it points to are valid during the call. */
typedef void (*engine_trip_fn)(void *ctx, size_t trigger,
			       const detect_trip_t *trip);

typedef struct {
	int64_t start_ms;         /* engine clock when watching begins: a feed
				     that never ticks is silent since then */
	uint64_t min_block_ms;    /* 0: ENGINE_MIN_BLOCK_MS_DEFAULT */
	size_t outflow_max_logs;  /* 0: ENGINE_OUTFLOW_LOGS_DEFAULT */
} engine_opts_t;

/* One balance the outflow triggers need: asset 0 is the watch's ETH
 * balance, asset 1 + i its balanceOf in watch.tokens[i]. */
typedef struct {
	size_t watch;             /* index in the config's watch[] */
	size_t asset;
	addr_t holder;            /* the watch's address */
	bool is_token;
	addr_t token;             /* is_token: the ERC-20 */
} engine_want_t;

/* Counters of one trigger. */
typedef struct {
	config_trigger_kind_t kind;
	bool external;            /* evaluated by the host (engine_external) */
	uint64_t routed;          /* inputs handed to it: events, balances,
				     external conditions */
	uint64_t timed;           /* evaluations by engine_time */
	uint64_t errors;          /* inputs its detector refused as malformed
				     (a Transfer with bad data, a sum past
				     2^256 - 1) */
	uint64_t trips;
	uint64_t suppressed;      /* confirmed inside the cooldown */
	uint64_t backwards;       /* evaluations at a time before the last */
} engine_trigger_stats_t;

/* Counters of the whole engine. */
typedef struct {
	uint64_t events;                        /* engine_event() calls */
	uint64_t by_event[ENGINE_EVENT_KINDS];  /* by event_kind_t */
	uint64_t unrouted;       /* events no trigger consumed */
	uint64_t bad_feed;       /* feed index beyond the config's feeds */
	uint64_t time_calls;     /* engine_time() calls */
	uint64_t time_backwards; /* calls whose now_ms was before the clock */
	uint64_t balances;       /* engine_balance() observations accepted */
	uint64_t balance_refused;/* out of order or repeats (det_outflow) */
	uint64_t balance_unwanted;/* a (watch, asset) no outflow trigger has */
	uint64_t trips;
	uint64_t external_refused;/* engine_external() on a trigger it evaluates
				     itself, or out of range */
	uint64_t kind_routed[CONFIG_TRIGGER_KINDS];
	uint64_t kind_trips[CONFIG_TRIGGER_KINDS];
} engine_stats_t;

/*
 * Build the detectors of cfg's triggers (cfg must outlive the engine).
 * fn (may be NULL: trips are only counted) receives every trip with ctx.
 * opts may be NULL (start_ms 0, default sizing).  Errors: KERR_ARG (NULL
 * cfg or out), KERR_NOMEM, or a detector's refusal of its trigger
 * (KERR_ARG, KERR_NUM_RANGE), with the trigger's index in *bad (may be
 * NULL; SIZE_MAX when no trigger is at fault).
 */
kerr_t engine_new(const config_keeper_t *cfg, const engine_opts_t *opts,
		  engine_trip_fn fn, void *ctx, engine_t **out, size_t *bad);

/* Free everything.  NULL is ignored. */
void engine_free(engine_t *e);

/*
 * One event, arrived at now_ms on the engine clock.  Returns the number of
 * trips it caused (each already delivered to the callback).
 */
size_t engine_event(engine_t *e, const event_t *ev, int64_t now_ms);

/* The time-driven conditions at now_ms (see above).  Returns the number of
 * trips. */
size_t engine_time(engine_t *e, int64_t now_ms);

/*
 * A balance for outflow: asset (0 ETH, 1 + i watch.tokens[i]) of watch
 * (its index in the config's watch[]) as of block, stamped time_ms on the
 * engine clock.  Every outflow trigger on that watch gets it.  KERR_ARG
 * for a (watch, asset) no outflow trigger watches (counted), KERR_NUM_OVERFLOW
 * (det_outflow).  An observation det_outflow ignores (out of order, a
 * repeat) is KERR_OK and counted.
 */
kerr_t engine_balance(engine_t *e, size_t watch, size_t asset, uint64_t block,
		      int64_t time_ms, const u256_t *balance);

/*
 * The balances outflow needs, one per (watch, asset), watches in config
 * order and assets ascending: up to cap of them into out (may be NULL with
 * cap 0).  Returns how many there are in all.
 */
size_t engine_balance_wants(const engine_t *e, engine_want_t *out, size_t cap);

/*
 * A condition the host evaluated for trigger `trigger` of a kind the engine
 * does not evaluate (mempool, liquidation), at t_ms: passed through that
 * trigger's confirm/cooldown wrapper.  When it trips, the trip carries the
 * trigger, kind, value, threshold (percent), time, and every optional part
 * of *extra (may be NULL): tx (with its sender and fees), account, amount,
 * token; it is delivered to the callback like every trip and copied to
 * *out (may be NULL).  Returns
 * true when it tripped.  A trigger out of range, or one the engine
 * evaluates itself, is refused (false, counted in external_refused).
 */
bool engine_external(engine_t *e, size_t trigger, int64_t t_ms, bool cond,
		     double value, double threshold,
		     const detect_trip_t *extra, detect_trip_t *out);

/*
 * A trip of trigger `trigger` at last_trip_ms made before this engine
 * existed: the state file's cooldowns (keeper/state.h), handed over at
 * start so that a restarted keeper does not trip again within cooldown_ms
 * of its previous process's trip.  last_trip_ms is a trip's time_ms, which
 * is on the clock the trigger's wrapper judges on: the feed's own clock
 * for price_move, ewma_vol, depeg and deviation (a feed's message time
 * when it has a time path, else the arrival), the engine clock for stale
 * and outflow, the caller's t_ms for external triggers; so it is taken
 * as it is.  A time after the engine clock is taken as the engine clock:
 * a wall clock that stepped back, or a feed clock far ahead, must not
 * silence a trigger for longer than cooldown_ms from now.  Every asset
 * of an outflow trigger takes it (the file names the trigger, not the
 * asset: each is held back as if it had tripped, rather than letting one
 * repeat the action within cooldown_ms).  A wrapper that has tripped in
 * this engine keeps its own, newer trip.  No run is started and no trip
 * counted.  Returns true when some wrapper took it; false for a trigger
 * out of range or one that has tripped already.
 */
bool engine_seed_cooldown(engine_t *e, size_t trigger, int64_t last_trip_ms);

/*
 * The virtual clock (replay).  Live calls engine_time() every
 * LIVE_TICK_MS_DEFAULT; replay runs months of events in seconds and cannot
 * afford a call per 100 ms of event time, yet the time-driven conditions
 * must fire at the virtual time they would have fired live, even across
 * the day-long gaps between Chainlink rounds.  engine_next_due() says when
 * the next call can matter: the earliest time > now_ms at which
 * engine_time() could change a verdict or trip, INT64_MAX when no call
 * before the next event can change anything.  A host that calls
 * engine_time() at each due time up to an event's time, then hands the
 * event, gets the trips a host calling it continuously would get, at their
 * exact times.  The time is a lower bound: a call there may change nothing
 * (an outflow window that moved without dropping anything that mattered),
 * never the other way.  Per trigger (confirm_ticks > 0 triggers other than
 * stale are never evaluated by time and so never due):
 *   stale      the first ms the silence exceeds after_ms (latest tick +
 *              after_ms + 1), then as the wrapper below;
 *   depeg      while off the peg: the hold's end (off_since + hold_ms),
 *              then as the wrapper below, on the feed's clock;
 *   price_move, ewma_vol   while the latest verdict is true: as the
 *              wrapper below, on the feed's clock;
 *   deviation  while true: as the wrapper below, and the time either
 *              feed's tick becomes older than max_age_ms (the verdict ends);
 *   outflow    while some asset has outflow in its window: the next bucket
 *              boundary (multiples of ceil(window_ms / DET_OUTFLOW_BUCKETS)
 *              ms, where old outflow leaves, det_outflow.h), and as the
 *              wrapper below for each asset whose condition holds.
 * The wrapper (detect.h) of a condition that holds from time T on: T when
 * no run is under way (the evaluation at T starts one); else the latest of
 * T, the run's start + confirm_ms, the previous evaluation +
 * ENGINE_TIMER_MS while confirm_ticks are missing (stale only), and the
 * last trip + max(cooldown_ms, ENGINE_TIMER_MS) once it tripped.  A time
 * on a feed's clock is placed on the engine clock as engine_time() reads
 * it (see "Time-driven conditions": the feed's latest tick time plus the
 * engine time elapsed since its arrival).
 */
/* The pace of live's engine_time() calls (LIVE_TICK_MS_DEFAULT): what
 * next_due assumes where live's answer depends on that pace (stale
 * evaluations counted by confirm_ticks, repeats with a cooldown_ms below
 * it). */
#define ENGINE_TIMER_MS 100
int64_t engine_next_due(const engine_t *e, int64_t now_ms);

/* The engine clock: the latest now_ms given (opts.start_ms before any). */
int64_t engine_now(const engine_t *e);

/* Number of triggers (the config's ntriggers). */
size_t engine_ntriggers(const engine_t *e);

void engine_stats(const engine_t *e, engine_stats_t *out);

/* Counters of one trigger.  KERR_ARG when trigger is out of range. */
kerr_t engine_trigger_stats(const engine_t *e, size_t trigger,
			    engine_trigger_stats_t *out);

#endif
