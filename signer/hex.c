/*
 * hex: strict byte <-> hex text conversion (see hex.h).
 *
 * Checks run on the whole text before any byte is written, cheapest first
 * (digit count, then size, then characters), so a caller never has to care
 * what a half-decoded buffer holds.
 */
#include "signer/hex.h"

static const char hex_lower[] = "0123456789abcdef";

int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t hex_encode(char *out, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex_lower[in[i] >> 4];
		out[2 * i + 1] = hex_lower[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
	return 2 * n;
}

/* Length of an optional "0x"/"0X" at the start of s: 0 or 2. */
static size_t prefix_len(const char *s, size_t len)
{
	return len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 2 : 0;
}

/* Decode 2n digits known to be an even count that fits; only the
 * characters are left to check. */
static kerr_t decode_digits(uint8_t *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(s[2 * i]);
		int lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return KERR_HEX_CHAR;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return KERR_OK;
}

kerr_t hex_decode(uint8_t *out, size_t out_cap, size_t *out_len,
		  const char *s, size_t len)
{
	size_t pre = prefix_len(s, len);
	size_t digits = len - pre;
	kerr_t err;

	if (digits % 2)
		return KERR_HEX_ODD;
	if (digits / 2 > out_cap)
		return KERR_TOO_LONG;
	err = decode_digits(out, s + pre, digits / 2);
	if (err)
		return err;
	*out_len = digits / 2;
	return KERR_OK;
}

kerr_t hex_decode_exact(uint8_t *out, size_t n, const char *s, size_t len)
{
	size_t pre = prefix_len(s, len);

	/* Written as a division so that a huge n cannot overflow 2 * n. */
	if ((len - pre) % 2 || (len - pre) / 2 != n)
		return KERR_HEX_LENGTH;
	return decode_digits(out, s + pre, n);
}
