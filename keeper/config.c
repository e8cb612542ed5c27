/*
 * config: libconfig file -> validated config_keeper_t (see config.h for the
 * rules operators rely on).
 *
 * The loader never stops at the first problem: each section is read as far
 * as it can be, every error is recorded with the file and line of the
 * setting at fault, and only a file without errors yields a config.  Entries
 * with errors are still kept during loading (under whatever name they
 * have) so that a broken action does not also produce "action not defined"
 * for every trigger that names it: one mistake, one message.
 *
 * Trigger kinds and gas strategies are described by tables of parameter
 * specs (key, type, required, default, range, where it goes in the typed
 * struct); adding a kind is a new enum value, a table and a row.
 *
 * Everything the config owns (strings, arrays) comes from one chain of
 * allocations freed together by config_free(), so no field needs its own
 * release code.
 */
#include "keeper/config.h"

#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "signer/hex.h"
#include "signer/signer.h"

/* A config larger than this is not a config; refusing it bounds the re-scan. */
#define CONFIG_FILE_MAX (1024 * 1024)
/* Source files (the config and its @includes) whose literals we re-scan. */
#define MAX_SOURCES 16
/* Lines holding a truncated integer literal (already reported). */
#define MAX_BAD_LINES 64

/* ---- errors list ------------------------------------------------------ */

void config_errors_init(config_errors_t *e)
{
	memset(e, 0, sizeof *e);
}

void config_errors_release(config_errors_t *e)
{
	for (size_t i = 0; i < e->count; i++) {
		free(e->msg[i]);
		free(e->file_[i]);
	}
	config_errors_init(e);
}

void config_errors_print(const config_errors_t *e, FILE *f)
{
	for (size_t i = 0; i < e->count; i++)
		fprintf(f, "%s\n", e->msg[i]);
	if (e->dropped)
		fprintf(f, "keeper: %zu more errors not shown\n", e->dropped);
}

static void errors_add(config_errors_t *e, const char *file, unsigned line,
		       const char *text)
{
	size_t n = strlen(file) + strlen(text) + 16;
	char *msg, *f;

	if (!e)
		return;
	if (e->count == CONFIG_MAX_ERRORS) {
		e->dropped++;
		return;
	}
	msg = malloc(n);
	f = strdup(file);
	if (!msg || !f) {
		free(msg);
		free(f);
		e->dropped++;
		return;
	}
	if (line)
		snprintf(msg, n, "%s:%u: %s", file, line, text);
	else
		snprintf(msg, n, "%s: %s", file, text);
	e->msg[e->count] = msg;
	e->file_[e->count] = f;
	e->line_[e->count] = line;
	e->seq_[e->count] = e->count + e->dropped;
	e->count++;
}

/* Main file first, then the included files by name; by line within a file;
 * discovery order within a line. */
static int errors_before(const config_errors_t *e, size_t a, size_t b,
			 const char *main_path)
{
	int am = strcmp(e->file_[a], main_path) != 0;
	int bm = strcmp(e->file_[b], main_path) != 0;
	int c;

	if (am != bm)
		return am < bm;
	c = strcmp(e->file_[a], e->file_[b]);
	if (c)
		return c < 0;
	if (e->line_[a] != e->line_[b])
		return e->line_[a] < e->line_[b];
	return e->seq_[a] < e->seq_[b];
}

static void errors_sort(config_errors_t *e, size_t from, const char *main_path)
{
	/* Insertion sort: at most CONFIG_MAX_ERRORS entries, and stable. */
	for (size_t i = from + 1; i < e->count; i++) {
		for (size_t j = i; j > from && errors_before(e, j, j - 1, main_path); j--) {
			char *m = e->msg[j], *f = e->file_[j];
			unsigned l = e->line_[j];
			size_t s = e->seq_[j];
			e->msg[j] = e->msg[j - 1];
			e->file_[j] = e->file_[j - 1];
			e->line_[j] = e->line_[j - 1];
			e->seq_[j] = e->seq_[j - 1];
			e->msg[j - 1] = m;
			e->file_[j - 1] = f;
			e->line_[j - 1] = l;
			e->seq_[j - 1] = s;
		}
	}
}

/* ---- loader state ----------------------------------------------------- */

struct mem {
	struct mem *next;
	max_align_t data[];
};

typedef struct {
	config_keeper_t *cfg;
	config_errors_t *errs;
	const char *path;
	char incdir[CONFIG_PATH_MAX + 1]; /* "dir/" of path, or "" */
	/* @include file names as libconfig records them, and as the operator
	 * can open them (libconfig keeps the name without incdir) */
	const char *src_raw[MAX_SOURCES];
	const char *src_shown[MAX_SOURCES];
	size_t nsrc;
	size_t nerr;        /* errors found, kept or not */
	bool nomem;
	/* lines whose integer literal libconfig truncated (already reported) */
	const char *bad_file[MAX_BAD_LINES];
	unsigned bad_line[MAX_BAD_LINES];
	size_t nbad;
	/* the mutable views of cfg's arrays while they are filled */
	config_feed_t *feeds;
	config_watch_t *watch;
	config_trigger_t *triggers;
	config_action_t *actions;
	config_gas_t *gas;
} ld_t;

static void *ld_alloc(ld_t *ld, size_t n)
{
	struct mem *m = calloc(1, sizeof *m + n);

	if (!m) {
		ld->nomem = true;
		return NULL;
	}
	m->next = ld->cfg->mem_;
	ld->cfg->mem_ = m;
	return m->data;
}

static const char *ld_strdup(ld_t *ld, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = ld_alloc(ld, n);

	if (d)
		memcpy(d, s, n);
	return d;
}

static void ld_verr(ld_t *ld, const char *file, unsigned line, const char *ctx,
		    const char *fmt, va_list ap)
{
	char text[1024];
	int n = 0;

	if (ctx && ctx[0])
		n = snprintf(text, sizeof text, "%s: ", ctx);
	vsnprintf(text + n, sizeof text - (size_t)n, fmt, ap);
	errors_add(ld->errs, file, line ? line : 1, text);
	ld->nerr++;
}

/* The name to print (and open) for a file libconfig names raw. */
static const char *shown_file(ld_t *ld, const char *raw)
{
	size_t n;
	char *p;

	if (!raw)
		return ld->path;
	if (strcmp(raw, ld->path) == 0 || raw[0] == '/' || !ld->incdir[0])
		return raw;
	for (size_t i = 0; i < ld->nsrc; i++) {
		if (strcmp(ld->src_raw[i], raw) == 0)
			return ld->src_shown[i];
	}
	n = strlen(ld->incdir) + strlen(raw) + 1;
	p = ld_alloc(ld, n);
	if (!p)
		return raw;
	snprintf(p, n, "%s%s", ld->incdir, raw);
	if (ld->nsrc < MAX_SOURCES) {
		ld->src_raw[ld->nsrc] = raw;
		ld->src_shown[ld->nsrc] = p;
		ld->nsrc++;
	}
	return p;
}

/* An error about setting s (its file and line). */
static void err_at(ld_t *ld, const config_setting_t *s, const char *ctx,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void err_at(ld_t *ld, const config_setting_t *s, const char *ctx,
		   const char *fmt, ...)
{
	const char *file = s ? config_setting_source_file(s) : NULL;
	unsigned line = s ? config_setting_source_line(s) : 0;
	va_list ap;

	va_start(ap, fmt);
	ld_verr(ld, shown_file(ld, file), line, ctx, fmt, ap);
	va_end(ap);
}

/*
 * true for a setting on a line where scan_literals() found an integer that
 * libconfig mangled: its value is garbage and already reported, so a range
 * error on it would only confuse.  (Another integer on the same line goes
 * unchecked until the file is fixed; the file fails either way.)
 */
static bool is_bad_line(const ld_t *ld, const config_setting_t *s)
{
	const char *file = config_setting_source_file(s);
	unsigned line = config_setting_source_line(s);

	for (size_t i = 0; i < ld->nbad; i++) {
		if (ld->bad_line[i] == line && file && strcmp(ld->bad_file[i], file) == 0)
			return true;
	}
	return false;
}

/* ---- small text checks ------------------------------------------------ */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[CONFIG_NAME_MAX + 2];

	if (la > CONFIG_NAME_MAX || lb > CONFIG_NAME_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_NAME_MAX || !is_name_char(s[0]) ||
	    s[0] == '_' || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_name_char(s[i]))
			return false;
	}
	return true;
}

static bool has_ctl_or_space(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
			return true;
	}
	return false;
}

/* "1..65535" */
static bool port_ok(const char *s, size_t n)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* host[:port] or [v6][:port]; NULL if fine, else what is wrong. */
static const char *hostport_check(const char *s, size_t n, bool port_required)
{
	const char *colon;

	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		size_t rest;
		if (!close || close == s + 1)
			return "has a malformed [IPv6] host";
		rest = n - (size_t)(close + 1 - s);
		if (rest == 0)
			return port_required ? "has no :port" : NULL;
		if (close[1] != ':' || !port_ok(close + 2, rest - 1))
			return "has a bad port (1..65535)";
		return NULL;
	}
	colon = NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ':')
			colon = s + i;
	}
	if (!colon)
		return n == 0 ? "has no host" : (port_required ? "has no :port" : NULL);
	if (colon == s)
		return "has no host";
	if (!port_ok(colon + 1, n - (size_t)(colon + 1 - s)))
		return "has a bad port (1..65535)";
	return NULL;
}

/*
 * scheme://[user@]host[:port][/path…]: NULL if the URL is well formed and
 * its scheme is one of the two given (case-insensitive), else the reason.
 */
static const char *url_check(const char *u, const char *s1, const char *s2,
			     bool *bad_scheme)
{
	const char *sep = strstr(u, "://"), *auth, *end, *at;
	size_t slen;

	*bad_scheme = false;
	if (has_ctl_or_space(u))
		return "contains a space or control character";
	if (!sep || sep == u)
		return "is not a URL (scheme://host…)";
	slen = (size_t)(sep - u);
	if (!((strlen(s1) == slen && strncasecmp(u, s1, slen) == 0) ||
	      (strlen(s2) == slen && strncasecmp(u, s2, slen) == 0))) {
		*bad_scheme = true;
		return "has the wrong scheme";
	}
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	at = NULL;
	for (const char *p = auth; p < end; p++) {
		if (*p == '@')
			at = p;
	}
	if (at)
		auth = at + 1;
	return hostport_check(auth, (size_t)(end - auth), false);
}

/* JSON dot path: NULL if fine, else the reason. */
static const char *jpath_check(const char *s)
{
	size_t n = strlen(s), segs = 1, seglen = 0;

	if (n == 0)
		return "is empty";
	if (n > CONFIG_JPATH_MAX)
		return "is too long";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (seglen == 0)
				return "has an empty segment";
			segs++;
			seglen = 0;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\')
			return "contains a space, quote or non-ASCII character";
		seglen++;
	}
	if (seglen == 0)
		return "has an empty segment";
	if (segs > CONFIG_JPATH_DEPTH)
		return "has more than 8 segments";
	return NULL;
}

static void abi_type_text(const abi_type_t *t, char *out, size_t cap)
{
	switch (t->kind) {
	case ABI_ADDRESS: snprintf(out, cap, "address"); return;
	case ABI_BOOL: snprintf(out, cap, "bool"); return;
	case ABI_UINT: snprintf(out, cap, "uint%u", t->bits); return;
	case ABI_INT: snprintf(out, cap, "int%u", t->bits); return;
	case ABI_BYTES_FIXED: snprintf(out, cap, "bytes%u", t->bits / 8); return;
	}
	snprintf(out, cap, "?");
}

/* ---- value readers ---------------------------------------------------- */

/* Setting's key for messages ("args[2]" for list elements is built by the
 * caller into what). */
static const char *key_of(const config_setting_t *s)
{
	const char *n = config_setting_name(s);
	return n ? n : "value";
}

static config_setting_t *need(ld_t *ld, config_setting_t *grp, const char *ctx,
			      const char *key)
{
	config_setting_t *s = config_setting_get_member(grp, key);

	if (!s)
		err_at(ld, grp, ctx, "missing required key \"%s\"", key);
	return s;
}

/* A string of 1..max characters, copied into the config.  what names it in
 * messages (NULL: the setting's key). */
static const char *read_str(ld_t *ld, const char *ctx, config_setting_t *s,
			    const char *what, size_t max)
{
	const char *v;
	size_t n;

	if (!what)
		what = key_of(s);
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		err_at(ld, s, ctx, "%s must be a string", what);
		return NULL;
	}
	v = config_setting_get_string(s);
	n = strlen(v);
	if (n == 0) {
		err_at(ld, s, ctx, "%s must not be empty", what);
		return NULL;
	}
	if (n > max) {
		err_at(ld, s, ctx, "%s is %zu characters long; the limit is %zu",
		       what, n, max);
		return NULL;
	}
	return ld_strdup(ld, v);
}

/* A bound as written in the docs: integers in full (chain ids exceed %g's
 * default precision), fractions shortest. */
static void bound_text(char *out, size_t cap, double v)
{
	if (v == floor(v) && fabs(v) < 1e17)
		snprintf(out, cap, "%.0f", v);
	else
		snprintf(out, cap, "%.15g", v);
}

static void range_text(char *out, size_t cap, double min, double max,
		       bool minx, bool maxx)
{
	char lo[32], hi[32];

	bound_text(lo, sizeof lo, min);
	bound_text(hi, sizeof hi, max);
	snprintf(out, cap, "%s %s and %s %s", minx ? ">" : ">=", lo,
		 maxx ? "<" : "<=", hi);
}

static bool in_range(double v, double min, double max, bool minx, bool maxx)
{
	if (minx ? !(v > min) : !(v >= min))
		return false;
	return maxx ? v < max : v <= max;
}

/* An integer setting (plain or L) within [min, max] (min exclusive if
 * minx).  Integers only: 60000.0 for a millisecond count is a mistake. */
static bool read_int(ld_t *ld, const char *ctx, config_setting_t *s,
		     const char *what, double min, double max, bool minx,
		     const char *why, uint64_t *out)
{
	long long v;
	char r[96];

	if (!what)
		what = key_of(s);
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		err_at(ld, s, ctx, "%s must be an integer", what);
		return false;
	}
	if (is_bad_line(ld, s))
		return false; /* truncated literal, reported by the scan */
	v = config_setting_get_int64(s);
	if (!in_range((double)v, min, max, minx, false)) {
		range_text(r, sizeof r, min, max, minx, false);
		err_at(ld, s, ctx, "%s must be %s, got %lld%s%s", what, r, v,
		       why ? " " : "", why ? why : "");
		return false;
	}
	*out = (uint64_t)v;
	return true;
}

static bool read_num(ld_t *ld, const char *ctx, config_setting_t *s,
		     const char *what, double min, double max, bool minx,
		     bool maxx, const char *why, double *out)
{
	double v;
	char r[96];

	if (!what)
		what = key_of(s);
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		if (is_bad_line(ld, s))
			return false;
		v = (double)config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(s);
		break;
	default:
		err_at(ld, s, ctx, "%s must be a number", what);
		return false;
	}
	if (!isfinite(v) || !in_range(v, min, max, minx, maxx)) {
		range_text(r, sizeof r, min, max, minx, maxx);
		err_at(ld, s, ctx, "%s must be %s, got %.15g%s%s", what, r, v,
		       why ? " " : "", why ? why : "");
		return false;
	}
	*out = v;
	return true;
}

static bool read_bool(ld_t *ld, const char *ctx, config_setting_t *s, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		err_at(ld, s, ctx, "%s must be true or false", key_of(s));
		return false;
	}
	*out = config_setting_get_bool(s) != 0;
	return true;
}

/* One of a fixed set of words; returns its index or -1. */
static int read_enum(ld_t *ld, const char *ctx, config_setting_t *s,
		     const char *const *words, size_t n)
{
	const char *v;
	char list[128] = "";

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		err_at(ld, s, ctx, "%s must be a string", key_of(s));
		return -1;
	}
	v = config_setting_get_string(s);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v, words[i]) == 0)
			return (int)i;
		if (i)
			strncat(list, i + 1 == n ? " or " : ", ",
				sizeof list - strlen(list) - 1);
		strncat(list, words[i], sizeof list - strlen(list) - 1);
	}
	err_at(ld, s, ctx, "%s \"%.64s\" must be %s", key_of(s), v, list);
	return -1;
}

/* A URL with one of two schemes. */
static const char *read_url(ld_t *ld, const char *ctx, config_setting_t *s,
			    const char *what, const char *s1, const char *s2)
{
	const char *u = read_str(ld, ctx, s, what, CONFIG_URL_MAX), *why;
	bool bad_scheme;

	if (!u)
		return NULL;
	if (!what)
		what = key_of(s);
	why = url_check(u, s1, s2, &bad_scheme);
	if (bad_scheme) {
		err_at(ld, s, ctx, "%s \"%s\" must start with %s:// or %s://",
		       what, u, s1, s2);
		return NULL;
	}
	if (why) {
		err_at(ld, s, ctx, "%s \"%s\" %s", what, u, why);
		return NULL;
	}
	return u;
}

static void addr_error(ld_t *ld, const char *ctx, config_setting_t *s,
		       const char *what, const char *v, kerr_t err)
{
	switch (err) {
	case KERR_ADDR_CHECKSUM:
		err_at(ld, s, ctx, "%s \"%s\" fails its EIP-55 checksum (mixed "
		       "case must be the checksum; check the address for a typo)",
		       what, v);
		break;
	case KERR_HEX_CHAR:
		err_at(ld, s, ctx, "%s \"%s\" contains a character that is not a "
		       "hex digit", what, v);
		break;
	default:
		err_at(ld, s, ctx, "%s \"%.80s\" must be 0x followed by 40 hex "
		       "digits", what, v);
		break;
	}
}

static bool read_addr(ld_t *ld, const char *ctx, config_setting_t *s,
		      const char *what, addr_t *out)
{
	const char *v;
	kerr_t err;

	if (!what)
		what = key_of(s);
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		err_at(ld, s, ctx, "%s must be a string \"0x…\"", what);
		return false;
	}
	v = config_setting_get_string(s);
	err = addr_parse(out, v, strlen(v));
	if (err) {
		addr_error(ld, ctx, s, what, v, err);
		return false;
	}
	return true;
}

static bool is_list(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_LIST ||
	       config_setting_type(s) == CONFIG_TYPE_ARRAY;
}

/* A list of distinct addresses, at most max. */
static bool read_addr_list(ld_t *ld, const char *ctx, config_setting_t *s,
			   size_t max, const addr_t **out, size_t *nout)
{
	size_t n;
	addr_t *a;
	bool ok = true;

	if (!is_list(s)) {
		err_at(ld, s, ctx, "%s must be a list of addresses [\"0x…\", …]",
		       key_of(s));
		return false;
	}
	n = (size_t)config_setting_length(s);
	if (n > max) {
		err_at(ld, s, ctx, "%s has %zu entries; the limit is %zu",
		       key_of(s), n, max);
		return false;
	}
	a = ld_alloc(ld, (n ? n : 1) * sizeof *a);
	if (!a)
		return false;
	for (size_t i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		char what[80];
		snprintf(what, sizeof what, "%s[%zu]", key_of(s), i);
		if (!read_addr(ld, ctx, e, what, &a[i])) {
			ok = false;
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			if (addr_eq(&a[i], &a[j])) {
				err_at(ld, e, ctx, "%s repeats %s[%zu]", what,
				       key_of(s), j);
				ok = false;
			}
		}
	}
	*out = a;
	*nout = n;
	return ok;
}

/*
 * A float as the decimal the operator wrote, assuming they wrote at most 15
 * significant digits (DBL_DIG: such a literal survives the trip through a
 * double).  Built from the digits of "%.14e" rather than printf("%.*f"),
 * which would print the double's exact binary value (0.1000000000000000055…)
 * and, above 2^53, digits the operator never wrote.  false when d is not
 * such a decimal.
 */
static bool float_decimal(double d, char *out, size_t cap)
{
	char e[40], dig[16];
	size_t nd = 0, pos = 0;
	int exp10;
	const char *ep;

	snprintf(e, sizeof e, "%.14e", d);
	if (strtod(e, NULL) != d)
		return false;
	for (const char *p = e; *p && *p != 'e'; p++) {
		if (*p >= '0' && *p <= '9')
			dig[nd++] = *p;
	}
	ep = strchr(e, 'e');
	if (!ep || nd == 0)
		return false;
	exp10 = atoi(ep + 1);
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	if (exp10 > 330 || exp10 < -330 || cap < 700)
		return false;
	if (exp10 >= 0) {
		for (int i = 0; i <= exp10 || (size_t)i < nd; i++) {
			if (i == exp10 + 1)
				out[pos++] = '.';
			out[pos++] = (size_t)i < nd ? dig[i] : '0';
		}
	} else {
		out[pos++] = '0';
		out[pos++] = '.';
		for (int i = 0; i < -exp10 - 1; i++)
			out[pos++] = '0';
		for (size_t i = 0; i < nd; i++)
			out[pos++] = dig[i];
	}
	out[pos] = 0;
	return true;
}

/* A fee in gwei (config.h "Fee rule") -> wei, within [min, max] gwei. */
static bool read_gwei(ld_t *ld, const char *ctx, config_setting_t *s,
		      double min, double max, bool minx, u256_t *out)
{
	char text[700], r[96];
	const char *t = text, *what = key_of(s);
	bool neg = false;
	u256_t lim;
	kerr_t err;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		if (is_bad_line(ld, s))
			return false;
		snprintf(text, sizeof text, "%lld",
			 (long long)config_setting_get_int64(s));
		break;
	case CONFIG_TYPE_FLOAT: {
		double d = config_setting_get_float(s);
		if (!isfinite(d)) {
			err_at(ld, s, ctx, "%s must be a finite number", what);
			return false;
		}
		if (d < 0) {
			snprintf(text, sizeof text, "%.15g", d);
			break;
		}
		if (!float_decimal(d, text, sizeof text)) {
			err_at(ld, s, ctx, "%s = %.17g has more than 15 significant "
			       "digits, which a float cannot hold exactly; write it "
			       "as a quoted string", what, d);
			return false;
		}
		break;
	}
	case CONFIG_TYPE_STRING:
		t = config_setting_get_string(s);
		if (strlen(t) > 100) {
			err_at(ld, s, ctx, "%s is too long to be a fee", what);
			return false;
		}
		break;
	default:
		err_at(ld, s, ctx, "%s must be a number of gwei (30, 1.5 or \"1.5\")",
		       what);
		return false;
	}
	neg = t[0] == '-';
	range_text(r, sizeof r, min, max, minx, false);
	if (neg) {
		err_at(ld, s, ctx, "%s must be %s, got %s", what, r, t);
		return false;
	}
	err = u256_from_gwei(out, t, strlen(t));
	if (err == KERR_NUM_RANGE) {
		err_at(ld, s, ctx, "%s = %s has more than 9 decimals (finer than "
		       "1 wei)", what, t);
		return false;
	}
	if (err == KERR_NUM_OVERFLOW) {
		err_at(ld, s, ctx, "%s must be %s, got %s", what, r, t);
		return false;
	}
	if (err) {
		err_at(ld, s, ctx, "%s \"%s\" is not a number of gwei", what, t);
		return false;
	}
	u256_from_u64(&lim, (uint64_t)max);
	if (u256_mul_u64(&lim, &lim, 1000000000u) != KERR_OK ||
	    u256_cmp(out, &lim) > 0 || (minx && u256_is_zero(out))) {
		err_at(ld, s, ctx, "%s must be %s, got %s", what, r, t);
		return false;
	}
	return true;
}

/* Non-negative integer or quoted decimal / 0x text, up to 256 bits. */
static bool read_amount(ld_t *ld, const char *ctx, config_setting_t *s,
			u256_t *out)
{
	const char *v;
	long long i;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		if (is_bad_line(ld, s))
			return false;
		i = config_setting_get_int64(s);
		if (i < 0) {
			err_at(ld, s, ctx, "%s must be >= 0, got %lld", key_of(s), i);
			return false;
		}
		u256_from_u64(out, (uint64_t)i);
		return true;
	case CONFIG_TYPE_STRING:
		v = config_setting_get_string(s);
		if (u256_parse(out, v, strlen(v)) != KERR_OK) {
			err_at(ld, s, ctx, "%s \"%.80s\" must be a non-negative "
			       "decimal or 0x integer below 2^256", key_of(s), v);
			return false;
		}
		return true;
	default:
		err_at(ld, s, ctx, "%s must be an integer, or quoted decimal or 0x "
		       "text for large amounts", key_of(s));
		return false;
	}
}

/* ---- unknown keys ----------------------------------------------------- */

static bool in_words(const char *k, const char *const *words)
{
	for (; words && *words; words++) {
		if (strcmp(k, *words) == 0)
			return true;
	}
	return false;
}

typedef struct pspec pspec_t;
static bool in_specs(const char *k, const pspec_t *specs);
static const char *closest_spec(const char *k, const pspec_t *specs,
				size_t *best);

/*
 * Every member of grp must be one of words or specs.  A typo gets the
 * nearest allowed key as a suggestion: `treshold_pct` silently ignored would
 * leave a trigger that can never trip.
 */
static void check_keys(ld_t *ld, config_setting_t *grp, const char *ctx,
		       const char *const *words, const pspec_t *specs_a,
		       const pspec_t *specs_b, const char *kind)
{
	int n = config_setting_length(grp);

	for (int i = 0; i < n; i++) {
		config_setting_t *m = config_setting_get_elem(grp, (unsigned)i);
		const char *k = config_setting_name(m), *sugg = NULL, *s2;
		size_t best = 3;  /* suggest at edit distance <= 2 ... */

		if (!k || in_words(k, words) || in_specs(k, specs_a) ||
		    in_specs(k, specs_b))
			continue;
		for (const char *const *w = words; w && *w; w++) {
			size_t d = edit_distance(k, *w);
			if (d < best) {
				best = d;
				sugg = *w;
			}
		}
		if ((s2 = closest_spec(k, specs_a, &best)))
			sugg = s2;
		if ((s2 = closest_spec(k, specs_b, &best)))
			sugg = s2;
		/* ... when the key is long enough for that to mean a typo ("x" is
		 * not a misspelt "id") */
		if (sugg && best * 3 > strlen(k))
			sugg = NULL;
		if (sugg)
			err_at(ld, m, ctx, "unknown key \"%s\" (did you mean \"%s\"?)",
			       k, sugg);
		else if (kind)
			err_at(ld, m, ctx, "unknown key \"%s\" for %s", k, kind);
		else
			err_at(ld, m, ctx, "unknown key \"%s\"", k);
	}
}

/* ---- names ------------------------------------------------------------ */

/*
 * The entry's name: stored even when malformed (so references to it do not
 * cascade), reported when malformed or repeated.  names/n: the names so far.
 */
static const char *read_name(ld_t *ld, config_setting_t *grp, const char *ctx,
			     const char *list, const char *const *names,
			     const int *lines, size_t n)
{
	config_setting_t *s = need(ld, grp, ctx, "name");
	const char *v;

	if (!s)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		err_at(ld, s, ctx, "name must be a string");
		return NULL;
	}
	v = config_setting_get_string(s);
	if (!name_ok(v)) {
		err_at(ld, s, ctx, "name \"%.80s\" must be 1..%d characters of "
		       "A-Z a-z 0-9 _ . - starting with a letter or digit",
		       v, CONFIG_NAME_MAX);
	}
	for (size_t i = 0; i < n; i++) {
		if (names[i] && strcmp(names[i], v) == 0) {
			err_at(ld, s, ctx, "duplicate %s name \"%.80s\" (first at "
			       "line %d)", list, v, lines[i]);
			break;
		}
	}
	return ld_strdup(ld, v);
}

/* "trigger \"x\"" or "triggers[3]" */
static void entry_ctx(char *out, size_t cap, const char *singular,
		      const char *list, size_t i, config_setting_t *grp)
{
	config_setting_t *n = config_setting_get_member(grp, "name");

	if (n && config_setting_type(n) == CONFIG_TYPE_STRING &&
	    name_ok(config_setting_get_string(n)))
		snprintf(out, cap, "%s \"%s\"", singular,
			 config_setting_get_string(n));
	else
		snprintf(out, cap, "%s[%zu]", list, i);
}

/*
 * The list `key` at the top level: NULL when absent (an empty list);
 * reports a wrong type or too many entries (only the first max are read).
 */
static config_setting_t *top_list(ld_t *ld, config_setting_t *root,
				  const char *key, size_t max, size_t *n)
{
	config_setting_t *s = config_setting_get_member(root, key);

	*n = 0;
	if (!s)
		return NULL;
	if (config_setting_type(s) == CONFIG_TYPE_ARRAY &&
	    config_setting_length(s) == 0)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		err_at(ld, s, NULL, "%s must be a list of groups: %s = ( { … }, "
		       "{ … } );", key, key);
		return NULL;
	}
	*n = (size_t)config_setting_length(s);
	if (*n > max) {
		err_at(ld, s, NULL, "%s has %zu entries; the limit is %zu", key,
		       *n, max);
		*n = max;
	}
	return s;
}

static config_setting_t *list_group(ld_t *ld, config_setting_t *list, size_t i)
{
	config_setting_t *g = config_setting_get_elem(list, (unsigned)i);

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		err_at(ld, g, NULL, "%s[%zu] must be a group { … }",
		       key_of(list), i);
		return NULL;
	}
	return g;
}

/* ---- parameter specs -------------------------------------------------- */

enum ptype {
	PT_FEED,        /* feed name -> const config_feed_t * */
	PT_FEED_PAIR,   /* two distinct feed names -> const config_feed_t *[2] */
	PT_WATCH,       /* watch name -> const config_watch_t * */
	PT_MS,          /* integer milliseconds -> uint64_t */
	PT_COUNT,       /* integer count -> uint64_t */
	PT_NUM,         /* integer or float -> double */
	PT_BOOL,        /* true/false -> bool */
	PT_DIRECTION,   /* "down" | "up" | "both" -> config_direction_t */
	PT_AMOUNT,      /* integer or text, 256 bits -> u256_t */
	PT_SELECTORS,   /* "0x12345678" or "f(address)" list -> uint8_t[][4] */
	PT_ADDRS,       /* list of addresses -> addr_t[] (off_n: count) */
	PT_GWEI,        /* fee -> u256_t wei */
	PT_URL_HTTP,    /* http/https URL -> const char * */
	PT_RELAY_MODE,  /* "bundle" | "private_tx" -> config_relay_mode_t */
};

enum {
	P_REQ = 1,      /* required */
	P_MINX = 2,     /* min is exclusive */
	P_MAXX = 4,     /* max is exclusive */
};

struct pspec {
	const char *key;
	enum ptype type;
	unsigned flags;
	double def;        /* default when absent and not required */
	double min, max;   /* range; max is also the entry limit of lists */
	size_t off, off_n; /* where the value (and a list's count) goes */
	const char *why;   /* appended to a range error */
};

static bool in_specs(const char *k, const pspec_t *specs)
{
	for (; specs && specs->key; specs++) {
		if (strcmp(k, specs->key) == 0)
			return true;
	}
	return false;
}

static const char *closest_spec(const char *k, const pspec_t *specs,
				size_t *best)
{
	const char *sugg = NULL;

	for (; specs && specs->key; specs++) {
		size_t d = edit_distance(k, specs->key);
		if (d < *best) {
			*best = d;
			sugg = specs->key;
		}
	}
	return sugg;
}

#define DAY_MS 86400000.0
#define MS_MAX (30 * DAY_MS)

#define TO(f) offsetof(config_trigger_t, f)
#define GO(f) offsetof(config_gas_t, f)

/* Keys every trigger has besides its kind's. */
static const char *const trigger_words[] = { "name", "kind", "action", NULL };
static const pspec_t trigger_common[] = {
	{ .key = "confirm_ms", .type = PT_MS, .max = DAY_MS, .off = TO(confirm_ms) },
	{ .key = "confirm_ticks", .type = PT_COUNT, .max = 1000000,
	  .off = TO(confirm_ticks) },
	{ .key = "cooldown_ms", .type = PT_MS, .def = 60000, .max = MS_MAX,
	  .off = TO(cooldown_ms) },
	{ .key = NULL },
};

static const pspec_t p_price_move[] = {
	{ .key = "feed", .type = PT_FEED, .flags = P_REQ, .off = TO(feed) },
	{ .key = "window_ms", .type = PT_MS, .flags = P_REQ | P_MINX, .max = MS_MAX,
	  .off = TO(window_ms) },
	{ .key = "threshold_pct", .type = PT_NUM, .flags = P_REQ | P_MINX,
	  .max = 1000, .off = TO(threshold_pct) },
	{ .key = "direction", .type = PT_DIRECTION, .def = CONFIG_DIR_BOTH,
	  .off = TO(direction) },
	{ .key = NULL },
};

static const pspec_t p_ewma_vol[] = {
	{ .key = "feed", .type = PT_FEED, .flags = P_REQ, .off = TO(feed) },
	{ .key = "lambda", .type = PT_NUM, .flags = P_MINX | P_MAXX, .def = 0.94,
	  .max = 1, .off = TO(lambda) },
	{ .key = "threshold_pct", .type = PT_NUM, .flags = P_REQ | P_MINX,
	  .max = 1000, .off = TO(threshold_pct) },
	{ .key = "warmup", .type = PT_COUNT, .flags = P_REQ, .min = 1,
	  .max = 1000000, .off = TO(warmup) },
	{ .key = NULL },
};

static const pspec_t p_deviation[] = {
	{ .key = "feeds", .type = PT_FEED_PAIR, .flags = P_REQ, .off = TO(feeds) },
	{ .key = "threshold_pct", .type = PT_NUM, .flags = P_REQ | P_MINX,
	  .max = 1000, .off = TO(threshold_pct) },
	{ .key = "max_age_ms", .type = PT_MS, .flags = P_REQ | P_MINX,
	  .max = MS_MAX, .off = TO(max_age_ms) },
	{ .key = NULL },
};

static const pspec_t p_depeg[] = {
	{ .key = "feed", .type = PT_FEED, .flags = P_REQ, .off = TO(feed) },
	{ .key = "peg", .type = PT_NUM, .flags = P_REQ | P_MINX, .max = 1e12,
	  .off = TO(peg) },
	{ .key = "threshold_pct", .type = PT_NUM, .flags = P_REQ | P_MINX | P_MAXX,
	  .max = 100, .off = TO(threshold_pct) },
	{ .key = "direction", .type = PT_DIRECTION, .flags = P_REQ,
	  .off = TO(direction) },
	{ .key = "hold_ms", .type = PT_MS, .def = 0, .max = MS_MAX,
	  .off = TO(hold_ms) },
	{ .key = NULL },
};

static const pspec_t p_stale[] = {
	{ .key = "feed", .type = PT_FEED, .flags = P_REQ, .off = TO(feed) },
	{ .key = "after_ms", .type = PT_MS, .flags = P_REQ | P_MINX, .max = MS_MAX,
	  .off = TO(after_ms) },
	{ .key = NULL },
};

static const pspec_t p_outflow[] = {
	{ .key = "watch", .type = PT_WATCH, .flags = P_REQ, .off = TO(watch) },
	{ .key = "window_ms", .type = PT_MS, .flags = P_REQ | P_MINX, .max = MS_MAX,
	  .off = TO(window_ms) },
	{ .key = "threshold_pct", .type = PT_NUM, .flags = P_REQ | P_MINX,
	  .max = 100, .off = TO(threshold_pct) },
	{ .key = "min_amount", .type = PT_AMOUNT, .off = TO(min_amount) },
	{ .key = NULL },
};

static const pspec_t p_mempool[] = {
	{ .key = "watch", .type = PT_WATCH, .flags = P_REQ, .off = TO(watch) },
	{ .key = "selectors", .type = PT_SELECTORS, .max = CONFIG_MAX_SELECTORS,
	  .off = TO(selectors), .off_n = TO(nselectors) },
	{ .key = "allow", .type = PT_ADDRS, .max = CONFIG_MAX_ALLOW,
	  .off = TO(allow), .off_n = TO(nallow) },
	{ .key = "simulate", .type = PT_BOOL, .def = 0, .off = TO(simulate) },
	{ .key = "threshold_pct", .type = PT_NUM, .flags = P_REQ | P_MINX,
	  .max = 100, .off = TO(threshold_pct) },
	{ .key = NULL },
};

static const struct {
	const char *name;
	const pspec_t *params;
} trigger_kinds[CONFIG_TRIGGER_KINDS] = {
	[CONFIG_TRIGGER_PRICE_MOVE] = { "price_move", p_price_move },
	[CONFIG_TRIGGER_EWMA_VOL] = { "ewma_vol", p_ewma_vol },
	[CONFIG_TRIGGER_DEVIATION] = { "deviation", p_deviation },
	[CONFIG_TRIGGER_DEPEG] = { "depeg", p_depeg },
	[CONFIG_TRIGGER_STALE] = { "stale", p_stale },
	[CONFIG_TRIGGER_OUTFLOW] = { "outflow", p_outflow },
	[CONFIG_TRIGGER_MEMPOOL] = { "mempool", p_mempool },
};

#define GWEI_MAX 1000000.0

static const char *const gas_words[] = { "name", "strategy", NULL };
static const pspec_t gas_common[] = {
	{ .key = "max_fee_gwei", .type = PT_GWEI, .flags = P_REQ | P_MINX,
	  .max = GWEI_MAX, .off = GO(max_fee) },
	{ .key = NULL },
};

static const pspec_t g_fixed[] = {
	{ .key = "priority_fee_gwei", .type = PT_GWEI, .flags = P_REQ,
	  .max = GWEI_MAX, .off = GO(priority_fee) },
	{ .key = NULL },
};

static const pspec_t g_eip1559[] = {
	{ .key = "base_multiplier", .type = PT_NUM, .def = 2.0, .min = 1, .max = 10,
	  .off = GO(base_multiplier) },
	{ .key = "priority_percentile", .type = PT_NUM, .def = 50, .min = 0,
	  .max = 100, .off = GO(priority_percentile) },
	{ .key = "priority_fee_gwei", .type = PT_GWEI, .flags = P_REQ,
	  .max = GWEI_MAX, .off = GO(priority_fee) },
	{ .key = NULL },
};

static const pspec_t g_outbid[] = {
	{ .key = "bump_pct", .type = PT_NUM, .flags = P_MINX, .def = 12.5,
	  .max = 1000, .off = GO(bump_pct) },
	{ .key = NULL },
};

static const pspec_t g_escalate[] = {
	{ .key = "bump_pct", .type = PT_NUM, .def = 12.5, .min = 10, .max = 1000,
	  .off = GO(bump_pct),
	  .why = "(nodes refuse a replacement that raises fees by less than 10%)" },
	{ .key = "every_ms", .type = PT_MS, .def = 0, .max = 3600000,
	  .off = GO(every_ms) },
	{ .key = NULL },
};

static const pspec_t g_private[] = {
	{ .key = "relay", .type = PT_URL_HTTP, .flags = P_REQ, .off = GO(relay) },
	{ .key = "mode", .type = PT_RELAY_MODE, .flags = P_REQ, .off = GO(mode) },
	{ .key = "also_public", .type = PT_BOOL, .def = 0, .off = GO(also_public) },
	{ .key = NULL },
};

static const struct {
	const char *name;
	const pspec_t *params;
} gas_strategies[CONFIG_GAS_STRATEGIES] = {
	[CONFIG_GAS_FIXED] = { "fixed", g_fixed },
	[CONFIG_GAS_EIP1559] = { "eip1559", g_eip1559 },
	[CONFIG_GAS_OUTBID] = { "outbid", g_outbid },
	[CONFIG_GAS_ESCALATE] = { "escalate", g_escalate },
	[CONFIG_GAS_PRIVATE] = { "private", g_private },
};

static const char *const direction_words[] = { "both", "down", "up" };
static const char *const relay_mode_words[] = { "bundle", "private_tx" };

const char *config_trigger_kind_name(config_trigger_kind_t kind)
{
	return (unsigned)kind < CONFIG_TRIGGER_KINDS ? trigger_kinds[kind].name : "?";
}

const char *config_gas_strategy_name(config_gas_strategy_t strategy)
{
	return (unsigned)strategy < CONFIG_GAS_STRATEGIES ?
	       gas_strategies[strategy].name : "?";
}

const char *config_direction_name(config_direction_t dir)
{
	return (unsigned)dir < 3 ? direction_words[dir] : "?";
}

static const config_feed_t *find_feed(const ld_t *ld, const char *name)
{
	for (size_t i = 0; i < ld->cfg->nfeeds; i++) {
		if (ld->feeds[i].name && strcmp(ld->feeds[i].name, name) == 0)
			return &ld->feeds[i];
	}
	return NULL;
}

static const config_watch_t *find_watch(const ld_t *ld, const char *name)
{
	for (size_t i = 0; i < ld->cfg->nwatch; i++) {
		if (ld->watch[i].name && strcmp(ld->watch[i].name, name) == 0)
			return &ld->watch[i];
	}
	return NULL;
}

static bool read_feed_ref(ld_t *ld, const char *ctx, config_setting_t *s,
			  const char *what, const config_feed_t **out)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		err_at(ld, s, ctx, "%s must be the name of a feed", what);
		return false;
	}
	v = config_setting_get_string(s);
	*out = find_feed(ld, v);
	if (!*out) {
		err_at(ld, s, ctx, "feed \"%.80s\" is not defined in feeds", v);
		return false;
	}
	return true;
}

static void read_feed_pair(ld_t *ld, const char *ctx, config_setting_t *s,
			   const config_feed_t **out)
{
	size_t n;
	bool ok = true;

	if (!is_list(s)) {
		err_at(ld, s, ctx, "feeds must be a list of two feed names "
		       "[\"a\", \"b\"]");
		return;
	}
	n = (size_t)config_setting_length(s);
	if (n != 2) {
		err_at(ld, s, ctx, "feeds must name exactly two feeds, got %zu", n);
		return;
	}
	for (size_t i = 0; i < 2; i++) {
		char what[32];
		snprintf(what, sizeof what, "feeds[%zu]", i);
		ok &= read_feed_ref(ld, ctx, config_setting_get_elem(s, (unsigned)i),
				    what, &out[i]);
	}
	if (ok && out[0] == out[1])
		err_at(ld, s, ctx, "feeds lists \"%s\" twice; a deviation compares "
		       "two different feeds", out[0]->name);
}

static void read_selectors(ld_t *ld, const char *ctx, config_setting_t *s,
			   const pspec_t *p, void *base)
{
	size_t n;
	uint8_t (*sel)[4];

	if (!is_list(s)) {
		err_at(ld, s, ctx, "selectors must be a list of \"0x12345678\" or "
		       "\"name(type,…)\" strings");
		return;
	}
	n = (size_t)config_setting_length(s);
	if (n > (size_t)p->max) {
		err_at(ld, s, ctx, "selectors has %zu entries; the limit is %.0f",
		       n, p->max);
		return;
	}
	sel = ld_alloc(ld, (n ? n : 1) * sizeof *sel);
	if (!sel)
		return;
	for (size_t i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v;
		abi_sig_t sig;
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			err_at(ld, e, ctx, "selectors[%zu] must be a string", i);
			continue;
		}
		v = config_setting_get_string(e);
		if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
			if (hex_decode_exact(sel[i], 4, v, strlen(v)) != KERR_OK)
				err_at(ld, e, ctx, "selectors[%zu] \"%.80s\" must be 0x "
				       "followed by 8 hex digits", i, v);
		} else if (abi_sig_parse(&sig, v, strlen(v)) == KERR_OK) {
			memcpy(sel[i], sig.selector, 4);
		} else {
			err_at(ld, e, ctx, "selectors[%zu] \"%.80s\" must be a 4-byte "
			       "selector \"0x12345678\" or a signature with static "
			       "types such as \"withdraw(uint256)\"", i, v);
		}
	}
	memcpy((char *)base + p->off, &sel, sizeof sel);
	memcpy((char *)base + p->off_n, &n, sizeof n);
}

/* Read every spec of the table from grp into base (a trigger or gas). */
static void read_params(ld_t *ld, config_setting_t *grp, const char *ctx,
			const pspec_t *specs, void *base)
{
	for (const pspec_t *p = specs; p->key; p++) {
		config_setting_t *s = config_setting_get_member(grp, p->key);
		char *dst = (char *)base + p->off;
		bool minx = p->flags & P_MINX, maxx = p->flags & P_MAXX;

		if (!s) {
			if (p->flags & P_REQ) {
				err_at(ld, grp, ctx, "missing required key \"%s\"",
				       p->key);
				continue;
			}
			switch (p->type) {
			case PT_MS:
			case PT_COUNT: {
				uint64_t v = (uint64_t)p->def;
				memcpy(dst, &v, sizeof v);
				break;
			}
			case PT_NUM:
				memcpy(dst, &p->def, sizeof p->def);
				break;
			case PT_BOOL: {
				bool v = p->def != 0;
				memcpy(dst, &v, sizeof v);
				break;
			}
			case PT_DIRECTION: {
				config_direction_t v = (config_direction_t)p->def;
				memcpy(dst, &v, sizeof v);
				break;
			}
			default:
				break; /* zero / NULL from calloc */
			}
			continue;
		}
		switch (p->type) {
		case PT_FEED: {
			const config_feed_t *f;
			if (read_feed_ref(ld, ctx, s, p->key, &f))
				memcpy(dst, &f, sizeof f);
			break;
		}
		case PT_FEED_PAIR:
			read_feed_pair(ld, ctx, s, (const config_feed_t **)(void *)dst);
			break;
		case PT_WATCH: {
			const config_watch_t *w;
			const char *v;
			if (config_setting_type(s) != CONFIG_TYPE_STRING) {
				err_at(ld, s, ctx, "%s must be the name of a watch entry",
				       p->key);
				break;
			}
			v = config_setting_get_string(s);
			w = find_watch(ld, v);
			if (!w)
				err_at(ld, s, ctx, "watch \"%.80s\" is not defined in "
				       "watch", v);
			else
				memcpy(dst, &w, sizeof w);
			break;
		}
		case PT_MS:
		case PT_COUNT: {
			uint64_t v;
			if (read_int(ld, ctx, s, NULL, p->min, p->max, minx, p->why, &v))
				memcpy(dst, &v, sizeof v);
			break;
		}
		case PT_NUM: {
			double v;
			if (read_num(ld, ctx, s, NULL, p->min, p->max, minx, maxx,
				     p->why, &v))
				memcpy(dst, &v, sizeof v);
			break;
		}
		case PT_BOOL: {
			bool v;
			if (read_bool(ld, ctx, s, &v))
				memcpy(dst, &v, sizeof v);
			break;
		}
		case PT_DIRECTION: {
			int v = read_enum(ld, ctx, s, direction_words, 3);
			if (v >= 0) {
				config_direction_t d = (config_direction_t)v;
				memcpy(dst, &d, sizeof d);
			}
			break;
		}
		case PT_RELAY_MODE: {
			int v = read_enum(ld, ctx, s, relay_mode_words, 2);
			if (v >= 0) {
				config_relay_mode_t m = (config_relay_mode_t)v;
				memcpy(dst, &m, sizeof m);
			}
			break;
		}
		case PT_AMOUNT: {
			u256_t v;
			if (read_amount(ld, ctx, s, &v))
				memcpy(dst, &v, sizeof v);
			break;
		}
		case PT_GWEI: {
			u256_t v;
			if (read_gwei(ld, ctx, s, p->min, p->max, minx, &v))
				memcpy(dst, &v, sizeof v);
			break;
		}
		case PT_SELECTORS:
			read_selectors(ld, ctx, s, p, base);
			break;
		case PT_ADDRS: {
			const addr_t *a = NULL;
			size_t n = 0;
			read_addr_list(ld, ctx, s, (size_t)p->max, &a, &n);
			memcpy(dst, &a, sizeof a);
			memcpy((char *)base + p->off_n, &n, sizeof n);
			break;
		}
		case PT_URL_HTTP: {
			const char *u = read_url(ld, ctx, s, NULL, "http", "https");
			if (u)
				memcpy(dst, &u, sizeof u);
			break;
		}
		}
	}
}

/* ---- sections ---------------------------------------------------------- */

static void load_chain(ld_t *ld, config_setting_t *root)
{
	static const char *const words[] = { "id", "ws", "rpc", NULL };
	config_chain_t *c = &ld->cfg->chain;
	config_setting_t *g = config_setting_get_member(root, "chain"), *s;

	if (!g) {
		err_at(ld, root, NULL, "missing required group \"chain\" "
		       "(chain = { id = …; ws = \"…\"; rpc = [ \"…\" ]; };)");
		return;
	}
	c->line = (int)config_setting_source_line(g);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		err_at(ld, g, NULL, "chain must be a group { … }");
		return;
	}
	check_keys(ld, g, "chain", words, NULL, NULL, NULL);
	if ((s = need(ld, g, "chain", "id")))
		read_int(ld, "chain", s, NULL, 0, 4503599627370476.0, true, NULL,
			 &c->id);
	if ((s = need(ld, g, "chain", "ws")))
		c->ws = read_url(ld, "chain", s, NULL, "ws", "wss");
	if ((s = need(ld, g, "chain", "rpc"))) {
		size_t n;
		if (!is_list(s)) {
			err_at(ld, s, "chain", "rpc must be a list of URLs "
			       "[\"https://…\", …]");
			return;
		}
		n = (size_t)config_setting_length(s);
		if (n == 0)
			err_at(ld, s, "chain", "rpc must hold at least one URL");
		if (n > CONFIG_MAX_RPC) {
			err_at(ld, s, "chain", "rpc has %zu URLs; the limit is %d", n,
			       CONFIG_MAX_RPC);
			n = CONFIG_MAX_RPC;
		}
		for (size_t i = 0; i < n; i++) {
			config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			char what[32];
			const char *u;
			snprintf(what, sizeof what, "rpc[%zu]", i);
			u = read_url(ld, "chain", e, what, "http", "https");
			if (!u)
				continue;
			for (size_t j = 0; j < c->nrpc; j++) {
				if (strcmp(c->rpc[j], u) == 0) {
					err_at(ld, e, "chain", "%s repeats \"%s\"", what, u);
					u = NULL;
					break;
				}
			}
			if (u)
				c->rpc[c->nrpc++] = u;
		}
	}
}

static void secret_perms(ld_t *ld, config_setting_t *s, const char *path)
{
	/* A missing file is fine: check may run away from the key's machine. */
	if (signer_check_secret_perms(path) == KERR_KEY_PERMS)
		err_at(ld, s, "signer", "%s \"%s\" is readable by group or others; "
		       "run: chmod 600 %s", key_of(s), path, path);
}

static void load_signer(ld_t *ld, config_setting_t *root)
{
	static const char *const words[] = { "key_file", "keystore",
					     "password_file", NULL };
	config_signer_t *sg = &ld->cfg->signer;
	config_setting_t *g = config_setting_get_member(root, "signer");
	config_setting_t *kf, *ks, *pw;

	if (!g)
		return;
	sg->line = (int)config_setting_source_line(g);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		err_at(ld, g, NULL, "signer must be a group { … }");
		return;
	}
	check_keys(ld, g, "signer", words, NULL, NULL, NULL);
	kf = config_setting_get_member(g, "key_file");
	ks = config_setting_get_member(g, "keystore");
	pw = config_setting_get_member(g, "password_file");
	if (kf && ks) {
		err_at(ld, ks, "signer", "give key_file, or keystore with "
		       "password_file, not both");
		return;
	}
	if (kf) {
		if (pw)
			err_at(ld, pw, "signer", "password_file belongs to keystore, "
			       "not key_file");
		sg->key_file = read_str(ld, "signer", kf, NULL, CONFIG_PATH_MAX);
		if (sg->key_file)
			secret_perms(ld, kf, sg->key_file);
		sg->kind = CONFIG_SIGNER_KEY_FILE;
	} else if (ks) {
		sg->keystore = read_str(ld, "signer", ks, NULL, CONFIG_PATH_MAX);
		if (!pw) {
			err_at(ld, g, "signer", "missing required key "
			       "\"password_file\" (keystore needs it)");
		} else {
			sg->password_file = read_str(ld, "signer", pw, NULL,
						     CONFIG_PATH_MAX);
			if (sg->password_file)
				secret_perms(ld, pw, sg->password_file);
		}
		sg->kind = CONFIG_SIGNER_KEYSTORE;
	} else {
		err_at(ld, g, "signer", "needs key_file, or keystore and "
		       "password_file");
	}
}

static void load_feeds(ld_t *ld, config_setting_t *root)
{
	static const char *const words[] = { "name", "url", "subscribe", "preset",
		"price", "time", "stale_after_ms", NULL };
	static const char *const presets[] = { "trade", "ticker" };
	size_t n;
	config_setting_t *list = top_list(ld, root, "feeds", CONFIG_MAX_FEEDS, &n);
	const char *names[CONFIG_MAX_FEEDS];
	int lines[CONFIG_MAX_FEEDS];

	ld->feeds = ld_alloc(ld, (n ? n : 1) * sizeof *ld->feeds);
	if (!ld->feeds)
		return;
	ld->cfg->feeds = ld->feeds;
	for (size_t i = 0; i < n; i++) {
		config_feed_t *f = &ld->feeds[i];
		config_setting_t *g = list_group(ld, list, i), *s;
		char ctx[96];

		names[i] = NULL;
		lines[i] = 0;
		ld->cfg->nfeeds = i + 1;
		if (!g)
			continue;
		entry_ctx(ctx, sizeof ctx, "feed", "feeds", i, g);
		f->line = lines[i] = (int)config_setting_source_line(g);
		check_keys(ld, g, ctx, words, NULL, NULL, NULL);
		f->name = names[i] = read_name(ld, g, ctx, "feed", names, lines, i);
		if (f->name && strcmp(f->name, "node") == 0)
			err_at(ld, config_setting_get_member(g, "name"), ctx,
			       "the name \"node\" is reserved for the node's events "
			       "in replay files");
		if ((s = need(ld, g, ctx, "url")))
			f->url = read_url(ld, ctx, s, NULL, "ws", "wss");
		if ((s = config_setting_get_member(g, "subscribe")))
			f->subscribe = read_str(ld, ctx, s, NULL, CONFIG_SUBSCRIBE_MAX);
		if ((s = config_setting_get_member(g, "preset"))) {
			int p = read_enum(ld, ctx, s, presets, 2);
			if (p == 0) {
				f->preset = CONFIG_PRESET_TRADE;
				f->price = "p";
				f->time = "T";
				f->match_path = "e";
				f->match_value = "trade";
			} else if (p == 1) {
				f->preset = CONFIG_PRESET_TICKER;
				f->price = "price";
				f->time = "time";
				f->match_path = "type";
				f->match_value = "ticker";
			}
			for (int k = 0; k < 2; k++) {
				const char *key = k ? "time" : "price";
				config_setting_t *x = config_setting_get_member(g, key);
				if (x)
					err_at(ld, x, ctx, "%s cannot be combined with "
					       "preset (the preset sets it)", key);
			}
		} else {
			const char *why;
			if ((s = need(ld, g, ctx, "price")) &&
			    (f->price = read_str(ld, ctx, s, NULL, CONFIG_JPATH_MAX)) &&
			    (why = jpath_check(f->price)))
				err_at(ld, s, ctx, "price \"%s\" is not a dot path: %s",
				       f->price, why);
			if ((s = config_setting_get_member(g, "time")) &&
			    (f->time = read_str(ld, ctx, s, NULL, CONFIG_JPATH_MAX)) &&
			    (why = jpath_check(f->time)))
				err_at(ld, s, ctx, "time \"%s\" is not a dot path: %s",
				       f->time, why);
		}
		if ((s = need(ld, g, ctx, "stale_after_ms")))
			read_int(ld, ctx, s, NULL, 0, MS_MAX, true, NULL,
				 &f->stale_after_ms);
	}
}

static void load_watch(ld_t *ld, config_setting_t *root)
{
	static const char *const words[] = { "name", "address", "tokens", NULL };
	size_t n;
	config_setting_t *list = top_list(ld, root, "watch", CONFIG_MAX_WATCH, &n);
	const char *names[CONFIG_MAX_WATCH];
	int lines[CONFIG_MAX_WATCH];

	ld->watch = ld_alloc(ld, (n ? n : 1) * sizeof *ld->watch);
	if (!ld->watch)
		return;
	ld->cfg->watch = ld->watch;
	for (size_t i = 0; i < n; i++) {
		config_watch_t *w = &ld->watch[i];
		config_setting_t *g = list_group(ld, list, i), *s;
		char ctx[96];

		names[i] = NULL;
		lines[i] = 0;
		ld->cfg->nwatch = i + 1;
		if (!g)
			continue;
		entry_ctx(ctx, sizeof ctx, "watch", "watch", i, g);
		w->line = lines[i] = (int)config_setting_source_line(g);
		check_keys(ld, g, ctx, words, NULL, NULL, NULL);
		w->name = names[i] = read_name(ld, g, ctx, "watch", names, lines, i);
		if ((s = need(ld, g, ctx, "address")) &&
		    read_addr(ld, ctx, s, NULL, &w->address)) {
			static const addr_t zero;
			if (addr_eq(&w->address, &zero))
				err_at(ld, s, ctx, "address must not be the zero address");
		}
		if ((s = config_setting_get_member(g, "tokens")))
			read_addr_list(ld, ctx, s, CONFIG_MAX_TOKENS, &w->tokens,
				       &w->ntokens);
	}
}

static void load_gas(ld_t *ld, config_setting_t *root)
{
	size_t n;
	config_setting_t *list = top_list(ld, root, "gas", CONFIG_MAX_GAS, &n);
	const char *names[CONFIG_MAX_GAS];
	int lines[CONFIG_MAX_GAS];
	const char *sw[CONFIG_GAS_STRATEGIES];

	for (size_t k = 0; k < CONFIG_GAS_STRATEGIES; k++)
		sw[k] = gas_strategies[k].name;
	ld->gas = ld_alloc(ld, (n ? n : 1) * sizeof *ld->gas);
	if (!ld->gas)
		return;
	ld->cfg->gas = ld->gas;
	for (size_t i = 0; i < n; i++) {
		config_gas_t *gs = &ld->gas[i];
		config_setting_t *g = list_group(ld, list, i), *s, *pf;
		char ctx[96], kind[64];
		int k = -1;

		names[i] = NULL;
		lines[i] = 0;
		ld->cfg->ngas = i + 1;
		if (!g)
			continue;
		entry_ctx(ctx, sizeof ctx, "gas", "gas", i, g);
		gs->line = lines[i] = (int)config_setting_source_line(g);
		gs->name = names[i] = read_name(ld, g, ctx, "gas", names, lines, i);
		if ((s = need(ld, g, ctx, "strategy")))
			k = read_enum(ld, ctx, s, sw, CONFIG_GAS_STRATEGIES);
		read_params(ld, g, ctx, gas_common, gs);
		if (k < 0)
			continue; /* its other keys cannot be judged */
		gs->strategy = (config_gas_strategy_t)k;
		snprintf(kind, sizeof kind, "strategy %s", sw[k]);
		check_keys(ld, g, ctx, gas_words, gas_common, gas_strategies[k].params,
			   kind);
		read_params(ld, g, ctx, gas_strategies[k].params, gs);
		pf = config_setting_get_member(g, "priority_fee_gwei");
		if (pf && config_setting_get_member(g, "max_fee_gwei") &&
		    !u256_is_zero(&gs->max_fee) &&
		    u256_cmp(&gs->priority_fee, &gs->max_fee) > 0)
			err_at(ld, pf, ctx, "priority_fee_gwei must not exceed "
			       "max_fee_gwei");
	}
}

/* The trip field named by text ("$amount"), or -1. */
static int arg_field(const char *text, abi_kind_t *need_kind)
{
	static const struct {
		const char *name;
		config_arg_src_t src;
		abi_kind_t kind;
	} fields[] = {
		{ "$account", CONFIG_ARG_ACCOUNT, ABI_ADDRESS },
		{ "$amount", CONFIG_ARG_AMOUNT, ABI_UINT },
		{ "$token", CONFIG_ARG_TOKEN, ABI_ADDRESS },
		{ "$watch", CONFIG_ARG_WATCH, ABI_ADDRESS },
		{ "$sender", CONFIG_ARG_SENDER, ABI_ADDRESS },
	};

	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		if (strcmp(text, fields[i].name) == 0) {
			*need_kind = fields[i].kind;
			return (int)fields[i].src;
		}
	}
	return -1;
}

static bool read_sig(ld_t *ld, const char *ctx, config_setting_t *s,
		     abi_sig_t *sig)
{
	const char *v;
	kerr_t err;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		err_at(ld, s, ctx, "%s must be a string such as \"pause()\"",
		       key_of(s));
		return false;
	}
	v = config_setting_get_string(s);
	err = abi_sig_parse(sig, v, strlen(v));
	switch (err) {
	case KERR_OK:
		return true;
	case KERR_ABI_TYPE:
		err_at(ld, s, ctx, "%s \"%.200s\" has an unsupported argument type: "
		       "only static types (address, bool, uintN, intN, bytesN) "
		       "can be encoded", key_of(s), v);
		return false;
	case KERR_TOO_LONG:
		err_at(ld, s, ctx, "%s \"%.200s\" is too long (at most %d "
		       "characters and %d arguments)", key_of(s), v,
		       ABI_MAX_SIG - 1, ABI_MAX_ARGS);
		return false;
	default:
		err_at(ld, s, ctx, "%s \"%.200s\" is not a Solidity function "
		       "signature such as \"pause()\" or "
		       "\"liquidate(address,uint256)\"", key_of(s), v);
		return false;
	}
}

static void read_args(ld_t *ld, const char *ctx, config_setting_t *g,
		      config_action_t *a, bool call_ok)
{
	config_setting_t *s = config_setting_get_member(g, "args");
	config_arg_t *args;
	size_t n;

	if (!s) {
		if (call_ok && a->call.nargs)
			err_at(ld, g, ctx, "missing required key \"args\" (%s takes "
			       "%zu argument%s)", a->call.canonical, a->call.nargs,
			       a->call.nargs == 1 ? "" : "s");
		return;
	}
	if (!is_list(s)) {
		err_at(ld, s, ctx, "args must be a list [ … ]");
		return;
	}
	n = (size_t)config_setting_length(s);
	if (!call_ok)
		return; /* nothing to check the values against */
	if (n != a->call.nargs) {
		err_at(ld, s, ctx, "args has %zu value%s but %s takes %zu", n,
		       n == 1 ? "" : "s", a->call.canonical, a->call.nargs);
		return;
	}
	args = ld_alloc(ld, (n ? n : 1) * sizeof *args);
	if (!args)
		return;
	for (size_t i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const abi_type_t *t = &a->call.args[i];
		char text[96], tname[16];
		const char *v = text;
		abi_kind_t need_kind;
		int field;
		kerr_t err;

		abi_type_text(t, tname, sizeof tname);
		switch (config_setting_type(e)) {
		case CONFIG_TYPE_STRING:
			v = config_setting_get_string(e);
			break;
		case CONFIG_TYPE_INT:
		case CONFIG_TYPE_INT64:
			if (is_bad_line(ld, e))
				continue;
			snprintf(text, sizeof text, "%lld",
				 (long long)config_setting_get_int64(e));
			break;
		case CONFIG_TYPE_BOOL:
			snprintf(text, sizeof text, "%s",
				 config_setting_get_bool(e) ? "true" : "false");
			break;
		default:
			err_at(ld, e, ctx, "args[%zu] must be a string, an integer or "
			       "true/false", i);
			continue;
		}
		args[i].text = ld_strdup(ld, v);
		if (v[0] == '$') {
			field = arg_field(v, &need_kind);
			if (field < 0) {
				err_at(ld, e, ctx, "args[%zu] \"%.64s\" is not a trip field "
				       "($account, $amount, $token, $watch, $sender)", i, v);
				continue;
			}
			if (need_kind != t->kind) {
				err_at(ld, e, ctx, "args[%zu] %s is %s but %s's argument "
				       "%zu is %s", i, v,
				       need_kind == ABI_ADDRESS ? "an address" : "a uint",
				       a->call.name, i + 1, tname);
				continue;
			}
			args[i].src = (config_arg_src_t)field;
			continue;
		}
		err = abi_encode_arg(t, v, strlen(v), args[i].word);
		if (err)
			err_at(ld, e, ctx, "args[%zu] \"%.80s\" is not a valid %s: %s",
			       i, v, tname, kerr_str(err));
	}
	a->args = args;
	a->nargs = n;
}

static void load_actions(ld_t *ld, config_setting_t *root)
{
	static const char *const words[] = { "name", "to", "call", "args", "guard",
		"gas_limit", "gas", "presign", "notify", NULL };
	size_t n;
	config_setting_t *list = top_list(ld, root, "actions", CONFIG_MAX_ACTIONS, &n);
	const char *names[CONFIG_MAX_ACTIONS];
	int lines[CONFIG_MAX_ACTIONS];

	ld->actions = ld_alloc(ld, (n ? n : 1) * sizeof *ld->actions);
	if (!ld->actions)
		return;
	ld->cfg->actions = ld->actions;
	for (size_t i = 0; i < n; i++) {
		config_action_t *a = &ld->actions[i];
		config_setting_t *g = list_group(ld, list, i), *s;
		char ctx[96];
		bool call_ok = false;

		names[i] = NULL;
		lines[i] = 0;
		ld->cfg->nactions = i + 1;
		if (!g)
			continue;
		entry_ctx(ctx, sizeof ctx, "action", "actions", i, g);
		a->line = lines[i] = (int)config_setting_source_line(g);
		check_keys(ld, g, ctx, words, NULL, NULL, NULL);
		a->name = names[i] = read_name(ld, g, ctx, "action", names, lines, i);
		if ((s = need(ld, g, ctx, "to")) && read_addr(ld, ctx, s, NULL, &a->to)) {
			static const addr_t zero;
			if (addr_eq(&a->to, &zero))
				err_at(ld, s, ctx, "to must not be the zero address");
		}
		if ((s = need(ld, g, ctx, "call")))
			call_ok = read_sig(ld, ctx, s, &a->call);
		read_args(ld, ctx, g, a, call_ok);
		if ((s = config_setting_get_member(g, "guard")) &&
		    read_sig(ld, ctx, s, &a->guard)) {
			if (a->guard.nargs)
				err_at(ld, s, ctx, "guard %s must take no arguments (a "
				       "view such as \"paused()\")", a->guard.canonical);
			else
				a->has_guard = true;
		}
		if ((s = need(ld, g, ctx, "gas_limit")))
			read_int(ld, ctx, s, NULL, 21000, 100000000, false, NULL,
				 &a->gas_limit);
		if ((s = need(ld, g, ctx, "gas"))) {
			if (config_setting_type(s) != CONFIG_TYPE_STRING) {
				err_at(ld, s, ctx, "gas must be the name of a gas strategy");
			} else {
				const char *v = config_setting_get_string(s);
				for (size_t k = 0; k < ld->cfg->ngas; k++) {
					if (ld->gas[k].name && strcmp(ld->gas[k].name, v) == 0)
						a->gas = &ld->gas[k];
				}
				if (!a->gas)
					err_at(ld, s, ctx, "gas strategy \"%.80s\" is not "
					       "defined in gas", v);
			}
		}
		if ((s = config_setting_get_member(g, "presign")))
			read_bool(ld, ctx, s, &a->presign);
		if ((s = config_setting_get_member(g, "notify")))
			a->notify = read_url(ld, ctx, s, NULL, "http", "https");
	}
}

static void load_triggers(ld_t *ld, config_setting_t *root)
{
	size_t n;
	config_setting_t *list = top_list(ld, root, "triggers", CONFIG_MAX_TRIGGERS, &n);
	const char *names[CONFIG_MAX_TRIGGERS], *kw[CONFIG_TRIGGER_KINDS];
	int lines[CONFIG_MAX_TRIGGERS];

	for (size_t k = 0; k < CONFIG_TRIGGER_KINDS; k++)
		kw[k] = trigger_kinds[k].name;
	ld->triggers = ld_alloc(ld, (n ? n : 1) * sizeof *ld->triggers);
	if (!ld->triggers)
		return;
	ld->cfg->triggers = ld->triggers;
	for (size_t i = 0; i < n; i++) {
		config_trigger_t *t = &ld->triggers[i];
		config_setting_t *g = list_group(ld, list, i), *s, *cm, *ct;
		char ctx[96], kind[64];
		int k = -1;

		names[i] = NULL;
		lines[i] = 0;
		ld->cfg->ntriggers = i + 1;
		if (!g)
			continue;
		entry_ctx(ctx, sizeof ctx, "trigger", "triggers", i, g);
		t->line = lines[i] = (int)config_setting_source_line(g);
		t->name = names[i] = read_name(ld, g, ctx, "trigger", names, lines, i);
		if ((s = need(ld, g, ctx, "kind")))
			k = read_enum(ld, ctx, s, kw, CONFIG_TRIGGER_KINDS);
		if ((s = need(ld, g, ctx, "action"))) {
			if (config_setting_type(s) != CONFIG_TYPE_STRING) {
				err_at(ld, s, ctx, "action must be the name of an action");
			} else {
				const char *v = config_setting_get_string(s);
				for (size_t j = 0; j < ld->cfg->nactions; j++) {
					if (ld->actions[j].name &&
					    strcmp(ld->actions[j].name, v) == 0)
						t->action = &ld->actions[j];
				}
				if (!t->action)
					err_at(ld, s, ctx, "action \"%.80s\" is not defined "
					       "in actions", v);
			}
		}
		read_params(ld, g, ctx, trigger_common, t);
		cm = config_setting_get_member(g, "confirm_ms");
		ct = config_setting_get_member(g, "confirm_ticks");
		if (cm && ct)
			err_at(ld, ct, ctx, "confirm_ms and confirm_ticks exclude each "
			       "other; give one");
		if (k < 0)
			continue; /* its other keys cannot be judged */
		t->kind = (config_trigger_kind_t)k;
		snprintf(kind, sizeof kind, "kind %s", kw[k]);
		check_keys(ld, g, ctx, trigger_words, trigger_common,
			   trigger_kinds[k].params, kind);
		read_params(ld, g, ctx, trigger_kinds[k].params, t);
	}
}

static void load_metrics(ld_t *ld, config_setting_t *root)
{
	static const char *const words[] = { "listen", NULL };
	config_setting_t *g = config_setting_get_member(root, "metrics"), *s;
	const char *v, *why;

	if (!g)
		return;
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		err_at(ld, g, NULL, "metrics must be a group { listen = \"…\"; }");
		return;
	}
	check_keys(ld, g, "metrics", words, NULL, NULL, NULL);
	if (!(s = need(ld, g, "metrics", "listen")))
		return;
	v = read_str(ld, "metrics", s, NULL, CONFIG_LISTEN_MAX);
	if (!v)
		return;
	why = has_ctl_or_space(v) ? "contains a space" :
	      hostport_check(v, strlen(v), true);
	if (why)
		err_at(ld, s, "metrics", "listen \"%s\" %s; write host:port such as "
		       "\"127.0.0.1:9464\"", v, why);
	else
		ld->cfg->metrics_listen = v;
}

static void load_log(ld_t *ld, config_setting_t *root)
{
	static const char *const words[] = { "level", "format", NULL };
	static const char *const levels[] = { "debug", "info", "warn", "error" };
	static const char *const formats[] = { "text", "json" };
	config_setting_t *g = config_setting_get_member(root, "log"), *s;

	ld->cfg->log_level = LOGL_INFO;
	ld->cfg->log_format = LOGF_TEXT;
	if (!g)
		return;
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		err_at(ld, g, NULL, "log must be a group { level = \"…\"; }");
		return;
	}
	check_keys(ld, g, "log", words, NULL, NULL, NULL);
	if ((s = config_setting_get_member(g, "level")) &&
	    read_enum(ld, "log", s, levels, 4) >= 0)
		log_level_parse(config_setting_get_string(s), &ld->cfg->log_level);
	if ((s = config_setting_get_member(g, "format")) &&
	    read_enum(ld, "log", s, formats, 2) >= 0)
		log_format_parse(config_setting_get_string(s), &ld->cfg->log_format);
}

/* ---- integer literals libconfig 1.5 truncates -------------------------- */

static void bad_line(ld_t *ld, const char *file, unsigned line)
{
	if (ld->nbad < MAX_BAD_LINES) {
		ld->bad_file[ld->nbad] = file;
		ld->bad_line[ld->nbad] = line;
		ld->nbad++;
	}
}

/*
 * libconfig 1.5 reads a plain integer literal with atoi() (32 bits) and an
 * L literal with strtoll(), and silently truncates or clamps what does not
 * fit.  Re-lex the text (comments, strings and names skipped) and report
 * each literal that would not survive, before its value is used.
 */
static void scan_literals(ld_t *ld, const char *file, const char *t, size_t n)
{
	unsigned line = 1;
	size_t i = 0;

	while (i < n) {
		char c = t[i];
		if (c == '\n') {
			line++;
			i++;
		} else if (c == '#' || (c == '/' && i + 1 < n && t[i + 1] == '/')) {
			while (i < n && t[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < n && t[i + 1] == '*') {
			i += 2;
			while (i < n && !(t[i] == '*' && i + 1 < n && t[i + 1] == '/')) {
				if (t[i] == '\n')
					line++;
				i++;
			}
			i += 2;
		} else if (c == '"') {
			i++;
			while (i < n && t[i] != '"') {
				if (t[i] == '\\' && i + 1 < n)
					i++;
				if (t[i] == '\n')
					line++;
				i++;
			}
			i++;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   c == '*' || c == '@' || c == '_') {
			while (i < n && (is_name_char(t[i]) || t[i] == '*' || t[i] == '@'))
				i++;
		} else if ((c >= '0' && c <= '9') || ((c == '-' || c == '+' || c == '.') &&
			   i + 1 < n && t[i + 1] >= '0' && t[i + 1] <= '9')) {
			size_t start = i, nl = 0;
			bool neg = c == '-', hex = false, flt = false, over = false;
			unsigned long long v = 0;
			if (c == '-' || c == '+')
				i++;
			if (t[i] == '0' && i + 1 < n && (t[i + 1] == 'x' || t[i + 1] == 'X')) {
				hex = true;
				i += 2;
				while (i < n && hex_digit(t[i]) >= 0) {
					if (v >> 60)
						over = true;
					v = v * 16 + (unsigned)hex_digit(t[i]);
					i++;
				}
			} else {
				while (i < n && ((t[i] >= '0' && t[i] <= '9') || t[i] == '.' ||
						 t[i] == 'e' || t[i] == 'E' ||
						 ((t[i] == '-' || t[i] == '+') &&
						  (t[i - 1] == 'e' || t[i - 1] == 'E')))) {
					if (t[i] >= '0' && t[i] <= '9') {
						if (v > (ULLONG_MAX - 9) / 10)
							over = true;
						else
							v = v * 10 + (unsigned)(t[i] - '0');
					} else {
						flt = true;
					}
					i++;
				}
			}
			while (i < n && t[i] == 'L' && nl < 2) {
				nl++;
				i++;
			}
			if (flt)
				continue;
			{
				/* the limits of int (atoi) or long long (strtoll) */
				unsigned long long lim = nl ? (unsigned long long)LLONG_MAX :
							 (unsigned long long)INT_MAX;
				if (neg && !hex)
					lim++;
				if (over || v > lim) {
					char msg[256];
					int len = (int)(i - start);
					if (len > 40)
						len = 40;
					if (nl)
						snprintf(msg, sizeof msg, "integer %.*s does not "
							 "fit in 64 bits; quote it where a text "
							 "number is accepted", len, t + start);
					else
						snprintf(msg, sizeof msg, "integer %.*s does not "
							 "fit in 32 bits and libconfig would "
							 "truncate it; write %.*sL", len, t + start,
							 len, t + start);
					errors_add(ld->errs, shown_file(ld, file),
						   line, msg);
					ld->nerr++;
					bad_line(ld, file, line);
				}
			}
		} else {
			i++;
		}
	}
}

/* Every file that contributed a setting (the config and its @includes). */
static void collect_sources(const config_setting_t *s, const char **files,
			    size_t *n)
{
	const char *f = config_setting_source_file(s);

	if (f) {
		size_t i;
		for (i = 0; i < *n; i++) {
			if (strcmp(files[i], f) == 0)
				break;
		}
		if (i == *n && *n < MAX_SOURCES)
			files[(*n)++] = f;
	}
	if (config_setting_is_aggregate(s)) {
		int len = config_setting_length(s);
		for (int i = 0; i < len; i++)
			collect_sources(config_setting_get_elem(s, (unsigned)i), files, n);
	}
}

static void scan_file(ld_t *ld, const char *raw)
{
	const char *file = shown_file(ld, raw);
	FILE *f = fopen(file, "rb");
	char *buf;
	size_t n;

	if (!f)
		return; /* libconfig just read it; nothing more to learn */
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		ld->nomem = true;
		return;
	}
	n = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
	fclose(f);
	if (n > CONFIG_FILE_MAX) {
		errors_add(ld->errs, file, 1, "file is larger than 1 MiB");
		ld->nerr++;
	} else {
		scan_literals(ld, raw, buf, n);
	}
	free(buf);
}

/* ---- entry points ------------------------------------------------------ */

void config_free(config_keeper_t *cfg)
{
	struct mem *m, *next;

	if (!cfg)
		return;
	for (m = cfg->mem_; m; m = next) {
		next = m->next;
		free(m);
	}
	free(cfg);
}

/* The file itself cannot be read: "FILE: cannot read: why", no line. */
static kerr_t file_error(config_errors_t *errs, const char *path,
			 const char *why)
{
	char text[256];

	snprintf(text, sizeof text, "cannot read: %s", why);
	errors_add(errs, path, 0, text);
	return KERR_IO;
}

kerr_t config_load(const char *path, config_keeper_t **out,
		   config_errors_t *errs)
{
	config_t lc;
	config_keeper_t *cfg;
	config_setting_t *root;
	ld_t ld;
	struct stat st;
	const char *sources[MAX_SOURCES];
	size_t nsources = 0, first = errs ? errs->count : 0;
	static const char *const top_words[] = { "chain", "signer", "feeds",
		"watch", "triggers", "actions", "gas", "metrics", "log",
		"state_file", NULL };

	*out = NULL;
	if (stat(path, &st) != 0)
		return file_error(errs, path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return file_error(errs, path, "is a directory");
	if (st.st_size > CONFIG_FILE_MAX)
		return file_error(errs, path, "larger than 1 MiB");
	cfg = calloc(1, sizeof *cfg);
	if (!cfg)
		return KERR_NOMEM;
	memset(&ld, 0, sizeof ld);
	ld.cfg = cfg;
	ld.errs = errs;
	ld.path = path;

	config_init(&lc);
	/* @include "x.cfg" is relative to the including config's directory. */
	if (strlen(path) <= CONFIG_PATH_MAX) {
		char *slash;
		strcpy(ld.incdir, path);
		slash = strrchr(ld.incdir, '/');
		if (slash)
			slash[1] = 0;
		else
			ld.incdir[0] = 0;
		if (ld.incdir[0])
			config_set_include_dir(&lc, ld.incdir);
	}
	if (!config_read_file(&lc, path)) {
		kerr_t ret = KERR_CONFIG_SYNTAX;
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO) {
			ret = file_error(errs, path, strerror(errno ? errno : EIO));
		} else {
			char text[512];
			const char *f = config_error_file(&lc);
			snprintf(text, sizeof text, "syntax error: %s",
				 config_error_text(&lc));
			errors_add(errs, shown_file(&ld, f),
				   (unsigned)(config_error_line(&lc) > 0 ?
					      config_error_line(&lc) : 1), text);
		}
		config_destroy(&lc);
		config_free(cfg);
		return ret;
	}
	root = config_root_setting(&lc);
	cfg->path = ld_strdup(&ld, path);
	collect_sources(root, sources, &nsources);
	for (size_t i = 0; i < nsources; i++)
		scan_file(&ld, sources[i]);

	check_keys(&ld, root, NULL, top_words, NULL, NULL, NULL);
	load_chain(&ld, root);
	load_signer(&ld, root);
	load_feeds(&ld, root);
	load_watch(&ld, root);
	load_gas(&ld, root);
	load_actions(&ld, root);
	load_triggers(&ld, root);
	load_metrics(&ld, root);
	load_log(&ld, root);
	{
		config_setting_t *s = config_setting_get_member(root, "state_file");
		if (s)
			cfg->state_file = read_str(&ld, NULL, s, NULL, CONFIG_PATH_MAX);
	}
	if (errs)
		errors_sort(errs, first, path);
	config_destroy(&lc);
	if (ld.nomem) {
		config_free(cfg);
		return KERR_NOMEM;
	}
	if (ld.nerr) {
		config_free(cfg);
		return KERR_CONFIG_INVALID;
	}
	*out = cfg;
	return KERR_OK;
}

const config_feed_t *config_feed_find(const config_keeper_t *cfg,
				      const char *name)
{
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		if (strcmp(cfg->feeds[i].name, name) == 0)
			return &cfg->feeds[i];
	}
	return NULL;
}

const config_action_t *config_action_find(const config_keeper_t *cfg,
					  const char *name)
{
	for (size_t i = 0; i < cfg->nactions; i++) {
		if (strcmp(cfg->actions[i].name, name) == 0)
			return &cfg->actions[i];
	}
	return NULL;
}
