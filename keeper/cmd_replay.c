/*
 * cmd_replay: `keeper replay -c FILE EVENTS [--report OUT.json]
 * [--html OUT.html] [--gas FILE]`, the backtest: the config's triggers over
 * a recorded or imported events file on a virtual clock (keeper/replay.h),
 * a summary on stdout, and the report files (keeper/report.h).  It never
 * connects anywhere and never sends: the transactions in the report are
 * what `run` would have built, signed with the config's signer when it has
 * one (restricted, as live would be, to the config's action targets).
 *
 * Exit 0 after the whole file was replayed and the reports written; 1 when
 * the events file, the gas file or the key cannot be read (or is not a gas
 * file), or a report cannot be written; 2 for bad usage or an invalid
 * config (a trigger the detectors refuse included).  Bad lines in the
 * events file are counted and summarised, never fatal.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper/cli.h"
#include "keeper/config.h"
#include "keeper/kerr.h"
#include "keeper/log.h"
#include "keeper/replay.h"
#include "keeper/replay_file.h"
#include "keeper/report.h"
#include "signer/signer.h"

static const struct option replay_longopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "report", required_argument, NULL, 'r' },
	{ "html", required_argument, NULL, 'H' },
	{ "gas", required_argument, NULL, 'g' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The config's signer, restricted to its actions' (to, selector) pairs.
 * NULL with status 0 when the config has none. */
static int load_signer(const config_keeper_t *cfg, signer_t **out)
{
	addr_t to[CONFIG_MAX_ACTIONS];
	uint8_t sel[CONFIG_MAX_ACTIONS][4];
	const char *file;
	signer_t *s = NULL;
	kerr_t err;
	int saved;

	*out = NULL;
	if (cfg->signer.kind == CONFIG_SIGNER_NONE)
		return CLI_EXIT_OK;
	if ((err = signer_new(&s))) {
		fprintf(stderr, "keeper: cannot start the signer: %s\n", kerr_str(err));
		return CLI_EXIT_FAIL;
	}
	errno = 0;
	if (cfg->signer.kind == CONFIG_SIGNER_KEY_FILE) {
		file = cfg->signer.key_file;
		err = signer_load_key_file(s, file);
	} else {
		file = cfg->signer.keystore;
		err = signer_load_keystore(s, cfg->signer.keystore, cfg->signer.password_file);
		if (err == KERR_KEY_PERMS || (err == KERR_IO && access(file, R_OK) == 0))
			file = cfg->signer.password_file;
	}
	saved = errno;
	if (err) {
		if (err == KERR_IO)
			fprintf(stderr, "keeper: cannot read %s: %s\n", file,
				saved ? strerror(saved) : "read failed");
		else if (err == KERR_KEY_PERMS)
			fprintf(stderr, "keeper: %s is readable by group or others; "
				"a secret file must be private: chmod 600 %s\n", file, file);
		else
			fprintf(stderr, "keeper: %s: %s\n", file, kerr_str(err));
		signer_free(s);
		return CLI_EXIT_FAIL;
	}
	for (size_t i = 0; i < cfg->nactions; i++) {
		to[i] = cfg->actions[i].to;
		memcpy(sel[i], cfg->actions[i].call.selector, 4);
	}
	if ((err = signer_restrict(s, to, (const uint8_t (*)[4])sel, cfg->nactions))) {
		fprintf(stderr, "keeper: cannot restrict the signer: %s\n", kerr_str(err));
		signer_free(s);
		return CLI_EXIT_FAIL;
	}
	*out = s;
	return CLI_EXIT_OK;
}

static int write_file(const char *path, const char *what, const char *buf, size_t len)
{
	FILE *f = fopen(path, "w");
	int saved;

	if (!f) {
		fprintf(stderr, "keeper: cannot write the %s %s: %s\n", what, path,
			strerror(errno));
		return CLI_EXIT_FAIL;
	}
	if (fwrite(buf, 1, len, f) != len || fflush(f) != 0) {
		saved = errno;
		fclose(f);
		fprintf(stderr, "keeper: cannot write the %s %s: %s\n", what, path,
			strerror(saved));
		return CLI_EXIT_FAIL;
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "keeper: cannot write the %s %s: %s\n", what, path,
			strerror(errno));
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

static void print_summary(const replay_t *r, const char *events)
{
	const config_keeper_t *cfg = replay_config(r);
	replay_stats_t st;
	bool any = false;

	replay_stats(r, &st);
	printf("keeper replay: %s: %llu lines, %llu events (%llu price, %llu head, %llu log, "
	       "%llu pending_tx), duration %lld ms, %llu trips, %llu bad lines; nothing sent\n",
	       events, (unsigned long long)st.lines, (unsigned long long)st.events,
	       (unsigned long long)st.by_event[EV_PRICE], (unsigned long long)st.by_event[EV_HEAD],
	       (unsigned long long)st.by_event[EV_LOG],
	       (unsigned long long)st.by_event[EV_PENDING_TX],
	       (long long)(st.first_t >= 0 ? st.last_t - st.first_t : 0),
	       (unsigned long long)st.trips, (unsigned long long)st.bad);
	printf("trips by trigger:");
	for (size_t i = 0; i < cfg->ntriggers; i++)
		printf("%s %s %llu", i ? "," : "", cfg->triggers[i].name,
		       (unsigned long long)replay_trigger_trips(r, i));
	printf("%s\n", cfg->ntriggers ? "" : " none");
	if (st.bad) {
		printf("bad lines by kind:");
		for (unsigned k = 1; k < REPLAY_BAD_KINDS; k++)
			if (st.bad_by[k]) {
				printf("%s %s %llu", any ? "," : "", replay_bad_name(k),
				       (unsigned long long)st.bad_by[k]);
				any = true;
			}
		printf("\n");
	}
	if (st.mempool_matched)
		printf("mempool triggers: %llu matches of pending transactions, %llu not evaluated "
		       "(simulate = true needs a node; a replay has none)\n",
		       (unsigned long long)st.mempool_matched,
		       (unsigned long long)st.mempool_unevaluated);
	if (st.trips_dropped)
		printf("%llu trips beyond the first %zu are counted but not listed\n",
		       (unsigned long long)st.trips_dropped, (size_t)REPLAY_MAX_TRIPS);
	fflush(stdout);
}

/* A trigger the engine refused, named as config errors are. */
static void trigger_refused(const config_keeper_t *cfg, const char *path, size_t bad,
			    kerr_t err)
{
	const config_trigger_t *t = &cfg->triggers[bad];

	fprintf(stderr, "%s:%d: trigger \"%s\": %s\n", path, t->line, t->name,
		kerr_str(err));
}

int cmd_replay(int argc, char **argv)
{
	const char *cfg_path = NULL, *events, *report = NULL, *html = NULL, *gas_path = NULL;
	config_keeper_t *cfg = NULL;
	replay_gas_t gas = { NULL, 0 };
	signer_t *signer = NULL;
	replay_t *r = NULL;
	replay_file_t *f = NULL;
	replay_opts_t o;
	size_t bad = SIZE_MAX, len;
	char *buf;
	int c, status = CLI_EXIT_FAIL;
	kerr_t err;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":c:h", replay_longopts, NULL)) != -1) {
		switch (c) {
		case 'c': cfg_path = optarg; break;
		case 'r': report = optarg; break;
		case 'H': html = optarg; break;
		case 'g': gas_path = optarg; break;
		case 'h':
			fputs(cli_help_text("replay"), stdout);
			return CLI_EXIT_OK;
		default:
			return cli_option_error("replay", c, argv);
		}
	}
	if (!cfg_path)
		return cli_usage_error("replay", "missing -c FILE");
	if (optind >= argc)
		return cli_usage_error("replay", "missing EVENTS (the events file)");
	if (optind + 1 < argc)
		return cli_usage_error("replay", "unexpected argument: %s", argv[optind + 1]);
	events = argv[optind];

	if ((err = config_load_report(cfg_path, &cfg, stderr)))
		return err == KERR_NOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
	log_setup(cfg->log_level, cfg->log_format);

	if (gas_path) {
		size_t where;
		const char *what;

		errno = 0;
		if ((err = replay_gas_load(gas_path, &gas, &where, &what))) {
			if (err == KERR_IO)
				fprintf(stderr, "keeper: cannot read %s: %s\n", gas_path,
					errno ? strerror(errno) : "read failed");
			else if (where != SIZE_MAX)
				fprintf(stderr, "keeper: %s: bucket %zu: %s: %s\n", gas_path, where,
					what ? what : "?", kerr_str(err));
			else
				fprintf(stderr, "keeper: %s: %s%s%s\n", gas_path, what ? what : "",
					what ? ": " : "", kerr_str(err));
			goto done;
		}
	}
	if ((status = load_signer(cfg, &signer)) != CLI_EXIT_OK)
		goto done;
	status = CLI_EXIT_FAIL;

	memset(&o, 0, sizeof o);
	o.gas = gas_path ? &gas : NULL;
	o.signer = signer;
	if ((err = replay_new(cfg, &o, &r, &bad))) {
		if (bad < cfg->ntriggers) {
			trigger_refused(cfg, cfg_path, bad, err);
			status = CLI_EXIT_USAGE;
		} else {
			fprintf(stderr, "keeper: cannot set up the replay: %s\n", kerr_str(err));
		}
		goto done;
	}
	for (size_t i = 0; i < cfg->ntriggers; i++) {
		const config_trigger_t *t = &cfg->triggers[i];

		if (t->kind == CONFIG_TRIGGER_LIQUIDATION)
			log_warn("replay", "trigger %s (liquidation) is not evaluated by replay: "
				 "it reads positions from the node", t->name);
		else if (t->kind == CONFIG_TRIGGER_MEMPOOL && t->simulate)
			log_warn("replay", "trigger %s (mempool, simulate = true) is not evaluated "
				 "by replay: there is no node to simulate against; its matches "
				 "are counted in the summary", t->name);
	}

	errno = 0;
	if ((err = replay_file_open(&f, events, NULL))) {
		if (err == KERR_IO)
			fprintf(stderr, "keeper: cannot read %s: %s\n", events,
				errno ? strerror(errno) : "open failed");
		else
			fprintf(stderr, "keeper: %s: %s\n", events, kerr_str(err));
		goto done;
	}
	if ((err = replay_run(r, f))) {
		int e = replay_file_errno(f);

		fprintf(stderr, "keeper: %s: %s%s%s\n", events, kerr_str(err),
			e ? ": " : "", e ? strerror(e) : "");
		goto done;
	}
	print_summary(r, events);

	if (report) {
		if ((err = report_json(r, &buf, &len))) {
			fprintf(stderr, "keeper: the report: %s\n", kerr_str(err));
			goto done;
		}
		status = write_file(report, "report", buf, len);
		free(buf);
		if (status != CLI_EXIT_OK)
			goto done;
	}
	if (html) {
		const char *base = strrchr(events, '/');

		if ((err = report_html(r, base ? base + 1 : events, &buf, &len))) {
			fprintf(stderr, "keeper: the HTML report: %s\n", kerr_str(err));
			status = CLI_EXIT_FAIL;
			goto done;
		}
		status = write_file(html, "HTML report", buf, len);
		free(buf);
		if (status != CLI_EXIT_OK)
			goto done;
	}
	status = CLI_EXIT_OK;
done:
	replay_file_close(f);
	replay_free(r);
	signer_free(signer);
	replay_gas_free(&gas);
	config_free(cfg);
	return status;
}
