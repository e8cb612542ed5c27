/*
 * test_abi: signature parsing and selectors, argument encoding and its
 * range checks, calldata compared with foundry's `cast calldata`, and every
 * ethers ABI vector whose type is a static type (or a flat tuple of them)
 * that we support.
 */
#include <jansson.h>
#include <stdbool.h>

#include "keeper/kerr.h"
#include "signer/abi.h"
#include "signer/hex.h"
#include "tests/test.h"

static kerr_t sig_parse(abi_sig_t *sig, const char *s)
{
	return abi_sig_parse(sig, s, strlen(s));
}

static kerr_t encode(const char *type_sig, const char *value, uint8_t word[32])
{
	abi_sig_t sig;
	kerr_t err = sig_parse(&sig, type_sig);
	CHECK_MSG(err == KERR_OK && sig.nargs == 1, "bad test signature %s", type_sig);
	if (err)
		return err;
	return abi_encode_arg(&sig.args[0], value, strlen(value), word);
}

/* 64 hex digits of a word, for comparisons with readable literals. */
static const char *word_hex(const uint8_t word[32])
{
	static char buf[65];
	hex_encode(buf, word, 32);
	return buf;
}

static void test_selectors(void)
{
	static const struct {
		const char *sig, *canonical, *selector;
	} cases[] = {
		{ "pause()", "pause()", "8456cb59" },
		{ "paused()", "paused()", "5c975abb" },
		{ "transfer(address,uint256)", "transfer(address,uint256)", "a9059cbb" },
		{ "transfer(address,uint)", "transfer(address,uint256)", "a9059cbb" },
		/* From `cast sig 'liquidate(address,uint256)'` (foundry 1.7.1). */
		{ "liquidate(address,uint256)", "liquidate(address,uint256)", "bcbaf487" },
		/* From `cast sig 'h(uint24,bytes1,bool,int16)'` (foundry 1.7.1). */
		{ "h(uint24,bytes1,bool,int16)", "h(uint24,bytes1,bool,int16)", "b95bc06b" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		abi_sig_t sig;
		char sel[9];
		CHECK_OK(sig_parse(&sig, cases[i].sig));
		CHECK_EQ_STR(sig.canonical, cases[i].canonical);
		hex_encode(sel, sig.selector, 4);
		CHECK_EQ_STR(sel, cases[i].selector);
	}
}

static void test_sig_fields(void)
{
	abi_sig_t sig;

	CHECK_OK(sig_parse(&sig, "$_f9(uint,int,uint8,int256,bytes1,bytes32,bool,address)"));
	CHECK_EQ_STR(sig.name, "$_f9");
	CHECK_EQ_STR(sig.canonical, "$_f9(uint256,int256,uint8,int256,bytes1,bytes32,bool,address)");
	CHECK_EQ_INT(sig.nargs, 8);
	CHECK_EQ_INT(sig.args[0].kind, ABI_UINT);
	CHECK_EQ_INT(sig.args[0].bits, 256);
	CHECK_EQ_INT(sig.args[1].kind, ABI_INT);
	CHECK_EQ_INT(sig.args[2].bits, 8);
	CHECK_EQ_INT(sig.args[4].kind, ABI_BYTES_FIXED);
	CHECK_EQ_INT(sig.args[4].bits, 8);
	CHECK_EQ_INT(sig.args[5].bits, 256);
	CHECK_EQ_INT(sig.args[6].kind, ABI_BOOL);
	CHECK_EQ_INT(sig.args[7].kind, ABI_ADDRESS);
	CHECK_EQ_INT(sig.args[7].bits, 160);
	CHECK_OK(sig_parse(&sig, "_()"));
	CHECK_EQ_INT(sig.nargs, 0);
	/* The length is explicit. */
	CHECK_OK(abi_sig_parse(&sig, "pause()junk", 7));
	CHECK_EQ_STR(sig.canonical, "pause()");
}

static void test_sig_rejections(void)
{
	static const struct {
		const char *sig;
		kerr_t err;
	} cases[] = {
		/* shape */
		{ "", KERR_ABI_SIGNATURE },
		{ "pause", KERR_ABI_SIGNATURE },
		{ "pause(", KERR_ABI_SIGNATURE },
		{ "pause)", KERR_ABI_SIGNATURE },
		{ "()", KERR_ABI_SIGNATURE },
		{ "(uint256)", KERR_ABI_SIGNATURE },
		{ "9lives()", KERR_ABI_SIGNATURE },
		{ "pa-use()", KERR_ABI_SIGNATURE },
		{ "pause() ", KERR_ABI_SIGNATURE },
		{ " pause()", KERR_ABI_SIGNATURE },
		{ "pause ()", KERR_ABI_SIGNATURE },
		{ "f(uint256, address)", KERR_ABI_SIGNATURE },
		{ "f(uint256\t)", KERR_ABI_SIGNATURE },
		{ "f(uint256 amount)", KERR_ABI_SIGNATURE },
		{ "pause()x", KERR_ABI_SIGNATURE },
		{ "pause();", KERR_ABI_SIGNATURE },
		{ "pause())", KERR_ABI_SIGNATURE },
		{ "pause()()", KERR_ABI_SIGNATURE },
		{ "f(,)", KERR_ABI_SIGNATURE },
		{ "f(uint256,)", KERR_ABI_SIGNATURE },
		{ "f(,uint256)", KERR_ABI_SIGNATURE },
		{ "f(uint256,,bool)", KERR_ABI_SIGNATURE },
		{ "f(uint256", KERR_ABI_SIGNATURE },
		/* types */
		{ "f(string)", KERR_ABI_TYPE },
		{ "f(bytes)", KERR_ABI_TYPE },
		{ "f(uint256[])", KERR_ABI_TYPE },
		{ "f(uint256[2])", KERR_ABI_TYPE },
		{ "f((uint256,address))", KERR_ABI_TYPE },
		{ "f(function)", KERR_ABI_TYPE },
		{ "f(byte)", KERR_ABI_TYPE },
		{ "f(uint7)", KERR_ABI_TYPE },
		{ "f(uint0)", KERR_ABI_TYPE },
		{ "f(uint264)", KERR_ABI_TYPE },
		{ "f(uint512)", KERR_ABI_TYPE },
		{ "f(uint08)", KERR_ABI_TYPE },
		{ "f(uint2560)", KERR_ABI_TYPE },
		{ "f(int4)", KERR_ABI_TYPE },
		{ "f(int257)", KERR_ABI_TYPE },
		{ "f(bytes0)", KERR_ABI_TYPE },
		{ "f(bytes33)", KERR_ABI_TYPE },
		{ "f(bytes01)", KERR_ABI_TYPE },
		{ "f(Uint256)", KERR_ABI_TYPE },
		{ "f(address payable)", KERR_ABI_SIGNATURE },
		{ "f(addresspayable)", KERR_ABI_TYPE },
		{ "f(uint256x)", KERR_ABI_TYPE },
		{ "f(fixed128x18)", KERR_ABI_TYPE },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		abi_sig_t sig;
		kerr_t err = sig_parse(&sig, cases[i].sig);
		CHECK_MSG(err == cases[i].err, "\"%s\": got %s, want %s", cases[i].sig,
			  kerr_name(err), kerr_name(cases[i].err));
	}
}

static void test_sig_limits(void)
{
	char s[2 * ABI_MAX_SIG];
	abi_sig_t sig;
	size_t n;

	/* 16 arguments fit, 17 do not. */
	strcpy(s, "f(bool");
	for (int i = 1; i < ABI_MAX_ARGS; i++)
		strcat(s, ",bool");
	CHECK_OK(sig_parse(&sig, strcat(s, ")")));
	CHECK_EQ_INT(sig.nargs, ABI_MAX_ARGS);
	s[strlen(s) - 1] = '\0';
	CHECK_ERR(sig_parse(&sig, strcat(s, ",bool)")), KERR_TOO_LONG);

	/* The text must leave room for its NUL. */
	memset(s, 'a', ABI_MAX_SIG - 3);
	strcpy(s + ABI_MAX_SIG - 3, "()");
	CHECK_OK(sig_parse(&sig, s));
	CHECK_EQ_INT(strlen(sig.canonical), ABI_MAX_SIG - 1);
	memset(s, 'a', ABI_MAX_SIG - 2);
	strcpy(s + ABI_MAX_SIG - 2, "()");
	CHECK_ERR(sig_parse(&sig, s), KERR_TOO_LONG);

	/* "uint" grows to "uint256" in the canonical form, which must fit too:
	 * name + "(uint256)" is 9 more than the name. */
	n = ABI_MAX_SIG - 1 - 9;
	memset(s, 'a', n);
	strcpy(s + n, "(uint)");
	CHECK_OK(sig_parse(&sig, s));
	CHECK_EQ_INT(strlen(sig.canonical), ABI_MAX_SIG - 1);
	memset(s, 'a', n + 1);
	strcpy(s + n + 1, "(uint)");
	CHECK_ERR(sig_parse(&sig, s), KERR_TOO_LONG);
}

static void test_arg_ranges(void)
{
	uint8_t w[32];

	CHECK_OK(encode("f(uint8)", "255", w));
	CHECK_EQ_STR(word_hex(w), "00000000000000000000000000000000000000000000000000000000000000ff");
	CHECK_ERR(encode("f(uint8)", "256", w), KERR_ABI_VALUE);
	CHECK_OK(encode("f(uint8)", "0xff", w));
	CHECK_ERR(encode("f(uint8)", "0x100", w), KERR_ABI_VALUE);
	CHECK_ERR(encode("f(uint8)", "-1", w), KERR_NUM_CHAR);
	CHECK_ERR(encode("f(uint8)", "", w), KERR_NUM_EMPTY);
	CHECK_ERR(encode("f(uint8)", "1.5", w), KERR_NUM_CHAR);
	CHECK_OK(encode("f(uint256)", "115792089237316195423570985008687907853269984665640564039457584007913129639935", w));
	CHECK_EQ_STR(word_hex(w), "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	CHECK_ERR(encode("f(uint256)", "115792089237316195423570985008687907853269984665640564039457584007913129639936", w),
		  KERR_ABI_VALUE);
	CHECK_OK(encode("f(uint248)", "0x00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", w));
	CHECK_ERR(encode("f(uint248)", "0x0100000000000000000000000000000000000000000000000000000000000000", w),
		  KERR_ABI_VALUE);

	CHECK_OK(encode("f(int8)", "127", w));
	CHECK_EQ_STR(word_hex(w), "000000000000000000000000000000000000000000000000000000000000007f");
	CHECK_ERR(encode("f(int8)", "128", w), KERR_ABI_VALUE);
	CHECK_OK(encode("f(int8)", "-128", w));
	CHECK_EQ_STR(word_hex(w), "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80");
	CHECK_ERR(encode("f(int8)", "-129", w), KERR_ABI_VALUE);
	CHECK_OK(encode("f(int8)", "-1", w));
	CHECK_EQ_STR(word_hex(w), "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	CHECK_OK(encode("f(int256)", "-1", w));
	CHECK_EQ_STR(word_hex(w), "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	CHECK_OK(encode("f(int8)", "-0", w));
	CHECK_EQ_STR(word_hex(w), "0000000000000000000000000000000000000000000000000000000000000000");
	/* Hex gives the magnitude, not a raw two's complement pattern. */
	CHECK_OK(encode("f(int8)", "-0x80", w));
	CHECK_EQ_STR(word_hex(w), "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80");
	CHECK_ERR(encode("f(int8)", "0xff", w), KERR_ABI_VALUE);
	CHECK_ERR(encode("f(int8)", "-", w), KERR_NUM_EMPTY);
	CHECK_ERR(encode("f(int8)", "--1", w), KERR_NUM_CHAR);
	CHECK_ERR(encode("f(int8)", "+1", w), KERR_NUM_CHAR);
	/* int256 bounds: -2^255 and 2^255 - 1. */
	CHECK_OK(encode("f(int)", "-57896044618658097711785492504343953926634992332820282019728792003956564819968", w));
	CHECK_EQ_STR(word_hex(w), "8000000000000000000000000000000000000000000000000000000000000000");
	CHECK_ERR(encode("f(int)", "-57896044618658097711785492504343953926634992332820282019728792003956564819969", w),
		  KERR_ABI_VALUE);
	CHECK_OK(encode("f(int)", "57896044618658097711785492504343953926634992332820282019728792003956564819967", w));
	CHECK_EQ_STR(word_hex(w), "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	CHECK_ERR(encode("f(int)", "57896044618658097711785492504343953926634992332820282019728792003956564819968", w),
		  KERR_ABI_VALUE);
	CHECK_ERR(encode("f(int)", "-115792089237316195423570985008687907853269984665640564039457584007913129639936", w),
		  KERR_ABI_VALUE);
}

static void test_arg_other_types(void)
{
	uint8_t w[32];

	CHECK_OK(encode("f(bool)", "true", w));
	CHECK_EQ_STR(word_hex(w), "0000000000000000000000000000000000000000000000000000000000000001");
	CHECK_OK(encode("f(bool)", "false", w));
	CHECK_EQ_STR(word_hex(w), "0000000000000000000000000000000000000000000000000000000000000000");
	CHECK_ERR(encode("f(bool)", "1", w), KERR_ABI_VALUE);
	CHECK_ERR(encode("f(bool)", "True", w), KERR_ABI_VALUE);
	CHECK_ERR(encode("f(bool)", "truex", w), KERR_ABI_VALUE);
	CHECK_ERR(encode("f(bool)", "", w), KERR_ABI_VALUE);

	CHECK_OK(encode("f(address)", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", w));
	CHECK_EQ_STR(word_hex(w), "0000000000000000000000005aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
	CHECK_ERR(encode("f(address)", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", w), KERR_ADDR_CHECKSUM);
	CHECK_ERR(encode("f(address)", "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", w), KERR_HEX_PREFIX);
	CHECK_ERR(encode("f(address)", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea", w), KERR_ADDR_LENGTH);

	CHECK_OK(encode("f(bytes4)", "0xdeadBEEF", w));
	CHECK_EQ_STR(word_hex(w), "deadbeef00000000000000000000000000000000000000000000000000000000");
	CHECK_ERR(encode("f(bytes4)", "0xdeadbe", w), KERR_HEX_LENGTH);
	CHECK_ERR(encode("f(bytes4)", "0xdeadbeef00", w), KERR_HEX_LENGTH);
	CHECK_ERR(encode("f(bytes4)", "deadbeef", w), KERR_HEX_PREFIX);
	CHECK_ERR(encode("f(bytes4)", "0xdeadbeeg", w), KERR_HEX_CHAR);
	CHECK_OK(encode("f(bytes32)", "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", w));
	CHECK_EQ_STR(word_hex(w), "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
}

/* abi_encode_call of a signature and arguments, as 0x-hex text. */
static kerr_t calldata(const char *sig_text, const char *const *args, size_t nargs,
		       char *hex, size_t hex_cap)
{
	uint8_t out[4 + 32 * ABI_MAX_ARGS];
	abi_sig_t sig;
	size_t len = 0;
	kerr_t err = sig_parse(&sig, sig_text);
	if (!err)
		err = abi_encode_call(&sig, args, nargs, out, sizeof out, &len);
	if (err)
		return err;
	if (2 * len + 3 > hex_cap)
		return KERR_BUF;
	hex[0] = '0';
	hex[1] = 'x';
	hex_encode(hex + 2, out, len);
	return KERR_OK;
}

static void test_calldata_cast(void)
{
	static const struct {
		const char *sig;
		const char *args[5];
		size_t nargs;
		const char *want;
	} cases[] = {
		/* Each `want` was printed by `cast calldata '<sig>' <args>`
		 * (foundry 1.7.1; negative arguments after `--`). */
		{ "pause()", { NULL }, 0, "0x8456cb59" },
		{ "liquidate(address,uint256)",
		  { "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "1000000000000000000" }, 2,
		  "0xbcbaf487"
		  "0000000000000000000000005aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
		  "0000000000000000000000000000000000000000000000000de0b6b3a7640000" },
		{ "f(int8,bytes4,bool,uint8)", { "-1", "0xdeadbeef", "true", "255" }, 4,
		  "0x4dce78b7"
		  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
		  "deadbeef00000000000000000000000000000000000000000000000000000000"
		  "0000000000000000000000000000000000000000000000000000000000000001"
		  "00000000000000000000000000000000000000000000000000000000000000ff" },
		{ "g(int256,uint256,bytes32,address,int128)",
		  { "-57896044618658097711785492504343953926634992332820282019728792003956564819968",
		    "115792089237316195423570985008687907853269984665640564039457584007913129639935",
		    "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
		    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
		    "-1000000000000000000" }, 5,
		  "0xcd6531c0"
		  "8000000000000000000000000000000000000000000000000000000000000000"
		  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
		  "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
		  "000000000000000000000000dbf03b407c01e7cd3cbea99509d93f8dddc8c6fb"
		  "fffffffffffffffffffffffffffffffffffffffffffffffff21f494c589c0000" },
		{ "h(uint24,bytes1,bool,int16)", { "0xabcdef", "0x7f", "false", "-32768" }, 4,
		  "0xb95bc06b"
		  "0000000000000000000000000000000000000000000000000000000000abcdef"
		  "7f00000000000000000000000000000000000000000000000000000000000000"
		  "0000000000000000000000000000000000000000000000000000000000000000"
		  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff8000" },
	};
	char hex[2 * (4 + 32 * ABI_MAX_ARGS) + 3];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK_OK(calldata(cases[i].sig, cases[i].args, cases[i].nargs, hex, sizeof hex));
		CHECK_EQ_STR(hex, cases[i].want);
	}
}

static void test_call_errors(void)
{
	const char *args[] = { "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "1", NULL };
	const char *bad[] = { "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "-1" };
	const char *null_arg[] = { "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", NULL };
	uint8_t out[4 + 64];
	abi_sig_t sig;
	size_t len = 99;

	CHECK_OK(sig_parse(&sig, "liquidate(address,uint256)"));
	CHECK_ERR(abi_encode_call(&sig, args, 1, out, sizeof out, &len), KERR_ABI_ARGC);
	CHECK_ERR(abi_encode_call(&sig, args, 3, out, sizeof out, &len), KERR_ABI_ARGC);
	CHECK_ERR(abi_encode_call(&sig, args, 2, out, sizeof out - 1, &len), KERR_BUF);
	CHECK_ERR(abi_encode_call(&sig, bad, 2, out, sizeof out, &len), KERR_NUM_CHAR);
	CHECK_ERR(abi_encode_call(&sig, null_arg, 2, out, sizeof out, &len), KERR_ARG);
	CHECK_EQ_INT(len, 99);
	CHECK_OK(abi_encode_call(&sig, args, 2, out, sizeof out, &len));
	CHECK_EQ_INT(len, sizeof out);
}

/*
 * Independent of the parser under test: is t one of the types we support?
 * (So a parser that wrongly refused a type would show up as a mismatch, not
 * as a smaller eligible set.)
 */
static bool supported_type(const char *t, size_t len)
{
	static const char digits[] = "0123456789";
	char buf[16];
	size_t d;
	unsigned long n;

	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, t, len);
	buf[len] = '\0';
	if (!strcmp(buf, "address") || !strcmp(buf, "bool") ||
	    !strcmp(buf, "uint") || !strcmp(buf, "int"))
		return true;
	/* Otherwise a word, then a width without a leading zero. */
	d = strcspn(buf, digits);
	if (d == len || buf[d] == '0' || strspn(buf + d, digits) != len - d)
		return false;
	n = strtoul(buf + d, NULL, 10);
	if ((d == 4 && !memcmp(buf, "uint", 4)) || (d == 3 && !memcmp(buf, "int", 3)))
		return n >= 8 && n <= 256 && n % 8 == 0;
	if (d == 5 && !memcmp(buf, "bytes", 5))
		return n >= 1 && n <= 32;
	return false;
}

/* A bare supported type, or a flat tuple "(a,b,...)" of them. */
static bool eligible(const char *type)
{
	size_t len = strlen(type);
	if (type[0] != '(')
		return supported_type(type, len);
	if (len < 3 || type[len - 1] != ')')
		return false;
	for (const char *p = type + 1;;) {
		size_t n = strcspn(p, ",)");
		if (!supported_type(p, n))
			return false;
		if (p[n] == ')')
			return p + n == type + len - 1;
		p += n + 1;
	}
}

/* The text abi_encode_arg takes for a JSON value: strings as they are,
 * booleans as true/false. */
static const char *value_text(const json_t *v)
{
	if (json_is_true(v))
		return "true";
	if (json_is_false(v))
		return "false";
	return json_string_value(v);
}

static bool vector_matches(const char *type, const json_t *value, const char *encoded)
{
	char sig_text[ABI_MAX_SIG];
	uint8_t want[32 * ABI_MAX_ARGS], got[32 * ABI_MAX_ARGS];
	size_t want_len = 0;
	abi_sig_t sig;
	bool tuple = type[0] == '(';

	snprintf(sig_text, sizeof sig_text, tuple ? "f%s" : "f(%s)", type);
	if (sig_parse(&sig, sig_text) != KERR_OK ||
	    hex_decode(want, sizeof want, &want_len, encoded, strlen(encoded)) ||
	    want_len != 32 * sig.nargs ||
	    (tuple && json_array_size(value) != sig.nargs))
		return false;
	for (size_t i = 0; i < sig.nargs; i++) {
		const char *s = value_text(tuple ? json_array_get(value, i) : value);
		if (!s || abi_encode_arg(&sig.args[i], s, strlen(s), got + 32 * i))
			return false;
	}
	return memcmp(got, want, want_len) == 0;
}

static void test_ethers_vectors(void)
{
	json_t *root = t_load_json("tests/vectors/ethers/abi.json.gz");
	size_t i, tuples = 0, tuples_ok = 0, bare = 0, bare_ok = 0;
	json_t *e;

	CHECK(json_is_array(root));
	json_array_foreach(root, i, e) {
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *enc = json_string_value(json_object_get(e, "encoded"));
		json_t *value = json_object_get(e, "value");
		if (!type || !eligible(type))
			continue;
		bool ok = enc && value && vector_matches(type, value, enc);
		CHECK_MSG(ok, "entry %zu: %s", i, type);
		if (type[0] == '(') {
			tuples++;
			tuples_ok += ok;
		} else {
			bare++;
			bare_ok += ok;
		}
	}
	printf("    abi.json static tuples: %zu/%zu eligible matched\n", tuples_ok, tuples);
	printf("    abi.json bare static types: %zu/%zu eligible matched\n", bare_ok, bare);
	printf("    (of %zu entries; the rest use dynamic, nested or array types)\n",
	       json_array_size(root));
	CHECK(tuples > 0 && bare > 0);
	json_decref(root);
}

int main(void)
{
	RUN(test_selectors);
	RUN(test_sig_fields);
	RUN(test_sig_rejections);
	RUN(test_sig_limits);
	RUN(test_arg_ranges);
	RUN(test_arg_other_types);
	RUN(test_calldata_cast);
	RUN(test_call_errors);
	RUN(test_ethers_vectors);
	return t_done();
}
