/*
 * fuzz_rlp: bytes through the strict RLP decoder (signer/rlp.h) and the
 * transaction decoder (signer/tx.h), as a raw transaction from a node, a
 * replay file or `keeper sign` would arrive.
 *
 * Invariants: the decoder accepts only canonical RLP, so whatever
 * rlp_decode_all() accepts re-encodes, item by item, to exactly the input;
 * the integer readers agree with each other; whatever tx_decode() accepts
 * re-encodes with tx_encode_signed() to exactly the input (its hash is the
 * input's hash), and tx_recover / tx_validate / tx_intrinsic_gas return a
 * code without crashing on it.
 */
#include "signer/rlp.h"
#include "signer/tx.h"

#include "tests/fuzz/fuzz.h"

/* Re-encode a validated item into e.  Depth is bounded by the decoder's
 * RLP_MAX_DEPTH check, which ran first. */
static void reencode(rlp_enc_t *e, const rlp_item_t *it)
{
	size_t off = 0, mark;
	rlp_item_t child;
	kerr_t err;

	if (!it->is_list) {
		rlp_put_bytes(e, it->p, it->len);
		return;
	}
	mark = rlp_list_begin(e);
	while ((err = rlp_list_next(it, &off, &child)) == KERR_OK)
		reencode(e, &child);
	FUZZ_CHECK(err == KERR_NOT_FOUND);
	rlp_list_end(e, mark);
}

static void check_ints(const rlp_item_t *it)
{
	u256_t v;
	uint64_t u;
	kerr_t e256 = rlp_get_u256(it, &v), e64 = rlp_get_u64(it, &u);

	if (e64 == KERR_OK) {
		uint64_t back;
		FUZZ_CHECK(e256 == KERR_OK);
		FUZZ_CHECK(u256_to_u64(&v, &back) && back == u);
	}
	if (e256 == KERR_OK) {
		uint8_t be[32];
		size_t n = u256_to_be_min(&v, be);
		FUZZ_CHECK(n == it->len && memcmp(be, it->p, n) == 0);
	}
}

static void fuzz_rlp_items(const uint8_t *data, size_t size)
{
	rlp_item_t it, child;
	size_t used, off = 0, count = 0, n;
	kerr_t err;

	if (rlp_decode(data, size, &it, &used) == KERR_OK) {
		FUZZ_CHECK(used <= size && used == it.hdr + it.len);
		FUZZ_CHECK(it.p == data + it.hdr);
	}
	if (rlp_decode_all(data, size, &it) != KERR_OK)
		return;
	{
		/* rlp_list_begin() reserves the longest header (9 bytes) for
		 * each open list until its end: room for that at every depth. */
		size_t cap = size + 9 * (RLP_MAX_DEPTH + 1);
		uint8_t *out = malloc(cap);
		rlp_enc_t e;
		size_t len;

		if (!out)
			abort();
		rlp_enc_init(&e, out, cap);
		reencode(&e, &it);
		FUZZ_CHECK(rlp_enc_finish(&e, &len) == KERR_OK);
		FUZZ_CHECK(len == size && memcmp(out, data, size) == 0);
		free(out);
	}
	if (!it.is_list) {
		check_ints(&it);
		FUZZ_CHECK(rlp_list_count(&it, &n) == KERR_RLP_TYPE);
		return;
	}
	while ((err = rlp_list_next(&it, &off, &child)) == KERR_OK) {
		count++;
		if (!child.is_list)
			check_ints(&child);
	}
	FUZZ_CHECK(err == KERR_NOT_FOUND);
	FUZZ_CHECK(rlp_list_count(&it, &n) == KERR_OK && n == count);
}

static void fuzz_tx(const uint8_t *data, size_t size)
{
	static tx_access_t store[TX_MAX_ACCESS];
	tx_t tx;
	tx_sig_t sig;
	addr_t from;
	uint64_t gas;
	uint8_t h1[32], h2[32];
	uint8_t *out;
	size_t len;

	memset(&tx, 0, sizeof tx);
	if (tx_decode(data, size, &tx, &sig, store) != KERR_OK)
		return;
	FUZZ_CHECK(tx.type == TX_LEGACY || tx.type == TX_EIP1559);
	FUZZ_CHECK(sig.recid == 0 || sig.recid == 1);
	FUZZ_CHECK(tx.naccess <= TX_MAX_ACCESS);
	for (size_t i = 0; i < tx.naccess; i++) {
		FUZZ_CHECK(tx.access[i].nkeys <= TX_MAX_KEYS);
		for (size_t k = 0; k < tx.access[i].nkeys; k++) {
			const uint8_t *key = tx_access_key(&tx.access[i], k);
			FUZZ_CHECK(key >= data && key + 32 <= data + size);
		}
	}
	out = malloc(TX_MAX_RAW);
	if (!out)
		abort();
	FUZZ_CHECK(tx_encode_signed(&tx, &sig, out, TX_MAX_RAW, &len) == KERR_OK);
	FUZZ_CHECK(len == size && memcmp(out, data, size) == 0);
	tx_hash(data, size, h1);
	tx_hash(out, len, h2);
	FUZZ_CHECK(memcmp(h1, h2, 32) == 0);
	free(out);
	(void)tx_recover(&tx, &sig, &from);
	(void)tx_validate(&tx, 1);
	(void)tx_intrinsic_gas(&tx, &gas);
	FUZZ_CHECK(tx_signing_hash(&tx, h1) == KERR_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_rlp_items(data, size);
	fuzz_tx(data, size);
	return 0;
}
