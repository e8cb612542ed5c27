/*
 * fuzz_import: historical price files through import_convert() in both
 * formats (chainlink-csv and ohlcv-json), output to /dev/null.
 *
 * Invariants: on success every row gave ticks (one per CSV round, four per
 * OHLCV bar) and no error was counted; on KERR_IMPORT_INVALID at least one
 * error was counted and at most IMPORT_MAX_ERRORS messages kept, each
 * NUL-terminated within IMPORT_MSG_MAX; nothing else but the documented
 * codes comes back.
 */
#include "keeper/import.h"

#include "tests/fuzz/fuzz.h"

static FILE *devnull;

static void one(import_format_t fmt, const char *buf, size_t size)
{
	import_result_t res;
	kerr_t err;

	memset(&res, 0, sizeof res);
	err = import_convert(fmt, buf, size, "feed", devnull, &res);
	if (err == KERR_OK) {
		FUZZ_CHECK(res.errors == 0);
		FUZZ_CHECK(res.ticks == (fmt == IMPORT_CHAINLINK_CSV ? res.rows
								      : 4 * res.rows));
	} else {
		FUZZ_CHECK(err == KERR_IMPORT_INVALID || err == KERR_NOMEM ||
			   err == KERR_IO || err == KERR_TOO_LONG);
		if (err == KERR_IMPORT_INVALID)
			FUZZ_CHECK(res.errors > 0);
		for (size_t i = 0; i < res.errors && i < IMPORT_MAX_ERRORS; i++)
			FUZZ_CHECK(memchr(res.msg[i], 0, IMPORT_MSG_MAX) != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_dup(data, size);
	int64_t ms;

	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
	one(IMPORT_CHAINLINK_CSV, buf, size);
	one(IMPORT_OHLCV_JSON, buf, size);
	if (import_iso_ms(buf, size, &ms) == KERR_OK)
		FUZZ_CHECK(ms >= 0);
	free(buf);
	return 0;
}
