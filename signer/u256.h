/*
 * u256: 256-bit unsigned integers for wei amounts, fees and ABI values.
 *
 * Everything that counts money on Ethereum is a uint256; a double or a
 * uint64 silently loses value above 2^53 or 2^64 wei.  Arithmetic here never
 * wraps: every operation that can overflow reports KERR_NUM_OVERFLOW and
 * leaves the result unspecified.  Limbs are little-endian (w[0] is least
 * significant).
 */
#ifndef SIGNER_U256_H
#define SIGNER_U256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keeper/kerr.h"

typedef struct {
	uint64_t w[4];
} u256_t;

/* Longest decimal text of a u256 (78 digits) plus NUL. */
#define U256_DEC_MAX 79
/* Longest "0x" hex quantity text plus NUL. */
#define U256_HEX_MAX 67

void u256_zero(u256_t *r);
void u256_from_u64(u256_t *r, uint64_t v);
bool u256_is_zero(const u256_t *a);
/* true when a fits in 64 bits; then *out (if not NULL) receives it. */
bool u256_to_u64(const u256_t *a, uint64_t *out);
/* -1, 0 or 1 as a <, ==, > b. */
int u256_cmp(const u256_t *a, const u256_t *b);

/*
 * Parse decimal digits s[0..len).  No sign, no spaces, no prefix; leading
 * zeros are allowed.  KERR_NUM_EMPTY, KERR_NUM_CHAR, KERR_NUM_OVERFLOW.
 */
kerr_t u256_from_dec(u256_t *r, const char *s, size_t len);

/*
 * Parse a hex quantity: "0x" followed by 1..64 digits (any count, odd is fine
 * for a number; leading zeros allowed).  KERR_HEX_PREFIX without 0x,
 * KERR_NUM_EMPTY for a bare "0x", KERR_HEX_CHAR, KERR_NUM_OVERFLOW.
 */
kerr_t u256_from_hex(u256_t *r, const char *s, size_t len);

/* Either: "0x…" as hex, anything else as decimal. */
kerr_t u256_parse(u256_t *r, const char *s, size_t len);

/* Big-endian bytes (len 0..32; longer is KERR_NUM_OVERFLOW unless the extra
 * leading bytes are zero). */
kerr_t u256_from_be(u256_t *r, const uint8_t *b, size_t len);
/* 32 big-endian bytes. */
void u256_to_be(const u256_t *a, uint8_t out[32]);
/* Minimal big-endian bytes (no leading zero; zero is 0 bytes), as RLP wants
 * integers.  Returns the length 0..32. */
size_t u256_to_be_min(const u256_t *a, uint8_t out[32]);

/* Decimal text with NUL into out (cap >= U256_DEC_MAX); returns length. */
size_t u256_to_dec(const u256_t *a, char *out, size_t cap);
/* "0x" + minimal lowercase hex ("0x0" for zero) with NUL into out
 * (cap >= U256_HEX_MAX); returns length. */
size_t u256_to_hex(const u256_t *a, char *out, size_t cap);

kerr_t u256_add(u256_t *r, const u256_t *a, const u256_t *b);
kerr_t u256_sub(u256_t *r, const u256_t *a, const u256_t *b); /* UNDERFLOW */
kerr_t u256_mul_u64(u256_t *r, const u256_t *a, uint64_t m);
/* r = a / d, *rem = a % d (rem may be NULL).  KERR_DIV_ZERO. */
kerr_t u256_div_u64(u256_t *r, const u256_t *a, uint64_t d, uint64_t *rem);
/*
 * r = ceil(a * num / den), computed without losing the high bits of the
 * product.  This is the fee arithmetic of gas bumping: raising a fee by
 * 12.5% is u256_muldiv_ceil(r, fee, 1125, 1000), and rounding up keeps the
 * node's "new >= old * 110 / 100" replacement rule true.  KERR_DIV_ZERO,
 * KERR_NUM_OVERFLOW when the result exceeds 256 bits.
 */
kerr_t u256_muldiv_ceil(u256_t *r, const u256_t *a, uint64_t num,
			uint64_t den);
/* Fractional gwei ("1.5") to wei: up to 9 decimals, more is KERR_NUM_RANGE. */
kerr_t u256_from_gwei(u256_t *r, const char *s, size_t len);

#endif
