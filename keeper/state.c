/*
 * state: the state file of keeper/state.h: in-flight transactions and
 * trigger cooldowns, written atomically, read back strictly.
 */
#include "keeper/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "signer/hex.h"

void state_init(state_t *st, uint64_t chain_id, const addr_t *signer)
{
	st->chain_id = chain_id;
	st->signer = *signer;
	st->ntxs = 0;
	st->ncooldowns = 0;
}

static bool name_ok(const char *s)
{
	return strlen(s) <= CONFIG_NAME_MAX;
}

static bool same_tx(const state_tx_t *a, const char *action, bool has_account,
		    const addr_t *account, uint64_t nonce)
{
	return a->nonce == nonce && strcmp(a->action, action) == 0 &&
	       a->has_account == has_account &&
	       (!has_account || addr_eq(&a->account, account));
}

kerr_t state_put_tx(state_t *st, const state_tx_t *tx)
{
	size_t i;

	if (tx->raw_len > STATE_RAW_MAX || tx->nprev > STATE_MAX_PREV || !name_ok(tx->action) ||
	    !name_ok(tx->trigger))
		return KERR_TOO_LONG;
	for (i = 0; i < st->ntxs; i++)
		if (same_tx(&st->txs[i], tx->action, tx->has_account, &tx->account, tx->nonce)) {
			st->txs[i] = *tx;
			return KERR_OK;
		}
	if (st->ntxs == STATE_MAX_TXS)
		return KERR_FULL;
	st->txs[st->ntxs++] = *tx;
	return KERR_OK;
}

kerr_t state_drop_tx(state_t *st, const char *action, bool has_account,
		     const addr_t *account, uint64_t nonce)
{
	size_t i;

	for (i = 0; i < st->ntxs; i++)
		if (same_tx(&st->txs[i], action, has_account, account, nonce)) {
			/* Keep the order: the file lists them as they were sent. */
			memmove(&st->txs[i], &st->txs[i + 1],
				(st->ntxs - i - 1) * sizeof st->txs[0]);
			st->ntxs--;
			return KERR_OK;
		}
	return KERR_NOT_FOUND;
}

kerr_t state_set_cooldown(state_t *st, const char *trigger, int64_t last_trip_ms)
{
	size_t i;

	if (!name_ok(trigger))
		return KERR_TOO_LONG;
	for (i = 0; i < st->ncooldowns; i++)
		if (strcmp(st->cooldowns[i].trigger, trigger) == 0) {
			st->cooldowns[i].last_trip_ms = last_trip_ms;
			return KERR_OK;
		}
	if (st->ncooldowns == STATE_MAX_COOLDOWNS)
		return KERR_FULL;
	strcpy(st->cooldowns[st->ncooldowns].trigger, trigger);
	st->cooldowns[st->ncooldowns++].last_trip_ms = last_trip_ms;
	return KERR_OK;
}

bool state_get_cooldown(const state_t *st, const char *trigger, int64_t *out)
{
	size_t i;

	for (i = 0; i < st->ncooldowns; i++)
		if (strcmp(st->cooldowns[i].trigger, trigger) == 0) {
			*out = st->cooldowns[i].last_trip_ms;
			return true;
		}
	return false;
}

/* ---- writing ------------------------------------------------------------ */

/* A growing text buffer; a failed growth is remembered and reported once
 * the rendering is over. */
typedef struct {
	char *p;
	size_t len, cap;
	bool oom;
} sbuf_t;

static char *room(sbuf_t *b, size_t n)
{
	if (b->oom)
		return NULL;
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 4096;
		char *np;

		while (cap - b->len < n)
			cap *= 2;
		if (!(np = realloc(b->p, cap))) {
			b->oom = true;
			return NULL;
		}
		b->p = np;
		b->cap = cap;
	}
	return b->p + b->len;
}

static void put_mem(sbuf_t *b, const char *s, size_t n)
{
	char *d = room(b, n);

	if (d) {
		memcpy(d, s, n);
		b->len += n;
	}
}

static void put_lit(sbuf_t *b, const char *s)
{
	put_mem(b, s, strlen(s));
}

static void put_i64(sbuf_t *b, int64_t v)
{
	char t[24];

	put_mem(b, t, (size_t)snprintf(t, sizeof t, "%" PRId64, v));
}

/* A JSON string as jansson writes it: quote, backslash and control
 * characters escaped, everything else (UTF-8 included) as it is. */
static void put_str(sbuf_t *b, const char *s)
{
	put_mem(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[8];

		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			put_mem(b, e, 2);
		} else if (c < 0x20) {
			const char *esc = c == '\b' ? "\\b" : c == '\f' ? "\\f" :
					     c == '\n' ? "\\n" : c == '\r' ? "\\r" :
					     c == '\t' ? "\\t" : NULL;

			if (esc)
				put_mem(b, esc, 2);
			else
				put_mem(b, e, (size_t)snprintf(e, sizeof e, "\\u%04X", c));
		} else {
			put_mem(b, (const char *)&c, 1);
		}
	}
	put_mem(b, "\"", 1);
}

static void put_hex(sbuf_t *b, const uint8_t *v, size_t n)
{
	char *d = room(b, 2 * n + 4);

	if (!d)
		return;
	memcpy(d, "\"0x", 3);
	hex_encode(d + 3, v, n);
	d[2 * n + 3] = '"';
	b->len += 2 * n + 4;
}

static void put_addr(sbuf_t *b, const addr_t *a)
{
	char t[ADDR_TEXT_LEN];

	addr_to_checksum(a, t);
	put_str(b, t);
}

static void put_u256(sbuf_t *b, const u256_t *v)
{
	char t[U256_DEC_MAX];

	u256_to_dec(v, t, sizeof t);
	put_str(b, t);
}

/* st as one line of JSON with its newline, appended to b. */
static kerr_t render(sbuf_t *b, const state_t *st)
{
	size_t i;

	put_lit(b, "{\"version\":");
	put_i64(b, STATE_VERSION);
	put_lit(b, ",\"chain_id\":");
	put_i64(b, (int64_t)st->chain_id);
	put_lit(b, ",\"signer\":");
	put_addr(b, &st->signer);
	put_lit(b, ",\"txs\":[");
	for (i = 0; i < st->ntxs; i++) {
		const state_tx_t *t = &st->txs[i];

		put_lit(b, i ? ",{\"action\":" : "{\"action\":");
		put_str(b, t->action);
		put_lit(b, ",\"trigger\":");
		put_str(b, t->trigger);
		if (t->has_account) {
			put_lit(b, ",\"account\":");
			put_addr(b, &t->account);
		}
		put_lit(b, ",\"nonce\":");
		put_i64(b, (int64_t)t->nonce);
		put_lit(b, ",\"hash\":");
		put_hex(b, t->hash, 32);
		for (size_t k = 0; k < t->nprev; k++) {
			put_lit(b, k ? "," : ",\"prev\":[");
			put_hex(b, t->prev[k], 32);
		}
		if (t->nprev)
			put_lit(b, "]");
		put_lit(b, ",\"raw\":");
		put_hex(b, t->raw, t->raw_len);
		put_lit(b, ",\"max_fee\":");
		put_u256(b, &t->max_fee);
		put_lit(b, ",\"priority_fee\":");
		put_u256(b, &t->priority_fee);
		put_lit(b, ",\"sent_ms\":");
		put_i64(b, t->sent_ms);
		put_lit(b, ",\"trip_ms\":");
		put_i64(b, t->trip_ms);
		put_lit(b, "}");
	}
	put_lit(b, "],\"cooldowns\":[");
	for (i = 0; i < st->ncooldowns; i++) {
		put_lit(b, i ? ",{\"trigger\":" : "{\"trigger\":");
		put_str(b, st->cooldowns[i].trigger);
		put_lit(b, ",\"last_trip_ms\":");
		put_i64(b, st->cooldowns[i].last_trip_ms);
		put_lit(b, "}");
	}
	put_lit(b, "]}\n");
	return b->oom ? KERR_NOMEM : KERR_OK;
}

static kerr_t write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return KERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return KERR_OK;
}

/* fsync the directory holding path, so the rename itself is durable. */
static kerr_t sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, e;

	if (!slash)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else if ((size_t)(slash - path) < sizeof dir) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = 0;
	} else {
		errno = ENAMETOOLONG;
		return KERR_IO;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return KERR_IO;
	e = fsync(fd);
	close(fd);
	return e == 0 ? KERR_OK : KERR_IO;
}

/* text[0..n) becomes path's whole content, atomically (state.h). */
static kerr_t rewrite(const char *path, const char *text, size_t n)
{
	char tmp[PATH_MAX];
	int fd, saved;
	kerr_t err;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return KERR_IO;
	}
	/* 0600: the file holds signed transactions, nobody else's business. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return KERR_IO;
	err = write_all(fd, text, n);
	if (err == KERR_OK && fsync(fd) != 0)
		err = KERR_IO;
	saved = errno;
	if (close(fd) != 0 && err == KERR_OK) {
		err = KERR_IO;
		saved = errno;
	}
	if (err == KERR_OK && rename(tmp, path) != 0) {
		err = KERR_IO;
		saved = errno;
	}
	if (err != KERR_OK) {
		unlink(tmp);
		errno = saved;
		return err;
	}
	return sync_dir(path);
}

kerr_t state_save(const state_t *st, const char *path)
{
	sbuf_t b = { 0 };
	kerr_t err = render(&b, st);

	if (err == KERR_OK)
		err = rewrite(path, b.p, b.len);
	free(b.p);
	return err;
}

struct state_log {
	char *path;
	int fd;         /* open for appending, or -1: the next save rewrites */
	size_t size;    /* of the file behind fd */
	sbuf_t b;       /* kept between saves */
};

kerr_t state_log_new(const char *path, state_log_t **out)
{
	state_log_t *lg;

	if (!out)
		return KERR_ARG;
	*out = NULL;
	if (!path || !*path)
		return KERR_ARG;
	if (!(lg = calloc(1, sizeof *lg)))
		return KERR_NOMEM;
	if (!(lg->path = strdup(path))) {
		free(lg);
		return KERR_NOMEM;
	}
	lg->fd = -1;
	*out = lg;
	return KERR_OK;
}

static void log_drop_fd(state_log_t *lg)
{
	if (lg->fd >= 0)
		close(lg->fd);
	lg->fd = -1;
}

kerr_t state_log_save(state_log_t *lg, const state_t *st)
{
	size_t bound;
	kerr_t err;
	int saved;

	lg->b.len = 0;
	lg->b.oom = false;
	if ((err = render(&lg->b, st)))
		return err;
	bound = 4 * lg->b.len > STATE_LOG_COMPACT ? 4 * lg->b.len : STATE_LOG_COMPACT;
	/* lg->size can exceed a bound that shrank with the state: compare
	 * without the subtraction wrapping. */
	if (lg->fd >= 0 && lg->size <= bound && lg->b.len <= bound - lg->size) {
		/* One write: a crash leaves at worst a cut-off last line. */
		err = write_all(lg->fd, lg->b.p, lg->b.len);
		if (err == KERR_OK && fdatasync(lg->fd) != 0)
			err = KERR_IO;
		if (err == KERR_OK) {
			lg->size += lg->b.len;
			return KERR_OK;
		}
		/* Never append behind a line that may be cut off: the next
		 * save rewrites the file. */
		saved = errno;
		log_drop_fd(lg);
		errno = saved;
		return err;
	}
	log_drop_fd(lg);
	if ((err = rewrite(lg->path, lg->b.p, lg->b.len)))
		return err;
	/* The state is safe now; failing to reopen only means the next
	 * save rewrites again. */
	lg->fd = open(lg->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	lg->size = lg->b.len;
	return KERR_OK;
}

void state_log_free(state_log_t *lg)
{
	if (!lg)
		return;
	log_drop_fd(lg);
	free(lg->b.p);
	free(lg->path);
	free(lg);
}

/* ---- reading ------------------------------------------------------------ */

typedef struct {
	char *why;
	size_t cap;
} why_t;

static kerr_t bad(why_t *w, const char *fmt, ...)
{
	va_list ap;

	if (w->why && w->cap) {
		va_start(ap, fmt);
		vsnprintf(w->why, w->cap, fmt, ap);
		va_end(ap);
	}
	return KERR_STATE_INVALID;
}

/* The member k of o, of JSON type t; NULL (with a message) otherwise. */
static json_t *member(why_t *w, json_t *o, const char *where, const char *k,
		      json_type t, kerr_t *err)
{
	json_t *v = json_object_get(o, k);

	if (!v) {
		*err = bad(w, "%s%s: missing", where, k);
		return NULL;
	}
	if (json_typeof(v) != t) {
		*err = bad(w, "%s%s: wrong type", where, k);
		return NULL;
	}
	return v;
}

/* Only the listed keys may appear: an unknown one means a file written by
 * something else, or a newer keeper whose meaning we would drop. */
static kerr_t only_keys(why_t *w, json_t *o, const char *where,
			const char *const *keys)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		size_t i;
		bool known = false;

		(void)v;
		for (i = 0; keys[i]; i++)
			known = known || strcmp(k, keys[i]) == 0;
		if (!known)
			return bad(w, "%s%s: unknown member", where, k);
	}
	return KERR_OK;
}

static kerr_t get_int(why_t *w, json_t *o, const char *where, const char *k,
		      int64_t lo, int64_t *out)
{
	kerr_t err = KERR_OK;
	json_t *v = member(w, o, where, k, JSON_INTEGER, &err);

	if (!v)
		return err;
	if (json_integer_value(v) < lo)
		return bad(w, "%s%s: below %" PRId64, where, k, lo);
	*out = json_integer_value(v);
	return KERR_OK;
}

static kerr_t get_name(why_t *w, json_t *o, const char *where, const char *k,
		       char out[CONFIG_NAME_MAX + 1])
{
	kerr_t err = KERR_OK;
	json_t *v = member(w, o, where, k, JSON_STRING, &err);

	if (!v)
		return err;
	if (json_string_length(v) == 0 || json_string_length(v) > CONFIG_NAME_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return bad(w, "%s%s: not a name of 1..%d characters", where, k, CONFIG_NAME_MAX);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return KERR_OK;
}

static kerr_t get_addr(why_t *w, json_t *o, const char *where, const char *k,
		       addr_t *out)
{
	kerr_t err = KERR_OK;
	json_t *v = member(w, o, where, k, JSON_STRING, &err);

	if (!v)
		return err;
	if (addr_parse(out, json_string_value(v), json_string_length(v)) != KERR_OK)
		return bad(w, "%s%s: not an address", where, k);
	return KERR_OK;
}

static kerr_t get_u256(why_t *w, json_t *o, const char *where, const char *k,
		       u256_t *out)
{
	kerr_t err = KERR_OK;
	json_t *v = member(w, o, where, k, JSON_STRING, &err);

	if (!v)
		return err;
	if (u256_from_dec(out, json_string_value(v), json_string_length(v)) != KERR_OK)
		return bad(w, "%s%s: not a decimal amount below 2^256", where, k);
	return KERR_OK;
}

static kerr_t get_hex(why_t *w, json_t *o, const char *where, const char *k,
		      uint8_t *out, size_t cap, size_t exact, size_t *len)
{
	kerr_t err = KERR_OK;
	json_t *v = member(w, o, where, k, JSON_STRING, &err);
	const char *s;
	size_t n;

	if (!v)
		return err;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n < 2 || s[0] != '0' || s[1] != 'x' ||
	    hex_decode(out, cap, len, s, n) != KERR_OK || (exact && *len != exact))
		return bad(w, "%s%s: not 0x hex of %s%zu bytes", where, k,
			   exact ? "" : "at most ", exact ? exact : cap);
	return KERR_OK;
}

/* The optional "prev" list of earlier bids' hashes. */
static kerr_t get_prev(why_t *w, json_t *o, const char *where, state_tx_t *t)
{
	kerr_t err = KERR_OK;
	json_t *v, *x;
	size_t k;

	if (!json_object_get(o, "prev"))
		return KERR_OK;
	if (!(v = member(w, o, where, "prev", JSON_ARRAY, &err)))
		return err;
	if (json_array_size(v) > STATE_MAX_PREV)
		return bad(w, "%sprev: more than %d", where, STATE_MAX_PREV);
	json_array_foreach(v, k, x) {
		const char *s = json_string_value(x);
		size_t n = json_string_length(x);

		if (!s || n < 2 || s[0] != '0' || s[1] != 'x' ||
		    hex_decode_exact(t->prev[k], 32, s, n) != KERR_OK)
			return bad(w, "%sprev[%zu]: not 0x hex of 32 bytes", where, k);
	}
	t->nprev = json_array_size(v);
	return KERR_OK;
}

static kerr_t parse_tx(why_t *w, json_t *o, size_t i, state_tx_t *t)
{
	static const char *const keys[] = { "action", "trigger", "account", "nonce", "hash",
					    "prev", "raw", "max_fee", "priority_fee", "sent_ms",
					    "trip_ms", NULL };
	char where[48];
	int64_t nonce;
	size_t hl;
	kerr_t err;

	snprintf(where, sizeof where, "txs[%zu].", i);
	if (!json_is_object(o))
		return bad(w, "txs[%zu]: not an object", i);
	memset(t, 0, sizeof *t);
	if ((err = only_keys(w, o, where, keys)) ||
	    (err = get_name(w, o, where, "action", t->action)) ||
	    (err = get_name(w, o, where, "trigger", t->trigger)) ||
	    (err = get_int(w, o, where, "nonce", 0, &nonce)) ||
	    (err = get_hex(w, o, where, "hash", t->hash, 32, 32, &hl)) ||
	    (err = get_prev(w, o, where, t)) ||
	    (err = get_hex(w, o, where, "raw", t->raw, STATE_RAW_MAX, 0, &t->raw_len)) ||
	    (err = get_u256(w, o, where, "max_fee", &t->max_fee)) ||
	    (err = get_u256(w, o, where, "priority_fee", &t->priority_fee)) ||
	    (err = get_int(w, o, where, "sent_ms", 0, &t->sent_ms)) ||
	    (err = get_int(w, o, where, "trip_ms", 0, &t->trip_ms)))
		return err;
	t->nonce = (uint64_t)nonce;
	if (t->raw_len == 0)
		return bad(w, "%sraw: empty", where);
	if (json_object_get(o, "account")) {
		if ((err = get_addr(w, o, where, "account", &t->account)))
			return err;
		t->has_account = true;
	}
	return KERR_OK;
}

static kerr_t from_json(why_t *w, json_t *root, state_t *st, uint64_t chain_id,
			const addr_t *signer)
{
	static const char *const keys[] = { "version", "chain_id", "signer", "txs",
					    "cooldowns", NULL };
	static const char *const ckeys[] = { "trigger", "last_trip_ms", NULL };
	json_t *txs, *cds, *o;
	int64_t version, chain;
	addr_t who;
	size_t i;
	kerr_t err = KERR_OK;

	if (!json_is_object(root))
		return bad(w, "not a JSON object");
	if ((err = only_keys(w, root, "", keys)) ||
	    (err = get_int(w, root, "", "version", 0, &version)))
		return err;
	if (version != STATE_VERSION)
		return bad(w, "version: %" PRId64 ", this keeper reads %d", version, STATE_VERSION);
	if ((err = get_int(w, root, "", "chain_id", 1, &chain)) ||
	    (err = get_addr(w, root, "", "signer", &who)))
		return err;
	if ((uint64_t)chain != chain_id)
		return bad(w, "chain_id: the file is for chain %" PRId64 ", keeper runs on %" PRIu64,
			   chain, chain_id);
	if (!addr_eq(&who, signer))
		return bad(w, "signer: the file is for another signer key");
	if (!(txs = member(w, root, "", "txs", JSON_ARRAY, &err)) ||
	    !(cds = member(w, root, "", "cooldowns", JSON_ARRAY, &err)))
		return err;
	if (json_array_size(txs) > STATE_MAX_TXS)
		return bad(w, "txs: more than %d", STATE_MAX_TXS);
	if (json_array_size(cds) > STATE_MAX_COOLDOWNS)
		return bad(w, "cooldowns: more than %d", STATE_MAX_COOLDOWNS);
	state_init(st, chain_id, signer);
	json_array_foreach(txs, i, o) {
		state_tx_t *t = &st->txs[st->ntxs];
		size_t j;

		if ((err = parse_tx(w, o, i, t)))
			return err;
		for (j = 0; j < st->ntxs; j++)
			if (same_tx(&st->txs[j], t->action, t->has_account, &t->account, t->nonce))
				return bad(w, "txs[%zu]: the same action, account and nonce as "
					   "txs[%zu]", i, j);
		st->ntxs++;
	}
	json_array_foreach(cds, i, o) {
		state_cooldown_t *c = &st->cooldowns[st->ncooldowns];
		char where[48];
		int64_t unused;

		snprintf(where, sizeof where, "cooldowns[%zu].", i);
		if (!json_is_object(o))
			return bad(w, "cooldowns[%zu]: not an object", i);
		if ((err = only_keys(w, o, where, ckeys)) ||
		    (err = get_name(w, o, where, "trigger", c->trigger)) ||
		    (err = get_int(w, o, where, "last_trip_ms", 0, &c->last_trip_ms)))
			return err;
		if (state_get_cooldown(st, c->trigger, &unused))
			return bad(w, "cooldowns[%zu]: trigger %s listed twice", i, c->trigger);
		st->ncooldowns++;
	}
	return KERR_OK;
}

/*
 * The last JSON value of buf[0..n): the state (state.h).  Every value
 * before it must parse; a last one that does not, and has no newline
 * after its start, is an append a crash cut short and is passed over.
 * NULL with *err set (KERR_JSON, with the line in the message) otherwise.
 */
static json_t *last_object(why_t *w, const char *buf, size_t n, kerr_t *err)
{
	json_t *last = NULL;
	size_t off = 0;

	for (;;) {
		json_error_t jerr;
		json_t *v;

		while (off < n && buf[off] && strchr(" \t\r\n", buf[off]))
			off++;
		if (off == n)
			break;
		/* Duplicate keys would let two readers see different files. */
		v = json_loadb(buf + off, n - off,
			       JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &jerr);
		if (!v) {
			if (last && !memchr(buf + off, '\n', n - off))
				break;
			json_decref(last);
			bad(w, "line %d: %s", jerr.line, jerr.text);
			*err = KERR_JSON;
			return NULL;
		}
		json_decref(last);
		last = v;
		off += jerr.position;
	}
	if (!last) {
		bad(w, "no JSON object");
		*err = KERR_JSON;
	}
	return last;
}

kerr_t state_load(state_t *st, const char *path, uint64_t chain_id,
		  const addr_t *signer, char *why, size_t why_cap)
{
	why_t w = { why, why_cap };
	struct stat sb;
	json_t *root;
	char *buf;
	ssize_t got;
	size_t n = 0;
	int fd;
	kerr_t err;

	if (why && why_cap)
		why[0] = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? KERR_NOT_FOUND : KERR_IO;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return KERR_IO;
	}
	if ((size_t)sb.st_size > STATE_FILE_MAX) {
		close(fd);
		return KERR_TOO_LONG;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		close(fd);
		return KERR_NOMEM;
	}
	while (n < (size_t)sb.st_size) {
		got = read(fd, buf + n, (size_t)sb.st_size - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (n != (size_t)sb.st_size) {
		free(buf);
		return KERR_IO;
	}
	root = last_object(&w, buf, n, &err);
	free(buf);
	if (!root)
		return err;
	err = from_json(&w, root, st, chain_id, signer);
	json_decref(root);
	return err;
}
