/*
 * test_addr: EIP-55 checksums against the examples in the EIP and the
 * addresses of the ethers account vectors: each checksums to itself, loses
 * its checksum when any one letter flips case, and parses in all-lower and
 * all-upper case.  (Deriving these addresses from the private keys needs
 * secp256k1 and is tested with the signer.)
 */
#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>

#include "keeper/kerr.h"
#include "signer/addr.h"
#include "signer/keccak.h"
#include "tests/test.h"

static kerr_t parse(addr_t *a, const char *s)
{
	return addr_parse(a, s, strlen(s));
}

/* The checksummed text s must parse, print back as itself, reject every
 * single-letter case flip, and parse as all-lower and all-upper text. */
static bool checksum_holds(const char *s)
{
	char text[ADDR_TEXT_LEN], out[ADDR_TEXT_LEN];
	addr_t a, b;
	bool ok = true;

	if (strlen(s) != ADDR_TEXT_LEN - 1 || parse(&a, s) != KERR_OK)
		return false;
	addr_to_checksum(&a, out);
	ok &= strcmp(out, s) == 0;
	for (size_t i = 2; i < ADDR_TEXT_LEN - 1; i++) {
		if (!isalpha((unsigned char)s[i]))
			continue;
		strcpy(text, s);
		text[i] = (char)(isupper((unsigned char)s[i]) ? tolower((unsigned char)s[i])
							   : toupper((unsigned char)s[i]));
		/* Unless that left no letter of the other case, the text is
		 * mixed and must now fail. */
		kerr_t err = parse(&b, text);
		bool lower = false, upper = false;
		for (size_t k = 2; k < ADDR_TEXT_LEN - 1; k++) {
			lower |= islower((unsigned char)text[k]) != 0;
			upper |= isupper((unsigned char)text[k]) != 0;
		}
		ok &= err == (lower && upper ? KERR_ADDR_CHECKSUM : KERR_OK);
	}
	for (size_t i = 0; i < ADDR_TEXT_LEN; i++)
		text[i] = (char)tolower((unsigned char)s[i]);
	ok &= parse(&b, text) == KERR_OK && addr_eq(&a, &b);
	for (size_t i = 2; i < ADDR_TEXT_LEN; i++)
		text[i] = (char)toupper((unsigned char)s[i]);
	ok &= parse(&b, text) == KERR_OK && addr_eq(&a, &b);
	return ok;
}

static void test_eip55_examples(void)
{
	/* The test cases listed in EIP-55 itself. */
	static const char *const eip[] = {
		/* all caps */
		"0x52908400098527886E0F7030069857D2E4169EE7",
		"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
		/* all lower */
		"0xde709f2102306220921060314715629080e2fb77",
		"0x27b1fdb04752bbc536007a920d24acb045561c26",
		/* mixed */
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
		"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
		"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
		"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
	};
	for (size_t i = 0; i < sizeof eip / sizeof eip[0]; i++)
		CHECK_MSG(checksum_holds(eip[i]), "%s", eip[i]);
}

static void test_ethers_accounts(void)
{
	json_t *root = t_load_json("tests/vectors/ethers/accounts.json.gz");
	size_t i, ok = 0;
	json_t *e;

	CHECK(json_is_array(root));
	json_array_foreach(root, i, e) {
		const char *s = json_string_value(json_object_get(e, "address"));
		if (s && checksum_holds(s))
			ok++;
		else
			CHECK_MSG(0, "entry %zu: %s", i, s ? s : "(no address)");
	}
	printf("    accounts.json addresses: %zu/%zu\n", ok, json_array_size(root));
	CHECK(json_array_size(root) > 0);
	json_decref(root);
}

static void test_parse_errors(void)
{
	addr_t a;

	CHECK_ERR(parse(&a, "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"), KERR_HEX_PREFIX);
	CHECK_ERR(parse(&a, "005aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"), KERR_HEX_PREFIX);
	CHECK_ERR(parse(&a, ""), KERR_HEX_PREFIX);
	CHECK_ERR(parse(&a, "0x"), KERR_ADDR_LENGTH);
	CHECK_ERR(parse(&a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae"), KERR_ADDR_LENGTH);
	CHECK_ERR(parse(&a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed0"), KERR_ADDR_LENGTH);
	CHECK_ERR(parse(&a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed00"), KERR_ADDR_LENGTH);
	CHECK_ERR(parse(&a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg"), KERR_HEX_CHAR);
	CHECK_ERR(parse(&a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea d"), KERR_HEX_CHAR);
	/* The length is explicit: a trailing newline is not silently dropped. */
	CHECK_ERR(parse(&a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\n"), KERR_ADDR_LENGTH);
	CHECK_OK(addr_parse(&a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\n", 42));
	/* "0X" is accepted like "0x"; only the 40 digits carry the checksum. */
	CHECK_OK(parse(&a, "0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
}

static void test_helpers(void)
{
	uint8_t pub[64], h[32];
	char out[ADDR_TEXT_LEN];
	addr_t a, b, zero;

	/* The address of a public key is the low 20 bytes of its hash. */
	for (int i = 0; i < 64; i++)
		pub[i] = (uint8_t)(i * 13 + 1);
	addr_from_pubkey(&a, pub);
	keccak256(h, pub, sizeof pub);
	CHECK_EQ_MEM(a.b, h + 12, 20);

	memset(&zero, 0, sizeof zero);
	addr_to_checksum(&zero, out);
	CHECK_EQ_STR(out, "0x0000000000000000000000000000000000000000");
	CHECK_OK(parse(&b, out));
	CHECK(addr_eq(&b, &zero));
	CHECK(!addr_eq(&a, &zero));
	b = zero;
	b.b[19] = 1;
	CHECK(!addr_eq(&b, &zero));
}

int main(void)
{
	RUN(test_eip55_examples);
	RUN(test_ethers_accounts);
	RUN(test_parse_errors);
	RUN(test_helpers);
	return t_done();
}
