/*
 * http: HTTP POST requests (JSON-RPC's transport) on the loop, through
 * libcurl's multi interface.  curl's sockets and timers are driven by the
 * loop, so a request never blocks and never starts a thread of ours (curl's
 * resolver may use a helper thread for host names; it touches no keeper
 * state).
 *
 * A request is posted with http_post() and finishes exactly once, in its
 * callback, on the loop thread, on a later turn (never from inside
 * http_post).  Connections are kept alive and reused between requests to
 * the same host.  Each request has its own timeout, covering everything
 * from the call to the last byte of the answer.
 *
 * Limits: at most max_inflight requests at once (http_post fails beyond);
 * a request body of at most max_request bytes (copied, so the caller's
 * buffer is free again when http_post returns); an answer of at most
 * max_response bytes, else the request fails with HTTP_ERR_TOO_LARGE.
 * Each request slot keeps its buffers between requests, so a steady load
 * allocates nothing of ours after the first few requests.
 *
 * Retry.  A server may close a kept-alive connection just as keeper sends
 * on it.  curl 7.88 re-sends the request by itself, POST included, when
 * such a reused connection fails before any byte of the answer while curl
 * reads or sends the request's first bytes ("Connection died, retrying a
 * fresh connect"); callers cannot turn that off, so JSON-RPC must not
 * rely on a call being sent at most once.  But curl allows itself only 5
 * such re-sends per easy handle over the handle's whole life (the request
 * slots reuse their handles), so later ones come out as errors, and it
 * never re-sends when the failure hits the rest of a longer upload
 * ("Failed sending data to the peer", CURLE_SEND_ERROR).  A request posted
 * with HTTP_F_RETRY (only for idempotent calls, such as reads or sending
 * an already signed transaction) is therefore sent once more, on a new
 * connection, when it failed with a send or receive error on a reused
 * connection and time is left.
 *
 * This module gives the status and body as they came; JSON-RPC semantics
 * (ids, error objects, failover between URLs) belong to keeper/rpc.
 */
#ifndef KEEPER_HTTP_H
#define KEEPER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/kerr.h"
#include "keeper/loop.h"

typedef struct http http_t;

/* How a request ended.  Values are stable (logs and metrics name them). */
typedef enum {
	HTTP_OK = 0,            /* a complete answer with a 2xx status */
	HTTP_STATUS = 1,        /* a complete answer with another status */
	HTTP_ERR_TIMEOUT = 2,   /* no complete answer within timeout_ms */
	HTTP_ERR_CONNECT = 3,   /* no connection: refused, unreachable, DNS,
				   TLS handshake or certificate */
	HTTP_ERR_SEND = 4,      /* the request could not be sent */
	HTTP_ERR_RECV = 5,      /* the answer broke off, or was not HTTP */
	HTTP_ERR_TOO_LARGE = 6, /* the answer exceeded max_response */
	HTTP_ERR_OTHER = 7,     /* anything else; error says what */
} http_kind_t;

typedef struct http_result {
	http_kind_t kind;
	long status;        /* HTTP status code (HTTP_OK, HTTP_STATUS), else 0 */
	const char *body;   /* the answer's body, NUL-terminated (also for
			       HTTP_STATUS; "" on transport errors); valid
			       only during the callback */
	size_t len;
	const char *error;  /* curl's error text for logs; "" when kind is
			       HTTP_OK or HTTP_STATUS */
	bool retried;       /* sent twice (HTTP_F_RETRY) */
	long connects;      /* new connections this request opened (0: it
			       reused a kept-alive one) */
	int64_t elapsed_us; /* from http_post() to the end */
} http_result_t;

/* Called once per request with its outcome; ctx is http_post()'s. */
typedef void (*http_done_fn)(const http_result_t *res, void *ctx);

/* http_post() flags */
#define HTTP_F_RETRY 1u /* idempotent: retry once on a dead reused connection */

/* Settings; a 0 field takes the default in brackets. */
typedef struct http_config {
	uint32_t max_inflight;       /* [16] requests at once */
	size_t max_request;          /* [1 MiB] request body */
	size_t max_response;         /* [4 MiB] answer body */
	uint32_t connect_timeout_ms; /* [5000] per connection, and never more
					than the request's own timeout */
	uint32_t max_connections;    /* [max_inflight] kept-alive connections */
	const char *user_agent;      /* ["keeper"] copied by curl */
} http_config_t;

typedef struct http_stats {
	uint64_t requests;   /* http_post() calls accepted */
	uint64_t ok;         /* ended HTTP_OK */
	uint64_t status;     /* ended HTTP_STATUS */
	uint64_t failed;     /* ended with a transport error (any HTTP_ERR_*) */
	uint64_t retries;    /* second sends (HTTP_F_RETRY) */
	uint64_t connects;   /* connections opened */
	uint64_t refused;    /* http_post() refused: max_inflight reached */
} http_stats_t;

/*
 * Create a client on the loop.  Destroy it with http_destroy() before the
 * loop.  Returns KERR_OK, KERR_ARG or KERR_NOMEM (curl failed to start).
 */
kerr_t http_create(loop_t *loop, const http_config_t *cfg, http_t **out);

/*
 * Drop every request still in flight (their callbacks are not called),
 * close the connections and free everything.  Not from inside a callback.
 * NULL is ignored.
 */
void http_destroy(http_t *h);

/*
 * POST body (len bytes, Content-Type: application/json) to url (http:// or
 * https://; HTTPS verifies the server against the system CA store) and call
 * done(result, ctx) when it ends.  timeout_ms (> 0) bounds the whole
 * request.  flags: 0 or HTTP_F_RETRY.
 * Returns KERR_OK (done will be called), or, with no callback: KERR_BUF
 * (max_inflight requests in flight), KERR_TOO_LONG (len > max_request),
 * KERR_ARG, KERR_NOMEM.
 */
kerr_t http_post(http_t *h, const char *url, const char *body, size_t len,
		 uint32_t timeout_ms, unsigned flags, http_done_fn done,
		 void *ctx);

/* A request header of http_post_ex(): sent as "name: value". */
typedef struct http_header {
	const char *name;
	const char *value;
} http_header_t;

/* Extra headers one request may carry. */
#define HTTP_MAX_HEADERS 8
/* Longest "name: value" line accepted. */
#define HTTP_HEADER_MAX 1024

/*
 * http_post() with n extra request headers (n <= HTTP_MAX_HEADERS, headers
 * may be NULL when n is 0), for endpoints that authenticate requests, such
 * as a Flashbots relay's X-Flashbots-Signature.  The header strings are
 * copied, so they may be freed when this returns.  A name is 1.. token
 * characters (RFC 9110: letters, digits and !#$%&'*+-.^_`|~); a value has
 * no control character (CR or LF would let it smuggle in another header).
 * Content-Type, Content-Length, Expect, Host and Transfer-Encoding are
 * this module's to set and are refused, as is a line longer than
 * HTTP_HEADER_MAX.  Such a request costs one allocation of its header list
 * (freed when it ends), unlike a plain http_post().  Returns what
 * http_post() returns, KERR_ARG for a header breaking these rules.
 */
kerr_t http_post_ex(http_t *h, const char *url, const char *body, size_t len,
		    const http_header_t *headers, size_t n, uint32_t timeout_ms,
		    unsigned flags, http_done_fn done, void *ctx);

/* Requests in flight now. */
uint32_t http_inflight(const http_t *h);

/* The counters (valid as long as h). */
const http_stats_t *http_stats(const http_t *h);

/* "ok", "status", "timeout", "connect", "send", "recv", "too large",
 * "other"; never NULL. */
const char *http_kind_str(http_kind_t kind);

#endif
