/*
 * state: keeper's crash-safe memory (config `state_file`): the
 * transactions it has sent and not yet seen resolved, and when each
 * trigger last tripped.
 *
 * Why it exists.  A guardian that is restarted (crash, kill -9, upgrade,
 * host reboot) between sending its pause and seeing it mined must neither
 * forget that transaction (it may need a fee bump) nor send a second one
 * for the same trip (two pauses cost gas; two liquidations of one account
 * revert and cost gas).  So every change is written before keeper acts on
 * it, and on start keeper resumes tracking what the file lists.
 *
 * Two ways of writing, both leaving after a crash at any instant either
 * the old state or the new one, never a mix:
 *  - state_save() rewrites the file: the whole state goes to FILE.tmp,
 *    which is fsync'ed and renamed over FILE, and the directory is
 *    fsync'ed;
 *  - a state_log_t (the running tracker's, whose saves sit between a trip
 *    and its broadcast) appends the whole state as one more line to the
 *    open file and fdatasync()s it: one write and one sync instead of
 *    open, write, fsync, rename and a directory fsync, about a tenth of
 *    the time.  The last complete line is the state.  An append cut short
 *    by a crash is a last line without its newline that does not parse,
 *    and state_load() ignores it (nothing was acted on before the sync
 *    returned).  The log's first save in a process, every save after a
 *    failed one, and a save that would grow the file past
 *    STATE_LOG_COMPACT (or four times the state) rewrite it as
 *    state_save() does, so the file holds one line again.
 *
 * The file is JSON: one object per line, the last one being the state
 * (state_save() writes exactly one):
 *   {"version":1,"chain_id":1,"signer":"0x…",
 *    "txs":[{"action":"pause-vault","trigger":"usdc-depeg","account":"0x…",
 *            "nonce":7,"hash":"0x…","prev":["0x…"],"raw":"0x…","max_fee":"123",
 *            "priority_fee":"4","sent_ms":1700000000000,"trip_ms":1700000000000}],
 *    "cooldowns":[{"trigger":"usdc-depeg","last_trip_ms":1700000000000}]}
 * Fees are decimal wei strings (they exceed JSON's safe integers);
 * "account" is present for per-account actions (liquidations) only.
 * "prev" (present when there are any) lists the hashes of the earlier
 * bids of the same nonce, oldest first: a fee bump does not take the
 * bid it replaces out of every pool, and a node that never saw the
 * replacement may still mine the older one, so a restarted keeper must
 * recognise it as its own instead of taking the nonce for used by
 * something else and signing the trip again.  The bytes of the current
 * bid ("raw") are enough to re-broadcast; of the older ones only the
 * hashes are needed, to ask for their receipts.
 * state_load() checks every field, type and limit of the last object and
 * refuses the whole file on the first problem, naming it (the objects
 * before it must still be well-formed JSON): a state keeper cannot trust
 * is a state it must not act on (the operator decides, with the message).
 * The writer renders the JSON itself, into a buffer it keeps, so that a
 * save allocates nothing once warm.
 */
#ifndef KEEPER_STATE_H
#define KEEPER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keeper/config.h"
#include "keeper/kerr.h"
#include "signer/addr.h"
#include "signer/u256.h"

#define STATE_VERSION 1
#define STATE_MAX_TXS 256           /* in-flight transactions */
#define STATE_MAX_COOLDOWNS CONFIG_MAX_TRIGGERS
#define STATE_RAW_MAX 4096          /* bytes of one raw signed transaction */
#define STATE_MAX_PREV 16           /* earlier bids listed with one */
#define STATE_FILE_MAX ((size_t)16 << 20)
#define STATE_LOG_COMPACT ((size_t)1 << 20) /* bytes a log may grow to */

/* One sent transaction not yet resolved (mined, replaced for good, or
 * stopped by its guard). */
typedef struct {
	char action[CONFIG_NAME_MAX + 1];
	char trigger[CONFIG_NAME_MAX + 1];
	bool has_account;
	addr_t account;
	uint64_t nonce;
	uint8_t hash[32];
	size_t nprev;
	uint8_t prev[STATE_MAX_PREV][32]; /* earlier bids of this nonce, oldest first */
	uint8_t raw[STATE_RAW_MAX];
	size_t raw_len;
	u256_t max_fee;
	u256_t priority_fee;
	int64_t sent_ms;       /* when this version (the latest bid) was sent */
	int64_t trip_ms;       /* the trip it answers */
} state_tx_t;

typedef struct {
	char trigger[CONFIG_NAME_MAX + 1];
	int64_t last_trip_ms;
} state_cooldown_t;

typedef struct {
	uint64_t chain_id;
	addr_t signer;
	size_t ntxs;
	state_tx_t txs[STATE_MAX_TXS];
	size_t ncooldowns;
	state_cooldown_t cooldowns[STATE_MAX_COOLDOWNS];
} state_t;

/* An empty state for this chain and signer. */
void state_init(state_t *st, uint64_t chain_id, const addr_t *signer);

/*
 * Add or replace (same action, account and nonce: a fee bump) a
 * transaction.  KERR_FULL when STATE_MAX_TXS are in flight, KERR_TOO_LONG
 * for a raw transaction over STATE_RAW_MAX, more than STATE_MAX_PREV
 * earlier bids or a name over CONFIG_NAME_MAX.
 */
kerr_t state_put_tx(state_t *st, const state_tx_t *tx);

/* Remove the transaction with this nonce for this action (and account,
 * when has_account).  KERR_NOT_FOUND. */
kerr_t state_drop_tx(state_t *st, const char *action, bool has_account,
		     const addr_t *account, uint64_t nonce);

/* Set a trigger's last trip time.  KERR_FULL, KERR_TOO_LONG. */
kerr_t state_set_cooldown(state_t *st, const char *trigger, int64_t last_trip_ms);

/* A trigger's last trip time; false when none is recorded. */
bool state_get_cooldown(const state_t *st, const char *trigger, int64_t *out);

/*
 * Write st to path atomically (see above).  KERR_IO with errno set; the
 * previous file is intact on any failure.
 */
kerr_t state_save(const state_t *st, const char *path);

/* A state file kept open for appending (see above). */
typedef struct state_log state_log_t;

/*
 * A log on path (copied).  No I/O yet: the first state_log_save()
 * rewrites the file.  KERR_ARG, KERR_NOMEM.
 */
kerr_t state_log_new(const char *path, state_log_t **out);

/*
 * Save st through lg: appended and fdatasync'ed, or the file rewritten
 * as by state_save() (see above).  KERR_IO with errno set, KERR_NOMEM;
 * the previous state stays the file's state on any failure.
 */
kerr_t state_log_save(state_log_t *lg, const state_t *st);

/* Close the file and free lg.  NULL is ignored. */
void state_log_free(state_log_t *lg);

/*
 * Read path (its last complete object, see above) into *st.  A missing
 * file is KERR_NOT_FOUND (a first start: the caller begins with
 * state_init()).  Otherwise KERR_IO, KERR_TOO_LONG (over STATE_FILE_MAX),
 * KERR_JSON (not JSON, or empty), or KERR_STATE_INVALID with
 * a message in why[0..why_cap) naming the member ("txs[2].raw: not 0x
 * hex"); a file for another chain or signer is KERR_STATE_INVALID too.
 * chain_id and signer are what the running keeper expects.
 */
kerr_t state_load(state_t *st, const char *path, uint64_t chain_id,
		  const addr_t *signer, char *why, size_t why_cap);

#endif
