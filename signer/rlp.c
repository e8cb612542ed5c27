/*
 * rlp: RLP encoder into a fixed buffer and strict decoder (see rlp.h).
 *
 * Headers: a single byte below 0x80 is its own encoding; otherwise a string
 * gets 0x80 + len (len < 56) or 0xb7 + n followed by len in n big-endian
 * bytes, and a list the same with 0xc0 / 0xf7.  The decoder accepts exactly
 * the headers the encoder would write, nothing else.
 */
#include <string.h>

#include "signer/rlp.h"

#define STR_BASE 0x80
#define LIST_BASE 0xc0
/* Lengths below this use the one-byte short form. */
#define SHORT_MAX 56
/* Longest header: one byte plus an 8-byte length. */
#define HDR_MAX 9

/* Big-endian bytes of v without leading zeros into out[8]; returns 0..8. */
static size_t be_min_u64(uint64_t v, uint8_t out[8])
{
	size_t n = 0;
	for (uint64_t t = v; t; t >>= 8)
		n++;
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return n;
}

/* Write the header for a payload of len bytes into out[HDR_MAX]. */
static size_t make_header(uint8_t out[HDR_MAX], uint8_t base, size_t len)
{
	size_t n;
	if (len < SHORT_MAX) {
		out[0] = (uint8_t)(base + len);
		return 1;
	}
	n = be_min_u64(len, out + 1);
	out[0] = (uint8_t)(base + SHORT_MAX - 1 + n);
	return 1 + n;
}

/* Append n bytes, or set the sticky error if they do not fit. */
static void put(rlp_enc_t *e, const uint8_t *p, size_t n)
{
	if (e->err)
		return;
	if (n > e->cap - e->len) {
		e->err = KERR_BUF;
		return;
	}
	if (n)
		memcpy(e->buf + e->len, p, n);
	e->len += n;
}

void rlp_enc_init(rlp_enc_t *e, uint8_t *buf, size_t cap)
{
	e->buf = buf;
	e->cap = cap;
	e->len = 0;
	e->err = KERR_OK;
}

void rlp_put_bytes(rlp_enc_t *e, const uint8_t *p, size_t n)
{
	uint8_t hdr[HDR_MAX];
	if (n == 1 && p[0] < STR_BASE) {
		put(e, p, 1);
		return;
	}
	put(e, hdr, make_header(hdr, STR_BASE, n));
	put(e, p, n);
}

void rlp_put_u64(rlp_enc_t *e, uint64_t v)
{
	uint8_t b[8];
	size_t n = be_min_u64(v, b);
	rlp_put_bytes(e, b, n);
}

void rlp_put_u256(rlp_enc_t *e, const u256_t *v)
{
	uint8_t b[32];
	size_t n = u256_to_be_min(v, b);
	rlp_put_bytes(e, b, n);
}

void rlp_put_raw(rlp_enc_t *e, const uint8_t *p, size_t n)
{
	put(e, p, n);
}

size_t rlp_list_begin(rlp_enc_t *e)
{
	static const uint8_t reserve[HDR_MAX];
	size_t mark = e->len;
	put(e, reserve, HDR_MAX);
	return mark;
}

void rlp_list_end(rlp_enc_t *e, size_t mark)
{
	uint8_t hdr[HDR_MAX];
	size_t start = mark + HDR_MAX, payload, h;

	if (e->err)
		return;
	if (mark > e->len || e->len - mark < HDR_MAX) {
		e->err = KERR_ARG;
		return;
	}
	payload = e->len - start;
	h = make_header(hdr, LIST_BASE, payload);
	memmove(e->buf + mark + h, e->buf + start, payload);
	memcpy(e->buf + mark, hdr, h);
	e->len = mark + h + payload;
}

kerr_t rlp_enc_finish(const rlp_enc_t *e, size_t *len)
{
	if (e->err)
		return e->err;
	*len = e->len;
	return KERR_OK;
}

/*
 * Read the n-byte (1..8) big-endian length of a long form at in[0..avail)
 * and check it is minimal: no leading zero, and not short enough for the
 * one-byte form.
 */
static kerr_t long_length(const uint8_t *in, size_t avail, size_t n,
			  uint64_t *out)
{
	uint64_t v = 0;
	if (n > avail)
		return KERR_RLP_TRUNCATED;
	if (in[0] == 0)
		return KERR_RLP_NONCANONICAL;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | in[i];
	if (v < SHORT_MAX)
		return KERR_RLP_NONCANONICAL;
	*out = v;
	return KERR_OK;
}

kerr_t rlp_decode(const uint8_t *in, size_t len, rlp_item_t *it, size_t *used)
{
	uint8_t base, off;
	uint64_t plen;
	size_t hdr;
	kerr_t err;

	if (len == 0)
		return KERR_TRUNCATED;
	if (in[0] < STR_BASE) {
		*it = (rlp_item_t){ .p = in, .len = 1, .is_list = false, .hdr = 0 };
		*used = 1;
		return KERR_OK;
	}
	base = in[0] < LIST_BASE ? STR_BASE : LIST_BASE;
	off = (uint8_t)(in[0] - base);
	if (off < SHORT_MAX) {
		hdr = 1;
		plen = off;
	} else {
		hdr = 1 + (off - (SHORT_MAX - 1));
		err = long_length(in + 1, len - 1, hdr - 1, &plen);
		if (err)
			return err;
	}
	if (plen > len - hdr)
		return KERR_RLP_TRUNCATED;
	/* A lone byte below 0x80 is its own encoding, never 0x81 xx. */
	if (base == STR_BASE && plen == 1 && in[1] < STR_BASE)
		return KERR_RLP_NONCANONICAL;
	*it = (rlp_item_t){ .p = in + hdr, .len = (size_t)plen,
			    .is_list = base == LIST_BASE, .hdr = hdr };
	*used = hdr + (size_t)plen;
	return KERR_OK;
}

/* Every child of list, recursively, must decode and fill it exactly. */
static kerr_t check_list(const rlp_item_t *list, unsigned depth)
{
	size_t off = 0;
	rlp_item_t child;
	kerr_t err;

	if (depth > RLP_MAX_DEPTH)
		return KERR_RLP_DEPTH;
	while ((err = rlp_list_next(list, &off, &child)) == KERR_OK) {
		if (child.is_list) {
			err = check_list(&child, depth + 1);
			if (err)
				return err;
		}
	}
	return err == KERR_NOT_FOUND ? KERR_OK : err;
}

kerr_t rlp_decode_all(const uint8_t *in, size_t len, rlp_item_t *it)
{
	size_t used;
	kerr_t err = rlp_decode(in, len, it, &used);
	if (err)
		return err;
	if (used != len)
		return KERR_RLP_TRAILING;
	return it->is_list ? check_list(it, 1) : KERR_OK;
}

kerr_t rlp_list_next(const rlp_item_t *list, size_t *off, rlp_item_t *child)
{
	size_t used;
	kerr_t err;

	if (!list->is_list)
		return KERR_RLP_TYPE;
	if (*off >= list->len)
		return KERR_NOT_FOUND;
	err = rlp_decode(list->p + *off, list->len - *off, child, &used);
	if (err)
		return err;
	*off += used;
	return KERR_OK;
}

kerr_t rlp_list_count(const rlp_item_t *list, size_t *n)
{
	size_t off = 0, count = 0;
	rlp_item_t child;
	kerr_t err;

	while ((err = rlp_list_next(list, &off, &child)) == KERR_OK)
		count++;
	if (err != KERR_NOT_FOUND)
		return err;
	*n = count;
	return KERR_OK;
}

/* An integer is a string with no leading zero byte of at most max bytes. */
static kerr_t int_bytes(const rlp_item_t *it, size_t max)
{
	if (it->is_list)
		return KERR_RLP_TYPE;
	if (it->len > 0 && it->p[0] == 0)
		return KERR_RLP_LEADING_ZERO;
	if (it->len > max)
		return KERR_RLP_TOO_BIG;
	return KERR_OK;
}

kerr_t rlp_get_u256(const rlp_item_t *it, u256_t *v)
{
	kerr_t err = int_bytes(it, 32);
	if (err)
		return err;
	return u256_from_be(v, it->p, it->len);
}

kerr_t rlp_get_u64(const rlp_item_t *it, uint64_t *v)
{
	uint64_t t = 0;
	kerr_t err = int_bytes(it, 8);
	if (err)
		return err;
	for (size_t i = 0; i < it->len; i++)
		t = t << 8 | it->p[i];
	*v = t;
	return KERR_OK;
}
