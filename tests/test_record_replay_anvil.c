/*
 * test_record_replay_anvil: a recording made by `keeper record` of a live
 * anvil session, replayed, gives the trips the live dry-run gave (keeper
 * issue 6, point 2).  On 127.0.0.1: an anvil (foundry 1.7.1 from .deps)
 * mining a block every second with tests/contracts/Erc20 deployed by cast,
 * and a tests/feedsrv playing a scripted trade feed.  $KEEPER (the build's
 * keeper; default: bin/keeper beside this program's directory) runs twice at
 * once on one config, as `keeper record` and as `keeper run --dry-run`:
 *   - depeg (peg 1, 2 % down, no hold) and price_move (5 % down within a
 *     minute) on the feed, whose script is noise around 1.000, a fall to
 *     0.97 (the depeg trips; price_move not yet), a fall to 0.93 (price_move
 *     trips; the depeg is in its cooldown), a recovery, then silence;
 *   - stale on the feed (3 s of silence), which the silence trips;
 *   - mempool on the Erc20 with simulate = false and a 1 ms cooldown, which
 *     each of the three pending mint() calls cast sends to it trips.
 * When the dry-run has logged all six trips, both get SIGTERM, and `keeper
 * replay -c CFG RECORDING --report R.json` runs on the recording.  Then,
 * per trigger in order, the report's trips equal the dry-run's trip lines:
 * trigger and kind always; value (as the log prints it, %.6g) and time for
 * the price triggers, which trip on the feed's own timestamps; the tx hash
 * for the mempool ones (their time is arrival, which differs between two
 * processes); for stale, whose value and time are arrival times too, the
 * time within 2 s (the two processes' feed connections start apart) and a
 * silence over after_ms.  The replay's summary says nothing was dropped
 * and no line was bad.
 * Bounded by a 90 s alarm; anvil, feedsrv and both keepers are killed at
 * exit, on a fatal signal and on the alarm.
 */
#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "keeper/log.h"
#include "tests/e2e.h"
#include "tests/feedsrv.h"

/* The feed's clock: trades 100 ms apart from here. */
#define FEED_T0 1700000000000LL
#define STALE_MS 3000
#define N_MINTS 3
#define N_TRIPS (3 + N_MINTS)

static char token[64];
static const char *cfg_path, *feed_path, *rec_path, *rep_path;
/* record's and replay's output (the dry run's: keeper_out, keeper_err) */
static const char *rec_out, *rec_err, *rp_out, *rp_err;
static pid_t rec_pid = -1;

/* ---- chain */

/* A pending mint() to the token with the given nonce (--async does not
 * wait for the previous one to be mined, so cast cannot count them): its
 * hash (lowercase 0x…) into hash. */
static bool send_mint(int i, unsigned long long nonce, char hash[67])
{
	char out[512];

	if (cast(out, sizeof out, "send --async --private-key %s --nonce %llu %s "
		 "'mint(address,uint256)' %s %d000", K0, nonce, token, ACCT0, i + 1))
		return false;
	if (strlen(out) != 66 || strncmp(out, "0x", 2) != 0)
		return false;
	for (int k = 0; k < 66; k++)
		hash[k] = (char)tolower((unsigned char)out[k]);
	hash[66] = 0;
	return true;
}

/* ---- the feed */

static bool write_feed(void)
{
	static char text[16384];
	size_t n = 0;
	int i = 0;

#define TICK(px) do { \
		double p_ = (px); \
		n += (size_t)snprintf(text + n, sizeof text - n, \
			"{\"e\":\"trade\",\"p\":\"%.4f\",\"T\":%lld}\n", p_, FEED_T0 + 100LL * i); \
		i++; \
	} while (0)
	while (i < 20)
		TICK(1.0 + ((i * 7) % 5 - 2) * 0.0005);   /* 1.000 +- 0.1 % */
	while (i < 26)
		TICK(0.97);                               /* depeg: 3 % */
	while (i < 32)
		TICK(0.93);                               /* price_move: 7 % */
	while (i < 40)
		TICK(0.999);                              /* back; then silence */
#undef TICK
	return write_text(feed_path, text);
}

/* ---- the comparison */

typedef struct {
	char trigger[32], kind[32], value[32], time[32], tx[67];
} trip_t;

#define MAXT 32

/* The dry-run's trip lines, in order. */
static size_t live_trips(trip_t *t)
{
	size_t n = 0;
	const char *p = logbuf;

	read_log();
	while (n < MAXT && (p = strstr(p, " trip: "))) {
		const char *e = strchr(p, '\n');
		char line[2048];
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len >= sizeof line)
			len = sizeof line - 1;
		memcpy(line, p, len);
		line[len] = 0;
		memset(&t[n], 0, sizeof t[n]);
		sscanf(line, " trip: %31s", t[n].trigger);
		field(line, "kind", t[n].kind, sizeof t[n].kind);
		field(line, "value", t[n].value, sizeof t[n].value);
		field(line, "time", t[n].time, sizeof t[n].time);
		field(line, "tx", t[n].tx, sizeof t[n].tx);
		n++;
		p += len;
	}
	return n;
}

/* The report's trips, as the log would print them. */
static size_t report_trips(trip_t *t, json_t **root)
{
	json_error_t je;
	json_t *arr, *x;
	size_t i, n = 0;

	*root = json_load_file(rep_path, 0, &je);
	CHECK_MSG(*root != NULL, "report: %s", je.text);
	if (!*root || !(arr = json_object_get(*root, "trips")))
		return 0;
	json_array_foreach(arr, i, x) {
		const char *tx = json_string_value(json_object_get(x, "cause_tx"));

		if (n == MAXT)
			break;
		memset(&t[n], 0, sizeof t[n]);
		snprintf(t[n].trigger, sizeof t[n].trigger, "%s",
			 json_string_value(json_object_get(x, "trigger")));
		snprintf(t[n].kind, sizeof t[n].kind, "%s",
			 json_string_value(json_object_get(x, "kind")));
		snprintf(t[n].value, sizeof t[n].value, "%.6g",
			 json_number_value(json_object_get(x, "value")));
		log_format_time((int64_t)json_integer_value(json_object_get(x, "t")), t[n].time);
		if (tx)
			snprintf(t[n].tx, sizeof t[n].tx, "%s", tx);
		n++;
	}
	return n;
}

/* ms since the epoch of a log time "2023-11-14T22:13:23.000Z". */
static int64_t iso_ms(const char *s)
{
	struct tm tm;
	int ms = 0;

	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

/* The trips of one trigger, in order, from both lists. */
static void compare_trigger(const char *name, const trip_t *lv, size_t nl,
			    const trip_t *rp, size_t nr, const char hashes[][67])
{
	size_t i = 0, j = 0, k = 0;

	for (;;) {
		while (i < nl && strcmp(lv[i].trigger, name))
			i++;
		while (j < nr && strcmp(rp[j].trigger, name))
			j++;
		if (i == nl || j == nr)
			break;
		printf("    %-5s live   %-10s value=%-8s time=%s%s%s\n", name, lv[i].kind,
		       lv[i].value, lv[i].time, lv[i].tx[0] ? " tx=" : "", lv[i].tx);
		printf("    %-5s replay %-10s value=%-8s time=%s%s%s\n", "", rp[j].kind,
		       rp[j].value, rp[j].time, rp[j].tx[0] ? " tx=" : "", rp[j].tx);
		CHECK_EQ_STR(lv[i].kind, rp[j].kind);
		if (!strcmp(name, "mp")) {
			CHECK_EQ_STR(lv[i].tx, rp[j].tx);
			if (hashes && k < N_MINTS)
				CHECK_EQ_STR(rp[j].tx, hashes[k]);
		} else if (!strcmp(name, "stale")) {
			int64_t a = iso_ms(lv[i].time), b = iso_ms(rp[j].time);

			CHECK_MSG(a > 0 && b > 0 && llabs(a - b) < 2000, "stale: live %s, replay %s",
				  lv[i].time, rp[j].time);
			CHECK(atof(lv[i].value) > STALE_MS && atof(rp[j].value) > STALE_MS);
		} else {
			CHECK_EQ_STR(lv[i].value, rp[j].value);
			CHECK_EQ_STR(lv[i].time, rp[j].time);
		}
		i++, j++, k++;
	}
	/* Both lists ran out of this trigger's trips together. */
	while (i < nl && strcmp(lv[i].trigger, name))
		i++;
	while (j < nr && strcmp(rp[j].trigger, name))
		j++;
	CHECK_MSG(i == nl && j == nr, "trigger %s: the live and replayed trips differ in number",
		  name);
}

static void test_record_vs_dry_run(void)
{
	const char *rec_argv[] = { keeper_bin, "record", "-c", cfg_path, "-o", rec_path, NULL };
	const char *rp_argv[] = { keeper_bin, "replay", "-c", cfg_path, rec_path, "--report",
				  rep_path, NULL };
	static trip_t lv[MAXT], rp[MAXT];
	char hashes[N_MINTS][67], summary[2048];
	size_t nl, nr;
	json_t *root = NULL;
	int st;

	rec_pid = spawn(rec_argv, rec_out, rec_err, true);
	keeper_run(cfg_path, true);
	CHECK(rec_pid > 0 && keeper_pid > 0);
	if (rec_pid <= 0 || keeper_pid <= 0)
		return;
	CHECK_MSG(wait_log("subscriptions answered", 1, 10000), "node not subscribed:\n%s",
		  logbuf);
	/* The feed's script: the depeg and the fall. */
	CHECK_MSG(wait_log(" trip: pm ", 1, 15000), "no price_move trip:\n%s", logbuf);
	{
		char nonce[64] = "";

		CHECK(cast(nonce, sizeof nonce, "nonce %s", ACCT0) == 0);
		for (int i = 0; i < N_MINTS; i++) {
			CHECK(send_mint(i, strtoull(nonce, NULL, 10) + (unsigned)i, hashes[i]));
			usleep(300000);
		}
	}
	CHECK_MSG(wait_log(" trip: mp ", N_MINTS, 10000), "not %d mempool trips:\n%s", N_MINTS,
		  logbuf);
	CHECK_MSG(wait_log(" trip: stale ", 1, 15000), "no stale trip:\n%s", logbuf);
	/* A head or two after the last trip, so the recording runs past it. */
	usleep(2500000);
	CHECK_EQ_INT(count_in_log(" trip: "), N_TRIPS);

	st = stop_child(keeper_pid, 5000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = stop_child(rec_pid, 5000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	first_line(keeper_out, summary, sizeof summary);
	printf("    %s\n", summary);
	first_line(rec_out, summary, sizeof summary);
	printf("    %s\n", summary);

	st = wait_exit(spawn(rp_argv, rp_out, rp_err, false), 30000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	read_file_into(rp_out, summary, sizeof summary);
	for (char *l = strtok(summary, "\n"); l; l = strtok(NULL, "\n"))
		printf("    %s\n", l);
	read_file_into(rp_out, summary, sizeof summary);
	CHECK(strstr(summary, " 0 bad lines;") != NULL);

	nl = live_trips(lv);
	nr = report_trips(rp, &root);
	CHECK_EQ_INT(nl, N_TRIPS);
	CHECK_EQ_INT(nr, N_TRIPS);
	compare_trigger("dp", lv, nl, rp, nr, NULL);
	compare_trigger("pm", lv, nl, rp, nr, NULL);
	compare_trigger("stale", lv, nl, rp, nr, NULL);
	compare_trigger("mp", lv, nl, rp, nr, (const char (*)[67])hashes);
	/* The script's own times: the first 0.97 and the first 0.93 tick. */
	for (size_t j = 0; j < nr; j++) {
		char want[32];

		if (!strcmp(rp[j].trigger, "dp")) {
			log_format_time(FEED_T0 + 100LL * 20, want);
			CHECK_EQ_STR(rp[j].time, want);
		}
		if (!strcmp(rp[j].trigger, "pm")) {
			log_format_time(FEED_T0 + 100LL * 26, want);
			CHECK_EQ_STR(rp[j].time, want);
		}
	}
	json_decref(root);
}

int main(int argc, char **argv)
{
	char cfg[4096];
	feedsrv_t fs = { -1, 0 };

	(void)argc;
	feedsrv_locate(argv[0]);
	if (!keeper_test_begin("test_record_replay_anvil", 90, argv[0], "rec-replay",
			       feedsrv_path))
		return 1;
	cfg_path = tmp_file("run.cfg");
	feed_path = tmp_file("feed.jsonl");
	rec_path = tmp_file("rec.jsonl");
	rep_path = tmp_file("report.json");
	rec_out = tmp_file("rec.out");
	rec_err = tmp_file("rec.err");
	rp_out = tmp_file("replay.out");
	rp_err = tmp_file("replay.err");
	if (!write_feed())
		return setup_failed("feed file");
	if (anvil_up((const char *[]){ "--block-time", "1", NULL }) <= 0)
		return setup_failed("anvil did not start");
	if (!deploy("tests/contracts/Erc20.bin", "constructor(string,string)", "Tok TOK", NULL,
		    token))
		return setup_failed("deploying the Erc20 with cast");
	/* Started after the deployment, so that the feed's script begins
	 * only when the keepers connect. */
	{
		const char *args[] = { "--file", feed_path, "--interval-ms", "100",
				       "--lifetime", "120", NULL };
		if (feedsrv_start(&fs, args) == 0)
			track(fs.pid, false);
		if (fs.pid <= 0)
			return setup_failed("feedsrv did not start");
	}
	printf("    Erc20 at %s; feed on port %d\n", token, fs.port);
	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d/\"; rpc = [ \"%s\" ]; };\n"
		 "feeds = ( { name = \"usd\"; url = \"ws://127.0.0.1:%d/\"; "
		 "preset = \"trade\"; stale_after_ms = 60000; } );\n"
		 "watch = ( { name = \"tok\"; address = \"%s\"; } );\n"
		 "triggers = (\n"
		 "  { name = \"dp\"; kind = \"depeg\"; feed = \"usd\"; peg = 1.0; threshold_pct = 2;\n"
		 "    direction = \"down\"; action = \"pause-it\"; },\n"
		 "  { name = \"pm\"; kind = \"price_move\"; feed = \"usd\"; window_ms = 60000;\n"
		 "    threshold_pct = 5; direction = \"down\"; action = \"pause-it\"; },\n"
		 "  { name = \"stale\"; kind = \"stale\"; feed = \"usd\"; after_ms = %d; action = \"pause-it\"; },\n"
		 "  { name = \"mp\"; kind = \"mempool\"; watch = \"tok\"; simulate = false;\n"
		 "    threshold_pct = 10; cooldown_ms = 1; action = \"pause-it\"; } );\n"
		 "actions = ( { name = \"pause-it\"; to = \"%s\"; call = \"pause()\"; "
		 "gas_limit = 100000; gas = \"g\"; } );\n"
		 "gas = ( { name = \"g\"; strategy = \"fixed\"; max_fee_gwei = 30; "
		 "priority_fee_gwei = 1; } );\n"
		 "log = { level = \"info\"; };\n",
		 anvil_port, rpc_url, fs.port, token, STALE_MS, token);
	if (!write_text(cfg_path, cfg))
		return setup_failed("config");
	RUN(test_record_vs_dry_run);
	untrack(fs.pid);
	feedsrv_stop(&fs);
	return e2e_done();
}
