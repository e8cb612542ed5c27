/*
 * det_mempool: the `mempool` trigger's detector: a pending transaction to a
 * watched contract that looks like an attack, judged before it is mined.
 *
 * Pure, like every detector: no I/O, no clock reads, no allocation.  The
 * owner feeds each pending transaction to det_mempool_match(); for a match
 * it either judges at once (simulate = false) or asks keeper/sim for the
 * transaction's effect and judges the result when it arrives
 * (det_mempool_judge), with the trip going through detect.h's
 * confirm/cooldown like every kind.
 *
 * Matching (det_mempool_match), in this order:
 *  - a hash-only event (full = false) cannot be matched: without `to` and
 *    calldata nothing says it concerns the watch.  keeper/node fetches the
 *    full object for every hash a node notifies, so such an event only
 *    arrives when node's fetch bound (max_fetches) was exceeded; it is
 *    counted in hash_only, which an operator should watch (raise the
 *    bound) rather than ignore;
 *  - a contract creation (no `to`) never matches: it cannot call the
 *    watch (its init code could, but the creation is not "to" the watch);
 *  - `to` must be watch.address;
 *  - with selectors given, the calldata's first 4 bytes must be one of
 *    them: calldata shorter than 4 bytes (a plain ETH transfer, which the
 *    contract's receive/fallback gets) then does NOT match; with no
 *    selectors every call matches, short calldata included.  Calldata that
 *    is not hex is counted (bad_input) and does not match;
 *  - a sender in `allow` never matches.
 *
 * Judging (det_mempool_judge), with a simulation result: for every asset
 * (ETH, then the watch's tokens) whose balance was read, the loss trips
 * when loss > 0 and loss >= ceil(before * threshold_pct / 100), compared
 * exactly in 256 bits with threshold_pct taken to 1e-6 percent; a balance
 * of 0 before cannot lose.  A reverted transaction loses nothing.  The
 * trip's value is the largest loss percentage (100 * loss / before) among
 * the assets, threshold = threshold_pct, unit pct; has_amount/amount is
 * that asset's loss and has_token/token the asset (the zero address for
 * ETH).
 *
 * A simulation that fails, by cause:
 *  - because of the transaction itself (det_mempool_unsimulable): its
 *    calldata is over SIM_INPUT_MAX (sim_request refuses it with
 *    KERR_TOO_LONG), or the node's answer about it is too deep or too
 *    large for the parser (a result with KERR_TOO_LONG: jtok's depth and
 *    token limits, the reply size limit, more than SIM_MAX_ITEMS frames,
 *    accounts or logs).  An attacker can craft exactly such a transaction
 *    (padded calldata, a deep call chain, thousands of logs) to go
 *    unsimulated, so it is judged as without simulate: the worst case,
 *    value 100 (counted in unsimulable, and in judged);
 *  - otherwise (timeout, node error, connection, a reply that is not
 *    JSON-RPC, a full simulation queue): not evaluated at all (counted in
 *    sim_failed): it neither trips nor ends a confirm run.  The owner
 *    counts these and logs each such transaction once at warn level;
 *    keep sim_failed on a dashboard, since a node that cannot simulate
 *    leaves the trigger blind.
 *
 * Without simulate (result NULL): a match alone is the condition, judged
 * as the worst case: value 100 (percent of the balance assumed at risk),
 * threshold = threshold_pct, and no amount or token.
 *
 * Every trip carries the transaction (has_tx, tx_hash, tx_from, tx_type and
 * its fees as event_tx_t normalised them) so that a gas strategy can
 * outbid it.  The judge reads only the transaction's fixed fields, never
 * its calldata view, so the owner may keep a copy of the event_tx_t for
 * the asynchronous result.
 */
#ifndef KEEPER_DET_MEMPOOL_H
#define KEEPER_DET_MEMPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "keeper/config.h"
#include "keeper/detect.h"
#include "keeper/event.h"
#include "keeper/kerr.h"
#include "keeper/sim.h"

/* threshold_pct is used to this many millionths of a percent. */
#define DET_MEMPOOL_PCT_SCALE 1000000u

typedef struct {
	uint64_t seen;         /* transactions given to match */
	uint64_t hash_only;    /* full = false: cannot be matched */
	uint64_t creations;    /* no `to` */
	uint64_t other_to;     /* to another address */
	uint64_t selector_miss;/* a selector not in the list, or < 4 bytes */
	uint64_t bad_input;    /* calldata that is not hex */
	uint64_t allowed;      /* sender in allow */
	uint64_t matched;      /* suspicious */
	uint64_t judged;       /* evaluations fed to the trigger */
	uint64_t sim_failed;   /* simulations that failed for the transport
				  or the node: not evaluated */
	uint64_t unsimulable;  /* simulations the transaction itself defeated:
				  judged as the worst case */
	uint64_t reverted;     /* results of a reverting transaction */
	uint64_t unknown;      /* assets whose balance the simulation could not read */
	uint64_t below;        /* evaluations under the threshold */
	uint64_t over;         /* evaluations at or over it (trips + those
				  confirm/cooldown held back) */
	uint64_t tripped;      /* trips returned */
} det_mempool_stats_t;

typedef struct {
	const config_trigger_t *cfg;
	detect_trigger_t tr;
	uint64_t pct_micro;    /* threshold_pct * DET_MEMPOOL_PCT_SCALE */
	det_mempool_stats_t st;
} det_mempool_t;

/* For a `mempool` trigger with a watch and threshold_pct in (0, 100]
 * (cfg must outlive d); KERR_ARG otherwise. */
kerr_t det_mempool_init(det_mempool_t *d, const config_trigger_t *cfg);

/* Whether tx is suspicious (see Matching). */
bool det_mempool_match(det_mempool_t *d, const event_tx_t *tx);

/*
 * Judge a matched tx at t_ms: r is its simulation (NULL without
 * simulate).  True when the trigger trips; *out (may be NULL) then holds
 * the trip.  A result for another transaction or watch counts as failed.
 */
bool det_mempool_judge(det_mempool_t *d, const event_tx_t *tx,
		       const sim_result_t *r, int64_t t_ms, detect_trip_t *out);

/*
 * Whether a simulation error is the transaction's own doing (KERR_TOO_LONG:
 * see "A simulation that fails"), to be judged as the worst case, rather
 * than the transport's or the node's.
 */
bool det_mempool_unsimulable(kerr_t err);

/*
 * Judge a matched tx whose simulation failed with err (sim_request's
 * refusal or a result's error) at t_ms: an unsimulable one as without
 * simulate (true when it trips, *out as for det_mempool_judge), any other
 * error counted in sim_failed and not evaluated (false).
 */
bool det_mempool_judge_failed(det_mempool_t *d, const event_tx_t *tx, kerr_t err,
			      int64_t t_ms, detect_trip_t *out);

const det_mempool_stats_t *det_mempool_stats(const det_mempool_t *d);

#endif
