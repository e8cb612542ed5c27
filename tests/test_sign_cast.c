/*
 * test_sign_cast: differential test of `keeper sign` against a reference
 * signer, foundry's `cast mktx`, for random parameter sets.
 *
 * Both programs get the same key, nonce, fees, gas, value, calldata and
 * chain id; their printed raw transactions must be identical to the byte.
 * Numbers are handed to keeper in a random mix of decimal and 0x-hex (both
 * are part of its interface) and to cast in the form cast accepts.  cast
 * keeps fees in 128 bits (it panics above), so fees are drawn below 2^128;
 * values go up to 2^256-1, chain ids up to 2^64-1, calldata 0..2000 bytes.
 *
 * The seed is printed; SEED=N reproduces a run.  CAST names the reference
 * binary (default: the one `make deps` installs under .deps/).
 */
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keeper/kerr.h"
#include "signer/addr.h"
#include "signer/hex.h"
#include "signer/keccak.h"
#include "signer/signer.h"
#include "signer/u256.h"
#include "tests/test.h"

#define CASES_RANDOM 320
#define MAX_DATA 2000

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the printed seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* A random u64 shifted right by a random amount below max_shift, so small
 * and large values are both common.  Two statements: the order in which the
 * operands of one expression are evaluated is unspecified, and SEED must
 * reproduce a run in every build. */
static uint64_t rnd_scaled(unsigned max_shift)
{
	uint64_t v = rnd();
	unsigned shift = (unsigned)(rnd() % max_shift);
	return v >> shift;
}

/* A u256 with a random bit length up to max_bits, so small and huge
 * values are both common. */
static void rnd_u256(u256_t *v, unsigned max_bits)
{
	unsigned bits = (unsigned)(rnd() % (max_bits + 1));
	for (int i = 0; i < 4; i++)
		v->w[i] = rnd();
	for (unsigned i = 0; i < 4; i++) {
		unsigned lo = i * 64;
		if (bits <= lo)
			v->w[i] = 0;
		else if (bits < lo + 64)
			v->w[i] &= (UINT64_C(1) << (bits - lo)) - 1;
	}
}

static void fmt_u256(const u256_t *v, int hex, char *out, size_t cap)
{
	if (hex)
		u256_to_hex(v, out, cap);
	else
		u256_to_dec(v, out, cap);
}

typedef struct {
	int legacy;
	uint8_t key[32];
	uint64_t chain_id, nonce, gas;
	u256_t value, max_fee, priority_fee, gas_price;
	addr_t to;
	uint8_t data[MAX_DATA];
	size_t data_len;
} params_t;

static const char *keeper_bin, *cast_bin;
static char key_path[64];

/* Runs cmd, returns its first stdout line (without newline) or "" */
static void run_capture(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	out[0] = 0;
	if (!p)
		return;
	if (fgets(out, (int)cap, p))
		n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = 0;
	pclose(p);
}

static int write_key(const uint8_t key[32])
{
	char hex[65];
	FILE *f;
	hex_encode(hex, key, 32);
	f = fopen(key_path, "w");
	if (!f)
		return -1;
	fprintf(f, "0x%s\n", hex);
	fclose(f);
	return chmod(key_path, 0600);
}

/* Chain ids cast would not sign type 2 for, redrawn (see compare). */
static int redrawn;

/* Builds both command lines and compares what they print.  Returns 1 when
 * identical, 0 when not, and -1 when cast answered a type-2 request with a
 * legacy transaction: it does that for the named chains it believes lack
 * EIP-1559 (30, RSK, for one) and has no flag to stop it, so such a chain
 * id cannot be compared and the caller draws another. */
static int compare(const params_t *p)
{
	static char kcmd[8192], ccmd[8192], kout[8192], cout[8192];
	char value[U256_DEC_MAX], f1[U256_DEC_MAX], f2[U256_DEC_MAX];
	char cvalue[U256_DEC_MAX], cf1[U256_DEC_MAX], cf2[U256_DEC_MAX];
	char to[ADDR_TEXT_LEN], data[2 * MAX_DATA + 1], keyhex[65];
	char chain[24], nonce[24], gas[24];
	int hexmix = (int)(rnd() & 7);

	if (write_key(p->key) != 0)
		return 0;
	hex_encode(keyhex, p->key, 32);
	addr_to_checksum(&p->to, to);
	hex_encode(data, p->data, p->data_len);
	fmt_u256(&p->value, hexmix & 1, value, sizeof value);
	fmt_u256(&p->value, 0, cvalue, sizeof cvalue);
	snprintf(chain, sizeof chain, hexmix & 2 ? "0x%" PRIx64 : "%" PRIu64, p->chain_id);
	snprintf(nonce, sizeof nonce, hexmix & 4 ? "0x%" PRIx64 : "%" PRIu64, p->nonce);
	snprintf(gas, sizeof gas, hexmix & 1 ? "0x%" PRIx64 : "%" PRIu64, p->gas);

	if (p->legacy) {
		fmt_u256(&p->gas_price, hexmix & 2, f1, sizeof f1);
		fmt_u256(&p->gas_price, 0, cf1, sizeof cf1);
		snprintf(kcmd, sizeof kcmd, "%s sign --key-file %s --chain-id %s --nonce %s "
			 "--gas %s --to %s --value %s --data 0x%s --gas-price %s",
			 keeper_bin, key_path, chain, nonce, gas, to, value, data, f1);
		snprintf(ccmd, sizeof ccmd, "%s mktx --private-key 0x%s --chain %" PRIu64
			 " --nonce %" PRIu64 " --gas-limit %" PRIu64 " --legacy --gas-price %s"
			 " --value %s %s 0x%s 2>&1", cast_bin, keyhex, p->chain_id, p->nonce,
			 p->gas, cf1, cvalue, to, data);
	} else {
		fmt_u256(&p->max_fee, hexmix & 4, f1, sizeof f1);
		fmt_u256(&p->priority_fee, hexmix & 1, f2, sizeof f2);
		fmt_u256(&p->max_fee, 0, cf1, sizeof cf1);
		fmt_u256(&p->priority_fee, 0, cf2, sizeof cf2);
		snprintf(kcmd, sizeof kcmd, "%s sign --key-file %s --chain-id %s --nonce %s "
			 "--gas %s --to %s --value %s --data 0x%s --max-fee %s --priority-fee %s",
			 keeper_bin, key_path, chain, nonce, gas, to, value, data, f1, f2);
		snprintf(ccmd, sizeof ccmd, "%s mktx --private-key 0x%s --chain %" PRIu64
			 " --nonce %" PRIu64 " --gas-limit %" PRIu64 " --gas-price %s"
			 " --priority-gas-price %s --value %s %s 0x%s 2>&1", cast_bin, keyhex,
			 p->chain_id, p->nonce, p->gas, cf1, cf2, cvalue, to, data);
	}
	run_capture(kcmd, kout, sizeof kout);
	run_capture(ccmd, cout, sizeof cout);
	if (!p->legacy && strncmp(cout, "0x02", 4) != 0 && strncmp(cout, "0xf", 3) == 0)
		return -1;
	if (kout[0] != '0' || strcmp(kout, cout) != 0) {
		printf("    differ (%s, chain %" PRIu64 ", nonce %" PRIu64 ", %zu data bytes)\n"
		       "      keeper: %.200s\n      cast:   %.200s\n",
		       p->legacy ? "legacy" : "eip1559", p->chain_id, p->nonce,
		       p->data_len, kout, cout);
		return 0;
	}
	return 1;
}

static void random_params(params_t *p, int legacy)
{
	static const uint64_t chains[] = { 1, 31337 };
	uint64_t pick = rnd() % 4;
	memset(p, 0, sizeof *p);
	p->legacy = legacy;
	for (int i = 0; i < 4; i++) {
		uint64_t w = rnd();
		memcpy(p->key + 8 * i, &w, 8);
	}
	p->key[0] &= 0x7f; /* stay below the curve order */
	p->key[31] |= 1;   /* and above zero */
	/* chain ids: the two common ones, and large ones up to 2^64-1. */
	p->chain_id = pick < 2 ? chains[pick] : (pick == 2 ? rnd_scaled(63) : rnd());
	if (p->chain_id == 0)
		p->chain_id = 1;
	p->nonce = rnd() % 3 == 0 ? rnd() % 1000 : rnd_scaled(64);
	if (p->nonce == UINT64_MAX)
		p->nonce--;
	p->gas = rnd_scaled(64);
	rnd_u256(&p->value, 256);
	rnd_u256(&p->gas_price, 128);
	rnd_u256(&p->max_fee, 128);
	rnd_u256(&p->priority_fee, 128);
	for (int i = 0; i < 20; i++)
		p->to.b[i] = (uint8_t)rnd();
	p->data_len = (size_t)(rnd() % (MAX_DATA + 1));
	if (rnd() % 4 == 0)
		p->data_len %= 8; /* short calldata (and empty) often too */
	for (size_t i = 0; i < p->data_len; i++)
		p->data[i] = (uint8_t)rnd();
}

/* compare(), drawing another chain id while cast refuses type 2 for it. */
static int compare_redraw(params_t *p)
{
	int r;
	for (int tries = 0; (r = compare(p)) < 0 && tries < 20; tries++) {
		printf("    chain id %" PRIu64 ": cast signs only legacy for it; drawn again\n",
		       p->chain_id);
		redrawn++;
		p->chain_id = rnd_scaled(64) | 1;
	}
	return r > 0;
}

static void test_random(void)
{
	static params_t p;
	int same = 0;
	for (int i = 0; i < CASES_RANDOM; i++) {
		random_params(&p, i % 2);
		same += compare_redraw(&p);
	}
	printf("    random: %d/%d identical to cast mktx (%d chain ids redrawn)\n", same,
	       CASES_RANDOM, redrawn);
	CHECK_EQ_INT(same, CASES_RANDOM);
}

/* The corners that random draws rarely hit. */
static void test_edges(void)
{
	static params_t p;
	static const uint64_t chains[] = { 1, 31337, UINT64_MAX, UINT64_MAX / 2 - 17,
					   (UINT64_C(1) << 53) + 1 };
	int same = 0, n = 0;
	for (size_t c = 0; c < sizeof chains / sizeof *chains; c++) {
		for (int legacy = 0; legacy < 2; legacy++) {
			for (int corner = 0; corner < 3; corner++) {
				random_params(&p, legacy);
				p.chain_id = chains[c];
				if (corner == 0) {
					/* all-ones value, largest fees, longest data */
					memset(&p.value, 0xff, sizeof p.value);
					memset(&p.max_fee.w[0], 0xff, 16);
					memset(&p.priority_fee.w[0], 0xff, 16);
					memset(&p.gas_price.w[0], 0xff, 16);
					p.nonce = UINT64_MAX - 1;
					p.gas = UINT64_MAX;
					p.data_len = MAX_DATA;
				} else if (corner == 1) {
					/* zeros everywhere */
					u256_zero(&p.value);
					u256_zero(&p.max_fee);
					u256_zero(&p.priority_fee);
					u256_zero(&p.gas_price);
					p.nonce = 0;
					p.gas = 0;
					p.data_len = 0;
				} else {
					/* one-byte boundaries of RLP: 55/56-byte data,
					 * 0x7f/0x80 values */
					p.data_len = 55 + (size_t)(rnd() % 2);
					u256_from_u64(&p.value, 0x7f + rnd() % 2);
					p.nonce = 0x7f + rnd() % 2;
				}
				same += compare(&p) > 0;
				n++;
			}
		}
	}
	printf("    edges: %d/%d identical to cast mktx\n", same, n);
	CHECK_EQ_INT(same, n);
}

/*
 * EIP-191 messages signed by keeper's signer and by `cast wallet sign`
 * (given the message as hex, which cast decodes to the same bytes): the
 * empty message, text, binary, and the Flashbots form -- the text of
 * keccak256(body) as 0x + 64 hex digits.
 */
static void test_messages(void)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_sendBundle\","
				   "\"params\":[{\"txs\":[\"0x02\"],\"blockNumber\":\"0x1\"}]}";
	uint8_t key[32], msg[1200], sig[65], h[32];
	char keyhex[65], cmd[4096], got[256], want[256];
	size_t lens[8];
	signer_t *s = NULL;
	int i, same = 0, n = 0;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)rnd();
	key[0] &= 0x7f;
	key[31] |= 1;
	CHECK_OK(signer_new(&s));
	if (!s || signer_set_key(s, key) != KERR_OK)
		return;
	hex_encode(keyhex, key, 32);
	for (i = 0; i < 8; i++) {
		size_t len, k;

		switch (i) {
		case 0: len = 0; break;
		case 1: memcpy(msg, "hello keeper", 12); len = 12; break;
		case 2:
			keccak256(h, (const uint8_t *)body, sizeof body - 1);
			msg[0] = '0', msg[1] = 'x';
			hex_encode((char *)msg + 2, h, 32);
			len = 66;
			break;
		default:
			len = 1 + rnd() % 1000;
			for (k = 0; k < len; k++)
				msg[k] = (uint8_t)rnd();
		}
		lens[i] = len;
		CHECK_OK(signer_sign_message(s, msg, len, sig));
		want[0] = '0', want[1] = 'x';
		hex_encode(want + 2, sig, 65);
		{
			char *hm = malloc(2 * len + 1);

			if (!hm)
				break;
			hex_encode(hm, msg, len);
			snprintf(cmd, sizeof cmd, "%s wallet sign --private-key 0x%s 0x%s 2>&1",
				 cast_bin, keyhex, hm);
			free(hm);
		}
		run_capture(cmd, got, sizeof got);
		n++;
		if (strcmp(got, want) == 0)
			same++;
		else
			printf("    message %d (%zu bytes): keeper %s, cast %s\n", i, len, want, got);
	}
	signer_free(s);
	printf("    EIP-191 messages (0, 12, 66 = Flashbots hash text, %zu.. bytes): %d/%d identical "
	       "to cast wallet sign\n", lens[3], same, n);
	CHECK_EQ_INT(same, 8);
}

static const char *find_cast(void)
{
	static const char *const candidates[] = {
		".deps/node_modules/@foundry-rs/cast-linux-amd64/bin/cast",
		".deps/node_modules/@foundry-rs/cast-linux-arm64/bin/cast",
		".deps/node_modules/.bin/cast",
	};
	const char *env = getenv("CAST");
	if (env && *env)
		return env;
	for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++)
		if (access(candidates[i], X_OK) == 0)
			return candidates[i];
	return NULL;
}

int main(void)
{
	const char *seed = getenv("SEED");
	int fd;
	keeper_bin = getenv("KEEPER");
	if (!keeper_bin || !*keeper_bin)
		keeper_bin = "build/rel/bin/keeper";
	cast_bin = find_cast();
	rng_state = seed ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL);
	if (rng_state == 0)
		rng_state = 1;
	printf("    seed %" PRIu64 " (SEED=%" PRIu64 " reproduces), keeper %s, cast %s\n",
	       rng_state, rng_state, keeper_bin, cast_bin ? cast_bin : "(missing)");
	if (!cast_bin) {
		printf("    cast not found: run `make deps`\n");
		t_failed++;
		return t_done();
	}
	strcpy(key_path, "/tmp/keeper-cast-key-XXXXXX");
	fd = mkstemp(key_path);
	if (fd < 0) {
		t_failed++;
		return t_done();
	}
	close(fd);
	RUN(test_random);
	RUN(test_edges);
	RUN(test_messages);
	unlink(key_path);
	return t_done();
}
