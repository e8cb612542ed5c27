/*
 * rlp: Recursive Length Prefix encoding and strict decoding.
 *
 * The encoder writes into a caller's fixed buffer (no allocation): errors are
 * sticky, so a sequence of puts is checked once at rlp_finish().  Lists are
 * opened with rlp_list_begin(), which reserves the longest header, and closed
 * with rlp_list_end(), which writes the minimal header and moves the payload
 * back over the unused bytes.
 *
 * The decoder accepts only canonical RLP, because two encodings of the same
 * transaction must not both pass: single bytes below 0x80 must stand alone,
 * lengths must be minimal, long forms only for lengths of 56 or more, and
 * nothing may run past the input.  Decoded items are views into the input.
 */
#ifndef SIGNER_RLP_H
#define SIGNER_RLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keeper/kerr.h"
#include "signer/u256.h"

/* Nesting depth the decoder walks before KERR_RLP_DEPTH. */
#define RLP_MAX_DEPTH 64

typedef struct {
	uint8_t *buf;
	size_t cap;
	size_t len;
	kerr_t err;    /* first error, sticky */
} rlp_enc_t;

void rlp_enc_init(rlp_enc_t *e, uint8_t *buf, size_t cap);
/* A byte string. */
void rlp_put_bytes(rlp_enc_t *e, const uint8_t *p, size_t n);
/* An integer as its minimal big-endian bytes (zero is the empty string). */
void rlp_put_u64(rlp_enc_t *e, uint64_t v);
void rlp_put_u256(rlp_enc_t *e, const u256_t *v);
/* Already-encoded RLP copied as is (e.g. a nested item). */
void rlp_put_raw(rlp_enc_t *e, const uint8_t *p, size_t n);
/* Open a list; returns a mark to pass to rlp_list_end. */
size_t rlp_list_begin(rlp_enc_t *e);
void rlp_list_end(rlp_enc_t *e, size_t mark);
/* KERR_OK and *len = bytes written, or the first error (KERR_BUF). */
kerr_t rlp_enc_finish(const rlp_enc_t *e, size_t *len);

typedef struct {
	const uint8_t *p;  /* payload (string bytes, or the list's contents) */
	size_t len;        /* payload length */
	bool is_list;
	size_t hdr;        /* header length; the item spans p-hdr .. p+len */
} rlp_item_t;

/*
 * Decode one item at the start of in[0..len); *used = header + payload.
 * Checks only this item's header (not the insides of a list).
 * KERR_TRUNCATED for empty input, KERR_RLP_TRUNCATED, KERR_RLP_NONCANONICAL,
 * KERR_RLP_TOO_BIG (length field over 8 bytes).
 */
kerr_t rlp_decode(const uint8_t *in, size_t len, rlp_item_t *it, size_t *used);

/*
 * Decode one item that must span the whole input and validate everything
 * inside it recursively (every nested header canonical and in bounds, depth
 * <= RLP_MAX_DEPTH).  KERR_RLP_TRAILING for extra bytes.
 */
kerr_t rlp_decode_all(const uint8_t *in, size_t len, rlp_item_t *it);

/*
 * Iterate a list: *off starts at 0; returns KERR_OK with the next child in
 * *child and advances *off, or KERR_NOT_FOUND at the end of the list.
 */
kerr_t rlp_list_next(const rlp_item_t *list, size_t *off, rlp_item_t *child);
/* Number of children of a list (KERR_RLP_TYPE for a string). */
kerr_t rlp_list_count(const rlp_item_t *list, size_t *n);

/* An integer item: a string of at most 32 (or 8) bytes with no leading zero.
 * KERR_RLP_TYPE, KERR_RLP_LEADING_ZERO, KERR_RLP_TOO_BIG. */
kerr_t rlp_get_u256(const rlp_item_t *it, u256_t *v);
kerr_t rlp_get_u64(const rlp_item_t *it, uint64_t *v);

#endif
