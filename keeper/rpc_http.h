/*
 * rpc_http: keeper/rpc's transport over keeper/http, so that JSON-RPC calls
 * go to the chain.rpc URLs on the loop.
 *
 * rpc knows the JSON-RPC rules and failover but does no I/O; http POSTs
 * bytes and reports what came back.  This glue maps one onto the other:
 * endpoint i of the rpc client is urls[i]; http's outcomes become rpc's
 *   HTTP_OK, HTTP_STATUS         -> RPC_NET_OK with the status and body
 *   HTTP_ERR_TIMEOUT             -> RPC_NET_TIMEOUT
 *   HTTP_ERR_CONNECT             -> RPC_NET_CONNECT
 *   HTTP_ERR_SEND, _RECV, _OTHER -> RPC_NET_IO
 *   HTTP_ERR_TOO_LARGE           -> RPC_NET_TOO_LARGE
 * and a request whose method is idempotent (rpc_http_idempotent) is posted
 * with HTTP_F_RETRY, so that a kept-alive connection the server closed
 * just then costs a resend instead of a failover.
 *
 * Each request in flight holds one of max_inflight contexts (a fixed
 * array, allocated at creation, the same bound as http's own); with none
 * free, send() refuses with KERR_RPC_BUSY and rpc tries the next endpoint.
 * Transport failures are logged at debug level only: rpc's counters and
 * its caller decide what is worth a warning.
 *
 * Teardown: rpc_http_free() destroys the http client, which drops the
 * requests in flight without completions.  Free it before the rpc client
 * (rpc_free requires that no completion can arrive any more) and before
 * anything that rpc callbacks point to.
 */
#ifndef KEEPER_RPC_HTTP_H
#define KEEPER_RPC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/http.h"
#include "keeper/kerr.h"
#include "keeper/loop.h"
#include "keeper/rpc.h"

/* Requests in flight when the http config leaves max_inflight 0: a
 * broadcast takes one per endpoint, on top of ordinary calls. */
#define RPC_HTTP_INFLIGHT_DEFAULT 64

typedef struct rpc_http rpc_http_t;

/*
 * A transport over n URLs (1..RPC_MAX_ENDPOINTS, http:// or https://,
 * copied).  http may be NULL; its 0 fields take http's defaults, except
 * max_inflight (RPC_HTTP_INFLIGHT_DEFAULT).  Returns KERR_OK, KERR_ARG (a
 * bad count or URL scheme), KERR_NOMEM.
 */
kerr_t rpc_http_new(loop_t *loop, const char *const *urls, size_t n,
		    const http_config_t *http, rpc_http_t **out);

/* Destroy the http client (in-flight requests are dropped, see above) and
 * free everything.  NULL is ignored. */
void rpc_http_free(rpc_http_t *t);

/* The transport to give rpc_new() (valid as long as t). */
rpc_transport_t rpc_http_transport(rpc_http_t *t);

/* An http outcome as rpc's transport verdict (HTTP_OK and HTTP_STATUS are
 * answers, rpc judges the status; the rest map to RPC_NET_*), for every
 * transport built on keeper/http (this one, keeper/relay). */
rpc_net_t rpc_http_net(http_kind_t k);

/* An rpc_clock_fn on the loop's cached monotonic clock: pass the loop as
 * the clock context. */
uint64_t rpc_http_clock(void *loop);

/*
 * Whether a call of method[0..len) may be sent twice: reads, and
 * eth_sendRawTransaction (a second copy of a signed transaction is only
 * "already known").  Anything not on the list (eth_sendTransaction, test
 * nodes' evm_mine, ...) is sent at most once by this module.
 */
bool rpc_http_idempotent(const char *method, size_t len);

/* http's counters. */
const http_stats_t *rpc_http_stats(const rpc_http_t *t);

#endif
