/*
 * fuzz_replay_line: replay files through replay_file_next(), read from a
 * descriptor as `keeper replay -` reads stdin.  Each input is read twice:
 * with a 4 KiB frame limit (and the line limit that implies), and with the
 * smallest limits accepted, so the too-long paths are reached by small
 * inputs.
 *
 * Invariants: reading ends with KERR_NOT_FOUND; the counters add up (lines
 * = good + bad, good = raw + price, bad = sum of the faults) and agree with
 * what was returned; a good line's t never goes below the previous good
 * line's, its src has 1..REPLAY_FILE_SRC_MAX bytes, its frame at most
 * max_frame bytes, its price is finite and > 0; line numbers count up by one.
 */
#include "keeper/replay_file.h"

#include <math.h>

#include "tests/fuzz/fuzz.h"

static void read_all(int fd, const replay_file_opts_t *opts, size_t max_frame)
{
	replay_file_t *r;
	replay_line_t l;
	replay_file_stats_t st;
	uint64_t lines = 0, ok = 0, raw = 0, price = 0, bad = 0, sum = 0;
	uint64_t byfault[REPLAY_E_COUNT] = { 0 };
	int64_t last_t = -1;
	kerr_t err;

	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	if (replay_file_open_fd(&r, fd, opts) != KERR_OK)
		abort();
	while ((err = replay_file_next(r, &l)) == KERR_OK) {
		lines++;
		FUZZ_CHECK(l.line == lines);
		FUZZ_CHECK(replay_file_err_name(l.err) != NULL &&
			   replay_file_err_str(l.err) != NULL);
		if (l.err != REPLAY_OK) {
			FUZZ_CHECK(l.err > REPLAY_OK && l.err < REPLAY_E_COUNT);
			bad++;
			byfault[l.err]++;
			continue;
		}
		ok++;
		FUZZ_CHECK(l.t >= 0 && l.t >= last_t);
		last_t = l.t;
		FUZZ_CHECK(l.src.p && l.src.len >= 1 && l.src.len <= REPLAY_FILE_SRC_MAX);
		if (l.kind == REPLAY_RAW) {
			raw++;
			FUZZ_CHECK(l.frame.len <= max_frame);
			FUZZ_CHECK(l.frame.len == 0 || l.frame.p != NULL);
		} else {
			FUZZ_CHECK(l.kind == REPLAY_PRICE);
			price++;
			FUZZ_CHECK(isfinite(l.price) && l.price > 0);
		}
	}
	FUZZ_CHECK(err == KERR_NOT_FOUND);
	replay_file_stats(r, &st);
	FUZZ_CHECK(st.lines == lines && st.ok == ok && st.raw == raw &&
		   st.price == price && st.errors == bad);
	for (int i = 1; i < REPLAY_E_COUNT; i++) {
		FUZZ_CHECK(st.err[i] == byfault[i]);
		sum += st.err[i];
	}
	FUZZ_CHECK(sum == bad);
	FUZZ_CHECK(st.last_t == last_t);
	replay_file_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_tmp_write("replay.jsonl", data, size);
	const replay_file_opts_t normal = { .max_frame = 4096 };
	const replay_file_opts_t tiny = { .max_frame = 16,
					  .max_line = REPLAY_FILE_LINE_MIN };
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		abort();
	read_all(fd, &normal, 4096);
	read_all(fd, &tiny, 16);
	close(fd);
	return 0;
}
