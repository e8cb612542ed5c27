/*
 * relay: private submission of signed transactions to a block builder's
 * relay (the `private` gas strategy: config_gas_t relay, mode), so that a
 * pause or a liquidation is not visible in the public mempool before it
 * lands, where it could be front-run or its guard raced.
 *
 * Two methods, as Flashbots and the builders that copy its API serve them:
 *  - mode bundle: eth_sendBundle([{"txs":["0x<raw>"],"blockNumber":"0x<n>"}])
 *    once per target block.  A bundle is only valid for the one block it
 *    names, so a submission targets the next `bundle_blocks` blocks (head+1
 *    .. head+N, N = RELAY_BLOCKS_DEFAULT unless set), one request each, and
 *    the caller submits again on every head while the transaction is in
 *    flight (the window then slides; a builder dedups a bundle it already
 *    holds for a block).
 *  - mode private_tx: eth_sendPrivateTransaction([{"tx":"0x<raw>",
 *    "maxBlockNumber":"0x<head + private_blocks>"}]): one request; the
 *    relay keeps trying to include it until that block, so the caller
 *    submits again when the head passes relay_result_t.last_block or when
 *    it signs a new version.
 *
 * Authentication.  Every request carries X-Flashbots-Signature:
 * "0x<checksummed address>:0x<65-byte signature>", the signature being
 * signer_sign_message() (EIP-191 personal message) of the TEXT "0x" + 64
 * lowercase hex digits of keccak256(body) -- the exact bytes POSTed.  The
 * relay recovers the address from it and ties the sender's reputation to
 * it.  The key is the signer's (the one that signs the transactions):
 * signer_sign_message is allowed on a restricted signer because the
 * EIP-191 prefix keeps the digest from being any transaction's.
 *
 * Replies are judged by keeper/rpc (the same strict JSON-RPC 2.0 rules as
 * for nodes: our id, exactly one of result and error, an error with an
 * integer code and a string message, any HTTP status carrying a JSON-RPC
 * error is that error).  A result must then be, for a bundle, an object
 * whose "bundleHash" is 32 bytes of hex (or those 32 bytes as a bare
 * string, which some builders send); for a private transaction, the hash of
 * the very transaction sent.  Anything else is KERR_RPC_REPLY.
 *
 * Each distinct relay URL of the config's private strategies gets its own
 * rpc client (one endpoint: a relay never fails over to another relay, a
 * bundle meant for one builder is that builder's), all over one http client
 * of their own, so that a slow relay never takes the node's request slots.
 * Requests are posted with HTTP_F_RETRY: the same signed bytes twice are one
 * bundle to the relay.  Nothing else is retried here: the next head's
 * submission is the retry.
 *
 * What stays with the caller (the tracker): the bid and its cap (the
 * strategy's max_fee; strategies/gas.h prices `private` like eip1559),
 * also_public (a public broadcast beside the relay, through rpc), and
 * following the transaction to its receipt.  A relay's "accepted" only
 * means the relay took it; inclusion is seen on chain.
 *
 * One log line per submission when it ends: info when every request was
 * accepted, warn with the first failure otherwise.  The relay's URL is not
 * logged (relay URLs may carry an API key); the gas strategy's name is.
 *
 * Everything runs on the loop thread; nothing blocks.  A submission's
 * callback is called once, never from inside relay_submit().
 */
#ifndef KEEPER_RELAY_H
#define KEEPER_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/config.h"
#include "keeper/kerr.h"
#include "keeper/loop.h"
#include "signer/signer.h"

/* Target blocks of one bundle submission: default and most. */
#define RELAY_BLOCKS_DEFAULT 3
#define RELAY_BLOCKS_MAX 16
/* private_tx: maxBlockNumber = head + this (Flashbots' own default is 25). */
#define RELAY_PRIVATE_BLOCKS_DEFAULT 25
#define RELAY_PRIVATE_BLOCKS_MAX 1000
/* Per request, ms. */
#define RELAY_TIMEOUT_DEFAULT 3000
/* Submissions in flight at once (over all relays). */
#define RELAY_MAX_SUBMISSIONS 32
/* Largest raw transaction submitted, bytes. */
#define RELAY_RAW_MAX 16384
/* An error message kept for the result and the log line, with its NUL. */
#define RELAY_MSG_MAX 160
/* "0x" + 40 + ":" + "0x" + 130 + NUL */
#define RELAY_SIG_HEADER_LEN 176

typedef struct relay relay_t;

typedef struct {
	uint32_t bundle_blocks;   /* [RELAY_BLOCKS_DEFAULT] 1..RELAY_BLOCKS_MAX */
	uint32_t private_blocks;  /* [RELAY_PRIVATE_BLOCKS_DEFAULT]
				     1..RELAY_PRIVATE_BLOCKS_MAX */
	uint32_t timeout_ms;      /* [RELAY_TIMEOUT_DEFAULT] per request */
} relay_opts_t;

/* How one submission ended. */
typedef struct {
	kerr_t err;               /* KERR_OK when at least one request was
				     accepted, else the first failure's */
	const char *gas;          /* the strategy's name */
	config_relay_mode_t mode;
	uint64_t first_block;     /* bundle: the targets first_block..last_block; */
	uint64_t last_block;      /* private_tx: head+1 .. maxBlockNumber */
	unsigned requests;        /* bundle: one per target; private_tx: 1 */
	unsigned accepted;
	uint8_t tx_hash[32];      /* of the transaction submitted */
	bool has_hash;            /* accepted: bundle hash of the lowest accepted
				     target, or the transaction hash */
	uint8_t hash[32];
	/* The failure of the lowest target block that failed (requests >
	 * accepted): its error, JSON-RPC code and message (KERR_RPC_ERROR),
	 * HTTP status (0 without a response). */
	kerr_t fail_err;
	uint64_t fail_block;
	int64_t code;
	const char *message;      /* "" when none; valid during the callback */
	int http_status;
} relay_result_t;

typedef void (*relay_done_fn)(void *ctx, const relay_result_t *res);

typedef struct {
	uint64_t submissions;     /* relay_submit calls that started */
	uint64_t requests;        /* HTTP requests started */
	uint64_t accepted;        /* requests the relay accepted */
	uint64_t rejected;        /* requests answered with a JSON-RPC error */
	uint64_t failed;          /* other request failures: transport, HTTP
				     status, malformed reply, a refusal to start */
	uint64_t refused;         /* relay_submit calls that started nothing */
	size_t in_flight;         /* submissions not ended */
} relay_stats_t;

/*
 * A relay client for every distinct relay URL of cfg's `private` gas
 * strategies (cfg, signer and loop must outlive it; a cfg without one
 * gives a client that refuses every submission with KERR_NOT_FOUND).
 * opts may be NULL.  KERR_ARG (signer without a key, opts out of range),
 * KERR_NOMEM.
 */
kerr_t relay_new(relay_t **out, loop_t *loop, const config_keeper_t *cfg,
		 const signer_t *signer, const relay_opts_t *opts);

/* Drop every submission in flight (no callbacks) and free r.  NULL is
 * fine.  Not from inside a relay callback. */
void relay_free(relay_t *r);

/*
 * Submit the signed transaction raw[0..len) through gas->relay in
 * gas->mode, head being the latest block number seen (see the top for the
 * target blocks).  done (may be NULL) is called once with the outcome of
 * all of the submission's requests.  Errors, with no callback: KERR_ARG,
 * KERR_TOO_LONG (len > RELAY_RAW_MAX), KERR_NOT_FOUND (gas is not a
 * private strategy of the config), KERR_FULL (RELAY_MAX_SUBMISSIONS in
 * flight), or the error of the first request when none could be started
 * (KERR_RPC_BUSY, KERR_CRYPTO, ...).
 */
kerr_t relay_submit(relay_t *r, const config_gas_t *gas, const uint8_t *raw,
		    size_t len, uint64_t head, relay_done_fn done, void *ctx);

/* No callback any more for the submissions in flight with this ctx (their
 * owner is going away, or no longer cares); they still run to their end. */
void relay_forget(relay_t *r, const void *ctx);

void relay_stats(const relay_t *r, relay_stats_t *out);

/*
 * The JSON-RPC params (a one-element array, no spaces) of a submission to
 * block `block` (bundle: blockNumber; private_tx: maxBlockNumber) into
 * out[0..cap), NUL-terminated, its length in *len.  A pure function, for
 * tests and dry runs.  KERR_ARG, KERR_TOO_LONG, KERR_BUF.
 */
kerr_t relay_params(char *out, size_t cap, size_t *len,
		    config_relay_mode_t mode, const uint8_t *raw,
		    size_t rawlen, uint64_t block);

/*
 * The X-Flashbots-Signature value for body[0..len) signed by s, with NUL
 * into out.  signer_address() and signer_sign_message() errors.
 */
kerr_t relay_sign_header(const signer_t *s, const char *body, size_t len,
			 char out[RELAY_SIG_HEADER_LEN]);

/* "eth_sendBundle" or "eth_sendPrivateTransaction". */
const char *relay_method(config_relay_mode_t mode);

#endif
