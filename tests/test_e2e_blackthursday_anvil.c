/*
 * test_e2e_blackthursday_anvil: keeper issue 7, scenario 3, the price
 * crash.  The ETH/USD series of Black Thursday (tests/data/prices/
 * eth_usd_10min_03-12-2020.json: 144 ten-minute bars, 195 -> 107) drives
 * two `keeper run`s (not dry) of the build's keeper ($KEEPER; default
 * bin/keeper beside this program's directory), each against its own anvil
 * (foundry from .deps).
 *
 * Guardian.  tests/feedsrv plays the series over a websocket, one message
 * per bar, {"i":N,"price":P,"time":"<the bar's time_close>"}, one every
 * 20 ms: the day in about three seconds.  The feed's config names the
 * time path, so every tick carries its series time, and price_move judges
 * on the feed's own clock (keeper/engine.h): window_ms and cooldown_ms
 * below are series time, whatever the replay speed (without a time path
 * the arrival time would be used, and 2 h would be the whole replay many
 * times over).  The trigger: 20 % down within 2 h, cooldown 1 h, action
 * pause() on tests/contracts/Vault (deploy_vault: guardian dev account 1)
 * with guard paused().  The test computes from the same file, with the
 * detector's documented rule (the tick's drop from the highest price of
 * the ticks in [t - 2 h, t], trip at >= 20 %, none within 1 h of the last
 * trip), which points must trip: only the 10:59:59 bar (133.75, 21.3 %
 * below 169.94; the 11:49:50 bar crosses again within the cooldown).
 * Keeper's trip lines must be exactly those (same series time, same move),
 * so nothing trips before the move; its pause is mined with status 1 and
 * the vault's Paused(guardian) event; the feed is played to its end (the
 * summary counts 144 price events) with one trip, one send, one mined.
 * feedsrv is held (SIGSTOP) until keeper's node subscriptions are answered,
 * so the series does not start before keeper can act on it.
 *
 * Liquidator.  tests/contracts/Lending (deploy_lending; liquidation
 * threshold 80 %, close factor 50 %, bonus 5 %) with eight borrowers (dev
 * accounts 1..8; collateral and debt below), and the liquidation trigger of
 * tests/e2e.h's lending_cfg (the borrowers listed, discovery by Borrow
 * logs, $amount = debt * 50 / 100, the pool's largest allowed repay; a
 * public fixed gas strategy) whose action liquidate($account, $amount) is
 * signed by dev account 9, funded with 1000 debt tokens and approving the
 * pool.  Automining is off.  The test posts the series to the pool's
 * oracle as a deviation oracle would, with setPrice mined in its own block:
 * a bar is posted when it is 1 % or more away from the last posted price or
 * 12 bars (2 h) after it (64 of the 144 bars, every level of the final
 * crash among them).  After each post it reads price() and every
 * healthFactor at the chain's head (one JSON-RPC batch of eth_calls, to
 * keep 64 steps fast); for every borrower newly below 1e18 it waits until
 * keeper's liquidations are in the mempool (the liquidator's pending
 * nonce), mines one block and waits for keeper's "mined" lines, before the
 * next post.
 *
 * "Exactly once" and the close factor.  Lending repays at most half the
 * debt per liquidation and pays the collateral with a 5 % bonus, so one
 * liquidation at health factor h (at the same price) leaves 2h - 0.84: it
 * restores health when h > 0.92, but a later fall of the price can make the
 * position unhealthy again, and then a second liquidation is the right
 * thing, not a bug (a cooldown hiding it would leave bad debt).  The day
 * falls 45 %, so a position crossing early would honestly be liquidated
 * more than once.  The borrowers are therefore chosen so that the ones that
 * cross do so in the final crash (liquidation prices 121.25, 115, 112.5 and
 * 108.33 against the lows 120.86, 111.00, 111.00 and 106.59) and one
 * liquidation restores them for the rest of the day, while four stay
 * healthy (the closest at 1.0032 at the day's low of 106.59); the test
 * checks that assumption on the chain at every step (no position is ever
 * unhealthy again after its liquidation) instead of relying on it.
 *
 * Checks, on the chain: every borrower seen unhealthy at some step has
 * exactly one Liquidate event, by the liquidator, repaying floor(debt / 2)
 * at the price of the step where it crossed, in the block after that post;
 * the other borrowers have none and their debt and collateral are as they
 * borrowed; each event's transaction is one keeper logged as mined (as many
 * lines as events) and its receipt has status 1; the liquidator's nonce
 * grew by exactly the number of liquidations (no revert, no second send);
 * two liquidations of one scan are ordered largest debt first.  Keeper's
 * summary agrees.
 * Printed: the guardian's trip (series time, price, move), each
 * liquidation (series point, price, block, health before and after) and
 * the counts.  Bounded by a 150 s alarm; anvil, feedsrv and keeper are
 * killed at exit, on a fatal signal and on the alarm.
 */
#include <math.h>
#include <signal.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "keeper/kerr.h"
#include "signer/u256.h"
#include "tests/e2e.h"
#include "tests/feedsrv.h"

#define SERIES "tests/data/prices/eth_usd_10min_03-12-2020.json"
#define NPTS_MAX 256

/* The guardian's trigger, in series time. */
#define WINDOW_MS 7200000LL      /* 2 h */
#define THRESHOLD_PCT 20.0
#define COOLDOWN_MS 3600000LL    /* 1 h */
#define FEED_INTERVAL_MS "20"

/* The oracle's posting rule. */
#define DEVIATION_PCT 1
#define HEARTBEAT_BARS 12

/* Guardian chain: deploy_vault's addresses. */
#define VAULT DEPLOYED1
/* Liquidator chain: deploy_lending's. */
#define POOL DEPLOYED1
/* anvil's dev account 9 (public test key): the liquidator. */
#define K9 "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"
#define ACCT9 "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"

/* ---- the series */

typedef struct {
	int64_t t_ms;        /* time_close, ms (fraction beyond ms cut) */
	long long cents;     /* price_close in cents (the file has 2 decimals) */
	char iso[40];        /* time_close as the file writes it */
} point_t;

static point_t pts[NPTS_MAX];
static int npts;

/* "YYYY-MM-DDTHH:MM:SS[.fraction]Z" as ms since the epoch, the fraction
 * cut to ms (as keeper's feed parser does). */
static bool iso_ms(const char *s, int64_t *ms)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, n = 0, frac = 0, digits = 0;
	const char *p;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || !n)
		return false;
	p = s + n;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (digits < 3) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
	for (; digits < 3; digits++)
		frac *= 10;
	if (*p != 'Z')
		return false;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*ms = (int64_t)timegm(&tm) * 1000 + frac;
	return true;
}

static bool load_series(void)
{
	json_t *root = t_load_json(SERIES), *bar;
	size_t i;
	bool ok = json_is_array(root) && json_array_size(root) <= NPTS_MAX;

	json_array_foreach(ok ? root : NULL, i, bar) {
		const char *tc = json_string_value(json_object_get(bar, "time_close"));
		json_t *pc = json_object_get(bar, "price_close");
		double x100 = json_number_value(pc) * 100;
		point_t *p = &pts[npts];

		/* cents exactly: the feed, the reference and the oracle then
		 * all hold the file's price */
		if (!tc || !json_is_number(pc) || strlen(tc) >= sizeof p->iso ||
		    !iso_ms(tc, &p->t_ms) || x100 <= 0 || fabs(x100 - llround(x100)) > 1e-6 ||
		    (npts && p->t_ms <= pts[npts - 1].t_ms)) {
			ok = false;
			break;
		}
		snprintf(p->iso, sizeof p->iso, "%s", tc);
		p->cents = llround(x100);
		npts++;
	}
	json_decref(root);
	return ok && npts > 0;
}

static double price_of(int k)
{
	return (double)pts[k].cents / 100;
}

/* The drop of bar k from the highest price of the bars in its window, in
 * percent, and the bar of that high. */
static double drop_at(int k, int *high_at)
{
	int hi = k;

	for (int j = k; j >= 0 && pts[j].t_ms >= pts[k].t_ms - WINDOW_MS; j--)
		if (pts[j].cents > pts[hi].cents)
			hi = j;
	if (high_at)
		*high_at = hi;
	return (double)(pts[hi].cents - pts[k].cents) / (double)pts[hi].cents * 100;
}

/* The bars that must trip the guardian's trigger: the drop reaches the
 * threshold, and the previous trip is at least the cooldown before. */
static int reference_trips(int *out, int cap)
{
	int n = 0;

	for (int k = 0; k < npts; k++)
		if (drop_at(k, NULL) >= THRESHOLD_PCT &&
		    (n == 0 || pts[k].t_ms - pts[out[n - 1]].t_ms >= COOLDOWN_MS) && n < cap)
			out[n++] = k;
	return n;
}

/* The feed: one JSON Lines message per bar. */
static bool write_feed(const char *path)
{
	FILE *f = fopen(path, "w");
	bool ok = f != NULL;

	for (int k = 0; ok && k < npts; k++)
		ok = fprintf(f, "{\"i\":%d,\"price\":%lld.%02lld,\"time\":\"%s\"}\n", k,
			     pts[k].cents / 100, pts[k].cents % 100, pts[k].iso) > 0;
	return f && fclose(f) == 0 && ok;
}

/* ---- JSON-RPC to anvil, for the per-step reads
 *
 * Each oracle step reads price() and eight health factors.  As cast
 * processes that is nine per step, about 20 s for the day on a loaded
 * machine; as one JSON-RPC batch over a kept-alive libcurl connection it is
 * a few ms.  The reads are the same eth_calls at the same head; cast still
 * reads everything the final verdict rests on (events, receipts, nonces,
 * debts, collateral, the price at each liquidation's block). */

static CURL *curl;
static char rpc_answer[1 << 16];
static size_t rpc_answer_len;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	size_t len = size * n, room = sizeof rpc_answer - 1 - rpc_answer_len;

	(void)arg;
	if (len > room)
		return 0;   /* too long: a failed transfer */
	memcpy(rpc_answer + rpc_answer_len, p, len);
	rpc_answer_len += len;
	rpc_answer[rpc_answer_len] = 0;
	return len;
}

/* POST a batch to rpc_url: the answers' "result" strings by id (ids
 * 0..n-1) into res; false if any is missing or an error. */
static bool rpc_batch(const char *body, int n, char (*res)[80])
{
	struct curl_slist *hdr;
	json_t *a, *it;
	CURLcode rc;
	size_t i;
	int got = 0;

	if (!curl && !(curl = curl_easy_init()))
		return false;
	rpc_answer_len = 0;
	rpc_answer[0] = 0;
	curl_easy_setopt(curl, CURLOPT_URL, rpc_url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
	rc = curl_easy_perform(curl);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK || !(a = json_loads(rpc_answer, 0, NULL)))
		return false;
	json_array_foreach(a, i, it) {
		json_int_t id = json_integer_value(json_object_get(it, "id"));
		const char *r = json_string_value(json_object_get(it, "result"));

		if (id >= 0 && id < n && r && strlen(r) < sizeof res[0]) {
			snprintf(res[id], sizeof res[0], "%s", r);
			got++;
		}
	}
	json_decref(a);
	return got == n;
}

/* ---- the chain, through cast */

/* `cast rpc METHOD PARAMS` (fmt and what follows) answering a JSON object
 * or array, parsed (NULL on failure). */
static json_t *cast_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *cast_json(const char *fmt, ...)
{
	static char out[1 << 17];
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	if (cast(out, sizeof out, "rpc %s", cmd))
		return NULL;
	return json_loads(out, 0, NULL);
}

static uint64_t hex_u64(json_t *j, const char *k)
{
	const char *v = json_string_value(json_object_get(j, k));

	return v ? strtoull(v, NULL, 16) : UINT64_MAX;
}

/* topic as an address: its last 20 bytes, lowercase hex with 0x. */
static void topic_addr(const char *topic, char out[43])
{
	out[0] = 0;
	if (topic && strlen(topic) == 66)
		snprintf(out, 43, "0x%s", topic + 26);
}

static bool same_addr(const char *a, const char *b)
{
	return strlen(a) == 42 && strlen(b) == 42 && strncasecmp(a, b, 42) == 0;
}

/* cast keccak of an event signature: its topic 0 (no node involved). */
static bool topic0(const char *sig, char out[67])
{
	return sh(out, 67, "%s keccak '%s'", cast_bin, sig) == 0 && strlen(out) == 66;
}

/* ============================================================ guardian */

static const char *gcfg_path, *gkey_path, *feed_path;

static void test_guardian(void)
{
	char cfg[4096], summary[2048], line[2048], v[128], hash[96] = "", paused_t0[67];
	char by[43];
	int ref[16], nref = reference_trips(ref, 16), ntrip, hi, ncross = 0;
	feedsrv_t fs = { -1, 0 };
	pid_t anvil;
	int64_t t_go, t_mined;
	json_t *rc;

	CHECK(nref >= 1);
	if (nref < 1)
		return;
	/* the reference is computed, not assumed: say which bars cross */
	for (int k = 0; k < npts; k++)
		ncross += drop_at(k, NULL) >= THRESHOLD_PCT;
	printf("    reference: %d bars of %d are %.0f %% or more below the 2 h high; with the "
	       "1 h cooldown %d trip%s:", ncross, npts, THRESHOLD_PCT, nref, nref == 1 ? "" : "s");
	for (int i = 0; i < nref; i++)
		printf(" bar %d (%s)", ref[i], pts[ref[i]].iso);
	printf("\n");

	CHECK((anvil = anvil_up(NULL)) > 0);
	if (anvil <= 0)
		return;
	CHECK(deploy_vault());
	CHECK(topic0("Paused(address)", paused_t0));
	{
		const char *args[] = { "--file", feed_path, "--interval-ms", FEED_INTERVAL_MS,
				       "--lifetime", "120", NULL };

		CHECK(feedsrv_start(&fs, args) == 0);
		if (fs.pid <= 0)
			goto out_anvil;
		track(fs.pid, false);
	}
	/* held until keeper can act: its feed connection waits in the
	 * kernel's backlog meanwhile */
	CHECK(kill(fs.pid, SIGSTOP) == 0);
	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d/\"; rpc = [ \"%s\" ]; };\n"
		 "signer = { key_file = \"%s\"; };\n"
		 "feeds = ( { name = \"eth-usd\"; url = \"ws://127.0.0.1:%d/\";\n"
		 "  price = \"price\"; time = \"time\"; stale_after_ms = 3000; } );\n"
		 "watch = ( { name = \"vault\"; address = \"" VAULT "\"; } );\n"
		 "triggers = ( { name = \"crash\"; kind = \"price_move\"; feed = \"eth-usd\";\n"
		 "  window_ms = %lld; threshold_pct = %.0f; direction = \"down\";\n"
		 "  cooldown_ms = %lld; action = \"pause-vault\"; } );\n"
		 "actions = ( { name = \"pause-vault\"; to = \"" VAULT "\"; call = \"pause()\";\n"
		 "  guard = \"paused()\"; gas_limit = 100000; gas = \"g\"; } );\n"
		 "gas = ( { name = \"g\"; strategy = \"fixed\"; max_fee_gwei = 50; "
		 "priority_fee_gwei = 2; } );\n"
		 "log = { level = \"info\"; };\n",
		 anvil_port, rpc_url, gkey_path, fs.port, WINDOW_MS, THRESHOLD_PCT, COOLDOWN_MS);
	CHECK(write_text(gcfg_path, cfg));
	if (!keeper_subscribed(gcfg_path, false))
		goto out_feed;
	CHECK(count_in_log("sending as " ACCT1) == 1);
	t_go = mono_ms();
	CHECK(kill(fs.pid, SIGCONT) == 0);
	CHECK_MSG(wait_log("mined action=pause-vault", 1, 30000), "no pause mined:\n%s", logbuf);
	t_mined = mono_ms() - t_go;
	CHECK_MSG(wait_log("eth-usd: stale: no tick for", 1, 30000), "the series did not end:\n%s",
		  logbuf);

	/* the trips: exactly the reference, at the reference's series time */
	ntrip = count_in_log("trip: crash ");
	CHECK_EQ_INT(ntrip, nref);
	for (int i = 0; i < ntrip && i < nref; i++) {
		int64_t t;
		double move = drop_at(ref[i], &hi);

		CHECK(log_line("trip: crash ", i, line, sizeof line));
		CHECK(field(line, "kind", v, sizeof v) && !strcmp(v, "price_move"));
		CHECK(field(line, "time", v, sizeof v) && iso_ms(v, &t));
		CHECK_MSG(t == pts[ref[i]].t_ms, "trip %d at %s, reference bar %d at %s", i, v,
			  ref[i], pts[ref[i]].iso);
		CHECK(field(line, "value", v, sizeof v) && fabs(atof(v) - move) < 1e-3);
		printf("    guardian: tripped at bar %d, series time %s, price %.2f, move %.2f %% "
		       "down from %.2f (bar %d, %s) within 2 h; keeper's value %s\n", ref[i],
		       pts[ref[i]].iso, price_of(ref[i]), move, price_of(hi), hi, pts[hi].iso, v);
	}
	/* the pause, mined */
	CHECK(log_line("sent action=pause-vault", 0, line, sizeof line));
	CHECK(field(line, "hash", hash, sizeof hash) && strlen(hash) == 66);
	CHECK(log_line("mined action=pause-vault", 0, line, sizeof line));
	CHECK(strstr(line, hash) != NULL);
	CHECK_EQ_INT(count_in_log("sent action=pause-vault"), 1);
	rc = cast_json("eth_getTransactionReceipt %s", hash);
	CHECK(json_is_object(rc));
	if (json_is_object(rc)) {
		json_t *lg = json_array_get(json_object_get(rc, "logs"), 0);
		json_t *tp = json_object_get(lg, "topics");
		const char *t0 = json_string_value(json_array_get(tp, 0));
		const char *from = json_string_value(json_object_get(lg, "address"));

		CHECK_EQ_INT(hex_u64(rc, "status"), 1);
		CHECK(from && same_addr(from, VAULT));
		CHECK(t0 && !strcmp(t0, paused_t0));
		topic_addr(json_string_value(json_array_get(tp, 1)), by);
		CHECK(same_addr(by, ACCT1));
		printf("    guardian: pause %s mined in block %llu, status %llu, Paused(by %s); "
		       "keeper logged it mined %lld ms after the series started\n", hash,
		       (unsigned long long)hex_u64(rc, "blockNumber"),
		       (unsigned long long)hex_u64(rc, "status"), by, (long long)t_mined);
	}
	json_decref(rc);
	{
		char o[64];

		CHECK(cast(o, sizeof o, "call " VAULT " 'paused()(bool)'") == 0);
		CHECK_EQ_STR(o, "true");
	}
	CHECK_EQ_INT(cast_nonce(ACCT1, "latest"), 1);
	CHECK_EQ_INT(count_in_log("ALERT"), 0);

	CHECK_EQ_INT(keeper_stop(summary, sizeof summary), 0);
	printf("    %s\n", summary);
	snprintf(v, sizeof v, "(%d price,", npts);
	CHECK(strstr(summary, v) != NULL);
	snprintf(v, sizeof v, " %d trips;", nref);
	CHECK(strstr(summary, v) != NULL);
	CHECK(strstr(summary, " 1 sent,") != NULL);
	CHECK(strstr(summary, " 1 mined,") != NULL);
	CHECK(strstr(summary, " 0 reverted,") != NULL);
	CHECK(strstr(summary, " 0 in flight;") != NULL);
out_feed:
	untrack(fs.pid);
	feedsrv_stop(&fs);
out_anvil:
	anvil_stop(anvil);
}

/* ========================================================== liquidator */

#define NB 8
/* Collateral (milli-ether) and debt (whole tokens) of dev accounts 1..8.
 * Liquidation price = debt / (0.8 * collateral). */
static const struct {
	unsigned milli_eth, debt;
} book[NB] = {
	{ 2000, 194 },   /* 121.25: crosses at 120.86 */
	{ 1000, 92 },    /* 115.00: at 111.00 */
	{ 3000, 270 },   /* 112.50: at 111.00, with a larger debt */
	{ 1500, 130 },   /* 108.33: at 106.59 */
	{ 1000, 85 },    /* 106.25: 1.0032 at the low, healthy */
	{ 4000, 300 },   /*  93.75 */
	{ 500, 30 },     /*  75.00 */
	{ 2000, 100 },   /*  62.50 */
};

static char who[NB + 1][64];            /* dev accounts 1..9 */
static const char *lcfg_path, *lkey_path;
static char sel_health[11], sel_price[11];

typedef struct {
	bool unhealthy_seen;    /* health < 1e18 at some step */
	int episodes;           /* healthy -> unhealthy transitions seen */
	bool was_unhealthy;
	int cross_bar;          /* the bar of the step where it first crossed */
	uint64_t cross_block;   /* the block of the liquidation that followed */
	double hf_before, hf_after;
	double hf_min;          /* the lowest health factor read */
	int min_bar;            /* and the bar posted then */
	int index;              /* its order among the liquidations, -1 */
} pos_t;

static pos_t pos[NB];

static double hf_double(const char *hex)
{
	u256_t v;
	uint64_t x;

	if (u256_from_hex(&v, hex, strlen(hex)) != KERR_OK)
		return -1;
	if (!u256_to_u64(&v, &x))
		return INFINITY;
	return (double)x / 1e18;
}

static bool hf_below_one(const char *hex)
{
	u256_t v, one;

	u256_from_u64(&one, 1000000000000000000ULL);
	return u256_from_hex(&v, hex, strlen(hex)) == KERR_OK && u256_cmp(&v, &one) < 0;
}

/* price() and every healthFactor at the head: res[0] the price, res[1 +
 * i] borrower i's health factor. */
static bool read_pool(char (*res)[80])
{
	char body[4096];
	size_t n = 0;

	n += (size_t)snprintf(body + n, sizeof body - n,
			      "[{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"eth_call\",\"params\":"
			      "[{\"to\":\"" POOL "\",\"data\":\"%s\"},\"latest\"]}", sel_price);
	for (int i = 0; i < NB; i++)
		n += (size_t)snprintf(body + n, sizeof body - n,
				      ",{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"eth_call\","
				      "\"params\":[{\"to\":\"" POOL "\",\"data\":\"%s%024d%s\"},"
				      "\"latest\"]}", i + 1, sel_health, 0, who[i] + 2);
	snprintf(body + n, sizeof body - n, "]");
	return rpc_batch(body, NB + 1, res);
}

static bool setup_lending(void)
{
	char a[256];

	if (!deploy_lending() || !dev_accounts(NULL, who, NB + 1) || !same_addr(who[NB], ACCT9))
		return false;
	for (int i = 0; i < NB; i++) {
		snprintf(a, sizeof a, "'deposit()' --value %u000000000000000", book[i].milli_eth);
		if (!send_from(who[i], true, POOL, a))
			return false;
		snprintf(a, sizeof a, "'borrow(uint256)' %u" E18, book[i].debt);
		if (!send_from(who[i], true, POOL, a))
			return false;
	}
	return send_from(K0, false, DEPLOYED0, "'mint(address,uint256)' " ACCT9 " 1000" E18) &&
	       send_from(K9, false, DEPLOYED0, "'approve(address,uint256)' " POOL " 1000" E18) &&
	       sh(sel_health, sizeof sel_health, "%s sig 'healthFactor(address)'", cast_bin) == 0 &&
	       sh(sel_price, sizeof sel_price, "%s sig 'price()'", cast_bin) == 0 &&
	       strlen(sel_health) == 10 && strlen(sel_price) == 10;
}

/* The bars the oracle posts: the first, then each 1 % or more away from
 * the last posted price, or 12 bars after it. */
static int oracle_steps(int *out)
{
	int n = 0;

	out[n++] = 0;
	for (int k = 1; k < npts; k++) {
		long long last = pts[out[n - 1]].cents, d = llabs(pts[k].cents - last);

		if (d * 100 >= DEVIATION_PCT * last || k - out[n - 1] >= HEARTBEAT_BARS)
			out[n++] = k;
	}
	return n;
}

/* tx is the hash of one of keeper's "mined action=liq" lines. */
static bool mined_by_keeper(const char *tx)
{
	char line[2048], h[96];

	for (int k = 0; log_line("mined action=liq", k, line, sizeof line); k++)
		if (field(line, "hash", h, sizeof h) && !strcasecmp(h, tx))
			return true;
	return false;
}

/* Wait until the liquidator's pending nonce is at least want (more is
 * caught by the final checks). */
static bool wait_pending_nonce(uint64_t want, int ms)
{
	int64_t t0 = mono_ms();

	uint64_t n;

	while ((n = cast_nonce(ACCT9, "pending")) < want || n == UINT64_MAX) {
		if (mono_ms() - t0 > ms || waitpid(keeper_pid, NULL, WNOHANG) == keeper_pid)
			return false;
		usleep(30000);
	}
	return true;
}

/* One post of the oracle and what follows: n_liq (the liquidations so
 * far) grows by the borrowers newly unhealthy. */
static void step(int k, uint64_t nonce0, int *n_liq)
{
	char res[NB + 1][80], hash[67], a[256];
	int fresh[NB], nfresh = 0;
	uint64_t blk;
	u256_t posted;
	char dec[U256_DEC_MAX];

	snprintf(a, sizeof a, "--private-key " K0 " " POOL " 'setPrice(uint256)' %lld%s",
		 pts[k].cents, "0000000000000000");
	CHECK(send_async(hash, a));
	CHECK(evm_mine());
	CHECK(read_pool(res));
	/* the oracle holds the bar's price: the post was mined */
	CHECK_OK(u256_from_hex(&posted, res[0], strlen(res[0])));
	u256_to_dec(&posted, dec, sizeof dec);
	snprintf(a, sizeof a, "%lld0000000000000000", pts[k].cents);
	CHECK_MSG(!strcmp(dec, a), "bar %d: price() %s, posted %s", k, dec, a);
	for (int i = 0; i < NB; i++) {
		bool u = hf_below_one(res[1 + i]);
		double hf = hf_double(res[1 + i]);

		if (hf < pos[i].hf_min) {
			pos[i].hf_min = hf;
			pos[i].min_bar = k;
		}

		if (u && !pos[i].was_unhealthy) {
			pos[i].episodes++;
			if (!pos[i].unhealthy_seen) {
				pos[i].unhealthy_seen = true;
				pos[i].cross_bar = k;
				pos[i].hf_before = hf_double(res[1 + i]);
				fresh[nfresh++] = i;
			}
		}
		pos[i].was_unhealthy = u;
	}
	if (!nfresh)
		return;
	*n_liq += nfresh;
	CHECK_MSG(wait_pending_nonce(nonce0 + (uint64_t)*n_liq, 20000),
		  "bar %d: keeper did not send %d liquidation(s):\n%s", k, nfresh, logbuf);
	CHECK(evm_mine());
	CHECK_MSG(wait_log("mined action=liq", *n_liq, 20000), "bar %d: not mined:\n%s", k,
		  logbuf);
	CHECK(read_pool(res));
	blk = block_number();
	for (int j = 0; j < nfresh; j++) {
		int i = fresh[j];

		pos[i].cross_block = blk;
		pos[i].hf_after = hf_double(res[1 + i]);
		pos[i].was_unhealthy = hf_below_one(res[1 + i]);
	}
}

static void test_liquidator(void)
{
	char cfg[8192], accts[1024] = "", summary[2048], want[64], signer[256];
	char liq_t0[67];
	int steps[NPTS_MAX], nsteps = oracle_steps(steps), n_liq = 0, crossed = 0;
	int liquidated = 0, prices = 0;
	size_t n_events = 0;
	uint64_t nonce0, first_block;
	pid_t anvil;
	json_t *logs;
	size_t n = 0;

	CHECK((anvil = anvil_up((const char *[]){ "--accounts", "10", NULL })) > 0);
	if (anvil <= 0)
		return;
	CHECK(setup_lending());
	CHECK(topic0("Liquidate(address,address,uint256,uint256)", liq_t0));
	if (t_cur_failed)
		goto out_anvil;
	for (int i = 0; i < NB; i++) {
		pos[i].index = -1;
		pos[i].hf_min = INFINITY;
		n += (size_t)snprintf(accts + n, sizeof accts - n, "%s\"%s\"", i ? ", " : "",
				      who[i]);
	}
	snprintf(signer, sizeof signer, "signer = { key_file = \"%s\"; };\n", lkey_path);
	lending_cfg(cfg, sizeof cfg, accts, signer);
	CHECK(write_text(lcfg_path, cfg));
	/* its own log: the guardian's must not answer for it */
	keeper_out = tmp_file("liquidator.stdout");
	keeper_err = tmp_file("liquidator.stderr");
	if (!keeper_subscribed(lcfg_path, false))
		goto out_anvil;
	CHECK_MSG(count_in_log("sending as " ACCT9) == 1, "log:\n%s", logbuf);
	snprintf(want, sizeof want, "lending: %d borrowers known", NB);
	CHECK_MSG(wait_log(want, 1, 10000), "borrowers:\n%s", logbuf);
	nonce0 = cast_nonce(ACCT9, "latest");
	CHECK_EQ_INT(nonce0, 1);   /* its approve */
	CHECK(set_automine(false));
	first_block = block_number() + 1;
	printf("    oracle: %d of %d bars posted (%d %% deviation or %d bars), from block %llu\n",
	       nsteps, npts, DEVIATION_PCT, HEARTBEAT_BARS, (unsigned long long)first_block);
	for (int s = 0; s < nsteps && t_cur_failed == 0; s++)
		step(steps[s], nonce0, &n_liq);
	/* the day is over: two more blocks, and nothing more is sent */
	CHECK(evm_mine());
	CHECK(evm_mine());
	usleep(1000000);
	CHECK_EQ_INT(cast_nonce(ACCT9, "pending"), nonce0 + (uint64_t)n_liq);
	CHECK_EQ_INT(cast_nonce(ACCT9, "latest"), nonce0 + (uint64_t)n_liq);
	CHECK_EQ_INT(count_in_log("sent action=liq"), n_liq);

	/* the chain's record: the Liquidate events */
	logs = cast_json("eth_getLogs '{\"address\":\"" POOL "\",\"fromBlock\":\"0x0\","
			 "\"toBlock\":\"latest\",\"topics\":[\"%s\"]}'", liq_t0);
	CHECK(json_is_array(logs));
	n_events = json_array_size(logs);
	CHECK_EQ_INT(n_events, n_liq);
	for (size_t e = 0; e < json_array_size(logs); e++) {
		json_t *lg = json_array_get(logs, e), *tp = json_object_get(lg, "topics"), *rc;
		const char *data = json_string_value(json_object_get(lg, "data"));
		const char *tx = json_string_value(json_object_get(lg, "transactionHash"));
		char who_t[43], by[43], w[67], price_dec[128];
		u256_t repaid, seized, want_repaid, debt;
		uint64_t seized_u = 0;
		uint64_t blk = hex_u64(lg, "blockNumber");
		int i = -1;

		topic_addr(json_string_value(json_array_get(tp, 1)), who_t);
		topic_addr(json_string_value(json_array_get(tp, 2)), by);
		for (int j = 0; j < NB; j++)
			if (same_addr(who_t, who[j]))
				i = j;
		CHECK_MSG(i >= 0, "Liquidate of %s, not a borrower", who_t);
		CHECK(same_addr(by, ACCT9));
		CHECK(data && strlen(data) == 130);
		if (i < 0 || !data || strlen(data) != 130)
			continue;
		CHECK_MSG(pos[i].unhealthy_seen, "%s liquidated but never seen unhealthy", who_t);
		CHECK_MSG(pos[i].index < 0, "%s liquidated twice", who_t);
		pos[i].index = (int)e;
		/* repaid floor(debt * 50 / 100), in the block after the post */
		snprintf(w, sizeof w, "0x%.64s", data + 2);
		CHECK_OK(u256_from_hex(&repaid, w, 66));
		snprintf(w, sizeof w, "0x%.64s", data + 66);
		CHECK_OK(u256_from_hex(&seized, w, 66));
		CHECK(u256_to_u64(&seized, &seized_u));
		u256_from_u64(&debt, book[i].debt);
		CHECK_OK(u256_mul_u64(&debt, &debt, 1000000000000000000ULL));
		CHECK_OK(u256_div_u64(&want_repaid, &debt, 2, NULL));
		CHECK(u256_cmp(&repaid, &want_repaid) == 0);
		CHECK_EQ_INT(blk, pos[i].cross_block);
		CHECK(cast(price_dec, sizeof price_dec, "call --block %llu " POOL
			   " 'price()(uint256)'", (unsigned long long)blk) == 0);
		snprintf(w, sizeof w, "%lld0000000000000000", pts[pos[i].cross_bar].cents);
		CHECK_MSG(strncmp(price_dec, w, strlen(w)) == 0 &&
			  (price_dec[strlen(w)] == 0 || price_dec[strlen(w)] == ' '),
			  "price at block %llu: %s", (unsigned long long)blk, price_dec);
		/* keeper's transaction, mined with status 1 */
		CHECK_MSG(tx && mined_by_keeper(tx), "%s: not a transaction keeper logged as mined",
			  tx ? tx : "no hash");
		rc = cast_json("eth_getTransactionReceipt %s", tx ? tx : "0x0");
		CHECK(json_is_object(rc) && hex_u64(rc, "status") == 1);
		json_decref(rc);
		printf("    liquidated %s (%u.%03u ETH, debt %u) at bar %d (%s) price %.2f: block "
		       "%llu, index %llu, repaid %u.%s, seized %.4f ETH, health %.4f -> %.4f\n",
		       who[i], book[i].milli_eth / 1000, book[i].milli_eth % 1000, book[i].debt,
		       pos[i].cross_bar, pts[pos[i].cross_bar].iso,
		       price_of(pos[i].cross_bar), (unsigned long long)blk,
		       (unsigned long long)hex_u64(lg, "transactionIndex"), book[i].debt / 2,
		       book[i].debt % 2 ? "5" : "0", (double)seized_u / 1e18, pos[i].hf_before,
		       pos[i].hf_after);
	}
	/* two of one scan: the larger debt first */
	for (size_t e = 0; e + 1 < json_array_size(logs); e++) {
		json_t *a = json_array_get(logs, e), *b = json_array_get(logs, e + 1);
		int ia = -1, ib = -1;

		for (int j = 0; j < NB; j++) {
			if (pos[j].index == (int)e)
				ia = j;
			if (pos[j].index == (int)e + 1)
				ib = j;
		}
		if (ia >= 0 && ib >= 0 && hex_u64(a, "blockNumber") == hex_u64(b, "blockNumber"))
			CHECK_MSG(book[ia].debt > book[ib].debt, "same block: debt %u before %u",
				  book[ia].debt, book[ib].debt);
	}
	json_decref(logs);

	/* every borrower: liquidated once if and only if it was unhealthy */
	for (int i = 0; i < NB; i++) {
		u256_t debt, coll, d0, c0;

		CHECK_MSG(pos[i].episodes <= 1, "%s unhealthy %d times", who[i], pos[i].episodes);
		CHECK_MSG(pos[i].unhealthy_seen == (pos[i].index >= 0),
			  "%s: unhealthy %d, liquidated %d", who[i], pos[i].unhealthy_seen,
			  pos[i].index >= 0);
		crossed += pos[i].unhealthy_seen;
		liquidated += pos[i].index >= 0;
		if (pos[i].unhealthy_seen) {
			bool seen = false;

			for (int j = 0; j < i; j++)
				seen |= pos[j].unhealthy_seen &&
					pos[j].cross_bar == pos[i].cross_bar;
			prices += !seen;
		}
		CHECK(cast_u256(&debt, "call " POOL " 'debtOf(address)(uint256)' %s", who[i]));
		CHECK(cast_u256(&coll, "call " POOL " 'collateralOf(address)(uint256)' %s",
				who[i]));
		u256_from_u64(&d0, book[i].debt);
		CHECK_OK(u256_mul_u64(&d0, &d0, 1000000000000000000ULL));
		u256_from_u64(&c0, book[i].milli_eth);
		CHECK_OK(u256_mul_u64(&c0, &c0, 1000000000000000ULL));
		if (!pos[i].unhealthy_seen) {
			CHECK_MSG(u256_cmp(&debt, &d0) == 0 && u256_cmp(&coll, &c0) == 0,
				  "%s was healthy but its position changed", who[i]);
			printf("    untouched %s (%u.%03u ETH, debt %u): lowest health %.4f at bar "
			       "%d, price %.2f\n", who[i], book[i].milli_eth / 1000,
			       book[i].milli_eth % 1000, book[i].debt, pos[i].hf_min,
			       pos[i].min_bar, price_of(pos[i].min_bar));
		} else {
			u256_t half;

			CHECK_OK(u256_sub(&half, &d0, &debt));
			CHECK_OK(u256_div_u64(&d0, &d0, 2, NULL));
			CHECK(u256_cmp(&half, &d0) == 0);
			CHECK(u256_cmp(&coll, &c0) < 0);
		}
	}
	CHECK(crossed > 0 && crossed < NB);
	CHECK_EQ_INT(count_in_log("mined action=liq"), n_liq);
	CHECK_EQ_INT(count_in_log("reverted action="), 0);
	CHECK_EQ_INT(count_in_log("ALERT"), 0);

	CHECK_EQ_INT(keeper_stop(summary, sizeof summary), 0);
	printf("    %s\n", summary);
	snprintf(want, sizeof want, " %d trips;", n_liq);
	CHECK(strstr(summary, want) != NULL);
	snprintf(want, sizeof want, " %d sent,", n_liq);
	CHECK(strstr(summary, want) != NULL);
	snprintf(want, sizeof want, " %d mined,", n_liq);
	CHECK(strstr(summary, want) != NULL);
	CHECK(strstr(summary, " 0 replaced,") != NULL);
	CHECK(strstr(summary, " 0 reverted,") != NULL);
	CHECK(strstr(summary, " 0 failed,") != NULL);
	CHECK(strstr(summary, " 0 in flight;") != NULL);
	CHECK(strstr(summary, " scans, 0 errors;") != NULL);
	printf("    counts: %d borrowers, %d became unhealthy (at %d prices), %zu Liquidate "
	       "events for %d accounts, %d healthy untouched; liquidator nonce %llu -> %llu; "
	       "%d oracle posts\n", NB, crossed, prices, n_events, liquidated, NB - crossed,
	       (unsigned long long)nonce0, (unsigned long long)cast_nonce(ACCT9, "latest"),
	       nsteps);
out_anvil:
	anvil_stop(anvil);
}

int main(int argc, char **argv)
{
	(void)argc;
	feedsrv_locate(argv[0]);
	if (!keeper_test_begin("test_e2e_blackthursday_anvil", 150, argv[0], "blackthursday",
			       feedsrv_path))
		return 1;
	if (!load_series())
		return setup_failed("reading " SERIES);
	gcfg_path = tmp_file("guardian.cfg");
	gkey_path = tmp_file("guardian.key");
	lcfg_path = tmp_file("liquidator.cfg");
	lkey_path = tmp_file("liquidator.key");
	feed_path = tmp_file("series.jsonl");
	if (!write_mode(gkey_path, K1 "\n", 0600) || !write_mode(lkey_path, K9 "\n", 0600) ||
	    !write_feed(feed_path))
		return setup_failed("key files, feed file");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return setup_failed("curl");
	printf("    series: %d bars, %s .. %s, %.2f -> %.2f; played every " FEED_INTERVAL_MS
	       " ms\n", npts, pts[0].iso, pts[npts - 1].iso, price_of(0), price_of(npts - 1));
	RUN(test_guardian);
	RUN(test_liquidator);
	if (curl)
		curl_easy_cleanup(curl);
	curl_global_cleanup();
	return e2e_done();
}
