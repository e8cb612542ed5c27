/*
 * cmd_run: `keeper run -c FILE [--dry-run]`, the live keeper: it connects
 * to the node and the price feeds (keeper/live.h), evaluates every
 * trigger, logs each trip as one line and hands it to the tracker
 * (keeper/tracker.h), which signs and sends the action's transaction (to
 * chain.rpc, or for a `private` gas strategy through its relay) and
 * follows it, posting the action's `notify` webhooks on the way, until
 * SIGINT or SIGTERM; then one summary line goes to stdout.
 *
 * The signer.  Without --dry-run a signer group is required: a keeper
 * that cannot sign guards nothing, and must say so at start rather than
 * at the first trip (exit 2).  The key is loaded, then restricted for good
 * to the (to, selector) pairs of the config's actions and guards
 * (tracker_targets), so that nothing else can ever be signed with it,
 * whatever a bug elsewhere hands it.  With --dry-run the signer is
 * optional; when configured it is loaded and restricted the same way and
 * every would-be transaction is signed and logged, never sent (an
 * operator's check of the whole setup, key included).  A signer that
 * cannot be loaded is a config problem (exit 2), as interface.md's
 * statuses go: the file the config names is missing, unreadable, readable
 * by others, or not a key.
 *
 * A trigger of a kind nothing evaluates would be named at start (every
 * kind of this version is evaluated: the engine's, and mempool and
 * liquidation by live).
 *
 * Signals.  The handlers only set flags and wake the loop (live_stop is
 * async-signal-safe); the work is done on the loop.  The first SIGINT or
 * SIGTERM stops taking trips and lets transactions in flight resolve for
 * up to --drain seconds (default RUN_DRAIN_S_DEFAULT): a pause already sent
 * is followed to its receipt, escalated and re-broadcast as before; then
 * the state is saved and run exits 0, whatever is still in flight being
 * resumed by the next start.  A second SIGINT or SIGTERM stops at once
 * (the state saved first, exit 0).  SIGHUP re-reads the config file: an
 * invalid one has every error logged and the running config stays; a
 * valid one is handed to live_reload(), which applies the settings that
 * can change in place (trigger thresholds and windows, confirm and
 * cooldown; the log group is applied here) and refuses, logging each,
 * differences that need a restart (live.h, "Reloading").  A poll timer on
 * the loop (RUN_SIGNAL_POLL_MS) turns the SIGHUP flag into that work.
 *
 * Exit 0 after a clean stop (the tracker's state is saved), 1 when the
 * loop, a connection or the signer's library cannot start, 2 for bad usage
 * or an invalid config (a trigger the detectors refuse, a missing or bad
 * signer, a state file that is not this keeper's, included).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper/cli.h"
#include "keeper/config.h"
#include "keeper/det_price_move.h"
#include "keeper/engine.h"
#include "keeper/kerr.h"
#include "keeper/live.h"
#include "keeper/log.h"
#include "keeper/loop.h"
#include "keeper/tracker.h"
#include "signer/signer.h"

/* How long the stop follows transactions in flight, without --drain. */
#define RUN_DRAIN_S_DEFAULT 20
#define RUN_DRAIN_S_MAX 3600
/* How often the loop looks at the SIGHUP flag. */
#define RUN_SIGNAL_POLL_MS 100

static live_t *sig_live;
static volatile sig_atomic_t sig_got, sig_again, sig_hup;

static void on_signal(int sig)
{
	if (sig_got)
		sig_again = sig;
	else
		sig_got = sig;
	if (sig_live)
		live_stop(sig_live);
}

static void on_hup(int sig)
{
	(void)sig;
	sig_hup = 1;
}

/* What the SIGHUP poll timer needs. */
typedef struct {
	live_t *lv;
	const char *path;
	config_keeper_t *reloaded;  /* the latest accepted reload, or NULL */
	loop_timer_t poll;
} run_reload_t;

/* SIGHUP's work, on the loop: load, validate, hand to live_reload(). */
static void reload(run_reload_t *r)
{
	static config_errors_t errs;
	config_keeper_t *cfg = NULL;
	kerr_t err;

	log_info("run", "SIGHUP: reloading %s", r->path);
	config_errors_init(&errs);
	if ((err = config_load(r->path, &cfg, &errs))) {
		for (size_t i = 0; i < errs.count; i++)
			log_error("run", "reload: %s", errs.msg[i]);
		if (errs.dropped)
			log_error("run", "reload: %zu more errors not shown", errs.dropped);
		log_error("run", "reload of %s failed (%s); the running config stays", r->path,
			  kerr_str(err));
		config_errors_release(&errs);
		return;
	}
	config_errors_release(&errs);
	if (live_reload(r->lv, cfg) != KERR_OK) {
		config_free(cfg);
		return;
	}
	log_setup(cfg->log_level, cfg->log_format);
	/* The previous reload's config is no longer referenced: live_reload()
	 * replaced everything that pointed into it. */
	config_free(r->reloaded);
	r->reloaded = cfg;
}

static void on_poll(loop_t *loop, void *arg)
{
	run_reload_t *r = arg;

	(void)loop;
	if (sig_hup) {
		sig_hup = 0;
		reload(r);
	}
	loop_timer_arm_ms(&r->poll, RUN_SIGNAL_POLL_MS);
}

/* --drain SECONDS: decimal, 0..RUN_DRAIN_S_MAX, into milliseconds. */
static bool parse_drain(const char *s, uint32_t *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > RUN_DRAIN_S_MAX)
		return false;
	*ms = (uint32_t)(v * 1000.0 + 0.5);
	return true;
}

static const struct option run_longopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "drain", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void print_summary(const live_t *lv, bool dry, int64_t ms, const char *why)
{
	live_stats_t st;
	const engine_stats_t *e = &st.engine;
	const tracker_stats_t *t = &st.tracker;

	live_stats(lv, &st);
	printf("keeper run%s: %lld.%03lld s, %llu events (%llu price, %llu log, "
	       "%llu head, %llu pending_tx, %llu feed_stale, %llu feed_back), %llu trips; "
	       "balances %llu read, %llu failed; mempool %llu matched, %llu simulated, "
	       "%llu unjudged; liquidation %llu scans, %llu errors; actions %llu dry-run, "
	       "%llu sent, %llu replaced, %llu mined, %llu reverted, %llu stopped by guard, "
	       "%llu failed, %llu in flight; relay %llu accepted, %llu failed; webhooks "
	       "%llu delivered, %llu failed, %llu dropped; %s\n",
	       dry ? " --dry-run" : "", (long long)(ms / 1000), (long long)(ms % 1000),
	       (unsigned long long)e->events, (unsigned long long)e->by_event[EV_PRICE],
	       (unsigned long long)e->by_event[EV_LOG], (unsigned long long)e->by_event[EV_HEAD],
	       (unsigned long long)e->by_event[EV_PENDING_TX],
	       (unsigned long long)e->by_event[EV_FEED_STALE],
	       (unsigned long long)e->by_event[EV_FEED_BACK], (unsigned long long)st.trips,
	       (unsigned long long)st.balance_ok, (unsigned long long)st.balance_failed,
	       (unsigned long long)st.mempool_matched, (unsigned long long)st.sim_requests,
	       (unsigned long long)st.sim_unjudged, (unsigned long long)st.liq_scans,
	       (unsigned long long)st.liq_errors, (unsigned long long)t->dry_runs,
	       (unsigned long long)t->sent, (unsigned long long)t->replaced,
	       (unsigned long long)t->mined, (unsigned long long)t->reverted,
	       (unsigned long long)t->guard_stops, (unsigned long long)t->failed,
	       (unsigned long long)t->in_flight, (unsigned long long)t->relayed,
	       (unsigned long long)t->relay_errors, (unsigned long long)st.notify.delivered,
	       (unsigned long long)st.notify.failed, (unsigned long long)st.notify.dropped, why);
	fflush(stdout);
}

/* The config's signer, loaded and restricted to the actions; the reason
 * on stderr and the exit status on failure. */
static int load_signer(const char *cfg_path, const config_keeper_t *cfg, signer_t **out)
{
	const config_signer_t *c = &cfg->signer;
	addr_t to[SIGNER_MAX_TARGETS];
	uint8_t sel[SIGNER_MAX_TARGETS][4];
	const char *file;
	signer_t *s = NULL;
	size_t n;
	int saved_errno;
	kerr_t err;

	*out = NULL;
	if ((err = signer_new(&s)) != KERR_OK) {
		fprintf(stderr, "keeper: cannot start the signer: %s\n", kerr_str(err));
		return CLI_EXIT_FAIL;
	}
	errno = 0;
	if (c->kind == CONFIG_SIGNER_KEY_FILE) {
		file = c->key_file;
		err = signer_load_key_file(s, file);
	} else {
		file = c->keystore;
		err = signer_load_keystore(s, c->keystore, c->password_file);
		/* Only the password file must be private (the keystore is
		 * encrypted); an unreadable file is the password file when the
		 * keystore reads fine. */
		if (err == KERR_KEY_PERMS || (err == KERR_IO && access(c->keystore, R_OK) == 0))
			file = c->password_file;
	}
	saved_errno = errno;
	if (err == KERR_OK) {
		if ((err = tracker_targets(cfg, to, sel, SIGNER_MAX_TARGETS, &n)) == KERR_OK)
			err = signer_restrict(s, to, (const uint8_t (*)[4])sel, n);
		if (err == KERR_OK) {
			*out = s;
			return CLI_EXIT_OK;
		}
		fprintf(stderr, "keeper: %s: cannot restrict the signer to the actions: %s\n",
			cfg_path, kerr_str(err));
		signer_free(s);
		return CLI_EXIT_USAGE;
	}
	signer_free(s);
	switch (err) {
	case KERR_IO:
		fprintf(stderr, "keeper: %s: signer: cannot read %s: %s\n", cfg_path, file,
			saved_errno ? strerror(saved_errno) : "read failed");
		break;
	case KERR_KEY_PERMS:
		fprintf(stderr, "keeper: %s: signer: %s is readable by group or others; a "
			"secret file must be private: chmod 600 %s\n", cfg_path, file, file);
		break;
	case KERR_KEY_FORMAT:
		fprintf(stderr, "keeper: %s: signer: %s is not a key file (want one "
			"0x-prefixed 64-hex-digit private key)\n", cfg_path, file);
		break;
	case KERR_KEYSTORE_PASSWORD:
		fprintf(stderr, "keeper: %s: signer: %s: wrong password (from %s)\n", cfg_path,
			file, c->password_file);
		break;
	case KERR_NOMEM:
	case KERR_CRYPTO:
		fprintf(stderr, "keeper: %s: signer: %s: %s\n", cfg_path, file, kerr_str(err));
		return CLI_EXIT_FAIL;
	default:
		fprintf(stderr, "keeper: %s: signer: %s: %s\n", cfg_path, file, kerr_str(err));
		break;
	}
	return CLI_EXIT_USAGE;
}

int cmd_run(int argc, char **argv)
{
	const char *cfg_path = NULL, *why;
	bool dry = false;
	config_keeper_t *cfg = NULL;
	signer_t *signer = NULL;
	live_t *lv = NULL;
	live_opts_t lo;
	addr_t from;
	char from_text[ADDR_TEXT_LEN];
	struct sigaction sa, old_int, old_term, old_pipe, old_hup;
	run_reload_t rr;
	uint32_t drain_ms = RUN_DRAIN_S_DEFAULT * 1000;
	size_t bad = SIZE_MAX, ext = 0;
	int64_t t0;
	int c, status = CLI_EXIT_FAIL;
	kerr_t err;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":c:h", run_longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfg_path = optarg;
			break;
		case 'n':
			dry = true;
			break;
		case 'd':
			if (!parse_drain(optarg, &drain_ms))
				return cli_usage_error("run", "--drain wants seconds, 0..%d: %s",
						       RUN_DRAIN_S_MAX, optarg);
			break;
		case 'h':
			fputs(cli_help_text("run"), stdout);
			return CLI_EXIT_OK;
		default:
			return cli_option_error("run", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("run", "unexpected argument: %s", argv[optind]);
	if (!cfg_path)
		return cli_usage_error("run", "missing -c FILE");

	if ((err = config_load_report(cfg_path, &cfg, stderr)))
		return err == KERR_NOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
	log_setup(cfg->log_level, cfg->log_format);
	if (cfg->signer.kind == CONFIG_SIGNER_NONE && !dry) {
		fprintf(stderr, "keeper: %s: no signer group: run signs and sends its actions "
			"and needs signer = { key_file = ...; } (or keystore and "
			"password_file); use --dry-run to only log them\n", cfg_path);
		status = CLI_EXIT_USAGE;
		goto done;
	}
	if (cfg->signer.kind != CONFIG_SIGNER_NONE &&
	    (status = load_signer(cfg_path, cfg, &signer)) != CLI_EXIT_OK)
		goto done;
	status = CLI_EXIT_FAIL;

	memset(&lo, 0, sizeof lo);
	lo.signer = signer;
	lo.dry_run = dry;
	lo.drain_ms = drain_ms;
	if ((err = live_new(cfg, &lo, &lv, &bad))) {
		if (bad < cfg->ntriggers) {
			const config_trigger_t *t = &cfg->triggers[bad];

			fprintf(stderr, "%s:%d: trigger \"%s\": %s\n", cfg_path, t->line,
				t->name, kerr_str(err));
			status = CLI_EXIT_USAGE;
		} else if (err == KERR_STATE_INVALID) {
			/* logged by the tracker, with the reason */
			fprintf(stderr, "keeper: %s: state_file %s: %s\n", cfg_path,
				cfg->state_file, kerr_str(err));
			status = CLI_EXIT_USAGE;
		} else {
			fprintf(stderr, "keeper: cannot set up: %s\n", kerr_str(err));
		}
		goto done;
	}
	for (size_t i = 0; i < cfg->ntriggers; i++) {
		if (!live_evaluates(lv, i)) {
			log_warn("run", "trigger %s (%s) is not evaluated by this version",
				 cfg->triggers[i].name,
				 config_trigger_kind_name(cfg->triggers[i].kind));
			ext++;
		}
	}

	sig_got = sig_again = sig_hup = 0;
	sig_live = lv;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, &old_hup);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);
	memset(&rr, 0, sizeof rr);
	rr.lv = lv;
	rr.path = cfg_path;
	loop_timer_init(&rr.poll, live_loop(lv), on_poll, &rr);
	loop_timer_arm_ms(&rr.poll, RUN_SIGNAL_POLL_MS);

	if (signer && signer_address(signer, &from) == KERR_OK)
		addr_to_checksum(&from, from_text);
	else
		snprintf(from_text, sizeof from_text, "none");
	if (dry)
		log_info("run", "dry run: %zu triggers (%zu evaluated), %zu feeds, node %s, "
			 "signer %s; nothing is sent", cfg->ntriggers, cfg->ntriggers - ext,
			 cfg->nfeeds, cfg->chain.ws, from_text);
	else
		log_info("run", "%zu triggers (%zu evaluated), %zu feeds, %zu actions, node %s; "
			 "sending as %s to %zu rpc endpoints, state file %s", cfg->ntriggers,
			 cfg->ntriggers - ext, cfg->nfeeds, cfg->nactions, cfg->chain.ws,
			 from_text, cfg->chain.nrpc, cfg->state_file ? cfg->state_file : "none");
	t0 = cli_mono_ms();
	err = live_run(lv);
	loop_timer_cancel(&rr.poll);

	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	sig_live = NULL;

	{
		live_stats_t st;

		live_stats(lv, &st);
		if (err)
			why = "stopped: error";
		else if (!sig_got)
			why = "stopped";
		else if (st.aborted)
			why = sig_got == SIGINT ? "stopped by SIGINT, then at once by a second signal"
						: "stopped by SIGTERM, then at once by a second signal";
		else if (st.drain_expired)
			why = sig_got == SIGINT ? "stopped by SIGINT after the drain deadline"
						: "stopped by SIGTERM after the drain deadline";
		else
			why = sig_got == SIGINT ? "stopped by SIGINT" : "stopped by SIGTERM";
	}
	print_summary(lv, dry, cli_mono_ms() - t0, why);
	if (!err)
		status = CLI_EXIT_OK;
	live_free(lv);
	lv = NULL;
	config_free(rr.reloaded);
done:
	live_free(lv);
	signer_free(signer);
	config_free(cfg);
	return status;
}
