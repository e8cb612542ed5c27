/*
 * cmd_record: `keeper record -c FILE -o EVENTS [--duration SECONDS]
 * [--append]`, the capture half of backtesting.  It connects like `run`
 * does (the price feeds, keeper/feeds.h, and the node's chain.ws,
 * keeper/node.h) and writes every frame it receives to EVENTS in the
 * replay format of interface.md, evaluating nothing, so that `keeper
 * replay` later feeds the very same bytes through the very same parsers.
 * The node gets no rpc client: logs a catch-up would fetch over HTTP are
 * not frames and could not be recorded anyway.
 *
 * One line per frame:  {"t":MS,"src":"NAME","raw":FRAME}
 *   t    arrival time, ms since the epoch (never decreasing within a run:
 *        a step back of the wall clock is flattened, replay wants order);
 *   src  the feed's name, or "node";
 *   raw  the frame itself, byte for byte, when it is one JSON object or
 *        array on one line (checked with jtok: strict RFC 8259 and UTF-8,
 *        the grammar keeper's parsers accept).  Any other frame (not JSON,
 *        a scalar, JSON spread over several lines, or too dense for the
 *        tokeniser) is recorded as a JSON string of its bytes: malformed
 *        frames are recorded too, since replay must see what live saw.
 *        A replay reader takes an object or array's text as the frame and
 *        a string's unescaped content as the frame.  Never a string for a
 *        valid frame's text and never verbatim otherwise, so the two cannot
 *        be confused.  Valid UTF-8 round-trips exactly through the string
 *        form; a byte that is not valid UTF-8 cannot be carried by a JSON
 *        string and is written as \u0000, which keeps the frame malformed
 *        in replay (a NUL is invalid anywhere in JSON), as it was live.
 *
 * Each line is built in one buffer allocated at start and written with
 * write(2) as a whole (retried only if the kernel takes part of it), so a
 * kill loses at most the line being written.  A frame longer than
 * RECORD_FRAME_MAX is not recorded but counted; ws already drops (and
 * counts) longer messages and binary ones, from the feeds and the node,
 * which live parsing never sees either.
 *
 * EVENTS is created with mode 0644 (less the umask).  If it exists, record
 * refuses to touch it (exit 1) unless --append is given: a forgotten -o of
 * yesterday's capture must not be lost.  With --append, a last line left
 * without its newline (a crash mid-write) is ended first, so new lines
 * stay whole.
 *
 * SIGINT and SIGTERM stop the loop (loop_stop is async-signal-safe), and
 * so does the end of --duration, counted from the command's start; then
 * the file is synced and closed and one summary line goes to stdout.  Exit
 * 0 after a clean stop, 1 when the output cannot be created or written or
 * the loop fails, 2 for bad usage or an invalid config.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keeper/cli.h"
#include "keeper/config.h"
#include "keeper/feeds.h"
#include "keeper/jtok.h"
#include "keeper/kerr.h"
#include "keeper/log.h"
#include "keeper/loop.h"
#include "keeper/node.h"
#include "keeper/node_parse.h"

/* The longest frame recorded: the larger ws limit of the feeds and the
 * node (record leaves both at their defaults). */
#define RECORD_FRAME_MAX (FEEDS_MAX_MESSAGE > NODE_PARSE_FRAME_DEFAULT ? \
			  FEEDS_MAX_MESSAGE : NODE_PARSE_FRAME_DEFAULT)
/* Escaping grows a byte to at most 6 ("\u0000"). */
#define RECORD_LINE_MAX (64 + 6 * (CONFIG_NAME_MAX + 2) + 6 * RECORD_FRAME_MAX + 8)
/* --duration: at most 30 days, like every ms setting of the config. */
#define RECORD_DURATION_MAX_S (30.0 * 86400.0)
/* Sources: every feed, plus the node and anything unexpected. */
#define RECORD_SRC_MAX (CONFIG_MAX_FEEDS + 2)

typedef struct {
	const char *name;
	uint64_t frames, too_long;
} rec_src_t;

typedef struct {
	loop_t *loop;
	int fd;
	const char *path;
	char *line;              /* RECORD_LINE_MAX bytes */
	jtok_doc_t doc;
	int64_t last_t;
	uint64_t frames, bytes;
	rec_src_t src[RECORD_SRC_MAX];
	size_t nsrc;
	int write_errno;         /* non-zero: writing failed, loop stopped */
} recorder_t;

static loop_t *sig_loop;
static volatile sig_atomic_t sig_got;

static void on_signal(int sig)
{
	sig_got = sig;
	if (sig_loop)
		loop_stop(sig_loop);
}

/* ---- JSON text */

/* Length of the valid UTF-8 sequence at s[0..n) (s[0] >= 0x80), 0 when it
 * is not one (overlong forms, surrogates and code points past U+10FFFF
 * are not). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Writes s[0..n) as a JSON string (with quotes) at out, which has room for
 * 6 n + 2 bytes; returns the bytes written. */
static size_t put_string(char *out, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	char *o = out;
	size_t i = 0;

	*o++ = '"';
	while (i < n) {
		unsigned char c = s[i];
		size_t k;

		if (c >= 0x80) {
			if ((k = utf8_len(s + i, n - i))) {
				memcpy(o, s + i, k);
				o += k;
				i += k;
			} else {
				memcpy(o, "\\u0000", 6);
				o += 6;
				i++;
			}
			continue;
		}
		i++;
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c >= 0x20) {
			*o++ = (char)c;
		} else if (c == '\n') {
			memcpy(o, "\\n", 2);
			o += 2;
		} else if (c == '\r') {
			memcpy(o, "\\r", 2);
			o += 2;
		} else if (c == '\t') {
			memcpy(o, "\\t", 2);
			o += 2;
		} else {
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			o += 6;
		}
	}
	*o++ = '"';
	return (size_t)(o - out);
}

/* true when the frame can stand in the line as itself (see the top). */
static bool verbatim(recorder_t *r, const char *frame, size_t len)
{
	jtok_type_t t;

	if (memchr(frame, '\n', len) || memchr(frame, '\r', len))
		return false;
	if (jtok_parse(&r->doc, frame, len) != KERR_OK)
		return false;
	t = jtok_type(&r->doc, 0);
	return t == JTOK_OBJECT || t == JTOK_ARRAY;
}

/* ---- output */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static rec_src_t *source(recorder_t *r, const char *name)
{
	for (size_t i = 0; i < r->nsrc; i++)
		if (r->src[i].name == name || !strcmp(r->src[i].name, name))
			return &r->src[i];
	/* Not a configured name: the last slot collects them. */
	return &r->src[RECORD_SRC_MAX - 1];
}

static void add_source(recorder_t *r, const char *name)
{
	if (r->nsrc < RECORD_SRC_MAX - 1)
		r->src[r->nsrc++].name = name;
}

static void on_frame(void *ctx, const char *src, const char *frame, size_t len,
		     int64_t wall_ms)
{
	recorder_t *r = ctx;
	rec_src_t *s = source(r, src);
	size_t slen = strlen(src), n;
	int e;

	if (r->write_errno)
		return;
	if (len > RECORD_FRAME_MAX || slen > CONFIG_NAME_MAX) {
		s->too_long++;
		return;
	}
	if (wall_ms < r->last_t)
		wall_ms = r->last_t;
	r->last_t = wall_ms;
	n = (size_t)snprintf(r->line, 64, "{\"t\":%lld,\"src\":", (long long)wall_ms);
	n += put_string(r->line + n, src, slen);
	memcpy(r->line + n, ",\"raw\":", 7);
	n += 7;
	if (verbatim(r, frame, len)) {
		memcpy(r->line + n, frame, len);
		n += len;
	} else {
		n += put_string(r->line + n, frame, len);
	}
	memcpy(r->line + n, "}\n", 2);
	n += 2;
	if ((e = write_all(r->fd, r->line, n))) {
		r->write_errno = e;
		log_error("record", "%s: write failed: %s; stopping", r->path,
			  strerror(e));
		loop_stop(r->loop);
		return;
	}
	s->frames++;
	r->frames++;
	r->bytes += n;
}

/* record evaluates nothing: the events the producers derive are dropped. */
static void on_event(void *ctx, const event_t *ev)
{
	(void)ctx;
	(void)ev;
}

static void on_duration(loop_t *loop, void *arg)
{
	(void)arg;
	loop_stop(loop);
}

/*
 * Opens the output: a new file, or with append an existing one (whose
 * unfinished last line is ended).  Returns the fd, or -1 after printing why.
 */
static int open_output(const char *path, bool append)
{
	struct stat st;
	int fd;

	if (!append) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno == EEXIST)
			fprintf(stderr, "keeper: %s exists; record does not overwrite: "
				"remove it, choose another -o, or give --append\n", path);
		else if (fd < 0)
			fprintf(stderr, "keeper: cannot create %s: %s\n", path,
				strerror(errno));
		return fd;
	}
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "keeper: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		char last;

		if (pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n' &&
		    write_all(fd, "\n", 1)) {
			fprintf(stderr, "keeper: cannot write %s: %s\n", path,
				strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* "2.5" seconds -> ms; -1 for anything but a number in (0, 30 days]. */
static int64_t parse_duration(const char *s)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(d) || d <= 0 ||
	    d > RECORD_DURATION_MAX_S)
		return -1;
	d = ceil(d * 1000.0);
	return (int64_t)d;
}

static const struct option record_longopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "output", required_argument, NULL, 'o' },
	{ "duration", required_argument, NULL, 'd' },
	{ "append", no_argument, NULL, 'a' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The summary line: time, totals, then per source what was recorded and
 * what was not. */
static void print_summary(const recorder_t *r, feeds_t *feeds,
			  const node_t *node, int64_t ms, const char *why)
{
	const char *sep = "";

	printf("keeper record: %lld.%03lld s, %llu frames, %llu bytes -> %s; ",
	       (long long)(ms / 1000), (long long)(ms % 1000),
	       (unsigned long long)r->frames, (unsigned long long)r->bytes, r->path);
	for (size_t i = 0; i < RECORD_SRC_MAX; i++) {
		const rec_src_t *s = &r->src[i];
		bool other = i == RECORD_SRC_MAX - 1;
		uint64_t dropped = s->too_long, binary = 0;
		feeds_stats_t st;

		if ((i >= r->nsrc && !other) || (other && !s->frames && !s->too_long))
			continue;
		if (i < feeds_count(feeds) && feeds_stats(feeds, i, &st) == KERR_OK) {
			dropped += st.oversized;
			binary = st.binary;
		} else if (i == feeds_count(feeds)) {
			node_stats_t ns;

			/* ws counts binary frames and node's refusals as
			 * malformed together; node's are known. */
			node_stats(node, &ns);
			dropped += ns.ws.oversized;
			if (ns.ws.malformed > ns.malformed)
				binary = ns.ws.malformed - ns.malformed;
		}
		printf("%s%s %llu", sep, other ? "(other)" : s->name,
		       (unsigned long long)s->frames);
		if (dropped || binary)
			printf(" (not recorded: %llu oversized, %llu binary)",
			       (unsigned long long)dropped, (unsigned long long)binary);
		sep = ", ";
	}
	printf("; %s\n", why);
	fflush(stdout);
}

int cmd_record(int argc, char **argv)
{
	const char *cfg_path = NULL, *out_path = NULL, *why;
	bool append = false;
	int64_t duration_ms = 0, t0, t_cmd = cli_mono_ms();
	config_keeper_t *cfg = NULL;
	recorder_t rec;
	feeds_t *feeds = NULL;
	node_t *node = NULL;
	loop_timer_t dur_t;
	struct sigaction sa, old_int, old_term, old_pipe;
	int c, status = CLI_EXIT_FAIL;
	kerr_t err;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":c:o:h", record_longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfg_path = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'd':
			if ((duration_ms = parse_duration(optarg)) < 0)
				return cli_usage_error("record", "--duration: not a number "
						       "of seconds in (0, 2592000]: %s",
						       optarg);
			break;
		case 'a':
			append = true;
			break;
		case 'h':
			fputs(cli_help_text("record"), stdout);
			return CLI_EXIT_OK;
		default:
			return cli_option_error("record", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("record", "unexpected argument: %s", argv[optind]);
	if (!cfg_path)
		return cli_usage_error("record", "missing -c FILE");
	if (!out_path)
		return cli_usage_error("record", "missing -o EVENTS");

	if ((err = config_load_report(cfg_path, &cfg, stderr)))
		return err == KERR_NOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
	log_setup(cfg->log_level, cfg->log_format);

	memset(&rec, 0, sizeof rec);
	rec.fd = -1;
	rec.path = out_path;
	rec.line = malloc(RECORD_LINE_MAX);
	if (!rec.line || jtok_doc_alloc(&rec.doc, RECORD_FRAME_MAX / 8)) {
		fprintf(stderr, "keeper: %s\n", kerr_str(KERR_NOMEM));
		goto done;
	}
	for (size_t i = 0; i < cfg->nfeeds; i++)
		add_source(&rec, cfg->feeds[i].name);
	add_source(&rec, "node");   /* source nfeeds, for the summary */

	if ((err = loop_create(NULL, &rec.loop))) {
		fprintf(stderr, "keeper: cannot start the event loop: %s\n",
			kerr_str(err));
		goto done;
	}
	/* config_load requires chain.ws, so there is always a node. */
	if ((err = feeds_new(rec.loop, cfg, on_event, on_frame, &rec, &feeds)) ||
	    (err = node_new(rec.loop, cfg, NULL, on_event, on_frame, &rec, &node))) {
		fprintf(stderr, "keeper: %s\n", kerr_str(err));
		goto done;
	}
	if ((rec.fd = open_output(out_path, append)) < 0)
		goto done;

	sig_got = 0;
	sig_loop = rec.loop;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);

	/* --duration counts from the command's start: setting up the loop
	 * (loading the CA store) takes a noticeable part of a second, and a
	 * script that gives record S seconds expects it back after S. */
	loop_timer_init(&dur_t, rec.loop, on_duration, NULL);
	t0 = cli_mono_ms();
	if (duration_ms)
		loop_timer_arm_ms(&dur_t, duration_ms - (t0 - t_cmd));
	if ((err = feeds_start(feeds))) {
		fprintf(stderr, "keeper: cannot start the feeds: %s\n", kerr_str(err));
	} else if ((err = node_start(node))) {
		fprintf(stderr, "keeper: cannot connect to the node %s: %s\n",
			cfg->chain.ws, kerr_str(err));
	} else {
		log_info("record", "recording the node and %zu feeds to %s",
			 cfg->nfeeds, out_path);
		err = loop_run(rec.loop);
		if (err)
			fprintf(stderr, "keeper: the event loop failed: %s\n",
				kerr_str(err));
	}
	loop_timer_cancel(&dur_t);

	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	sig_loop = NULL;

	if (rec.write_errno)
		why = "stopped: write failed";
	else if (err)
		why = "stopped: error";
	else if (sig_got == SIGINT)
		why = "stopped by SIGINT";
	else if (sig_got == SIGTERM)
		why = "stopped by SIGTERM";
	else
		why = "stopped after --duration";
	if (fdatasync(rec.fd) && errno != EINVAL && errno != EROFS && !rec.write_errno)
		rec.write_errno = errno;
	if (close(rec.fd) && !rec.write_errno)
		rec.write_errno = errno;
	rec.fd = -1;
	print_summary(&rec, feeds, node, cli_mono_ms() - t0, why);
	if (rec.write_errno)
		fprintf(stderr, "keeper: %s: %s\n", out_path, strerror(rec.write_errno));
	else if (!err)
		status = CLI_EXIT_OK;
done:
	if (rec.fd >= 0)
		close(rec.fd);
	feeds_free(feeds);
	node_free(node);
	loop_destroy(rec.loop);
	free(rec.line);
	jtok_doc_free(&rec.doc);
	config_free(cfg);
	return status;
}
