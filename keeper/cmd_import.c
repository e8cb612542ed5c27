/*
 * cmd_import: `keeper import --format chainlink-csv|ohlcv-json --feed NAME
 * FILE`: a historical price file to replay events on stdout
 * (keeper/import.h has the formats and rules).  stdout carries only the
 * events, so that `keeper import … > day.jsonl` is the whole workflow;
 * problems and the summary go to stderr.
 *
 * Exit 0 when the file converted, 1 when it could not be read or breaks
 * its format (every problem listed as "keeper: FILE: line N: …", nothing
 * written), 2 for bad usage (including a feed name config would refuse:
 * the events must name a feed a config can have).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "keeper/cli.h"
#include "keeper/config.h"
#include "keeper/import.h"

/* The config's rule for names (keeper/config.h), and not "node". */
static bool feed_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > CONFIG_NAME_MAX || strcmp(s, "node") == 0)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

static char *read_all(const char *path, size_t *len, kerr_t *err)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;
	char *buf;

	*err = KERR_IO;
	if (!f)
		return NULL;
	if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
		if (errno == 0)
			errno = EINVAL;
		fclose(f);
		return NULL;
	}
	if ((size_t)sb.st_size > IMPORT_MAX_INPUT) {
		*err = KERR_TOO_LONG;
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		*err = KERR_NOMEM;
		fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, (size_t)sb.st_size, f);
	if (*len != (size_t)sb.st_size) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*err = KERR_OK;
	return buf;
}

int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "feed", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = NULL, *feed = NULL, *path;
	import_format_t fmt;
	import_result_t *res;
	size_t len = 0, i;
	char *buf;
	kerr_t err;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'n': feed = optarg; break;
		case 'h': fputs(cli_help_text("import"), stdout); return CLI_EXIT_OK;
		default: return cli_option_error("import", c, argv);
		}
	}
	if (!format)
		return cli_usage_error("import", "--format is required");
	if (import_format_parse(format, &fmt) != KERR_OK)
		return cli_usage_error("import", "unknown --format \"%s\" (chainlink-csv or ohlcv-json)",
				       format);
	if (!feed)
		return cli_usage_error("import", "--feed is required");
	if (!feed_name_ok(feed))
		return cli_usage_error("import", "--feed \"%s\" is not a feed name "
				       "([A-Za-z0-9_.-], 1..%d characters, not \"node\")",
				       feed, CONFIG_NAME_MAX);
	if (optind != argc - 1)
		return cli_usage_error("import", optind == argc ? "FILE is required"
							    : "one FILE only");
	path = argv[optind];
	buf = read_all(path, &len, &err);
	if (!buf) {
		if (err == KERR_IO)
			fprintf(stderr, "keeper: %s: %s\n", path, strerror(errno));
		else
			fprintf(stderr, "keeper: %s: %s\n", path, kerr_str(err));
		return CLI_EXIT_FAIL;
	}
	res = malloc(sizeof *res);
	if (!res) {
		free(buf);
		fprintf(stderr, "keeper: %s\n", kerr_str(KERR_NOMEM));
		return CLI_EXIT_FAIL;
	}
	err = import_convert(fmt, buf, len, feed, stdout, res);
	free(buf);
	if (err == KERR_IMPORT_INVALID) {
		for (i = 0; i < res->errors && i < IMPORT_MAX_ERRORS; i++)
			fprintf(stderr, "keeper: %s: %s\n", path, res->msg[i]);
		if (res->errors > IMPORT_MAX_ERRORS)
			fprintf(stderr, "keeper: %s: %zu more problems not shown\n", path,
				res->errors - IMPORT_MAX_ERRORS);
		fprintf(stderr, "keeper: %s: nothing imported\n", path);
	} else if (err != KERR_OK) {
		fprintf(stderr, "keeper: %s: %s\n", path,
			err == KERR_IO ? "cannot write to stdout" : kerr_str(err));
	} else {
		fprintf(stderr, "keeper: %s: %zu %s, %zu price events for feed %s\n", path,
			res->rows, fmt == IMPORT_CHAINLINK_CSV ? "rounds" : "bars", res->ticks, feed);
	}
	free(res);
	return err == KERR_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
