/*
 * cmd_sign: `keeper sign` and `keeper address`, the offline faces of the
 * signer.  They let an operator check which address a key file or keystore
 * holds, and sign a transaction by hand (or compare our bytes with another
 * tool's) without a config or a node.
 *
 * Flags are parsed strictly: a value that does not fit its field, hex that
 * is malformed or a missing flag is a usage error (exit 2) naming the flag.
 * A key that cannot be loaded is a runtime failure (exit 1) naming the file
 * and the fix; nothing about the key but its address is ever printed.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeper/cli.h"
#include "keeper/kerr.h"
#include "signer/hex.h"
#include "signer/signer.h"
#include "signer/tx.h"
#include "signer/u256.h"

enum {
	OPT_KEY_FILE = 256, OPT_KEYSTORE, OPT_PASSWORD_FILE, OPT_CHAIN_ID,
	OPT_NONCE, OPT_GAS, OPT_TO, OPT_VALUE, OPT_DATA, OPT_MAX_FEE,
	OPT_PRIORITY_FEE, OPT_GAS_PRICE, OPT_HELP,
};

typedef struct {
	const char *key_file, *keystore, *password_file;
} key_opts_t;

/* Load the key named by the options; prints the reason on failure. */
static int load_key(const char *cmd, const key_opts_t *k, signer_t **out)
{
	signer_t *s = NULL;
	const char *file;
	int saved_errno;
	kerr_t err;

	if (k->key_file && k->keystore)
		return cli_usage_error(cmd, "--key-file and --keystore exclude each other");
	if (!k->key_file && !k->keystore)
		return cli_usage_error(cmd, "missing --key-file (or --keystore with --password-file)");
	if (k->keystore && !k->password_file)
		return cli_usage_error(cmd, "--keystore needs --password-file");
	if (k->key_file && k->password_file)
		return cli_usage_error(cmd, "--password-file goes with --keystore, not --key-file");

	err = signer_new(&s);
	errno = 0;
	if (err != KERR_OK) {
		fprintf(stderr, "keeper: cannot start the signer: %s\n", kerr_str(err));
		return CLI_EXIT_FAIL;
	}
	if (k->key_file) {
		file = k->key_file;
		err = signer_load_key_file(s, file);
	} else {
		file = k->keystore;
		err = signer_load_keystore(s, k->keystore, k->password_file);
		/* Name the file the error is about.  Only the password file
		 * must be private (the keystore is encrypted); an unreadable
		 * file is the password file when the keystore reads fine. */
		if (err == KERR_KEY_PERMS
		    || (err == KERR_IO && access(k->keystore, R_OK) == 0))
			file = k->password_file;
	}
	if (err == KERR_OK) {
		*out = s;
		return CLI_EXIT_OK;
	}
	saved_errno = errno;
	signer_free(s);
	switch (err) {
	case KERR_IO:
		fprintf(stderr, "keeper: cannot read %s: %s\n", file,
			saved_errno ? strerror(saved_errno) : "read failed");
		break;
	case KERR_KEY_PERMS:
		fprintf(stderr, "keeper: %s is readable by group or others; "
			"a secret file must be private: chmod 600 %s\n", file, file);
		break;
	case KERR_KEY_FORMAT:
		fprintf(stderr, "keeper: %s: not a key file (want one 0x-prefixed "
			"64-hex-digit private key)\n", file);
		break;
	case KERR_KEY_INVALID:
		fprintf(stderr, "keeper: %s: the key is not a valid secp256k1 private "
			"key (zero or not below the curve order)\n", file);
		break;
	case KERR_KEYSTORE_PASSWORD:
		fprintf(stderr, "keeper: %s: wrong password (from %s)\n", file,
			k->password_file);
		break;
	default:
		fprintf(stderr, "keeper: %s: %s\n", file, kerr_str(err));
		break;
	}
	return CLI_EXIT_FAIL;
}

static kerr_t parse_u64(const char *s, uint64_t *out)
{
	u256_t v;
	kerr_t err = u256_parse(&v, s, strlen(s));
	if (err != KERR_OK)
		return err;
	return u256_to_u64(&v, out) ? KERR_OK : KERR_NUM_OVERFLOW;
}

/* Checks one numeric flag; on error prints the usage line and returns 2. */
static int num_flag(const char *flag, const char *s, uint64_t *out)
{
	kerr_t err = parse_u64(s, out);
	if (err != KERR_OK)
		return cli_usage_error("sign", "%s: %s (want a 64-bit decimal or 0x-hex number)",
				       flag, kerr_str(err));
	return CLI_EXIT_OK;
}

static int wei_flag(const char *flag, const char *s, u256_t *out)
{
	kerr_t err = u256_parse(out, s, strlen(s));
	if (err != KERR_OK)
		return cli_usage_error("sign", "%s: %s (want wei as a decimal or 0x-hex "
				       "number below 2^256)", flag, kerr_str(err));
	return CLI_EXIT_OK;
}

static const struct option sign_longopts[] = {
	{ "key-file", required_argument, NULL, OPT_KEY_FILE },
	{ "keystore", required_argument, NULL, OPT_KEYSTORE },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "chain-id", required_argument, NULL, OPT_CHAIN_ID },
	{ "nonce", required_argument, NULL, OPT_NONCE },
	{ "gas", required_argument, NULL, OPT_GAS },
	{ "to", required_argument, NULL, OPT_TO },
	{ "value", required_argument, NULL, OPT_VALUE },
	{ "data", required_argument, NULL, OPT_DATA },
	{ "max-fee", required_argument, NULL, OPT_MAX_FEE },
	{ "priority-fee", required_argument, NULL, OPT_PRIORITY_FEE },
	{ "gas-price", required_argument, NULL, OPT_GAS_PRICE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* The raw flag values, checked once all are seen. */
typedef struct {
	key_opts_t key;
	const char *chain_id, *nonce, *gas, *to, *value, *data;
	const char *max_fee, *priority_fee, *gas_price;
} sign_args_t;

static int collect_sign_args(int argc, char **argv, sign_args_t *a)
{
	int c, idx = 0;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", sign_longopts, &idx)) != -1) {
		const char **slot = NULL;
		switch (c) {
		case OPT_KEY_FILE: slot = &a->key.key_file; break;
		case OPT_KEYSTORE: slot = &a->key.keystore; break;
		case OPT_PASSWORD_FILE: slot = &a->key.password_file; break;
		case OPT_CHAIN_ID: slot = &a->chain_id; break;
		case OPT_NONCE: slot = &a->nonce; break;
		case OPT_GAS: slot = &a->gas; break;
		case OPT_TO: slot = &a->to; break;
		case OPT_VALUE: slot = &a->value; break;
		case OPT_DATA: slot = &a->data; break;
		case OPT_MAX_FEE: slot = &a->max_fee; break;
		case OPT_PRIORITY_FEE: slot = &a->priority_fee; break;
		case OPT_GAS_PRICE: slot = &a->gas_price; break;
		case OPT_HELP:
			fputs(cli_help_text("sign"), stdout);
			return -1;
		case ':':
			return cli_usage_error("sign", "%s needs a value", argv[optind - 1]);
		default:
			return cli_usage_error("sign", "unknown option: %s", argv[optind - 1]);
		}
		if (*slot)
			return cli_usage_error("sign", "--%s given twice", sign_longopts[idx].name);
		*slot = optarg;
	}
	if (optind < argc)
		return cli_usage_error("sign", "unexpected argument: %s", argv[optind]);
	return CLI_EXIT_OK;
}

/* Fill tx from the flags; data_buf (TX_MAX_RAW bytes) receives calldata. */
static int build_tx(const sign_args_t *a, tx_t *tx, uint8_t *data_buf)
{
	int rc;
	kerr_t err;
	static const struct { const char *flag; size_t off; } required[] = {
		{ "--chain-id", offsetof(sign_args_t, chain_id) },
		{ "--nonce", offsetof(sign_args_t, nonce) },
		{ "--gas", offsetof(sign_args_t, gas) },
		{ "--to", offsetof(sign_args_t, to) },
	};
	for (size_t i = 0; i < sizeof required / sizeof *required; i++)
		if (!*(const char *const *)((const char *)a + required[i].off))
			return cli_usage_error("sign", "missing %s", required[i].flag);

	memset(tx, 0, sizeof *tx);
	if (a->gas_price) {
		if (a->max_fee || a->priority_fee)
			return cli_usage_error("sign", "--gas-price (legacy) excludes "
					       "--max-fee and --priority-fee (EIP-1559)");
		tx->type = TX_LEGACY;
		tx->eip155 = true;
		if ((rc = wei_flag("--gas-price", a->gas_price, &tx->gas_price)))
			return rc;
	} else {
		if (!a->max_fee || !a->priority_fee)
			return cli_usage_error("sign", "missing %s (or --gas-price for a "
					       "legacy transaction)",
					       a->max_fee ? "--priority-fee" : "--max-fee");
		tx->type = TX_EIP1559;
		if ((rc = wei_flag("--max-fee", a->max_fee, &tx->max_fee))
		    || (rc = wei_flag("--priority-fee", a->priority_fee, &tx->max_priority_fee)))
			return rc;
	}
	if ((rc = num_flag("--chain-id", a->chain_id, &tx->chain_id))
	    || (rc = num_flag("--nonce", a->nonce, &tx->nonce))
	    || (rc = num_flag("--gas", a->gas, &tx->gas_limit)))
		return rc;
	if (tx->chain_id == 0)
		return cli_usage_error("sign", "--chain-id: must be at least 1");
	/* EIP-2681: the nonce is at most 2^64 - 2. */
	if (tx->nonce == UINT64_MAX)
		return cli_usage_error("sign", "--nonce: 2^64-1 is not a valid nonce (EIP-2681)");
	err = addr_parse(&tx->to, a->to, strlen(a->to));
	if (err != KERR_OK)
		return cli_usage_error("sign", "--to: %s", kerr_str(err));
	tx->has_to = true;
	if (a->value && (rc = wei_flag("--value", a->value, &tx->value)))
		return rc;
	if (a->data) {
		err = hex_decode(data_buf, TX_MAX_RAW - 1024, &tx->data_len, a->data,
				 strlen(a->data));
		if (err == KERR_OK && strncmp(a->data, "0x", 2) != 0 && strncmp(a->data, "0X", 2) != 0)
			err = KERR_HEX_PREFIX;
		if (err != KERR_OK)
			return cli_usage_error("sign", "--data: %s", kerr_str(err));
		tx->data = data_buf;
	}
	return CLI_EXIT_OK;
}

int cmd_sign(int argc, char **argv)
{
	static uint8_t data[TX_MAX_RAW], raw[TX_MAX_RAW];
	static char hex[2 * TX_MAX_RAW + 1];
	sign_args_t a = { 0 };
	signer_t *s = NULL;
	size_t len;
	tx_t tx;
	kerr_t err;
	int rc;

	rc = collect_sign_args(argc, argv, &a);
	if (rc != CLI_EXIT_OK)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if ((rc = build_tx(&a, &tx, data)))
		return rc;
	if ((rc = load_key("sign", &a.key, &s)))
		return rc;
	err = signer_sign_tx(s, &tx, raw, sizeof raw, &len, NULL);
	signer_free(s);
	if (err != KERR_OK) {
		fprintf(stderr, "keeper: signing failed: %s\n", kerr_str(err));
		return CLI_EXIT_FAIL;
	}
	hex_encode(hex, raw, len);
	printf("0x%s\n", hex);
	return CLI_EXIT_OK;
}

int cmd_address(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key-file", required_argument, NULL, OPT_KEY_FILE },
		{ "keystore", required_argument, NULL, OPT_KEYSTORE },
		{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	key_opts_t k = { 0 };
	char text[ADDR_TEXT_LEN];
	signer_t *s = NULL;
	addr_t addr;
	kerr_t err;
	int c, rc, idx = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", longopts, &idx)) != -1) {
		const char **slot;
		switch (c) {
		case OPT_KEY_FILE: slot = &k.key_file; break;
		case OPT_KEYSTORE: slot = &k.keystore; break;
		case OPT_PASSWORD_FILE: slot = &k.password_file; break;
		case OPT_HELP:
			fputs(cli_help_text("address"), stdout);
			return CLI_EXIT_OK;
		case ':':
			return cli_usage_error("address", "%s needs a value", argv[optind - 1]);
		default:
			return cli_usage_error("address", "unknown option: %s", argv[optind - 1]);
		}
		if (*slot)
			return cli_usage_error("address", "--%s given twice", longopts[idx].name);
		*slot = optarg;
	}
	if (optind < argc)
		return cli_usage_error("address", "unexpected argument: %s", argv[optind]);
	if ((rc = load_key("address", &k, &s)))
		return rc;
	err = signer_address(s, &addr);
	signer_free(s);
	if (err != KERR_OK) {
		fprintf(stderr, "keeper: %s\n", kerr_str(err));
		return CLI_EXIT_FAIL;
	}
	addr_to_checksum(&addr, text);
	printf("%s\n", text);
	return CLI_EXIT_OK;
}
