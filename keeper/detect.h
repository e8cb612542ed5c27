/*
 * detect: what every trigger kind shares, kept out of the kinds so that
 * confirm/cooldown behave identically whatever produced the condition.
 *
 * A detector module (det_price_move, det_ewma, det_deviation, det_depeg,
 * det_stale, det_outflow, …) turns events into a (time, condition, value)
 * triple; it hands the triple to its detect_trigger_t, which applies the
 * trigger's confirm_ms / confirm_ticks and cooldown_ms and, when the trigger
 * trips, fills a detect_trip_t: the context the action layer and the report
 * need (interface.md, "Report").  Detectors are pure state machines: state +
 * event -> verdict, no clock reads, no I/O, no allocation after init.
 *
 * Confirm and cooldown rules (the same for every kind):
 *  - A "run" starts at the first call whose condition is true after a call
 *    whose condition was false (or after init); every call with a true
 *    condition counts one tick of the run; a false condition ends the run.
 *  - The run is confirmed when t - run_start >= confirm_ms (if confirm_ms >
 *    0) and its tick count >= confirm_ticks (if confirm_ticks > 0).  Both 0:
 *    confirmed on its first tick.
 *  - A confirmed call trips unless the previous trip was less than
 *    cooldown_ms ago; such a call is counted in `suppressed`.  A trip does
 *    not end the run: while the condition keeps holding, the trigger trips
 *    again each time cooldown_ms has passed since its last trip, because a
 *    still-broken market must be signalled again if the first action failed
 *    (the action's guard keeps a done action from being sent twice).  With
 *    cooldown_ms = 0 every confirmed call trips.
 *  - Calls whose time is earlier than the previous call's are ignored and
 *    counted in `backwards` (the detectors already drop such events; this is
 *    the wrapper's own guard).
 */
#ifndef KEEPER_DETECT_H
#define KEEPER_DETECT_H

#include <stdbool.h>
#include <stdint.h>
#include "keeper/config.h"
#include "signer/addr.h"
#include "signer/u256.h"

/* The unit of a trip's value and threshold, named in logs and reports. */
typedef enum {
	DETECT_UNIT_PCT = 0,          /* percent (price moves, deviation, depeg) */
	DETECT_UNIT_PCT_SQRT_MIN,     /* percent per sqrt(minute) (ewma_vol) */
	DETECT_UNIT_MS,               /* milliseconds (stale: silence) */
	DETECT_UNIT_RATIO,            /* a plain ratio (liquidation: health factor) */
} detect_unit_t;

/* "pct", "pct_per_sqrt_min", "ms", "ratio"; "unknown" otherwise. */
const char *detect_unit_name(detect_unit_t unit);

/*
 * The context of one trip.  value and threshold are in `unit`.  The has_*
 * fields say which optional parts the kind filled in; a detector that knows
 * them (a mempool or outflow trigger: the transaction, the account to
 * liquidate, the amount and token) sets them after detect_trigger_feed()
 * returned true.
 */
typedef struct {
	const char *trigger;          /* the trigger's name (owned by the config) */
	config_trigger_kind_t kind;
	double value;
	double threshold;
	detect_unit_t unit;
	int64_t time_ms;              /* time of the event that tripped */
	bool has_tx;
	uint8_t tx_hash[32];          /* the triggering transaction */
	bool has_account;
	addr_t account;               /* e.g. a liquidation candidate ($account) */
	bool has_amount;
	u256_t amount;                /* $amount, smallest token unit */
	bool has_token;
	addr_t token;                 /* $token; the zero address for ETH */
	/* With has_tx: what a gas strategy needs to outbid the triggering
	 * transaction (event_tx_t's normalised fees: for type 0 and 1 the
	 * max and priority fees equal the gas price). */
	addr_t tx_from;               /* its sender ($sender) */
	uint8_t tx_type;              /* EIP-2718 type */
	u256_t tx_gas_price;          /* wei per gas; zero when the node did
					 not report one (type >= 2) */
	u256_t tx_max_fee;            /* wei per gas */
	u256_t tx_max_priority_fee;   /* wei per gas */
} detect_trip_t;

/*
 * Input counters every price detector keeps; see each kind's header for
 * which rule applies to which input.
 */
typedef struct {
	uint64_t accepted;    /* events used */
	uint64_t bad_value;   /* NaN, infinite or <= 0 price: dropped */
	uint64_t backwards;   /* time earlier than the feed's previous: dropped */
	uint64_t dup_time;    /* time equal to the feed's previous (the kind's
				 header says whether it is used or dropped) */
} detect_stats_t;

/* Confirm/cooldown state of one trigger.  Fields are read-only outside
 * detect.c; trips and suppressed are for metrics. */
typedef struct {
	const char *name;
	config_trigger_kind_t kind;
	detect_unit_t unit;
	uint64_t confirm_ms;
	uint64_t confirm_ticks;
	uint64_t cooldown_ms;
	bool running;          /* a run of true conditions is under way */
	int64_t run_start_ms;
	uint64_t run_ticks;
	bool has_tripped;
	int64_t last_trip_ms;
	bool has_time;
	int64_t last_ms;
	uint64_t trips;        /* trips returned */
	uint64_t suppressed;   /* confirmed calls inside a cooldown */
	uint64_t backwards;    /* calls with a time earlier than the last */
} detect_trigger_t;

/* Take name, kind, confirm_ms, confirm_ticks and cooldown_ms from cfg (which
 * must outlive tr, since the name is not copied). */
void detect_trigger_init(detect_trigger_t *tr, const config_trigger_t *cfg,
			 detect_unit_t unit);

/*
 * One evaluation of the trigger's condition at t_ms.  Returns true when the
 * trigger trips; *out (may be NULL) then holds the trip with value and
 * threshold as given and no optional parts.  O(1), no allocation.
 */
bool detect_trigger_feed(detect_trigger_t *tr, int64_t t_ms, bool cond,
			 double value, double threshold, detect_trip_t *out);

/*
 * A trip at last_trip_ms that this wrapper did not see: the previous
 * process's, from the state file (keeper/state.h), so that a restarted
 * keeper keeps the cooldown instead of tripping again at once.  Taken only
 * when the wrapper has not tripped itself (its own trip is newer); no run
 * is started and nothing is counted.  last_trip_ms is on the clock the
 * wrapper is fed with.  Returns true when taken.
 */
bool detect_trigger_seed(detect_trigger_t *tr, int64_t last_trip_ms);

/* True when a price is usable: finite and > 0 (event.h's promise, checked
 * again because replay files and tests can break it). */
bool detect_price_ok(double price);

/*
 * The admission rule of one price stream, the same for every kind: a price
 * that fails detect_price_ok is dropped (st->bad_value); a time before the
 * stream's last accepted tick is dropped (st->backwards); a time equal to it
 * is counted in st->dup_time and then used, or dropped when same_ms_ok is
 * false.  *seen and *last_ms are the stream's last accepted tick and are
 * updated when the tick is accepted (st->accepted).  Returns true then.
 */
bool detect_admit(detect_stats_t *st, bool *seen, int64_t *last_ms,
		  int64_t t_ms, double price, bool same_ms_ok);

#endif
