/*
 * replay_file: reads a replay file line by line into event records (see
 * replay_file.h for the rules).  One buffer holds the unread part of the
 * file; a line is found with memchr, parsed with jtok in place, and its
 * views point into the buffer, so a line costs no copy unless its frame is
 * a JSON string with escapes (unescaped into the scratch buffer); a
 * canonical price line (replay_file.h) is scanned without the tokeniser.  The
 * buffer holds max_line + 2 bytes plus one read's worth, so a line of the
 * limit with its "\r\n" always fits after the leftover of the previous read
 * is moved to the front; a longer line is never held whole but skipped as
 * it streams past.
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper/feed_parse.h"
#include "keeper/node_parse.h"
#include "keeper/replay_file.h"

/* Bytes asked of each read(2). */
#define READ_CHUNK ((size_t)64 << 10)

_Static_assert(REPLAY_FILE_SRC_MAX == 64, "replay_file_err_str names the src limit");
/* Every frame live parsing accepts (and record therefore writes) replays. */
_Static_assert(REPLAY_FILE_FRAME_DEFAULT >= NODE_PARSE_FRAME_DEFAULT &&
	       REPLAY_FILE_FRAME_DEFAULT >= FEED_PARSE_FRAME_DEFAULT,
	       "the replay frame limit is below a live one");

struct replay_file {
	int fd;
	bool own_fd;
	size_t max_line, max_frame;
	char *buf;             /* max_line + 2 + READ_CHUNK bytes */
	size_t cap;
	size_t start, end;     /* buf[start..end): read, not yet consumed */
	size_t scan;           /* buf[start..scan) holds no '\n' */
	bool eof;
	bool skipping;         /* inside an over-long line: drop to '\n' */
	bool no_fast;          /* opts.no_fast */
	int io_errno;
	char *scratch;         /* max_frame bytes: string frames */
	char src_buf[REPLAY_FILE_SRC_MAX];
	jtok_doc_t doc;
	uint64_t lineno;
	bool have_t;
	int64_t last_t;        /* t of the last good line */
	replay_file_stats_t st;
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static replay_err_t fault(replay_line_t *out, replay_err_t e, kerr_t why)
{
	out->err = e;
	out->why = why;
	return e;
}

/* The frame of a raw value: an object's or array's text, or a string's
 * unescaped content. */
static replay_err_t raw_frame(replay_file_t *r, size_t v, replay_line_t *out)
{
	jtok_type_t ty = jtok_type(&r->doc, v);
	kerr_t e;

	if (ty == JTOK_OBJECT || ty == JTOK_ARRAY) {
		out->frame = jtok_text(&r->doc, v);
		if (out->frame.len > r->max_frame)
			return fault(out, REPLAY_E_FRAME_TOO_LONG, KERR_TOO_LONG);
		out->doc = &r->doc;
		out->frame_tok = v;
		return REPLAY_OK;
	}
	if (ty != JTOK_STRING)
		return fault(out, REPLAY_E_RAW_TYPE, KERR_JSON);
	out->raw_string = true;
	e = jtok_str_view(&r->doc, v, r->scratch, r->max_frame, &out->frame);
	if (e == KERR_BUF || (e == KERR_OK && out->frame.len > r->max_frame))
		return fault(out, REPLAY_E_FRAME_TOO_LONG, KERR_TOO_LONG);
	if (e)
		return fault(out, REPLAY_E_RAW_TYPE, e);
	return REPLAY_OK;
}

/* ---- the canonical price line (replay_file.h) ---------------------------- */

/*
 * The exact conversion needs every double operation rounded once, to
 * double: true of SSE2 and every 64-bit target, not of x87's extended
 * registers, where the fast path is left out.
 */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define FAST_PRICE 1
#else
#define FAST_PRICE 0
#endif

/* 10^k for k = 0..22: each exactly a double (5^22 < 2^53). */
static const double pow10_exact[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * true when p[0..n) is a canonical price line whose every rule certainly
 * holds, with its fields in *out as the full rules would set them; false
 * (out untouched) sends the line to the full rules, which then judge it.
 * A false here costs only the bytes looked at, so anything unusual is
 * simply not this path's business.
 */
static bool fast_price(replay_file_t *r, const char *p, size_t n,
		       replay_line_t *out)
{
	static const char k_t[] = "{\"t\":", k_src[] = ",\"src\":\"",
			  k_price[] = "\",\"price\":";
	size_t i, s0, ns, nd = 0, frac = 0;
	uint64_t t = 0, m = 0;
	double v;

	if (!FAST_PRICE || n < sizeof k_t - 1 || memcmp(p, k_t, sizeof k_t - 1))
		return false;
	i = sizeof k_t - 1;
	/* t: digits without a leading zero (JSON), 18 at most (< 2^63). */
	if (i >= n || !is_digit(p[i]) || (p[i] == '0' && i + 1 < n && is_digit(p[i + 1])))
		return false;
	for (; i < n && is_digit(p[i]); i++, nd++) {
		if (nd == 18)
			return false;
		t = t * 10 + (uint64_t)(p[i] - '0');
	}
	if (n - i < sizeof k_src - 1 || memcmp(p + i, k_src, sizeof k_src - 1))
		return false;
	i += sizeof k_src - 1;
	/* src: printable ASCII, no escape: its bytes are its value. */
	for (s0 = i; i < n && p[i] != '"'; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e || p[i] == '\\')
			return false;
	if (i == s0 || i - s0 > REPLAY_FILE_SRC_MAX)
		return false;
	if (n - i < sizeof k_price - 1 || memcmp(p + i, k_price, sizeof k_price - 1))
		return false;
	ns = i - s0;
	i += sizeof k_price - 1;
	/* price: DIGITS[.DIGITS] then the closing brace, the line's last byte. */
	if (i >= n || !is_digit(p[i]) || (p[i] == '0' && i + 1 < n && is_digit(p[i + 1])))
		return false;
	for (nd = 0; i < n && is_digit(p[i]); i++, nd++) {
		if (nd == 19)
			return false;
		m = m * 10 + (uint64_t)(p[i] - '0');
	}
	if (i < n && p[i] == '.') {
		i++;
		if (i >= n || !is_digit(p[i]))
			return false;
		for (; i < n && is_digit(p[i]); i++, nd++, frac++) {
			if (nd == 19)
				return false;
			m = m * 10 + (uint64_t)(p[i] - '0');
		}
	}
	if (i + 1 != n || p[i] != '}')
		return false;
	/* A zero price is a fault; digits over 2^53 or a scale past 10^22
	 * would need a rounding of their own. */
	if (m == 0 || m > ((uint64_t)1 << 53) || frac > 22)
		return false;
	v = (double)m / pow10_exact[frac];
	if (r->have_t && (int64_t)t < r->last_t)
		return false;
	out->t = (int64_t)t;
	out->src.p = p + s0;
	out->src.len = ns;
	out->kind = REPLAY_PRICE;
	out->price = v;
	return true;
}

/* One line, p[0..n) without its terminator, into *out (line, err, why set). */
static replay_err_t parse_line(replay_file_t *r, const char *p, size_t n,
			       replay_line_t *out)
{
	jtok_doc_t *d = &r->doc;
	size_t t_i = JTOK_NONE, src_i = JTOK_NONE, raw_i = JTOK_NONE,
	       price_i = JTOK_NONE;
	bool unknown = false, dup = false;
	size_t i = 0;
	kerr_t e;

	while (i < n && is_ws(p[i]))
		i++;
	if (i == n)
		return fault(out, REPLAY_E_BLANK, KERR_OK);
	if ((e = jtok_parse(d, p, n))) {
		out->err_pos = d->err_pos;
		return fault(out, e == KERR_TRUNCATED ? REPLAY_E_CUT : REPLAY_E_JSON, e);
	}
	if (jtok_type(d, 0) != JTOK_OBJECT)
		return fault(out, REPLAY_E_NOT_OBJECT, KERR_JSON);

	for (size_t k = jtok_first(d, 0); k != JTOK_NONE; k = jtok_after(d, 0, k)) {
		size_t *slot;

		if (jtok_str_eq(d, k, "t", 1))
			slot = &t_i;
		else if (jtok_str_eq(d, k, "src", 3))
			slot = &src_i;
		else if (jtok_str_eq(d, k, "raw", 3))
			slot = &raw_i;
		else if (jtok_str_eq(d, k, "price", 5))
			slot = &price_i;
		else {
			unknown = true;
			continue;
		}
		if (*slot != JTOK_NONE)
			dup = true;
		*slot = k + 1;
	}
	if (unknown)
		return fault(out, REPLAY_E_UNKNOWN_KEY, KERR_JSON);
	if (dup)
		return fault(out, REPLAY_E_DUP_KEY, KERR_JSON);

	if (t_i == JTOK_NONE)
		return fault(out, REPLAY_E_T_MISSING, KERR_NOT_FOUND);
	/* jtok_int64 also reads digit strings; the format says a number. */
	if (jtok_type(d, t_i) != JTOK_NUMBER)
		return fault(out, REPLAY_E_T_TYPE, KERR_JSON);
	if ((e = jtok_int64(d, t_i, &out->t)))
		return fault(out, REPLAY_E_T_TYPE, e);
	if (out->t < 0)
		return fault(out, REPLAY_E_T_TYPE, KERR_NUM_RANGE);

	if (src_i == JTOK_NONE)
		return fault(out, REPLAY_E_SRC_MISSING, KERR_NOT_FOUND);
	if (jtok_type(d, src_i) != JTOK_STRING)
		return fault(out, REPLAY_E_SRC_TYPE, KERR_JSON);
	e = jtok_str_view(d, src_i, r->src_buf, sizeof r->src_buf, &out->src);
	if (e == KERR_BUF || (e == KERR_OK && out->src.len > REPLAY_FILE_SRC_MAX))
		return fault(out, REPLAY_E_SRC_TYPE, KERR_TOO_LONG);
	if (e)
		return fault(out, REPLAY_E_SRC_TYPE, e);
	if (out->src.len == 0)
		return fault(out, REPLAY_E_SRC_TYPE, KERR_OK);

	if (raw_i == JTOK_NONE && price_i == JTOK_NONE)
		return fault(out, REPLAY_E_NO_PAYLOAD, KERR_NOT_FOUND);
	if (raw_i != JTOK_NONE && price_i != JTOK_NONE)
		return fault(out, REPLAY_E_BOTH, KERR_JSON);
	if (raw_i != JTOK_NONE) {
		replay_err_t re = raw_frame(r, raw_i, out);

		if (re)
			return re;
		out->kind = REPLAY_RAW;
	} else {
		/* A string "1.5" would pass jtok_double; import writes numbers. */
		if (jtok_type(d, price_i) != JTOK_NUMBER)
			return fault(out, REPLAY_E_PRICE, KERR_JSON);
		if ((e = jtok_double(d, price_i, &out->price)))
			return fault(out, REPLAY_E_PRICE, e);
		if (!(out->price > 0) || !isfinite(out->price))
			return fault(out, REPLAY_E_PRICE, KERR_NUM_RANGE);
		out->kind = REPLAY_PRICE;
	}

	if (r->have_t && out->t < r->last_t)
		return fault(out, REPLAY_E_T_BACKWARDS, KERR_NUM_RANGE);
	return REPLAY_OK;
}

/* Count and classify line p[0..n) (terminator excluded). */
static void take_line(replay_file_t *r, const char *p, size_t n, bool too_long,
		      replay_line_t *out)
{
	replay_err_t e;

	memset(out, 0, sizeof *out);
	out->line = ++r->lineno;
	out->frame_tok = JTOK_NONE;
	r->st.lines++;
	if (!too_long && n && p[n - 1] == '\r')
		n--;
	if (too_long || n > r->max_line)
		e = fault(out, REPLAY_E_TOO_LONG, KERR_TOO_LONG);
	else if (!r->no_fast && fast_price(r, p, n, out)) {
		e = REPLAY_OK;
		r->st.fast++;
	} else
		e = parse_line(r, p, n, out);
	if (e) {
		r->st.errors++;
		r->st.err[e]++;
		return;
	}
	r->st.ok++;
	if (out->kind == REPLAY_RAW)
		r->st.raw++;
	else
		r->st.price++;
	if (!r->have_t)
		r->st.first_t = out->t;
	r->st.last_t = out->t;
	r->last_t = out->t;
	r->have_t = true;
}

kerr_t replay_file_next(replay_file_t *r, replay_line_t *out)
{
	for (;;) {
		char *nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
		ssize_t got;

		if (nl) {
			size_t at = (size_t)(nl - r->buf);

			take_line(r, r->buf + r->start, at - r->start, r->skipping, out);
			r->skipping = false;
			r->start = r->scan = at + 1;
			return KERR_OK;
		}
		r->scan = r->end;
		/* + 1: the line's last byte may be the "\r" of a CRLF. */
		if (!r->skipping && r->end - r->start > r->max_line + 1)
			r->skipping = true;
		if (r->skipping)   /* nothing of it is needed: drop it */
			r->start = r->scan = r->end = 0;
		if (r->eof) {
			if (r->skipping) {
				r->skipping = false;
				take_line(r, r->buf, 0, true, out);
				return KERR_OK;
			}
			if (r->start == r->end)
				return KERR_NOT_FOUND;
			/* The last line, without its "\n". */
			take_line(r, r->buf + r->start, r->end - r->start, false, out);
			r->start = r->scan = r->end;
			return KERR_OK;
		}
		if (r->start && r->cap - r->end < READ_CHUNK) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->scan = r->end;
			r->start = 0;
		}
		/* One chunk at a time, not all the room there is: the bytes
		 * are parsed while they are still in the cache. */
		got = read(r->fd, r->buf + r->end,
			   r->cap - r->end < READ_CHUNK ? r->cap - r->end : READ_CHUNK);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			r->io_errno = errno;
			return KERR_IO;
		}
		if (got == 0)
			r->eof = true;
		r->end += (size_t)got;
		r->st.bytes += (uint64_t)got;
	}
}

static kerr_t make(replay_file_t **out, int fd, bool own,
		   const replay_file_opts_t *opts)
{
	size_t max_frame = opts ? opts->max_frame : 0;
	size_t max_line = opts ? opts->max_line : 0;
	size_t ntok;
	replay_file_t *r;

	*out = NULL;
	if (!max_frame)
		max_frame = REPLAY_FILE_FRAME_DEFAULT;
	if (max_frame > REPLAY_FILE_FRAME_HARD)
		return KERR_ARG;
	if (!max_line)
		max_line = REPLAY_FILE_LINE_FOR(max_frame);
	if (max_line < REPLAY_FILE_LINE_MIN || max_line > REPLAY_FILE_LINE_HARD)
		return KERR_ARG;
	/* A frame of max_frame bytes spends at least 2 bytes per token ("0,");
	 * node_parse and feed_parse hold max_frame / 8, and record writes a
	 * denser frame as a string.  The envelope adds 6 tokens. */
	ntok = max_frame / 8 + 64;
	if (ntok < 1024)
		ntok = 1024;
	if (!(r = calloc(1, sizeof *r)))
		return KERR_NOMEM;
	r->fd = fd;
	r->own_fd = own;
	r->no_fast = opts && opts->no_fast;
	r->max_line = max_line;
	r->max_frame = max_frame;
	r->cap = max_line + 2 + READ_CHUNK;
	r->buf = malloc(r->cap);
	r->scratch = malloc(max_frame);
	if (!r->buf || !r->scratch || jtok_doc_alloc(&r->doc, ntok)) {
		r->own_fd = false;   /* the caller closes what it opened */
		replay_file_close(r);
		return KERR_NOMEM;
	}
	r->st.first_t = r->st.last_t = -1;
	*out = r;
	return KERR_OK;
}

kerr_t replay_file_open_fd(replay_file_t **out, int fd,
			   const replay_file_opts_t *opts)
{
	if (!out)
		return KERR_ARG;
	*out = NULL;
	if (fd < 0)
		return KERR_ARG;
	return make(out, fd, false, opts);
}

kerr_t replay_file_open(replay_file_t **out, const char *path,
			const replay_file_opts_t *opts)
{
	kerr_t e;
	int fd, saved;

	if (!out)
		return KERR_ARG;
	*out = NULL;
	if (!path)
		return KERR_ARG;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return KERR_IO;
	if ((e = make(out, fd, true, opts))) {
		saved = errno;
		close(fd);
		errno = saved;
		return e;
	}
	return KERR_OK;
}

void replay_file_stats(const replay_file_t *r, replay_file_stats_t *out)
{
	*out = r->st;
}

int replay_file_errno(const replay_file_t *r)
{
	return r->io_errno;
}

void replay_file_close(replay_file_t *r)
{
	if (!r)
		return;
	if (r->own_fd)
		close(r->fd);
	free(r->buf);
	free(r->scratch);
	jtok_doc_free(&r->doc);
	free(r);
}

const char *replay_file_err_name(replay_err_t e)
{
	switch (e) {
	case REPLAY_OK: return "ok";
	case REPLAY_E_TOO_LONG: return "too_long";
	case REPLAY_E_BLANK: return "blank";
	case REPLAY_E_CUT: return "cut";
	case REPLAY_E_JSON: return "json";
	case REPLAY_E_NOT_OBJECT: return "not_object";
	case REPLAY_E_UNKNOWN_KEY: return "unknown_key";
	case REPLAY_E_DUP_KEY: return "dup_key";
	case REPLAY_E_T_MISSING: return "t_missing";
	case REPLAY_E_T_TYPE: return "t_type";
	case REPLAY_E_SRC_MISSING: return "src_missing";
	case REPLAY_E_SRC_TYPE: return "src_type";
	case REPLAY_E_NO_PAYLOAD: return "no_payload";
	case REPLAY_E_BOTH: return "both";
	case REPLAY_E_RAW_TYPE: return "raw_type";
	case REPLAY_E_FRAME_TOO_LONG: return "frame_too_long";
	case REPLAY_E_PRICE: return "price";
	case REPLAY_E_T_BACKWARDS: return "t_backwards";
	case REPLAY_E_COUNT: break;
	}
	return "unknown";
}

const char *replay_file_err_str(replay_err_t e)
{
	switch (e) {
	case REPLAY_OK: return "ok";
	case REPLAY_E_TOO_LONG: return "line longer than the limit; skipped";
	case REPLAY_E_BLANK: return "empty line";
	case REPLAY_E_CUT: return "line cut off inside its JSON (a crash mid-write?)";
	case REPLAY_E_JSON: return "not valid JSON";
	case REPLAY_E_NOT_OBJECT: return "not a JSON object";
	case REPLAY_E_UNKNOWN_KEY: return "a key other than t, src, raw, price";
	case REPLAY_E_DUP_KEY: return "a key occurs twice";
	case REPLAY_E_T_MISSING: return "no \"t\"";
	case REPLAY_E_T_TYPE: return "\"t\" is not a whole number of ms >= 0";
	case REPLAY_E_SRC_MISSING: return "no \"src\"";
	case REPLAY_E_SRC_TYPE: return "\"src\" is not a name of 1..64 bytes";
	case REPLAY_E_NO_PAYLOAD: return "neither \"raw\" nor \"price\"";
	case REPLAY_E_BOTH: return "both \"raw\" and \"price\"";
	case REPLAY_E_RAW_TYPE: return "\"raw\" is not an object, array or string";
	case REPLAY_E_FRAME_TOO_LONG: return "frame longer than the limit";
	case REPLAY_E_PRICE: return "\"price\" is not a finite number > 0";
	case REPLAY_E_T_BACKWARDS: return "\"t\" goes back in time; line skipped";
	case REPLAY_E_COUNT: break;
	}
	return "unknown";
}
