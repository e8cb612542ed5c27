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
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "keeper/log.h"
#include "tests/anvil.h"
#include "tests/feedsrv.h"
#include "tests/test.h"

/* anvil's dev account 0 and its key (public test key) */
#define ACCT0 "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
#define K0 "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

/* The feed's clock: trades 100 ms apart from here. */
#define FEED_T0 1700000000000LL
#define STALE_MS 3000
#define N_MINTS 3
#define N_TRIPS (3 + N_MINTS)

static char keeper_bin[1024], rpc_url[64], token[64];
static char dir[64], cfg_path[128], feed_path[128], rec_path[128], rep_path[128];
static char run_out[128], run_err[128], rec_out[128], rec_err[128], rp_out[128], rp_err[128];
static pid_t run_pid = -1, rec_pid = -1;

static void remove_files(void)
{
	const char *const files[] = { cfg_path, feed_path, rec_path, rep_path, run_out,
				      run_err, rec_out, rec_err, rp_out, rp_err };

	if (!dir[0])
		return;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		unlink(files[i]);
	rmdir(dir);
}

static void on_fatal(int sig)
{
	static const char msg[] = "test_record_replay_anvil: fatal signal or time limit; "
				  "children killed\n";
	ssize_t w = write(1, msg, sizeof msg - 1);

	(void)w;
	kill_all();
	remove_files();
	_exit(128 + sig);
}

static bool write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	size_t len = strlen(text);
	bool ok;

	if (!f)
		return false;
	ok = fwrite(text, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

/* ---- the dry-run's log */

#define LOG_MAX (1 << 20)
static char logbuf[LOG_MAX];

static size_t read_file_into(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	buf[0] = 0;
	if (fd < 0)
		return 0;
	n = read(fd, buf, cap - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n > 0 ? (size_t)n : 0;
}

static int count_in_log(const char *needle)
{
	int n = 0;

	read_file_into(run_err, logbuf, sizeof logbuf);
	for (const char *p = logbuf; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static bool wait_log(const char *needle, int want, int ms)
{
	int64_t t0 = mono_ms();

	while (count_in_log(needle) < want) {
		if (mono_ms() - t0 > ms || waitpid(run_pid, NULL, WNOHANG) == run_pid)
			return false;
		usleep(50000);
	}
	return true;
}

/* The value of " key=" in a line, into out. */
static bool field(const char *line, const char *key, char *out, size_t cap)
{
	char k[32];
	const char *p;
	size_t len;

	snprintf(k, sizeof k, " %s=", key);
	if (!(p = strstr(line, k)))
		return false;
	p += strlen(k);
	len = strcspn(p, " \n");
	if (len >= cap)
		return false;
	memcpy(out, p, len);
	out[len] = 0;
	return true;
}

/* ---- chain */

static bool deploy_token(void)
{
	char code[8192], out[16384], *bin;
	size_t len;
	const char *p;

	if (!(bin = t_read_file("tests/contracts/Erc20.bin", &len)))
		return false;
	while (len && (bin[len - 1] == '\n' || bin[len - 1] == '\r'))
		bin[--len] = 0;
	snprintf(code, sizeof code, "0x%s", bin);
	free(bin);
	if (sh(out, sizeof out, "%s send --json --rpc-url %s --private-key %s --create %s "
	       "'constructor(string,string)' Tok TOK", cast_bin, rpc_url, K0, code))
		return false;
	if (!(p = strstr(out, "\"contractAddress\":\"")))
		return false;
	p += strlen("\"contractAddress\":\"");
	if (strlen(p) < 42)
		return false;
	memcpy(token, p, 42);
	token[42] = 0;
	return true;
}

/* A pending mint() to the token with the given nonce (--async does not
 * wait for the previous one to be mined, so cast cannot count them): its
 * hash (lowercase 0x…) into hash. */
static bool send_mint(int i, unsigned long long nonce, char hash[67])
{
	char out[512];

	if (sh(out, sizeof out, "%s send --async --rpc-url %s --private-key %s --nonce %llu %s "
	       "'mint(address,uint256)' %s %d000", cast_bin, rpc_url, K0, nonce, token, ACCT0,
	       i + 1))
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

	read_file_into(run_err, logbuf, sizeof logbuf);
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

/* SIGTERM pid, wait up to 5 s; its exit status (-1 if it had to be
 * killed). */
static int stop(pid_t pid)
{
	int64_t t0 = mono_ms();
	int st = -1;

	kill(pid, SIGTERM);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (mono_ms() - t0 > 5000) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			st = -1;
			break;
		}
		usleep(20000);
	}
	untrack(pid);
	return st;
}

static void first_line(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");

	out[0] = 0;
	if (f) {
		if (!fgets(out, (int)cap, f))
			out[0] = 0;
		fclose(f);
	}
	out[strcspn(out, "\n")] = 0;
}

static void test_record_vs_dry_run(void)
{
	const char *run_argv[] = { keeper_bin, "run", "-c", cfg_path, "--dry-run", NULL };
	const char *rec_argv[] = { keeper_bin, "record", "-c", cfg_path, "-o", rec_path, NULL };
	const char *rp_argv[] = { keeper_bin, "replay", "-c", cfg_path, rec_path, "--report",
				  rep_path, NULL };
	static trip_t lv[MAXT], rp[MAXT];
	char hashes[N_MINTS][67], summary[2048];
	size_t nl, nr;
	json_t *root = NULL;
	pid_t pid;
	int st;

	rec_pid = spawn(rec_argv, rec_out, rec_err, true);
	run_pid = spawn(run_argv, run_out, run_err, true);
	CHECK(rec_pid > 0 && run_pid > 0);
	if (rec_pid <= 0 || run_pid <= 0)
		return;
	CHECK_MSG(wait_log("subscriptions answered", 1, 10000), "node not subscribed:\n%s",
		  logbuf);
	/* The feed's script: the depeg and the fall. */
	CHECK_MSG(wait_log(" trip: pm ", 1, 15000), "no price_move trip:\n%s", logbuf);
	{
		char nonce[64] = "";

		CHECK(sh(nonce, sizeof nonce, "%s nonce --rpc-url %s %s", cast_bin, rpc_url,
			 ACCT0) == 0);
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

	st = stop(run_pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = stop(rec_pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	first_line(run_out, summary, sizeof summary);
	printf("    %s\n", summary);
	first_line(rec_out, summary, sizeof summary);
	printf("    %s\n", summary);

	pid = spawn(rp_argv, rp_out, rp_err, false);
	st = -1;
	if (pid > 0) {
		waitpid(pid, &st, 0);
		untrack(pid);
	}
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
	const char *kp = getenv("KEEPER");
	char cfg[4096];
	feedsrv_t fs = { -1, 0 };
	int port;

	(void)argc;
	install_fatal(on_fatal);
	alarm(90);
	if (kp && *kp) {
		snprintf(keeper_bin, sizeof keeper_bin, "%s", kp);
	} else {
		const char *slash = strrchr(argv[0], '/');
		snprintf(keeper_bin, sizeof keeper_bin, "%.*s/../bin/keeper",
			 slash ? (int)(slash - argv[0]) : 1, slash ? argv[0] : ".");
	}
	feedsrv_locate(argv[0]);
	if (!find_anvil_cast())
		return 1;
	if (access(keeper_bin, X_OK) != 0 || access(feedsrv_path, X_OK) != 0) {
		printf("FAIL setup: no keeper at %s or feedsrv at %s (build them, or set "
		       "KEEPER)\n0 passed, 1 failed\n", keeper_bin, feedsrv_path);
		return 1;
	}
	snprintf(dir, sizeof dir, "/tmp/keeper-rec-replay-XXXXXX");
	if (!mkdtemp(dir)) {
		dir[0] = 0;
		printf("FAIL setup: temporary directory\n0 passed, 1 failed\n");
		return 1;
	}
	atexit(remove_files);
	snprintf(cfg_path, sizeof cfg_path, "%s/run.cfg", dir);
	snprintf(feed_path, sizeof feed_path, "%s/feed.jsonl", dir);
	snprintf(rec_path, sizeof rec_path, "%s/rec.jsonl", dir);
	snprintf(rep_path, sizeof rep_path, "%s/report.json", dir);
	snprintf(run_out, sizeof run_out, "%s/run.out", dir);
	snprintf(run_err, sizeof run_err, "%s/run.err", dir);
	snprintf(rec_out, sizeof rec_out, "%s/rec.out", dir);
	snprintf(rec_err, sizeof rec_err, "%s/rec.err", dir);
	snprintf(rp_out, sizeof rp_out, "%s/replay.out", dir);
	snprintf(rp_err, sizeof rp_err, "%s/replay.err", dir);

	port = free_port(0, NULL);
	snprintf(rpc_url, sizeof rpc_url, "http://127.0.0.1:%d", port);
	if (!port || !write_feed()) {
		printf("FAIL setup: port or feed file\n0 passed, 1 failed\n");
		return 1;
	}
	{
		char ps[16];
		const char *av[] = { anvil_bin, "--host", "127.0.0.1", "--port", ps,
				     "--block-time", "1", "--silent", NULL };
		snprintf(ps, sizeof ps, "%d", port);
		if (anvil_run(av, port) <= 0) {
			printf("FAIL setup: anvil did not start\n0 passed, 1 failed\n");
			return 1;
		}
	}
	if (!deploy_token()) {
		printf("FAIL setup: deploying the Erc20 with cast\n0 passed, 1 failed\n");
		return 1;
	}
	/* Started after the deployment, so that the feed's script begins
	 * only when the keepers connect. */
	{
		const char *args[] = { "--file", feed_path, "--interval-ms", "100",
				       "--lifetime", "120", NULL };
		if (feedsrv_start(&fs, args) == 0)
			track(fs.pid, false);
		if (fs.pid <= 0) {
			printf("FAIL setup: feedsrv did not start\n0 passed, 1 failed\n");
			return 1;
		}
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
		 port, rpc_url, fs.port, token, STALE_MS, token);
	if (!write_text(cfg_path, cfg)) {
		printf("FAIL setup: config\n0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_record_vs_dry_run);
	untrack(fs.pid);
	feedsrv_stop(&fs);
	kill_all();
	remove_files();
	return t_done();
}
