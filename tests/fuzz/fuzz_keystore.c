/*
 * fuzz_keystore: keystore v3 JSON through signer_load_keystore_json() with
 * a fixed password ("testpassword", the fixture's, so a valid seed decrypts
 * and mutations of it reach the MAC and address checks).
 *
 * Work cap.  The module refuses KDF parameters beyond what real keystores
 * use (scrypt n <= 2^20, 128 r n <= 1 GiB, n r p <= 2^24; pbkdf2 c <= 10^7):
 * inputs over those limits run through it and must come back
 * KERR_KEYSTORE_KDF at once.  Parameters within the limits are legitimate
 * and may cost seconds, so the harness skips an input whose parameters are
 * accepted by the module's rules but exceed a fuzzing budget (scrypt
 * n r p or pbkdf2 c above 4096): that work is the KDF's, not the parser's.
 *
 * Invariants: a successful load yields a key whose address is the
 * keystore's "address" member when it has one; anything else is one of
 * the documented keystore codes.
 */
#include "signer/signer.h"

#include <jansson.h>

#include "signer/hex.h"
#include "tests/fuzz/fuzz.h"

#define BUDGET 4096
#define SCRYPT_MAX_N (1 << 20)
#define SCRYPT_MAX_MEM ((json_int_t)1 << 30)
#define SCRYPT_MAX_WORK ((json_int_t)1 << 24)
#define PBKDF2_MAX_C 10000000

static const uint8_t PW[] = "testpassword";

static json_int_t int_of(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* true when the module would accept the KDF parameters and they cost more
 * than BUDGET rounds (see the top). */
static int too_costly(const json_t *root)
{
	const json_t *crypto = json_object_get(root, "crypto");
	const json_t *kp;
	json_int_t n, r, p, c;

	if (!crypto)
		crypto = json_object_get(root, "Crypto");
	kp = json_object_get(crypto, "kdfparams");
	if (!json_is_object(kp))
		return 0;
	n = int_of(kp, "n"), r = int_of(kp, "r"), p = int_of(kp, "p");
	c = int_of(kp, "c");
	if (c > BUDGET && c <= PBKDF2_MAX_C)
		return 1;
	if (n >= 1 && r >= 1 && p >= 1 && n <= SCRYPT_MAX_N && r <= SCRYPT_MAX_MEM &&
	    p <= SCRYPT_MAX_WORK && 128 * r * n <= SCRYPT_MAX_MEM &&
	    n * r * p <= SCRYPT_MAX_WORK && n * r * p > BUDGET)
		return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	signer_t *s = NULL;
	char *buf = fuzz_dup(data, size);
	json_t *root = json_loadb(buf, size, JSON_REJECT_DUPLICATES, NULL);
	kerr_t err;

	if (root && too_costly(root)) {
		json_decref(root);
		free(buf);
		return 0;
	}
	/* A fresh signer each time: every load starts without a key, and
	 * nothing outlives the input (the signer keeps its memory where
	 * LeakSanitizer cannot follow pointers, so a kept one reads as a
	 * leak). */
	if (signer_new(&s) != KERR_OK)
		abort();
	err = signer_load_keystore_json(s, buf, size, PW, sizeof PW - 1);
	if (err == KERR_OK) {
		addr_t a, want;
		const json_t *v = json_object_get(root, "address");
		FUZZ_CHECK(root != NULL);
		FUZZ_CHECK(signer_address(s, &a) == KERR_OK);
		if (v) {
			FUZZ_CHECK(json_is_string(v));
			FUZZ_CHECK(hex_decode_exact(want.b, sizeof want.b,
						    json_string_value(v),
						    json_string_length(v)) == KERR_OK);
			FUZZ_CHECK(addr_eq(&a, &want));
		}
	} else {
		FUZZ_CHECK(err == KERR_KEYSTORE_FORMAT || err == KERR_KEYSTORE_KDF ||
			   err == KERR_KEYSTORE_CIPHER || err == KERR_KEYSTORE_PASSWORD ||
			   err == KERR_KEY_INVALID || err == KERR_TOO_LONG ||
			   err == KERR_NOMEM || err == KERR_CRYPTO);
	}
	signer_free(s);
	json_decref(root);
	free(buf);
	return 0;
}
