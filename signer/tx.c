/*
 * tx: Ethereum transactions, legacy (with or without EIP-155) and EIP-1559.
 *
 * One encoder writes every form (unsigned for the signing hash, signed for
 * broadcast), so the bytes we sign and the bytes we send cannot drift apart.
 * The decoder is strict because it guards what we accept from outside
 * (a node, a file, a test vector): a transaction has exactly one valid
 * encoding, every integer is canonical and within its width, and a
 * signature must be in the lower half of the curve order (EIP-2), so no
 * second encoding of the same transaction (hence no second hash) can pass.
 * Recovery needs no secret, so it runs on libsecp256k1's static context.
 */
#include "signer/tx.h"

#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "signer/keccak.h"
#include "signer/rlp.h"

/* Field counts of the two signed forms. */
#define LEGACY_FIELDS 9
#define EIP1559_FIELDS 12

/* The secp256k1 group order n and floor(n / 2), big-endian. */
static const uint8_t secp_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
	0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};
static const uint8_t secp_half_n[32] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d,
	0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
};

/* A non-NULL pointer for empty byte strings, whatever the caller passed. */
static const uint8_t empty_bytes[1];

const uint8_t *tx_access_key(const tx_access_t *a, size_t i)
{
	return a->keys + (a->keys_rlp ? 33 : 32) * i;
}

/* Catch a tx_t that cannot be encoded as what it claims to be before any
 * byte is written, so a caller's mistake is never signed. */
static kerr_t check_tx(const tx_t *tx)
{
	size_t i;

	if (tx->type != TX_LEGACY && tx->type != TX_EIP1559)
		return KERR_TX_TYPE;
	if (tx->data_len > 0 && !tx->data)
		return KERR_ARG;
	if (tx->data_len > TX_MAX_RAW)
		return KERR_TOO_LONG;
	if (tx->type == TX_LEGACY) {
		/* A legacy tx has no place for an access list, and chain id
		 * 0 under EIP-155 names no chain (ethers refuses it too). */
		if (tx->naccess > 0)
			return KERR_ARG;
		if (tx->eip155 && tx->chain_id == 0)
			return KERR_ARG;
	} else if (tx->eip155) {
		return KERR_ARG;
	}
	if (tx->naccess > 0 && !tx->access)
		return KERR_ARG;
	for (i = 0; i < tx->naccess; i++)
		if (tx->access[i].nkeys > 0 && !tx->access[i].keys)
			return KERR_ARG;
	return KERR_OK;
}

static void put_access_list(rlp_enc_t *e, const tx_t *tx)
{
	size_t outer = rlp_list_begin(e), i, k;

	for (i = 0; i < tx->naccess; i++) {
		const tx_access_t *a = &tx->access[i];
		size_t entry = rlp_list_begin(e), keys;

		rlp_put_bytes(e, a->address.b, sizeof a->address.b);
		keys = rlp_list_begin(e);
		for (k = 0; k < a->nkeys; k++)
			rlp_put_bytes(e, tx_access_key(a, k), 32);
		rlp_list_end(e, keys);
		rlp_list_end(e, entry);
	}
	rlp_list_end(e, outer);
}

/* r and s go out as minimal integers, like every other RLP integer. */
static void put_sig_int(rlp_enc_t *e, const uint8_t v[32])
{
	size_t i = 0;

	while (i < 32 && v[i] == 0)
		i++;
	rlp_put_bytes(e, v + i, 32 - i);
}

/* The unsigned payload (sig NULL) or the signed transaction. */
static kerr_t encode(const tx_t *tx, const tx_sig_t *sig, uint8_t *out,
		     size_t cap, size_t *len)
{
	bool typed = tx->type == TX_EIP1559;
	size_t pre = typed ? 1 : 0, n, mark;
	rlp_enc_t e;
	kerr_t err;

	if (!out || !len)
		return KERR_ARG;
	err = check_tx(tx);
	if (err)
		return err;
	if (sig && sig->recid != 0 && sig->recid != 1)
		return KERR_TX_SIGNATURE;
	if (cap < pre)
		return KERR_BUF;
	if (typed)
		out[0] = TX_EIP1559;
	rlp_enc_init(&e, out + pre, cap - pre);
	mark = rlp_list_begin(&e);
	if (typed) {
		rlp_put_u64(&e, tx->chain_id);
		rlp_put_u64(&e, tx->nonce);
		rlp_put_u256(&e, &tx->max_priority_fee);
		rlp_put_u256(&e, &tx->max_fee);
	} else {
		rlp_put_u64(&e, tx->nonce);
		rlp_put_u256(&e, &tx->gas_price);
	}
	rlp_put_u64(&e, tx->gas_limit);
	rlp_put_bytes(&e, tx->to.b, tx->has_to ? sizeof tx->to.b : 0);
	rlp_put_u256(&e, &tx->value);
	rlp_put_bytes(&e, tx->data_len ? tx->data : empty_bytes, tx->data_len);
	if (typed)
		put_access_list(&e, tx);
	if (sig) {
		if (typed) {
			rlp_put_u64(&e, (uint64_t)sig->recid);
		} else if (tx->eip155) {
			/* chainId * 2 + 35 + recid can pass 64 bits for a
			 * chain id near 2^63, so it is computed in 256. */
			u256_t v;
			u256_from_u64(&v, tx->chain_id);
			err = u256_mul_u64(&v, &v, 2);
			if (!err) {
				u256_t add;
				u256_from_u64(&add, 35 + (uint64_t)sig->recid);
				err = u256_add(&v, &v, &add);
			}
			if (err)
				return err;
			rlp_put_u256(&e, &v);
		} else {
			rlp_put_u64(&e, 27 + (uint64_t)sig->recid);
		}
		put_sig_int(&e, sig->r);
		put_sig_int(&e, sig->s);
	} else if (!typed && tx->eip155) {
		rlp_put_u64(&e, tx->chain_id);
		rlp_put_u64(&e, 0);
		rlp_put_u64(&e, 0);
	}
	rlp_list_end(&e, mark);
	err = rlp_enc_finish(&e, &n);
	if (err)
		return err;
	n += pre;
	if (n > TX_MAX_RAW)
		return KERR_TOO_LONG;
	*len = n;
	return KERR_OK;
}

kerr_t tx_encode_unsigned(const tx_t *tx, uint8_t *out, size_t cap,
			  size_t *len)
{
	if (!tx)
		return KERR_ARG;
	return encode(tx, NULL, out, cap, len);
}

kerr_t tx_encode_signed(const tx_t *tx, const tx_sig_t *sig, uint8_t *out,
			size_t cap, size_t *len)
{
	if (!tx || !sig)
		return KERR_ARG;
	return encode(tx, sig, out, cap, len);
}

kerr_t tx_signing_hash(const tx_t *tx, uint8_t hash[32])
{
	/* Transactions we send (a pause(), a liquidation) fit on the stack;
	 * only a large one pays for a heap buffer of the largest size. */
	uint8_t small[1024], *buf = small;
	size_t len;
	kerr_t err;

	if (!tx || !hash)
		return KERR_ARG;
	err = tx_encode_unsigned(tx, buf, sizeof small, &len);
	if (err == KERR_BUF) {
		/* Slack for the list header rlp_list_begin reserves. */
		size_t cap = TX_MAX_RAW + 16;
		buf = malloc(cap);
		if (!buf)
			return KERR_NOMEM;
		err = tx_encode_unsigned(tx, buf, cap, &len);
		if (err == KERR_BUF)
			err = KERR_TOO_LONG;
	}
	if (!err)
		keccak256(hash, buf, len);
	if (buf != small)
		free(buf);
	return err;
}

void tx_hash(const uint8_t *raw, size_t len, uint8_t hash[32])
{
	keccak256(hash, raw, len);
}

/* A byte-string field; a list in its place is a type error. */
static kerr_t get_string(const rlp_item_t *it, const uint8_t **p, size_t *n)
{
	if (it->is_list)
		return KERR_RLP_TYPE;
	*p = it->p;
	*n = it->len;
	return KERR_OK;
}

static kerr_t get_to(const rlp_item_t *it, tx_t *tx)
{
	const uint8_t *p;
	size_t n;
	kerr_t err = get_string(it, &p, &n);

	if (err)
		return err;
	if (n == 0) {
		tx->has_to = false;
		return KERR_OK;
	}
	if (n != sizeof tx->to.b)
		return KERR_TX_FIELD;
	memcpy(tx->to.b, p, n);
	tx->has_to = true;
	return KERR_OK;
}

/* r or s: any malformation of the signature is a signature error. */
static kerr_t get_sig_int(const rlp_item_t *it, uint8_t out[32])
{
	u256_t v;

	if (rlp_get_u256(it, &v) != KERR_OK)
		return KERR_TX_SIGNATURE;
	u256_to_be(&v, out);
	return KERR_OK;
}

/* Legacy v: 27/28 unprotected, or chainId * 2 + 35/36 (EIP-155) with a
 * chain id of at least 1 that fits 64 bits. */
static kerr_t get_legacy_v(const rlp_item_t *it, tx_t *tx, tx_sig_t *sig)
{
	u256_t v, t, c35;
	uint64_t small, rem;

	if (rlp_get_u256(it, &v) != KERR_OK)
		return KERR_TX_SIGNATURE;
	if (u256_to_u64(&v, &small) && (small == 27 || small == 28)) {
		tx->eip155 = false;
		tx->chain_id = 0;
		sig->recid = (int)(small - 27);
		return KERR_OK;
	}
	u256_from_u64(&c35, 37);
	if (u256_cmp(&v, &c35) < 0)
		return KERR_TX_SIGNATURE;
	u256_from_u64(&c35, 35);
	if (u256_sub(&t, &v, &c35) || u256_div_u64(&t, &t, 2, &rem))
		return KERR_TX_SIGNATURE;
	if (!u256_to_u64(&t, &tx->chain_id))
		return KERR_TX_SIGNATURE;
	tx->eip155 = true;
	sig->recid = (int)rem;
	return KERR_OK;
}

static kerr_t decode_access_list(const rlp_item_t *list, tx_t *tx,
				 tx_access_t *store)
{
	rlp_item_t entry;
	size_t off = 0, n = 0;
	kerr_t err;

	if (!list->is_list)
		return KERR_RLP_TYPE;
	while ((err = rlp_list_next(list, &off, &entry)) == KERR_OK) {
		rlp_item_t address, keys, extra, key;
		size_t eoff = 0, koff = 0, nkeys = 0;

		if (n == TX_MAX_ACCESS)
			return KERR_TOO_LONG;
		if (!store)
			return KERR_ARG;
		/* An entry is exactly [address(20), [key(32), ...]]. */
		if (!entry.is_list ||
		    rlp_list_next(&entry, &eoff, &address) != KERR_OK ||
		    rlp_list_next(&entry, &eoff, &keys) != KERR_OK ||
		    rlp_list_next(&entry, &eoff, &extra) != KERR_NOT_FOUND)
			return KERR_TX_FIELD;
		if (address.is_list || address.len != sizeof store[n].address.b)
			return KERR_TX_FIELD;
		if (!keys.is_list)
			return KERR_TX_FIELD;
		while ((err = rlp_list_next(&keys, &koff, &key)) == KERR_OK) {
			if (key.is_list || key.len != 32)
				return KERR_TX_FIELD;
			if (++nkeys > TX_MAX_KEYS)
				return KERR_TOO_LONG;
		}
		if (err != KERR_NOT_FOUND)
			return err;
		memcpy(store[n].address.b, address.p, address.len);
		/* Every key is a 32-byte string, so its header is the single
		 * byte 0xa0 and the keys sit 33 bytes apart in the input. */
		store[n].keys = nkeys ? keys.p + 1 : NULL;
		store[n].nkeys = nkeys;
		store[n].keys_rlp = true;
		n++;
	}
	if (err != KERR_NOT_FOUND)
		return err;
	tx->access = n ? store : NULL;
	tx->naccess = n;
	return KERR_OK;
}

kerr_t tx_decode(const uint8_t *raw, size_t len, tx_t *tx, tx_sig_t *sig,
		 tx_access_t access_store[TX_MAX_ACCESS])
{
	rlp_item_t list, f[EIP1559_FIELDS + 1];
	size_t nf, want, off = 0;
	const uint8_t *body;
	size_t body_len;
	bool typed;
	kerr_t err;
	int i;

	if (!tx || !sig || (!raw && len))
		return KERR_ARG;
	memset(tx, 0, sizeof *tx);
	memset(sig, 0, sizeof *sig);
	if (len == 0)
		return KERR_TRUNCATED;
	if (len > TX_MAX_RAW)
		return KERR_TOO_LONG;
	/* EIP-2718: a first byte below 0x80 is a type; a legacy tx is an RLP
	 * list (0xc0 and up); an RLP string at the top is neither. */
	if (raw[0] >= 0xc0) {
		typed = false;
		body = raw;
		body_len = len;
		want = LEGACY_FIELDS;
	} else if (raw[0] == TX_EIP1559) {
		typed = true;
		body = raw + 1;
		body_len = len - 1;
		want = EIP1559_FIELDS;
	} else {
		return KERR_TX_TYPE;
	}
	err = rlp_decode_all(body, body_len, &list);
	if (err)
		return err;
	if (!list.is_list)
		return KERR_RLP_TYPE;
	for (nf = 0; nf <= want; nf++) {
		err = rlp_list_next(&list, &off, &f[nf]);
		if (err == KERR_NOT_FOUND)
			break;
		if (err)
			return err;
	}
	if (nf != want)
		return KERR_TX_FIELDS;

	tx->type = typed ? TX_EIP1559 : TX_LEGACY;
	i = 0;
	if (typed) {
		if ((err = rlp_get_u64(&f[i++], &tx->chain_id)) ||
		    (err = rlp_get_u64(&f[i++], &tx->nonce)) ||
		    (err = rlp_get_u256(&f[i++], &tx->max_priority_fee)) ||
		    (err = rlp_get_u256(&f[i++], &tx->max_fee)))
			return err;
	} else {
		if ((err = rlp_get_u64(&f[i++], &tx->nonce)) ||
		    (err = rlp_get_u256(&f[i++], &tx->gas_price)))
			return err;
	}
	if ((err = rlp_get_u64(&f[i++], &tx->gas_limit)) ||
	    (err = get_to(&f[i++], tx)) ||
	    (err = rlp_get_u256(&f[i++], &tx->value)) ||
	    (err = get_string(&f[i++], &tx->data, &tx->data_len)))
		return err;
	if (tx->data_len == 0)
		tx->data = NULL;
	if (typed) {
		uint64_t parity;

		err = decode_access_list(&f[i++], tx, access_store);
		if (err)
			return err;
		if (rlp_get_u64(&f[i++], &parity) != KERR_OK || parity > 1)
			return KERR_TX_SIGNATURE;
		sig->recid = (int)parity;
	} else {
		err = get_legacy_v(&f[i++], tx, sig);
		if (err)
			return err;
	}
	if ((err = get_sig_int(&f[i++], sig->r)) ||
	    (err = get_sig_int(&f[i++], sig->s)))
		return err;
	return KERR_OK;
}

static bool is_zero32(const uint8_t v[32])
{
	uint8_t acc = 0;
	int i;

	for (i = 0; i < 32; i++)
		acc |= v[i];
	return acc == 0;
}

kerr_t tx_recover(const tx_t *tx, const tx_sig_t *sig, addr_t *from)
{
	secp256k1_ecdsa_recoverable_signature rs;
	secp256k1_pubkey pub;
	uint8_t hash[32], compact[64], ser[65];
	size_t serlen = sizeof ser;
	kerr_t err;

	if (!tx || !sig || !from)
		return KERR_ARG;
	/* Big-endian byte strings of equal length compare like numbers. */
	if (is_zero32(sig->r) || is_zero32(sig->s) ||
	    memcmp(sig->r, secp_n, 32) >= 0 ||
	    memcmp(sig->s, secp_half_n, 32) > 0 ||
	    (sig->recid != 0 && sig->recid != 1))
		return KERR_TX_SIGNATURE;
	err = tx_signing_hash(tx, hash);
	if (err)
		return err;
	memcpy(compact, sig->r, 32);
	memcpy(compact + 32, sig->s, 32);
	if (!secp256k1_ecdsa_recoverable_signature_parse_compact(
		    secp256k1_context_static, &rs, compact, sig->recid))
		return KERR_TX_SIGNATURE;
	if (!secp256k1_ecdsa_recover(secp256k1_context_static, &pub, &rs, hash))
		return KERR_TX_RECOVER;
	if (!secp256k1_ec_pubkey_serialize(secp256k1_context_static, ser,
					   &serlen, &pub,
					   SECP256K1_EC_UNCOMPRESSED) ||
	    serlen != sizeof ser)
		return KERR_CRYPTO;
	addr_from_pubkey(from, ser + 1);
	return KERR_OK;
}

kerr_t tx_sender(const uint8_t *raw, size_t len, addr_t *from)
{
	tx_access_t store[TX_MAX_ACCESS];
	tx_sig_t sig;
	tx_t tx;
	kerr_t err;

	if (!from)
		return KERR_ARG;
	err = tx_decode(raw, len, &tx, &sig, store);
	if (err)
		return err;
	return tx_recover(&tx, &sig, from);
}

/* *g += count * cost, or false when that passes 64 bits. */
static bool gas_add(uint64_t *g, uint64_t count, uint64_t cost)
{
	if (count > (UINT64_MAX - *g) / cost)
		return false;
	*g += count * cost;
	return true;
}

kerr_t tx_intrinsic_gas(const tx_t *tx, uint64_t *gas)
{
	uint64_t g = 21000, zeros = 0, keys = 0;
	size_t i;

	if (!tx || !gas || (tx->data_len && !tx->data) ||
	    (tx->naccess && !tx->access))
		return KERR_ARG;
	for (i = 0; i < tx->data_len; i++)
		zeros += tx->data[i] == 0;
	for (i = 0; i < tx->naccess; i++)
		keys += tx->access[i].nkeys;
	if ((!tx->has_to && !gas_add(&g, 1, 32000)) ||
	    !gas_add(&g, zeros, 4) ||
	    !gas_add(&g, tx->data_len - zeros, 16) ||
	    (!tx->has_to && !gas_add(&g, (tx->data_len + 31) / 32, 2)) ||
	    !gas_add(&g, tx->naccess, 2400) ||
	    !gas_add(&g, keys, 1900))
		return KERR_NUM_OVERFLOW;
	*gas = g;
	return KERR_OK;
}

kerr_t tx_validate(const tx_t *tx, uint64_t chain_id)
{
	const u256_t *fee_cap;
	uint64_t intrinsic, floor_gas = 21000, tokens = 0;
	u256_t product;
	size_t i;
	kerr_t err;

	if (!tx)
		return KERR_ARG;
	if (tx->type != TX_LEGACY && tx->type != TX_EIP1559)
		return KERR_TX_TYPE;
	if (tx->data_len > TX_MAX_RAW)
		return KERR_TOO_LONG;
	if ((tx->type == TX_EIP1559 || tx->eip155) && tx->chain_id != chain_id)
		return KERR_TX_CHAIN_ID;
	if (tx->nonce == UINT64_MAX)
		return KERR_NUM_RANGE;
	if (tx->type == TX_EIP1559) {
		if (u256_cmp(&tx->max_priority_fee, &tx->max_fee) > 0)
			return KERR_TX_FEE;
		fee_cap = &tx->max_fee;
	} else {
		fee_cap = &tx->gas_price;
	}
	/* The node reserves gas_limit * fee_cap from the balance; a product
	 * past 256 bits is no amount at all. */
	if (u256_mul_u64(&product, fee_cap, tx->gas_limit) != KERR_OK)
		return KERR_NUM_OVERFLOW;
	if (!tx->has_to && tx->data_len > TX_MAX_INITCODE)
		return KERR_TOO_LONG;
	err = tx_intrinsic_gas(tx, &intrinsic);
	if (err)
		return err;
	/* EIP-7623: calldata-heavy transactions pay at least 10 gas per
	 * token; data_len <= TX_MAX_RAW (checked above), so no overflow. */
	for (i = 0; i < tx->data_len; i++)
		tokens += tx->data[i] ? 4 : 1;
	floor_gas += 10 * tokens;
	if (tx->gas_limit < intrinsic || tx->gas_limit < floor_gas)
		return KERR_TX_GAS;
	return KERR_OK;
}
