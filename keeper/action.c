/*
 * action: calldata for a trip and the guard view (keeper/action.h).
 */
#include "keeper/action.h"

#include <string.h>

static void addr_word(uint8_t w[32], const addr_t *a)
{
	memset(w, 0, 12);
	memcpy(w + 12, a->b, 20);
}

/* The word of one trip field, or KERR_ACTION_FIELD / KERR_ABI_VALUE. */
static kerr_t field_word(const config_arg_t *arg, const abi_type_t *t,
			 const config_trigger_t *tr, const detect_trip_t *trip,
			 uint8_t w[32])
{
	switch (arg->src) {
	case CONFIG_ARG_ACCOUNT:
		if (!trip->has_account)
			return KERR_ACTION_FIELD;
		addr_word(w, &trip->account);
		return KERR_OK;
	case CONFIG_ARG_TOKEN:
		if (!trip->has_token)
			return KERR_ACTION_FIELD;
		addr_word(w, &trip->token);
		return KERR_OK;
	case CONFIG_ARG_SENDER:
		if (!trip->has_tx)
			return KERR_ACTION_FIELD;
		addr_word(w, &trip->tx_from);
		return KERR_OK;
	case CONFIG_ARG_WATCH:
		if (!tr || !tr->watch)
			return KERR_ACTION_FIELD;
		addr_word(w, &tr->watch->address);
		return KERR_OK;
	case CONFIG_ARG_AMOUNT: {
		size_t i;

		if (!trip->has_amount)
			return KERR_ACTION_FIELD;
		u256_to_be(&trip->amount, w);
		/* uintN: the high 256 - N bits must be zero. */
		for (i = 0; i < (256 - t->bits) / 8; i++)
			if (w[i])
				return KERR_ABI_VALUE;
		if ((t->bits % 8) && (w[(256 - t->bits) / 8] >> (t->bits % 8)))
			return KERR_ABI_VALUE;
		return KERR_OK;
	}
	case CONFIG_ARG_LITERAL:
		memcpy(w, arg->word, 32);
		return KERR_OK;
	}
	return KERR_ARG;
}

static const char *field_name(config_arg_src_t s)
{
	switch (s) {
	case CONFIG_ARG_ACCOUNT: return "$account";
	case CONFIG_ARG_AMOUNT: return "$amount";
	case CONFIG_ARG_TOKEN: return "$token";
	case CONFIG_ARG_WATCH: return "$watch";
	case CONFIG_ARG_SENDER: return "$sender";
	case CONFIG_ARG_LITERAL: break;
	}
	return "literal";
}

kerr_t action_calldata(const config_action_t *a, const config_trigger_t *tr,
		       const detect_trip_t *trip, uint8_t *out, size_t cap,
		       size_t *len, const char **missing)
{
	size_t i, n = 4 + 32 * a->nargs;
	kerr_t err;

	if (missing)
		*missing = NULL;
	if (a->nargs != a->call.nargs || a->nargs > ABI_MAX_ARGS)
		return KERR_ARG;
	if (cap < n)
		return KERR_BUF;
	memcpy(out, a->call.selector, 4);
	for (i = 0; i < a->nargs; i++) {
		err = field_word(&a->args[i], &a->call.args[i], tr, trip, out + 4 + 32 * i);
		if (err != KERR_OK) {
			if (missing)
				*missing = field_name(a->args[i].src);
			return err;
		}
	}
	*len = n;
	return KERR_OK;
}

kerr_t action_guard_calldata(const config_action_t *a, uint8_t out[4])
{
	if (!a->has_guard)
		return KERR_NOT_FOUND;
	memcpy(out, a->guard.selector, 4);
	return KERR_OK;
}

kerr_t action_guard_result(const uint8_t *ret, size_t len, bool *done)
{
	size_t i;

	if (len != 32)
		return KERR_ABI_VALUE;
	for (i = 0; i < 31; i++)
		if (ret[i])
			return KERR_ABI_VALUE;
	if (ret[31] > 1)
		return KERR_ABI_VALUE;
	*done = ret[31] == 1;
	return KERR_OK;
}
