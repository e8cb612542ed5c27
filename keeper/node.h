/*
 * node: keeper's connection to its Ethereum node (chain.ws).  It keeps one
 * websocket (keeper/ws) subscribed, turns what the node pushes into events
 * for an event_sink_fn, and fetches what a reconnect made it miss, over
 * the chain.rpc client (keeper/rpc), so that no watched outflow is lost.
 *
 * Subscriptions, sent again on every (re)connection:
 *   newHeads                                     -> EV_HEAD
 *   newPendingTransactions, true (full objects)  -> EV_PENDING_TX
 *   logs, for each watch entry W with tokens T…:
 *     address T…, topics [Transfer, W]           ERC-20 transfers from W
 *     address T…, topics [Transfer, null, W]     ERC-20 transfers to W
 *     address W                                  everything W emits
 *   (Transfer is topic 0xddf252ad…3ef, Transfer(address,address,uint256);
 *   an entry without tokens has the third filter only) -> EV_LOG
 * Each reply's subscription id is recorded; a notification is routed by its
 * id, and one for no subscription of this connection is dropped (counted).
 *
 * Hashes instead of transactions.  When the node refuses the full-object
 * subscription (an error reply; it then gets a plain newPendingTransactions
 * subscription instead), or notifies bare hashes anyway, each hash is
 * fetched with eth_getTransactionByHash over the same socket, at most
 * max_fetches at once, and the reply becomes the EV_PENDING_TX.  A hash
 * beyond that bound is not fetched: it is passed on as it came (event_tx_t
 * with full = false) and counted.  A reply of null (the node dropped the
 * transaction) or of a transaction already mined is counted, not passed
 * on: it is no longer pending.
 *
 * Catch-up after a reconnect.  The last head seen is remembered (and, at
 * the first connection, the rpc's eth_blockNumber, in case the socket
 * drops before any head).  When a connection ends, blocks from that head
 * + 1 on may have been missed.  Once the next connection's subscriptions
 * are all answered, so that every later block is covered live, node asks
 * the rpc for eth_blockNumber (H) and runs eth_getLogs for each log filter
 * above over the missed blocks up to H, catchup_blocks blocks per call,
 * block range by block range, and passes the logs on.  A node error or an
 * oversized answer halves the range (providers cap results per call),
 * which doubles back after each success; a single block that still fails
 * is skipped with an error line and a counter; transport failures are
 * retried with back-off (0.5 s doubling to 30 s) until they pass.  A
 * connection that ends during a catch-up restarts it, after the next
 * reconnect, from the first range not fully delivered.  The rpc endpoints
 * are assumed to follow the same chain as chain.ws: blocks an endpoint
 * does not have yet are not asked for (its eth_blockNumber is the end).
 *
 * Pending transactions at connect (opts.read_pending).  newPendingTransactions
 * announces only what reaches the node after the subscription: a transaction
 * already pending when keeper starts, or announced while the socket was down,
 * would never be seen -- a drain sent just before a restart goes unanswered.
 * So once a connection's pending subscription is answered (from then on new
 * ones are announced), node reads the pending pool over the rpc:
 * eth_getBlockByNumber("pending", true), batched with eth_blockNumber
 * (anvil, geth, erigon and nethermind answer it with the transactions a
 * block built now would hold).  When the node does not know the method or
 * its parameters, answers null, or answers with a block that is not above
 * its head (a node that takes "pending" for "latest": those transactions
 * are mined), txpool_content is read instead (geth, anvil, reth: its
 * "pending" part, the transactions that can run; "queued" ones cannot).
 * Each transaction goes to the sink as an EV_PENDING_TX, as a notified one
 * would (a transaction also announced live is passed on twice: the mempool
 * triggers' simulation cache and cooldown absorb that); one whose object
 * node_parse refuses but whose hash is readable is fetched by that hash
 * as an announced hash is (a block's rendering of a transaction need not
 * be the pool's), the refusal counted as malformed; at most
 * opts.pending_max per read (the rest counted).  The reply is bounded by
 * the rpc client's max_reply (rpc.h: larger is KERR_TOO_LONG) and its
 * token limit.  A read that fails is logged at warn and counted, not
 * retried before the next connection.  One read at a time: a connection
 * ready while one is out reads again when it ends.  Without an rpc client
 * nothing is read (a warning, once).
 *
 * Ordering.  Live events go out as they arrive.  Caught-up logs go out
 * range by range in ascending blocks; within a range filter by filter,
 * each in the node's (block, logIndex) order, so two filters' logs of one
 * range are not merged into one order.  Live events are not held back
 * during a catch-up: a detector may see a live log of block N+5 before a
 * caught-up log of block N.  Every EV_LOG carries its block_number and
 * log_index for a detector that needs chain order.
 *
 * Duplicates.  A log can arrive twice: from two subscriptions (a transfer
 * from one watched address to another; a token that is itself watched),
 * or live and again from the catch-up of the blocks mined between the
 * resubscription and eth_blockNumber.  The last NODE_DEDUP_LOGS logs
 * passed on are remembered by (block_number, log_index, tx_hash, removed)
 * and a repeat is dropped (counted), so each log is passed on once per
 * state; a removed log clears its non-removed twin and back, so a log a
 * reorg removes and restores is passed on each time.  removed = true logs
 * are passed on as such.
 *
 * Limits.  A frame over max_frame bytes is dropped by ws; a frame node_parse
 * refuses, or whose shape does not match its subscription, is counted by
 * the field at fault and logged by ws (rate-limited); neither closes the
 * connection.  Nothing is allocated per frame.
 *
 * Frames.  Every message received, replies included, goes first to the
 * optional event_frame_fn with src "node" (for `keeper record`).  Logs
 * fetched by a catch-up come over HTTP, not the socket, and are not
 * frames: only the sink sees them.
 *
 * Everything runs on the loop thread; the sink and the frame tap are
 * called from inside the loop and must not call node_free().
 */
#ifndef KEEPER_NODE_H
#define KEEPER_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/config.h"
#include "keeper/event.h"
#include "keeper/kerr.h"
#include "keeper/loop.h"
#include "keeper/rpc.h"
#include "keeper/ws.h"

/* Logs remembered for dropping duplicates (see Duplicates). */
#define NODE_DEDUP_LOGS 4096
/* Distinct fields the malformed counters keep apart (then "other"). */
#define NODE_MALFORMED_FIELDS 16
/* Largest max_fetches. */
#define NODE_MAX_FETCHES 4096
/* Largest pending_max (transactions passed on per pending pool read). */
#define NODE_MAX_PENDING 65536

typedef struct node node_t;

/* Tuning; a 0 field takes the default in brackets.  node_new() sets the
 * defaults; node_set_options() may change them before node_start(). */
typedef struct node_opts {
	size_t max_frame;          /* [NODE_PARSE_FRAME_DEFAULT] bytes */
	uint32_t backoff_min_ms;   /* [250] first reconnect delay */
	uint32_t backoff_max_ms;   /* [1000] longest (ws adds ±20% jitter),
				      so keeper is back within ~1.2 s of the
				      node; ws's own 30 s would miss pending
				      transactions it could have acted on */
	uint32_t ping_interval_ms; /* [15000] */
	uint32_t ping_timeout_ms;  /* [10000] */
	uint32_t max_fetches;      /* [64] eth_getTransactionByHash in flight,
				      at most NODE_MAX_FETCHES */
	uint32_t fetch_timeout_ms; /* [10000] a fetch without reply is dropped */
	uint32_t catchup_blocks;   /* [2000] blocks per eth_getLogs */
	uint32_t ready_wait_ms;    /* [5000] start a catch-up this long after
				      a reconnect even if some subscription
				      was never answered */
	uint32_t pending_max;      /* [1024] transactions passed on per
				      pending pool read, at most
				      NODE_MAX_PENDING */
	/* Subscribe to pending hashes only and fetch each transaction (for
	 * providers that refuse or bill full objects differently). */
	bool pending_hashes_only;
	/* Read the pending pool once each connection's pending subscription
	 * is answered (see "Pending transactions at connect"). */
	bool read_pending;
} node_opts_t;

/* One malformed-frame counter: what = node_parse's field name. */
typedef struct {
	const char *what;
	uint64_t n;
} node_malformed_t;

typedef struct node_stats {
	uint64_t frames;          /* messages received */
	uint64_t replies;         /* of which JSON-RPC replies */
	uint64_t heads, txs, logs;/* events passed on, by kind */
	uint64_t logs_removed;    /* of logs: removed = true */
	uint64_t logs_dup;        /* logs dropped as already passed on */
	uint64_t malformed;       /* frames refused (node_parse, shape) */
	node_malformed_t malformed_by[NODE_MALFORMED_FIELDS];
	uint64_t malformed_other; /* fields beyond the table */
	uint64_t unknown_sub;     /* notifications of no current subscription */
	uint64_t unknown_reply;   /* replies to no request of ours */
	uint64_t subscribed;      /* subscriptions the node accepted */
	uint64_t sub_errors;      /* subscriptions it refused */
	uint64_t opens;           /* connections opened */
	uint64_t reconnects;      /* opens after the first */
	uint64_t ready;           /* connections whose subscriptions were all answered */
	int64_t ready_ms;         /* loop_now_ms() when that last happened */
	uint64_t hashes;          /* pending transactions notified as a hash */
	uint64_t fetches;         /* eth_getTransactionByHash sent */
	uint64_t fetched;         /* of which passed on as EV_PENDING_TX */
	uint64_t fetch_dropped;   /* hashes not fetched: bound or send queue */
	uint64_t fetch_errors;    /* error replies, unreadable results */
	uint64_t fetch_gone;      /* null results */
	uint64_t fetch_mined;     /* results already in a block */
	uint64_t fetch_timeouts;  /* no reply within fetch_timeout_ms */
	uint64_t catchups;        /* catch-ups started */
	uint64_t catchups_done;   /* catch-ups that reached their target */
	uint64_t catchup_calls;   /* eth_blockNumber and eth_getLogs calls */
	uint64_t catchup_logs;    /* logs passed on from a catch-up */
	uint64_t catchup_errors;  /* failed calls (retried or halved) */
	uint64_t catchup_skipped; /* (filter, block) pairs given up on */
	uint64_t pending_reads;   /* pending pool reads started */
	uint64_t pending_pool;    /* of which fell back to txpool_content */
	uint64_t pending_txs;     /* transactions they passed on (also in txs)
				     or fetched by hash (in txs once passed) */
	uint64_t pending_over;    /* transactions beyond pending_max: dropped */
	uint64_t pending_errors;  /* reads that failed */
	bool head_known;
	uint64_t head;            /* number of the last head seen */
	ws_stats_t ws;            /* the socket's own counters */
} node_stats_t;

/*
 * A node connection for cfg (chain.ws and watch[]; cfg must outlive the
 * node).  rpc (may be NULL: no catch-up, with a warning at each
 * reconnect) is the chain.rpc client for catch-ups; the node only submits
 * calls to it.  sink gets the events, frame (may be NULL) every message;
 * ctx goes to both.  Nothing connects before node_start().
 * Returns KERR_OK, KERR_ARG (no chain.ws, no sink), KERR_NOMEM.
 */
kerr_t node_new(loop_t *loop, const config_keeper_t *cfg, rpc_client_t *rpc,
		event_sink_fn sink, event_frame_fn frame, void *ctx,
		node_t **out);

/* Change the options (see node_opts_t); only before node_start().
 * KERR_ARG after it, for max_frame over NODE_PARSE_FRAME_HARD, max_fetches
 * over NODE_MAX_FETCHES, pending_max over NODE_MAX_PENDING, or
 * backoff_max_ms below backoff_min_ms. */
kerr_t node_set_options(node_t *n, const node_opts_t *opts);

/* Start connecting (on the loop's next turn).  KERR_OK; KERR_ARG (a bad
 * URL, or started already); KERR_NOMEM. */
kerr_t node_start(node_t *n);

/* The counters, copied into *out. */
void node_stats(const node_t *n, node_stats_t *out);

/*
 * Close the connection and free everything.  A catch-up call in flight
 * still holds a completion pointing at n: free the rpc transport first
 * (rpc_http_free drops completions), or wait until rpc_inflight() says
 * the client is idle.  NULL is ignored.
 */
void node_free(node_t *n);

#endif
