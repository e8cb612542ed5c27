/*
 * addr: 20-byte Ethereum addresses and their EIP-55 checksummed text.
 *
 * An address typed by a human is the one place where a single wrong digit
 * sends a pause to nowhere, so mixed-case input must carry a valid EIP-55
 * checksum; all-lowercase and all-uppercase input carries none and passes.
 */
#ifndef SIGNER_ADDR_H
#define SIGNER_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keeper/kerr.h"

typedef struct {
	uint8_t b[20];
} addr_t;

/* "0x" + 40 digits + NUL. */
#define ADDR_TEXT_LEN 43

/*
 * Parse "0x" + 40 hex digits.  KERR_HEX_PREFIX without 0x, KERR_ADDR_LENGTH
 * for another digit count, KERR_HEX_CHAR, KERR_ADDR_CHECKSUM when the case
 * is mixed and is not the EIP-55 checksum.
 */
kerr_t addr_parse(addr_t *a, const char *s, size_t len);

/* EIP-55 checksummed text with NUL into out[ADDR_TEXT_LEN]. */
void addr_to_checksum(const addr_t *a, char out[ADDR_TEXT_LEN]);

/* Address of an uncompressed public key given as its 64 bytes X||Y
 * (without the 0x04 prefix): the last 20 bytes of keccak256(X||Y). */
void addr_from_pubkey(addr_t *a, const uint8_t pub[64]);

bool addr_eq(const addr_t *a, const addr_t *b);

#endif
