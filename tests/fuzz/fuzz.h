/*
 * fuzz.h: what every harness under tests/fuzz shares.
 *
 * A harness is one LLVMFuzzerTestOneInput() over one parser.  It is linked
 * either with libFuzzer (`make fuzz`, clang) or with tests/fuzz/driver.c,
 * a plain main that replays corpus files, so that `make test` runs every
 * corpus input through every harness with gcc, under both builds.  A broken
 * invariant aborts: libFuzzer then keeps the input as a crash, and the
 * replay test fails naming the file.
 */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() with the condition's text: the fuzzer's signal that the module
 * broke its contract (a crash is found without any check). */
#define FUZZ_CHECK(cond)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",      \
				__FILE__, __LINE__, #cond);                   \
			abort();                                              \
		}                                                             \
	} while (0)

/*
 * A private directory for harnesses that feed a module a file path
 * (config, state): one per process, made on first use, so that parallel
 * fuzzers never share files and a relative @include finds nothing but what
 * the harness wrote.  Files are removed by fuzz_tmp_cleanup() at exit.
 */
static char fuzz_tmp_dir_[64];
static char fuzz_tmp_file_[128];

static inline void fuzz_tmp_cleanup(void)
{
	char tmp[sizeof fuzz_tmp_file_ + 4];

	if (fuzz_tmp_file_[0]) {
		unlink(fuzz_tmp_file_);
		/* state_save()'s temporary, should a save have failed midway. */
		snprintf(tmp, sizeof tmp, "%s.tmp", fuzz_tmp_file_);
		unlink(tmp);
	}
	if (fuzz_tmp_dir_[0])
		rmdir(fuzz_tmp_dir_);
}

/* Write data to DIR/name (the same name each time: the module sees one
 * file rewritten per input) and return its path. */
static inline const char *fuzz_tmp_write(const char *name, const uint8_t *data,
					 size_t size)
{
	FILE *f;

	if (!fuzz_tmp_dir_[0]) {
		/* tmpfs when there is one: state_save() fsyncs every input. */
		const char *base = getenv("TMPDIR");
		if (!base || !*base || strlen(base) >= 32)
			base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(fuzz_tmp_dir_, sizeof fuzz_tmp_dir_, "%s/keeper-fuzz.XXXXXX",
			 base);
		if (!mkdtemp(fuzz_tmp_dir_)) {
			perror("fuzz: mkdtemp");
			abort();
		}
		snprintf(fuzz_tmp_file_, sizeof fuzz_tmp_file_, "%s/%s",
			 fuzz_tmp_dir_, name);
		atexit(fuzz_tmp_cleanup);
	}
	f = fopen(fuzz_tmp_file_, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror("fuzz: writing the input file");
		abort();
	}
	return fuzz_tmp_file_;
}

/* The input copied into a heap block of exactly its size plus one NUL
 * byte that the module is not told about: ASan then catches a read past
 * the end, and a module that wrongly stops at NUL still sees real data. */
static inline char *fuzz_dup(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 1);

	if (!p)
		abort();
	if (size)
		memcpy(p, data, size);
	p[size] = 0;
	return p;
}

#endif
