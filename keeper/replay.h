/*
 * replay: the driver of `keeper replay`, a backtest of a config over a
 * replay file (interface.md, "Replay events").  It reads the file with
 * keeper/replay_file and runs every event through the same parsers and the
 * same engine as live, on a virtual clock, and turns each trip into the
 * transaction live would have built.  Nothing is ever sent, and nothing
 * here does I/O but reading the events (and the --gas file when asked):
 * printing the summary and writing the report are cmd_replay's and
 * keeper/report's.
 *
 * Lines.  A `price` line is an EV_PRICE of the feed its src names, at
 * time_ms = recv_ms = t.  A `raw` line of src "node" goes through
 * node_parse as a frame of the node: a notification becomes its EV_HEAD,
 * EV_LOG or EV_PENDING_TX; a reply whose result is a transaction object
 * (what `record` captured of the node's eth_getTransactionByHash fetches
 * of hash-only announcements) becomes an EV_PENDING_TX unless it is
 * already mined (a non-null blockNumber), as live does; other replies
 * (subscription acknowledgements, nulls, errors) are only counted.  A `raw`
 * line of a feed's name goes through feed_parse with that feed's config
 * (recv_ms = t); a message that is not a tick (FEED_IGNORED) is counted.
 * Every event goes to engine_event() at t.  Lines replay_file refuses,
 * frames the parsers refuse, and a src that is neither a feed of the
 * config nor "node" (or a price line from "node") are bad lines: counted
 * by kind (replay_bad_name), never fatal.
 *
 * Virtual clock.  The engine clock is t.  The engine is created at the
 * first good line, with start_ms = its t, so that a stale trigger counts
 * silence from the start of the recording.  Before each event at t, the
 * driver calls engine_time() at every engine_next_due() time <= t, in
 * order (a condition that came due at t is judged before the event at t),
 * so holds, confirm_ms, cooldown repeats, stale silence and outflow
 * windows fire at their exact virtual time however far apart the events
 * are.  The clock stops at the last good line: nothing is judged after it.
 * EV_FEED_STALE / EV_FEED_BACK are not synthesised: stale triggers judge
 * silence by time.
 *
 * Mempool triggers.  The engine leaves them to its host; replay is the
 * host, as keeper/live is when running: every EV_PENDING_TX, after the
 * engine has seen it, goes to each mempool trigger's det_mempool_match, and
 * a match of a trigger with simulate = false is judged at once
 * (det_mempool_judge without a result: the worst case, value 100), the trip
 * at the line's t carrying the transaction (tx hash, sender, fees), as
 * `run` does.  A trigger with simulate = true needs a node to run the
 * transaction against its watch's balances; a replay has none, so its
 * matches are counted in mempool_unevaluated and never trip (the summary
 * says so).  Liquidation triggers are not evaluated at all (they read
 * positions from the node).
 * Outflow sees Transfer logs only (no balance reads: there is no node to
 * ask), so only its min_amount can trip unless the file is extended.
 *
 * The would-be transaction of a trip (replay_trip_t): the calldata of the
 * trigger's action for the trip (action_calldata; a trip lacking a field
 * the action needs gets no transaction and says why), gas = the action's
 * gas_limit, nonce counting from 0 per replay (one per transaction built),
 * and fees from the action's gas strategy (strategies/gas.h, initial bid)
 * on the market at the virtual time of the trip:
 *   - the latest recorded head with baseFeePerGas and gas fields (its base
 *     fee, gas used and gas limit; no fee history, so reward-based
 *     priorities fall to the strategy's floor), else
 *   - the --gas file's bucket holding that time (replay_gas_market), else
 *   - no market: the strategy's no-head bid (the cap as max fee).
 * A trip caused by a pending transaction (has_tx) carries it as the rival
 * for `outbid`.  With a signer (opts.signer, which the caller loads and
 * restricts to the config's action pairs) the transaction is signed as
 * EIP-1559 type 2 on chain.id, value 0, and its raw bytes and hash kept.
 *
 * The --gas file (the project's shared gas files): a JSON object whose
 * "data" array holds 10-minute buckets, each with "timestamp" (ISO 8601
 * UTC, the bucket's start) and legacy gas price percentiles in wei
 * "30.0 Perc", "60.0 Perc" (also "90.0 Perc", "100.0 Perc", unused);
 * other members (the broken "datetime") are ignored.  Legacy prices map to
 * EIP-1559 fees as:
 *   base fee  := the 30th percentile, rounded to the nearest wei: the
 *                price the cheaper blocks' marginal transactions paid,
 *                which is what a base fee stands for;
 *   gas used  := gas limit / 2 (30,000,000 / 2): a steady block, so the
 *                strategy's next base fee is that base fee;
 *   rewards   := one block whose reward is the 60th minus the 30th
 *                percentile (0 when below): the tip above the base that
 *                got a transaction into the better half.
 * Bucket i covers [timestamp_i, timestamp_{i+1}); the last one 10 minutes.
 * Buckets must be in strictly increasing time; a time outside every bucket
 * has no market from the file.
 *
 * Price series (for the HTML chart).  Per feed, the ticks' (t, price) are
 * kept decimated online into at most REPLAY_SERIES_BUCKETS time buckets:
 * the bucket width starts at 1 ms and doubles (merging pairs) whenever
 * the series outgrows the buckets, and each bucket keeps its lowest and
 * its highest tick, so a crash's low is never lost however long the file.
 * t is the line's time (the arrival), the replay's one clock.
 *
 * Determinism: the same config, file, gas file and key give the same
 * trips, transactions and series, byte for byte (RFC 6979 signatures).
 */
#ifndef KEEPER_REPLAY_H
#define KEEPER_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/action.h"
#include "keeper/config.h"
#include "keeper/detect.h"
#include "keeper/engine.h"
#include "keeper/kerr.h"
#include "keeper/replay_file.h"
#include "signer/signer.h"
#include "signer/u256.h"
#include "strategies/gas.h"

/* Trips kept in full (the rest are only counted, per trigger too). */
#define REPLAY_MAX_TRIPS ((size_t)1 << 16)
/* Buckets of a feed's decimated price series (2 points each at most). */
#define REPLAY_SERIES_BUCKETS 1024
/* A signed type-2 call: calldata plus the RLP envelope and signature. */
#define REPLAY_RAW_MAX (ACTION_CALLDATA_MAX + 256)
/* The gas file: largest file read, bucket width, the steady block. */
#define REPLAY_GAS_MAX_FILE ((size_t)8 << 20)
#define REPLAY_GAS_BUCKET_MS INT64_C(600000)
#define REPLAY_GAS_BLOCK_LIMIT UINT64_C(30000000)

/* Kinds of bad lines: replay_err_t (1..REPLAY_E_COUNT-1) for what
 * replay_file refuses, then these. */
enum {
	REPLAY_BAD_UNKNOWN_SRC = REPLAY_E_COUNT, /* no such feed, or a price
						    line from "node" */
	REPLAY_BAD_NODE_FRAME,   /* node_parse refused the frame */
	REPLAY_BAD_FEED_FRAME,   /* feed_parse refused the frame */
	REPLAY_BAD_KINDS
};

/* "unknown_src", "node_frame", "feed_frame", or replay_file_err_name(). */
const char *replay_bad_name(unsigned kind);

/* Where a trip's fees came from. */
typedef enum {
	REPLAY_MARKET_NONE = 0,  /* no head and no gas bucket */
	REPLAY_MARKET_HEAD,      /* the latest recorded head */
	REPLAY_MARKET_GAS_FILE,  /* the --gas file's bucket */
} replay_market_t;

/* "none", "head", "gas_file". */
const char *replay_market_name(replay_market_t m);

/* One trip and its would-be transaction. */
typedef struct {
	size_t trigger;               /* index in the config's triggers[] */
	detect_trip_t trip;           /* strings owned by the config */
	int64_t at_ms;                /* virtual clock when it tripped */
	const config_action_t *action;
	bool has_price;               /* a trigger on one feed that has ticked: */
	double price;                 /* its last tick when it tripped (the
					 report draws the level a price_move
					 needed from it) */
	kerr_t tx_err;                /* KERR_OK: the fields below are the tx */
	const char *tx_missing;       /* KERR_ACTION_FIELD: the field ("$account") */
	uint8_t data[ACTION_CALLDATA_MAX];
	size_t data_len;
	uint64_t nonce;
	uint64_t gas;                 /* the action's gas_limit */
	gas_fees_t fees;
	bool capped;                  /* the strategy wanted more than its cap */
	replay_market_t market;
	bool has_raw;                 /* signed (a signer was given) */
	uint8_t raw[REPLAY_RAW_MAX];
	size_t raw_len;
	uint8_t tx_hash[32];
} replay_trip_t;

typedef struct {
	uint64_t lines;          /* lines read, good and bad */
	uint64_t bytes;
	uint64_t events;         /* events handed to the engine */
	uint64_t by_event[ENGINE_EVENT_KINDS]; /* by event_kind_t */
	uint64_t ignored;        /* feed messages that are not ticks */
	uint64_t replies;        /* node replies that are no event */
	uint64_t mined;          /* fetched transactions already mined */
	uint64_t bad;            /* bad lines in all */
	uint64_t bad_by[REPLAY_BAD_KINDS];
	uint64_t time_calls;     /* engine_time() calls of the virtual clock */
	uint64_t trips;          /* all trips (kept or not) */
	uint64_t trips_dropped;  /* beyond REPLAY_MAX_TRIPS: counted only */
	uint64_t tx_built;       /* transactions built (= next nonce) */
	uint64_t mempool_matched;     /* pending txs a mempool trigger matched */
	uint64_t mempool_unevaluated; /* of those, matches of simulate = true
					 triggers: not judged (no node) */
	int64_t first_t, last_t; /* good lines' times; -1 before any */
} replay_stats_t;

/* One bucket of the --gas file, already mapped (see above). */
typedef struct {
	int64_t t_ms;            /* the bucket's start */
	u256_t base_fee;
	u256_t reward;
} replay_gas_bucket_t;

typedef struct {
	replay_gas_bucket_t *b;
	size_t n;
} replay_gas_t;

/*
 * Parse a gas file held in buf[0..len) into *out (free with
 * replay_gas_free).  On error *where (may be NULL) names the bucket index
 * (SIZE_MAX: the document) and *what (may be NULL) the member at fault.
 * KERR_JSON (malformed, wrong types, no "data" array), KERR_NOT_FOUND (a
 * member missing), KERR_NUM_CHAR / KERR_NUM_RANGE (a bad time; a
 * percentile negative, not finite or at least 1e30 wei),
 * KERR_IMPORT_INVALID (times not strictly increasing, no bucket at all),
 * KERR_TOO_LONG, KERR_NOMEM.
 */
kerr_t replay_gas_parse(const char *buf, size_t len, replay_gas_t *out,
			size_t *where, const char **what);
/* The same from a file (KERR_IO with errno; KERR_TOO_LONG over
 * REPLAY_GAS_MAX_FILE). */
kerr_t replay_gas_load(const char *path, replay_gas_t *out, size_t *where,
		       const char **what);
void replay_gas_free(replay_gas_t *g);

/*
 * The market the gas file gives at t_ms: false when no bucket holds it.
 * *reward receives the one reward m->rewards points to (it must outlive
 * the use of *m).
 */
bool replay_gas_market(const replay_gas_t *g, int64_t t_ms, gas_market_t *m,
		       u256_t *reward);

typedef struct {
	const replay_gas_t *gas;   /* NULL: no gas file */
	const signer_t *signer;    /* NULL: no raw transactions */
	size_t max_frame;          /* 0: REPLAY_FILE_FRAME_DEFAULT */
} replay_opts_t;

typedef struct replay replay_t;

/*
 * A replay of cfg (which, like opts' gas and signer, must outlive it).
 * The engine is built once here to check every trigger: the engine's
 * errors with the trigger's index in *bad (may be NULL; SIZE_MAX when no
 * trigger is at fault), KERR_ARG, KERR_NOMEM.
 */
kerr_t replay_new(const config_keeper_t *cfg, const replay_opts_t *opts,
		  replay_t **out, size_t *bad);
void replay_free(replay_t *r);

/*
 * Replay every line of f to its end.  KERR_OK at the end of the file;
 * KERR_IO when reading failed (errno as replay_file_errno says; what was
 * read so far stays replayed), KERR_NOMEM.
 */
kerr_t replay_run(replay_t *r, replay_file_t *f);

/* One line as replay_file_next() gave it (good or bad). */
kerr_t replay_line(replay_t *r, const replay_line_t *ln);

void replay_stats(const replay_t *r, replay_stats_t *out);
const config_keeper_t *replay_config(const replay_t *r);

/* The kept trips, in the order they happened. */
size_t replay_ntrips(const replay_t *r);
const replay_trip_t *replay_trip(const replay_t *r, size_t i);
/* All trips of trigger i (kept or not). */
uint64_t replay_trigger_trips(const replay_t *r, size_t trigger);

/* A point of a decimated price series. */
typedef struct {
	int64_t t;
	double price;
} replay_point_t;

/* Feed `feed`'s decimated series in time order into out[0..cap); returns
 * the number of points (at most 2 * REPLAY_SERIES_BUCKETS; 0 for a feed
 * that never ticked or out of range). */
size_t replay_series(const replay_t *r, size_t feed, replay_point_t *out,
		     size_t cap);

#endif
