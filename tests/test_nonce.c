/*
 * test_nonce: the nonce counter's rules, and the relayer jam replayed
 * against a model of a node's pool: a counter that ran ahead of the chain
 * (nonces taken for transactions no node kept) must come back, so that the
 * next transaction is mined instead of queuing forever behind a gap.  A
 * random walk of sends, rejections, drops and outside spends then checks
 * the invariants on every step.
 */
#include <stdio.h>
#include <string.h>
#include "keeper/nonce.h"
#define RNG_SEED 0x6e6f6e6365ULL   /* "nonce" */
#include "tests/rng.h"
#include "tests/test.h"

static void test_rules(void)
{
	nonce_t n;
	uint64_t v;

	nonce_init(&n);
	CHECK_ERR(nonce_take(&n, &v), KERR_NONCE_SYNC);
	nonce_observe(&n, 5, 5, NULL, 0);
	CHECK_OK(nonce_peek(&n, &v));
	CHECK_EQ_INT(v, 5);
	CHECK_OK(nonce_take(&n, &v));
	CHECK_EQ_INT(v, 5);
	CHECK_OK(nonce_take(&n, &v));
	CHECK_EQ_INT(v, 6);
	/* Rule 1: the last one comes back; an older one forces a resync. */
	nonce_rejected(&n, 6, false);
	CHECK_EQ_INT(n.next, 6);
	CHECK_EQ_INT(n.given_back, 1);
	nonce_rejected(&n, 4, false);
	CHECK(n.need_sync);
	CHECK_ERR(nonce_take(&n, &v), KERR_NONCE_SYNC);
	/* Rule 3 with our tx 5 in flight and the node's pool holding it. */
	{
		uint64_t o[1] = { 5 };

		CHECK_EQ_INT(nonce_observe(&n, 5, 6, o, 1), 0);
	}
	CHECK_OK(nonce_take(&n, &v));
	CHECK_EQ_INT(v, 6);
	/* Rule 2. */
	nonce_rejected(&n, 6, true);
	CHECK(n.need_sync && n.too_low == 1);
	/* Someone else used 6 and 7: the counter follows the chain up. */
	nonce_observe(&n, 8, 8, NULL, 0);
	CHECK_EQ_INT(n.next, 8);
	CHECK_EQ_INT(n.synced_up, 1);
	/* Our tx 8 and 9 in flight but the node dropped both: stay at 10, the
	 * tracker re-broadcasts 8 and 9. */
	CHECK_OK(nonce_take(&n, &v));
	CHECK_OK(nonce_take(&n, &v));
	{
		uint64_t o[3] = { 9, 8, 11 };

		/* 8 and 9 continue the chain's 8: next 10; 11 sits above the
		 * hole at 10 and is stranded. */
		CHECK_EQ_INT(nonce_observe(&n, 8, 8, o, 3), 1);
		CHECK_EQ_INT(n.next, 10);
		CHECK(!nonce_stranded(&n, 9) && nonce_stranded(&n, 11));
	}
	/* Nothing in flight any more (resolved): straight to the chain. */
	nonce_observe(&n, 8, 8, NULL, 0);
	CHECK_EQ_INT(n.next, 8);
	CHECK_EQ_INT(n.synced_down, 1);
	/* A node answering pending < latest is taken at latest. */
	nonce_observe(&n, 12, 11, NULL, 0);
	CHECK_EQ_INT(n.next, 12);
	/* EIP-2681: 2^64 - 1 is never handed out. */
	nonce_observe(&n, UINT64_MAX, UINT64_MAX, NULL, 0);
	CHECK_ERR(nonce_take(&n, &v), KERR_NONCE_SYNC);
}

/*
 * The jam.  A model node: `mined` is the account's mined count; the pool
 * holds at most one transaction per nonce; a transaction is mined when its
 * nonce equals `mined` (a gap blocks everything above it).
 */
typedef struct {
	uint64_t mined;
	bool pool[64];
} node_t;

static uint64_t pending_count(const node_t *nd)
{
	uint64_t p = nd->mined;

	while (p < 64 && nd->pool[p])
		p++;
	return p;
}

static void mine(node_t *nd)
{
	while (nd->mined < 64 && nd->pool[nd->mined])
		nd->pool[nd->mined++] = false;
}

static void test_jam(void)
{
	node_t nd;
	nonce_t n;
	uint64_t v, ours[1];
	int i;

	memset(&nd, 0, sizeof nd);
	nonce_init(&n);
	nonce_observe(&n, 0, 0, NULL, 0);
	/* Three nonces counted for transactions no node kept, the way the
	 * relayer did it (a crash between counting and sending would too):
	 * a counter 3 ahead of a chain at 0. */
	for (i = 0; i < 3; i++)
		CHECK_OK(nonce_take(&n, &v));
	/* The next pause gets nonce 3, is accepted into the pool behind the
	 * hole and is never mined. */
	CHECK_OK(nonce_take(&n, &v));
	CHECK_EQ_INT(v, 3);
	nd.pool[v] = true;
	mine(&nd);
	CHECK_EQ_INT(nd.mined, 0);   /* jammed */
	/* keeper's next head: the chain says 0 mined, 0 pending; our one
	 * in-flight transaction (3) does not continue it: the counter goes
	 * back to 0 and 3 is stranded. */
	ours[0] = 3;
	CHECK_EQ_INT(nonce_observe(&n, nd.mined, pending_count(&nd), ours, 1), 1);
	CHECK_EQ_INT(n.next, 0);
	CHECK(nonce_stranded(&n, 3));
	CHECK_EQ_INT(n.synced_down, 1);
	/* The tracker fills the hole with no-op transactions (0, 1, 2),
	 * observing with each filler counted as ours; the counter then moves
	 * past the stranded pause, which the node mines with the fillers:
	 * one pause, the original one. */
	{
		uint64_t all[4] = { 3 };
		size_t k = 1;

		while (nonce_stranded(&n, 3)) {
			CHECK_OK(nonce_take(&n, &v));
			nd.pool[v] = true;
			all[k++] = v;
			nonce_observe(&n, nd.mined, pending_count(&nd), all, k);
			if (k == 4)
				break;
		}
		CHECK_EQ_INT(k, 4);
		CHECK_EQ_INT(n.next, 4);
	}
	mine(&nd);
	CHECK_EQ_INT(nd.mined, 4);
	printf("    jam: counter 4 ahead of a chain at 0, pause at nonce 3 stuck -> resynced to 0, "
	       "hole filled with 3 no-ops, the pause mined once (chain at %llu)\n",
	       (unsigned long long)nd.mined);
}

/* Random walk: sends accepted or rejected, node drops, outside spends,
 * crashes that lose a counted nonce.  On each head keeper observes,
 * re-broadcasts its in-flight transactions below the counter and fills the
 * holes below stranded ones with no-ops (rule 3); then the counter is
 * never below the chain's mined count, every nonce from the mined count up
 * to the counter is in the pool (no hole for the next transaction to wait
 * behind), and no stranded transaction is left. */
static void test_random_walk(void)
{
	int round, bad = 0, steps = 0, stranded_total = 0;

	for (round = 0; round < 2000; round++) {
		node_t nd;
		nonce_t n;
		bool ours[64];
		int s;

		memset(&nd, 0, sizeof nd);
		memset(ours, 0, sizeof ours);
		nonce_init(&n);
		nonce_observe(&n, 0, 0, NULL, 0);
		for (s = 0; s < 40; s++) {
			uint64_t v, k, list[64];
			size_t nl = 0;

			switch (rnd() % 6) {
			case 0: case 1:   /* send */
				if (nonce_take(&n, &v) != KERR_OK || v >= 60)
					break;
				if (rnd() % 4 == 0)
					nonce_rejected(&n, v, false);
				else if (v < nd.mined)
					nonce_rejected(&n, v, true);
				else
					nd.pool[v] = ours[v] = true;
				break;
			case 2:   /* the node drops a pooled tx */
				k = nd.mined + rnd() % 4;
				if (k < 64)
					nd.pool[k] = false;
				break;
			case 3:   /* an outside wallet spends the next nonce */
				if (nd.mined < 60 && !nd.pool[nd.mined])
					nd.pool[nd.mined] = true;
				mine(&nd);
				break;
			case 4:   /* a nonce counted but its tx lost (crash) */
				(void)nonce_take(&n, &v);
				break;
			default:  /* a head */
				mine(&nd);
				for (k = 0; k < 64; k++) {
					if (ours[k] && k < nd.mined)
						ours[k] = false;   /* resolved */
					if (ours[k])
						list[nl++] = k;
				}
				stranded_total += (int)nonce_observe(&n, nd.mined, pending_count(&nd),
								     list, nl);
				steps++;
				/* Re-broadcast below the counter; fill the holes
				 * under stranded ones, observing after each. */
				for (k = 0; k < nl; k++)
					if (!nonce_stranded(&n, list[k]))
						nd.pool[list[k]] = true;
				for (k = 0; k < nl; k++)
					while (nonce_stranded(&n, list[k]) && nl < 64 &&
					       nonce_take(&n, &v) == KERR_OK && v < 64) {
						nd.pool[v] = ours[v] = true;   /* a no-op filler */
						list[nl++] = v;
						nd.pool[list[k]] = true;
						nonce_observe(&n, nd.mined, pending_count(&nd), list, nl);
					}
				/* What the fills released is below the counter now:
				 * re-broadcast it too. */
				for (k = 0; k < nl; k++)
					if (!nonce_stranded(&n, list[k]))
						nd.pool[list[k]] = true;
				for (k = 0; k < nl; k++)
					if (nonce_stranded(&n, list[k]))
						bad++;
				if (n.next < nd.mined)
					bad++;
				for (k = nd.mined; k < n.next && k < 64; k++)
					if (!nd.pool[k])
						bad++;
			}
		}
	}
	printf("    random walk: 2000 runs, %d heads, %d stranded transactions released by fills, "
	       "%d holes or counters behind the chain\n", steps, stranded_total, bad);
	CHECK_EQ_INT(bad, 0);
}

int main(void)
{
	RUN(test_rules);
	RUN(test_jam);
	RUN(test_random_walk);
	return t_done();
}
