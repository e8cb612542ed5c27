/*
 * fuzz_hex_u256: the text readers of numbers and identifiers that config
 * files, CLI arguments and node replies reach: hex_decode /
 * hex_decode_exact, u256_parse / u256_from_dec / u256_from_hex /
 * u256_from_gwei, addr_parse and abi_sig_parse.
 *
 * Invariants (round trips): hex_encode(hex_decode(x)) is x lowercased
 * without its prefix; a decimal or hex u256 prints back as its text with
 * leading zeros dropped (hex lowercased); an address prints back as its
 * text up to case, and its EIP-55 form parses again; an ABI signature's
 * canonical form parses to itself with the same selector; a whole number
 * of gwei is that decimal times 10^9.
 */
#include "signer/abi.h"
#include "signer/addr.h"
#include "signer/hex.h"
#include "signer/u256.h"

#include <ctype.h>

#include "tests/fuzz/fuzz.h"

#define HEX_CAP 4096

static void fuzz_hex(const char *s, size_t len)
{
	static uint8_t bytes[HEX_CAP];
	static char text[2 * HEX_CAP + 1];
	size_t n, skip = (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 2 : 0;

	if (hex_decode(bytes, sizeof bytes, &n, s, len) != KERR_OK)
		return;
	FUZZ_CHECK(2 * n == len - skip);
	FUZZ_CHECK(hex_encode(text, bytes, n) == 2 * n && text[2 * n] == 0);
	for (size_t i = 0; i < 2 * n; i++)
		FUZZ_CHECK(text[i] == tolower((unsigned char)s[skip + i]));
	FUZZ_CHECK(hex_decode_exact(bytes, n, s, len) == KERR_OK);
	if (n > 0)
		FUZZ_CHECK(hex_decode_exact(bytes, n - 1, s, len) == KERR_HEX_LENGTH);
}

/* s without its leading zeros ("0" when all are zeros), lowercased. */
static size_t strip(const char *s, size_t len, char *out)
{
	size_t i = 0, n = 0;

	while (i + 1 < len && s[i] == '0')
		i++;
	for (; i < len; i++)
		out[n++] = (char)tolower((unsigned char)s[i]);
	return n;
}

static void fuzz_u256(const char *s, size_t len)
{
	char text[U256_DEC_MAX + U256_HEX_MAX], want[256];
	u256_t a, b, g, w;

	if (u256_from_dec(&a, s, len) == KERR_OK) {
		size_t n = u256_to_dec(&a, text, U256_DEC_MAX);
		if (len < sizeof want)
			FUZZ_CHECK(n == strip(s, len, want) && memcmp(text, want, n) == 0);
		FUZZ_CHECK(u256_parse(&b, s, len) == KERR_OK && u256_cmp(&a, &b) == 0);
		/* Whole gwei: the same number times 10^9, when that fits. */
		if (u256_mul_u64(&w, &a, 1000000000) == KERR_OK) {
			FUZZ_CHECK(u256_from_gwei(&g, s, len) == KERR_OK);
			FUZZ_CHECK(u256_cmp(&g, &w) == 0);
		}
	}
	if (u256_from_hex(&a, s, len) == KERR_OK) {
		size_t n = u256_to_hex(&a, text, U256_HEX_MAX);
		FUZZ_CHECK(len >= 3);
		if (len - 2 < sizeof want)
			FUZZ_CHECK(n == 2 + strip(s + 2, len - 2, want) &&
				   memcmp(text, "0x", 2) == 0 &&
				   memcmp(text + 2, want, n - 2) == 0);
		FUZZ_CHECK(u256_parse(&b, s, len) == KERR_OK && u256_cmp(&a, &b) == 0);
	}
	if (u256_from_gwei(&g, s, len) == KERR_OK) {
		/* At most 9 decimals: the wei amount has no fraction left, so
		 * dividing by 10^9 and multiplying back loses at most the
		 * decimals, never more than 10^9 - 1 wei. */
		uint64_t rem;
		FUZZ_CHECK(u256_div_u64(&w, &g, 1000000000, &rem) == KERR_OK);
		FUZZ_CHECK(rem < 1000000000);
	}
	(void)u256_parse(&a, s, len);
}

static void fuzz_addr(const char *s, size_t len)
{
	char text[ADDR_TEXT_LEN];
	addr_t a, b;

	if (addr_parse(&a, s, len) != KERR_OK)
		return;
	FUZZ_CHECK(len == ADDR_TEXT_LEN - 1);
	addr_to_checksum(&a, text);
	for (size_t i = 2; i < len; i++)
		FUZZ_CHECK(tolower((unsigned char)text[i]) == tolower((unsigned char)s[i]));
	FUZZ_CHECK(addr_parse(&b, text, ADDR_TEXT_LEN - 1) == KERR_OK && addr_eq(&a, &b));
}

static void fuzz_abi(const char *s, size_t len)
{
	static abi_sig_t a, b;

	if (abi_sig_parse(&a, s, len) != KERR_OK)
		return;
	FUZZ_CHECK(a.nargs <= ABI_MAX_ARGS);
	FUZZ_CHECK(memchr(a.canonical, 0, sizeof a.canonical) != NULL);
	FUZZ_CHECK(abi_sig_parse(&b, a.canonical, strlen(a.canonical)) == KERR_OK);
	FUZZ_CHECK(strcmp(a.canonical, b.canonical) == 0 &&
		   memcmp(a.selector, b.selector, 4) == 0 && a.nargs == b.nargs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_dup(data, size);

	fuzz_hex(s, size);
	fuzz_u256(s, size);
	fuzz_addr(s, size);
	fuzz_abi(s, size);
	free(s);
	return 0;
}
