/*
 * kerr: texts for the error enum.  Kept as one switch so that the compiler
 * (-Wswitch) notices a code added to kerr.h without a text here.
 */
#include "keeper/kerr.h"

const char *kerr_str(kerr_t err)
{
	switch (err) {
	case KERR_OK: return "success";
	case KERR_NOMEM: return "out of memory";
	case KERR_IO: return "read or write failed";
	case KERR_ARG: return "invalid argument to a function";
	case KERR_TOO_LONG: return "input longer than its limit";
	case KERR_BUF: return "output buffer too small";
	case KERR_TRUNCATED: return "input ends too early";
	case KERR_JSON: return "malformed JSON or wrong JSON type";
	case KERR_USAGE: return "bad command-line usage";
	case KERR_NOT_FOUND: return "a named thing does not exist";
	case KERR_FULL: return "a bounded table is full";
	case KERR_STATE_INVALID: return "the state file breaks its format";
	case KERR_IMPORT_INVALID: return "the price file breaks its format";
	case KERR_IN_FLIGHT: return "a transaction for this action is already in flight";
	case KERR_HEX_PREFIX: return "missing 0x prefix";
	case KERR_HEX_ODD: return "odd number of hex digits where bytes are meant";
	case KERR_HEX_CHAR: return "character that is not a hex digit";
	case KERR_HEX_LENGTH: return "wrong number of hex digits for a fixed size";
	case KERR_NUM_EMPTY: return "empty number";
	case KERR_NUM_CHAR: return "character that is not a digit";
	case KERR_NUM_OVERFLOW: return "value does not fit (256 bits, or the field)";
	case KERR_NUM_UNDERFLOW: return "subtraction below zero";
	case KERR_DIV_ZERO: return "division by zero";
	case KERR_NUM_RANGE: return "value outside its allowed range";
	case KERR_RLP_TRUNCATED: return "RLP item runs past the end of the input";
	case KERR_RLP_NONCANONICAL: return "non-canonical RLP (non-minimal length, or single byte wrapped)";
	case KERR_RLP_TRAILING: return "bytes after the top-level RLP item";
	case KERR_RLP_TYPE: return "RLP list where a string is expected, or the reverse";
	case KERR_RLP_LEADING_ZERO: return "RLP integer with a leading zero byte";
	case KERR_RLP_TOO_BIG: return "RLP integer or length wider than allowed";
	case KERR_RLP_DEPTH: return "RLP lists nested deeper than the limit";
	case KERR_ADDR_LENGTH: return "address is not 0x + 40 hex digits";
	case KERR_ADDR_CHECKSUM: return "mixed-case address fails EIP-55";
	case KERR_ABI_SIGNATURE: return "malformed Solidity function signature";
	case KERR_ABI_TYPE: return "unsupported or invalid ABI type";
	case KERR_ABI_ARGC: return "argument count differs from signature";
	case KERR_ABI_VALUE: return "argument does not fit its ABI type";
	case KERR_ACTION_FIELD: return "the trip lacks a field the action needs";
	case KERR_TX_TYPE: return "unsupported transaction type";
	case KERR_TX_FIELDS: return "transaction has the wrong number of fields";
	case KERR_TX_FIELD: return "transaction field has the wrong size or form";
	case KERR_TX_SIGNATURE: return "invalid signature (v, r or s)";
	case KERR_TX_RECOVER: return "public key recovery failed";
	case KERR_TX_CHAIN_ID: return "chain id does not match";
	case KERR_TX_FEE: return "max priority fee per gas above the max fee per gas";
	case KERR_TX_GAS: return "gas limit below the intrinsic gas of the transaction";
	case KERR_NONCE_SYNC: return "the nonce must be read from the chain first";
	case KERR_KEY_FORMAT: return "key file is not 0x + 64 hex digits";
	case KERR_KEY_INVALID: return "private key is zero or not below the curve order";
	case KERR_KEY_PERMS: return "secret file is readable by group or others";
	case KERR_KEYSTORE_FORMAT: return "keystore JSON lacks a field or has a malformed one";
	case KERR_KEYSTORE_KDF: return "unsupported or unsafe keystore KDF parameters";
	case KERR_KEYSTORE_CIPHER: return "unsupported keystore cipher";
	case KERR_KEYSTORE_PASSWORD: return "wrong password (keystore MAC mismatch)";
	case KERR_CRYPTO: return "the crypto library failed";
	case KERR_SIGNER_TARGET: return "the signer may not sign a call to this contract and function";
	case KERR_CONFIG_SYNTAX: return "config syntax error";
	case KERR_CONFIG_INVALID: return "invalid config";
	case KERR_RPC_ERROR: return "the node answered with a JSON-RPC error";
	case KERR_RPC_REPLY: return "reply is not a valid JSON-RPC 2.0 response";
	case KERR_RPC_ID: return "reply id does not match the request";
	case KERR_RPC_HTTP: return "HTTP error status";
	case KERR_RPC_TIMEOUT: return "no reply within the timeout";
	case KERR_RPC_CONNECT: return "could not connect to the endpoint";
	case KERR_RPC_TRANSPORT: return "sending or receiving failed";
	case KERR_RPC_BUSY: return "too many requests in flight";
	case KERR_RPC_MISSING: return "the batch reply holds no answer to this call";
	}
	return "unknown error";
}

const char *kerr_name(kerr_t err)
{
	switch (err) {
	case KERR_OK: return "KERR_OK";
	case KERR_NOMEM: return "KERR_NOMEM";
	case KERR_IO: return "KERR_IO";
	case KERR_ARG: return "KERR_ARG";
	case KERR_TOO_LONG: return "KERR_TOO_LONG";
	case KERR_BUF: return "KERR_BUF";
	case KERR_TRUNCATED: return "KERR_TRUNCATED";
	case KERR_JSON: return "KERR_JSON";
	case KERR_USAGE: return "KERR_USAGE";
	case KERR_NOT_FOUND: return "KERR_NOT_FOUND";
	case KERR_FULL: return "KERR_FULL";
	case KERR_STATE_INVALID: return "KERR_STATE_INVALID";
	case KERR_IMPORT_INVALID: return "KERR_IMPORT_INVALID";
	case KERR_IN_FLIGHT: return "KERR_IN_FLIGHT";
	case KERR_HEX_PREFIX: return "KERR_HEX_PREFIX";
	case KERR_HEX_ODD: return "KERR_HEX_ODD";
	case KERR_HEX_CHAR: return "KERR_HEX_CHAR";
	case KERR_HEX_LENGTH: return "KERR_HEX_LENGTH";
	case KERR_NUM_EMPTY: return "KERR_NUM_EMPTY";
	case KERR_NUM_CHAR: return "KERR_NUM_CHAR";
	case KERR_NUM_OVERFLOW: return "KERR_NUM_OVERFLOW";
	case KERR_NUM_UNDERFLOW: return "KERR_NUM_UNDERFLOW";
	case KERR_DIV_ZERO: return "KERR_DIV_ZERO";
	case KERR_NUM_RANGE: return "KERR_NUM_RANGE";
	case KERR_RLP_TRUNCATED: return "KERR_RLP_TRUNCATED";
	case KERR_RLP_NONCANONICAL: return "KERR_RLP_NONCANONICAL";
	case KERR_RLP_TRAILING: return "KERR_RLP_TRAILING";
	case KERR_RLP_TYPE: return "KERR_RLP_TYPE";
	case KERR_RLP_LEADING_ZERO: return "KERR_RLP_LEADING_ZERO";
	case KERR_RLP_TOO_BIG: return "KERR_RLP_TOO_BIG";
	case KERR_RLP_DEPTH: return "KERR_RLP_DEPTH";
	case KERR_ADDR_LENGTH: return "KERR_ADDR_LENGTH";
	case KERR_ADDR_CHECKSUM: return "KERR_ADDR_CHECKSUM";
	case KERR_ABI_SIGNATURE: return "KERR_ABI_SIGNATURE";
	case KERR_ABI_TYPE: return "KERR_ABI_TYPE";
	case KERR_ABI_ARGC: return "KERR_ABI_ARGC";
	case KERR_ABI_VALUE: return "KERR_ABI_VALUE";
	case KERR_ACTION_FIELD: return "KERR_ACTION_FIELD";
	case KERR_TX_TYPE: return "KERR_TX_TYPE";
	case KERR_TX_FIELDS: return "KERR_TX_FIELDS";
	case KERR_TX_FIELD: return "KERR_TX_FIELD";
	case KERR_TX_SIGNATURE: return "KERR_TX_SIGNATURE";
	case KERR_TX_RECOVER: return "KERR_TX_RECOVER";
	case KERR_TX_CHAIN_ID: return "KERR_TX_CHAIN_ID";
	case KERR_TX_FEE: return "KERR_TX_FEE";
	case KERR_TX_GAS: return "KERR_TX_GAS";
	case KERR_NONCE_SYNC: return "KERR_NONCE_SYNC";
	case KERR_KEY_FORMAT: return "KERR_KEY_FORMAT";
	case KERR_KEY_INVALID: return "KERR_KEY_INVALID";
	case KERR_KEY_PERMS: return "KERR_KEY_PERMS";
	case KERR_KEYSTORE_FORMAT: return "KERR_KEYSTORE_FORMAT";
	case KERR_KEYSTORE_KDF: return "KERR_KEYSTORE_KDF";
	case KERR_KEYSTORE_CIPHER: return "KERR_KEYSTORE_CIPHER";
	case KERR_KEYSTORE_PASSWORD: return "KERR_KEYSTORE_PASSWORD";
	case KERR_CRYPTO: return "KERR_CRYPTO";
	case KERR_SIGNER_TARGET: return "KERR_SIGNER_TARGET";
	case KERR_CONFIG_SYNTAX: return "KERR_CONFIG_SYNTAX";
	case KERR_CONFIG_INVALID: return "KERR_CONFIG_INVALID";
	case KERR_RPC_ERROR: return "KERR_RPC_ERROR";
	case KERR_RPC_REPLY: return "KERR_RPC_REPLY";
	case KERR_RPC_ID: return "KERR_RPC_ID";
	case KERR_RPC_HTTP: return "KERR_RPC_HTTP";
	case KERR_RPC_TIMEOUT: return "KERR_RPC_TIMEOUT";
	case KERR_RPC_CONNECT: return "KERR_RPC_CONNECT";
	case KERR_RPC_TRANSPORT: return "KERR_RPC_TRANSPORT";
	case KERR_RPC_BUSY: return "KERR_RPC_BUSY";
	case KERR_RPC_MISSING: return "KERR_RPC_MISSING";
	}
	return "KERR_UNKNOWN";
}
