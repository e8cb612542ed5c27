/*
 * import: historical price files -> replay events (interface.md, "Replay
 * events"), one `{"t":MS,"src":FEED,"price":P}` line per tick, so that
 * thresholds can be backtested on the days that mattered.
 *
 * Formats:
 *  - chainlink-csv: Chainlink round exports.  Lines starting with '#' are
 *    comments (anywhere; the shared files have one on top); the first
 *    other line is the header, which must name the columns `answer` and
 *    `updatedAt` (others, such as roundId and dateTimeAt, are ignored);
 *    each later line is one round.  `answer` is an integer with 8 decimals
 *    (Chainlink's USD feeds), written out as its exact decimal (100018009 ->
 *    1.00018009, never through a double); `updatedAt` is unix seconds, and
 *    the tick's time is updatedAt * 1000.
 *  - ohlcv-json: a JSON array of 10-minute bars with time_period_start,
 *    time_period_end (ISO 8601 UTC, "2020-03-12T00:00:00.0000000Z") and
 *    price_open, price_high, price_low, price_close.  Each bar gives four
 *    ticks: open at the bar's start; then, for a bar that closed at or
 *    above its open, low at start + 1/3 of the bar and high at start + 2/3
 *    (it went down first, then up to close high), and for a bar that closed
 *    below its open, high first, then low; close at the bar's end, which
 *    is the next bar's start: the close and the next open share that
 *    millisecond (the close first).  Why not a millisecond apart: a gap
 *    between a close and the next open (the next bar's first trade) would
 *    become a return over 1 ms, an absurd rate that ewma_vol would read as
 *    volatility; at an equal time ewma_vol drops the second tick (a return
 *    over zero time has no rate) while price_move and depeg use it (see
 *    their headers).  Prices are written as the shortest decimal that reads
 *    back as the same double.
 *
 * Strictness.  Replay trusts its input's order and values, so import does
 * not guess: a row or bar that is malformed, has a price <= 0, a time
 * earlier than the previous one (equal is allowed), or a bar whose high/low
 * do not bound its open and close, is an error naming its line (CSV) or
 * bar index (JSON).  Every error is reported (up to IMPORT_MAX_ERRORS) and
 * nothing is written when there is any: half a series would backtest as if
 * the rest never happened.
 */
#ifndef KEEPER_IMPORT_H
#define KEEPER_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "keeper/kerr.h"

#define IMPORT_MAX_INPUT ((size_t)256 << 20)  /* bytes of one input file */
#define IMPORT_MAX_ERRORS 20                  /* messages kept */
#define IMPORT_MSG_MAX 160
#define IMPORT_MAX_FIELD 80                   /* bytes of one CSV field */

typedef enum {
	IMPORT_CHAINLINK_CSV = 0,
	IMPORT_OHLCV_JSON,
} import_format_t;

typedef struct {
	size_t rows;            /* rounds or bars read */
	size_t ticks;           /* lines written */
	size_t errors;          /* problems found (msg keeps the first ones) */
	char msg[IMPORT_MAX_ERRORS][IMPORT_MSG_MAX];  /* "line 12: …" */
} import_result_t;

/* "chainlink-csv" / "ohlcv-json" -> format; KERR_NOT_FOUND otherwise. */
kerr_t import_format_parse(const char *name, import_format_t *out);

/*
 * Convert buf[0..len) in format fmt into event lines for feed `feed`
 * (a config feed name; written as the events' src) on out.  KERR_OK when
 * the whole input converted; KERR_IMPORT_INVALID with res->msg listing the
 * problems (also for ohlcv-json that is not JSON), and nothing written;
 * KERR_TOO_LONG for input over IMPORT_MAX_INPUT; KERR_IO when out fails;
 * KERR_NOMEM.
 */
kerr_t import_convert(import_format_t fmt, const char *buf, size_t len,
		      const char *feed, FILE *out, import_result_t *res);

/*
 * Milliseconds since the epoch of an ISO 8601 UTC time of the form
 * YYYY-MM-DDTHH:MM:SS[.fraction]Z (fraction of any length, truncated to
 * ms), from 1970 on.  KERR_IMPORT_INVALID for anything else, including
 * impossible dates and years before 1970 (a negative time, which replay
 * refuses).
 */
kerr_t import_iso_ms(const char *s, size_t len, int64_t *out);

#endif
