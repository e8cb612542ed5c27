/*
 * liq: the candidate book of a liquidation trigger (config kind
 * "liquidation"): which borrowers to check, and, from one scan's answers,
 * which of them to liquidate now, in what order and for how much.
 *
 * Pure: no I/O, no clock, no allocation after liq_new().  keeper/liq_scan
 * asks the chain (the health and debt views) and hands the answers here;
 * the action layer reports back with liq_resolved() once the transaction of
 * a trip is mined, failed or dropped.
 *
 * The rules (keeper issue 4):
 *  - Accounts come from the trigger's `accounts` list and from discovery
 *    (liq_add); each is kept once, at most max_accounts in all, never
 *    dropped (a borrower that repaid is simply healthy).  The zero address
 *    is refused: it cannot owe anything.
 *  - A scan's result for an account is either an error (the book leaves the
 *    account as it was: a failed call says nothing about its health), or
 *    healthy, or liquidatable with its debt.
 *  - A liquidatable account trips once: from its trip until liq_resolved()
 *    it is "in flight" and no later scan trips it again, so there is never a
 *    second transaction for the same borrower in flight.  liq_resolved()
 *    re-arms it (whatever the outcome: mined leaves the rest of the debt, if
 *    still liquidatable, to the next scan; failed and dropped retry it).
 *  - An account seen healthy is re-armed as well.  Its pending
 *    liquidation, if any, can no longer succeed (the pool refuses to
 *    liquidate a healthy account), and a resolution that never comes (a
 *    trip dropped before any transaction was made) must not silence the
 *    account for ever.
 *  - The trigger's confirm_ms / confirm_ticks and cooldown_ms apply per
 *    account, with detect.h's rules: a run of consecutive liquidatable
 *    answers must be confirmed, and an account trips again only cooldown_ms
 *    after its previous trip, even once re-armed.  (cooldown_ms = 0: at
 *    once.)
 *  - The trips of one scan are ordered by debt, largest first (ties by
 *    address, so the order is reproducible); when more accounts are due
 *    than the caller has room for, the smallest wait for the next scan.
 *  - $amount = floor(debt * close_factor_pct / 100), exact in 256 bits for
 *    any debt; a liquidatable account whose amount is 0 (dust debt) does
 *    not trip.
 *
 * Trip context (detect_trip_t): trigger and kind from the config, time_ms
 * the scan's time, has_account/account the borrower, has_amount/amount the
 * repay amount, value the account's health factor as a double (1e18 = 1.0;
 * for a bool view 0 when liquidatable), threshold 1.0, unit
 * DETECT_UNIT_RATIO.
 */
#ifndef STRATEGIES_LIQ_H
#define STRATEGIES_LIQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/config.h"
#include "keeper/detect.h"
#include "keeper/kerr.h"
#include "signer/addr.h"
#include "signer/u256.h"

/* Accounts per book, the most liq_new() accepts. */
#define LIQ_MAX_ACCOUNTS 65536

/* What became of a trip's transaction. */
typedef enum {
	LIQ_MINED = 0,   /* included (whether or not it reverted) */
	LIQ_FAILED,      /* refused by the node, or never sent */
	LIQ_DROPPED,     /* left the mempool unmined */
} liq_outcome_t;

/* One account's answer in a scan. */
typedef struct {
	addr_t account;
	bool ok;             /* false: the calls failed; the account is left as is */
	bool liquidatable;
	double health;       /* the health factor (1.0 = 1e18), or 1 / 0 for a
				bool view (1: healthy) */
	u256_t debt;         /* liquidatable: the debt view's answer */
} liq_result_t;

typedef struct {
	uint64_t added;         /* accounts taken (the config's included) */
	uint64_t known;         /* liq_add of an account already in the book */
	uint64_t full;          /* liq_add refused: the book is full */
	uint64_t zero;          /* liq_add refused: the zero address */
	uint64_t results;       /* results handed to liq_decide */
	uint64_t errors;        /* of which ok == false */
	uint64_t unknown;       /* of which for an account not in the book */
	uint64_t repeated;      /* of which a second result for one account in a call */
	uint64_t trips;
	uint64_t in_flight;     /* liquidatable but in flight: not tripped */
	uint64_t confirming;    /* liquidatable, run not yet confirmed */
	uint64_t cooling;       /* liquidatable, inside the cooldown */
	uint64_t dust;          /* liquidatable, amount 0 */
	uint64_t deferred;      /* due, but beyond the caller's room */
	uint64_t resolved;      /* liq_resolved of an account in flight */
	uint64_t resolved_idle; /* liq_resolved of an account not in flight */
	uint64_t healthy_rearm; /* in flight, seen healthy: re-armed */
} liq_stats_t;

typedef struct liq_book liq_book_t;

/*
 * A book for trig (kind CONFIG_TRIGGER_LIQUIDATION, which must outlive the
 * book: its name is not copied) holding at most max_accounts accounts
 * (1..LIQ_MAX_ACCOUNTS, at least trig->naccounts), the config's accounts
 * added.  KERR_ARG, KERR_NOMEM.
 */
kerr_t liq_new(liq_book_t **out, const config_trigger_t *trig,
	       size_t max_accounts);
void liq_free(liq_book_t *b);

/*
 * Add a candidate; *added (may be NULL) says whether it is new.  KERR_OK
 * for a new or known account, KERR_ARG for the zero address, KERR_FULL
 * when the book is full (each counted).
 */
kerr_t liq_add(liq_book_t *b, const addr_t *a, bool *added);

/* Accounts in the book; account i (0..count-1), in the order added. */
size_t liq_count(const liq_book_t *b);
const addr_t *liq_account(const liq_book_t *b, size_t i);

/*
 * One scan: the answers res[0..n) at time t_ms.  Healthy accounts are
 * re-armed; liquidatable ones that are due trip, at most cap of them, into
 * trips[0..*ntrips) in the order to send them (largest debt first), and
 * are in flight from now on.  KERR_ARG (NULL with n or cap > 0).
 */
kerr_t liq_decide(liq_book_t *b, const liq_result_t *res, size_t n,
		  int64_t t_ms, detect_trip_t *trips, size_t cap,
		  size_t *ntrips);

/*
 * The transaction of a's trip is resolved: a is re-armed (see above).
 * KERR_NOT_FOUND when a is not in the book; an account not in flight is
 * KERR_OK and counted (a duplicate report changes nothing).
 */
kerr_t liq_resolved(liq_book_t *b, const addr_t *a, liq_outcome_t outcome);

/* Whether a is in flight (false when not in the book), and how many are. */
bool liq_in_flight(const liq_book_t *b, const addr_t *a);
size_t liq_in_flight_count(const liq_book_t *b);

void liq_stats(const liq_book_t *b, liq_stats_t *out);

/* ---- the arithmetic and the return data, for liq_scan and the tests ---- */

/* *out = floor(debt * pct / 100) for pct 1..100, exact.  KERR_ARG. */
kerr_t liq_amount(u256_t *out, const u256_t *debt, uint64_t pct);

/*
 * The health view's return data ret[0..len) judged as trig says (its
 * health or liquidatable view, and health_word): *liquidatable and the
 * trip's *value.  KERR_TRUNCATED when the word is beyond the data,
 * KERR_ABI_VALUE for a bool word other than 0 or 1.
 */
kerr_t liq_judge_health(const config_trigger_t *trig, const uint8_t *ret,
			size_t len, bool *liquidatable, double *value);

/* The debt view's return data: word 0.  KERR_TRUNCATED when shorter. */
kerr_t liq_decode_debt(const uint8_t *ret, size_t len, u256_t *debt);

#endif
