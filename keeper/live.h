/*
 * live: the live driver of `keeper run`.  It joins the senses to the brain:
 * one event loop (keeper/loop) carrying the node connection (keeper/node:
 * heads, pending transactions, and the watched tokens' Transfer logs of
 * every watch entry), the price feeds (keeper/feeds), the chain.rpc client
 * (keeper/rpc over keeper/rpc_http, for the node's catch-up, balance
 * reads and liquidation scans) and the detectors: keeper/engine for the
 * kinds it evaluates, det_mempool with keeper/sim for `mempool` and
 * liq_scan for `liquidation`.
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
 * Mempool triggers.  Each has a det_mempool; every EV_PENDING_TX goes to
 * each one's match.  With a mempool trigger the node also reads the
 * pending pool at each connection (node.h, "Pending transactions at
 * connect"), so that a drain already pending at start, or announced while
 * the node's socket was down, is judged like one announced live.  A match without simulate is judged at once (the worst
 * case, det_mempool.h); with simulate it is simulated by one keeper/sim
 * shared by all of them and judged when the result arrives (on the engine
 * clock of that moment), from a copy of the transaction's fixed fields
 * (its calldata view dies with the event).  The sim has an rpc client of
 * its own on the same endpoints (rpc_http transport), sized for its
 * requests (max_request SIM_REQUEST_MAX + 256: calldata up to
 * SIM_INPUT_MAX, in hex, twice) with a slot for each call its simulations
 * can have out at once, so that simulations neither take slots from the
 * node's catch-up and the balance reads nor make every slot of those that
 * large.  A transaction that defeats simulation by itself (calldata over
 * SIM_INPUT_MAX, a reply too deep or large to parse) is judged as the
 * worst case; a simulation that fails for the transport or the node
 * (timeout, node error, connection), or cannot be asked because
 * LIVE_SIM_PENDING requests already wait, is not judged: it is counted
 * (sim_unjudged) and logged at warn once per transaction.  A transaction
 * the node notifies twice is judged twice (the second from sim's cache),
 * and the trigger's cooldown_ms holds back a second trip (a verdict over
 * the threshold that the cooldown holds back is logged at info, naming the
 * trip it follows).  These trips do not go through engine_external:
 * det_mempool applied confirm/cooldown.
 *
 * Cooldowns across restarts.  The tracker's state file keeps each
 * trigger's last trip (tracker.h); at start, and after a reload, every
 * trigger the file names takes it as a trip made before this process
 * (engine_seed_cooldown; a mempool trigger's own wrapper here), so a
 * restarted keeper does not trip again within cooldown_ms of its previous
 * process's trip.  Each trigger seeded at start is logged at info (its
 * last trip and the end of its cooldown).  The time is the trip's own,
 * on the clock its trigger judges on (engine.h).  Liquidation triggers
 * keep their cooldowns per account and are not seeded.  A dry run keeps
 * no state file, so it seeds nothing.
 *
 * Liquidation triggers.  Each has a keeper/liq_scan on the chain.rpc
 * client, fed every event (liq_scan_event: heads and ticks of its feed
 * start scans, the pool's logs discover borrowers).  The node delivers a
 * contract's logs only when it is a watch entry, so a pool that is not
 * one is named at start: its new borrowers are then not discovered live.
 * With `discover`, the logs of the last LIVE_LIQ_CATCHUP_BLOCKS blocks
 * (about two weeks at 12 s) are fetched at start (eth_getLogs, up to the
 * block eth_blockNumber names, or the first head when that call fails);
 * older borrowers must be listed in `accounts`.  Each change of a book's
 * size and the end of that catch-up are logged at info (checked every
 * tick_ms), so an operator sees discovery at work.  A trip's time is the
 * scan's: the head's timestamp (the chain's clock) or the feed tick's
 * arrival.  In a dry run no transaction resolves a trip, so an account
 * trips once and stays in flight until a scan sees it healthy
 * (strategies/liq.h): it trips again only after it recovered and fell
 * again.
 *
 * Trips.  Each trip, whoever evaluated it (the engine, a det_mempool, a
 * liq_scan), is counted and logged as one line (module "trip", level
 * warn, in the config's log format) with the trigger, kind, value,
 * threshold, unit and time, the trigger's action, and the transaction
 * (tx, sender, tx_type and its fees: gas_price for types 0 and 1,
 * max_fee and max_priority_fee for later types, in wei per gas), account,
 * amount and token when the trip has them; then it goes to the trip
 * callback.
 *
 * Actions.  Every trip then goes to one keeper/tracker (tracker.h has its
 * rules: guard, lanes, presign, nonces, escalation, state file), created
 * here on the chain.rpc client and the loop, with the signer of the
 * options: heads go to tracker_head() after the detectors have seen them,
 * and each final outcome of a liquidation trip goes back to its
 * liq_scan (liq_scan_resolved: mined and reverted as LIQ_MINED, a guard
 * that read true as LIQ_MINED too -- the account was dealt with -- and
 * failed as LIQ_FAILED), so the account is re-armed.  A trip the tracker
 * refuses at once (its calldata, no room) is a LIQ_FAILED too; one refused
 * because its lane is busy is answered by the transaction in flight.  In
 * a dry run (no signer, or opts.dry_run) the tracker only logs the would-be
 * transaction (signed at the next nonce when there is a signer) and
 * reports DRY_RUN, which resolves nothing: a liquidation account stays in
 * flight until a scan sees it healthy, as before.  The tracker's state file
 * is the config's state_file (not in a dry run); its clock is the engine
 * clock above (wall time, so sent_ms means something after a restart).
 * When the tracker sends, live also makes the relay client of the config's
 * `private` gas strategies (keeper/relay.h, one http client of its own)
 * and, when an action has a `notify` URL, the webhook queue
 * (keeper/notify.h, another), both on the loop and given to the tracker,
 * which submits and posts through them (tracker.h: Private, Webhooks); a
 * dry run makes neither, so it submits and posts nothing.
 *
 * Metrics.  With metrics.listen, live serves /metrics and /healthz on its
 * loop (keeper/metrics.h): trips are counted by trigger as they happen;
 * everything else is copied from the modules' counters at each scrape
 * (events, malformed frames and reconnects of each feed and the node, feed
 * age, transactions by result, rpc errors by endpoint index, the signer's
 * next nonce, and with a relay or webhooks their requests by result).
 * keeper_trip_to_wire_seconds runs from the trip to the first
 * eth_sendRawTransaction after it handed to the chain.rpc transport (live
 * wraps that transport; see live.c); the trips of a private action without
 * also_public, which never reach it, are not measured.  The signer's balance is not a
 * gauge: the tracker keeps only whether it is too low.  /healthz fails
 * "feed" while a feed is stale (naming it), "node" while the node socket
 * is not open, "signer_balance" while the tracker says the balance is too
 * low, "state_file" for a minute after a failed state file write.  A
 * listen address that cannot be bound fails live_new() (logged).
 *
 * Stopping.  After live_stop() no trip is handed to the tracker any more
 * (each is still logged, with a warning that it was not acted on).  With
 * opts.drain_ms the loop then keeps running while the tracker has
 * transactions in flight (receipts read, escalation and re-broadcasts at
 * each head, as before), for at most drain_ms: a pause already sent is
 * seen through rather than abandoned mid-flight.  A second live_stop()
 * ends that at once.  Either way live_run() then writes the state file one
 * last time, so whatever is still in flight is resumed by the next start.
 * The stop does not wait for webhooks: bodies still queued or unanswered
 * when the loop ends are dropped with the driver (live_free).
 *
 * Reloading.  live_reload() swaps in a new config while the connections
 * keep running: a guardian must not stop guarding while it re-reads its
 * config.  Only what can change in place is accepted: the parameters of
 * the engine's triggers (thresholds, windows, directions, pegs, hold and
 * age limits, min_amount, confirm_ms, confirm_ticks, cooldown_ms) and of
 * mempool triggers (threshold_pct, selectors, allow, min_amount, confirm,
 * cooldown; not simulate), and the log group (the caller applies it).
 * Anything that needs a new connection, key, book or lane is refused,
 * each difference logged at error: chain, signer, feeds, watch, actions,
 * gas, metrics, state_file, the list of triggers (names, kinds, actions,
 * feeds, watch entries), a mempool trigger's simulate, and every setting
 * of a liquidation trigger.  An accepted reload rebuilds the engine and
 * the mempool detectors from the new config, with fresh state (windows,
 * bases and baselines refill, confirm restarts, cooldowns run on from the
 * state file's trips) -- as at a start, but without dropping a
 * connection, a transaction in flight or a liquidation book.
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
#include "keeper/notify.h"
#include "keeper/relay.h"
#include "keeper/tracker.h"
#include "signer/signer.h"

/* engine_time() period when live_opts_t leaves it 0. */
#define LIVE_TICK_MS_DEFAULT 100
/* Balance reads in flight at once (the rpc client has RPC_MAX_SLOTS, and
 * the node's catch-up needs some). */
#define LIVE_BALANCE_INFLIGHT 16
/* Simulations asked and not yet answered, over all mempool triggers
 * (sim's own queue holds SIM_QUEUE_DEFAULT transactions). */
#define LIVE_SIM_PENDING 1024
/* Blocks whose discover logs a liquidation trigger reads at start. */
#define LIVE_LIQ_CATCHUP_BLOCKS 100000

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
	const signer_t *signer;    /* restricted to tracker_targets(); NULL:
				      nothing is signed (a dry run) */
	bool dry_run;              /* never send, even with a signer */
	uint32_t drain_ms;         /* after live_stop(): follow transactions
				      in flight this long at most; 0: stop at
				      once */
} live_opts_t;

typedef struct {
	engine_stats_t engine;     /* events by kind, the engine's trips, ... */
	uint64_t trips;            /* every trip logged: the engine's, mempool
				      and liquidation */
	uint64_t heads;            /* heads that started balance reads */
	uint64_t balance_reads;    /* reads sent */
	uint64_t balance_ok;       /* readings fed to the engine */
	uint64_t balance_failed;   /* reads that failed or could not be sent */
	uint64_t mempool_matched;  /* (trigger, pending tx) matches */
	uint64_t sim_requests;     /* simulations asked (sim_request accepted) */
	uint64_t sim_unsimulable;  /* matches the transaction made unsimulable:
				      judged as the worst case */
	uint64_t sim_unjudged;     /* matches left unjudged: the simulation
				      failed (transport, node) or was refused */
	uint64_t liq_scans;        /* liquidation scans completed */
	uint64_t liq_errors;       /* their calls that failed or were malformed */
	uint64_t liq_discovered;   /* borrowers discovered (catch-up and live) */
	uint64_t trips_ignored;    /* trips after live_stop(): not acted on */
	uint64_t trips_refused;    /* trips the tracker refused at once (busy
				      lane, calldata, no room) */
	uint64_t reloads;          /* live_reload() calls that swapped */
	uint64_t reloads_refused;  /* and that refused the new config */
	bool drained;              /* the stop followed transactions in flight */
	bool drain_expired;        /* ... and drain_ms passed with some left */
	bool aborted;              /* a second live_stop() cut the stop short */
	tracker_stats_t tracker;   /* sent, mined, ... (tracker.h) */
	relay_stats_t relay;       /* the private relays' (zero without one) */
	notify_stats_t notify;     /* the webhooks' (zero without one) */
} live_stats_t;

/*
 * Set everything up for cfg (which must outlive the driver): the loop, the
 * rpc clients, the node, the feeds, the engine, the mempool and
 * liquidation detectors.  Nothing connects before live_run().  opts may be
 * NULL.  Errors: KERR_ARG, KERR_NOMEM, the loop's and modules' own (the
 * tracker's among them: its state file, KERR_STATE_INVALID), or the
 * refusal of a trigger by the engine or its detector (its index in *bad,
 * which may be NULL; SIZE_MAX otherwise).
 */
kerr_t live_new(const config_keeper_t *cfg, const live_opts_t *opts,
		live_t **out, size_t *bad);

/*
 * Connect, start the tracker (its first look at the chain) and run until
 * live_stop(); then save the tracker's state.  Once only.  Returns KERR_OK
 * after a stop, the feeds', node's or tracker's start error, or KERR_IO
 * when the loop failed.
 */
kerr_t live_run(live_t *lv);

/* Ask live_run() to return: the first call stops taking trips and, with
 * opts.drain_ms, lets transactions in flight resolve first (see
 * "Stopping"); a later call makes it return at once.  Async-signal-safe (a
 * SIGTERM handler may call it). */
void live_stop(live_t *lv);

/*
 * Swap in cfg (see "Reloading"): KERR_OK when it was applied; otherwise
 * KERR_CONFIG_INVALID (every refused difference logged), or the engine's
 * or a detector's refusal of a trigger, or KERR_NOMEM, and the running
 * config stays.  cfg must be valid (config_load) and outlive the driver
 * or the next accepted live_reload(), whichever comes first; the config
 * given to live_new() must still outlive the driver (the connections,
 * the tracker and the liquidation books stay on it).  Loop thread only,
 * from a timer or outside the loop; not from a trip callback.
 */
kerr_t live_reload(live_t *lv, const config_keeper_t *cfg);

/*
 * An event as if the node had delivered it: what node hands live's sink
 * for each frame it parsed (tests and bench_trip feed frames through
 * node_parse and then here).  Loop thread only, outside the loop's
 * callbacks or inside them.
 */
void live_event(live_t *lv, const event_t *ev);

/* Whether trigger i is evaluated: by the engine, or here (mempool,
 * liquidation).  False for a kind neither knows, and out of range. */
bool live_evaluates(const live_t *lv, size_t trigger);

/* The engine (for counters), the loop (for more timers and connections
 * of the host) and the tracker (counters, tests). */
engine_t *live_engine(live_t *lv);
loop_t *live_loop(live_t *lv);
tracker_t *live_tracker(live_t *lv);

void live_stats(const live_t *lv, live_stats_t *out);

/* Close every connection and free everything.  Not from inside a callback
 * of the loop.  NULL is ignored. */
void live_free(live_t *lv);

#endif
