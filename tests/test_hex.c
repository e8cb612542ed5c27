/*
 * test_hex: strict hex decoding and encoding — prefixes, odd counts, bad
 * characters, capacity limits and exact-length decoding — and a round trip
 * of every input of the ethers hash vectors (0 to 128 bytes, mixed case).
 */
#include <ctype.h>
#include <stdbool.h>
#include <jansson.h>

#include "keeper/kerr.h"
#include "signer/hex.h"
#include "tests/test.h"

/* hex_decode of a NUL-terminated string (the length is still explicit). */
static kerr_t dec(uint8_t *out, size_t cap, size_t *n, const char *s)
{
	return hex_decode(out, cap, n, s, strlen(s));
}

static void test_digit(void)
{
	const char *digits = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		CHECK_EQ_INT(hex_digit(digits[i]), i);
		if (i >= 10)
			CHECK_EQ_INT(hex_digit((char)(digits[i] - 'a' + 'A')), i);
	}
	CHECK_EQ_INT(hex_digit('g'), -1);
	CHECK_EQ_INT(hex_digit('G'), -1);
	CHECK_EQ_INT(hex_digit('x'), -1);
	CHECK_EQ_INT(hex_digit(' '), -1);
	CHECK_EQ_INT(hex_digit('\0'), -1);
	CHECK_EQ_INT(hex_digit('/'), -1);  /* just below '0' */
	CHECK_EQ_INT(hex_digit(':'), -1);  /* just above '9' */
	CHECK_EQ_INT(hex_digit('`'), -1);  /* just below 'a' */
	CHECK_EQ_INT(hex_digit('@'), -1);  /* just below 'A' */
	CHECK_EQ_INT(hex_digit((char)0xe0), -1);
}

static void test_encode(void)
{
	const uint8_t in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char out[2 * sizeof in + 1];
	char empty[1] = { 'x' };

	CHECK_EQ_INT(hex_encode(out, in, sizeof in), 12);
	CHECK_EQ_STR(out, "00017f80abff");
	CHECK_EQ_INT(hex_encode(empty, in, 0), 0);
	CHECK_EQ_STR(empty, "");
}

static void test_decode_ok(void)
{
	uint8_t out[8];
	size_t n = 99;

	CHECK_OK(dec(out, sizeof out, &n, "0x00017F80abFF"));
	CHECK_EQ_INT(n, 6);
	CHECK_EQ_MEM(out, "\x00\x01\x7f\x80\xab\xff", 6);
	CHECK_OK(dec(out, sizeof out, &n, "0XdeAD"));
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_MEM(out, "\xde\xad", 2);
	CHECK_OK(dec(out, sizeof out, &n, "c0ffee"));   /* prefix is optional */
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_MEM(out, "\xc0\xff\xee", 3);
	n = 99;
	CHECK_OK(dec(out, sizeof out, &n, ""));
	CHECK_EQ_INT(n, 0);
	n = 99;
	CHECK_OK(dec(out, sizeof out, &n, "0x"));
	CHECK_EQ_INT(n, 0);
	/* Exactly the capacity. */
	CHECK_OK(dec(out, sizeof out, &n, "0x0102030405060708"));
	CHECK_EQ_INT(n, 8);
	CHECK_EQ_MEM(out, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	/* The length is explicit: bytes after it are not read. */
	CHECK_OK(hex_decode(out, sizeof out, &n, "0xabcdZZ", 6));
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_MEM(out, "\xab\xcd", 2);
}

static void test_decode_errors(void)
{
	uint8_t out[4];
	size_t n = 0;

	CHECK_ERR(dec(out, sizeof out, &n, "0x1"), KERR_HEX_ODD);
	CHECK_ERR(dec(out, sizeof out, &n, "abc"), KERR_HEX_ODD);
	CHECK_ERR(dec(out, sizeof out, &n, "0"), KERR_HEX_ODD);
	CHECK_ERR(dec(out, sizeof out, &n, "0xzz"), KERR_HEX_CHAR);
	CHECK_ERR(dec(out, sizeof out, &n, "0x0g"), KERR_HEX_CHAR);
	CHECK_ERR(dec(out, sizeof out, &n, "0x 1"), KERR_HEX_CHAR);
	CHECK_ERR(dec(out, sizeof out, &n, "0x0x"), KERR_HEX_CHAR);
	CHECK_ERR(dec(out, sizeof out, &n, "x012"), KERR_HEX_CHAR);
	CHECK_ERR(dec(out, sizeof out, &n, "-0x12"), KERR_HEX_ODD);
	CHECK_ERR(dec(out, sizeof out, &n, "0x12\n"), KERR_HEX_ODD);
	CHECK_ERR(dec(out, sizeof out, &n, "0x1234\n0"), KERR_HEX_CHAR);
	CHECK_ERR(hex_decode(out, sizeof out, &n, "00\0000", 4), KERR_HEX_CHAR);
	/* One byte over the capacity. */
	CHECK_ERR(dec(out, sizeof out, &n, "0x0102030405"), KERR_TOO_LONG);
	CHECK_ERR(dec(out, 0, &n, "00"), KERR_TOO_LONG);
	/* *out_len is only set on success. */
	CHECK_EQ_INT(n, 0);
}

static void test_decode_exact(void)
{
	uint8_t out[32];
	char text[2 + 64 + 1];
	uint8_t want[32];

	CHECK_OK(hex_decode_exact(out, 2, "0xBEEF", 6));
	CHECK_EQ_MEM(out, "\xbe\xef", 2);
	CHECK_OK(hex_decode_exact(out, 2, "beef", 4));
	CHECK_OK(hex_decode_exact(out, 0, "0x", 2));
	CHECK_OK(hex_decode_exact(out, 0, "", 0));
	CHECK_ERR(hex_decode_exact(out, 2, "0xbee", 5), KERR_HEX_LENGTH);
	CHECK_ERR(hex_decode_exact(out, 2, "0xbeef00", 8), KERR_HEX_LENGTH);
	CHECK_ERR(hex_decode_exact(out, 2, "0x", 2), KERR_HEX_LENGTH);
	CHECK_ERR(hex_decode_exact(out, 2, "0xbeeg", 6), KERR_HEX_CHAR);
	CHECK_ERR(hex_decode_exact(out, 1, "0x0x", 4), KERR_HEX_CHAR);

	/* A 32-byte key-sized value round-trips through encode. */
	for (int i = 0; i < 32; i++)
		want[i] = (uint8_t)(0xff - 7 * i);
	text[0] = '0';
	text[1] = 'x';
	hex_encode(text + 2, want, sizeof want);
	CHECK_OK(hex_decode_exact(out, sizeof out, text, strlen(text)));
	CHECK_EQ_MEM(out, want, sizeof want);
	CHECK_ERR(hex_decode_exact(out, sizeof out, text, strlen(text) - 1),
		  KERR_HEX_LENGTH);
}

/* Every byte value survives encode then decode. */
static void test_round_trip(void)
{
	uint8_t all[256], back[256];
	char text[2 * 256 + 1];
	size_t n = 0;

	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	CHECK_EQ_INT(hex_encode(text, all, sizeof all), 512);
	CHECK_OK(hex_decode(back, sizeof back, &n, text, 512));
	CHECK_EQ_INT(n, 256);
	CHECK_EQ_MEM(back, all, sizeof all);
}

/* Decode then re-encode; the result must be the input without its prefix,
 * lowercased. */
static bool round_trips(const char *text)
{
	size_t len = strlen(text), n = 0;
	uint8_t *bytes = malloc(len / 2 + 1);
	char *back = malloc(len + 1);
	bool ok = hex_decode(bytes, len / 2, &n, text, len) == KERR_OK &&
		  n == (len - 2) / 2;

	if (ok) {
		hex_encode(back, bytes, n);
		for (size_t i = 0; ok && i < 2 * n; i++)
			ok = back[i] == tolower((unsigned char)text[2 + i]);
	}
	free(bytes);
	free(back);
	return ok;
}

static void test_vectors(void)
{
	json_t *root = t_load_json("tests/vectors/ethers/hashes.json.gz");
	size_t i, ok = 0;
	json_t *e;

	CHECK(json_is_array(root));
	json_array_foreach(root, i, e) {
		const char *data = json_string_value(json_object_get(e, "data"));
		if (data && round_trips(data))
			ok++;
		else
			CHECK_MSG(0, "data of entry %zu", i);
	}
	printf("    hashes.json data: %zu/%zu\n", ok, json_array_size(root));
	CHECK(json_array_size(root) > 0);
	json_decref(root);
}

int main(void)
{
	RUN(test_digit);
	RUN(test_encode);
	RUN(test_decode_ok);
	RUN(test_decode_errors);
	RUN(test_decode_exact);
	RUN(test_round_trip);
	RUN(test_vectors);
	return t_done();
}
