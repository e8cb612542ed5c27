/*
 * config_spec: the parameters of each trigger kind and gas strategy, as
 * tables, and the code that reads a group against them.
 *
 * A kind's or strategy's parameters differ only in key, type, range and
 * default, so they are data (one row per key) rather than code: adding a
 * kind is a new enum value, a table and a row, and the same table drives
 * reading the values, defaulting the absent ones and telling an unknown key
 * (with the nearest known one as a suggestion) from a valid one.  The
 * tables are private to this file; the sections in config.c reach them
 * through config_read_trigger_params() and config_read_gas_params()
 * (config_internal.h).
 */
#include "keeper/config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "keeper/config_internal.h"
#include "keeper/config_read.h"
#include "signer/hex.h"
#include "signer/keccak.h"

/* ---- parameter specs -------------------------------------------------- */

enum ptype {
	PT_FEED,        /* feed name -> const config_feed_t * */
	PT_FEED_PAIR,   /* two distinct feed names -> const config_feed_t *[2] */
	PT_WATCH,       /* watch name -> const config_watch_t * */
	PT_MS,          /* integer milliseconds -> uint64_t */
	PT_COUNT,       /* integer count -> uint64_t */
	PT_NUM,         /* integer or float -> double */
	PT_BOOL,        /* true/false -> bool */
	PT_DIRECTION,   /* "down" | "up" | "both" -> config_direction_t */
	PT_AMOUNT,      /* integer or text, 256 bits -> u256_t */
	PT_SELECTORS,   /* "0x12345678" or "f(address)" list -> uint8_t[][4] */
	PT_ADDRS,       /* list of addresses -> addr_t[] (off_n: count) */
	PT_GWEI,        /* fee -> u256_t wei */
	PT_URL_HTTP,    /* http/https URL -> const char * */
	PT_RELAY_MODE,  /* "bundle" | "private_tx" -> config_relay_mode_t */
	PT_ADDR,        /* one address, not zero -> addr_t */
	PT_VIEW,        /* "name(address)" -> config_view_t */
	PT_EVENT,       /* "Name(type,…)" -> config_event_t */
};

enum {
	P_REQ = 1,      /* required */
	P_MINX = 2,     /* min is exclusive */
	P_MAXX = 4,     /* max is exclusive */
};

typedef struct pspec {
	const char *key;
	enum ptype type;
	unsigned flags;
	double def;        /* default when absent and not required */
	double min, max;   /* range; max is also the entry limit of lists */
	size_t off, off_n; /* where the value (and a list's count) goes */
	const char *why;   /* appended to a range error */
} pspec_t;

/* A trigger kind or gas strategy: its config spelling and its parameters. */
typedef struct {
	const char *name;
	const pspec_t *params;
} kind_t;

/* ---- unknown keys ----------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[CONFIG_NAME_MAX + 2];

	if (la > CONFIG_NAME_MAX || lb > CONFIG_NAME_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static bool in_words(const char *k, const char *const *words)
{
	for (; words && *words; words++) {
		if (strcmp(k, *words) == 0)
			return true;
	}
	return false;
}

static bool in_specs(const char *k, const pspec_t *specs)
{
	for (; specs && specs->key; specs++) {
		if (strcmp(k, specs->key) == 0)
			return true;
	}
	return false;
}

static const char *closest_spec(const char *k, const pspec_t *specs,
				size_t *best)
{
	const char *sugg = NULL;

	for (; specs && specs->key; specs++) {
		size_t d = edit_distance(k, specs->key);
		if (d < *best) {
			*best = d;
			sugg = specs->key;
		}
	}
	return sugg;
}

/*
 * Every member of grp must be one of words or specs.  A typo gets the
 * nearest allowed key as a suggestion: `treshold_pct` silently ignored would
 * leave a trigger that can never trip.
 */
static void check_keys(config_ld_t *ld, config_setting_t *grp, const char *ctx,
		       const char *const *words, const pspec_t *specs_a,
		       const pspec_t *specs_b, const char *kind)
{
	int n = config_setting_length(grp);

	for (int i = 0; i < n; i++) {
		config_setting_t *m = config_setting_get_elem(grp, (unsigned)i);
		const char *k = config_setting_name(m), *sugg = NULL, *s2;
		size_t best = 3;  /* suggest at edit distance <= 2 ... */

		if (!k || in_words(k, words) || in_specs(k, specs_a) ||
		    in_specs(k, specs_b))
			continue;
		for (const char *const *w = words; w && *w; w++) {
			size_t d = edit_distance(k, *w);
			if (d < best) {
				best = d;
				sugg = *w;
			}
		}
		if ((s2 = closest_spec(k, specs_a, &best)))
			sugg = s2;
		if ((s2 = closest_spec(k, specs_b, &best)))
			sugg = s2;
		/* ... when the key is long enough for that to mean a typo ("x" is
		 * not a misspelt "id") */
		if (sugg && best * 3 > strlen(k))
			sugg = NULL;
		if (sugg)
			config_err_at(ld, m, ctx,
				      "unknown key \"%s\" (did you mean \"%s\"?)", k, sugg);
		else if (kind)
			config_err_at(ld, m, ctx, "unknown key \"%s\" for %s", k, kind);
		else
			config_err_at(ld, m, ctx, "unknown key \"%s\"", k);
	}
}

void config_check_keys(config_ld_t *ld, config_setting_t *grp, const char *ctx,
		       const char *const *words)
{
	check_keys(ld, grp, ctx, words, NULL, NULL, NULL);
}

/* ---- the tables ------------------------------------------------------- */

#define TO(f) offsetof(config_trigger_t, f)
#define GO(f) offsetof(config_gas_t, f)

/* Keys every trigger has besides its kind's. */
static const char *const trigger_words[] = { "name", "kind", "action", NULL };
static const pspec_t trigger_common[] = {
	{ .key = "confirm_ms", .type = PT_MS, .max = CONFIG_DAY_MS,
	  .off = TO(confirm_ms) },
	{ .key = "confirm_ticks", .type = PT_COUNT, .max = 1000000,
	  .off = TO(confirm_ticks) },
	{ .key = "cooldown_ms", .type = PT_MS, .def = 60000, .max = CONFIG_MS_MAX,
	  .off = TO(cooldown_ms) },
	{ .key = NULL },
};

static const pspec_t p_price_move[] = {
	{ .key = "feed", .type = PT_FEED, .flags = P_REQ, .off = TO(feed) },
	{ .key = "window_ms", .type = PT_MS, .flags = P_REQ | P_MINX,
	  .max = CONFIG_MS_MAX, .off = TO(window_ms) },
	{ .key = "threshold_pct", .type = PT_NUM, .flags = P_REQ | P_MINX,
	  .max = 1000, .off = TO(threshold_pct) },
	{ .key = "direction", .type = PT_DIRECTION, .def = CONFIG_DIR_BOTH,
	  .off = TO(direction) },
	{ .key = NULL },
};

static const pspec_t p_ewma_vol[] = {
	{ .key = "feed", .type = PT_FEED, .flags = P_REQ, .off = TO(feed) },
	{ .key = "lambda", .type = PT_NUM, .flags = P_MINX | P_MAXX, .def = 0.94,
	  .max = 1, .off = TO(lambda) },
	{ .key = "threshold_pct", .type = PT_NUM, .flags = P_REQ | P_MINX,
	  .max = 1000, .off = TO(threshold_pct) },
	{ .key = "warmup", .type = PT_COUNT, .flags = P_REQ, .min = 1,
	  .max = 1000000, .off = TO(warmup) },
	{ .key = NULL },
};

static const pspec_t p_deviation[] = {
	{ .key = "feeds", .type = PT_FEED_PAIR, .flags = P_REQ, .off = TO(feeds) },
	{ .key = "threshold_pct", .type = PT_NUM, .flags = P_REQ | P_MINX,
	  .max = 1000, .off = TO(threshold_pct) },
	{ .key = "max_age_ms", .type = PT_MS, .flags = P_REQ | P_MINX,
	  .max = CONFIG_MS_MAX, .off = TO(max_age_ms) },
	{ .key = NULL },
};

static const pspec_t p_depeg[] = {
	{ .key = "feed", .type = PT_FEED, .flags = P_REQ, .off = TO(feed) },
	{ .key = "peg", .type = PT_NUM, .flags = P_REQ | P_MINX, .max = 1e12,
	  .off = TO(peg) },
	{ .key = "threshold_pct", .type = PT_NUM, .flags = P_REQ | P_MINX | P_MAXX,
	  .max = 100, .off = TO(threshold_pct) },
	{ .key = "direction", .type = PT_DIRECTION, .flags = P_REQ,
	  .off = TO(direction) },
	{ .key = "hold_ms", .type = PT_MS, .def = 0, .max = CONFIG_MS_MAX,
	  .off = TO(hold_ms) },
	{ .key = NULL },
};

static const pspec_t p_stale[] = {
	{ .key = "feed", .type = PT_FEED, .flags = P_REQ, .off = TO(feed) },
	{ .key = "after_ms", .type = PT_MS, .flags = P_REQ | P_MINX,
	  .max = CONFIG_MS_MAX, .off = TO(after_ms) },
	{ .key = NULL },
};

static const pspec_t p_outflow[] = {
	{ .key = "watch", .type = PT_WATCH, .flags = P_REQ, .off = TO(watch) },
	{ .key = "window_ms", .type = PT_MS, .flags = P_REQ | P_MINX,
	  .max = CONFIG_MS_MAX, .off = TO(window_ms) },
	{ .key = "threshold_pct", .type = PT_NUM, .flags = P_REQ | P_MINX,
	  .max = 100, .off = TO(threshold_pct) },
	{ .key = "min_amount", .type = PT_AMOUNT, .off = TO(min_amount) },
	{ .key = NULL },
};

static const pspec_t p_mempool[] = {
	{ .key = "watch", .type = PT_WATCH, .flags = P_REQ, .off = TO(watch) },
	{ .key = "selectors", .type = PT_SELECTORS, .max = CONFIG_MAX_SELECTORS,
	  .off = TO(selectors), .off_n = TO(nselectors) },
	{ .key = "allow", .type = PT_ADDRS, .max = CONFIG_MAX_ALLOW,
	  .off = TO(allow), .off_n = TO(nallow) },
	{ .key = "simulate", .type = PT_BOOL, .def = 0, .off = TO(simulate) },
	{ .key = "threshold_pct", .type = PT_NUM, .flags = P_REQ | P_MINX,
	  .max = 100, .off = TO(threshold_pct) },
	{ .key = NULL },
};

static const pspec_t p_liquidation[] = {
	{ .key = "pool", .type = PT_ADDR, .flags = P_REQ, .off = TO(pool) },
	{ .key = "health", .type = PT_VIEW, .off = TO(health) },
	{ .key = "liquidatable", .type = PT_VIEW, .off = TO(liquidatable) },
	{ .key = "health_word", .type = PT_COUNT, .def = 0,
	  .max = CONFIG_MAX_RETURN_WORD, .off = TO(health_word) },
	{ .key = "debt", .type = PT_VIEW, .flags = P_REQ, .off = TO(debt) },
	{ .key = "debt_to", .type = PT_ADDR, .off = TO(debt_to) },
	{ .key = "close_factor_pct", .type = PT_COUNT, .def = 50, .min = 1,
	  .max = 100, .off = TO(close_factor_pct) },
	{ .key = "accounts", .type = PT_ADDRS, .max = CONFIG_MAX_LIQ_ACCOUNTS,
	  .off = TO(accounts), .off_n = TO(naccounts) },
	{ .key = "discover", .type = PT_EVENT, .off = TO(discover) },
	{ .key = "discover_topic", .type = PT_COUNT, .def = 1, .min = 1, .max = 3,
	  .off = TO(discover_topic) },
	{ .key = "feed", .type = PT_FEED, .off = TO(feed) },
	{ .key = NULL },
};

static const kind_t trigger_kinds[CONFIG_TRIGGER_KINDS] = {
	[CONFIG_TRIGGER_PRICE_MOVE] = { "price_move", p_price_move },
	[CONFIG_TRIGGER_EWMA_VOL] = { "ewma_vol", p_ewma_vol },
	[CONFIG_TRIGGER_DEVIATION] = { "deviation", p_deviation },
	[CONFIG_TRIGGER_DEPEG] = { "depeg", p_depeg },
	[CONFIG_TRIGGER_STALE] = { "stale", p_stale },
	[CONFIG_TRIGGER_OUTFLOW] = { "outflow", p_outflow },
	[CONFIG_TRIGGER_MEMPOOL] = { "mempool", p_mempool },
	[CONFIG_TRIGGER_LIQUIDATION] = { "liquidation", p_liquidation },
};

#define GWEI_MAX 1000000.0

static const char *const gas_words[] = { "name", "strategy", NULL };
static const pspec_t gas_common[] = {
	{ .key = "max_fee_gwei", .type = PT_GWEI, .flags = P_REQ | P_MINX,
	  .max = GWEI_MAX, .off = GO(max_fee) },
	{ .key = NULL },
};

static const pspec_t g_fixed[] = {
	{ .key = "priority_fee_gwei", .type = PT_GWEI, .flags = P_REQ,
	  .max = GWEI_MAX, .off = GO(priority_fee) },
	{ .key = NULL },
};

static const pspec_t g_eip1559[] = {
	{ .key = "base_multiplier", .type = PT_NUM, .def = 2.0, .min = 1, .max = 10,
	  .off = GO(base_multiplier) },
	{ .key = "priority_percentile", .type = PT_NUM, .def = 50, .min = 0,
	  .max = 100, .off = GO(priority_percentile) },
	{ .key = "priority_fee_gwei", .type = PT_GWEI, .flags = P_REQ,
	  .max = GWEI_MAX, .off = GO(priority_fee) },
	{ .key = NULL },
};

static const pspec_t g_outbid[] = {
	{ .key = "bump_pct", .type = PT_NUM, .flags = P_MINX, .def = 12.5,
	  .max = 1000, .off = GO(bump_pct) },
	{ .key = NULL },
};

static const pspec_t g_escalate[] = {
	{ .key = "bump_pct", .type = PT_NUM, .def = 12.5, .min = 10, .max = 1000,
	  .off = GO(bump_pct),
	  .why = "(nodes refuse a replacement that raises fees by less than 10%)" },
	{ .key = "every_ms", .type = PT_MS, .def = 0, .max = 3600000,
	  .off = GO(every_ms) },
	{ .key = NULL },
};

static const pspec_t g_private[] = {
	{ .key = "relay", .type = PT_URL_HTTP, .flags = P_REQ, .off = GO(relay) },
	{ .key = "mode", .type = PT_RELAY_MODE, .flags = P_REQ, .off = GO(mode) },
	{ .key = "also_public", .type = PT_BOOL, .def = 0, .off = GO(also_public) },
	{ .key = NULL },
};

static const kind_t gas_strategies[CONFIG_GAS_STRATEGIES] = {
	[CONFIG_GAS_FIXED] = { "fixed", g_fixed },
	[CONFIG_GAS_EIP1559] = { "eip1559", g_eip1559 },
	[CONFIG_GAS_OUTBID] = { "outbid", g_outbid },
	[CONFIG_GAS_ESCALATE] = { "escalate", g_escalate },
	[CONFIG_GAS_PRIVATE] = { "private", g_private },
};

static const char *const direction_words[] = { "both", "down", "up" };
static const char *const relay_mode_words[] = { "bundle", "private_tx" };

const char *config_trigger_kind_name(config_trigger_kind_t kind)
{
	return (unsigned)kind < CONFIG_TRIGGER_KINDS ? trigger_kinds[kind].name : "?";
}

const char *config_gas_strategy_name(config_gas_strategy_t strategy)
{
	return (unsigned)strategy < CONFIG_GAS_STRATEGIES ?
	       gas_strategies[strategy].name : "?";
}

const char *config_direction_name(config_direction_t dir)
{
	return (unsigned)dir < 3 ? direction_words[dir] : "?";
}

/* ---- reading a group against a table ---------------------------------- */

static const config_feed_t *find_feed(const config_ld_t *ld, const char *name)
{
	for (size_t i = 0; i < ld->cfg->nfeeds; i++) {
		if (ld->feeds[i].name && strcmp(ld->feeds[i].name, name) == 0)
			return &ld->feeds[i];
	}
	return NULL;
}

static const config_watch_t *find_watch(const config_ld_t *ld, const char *name)
{
	for (size_t i = 0; i < ld->cfg->nwatch; i++) {
		if (ld->watch[i].name && strcmp(ld->watch[i].name, name) == 0)
			return &ld->watch[i];
	}
	return NULL;
}

static bool read_feed_ref(config_ld_t *ld, const char *ctx, config_setting_t *s,
			  const char *what, const config_feed_t **out)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_err_at(ld, s, ctx, "%s must be the name of a feed", what);
		return false;
	}
	v = config_setting_get_string(s);
	*out = find_feed(ld, v);
	if (!*out) {
		config_err_at(ld, s, ctx, "feed \"%.80s\" is not defined in feeds", v);
		return false;
	}
	return true;
}

static void read_feed_pair(config_ld_t *ld, const char *ctx,
			   config_setting_t *s, const config_feed_t **out)
{
	size_t n;
	bool ok = true;

	if (!config_is_list(s)) {
		config_err_at(ld, s, ctx, "feeds must be a list of two feed names "
			      "[\"a\", \"b\"]");
		return;
	}
	n = (size_t)config_setting_length(s);
	if (n != 2) {
		config_err_at(ld, s, ctx, "feeds must name exactly two feeds, got %zu",
			      n);
		return;
	}
	for (size_t i = 0; i < 2; i++) {
		char what[32];
		snprintf(what, sizeof what, "feeds[%zu]", i);
		ok &= read_feed_ref(ld, ctx, config_setting_get_elem(s, (unsigned)i),
				    what, &out[i]);
	}
	if (ok && out[0] == out[1])
		config_err_at(ld, s, ctx,
			      "feeds lists \"%s\" twice; a deviation compares "
			      "two different feeds", out[0]->name);
}

static void read_selectors(config_ld_t *ld, const char *ctx,
			   config_setting_t *s, const pspec_t *p, void *base)
{
	size_t n;
	uint8_t (*sel)[4];

	if (!config_is_list(s)) {
		config_err_at(ld, s, ctx,
			      "selectors must be a list of \"0x12345678\" or "
			      "\"name(type,…)\" strings");
		return;
	}
	n = (size_t)config_setting_length(s);
	if (n > (size_t)p->max) {
		config_err_at(ld, s, ctx,
			      "selectors has %zu entries; the limit is %.0f", n, p->max);
		return;
	}
	sel = config_ld_alloc(ld, (n ? n : 1) * sizeof *sel);
	if (!sel)
		return;
	for (size_t i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v;
		abi_sig_t sig;
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			config_err_at(ld, e, ctx, "selectors[%zu] must be a string", i);
			continue;
		}
		v = config_setting_get_string(e);
		if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
			if (hex_decode_exact(sel[i], 4, v, strlen(v)) != KERR_OK)
				config_err_at(ld, e, ctx, "selectors[%zu] \"%.80s\" must be 0x "
					      "followed by 8 hex digits", i, v);
		} else if (abi_sig_parse(&sig, v, strlen(v)) == KERR_OK) {
			memcpy(sel[i], sig.selector, 4);
		} else {
			config_err_at(ld, e, ctx,
				      "selectors[%zu] \"%.80s\" must be a 4-byte "
				      "selector \"0x12345678\" or a signature with static "
				      "types such as \"withdraw(uint256)\"", i, v);
		}
	}
	memcpy((char *)base + p->off, &sel, sizeof sel);
	memcpy((char *)base + p->off_n, &n, sizeof n);
}

/* A signature of static types ("name(address)"), parsed; false after
 * reporting why not, with example as the shape to follow. */
static bool read_signature(config_ld_t *ld, const char *ctx,
			   config_setting_t *s, const char *example,
			   abi_sig_t *sig)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_err_at(ld, s, ctx, "%s must be a string such as \"%s\"",
			      config_key_of(s), example);
		return false;
	}
	v = config_setting_get_string(s);
	switch (abi_sig_parse(sig, v, strlen(v))) {
	case KERR_OK:
		return true;
	case KERR_ABI_TYPE:
		config_err_at(ld, s, ctx, "%s \"%.200s\" has an unsupported type: only "
			      "static types (address, bool, uintN, intN, bytesN)",
			      config_key_of(s), v);
		return false;
	default:
		config_err_at(ld, s, ctx, "%s \"%.200s\" is not a signature such as "
			      "\"%s\"", config_key_of(s), v, example);
		return false;
	}
}

/* A view called with one account: exactly one address parameter. */
static void read_view(config_ld_t *ld, const char *ctx, config_setting_t *s,
		      config_view_t *out)
{
	const char *key = config_key_of(s);
	char example[64];
	abi_sig_t sig;

	snprintf(example, sizeof example, "%s(address)",
		 strcmp(key, "health") == 0 ? "healthFactor" :
		 strcmp(key, "debt") == 0 ? "debtOf" : key);
	if (!read_signature(ld, ctx, s, example, &sig))
		return;
	if (sig.nargs != 1 || sig.args[0].kind != ABI_ADDRESS) {
		config_err_at(ld, s, ctx, "%s %s must take exactly one address (the "
			      "account), such as \"%s\"", key, sig.canonical,
			      example);
		return;
	}
	out->sig = config_ld_strdup(ld, sig.canonical);
	memcpy(out->selector, sig.selector, 4);
}

static void read_event(config_ld_t *ld, const char *ctx, config_setting_t *s,
		       config_event_t *out)
{
	abi_sig_t sig;

	if (!read_signature(ld, ctx, s, "Borrow(address,uint256)", &sig))
		return;
	if (sig.nargs == 0) {
		config_err_at(ld, s, ctx, "%s %s has no parameter to take an account "
			      "from", config_key_of(s), sig.canonical);
		return;
	}
	out->sig = config_ld_strdup(ld, sig.canonical);
	keccak256(out->topic0, (const uint8_t *)sig.canonical,
		  strlen(sig.canonical));
	out->nargs = sig.nargs;
}

/* Read every spec of the table from grp into base (a trigger or gas). */
static void read_params(config_ld_t *ld, config_setting_t *grp, const char *ctx,
			const pspec_t *specs, void *base)
{
	for (const pspec_t *p = specs; p->key; p++) {
		config_setting_t *s = config_setting_get_member(grp, p->key);
		char *dst = (char *)base + p->off;
		bool minx = p->flags & P_MINX, maxx = p->flags & P_MAXX;

		if (!s) {
			if (p->flags & P_REQ) {
				config_err_at(ld, grp, ctx, "missing required key \"%s\"",
					      p->key);
				continue;
			}
			switch (p->type) {
			case PT_MS:
			case PT_COUNT: {
				uint64_t v = (uint64_t)p->def;
				memcpy(dst, &v, sizeof v);
				break;
			}
			case PT_NUM:
				memcpy(dst, &p->def, sizeof p->def);
				break;
			case PT_BOOL: {
				bool v = p->def != 0;
				memcpy(dst, &v, sizeof v);
				break;
			}
			case PT_DIRECTION: {
				config_direction_t v = (config_direction_t)p->def;
				memcpy(dst, &v, sizeof v);
				break;
			}
			default:
				break; /* zero / NULL from calloc */
			}
			continue;
		}
		switch (p->type) {
		case PT_FEED: {
			const config_feed_t *f;
			if (read_feed_ref(ld, ctx, s, p->key, &f))
				memcpy(dst, &f, sizeof f);
			break;
		}
		case PT_FEED_PAIR:
			read_feed_pair(ld, ctx, s, (const config_feed_t **)(void *)dst);
			break;
		case PT_WATCH: {
			const config_watch_t *w;
			const char *v;
			if (config_setting_type(s) != CONFIG_TYPE_STRING) {
				config_err_at(ld, s, ctx,
					      "%s must be the name of a watch entry", p->key);
				break;
			}
			v = config_setting_get_string(s);
			w = find_watch(ld, v);
			if (!w)
				config_err_at(ld, s, ctx, "watch \"%.80s\" is not defined in "
					      "watch", v);
			else
				memcpy(dst, &w, sizeof w);
			break;
		}
		case PT_MS:
		case PT_COUNT: {
			uint64_t v;
			if (config_read_int(ld, ctx, s, NULL, p->min, p->max, minx,
					    p->why, &v))
				memcpy(dst, &v, sizeof v);
			break;
		}
		case PT_NUM: {
			double v;
			if (config_read_num(ld, ctx, s, NULL, p->min, p->max, minx, maxx,
					    p->why, &v))
				memcpy(dst, &v, sizeof v);
			break;
		}
		case PT_BOOL: {
			bool v;
			if (config_read_bool(ld, ctx, s, &v))
				memcpy(dst, &v, sizeof v);
			break;
		}
		case PT_DIRECTION: {
			int v = config_read_enum(ld, ctx, s, direction_words, 3);
			if (v >= 0) {
				config_direction_t d = (config_direction_t)v;
				memcpy(dst, &d, sizeof d);
			}
			break;
		}
		case PT_RELAY_MODE: {
			int v = config_read_enum(ld, ctx, s, relay_mode_words, 2);
			if (v >= 0) {
				config_relay_mode_t m = (config_relay_mode_t)v;
				memcpy(dst, &m, sizeof m);
			}
			break;
		}
		case PT_AMOUNT: {
			u256_t v;
			if (config_read_amount(ld, ctx, s, &v))
				memcpy(dst, &v, sizeof v);
			break;
		}
		case PT_GWEI: {
			u256_t v;
			if (config_read_gwei(ld, ctx, s, p->min, p->max, minx, &v))
				memcpy(dst, &v, sizeof v);
			break;
		}
		case PT_SELECTORS:
			read_selectors(ld, ctx, s, p, base);
			break;
		case PT_ADDRS: {
			const addr_t *a = NULL;
			size_t n = 0;
			config_read_addr_list(ld, ctx, s, (size_t)p->max, &a, &n);
			memcpy(dst, &a, sizeof a);
			memcpy((char *)base + p->off_n, &n, sizeof n);
			break;
		}
		case PT_URL_HTTP: {
			const char *u = config_read_url(ld, ctx, s, NULL, "http", "https");
			if (u)
				memcpy(dst, &u, sizeof u);
			break;
		}
		case PT_ADDR: {
			static const addr_t zero;
			addr_t a;
			if (!config_read_addr(ld, ctx, s, NULL, &a))
				break;
			if (addr_eq(&a, &zero))
				config_err_at(ld, s, ctx, "%s must not be the zero address",
					      p->key);
			else
				memcpy(dst, &a, sizeof a);
			break;
		}
		case PT_VIEW:
			read_view(ld, ctx, s, (config_view_t *)(void *)dst);
			break;
		case PT_EVENT:
			read_event(ld, ctx, s, (config_event_t *)(void *)dst);
			break;
		}
	}
}

/* ---- per-kind reading ------------------------------------------------- */

/* The keys of kind k of kinds (what: "kind" or "strategy", for messages):
 * g's unknown keys reported against words, common and the kind's, then the
 * kind's read into base.  false when k < 0 (no kind to judge them by). */
static bool read_kind(config_ld_t *ld, config_setting_t *g, const char *ctx,
		      const char *const *words, const pspec_t *common,
		      const char *what, const kind_t *kinds, int k, void *base)
{
	char kind[64];

	if (k < 0)
		return false;
	snprintf(kind, sizeof kind, "%s %s", what, kinds[k].name);
	check_keys(ld, g, ctx, words, common, kinds[k].params, kind);
	read_params(ld, g, ctx, kinds[k].params, base);
	return true;
}

/*
 * What the table cannot say about a liquidation trigger: one health view of
 * the two, discover_topic within the event, the action taking the account.
 * An action that ignored $account would send the same call for every
 * borrower, so it is refused here rather than noticed at the first trip.
 */
static void check_liquidation(config_ld_t *ld, config_setting_t *g,
			      const char *ctx, config_trigger_t *t)
{
	static const addr_t zero;
	config_setting_t *h = config_setting_get_member(g, "health");
	config_setting_t *l = config_setting_get_member(g, "liquidatable");
	config_setting_t *dt = config_setting_get_member(g, "discover_topic");
	config_setting_t *a;
	bool has_account = false;

	if (h && l)
		config_err_at(ld, l, ctx, "health and liquidatable exclude each "
			      "other; give one");
	else if (!h && !l)
		config_err_at(ld, g, ctx, "missing required key \"health\" (a "
			      "\"healthFactor(address)\" view) or \"liquidatable\" "
			      "(a bool view)");
	if (dt && !config_setting_get_member(g, "discover"))
		config_err_at(ld, dt, ctx, "discover_topic needs discover (the event "
			      "whose topic it names)");
	else if (t->discover.sig && t->discover_topic > t->discover.nargs)
		config_err_at(ld, dt, ctx, "discover_topic %llu is beyond the %zu "
			      "parameter%s of %s", (unsigned long long)t->discover_topic,
			      t->discover.nargs, t->discover.nargs == 1 ? "" : "s",
			      t->discover.sig);
	/* Judged per element as written: an entry the list reader refused
	 * holds zeros, which must not read as a second mistake. */
	if ((a = config_setting_get_member(g, "accounts")) && config_is_list(a)) {
		for (int i = 0; i < config_setting_length(a); i++) {
			config_setting_t *e = config_setting_get_elem(a, (unsigned)i);
			const char *v = config_setting_get_string(e);
			addr_t x;
			if (v && addr_parse(&x, v, strlen(v)) == KERR_OK &&
			    addr_eq(&x, &zero))
				config_err_at(ld, e, ctx, "accounts[%d] must not be the "
					      "zero address", i);
		}
	}
	if (!config_setting_get_member(g, "debt_to"))
		t->debt_to = t->pool;
	/* An action whose call or args are wrong is reported there already. */
	if (!t->action || !t->action->name || !t->action->call.canonical[0] ||
	    (t->action->call.nargs && !t->action->args))
		return;
	for (size_t i = 0; i < t->action->nargs; i++)
		has_account |= t->action->args[i].src == CONFIG_ARG_ACCOUNT;
	if (!has_account)
		config_err_at(ld, config_setting_get_member(g, "action"), ctx,
			      "action \"%s\" must take $account (the borrower to "
			      "liquidate) in its args", t->action->name);
}

bool config_read_trigger_params(config_ld_t *ld, config_setting_t *g,
				const char *ctx, config_trigger_t *t, int k)
{
	config_setting_t *cm, *ct;

	read_params(ld, g, ctx, trigger_common, t);
	cm = config_setting_get_member(g, "confirm_ms");
	ct = config_setting_get_member(g, "confirm_ticks");
	if (cm && ct)
		config_err_at(ld, ct, ctx, "confirm_ms and confirm_ticks exclude "
			      "each other; give one");
	if (!read_kind(ld, g, ctx, trigger_words, trigger_common, "kind",
		       trigger_kinds, k, t))
		return false;
	if (k == CONFIG_TRIGGER_LIQUIDATION)
		check_liquidation(ld, g, ctx, t);
	return true;
}

bool config_read_gas_params(config_ld_t *ld, config_setting_t *g,
			    const char *ctx, config_gas_t *gs, int k)
{
	read_params(ld, g, ctx, gas_common, gs);
	return read_kind(ld, g, ctx, gas_words, gas_common, "strategy",
			 gas_strategies, k, gs);
}
