/*
 * feed_parse: price-feed messages into ticks (see feed_parse.h for the
 * rules).  The message is tokenised once; the discriminator, price and
 * time are then looked up by their dot paths in the tokens.
 */
#include "keeper/feed_parse.h"

#include <stdlib.h>
#include <string.h>

kerr_t feed_parse_init(feed_parser_t *p, size_t max_frame)
{
	kerr_t err;

	memset(p, 0, sizeof *p);
	if (max_frame == 0)
		max_frame = FEED_PARSE_FRAME_DEFAULT;
	if (max_frame > FEED_PARSE_FRAME_HARD)
		return KERR_ARG;
	if ((err = jtok_doc_alloc(&p->doc, max_frame / 8 < 1024 ? 1024 : max_frame / 8)))
		return err;
	p->max_frame = max_frame;
	return KERR_OK;
}

void feed_parse_release(feed_parser_t *p)
{
	jtok_doc_free(&p->doc);
	memset(p, 0, sizeof *p);
}

static kerr_t at(feed_parser_t *p, const char *what, kerr_t err)
{
	if (err)
		p->what = what;
	return err;
}

/* Exactly n decimal digits at s. */
static bool digits(const char *s, size_t n, int *v)
{
	*v = 0;
	for (size_t k = 0; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return false;
		*v = *v * 10 + (s[k] - '0');
	}
	return true;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Leap years among 1 .. y-1 (proleptic Gregorian). */
static int64_t leaps_before(int64_t y)
{
	y--;
	return y / 4 - y / 100 + y / 400;
}

/* Days from 1970-01-01 to y-m-d (y >= 1970, fields already in range). */
static int64_t days_since_epoch(int y, int m, int d)
{
	static const int before_month[12] = { 0, 31, 59, 90, 120, 151, 181,
					      212, 243, 273, 304, 334 };
	int64_t days = 365 * (int64_t)(y - 1970) + leaps_before(y) - leaps_before(1970);
	days += before_month[m - 1] + (m > 2 && is_leap(y)) + d - 1;
	return days;
}

kerr_t feed_parse_iso8601(const char *s, size_t len, int64_t *ms)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, dd, hh, mi, ss, frac = 0, off = 0;
	size_t k = 19;

	if (len < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &dd) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &hh) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
	    s[16] != ':' || !digits(s + 17, 2, &ss))
		return KERR_NUM_CHAR;
	if (s[k] == '.') {
		size_t nd = 0;
		for (k++; k < len && s[k] >= '0' && s[k] <= '9'; k++, nd++)
			if (nd < 3)
				frac = frac * 10 + (s[k] - '0');
		if (nd == 0 || nd > 9)
			return KERR_NUM_CHAR;
		for (; nd < 3; nd++)
			frac *= 10;
	}
	if (k < len && (s[k] == 'Z' || s[k] == 'z'))
		k++;
	else if (k < len && (s[k] == '+' || s[k] == '-')) {
		int oh, om;
		if (len - k != 6 || !digits(s + k + 1, 2, &oh) || s[k + 3] != ':' ||
		    !digits(s + k + 4, 2, &om))
			return KERR_NUM_CHAR;
		if (oh > 23 || om > 59)
			return KERR_NUM_RANGE;
		off = (oh * 60 + om) * (s[k] == '-' ? -1 : 1);
		k += 6;
	} else
		return KERR_NUM_CHAR;
	if (k != len)
		return KERR_NUM_CHAR;
	if (y < 1970 || mo < 1 || mo > 12 || dd < 1 ||
	    dd > mdays[mo - 1] + (mo == 2 && is_leap(y)) || hh > 23 || mi > 59 || ss > 60)
		return KERR_NUM_RANGE;
	/* A leap second (:60) simply counts on into the next minute. */
	*ms = (((days_since_epoch(y, mo, dd) * 24 + hh) * 60 + mi) * 60 + ss) * 1000
	      + frac - (int64_t)off * 60000;
	return KERR_OK;
}

/* A string token of digits only, written without escapes. */
static bool digit_string(const jtok_doc_t *d, size_t i)
{
	jtok_view_t v = jtok_text(d, i);

	if (v.len == 0 || (d->tok[i].flags & JTOK_F_ESCAPED))
		return false;
	for (size_t k = 0; k < v.len; k++)
		if (v.p[k] < '0' || v.p[k] > '9')
			return false;
	return true;
}

/* The source time at token i, in ms since the epoch: a number or digit
 * string of ms, or an ISO-8601 text. */
static kerr_t read_time(const jtok_doc_t *d, size_t i, int64_t *ms)
{
	jtok_type_t type = jtok_type(d, i);
	kerr_t err;

	if (type == JTOK_NUMBER || (type == JTOK_STRING && digit_string(d, i)))
		err = jtok_int64(d, i, ms);
	else if (type != JTOK_STRING)
		return KERR_JSON;
	else if (d->tok[i].flags & JTOK_F_ESCAPED)
		return KERR_NUM_CHAR;   /* no feed escapes a date */
	else
		err = feed_parse_iso8601(jtok_text(d, i).p, jtok_text(d, i).len, ms);
	if (err)
		return err;
	if (*ms < FEED_TIME_MIN_MS || *ms >= FEED_TIME_MAX_MS)
		return KERR_NUM_RANGE;
	return KERR_OK;
}

kerr_t feed_parse_frame(feed_parser_t *p, const config_feed_t *feed,
			uint32_t feed_id, int64_t recv_ms, const char *msg,
			size_t len, feed_result_t *res, event_t *ev)
{
	jtok_doc_t *d = &p->doc;
	size_t i;
	double price;
	int64_t t = recv_ms;
	kerr_t err;

	p->what = NULL;
	if (!feed->price)
		return at(p, "price", KERR_ARG);
	if (feed->match_path && !feed->match_value)
		return at(p, "match", KERR_ARG);
	if (len > p->max_frame)
		return at(p, "frame", KERR_TOO_LONG);
	if ((err = jtok_parse(d, msg, len)))
		return at(p, "frame", err);

	if (feed->match_path) {
		err = jtok_path(d, 0, feed->match_path, strlen(feed->match_path), &i);
		if (err == KERR_NOT_FOUND ||
		    (!err && !jtok_str_eq(d, i, feed->match_value, strlen(feed->match_value)))) {
			*res = FEED_IGNORED;
			return KERR_OK;
		}
		if (err)
			return at(p, "match", err);
	}

	if ((err = jtok_path(d, 0, feed->price, strlen(feed->price), &i)) ||
	    (err = jtok_double(d, i, &price)))
		return at(p, "price", err);
	if (!(price > 0))
		return at(p, "price", KERR_NUM_RANGE);

	if (feed->time &&
	    ((err = jtok_path(d, 0, feed->time, strlen(feed->time), &i)) ||
	     (err = read_time(d, i, &t))))
		return at(p, "time", err);

	memset(ev, 0, sizeof *ev);
	ev->kind = EV_PRICE;
	ev->price.feed = feed_id;
	ev->price.price = price;
	ev->price.time_ms = t;
	ev->price.recv_ms = recv_ms;
	*res = FEED_TICK;
	return KERR_OK;
}
