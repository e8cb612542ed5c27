/*
 * test_jtok: the strict tokeniser and its readers.
 *
 * - every frame anvil sent (tests/fixtures/frames/anvil-*.jsonl) tokenises,
 *   and its tokens agree value by value with jansson's document of it;
 * - the grammar: accepted texts, and rejected ones each with its exact
 *   code (truncated vs malformed vs over a limit);
 * - every proper prefix of a real frame is KERR_TRUNCATED and every single
 *   byte substitution is accepted exactly when jansson accepts it, each
 *   text in a heap buffer of its exact size so that ASan sees any read
 *   past the end;
 * - lookups (keys, indexes, dot paths, the duplicate-key rule), unescaping,
 *   and the typed readers with their error codes.
 */
#include <jansson.h>
#include <stdbool.h>

#include "keeper/jtok.h"
#include "tests/test.h"

#define NTOK 4096
static jtok_t toks[NTOK];

/* A copy of s[0..len) in a heap block of exactly len bytes (ASan guards
 * its end). */
static char *exact(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);
	if (len)
		memcpy(p, s, len);
	return p;
}

/* Tokenise a C string from an exact-size copy; the doc keeps pointing
 * into the copy, which lives until the next call. */
static char *keep;
static kerr_t parse_n(jtok_doc_t *d, const char *s, size_t len)
{
	free(keep);
	keep = exact(s, len);
	jtok_init(d, toks, NTOK);
	return jtok_parse(d, keep, len);
}

static kerr_t parse(jtok_doc_t *d, const char *s)
{
	return parse_n(d, s, strlen(s));
}

static void test_structure(void)
{
	jtok_doc_t d;
	jtok_view_t v;

	CHECK_OK(parse(&d, " {\"a\": [1, \"x\", {\"b\": null}], \"c\": true, \"d\": false} "));
	/* 0 { 1 "a" 2 [ 3 1 4 "x" 5 { 6 "b" 7 null 8 "c" 9 true 10 "d" 11 false */
	CHECK_EQ_INT(d.n, 12);
	CHECK_EQ_INT(jtok_type(&d, 0), JTOK_OBJECT);
	CHECK_EQ_INT(jtok_skip(&d, 0), 12);
	v = jtok_text(&d, 0);
	CHECK_EQ_INT(v.len, d.len - 2);  /* without the outer spaces */
	CHECK_EQ_INT(v.p[0], '{');
	CHECK_EQ_INT(v.p[v.len - 1], '}');
	CHECK_EQ_INT(jtok_type(&d, 1), JTOK_STRING);   /* key "a" */
	CHECK_EQ_INT(jtok_type(&d, 2), JTOK_ARRAY);
	CHECK_EQ_INT(jtok_skip(&d, 2), 8);
	CHECK_EQ_INT(jtok_skip(&d, 3), 4);
	CHECK_EQ_INT(jtok_type(&d, 3), JTOK_NUMBER);
	CHECK_EQ_INT(jtok_type(&d, 4), JTOK_STRING);
	v = jtok_text(&d, 4);
	CHECK(v.len == 1 && v.p[0] == 'x');
	CHECK_EQ_INT(jtok_type(&d, 5), JTOK_OBJECT);
	CHECK_EQ_INT(jtok_skip(&d, 5), 8);
	CHECK_EQ_INT(jtok_type(&d, 6), JTOK_STRING);
	CHECK_EQ_INT(jtok_type(&d, 7), JTOK_NULL);
	CHECK_EQ_INT(jtok_type(&d, 8), JTOK_STRING);
	CHECK_EQ_INT(jtok_type(&d, 9), JTOK_TRUE);
	CHECK_EQ_INT(jtok_type(&d, 11), JTOK_FALSE);

	/* Iteration: keys of the object, elements of the array. */
	{
		size_t keys[4], nk = 0, els = 0;
		for (size_t k = jtok_first(&d, 0); k != JTOK_NONE; k = jtok_after(&d, 0, k))
			if (nk < 4)
				keys[nk++] = k;
		CHECK_EQ_INT(nk, 3);
		CHECK(jtok_str_eq(&d, keys[0], "a", 1));
		CHECK(jtok_str_eq(&d, keys[1], "c", 1));
		CHECK(jtok_str_eq(&d, keys[2], "d", 1));
		for (size_t e = jtok_first(&d, 2); e != JTOK_NONE; e = jtok_after(&d, 2, e))
			els++;
		CHECK_EQ_INT(els, 3);
		CHECK_EQ_INT(jtok_first(&d, 3), JTOK_NONE);   /* a number has no children */
	}

	CHECK_OK(parse(&d, "[]"));
	CHECK_EQ_INT(d.n, 1);
	CHECK_EQ_INT(jtok_first(&d, 0), JTOK_NONE);
	CHECK_OK(parse(&d, "{}"));
	CHECK_EQ_INT(jtok_first(&d, 0), JTOK_NONE);
	CHECK_OK(parse(&d, "\"\""));
	CHECK_EQ_INT(jtok_text(&d, 0).len, 0);
	CHECK_OK(parse(&d, "-0.5e+10"));
	CHECK_EQ_INT(jtok_type(&d, 0), JTOK_NUMBER);
	CHECK_EQ_INT(jtok_text(&d, 0).len, 8);
}

/* Compare token i with jansson's value j; returns false at the first
 * difference. */
static bool same(const jtok_doc_t *d, size_t i, json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		size_t n = 0;
		if (jtok_type(d, i) != JTOK_OBJECT)
			return false;
		for (size_t k = jtok_first(d, i); k != JTOK_NONE; k = jtok_after(d, i, k)) {
			char key[256];
			size_t kl;
			json_t *v;
			if (jtok_unescape(d, k, key, sizeof key, &kl) != KERR_OK)
				return false;
			v = json_object_getn(j, key, kl);
			if (!v || !same(d, k + 1, v))
				return false;
			n++;
		}
		return n == json_object_size(j);
	}
	case JSON_ARRAY: {
		size_t n = 0;
		if (jtok_type(d, i) != JTOK_ARRAY)
			return false;
		for (size_t e = jtok_first(d, i); e != JTOK_NONE; e = jtok_after(d, i, e))
			if (n >= json_array_size(j) || !same(d, e, json_array_get(j, n++)))
				return false;
		return n == json_array_size(j);
	}
	case JSON_STRING: {
		static char buf[1 << 16];
		size_t n;
		return jtok_unescape(d, i, buf, sizeof buf, &n) == KERR_OK &&
		       n == json_string_length(j) && memcmp(buf, json_string_value(j), n) == 0;
	}
	case JSON_INTEGER: {
		int64_t x;
		return jtok_int64(d, i, &x) == KERR_OK && x == json_integer_value(j);
	}
	case JSON_REAL: {
		double x;
		return jtok_double(d, i, &x) == KERR_OK && x == json_real_value(j);
	}
	case JSON_TRUE: return jtok_type(d, i) == JTOK_TRUE;
	case JSON_FALSE: return jtok_type(d, i) == JTOK_FALSE;
	case JSON_NULL: return jtok_type(d, i) == JTOK_NULL;
	}
	return false;
}

static const char *const fixture_files[] = {
	"tests/fixtures/frames/anvil-stream.jsonl",
	"tests/fixtures/frames/anvil-berlin.jsonl",
	"tests/fixtures/frames/anvil-replies.jsonl",
	"tests/fixtures/frames/feed-binance.jsonl",
	"tests/fixtures/frames/feed-coinbase.jsonl",
};

static void test_real_frames_match_jansson(void)
{
	int frames = 0;
	for (size_t f = 0; f < sizeof fixture_files / sizeof *fixture_files; f++) {
		char *buf = t_read_file(fixture_files[f], NULL);
		const char *l;
		size_t len;
		CHECK(buf != NULL);
		if (!buf)
			continue;
		for (int n = 1; (l = t_line_of(buf, n, &len)); n++) {
			jtok_doc_t d;
			json_error_t jerr;
			json_t *j = json_loadb(l, len, 0, &jerr);
			CHECK_MSG(j != NULL, "%s:%d: jansson: %s", fixture_files[f], n, jerr.text);
			CHECK_OK(parse_n(&d, l, len));
			CHECK_MSG(j && d.n && same(&d, 0, j), "%s:%d differs from jansson",
				  fixture_files[f], n);
			json_decref(j);
			frames++;
		}
		free(buf);
	}
	CHECK_EQ_INT(frames, 26 + 7 + 2 + 4 + 4);
	printf("    %d real frames agree with jansson\n", frames);
}

static void test_accept(void)
{
	static const char *const ok[] = {
		"0", "-0", "1", "-1", "10", "1.5", "-1.5e3", "1E+2", "1e-2", "0.0",
		"123456789012345678901234567890", "1e999",
		"true", "false", "null", "\"\"", "\"a\"", " \t\r\n[ ] ",
		"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u0000\"", "\"\\u00e9\\uD83D\\uDE00\"",
		"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "\"\x7f\"",
		"[[[[[]]]]]", "{\"a\":{\"b\":{\"c\":[1,{\"d\":[]}]}}}",
		"{\"a\":1,\"a\":2}",   /* duplicates tokenise; lookups refuse them */
		"[1,-2,3.5,true,false,null,\"x\",{},[]]",
	};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		jtok_doc_t d;
		kerr_t err = parse(&d, ok[i]);
		CHECK_MSG(err == KERR_OK, "\"%s\": %s", ok[i], kerr_name(err));
	}
}

static void test_reject(void)
{
	static const struct {
		const char *s;
		size_t len;   /* 0: strlen */
		kerr_t want;
	} bad[] = {
		{ "", 0, KERR_TRUNCATED }, { "  \n", 0, KERR_TRUNCATED },
		{ "{", 0, KERR_TRUNCATED }, { "[1,", 0, KERR_TRUNCATED },
		{ "\"abc", 0, KERR_TRUNCATED }, { "tru", 0, KERR_TRUNCATED },
		{ "-", 0, KERR_TRUNCATED }, { "[1.", 0, KERR_TRUNCATED },
		{ "[1e", 0, KERR_TRUNCATED }, { "[1e+", 0, KERR_TRUNCATED },
		{ "{\"a\"", 0, KERR_TRUNCATED }, { "{\"a\":", 0, KERR_TRUNCATED },
		{ "\"\\u12", 0, KERR_TRUNCATED }, { "\"\\ud83d", 0, KERR_TRUNCATED },
		{ "\"\\ud83d\\", 0, KERR_TRUNCATED }, { "\"\\", 0, KERR_TRUNCATED },
		{ "\"\xe2\x82", 0, KERR_TRUNCATED }, { "[1", 0, KERR_TRUNCATED },
		{ "{\"a\":1", 0, KERR_TRUNCATED },
		{ "{\"a\" \"b\"}", 0, KERR_JSON }, { "[1 2]", 0, KERR_JSON },
		{ "{\"a\":1,}", 0, KERR_JSON }, { "[1,]", 0, KERR_JSON },
		{ "[,1]", 0, KERR_JSON }, { "{,}", 0, KERR_JSON },
		{ "01", 0, KERR_JSON }, { "1.2.3", 0, KERR_JSON }, { "tru ", 0, KERR_JSON },
		{ "truE", 0, KERR_JSON }, { "1 2", 0, KERR_JSON }, { "{} x", 0, KERR_JSON },
		{ "[1]]", 0, KERR_JSON }, { "]", 0, KERR_JSON }, { "{1:2}", 0, KERR_JSON },
		{ "{\"a\":1 \"b\":2}", 0, KERR_JSON }, { "{\"a\"::1}", 0, KERR_JSON },
		{ "[1}", 0, KERR_JSON }, { "{\"a\":1]", 0, KERR_JSON },
		{ "\"\\x\"", 0, KERR_JSON }, { "\"\\u12g4\"", 0, KERR_JSON },
		{ "\"\\U0041\"", 0, KERR_JSON },
		{ "\"\\udc00\"", 0, KERR_JSON }, { "\"\\ud800\"", 0, KERR_JSON },
		{ "\"\\ud800\\u0041\"", 0, KERR_JSON }, { "\"\\ud800\\n\"", 0, KERR_JSON },
		{ "\"\\ud800x\"", 0, KERR_JSON },
		{ "\"a\x01" "b\"", 0, KERR_JSON }, { "\"\t\"", 0, KERR_JSON },
		{ "\"\xff\"", 0, KERR_JSON }, { "\"\xc0\xaf\"", 0, KERR_JSON },
		{ "\"\xc1\xbf\"", 0, KERR_JSON }, { "\"\xe0\x80\xaf\"", 0, KERR_JSON },
		{ "\"\xed\xa0\x80\"", 0, KERR_JSON }, { "\"\xf4\x90\x80\x80\"", 0, KERR_JSON },
		{ "\"\xf5\x80\x80\x80\"", 0, KERR_JSON }, { "\"\xe2\x82\"", 0, KERR_JSON },
		{ "\"\x80\"", 0, KERR_JSON },
		{ "NaN", 0, KERR_JSON }, { "Infinity", 0, KERR_JSON },
		{ "-Infinity", 0, KERR_JSON }, { "+1", 0, KERR_JSON }, { ".5", 0, KERR_JSON },
		{ "[-]", 0, KERR_JSON }, { "[1e+]", 0, KERR_JSON }, { "[0x10]", 0, KERR_JSON },
		{ "[1.e5]", 0, KERR_JSON }, { "[-01]", 0, KERR_JSON }, { "'a'", 0, KERR_JSON },
		{ "nul\0", 4, KERR_JSON }, { "{}\0", 3, KERR_JSON }, { "\0", 1, KERR_JSON },
		{ "[1,\0]", 5, KERR_JSON }, { "\"a\0\"", 4, KERR_JSON },
		{ "{\"a\":1}{}", 0, KERR_JSON }, { "\xef\xbb\xbf{}", 0, KERR_JSON },
		{ "[1]\x0b", 0, KERR_JSON }, { "/*c*/1", 0, KERR_JSON },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		jtok_doc_t d;
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].s);
		kerr_t err = parse_n(&d, bad[i].s, len);
		CHECK_MSG(err == bad[i].want, "case %zu \"%s\": got %s, want %s", i,
			  bad[i].s, kerr_name(err), kerr_name(bad[i].want));
		CHECK_EQ_INT(d.n, 0);
	}
}

static void test_err_pos(void)
{
	jtok_doc_t d;
	CHECK_ERR(parse(&d, "{\"a\":1,}"), KERR_JSON);
	CHECK_EQ_INT(d.err_pos, 7);
	CHECK_ERR(parse(&d, "[\"ok\", \"b\x01\"]"), KERR_JSON);
	CHECK_EQ_INT(d.err_pos, 9);
	CHECK_ERR(parse(&d, "[1, 2"), KERR_TRUNCATED);
	CHECK_EQ_INT(d.err_pos, 5);
}

static void test_limits(void)
{
	static char deep[200001];
	static jtok_t few[6];
	jtok_doc_t d;
	size_t n;

	/* Exactly JTOK_MAX_DEPTH levels pass; one more is refused. */
	for (n = 0; n < JTOK_MAX_DEPTH; n++) {
		deep[n] = '[';
		deep[2 * JTOK_MAX_DEPTH - 1 - n] = ']';
	}
	CHECK_OK(parse_n(&d, deep, 2 * JTOK_MAX_DEPTH));
	for (n = 0; n <= JTOK_MAX_DEPTH; n++)
		deep[n] = '[';
	for (; n <= 2 * JTOK_MAX_DEPTH + 1; n++)
		deep[n] = ']';
	CHECK_ERR(parse_n(&d, deep, 2 * JTOK_MAX_DEPTH + 2), KERR_TOO_LONG);
	CHECK_EQ_INT(d.err_pos, JTOK_MAX_DEPTH);
	/* A hostile 100000-deep prefix is refused at the limit, not recursed. */
	memset(deep, '[', 100000);
	CHECK_ERR(parse_n(&d, deep, 100000), KERR_TOO_LONG);
	/* Objects nest through member values: {"a":{"a":… */
	for (n = 0; n < 100; n++)
		memcpy(deep + 5 * n, "{\"a\":", 5);
	CHECK_ERR(parse_n(&d, deep, 5 * n), KERR_TOO_LONG);

	/* Token capacity: [1,2,3,4,5] needs 6 tokens. */
	jtok_init(&d, few, 5);
	CHECK_ERR(jtok_parse(&d, "[1,2,3,4,5]", 11), KERR_TOO_LONG);
	jtok_init(&d, few, 6);
	CHECK_OK(jtok_parse(&d, "[1,2,3,4,5]", 11));
	CHECK_EQ_INT(d.n, 6);
	/* Over the input limit: refused before reading a byte. */
	CHECK_ERR(jtok_parse(&d, "[]", JTOK_MAX_INPUT + 1), KERR_TOO_LONG);
}

/* Every proper prefix of a real frame ends inside a value. */
static void test_truncations(void)
{
	char *buf = t_read_file("tests/fixtures/frames/anvil-stream.jsonl", NULL);
	static const int lines[] = { 5, 7, 9, 14, 17 };
	int bad = 0, total = 0;

	CHECK(buf != NULL);
	if (!buf)
		return;
	for (size_t k = 0; k < sizeof lines / sizeof *lines; k++) {
		size_t len;
		const char *l = t_line_of(buf, lines[k], &len);
		for (size_t cut = 0; l && cut < len; cut++) {
			jtok_doc_t d;
			kerr_t err = parse_n(&d, l, cut);
			total++;
			if (err != KERR_TRUNCATED) {
				if (bad++ < 5)
					CHECK_MSG(0, "line %d cut at %zu: %s", lines[k], cut, kerr_name(err));
			}
		}
	}
	CHECK_EQ_INT(bad, 0);
	printf("    %d prefixes, all KERR_TRUNCATED\n", total);
	free(buf);
}

/*
 * Single-byte substitutions of a real frame: jtok must accept exactly what
 * jansson accepts (jansson is strict RFC 8259 too), apart from numbers
 * jansson cannot hold, which jtok keeps as text.
 */
static void test_mutations_vs_jansson(void)
{
	static const unsigned char subst[] = { '"', '\\', '{', '}', '[', ']', ',', ':',
		'0', '-', 'e', '.', ' ', 'u', 't', 0, 0x01, 0x7f, 0x80, 0xc3, 0xff };
	char *buf = t_read_file("tests/fixtures/frames/anvil-stream.jsonl", NULL);
	size_t len;
	const char *l;
	int agree = 0, differ = 0, accepted = 0;

	CHECK(buf != NULL);
	if (!buf)
		return;
	l = t_line_of(buf, 25, &len);   /* type 2 with an access list */
	CHECK(l != NULL);
	for (size_t pos = 0; l && pos < len; pos++) {
		for (size_t s = 0; s < sizeof subst; s++) {
			char *m = exact(l, len);
			jtok_doc_t d;
			json_error_t jerr;
			json_t *j;
			kerr_t err;
			bool ours, theirs;

			if ((unsigned char)m[pos] == subst[s]) {
				free(m);
				continue;
			}
			m[pos] = (char)subst[s];
			jtok_init(&d, toks, NTOK);
			err = jtok_parse(&d, m, len);
			ours = err == KERR_OK;
			j = json_loadb(m, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
			theirs = j != NULL;
			if (!theirs && ours && (strstr(jerr.text, "too big") ||
						strstr(jerr.text, "overflow")))
				theirs = true;
			if (ours == theirs)
				agree++;
			else if (differ++ < 5)
				CHECK_MSG(0, "pos %zu byte 0x%02x: jtok %s, jansson %s", pos,
					  subst[s], kerr_name(err), j ? "ok" : jerr.text);
			if (ours) {
				accepted++;
				CHECK(j == NULL || same(&d, 0, j));
			}
			json_decref(j);
			free(m);
		}
	}
	CHECK_EQ_INT(differ, 0);
	printf("    %d mutations, %d accepted, all agree with jansson\n", agree, accepted);
	free(buf);
}

static void test_lookup(void)
{
	const char *frame = "{\"jsonrpc\":\"2.0\",\"params\":{\"subscription\":\"0x1\","
		"\"result\":{\"hash\":\"0xab\",\"list\":[10,20,{\"p\":\"7\"}],\"0\":\"zero\"}}}";
	jtok_doc_t d;
	size_t i;

	CHECK_OK(parse(&d, frame));
	CHECK_OK(jtok_path(&d, 0, "params.result.hash", 18, &i));
	CHECK(jtok_str_eq(&d, i, "0xab", 4));
	CHECK_OK(jtok_path(&d, 0, "params.result.list.1", 20, &i));
	CHECK(jtok_text(&d, i).len == 2 && memcmp(jtok_text(&d, i).p, "20", 2) == 0);
	CHECK_OK(jtok_path(&d, 0, "params.result.list.2.p", 22, &i));
	CHECK(jtok_str_eq(&d, i, "7", 1));
	/* A digit segment in an object is a key. */
	CHECK_OK(jtok_path(&d, 0, "params.result.0", 15, &i));
	CHECK(jtok_str_eq(&d, i, "zero", 4));
	/* The path argument is (ptr, len): only "params" is read here. */
	CHECK_OK(jtok_path(&d, 0, "params.result", 6, &i));
	CHECK_EQ_INT(jtok_type(&d, i), JTOK_OBJECT);

	CHECK_ERR(jtok_path(&d, 0, "params.result.list.3", 20, &i), KERR_NOT_FOUND);
	CHECK_ERR(jtok_path(&d, 0, "params.result.list.x", 20, &i), KERR_NOT_FOUND);
	CHECK_ERR(jtok_path(&d, 0, "params.nope", 11, &i), KERR_NOT_FOUND);
	CHECK_ERR(jtok_path(&d, 0, "params.result.hash.x", 20, &i), KERR_NOT_FOUND);
	CHECK_ERR(jtok_path(&d, 0, "jsonrpc.0", 9, &i), KERR_NOT_FOUND);
	CHECK_ERR(jtok_path(&d, 0, "", 0, &i), KERR_ARG);
	CHECK_ERR(jtok_path(&d, 0, "params..result", 14, &i), KERR_ARG);
	CHECK_ERR(jtok_path(&d, 0, ".params", 7, &i), KERR_ARG);
	CHECK_ERR(jtok_path(&d, 0, "params.", 7, &i), KERR_ARG);
	/* An index too long to be a number is no index. */
	CHECK_ERR(jtok_path(&d, 0, "params.result.list.00000000001", 30, &i), KERR_NOT_FOUND);

	CHECK_ERR(jtok_index(&d, 0, 0, &i), KERR_JSON);   /* an object is no array */
	CHECK_ERR(jtok_key(&d, 1, "x", 1, &i), KERR_JSON);   /* token 1 is a key string */

	/* More segments than JTOK_MAX_DEPTH. */
	{
		char path[2 * JTOK_MAX_DEPTH + 4];
		size_t n = 0;
		for (int k = 0; k <= JTOK_MAX_DEPTH; k++) {
			path[n++] = 'a';
			path[n++] = '.';
		}
		path[n++] = 'a';
		CHECK_ERR(jtok_path(&d, 0, path, n, &i), KERR_ARG);
	}
}

static void test_duplicates(void)
{
	jtok_doc_t d;
	size_t i;

	CHECK_OK(parse(&d, "{\"to\":\"0x01\",\"x\":1,\"to\":\"0x02\"}"));
	CHECK_ERR(jtok_key(&d, 0, "to", 2, &i), KERR_JSON);
	CHECK_ERR(jtok_path(&d, 0, "to", 2, &i), KERR_JSON);
	CHECK_OK(jtok_key(&d, 0, "x", 1, &i));   /* other keys stay readable */
	/* The same key spelt with an escape is the same key. */
	CHECK_OK(parse(&d, "{\"to\":\"0x01\",\"t\\u006f\":\"0x02\"}"));
	CHECK_ERR(jtok_key(&d, 0, "to", 2, &i), KERR_JSON);
	CHECK_OK(parse(&d, "{\"t\\u006f\":\"0x02\"}"));
	CHECK_OK(jtok_key(&d, 0, "to", 2, &i));
	CHECK(jtok_str_eq(&d, i, "0x02", 4));
	/* Nested duplicates do not disturb the outer object. */
	CHECK_OK(parse(&d, "{\"a\":{\"b\":1,\"b\":2},\"b\":3}"));
	CHECK_OK(jtok_key(&d, 0, "b", 1, &i));
	CHECK_ERR(jtok_path(&d, 0, "a.b", 3, &i), KERR_JSON);
}

static void test_unescape(void)
{
	jtok_doc_t d;
	char out[32];
	size_t n;
	jtok_view_t v;

	CHECK_OK(parse(&d, "\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\""));
	CHECK(d.tok[0].flags & JTOK_F_ESCAPED);
	CHECK_OK(jtok_unescape(&d, 0, out, sizeof out, &n));
	CHECK_EQ_INT(n, 17);
	CHECK_EQ_MEM(out, "a\"b\\c/d\be\ff\ng\rh\ti", 17);

	CHECK_OK(parse(&d, "\"\\u00e9\\u20ac\\uD83D\\uDE00\\u0041\""));
	CHECK_OK(jtok_unescape(&d, 0, out, sizeof out, &n));
	CHECK_EQ_INT(n, 2 + 3 + 4 + 1);
	CHECK_EQ_MEM(out, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "A", 10);
	CHECK(jtok_str_eq(&d, 0, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "A", 10));
	CHECK(!jtok_str_eq(&d, 0, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
	CHECK(!jtok_str_eq(&d, 0, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "AB", 11));
	/* Too small: KERR_BUF, and the length it needs. */
	CHECK_ERR(jtok_unescape(&d, 0, out, 4, &n), KERR_BUF);
	CHECK_EQ_INT(n, 10);
	CHECK_ERR(jtok_str_view(&d, 0, out, 4, &v), KERR_BUF);
	CHECK_OK(jtok_str_view(&d, 0, out, sizeof out, &v));
	CHECK(v.p == out && v.len == 10);

	/* \u0000 is a real NUL byte in the value. */
	CHECK_OK(parse(&d, "\"a\\u0000b\""));
	CHECK_OK(jtok_unescape(&d, 0, out, sizeof out, &n));
	CHECK(n == 3 && memcmp(out, "a\0b", 3) == 0);
	CHECK(jtok_str_eq(&d, 0, "a\0b", 3));
	CHECK(!jtok_str_eq(&d, 0, "a", 1));

	/* Without escapes the view is the frame itself. */
	CHECK_OK(parse(&d, "\"plain\""));
	CHECK_OK(jtok_str_view(&d, 0, out, sizeof out, &v));
	CHECK(v.p == d.js + 1 && v.len == 5);
	CHECK_OK(parse(&d, "5"));
	CHECK_ERR(jtok_unescape(&d, 0, out, sizeof out, &n), KERR_JSON);
	CHECK(!jtok_str_eq(&d, 0, "5", 1));
}

/* Parse a one-element array and run a reader on the element. */
static jtok_doc_t rd;
static size_t el(const char *json)
{
	CHECK_OK(parse(&rd, json));
	return 1;
}

static void test_hex_readers(void)
{
	uint64_t x;
	u256_t u;
	uint8_t b[32];
	size_t n;
	addr_t a;
	char hex[80];

	CHECK_OK(jtok_u64(&rd, el("[\"0x0\"]"), &x));
	CHECK_EQ_INT(x, 0);
	CHECK_OK(jtok_u64(&rd, el("[\"0x5208\"]"), &x));
	CHECK_EQ_INT(x, 21000);
	CHECK_OK(jtok_u64(&rd, el("[\"0X00FF\"]"), &x));
	CHECK_EQ_INT(x, 255);
	CHECK_OK(jtok_u64(&rd, el("[\"0xffffffffffffffff\"]"), &x));
	CHECK(x == UINT64_MAX);
	CHECK_OK(jtok_u64(&rd, el("[\"0x0000000000000000001\"]"), &x));
	CHECK_EQ_INT(x, 1);
	CHECK_ERR(jtok_u64(&rd, el("[\"0x10000000000000000\"]"), &x), KERR_NUM_OVERFLOW);
	CHECK_ERR(jtok_u64(&rd, el("[\"0x\"]"), &x), KERR_NUM_EMPTY);
	CHECK_ERR(jtok_u64(&rd, el("[\"\"]"), &x), KERR_HEX_PREFIX);
	CHECK_ERR(jtok_u64(&rd, el("[\"5208\"]"), &x), KERR_HEX_PREFIX);
	CHECK_ERR(jtok_u64(&rd, el("[\"0x52g8\"]"), &x), KERR_HEX_CHAR);
	CHECK_ERR(jtok_u64(&rd, el("[\"0x-1\"]"), &x), KERR_HEX_CHAR);
	CHECK_ERR(jtok_u64(&rd, el("[\" 0x1\"]"), &x), KERR_HEX_PREFIX);
	CHECK_ERR(jtok_u64(&rd, el("[21000]"), &x), KERR_JSON);
	CHECK_ERR(jtok_u64(&rd, el("[null]"), &x), KERR_JSON);
	CHECK_ERR(jtok_u64(&rd, el("[\"0x\\u0031\"]"), &x), KERR_JSON);

	CHECK_OK(jtok_u256(&rd, el("[\"0xde0b6b3a7640000\"]"), &u));
	CHECK(u.w[0] == 1000000000000000000ull && !u.w[1] && !u.w[2] && !u.w[3]);
	memcpy(hex, "[\"0x", 4);
	memset(hex + 4, 'f', 64);
	memcpy(hex + 68, "\"]", 3);
	CHECK_OK(jtok_u256(&rd, el(hex), &u));
	CHECK(u.w[0] == UINT64_MAX && u.w[3] == UINT64_MAX);
	memcpy(hex + 4, "1", 1);
	memset(hex + 5, '0', 64);
	memcpy(hex + 69, "\"]", 3);   /* 2^256 */
	CHECK_ERR(jtok_u256(&rd, el(hex), &u), KERR_NUM_OVERFLOW);
	CHECK_ERR(jtok_u256(&rd, el("[\"0x\"]"), &u), KERR_NUM_EMPTY);
	CHECK_ERR(jtok_u256(&rd, el("[\"1000\"]"), &u), KERR_HEX_PREFIX);

	CHECK_OK(jtok_bytes(&rd, el("[\"0xa9059cbb\"]"), b, sizeof b, &n));
	CHECK(n == 4 && memcmp(b, "\xa9\x05\x9c\xbb", 4) == 0);
	CHECK_OK(jtok_bytes(&rd, el("[\"0x\"]"), b, sizeof b, &n));
	CHECK_EQ_INT(n, 0);
	CHECK_ERR(jtok_bytes(&rd, el("[\"0xa9059cb\"]"), b, sizeof b, &n), KERR_HEX_ODD);
	CHECK_ERR(jtok_bytes(&rd, el("[\"0xa9059cbb\"]"), b, 3, &n), KERR_TOO_LONG);
	CHECK_ERR(jtok_bytes(&rd, el("[\"0xzz\"]"), b, sizeof b, &n), KERR_HEX_CHAR);
	CHECK_ERR(jtok_bytes(&rd, el("[\"a9059cbb\"]"), b, sizeof b, &n), KERR_HEX_PREFIX);

	CHECK_OK(jtok_fixed(&rd, el("[\"0xfd7368dc672482eee7adfd0e8d2bdad7d92592ede85248663298d33d832d3abf\"]"),
			    b, 32));
	CHECK_EQ_MEM(b, "\xfd\x73\x68\xdc", 4);
	CHECK_ERR(jtok_fixed(&rd, el("[\"0xfd7368dc672482eee7adfd0e8d2bdad7d92592ede85248663298d33d832d3ab\"]"),
			     b, 32), KERR_HEX_LENGTH);
	CHECK_ERR(jtok_fixed(&rd, el("[\"0x00fd7368dc672482eee7adfd0e8d2bdad7d92592ede85248663298d33d832d3abf\"]"),
			     b, 32), KERR_HEX_LENGTH);

	CHECK_OK(jtok_addr(&rd, el("[\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\"]"), &a));
	CHECK_EQ_MEM(a.b, "\xf3\x9f\xd6\xe5", 4);
	CHECK_OK(jtok_addr(&rd, el("[\"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\"]"), &a));
	CHECK_ERR(jtok_addr(&rd, el("[\"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92267\"]"), &a),
		  KERR_ADDR_CHECKSUM);
	CHECK_ERR(jtok_addr(&rd, el("[\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb922\"]"), &a),
		  KERR_ADDR_LENGTH);
	CHECK_ERR(jtok_addr(&rd, el("[null]"), &a), KERR_JSON);
}

static void test_bool(void)
{
	bool b = false;
	CHECK_OK(jtok_bool(&rd, el("[true]"), &b));
	CHECK(b);
	CHECK_OK(jtok_bool(&rd, el("[false]"), &b));
	CHECK(!b);
	CHECK_ERR(jtok_bool(&rd, el("[\"false\"]"), &b), KERR_JSON);
	CHECK_ERR(jtok_bool(&rd, el("[0]"), &b), KERR_JSON);
}

static void test_double(void)
{
	static const struct {
		const char *json;
		kerr_t want;
		double x;
	} c[] = {
		{ "[1450.21]", KERR_OK, 1450.21 },
		{ "[\"1450.21\"]", KERR_OK, 1450.21 },
		{ "[\"0.01914100\"]", KERR_OK, 0.019141 },
		{ "[\"4388.01000000\"]", KERR_OK, 4388.01 },
		{ "[\"1e-3\"]", KERR_OK, 0.001 },
		{ "[\"-2.5E2\"]", KERR_OK, -250 },
		{ "[0]", KERR_OK, 0 },
		{ "[\"0\"]", KERR_OK, 0 },
		{ "[1e308]", KERR_OK, 1e308 },
		{ "[1e-400]", KERR_OK, 0 },   /* underflow to zero: finite */
		{ "[\"\"]", KERR_NUM_EMPTY, 0 },
		{ "[\" 1\"]", KERR_NUM_CHAR, 0 },
		{ "[\"1 \"]", KERR_NUM_CHAR, 0 },
		{ "[\"+1\"]", KERR_NUM_CHAR, 0 },
		{ "[\"NaN\"]", KERR_NUM_CHAR, 0 },
		{ "[\"nan\"]", KERR_NUM_CHAR, 0 },
		{ "[\"inf\"]", KERR_NUM_CHAR, 0 },
		{ "[\"Infinity\"]", KERR_NUM_CHAR, 0 },
		{ "[\"0x10\"]", KERR_NUM_CHAR, 0 },
		{ "[\"01\"]", KERR_NUM_CHAR, 0 },
		{ "[\"1.\"]", KERR_NUM_CHAR, 0 },
		{ "[\".5\"]", KERR_NUM_CHAR, 0 },
		{ "[\"1e\"]", KERR_NUM_CHAR, 0 },
		{ "[\"1,5\"]", KERR_NUM_CHAR, 0 },
		{ "[\"1\\u0030\"]", KERR_NUM_CHAR, 0 },
		{ "[\"1e999\"]", KERR_NUM_RANGE, 0 },
		{ "[1e999]", KERR_NUM_RANGE, 0 },
		{ "[-1e999]", KERR_NUM_RANGE, 0 },
		{ "[\"1000000000000000000000000000000000000000000000000000000000000000\"]", KERR_OK,
		  1e63 },   /* JTOK_NUM_MAX characters */
		{ "[\"12345678901234567890123456789012345678901234567890123456789012345\"]",
		  KERR_TOO_LONG, 0 },
		{ "[12345678901234567890123456789012345678901234567890123456789012345]",
		  KERR_TOO_LONG, 0 },
		{ "[true]", KERR_JSON, 0 },
		{ "[null]", KERR_JSON, 0 },
		{ "[[1]]", KERR_JSON, 0 },
	};
	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		double x = -42;
		kerr_t err = jtok_double(&rd, el(c[i].json), &x);
		CHECK_MSG(err == c[i].want, "%s: got %s, want %s", c[i].json, kerr_name(err),
			  kerr_name(c[i].want));
		if (!err)
			CHECK_MSG(x == c[i].x, "%s: got %.17g", c[i].json, x);
	}
}

static void test_int64(void)
{
	int64_t x;
	CHECK_OK(jtok_int64(&rd, el("[1579481530910]"), &x));
	CHECK(x == 1579481530910);
	CHECK_OK(jtok_int64(&rd, el("[\"1579481530910\"]"), &x));
	CHECK(x == 1579481530910);
	CHECK_OK(jtok_int64(&rd, el("[9223372036854775807]"), &x));
	CHECK(x == INT64_MAX);
	CHECK_OK(jtok_int64(&rd, el("[-9223372036854775808]"), &x));
	CHECK(x == INT64_MIN);
	CHECK_ERR(jtok_int64(&rd, el("[9223372036854775808]"), &x), KERR_NUM_OVERFLOW);
	CHECK_ERR(jtok_int64(&rd, el("[-9223372036854775809]"), &x), KERR_NUM_OVERFLOW);
	CHECK_ERR(jtok_int64(&rd, el("[1.5]"), &x), KERR_NUM_CHAR);
	CHECK_ERR(jtok_int64(&rd, el("[1e3]"), &x), KERR_NUM_CHAR);
	CHECK_ERR(jtok_int64(&rd, el("[\"12a\"]"), &x), KERR_NUM_CHAR);
	CHECK_ERR(jtok_int64(&rd, el("[false]"), &x), KERR_JSON);
}

int main(void)
{
	RUN(test_structure);
	RUN(test_real_frames_match_jansson);
	RUN(test_accept);
	RUN(test_reject);
	RUN(test_err_pos);
	RUN(test_limits);
	RUN(test_truncations);
	RUN(test_mutations_vs_jansson);
	RUN(test_lookup);
	RUN(test_duplicates);
	RUN(test_unescape);
	RUN(test_hex_readers);
	RUN(test_bool);
	RUN(test_double);
	RUN(test_int64);
	free(keep);
	return t_done();
}
