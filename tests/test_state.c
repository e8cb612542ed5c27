/*
 * test_state: the state file.  Round trips (every field, with and without
 * a liquidation account), replacement and removal rules, each kind of
 * broken file refused with a message naming the member, the earlier bids
 * of a replaced transaction ("prev") and their checks, the appending
 * writer (state_log_t: one line per save, the last complete line wins, a
 * cut-off last line is passed over, a line after it is not, compaction
 * back to one line), and atomicity: a writer SIGKILLed at random instants,
 * rewriting or appending, never leaves a file that does not load as one
 * of the versions it wrote.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "keeper/state.h"
#include "tests/test.h"

static char dir[64], path[128];
static addr_t signer_addr;

static state_t *new_state(void)
{
	state_t *st = malloc(sizeof *st);

	if (st)
		state_init(st, 31337, &signer_addr);
	return st;
}

static void fill_tx(state_tx_t *t, const char *action, uint64_t nonce, int account)
{
	size_t i;

	memset(t, 0, sizeof *t);
	strcpy(t->action, action);
	strcpy(t->trigger, "drain-watch");
	t->nonce = nonce;
	for (i = 0; i < 32; i++)
		t->hash[i] = (uint8_t)(i * 7 + nonce);
	t->raw_len = 110 + nonce % 50;
	for (i = 0; i < t->raw_len; i++)
		t->raw[i] = (uint8_t)(i ^ nonce);
	t->raw[0] = 0x02;
	u256_from_dec(&t->max_fee, "115792089237316195423570985008687907853269984665640564039457584007913129639935", 78);
	u256_from_u64(&t->priority_fee, 1500000000);
	t->sent_ms = 1763700000000LL + (int64_t)nonce;
	t->trip_ms = 1763699999000LL;
	if (account) {
		t->has_account = true;
		memset(t->account.b, account, sizeof t->account.b);
	}
}

static bool tx_eq(const state_tx_t *a, const state_tx_t *b)
{
	return strcmp(a->action, b->action) == 0 && strcmp(a->trigger, b->trigger) == 0 &&
	       a->has_account == b->has_account &&
	       (!a->has_account || addr_eq(&a->account, &b->account)) && a->nonce == b->nonce &&
	       memcmp(a->hash, b->hash, 32) == 0 && a->raw_len == b->raw_len &&
	       memcmp(a->raw, b->raw, a->raw_len) == 0 &&
	       u256_cmp(&a->max_fee, &b->max_fee) == 0 &&
	       u256_cmp(&a->priority_fee, &b->priority_fee) == 0 && a->sent_ms == b->sent_ms &&
	       a->trip_ms == b->trip_ms && a->nprev == b->nprev &&
	       memcmp(a->prev, b->prev, a->nprev * 32) == 0;
}

static char *slurp(const char *p)
{
	FILE *f = fopen(p, "rb");
	char *b;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	if (b)
		b[n] = 0;
	fclose(f);
	return b;
}

static void spit(const char *p, const char *text)
{
	FILE *f = fopen(p, "wb");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_round_trip(void)
{
	state_t *a = new_state(), *b = new_state();
	state_tx_t t;
	char why[200], *first, *second;
	struct stat sb;
	int64_t ms;
	size_t i;

	if (!a || !b)
		return;
	fill_tx(&t, "pause-vault", 7, 0);
	CHECK_OK(state_put_tx(a, &t));
	fill_tx(&t, "liquidate", 8, 0x42);
	CHECK_OK(state_put_tx(a, &t));
	fill_tx(&t, "liquidate", 9, 0x43);
	CHECK_OK(state_put_tx(a, &t));
	CHECK_OK(state_set_cooldown(a, "drain-watch", 1763699999000LL));
	CHECK_OK(state_set_cooldown(a, "usdc-depeg", 5));
	CHECK_OK(state_save(a, path));
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	{
		char tmp[160];

		snprintf(tmp, sizeof tmp, "%s.tmp", path);
		CHECK(access(tmp, F_OK) != 0);   /* renamed away */
	}
	CHECK_OK(state_load(b, path, 31337, &signer_addr, why, sizeof why));
	CHECK_EQ_INT(b->ntxs, 3);
	CHECK_EQ_INT(b->ncooldowns, 2);
	for (i = 0; i < 3 && i < b->ntxs; i++)
		CHECK(tx_eq(&a->txs[i], &b->txs[i]));
	CHECK(state_get_cooldown(b, "usdc-depeg", &ms) && ms == 5);
	CHECK(!state_get_cooldown(b, "nothing", &ms));
	/* Saving what was loaded gives the same bytes. */
	first = slurp(path);
	CHECK_OK(state_save(b, path));
	second = slurp(path);
	CHECK(first && second && strcmp(first, second) == 0);
	free(first);
	free(second);
	free(a);
	free(b);
}

static void test_put_drop(void)
{
	state_t *st = new_state();
	state_tx_t t;
	addr_t acct;
	size_t i;

	if (!st)
		return;
	/* A fee bump replaces the entry of the same action/account/nonce. */
	fill_tx(&t, "pause-vault", 3, 0);
	CHECK_OK(state_put_tx(st, &t));
	u256_from_u64(&t.priority_fee, 2000000000);
	CHECK_OK(state_put_tx(st, &t));
	CHECK_EQ_INT(st->ntxs, 1);
	CHECK(st->txs[0].priority_fee.w[0] == 2000000000);
	/* Another account is another entry, even at the same nonce. */
	fill_tx(&t, "pause-vault", 3, 0x11);
	CHECK_OK(state_put_tx(st, &t));
	CHECK_EQ_INT(st->ntxs, 2);
	memset(acct.b, 0x11, sizeof acct.b);
	CHECK_ERR(state_drop_tx(st, "pause-vault", true, &acct, 4), KERR_NOT_FOUND);
	CHECK_OK(state_drop_tx(st, "pause-vault", true, &acct, 3));
	CHECK_OK(state_drop_tx(st, "pause-vault", false, NULL, 3));
	CHECK_EQ_INT(st->ntxs, 0);
	/* Bounds. */
	for (i = 0; i < STATE_MAX_TXS; i++) {
		fill_tx(&t, "a", i, 0);
		CHECK_OK(state_put_tx(st, &t));
	}
	fill_tx(&t, "a", STATE_MAX_TXS, 0);
	CHECK_ERR(state_put_tx(st, &t), KERR_FULL);
	t.raw_len = STATE_RAW_MAX + 1;
	CHECK_ERR(state_put_tx(st, &t), KERR_TOO_LONG);
	CHECK_OK(state_drop_tx(st, "a", false, NULL, 5));
	CHECK_EQ_INT(st->ntxs, STATE_MAX_TXS - 1);
	CHECK_EQ_INT(st->txs[5].nonce, 6);   /* the order is kept */
	{
		char longname[CONFIG_NAME_MAX + 2];

		memset(longname, 'y', sizeof longname - 1);
		longname[sizeof longname - 1] = 0;
		CHECK_ERR(state_set_cooldown(st, longname, 1), KERR_TOO_LONG);
	}
	free(st);
}

/* Each broken file: refused, and the message names the member. */
static void test_bad_files(void)
{
	static const struct {
		const char *from, *to;   /* substitution in a good file */
		kerr_t err;
		const char *why;         /* expected start of the message */
	} cases[] = {
		{ "\"version\":1", "\"version\":2", KERR_STATE_INVALID, "version: 2" },
		{ "\"version\":1,", "", KERR_STATE_INVALID, "version: missing" },
		{ "\"chain_id\":31337", "\"chain_id\":1", KERR_STATE_INVALID, "chain_id: the file is for chain 1" },
		{ "\"chain_id\":31337", "\"chain_id\":\"31337\"", KERR_STATE_INVALID, "chain_id: wrong type" },
		{ "\"signer\":\"0x", "\"signer\":\"0xzz", KERR_STATE_INVALID, "signer: not an address" },
		{ "\"txs\":[", "\"extra\":1,\"txs\":[", KERR_STATE_INVALID, "extra: unknown member" },
		{ "\"nonce\":7", "\"nonce\":-7", KERR_STATE_INVALID, "txs[0].nonce: below 0" },
		{ "\"nonce\":7", "\"nonce\":7.5", KERR_STATE_INVALID, "txs[0].nonce: wrong type" },
		{ "\"hash\":\"0x07", "\"hash\":\"0x", KERR_STATE_INVALID, "txs[0].hash: not 0x hex of 32 bytes" },
		{ "\"hash\":\"0x", "\"hash\":\"", KERR_STATE_INVALID, "txs[0].hash: not 0x hex" },
		{ "\"raw\":\"0x02", "\"raw\":\"0xzz", KERR_STATE_INVALID, "txs[0].raw: not 0x hex" },
		{ "\"max_fee\":\"1", "\"max_fee\":\"x1", KERR_STATE_INVALID, "txs[0].max_fee: not a decimal" },
		{ "\"max_fee\":\"1", "\"max_fee\":\"9999999999999999999999999999999999999999999999999999999999999999999999999999991", KERR_STATE_INVALID, "txs[0].max_fee: not a decimal amount below 2^256" },
		{ "\"action\":\"pause-vault\"", "\"action\":\"\"", KERR_STATE_INVALID, "txs[0].action: not a name" },
		{ "\"trip_ms\":", "\"trip_ms\":1,\"trip_ms\":", KERR_JSON, "line 1: duplicate object key" },
		{ "\"cooldowns\":[", "\"cooldowns\":[{\"trigger\":\"drain-watch\",\"last_trip_ms\":1},", KERR_STATE_INVALID, "cooldowns[1]: trigger drain-watch listed twice" },
		{ "{\"version\"", "[{\"version\"", KERR_JSON, "line 2: ']' expected" },
	};
	state_t *st = new_state(), *out = new_state();
	state_tx_t t;
	char why[256], *good, *text;
	size_t i;
	int matched = 0;

	if (!st || !out)
		return;
	fill_tx(&t, "pause-vault", 7, 0);
	CHECK_OK(state_put_tx(st, &t));
	CHECK_OK(state_set_cooldown(st, "drain-watch", 1));
	CHECK_OK(state_save(st, path));
	good = slurp(path);
	if (!good)
		return;
	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *at = strstr(good, cases[i].from);
		kerr_t err;

		if (!at) {
			CHECK_MSG(0, "case %zu: %s not in the file", i, cases[i].from);
			continue;
		}
		text = malloc(strlen(good) + strlen(cases[i].to) + 1);
		if (!text)
			break;
		memcpy(text, good, (size_t)(at - good));
		strcpy(text + (at - good), cases[i].to);
		strcat(text, at + strlen(cases[i].from));
		spit(path, text);
		free(text);
		err = state_load(out, path, 31337, &signer_addr, why, sizeof why);
		if (err == cases[i].err && strncmp(why, cases[i].why, strlen(cases[i].why)) == 0)
			matched++;
		else
			printf("    case %zu: got %s \"%s\", want %s \"%s\"\n", i, kerr_name(err), why,
			       kerr_name(cases[i].err), cases[i].why);
	}
	printf("    %d/%zu broken files refused with the expected message\n", matched,
	       sizeof cases / sizeof *cases);
	CHECK_EQ_INT(matched, (int)(sizeof cases / sizeof *cases));
	/* Another signer's file. */
	spit(path, good);
	{
		addr_t other;

		memset(other.b, 0x99, sizeof other.b);
		CHECK_ERR(state_load(out, path, 31337, &other, why, sizeof why), KERR_STATE_INVALID);
		CHECK(strncmp(why, "signer:", 7) == 0);
	}
	/* Missing, a directory, too big. */
	CHECK_ERR(state_load(out, "/nonexistent/keeper.state", 31337, &signer_addr, why, sizeof why),
		  KERR_NOT_FOUND);
	CHECK_ERR(state_load(out, dir, 31337, &signer_addr, why, sizeof why), KERR_IO);
	CHECK(truncate(path, (off_t)STATE_FILE_MAX + 1) == 0);
	CHECK_ERR(state_load(out, path, 31337, &signer_addr, why, sizeof why), KERR_TOO_LONG);
	/* A save that cannot happen leaves the old file as it was. */
	spit(path, good);
	{
		char bad_path[160], *after;

		snprintf(bad_path, sizeof bad_path, "%s/missing-dir/state", dir);
		CHECK_ERR(state_save(st, bad_path), KERR_IO);
		/* A directory keeper may not write to (root writes anyway). */
		if (geteuid() != 0) {
			CHECK(chmod(dir, 0500) == 0);
			CHECK_ERR(state_save(st, path), KERR_IO);
			CHECK(chmod(dir, 0700) == 0);
		}
		after = slurp(path);
		CHECK(after && strcmp(after, good) == 0);
		free(after);
	}
	free(good);
	free(st);
	free(out);
}

/* good with its first `from` replaced by `to`, loaded into out: the
 * error, the message in why. */
static kerr_t load_edited(const char *good, const char *from, const char *to, state_t *out,
			  char *why, size_t cap)
{
	const char *at = strstr(good, from);
	char *text;

	why[0] = 0;
	if (!at || !(text = malloc(strlen(good) + strlen(to) + 1)))
		return KERR_NOMEM;
	memcpy(text, good, (size_t)(at - good));
	strcpy(text + (at - good), to);
	strcat(text, at + strlen(from));
	spit(path, text);
	free(text);
	return state_load(out, path, 31337, &signer_addr, why, cap);
}

/* The earlier bids of a transaction ("prev"): absent when there are none,
 * read back in order, each checked. */
static void test_prev(void)
{
	state_t *st = new_state(), *out = new_state();
	state_tx_t t;
	char why[256], *text, arr[3000], one[80];
	size_t i, n;

	if (!st || !out)
		goto out;
	fill_tx(&t, "pause-vault", 7, 0);
	CHECK_OK(state_put_tx(st, &t));
	CHECK_OK(state_save(st, path));
	text = slurp(path);
	CHECK(text && !strstr(text, "\"prev\""));
	free(text);
	/* the fee bump: the first bid's hash and another earlier one */
	t.nprev = 2;
	memset(t.prev[0], 0xaa, 32);
	memset(t.prev[1], 0xbb, 32);
	CHECK_OK(state_put_tx(st, &t));
	CHECK_EQ_INT(st->ntxs, 1);
	CHECK_OK(state_save(st, path));
	CHECK_OK(state_load(out, path, 31337, &signer_addr, why, sizeof why));
	CHECK(out->ntxs == 1 && tx_eq(&out->txs[0], &t));
	if (!(text = slurp(path)))
		goto out;
	CHECK_ERR(load_edited(text, "\"prev\":[\"0xaa", "\"prev\":[\"0xzz", out, why, sizeof why),
		  KERR_STATE_INVALID);
	CHECK_EQ_STR(why, "txs[0].prev[0]: not 0x hex of 32 bytes");
	CHECK_ERR(load_edited(text, "\"prev\":[\"0x", "\"prev\":[7,\"0x", out, why, sizeof why),
		  KERR_STATE_INVALID);
	CHECK_EQ_STR(why, "txs[0].prev[0]: not 0x hex of 32 bytes");
	CHECK_ERR(load_edited(text, ",\"0xbb", ",\"0xbbbb", out, why, sizeof why),
		  KERR_STATE_INVALID);
	CHECK_EQ_STR(why, "txs[0].prev[1]: not 0x hex of 32 bytes");
	CHECK_ERR(load_edited(text, ",\"0xbb", ",\"bb", out, why, sizeof why), KERR_STATE_INVALID);
	CHECK_EQ_STR(why, "txs[0].prev[1]: not 0x hex of 32 bytes");
	/* the whole array: another type, then one bid too many */
	n = (size_t)snprintf(arr, sizeof arr, "\"prev\":[");
	for (i = 0; i < 2; i++) {
		memset(one, i ? 'b' : 'a', 64);
		n += (size_t)snprintf(arr + n, sizeof arr - n, "%s\"0x%.64s\"", i ? "," : "", one);
	}
	snprintf(arr + n, sizeof arr - n, "]");
	CHECK(strstr(text, arr) != NULL);
	CHECK_ERR(load_edited(text, arr, "\"prev\":\"0xaa\"", out, why, sizeof why),
		  KERR_STATE_INVALID);
	CHECK_EQ_STR(why, "txs[0].prev: wrong type");
	{
		char many[3000];

		n = (size_t)snprintf(many, sizeof many, "\"prev\":[");
		memset(one, 'c', 64);
		for (i = 0; i <= STATE_MAX_PREV; i++)
			n += (size_t)snprintf(many + n, sizeof many - n, "%s\"0x%.64s\"", i ? "," : "",
					      one);
		snprintf(many + n, sizeof many - n, "]");
		CHECK_ERR(load_edited(text, arr, many, out, why, sizeof why), KERR_STATE_INVALID);
		CHECK_EQ_STR(why, "txs[0].prev: more than 16");
		/* one fewer (less `,"0x` 64 digits `"`) is the limit, and loads */
		n = strlen(many) - 1 - 69;
		memcpy(many + n, "]", 2);
		CHECK_OK(load_edited(text, arr, many, out, why, sizeof why));
		CHECK(out->ntxs == 1 && out->txs[0].nprev == STATE_MAX_PREV);
	}
	free(text);
	t.nprev = STATE_MAX_PREV + 1;
	CHECK_ERR(state_put_tx(st, &t), KERR_TOO_LONG);
out:
	free(st);
	free(out);
}

static int count_lines(const char *text)
{
	int n = 0;

	for (; text && *text; text++)
		n += *text == '\n';
	return n;
}

static void append_text(const char *p, const char *text)
{
	FILE *f = fopen(p, "ab");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* The appending writer: what it leaves, and what state_load() makes of it. */
static void test_log(void)
{
	state_t *st = new_state(), *out = new_state();
	state_log_t *lg = NULL;
	state_tx_t t;
	char why[256], *text, *one_line;
	struct stat sb;
	int saves = 0, lines_max = 0;
	uint64_t n;

	if (!st || !out)
		return;
	CHECK_ERR(state_log_new(NULL, &lg), KERR_ARG);
	CHECK_ERR(state_log_new("", &lg), KERR_ARG);
	unlink(path);
	CHECK_OK(state_log_new(path, &lg));
	CHECK(access(path, F_OK) != 0);   /* no I/O before the first save */
	/* Each save: one more line; the file loads as the last one. */
	for (n = 0; n < 5; n++) {
		fill_tx(&t, "pause-vault", n, 0);
		CHECK_OK(state_put_tx(st, &t));
		CHECK_OK(state_set_cooldown(st, "drain-watch", (int64_t)n));
		CHECK_OK(state_log_save(lg, st));
		CHECK_OK(state_load(out, path, 31337, &signer_addr, why, sizeof why));
		CHECK_EQ_INT(out->ntxs, n + 1);
		text = slurp(path);
		CHECK_EQ_INT(count_lines(text), n + 1);
		free(text);
	}
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	/* A line is what state_save() writes for the same state. */
	text = slurp(path);
	CHECK_OK(state_save(st, path));
	one_line = slurp(path);
	CHECK(text && one_line && strlen(text) > strlen(one_line) &&
	      strcmp(text + strlen(text) - strlen(one_line), one_line) == 0);
	/* The log's fd still points at the replaced file: a rewrite starts
	 * a new one only when the log itself rewrites.  Put the log's file
	 * back. */
	spit(path, text);
	free(text);
	/* An append cut short by a crash: passed over. */
	append_text(path, "{\"version\":1,\"chain_id\":31337,\"sig");
	CHECK_OK(state_load(out, path, 31337, &signer_addr, why, sizeof why));
	CHECK_EQ_INT(out->ntxs, 5);
	/* Not so when a newline follows it: that is a broken file. */
	append_text(path, "\n");
	CHECK_ERR(state_load(out, path, 31337, &signer_addr, why, sizeof why), KERR_JSON);
	/* Nor when it is all there is. */
	spit(path, "{\"version\":1,\"chain_id\":31337,\"sig");
	CHECK_ERR(state_load(out, path, 31337, &signer_addr, why, sizeof why), KERR_JSON);
	/* Only the last line is the state: an old line naming another chain
	 * does not matter, a last one does. */
	spit(path, one_line);
	text = malloc(2 * strlen(one_line) + 1);
	if (text) {
		char *at;

		strcpy(text, one_line);
		strcat(text, one_line);
		at = strstr(text, "\"chain_id\":31337");
		memcpy(at, "\"chain_id\":31338", 16);
		spit(path, text);
		CHECK_OK(state_load(out, path, 31337, &signer_addr, why, sizeof why));
		at = strstr(text + strlen(one_line), "\"chain_id\":31337");
		memcpy(at, "\"chain_id\":31338", 16);
		spit(path, text);
		CHECK_ERR(state_load(out, path, 31337, &signer_addr, why, sizeof why),
			  KERR_STATE_INVALID);
		free(text);
	}
	state_log_free(lg);
	/* A new log (a restart) rewrites first: the cut-off line is gone. */
	spit(path, one_line);
	append_text(path, "{\"version\":1,\"chai");
	CHECK_OK(state_log_new(path, &lg));
	CHECK_OK(state_log_save(lg, st));
	text = slurp(path);
	CHECK(text && one_line && strcmp(text, one_line) == 0);
	free(text);
	/* Compaction: the file never grows past the bound, and the state
	 * is always the last one saved. */
	for (n = 5; n < 5 + 3000; n++) {
		fill_tx(&t, "pause-vault", n % 200, 0x20);
		if (state_put_tx(st, &t) != KERR_OK)
			break;
		if (state_log_save(lg, st) != KERR_OK)
			break;
		saves++;
		if (stat(path, &sb) != 0 || (size_t)sb.st_size > STATE_LOG_COMPACT)
			break;
		if (n % 100 == 0) {
			text = slurp(path);
			if (count_lines(text) > lines_max)
				lines_max = count_lines(text);
			free(text);
		}
	}
	CHECK_EQ_INT(saves, 3000);
	CHECK_OK(state_load(out, path, 31337, &signer_addr, why, sizeof why));
	CHECK_EQ_INT(out->ntxs, st->ntxs);
	printf("    3000 appended saves: file at most %zu bytes, up to %d lines seen\n",
	       STATE_LOG_COMPACT, lines_max);
	CHECK(lines_max > 1);
	state_log_free(lg);
	state_log_free(NULL);
	free(one_line);
	free(st);
	free(out);
}

/* A writer killed at random instants: every file left behind loads, and
 * is one of the versions the writer saved (its nonce count says which).
 * append: through a state_log_t, whose states grow to 256 transactions so
 * that it both appends and compacts while being killed. */
static void kill_rounds(bool append)
{
	int round, loaded = 0, kills = 0, torn = 0;
	state_t *out = new_state();
	char why[256];

	if (!out)
		return;
	unlink(path);
	for (round = 0; round < 100; round++) {
		pid_t pid = fork();

		if (pid == 0) {
			state_t *st = new_state();
			state_log_t *lg = NULL;
			state_tx_t t;
			uint64_t n;

			if (append && state_log_new(path, &lg) != KERR_OK)
				_exit(3);
			for (n = 0; st; n++) {
				if (append && n == STATE_MAX_TXS) {
					/* start again: version 0 holds nothing */
					state_init(st, 31337, &signer_addr);
					n = 0;
				}
				fill_tx(&t, "pause-vault", n % STATE_MAX_TXS, 0);
				if (state_put_tx(st, &t) != KERR_OK ||
				    (append ? state_log_save(lg, st) : state_save(st, path)) != KERR_OK)
					_exit(3);
			}
			_exit(4);
		}
		if (pid < 0)
			break;
		{
			struct timespec ts = { 0, (long)(1000000 + (round * 7919) % 20000000) };

			nanosleep(&ts, NULL);
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		kills++;
		{
			char *text = slurp(path);
			size_t len = text ? strlen(text) : 0;

			torn += len && text[len - 1] != '\n';
			free(text);
		}
		{
			kerr_t err = state_load(out, path, 31337, &signer_addr, why, sizeof why);

			if (err == KERR_OK) {
				size_t i;
				bool consistent = true;

				/* Version k holds nonces 0..k-1 in order. */
				for (i = 0; i < out->ntxs; i++)
					consistent = consistent && out->txs[i].nonce == i;
				loaded += consistent;
			} else if (err == KERR_NOT_FOUND) {
				loaded++;   /* killed before its first rename */
			} else {
				printf("    round %d: %s %s\n", round, kerr_name(err), why);
			}
		}
	}
	printf("    %s writer SIGKILLed %d times mid-save: %d files loaded as a complete "
	       "version (%d ended in a cut-off line)\n", append ? "appending" : "rewriting",
	       kills, loaded, torn);
	CHECK_EQ_INT(loaded, kills);
	free(out);
}

static void test_kill_atomic(void)
{
	kill_rounds(false);
	kill_rounds(true);
}

int main(void)
{
	strcpy(dir, "/tmp/keeper-state-XXXXXX");
	if (!mkdtemp(dir)) {
		t_failed++;
		return t_done();
	}
	snprintf(path, sizeof path, "%s/keeper.state", dir);
	memset(signer_addr.b, 0xab, sizeof signer_addr.b);
	RUN(test_round_trip);
	RUN(test_put_drop);
	RUN(test_bad_files);
	RUN(test_prev);
	RUN(test_log);
	RUN(test_kill_atomic);
	{
		char cmd[128];

		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("    could not remove %s\n", dir);
	}
	return t_done();
}
