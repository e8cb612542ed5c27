/*
 * cmd_check: `keeper check -c FILE`, the operator's dry run of a config.
 *
 * It connects to nothing and loads no key, so it can run in CI or on a
 * laptop before a deploy: every problem config_load() finds is printed as
 * FILE:LINE: message on stderr (exit 2), or "ok" on stdout (exit 0).  A
 * config file that cannot be read counts as an invalid config (exit 2):
 * either way the operator has to fix the command or the file.
 */
#include <getopt.h>
#include <stdio.h>

#include "keeper/cli.h"
#include "keeper/config.h"
#include "keeper/kerr.h"

static const struct option check_longopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_check(int argc, char **argv)
{
	const char *path = NULL;
	config_keeper_t *cfg = NULL;
	kerr_t err;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":c:h", check_longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			fputs(cli_help_text("check"), stdout);
			return CLI_EXIT_OK;
		default:
			return cli_option_error("check", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("check", "unexpected argument: %s",
				       argv[optind]);
	if (!path)
		return cli_usage_error("check", "missing -c FILE");

	err = config_load_report(path, &cfg, stderr);
	if (err == KERR_OK) {
		config_free(cfg);
		puts("ok");
		return CLI_EXIT_OK;
	}
	return err == KERR_NOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
}
