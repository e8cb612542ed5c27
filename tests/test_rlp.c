/*
 * test_rlp: the RLP encoder and strict decoder against the ethers RLP
 * vectors and ethereum/tests RLPTests (every valid case encoded and decoded
 * back to its structure, every invalid case rejected with the reason we
 * expect), plus integer rules, depth, bounds of nested items and the
 * encoder's sticky errors.
 */
#include <jansson.h>
#include <stdbool.h>

#include "keeper/kerr.h"
#include "signer/hex.h"
#include "signer/rlp.h"
#include "signer/u256.h"
#include "tests/test.h"

/* Room for the largest vector (ethers ones_2049 and its list cases). */
#define BUF_MAX 8192

/*
 * The two vector files write leaves differently: ethers as 0x-hex byte
 * strings; ethereum/tests as text (its bytes), JSON integers, or "#digits"
 * for integers too big for JSON (one of them, 2^256, too big for a u256).
 */
typedef enum { LEAVES_HEX, LEAVES_ETH } leaves_t;

/* Minimal big-endian bytes of a decimal text of any size. */
static size_t dec_to_be(const char *s, uint8_t *out, size_t cap)
{
	uint8_t le[64];
	size_t n = 0;

	for (; *s; s++) {
		unsigned carry = (unsigned)(*s - '0');
		for (size_t i = 0; i < n; i++) {
			unsigned v = le[i] * 10u + carry;
			le[i] = (uint8_t)v;
			carry = v >> 8;
		}
		for (; carry && n < sizeof le; carry >>= 8)
			le[n++] = (uint8_t)carry;
	}
	for (size_t i = 0; i < n && i < cap; i++)
		out[i] = le[n - 1 - i];
	return n;
}

/* The bytes a leaf stands for; false if the test data is malformed. */
static bool leaf_bytes(const json_t *j, leaves_t kind, uint8_t *out,
		       size_t *n)
{
	if (json_is_integer(j)) {
		u256_t v;
		if (kind != LEAVES_ETH || json_integer_value(j) < 0)
			return false;
		u256_from_u64(&v, (uint64_t)json_integer_value(j));
		*n = u256_to_be_min(&v, out);
		return true;
	}
	if (!json_is_string(j))
		return false;
	const char *s = json_string_value(j);
	size_t len = json_string_length(j);
	if (kind == LEAVES_HEX)
		return hex_decode(out, BUF_MAX, n, s, len) == KERR_OK;
	if (s[0] == '#') {
		*n = dec_to_be(s + 1, out, BUF_MAX);
		return true;
	}
	if (len > BUF_MAX)
		return false;
	memcpy(out, s, len);
	*n = len;
	return true;
}

/* "#digits" that fit 256 bits go through rlp_put_u256 and JSON integers
 * through rlp_put_u64, so both integer encoders meet the vectors. */
static bool put_leaf(rlp_enc_t *e, const json_t *j, leaves_t kind)
{
	uint8_t bytes[BUF_MAX];
	size_t n;
	u256_t v;

	if (kind == LEAVES_ETH && json_is_integer(j) && json_integer_value(j) >= 0) {
		rlp_put_u64(e, (uint64_t)json_integer_value(j));
		return true;
	}
	if (kind == LEAVES_ETH && json_is_string(j) && json_string_value(j)[0] == '#') {
		const char *d = json_string_value(j) + 1;
		if (u256_from_dec(&v, d, strlen(d)) == KERR_OK) {
			rlp_put_u256(e, &v);
			return true;
		}
	}
	if (!leaf_bytes(j, kind, bytes, &n))
		return false;
	rlp_put_bytes(e, bytes, n);
	return true;
}

static bool put_value(rlp_enc_t *e, const json_t *j, leaves_t kind)
{
	size_t i, mark;
	json_t *child;

	if (!json_is_array(j))
		return put_leaf(e, j, kind);
	mark = rlp_list_begin(e);
	json_array_foreach(j, i, child) {
		if (!put_value(e, child, kind))
			return false;
	}
	rlp_list_end(e, mark);
	return true;
}

/* An integer leaf must also read back through the integer getters. */
static bool int_leaf_matches(const rlp_item_t *it, const json_t *j)
{
	if (json_is_integer(j)) {
		uint64_t v;
		return rlp_get_u64(it, &v) == KERR_OK &&
		       v == (uint64_t)json_integer_value(j);
	}
	const char *d = json_string_value(j) + 1;
	u256_t want, got;
	if (u256_from_dec(&want, d, strlen(d)) != KERR_OK)
		/* 2^256 ("bigint"): valid RLP, but too wide for a u256. */
		return rlp_get_u256(it, &got) == KERR_RLP_TOO_BIG;
	return rlp_get_u256(it, &got) == KERR_OK && u256_cmp(&got, &want) == 0;
}

static bool item_matches(const rlp_item_t *it, const json_t *j, leaves_t kind)
{
	if (json_is_array(j)) {
		size_t off = 0, i, count;
		rlp_item_t child;
		json_t *jc;
		if (!it->is_list || rlp_list_count(it, &count) ||
		    count != json_array_size(j))
			return false;
		json_array_foreach(j, i, jc) {
			if (rlp_list_next(it, &off, &child) ||
			    !item_matches(&child, jc, kind))
				return false;
		}
		return rlp_list_next(it, &off, &child) == KERR_NOT_FOUND;
	}
	uint8_t want[BUF_MAX];
	size_t n;
	if (it->is_list || !leaf_bytes(j, kind, want, &n) || n != it->len ||
	    memcmp(want, it->p, n) != 0)
		return false;
	if (kind == LEAVES_ETH && (json_is_integer(j) || json_string_value(j)[0] == '#'))
		return int_leaf_matches(it, j);
	return true;
}

/* Encode value and compare with the expected hex; decode that hex and
 * compare with value.  Returns true when both directions agree. */
static bool check_case(const char *name, const json_t *value,
		       const char *encoded, leaves_t kind)
{
	static uint8_t want[BUF_MAX], got[BUF_MAX];
	size_t want_len = 0, got_len = 0;
	rlp_enc_t e;
	rlp_item_t it;
	bool ok = true;

	if (hex_decode(want, sizeof want, &want_len, encoded, strlen(encoded))) {
		CHECK_MSG(0, "%s: bad hex in the vector", name);
		return false;
	}
	rlp_enc_init(&e, got, sizeof got);
	if (!put_value(&e, value, kind) || rlp_enc_finish(&e, &got_len) ||
	    got_len != want_len || memcmp(got, want, want_len) != 0) {
		CHECK_MSG(0, "%s: encoding differs", name);
		ok = false;
	}
	kerr_t err = rlp_decode_all(want, want_len, &it);
	if (err || !item_matches(&it, value, kind)) {
		CHECK_MSG(0, "%s: decoding differs (%s)", name, kerr_name(err));
		ok = false;
	}
	return ok;
}

static void test_ethers_vectors(void)
{
	json_t *root = t_load_json("tests/vectors/ethers/rlp.json.gz");
	size_t i, ok = 0;
	json_t *e;

	CHECK(json_is_array(root));
	json_array_foreach(root, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *enc = json_string_value(json_object_get(e, "encoded"));
		json_t *dec = json_object_get(e, "decoded");
		if (name && enc && dec)
			ok += check_case(name, dec, enc, LEAVES_HEX);
		else
			CHECK_MSG(0, "entry %zu malformed", i);
	}
	printf("    rlp.json: %zu/%zu\n", ok, json_array_size(root));
	CHECK(json_array_size(root) > 0);
	json_decref(root);
}

static void test_ethereum_valid(void)
{
	json_t *root = t_load_json("tests/vectors/ethereum-tests/RLPTests/rlptest.json");
	const char *name;
	size_t ok = 0;
	json_t *c;

	CHECK(json_is_object(root));
	json_object_foreach(root, name, c) {
		const char *out = json_string_value(json_object_get(c, "out"));
		json_t *in = json_object_get(c, "in");
		if (out && in)
			ok += check_case(name, in, out, LEAVES_ETH);
		else
			CHECK_MSG(0, "%s malformed", name);
	}
	printf("    rlptest.json: %zu/%zu\n", ok, json_object_size(root));
	CHECK(json_object_size(root) > 0);
	json_decref(root);
}

/*
 * Every case of invalidRLPTest.json is structurally invalid, so each must
 * fail rlp_decode_all itself; none is valid RLP that is only a bad integer
 * (those are in test_integers).  The table names the reason we expect.
 */
static const struct {
	const char *name;
	kerr_t err;
} invalid_expect[] = {
	{ "int32Overflow", KERR_RLP_TRUNCATED },         /* 8-byte length ~2^60 */
	{ "int32Overflow2", KERR_RLP_TRUNCATED },
	{ "wrongSizeList", KERR_RLP_NONCANONICAL },       /* long form for 1 */
	{ "wrongSizeList2", KERR_RLP_NONCANONICAL },
	{ "incorrectLengthInArray", KERR_RLP_NONCANONICAL }, /* length 0x0021 */
	{ "randomRLP", KERR_RLP_NONCANONICAL },          /* b90021 two levels in */
	{ "bytesShouldBeSingleByte00", KERR_RLP_NONCANONICAL },
	{ "bytesShouldBeSingleByte01", KERR_RLP_NONCANONICAL },
	{ "bytesShouldBeSingleByte7F", KERR_RLP_NONCANONICAL },
	{ "leadingZerosInLongLengthArray1", KERR_RLP_NONCANONICAL },
	{ "leadingZerosInLongLengthArray2", KERR_RLP_NONCANONICAL },
	{ "leadingZerosInLongLengthList1", KERR_RLP_NONCANONICAL },
	{ "leadingZerosInLongLengthList2", KERR_RLP_NONCANONICAL },
	{ "nonOptimalLongLengthArray1", KERR_RLP_NONCANONICAL },
	{ "nonOptimalLongLengthArray2", KERR_RLP_NONCANONICAL },
	{ "nonOptimalLongLengthList1", KERR_RLP_NONCANONICAL },
	{ "nonOptimalLongLengthList2", KERR_RLP_NONCANONICAL },
	{ "emptyEncoding", KERR_TRUNCATED },
	{ "lessThanShortLengthArray1", KERR_RLP_TRUNCATED },
	{ "lessThanShortLengthArray2", KERR_RLP_TRUNCATED },
	{ "lessThanShortLengthList1", KERR_RLP_TRUNCATED },
	{ "lessThanShortLengthList2", KERR_RLP_TRUNCATED },
	{ "lessThanLongLengthArray1", KERR_RLP_TRUNCATED },
	{ "lessThanLongLengthArray2", KERR_RLP_TRUNCATED },
	{ "lessThanLongLengthList1", KERR_RLP_TRUNCATED },
	{ "lessThanLongLengthList2", KERR_RLP_TRUNCATED },
};

static void test_ethereum_invalid(void)
{
	json_t *root = t_load_json("tests/vectors/ethereum-tests/RLPTests/invalidRLPTest.json");
	const size_t nexpect = sizeof invalid_expect / sizeof invalid_expect[0];
	const char *name;
	size_t rejected = 0;
	json_t *c;

	CHECK(json_is_object(root));
	json_object_foreach(root, name, c) {
		const char *out = json_string_value(json_object_get(c, "out"));
		uint8_t bytes[BUF_MAX];
		size_t n = 0, k;
		rlp_item_t it;

		for (k = 0; k < nexpect && strcmp(invalid_expect[k].name, name); k++)
			;
		if (!out || k == nexpect ||
		    hex_decode(bytes, sizeof bytes, &n, out, strlen(out))) {
			CHECK_MSG(0, "%s: unknown case or bad hex", name);
			continue;
		}
		kerr_t err = rlp_decode_all(bytes, n, &it);
		if (err != KERR_OK)
			rejected++;
		CHECK_MSG(err == invalid_expect[k].err, "%s: got %s, want %s", name,
			  kerr_name(err), kerr_name(invalid_expect[k].err));
	}
	printf("    invalidRLPTest.json rejected: %zu/%zu\n", rejected,
	       json_object_size(root));
	CHECK_EQ_INT(json_object_size(root), nexpect);
	json_decref(root);
}

/* Decode a hex literal whole. */
static kerr_t decode_hex(const char *hex, uint8_t *buf, rlp_item_t *it)
{
	size_t n = 0;
	kerr_t err = hex_decode(buf, 64, &n, hex, strlen(hex));
	return err ? err : rlp_decode_all(buf, n, it);
}

/* Valid RLP byte strings that are not valid integers. */
static void test_integers(void)
{
	uint8_t buf[64];
	rlp_item_t it;
	u256_t v;
	uint64_t u = 0;

	CHECK_OK(decode_hex("80", buf, &it));
	CHECK_OK(rlp_get_u256(&it, &v));
	CHECK(u256_is_zero(&v));
	CHECK_OK(rlp_get_u64(&it, &u));
	CHECK_EQ_INT(u, 0);
	/* The byte string "\0" is fine RLP, but zero is the empty string. */
	CHECK_OK(decode_hex("00", buf, &it));
	CHECK_ERR(rlp_get_u256(&it, &v), KERR_RLP_LEADING_ZERO);
	CHECK_ERR(rlp_get_u64(&it, &u), KERR_RLP_LEADING_ZERO);
	CHECK_OK(decode_hex("820001", buf, &it));
	CHECK_ERR(rlp_get_u256(&it, &v), KERR_RLP_LEADING_ZERO);
	CHECK_OK(decode_hex("820100", buf, &it));
	CHECK_OK(rlp_get_u64(&it, &u));
	CHECK_EQ_INT(u, 256);
	/* Widths: 8 bytes fit a u64, 9 do not; 32 fit a u256, 33 do not. */
	CHECK_OK(decode_hex("88ffffffffffffffff", buf, &it));
	CHECK_OK(rlp_get_u64(&it, &u));
	CHECK(u == UINT64_MAX);
	CHECK_OK(decode_hex("89010000000000000000", buf, &it));
	CHECK_ERR(rlp_get_u64(&it, &u), KERR_RLP_TOO_BIG);
	CHECK_OK(rlp_get_u256(&it, &v));
	CHECK_OK(decode_hex("a0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", buf, &it));
	CHECK_OK(rlp_get_u256(&it, &v));
	CHECK_OK(decode_hex("a1010000000000000000000000000000000000000000000000000000000000000000", buf, &it));
	CHECK_ERR(rlp_get_u256(&it, &v), KERR_RLP_TOO_BIG);
	CHECK_OK(decode_hex("c0", buf, &it));
	CHECK_ERR(rlp_get_u256(&it, &v), KERR_RLP_TYPE);
	CHECK_ERR(rlp_get_u64(&it, &u), KERR_RLP_TYPE);
}

static void test_decode_rules(void)
{
	uint8_t buf[64];
	rlp_item_t it;
	size_t used = 0, n = 0;

	CHECK_ERR(decode_hex("8080", buf, &it), KERR_RLP_TRAILING);
	CHECK_ERR(decode_hex("c000", buf, &it), KERR_RLP_TRAILING);
	CHECK_ERR(decode_hex("0000", buf, &it), KERR_RLP_TRAILING);
	/* rlp_decode reads one item and reports its size; the rest is left. */
	CHECK_OK(hex_decode(buf, sizeof buf, &n, "83646f6700", 10));
	CHECK_OK(rlp_decode(buf, n, &it, &used));
	CHECK_EQ_INT(used, 4);
	CHECK_EQ_INT(it.hdr, 1);
	CHECK_EQ_INT(it.len, 3);
	CHECK(!it.is_list);
	CHECK_EQ_MEM(it.p, "dog", 3);
	CHECK_ERR(rlp_decode(buf, 0, &it, &used), KERR_TRUNCATED);
	/* A child must fit inside its own parent, not merely inside the input:
	 * the inner list c2 holds "83 61", too short for the string 83. */
	CHECK_ERR(decode_hex("c4c2836162", buf, &it), KERR_RLP_TRUNCATED);
	/* rlp_decode checks only the outer header; rlp_decode_all goes inside. */
	CHECK_OK(hex_decode(buf, sizeof buf, &n, "c28100", 6));
	CHECK_OK(rlp_decode(buf, n, &it, &used));
	CHECK_ERR(rlp_decode_all(buf, n, &it), KERR_RLP_NONCANONICAL);
	/* Long form lengths: 56 is the first that needs it. */
	CHECK_ERR(decode_hex("b837", buf, &it), KERR_RLP_NONCANONICAL);
	CHECK_ERR(decode_hex("b838", buf, &it), KERR_RLP_TRUNCATED);
	/* An 8-byte length of 2^64 - 1. */
	CHECK_ERR(decode_hex("bfffffffffffffffff", buf, &it), KERR_RLP_TRUNCATED);
	CHECK_ERR(decode_hex("b9", buf, &it), KERR_RLP_TRUNCATED);
}

static void test_list_walk(void)
{
	uint8_t buf[64];
	rlp_item_t list, child, str;
	size_t off = 0, n = 0;
	uint64_t v = 0;

	/* ["zw", [4], 1] */
	CHECK_OK(decode_hex("c6827a77c10401", buf, &list));
	CHECK(list.is_list);
	CHECK_OK(rlp_list_count(&list, &n));
	CHECK_EQ_INT(n, 3);
	CHECK_OK(rlp_list_next(&list, &off, &child));
	CHECK(!child.is_list);
	CHECK_EQ_INT(child.len, 2);
	CHECK_EQ_MEM(child.p, "zw", 2);
	CHECK_OK(rlp_list_next(&list, &off, &child));
	CHECK(child.is_list);
	CHECK_OK(rlp_list_count(&child, &n));
	CHECK_EQ_INT(n, 1);
	CHECK_OK(rlp_list_next(&list, &off, &child));
	CHECK_OK(rlp_get_u64(&child, &v));
	CHECK_EQ_INT(v, 1);
	CHECK_ERR(rlp_list_next(&list, &off, &child), KERR_NOT_FOUND);
	CHECK_ERR(rlp_list_next(&list, &off, &child), KERR_NOT_FOUND);

	CHECK_OK(decode_hex("c0", buf, &list));
	CHECK_OK(rlp_list_count(&list, &n));
	CHECK_EQ_INT(n, 0);
	CHECK_OK(decode_hex("83646f67", buf, &str));
	off = 0;
	CHECK_ERR(rlp_list_next(&str, &off, &child), KERR_RLP_TYPE);
	CHECK_ERR(rlp_list_count(&str, &n), KERR_RLP_TYPE);
}

/* depth empty lists nested inside one another, built with the encoder
 * (the outer headers need the long form). */
static size_t nested(uint8_t *buf, size_t cap, unsigned depth)
{
	size_t marks[RLP_MAX_DEPTH + 1], len = 0;
	rlp_enc_t e;

	rlp_enc_init(&e, buf, cap);
	for (unsigned i = 0; i < depth; i++)
		marks[i] = rlp_list_begin(&e);
	for (unsigned i = depth; i-- > 0;)
		rlp_list_end(&e, marks[i]);
	CHECK_OK(rlp_enc_finish(&e, &len));
	return len;
}

static void test_depth(void)
{
	uint8_t buf[16 * (RLP_MAX_DEPTH + 1)];
	rlp_item_t it;
	size_t n;

	n = nested(buf, sizeof buf, RLP_MAX_DEPTH);
	CHECK_OK(rlp_decode_all(buf, n, &it));
	n = nested(buf, sizeof buf, RLP_MAX_DEPTH + 1);
	CHECK_ERR(rlp_decode_all(buf, n, &it), KERR_RLP_DEPTH);
	/* rlp_decode looks at the outer header only, so it has no limit. */
	CHECK_OK(rlp_decode(buf, n, &it, &n));
}

static void test_encoder(void)
{
	uint8_t buf[80], want[80];
	rlp_enc_t e;
	size_t len = 0, mark, inner;
	u256_t v;

	rlp_enc_init(&e, buf, sizeof buf);
	rlp_put_u64(&e, 0);
	rlp_put_u64(&e, 0x7f);
	rlp_put_u64(&e, 0x80);
	rlp_put_u64(&e, UINT64_MAX);
	u256_zero(&v);
	rlp_put_u256(&e, &v);
	rlp_put_raw(&e, (const uint8_t *)"\xc1\x01", 2);
	CHECK_OK(rlp_enc_finish(&e, &len));
	CHECK_EQ_INT(len, 1 + 1 + 2 + 9 + 1 + 2);
	CHECK_EQ_MEM(buf, "\x80\x7f\x81\x80\x88\xff\xff\xff\xff\xff\xff\xff\xff\x80\xc1\x01", len);

	/* Nested lists, one empty: [[], ["a"]] */
	rlp_enc_init(&e, buf, sizeof buf);
	mark = rlp_list_begin(&e);
	inner = rlp_list_begin(&e);
	rlp_list_end(&e, inner);
	inner = rlp_list_begin(&e);
	rlp_put_bytes(&e, (const uint8_t *)"a", 1);
	rlp_list_end(&e, inner);
	rlp_list_end(&e, mark);
	CHECK_OK(rlp_enc_finish(&e, &len));
	CHECK_EQ_INT(len, 4);
	CHECK_EQ_MEM(buf, "\xc3\xc0\xc1\x61", 4);

	/* A list payload of 55 bytes takes the short header, 56 the long:
	 * the payload is one string of 54 or 55 bytes with a 1-byte header. */
	memset(want, 'x', sizeof want);
	rlp_enc_init(&e, buf, sizeof buf);
	mark = rlp_list_begin(&e);
	rlp_put_bytes(&e, want, 54);
	rlp_list_end(&e, mark);
	CHECK_OK(rlp_enc_finish(&e, &len));
	CHECK_EQ_INT(len, 1 + 55);
	CHECK_EQ_MEM(buf, "\xf7\xb6", 2);
	rlp_enc_init(&e, buf, sizeof buf);
	mark = rlp_list_begin(&e);
	rlp_put_bytes(&e, want, 55);
	rlp_list_end(&e, mark);
	CHECK_OK(rlp_enc_finish(&e, &len));
	CHECK_EQ_INT(len, 2 + 56);
	CHECK_EQ_MEM(buf, "\xf8\x38\xb7", 3);
	CHECK_EQ_INT(buf[len - 1], 'x');
}

static void test_encoder_errors(void)
{
	uint8_t buf[16];
	rlp_enc_t e;
	size_t len = 77;

	/* Errors are sticky: later puts that would fit change nothing. */
	rlp_enc_init(&e, buf, 4);
	rlp_put_bytes(&e, (const uint8_t *)"dog", 3);
	rlp_put_bytes(&e, (const uint8_t *)"cat", 3);
	rlp_put_u64(&e, 1);
	CHECK_ERR(rlp_enc_finish(&e, &len), KERR_BUF);
	CHECK_EQ_INT(len, 77);
	CHECK_EQ_INT(e.len, 4);

	/* Exactly full is fine. */
	rlp_enc_init(&e, buf, 4);
	rlp_put_bytes(&e, (const uint8_t *)"dog", 3);
	CHECK_OK(rlp_enc_finish(&e, &len));
	CHECK_EQ_INT(len, 4);

	/* A list needs room for the longest header while it is open. */
	rlp_enc_init(&e, buf, 8);
	size_t mark = rlp_list_begin(&e);
	rlp_list_end(&e, mark);
	CHECK_ERR(rlp_enc_finish(&e, &len), KERR_BUF);

	/* A mark that no rlp_list_begin returned. */
	rlp_enc_init(&e, buf, sizeof buf);
	rlp_put_u64(&e, 1);
	rlp_list_end(&e, 0);
	CHECK_ERR(rlp_enc_finish(&e, &len), KERR_ARG);
	rlp_enc_init(&e, buf, sizeof buf);
	rlp_list_end(&e, 100);
	CHECK_ERR(rlp_enc_finish(&e, &len), KERR_ARG);
}

int main(void)
{
	RUN(test_ethers_vectors);
	RUN(test_ethereum_valid);
	RUN(test_ethereum_invalid);
	RUN(test_integers);
	RUN(test_decode_rules);
	RUN(test_list_walk);
	RUN(test_depth);
	RUN(test_encoder);
	RUN(test_encoder_errors);
	return t_done();
}
