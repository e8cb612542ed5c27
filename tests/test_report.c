/*
 * test_report: keeper/report's number formats, the JSON report's shape
 * (interface.md "Report", read back with jansson) and the HTML page
 * (self-contained: one inline SVG, no scripts, no external resources; a
 * threshold line per depeg level, one table row per trip).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "keeper/replay.h"
#include "keeper/report.h"
#include "tests/config_util.h"
#include "tests/test.h"

static void test_double(void)
{
	char b[REPORT_DOUBLE_MAX];

	CHECK_EQ_INT(report_double(0.1, b), 3);
	CHECK_EQ_STR(b, "0.1");
	report_double(20, b);
	CHECK_EQ_STR(b, "20");
	report_double(-1.5, b);
	CHECK_EQ_STR(b, "-1.5");
	report_double(1e-7, b);
	CHECK_EQ_STR(b, "1e-07");
	report_double(2.0000000000000018, b);
	CHECK(strtod(b, NULL) == 2.0000000000000018);
	report_double(0.1 + 0.2, b);
	CHECK_EQ_STR(b, "0.30000000000000004");
	report_double(1e300, b);
	CHECK_EQ_STR(b, "1e+300");
	report_double(0.0 / 0.0, b);
	CHECK_EQ_STR(b, "null");
}

static void test_gwei(void)
{
	char b[U256_DEC_MAX + 2];
	u256_t w;

	u256_from_u64(&w, 1500000000);
	report_gwei(&w, b, sizeof b);
	CHECK_EQ_STR(b, "1.5");
	u256_from_u64(&w, 30000000000ull);
	report_gwei(&w, b, sizeof b);
	CHECK_EQ_STR(b, "30");
	u256_from_u64(&w, 1);
	report_gwei(&w, b, sizeof b);
	CHECK_EQ_STR(b, "0.000000001");
	u256_from_u64(&w, 0);
	report_gwei(&w, b, sizeof b);
	CHECK_EQ_STR(b, "0");
	u256_from_u64(&w, 4526965738ull);
	report_gwei(&w, b, sizeof b);
	CHECK_EQ_STR(b, "4.526965738");
}

#define CFG \
	"chain = { id = 1; ws = \"ws://127.0.0.1:8545\"; rpc = [ \"http://127.0.0.1:8545\" ]; };\n" \
	"feeds = ( { name = \"usdc-x\"; url = \"ws://127.0.0.1:1\"; preset = \"trade\"; stale_after_ms = 60000; } );\n" \
	"watch = ( { name = \"v\"; address = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"; } );\n" \
	"triggers = ( { name = \"dp\"; kind = \"depeg\"; feed = \"usdc-x\"; peg = 1.0; threshold_pct = 2;\n" \
	"               direction = \"both\"; cooldown_ms = 2000000000; action = \"liq\"; },\n" \
	"             { name = \"st\"; kind = \"stale\"; feed = \"usdc-x\"; after_ms = 86400000;\n" \
	"               cooldown_ms = 2000000000; action = \"p\"; } );\n" \
	"actions = ( { name = \"p\"; to = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"; call = \"pause()\";\n" \
	"              gas_limit = 100000; gas = \"g\"; },\n" \
	"            { name = \"liq\"; to = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\";\n" \
	"              call = \"liquidate(address)\"; args = [ \"$account\" ]; gas_limit = 100000; gas = \"g\"; } );\n" \
	"gas = ( { name = \"g\"; strategy = \"fixed\"; max_fee_gwei = 30; priority_fee_gwei = 1.5; } );\n"

static replay_t *run(config_keeper_t *cfg)
{
	replay_t *r = NULL;
	/* Two days; an off-peg stretch; a two-day silence trips stale. */
	static const struct { int64_t t; double p; } tk[] = {
		{ 1678000000000, 1.0 }, { 1678003600000, 0.999 }, { 1678007200000, 0.97 },
		{ 1678010800000, 1.01 }, { 1678014400000, 1.03 }, { 1678200000000, 1.0 },
	};

	CHECK_OK(replay_new(cfg, NULL, &r, NULL));
	for (size_t i = 0; r && i < sizeof tk / sizeof *tk; i++) {
		replay_line_t ln;

		memset(&ln, 0, sizeof ln);
		ln.t = tk[i].t;
		ln.src.p = "usdc-x";
		ln.src.len = 6;
		ln.kind = REPLAY_PRICE;
		ln.price = tk[i].p;
		CHECK_OK(replay_line(r, &ln));
	}
	if (r) {
		replay_line_t bad;

		memset(&bad, 0, sizeof bad);
		bad.err = REPLAY_E_JSON;
		CHECK_OK(replay_line(r, &bad));
	}
	return r;
}

static void test_json(void)
{
	config_keeper_t *cfg = load_cfg(CFG);
	replay_t *r = cfg ? run(cfg) : NULL;

	CHECK(cfg != NULL);
	char *js = NULL;
	size_t len = 0;
	json_t *root = NULL, *trips, *t0, *tx;
	json_error_t je;

	CHECK(cfg != NULL);
	if (!r)
		goto out;
	CHECK_OK(report_json(r, &js, &len));
	CHECK(js && len == strlen(js) && js[len - 1] == '\n');
	root = json_loadb(js, len, 0, &je);
	CHECK_MSG(root != NULL, "report is not JSON: %s", je.text);
	if (!root)
		goto out;
	CHECK_EQ_INT(json_integer_value(json_object_get(root, "events")), 6);
	CHECK_EQ_INT(json_integer_value(json_object_get(root, "duration_ms")), 200000000);
	trips = json_object_get(root, "trips");
	/* depeg at 0.97 (no tx: the action needs $account), 1.03 inside the
	 * cooldown is suppressed; stale after a day of silence. */
	CHECK_EQ_INT(json_array_size(trips), 2);
	t0 = json_array_get(trips, 0);
	CHECK_EQ_INT(json_integer_value(json_object_get(t0, "t")), 1678007200000);
	CHECK_EQ_STR(json_string_value(json_object_get(t0, "trigger")), "dp");
	CHECK_EQ_STR(json_string_value(json_object_get(t0, "kind")), "depeg");
	CHECK_EQ_STR(json_string_value(json_object_get(t0, "unit")), "pct");
	CHECK(json_real_value(json_object_get(t0, "threshold")) == 2 ||
	      json_integer_value(json_object_get(t0, "threshold")) == 2);
	CHECK(json_is_null(json_object_get(t0, "tx")));
	CHECK(strstr(json_string_value(json_object_get(t0, "tx_error")), "$account") != NULL);
	t0 = json_array_get(trips, 1);
	CHECK_EQ_STR(json_string_value(json_object_get(t0, "trigger")), "st");
	CHECK_EQ_STR(json_string_value(json_object_get(t0, "unit")), "ms");
	CHECK_EQ_INT(json_integer_value(json_object_get(t0, "t")), 1678014400000 + 86400001);
	tx = json_object_get(t0, "tx");
	CHECK_EQ_STR(json_string_value(json_object_get(tx, "to")),
		     "0x5FbDB2315678afecb367f032d93F642f64180aa3");
	CHECK_EQ_STR(json_string_value(json_object_get(tx, "data")), "0x8456cb59");
	CHECK_EQ_INT(json_integer_value(json_object_get(tx, "nonce")), 0);
	CHECK_EQ_INT(json_integer_value(json_object_get(tx, "gas")), 100000);
	CHECK_EQ_STR(json_string_value(json_object_get(tx, "max_fee")), "30000000000");
	CHECK_EQ_STR(json_string_value(json_object_get(tx, "priority_fee")), "1500000000");
	CHECK(json_object_get(tx, "raw") == NULL);
	CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(root, "by_trigger"), "dp")), 1);
	CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(root, "by_trigger"), "st")), 1);
	CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(root, "bad_lines"), "json")), 1);
	CHECK_EQ_INT(json_object_size(json_object_get(root, "bad_lines")), 1);
out:
	json_decref(root);
	free(js);
	replay_free(r);
	config_free(cfg);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_html(void)
{
	config_keeper_t *cfg = load_cfg(CFG);
	replay_t *r = cfg ? run(cfg) : NULL;

	CHECK(cfg != NULL);
	char *h = NULL;
	size_t len = 0;

	if (!r)
		goto out;
	CHECK_OK(report_html(r, "a<b>.jsonl", &h, &len));
	if (!h)
		goto out;
	CHECK_EQ_INT(len, strlen(h));
	CHECK_EQ_INT(count(h, "<svg"), 1);
	CHECK_EQ_INT(count(h, "</svg>"), 1);
	CHECK_EQ_INT(count(h, "<tr class=\"trip\">"), 2);
	/* both directions: two threshold levels, 0.98 and 1.02 */
	CHECK_EQ_INT(count(h, "<line class=\"thr\""), 2);
	CHECK(strstr(h, "dp 0.98</text>") != NULL);
	CHECK(strstr(h, "dp 1.02</text>") != NULL);
	CHECK_EQ_INT(count(h, "<polyline class=\"price\""), 1);
	CHECK(strstr(h, "<text class=\"title\" x=\"80\" y=\"16.0\">usdc-x") != NULL);
	CHECK(strstr(h, "a&lt;b&gt;.jsonl") != NULL);
	CHECK(strstr(h, "2023-03-05 09:06:40.000") != NULL);   /* first trip, UTC */
	CHECK(strstr(h, "<script") == NULL && strstr(h, "href=") == NULL &&
	      strstr(h, "src=") == NULL && strstr(h, "@import") == NULL);
out:
	free(h);
	replay_free(r);
	config_free(cfg);
}

int main(void)
{
	RUN(test_double);
	RUN(test_gwei);
	RUN(test_json);
	RUN(test_html);
	return t_done();
}
