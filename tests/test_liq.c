/*
 * test_liq: the liquidation candidate book (strategies/liq) on its own:
 * trips ordered by debt, each account once until resolved, re-armed by a
 * resolution or by being seen healthy, confirm and cooldown per account,
 * the room the caller gives, the repay amount to the wei (rounding down,
 * debts up to 2^256 - 1), the return data of the views, and the bounds.
 * The expected amounts of huge debts were computed with Python's integers.
 */
#include "strategies/liq.h"

#include "tests/test.h"

static config_trigger_t T;

/* A liquidation trigger as the loader makes it: a health-factor view,
 * close factor pct, no confirm, no cooldown. */
static void trig_reset(uint64_t pct)
{
	memset(&T, 0, sizeof T);
	T.name = "borrowers";
	T.kind = CONFIG_TRIGGER_LIQUIDATION;
	T.health.sig = "healthFactor(address)";
	T.debt.sig = "debtOf(address)";
	T.close_factor_pct = pct;
}

/* Account k: 0x00…0k with a distinct first byte, so no two share a hash
 * prefix by construction. */
static addr_t who(unsigned k)
{
	addr_t a;

	memset(&a, 0, sizeof a);
	a.b[0] = (uint8_t)(k * 37 + 1);
	a.b[19] = (uint8_t)k;
	a.b[18] = (uint8_t)(k >> 8);
	return a;
}

static liq_result_t bad(unsigned k, uint64_t debt)
{
	liq_result_t r = { .account = who(k), .ok = true, .liquidatable = true,
			   .health = 0.9 };
	u256_from_u64(&r.debt, debt);
	return r;
}

static liq_result_t good(unsigned k)
{
	return (liq_result_t){ .account = who(k), .ok = true, .liquidatable = false,
			       .health = 1.5 };
}

static void check_dec(const u256_t *v, const char *want)
{
	char dec[U256_DEC_MAX];

	u256_to_dec(v, dec, sizeof dec);
	CHECK_EQ_STR(dec, want);
}

static void test_order_and_once(void)
{
	liq_book_t *b = NULL;
	liq_result_t r[6];
	detect_trip_t tr[8];
	size_t n = 99;
	liq_stats_t st;

	trig_reset(50);
	CHECK_OK(liq_new(&b, &T, 16));
	if (!b)
		return;
	CHECK_ERR(liq_add(b, &(addr_t){ { 0 } }, NULL), KERR_ARG);
	for (unsigned k = 0; k < 6; k++) {
		addr_t a = who(k);
		bool added = false;
		CHECK_OK(liq_add(b, &a, &added));
		CHECK(added);
	}
	CHECK_EQ_INT(liq_count(b), 6);
	/* debts 300, 900, healthy, 100, 900 (tie with 1), 500 */
	r[0] = bad(0, 300);
	r[1] = bad(1, 900);
	r[2] = good(2);
	r[3] = bad(3, 100);
	r[4] = bad(4, 900);
	r[5] = bad(5, 500);
	r[4].health = 0.5;
	CHECK_OK(liq_decide(b, r, 6, 5000, tr, 8, &n));
	CHECK_EQ_INT(n, 5);
	if (n == 5) {
		/* 900 twice (1 before 4: who(1) < who(4) as bytes), 500, 300, 100 */
		addr_t want[5] = { who(1), who(4), who(5), who(0), who(3) };
		const char *amt[5] = { "450", "450", "250", "150", "50" };
		for (int i = 0; i < 5; i++) {
			CHECK(addr_eq(&tr[i].account, &want[i]));
			CHECK(tr[i].has_account && tr[i].has_amount);
			check_dec(&tr[i].amount, amt[i]);
			CHECK_EQ_STR(tr[i].trigger, "borrowers");
			CHECK_EQ_INT(tr[i].kind, CONFIG_TRIGGER_LIQUIDATION);
			CHECK_EQ_INT(tr[i].time_ms, 5000);
			CHECK(tr[i].threshold == 1.0);
			CHECK(!tr[i].has_tx && !tr[i].has_token);
		}
		CHECK(tr[1].value == 0.5 && tr[0].value == 0.9);
	}
	CHECK_EQ_INT(liq_in_flight_count(b), 5);
	CHECK(liq_in_flight(b, &r[0].account));
	CHECK(!liq_in_flight(b, &r[2].account));
	/* the same answers again: nothing trips a second time */
	CHECK_OK(liq_decide(b, r, 6, 6000, tr, 8, &n));
	CHECK_EQ_INT(n, 0);
	liq_stats(b, &st);
	CHECK_EQ_INT(st.trips, 5);
	CHECK_EQ_INT(st.in_flight, 5);
	CHECK_EQ_INT(st.results, 12);
	CHECK_EQ_INT(st.added, 6);
	CHECK_EQ_INT(st.zero, 1);
	liq_free(b);
}

/* Resolved: re-armed, so a still-liquidatable account trips again (the
 * rest of its debt); seen healthy while in flight: re-armed too. */
static void test_rearm(void)
{
	liq_book_t *b = NULL;
	liq_result_t r[3];
	detect_trip_t tr[4];
	size_t n;
	liq_stats_t st;
	addr_t nobody = who(200);

	trig_reset(50);
	CHECK_OK(liq_new(&b, &T, 8));
	if (!b)
		return;
	for (unsigned k = 0; k < 3; k++) {
		addr_t a = who(k);
		CHECK_OK(liq_add(b, &a, NULL));
	}
	r[0] = bad(0, 1000);
	r[1] = bad(1, 2000);
	r[2] = bad(2, 3000);
	CHECK_OK(liq_decide(b, r, 3, 1, tr, 4, &n));
	CHECK_EQ_INT(n, 3);
	/* mined: account 0 repaid half, still liquidatable: trips again */
	CHECK_OK(liq_resolved(b, &r[0].account, LIQ_MINED));
	CHECK(!liq_in_flight(b, &r[0].account));
	r[0] = bad(0, 500);
	CHECK_OK(liq_decide(b, r, 3, 2, tr, 4, &n));
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK(addr_eq(&tr[0].account, &r[0].account));
		check_dec(&tr[0].amount, "250");
	}
	/* failed and dropped re-arm as well */
	CHECK_OK(liq_resolved(b, &r[1].account, LIQ_FAILED));
	CHECK_OK(liq_resolved(b, &r[2].account, LIQ_DROPPED));
	/* a second report of one resolution changes nothing */
	CHECK_OK(liq_resolved(b, &r[2].account, LIQ_DROPPED));
	CHECK_ERR(liq_resolved(b, &nobody, LIQ_MINED), KERR_NOT_FOUND);
	/* account 1 is healthy now: not tripped; account 2 trips again */
	r[1] = good(1);
	CHECK_OK(liq_decide(b, r, 3, 3, tr, 4, &n));
	CHECK_EQ_INT(n, 1);
	if (n == 1)
		CHECK(addr_eq(&tr[0].account, &r[2].account));
	/* account 0 (in flight) seen healthy: re-armed without a resolution,
	 * and trips when it turns liquidatable again */
	r[0] = good(0);
	CHECK_OK(liq_decide(b, r, 1, 4, tr, 4, &n));
	CHECK_EQ_INT(n, 0);
	CHECK(!liq_in_flight(b, &r[0].account));
	r[0] = bad(0, 400);
	CHECK_OK(liq_decide(b, r, 1, 5, tr, 4, &n));
	CHECK_EQ_INT(n, 1);
	liq_stats(b, &st);
	CHECK_EQ_INT(st.resolved, 3);
	CHECK_EQ_INT(st.resolved_idle, 1);
	CHECK_EQ_INT(st.healthy_rearm, 1);
	CHECK_EQ_INT(liq_in_flight_count(b), 2);
	liq_free(b);
}

/* Errors leave an account as it was; answers for strangers and repeats
 * are counted and ignored; a dust debt does not trip. */
static void test_errors_and_dust(void)
{
	liq_book_t *b = NULL;
	liq_result_t r[5];
	detect_trip_t tr[4];
	size_t n;
	liq_stats_t st;

	trig_reset(50);
	CHECK_OK(liq_new(&b, &T, 8));
	if (!b)
		return;
	for (unsigned k = 0; k < 3; k++) {
		addr_t a = who(k);
		CHECK_OK(liq_add(b, &a, NULL));
	}
	r[0] = bad(0, 1000);
	CHECK_OK(liq_decide(b, r, 1, 1, tr, 4, &n));
	CHECK_EQ_INT(n, 1);
	/* a failed call for an account in flight does not re-arm it */
	r[0] = (liq_result_t){ .account = who(0), .ok = false };
	CHECK_OK(liq_decide(b, r, 1, 2, tr, 4, &n));
	CHECK(liq_in_flight(b, &r[0].account));
	r[0] = bad(9, 1000);        /* not in the book */
	r[1] = bad(1, 1);           /* 1 * 50 / 100 = 0 */
	r[2] = bad(2, 7);
	r[3] = bad(2, 9);           /* a second answer for account 2 */
	r[4] = (liq_result_t){ .account = who(2), .ok = false };
	CHECK_OK(liq_decide(b, r, 5, 3, tr, 4, &n));
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK(addr_eq(&tr[0].account, &r[2].account));
		check_dec(&tr[0].amount, "3");   /* floor(3.5) */
	}
	liq_stats(b, &st);
	CHECK_EQ_INT(st.unknown, 1);
	CHECK_EQ_INT(st.dust, 1);
	CHECK_EQ_INT(st.repeated, 1);
	CHECK_EQ_INT(st.errors, 2);
	CHECK(!liq_in_flight(b, &r[1].account));
	CHECK_ERR(liq_decide(b, NULL, 1, 4, tr, 4, &n), KERR_ARG);
	CHECK_ERR(liq_decide(b, r, 1, 4, NULL, 1, &n), KERR_ARG);
	liq_free(b);
}

/* More due than the caller has room for: the largest go, the rest wait. */
static void test_room(void)
{
	liq_book_t *b = NULL;
	liq_result_t r[4];
	detect_trip_t tr[2];
	size_t n;
	liq_stats_t st;

	trig_reset(100);
	CHECK_OK(liq_new(&b, &T, 4));
	if (!b)
		return;
	for (unsigned k = 0; k < 4; k++) {
		addr_t a = who(k);
		CHECK_OK(liq_add(b, &a, NULL));
		r[k] = bad(k, 10 * (k + 1));
	}
	CHECK_OK(liq_decide(b, r, 4, 1, tr, 2, &n));
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		check_dec(&tr[0].amount, "40");
		check_dec(&tr[1].amount, "30");
	}
	CHECK_OK(liq_decide(b, r, 4, 2, tr, 2, &n));
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		check_dec(&tr[0].amount, "20");
		check_dec(&tr[1].amount, "10");
	}
	CHECK_OK(liq_decide(b, r, 4, 3, tr, 0, &n));
	CHECK_EQ_INT(n, 0);
	liq_stats(b, &st);
	CHECK_EQ_INT(st.deferred, 2);
	CHECK_EQ_INT(st.in_flight, 6);  /* 2 in the second scan, 4 in the third */
	liq_free(b);
}

/* confirm_ticks, confirm_ms and cooldown_ms per account. */
static void test_confirm_cooldown(void)
{
	liq_book_t *b = NULL;
	liq_result_t r[2];
	detect_trip_t tr[2];
	size_t n;
	addr_t a0 = who(0), a1 = who(1);

	trig_reset(50);
	T.confirm_ticks = 2;
	T.cooldown_ms = 1000;
	CHECK_OK(liq_new(&b, &T, 4));
	if (!b)
		return;
	CHECK_OK(liq_add(b, &a0, NULL));
	CHECK_OK(liq_add(b, &a1, NULL));
	r[0] = bad(0, 100);
	r[1] = bad(1, 100);
	CHECK_OK(liq_decide(b, r, 2, 0, tr, 2, &n));
	CHECK_EQ_INT(n, 0);
	/* account 1 recovers in between: its run starts over */
	r[1] = good(1);
	CHECK_OK(liq_decide(b, r, 2, 10, tr, 2, &n));
	CHECK_EQ_INT(n, 1);
	if (n)
		CHECK(addr_eq(&tr[0].account, &a0));
	r[1] = bad(1, 100);
	CHECK_OK(liq_decide(b, r, 2, 20, tr, 2, &n));
	CHECK_EQ_INT(n, 0);
	CHECK_OK(liq_decide(b, r, 2, 30, tr, 2, &n));
	CHECK_EQ_INT(n, 1);
	if (n)
		CHECK(addr_eq(&tr[0].account, &a1));
	/* resolved at once, but the cooldown holds account 0 until 1010 */
	CHECK_OK(liq_resolved(b, &a0, LIQ_FAILED));
	CHECK_OK(liq_decide(b, r, 1, 1009, tr, 2, &n));
	CHECK_EQ_INT(n, 0);
	CHECK_OK(liq_decide(b, r, 1, 1010, tr, 2, &n));
	CHECK_EQ_INT(n, 1);
	liq_free(b);

	trig_reset(50);
	T.confirm_ms = 500;
	CHECK_OK(liq_new(&b, &T, 4));
	if (!b)
		return;
	CHECK_OK(liq_add(b, &a0, NULL));
	CHECK_OK(liq_decide(b, r, 1, 1000, tr, 2, &n));
	CHECK_OK(liq_decide(b, r, 1, 1499, tr, 2, &n));
	CHECK_EQ_INT(n, 0);
	CHECK_OK(liq_decide(b, r, 1, 1500, tr, 2, &n));
	CHECK_EQ_INT(n, 1);
	liq_free(b);
}

static void test_amount(void)
{
	static const char max[] = "11579208923731619542357098500868790785326998466564"
		"0564039457584007913129639935";
	u256_t d, a;

	u256_from_u64(&d, 199);
	CHECK_OK(liq_amount(&a, &d, 50));
	check_dec(&a, "99");
	CHECK_OK(liq_amount(&a, &d, 100));
	check_dec(&a, "199");
	CHECK_OK(liq_amount(&a, &d, 1));
	check_dec(&a, "1");
	u256_from_u64(&d, 99);
	CHECK_OK(liq_amount(&a, &d, 1));
	check_dec(&a, "0");
	u256_zero(&d);
	CHECK_OK(liq_amount(&a, &d, 50));
	CHECK(u256_is_zero(&a));
	CHECK_OK(u256_from_dec(&d, max, sizeof max - 1));
	CHECK_OK(liq_amount(&a, &d, 100));
	check_dec(&a, max);
	CHECK_OK(liq_amount(&a, &d, 33));
	check_dec(&a, "38211389448314344489778425052867009591579094939661386133021002722611332781178");
	CHECK_OK(liq_amount(&a, &d, 50));
	check_dec(&a, "57896044618658097711785492504343953926634992332820282019728792003956564819967");
	CHECK_OK(liq_amount(&a, &d, 1));
	check_dec(&a, "1157920892373161954235709850086879078532699846656405640394575840079131296399");
	CHECK_OK(u256_from_dec(&d, "1000000000000000000000000000099", 31));
	CHECK_OK(liq_amount(&a, &d, 33));
	check_dec(&a, "330000000000000000000000000032");
	CHECK_ERR(liq_amount(&a, &d, 0), KERR_ARG);
	CHECK_ERR(liq_amount(&a, &d, 101), KERR_ARG);
}

/* One 32-byte word holding v (big-endian) at word w of ret. */
static void put_word(uint8_t *ret, size_t w, uint64_t v)
{
	memset(ret + 32 * w, 0, 32);
	for (int i = 0; i < 8; i++)
		ret[32 * w + 31 - i] = (uint8_t)(v >> (8 * i));
}

static void test_return_data(void)
{
	uint8_t ret[6 * 32];
	bool liq;
	double v;
	u256_t d;

	trig_reset(50);
	/* the verdict is exact; the value only as close as a double gets */
	put_word(ret, 0, 999999999999999999ULL);
	CHECK_OK(liq_judge_health(&T, ret, 32, &liq, &v));
	CHECK(liq);
	CHECK(v <= 1.0 && v > 0.999999);
	put_word(ret, 0, 999000000000000000ULL);
	CHECK_OK(liq_judge_health(&T, ret, 32, &liq, &v));
	CHECK(liq && v == 0.999);
	put_word(ret, 0, 1000000000000000000ULL);
	CHECK_OK(liq_judge_health(&T, ret, 32, &liq, &v));
	CHECK(!liq);
	CHECK(v == 1.0);
	/* no debt: type(uint256).max, healthy */
	memset(ret, 0xff, 32);
	CHECK_OK(liq_judge_health(&T, ret, 32, &liq, &v));
	CHECK(!liq && v > 1e58);
	CHECK_ERR(liq_judge_health(&T, ret, 31, &liq, &v), KERR_TRUNCATED);
	CHECK_ERR(liq_judge_health(&T, ret, 0, &liq, &v), KERR_TRUNCATED);

	/* Aave v3 getUserAccountData: healthFactor is word 5 */
	T.health_word = 5;
	for (size_t w = 0; w < 5; w++)
		put_word(ret, w, 7);
	put_word(ret, 5, 950000000000000000ULL);
	CHECK_OK(liq_judge_health(&T, ret, sizeof ret, &liq, &v));
	CHECK(liq && v > 0.9499 && v < 0.9501);
	CHECK_ERR(liq_judge_health(&T, ret, 5 * 32 + 31, &liq, &v), KERR_TRUNCATED);

	/* the bool view */
	T.health_word = 0;
	T.health.sig = NULL;
	T.liquidatable.sig = "liquidatable(address)";
	put_word(ret, 0, 1);
	CHECK_OK(liq_judge_health(&T, ret, 32, &liq, &v));
	CHECK(liq && v == 0);
	put_word(ret, 0, 0);
	CHECK_OK(liq_judge_health(&T, ret, 64, &liq, &v));
	CHECK(!liq && v == 1);
	put_word(ret, 0, 2);
	CHECK_ERR(liq_judge_health(&T, ret, 32, &liq, &v), KERR_ABI_VALUE);
	put_word(ret, 0, 1);
	ret[0] = 1;
	CHECK_ERR(liq_judge_health(&T, ret, 32, &liq, &v), KERR_ABI_VALUE);

	put_word(ret, 0, 123456789);
	CHECK_OK(liq_decode_debt(ret, 32, &d));
	check_dec(&d, "123456789");
	CHECK_ERR(liq_decode_debt(ret, 20, &d), KERR_TRUNCATED);
}

static void test_bounds(void)
{
	liq_book_t *b = NULL;
	addr_t list[3] = { who(1), who(2), who(3) }, z;
	liq_stats_t st;
	bool added = true;

	memset(&z, 0, sizeof z);
	trig_reset(50);
	T.accounts = list;
	T.naccounts = 3;
	CHECK_ERR(liq_new(&b, &T, 2), KERR_ARG);      /* fewer than the config's */
	CHECK_ERR(liq_new(&b, &T, 0), KERR_ARG);
	CHECK_ERR(liq_new(&b, &T, LIQ_MAX_ACCOUNTS + 1), KERR_ARG);
	T.kind = CONFIG_TRIGGER_MEMPOOL;
	CHECK_ERR(liq_new(&b, &T, 8), KERR_ARG);
	T.kind = CONFIG_TRIGGER_LIQUIDATION;
	T.close_factor_pct = 0;
	CHECK_ERR(liq_new(&b, &T, 8), KERR_ARG);
	T.close_factor_pct = 50;
	CHECK(b == NULL);
	CHECK_OK(liq_new(&b, &T, 4));
	if (!b)
		return;
	CHECK_EQ_INT(liq_count(b), 3);
	CHECK(addr_eq(liq_account(b, 2), &list[2]));
	CHECK(liq_account(b, 3) == NULL);
	CHECK_OK(liq_add(b, &list[1], &added));
	CHECK(!added);
	CHECK_ERR(liq_add(b, &z, &added), KERR_ARG);
	CHECK_OK(liq_add(b, &list[0], NULL));
	{
		addr_t a4 = who(4), a5 = who(5);
		CHECK_OK(liq_add(b, &a4, &added));
		CHECK(added);
		CHECK_ERR(liq_add(b, &a5, &added), KERR_FULL);
		CHECK(!added);
		/* known accounts are still fine when full */
		CHECK_OK(liq_add(b, &a4, NULL));
	}
	liq_stats(b, &st);
	CHECK_EQ_INT(st.added, 4);
	CHECK_EQ_INT(st.full, 1);
	CHECK_EQ_INT(st.zero, 1);
	CHECK_EQ_INT(st.known, 3);
	liq_free(b);
	liq_free(NULL);
}

/* Many accounts: every lookup finds its own (the table never confuses
 * two addresses that share leading bytes). */
static void test_many(void)
{
	enum { N = 5000 };
	static liq_result_t r[N];
	static detect_trip_t tr[N];
	liq_book_t *b = NULL;
	size_t n;

	trig_reset(50);
	CHECK_OK(liq_new(&b, &T, N));
	if (!b)
		return;
	for (unsigned k = 0; k < N; k++) {
		addr_t a;
		memset(&a, 0xab, sizeof a);
		a.b[18] = (uint8_t)(k >> 8);
		a.b[19] = (uint8_t)k;
		CHECK_OK(liq_add(b, &a, NULL));
		r[k] = (liq_result_t){ .account = a, .ok = true, .liquidatable = k % 3 == 0,
				       .health = 0.5 };
		u256_from_u64(&r[k].debt, 1000 + k);
	}
	CHECK_EQ_INT(liq_count(b), N);
	CHECK_OK(liq_decide(b, r, N, 1, tr, N, &n));
	CHECK_EQ_INT(n, (N + 2) / 3);
	for (size_t i = 1; i < n; i++)
		CHECK(u256_cmp(&tr[i - 1].amount, &tr[i].amount) > 0);
	CHECK_OK(liq_decide(b, r, N, 2, tr, N, &n));
	CHECK_EQ_INT(n, 0);
	liq_free(b);
}

int main(void)
{
	RUN(test_order_and_once);
	RUN(test_rearm);
	RUN(test_errors_and_dust);
	RUN(test_room);
	RUN(test_confirm_cooldown);
	RUN(test_amount);
	RUN(test_return_data);
	RUN(test_bounds);
	RUN(test_many);
	return t_done();
}
