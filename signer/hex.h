/*
 * hex: strict conversion between bytes and hexadecimal text.
 *
 * Strict because every hex string we read comes from a user, a config file
 * or a node: an odd digit count where bytes are meant, a stray character or a
 * value longer than its destination is an error, never silently trimmed.
 * Inputs are (pointer, length); nothing here needs a NUL terminator.
 */
#ifndef SIGNER_HEX_H
#define SIGNER_HEX_H

#include <stddef.h>
#include <stdint.h>
#include "keeper/kerr.h"

/*
 * Write n bytes as 2n lowercase hex digits plus a NUL to out, which must hold
 * 2n+1 chars.  No prefix.  Returns 2n.
 */
size_t hex_encode(char *out, const uint8_t *in, size_t n);

/*
 * Decode hex text s[0..len) into out.  An optional "0x"/"0X" prefix is
 * skipped; an empty string (or bare "0x") decodes to 0 bytes.
 * Returns KERR_OK and sets *out_len; KERR_HEX_ODD for an odd digit count,
 * KERR_HEX_CHAR for a non-hex character, KERR_TOO_LONG if the bytes would
 * not fit in out_cap.  out is unspecified on error.
 */
kerr_t hex_decode(uint8_t *out, size_t out_cap, size_t *out_len,
		  const char *s, size_t len);

/*
 * Decode exactly n bytes: like hex_decode, but the text must hold exactly 2n
 * digits (after an optional 0x), else KERR_HEX_LENGTH.
 */
kerr_t hex_decode_exact(uint8_t *out, size_t n, const char *s, size_t len);

/* Value 0..15 of a hex digit, or -1. */
int hex_digit(char c);

#endif
