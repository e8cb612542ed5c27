/*
 * test_u256: parsing, printing and checked arithmetic of 256-bit integers,
 * with the edges that matter for money: 2^256 - 1 round trips, overflow at
 * 2^256, underflow, division by zero, exact rounding of fee bumps and
 * fractional gwei.  Decimal parsing and printing are also checked against
 * every bare uintN/intN value of the ethers ABI vectors (decimal text beside
 * its 32-byte encoding).
 */
#include <jansson.h>
#include <stdbool.h>

#include "keeper/kerr.h"
#include "signer/hex.h"
#include "signer/u256.h"
#include "tests/test.h"

#define MAX_DEC "115792089237316195423570985008687907853269984665640564039457584007913129639935"
#define TWO256_DEC "115792089237316195423570985008687907853269984665640564039457584007913129639936"
/* 2^256 - 1 wei in gwei, then one wei and one gwei more. */
#define MAX_GWEI "115792089237316195423570985008687907853269984665640564039457584007913.129639935"
#define MAX_GWEI_PLUS_1_WEI "115792089237316195423570985008687907853269984665640564039457584007913.129639936"
#define MAX_GWEI_INT_PLUS_1 "115792089237316195423570985008687907853269984665640564039457584007914"
#define MAX_HEX "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

static u256_t num(const char *s)
{
	u256_t v;
	kerr_t err = u256_parse(&v, s, strlen(s));
	CHECK_MSG(err == KERR_OK, "bad test literal %s: %s", s, kerr_name(err));
	return v;
}

static const char *dec(const u256_t *v)
{
	static char buf[U256_DEC_MAX];
	u256_to_dec(v, buf, sizeof buf);
	return buf;
}

static const char *hex(const u256_t *v)
{
	static char buf[U256_HEX_MAX];
	u256_to_hex(v, buf, sizeof buf);
	return buf;
}

static kerr_t pdec(u256_t *r, const char *s)
{
	return u256_from_dec(r, s, strlen(s));
}

static kerr_t phex(u256_t *r, const char *s)
{
	return u256_from_hex(r, s, strlen(s));
}

static kerr_t pgwei(u256_t *r, const char *s)
{
	return u256_from_gwei(r, s, strlen(s));
}

static void test_basics(void)
{
	u256_t a, b;
	uint64_t v = 0;

	u256_zero(&a);
	CHECK(u256_is_zero(&a));
	u256_from_u64(&a, UINT64_MAX);
	CHECK(!u256_is_zero(&a));
	CHECK(u256_to_u64(&a, &v));
	CHECK(v == UINT64_MAX);
	CHECK(u256_to_u64(&a, NULL));
	b = num("18446744073709551616"); /* 2^64 */
	CHECK(!u256_to_u64(&b, &v));
	CHECK(v == UINT64_MAX);          /* untouched on failure */
	CHECK_EQ_INT(u256_cmp(&a, &b), -1);
	CHECK_EQ_INT(u256_cmp(&b, &a), 1);
	CHECK_EQ_INT(u256_cmp(&a, &a), 0);
	/* The most significant limb decides even when lower limbs disagree. */
	a = num("0x1" "000000000000000000000000000000000000000000000000"); /* 2^192 */
	b = num("0x0" "ffffffffffffffffffffffffffffffffffffffffffffffff");
	CHECK_EQ_INT(u256_cmp(&a, &b), 1);
}

static void test_dec(void)
{
	u256_t v;
	char buf[U256_DEC_MAX];

	CHECK_OK(pdec(&v, "0"));
	CHECK_EQ_STR(dec(&v), "0");
	CHECK_OK(pdec(&v, "000123"));
	CHECK_EQ_STR(dec(&v), "123");
	CHECK_OK(pdec(&v, "18446744073709551615"));
	CHECK_EQ_STR(hex(&v), "0xffffffffffffffff");
	CHECK_OK(pdec(&v, "18446744073709551616"));
	CHECK_EQ_STR(hex(&v), "0x10000000000000000");
	CHECK_OK(pdec(&v, MAX_DEC));
	CHECK_EQ_STR(hex(&v), MAX_HEX);
	CHECK_EQ_INT(u256_to_dec(&v, buf, sizeof buf), 78);
	CHECK_EQ_STR(buf, MAX_DEC);
	/* Leading zeros do not count towards the 78 digits. */
	CHECK_OK(pdec(&v, "0000000000" MAX_DEC));
	CHECK_EQ_STR(dec(&v), MAX_DEC);

	CHECK_ERR(pdec(&v, TWO256_DEC), KERR_NUM_OVERFLOW);
	CHECK_ERR(pdec(&v, MAX_DEC "0"), KERR_NUM_OVERFLOW);
	CHECK_ERR(pdec(&v, ""), KERR_NUM_EMPTY);
	CHECK_ERR(pdec(&v, "-1"), KERR_NUM_CHAR);
	CHECK_ERR(pdec(&v, "+1"), KERR_NUM_CHAR);
	CHECK_ERR(pdec(&v, " 1"), KERR_NUM_CHAR);
	CHECK_ERR(pdec(&v, "1 "), KERR_NUM_CHAR);
	CHECK_ERR(pdec(&v, "1.0"), KERR_NUM_CHAR);
	CHECK_ERR(pdec(&v, "1e3"), KERR_NUM_CHAR);
	CHECK_ERR(pdec(&v, "0x10"), KERR_NUM_CHAR);
	/* A bad character is reported even where the digits already overflow. */
	CHECK_ERR(pdec(&v, TWO256_DEC "x"), KERR_NUM_CHAR);
	/* The length is explicit. */
	CHECK_OK(u256_from_dec(&v, "12345", 3));
	CHECK_EQ_STR(dec(&v), "123");

	/* A too-small output buffer yields "" rather than a cut-off number. */
	CHECK_EQ_INT(u256_to_dec(&v, buf, 3), 0);
	CHECK_EQ_STR(buf, "");
	CHECK_EQ_INT(u256_to_dec(&v, buf, 4), 3);
	CHECK_EQ_STR(buf, "123");
}

static void test_hex(void)
{
	u256_t v;
	char buf[U256_HEX_MAX];

	CHECK_OK(phex(&v, "0x0"));
	CHECK_EQ_STR(hex(&v), "0x0");
	CHECK_OK(phex(&v, "0x00"));
	CHECK_EQ_STR(hex(&v), "0x0");
	CHECK_OK(phex(&v, "0xabc"));              /* odd count is a number */
	CHECK_EQ_STR(dec(&v), "2748");
	CHECK_OK(phex(&v, "0XABC"));
	CHECK_EQ_STR(hex(&v), "0xabc");
	CHECK_OK(phex(&v, MAX_HEX));
	CHECK_EQ_STR(dec(&v), MAX_DEC);
	CHECK_EQ_INT(u256_to_hex(&v, buf, sizeof buf), 66);
	CHECK_EQ_STR(buf, MAX_HEX);
	CHECK_OK(phex(&v, "0x0000ff"));
	CHECK_EQ_STR(hex(&v), "0xff");

	CHECK_ERR(phex(&v, "0x1" "0000000000000000000000000000000000000000000000000000000000000000"),
		  KERR_NUM_OVERFLOW);
	CHECK_ERR(phex(&v, "ff"), KERR_HEX_PREFIX);
	CHECK_ERR(phex(&v, ""), KERR_HEX_PREFIX);
	CHECK_ERR(phex(&v, "0"), KERR_HEX_PREFIX);
	CHECK_ERR(phex(&v, "0x"), KERR_NUM_EMPTY);
	CHECK_ERR(phex(&v, "0xg"), KERR_HEX_CHAR);
	CHECK_ERR(phex(&v, "0x-1"), KERR_HEX_CHAR);
	CHECK_ERR(phex(&v, "0x 1"), KERR_HEX_CHAR);

	CHECK_EQ_INT(u256_to_hex(&v, buf, 3), 0);
	CHECK_EQ_STR(buf, "");
}

static void test_parse(void)
{
	u256_t v;
	CHECK_OK(u256_parse(&v, "0x10", 4));
	CHECK_EQ_STR(dec(&v), "16");
	CHECK_OK(u256_parse(&v, "10", 2));
	CHECK_EQ_STR(dec(&v), "10");
	CHECK_OK(u256_parse(&v, "0", 1));
	CHECK_EQ_STR(dec(&v), "0");
	CHECK_ERR(u256_parse(&v, "0x", 2), KERR_NUM_EMPTY);
	CHECK_ERR(u256_parse(&v, "", 0), KERR_NUM_EMPTY);
	CHECK_ERR(u256_parse(&v, "1x10", 4), KERR_NUM_CHAR);
}

static void test_be(void)
{
	uint8_t be[32], min[32];
	uint8_t long_in[40] = { 0 };
	u256_t v;

	v = num(MAX_HEX);
	u256_to_be(&v, be);
	for (int i = 0; i < 32; i++)
		CHECK_EQ_INT(be[i], 0xff);
	CHECK_EQ_INT(u256_to_be_min(&v, min), 32);
	CHECK_OK(u256_from_be(&v, be, 32));
	CHECK_EQ_STR(dec(&v), MAX_DEC);

	v = num("0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
	u256_to_be(&v, be);
	for (int i = 0; i < 32; i++)
		CHECK_EQ_INT(be[i], i + 1);

	v = num("0x1234");
	CHECK_EQ_INT(u256_to_be_min(&v, min), 2);
	CHECK_EQ_MEM(min, "\x12\x34", 2);
	u256_zero(&v);
	CHECK_EQ_INT(u256_to_be_min(&v, min), 0);
	v = num("0x100");
	CHECK_EQ_INT(u256_to_be_min(&v, min), 2);
	CHECK_EQ_MEM(min, "\x01\x00", 2);

	CHECK_OK(u256_from_be(&v, NULL, 0));
	CHECK(u256_is_zero(&v));
	CHECK_OK(u256_from_be(&v, (const uint8_t *)"\x01\x00", 2));
	CHECK_EQ_STR(dec(&v), "256");
	/* Longer than 32 bytes is fine while the extra bytes are zero. */
	long_in[39] = 7;
	CHECK_OK(u256_from_be(&v, long_in, sizeof long_in));
	CHECK_EQ_STR(dec(&v), "7");
	long_in[7] = 1;  /* the 2^256 bit */
	CHECK_ERR(u256_from_be(&v, long_in, sizeof long_in), KERR_NUM_OVERFLOW);
	long_in[7] = 0;
	long_in[8] = 0x80;
	CHECK_OK(u256_from_be(&v, long_in, sizeof long_in));
	CHECK_EQ_STR(hex(&v), "0x8000000000000000000000000000000000000000000000000000000000000007");
}

static void test_add_sub(void)
{
	u256_t a, b, r;

	a = num("18446744073709551615");
	b = num("1");
	CHECK_OK(u256_add(&r, &a, &b));          /* carry across a limb */
	CHECK_EQ_STR(dec(&r), "18446744073709551616");
	CHECK_OK(u256_sub(&r, &r, &b));          /* borrow across a limb */
	CHECK_EQ_STR(dec(&r), "18446744073709551615");

	a = num(MAX_DEC);
	CHECK_ERR(u256_add(&r, &a, &b), KERR_NUM_OVERFLOW);
	CHECK_ERR(u256_add(&r, &a, &a), KERR_NUM_OVERFLOW);
	u256_zero(&b);
	CHECK_OK(u256_add(&r, &a, &b));
	CHECK_EQ_STR(dec(&r), MAX_DEC);

	CHECK_OK(u256_sub(&r, &a, &a));
	CHECK(u256_is_zero(&r));
	CHECK_ERR(u256_sub(&r, &b, &a), KERR_NUM_UNDERFLOW);
	a = num("5");
	b = num("6");
	CHECK_ERR(u256_sub(&r, &a, &b), KERR_NUM_UNDERFLOW);
	/* Equal low limbs with a borrow pending from below. */
	a = num("0x10000000000000000");
	b = num("0x00000000000000001");
	CHECK_OK(u256_sub(&r, &a, &b));
	CHECK_EQ_STR(hex(&r), "0xffffffffffffffff");
	a = num("0x2" "0000000000000000000000000000000000000000000000000"); /* 2^197 */
	b = num("0x1" "fffffffffffffffffffffffffffffffffffffffffffffffff");
	CHECK_OK(u256_sub(&r, &a, &b));
	CHECK_EQ_STR(hex(&r), "0x1");
	CHECK_ERR(u256_sub(&r, &b, &a), KERR_NUM_UNDERFLOW);
}

static void test_mul_div(void)
{
	u256_t a, r;
	uint64_t rem = 99;

	a = num("1000000000000000000");
	CHECK_OK(u256_mul_u64(&r, &a, 1000000000000000000ULL));
	CHECK_EQ_STR(dec(&r), "1000000000000000000000000000000000000");
	CHECK_OK(u256_mul_u64(&r, &a, 0));
	CHECK(u256_is_zero(&r));
	a = num(MAX_DEC);
	CHECK_OK(u256_mul_u64(&r, &a, 1));
	CHECK_EQ_STR(dec(&r), MAX_DEC);
	CHECK_ERR(u256_mul_u64(&r, &a, 2), KERR_NUM_OVERFLOW);
	a = num("0x8000000000000000000000000000000000000000000000000000000000000000");
	CHECK_ERR(u256_mul_u64(&r, &a, 2), KERR_NUM_OVERFLOW);
	a = num("0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	CHECK_OK(u256_mul_u64(&r, &a, 2));
	CHECK_EQ_STR(hex(&r), "0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe");

	a = num(MAX_DEC);
	CHECK_OK(u256_div_u64(&r, &a, 10, &rem));
	CHECK_EQ_STR(dec(&r), "11579208923731619542357098500868790785326998466564056403945758400791312963993");
	CHECK_EQ_INT(rem, 5);
	CHECK_OK(u256_div_u64(&r, &a, UINT64_MAX, &rem));
	CHECK_EQ_INT(rem, 0);                     /* 2^64 - 1 divides 2^256 - 1 */
	CHECK_EQ_STR(hex(&r), "0x1000000000000000100000000000000010000000000000001");
	CHECK_OK(u256_div_u64(&r, &a, 1, NULL));
	CHECK_EQ_STR(dec(&r), MAX_DEC);
	a = num("7");
	CHECK_OK(u256_div_u64(&r, &a, 8, &rem));
	CHECK(u256_is_zero(&r));
	CHECK_EQ_INT(rem, 7);
	rem = 99;
	CHECK_ERR(u256_div_u64(&r, &a, 0, &rem), KERR_DIV_ZERO);
	CHECK_EQ_INT(rem, 99);
}

/* The node's replacement rule for a bumped fee: new >= old * 110 / 100,
 * with the right side computed exactly (as a fraction, not rounded). */
static bool node_accepts(const u256_t *old_fee, const u256_t *new_fee)
{
	u256_t lhs, rhs;
	CHECK_OK(u256_mul_u64(&lhs, new_fee, 100));
	CHECK_OK(u256_mul_u64(&rhs, old_fee, 110));
	return u256_cmp(&lhs, &rhs) >= 0;
}

static void test_muldiv_ceil(void)
{
	u256_t a, r;

	a = num("1000");
	CHECK_OK(u256_muldiv_ceil(&r, &a, 1125, 1000));
	CHECK_EQ_STR(dec(&r), "1125");
	a = num("1");
	CHECK_OK(u256_muldiv_ceil(&r, &a, 1125, 1000)); /* 1.125 -> 2 */
	CHECK_EQ_STR(dec(&r), "2");
	a = num("7");
	CHECK_OK(u256_muldiv_ceil(&r, &a, 1125, 1000)); /* 7.875 -> 8 */
	CHECK_EQ_STR(dec(&r), "8");
	a = num("8");
	CHECK_OK(u256_muldiv_ceil(&r, &a, 1125, 1000)); /* exactly 9 */
	CHECK_EQ_STR(dec(&r), "9");
	a = num("0");
	CHECK_OK(u256_muldiv_ceil(&r, &a, 1125, 1000));
	CHECK_EQ_STR(dec(&r), "0");
	a = num("1000000001");  /* 1 gwei + 1 wei, bumped 12.5% */
	CHECK_OK(u256_muldiv_ceil(&r, &a, 1125, 1000));
	CHECK_EQ_STR(dec(&r), "1125000002");

	/* A bump of exactly 10% rounded up always satisfies the node, for
	 * every small fee and around a large one. */
	for (uint64_t f = 0; f < 2000; f++) {
		u256_from_u64(&a, f);
		CHECK_OK(u256_muldiv_ceil(&r, &a, 110, 100));
		CHECK_MSG(node_accepts(&a, &r), "fee %" PRIu64 " bumped to %s rejected", f, dec(&r));
	}
	a = num("123456789012345678901234567890123456789");
	CHECK_OK(u256_muldiv_ceil(&r, &a, 110, 100));
	CHECK_EQ_STR(dec(&r), "135802467913580246791358024679135802468");
	CHECK(node_accepts(&a, &r));
	/* ... and one wei less would not. */
	u256_t one, less;
	u256_from_u64(&one, 1);
	CHECK_OK(u256_sub(&less, &r, &one));
	CHECK(!node_accepts(&a, &less));

	/* The product may exceed 256 bits when the quotient does not. */
	a = num(MAX_DEC);
	CHECK_OK(u256_muldiv_ceil(&r, &a, 1000, 1000));
	CHECK_EQ_STR(dec(&r), MAX_DEC);
	CHECK_OK(u256_muldiv_ceil(&r, &a, UINT64_MAX, UINT64_MAX));
	CHECK_EQ_STR(dec(&r), MAX_DEC);
	CHECK_OK(u256_muldiv_ceil(&r, &a, 3, 4));
	/* (2^256 - 1) * 3 / 4 = 3 * 2^254 - 0.75, rounded up */
	CHECK_EQ_STR(hex(&r), "0xc000000000000000000000000000000000000000000000000000000000000000");
	CHECK_ERR(u256_muldiv_ceil(&r, &a, 1001, 1000), KERR_NUM_OVERFLOW);
	/* Exactly 2^256 - 1 after the division, then rounding pushes it over. */
	a = num("0x5555555555555555555555555555555555555555555555555555555555555555");
	CHECK_OK(u256_muldiv_ceil(&r, &a, 3, 1));
	CHECK_EQ_STR(dec(&r), MAX_DEC);
	a = num("0x5555555555555555555555555555555555555555555555555555555555555556");
	CHECK_ERR(u256_muldiv_ceil(&r, &a, 3, 1), KERR_NUM_OVERFLOW);
	a = num("0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab");
	CHECK_ERR(u256_muldiv_ceil(&r, &a, 3, 2), KERR_NUM_OVERFLOW);
	a = num("0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK_OK(u256_muldiv_ceil(&r, &a, 3, 2));
	CHECK_EQ_STR(dec(&r), MAX_DEC);
	/* (2^256 - 1) * 1 / 2 = 2^255 - 0.5: the ceiling is exactly 2^255. */
	a = num(MAX_DEC);
	CHECK_OK(u256_muldiv_ceil(&r, &a, 1, 2));
	CHECK_EQ_STR(hex(&r), "0x8000000000000000000000000000000000000000000000000000000000000000");

	CHECK_ERR(u256_muldiv_ceil(&r, &a, 1125, 0), KERR_DIV_ZERO);
}

static void test_gwei(void)
{
	u256_t v;

	CHECK_OK(pgwei(&v, "1"));
	CHECK_EQ_STR(dec(&v), "1000000000");
	CHECK_OK(pgwei(&v, "1.5"));
	CHECK_EQ_STR(dec(&v), "1500000000");
	CHECK_OK(pgwei(&v, "0.000000001"));
	CHECK_EQ_STR(dec(&v), "1");
	CHECK_OK(pgwei(&v, "0.1"));
	CHECK_EQ_STR(dec(&v), "100000000");
	CHECK_OK(pgwei(&v, "0.0"));
	CHECK_EQ_STR(dec(&v), "0");
	CHECK_OK(pgwei(&v, "0"));
	CHECK_EQ_STR(dec(&v), "0");
	CHECK_OK(pgwei(&v, "250.123456789"));
	CHECK_EQ_STR(dec(&v), "250123456789");
	CHECK_OK(pgwei(&v, "007.50"));
	CHECK_EQ_STR(dec(&v), "7500000000");

	CHECK_ERR(pgwei(&v, "0.0000000001"), KERR_NUM_RANGE);  /* 10 decimals */
	CHECK_ERR(pgwei(&v, "1.0000000000"), KERR_NUM_RANGE);
	CHECK_ERR(pgwei(&v, ""), KERR_NUM_EMPTY);
	CHECK_ERR(pgwei(&v, "."), KERR_NUM_EMPTY);
	CHECK_ERR(pgwei(&v, "1."), KERR_NUM_EMPTY);
	CHECK_ERR(pgwei(&v, ".5"), KERR_NUM_EMPTY);
	CHECK_ERR(pgwei(&v, "1.2.3"), KERR_NUM_CHAR);
	CHECK_ERR(pgwei(&v, "-1"), KERR_NUM_CHAR);
	CHECK_ERR(pgwei(&v, "1,5"), KERR_NUM_CHAR);
	CHECK_ERR(pgwei(&v, "1.5 "), KERR_NUM_CHAR);
	CHECK_ERR(pgwei(&v, "1e9"), KERR_NUM_CHAR);
	CHECK_ERR(pgwei(&v, "0x10"), KERR_NUM_CHAR);

	/* 2^256 - 1 wei written in gwei is the largest amount that fits. */
	CHECK_OK(pgwei(&v, MAX_GWEI));
	CHECK_EQ_STR(dec(&v), MAX_DEC);
	CHECK_ERR(pgwei(&v, MAX_GWEI_PLUS_1_WEI), KERR_NUM_OVERFLOW);
	CHECK_ERR(pgwei(&v, MAX_GWEI_INT_PLUS_1), KERR_NUM_OVERFLOW);
	/* The whole part alone overflows before the fraction is added. */
	CHECK_ERR(pgwei(&v, MAX_DEC), KERR_NUM_OVERFLOW);
}

/* Check one ABI vector: decimal value (maybe negative) vs its 32-byte word.
 * A negative value's word is 2^256 - |v|, computed as (2^256 - 1 - |v|) + 1. */
static bool abi_number_matches(const char *value, const char *encoded)
{
	bool neg = value[0] == '-';
	uint8_t want[32], got[32];
	u256_t v, max, one;

	if (hex_decode_exact(want, sizeof want, encoded, strlen(encoded)) ||
	    pdec(&v, value + neg))
		return false;
	if (strcmp(dec(&v), value + neg) != 0)
		return false;
	if (neg) {
		max = num(MAX_DEC);
		u256_from_u64(&one, 1);
		if (u256_sub(&v, &max, &v) || u256_add(&v, &v, &one))
			return false;
	}
	u256_to_be(&v, got);
	return memcmp(got, want, sizeof want) == 0;
}

/* "uint", "int256", ...: not arrays or tuples, whose values are lists. */
static bool is_bare_int_type(const char *type)
{
	const char *p;
	if (strncmp(type, "uint", 4) == 0)
		p = type + 4;
	else if (strncmp(type, "int", 3) == 0)
		p = type + 3;
	else
		return false;
	return strspn(p, "0123456789") == strlen(p);
}

static void test_abi_numbers(void)
{
	json_t *root = t_load_json("tests/vectors/ethers/abi.json.gz");
	size_t i, eligible = 0, matched = 0;
	json_t *e;

	CHECK(json_is_array(root));
	json_array_foreach(root, i, e) {
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *value = json_string_value(json_object_get(e, "value"));
		const char *enc = json_string_value(json_object_get(e, "encoded"));
		if (!type || !is_bare_int_type(type))
			continue;
		eligible++;
		if (value && enc && abi_number_matches(value, enc))
			matched++;
		else
			CHECK_MSG(0, "%s %s", type, value ? value : "(no value)");
	}
	printf("    abi.json uintN/intN values: %zu/%zu\n", matched, eligible);
	CHECK(eligible > 0);
	json_decref(root);
}

int main(void)
{
	RUN(test_basics);
	RUN(test_dec);
	RUN(test_hex);
	RUN(test_parse);
	RUN(test_be);
	RUN(test_add_sub);
	RUN(test_mul_div);
	RUN(test_muldiv_ceil);
	RUN(test_gwei);
	RUN(test_abi_numbers);
	return t_done();
}
