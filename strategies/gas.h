/*
 * gas: the gas-bidding strategies (config `gas`, interface.md "gas
 * strategy"), as pure functions of numbers: market in, fees out.  They do
 * no I/O and keep no state, so the same code prices a live pause, a
 * --dry-run and a replayed trip, and the tests can check every figure.
 *
 * Every fee is an exact u256_t in wei per gas.  keeper sends EIP-1559
 * (type 2) transactions only: `max_fee` is maxFeePerGas and `priority_fee`
 * maxPriorityFeePerGas.
 *
 * The cap.  Each strategy has a hard cap (config max_fee_gwei, stored as
 * config_gas_t.max_fee).  No quote ever has max_fee above it, and
 * priority_fee never exceeds max_fee.  When a strategy wants more than the
 * cap it quotes the cap and sets `capped`, which the caller turns into an
 * alert; a replacement that cannot beat the previous bid without passing
 * the cap is not made (GAS_HOLD with capped), because sending the same bid
 * again achieves nothing and the node would refuse it anyway.  (The known
 * failure this guards against: a bumping loop that compounded to a
 * 1,110,001 gwei bid.)
 *
 * The node's replacement rule.  A transaction replaces a pending one with
 * the same nonce only when both of its fees are strictly greater than the
 * old ones and each is at least old * (100 + bump) / 100 in integer
 * arithmetic (floor division), bump = 10 on geth, erigon, reth and
 * nethermind by default (geth core/txpool/legacypool/list.go).
 * gas_replaces() is that test; gas_bump() raises a bid by bump_pct >= 10,
 * rounded up and by at least 1 wei, which always passes it.
 *
 * The strategies (config_gas_strategy_t):
 *  - fixed:    max_fee = the cap, priority = priority_fee_gwei.  Never
 *              replaces (GAS_HOLD).
 *  - eip1559:  max_fee = next base fee * base_multiplier + priority,
 *              priority = max(the median over the recent blocks of each
 *              block's priority_percentile reward (eth_feeHistory),
 *              priority_fee_gwei).  Without fee history, the floor.  A
 *              replacement is a fresh quote, made only when it passes the
 *              node's rule against the previous bid (the market rose by
 *              more than 10%), else GAS_HOLD.
 *  - outbid:   for a trip caused by a pending transaction (gas_market_t
 *              has_rival): priority = max(ceil(rival priority * (1 +
 *              bump_pct/100)), rival priority + 1), max_fee likewise from
 *              the rival's max fee, and at least next base fee + priority
 *              so that it is includable.  Strictly higher on both fields,
 *              so in a block ordered by effective tip (min(priority,
 *              max_fee - base fee)) ours is strictly ahead.  A legacy
 *              rival's gas price stands for both of its fees (event.h does
 *              that normalisation).  Without a rival it quotes like
 *              eip1559 with its defaults.  Replacement: GAS_HOLD.
 *  - escalate: the first bid is eip1559's (defaults: multiplier 2, the
 *              median reward, no floor); each replacement is gas_bump() of
 *              the previous bid by bump_pct (default 12.5).
 *  - private:  the bid is eip1559's (its defaults); a bundle re-targets the
 *              next block with a fresh quote each head, so a replacement
 *              is a fresh quote, made when it differs from the previous
 *              bid (a bundle is not a mempool replacement: no +10% rule).
 * Percentages are applied to 1e-6 percent (bump_pct 12.5 = 112500000 /
 * 100000000), multipliers to 1e-6.
 */
#ifndef STRATEGIES_GAS_H
#define STRATEGIES_GAS_H

#include <stdbool.h>
#include <stddef.h>
#include "keeper/config.h"
#include "keeper/kerr.h"
#include "signer/u256.h"

/* EIP-1559 constants (mainnet). */
#define GAS_ELASTICITY 2
#define GAS_BASE_FEE_CHANGE_DENOM 8
/* The replacement bump every mainstream node applies, percent. */
#define GAS_NODE_BUMP_PCT 10
/* Fee-history blocks a market may carry. */
#define GAS_MAX_HISTORY 1024

typedef struct {
	u256_t max_fee;        /* maxFeePerGas, wei */
	u256_t priority_fee;   /* maxPriorityFeePerGas, wei */
} gas_fees_t;

/*
 * What the strategies see of the market at one moment.  All fields are
 * optional (has_*); a strategy uses what it needs and falls back as its
 * description says.
 */
typedef struct {
	bool has_head;          /* the latest head's base fee and gas */
	u256_t base_fee;        /* its baseFeePerGas */
	uint64_t gas_used;
	uint64_t gas_limit;
	/* Per recent block, the priority fee at the strategy's percentile
	 * (eth_feeHistory "reward" column), oldest first. */
	const u256_t *rewards;
	size_t nrewards;        /* 0..GAS_MAX_HISTORY */
	bool has_rival;         /* the pending transaction that caused the trip */
	gas_fees_t rival;       /* its fees (legacy: gas price in both) */
} gas_market_t;

typedef enum {
	GAS_SEND = 0,   /* send (or replace with) `fees` */
	GAS_HOLD,       /* keep the transaction as it is */
} gas_verdict_t;

typedef struct {
	gas_verdict_t verdict;
	gas_fees_t fees;        /* GAS_SEND: the bid */
	bool capped;            /* the strategy wanted more than its cap */
} gas_quote_t;

/*
 * One strategy: the first bid for a transaction, and what to do with it on
 * a new head (or every_ms) while it is not mined.  Both return KERR_OK and
 * fill *out, or KERR_ARG for a config/market that breaks this header's
 * rules (a priority above the cap is clamped, not an error).
 */
typedef struct {
	config_gas_strategy_t id;
	const char *name;       /* the config spelling */
	kerr_t (*initial)(const config_gas_t *g, const gas_market_t *m,
			  gas_quote_t *out);
	kerr_t (*replace)(const config_gas_t *g, const gas_market_t *m,
			  const gas_fees_t *prev, gas_quote_t *out);
} gas_strategy_t;

/* The strategy of g->strategy (never NULL for a loaded config). */
const gas_strategy_t *gas_strategy(config_gas_strategy_t id);
/* By config name ("escalate"), NULL when unknown. */
const gas_strategy_t *gas_strategy_find(const char *name);

/*
 * The next block's base fee from its parent's (EIP-1559): unchanged at
 * the target gas_limit / 2; above it, raised by max(base * (used -
 * target) / target / 8, 1); below it, lowered by base * (target - used) /
 * target / 8, each division floored.  KERR_ARG when gas_limit < 2 or
 * gas_used > gas_limit; KERR_NUM_OVERFLOW above 2^256 - 1.
 */
kerr_t gas_next_base_fee(const u256_t *base, uint64_t gas_used,
			 uint64_t gas_limit, u256_t *out);

/* The node's rule: true when `next` may replace `prev` at bump_pct
 * (integer percent, GAS_NODE_BUMP_PCT for geth's default). */
bool gas_replaces(const gas_fees_t *prev, const gas_fees_t *next,
		  unsigned bump_pct);

/*
 * prev raised by bump_pct (> 0, to 1e-6): each field ceil(x * (100 +
 * bump_pct) / 100), and at least x + 1; then capped at `cap` (max_fee to
 * the cap, priority to max_fee).  *capped says whether the cap cut it.
 * KERR_ARG for bump_pct <= 0 or not finite, KERR_NUM_OVERFLOW.
 */
kerr_t gas_bump(const gas_fees_t *prev, double bump_pct, const u256_t *cap,
		gas_fees_t *out, bool *capped);

/* The median of the rewards (the lower middle of an even count); zero
 * when n = 0. */
void gas_median(const u256_t *v, size_t n, u256_t *out);

#endif
