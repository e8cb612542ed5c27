/*
 * cmd_run: `keeper run -c FILE --dry-run`, the live keeper without its
 * hands: it connects to the node and the price feeds (keeper/live.h),
 * evaluates every trigger the engine knows, and logs each trip as one line,
 * until SIGINT or SIGTERM; then one summary line goes to stdout.
 *
 * Without --dry-run it refuses (exit 2) rather than pretend: building,
 * signing and sending the actions is the next step of the project, and an
 * operator who asks `run` to guard a protocol must not believe it does.
 * A trigger of a kind nothing evaluates yet would be named at start for
 * the same reason (every kind of this version is evaluated: the engine's,
 * and mempool and liquidation by live).
 *
 * Exit 0 after a clean stop, 1 when the loop or a connection cannot start,
 * 2 for bad usage or an invalid config (a trigger the detectors refuse
 * included).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "keeper/cli.h"
#include "keeper/config.h"
#include "keeper/det_price_move.h"
#include "keeper/engine.h"
#include "keeper/kerr.h"
#include "keeper/live.h"
#include "keeper/log.h"

static live_t *sig_live;
static volatile sig_atomic_t sig_got;

static void on_signal(int sig)
{
	sig_got = sig;
	if (sig_live)
		live_stop(sig_live);
}

static const struct option run_longopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_summary(const live_t *lv, int64_t ms, const char *why)
{
	live_stats_t st;
	const engine_stats_t *e = &st.engine;

	live_stats(lv, &st);
	printf("keeper run --dry-run: %lld.%03lld s, %llu events (%llu price, %llu log, "
	       "%llu head, %llu pending_tx, %llu feed_stale, %llu feed_back), %llu trips; "
	       "balances %llu read, %llu failed; mempool %llu matched, %llu simulated, "
	       "%llu unjudged; liquidation %llu scans, %llu errors; %s\n",
	       (long long)(ms / 1000), (long long)(ms % 1000),
	       (unsigned long long)e->events, (unsigned long long)e->by_event[EV_PRICE],
	       (unsigned long long)e->by_event[EV_LOG], (unsigned long long)e->by_event[EV_HEAD],
	       (unsigned long long)e->by_event[EV_PENDING_TX],
	       (unsigned long long)e->by_event[EV_FEED_STALE],
	       (unsigned long long)e->by_event[EV_FEED_BACK], (unsigned long long)st.trips,
	       (unsigned long long)st.balance_ok, (unsigned long long)st.balance_failed,
	       (unsigned long long)st.mempool_matched, (unsigned long long)st.sim_requests,
	       (unsigned long long)st.sim_unjudged, (unsigned long long)st.liq_scans,
	       (unsigned long long)st.liq_errors, why);
	fflush(stdout);
}

int cmd_run(int argc, char **argv)
{
	const char *cfg_path = NULL, *why;
	bool dry = false;
	config_keeper_t *cfg = NULL;
	live_t *lv = NULL;
	struct sigaction sa, old_int, old_term, old_pipe;
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
	if (!dry) {
		fputs("keeper: sending transactions is not built yet: use --dry-run\n", stderr);
		return CLI_EXIT_USAGE;
	}

	if ((err = config_load_report(cfg_path, &cfg, stderr)))
		return err == KERR_NOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
	log_setup(cfg->log_level, cfg->log_format);

	if ((err = live_new(cfg, NULL, &lv, &bad))) {
		if (bad < cfg->ntriggers) {
			const config_trigger_t *t = &cfg->triggers[bad];

			fprintf(stderr, "%s:%d: trigger \"%s\": %s\n", cfg_path, t->line,
				t->name, kerr_str(err));
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

	sig_got = 0;
	sig_live = lv;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);

	log_info("run", "dry run: %zu triggers (%zu evaluated), %zu feeds, node %s; "
		 "nothing is sent", cfg->ntriggers, cfg->ntriggers - ext, cfg->nfeeds,
		 cfg->chain.ws);
	t0 = mono_ms();
	err = live_run(lv);

	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	sig_live = NULL;

	if (err)
		why = "stopped: error";
	else if (sig_got == SIGINT)
		why = "stopped by SIGINT";
	else if (sig_got == SIGTERM)
		why = "stopped by SIGTERM";
	else
		why = "stopped";
	print_summary(lv, mono_ms() - t0, why);
	if (!err)
		status = CLI_EXIT_OK;
done:
	live_free(lv);
	config_free(cfg);
	return status;
}
