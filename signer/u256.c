/*
 * u256: checked 256-bit unsigned arithmetic (see u256.h).
 *
 * Multiplication and division by a 64-bit word are the only non-trivial
 * operations money needs (decimal text, gwei, fee bumps), so they are built
 * on two helpers over little-endian limb arrays of any length: one multiplies
 * by a word, one divides by a word.  u256_muldiv_ceil uses them on a 5-limb
 * (320-bit) product, which is exact because a * num < 2^256 * 2^64.
 *
 * Every function accepts r aliasing an input: results are built in a local
 * and copied out at the end.
 */
#include <string.h>

#include "signer/hex.h"
#include "signer/u256.h"

/* gcc and clang provide a 128-bit integer on 64-bit targets; with it the
 * carries of a 64x64 multiply and a 128/64 divide are written directly. */
__extension__ typedef unsigned __int128 u128_t;

#define NLIMBS 4
/* 10^9: wei per gwei. */
#define WEI_PER_GWEI 1000000000u
#define GWEI_DECIMALS 9

/* out[0..n] = a[0..n) * m; out has n + 1 limbs. */
static void limbs_mul(uint64_t *out, const uint64_t *a, size_t n, uint64_t m)
{
	uint64_t carry = 0;
	for (size_t i = 0; i < n; i++) {
		u128_t t = (u128_t)a[i] * m + carry;
		out[i] = (uint64_t)t;
		carry = (uint64_t)(t >> 64);
	}
	out[n] = carry;
}

/* q[0..n) = a[0..n) / d, returns a % d; d != 0. */
static uint64_t limbs_div(uint64_t *q, const uint64_t *a, size_t n, uint64_t d)
{
	uint64_t rem = 0;
	for (size_t i = n; i-- > 0;) {
		u128_t cur = (u128_t)rem << 64 | a[i];
		q[i] = (uint64_t)(cur / d);
		rem = (uint64_t)(cur % d);
	}
	return rem;
}

void u256_zero(u256_t *r)
{
	memset(r, 0, sizeof *r);
}

void u256_from_u64(u256_t *r, uint64_t v)
{
	u256_zero(r);
	r->w[0] = v;
}

bool u256_is_zero(const u256_t *a)
{
	return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0;
}

bool u256_to_u64(const u256_t *a, uint64_t *out)
{
	if (a->w[1] | a->w[2] | a->w[3])
		return false;
	if (out)
		*out = a->w[0];
	return true;
}

int u256_cmp(const u256_t *a, const u256_t *b)
{
	for (size_t i = NLIMBS; i-- > 0;) {
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	}
	return 0;
}

kerr_t u256_add(u256_t *r, const u256_t *a, const u256_t *b)
{
	u256_t t;
	uint64_t carry = 0;
	for (size_t i = 0; i < NLIMBS; i++) {
		u128_t s = (u128_t)a->w[i] + b->w[i] + carry;
		t.w[i] = (uint64_t)s;
		carry = (uint64_t)(s >> 64);
	}
	if (carry)
		return KERR_NUM_OVERFLOW;
	*r = t;
	return KERR_OK;
}

kerr_t u256_sub(u256_t *r, const u256_t *a, const u256_t *b)
{
	u256_t t;
	uint64_t borrow = 0;
	for (size_t i = 0; i < NLIMBS; i++) {
		uint64_t x = a->w[i], y = b->w[i];
		t.w[i] = x - y - borrow;
		borrow = x < y || (x == y && borrow);
	}
	if (borrow)
		return KERR_NUM_UNDERFLOW;
	*r = t;
	return KERR_OK;
}

kerr_t u256_mul_u64(u256_t *r, const u256_t *a, uint64_t m)
{
	uint64_t t[NLIMBS + 1];
	limbs_mul(t, a->w, NLIMBS, m);
	if (t[NLIMBS])
		return KERR_NUM_OVERFLOW;
	memcpy(r->w, t, sizeof r->w);
	return KERR_OK;
}

kerr_t u256_div_u64(u256_t *r, const u256_t *a, uint64_t d, uint64_t *rem)
{
	uint64_t q[NLIMBS], m;
	if (d == 0)
		return KERR_DIV_ZERO;
	m = limbs_div(q, a->w, NLIMBS, d);
	memcpy(r->w, q, sizeof r->w);
	if (rem)
		*rem = m;
	return KERR_OK;
}

kerr_t u256_muldiv_ceil(u256_t *r, const u256_t *a, uint64_t num,
			uint64_t den)
{
	uint64_t prod[NLIMBS + 1], q[NLIMBS + 1], rem;
	u256_t t;
	if (den == 0)
		return KERR_DIV_ZERO;
	limbs_mul(prod, a->w, NLIMBS, num);
	rem = limbs_div(q, prod, NLIMBS + 1, den);
	if (q[NLIMBS])
		return KERR_NUM_OVERFLOW;
	memcpy(t.w, q, sizeof t.w);
	if (rem) {
		u256_t one;
		u256_from_u64(&one, 1);
		return u256_add(r, &t, &one);
	}
	*r = t;
	return KERR_OK;
}

/* r = r * base + digit, failing on overflow. */
static kerr_t shift_in(u256_t *r, uint64_t base, uint64_t digit)
{
	u256_t d;
	kerr_t err = u256_mul_u64(r, r, base);
	if (err)
		return err;
	u256_from_u64(&d, digit);
	return u256_add(r, r, &d);
}

kerr_t u256_from_dec(u256_t *r, const char *s, size_t len)
{
	u256_t t;
	if (len == 0)
		return KERR_NUM_EMPTY;
	/* All characters first: "12x" is a bad character even if 12... would
	 * also overflow. */
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return KERR_NUM_CHAR;
	}
	u256_zero(&t);
	for (size_t i = 0; i < len; i++) {
		if (shift_in(&t, 10, (uint64_t)(s[i] - '0')))
			return KERR_NUM_OVERFLOW;
	}
	*r = t;
	return KERR_OK;
}

static bool has_hex_prefix(const char *s, size_t len)
{
	return len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

kerr_t u256_from_hex(u256_t *r, const char *s, size_t len)
{
	u256_t t;
	if (!has_hex_prefix(s, len))
		return KERR_HEX_PREFIX;
	if (len == 2)
		return KERR_NUM_EMPTY;
	for (size_t i = 2; i < len; i++) {
		if (hex_digit(s[i]) < 0)
			return KERR_HEX_CHAR;
	}
	u256_zero(&t);
	for (size_t i = 2; i < len; i++) {
		if (shift_in(&t, 16, (uint64_t)hex_digit(s[i])))
			return KERR_NUM_OVERFLOW;
	}
	*r = t;
	return KERR_OK;
}

kerr_t u256_parse(u256_t *r, const char *s, size_t len)
{
	if (has_hex_prefix(s, len))
		return u256_from_hex(r, s, len);
	return u256_from_dec(r, s, len);
}

kerr_t u256_from_be(u256_t *r, const uint8_t *b, size_t len)
{
	while (len > 0 && b[0] == 0) {
		b++;
		len--;
	}
	if (len > 32)
		return KERR_NUM_OVERFLOW;
	u256_zero(r);
	for (size_t i = 0; i < len; i++) {
		size_t bit = 8 * (len - 1 - i);
		r->w[bit / 64] |= (uint64_t)b[i] << (bit % 64);
	}
	return KERR_OK;
}

void u256_to_be(const u256_t *a, uint8_t out[32])
{
	for (size_t i = 0; i < 32; i++) {
		size_t bit = 8 * (31 - i);
		out[i] = (uint8_t)(a->w[bit / 64] >> (bit % 64));
	}
}

size_t u256_to_be_min(const u256_t *a, uint8_t out[32])
{
	uint8_t full[32];
	size_t skip = 0;
	u256_to_be(a, full);
	while (skip < 32 && full[skip] == 0)
		skip++;
	memcpy(out, full + skip, 32 - skip);
	return 32 - skip;
}

/* Copy the len chars of text (plus NUL) to out if they fit; an output
 * that does not fit is left empty rather than silently cut short. */
static size_t put_text(char *out, size_t cap, const char *text, size_t len)
{
	if (len + 1 > cap) {
		if (cap > 0)
			out[0] = '\0';
		return 0;
	}
	memcpy(out, text, len);
	out[len] = '\0';
	return len;
}

size_t u256_to_dec(const u256_t *a, char *out, size_t cap)
{
	char buf[U256_DEC_MAX];
	size_t pos = sizeof buf - 1;
	u256_t t = *a;

	buf[pos] = '\0';
	do {
		uint64_t digit;
		u256_div_u64(&t, &t, 10, &digit);
		buf[--pos] = (char)('0' + digit);
	} while (!u256_is_zero(&t));
	return put_text(out, cap, buf + pos, sizeof buf - 1 - pos);
}

size_t u256_to_hex(const u256_t *a, char *out, size_t cap)
{
	uint8_t be[32];
	char digits[65];
	size_t skip = 0;
	char buf[U256_HEX_MAX];

	u256_to_be(a, be);
	hex_encode(digits, be, sizeof be);
	while (skip < 63 && digits[skip] == '0')
		skip++;
	buf[0] = '0';
	buf[1] = 'x';
	memcpy(buf + 2, digits + skip, 64 - skip);
	return put_text(out, cap, buf, 2 + 64 - skip);
}

/* Value of 1..9 fraction digits scaled to 9 places ("5" -> 500000000). */
static uint64_t gwei_fraction(const char *s, size_t len)
{
	uint64_t v = 0;
	for (size_t i = 0; i < GWEI_DECIMALS; i++)
		v = v * 10 + (i < len ? (uint64_t)(s[i] - '0') : 0);
	return v;
}

kerr_t u256_from_gwei(u256_t *r, const char *s, size_t len)
{
	const char *dot = memchr(s, '.', len);
	size_t int_len = dot ? (size_t)(dot - s) : len;
	size_t frac_len = dot ? len - int_len - 1 : 0;
	u256_t t, frac;
	kerr_t err;

	/* "1." and ".5" are refused: a config value should read unambiguously. */
	if (int_len == 0 || (dot && frac_len == 0))
		return KERR_NUM_EMPTY;
	err = u256_from_dec(&t, s, int_len);
	if (err)
		return err;
	if (dot) {
		for (size_t i = 0; i < frac_len; i++) {
			if (dot[1 + i] < '0' || dot[1 + i] > '9')
				return KERR_NUM_CHAR;
		}
		if (frac_len > GWEI_DECIMALS)
			return KERR_NUM_RANGE;
	}
	err = u256_mul_u64(&t, &t, WEI_PER_GWEI);
	if (err)
		return err;
	u256_from_u64(&frac, dot ? gwei_fraction(dot + 1, frac_len) : 0);
	err = u256_add(&t, &t, &frac);
	if (err)
		return err;
	*r = t;
	return KERR_OK;
}
