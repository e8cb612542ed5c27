/*
 * fuzz_sim_reply: eth_simulateV1 and debug_traceCall replies through the
 * three pure readers of keeper/sim.h (sim_parse_simulate,
 * sim_parse_prestate, sim_parse_calls), for a watched contract with one
 * token and for one with ETH only.  The input is tokenised with jtok as
 * the rpc client does; its "result" member is read (the whole document
 * when it has none, so bare results fuzz too).
 *
 * Invariants: on success nassets is 1 + the watch's tokens with asset 0
 * ETH (the zero address) and asset 1 + i the watch's token i; a reverted
 * transaction loses nothing (whatever its balances say); otherwise an
 * asset with balances has loss = before - after when that is positive,
 * else 0.
 */
#include "keeper/sim.h"

#include "tests/fuzz/fuzz.h"

#define NTOK 8192

static jtok_t toks[NTOK];
static addr_t token;
static config_watch_t with_token, eth_only;
static int ready;

typedef kerr_t (*parse_fn)(const jtok_doc_t *, size_t, const config_watch_t *,
			   sim_result_t *);

static void check(const sim_result_t *r, const config_watch_t *w, int balances)
{
	static const addr_t zero;

	FUZZ_CHECK(r->nassets == 1 + w->ntokens);
	FUZZ_CHECK(addr_eq(&r->asset[0].token, &zero));
	for (size_t i = 0; i < w->ntokens; i++)
		FUZZ_CHECK(addr_eq(&r->asset[1 + i].token, &w->tokens[i]));
	for (size_t i = 0; i < r->nassets; i++) {
		const sim_asset_t *a = &r->asset[i];
		if (r->reverted)
			FUZZ_CHECK(u256_is_zero(&a->loss));
		else if (balances && a->known && a->has_balance) {
			u256_t d;
			if (u256_cmp(&a->before, &a->after) > 0) {
				FUZZ_CHECK(u256_sub(&d, &a->before, &a->after) == KERR_OK);
				FUZZ_CHECK(u256_cmp(&d, &a->loss) == 0);
			} else {
				FUZZ_CHECK(u256_is_zero(&a->loss));
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const parse_fn fns[] = { sim_parse_simulate, sim_parse_prestate,
					sim_parse_calls };
	const config_watch_t *watches[] = { &with_token, &eth_only };
	char *buf;
	jtok_doc_t d;
	size_t res;

	if (!ready) {
		static const char vault[] = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512";
		static const char tok[] = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
		addr_t v;
		if (addr_parse(&v, vault, sizeof vault - 1) != KERR_OK ||
		    addr_parse(&token, tok, sizeof tok - 1) != KERR_OK)
			abort();
		with_token = (config_watch_t){ .name = "vault", .address = v,
					       .tokens = &token, .ntokens = 1 };
		eth_only = (config_watch_t){ .name = "vault", .address = v };
		ready = 1;
	}
	buf = fuzz_dup(data, size);
	jtok_init(&d, toks, NTOK);
	if (jtok_parse(&d, buf, size) == KERR_OK) {
		if (jtok_key(&d, 0, "result", 6, &res) != KERR_OK)
			res = 0;
		for (size_t f = 0; f < 3; f++) {
			for (size_t w = 0; w < 2; w++) {
				sim_result_t r;
				memset(&r, 0, sizeof r);
				if (fns[f](&d, res, watches[w], &r) == KERR_OK)
					check(&r, watches[w], f == 0);
			}
		}
	}
	free(buf);
	return 0;
}
