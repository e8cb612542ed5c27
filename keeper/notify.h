/*
 * notify: webhooks.  An action's optional `notify` URL (config_action_t
 * notify) receives a JSON POST when one of its triggers trips and on each
 * outcome of the transaction sent for it, so that operators learn of a
 * pause from their chat or pager, not from the log.
 *
 * The body (every key always present, null when unknown, in this order):
 *   {"event":"trip"|"sent"|"mined"|"reverted"|"failed"|"guard_stopped"|
 *            "capped",
 *    "trigger":"name","action":"name",
 *    "kind":"depeg" (config_trigger_kind_name),
 *    "value":0.9712,"threshold":0.98 (numbers, in the trip's unit),
 *    "unit":"pct" (detect_unit_name),
 *    "time_ms":1678520483000 (trip: the event that tripped; others: when
 *            the outcome was seen; ms since the Unix epoch),
 *    "tx_hash":"0x…" (trip: the pending transaction that caused it, for a
 *            mempool trigger; others: keeper's transaction, the version
 *            mined for mined/reverted),
 *    "nonce":12 (keeper's transaction),
 *    "account":"0x…" (EIP-55; the $account of a liquidation),
 *    "amount":"1000000" ($amount, decimal text: 256 bits fit no JSON
 *            number)}
 *
 * A guardian never waits for a webhook.  notify_post() only builds the
 * body and queues it; the POST runs on the loop (keeper/http, an http
 * client of this module's own, so a slow webhook never takes the node's
 * request slots).  Limits:
 *  - at most queue_max bodies wait; when one more comes, the OLDEST waiting
 *    one is dropped (counted in `dropped`, and a warn line at most every
 *    10 s): the latest news about a pause matters more than old news;
 *  - at most max_inflight POSTs at once, and at most one per URL, so that
 *    one endpoint receives its bodies in the order they were posted
 *    (several in flight to one URL could overtake each other), while a
 *    dead endpoint holds up only its own queue;
 *  - each POST has timeout_ms;
 *  - a POST that failed for a reason that may pass (no connection, a
 *    timeout, a broken answer, HTTP 5xx or 429) is tried once more, as the
 *    oldest of its URL's queue; a second failure, or any other status
 *    (4xx: the endpoint refuses this body), drops it (`failed`, warn line).
 *    No further retries: a webhook that keeps failing must not grow the
 *    load, and a later event carries the newer state anyway.
 * A 2xx answer is delivered; the answer's body is not read.
 *
 * Everything runs on the loop thread.
 */
#ifndef KEEPER_NOTIFY_H
#define KEEPER_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/config.h"
#include "keeper/detect.h"
#include "keeper/kerr.h"
#include "keeper/loop.h"
#include "keeper/tracker.h"
#include "signer/addr.h"
#include "signer/u256.h"

#define NOTIFY_QUEUE_DEFAULT 64
#define NOTIFY_QUEUE_MAX 1024
#define NOTIFY_INFLIGHT_DEFAULT 4
#define NOTIFY_INFLIGHT_MAX 64
#define NOTIFY_TIMEOUT_DEFAULT 3000
/* A body, with room for names far beyond CONFIG_NAME_MAX. */
#define NOTIFY_BODY_MAX 2048

typedef enum {
	NOTIFY_TRIP = 0,
	NOTIFY_SENT,            /* a node or relay accepted the first send */
	NOTIFY_MINED,
	NOTIFY_REVERTED,
	NOTIFY_FAILED,
	NOTIFY_GUARD_STOPPED,
	NOTIFY_CAPPED,
	NOTIFY_EVENTS           /* count */
} notify_event_t;

/* "trip", "sent", ...; "unknown" out of range. */
const char *notify_event_name(notify_event_t e);

/* One notification; see the body above for each field's meaning. */
typedef struct {
	notify_event_t event;
	const char *trigger;      /* NULL: null */
	const char *action;       /* NULL: null */
	bool has_trip;            /* kind, value, threshold, unit */
	config_trigger_kind_t kind;
	double value;             /* non-finite: null */
	double threshold;
	detect_unit_t unit;
	int64_t time_ms;
	bool has_tx;
	uint8_t tx_hash[32];
	bool has_nonce;
	uint64_t nonce;
	bool has_account;
	addr_t account;
	bool has_amount;
	u256_t amount;
} notify_msg_t;

/* A trip of `action` (NOTIFY_TRIP). */
void notify_msg_trip(notify_msg_t *m, const detect_trip_t *trip,
		     const char *action);

/* The first send of keeper's transaction (hash, nonce) for a trip of
 * trigger, accepted at now_ms (NOTIFY_SENT); trip (may be NULL: a
 * transaction resumed from the state file) adds the trip's part. */
void notify_msg_sent(notify_msg_t *m, const char *trigger, const char *action,
		     const detect_trip_t *trip, const uint8_t hash[32],
		     uint64_t nonce, int64_t now_ms);

/*
 * A tracker outcome seen at now_ms; trip (may be NULL) adds the trip's
 * kind, value, threshold, unit and amount.  false for TRACKER_DRY_RUN,
 * which has no event (nothing was sent), and m is then untouched.
 */
bool notify_msg_outcome(notify_msg_t *m, const tracker_outcome_t *o,
			const detect_trip_t *trip, int64_t now_ms);

/* The JSON body of m into out[0..cap), NUL-terminated, length in *len.
 * KERR_ARG, KERR_BUF. */
kerr_t notify_body(char *out, size_t cap, size_t *len, const notify_msg_t *m);

typedef struct notify notify_t;

typedef struct {
	uint32_t queue_max;       /* [NOTIFY_QUEUE_DEFAULT] 1..NOTIFY_QUEUE_MAX */
	uint32_t max_inflight;    /* [NOTIFY_INFLIGHT_DEFAULT] 1..NOTIFY_INFLIGHT_MAX */
	uint32_t timeout_ms;      /* [NOTIFY_TIMEOUT_DEFAULT] per POST */
} notify_opts_t;

typedef struct {
	uint64_t posted;          /* notify_post calls accepted */
	uint64_t delivered;       /* 2xx answers */
	uint64_t failed;          /* given up (after the retry, or a 4xx) */
	uint64_t retries;         /* second tries */
	uint64_t dropped;         /* pushed out of a full queue */
	size_t waiting;           /* queued, not posted yet */
	size_t in_flight;         /* POSTs under way */
} notify_stats_t;

/* A notifier on loop (which must outlive it); opts may be NULL.
 * KERR_ARG (opts out of range), KERR_NOMEM. */
kerr_t notify_new(notify_t **out, loop_t *loop, const notify_opts_t *opts);

/* Drop what waits or is in flight (nothing more is sent) and free n.
 * NULL is fine. */
void notify_free(notify_t *n);

/*
 * Queue m's body for url (http:// or https://; the string must stay valid
 * until the body is delivered or dropped, as the config's notify URLs do).
 * Never blocks.  KERR_OK (queued, perhaps pushing out the oldest), or
 * KERR_ARG, KERR_BUF (body over NOTIFY_BODY_MAX).
 */
kerr_t notify_post(notify_t *n, const char *url, const notify_msg_t *m);

void notify_stats(const notify_t *n, notify_stats_t *out);

#endif
