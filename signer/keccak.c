/*
 * keccak: Keccak-f[1600] and the Keccak-256 sponge (see keccak.h).
 *
 * Written from the Keccak reference (FIPS 202 section 3 describes the same
 * permutation): 24 rounds of theta, rho, pi, chi, iota over 25 64-bit lanes.
 * Keccak-256 absorbs 136 bytes (rate = 1600 - 2 * 256 bits) per permutation.
 * Bytes are XORed into lanes little-endian by shifting, which keeps the code
 * independent of the host's byte order; the speed is ample for hashing
 * transactions and selectors.
 */
#include <string.h>

#include "signer/keccak.h"

#define RATE 136
#define ROUNDS 24

static const uint64_t round_const[ROUNDS] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
	0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
	0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
	0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
	0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
	0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
	0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* rho rotation of lane x + 5y. */
static const unsigned rho[25] = {
	0, 1, 62, 28, 27,
	36, 44, 6, 55, 20,
	3, 10, 43, 25, 39,
	41, 45, 15, 21, 8,
	18, 2, 61, 56, 14,
};

static uint64_t rotl(uint64_t v, unsigned n)
{
	/* The mask keeps n = 0 defined (no shift by 64). */
	return v << n | v >> ((64 - n) & 63);
}

static void theta(uint64_t a[25])
{
	uint64_t c[5];
	for (unsigned x = 0; x < 5; x++)
		c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
	for (unsigned x = 0; x < 5; x++) {
		uint64_t d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
		for (unsigned y = 0; y < 25; y += 5)
			a[x + y] ^= d;
	}
}

/* rho and pi together: lane (x, y) rotates and moves to (y, 2x + 3y). */
static void rho_pi(const uint64_t a[25], uint64_t b[25])
{
	for (unsigned x = 0; x < 5; x++) {
		for (unsigned y = 0; y < 5; y++)
			b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y], rho[x + 5 * y]);
	}
}

static void chi(uint64_t a[25], const uint64_t b[25])
{
	for (unsigned y = 0; y < 25; y += 5) {
		for (unsigned x = 0; x < 5; x++)
			a[x + y] = b[x + y] ^ (~b[(x + 1) % 5 + y] & b[(x + 2) % 5 + y]);
	}
}

static void keccak_f1600(uint64_t a[25])
{
	uint64_t b[25];
	for (unsigned round = 0; round < ROUNDS; round++) {
		theta(a);
		rho_pi(a, b);
		chi(a, b);
		a[0] ^= round_const[round];
	}
}

static void xor_byte(uint64_t st[25], size_t pos, uint8_t v)
{
	st[pos / 8] ^= (uint64_t)v << (8 * (pos % 8));
}

void keccak_init(keccak_ctx_t *c)
{
	memset(c, 0, sizeof *c);
}

void keccak_update(keccak_ctx_t *c, const uint8_t *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		xor_byte(c->st, c->pos, in[i]);
		if (++c->pos == RATE) {
			keccak_f1600(c->st);
			c->pos = 0;
		}
	}
}

void keccak_final(keccak_ctx_t *c, uint8_t out[32])
{
	/* Keccak's pad10*1 with domain bits 0x01 (SHA3-256 would use 0x06).
	 * When pos is RATE - 1 both land in the same byte, giving 0x81. */
	xor_byte(c->st, c->pos, 0x01);
	xor_byte(c->st, RATE - 1, 0x80);
	keccak_f1600(c->st);
	for (size_t i = 0; i < 32; i++)
		out[i] = (uint8_t)(c->st[i / 8] >> (8 * (i % 8)));
	explicit_bzero(c, sizeof *c);
}

void keccak256(uint8_t out[32], const uint8_t *in, size_t len)
{
	keccak_ctx_t c;
	keccak_init(&c);
	keccak_update(&c, in, len);
	keccak_final(&c, out);
}
