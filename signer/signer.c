/*
 * signer: the one object that holds the private key, and the code that
 * loads it from a key file or a Web3 Secret Storage v3 keystore.
 *
 * Every buffer that ever holds key material (file text, derived keys,
 * decrypted plaintext, passwords) lives on this file's stack frames and is
 * wiped before the function returns, on the error paths too.  The signer
 * itself sits in its own anonymous mapping, locked in memory when the
 * system allows and kept out of core dumps, so the key is neither swapped
 * out nor written to disk by a crash.
 *
 * A signature is not re-verified before it leaves: recovery costs as much as
 * signing, and signing is the whole budget of the trip-to-wire path (the
 * tests recover every signature they make instead).
 */
#include "signer/signer.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "signer/hex.h"
#include "signer/keccak.h"

/* "0x" + 64 digits + "\r\n": the longest key file we accept. */
#define KEY_FILE_MAX 68

/*
 * KDF limits.  Real keystores use scrypt n = 2^18 (geth, ethers) or 2^20
 * ("strong"), r = 8, p = 1, or pbkdf2 with c up to a few million; anything
 * beyond these bounds is a file built to exhaust memory or time.
 */
#define SCRYPT_MAX_N (1u << 20)
#define SCRYPT_MAX_MEM ((uint64_t)1 << 30)    /* 128 * r * n bytes */
#define SCRYPT_MAX_WORK ((uint64_t)1 << 24)   /* n * r * p */
#define PBKDF2_MAX_C 10000000
#define SALT_MIN 8
#define SALT_MAX 256

typedef struct {
	addr_t to;
	uint8_t selector[4];
} target_t;

struct signer {
	secp256k1_context *ctx;
	uint8_t key[32];
	addr_t addr;
	bool has_key;
	size_t map_len;
	bool restricted;
	size_t ntargets;
	target_t targets[SIGNER_MAX_TARGETS];
};

typedef struct {
	uint8_t iv[16];
	uint8_t ciphertext[32];
	uint8_t mac[32];
	uint8_t salt[SALT_MAX];
	size_t salt_len;
	bool scrypt;            /* else pbkdf2-hmac-sha256 */
	uint64_t n, r, p;       /* scrypt */
	uint64_t c;             /* pbkdf2 */
	bool has_addr;
	addr_t addr;
} keystore_t;

static void wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

static signer_t *alloc_signer(void)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = sizeof(signer_t);
	signer_t *s;
	void *p;

	if (page > 0)
		len = (len + (size_t)page - 1) / (size_t)page * (size_t)page;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Both are hardening, not correctness: without them (a low
	 * RLIMIT_MEMLOCK, a kernel without MADV_DONTDUMP) the signer still
	 * works and still wipes the key. */
	(void)mlock(p, len);
#ifdef MADV_DONTDUMP
	(void)madvise(p, len, MADV_DONTDUMP);
#endif
	s = p;
	memset(s, 0, sizeof *s);
	s->map_len = len;
	return s;
}

static kerr_t os_random(uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return KERR_CRYPTO;
		}
		got += (size_t)r;
	}
	return KERR_OK;
}

kerr_t signer_new(signer_t **out)
{
	uint8_t seed[32];
	signer_t *s;
	kerr_t err;

	if (!out)
		return KERR_ARG;
	*out = NULL;
	s = alloc_signer();
	if (!s)
		return KERR_NOMEM;
	s->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (!s->ctx) {
		signer_free(s);
		return KERR_NOMEM;
	}
	/* Blinding against timing and power side channels while signing. */
	err = os_random(seed, sizeof seed);
	if (!err && !secp256k1_context_randomize(s->ctx, seed))
		err = KERR_CRYPTO;
	wipe(seed, sizeof seed);
	if (err) {
		signer_free(s);
		return err;
	}
	*out = s;
	return KERR_OK;
}

void signer_free(signer_t *s)
{
	size_t len;

	if (!s)
		return;
	if (s->ctx)
		secp256k1_context_destroy(s->ctx);
	len = s->map_len;
	wipe(s, len);
	(void)munlock(s, len);
	munmap(s, len);
}

/* The address of key, which must be a valid secret key. */
static kerr_t key_address(const secp256k1_context *ctx, const uint8_t key[32],
			  addr_t *a)
{
	secp256k1_pubkey pub;
	uint8_t ser[65];
	size_t n = sizeof ser;

	if (!secp256k1_ec_seckey_verify(ctx, key) ||
	    !secp256k1_ec_pubkey_create(ctx, &pub, key))
		return KERR_KEY_INVALID;
	if (!secp256k1_ec_pubkey_serialize(ctx, ser, &n, &pub,
					   SECP256K1_EC_UNCOMPRESSED) ||
	    n != sizeof ser)
		return KERR_CRYPTO;
	addr_from_pubkey(a, ser + 1);
	return KERR_OK;
}

kerr_t signer_set_key(signer_t *s, const uint8_t key[32])
{
	addr_t a;
	kerr_t err;

	if (!s || !key)
		return KERR_ARG;
	/* On failure the signer keeps whatever key it had. */
	err = key_address(s->ctx, key, &a);
	if (err)
		return err;
	memcpy(s->key, key, sizeof s->key);
	s->addr = a;
	s->has_key = true;
	return KERR_OK;
}

kerr_t signer_address(const signer_t *s, addr_t *a)
{
	if (!s || !a || !s->has_key)
		return KERR_ARG;
	*a = s->addr;
	return KERR_OK;
}

static kerr_t check_mode(mode_t mode)
{
	return (mode & 077) ? KERR_KEY_PERMS : KERR_OK;
}

kerr_t signer_check_secret_perms(const char *path)
{
	struct stat st;

	if (!path)
		return KERR_ARG;
	if (stat(path, &st) != 0)
		return KERR_IO;
	return check_mode(st.st_mode);
}

/*
 * Read a whole regular file of at most cap bytes into buf.  For a secret,
 * the permission check is made on the descriptor that is read, so the file
 * cannot be swapped between check and read.  The caller wipes buf whatever
 * the result: a failed read may leave part of a secret in it.
 */
static kerr_t read_file(const char *path, bool secret, uint8_t *buf,
			size_t cap, size_t *len)
{
	struct stat st;
	size_t n = 0;
	kerr_t err = KERR_OK;
	int fd, saved;

	/* O_NONBLOCK: a FIFO in place of the file must not hang us; it is
	 * refused below as not a regular file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return KERR_IO;
	if (fstat(fd, &st) != 0) {
		err = KERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		err = KERR_IO;
		goto out;
	}
	if (secret && (err = check_mode(st.st_mode)) != KERR_OK)
		goto out;
	for (;;) {
		uint8_t extra;
		ssize_t r;

		/* At the limit, one more byte tells "exactly cap" from
		 * "longer than cap". */
		if (n == cap)
			r = read(fd, &extra, 1);
		else
			r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = KERR_IO;
			break;
		}
		if (r == 0)
			break;
		if (n == cap) {
			wipe(&extra, sizeof extra);
			err = KERR_TOO_LONG;
			break;
		}
		n += (size_t)r;
	}
	*len = n;
out:
	saved = errno;
	close(fd);
	errno = saved;
	return err;
}

/* Exactly "0x" + 64 hex digits, then at most one "\n" or "\r\n". */
static kerr_t parse_key_text(const char *t, size_t len, uint8_t key[32])
{
	if (len > 0 && t[len - 1] == '\n') {
		len--;
		if (len > 0 && t[len - 1] == '\r')
			len--;
	}
	if (len != 66 || t[0] != '0' || t[1] != 'x')
		return KERR_KEY_FORMAT;
	if (hex_decode_exact(key, 32, t + 2, 64) != KERR_OK)
		return KERR_KEY_FORMAT;
	return KERR_OK;
}

kerr_t signer_load_key_file(signer_t *s, const char *path)
{
	uint8_t buf[KEY_FILE_MAX], key[32];
	size_t len = 0;
	kerr_t err;

	if (!s || !path)
		return KERR_ARG;
	err = read_file(path, true, buf, sizeof buf, &len);
	if (err == KERR_TOO_LONG)
		err = KERR_KEY_FORMAT;
	if (!err)
		err = parse_key_text((const char *)buf, len, key);
	if (!err)
		err = signer_set_key(s, key);
	wipe(buf, sizeof buf);
	wipe(key, sizeof key);
	return err;
}

/* A fixed-size hex field of the keystore ("0x" tolerated). */
static kerr_t ks_hex(const json_t *obj, const char *name, uint8_t *out,
		     size_t n)
{
	const json_t *v = json_object_get(obj, name);

	if (!json_is_string(v) ||
	    hex_decode_exact(out, n, json_string_value(v),
			     json_string_length(v)) != KERR_OK)
		return KERR_KEYSTORE_FORMAT;
	return KERR_OK;
}

/* A positive integer KDF parameter: missing or not an integer is a format
 * error, outside 1..max an unsafe parameter. */
static kerr_t ks_uint(const json_t *obj, const char *name, uint64_t max,
		      uint64_t *out)
{
	const json_t *v = json_object_get(obj, name);
	json_int_t i;

	if (!json_is_integer(v))
		return KERR_KEYSTORE_FORMAT;
	i = json_integer_value(v);
	if (i < 1 || (uint64_t)i > max)
		return KERR_KEYSTORE_KDF;
	*out = (uint64_t)i;
	return KERR_OK;
}

static kerr_t ks_scrypt_params(const json_t *kp, keystore_t *ks)
{
	kerr_t err;

	if ((err = ks_uint(kp, "n", SCRYPT_MAX_N, &ks->n)) ||
	    (err = ks_uint(kp, "r", SCRYPT_MAX_MEM, &ks->r)) ||
	    (err = ks_uint(kp, "p", SCRYPT_MAX_WORK, &ks->p)))
		return err;
	/* Checked in this order, no product passes 64 bits: n <= 2^20 and
	 * r <= 2^30 bound the first, which then bounds n * r by 2^23. */
	if (ks->n < 2 || (ks->n & (ks->n - 1)) != 0 ||
	    128 * ks->r * ks->n > SCRYPT_MAX_MEM ||
	    ks->n * ks->r * ks->p > SCRYPT_MAX_WORK)
		return KERR_KEYSTORE_KDF;
	return KERR_OK;
}

/* Pull every field out of the JSON and check it before any KDF work. */
static kerr_t ks_parse(const json_t *root, keystore_t *ks)
{
	const json_t *crypto, *v, *cp, *kp;
	const char *kdf;
	kerr_t err;

	if (!json_is_object(root))
		return KERR_KEYSTORE_FORMAT;
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 3)
		return KERR_KEYSTORE_FORMAT;
	/* geth writes "crypto"; some older tools wrote "Crypto". */
	crypto = json_object_get(root, "crypto");
	if (!crypto)
		crypto = json_object_get(root, "Crypto");
	if (!json_is_object(crypto))
		return KERR_KEYSTORE_FORMAT;

	v = json_object_get(crypto, "cipher");
	if (!json_is_string(v))
		return KERR_KEYSTORE_FORMAT;
	if (strcmp(json_string_value(v), "aes-128-ctr") != 0)
		return KERR_KEYSTORE_CIPHER;
	cp = json_object_get(crypto, "cipherparams");
	if (!json_is_object(cp))
		return KERR_KEYSTORE_FORMAT;
	if ((err = ks_hex(cp, "iv", ks->iv, sizeof ks->iv)) ||
	    (err = ks_hex(crypto, "ciphertext", ks->ciphertext,
			  sizeof ks->ciphertext)) ||
	    (err = ks_hex(crypto, "mac", ks->mac, sizeof ks->mac)))
		return err;

	v = json_object_get(crypto, "kdf");
	if (!json_is_string(v))
		return KERR_KEYSTORE_FORMAT;
	kdf = json_string_value(v);
	kp = json_object_get(crypto, "kdfparams");
	if (!json_is_object(kp))
		return KERR_KEYSTORE_FORMAT;
	v = json_object_get(kp, "dklen");
	if (!json_is_integer(v))
		return KERR_KEYSTORE_FORMAT;
	if (json_integer_value(v) != 32)
		return KERR_KEYSTORE_KDF;
	v = json_object_get(kp, "salt");
	if (!json_is_string(v))
		return KERR_KEYSTORE_FORMAT;
	err = hex_decode(ks->salt, sizeof ks->salt, &ks->salt_len,
			 json_string_value(v), json_string_length(v));
	if (err == KERR_TOO_LONG)
		return KERR_KEYSTORE_KDF;
	if (err)
		return KERR_KEYSTORE_FORMAT;
	if (ks->salt_len < SALT_MIN)
		return KERR_KEYSTORE_KDF;

	if (strcmp(kdf, "scrypt") == 0) {
		ks->scrypt = true;
		err = ks_scrypt_params(kp, ks);
	} else if (strcmp(kdf, "pbkdf2") == 0) {
		ks->scrypt = false;
		v = json_object_get(kp, "prf");
		if (!json_is_string(v))
			return KERR_KEYSTORE_FORMAT;
		if (strcmp(json_string_value(v), "hmac-sha256") != 0)
			return KERR_KEYSTORE_KDF;
		err = ks_uint(kp, "c", PBKDF2_MAX_C, &ks->c);
	} else {
		return KERR_KEYSTORE_KDF;
	}
	if (err)
		return err;

	/* The address is optional; when present it must be the key's. */
	v = json_object_get(root, "address");
	if (v) {
		if (!json_is_string(v) ||
		    hex_decode_exact(ks->addr.b, sizeof ks->addr.b,
				     json_string_value(v),
				     json_string_length(v)) != KERR_OK)
			return KERR_KEYSTORE_FORMAT;
		ks->has_addr = true;
	}
	return KERR_OK;
}

static kerr_t ks_derive(const keystore_t *ks, const uint8_t *pw, size_t pwlen,
			uint8_t dk[32])
{
	/* OpenSSL wants a non-NULL pointer even for an empty password. */
	const char *pass = pwlen ? (const char *)pw : "";

	if (ks->scrypt) {
		/* What OpenSSL allocates: B (128 r p) and V (128 r (n + 2)). */
		uint64_t maxmem = 128 * ks->r * (ks->n + ks->p + 2) + 65536;

		if (EVP_PBE_scrypt(pass, pwlen, ks->salt, ks->salt_len, ks->n,
				   ks->r, ks->p, maxmem, dk, 32) != 1)
			return KERR_CRYPTO;
		return KERR_OK;
	}
	if (PKCS5_PBKDF2_HMAC(pass, (int)pwlen, ks->salt, (int)ks->salt_len,
			      (int)ks->c, EVP_sha256(), 32, dk) != 1)
		return KERR_CRYPTO;
	return KERR_OK;
}

static kerr_t ks_decrypt(const keystore_t *ks, const uint8_t dk[32],
			 uint8_t plain[32])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0, finl = 0, ok;

	if (!c)
		return KERR_NOMEM;
	ok = EVP_DecryptInit_ex(c, EVP_aes_128_ctr(), NULL, dk, ks->iv) == 1 &&
	     EVP_DecryptUpdate(c, plain, &outl, ks->ciphertext,
			       (int)sizeof ks->ciphertext) == 1 &&
	     EVP_DecryptFinal_ex(c, plain + outl, &finl) == 1 &&
	     outl + finl == 32;
	/* Frees and cleanses the expanded AES key schedule. */
	EVP_CIPHER_CTX_free(c);
	return ok ? KERR_OK : KERR_CRYPTO;
}

kerr_t signer_load_keystore_json(signer_t *s, const char *json, size_t len,
				 const uint8_t *pw, size_t pwlen)
{
	uint8_t dk[32], mac[32], plain[32];
	keystore_t ks;
	keccak_ctx_t kc;
	json_error_t jerr;
	json_t *root;
	addr_t a;
	kerr_t err;

	if (!s || !json || (!pw && pwlen))
		return KERR_ARG;
	if (len > SIGNER_MAX_KEYSTORE || pwlen > SIGNER_MAX_PASSWORD)
		return KERR_TOO_LONG;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return KERR_KEYSTORE_FORMAT;
	memset(&ks, 0, sizeof ks);
	err = ks_parse(root, &ks);
	json_decref(root);
	if (err)
		return err;

	err = ks_derive(&ks, pw, pwlen, dk);
	if (!err) {
		/* The MAC is checked before decrypting, so a wrong password
		 * is reported as such and never yields a wrong key. */
		keccak_init(&kc);
		keccak_update(&kc, dk + 16, 16);
		keccak_update(&kc, ks.ciphertext, sizeof ks.ciphertext);
		keccak_final(&kc, mac);
		if (CRYPTO_memcmp(mac, ks.mac, sizeof mac) != 0)
			err = KERR_KEYSTORE_PASSWORD;
	}
	if (!err)
		err = ks_decrypt(&ks, dk, plain);
	if (!err)
		err = key_address(s->ctx, plain, &a);
	/* geth refuses a keystore whose address is not its key's: the file
	 * was edited or mixed up, and the operator expects that address. */
	if (!err && ks.has_addr && !addr_eq(&a, &ks.addr))
		err = KERR_KEYSTORE_FORMAT;
	if (!err) {
		memcpy(s->key, plain, sizeof s->key);
		s->addr = a;
		s->has_key = true;
	}
	wipe(dk, sizeof dk);
	wipe(mac, sizeof mac);
	wipe(plain, sizeof plain);
	wipe(&kc, sizeof kc);
	return err;
}

kerr_t signer_load_keystore(signer_t *s, const char *path,
			    const char *password_path)
{
	uint8_t pw[SIGNER_MAX_PASSWORD + 2];
	size_t jlen = 0, pwlen = 0;
	uint8_t *json;
	kerr_t err;
	int saved;

	if (!s || !path || !password_path)
		return KERR_ARG;
	json = malloc(SIGNER_MAX_KEYSTORE);
	if (!json)
		return KERR_NOMEM;
	err = read_file(path, false, json, SIGNER_MAX_KEYSTORE, &jlen);
	if (!err)
		err = read_file(password_path, true, pw, sizeof pw, &pwlen);
	if (!err) {
		/* The newline an editor or `echo` adds is not part of the
		 * password; nor is the CR of a CRLF line end. */
		if (pwlen > 0 && pw[pwlen - 1] == '\n') {
			pwlen--;
			if (pwlen > 0 && pw[pwlen - 1] == '\r')
				pwlen--;
		}
		err = signer_load_keystore_json(s, (const char *)json, jlen,
						pw, pwlen);
	}
	/* Callers report KERR_IO with errno; cleaning up must not lose it. */
	saved = errno;
	wipe(pw, sizeof pw);
	free(json);
	errno = saved;
	return err;
}

/* The signature itself, for every signing entry point. */
static kerr_t sign_digest(const signer_t *s, const uint8_t hash[32],
			  tx_sig_t *sig)
{
	secp256k1_ecdsa_recoverable_signature rs;
	uint8_t compact[64];
	int recid;

	if (!s || !hash || !sig || !s->has_key)
		return KERR_ARG;
	/* NULL nonce function: RFC 6979; libsecp256k1 always emits low s. */
	if (!secp256k1_ecdsa_sign_recoverable(s->ctx, &rs, hash, s->key, NULL,
					      NULL) ||
	    !secp256k1_ecdsa_recoverable_signature_serialize_compact(
		    s->ctx, compact, &recid, &rs))
		return KERR_CRYPTO;
	/* recid 2 or 3 (r overflowed n; probability ~2^-127) has no v in
	 * Ethereum; treat it as the failure it practically is. */
	if (recid != 0 && recid != 1)
		return KERR_CRYPTO;
	memcpy(sig->r, compact, 32);
	memcpy(sig->s, compact + 32, 32);
	sig->recid = recid;
	return KERR_OK;
}

kerr_t signer_sign_hash(const signer_t *s, const uint8_t hash[32],
			tx_sig_t *sig)
{
	if (!s)
		return KERR_ARG;
	/* A bare hash could be any transaction's signing hash: a restricted
	 * signer signs only what it can check. */
	if (s->restricted)
		return KERR_SIGNER_TARGET;
	return sign_digest(s, hash, sig);
}

kerr_t signer_restrict(signer_t *s, const addr_t *to,
		       const uint8_t (*selectors)[4], size_t n)
{
	size_t i;

	if (!s || (n && (!to || !selectors)))
		return KERR_ARG;
	if (s->restricted)
		return KERR_SIGNER_TARGET;
	if (n > SIGNER_MAX_TARGETS)
		return KERR_TOO_LONG;
	for (i = 0; i < n; i++) {
		s->targets[i].to = to[i];
		memcpy(s->targets[i].selector, selectors[i], 4);
	}
	s->ntargets = n;
	s->restricted = true;
	return KERR_OK;
}

/* Whether a restricted signer may sign tx: a call (not a creation, at
 * least a selector) to one of the configured (to, selector) pairs. */
static bool target_allowed(const signer_t *s, const tx_t *tx)
{
	size_t i;

	if (!s->restricted)
		return true;
	if (!tx->has_to || tx->data_len < 4 || !tx->data)
		return false;
	for (i = 0; i < s->ntargets; i++)
		if (memcmp(s->targets[i].to.b, tx->to.b, sizeof tx->to.b) == 0 &&
		    memcmp(s->targets[i].selector, tx->data, 4) == 0)
			return true;
	return false;
}

kerr_t signer_sign_message(const signer_t *s, const uint8_t *msg, size_t len,
			   uint8_t out[65])
{
	/* EIP-191 version 0x45: the prefix makes the digest the hash of a
	 * preimage no transaction encoding can have, which is why a
	 * restricted signer may still sign messages. */
	char prefix[64];
	keccak_ctx_t k;
	uint8_t h[32];
	tx_sig_t sig;
	int n;
	kerr_t err;

	if (!s || !out || (len && !msg))
		return KERR_ARG;
	n = snprintf(prefix, sizeof prefix, "\x19" "Ethereum Signed Message:\n%zu", len);
	keccak_init(&k);
	keccak_update(&k, (const uint8_t *)prefix, (size_t)n);
	keccak_update(&k, msg, len);
	keccak_final(&k, h);
	if ((err = sign_digest(s, h, &sig)) != KERR_OK)
		return err;
	memcpy(out, sig.r, 32);
	memcpy(out + 32, sig.s, 32);
	out[64] = (uint8_t)(27 + sig.recid);
	return KERR_OK;
}

kerr_t signer_sign_tx(const signer_t *s, const tx_t *tx, uint8_t *out,
		      size_t cap, size_t *len, uint8_t hash[32])
{
	uint8_t h[32];
	tx_sig_t sig;
	size_t n;
	kerr_t err;

	if (!s || !tx || !out || !len)
		return KERR_ARG;
	if (!target_allowed(s, tx))
		return KERR_SIGNER_TARGET;
	err = tx_signing_hash(tx, h);
	if (!err)
		err = sign_digest(s, h, &sig);
	if (!err)
		err = tx_encode_signed(tx, &sig, out, cap, &n);
	if (err)
		return err;
	if (hash)
		tx_hash(out, n, hash);
	*len = n;
	return KERR_OK;
}
