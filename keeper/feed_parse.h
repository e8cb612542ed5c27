/*
 * feed_parse: one price-feed websocket message into a price tick, using the
 * feed's config (config_feed_t: price path, optional time path, optional
 * match_path/match_value discriminator set by presets).
 *
 * A message is
 *   - FEED_IGNORED when the feed has a match_path and the message's value
 *     there is absent or not the string match_value: subscription
 *     acknowledgements, heartbeats, other channels.  Not an error.
 *   - FEED_TICK otherwise, when the price is valid: found at the price path
 *     (else KERR_NOT_FOUND), a JSON number or a string holding exactly one
 *     ("1450.21"; anything else is KERR_NUM_CHAR / KERR_NUM_EMPTY / KERR_JSON
 *     for objects, arrays, true, null), finite (1e999 is KERR_NUM_RANGE)
 *     and > 0 (KERR_NUM_RANGE): a zero or negative price from a broken
 *     feed must never reach a depeg detector as a real crash.
 *
 * Time.  With a time path, the tick's time_ms is the source's: an integer
 * of milliseconds since the epoch (number or digit string), or an ISO-8601
 * / RFC 3339 UTC text "2023-03-11T07:41:23.123456Z" (also "+hh:mm"/"-hh:mm"
 * offsets; fractions beyond ms are truncated).  A millisecond time must lie
 * in [FEED_TIME_MIN_MS, FEED_TIME_MAX_MS): a feed that sends seconds or
 * microseconds would otherwise skew staleness by 1000x without a word, so
 * that is KERR_NUM_RANGE.  Without a time path time_ms is recv_ms.
 *
 * On error p->what is "price", "time", "match" or "frame".  Memory as
 * node_parse: one token array allocated at init, nothing per message; the
 * message buffer may be reused as soon as feed_parse_frame() returns.
 */
#ifndef KEEPER_FEED_PARSE_H
#define KEEPER_FEED_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include "keeper/config.h"
#include "keeper/event.h"
#include "keeper/jtok.h"
#include "keeper/kerr.h"

#define FEED_PARSE_FRAME_DEFAULT ((size_t)1 << 20)
#define FEED_PARSE_FRAME_HARD ((size_t)16 << 20)
/* 2001-09-09 and 5138-11-16: the range where a ms timestamp is plausible. */
#define FEED_TIME_MIN_MS INT64_C(1000000000000)
#define FEED_TIME_MAX_MS INT64_C(100000000000000)

typedef enum {
	FEED_TICK = 1,      /* *ev is an EV_PRICE */
	FEED_IGNORED,       /* not a tick (match_path did not match) */
} feed_result_t;

typedef struct {
	jtok_doc_t doc;
	size_t max_frame;   /* bytes */
	const char *what;   /* after an error: "price", "time", "match", "frame" */
} feed_parser_t;

/* As node_parse_init(): max_frame 0 is the default; max_frame / 8 tokens
 * (at least 1024).  KERR_ARG, KERR_NOMEM. */
kerr_t feed_parse_init(feed_parser_t *p, size_t max_frame);
void feed_parse_release(feed_parser_t *p);

/*
 * Parse one message of feed `feed` (config index feed_id) that arrived at
 * recv_ms.  On KERR_OK *res says whether *ev holds a tick.  Errors:
 * KERR_TOO_LONG, KERR_TRUNCATED, KERR_JSON, KERR_NOT_FOUND, KERR_NUM_*,
 * KERR_ARG (the feed has no price path).
 */
kerr_t feed_parse_frame(feed_parser_t *p, const config_feed_t *feed,
			uint32_t feed_id, int64_t recv_ms, const char *msg,
			size_t len, feed_result_t *res, event_t *ev);

/*
 * An ISO-8601 UTC time "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±hh:mm)" (years
 * 1970..9999, ':60' allowed as a leap second) as ms since the epoch.
 * KERR_NUM_CHAR for bad form, KERR_NUM_RANGE for a bad field value.
 */
kerr_t feed_parse_iso8601(const char *s, size_t len, int64_t *ms);

#endif
