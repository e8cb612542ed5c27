/*
 * test_config: config_load() as later modules see it: the typed values of
 * the shipped examples (fees exact to the wei, defaults applied, references
 * resolved to pointers, args pre-encoded), the fee rule for floats and
 * strings, libconfig's 32-bit truncation caught, the error list (codes,
 * FILE:LINE, order, the cap), and the secret-file permission rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keeper/config.h"
#include "signer/hex.h"
#include "tests/test.h"

static char tmpdir[] = "/tmp/test_config.XXXXXX";

/* Write text to DIR/name and return the path (static buffer per call). */
static const char *put_file(const char *name, const char *text)
{
	static char path[8][256];
	static int slot;
	char *p = path[slot++ % 8];
	FILE *f;

	snprintf(p, 256, "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	if (!f) {
		printf("    cannot write %s\n", p);
		return p;
	}
	fputs(text, f);
	fclose(f);
	return p;
}

#define CHAIN "chain = { id = 31337; ws = \"ws://127.0.0.1:8545\"; " \
	"rpc = [ \"http://127.0.0.1:8545\" ]; };\n"

/* A config of CHAIN plus extra; returns config_load's code. */
static kerr_t load_text(const char *extra, config_keeper_t **out,
			config_errors_t *errs)
{
	char *text = malloc(strlen(CHAIN) + strlen(extra) + 1);
	const char *path;
	kerr_t err;

	strcpy(text, CHAIN);
	strcat(text, extra);
	path = put_file("t.cfg", text);
	free(text);
	config_errors_init(errs);
	err = config_load(path, out, errs);
	return err;
}

static void check_wei(const u256_t *v, const char *want)
{
	char dec[U256_DEC_MAX];
	u256_to_dec(v, dec, sizeof dec);
	CHECK_EQ_STR(dec, want);
}

static const config_trigger_t *trigger(const config_keeper_t *c, const char *name)
{
	for (size_t i = 0; i < c->ntriggers; i++) {
		if (strcmp(c->triggers[i].name, name) == 0)
			return &c->triggers[i];
	}
	return NULL;
}

static const config_gas_t *gas(const config_keeper_t *c, const char *name)
{
	for (size_t i = 0; i < c->ngas; i++) {
		if (strcmp(c->gas[i].name, name) == 0)
			return &c->gas[i];
	}
	return NULL;
}

static void test_guardian(void)
{
	config_keeper_t *c = NULL;
	config_errors_t e;
	const config_trigger_t *t;
	const config_action_t *a;
	const config_gas_t *g;
	const config_feed_t *f;
	char text[ADDR_TEXT_LEN];
	uint8_t sel[4];

	config_errors_init(&e);
	CHECK_OK(config_load("etc/guardian.cfg", &c, &e));
	CHECK_EQ_INT(e.count, 0);
	config_errors_release(&e);
	if (!c)
		return;
	CHECK_EQ_STR(c->path, "etc/guardian.cfg");
	CHECK_EQ_INT(c->chain.id, 31337);
	CHECK_EQ_STR(c->chain.ws, "ws://127.0.0.1:8545");
	CHECK_EQ_INT(c->chain.nrpc, 1);
	CHECK_EQ_STR(c->chain.rpc[0], "http://127.0.0.1:8545");
	CHECK_EQ_INT(c->signer.kind, CONFIG_SIGNER_KEY_FILE);
	CHECK_EQ_STR(c->signer.key_file, "etc/keys/guardian.key");
	CHECK(c->signer.keystore == NULL);

	/* feeds: presets expand to paths and a message discriminator */
	CHECK_EQ_INT(c->nfeeds, 3);
	f = config_feed_find(c, "eth-binance");
	CHECK(f != NULL);
	if (f) {
		CHECK_EQ_INT(f->preset, CONFIG_PRESET_TRADE);
		CHECK_EQ_STR(f->price, "p");
		CHECK_EQ_STR(f->time, "T");
		CHECK_EQ_STR(f->match_path, "e");
		CHECK_EQ_STR(f->match_value, "trade");
		CHECK_EQ_INT(f->stale_after_ms, 10000);
		CHECK(f->subscribe == NULL);
	}
	f = config_feed_find(c, "eth-coinbase");
	CHECK(f != NULL);
	if (f) {
		CHECK_EQ_STR(f->price, "price");
		CHECK_EQ_STR(f->time, "time");
		CHECK_EQ_STR(f->match_path, "type");
		CHECK_EQ_STR(f->match_value, "ticker");
		CHECK(f->subscribe && strstr(f->subscribe, "\"ETH-USD\""));
	}
	f = config_feed_find(c, "usdt-coinbase");
	CHECK(f != NULL);
	if (f) {
		CHECK_EQ_INT(f->preset, CONFIG_PRESET_NONE);
		CHECK_EQ_STR(f->price, "price");
		CHECK(f->time == NULL);
		CHECK(f->match_path == NULL);
	}
	CHECK(config_feed_find(c, "nope") == NULL);

	/* watch */
	CHECK_EQ_INT(c->nwatch, 1);
	addr_to_checksum(&c->watch[0].address, text);
	CHECK_EQ_STR(text, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
	CHECK_EQ_INT(c->watch[0].ntokens, 1);
	addr_to_checksum(&c->watch[0].tokens[0], text);
	CHECK_EQ_STR(text, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");

	/* actions: signatures parsed, gas resolved to its strategy */
	CHECK_EQ_INT(c->nactions, 1);
	a = config_action_find(c, "pause-vault");
	CHECK(a != NULL);
	if (a) {
		CHECK_EQ_STR(a->call.canonical, "pause()");
		CHECK_OK(hex_decode_exact(sel, 4, "8456cb59", 8)); /* cast sig "pause()" */
		CHECK_EQ_MEM(a->call.selector, sel, 4);
		CHECK(a->has_guard);
		CHECK_OK(hex_decode_exact(sel, 4, "5c975abb", 8)); /* paused() */
		CHECK_EQ_MEM(a->guard.selector, sel, 4);
		CHECK_EQ_INT(a->nargs, 0);
		CHECK_EQ_INT(a->gas_limit, 100000);
		CHECK(a->gas == gas(c, "urgent"));
		CHECK(a->presign);
		CHECK(a->notify == NULL);
	}

	/* triggers: kinds, params, defaults, resolved references */
	CHECK_EQ_INT(c->ntriggers, 7);
	t = trigger(c, "usdt-depeg");
	CHECK(t != NULL);
	if (t) {
		CHECK_EQ_INT(t->kind, CONFIG_TRIGGER_DEPEG);
		CHECK(t->feed == config_feed_find(c, "usdt-coinbase"));
		CHECK(t->peg == 1.0);
		CHECK(t->threshold_pct == 2.0);
		CHECK_EQ_INT(t->direction, CONFIG_DIR_DOWN);
		CHECK_EQ_INT(t->hold_ms, 30000);
		CHECK_EQ_INT(t->cooldown_ms, 60000); /* default */
		CHECK_EQ_INT(t->confirm_ms, 0);
		CHECK(t->action == a);
	}
	t = trigger(c, "eth-crash");
	CHECK(t != NULL);
	if (t) {
		CHECK_EQ_INT(t->kind, CONFIG_TRIGGER_PRICE_MOVE);
		CHECK_EQ_INT(t->window_ms, 600000);
		CHECK_EQ_INT(t->confirm_ticks, 3);
		CHECK_EQ_INT(t->cooldown_ms, 300000);
	}
	t = trigger(c, "eth-vol");
	CHECK(t && t->kind == CONFIG_TRIGGER_EWMA_VOL && t->lambda == 0.94 &&
	      t->warmup == 200 && t->threshold_pct == 3.5);
	t = trigger(c, "eth-venues-disagree");
	CHECK(t != NULL);
	if (t) {
		CHECK(t->feeds[0] == config_feed_find(c, "eth-binance"));
		CHECK(t->feeds[1] == config_feed_find(c, "eth-coinbase"));
		CHECK_EQ_INT(t->max_age_ms, 5000);
		CHECK_EQ_INT(t->confirm_ms, 10000);
	}
	t = trigger(c, "eth-feed-dead");
	CHECK(t && t->kind == CONFIG_TRIGGER_STALE && t->after_ms == 120000);
	t = trigger(c, "vault-drain");
	CHECK(t != NULL);
	if (t) {
		CHECK(t->watch == &c->watch[0]);
		check_wei(&t->min_amount, "1000000000000000000");
		CHECK(t->threshold_pct == 20.0);
	}
	t = trigger(c, "vault-takeover");
	CHECK(t != NULL);
	if (t) {
		CHECK_EQ_INT(t->kind, CONFIG_TRIGGER_MEMPOOL);
		CHECK_EQ_INT(t->nselectors, 2);
		CHECK_OK(hex_decode_exact(sel, 4, "f2fde38b", 8)); /* transferOwnership(address) */
		CHECK_EQ_MEM(t->selectors[0], sel, 4);
		CHECK_OK(hex_decode_exact(sel, 4, "3659cfe6", 8));
		CHECK_EQ_MEM(t->selectors[1], sel, 4);
		CHECK_EQ_INT(t->nallow, 1);
		CHECK(t->simulate);
	}

	/* gas: fees in wei, exactly */
	g = gas(c, "urgent");
	CHECK(g != NULL);
	if (g) {
		CHECK_EQ_INT(g->strategy, CONFIG_GAS_EIP1559);
		check_wei(&g->max_fee, "300000000000");
		check_wei(&g->priority_fee, "2500000000");
		CHECK(g->base_multiplier == 2.0);
		CHECK(g->priority_percentile == 90.0);
	}
	g = gas(c, "steady");
	CHECK(g && g->strategy == CONFIG_GAS_ESCALATE && g->bump_pct == 12.5 &&
	      g->every_ms == 0);
	if (g)
		check_wei(&g->max_fee, "500000000000");

	CHECK_EQ_STR(c->metrics_listen, "127.0.0.1:9464");
	CHECK_EQ_INT(c->log_level, LOGL_INFO);
	CHECK_EQ_INT(c->log_format, LOGF_TEXT);
	CHECK_EQ_STR(c->state_file, "var/guardian.state");
	config_free(c);
}

static void test_liquidator_args(void)
{
	config_keeper_t *c = NULL;
	config_errors_t e;
	const config_action_t *a;
	const config_trigger_t *t;
	const config_gas_t *g;
	uint8_t word[32] = { 0 }, sel[4], topic[32];
	char text[ADDR_TEXT_LEN];

	config_errors_init(&e);
	CHECK_OK(config_load("etc/liquidator.cfg", &c, &e));
	config_errors_release(&e);
	if (!c)
		return;
	CHECK_EQ_INT(c->signer.kind, CONFIG_SIGNER_KEYSTORE);
	CHECK_EQ_STR(c->signer.password_file, "etc/keys/liquidator.pass");
	CHECK_EQ_INT(c->chain.nrpc, 2);
	CHECK_EQ_INT(c->nfeeds, 1);
	/* the liquidation trigger: Aave v3 on mainnet */
	CHECK_EQ_INT(c->ntriggers, 1);
	t = trigger(c, "aave-usdc-borrowers");
	CHECK(t != NULL);
	if (t) {
		CHECK_EQ_INT(t->kind, CONFIG_TRIGGER_LIQUIDATION);
		addr_to_checksum(&t->pool, text);
		CHECK_EQ_STR(text, "0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2");
		CHECK_EQ_STR(t->health.sig, "getUserAccountData(address)");
		CHECK_OK(hex_decode_exact(sel, 4, "bf92857c", 8));
		CHECK_EQ_MEM(t->health.selector, sel, 4);
		CHECK(t->liquidatable.sig == NULL);
		CHECK_EQ_INT(t->health_word, 5);
		CHECK_EQ_STR(t->debt.sig, "balanceOf(address)");
		CHECK_OK(hex_decode_exact(sel, 4, "70a08231", 8));
		CHECK_EQ_MEM(t->debt.selector, sel, 4);
		addr_to_checksum(&t->debt_to, text);
		CHECK_EQ_STR(text, "0x72E95b8931767C79bA4EeE721354d6E99a61D004");
		CHECK_EQ_INT(t->close_factor_pct, 50);
		CHECK_EQ_INT(t->naccounts, 0);
		CHECK_EQ_STR(t->discover.sig,
			     "Borrow(address,address,address,uint256,uint8,uint256,uint16)");
		/* Aave v3 Pool's Borrow topic0, as indexed by explorers */
		CHECK_OK(hex_decode_exact(topic, 32, "b3d084820fb1a9decffb176436bd0255"
					  "8d15fac9b0ddfed8c465bc7359d7dce0", 64));
		CHECK_EQ_MEM(t->discover.topic0, topic, 32);
		CHECK_EQ_INT(t->discover.nargs, 7);
		CHECK_EQ_INT(t->discover_topic, 2);
		CHECK(t->feed == config_feed_find(c, "eth-binance"));
		CHECK_EQ_INT(t->cooldown_ms, 12000);
		CHECK(t->action == config_action_find(c, "liquidate-weth-usdc"));
	}
	a = config_action_find(c, "liquidate-weth-usdc");
	CHECK(a != NULL);
	if (a) {
		CHECK_EQ_INT(a->nargs, 5);
		CHECK_EQ_INT(a->args[0].src, CONFIG_ARG_LITERAL);
		/* WETH, left-padded to a word */
		CHECK_OK(hex_decode_exact(word + 12, 20,
			 "c02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", 40));
		CHECK_EQ_MEM(a->args[0].word, word, 32);
		CHECK_EQ_INT(a->args[2].src, CONFIG_ARG_ACCOUNT);
		CHECK_EQ_STR(a->args[2].text, "$account");
		CHECK_EQ_INT(a->args[3].src, CONFIG_ARG_AMOUNT);
		CHECK_EQ_INT(a->args[4].src, CONFIG_ARG_LITERAL);
		CHECK_EQ_STR(a->args[4].text, "false");
		memset(word, 0, sizeof word);
		CHECK_EQ_MEM(a->args[4].word, word, 32);
		CHECK(a->gas == gas(c, "flashbots"));
		CHECK_EQ_STR(a->notify, "https://hooks.example.com/keeper/liquidator");
		CHECK(!a->has_guard);
	}
	g = gas(c, "flashbots");
	CHECK(g && g->strategy == CONFIG_GAS_PRIVATE && g->mode == CONFIG_RELAY_BUNDLE &&
	      !g->also_public && strcmp(g->relay, "https://relay.flashbots.net") == 0);
	g = gas(c, "flat");
	CHECK(g != NULL);
	if (g) {
		check_wei(&g->max_fee, "80000000000");
		check_wei(&g->priority_fee, "1500000000");
	}
	CHECK_EQ_INT(c->log_format, LOGF_JSON);
	config_free(c);
}

#define LIQ_ACTION "actions = ( { name = \"liq\"; " \
	"to = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"; " \
	"call = \"liquidate(address,uint256)\"; args = [ \"$account\", \"$amount\" ]; " \
	"gas_limit = 300000; gas = \"g\"; } );\n" \
	"gas = ( { name = \"g\"; strategy = \"fixed\"; max_fee_gwei = 50; " \
	"priority_fee_gwei = 2; } );\n"

/* A liquidation trigger with only its required keys: the defaults (debt_to
 * is the pool, close factor 50, health word 0, no discovery, no feed), and
 * one with the bool view, accounts and discovery of topic 1. */
static void test_liquidation_defaults(void)
{
	config_keeper_t *c = NULL;
	config_errors_t e;
	const config_trigger_t *t;
	char text[ADDR_TEXT_LEN];

	CHECK_OK(load_text(LIQ_ACTION "triggers = ( { name = \"l\"; kind = \"liquidation\"; "
			   "pool = \"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512\"; "
			   "health = \"healthFactor(address)\"; debt = \"debtOf(address)\"; "
			   "action = \"liq\"; } );\n", &c, &e));
	config_errors_release(&e);
	if (c) {
		t = &c->triggers[0];
		CHECK_EQ_INT(t->kind, CONFIG_TRIGGER_LIQUIDATION);
		CHECK_EQ_STR(config_trigger_kind_name(t->kind), "liquidation");
		CHECK(addr_eq(&t->debt_to, &t->pool));
		addr_to_checksum(&t->pool, text);
		CHECK_EQ_STR(text, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
		CHECK_EQ_INT(t->close_factor_pct, 50);
		CHECK_EQ_INT(t->health_word, 0);
		CHECK(t->health.sig && !t->liquidatable.sig);
		CHECK(t->discover.sig == NULL);
		CHECK_EQ_INT(t->discover_topic, 1);
		CHECK_EQ_INT(t->naccounts, 0);
		CHECK(t->feed == NULL);
		CHECK_EQ_INT(t->cooldown_ms, 60000);
	}
	config_free(c);

	CHECK_OK(load_text(LIQ_ACTION "triggers = ( { name = \"l\"; kind = \"liquidation\"; "
			   "pool = \"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512\"; "
			   "liquidatable = \"liquidatable(address)\"; debt = \"debtOf(address)\"; "
			   "debt_to = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"; "
			   "close_factor_pct = 100; "
			   "accounts = [ \"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\", "
			   "\"0x90F79bf6EB2c4f870365E785982E1f101E93b906\" ]; "
			   "discover = \"Borrow(address,uint256)\"; "
			   "action = \"liq\"; cooldown_ms = 0; } );\n", &c, &e));
	config_errors_release(&e);
	if (c) {
		uint8_t topic[32];
		t = &c->triggers[0];
		CHECK(t->liquidatable.sig && !t->health.sig);
		CHECK_EQ_STR(t->liquidatable.sig, "liquidatable(address)");
		CHECK(!addr_eq(&t->debt_to, &t->pool));
		CHECK_EQ_INT(t->close_factor_pct, 100);
		CHECK_EQ_INT(t->naccounts, 2);
		if (t->naccounts == 2) {
			addr_to_checksum(&t->accounts[1], text);
			CHECK_EQ_STR(text, "0x90F79bf6EB2c4f870365E785982E1f101E93b906");
		}
		CHECK_EQ_STR(t->discover.sig, "Borrow(address,uint256)");
		/* keccak-256("Borrow(address,uint256)"), from cast keccak */
		CHECK_OK(hex_decode_exact(topic, 32, "cbc04eca7e9da35cb1393a6135a199ca"
					  "52e450d5e9251cbd99f7847d33a36750", 64));
		CHECK_EQ_MEM(t->discover.topic0, topic, 32);
		CHECK_EQ_INT(t->discover_topic, 1);
		CHECK_EQ_INT(t->cooldown_ms, 0);
	}
	config_free(c);
}

static void test_backtest_no_signer(void)
{
	config_keeper_t *c = NULL;
	config_errors_t e;

	config_errors_init(&e);
	CHECK_OK(config_load("etc/backtest.cfg", &c, &e));
	config_errors_release(&e);
	if (!c)
		return;
	CHECK_EQ_INT(c->signer.kind, CONFIG_SIGNER_NONE);
	CHECK(c->metrics_listen == NULL);
	CHECK(c->state_file == NULL);
	CHECK_EQ_INT(c->log_level, LOGL_WARN);
	CHECK(config_feed_find(c, "usdc-usd") != NULL);
	config_free(c);
}

/* One fixed strategy with max_fee_gwei written as `lit`. */
static kerr_t load_fee(const char *lit, u256_t *wei, config_errors_t *e)
{
	char text[512];
	config_keeper_t *c = NULL;
	kerr_t err;

	snprintf(text, sizeof text, "gas = ( { name = \"g\"; strategy = \"fixed\"; "
		 "max_fee_gwei = %s; priority_fee_gwei = 0; } );\n", lit);
	err = load_text(text, &c, e);
	if (c) {
		*wei = c->gas[0].max_fee;
		config_free(c);
	}
	return err;
}

static void fee_ok(const char *lit, const char *want_wei)
{
	config_errors_t e;
	u256_t wei;
	kerr_t err = load_fee(lit, &wei, &e);

	CHECK_MSG(err == KERR_OK, "max_fee_gwei = %s: %s", lit,
		  e.count ? e.msg[0] : kerr_name(err));
	if (err == KERR_OK)
		check_wei(&wei, want_wei);
	config_errors_release(&e);
}

static void fee_bad(const char *lit, const char *want_msg)
{
	config_errors_t e;
	u256_t wei;
	kerr_t err = load_fee(lit, &wei, &e);

	CHECK_MSG(err == KERR_CONFIG_INVALID, "max_fee_gwei = %s accepted", lit);
	CHECK_EQ_INT(e.count, 1);
	if (e.count)
		CHECK_MSG(strstr(e.msg[0], want_msg) != NULL, "%s: no \"%s\" in %s",
			  lit, want_msg, e.msg[0]);
	config_errors_release(&e);
}

static void test_fee_rule(void)
{
	/* floats are read as the decimal written, not the binary double */
	fee_ok("0.1", "100000000");
	fee_ok("1.5", "1500000000");
	fee_ok("30", "30000000000");
	fee_ok("30L", "30000000000");
	fee_ok("30.0", "30000000000");
	fee_ok("0.000000001", "1");
	fee_ok("1e-9", "1");
	fee_ok("2.5e2", "250000000000");
	fee_ok("123456.123456789", "123456123456789");
	fee_ok("999999.999999999", "999999999999999");
	fee_ok("0.3", "300000000");
	/* strings are exact text */
	fee_ok("\"0.1\"", "100000000");
	fee_ok("\"1000000\"", "1000000000000000");
	fee_ok("\"0.000000001\"", "1");
	/* refused, never rounded */
	fee_bad("\"1.0000000001\"", "more than 9 decimals");
	fee_bad("0.0000000001", "more than 9 decimals");
	fee_bad("1.0000000000000002", "more than 15 significant digits");
	fee_bad("0", "must be > 0 and <= 1000000, got 0");
	fee_bad("-1.5", "got -1.5");
	fee_bad("\"-2\"", "got -2");
	fee_bad("1000000.000000001", "more than 15 significant digits");
	fee_bad("\"1000000.000000001\"", "<= 1000000");
	fee_bad("\"1.5 gwei\"", "is not a number of gwei");
	fee_bad("true", "must be a number of gwei");
}

static void test_defaults(void)
{
	config_keeper_t *c = NULL;
	config_errors_t e;
	kerr_t err;

	err = load_text(
		"feeds = ( { name = \"f\"; url = \"wss://x.example/ws\"; price = \"data.p\"; stale_after_ms = 1000; },\n"
		"          { name = \"g\"; url = \"wss://y.example/ws\"; price = \"p\"; stale_after_ms = 1000; } );\n"
		"watch = ( { name = \"w\"; address = \"0x5fbdb2315678afecb367f032d93f642f64180aa3\"; } );\n"
		"gas = ( { name = \"e\"; strategy = \"eip1559\"; max_fee_gwei = 10; priority_fee_gwei = 1; },\n"
		"        { name = \"o\"; strategy = \"outbid\"; max_fee_gwei = 10; },\n"
		"        { name = \"x\"; strategy = \"escalate\"; max_fee_gwei = 10; },\n"
		"        { name = \"p\"; strategy = \"private\"; max_fee_gwei = 10; relay = \"https://r.example\"; mode = \"private_tx\"; } );\n"
		"actions = ( { name = \"a\"; to = \"0x5FBDB2315678AFECB367F032D93F642F64180AA3\"; call = \"pause()\"; gas_limit = 50000; gas = \"e\"; } );\n"
		"triggers = ( { name = \"pm\"; kind = \"price_move\"; feed = \"f\"; window_ms = 1000; threshold_pct = 1; action = \"a\"; },\n"
		"             { name = \"ev\"; kind = \"ewma_vol\"; feed = \"f\"; threshold_pct = 1; warmup = 5; action = \"a\"; },\n"
		"             { name = \"dp\"; kind = \"depeg\"; feed = \"g\"; peg = 1; threshold_pct = 1; direction = \"up\"; action = \"a\"; },\n"
		"             { name = \"of\"; kind = \"outflow\"; watch = \"w\"; window_ms = 1000; threshold_pct = 5; action = \"a\"; },\n"
		"             { name = \"mp\"; kind = \"mempool\"; watch = \"w\"; threshold_pct = 5; action = \"a\"; } );\n",
		&c, &e);
	CHECK_MSG(err == KERR_OK, "%s", e.count ? e.msg[0] : kerr_name(err));
	config_errors_release(&e);
	if (!c)
		return;
	CHECK_EQ_INT(c->triggers[0].direction, CONFIG_DIR_BOTH);
	CHECK_EQ_INT(c->triggers[0].cooldown_ms, 60000);
	CHECK_EQ_INT(c->triggers[0].confirm_ms, 0);
	CHECK_EQ_INT(c->triggers[0].confirm_ticks, 0);
	CHECK(c->triggers[1].lambda == 0.94);
	CHECK_EQ_INT(c->triggers[2].hold_ms, 0);
	CHECK_EQ_INT(c->triggers[2].direction, CONFIG_DIR_UP);
	CHECK(u256_is_zero(&c->triggers[3].min_amount));
	CHECK_EQ_INT(c->triggers[4].nselectors, 0);
	CHECK_EQ_INT(c->triggers[4].nallow, 0);
	CHECK(!c->triggers[4].simulate);
	CHECK(c->gas[0].base_multiplier == 2.0);
	CHECK(c->gas[0].priority_percentile == 50.0);
	CHECK(c->gas[1].bump_pct == 12.5);
	CHECK(c->gas[2].bump_pct == 12.5);
	CHECK_EQ_INT(c->gas[2].every_ms, 0);
	CHECK(!c->gas[3].also_public);
	CHECK_EQ_INT(c->gas[3].mode, CONFIG_RELAY_PRIVATE_TX);
	CHECK_EQ_INT(c->log_level, LOGL_INFO);
	CHECK_EQ_INT(c->log_format, LOGF_TEXT);
	CHECK(c->metrics_listen == NULL);
	CHECK_EQ_INT(c->signer.kind, CONFIG_SIGNER_NONE);
	config_free(c);
}

static void test_int_truncation(void)
{
	config_keeper_t *c = NULL;
	config_errors_t e;
	const char *base =
		"feeds = ( { name = \"f\"; url = \"wss://x.example/ws\"; price = \"p\";\n"
		"  stale_after_ms = %s; } );\n";
	char text[256];

	/* libconfig 1.5 would read 3000000000 as -1294967296 */
	snprintf(text, sizeof text, base, "3000000000");
	CHECK_ERR(load_text(text, &c, &e), KERR_CONFIG_INVALID);
	CHECK_EQ_INT(e.count, 1);
	if (e.count)
		CHECK(strstr(e.msg[0], ":3: integer 3000000000 does not fit in 32 "
			     "bits and libconfig would truncate it; write 3000000000L"));
	config_errors_release(&e);

	snprintf(text, sizeof text, base, "0x80000000");
	CHECK_ERR(load_text(text, &c, &e), KERR_CONFIG_INVALID);
	CHECK_EQ_INT(e.count, 1);
	config_errors_release(&e);

	snprintf(text, sizeof text, base, "99999999999999999999L");
	CHECK_ERR(load_text(text, &c, &e), KERR_CONFIG_INVALID);
	CHECK_EQ_INT(e.count, 1);
	if (e.count)
		CHECK(strstr(e.msg[0], "does not fit in 64 bits"));
	config_errors_release(&e);

	/* with L it is read whole; 2147483647 and floats need nothing */
	snprintf(text, sizeof text, base, "2592000000L");
	CHECK_OK(load_text(text, &c, &e));
	config_errors_release(&e);
	if (c)
		CHECK_EQ_INT(c->feeds[0].stale_after_ms, 2592000000LL);
	config_free(c);
	snprintf(text, sizeof text, base, "2147483647 /* 3000000000 */");
	CHECK_OK(load_text(text, &c, &e));
	config_errors_release(&e);
	if (c)
		CHECK_EQ_INT(c->feeds[0].stale_after_ms, 2147483647);
	config_free(c);
	/* nor in strings or names */
	CHECK_OK(load_text("# 3000000000\nfeeds = ( { name = \"f3000000000\"; "
			   "url = \"wss://x.example/3000000000\"; price = \"p\"; "
			   "stale_after_ms = 1; } );\n", &c, &e));
	config_errors_release(&e);
	config_free(c);
}

static void test_errors_api(void)
{
	config_keeper_t *c = (config_keeper_t *)&c; /* must be reset to NULL */
	config_errors_t e;

	config_errors_init(&e);
	CHECK_ERR(config_load("tests/configs/bad/several-errors.cfg", &c, &e),
		  KERR_CONFIG_INVALID);
	CHECK(c == NULL);
	CHECK_EQ_INT(e.count, 8);
	CHECK_EQ_INT(e.dropped, 0);
	/* in line order, each FILE:LINE: */
	if (e.count == 8) {
		CHECK(strncmp(e.msg[0], "tests/configs/bad/several-errors.cfg:3: ", 40) == 0);
		CHECK(strncmp(e.msg[7], "tests/configs/bad/several-errors.cfg:38: ", 41) == 0);
	}
	config_errors_release(&e);
	CHECK_EQ_INT(e.count, 0);

	c = (config_keeper_t *)&c;
	config_errors_init(&e);
	CHECK_ERR(config_load("tests/configs/bad/syntax-error.cfg", &c, &e),
		  KERR_CONFIG_SYNTAX);
	CHECK(c == NULL);
	CHECK_EQ_INT(e.count, 1);
	if (e.count)
		CHECK_EQ_STR(e.msg[0], "tests/configs/bad/syntax-error.cfg:8: syntax "
			     "error: syntax error");
	config_errors_release(&e);

	CHECK_ERR(config_load("tests/configs/bad/no-such-file.cfg", &c, &e),
		  KERR_IO);
	CHECK_EQ_INT(e.count, 1);
	if (e.count)
		CHECK_EQ_STR(e.msg[0], "tests/configs/bad/no-such-file.cfg: cannot "
			     "read: No such file or directory");
	config_errors_release(&e);

	/* errs may be NULL: the code alone */
	CHECK_ERR(config_load("tests/configs/bad/missing-chain.cfg", &c, NULL),
		  KERR_CONFIG_INVALID);
	CHECK_OK(config_load("etc/guardian.cfg", &c, NULL));
	config_free(c);
	config_free(NULL);
}

static void test_error_cap(void)
{
	/* 64 feeds with 4 errors each: more than CONFIG_MAX_ERRORS */
	size_t cap = 64 * 64 + 64;
	char *text = malloc(cap);
	config_keeper_t *c = NULL;
	config_errors_t e;
	size_t n = 0;

	n += (size_t)snprintf(text + n, cap - n, "feeds = (\n");
	for (int i = 0; i < 64; i++)
		n += (size_t)snprintf(text + n, cap - n, "{ name = \"f%d\"; urll = 1; },\n", i);
	text[n - 2] = '\n';
	text[n - 1] = 0;
	strcat(text, ");\n");
	CHECK_ERR(load_text(text, &c, &e), KERR_CONFIG_INVALID);
	CHECK_EQ_INT(e.count, CONFIG_MAX_ERRORS);
	CHECK_EQ_INT(e.dropped, 64 * 4 - CONFIG_MAX_ERRORS);
	if (e.count) /* the typo is named with a suggestion */
		CHECK(strstr(e.msg[0], "unknown key \"urll\" (did you mean \"url\"?)") ||
		      strstr(e.msg[0], "missing required key"));
	config_errors_release(&e);
	free(text);
}

static void test_list_limits(void)
{
	char text[8192];
	size_t n = 0;
	config_keeper_t *c = NULL;
	config_errors_t e;

	n += (size_t)snprintf(text + n, sizeof text - n, "gas = (\n");
	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(text + n, sizeof text - n,
				      "{ name = \"g%d\"; strategy = \"outbid\"; max_fee_gwei = 1; }%s\n",
				      i, i < 64 ? "," : "");
	snprintf(text + n, sizeof text - n, ");\n");
	CHECK_ERR(load_text(text, &c, &e), KERR_CONFIG_INVALID);
	CHECK_EQ_INT(e.count, 1);
	if (e.count)
		CHECK(strstr(e.msg[0], "gas has 65 entries; the limit is 64"));
	config_errors_release(&e);

	memset(text, 0, sizeof text);
	memcpy(text, "feeds = ( { name = \"", 20);
	memset(text + 20, 'a', 65);
	strcat(text, "\"; url = \"wss://x.example\"; price = \"p\"; stale_after_ms = 1; } );\n");
	CHECK_ERR(load_text(text, &c, &e), KERR_CONFIG_INVALID);
	CHECK_EQ_INT(e.count, 1);
	if (e.count)
		CHECK(strstr(e.msg[0], "must be 1..64 characters"));
	config_errors_release(&e);
}

static void test_secret_perms(void)
{
	config_keeper_t *c = NULL;
	config_errors_t e;
	char text[512];
	const char *key = put_file("k.key", "not a key: only the mode matters\n");

	snprintf(text, sizeof text, "signer = { key_file = \"%s\"; };\n", key);
	chmod(key, 0644);
	CHECK_ERR(load_text(text, &c, &e), KERR_CONFIG_INVALID);
	CHECK_EQ_INT(e.count, 1);
	if (e.count)
		CHECK(strstr(e.msg[0], "is readable by group or others; run: chmod 600"));
	config_errors_release(&e);

	chmod(key, 0600);
	CHECK_OK(load_text(text, &c, &e));
	config_errors_release(&e);
	config_free(c);

	/* absent on this machine: not an error (check runs anywhere) */
	CHECK_OK(load_text("signer = { keystore = \"/nonexistent/ks.json\"; "
			   "password_file = \"/nonexistent/pw\"; };\n", &c, &e));
	config_errors_release(&e);
	if (c)
		CHECK_EQ_INT(c->signer.kind, CONFIG_SIGNER_KEYSTORE);
	config_free(c);
	unlink(key);
}

static void test_names(void)
{
	CHECK_EQ_STR(config_trigger_kind_name(CONFIG_TRIGGER_MEMPOOL), "mempool");
	CHECK_EQ_STR(config_trigger_kind_name(CONFIG_TRIGGER_LIQUIDATION), "liquidation");
	CHECK_EQ_STR(config_trigger_kind_name(CONFIG_TRIGGER_KINDS), "?");
	CHECK_EQ_STR(config_gas_strategy_name(CONFIG_GAS_EIP1559), "eip1559");
	CHECK_EQ_STR(config_direction_name(CONFIG_DIR_DOWN), "down");
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("cannot create %s\n", tmpdir);
		return 1;
	}
	RUN(test_guardian);
	RUN(test_liquidator_args);
	RUN(test_liquidation_defaults);
	RUN(test_backtest_no_signer);
	RUN(test_fee_rule);
	RUN(test_defaults);
	RUN(test_int_truncation);
	RUN(test_errors_api);
	RUN(test_error_cap);
	RUN(test_list_limits);
	RUN(test_secret_perms);
	RUN(test_names);
	unlink(put_file("t.cfg", ""));
	rmdir(tmpdir);
	return t_done();
}
