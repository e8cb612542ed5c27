/*
 * config_errors: the list of messages config_load() hands back.
 *
 * The loader reports problems in the order it meets them (sections in a
 * fixed order, the literal scan first), but an operator reads a config top
 * to bottom, so the list is sorted by file and line once loading is done.
 * The list is bounded (CONFIG_MAX_ERRORS kept, the rest counted) so that a
 * garbage file cannot make keeper allocate without bound; an allocation
 * failure drops a message rather than failing the load, since the count of
 * errors, not their text, decides the result.
 */
#include "keeper/config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "keeper/config_internal.h"

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

kerr_t config_load_report(const char *path, config_keeper_t **out, FILE *f)
{
	config_errors_t errs;
	kerr_t err;

	config_errors_init(&errs);
	err = config_load(path, out, &errs);
	if (err) {
		config_errors_print(&errs, f);
		if (err == KERR_NOMEM)
			fprintf(f, "keeper: %s\n", kerr_str(err));
	}
	config_errors_release(&errs);
	return err;
}

/*
 * Messages quote the config's own strings, which may hold newlines and
 * other control bytes ("ws = \"a<newline>b\""); written as they are, one
 * message would print as several lines, the later ones without FILE:LINE,
 * and a crafted string could pass for a message of its own.  So control
 * bytes are written as C escapes (\n, \t, \r, \xNN) into out, which must
 * hold 4 * strlen(in) + 1 bytes.
 */
static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool has_controls(const char *s)
{
	for (; *s; s++)
		if (is_control((unsigned char)*s))
			return true;
	return false;
}

static void escape_controls(char *out, const char *in)
{
	static const char hex[] = "0123456789abcdef";

	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		if (!is_control(c)) {
			*out++ = (char)c;
			continue;
		}
		*out++ = '\\';
		if (c == '\n') {
			*out++ = 'n';
		} else if (c == '\t') {
			*out++ = 't';
		} else if (c == '\r') {
			*out++ = 'r';
		} else {
			*out++ = 'x';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	*out = 0;
}

void config_errors_add(config_errors_t *e, const char *file, unsigned line,
		       const char *text)
{
	size_t n = strlen(file) + strlen(text) + 16;
	char *msg, *f, *esc;

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
	if (has_controls(msg)) {
		esc = malloc(4 * strlen(msg) + 1);
		if (!esc) {
			free(msg);
			free(f);
			e->dropped++;
			return;
		}
		escape_controls(esc, msg);
		free(msg);
		msg = esc;
	}
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

void config_errors_sort(config_errors_t *e, size_t from, const char *main_path)
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
