/*
 * ws: a websocket client connection that stays connected.  It is the
 * transport under keeper's node subscription and price feeds; what it
 * carries (eth_subscribe, a feed's subscribe text, JSON) is its owner's
 * business.
 *
 * Lifecycle.  ws_create() starts connecting on the loop's next turn and
 * never calls back from inside itself.  When the connection opens, on_open
 * runs: the owner sends its subscriptions there (again after every
 * reconnect).  Each complete message goes to on_message.  When an open
 * connection ends, on_close runs once with the reason (on_open and
 * on_close alternate; failed attempts only show in the counters and the
 * log), and the connection is retried after an exponential back-off:
 * backoff_min_ms doubling up to backoff_max_ms, each delay moved by up to
 * ±jitter_pct percent, and back to backoff_min_ms once a connection has
 * stayed open for backoff_reset_ms.
 *
 * Keep-alive.  Every ping_interval_ms of an open connection a ping goes
 * out; if nothing at all (pong or message) arrives within ping_timeout_ms
 * of it, the connection is dropped and retried (reason WS_CLOSE_TIMEOUT).
 *
 * Limits, none of which closes the connection: a message longer than
 * max_message is dropped whole and counted (oversized); binary messages are
 * dropped and counted (malformed); the owner reports messages its parser
 * rejects with ws_note_malformed().  Warnings are rate-limited to one line
 * per connection per second, separately for bad data and for connection
 * trouble (so junk cannot hide a reconnect); the next line that gets
 * through says how many were suppressed.
 * Outgoing messages wait in a queue bounded by send_queue_msgs and
 * send_queue_bytes, preallocated at creation; ws_send() fails when it is
 * full.  Nothing is queued across connections: the queue is emptied when a
 * connection ends, since on_open re-sends what matters.
 *
 * Silence.  ws_silence_arm(ws, ms) starts a watch: on_silence runs when no
 * message has arrived for ms (measured from the arming or from the last
 * message, whichever is later, across reconnects), once; the next message
 * re-arms it.  The owner decides what silence means (a stale feed).
 *
 * Hot path: a message that arrives in one piece is handed over in place
 * (no copy); a message in several frames or receive chunks is reassembled
 * in a buffer of max_message bytes allocated at creation.  Nothing is
 * allocated per message, and arrival times are loop_now_ms().
 *
 * All callbacks run on the loop thread.  A callback may call ws_send() and
 * ws_silence_arm() on its own connection, and anything on other ones, but
 * must not destroy its own connection.
 */
#ifndef KEEPER_WS_H
#define KEEPER_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/kerr.h"
#include "keeper/loop.h"

typedef struct ws ws_t;

/* Why an open connection ended. */
typedef enum {
	WS_CLOSE_PEER = 1,    /* the server closed it, or the socket failed */
	WS_CLOSE_TIMEOUT = 2, /* no pong or message within ping_timeout_ms */
	WS_CLOSE_ERROR = 3,   /* a local failure (a write lws refused) */
} ws_close_t;

typedef struct ws_callbacks {
	/* The connection is open: send subscriptions now.  May be NULL. */
	void (*on_open)(ws_t *ws, void *ctx);
	/*
	 * One complete text message: len bytes at msg, not NUL-terminated,
	 * valid only during the call.  May be NULL.
	 */
	void (*on_message)(ws_t *ws, const char *msg, size_t len, void *ctx);
	/* An open connection ended; a reconnect is already scheduled. */
	void (*on_close)(ws_t *ws, ws_close_t reason, void *ctx);
	/* No message for the armed silence duration (ws_silence_arm). */
	void (*on_silence)(ws_t *ws, void *ctx);
} ws_callbacks_t;

/* Settings; a 0 field takes the default in brackets. */
typedef struct ws_config {
	const char *url;          /* ws://host[:port][/path] or wss://…; copied */
	const char *name;         /* for log lines, e.g. the feed's name; copied
				     (NULL: the URL's host) */
	size_t max_message;       /* [1 MiB] longest message accepted */
	size_t send_queue_bytes;  /* [64 KiB] total bytes waiting to be sent */
	uint32_t send_queue_msgs; /* [32] messages waiting to be sent */
	uint32_t backoff_min_ms;  /* [250] first retry delay */
	uint32_t backoff_max_ms;  /* [30000] longest retry delay */
	uint32_t backoff_reset_ms;/* [10000] open this long: back-off resets */
	uint32_t jitter_pct;      /* [20] ± spread of each delay; 0 = default,
				     use WS_NO_JITTER for none */
	uint32_t ping_interval_ms;/* [20000] WS_NO_PING: never ping */
	uint32_t ping_timeout_ms; /* [10000] */
	ws_callbacks_t cb;
	void *ctx;                /* passed to every callback */
} ws_config_t;

#define WS_NO_JITTER UINT32_MAX
#define WS_NO_PING UINT32_MAX

/* Counters since creation; read them with ws_stats(). */
typedef struct ws_stats {
	uint64_t messages;      /* delivered to on_message */
	uint64_t bytes;         /* payload bytes received, delivered or not */
	uint64_t oversized;     /* messages dropped for exceeding max_message */
	uint64_t malformed;     /* binary messages + ws_note_malformed() */
	uint64_t opens;         /* connections opened (on_open calls) */
	uint64_t reconnects;    /* retries scheduled after a failure or close */
	uint64_t connect_fails; /* attempts that ended before opening */
	uint64_t timeouts;      /* connections dropped for no pong */
	uint64_t silences;      /* on_silence calls */
	uint64_t sent;          /* messages written to the socket */
	uint64_t send_full;     /* ws_send() refused: queue full */
	uint64_t pings;         /* pings sent */
} ws_stats_t;

/*
 * Create a connection and start connecting (on the loop's next turn).
 * Returns KERR_OK; KERR_ARG for a bad URL or configuration; KERR_NOMEM.
 */
kerr_t ws_create(loop_t *loop, const ws_config_t *cfg, ws_t **out);

/*
 * Close the connection (without callbacks) and free everything.  Not from
 * inside this connection's own callbacks.  NULL is ignored.
 */
void ws_destroy(ws_t *ws);

/*
 * Queue one text message for sending (copied).  Returns KERR_OK;
 * KERR_IO if the connection is not open (nothing is queued, on_open will
 * run again after the reconnect); KERR_BUF if the queue is full;
 * KERR_TOO_LONG if len alone exceeds send_queue_bytes; KERR_ARG.
 */
kerr_t ws_send(ws_t *ws, const char *text, size_t len);

/* Start (or restart, from now) the silence watch; 0 stops it. */
void ws_silence_arm(ws_t *ws, uint32_t ms);

/*
 * The owner's parser rejected a message: count it as malformed and log
 * why (rate-limited, see above).  why may be NULL.
 */
void ws_note_malformed(ws_t *ws, const char *why);

/* true while the connection is open (between on_open and on_close). */
bool ws_is_open(const ws_t *ws);

/* The counters (valid as long as ws). */
const ws_stats_t *ws_stats(const ws_t *ws);

/* The name used in log lines. */
const char *ws_name(const ws_t *ws);

#endif
