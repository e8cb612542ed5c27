/*
 * test_signer: key loading and signing.
 *
 * ethers' account vectors pin key -> address; its keystore wallets pin
 * scrypt and pbkdf2 decryption (and a wrong password must be told apart by
 * the MAC).  Key files, password files and keystore files are written to
 * /tmp with chosen modes and contents to drive every refusal: loose
 * permissions, malformed keys, keys outside the curve order, malformed or
 * hostile keystore JSON.  Signatures must be low-s, deterministic and
 * recover to the signer's address.
 */
#include <errno.h>
#include <jansson.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "keeper/kerr.h"
#include "signer/addr.h"
#include "signer/hex.h"
#include "signer/keccak.h"
#include "signer/signer.h"
#include "signer/tx.h"
#include "tests/test.h"

/* floor(n / 2) of secp256k1, big-endian. */
static const uint8_t half_n[32] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d,
	0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
};
#define N_HEX "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
#define ONE_HEX "0000000000000000000000000000000000000000000000000000000000000001"
#define ONE_ADDR "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The signer's address as EIP-55 text, or "" without a key. */
static void addr_text(const signer_t *s, char out[ADDR_TEXT_LEN])
{
	addr_t a;

	out[0] = 0;
	if (signer_address(s, &a) == KERR_OK)
		addr_to_checksum(&a, out);
}

static void test_accounts(void)
{
	size_t i;
	json_t *root = t_load_json("tests/vectors/ethers/accounts.json.gz");
	signer_t *s = NULL;
	int ok = 0, total = 0, invalid = 0;
	static const char *const bad_keys[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		N_HEX,
		"fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364142",
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	};

	CHECK(root != NULL);
	if (!root)
		return;
	CHECK(json_is_array(root));
	CHECK_OK(signer_new(&s));
	if (!s)
		goto out;
	for (i = 0; i < json_array_size(root); i++) {
		const json_t *e = json_array_get(root, i);
		const json_t *pk = json_object_get(e, "privateKey");
		const char *want = json_string_value(json_object_get(e, "address"));
		uint8_t key[32];
		char got[ADDR_TEXT_LEN];
		kerr_t err;

		total++;
		CHECK_OK(hex_decode_exact(key, 32, json_string_value(pk),
					  json_string_length(pk)));
		err = signer_set_key(s, key);
		if (err == KERR_KEY_INVALID) {
			/* None expected (the file has only valid keys), but an
			 * invalid one must be refused, not mapped to an address. */
			invalid++;
			continue;
		}
		CHECK_OK(err);
		addr_text(s, got);
		CHECK_EQ_STR(got, want);
		ok += err == KERR_OK && want && strcmp(got, want) == 0;
	}
	printf("    accounts: %d/%d addresses match (%d invalid keys in the "
	       "file)\n", ok, total, invalid);
	CHECK_EQ_INT(total, 259);
	CHECK_EQ_INT(ok + invalid, total);

	/* Keys outside 1..n-1; a refused key leaves the previous one. */
	{
		uint8_t key[32], one[32];
		char got[ADDR_TEXT_LEN];

		CHECK_OK(hex_decode_exact(one, 32, ONE_HEX, 64));
		CHECK_OK(signer_set_key(s, one));
		for (i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
			CHECK_OK(hex_decode_exact(key, 32, bad_keys[i], 64));
			CHECK_ERR(signer_set_key(s, key), KERR_KEY_INVALID);
		}
		addr_text(s, got);
		CHECK_EQ_STR(got, ONE_ADDR);
		/* n - 1 is the largest valid key. */
		CHECK_OK(hex_decode_exact(key, 32, N_HEX, 64));
		key[31]--;
		CHECK_OK(signer_set_key(s, key));
	}
out:
	signer_free(s);
	json_decref(root);
}

/* ethers' wallets.json: find one by name (its JSON content). */
static json_t *wallets;

static const json_t *wallet(const char *name)
{
	size_t i;

	for (i = 0; i < json_array_size(wallets); i++) {
		const json_t *e = json_array_get(wallets, i);
		if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
			return e;
	}
	return NULL;
}

static void test_wallets(void)
{
	size_t i;
	signer_t *s = NULL;
	int ok = 0, wrong_ok = 0, total = 0, skipped = 0;
	double t0 = now_s();

	CHECK(json_is_array(wallets));
	CHECK_OK(signer_new(&s));
	if (!s)
		return;
	for (i = 0; i < json_array_size(wallets); i++) {
		const json_t *e = json_array_get(wallets, i);
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *type = json_string_value(json_object_get(e, "type"));
		const json_t *c = json_object_get(e, "content");
		const json_t *pwj = json_object_get(e, "password");
		const char *want = json_string_value(json_object_get(e, "address"));
		uint8_t pw[256];
		size_t pwlen;
		char got[ADDR_TEXT_LEN];
		signer_t *fresh = NULL;
		kerr_t err;

		if (strcmp(type, "keystore") != 0) {
			printf("    skipped %s: a %s wallet, not keystore v3\n",
			       name, type);
			skipped++;
			continue;
		}
		total++;
		CHECK_OK(hex_decode(pw, sizeof pw - 1, &pwlen,
				    json_string_value(pwj),
				    json_string_length(pwj)));
		err = signer_load_keystore_json(s, json_string_value(c),
						json_string_length(c), pw, pwlen);
		CHECK_MSG(err == KERR_OK, "%s: %s", name, kerr_name(err));
		addr_text(s, got);
		CHECK_EQ_STR(got, want);
		ok += err == KERR_OK && strcmp(got, want) == 0;

		/* One byte more is a wrong password; the signer stays
		 * without a key. */
		pw[pwlen] = 'x';
		CHECK_OK(signer_new(&fresh));
		err = signer_load_keystore_json(fresh, json_string_value(c),
						json_string_length(c), pw,
						pwlen + 1);
		CHECK_MSG(err == KERR_KEYSTORE_PASSWORD, "%s: wrong password "
			  "gave %s", name, kerr_name(err));
		addr_text(fresh, got);
		CHECK_EQ_STR(got, "");
		wrong_ok += err == KERR_KEYSTORE_PASSWORD;
		signer_free(fresh);
	}
	printf("    keystore wallets: %d/%d decrypt to their address, %d/%d "
	       "refuse a wrong password; %d crowdsale wallets skipped "
	       "(%.1f s)\n", ok, total, wrong_ok, total, skipped,
	       now_s() - t0);
	CHECK_EQ_INT(total, 7);
	CHECK_EQ_INT(ok, total);
	CHECK_EQ_INT(wrong_ok, total);
	signer_free(s);
}

/* A temp file with these bytes and this mode; path into out[64]. */
static void temp_file(char out[64], const void *data, size_t len, mode_t mode)
{
	int fd;

	snprintf(out, 64, "/tmp/keeper-test-XXXXXX");
	fd = mkstemp(out);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, data, len) == (ssize_t)len);
	CHECK(fchmod(fd, mode) == 0);
	close(fd);
}

/* Load text as a key file of the given mode. */
static kerr_t load_key_text(signer_t *s, const char *text, mode_t mode)
{
	char path[64];
	kerr_t err;

	temp_file(path, text, strlen(text), mode);
	err = signer_load_key_file(s, path);
	unlink(path);
	return err;
}

static void test_key_files(void)
{
	signer_t *s = NULL;
	char got[ADDR_TEXT_LEN], path[64];
	static const struct {
		const char *text;
		kerr_t want;
	} cases[] = {
		{ "0x" ONE_HEX "\n", KERR_OK },
		{ "0x" ONE_HEX, KERR_OK },
		{ "0x" ONE_HEX "\r\n", KERR_OK },
		{ ONE_HEX "\n", KERR_KEY_FORMAT },                 /* no 0x */
		{ "0X" ONE_HEX "\n", KERR_KEY_FORMAT },
		{ "0x" ONE_HEX "0\n", KERR_KEY_FORMAT },           /* 65 digits */
		{ "0x000000000000000000000000000000000000000000000000000000000000001\n",
		  KERR_KEY_FORMAT },                               /* 63 digits */
		{ "0x000000000000000000000000000000000000000000000000000000000000000g\n",
		  KERR_KEY_FORMAT },                               /* non-hex */
		{ "0x" ONE_HEX "\n0x" ONE_HEX "\n", KERR_KEY_FORMAT }, /* two keys */
		{ "0x" ONE_HEX "\n\n", KERR_KEY_FORMAT },
		{ "0x" ONE_HEX " \n", KERR_KEY_FORMAT },
		{ " 0x" ONE_HEX "\n", KERR_KEY_FORMAT },
		{ "", KERR_KEY_FORMAT },
		{ "0x0000000000000000000000000000000000000000000000000000000000000000\n",
		  KERR_KEY_INVALID },                              /* zero */
		{ "0x" N_HEX "\n", KERR_KEY_INVALID },             /* n */
	};
	size_t i;

	CHECK_OK(signer_new(&s));
	if (!s)
		return;
	/* Nothing loaded yet: no address. */
	CHECK_ERR(signer_address(s, &(addr_t){ { 0 } }), KERR_ARG);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		signer_t *fresh = NULL;
		kerr_t err;

		CHECK_OK(signer_new(&fresh));
		err = load_key_text(fresh, cases[i].text, 0600);
		CHECK_MSG(err == cases[i].want, "key file case %zu: got %s, "
			  "want %s", i, kerr_name(err), kerr_name(cases[i].want));
		addr_text(fresh, got);
		CHECK_EQ_STR(got, cases[i].want == KERR_OK ? ONE_ADDR : "");
		signer_free(fresh);
	}

	/* Permissions: owner-only passes, any group or other bit fails. */
	CHECK_OK(load_key_text(s, "0x" ONE_HEX "\n", 0400));
	CHECK_ERR(load_key_text(s, "0x" ONE_HEX "\n", 0640), KERR_KEY_PERMS);
	CHECK_ERR(load_key_text(s, "0x" ONE_HEX "\n", 0604), KERR_KEY_PERMS);
	CHECK_ERR(load_key_text(s, "0x" ONE_HEX "\n", 0610), KERR_KEY_PERMS);
	temp_file(path, "x", 1, 0600);
	CHECK_OK(signer_check_secret_perms(path));
	chmod(path, 0640);
	CHECK_ERR(signer_check_secret_perms(path), KERR_KEY_PERMS);
	chmod(path, 0604);
	CHECK_ERR(signer_check_secret_perms(path), KERR_KEY_PERMS);
	unlink(path);
	errno = 0;
	CHECK_ERR(signer_check_secret_perms(path), KERR_IO);
	errno = 0;
	CHECK_ERR(signer_load_key_file(s, path), KERR_IO);
	CHECK_EQ_INT(errno, ENOENT);
	CHECK_ERR(signer_load_key_file(s, "/tmp"), KERR_IO);
	/* The failures above left the key loaded before them. */
	addr_text(s, got);
	CHECK_EQ_STR(got, ONE_ADDR);
	signer_free(s);
}

/* wallet_random3: scrypt with n = 1024, quick enough to load many times. */
static char *random3_json(void)
{
	const json_t *w = wallet("wallet_random3");
	const char *c = w ? json_string_value(json_object_get(w, "content")) : NULL;

	return c ? strdup(c) : NULL;
}

static const char *random3_addr(void)
{
	return json_string_value(json_object_get(wallet("wallet_random3"),
						 "address"));
}

static void test_keystore_files(void)
{
	char *json = random3_json();
	char ks[64], pw[64], got[ADDR_TEXT_LEN];
	static const struct {
		const char *pw;
		mode_t mode;
		kerr_t want;
	} cases[] = {
		{ "foo\n", 0600, KERR_OK },
		{ "foo", 0600, KERR_OK },
		{ "foo\r\n", 0400, KERR_OK },
		{ "foo\n\n", 0600, KERR_KEYSTORE_PASSWORD },
		{ "foo \n", 0600, KERR_KEYSTORE_PASSWORD },
		{ "foo\n", 0644, KERR_KEY_PERMS },
		{ "foo\n", 0604, KERR_KEY_PERMS },
	};
	size_t i;

	CHECK(json != NULL);
	if (!json)
		return;
	/* The keystore itself is encrypted: any mode is fine for it. */
	temp_file(ks, json, strlen(json), 0644);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		signer_t *s = NULL;
		kerr_t err;

		CHECK_OK(signer_new(&s));
		temp_file(pw, cases[i].pw, strlen(cases[i].pw), cases[i].mode);
		err = signer_load_keystore(s, ks, pw);
		CHECK_MSG(err == cases[i].want, "password case %zu: got %s, want "
			  "%s", i, kerr_name(err), kerr_name(cases[i].want));
		addr_text(s, got);
		CHECK_EQ_STR(got, cases[i].want == KERR_OK ? random3_addr() : "");
		unlink(pw);
		signer_free(s);
	}
	{
		signer_t *s = NULL;
		char *big = malloc(SIGNER_MAX_KEYSTORE + 2), bigks[64];
		char *longpw = malloc(SIGNER_MAX_PASSWORD + 3);

		CHECK_OK(signer_new(&s));
		temp_file(pw, "foo\n", 4, 0600);
		errno = 0;
		CHECK_ERR(signer_load_keystore(s, "/tmp/keeper-test-missing.json",
					       pw), KERR_IO);
		CHECK_EQ_INT(errno, ENOENT);
		unlink(pw);
		errno = 0;
		CHECK_ERR(signer_load_keystore(s, ks, pw), KERR_IO);
		CHECK_EQ_INT(errno, ENOENT);
		/* A keystore past the size limit is not read whole. */
		memset(big, ' ', SIGNER_MAX_KEYSTORE + 1);
		memcpy(big, json, strlen(json));
		temp_file(bigks, big, SIGNER_MAX_KEYSTORE + 1, 0600);
		temp_file(pw, "foo\n", 4, 0600);
		CHECK_ERR(signer_load_keystore(s, bigks, pw), KERR_TOO_LONG);
		unlink(bigks);
		/* Exactly at the limit it is read (and, padded with
		 * spaces, is still the same JSON). */
		temp_file(bigks, big, SIGNER_MAX_KEYSTORE, 0600);
		CHECK_OK(signer_load_keystore(s, bigks, pw));
		unlink(bigks);
		unlink(pw);
		/* A password past its limit. */
		memset(longpw, 'a', SIGNER_MAX_PASSWORD + 1);
		longpw[SIGNER_MAX_PASSWORD + 1] = '\n';
		temp_file(pw, longpw, SIGNER_MAX_PASSWORD + 2, 0600);
		CHECK_ERR(signer_load_keystore(s, ks, pw), KERR_TOO_LONG);
		unlink(pw);
		free(big);
		free(longpw);
		signer_free(s);
	}
	unlink(ks);
	free(json);
}

/* Load random3's JSON after edit(root, its crypto object) with password
 * "foo". */
static kerr_t load_edited(void (*edit)(json_t *root, json_t *crypto))
{
	char *text = random3_json(), *out;
	json_t *root = json_loads(text, 0, NULL);
	signer_t *s = NULL;
	kerr_t err;

	free(text);
	/* random3 spells it "Crypto"; the edits work on "crypto" (and
	 * e_capital turns it back). */
	json_object_set(root, "crypto", json_object_get(root, "Crypto"));
	json_object_del(root, "Crypto");
	edit(root, json_object_get(root, "crypto"));
	out = json_dumps(root, 0);
	json_decref(root);
	if (signer_new(&s) != KERR_OK)
		return KERR_NOMEM;
	err = signer_load_keystore_json(s, out, strlen(out),
					(const uint8_t *)"foo", 3);
	free(out);
	signer_free(s);
	return err;
}

#define KP(c) json_object_get((c), "kdfparams")
static void e_none(json_t *r, json_t *c) { (void)r; (void)c; }
static void e_no_mac(json_t *r, json_t *c) { (void)r; json_object_del(c, "mac"); }
static void e_iv15(json_t *r, json_t *c)
{
	(void)r;
	json_object_set_new(json_object_get(c, "cipherparams"), "iv",
			    json_string("deadbeef1deadbeef2deadbeef3012"));
}
static void e_ct31(json_t *r, json_t *c)
{
	(void)r;
	json_object_set_new(c, "ciphertext", json_string(
		"cea502df4b9405fa2b6d8d19ec4e2953c5ce08e0e01d4c0292512ce62baef8"));
}
static void e_cbc(json_t *r, json_t *c) { (void)r; json_object_set_new(c, "cipher", json_string("aes-128-cbc")); }
static void e_argon(json_t *r, json_t *c) { (void)r; json_object_set_new(c, "kdf", json_string("argon2id")); }
static void e_n_big(json_t *r, json_t *c) { (void)r; json_object_set_new(KP(c), "n", json_integer(1 << 21)); }
static void e_n_odd(json_t *r, json_t *c) { (void)r; json_object_set_new(KP(c), "n", json_integer(1000)); }
static void e_n_one(json_t *r, json_t *c) { (void)r; json_object_set_new(KP(c), "n", json_integer(1)); }
static void e_n_str(json_t *r, json_t *c) { (void)r; json_object_set_new(KP(c), "n", json_string("1024")); }
static void e_r_big(json_t *r, json_t *c) { (void)r; json_object_set_new(KP(c), "r", json_integer(1 << 20)); }
static void e_p_big(json_t *r, json_t *c) { (void)r; json_object_set_new(KP(c), "p", json_integer(1 << 20)); }
static void e_p_neg(json_t *r, json_t *c) { (void)r; json_object_set_new(KP(c), "p", json_integer(-1)); }
static void e_dklen(json_t *r, json_t *c) { (void)r; json_object_set_new(KP(c), "dklen", json_integer(64)); }
static void e_salt0(json_t *r, json_t *c) { (void)r; json_object_set_new(KP(c), "salt", json_string("")); }
static void e_salt_bad(json_t *r, json_t *c) { (void)r; json_object_set_new(KP(c), "salt", json_string("zz")); }
static void e_version(json_t *r, json_t *c) { (void)c; json_object_set_new(r, "version", json_integer(2)); }
static void e_no_crypto(json_t *r, json_t *c) { (void)c; json_object_del(r, "crypto"); }
static void e_addr(json_t *r, json_t *c)
{
	(void)c;
	json_object_set_new(r, "address", json_string(
		"17c5185167401ed00cf5f5b2fc97d9bbfdb7d026"));
}
static void e_addr_bad(json_t *r, json_t *c) { (void)c; json_object_set_new(r, "address", json_string("17c5")); }
static void e_no_addr(json_t *r, json_t *c) { (void)c; json_object_del(r, "address"); }
static void e_tamper(json_t *r, json_t *c)
{
	(void)r;
	json_object_set_new(c, "ciphertext", json_string(
		"cea502df4b9405fa2b6d8d19ec4e2953c5ce08e0e01d4c0292512ce62baef8f4"));
}
static void e_capital(json_t *r, json_t *c)
{
	json_incref(c);
	json_object_del(r, "crypto");
	json_object_set_new(r, "Crypto", c);
}
/* pbkdf2 in place of scrypt (the MAC then fails: the KDF is checked, not
 * the password). */
static void e_pbkdf2(json_t *r, json_t *c, const char *prf, json_int_t iters)
{
	json_t *kp = json_object();

	(void)r;
	json_object_set_new(kp, "c", json_integer(iters));
	json_object_set_new(kp, "dklen", json_integer(32));
	json_object_set_new(kp, "prf", json_string(prf));
	json_object_set_new(kp, "salt", json_string("abcd1abcd2abcd3abcd4abcd5abcd6ef"));
	json_object_set_new(c, "kdf", json_string("pbkdf2"));
	json_object_set_new(c, "kdfparams", kp);
}
static void e_sha512(json_t *r, json_t *c) { e_pbkdf2(r, c, "hmac-sha512", 1000); }
static void e_c0(json_t *r, json_t *c) { e_pbkdf2(r, c, "hmac-sha256", 0); }
static void e_c_big(json_t *r, json_t *c) { e_pbkdf2(r, c, "hmac-sha256", 20000000); }
static void e_c_ok(json_t *r, json_t *c) { e_pbkdf2(r, c, "hmac-sha256", 1000); }

static void test_keystore_malformed(void)
{
	static const struct {
		const char *what;
		void (*edit)(json_t *, json_t *);
		kerr_t want;
	} cases[] = {
		{ "unchanged", e_none, KERR_OK },
		{ "\"Crypto\" for \"crypto\"", e_capital, KERR_OK },
		{ "no address", e_no_addr, KERR_OK },
		{ "missing mac", e_no_mac, KERR_KEYSTORE_FORMAT },
		{ "iv of 15 bytes", e_iv15, KERR_KEYSTORE_FORMAT },
		{ "ciphertext of 31 bytes", e_ct31, KERR_KEYSTORE_FORMAT },
		{ "cipher aes-128-cbc", e_cbc, KERR_KEYSTORE_CIPHER },
		{ "kdf argon2id", e_argon, KERR_KEYSTORE_KDF },
		{ "scrypt n = 2^21", e_n_big, KERR_KEYSTORE_KDF },
		{ "scrypt n = 1000", e_n_odd, KERR_KEYSTORE_KDF },
		{ "scrypt n = 1", e_n_one, KERR_KEYSTORE_KDF },
		{ "scrypt n as a string", e_n_str, KERR_KEYSTORE_FORMAT },
		{ "scrypt r = 2^20", e_r_big, KERR_KEYSTORE_KDF },
		{ "scrypt p = 2^20", e_p_big, KERR_KEYSTORE_KDF },
		{ "scrypt p = -1", e_p_neg, KERR_KEYSTORE_KDF },
		{ "dklen 64", e_dklen, KERR_KEYSTORE_KDF },
		{ "empty salt", e_salt0, KERR_KEYSTORE_KDF },
		{ "non-hex salt", e_salt_bad, KERR_KEYSTORE_FORMAT },
		{ "version 2", e_version, KERR_KEYSTORE_FORMAT },
		{ "no crypto", e_no_crypto, KERR_KEYSTORE_FORMAT },
		{ "address of another key", e_addr, KERR_KEYSTORE_FORMAT },
		{ "address too short", e_addr_bad, KERR_KEYSTORE_FORMAT },
		{ "ciphertext tampered", e_tamper, KERR_KEYSTORE_PASSWORD },
		{ "pbkdf2 hmac-sha512", e_sha512, KERR_KEYSTORE_KDF },
		{ "pbkdf2 c = 0", e_c0, KERR_KEYSTORE_KDF },
		{ "pbkdf2 c = 2e7", e_c_big, KERR_KEYSTORE_KDF },
		{ "pbkdf2 with the scrypt MAC", e_c_ok, KERR_KEYSTORE_PASSWORD },
	};
	static const char *const not_json[] = {
		"", "{", "[]", "{\"version\":3,\"version\":3}", "null",
	};
	signer_t *s = NULL;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		kerr_t err = load_edited(cases[i].edit);
		CHECK_MSG(err == cases[i].want, "%s: got %s, want %s",
			  cases[i].what, kerr_name(err), kerr_name(cases[i].want));
	}
	CHECK_OK(signer_new(&s));
	for (i = 0; i < sizeof not_json / sizeof not_json[0]; i++)
		CHECK_ERR(signer_load_keystore_json(s, not_json[i],
						    strlen(not_json[i]),
						    (const uint8_t *)"foo", 3),
			  KERR_KEYSTORE_FORMAT);
	CHECK_ERR(signer_load_keystore_json(s, "{}", SIGNER_MAX_KEYSTORE + 1,
					    (const uint8_t *)"foo", 3),
		  KERR_TOO_LONG);
	signer_free(s);
}

static void test_sign_hash(void)
{
	uint8_t key[32], hash[32], seed[4], compact[64], ser[65], raw[256],
		txh[32], h2[32];
	secp256k1_ecdsa_recoverable_signature rs;
	secp256k1_pubkey pub;
	signer_t *s = NULL;
	tx_sig_t sig, sig2;
	addr_t who, from;
	size_t n, len;
	int i, low = 0, recovered = 0, parity[2] = { 0, 0 };
	tx_t tx;

	CHECK_OK(signer_new(&s));
	if (!s)
		return;
	memset(hash, 0, sizeof hash);
	CHECK_ERR(signer_sign_hash(s, hash, &sig), KERR_ARG);   /* no key */
	keccak256(key, (const uint8_t *)"keeper test key", 15);
	CHECK_OK(signer_set_key(s, key));
	CHECK_OK(signer_address(s, &who));
	for (i = 0; i < 200; i++) {
		seed[0] = (uint8_t)i;
		seed[1] = (uint8_t)(i >> 8);
		seed[2] = seed[3] = 0x5a;
		keccak256(hash, seed, sizeof seed);
		CHECK_OK(signer_sign_hash(s, hash, &sig));
		low += memcmp(sig.s, half_n, 32) <= 0;
		parity[sig.recid & 1]++;
		memcpy(compact, sig.r, 32);
		memcpy(compact + 32, sig.s, 32);
		n = sizeof ser;
		if (secp256k1_ecdsa_recoverable_signature_parse_compact(
			    secp256k1_context_static, &rs, compact, sig.recid) &&
		    secp256k1_ecdsa_recover(secp256k1_context_static, &pub, &rs,
					    hash) &&
		    secp256k1_ec_pubkey_serialize(secp256k1_context_static, ser,
						  &n, &pub,
						  SECP256K1_EC_UNCOMPRESSED)) {
			addr_from_pubkey(&from, ser + 1);
			recovered += addr_eq(&from, &who);
		}
		/* RFC 6979: the same hash gives the same signature. */
		CHECK_OK(signer_sign_hash(s, hash, &sig2));
		CHECK(memcmp(&sig, &sig2, sizeof sig) == 0);
	}
	printf("    200 signatures: %d low-s, %d recover to the signer, "
	       "recid 0/1: %d/%d\n", low, recovered, parity[0], parity[1]);
	CHECK_EQ_INT(low, 200);
	CHECK_EQ_INT(recovered, 200);
	/* Both parities occur, so recid is not a constant. */
	CHECK(parity[0] > 0 && parity[1] > 0);

	/* signer_sign_tx: the hash it returns is keccak of the raw bytes,
	 * and the raw bytes recover to the signer. */
	memset(&tx, 0, sizeof tx);
	tx.type = TX_EIP1559;
	tx.chain_id = 1;
	tx.gas_limit = 50000;
	tx.has_to = true;
	CHECK_OK(signer_sign_tx(s, &tx, raw, sizeof raw, &len, txh));
	tx_hash(raw, len, h2);
	CHECK_EQ_MEM(txh, h2, 32);
	CHECK_OK(tx_sender(raw, len, &from));
	CHECK(addr_eq(&from, &who));
	signer_free(s);
	signer_free(NULL);
}

/* A restricted signer signs calls to its (to, selector) pairs and nothing
 * else, whatever else it is handed. */
static void test_restrict(void)
{
	static const uint8_t sel[2][4] = { { 0x84, 0x56, 0xcb, 0x59 },    /* pause() */
					   { 0xbc, 0xba, 0xf4, 0x87 } };  /* liquidate(...) */
	uint8_t key[32], raw[512], data[68], hash[32], msg[65];
	addr_t to[2], other;
	signer_t *s = NULL;
	tx_sig_t sig;
	size_t len;
	tx_t tx;

	CHECK_OK(signer_new(&s));
	if (!s)
		return;
	keccak256(key, (const uint8_t *)"keeper test key", 15);
	CHECK_OK(signer_set_key(s, key));
	memset(&to[0], 0x11, sizeof to[0]);
	memset(&to[1], 0x22, sizeof to[1]);
	memset(&other, 0x33, sizeof other);
	memset(data, 0, sizeof data);
	memset(&tx, 0, sizeof tx);
	tx.type = TX_EIP1559;
	tx.chain_id = 1;
	tx.gas_limit = 100000;
	tx.has_to = true;
	tx.data = data;
	/* Unrestricted (keeper sign): anything. */
	tx.to = other;
	CHECK_OK(signer_sign_tx(s, &tx, raw, sizeof raw, &len, NULL));
	CHECK_OK(signer_restrict(s, to, sel, 2));
	/* The pairs, with any arguments. */
	tx.to = to[0];
	memcpy(data, sel[0], 4);
	tx.data_len = 4;
	CHECK_OK(signer_sign_tx(s, &tx, raw, sizeof raw, &len, NULL));
	tx.to = to[1];
	memcpy(data, sel[1], 4);
	data[35] = 7;
	tx.data_len = 68;
	CHECK_OK(signer_sign_tx(s, &tx, raw, sizeof raw, &len, NULL));
	/* A configured selector at the other contract; another contract; a
	 * selector cut short; no data; a creation; a bare hash. */
	tx.to = to[0];
	CHECK_ERR(signer_sign_tx(s, &tx, raw, sizeof raw, &len, NULL), KERR_SIGNER_TARGET);
	tx.to = other;
	memcpy(data, sel[0], 4);
	CHECK_ERR(signer_sign_tx(s, &tx, raw, sizeof raw, &len, NULL), KERR_SIGNER_TARGET);
	tx.to = to[0];
	tx.data_len = 3;
	CHECK_ERR(signer_sign_tx(s, &tx, raw, sizeof raw, &len, NULL), KERR_SIGNER_TARGET);
	tx.data_len = 0;
	CHECK_ERR(signer_sign_tx(s, &tx, raw, sizeof raw, &len, NULL), KERR_SIGNER_TARGET);
	tx.data_len = 4;
	tx.has_to = false;
	CHECK_ERR(signer_sign_tx(s, &tx, raw, sizeof raw, &len, NULL), KERR_SIGNER_TARGET);
	memset(hash, 0x5a, sizeof hash);
	CHECK_ERR(signer_sign_hash(s, hash, &sig), KERR_SIGNER_TARGET);
	/* For good: no second list; messages (EIP-191) still sign. */
	CHECK_ERR(signer_restrict(s, &other, sel, 1), KERR_SIGNER_TARGET);
	CHECK_OK(signer_sign_message(s, (const uint8_t *)"x", 1, msg));
	signer_free(s);

	/* An empty list: nothing at all; too many pairs: refused. */
	CHECK_OK(signer_new(&s));
	if (!s)
		return;
	CHECK_OK(signer_set_key(s, key));
	CHECK_ERR(signer_restrict(s, to, sel, SIGNER_MAX_TARGETS + 1), KERR_TOO_LONG);
	CHECK_OK(signer_restrict(s, NULL, NULL, 0));
	tx.has_to = true;
	CHECK_ERR(signer_sign_tx(s, &tx, raw, sizeof raw, &len, NULL), KERR_SIGNER_TARGET);
	signer_free(s);
}

int main(void)
{
	wallets = t_load_json("tests/vectors/ethers/wallets.json.gz");
	RUN(test_accounts);
	RUN(test_wallets);
	RUN(test_key_files);
	RUN(test_keystore_files);
	RUN(test_keystore_malformed);
	RUN(test_sign_hash);
	RUN(test_restrict);
	json_decref(wallets);
	return t_done();
}
