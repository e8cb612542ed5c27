/*
 * config_read: the loader's state and the readers every part of the config
 * loader shares (internal to keeper/config*.c; not part of config.h).
 *
 * A reader takes one libconfig setting, checks its type, range or syntax,
 * and either stores the value or records an error at the setting's file and
 * line and returns failure; it never stops the load, so config_load() can
 * report every problem of a file at once.  ctx, where a reader takes it, is
 * the entry the setting belongs to ("trigger \"crash\"", "chain"; NULL or ""
 * for the top level) and prefixes the message.  what, where taken, names the
 * value in messages ("rpc[2]"); NULL means the setting's own key.
 *
 * Strings and arrays a reader returns are allocated with config_ld_alloc(),
 * so they belong to the config being built and are freed by config_free().
 */
#ifndef KEEPER_CONFIG_READ_H
#define KEEPER_CONFIG_READ_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/config.h"

/* Source files (the config and its @includes) whose literals are re-scanned. */
#define CONFIG_MAX_SOURCES 16
/* Lines holding a truncated integer literal (already reported). */
#define CONFIG_MAX_BAD_LINES 64

/* One allocation owned by the config: config_keeper_t.mem_ chains them. */
struct config_mem {
	struct config_mem *next;
	max_align_t data[];
};

/* The loader's state while one file is read. */
typedef struct {
	config_keeper_t *cfg;
	config_errors_t *errs;
	const char *path;
	char incdir[CONFIG_PATH_MAX + 1]; /* "dir/" of path, or "" */
	/* @include file names as libconfig records them, and as the operator
	 * can open them (libconfig keeps the name without incdir) */
	const char *src_raw[CONFIG_MAX_SOURCES];
	const char *src_shown[CONFIG_MAX_SOURCES];
	size_t nsrc;
	size_t nerr;        /* errors found, kept or not */
	bool nomem;
	/* lines whose integer literal libconfig truncated (already reported) */
	const char *bad_file[CONFIG_MAX_BAD_LINES];
	unsigned bad_line[CONFIG_MAX_BAD_LINES];
	size_t nbad;
	/* the mutable views of cfg's arrays while they are filled */
	config_feed_t *feeds;
	config_watch_t *watch;
	config_trigger_t *triggers;
	config_action_t *actions;
	config_gas_t *gas;
} config_ld_t;

/* ---- memory and errors ------------------------------------------------ */

/* n zeroed bytes owned by ld->cfg; NULL (and ld->nomem set) when out of
 * memory. */
void *config_ld_alloc(config_ld_t *ld, size_t n);
/* A copy of s owned by ld->cfg, or NULL (ld->nomem set). */
const char *config_ld_strdup(config_ld_t *ld, const char *s);
/* The name to print (and open) for a file libconfig names raw (an @include
 * relative to the config's directory); NULL raw is the config itself. */
const char *config_shown_file(config_ld_t *ld, const char *raw);
/* Record the error "ctx: message" at setting s's file and line (the config's
 * line 1 when s is NULL), and count it in ld->nerr. */
void config_err_at(config_ld_t *ld, const config_setting_t *s,
		   const char *ctx, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* true when s is on a line whose integer literal libconfig truncated: its
 * value is garbage and already reported, so it must not be judged. */
bool config_is_bad_line(const config_ld_t *ld, const config_setting_t *s);

/* ---- text checks ------------------------------------------------------ */

/* A character allowed in a name: [A-Za-z0-9_.-]. */
bool config_is_name_char(char c);
/* true when s holds a space, a control character or DEL. */
bool config_has_ctl_or_space(const char *s);
/* host[:port] or [v6][:port] in s[0..n): NULL when well formed (with a port
 * when port_required), else the reason ("has no :port"). */
const char *config_hostport_check(const char *s, size_t n,
				  bool port_required);
/* A JSON dot path ("data.p"): NULL when well formed, else the reason. */
const char *config_jpath_check(const char *s);

/* ---- value readers ---------------------------------------------------- */

/* The setting's key, or "value" for a list element. */
const char *config_key_of(const config_setting_t *s);
/* Member key of grp, or NULL after reporting it missing. */
config_setting_t *config_need(config_ld_t *ld, config_setting_t *grp,
			      const char *ctx, const char *key);
/* A string of 1..max characters, copied into the config; NULL on error. */
const char *config_read_str(config_ld_t *ld, const char *ctx,
			    config_setting_t *s, const char *what, size_t max);
/* An integer (plain or L) in [min, max] (min exclusive when minx); why, if
 * not NULL, is appended to a range error. */
bool config_read_int(config_ld_t *ld, const char *ctx, config_setting_t *s,
		     const char *what, double min, double max, bool minx,
		     const char *why, uint64_t *out);
/* An integer or float in [min, max] (either end exclusive by minx, maxx). */
bool config_read_num(config_ld_t *ld, const char *ctx, config_setting_t *s,
		     const char *what, double min, double max, bool minx,
		     bool maxx, const char *why, double *out);
/* true or false. */
bool config_read_bool(config_ld_t *ld, const char *ctx, config_setting_t *s,
		      bool *out);
/* One of the n words: its index, or -1 after reporting the choices. */
int config_read_enum(config_ld_t *ld, const char *ctx, config_setting_t *s,
		     const char *const *words, size_t n);
/* A URL whose scheme is s1 or s2 (case-insensitive), copied into the config;
 * NULL on error. */
const char *config_read_url(config_ld_t *ld, const char *ctx,
			    config_setting_t *s, const char *what,
			    const char *s1, const char *s2);
/* "0x" + 40 hex digits; mixed case must be the EIP-55 checksum. */
bool config_read_addr(config_ld_t *ld, const char *ctx, config_setting_t *s,
		      const char *what, addr_t *out);
/* A libconfig list ( … ) or array [ … ]. */
bool config_is_list(const config_setting_t *s);
/* A list of at most max distinct addresses.  *out and *nout are set even when
 * some entries are bad, so the caller keeps what was read. */
bool config_read_addr_list(config_ld_t *ld, const char *ctx,
			   config_setting_t *s, size_t max,
			   const addr_t **out, size_t *nout);
/* A fee in gwei (config.h, "Fee rule") within [min, max] gwei (a zero fee
 * refused when minx), as exact wei. */
bool config_read_gwei(config_ld_t *ld, const char *ctx, config_setting_t *s,
		      double min, double max, bool minx, u256_t *out);
/* A non-negative integer, or quoted decimal or 0x text up to 256 bits. */
bool config_read_amount(config_ld_t *ld, const char *ctx,
			config_setting_t *s, u256_t *out);

/* ---- lists and names -------------------------------------------------- */

/*
 * The entry's name: stored even when malformed (so references to it do not
 * cascade), reported when malformed or repeated.  names/lines/n: the names
 * of the list's entries so far and their lines; list names the list in
 * messages ("duplicate trigger name").
 */
const char *config_read_name(config_ld_t *ld, config_setting_t *grp,
			     const char *ctx, const char *list,
			     const char *const *names, const int *lines,
			     size_t n);
/* The context of list entry i for messages: "trigger \"x\"" when it has a
 * well-formed name, else "triggers[3]". */
void config_entry_ctx(char *out, size_t cap, const char *singular,
		      const char *list, size_t i, config_setting_t *grp);
/* The top-level list key: NULL when absent or empty; reports a wrong type,
 * or too many entries (*n is then max: only the first max are read). */
config_setting_t *config_top_list(config_ld_t *ld, config_setting_t *root,
				  const char *key, size_t max, size_t *n);
/* Entry i of list when it is a group { … }; NULL after reporting it. */
config_setting_t *config_list_group(config_ld_t *ld, config_setting_t *list,
				    size_t i);

#endif
