/*
 * nonce: the local nonce counter and its resynchronisation rules
 * (keeper/nonce.h).
 */
#include "keeper/nonce.h"

#include <string.h>

void nonce_init(nonce_t *n)
{
	memset(n, 0, sizeof *n);
}

size_t nonce_observe(nonce_t *n, uint64_t latest, uint64_t pending,
		     const uint64_t *ours, size_t nours)
{
	uint64_t want = pending > latest ? pending : latest;
	size_t i, stranded = 0;
	bool moved;

	n->chain_latest = latest;
	n->chain_pending = want;
	/* Walk the run of our nonces that continues the chain's count; at
	 * most nours passes, and nours is small (the state file's bound). */
	do {
		moved = false;
		for (i = 0; i < nours && want != UINT64_MAX; i++)
			if (ours[i] == want) {
				want++;
				moved = true;
			}
	} while (moved);
	for (i = 0; i < nours; i++)
		stranded += ours[i] > want;
	if (n->synced && want < n->next)
		n->synced_down++;
	else if (n->synced && want > n->next)
		n->synced_up++;
	n->next = want;
	n->synced = true;
	n->need_sync = false;
	return stranded;
}

bool nonce_stranded(const nonce_t *n, uint64_t nonce)
{
	return n->synced && nonce > n->next;
}

kerr_t nonce_peek(const nonce_t *n, uint64_t *out)
{
	if (!n->synced || n->need_sync)
		return KERR_NONCE_SYNC;
	/* 2^64 - 1 is not a valid nonce (EIP-2681). */
	if (n->next == UINT64_MAX)
		return KERR_NONCE_SYNC;
	*out = n->next;
	return KERR_OK;
}

kerr_t nonce_take(nonce_t *n, uint64_t *out)
{
	kerr_t err = nonce_peek(n, out);

	if (err == KERR_OK) {
		n->next++;
		n->taken++;
	}
	return err;
}

void nonce_rejected(nonce_t *n, uint64_t nonce, bool too_low)
{
	if (too_low) {
		n->too_low++;
		n->need_sync = true;
		return;
	}
	if (n->synced && !n->need_sync && nonce + 1 == n->next) {
		n->next = nonce;
		n->given_back++;
		return;
	}
	/* A rejected nonce below the last one taken leaves a gap that only
	 * the chain's view can resolve. */
	n->need_sync = true;
}
