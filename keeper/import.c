/*
 * import: Chainlink CSV rounds and OHLCV bars -> replay price events.  The
 * rules (what is a tick, at which time, what is refused) are in import.h;
 * comments here say why the code does what it does.
 */
#include "keeper/import.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Chainlink USD feeds report 8 decimals. */
#define CHAINLINK_DECIMALS 8

kerr_t import_format_parse(const char *name, import_format_t *out)
{
	if (strcmp(name, "chainlink-csv") == 0)
		*out = IMPORT_CHAINLINK_CSV;
	else if (strcmp(name, "ohlcv-json") == 0)
		*out = IMPORT_OHLCV_JSON;
	else
		return KERR_NOT_FOUND;
	return KERR_OK;
}

static void problem(import_result_t *res, const char *fmt, ...)
{
	va_list ap;

	if (res->errors < IMPORT_MAX_ERRORS) {
		va_start(ap, fmt);
		vsnprintf(res->msg[res->errors], IMPORT_MSG_MAX, fmt, ap);
		va_end(ap);
	}
	res->errors++;
}

/* ---- time ---------------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar: count
 * years from March, so that the leap day is the last day of its year. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

kerr_t import_iso_ms(const char *s, size_t len, int64_t *out)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, mo, d, h, mi, sec, ms = 0, scale = 100;
	size_t i;

	/* YYYY-MM-DDTHH:MM:SS is 19 characters, then [.frac] and Z. */
	if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[len - 1] != 'Z' ||
	    !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
		return KERR_IMPORT_INVALID;
	if (len > 20) {
		if (s[19] != '.' || len == 21)
			return KERR_IMPORT_INVALID;
		for (i = 20; i < len - 1; i++) {
			if (s[i] < '0' || s[i] > '9')
				return KERR_IMPORT_INVALID;
			ms += scale * (unsigned)(s[i] - '0');
			scale /= 10;
		}
	}
	/* Before 1970 the time is negative, and replay refuses a negative t:
	 * a bar there would be written and then fail every line of the file. */
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 59 ||
	    (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
		return KERR_IMPORT_INVALID;
	*out = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000 + ms;
	return KERR_OK;
}

/* ---- output -------------------------------------------------------------- */

/* The shortest %.Ng that reads back as v: deterministic and readable
 * (195.21, not 195.21000000000001). */
static void fmt_price(char *out, size_t cap, double v)
{
	int p;

	for (p = 1; p <= 17; p++) {
		snprintf(out, cap, "%.*g", p, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

/* One event line; feed names are [A-Za-z0-9_.-] (config rule), so they
 * need no JSON escaping. */
static void tick(FILE *mem, import_result_t *res, const char *feed, int64_t t_ms,
		 const char *price)
{
	fprintf(mem, "{\"t\":%" PRId64 ",\"src\":\"%s\",\"price\":%s}\n", t_ms, feed, price);
	res->ticks++;
}

/* ---- chainlink-csv --------------------------------------------------------- */

typedef struct {
	const char *p;
	size_t n;
} field_t;

#define MAX_COLUMNS 32

/* Split one line at commas.  Quoted fields are not part of the format. */
static int split(const char *line, size_t len, field_t *f)
{
	size_t i, start = 0;
	int n = 0;

	for (i = 0; i <= len; i++) {
		if (i == len || line[i] == ',') {
			if (n == MAX_COLUMNS)
				return -1;
			f[n].p = line + start;
			f[n].n = i - start;
			n++;
			start = i + 1;
		}
	}
	return n;
}

static bool field_is(const field_t *f, const char *name)
{
	return f->n == strlen(name) && memcmp(f->p, name, f->n) == 0;
}

/* The answer as exact decimal text with CHAINLINK_DECIMALS decimals.
 * false (with why) for anything but a positive integer. */
static bool answer_text(const field_t *f, char *out, size_t cap, const char **why)
{
	char dig[IMPORT_MAX_FIELD + CHAINLINK_DECIMALS + 2];
	size_t i, n, start = 0, whole;
	char *o = out;

	if (f->n == 0 || f->n > IMPORT_MAX_FIELD) {
		*why = f->n ? "answer: too long" : "answer: empty";
		return false;
	}
	if (f->p[0] == '-') {
		*why = "answer: a price <= 0";
		return false;
	}
	for (i = 0; i < f->n; i++)
		if (f->p[i] < '0' || f->p[i] > '9') {
			*why = "answer: not an integer";
			return false;
		}
	while (start < f->n - 1 && f->p[start] == '0')
		start++;
	n = f->n - start;
	if (n == 1 && f->p[start] == '0') {
		*why = "answer: a price <= 0";
		return false;
	}
	/* Left-pad to at least one integer digit. */
	memset(dig, '0', sizeof dig);
	whole = n > CHAINLINK_DECIMALS ? n - CHAINLINK_DECIMALS : 1;
	memcpy(dig + (whole + CHAINLINK_DECIMALS - n), f->p + start, n);
	n = whole + CHAINLINK_DECIMALS;
	/* Drop trailing zeros of the fraction. */
	while (n > whole && dig[n - 1] == '0')
		n--;
	if (n + 2 > cap) {
		*why = "answer: too long";
		return false;
	}
	memcpy(o, dig, whole);
	o += whole;
	if (n > whole) {
		*o++ = '.';
		memcpy(o, dig + whole, n - whole);
		o += n - whole;
	}
	*o = 0;
	return true;
}

static bool seconds(const field_t *f, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	/* Up to 13 digits: seconds until the year 318857, and * 1000 stays
	 * far inside int64. */
	if (f->n == 0 || f->n > 13)
		return false;
	for (i = 0; i < f->n; i++) {
		if (f->p[i] < '0' || f->p[i] > '9')
			return false;
		v = v * 10 + (f->p[i] - '0');
	}
	*out = v;
	return true;
}

static void convert_csv(const char *buf, size_t len, const char *feed, FILE *mem,
			import_result_t *res)
{
	field_t f[MAX_COLUMNS];
	int col_answer = -1, col_time = -1, ncols = 0, n, i;
	size_t pos = 0, lineno = 0;
	int64_t last_ms = INT64_MIN;
	bool header = false;

	while (pos < len) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;

		pos += ll + (nl != NULL);
		lineno++;
		if (ll && line[ll - 1] == '\r')
			ll--;
		if (ll == 0 || line[0] == '#')
			continue;
		if (memchr(line, '"', ll)) {
			problem(res, "line %zu: quoted fields are not supported", lineno);
			continue;
		}
		n = split(line, ll, f);
		if (n < 0) {
			problem(res, "line %zu: more than %d columns", lineno, MAX_COLUMNS);
			continue;
		}
		if (!header) {
			header = true;
			ncols = n;
			for (i = 0; i < n; i++) {
				if (field_is(&f[i], "answer"))
					col_answer = i;
				else if (field_is(&f[i], "updatedAt"))
					col_time = i;
			}
			if (col_answer < 0 || col_time < 0) {
				problem(res, "line %zu: the header names no %s column", lineno,
					col_answer < 0 ? "answer" : "updatedAt");
				return;
			}
			continue;
		}
		res->rows++;
		if (n != ncols) {
			problem(res, "line %zu: %d columns, the header has %d", lineno, n, ncols);
			continue;
		}
		{
			char price[IMPORT_MAX_FIELD + 4];
			const char *why = NULL;
			int64_t secs;

			if (!answer_text(&f[col_answer], price, sizeof price, &why)) {
				problem(res, "line %zu: %s", lineno, why);
				continue;
			}
			if (!seconds(&f[col_time], &secs)) {
				problem(res, "line %zu: updatedAt: not unix seconds", lineno);
				continue;
			}
			if (secs * 1000 < last_ms) {
				problem(res, "line %zu: updatedAt %" PRId64 " is earlier than the "
					"previous round's", lineno, secs);
				continue;
			}
			last_ms = secs * 1000;
			tick(mem, res, feed, last_ms, price);
		}
	}
	if (!header)
		problem(res, "no header line (answer, updatedAt, ...)");
}

/* ---- ohlcv-json ------------------------------------------------------------ */

static bool bar_time(json_t *bar, const char *k, int64_t *out)
{
	json_t *v = json_object_get(bar, k);

	return json_is_string(v) &&
	       import_iso_ms(json_string_value(v), json_string_length(v), out) == KERR_OK;
}

static bool bar_price(json_t *bar, const char *k, double *out)
{
	json_t *v = json_object_get(bar, k);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return isfinite(*out) && *out > 0;
}

static void convert_ohlcv(const char *buf, size_t len, const char *feed, FILE *mem,
			  import_result_t *res)
{
	static const char *const pk[4] = { "price_open", "price_high", "price_low", "price_close" };
	json_error_t jerr;
	json_t *root, *bar;
	int64_t last_end = INT64_MIN;
	size_t i;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		problem(res, "line %d: %s", jerr.line, jerr.text);
		return;
	}
	if (!json_is_array(root)) {
		problem(res, "not a JSON array of bars");
		json_decref(root);
		return;
	}
	json_array_foreach(root, i, bar) {
		double p[4];
		int64_t start, end, span;
		char txt[4][32];
		int k;
		bool ok = true;

		res->rows++;
		if (!json_is_object(bar)) {
			problem(res, "bar %zu: not an object", i);
			continue;
		}
		if (!bar_time(bar, "time_period_start", &start) ||
		    !bar_time(bar, "time_period_end", &end)) {
			problem(res, "bar %zu: time_period_start/end: not ISO 8601 UTC times", i);
			continue;
		}
		for (k = 0; k < 4 && ok; k++)
			if (!bar_price(bar, pk[k], &p[k])) {
				problem(res, "bar %zu: %s: not a number > 0", i, pk[k]);
				ok = false;
			}
		if (!ok)
			continue;
		span = end - start;
		/* Four distinct, increasing times need at least 4 ms. */
		if (span < 4) {
			problem(res, "bar %zu: ends less than 4 ms after it starts", i);
			continue;
		}
		if (start < last_end) {
			problem(res, "bar %zu: starts before the previous bar ends", i);
			continue;
		}
		if (p[1] < fmax(p[0], p[3]) || p[2] > fmin(p[0], p[3])) {
			problem(res, "bar %zu: high/low do not bound open and close", i);
			continue;
		}
		last_end = end;
		for (k = 0; k < 4; k++)
			fmt_price(txt[k], sizeof txt[k], p[k]);
		tick(mem, res, feed, start, txt[0]);
		if (p[3] >= p[0]) {
			tick(mem, res, feed, start + span / 3, txt[2]);
			tick(mem, res, feed, start + 2 * span / 3, txt[1]);
		} else {
			tick(mem, res, feed, start + span / 3, txt[1]);
			tick(mem, res, feed, start + 2 * span / 3, txt[2]);
		}
		tick(mem, res, feed, end, txt[3]);
	}
	json_decref(root);
}

kerr_t import_convert(import_format_t fmt, const char *buf, size_t len,
		      const char *feed, FILE *out, import_result_t *res)
{
	char *text = NULL;
	size_t tlen = 0;
	FILE *mem;
	kerr_t err = KERR_OK;

	memset(res, 0, sizeof *res);
	if (len > IMPORT_MAX_INPUT)
		return KERR_TOO_LONG;
	/* Everything goes to memory first: nothing is written unless the
	 * whole file converts. */
	mem = open_memstream(&text, &tlen);
	if (!mem)
		return KERR_NOMEM;
	if (fmt == IMPORT_CHAINLINK_CSV)
		convert_csv(buf, len, feed, mem, res);
	else
		convert_ohlcv(buf, len, feed, mem, res);
	if (fclose(mem) != 0) {
		free(text);
		return KERR_NOMEM;
	}
	if (res->errors)
		err = KERR_IMPORT_INVALID;
	else if (tlen && (fwrite(text, 1, tlen, out) != tlen || fflush(out) != 0))
		err = KERR_IO;
	free(text);
	return err;
}
