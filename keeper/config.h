/*
 * config: load and validate keeper's libconfig file into a typed, read-only
 * structure that the event loop, detectors, actions and gas strategies use.
 *
 * Validation is the operator's last line of defence before money moves: a
 * typo that silently disabled a trigger (`treshold_pct`), a fee cap of 1.5
 * gwei rounded to 1, or a pause() sent to a mistyped address would each be
 * discovered only when it matters.  So config_load() refuses unknown keys,
 * checks every type, range, URL scheme, address checksum, ABI signature and
 * cross-reference, and reports EVERY problem it finds, each as
 * "FILE:LINE: message", where LINE is the line of the offending setting (of
 * its group when a key is missing, 1 for a missing top-level group).
 *
 * The file format (interface.md, "Config concepts") in short:
 *
 *   chain    = { id = 1; ws = "wss://…"; rpc = [ "https://…", … ]; };
 *   signer   = { key_file = "…"; }  or  { keystore = "…"; password_file = "…"; };
 *   feeds    = ( { name; url; subscribe?; price | preset; time?; stale_after_ms; }, … );
 *   watch    = ( { name; address; tokens?; }, … );
 *   triggers = ( { name; kind; action; <kind's params>; confirm_ms | confirm_ticks;
 *                  cooldown_ms?; }, … );
 *   actions  = ( { name; to; call; args?; guard?; gas_limit; gas; presign?;
 *                  notify?; }, … );
 *   gas      = ( { name; strategy; max_fee_gwei; <strategy's params>; }, … );
 *   metrics  = { listen = "127.0.0.1:9464"; };      (optional)
 *   log      = { level = "info"; format = "text"; }; (optional)
 *   state_file = "…";                                (optional)
 *
 * Only chain is required.  signer, the lists and the optional groups may be
 * left out (an absent list is empty).  Unknown keys are errors, with the
 * nearest known key suggested ("did you mean \"threshold_pct\"?").  A list
 * mixing types (an action's args with strings and true/false) must be a
 * libconfig list ( … ), not an array [ … ].  The file (and each @include) is
 * at most 1 MiB.
 *
 * Number rules.  libconfig 1.5 silently truncates an integer literal that
 * does not fit 32 bits unless it carries the L suffix (3000000000 becomes
 * -1294967296), so the loader re-scans the source text and reports every
 * such literal, asking for the L suffix or quotes.  Integer settings accept
 * plain and L integers; number settings (percentages, lambda, …) accept
 * integers and floats.  Amounts that may exceed 64 bits (min_amount, uint256
 * action arguments) are given as quoted decimal or 0x text.
 *
 * Fee rule (every *_gwei setting).  Fees are stored as exact u256 wei.
 *  - a quoted string ("1.5", "0.000000001") is parsed as decimal gwei text,
 *    exact, at most 9 decimals (1 wei);
 *  - an integer (30, 30L) is exact;
 *  - a float (1.5, 0.1) is read back as its decimal rounded to 15
 *    significant digits, trailing zeros dropped, provided that decimal maps
 *    to the same double (C's DBL_DIG guarantee: any literal of at most 15
 *    significant digits does), so 0.1 is 100000000 wei exactly, not
 *    100000000.0000000055…; a float that fails this (more than 15
 *    significant digits) is refused: quote it.
 *  More than 9 decimals is an error, never a silent rounding.
 *
 * Paths (key_file, keystore, password_file, state_file) are used as written,
 * relative to keeper's working directory.  @include paths are relative to
 * the config file's directory.
 *
 * Secret-file permissions.  `keeper check` must work on a machine other
 * than the one that will run keeper, so a key_file or password_file that
 * does not exist is not an error.  One that exists and is readable by group
 * or others IS an error (signer_check_secret_perms()), because `run` would
 * refuse it anyway and it is better found at check time.
 *
 * Names (feeds, watch, triggers, actions, gas) are 1..CONFIG_NAME_MAX
 * characters of [A-Za-z0-9_.-] starting with a letter or digit, unique
 * within their list; a feed may not be called "node" (replay reserves that
 * source name).
 *
 * Action argument fields.  An action's `args` entry is either a literal
 * valid for its ABI type (a string such as "0x…" or "1000000", an integer,
 * or true/false), or one of these trip fields, filled in when a trigger
 * trips (CONFIG_ARG_*):
 *   $account  address  the account the trip is about (e.g. a liquidation
 *                      candidate chosen by an action strategy)
 *   $amount   uintN    the amount the trip is about (outflow amount, pending
 *                      transaction value, repay amount), in the token's
 *                      smallest unit; refused at trip time if it does not
 *                      fit N bits
 *   $token    address  the token involved (the zero address for ETH)
 *   $watch    address  the address of the watched contract that tripped
 *   $sender   address  the sender of the pending transaction (mempool)
 * A field in an argument of another ABI type is a config error.
 */
#ifndef KEEPER_CONFIG_H
#define KEEPER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "keeper/kerr.h"
#include "keeper/log.h"
#include "signer/abi.h"
#include "signer/addr.h"
#include "signer/u256.h"

/* Limits; each is enforced with an error naming the setting. */
#define CONFIG_NAME_MAX 64        /* characters in a name */
#define CONFIG_URL_MAX 512        /* characters in a URL */
#define CONFIG_PATH_MAX 1024      /* characters in a file path */
#define CONFIG_SUBSCRIBE_MAX 4096 /* characters in a feed's subscribe text */
#define CONFIG_JPATH_MAX 128      /* characters in a JSON dot path */
#define CONFIG_JPATH_DEPTH 8      /* segments in a JSON dot path */
#define CONFIG_LISTEN_MAX 128     /* characters in metrics.listen */
#define CONFIG_MAX_RPC 16         /* chain.rpc URLs */
#define CONFIG_MAX_FEEDS 64
#define CONFIG_MAX_WATCH 64
#define CONFIG_MAX_TRIGGERS 64
#define CONFIG_MAX_ACTIONS 64
#define CONFIG_MAX_GAS 64
#define CONFIG_MAX_TOKENS 32      /* tokens per watch entry */
#define CONFIG_MAX_SELECTORS 32   /* selectors per mempool trigger */
#define CONFIG_MAX_ALLOW 64       /* allow addresses per mempool trigger */
#define CONFIG_MAX_LIQ_ACCOUNTS 1024 /* accounts per liquidation trigger */
#define CONFIG_MAX_RETURN_WORD 31 /* highest health_word (a view's 32-byte words) */
#define CONFIG_MAX_ERRORS 200     /* messages kept by config_errors_t */

/* ---- errors ----------------------------------------------------------- */

/*
 * Every problem found by config_load(), in file then line order.  At most
 * CONFIG_MAX_ERRORS messages are kept; the rest are only counted, so a
 * garbage file cannot make keeper allocate without bound.
 */
typedef struct {
	size_t count;                    /* messages in msg[] */
	size_t dropped;                  /* further errors not kept */
	char *msg[CONFIG_MAX_ERRORS];    /* "FILE:LINE: message", heap, no '\n' */
	/* private: sort keys */
	unsigned line_[CONFIG_MAX_ERRORS];
	size_t seq_[CONFIG_MAX_ERRORS];
	char *file_[CONFIG_MAX_ERRORS];
} config_errors_t;

/* Empty list; call before config_load(). */
void config_errors_init(config_errors_t *e);
/* Free the messages; the list is empty and reusable afterwards. */
void config_errors_release(config_errors_t *e);
/* One line per message to f, then "keeper: N more errors not shown" when
 * some were dropped. */
void config_errors_print(const config_errors_t *e, FILE *f);

/* ---- the typed configuration ------------------------------------------ */

/* chain: the network keeper guards. */
typedef struct {
	uint64_t id;            /* chain id, 1..4503599627370476 (EIP-2294) */
	const char *ws;         /* node websocket URL (ws:// or wss://), for eth_subscribe */
	const char *rpc[CONFIG_MAX_RPC]; /* JSON-RPC URLs (http/https), distinct; raw txs go to all */
	size_t nrpc;            /* 1..CONFIG_MAX_RPC */
	int line;
} config_chain_t;

typedef enum {
	CONFIG_SIGNER_NONE = 0,  /* no signer group: replay and --dry-run without tx.raw */
	CONFIG_SIGNER_KEY_FILE,  /* key_file */
	CONFIG_SIGNER_KEYSTORE,  /* keystore + password_file */
} config_signer_kind_t;

/* signer: where the key comes from (never the key itself). */
typedef struct {
	config_signer_kind_t kind;
	const char *key_file;       /* KEY_FILE: "0x" + 64 hex digits file */
	const char *keystore;       /* KEYSTORE: Web3 Secret Storage v3 JSON */
	const char *password_file;  /* KEYSTORE: the keystore's password */
	int line;
} config_signer_t;

typedef enum {
	CONFIG_PRESET_NONE = 0,
	CONFIG_PRESET_TRADE,   /* {"e":"trade","p":"…","T":…}: price "p", time "T" */
	CONFIG_PRESET_TICKER,  /* {"type":"ticker","price":"…","time":"…"} */
} config_preset_t;

/*
 * A price feed.  price/time are JSON dot paths ("data.p"): segments are
 * object keys; a segment of digits indexes an array.  A preset sets price,
 * time and match_* (and may not be combined with price or time).  A
 * message whose match_path is not the string match_value (subscription
 * acknowledgements, other event types) is not a tick.
 */
typedef struct {
	const char *name;
	const char *url;          /* ws:// or wss:// */
	const char *subscribe;    /* text sent after connecting, or NULL */
	config_preset_t preset;
	const char *price;        /* dot path of the price (number or numeric string) */
	const char *time;         /* dot path of a ms timestamp, or NULL: arrival time */
	const char *match_path;   /* NULL, or the discriminator of preset messages */
	const char *match_value;
	uint64_t stale_after_ms;  /* required, > 0: no tick for this long = stale */
	int line;
} config_feed_t;

/* A protected contract. */
typedef struct {
	const char *name;
	addr_t address;
	const addr_t *tokens;     /* ERC-20s whose balance it holds (ETH always) */
	size_t ntokens;           /* 0..CONFIG_MAX_TOKENS, distinct */
	int line;
} config_watch_t;

typedef enum {
	CONFIG_GAS_FIXED = 0,
	CONFIG_GAS_EIP1559,
	CONFIG_GAS_OUTBID,
	CONFIG_GAS_ESCALATE,
	CONFIG_GAS_PRIVATE,
	CONFIG_GAS_STRATEGIES     /* count */
} config_gas_strategy_t;

typedef enum {
	CONFIG_RELAY_BUNDLE = 0,  /* "bundle": eth_sendBundle */
	CONFIG_RELAY_PRIVATE_TX,  /* "private_tx": eth_sendPrivateTransaction */
} config_relay_mode_t;

/*
 * A gas strategy.  Fees are wei.  Fields not used by the strategy are zero.
 *   fixed:    max_fee, priority_fee (<= max_fee)
 *   eip1559:  max_fee, base_multiplier (default 2.0, 1..10),
 *             priority_percentile (default 50, 0..100), priority_fee (the
 *             floor, <= max_fee)
 *   outbid:   max_fee, bump_pct (default 12.5, > 0 and <= 1000)
 *   escalate: max_fee, bump_pct (default 12.5, 10..1000: nodes refuse a
 *             replacement below +10%), every_ms (default 0: every new head)
 *   private:  max_fee, relay (http/https URL), mode, also_public (default false)
 */
typedef struct {
	const char *name;
	config_gas_strategy_t strategy;
	u256_t max_fee;            /* hard cap, wei; max_fee_gwei > 0, <= 1e6 */
	u256_t priority_fee;       /* wei (fixed: the tip; eip1559: the floor) */
	double base_multiplier;
	double priority_percentile;
	double bump_pct;
	uint64_t every_ms;
	const char *relay;
	config_relay_mode_t mode;
	bool also_public;
	int line;
} config_gas_t;

typedef enum {
	CONFIG_ARG_LITERAL = 0,   /* word[] holds the encoded value */
	CONFIG_ARG_ACCOUNT,       /* $account */
	CONFIG_ARG_AMOUNT,        /* $amount */
	CONFIG_ARG_TOKEN,         /* $token */
	CONFIG_ARG_WATCH,         /* $watch */
	CONFIG_ARG_SENDER,        /* $sender */
} config_arg_src_t;

typedef struct {
	config_arg_src_t src;
	const char *text;         /* as written ("$account", "1000", "true") */
	uint8_t word[32];         /* LITERAL: the ABI-encoded word */
} config_arg_t;

/* An action: one contract call, sent when a trigger trips. */
typedef struct {
	const char *name;
	addr_t to;                /* not the zero address */
	abi_sig_t call;           /* static argument types only */
	const config_arg_t *args; /* exactly call.nargs entries */
	size_t nargs;
	bool has_guard;
	abi_sig_t guard;          /* a view taking no arguments; true = already done */
	uint64_t gas_limit;       /* 21000..100000000 */
	const config_gas_t *gas;  /* the strategy named by `gas` */
	bool presign;             /* default false: keep it signed ahead per block */
	const char *notify;       /* http/https URL POSTed on each send, or NULL */
	int line;
} config_action_t;

typedef enum {
	CONFIG_TRIGGER_PRICE_MOVE = 0,
	CONFIG_TRIGGER_EWMA_VOL,
	CONFIG_TRIGGER_DEVIATION,
	CONFIG_TRIGGER_DEPEG,
	CONFIG_TRIGGER_STALE,
	CONFIG_TRIGGER_OUTFLOW,
	CONFIG_TRIGGER_MEMPOOL,
	CONFIG_TRIGGER_LIQUIDATION,
	CONFIG_TRIGGER_KINDS      /* count */
} config_trigger_kind_t;

/*
 * A view function of a liquidation trigger: a signature taking exactly one
 * address ("healthFactor(address)"), called with the account as argument.
 * sig is NULL when the key is absent.
 */
typedef struct {
	const char *sig;          /* canonical signature */
	uint8_t selector[4];
} config_view_t;

/*
 * An event a liquidation trigger discovers accounts from, by signature
 * ("Borrow(address,uint256)", static types only, as for calls): topic0 is
 * keccak-256 of the canonical signature.  sig is NULL when absent.
 */
typedef struct {
	const char *sig;          /* canonical signature */
	uint8_t topic0[32];
	size_t nargs;             /* parameters of the event */
} config_event_t;

typedef enum {
	CONFIG_DIR_BOTH = 0,
	CONFIG_DIR_DOWN,
	CONFIG_DIR_UP,
} config_direction_t;

/*
 * A trigger.  Parameters not used by the kind are zero / NULL.
 *   price_move: feed, window_ms (> 0), threshold_pct (> 0), direction
 *               (default both)
 *   ewma_vol:   feed, lambda (default 0.94, in (0, 1)), threshold_pct (> 0,
 *               per sqrt(minute)), warmup (ticks, >= 1)
 *   deviation:  feeds[0..1] (two distinct feeds), threshold_pct (> 0),
 *               max_age_ms (> 0)
 *   depeg:      feed, peg (> 0), threshold_pct (> 0, < 100), direction
 *               (required), hold_ms (default 0)
 *   stale:      feed, after_ms (> 0)
 *   outflow:    watch, window_ms (> 0), threshold_pct (> 0, <= 100),
 *               min_amount (default 0, smallest token unit)
 *   mempool:    watch, selectors (default: any call), allow (senders never
 *               suspicious), simulate (default false), threshold_pct (> 0,
 *               <= 100)
 *   liquidation: re-checks candidate borrowers of a lending pool on every new
 *               head (and every tick of `feed`, if given) and trips once per
 *               liquidatable account (strategies/liq.h, keeper/liq_scan.h):
 *     pool              the lending contract (an address, not zero)
 *     health            a view taking one address and returning a uint256
 *                       health factor scaled 1e18: liquidatable when < 1e18
 *     liquidatable      or a view taking one address and returning a bool:
 *                       liquidatable when true.  Exactly one of the two.
 *     health_word       (default 0, 0..CONFIG_MAX_RETURN_WORD) the 32-byte
 *                       word of the view's return data that holds the value
 *                       (Aave v3 getUserAccountData(address): word 5)
 *     debt              a view taking one address and returning the debt to
 *                       repay, in the debt token's smallest unit (word 0)
 *     debt_to           (default: pool) the contract of the debt view (Aave
 *                       v3: the variable debt token, balanceOf(address))
 *     close_factor_pct  (default 50, 1..100) $amount = floor(debt * pct / 100)
 *     accounts          (optional) known borrowers, distinct, at most
 *                       CONFIG_MAX_LIQ_ACCOUNTS, none the zero address
 *     discover          (optional) an event of pool whose indexed topic
 *                       discover_topic is a borrower's address
 *                       ("Borrow(address,uint256)")
 *     discover_topic    (default 1, 1..3, at most the event's parameter
 *                       count) only with discover
 *     feed              (optional) also re-check on each tick of this feed
 *               The action must take $account (the borrower); $amount is
 *               optional.
 * Every kind: action; confirm_ms or confirm_ticks (not both; default 0:
 * trip at once); cooldown_ms (default 60000).  A liquidation trigger applies
 * them per account (strategies/liq.h).
 */
typedef struct {
	const char *name;
	config_trigger_kind_t kind;
	const config_action_t *action;
	const config_feed_t *feed;
	const config_feed_t *feeds[2];
	const config_watch_t *watch;
	uint64_t window_ms;
	double threshold_pct;
	config_direction_t direction;
	double lambda;
	uint64_t warmup;
	uint64_t max_age_ms;
	double peg;
	uint64_t hold_ms;
	uint64_t after_ms;
	u256_t min_amount;
	const uint8_t (*selectors)[4];
	size_t nselectors;
	const addr_t *allow;
	size_t nallow;
	bool simulate;
	addr_t pool;                  /* liquidation (see above) */
	config_view_t health;
	config_view_t liquidatable;
	uint64_t health_word;
	config_view_t debt;
	addr_t debt_to;               /* = pool when not given */
	uint64_t close_factor_pct;
	const addr_t *accounts;
	size_t naccounts;
	config_event_t discover;
	uint64_t discover_topic;
	uint64_t confirm_ms;
	uint64_t confirm_ticks;
	uint64_t cooldown_ms;
	int line;
} config_trigger_t;

/*
 * The whole file.  Everything is owned by it and freed by config_free().
 * (Named config_keeper_t because <libconfig.h> owns config_t.)
 */
typedef struct {
	const char *path;            /* as passed to config_load() */
	config_chain_t chain;
	config_signer_t signer;
	const config_feed_t *feeds;
	size_t nfeeds;
	const config_watch_t *watch;
	size_t nwatch;
	const config_trigger_t *triggers;
	size_t ntriggers;
	const config_action_t *actions;
	size_t nactions;
	const config_gas_t *gas;
	size_t ngas;
	const char *metrics_listen;  /* "host:port" or NULL: no metrics server */
	log_level_t log_level;       /* default LOGL_INFO */
	log_format_t log_format;     /* default LOGF_TEXT */
	const char *state_file;      /* NULL: none */
	void *mem_;                  /* private: allocations */
} config_keeper_t;

/*
 * Read and validate the file at path.  On success *out is the typed config
 * (free with config_free()).  Otherwise *out is NULL and errs (initialised
 * by the caller with config_errors_init(); may be NULL) receives every
 * message: KERR_IO (unreadable; "FILE: cannot read: reason"),
 * KERR_CONFIG_SYNTAX ("FILE:LINE: syntax error: text"), KERR_CONFIG_INVALID,
 * KERR_NOMEM.
 */
kerr_t config_load(const char *path, config_keeper_t **out,
		   config_errors_t *errs);

/*
 * config_load() as the commands run it: when it fails, every message is
 * printed to f (config_errors_print), then "keeper: REASON" for
 * KERR_NOMEM, which is the one failure that is not the file's fault.
 * Returns config_load()'s code; the messages are not kept.
 */
kerr_t config_load_report(const char *path, config_keeper_t **out, FILE *f);

void config_free(config_keeper_t *cfg);

/* Look up by name (NULL when absent). */
const config_feed_t *config_feed_find(const config_keeper_t *cfg,
				      const char *name);
const config_action_t *config_action_find(const config_keeper_t *cfg,
					  const char *name);

/* The config spelling of an enum value ("price_move", "eip1559", "down"). */
const char *config_trigger_kind_name(config_trigger_kind_t kind);
const char *config_gas_strategy_name(config_gas_strategy_t strategy);
const char *config_direction_name(config_direction_t dir);

#endif
