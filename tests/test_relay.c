/*
 * test_relay: private relay submission (keeper/relay.h) on the loop,
 * against a relay played by a small HTTP/1.1 server on a thread of this
 * test (127.0.0.1, a kernel-chosen port).  Like a real relay, the server
 * authenticates every request on its own: it recovers the signer's
 * address with libsecp256k1 from X-Flashbots-Signature over the EIP-191
 * digest of the text "0x" + hex(keccak256(body)), and checks the body's
 * shape with jansson (the exact members, the raw transaction, the target
 * block).  It then answers as the test asks: success (a bundle hash of
 * its own computing, or the transaction hash it decodes from the body), a
 * JSON-RPC error, garbage, a wrong hash, success for one block only, or
 * nothing at all (a timeout).  Also: the params texts, the header format,
 * http_post_ex's header rules, and the refusals of relay_submit.  Every
 * loop run is bounded by a watchdog timer.
 */
#include <pthread.h>
#include <unistd.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "keeper/http.h"
#include "keeper/loop.h"
#include "keeper/relay.h"
#include "signer/hex.h"
#include "signer/keccak.h"
#include "signer/tx.h"
#include "tests/httpsrv.h"
#include "tests/loop_util.h"
#include "tests/net_util.h"
#include "tests/test.h"

/* ---- the relay (tests/httpsrv.h) */

enum mode {
	M_OK = 0,      /* result: bundle hash / tx hash */
	M_ERROR,       /* a JSON-RPC error */
	M_GARBAGE,     /* not JSON */
	M_SILENT,      /* never answers */
	M_WRONG_HASH,  /* a tx hash that is not the transaction's */
	M_ONE_OK,      /* success for block ok_block only, errors for others */
	M_FORBIDDEN,   /* HTTP 403 with a JSON-RPC error body */
};

#define SRV_RECS 64

struct rec {
	bool sig_ok;          /* the header parsed and recovered to its address */
	addr_t sig_addr;      /* the recovered address */
	bool shape_ok;
	char why[160];        /* the first thing wrong, for the failure message */
	char method[40];
	uint64_t block;
	uint8_t body_hash[32];
};

static struct srv {
	httpsrv_t h;
	enum mode mode;
	char raw_hex[2 * RELAY_RAW_MAX + 3]; /* the expected "0x<raw>" */
	uint64_t ok_block;                   /* M_ONE_OK */
	struct rec recs[SRV_RECS];
	int nrec;
} S;

static secp256k1_context *secp;

/* The address that signed `body` per X-Flashbots-Signature `hdr`, checked
 * independently of keeper/relay (only keccak and the address hash are
 * shared with keeper). */
static bool verify_sig(const char *hdr, size_t hlen, const char *body,
		       size_t blen, addr_t *who, char *why, size_t wn)
{
	static const char prefix[] = "\x19" "Ethereum Signed Message:\n66";
	const char *colon = memchr(hdr, ':', hlen);
	uint8_t h[32], digest[32], sig[65], pub65[65];
	char text[67], pre[sizeof prefix - 1 + 66];
	secp256k1_ecdsa_recoverable_signature rs;
	secp256k1_pubkey pk;
	addr_t claimed;
	size_t plen = sizeof pub65;

	if (!colon || addr_parse(&claimed, hdr, (size_t)(colon - hdr))) {
		snprintf(why, wn, "header address: %.*s", (int)hlen, hdr);
		return false;
	}
	if (hdr + hlen - colon - 1 != 132 || colon[1] != '0' || colon[2] != 'x' ||
	    hex_decode_exact(sig, 65, colon + 3, 130)) {
		snprintf(why, wn, "header signature: %.*s", (int)hlen, hdr);
		return false;
	}
	keccak256(h, (const uint8_t *)body, blen);
	text[0] = '0';
	text[1] = 'x';
	hex_encode(text + 2, h, 32);
	memcpy(pre, prefix, sizeof prefix - 1);
	memcpy(pre + sizeof prefix - 1, text, 66);
	keccak256(digest, (const uint8_t *)pre, sizeof pre);
	if ((sig[64] != 27 && sig[64] != 28) ||
	    !secp256k1_ecdsa_recoverable_signature_parse_compact(secp, &rs, sig,
								  sig[64] - 27) ||
	    !secp256k1_ecdsa_recover(secp, &pk, &rs, digest) ||
	    !secp256k1_ec_pubkey_serialize(secp, pub65, &plen, &pk,
					   SECP256K1_EC_UNCOMPRESSED)) {
		snprintf(why, wn, "signature does not recover");
		return false;
	}
	addr_from_pubkey(who, pub65 + 1);
	if (!addr_eq(who, &claimed)) {
		snprintf(why, wn, "signature recovers to another address");
		return false;
	}
	return true;
}

/* Checks the JSON-RPC body; fills method, block, id. */
static bool check_body(const char *body, size_t len, struct rec *r,
		       json_int_t *id, char *raw_out, size_t raw_cap)
{
	json_error_t je;
	json_t *j = json_loadb(body, len, 0, &je), *p, *o, *v;
	const char *m, *bkey, *hex;
	bool bundle, ok = false;

	*id = -1;
	if (!j || !json_is_object(j) || json_object_size(j) != 4 ||
	    !json_is_string(json_object_get(j, "jsonrpc")) ||
	    strcmp(json_string_value(json_object_get(j, "jsonrpc")), "2.0") ||
	    !json_is_integer(json_object_get(j, "id")) ||
	    !json_is_string(json_object_get(j, "method"))) {
		snprintf(r->why, sizeof r->why, "envelope: %.*s", (int)len, body);
		goto out;
	}
	*id = json_integer_value(json_object_get(j, "id"));
	m = json_string_value(json_object_get(j, "method"));
	snprintf(r->method, sizeof r->method, "%s", m);
	bundle = !strcmp(m, "eth_sendBundle");
	if (!bundle && strcmp(m, "eth_sendPrivateTransaction")) {
		snprintf(r->why, sizeof r->why, "method %s", m);
		goto out;
	}
	p = json_object_get(j, "params");
	if (!json_is_array(p) || json_array_size(p) != 1 ||
	    !json_is_object(o = json_array_get(p, 0)) || json_object_size(o) != 2) {
		snprintf(r->why, sizeof r->why, "params: %.*s", (int)len, body);
		goto out;
	}
	if (bundle) {
		v = json_object_get(o, "txs");
		if (!json_is_array(v) || json_array_size(v) != 1 ||
		    !json_is_string(json_array_get(v, 0))) {
			snprintf(r->why, sizeof r->why, "txs");
			goto out;
		}
		hex = json_string_value(json_array_get(v, 0));
		bkey = "blockNumber";
	} else {
		v = json_object_get(o, "tx");
		if (!json_is_string(v)) {
			snprintf(r->why, sizeof r->why, "tx");
			goto out;
		}
		hex = json_string_value(v);
		bkey = "maxBlockNumber";
	}
	if (strcmp(hex, S.raw_hex)) {
		snprintf(r->why, sizeof r->why, "not the raw transaction");
		goto out;
	}
	snprintf(raw_out, raw_cap, "%s", hex);
	v = json_object_get(o, bkey);
	if (!json_is_string(v) || strncmp(json_string_value(v), "0x", 2) ||
	    u256_from_hex(&(u256_t){ 0 }, json_string_value(v),
			  strlen(json_string_value(v)))) {
		snprintf(r->why, sizeof r->why, "%s", bkey);
		goto out;
	}
	r->block = strtoull(json_string_value(v) + 2, NULL, 16);
	ok = true;
out:
	json_decref(j);
	return ok;
}

/* Handles every complete request in c's buffer. */
static void srv_serve(httpsrv_conn_t *c)
{
	size_t head, blen;

	while (httpsrv_request(c, &head, &blen)) {
		const char *sg = NULL;
		size_t slen;
		struct rec r = { 0 };
		json_int_t id;
		char raw[2 * RELAY_RAW_MAX + 3], answer[512], hx[65];
		enum mode mode;

		slen = httpsrv_header(c->buf, head, "X-Flashbots-Signature", &sg);
		if (!slen)
			snprintf(r.why, sizeof r.why, "no X-Flashbots-Signature");
		else
			r.sig_ok = verify_sig(sg, slen, c->buf + head, blen,
					      &r.sig_addr, r.why, sizeof r.why);
		r.shape_ok = check_body(c->buf + head, blen, &r, &id, raw, sizeof raw);
		keccak256(r.body_hash, (const uint8_t *)c->buf + head, blen);
		pthread_mutex_lock(&S.h.mu);
		mode = S.mode;
		if (S.nrec < SRV_RECS)
			S.recs[S.nrec++] = r;
		if (mode == M_ONE_OK)
			mode = r.block == S.ok_block ? M_OK : M_ERROR;
		pthread_mutex_unlock(&S.h.mu);
		if (mode == M_OK || mode == M_WRONG_HASH) {
			uint8_t h[32];

			if (!strcmp(r.method, "eth_sendBundle")) {
				memcpy(h, r.body_hash, 32);
			} else {
				/* The hash of the transaction in the body. */
				uint8_t tx[RELAY_RAW_MAX];
				size_t n = 0;

				hex_decode(tx, sizeof tx, &n, raw, strlen(raw));
				tx_hash(tx, n, h);
				if (mode == M_WRONG_HASH)
					h[31] ^= 1;
			}
			hex_encode(hx, h, 32);
			if (!strcmp(r.method, "eth_sendBundle"))
				snprintf(answer, sizeof answer, "{\"jsonrpc\":\"2.0\",\"id\":%lld,"
					 "\"result\":{\"bundleHash\":\"0x%s\"}}",
					 (long long)id, hx);
			else
				snprintf(answer, sizeof answer, "{\"jsonrpc\":\"2.0\",\"id\":%lld,"
					 "\"result\":\"0x%s\"}", (long long)id, hx);
			httpsrv_send(c->fd, 200, "application/json", answer);
		} else if (mode == M_ERROR) {
			snprintf(answer, sizeof answer, "{\"jsonrpc\":\"2.0\",\"id\":%lld,"
				 "\"error\":{\"code\":-32000,\"message\":\"bundle "
				 "rejected: simulation failed\"}}", (long long)id);
			httpsrv_send(c->fd, 200, "application/json", answer);
		} else if (mode == M_FORBIDDEN) {
			snprintf(answer, sizeof answer, "{\"jsonrpc\":\"2.0\",\"id\":%lld,"
				 "\"error\":{\"code\":-32600,\"message\":\"signer "
				 "not allowed\"}}", (long long)id);
			httpsrv_send(c->fd, 403, "application/json", answer);
		} else if (mode == M_GARBAGE) {
			httpsrv_send(c->fd, 200, "application/json",
				     "<html>relay maintenance</html>");
		}
		httpsrv_consume(c, head + blen);
	}
}

static void srv_start(enum mode mode, const char *raw_hex)
{
	pthread_mutex_lock(&S.h.mu);
	S.mode = mode;
	S.nrec = 0;
	S.ok_block = 0;
	snprintf(S.raw_hex, sizeof S.raw_hex, "%s", raw_hex);
	pthread_mutex_unlock(&S.h.mu);
	httpsrv_start(&S.h, srv_serve);
}

static void srv_stop(void)
{
	httpsrv_stop(&S.h);
}

/* ---- keeper side */

static signer_t *S_signer;
static addr_t S_addr;
static uint8_t raw[200];
static size_t raw_len;
static char raw_hex[2 * sizeof raw + 3];

static struct got {
	int n;
	relay_result_t res;
	char message[RELAY_MSG_MAX];
	int64_t at_ms;
	intptr_t ctx;
} got;

static void done_cb(void *ctx, const relay_result_t *res)
{
	got.n++;
	got.res = *res;
	snprintf(got.message, sizeof got.message, "%s", res->message);
	got.res.message = got.message;
	got.at_ms = loop_now_ms(L);
	got.ctx = (intptr_t)ctx;
	loop_stop(L);
}

/* A config with one private strategy named "fb" to url in mode m. */
static config_gas_t G;
static config_keeper_t C;

static void cfg_for(const char *url, config_relay_mode_t m)
{
	memset(&G, 0, sizeof G);
	memset(&C, 0, sizeof C);
	G.name = "fb";
	G.strategy = CONFIG_GAS_PRIVATE;
	G.relay = url;
	G.mode = m;
	C.gas = &G;
	C.ngas = 1;
}

static char srv_url[64];

/* The relay served in `mode`, and the config whose one private strategy
 * sends to it in mode m. */
static void serve_for(enum mode mode, config_relay_mode_t m)
{
	srv_start(mode, raw_hex);
	snprintf(srv_url, sizeof srv_url, "http://127.0.0.1:%d/", S.h.port);
	cfg_for(srv_url, m);
}

/* serve_for(), and a relay_t (options o) on that config; got cleared. */
static relay_t *relay_for(enum mode mode, config_relay_mode_t m, const relay_opts_t *o)
{
	relay_t *r = NULL;

	serve_for(mode, m);
	CHECK_OK(relay_new(&r, L, &C, S_signer, o));
	memset(&got, 0, sizeof got);
	return r;
}

/* Submit raw for the head `block`, and run the loop until done_cb. */
static void submit(relay_t *r, uint64_t block)
{
	CHECK_OK(relay_submit(r, &G, raw, raw_len, block, done_cb, NULL));
	CHECK(run_for(5000));
}

static void check_recs(int want, config_relay_mode_t m, uint64_t first_block)
{
	pthread_mutex_lock(&S.h.mu);
	CHECK_EQ_INT(S.nrec, want);
	for (int i = 0; i < S.nrec && i < want; i++) {
		struct rec *r = &S.recs[i];
		bool seen = false;

		CHECK_MSG(r->sig_ok, "request %d: %s", i, r->why);
		CHECK_MSG(r->shape_ok, "request %d: %s", i, r->why);
		CHECK(addr_eq(&r->sig_addr, &S_addr));
		CHECK_EQ_STR(r->method, relay_method(m));
		/* Every target block exactly once (requests run in parallel). */
		for (int k = 0; k < S.nrec; k++)
			if (S.recs[k].block == first_block + (uint64_t)i) {
				CHECK(!seen);
				seen = true;
			}
		CHECK_MSG(seen, "no request for block %llu",
			  (unsigned long long)(first_block + (uint64_t)i));
	}
	pthread_mutex_unlock(&S.h.mu);
}

/* ---- pure parts */

static void test_params(void)
{
	char out[256];
	size_t n;
	const uint8_t r3[3] = { 0x02, 0xab, 0xff };

	CHECK_OK(relay_params(out, sizeof out, &n, CONFIG_RELAY_BUNDLE, r3, 3, 101));
	CHECK_EQ_STR(out, "[{\"txs\":[\"0x02abff\"],\"blockNumber\":\"0x65\"}]");
	CHECK_EQ_INT(n, strlen(out));
	CHECK_OK(relay_params(out, sizeof out, &n, CONFIG_RELAY_PRIVATE_TX, r3, 3,
			      0x1234567890ULL));
	CHECK_EQ_STR(out, "[{\"tx\":\"0x02abff\",\"maxBlockNumber\":\"0x1234567890\"}]");
	CHECK_EQ_INT(n, strlen(out));
	CHECK_ERR(relay_params(out, 20, &n, CONFIG_RELAY_BUNDLE, r3, 3, 1), KERR_BUF);
	CHECK_ERR(relay_params(out, sizeof out, &n, CONFIG_RELAY_BUNDLE, r3, 0, 1),
		  KERR_ARG);
	CHECK_ERR(relay_params(out, sizeof out, &n, (config_relay_mode_t)7, r3, 3, 1),
		  KERR_ARG);
	CHECK_ERR(relay_params(out, sizeof out, &n, CONFIG_RELAY_BUNDLE, raw,
			       RELAY_RAW_MAX + 1, 1), KERR_TOO_LONG);
	CHECK_EQ_STR(relay_method(CONFIG_RELAY_BUNDLE), "eth_sendBundle");
	CHECK_EQ_STR(relay_method(CONFIG_RELAY_PRIVATE_TX), "eth_sendPrivateTransaction");
}

static void test_sign_header(void)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":1}";
	char hdr[RELAY_SIG_HEADER_LEN], cs[ADDR_TEXT_LEN], why[160] = "";
	addr_t who;

	CHECK_OK(relay_sign_header(S_signer, body, sizeof body - 1, hdr));
	CHECK_EQ_INT(strlen(hdr), RELAY_SIG_HEADER_LEN - 1);
	addr_to_checksum(&S_addr, cs);
	CHECK(!strncmp(hdr, cs, ADDR_TEXT_LEN - 1));
	CHECK(!strncmp(hdr + ADDR_TEXT_LEN - 1, ":0x", 3));
	CHECK_MSG(verify_sig(hdr, strlen(hdr), body, sizeof body - 1, &who, why,
			     sizeof why), "%s", why);
	CHECK(addr_eq(&who, &S_addr));
	/* Over another body it recovers to someone else. */
	CHECK(!verify_sig(hdr, strlen(hdr), body, sizeof body - 2, &who, why,
			  sizeof why));
}

/* http_post_ex refuses headers that could smuggle or override. */
static void noop_cb(const http_result_t *r, void *ctx)
{
	(void)r;
	(void)ctx;
}

static void test_header_rules(void)
{
	http_t *h;
	const char *u = "http://127.0.0.1:9/";
	http_header_t bad[] = {
		{ "X-A", "b\r\nX-Injected: 1" },
		{ "X A", "b" },
		{ "", "b" },
		{ "content-type", "text/plain" },
		{ "Host", "example.com" },
		{ "X-A", NULL },
	};
	http_header_t many[HTTP_MAX_HEADERS + 1];
	char longv[HTTP_HEADER_MAX];

	CHECK_OK(http_create(L, NULL, &h));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_ERR(http_post_ex(h, u, "{}", 2, &bad[i], 1, 1000, 0, noop_cb,
				       NULL), KERR_ARG);
	for (size_t i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		many[i] = (http_header_t){ "X-A", "b" };
	CHECK_ERR(http_post_ex(h, u, "{}", 2, many, HTTP_MAX_HEADERS + 1, 1000, 0,
			       noop_cb, NULL), KERR_ARG);
	CHECK_ERR(http_post_ex(h, u, "{}", 2, NULL, 1, 1000, 0, noop_cb, NULL),
		  KERR_ARG);
	memset(longv, 'v', sizeof longv - 1);
	longv[sizeof longv - 1] = 0;
	CHECK_ERR(http_post_ex(h, u, "{}", 2, &(http_header_t){ "X-A", longv }, 1,
			       1000, 0, noop_cb, NULL), KERR_ARG);
	CHECK_EQ_INT(http_inflight(h), 0);
	CHECK_EQ_INT(http_stats(h)->requests, 0);
	http_destroy(h);
}

/* ---- against the relay */

static void test_bundle_ok(void)
{
	relay_stats_t st;
	relay_t *r;

	r = relay_for(M_OK, CONFIG_RELAY_BUNDLE, NULL);
	CHECK_OK(relay_submit(r, &G, raw, raw_len, 100, done_cb, (void *)7));
	relay_stats(r, &st);
	CHECK_EQ_INT(st.in_flight, 1);
	CHECK_EQ_INT(got.n, 0);  /* never from inside relay_submit */
	CHECK(run_for(5000));
	CHECK_EQ_INT(got.n, 1);
	CHECK_EQ_INT(got.ctx, 7);
	CHECK_ERR(got.res.err, KERR_OK);
	CHECK_EQ_INT(got.res.requests, RELAY_BLOCKS_DEFAULT);
	CHECK_EQ_INT(got.res.accepted, RELAY_BLOCKS_DEFAULT);
	CHECK_EQ_INT(got.res.first_block, 101);
	CHECK_EQ_INT(got.res.last_block, 100 + RELAY_BLOCKS_DEFAULT);
	CHECK_EQ_STR(got.res.gas, "fb");
	CHECK_EQ_INT(got.res.mode, CONFIG_RELAY_BUNDLE);
	CHECK_EQ_INT(got.res.fail_err, KERR_OK);
	CHECK_EQ_STR(got.res.message, "");
	check_recs(RELAY_BLOCKS_DEFAULT, CONFIG_RELAY_BUNDLE, 101);
	/* The bundle hash reported is the relay's answer for block 101 (the
	 * server answers keccak of that request's body). */
	CHECK(got.res.has_hash);
	pthread_mutex_lock(&S.h.mu);
	for (int i = 0; i < S.nrec; i++)
		if (S.recs[i].block == 101)
			CHECK_EQ_MEM(got.res.hash, S.recs[i].body_hash, 32);
	pthread_mutex_unlock(&S.h.mu);
	{
		uint8_t th[32];

		tx_hash(raw, raw_len, th);
		CHECK_EQ_MEM(got.res.tx_hash, th, 32);
	}
	relay_stats(r, &st);
	CHECK_EQ_INT(st.submissions, 1);
	CHECK_EQ_INT(st.requests, RELAY_BLOCKS_DEFAULT);
	CHECK_EQ_INT(st.accepted, RELAY_BLOCKS_DEFAULT);
	CHECK_EQ_INT(st.rejected, 0);
	CHECK_EQ_INT(st.failed, 0);
	CHECK_EQ_INT(st.in_flight, 0);
	relay_free(r);
	srv_stop();
}

/* N configurable: 5 target blocks, and a second submission on the next
 * head slides the window. */
static void test_bundle_blocks(void)
{
	relay_opts_t o = { .bundle_blocks = 5 };
	relay_t *r;

	r = relay_for(M_OK, CONFIG_RELAY_BUNDLE, &o);
	submit(r, 7);
	CHECK_EQ_INT(got.res.accepted, 5);
	CHECK_EQ_INT(got.res.first_block, 8);
	CHECK_EQ_INT(got.res.last_block, 12);
	check_recs(5, CONFIG_RELAY_BUNDLE, 8);
	pthread_mutex_lock(&S.h.mu);
	S.nrec = 0;
	pthread_mutex_unlock(&S.h.mu);
	submit(r, 8);
	CHECK_EQ_INT(got.n, 2);
	CHECK_EQ_INT(got.res.first_block, 9);
	check_recs(5, CONFIG_RELAY_BUNDLE, 9);
	relay_free(r);
	o.bundle_blocks = RELAY_BLOCKS_MAX + 1;
	CHECK_ERR(relay_new(&r, L, &C, S_signer, &o), KERR_ARG);
	CHECK(r == NULL);
	srv_stop();
}

static void test_private_ok(void)
{
	uint8_t th[32];
	relay_t *r;

	r = relay_for(M_OK, CONFIG_RELAY_PRIVATE_TX, NULL);
	submit(r, 1000);
	CHECK_EQ_INT(got.n, 1);
	CHECK_ERR(got.res.err, KERR_OK);
	CHECK_EQ_INT(got.res.requests, 1);
	CHECK_EQ_INT(got.res.accepted, 1);
	CHECK_EQ_INT(got.res.first_block, 1001);
	CHECK_EQ_INT(got.res.last_block, 1000 + RELAY_PRIVATE_BLOCKS_DEFAULT);
	tx_hash(raw, raw_len, th);
	CHECK(got.res.has_hash);
	CHECK_EQ_MEM(got.res.hash, th, 32);
	check_recs(1, CONFIG_RELAY_PRIVATE_TX, 1000 + RELAY_PRIVATE_BLOCKS_DEFAULT);
	relay_free(r);
	srv_stop();
}

static void test_wrong_hash(void)
{
	relay_t *r;

	r = relay_for(M_WRONG_HASH, CONFIG_RELAY_PRIVATE_TX, NULL);
	submit(r, 5);
	CHECK_ERR(got.res.err, KERR_RPC_REPLY);
	CHECK_EQ_INT(got.res.accepted, 0);
	CHECK(!got.res.has_hash);
	CHECK_EQ_INT(got.res.http_status, 200);
	relay_free(r);
	srv_stop();
}

static void test_error(void)
{
	relay_stats_t st;
	relay_t *r;

	r = relay_for(M_ERROR, CONFIG_RELAY_BUNDLE, NULL);
	submit(r, 100);
	CHECK_ERR(got.res.err, KERR_RPC_ERROR);
	CHECK_ERR(got.res.fail_err, KERR_RPC_ERROR);
	CHECK_EQ_INT(got.res.accepted, 0);
	CHECK_EQ_INT(got.res.fail_block, 101);
	CHECK_EQ_INT(got.res.code, -32000);
	CHECK_EQ_STR(got.res.message, "bundle rejected: simulation failed");
	CHECK_EQ_INT(got.res.http_status, 200);
	check_recs(RELAY_BLOCKS_DEFAULT, CONFIG_RELAY_BUNDLE, 101);
	relay_stats(r, &st);
	CHECK_EQ_INT(st.rejected, RELAY_BLOCKS_DEFAULT);
	CHECK_EQ_INT(st.accepted, 0);
	relay_free(r);
	srv_stop();
}

/* A JSON-RPC error under HTTP 403 is that error, with the status. */
static void test_forbidden(void)
{
	relay_t *r;

	r = relay_for(M_FORBIDDEN, CONFIG_RELAY_PRIVATE_TX, NULL);
	submit(r, 100);
	CHECK_ERR(got.res.err, KERR_RPC_ERROR);
	CHECK_EQ_INT(got.res.http_status, 403);
	CHECK_EQ_INT(got.res.code, -32600);
	CHECK_EQ_STR(got.res.message, "signer not allowed");
	relay_free(r);
	srv_stop();
}

static void test_partial(void)
{
	relay_stats_t st;
	relay_t *r;

	r = relay_for(M_ONE_OK, CONFIG_RELAY_BUNDLE, NULL);
	pthread_mutex_lock(&S.h.mu);
	S.ok_block = 101;
	pthread_mutex_unlock(&S.h.mu);
	submit(r, 100);
	/* Block 101 accepted, 102 and 103 refused: a success, with the
	 * lowest failure to show. */
	CHECK_ERR(got.res.err, KERR_OK);
	CHECK_EQ_INT(got.res.accepted, 1);
	CHECK_EQ_INT(got.res.requests, RELAY_BLOCKS_DEFAULT);
	CHECK_ERR(got.res.fail_err, KERR_RPC_ERROR);
	CHECK_EQ_INT(got.res.fail_block, 102);
	CHECK_EQ_INT(got.res.code, -32000);
	CHECK(got.res.has_hash);
	pthread_mutex_lock(&S.h.mu);
	for (int i = 0; i < S.nrec; i++)
		if (S.recs[i].block == 101)
			CHECK_EQ_MEM(got.res.hash, S.recs[i].body_hash, 32);
	pthread_mutex_unlock(&S.h.mu);
	relay_stats(r, &st);
	CHECK_EQ_INT(st.accepted, 1);
	CHECK_EQ_INT(st.rejected, RELAY_BLOCKS_DEFAULT - 1);
	relay_free(r);
	srv_stop();
}

static void test_garbage(void)
{
	relay_stats_t st;
	relay_t *r;

	r = relay_for(M_GARBAGE, CONFIG_RELAY_PRIVATE_TX, NULL);
	submit(r, 100);
	CHECK_ERR(got.res.err, KERR_JSON);
	CHECK_EQ_INT(got.res.accepted, 0);
	relay_stats(r, &st);
	CHECK_EQ_INT(st.failed, 1);
	relay_free(r);
	srv_stop();
}

/* A relay that never answers costs the timeout, and the loop goes on. */
static void test_timeout(void)
{
	relay_opts_t o = { .timeout_ms = 300 };
	int64_t t0;
	relay_t *r;

	r = relay_for(M_SILENT, CONFIG_RELAY_BUNDLE, &o);
	ticker_start(L);
	t0 = loop_now_ms(L);
	submit(r, 100);
	ticker_stop();
	CHECK_ERR(got.res.err, KERR_RPC_TIMEOUT);
	CHECK_EQ_INT(got.res.accepted, 0);
	CHECK(got.at_ms - t0 >= 290 && got.at_ms - t0 < 1000);
	CHECK_MSG(ticks >= 15, "ticks %d", ticks);
	check_recs(RELAY_BLOCKS_DEFAULT, CONFIG_RELAY_BUNDLE, 101);
	relay_free(r);
	srv_stop();
}

/* Nothing listens: a connection error. */
static void test_dead(void)
{
	char url[64];
	relay_t *r;

	snprintf(url, sizeof url, "http://127.0.0.1:%d/", free_port(0, NULL));
	cfg_for(url, CONFIG_RELAY_BUNDLE);
	CHECK_OK(relay_new(&r, L, &C, S_signer, NULL));
	memset(&got, 0, sizeof got);
	submit(r, 100);
	CHECK_ERR(got.res.err, KERR_RPC_CONNECT);
	CHECK_EQ_INT(got.res.http_status, 0);
	relay_free(r);
}

static relay_t *R;

static bool all_ended(void)
{
	relay_stats_t st;

	relay_stats(R, &st);
	return st.in_flight == 0;
}

/* Refusals with no callback, and relay_forget. */
static void test_refusals(void)
{
	relay_t *r;
	relay_stats_t st;
	config_gas_t other;
	signer_t *nokey;

	serve_for(M_OK, CONFIG_RELAY_BUNDLE);
	CHECK_OK(signer_new(&nokey));
	CHECK_ERR(relay_new(&r, L, &C, nokey, NULL), KERR_ARG);
	signer_free(nokey);
	CHECK_OK(relay_new(&r, L, &C, S_signer, NULL));
	other = G;
	other.strategy = CONFIG_GAS_EIP1559;
	CHECK_ERR(relay_submit(r, &other, raw, raw_len, 1, done_cb, NULL),
		  KERR_NOT_FOUND);
	other = G;
	other.relay = "http://127.0.0.1:1/elsewhere";
	CHECK_ERR(relay_submit(r, &other, raw, raw_len, 1, done_cb, NULL),
		  KERR_NOT_FOUND);
	CHECK_ERR(relay_submit(r, &G, raw, 0, 1, done_cb, NULL), KERR_ARG);
	{
		static uint8_t big[RELAY_RAW_MAX + 1];

		CHECK_ERR(relay_submit(r, &G, big, sizeof big, 1, done_cb, NULL),
			  KERR_TOO_LONG);
	}
	/* The table bound (one request per submission: a private_tx). */
	G.mode = CONFIG_RELAY_PRIVATE_TX;
	for (int i = 0; i < RELAY_MAX_SUBMISSIONS; i++)
		CHECK_OK(relay_submit(r, &G, raw, raw_len, 1, NULL, NULL));
	CHECK_ERR(relay_submit(r, &G, raw, raw_len, 1, done_cb, NULL), KERR_FULL);
	relay_stats(r, &st);
	CHECK_EQ_INT(st.in_flight, RELAY_MAX_SUBMISSIONS);
	R = r;
	CHECK(run_until(all_ended, 3000));
	relay_stats(r, &st);
	CHECK_EQ_INT(st.in_flight, 0);
	CHECK_EQ_INT(st.accepted, RELAY_MAX_SUBMISSIONS);
	/* Forgotten: it runs to its end, without a callback. */
	memset(&got, 0, sizeof got);
	CHECK_OK(relay_submit(r, &G, raw, raw_len, 1, done_cb, (void *)5));
	relay_forget(r, (void *)5);
	CHECK(run_until(all_ended, 3000));
	CHECK_EQ_INT(got.n, 0);
	relay_stats(r, &st);
	CHECK_EQ_INT(st.in_flight, 0);
	CHECK_EQ_INT(st.submissions, RELAY_MAX_SUBMISSIONS + 1);
	/* Freed with submissions in flight: no callback, no leak. */
	CHECK_OK(relay_submit(r, &G, raw, raw_len, 1, done_cb, NULL));
	relay_free(r);
	CHECK_EQ_INT(got.n, 0);
	/* A config without private strategies. */
	C.ngas = 0;
	CHECK_OK(relay_new(&r, L, &C, S_signer, NULL));
	CHECK_ERR(relay_submit(r, &G, raw, raw_len, 1, done_cb, NULL), KERR_NOT_FOUND);
	relay_free(r);
	srv_stop();
}

int main(void)
{
	uint8_t key[32];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x11 + i);
	secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	pthread_mutex_init(&S.h.mu, NULL);
	CHECK_OK(signer_new(&S_signer));
	CHECK_OK(signer_set_key(S_signer, key));
	CHECK_OK(signer_address(S_signer, &S_addr));
	/* Restricted as `keeper run` restricts it: personal messages must
	 * still be signed. */
	CHECK_OK(signer_restrict(S_signer, NULL, NULL, 0));
	/* The relay passes the transaction through as opaque bytes (it only
	 * hex-encodes and hashes them), so any type-2-looking bytes do. */
	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (uint8_t)(i * 7 + 2);
	raw[0] = 0x02;
	raw_len = sizeof raw;
	raw_hex[0] = '0';
	raw_hex[1] = 'x';
	hex_encode(raw_hex + 2, raw, raw_len);
	CHECK_OK(loop_create(NULL, &L));
	loop_util_init();
	RUN(test_params);
	RUN(test_sign_header);
	RUN(test_header_rules);
	RUN(test_bundle_ok);
	RUN(test_bundle_blocks);
	RUN(test_private_ok);
	RUN(test_wrong_hash);
	RUN(test_error);
	RUN(test_forbidden);
	RUN(test_partial);
	RUN(test_garbage);
	RUN(test_timeout);
	RUN(test_dead);
	RUN(test_refusals);
	loop_destroy(L);
	signer_free(S_signer);
	secp256k1_context_destroy(secp);
	return t_done();
}
