/*
 * node_parse: one websocket frame from an Ethereum node into one event, or
 * into "this is a JSON-RPC reply" for the caller to route.
 *
 * Frames are JSON-RPC 2.0.  A subscription notification is
 *   {"jsonrpc":"2.0","method":"eth_subscription",
 *    "params":{"subscription":"0x…","result":R}}
 * where R is a block header (newHeads), a full transaction object
 * (newPendingTransactions with full objects), a transaction hash string
 * (nodes that send hashes only) or a log object (logs).  Which one is told
 * by R's shape (a string; an object with "topics"; with "parentHash"; with
 * "from"), so the parser needs no subscription table and replay files need
 * none either.  Anything with an "id" member is a reply to one of our
 * requests (including a subscription's acknowledgement) and is handed back
 * untouched, with its tokens, as NODE_FRAME_REPLY.
 *
 * Field rules (names as the node sends them):
 *   pending tx  hash, from, "to" (present; null for a creation), value,
 *               input ("0x" + even digits, kept as a view), nonce, gas;
 *               "type" (absent: 0); type 0 and 1 need gasPrice, types >= 2
 *               need maxFeePerGas and maxPriorityFeePerGas (gasPrice is
 *               then optional).  Types above 0x7f are KERR_TX_TYPE.
 *   head        number, hash, parentHash, timestamp (seconds),
 *               baseFeePerGas (absent before London: has_base_fee false).
 *   log         address, topics (0..4, else KERR_TOO_LONG), data,
 *               blockNumber, logIndex, transactionHash, removed (absent:
 *               false).
 * Members not listed are ignored.  A listed member that occurs twice is
 * KERR_JSON (see jtok.h on duplicate keys), as is a wrong JSON type.  On
 * any error p->what names the field at fault ("params.result.gasPrice") for
 * the log line.
 *
 * Memory: node_parse_init() allocates the token array once, sized from
 * the frame limit; node_parse_frame() allocates nothing.  The event's hex
 * views and the reply's tokens point into the frame: valid until the
 * frame's buffer is reused.
 */
#ifndef KEEPER_NODE_PARSE_H
#define KEEPER_NODE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keeper/event.h"
#include "keeper/jtok.h"
#include "keeper/kerr.h"

/* Default frame limit.  geth refuses pooled transactions over 128 KiB of
 * RLP, so no pending transaction's JSON (input hex doubles it) comes near. */
#define NODE_PARSE_FRAME_DEFAULT ((size_t)1 << 20)
/* Largest frame limit node_parse_init() accepts. */
#define NODE_PARSE_FRAME_HARD ((size_t)16 << 20)

typedef enum {
	NODE_FRAME_EVENT = 1,   /* a subscription notification: *ev is filled */
	NODE_FRAME_REPLY,       /* a JSON-RPC reply: see node_frame_t */
} node_frame_kind_t;

typedef struct {
	node_frame_kind_t kind;
	/* EVENT: params.subscription, the subscription id's text. */
	jtok_view_t sub;
	/* REPLY: token indexes into p->doc (JTOK_NONE when absent), and the id
	 * as a number when it is a non-negative integer below 2^64. */
	size_t id, result, error;
	bool id_is_num;
	uint64_t id_num;
} node_frame_t;

typedef struct {
	jtok_doc_t doc;       /* the last frame's tokens (array owned here) */
	size_t max_frame;     /* bytes */
	const char *what;     /* after an error: the field at fault, or NULL */
} node_parser_t;

/*
 * Prepare p for frames of at most max_frame bytes (0: the default;
 * KERR_ARG above NODE_PARSE_FRAME_HARD).  The token array holds
 * max_frame / 8 tokens (at least 1024): a legitimate transaction spends at
 * least ~12 bytes of JSON per token (an access-list entry), so only a frame
 * that is no transaction can run out.  KERR_NOMEM.
 */
kerr_t node_parse_init(node_parser_t *p, size_t max_frame);

/* Free the token array; p may be re-initialised afterwards. */
void node_parse_release(node_parser_t *p);

/*
 * Parse one frame.  On KERR_OK *f says what it was; for NODE_FRAME_EVENT
 * *ev holds an EV_PENDING_TX, EV_LOG or EV_HEAD.  Errors: KERR_TOO_LONG
 * (frame over max_frame, too many tokens, nesting, more than 4 topics),
 * KERR_TRUNCATED, KERR_JSON (malformed, wrong type, duplicate member,
 * neither a reply nor an eth_subscription notification, a result of no
 * known shape), KERR_NOT_FOUND (a required member is missing), KERR_TX_TYPE,
 * and the hex/number/address codes of the field at fault.
 */
kerr_t node_parse_frame(node_parser_t *p, const char *frame, size_t len,
			node_frame_t *f, event_t *ev);

/*
 * The same for a frame that is already tokenised as the value at token
 * root of d (replay reads a frame inside a JSON line it has tokenised
 * whole; tokenising the frame a second time would double the cost of a
 * replayed pending transaction).  The result is node_parse_frame's on the
 * frame's text jtok_text(d, root), to the error code and p->what: the
 * frame's length and token count are held to p's limits (KERR_TOO_LONG).
 * A reply's token indexes point into d, not p->doc; d and its text must
 * stay valid while *f and *ev are used.  KERR_ARG when root is not a
 * token of d.
 */
kerr_t node_parse_doc(node_parser_t *p, const jtok_doc_t *d, size_t root,
		      node_frame_t *f, event_t *ev);

/*
 * One object inside a JSON-RPC reply, already tokenised in d (token obj):
 * a transaction object (eth_getTransactionByHash's result, for nodes that
 * notify pending transactions as hashes) into an EV_PENDING_TX, or a log
 * object (an element of eth_getLogs's result) into an EV_LOG, by the field
 * rules above.  d is p->doc after node_parse_frame() returned a reply, or
 * any other document (rpc's); hex views point into d's text.  p only
 * records the field at fault, as "result.FIELD" ("result" when obj is not
 * an object).  Errors as node_parse_frame's; KERR_JSON when obj is no
 * object.
 */
kerr_t node_parse_tx_object(node_parser_t *p, const jtok_doc_t *d, size_t obj,
			    event_t *ev);
kerr_t node_parse_log_object(node_parser_t *p, const jtok_doc_t *d, size_t obj,
			     event_t *ev);

#endif
