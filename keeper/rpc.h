/*
 * rpc: a JSON-RPC 2.0 client over the chain.rpc HTTP endpoints: request
 * bodies for the methods keeper uses, strict replies, typed node errors,
 * failover between endpoints, and a broadcast of raw transactions to all.
 *
 * Why a reply is judged this strictly.  Nodes and hosted RPCs answer HTTP
 * 200 with a JSON-RPC error body, and a client that looks at the status
 * alone reports a success that never happened (OpenZeppelin Monitor failed
 * silently that way).  Here a reply is a success only when it is a JSON-RPC
 * 2.0 object with our id and a "result"; an "error" object is an error
 * carrying its code and message whatever the HTTP status; anything else is
 * malformed.  Node error texts differ per client (geth, erigon, nethermind,
 * besu, anvil), so messages are sorted into rpc_error_kind_t by the table in
 * rpc.c, which names where each text comes from.
 *
 * Transport.  rpc does no I/O: it hands each request body to a transport
 * (rpc_transport_t), which POSTs it to endpoint url_index and later reports
 * the outcome once, through the completion it was given.  keeper/http is
 * the real one; tests script a fake.  Contract for a transport:
 *   - send() either accepts the request and calls done(done_arg, ...)
 *     exactly once later, or returns an error and never calls it;
 *   - done is never called from inside send() (rpc is not re-entered);
 *   - body stays valid until done is called, so it need not be copied;
 *   - the result's body is only read during done;
 *   - send() may be called from inside a completion (failover does).
 *
 * Failover.  Endpoints are tried in ring order from the current one, which
 * is sticky: it changes only when another endpoint answers.  A call moves
 * to the next endpoint on a timeout, a connection error, a send/receive
 * error, HTTP 5xx or 429, a malformed reply (not JSON, not JSON-RPC 2.0,
 * wrong id: the endpoint is not speaking the protocol, e.g. a proxy's HTML
 * page), HTTP 401, 403 and 404 without a JSON-RPC error body (the endpoint
 * is unusable: an expired or wrong API key, a mistyped URL path), and a
 * JSON-RPC error of kind RPC_E_RATE_LIMITED (the node declined
 * to serve us, as with 429; another endpoint may well serve).  Each endpoint
 * is tried at most once per call.  The failing endpoint is marked down for
 * backoff_ms, doubling with each consecutive failure up to backoff_max_ms,
 * and reset by its next answer.  Later calls skip down endpoints, unless
 * every untried endpoint is down: then the one whose back-off ends first is
 * tried anyway, because a keeper that stops trying while its pause
 * transaction waits is worse than one that spends a timeout.  Other JSON-RPC
 * errors are answers (the node understood and refused) and HTTP 1xx, 3xx and
 * the other 4xx are errors of the call: neither fails over.  A 4xx
 * whose body is a JSON-RPC error reply (besu answers invalid params with
 * 400; Infura's exhausted credit is 402 with a JSON-RPC error) is reported
 * as that error, with the status, and fails over if it is rate limiting.  A reply over the size limit
 * (KERR_TOO_LONG) does not fail over either: every endpoint would send the
 * same.  When every try fails, the call's error is that of the last try.
 * There is no deadline over the whole call: at most n endpoints x timeout.
 *
 * Memory: rpc_new() allocates everything: `slots` request slots (each a
 * body buffer of max_request bytes and one outcome per endpoint), one
 * token array for replies (max_reply / 8 tokens), and RPC_BATCH_MAX call
 * outcomes for the batch reply being judged.  A call holds a slot
 * until its callback is called; with none free a call fails KERR_RPC_BUSY.
 * Nothing is allocated per call.
 *
 * Callbacks are called exactly once per call rpc_submit() accepted (never
 * from inside rpc_submit()), from the transport's completion.  Everything
 * a reply points to (tokens, outcomes, revert data, the body itself) is
 * valid only during the callback.  The call's slot is already free then,
 * so a callback can always start a new call; it must not call rpc_free().
 */
#ifndef KEEPER_RPC_H
#define KEEPER_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keeper/jtok.h"
#include "keeper/kerr.h"
#include "signer/addr.h"

#define RPC_MAX_ENDPOINTS 16        /* = CONFIG_MAX_RPC */
#define RPC_MAX_SLOTS 64            /* in-flight calls, default and maximum */
#define RPC_TIMEOUT_DEFAULT 5000    /* ms per attempt */
#define RPC_BACKOFF_DEFAULT 1000    /* ms, first back-off of a failing endpoint */
#define RPC_BACKOFF_MAX_DEFAULT 60000
#define RPC_REQUEST_DEFAULT 16384   /* bytes of a request body */
#define RPC_REQUEST_HARD ((size_t)1 << 20)
#define RPC_REPLY_DEFAULT ((size_t)1 << 20)  /* bytes of a reply body */
#define RPC_REPLY_HARD ((size_t)64 << 20)
/* An error message is kept up to RPC_MSG_MAX - 1 bytes (NUL added); every
 * text the classifier looks for is at the start of its message. */
#define RPC_MSG_MAX 512
/* Revert data decoded from error.data, in bytes. */
#define RPC_REVERT_MAX 4096
/* eth_feeHistory: geth serves at most 1024 blocks and 100 percentiles. */
#define RPC_FEE_HISTORY_MAX_BLOCKS 1024
#define RPC_FEE_HISTORY_MAX_PCT 100
/* eth_getLogs filter limits (ours, not the nodes'). */
#define RPC_LOGS_MAX_ADDRS 64
#define RPC_LOGS_MAX_TOPIC_ALTS 16
/* Calls in one JSON-RPC batch (providers cap batches at 100 to 1000). */
#define RPC_BATCH_MAX 100

/* ---- transport ---------------------------------------------------------- */

typedef enum {
	RPC_NET_OK = 0,      /* an HTTP response arrived: see http_status */
	RPC_NET_TIMEOUT,     /* no complete response within timeout_ms */
	RPC_NET_CONNECT,     /* name resolution, TCP or TLS failed */
	RPC_NET_IO,          /* sending or receiving failed after connecting */
	RPC_NET_TOO_LARGE,   /* the response exceeded the transport's size limit */
} rpc_net_t;

typedef struct {
	rpc_net_t net;
	int http_status;     /* RPC_NET_OK: the status; otherwise 0 */
	const char *body;    /* RPC_NET_OK: the response body (not NUL-terminated) */
	size_t len;
} rpc_net_result_t;

typedef void (*rpc_net_done_fn)(void *done_arg, const rpc_net_result_t *res);

typedef struct {
	void *ctx;
	/* POST body[0..len) to endpoint url_index (see the contract above). */
	kerr_t (*send)(void *ctx, size_t url_index, const char *body, size_t len,
		       uint32_t timeout_ms, rpc_net_done_fn done, void *done_arg);
} rpc_transport_t;

/* Monotonic milliseconds (tests pass a scripted clock). */
typedef uint64_t (*rpc_clock_fn)(void *ctx);

/* ---- requests ------------------------------------------------------------ */

/* A block parameter: a tag ("latest", "pending", "safe", "finalized",
 * "earliest"; others are KERR_ARG), or, with tag NULL, a block number. */
typedef struct {
	const char *tag;
	uint64_t number;
} rpc_block_t;

#define RPC_BLOCK_TAG(t) ((rpc_block_t){ (t), 0 })
#define RPC_BLOCK_NUM(n) ((rpc_block_t){ NULL, (n) })
#define RPC_LATEST RPC_BLOCK_TAG("latest")
#define RPC_PENDING RPC_BLOCK_TAG("pending")

/* One topic position of a log filter: any of n hashes; n == 0 is null
 * (any topic). */
typedef struct {
	const uint8_t (*any)[32];
	size_t n;                  /* 0..RPC_LOGS_MAX_TOPIC_ALTS */
} rpc_topic_t;

typedef struct {
	rpc_block_t from, to;
	const addr_t *addrs;       /* emitting contracts; naddrs == 0: any */
	size_t naddrs;             /* 0..RPC_LOGS_MAX_ADDRS */
	rpc_topic_t topics[4];     /* positions 0..ntopics-1 */
	size_t ntopics;            /* 0..4 */
} rpc_log_filter_t;

typedef enum {
	RPC_REQ_RAW = 1,           /* method + params as JSON text */
	RPC_REQ_BLOCK_NUMBER,      /* eth_blockNumber */
	RPC_REQ_CHAIN_ID,          /* eth_chainId */
	RPC_REQ_GET_BALANCE,       /* eth_getBalance(addr, block) */
	RPC_REQ_GET_TX_COUNT,      /* eth_getTransactionCount(addr, block) */
	RPC_REQ_CALL,              /* eth_call({to: addr, data}, block) */
	RPC_REQ_SEND_RAW_TX,       /* eth_sendRawTransaction(data) */
	RPC_REQ_GET_TX,            /* eth_getTransactionByHash(hash) */
	RPC_REQ_GET_RECEIPT,       /* eth_getTransactionReceipt(hash) */
	RPC_REQ_GET_LOGS,          /* eth_getLogs(*logs) */
	RPC_REQ_FEE_HISTORY,       /* eth_feeHistory(count, block, percentiles) */
} rpc_req_kind_t;

/* One request; each kind reads only the fields named beside it. */
typedef struct {
	rpc_req_kind_t kind;
	const char *method;        /* RAW: 1..64 of [A-Za-z0-9_] */
	const char *params;        /* RAW: a JSON array or object, or NULL: [] */
	size_t params_len;
	const addr_t *addr;        /* GET_BALANCE, GET_TX_COUNT: account; CALL: to */
	rpc_block_t block;         /* GET_BALANCE, GET_TX_COUNT, CALL; FEE_HISTORY: newest */
	const uint8_t *data;       /* CALL: calldata; SEND_RAW_TX: the signed tx */
	size_t data_len;
	const uint8_t *hash;       /* GET_TX, GET_RECEIPT: 32 bytes */
	const rpc_log_filter_t *logs;  /* GET_LOGS */
	uint64_t count;            /* FEE_HISTORY: blocks, 1..RPC_FEE_HISTORY_MAX_BLOCKS */
	const double *pct;         /* FEE_HISTORY: 0..100, non-decreasing */
	size_t npct;               /* 0..RPC_FEE_HISTORY_MAX_PCT */
	uint32_t timeout_ms;       /* per attempt; 0: the client's */
} rpc_req_t;

/*
 * The request body {"jsonrpc":"2.0","id":ID,"method":...,"params":...} of
 * req into out[0..cap) (no NUL), its length in *len.  A pure function: the
 * client builds into its slots with it.  KERR_ARG for a request that breaks
 * the field rules above, KERR_BUF when out is too small.
 */
kerr_t rpc_build(char *out, size_t cap, size_t *len, uint64_t id,
		 const rpc_req_t *req);

/*
 * A batch body: a JSON array of the n (1..RPC_BATCH_MAX) requests, request
 * i with id first_id + i, built as rpc_build() builds one.  KERR_ARG (n out
 * of range, or a request rpc_build refuses), KERR_BUF.
 */
kerr_t rpc_build_batch(char *out, size_t cap, size_t *len, uint64_t first_id,
		       const rpc_req_t *reqs, size_t n);

/* ---- replies ------------------------------------------------------------- */

/* What a JSON-RPC error means to keeper (the texts are in rpc.c). */
typedef enum {
	RPC_E_NONE = 0,                /* not a JSON-RPC error */
	RPC_E_OTHER,                   /* an error no rule recognises */
	RPC_E_NONCE_TOO_LOW,           /* nonce used: mined, or taken by another tx */
	RPC_E_NONCE_TOO_HIGH,          /* a gap before this nonce */
	RPC_E_REPLACEMENT_UNDERPRICED, /* same nonce pending; bump too small */
	RPC_E_ALREADY_KNOWN,           /* the node has this very tx: accepted */
	RPC_E_INSUFFICIENT_FUNDS,      /* balance below gas * price + value */
	RPC_E_UNDERPRICED,             /* fee below the pool minimum or the base fee */
	RPC_E_REVERTED,                /* execution reverted (revert data if any) */
	RPC_E_RATE_LIMITED,            /* the endpoint throttles us (also HTTP 429) */
	RPC_E_METHOD_NOT_FOUND,
	RPC_E_INVALID_PARAMS,
	RPC_E_KINDS
} rpc_error_kind_t;

/* Classify a JSON-RPC error by its code and message[0..len). */
rpc_error_kind_t rpc_classify(int64_t code, const char *msg, size_t len);

/* "nonce_too_low" etc. (metric-label friendly); never NULL. */
const char *rpc_error_kind_name(rpc_error_kind_t kind);

/*
 * The outcome of one attempt at one endpoint.  For KERR_RPC_ERROR: the
 * error's code, kind and message.  The message is unescaped, NUL-terminated
 * and may hold NUL bytes (message_len counts them); one longer than
 * RPC_MSG_MAX - 1 bytes is kept as sent (escapes as written), cut at a
 * character boundary, with message_cut set.
 */
typedef struct {
	kerr_t err;               /* KERR_OK: a result */
	rpc_net_t net;            /* the transport's verdict */
	int http_status;          /* 0 when no response */
	rpc_error_kind_t kind;    /* KERR_RPC_ERROR, HTTP 429: the kind; else NONE */
	int64_t code;
	char message[RPC_MSG_MAX];
	size_t message_len;
	bool message_cut;
	bool has_hash;            /* broadcast: the result was a tx hash */
	uint8_t hash[32];
} rpc_outcome_t;

typedef struct {
	kerr_t err;               /* KERR_OK: `result` is the answer */
	uint64_t id;              /* the request id */
	size_t endpoint;          /* the endpoint of the last attempt */
	unsigned attempts;        /* endpoints tried */
	const rpc_outcome_t *out; /* the last attempt: status, kind, code, message */
	/* Tokens of the last reply, NULL when it was not parsed (transport
	 * error, HTTP error without a JSON-RPC body, a jtok error). */
	const jtok_doc_t *doc;
	size_t result;            /* KERR_OK: token of "result" */
	size_t data;              /* KERR_RPC_ERROR: token of error.data, or JTOK_NONE */
	/* RPC_E_REVERTED with error.data a hex string of at most
	 * RPC_REVERT_MAX bytes: the revert data ("0x" gives has_revert with
	 * revert_len 0). */
	bool has_revert;
	const uint8_t *revert;
	size_t revert_len;
	/* The member at fault for KERR_RPC_REPLY / KERR_RPC_ID / jtok errors
	 * ("reply", "jsonrpc", "id", "result", "error.code", ...), else NULL. */
	const char *what;
} rpc_reply_t;

typedef void (*rpc_done_fn)(void *arg, const rpc_reply_t *r);

/*
 * Batches.  One POST carries a JSON array of calls; the node answers with
 * an array of replies, in any order, matched to the calls by id.
 *
 * The reply as a whole is judged as a single call's (transport errors,
 * HTTP status, size, failover, back-off, counters): it is a success when it
 * is a JSON array whose every element is an object carrying the id of one
 * of the batch's calls, each id at most once.  An element with an id that
 * is not the batch's, or a repeated one, makes the whole reply malformed
 * (KERR_RPC_ID: the endpoint does not keep the protocol, and no answer in
 * it can be trusted to belong to its call), as does an element that is not
 * an object or has no id (KERR_RPC_REPLY).  The one exception: an error
 * element whose id is null (a server answering a call it could not read)
 * is skipped, since it names no call.  A top-level object instead of an
 * array is the node refusing the batch as a whole ("batch too large"): an
 * error object is KERR_RPC_ERROR for the batch and every call, anything
 * else is malformed.  A reply with any call rate limited
 * (RPC_E_RATE_LIMITED) fails over as a whole, as a rate-limited call does.
 *
 * Each call is then judged as strictly as a single reply: "jsonrpc" must
 * be "2.0", exactly one of "result" and "error", and an error an object
 * with an integer code and a string message (else KERR_RPC_REPLY for that
 * call, with `what`).  A call with no element in the reply is
 * KERR_RPC_MISSING.  When the batch fails as a whole, every call carries
 * the batch's error.
 */
typedef struct {
	kerr_t err;               /* KERR_OK: `result` is the answer */
	uint64_t id;
	const rpc_outcome_t *out; /* KERR_RPC_ERROR: kind, code, message */
	size_t result;            /* KERR_OK: token of "result" */
	size_t data;              /* KERR_RPC_ERROR: token of error.data, or JTOK_NONE */
	const char *what;         /* KERR_RPC_REPLY: the member at fault */
} rpc_item_t;

typedef struct {
	kerr_t err;               /* the batch's: KERR_OK when the reply was an array */
	uint64_t id;              /* the first call's id; call i has id + i */
	size_t endpoint;
	unsigned attempts;
	const rpc_outcome_t *out; /* the last attempt, as for a call */
	const jtok_doc_t *doc;    /* NULL when the reply was not parsed */
	const char *what;
	size_t n;                 /* calls, in request order in items */
	const rpc_item_t *items;
	size_t answered;          /* items with KERR_OK or KERR_RPC_ERROR */
} rpc_batch_reply_t;

typedef void (*rpc_batch_fn)(void *arg, const rpc_batch_reply_t *b);

/*
 * A broadcast's verdict: accepted when any endpoint returned the tx hash or
 * said it already knows the tx.  Otherwise the most informative outcome
 * decides, in this order (a node's judgement of the tx beats a failure to
 * reach a node): nonce too low (definitive: the nonce is spent, resync),
 * replacement underpriced, insufficient funds, underpriced, nonce too high,
 * reverted, other node errors, invalid params, method not found, rate
 * limited, HTTP errors, malformed replies, oversized replies, timeouts,
 * send/receive errors, connection errors, transport refusals.
 */
typedef struct {
	uint64_t id;
	bool accepted;
	size_t verdict;           /* index of the deciding outcome */
	kerr_t err;               /* KERR_OK when accepted, else outcome[verdict].err */
	rpc_error_kind_t kind;    /* outcome[verdict].kind */
	size_t n;                 /* = endpoints */
	const rpc_outcome_t *outcome;  /* n outcomes, in endpoint order */
} rpc_broadcast_t;

typedef void (*rpc_bcast_fn)(void *arg, const rpc_broadcast_t *b);

/* ---- client -------------------------------------------------------------- */

typedef struct rpc_client rpc_client_t;

typedef struct {
	uint32_t timeout_ms;      /* 0: RPC_TIMEOUT_DEFAULT */
	uint32_t backoff_ms;      /* 0: RPC_BACKOFF_DEFAULT */
	uint32_t backoff_max_ms;  /* 0: RPC_BACKOFF_MAX_DEFAULT; >= backoff_ms */
	size_t slots;             /* 0: RPC_MAX_SLOTS; 1..RPC_MAX_SLOTS */
	size_t max_request;       /* 0: RPC_REQUEST_DEFAULT; 256..RPC_REQUEST_HARD */
	size_t max_reply;         /* 0: RPC_REPLY_DEFAULT; 1024..RPC_REPLY_HARD */
} rpc_opts_t;

/*
 * A client over n endpoints (1..RPC_MAX_ENDPOINTS), numbered as the
 * transport's url_index; opts may be NULL for the defaults.  The transport
 * is copied.  KERR_ARG, KERR_NOMEM.
 */
kerr_t rpc_new(rpc_client_t **out, size_t n, const rpc_transport_t *t,
	       rpc_clock_fn clock, void *clock_ctx, const rpc_opts_t *opts);

/* Free c (NULL is fine).  Only with no call in flight, or once the
 * transport can deliver no more completions. */
void rpc_free(rpc_client_t *c);

/*
 * Start one call; done(arg, reply) follows once.  *id (may be NULL) gets
 * the request id.  Errors, with no callback: KERR_ARG, KERR_BUF (the body
 * exceeds max_request), KERR_RPC_BUSY, or the transport's first refusal
 * when no endpoint would take the request.
 */
kerr_t rpc_submit(rpc_client_t *c, const rpc_req_t *req, rpc_done_fn done,
		  void *arg, uint64_t *id);

/* rpc_submit shorthands, one per request kind. */
kerr_t rpc_call(rpc_client_t *c, const char *method, const char *params,
		size_t params_len, rpc_done_fn done, void *arg, uint64_t *id);
kerr_t rpc_block_number(rpc_client_t *c, rpc_done_fn done, void *arg,
			uint64_t *id);
kerr_t rpc_chain_id(rpc_client_t *c, rpc_done_fn done, void *arg, uint64_t *id);
kerr_t rpc_get_balance(rpc_client_t *c, const addr_t *a, rpc_block_t b,
		       rpc_done_fn done, void *arg, uint64_t *id);
kerr_t rpc_get_transaction_count(rpc_client_t *c, const addr_t *a,
				 rpc_block_t b, rpc_done_fn done, void *arg,
				 uint64_t *id);
kerr_t rpc_eth_call(rpc_client_t *c, const addr_t *to, const uint8_t *data,
		    size_t len, rpc_block_t b, rpc_done_fn done, void *arg,
		    uint64_t *id);
kerr_t rpc_send_raw_transaction(rpc_client_t *c, const uint8_t *raw,
				size_t len, rpc_done_fn done, void *arg,
				uint64_t *id);
kerr_t rpc_get_transaction_by_hash(rpc_client_t *c, const uint8_t hash[32],
				   rpc_done_fn done, void *arg, uint64_t *id);
kerr_t rpc_get_transaction_receipt(rpc_client_t *c, const uint8_t hash[32],
				   rpc_done_fn done, void *arg, uint64_t *id);
kerr_t rpc_get_logs(rpc_client_t *c, const rpc_log_filter_t *f,
		    rpc_done_fn done, void *arg, uint64_t *id);
kerr_t rpc_fee_history(rpc_client_t *c, uint64_t count, rpc_block_t newest,
		       const double *pct, size_t npct, rpc_done_fn done,
		       void *arg, uint64_t *id);

/*
 * The n requests (1..RPC_BATCH_MAX) as one batch (rules above): one slot,
 * n consecutive ids (*first_id, may be NULL, gets the first), failover as
 * for a call; done(arg, reply) follows once.  Each request's timeout_ms is
 * ignored: the batch has the client's.  Errors, with no callback: as
 * rpc_submit (KERR_BUF when the array exceeds max_request).
 */
kerr_t rpc_batch(rpc_client_t *c, const rpc_req_t *reqs, size_t n,
		 rpc_batch_fn done, void *arg, uint64_t *first_id);

/*
 * eth_sendRawTransaction(raw) to every endpoint at once, down or not (no
 * failover: each endpoint is asked once); done(arg, verdict) once all have
 * answered or failed.  Replies update the endpoints' counters and back-off
 * as calls do.  Errors as rpc_submit; an endpoint whose send() fails gets
 * that error as its outcome, and when every send() fails the broadcast
 * fails with the first error and no callback.
 */
kerr_t rpc_broadcast_raw_transaction(rpc_client_t *c, const uint8_t *raw,
				     size_t len, rpc_bcast_fn done, void *arg,
				     uint64_t *id);

/* ---- counters ------------------------------------------------------------ */

typedef enum {
	RPC_FAIL_TIMEOUT = 0,
	RPC_FAIL_CONNECT,
	RPC_FAIL_IO,
	RPC_FAIL_HTTP_5XX,
	RPC_FAIL_HTTP_429,
	RPC_FAIL_HTTP_OTHER,      /* 1xx, 3xx, 4xx without a JSON-RPC error body */
	RPC_FAIL_MALFORMED,       /* not JSON, not JSON-RPC 2.0, wrong id */
	RPC_FAIL_TOO_LARGE,
	RPC_FAIL_RATE_LIMITED,    /* a JSON-RPC error of RPC_E_RATE_LIMITED */
	RPC_FAIL_SEND,            /* the transport refused the request */
	RPC_FAIL_KINDS
} rpc_fail_t;

/* "timeout" etc.; never NULL. */
const char *rpc_fail_name(rpc_fail_t f);

typedef struct {
	uint64_t calls;           /* requests the transport accepted */
	uint64_t results;         /* replies with a result */
	uint64_t rpc_errors;      /* replies with a JSON-RPC error (any status) */
	uint64_t fail[RPC_FAIL_KINDS];
	uint64_t failovers;       /* calls moved from this endpoint to another */
	bool down;                /* in back-off now */
	uint64_t down_until_ms;
	unsigned backoff_level;   /* consecutive failures */
} rpc_endpoint_stats_t;

/* Counters of endpoint i; KERR_ARG when i is out of range. */
kerr_t rpc_stats(const rpc_client_t *c, size_t i, rpc_endpoint_stats_t *out);

/* The sticky current endpoint. */
size_t rpc_current(const rpc_client_t *c);

/* Calls (broadcasts included) whose callback has not been called yet. */
size_t rpc_inflight(const rpc_client_t *c);

#endif
