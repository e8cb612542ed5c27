/*
 * fuzz_state: state files through state_load(), the file keeper trusts on
 * restart to resume its in-flight transactions.  The chain id and signer
 * expected are those of the seeds (chain 1, the keystore fixture's
 * address), so valid seeds load and mutations reach every member check.
 *
 * Invariants: a loaded state keeps its limits (transactions, cooldowns,
 * raw lengths, names NUL-terminated), has the expected chain and signer,
 * and saves and loads back to the same content; a refusal is one of the
 * documented codes, with a NUL-terminated reason for KERR_STATE_INVALID.
 */
#include "keeper/state.h"

#include "tests/fuzz/fuzz.h"

#define SIGNER "0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b"

static state_t st, again;

static void check_state(const state_t *s, const addr_t *signer)
{
	FUZZ_CHECK(s->chain_id == 1 && addr_eq(&s->signer, signer));
	FUZZ_CHECK(s->ntxs <= STATE_MAX_TXS && s->ncooldowns <= STATE_MAX_COOLDOWNS);
	for (size_t i = 0; i < s->ntxs; i++) {
		const state_tx_t *t = &s->txs[i];
		FUZZ_CHECK(t->raw_len <= STATE_RAW_MAX && t->nprev <= STATE_MAX_PREV);
		FUZZ_CHECK(memchr(t->action, 0, sizeof t->action) != NULL);
		FUZZ_CHECK(memchr(t->trigger, 0, sizeof t->trigger) != NULL);
	}
	for (size_t i = 0; i < s->ncooldowns; i++)
		FUZZ_CHECK(memchr(s->cooldowns[i].trigger, 0,
				  sizeof s->cooldowns[i].trigger) != NULL);
}

static int same(const state_t *a, const state_t *b)
{
	if (a->chain_id != b->chain_id || !addr_eq(&a->signer, &b->signer) ||
	    a->ntxs != b->ntxs || a->ncooldowns != b->ncooldowns)
		return 0;
	for (size_t i = 0; i < a->ntxs; i++) {
		const state_tx_t *x = &a->txs[i], *y = &b->txs[i];
		if (strcmp(x->action, y->action) || strcmp(x->trigger, y->trigger) ||
		    x->has_account != y->has_account ||
		    (x->has_account && !addr_eq(&x->account, &y->account)) ||
		    x->nonce != y->nonce || memcmp(x->hash, y->hash, 32) ||
		    x->raw_len != y->raw_len || memcmp(x->raw, y->raw, x->raw_len) ||
		    u256_cmp(&x->max_fee, &y->max_fee) ||
		    u256_cmp(&x->priority_fee, &y->priority_fee) ||
		    x->sent_ms != y->sent_ms || x->trip_ms != y->trip_ms ||
		    x->nprev != y->nprev || memcmp(x->prev, y->prev, x->nprev * 32))
			return 0;
	}
	for (size_t i = 0; i < a->ncooldowns; i++) {
		if (strcmp(a->cooldowns[i].trigger, b->cooldowns[i].trigger) ||
		    a->cooldowns[i].last_trip_ms != b->cooldowns[i].last_trip_ms)
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_tmp_write("state.json", data, size);
	char why[256];
	addr_t signer;
	kerr_t err;

	if (addr_parse(&signer, SIGNER, strlen(SIGNER)) != KERR_OK)
		abort();
	why[0] = 0;
	err = state_load(&st, path, 1, &signer, why, sizeof why);
	if (err == KERR_OK) {
		check_state(&st, &signer);
		/* What keeper saves is what it reads back. */
		FUZZ_CHECK(state_save(&st, path) == KERR_OK);
		FUZZ_CHECK(state_load(&again, path, 1, &signer, why, sizeof why) == KERR_OK);
		FUZZ_CHECK(same(&st, &again));
	} else {
		FUZZ_CHECK(err == KERR_STATE_INVALID || err == KERR_JSON ||
			   err == KERR_TOO_LONG || err == KERR_IO || err == KERR_NOMEM);
		if (err == KERR_STATE_INVALID)
			FUZZ_CHECK(memchr(why, 0, sizeof why) != NULL && why[0] != 0);
	}
	return 0;
}
