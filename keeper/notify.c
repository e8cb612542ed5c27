/*
 * notify: the webhook queue (see notify.h).
 *
 * Entries live in one array of queue_max + max_inflight records, each with
 * its body: a full queue with every POST slot busy still has a record for
 * every body it holds, and nothing is allocated after notify_new().  Each
 * entry carries a sequence number; "oldest" is the lowest.  The queue is
 * small (64 by default), so picking the next entry is a scan, which keeps
 * the per-URL ordering rule obvious.
 */
#include "keeper/notify.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeper/http.h"
#include "keeper/log.h"
#include "signer/hex.h"

/* At most one "dropped" warn line per this many ms. */
#define DROP_LOG_MS 10000

enum { E_FREE = 0, E_WAITING, E_INFLIGHT };

struct entry {
	struct notify *n;
	int state;
	bool retried;
	uint64_t seq;
	const char *url;
	notify_event_t event;
	char action[CONFIG_NAME_MAX + 1]; /* for log lines */
	size_t len;
	char body[NOTIFY_BODY_MAX];
};

struct notify {
	loop_t *loop;
	http_t *http;
	notify_opts_t o;
	struct entry *e;
	size_t ne;
	uint64_t seq;
	notify_stats_t st;
	int64_t drop_log_ms;     /* when the last drop line was written */
	bool drop_logged;
	uint64_t drops_unlogged;
};

const char *notify_event_name(notify_event_t e)
{
	switch (e) {
	case NOTIFY_TRIP:
		return "trip";
	case NOTIFY_SENT:
		return "sent";
	case NOTIFY_MINED:
		return "mined";
	case NOTIFY_REVERTED:
		return "reverted";
	case NOTIFY_FAILED:
		return "failed";
	case NOTIFY_GUARD_STOPPED:
		return "guard_stopped";
	case NOTIFY_CAPPED:
		return "capped";
	case NOTIFY_EVENTS:
		break;
	}
	return "unknown";
}

/* ---- messages */

static void trip_part(notify_msg_t *m, const detect_trip_t *trip)
{
	m->has_trip = true;
	m->kind = trip->kind;
	m->value = trip->value;
	m->threshold = trip->threshold;
	m->unit = trip->unit;
	if (trip->has_account) {
		m->has_account = true;
		m->account = trip->account;
	}
	if (trip->has_amount) {
		m->has_amount = true;
		m->amount = trip->amount;
	}
}

void notify_msg_trip(notify_msg_t *m, const detect_trip_t *trip,
		     const char *action)
{
	memset(m, 0, sizeof *m);
	m->event = NOTIFY_TRIP;
	m->trigger = trip->trigger;
	m->action = action;
	trip_part(m, trip);
	m->time_ms = trip->time_ms;
	if (trip->has_tx) {
		m->has_tx = true;
		memcpy(m->tx_hash, trip->tx_hash, 32);
	}
}

void notify_msg_sent(notify_msg_t *m, const char *trigger, const char *action,
		     const detect_trip_t *trip, const uint8_t hash[32],
		     uint64_t nonce, int64_t now_ms)
{
	memset(m, 0, sizeof *m);
	m->event = NOTIFY_SENT;
	m->trigger = trigger;
	m->action = action;
	if (trip)
		trip_part(m, trip);
	m->time_ms = now_ms;
	m->has_tx = true;
	memcpy(m->tx_hash, hash, 32);
	m->has_nonce = true;
	m->nonce = nonce;
}

bool notify_msg_outcome(notify_msg_t *m, const tracker_outcome_t *o,
			const detect_trip_t *trip, int64_t now_ms)
{
	notify_event_t ev;

	switch (o->result) {
	case TRACKER_MINED:
		ev = NOTIFY_MINED;
		break;
	case TRACKER_REVERTED:
		ev = NOTIFY_REVERTED;
		break;
	case TRACKER_GUARD_STOPPED:
		ev = NOTIFY_GUARD_STOPPED;
		break;
	case TRACKER_CAPPED:
		ev = NOTIFY_CAPPED;
		break;
	case TRACKER_FAILED:
		ev = NOTIFY_FAILED;
		break;
	default:
		return false;
	}
	memset(m, 0, sizeof *m);
	m->event = ev;
	m->trigger = o->trigger;
	m->action = o->action;
	if (trip)
		trip_part(m, trip);
	/* The lane's account is the one the transaction was for. */
	if (o->has_account) {
		m->has_account = true;
		m->account = o->account;
	}
	m->time_ms = now_ms;
	if (o->has_tx) {
		m->has_tx = true;
		memcpy(m->tx_hash, o->hash, 32);
		m->has_nonce = true;
		m->nonce = o->nonce;
	}
	return true;
}

/* ---- body */

typedef struct {
	char *p;
	size_t cap, len;
	bool full;
} buf_t;

static void put(buf_t *b, const char *s, size_t n)
{
	if (b->full || n >= b->cap - b->len) {
		b->full = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void puts_(buf_t *b, const char *s)
{
	put(b, s, strlen(s));
}

/* A JSON string, or null for NULL.  Control bytes and the two specials
 * are escaped; other bytes pass as they are (config names are ASCII). */
static void put_str(buf_t *b, const char *s)
{
	if (!s) {
		puts_(b, "null");
		return;
	}
	puts_(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(b, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			put(b, esc, 6);
		} else {
			put(b, (const char *)&c, 1);
		}
	}
	puts_(b, "\"");
}

/* The shortest of %.15g .. %.17g that reads back as the same double. */
static void put_num(buf_t *b, bool has, double v)
{
	char t[40];

	if (!has || !isfinite(v)) {
		puts_(b, "null");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(t, sizeof t, "%.*g", prec, v);
		if (strtod(t, NULL) == v)
			break;
	}
	puts_(b, t);
}

kerr_t notify_body(char *out, size_t cap, size_t *len, const notify_msg_t *m)
{
	buf_t b = { out, cap, 0, false };
	char t[U256_DEC_MAX + 8];

	if (!out || !cap || !len || !m || m->event < 0 || m->event >= NOTIFY_EVENTS)
		return KERR_ARG;
	out[0] = 0;
	puts_(&b, "{\"event\":");
	put_str(&b, notify_event_name(m->event));
	puts_(&b, ",\"trigger\":");
	put_str(&b, m->trigger);
	puts_(&b, ",\"action\":");
	put_str(&b, m->action);
	puts_(&b, ",\"kind\":");
	put_str(&b, m->has_trip ? config_trigger_kind_name(m->kind) : NULL);
	puts_(&b, ",\"value\":");
	put_num(&b, m->has_trip, m->value);
	puts_(&b, ",\"threshold\":");
	put_num(&b, m->has_trip, m->threshold);
	puts_(&b, ",\"unit\":");
	put_str(&b, m->has_trip ? detect_unit_name(m->unit) : NULL);
	snprintf(t, sizeof t, ",\"time_ms\":%" PRId64, m->time_ms);
	puts_(&b, t);
	puts_(&b, ",\"tx_hash\":");
	if (m->has_tx) {
		t[0] = '"';
		t[1] = '0';
		t[2] = 'x';
		hex_encode(t + 3, m->tx_hash, 32);
		t[67] = '"';
		put(&b, t, 68);
	} else {
		puts_(&b, "null");
	}
	puts_(&b, ",\"nonce\":");
	if (m->has_nonce) {
		snprintf(t, sizeof t, "%" PRIu64, m->nonce);
		puts_(&b, t);
	} else {
		puts_(&b, "null");
	}
	puts_(&b, ",\"account\":");
	if (m->has_account) {
		addr_to_checksum(&m->account, t);
		put_str(&b, t);
	} else {
		puts_(&b, "null");
	}
	puts_(&b, ",\"amount\":");
	if (m->has_amount) {
		u256_to_dec(&m->amount, t, sizeof t);
		put_str(&b, t);
	} else {
		puts_(&b, "null");
	}
	puts_(&b, "}");
	if (b.full)
		return KERR_BUF;
	*len = b.len;
	return KERR_OK;
}

/* ---- queue */

static void pump(struct notify *n);

static void entry_free(struct notify *n, struct entry *e)
{
	if (e->state == E_WAITING)
		n->st.waiting--;
	else if (e->state == E_INFLIGHT)
		n->st.in_flight--;
	e->state = E_FREE;
}

static struct entry *oldest_waiting(struct notify *n)
{
	struct entry *best = NULL;

	for (size_t i = 0; i < n->ne; i++) {
		struct entry *e = &n->e[i];

		if (e->state == E_WAITING && (!best || e->seq < best->seq))
			best = e;
	}
	return best;
}

/* Pushes the oldest waiting body out, to make room. */
static void drop_oldest(struct notify *n)
{
	struct entry *e = oldest_waiting(n);
	int64_t now = loop_now_ms(n->loop);

	if (!e)
		return;
	n->st.dropped++;
	n->drops_unlogged++;
	if (!n->drop_logged || now - n->drop_log_ms >= DROP_LOG_MS) {
		log_warn("notify", "webhook queue full (%u waiting): dropped the "
			 "oldest (%s of action %s); %" PRIu64 " dropped since the "
			 "last such line, %" PRIu64 " in all", n->o.queue_max,
			 notify_event_name(e->event), e->action,
			 n->drops_unlogged, n->st.dropped);
		n->drop_logged = true;
		n->drop_log_ms = now;
		n->drops_unlogged = 0;
	}
	entry_free(n, e);
}

/* Worth a second try: the endpoint may answer next time. */
static bool may_pass(const http_result_t *res)
{
	if (res->kind == HTTP_STATUS)
		return res->status >= 500 || res->status == 429;
	return res->kind != HTTP_OK && res->kind != HTTP_ERR_TOO_LARGE;
}

static void on_http(const http_result_t *res, void *ctx)
{
	struct entry *e = ctx;
	struct notify *n = e->n;

	n->st.in_flight--;
	e->state = E_FREE;
	if (res->kind == HTTP_OK) {
		n->st.delivered++;
		log_debug("notify", "%s of action %s delivered (HTTP %ld)",
			  notify_event_name(e->event), e->action, res->status);
	} else if (!e->retried && may_pass(res)) {
		n->st.retries++;
		e->retried = true;
		/* Its old sequence number makes it the next of its URL, and
		 * the first to go if the queue is full. */
		e->state = E_WAITING;
		if (++n->st.waiting > n->o.queue_max)
			drop_oldest(n);
	} else {
		n->st.failed++;
		if (res->kind == HTTP_STATUS)
			log_warn("notify", "webhook %s of action %s refused: HTTP %ld",
				 notify_event_name(e->event), e->action, res->status);
		else
			log_warn("notify", "webhook %s of action %s failed: %s (%s)",
				 notify_event_name(e->event), e->action,
				 http_kind_str(res->kind), res->error);
	}
	pump(n);
}

static bool url_busy(const struct notify *n, const char *url)
{
	for (size_t i = 0; i < n->ne; i++)
		if (n->e[i].state == E_INFLIGHT && !strcmp(n->e[i].url, url))
			return true;
	return false;
}

/* Starts what may start: the oldest waiting body of each idle URL. */
static void pump(struct notify *n)
{
	while (n->st.in_flight < n->o.max_inflight && n->st.waiting) {
		struct entry *pick = NULL;
		kerr_t err;

		for (size_t i = 0; i < n->ne; i++) {
			struct entry *e = &n->e[i];

			if (e->state == E_WAITING && (!pick || e->seq < pick->seq) &&
			    !url_busy(n, e->url))
				pick = e;
		}
		if (!pick)
			return;
		err = http_post(n->http, pick->url, pick->body, pick->len,
				n->o.timeout_ms, 0, on_http, pick);
		n->st.waiting--;
		if (err) {
			n->st.failed++;
			log_error("notify", "webhook %s of action %s not sent: %s",
				  notify_event_name(pick->event), pick->action,
				  kerr_str(err));
			pick->state = E_FREE;
			continue;
		}
		pick->state = E_INFLIGHT;
		n->st.in_flight++;
	}
}

kerr_t notify_post(notify_t *n, const char *url, const notify_msg_t *m)
{
	struct entry *e = NULL;
	char body[NOTIFY_BODY_MAX];
	size_t len;
	kerr_t err;

	if (!n || !url || !m ||
	    (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
		return KERR_ARG;
	if ((err = notify_body(body, sizeof body, &len, m)))
		return err;
	if (n->st.waiting >= n->o.queue_max)
		drop_oldest(n);
	for (size_t i = 0; i < n->ne; i++) {
		if (n->e[i].state == E_FREE) {
			e = &n->e[i];
			break;
		}
	}
	/* Cannot happen: waiting < queue_max and in_flight <= max_inflight
	 * leave a free record; kept as a guard against a broken count. */
	if (!e)
		return KERR_FULL;
	e->state = E_WAITING;
	e->retried = false;
	e->seq = n->seq++;
	e->url = url;
	e->event = m->event;
	snprintf(e->action, sizeof e->action, "%s", m->action ? m->action : "-");
	memcpy(e->body, body, len + 1);
	e->len = len;
	n->st.waiting++;
	n->st.posted++;
	pump(n);
	return KERR_OK;
}

void notify_stats(const notify_t *n, notify_stats_t *out)
{
	*out = n->st;
}

kerr_t notify_new(notify_t **out, loop_t *loop, const notify_opts_t *opts)
{
	notify_opts_t o = { 0 };
	struct notify *n;
	http_config_t hc = { .max_response = 1u << 16,
			     .max_request = NOTIFY_BODY_MAX };
	kerr_t err;

	if (!out)
		return KERR_ARG;
	*out = NULL;
	if (!loop)
		return KERR_ARG;
	if (opts)
		o = *opts;
	if (!o.queue_max)
		o.queue_max = NOTIFY_QUEUE_DEFAULT;
	if (!o.max_inflight)
		o.max_inflight = NOTIFY_INFLIGHT_DEFAULT;
	if (!o.timeout_ms)
		o.timeout_ms = NOTIFY_TIMEOUT_DEFAULT;
	if (o.queue_max > NOTIFY_QUEUE_MAX || o.max_inflight > NOTIFY_INFLIGHT_MAX)
		return KERR_ARG;
	hc.max_inflight = o.max_inflight;
	if (!(n = calloc(1, sizeof *n)))
		return KERR_NOMEM;
	n->loop = loop;
	n->o = o;
	n->ne = (size_t)o.queue_max + o.max_inflight;
	if (!(n->e = calloc(n->ne, sizeof *n->e))) {
		free(n);
		return KERR_NOMEM;
	}
	for (size_t i = 0; i < n->ne; i++)
		n->e[i].n = n;
	if ((err = http_create(loop, &hc, &n->http))) {
		free(n->e);
		free(n);
		return err;
	}
	*out = n;
	return KERR_OK;
}

void notify_free(notify_t *n)
{
	if (!n)
		return;
	http_destroy(n->http);
	free(n->e);
	free(n);
}
