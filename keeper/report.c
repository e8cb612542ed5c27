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
	if (st.mempool_unevaluated)
		pf(&b, " \"mempool_not_evaluated\": %llu,\n",
		   (unsigned long long)st.mempool_unevaluated);
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

/* Sized for a 1400-pixel window (the page's margins included) with the
 * first panel, the fee panel and the start of the table in 900 pixels. */
#define SVG_W 1340
#define SVG_L 80       /* left margin: the axis title and y labels */
#define SVG_R 16
#define PANEL_H 300
#define FEE_H 100
#define PANEL_GAP 62   /* title and legend above, time labels below */
#define PLOT_W (SVG_W - SVG_L - SVG_R)
#define LABEL_ROWS 4   /* rows of trip labels before one is left out */

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
		   "<line class=\"tick\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
		   "<text class=\"tl\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
		   x, y0, x, y0 + h, x, y0 + h, x, y0 + h + 4, x, y0 + h + 16, lab);
	}
	pf(b, "<text class=\"axt\" x=\"%d\" y=\"%.1f\">time (UTC)</text>\n", SVG_L + PLOT_W,
	   y0 + h + 30);
}

/* A "nice" tick step for about `ticks` ticks over [lo, hi]. */
static double nice_step(double lo, double hi, int ticks)
{
	double raw = (hi - lo) / ticks, mag, n;

	if (!(raw > 0))
		return 1;
	mag = pow(10, floor(log10(raw)));
	n = raw / mag;
	return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

static void value_axis(buf_t *b, double lo, double hi, double y0, double h,
		       const char *title)
{
	/* A label every 24 px or more. */
	double step = nice_step(lo, hi, (int)(h / 24)), v;
	int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);

	if (dec > 10)
		dec = 10;
	pf(b, "<text class=\"axt\" transform=\"translate(%d %.1f) rotate(-90)\">", 14,
	   y0 + h / 2);
	html_esc(b, title);
	puts_(b, "</text>\n");
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

/* A price's text for a label: enough digits for the scale it is on. */
static void price_text(double v, char out[REPORT_DOUBLE_MAX])
{
	snprintf(out, REPORT_DOUBLE_MAX, "%.*f", fabs(v) >= 100 ? 2 : fabs(v) >= 1 ? 4 : 6, v);
}

/* "+12.5 %" style text of a trip's value in its unit. */
static void value_text(const detect_trip_t *t, char *out, size_t cap)
{
	switch (t->unit) {
	case DETECT_UNIT_PCT:
		snprintf(out, cap, "%.2f %% (threshold %.4g %%)", t->value, t->threshold);
		break;
	case DETECT_UNIT_MS:
		snprintf(out, cap, "%.0f ms silent (threshold %.0f)", t->value, t->threshold);
		break;
	default:
		snprintf(out, cap, "%.4g %s (threshold %.4g)", t->value,
			 detect_unit_name(t->unit), t->threshold);
		break;
	}
}

/*
 * The price a price_move trip needed: threshold_pct off the window's
 * extreme, which the trip's own price and value give back (drop = (max -
 * p) / max, rise = (p - min) / min).  false for other kinds, for direction
 * both (the value does not say which way) and without the trip's price.
 */
static bool move_level(const config_trigger_t *tc, const replay_trip_t *x, double *ref,
		       double *lvl)
{
	if (tc->kind != CONFIG_TRIGGER_PRICE_MOVE || !x->has_price ||
	    tc->direction == CONFIG_DIR_BOTH)
		return false;
	if (tc->direction == CONFIG_DIR_DOWN) {
		if (!(x->trip.value < 100))
			return false;
		*ref = x->price / (1 - x->trip.value / 100);
		*lvl = *ref * (1 - tc->threshold_pct / 100);
	} else {
		*ref = x->price / (1 + x->trip.value / 100);
		*lvl = *ref * (1 + tc->threshold_pct / 100);
	}
	return isfinite(*ref) && isfinite(*lvl);
}

typedef struct {
	double lo, hi, y0, h;
} yscale_t;

static double ypos(const yscale_t *y, double v)
{
	return y->y0 + y->h - (v - y->lo) / (y->hi - y->lo) * y->h;
}

/*
 * Each trip of a trigger on this feed (feed SIZE_MAX: every trip, the
 * fee panel): a vertical line; on a price panel also a dot on the price
 * it tripped at, the level a price_move needed (dashed, over its window,
 * with the window's extreme), and a label "trigger kind time value" in
 * the first of LABEL_ROWS rows where it does not run into the previous
 * label (left out when none is free).
 */
static void trip_marks(buf_t *b, const replay_t *r, const span_t *s, size_t feed,
		       const yscale_t *ys)
{
	const config_keeper_t *cfg = replay_config(r);
	size_t drawn = 0, more = 0;
	double row_end[LABEL_ROWS];

	for (int k = 0; k < LABEL_ROWS; k++)
		row_end[k] = -1e9;
	for (size_t i = 0; i < replay_ntrips(r); i++) {
		const replay_trip_t *x = replay_trip(r, i);
		const config_trigger_t *tc = &cfg->triggers[x->trigger];
		char lab[256], tm[UTC_MAX], val[128];
		const char *when;
		double xp, ref, lvl, w, lx;
		int row;

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
		   xp, ys->y0, xp, ys->y0 + ys->h);
		if (feed == SIZE_MAX)
			continue;
		if (x->has_price && tc->feed == &cfg->feeds[feed])
			pf(b, "<circle class=\"tripdot\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\"/>\n", xp,
			   ypos(ys, x->price));
		if (tc->feed == &cfg->feeds[feed] && move_level(tc, x, &ref, &lvl) &&
		    lvl > ys->lo && lvl < ys->hi) {
			double xs = xpos(s, x->trip.time_ms - (int64_t)tc->window_ms);
			char a[REPORT_DOUBLE_MAX], l[REPORT_DOUBLE_MAX];

			if (xs < SVG_L)
				xs = SVG_L;
			price_text(ref, a);
			price_text(lvl, l);
			snprintf(lab, sizeof lab, "%s threshold %s (%s%.4g %% from %s)", tc->name, l,
				 tc->direction == CONFIG_DIR_DOWN ? "\xe2\x88\x92" : "+",
				 tc->threshold_pct, a);
			w = 6.2 * (double)strlen(lab);
			pf(b, "<line class=\"thr\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
			   xs, ypos(ys, lvl), xp, ypos(ys, lvl));
			/* Over the window's start, on the side of the level
			 * the price came from: the move is at the other end. */
			pf(b, "<text class=\"thrl start\" x=\"%.1f\" y=\"%.1f\">", xs + 2,
			   ypos(ys, lvl) + (tc->direction == CONFIG_DIR_DOWN ? -5 : 14));
			html_esc(b, lab);
			puts_(b, "</text>\n");
		}
		utc_text(x->trip.time_ms, false, true, tm);
		/* The time of day alone on a chart of one day, else the date too. */
		when = s->t1 - s->t0 <= 86400000LL ? tm + 11 : tm;
		value_text(&x->trip, val, sizeof val);
		if (x->has_price && tc->feed == &cfg->feeds[feed]) {
			char px[REPORT_DOUBLE_MAX];

			price_text(x->price, px);
			snprintf(lab, sizeof lab, "%s (%s) %s UTC at %s: %s", tc->name,
				 config_trigger_kind_name(x->trip.kind), when, px, val);
		} else {
			snprintf(lab, sizeof lab, "%s (%s) %s UTC: %s", tc->name,
				 config_trigger_kind_name(x->trip.kind), when, val);
		}
		/* About 6 px a character at 11 px. */
		w = 6.2 * (double)strlen(lab) + 8;
		for (row = 0; row < LABEL_ROWS; row++)
			if (xp + 4 + w <= SVG_L + PLOT_W ? xp > row_end[row] : xp - w > row_end[row])
				break;
		if (row == LABEL_ROWS)
			continue;
		lx = xp + 4 + w <= SVG_L + PLOT_W ? xp + 4 : xp - 4;
		row_end[row] = lx > xp ? xp + 4 + w : xp;
		pf(b, "<rect class=\"labbg\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"15\"/>"
		   "<text class=\"tripl%s\" x=\"%.1f\" y=\"%.1f\">", lx > xp ? lx - 1 : lx - w + 1,
		   ys->y0 + 4 + 17 * row, w - 2, lx > xp ? "" : " end", lx, ys->y0 + 15 + 17 * row);
		html_esc(b, lab);
		puts_(b, "</text>\n");
	}
	if (more)
		pf(b, "<text class=\"note\" x=\"%d\" y=\"%.1f\">%zu more trips not marked</text>\n",
		   SVG_L + PLOT_W - 4, ys->y0 + ys->h - 6, more);
}

/* The legend's entries, in a row right of a panel's title. */
static void legend(buf_t *b, double x, double y, bool thr, bool fee)
{
	pf(b, "<g class=\"legend\">"
	   "<line class=\"price lg\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
	   "<text x=\"%.1f\" y=\"%.1f\">price (each bucket's low and high tick)</text>"
	   "<line class=\"trip lg\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
	   "<circle class=\"tripdot\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\"/>"
	   "<text x=\"%.1f\" y=\"%.1f\">trip (the price it tripped at)</text>",
	   x, y - 4, x + 24, y - 4, x + 30, y,
	   x + 290, y - 11, x + 290, y + 3, x + 290, y - 4, x + 298, y);
	x += 480;
	if (thr) {
		pf(b, "<line class=\"thr lg\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
		   "<text x=\"%.1f\" y=\"%.1f\">threshold (depeg level; price_move: level needed "
		   "over the window)</text>", x, y - 4, x + 24, y - 4, x + 30, y);
		x += 470;
	}
	if (fee)
		pf(b, "<circle class=\"fee\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\"/>"
		   "<text x=\"%.1f\" y=\"%.1f\">would-be max fee</text>", x + 6, y - 4, x + 14, y);
	puts_(b, "</g>\n");
}

/* The series' lowest and highest points, marked and labelled. */
static void extremes(buf_t *b, const span_t *s, const replay_point_t *pt, size_t n,
		     const yscale_t *ys)
{
	size_t lo = 0, hi = 0;

	for (size_t i = 1; i < n; i++) {
		if (pt[i].price < pt[lo].price)
			lo = i;
		if (pt[i].price > pt[hi].price)
			hi = i;
	}
	for (int k = 0; k < 2; k++) {
		const replay_point_t *p = &pt[k ? lo : hi];
		double x = xpos(s, p->t), y = ypos(ys, p->price);
		char v[REPORT_DOUBLE_MAX], tm[UTC_MAX];
		bool right = x < SVG_L + PLOT_W - 200;

		price_text(p->price, v);
		utc_text(p->t, false, true, tm);
		pf(b, "<circle class=\"ext\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>"
		   "<text class=\"extl%s\" x=\"%.1f\" y=\"%.1f\">%s %s at %s</text>\n", x, y,
		   right ? "" : " end", right ? x + 6 : x - 6, k ? y + 14 : y - 6,
		   k ? "low" : "high", v, s->t1 - s->t0 <= 86400000LL ? tm + 11 : tm);
	}
}

static void feed_panel(buf_t *b, const replay_t *r, const span_t *s, size_t f,
		       const replay_point_t *pt, size_t n, double y0)
{
	const config_keeper_t *cfg = replay_config(r);
	double lo = pt[0].price, hi = pt[0].price, pad;
	bool thr = false;
	yscale_t ys;
	char title[CONFIG_NAME_MAX + 16];

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
			thr = true;
		}
	}
	for (size_t i = 0; i < replay_ntrips(r); i++) {
		const replay_trip_t *x = replay_trip(r, i);
		double ref, lvl;

		if (cfg->triggers[x->trigger].feed == &cfg->feeds[f] &&
		    move_level(&cfg->triggers[x->trigger], x, &ref, &lvl))
			thr = true;
	}
	pad = (hi - lo) * 0.08;
	if (!(pad > 0))
		pad = fabs(hi) * 0.01 + 1e-9;
	lo -= pad;
	hi += pad * 2.5;   /* room for the trip labels at the top */
	ys = (yscale_t){ lo, hi, y0, PANEL_H };
	puts_(b, "<g class=\"panel\">\n");
	pf(b, "<text class=\"title\" x=\"%d\" y=\"%.1f\">", SVG_L, y0 - 10);
	html_esc(b, cfg->feeds[f].name);
	pf(b, "</text><text class=\"sub\" x=\"%d\" y=\"%.1f\">%zu points drawn</text>\n",
	   SVG_L + 12 + 9 * (int)strlen(cfg->feeds[f].name), y0 - 10, n);
	legend(b, SVG_L + 260, y0 - 10, thr, false);
	pf(b, "<rect class=\"frame\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\"/>\n",
	   SVG_L, y0, PLOT_W, PANEL_H);
	snprintf(title, sizeof title, "price (%s)", cfg->feeds[f].name);
	value_axis(b, lo, hi, y0, PANEL_H, title);
	time_axis(b, s, y0, PANEL_H);
	for (size_t i = 0; i < cfg->ntriggers; i++) {
		const config_trigger_t *tc = &cfg->triggers[i];
		double lv[2];

		if (tc->feed != &cfg->feeds[f] || !depeg_level(tc, &lv[0], &lv[1]))
			continue;
		for (int k = 0; k < (lv[1] != lv[0] ? 2 : 1); k++) {
			double y = ypos(&ys, lv[k]);
			char d[REPORT_DOUBLE_MAX];

			report_double(lv[k], d);
			pf(b, "<line class=\"thr\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
			   "<text class=\"thrl\" x=\"%d\" y=\"%.1f\">", SVG_L, y, SVG_L + PLOT_W, y,
			   SVG_L + PLOT_W - 4, y - 4);
			html_esc(b, tc->name);
			pf(b, " %s</text><text class=\"thrl\" x=\"%d\" y=\"%.1f\">(%.4g %% off the "
			   "peg %.6g)</text>\n", d, SVG_L + PLOT_W - 4, y + 13, tc->threshold_pct,
			   tc->peg);
		}
	}
	puts_(b, "<polyline class=\"price\" points=\"");
	for (size_t i = 0; i < n; i++)
		pf(b, "%s%.1f,%.1f", i ? " " : "", xpos(s, pt[i].t), ypos(&ys, pt[i].price));
	puts_(b, "\"/>\n");
	extremes(b, s, pt, n, &ys);
	trip_marks(b, r, s, f, &ys);
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
	double hi = 0, label_end = -1e9;
	size_t drawn = 0;
	yscale_t ys;

	for (size_t i = 0; i < replay_ntrips(r); i++) {
		const replay_trip_t *x = replay_trip(r, i);

		if (!x->tx_err)
			hi = fmax(hi, wei_gwei(&x->fees.max_fee));
	}
	if (!(hi > 0))
		hi = 1;
	hi *= 1.25;
	ys = (yscale_t){ 0, hi, y0, FEE_H };
	puts_(b, "<g class=\"panel\">\n");
	pf(b, "<text class=\"title\" x=\"%d\" y=\"%.1f\">would-be max fee per trip</text>\n",
	   SVG_L, y0 - 10);
	pf(b, "<text class=\"sub\" x=\"%d\" y=\"%.1f\">each trip's transaction, fees from its "
	   "gas strategy on the market of the moment (last head, else --gas file)</text>\n",
	   SVG_L + 200, y0 - 10);
	pf(b, "<rect class=\"frame\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\"/>\n",
	   SVG_L, y0, PLOT_W, FEE_H);
	value_axis(b, 0, hi, y0, FEE_H, "gwei");
	time_axis(b, s, y0, FEE_H);
	trip_marks(b, r, s, SIZE_MAX, &ys);
	for (size_t i = 0; i < replay_ntrips(r) && drawn < REPORT_HTML_MAX_MARKS; i++) {
		const replay_trip_t *x = replay_trip(r, i);
		char g[U256_DEC_MAX + 2];
		double xp, y;
		bool right;

		if (x->tx_err || x->trip.time_ms < s->t0 || x->trip.time_ms > s->t1)
			continue;
		drawn++;
		xp = xpos(s, x->trip.time_ms);
		y = ypos(&ys, wei_gwei(&x->fees.max_fee));
		right = xp < SVG_L + PLOT_W - 120;
		report_gwei(&x->fees.max_fee, g, sizeof g);
		pf(b, "<circle class=\"fee\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\"/>\n", xp, y);
		/* A label where the previous one has ended (the table has all). */
		if (xp - 7 - 6.2 * (double)(strlen(g) + 5) <= label_end && !(right && xp > label_end))
			continue;
		label_end = right ? xp + 7 + 6.2 * (double)(strlen(g) + 5) : xp;
		pf(b, "<text class=\"feel%s\" x=\"%.1f\" y=\"%.1f\">%s gwei</text>\n",
		   right ? "" : " end", right ? xp + 7 : xp - 7, y + 4, g);
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
	"h1{font-size:22px;margin:0 0 6px}p.sum{font-size:14px;margin:0 0 8px}"
	"table{border-collapse:collapse;font-size:13px}"
	"td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}"
	"svg{max-width:100%;height:auto}svg text{font-size:11px;fill:#333}"
	".frame{fill:none;stroke:#888}.grid{stroke:#e8e8e8}.tick{stroke:#888}"
	".price{fill:none;stroke:#1f5fbf;stroke-width:1.4}"
	".thr{stroke:#c0392b;stroke-width:1.2;stroke-dasharray:6 4}"
	".thrl{text-anchor:end;fill:#c0392b}.thrl.start{text-anchor:start}"
	".trip{stroke:#e67e22;stroke-width:1.5}.tripdot{fill:#e67e22;stroke:#fff}"
	".tripl{fill:#a04f00;font-weight:bold}.end{text-anchor:end}"
	".labbg{fill:#fff;fill-opacity:0.85}"
	".ext{fill:#1f5fbf}.extl{fill:#1f5fbf}"
	".fee{fill:#8e44ad}.feel{fill:#8e44ad}.tl{text-anchor:middle}.vl{text-anchor:end}"
	".axt{text-anchor:middle;font-size:12px;fill:#555}text.axt[x]{text-anchor:end}"
	".title{font-weight:bold;font-size:13px}.sub{fill:#777}.note{text-anchor:end}"
	".legend text{fill:#444}";

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
	pf(&b, "</h1>\n<p class=\"sum\">%llu events from %s to %s UTC (%lld ms); %llu trips",
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
	   (int)(npanels * (PANEL_H + PANEL_GAP) + FEE_H + 26 + 36), SVG_W,
	   (int)(npanels * (PANEL_H + PANEL_GAP) + FEE_H + 26 + 36));
	y = 26;
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
