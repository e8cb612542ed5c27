/*
 * jtok: a strict, bounded, zero-copy JSON tokeniser, and typed readers over
 * its tokens, for the frames keeper receives from nodes and price feeds.
 *
 * Why not a document library, and why not jsmn.  Every frame on the hot
 * path is parsed into a caller-owned token array sized once at start: no
 * allocation per frame, no copies (a token is an offset and a length into
 * the frame), and hard limits on input length, token count and nesting.
 * tests/bench_parse measures the candidates on the same recorded anvil
 * pending-transaction frames (0.85 KiB on average), median of 15 rounds,
 * one core of a 2-vCPU Xeon @ 2.5 GHz (quiet machine; with other builds
 * running every figure was up to 2x slower, the ratios the same):
 *
 *                                     ns/frame   frames/s   mallocs/frame
 *   jtok_parse (tokenise only)            935     1,070,000        0
 *   jsmn 1.1.0 (JSMN_STRICT, parents)   1,470       680,000        0
 *   jansson 2.14 json_loadb + decref   18,060        55,000       99.7
 *   frame -> event_t (node_parse)       1,880       532,000        0
 *
 * jansson builds a heap document per frame: ~100 malloc calls, ~19x the
 * time of jtok_parse and ~10x that of the whole frame-to-event parse.
 * jsmn is zero-copy but slower here and not strict, even with JSMN_STRICT:
 * it accepts {"a" "b"}, [1 2], {"a":1,}, [1,,2], 01, 1.2.3, -, tru, 1e,
 * {}{} and strings with raw control bytes, invalid UTF-8 or
 * lone surrogates, and its tokens carry no link past a subtree, so
 * skipping a member is a scan.  A malformed frame must be refused, not
 * half-read, and a validating pass on top of jsmn would cost more again.
 * Hence this small tokeniser: it validates as it goes (RFC 8259 grammar,
 * UTF-8, escapes, surrogate pairs; tests/test_jtok checks that it accepts
 * exactly what jansson accepts, numbers too big for jansson aside, on
 * thousands of mutated frames) and is the fastest of the three.  Rerun
 * `make bench` for this machine's figures.
 *
 * Tokens.  Index 0 is the top-level value.  An object is followed by its
 * members as key (a string token), then the value's tokens; an array by its
 * elements.  Every token records `next`, the index just past its subtree,
 * so a reader steps over a member in O(1).  A string token's text is its
 * content between the quotes, escapes as written; JTOK_F_ESCAPED says it has
 * a backslash, and such strings are compared and copied through the
 * unescaping functions below.  Tokens are valid while the text they index is.
 *
 * Duplicate keys.  RFC 8259 leaves them undefined and parsers disagree
 * (first wins, last wins), which lets a crafted frame mean two things.  The
 * rule here: a lookup (jtok_key, jtok_path) fails with KERR_JSON when the
 * key it asks for occurs more than once in the object, comparing keys after
 * unescaping ("to" and "t\u006f" are the same key).  Duplicates of keys
 * nobody reads are left alone, so the cost stays O(members) per lookup.
 *
 * Errors: KERR_TRUNCATED (the text ends inside a value, or is empty),
 * KERR_JSON (anything else malformed, or a wrong JSON type for a reader),
 * KERR_TOO_LONG (input over JTOK_MAX_INPUT, more tokens than the array
 * holds, nesting deeper than JTOK_MAX_DEPTH, a number text over
 * JTOK_NUM_MAX), and the hex/number codes of the typed readers.
 */
#ifndef KEEPER_JTOK_H
#define KEEPER_JTOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keeper/kerr.h"
#include "signer/addr.h"
#include "signer/u256.h"

/* Offsets are 32-bit; frames are limited far below this by their parsers. */
#define JTOK_MAX_INPUT ((size_t)1 << 30)
/* Objects and arrays nested deeper than this are refused (no frame we read
 * nests beyond 6). */
#define JTOK_MAX_DEPTH 64
/* Longest number text jtok_double / jtok_int64 read (digits, sign, point,
 * exponent): prices and timestamps are far shorter. */
#define JTOK_NUM_MAX 64
/* "No such token" for functions returning an index. */
#define JTOK_NONE SIZE_MAX

typedef enum {
	JTOK_OBJECT = 1,
	JTOK_ARRAY,
	JTOK_STRING,
	JTOK_NUMBER,
	JTOK_TRUE,
	JTOK_FALSE,
	JTOK_NULL,
} jtok_type_t;

/* flags */
#define JTOK_F_ESCAPED 1u   /* STRING: contains a backslash escape */

typedef struct {
	uint32_t start;  /* byte offset: string content, or the value's first byte */
	uint32_t len;    /* bytes: string content without quotes; whole text otherwise */
	uint32_t next;   /* index of the first token after this one's subtree */
	uint8_t type;    /* jtok_type_t */
	uint8_t flags;   /* JTOK_F_* */
	uint16_t pad_;
} jtok_t;

/* A (pointer, length) view into the tokenised text. */
typedef struct {
	const char *p;
	size_t len;
} jtok_view_t;

/* One tokenised text.  Fill with jtok_init(), then jtok_parse() per text. */
typedef struct {
	const char *js;   /* the text of the last jtok_parse (not owned) */
	size_t len;
	jtok_t *tok;      /* the caller's array */
	size_t cap;       /* its capacity in tokens */
	size_t n;         /* tokens of the last successful parse (0 after an error) */
	size_t err_pos;   /* after an error: byte offset where it was found */
} jtok_doc_t;

/* Attach the caller's token array (cap tokens, 1..UINT32_MAX-1). */
void jtok_init(jtok_doc_t *d, jtok_t *tok, size_t cap);

/*
 * For a parser that sizes its token array once, from the longest text it
 * accepts: allocate cap tokens (cap >= 1) and attach them as jtok_init
 * does.  KERR_NOMEM (d is then zeroed), KERR_ARG for cap 0.  Release with
 * jtok_doc_free(), which also takes a zeroed doc (a failed or never-made
 * allocation) and leaves d zeroed.
 */
kerr_t jtok_doc_alloc(jtok_doc_t *d, size_t cap);
void jtok_doc_free(jtok_doc_t *d);

/*
 * Tokenise exactly one JSON value in js[0..len), with only whitespace
 * around it.  Nothing is allocated and js need not be NUL-terminated.  On
 * error d->n is 0 and d->err_pos says where.  KERR_TRUNCATED, KERR_JSON,
 * KERR_TOO_LONG (see the top of this file).
 */
kerr_t jtok_parse(jtok_doc_t *d, const char *js, size_t len);

/* Type of token i (i < d->n). */
jtok_type_t jtok_type(const jtok_doc_t *d, size_t i);
/* Raw text of token i: a string's content without quotes (escapes as
 * written), a number or literal as written, a container from its bracket to
 * its closing bracket. */
jtok_view_t jtok_text(const jtok_doc_t *d, size_t i);
/* Index just past the subtree of token i. */
size_t jtok_skip(const jtok_doc_t *d, size_t i);

/*
 * Iteration.  For an array: its first element, then each next element.  For
 * an object: its first KEY, then each next key (the value of key k is k+1).
 * JTOK_NONE at the end, or when c is not a container.
 *   for (size_t k = jtok_first(d, o); k != JTOK_NONE; k = jtok_after(d, o, k))
 */
size_t jtok_first(const jtok_doc_t *d, size_t c);
size_t jtok_after(const jtok_doc_t *d, size_t c, size_t i);

/*
 * The value of member key[0..klen) of object obj, into *out.  KERR_JSON
 * when obj is not an object or the key occurs twice; KERR_NOT_FOUND.
 */
kerr_t jtok_key(const jtok_doc_t *d, size_t obj, const char *key, size_t klen,
		size_t *out);

/*
 * jtok_key for a member that may be absent: key is NUL-terminated, and a
 * missing member is not an error but *out = JTOK_NONE.  KERR_JSON as
 * jtok_key.
 */
kerr_t jtok_key_opt(const jtok_doc_t *d, size_t obj, const char *key,
		    size_t *out);

/* Element idx of array arr.  KERR_JSON when arr is not an array;
 * KERR_NOT_FOUND past the end. */
kerr_t jtok_index(const jtok_doc_t *d, size_t arr, size_t idx, size_t *out);

/*
 * Follow a dot path from token `from`: "params.result.hash", "data.0.p".
 * A segment of digits indexes an array (in an object it is a key); any
 * other segment is a key.  KERR_ARG for an empty path or segment or more
 * than JTOK_MAX_DEPTH segments; KERR_NOT_FOUND for a missing key or index
 * or a path that runs on past a scalar; KERR_JSON for a duplicate key.
 */
kerr_t jtok_path(const jtok_doc_t *d, size_t from, const char *path,
		 size_t plen, size_t *out);

/* true when string token i, unescaped, equals s[0..len); false for any
 * other token type. */
bool jtok_str_eq(const jtok_doc_t *d, size_t i, const char *s, size_t len);

/*
 * Unescape string token i into out[0..cap) (no NUL added): \uXXXX and
 * surrogate pairs become UTF-8.  KERR_JSON when i is not a string,
 * KERR_BUF when out is too small (the exact length then is in *out_len).
 */
kerr_t jtok_unescape(const jtok_doc_t *d, size_t i, char *out, size_t cap,
		     size_t *out_len);

/*
 * A string token's text for comparison: the raw view when it has no
 * escapes, else unescaped into buf[0..cap).  KERR_JSON, KERR_BUF.
 */
kerr_t jtok_str_view(const jtok_doc_t *d, size_t i, char *buf, size_t cap,
		     jtok_view_t *out);

/*
 * Typed readers of node output.  Hex readers take a string token without
 * escapes (nodes never escape hex; an escaped one is KERR_JSON) and demand
 * the "0x" prefix (KERR_HEX_PREFIX).
 *   jtok_u64:   a hex quantity ("0x1a", leading zeros allowed); more than
 *               64 bits is KERR_NUM_OVERFLOW, "0x" is KERR_NUM_EMPTY.
 *   jtok_u256:  the same into 256 bits (u256_from_hex).
 *   jtok_bytes: "0x" + an even number of digits into out[0..cap);
 *               KERR_HEX_ODD, KERR_HEX_CHAR, KERR_TOO_LONG.
 *   jtok_fixed: exactly n bytes ("0x" + 2n digits), else KERR_HEX_LENGTH.
 *   jtok_addr:  an address (addr_parse: lowercase as nodes send it, or a
 *               valid EIP-55 checksum).
 *   jtok_bool:  true / false.
 */
kerr_t jtok_u64(const jtok_doc_t *d, size_t i, uint64_t *out);
kerr_t jtok_u256(const jtok_doc_t *d, size_t i, u256_t *out);
kerr_t jtok_bytes(const jtok_doc_t *d, size_t i, uint8_t *out, size_t cap,
		  size_t *out_len);
kerr_t jtok_fixed(const jtok_doc_t *d, size_t i, uint8_t *out, size_t n);
kerr_t jtok_addr(const jtok_doc_t *d, size_t i, addr_t *out);
kerr_t jtok_bool(const jtok_doc_t *d, size_t i, bool *out);

/*
 * true, with the value in *out, when token i is a number token written as
 * plain decimal digits (no sign, fraction or exponent) below 2^64: the
 * JSON-RPC ids keeper sends.  false for anything else, i out of range too.
 */
bool jtok_plain_u64(const jtok_doc_t *d, size_t i, uint64_t *out);

/*
 * A number, or a string holding exactly a JSON number ("1450.21"), as a
 * finite double.  Strict: the string form has no spaces, sign '+', hex,
 * "NaN" or "Infinity" (KERR_NUM_CHAR), is not empty (KERR_NUM_EMPTY), at
 * most JTOK_NUM_MAX chars (KERR_TOO_LONG); a value beyond the double range
 * (1e999) is KERR_NUM_RANGE.  Other token types: KERR_JSON.  Conversion is
 * strtod's, correctly rounded; keeper never calls setlocale, so the decimal
 * point is '.'.
 */
kerr_t jtok_double(const jtok_doc_t *d, size_t i, double *out);

/*
 * An integer number, or a string of one ("1678520483119"), as int64_t:
 * optional '-', digits, no fraction or exponent (KERR_NUM_CHAR),
 * KERR_NUM_OVERFLOW beyond int64_t, KERR_JSON for other token types.
 */
kerr_t jtok_int64(const jtok_doc_t *d, size_t i, int64_t *out);

#endif
