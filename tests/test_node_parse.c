/*
 * test_node_parse: node frames into events.
 *
 * - every frame anvil sent (tests/fixtures/frames/anvil-*.jsonl: acks,
 *   full type-0/1/2 pending transactions, hashes, Prague and Berlin heads,
 *   logs, replies) parses, and every field of every event equals what an
 *   independent reading of the same frame with jansson gives;
 * - known values (transaction hashes as cast printed them, a creation, a
 *   Berlin head without base fee, calldata selectors);
 * - hostile frames built from the real ones: truncated at every byte,
 *   oversized, wrong JSON types, bad hex, overflow, missing and duplicate
 *   members, too many topics, deep nesting, odd envelopes and ids;
 * - objects inside replies (node_parse_tx_object, node_parse_log_object):
 *   every notified transaction and log, put in eth_getTransactionByHash's
 *   and eth_getLogs's shapes, gives the same event; errors name
 *   "result.FIELD".
 */
#include <jansson.h>

#include "keeper/node_parse.h"
#include "signer/hex.h"
#include "tests/test.h"

static char *stream, *berlin, *replies;
static node_parser_t np;

/* The frame in a heap block of exactly its size, so ASan sees over-reads;
 * kept until the next call (events point into it). */
static char *cur;
static size_t cur_len;
static kerr_t parse_n(const char *s, size_t len, node_frame_t *f, event_t *ev)
{
	free(cur);
	cur = malloc(len ? len : 1);
	memcpy(cur, s, len);
	cur_len = len;
	return node_parse_frame(&np, cur, len, f, ev);
}

static kerr_t parse_line(const char *buf, int n, node_frame_t *f, event_t *ev)
{
	size_t len = 0;
	const char *l = t_line_of(buf, n, &len);
	CHECK(l != NULL);
	return parse_n(l ? l : "", len, f, ev);
}

/* Line n of buf with the first `from` replaced by `to`, then parsed. */
static kerr_t parse_subst(const char *buf, int n, const char *from, const char *to,
			  node_frame_t *f, event_t *ev)
{
	size_t len = 0, fl = strlen(from), tl = strlen(to);
	const char *l = t_line_of(buf, n, &len), *at;
	char *m;
	kerr_t err;

	at = l ? strstr(l, from) : NULL;
	CHECK_MSG(at != NULL && at < l + len, "\"%s\" not in line %d", from, n);
	if (!at)
		return KERR_ARG;
	m = malloc(len - fl + tl);
	memcpy(m, l, (size_t)(at - l));
	memcpy(m + (at - l), to, tl);
	memcpy(m + (at - l) + tl, at + fl, len - (size_t)(at - l) - fl);
	err = parse_n(m, len - fl + tl, f, ev);
	free(m);
	return err;
}

static void want_hex32(const uint8_t got[32], json_t *s)
{
	uint8_t w[32];
	CHECK(json_is_string(s));
	if (!json_is_string(s))
		return;
	CHECK_OK(hex_decode_exact(w, 32, json_string_value(s), json_string_length(s)));
	CHECK_EQ_MEM(got, w, 32);
}

static void want_u256(const u256_t *got, json_t *s)
{
	u256_t w;
	CHECK(json_is_string(s));
	if (!json_is_string(s))
		return;
	CHECK_OK(u256_from_hex(&w, json_string_value(s), json_string_length(s)));
	CHECK(u256_cmp(got, &w) == 0);
}

static void want_u64(uint64_t got, json_t *s)
{
	u256_t w;
	uint64_t x = 0;
	CHECK(json_is_string(s));
	if (!json_is_string(s))
		return;
	CHECK_OK(u256_from_hex(&w, json_string_value(s), json_string_length(s)));
	CHECK(u256_to_u64(&w, &x));
	CHECK(got == x);
}

static void want_addr(const addr_t *got, json_t *s)
{
	addr_t w;
	CHECK(json_is_string(s));
	if (!json_is_string(s))
		return;
	CHECK_OK(addr_parse(&w, json_string_value(s), json_string_length(s)));
	CHECK(addr_eq(got, &w));
}

static void want_view(const event_hex_t *got, json_t *s)
{
	CHECK(json_is_string(s));
	if (!json_is_string(s))
		return;
	CHECK(got->len == json_string_length(s) && memcmp(got->p, json_string_value(s), got->len) == 0);
}

/* Every field of ev against jansson's reading of the same frame. */
static void cross_check(const char *frame, size_t len, const node_frame_t *f, const event_t *ev)
{
	json_error_t jerr;
	json_t *j = json_loadb(frame, len, 0, &jerr), *r;

	CHECK(j != NULL);
	if (!j)
		return;
	if (json_object_get(j, "id")) {
		CHECK_EQ_INT(f->kind, NODE_FRAME_REPLY);
		CHECK_EQ_INT(f->result != JTOK_NONE, json_object_get(j, "result") != NULL);
		CHECK_EQ_INT(f->error != JTOK_NONE, json_object_get(j, "error") != NULL);
		if (json_is_integer(json_object_get(j, "id")))
			CHECK(f->id_is_num && f->id_num == (uint64_t)json_integer_value(json_object_get(j, "id")));
		json_decref(j);
		return;
	}
	CHECK_EQ_INT(f->kind, NODE_FRAME_EVENT);
	r = json_object_get(json_object_get(j, "params"), "result");
	CHECK(f->sub.len == json_string_length(json_object_get(json_object_get(j, "params"), "subscription")));
	switch (ev->kind) {
	case EV_PENDING_TX: {
		const event_tx_t *t = &ev->tx;
		json_t *type;
		if (json_is_string(r)) {
			CHECK(!t->full);
			want_hex32(t->hash, r);
			break;
		}
		CHECK(t->full);
		want_hex32(t->hash, json_object_get(r, "hash"));
		want_addr(&t->from, json_object_get(r, "from"));
		CHECK_EQ_INT(t->has_to, !json_is_null(json_object_get(r, "to")));
		if (t->has_to)
			want_addr(&t->to, json_object_get(r, "to"));
		want_u256(&t->value, json_object_get(r, "value"));
		want_view(&t->input, json_object_get(r, "input"));
		want_u64(t->nonce, json_object_get(r, "nonce"));
		want_u64(t->gas, json_object_get(r, "gas"));
		type = json_object_get(r, "type");
		want_u64(t->type, type);
		if (t->type <= 1) {
			want_u256(&t->gas_price, json_object_get(r, "gasPrice"));
			want_u256(&t->max_fee, json_object_get(r, "gasPrice"));
			want_u256(&t->max_priority_fee, json_object_get(r, "gasPrice"));
		} else {
			want_u256(&t->max_fee, json_object_get(r, "maxFeePerGas"));
			want_u256(&t->max_priority_fee, json_object_get(r, "maxPriorityFeePerGas"));
		}
		CHECK_EQ_INT(t->has_gas_price, json_object_get(r, "gasPrice") != NULL);
		break;
	}
	case EV_HEAD:
		want_u64(ev->head.number, json_object_get(r, "number"));
		want_hex32(ev->head.hash, json_object_get(r, "hash"));
		want_hex32(ev->head.parent_hash, json_object_get(r, "parentHash"));
		want_u64(ev->head.timestamp, json_object_get(r, "timestamp"));
		CHECK_EQ_INT(ev->head.has_base_fee, json_object_get(r, "baseFeePerGas") != NULL);
		if (ev->head.has_base_fee)
			want_u256(&ev->head.base_fee, json_object_get(r, "baseFeePerGas"));
		CHECK_EQ_INT(ev->head.has_gas, json_object_get(r, "gasUsed") != NULL);
		if (ev->head.has_gas) {
			want_u64(ev->head.gas_used, json_object_get(r, "gasUsed"));
			want_u64(ev->head.gas_limit, json_object_get(r, "gasLimit"));
		}
		break;
	case EV_LOG: {
		json_t *topics = json_object_get(r, "topics");
		want_addr(&ev->log.address, json_object_get(r, "address"));
		CHECK_EQ_INT(ev->log.ntopics, json_array_size(topics));
		for (size_t k = 0; k < ev->log.ntopics; k++)
			want_hex32(ev->log.topics[k], json_array_get(topics, k));
		want_view(&ev->log.data, json_object_get(r, "data"));
		want_u64(ev->log.block_number, json_object_get(r, "blockNumber"));
		want_u64(ev->log.log_index, json_object_get(r, "logIndex"));
		want_hex32(ev->log.tx_hash, json_object_get(r, "transactionHash"));
		CHECK_EQ_INT(ev->log.removed, json_is_true(json_object_get(r, "removed")));
		break;
	}
	default:
		CHECK_MSG(0, "unexpected event kind %d", ev->kind);
	}
	json_decref(j);
}

static void test_all_frames(void)
{
	static const struct {
		char **buf;
		const char *name;
		int replies, txs, hashes, heads, logs;
	} files[] = {
		{ &stream, "anvil-stream", 4, 6, 6, 6, 4 },
		{ &berlin, "anvil-berlin", 4, 1, 1, 1, 0 },
		{ &replies, "anvil-replies", 2, 0, 0, 0, 0 },
	};
	for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
		int n, rep = 0, tx = 0, hash = 0, head = 0, log = 0;
		size_t len;
		const char *l;
		for (n = 1; (l = t_line_of(*files[k].buf, n, &len)); n++) {
			node_frame_t f;
			event_t ev;
			kerr_t err = parse_n(l, len, &f, &ev);
			CHECK_MSG(err == KERR_OK, "%s:%d: %s at %s", files[k].name, n,
				  kerr_name(err), np.what ? np.what : "?");
			if (err)
				continue;
			cross_check(cur, cur_len, &f, &ev);
			if (f.kind == NODE_FRAME_REPLY)
				rep++;
			else if (ev.kind == EV_PENDING_TX)
				*(ev.tx.full ? &tx : &hash) += 1;
			else if (ev.kind == EV_HEAD)
				head++;
			else if (ev.kind == EV_LOG)
				log++;
		}
		CHECK_EQ_INT(rep, files[k].replies);
		CHECK_EQ_INT(tx, files[k].txs);
		CHECK_EQ_INT(hash, files[k].hashes);
		CHECK_EQ_INT(head, files[k].heads);
		CHECK_EQ_INT(log, files[k].logs);
		printf("    %s: %d frames: %d replies, %d txs, %d hashes, %d heads, %d logs\n",
		       files[k].name, n - 1, rep, tx, hash, head, log);
	}
}

static void hex32(uint8_t out[32], const char *s)
{
	CHECK_OK(hex_decode_exact(out, 32, s, strlen(s)));
}

static void test_known_legacy(void)
{
	node_frame_t f;
	event_t ev;
	uint8_t h[32];
	addr_t a;

	CHECK_OK(parse_line(stream, 5, &f, &ev));
	CHECK_EQ_INT(f.kind, NODE_FRAME_EVENT);
	CHECK_EQ_INT(ev.kind, EV_PENDING_TX);
	CHECK(f.sub.len == 34 && memcmp(f.sub.p, "0x594e3132", 10) == 0);
	/* The hash `cast send` printed for this transaction. */
	hex32(h, "0xc9b621cebb888165b37a29696b9265ba170ec5efb31004ebf41bf55a442b633b");
	CHECK_EQ_MEM(ev.tx.hash, h, 32);
	CHECK_OK(addr_parse(&a, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", 42));
	CHECK(addr_eq(&ev.tx.from, &a));
	CHECK_OK(addr_parse(&a, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 42));
	CHECK(ev.tx.has_to && addr_eq(&ev.tx.to, &a));
	CHECK(ev.tx.value.w[0] == 1000000000000000000ull);   /* --value 1ether */
	CHECK_EQ_INT(ev.tx.type, 0);
	CHECK_EQ_INT(ev.tx.nonce, 1);
	CHECK_EQ_INT(ev.tx.gas, 21000);
	CHECK(ev.tx.has_gas_price && ev.tx.gas_price.w[0] == 0x6fc4e658);
	CHECK(u256_cmp(&ev.tx.max_fee, &ev.tx.gas_price) == 0);
	CHECK(u256_cmp(&ev.tx.max_priority_fee, &ev.tx.gas_price) == 0);
	CHECK_EQ_INT(event_hex_nbytes(&ev.tx.input), 0);
	{
		uint8_t sel[4];
		CHECK_ERR(event_hex_selector(&ev.tx.input, sel), KERR_TRUNCATED);
	}

	/* A type-1 transaction (anvil --hardfork berlin, --legacy --access-list). */
	CHECK_OK(parse_line(berlin, 7, &f, &ev));
	CHECK_EQ_INT(ev.kind, EV_PENDING_TX);
	CHECK_EQ_INT(ev.tx.type, 1);
	CHECK(ev.tx.gas_price.w[0] == 0x6fc23ac0 && ev.tx.max_fee.w[0] == 0x6fc23ac0);
	CHECK(ev.tx.value.w[0] == 1);
	hex32(h, "0xdd864b6ab9c117d73f43ba5471edee6a1f6574da593b48d303712dbc0c1a0e62");
	CHECK_EQ_MEM(ev.tx.hash, h, 32);
}

static void test_known_1559(void)
{
	static const char initcode[] = "0x602e80600b6000396000f336600060003730337f"
		"ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef366000a300";
	node_frame_t f;
	event_t ev;
	uint8_t buf[256], sel[4], h[32];
	size_t n;

	/* Contract creation: "to": null. */
	CHECK_OK(parse_line(stream, 9, &f, &ev));
	CHECK(ev.tx.full && !ev.tx.has_to);
	CHECK_EQ_INT(ev.tx.type, 2);
	CHECK_EQ_INT(ev.tx.nonce, 2);
	CHECK(ev.tx.max_fee.w[0] == 0xa3ef02b0);
	CHECK(ev.tx.max_priority_fee.w[0] == 1000000000);   /* 1 gwei tip */
	CHECK(ev.tx.has_gas_price && ev.tx.gas_price.w[0] == 0x6941f911);
	CHECK(ev.tx.input.len == sizeof initcode - 1 &&
	      memcmp(ev.tx.input.p, initcode, sizeof initcode - 1) == 0);
	CHECK_OK(event_hex_decode(&ev.tx.input, buf, sizeof buf, &n));
	CHECK_EQ_INT(n, 57);
	CHECK_EQ_INT(event_hex_nbytes(&ev.tx.input), 57);
	hex32(h, "0x4f4288287668bc555aeb907a43305c7dd54f960b96db42b6165639d53664515c");
	CHECK_EQ_MEM(ev.tx.hash, h, 32);

	/* transfer(address,uint256) calldata: selector a9059cbb, 68 bytes. */
	CHECK_OK(parse_line(stream, 12, &f, &ev));
	CHECK_OK(event_hex_selector(&ev.tx.input, sel));
	CHECK_EQ_MEM(sel, "\xa9\x05\x9c\xbb", 4);
	CHECK_EQ_INT(event_hex_nbytes(&ev.tx.input), 68);
	CHECK_ERR(event_hex_decode(&ev.tx.input, buf, 67, &n), KERR_TOO_LONG);
	CHECK_OK(event_hex_decode(&ev.tx.input, buf, sizeof buf, &n));
	CHECK(buf[4 + 31] == 0xc8 && buf[67] == 0x00);

	/* --priority-gas-price 2gwei --gas-price 30gwei */
	CHECK_OK(parse_line(stream, 17, &f, &ev));
	CHECK(ev.tx.max_fee.w[0] == 30000000000ull);
	CHECK(ev.tx.max_priority_fee.w[0] == 2000000000ull);
	CHECK_OK(event_hex_selector(&ev.tx.input, sel));
	CHECK_EQ_MEM(sel, "\xac\x96\x50\xd8", 4);   /* multicall(bytes[]) */

	/* Hash-only notification. */
	CHECK_OK(parse_line(stream, 6, &f, &ev));
	CHECK(ev.kind == EV_PENDING_TX && !ev.tx.full && !ev.tx.has_to);
	hex32(h, "0xc9b621cebb888165b37a29696b9265ba170ec5efb31004ebf41bf55a442b633b");
	CHECK_EQ_MEM(ev.tx.hash, h, 32);
}

static void test_known_heads_logs(void)
{
	node_frame_t f;
	event_t ev;
	uint8_t h[32];
	addr_t a;

	CHECK_OK(parse_line(stream, 7, &f, &ev));
	CHECK_EQ_INT(ev.kind, EV_HEAD);
	CHECK_EQ_INT(ev.head.number, 2);
	CHECK(ev.head.timestamp == 0x6b015f07);   /* seconds, as in the header */
	CHECK(ev.head.has_base_fee && ev.head.base_fee.w[0] == 0x342a1c58);
	hex32(h, "0xfcae5d99d7af401ff34b7f9a3091439a03a7212702c83f8c674a5289662563cc");
	CHECK_EQ_MEM(ev.head.hash, h, 32);
	hex32(h, "0x8bfa7b369e571fcadb94f50febad98ab064334773c358f03e7581b347eb826e4");
	CHECK_EQ_MEM(ev.head.parent_hash, h, 32);

	/* Pre-London: no baseFeePerGas. */
	CHECK_OK(parse_line(berlin, 6, &f, &ev));
	CHECK_EQ_INT(ev.kind, EV_HEAD);
	CHECK_EQ_INT(ev.head.number, 1);
	CHECK(!ev.head.has_base_fee && u256_is_zero(&ev.head.base_fee));

	CHECK_OK(parse_line(stream, 14, &f, &ev));
	CHECK_EQ_INT(ev.kind, EV_LOG);
	CHECK_OK(addr_parse(&a, "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0", 42));
	CHECK(addr_eq(&ev.log.address, &a));
	CHECK_EQ_INT(ev.log.ntopics, 3);
	hex32(h, "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
	CHECK_EQ_MEM(ev.log.topics[0], h, 32);
	CHECK_EQ_MEM(ev.log.topics[1] + 12, "\xf3\x9f\xd6\xe5", 4);
	CHECK_EQ_INT(ev.log.block_number, 4);
	CHECK_EQ_INT(ev.log.log_index, 0);
	CHECK(!ev.log.removed);
	CHECK_EQ_INT(event_hex_nbytes(&ev.log.data), 68);
	hex32(h, "0x0111176c61ad98124dff840c86330b11f2f679ea0a3823aed0db3ed02d29923f");
	CHECK_EQ_MEM(ev.log.tx_hash, h, 32);

	/* A reorg's removal (anvil_reorg emits none, so the flag is flipped). */
	CHECK_OK(parse_subst(stream, 14, "\"removed\":false", "\"removed\":true", &f, &ev));
	CHECK(ev.kind == EV_LOG && ev.log.removed);
	CHECK_OK(parse_subst(stream, 14, ",\"removed\":false", "", &f, &ev));
	CHECK(ev.kind == EV_LOG && !ev.log.removed);
	/* Zero topics (LOG0). */
	CHECK_OK(parse_subst(stream, 21, "\"topics\":[\"0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef\","
			     "\"0x000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266\","
			     "\"0x0000000000000000000000009fe46736679d2d9a65f0992f2272de9f3c7fa6e0\"]",
			     "\"topics\":[]", &f, &ev));
	CHECK(ev.kind == EV_LOG && ev.log.ntopics == 0);
}

static void test_replies(void)
{
	node_frame_t f;
	event_t ev;

	CHECK_OK(parse_line(stream, 1, &f, &ev));
	CHECK_EQ_INT(f.kind, NODE_FRAME_REPLY);
	CHECK(f.id_is_num && f.id_num == 1);
	CHECK(f.result != JTOK_NONE && f.error == JTOK_NONE);
	CHECK_EQ_INT(jtok_type(&np.doc, f.result), JTOK_STRING);   /* the subscription id */
	CHECK_EQ_INT(jtok_text(&np.doc, f.result).len, 34);

	CHECK_OK(parse_line(replies, 1, &f, &ev));   /* "id":"abc" */
	CHECK_EQ_INT(f.kind, NODE_FRAME_REPLY);
	CHECK(!f.id_is_num);
	CHECK(jtok_str_eq(&np.doc, f.id, "abc", 3));
	CHECK(jtok_str_eq(&np.doc, f.result, "0x7", 3));

	CHECK_OK(parse_line(replies, 2, &f, &ev));   /* an error reply */
	CHECK(f.id_is_num && f.id_num == 7);
	CHECK(f.result == JTOK_NONE && f.error != JTOK_NONE);
	{
		size_t code;
		int64_t c;
		CHECK_OK(jtok_key(&np.doc, f.error, "code", 4, &code));
		CHECK_OK(jtok_int64(&np.doc, code, &c));
		CHECK(c == -32602);
	}

	/* Ids: numbers up to 2^64-1; anything else is kept as text. */
	CHECK_OK(parse_subst(replies, 2, "\"id\":7", "\"id\":18446744073709551615", &f, &ev));
	CHECK(f.id_is_num && f.id_num == UINT64_MAX);
	CHECK_OK(parse_subst(replies, 2, "\"id\":7", "\"id\":18446744073709551616", &f, &ev));
	CHECK(f.kind == NODE_FRAME_REPLY && !f.id_is_num);
	CHECK_OK(parse_subst(replies, 2, "\"id\":7", "\"id\":1e400", &f, &ev));
	CHECK(f.kind == NODE_FRAME_REPLY && !f.id_is_num);
	CHECK_OK(parse_subst(replies, 2, "\"id\":7", "\"id\":-1", &f, &ev));
	CHECK(!f.id_is_num);
	CHECK_OK(parse_subst(replies, 2, "\"id\":7", "\"id\":null", &f, &ev));
	CHECK(f.kind == NODE_FRAME_REPLY && !f.id_is_num);
	CHECK_ERR(parse_subst(replies, 2, "\"id\":7", "\"id\":7,\"id\":8", &f, &ev), KERR_JSON);
	CHECK_EQ_STR(np.what, "id");
}

/* Every proper prefix of real frames: an error, never a crash. */
static void test_truncated(void)
{
	static const int lines[] = { 5, 6, 7, 14, 25 };
	int total = 0;
	for (size_t k = 0; k < sizeof lines / sizeof *lines; k++) {
		size_t len;
		const char *l = t_line_of(stream, lines[k], &len);
		for (size_t cut = 0; l && cut < len; cut++) {
			node_frame_t f;
			event_t ev;
			kerr_t err = parse_n(l, cut, &f, &ev);
			if (err != KERR_TRUNCATED)
				CHECK_MSG(0, "line %d cut %zu: %s", lines[k], cut, kerr_name(err));
			total++;
		}
	}
	printf("    %d truncated frames refused\n", total);
}

static void test_oversized(void)
{
	node_frame_t f;
	event_t ev;
	size_t len = 0;
	const char *l = t_line_of(stream, 17, &len);
	node_parser_t small;
	char *big;

	CHECK(l != NULL);
	if (!l)
		return;

	/* A limit of exactly the frame's size passes; one byte less does not. */
	CHECK_OK(node_parse_init(&small, len));
	CHECK_OK(node_parse_frame(&small, l, len, &f, &ev));
	node_parse_release(&small);
	CHECK_OK(node_parse_init(&small, len - 1));
	CHECK_ERR(node_parse_frame(&small, l, len, &f, &ev), KERR_TOO_LONG);
	CHECK_EQ_STR(small.what, "frame");
	node_parse_release(&small);

	/* The default 1 MiB limit: a valid frame padded to 1 MiB + 1 byte. */
	big = malloc(NODE_PARSE_FRAME_DEFAULT + 1);
	memcpy(big, l, len);
	memset(big + len, ' ', NODE_PARSE_FRAME_DEFAULT + 1 - len);
	CHECK_ERR(node_parse_frame(&np, big, NODE_PARSE_FRAME_DEFAULT + 1, &f, &ev), KERR_TOO_LONG);
	CHECK_OK(node_parse_frame(&np, big, NODE_PARSE_FRAME_DEFAULT, &f, &ev));
	/* A 1 MiB array of tiny values runs out of tokens, not memory. */
	big[0] = '[';
	for (size_t i = 1; i + 1 < NODE_PARSE_FRAME_DEFAULT; i += 2)
		big[i] = '0', big[i + 1] = ',';
	big[NODE_PARSE_FRAME_DEFAULT - 1] = ']';
	big[NODE_PARSE_FRAME_DEFAULT - 2] = '0';
	CHECK_ERR(node_parse_frame(&np, big, NODE_PARSE_FRAME_DEFAULT, &f, &ev), KERR_TOO_LONG);
	free(big);

	CHECK_ERR(node_parse_init(&small, NODE_PARSE_FRAME_HARD + 1), KERR_ARG);
	CHECK_OK(node_parse_init(&small, 0));
	CHECK_EQ_INT(small.max_frame, NODE_PARSE_FRAME_DEFAULT);
	node_parse_release(&small);
}

/* A substitution in line n gives err, blamed on `what`. */
#define BAD(buf, n, from, to, err, what_) do { \
	node_frame_t f_; event_t ev_; \
	CHECK_ERR(parse_subst(buf, n, from, to, &f_, &ev_), err); \
	CHECK_EQ_STR(np.what, what_); } while (0)

static void test_wrong_types(void)
{
	BAD(stream, 5, "\"nonce\":\"0x1\"", "\"nonce\":1", KERR_JSON, "params.result.nonce");
	BAD(stream, 5, "\"to\":\"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\"", "\"to\":5",
	    KERR_JSON, "params.result.to");
	BAD(stream, 5, "\"value\":\"0xde0b6b3a7640000\"", "\"value\":null", KERR_JSON,
	    "params.result.value");
	BAD(stream, 5, "\"input\":\"0x\"", "\"input\":[]", KERR_JSON, "params.result.input");
	BAD(stream, 5, "\"hash\":\"0x", "\"hash\":{\"x\":\"0x\"},\"h\":\"0x", KERR_JSON,
	    "params.result.hash");
	BAD(stream, 14, "\"topics\":[", "\"topics\":\"\",\"t\":[", KERR_JSON, "params.result.topics");
	BAD(stream, 14, "\"topics\":[\"0x", "\"topics\":[1,\"0x", KERR_JSON, "params.result.topics");
	BAD(stream, 14, "\"removed\":false", "\"removed\":\"false\"", KERR_JSON, "params.result.removed");
	BAD(stream, 7, "\"number\":\"0x2\"", "\"number\":2", KERR_JSON, "params.result.number");
	BAD(stream, 6, "\"result\":\"0x", "\"result\":[\"0x", KERR_JSON, "frame");
	BAD(stream, 6, "\"result\":\"", "\"result\":7,\"r\":\"", KERR_JSON, "params.result");
	BAD(stream, 5, "\"params\":{", "\"params\":[],\"p\":{", KERR_JSON, "params");
	BAD(stream, 5, "\"subscription\":\"0x", "\"subscription\":7,\"s\":\"0x", KERR_JSON,
	    "params.subscription");
	BAD(stream, 5, "eth_subscription", "eth_subscriptio", KERR_JSON, "method");
	BAD(stream, 5, "\"method\"", "\"m\"", KERR_NOT_FOUND, "method");
	BAD(stream, 5, "\"params\"", "\"p\"", KERR_NOT_FOUND, "params");
	BAD(stream, 5, "\"subscription\"", "\"s\"", KERR_NOT_FOUND, "params.subscription");
	/* An object of no known shape. */
	BAD(stream, 5, "\"from\"", "\"frm\"", KERR_JSON, "params.result");
	/* A top-level scalar. */
	{
		node_frame_t f;
		event_t ev;
		CHECK_ERR(parse_n("\"eth_subscription\"", 18, &f, &ev), KERR_JSON);
		CHECK_EQ_STR(np.what, "frame");
		CHECK_ERR(parse_n("[{\"id\":1}]", 10, &f, &ev), KERR_JSON);
		CHECK_EQ_STR(np.what, "frame");
		CHECK_ERR(parse_n("", 0, &f, &ev), KERR_TRUNCATED);
	}
}

static void test_bad_hex(void)
{
	BAD(stream, 5, "\"nonce\":\"0x1\"", "\"nonce\":\"0x10000000000000000\"", KERR_NUM_OVERFLOW,
	    "params.result.nonce");
	BAD(stream, 5, "\"gas\":\"0x5208\"", "\"gas\":\"0x\"", KERR_NUM_EMPTY, "params.result.gas");
	BAD(stream, 5, "\"gas\":\"0x5208\"", "\"gas\":\"5208\"", KERR_HEX_PREFIX, "params.result.gas");
	BAD(stream, 5, "\"gas\":\"0x5208\"", "\"gas\":\"0x52x8\"", KERR_HEX_CHAR, "params.result.gas");
	BAD(stream, 5, "\"value\":\"0xde0b6b3a7640000\"",
	    "\"value\":\"0x10000000000000000000000000000000000000000000000000000000000000000\"",
	    KERR_NUM_OVERFLOW, "params.result.value");
	BAD(stream, 5, "\"gasPrice\":\"0x6fc4e658\"", "\"gasPrice\":\"0x6fc4e65g\"", KERR_HEX_CHAR,
	    "params.result.gasPrice");
	/* Hash one digit short; odd calldata; calldata without 0x. */
	BAD(stream, 5, "\"hash\":\"0xc9b621ce", "\"hash\":\"0xc9b621c", KERR_HEX_LENGTH,
	    "params.result.hash");
	BAD(stream, 12, "\"input\":\"0xa9059cbb", "\"input\":\"0xa9059cb", KERR_HEX_ODD,
	    "params.result.input");
	BAD(stream, 12, "\"input\":\"0xa9059cbb", "\"input\":\"a9059cbb00", KERR_HEX_PREFIX,
	    "params.result.input");
	/* Mixed case that is no EIP-55 checksum. */
	BAD(stream, 5, "\"from\":\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\"",
	    "\"from\":\"0xF39fd6e51aad88f6f4ce6ab8827279cfffb92266\"", KERR_ADDR_CHECKSUM,
	    "params.result.from");
	BAD(stream, 5, "\"from\":\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\"",
	    "\"from\":\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb922\"", KERR_ADDR_LENGTH,
	    "params.result.from");
	/* Escaped hex is refused, not decoded. */
	BAD(stream, 5, "\"nonce\":\"0x1\"", "\"nonce\":\"0x\\u0031\"", KERR_JSON, "params.result.nonce");
	BAD(stream, 5, "\"type\":\"0x0\"", "\"type\":\"0x80\"", KERR_TX_TYPE, "params.result.type");
	BAD(stream, 6, "\"result\":\"0xc9b6", "\"result\":\"0xc9b", KERR_HEX_LENGTH, "params.result");
	BAD(stream, 7, "\"baseFeePerGas\":\"0x", "\"baseFeePerGas\":\"0xq", KERR_HEX_CHAR,
	    "params.result.baseFeePerGas");
	BAD(stream, 14, "\"logIndex\":\"0x0\"", "\"logIndex\":\"0x1ffffffffffffffff\"",
	    KERR_NUM_OVERFLOW, "params.result.logIndex");
}

static void test_missing_and_duplicates(void)
{
	node_frame_t f;
	event_t ev;

	BAD(stream, 5, "\"gas\":\"0x5208\",", "", KERR_NOT_FOUND, "params.result.gas");
	BAD(stream, 5, "\"gasPrice\":\"0x6fc4e658\",", "", KERR_NOT_FOUND, "params.result.gasPrice");
	BAD(stream, 5, "\"to\":\"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\",", "", KERR_NOT_FOUND,
	    "params.result.to");
	BAD(stream, 12, "\"maxPriorityFeePerGas\":\"0x3b9aca00\",", "", KERR_NOT_FOUND,
	    "params.result.maxPriorityFeePerGas");
	BAD(stream, 12, "\"maxFeePerGas\":\"0x96e92822\",", "", KERR_NOT_FOUND,
	    "params.result.maxFeePerGas");
	BAD(stream, 7, "\"timestamp\":\"0x6b015f07\",", "", KERR_NOT_FOUND, "params.result.timestamp");
	/* gasUsed without gasLimit (or the reverse) cannot give a next base fee. */
	BAD(stream, 7, "\"gasLimit\":\"0x1c9c380\",", "", KERR_NOT_FOUND, "params.result.gasLimit");
	BAD(stream, 7, "\"gasUsed\":\"0x5208\",", "", KERR_NOT_FOUND, "params.result.gasUsed");
	BAD(stream, 14, "\"logIndex\":\"0x0\",", "", KERR_NOT_FOUND, "params.result.logIndex");
	/* A type-2 transaction without gasPrice is fine (it is not signed). */
	CHECK_OK(parse_subst(stream, 12, ",\"gasPrice\":\"0x639337ca\"", "", &f, &ev));
	CHECK(ev.tx.full && !ev.tx.has_gas_price);
	/* Without "type": legacy. */
	CHECK_OK(parse_subst(stream, 5, "\"type\":\"0x0\",", "", &f, &ev));
	CHECK(ev.tx.full && ev.tx.type == 0);

	/* Duplicates of a field we read: refused, also when spelt with an escape. */
	BAD(stream, 5, "\"to\":", "\"to\":\"0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0\",\"to\":",
	    KERR_JSON, "params.result.to");
	BAD(stream, 5, "\"to\":", "\"t\\u006f\":\"0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0\",\"to\":",
	    KERR_JSON, "params.result.to");
	BAD(stream, 5, "\"method\":", "\"method\":\"x\",\"method\":", KERR_JSON, "method");
	BAD(stream, 5, "\"result\":", "\"result\":null,\"result\":", KERR_JSON, "params.result");
	/* Duplicates of fields nobody reads are harmless. */
	CHECK_OK(parse_subst(stream, 5, "\"r\":", "\"r\":\"0x1\",\"r\":", &f, &ev));
	CHECK(ev.tx.full);
	/* An escaped key that unescapes to a field is that field. */
	CHECK_OK(parse_subst(stream, 5, "\"nonce\":", "\"n\\u006fnce\":", &f, &ev));
	CHECK_EQ_INT(ev.tx.nonce, 1);
	/* Unicode elsewhere in the frame is fine. */
	CHECK_OK(parse_subst(stream, 5, "\"jsonrpc\":\"2.0\"",
			     "\"jsonrpc\":\"2.0\",\"note\":\"\\u00e9\xc3\xa9\\ud83d\\ude00\"", &f, &ev));
}

static void test_limits_in_frames(void)
{
	node_frame_t f;
	event_t ev;
	static char deep[64 * 2 + 32];
	size_t n = 0;

	/* Five topics: no EVM log has more than four. */
	BAD(stream, 14, "\"topics\":[", "\"topics\":[\"0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef\","
	    "\"0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef\",",
	    KERR_TOO_LONG, "params.result.topics");
	/* Deep nesting inside an ignored member. */
	memcpy(deep, "\"accessList\":", 13);
	n = 13;
	for (int k = 0; k < JTOK_MAX_DEPTH; k++)
		deep[n++] = '[';
	for (int k = 0; k < JTOK_MAX_DEPTH; k++)
		deep[n++] = ']';
	deep[n] = 0;
	BAD(stream, 25, "\"accessList\":", deep, KERR_TOO_LONG, "frame");
	/* Huge numbers where hex is expected are wrong types, not overflows. */
	BAD(stream, 5, "\"nonce\":\"0x1\"", "\"nonce\":1e99999", KERR_JSON, "params.result.nonce");
	/* A huge number in an ignored member is only text. */
	CHECK_OK(parse_subst(stream, 5, "\"v\":\"0xf4f5\"",
			     "\"v\":123456789012345678901234567890123456789012345678901234567890e999999", &f, &ev));
}

/* ---- objects inside replies (node_parse_tx_object, node_parse_log_object) */

static bool same_view(const event_hex_t *a, const char *b, size_t blen)
{
	return a->len == blen && memcmp(a->p, b, blen) == 0;
}

/*
 * Every full transaction and every log anvil notified, put as the result of
 * a reply (eth_getTransactionByHash's shape) and, for logs, as elements of
 * one result array (eth_getLogs's shape), gives the same event as the
 * notification did.
 */
static void test_reply_objects(void)
{
	char logs_arr[65536];
	size_t arr_len = 1, len;
	int n, ntx = 0, nlog = 0;
	event_t want_logs[8];
	static char want_data[8][16384];
	size_t want_data_len[8];
	const char *l;

	logs_arr[0] = '[';
	for (n = 1; (l = t_line_of(stream, n, &len)); n++) {
		node_frame_t f, rf;
		event_t ev, got;
		size_t res;
		jtok_view_t v;
		char reply[16384], view[4096];
		size_t vlen;
		int rl;

		if (parse_n(l, len, &f, &ev) != KERR_OK || f.kind != NODE_FRAME_EVENT)
			continue;
		if (ev.kind == EV_HEAD || (ev.kind == EV_PENDING_TX && !ev.tx.full))
			continue;
		CHECK_OK(jtok_path(&np.doc, 0, "params.result", 13, &res));
		v = jtok_text(&np.doc, res);
		if (ev.kind == EV_LOG) {
			CHECK(nlog < 8 && arr_len + v.len + 2 < sizeof logs_arr);
			if (nlog >= 8 || arr_len + v.len + 2 >= sizeof logs_arr)
				continue;
			if (nlog)
				logs_arr[arr_len++] = ',';
			memcpy(logs_arr + arr_len, v.p, v.len);
			arr_len += v.len;
			want_logs[nlog] = ev;
			want_data_len[nlog] = ev.log.data.len < sizeof want_data[0] ?
					      ev.log.data.len : sizeof want_data[0];
			memcpy(want_data[nlog], ev.log.data.p, want_data_len[nlog]);
			nlog++;
			continue;
		}
		/* A transaction: the input as notified, then the reply. */
		vlen = ev.tx.input.len < sizeof view ? ev.tx.input.len : sizeof view;
		memcpy(view, ev.tx.input.p, vlen);
		rl = snprintf(reply, sizeof reply, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":%.*s}",
			      (int)v.len, v.p);
		CHECK(rl > 0 && (size_t)rl < sizeof reply);
		if (rl <= 0 || (size_t)rl >= sizeof reply)
			continue;
		CHECK_OK(parse_n(reply, (size_t)rl, &rf, &got));
		CHECK_EQ_INT(rf.kind, NODE_FRAME_REPLY);
		CHECK_OK(node_parse_tx_object(&np, &np.doc, rf.result, &got));
		CHECK_EQ_INT(got.kind, EV_PENDING_TX);
		CHECK(got.tx.full);
		CHECK_EQ_MEM(got.tx.hash, ev.tx.hash, 32);
		CHECK(addr_eq(&got.tx.from, &ev.tx.from));
		CHECK_EQ_INT(got.tx.has_to, ev.tx.has_to);
		CHECK(addr_eq(&got.tx.to, &ev.tx.to));
		CHECK(u256_cmp(&got.tx.value, &ev.tx.value) == 0);
		CHECK_EQ_INT(got.tx.nonce, ev.tx.nonce);
		CHECK_EQ_INT(got.tx.gas, ev.tx.gas);
		CHECK_EQ_INT(got.tx.type, ev.tx.type);
		CHECK_EQ_INT(got.tx.has_gas_price, ev.tx.has_gas_price);
		CHECK(u256_cmp(&got.tx.gas_price, &ev.tx.gas_price) == 0);
		CHECK(u256_cmp(&got.tx.max_fee, &ev.tx.max_fee) == 0);
		CHECK(u256_cmp(&got.tx.max_priority_fee, &ev.tx.max_priority_fee) == 0);
		CHECK(same_view(&got.tx.input, view, vlen));
		ntx++;
	}
	logs_arr[arr_len++] = ']';
	CHECK_EQ_INT(ntx, 6);
	CHECK_EQ_INT(nlog, 4);

	/* The logs as one eth_getLogs result. */
	{
		char reply[70000];
		node_frame_t rf;
		event_t got;
		size_t k = 0;
		int rl = snprintf(reply, sizeof reply, "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":%.*s}",
				  (int)arr_len, logs_arr);

		CHECK_OK(parse_n(reply, (size_t)rl, &rf, &got));
		CHECK_EQ_INT(jtok_type(&np.doc, rf.result), JTOK_ARRAY);
		for (size_t e = jtok_first(&np.doc, rf.result); e != JTOK_NONE;
		     e = jtok_after(&np.doc, rf.result, e), k++) {
			const event_log_t *w = &want_logs[k].log;
			CHECK_OK(node_parse_log_object(&np, &np.doc, e, &got));
			CHECK_EQ_INT(got.kind, EV_LOG);
			CHECK(addr_eq(&got.log.address, &w->address));
			CHECK_EQ_INT(got.log.ntopics, w->ntopics);
			CHECK_EQ_MEM(got.log.topics, w->topics, sizeof w->topics);
			CHECK(same_view(&got.log.data, want_data[k], want_data_len[k]));
			CHECK_EQ_INT(got.log.block_number, w->block_number);
			CHECK_EQ_INT(got.log.log_index, w->log_index);
			CHECK_EQ_MEM(got.log.tx_hash, w->tx_hash, 32);
			CHECK_EQ_INT(got.log.removed, w->removed);
		}
		CHECK_EQ_INT(k, 4);
	}
}

/* Errors name the field under "result.", and a result that is no object
 * (null: the node no longer knows the transaction) is refused. */
static void test_reply_object_errors(void)
{
	node_frame_t f;
	event_t ev;
	const char *null_reply = "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":null}";
	const char *no_gas = "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"hash\":"
		"\"0xc9b621cebb888165b37a29696b9265ba170ec5efb31004ebf41bf55a442b633b\","
		"\"from\":\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\",\"to\":null,"
		"\"value\":\"0x0\",\"input\":\"0x\",\"nonce\":\"0x1\",\"gasPrice\":\"0x1\"}}";

	CHECK_OK(parse_n(null_reply, strlen(null_reply), &f, &ev));
	CHECK_ERR(node_parse_tx_object(&np, &np.doc, f.result, &ev), KERR_JSON);
	CHECK_EQ_STR(np.what, "result");
	CHECK_ERR(node_parse_log_object(&np, &np.doc, JTOK_NONE, &ev), KERR_JSON);
	CHECK_ERR(node_parse_tx_object(&np, NULL, 0, &ev), KERR_JSON);

	CHECK_OK(parse_n(no_gas, strlen(no_gas), &f, &ev));
	CHECK_ERR(node_parse_tx_object(&np, &np.doc, f.result, &ev), KERR_NOT_FOUND);
	CHECK_EQ_STR(np.what, "result.gas");
	/* A transaction is no log. */
	CHECK_ERR(node_parse_log_object(&np, &np.doc, f.result, &ev), KERR_NOT_FOUND);
	CHECK_EQ_STR(np.what, "result.address");
	/* A duplicate member is refused as in frames. */
	{
		static const char dup[] = "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":"
			"{\"nonce\":\"0x1\",\"nonce\":\"0x2\"}}";
		CHECK_OK(parse_n(dup, sizeof dup - 1, &f, &ev));
		CHECK_ERR(node_parse_tx_object(&np, &np.doc, f.result, &ev), KERR_JSON);
		CHECK_EQ_STR(np.what, "result.nonce");
	}
}

int main(void)
{
	stream = t_read_file("tests/fixtures/frames/anvil-stream.jsonl", NULL);
	berlin = t_read_file("tests/fixtures/frames/anvil-berlin.jsonl", NULL);
	replies = t_read_file("tests/fixtures/frames/anvil-replies.jsonl", NULL);
	if (!stream || !berlin || !replies || node_parse_init(&np, 0) != KERR_OK) {
		printf("cannot set up\n");
		return 1;
	}
	RUN(test_all_frames);
	RUN(test_known_legacy);
	RUN(test_known_1559);
	RUN(test_known_heads_logs);
	RUN(test_replies);
	RUN(test_truncated);
	RUN(test_oversized);
	RUN(test_wrong_types);
	RUN(test_bad_hex);
	RUN(test_missing_and_duplicates);
	RUN(test_limits_in_frames);
	RUN(test_reply_objects);
	RUN(test_reply_object_errors);
	node_parse_release(&np);
	free(cur);
	free(stream);
	free(berlin);
	free(replies);
	return t_done();
}
