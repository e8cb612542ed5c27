/*
 * tests/proto/proto.h: the measurement driver shared by the two event-loop
 * prototypes of keeper issue 3 (loop_lws.c: lws's own poll loop; loop_uv.c:
 * libuv with lws's uv event-lib plugin).  Both run the same websocket echo
 * client (lws) and the same HTTP JSON-RPC client (curl multi_socket), so the
 * only code that differs between the two programs is the glue that gives
 * curl's sockets and timers, and the driver's own timers, to the loop.
 * That keeps the comparison about the loop and nothing else.
 *
 * The driver runs fixed phases, each bounded in count and in time:
 *   ws     N round trips of a 1 KiB text frame, one outstanding at a time;
 *   http   N eth_blockNumber POSTs over one keep-alive connection;
 *   timer  N one-shot 10 ms timers, re-armed from their own callback;
 *   mixed  all three at once for N timer ticks (the keeper's real shape:
 *          frames streaming in while RPC calls and timers run).
 * It is a test tool, not part of keeper: it prints figures and exits 0, or
 * prints why it failed and exits 1.
 */
#ifndef PROTO_H
#define PROTO_H

#include <stdint.h>

#include <curl/curl.h>
#include <libwebsockets.h>

/* The driver's timers; the loop glue keeps one one-shot timer for each. */
enum proto_timer {
	PROTO_T_TICK,     /* the 10 ms timer whose lateness is measured */
	PROTO_T_WATCHDOG, /* 100 ms: phase deadlines, so no phase can hang */
	PROTO_T_COUNT
};

/* What a loop design gives the driver. */
typedef struct proto_loop {
	const char *name;     /* one line: the design, printed with the figures */
	/* Arms (or re-arms) timer t to fire once, delay_us from now. */
	void (*arm)(enum proto_timer t, int64_t delay_us);
	/* Asks the loop to return after the current callback. */
	void (*stop)(void);
	/* NULL, or curl's CURLOPT_CLOSESOCKETFUNCTION for the glue that must
	 * learn when curl closes a socket (not only when it stops watching). */
	curl_closesocket_callback closesocket;
} proto_loop_t;

/* Name of the websocket protocol the echo server speaks. */
#define PROTO_WS_PROTOCOL "echo"
/* Size of every websocket frame the client sends. */
#define PROTO_FRAME_LEN 1024
/* Offsets in the frame: "seq=%010u srv=%020lld ..." (srv stamped by the server). */
#define PROTO_SEQ_OFF 4
#define PROTO_SRV_OFF 19
#define PROTO_SRV_DIGITS 20

/* CLOCK_MONOTONIC in nanoseconds; shared by server and client processes. */
int64_t proto_now_ns(void);

/*
 * Parses the command line (see usage in proto.c), initialises curl and the
 * multi handle, remembers loop.  Returns 0, or -1 after printing why.
 */
int proto_init(int argc, char **argv, const proto_loop_t *loop);

/* The multi handle; the glue installs its socket and timer callbacks on it. */
CURLM *proto_multi(void);

/*
 * Starts the run: connects the websocket client through ctx (which must list
 * proto_ws_callback under the name PROTO_WS_PROTOCOL) and arms the watchdog.
 * Returns 0, or -1 after printing why.
 */
int proto_start(struct lws_context *ctx);

/* lws protocol callback of the websocket echo client. */
int proto_ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
		      void *user, void *in, size_t len);

/* The glue calls this when timer t fires. */
void proto_on_timer(enum proto_timer t);

/*
 * The glue calls this after every curl_multi_socket_action(), outside any
 * curl callback: it reaps finished transfers and starts the next request.
 */
void proto_curl_progress(void);

/*
 * Prints the figures (and the glue's note, if any), releases curl.
 * Returns the exit status: 0 when every phase completed, else 1.
 */
int proto_finish(const char *glue_note);

#endif
