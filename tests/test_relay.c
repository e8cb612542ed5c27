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
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "keeper/http.h"
#include "keeper/loop.h"
#include "keeper/relay.h"
#include "signer/hex.h"
#include "signer/keccak.h"
#include "signer/tx.h"
#include "tests/loop_util.h"
#include "tests/net_util.h"
#include "tests/test.h"

/* ---- the relay: a tiny HTTP/1.1 server on a thread */

enum mode {
	M_OK = 0,      /* result: bundle hash / tx hash */
	M_ERROR,       /* a JSON-RPC error */
	M_GARBAGE,     /* not JSON */
	M_SILENT,      /* never answers */
	M_WRONG_HASH,  /* a tx hash that is not the transaction's */
	M_ONE_OK,      /* success for block ok_block only, errors for others */
	M_FORBIDDEN,   /* HTTP 403 with a JSON-RPC error body */
};

#define SRV_CONNS 64
#define SRV_BUF 131072
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
	int lfd, port, stop[2];
	pthread_t th;
	pthread_mutex_t mu;
	enum mode mode;
	char raw_hex[2 * RELAY_RAW_MAX + 3]; /* the expected "0x<raw>" */
	uint64_t ok_block;                   /* M_ONE_OK */
	struct rec recs[SRV_RECS];
	int nrec;
	struct conn {
		int fd;
		size_t len;
		char *buf;
	} c[SRV_CONNS];
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

static void srv_send(int fd, int status, const char *body)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof hdr,
			 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n", status, strlen(body));

	if (write(fd, hdr, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0)
		return;
}

/* memmem is a GNU extension; the build is POSIX. */
static const char *find(const char *h, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(h + i, needle, k))
			return h + i;
	return NULL;
}

/* Looks for header `name` in head[0..len); returns its value's length. */
static size_t find_header(const char *head, size_t len, const char *name,
			  const char **val)
{
	size_t nl = strlen(name);

	for (const char *p = head; p && p < head + len;) {
		const char *eol = find(p, (size_t)(head + len - p), "\r\n");

		if (!eol)
			break;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
			const char *v = p + nl + 1;

			while (*v == ' ')
				v++;
			*val = v;
			return (size_t)(eol - v);
		}
		p = eol + 2;
	}
	return 0;
}

/* Handles every complete request in c's buffer. */
static void srv_serve(struct conn *c)
{
	for (;;) {
		const char *end = find(c->buf, c->len, "\r\n\r\n");
		const char *cl, *sg = NULL;
		size_t head, blen, slen;
		struct rec r = { 0 };
		json_int_t id;
		char raw[2 * RELAY_RAW_MAX + 3], answer[512], hx[65];
		enum mode mode;

		if (!end)
			return;
		head = (size_t)(end - c->buf) + 4;
		if (!find_header(c->buf, head, "Content-Length", &cl))
			return;
		blen = strtoul(cl, NULL, 10);
		if (c->len < head + blen)
			return;
		slen = find_header(c->buf, head, "X-Flashbots-Signature", &sg);
		if (!slen)
			snprintf(r.why, sizeof r.why, "no X-Flashbots-Signature");
		else
			r.sig_ok = verify_sig(sg, slen, c->buf + head, blen,
					      &r.sig_addr, r.why, sizeof r.why);
		r.shape_ok = check_body(c->buf + head, blen, &r, &id, raw, sizeof raw);
		keccak256(r.body_hash, (const uint8_t *)c->buf + head, blen);
		pthread_mutex_lock(&S.mu);
		mode = S.mode;
		if (S.nrec < SRV_RECS)
			S.recs[S.nrec++] = r;
		if (mode == M_ONE_OK)
			mode = r.block == S.ok_block ? M_OK : M_ERROR;
		pthread_mutex_unlock(&S.mu);
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
			srv_send(c->fd, 200, answer);
		} else if (mode == M_ERROR) {
			snprintf(answer, sizeof answer, "{\"jsonrpc\":\"2.0\",\"id\":%lld,"
				 "\"error\":{\"code\":-32000,\"message\":\"bundle "
				 "rejected: simulation failed\"}}", (long long)id);
			srv_send(c->fd, 200, answer);
		} else if (mode == M_FORBIDDEN) {
			snprintf(answer, sizeof answer, "{\"jsonrpc\":\"2.0\",\"id\":%lld,"
				 "\"error\":{\"code\":-32600,\"message\":\"signer "
				 "not allowed\"}}", (long long)id);
			srv_send(c->fd, 403, answer);
		} else if (mode == M_GARBAGE) {
			srv_send(c->fd, 200, "<html>relay maintenance</html>");
		}
		memmove(c->buf, c->buf + head + blen, c->len - head - blen);
		c->len -= head + blen;
	}
}

static void *srv_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd pf[SRV_CONNS + 2];
		int n = 0;

		pf[n++] = (struct pollfd){ S.stop[0], POLLIN, 0 };
		pf[n++] = (struct pollfd){ S.lfd, POLLIN, 0 };
		for (int i = 0; i < SRV_CONNS; i++)
			pf[n++] = (struct pollfd){ S.c[i].fd, POLLIN, 0 };
		if (poll(pf, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		if (pf[0].revents)
			break;
		if (pf[1].revents & POLLIN) {
			int fd = accept(S.lfd, NULL, NULL);

			for (int i = 0; fd >= 0 && i < SRV_CONNS; i++) {
				if (S.c[i].fd < 0) {
					S.c[i].fd = fd;
					S.c[i].len = 0;
					fd = -1;
				}
			}
			if (fd >= 0)
				close(fd);
		}
		for (int i = 0; i < SRV_CONNS; i++) {
			struct conn *c = &S.c[i];
			ssize_t r;

			if (c->fd < 0 || !pf[i + 2].revents)
				continue;
			r = read(c->fd, c->buf + c->len, SRV_BUF - c->len);
			if (r <= 0) {
				close(c->fd);
				c->fd = -1;
				continue;
			}
			c->len += (size_t)r;
			srv_serve(c);
		}
	}
	return NULL;
}

static void srv_start(enum mode mode, const char *raw_hex)
{
	struct sockaddr_in sa = { 0 };
	socklen_t sl = sizeof sa;

	pthread_mutex_lock(&S.mu);
	S.mode = mode;
	S.nrec = 0;
	S.ok_block = 0;
	snprintf(S.raw_hex, sizeof S.raw_hex, "%s", raw_hex);
	pthread_mutex_unlock(&S.mu);
	for (int i = 0; i < SRV_CONNS; i++) {
		S.c[i].fd = -1;
		if (!S.c[i].buf)
			S.c[i].buf = malloc(SRV_BUF);
	}
	S.lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(S.lfd >= 0 && bind(S.lfd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	      listen(S.lfd, 16) == 0 &&
	      getsockname(S.lfd, (struct sockaddr *)&sa, &sl) == 0);
	S.port = ntohs(sa.sin_port);
	CHECK(pipe(S.stop) == 0);
	CHECK(pthread_create(&S.th, NULL, srv_main, NULL) == 0);
}

static void srv_stop(void)
{
	CHECK(write(S.stop[1], "x", 1) == 1);
	pthread_join(S.th, NULL);
	for (int i = 0; i < SRV_CONNS; i++)
		if (S.c[i].fd >= 0)
			close(S.c[i].fd);
	close(S.lfd);
	close(S.stop[0]);
	close(S.stop[1]);
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

static void srv_url(char *url, size_t n)
{
	snprintf(url, n, "http://127.0.0.1:%d/", S.port);
}

static void check_recs(int want, config_relay_mode_t m, uint64_t first_block)
{
	pthread_mutex_lock(&S.mu);
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
	pthread_mutex_unlock(&S.mu);
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
	char url[64];
	relay_t *r;
	relay_stats_t st;

	srv_start(M_OK, raw_hex);
	srv_url(url, sizeof url);
	cfg_for(url, CONFIG_RELAY_BUNDLE);
	CHECK_OK(relay_new(&r, L, &C, S_signer, NULL));
	memset(&got, 0, sizeof got);
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
	pthread_mutex_lock(&S.mu);
	for (int i = 0; i < S.nrec; i++)
		if (S.recs[i].block == 101)
			CHECK_EQ_MEM(got.res.hash, S.recs[i].body_hash, 32);
	pthread_mutex_unlock(&S.mu);
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
	char url[64];
	relay_t *r;
	relay_opts_t o = { .bundle_blocks = 5 };

	srv_start(M_OK, raw_hex);
	srv_url(url, sizeof url);
	cfg_for(url, CONFIG_RELAY_BUNDLE);
	CHECK_OK(relay_new(&r, L, &C, S_signer, &o));
	memset(&got, 0, sizeof got);
	CHECK_OK(relay_submit(r, &G, raw, raw_len, 7, done_cb, NULL));
	CHECK(run_for(5000));
	CHECK_EQ_INT(got.res.accepted, 5);
	CHECK_EQ_INT(got.res.first_block, 8);
	CHECK_EQ_INT(got.res.last_block, 12);
	check_recs(5, CONFIG_RELAY_BUNDLE, 8);
	pthread_mutex_lock(&S.mu);
	S.nrec = 0;
	pthread_mutex_unlock(&S.mu);
	CHECK_OK(relay_submit(r, &G, raw, raw_len, 8, done_cb, NULL));
	CHECK(run_for(5000));
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
	char url[64];
	relay_t *r;
	uint8_t th[32];

	srv_start(M_OK, raw_hex);
	srv_url(url, sizeof url);
	cfg_for(url, CONFIG_RELAY_PRIVATE_TX);
	CHECK_OK(relay_new(&r, L, &C, S_signer, NULL));
	memset(&got, 0, sizeof got);
	CHECK_OK(relay_submit(r, &G, raw, raw_len, 1000, done_cb, NULL));
	CHECK(run_for(5000));
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
	char url[64];
	relay_t *r;

	srv_start(M_WRONG_HASH, raw_hex);
	srv_url(url, sizeof url);
	cfg_for(url, CONFIG_RELAY_PRIVATE_TX);
	CHECK_OK(relay_new(&r, L, &C, S_signer, NULL));
	memset(&got, 0, sizeof got);
	CHECK_OK(relay_submit(r, &G, raw, raw_len, 5, done_cb, NULL));
	CHECK(run_for(5000));
	CHECK_ERR(got.res.err, KERR_RPC_REPLY);
	CHECK_EQ_INT(got.res.accepted, 0);
	CHECK(!got.res.has_hash);
	CHECK_EQ_INT(got.res.http_status, 200);
	relay_free(r);
	srv_stop();
}

static void test_error(void)
{
	char url[64];
	relay_t *r;
	relay_stats_t st;

	srv_start(M_ERROR, raw_hex);
	srv_url(url, sizeof url);
	cfg_for(url, CONFIG_RELAY_BUNDLE);
	CHECK_OK(relay_new(&r, L, &C, S_signer, NULL));
	memset(&got, 0, sizeof got);
	CHECK_OK(relay_submit(r, &G, raw, raw_len, 100, done_cb, NULL));
	CHECK(run_for(5000));
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
	char url[64];
	relay_t *r;

	srv_start(M_FORBIDDEN, raw_hex);
	srv_url(url, sizeof url);
	cfg_for(url, CONFIG_RELAY_PRIVATE_TX);
	CHECK_OK(relay_new(&r, L, &C, S_signer, NULL));
	memset(&got, 0, sizeof got);
	CHECK_OK(relay_submit(r, &G, raw, raw_len, 100, done_cb, NULL));
	CHECK(run_for(5000));
	CHECK_ERR(got.res.err, KERR_RPC_ERROR);
	CHECK_EQ_INT(got.res.http_status, 403);
	CHECK_EQ_INT(got.res.code, -32600);
	CHECK_EQ_STR(got.res.message, "signer not allowed");
	relay_free(r);
	srv_stop();
}

static void test_partial(void)
{
	char url[64];
	relay_t *r;
	relay_stats_t st;

	srv_start(M_ONE_OK, raw_hex);
	pthread_mutex_lock(&S.mu);
	S.ok_block = 101;
	pthread_mutex_unlock(&S.mu);
	srv_url(url, sizeof url);
	cfg_for(url, CONFIG_RELAY_BUNDLE);
	CHECK_OK(relay_new(&r, L, &C, S_signer, NULL));
	memset(&got, 0, sizeof got);
	CHECK_OK(relay_submit(r, &G, raw, raw_len, 100, done_cb, NULL));
	CHECK(run_for(5000));
	/* Block 101 accepted, 102 and 103 refused: a success, with the
	 * lowest failure to show. */
	CHECK_ERR(got.res.err, KERR_OK);
	CHECK_EQ_INT(got.res.accepted, 1);
	CHECK_EQ_INT(got.res.requests, RELAY_BLOCKS_DEFAULT);
	CHECK_ERR(got.res.fail_err, KERR_RPC_ERROR);
	CHECK_EQ_INT(got.res.fail_block, 102);
	CHECK_EQ_INT(got.res.code, -32000);
	CHECK(got.res.has_hash);
	pthread_mutex_lock(&S.mu);
	for (int i = 0; i < S.nrec; i++)
		if (S.recs[i].block == 101)
			CHECK_EQ_MEM(got.res.hash, S.recs[i].body_hash, 32);
	pthread_mutex_unlock(&S.mu);
	relay_stats(r, &st);
	CHECK_EQ_INT(st.accepted, 1);
	CHECK_EQ_INT(st.rejected, RELAY_BLOCKS_DEFAULT - 1);
	relay_free(r);
	srv_stop();
}

static void test_garbage(void)
{
	char url[64];
	relay_t *r;
	relay_stats_t st;

	srv_start(M_GARBAGE, raw_hex);
	srv_url(url, sizeof url);
	cfg_for(url, CONFIG_RELAY_PRIVATE_TX);
	CHECK_OK(relay_new(&r, L, &C, S_signer, NULL));
	memset(&got, 0, sizeof got);
	CHECK_OK(relay_submit(r, &G, raw, raw_len, 100, done_cb, NULL));
	CHECK(run_for(5000));
	CHECK_ERR(got.res.err, KERR_JSON);
	CHECK_EQ_INT(got.res.accepted, 0);
	relay_stats(r, &st);
	CHECK_EQ_INT(st.failed, 1);
	relay_free(r);
	srv_stop();
}

/* A relay that never answers costs the timeout, and the loop goes on. */
static int ticks;
static loop_timer_t tick_t;

static void tick_cb(loop_t *loop, void *arg)
{
	(void)loop;
	(void)arg;
	ticks++;
	loop_timer_arm_ms(&tick_t, 10);
}

static void test_timeout(void)
{
	char url[64];
	relay_t *r;
	relay_opts_t o = { .timeout_ms = 300 };
	int64_t t0;

	srv_start(M_SILENT, raw_hex);
	srv_url(url, sizeof url);
	cfg_for(url, CONFIG_RELAY_BUNDLE);
	CHECK_OK(relay_new(&r, L, &C, S_signer, &o));
	memset(&got, 0, sizeof got);
	ticks = 0;
	loop_timer_init(&tick_t, L, tick_cb, NULL);
	loop_timer_arm_ms(&tick_t, 10);
	t0 = loop_now_ms(L);
	CHECK_OK(relay_submit(r, &G, raw, raw_len, 100, done_cb, NULL));
	CHECK(run_for(5000));
	loop_timer_cancel(&tick_t);
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
	CHECK_OK(relay_submit(r, &G, raw, raw_len, 100, done_cb, NULL));
	CHECK(run_for(5000));
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
	char url[64];
	relay_t *r;
	relay_stats_t st;
	config_gas_t other;
	signer_t *nokey;

	srv_start(M_OK, raw_hex);
	srv_url(url, sizeof url);
	cfg_for(url, CONFIG_RELAY_BUNDLE);
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
	pthread_mutex_init(&S.mu, NULL);
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
	for (int i = 0; i < SRV_CONNS; i++)
		free(S.c[i].buf);
	return t_done();
}
