/*
 * event: the normalised events that detectors consume, whatever produced
 * them (a node frame, a price-feed message, the loop's staleness timer, a
 * replay file).
 *
 * Detectors see only these structs, never JSON, so the same detector code
 * runs live, in --dry-run and in replay.  Units are fixed here once:
 *   prices          double, in the feed's own quote unit, finite and > 0
 *   amounts, fees   u256_t wei (or the token's smallest unit)
 *   times           int64_t milliseconds since the Unix epoch, except a
 *                   block header's timestamp, kept in seconds as the chain
 *                   defines it
 *   block numbers, nonces, gas, log indexes   uint64_t
 *
 * Zero allocation: hashes, addresses and topics are fixed-size copies;
 * variable-length bytes (a transaction's calldata, a log's data) are views
 * of the "0x…" hex text inside the frame, decoded only when a detector
 * needs them (event_hex_decode, event_hex_selector).  A view is valid until
 * the next frame is read into the same buffer: a detector that keeps bytes
 * beyond the current event copies them.
 */
#ifndef KEEPER_EVENT_H
#define KEEPER_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keeper/kerr.h"
#include "signer/addr.h"
#include "signer/u256.h"

typedef enum {
	EV_PRICE = 1,      /* a price tick from a feed */
	EV_PENDING_TX,     /* a transaction seen in the mempool */
	EV_LOG,            /* a contract log from a logs subscription */
	EV_HEAD,           /* a new block header */
	EV_FEED_STALE,     /* a feed sent no tick for its stale_after_ms */
	EV_FEED_BACK,      /* a stale feed ticked again */
} event_kind_t;

/*
 * Hex bytes inside a frame: "0x" followed by an even number of characters
 * (the parser checks the prefix and the parity; the digits themselves are
 * checked when decoded).  Not NUL-terminated.
 */
typedef struct {
	const char *p;    /* points at the "0x" */
	size_t len;       /* characters, including "0x" */
} event_hex_t;

typedef struct {
	uint32_t feed;     /* index of the feed in the config's feeds[] */
	double price;      /* finite, > 0, in the feed's quote unit */
	int64_t time_ms;   /* the source's timestamp (the feed's time path), ms
			      since epoch; recv_ms when the feed has none */
	int64_t recv_ms;   /* when the message arrived, ms since epoch */
} event_price_t;

/*
 * A pending transaction.  Fees are normalised so that every type can be
 * compared the same way: for type 0 and 1 (a single gasPrice bid),
 * max_fee and max_priority_fee both equal gas_price, which is how EIP-1559
 * itself treats legacy transactions.
 */
typedef struct {
	bool full;            /* false: the node sent only the hash (a node
				 without full pending objects); every field but
				 hash is then zero */
	uint8_t hash[32];
	addr_t from;
	bool has_to;          /* false: contract creation ("to": null) */
	addr_t to;
	u256_t value;         /* wei */
	uint64_t nonce;
	uint64_t gas;         /* gas limit */
	uint8_t type;         /* EIP-2718 type: 0 legacy, 1 access list,
				 2 EIP-1559, 3 blob, 4 set-code; 0 when the
				 node omits "type" */
	bool has_gas_price;
	u256_t gas_price;     /* wei per gas: type 0/1, the bid; later types,
				 whatever the node reports (anvil and geth:
				 the effective price at the current base fee) */
	u256_t max_fee;       /* wei per gas: maxFeePerGas (type >= 2) */
	u256_t max_priority_fee; /* wei per gas: maxPriorityFeePerGas */
	event_hex_t input;    /* calldata, "0x" when empty */
} event_tx_t;

#define EVENT_LOG_TOPICS 4

typedef struct {
	addr_t address;       /* the emitting contract */
	uint8_t topics[EVENT_LOG_TOPICS][32];
	uint8_t ntopics;      /* 0..4 */
	event_hex_t data;     /* the non-indexed data, "0x" when empty */
	uint64_t block_number;
	uint64_t log_index;   /* position in the block */
	uint8_t tx_hash[32];
	bool removed;         /* true: a reorg took this log back */
} event_log_t;

typedef struct {
	uint64_t number;
	uint8_t hash[32];
	uint8_t parent_hash[32]; /* for noticing reorgs and missed heads */
	uint64_t timestamp;      /* SECONDS since epoch, as in the header */
	bool has_base_fee;       /* false before London (no baseFeePerGas) */
	u256_t base_fee;         /* wei per gas */
	bool has_gas;            /* gasUsed and gasLimit were present */
	uint64_t gas_used;       /* for the next block's base fee (EIP-1559) */
	uint64_t gas_limit;
} event_head_t;

typedef struct {
	uint32_t feed;          /* index of the feed in the config's feeds[] */
	int64_t time_ms;        /* when the loop noticed, ms since epoch */
	int64_t last_tick_ms;   /* recv_ms of the feed's latest tick (for
				   FEED_BACK, the tick that ended the
				   staleness), -1 when it never ticked */
} event_feed_t;

typedef struct {
	event_kind_t kind;
	union {
		event_price_t price;   /* EV_PRICE */
		event_tx_t tx;         /* EV_PENDING_TX */
		event_log_t log;       /* EV_LOG */
		event_head_t head;     /* EV_HEAD */
		event_feed_t feed;     /* EV_FEED_STALE, EV_FEED_BACK */
	};
} event_t;

/*
 * Where producers (the node connection, the feeds, replay) hand events.
 * Called synchronously on the loop; ev and the views inside it are valid
 * only during the call.
 */
typedef void (*event_sink_fn)(void *ctx, const event_t *ev);

/*
 * Where producers hand every frame exactly as received, before parsing, for
 * `keeper record`: src is the feed's name or "node", wall_ms the arrival time
 * in ms since the epoch.  The frame is not NUL-terminated and is valid only
 * during the call.
 */
typedef void (*event_frame_fn)(void *ctx, const char *src, const char *frame,
			       size_t len, int64_t wall_ms);

/* "price", "pending_tx", "log", "head", "feed_stale", "feed_back";
 * "unknown" for anything else.  For logs and metrics. */
const char *event_kind_name(event_kind_t kind);

/* Number of bytes the hex text stands for. */
size_t event_hex_nbytes(const event_hex_t *h);

/* Decode the hex text into out[0..cap).  KERR_HEX_CHAR, KERR_TOO_LONG. */
kerr_t event_hex_decode(const event_hex_t *h, uint8_t *out, size_t cap,
			size_t *out_len);

/* The first 4 bytes (a function selector).  KERR_TRUNCATED when there are
 * fewer, KERR_HEX_CHAR. */
kerr_t event_hex_selector(const event_hex_t *h, uint8_t out[4]);

#endif
