/*
 * rpc_http: rpc's transport on keeper/http (see rpc_http.h).
 *
 * A request context is taken from a free stack in send() and given back
 * before rpc's completion runs, because that completion may fail over at
 * once, i.e. call send() again, and must find the context free.
 */
#include "keeper/rpc_http.h"

#include <stdlib.h>
#include <string.h>

#include "keeper/log.h"

struct req {
	struct rpc_http *t;
	size_t url;
	rpc_net_done_fn done;
	void *done_arg;
};

struct rpc_http {
	loop_t *loop;
	http_t *http;
	char *urls_buf;                 /* the copied URLs, NUL-separated */
	const char *urls[RPC_MAX_ENDPOINTS];
	size_t n;
	struct req *reqs;               /* max_inflight contexts */
	struct req **free_;             /* stack of free contexts */
	uint32_t nreqs, nfree;
};

/* Methods that may be sent twice without harm.  Exact names: a prefix
 * such as "eth_get" would take in eth_getFilterChanges, which consumes
 * the filter's state and so must not be repeated. */
static const char *const idempotent[] = {
	"eth_blockNumber", "eth_chainId", "eth_call", "eth_estimateGas",
	"eth_feeHistory", "eth_gasPrice", "eth_maxPriorityFeePerGas",
	"eth_blobBaseFee", "eth_syncing", "eth_getBalance", "eth_getCode",
	"eth_getStorageAt", "eth_getTransactionCount",
	"eth_getTransactionByHash", "eth_getTransactionReceipt",
	"eth_getBlockByNumber", "eth_getBlockByHash", "eth_getLogs",
	"eth_getFilterLogs", "eth_sendRawTransaction", "net_version",
	"web3_clientVersion",
};

bool rpc_http_idempotent(const char *method, size_t len)
{
	if (!method)
		return false;
	for (size_t i = 0; i < sizeof idempotent / sizeof idempotent[0]; i++)
		if (strlen(idempotent[i]) == len &&
		    memcmp(idempotent[i], method, len) == 0)
			return true;
	return false;
}

/*
 * The method name of a body rpc_build() wrote: the text after the first
 * "method":" up to the next quote (method names are [A-Za-z0-9_], and
 * "method" precedes "params", so the first match is the member).  A body
 * without one gives an empty name, which is not idempotent.
 */
static void body_method(const char *body, size_t len, const char **m,
			size_t *mlen)
{
	static const char key[] = "\"method\":\"";
	const size_t klen = sizeof key - 1;

	*m = NULL;
	*mlen = 0;
	for (size_t i = 0; i + klen <= len; i++) {
		if (memcmp(body + i, key, klen) != 0)
			continue;
		size_t a = i + klen, b = a;
		while (b < len && body[b] != '"')
			b++;
		if (b < len) {
			*m = body + a;
			*mlen = b - a;
		}
		return;
	}
}

rpc_net_t rpc_http_net(http_kind_t k)
{
	switch (k) {
	case HTTP_OK:
	case HTTP_STATUS:
		return RPC_NET_OK;
	case HTTP_ERR_TIMEOUT:
		return RPC_NET_TIMEOUT;
	case HTTP_ERR_CONNECT:
		return RPC_NET_CONNECT;
	case HTTP_ERR_TOO_LARGE:
		return RPC_NET_TOO_LARGE;
	case HTTP_ERR_SEND:
	case HTTP_ERR_RECV:
	case HTTP_ERR_OTHER:
		break;
	}
	return RPC_NET_IO;
}

static void on_http(const http_result_t *res, void *ctx)
{
	struct req *r = ctx;
	struct rpc_http *t = r->t;
	rpc_net_done_fn done = r->done;
	void *done_arg = r->done_arg;
	rpc_net_result_t nr;

	nr.net = rpc_http_net(res->kind);
	if (nr.net == RPC_NET_OK) {
		nr.http_status = (int)res->status;
		nr.body = res->body;
		nr.len = res->len;
	} else {
		nr.http_status = 0;
		nr.body = NULL;
		nr.len = 0;
		log_debug("rpc", "endpoint %zu (%s): %s: %s", r->url,
			  t->urls[r->url], http_kind_str(res->kind), res->error);
	}
	t->free_[t->nfree++] = r;
	done(done_arg, &nr);
}

static kerr_t send_cb(void *ctx, size_t url_index, const char *body,
		      size_t len, uint32_t timeout_ms, rpc_net_done_fn done,
		      void *done_arg)
{
	struct rpc_http *t = ctx;
	const char *m;
	size_t mlen;
	struct req *r;
	kerr_t err;

	if (url_index >= t->n || !done || !timeout_ms)
		return KERR_ARG;
	if (!t->nfree)
		return KERR_RPC_BUSY;
	r = t->free_[--t->nfree];
	r->url = url_index;
	r->done = done;
	r->done_arg = done_arg;
	body_method(body, len, &m, &mlen);
	err = http_post(t->http, t->urls[url_index], body, len, timeout_ms,
			rpc_http_idempotent(m, mlen) ? HTTP_F_RETRY : 0,
			on_http, r);
	if (err) {
		t->nfree++;   /* r is still on top of the stack */
		return err == KERR_BUF ? KERR_RPC_BUSY : err;
	}
	return KERR_OK;
}

kerr_t rpc_http_new(loop_t *loop, const char *const *urls, size_t n,
		    const http_config_t *http, rpc_http_t **out)
{
	http_config_t hc = { 0 };
	struct rpc_http *t;
	size_t total = 0;
	char *p;
	kerr_t err;

	*out = NULL;
	if (!loop || !urls || n < 1 || n > RPC_MAX_ENDPOINTS)
		return KERR_ARG;
	for (size_t i = 0; i < n; i++) {
		if (!urls[i] || (strncmp(urls[i], "http://", 7) &&
				 strncmp(urls[i], "https://", 8)))
			return KERR_ARG;
		total += strlen(urls[i]) + 1;
	}
	if (http)
		hc = *http;
	if (!hc.max_inflight)
		hc.max_inflight = RPC_HTTP_INFLIGHT_DEFAULT;
	if (!(t = calloc(1, sizeof *t)))
		return KERR_NOMEM;
	t->loop = loop;
	t->n = n;
	t->nreqs = hc.max_inflight;
	t->urls_buf = malloc(total);
	t->reqs = calloc(t->nreqs, sizeof *t->reqs);
	t->free_ = calloc(t->nreqs, sizeof *t->free_);
	if (!t->urls_buf || !t->reqs || !t->free_) {
		rpc_http_free(t);
		return KERR_NOMEM;
	}
	if ((err = http_create(loop, &hc, &t->http))) {
		rpc_http_free(t);
		return err;
	}
	p = t->urls_buf;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(urls[i]) + 1;
		memcpy(p, urls[i], l);
		t->urls[i] = p;
		p += l;
	}
	for (uint32_t i = 0; i < t->nreqs; i++) {
		t->reqs[i].t = t;
		t->free_[i] = &t->reqs[t->nreqs - 1 - i];
	}
	t->nfree = t->nreqs;
	*out = t;
	return KERR_OK;
}

void rpc_http_free(rpc_http_t *t)
{
	if (!t)
		return;
	http_destroy(t->http);
	free(t->urls_buf);
	free(t->reqs);
	free(t->free_);
	free(t);
}

rpc_transport_t rpc_http_transport(rpc_http_t *t)
{
	return (rpc_transport_t){ .ctx = t, .send = send_cb };
}

uint64_t rpc_http_clock(void *loop)
{
	int64_t ms = loop_now_ms(loop);
	return ms > 0 ? (uint64_t)ms : 0;
}

const http_stats_t *rpc_http_stats(const rpc_http_t *t)
{
	return http_stats(t->http);
}
