/*
 * config_internal: what the parts of the config loader (keeper/config*.c)
 * share besides the readers of config_read.h.  Nothing here is for code
 * outside the loader: the rest of keeper sees config.h only.
 *
 *   config_errors.c  the error list (public part in config.h)
 *   config_read.c    loader state and value readers (config_read.h)
 *   config_spec.c    trigger-kind and gas-strategy parameter tables
 *   config_scan.c    integer literals libconfig 1.5 truncates
 *   config.c         the sections and the entry points
 */
#ifndef KEEPER_CONFIG_INTERNAL_H
#define KEEPER_CONFIG_INTERNAL_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "keeper/config.h"
#include "keeper/config_read.h"

/* A config larger than this is not a config; refusing it bounds the re-scan. */
#define CONFIG_FILE_MAX (1024 * 1024)
/* Duration bounds of *_ms settings, in milliseconds. */
#define CONFIG_DAY_MS 86400000.0
#define CONFIG_MS_MAX (30 * CONFIG_DAY_MS)

/* ---- config_errors.c -------------------------------------------------- */

/* Add "FILE:LINE: text" ("FILE: text" when line is 0); e may be NULL.  A
 * full list, or a failed allocation, only counts the message as dropped. */
void config_errors_add(config_errors_t *e, const char *file, unsigned line,
		       const char *text);
/* Sort the messages from index from on: the main file first, then the
 * included files by name; by line within a file; in the order added within
 * a line. */
void config_errors_sort(config_errors_t *e, size_t from,
			const char *main_path);

/* ---- config_spec.c ---------------------------------------------------- */

/* Report every member of grp that is not one of words (NULL-terminated),
 * suggesting the nearest word when the key looks like a typo of it. */
void config_check_keys(config_ld_t *ld, config_setting_t *grp,
		       const char *ctx, const char *const *words);
/*
 * The keys of a trigger besides name, kind and action: first those every
 * kind has (confirm_ms or confirm_ticks, not both; cooldown_ms; defaults
 * for the absent ones), then, when k is a kind (>= 0), g's unknown keys
 * reported and kind k's parameters read into t.  false when k < 0: the
 * kind's keys cannot be judged.  t->kind is left to the caller.
 */
bool config_read_trigger_params(config_ld_t *ld, config_setting_t *g,
				const char *ctx, config_trigger_t *t, int k);
/* The keys of a gas strategy besides name and strategy, in the same way:
 * max_fee_gwei, then those of strategy k into gs. */
bool config_read_gas_params(config_ld_t *ld, config_setting_t *g,
			    const char *ctx, config_gas_t *gs, int k);

/* ---- config_scan.c ---------------------------------------------------- */

/*
 * Re-read the text of every file that contributed to root (the config and
 * its @includes) and report each integer literal libconfig truncated, or a
 * file over CONFIG_FILE_MAX; the lines found are recorded in ld->bad_* for
 * config_is_bad_line().
 */
void config_scan_sources(config_ld_t *ld, const config_setting_t *root);

#endif
