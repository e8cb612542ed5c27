/*
 * node_parse: node frames into events (see node_parse.h for the rules).
 *
 * The result object is walked once: each member's key is looked up in one
 * table of every field any shape uses, its token index remembered, and a
 * second occurrence refused.  The shape is then decided from which fields
 * were present and only those fields are converted.  This keeps a pending
 * transaction (the frame that arrives thousands of times a second) to one
 * pass over ~20 members instead of a lookup per field.
 */
#include "keeper/node_parse.h"

#include <stdlib.h>
#include <string.h>

enum {
	F_HASH, F_FROM, F_TO, F_VALUE, F_INPUT, F_NONCE, F_GAS, F_TYPE,
	F_GAS_PRICE, F_MAX_FEE, F_MAX_PRIO,
	F_ADDRESS, F_TOPICS, F_DATA, F_BLOCK_NUMBER, F_LOG_INDEX, F_TX_HASH,
	F_REMOVED,
	F_NUMBER, F_PARENT_HASH, F_TIMESTAMP, F_BASE_FEE, F_GAS_USED, F_GAS_LIMIT,
	NFIELDS
};

static const struct {
	const char *name;
	uint8_t len;
	const char *what;
} fields[NFIELDS] = {
#define FLD(n) { n, sizeof n - 1, "params.result." n }
	[F_HASH] = FLD("hash"),
	[F_FROM] = FLD("from"),
	[F_TO] = FLD("to"),
	[F_VALUE] = FLD("value"),
	[F_INPUT] = FLD("input"),
	[F_NONCE] = FLD("nonce"),
	[F_GAS] = FLD("gas"),
	[F_TYPE] = FLD("type"),
	[F_GAS_PRICE] = FLD("gasPrice"),
	[F_MAX_FEE] = FLD("maxFeePerGas"),
	[F_MAX_PRIO] = FLD("maxPriorityFeePerGas"),
	[F_ADDRESS] = FLD("address"),
	[F_TOPICS] = FLD("topics"),
	[F_DATA] = FLD("data"),
	[F_BLOCK_NUMBER] = FLD("blockNumber"),
	[F_LOG_INDEX] = FLD("logIndex"),
	[F_TX_HASH] = FLD("transactionHash"),
	[F_REMOVED] = FLD("removed"),
	[F_NUMBER] = FLD("number"),
	[F_PARENT_HASH] = FLD("parentHash"),
	[F_TIMESTAMP] = FLD("timestamp"),
	[F_BASE_FEE] = FLD("baseFeePerGas"),
	[F_GAS_USED] = FLD("gasUsed"),
	[F_GAS_LIMIT] = FLD("gasLimit"),
#undef FLD
};

/* Longest field name: an escaped key that unescapes longer is not ours. */
#define FIELD_NAME_MAX 24

static int field_id(const char *k, size_t len)
{
	for (int f = 0; f < NFIELDS; f++)
		if (fields[f].len == len && memcmp(fields[f].name, k, len) == 0)
			return f;
	return -1;
}

kerr_t node_parse_init(node_parser_t *p, size_t max_frame)
{
	kerr_t err;

	memset(p, 0, sizeof *p);
	if (max_frame == 0)
		max_frame = NODE_PARSE_FRAME_DEFAULT;
	if (max_frame > NODE_PARSE_FRAME_HARD)
		return KERR_ARG;
	if ((err = jtok_doc_alloc(&p->doc, max_frame / 8 < 1024 ? 1024 : max_frame / 8)))
		return err;
	p->max_frame = max_frame;
	return KERR_OK;
}

void node_parse_release(node_parser_t *p)
{
	jtok_doc_free(&p->doc);
	memset(p, 0, sizeof *p);
}

/* Record the failing field and pass the error on. */
static kerr_t at(node_parser_t *p, const char *what, kerr_t err)
{
	if (err)
		p->what = what;
	return err;
}

/* A hex byte string kept as a view: "0x" and an even digit count. */
static kerr_t hex_view(const jtok_doc_t *d, size_t i, event_hex_t *out)
{
	jtok_view_t v;
	if (jtok_type(d, i) != JTOK_STRING || (d->tok[i].flags & JTOK_F_ESCAPED))
		return KERR_JSON;
	v = jtok_text(d, i);
	if (v.len < 2 || v.p[0] != '0' || (v.p[1] != 'x' && v.p[1] != 'X'))
		return KERR_HEX_PREFIX;
	if (v.len % 2)
		return KERR_HEX_ODD;
	out->p = v.p;
	out->len = v.len;
	return KERR_OK;
}

/* Token index of every known field among obj's members; JTOK_NONE if
 * absent.  KERR_JSON on a repeated field. */
static kerr_t collect(node_parser_t *p, const jtok_doc_t *d, size_t obj,
		      size_t idx[NFIELDS])
{
	for (int f = 0; f < NFIELDS; f++)
		idx[f] = JTOK_NONE;
	for (size_t k = jtok_first(d, obj); k != JTOK_NONE; k = jtok_after(d, obj, k)) {
		char buf[FIELD_NAME_MAX];
		jtok_view_t key;
		int f;

		if (jtok_str_view(d, k, buf, sizeof buf, &key) != KERR_OK)
			continue;   /* unescapes longer than any field name */
		if ((f = field_id(key.p, key.len)) < 0)
			continue;
		if (idx[f] != JTOK_NONE)
			return at(p, fields[f].what, KERR_JSON);
		idx[f] = k + 1;
	}
	return KERR_OK;
}

/* The token of a required field, or KERR_NOT_FOUND naming it. */
#define NEED(f) do { if (idx[f] == JTOK_NONE) return at(p, fields[f].what, KERR_NOT_FOUND); } while (0)
/* Run a reader on field f; on error name the field. */
#define READ(f, call) do { kerr_t e_ = (call); if (e_) return at(p, fields[f].what, e_); } while (0)

static kerr_t parse_tx(node_parser_t *p, const jtok_doc_t *d,
		       const size_t idx[NFIELDS], event_tx_t *tx)
{
	uint64_t type = 0;

	NEED(F_HASH);
	NEED(F_FROM);
	NEED(F_TO);
	NEED(F_VALUE);
	NEED(F_INPUT);
	NEED(F_NONCE);
	NEED(F_GAS);
	tx->full = true;
	READ(F_HASH, jtok_fixed(d, idx[F_HASH], tx->hash, sizeof tx->hash));
	READ(F_FROM, jtok_addr(d, idx[F_FROM], &tx->from));
	if (jtok_type(d, idx[F_TO]) != JTOK_NULL) {
		READ(F_TO, jtok_addr(d, idx[F_TO], &tx->to));
		tx->has_to = true;
	}
	READ(F_VALUE, jtok_u256(d, idx[F_VALUE], &tx->value));
	READ(F_INPUT, hex_view(d, idx[F_INPUT], &tx->input));
	READ(F_NONCE, jtok_u64(d, idx[F_NONCE], &tx->nonce));
	READ(F_GAS, jtok_u64(d, idx[F_GAS], &tx->gas));
	if (idx[F_TYPE] != JTOK_NONE) {
		READ(F_TYPE, jtok_u64(d, idx[F_TYPE], &type));
		if (type > 0x7f)   /* EIP-2718: 0x80.. would be an RLP list */
			return at(p, fields[F_TYPE].what, KERR_TX_TYPE);
	}
	tx->type = (uint8_t)type;
	if (idx[F_GAS_PRICE] != JTOK_NONE) {
		READ(F_GAS_PRICE, jtok_u256(d, idx[F_GAS_PRICE], &tx->gas_price));
		tx->has_gas_price = true;
	}
	if (type <= 1) {
		NEED(F_GAS_PRICE);
		tx->max_fee = tx->gas_price;
		tx->max_priority_fee = tx->gas_price;
	} else {
		NEED(F_MAX_FEE);
		NEED(F_MAX_PRIO);
		READ(F_MAX_FEE, jtok_u256(d, idx[F_MAX_FEE], &tx->max_fee));
		READ(F_MAX_PRIO, jtok_u256(d, idx[F_MAX_PRIO], &tx->max_priority_fee));
	}
	return KERR_OK;
}

static kerr_t parse_head(node_parser_t *p, const jtok_doc_t *d,
			 const size_t idx[NFIELDS], event_head_t *h)
{
	NEED(F_NUMBER);
	NEED(F_HASH);
	NEED(F_PARENT_HASH);
	NEED(F_TIMESTAMP);
	READ(F_NUMBER, jtok_u64(d, idx[F_NUMBER], &h->number));
	READ(F_HASH, jtok_fixed(d, idx[F_HASH], h->hash, sizeof h->hash));
	READ(F_PARENT_HASH, jtok_fixed(d, idx[F_PARENT_HASH], h->parent_hash,
				       sizeof h->parent_hash));
	READ(F_TIMESTAMP, jtok_u64(d, idx[F_TIMESTAMP], &h->timestamp));
	if (idx[F_BASE_FEE] != JTOK_NONE) {
		READ(F_BASE_FEE, jtok_u256(d, idx[F_BASE_FEE], &h->base_fee));
		h->has_base_fee = true;
	}
	/* Both or neither: the next base fee needs the pair. */
	if (idx[F_GAS_USED] != JTOK_NONE || idx[F_GAS_LIMIT] != JTOK_NONE) {
		NEED(F_GAS_USED);
		NEED(F_GAS_LIMIT);
		READ(F_GAS_USED, jtok_u64(d, idx[F_GAS_USED], &h->gas_used));
		READ(F_GAS_LIMIT, jtok_u64(d, idx[F_GAS_LIMIT], &h->gas_limit));
		h->has_gas = true;
	}
	return KERR_OK;
}

static kerr_t parse_log(node_parser_t *p, const jtok_doc_t *d,
			const size_t idx[NFIELDS], event_log_t *l)
{
	size_t arr;

	NEED(F_ADDRESS);
	NEED(F_TOPICS);
	NEED(F_DATA);
	NEED(F_BLOCK_NUMBER);
	NEED(F_LOG_INDEX);
	NEED(F_TX_HASH);
	READ(F_ADDRESS, jtok_addr(d, idx[F_ADDRESS], &l->address));
	arr = idx[F_TOPICS];
	if (jtok_type(d, arr) != JTOK_ARRAY)
		return at(p, fields[F_TOPICS].what, KERR_JSON);
	for (size_t t = jtok_first(d, arr); t != JTOK_NONE; t = jtok_after(d, arr, t)) {
		if (l->ntopics == EVENT_LOG_TOPICS)
			return at(p, fields[F_TOPICS].what, KERR_TOO_LONG);
		READ(F_TOPICS, jtok_fixed(d, t, l->topics[l->ntopics], 32));
		l->ntopics++;
	}
	READ(F_DATA, hex_view(d, idx[F_DATA], &l->data));
	READ(F_BLOCK_NUMBER, jtok_u64(d, idx[F_BLOCK_NUMBER], &l->block_number));
	READ(F_LOG_INDEX, jtok_u64(d, idx[F_LOG_INDEX], &l->log_index));
	READ(F_TX_HASH, jtok_fixed(d, idx[F_TX_HASH], l->tx_hash, sizeof l->tx_hash));
	if (idx[F_REMOVED] != JTOK_NONE)
		READ(F_REMOVED, jtok_bool(d, idx[F_REMOVED], &l->removed));
	return KERR_OK;
}

/* Member `name` of obj into *out (JTOK_NONE when absent); KERR_JSON when
 * it occurs twice. */
static kerr_t member(node_parser_t *p, const jtok_doc_t *d, size_t obj,
		     const char *name, const char *what, size_t *out)
{
	return at(p, what, jtok_key_opt(d, obj, name, out));
}

/* The frame whose top-level value is token root of d (already tokenised,
 * within the limits): node_parse_frame's rules from its jtok_parse on. */
static kerr_t frame_tokens(node_parser_t *p, const jtok_doc_t *d, size_t root,
			   node_frame_t *f, event_t *ev)
{
	size_t method, params, sub, res, idx[NFIELDS];
	kerr_t err;

	if (jtok_type(d, root) != JTOK_OBJECT)
		return at(p, "frame", KERR_JSON);

	if ((err = member(p, d, root, "id", "id", &f->id)))
		return err;
	if (f->id != JTOK_NONE) {
		if ((err = member(p, d, root, "result", "result", &f->result)) ||
		    (err = member(p, d, root, "error", "error", &f->error)))
			return err;
		f->kind = NODE_FRAME_REPLY;
		f->id_is_num = jtok_plain_u64(d, f->id, &f->id_num);
		return KERR_OK;
	}

	if ((err = member(p, d, root, "method", "method", &method)) ||
	    (err = member(p, d, root, "params", "params", &params)))
		return err;
	if (method == JTOK_NONE)
		return at(p, "method", KERR_NOT_FOUND);
	if (!jtok_str_eq(d, method, "eth_subscription", 16))
		return at(p, "method", KERR_JSON);
	if (params == JTOK_NONE)
		return at(p, "params", KERR_NOT_FOUND);
	if (jtok_type(d, params) != JTOK_OBJECT)
		return at(p, "params", KERR_JSON);
	if ((err = member(p, d, params, "subscription", "params.subscription", &sub)) ||
	    (err = member(p, d, params, "result", "params.result", &res)))
		return err;
	if (sub == JTOK_NONE)
		return at(p, "params.subscription", KERR_NOT_FOUND);
	if (jtok_type(d, sub) != JTOK_STRING)
		return at(p, "params.subscription", KERR_JSON);
	if (res == JTOK_NONE)
		return at(p, "params.result", KERR_NOT_FOUND);
	f->kind = NODE_FRAME_EVENT;
	f->sub = jtok_text(d, sub);

	memset(ev, 0, sizeof *ev);
	if (jtok_type(d, res) == JTOK_STRING) {
		/* A node that sends pending transactions as hashes only. */
		ev->kind = EV_PENDING_TX;
		return at(p, "params.result", jtok_fixed(d, res, ev->tx.hash,
							 sizeof ev->tx.hash));
	}
	if (jtok_type(d, res) != JTOK_OBJECT)
		return at(p, "params.result", KERR_JSON);
	if ((err = collect(p, d, res, idx)))
		return err;
	if (idx[F_TOPICS] != JTOK_NONE) {
		ev->kind = EV_LOG;
		return parse_log(p, d, idx, &ev->log);
	}
	if (idx[F_PARENT_HASH] != JTOK_NONE) {
		ev->kind = EV_HEAD;
		return parse_head(p, d, idx, &ev->head);
	}
	if (idx[F_FROM] != JTOK_NONE) {
		ev->kind = EV_PENDING_TX;
		return parse_tx(p, d, idx, &ev->tx);
	}
	return at(p, "params.result", KERR_JSON);
}

/* What both entries do before the tokens are looked at. */
static void frame_begin(node_parser_t *p, node_frame_t *f)
{
	p->what = NULL;
	memset(f, 0, sizeof *f);
	f->id = f->result = f->error = JTOK_NONE;
}

kerr_t node_parse_frame(node_parser_t *p, const char *frame, size_t len,
			node_frame_t *f, event_t *ev)
{
	kerr_t err;

	frame_begin(p, f);
	if (len > p->max_frame)
		return at(p, "frame", KERR_TOO_LONG);
	if ((err = jtok_parse(&p->doc, frame, len)))
		return at(p, "frame", err);
	return frame_tokens(p, &p->doc, 0, f, ev);
}

kerr_t node_parse_doc(node_parser_t *p, const jtok_doc_t *d, size_t root,
		      node_frame_t *f, event_t *ev)
{
	frame_begin(p, f);
	if (!d || root >= d->n)
		return at(p, "frame", KERR_ARG);
	/* The limits node_parse_frame's own tokenising would have applied to
	 * this text: its length, and p's token array (a subtree that needs
	 * more tokens than p holds would have been KERR_TOO_LONG). */
	if (jtok_text(d, root).len > p->max_frame ||
	    jtok_skip(d, root) - root > p->doc.cap)
		return at(p, "frame", KERR_TOO_LONG);
	return frame_tokens(p, d, root, f, ev);
}

/*
 * A reply's object: the same fields and readers as a notification's
 * result.  The names at fault lose their "params." (every field's `what`
 * starts with "params.result."), so a log line says "result.gasPrice".
 */
static kerr_t parse_object(node_parser_t *p, const jtok_doc_t *d, size_t obj,
			   event_kind_t kind, event_t *ev)
{
	size_t idx[NFIELDS];
	kerr_t err;

	p->what = NULL;
	memset(ev, 0, sizeof *ev);
	ev->kind = kind;
	if (!d || obj >= d->n || jtok_type(d, obj) != JTOK_OBJECT)
		err = at(p, "params.result", KERR_JSON);
	else if (!(err = collect(p, d, obj, idx)))
		err = kind == EV_LOG ? parse_log(p, d, idx, &ev->log)
				     : parse_tx(p, d, idx, &ev->tx);
	if (err && p->what && strncmp(p->what, "params.", 7) == 0)
		p->what += 7;
	return err;
}

kerr_t node_parse_tx_object(node_parser_t *p, const jtok_doc_t *d, size_t obj,
			    event_t *ev)
{
	return parse_object(p, d, obj, EV_PENDING_TX, ev);
}

kerr_t node_parse_log_object(node_parser_t *p, const jtok_doc_t *d, size_t obj,
			     event_t *ev)
{
	return parse_object(p, d, obj, EV_LOG, ev);
}
