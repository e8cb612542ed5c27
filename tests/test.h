/*
 * test.h: the unit-test harness, header-only so that every test program is
 * a single file linked against build/…/libkeeper.a.
 *
 * A test is a function registered with RUN(); it passes when none of its
 * CHECKs failed.  A failed CHECK prints file:line and the expression (and
 * the values, for the _EQ forms) and the test goes on, so one run shows
 * every failure.  t_done() prints "N passed, N failed" and returns the exit
 * status.  Tests that include a module's .c to reach its static functions
 * may do so (as libsecp256k1's tests do).
 *
 * t_read_file() reads a file whole, transparently gunzipping *.gz, so the
 * vector files stay compressed in the repository; t_load_json() does the
 * same and parses it, since most vector files are JSON.
 */
#ifndef TESTS_TEST_H
#define TESTS_TEST_H

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int t_passed, t_failed, t_cur_failed;
static const char *t_cur_name;

static void t_fail_msg(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#include <stdarg.h>
static void t_fail_msg(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	/* Cap per test: a vector loop that fails everywhere must stay readable. */
	if (++t_cur_failed > 20) {
		if (t_cur_failed == 21)
			printf("    … more failures in %s suppressed\n", t_cur_name);
		return;
	}
	printf("    %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#define CHECK(c) do { if (!(c)) t_fail_msg(__FILE__, __LINE__, "CHECK(%s)", #c); } while (0)
#define CHECK_MSG(c, ...) do { if (!(c)) t_fail_msg(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#define CHECK_EQ_INT(a, b) do { long long t_a_ = (long long)(a), t_b_ = (long long)(b); \
	if (t_a_ != t_b_) t_fail_msg(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, t_a_, t_b_); } while (0)
#define CHECK_EQ_STR(a, b) do { const char *t_a_ = (a), *t_b_ = (b); \
	if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_) != 0) t_fail_msg(__FILE__, __LINE__, \
	"%s == %s: \"%s\" != \"%s\"", #a, #b, t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)"); } while (0)
#define CHECK_EQ_MEM(a, b, n) do { if (memcmp((a), (b), (n)) != 0) \
	t_fail_msg(__FILE__, __LINE__, "%s == %s (%zu bytes) differ", #a, #b, (size_t)(n)); } while (0)
/* An expression returning kerr_t must give the expected code. */
#define CHECK_ERR(expr, want) do { kerr_t t_e_ = (expr); if (t_e_ != (want)) \
	t_fail_msg(__FILE__, __LINE__, "%s: got %s, want %s", #expr, kerr_name(t_e_), kerr_name(want)); } while (0)
#define CHECK_OK(expr) CHECK_ERR(expr, KERR_OK)

static __attribute__((unused)) void t_run(const char *name, void (*fn)(void))
{
	t_cur_name = name;
	t_cur_failed = 0;
	fn();
	if (t_cur_failed) {
		t_failed++;
		printf("FAIL %s\n", name);
	} else {
		t_passed++;
		printf("ok   %s\n", name);
	}
	fflush(stdout);
}
#define RUN(fn) t_run(#fn, fn)

static int t_done(void)
{
	printf("%d passed, %d failed\n", t_passed, t_failed);
	return t_failed ? 1 : 0;
}

/* Read a whole file (gunzipping *.gz) into a NUL-terminated heap buffer.
 * Returns NULL (and prints why) on failure. */
static __attribute__((unused)) char *t_read_file(const char *path, size_t *len_out)
{
	gzFile f = gzopen(path, "rb");
	size_t cap = 1 << 16, len = 0;
	char *buf;
	if (!f) {
		printf("    cannot open %s\n", path);
		return NULL;
	}
	buf = malloc(cap + 1);
	for (;;) {
		int n;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
		n = gzread(f, buf + len, (unsigned)(cap - len));
		if (n < 0) {
			printf("    read error in %s\n", path);
			gzclose(f);
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	gzclose(f);
	buf[len] = 0;
	if (len_out)
		*len_out = len;
	return buf;
}

/* Read and parse a JSON file (gunzipping *.gz); the caller json_decref()s
 * it.  Returns NULL (and prints why) on failure.  \u0000 is allowed because
 * ethereum/tests writes the byte 0 that way. */
static __attribute__((unused)) json_t *t_load_json(const char *path)
{
	json_error_t jerr;
	json_t *root;
	size_t len;
	char *text = t_read_file(path, &len);

	if (!text)
		return NULL;
	root = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
	free(text);
	if (!root)
		printf("    %s: line %d: %s\n", path, jerr.line, jerr.text);
	return root;
}

/*
 * Line n (1-based) of a text held in buf, as a view of *len bytes without
 * its newline; NULL past the end or for an empty line.
 */
static __attribute__((unused)) const char *t_line_of(const char *buf, int n,
						     size_t *len)
{
	const char *p = buf, *e;
	while (--n > 0) {
		p = strchr(p, '\n');
		if (!p)
			return NULL;
		p++;
	}
	e = strchr(p, '\n');
	*len = e ? (size_t)(e - p) : strlen(p);
	return *len ? p : NULL;
}

#endif
