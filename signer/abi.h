/*
 * abi: Solidity function signatures and ABI encoding of calls with static
 * argument types, which is what pause(), liquidate(address,uint256) and
 * guard views such as paused() need.
 *
 * Supported types: address, bool, uintN and intN (N = 8..256 by 8; bare
 * uint/int mean 256), bytesN (N = 1..32).  Dynamic types (bytes, string,
 * arrays, tuples) are refused with KERR_ABI_TYPE, so a config that asks for
 * one fails at `keeper check` rather than at the moment of a trip.
 */
#ifndef SIGNER_ABI_H
#define SIGNER_ABI_H

#include <stddef.h>
#include <stdint.h>
#include "keeper/kerr.h"

#define ABI_MAX_ARGS 16
#define ABI_MAX_SIG 256

typedef enum {
	ABI_ADDRESS,
	ABI_BOOL,
	ABI_UINT,
	ABI_INT,
	ABI_BYTES_FIXED,
} abi_kind_t;

typedef struct {
	abi_kind_t kind;
	unsigned bits;   /* uintN/intN: N; bytesN: 8*N; address: 160; bool: 8 */
} abi_type_t;

typedef struct {
	char name[ABI_MAX_SIG];      /* function name */
	size_t nargs;
	abi_type_t args[ABI_MAX_ARGS];
	char canonical[ABI_MAX_SIG]; /* "name(uint256,address)": uint -> uint256 */
	uint8_t selector[4];         /* first 4 bytes of keccak256(canonical) */
} abi_sig_t;

/*
 * Parse and validate a signature such as "liquidate(address,uint256)".
 * The name is a Solidity identifier ([A-Za-z_$][A-Za-z0-9_$]*); no spaces;
 * no parameter names.  KERR_ABI_SIGNATURE (shape), KERR_ABI_TYPE (a type),
 * KERR_TOO_LONG (over ABI_MAX_SIG or ABI_MAX_ARGS).
 */
kerr_t abi_sig_parse(abi_sig_t *sig, const char *s, size_t len);

/*
 * Encode one argument of the given type from text into a 32-byte word:
 * address: 0x + 40 hex (EIP-55 if mixed case); bool: "true"/"false";
 * uintN: decimal or 0x hex, must fit N bits; intN: optional '-' then decimal
 * or 0x hex, must fit N-bit two's complement; bytesN: 0x + exactly 2N hex
 * digits, right-padded with zeros.  KERR_ABI_VALUE or the parser's error.
 */
kerr_t abi_encode_arg(const abi_type_t *t, const char *s, size_t len,
		      uint8_t word[32]);

/*
 * Calldata = selector + one word per argument into out (cap bytes).
 * args[i] is a NUL-terminated string.  KERR_ABI_ARGC, KERR_BUF.
 */
kerr_t abi_encode_call(const abi_sig_t *sig, const char *const *args,
		       size_t nargs, uint8_t *out, size_t cap, size_t *len);

#endif
