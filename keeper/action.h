/*
 * action: the calldata of an action (config `actions`) for one trip, and
 * of its guard view.  Pure: the same trip always gives the same bytes,
 * which is what lets a presigned transaction stand for a trip's, and what
 * the replay report prints as the would-be transaction.
 *
 * Arguments (config_arg_t): a literal is already an encoded word; a trip
 * field is taken from the trip and the trigger:
 *   $account  trip->account (has_account), e.g. a liquidation candidate
 *   $amount   trip->amount (has_amount); must fit the argument's uintN
 *   $token    trip->token (has_token; the zero address is ETH)
 *   $watch    the trigger's watch address (outflow, mempool triggers)
 *   $sender   trip->tx_from (has_tx: the pending transaction's sender)
 * A field the trip does not carry is KERR_ACTION_FIELD, naming it: the
 * config check guarantees the type matches, not that every trigger that
 * names the action supplies every field (a price_move trip has no
 * account), and sending a liquidation of the zero address would be worse
 * than not sending.
 */
#ifndef KEEPER_ACTION_H
#define KEEPER_ACTION_H

#include <stddef.h>
#include <stdint.h>
#include "keeper/config.h"
#include "keeper/detect.h"
#include "keeper/kerr.h"

/* Selector + up to ABI_MAX_ARGS words. */
#define ACTION_CALLDATA_MAX (4 + 32 * ABI_MAX_ARGS)

/*
 * The calldata of a for a trip of trigger tr (tr may be NULL when no
 * argument is $watch) into out[0..cap).  *missing (may be NULL) names the
 * missing field on KERR_ACTION_FIELD ("$account").  KERR_ACTION_FIELD,
 * KERR_ABI_VALUE ($amount too large for its uintN), KERR_BUF.
 */
kerr_t action_calldata(const config_action_t *a, const config_trigger_t *tr,
		       const detect_trip_t *trip, uint8_t *out, size_t cap,
		       size_t *len, const char **missing);

/* The guard view's calldata (its selector: guards take no arguments).
 * KERR_NOT_FOUND when the action has no guard. */
kerr_t action_guard_calldata(const config_action_t *a, uint8_t out[4]);

/*
 * A guard's answer: true when the 32-byte return word is a bool true.
 * KERR_ABI_VALUE for return data that is not exactly one word holding 0
 * or 1 (a view that returns something else is a misconfigured guard, and
 * reading it as "done" would silently stop every action).
 */
kerr_t action_guard_result(const uint8_t *ret, size_t len, bool *done);

#endif
