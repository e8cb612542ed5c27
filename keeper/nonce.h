/*
 * nonce: the signer account's next nonce, counted locally so that a trip
 * never waits for a round trip to the node, and pulled back to the chain's
 * view whenever the two can disagree.
 *
 * The failure this is built against: a relayer that counted nonces up for
 * transactions no node ever accepted ended up ahead of the chain, and
 * every later transaction waited forever behind the gap (OpenZeppelin
 * Relayer #683, #818, #843).  The rules that keep keeper's counter honest:
 *
 *  1. A nonce is spent only when a node accepted the transaction.  A
 *     broadcast that no node accepted gives its nonce back if it was the
 *     last one taken (nonce_rejected); otherwise the counter is marked for
 *     a resync.
 *  2. "nonce too low" from a node means someone else spent it (another
 *     keeper with the same key, an operator's wallet): resync.
 *  3. On every observation of the chain (start, and each new head:
 *     eth_getTransactionCount at "latest" and "pending"), the counter
 *     becomes the chain's pending count P, moved past those of our
 *     in-flight nonces that continue it without a hole (P, P+1, ... while
 *     each is ours): down as well as up, so it is never below what the
 *     chain used and never beyond a nonce nobody will fill.  Our in-flight
 *     transactions below the new counter are re-broadcast by the tracker
 *     (the node may have dropped them; the same bytes refill the same
 *     nonce).  Those above it are stranded behind a hole no transaction
 *     of ours fills -- the jam.  The hole must be closed, and closed with
 *     something harmless: the node keeps the stranded transaction queued
 *     and mines it the moment the hole closes, so re-signing its content
 *     at a fresh nonce would land it twice.  keeper/tracker.h fills each
 *     hole with a transaction calling a guard view (a no-op), taking its
 *     nonce from nonce_take() and observing again with the filler counted
 *     as ours, which moves the counter past the stranded ones.
 *
 * Pure: the caller does the RPC calls and hands the numbers in.
 */
#ifndef KEEPER_NONCE_H
#define KEEPER_NONCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keeper/kerr.h"

typedef struct {
	bool synced;           /* next is known */
	bool need_sync;        /* rule 1 or 2 fired: observe before taking */
	uint64_t next;         /* the nonce the next new transaction gets */
	uint64_t chain_latest; /* last observed "latest" count (mined) */
	uint64_t chain_pending;
	/* counters, for metrics and tests */
	uint64_t taken;
	uint64_t given_back;   /* rule 1: returned unspent */
	uint64_t synced_down;  /* the counter was ahead of the chain */
	uint64_t synced_up;    /* the account moved outside keeper */
	uint64_t too_low;      /* rule 2 */
} nonce_t;

/* Not synced: nonce_take() fails until the first nonce_observe(). */
void nonce_init(nonce_t *n);

/*
 * The chain's counts for the account (latest <= pending is expected; a
 * node answering otherwise is taken at max(latest, pending)) and the
 * nonces of our nours transactions in flight, in any order.  Applies rule
 * 3 and clears need_sync.  Returns how many of ours are stranded (above
 * the new counter: nonce_stranded()).
 */
size_t nonce_observe(nonce_t *n, uint64_t latest, uint64_t pending,
		     const uint64_t *ours, size_t nours);

/* After nonce_observe(): whether our in-flight transaction with this nonce
 * sits above a hole that must be filled (rule 3). */
bool nonce_stranded(const nonce_t *n, uint64_t nonce);

/* The nonce for a new transaction (and count it taken).  KERR_NONCE_SYNC
 * before the first observation or while a resync is due. */
kerr_t nonce_take(nonce_t *n, uint64_t *out);

/* The nonce the next nonce_take() would give, without taking it (for a
 * presigned transaction); same errors. */
kerr_t nonce_peek(const nonce_t *n, uint64_t *out);

/*
 * No node accepted the transaction with this nonce.  too_low: a node said
 * the nonce is already used (rule 2: resync); otherwise rule 1: the nonce
 * comes back when it is the last one taken, else a resync is due.
 */
void nonce_rejected(nonce_t *n, uint64_t nonce, bool too_low);

#endif
