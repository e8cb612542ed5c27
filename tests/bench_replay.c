/*
 * bench_replay: `keeper replay` throughput, whole pipeline (read the line,
 * parse the frame if raw, clock step, engine), for two files generated in
 * /tmp before timing:
 *   - price lines as `keeper import` writes them, one feed, with a depeg,
 *     a stale and a price_move trigger on it;
 *   - raw pending-transaction frames from the node, the recorded anvil
 *     frames of tests/fixtures/frames/anvil-stream.jsonl (six full
 *     transactions of types 0 and 2, creation, access list) in turn;
 * each beside the time to only read the same file's lines with
 * replay_file (the floor any replay pays), in the same run.  Targets
 * (issue 6): >= 2,000,000 price events/s and >= 300,000 raw frames/s on
 * one core, judged on the thread's CPU time (see measure()); wall-clock
 * figures are printed beside.  Each figure is the median of ROUNDS rounds
 * over the whole file, read from the page cache.  For price lines the
 * reading is also timed with replay_file's canonical-line fast path off,
 * to show what that path saves.  `bench_replay price` or `bench_replay
 * raw` runs one half (to profile it).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keeper/replay.h"
#include "keeper/replay_file.h"
#include "tests/bench_util.h"
#include "tests/config_util.h"

#define ROUNDS 5
#define PRICE_LINES 2000000
#define RAW_LINES 200000

static const char cfg_text[] =
	"chain = { id = 1; ws = \"ws://127.0.0.1:8545\"; rpc = [ \"http://127.0.0.1:8545\" ]; };\n"
	"feeds = ( { name = \"usdc-usd\"; url = \"ws://127.0.0.1:1\"; preset = \"trade\"; stale_after_ms = 60000; } );\n"
	"triggers = (\n"
	" { name = \"dp\"; kind = \"depeg\"; feed = \"usdc-usd\"; peg = 1.0; threshold_pct = 2; direction = \"down\";\n"
	"   hold_ms = 60000; action = \"p\"; },\n"
	" { name = \"st\"; kind = \"stale\"; feed = \"usdc-usd\"; after_ms = 60000; action = \"p\"; },\n"
	" { name = \"pm\"; kind = \"price_move\"; feed = \"usdc-usd\"; window_ms = 60000; threshold_pct = 10;\n"
	"   action = \"p\"; } );\n"
	"actions = ( { name = \"p\"; to = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"; call = \"pause()\";\n"
	"              gas_limit = 100000; gas = \"g\"; } );\n"
	"gas = ( { name = \"g\"; strategy = \"fixed\"; max_fee_gwei = 30; priority_fee_gwei = 1; } );\n";

static int write_price_file(const char *path)
{
	FILE *f = fopen(path, "w");
	double p = 1.0;
	uint64_t x = 0x9e3779b97f4a7c15ull;

	if (!f)
		return -1;
	for (long i = 0; i < PRICE_LINES; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		p += ((double)(x % 2001) - 1000) * 1e-7;
		if (p < 0.9 || p > 1.1)
			p = 1.0;
		fprintf(f, "{\"t\":%lld,\"src\":\"usdc-usd\",\"price\":%.8f}\n",
			1600000000000LL + i * 250, p);
	}
	return fclose(f);
}

/* The full pending transactions of the fixture, as raw node lines. */
static int write_raw_file(const char *path, size_t *nframes, double *avg)
{
	FILE *in = fopen("tests/fixtures/frames/anvil-stream.jsonl", "r"), *f;
	char *frames[64], line[65536];
	size_t n = 0, bytes = 0;

	if (!in) {
		fprintf(stderr, "bench_replay: run from the repository root\n");
		return -1;
	}
	while (n < 64 && fgets(line, sizeof line, in))
		if (strstr(line, "\"eth_subscription\"") && strstr(line, "\"from\"")) {
			line[strcspn(line, "\n")] = '\0';
			frames[n++] = strdup(line);
		}
	fclose(in);
	if (!n || !(f = fopen(path, "w")))
		return -1;
	for (long i = 0; i < RAW_LINES; i++) {
		fprintf(f, "{\"t\":%lld,\"src\":\"node\",\"raw\":%s}\n", 1600000000000LL + i,
			frames[i % (long)n]);
		bytes += strlen(frames[i % (long)n]);
	}
	*nframes = n;
	*avg = (double)bytes / RAW_LINES;
	for (size_t i = 0; i < n; i++)
		free(frames[i]);
	return fclose(f);
}

/* One round's times, ns: wall clock, and this thread's CPU time. */
typedef struct {
	double wall, cpu;
} times_t;

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One round: only read the lines (cfg == NULL; opts for the reader), or
 * replay them.  false when it failed. */
static bool one_round(const char *path, const config_keeper_t *cfg,
		      const replay_file_opts_t *opts, uint64_t *events, times_t *tm)
{
	replay_file_t *f = NULL;
	replay_t *r = NULL;
	replay_line_t ln;
	replay_stats_t st;
	double w0, c0;
	uint64_t n = 0;
	bool ok = true;

	if (replay_file_open(&f, path, opts) != KERR_OK)
		return false;
	if (cfg && replay_new(cfg, NULL, &r, NULL) != KERR_OK) {
		replay_file_close(f);
		return false;
	}
	w0 = now_ns();
	c0 = cpu_ns();
	if (cfg) {
		ok = replay_run(r, f) == KERR_OK;
		replay_stats(r, &st);
		n = st.events;
	} else {
		while (replay_file_next(f, &ln) == KERR_OK)
			n += ln.err == REPLAY_OK;
	}
	tm->cpu = cpu_ns() - c0;
	tm->wall = now_ns() - w0;
	*events = n;
	replay_free(r);
	replay_file_close(f);
	return ok && n > 0;
}

/* Medians of ROUNDS rounds. */
static bool rounds(const char *path, const config_keeper_t *cfg,
		   const replay_file_opts_t *opts, uint64_t *events, times_t *med)
{
	double w[ROUNDS], c[ROUNDS];

	for (int k = 0; k < ROUNDS; k++) {
		times_t tm;

		if (!one_round(path, cfg, opts, events, &tm))
			return false;
		w[k] = tm.wall;
		c[k] = tm.cpu;
	}
	qsort(w, ROUNDS, sizeof w[0], cmp_double);
	qsort(c, ROUNDS, sizeof c[0], cmp_double);
	med->wall = w[ROUNDS / 2];
	med->cpu = c[ROUNDS / 2];
	return true;
}

/*
 * The replay's rate beside the rate of only reading the lines.  The
 * target is judged on CPU time, the throughput of the one core the replay
 * runs on: other work on a shared machine stretches wall time (this
 * machine runs builds and fuzzers beside the bench) but not the replay's
 * own CPU time.  Wall-clock figures are printed beside it.
 */
static int measure(const char *what, const char *path, const config_keeper_t *cfg,
		   double target, const char *unit, bool also_slow)
{
	const replay_file_opts_t slow = { .no_fast = true };
	uint64_t ev = 0, lines = 0, slow_lines = 0;
	times_t rep, rd, rd_slow;
	double rate;

	if (!rounds(path, NULL, NULL, &lines, &rd) || !rounds(path, cfg, NULL, &ev, &rep) ||
	    (also_slow && !rounds(path, NULL, &slow, &slow_lines, &rd_slow))) {
		fprintf(stderr, "bench_replay: %s: the replay failed\n", what);
		return 1;
	}
	rate = (double)ev / (rep.cpu / 1e9);
	printf("replay %-22s %9.0f %s/s (%5.0f ns each); reading the lines only: "
	       "%9.0f lines/s (%5.0f ns)  [CPU time]\n", what, rate, unit, rep.cpu / (double)ev,
	       (double)lines / (rd.cpu / 1e9), rd.cpu / (double)lines);
	printf("  wall clock: replay %9.0f %s/s, reading only %9.0f lines/s\n",
	       (double)ev / (rep.wall / 1e9), unit, (double)lines / (rd.wall / 1e9));
	if (also_slow)
		printf("  reading with the canonical-line fast path off: %9.0f lines/s (%5.0f ns) "
		       "[CPU time]\n", (double)slow_lines / (rd_slow.cpu / 1e9),
		       rd_slow.cpu / (double)slow_lines);
	printf("  target >= %.0f %s/s on one core: %s   [%llu events, median of %d rounds]\n",
	       target, unit, rate >= target ? "met" : "MISSED", (unsigned long long)ev, ROUNDS);
	return rate >= target ? 0 : 1;
}

int main(int argc, char **argv)
{
	/* "price" or "raw" runs one half only (to profile it). */
	const char *only = argc > 1 ? argv[1] : "";
	bool price = !*only || strcmp(only, "price") == 0;
	bool raw = !*only || strcmp(only, "raw") == 0;
	char price_path[] = "/tmp/keeper-bench-replay-price-XXXXXX";
	char raw_path[] = "/tmp/keeper-bench-replay-raw-XXXXXX";
	config_keeper_t *cfg = load_cfg(cfg_text);
	int fd1 = mkstemp(price_path), fd2 = mkstemp(raw_path), missed = 0;
	size_t nframes = 0;
	double avg = 0;

	if (fd1 >= 0)
		close(fd1);
	if (fd2 >= 0)
		close(fd2);
	if (!cfg || fd1 < 0 || fd2 < 0 || write_price_file(price_path) != 0 ||
	    write_raw_file(raw_path, &nframes, &avg) != 0) {
		fprintf(stderr, "bench_replay: cannot set up the files\n");
		missed = 1;
		goto out;
	}
	if (price)
		missed |= measure("price lines", price_path, cfg, 2000000, "events", true);
	if (raw) {
		printf("  (raw frames: %zu recorded anvil pending transactions in turn, %.0f bytes "
		       "on average)\n", nframes, avg);
		missed |= measure("raw pending-tx frames", raw_path, cfg, 300000, "frames", false);
	}
out:
	unlink(price_path);
	unlink(raw_path);
	config_free(cfg);
	return missed;
}
