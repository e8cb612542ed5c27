/*
 * test_record_anvil: `keeper record` of a live anvil session reads back
 * through keeper/replay_file into the parsers replay will use, the last
 * point of keeper issue 3.  Everything runs on 127.0.0.1: an anvil (foundry
 * 1.7.1 from .deps) started here with --block-time 1 on a free port, and a
 * tests/feedsrv playing a price feed whose schedule mixes trades with frames
 * that are not JSON objects (so that record writes them as JSON strings).
 * $KEEPER (the build's keeper; default: bin/keeper beside this program's
 * directory) records for 4.5 s while cast sends four transactions from
 * anvil's dev account 0: type 0 (--legacy) and type 2, each without and
 * with calldata, two once the subscriptions are answered and two after the
 * next head, so that they land in different blocks.  Then the file is read
 * back and:
 *   - every line reads back ok (no fault of any kind), in time order,
 *     with times inside the run, and the line count is the summary's frame
 *     count;
 *   - every "node" frame goes through node_parse: the two subscription
 *     replies (newHeads, full pending transactions) carry string ids, and
 *     every notification parses and names one of those ids;
 *   - each transaction sent is a pending-tx event with the hash cast
 *     printed, its type, nonce, sender, recipient, value and calldata;
 *   - the heads are consecutive block numbers, each with the hash `cast
 *     block` gives, and include every block that mined a sent transaction;
 *   - every feed frame is the line feedsrv sent, byte for byte (a byte that
 *     is not UTF-8 read back as NUL), and feed_parse gives the same result
 *     for it as for the original line.
 * Bounded by a 28 s alarm; anvil, feedsrv and keeper are killed at exit, on
 * a fatal signal and on the alarm.
 */
#include <signal.h>
#include <unistd.h>

#include "keeper/config.h"
#include "keeper/feed_parse.h"
#include "keeper/node_parse.h"
#include "keeper/replay_file.h"
#include "signer/addr.h"
#include "signer/hex.h"
#include "signer/u256.h"
#include "tests/e2e.h"
#include "tests/feedsrv.h"

#define RECORD_SECONDS "4.5"

/* out_path: the recording; keeper_out: record's summary */
static const char *cfg_path, *out_path, *feed_path;

/* ---- the session */

/* The transactions: all from account 0, nonces 0..3 given (with blocks
 * every second, cast's own count could repeat one still pending). */
static struct sent {
	const char *args;
	uint8_t type;
	const char *to;
	const char *value;      /* wei, decimal */
	const char *input;
	char hash[67];
	uint64_t block;         /* from the receipt */
	bool seen;
} TX[] = {
	{ "--legacy --nonce 0 " ACCT1 " --value 1ether", 0, ACCT1,
	  "1000000000000000000", "0x", "", 0, false },
	{ "--nonce 1 --priority-gas-price 2gwei --gas-price 30gwei " ACCT3 " --value 12345",
	  2, ACCT3, "12345", "0x", "", 0, false },
	{ "--legacy --nonce 2 " ACCT3 " 0xdeadbeef --value 1.5ether", 0, ACCT3,
	  "1500000000000000000", "0xdeadbeef", "", 0, false },
	{ "--nonce 3 " ACCT1 " 0xcafe0001 --value 7", 2, ACCT1, "7", "0xcafe0001", "", 0,
	  false },
};
#define NTX (sizeof TX / sizeof TX[0])

/* What feedsrv sends: trades, with frames record must write as strings
 * among them (\377 is never UTF-8). */
static size_t feed_lines(char *out, size_t cap)
{
	size_t n = 0;

	for (int i = 0; i < 24; i++) {
		n += (size_t)snprintf(out + n, cap - n,
				      "{\"e\":\"trade\",\"E\":%d,\"s\":\"ETHUSDT\",\"p\":\"%d.%02d\","
				      "\"q\":\"0.1\",\"T\":%lld}\n", i, 1400 + i, i,
				      1678520483000LL + i);
		switch (i) {
		case 2: n += (size_t)snprintf(out + n, cap - n, "not json at all\n"); break;
		case 4: n += (size_t)snprintf(out + n, cap - n, "42\n"); break;
		case 6: n += (size_t)snprintf(out + n, cap - n, "\"tab\there \\\"q\\\"\"\n"); break;
		case 8: n += (size_t)snprintf(out + n, cap - n, "{\"e\":\"trade\",\"p\":\"\377\"}\n"); break;
		case 10: n += (size_t)snprintf(out + n, cap - n,
					       "{\"e\":\"trade\",\"p\":\"\342\202\254 1\",\"T\":1678520483000}\n");
			break;
		}
	}
	return n;
}

static char feed_text[8192];
static size_t feed_len;
static int rec_status = -1;
static int64_t wall_start, wall_end;   /* ms since the epoch, around record */
static char summary[1024];

/* Occurrences of needle in the output so far. */
static int in_output(const char *needle)
{
	read_file_into(out_path, logbuf, sizeof logbuf);
	return count_in(logbuf, needle);
}

/* Node frames that are replies (subscriptions), and heads. */
#define REPLY_TEXT "\"src\":\"node\",\"raw\":{\"jsonrpc\":\"2.0\",\"id\":"
#define HEAD_TEXT "\"parentHash\":"

static void send_tx(size_t i)
{
	int r = cast(TX[i].hash, sizeof TX[i].hash, "send --async --private-key %s %s 2>&1", K0,
		     TX[i].args);
	CHECK_MSG(r == 0 && strlen(TX[i].hash) == 66, "cast send: %s", TX[i].hash);
}

static void test_record(void)
{
	const char *argv[] = { keeper_bin, "record", "-c", cfg_path, "-o", out_path,
			       "--duration", RECORD_SECONDS, NULL };
	int64_t t0 = mono_ms();
	pid_t pid;
	int st = -1;

	wall_start = wall_ms();
	pid = spawn(argv, keeper_out, keeper_err, true);
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	/* Both subscriptions answered: what follows is recorded. */
	while (in_output(REPLY_TEXT) < 2 && mono_ms() - t0 < 4000 &&
	       waitpid(pid, &st, WNOHANG) == 0)
		usleep(20000);
	CHECK_MSG(in_output(REPLY_TEXT) >= 2, "no subscription replies recorded after %lld ms",
		  (long long)(mono_ms() - t0));
	printf("    subscribed %lld ms after start\n", (long long)(mono_ms() - t0));
	/* Two, then (so that blocks and transactions interleave) two more
	 * once a block has been mined since. */
	send_tx(0);
	send_tx(1);
	{
		int h = in_output(HEAD_TEXT);
		int64_t t1 = mono_ms();
		while (in_output(HEAD_TEXT) == h && mono_ms() - t1 < 2500)
			usleep(20000);
	}
	send_tx(2);
	send_tx(3);
	printf("    %zu transactions sent by %lld ms\n", NTX, (long long)(mono_ms() - t0));
	if (st == -1) {   /* not reaped yet by the wait for the subscriptions */
		st = wait_exit(pid, (int)(12000 - (mono_ms() - t0)));
		if (st == -1)
			printf("    keeper record did not stop after --duration\n");
	} else {
		untrack(pid);
	}
	wall_end = wall_ms();
	rec_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	CHECK_EQ_INT(rec_status, 0);
	first_line(keeper_out, summary, sizeof summary);
	printf("    %s\n", summary);
	CHECK(strstr(summary, "stopped after --duration") != NULL);
	if (rec_status != 0) {
		char err[2048];

		read_file_into(keeper_err, err, sizeof err);
		printf("    keeper stderr: %s\n", err);
	}
}

/* ---- reading it back */

#define MAXSUB 8
#define MAXHEAD 64

static void test_read_back(void)
{
	config_keeper_t *cfg = NULL;
	replay_file_t *r = NULL;
	replay_file_stats_t st;
	replay_line_t ln;
	node_parser_t np;
	feed_parser_t fp;
	char subs[MAXSUB][80];
	uint64_t heads[MAXHEAD];
	uint8_t head_hash[MAXHEAD][32];
	int nsub = 0, nhead = 0, events = 0, ptx = 0, other_ev = 0, bad_node = 0;
	int feed_frames = 0, ticks = 0, not_ticks = 0, feed_errs = 0, strings = 0;
	size_t feed_at = 0;
	addr_t from0;
	kerr_t e;

	if (rec_status != 0)
		return;
	CHECK_OK(config_load(cfg_path, &cfg, NULL));
	CHECK_OK(node_parse_init(&np, 0));
	CHECK_OK(feed_parse_init(&fp, 0));
	CHECK_OK(addr_parse(&from0, ACCT0, strlen(ACCT0)));
	CHECK_OK(replay_file_open(&r, out_path, NULL));
	if (!r || !cfg)
		goto out;
	while ((e = replay_file_next(r, &ln)) == KERR_OK) {
		node_frame_t f;
		event_t ev;

		CHECK_MSG(ln.err == REPLAY_OK, "line %llu: %s (%s)", (unsigned long long)ln.line,
			  replay_file_err_str(ln.err), kerr_name(ln.why));
		if (ln.err != REPLAY_OK)
			continue;
		CHECK_EQ_INT(ln.kind, REPLAY_RAW);
		strings += ln.raw_string;
		if (ln.src.len == 4 && !memcmp(ln.src.p, "node", 4)) {
			e = node_parse_frame(&np, ln.frame.p, ln.frame.len, &f, &ev);
			CHECK_MSG(e == KERR_OK, "line %llu: node_parse: %s at %s",
				  (unsigned long long)ln.line, kerr_name(e),
				  np.what ? np.what : "?");
			if (e) {
				bad_node++;
				continue;
			}
			if (f.kind == NODE_FRAME_REPLY) {
				/* A subscription's id, as a string. */
				jtok_view_t v;
				CHECK(f.result != JTOK_NONE);
				if (f.result == JTOK_NONE)
					continue;
				CHECK_EQ_INT(jtok_type(&np.doc, f.result), JTOK_STRING);
				v = jtok_text(&np.doc, f.result);
				CHECK(nsub < MAXSUB && v.len < sizeof subs[0]);
				if (nsub < MAXSUB && v.len < sizeof subs[0]) {
					memcpy(subs[nsub], v.p, v.len);
					subs[nsub++][v.len] = 0;
				}
				continue;
			}
			events++;
			{
				bool known = false;
				for (int k = 0; k < nsub; k++)
					known |= strlen(subs[k]) == f.sub.len &&
						 !memcmp(subs[k], f.sub.p, f.sub.len);
				CHECK_MSG(known, "line %llu: subscription %.*s was never "
					  "acknowledged", (unsigned long long)ln.line,
					  (int)f.sub.len, f.sub.p);
			}
			if (ev.kind == EV_HEAD) {
				CHECK(nhead < MAXHEAD);
				if (nhead < MAXHEAD) {
					heads[nhead] = ev.head.number;
					memcpy(head_hash[nhead++], ev.head.hash, 32);
				}
			} else if (ev.kind == EV_PENDING_TX) {
				ptx++;
				CHECK(ev.tx.full);
				for (size_t k = 0; k < NTX; k++) {
					uint8_t h[32];
					addr_t to;
					u256_t val;
					struct sent *s = &TX[k];

					if (hex_decode_exact(h, 32, s->hash, 66) ||
					    memcmp(h, ev.tx.hash, 32))
						continue;
					CHECK(!s->seen);
					s->seen = true;
					CHECK_EQ_INT(ev.tx.type, s->type);
					CHECK_EQ_INT(ev.tx.nonce, k);
					CHECK(addr_eq(&ev.tx.from, &from0));
					CHECK_OK(addr_parse(&to, s->to, strlen(s->to)));
					CHECK(ev.tx.has_to && addr_eq(&ev.tx.to, &to));
					CHECK_OK(u256_from_dec(&val, s->value, strlen(s->value)));
					CHECK(u256_cmp(&val, &ev.tx.value) == 0);
					CHECK(ev.tx.input.len == strlen(s->input) &&
					      !memcmp(ev.tx.input.p, s->input, ev.tx.input.len));
				}
			} else {
				other_ev++;
			}
			continue;
		}
		/* The feed: the next line feedsrv sent, byte for byte (0xff,
		 * never UTF-8, comes back as NUL), parsed alike. */
		{
			const config_feed_t *cf = &cfg->feeds[0];
			const char *want = feed_text + feed_at;
			const char *nl = memchr(want, '\n', feed_len - feed_at);
			size_t wlen = nl ? (size_t)(nl - want) : 0;
			char exp[512];
			feed_result_t r1 = 0, r2 = 0;
			event_t e1, e2;
			kerr_t k1, k2;

			CHECK(ln.src.len == strlen(cf->name) &&
			      !memcmp(ln.src.p, cf->name, ln.src.len));
			CHECK_MSG(nl != NULL, "line %llu: more feed frames than sent",
				  (unsigned long long)ln.line);
			if (!nl)
				continue;
			feed_at += wlen + 1;
			feed_frames++;
			CHECK(wlen < sizeof exp);
			if (wlen >= sizeof exp)
				continue;
			for (size_t k = 0; k < wlen; k++)
				exp[k] = (unsigned char)want[k] == 0xff ? 0 : want[k];
			CHECK_MSG(ln.frame.len == wlen && !memcmp(ln.frame.p, exp, wlen),
				  "line %llu: feed frame %d is not what was sent: %.*s",
				  (unsigned long long)ln.line, feed_frames,
				  (int)ln.frame.len, ln.frame.p);
			memset(&e1, 0, sizeof e1);
			memset(&e2, 0, sizeof e2);
			k1 = feed_parse_frame(&fp, cf, 0, ln.t, want, wlen, &r1, &e1);
			k2 = feed_parse_frame(&fp, cf, 0, ln.t, ln.frame.p, ln.frame.len, &r2, &e2);
			CHECK_MSG(k1 == k2 && r1 == r2, "line %llu: live %s, replay %s",
				  (unsigned long long)ln.line, kerr_name(k1), kerr_name(k2));
			if (k1 == KERR_OK && r1 == FEED_TICK) {
				ticks++;
				CHECK(e1.price.price == e2.price.price &&
				      e1.price.time_ms == e2.price.time_ms);
			} else if (k1 == KERR_OK) {
				not_ticks++;
			} else {
				feed_errs++;
			}
		}
	}
	CHECK_ERR(e, KERR_NOT_FOUND);
	replay_file_stats(r, &st);
	printf("    read back: %llu lines, %llu ok, %llu bad; t %lld..%lld (%lld ms)\n",
	       (unsigned long long)st.lines, (unsigned long long)st.ok,
	       (unsigned long long)st.errors, (long long)st.first_t, (long long)st.last_t,
	       (long long)(st.last_t - st.first_t));
	printf("    node: %d subscription replies, %d notifications (%d pending txs, %d heads, "
	       "%d other), %d unparsable\n", nsub, events, ptx, nhead, other_ev, bad_node);
	printf("    feed: %d frames (%d as JSON strings), %d ticks, %d not ticks, "
	       "%d refused by feed_parse\n", feed_frames, strings, ticks, not_ticks, feed_errs);
	CHECK_EQ_INT(st.errors, 0);
	CHECK_EQ_INT(st.ok, st.lines);
	/* Arrival times, within the run (the reader saw them in order). */
	CHECK(st.first_t >= wall_start && st.last_t <= wall_end);
	CHECK(st.lines > 0);
	{
		char want[64];
		snprintf(want, sizeof want, " %llu frames, ", (unsigned long long)st.lines);
		CHECK_MSG(strstr(summary, want) != NULL, "summary does not count %llu frames",
			  (unsigned long long)st.lines);
	}
	CHECK_EQ_INT(nsub, 2);
	CHECK_EQ_INT(bad_node, 0);
	CHECK_EQ_INT(other_ev, 0);
	CHECK(nhead >= 2);
	/* Every frame the feed had, every one of its kinds. */
	CHECK_EQ_INT(feed_at, feed_len);
	/* Strings: "not json at all", 42, the raw tab, the \377 (the euro
	 * sign is UTF-8: verbatim).  feed_parse refuses all but 42 (no "e":
	 * not a tick) and also the euro sign's price. */
	CHECK_EQ_INT(strings, 4);
	CHECK_EQ_INT(ticks, 24);
	CHECK_EQ_INT(not_ticks, 1);
	CHECK_EQ_INT(feed_errs, 4);
	/* Each transaction, pending, and in a block whose head was recorded. */
	for (size_t k = 0; k < NTX; k++) {
		char rc[8192];
		json_t *j;

		CHECK_MSG(TX[k].seen, "transaction %zu (%s) not recorded as pending", k,
			  TX[k].hash);
		if (cast(rc, sizeof rc, "receipt %s --json", TX[k].hash) == 0 &&
		    (j = json_loads(rc, 0, NULL))) {
			const char *bn = json_string_value(json_object_get(j, "blockNumber"));
			CHECK_EQ_STR(json_string_value(json_object_get(j, "status")), "0x1");
			TX[k].block = bn ? strtoull(bn, NULL, 16) : 0;
			json_decref(j);
		}
		{
			bool in = false;
			for (int h = 0; h < nhead; h++)
				in |= heads[h] == TX[k].block;
			CHECK_MSG(in, "block %llu of transaction %zu has no recorded head",
				  (unsigned long long)TX[k].block, k);
		}
	}
	/* Heads: consecutive, with the chain's own hashes. */
	for (int h = 0; h < nhead; h++) {
		char blk[16384], hex[67];
		json_t *j;

		if (h)
			CHECK_EQ_INT(heads[h], heads[h - 1] + 1);
		if (cast(blk, sizeof blk, "block %llu --json", (unsigned long long)heads[h]) == 0 &&
		    (j = json_loads(blk, 0, NULL))) {
			const char *bh = json_string_value(json_object_get(j, "hash"));
			hex[0] = '0';
			hex[1] = 'x';
			hex_encode(hex + 2, head_hash[h], 32);
			hex[66] = 0;
			CHECK_EQ_STR(hex, bh);
			json_decref(j);
		} else {
			CHECK(0);
		}
	}
	if (nhead)
		printf("    heads: blocks %llu..%llu; transactions mined in blocks %llu, %llu, "
		       "%llu, %llu\n", (unsigned long long)heads[0],
		       (unsigned long long)heads[nhead - 1], (unsigned long long)TX[0].block,
		       (unsigned long long)TX[1].block, (unsigned long long)TX[2].block,
		       (unsigned long long)TX[3].block);
out:
	replay_file_close(r);
	node_parse_release(&np);
	feed_parse_release(&fp);
	config_free(cfg);
}

int main(int argc, char **argv)
{
	char cfg[1024], interval[16], life[16];
	feedsrv_t fs = { -1, 0 };

	(void)argc;
	feedsrv_locate(argv[0]);
	if (!keeper_test_begin("test_record_anvil", 28, argv[0], "rec-anvil", NULL))
		return 1;
	cfg_path = tmp_file("rec.cfg");
	out_path = tmp_file("out.jsonl");
	feed_path = tmp_file("feed.jsonl");

	feed_len = feed_lines(feed_text, sizeof feed_text);
	snprintf(interval, sizeof interval, "%d", 20);
	snprintf(life, sizeof life, "%d", 30);
	if (!write_text(feed_path, feed_text))
		return setup_failed("feed file");
	{
		/* feedsrv_start forks it and waits for its port; its pid is
		 * tracked only then (until then its --lifetime bounds it). */
		const char *args[] = { "--file", feed_path, "--interval-ms", interval,
				       "--lifetime", life, NULL };
		if (feedsrv_start(&fs, args) == 0)
			track(fs.pid, false);
	}
	/* anvil mining a block every second */
	if (fs.pid <= 0 || anvil_up((const char *[]){ "--block-time", "1", NULL }) <= 0)
		return setup_failed("feedsrv or anvil did not start");
	snprintf(cfg, sizeof cfg,
		 "chain = { id = 31337; ws = \"ws://127.0.0.1:%d/\"; rpc = [ \"%s\" ]; };\n"
		 "feeds = ( { name = \"eth-usd\"; url = \"ws://127.0.0.1:%d/\"; "
		 "preset = \"trade\"; stale_after_ms = 60000; } );\n"
		 "log = { level = \"error\"; };\n", anvil_port, rpc_url, fs.port);
	if (!write_text(cfg_path, cfg))
		return setup_failed("config");
	RUN(test_record);
	RUN(test_read_back);
	untrack(fs.pid);
	feedsrv_stop(&fs);
	return e2e_done();
}
