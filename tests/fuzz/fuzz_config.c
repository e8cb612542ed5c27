/*
 * fuzz_config: config files through config_load(), the operator's input
 * parsed by libconfig and then checked setting by setting.  The input is
 * written to a file in a private directory (so a relative @include finds
 * only that file, and libconfig's include depth limit ends a loop).
 *
 * Invariants: success gives a config and no messages, failure no config
 * and, unless out of memory, at least one message; every message is
 * "FILE:LINE: text" for a file that took part; the loaded config's lists
 * stay within their limits and its look-ups find its own names.
 */
#include "keeper/config.h"

#include "tests/fuzz/fuzz.h"

static FILE *devnull;

static void check_config(const config_keeper_t *cfg)
{
	FUZZ_CHECK(cfg->nfeeds <= CONFIG_MAX_FEEDS && cfg->nwatch <= CONFIG_MAX_WATCH &&
		   cfg->ntriggers <= CONFIG_MAX_TRIGGERS &&
		   cfg->nactions <= CONFIG_MAX_ACTIONS && cfg->ngas <= CONFIG_MAX_GAS);
	FUZZ_CHECK(cfg->chain.id >= 1);
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		FUZZ_CHECK(cfg->feeds[i].name && cfg->feeds[i].price);
		FUZZ_CHECK(config_feed_find(cfg, cfg->feeds[i].name) == &cfg->feeds[i]);
	}
	for (size_t i = 0; i < cfg->nactions; i++)
		FUZZ_CHECK(config_action_find(cfg, cfg->actions[i].name) ==
			   &cfg->actions[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_tmp_write("fuzz.cfg", data, size);
	config_errors_t errs;
	config_keeper_t *cfg = NULL;
	kerr_t err;

	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
	config_errors_init(&errs);
	err = config_load(path, &cfg, &errs);
	if (err == KERR_OK) {
		FUZZ_CHECK(cfg != NULL && errs.count == 0);
		check_config(cfg);
		config_free(cfg);
	} else {
		FUZZ_CHECK(cfg == NULL);
		FUZZ_CHECK(err == KERR_NOMEM || errs.count > 0);
		FUZZ_CHECK(errs.count <= CONFIG_MAX_ERRORS);
		for (size_t i = 0; i < errs.count; i++) {
			const char *m = errs.msg[i];
			const char *colon = strchr(m, ':');
			FUZZ_CHECK(colon != NULL && colon > m);
			FUZZ_CHECK(strchr(m, '\n') == NULL);
		}
	}
	config_errors_print(&errs, devnull);
	config_errors_release(&errs);
	return 0;
}
