/*
 * config_scan: find the integer literals libconfig 1.5 silently mangles.
 *
 * libconfig 1.5 reads a plain integer literal with atoi() and an L literal
 * with strtoll(), so 3000000000 arrives as -1294967296 with no error, and a
 * fee cap or a chain id would be wrong without anyone being told.  The
 * parsed tree cannot show this, so the source text of the config and each
 * @include is lexed again; every literal that does not survive is reported
 * at its line, and the line is remembered so that the readers do not also
 * judge the garbage value found there (config_is_bad_line()).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeper/config_internal.h"
#include "keeper/config_read.h"
#include "signer/hex.h"

static void bad_line(config_ld_t *ld, const char *file, unsigned line)
{
	if (ld->nbad < CONFIG_MAX_BAD_LINES) {
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
static void scan_literals(config_ld_t *ld, const char *file, const char *t,
			  size_t n)
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
			while (i < n && (config_is_name_char(t[i]) || t[i] == '*' ||
					 t[i] == '@'))
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
					config_errors_add(ld->errs, config_shown_file(ld, file),
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
		if (i == *n && *n < CONFIG_MAX_SOURCES)
			files[(*n)++] = f;
	}
	if (config_setting_is_aggregate(s)) {
		int len = config_setting_length(s);
		for (int i = 0; i < len; i++)
			collect_sources(config_setting_get_elem(s, (unsigned)i), files, n);
	}
}

static void scan_file(config_ld_t *ld, const char *raw)
{
	const char *file = config_shown_file(ld, raw);
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
		config_errors_add(ld->errs, file, 1, "file is larger than 1 MiB");
		ld->nerr++;
	} else {
		scan_literals(ld, raw, buf, n);
	}
	free(buf);
}

void config_scan_sources(config_ld_t *ld, const config_setting_t *root)
{
	const char *sources[CONFIG_MAX_SOURCES];
	size_t n = 0;

	collect_sources(root, sources, &n);
	for (size_t i = 0; i < n; i++)
		scan_file(ld, sources[i]);
}
