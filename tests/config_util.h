/*
 * config_util.h: a keeper config from text, for tests that build their
 * config in code.  Header-only like test.h.  The text goes through a
 * temporary file and config_load(), the one way keeper reads a config, so
 * the test runs on exactly what the loader makes of it.
 */
#ifndef TESTS_CONFIG_UTIL_H
#define TESTS_CONFIG_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper/config.h"

/* The config text describes, or NULL after printing why not (the loader's
 * messages go to stdout, into the test's log). */
static __attribute__((unused)) config_keeper_t *load_cfg(const char *text)
{
	char path[] = "/tmp/keeper-test-node-XXXXXX";
	int fd = mkstemp(path);
	config_keeper_t *cfg = NULL;
	config_errors_t errs;

	if (fd < 0)
		return NULL;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		unlink(path);
		return NULL;
	}
	close(fd);
	config_errors_init(&errs);
	if (config_load(path, &cfg, &errs) != KERR_OK)
		config_errors_print(&errs, stdout);
	config_errors_release(&errs);
	unlink(path);
	return cfg;
}

#endif
