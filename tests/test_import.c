/*
 * test_import: Chainlink CSV and OHLCV bars -> replay events, on the real
 * files of tests/data/prices.  Each converted file is checked against an
 * independent reading of the same file in this test (sscanf for the CSV,
 * jansson for the bars): the number of ticks, every price and time, the
 * order of high and low per bar.  Then every kind of broken input is
 * refused with its line or bar named, and nothing is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "keeper/import.h"
#include "tests/test.h"

typedef struct {
	long long t;
	char src[32];
	double price;
} ev_t;

/* Run the conversion into memory; returns the events parsed back. */
static kerr_t run(import_format_t fmt, const char *in, size_t len, ev_t **evs, size_t *n,
		  import_result_t *res, char **text_out)
{
	char *text = NULL, *line;
	size_t tlen = 0, cap = 0;
	FILE *mem = open_memstream(&text, &tlen);
	kerr_t err;

	*evs = NULL;
	*n = 0;
	if (!mem)
		return KERR_NOMEM;
	err = import_convert(fmt, in, len, "eth-usd", mem, res);
	fclose(mem);
	for (line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		ev_t e;

		if (sscanf(line, "{\"t\":%lld,\"src\":\"%31[^\"]\",\"price\":%lf}", &e.t, e.src,
			   &e.price) == 3) {
			if (*n == cap) {
				cap = cap ? 2 * cap : 1024;
				*evs = realloc(*evs, cap * sizeof **evs);
			}
			(*evs)[(*n)++] = e;
		}
		line = nl ? nl + 1 : NULL;
	}
	if (text_out)
		*text_out = text;
	else
		free(text);
	return err;
}

static void test_iso(void)
{
	int64_t ms;
	int i, bad = 0;

	CHECK_OK(import_iso_ms("2020-03-12T00:00:00.0000000Z", 28, &ms));
	CHECK(ms == 1583971200000LL);
	CHECK_OK(import_iso_ms("2020-03-12T23:59:57.7520340Z", 28, &ms));
	CHECK(ms == 1584057597752LL);
	CHECK_OK(import_iso_ms("2020-02-29T12:00:00Z", 20, &ms));
	CHECK_OK(import_iso_ms("1970-01-01T00:00:00.5Z", 22, &ms));
	CHECK(ms == 500);
	CHECK_ERR(import_iso_ms("2021-02-29T00:00:00Z", 20, &ms), KERR_IMPORT_INVALID);
	/* Before the epoch: a negative t, which replay refuses (found by
	 * fuzz_import, tests/fuzz/corpus/fuzz_import/crash-iso-before-1970.txt). */
	CHECK_ERR(import_iso_ms("1969-12-31T23:59:59Z", 20, &ms), KERR_IMPORT_INVALID);
	CHECK_ERR(import_iso_ms("1010-03-12T00:00:00Z", 20, &ms), KERR_IMPORT_INVALID);
	CHECK_ERR(import_iso_ms("2100-02-29T00:00:00Z", 20, &ms), KERR_IMPORT_INVALID);
	CHECK_ERR(import_iso_ms("2020-13-01T00:00:00Z", 20, &ms), KERR_IMPORT_INVALID);
	CHECK_ERR(import_iso_ms("2020-04-31T00:00:00Z", 20, &ms), KERR_IMPORT_INVALID);
	CHECK_ERR(import_iso_ms("2020-03-12T24:00:00Z", 20, &ms), KERR_IMPORT_INVALID);
	CHECK_ERR(import_iso_ms("2020-03-12T00:00:00", 19, &ms), KERR_IMPORT_INVALID);
	CHECK_ERR(import_iso_ms("2020-03-12 00:00:00Z", 20, &ms), KERR_IMPORT_INVALID);
	CHECK_ERR(import_iso_ms("2020-03-12T00:00:00.Z", 21, &ms), KERR_IMPORT_INVALID);
	CHECK_ERR(import_iso_ms("2020-03-12T00:00:00+01:00", 25, &ms), KERR_IMPORT_INVALID);
	CHECK_ERR(import_iso_ms("2020-3-12T00:00:00Z", 19, &ms), KERR_IMPORT_INVALID);
	/* Against the C library's timegm on random times 1970..2200. */
	srand(7);
	for (i = 0; i < 20000; i++) {
		time_t t = (time_t)(((unsigned long long)rand() << 16 ^ (unsigned)rand()) %
				    7258118400ULL);
		struct tm tm;
		char s[40];

		gmtime_r(&t, &tm);
		strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S.123Z", &tm);
		if (import_iso_ms(s, strlen(s), &ms) != KERR_OK || ms != (int64_t)t * 1000 + 123)
			bad++;
	}
	printf("    20000 random times vs gmtime: %d differ\n", bad);
	CHECK_EQ_INT(bad, 0);
}

static void test_chainlink_files(void)
{
	static const char *const files[] = {
		"tests/data/prices/chainlink_usdc_usd_depeg_2023-03.csv",
		"tests/data/prices/chainlink_usdc_usd_2021-2022.csv",
		"tests/data/prices/chainlink_usdt_usd_2021-2022.csv",
	};
	size_t k;

	for (k = 0; k < 3; k++) {
		size_t len, n, i, rows = 0, same = 0;
		char *buf = t_read_file(files[k], &len), *line, *save = NULL;
		import_result_t res;
		ev_t *ev;
		double minp = 1e9;
		long long mint = 0;

		if (!buf) {
			CHECK_MSG(0, "cannot read %s", files[k]);
			continue;
		}
		CHECK_OK(run(IMPORT_CHAINLINK_CSV, buf, len, &ev, &n, &res, NULL));
		/* The independent reading: every line that is not a comment
		 * or the header, in order. */
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			long long answer, updated;

			if (line[0] == '#' || strncmp(line, "roundId", 7) == 0)
				continue;
			if (sscanf(line, "%*[^,],%lld,%lld", &answer, &updated) != 2)
				continue;
			if (rows < n && ev[rows].t == updated * 1000 &&
			    ev[rows].price == (double)answer / 1e8 && strcmp(ev[rows].src, "eth-usd") == 0)
				same++;
			rows++;
		}
		for (i = 0; i < n; i++)
			if (ev[i].price < minp)
				minp = ev[i].price, mint = ev[i].t;
		printf("    %s: %zu rounds, %zu ticks, %zu equal to answer/1e8 at updatedAt*1000; "
		       "low %.8g at %lld\n", files[k] + 18, rows, n, same, minp, mint);
		CHECK_EQ_INT(res.rows, rows);
		CHECK_EQ_INT(n, rows);
		CHECK_EQ_INT(same, rows);
		free(ev);
		free(buf);
	}
}

/* Whole seconds of "YYYY-MM-DDTHH:MM:SS…" through the C library, in ms. */
static long long gm_ms(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (!s || sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm) * 1000;
}

static void test_ohlcv_files(void)
{
	static const char *const files[] = {
		"tests/data/prices/eth_usd_10min_03-12-2020.json",
		"tests/data/prices/eth_usd_10min_05-19-2021.json",
	};
	size_t k;

	for (k = 0; k < 2; k++) {
		size_t len, n, i, good = 0;
		char *buf = t_read_file(files[k], &len);
		import_result_t res;
		json_t *root, *bar;
		ev_t *ev;

		if (!buf) {
			CHECK_MSG(0, "cannot read %s", files[k]);
			continue;
		}
		CHECK_OK(run(IMPORT_OHLCV_JSON, buf, len, &ev, &n, &res, NULL));
		root = json_loadb(buf, len, 0, NULL);
		CHECK(json_is_array(root));
		CHECK_EQ_INT(n, 4 * json_array_size(root));
		json_array_foreach(root, i, bar) {
			double o = json_number_value(json_object_get(bar, "price_open"));
			double h = json_number_value(json_object_get(bar, "price_high"));
			double l = json_number_value(json_object_get(bar, "price_low"));
			double c = json_number_value(json_object_get(bar, "price_close"));
			long long start, end;
			const ev_t *e = ev + 4 * i;

			if (4 * i + 3 >= n)
				break;
			start = gm_ms(json_string_value(json_object_get(bar, "time_period_start")));
			end = gm_ms(json_string_value(json_object_get(bar, "time_period_end")));
			/* Up bar: open, low, high, close; down bar: open, high, low, close. */
			if (e[0].t == start && e[0].price == o && e[3].t == end && e[3].price == c &&
			    e[0].t < e[1].t && e[1].t < e[2].t && e[2].t < e[3].t &&
			    (c >= o ? e[1].price == l && e[2].price == h
				    : e[1].price == h && e[2].price == l))
				good++;
		}
		printf("    %s: %zu bars, %zu ticks, %zu bars with open/high/low/close at the "
		       "documented times and order\n", files[k] + 18, json_array_size(root), n, good);
		CHECK_EQ_INT(good, json_array_size(root));
		/* Increasing within a bar; a close and the next open share
		 * the boundary's millisecond, nothing goes back. */
		for (i = 1; i < n; i++)
			if (ev[i].t < ev[i - 1].t || (ev[i].t == ev[i - 1].t && i % 4 != 0))
				break;
		CHECK_EQ_INT(i, n);
		json_decref(root);
		free(ev);
		free(buf);
	}
	/* Shortest decimals: 195.21, not 195.21000000000001. */
	{
		const char *in = "[{\"time_period_start\":\"2020-03-12T00:00:00.0000000Z\","
				 "\"time_period_end\":\"2020-03-12T00:10:00.0000000Z\","
				 "\"price_open\":195.21,\"price_high\":195.43,\"price_low\":194.38,"
				 "\"price_close\":194.52}]";
		import_result_t res;
		char *text = NULL;
		ev_t *ev;
		size_t n;

		CHECK_OK(run(IMPORT_OHLCV_JSON, in, strlen(in), &ev, &n, &res, &text));
		CHECK_EQ_STR(text, "{\"t\":1583971200000,\"src\":\"eth-usd\",\"price\":195.21}\n"
				   "{\"t\":1583971400000,\"src\":\"eth-usd\",\"price\":195.43}\n"
				   "{\"t\":1583971600000,\"src\":\"eth-usd\",\"price\":194.38}\n"
				   "{\"t\":1583971800000,\"src\":\"eth-usd\",\"price\":194.52}\n");
		free(text);
		free(ev);
	}
}

/* Each broken input: refused, its line or bar named, nothing written. */
static void test_refusals(void)
{
	static const struct {
		import_format_t fmt;
		const char *in;
		const char *msg;     /* the first message */
	} cases[] = {
		{ IMPORT_CHAINLINK_CSV, "", "no header line" },
		{ IMPORT_CHAINLINK_CSV, "# only a comment\n", "no header line" },
		{ IMPORT_CHAINLINK_CSV, "roundId,price,updatedAt\n1,2,3\n", "line 1: the header names no answer column" },
		{ IMPORT_CHAINLINK_CSV, "roundId,answer,time\n", "line 1: the header names no updatedAt column" },
		{ IMPORT_CHAINLINK_CSV, "roundId,answer,updatedAt\n1,-5,3\n", "line 2: answer: a price <= 0" },
		{ IMPORT_CHAINLINK_CSV, "roundId,answer,updatedAt\n1,000,3\n", "line 2: answer: a price <= 0" },
		{ IMPORT_CHAINLINK_CSV, "roundId,answer,updatedAt\n1,1.5,3\n", "line 2: answer: not an integer" },
		{ IMPORT_CHAINLINK_CSV, "roundId,answer,updatedAt\n1,,3\n", "line 2: answer: empty" },
		{ IMPORT_CHAINLINK_CSV, "roundId,answer,updatedAt\n1,100,x\n", "line 2: updatedAt: not unix seconds" },
		{ IMPORT_CHAINLINK_CSV, "roundId,answer,updatedAt\n1,100\n", "line 2: 2 columns, the header has 3" },
		{ IMPORT_CHAINLINK_CSV, "roundId,answer,updatedAt\n1,100,5\n2,100,4\n", "line 3: updatedAt 4 is earlier" },
		{ IMPORT_CHAINLINK_CSV, "roundId,answer,updatedAt\n\"1\",100,5\n", "line 2: quoted fields" },
		{ IMPORT_OHLCV_JSON, "{}", "not a JSON array of bars" },
		{ IMPORT_OHLCV_JSON, "[1,", "line 1:" },
		{ IMPORT_OHLCV_JSON, "[7]", "bar 0: not an object" },
		{ IMPORT_OHLCV_JSON, "[{\"time_period_start\":\"2020-03-12\",\"time_period_end\":\"2020-03-12T00:10:00Z\"}]", "bar 0: time_period_start/end" },
		{ IMPORT_OHLCV_JSON, "[{\"time_period_start\":\"2020-03-12T00:00:00Z\",\"time_period_end\":\"2020-03-12T00:10:00Z\",\"price_open\":1,\"price_high\":2,\"price_low\":0,\"price_close\":1}]", "bar 0: price_low: not a number > 0" },
		{ IMPORT_OHLCV_JSON, "[{\"time_period_start\":\"2020-03-12T00:00:00Z\",\"time_period_end\":\"2020-03-12T00:10:00Z\",\"price_open\":1,\"price_high\":\"2\",\"price_low\":1,\"price_close\":1}]", "bar 0: price_high: not a number > 0" },
		{ IMPORT_OHLCV_JSON, "[{\"time_period_start\":\"2020-03-12T00:00:00Z\",\"time_period_end\":\"2020-03-12T00:10:00Z\",\"price_open\":3,\"price_high\":2,\"price_low\":1,\"price_close\":1}]", "bar 0: high/low do not bound" },
		{ IMPORT_OHLCV_JSON, "[{\"time_period_start\":\"2020-03-12T00:00:00Z\",\"time_period_end\":\"2020-03-12T00:00:00.003Z\",\"price_open\":1,\"price_high\":1,\"price_low\":1,\"price_close\":1}]", "bar 0: ends less than 4 ms" },
		{ IMPORT_OHLCV_JSON, "[{\"time_period_start\":\"2020-03-12T00:10:00Z\",\"time_period_end\":\"2020-03-12T00:20:00Z\",\"price_open\":1,\"price_high\":1,\"price_low\":1,\"price_close\":1},"
				     "{\"time_period_start\":\"2020-03-12T00:00:00Z\",\"time_period_end\":\"2020-03-12T00:10:00Z\",\"price_open\":1,\"price_high\":1,\"price_low\":1,\"price_close\":1}]", "bar 1: starts before the previous bar ends" },
	};
	size_t i;
	int ok = 0;

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		import_result_t res;
		char *text = NULL;
		ev_t *ev;
		size_t n;
		kerr_t err = run(cases[i].fmt, cases[i].in, strlen(cases[i].in), &ev, &n, &res, &text);

		if (err == KERR_IMPORT_INVALID && res.errors >= 1 &&
		    strncmp(res.msg[0], cases[i].msg, strlen(cases[i].msg)) == 0 &&
		    (!text || !*text))
			ok++;
		else
			printf("    case %zu: %s \"%s\" (want \"%s\"), %zu bytes written\n", i,
			       kerr_name(err), res.errors ? res.msg[0] : "", cases[i].msg,
			       text ? strlen(text) : 0);
		free(text);
		free(ev);
	}
	printf("    %d/%zu broken inputs refused with their line or bar named, nothing written\n",
	       ok, sizeof cases / sizeof *cases);
	CHECK_EQ_INT(ok, (int)(sizeof cases / sizeof *cases));
	/* Every problem is listed, not just the first; more than the cap are
	 * counted. */
	{
		char in[4096] = "roundId,answer,updatedAt\n";
		import_result_t res;
		size_t n;
		ev_t *ev;

		for (i = 0; i < 30; i++)
			strcat(in, "1,-1,5\n");
		CHECK_ERR(run(IMPORT_CHAINLINK_CSV, in, strlen(in), &ev, &n, &res, NULL),
			  KERR_IMPORT_INVALID);
		CHECK_EQ_INT(res.errors, 30);
		CHECK_EQ_STR(res.msg[IMPORT_MAX_ERRORS - 1], "line 21: answer: a price <= 0");
		free(ev);
	}
	/* Exact decimals: 8 decimals, trailing zeros dropped, no doubles. */
	{
		const char *in = "answer,updatedAt\n100000000,1\n88000000,2\n1,3\n"
				 "123456789012345678901234567890,4\n";
		import_result_t res;
		char *text = NULL;
		ev_t *ev;
		size_t n;

		CHECK_OK(run(IMPORT_CHAINLINK_CSV, in, strlen(in), &ev, &n, &res, &text));
		CHECK_EQ_STR(text, "{\"t\":1000,\"src\":\"eth-usd\",\"price\":1}\n"
				   "{\"t\":2000,\"src\":\"eth-usd\",\"price\":0.88}\n"
				   "{\"t\":3000,\"src\":\"eth-usd\",\"price\":0.00000001}\n"
				   "{\"t\":4000,\"src\":\"eth-usd\",\"price\":1234567890123456789012.3456789}\n");
		free(text);
		free(ev);
	}
	{
		import_format_t f;

		CHECK_OK(import_format_parse("chainlink-csv", &f));
		CHECK(f == IMPORT_CHAINLINK_CSV);
		CHECK_OK(import_format_parse("ohlcv-json", &f));
		CHECK(f == IMPORT_OHLCV_JSON);
		CHECK_ERR(import_format_parse("csv", &f), KERR_NOT_FOUND);
	}
}

int main(void)
{
	RUN(test_iso);
	RUN(test_chainlink_files);
	RUN(test_ohlcv_files);
	RUN(test_refusals);
	return t_done();
}
