/*
 * addr: address parsing and EIP-55 checksums (see addr.h).
 *
 * EIP-55: hash the 40 lowercase hex digits (as ASCII) with keccak256; a
 * letter digit i is uppercase exactly when nibble i of the hash is 8 or more.
 */
#include <string.h>

#include "signer/addr.h"
#include "signer/hex.h"
#include "signer/keccak.h"

#define ADDR_DIGITS 40

static bool is_lower_hex_letter(char c)
{
	return c >= 'a' && c <= 'f';
}

static bool is_upper_hex_letter(char c)
{
	return c >= 'A' && c <= 'F';
}

/* Apply the EIP-55 case to 40 lowercase digits in place. */
static void checksum_case(char digits[ADDR_DIGITS])
{
	uint8_t h[32];
	keccak256(h, (const uint8_t *)digits, ADDR_DIGITS);
	for (size_t i = 0; i < ADDR_DIGITS; i++) {
		unsigned nibble = i % 2 ? h[i / 2] & 0x0f : h[i / 2] >> 4;
		if (nibble >= 8 && is_lower_hex_letter(digits[i]))
			digits[i] = (char)(digits[i] - 'a' + 'A');
	}
}

kerr_t addr_parse(addr_t *a, const char *s, size_t len)
{
	char want[ADDR_TEXT_LEN];
	bool lower = false, upper = false;
	addr_t t;
	kerr_t err;

	if (len < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return KERR_HEX_PREFIX;
	if (len - 2 != ADDR_DIGITS)
		return KERR_ADDR_LENGTH;
	err = hex_decode_exact(t.b, sizeof t.b, s, len);
	if (err)
		return err;
	for (size_t i = 2; i < len; i++) {
		lower |= is_lower_hex_letter(s[i]);
		upper |= is_upper_hex_letter(s[i]);
	}
	if (lower && upper) {
		addr_to_checksum(&t, want);
		if (memcmp(want + 2, s + 2, ADDR_DIGITS) != 0)
			return KERR_ADDR_CHECKSUM;
	}
	*a = t;
	return KERR_OK;
}

void addr_to_checksum(const addr_t *a, char out[ADDR_TEXT_LEN])
{
	out[0] = '0';
	out[1] = 'x';
	hex_encode(out + 2, a->b, sizeof a->b);
	checksum_case(out + 2);
}

void addr_from_pubkey(addr_t *a, const uint8_t pub[64])
{
	uint8_t h[32];
	keccak256(h, pub, 64);
	memcpy(a->b, h + 32 - sizeof a->b, sizeof a->b);
}

bool addr_eq(const addr_t *a, const addr_t *b)
{
	return memcmp(a->b, b->b, sizeof a->b) == 0;
}
