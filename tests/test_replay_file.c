/*
 * test_replay_file: the replay-file reader (keeper/replay_file) on files
 * written here.
 *
 * - good lines: raw objects and arrays (the frame is their exact text),
 *   string frames (unescaped), prices, keys in any order or escaped,
 *   whitespace, equal times, the src and t limits, the counters;
 * - every kind of bad line, each followed by a good one that must still be
 *   read, with its line number, fault and underlying code;
 * - t going back (skipped; the reference stays the last good t);
 * - a cut last line (every proper prefix of a record line is "cut", never
 *   good and never plain "json"), a last line without its newline, a cut
 *   line in the middle (what `record --append` leaves), CRLF;
 * - over-long lines at the limit's edges (with and without CR), one of
 *   200 KiB and one at the end of the file, then thousands of random lines
 *   across read boundaries against a reference splitter, and lines that
 *   arrive in pieces through a pipe (a CR whose LF comes with the next
 *   read, a line one over the limit, ten pieces of an over-long one);
 * - the frame limit on object and string frames; a string frame with every
 *   escape and \u0000 (the NUL keeps a frame malformed for node_parse);
 * - every frame of tests/fixtures/frames/ (*.jsonl) written as a replay line,
 *   verbatim and as a JSON string, reads back byte for byte and gives
 *   node_parse / feed_parse the same result as the original frame;
 * - the descriptor form (a pipe), option checks, a missing file;
 * - the canonical price line's fast path against the full rules
 *   (opts.no_fast) on the same lines: canonical ones, every near miss of a
 *   list, prices at the exactness limits, random mutations of canonical
 *   lines: the same fault, code, position and fields for every line.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keeper/feed_parse.h"
#include "keeper/node_parse.h"
#include "keeper/replay_file.h"
#include "tests/test.h"

static char tmpdir[64];
static int ntmp;

/* ---- a growing text buffer */

typedef struct {
	char *p;
	size_t len, cap;
} buf_t;

static void b_put(buf_t *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void b_str(buf_t *b, const char *s)
{
	b_put(b, s, strlen(s));
}

static void b_fmt(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void b_fmt(buf_t *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	b_put(b, tmp, (size_t)n);
}

static void b_rep(buf_t *b, char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b_put(b, &c, 1);
}

/* s[0..n) as a JSON string (quotes included): the test's own encoder. */
static void b_json_string(buf_t *b, const char *s, size_t n)
{
	b_put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			b_put(b, "\\", 1);
			b_put(b, &s[i], 1);
		} else if (c < 0x20) {
			b_fmt(b, "\\u%04x", c);
		} else {
			b_put(b, &s[i], 1);
		}
	}
	b_put(b, "\"", 1);
}

/* ---- reading a whole file */

#define MAXL 6000
typedef struct {
	replay_line_t ln;
	char src[REPLAY_FILE_SRC_MAX + 1];
	char *frame;       /* a copy, NUL-terminated */
	size_t flen;
} got_t;

static got_t G[MAXL];
static size_t nG;
static replay_file_stats_t S;

static void forget(void)
{
	for (size_t i = 0; i < nG; i++)
		free(G[i].frame);
	nG = 0;
}

static const char *tmp_path(void)
{
	static char path[128];
	snprintf(path, sizeof path, "%s/f%d.jsonl", tmpdir, ntmp++);
	return path;
}

static const char *write_file(const char *data, size_t len)
{
	const char *path = tmp_path();
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	if (!f)
		return path;
	CHECK_EQ_INT(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

static void keep(replay_file_t *r, const replay_line_t *ln)
{
	got_t *g;

	(void)r;
	CHECK(nG < MAXL);
	if (nG >= MAXL)
		return;
	g = &G[nG++];
	g->ln = *ln;
	g->src[0] = 0;
	g->frame = NULL;
	g->flen = 0;
	if (ln->err == REPLAY_OK) {
		CHECK(ln->src.len >= 1 && ln->src.len <= REPLAY_FILE_SRC_MAX);
		memcpy(g->src, ln->src.p, ln->src.len);
		g->src[ln->src.len] = 0;
		if (ln->kind == REPLAY_RAW) {
			g->frame = malloc(ln->frame.len + 1);
			memcpy(g->frame, ln->frame.p, ln->frame.len);
			g->frame[ln->frame.len] = 0;
			g->flen = ln->frame.len;
		}
	}
}

/* Reads data through a file; every line into G, the counters into S. */
static void read_all(const char *data, size_t len, const replay_file_opts_t *o)
{
	const char *path = write_file(data, len);
	replay_file_t *r = NULL;
	replay_line_t ln;
	kerr_t e;

	forget();
	memset(&S, 0, sizeof S);
	CHECK_OK(replay_file_open(&r, path, o));
	if (!r)
		return;
	while ((e = replay_file_next(r, &ln)) == KERR_OK)
		keep(r, &ln);
	CHECK_ERR(e, KERR_NOT_FOUND);
	/* The end stays the end. */
	CHECK_ERR(replay_file_next(r, &ln), KERR_NOT_FOUND);
	replay_file_stats(r, &S);
	CHECK_EQ_INT(replay_file_errno(r), 0);
	replay_file_close(r);
	unlink(path);
	CHECK_EQ_INT(S.bytes, len);
	CHECK_EQ_INT(S.lines, nG);
	CHECK_EQ_INT(S.ok + S.errors, S.lines);
	CHECK_EQ_INT(S.raw + S.price, S.ok);
	{
		uint64_t sum = 0;
		for (int k = 1; k < REPLAY_E_COUNT; k++)
			sum += S.err[k];
		CHECK_EQ_INT(sum, S.errors);
	}
	for (size_t i = 0; i < nG; i++)
		CHECK_EQ_INT(G[i].ln.line, i + 1);
}

static void read_str(const char *s)
{
	read_all(s, strlen(s), NULL);
}

/* ---- good lines */

static void test_good_lines(void)
{
	buf_t b = { 0 };
	char s64[65];

	memset(s64, 'q', 64);
	s64[64] = 0;
	b_str(&b, "{\"t\":1678520483000,\"src\":\"usdc-usd\",\"price\":0.9712}\n");
	b_str(&b, "{\"t\":1678520483120,\"src\":\"eth-usd\",\"raw\":{\"e\":\"trade\",\"p\":\"1450.21\",\"T\":1678520483119}}\n");
	/* Any key order, whitespace, the same t again. */
	b_str(&b, " { \"raw\" : [1, {\"a\":null}] , \"src\":\"node\",\t\"t\" : 1678520483120 } \n");
	b_str(&b, "{\"t\":1678520483200,\"src\":\"eth-usd\",\"raw\":\"not json\"}\n");
	/* Escaped keys and src are compared unescaped. */
	b_str(&b, "{\"\\u0074\":1678520483201,\"sr\\u0063\":\"n\\u006fde\",\"r\\u0061w\":{}}\n");
	/* Brackets and escapes inside a verbatim frame. */
	b_str(&b, "{\"t\":1678520483202,\"src\":\"node\",\"raw\":{\"a\":\"}]\\\"\\\\\",\"b\":[{}],\"c\":\"\\u00e9\"}}\n");
	/* src at its limit, plain and escaped. */
	b_fmt(&b, "{\"t\":1678520483203,\"src\":\"%s\",\"price\":1450.21}\n", s64);
	b_str(&b, "{\"t\":1678520483204,\"src\":\"");
	for (int i = 0; i < 64; i++)
		b_str(&b, "\\u0061");
	b_str(&b, "\",\"price\":1e-3}\n");
	b_str(&b, "{\"t\":9223372036854775807,\"src\":\"x\",\"raw\":[]}\n");
	read_all(b.p, b.len, NULL);
	CHECK_EQ_INT(nG, 9);
	CHECK_EQ_INT(S.ok, 9);
	CHECK_EQ_INT(S.errors, 0);
	CHECK_EQ_INT(S.price, 3);
	CHECK_EQ_INT(S.raw, 6);
	CHECK_EQ_INT(S.first_t, INT64_C(1678520483000));
	CHECK_EQ_INT(S.last_t, INT64_MAX);
	if (nG == 9) {
		CHECK_EQ_INT(G[0].ln.kind, REPLAY_PRICE);
		CHECK_EQ_INT(G[0].ln.t, INT64_C(1678520483000));
		CHECK_EQ_STR(G[0].src, "usdc-usd");
		CHECK(G[0].ln.price == 0.9712);
		CHECK_EQ_INT(G[1].ln.kind, REPLAY_RAW);
		CHECK_EQ_STR(G[1].src, "eth-usd");
		CHECK_EQ_STR(G[1].frame, "{\"e\":\"trade\",\"p\":\"1450.21\",\"T\":1678520483119}");
		CHECK_EQ_STR(G[2].frame, "[1, {\"a\":null}]");
		CHECK_EQ_STR(G[2].src, "node");
		CHECK_EQ_INT(G[2].ln.t, INT64_C(1678520483120));
		CHECK_EQ_STR(G[3].frame, "not json");
		CHECK(G[3].ln.raw_string && !G[1].ln.raw_string && !G[2].ln.raw_string);
		CHECK_EQ_STR(G[4].src, "node");
		CHECK_EQ_STR(G[4].frame, "{}");
		CHECK_EQ_INT(G[4].ln.t, INT64_C(1678520483201));
		CHECK_EQ_STR(G[5].frame, "{\"a\":\"}]\\\"\\\\\",\"b\":[{}],\"c\":\"\\u00e9\"}");
		CHECK_EQ_STR(G[6].src, s64);
		CHECK(G[6].ln.price == 1450.21);
		CHECK_EQ_STR(G[7].src, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		CHECK(G[7].ln.price == 1e-3);
		CHECK_EQ_INT(G[8].ln.t, INT64_MAX);
		CHECK_EQ_STR(G[8].frame, "[]");
		for (size_t i = 0; i < nG; i++) {
			CHECK_EQ_INT(G[i].ln.err, REPLAY_OK);
			CHECK_EQ_INT(G[i].ln.why, KERR_OK);
		}
	}
	/* t = 0 is a time like any other; an empty file has no lines. */
	read_str("{\"t\":0,\"src\":\"a\",\"price\":1}\n");
	CHECK_EQ_INT(S.ok, 1);
	read_str("");
	CHECK_EQ_INT(nG, 0);
	CHECK_EQ_INT(S.first_t, -1);
	CHECK_EQ_INT(S.last_t, -1);
	free(b.p);
}

/* ---- bad lines */

static const struct bad {
	const char *line;
	replay_err_t err;
	kerr_t why;
} bad[] = {
	{ "", REPLAY_E_BLANK, KERR_OK },
	{ " \t ", REPLAY_E_BLANK, KERR_OK },
	{ "\r", REPLAY_E_BLANK, KERR_OK },
	{ "{\"t\":1,\"src\":\"a\",\"raw\":{\"x\":1", REPLAY_E_CUT, KERR_TRUNCATED },
	{ "{\"t\":1,\"src\":\"a\",\"raw\":\"abc", REPLAY_E_CUT, KERR_TRUNCATED },
	{ "{\"t\":12", REPLAY_E_CUT, KERR_TRUNCATED },
	{ "{\"t\":1,\"src\":\"a\",\"raw\":\"\\u00", REPLAY_E_CUT, KERR_TRUNCATED },
	{ "{\"t\":1,\"src\":\"\xc3", REPLAY_E_CUT, KERR_TRUNCATED },
	{ "{\"t\":1,\"src\":\"a\",\"raw\":tr", REPLAY_E_CUT, KERR_TRUNCATED },
	{ "not json", REPLAY_E_JSON, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"raw\":{}}}", REPLAY_E_JSON, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"raw\":{}} x", REPLAY_E_JSON, KERR_JSON },
	{ "{\"t\":1,\"src\":\"\xff\",\"raw\":{}}", REPLAY_E_JSON, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"raw\":{},}", REPLAY_E_JSON, KERR_JSON },
	{ "{'t':1}", REPLAY_E_JSON, KERR_JSON },
	{ "{\"t\":01,\"src\":\"a\",\"raw\":{}}", REPLAY_E_JSON, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"raw\":\"tab\there\"}", REPLAY_E_JSON, KERR_JSON },
	{ "[1,2]", REPLAY_E_NOT_OBJECT, KERR_JSON },
	{ "42", REPLAY_E_NOT_OBJECT, KERR_JSON },
	{ "\"{}\"", REPLAY_E_NOT_OBJECT, KERR_JSON },
	{ "null", REPLAY_E_NOT_OBJECT, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"raw\":{},\"x\":1}", REPLAY_E_UNKNOWN_KEY, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"price\":1,\"T\":1}", REPLAY_E_UNKNOWN_KEY, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"raw \":{}}", REPLAY_E_UNKNOWN_KEY, KERR_JSON },
	{ "{\"t\":1,\"t\":1,\"src\":\"a\",\"raw\":{},\"y\":0}", REPLAY_E_UNKNOWN_KEY, KERR_JSON },
	{ "{\"t\":1,\"t\":1,\"src\":\"a\",\"raw\":{}}", REPLAY_E_DUP_KEY, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"raw\":{},\"\\u0072aw\":[]}", REPLAY_E_DUP_KEY, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"src\":\"a\",\"raw\":{}}", REPLAY_E_DUP_KEY, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"price\":1,\"price\":2}", REPLAY_E_DUP_KEY, KERR_JSON },
	{ "{\"src\":\"a\",\"raw\":{}}", REPLAY_E_T_MISSING, KERR_NOT_FOUND },
	{ "{}", REPLAY_E_T_MISSING, KERR_NOT_FOUND },
	{ "{\"t\":\"1\",\"src\":\"a\",\"raw\":{}}", REPLAY_E_T_TYPE, KERR_JSON },
	{ "{\"t\":1.5,\"src\":\"a\",\"raw\":{}}", REPLAY_E_T_TYPE, KERR_NUM_CHAR },
	{ "{\"t\":1.0,\"src\":\"a\",\"raw\":{}}", REPLAY_E_T_TYPE, KERR_NUM_CHAR },
	{ "{\"t\":1e3,\"src\":\"a\",\"raw\":{}}", REPLAY_E_T_TYPE, KERR_NUM_CHAR },
	{ "{\"t\":-5,\"src\":\"a\",\"raw\":{}}", REPLAY_E_T_TYPE, KERR_NUM_RANGE },
	{ "{\"t\":9223372036854775808,\"src\":\"a\",\"raw\":{}}", REPLAY_E_T_TYPE, KERR_NUM_OVERFLOW },
	{ "{\"t\":true,\"src\":\"a\",\"raw\":{}}", REPLAY_E_T_TYPE, KERR_JSON },
	{ "{\"t\":null,\"src\":\"a\",\"raw\":{}}", REPLAY_E_T_TYPE, KERR_JSON },
	{ "{\"t\":1,\"raw\":{}}", REPLAY_E_SRC_MISSING, KERR_NOT_FOUND },
	{ "{\"t\":1,\"src\":5,\"raw\":{}}", REPLAY_E_SRC_TYPE, KERR_JSON },
	{ "{\"t\":1,\"src\":null,\"raw\":{}}", REPLAY_E_SRC_TYPE, KERR_JSON },
	{ "{\"t\":1,\"src\":\"\",\"raw\":{}}", REPLAY_E_SRC_TYPE, KERR_OK },
	{ "{\"t\":1,\"src\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"raw\":{}}",
	  REPLAY_E_SRC_TYPE, KERR_TOO_LONG },
	{ "{\"t\":1,\"src\":\"\\u00e9aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"raw\":{}}",
	  REPLAY_E_SRC_TYPE, KERR_TOO_LONG },
	{ "{\"t\":1,\"src\":\"a\"}", REPLAY_E_NO_PAYLOAD, KERR_NOT_FOUND },
	{ "{\"t\":1,\"src\":\"a\",\"raw\":{},\"price\":1}", REPLAY_E_BOTH, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"raw\":5}", REPLAY_E_RAW_TYPE, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"raw\":null}", REPLAY_E_RAW_TYPE, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"raw\":true}", REPLAY_E_RAW_TYPE, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"raw\":false}", REPLAY_E_RAW_TYPE, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"price\":0}", REPLAY_E_PRICE, KERR_NUM_RANGE },
	{ "{\"t\":1,\"src\":\"a\",\"price\":-0}", REPLAY_E_PRICE, KERR_NUM_RANGE },
	{ "{\"t\":1,\"src\":\"a\",\"price\":-1.5}", REPLAY_E_PRICE, KERR_NUM_RANGE },
	{ "{\"t\":1,\"src\":\"a\",\"price\":1e999}", REPLAY_E_PRICE, KERR_NUM_RANGE },
	{ "{\"t\":1,\"src\":\"a\",\"price\":\"1.5\"}", REPLAY_E_PRICE, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"price\":null}", REPLAY_E_PRICE, KERR_JSON },
	{ "{\"t\":1,\"src\":\"a\",\"price\":[1]}", REPLAY_E_PRICE, KERR_JSON },
};

static void test_bad_lines(void)
{
	size_t n = sizeof bad / sizeof bad[0];
	uint64_t want[REPLAY_E_COUNT] = { 0 };
	buf_t b = { 0 };

	/* Each bad line, then a good one: reading goes on after every fault. */
	for (size_t i = 0; i < n; i++) {
		b_str(&b, bad[i].line);
		b_fmt(&b, "\n{\"t\":%zu,\"src\":\"good\",\"price\":1.5}\n", 1000 + i);
		want[bad[i].err]++;
	}
	/* A NUL byte, outside and inside a string. */
	{
		static const char nul1[] = "{\"t\":1,\"src\":\"a\",\"raw\":{}}\0\n";
		static const char nul2[] = "{\"t\":1,\"src\":\"a\0\",\"raw\":{}}\n";
		b_put(&b, nul1, sizeof nul1 - 1);
		b_put(&b, nul2, sizeof nul2 - 1);
	}
	want[REPLAY_E_JSON] += 2;
	/* Nesting deeper than jtok allows. */
	b_str(&b, "{\"t\":1,\"src\":\"a\",\"raw\":");
	b_rep(&b, '[', 70);
	b_rep(&b, ']', 70);
	b_str(&b, "}\n");
	want[REPLAY_E_JSON]++;
	read_all(b.p, b.len, NULL);
	CHECK_EQ_INT(nG, 2 * n + 3);
	for (size_t i = 0; i < n && 2 * i + 1 < nG; i++) {
		const replay_line_t *l = &G[2 * i].ln;
		CHECK_MSG(l->err == bad[i].err && l->why == bad[i].why,
			  "line %zu \"%s\": %s (%s), want %s (%s)", 2 * i + 1, bad[i].line,
			  replay_file_err_name(l->err), kerr_name(l->why),
			  replay_file_err_name(bad[i].err), kerr_name(bad[i].why));
		CHECK_EQ_INT(G[2 * i + 1].ln.err, REPLAY_OK);
		CHECK_EQ_INT(G[2 * i + 1].ln.t, 1000 + i);
	}
	if (nG == 2 * n + 3) {
		CHECK_EQ_INT(G[2 * n].ln.err, REPLAY_E_JSON);
		CHECK_EQ_INT(G[2 * n].ln.err_pos, 26);   /* the NUL */
		CHECK_EQ_INT(G[2 * n + 1].ln.err, REPLAY_E_JSON);
		CHECK_EQ_INT(G[2 * n + 1].ln.err_pos, 15);
		CHECK_EQ_INT(G[2 * n + 2].ln.err, REPLAY_E_JSON);
		CHECK_EQ_INT(G[2 * n + 2].ln.why, KERR_TOO_LONG);
	}
	CHECK_EQ_INT(S.ok, n);
	CHECK_EQ_INT(S.errors, n + 3);
	for (int k = 1; k < REPLAY_E_COUNT; k++)
		CHECK_MSG(S.err[k] == want[k], "%s: %llu, want %llu", replay_file_err_name(k),
			  (unsigned long long)S.err[k], (unsigned long long)want[k]);
	/* Every fault has a name and a text. */
	for (int k = 0; k < REPLAY_E_COUNT; k++) {
		CHECK(strcmp(replay_file_err_name(k), "unknown") != 0);
		CHECK(strcmp(replay_file_err_str(k), "unknown") != 0);
	}
	CHECK_EQ_STR(replay_file_err_name(REPLAY_E_COUNT), "unknown");
	free(b.p);
}

static void test_time_order(void)
{
	read_str("{\"t\":100,\"src\":\"a\",\"price\":1}\n"
		 "{\"t\":99,\"src\":\"a\",\"price\":2}\n"      /* back: skipped */
		 "{\"t\":100,\"src\":\"a\",\"price\":3}\n"     /* equal: fine */
		 "{\"t\":5,\"src\":\"a\",\"price\":-1}\n"      /* bad price first */
		 "{\"t\":50,\"src\":\"a\",\"raw\":{}}\n"       /* still below 100 */
		 "{\"t\":101,\"src\":\"a\",\"raw\":[]}\n");
	CHECK_EQ_INT(nG, 6);
	if (nG != 6)
		return;
	CHECK_EQ_INT(G[0].ln.err, REPLAY_OK);
	CHECK_EQ_INT(G[1].ln.err, REPLAY_E_T_BACKWARDS);
	CHECK_EQ_INT(G[1].ln.t, 99);
	CHECK_EQ_INT(G[2].ln.err, REPLAY_OK);
	CHECK(G[2].ln.price == 3);
	CHECK_EQ_INT(G[3].ln.err, REPLAY_E_PRICE);
	CHECK_EQ_INT(G[4].ln.err, REPLAY_E_T_BACKWARDS);
	CHECK_EQ_INT(G[5].ln.err, REPLAY_OK);
	CHECK_EQ_INT(S.err[REPLAY_E_T_BACKWARDS], 2);
	CHECK_EQ_INT(S.first_t, 100);
	CHECK_EQ_INT(S.last_t, 101);
}

/* ---- cut lines, last lines, CRLF */

static const char *const rec_lines[] = {
	"{\"t\":1678520483190,\"src\":\"eth-usd\",\"raw\":\"{\\\"x\\\":\\\"\\u0000\\\"}\\n\\u00e9 \xe2\x82\xac\"}",
	"{\"t\":1678520483200,\"src\":\"node\",\"raw\":{\"a\":[true,false,null,-1.5e+3,\"\\ud83d\\ude00\"],\"b\":{}}}",
	"{\"t\":1678520483300,\"src\":\"usdc-usd\",\"price\":0.9712}",
};

static void test_cut_last_line(void)
{
	const char *good = "{\"t\":1,\"src\":\"a\",\"raw\":{}}\n";
	buf_t b = { 0 };
	int cuts = 0;

	/* Every proper prefix of a line, as the file's last line: "cut". */
	for (size_t i = 0; i < sizeof rec_lines / sizeof rec_lines[0]; i++) {
		size_t len = strlen(rec_lines[i]);

		for (size_t k = 1; k < len; k++) {
			b.len = 0;
			b_str(&b, good);
			b_put(&b, rec_lines[i], k);
			read_all(b.p, b.len, NULL);
			CHECK_EQ_INT(nG, 2);
			if (nG != 2)
				continue;
			CHECK_EQ_INT(G[0].ln.err, REPLAY_OK);
			CHECK_MSG(G[1].ln.err == REPLAY_E_CUT, "line %zu cut at %zu: %s", i, k,
				  replay_file_err_name(G[1].ln.err));
			cuts++;
		}
		/* Whole, but without its newline: a good last line. */
		b.len = 0;
		b_str(&b, good);
		b_str(&b, rec_lines[i]);
		read_all(b.p, b.len, NULL);
		CHECK_EQ_INT(nG, 2);
		CHECK_EQ_INT(S.ok, 2);
	}
	printf("    %d cut last lines, all \"cut\"\n", cuts);
	if (nG == 2)
		CHECK(G[1].ln.price == 0.9712);
	/* A cut line ended by `record --append`, then new lines. */
	read_str("{\"t\":1,\"src\":\"a\",\"raw\":{}}\n"
		 "{\"t\":2,\"src\":\"a\",\"raw\":{\"cut\n"
		 "{\"t\":3,\"src\":\"a\",\"raw\":{}}\n");
	CHECK_EQ_INT(nG, 3);
	if (nG == 3) {
		CHECK_EQ_INT(G[1].ln.err, REPLAY_E_CUT);
		CHECK_EQ_INT(G[1].ln.line, 2);
		CHECK_EQ_INT(G[2].ln.err, REPLAY_OK);
	}
	/* Only a cut line; only a newline. */
	read_str("{\"t\"");
	CHECK_EQ_INT(nG, 1);
	CHECK_EQ_INT(S.err[REPLAY_E_CUT], 1);
	read_str("\n");
	CHECK_EQ_INT(nG, 1);
	CHECK_EQ_INT(S.err[REPLAY_E_BLANK], 1);
	free(b.p);
}

static void test_crlf(void)
{
	read_str("{\"t\":1,\"src\":\"a\",\"raw\":{\"x\":1}}\r\n"
		 "{\"t\":2,\"src\":\"a\",\"raw\":\"s\"}\r\n"
		 "\r\n"
		 "{\"t\":3,\"src\":\"a\",\"price\":2}\n"
		 "{\"t\":4,\"src\":\"a\",\"raw\":\"cr\"}\r");
	CHECK_EQ_INT(nG, 5);
	if (nG != 5)
		return;
	CHECK_EQ_STR(G[0].frame, "{\"x\":1}");
	CHECK_EQ_STR(G[1].frame, "s");
	CHECK_EQ_INT(G[2].ln.err, REPLAY_E_BLANK);
	CHECK_EQ_INT(G[3].ln.err, REPLAY_OK);
	CHECK_EQ_STR(G[4].frame, "cr");
	CHECK_EQ_INT(S.ok, 4);
}

/* ---- line and frame limits */

/* A good line of exactly len bytes (len >= 30): a string frame of 'a's. */
static void good_line(buf_t *b, int64_t t, size_t len)
{
	char head[64];
	int n = snprintf(head, sizeof head, "{\"t\":%lld,\"src\":\"s\",\"raw\":\"",
			 (long long)t);

	b_str(b, head);
	b_rep(b, 'a', len - (size_t)n - 2);
	b_str(b, "\"}");
}

static size_t good_min(int64_t t)
{
	char head[64];
	return (size_t)snprintf(head, sizeof head, "{\"t\":%lld,\"src\":\"s\",\"raw\":\"",
				(long long)t) + 2;
}

static void test_too_long(void)
{
	const replay_file_opts_t o = { .max_line = 256 };
	buf_t b = { 0 };

	good_line(&b, 1, 256);      /* at the limit */
	b_str(&b, "\n");
	good_line(&b, 2, 257);      /* one over */
	b_str(&b, "\n");
	good_line(&b, 3, 256);      /* at the limit, CRLF */
	b_str(&b, "\r\n");
	good_line(&b, 4, 257);      /* one over, CRLF */
	b_str(&b, "\r\n");
	good_line(&b, 5, 200 << 10);  /* 200 KiB: across many reads */
	b_str(&b, "\n");
	good_line(&b, 6, 100);
	b_str(&b, "\n");
	good_line(&b, 7, 300 << 10);  /* the last line, over, no newline */
	read_all(b.p, b.len, &o);
	CHECK_EQ_INT(nG, 7);
	if (nG == 7) {
		static const replay_err_t want[7] = {
			REPLAY_OK, REPLAY_E_TOO_LONG, REPLAY_OK, REPLAY_E_TOO_LONG,
			REPLAY_E_TOO_LONG, REPLAY_OK, REPLAY_E_TOO_LONG,
		};
		for (int i = 0; i < 7; i++) {
			CHECK_MSG(G[i].ln.err == want[i], "line %d: %s", i + 1,
				  replay_file_err_name(G[i].ln.err));
			if (want[i] == REPLAY_OK)
				CHECK_EQ_INT(G[i].ln.t, i + 1);
		}
		CHECK_EQ_INT(G[0].flen, 256 - good_min(1));
		CHECK_EQ_INT(G[1].ln.why, KERR_TOO_LONG);
	}
	CHECK_EQ_INT(S.err[REPLAY_E_TOO_LONG], 4);
	CHECK_EQ_INT(S.ok, 3);
	free(b.p);
}

/* Thousands of lines of random lengths around the limit, some CRLF, over
 * many reads, against the obvious reading. */
static void test_random_lines(void)
{
	const size_t max_line = 300;
	const replay_file_opts_t o = { .max_line = max_line };
	static size_t len[MAXL];
	static bool crlf[MAXL];
	uint64_t seed = 0x9e3779b97f4a7c15u;
	size_t n = 5000, over = 0, total = 0;
	buf_t b = { 0 };

	for (size_t i = 0; i < n; i++) {
		size_t lo = good_min((int64_t)i);
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		len[i] = lo + (size_t)(seed >> 33) % (2 * max_line - lo);
		crlf[i] = (seed >> 20) % 4 == 0;
		if (i % 97 == 0)
			len[i] = max_line + (seed >> 40) % 3;   /* the edge */
		good_line(&b, (int64_t)i, len[i]);
		b_str(&b, crlf[i] ? "\r\n" : "\n");
		over += len[i] > max_line;
	}
	read_all(b.p, b.len, &o);
	CHECK_EQ_INT(nG, n);
	for (size_t i = 0; i < n && i < nG; i++) {
		if (len[i] > max_line) {
			CHECK_MSG(G[i].ln.err == REPLAY_E_TOO_LONG, "line %zu (%zu bytes): %s",
				  i + 1, len[i], replay_file_err_name(G[i].ln.err));
			continue;
		}
		CHECK_MSG(G[i].ln.err == REPLAY_OK, "line %zu (%zu bytes): %s", i + 1, len[i],
			  replay_file_err_name(G[i].ln.err));
		CHECK_EQ_INT(G[i].ln.t, i);
		CHECK_EQ_INT(G[i].flen, len[i] - good_min((int64_t)i));
		total++;
	}
	CHECK_EQ_INT(S.err[REPLAY_E_TOO_LONG], over);
	printf("    %zu lines (%zu bytes): %zu good, %zu over %zu bytes\n", n, b.len, total,
	       over, max_line);
	free(b.p);
}

/* Lines that arrive in pieces (a pipe written by a child with pauses), so
 * that read(2) returns them split where the test says: a CR whose LF comes
 * with the next read, a line one over the limit whose LF comes later, an
 * over-long line in ten pieces. */
static void test_split_reads(void)
{
	const replay_file_opts_t o = { .max_line = 64 };
	size_t cut[32], ncut = 0;
	buf_t b = { 0 };
	replay_file_t *r = NULL;
	replay_line_t ln;
	int fds[2];
	pid_t pid;
	kerr_t e;
	static const replay_err_t want[] = {
		REPLAY_OK, REPLAY_E_TOO_LONG, REPLAY_OK, REPLAY_E_TOO_LONG,
		REPLAY_E_TOO_LONG, REPLAY_E_BLANK, REPLAY_OK, REPLAY_OK,
	};
	static const int64_t want_t[] = { 1, 0, 3, 0, 0, 0, 6, 7 };

	good_line(&b, 1, 64);          /* at the limit; CR | LF */
	b_str(&b, "\r");
	cut[ncut++] = b.len;
	b_str(&b, "\n");
	good_line(&b, 2, 65);          /* one over | LF */
	cut[ncut++] = b.len;
	b_str(&b, "\n");
	good_line(&b, 3, 64);          /* split in its middle */
	cut[ncut++] = b.len - 30;
	b_str(&b, "\n");
	good_line(&b, 4, 70);          /* over, CR | LF */
	b_str(&b, "\r");
	cut[ncut++] = b.len;
	b_str(&b, "\n");
	for (int i = 0; i < 10; i++) {  /* 1000 bytes in ten pieces */
		b_rep(&b, 'x', 100);
		cut[ncut++] = b.len;
	}
	b_str(&b, "\n\r");            /* a blank CRLF line, split */
	cut[ncut++] = b.len;
	b_str(&b, "\n");
	good_line(&b, 6, 40);
	b_str(&b, "\n");
	good_line(&b, 7, 50);           /* the last, split, no newline */
	cut[ncut++] = b.len - 20;
	cut[ncut++] = b.len;

	CHECK_EQ_INT(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		size_t at = 0;
		close(fds[0]);
		for (size_t i = 0; i < ncut; i++) {
			if (write(fds[1], b.p + at, cut[i] - at) != (ssize_t)(cut[i] - at))
				_exit(1);
			at = cut[i];
			usleep(20000);
		}
		_exit(0);
	}
	close(fds[1]);
	CHECK(pid > 0);
	forget();
	CHECK_OK(replay_file_open_fd(&r, fds[0], &o));
	while (r && (e = replay_file_next(r, &ln)) == KERR_OK)
		keep(r, &ln);
	if (r) {
		CHECK_ERR(e, KERR_NOT_FOUND);
		replay_file_stats(r, &S);
		CHECK_EQ_INT(S.bytes, b.len);
		replay_file_close(r);
	}
	close(fds[0]);
	if (pid > 0) {
		int st = -1;
		waitpid(pid, &st, 0);
		CHECK_EQ_INT(st, 0);
	}
	CHECK_EQ_INT(nG, 8);
	for (size_t i = 0; i < nG && i < 8; i++) {
		CHECK_MSG(G[i].ln.err == want[i], "line %zu: %s, want %s", i + 1,
			  replay_file_err_name(G[i].ln.err), replay_file_err_name(want[i]));
		if (want[i] == REPLAY_OK)
			CHECK_EQ_INT(G[i].ln.t, want_t[i]);
	}
	if (nG == 8)
		CHECK_EQ_INT(G[0].flen, 64 - good_min(1));
	free(b.p);
}

static void test_frame_limit(void)
{
	const replay_file_opts_t o = { .max_frame = 16 };
	buf_t b = { 0 };

	/* Objects of 16 and 17 bytes. */
	b_str(&b, "{\"t\":1,\"src\":\"a\",\"raw\":{\"a\":\"12345678\"}}\n");
	b_str(&b, "{\"t\":1,\"src\":\"a\",\"raw\":{\"a\":\"123456789\"}}\n");
	/* Strings of 16 and 17 bytes, plain. */
	b_str(&b, "{\"t\":1,\"src\":\"a\",\"raw\":\"0123456789abcdef\"}\n");
	b_str(&b, "{\"t\":1,\"src\":\"a\",\"raw\":\"0123456789abcdefg\"}\n");
	/* 96 bytes of escapes that make 16; 102 that make 17. */
	b_str(&b, "{\"t\":1,\"src\":\"a\",\"raw\":\"");
	for (int i = 0; i < 16; i++)
		b_str(&b, "\\u0041");
	b_str(&b, "\"}\n{\"t\":1,\"src\":\"a\",\"raw\":\"");
	for (int i = 0; i < 17; i++)
		b_str(&b, "\\u0041");
	b_str(&b, "\"}\n");
	read_all(b.p, b.len, &o);
	CHECK_EQ_INT(nG, 6);
	if (nG == 6) {
		CHECK_EQ_STR(G[0].frame, "{\"a\":\"12345678\"}");
		CHECK_EQ_INT(G[1].ln.err, REPLAY_E_FRAME_TOO_LONG);
		CHECK_EQ_STR(G[2].frame, "0123456789abcdef");
		CHECK_EQ_INT(G[3].ln.err, REPLAY_E_FRAME_TOO_LONG);
		CHECK_EQ_STR(G[4].frame, "AAAAAAAAAAAAAAAA");
		CHECK_EQ_INT(G[5].ln.err, REPLAY_E_FRAME_TOO_LONG);
		CHECK_EQ_INT(G[5].ln.why, KERR_TOO_LONG);
	}
	CHECK_EQ_INT(S.err[REPLAY_E_FRAME_TOO_LONG], 3);
	free(b.p);
}

/* ---- string frames */

static void test_string_escapes(void)
{
	static const char want[] = "a\"b\\c/d\n\t\r\b\f\xc3\xa9\0\xf0\x9f\x98\x80 end";
	node_parser_t np;
	node_frame_t f;
	event_t ev;

	read_str("{\"t\":1,\"src\":\"feed\",\"raw\":"
		 "\"a\\\"b\\\\c\\/d\\n\\t\\r\\b\\f\\u00e9\\u0000\\ud83d\\ude00 end\"}\n"
		 /* A frame that was not JSON on one line (record wrote it as a
		  * string): replay gives the parser the same text, which parses. */
		 "{\"t\":2,\"src\":\"node\",\"raw\":\"{\\n\\\"jsonrpc\\\":\\\"2.0\\\",\\\"id\\\":7,"
		 "\\\"result\\\":\\\"0x1\\\"}\"}\n"
		 /* The same with a byte that was not UTF-8 (\u0000 in the file). */
		 "{\"t\":3,\"src\":\"node\",\"raw\":\"{\\\"jsonrpc\\\":\\\"2.0\\\",\\\"id\\\":7,"
		 "\\\"result\\\":\\\"0x1\\u0000\\\"}\"}\n");
	CHECK_EQ_INT(nG, 3);
	CHECK_EQ_INT(S.ok, 3);
	if (nG != 3)
		return;
	CHECK_EQ_INT(G[0].flen, sizeof want - 1);
	CHECK_EQ_MEM(G[0].frame, want, sizeof want - 1);
	CHECK_OK(node_parse_init(&np, 0));
	CHECK_OK(node_parse_frame(&np, G[1].frame, G[1].flen, &f, &ev));
	CHECK_EQ_INT(f.kind, NODE_FRAME_REPLY);
	CHECK_EQ_INT(f.id_num, 7);
	CHECK_EQ_INT(G[2].flen, strlen(G[2].frame) + 3);   /* the NUL, then "} */
	CHECK_ERR(node_parse_frame(&np, G[2].frame, G[2].flen, &f, &ev), KERR_JSON);
	node_parse_release(&np);
}

/* ---- the fixtures, replayed */

static const config_feed_t trade = {
	.name = "eth-btc", .preset = CONFIG_PRESET_TRADE, .price = "p", .time = "T",
	.match_path = "e", .match_value = "trade", .stale_after_ms = 5000,
};
static const config_feed_t ticker = {
	.name = "btc-usd", .preset = CONFIG_PRESET_TICKER, .price = "price", .time = "time",
	.match_path = "type", .match_value = "ticker", .stale_after_ms = 5000,
};

typedef struct {
	kerr_t err;
	int kind;           /* node_frame_kind_t, or feed_result_t */
	int ev_kind;
	uint8_t hash[32];   /* tx hash, head hash, log tx hash */
	uint64_t num;       /* head number, log index, reply id */
	double price;
	int64_t time_ms;
} outcome_t;

static outcome_t node_outcome(node_parser_t *np, const char *fr, size_t len)
{
	outcome_t o;
	node_frame_t f;
	event_t ev;

	memset(&o, 0, sizeof o);
	memset(&f, 0, sizeof f);
	memset(&ev, 0, sizeof ev);
	o.err = node_parse_frame(np, fr, len, &f, &ev);
	if (o.err)
		return o;
	o.kind = f.kind;
	if (f.kind == NODE_FRAME_REPLY) {
		o.num = f.id_num;
		return o;
	}
	o.ev_kind = ev.kind;
	if (ev.kind == EV_PENDING_TX)
		memcpy(o.hash, ev.tx.hash, 32);
	else if (ev.kind == EV_HEAD) {
		memcpy(o.hash, ev.head.hash, 32);
		o.num = ev.head.number;
	} else if (ev.kind == EV_LOG) {
		memcpy(o.hash, ev.log.tx_hash, 32);
		o.num = ev.log.log_index;
	}
	return o;
}

static outcome_t feed_outcome(feed_parser_t *fp, const config_feed_t *cf,
			      const char *fr, size_t len)
{
	outcome_t o;
	feed_result_t res = 0;
	event_t ev;

	memset(&o, 0, sizeof o);
	memset(&ev, 0, sizeof ev);
	o.err = feed_parse_frame(fp, cf, 0, 1700000000000, fr, len, &res, &ev);
	if (o.err)
		return o;
	o.kind = res;
	if (res == FEED_TICK) {
		o.price = ev.price.price;
		o.time_ms = ev.price.time_ms;
	}
	return o;
}

static bool same(const outcome_t *a, const outcome_t *b)
{
	return a->err == b->err && a->kind == b->kind && a->ev_kind == b->ev_kind &&
	       !memcmp(a->hash, b->hash, 32) && a->num == b->num &&
	       a->price == b->price && a->time_ms == b->time_ms;
}

static void test_fixtures(void)
{
	node_parser_t np;
	feed_parser_t fp;
	glob_t g;
	int nfiles = 0, nframes = 0, events = 0, replies = 0, ticks = 0, ignored = 0;

	CHECK_OK(node_parse_init(&np, 0));
	CHECK_OK(feed_parse_init(&fp, 0));
	CHECK_EQ_INT(glob("tests/fixtures/frames/*.jsonl", 0, NULL, &g), 0);
	for (size_t fi = 0; fi < g.gl_pathc; fi++) {
		const char *path = g.gl_pathv[fi];
		const config_feed_t *cf = strstr(path, "binance") ? &trade :
					  strstr(path, "coinbase") ? &ticker : NULL;
		bool is_node = strstr(path, "/anvil-") != NULL;
		size_t len, nlines = 0;
		char *text = t_read_file(path, &len);
		const char *fr[64];
		size_t flen[64];
		buf_t b = { 0 };
		int64_t t = 1678520483000;

		CHECK(text != NULL);
		if (!text)
			continue;
		CHECK(is_node || cf);
		nfiles++;
		/* Each frame twice: verbatim and as a JSON string. */
		for (char *p = text; *p && nlines < 64;) {
			char *e = strchr(p, '\n');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			if (n) {
				fr[nlines] = p;
				flen[nlines] = n;
				b_fmt(&b, "{\"t\":%lld,\"src\":\"%s\",\"raw\":", (long long)t++,
				      is_node ? "node" : cf->name);
				b_put(&b, p, n);
				b_fmt(&b, "}\n{\"t\":%lld,\"src\":\"%s\",\"raw\":", (long long)t++,
				      is_node ? "node" : cf->name);
				b_json_string(&b, p, n);
				b_str(&b, "}\n");
				nlines++;
			}
			p += n + (e != NULL);
		}
		read_all(b.p, b.len, NULL);
		CHECK_EQ_INT(nG, 2 * nlines);
		CHECK_EQ_INT(S.ok, 2 * nlines);
		for (size_t i = 0; i < nlines && 2 * i + 1 < nG; i++) {
			for (int k = 0; k < 2; k++) {
				const got_t *gl = &G[2 * i + (size_t)k];
				outcome_t live, replay;

				CHECK_EQ_INT(gl->flen, flen[i]);
				if (gl->flen != flen[i])
					continue;
				CHECK_EQ_MEM(gl->frame, fr[i], flen[i]);
				CHECK_EQ_STR(gl->src, is_node ? "node" : cf->name);
				if (is_node) {
					live = node_outcome(&np, fr[i], flen[i]);
					replay = node_outcome(&np, gl->frame, gl->flen);
				} else {
					live = feed_outcome(&fp, cf, fr[i], flen[i]);
					replay = feed_outcome(&fp, cf, gl->frame, gl->flen);
				}
				CHECK_MSG(same(&live, &replay), "%s line %zu (%s): live %s, replay %s",
					  path, i + 1, k ? "string" : "verbatim",
					  kerr_name(live.err), kerr_name(replay.err));
				if (k)
					continue;
				CHECK_MSG(live.err == KERR_OK, "%s line %zu: %s", path, i + 1,
					  kerr_name(live.err));
				nframes++;
				events += is_node && live.kind == NODE_FRAME_EVENT;
				replies += is_node && live.kind == NODE_FRAME_REPLY;
				ticks += !is_node && live.kind == FEED_TICK;
				ignored += !is_node && live.kind == FEED_IGNORED;
			}
		}
		free(b.p);
		free(text);
	}
	globfree(&g);
	CHECK_EQ_INT(nfiles, 5);
	printf("    %d files, %d frames (each verbatim and as a string): %d node events, "
	       "%d replies, %d ticks, %d not ticks\n", nfiles, nframes, events, replies,
	       ticks, ignored);
	CHECK(events >= 25 && replies >= 6 && ticks >= 3);
	node_parse_release(&np);
	feed_parse_release(&fp);
}

/* ---- opening */

static void test_open(void)
{
	/* Not NULL, so that a failed open must be seen to clear it. */
	replay_file_t *r = (replay_file_t *)&r;
	replay_file_opts_t o;
	replay_line_t ln;
	int fds[2];
	static const char text[] = "{\"t\":5,\"src\":\"p\",\"raw\":{\"x\":[1]}}\n{\"t\":6,";

	errno = 0;
	CHECK_ERR(replay_file_open(&r, "tests/no/such/file.jsonl", NULL), KERR_IO);
	CHECK_EQ_INT(errno, ENOENT);
	CHECK(r == NULL);
	o = (replay_file_opts_t){ .max_frame = REPLAY_FILE_FRAME_HARD + 1 };
	CHECK_ERR(replay_file_open(&r, "tests/test.h", &o), KERR_ARG);
	o = (replay_file_opts_t){ .max_line = REPLAY_FILE_LINE_MIN - 1 };
	CHECK_ERR(replay_file_open(&r, "tests/test.h", &o), KERR_ARG);
	o = (replay_file_opts_t){ .max_line = REPLAY_FILE_LINE_HARD + 1 };
	CHECK_ERR(replay_file_open(&r, "tests/test.h", &o), KERR_ARG);
	CHECK_ERR(replay_file_open_fd(&r, -1, NULL), KERR_ARG);
	CHECK_ERR(replay_file_open(NULL, "tests/test.h", NULL), KERR_ARG);
	replay_file_close(NULL);

	/* A pipe: read to its end; the descriptor stays open. */
	CHECK_EQ_INT(pipe(fds), 0);
	CHECK_EQ_INT(write(fds[1], text, sizeof text - 1), sizeof text - 1);
	close(fds[1]);
	CHECK_OK(replay_file_open_fd(&r, fds[0], NULL));
	if (r) {
		CHECK_OK(replay_file_next(r, &ln));
		CHECK_EQ_INT(ln.err, REPLAY_OK);
		CHECK_EQ_INT(ln.t, 5);
		CHECK_EQ_INT(ln.frame.len, 9);
		CHECK(ln.frame.len == 9 && !memcmp(ln.frame.p, "{\"x\":[1]}", 9));
		CHECK_OK(replay_file_next(r, &ln));
		CHECK_EQ_INT(ln.err, REPLAY_E_CUT);
		CHECK_EQ_INT(ln.line, 2);
		CHECK_ERR(replay_file_next(r, &ln), KERR_NOT_FOUND);
		replay_file_close(r);
	}
	CHECK(fcntl(fds[0], F_GETFD) != -1);
	close(fds[0]);

	/* A read error (a directory) is KERR_IO with its errno. */
	{
		int d = open("tests", O_RDONLY | O_DIRECTORY);
		CHECK(d >= 0);
		r = NULL;
		if (d >= 0 && replay_file_open_fd(&r, d, NULL) == KERR_OK) {
			CHECK_ERR(replay_file_next(r, &ln), KERR_IO);
			CHECK_EQ_INT(replay_file_errno(r), EISDIR);
			replay_file_close(r);
		}
		if (d >= 0)
			close(d);
	}
}

/* ---- the canonical price line: fast path == full rules */

/*
 * A mutation of a canonical line: one byte replaced, deleted, inserted or
 * repeated.  Within t's digits (and just after them) only a deletion or a
 * replacement by '0' or a non-digit, which never make t larger: a good
 * line with a larger t would put every later line of the file behind it
 * in time, and the rest of the test would only see T_BACKWARDS.  Larger
 * times have their own lines in the fixed list.
 */
static void mutate(buf_t *b, const char *line, uint64_t x)
{
	static const char alphabet[] = "0123456789.-+eE\"\\{}:, \tx\x7f\x01\xc3\xa9";
	static const char t_alphabet[] = "0.-+eE\"\\{}:, x";
	size_t n = strlen(line), at = (size_t)(x >> 8) % n, t_end = 5;
	char c = alphabet[(x >> 32) % (sizeof alphabet - 1)];
	unsigned op = (unsigned)(x % 4);

	while (line[t_end] >= '0' && line[t_end] <= '9')
		t_end++;
	if (at >= 5 && at <= t_end) {
		op = op % 2;   /* replace or delete */
		c = t_alphabet[(x >> 32) % (sizeof t_alphabet - 1)];
	}
	switch (op) {
	case 0:   /* replace */
		b_put(b, line, at);
		b_put(b, &c, 1);
		b_str(b, line + at + 1);
		break;
	case 1:   /* delete */
		b_put(b, line, at);
		b_str(b, line + at + 1);
		break;
	case 2:   /* insert */
		b_put(b, line, at);
		b_put(b, &c, 1);
		b_str(b, line + at);
		break;
	default:  /* a byte repeated a few times */
		b_put(b, line, at + 1);
		b_rep(b, line[at], 1 + (size_t)(x >> 48) % 20);
		b_str(b, line + at + 1);
		break;
	}
}

/* The same line as read by the two readers. */
static bool same_line(const replay_line_t *a, const replay_line_t *b)
{
	if (a->line != b->line || a->err != b->err || a->why != b->why)
		return false;
	if (a->err != REPLAY_OK && a->err != REPLAY_E_T_BACKWARDS)
		return a->err_pos == b->err_pos;
	if (a->t != b->t || a->kind != b->kind || a->src.len != b->src.len ||
	    memcmp(a->src.p, b->src.p, a->src.len) != 0)
		return false;
	if (a->kind == REPLAY_PRICE)
		return memcmp(&a->price, &b->price, sizeof a->price) == 0;
	return a->raw_string == b->raw_string && a->frame.len == b->frame.len &&
	       memcmp(a->frame.p, b->frame.p, a->frame.len) == 0 &&
	       (a->doc == NULL) == (b->doc == NULL) && a->frame_tok == b->frame_tok;
}

static void test_fast_path(void)
{
	static const char *const fixed[] = {
		/* canonical, and at the limits the fast path takes */
		"{\"t\":0,\"src\":\"a\",\"price\":1}",
		"{\"t\":1,\"src\":\"usdc-usd\",\"price\":0.99981}",
		"{\"t\":1,\"src\":\"eth_usd.x\",\"price\":195.21}",
		"{\"t\":2,\"src\":\"a\",\"price\":9007199254740992}",
		"{\"t\":2,\"src\":\"a\",\"price\":9007199254740993}",
		"{\"t\":2,\"src\":\"a\",\"price\":900719925474099.3}",
		"{\"t\":2,\"src\":\"a\",\"price\":0.9007199254740993}",
		"{\"t\":2,\"src\":\"a\",\"price\":0.0000000000000000000001}",
		"{\"t\":2,\"src\":\"a\",\"price\":0.00000000000000000000001}",
		"{\"t\":2,\"src\":\"a\",\"price\":1.0000000000000000000}",
		"{\"t\":2,\"src\":\"a\",\"price\":12345678901234567890}",
		"{\"t\":2,\"src\":\"a\",\"price\":1234567890123456789}",
		"{\"t\":2,\"src\":\"a\",\"price\":0.1}",
		"{\"t\":2,\"src\":\"a\",\"price\":0.3}",
		"{\"t\":2,\"src\":\"a\",\"price\":2.675}",
		"{\"t\":2,\"src\":\"a\",\"price\":1.7976931348623157}",
		"{\"t\":10,\"src\":\"0123456789012345678901234567890123456789012345678901234567890123\",\"price\":1}",
		"{\"t\":10,\"src\":\"01234567890123456789012345678901234567890123456789012345678901234\",\"price\":1}",
		"{\"t\":10,\"src\":\" ~!#$%&'()*+,-./:;<=>?@[]^_`{|}\",\"price\":1}",
		/* near misses: each must be judged as the full rules judge it */
		"{\"t\":10,\"src\":\"\",\"price\":1}",
		"{\"t\":10,\"src\":\"a\\u0062\",\"price\":1}",
		"{\"t\":10,\"src\":\"a\\\"\",\"price\":1}",
		"{\"t\":10,\"src\":\"caf\xc3\xa9\",\"price\":1}",
		"{\"t\":10,\"src\":\"caf\xc3\",\"price\":1}",
		"{\"t\":10,\"src\":\"a\x7f\",\"price\":1}",
		"{\"t\":10,\"src\":\"a\x01\",\"price\":1}",
		"{\"t\":10,\"src\":\"a\tb\",\"price\":1}",
		"{\"t\":010,\"src\":\"a\",\"price\":1}",
		"{\"t\":-1,\"src\":\"a\",\"price\":1}",
		"{\"t\":10.0,\"src\":\"a\",\"price\":1}",
		"{\"t\":1e3,\"src\":\"a\",\"price\":1}",
		"{\"t\":\"10\",\"src\":\"a\",\"price\":1}",
		"{\"t\":,\"src\":\"a\",\"price\":1}",
		"{\"t\":10,\"src\":\"a\",\"price\":0}",
		"{\"t\":10,\"src\":\"a\",\"price\":0.0}",
		"{\"t\":10,\"src\":\"a\",\"price\":-0}",
		"{\"t\":10,\"src\":\"a\",\"price\":-1.5}",
		"{\"t\":10,\"src\":\"a\",\"price\":01.5}",
		"{\"t\":10,\"src\":\"a\",\"price\":1.}",
		"{\"t\":10,\"src\":\"a\",\"price\":.5}",
		"{\"t\":10,\"src\":\"a\",\"price\":1.5e2}",
		"{\"t\":10,\"src\":\"a\",\"price\":1e999}",
		"{\"t\":10,\"src\":\"a\",\"price\":\"1.5\"}",
		"{\"t\":10,\"src\":\"a\",\"price\":1.5 }",
		"{\"t\":10,\"src\":\"a\",\"price\":1.5}x",
		"{\"t\":10,\"src\":\"a\",\"price\":1.5}}",
		"{\"t\":10,\"src\":\"a\",\"price\":1.5",
		"{\"t\":10,\"src\":\"a\",\"price\":1.5,\"price\":2}",
		"{\"t\":10,\"src\":\"a\",\"price\":1.5,\"raw\":{}}",
		"{\"t\":10,\"src\":\"a\",\"price\":1.5,\"x\":1}",
		"{\"t\":10, \"src\":\"a\",\"price\":1.5}",
		" {\"t\":10,\"src\":\"a\",\"price\":1.5}",
		"{\"t\":10,\"src\":\"a\",\"price\":1.5}\r",
		"{\"t\":10,\"src\":\"a\",\"prices\":1.5}",
		"{\"t\":10,\"src\":\"a\",\"pric\\u0065\":1.5}",
		"{\"t\":10,\"src\":\"a\",\"raw\":{\"p\":1}}",
		"{\"t\":9,\"src\":\"a\",\"price\":1.5}",   /* backwards */
		"{\"t\":10,\"src\":\"a\",\"price\":1.5}",   /* equal */
	};
	/* The largest times, after every other line. */
	static const char *const last[] = {
		"{\"t\":999999999999999999,\"src\":\"a\",\"price\":1}",
		"{\"t\":1000000000000000000,\"src\":\"a\",\"price\":1}",
		"{\"t\":9223372036854775807,\"src\":\"a\",\"price\":1}",
		"{\"t\":9223372036854775808,\"src\":\"a\",\"price\":1}",
		"{\"t\":9223372036854775807,\"src\":\"a\",\"price\":2}",
	};
	const replay_file_opts_t slow = { .no_fast = true };
	replay_file_t *ra = NULL, *rb = NULL;
	replay_file_stats_t sa, sb;
	replay_line_t la, lb;
	uint64_t x = 0x2545f4914f6cdd1du;
	size_t canon = 0, differ = 0;
	const char *path;
	buf_t b = { 0 };
	kerr_t ea, eb;

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		b_str(&b, fixed[i]);
		b_str(&b, "\n");
	}
	/* Canonical lines with prices of every length and scale, each
	 * followed by a few mutations of itself (times rise, so the good ones
	 * stay in order; a mutated t may go back). */
	for (int i = 0; i < 20000; i++) {
		char line[256], num[80];
		int digits, decimals;
		uint64_t v;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		digits = 1 + (int)(x % 20);
		decimals = (int)((x >> 8) % 26);
		v = x >> 12;
		if (i % 3 == 0) {   /* as import writes: shortest round trip */
			double d = (double)(x >> 11) / (double)(1ull << (x % 53));

			for (int k = 1; k <= 17; k++) {
				snprintf(num, sizeof num, "%.*g", k, d);
				if (strtod(num, NULL) == d)
					break;
			}
		} else {
			/* `digits` digits of v, the last `decimals` of them
			 * (with zeros before when fewer) after the point. */
			char dg[32], zeros[32];
			int nd = snprintf(dg, sizeof dg, "%llu", (unsigned long long)v);

			if (nd > digits)
				nd = digits;
			dg[nd] = 0;
			if (decimals == 0) {
				snprintf(num, sizeof num, "%s", dg);
			} else if (decimals < nd) {
				snprintf(num, sizeof num, "%.*s.%s", nd - decimals, dg,
					 dg + nd - decimals);
			} else {
				memset(zeros, '0', (size_t)(decimals - nd));
				zeros[decimals - nd] = 0;
				snprintf(num, sizeof num, "0.%s%s", zeros, dg);
			}
		}
		snprintf(line, sizeof line, "{\"t\":%d,\"src\":\"%s\",\"price\":%s}",
			 1000 + i * 10, i % 2 ? "usdc-usd" : "eth", num);
		b_str(&b, line);
		b_str(&b, "\n");
		canon++;
		for (int k = 0; k < 3; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			mutate(&b, line, x);
			b_str(&b, "\n");
		}
	}
	for (size_t i = 0; i < sizeof last / sizeof last[0]; i++) {
		b_str(&b, last[i]);
		b_str(&b, "\n");
	}
	path = write_file(b.p, b.len);
	CHECK_OK(replay_file_open(&ra, path, NULL));
	CHECK_OK(replay_file_open(&rb, path, &slow));
	if (!ra || !rb)
		goto out;
	for (;;) {
		ea = replay_file_next(ra, &la);
		eb = replay_file_next(rb, &lb);
		CHECK_EQ_INT(ea, eb);
		if (ea != KERR_OK || eb != KERR_OK)
			break;
		if (!same_line(&la, &lb) && differ++ < 5)
			CHECK_MSG(0, "line %llu: fast %s (%s) t %lld price %.17g, full %s (%s) "
				  "t %lld price %.17g", (unsigned long long)la.line,
				  replay_file_err_name(la.err), kerr_str(la.why), (long long)la.t,
				  la.price, replay_file_err_name(lb.err), kerr_str(lb.why),
				  (long long)lb.t, lb.price);
	}
	CHECK_EQ_INT(differ, 0);
	replay_file_stats(ra, &sa);
	replay_file_stats(rb, &sb);
	CHECK_EQ_INT(sb.fast, 0);
	/* Most canonical lines go the fast way (the rest: digits beyond 2^53
	 * or a scale past 10^22), and some mutations stay canonical. */
	CHECK(sa.fast >= canon / 2 && sa.fast < sa.ok);
	printf("    %llu lines: %llu good (%llu by the fast path, %zu canonical written), "
	       "%llu bad; the same by both paths\n", (unsigned long long)sa.lines,
	       (unsigned long long)sa.ok, (unsigned long long)sa.fast, canon,
	       (unsigned long long)sa.errors);
	sa.fast = sb.fast = 0;
	CHECK(memcmp(&sa, &sb, sizeof sa) == 0);
out:
	replay_file_close(ra);
	replay_file_close(rb);
	unlink(path);
	free(b.p);
}

int main(void)
{
	/* A reader that loops instead of ending must fail, not hang the run. */
	alarm(120);
	snprintf(tmpdir, sizeof tmpdir, "/tmp/keeper-replay-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("FAIL setup: temporary directory\n0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_good_lines);
	RUN(test_bad_lines);
	RUN(test_time_order);
	RUN(test_cut_last_line);
	RUN(test_crlf);
	RUN(test_too_long);
	RUN(test_random_lines);
	RUN(test_split_reads);
	RUN(test_frame_limit);
	RUN(test_string_escapes);
	RUN(test_fixtures);
	RUN(test_open);
	RUN(test_fast_path);
	forget();
	rmdir(tmpdir);
	return t_done();
}
