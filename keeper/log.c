/*
 * log: formatting and writing of log lines (see log.h).  Everything is built
 * in a stack buffer and written once; the JSON form escapes the message so a
 * frame quoted in an error cannot break the collector's parser.
 */
#include "keeper/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static log_level_t min_level = LOGL_INFO;
static log_format_t format = LOGF_TEXT;
static int out_fd = 2;
static log_clock_fn clock_fn;

static const char *const level_names[] = { "debug", "info", "warn", "error" };
static const char *const level_text[] = { "DEBUG", "INFO ", "WARN ", "ERROR" };

void log_setup(log_level_t min, log_format_t fmt)
{
	min_level = min;
	format = fmt;
}

void log_set_fd(int fd)
{
	out_fd = fd;
}

void log_set_clock(log_clock_fn fn)
{
	clock_fn = fn;
}

kerr_t log_level_parse(const char *s, log_level_t *out)
{
	for (size_t i = 0; i < sizeof level_names / sizeof *level_names; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (log_level_t)i;
			return KERR_OK;
		}
	}
	return KERR_NOT_FOUND;
}

kerr_t log_format_parse(const char *s, log_format_t *out)
{
	if (strcmp(s, "text") == 0)
		*out = LOGF_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOGF_JSON;
	else
		return KERR_NOT_FOUND;
	return KERR_OK;
}

int log_enabled(log_level_t level)
{
	return level >= min_level;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fixed-width decimal; written by hand because snprintf cannot prove to the
 * compiler that struct tm fields stay in range. */
static void put_digits(char *p, unsigned v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

size_t log_format_time(int64_t ms, char out[25])
{
	time_t sec = (time_t)(ms / 1000);
	int frac = (int)(ms % 1000);
	struct tm tm;
	if (frac < 0) {
		frac += 1000;
		sec -= 1;
	}
	gmtime_r(&sec, &tm);
	memcpy(out, "0000-00-00T00:00:00.000Z", 25);
	put_digits(out, (unsigned)(tm.tm_year + 1900), 4);
	put_digits(out + 5, (unsigned)tm.tm_mon + 1, 2);
	put_digits(out + 8, (unsigned)tm.tm_mday, 2);
	put_digits(out + 11, (unsigned)tm.tm_hour, 2);
	put_digits(out + 14, (unsigned)tm.tm_min, 2);
	put_digits(out + 17, (unsigned)tm.tm_sec, 2);
	put_digits(out + 20, (unsigned)frac, 3);
	return 24;
}

/* Append s as JSON string contents (no quotes); stops at the buffer's end. */
static size_t json_escape(char *dst, size_t cap, size_t len, const char *s)
{
	static const char hexd[] = "0123456789abcdef";
	for (; *s && len < cap; s++) {
		unsigned char c = (unsigned char)*s;
		char esc = 0;
		switch (c) {
		case '"': esc = '"'; break;
		case '\\': esc = '\\'; break;
		case '\n': esc = 'n'; break;
		case '\r': esc = 'r'; break;
		case '\t': esc = 't'; break;
		default: break;
		}
		if (esc) {
			if (len + 2 > cap)
				break;
			dst[len++] = '\\';
			dst[len++] = esc;
		} else if (c < 0x20) {
			if (len + 6 > cap)
				break;
			memcpy(dst + len, "\\u00", 4);
			dst[len + 4] = hexd[c >> 4];
			dst[len + 5] = hexd[c & 15];
			len += 6;
		} else {
			dst[len++] = (char)c;
		}
	}
	return len;
}

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(out_fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report a failing log */
		}
		p += w;
		n -= (size_t)w;
	}
}

void log_msg(log_level_t level, const char *mod, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 128], ts[25];
	const size_t room = sizeof line - 8; /* keep space for the "..." tail */
	size_t len;
	va_list ap;
	int n, cut;

	if (level < min_level || level > LOGL_ERROR)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	cut = (size_t)n >= sizeof msg;
	log_format_time(clock_fn ? clock_fn() : wall_ms(), ts);

	if (format == LOGF_JSON) {
		n = snprintf(line, room, "{\"ts\":\"%s\",\"level\":\"%s\",\"mod\":\"",
			     ts, level_names[level]);
		len = json_escape(line, room, (size_t)n, mod);
		memcpy(line + len, "\",\"msg\":\"", 9);
		len = json_escape(line, room, len + 9, msg);
		if (len >= room)
			cut = 1;
		/* A cut line is still one valid JSON object: never end inside an
		 * escape sequence. */
		if (cut) {
			while (len > 0 && line[len - 1] == '\\')
				len--;
			memcpy(line + len, "...", 3);
			len += 3;
		}
		memcpy(line + len, "\"}\n", 3);
		len += 3;
	} else {
		n = snprintf(line, room, "%s %s %s: %s", ts, level_text[level],
			     mod, msg);
		len = (size_t)n;
		if (len >= room) {
			len = room - 1;
			cut = 1;
		}
		if (cut) {
			memcpy(line + len, "...", 3);
			len += 3;
		}
		line[len++] = '\n';
	}
	write_all(line, len);
}
