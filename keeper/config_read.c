/*
 * config_read: the config loader's shared readers (see config_read.h).
 *
 * Each reader turns one libconfig setting into a checked value or one
 * precise message at the setting's line; the message names the value and,
 * for a range error, the range as the docs give it, because the operator
 * fixing a config at an incident has only the message to go on.  Readers
 * copy what they keep into the config's own allocations (config_ld_alloc),
 * as libconfig's strings die with its config_t when loading ends.
 */
#include "keeper/config_read.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keeper/config_internal.h"

/* ---- memory and errors ------------------------------------------------ */

void *config_ld_alloc(config_ld_t *ld, size_t n)
{
	struct config_mem *m = calloc(1, sizeof *m + n);

	if (!m) {
		ld->nomem = true;
		return NULL;
	}
	m->next = ld->cfg->mem_;
	ld->cfg->mem_ = m;
	return m->data;
}

const char *config_ld_strdup(config_ld_t *ld, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = config_ld_alloc(ld, n);

	if (d)
		memcpy(d, s, n);
	return d;
}

static void ld_verr(config_ld_t *ld, const char *file, unsigned line,
		    const char *ctx, const char *fmt, va_list ap)
{
	char text[1024];
	int n = 0;

	if (ctx && ctx[0])
		n = snprintf(text, sizeof text, "%s: ", ctx);
	vsnprintf(text + n, sizeof text - (size_t)n, fmt, ap);
	config_errors_add(ld->errs, file, line ? line : 1, text);
	ld->nerr++;
}

/* The name to print (and open) for a file libconfig names raw. */
const char *config_shown_file(config_ld_t *ld, const char *raw)
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
	p = config_ld_alloc(ld, n);
	if (!p)
		return raw;
	snprintf(p, n, "%s%s", ld->incdir, raw);
	if (ld->nsrc < CONFIG_MAX_SOURCES) {
		ld->src_raw[ld->nsrc] = raw;
		ld->src_shown[ld->nsrc] = p;
		ld->nsrc++;
	}
	return p;
}

/* An error about setting s (its file and line). */
void config_err_at(config_ld_t *ld, const config_setting_t *s, const char *ctx,
		   const char *fmt, ...)
{
	const char *file = s ? config_setting_source_file(s) : NULL;
	unsigned line = s ? config_setting_source_line(s) : 0;
	va_list ap;

	va_start(ap, fmt);
	ld_verr(ld, config_shown_file(ld, file), line, ctx, fmt, ap);
	va_end(ap);
}

/*
 * true for a setting on a line where config_scan_sources() found an integer
 * that libconfig mangled: its value is garbage and already reported, so a
 * range error on it would only confuse.  (Another integer on the same line
 * goes unchecked until the file is fixed; the file fails either way.)
 */
bool config_is_bad_line(const config_ld_t *ld, const config_setting_t *s)
{
	const char *file = config_setting_source_file(s);
	unsigned line = config_setting_source_line(s);

	for (size_t i = 0; i < ld->nbad; i++) {
		if (ld->bad_line[i] == line && file && strcmp(ld->bad_file[i], file) == 0)
			return true;
	}
	return false;
}

/* ---- text checks ------------------------------------------------------ */

bool config_is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_NAME_MAX || !config_is_name_char(s[0]) ||
	    s[0] == '_' || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!config_is_name_char(s[i]))
			return false;
	}
	return true;
}

bool config_has_ctl_or_space(const char *s)
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
const char *config_hostport_check(const char *s, size_t n, bool port_required)
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
	if (config_has_ctl_or_space(u))
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
	return config_hostport_check(auth, (size_t)(end - auth), false);
}

/* JSON dot path: NULL if fine, else the reason. */
const char *config_jpath_check(const char *s)
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

/* ---- value readers ---------------------------------------------------- */

/* Setting's key for messages ("args[2]" for list elements is built by the
 * caller into what). */
const char *config_key_of(const config_setting_t *s)
{
	const char *n = config_setting_name(s);
	return n ? n : "value";
}

config_setting_t *config_need(config_ld_t *ld, config_setting_t *grp,
			      const char *ctx, const char *key)
{
	config_setting_t *s = config_setting_get_member(grp, key);

	if (!s)
		config_err_at(ld, grp, ctx, "missing required key \"%s\"", key);
	return s;
}

/* A string of 1..max characters, copied into the config.  what names it in
 * messages (NULL: the setting's key). */
const char *config_read_str(config_ld_t *ld, const char *ctx,
			    config_setting_t *s, const char *what, size_t max)
{
	const char *v;
	size_t n;

	if (!what)
		what = config_key_of(s);
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_err_at(ld, s, ctx, "%s must be a string", what);
		return NULL;
	}
	v = config_setting_get_string(s);
	n = strlen(v);
	if (n == 0) {
		config_err_at(ld, s, ctx, "%s must not be empty", what);
		return NULL;
	}
	if (n > max) {
		config_err_at(ld, s, ctx, "%s is %zu characters long; the limit is %zu",
			      what, n, max);
		return NULL;
	}
	return config_ld_strdup(ld, v);
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
bool config_read_int(config_ld_t *ld, const char *ctx, config_setting_t *s,
		     const char *what, double min, double max, bool minx,
		     const char *why, uint64_t *out)
{
	long long v;
	char r[96];

	if (!what)
		what = config_key_of(s);
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		config_err_at(ld, s, ctx, "%s must be an integer", what);
		return false;
	}
	if (config_is_bad_line(ld, s))
		return false; /* truncated literal, reported by the scan */
	v = config_setting_get_int64(s);
	if (!in_range((double)v, min, max, minx, false)) {
		range_text(r, sizeof r, min, max, minx, false);
		config_err_at(ld, s, ctx, "%s must be %s, got %lld%s%s", what, r, v,
			      why ? " " : "", why ? why : "");
		return false;
	}
	*out = (uint64_t)v;
	return true;
}

bool config_read_num(config_ld_t *ld, const char *ctx, config_setting_t *s,
		     const char *what, double min, double max, bool minx,
		     bool maxx, const char *why, double *out)
{
	double v;
	char r[96];

	if (!what)
		what = config_key_of(s);
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		if (config_is_bad_line(ld, s))
			return false;
		v = (double)config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(s);
		break;
	default:
		config_err_at(ld, s, ctx, "%s must be a number", what);
		return false;
	}
	if (!isfinite(v) || !in_range(v, min, max, minx, maxx)) {
		range_text(r, sizeof r, min, max, minx, maxx);
		config_err_at(ld, s, ctx, "%s must be %s, got %.15g%s%s", what, r, v,
			      why ? " " : "", why ? why : "");
		return false;
	}
	*out = v;
	return true;
}

bool config_read_bool(config_ld_t *ld, const char *ctx, config_setting_t *s,
		      bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		config_err_at(ld, s, ctx, "%s must be true or false", config_key_of(s));
		return false;
	}
	*out = config_setting_get_bool(s) != 0;
	return true;
}

/* One of a fixed set of words; returns its index or -1. */
int config_read_enum(config_ld_t *ld, const char *ctx, config_setting_t *s,
		     const char *const *words, size_t n)
{
	const char *v;
	char list[128] = "";

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_err_at(ld, s, ctx, "%s must be a string", config_key_of(s));
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
	config_err_at(ld, s, ctx, "%s \"%.64s\" must be %s", config_key_of(s), v,
		      list);
	return -1;
}

/* A URL with one of two schemes. */
const char *config_read_url(config_ld_t *ld, const char *ctx,
			    config_setting_t *s, const char *what,
			    const char *s1, const char *s2)
{
	const char *u = config_read_str(ld, ctx, s, what, CONFIG_URL_MAX), *why;
	bool bad_scheme;

	if (!u)
		return NULL;
	if (!what)
		what = config_key_of(s);
	why = url_check(u, s1, s2, &bad_scheme);
	if (bad_scheme) {
		config_err_at(ld, s, ctx, "%s \"%s\" must start with %s:// or %s://",
			      what, u, s1, s2);
		return NULL;
	}
	if (why) {
		config_err_at(ld, s, ctx, "%s \"%s\" %s", what, u, why);
		return NULL;
	}
	return u;
}

static void addr_error(config_ld_t *ld, const char *ctx, config_setting_t *s,
		       const char *what, const char *v, kerr_t err)
{
	switch (err) {
	case KERR_ADDR_CHECKSUM:
		config_err_at(ld, s, ctx, "%s \"%s\" fails its EIP-55 checksum (mixed "
			      "case must be the checksum; check the address for a typo)",
			      what, v);
		break;
	case KERR_HEX_CHAR:
		config_err_at(ld, s, ctx,
			      "%s \"%s\" contains a character that is not a "
			      "hex digit", what, v);
		break;
	default:
		config_err_at(ld, s, ctx, "%s \"%.80s\" must be 0x followed by 40 hex "
			      "digits", what, v);
		break;
	}
}

bool config_read_addr(config_ld_t *ld, const char *ctx, config_setting_t *s,
		      const char *what, addr_t *out)
{
	const char *v;
	kerr_t err;

	if (!what)
		what = config_key_of(s);
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_err_at(ld, s, ctx, "%s must be a string \"0x…\"", what);
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

bool config_is_list(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_LIST ||
	       config_setting_type(s) == CONFIG_TYPE_ARRAY;
}

/* A list of distinct addresses, at most max. */
bool config_read_addr_list(config_ld_t *ld, const char *ctx,
			   config_setting_t *s, size_t max,
			   const addr_t **out, size_t *nout)
{
	size_t n;
	addr_t *a;
	bool ok = true;

	if (!config_is_list(s)) {
		config_err_at(ld, s, ctx, "%s must be a list of addresses [\"0x…\", …]",
			      config_key_of(s));
		return false;
	}
	n = (size_t)config_setting_length(s);
	if (n > max) {
		config_err_at(ld, s, ctx, "%s has %zu entries; the limit is %zu",
			      config_key_of(s), n, max);
		return false;
	}
	a = config_ld_alloc(ld, (n ? n : 1) * sizeof *a);
	if (!a)
		return false;
	for (size_t i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		char what[80];
		snprintf(what, sizeof what, "%s[%zu]", config_key_of(s), i);
		if (!config_read_addr(ld, ctx, e, what, &a[i])) {
			ok = false;
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			if (addr_eq(&a[i], &a[j])) {
				config_err_at(ld, e, ctx, "%s repeats %s[%zu]", what,
					      config_key_of(s), j);
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
bool config_read_gwei(config_ld_t *ld, const char *ctx, config_setting_t *s,
		      double min, double max, bool minx, u256_t *out)
{
	char text[700], r[96];
	const char *t = text, *what = config_key_of(s);
	bool neg = false;
	u256_t lim;
	kerr_t err;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		if (config_is_bad_line(ld, s))
			return false;
		snprintf(text, sizeof text, "%lld",
			 (long long)config_setting_get_int64(s));
		break;
	case CONFIG_TYPE_FLOAT: {
		double d = config_setting_get_float(s);
		if (!isfinite(d)) {
			config_err_at(ld, s, ctx, "%s must be a finite number", what);
			return false;
		}
		if (d < 0) {
			snprintf(text, sizeof text, "%.15g", d);
			break;
		}
		if (!float_decimal(d, text, sizeof text)) {
			config_err_at(ld, s, ctx, "%s = %.17g has more than 15 significant "
				      "digits, which a float cannot hold exactly; write it "
				      "as a quoted string", what, d);
			return false;
		}
		break;
	}
	case CONFIG_TYPE_STRING:
		t = config_setting_get_string(s);
		if (strlen(t) > 100) {
			config_err_at(ld, s, ctx, "%s is too long to be a fee", what);
			return false;
		}
		break;
	default:
		config_err_at(ld, s, ctx,
			      "%s must be a number of gwei (30, 1.5 or \"1.5\")", what);
		return false;
	}
	neg = t[0] == '-';
	range_text(r, sizeof r, min, max, minx, false);
	if (neg) {
		config_err_at(ld, s, ctx, "%s must be %s, got %s", what, r, t);
		return false;
	}
	err = u256_from_gwei(out, t, strlen(t));
	if (err == KERR_NUM_RANGE) {
		config_err_at(ld, s, ctx,
			      "%s = %s has more than 9 decimals (finer than "
			      "1 wei)", what, t);
		return false;
	}
	if (err == KERR_NUM_OVERFLOW) {
		config_err_at(ld, s, ctx, "%s must be %s, got %s", what, r, t);
		return false;
	}
	if (err) {
		config_err_at(ld, s, ctx, "%s \"%s\" is not a number of gwei", what, t);
		return false;
	}
	u256_from_u64(&lim, (uint64_t)max);
	if (u256_mul_u64(&lim, &lim, 1000000000u) != KERR_OK ||
	    u256_cmp(out, &lim) > 0 || (minx && u256_is_zero(out))) {
		config_err_at(ld, s, ctx, "%s must be %s, got %s", what, r, t);
		return false;
	}
	return true;
}

/* Non-negative integer or quoted decimal / 0x text, up to 256 bits. */
bool config_read_amount(config_ld_t *ld, const char *ctx, config_setting_t *s,
			u256_t *out)
{
	const char *v;
	long long i;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		if (config_is_bad_line(ld, s))
			return false;
		i = config_setting_get_int64(s);
		if (i < 0) {
			config_err_at(ld, s, ctx, "%s must be >= 0, got %lld",
				      config_key_of(s), i);
			return false;
		}
		u256_from_u64(out, (uint64_t)i);
		return true;
	case CONFIG_TYPE_STRING:
		v = config_setting_get_string(s);
		if (u256_parse(out, v, strlen(v)) != KERR_OK) {
			config_err_at(ld, s, ctx, "%s \"%.80s\" must be a non-negative "
				      "decimal or 0x integer below 2^256", config_key_of(s), v);
			return false;
		}
		return true;
	default:
		config_err_at(ld, s, ctx,
			      "%s must be an integer, or quoted decimal or 0x "
			      "text for large amounts", config_key_of(s));
		return false;
	}
}

/* ---- names ------------------------------------------------------------ */

/*
 * The entry's name: stored even when malformed (so references to it do not
 * cascade), reported when malformed or repeated.  names/n: the names so far.
 */
const char *config_read_name(config_ld_t *ld, config_setting_t *grp,
			     const char *ctx, const char *list,
			     const char *const *names, const int *lines,
			     size_t n)
{
	config_setting_t *s = config_need(ld, grp, ctx, "name");
	const char *v;

	if (!s)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_err_at(ld, s, ctx, "name must be a string");
		return NULL;
	}
	v = config_setting_get_string(s);
	if (!name_ok(v)) {
		config_err_at(ld, s, ctx, "name \"%.80s\" must be 1..%d characters of "
			      "A-Z a-z 0-9 _ . - starting with a letter or digit",
			      v, CONFIG_NAME_MAX);
	}
	for (size_t i = 0; i < n; i++) {
		if (names[i] && strcmp(names[i], v) == 0) {
			config_err_at(ld, s, ctx, "duplicate %s name \"%.80s\" (first at "
				      "line %d)", list, v, lines[i]);
			break;
		}
	}
	return config_ld_strdup(ld, v);
}

/* "trigger \"x\"" or "triggers[3]" */
void config_entry_ctx(char *out, size_t cap, const char *singular,
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
config_setting_t *config_top_list(config_ld_t *ld, config_setting_t *root,
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
		config_err_at(ld, s, NULL, "%s must be a list of groups: %s = ( { … }, "
			      "{ … } );", key, key);
		return NULL;
	}
	*n = (size_t)config_setting_length(s);
	if (*n > max) {
		config_err_at(ld, s, NULL, "%s has %zu entries; the limit is %zu", key,
			      *n, max);
		*n = max;
	}
	return s;
}

config_setting_t *config_list_group(config_ld_t *ld, config_setting_t *list,
				    size_t i)
{
	config_setting_t *g = config_setting_get_elem(list, (unsigned)i);

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		config_err_at(ld, g, NULL, "%s[%zu] must be a group { … }",
			      config_key_of(list), i);
		return NULL;
	}
	return g;
}
