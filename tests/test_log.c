/*
 * test_log: the exact shape of log lines (text and JSON), level filtering,
 * escaping of hostile text and cutting of over-long lines.
 */
#include <jansson.h>
#include <unistd.h>

#include "keeper/log.h"
#include "tests/test.h"

static int64_t fixed_clock(void)
{
	return 1678520483123; /* 2023-03-11T07:41:23.123Z */
}

/* Runs one log call with output captured in a temp file; returns the text. */
static char *capture(void (*emit)(void))
{
	char path[] = "/tmp/keeper-test-log-XXXXXX";
	int fd = mkstemp(path);
	char *text;
	if (fd < 0)
		return NULL;
	log_set_fd(fd);
	emit();
	log_set_fd(2);
	close(fd);
	text = t_read_file(path, NULL);
	unlink(path);
	return text;
}

static void emit_info(void) { log_info("config", "loaded %s", "etc/guardian.cfg"); }
static void emit_debug(void) { log_debug("loop", "tick"); }
static void emit_hostile(void) { log_warn("feed", "bad frame \"%s\"\n\t%c", "a\\b", 1); }
static void emit_long(void)
{
	static char big[LOG_LINE_MAX * 2];
	memset(big, 'x', sizeof big - 1);
	big[100] = '"';
	log_error("ws", "%s", big);
}

static void test_time_format(void)
{
	char ts[25];
	CHECK_EQ_INT(log_format_time(0, ts), 24);
	CHECK_EQ_STR(ts, "1970-01-01T00:00:00.000Z");
	log_format_time(1678520483123, ts);
	CHECK_EQ_STR(ts, "2023-03-11T07:41:23.123Z");
	log_format_time(-1, ts);
	CHECK_EQ_STR(ts, "1969-12-31T23:59:59.999Z");
}

static void test_text(void)
{
	char *t;
	log_set_clock(fixed_clock);
	log_setup(LOGL_INFO, LOGF_TEXT);
	t = capture(emit_info);
	CHECK_EQ_STR(t, "2023-03-11T07:41:23.123Z INFO  config: loaded etc/guardian.cfg\n");
	free(t);
	t = capture(emit_debug);
	CHECK_EQ_STR(t, "");
	free(t);
	log_setup(LOGL_DEBUG, LOGF_TEXT);
	t = capture(emit_debug);
	CHECK_EQ_STR(t, "2023-03-11T07:41:23.123Z DEBUG loop: tick\n");
	free(t);
}

static void test_json(void)
{
	json_error_t jerr;
	json_t *j;
	char *t;
	log_set_clock(fixed_clock);
	log_setup(LOGL_INFO, LOGF_JSON);
	t = capture(emit_info);
	CHECK_EQ_STR(t, "{\"ts\":\"2023-03-11T07:41:23.123Z\",\"level\":\"info\","
		     "\"mod\":\"config\",\"msg\":\"loaded etc/guardian.cfg\"}\n");
	free(t);
	/* Quotes, backslashes and control characters must not break JSON. */
	t = capture(emit_hostile);
	j = json_loads(t, 0, &jerr);
	CHECK_MSG(j != NULL, "not JSON: %s (%s)", t, jerr.text);
	if (j)
		CHECK_EQ_STR(json_string_value(json_object_get(j, "msg")),
			     "bad frame \"a\\b\"\n\t\x01");
	json_decref(j);
	CHECK(strchr(t, '\n') == t + strlen(t) - 1);
	free(t);
}

static void test_long_lines(void)
{
	json_error_t jerr;
	json_t *j;
	char *t;
	log_set_clock(fixed_clock);
	log_setup(LOGL_INFO, LOGF_TEXT);
	t = capture(emit_long);
	CHECK(strlen(t) <= LOG_LINE_MAX + 128);
	CHECK(strstr(t, "...\n") != NULL);
	free(t);
	log_setup(LOGL_INFO, LOGF_JSON);
	t = capture(emit_long);
	j = json_loads(t, 0, &jerr);
	CHECK_MSG(j != NULL, "cut JSON line is not JSON: %s", jerr.text);
	if (j) {
		const char *msg = json_string_value(json_object_get(j, "msg"));
		CHECK(msg && strlen(msg) > 1000);
		CHECK(msg && strcmp(msg + strlen(msg) - 3, "...") == 0);
	}
	json_decref(j);
	free(t);
}

static void test_parse(void)
{
	log_level_t l;
	log_format_t f;
	CHECK_OK(log_level_parse("warn", &l));
	CHECK_EQ_INT(l, LOGL_WARN);
	CHECK_ERR(log_level_parse("verbose", &l), KERR_NOT_FOUND);
	CHECK_OK(log_format_parse("json", &f));
	CHECK_EQ_INT(f, LOGF_JSON);
	CHECK_ERR(log_format_parse("xml", &f), KERR_NOT_FOUND);
}

int main(void)
{
	RUN(test_time_format);
	RUN(test_text);
	RUN(test_json);
	RUN(test_long_lines);
	RUN(test_parse);
	return t_done();
}
