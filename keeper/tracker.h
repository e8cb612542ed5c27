/*
 * tracker: keeper's hands.  It turns a trip into a signed transaction,
 * gets it to the nodes, and follows it on every new head until it is
 * mined, replaced, stopped by its guard or given up -- without ever
 * sending two different transactions that could both land for one trip,
 * and without letting the nonce counter jam.
 *
 * Everything runs on the loop thread, from tracker_trip(), tracker_head(),
 * tracker_poll() and rpc's completions; nothing blocks: every chain read
 * is an rpc call whose completion carries the work on.
 *
 * Lanes.  A lane is an action, or an (action, account) pair when the
 * action takes $account (liquidations: one account, one transaction).
 * At most one transaction is in flight per lane: a trip for a busy lane
 * is refused with KERR_IN_FLIGHT (the trigger trips again after its
 * cooldown if the condition holds; the transaction in flight already
 * answers it).  A lane is busy from the trip until the outcome is final.
 *
 * A trip (tracker_trip):
 *  1. calldata from the action's call and args (keeper/action.h); a
 *     missing trip field fails the trip (KERR_ACTION_FIELD);
 *  2. presigned fast path: an action with presign = true whose args are
 *     all literals keeps a transaction signed for the next nonce at the
 *     fee of the last head (refreshed after every head and every nonce
 *     change, and only while its guard read false at the last head).  A
 *     trip whose own quote is that bid (always, but for an outbid trip
 *     whose rival bids more: that one is signed on the path, step 4) takes
 *     that nonce, records the transaction in the state file and
 *     broadcasts those very bytes: no signing and no guard round trip on
 *     the path; escalation then follows as for any other transaction;
 *  3. otherwise the guard view, when the action has one, is read with
 *     eth_call at "latest": true ends the trip (GUARD_STOPPED, nothing is
 *     sent); a guard that cannot be read is a warning and the transaction
 *     is sent (a guardian that withholds its pause because a view call
 *     timed out fails at its one job);
 *  4. the first bid is the strategy's initial quote (strategies/gas.h)
 *     over the market of the last head (its base fee and gas, and the
 *     eth_feeHistory rewards at the strategy's percentile: eip1559's
 *     priority_percentile, 50 for the others) and, for a trip caused by a
 *     pending transaction, that transaction's fees as the rival (outbid).
 *     Before the first head the market is the latest block, read with
 *     the fee history by the start's round (tracker_start): a trip that
 *     waits for that round's nonce is quoted after it, so a keeper that
 *     trips before it has seen a head does not bid its strategy's cap.
 *     If that read fails (a warning), the cap it is until a head comes;
 *  5. a nonce from keeper/nonce.h (before the first chain observation the
 *     trip waits for one, and so after a "nonce too low"), an EIP-1559
 *     transaction to the action's `to`, signed by the (restricted) signer;
 *  6. the state file is written BEFORE the broadcast (a crash after the
 *     send must find the transaction on restart, or a restarted keeper
 *     would send a second one for the same trip).  A failed write is an
 *     error line and a counter but does not withhold the transaction;
 *  7. the raw bytes go to every chain.rpc endpoint at once
 *     (rpc_broadcast_raw_transaction: "already known" counts as accepted),
 *     or for a `private` gas strategy to its relay (see Private below).
 *
 * The broadcast's verdict:
 *  - accepted: the transaction is in flight (one log line, state saved);
 *  - nonce too low, or "replacement underpriced" for a first send (another
 *    transaction of this account holds the nonce): the nonce is spent
 *    elsewhere; the counter resyncs (nonce rule 2) and the trip is signed
 *    again with a fresh nonce once the chain has been observed;
 *  - another node error (underpriced, insufficient funds, ...): no node
 *    has the transaction, so its nonce goes back (nonce rule 1), the state
 *    entry is dropped, and the trip is signed afresh after the next head,
 *    up to opts.retry_heads times, then FAILED.  Insufficient funds is an
 *    error line;
 *  - no node answered (timeouts, connection errors): some node may have
 *    it, so the same bytes stay in flight (and in the state file) and the
 *    head rounds re-broadcast them.
 *
 * On every head (tracker_head) a round reads, in JSON-RPC batches: the
 * account's eth_getTransactionCount at "latest" (L) and "pending" (P) and
 * its balance; eth_feeHistory; per transaction in flight the receipts of
 * its last TRACKER_VERSIONS hashes and its guard; per presigned action its
 * guard.  When every answer is in, in this order:
 *  - nonce rule 3: the counter becomes P moved past our in-flight nonces
 *    that continue it (nonce_observe);
 *  - a receipt of any version: the trip is resolved, MINED (status 1) or
 *    REVERTED (status 0), with that version's hash; the state entry goes.
 *    The transaction is then watched for opts.watch_blocks more heads
 *    (its lane is free meanwhile): a receipt that disappears (a reorg)
 *    puts it back in flight, its bytes are re-broadcast, and its outcome
 *    is reported again when it is mined again;
 *  - the guard true: GUARD_STOPPED, nothing more is sent for that trip;
 *  - L above the nonce, with no receipt for any version two rounds in a
 *    row (one round could read the receipts before the block and the
 *    count after it): something else used the nonce (the account was
 *    used outside keeper, or the node dropped ours for another); the trip
 *    is signed again with a fresh nonce (DROPPED is counted, not final);
 *  - the strategy's replace() on the new head: GAS_SEND signs
 *    the same nonce at the new fees (written to the state file first, and
 *    back to the previous version if no node accepts it); a quote the cap
 *    cut is an alert (error line) and a CAPPED outcome, once per trip, not
 *    final: the transaction stays in flight at the cap.  An escalate
 *    strategy with every_ms > 0 replaces every every_ms instead of on
 *    heads (the loop's timer, or tracker_poll());
 *  - no replacement, and P at or below the nonce: the node does not hold
 *    the transaction as pending (dropped, or the node restarted): the same
 *    bytes are re-broadcast.  A first send is also looked at again by a
 *    round as soon as a node accepts it, if a round ran while it was on
 *    its way (a dev chain mines on arrival and may announce the head first);
 *  - stranded transactions (our nonce above a hole no transaction of ours
 *    fills: the Relayer jam): trips waiting for a nonce take the holes
 *    first; the holes still open are filled with calls of a configured
 *    guard view (a view changes nothing, and the restricted signer may
 *    sign it), bidding what the stranded transaction bids and not
 *    escalated, so that the stranded transaction itself lands and nothing
 *    else for its trip.  (nonce.h suggests re-signing
 *    the stranded transaction with a fresh nonce instead; but its old
 *    bytes stay queued in every pool and land as soon as the hole below
 *    them is filled -- anvil mines the pair in one block -- which would
 *    be two transactions for one trip.)  Without any guard view in the
 *    config the tracker falls back to that re-signing, with an error line.
 *  - the balance: below gas_limit x max_fee_gwei (the cap) of the
 *    costliest action, a loud error line (once per fall, and `low_balance`
 *    in the stats);
 *  - presigned transactions are signed again for the new market and nonce.
 * A head during a round makes one more round follow it.
 *
 * State file (keeper/state.h).  Every change of the transactions in flight
 * and every trip's cooldown is saved at once.  tracker_new() loads it: each
 * transaction it lists must be of a configured action and decode to a
 * transaction of this chain and signer with the listed hash, nonce and
 * fees (else KERR_STATE_INVALID, logged: the operator decides), and is
 * tracked as in flight: its bytes are re-broadcast only if the node lost
 * them, and nothing new is signed for its trip.  The file keeps the bytes
 * of the latest version and the hashes of the earlier ones (up to
 * TRACKER_VERSIONS in all): a replacement does not leave every pool at
 * once, so after a restart an earlier version that gets mined is still
 * known for this trip's ("mined" with its hash), not taken for "nonce used
 * elsewhere" and signed again.
 *
 * Dry run.  With no signer the tracker builds the transaction (calldata,
 * bid) and logs it, reports DRY_RUN and never signs, sends, reads the
 * chain for nonces or writes the state file.  With a signer and
 * opts.dry_run (`keeper run --dry-run` with a signer configured) the head
 * rounds read the account's nonce and balance as for real (the balance
 * alert included), and each trip is also signed at the next nonce (peeked,
 * not taken: nothing is sent, so the nonce stays free) and logged with that
 * nonce, its hash and the raw bytes; still nothing is sent, presigned,
 * loaded from or written to the state file.  Before the first round has
 * read the nonce a trip is logged without nonce and raw bytes.
 *
 * Private.  An action whose gas strategy is `private` is submitted through
 * the relay of opts.relay (keeper/relay.h) and, only with also_public, also
 * broadcast to chain.rpc as above: without also_public no byte of its
 * transactions ever reaches chain.rpc (a public mempool would show the
 * pause or the liquidation to those it is meant to beat).  The relay
 * targets blocks after the latest block number known (heads, and the
 * eth_blockNumber each round reads when a private action exists; a
 * submission before either waits for the round that reads it).  Without
 * also_public the relay's answer is the broadcast's verdict: accepted is
 * "sent" (or "replaced"); a failure (logged, counted in relay_errors) keeps
 * the transaction and its nonce in flight, and the next head submits it
 * again -- the trip is not lost, and the relay may still include what it
 * was sent.  With also_public the public broadcast's verdict rules as for
 * any strategy and the relay's copy is only counted.  Then, while the
 * transaction is in flight, each head round submits it again: in mode
 * bundle at every head (the target blocks slide), in mode private_tx when
 * the head reaches the block the relay was given as the last, when the last
 * submission failed, or when a new version was signed (the strategy quotes
 * afresh each head like eip1559; a version that differs is signed and
 * submitted: no +10% rule applies to a relay).  Inclusion is seen only on
 * chain, from the receipts, as for any transaction.
 *
 * Webhooks.  With opts.notify, an action with a `notify` URL gets one POST
 * (keeper/notify.h, queued: the loop never waits for it) when a trip is
 * taken for it (not in a dry run, and not a trip refused for a busy lane),
 * when a node or its relay first accepts a transaction for the trip
 * ("sent", each time the trip is signed afresh and accepted), and on each
 * outcome (mined, reverted, failed, guard_stopped, capped; a reorged
 * transaction mined again is reported again).
 *
 * Not here yet: a copy of the broadcast on the node websocket.
 *
 * Teardown: free the rpc transport first (it drops the completions that
 * point into the tracker), then the tracker (it forgets its relay
 * submissions), then the relay, the notifier and the rpc client.
 */
#ifndef KEEPER_TRACKER_H
#define KEEPER_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/action.h"
#include "keeper/config.h"
#include "keeper/detect.h"
#include "keeper/event.h"
#include "keeper/kerr.h"
#include "keeper/loop.h"
#include "keeper/nonce.h"
#include "keeper/rpc.h"
#include "keeper/state.h"
#include "signer/signer.h"
#include "strategies/gas.h"

/* Transactions tracked at once (in flight and watched for reorgs). */
#define TRACKER_MAX_TXS STATE_MAX_TXS
/* Hashes remembered per transaction (its latest versions). */
#define TRACKER_VERSIONS 16
/* A raw transaction of ours: the type-2 envelope and the calldata. */
#define TRACKER_RAW_MAX (256 + ACTION_CALLDATA_MAX)
/* Filler transactions in flight (holes below stranded ones). */
#define TRACKER_MAX_FILLS 32
/* Distinct reward percentiles read with eth_feeHistory (one per gas
 * strategy, and 50). */
#define TRACKER_MAX_PCT (CONFIG_MAX_GAS + 1)
/* Fee-history blocks, default and most. */
#define TRACKER_FEE_BLOCKS_DEFAULT 20
#define TRACKER_FEE_BLOCKS_MAX 1024

typedef enum {
	TRACKER_MINED = 0,      /* a receipt with status 1 */
	TRACKER_REVERTED,       /* a receipt with status 0 */
	TRACKER_GUARD_STOPPED,  /* the guard read true: nothing (more) sent */
	TRACKER_CAPPED,         /* the bid reached the cap (not final) */
	TRACKER_FAILED,         /* not sent: see err */
	TRACKER_DRY_RUN,        /* no signer: built and logged only */
} tracker_result_t;

/* "mined", "reverted", "guard_stopped", "capped", "failed", "dry_run". */
const char *tracker_result_name(tracker_result_t r);

typedef struct {
	tracker_result_t result;
	bool final;               /* the trip is resolved (all but CAPPED) */
	const char *action;       /* the config's name */
	const char *trigger;      /* the trip's trigger name */
	bool has_account;         /* per-account lane: the account */
	addr_t account;
	bool has_tx;              /* a transaction was signed: */
	uint64_t nonce;
	uint8_t hash[32];         /* MINED/REVERTED: the version mined */
	gas_fees_t fees;          /* the latest bid */
	unsigned versions;        /* signed versions (1 + replacements) */
	uint64_t block;           /* MINED/REVERTED: its block */
	kerr_t err;               /* FAILED: why */
	int64_t trip_ms;
} tracker_outcome_t;

typedef void (*tracker_outcome_fn)(void *arg, const tracker_outcome_t *o);

struct relay;
struct notify;

typedef struct {
	uint32_t watch_blocks;    /* [2] heads a mined transaction is re-checked
				     for a reorg */
	uint32_t retry_heads;     /* [10] signings after node refusals before
				     FAILED */
	uint32_t fee_blocks;      /* [TRACKER_FEE_BLOCKS_DEFAULT] eth_feeHistory
				     depth, 1..TRACKER_FEE_BLOCKS_MAX */
	bool dry_run;             /* with a signer: sign and log, never send
				     (see Dry run); without one it is implied */
	struct relay *relay;      /* keeper/relay.h, for the `private` gas
				     strategies; required by a tracker that
				     sends with a private action in cfg */
	struct notify *notify;    /* keeper/notify.h: the actions' webhooks;
				     NULL sends none */
} tracker_opts_t;

typedef struct {
	uint64_t trips;           /* tracker_trip calls */
	uint64_t busy;            /* of which refused: lane in flight */
	uint64_t sent;            /* first sends a node accepted */
	uint64_t replaced;        /* replacements a node accepted */
	uint64_t rebroadcasts;    /* the same bytes sent again */
	uint64_t refused;         /* broadcasts no node accepted */
	uint64_t mined;
	uint64_t reverted;
	uint64_t failed;
	uint64_t guard_stops;
	uint64_t capped;
	uint64_t resyncs;         /* nonce too low / held elsewhere */
	uint64_t dropped;         /* nonce used by another transaction */
	uint64_t reorgs;          /* receipts that disappeared */
	uint64_t fills;           /* filler transactions accepted */
	uint64_t resigned_stranded; /* stranded re-signed (no guard to fill) */
	uint64_t presigned;       /* presign signatures made */
	uint64_t presign_used;    /* trips sent on the fast path */
	uint64_t dry_runs;
	uint64_t rounds;          /* head rounds completed */
	uint64_t rpc_errors;      /* calls that failed or returned nonsense */
	uint64_t state_errors;    /* state file writes that failed */
	uint64_t resumed;         /* transactions loaded from the state file */
	uint64_t relayed;         /* relay submissions accepted (private) */
	uint64_t relay_errors;    /* relay submissions that failed or could
				     not start */
	uint64_t notified;        /* webhook bodies queued */
	uint64_t notify_errors;   /* webhook bodies notify_post() refused */
	bool low_balance;         /* the last balance read was below the need */
	bool has_balance;         /* a balance has been read */
	double balance_wei;       /* the last one read, as a double (metrics) */
	size_t in_flight;         /* transactions not resolved yet */
} tracker_stats_t;

typedef struct tracker tracker_t;

/*
 * A tracker for cfg's actions (cfg, signer, rpc and loop must outlive it).
 * signer: restricted to the actions' (to, call selector) pairs and, for
 * fillers, their (to, guard selector) pairs (tracker_targets()); NULL for a
 * dry run.  loop may be NULL (no every_ms timer: call tracker_poll()).
 * clock gives the milliseconds stamped into the state file (sent_ms) and
 * used for every_ms; state_path NULL keeps no state file.  on_outcome may
 * be NULL.  opts->relay and opts->notify, when given, must outlive it.
 * Loads the state file (see above).  KERR_ARG (also: a tracker that sends,
 * an action with a `private` gas strategy, and no opts->relay), KERR_NOMEM,
 * KERR_STATE_INVALID, state_load()'s errors but KERR_NOT_FOUND (a first
 * start), signer_address()'s.
 */
kerr_t tracker_new(tracker_t **out, const config_keeper_t *cfg,
		   const signer_t *signer, rpc_client_t *rpc, loop_t *loop,
		   rpc_clock_fn clock, void *clock_ctx, const char *state_path,
		   tracker_outcome_fn on_outcome, void *arg,
		   const tracker_opts_t *opts);

/* Start: the first observation of the chain (nonce, balance, receipts and
 * guards of what the state file listed, the latest block and the fee
 * history as the market until the first head) and the every_ms timer. */
kerr_t tracker_start(tracker_t *t);

/* Free t (NULL is fine); see the teardown order above. */
void tracker_free(tracker_t *t);

/*
 * A trip of trigger trig (its action is trig->action).  KERR_OK: the trip
 * is taken (its outcome follows through on_outcome, perhaps before this
 * returns for a dry run or a failed signing).  KERR_IN_FLIGHT: the lane is
 * busy; KERR_ACTION_FIELD and action_calldata()'s errors; KERR_FULL when
 * TRACKER_MAX_TXS are tracked; KERR_ARG.
 */
kerr_t tracker_trip(tracker_t *t, const config_trigger_t *trig,
		    const detect_trip_t *trip);

/* A new head: market update and a round (see above). */
void tracker_head(tracker_t *t, const event_head_t *h);

/* Write the state file now (a clean shutdown's last word; every change
 * is already saved as it happens).  KERR_OK without a state file;
 * state_save()'s errors, also logged. */
kerr_t tracker_save(tracker_t *t);

/* every_ms replacements that are due (what the loop's timer runs). */
void tracker_poll(tracker_t *t);

/*
 * The (to, selector) pairs the tracker signs for cfg: each action's call,
 * and each action's guard view (fillers).  Distinct; n <= cap, else
 * KERR_BUF.  Give them to signer_restrict().
 */
kerr_t tracker_targets(const config_keeper_t *cfg, addr_t *to,
		       uint8_t (*sel)[4], size_t cap, size_t *n);

void tracker_stats(const tracker_t *t, tracker_stats_t *out);

/* The state as saved (its cooldowns, for the detectors on start). */
const state_t *tracker_state(const tracker_t *t);

/* The nonce counter.  For diagnostics and tests: moving it by hand is how
 * a test reproduces a counter ahead of (or behind) the chain. */
nonce_t *tracker_nonce(tracker_t *t);

#endif
