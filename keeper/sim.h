/*
 * sim: what a pending transaction would do to a watched contract's
 * balances, computed before it is mined, for the `mempool` trigger with
 * `simulate = true` (det_mempool judges the result).
 *
 * Method.  eth_simulateV1 runs, in one simulated block on top of "latest"
 * and with validation off (no nonce, fee or signature checks, gas price 0),
 * the calls: the watched balances before, the transaction itself
 * {from, to, value, data, gas}, the watched balances after.  Reads in the
 * same block as the transaction give the exact loss per asset (before -
 * after, 0 when it grew), whatever path the value takes.  ETH balances are
 * read through SIM_READER, an address no one can hold keys for or deploy
 * to (0x…000b0b0b: a CREATE address is a hash, not a small number), whose
 * code the request overrides with SIM_READER_CODE, i.e.
 *   PUSH1 0 CALLDATALOAD BALANCE PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN:
 * it returns BALANCE of the address in calldata word 0.  Token balances are
 * balanceOf(watch) (selector 0x70a08231) on each watched token.
 *
 * Fallback.  A node that answers eth_simulateV1 with "method not found"
 * (rpc_classify: RPC_E_METHOD_NOT_FOUND) gets, for that transaction and
 * every later one while the rpc client's current endpoint is that node,
 * debug_traceCall instead:
 *   - prestateTracer in diff mode: the watch's ETH balance before ("pre")
 *     and after ("post"; a balance absent from post did not change, and an
 *     account absent from pre was not touched: since EIP-6780 a
 *     transaction cannot delete a contract that existed before it);
 *   - callTracer with logs (only when the watch has tokens): the ERC-20
 *     Transfer logs (3 topics) of each watched token, in frames that did not
 *     revert (a frame with "error" is skipped with everything under it),
 *     summed per token as out (from = watch, to != watch) minus in (to =
 *     watch), 0 when negative.  Netting within the one transaction is what
 *     the balance difference of eth_simulateV1 measures too, so both
 *     methods agree on a standard ERC-20;
 *   - then, for each token with a loss, eth_call balanceOf(watch) at
 *     "latest" for the balance before (a block mined between the calls
 *     can shift it; the loss itself comes from the trace).
 * sim_opts_t.force_trace skips eth_simulateV1 altogether.
 *
 * A reverted transaction (status 0, or "error" on the top frame) loses
 * nothing: result.reverted, every loss 0.  The transaction is simulated on
 * "latest" alone: another pending transaction it depends on (an earlier
 * nonce, an approval) is not applied first.
 *
 * Bounds.  At most max_inflight simulations run at once; more wait in a
 * FIFO of max_queue; beyond that sim_request refuses (KERR_RPC_BUSY,
 * counted in refused), never silently.  Each request has a deadline of
 * timeout_ms from the moment it was made, measured with the clock given to
 * sim_new (the rpc clock: the loop's); a simulation still queued or
 * running then is answered KERR_RPC_TIMEOUT (counted) and its late replies
 * are dropped (stale).  Every rpc attempt gets at most the time left.  A
 * watch has at most SIM_MAX_ASSETS assets (max_assets), calldata at most
 * SIM_INPUT_MAX bytes (KERR_TOO_LONG: an attacker can pad a drain past
 * that to go unsimulated, which is why geth's own 128 KiB transaction
 * limit is the bound), the calldata copies of all waiting simulations at
 * most max_input_total bytes (KERR_RPC_BUSY), a request at most
 * SIM_REQUEST_MAX bytes (give the rpc client a max_request of at least
 * that plus 256 for the envelope, or long calldata fails with KERR_BUF),
 * and a reply what the rpc client's max_reply allows; replies are walked
 * with at most SIM_MAX_ITEMS accounts, frames and logs (KERR_TOO_LONG).
 * The callTracer's frames nest two JSON levels per call, so a trace more
 * than ~30 calls deep exceeds JTOK_MAX_DEPTH and the fallback fails
 * (KERR_TOO_LONG) where eth_simulateV1 would not.
 *
 * Cache.  Successful results are kept per (transaction hash, watch entry),
 * cache_cap of them, the oldest evicted first: a transaction notified
 * twice is simulated once.  A request for a transaction whose simulation
 * is queued or running joins it (up to SIM_WAITERS requests per
 * simulation) and gets the same result.  Failures are not cached: a later
 * notification tries again.
 *
 * Delivery.  done(arg, result) is called exactly once for every request
 * sim_request accepted: from an rpc completion, from sim_tick (timeouts),
 * or, for a cached result or a simulation that could not even be sent,
 * from inside sim_request itself.  The result is valid only during the
 * call.  A callback may call sim_request, not sim_free.  Nothing ever
 * waits: with a loop given to sim_new, sim arms its own timer for the
 * earliest deadline; without one the owner calls sim_tick.
 *
 * Teardown: an rpc call in flight holds a completion pointing into the
 * sim; free the rpc transport first (rpc_http_free drops completions), or
 * wait until rpc_inflight() is 0, then sim_free().
 */
#ifndef KEEPER_SIM_H
#define KEEPER_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/config.h"
#include "keeper/event.h"
#include "keeper/jtok.h"
#include "keeper/kerr.h"
#include "keeper/loop.h"
#include "keeper/rpc.h"
#include "signer/addr.h"
#include "signer/u256.h"

#define SIM_MAX_ASSETS (1 + CONFIG_MAX_TOKENS)  /* ETH + tokens of a watch */
#define SIM_INFLIGHT_DEFAULT 8
#define SIM_QUEUE_DEFAULT 256
#define SIM_CACHE_DEFAULT 4096
#define SIM_TIMEOUT_DEFAULT 2000           /* ms */
#define SIM_INPUT_MAX 131072               /* calldata bytes */
#define SIM_INPUT_TOTAL_DEFAULT ((size_t)16 << 20)
#define SIM_WAITERS 8                      /* requests sharing one simulation */
#define SIM_MAX_ITEMS 8192                 /* accounts, frames, logs walked */
/* Longest params text built (reads before/after, the tx, its calldata). */
#define SIM_REQUEST_MAX (2 * (size_t)SIM_INPUT_MAX + 32768)

#define SIM_READER "0x00000000000000000000000000000000000b0b0b"
#define SIM_READER_CODE "0x6000353160005260206000f3"

typedef enum {
	SIM_VIA_SIMULATE = 1,     /* eth_simulateV1 */
	SIM_VIA_TRACE,            /* debug_traceCall fallback */
} sim_method_t;

/* "simulate", "trace"; "unknown" otherwise. */
const char *sim_method_name(sim_method_t m);

typedef struct {
	addr_t token;             /* the zero address for ETH */
	bool known;               /* false: its balance could not be read (a
				     token whose balanceOf reverted or did not
				     return one word); not judged */
	bool has_balance;         /* before/after are balances (trace mode
				     leaves them unread when nothing moved) */
	u256_t before;            /* balance before the transaction */
	u256_t after;             /* and after it */
	u256_t loss;              /* before - after, 0 when it grew */
} sim_asset_t;

typedef struct {
	kerr_t err;               /* KERR_OK: the fields below hold */
	const char *what;         /* the reply member at fault, or NULL */
	rpc_error_kind_t kind;    /* KERR_RPC_ERROR: the node's error */
	int64_t code;
	sim_method_t method;      /* how it was computed */
	bool cached;              /* served from the cache */
	bool reverted;            /* the transaction reverts: no loss */
	uint8_t hash[32];         /* the transaction */
	const config_watch_t *watch;
	size_t nassets;           /* 1 + watch->ntokens; 0 ETH, 1 + i tokens[i] */
	sim_asset_t asset[SIM_MAX_ASSETS];
} sim_result_t;

typedef void (*sim_done_fn)(void *arg, const sim_result_t *r);

/* Tuning; a 0 field takes the default. */
typedef struct {
	size_t max_inflight;      /* [SIM_INFLIGHT_DEFAULT] */
	size_t max_queue;         /* [SIM_QUEUE_DEFAULT] */
	size_t cache_cap;         /* [SIM_CACHE_DEFAULT] */
	uint32_t timeout_ms;      /* [SIM_TIMEOUT_DEFAULT] */
	size_t max_assets;        /* [SIM_MAX_ASSETS] 1..SIM_MAX_ASSETS: sizes
				     the cache; size it from the config's
				     largest watch */
	size_t max_input_total;   /* [SIM_INPUT_TOTAL_DEFAULT] bytes */
	bool force_trace;         /* always debug_traceCall */
} sim_opts_t;

typedef struct {
	uint64_t requests;        /* sim_request calls accepted */
	uint64_t cache_hits;      /* answered from the cache */
	uint64_t joined;          /* joined a queued or running simulation */
	uint64_t simulated;       /* simulations started */
	uint64_t queued;          /* of which waited in the FIFO first */
	uint64_t via_simulate;    /* eth_simulateV1 calls sent */
	uint64_t via_trace;       /* simulations done with debug_traceCall */
	uint64_t fallbacks;       /* eth_simulateV1 missing: fell back */
	uint64_t ok;              /* simulations that gave a result */
	uint64_t reverted;        /* of which the transaction reverted */
	uint64_t timeouts;        /* simulations past their deadline */
	uint64_t errors;          /* simulations failed otherwise */
	uint64_t refused;         /* requests refused: queue, waiters, input
				     budget */
	uint64_t too_long;        /* requests refused: calldata over the limit */
	uint64_t evictions;       /* cache entries dropped for new ones */
	uint64_t stale;           /* replies that came after their deadline */
	uint64_t unreadable;      /* assets whose balance could not be read */
} sim_stats_t;

typedef struct sim sim_t;

/*
 * A simulator over the rpc client.  clock (with clock_ctx) is the clock
 * deadlines are measured with; loop may be NULL (then call sim_tick).
 * KERR_ARG (no rpc or clock, an option out of range), KERR_NOMEM.
 */
kerr_t sim_new(sim_t **out, rpc_client_t *rpc, rpc_clock_fn clock,
	       void *clock_ctx, loop_t *loop, const sim_opts_t *opts);
void sim_free(sim_t *s);

/*
 * Simulate tx (which must be full and call watch->address; its calldata is
 * copied) against watch's balances; done follows once (see Delivery).
 * Errors, with no callback: KERR_ARG (a hash-only tx, a creation, another
 * `to`, more tokens than max_assets - 1), KERR_HEX_CHAR (calldata that is
 * not hex), KERR_TOO_LONG (calldata over SIM_INPUT_MAX), KERR_RPC_BUSY
 * (queue, waiters or calldata budget full).
 */
kerr_t sim_request(sim_t *s, const config_watch_t *watch, const event_tx_t *tx,
		   sim_done_fn done, void *arg);

/* Time out what is past its deadline and start what waits.  Called by the
 * sim's own timer when it has a loop. */
void sim_tick(sim_t *s);

/* Simulations running, and waiting in the FIFO. */
size_t sim_running(const sim_t *s);
size_t sim_waiting(const sim_t *s);
const sim_stats_t *sim_stats(const sim_t *s);

/* ---- the texts and replies, pure (exported for tests) ------------------- */

typedef enum {
	SIM_TRACE_PRESTATE = 1,   /* prestateTracer, diffMode */
	SIM_TRACE_CALLS,          /* callTracer, withLog */
} sim_tracer_t;

/*
 * The params of eth_simulateV1 / debug_traceCall for tx against watch
 * into out[0..cap) (no NUL), its length in *len.  KERR_ARG, KERR_HEX_CHAR,
 * KERR_TOO_LONG (see sim_request), KERR_BUF.
 */
kerr_t sim_build_simulate(char *out, size_t cap, size_t *len,
			  const config_watch_t *watch, const event_tx_t *tx);
kerr_t sim_build_trace(char *out, size_t cap, size_t *len,
		       const event_tx_t *tx, sim_tracer_t tracer);

/*
 * Read a reply's "result" token into r; each sets r's watch, nassets and
 * asset tokens.  sim_parse_simulate fills every asset and reverted;
 * sim_parse_prestate only asset 0 (ETH); sim_parse_calls the token assets
 * (their losses, with has_balance false: the trace has no balances) and
 * reverted, so the two trace readers combine in either order.  The member
 * at fault goes to r->what.  Errors:
 * KERR_JSON (wrong type), KERR_NOT_FOUND (missing member), KERR_HEX_*,
 * KERR_NUM_RANGE (a status other than 0x0/0x1), KERR_TRUNCATED /
 * KERR_TOO_LONG (fewer / more simulated blocks or calls than sent, or more
 * than SIM_MAX_ITEMS), KERR_NUM_OVERFLOW (sums beyond 2^256 - 1).
 */
kerr_t sim_parse_simulate(const jtok_doc_t *d, size_t result,
			  const config_watch_t *watch, sim_result_t *r);
kerr_t sim_parse_prestate(const jtok_doc_t *d, size_t result,
			  const config_watch_t *watch, sim_result_t *r);
kerr_t sim_parse_calls(const jtok_doc_t *d, size_t result,
		       const config_watch_t *watch, sim_result_t *r);

#endif
