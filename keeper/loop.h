/*
 * loop: the one event loop of keeper.  One thread, one libwebsockets context
 * that owns every socket and timer: websocket clients (keeper/ws.h), curl's
 * HTTP sockets (keeper/http.h), servers such as /metrics, and timers.
 * tests/proto/RESULTS.md says why this is lws's own poll() loop and not
 * libuv.
 *
 * Time.  Frames are stamped with loop_now_ms(): the monotonic clock read
 * lazily, at most once per loop turn for all I/O callbacks of that turn
 * (every frame of one poll() wake-up shares one value), and once more for
 * each timer expiry, so a timer callback sees a time at its deadline or
 * after (to the microsecond, see Timers).  loop_wall_ms() is the real-time
 * clock, cached the same way, for remote timestamps and logs only; never
 * measure durations with it.
 *
 * Timers.  loop_timer_t is a one-shot timer on lws_sul (microsecond
 * resolution; never early by more than the sub-microsecond part lws
 * truncates from its deadlines), embedded in its owner: arming never
 * allocates and cannot fail.  Callbacks run on the loop thread and get the
 * loop and the timer's argument.  An owner cancels its timers before it
 * frees the memory they live in, and before loop_destroy().
 *
 * Stopping.  loop_stop() only sets a flag and writes one byte to a pipe the
 * loop watches, so it is async-signal-safe: a SIGTERM handler may call it.
 *
 * One loop per process at a time: with two lws 4.1.6 contexts alive at
 * once, destroying them leaks the OpenSSL client context (seen under LSan,
 * also without keeper's code).  Create, destroy, then create again is fine.
 *
 * Modules that own lws connections on the loop's client vhost (ws, http)
 * bind them to the protocols LOOP_PROTO_WS or LOOP_PROTO_RAW and put a
 * loop_handler_t in the wsi's opaque user data; the loop's one protocol
 * callback forwards each callback to that handler, and drops callbacks of a
 * wsi whose opaque pointer is NULL (the owner has let go of it).
 */
#ifndef KEEPER_LOOP_H
#define KEEPER_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "keeper/kerr.h"

typedef struct loop loop_t;

/* Runs when a timer expires; arg is the one given to loop_timer_init(). */
typedef void (*loop_timer_fn)(loop_t *loop, void *arg);

/*
 * A one-shot timer.  Embed it in its owner and set it up with
 * loop_timer_init(); the fields are private to loop.c.
 */
typedef struct loop_timer {
	lws_sorted_usec_list_t sul; /* first: the lws callback casts back */
	loop_t *loop;
	loop_timer_fn fn;
	void *arg;
} loop_timer_t;

/*
 * The receiver of lws callbacks for one wsi that a module created on the
 * loop's vhost.  Put a pointer to it in the wsi's opaque user data (the
 * opaque_user_data of lws_client_connect_info or lws_adopt_desc_t).
 * fn returns what an lws protocol callback returns (non-zero closes the wsi).
 */
typedef struct loop_handler loop_handler_t;
struct loop_handler {
	int (*fn)(loop_handler_t *h, struct lws *wsi,
		  enum lws_callback_reasons reason, void *in, size_t len);
};

/* Protocol names on the loop's client vhost. */
#define LOOP_PROTO_WS "keeper-ws"   /* websocket client connections */
#define LOOP_PROTO_RAW "keeper-raw" /* adopted descriptors (raw files) */

/* Receive chunk size of LOOP_PROTO_WS connections: lws allocates it once
 * per connection and hands a message over in pieces of at most this size. */
#define LOOP_WS_RX_CHUNK 65536

typedef struct loop_config {
	/* lws's limit, in seconds, on each step of a client connection (TCP
	 * connect, TLS, the websocket handshake); 0 = 10. */
	unsigned connect_timeout_s;
} loop_config_t;

/*
 * Create the loop: the lws context and its client vhost (no listening
 * port; wss:// verifies servers against the system's CA store, and
 * OpenSSL's SSL_CERT_FILE / SSL_CERT_DIR environment overrides apply).
 * cfg may be NULL for the defaults.  lws's own log lines go to keeper/log.h
 * (module "lws", warnings and errors only).
 * Returns KERR_OK, KERR_NOMEM, KERR_IO (pipe) or KERR_ARG.
 */
kerr_t loop_create(const loop_config_t *cfg, loop_t **out);

/*
 * Destroy the loop: closes every connection and listening socket of the
 * context.  Destroy the modules that use the loop (ws, http) first, and
 * cancel every timer.  NULL is ignored.
 */
void loop_destroy(loop_t *loop);

/*
 * Run the loop until loop_stop().  A stop requested before the call makes
 * it return after one turn; the request is consumed, so a later loop_run()
 * runs again.  Returns KERR_OK, or KERR_IO if lws's service call failed.
 */
kerr_t loop_run(loop_t *loop);

/*
 * Ask loop_run() to return after the current turn.  Async-signal-safe;
 * preserves errno.
 */
void loop_stop(loop_t *loop);

/* The cached monotonic clock (CLOCK_MONOTONIC), see "Time" above. */
int64_t loop_now_ns(loop_t *loop);
int64_t loop_now_ms(loop_t *loop);
/* The cached wall clock: ms since the Unix epoch (CLOCK_REALTIME). */
int64_t loop_wall_ms(loop_t *loop);

/* Set up a timer (not armed).  Call once before any other loop_timer_*. */
void loop_timer_init(loop_timer_t *t, loop_t *loop, loop_timer_fn fn,
		     void *arg);

/*
 * Arm t to fire once, delay from now (negative counts as 0).  Re-arming an
 * armed timer moves it.  Delay 0 means "as soon as the loop is outside
 * every callback": lws runs ripe timers in passes before and after its
 * poll, so a timer that re-arms itself with 0 runs several times per
 * poll(); sockets are still polled, but do not spin on zero delays.
 */
void loop_timer_arm_ms(loop_timer_t *t, int64_t delay_ms);
void loop_timer_arm_us(loop_timer_t *t, int64_t delay_us);

/* Disarm t; nothing happens if it is not armed. */
void loop_timer_cancel(loop_timer_t *t);

/* true while t is armed (false again once its callback starts). */
bool loop_timer_armed(const loop_timer_t *t);

/* The lws context, for modules that create lws objects on the loop. */
struct lws_context *loop_lws(loop_t *loop);

/* The client vhost that carries LOOP_PROTO_WS and LOOP_PROTO_RAW. */
struct lws_vhost *loop_vhost(loop_t *loop);

/*
 * Add a server vhost (for /metrics, or a test server) listening on
 * iface:port with the given lws protocols (an array ended by an all-zero
 * entry, which must outlive the loop).  iface NULL means every interface;
 * port 0 lets the kernel choose.  The vhost lives until loop_destroy().
 * *bound_port (if not NULL) gets the port actually bound.
 * Returns KERR_OK, KERR_ARG or KERR_IO (the address could not be bound).
 */
kerr_t loop_listen(loop_t *loop, const char *name, const char *iface,
		   int port, const struct lws_protocols *protocols,
		   int *bound_port);

/*
 * A server vhost for loop_listen_opts(): loop_listen()'s arguments, and
 * lws's per-vhost user pointer and finalizer, for a server whose per-vhost
 * state must live exactly as long as the vhost.  lws keeps name and iface
 * (not copies), so they too must live until finalize runs.
 */
typedef struct loop_listen_opts {
	const char *name;
	const char *iface;      /* NULL: every interface */
	int port;               /* 0: the kernel chooses */
	const struct lws_protocols *protocols; /* as for loop_listen() */
	void *user;             /* lws_vhost_user() of the vhost */
	/* NULL, or run just before lws frees the vhost: at loop_destroy(), or
	 * inside a loop_listen_opts() that fails once lws made the vhost. */
	void (*finalize)(struct lws_vhost *vh, void *arg);
	void *finalize_arg;
} loop_listen_opts_t;

/* loop_listen() with the options above; the same results. */
kerr_t loop_listen_opts(loop_t *loop, const loop_listen_opts_t *o,
			int *bound_port);

#endif
