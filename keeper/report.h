/*
 * report: what `keeper replay` writes about a finished replay
 * (keeper/replay.h): the JSON report of interface.md ("Report") and a
 * self-contained HTML page, each built in memory as bytes that depend on
 * nothing but the replay (no clock, no locale, no environment), so the
 * same inputs give byte-identical files.
 *
 * JSON (--report).  One object:
 *   events       events handed to the engine
 *   duration_ms  last good line's t - first's (0 for no good line)
 *   trips        every kept trip in the order they happened:
 *     t          the trip's time (the tripping event's, on its feed's clock
 *                for price kinds; the virtual clock for timed trips)
 *     trigger, kind, action   names as in the config
 *     value, threshold        in `unit` (detect.h: "pct", "pct_per_sqrt_min",
 *                             "ms", "ratio"): depeg, price_move, deviation
 *                             and outflow in percent, stale in ms
 *     unit
 *     account, amount, token, cause_tx   when the trip carries them
 *                (amount a decimal string; cause_tx the pending
 *                transaction's hash)
 *     tx         the would-be transaction: to (EIP-55), data, nonce, gas,
 *                max_fee, priority_fee (wei, decimal strings), market
 *                ("head", "gas_file", "none": where the fees came from),
 *                capped (the strategy hit its cap), and raw and hash when
 *                a signer is configured; or null, with tx_error saying why
 *                (e.g. the action needs $account and the trip has none)
 *   trips_dropped  trips beyond REPLAY_MAX_TRIPS, counted only (present
 *                when > 0)
 *   mempool_not_evaluated  matches of mempool triggers with simulate =
 *                true, which a replay cannot judge (no node; present when
 *                > 0)
 *   by_trigger   every trigger of the config, in config order: its trips
 *   bad_lines    bad lines by kind (replay_bad_name), kinds with none left
 *                out: {} for a clean file
 * Numbers: integers as integers; doubles as the shortest decimal that reads
 * back as the same double (report_double); wei as decimal strings, exact.
 *
 * HTML (--html).  One page with no external resources and no scripts: a
 * summary, then an inline SVG chart over the replay's time span with one
 * panel per feed that ticked (its decimated series, replay.h: the min and
 * max of each bucket, so a crash's low is drawn; the threshold of every
 * depeg trigger on it as a dashed line at peg * (1 -/+ threshold_pct /
 * 100); a vertical marker per trip of a trigger on that feed, or on every
 * panel for triggers without a feed, labelled with the trigger's name
 * where labels do not collide), a panel of the would-be max fee per trip
 * in gwei, UTC date axes; then a table of the trips.  At most
 * REPORT_HTML_MAX_MARKS markers per panel and REPORT_HTML_MAX_ROWS table
 * rows are drawn; the page says how many more there were.
 */
#ifndef KEEPER_REPORT_H
#define KEEPER_REPORT_H

#include <stddef.h>

#include "keeper/kerr.h"
#include "keeper/replay.h"
#include "signer/u256.h"

#define REPORT_DOUBLE_MAX 32
#define REPORT_HTML_MAX_MARKS 500
#define REPORT_HTML_MAX_ROWS 2000

/*
 * The JSON report of r into a malloc'd buffer *out of *len bytes (ends
 * with a newline; NUL-terminated too).  KERR_NOMEM.
 */
kerr_t report_json(const replay_t *r, char **out, size_t *len);

/*
 * The HTML page of r, titled `title` (e.g. the events file's name;
 * escaped), into a malloc'd buffer as report_json.  KERR_NOMEM.
 */
kerr_t report_html(const replay_t *r, const char *title, char **out,
		   size_t *len);

/* The shortest "%.Ng" text that reads back as v, with NUL; "null" for NaN
 * and infinities (no JSON number spells them).  Returns the length. */
size_t report_double(double v, char out[REPORT_DOUBLE_MAX]);

/* wei as exact decimal gwei ("1.5", "30", "0.000000001"), with NUL into
 * out (cap >= U256_DEC_MAX + 2).  Returns the length. */
size_t report_gwei(const u256_t *wei, char *out, size_t cap);

#endif
