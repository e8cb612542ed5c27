/*
 * bench_sign: what signing a type-2 transaction costs end to end (RLP
 * encoding, keccak of the payload, the signature, the signed encoding and the
 * transaction hash) against the bare libsecp256k1
 * secp256k1_ecdsa_sign_recoverable on the same machine in the same run.
 * Everything but the signature should be noise: the target is a ratio of at
 * most 1.10.
 *
 * The two are measured in alternating rounds and the median round of each is
 * kept, so a burst of load on the machine hits both alike.
 */
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signer/keccak.h"
#include "signer/signer.h"
#include "signer/tx.h"
#include "tests/bench_util.h"

#define ROUNDS 15
#define ITERS 2000

/* A test key, public by being printed here: it holds nothing. */
static const uint8_t dev_key[32] = {
	0xac, 0x09, 0x74, 0xbe, 0xc3, 0x9a, 0x17, 0xe3, 0x6b, 0xa4, 0xa6, 0xb4,
	0xd2, 0x38, 0xff, 0x94, 0x4b, 0xac, 0xb4, 0x78, 0xcb, 0xed, 0x5e, 0xfc,
	0xc5, 0xe6, 0xb3, 0x7b, 0x5c, 0x7d, 0x5e, 0x0b,
};

int main(void)
{
	static uint8_t raw[TX_MAX_RAW];
	uint8_t calldata[4 + 32] = { 0x84, 0x56, 0xcb, 0x59 }; /* pause() + 1 word */
	double e2e[ROUNDS], bare[ROUNDS];
	secp256k1_context *ctx;
	signer_t *s;
	size_t len = 0;
	uint8_t hash[32], txh[32];
	unsigned sink = 0;
	tx_t tx;

	memset(&tx, 0, sizeof tx);
	tx.type = TX_EIP1559;
	tx.chain_id = 31337;
	tx.nonce = 7;
	u256_from_u64(&tx.max_priority_fee, 2000000000);
	u256_from_u64(&tx.max_fee, 60000000000);
	tx.gas_limit = 120000;
	tx.has_to = 1;
	memset(tx.to.b, 0x5a, sizeof tx.to.b);
	tx.data = calldata;
	tx.data_len = sizeof calldata;

	if (signer_new(&s) != KERR_OK || signer_set_key(s, dev_key) != KERR_OK) {
		fprintf(stderr, "bench_sign: cannot set up the signer\n");
		return 1;
	}
	ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	keccak256(hash, calldata, sizeof calldata);

	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_ns();
		for (int i = 0; i < ITERS; i++) {
			tx.nonce++; /* a new transaction each time, as live */
			if (signer_sign_tx(s, &tx, raw, sizeof raw, &len, txh) != KERR_OK)
				return 1;
			sink += txh[0];
		}
		e2e[r] = (now_ns() - t0) / ITERS;

		t0 = now_ns();
		for (int i = 0; i < ITERS; i++) {
			secp256k1_ecdsa_recoverable_signature sig;
			hash[0] = (uint8_t)i; /* a new message each time */
			hash[1] = (uint8_t)(i >> 8);
			if (!secp256k1_ecdsa_sign_recoverable(ctx, &sig, hash, dev_key, NULL, NULL))
				return 1;
			sink += sig.data[0];
		}
		bare[r] = (now_ns() - t0) / ITERS;
	}
	qsort(e2e, ROUNDS, sizeof *e2e, cmp_double);
	qsort(bare, ROUNDS, sizeof *bare, cmp_double);
	{
		double a = e2e[ROUNDS / 2], b = bare[ROUNDS / 2], ratio = a / b;
		printf("sign type-2 tx end to end:              %8.2f us  (%zu-byte raw tx)\n",
		       a / 1000, len);
		printf("bare secp256k1_ecdsa_sign_recoverable:  %8.2f us  (floor)\n", b / 1000);
		printf("ratio: %.3f (target <= 1.10): %s   [median of %d rounds x %d; sink %u]\n",
		       ratio, ratio <= 1.10 ? "met" : "MISSED", ROUNDS, ITERS, sink & 1);
	}
	secp256k1_context_destroy(ctx);
	signer_free(s);
	return 0;
}
