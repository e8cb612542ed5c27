/*
 * feeds: the configured price feeds, live.  One websocket connection
 * (keeper/ws.h) per entry of the config's feeds[], each turning its
 * messages into events for whoever consumes them (the detectors in `run`,
 * nothing in `record`).
 *
 * Per feed:
 *   - when a connection opens (again after every reconnect) the feed's
 *     `subscribe` text, if any, is sent;
 *   - every message goes first, exactly as received, to the optional frame
 *     tap (event_frame_fn, src = the feed's name, the arrival wall time),
 *     then through feed_parse: a tick becomes an EV_PRICE for the sink; a
 *     message the feed's match rule does not select (a subscription ack, a
 *     heartbeat) is counted as ignored; a message the parser refuses (not
 *     JSON, no price, a price that is not a positive number, a bad time) is
 *     counted by reason and logged rate-limited (ws_note_malformed: one
 *     line per connection per second), and the connection goes on;
 *   - messages longer than FEEDS_MAX_MESSAGE and binary messages are
 *     dropped by ws before the tap and counted;
 *   - staleness: when no TICK has arrived for the feed's stale_after_ms
 *     (measured on the monotonic loop clock from the latest tick, or from
 *     feeds_start() when there was none, across reconnects), EV_FEED_STALE
 *     goes to the sink once; the next tick then first raises EV_FEED_BACK
 *     and then its own EV_PRICE.  (stale_after_ms 0, which config_load
 *     refuses, turns the watch off.)
 *
 * Staleness counts ticks, not messages, so it does not use ws's silence
 * watch (which any message re-arms): a feed that keeps sending heartbeats
 * or junk but no price is stale, which is what a detector needs to know.
 * It is one loop timer per feed, not moved per tick: a tick only stores
 * the time, and the timer, when it fires early, re-arms itself for the
 * rest (the same trick as ws's keep-alive).
 *
 * Event times: EV_PRICE recv_ms and the EV_FEED_* times are wall-clock ms
 * (loop_wall_ms) like everything in event.h; durations use the monotonic
 * clock.  Nothing is allocated per message: one feed_parser_t shared by all
 * feeds (they run on one thread), ws's buffers sized at start.
 *
 * The sink and tap run on the loop thread, synchronously, inside ws's
 * callbacks; they must not call feeds_free().
 */
#ifndef KEEPER_FEEDS_H
#define KEEPER_FEEDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/config.h"
#include "keeper/event.h"
#include "keeper/feed_parse.h"
#include "keeper/kerr.h"
#include "keeper/loop.h"

/* Longest feed message kept (ws's max_message and the parser's limit). */
#define FEEDS_MAX_MESSAGE FEED_PARSE_FRAME_DEFAULT

typedef struct feeds feeds_t;

/* Counters of one feed since feeds_start(). */
typedef struct {
	uint64_t messages;     /* text messages received (each went to the tap) */
	uint64_t ticks;        /* EV_PRICE events raised */
	uint64_t ignored;      /* not selected by the feed's match rule */
	uint64_t bad_json;     /* malformed: not JSON, or beyond the parser's
				  limits (depth, tokens) */
	uint64_t bad_missing;  /* malformed: no value at the price (or time) path */
	uint64_t bad_value;    /* malformed: price not a finite number > 0, or
				  time not a plausible ms / ISO-8601 time */
	uint64_t oversized;    /* dropped by ws: over FEEDS_MAX_MESSAGE */
	uint64_t binary;       /* dropped by ws: binary messages */
	uint64_t stale;        /* stale episodes (EV_FEED_STALE raised) */
	uint64_t opens;        /* connections opened */
	uint64_t reconnects;   /* retries scheduled after a close or a failed
				  connection attempt (ws's count) */
	uint64_t connect_fails;/* attempts that never opened */
	bool is_open;          /* a connection is open now */
	bool is_stale;         /* stale now (EV_FEED_STALE and no tick since) */
	int64_t last_tick_ms;  /* wall ms of the latest tick, -1 when none */
} feeds_stats_t;

/*
 * Prepare one connection per feed of cfg (which must outlive the feeds).
 * Nothing connects until feeds_start().  sink receives EV_PRICE,
 * EV_FEED_STALE and EV_FEED_BACK; tap (may be NULL) every message as
 * received; ctx goes to both.  A config without feeds is valid (nothing
 * happens).  Returns KERR_OK, KERR_ARG (NULL loop, cfg, sink or out),
 * KERR_NOMEM.
 */
kerr_t feeds_new(loop_t *loop, const config_keeper_t *cfg, event_sink_fn sink,
		 event_frame_fn tap, void *ctx, feeds_t **out);

/*
 * Start connecting every feed (on the loop's next turn) and start each
 * feed's staleness clock.  Once only: a second call is KERR_ARG.  Returns
 * KERR_ARG also for a feed URL ws refuses (config_load has checked them),
 * KERR_NOMEM; the feeds already created stay and feeds_free() frees them.
 */
kerr_t feeds_start(feeds_t *f);

/* Number of feeds (the config's nfeeds). */
size_t feeds_count(const feeds_t *f);

/* Counters of feed i (its index in the config's feeds[]).  KERR_ARG when
 * i is out of range. */
kerr_t feeds_stats(const feeds_t *f, size_t i, feeds_stats_t *out);

/* Close every connection, cancel the timers, free.  Not from inside the
 * sink or tap.  NULL is ignored. */
void feeds_free(feeds_t *f);

#endif
