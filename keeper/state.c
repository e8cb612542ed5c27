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

	if (tx->raw_len > STATE_RAW_MAX || !name_ok(tx->action) || !name_ok(tx->trigger))
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

static json_t *hex_json(const uint8_t *b, size_t n)
{
	char *s = malloc(2 * n + 3);
	json_t *j;

	if (!s)
		return NULL;
	s[0] = '0', s[1] = 'x';
	hex_encode(s + 2, b, n);
	j = json_string(s);
	free(s);
	return j;
}

static json_t *addr_json(const addr_t *a)
{
	char t[ADDR_TEXT_LEN];

	addr_to_checksum(a, t);
	return json_string(t);
}

static json_t *u256_json(const u256_t *v)
{
	char t[U256_DEC_MAX];

	u256_to_dec(v, t, sizeof t);
	return json_string(t);
}

/* Adds v under k; false (and frees nothing more) when v is NULL. */
static bool put(json_t *o, const char *k, json_t *v)
{
	return v && json_object_set_new(o, k, v) == 0;
}

static json_t *to_json(const state_t *st)
{
	json_t *root = json_object(), *txs = json_array(), *cds = json_array();
	bool ok = root && txs && cds;
	size_t i;

	ok = ok && put(root, "version", json_integer(STATE_VERSION)) &&
	     put(root, "chain_id", json_integer((json_int_t)st->chain_id)) &&
	     put(root, "signer", addr_json(&st->signer));
	for (i = 0; ok && i < st->ntxs; i++) {
		const state_tx_t *t = &st->txs[i];
		json_t *o = json_object();

		ok = o && json_array_append_new(txs, o) == 0 &&
		     put(o, "action", json_string(t->action)) &&
		     put(o, "trigger", json_string(t->trigger)) &&
		     (!t->has_account || put(o, "account", addr_json(&t->account))) &&
		     put(o, "nonce", json_integer((json_int_t)t->nonce)) &&
		     put(o, "hash", hex_json(t->hash, 32)) &&
		     put(o, "raw", hex_json(t->raw, t->raw_len)) &&
		     put(o, "max_fee", u256_json(&t->max_fee)) &&
		     put(o, "priority_fee", u256_json(&t->priority_fee)) &&
		     put(o, "sent_ms", json_integer(t->sent_ms)) &&
		     put(o, "trip_ms", json_integer(t->trip_ms));
	}
	for (i = 0; ok && i < st->ncooldowns; i++) {
		json_t *o = json_object();

		ok = o && json_array_append_new(cds, o) == 0 &&
		     put(o, "trigger", json_string(st->cooldowns[i].trigger)) &&
		     put(o, "last_trip_ms", json_integer(st->cooldowns[i].last_trip_ms));
	}
	if (ok) {
		ok = json_object_set(root, "txs", txs) == 0 &&
		     json_object_set(root, "cooldowns", cds) == 0;
	}
	json_decref(txs);
	json_decref(cds);
	if (!ok) {
		json_decref(root);
		return NULL;
	}
	return root;
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

kerr_t state_save(const state_t *st, const char *path)
{
	char tmp[PATH_MAX];
	json_t *root;
	char *text;
	int fd, saved;
	kerr_t err;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return KERR_IO;
	}
	root = to_json(st);
	if (!root)
		return KERR_NOMEM;
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!text)
		return KERR_NOMEM;
	/* 0600: the file holds signed transactions, nobody else's business. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(text);
		return KERR_IO;
	}
	err = write_all(fd, text, strlen(text));
	if (err == KERR_OK)
		err = write_all(fd, "\n", 1);
	free(text);
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

static kerr_t parse_tx(why_t *w, json_t *o, size_t i, state_tx_t *t)
{
	static const char *const keys[] = { "action", "trigger", "account", "nonce", "hash",
					    "raw", "max_fee", "priority_fee", "sent_ms",
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

kerr_t state_load(state_t *st, const char *path, uint64_t chain_id,
		  const addr_t *signer, char *why, size_t why_cap)
{
	why_t w = { why, why_cap };
	json_error_t jerr;
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
	/* Duplicate keys would let two readers see different files. */
	root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!root) {
		bad(&w, "line %d: %s", jerr.line, jerr.text);
		return KERR_JSON;
	}
	err = from_json(&w, root, st, chain_id, signer);
	json_decref(root);
	return err;
}
