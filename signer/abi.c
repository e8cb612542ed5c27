/*
 * abi: function signatures and static-argument calldata (see abi.h).
 *
 * The selector is the keccak256 of the canonical signature, so the parser is
 * strict about shape (no spaces, no parameter names, no trailing text): a
 * signature we would accept but hash differently from solc would call the
 * wrong function, or none.  Widths are checked exactly as Solidity declares
 * them: uintN/intN with N a multiple of 8 in 8..256 written without leading
 * zeros, bytesN with N in 1..32.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "signer/abi.h"
#include "signer/addr.h"
#include "signer/hex.h"
#include "signer/keccak.h"
#include "signer/u256.h"

#define WORD 32

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == '$';
}

static bool is_ident_char(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static bool text_eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

static bool has_prefix(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	return len >= n && memcmp(s, lit, n) == 0;
}

/* A type width: 1..3 decimal digits without a leading zero, in [lo, hi]
 * and a multiple of step. */
static bool parse_width(const char *s, size_t len, unsigned lo, unsigned hi,
			unsigned step, unsigned *out)
{
	unsigned v = 0;
	if (len == 0 || len > 3 || s[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < lo || v > hi || v % step)
		return false;
	*out = v;
	return true;
}

/* uintN / intN after the "uint" or "int"; bare means 256. */
static kerr_t parse_int_type(abi_kind_t kind, const char *s, size_t len,
			     abi_type_t *t)
{
	unsigned bits = 256;
	if (len > 0 && !parse_width(s, len, 8, 256, 8, &bits))
		return KERR_ABI_TYPE;
	*t = (abi_type_t){ .kind = kind, .bits = bits };
	return KERR_OK;
}

static kerr_t parse_type(const char *s, size_t len, abi_type_t *t)
{
	unsigned n;
	if (text_eq(s, len, "address")) {
		*t = (abi_type_t){ .kind = ABI_ADDRESS, .bits = 160 };
		return KERR_OK;
	}
	if (text_eq(s, len, "bool")) {
		*t = (abi_type_t){ .kind = ABI_BOOL, .bits = 8 };
		return KERR_OK;
	}
	if (has_prefix(s, len, "uint"))
		return parse_int_type(ABI_UINT, s + 4, len - 4, t);
	if (has_prefix(s, len, "int"))
		return parse_int_type(ABI_INT, s + 3, len - 3, t);
	/* Bare "bytes" is dynamic and falls through to the refusal. */
	if (has_prefix(s, len, "bytes") &&
	    parse_width(s + 5, len - 5, 1, 32, 1, &n)) {
		*t = (abi_type_t){ .kind = ABI_BYTES_FIXED, .bits = 8 * n };
		return KERR_OK;
	}
	return KERR_ABI_TYPE;
}

/* Append text to buf[ABI_MAX_SIG] at *pos, keeping a NUL; false if full. */
static bool append(char *buf, size_t *pos, const char *text)
{
	size_t n = strlen(text);
	if (n >= ABI_MAX_SIG - *pos)
		return false;
	memcpy(buf + *pos, text, n + 1);
	*pos += n;
	return true;
}

static void type_name(const abi_type_t *t, char out[16])
{
	switch (t->kind) {
	case ABI_ADDRESS: snprintf(out, 16, "address"); break;
	case ABI_BOOL: snprintf(out, 16, "bool"); break;
	case ABI_UINT: snprintf(out, 16, "uint%u", t->bits); break;
	case ABI_INT: snprintf(out, 16, "int%u", t->bits); break;
	case ABI_BYTES_FIXED: snprintf(out, 16, "bytes%u", t->bits / 8); break;
	}
}

static kerr_t build_canonical(abi_sig_t *sig)
{
	char tn[16];
	size_t pos = 0;
	bool ok = append(sig->canonical, &pos, sig->name) &&
		  append(sig->canonical, &pos, "(");
	for (size_t i = 0; ok && i < sig->nargs; i++) {
		type_name(&sig->args[i], tn);
		ok = (i == 0 || append(sig->canonical, &pos, ",")) &&
		     append(sig->canonical, &pos, tn);
	}
	if (!ok || !append(sig->canonical, &pos, ")"))
		return KERR_TOO_LONG;
	return KERR_OK;
}

/* The argument list after '(' at s[0..len): types separated by ',' up to
 * the closing ')', which must end the text. */
static kerr_t parse_args(abi_sig_t *sig, const char *s, size_t len)
{
	size_t pos = 0;
	if (len == 1 && s[0] == ')')
		return KERR_OK;
	for (;;) {
		size_t start = pos;
		kerr_t err;
		while (pos < len && s[pos] != ',' && s[pos] != ')')
			pos++;
		if (pos == len || pos == start)
			return KERR_ABI_SIGNATURE;
		if (sig->nargs == ABI_MAX_ARGS)
			return KERR_TOO_LONG;
		err = parse_type(s + start, pos - start, &sig->args[sig->nargs]);
		if (err)
			return err;
		sig->nargs++;
		if (s[pos++] == ')')
			return pos == len ? KERR_OK : KERR_ABI_SIGNATURE;
	}
}

kerr_t abi_sig_parse(abi_sig_t *sig, const char *s, size_t len)
{
	size_t name_len = 0;
	uint8_t hash[32];
	kerr_t err;

	if (len >= ABI_MAX_SIG)
		return KERR_TOO_LONG;
	memset(sig, 0, sizeof *sig);
	for (size_t i = 0; i < len; i++) {
		if (is_space(s[i]))
			return KERR_ABI_SIGNATURE;
	}
	if (len == 0 || !is_ident_start(s[0]))
		return KERR_ABI_SIGNATURE;
	while (name_len < len && is_ident_char(s[name_len]))
		name_len++;
	if (name_len == len || s[name_len] != '(')
		return KERR_ABI_SIGNATURE;
	memcpy(sig->name, s, name_len);
	err = parse_args(sig, s + name_len + 1, len - name_len - 1);
	if (err)
		return err;
	err = build_canonical(sig);
	if (err)
		return err;
	keccak256(hash, (const uint8_t *)sig->canonical, strlen(sig->canonical));
	memcpy(sig->selector, hash, sizeof sig->selector);
	return KERR_OK;
}

/* true when v < 2^bits. */
static bool fits_bits(const u256_t *v, unsigned bits)
{
	u256_t limit;
	if (bits >= 256)
		return true;
	u256_zero(&limit);
	limit.w[bits / 64] = (uint64_t)1 << (bits % 64);
	return u256_cmp(v, &limit) < 0;
}

/* Decimal or 0x hex; a value over 256 bits does not fit any type. */
static kerr_t parse_magnitude(u256_t *v, const char *s, size_t len)
{
	kerr_t err = u256_parse(v, s, len);
	return err == KERR_NUM_OVERFLOW ? KERR_ABI_VALUE : err;
}

static kerr_t encode_uint(unsigned bits, const char *s, size_t len,
			  uint8_t word[WORD])
{
	u256_t v;
	kerr_t err = parse_magnitude(&v, s, len);
	if (err)
		return err;
	if (!fits_bits(&v, bits))
		return KERR_ABI_VALUE;
	u256_to_be(&v, word);
	return KERR_OK;
}

/* intN: -2^(N-1) <= value < 2^(N-1), written as 256-bit two's complement,
 * which also sign-extends it to the full word as the ABI requires. */
static kerr_t encode_int(unsigned bits, const char *s, size_t len,
			 uint8_t word[WORD])
{
	size_t sign = len > 0 && s[0] == '-' ? 1 : 0;
	u256_t v, one;
	kerr_t err = parse_magnitude(&v, s + sign, len - sign);
	if (err)
		return err;
	if (!sign || u256_is_zero(&v)) {
		if (!fits_bits(&v, bits - 1))
			return KERR_ABI_VALUE;
		u256_to_be(&v, word);
		return KERR_OK;
	}
	/* A negative magnitude may reach 2^(N-1) itself: check v - 1, which
	 * cannot underflow as v is not zero. */
	u256_from_u64(&one, 1);
	(void)u256_sub(&v, &v, &one);
	if (!fits_bits(&v, bits - 1))
		return KERR_ABI_VALUE;
	/* -(m) = ~(m - 1) in two's complement. */
	for (size_t i = 0; i < 4; i++)
		v.w[i] = ~v.w[i];
	u256_to_be(&v, word);
	return KERR_OK;
}

static kerr_t encode_bytes(unsigned bits, const char *s, size_t len,
			   uint8_t word[WORD])
{
	if (len < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return KERR_HEX_PREFIX;
	return hex_decode_exact(word, bits / 8, s, len);
}

kerr_t abi_encode_arg(const abi_type_t *t, const char *s, size_t len,
		      uint8_t word[WORD])
{
	addr_t a;
	kerr_t err;

	memset(word, 0, WORD);
	switch (t->kind) {
	case ABI_ADDRESS:
		err = addr_parse(&a, s, len);
		if (!err)
			memcpy(word + WORD - sizeof a.b, a.b, sizeof a.b);
		return err;
	case ABI_BOOL:
		if (text_eq(s, len, "true"))
			word[WORD - 1] = 1;
		else if (!text_eq(s, len, "false"))
			return KERR_ABI_VALUE;
		return KERR_OK;
	case ABI_UINT:
		return encode_uint(t->bits, s, len, word);
	case ABI_INT:
		return encode_int(t->bits, s, len, word);
	case ABI_BYTES_FIXED:
		return encode_bytes(t->bits, s, len, word);
	}
	return KERR_ABI_TYPE;
}

kerr_t abi_encode_call(const abi_sig_t *sig, const char *const *args,
		       size_t nargs, uint8_t *out, size_t cap, size_t *len)
{
	size_t need = sizeof sig->selector + WORD * sig->nargs;

	if (nargs != sig->nargs)
		return KERR_ABI_ARGC;
	if (need > cap)
		return KERR_BUF;
	memcpy(out, sig->selector, sizeof sig->selector);
	for (size_t i = 0; i < nargs; i++) {
		uint8_t *word = out + sizeof sig->selector + WORD * i;
		kerr_t err;
		if (!args[i])
			return KERR_ARG;
		err = abi_encode_arg(&sig->args[i], args[i], strlen(args[i]),
				     word);
		if (err)
			return err;
	}
	*len = need;
	return KERR_OK;
}
