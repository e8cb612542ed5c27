/*
 * config: libconfig file -> validated config_keeper_t (see config.h for the
 * rules operators rely on).
 *
 * The loader never stops at the first problem: each section is read as far
 * as it can be, every error is recorded with the file and line of the
 * setting at fault, and only a file without errors yields a config.  Entries
 * with errors are still kept during loading (under whatever name they
 * have) so that a broken action does not also produce "action not defined"
 * for every trigger that names it: one mistake, one message.
 *
 * This file holds the sections (chain, signer, feeds, watch, gas, actions,
 * triggers, metrics, log) and the entry points; the readers they share are
 * in config_read.c, the trigger-kind and gas-strategy parameter tables in
 * config_spec.c, the integer-literal re-scan in config_scan.c and the error
 * list in config_errors.c (config_internal.h lists the parts).
 *
 * Everything the config owns (strings, arrays) comes from one chain of
 * allocations freed together by config_free(), so no field needs its own
 * release code.
 */
#include "keeper/config.h"

#include <errno.h>
#include <libconfig.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "keeper/config_internal.h"
#include "keeper/config_read.h"
#include "signer/signer.h"

/* ---- sections ---------------------------------------------------------- */

static void load_chain(config_ld_t *ld, config_setting_t *root)
{
	static const char *const words[] = { "id", "ws", "rpc", NULL };
	config_chain_t *c = &ld->cfg->chain;
	config_setting_t *g = config_setting_get_member(root, "chain"), *s;

	if (!g) {
		config_err_at(ld, root, NULL, "missing required group \"chain\" "
			      "(chain = { id = …; ws = \"…\"; rpc = [ \"…\" ]; };)");
		return;
	}
	c->line = (int)config_setting_source_line(g);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		config_err_at(ld, g, NULL, "chain must be a group { … }");
		return;
	}
	config_check_keys(ld, g, "chain", words);
	if ((s = config_need(ld, g, "chain", "id")))
		config_read_int(ld, "chain", s, NULL, 0, 4503599627370476.0, true, NULL,
				&c->id);
	if ((s = config_need(ld, g, "chain", "ws")))
		c->ws = config_read_url(ld, "chain", s, NULL, "ws", "wss");
	if ((s = config_need(ld, g, "chain", "rpc"))) {
		size_t n;
		if (!config_is_list(s)) {
			config_err_at(ld, s, "chain", "rpc must be a list of URLs "
				      "[\"https://…\", …]");
			return;
		}
		n = (size_t)config_setting_length(s);
		if (n == 0)
			config_err_at(ld, s, "chain", "rpc must hold at least one URL");
		if (n > CONFIG_MAX_RPC) {
			config_err_at(ld, s, "chain", "rpc has %zu URLs; the limit is %d",
				      n, CONFIG_MAX_RPC);
			n = CONFIG_MAX_RPC;
		}
		for (size_t i = 0; i < n; i++) {
			config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			char what[32];
			const char *u;
			snprintf(what, sizeof what, "rpc[%zu]", i);
			u = config_read_url(ld, "chain", e, what, "http", "https");
			if (!u)
				continue;
			for (size_t j = 0; j < c->nrpc; j++) {
				if (strcmp(c->rpc[j], u) == 0) {
					config_err_at(ld, e, "chain", "%s repeats \"%s\"", what, u);
					u = NULL;
					break;
				}
			}
			if (u)
				c->rpc[c->nrpc++] = u;
		}
	}
}

static void secret_perms(config_ld_t *ld, config_setting_t *s, const char *path)
{
	/* A missing file is fine: check may run away from the key's machine. */
	if (signer_check_secret_perms(path) == KERR_KEY_PERMS)
		config_err_at(ld, s, "signer",
			      "%s \"%s\" is readable by group or others; "
			      "run: chmod 600 %s", config_key_of(s), path, path);
}

static void load_signer(config_ld_t *ld, config_setting_t *root)
{
	static const char *const words[] = { "key_file", "keystore",
					     "password_file", NULL };
	config_signer_t *sg = &ld->cfg->signer;
	config_setting_t *g = config_setting_get_member(root, "signer");
	config_setting_t *kf, *ks, *pw;

	if (!g)
		return;
	sg->line = (int)config_setting_source_line(g);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		config_err_at(ld, g, NULL, "signer must be a group { … }");
		return;
	}
	config_check_keys(ld, g, "signer", words);
	kf = config_setting_get_member(g, "key_file");
	ks = config_setting_get_member(g, "keystore");
	pw = config_setting_get_member(g, "password_file");
	if (kf && ks) {
		config_err_at(ld, ks, "signer", "give key_file, or keystore with "
			      "password_file, not both");
		return;
	}
	if (kf) {
		if (pw)
			config_err_at(ld, pw, "signer", "password_file belongs "
				      "to keystore, not key_file");
		sg->key_file = config_read_str(ld, "signer", kf, NULL, CONFIG_PATH_MAX);
		if (sg->key_file)
			secret_perms(ld, kf, sg->key_file);
		sg->kind = CONFIG_SIGNER_KEY_FILE;
	} else if (ks) {
		sg->keystore = config_read_str(ld, "signer", ks, NULL, CONFIG_PATH_MAX);
		if (!pw) {
			config_err_at(ld, g, "signer", "missing required key "
				      "\"password_file\" (keystore needs it)");
		} else {
			sg->password_file = config_read_str(ld, "signer", pw, NULL,
							    CONFIG_PATH_MAX);
			if (sg->password_file)
				secret_perms(ld, pw, sg->password_file);
		}
		sg->kind = CONFIG_SIGNER_KEYSTORE;
	} else {
		config_err_at(ld, g, "signer", "needs key_file, or keystore and "
			      "password_file");
	}
}

static void load_feeds(config_ld_t *ld, config_setting_t *root)
{
	static const char *const words[] = { "name", "url", "subscribe", "preset",
		"price", "time", "stale_after_ms", NULL };
	static const char *const presets[] = { "trade", "ticker" };
	size_t n;
	config_setting_t *list = config_top_list(ld, root, "feeds",
						 CONFIG_MAX_FEEDS, &n);
	const char *names[CONFIG_MAX_FEEDS];
	int lines[CONFIG_MAX_FEEDS];

	ld->feeds = config_ld_alloc(ld, (n ? n : 1) * sizeof *ld->feeds);
	if (!ld->feeds)
		return;
	ld->cfg->feeds = ld->feeds;
	for (size_t i = 0; i < n; i++) {
		config_feed_t *f = &ld->feeds[i];
		config_setting_t *g = config_list_group(ld, list, i), *s;
		char ctx[96];

		names[i] = NULL;
		lines[i] = 0;
		ld->cfg->nfeeds = i + 1;
		if (!g)
			continue;
		config_entry_ctx(ctx, sizeof ctx, "feed", "feeds", i, g);
		f->line = lines[i] = (int)config_setting_source_line(g);
		config_check_keys(ld, g, ctx, words);
		f->name = names[i] = config_read_name(ld, g, ctx, "feed", names,
						      lines, i);
		if (f->name && strcmp(f->name, "node") == 0)
			config_err_at(ld, config_setting_get_member(g, "name"), ctx,
				      "the name \"node\" is reserved for the node's events "
				      "in replay files");
		if ((s = config_need(ld, g, ctx, "url")))
			f->url = config_read_url(ld, ctx, s, NULL, "ws", "wss");
		if ((s = config_setting_get_member(g, "subscribe")))
			f->subscribe = config_read_str(ld, ctx, s, NULL,
						       CONFIG_SUBSCRIBE_MAX);
		if ((s = config_setting_get_member(g, "preset"))) {
			int p = config_read_enum(ld, ctx, s, presets, 2);
			if (p == 0) {
				f->preset = CONFIG_PRESET_TRADE;
				f->price = "p";
				f->time = "T";
				f->match_path = "e";
				f->match_value = "trade";
			} else if (p == 1) {
				f->preset = CONFIG_PRESET_TICKER;
				f->price = "price";
				f->time = "time";
				f->match_path = "type";
				f->match_value = "ticker";
			}
			for (int k = 0; k < 2; k++) {
				const char *key = k ? "time" : "price";
				config_setting_t *x = config_setting_get_member(g, key);
				if (x)
					config_err_at(ld, x, ctx, "%s cannot be combined with "
						      "preset (the preset sets it)", key);
			}
		} else {
			const char *why;
			if ((s = config_need(ld, g, ctx, "price")) &&
			    (f->price = config_read_str(ld, ctx, s, NULL,
							CONFIG_JPATH_MAX)) &&
			    (why = config_jpath_check(f->price)))
				config_err_at(ld, s, ctx, "price \"%s\" is not a dot path: %s",
					      f->price, why);
			if ((s = config_setting_get_member(g, "time")) &&
			    (f->time = config_read_str(ld, ctx, s, NULL,
						       CONFIG_JPATH_MAX)) &&
			    (why = config_jpath_check(f->time)))
				config_err_at(ld, s, ctx, "time \"%s\" is not a dot path: %s",
					      f->time, why);
		}
		if ((s = config_need(ld, g, ctx, "stale_after_ms")))
			config_read_int(ld, ctx, s, NULL, 0, CONFIG_MS_MAX, true, NULL,
					&f->stale_after_ms);
	}
}

static void load_watch(config_ld_t *ld, config_setting_t *root)
{
	static const char *const words[] = { "name", "address", "tokens", NULL };
	size_t n;
	config_setting_t *list = config_top_list(ld, root, "watch",
						 CONFIG_MAX_WATCH, &n);
	const char *names[CONFIG_MAX_WATCH];
	int lines[CONFIG_MAX_WATCH];

	ld->watch = config_ld_alloc(ld, (n ? n : 1) * sizeof *ld->watch);
	if (!ld->watch)
		return;
	ld->cfg->watch = ld->watch;
	for (size_t i = 0; i < n; i++) {
		config_watch_t *w = &ld->watch[i];
		config_setting_t *g = config_list_group(ld, list, i), *s;
		char ctx[96];

		names[i] = NULL;
		lines[i] = 0;
		ld->cfg->nwatch = i + 1;
		if (!g)
			continue;
		config_entry_ctx(ctx, sizeof ctx, "watch", "watch", i, g);
		w->line = lines[i] = (int)config_setting_source_line(g);
		config_check_keys(ld, g, ctx, words);
		w->name = names[i] = config_read_name(ld, g, ctx, "watch", names,
						      lines, i);
		if ((s = config_need(ld, g, ctx, "address")) &&
		    config_read_addr(ld, ctx, s, NULL, &w->address)) {
			static const addr_t zero;
			if (addr_eq(&w->address, &zero))
				config_err_at(ld, s, ctx,
					      "address must not be the zero address");
		}
		if ((s = config_setting_get_member(g, "tokens")))
			config_read_addr_list(ld, ctx, s, CONFIG_MAX_TOKENS, &w->tokens,
					      &w->ntokens);
	}
}

static void load_gas(config_ld_t *ld, config_setting_t *root)
{
	size_t n;
	config_setting_t *list = config_top_list(ld, root, "gas",
						 CONFIG_MAX_GAS, &n);
	const char *names[CONFIG_MAX_GAS];
	int lines[CONFIG_MAX_GAS];
	const char *sw[CONFIG_GAS_STRATEGIES];

	for (size_t k = 0; k < CONFIG_GAS_STRATEGIES; k++)
		sw[k] = config_gas_strategy_name((config_gas_strategy_t)k);
	ld->gas = config_ld_alloc(ld, (n ? n : 1) * sizeof *ld->gas);
	if (!ld->gas)
		return;
	ld->cfg->gas = ld->gas;
	for (size_t i = 0; i < n; i++) {
		config_gas_t *gs = &ld->gas[i];
		config_setting_t *g = config_list_group(ld, list, i), *s, *pf;
		char ctx[96];
		int k = -1;

		names[i] = NULL;
		lines[i] = 0;
		ld->cfg->ngas = i + 1;
		if (!g)
			continue;
		config_entry_ctx(ctx, sizeof ctx, "gas", "gas", i, g);
		gs->line = lines[i] = (int)config_setting_source_line(g);
		gs->name = names[i] = config_read_name(ld, g, ctx, "gas", names,
						       lines, i);
		if ((s = config_need(ld, g, ctx, "strategy")))
			k = config_read_enum(ld, ctx, s, sw, CONFIG_GAS_STRATEGIES);
		if (!config_read_gas_params(ld, g, ctx, gs, k))
			continue; /* its other keys cannot be judged */
		gs->strategy = (config_gas_strategy_t)k;
		pf = config_setting_get_member(g, "priority_fee_gwei");
		if (pf && config_setting_get_member(g, "max_fee_gwei") &&
		    !u256_is_zero(&gs->max_fee) &&
		    u256_cmp(&gs->priority_fee, &gs->max_fee) > 0)
			config_err_at(ld, pf, ctx, "priority_fee_gwei must not exceed "
				      "max_fee_gwei");
	}
}

static void abi_type_text(const abi_type_t *t, char *out, size_t cap)
{
	switch (t->kind) {
	case ABI_ADDRESS: snprintf(out, cap, "address"); return;
	case ABI_BOOL: snprintf(out, cap, "bool"); return;
	case ABI_UINT: snprintf(out, cap, "uint%u", t->bits); return;
	case ABI_INT: snprintf(out, cap, "int%u", t->bits); return;
	case ABI_BYTES_FIXED: snprintf(out, cap, "bytes%u", t->bits / 8); return;
	}
	snprintf(out, cap, "?");
}

/* The trip field named by text ("$amount"), or -1. */
static int arg_field(const char *text, abi_kind_t *need_kind)
{
	static const struct {
		const char *name;
		config_arg_src_t src;
		abi_kind_t kind;
	} fields[] = {
		{ "$account", CONFIG_ARG_ACCOUNT, ABI_ADDRESS },
		{ "$amount", CONFIG_ARG_AMOUNT, ABI_UINT },
		{ "$token", CONFIG_ARG_TOKEN, ABI_ADDRESS },
		{ "$watch", CONFIG_ARG_WATCH, ABI_ADDRESS },
		{ "$sender", CONFIG_ARG_SENDER, ABI_ADDRESS },
	};

	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		if (strcmp(text, fields[i].name) == 0) {
			*need_kind = fields[i].kind;
			return (int)fields[i].src;
		}
	}
	return -1;
}

static bool read_sig(config_ld_t *ld, const char *ctx, config_setting_t *s,
		     abi_sig_t *sig)
{
	const char *v;
	kerr_t err;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_err_at(ld, s, ctx, "%s must be a string such as \"pause()\"",
			      config_key_of(s));
		return false;
	}
	v = config_setting_get_string(s);
	err = abi_sig_parse(sig, v, strlen(v));
	switch (err) {
	case KERR_OK:
		return true;
	case KERR_ABI_TYPE:
		config_err_at(ld, s, ctx,
			      "%s \"%.200s\" has an unsupported argument type: "
			      "only static types (address, bool, uintN, intN, bytesN) "
			      "can be encoded", config_key_of(s), v);
		return false;
	case KERR_TOO_LONG:
		config_err_at(ld, s, ctx, "%s \"%.200s\" is too long (at most %d "
			      "characters and %d arguments)", config_key_of(s), v,
			      ABI_MAX_SIG - 1, ABI_MAX_ARGS);
		return false;
	default:
		config_err_at(ld, s, ctx, "%s \"%.200s\" is not a Solidity function "
			      "signature such as \"pause()\" or "
			      "\"liquidate(address,uint256)\"", config_key_of(s), v);
		return false;
	}
}

static void read_args(config_ld_t *ld, const char *ctx, config_setting_t *g,
		      config_action_t *a, bool call_ok)
{
	config_setting_t *s = config_setting_get_member(g, "args");
	config_arg_t *args;
	size_t n;

	if (!s) {
		if (call_ok && a->call.nargs)
			config_err_at(ld, g, ctx, "missing required key \"args\" (%s takes "
				      "%zu argument%s)", a->call.canonical, a->call.nargs,
				      a->call.nargs == 1 ? "" : "s");
		return;
	}
	if (!config_is_list(s)) {
		config_err_at(ld, s, ctx, "args must be a list [ … ]");
		return;
	}
	n = (size_t)config_setting_length(s);
	if (!call_ok)
		return; /* nothing to check the values against */
	if (n != a->call.nargs) {
		config_err_at(ld, s, ctx, "args has %zu value%s but %s takes %zu", n,
			      n == 1 ? "" : "s", a->call.canonical, a->call.nargs);
		return;
	}
	args = config_ld_alloc(ld, (n ? n : 1) * sizeof *args);
	if (!args)
		return;
	for (size_t i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const abi_type_t *t = &a->call.args[i];
		char text[96], tname[16];
		const char *v = text;
		abi_kind_t need_kind;
		int field;
		kerr_t err;

		abi_type_text(t, tname, sizeof tname);
		switch (config_setting_type(e)) {
		case CONFIG_TYPE_STRING:
			v = config_setting_get_string(e);
			break;
		case CONFIG_TYPE_INT:
		case CONFIG_TYPE_INT64:
			if (config_is_bad_line(ld, e))
				continue;
			snprintf(text, sizeof text, "%lld",
				 (long long)config_setting_get_int64(e));
			break;
		case CONFIG_TYPE_BOOL:
			snprintf(text, sizeof text, "%s",
				 config_setting_get_bool(e) ? "true" : "false");
			break;
		default:
			config_err_at(ld, e, ctx,
				      "args[%zu] must be a string, an integer or "
				      "true/false", i);
			continue;
		}
		args[i].text = config_ld_strdup(ld, v);
		if (v[0] == '$') {
			field = arg_field(v, &need_kind);
			if (field < 0) {
				config_err_at(ld, e, ctx,
					      "args[%zu] \"%.64s\" is not a trip field "
					      "($account, $amount, $token, $watch, $sender)", i, v);
				continue;
			}
			if (need_kind != t->kind) {
				config_err_at(ld, e, ctx,
					      "args[%zu] %s is %s but %s's argument "
					      "%zu is %s", i, v,
					      need_kind == ABI_ADDRESS ? "an address" : "a uint",
					      a->call.name, i + 1, tname);
				continue;
			}
			args[i].src = (config_arg_src_t)field;
			continue;
		}
		err = abi_encode_arg(t, v, strlen(v), args[i].word);
		if (err)
			config_err_at(ld, e, ctx,
				      "args[%zu] \"%.80s\" is not a valid %s: %s",
				      i, v, tname, kerr_str(err));
	}
	a->args = args;
	a->nargs = n;
}

static void load_actions(config_ld_t *ld, config_setting_t *root)
{
	static const char *const words[] = { "name", "to", "call", "args", "guard",
		"gas_limit", "gas", "presign", "notify", NULL };
	size_t n;
	config_setting_t *list = config_top_list(ld, root, "actions",
						 CONFIG_MAX_ACTIONS, &n);
	const char *names[CONFIG_MAX_ACTIONS];
	int lines[CONFIG_MAX_ACTIONS];

	ld->actions = config_ld_alloc(ld, (n ? n : 1) * sizeof *ld->actions);
	if (!ld->actions)
		return;
	ld->cfg->actions = ld->actions;
	for (size_t i = 0; i < n; i++) {
		config_action_t *a = &ld->actions[i];
		config_setting_t *g = config_list_group(ld, list, i), *s;
		char ctx[96];
		bool call_ok = false;

		names[i] = NULL;
		lines[i] = 0;
		ld->cfg->nactions = i + 1;
		if (!g)
			continue;
		config_entry_ctx(ctx, sizeof ctx, "action", "actions", i, g);
		a->line = lines[i] = (int)config_setting_source_line(g);
		config_check_keys(ld, g, ctx, words);
		a->name = names[i] = config_read_name(ld, g, ctx, "action", names,
						      lines, i);
		if ((s = config_need(ld, g, ctx, "to")) &&
		    config_read_addr(ld, ctx, s, NULL, &a->to)) {
			static const addr_t zero;
			if (addr_eq(&a->to, &zero))
				config_err_at(ld, s, ctx, "to must not be the zero address");
		}
		if ((s = config_need(ld, g, ctx, "call")))
			call_ok = read_sig(ld, ctx, s, &a->call);
		read_args(ld, ctx, g, a, call_ok);
		if ((s = config_setting_get_member(g, "guard")) &&
		    read_sig(ld, ctx, s, &a->guard)) {
			if (a->guard.nargs)
				config_err_at(ld, s, ctx, "guard %s must take no arguments (a "
					      "view such as \"paused()\")", a->guard.canonical);
			else
				a->has_guard = true;
		}
		if ((s = config_need(ld, g, ctx, "gas_limit")))
			config_read_int(ld, ctx, s, NULL, 21000, 100000000, false, NULL,
					&a->gas_limit);
		if ((s = config_need(ld, g, ctx, "gas"))) {
			if (config_setting_type(s) != CONFIG_TYPE_STRING) {
				config_err_at(ld, s, ctx,
					      "gas must be the name of a gas strategy");
			} else {
				const char *v = config_setting_get_string(s);
				for (size_t k = 0; k < ld->cfg->ngas; k++) {
					if (ld->gas[k].name && strcmp(ld->gas[k].name, v) == 0)
						a->gas = &ld->gas[k];
				}
				if (!a->gas)
					config_err_at(ld, s, ctx, "gas strategy \"%.80s\" is not "
						      "defined in gas", v);
			}
		}
		if ((s = config_setting_get_member(g, "presign")))
			config_read_bool(ld, ctx, s, &a->presign);
		if ((s = config_setting_get_member(g, "notify")))
			a->notify = config_read_url(ld, ctx, s, NULL, "http", "https");
	}
}

static void load_triggers(config_ld_t *ld, config_setting_t *root)
{
	size_t n;
	config_setting_t *list = config_top_list(ld, root, "triggers",
						 CONFIG_MAX_TRIGGERS, &n);
	const char *names[CONFIG_MAX_TRIGGERS], *kw[CONFIG_TRIGGER_KINDS];
	int lines[CONFIG_MAX_TRIGGERS];

	for (size_t k = 0; k < CONFIG_TRIGGER_KINDS; k++)
		kw[k] = config_trigger_kind_name((config_trigger_kind_t)k);
	ld->triggers = config_ld_alloc(ld, (n ? n : 1) * sizeof *ld->triggers);
	if (!ld->triggers)
		return;
	ld->cfg->triggers = ld->triggers;
	for (size_t i = 0; i < n; i++) {
		config_trigger_t *t = &ld->triggers[i];
		config_setting_t *g = config_list_group(ld, list, i), *s;
		char ctx[96];
		int k = -1;

		names[i] = NULL;
		lines[i] = 0;
		ld->cfg->ntriggers = i + 1;
		if (!g)
			continue;
		config_entry_ctx(ctx, sizeof ctx, "trigger", "triggers", i, g);
		t->line = lines[i] = (int)config_setting_source_line(g);
		t->name = names[i] = config_read_name(ld, g, ctx, "trigger", names,
						      lines, i);
		if ((s = config_need(ld, g, ctx, "kind")))
			k = config_read_enum(ld, ctx, s, kw, CONFIG_TRIGGER_KINDS);
		if ((s = config_need(ld, g, ctx, "action"))) {
			if (config_setting_type(s) != CONFIG_TYPE_STRING) {
				config_err_at(ld, s, ctx,
					      "action must be the name of an action");
			} else {
				const char *v = config_setting_get_string(s);
				for (size_t j = 0; j < ld->cfg->nactions; j++) {
					if (ld->actions[j].name &&
					    strcmp(ld->actions[j].name, v) == 0)
						t->action = &ld->actions[j];
				}
				if (!t->action)
					config_err_at(ld, s, ctx, "action \"%.80s\" is not defined "
						      "in actions", v);
			}
		}
		if (config_read_trigger_params(ld, g, ctx, t, k))
			t->kind = (config_trigger_kind_t)k;
	}
}

static void load_metrics(config_ld_t *ld, config_setting_t *root)
{
	static const char *const words[] = { "listen", NULL };
	config_setting_t *g = config_setting_get_member(root, "metrics"), *s;
	const char *v, *why;

	if (!g)
		return;
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		config_err_at(ld, g, NULL,
			      "metrics must be a group { listen = \"…\"; }");
		return;
	}
	config_check_keys(ld, g, "metrics", words);
	if (!(s = config_need(ld, g, "metrics", "listen")))
		return;
	v = config_read_str(ld, "metrics", s, NULL, CONFIG_LISTEN_MAX);
	if (!v)
		return;
	why = config_has_ctl_or_space(v) ? "contains a space" :
	      config_hostport_check(v, strlen(v), true);
	if (why)
		config_err_at(ld, s, "metrics",
			      "listen \"%s\" %s; write host:port such as "
			      "\"127.0.0.1:9464\"", v, why);
	else
		ld->cfg->metrics_listen = v;
}

static void load_log(config_ld_t *ld, config_setting_t *root)
{
	static const char *const words[] = { "level", "format", NULL };
	static const char *const levels[] = { "debug", "info", "warn", "error" };
	static const char *const formats[] = { "text", "json" };
	config_setting_t *g = config_setting_get_member(root, "log"), *s;

	ld->cfg->log_level = LOGL_INFO;
	ld->cfg->log_format = LOGF_TEXT;
	if (!g)
		return;
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		config_err_at(ld, g, NULL, "log must be a group { level = \"…\"; }");
		return;
	}
	config_check_keys(ld, g, "log", words);
	if ((s = config_setting_get_member(g, "level")) &&
	    config_read_enum(ld, "log", s, levels, 4) >= 0)
		log_level_parse(config_setting_get_string(s), &ld->cfg->log_level);
	if ((s = config_setting_get_member(g, "format")) &&
	    config_read_enum(ld, "log", s, formats, 2) >= 0)
		log_format_parse(config_setting_get_string(s), &ld->cfg->log_format);
}

/* ---- entry points ------------------------------------------------------ */

void config_free(config_keeper_t *cfg)
{
	struct config_mem *m, *next;

	if (!cfg)
		return;
	for (m = cfg->mem_; m; m = next) {
		next = m->next;
		free(m);
	}
	free(cfg);
}

/* The file itself cannot be read: "FILE: cannot read: why", no line. */
static kerr_t file_error(config_errors_t *errs, const char *path,
			 const char *why)
{
	char text[256];

	snprintf(text, sizeof text, "cannot read: %s", why);
	config_errors_add(errs, path, 0, text);
	return KERR_IO;
}

kerr_t config_load(const char *path, config_keeper_t **out,
		   config_errors_t *errs)
{
	config_t lc;
	config_keeper_t *cfg;
	config_setting_t *root;
	config_ld_t ld;
	struct stat st;
	size_t first = errs ? errs->count : 0;
	static const char *const top_words[] = { "chain", "signer", "feeds",
		"watch", "triggers", "actions", "gas", "metrics", "log",
		"state_file", NULL };

	*out = NULL;
	if (stat(path, &st) != 0)
		return file_error(errs, path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return file_error(errs, path, "is a directory");
	if (st.st_size > CONFIG_FILE_MAX)
		return file_error(errs, path, "larger than 1 MiB");
	cfg = calloc(1, sizeof *cfg);
	if (!cfg)
		return KERR_NOMEM;
	memset(&ld, 0, sizeof ld);
	ld.cfg = cfg;
	ld.errs = errs;
	ld.path = path;

	config_init(&lc);
	/* @include "x.cfg" is relative to the including config's directory. */
	if (strlen(path) <= CONFIG_PATH_MAX) {
		char *slash;
		strcpy(ld.incdir, path);
		slash = strrchr(ld.incdir, '/');
		if (slash)
			slash[1] = 0;
		else
			ld.incdir[0] = 0;
		if (ld.incdir[0])
			config_set_include_dir(&lc, ld.incdir);
	}
	if (!config_read_file(&lc, path)) {
		kerr_t ret = KERR_CONFIG_SYNTAX;
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO) {
			ret = file_error(errs, path, strerror(errno ? errno : EIO));
		} else {
			char text[512];
			const char *f = config_error_file(&lc);
			snprintf(text, sizeof text, "syntax error: %s",
				 config_error_text(&lc));
			config_errors_add(errs, config_shown_file(&ld, f),
					  (unsigned)(config_error_line(&lc) > 0 ?
						     config_error_line(&lc) : 1), text);
		}
		config_destroy(&lc);
		config_free(cfg);
		return ret;
	}
	root = config_root_setting(&lc);
	cfg->path = config_ld_strdup(&ld, path);
	config_scan_sources(&ld, root);

	config_check_keys(&ld, root, NULL, top_words);
	load_chain(&ld, root);
	load_signer(&ld, root);
	load_feeds(&ld, root);
	load_watch(&ld, root);
	load_gas(&ld, root);
	load_actions(&ld, root);
	load_triggers(&ld, root);
	load_metrics(&ld, root);
	load_log(&ld, root);
	{
		config_setting_t *s = config_setting_get_member(root, "state_file");
		if (s)
			cfg->state_file = config_read_str(&ld, NULL, s, NULL,
							  CONFIG_PATH_MAX);
	}
	if (errs)
		config_errors_sort(errs, first, path);
	config_destroy(&lc);
	if (ld.nomem) {
		config_free(cfg);
		return KERR_NOMEM;
	}
	if (ld.nerr) {
		config_free(cfg);
		return KERR_CONFIG_INVALID;
	}
	*out = cfg;
	return KERR_OK;
}

const config_feed_t *config_feed_find(const config_keeper_t *cfg,
				      const char *name)
{
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		if (strcmp(cfg->feeds[i].name, name) == 0)
			return &cfg->feeds[i];
	}
	return NULL;
}

const config_action_t *config_action_find(const config_keeper_t *cfg,
					  const char *name)
{
	for (size_t i = 0; i < cfg->nactions; i++) {
		if (strcmp(cfg->actions[i].name, name) == 0)
			return &cfg->actions[i];
	}
	return NULL;
}
