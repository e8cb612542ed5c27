/*
 * signer: the only object that holds a private key.
 *
 * A signer_t owns one key and a randomized libsecp256k1 context.  The key is
 * loaded from a key file or a Web3 Secret Storage v3 keystore, kept only
 * inside this object, and wiped on signer_free(); nothing outside signer/
 * ever sees the key bytes, and no function here prints or logs them.
 *
 * Secret files (key files, password files) must not be readable by group or
 * others: loading one that is fails with KERR_KEY_PERMS, like ssh does.
 */
#ifndef SIGNER_SIGNER_H
#define SIGNER_SIGNER_H

#include <stddef.h>
#include <stdint.h>
#include "keeper/kerr.h"
#include "signer/addr.h"
#include "signer/tx.h"

typedef struct signer signer_t;

/* Largest keystore file we read. */
#define SIGNER_MAX_KEYSTORE (64 * 1024)
/* Largest password we read. */
#define SIGNER_MAX_PASSWORD 4096
/* (to, selector) pairs a restricted signer accepts (= CONFIG_MAX_ACTIONS
 * with a guard each, with room to spare). */
#define SIGNER_MAX_TARGETS 256

/*
 * Create a signer without a key: allocates and randomizes the context from
 * the OS random source.  KERR_NOMEM, KERR_CRYPTO.
 */
kerr_t signer_new(signer_t **out);

/* Wipe the key and free everything.  NULL is fine. */
void signer_free(signer_t *s);

/*
 * Load a key file: one "0x" + 64 hex digits, optionally followed by a
 * newline (or CRLF).  KERR_IO (errno set; also for a file that is not a
 * regular file), KERR_KEY_PERMS, KERR_KEY_FORMAT, KERR_KEY_INVALID.  On any
 * error the signer keeps the key it had (or none).
 */
kerr_t signer_load_key_file(signer_t *s, const char *path);

/*
 * Load a keystore v3 JSON file and decrypt it with the password in
 * password_path (its trailing newline, if any, is not part of the password;
 * nor is the CR of a CRLF).  scrypt or pbkdf2 (hmac-sha256), aes-128-ctr,
 * MAC checked first: KERR_KEYSTORE_PASSWORD for a wrong password.  Also
 * KERR_IO, KERR_KEY_PERMS (the password file), KERR_KEYSTORE_FORMAT (also
 * when an "address" field is not the decrypted key's), KERR_KEYSTORE_KDF,
 * KERR_KEYSTORE_CIPHER, KERR_KEY_INVALID, KERR_TOO_LONG (keystore over
 * SIGNER_MAX_KEYSTORE, password over SIGNER_MAX_PASSWORD).
 */
kerr_t signer_load_keystore(signer_t *s, const char *path,
			    const char *password_path);

/* Decrypt keystore JSON held in memory with a password held in memory. */
kerr_t signer_load_keystore_json(signer_t *s, const char *json, size_t len,
				 const uint8_t *pw, size_t pwlen);

/* Use these 32 bytes as the key (tests and vectors).  KERR_KEY_INVALID. */
kerr_t signer_set_key(signer_t *s, const uint8_t key[32]);

/* The key's address.  KERR_ARG when no key is loaded. */
kerr_t signer_address(const signer_t *s, addr_t *a);

/*
 * Recoverable, low-s, RFC 6979 deterministic signature of a 32-byte hash.
 * KERR_SIGNER_TARGET on a restricted signer: a bare hash may be any
 * transaction's.
 */
kerr_t signer_sign_hash(const signer_t *s, const uint8_t hash[32],
			tx_sig_t *sig);

/*
 * Restrict the signer, for good, to calls to the n given (to[i],
 * selectors[i]) pairs: from then on signer_sign_tx() refuses, with
 * KERR_SIGNER_TARGET, a creation, a call with less than 4 bytes of data or
 * any other (to, selector), and signer_sign_hash() refuses everything.
 * This is how `keeper run` makes its configured actions the only thing the
 * key can ever authorise, whatever a bug elsewhere hands it.  n may be 0
 * (nothing can be signed).  Once restricted, a second call fails
 * KERR_SIGNER_TARGET.  KERR_TOO_LONG above SIGNER_MAX_TARGETS, KERR_ARG.
 */
kerr_t signer_restrict(signer_t *s, const addr_t *to,
		       const uint8_t (*selectors)[4], size_t n);

/*
 * EIP-191 personal message signature (what eth_sign / personal_sign and
 * ethers' signMessage produce): keccak256("\x19Ethereum Signed Message:\n"
 * + decimal len + msg), signed; out = r || s || v with v = 27 + recovery
 * id.  Allowed on a restricted signer, because the prefix keeps the digest
 * from being any transaction's.  Flashbots relays authenticate requests
 * this way (X-Flashbots-Signature: address:0x + hex(out), over the text of
 * keccak256(body) as "0x" + 64 lowercase hex digits).
 */
kerr_t signer_sign_message(const signer_t *s, const uint8_t *msg, size_t len,
			   uint8_t out[65]);

/*
 * Sign tx and write the raw signed transaction to out; hash (may be NULL)
 * receives the transaction hash.  KERR_SIGNER_TARGET when the signer is
 * restricted and tx is not a call to one of its pairs.
 */
kerr_t signer_sign_tx(const signer_t *s, const tx_t *tx, uint8_t *out,
		      size_t cap, size_t *len, uint8_t hash[32]);

/*
 * Check that a file holding a secret is readable by its owner only
 * (mode & 077 == 0).  KERR_IO or KERR_KEY_PERMS.  Exposed for the config
 * check, which warns before any key is loaded.
 */
kerr_t signer_check_secret_perms(const char *path);

#endif
