/*
 * relaysrv.h: a private relay played by an HTTP server thread of the test
 * (tests/httpsrv.h), for the tests of the relay joined to the tracker
 * (test_tracker's fake chain, test_run_private_anvil's anvil).
 * Header-only like test.h; one relay per test program (the global RS).
 *
 * Like a real relay it trusts nothing keeper says about itself: every
 * request's X-Flashbots-Signature ("0x<address>:0x<65-byte signature>") is
 * checked by recovering the signer with libsecp256k1 from the EIP-191
 * digest of the text "0x" + hex(keccak256(body)), and the recovered address
 * must be the one the header names.  The body must be a JSON-RPC 2.0 call
 * of eth_sendBundle ([{"txs":["0x<raw>"],"blockNumber":"0x<n>"}]) or
 * eth_sendPrivateTransaction ([{"tx":"0x<raw>","maxBlockNumber":"0x<n>"}]),
 * exactly those members.  Each request is recorded (method, raw
 * transaction, its hash, block, recovered signer, the first thing wrong)
 * and answered as the relays answer: a bundle hash (keccak of the body) or
 * the transaction's hash; while RS.reject is above zero a request is
 * answered with a JSON-RPC error instead (and reject counts down), and a
 * request that is not well-formed or not well-signed always is.
 *
 * What the relay does with what it accepted is the test's business (it may
 * hand the raw transaction to a chain); RS.h.mu guards RS between the
 * server thread and the test.
 */
#ifndef TESTS_RELAYSRV_H
#define TESTS_RELAYSRV_H

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "signer/addr.h"
#include "signer/hex.h"
#include "signer/keccak.h"
#include "signer/tx.h"
#include "tests/httpsrv.h"

#define RELAYSRV_RECS 256
#define RELAYSRV_RAW 4096

typedef struct {
	bool bundle;              /* eth_sendBundle, else eth_sendPrivateTransaction */
	bool ok;                  /* well-formed and well-signed */
	bool sig_ok;
	addr_t who;               /* the recovered signer (sig_ok) */
	char why[160];            /* the first thing wrong */
	uint8_t raw[RELAYSRV_RAW];
	size_t raw_len;
	uint8_t hash[32];         /* of the raw transaction */
	uint64_t block;           /* blockNumber / maxBlockNumber */
	int64_t at_ms;            /* wall clock at arrival */
} relaysrv_rec_t;

static struct {
	httpsrv_t h;
	int reject;               /* answer this many more with an error */
	relaysrv_rec_t recs[RELAYSRV_RECS];
	int nrec;
	secp256k1_context *secp;
} RS;

static int64_t relaysrv_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The signer of body per header hdr, recovered independently of
 * keeper/relay (only keccak and the address hash are shared). */
static bool relaysrv_verify(const char *hdr, size_t hlen, const char *body, size_t blen,
			    addr_t *who, char *why, size_t wn)
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
	    !secp256k1_ecdsa_recoverable_signature_parse_compact(RS.secp, &rs, sig,
								  sig[64] - 27) ||
	    !secp256k1_ecdsa_recover(RS.secp, &pk, &rs, digest) ||
	    !secp256k1_ec_pubkey_serialize(RS.secp, pub65, &plen, &pk,
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

/* The body's call into r; its id into *id (-1 when unreadable). */
static bool relaysrv_body(const char *body, size_t len, relaysrv_rec_t *r, json_int_t *id)
{
	json_t *j = json_loadb(body, len, 0, NULL), *p, *o, *v;
	const char *m, *hex, *bkey;
	bool ok = false;

	*id = -1;
	if (!j || !json_is_object(j) || json_object_size(j) != 4 ||
	    !json_is_integer(json_object_get(j, "id")) ||
	    !json_is_string(json_object_get(j, "jsonrpc")) ||
	    strcmp(json_string_value(json_object_get(j, "jsonrpc")), "2.0") ||
	    !json_is_string(json_object_get(j, "method"))) {
		snprintf(r->why, sizeof r->why, "not a JSON-RPC 2.0 call");
		goto out;
	}
	*id = json_integer_value(json_object_get(j, "id"));
	m = json_string_value(json_object_get(j, "method"));
	r->bundle = !strcmp(m, "eth_sendBundle");
	if (!r->bundle && strcmp(m, "eth_sendPrivateTransaction")) {
		snprintf(r->why, sizeof r->why, "method %s", m);
		goto out;
	}
	p = json_object_get(j, "params");
	if (!json_is_array(p) || json_array_size(p) != 1 ||
	    !json_is_object(o = json_array_get(p, 0)) || json_object_size(o) != 2) {
		snprintf(r->why, sizeof r->why, "params");
		goto out;
	}
	if (r->bundle) {
		v = json_object_get(o, "txs");
		hex = json_is_array(v) && json_array_size(v) == 1 ?
		      json_string_value(json_array_get(v, 0)) : NULL;
		bkey = "blockNumber";
	} else {
		hex = json_string_value(json_object_get(o, "tx"));
		bkey = "maxBlockNumber";
	}
	if (!hex || strncmp(hex, "0x", 2) ||
	    hex_decode(r->raw, sizeof r->raw, &r->raw_len, hex + 2, strlen(hex) - 2)) {
		snprintf(r->why, sizeof r->why, "raw transaction");
		goto out;
	}
	tx_hash(r->raw, r->raw_len, r->hash);
	v = json_object_get(o, bkey);
	if (!json_is_string(v) || strncmp(json_string_value(v), "0x", 2)) {
		snprintf(r->why, sizeof r->why, "%s", bkey);
		goto out;
	}
	r->block = strtoull(json_string_value(v) + 2, NULL, 16);
	ok = true;
out:
	json_decref(j);
	return ok;
}

static void relaysrv_serve(httpsrv_conn_t *c)
{
	size_t head, blen;

	while (httpsrv_request(c, &head, &blen)) {
		relaysrv_rec_t r;
		const char *sg = NULL;
		size_t slen = httpsrv_header(c->buf, head, "X-Flashbots-Signature", &sg);
		const char *body = c->buf + head;
		char answer[512], hx[65];
		uint8_t h[32];
		json_int_t id;
		bool shape, reject;

		memset(&r, 0, sizeof r);
		r.at_ms = relaysrv_wall_ms();
		shape = relaysrv_body(body, blen, &r, &id);
		if (!slen)
			snprintf(r.why, sizeof r.why, "no X-Flashbots-Signature");
		else
			r.sig_ok = relaysrv_verify(sg, slen, body, blen, &r.who, r.why,
						   sizeof r.why);
		r.ok = shape && r.sig_ok;
		pthread_mutex_lock(&RS.h.mu);
		reject = !r.ok || RS.reject > 0;
		if (r.ok && RS.reject > 0)
			RS.reject--;
		if (RS.nrec < RELAYSRV_RECS)
			RS.recs[RS.nrec++] = r;
		pthread_mutex_unlock(&RS.h.mu);
		if (reject) {
			snprintf(answer, sizeof answer, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":"
				 "{\"code\":-32000,\"message\":\"%s\"}}", (long long)id,
				 r.ok ? "bundle rejected: simulation failed" : "unauthorized");
		} else {
			if (r.bundle)
				keccak256(h, (const uint8_t *)body, blen);
			else
				memcpy(h, r.hash, 32);
			hex_encode(hx, h, 32);
			hx[64] = 0;
			if (r.bundle)
				snprintf(answer, sizeof answer, "{\"jsonrpc\":\"2.0\",\"id\":%lld,"
					 "\"result\":{\"bundleHash\":\"0x%s\"}}", (long long)id, hx);
			else
				snprintf(answer, sizeof answer, "{\"jsonrpc\":\"2.0\",\"id\":%lld,"
					 "\"result\":\"0x%s\"}", (long long)id, hx);
		}
		httpsrv_send(c->fd, 200, "application/json", answer);
		httpsrv_consume(c, head + blen);
	}
}

/* Start the relay (its port in RS.h.port), once per program; CHECKed. */
static __attribute__((unused)) void relaysrv_start(void)
{
	if (!RS.secp)
		RS.secp = secp256k1_context_create(SECP256K1_CONTEXT_VERIFY);
	pthread_mutex_init(&RS.h.mu, NULL);
	RS.nrec = 0;
	RS.reject = 0;
	httpsrv_start(&RS.h, relaysrv_serve);
}

static __attribute__((unused)) void relaysrv_stop(void)
{
	httpsrv_stop(&RS.h);
	secp256k1_context_destroy(RS.secp);
	RS.secp = NULL;
}

/* Requests recorded so far. */
static __attribute__((unused)) int relaysrv_count(void)
{
	int n;

	pthread_mutex_lock(&RS.h.mu);
	n = RS.nrec;
	pthread_mutex_unlock(&RS.h.mu);
	return n;
}

/* A copy of record i (0 <= i < relaysrv_count()). */
static __attribute__((unused)) relaysrv_rec_t relaysrv_rec(int i)
{
	relaysrv_rec_t r;

	pthread_mutex_lock(&RS.h.mu);
	r = RS.recs[i];
	pthread_mutex_unlock(&RS.h.mu);
	return r;
}

static __attribute__((unused)) void relaysrv_reject(int n)
{
	pthread_mutex_lock(&RS.h.mu);
	RS.reject = n;
	pthread_mutex_unlock(&RS.h.mu);
}

#endif
