/*
 * keccak: Keccak-f[1600] and the Keccak-256 sponge (see keccak.h).
 *
 * Written from the Keccak reference (FIPS 202 section 3 describes the same
 * permutation): 24 rounds of theta, rho, pi, chi, iota over 25 64-bit lanes.
 * Keccak-256 absorbs 136 bytes (rate = 1600 - 2 * 256 bits) per permutation.
 * Bytes are XORed into lanes little-endian by shifting, which keeps the code
 * independent of the host's byte order.  Hashing sits on the trip-to-wire
 * path (signing hash, transaction hash), so the permutation is written for
 * speed: see keccak_f1600.
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

/*
 * The permutation with the 25 lanes in local variables and every index and
 * rotation a constant, so the compiler keeps lanes in registers and emits
 * single rotate instructions.  A first version indexed lanes with "% 5" in
 * loops and cost ~3.7 us per permutation: hashing a transaction then cost a
 * tenth of signing it, and hashing sits on the trip-to-wire path.
 * Straight-line code derived from FIPS 202 3.2 (theta, rho, pi, chi, iota).
 */
#define ROTL(v, n) ((v) << (n) | (v) >> (64 - (n)))

static void keccak_f1600(uint64_t st[25])
{
	uint64_t a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24;
	uint64_t b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17, b18, b19, b20, b21, b22, b23, b24;
	uint64_t c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;

	a0 = st[0];
	a1 = st[1];
	a2 = st[2];
	a3 = st[3];
	a4 = st[4];
	a5 = st[5];
	a6 = st[6];
	a7 = st[7];
	a8 = st[8];
	a9 = st[9];
	a10 = st[10];
	a11 = st[11];
	a12 = st[12];
	a13 = st[13];
	a14 = st[14];
	a15 = st[15];
	a16 = st[16];
	a17 = st[17];
	a18 = st[18];
	a19 = st[19];
	a20 = st[20];
	a21 = st[21];
	a22 = st[22];
	a23 = st[23];
	a24 = st[24];
	for (unsigned round = 0; round < ROUNDS; round++) {
		/* theta */
		c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20;
		c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21;
		c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22;
		c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23;
		c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24;
		d0 = c4 ^ ROTL(c1, 1);
		d1 = c0 ^ ROTL(c2, 1);
		d2 = c1 ^ ROTL(c3, 1);
		d3 = c2 ^ ROTL(c4, 1);
		d4 = c3 ^ ROTL(c0, 1);
		/* rho and pi: lane (x, y) rotates into (y, 2x + 3y) */
		b0 = a0 ^ d0;
		b10 = ROTL(a1 ^ d1, 1);
		b20 = ROTL(a2 ^ d2, 62);
		b5 = ROTL(a3 ^ d3, 28);
		b15 = ROTL(a4 ^ d4, 27);
		b16 = ROTL(a5 ^ d0, 36);
		b1 = ROTL(a6 ^ d1, 44);
		b11 = ROTL(a7 ^ d2, 6);
		b21 = ROTL(a8 ^ d3, 55);
		b6 = ROTL(a9 ^ d4, 20);
		b7 = ROTL(a10 ^ d0, 3);
		b17 = ROTL(a11 ^ d1, 10);
		b2 = ROTL(a12 ^ d2, 43);
		b12 = ROTL(a13 ^ d3, 25);
		b22 = ROTL(a14 ^ d4, 39);
		b23 = ROTL(a15 ^ d0, 41);
		b8 = ROTL(a16 ^ d1, 45);
		b18 = ROTL(a17 ^ d2, 15);
		b3 = ROTL(a18 ^ d3, 21);
		b13 = ROTL(a19 ^ d4, 8);
		b14 = ROTL(a20 ^ d0, 18);
		b24 = ROTL(a21 ^ d1, 2);
		b9 = ROTL(a22 ^ d2, 61);
		b19 = ROTL(a23 ^ d3, 56);
		b4 = ROTL(a24 ^ d4, 14);
		/* chi */
		a0 = b0 ^ (~b1 & b2);
		a1 = b1 ^ (~b2 & b3);
		a2 = b2 ^ (~b3 & b4);
		a3 = b3 ^ (~b4 & b0);
		a4 = b4 ^ (~b0 & b1);
		a5 = b5 ^ (~b6 & b7);
		a6 = b6 ^ (~b7 & b8);
		a7 = b7 ^ (~b8 & b9);
		a8 = b8 ^ (~b9 & b5);
		a9 = b9 ^ (~b5 & b6);
		a10 = b10 ^ (~b11 & b12);
		a11 = b11 ^ (~b12 & b13);
		a12 = b12 ^ (~b13 & b14);
		a13 = b13 ^ (~b14 & b10);
		a14 = b14 ^ (~b10 & b11);
		a15 = b15 ^ (~b16 & b17);
		a16 = b16 ^ (~b17 & b18);
		a17 = b17 ^ (~b18 & b19);
		a18 = b18 ^ (~b19 & b15);
		a19 = b19 ^ (~b15 & b16);
		a20 = b20 ^ (~b21 & b22);
		a21 = b21 ^ (~b22 & b23);
		a22 = b22 ^ (~b23 & b24);
		a23 = b23 ^ (~b24 & b20);
		a24 = b24 ^ (~b20 & b21);
		/* iota */
		a0 ^= round_const[round];
	}
	st[0] = a0;
	st[1] = a1;
	st[2] = a2;
	st[3] = a3;
	st[4] = a4;
	st[5] = a5;
	st[6] = a6;
	st[7] = a7;
	st[8] = a8;
	st[9] = a9;
	st[10] = a10;
	st[11] = a11;
	st[12] = a12;
	st[13] = a13;
	st[14] = a14;
	st[15] = a15;
	st[16] = a16;
	st[17] = a17;
	st[18] = a18;
	st[19] = a19;
	st[20] = a20;
	st[21] = a21;
	st[22] = a22;
	st[23] = a23;
	st[24] = a24;
}
#undef ROTL

static void xor_byte(uint64_t st[25], size_t pos, uint8_t v)
{
	st[pos / 8] ^= (uint64_t)v << (8 * (pos % 8));
}

/* Little-endian lane from 8 bytes, independent of the host's byte order. */
static uint64_t load_le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

void keccak_init(keccak_ctx_t *c)
{
	memset(c, 0, sizeof *c);
}

void keccak_update(keccak_ctx_t *c, const uint8_t *in, size_t len)
{
	size_t i = 0;
	/* Bytes up to a lane boundary, then whole lanes, then the tail. */
	while (i < len && c->pos % 8 != 0) {
		xor_byte(c->st, c->pos, in[i++]);
		if (++c->pos == RATE) {
			keccak_f1600(c->st);
			c->pos = 0;
		}
	}
	while (len - i >= 8) {
		c->st[c->pos / 8] ^= load_le64(in + i);
		i += 8;
		c->pos += 8;
		if (c->pos == RATE) {
			keccak_f1600(c->st);
			c->pos = 0;
		}
	}
	while (i < len) {
		xor_byte(c->st, c->pos, in[i++]);
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
