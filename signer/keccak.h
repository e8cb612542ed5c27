/*
 * keccak: Keccak-256 as Ethereum uses it (the original Keccak padding 0x01,
 * not NIST SHA3-256's 0x06).  Hashes transactions, addresses, function
 * selectors and EIP-55 checksums.
 */
#ifndef SIGNER_KECCAK_H
#define SIGNER_KECCAK_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint64_t st[25];
	size_t pos;   /* bytes absorbed into the current block */
} keccak_ctx_t;

void keccak_init(keccak_ctx_t *c);
void keccak_update(keccak_ctx_t *c, const uint8_t *in, size_t len);
/* Writes 32 bytes and wipes the context. */
void keccak_final(keccak_ctx_t *c, uint8_t out[32]);

/* One-shot: out = keccak256(in[0..len)). */
void keccak256(uint8_t out[32], const uint8_t *in, size_t len);

#endif
