/*
 * log: one line per event on stderr, as text for people or JSON for
 * collectors, with UTC timestamps to the millisecond.
 *
 * Each line is formatted into a fixed buffer and written with one write(2),
 * so lines from a crash or a concurrent writer never interleave mid-line and
 * logging never allocates.  A line longer than LOG_LINE_MAX is cut and ends
 * in "...".  The clock is replaceable so that replay logs carry event time.
 *
 * Text:  2026-11-21T08:46:46.123Z INFO  config: loaded etc/guardian.cfg
 * JSON:  {"ts":"2026-11-21T08:46:46.123Z","level":"info","mod":"config","msg":"loaded etc/guardian.cfg"}
 */
#ifndef KEEPER_LOG_H
#define KEEPER_LOG_H

#include <stddef.h>
#include <stdint.h>
#include "keeper/kerr.h"

#define LOG_LINE_MAX 4096

/* LOGL_ rather than LOG_: <syslog.h> owns LOG_INFO and friends. */
typedef enum {
	LOGL_DEBUG = 0,
	LOGL_INFO = 1,
	LOGL_WARN = 2,
	LOGL_ERROR = 3,
} log_level_t;

typedef enum {
	LOGF_TEXT = 0,
	LOGF_JSON = 1,
} log_format_t;

/* Milliseconds since the Unix epoch: the timestamp of the next line. */
typedef int64_t (*log_clock_fn)(void);

/* Minimum level and format; defaults are LOGL_INFO and LOGF_TEXT. */
void log_setup(log_level_t min, log_format_t fmt);
/* Where lines go (default 2, stderr). */
void log_set_fd(int fd);
/* NULL restores the wall clock. */
void log_set_clock(log_clock_fn fn);

/* "debug" | "info" | "warn" | "error" -> level; KERR_NOT_FOUND otherwise. */
kerr_t log_level_parse(const char *s, log_level_t *out);
/* "text" | "json"; KERR_NOT_FOUND otherwise. */
kerr_t log_format_parse(const char *s, log_format_t *out);

/* true when a line at this level would be written (skip costly formatting). */
int log_enabled(log_level_t level);

/* One line: level, module (a short word such as "config"), message. */
void log_msg(log_level_t level, const char *mod, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(mod, ...) log_msg(LOGL_DEBUG, mod, __VA_ARGS__)
#define log_info(mod, ...) log_msg(LOGL_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOGL_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...) log_msg(LOGL_ERROR, mod, __VA_ARGS__)

/*
 * Format ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" with NUL into
 * out[25].  Returns 24.
 */
size_t log_format_time(int64_t ms, char out[25]);

#endif
