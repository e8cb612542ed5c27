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
	const uint8_t *keys;   /* nkeys * 32 bytes, contiguous */
	size_t nkeys;
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
 * accessList).  KERR_BUF, KERR_ARG for an inconsistent tx.
 */
kerr_t tx_encode_unsigned(const tx_t *tx, uint8_t *out, size_t cap,
			  size_t *len);

/* keccak256 of tx_encode_unsigned. */
kerr_t tx_signing_hash(const tx_t *tx, uint8_t hash[32]);

/*
 * The raw signed transaction: legacy with v = 27 + recid, or
 * chainId * 2 + 35 + recid under EIP-155; type 2 with yParity = recid.
 * r and s are written as minimal integers.
 */
kerr_t tx_encode_signed(const tx_t *tx, const tx_sig_t *sig, uint8_t *out,
			size_t cap, size_t *len);

/* Transaction hash: keccak256 of the raw signed bytes. */
void tx_hash(const uint8_t *raw, size_t len, uint8_t hash[32]);

/*
 * Strict decode of raw signed bytes (legacy or type 2).  Fields must be
 * canonical RLP integers of their width (nonce, gas, chain id <= 64 bits;
 * fees and value <= 256 bits), `to` empty or 20 bytes, v valid for the type.
 * access_store receives up to TX_MAX_ACCESS entries that tx->access points
 * to.  Returns KERR_TX_TYPE, KERR_TX_FIELDS, KERR_TX_FIELD, KERR_TX_SIGNATURE
 * or an RLP error.
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

#endif
