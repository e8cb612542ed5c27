/*
 * jtok: the tokeniser and readers declared in jtok.h.
 *
 * The tokeniser is one loop with an explicit stack of open containers
 * (bounded by JTOK_MAX_DEPTH, on the C stack), so hostile nesting cannot
 * recurse, and every byte is looked at once.  Strings are most of a node
 * frame (hashes, calldata), so inside them eight bytes at a time are let
 * through with word arithmetic while none needs attention, and a 256-entry
 * table handles the rest byte by byte.
 */
#include "keeper/jtok.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "signer/hex.h"

/* 1 for bytes that may appear raw inside a string with no further check:
 * printable ASCII other than '"' and '\\'.  Control characters are refused,
 * bytes >= 0x80 go through the UTF-8 check. */
static const uint8_t str_plain[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
	R16(0), R16(0),                                  /* 0x00..0x1f */
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  /* 0x20..0x2f: '"' */
	R16(1), R16(1),                                  /* 0x30..0x4f */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,  /* 0x50..0x5f: '\\' */
	R16(1), R16(1),                                  /* 0x60..0x7f */
	R16(0), R16(0), R16(0), R16(0),                  /* 0x80..0xbf */
	R16(0), R16(0), R16(0), R16(0),                  /* 0xc0..0xff */
#undef R16
};

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int hex4(const unsigned char *s)
{
	int v = 0;
	for (int k = 0; k < 4; k++) {
		int h = hex_digit((char)s[k]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/*
 * Length of the valid UTF-8 sequence at s[0..n) (s[0] >= 0x80), 0 when it
 * is invalid (overlong, surrogate, above U+10FFFF, bad continuation), or -1
 * when it is cut short by the end of the input.
 */
static int utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	int need;

	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0;      /* overlong */
		else if (c == 0xed)
			hi = 0x9f;      /* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90;      /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;      /* above U+10FFFF */
	} else
		return 0;
	for (int k = 1; k <= need; k++) {
		if ((size_t)k >= n)
			return -1;
		if (s[k] < lo || s[k] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return need + 1;
}

/* Parse state shared by the helpers of jtok_parse. */
typedef struct {
	const unsigned char *s;
	size_t len;
	size_t i;
	jtok_doc_t *d;
	size_t n;
} pstate_t;

static kerr_t fail(pstate_t *p, kerr_t err)
{
	p->d->err_pos = p->i;
	return err;
}

static kerr_t new_tok(pstate_t *p, jtok_type_t type, size_t start, size_t *idx)
{
	jtok_t *t;
	if (p->n >= p->d->cap)
		return fail(p, KERR_TOO_LONG);
	t = &p->d->tok[p->n];
	t->start = (uint32_t)start;
	t->len = 0;
	t->type = (uint8_t)type;
	t->flags = 0;
	t->pad_ = 0;
	*idx = p->n++;
	t->next = (uint32_t)p->n;
	return KERR_OK;
}

/* The value of the "\uXXXX" whose backslash is s[at]. */
static kerr_t u_unit(const unsigned char *s, size_t len, size_t at, int *v)
{
	*v = 0;
	for (size_t k = 1; k < 6; k++) {
		int h;
		if (at + k >= len)
			return KERR_TRUNCATED;
		if (k == 1) {
			if (s[at + k] != 'u')
				return KERR_JSON;
			continue;
		}
		if ((h = hex_digit((char)s[at + k])) < 0)
			return KERR_JSON;
		*v = *v << 4 | h;
	}
	return KERR_OK;
}

/*
 * The \uXXXX escape at s[*i] (the backslash), with its low-surrogate partner
 * when it is a high surrogate; *i moves past it.  On error *i is left at
 * the backslash.  KERR_TRUNCATED when the input ends inside the escape,
 * KERR_JSON for a bad digit or an unpaired surrogate.
 */
static kerr_t scan_u_escape(const unsigned char *s, size_t len, size_t *i)
{
	int u, lo;
	kerr_t err = u_unit(s, len, *i, &u);

	if (err)
		return err;
	if (u >= 0xdc00 && u <= 0xdfff)
		return KERR_JSON;   /* a low surrogate with no high one */
	if (u >= 0xd800 && u <= 0xdbff) {
		if (*i + 6 >= len)
			return KERR_TRUNCATED;
		if (s[*i + 6] != '\\')
			return KERR_JSON;
		if ((err = u_unit(s, len, *i + 6, &lo)))
			return err;
		if (lo < 0xdc00 || lo > 0xdfff)
			return KERR_JSON;
		*i += 6;
	}
	*i += 6;
	return KERR_OK;
}

/*
 * Nonzero when one of the 8 bytes in w is '"', '\\', a control character
 * (< 0x20) or >= 0x80.  The classic "has a zero byte" test, (x - 0x01…) &
 * ~x & 0x80…, applied to w ^ '"', w ^ '\\' and, as "less than 0x20", to w
 * itself; exact as to whether such a byte exists, which is all that is
 * asked (the byte loop then finds it).
 */
static uint64_t special8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

	return (((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) | w) & highs;
}

/* A string starting at the opening quote s[i]; leaves i past the closing one. */
static kerr_t scan_string(pstate_t *p)
{
	const unsigned char *s = p->s;
	size_t len = p->len, i = p->i + 1, idx;
	uint8_t flags = 0;
	kerr_t err;

	for (;;) {
		unsigned char c;
		/* Eight bytes at a time while none needs a look: hashes and
		 * calldata are long runs of plain ASCII. */
		while (len - i >= 8) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (special8(w))
				break;
			i += 8;
		}
		while (i < len && str_plain[s[i]])
			i++;
		if (i >= len) {
			p->i = i;
			return fail(p, KERR_TRUNCATED);
		}
		c = s[i];
		if (c == '"')
			break;
		if (c == '\\') {
			flags |= JTOK_F_ESCAPED;
			if (i + 1 >= len) {
				p->i = i;
				return fail(p, KERR_TRUNCATED);
			}
			c = s[i + 1];
			if (c == 'u') {
				kerr_t e = scan_u_escape(s, len, &i);
				if (e) {
					p->i = i;
					return fail(p, e);
				}
			} else if (c == '"' || c == '\\' || c == '/' || c == 'b' ||
				   c == 'f' || c == 'n' || c == 'r' || c == 't') {
				i += 2;
			} else {
				p->i = i;
				return fail(p, KERR_JSON);
			}
			continue;
		}
		if (c < 0x20) {
			p->i = i;
			return fail(p, KERR_JSON);
		}
		{
			int k = utf8_seq(s + i, len - i);
			if (k <= 0) {
				p->i = i;
				return fail(p, k < 0 ? KERR_TRUNCATED : KERR_JSON);
			}
			i += (size_t)k;
		}
	}
	if ((err = new_tok(p, JTOK_STRING, p->i + 1, &idx)))
		return err;
	p->d->tok[idx].len = (uint32_t)(i - p->i - 1);
	p->d->tok[idx].flags = flags;
	p->i = i + 1;
	return KERR_OK;
}

/* One or more digits from s[*i], *i left after them or at the byte that
 * is not one. */
static kerr_t digit_run(const unsigned char *s, size_t len, size_t *i)
{
	if (*i >= len)
		return KERR_TRUNCATED;
	if (!is_digit(s[*i]))
		return KERR_JSON;
	while (*i < len && is_digit(s[*i]))
		(*i)++;
	return KERR_OK;
}

/*
 * Step *pos over an RFC 8259 number in s[*pos..len):
 *   -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * KERR_TRUNCATED when s ends inside it, KERR_JSON at a byte it cannot
 * have; *pos is where the scan stopped either way.  One grammar for the
 * tokeniser and for numbers written inside strings (number_text).
 */
static kerr_t number_end(const unsigned char *s, size_t len, size_t *pos)
{
	size_t i = *pos;
	kerr_t err = KERR_OK;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;   /* "01" ends after the 0; the caller refuses the rest */
	else
		err = digit_run(s, len, &i);
	if (!err && i < len && s[i] == '.') {
		i++;
		err = digit_run(s, len, &i);
	}
	if (!err && i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		err = digit_run(s, len, &i);
	}
	*pos = i;
	return err;
}

static kerr_t scan_number(pstate_t *p)
{
	size_t i = p->i, idx;
	kerr_t err = number_end(p->s, p->len, &i);

	if (err) {
		p->i = i;
		return fail(p, err);
	}
	if ((err = new_tok(p, JTOK_NUMBER, p->i, &idx)))
		return err;
	p->d->tok[idx].len = (uint32_t)(i - p->i);
	p->i = i;
	return KERR_OK;
}

static kerr_t scan_literal(pstate_t *p, const char *word, size_t wlen,
			   jtok_type_t type)
{
	size_t avail = p->len - p->i, idx;
	kerr_t err;

	if (avail < wlen) {
		/* A prefix of the word cut off by the end is truncation. */
		if (memcmp(p->s + p->i, word, avail) == 0)
			return fail(p, KERR_TRUNCATED);
		return fail(p, KERR_JSON);
	}
	if (memcmp(p->s + p->i, word, wlen) != 0)
		return fail(p, KERR_JSON);
	if ((err = new_tok(p, type, p->i, &idx)))
		return err;
	p->d->tok[idx].len = (uint32_t)wlen;
	p->i += wlen;
	return KERR_OK;
}

void jtok_init(jtok_doc_t *d, jtok_t *tok, size_t cap)
{
	memset(d, 0, sizeof *d);
	d->tok = tok;
	d->cap = cap < UINT32_MAX ? cap : UINT32_MAX - 1;
}

kerr_t jtok_doc_alloc(jtok_doc_t *d, size_t cap)
{
	jtok_t *tok;

	memset(d, 0, sizeof *d);
	if (cap == 0)
		return KERR_ARG;
	if (!(tok = malloc(cap * sizeof *tok)))
		return KERR_NOMEM;
	jtok_init(d, tok, cap);
	return KERR_OK;
}

void jtok_doc_free(jtok_doc_t *d)
{
	free(d->tok);
	memset(d, 0, sizeof *d);
}

static void skip_ws(pstate_t *p)
{
	while (p->i < p->len && is_ws(p->s[p->i]))
		p->i++;
}

kerr_t jtok_parse(jtok_doc_t *d, const char *js, size_t len)
{
	uint32_t stack[JTOK_MAX_DEPTH];
	size_t depth = 0;
	pstate_t st = { (const unsigned char *)js, len, 0, d, 0 };
	pstate_t *p = &st;
	kerr_t err;

	d->js = js;
	d->len = len;
	d->n = 0;
	d->err_pos = 0;
	if (len > JTOK_MAX_INPUT)
		return KERR_TOO_LONG;
	if (!js && len)
		return KERR_ARG;

value:
	skip_ws(p);
	if (p->i >= len)
		return fail(p, KERR_TRUNCATED);
	switch (p->s[p->i]) {
	case '{':
	case '[': {
		bool obj = p->s[p->i] == '{';
		size_t idx;
		if (depth >= JTOK_MAX_DEPTH)
			return fail(p, KERR_TOO_LONG);
		if ((err = new_tok(p, obj ? JTOK_OBJECT : JTOK_ARRAY, p->i, &idx)))
			return err;
		stack[depth++] = (uint32_t)idx;
		p->i++;
		skip_ws(p);
		if (p->i >= len)
			return fail(p, KERR_TRUNCATED);
		if (p->s[p->i] == (obj ? '}' : ']'))
			goto close;
		if (obj)
			goto key;
		goto value;
	}
	case '"':
		if ((err = scan_string(p)))
			return err;
		goto after;
	case 't':
		if ((err = scan_literal(p, "true", 4, JTOK_TRUE)))
			return err;
		goto after;
	case 'f':
		if ((err = scan_literal(p, "false", 5, JTOK_FALSE)))
			return err;
		goto after;
	case 'n':
		if ((err = scan_literal(p, "null", 4, JTOK_NULL)))
			return err;
		goto after;
	default:
		if (p->s[p->i] == '-' || is_digit(p->s[p->i])) {
			if ((err = scan_number(p)))
				return err;
			goto after;
		}
		return fail(p, KERR_JSON);
	}

key:
	/* At a member: a string key, ':' and then its value. */
	if (p->s[p->i] != '"')
		return fail(p, KERR_JSON);
	if ((err = scan_string(p)))
		return err;
	skip_ws(p);
	if (p->i >= len)
		return fail(p, KERR_TRUNCATED);
	if (p->s[p->i] != ':')
		return fail(p, KERR_JSON);
	p->i++;
	goto value;

after:
	/* A value is complete: what may follow depends on its container. */
	skip_ws(p);
	if (depth == 0) {
		if (p->i != len)
			return fail(p, KERR_JSON);
		d->n = p->n;
		return KERR_OK;
	}
	if (p->i >= len)
		return fail(p, KERR_TRUNCATED);
	{
		jtok_t *top = &d->tok[stack[depth - 1]];
		bool obj = top->type == JTOK_OBJECT;
		if (p->s[p->i] == ',') {
			p->i++;
			skip_ws(p);
			if (p->i >= len)
				return fail(p, KERR_TRUNCATED);
			if (obj)
				goto key;
			goto value;
		}
		if (p->s[p->i] == (obj ? '}' : ']'))
			goto close;
		return fail(p, KERR_JSON);
	}

close:
	/* s[i] closes the innermost container. */
	{
		jtok_t *top = &d->tok[stack[--depth]];
		top->len = (uint32_t)(p->i + 1 - top->start);
		top->next = (uint32_t)p->n;
		p->i++;
	}
	goto after;
}

jtok_type_t jtok_type(const jtok_doc_t *d, size_t i)
{
	return (jtok_type_t)d->tok[i].type;
}

jtok_view_t jtok_text(const jtok_doc_t *d, size_t i)
{
	jtok_view_t v = { d->js + d->tok[i].start, d->tok[i].len };
	return v;
}

size_t jtok_skip(const jtok_doc_t *d, size_t i)
{
	return d->tok[i].next;
}

size_t jtok_first(const jtok_doc_t *d, size_t c)
{
	if (c >= d->n || (d->tok[c].type != JTOK_OBJECT && d->tok[c].type != JTOK_ARRAY))
		return JTOK_NONE;
	return d->tok[c].next > c + 1 ? c + 1 : JTOK_NONE;
}

size_t jtok_after(const jtok_doc_t *d, size_t c, size_t i)
{
	bool obj;
	size_t nx;

	if (c >= d->n)
		return JTOK_NONE;
	/* In an object, i is a key: step over it and its value. */
	obj = d->tok[c].type == JTOK_OBJECT;
	if (i + obj >= d->n)
		return JTOK_NONE;
	nx = d->tok[i + obj].next;
	return nx < d->tok[c].next ? nx : JTOK_NONE;
}

/*
 * Decode the next character of an escaped string at s[*i..end) into out
 * (1..4 UTF-8 bytes); returns how many.  The tokeniser has already checked
 * the escapes, so this cannot fail on a token it produced.
 */
static size_t next_char(const char *s, size_t *i, char out[4])
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t cp;

	if (u[*i] != '\\') {
		out[0] = s[(*i)++];
		return 1;
	}
	switch (u[*i + 1]) {
	case 'b': cp = '\b'; break;
	case 'f': cp = '\f'; break;
	case 'n': cp = '\n'; break;
	case 'r': cp = '\r'; break;
	case 't': cp = '\t'; break;
	case 'u':
		cp = (uint32_t)hex4(u + *i + 2);
		if (cp >= 0xd800 && cp <= 0xdbff) {
			uint32_t lo = (uint32_t)hex4(u + *i + 8);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			*i += 6;
		}
		*i += 6;
		goto encode;
	default: cp = u[*i + 1]; break;   /* " \ / */
	}
	*i += 2;
encode:
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

bool jtok_str_eq(const jtok_doc_t *d, size_t i, const char *s, size_t len)
{
	const jtok_t *t;
	const char *r;
	size_t k = 0, j = 0;

	if (i >= d->n || d->tok[i].type != JTOK_STRING)
		return false;
	t = &d->tok[i];
	r = d->js + t->start;
	if (!(t->flags & JTOK_F_ESCAPED))
		return t->len == len && memcmp(r, s, len) == 0;
	/* Escapes only ever shorten the text. */
	if (len > t->len)
		return false;
	while (k < t->len) {
		char c[4];
		size_t m = next_char(r, &k, c);
		if (m > len - j || memcmp(c, s + j, m) != 0)
			return false;
		j += m;
	}
	return j == len;
}

kerr_t jtok_unescape(const jtok_doc_t *d, size_t i, char *out, size_t cap,
		     size_t *out_len)
{
	const jtok_t *t;
	const char *r;
	size_t k = 0, j = 0;
	bool fits = true;

	if (i >= d->n || d->tok[i].type != JTOK_STRING)
		return KERR_JSON;
	t = &d->tok[i];
	r = d->js + t->start;
	while (k < t->len) {
		char c[4];
		size_t m = next_char(r, &k, c);
		if (fits && m <= cap - j)
			memcpy(out + j, c, m);
		else
			fits = false;
		j += m;
	}
	*out_len = j;
	return fits ? KERR_OK : KERR_BUF;
}

kerr_t jtok_str_view(const jtok_doc_t *d, size_t i, char *buf, size_t cap,
		     jtok_view_t *out)
{
	kerr_t err;
	if (i >= d->n || d->tok[i].type != JTOK_STRING)
		return KERR_JSON;
	if (!(d->tok[i].flags & JTOK_F_ESCAPED)) {
		*out = jtok_text(d, i);
		return KERR_OK;
	}
	if ((err = jtok_unescape(d, i, buf, cap, &out->len)))
		return err;
	out->p = buf;
	return KERR_OK;
}

kerr_t jtok_key(const jtok_doc_t *d, size_t obj, const char *key, size_t klen,
		size_t *out)
{
	size_t found = JTOK_NONE;

	if (obj >= d->n || d->tok[obj].type != JTOK_OBJECT)
		return KERR_JSON;
	for (size_t k = jtok_first(d, obj); k != JTOK_NONE; k = jtok_after(d, obj, k)) {
		if (!jtok_str_eq(d, k, key, klen))
			continue;
		if (found != JTOK_NONE)
			return KERR_JSON;
		found = k + 1;
	}
	if (found == JTOK_NONE)
		return KERR_NOT_FOUND;
	*out = found;
	return KERR_OK;
}

kerr_t jtok_key_opt(const jtok_doc_t *d, size_t obj, const char *key,
		    size_t *out)
{
	kerr_t err = jtok_key(d, obj, key, strlen(key), out);

	if (err == KERR_NOT_FOUND) {
		*out = JTOK_NONE;
		return KERR_OK;
	}
	return err;
}

kerr_t jtok_index(const jtok_doc_t *d, size_t arr, size_t idx, size_t *out)
{
	size_t k;
	if (arr >= d->n || d->tok[arr].type != JTOK_ARRAY)
		return KERR_JSON;
	for (k = jtok_first(d, arr); k != JTOK_NONE && idx > 0; k = jtok_after(d, arr, k))
		idx--;
	if (k == JTOK_NONE)
		return KERR_NOT_FOUND;
	*out = k;
	return KERR_OK;
}

kerr_t jtok_path(const jtok_doc_t *d, size_t from, const char *path,
		 size_t plen, size_t *out)
{
	size_t cur = from, a = 0, dots = 0;

	/* The path's own form first, so that a bad path fails the same way
	 * on every document. */
	if (plen == 0 || path[0] == '.' || path[plen - 1] == '.')
		return KERR_ARG;
	for (size_t k = 0; k < plen; k++) {
		if (path[k] != '.')
			continue;
		if (path[k + 1] == '.' || ++dots >= JTOK_MAX_DEPTH)
			return KERR_ARG;
	}
	if (from >= d->n)
		return KERR_NOT_FOUND;
	while (a <= plen) {
		size_t b = a, idx = 0;
		bool digits = true;
		kerr_t err;

		while (b < plen && path[b] != '.') {
			if (!is_digit((unsigned char)path[b]) || b - a >= 9)
				digits = false;
			else
				idx = idx * 10 + (size_t)(path[b] - '0');
			b++;
		}
		if (d->tok[cur].type == JTOK_ARRAY) {
			if (!digits)
				return KERR_NOT_FOUND;
			err = jtok_index(d, cur, idx, &cur);
		} else if (d->tok[cur].type == JTOK_OBJECT)
			err = jtok_key(d, cur, path + a, b - a, &cur);
		else
			err = KERR_NOT_FOUND;   /* a scalar has no members */
		if (err)
			return err;
		a = b + 1;
	}
	*out = cur;
	return KERR_OK;
}

/* The text of a hex string token: a string without escapes, with 0x. */
static kerr_t hex_text(const jtok_doc_t *d, size_t i, jtok_view_t *v)
{
	if (i >= d->n || d->tok[i].type != JTOK_STRING ||
	    (d->tok[i].flags & JTOK_F_ESCAPED))
		return KERR_JSON;
	*v = jtok_text(d, i);
	if (v->len < 2 || v->p[0] != '0' || (v->p[1] != 'x' && v->p[1] != 'X'))
		return KERR_HEX_PREFIX;
	return KERR_OK;
}

kerr_t jtok_u64(const jtok_doc_t *d, size_t i, uint64_t *out)
{
	jtok_view_t v;
	uint64_t x = 0;
	kerr_t err = hex_text(d, i, &v);

	if (err)
		return err;
	if (v.len == 2)
		return KERR_NUM_EMPTY;
	for (size_t k = 2; k < v.len; k++) {
		int h = hex_digit(v.p[k]);
		if (h < 0)
			return KERR_HEX_CHAR;
		if (x >> 60)
			return KERR_NUM_OVERFLOW;
		x = x << 4 | (uint64_t)h;
	}
	*out = x;
	return KERR_OK;
}

kerr_t jtok_u256(const jtok_doc_t *d, size_t i, u256_t *out)
{
	jtok_view_t v;
	uint64_t x;
	kerr_t err = hex_text(d, i, &v);

	if (err)
		return err;
	/* Most fees and values fit 64 bits; the u64 reader is the same
	 * grammar at a quarter of the cost. */
	if (v.len > 2 && v.len <= 18 && jtok_u64(d, i, &x) == KERR_OK) {
		u256_from_u64(out, x);
		return KERR_OK;
	}
	return u256_from_hex(out, v.p, v.len);
}

kerr_t jtok_bytes(const jtok_doc_t *d, size_t i, uint8_t *out, size_t cap,
		  size_t *out_len)
{
	jtok_view_t v;
	kerr_t err = hex_text(d, i, &v);
	return err ? err : hex_decode(out, cap, out_len, v.p, v.len);
}

kerr_t jtok_fixed(const jtok_doc_t *d, size_t i, uint8_t *out, size_t n)
{
	jtok_view_t v;
	kerr_t err = hex_text(d, i, &v);
	return err ? err : hex_decode_exact(out, n, v.p, v.len);
}

kerr_t jtok_addr(const jtok_doc_t *d, size_t i, addr_t *out)
{
	jtok_view_t v;
	kerr_t err = hex_text(d, i, &v);
	return err ? err : addr_parse(out, v.p, v.len);
}

kerr_t jtok_bool(const jtok_doc_t *d, size_t i, bool *out)
{
	if (i >= d->n)
		return KERR_JSON;
	if (d->tok[i].type == JTOK_TRUE)
		*out = true;
	else if (d->tok[i].type == JTOK_FALSE)
		*out = false;
	else
		return KERR_JSON;
	return KERR_OK;
}

/*
 * The text of a number token, or of a string holding exactly a JSON number;
 * the number grammar of a string is checked here (the tokeniser checked it
 * for number tokens).
 */
static kerr_t number_text(const jtok_doc_t *d, size_t i, jtok_view_t *v)
{
	const unsigned char *s;
	size_t k = 0, n;

	if (i >= d->n)
		return KERR_JSON;
	if (d->tok[i].type == JTOK_NUMBER) {
		*v = jtok_text(d, i);
		return v->len > JTOK_NUM_MAX ? KERR_TOO_LONG : KERR_OK;
	}
	if (d->tok[i].type != JTOK_STRING)
		return KERR_JSON;
	if (d->tok[i].flags & JTOK_F_ESCAPED)
		return KERR_NUM_CHAR;
	*v = jtok_text(d, i);
	s = (const unsigned char *)v->p;
	n = v->len;
	if (n == 0)
		return KERR_NUM_EMPTY;
	if (n > JTOK_NUM_MAX)
		return KERR_TOO_LONG;
	/* A string's number is whole or it is not one: truncation included. */
	if (number_end(s, n, &k) != KERR_OK || k != n)
		return KERR_NUM_CHAR;
	return KERR_OK;
}

bool jtok_plain_u64(const jtok_doc_t *d, size_t i, uint64_t *out)
{
	jtok_view_t v;
	uint64_t x = 0;

	if (i >= d->n || d->tok[i].type != JTOK_NUMBER)
		return false;
	v = jtok_text(d, i);
	for (size_t k = 0; k < v.len; k++) {
		unsigned dg = (unsigned)(v.p[k] - '0');
		if (dg > 9 || x > (UINT64_MAX - dg) / 10)
			return false;
		x = x * 10 + dg;
	}
	*out = x;
	return true;
}

kerr_t jtok_double(const jtok_doc_t *d, size_t i, double *out)
{
	char buf[JTOK_NUM_MAX + 1];
	jtok_view_t v;
	char *end;
	double x;
	kerr_t err = number_text(d, i, &v);

	if (err)
		return err;
	memcpy(buf, v.p, v.len);
	buf[v.len] = 0;
	x = strtod(buf, &end);
	if (end != buf + v.len)
		return KERR_NUM_CHAR;
	/* The grammar admits neither NaN nor inf: only overflow gets here. */
	if (!isfinite(x))
		return KERR_NUM_RANGE;
	*out = x;
	return KERR_OK;
}

kerr_t jtok_int64(const jtok_doc_t *d, size_t i, int64_t *out)
{
	jtok_view_t v;
	size_t k = 0;
	bool neg = false;
	uint64_t x = 0, lim;
	kerr_t err = number_text(d, i, &v);

	if (err)
		return err;
	if (v.p[0] == '-') {
		neg = true;
		k = 1;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; k < v.len; k++) {
		unsigned dg;
		if (!is_digit((unsigned char)v.p[k]))
			return KERR_NUM_CHAR;   /* fraction or exponent */
		dg = (unsigned)(v.p[k] - '0');
		if (x > (lim - dg) / 10)
			return KERR_NUM_OVERFLOW;
		x = x * 10 + dg;
	}
	if (neg)
		*out = x == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)x;
	else
		*out = (int64_t)x;
	return KERR_OK;
}
