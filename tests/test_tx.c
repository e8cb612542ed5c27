/*
 * test_tx: transaction encoding, signing, strict decoding, recovery and
 * validity checks.
 *
 * ethers' 3200 transaction vectors pin the byte-exact unsigned and signed
 * encodings of legacy, EIP-155 and EIP-1559 transactions (and, since ethers
 * also signs with RFC 6979, our signatures); every signed encoding of ours
 * is decoded again and must recover the key's address.  ethereum/tests'
 * ttEIP1559 and ttSignature cases pin what a node accepts and rejects.
 * Hand-made cases cover each rejection rule of the decoder one at a time.
 */
#include <dirent.h>
#include <jansson.h>

#include "keeper/kerr.h"
#include "signer/addr.h"
#include "signer/hex.h"
#include "signer/keccak.h"
#include "signer/rlp.h"
#include "signer/signer.h"
#include "signer/tx.h"
#include "signer/u256.h"
#include "tests/test.h"

#define RAW_CAP (TX_MAX_RAW + 64)

static uint8_t raw_buf[RAW_CAP], raw_buf2[RAW_CAP];

/* Hex text (with or without 0x) to a malloc'd buffer; NULL on bad hex. */
static uint8_t *unhex(const char *s, size_t *n)
{
	size_t len = strlen(s);
	uint8_t *b = malloc(len / 2 + 1);

	if (!b || hex_decode(b, len / 2 + 1, n, s, len) != KERR_OK) {
		free(b);
		return NULL;
	}
	return b;
}

/* A JSON number or 0x string; missing is zero. */
static int json_u256(const json_t *o, const char *k, u256_t *v)
{
	const json_t *j = json_object_get(o, k);

	u256_zero(v);
	if (!j)
		return 1;
	if (json_is_integer(j)) {
		u256_from_u64(v, (uint64_t)json_integer_value(j));
		return 1;
	}
	if (json_is_string(j))
		return u256_parse(v, json_string_value(j),
				  json_string_length(j)) == KERR_OK;
	return 0;
}

static int json_u64(const json_t *o, const char *k, uint64_t *v)
{
	u256_t u;

	return json_u256(o, k, &u) && u256_to_u64(&u, v);
}

/* A tx_t and the memory its pointers refer to. */
typedef struct {
	tx_t tx;
	uint8_t *data;
	tx_access_t access[TX_MAX_ACCESS];
	uint8_t *keys;
} built_t;

static void built_free(built_t *b)
{
	free(b->data);
	free(b->keys);
	memset(b, 0, sizeof *b);
}

/* ethers' "transaction" object: every field may be missing. */
static int build_tx(const json_t *j, built_t *b)
{
	const json_t *to = json_object_get(j, "to");
	const json_t *data = json_object_get(j, "data");
	const json_t *al = json_object_get(j, "accessList");
	size_t i, nkeys = 0, kpos = 0;

	memset(b, 0, sizeof *b);
	if (!json_u64(j, "nonce", &b->tx.nonce) ||
	    !json_u64(j, "gasLimit", &b->tx.gas_limit) ||
	    !json_u64(j, "chainId", &b->tx.chain_id) ||
	    !json_u256(j, "gasPrice", &b->tx.gas_price) ||
	    !json_u256(j, "maxFeePerGas", &b->tx.max_fee) ||
	    !json_u256(j, "maxPriorityFeePerGas", &b->tx.max_priority_fee) ||
	    !json_u256(j, "value", &b->tx.value))
		return 0;
	if (to) {
		if (!json_is_string(to) ||
		    addr_parse(&b->tx.to, json_string_value(to),
			       json_string_length(to)) != KERR_OK)
			return 0;
		b->tx.has_to = true;
	}
	if (data) {
		b->data = unhex(json_string_value(data), &b->tx.data_len);
		if (!b->data)
			return 0;
		b->tx.data = b->data;
	}
	if (al) {
		if (json_array_size(al) > TX_MAX_ACCESS)
			return 0;
		for (i = 0; i < json_array_size(al); i++)
			nkeys += json_array_size(json_object_get(
				json_array_get(al, i), "storageKeys"));
		b->keys = malloc(nkeys * 32 + 1);
		for (i = 0; i < json_array_size(al); i++) {
			const json_t *e = json_array_get(al, i);
			const json_t *a = json_object_get(e, "address");
			const json_t *ks = json_object_get(e, "storageKeys");
			size_t k;

			if (!json_is_string(a) ||
			    addr_parse(&b->access[i].address,
				       json_string_value(a),
				       json_string_length(a)) != KERR_OK)
				return 0;
			b->access[i].keys = b->keys + kpos * 32;
			b->access[i].nkeys = json_array_size(ks);
			for (k = 0; k < json_array_size(ks); k++, kpos++) {
				const json_t *key = json_array_get(ks, k);
				if (hex_decode_exact(b->keys + kpos * 32, 32,
						     json_string_value(key),
						     json_string_length(key)))
					return 0;
			}
		}
		b->tx.access = b->access;
		b->tx.naccess = json_array_size(al);
	}
	return 1;
}

/* Encoding of tx (unsigned, or signed by s) equals the vector's hex. */
static int same_as(const char *want_hex, const uint8_t *got, size_t len)
{
	size_t n;
	uint8_t *want = unhex(want_hex, &n);
	int ok = want && n == len && memcmp(want, got, n) == 0;

	free(want);
	return ok;
}

/* Decode our signed bytes, recover, and re-encode: must be the signer and
 * the same bytes. */
static int roundtrip(const uint8_t *raw, size_t len, const addr_t *who)
{
	tx_access_t store[TX_MAX_ACCESS];
	tx_sig_t sig;
	tx_t tx;
	addr_t from;
	size_t n;

	if (tx_decode(raw, len, &tx, &sig, store) != KERR_OK ||
	    tx_recover(&tx, &sig, &from) != KERR_OK || !addr_eq(&from, who))
		return 0;
	if (tx_sender(raw, len, &from) != KERR_OK || !addr_eq(&from, who))
		return 0;
	return tx_encode_signed(&tx, &sig, raw_buf2, sizeof raw_buf2, &n) ==
		       KERR_OK && n == len && memcmp(raw_buf2, raw, n) == 0;
}

enum { K_LEGACY, K_EIP155, K_LONDON, K_N };
static const char *const kind_name[K_N] = { "Legacy", "Eip155", "London" };

static void test_ethers_transactions(void)
{
	size_t i, n;
	json_t *root = t_load_json("tests/vectors/ethers/transactions.json.gz");
	signer_t *s = NULL;
	int unsigned_ok[K_N] = { 0 }, signed_ok[K_N] = { 0 }, total[K_N] = { 0 };
	int rt_ok = 0, rt_total = 0, no_chain = 0, entries = 0;

	CHECK(root != NULL);
	if (!root)
		return;
	CHECK(json_is_array(root));
	CHECK_OK(signer_new(&s));
	if (!s)
		goto out;
	for (i = 0; i < json_array_size(root); i++) {
		const json_t *e = json_array_get(root, i);
		const char *name = json_string_value(json_object_get(e, "name"));
		uint8_t key[32];
		addr_t who;
		built_t b;
		int k;

		entries++;
		if (!build_tx(json_object_get(e, "transaction"), &b)) {
			CHECK_MSG(0, "%s: cannot build the transaction", name);
			built_free(&b);
			continue;
		}
		if (hex_decode_exact(key, 32,
				     json_string_value(json_object_get(e, "privateKey")),
				     66) != KERR_OK ||
		    signer_set_key(s, key) != KERR_OK ||
		    signer_address(s, &who) != KERR_OK) {
			CHECK_MSG(0, "%s: bad private key", name);
			built_free(&b);
			continue;
		}
		for (k = 0; k < K_N; k++) {
			char uname[32], sname[32];
			const char *uwant, *swant;
			kerr_t err;

			snprintf(uname, sizeof uname, "unsigned%s", kind_name[k]);
			snprintf(sname, sizeof sname, "signed%s", kind_name[k]);
			uwant = json_string_value(json_object_get(e, uname));
			swant = json_string_value(json_object_get(e, sname));
			b.tx.type = k == K_LONDON ? TX_EIP1559 : TX_LEGACY;
			b.tx.eip155 = k == K_EIP155;
			if (k == K_EIP155 && uwant && uwant[0] == 0) {
				/* ethers has no EIP-155 form without a chain
				 * id; we refuse to make one too. */
				no_chain++;
				CHECK_ERR(tx_encode_unsigned(&b.tx, raw_buf,
							     sizeof raw_buf, &n),
					  KERR_ARG);
				continue;
			}
			total[k]++;
			/* A legacy tx cannot carry the access list. */
			if (k != K_LONDON) {
				b.tx.naccess = 0;
			} else {
				b.tx.naccess = json_array_size(json_object_get(
					json_object_get(e, "transaction"),
					"accessList"));
			}
			err = tx_encode_unsigned(&b.tx, raw_buf, sizeof raw_buf, &n);
			if (err == KERR_OK && uwant && same_as(uwant, raw_buf, n))
				unsigned_ok[k]++;
			else
				CHECK_MSG(0, "%s: %s differs (%s)", name, uname,
					  kerr_name(err));
			err = signer_sign_tx(s, &b.tx, raw_buf, sizeof raw_buf,
					     &n, NULL);
			if (err == KERR_OK && swant && same_as(swant, raw_buf, n))
				signed_ok[k]++;
			else
				CHECK_MSG(0, "%s: %s differs (%s)", name, sname,
					  kerr_name(err));
			rt_total++;
			if (err == KERR_OK && roundtrip(raw_buf, n, &who))
				rt_ok++;
			else
				CHECK_MSG(0, "%s: %s does not decode back to its "
					  "signer", name, sname);
		}
		built_free(&b);
	}
	for (i = 0; i < K_N; i++) {
		printf("    unsigned%s: %d/%d\n", kind_name[i], unsigned_ok[i],
		       total[i]);
		printf("    signed%s: %d/%d\n", kind_name[i], signed_ok[i],
		       total[i]);
	}
	printf("    (%d of %d entries have no chain id: no EIP-155 form, and "
	       "encoding one is refused)\n", no_chain, entries);
	printf("    decoded + recovered + re-encoded: %d/%d\n", rt_ok, rt_total);
	CHECK_EQ_INT(entries, 3200);
	for (i = 0; i < K_N; i++) {
		CHECK_EQ_INT(unsigned_ok[i], total[i]);
		CHECK_EQ_INT(signed_ok[i], total[i]);
	}
	CHECK_EQ_INT(total[K_LEGACY], 3200);
	CHECK_EQ_INT(total[K_LONDON], 3200);
	CHECK_EQ_INT(total[K_EIP155] + no_chain, 3200);
	CHECK_EQ_INT(rt_ok, rt_total);
out:
	signer_free(s);
	json_decref(root);
}

/*
 * How each ethereum/tests exception shows here.  Decoding rejects what is
 * malformed; tx_validate (chain id 1, the chain the vectors are filled for)
 * rejects what no node accepts; tx_recover rejects bad signatures.
 */
static const struct {
	const char *exception;
	kerr_t want[2];   /* one or two acceptable codes */
} exception_map[] = {
	/* v not 27/28 or an EIP-155 value, r or s 0, >= n, or wider than
	 * 32 bytes, s > n/2. */
	{ "TransactionException.INVALID_SIGNATURE_VRS",
	  { KERR_TX_SIGNATURE, KERR_TX_SIGNATURE } },
	/* r is no x coordinate of a curve point: nothing recovers. */
	{ "TransactionException.EC_RECOVERY_FAIL",
	  { KERR_TX_RECOVER, KERR_TX_RECOVER } },
	/* v = chainId * 2 + 35/36 naming a chain other than 1.  geth reads
	 * any v other than 27/28 as EIP-155, so v = 2..5 (ZeroSigTransaction3
	 * to 6) is a bad chain id there; here such a v names no chain at all
	 * and is refused as a bad signature before any chain id exists. */
	{ "TransactionException.INVALID_CHAINID",
	  { KERR_TX_CHAIN_ID, KERR_TX_SIGNATURE } },
	{ "TransactionException.RLP_TOO_FEW_ELEMENTS",
	  { KERR_TX_FIELDS, KERR_TX_FIELDS } },
	{ "TransactionException.RLP_TOO_MANY_ELEMENTS",
	  { KERR_TX_FIELDS, KERR_TX_FIELDS } },
	{ "TransactionException.RLP_LEADING_ZEROS_BASEFEE",
	  { KERR_RLP_LEADING_ZERO, KERR_RLP_LEADING_ZERO } },
	{ "TransactionException.RLP_LEADING_ZEROS_PRIORITY_FEE",
	  { KERR_RLP_LEADING_ZERO, KERR_RLP_LEADING_ZERO } },
	/* A fee of 33 bytes does not decode as a 256-bit integer. */
	{ "TransactionException.GASPRICE_OVERFLOW",
	  { KERR_RLP_TOO_BIG, KERR_RLP_TOO_BIG } },
	{ "TransactionException.PRIORITY_OVERFLOW",
	  { KERR_RLP_TOO_BIG, KERR_RLP_TOO_BIG } },
	/* gasLimit * maxFeePerGas past 2^256 (tx_validate). */
	{ "TransactionException.GASLIMIT_PRICE_PRODUCT_OVERFLOW",
	  { KERR_NUM_OVERFLOW, KERR_NUM_OVERFLOW } },
	/* maxPriorityFeePerGas > maxFeePerGas (tx_validate). */
	{ "TransactionException.PRIORITY_GREATER_THAN_MAX_FEE_PER_GAS_2",
	  { KERR_TX_FEE, KERR_TX_FEE } },
};

/* Forks from oldest to newest: a case is judged by its newest result. */
static const char *const forks[] = {
	"Frontier", "Homestead", "EIP150", "EIP158", "Byzantium",
	"Constantinople", "ConstantinopleFix", "Istanbul", "Berlin", "London",
	"Paris", "Shanghai", "Cancun", "Prague", "Osaka",
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Decode, validate for chain 1, recover: the first failure. */
static kerr_t check_raw(const uint8_t *raw, size_t len, tx_t *tx,
			addr_t *from, tx_access_t *store)
{
	tx_sig_t sig;
	kerr_t err = tx_decode(raw, len, tx, &sig, store);

	if (!err)
		err = tx_validate(tx, 1);
	if (!err)
		err = tx_recover(tx, &sig, from);
	return err;
}

static void run_eth_case(const char *path, int *valid_ok, int *invalid_ok,
			 int *cases)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr), *t, *res, *r = NULL;
	const char *fork = NULL, *sender, *hash, *exc, *igas;
	tx_access_t store[TX_MAX_ACCESS];
	uint8_t *raw;
	size_t len, i;
	addr_t from;
	tx_t tx;
	kerr_t err;

	CHECK_MSG(root != NULL, "%s: %s", path, jerr.text);
	if (!root)
		return;
	t = json_object_iter_value(json_object_iter(root));
	res = json_object_get(t, "result");
	for (i = 0; i < sizeof forks / sizeof forks[0]; i++) {
		if (json_object_get(res, forks[i])) {
			fork = forks[i];
			r = json_object_get(res, forks[i]);
		}
	}
	CHECK_MSG(r != NULL, "%s: no known fork", path);
	raw = unhex(json_string_value(json_object_get(t, "txbytes")), &len);
	CHECK_MSG(raw != NULL, "%s: bad txbytes", path);
	if (!r || !raw)
		goto out;
	(*cases)++;
	sender = json_string_value(json_object_get(r, "sender"));
	hash = json_string_value(json_object_get(r, "hash"));
	exc = json_string_value(json_object_get(r, "exception"));
	igas = json_string_value(json_object_get(r, "intrinsicGas"));
	err = check_raw(raw, len, &tx, &from, store);
	if (sender) {
		addr_t want;
		uint8_t h[32], hwant[32];
		u256_t g;
		uint64_t gas_want, gas;
		int ok = 1;

		CHECK_MSG(err == KERR_OK, "%s (%s): %s", path, fork,
			  kerr_name(err));
		ok &= err == KERR_OK;
		CHECK_OK(addr_parse(&want, sender, strlen(sender)));
		CHECK_MSG(addr_eq(&from, &want), "%s: wrong sender", path);
		ok &= addr_eq(&from, &want);
		tx_hash(raw, len, h);
		CHECK_OK(hex_decode_exact(hwant, 32, hash, strlen(hash)));
		CHECK_MSG(memcmp(h, hwant, 32) == 0, "%s: wrong hash", path);
		ok &= memcmp(h, hwant, 32) == 0;
		/* The vectors also state the intrinsic gas. */
		CHECK(igas != NULL);
		if (!igas)
			igas = "";
		CHECK_OK(u256_from_hex(&g, igas, strlen(igas)));
		CHECK(u256_to_u64(&g, &gas_want));
		CHECK_OK(tx_intrinsic_gas(&tx, &gas));
		CHECK_MSG(gas == gas_want, "%s: intrinsic gas %llu, want %llu",
			  path, (unsigned long long)gas,
			  (unsigned long long)gas_want);
		ok &= gas == gas_want;
		*valid_ok += ok;
	} else {
		size_t m;
		int found = 0;

		for (m = 0; m < sizeof exception_map / sizeof exception_map[0];
		     m++) {
			if (exc && strcmp(exc, exception_map[m].exception) == 0) {
				found = 1;
				break;
			}
		}
		CHECK_MSG(found, "%s: unmapped exception %s", path,
			  exc ? exc : "(none)");
		if (found) {
			int ok = err == exception_map[m].want[0] ||
				 err == exception_map[m].want[1];
			CHECK_MSG(ok, "%s (%s): %s gave %s", path, fork, exc,
				  kerr_name(err));
			*invalid_ok += ok;
		}
	}
out:
	free(raw);
	json_decref(root);
}

static void test_ethereum_tests(void)
{
	static const char *const dirs[] = {
		"tests/vectors/ethereum-tests/TransactionTests/ttEIP1559",
		"tests/vectors/ethereum-tests/TransactionTests/ttSignature",
	};
	int valid_ok = 0, invalid_ok = 0, cases = 0;
	size_t d;

	for (d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *de;
		char *names[256];
		size_t n = 0, i;

		CHECK_MSG(dir != NULL, "cannot open %s", dirs[d]);
		if (!dir)
			continue;
		while ((de = readdir(dir)) != NULL && n < 256) {
			size_t l = strlen(de->d_name);
			if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0)
				names[n++] = strdup(de->d_name);
		}
		closedir(dir);
		qsort(names, n, sizeof names[0], cmp_str);
		for (i = 0; i < n; i++) {
			char path[512];
			snprintf(path, sizeof path, "%s/%s", dirs[d], names[i]);
			run_eth_case(path, &valid_ok, &invalid_ok, &cases);
			free(names[i]);
		}
	}
	printf("    ethereum/tests: %d cases: %d valid accepted with sender, "
	       "hash and intrinsic gas; %d invalid rejected with the mapped "
	       "code; %d wrong\n", cases, valid_ok, invalid_ok,
	       cases - valid_ok - invalid_ok);
	CHECK_EQ_INT(cases, 43);
	CHECK_EQ_INT(valid_ok + invalid_ok, cases);
}

/* ---- hand-made cases ---- */

static const uint8_t test_key[32] = {
	0x4c, 0x08, 0x83, 0xa6, 0x91, 0x02, 0x93, 0x7d,
	0x62, 0x31, 0x47, 0x1b, 0x5d, 0xbb, 0x62, 0x04,
	0xfe, 0x51, 0x29, 0x61, 0x70, 0x82, 0x79, 0x2a,
	0xe4, 0x68, 0xd0, 0x1a, 0x3f, 0x36, 0x23, 0x18,
};

static void base_tx(tx_t *tx, tx_type_t type)
{
	memset(tx, 0, sizeof *tx);
	tx->type = type;
	tx->chain_id = 1;
	tx->eip155 = type == TX_LEGACY;
	tx->nonce = 7;
	tx->gas_limit = 100000;
	u256_from_u64(&tx->gas_price, 20000000000ULL);
	u256_from_u64(&tx->max_fee, 30000000000ULL);
	u256_from_u64(&tx->max_priority_fee, 2000000000ULL);
	tx->has_to = true;
	memset(tx->to.b, 0x35, sizeof tx->to.b);
	u256_from_u64(&tx->value, 1);
}

/* A legacy-shaped list of 9 fields, each given as its encoded RLP. */
static size_t raw_list(uint8_t *out, size_t cap, uint8_t prefix,
		       const uint8_t *const *f, const size_t *flen, size_t nf)
{
	rlp_enc_t e;
	size_t mark, i, n, pre = prefix ? 1 : 0;

	if (prefix)
		out[0] = prefix;
	rlp_enc_init(&e, out + pre, cap - pre);
	mark = rlp_list_begin(&e);
	for (i = 0; i < nf; i++)
		rlp_put_raw(&e, f[i], flen[i]);
	rlp_list_end(&e, mark);
	if (rlp_enc_finish(&e, &n) != KERR_OK)
		return 0;
	return n + pre;
}

/* Split a signed tx into its encoded fields, to rebuild it with one
 * field swapped. */
static size_t split_fields(const uint8_t *raw, size_t len,
			   const uint8_t **f, size_t *flen, size_t max)
{
	rlp_item_t list, c;
	size_t off = 0, n = 0;
	size_t pre = raw[0] < 0xc0 ? 1 : 0;

	if (rlp_decode_all(raw + pre, len - pre, &list) != KERR_OK)
		return 0;
	while (n < max && rlp_list_next(&list, &off, &c) == KERR_OK) {
		f[n] = c.p - c.hdr;
		flen[n] = c.hdr + c.len;
		n++;
	}
	return n;
}

static void test_decode_rejects(void)
{
	static const uint8_t v29[] = { 0x1d }, v35[] = { 0x23 },
			     v36[] = { 0x24 }, p2[] = { 0x02 },
			     nonce_lz[] = { 0x82, 0x00, 0x07 },
			     nonce9[] = { 0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0 },
			     to19[20] = { 0x93 }, to_list[] = { 0xc0 },
			     data_list[] = { 0xc0 }, r_lz[] = { 0x82, 0x00, 0x01 };
	uint8_t raw[512], mod[512], sig_raw[512];
	const uint8_t *f[16];
	size_t flen[16], n, nf, m;
	tx_access_t store[TX_MAX_ACCESS];
	signer_t *s = NULL;
	tx_sig_t sig;
	addr_t from;
	tx_t tx;

	CHECK_OK(signer_new(&s));
	CHECK_OK(signer_set_key(s, test_key));
	if (!s)
		return;

	CHECK_ERR(tx_decode(raw, 0, &tx, &sig, store), KERR_TRUNCATED);
	raw[0] = 0x01;
	CHECK_ERR(tx_decode(raw, 1, &tx, &sig, store), KERR_TX_TYPE);
	raw[0] = 0x03;
	CHECK_ERR(tx_decode(raw, 1, &tx, &sig, store), KERR_TX_TYPE);
	raw[0] = 0x80;
	CHECK_ERR(tx_decode(raw, 1, &tx, &sig, store), KERR_TX_TYPE);
	raw[0] = 0x02;
	raw[1] = 0x80;
	CHECK_ERR(tx_decode(raw, 2, &tx, &sig, store), KERR_RLP_TYPE);
	CHECK_ERR(tx_decode(raw, TX_MAX_RAW + 1, &tx, &sig, store),
		  KERR_TOO_LONG);

	/* A valid EIP-155 tx, then one field at a time made wrong. */
	base_tx(&tx, TX_LEGACY);
	CHECK_OK(signer_sign_tx(s, &tx, sig_raw, sizeof sig_raw, &n, NULL));
	CHECK_OK(tx_sender(sig_raw, n, &from));
	nf = split_fields(sig_raw, n, f, flen, 16);
	CHECK_EQ_INT(nf, 9);

	memcpy(raw, sig_raw, n);
	raw[n] = 0x80;
	CHECK_ERR(tx_decode(raw, n + 1, &tx, &sig, store), KERR_RLP_TRAILING);
	CHECK_ERR(tx_decode(raw, n - 1, &tx, &sig, store), KERR_RLP_TRUNCATED);

	/* Too few and too many fields. */
	m = raw_list(mod, sizeof mod, 0, f, flen, 8);
	CHECK_ERR(tx_decode(mod, m, &tx, &sig, store), KERR_TX_FIELDS);
	f[9] = f[8];
	flen[9] = flen[8];
	m = raw_list(mod, sizeof mod, 0, f, flen, 10);
	CHECK_ERR(tx_decode(mod, m, &tx, &sig, store), KERR_TX_FIELDS);

#define SWAP(idx, bytes, want) do { \
		const uint8_t *keep = f[idx]; size_t keepl = flen[idx]; \
		f[idx] = bytes; flen[idx] = sizeof bytes; \
		m = raw_list(mod, sizeof mod, 0, f, flen, 9); \
		CHECK_ERR(tx_decode(mod, m, &tx, &sig, store), want); \
		f[idx] = keep; flen[idx] = keepl; \
	} while (0)
	SWAP(0, nonce_lz, KERR_RLP_LEADING_ZERO);
	SWAP(0, nonce9, KERR_RLP_TOO_BIG);
	SWAP(3, to19, KERR_TX_FIELD);
	SWAP(3, to_list, KERR_RLP_TYPE);
	SWAP(5, data_list, KERR_RLP_TYPE);
	SWAP(6, v29, KERR_TX_SIGNATURE);
	SWAP(6, v35, KERR_TX_SIGNATURE);   /* chain id 0 */
	SWAP(6, v36, KERR_TX_SIGNATURE);
	SWAP(7, r_lz, KERR_TX_SIGNATURE);
#undef SWAP

	/* The same tx re-encoded from its fields is accepted. */
	m = raw_list(mod, sizeof mod, 0, f, flen, 9);
	CHECK_EQ_INT(m, n);
	CHECK_OK(tx_decode(mod, m, &tx, &sig, store));
	CHECK(tx.eip155 && tx.chain_id == 1);

	/* Type 2: yParity 2 and a malformed access list. */
	base_tx(&tx, TX_EIP1559);
	CHECK_OK(signer_sign_tx(s, &tx, sig_raw, sizeof sig_raw, &n, NULL));
	nf = split_fields(sig_raw, n, f, flen, 16);
	CHECK_EQ_INT(nf, 12);
	{
		static const uint8_t bad_entry_addr[] = {
			0xc4, 0xc3, 0x81, 0xaa, 0xc0 };   /* [[0xaa, []]] */
		static const uint8_t bad_entry_n[] = {
			0xc2, 0xc1, 0xc0 };               /* [[[]]] */
		static const uint8_t not_list[] = { 0x80 };
		uint8_t bad_key[1 + 1 + 21 + 1 + 32], three[1 + 1 + 21 + 1 + 1];
		const uint8_t *keep = f[8];
		size_t keepl = flen[8];

		/* [[addr(20), [key(31)]]] */
		bad_key[0] = 0xf7; bad_key[1] = 0xf6;
		bad_key[2] = 0x94; memset(bad_key + 3, 0x11, 20);
		bad_key[23] = 0xe0; bad_key[24] = 0x9f;
		memset(bad_key + 25, 0x22, 31);
		f[8] = bad_key; flen[8] = 56;
		m = raw_list(mod, sizeof mod, 2, f, flen, 12);
		CHECK_ERR(tx_decode(mod, m, &tx, &sig, store), KERR_TX_FIELD);
		/* [[addr(20), [], 0x80]] */
		three[0] = 0xd8; three[1] = 0xd7;
		three[2] = 0x94; memset(three + 3, 0x11, 20);
		three[23] = 0xc0; three[24] = 0x80;
		f[8] = three; flen[8] = 25;
		m = raw_list(mod, sizeof mod, 2, f, flen, 12);
		CHECK_ERR(tx_decode(mod, m, &tx, &sig, store), KERR_TX_FIELD);
		f[8] = bad_entry_addr; flen[8] = sizeof bad_entry_addr;
		m = raw_list(mod, sizeof mod, 2, f, flen, 12);
		CHECK_ERR(tx_decode(mod, m, &tx, &sig, store), KERR_TX_FIELD);
		f[8] = bad_entry_n; flen[8] = sizeof bad_entry_n;
		m = raw_list(mod, sizeof mod, 2, f, flen, 12);
		CHECK_ERR(tx_decode(mod, m, &tx, &sig, store), KERR_TX_FIELD);
		f[8] = not_list; flen[8] = 1;
		m = raw_list(mod, sizeof mod, 2, f, flen, 12);
		CHECK_ERR(tx_decode(mod, m, &tx, &sig, store), KERR_RLP_TYPE);
		f[8] = keep; flen[8] = keepl;
		f[9] = p2; flen[9] = 1;
		m = raw_list(mod, sizeof mod, 2, f, flen, 12);
		CHECK_ERR(tx_decode(mod, m, &tx, &sig, store), KERR_TX_SIGNATURE);
	}
	signer_free(s);
}

/* r, s range rules of tx_recover, on a real signature. */
static void test_recover_rules(void)
{
	static const uint8_t n_be[32] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
		0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
		0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
	};
	uint8_t raw[512], h[32];
	tx_access_t store[TX_MAX_ACCESS];
	signer_t *s = NULL;
	tx_sig_t sig, bad;
	addr_t from, who;
	tx_t tx, dec;
	size_t n;
	int i, borrow;

	CHECK_OK(signer_new(&s));
	CHECK_OK(signer_set_key(s, test_key));
	CHECK_OK(signer_address(s, &who));
	base_tx(&tx, TX_EIP1559);
	CHECK_OK(tx_signing_hash(&tx, h));
	CHECK_OK(signer_sign_hash(s, h, &sig));
	CHECK_OK(tx_recover(&tx, &sig, &from));
	CHECK(addr_eq(&from, &who));

	/* The same point with s' = n - s and the other parity recovers the
	 * same key; EIP-2 refuses it. */
	bad = sig;
	for (i = 31, borrow = 0; i >= 0; i--) {
		int d = n_be[i] - sig.s[i] - borrow;
		borrow = d < 0;
		bad.s[i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
	bad.recid ^= 1;
	CHECK_ERR(tx_recover(&tx, &bad, &from), KERR_TX_SIGNATURE);
	CHECK_OK(tx_encode_signed(&tx, &bad, raw, sizeof raw, &n));
	CHECK_OK(tx_decode(raw, n, &dec, &bad, store));
	CHECK_ERR(tx_sender(raw, n, &from), KERR_TX_SIGNATURE);

	bad = sig;
	memset(bad.r, 0, 32);
	CHECK_ERR(tx_recover(&tx, &bad, &from), KERR_TX_SIGNATURE);
	bad = sig;
	memset(bad.s, 0, 32);
	CHECK_ERR(tx_recover(&tx, &bad, &from), KERR_TX_SIGNATURE);
	bad = sig;
	memcpy(bad.r, n_be, 32);
	CHECK_ERR(tx_recover(&tx, &bad, &from), KERR_TX_SIGNATURE);
	bad = sig;
	bad.recid = 2;
	CHECK_ERR(tx_recover(&tx, &bad, &from), KERR_TX_SIGNATURE);
	CHECK_ERR(tx_encode_signed(&tx, &bad, raw, sizeof raw, &n),
		  KERR_TX_SIGNATURE);
	/* Another tx under the same signature recovers someone else. */
	tx.nonce++;
	CHECK_OK(tx_recover(&tx, &sig, &from));
	CHECK(!addr_eq(&from, &who));
	signer_free(s);
}

static void test_encode_rules(void)
{
	uint8_t raw[512], keys[3 * 32];
	tx_access_t acc[2], store[TX_MAX_ACCESS];
	signer_t *s = NULL;
	tx_sig_t sig;
	addr_t from, who;
	tx_t tx, dec;
	size_t n, m, i;

	CHECK_OK(signer_new(&s));
	CHECK_OK(signer_set_key(s, test_key));
	CHECK_OK(signer_address(s, &who));

	base_tx(&tx, TX_LEGACY);
	tx.chain_id = 0;
	CHECK_ERR(tx_encode_unsigned(&tx, raw, sizeof raw, &n), KERR_ARG);
	base_tx(&tx, TX_LEGACY);
	tx.naccess = 1;
	tx.access = acc;
	CHECK_ERR(tx_encode_unsigned(&tx, raw, sizeof raw, &n), KERR_ARG);
	base_tx(&tx, TX_EIP1559);
	tx.eip155 = true;
	CHECK_ERR(tx_encode_unsigned(&tx, raw, sizeof raw, &n), KERR_ARG);
	base_tx(&tx, TX_EIP1559);
	tx.type = (tx_type_t)1;
	CHECK_ERR(tx_encode_unsigned(&tx, raw, sizeof raw, &n), KERR_TX_TYPE);
	base_tx(&tx, TX_EIP1559);
	tx.data_len = 4;
	CHECK_ERR(tx_encode_unsigned(&tx, raw, sizeof raw, &n), KERR_ARG);
	base_tx(&tx, TX_EIP1559);
	CHECK_ERR(tx_encode_unsigned(&tx, raw, 10, &n), KERR_BUF);
	CHECK_ERR(tx_encode_unsigned(&tx, raw, 0, &n), KERR_BUF);
	CHECK_ERR(signer_sign_tx(s, &tx, raw, 20, &n, NULL), KERR_BUF);

	/* The largest chain id: v = 2^65 + 33 + recid needs 9 bytes. */
	base_tx(&tx, TX_LEGACY);
	tx.chain_id = UINT64_MAX;
	CHECK_OK(signer_sign_tx(s, &tx, raw, sizeof raw, &n, NULL));
	CHECK_OK(tx_decode(raw, n, &dec, &sig, store));
	CHECK(dec.eip155 && dec.chain_id == UINT64_MAX);
	CHECK_OK(tx_recover(&dec, &sig, &from));
	CHECK(addr_eq(&from, &who));

	/* Unprotected legacy: v 27/28, no chain id. */
	base_tx(&tx, TX_LEGACY);
	tx.eip155 = false;
	CHECK_OK(signer_sign_tx(s, &tx, raw, sizeof raw, &n, NULL));
	CHECK_OK(tx_decode(raw, n, &dec, &sig, store));
	CHECK(!dec.eip155 && dec.chain_id == 0);
	CHECK_OK(tx_sender(raw, n, &from));
	CHECK(addr_eq(&from, &who));

	/* Access list with keys: decoded keys read through tx_access_key
	 * equal the originals; the decoded tx re-encodes to the same bytes. */
	for (i = 0; i < sizeof keys; i++)
		keys[i] = (uint8_t)(i * 7 + 1);
	memset(acc, 0, sizeof acc);
	memset(acc[0].address.b, 0xaa, 20);
	acc[0].keys = keys;
	acc[0].nkeys = 2;
	memset(acc[1].address.b, 0xbb, 20);
	acc[1].keys = keys + 64;
	acc[1].nkeys = 1;
	base_tx(&tx, TX_EIP1559);
	tx.access = acc;
	tx.naccess = 2;
	CHECK_OK(signer_sign_tx(s, &tx, raw, sizeof raw, &n, NULL));
	CHECK_OK(tx_decode(raw, n, &dec, &sig, store));
	CHECK_EQ_INT(dec.naccess, 2);
	if (dec.naccess == 2) {
		CHECK_EQ_MEM(dec.access[0].address.b, acc[0].address.b, 20);
		CHECK_EQ_INT(dec.access[0].nkeys, 2);
		CHECK_EQ_MEM(tx_access_key(&dec.access[0], 0), keys, 32);
		CHECK_EQ_MEM(tx_access_key(&dec.access[0], 1), keys + 32, 32);
		CHECK_EQ_MEM(tx_access_key(&dec.access[1], 0), keys + 64, 32);
	}
	CHECK_OK(tx_recover(&dec, &sig, &from));
	CHECK(addr_eq(&from, &who));
	{
		uint8_t again[512];
		CHECK_OK(tx_encode_signed(&dec, &sig, again, sizeof again, &m));
		CHECK_EQ_INT(m, n);
		CHECK_EQ_MEM(again, raw, n);
	}
	/* More than TX_MAX_ACCESS entries are refused by the decoder. */
	{
		static tx_access_t many[TX_MAX_ACCESS + 1];
		static uint8_t big[TX_MAX_ACCESS * 32 + 512];
		for (i = 0; i <= TX_MAX_ACCESS; i++)
			memset(many[i].address.b, (int)i, 20);
		base_tx(&tx, TX_EIP1559);
		tx.access = many;
		tx.naccess = TX_MAX_ACCESS;
		CHECK_OK(signer_sign_tx(s, &tx, big, sizeof big, &n, NULL));
		CHECK_OK(tx_sender(big, n, &from));
		tx.naccess = TX_MAX_ACCESS + 1;
		CHECK_OK(signer_sign_tx(s, &tx, big, sizeof big, &n, NULL));
		CHECK_ERR(tx_sender(big, n, &from), KERR_TOO_LONG);
	}
	/* The signing hash of a large tx goes through the heap path, and
	 * data beyond TX_MAX_RAW is refused. */
	{
		uint8_t *data = calloc(1, TX_MAX_RAW + 1), h[32], h2[32];
		uint8_t *big = malloc(RAW_CAP);
		base_tx(&tx, TX_EIP1559);
		tx.data = data;
		tx.data_len = 5000;
		CHECK_OK(tx_signing_hash(&tx, h));
		CHECK_OK(tx_encode_unsigned(&tx, big, RAW_CAP, &n));
		keccak256(h2, big, n);
		CHECK_EQ_MEM(h, h2, 32);
		tx.data_len = TX_MAX_RAW + 1;
		CHECK_ERR(tx_signing_hash(&tx, h), KERR_TOO_LONG);
		tx.data_len = TX_MAX_RAW - 10;
		CHECK_ERR(tx_signing_hash(&tx, h), KERR_TOO_LONG);
		free(data);
		free(big);
	}
	signer_free(s);
}

static void test_validate_rules(void)
{
	uint8_t data[40] = { 0 }, keys[64] = { 0 };
	tx_access_t acc[1];
	uint64_t g;
	tx_t tx;

	base_tx(&tx, TX_EIP1559);
	CHECK_OK(tx_validate(&tx, 1));
	CHECK_ERR(tx_validate(&tx, 5), KERR_TX_CHAIN_ID);
	/* An unprotected legacy tx names no chain. */
	base_tx(&tx, TX_LEGACY);
	tx.eip155 = false;
	tx.chain_id = 0;
	CHECK_OK(tx_validate(&tx, 5));
	tx.eip155 = true;
	tx.chain_id = 1;
	CHECK_ERR(tx_validate(&tx, 5), KERR_TX_CHAIN_ID);

	base_tx(&tx, TX_EIP1559);
	tx.nonce = UINT64_MAX;
	CHECK_ERR(tx_validate(&tx, 1), KERR_NUM_RANGE);
	tx.nonce = UINT64_MAX - 1;
	CHECK_OK(tx_validate(&tx, 1));

	base_tx(&tx, TX_EIP1559);
	tx.max_priority_fee = tx.max_fee;
	CHECK_OK(tx_validate(&tx, 1));
	tx.max_priority_fee.w[0]++;
	CHECK_ERR(tx_validate(&tx, 1), KERR_TX_FEE);

	base_tx(&tx, TX_LEGACY);
	tx.gas_price.w[3] = UINT64_MAX;
	CHECK_ERR(tx_validate(&tx, 1), KERR_NUM_OVERFLOW);

	/* Intrinsic gas, term by term. */
	base_tx(&tx, TX_EIP1559);
	CHECK_OK(tx_intrinsic_gas(&tx, &g));
	CHECK_EQ_INT(g, 21000);
	data[0] = 1;
	data[1] = 2;
	tx.data = data;
	tx.data_len = 40;             /* 2 non-zero, 38 zero */
	CHECK_OK(tx_intrinsic_gas(&tx, &g));
	CHECK_EQ_INT(g, 21000 + 2 * 16 + 38 * 4);
	tx.has_to = false;            /* + creation + 2 words of initcode */
	CHECK_OK(tx_intrinsic_gas(&tx, &g));
	CHECK_EQ_INT(g, 53000 + 2 * 16 + 38 * 4 + 2 * 2);
	tx.has_to = true;
	acc[0].keys = keys;
	acc[0].nkeys = 2;
	acc[0].keys_rlp = false;
	tx.access = acc;
	tx.naccess = 1;
	CHECK_OK(tx_intrinsic_gas(&tx, &g));
	CHECK_EQ_INT(g, 21000 + 2 * 16 + 38 * 4 + 2400 + 2 * 1900);

	tx.gas_limit = g;
	CHECK_OK(tx_validate(&tx, 1));
	tx.gas_limit = g - 1;
	CHECK_ERR(tx_validate(&tx, 1), KERR_TX_GAS);

	/* EIP-7623 floor: 1000 non-zero bytes cost 21000 + 16000 by the
	 * standard rule but 21000 + 40000 by the floor. */
	{
		uint8_t *d = malloc(1000);
		memset(d, 0xff, 1000);
		base_tx(&tx, TX_EIP1559);
		tx.data = d;
		tx.data_len = 1000;
		CHECK_OK(tx_intrinsic_gas(&tx, &g));
		CHECK_EQ_INT(g, 37000);
		tx.gas_limit = 60999;
		CHECK_ERR(tx_validate(&tx, 1), KERR_TX_GAS);
		tx.gas_limit = 61000;
		CHECK_OK(tx_validate(&tx, 1));
		free(d);
	}
	/* EIP-3860: initcode size limit for creations only. */
	{
		uint8_t *d = calloc(1, TX_MAX_INITCODE + 1);
		base_tx(&tx, TX_EIP1559);
		tx.has_to = false;
		tx.data = d;
		tx.data_len = TX_MAX_INITCODE + 1;
		tx.gas_limit = 10000000;
		CHECK_ERR(tx_validate(&tx, 1), KERR_TOO_LONG);
		tx.data_len = TX_MAX_INITCODE;
		CHECK_OK(tx_validate(&tx, 1));
		tx.has_to = true;
		tx.data_len = TX_MAX_INITCODE + 1;
		CHECK_OK(tx_validate(&tx, 1));
		free(d);
	}
}

int main(void)
{
	RUN(test_ethers_transactions);
	RUN(test_ethereum_tests);
	RUN(test_decode_rejects);
	RUN(test_recover_rules);
	RUN(test_encode_rules);
	RUN(test_validate_rules);
	return t_done();
}
