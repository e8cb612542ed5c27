/*
 * test_keccak: Keccak-256 against the 257 ethers hash vectors (0..128 bytes),
 * against `cast keccak` on inputs around the 136-byte rate boundary (which
 * the ethers inputs never reach), and incremental hashing split at every
 * offset, which must not change the result.
 */
#include <jansson.h>

#include "keeper/kerr.h"
#include "signer/hex.h"
#include "signer/keccak.h"
#include "tests/test.h"

#define INPUT_MAX 512

/* The inputs hashed with cast: byte i is (7i + 3) mod 256. */
static void pattern(uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
}

static void digest_hex(const uint8_t *in, size_t n, char out[65])
{
	uint8_t h[32];
	keccak256(h, in, n);
	hex_encode(out, h, sizeof h);
}

static void test_ethers_vectors(void)
{
	json_t *root = t_load_json("tests/vectors/ethers/hashes.json.gz");
	size_t i, ok = 0;
	json_t *e;

	CHECK(json_is_array(root));
	json_array_foreach(root, i, e) {
		const char *data = json_string_value(json_object_get(e, "data"));
		const char *want = json_string_value(json_object_get(e, "keccak256"));
		uint8_t in[INPUT_MAX];
		size_t n = 0;
		char got[65];

		if (!data || !want ||
		    hex_decode(in, sizeof in, &n, data, strlen(data))) {
			CHECK_MSG(0, "entry %zu malformed", i);
			continue;
		}
		digest_hex(in, n, got);
		if (strlen(want) == 66 && strcmp(got, want + 2) == 0)
			ok++;
		else
			CHECK_MSG(0, "entry %zu (%zu bytes): %s != %s", i, n, got, want);
	}
	printf("    hashes.json keccak256: %zu/%zu\n", ok, json_array_size(root));
	CHECK_EQ_INT(json_array_size(root), 257);
	json_decref(root);
}

static void test_rate_boundary(void)
{
	/* Digests printed by foundry's `cast keccak 0x<pattern bytes>`
	 * (cast 1.7.1), for lengths on both sides of one and two blocks. */
	static const struct {
		size_t n;
		const char *hash;
	} cases[] = {
		{ 135, "00ef96af9cf4b24c7f269d922294444a197d0a33638c2e56634c57e892103a8f" },
		{ 136, "742061bcad767ed4c4f5883b1dcb1aad11afdcc140dc469d953759b127b9f9ed" },
		{ 137, "e3371f61e770abf254c34239c3b0099ad90594507415bc81dd0a10b9692bbf2a" },
		{ 271, "4401c4afbe16ff911bdbf2d38e556e5b861f3fdf0f9d4306b1c46f6ae4f73584" },
		{ 272, "ac141fd7b0a0ffcd2e967254d508da3ec616596493c36fa304425647d90e6de5" },
		{ 273, "16192ea86793083e47731cb3c970600f04768414d92bc0540e54ce8607a0fce0" },
		{ 500, "e37163b2a792d9984ce6b739d44dd9b615a802b13ac67f3ac0629aa2dddbc0a1" },
	};
	uint8_t in[INPUT_MAX];
	char got[65];

	pattern(in, sizeof in);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		digest_hex(in, cases[i].n, got);
		CHECK_MSG(strcmp(got, cases[i].hash) == 0, "%zu bytes: %s",
			  cases[i].n, got);
	}
}

/* Two updates split at every offset, and one byte at a time, must all give
 * the one-shot digest. */
static void check_splits(const uint8_t *in, size_t n)
{
	uint8_t want[32], got[32];
	keccak_ctx_t c;

	keccak256(want, in, n);
	for (size_t cut = 0; cut <= n; cut++) {
		keccak_init(&c);
		keccak_update(&c, in, cut);
		keccak_update(&c, in + cut, n - cut);
		keccak_final(&c, got);
		CHECK_MSG(memcmp(got, want, 32) == 0, "length %zu cut at %zu", n, cut);
	}
	keccak_init(&c);
	for (size_t i = 0; i < n; i++)
		keccak_update(&c, in + i, 1);
	keccak_update(&c, NULL, 0);
	keccak_final(&c, got);
	CHECK_MSG(memcmp(got, want, 32) == 0, "length %zu byte by byte", n);
}

static void test_incremental(void)
{
	static const size_t lengths[] = { 0, 1, 135, 136, 137, 272, 300, INPUT_MAX };
	uint8_t in[INPUT_MAX];

	pattern(in, sizeof in);
	for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++)
		check_splits(in, lengths[i]);
}

static void test_final_wipes(void)
{
	static const keccak_ctx_t zero;
	keccak_ctx_t c;
	uint8_t out[32];

	keccak_init(&c);
	keccak_update(&c, (const uint8_t *)"secret", 6);
	keccak_final(&c, out);
	CHECK(memcmp(&c, &zero, sizeof c) == 0);
}

int main(void)
{
	RUN(test_ethers_vectors);
	RUN(test_rate_boundary);
	RUN(test_incremental);
	RUN(test_final_wipes);
	return t_done();
}
