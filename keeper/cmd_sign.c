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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper/cli.h"
#include "keeper/kerr.h"
#include "signer/hex.h"
#include "signer/signer.h"
#include "signer/tx.h"
#include "signer/u256.h"

/* Every flag of both commands; a flag's value lands in f[F_…]. */
enum {
	F_KEY_FILE, F_KEYSTORE, F_PASSWORD_FILE, F_CHAIN_ID, F_NONCE, F_GAS,
	F_TO, F_VALUE, F_DATA, F_MAX_FEE, F_PRIORITY_FEE, F_GAS_PRICE,
	F_COUNT,
	F_HELP = F_COUNT,
};

typedef const char *flags_t[F_COUNT];

#define KEY_OPTIONS \
	{ "key-file", required_argument, NULL, F_KEY_FILE }, \
	{ "keystore", required_argument, NULL, F_KEYSTORE }, \
	{ "password-file", required_argument, NULL, F_PASSWORD_FILE }, \
	{ "help", no_argument, NULL, F_HELP }

static const struct option sign_options[] = {
	KEY_OPTIONS,
	{ "chain-id", required_argument, NULL, F_CHAIN_ID },
	{ "nonce", required_argument, NULL, F_NONCE },
	{ "gas", required_argument, NULL, F_GAS },
	{ "to", required_argument, NULL, F_TO },
	{ "value", required_argument, NULL, F_VALUE },
	{ "data", required_argument, NULL, F_DATA },
	{ "max-fee", required_argument, NULL, F_MAX_FEE },
	{ "priority-fee", required_argument, NULL, F_PRIORITY_FEE },
	{ "gas-price", required_argument, NULL, F_GAS_PRICE },
	{ NULL, 0, NULL, 0 },
};

static const struct option address_options[] = {
	KEY_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

/*
 * Collect the flags of cmd into f.  Returns CLI_EXIT_OK, CLI_EXIT_USAGE
 * (message printed) or -1 when --help was asked for (help printed).
 */
static int collect_flags(const char *cmd, const struct option *opts, int argc,
			 char **argv, flags_t f)
{
	int c, idx = 0;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", opts, &idx)) != -1) {
		if (c == F_HELP) {
			fputs(cli_help_text(cmd), stdout);
			return -1;
		}
		if (c == ':' || c < 0 || c >= F_COUNT)
			return cli_option_error(cmd, c, argv);
		if (f[c])
			return cli_usage_error(cmd, "--%s given twice", opts[idx].name);
		f[c] = optarg;
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument: %s", argv[optind]);
	return CLI_EXIT_OK;
}

/* Load the key named by the flags; prints the reason on failure. */
static int load_key(const char *cmd, const flags_t f, signer_t **out)
{
	signer_t *s = NULL;
	const char *file;
	int saved_errno;
	kerr_t err;

	if (f[F_KEY_FILE] && f[F_KEYSTORE])
		return cli_usage_error(cmd, "--key-file and --keystore exclude each other");
	if (!f[F_KEY_FILE] && !f[F_KEYSTORE])
		return cli_usage_error(cmd, "missing --key-file (or --keystore with --password-file)");
	if (f[F_KEYSTORE] && !f[F_PASSWORD_FILE])
		return cli_usage_error(cmd, "--keystore needs --password-file");
	if (f[F_KEY_FILE] && f[F_PASSWORD_FILE])
		return cli_usage_error(cmd, "--password-file goes with --keystore, not --key-file");

	err = signer_new(&s);
	errno = 0;
	if (err != KERR_OK) {
		fprintf(stderr, "keeper: cannot start the signer: %s\n", kerr_str(err));
		return CLI_EXIT_FAIL;
	}
	if (f[F_KEY_FILE]) {
		file = f[F_KEY_FILE];
		err = signer_load_key_file(s, file);
		saved_errno = errno;
	} else {
		file = f[F_KEYSTORE];
		err = signer_load_keystore(s, f[F_KEYSTORE], f[F_PASSWORD_FILE]);
		saved_errno = errno;
		/* Name the file the error is about.  Only the password file
		 * must be private (the keystore is encrypted); an unreadable
		 * file is the password file when the keystore reads fine. */
		if (err == KERR_KEY_PERMS
		    || (err == KERR_IO && access(f[F_KEYSTORE], R_OK) == 0))
			file = f[F_PASSWORD_FILE];
	}
	if (err == KERR_OK) {
		*out = s;
		return CLI_EXIT_OK;
	}
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
			f[F_PASSWORD_FILE]);
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

/* Fill tx from the flags; data_buf (TX_MAX_RAW bytes) receives calldata. */
static int build_tx(const flags_t f, tx_t *tx, uint8_t *data_buf)
{
	int rc;
	kerr_t err;
	static const struct { const char *name; int flag; } required[] = {
		{ "--chain-id", F_CHAIN_ID }, { "--nonce", F_NONCE },
		{ "--gas", F_GAS }, { "--to", F_TO },
	};
	for (size_t i = 0; i < sizeof required / sizeof *required; i++)
		if (!f[required[i].flag])
			return cli_usage_error("sign", "missing %s", required[i].name);

	memset(tx, 0, sizeof *tx);
	if (f[F_GAS_PRICE]) {
		if (f[F_MAX_FEE] || f[F_PRIORITY_FEE])
			return cli_usage_error("sign", "--gas-price (legacy) excludes "
					       "--max-fee and --priority-fee (EIP-1559)");
		tx->type = TX_LEGACY;
		tx->eip155 = true;
		if ((rc = wei_flag("--gas-price", f[F_GAS_PRICE], &tx->gas_price)))
			return rc;
	} else {
		if (!f[F_MAX_FEE] || !f[F_PRIORITY_FEE])
			return cli_usage_error("sign", "missing %s (or --gas-price for a "
					       "legacy transaction)",
					       f[F_MAX_FEE] ? "--priority-fee" : "--max-fee");
		tx->type = TX_EIP1559;
		if ((rc = wei_flag("--max-fee", f[F_MAX_FEE], &tx->max_fee))
		    || (rc = wei_flag("--priority-fee", f[F_PRIORITY_FEE], &tx->max_priority_fee)))
			return rc;
	}
	if ((rc = num_flag("--chain-id", f[F_CHAIN_ID], &tx->chain_id))
	    || (rc = num_flag("--nonce", f[F_NONCE], &tx->nonce))
	    || (rc = num_flag("--gas", f[F_GAS], &tx->gas_limit)))
		return rc;
	if (tx->chain_id == 0)
		return cli_usage_error("sign", "--chain-id: must be at least 1");
	/* EIP-2681: the nonce is at most 2^64 - 2. */
	if (tx->nonce == UINT64_MAX)
		return cli_usage_error("sign", "--nonce: 2^64-1 is not a valid nonce (EIP-2681)");
	err = addr_parse(&tx->to, f[F_TO], strlen(f[F_TO]));
	if (err != KERR_OK)
		return cli_usage_error("sign", "--to: %s", kerr_str(err));
	tx->has_to = true;
	if (f[F_VALUE] && (rc = wei_flag("--value", f[F_VALUE], &tx->value)))
		return rc;
	if (f[F_DATA]) {
		err = hex_decode(data_buf, TX_MAX_RAW - 1024, &tx->data_len, f[F_DATA],
				 strlen(f[F_DATA]));
		if (err == KERR_OK && strncmp(f[F_DATA], "0x", 2) != 0 && strncmp(f[F_DATA], "0X", 2) != 0)
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
	flags_t f = { 0 };
	signer_t *s = NULL;
	size_t len;
	tx_t tx;
	kerr_t err;
	int rc;

	rc = collect_flags("sign", sign_options, argc, argv, f);
	if (rc != CLI_EXIT_OK)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if ((rc = build_tx(f, &tx, data)))
		return rc;
	if ((rc = load_key("sign", f, &s)))
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
	char text[ADDR_TEXT_LEN];
	flags_t f = { 0 };
	signer_t *s = NULL;
	addr_t addr;
	kerr_t err;
	int rc;

	rc = collect_flags("address", address_options, argc, argv, f);
	if (rc != CLI_EXIT_OK)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if ((rc = load_key("address", f, &s)))
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
