/*
 * kerr: the one error enum of keeper and its signer, with a strerror.
 *
 * Every function that can fail returns a kerr_t.  Values are part of the
 * project's ABI with itself (logs, metrics and tests name them), so a code is
 * never renumbered or reused: new codes go at the end of their block, and
 * blocks leave room to grow.  The text from kerr_str() says what is wrong in
 * words an operator understands; callers add where (file, line, field).
 */
#ifndef KEEPER_KERR_H
#define KEEPER_KERR_H

typedef enum {
	KERR_OK = 0,

	/* general: 1..49 */
	KERR_NOMEM = 1,         /* out of memory */
	KERR_IO = 2,            /* read or write failed (errno says more) */
	KERR_ARG = 3,           /* invalid argument to a function */
	KERR_TOO_LONG = 4,      /* input longer than its limit */
	KERR_BUF = 5,           /* output buffer too small */
	KERR_TRUNCATED = 6,     /* input ends too early */
	KERR_JSON = 7,          /* malformed JSON or wrong JSON type */
	KERR_USAGE = 8,         /* bad command-line usage */
	KERR_NOT_FOUND = 9,     /* a named thing does not exist */
	KERR_FULL = 10,         /* a bounded table is full */
	KERR_STATE_INVALID = 11,/* the state file breaks its format */
	KERR_IMPORT_INVALID = 12,/* a price file to import breaks its format */
	KERR_IN_FLIGHT = 13,    /* a transaction for this action is already in flight */

	/* hex and numbers: 50..99 */
	KERR_HEX_PREFIX = 50,   /* missing 0x prefix */
	KERR_HEX_ODD = 51,      /* odd number of hex digits where bytes are meant */
	KERR_HEX_CHAR = 52,     /* character that is not a hex digit */
	KERR_HEX_LENGTH = 53,   /* wrong number of hex digits for a fixed size */
	KERR_NUM_EMPTY = 54,    /* empty number */
	KERR_NUM_CHAR = 55,     /* character that is not a digit */
	KERR_NUM_OVERFLOW = 56, /* value does not fit (256 bits, or the field) */
	KERR_NUM_UNDERFLOW = 57,/* subtraction below zero */
	KERR_DIV_ZERO = 58,     /* division by zero */
	KERR_NUM_RANGE = 59,    /* value outside its allowed range */

	/* RLP: 100..149 */
	KERR_RLP_TRUNCATED = 100,   /* item runs past the end of the input */
	KERR_RLP_NONCANONICAL = 101,/* non-minimal length or single byte wrapped */
	KERR_RLP_TRAILING = 102,    /* bytes after the top-level item */
	KERR_RLP_TYPE = 103,        /* list where a string is expected or back */
	KERR_RLP_LEADING_ZERO = 104,/* integer with a leading zero byte */
	KERR_RLP_TOO_BIG = 105,     /* integer or length wider than allowed */
	KERR_RLP_DEPTH = 106,       /* lists nested deeper than the limit */

	/* addresses and ABI: 150..199 */
	KERR_ADDR_LENGTH = 150,     /* address is not 0x + 40 hex digits */
	KERR_ADDR_CHECKSUM = 151,   /* mixed-case address fails EIP-55 */
	KERR_ABI_SIGNATURE = 152,   /* malformed Solidity function signature */
	KERR_ABI_TYPE = 153,        /* unsupported or invalid ABI type */
	KERR_ABI_ARGC = 154,        /* argument count differs from signature */
	KERR_ABI_VALUE = 155,       /* argument does not fit its ABI type */
	KERR_ACTION_FIELD = 156,    /* the trip lacks a field the action needs */

	/* transactions and signatures: 200..249 */
	KERR_TX_TYPE = 200,         /* unsupported transaction type */
	KERR_TX_FIELDS = 201,       /* wrong number of fields */
	KERR_TX_FIELD = 202,        /* a field has the wrong size or form */
	KERR_TX_SIGNATURE = 203,    /* invalid v, r or s */
	KERR_TX_RECOVER = 204,      /* public key recovery failed */
	KERR_TX_CHAIN_ID = 205,     /* chain id does not match */
	KERR_TX_FEE = 206,          /* priority fee above the max fee */
	KERR_TX_GAS = 207,          /* gas limit below the intrinsic gas */
	KERR_NONCE_SYNC = 208,      /* the nonce must be read from the chain first */

	/* keys: 250..299 */
	KERR_KEY_FORMAT = 250,      /* key file is not 0x + 64 hex digits */
	KERR_KEY_INVALID = 251,     /* zero or not below the curve order */
	KERR_KEY_PERMS = 252,       /* secret file readable by group or others */
	KERR_KEYSTORE_FORMAT = 253, /* keystore JSON lacks or mangles a field */
	KERR_KEYSTORE_KDF = 254,    /* unsupported or unsafe KDF parameters */
	KERR_KEYSTORE_CIPHER = 255, /* unsupported cipher */
	KERR_KEYSTORE_PASSWORD = 256,/* MAC mismatch: wrong password */
	KERR_CRYPTO = 257,          /* the crypto library failed */
	KERR_SIGNER_TARGET = 258,   /* not a configured (to, selector) pair */

	/* config: 300..349 */
	KERR_CONFIG_SYNTAX = 300,   /* libconfig could not parse the file */
	KERR_CONFIG_INVALID = 301,  /* parsed, but one or more values are wrong */

	/* JSON-RPC client: 400..449 */
	KERR_RPC_ERROR = 400,       /* the node answered with a JSON-RPC error */
	KERR_RPC_REPLY = 401,       /* reply is JSON but not a valid JSON-RPC 2.0 response */
	KERR_RPC_ID = 402,          /* reply id does not match the request */
	KERR_RPC_HTTP = 403,        /* HTTP status other than 2xx */
	KERR_RPC_TIMEOUT = 404,     /* no reply within the timeout */
	KERR_RPC_CONNECT = 405,     /* could not connect to the endpoint */
	KERR_RPC_TRANSPORT = 406,   /* sending or receiving failed mid-way */
	KERR_RPC_BUSY = 407,        /* every in-flight request slot is taken */
	KERR_RPC_MISSING = 408,     /* a batch reply holds no answer to this call */
} kerr_t;

/* A short, static, human-readable description of err; never NULL. */
const char *kerr_str(kerr_t err);

/* The enum's identifier ("KERR_HEX_ODD") for logs and tests; never NULL. */
const char *kerr_name(kerr_t err);

#endif
