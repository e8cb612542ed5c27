/*
 * report: the replay's JSON report and HTML page (formats in report.h).
 *
 * Both are written into one growing buffer with printf-style appends.
 * Determinism comes from what goes in: only the replay's data, times
 * formatted in UTC by hand (no locale, no TZ), doubles through
 * report_double or fixed "%.1f" coordinates, and loops in config or time
 * order.  An append that fails for memory marks the buffer and the whole
 * report fails with KERR_NOMEM, so no half-written file is ever produced.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keeper/report.h"
#include "signer/addr.h"
#include "signer/hex.h"

typedef struct {
	char *p;
	size_t len, cap;
	bool oom;
} buf_t;

static void grow(buf_t *b, size_t more)
{
	size_t nc;
	char *np;

	if (b->oom || b->len + more + 1 <= b->cap)
		return;
	nc = b->cap ? b->cap : 4096;
	while (nc < b->len + more + 1)
		nc *= 2;
	if (!(np = realloc(b->p, nc))) {
		b->oom = true;
		return;
	}
	b->p = np;
	b->cap = nc;
}

static void put(buf_t *b, const char *s, size_t n)
{
	grow(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(buf_t *b, const char *s)
{
	put(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) pf(buf_t *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	grow(b, (size_t)n);
	if (b->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static kerr_t finish(buf_t *b, char **out, size_t *len)
{
	if (b->oom || !b->p) {
		free(b->p);
		*out = NULL;
		*len = 0;
		return KERR_NOMEM;
	}
	*out = b->p;
	*len = b->len;
	return KERR_OK;
}

size_t report_double(double v, char out[REPORT_DOUBLE_MAX])
{
	if (!isfinite(v)) {
		memcpy(out, "null", 5);
		return 4;
	}
	for (int p = 1; p <= 17; p++) {
		snprintf(out, REPORT_DOUBLE_MAX, "%.*g", p, v);
		if (strtod(out, NULL) == v)
			break;
	}
	/* %g writes 20 as "2e+01" when one digit suffices; an integer that a
	 * double holds exactly reads better in full. */
	if (strchr(out, 'e') && fabs(v) >= 1 && fabs(v) < 1e15 && v == floor(v))
		snprintf(out, REPORT_DOUBLE_MAX, "%.0f", v);
	return strlen(out);
}

size_t report_gwei(const u256_t *wei, char *out, size_t cap)
{
	char dec[U256_DEC_MAX];
	size_t n = u256_to_dec(wei, dec, sizeof dec), ip, k = 0;

	if (cap < U256_DEC_MAX + 2) {
		if (cap)
			out[0] = '\0';
		return 0;
	}
	if (n <= 9) {
		out[k++] = '0';
		ip = 0;
	} else {
		ip = n - 9;
		memcpy(out, dec, ip);
		k = ip;
	}
	out[k++] = '.';
	for (size_t z = n; z < 9; z++)
		out[k++] = '0';
	memcpy(out + k, dec + ip, n - ip);
	k += n - ip;
	while (out[k - 1] == '0')
		k--;
	if (out[k - 1] == '.')
		k--;
	out[k] = '\0';
	return k;
}

/* ---- JSON --------------------------------------------------------------- */

static void json_str(buf_t *b, const char *s)
{
	put(b, "\"", 1);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			pf(b, "\\%c", c);
		else if (c < 0x20)
			pf(b, "\\u%04x", c);
		else
			put(b, (const char *)&c, 1);
	}
	put(b, "\"", 1);
}

static void json_num(buf_t *b, double v)
{
	char d[REPORT_DOUBLE_MAX];

	put(b, d, report_double(v, d));
}

static void json_hex(buf_t *b, const uint8_t *p, size_t n)
{
	char tmp[2 * 64 + 1];

	put(b, "\"0x", 3);
	while (n) {
		size_t k = n > 64 ? 64 : n;

		hex_encode(tmp, p, k);
		put(b, tmp, 2 * k);
		p += k;
		n -= k;
	}
	put(b, "\"", 1);
}

static void json_u256(buf_t *b, const u256_t *v)
{
	char d[U256_DEC_MAX];

	put(b, "\"", 1);
	put(b, d, u256_to_dec(v, d, sizeof d));
	put(b, "\"", 1);
}

static void json_addr(buf_t *b, const addr_t *a)
{
	char t[ADDR_TEXT_LEN];

	addr_to_checksum(a, t);
	json_str(b, t);
}

static const char *tx_error_text(const replay_trip_t *x)
{
	return kerr_str(x->tx_err);
}

static void json_trip(buf_t *b, const replay_trip_t *x)
{
	const detect_trip_t *t = &x->trip;

	pf(b, "{\"t\": %lld, \"trigger\": ", (long long)t->time_ms);
	json_str(b, t->trigger);
	puts_(b, ", \"kind\": ");
	json_str(b, config_trigger_kind_name(t->kind));
	puts_(b, ", \"value\": ");
	json_num(b, t->value);
	puts_(b, ", \"threshold\": ");
	json_num(b, t->threshold);
	puts_(b, ", \"unit\": ");
	json_str(b, detect_unit_name(t->unit));
	puts_(b, ", \"action\": ");
	if (x->action)
		json_str(b, x->action->name);
	else
		puts_(b, "null");
	if (t->has_account) {
		puts_(b, ", \"account\": ");
		json_addr(b, &t->account);
	}
	if (t->has_amount) {
		puts_(b, ", \"amount\": ");
		json_u256(b, &t->amount);
	}
	if (t->has_token) {
		puts_(b, ", \"token\": ");
		json_addr(b, &t->token);
	}
	if (t->has_tx) {
		puts_(b, ", \"cause_tx\": ");
		json_hex(b, t->tx_hash, 32);
	}
	if (x->tx_err) {
		puts_(b, ", \"tx\": null, \"tx_error\": ");
		if (x->tx_missing) {
			char m[160];

			snprintf(m, sizeof m, "%s: %s", tx_error_text(x), x->tx_missing);
			json_str(b, m);
		} else {
			json_str(b, tx_error_text(x));
		}
		puts_(b, "}");
		return;
	}
	puts_(b, ", \"tx\": {\"to\": ");
	json_addr(b, &x->action->to);
	puts_(b, ", \"data\": ");
	json_hex(b, x->data, x->data_len);
	pf(b, ", \"nonce\": %llu, \"gas\": %llu, \"max_fee\": ",
	   (unsigned long long)x->nonce, (unsigned long long)x->gas);
	json_u256(b, &x->fees.max_fee);
	puts_(b, ", \"priority_fee\": ");
	json_u256(b, &x->fees.priority_fee);
	puts_(b, ", \"market\": ");
	json_str(b, replay_market_name(x->market));
	pf(b, ", \"capped\": %s", x->capped ? "true" : "false");
	if (x->has_raw) {
		puts_(b, ", \"raw\": ");
		json_hex(b, x->raw, x->raw_len);
		puts_(b, ", \"hash\": ");
		json_hex(b, x->tx_hash, 32);
	}
	puts_(b, "}}");
}

kerr_t report_json(const replay_t *r, char **out, size_t *len)
{
	const config_keeper_t *cfg = replay_config(r);
	replay_stats_t st;
	buf_t b = { 0 };
	size_t n = replay_ntrips(r);
	bool first = true;

	replay_stats(r, &st);
	pf(&b, "{\"events\": %llu, \"duration_ms\": %lld,\n \"trips\": [",
	   (unsigned long long)st.events,
	   (long long)(st.first_t >= 0 ? st.last_t - st.first_t : 0));
	for (size_t i = 0; i < n; i++) {
		puts_(&b, i ? ",\n  " : "\n  ");
		json_trip(&b, replay_trip(r, i));
	}
	puts_(&b, n ? "\n ],\n" : "],\n");
	if (st.trips_dropped)
		pf(&b, " \"trips_dropped\": %llu,\n", (unsigned long long)st.trips_dropped);
	puts_(&b, " \"by_trigger\": {");
	for (size_t i = 0; cfg && i < cfg->ntriggers; i++) {
		if (i)
			puts_(&b, ", ");
		json_str(&b, cfg->triggers[i].name);
		pf(&b, ": %llu", (unsigned long long)replay_trigger_trips(r, i));
	}
	puts_(&b, "},\n \"bad_lines\": {");
	for (unsigned k = 1; k < REPLAY_BAD_KINDS; k++) {
		if (!st.bad_by[k])
			continue;
		if (!first)
			puts_(&b, ", ");
		first = false;
		json_str(&b, replay_bad_name(k));
		pf(&b, ": %llu", (unsigned long long)st.bad_by[k]);
	}
	puts_(&b, "}}\n");
	return finish(&b, out, len);
}

/* ---- HTML --------------------------------------------------------------- */

#define SVG_W 1000
#define SVG_L 80       /* left margin: y labels */
#define SVG_R 20
#define PANEL_H 240
#define FEE_H 130
#define PANEL_GAP 56   /* title above, time labels below */
#define PLOT_W (SVG_W - SVG_L - SVG_R)

static void html_esc(buf_t *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': puts_(b, "&lt;"); break;
		case '>': puts_(b, "&gt;"); break;
		case '&': puts_(b, "&amp;"); break;
		case '"': puts_(b, "&quot;"); break;
		case '\'': puts_(b, "&#39;"); break;
		default: put(b, s, 1); break;
		}
	}
}

/* "YYYY-MM-DD HH:MM:SS" (UTC) or, with date_only, "YYYY-MM-DD". */
#define UTC_MAX 80

static void utc_text(int64_t ms, bool date_only, bool minutes, char out[UTC_MAX])
{
	time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;

	if (!gmtime_r(&s, &tm)) {
		snprintf(out, UTC_MAX, "%lld", (long long)ms);
		return;
	}
	if (date_only)
		snprintf(out, UTC_MAX, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	else if (minutes)
		snprintf(out, UTC_MAX, "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
	else
		snprintf(out, UTC_MAX, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

typedef struct {
	int64_t t0, t1;
} span_t;

static double xpos(const span_t *s, int64_t t)
{
	return SVG_L + (double)(t - s->t0) / (double)(s->t1 - s->t0) * PLOT_W;
}

static void time_axis(buf_t *b, const span_t *s, double y0, double h)
{
	static const int64_t steps[] = {
		1000, 5000, 15000, 60000, 300000, 900000, 1800000, 3600000,
		3 * 3600000LL, 6 * 3600000LL, 12 * 3600000LL, 86400000LL,
		2 * 86400000LL, 7 * 86400000LL, 14 * 86400000LL, 30 * 86400000LL,
		61 * 86400000LL, 91 * 86400000LL, 182 * 86400000LL, 365 * 86400000LL,
	};
	int64_t step = steps[sizeof steps / sizeof *steps - 1], t;

	for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
		if ((s->t1 - s->t0) / steps[i] <= 7) {
			step = steps[i];
			break;
		}
	t = s->t0 / step * step;
	if (t < s->t0)
		t += step;
	for (; t <= s->t1; t += step) {
		char lab[UTC_MAX];
		double x = xpos(s, t);

		utc_text(t, step >= 86400000LL, true, lab);
		pf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
		   "<text class=\"tl\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
		   x, y0, x, y0 + h, x, y0 + h + 14, lab);
	}
}

/* A "nice" tick step for about five ticks over [lo, hi]. */
static double nice_step(double lo, double hi)
{
	double raw = (hi - lo) / 5, mag, n;

	if (!(raw > 0))
		return 1;
	mag = pow(10, floor(log10(raw)));
	n = raw / mag;
	return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

static void value_axis(buf_t *b, double lo, double hi, double y0, double h)
{
	double step = nice_step(lo, hi), v;
	int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);

	if (dec > 10)
		dec = 10;
	for (v = ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
		double y = y0 + h - (v - lo) / (hi - lo) * h;

		pf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
		   "<text class=\"vl\" x=\"%d\" y=\"%.1f\">%.*f</text>\n",
		   SVG_L, y, SVG_L + PLOT_W, y, SVG_L - 6, y + 4, dec, v);
	}
}

/* Whether trigger tc concerns feed f (a trigger without a feed concerns
 * every panel). */
static bool trigger_on_feed(const config_keeper_t *cfg, const config_trigger_t *tc,
			    size_t f)
{
	const config_feed_t *fd = &cfg->feeds[f];

	if (!tc->feed && !tc->feeds[0] && !tc->feeds[1])
		return true;
	return tc->feed == fd || tc->feeds[0] == fd || tc->feeds[1] == fd;
}

/* The depeg level of trigger tc (a price), false for other kinds. */
static bool depeg_level(const config_trigger_t *tc, double *lvl, double *lvl2)
{
	if (tc->kind != CONFIG_TRIGGER_DEPEG)
		return false;
	*lvl = tc->peg * (1 - tc->threshold_pct / 100);
	*lvl2 = tc->peg * (1 + tc->threshold_pct / 100);
	if (tc->direction == CONFIG_DIR_UP)
		*lvl = *lvl2;
	if (tc->direction != CONFIG_DIR_BOTH)
		*lvl2 = *lvl;
	return true;
}

static void trip_marks(buf_t *b, const replay_t *r, const span_t *s, size_t feed,
		       double y0, double h)
{
	const config_keeper_t *cfg = replay_config(r);
	size_t drawn = 0, more = 0;
	double last_label = -1e9;

	for (size_t i = 0; i < replay_ntrips(r); i++) {
		const replay_trip_t *x = replay_trip(r, i);
		const config_trigger_t *tc = &cfg->triggers[x->trigger];
		double xp;

		if (feed != SIZE_MAX && !trigger_on_feed(cfg, tc, feed))
			continue;
		if (x->trip.time_ms < s->t0 || x->trip.time_ms > s->t1)
			continue;
		if (drawn == REPORT_HTML_MAX_MARKS) {
			more++;
			continue;
		}
		drawn++;
		xp = xpos(s, x->trip.time_ms);
		pf(b, "<line class=\"trip\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
		   xp, y0, xp, y0 + h);
		if (xp - last_label >= 70) {
			last_label = xp;
			pf(b, "<text class=\"tripl\" x=\"%.1f\" y=\"%.1f\">", xp + 3, y0 + 12);
			html_esc(b, tc->name);
			puts_(b, "</text>\n");
		}
	}
	if (more)
		pf(b, "<text class=\"note\" x=\"%d\" y=\"%.1f\">%zu more trips not marked</text>\n",
		   SVG_L + PLOT_W - 4, y0 + h - 6, more);
}

static void feed_panel(buf_t *b, const replay_t *r, const span_t *s, size_t f,
		       const replay_point_t *pt, size_t n, double y0)
{
	const config_keeper_t *cfg = replay_config(r);
	double lo = pt[0].price, hi = pt[0].price, pad;

	for (size_t i = 1; i < n; i++) {
		if (pt[i].price < lo)
			lo = pt[i].price;
		if (pt[i].price > hi)
			hi = pt[i].price;
	}
	for (size_t i = 0; i < cfg->ntriggers; i++) {
		double l1, l2;

		if (cfg->triggers[i].feed == &cfg->feeds[f] &&
		    depeg_level(&cfg->triggers[i], &l1, &l2)) {
			lo = fmin(lo, fmin(l1, l2));
			hi = fmax(hi, fmax(l1, l2));
		}
	}
	pad = (hi - lo) * 0.05;
	if (!(pad > 0))
		pad = fabs(hi) * 0.01 + 1e-9;
	lo -= pad;
	hi += pad;
	puts_(b, "<g class=\"panel\">\n");
	pf(b, "<text class=\"title\" x=\"%d\" y=\"%.1f\">", SVG_L, y0 - 8);
	html_esc(b, cfg->feeds[f].name);
	pf(b, " (%zu points drawn)</text>\n", n);
	pf(b, "<rect class=\"frame\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\"/>\n",
	   SVG_L, y0, PLOT_W, PANEL_H);
	value_axis(b, lo, hi, y0, PANEL_H);
	time_axis(b, s, y0, PANEL_H);
	for (size_t i = 0; i < cfg->ntriggers; i++) {
		const config_trigger_t *tc = &cfg->triggers[i];
		double lv[2];

		if (tc->feed != &cfg->feeds[f] || !depeg_level(tc, &lv[0], &lv[1]))
			continue;
		for (int k = 0; k < (lv[1] != lv[0] ? 2 : 1); k++) {
			double y = y0 + PANEL_H - (lv[k] - lo) / (hi - lo) * PANEL_H;
			char d[REPORT_DOUBLE_MAX];

			report_double(lv[k], d);
			pf(b, "<line class=\"thr\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
			   "<text class=\"thrl\" x=\"%d\" y=\"%.1f\">", SVG_L, y, SVG_L + PLOT_W, y,
			   SVG_L + PLOT_W - 4, y - 4);
			html_esc(b, tc->name);
			pf(b, " %s</text>\n", d);
		}
	}
	puts_(b, "<polyline class=\"price\" points=\"");
	for (size_t i = 0; i < n; i++)
		pf(b, "%s%.1f,%.1f", i ? " " : "", xpos(s, pt[i].t),
		   y0 + PANEL_H - (pt[i].price - lo) / (hi - lo) * PANEL_H);
	puts_(b, "\"/>\n");
	trip_marks(b, r, s, f, y0, PANEL_H);
	puts_(b, "</g>\n");
}

static double wei_gwei(const u256_t *w)
{
	char g[U256_DEC_MAX + 2];

	report_gwei(w, g, sizeof g);
	return strtod(g, NULL);
}

static void fee_panel(buf_t *b, const replay_t *r, const span_t *s, double y0)
{
	double hi = 0;
	size_t drawn = 0;

	for (size_t i = 0; i < replay_ntrips(r); i++) {
		const replay_trip_t *x = replay_trip(r, i);

		if (!x->tx_err)
			hi = fmax(hi, wei_gwei(&x->fees.max_fee));
	}
	if (!(hi > 0))
		hi = 1;
	hi *= 1.1;
	puts_(b, "<g class=\"panel\">\n");
	pf(b, "<text class=\"title\" x=\"%d\" y=\"%.1f\">would-be max fee per trip (gwei)</text>\n",
	   SVG_L, y0 - 8);
	pf(b, "<rect class=\"frame\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\"/>\n",
	   SVG_L, y0, PLOT_W, FEE_H);
	value_axis(b, 0, hi, y0, FEE_H);
	time_axis(b, s, y0, FEE_H);
	for (size_t i = 0; i < replay_ntrips(r) && drawn < REPORT_HTML_MAX_MARKS; i++) {
		const replay_trip_t *x = replay_trip(r, i);
		double xp, y;

		if (x->tx_err || x->trip.time_ms < s->t0 || x->trip.time_ms > s->t1)
			continue;
		drawn++;
		xp = xpos(s, x->trip.time_ms);
		y = y0 + FEE_H - wei_gwei(&x->fees.max_fee) / hi * FEE_H;
		pf(b, "<line class=\"trip\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
		   "<circle class=\"fee\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>\n",
		   xp, y0, xp, y0 + FEE_H, xp, y);
	}
	puts_(b, "</g>\n");
}

static void trip_table(buf_t *b, const replay_t *r)
{
	size_t n = replay_ntrips(r);

	puts_(b, "<h2>Trips</h2>\n<table>\n<tr><th>time (UTC)</th><th>trigger</th>"
	      "<th>kind</th><th>value</th><th>threshold</th><th>unit</th><th>action</th>"
	      "<th>nonce</th><th>max fee (gwei)</th><th>priority fee (gwei)</th>"
	      "<th>fees from</th></tr>\n");
	for (size_t i = 0; i < n && i < REPORT_HTML_MAX_ROWS; i++) {
		const replay_trip_t *x = replay_trip(r, i);
		char tm[UTC_MAX], v[REPORT_DOUBLE_MAX], th[REPORT_DOUBLE_MAX];
		char mf[U256_DEC_MAX + 2], pr[U256_DEC_MAX + 2];

		utc_text(x->trip.time_ms, false, false, tm);
		report_double(x->trip.value, v);
		report_double(x->trip.threshold, th);
		pf(b, "<tr class=\"trip\"><td>%s.%03lld</td><td>", tm,
		   (long long)(((x->trip.time_ms % 1000) + 1000) % 1000));
		html_esc(b, x->trip.trigger);
		pf(b, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>",
		   config_trigger_kind_name(x->trip.kind), v, th, detect_unit_name(x->trip.unit));
		html_esc(b, x->action ? x->action->name : "");
		if (x->tx_err) {
			puts_(b, "</td><td colspan=\"4\">no transaction: ");
			html_esc(b, kerr_str(x->tx_err));
			if (x->tx_missing) {
				puts_(b, " ");
				html_esc(b, x->tx_missing);
			}
			puts_(b, "</td></tr>\n");
			continue;
		}
		report_gwei(&x->fees.max_fee, mf, sizeof mf);
		report_gwei(&x->fees.priority_fee, pr, sizeof pr);
		pf(b, "</td><td>%llu</td><td>%s%s</td><td>%s</td><td>%s</td></tr>\n",
		   (unsigned long long)x->nonce, mf, x->capped ? " (cap)" : "", pr,
		   replay_market_name(x->market));
	}
	puts_(b, "</table>\n");
	if (n > REPORT_HTML_MAX_ROWS)
		pf(b, "<p>%zu more trips not listed (see the JSON report).</p>\n",
		   n - REPORT_HTML_MAX_ROWS);
}

static const char css[] =
	"body{font-family:sans-serif;margin:20px;color:#222}"
	"table{border-collapse:collapse;font-size:13px}"
	"td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}"
	"svg text{font-size:11px;fill:#333}"
	".frame{fill:none;stroke:#999}.grid{stroke:#eee}"
	".price{fill:none;stroke:#1f5fbf;stroke-width:1.2}"
	".thr{stroke:#c0392b;stroke-dasharray:6 4}.thrl{text-anchor:end;fill:#c0392b}"
	".trip{stroke:#e67e22;stroke-width:1}.tripl{fill:#e67e22}"
	".fee{fill:#8e44ad}.tl{text-anchor:middle}.vl{text-anchor:end}"
	".title{font-weight:bold}.note{text-anchor:end}";

kerr_t report_html(const replay_t *r, const char *title, char **out, size_t *len)
{
	const config_keeper_t *cfg = replay_config(r);
	replay_stats_t st;
	buf_t b = { 0 };
	replay_point_t *pt = NULL;
	size_t cap = 2 * REPLAY_SERIES_BUCKETS, npanels = 0;
	span_t s;
	double y;
	char t0[UTC_MAX], t1[UTC_MAX];

	replay_stats(r, &st);
	s.t0 = st.first_t >= 0 ? st.first_t : 0;
	s.t1 = st.first_t >= 0 ? st.last_t : 0;
	if (s.t1 <= s.t0)
		s.t1 = s.t0 + 1;
	if (!(pt = malloc(cap * sizeof *pt)))
		return KERR_NOMEM;
	for (size_t f = 0; f < cfg->nfeeds; f++)
		if (replay_series(r, f, NULL, 0))
			npanels++;

	puts_(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>keeper replay: ");
	html_esc(&b, title);
	pf(&b, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>keeper replay: ", css);
	html_esc(&b, title);
	utc_text(s.t0, false, false, t0);
	utc_text(st.first_t >= 0 ? st.last_t : s.t0, false, false, t1);
	pf(&b, "</h1>\n<p>%llu events from %s to %s UTC (%lld ms); %llu trips",
	   (unsigned long long)st.events, t0, t1,
	   (long long)(st.first_t >= 0 ? st.last_t - st.first_t : 0),
	   (unsigned long long)st.trips);
	for (size_t i = 0; i < cfg->ntriggers; i++) {
		puts_(&b, i ? ", " : ": ");
		html_esc(&b, cfg->triggers[i].name);
		pf(&b, " %llu", (unsigned long long)replay_trigger_trips(r, i));
	}
	pf(&b, "; %llu bad lines.  Nothing was sent.</p>\n", (unsigned long long)st.bad);

	pf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	   "viewBox=\"0 0 %d %d\">\n", SVG_W,
	   (int)(npanels * (PANEL_H + PANEL_GAP) + FEE_H + PANEL_GAP + 10), SVG_W,
	   (int)(npanels * (PANEL_H + PANEL_GAP) + FEE_H + PANEL_GAP + 10));
	y = 24;
	for (size_t f = 0; f < cfg->nfeeds; f++) {
		size_t n = replay_series(r, f, pt, cap);

		if (!n)
			continue;
		feed_panel(&b, r, &s, f, pt, n, y);
		y += PANEL_H + PANEL_GAP;
	}
	fee_panel(&b, r, &s, y);
	puts_(&b, "</svg>\n");
	trip_table(&b, r);
	puts_(&b, "</body>\n</html>\n");
	free(pt);
	return finish(&b, out, len);
}
