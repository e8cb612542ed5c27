/*
 * test_sim: keeper/sim's request texts, reply readers and scheduling.
 *
 * Texts and replies come from tests/fixtures/sim (recorded from anvil by
 * record.sh there): the builder must produce exactly the params text that
 * was sent, and the readers must find in the replies the balances the
 * recording chain had (the vault: 6 ether, 777e18 tokens).  Malformed
 * replies are the recorded ones altered one member at a time, each
 * expected to fail with its own code and member.  Scheduling (cache,
 * joining, the FIFO bound, deadlines, the fallback to debug_traceCall) runs
 * over the real rpc client with a scripted transport and a clock that is
 * a variable, as tests/test_rpc.c does.
 */
#include "keeper/sim.h"

#include "signer/hex.h"
#include "tests/test.h"

#define TOK "0x5fbdb2315678afecb367f032d93f642f64180aa3"
#define VAULT "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"
#define A2 "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"
#define A3 "0x90f79bf6eb2c4f870365e785982e1f101e93b906"
#define PAD "000000000000000000000000"

static const char drain_in[] = "0x6382d9ad" PAD "5fbdb2315678afecb367f032d93f642f64180aa3"
	PAD "90f79bf6eb2c4f870365e785982e1f101e93b906";
static const char withdraw_in[] =
	"0x2e1a7d4d000000000000000000000000000000000000000000000000016345785d8a0000";
static const char revert_in[] =
	"0x2e1a7d4d00000000000000000000000000000000000000000000000000000000000003e8";
static const char deposit_in[] = "0xd0e30db0";

static addr_t tokens[1];
static config_watch_t W, W0;   /* the vault with its token; without */

static addr_t A(const char *s)
{
	addr_t a;

	addr_parse(&a, s, strlen(s));
	return a;
}

static u256_t U(const char *dec)
{
	u256_t u;

	u256_from_dec(&u, dec, strlen(dec));
	return u;
}

static void setup(void)
{
	tokens[0] = A(TOK);
	W = (config_watch_t){ .name = "vault", .address = A(VAULT), .tokens = tokens, .ntokens = 1 };
	W0 = (config_watch_t){ .name = "vault", .address = A(VAULT) };
}

static event_tx_t mktx(const char *from, const char *value_hex, const char *input, uint8_t hb)
{
	event_tx_t t;

	memset(&t, 0, sizeof t);
	t.full = true;
	memset(t.hash, hb, 32);
	t.from = A(from);
	t.has_to = true;
	t.to = A(VAULT);
	u256_from_hex(&t.value, value_hex, strlen(value_hex));
	t.gas = 0x30d40;
	t.type = 2;
	t.input = (event_hex_t){ input, strlen(input) };
	return t;
}

static char *fixture(const char *name, size_t *len)
{
	char path[256];
	char *s;

	snprintf(path, sizeof path, "tests/fixtures/sim/%s", name);
	s = t_read_file(path, len);
	CHECK_MSG(s != NULL, "cannot read %s", path);
	return s;
}

static bool u_eq(const u256_t *a, const char *dec)
{
	u256_t b = U(dec);

	return u256_cmp(a, &b) == 0;
}

/* ---- texts ------------------------------------------------------------------ */

static void check_build(const char *params, kerr_t (*build)(char *, size_t, size_t *, const event_tx_t *, int),
			const event_tx_t *tx, int arg)
{
	char out[16384];
	size_t len = 0, flen;
	char *want = fixture(params, &flen);

	if (!want)
		return;
	CHECK_OK(build(out, sizeof out, &len, tx, arg));
	CHECK_EQ_INT(len, flen);
	CHECK_MSG(len == flen && memcmp(out, want, len) == 0, "%s differs:\n%.*s\n%s", params,
		  (int)len, out, want);
	free(want);
}

static kerr_t b_sim(char *o, size_t c, size_t *l, const event_tx_t *t, int arg)
{
	(void)arg;
	return sim_build_simulate(o, c, l, &W, t);
}

static kerr_t b_trace(char *o, size_t c, size_t *l, const event_tx_t *t, int arg)
{
	return sim_build_trace(o, c, l, t, (sim_tracer_t)arg);
}

static void test_build_texts(void)
{
	event_tx_t drain = mktx(A3, "0x0", drain_in, 1);
	event_tx_t dep = mktx(A3, "0xde0b6b3a7640000", deposit_in, 2);
	event_tx_t wd = mktx(A2, "0x0", withdraw_in, 3);
	event_tx_t rv = mktx(A3, "0x0", revert_in, 4);

	check_build("simulate-drain.params", b_sim, &drain, 0);
	check_build("simulate-deposit.params", b_sim, &dep, 0);
	check_build("simulate-withdraw.params", b_sim, &wd, 0);
	check_build("simulate-revert.params", b_sim, &rv, 0);
	check_build("prestate-drain.params", b_trace, &drain, SIM_TRACE_PRESTATE);
	check_build("prestate-deposit.params", b_trace, &dep, SIM_TRACE_PRESTATE);
	check_build("calls-drain.params", b_trace, &drain, SIM_TRACE_CALLS);
	check_build("calls-revert.params", b_trace, &rv, SIM_TRACE_CALLS);
}

static void test_build_small(void)
{
	/* A watch without tokens reads ETH only, before and after. */
	event_tx_t t = mktx(A3, "0x10", "0x", 1);
	char out[4096];
	size_t len;
	static const char want[] =
		"[{\"blockStateCalls\":[{\"stateOverrides\":{\"0x00000000000000000000000000000000000b0b0b\":"
		"{\"code\":\"0x6000353160005260206000f3\"}},\"calls\":["
		"{\"to\":\"0x00000000000000000000000000000000000b0b0b\",\"data\":\"0x" PAD
		"e7f1725e7734ce288f8367e1bb143e90bb3f0512\"},"
		"{\"from\":\"" A3 "\",\"to\":\"" VAULT "\",\"value\":\"0x10\",\"data\":\"0x\",\"gas\":\"0x30d40\"},"
		"{\"to\":\"0x00000000000000000000000000000000000b0b0b\",\"data\":\"0x" PAD
		"e7f1725e7734ce288f8367e1bb143e90bb3f0512\"}]}],\"validation\":false},\"latest\"]";

	CHECK_OK(sim_build_simulate(out, sizeof out, &len, &W0, &t));
	CHECK_EQ_INT(len, sizeof want - 1);
	out[len < sizeof out ? len : sizeof out - 1] = 0;
	CHECK_EQ_STR(out, want);
	/* One byte short of room. */
	CHECK_ERR(sim_build_simulate(out, sizeof want - 2, &len, &W0, &t), KERR_BUF);
	CHECK_ERR(sim_build_trace(out, 10, &len, &t, SIM_TRACE_CALLS), KERR_BUF);
	CHECK_ERR(sim_build_trace(out, sizeof out, &len, &t, (sim_tracer_t)9), KERR_ARG);
}

static void test_build_refuses(void)
{
	char out[512];
	size_t len;
	event_tx_t t = mktx(A3, "0x0", "0xd0e30db0", 1);
	char *big;
	size_t n = 2 + 2 * (size_t)SIM_INPUT_MAX + 2;

	t.full = false;
	CHECK_ERR(sim_build_simulate(out, sizeof out, &len, &W, &t), KERR_ARG);
	t.full = true;
	t.has_to = false;
	CHECK_ERR(sim_build_trace(out, sizeof out, &len, &t, SIM_TRACE_PRESTATE), KERR_ARG);
	t.has_to = true;
	/* Calldata is copied into JSON: a quote must never get through. */
	t.input = (event_hex_t){ "0x\"}", 4 };
	CHECK_ERR(sim_build_simulate(out, sizeof out, &len, &W, &t), KERR_HEX_CHAR);
	t.input = (event_hex_t){ "0xabc", 5 };
	CHECK_ERR(sim_build_simulate(out, sizeof out, &len, &W, &t), KERR_HEX_ODD);
	t.input = (event_hex_t){ "d0e30db0", 8 };
	CHECK_ERR(sim_build_simulate(out, sizeof out, &len, &W, &t), KERR_HEX_PREFIX);
	big = malloc(n);
	memset(big, 'a', n);
	big[0] = '0';
	big[1] = 'x';
	t.input = (event_hex_t){ big, n };
	CHECK_ERR(sim_build_simulate(out, sizeof out, &len, &W, &t), KERR_TOO_LONG);
	t.input.len = n - 2;   /* exactly SIM_INPUT_MAX bytes: only the buffer is short */
	CHECK_ERR(sim_build_simulate(out, sizeof out, &len, &W, &t), KERR_BUF);
	free(big);
}

/* ---- replies ------------------------------------------------------------------ */

static jtok_t toks[65536];
static jtok_doc_t D;

/* Parse text and return the token of "result", or JTOK_NONE. */
static size_t result_of(const char *text, size_t len)
{
	size_t r;

	jtok_init(&D, toks, sizeof toks / sizeof toks[0]);
	if (jtok_parse(&D, text, len) != KERR_OK || jtok_key(&D, 0, "result", 6, &r) != KERR_OK) {
		CHECK_MSG(0, "fixture not parsed: %.80s", text);
		return JTOK_NONE;
	}
	return r;
}

typedef kerr_t (*parse_fn)(const jtok_doc_t *, size_t, const config_watch_t *, sim_result_t *);

static kerr_t parse_text(parse_fn fn, const char *text, sim_result_t *r)
{
	size_t res = result_of(text, strlen(text));

	memset(r, 0, sizeof *r);
	if (res == JTOK_NONE)
		return KERR_JSON;
	return fn(&D, res, &W, r);
}

static kerr_t parse_fixture(parse_fn fn, const char *name, sim_result_t *r)
{
	size_t len;
	char *s = fixture(name, &len);
	kerr_t err;

	if (!s)
		return KERR_IO;
	s = realloc(s, len + 1);
	s[len] = 0;
	err = parse_text(fn, s, r);
	free(s);
	return err;
}

#define E6 "6000000000000000000"
#define T777 "777000000000000000000"

static void test_parse_simulate(void)
{
	sim_result_t r;

	CHECK_OK(parse_fixture(sim_parse_simulate, "simulate-drain.json", &r));
	CHECK_EQ_INT(r.nassets, 2);
	CHECK(!r.reverted);
	CHECK(r.asset[0].known && r.asset[0].has_balance);
	CHECK(u_eq(&r.asset[0].before, E6));
	CHECK(u_eq(&r.asset[0].after, "0"));
	CHECK(u_eq(&r.asset[0].loss, E6));
	CHECK(addr_eq(&r.asset[1].token, &tokens[0]));
	CHECK(u_eq(&r.asset[1].before, T777));
	CHECK(u_eq(&r.asset[1].loss, T777));

	CHECK_OK(parse_fixture(sim_parse_simulate, "simulate-deposit.json", &r));
	CHECK(u_eq(&r.asset[0].after, "7000000000000000000"));
	CHECK(u_eq(&r.asset[0].loss, "0"));
	CHECK(u_eq(&r.asset[1].loss, "0"));

	CHECK_OK(parse_fixture(sim_parse_simulate, "simulate-withdraw.json", &r));
	CHECK(u_eq(&r.asset[0].loss, "100000000000000000"));
	CHECK(u_eq(&r.asset[1].loss, "0"));

	CHECK_OK(parse_fixture(sim_parse_simulate, "simulate-revert.json", &r));
	CHECK(r.reverted);
	CHECK(u_eq(&r.asset[0].loss, "0"));
	CHECK(u_eq(&r.asset[0].before, E6));
}

static void test_parse_trace(void)
{
	sim_result_t r;

	CHECK_OK(parse_fixture(sim_parse_prestate, "prestate-drain.json", &r));
	CHECK(r.asset[0].known && r.asset[0].has_balance);
	CHECK(u_eq(&r.asset[0].before, E6));
	CHECK(u_eq(&r.asset[0].loss, E6));
	CHECK_OK(parse_fixture(sim_parse_calls, "calls-drain.json", &r));
	CHECK(!r.reverted);
	CHECK(r.asset[1].known && !r.asset[1].has_balance);
	CHECK(u_eq(&r.asset[1].loss, T777));

	CHECK_OK(parse_fixture(sim_parse_prestate, "prestate-deposit.json", &r));
	CHECK(u_eq(&r.asset[0].before, E6));
	CHECK(u_eq(&r.asset[0].after, "7000000000000000000"));
	CHECK(u_eq(&r.asset[0].loss, "0"));

	CHECK_OK(parse_fixture(sim_parse_prestate, "prestate-withdraw.json", &r));
	CHECK(u_eq(&r.asset[0].loss, "100000000000000000"));
	CHECK_OK(parse_fixture(sim_parse_calls, "calls-withdraw.json", &r));
	CHECK(u_eq(&r.asset[1].loss, "0"));

	/* The reverting call never touched the vault: absent from the diff. */
	CHECK_OK(parse_fixture(sim_parse_prestate, "prestate-revert.json", &r));
	CHECK(r.asset[0].known && !r.asset[0].has_balance);
	CHECK(u_eq(&r.asset[0].loss, "0"));
	CHECK_OK(parse_fixture(sim_parse_calls, "calls-revert.json", &r));
	CHECK(r.reverted);
}

/* One call of a simulateV1 reply. */
#define CALL(st, data) "{\"returnData\":\"" data "\",\"logs\":[],\"gasUsed\":\"0x1\",\"status\":\"" st "\"}"
#define W6 "0x0000000000000000000000000000000000000000000000000000000000000006"
#define W0_ "0x0000000000000000000000000000000000000000000000000000000000000000"
#define W31 "0x00000000000000000000000000000000000000000000000000000000000006"
#define SIMREPLY(calls) "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"number\":\"0x3\",\"calls\":[" calls "]}]}"

static void want_err(parse_fn fn, const char *text, kerr_t err, const char *what)
{
	sim_result_t r;
	kerr_t got = parse_text(fn, text, &r);

	CHECK_MSG(got == err, "got %s, want %s for %.120s", kerr_name(got), kerr_name(err), text);
	if (what)
		CHECK_EQ_STR(r.what, what);
}

static void test_parse_malformed(void)
{
	sim_result_t r;

	/* A well-formed reply first, so each case below differs in one place. */
	CHECK_OK(parse_text(sim_parse_simulate, SIMREPLY(CALL("0x1", W6) "," CALL("0x1", W6) ","
			    CALL("0x1", "0x") "," CALL("0x1", W0_) "," CALL("0x1", W0_)), &r));
	CHECK(u_eq(&r.asset[0].loss, "6") && u_eq(&r.asset[1].loss, "6"));
	/* a token that returns no word is unread, not an error */
	CHECK_OK(parse_text(sim_parse_simulate, SIMREPLY(CALL("0x1", W6) "," CALL("0x1", W31) ","
			    CALL("0x1", "0x") "," CALL("0x1", W0_) "," CALL("0x1", W0_)), &r));
	CHECK(r.asset[0].known && !r.asset[1].known);
	CHECK_OK(parse_text(sim_parse_simulate, SIMREPLY(CALL("0x1", W6) "," CALL("0x0", "0x") ","
			    CALL("0x1", "0x") "," CALL("0x1", W0_) "," CALL("0x1", W0_)), &r));
	CHECK(!r.asset[1].known);

	want_err(sim_parse_simulate, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", KERR_JSON, "result");
	want_err(sim_parse_simulate, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[]}", KERR_TRUNCATED, "result");
	want_err(sim_parse_simulate, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{},{}]}", KERR_TOO_LONG, "result");
	want_err(sim_parse_simulate, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"number\":\"0x1\"}]}",
		 KERR_NOT_FOUND, "result.0.calls");
	want_err(sim_parse_simulate, SIMREPLY(CALL("0x1", W6) "," CALL("0x1", W6) ","
		 CALL("0x1", "0x") "," CALL("0x1", W0_)), KERR_TRUNCATED, "result.0.calls");
	want_err(sim_parse_simulate, SIMREPLY(CALL("0x1", W6) "," CALL("0x1", W6) ","
		 CALL("0x1", "0x") "," CALL("0x1", W0_) "," CALL("0x1", W0_) "," CALL("0x1", W0_)),
		 KERR_TOO_LONG, "result.0.calls");
	/* our own reader answering short, or failing, is the node's fault */
	want_err(sim_parse_simulate, SIMREPLY(CALL("0x1", W31) "," CALL("0x1", W6) ","
		 CALL("0x1", "0x") "," CALL("0x1", W0_) "," CALL("0x1", W0_)), KERR_HEX_LENGTH,
		 "calls.returnData");
	want_err(sim_parse_simulate, SIMREPLY(CALL("0x0", W6) "," CALL("0x1", W6) ","
		 CALL("0x1", "0x") "," CALL("0x1", W0_) "," CALL("0x1", W0_)), KERR_NUM_RANGE,
		 "calls.status");
	want_err(sim_parse_simulate, SIMREPLY(CALL("0x1", W6) "," CALL("0x1", W6) ","
		 CALL("0x2", "0x") "," CALL("0x1", W0_) "," CALL("0x1", W0_)), KERR_NUM_RANGE,
		 "calls.status");
	want_err(sim_parse_simulate, SIMREPLY(CALL("0x1", W6) "," CALL("0x1", W6) ","
		 "{\"returnData\":\"0x\"}," CALL("0x1", W0_) "," CALL("0x1", W0_)), KERR_NOT_FOUND,
		 "calls.status");
	want_err(sim_parse_simulate, SIMREPLY(CALL("0x1", W6) "," CALL("0x1", W6) ","
		 "{\"status\":\"0x1\"}," CALL("0x1", W0_) "," CALL("0x1", W0_)), KERR_NOT_FOUND,
		 "calls.returnData");
	want_err(sim_parse_simulate, SIMREPLY(CALL("0x1", "6") "," CALL("0x1", W6) ","
		 CALL("0x1", "0x") "," CALL("0x1", W0_) "," CALL("0x1", W0_)), KERR_HEX_PREFIX,
		 "calls.returnData");
	want_err(sim_parse_simulate, SIMREPLY(CALL("0x1", W6) "," CALL("0x1", W6) ","
		 CALL("0x1", "0x") "," CALL("0x1", W0_) "," CALL("yes", W0_)), KERR_HEX_PREFIX,
		 "calls.status");
	want_err(sim_parse_simulate, SIMREPLY(CALL("0x1", W6) "," CALL("0x1", W6) ",7,"
		 CALL("0x1", W0_) "," CALL("0x1", W0_)), KERR_JSON, "calls");

	/* prestate */
	want_err(sim_parse_prestate, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"pre\":{}}}",
		 KERR_NOT_FOUND, "result.post");
	want_err(sim_parse_prestate, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"pre\":[],\"post\":{}}}",
		 KERR_JSON, "result.pre");
	want_err(sim_parse_prestate, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"pre\":{\"0x12\":{}},"
		 "\"post\":{}}}", KERR_ADDR_LENGTH, "result.pre");
	want_err(sim_parse_prestate, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"pre\":{\"" VAULT
		 "\":{\"balance\":\"0x1\"},\"0xE7F1725E7734CE288F8367E1BB143E90BB3F0512\":{}},\"post\":{}}}",
		 KERR_JSON, "result.pre");
	want_err(sim_parse_prestate, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"pre\":{\"" VAULT
		 "\":{\"balance\":\"12\"}},\"post\":{}}}", KERR_HEX_PREFIX, "result.pre.balance");
	want_err(sim_parse_prestate, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"pre\":{\"" VAULT
		 "\":{\"balance\":\"0x10\"}},\"post\":{\"" VAULT "\":5}}}", KERR_JSON, "result.post");
	CHECK_OK(parse_text(sim_parse_prestate, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"pre\":{\"" VAULT
			    "\":{\"balance\":\"0x10\"}},\"post\":{\"" VAULT "\":{\"balance\":\"0x3\"}}}}", &r));
	CHECK(u_eq(&r.asset[0].loss, "13"));
}

#define TRANSFER "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
#define T_VAULT "0x000000000000000000000000e7f1725e7734ce288f8367e1bb143e90bb3f0512"
#define T_A3 "0x00000000000000000000000090f79bf6eb2c4f870365e785982e1f101e93b906"
#define LOG(from, to, data) "{\"address\":\"" TOK "\",\"topics\":[\"" TRANSFER "\",\"" from "\",\"" to \
	"\"],\"data\":\"" data "\"}"
#define CALLS(body) "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"from\":\"" A3 "\",\"type\":\"CALL\"" body "}}"

static void test_parse_calls(void)
{
	sim_result_t r;
	char *big;
	size_t n = 0, cap = (size_t)(SIM_MAX_ITEMS + 10) * 600;

	/* out 6, in 2 (a nested call), a reverted frame's transfer ignored */
	CHECK_OK(parse_text(sim_parse_calls, CALLS(",\"logs\":[" LOG(T_VAULT, T_A3, W6) "],\"calls\":["
			    "{\"type\":\"CALL\",\"logs\":[" LOG(T_A3, T_VAULT,
			    "0x0000000000000000000000000000000000000000000000000000000000000002") "]},"
			    "{\"type\":\"CALL\",\"error\":\"execution reverted\",\"logs\":[" LOG(T_VAULT, T_A3, W6)
			    "]}]"), &r));
	CHECK(!r.reverted);
	CHECK(u_eq(&r.asset[1].loss, "4"));
	/* inflow above outflow: no loss */
	CHECK_OK(parse_text(sim_parse_calls, CALLS(",\"logs\":[" LOG(T_A3, T_VAULT, W6) "]"), &r));
	CHECK(u_eq(&r.asset[1].loss, "0"));
	/* a reverted top frame */
	CHECK_OK(parse_text(sim_parse_calls, CALLS(",\"error\":\"execution reverted\",\"logs\":["
			    LOG(T_VAULT, T_A3, W6) "]"), &r));
	CHECK(r.reverted);
	want_err(sim_parse_calls, CALLS(",\"logs\":[" LOG(T_VAULT, T_A3, W31) "]"), KERR_HEX_LENGTH,
		 "logs.data");
	want_err(sim_parse_calls, CALLS(",\"logs\":[{\"topics\":[]}]"), KERR_NOT_FOUND, "logs.address");
	want_err(sim_parse_calls, CALLS(",\"logs\":{}"), KERR_JSON, "logs");
	want_err(sim_parse_calls, CALLS(",\"calls\":[7]"), KERR_JSON, "calls");
	want_err(sim_parse_calls, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[]}", KERR_JSON, "result");
	/* more logs than SIM_MAX_ITEMS */
	big = malloc(cap);
	n += (size_t)snprintf(big + n, cap - n, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"logs\":[");
	for (int i = 0; i < SIM_MAX_ITEMS + 1; i++)
		n += (size_t)snprintf(big + n, cap - n, "%s" LOG(T_A3, T_VAULT, W6), i ? "," : "");
	n += (size_t)snprintf(big + n, cap - n, "]}}");
	{
		static jtok_t bigtok[400000];
		size_t res;
		jtok_init(&D, bigtok, sizeof bigtok / sizeof bigtok[0]);
		CHECK_OK(jtok_parse(&D, big, n));
		CHECK_OK(jtok_key(&D, 0, "result", 6, &res));
		memset(&r, 0, sizeof r);
		CHECK_ERR(sim_parse_calls(&D, res, &W, &r), KERR_TOO_LONG);
		CHECK_EQ_STR(r.what, "logs");
	}
	free(big);
}

/* ---- scheduling over a scripted transport ------------------------------------ */

#define MAXQ 256
static struct {
	char *body[MAXQ];
	rpc_net_done_fn done[MAXQ];
	void *arg[MAXQ];
	bool answered[MAXQ];
	size_t n;
} F;
static uint64_t t_now;

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return t_now;
}

static kerr_t fake_send(void *ctx, size_t ep, const char *body, size_t len,
			uint32_t timeout_ms, rpc_net_done_fn done, void *arg)
{
	(void)ctx;
	(void)ep;
	(void)timeout_ms;
	if (F.n == MAXQ)
		return KERR_NOMEM;
	F.body[F.n] = malloc(len + 1);
	memcpy(F.body[F.n], body, len);
	F.body[F.n][len] = 0;
	F.done[F.n] = done;
	F.arg[F.n] = arg;
	F.answered[F.n] = false;
	F.n++;
	return KERR_OK;
}

static void fake_reset(void)
{
	for (size_t i = 0; i < F.n; i++)
		free(F.body[i]);
	memset(&F, 0, sizeof F);
	t_now = 5000;
}

static bool sent_method(size_t i, const char *method)
{
	char m[96];

	snprintf(m, sizeof m, "\"method\":\"%s\"", method);
	return i < F.n && strstr(F.body[i], m) != NULL;
}

/* Answer request i with body (its "id":1 replaced by the request's id),
 * in a buffer of exactly its length. */
static void answer(size_t i, const char *body, size_t len)
{
	const char *p = strstr(F.body[i], "\"id\":"), *q = strstr(body, "\"id\":1,");
	char ids[24], *b;
	size_t idl, n;
	rpc_net_result_t r = { RPC_NET_OK, 200, NULL, 0 };

	if (i >= F.n || F.answered[i] || !p || !q) {
		CHECK_MSG(0, "cannot answer request %zu", i);
		return;
	}
	idl = (size_t)snprintf(ids, sizeof ids, "%llu", strtoull(p + 5, NULL, 10));
	n = len - 1 + idl;
	b = malloc(n);
	memcpy(b, body, (size_t)(q - body) + 5);
	memcpy(b + (q - body) + 5, ids, idl);
	memcpy(b + (q - body) + 5 + idl, q + 6, len - (size_t)(q - body) - 6);
	r.body = b;
	r.len = n;
	F.answered[i] = true;
	F.done[i](F.arg[i], &r);
	free(b);
}

static void answer_fixture(size_t i, const char *name)
{
	size_t len;
	char *s = fixture(name, &len);

	if (s)
		answer(i, s, len);
	free(s);
}

#define MAXR 64
static struct {
	int n;
	sim_result_t r[MAXR];
	int who[MAXR];
} G;

static void on_done(void *arg, const sim_result_t *r)
{
	if (G.n < MAXR) {
		G.r[G.n] = *r;
		G.who[G.n] = (int)(intptr_t)arg;
	}
	G.n++;
}

static rpc_client_t *RPC;
static sim_t *S;

static void flow_setup(const sim_opts_t *o, size_t max_reply)
{
	rpc_transport_t t = { NULL, fake_send };

	fake_reset();
	memset(&G, 0, sizeof G);
	RPC = NULL;
	S = NULL;
	CHECK_OK(rpc_new(&RPC, 1, &t, fake_clock, NULL, &(rpc_opts_t){
		.max_request = SIM_REQUEST_MAX + 256, .max_reply = max_reply }));
	if (RPC)
		CHECK_OK(sim_new(&S, RPC, fake_clock, NULL, NULL, o));
}

static void flow_end(void)
{
	/* Answer what is left (as timeouts), so the rpc slots are free. */
	for (size_t i = 0; i < F.n; i++) {
		if (!F.answered[i]) {
			rpc_net_result_t r = { RPC_NET_TIMEOUT, 0, NULL, 0 };
			F.answered[i] = true;
			F.done[i](F.arg[i], &r);
		}
	}
	sim_free(S);
	rpc_free(RPC);
	fake_reset();
}

static void test_flow_cache_and_join(void)
{
	event_tx_t drain = mktx(A3, "0x0", drain_in, 1);
	const sim_stats_t *st;

	flow_setup(NULL, 0);
	if (!S)
		return;
	CHECK_OK(sim_request(S, &W, &drain, on_done, (void *)1));
	CHECK_EQ_INT(F.n, 1);
	CHECK(sent_method(0, "eth_simulateV1"));
	/* the same transaction again while it runs: joins, nothing sent */
	CHECK_OK(sim_request(S, &W, &drain, on_done, (void *)2));
	CHECK_EQ_INT(F.n, 1);
	CHECK_EQ_INT(sim_running(S), 1);
	answer_fixture(0, "simulate-drain.json");
	CHECK_EQ_INT(G.n, 2);
	for (int i = 0; i < 2 && i < G.n; i++) {
		CHECK_OK(G.r[i].err);
		CHECK_EQ_INT(G.r[i].method, SIM_VIA_SIMULATE);
		CHECK(!G.r[i].cached);
		CHECK(u_eq(&G.r[i].asset[0].loss, E6));
		CHECK(u_eq(&G.r[i].asset[1].loss, T777));
		CHECK_EQ_MEM(G.r[i].hash, drain.hash, 32);
	}
	CHECK_EQ_INT(G.who[0] + G.who[1], 3);
	/* and once more after: from the cache, at once */
	CHECK_OK(sim_request(S, &W, &drain, on_done, (void *)3));
	CHECK_EQ_INT(G.n, 3);
	CHECK_EQ_INT(F.n, 1);
	CHECK(G.r[2].cached);
	CHECK(u_eq(&G.r[2].asset[1].loss, T777));
	CHECK(u_eq(&G.r[2].asset[0].before, E6));
	/* another watch entry is another key */
	CHECK_OK(sim_request(S, &W0, &drain, on_done, (void *)4));
	CHECK_EQ_INT(F.n, 2);
	st = sim_stats(S);
	CHECK_EQ_INT(st->requests, 4);
	CHECK_EQ_INT(st->simulated, 2);
	CHECK_EQ_INT(st->joined, 1);
	CHECK_EQ_INT(st->cache_hits, 1);
	CHECK_EQ_INT(st->ok, 1);
	flow_end();
}

static void test_flow_cache_evicts(void)
{
	sim_opts_t o = { .cache_cap = 2 };
	event_tx_t t[3];
	const char *rv[3] = { "simulate-revert.json", "simulate-deposit.json", "simulate-withdraw.json" };

	flow_setup(&o, 0);
	if (!S)
		return;
	for (int i = 0; i < 3; i++) {
		t[i] = mktx(A3, "0x0", revert_in, (uint8_t)(10 + i));
		CHECK_OK(sim_request(S, &W, &t[i], on_done, NULL));
		answer_fixture((size_t)i, rv[i]);
	}
	CHECK_EQ_INT(G.n, 3);
	CHECK(G.r[0].reverted);
	CHECK_EQ_INT(sim_stats(S)->reverted, 1);
	CHECK_EQ_INT(sim_stats(S)->evictions, 1);
	/* the oldest is gone (simulated again), the two newest are kept */
	CHECK_OK(sim_request(S, &W, &t[2], on_done, NULL));
	CHECK_OK(sim_request(S, &W, &t[1], on_done, NULL));
	CHECK_EQ_INT(F.n, 3);
	CHECK_OK(sim_request(S, &W, &t[0], on_done, NULL));
	CHECK_EQ_INT(F.n, 4);
	flow_end();
}

static void test_flow_fifo_bound(void)
{
	sim_opts_t o = { .max_inflight = 2, .max_queue = 3 };
	event_tx_t t[7];

	flow_setup(&o, 0);
	if (!S)
		return;
	for (int i = 0; i < 7; i++)
		t[i] = mktx(A3, "0x0", drain_in, (uint8_t)(20 + i));
	for (int i = 0; i < 5; i++)
		CHECK_OK(sim_request(S, &W, &t[i], on_done, (void *)(intptr_t)i));
	CHECK_EQ_INT(F.n, 2);
	CHECK_EQ_INT(sim_running(S), 2);
	CHECK_EQ_INT(sim_waiting(S), 3);
	/* the sixth is refused, counted, and gets no callback */
	CHECK_ERR(sim_request(S, &W, &t[5], on_done, NULL), KERR_RPC_BUSY);
	CHECK_EQ_INT(sim_stats(S)->refused, 1);
	/* a waiting one can still be joined */
	CHECK_OK(sim_request(S, &W, &t[4], on_done, (void *)44));
	/* each answer starts the next in line, in order */
	answer_fixture(0, "simulate-drain.json");
	CHECK_EQ_INT(F.n, 3);
	CHECK_EQ_INT(sim_waiting(S), 2);
	CHECK_OK(sim_request(S, &W, &t[5], on_done, (void *)5));
	CHECK_EQ_INT(sim_waiting(S), 3);
	for (size_t i = 1; i < 6; i++)
		answer_fixture(i, "simulate-drain.json");
	CHECK_EQ_INT(F.n, 6);
	CHECK_EQ_INT(G.n, 7);
	CHECK_EQ_INT(sim_running(S), 0);
	CHECK_EQ_INT(sim_stats(S)->queued, 4);
	CHECK_EQ_INT(sim_stats(S)->ok, 6);
	/* results went to the right requests */
	for (int i = 0; i < G.n && i < MAXR; i++) {
		int w = G.who[i] == 44 ? 4 : G.who[i];
		CHECK_EQ_MEM(G.r[i].hash, t[w].hash, 32);
	}
	flow_end();
}

static void test_flow_timeout(void)
{
	sim_opts_t o = { .max_inflight = 1, .timeout_ms = 2000 };
	event_tx_t a = mktx(A3, "0x0", drain_in, 30), b = mktx(A3, "0x0", drain_in, 31);
	event_tx_t c = mktx(A3, "0x0", drain_in, 32);

	flow_setup(&o, 0);
	if (!S)
		return;
	CHECK_OK(sim_request(S, &W, &a, on_done, (void *)1));
	t_now += 500;
	CHECK_OK(sim_request(S, &W, &b, on_done, (void *)2));   /* waits */
	t_now += 1499;
	sim_tick(S);
	CHECK_EQ_INT(G.n, 0);
	t_now += 1;                                              /* a's deadline */
	sim_tick(S);
	CHECK_EQ_INT(G.n, 1);
	CHECK_ERR(G.r[0].err, KERR_RPC_TIMEOUT);
	CHECK_EQ_INT(G.who[0], 1);
	/* b started in a's place, with what is left of its own 2000 ms */
	CHECK_EQ_INT(F.n, 2);
	CHECK_EQ_INT(sim_running(S), 1);
	/* a's late answer is dropped */
	answer_fixture(0, "simulate-drain.json");
	CHECK_EQ_INT(G.n, 1);
	CHECK_EQ_INT(sim_stats(S)->stale, 1);
	/* a queued one can expire too, without ever being sent */
	CHECK_OK(sim_request(S, &W, &c, on_done, (void *)3));
	t_now += 500;                                            /* b's deadline */
	sim_tick(S);
	CHECK_EQ_INT(G.n, 2);
	CHECK_EQ_INT(F.n, 3);                                    /* c started */
	t_now += 2000;
	sim_tick(S);
	CHECK_EQ_INT(G.n, 3);
	CHECK_EQ_INT(sim_stats(S)->timeouts, 3);
	/* timeouts are not cached: a, asked again, runs again */
	CHECK_OK(sim_request(S, &W, &a, on_done, (void *)4));
	CHECK_EQ_INT(F.n, 4);
	answer_fixture(3, "simulate-drain.json");
	CHECK_EQ_INT(G.n, 4);
	CHECK_OK(G.r[3].err);
	flow_end();
}

static void test_flow_fallback(void)
{
	event_tx_t d1 = mktx(A3, "0x0", drain_in, 40), d2 = mktx(A3, "0x0", drain_in, 41);
	const sim_stats_t *st;

	flow_setup(NULL, 0);
	if (!S)
		return;
	CHECK_OK(sim_request(S, &W, &d1, on_done, NULL));
	answer_fixture(0, "simulate-missing.json");
	/* straight on to both traces */
	CHECK_EQ_INT(F.n, 3);
	CHECK(sent_method(1, "debug_traceCall") && strstr(F.body[1], "prestateTracer"));
	CHECK(sent_method(2, "debug_traceCall") && strstr(F.body[2], "callTracer"));
	answer_fixture(2, "calls-drain.json");
	CHECK_EQ_INT(F.n, 3);
	answer_fixture(1, "prestate-drain.json");
	/* the token lost: its balance before */
	CHECK_EQ_INT(F.n, 4);
	CHECK(sent_method(3, "eth_call") && strstr(F.body[3], "0x70a08231"));
	CHECK_EQ_INT(G.n, 0);
	answer_fixture(3, "balance-token.json");
	CHECK_EQ_INT(G.n, 1);
	CHECK_OK(G.r[0].err);
	CHECK_EQ_INT(G.r[0].method, SIM_VIA_TRACE);
	CHECK(u_eq(&G.r[0].asset[0].before, E6) && u_eq(&G.r[0].asset[0].loss, E6));
	CHECK(G.r[0].asset[1].has_balance);
	CHECK(u_eq(&G.r[0].asset[1].before, T777) && u_eq(&G.r[0].asset[1].loss, T777));
	CHECK(u_eq(&G.r[0].asset[1].after, "0"));
	/* the endpoint is remembered: the next goes to the traces at once */
	CHECK_OK(sim_request(S, &W, &d2, on_done, NULL));
	CHECK_EQ_INT(F.n, 6);
	CHECK(sent_method(4, "debug_traceCall") && sent_method(5, "debug_traceCall"));
	answer_fixture(4, "prestate-revert.json");
	answer_fixture(5, "calls-revert.json");
	CHECK_EQ_INT(G.n, 2);
	CHECK(G.r[1].reverted);
	CHECK_EQ_INT(F.n, 6);
	st = sim_stats(S);
	CHECK_EQ_INT(st->fallbacks, 1);
	CHECK_EQ_INT(st->via_simulate, 1);
	CHECK_EQ_INT(st->via_trace, 2);
	flow_end();
}

static void test_flow_forced_trace_eth_only(void)
{
	sim_opts_t o = { .force_trace = true };
	event_tx_t wd = mktx(A2, "0x0", withdraw_in, 50);

	flow_setup(&o, 0);
	if (!S)
		return;
	/* no tokens: the prestate trace alone */
	CHECK_OK(sim_request(S, &W0, &wd, on_done, NULL));
	CHECK_EQ_INT(F.n, 1);
	CHECK(sent_method(0, "debug_traceCall"));
	answer_fixture(0, "prestate-withdraw.json");
	CHECK_EQ_INT(G.n, 1);
	CHECK_OK(G.r[0].err);
	CHECK_EQ_INT(G.r[0].nassets, 1);
	CHECK(u_eq(&G.r[0].asset[0].loss, "100000000000000000"));
	flow_end();
}

static void test_flow_errors(void)
{
	event_tx_t t1 = mktx(A3, "0x0", drain_in, 60), t2 = mktx(A3, "0x0", drain_in, 61);
	event_tx_t t3 = mktx(A3, "0x0", drain_in, 62);
	static const char err_body[] =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,\"message\":\"header not found\"}}";
	static const char bad_body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[]}";

	/* a reply over the client's max_reply (1024; the fixture is 3.6 KB) */
	flow_setup(NULL, 1024);
	if (!S)
		return;
	CHECK_OK(sim_request(S, &W, &t1, on_done, NULL));
	answer_fixture(0, "simulate-drain.json");
	CHECK_EQ_INT(G.n, 1);
	CHECK_ERR(G.r[0].err, KERR_TOO_LONG);
	/* an error object: the node's error, with its code and kind */
	CHECK_OK(sim_request(S, &W, &t2, on_done, NULL));
	answer(1, err_body, sizeof err_body - 1);
	CHECK_EQ_INT(G.n, 2);
	CHECK_ERR(G.r[1].err, KERR_RPC_ERROR);
	CHECK_EQ_INT(G.r[1].code, -32000);
	CHECK_EQ_INT(G.r[1].kind, RPC_E_OTHER);
	/* a result of the wrong shape */
	CHECK_OK(sim_request(S, &W, &t3, on_done, NULL));
	answer(2, bad_body, sizeof bad_body - 1);
	CHECK_EQ_INT(G.n, 3);
	CHECK_ERR(G.r[2].err, KERR_TRUNCATED);
	CHECK_EQ_STR(G.r[2].what, "result");
	CHECK_EQ_INT(sim_stats(S)->errors, 3);
	/* failures are not cached */
	CHECK_OK(sim_request(S, &W, &t3, on_done, NULL));
	CHECK_EQ_INT(F.n, 4);
	/* refusals without a callback */
	{
		event_tx_t h = t1;
		h.full = false;
		CHECK_ERR(sim_request(S, &W, &h, on_done, NULL), KERR_ARG);
		h = t1;
		h.to = A(A2);
		CHECK_ERR(sim_request(S, &W, &h, on_done, NULL), KERR_ARG);
		h = t1;
		h.input = (event_hex_t){ "0xq0", 4 };
		CHECK_ERR(sim_request(S, &W, &h, on_done, NULL), KERR_HEX_CHAR);
	}
	CHECK_EQ_INT(G.n, 3);
	flow_end();
}

int main(void)
{
	setup();
	RUN(test_build_texts);
	RUN(test_build_small);
	RUN(test_build_refuses);
	RUN(test_parse_simulate);
	RUN(test_parse_trace);
	RUN(test_parse_malformed);
	RUN(test_parse_calls);
	RUN(test_flow_cache_and_join);
	RUN(test_flow_cache_evicts);
	RUN(test_flow_fifo_bound);
	RUN(test_flow_timeout);
	RUN(test_flow_fallback);
	RUN(test_flow_forced_trace_eth_only);
	RUN(test_flow_errors);
	return t_done();
}
