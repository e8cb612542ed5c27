/*
 * tx: Ethereum transactions: legacy (optionally with EIP-155 replay
 * protection) and EIP-1559 (type 2, with access lists).  Encoding, signing
 * hash, signed raw bytes, transaction hash, strict decoding and sender
 * recovery.  No key material here: signing itself is signer/signer.h.
 *
 * A tx_t does not own its data or access list: they point into the caller's
 * memory (or, after tx_decode, into the raw bytes decoded).
 */
#ifndef SIGNER_TX_H
#define SIGNER_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keeper/kerr.h"
#include "signer/addr.h"
#include "signer/u256.h"

/* Largest raw transaction we build or accept (calldata and access lists). */
#define TX_MAX_RAW (128 * 1024)
/* Access-list limits for decoding (entries and keys per entry). */
#define TX_MAX_ACCESS 64
#define TX_MAX_KEYS 256

typedef enum {
	TX_LEGACY = 0,
	TX_EIP1559 = 2,
} tx_type_t;

typedef struct {
	addr_t address;
	const uint8_t *keys;   /* nkeys * 32 bytes, contiguous (but see below) */
	size_t nkeys;
	/*
	 * false (what a caller building a tx leaves it as): keys is contiguous.
	 * true (set by tx_decode, which copies nothing): keys points at the
	 * first key inside the raw RLP, where every 32-byte key is preceded by
	 * its one-byte header, so key i is at keys + 33 * i.  Read keys through
	 * tx_access_key() to not care.
	 */
	bool keys_rlp;
} tx_access_t;

typedef struct {
	tx_type_t type;
	bool eip155;            /* legacy only: sign with chain_id (EIP-155) */
	uint64_t chain_id;
	uint64_t nonce;
	u256_t gas_price;       /* legacy */
	u256_t max_priority_fee;/* type 2: max_priority_fee_per_gas */
	u256_t max_fee;         /* type 2: max_fee_per_gas */
	uint64_t gas_limit;
	bool has_to;            /* false: contract creation */
	addr_t to;
	u256_t value;
	const uint8_t *data;
	size_t data_len;
	const tx_access_t *access; /* type 2 only */
	size_t naccess;
} tx_t;

typedef struct {
	uint8_t r[32];
	uint8_t s[32];
	int recid;              /* 0 or 1: the parity of R's y */
} tx_sig_t;

/*
 * The payload that is hashed for signing: legacy RLP(nonce, gasPrice, gas,
 * to, value, data) or with (chainId, 0, 0) appended for EIP-155; type 2:
 * 0x02 || RLP(chainId, nonce, maxPriority, maxFee, gas, to, value, data,
 * accessList).  KERR_BUF, KERR_ARG for an inconsistent tx (data or keys
 * NULL with a length, an access list on a legacy tx, EIP-155 with chain id
 * 0, eip155 set on type 2), KERR_TX_TYPE for another type, KERR_TOO_LONG
 * past TX_MAX_RAW.
 */
kerr_t tx_encode_unsigned(const tx_t *tx, uint8_t *out, size_t cap,
			  size_t *len);

/* keccak256 of tx_encode_unsigned. */
kerr_t tx_signing_hash(const tx_t *tx, uint8_t hash[32]);

/*
 * The raw signed transaction: legacy with v = 27 + recid, or
 * chainId * 2 + 35 + recid under EIP-155; type 2 with yParity = recid.
 * r and s are written as minimal integers.  Errors as tx_encode_unsigned,
 * and KERR_TX_SIGNATURE for a recid other than 0 or 1.
 */
kerr_t tx_encode_signed(const tx_t *tx, const tx_sig_t *sig, uint8_t *out,
			size_t cap, size_t *len);

/* Transaction hash: keccak256 of the raw signed bytes. */
void tx_hash(const uint8_t *raw, size_t len, uint8_t hash[32]);

/*
 * Strict decode of raw signed bytes (legacy or type 2).  Fields must be
 * canonical RLP integers of their width (nonce, gas, chain id <= 64 bits;
 * fees and value <= 256 bits), `to` empty or 20 bytes, v valid for the type
 * (27/28, or chainId * 2 + 35/36 with a chain id of 1 to 2^64-1; yParity
 * 0/1).  access_store receives up to TX_MAX_ACCESS entries that tx->access
 * points to.  Returns KERR_TX_TYPE, KERR_TX_FIELDS, KERR_TX_FIELD (`to`, an
 * access-list entry), KERR_TX_SIGNATURE (any malformed v, r or s), an RLP
 * error for the other fields, KERR_TOO_LONG (input over TX_MAX_RAW, more
 * than TX_MAX_ACCESS entries or TX_MAX_KEYS keys in one), KERR_TRUNCATED
 * for empty input.  r and s are range-checked by tx_recover, not here.
 */
kerr_t tx_decode(const uint8_t *raw, size_t len, tx_t *tx, tx_sig_t *sig,
		 tx_access_t access_store[TX_MAX_ACCESS]);

/*
 * Recover the sender of a decoded transaction.  Rejects r or s zero or not
 * below the curve order, and s above n/2 (EIP-2) with KERR_TX_SIGNATURE;
 * KERR_TX_RECOVER when no key recovers.
 */
kerr_t tx_recover(const tx_t *tx, const tx_sig_t *sig, addr_t *from);

/* Decode then recover: the common check of a raw transaction. */
kerr_t tx_sender(const uint8_t *raw, size_t len, addr_t *from);

/* The 32 bytes of storage key i (< a->nkeys) of an access-list entry. */
const uint8_t *tx_access_key(const tx_access_t *a, size_t i);

/* Initcode size limit of a contract creation (EIP-3860). */
#define TX_MAX_INITCODE 49152

/*
 * The intrinsic gas of tx as of Cancun: 21000, +32000 for a creation,
 * 4 per zero and 16 per non-zero data byte, 2400 per access-list address and
 * 1900 per storage key, and for a creation 2 per 32-byte word of initcode
 * (EIP-3860).  The EIP-7623 calldata floor is not included (tx_validate
 * checks it).  KERR_NUM_OVERFLOW if it does not fit 64 bits.
 */
kerr_t tx_intrinsic_gas(const tx_t *tx, uint64_t *gas);

/*
 * The checks a node makes on a transaction before it looks at any account
 * state, for a chain with id chain_id under the Prague rules: so that a
 * transaction we build or receive that no node would accept is refused here,
 * with the reason, instead of failing at broadcast time.
 *   KERR_TX_CHAIN_ID   type 2 or EIP-155 with another chain id (an
 *                      unprotected legacy tx names no chain and passes)
 *   KERR_NUM_RANGE     nonce 2^64-1 (EIP-2681)
 *   KERR_TX_FEE        max_priority_fee above max_fee
 *   KERR_NUM_OVERFLOW  gas_limit * (max_fee or gas_price) over 256 bits
 *   KERR_TOO_LONG      creation with initcode over TX_MAX_INITCODE
 *   KERR_TX_GAS        gas_limit below the intrinsic gas or below the
 *                      EIP-7623 floor 21000 + 10 * calldata tokens
 *                      (tokens = zero bytes + 4 * non-zero bytes)
 * Signatures are not checked here (tx_recover).
 */
kerr_t tx_validate(const tx_t *tx, uint64_t chain_id);

#endif
