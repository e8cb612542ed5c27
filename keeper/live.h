/*
 * live: the live driver of `keeper run`.  It joins the senses to the brain:
 * one event loop (keeper/loop) carrying the node connection (keeper/node:
 * heads, pending transactions, and the watched tokens' Transfer logs of
 * every watch entry), the price feeds (keeper/feeds), the chain.rpc client
 * (keeper/rpc over keeper/rpc_http, for the node's catch-up and balance
 * reads) and the detectors (keeper/engine).
 *
 * Clock.  The engine clock is the loop's cached wall clock (loop_wall_ms),
 * the clock feeds stamp recv_ms and EV_FEED_* with, flattened so that it
 * never goes back within a run (a step back of the system clock holds it
 * still until real time catches up).  Every event goes to the engine at
 * the time of the loop turn it arrived in; a timer calls engine_time()
 * every tick_ms for the time-driven conditions (stale silence, depeg
 * hold_ms, confirm_ms, outflow windows).
 *
 * Balances for outflow.  Every (watch, asset) that an outflow trigger needs
 * (engine_balance_wants) is read at start (at the block eth_blockNumber
 * names) and again at every new head: eth_getBalance(watch, block) for
 * ETH, balanceOf(watch) by eth_call to the token at that block number for
 * tokens.  Reading at the head's number, not "latest", makes each reading
 * the state after exactly that block, however late the answer comes.  Each
 * reading is fed to engine_balance() stamped with the engine time at which
 * the HEAD arrived, not the answer's: a block's Transfer logs reach keeper
 * together with its head and are stamped on arrival, so stamping the
 * block's balances with the head's arrival puts the ETH decrease and the
 * token outflows of one block at the same place in the window whatever the
 * RPC's latency; and the chain's own header time (seconds, another clock)
 * must not be mixed with the engine clock (det_outflow.h).  At most
 * LIVE_BALANCE_INFLIGHT reads are in flight; a want whose read is still
 * out when the next head comes is read again for the newest head once it
 * returns.  A read that fails (transport, node error, a reply that is not
 * a balance) is counted and logged, never fed as zero, and tried again at
 * the next head.
 *
 * Trips.  Each trip is logged as one line (module "trip", level warn, in
 * the config's log format) with the trigger, kind, value, threshold, unit
 * and time, the trigger's action, and the transaction (with its sender),
 * account, amount and token when the trip has them; then it goes to the trip callback (the action layer plugs in
 * there).  The engine is reachable (live_engine) for hosts that evaluate
 * kinds the engine does not (engine_external).
 *
 * Nothing here signs or sends a transaction.
 */
#ifndef KEEPER_LIVE_H
#define KEEPER_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/config.h"
#include "keeper/detect.h"
#include "keeper/engine.h"
#include "keeper/kerr.h"
#include "keeper/loop.h"

/* engine_time() period when live_opts_t leaves it 0. */
#define LIVE_TICK_MS_DEFAULT 100
/* Balance reads in flight at once (the rpc client has RPC_MAX_SLOTS, and
 * the node's catch-up needs some). */
#define LIVE_BALANCE_INFLIGHT 16

typedef struct live live_t;

/* Called after a trip was logged; trigger is its index in the config's
 * triggers[].  Runs on the loop thread; must not call live_free(). */
typedef void (*live_trip_fn)(void *ctx, size_t trigger,
			     const detect_trip_t *trip);

typedef struct {
	uint32_t tick_ms;          /* 0: LIVE_TICK_MS_DEFAULT */
	uint64_t min_block_ms;     /* engine sizing; 0: the engine's default */
	live_trip_fn on_trip;      /* may be NULL */
	void *ctx;
} live_opts_t;

typedef struct {
	engine_stats_t engine;     /* events by kind, trips, ... */
	uint64_t heads;            /* heads that started balance reads */
	uint64_t balance_reads;    /* reads sent */
	uint64_t balance_ok;       /* readings fed to the engine */
	uint64_t balance_failed;   /* reads that failed or could not be sent */
} live_stats_t;

/*
 * Set everything up for cfg (which must outlive the driver): the loop, the
 * rpc client, the node, the feeds and the engine.  Nothing connects before
 * live_run().  opts may be NULL.  Errors: KERR_ARG, KERR_NOMEM, the loop's
 * and modules' own, or the engine's refusal of a trigger (its index in
 * *bad, which may be NULL; SIZE_MAX otherwise).
 */
kerr_t live_new(const config_keeper_t *cfg, const live_opts_t *opts,
		live_t **out, size_t *bad);

/*
 * Connect and run until live_stop().  Once only.  Returns KERR_OK after a
 * stop, the feeds' or node's start error, or KERR_IO when the loop failed.
 */
kerr_t live_run(live_t *lv);

/* Ask live_run() to return.  Async-signal-safe (a SIGTERM handler may
 * call it). */
void live_stop(live_t *lv);

/* The engine (for engine_external and counters) and the loop (for more
 * timers and connections of the host). */
engine_t *live_engine(live_t *lv);
loop_t *live_loop(live_t *lv);

void live_stats(const live_t *lv, live_stats_t *out);

/* Close every connection and free everything.  Not from inside a callback
 * of the loop.  NULL is ignored. */
void live_free(live_t *lv);

#endif
