/*
 * replay_file: a bounded reader of replay files (interface.md, "Replay
 * events (JSON Lines)"), the input side of `keeper replay`.  It turns each
 * line into one event record, {t, src, raw frame or price}, or into a
 * named fault of that line, and never stops at a bad line: a replay over a
 * day of capture must not die on one damaged line, and must say how many
 * it skipped and why.
 *
 * Memory.  Everything is allocated by replay_file_open(): the line buffer,
 * the scratch buffer for string frames and jtok's token array.  Reading
 * allocates nothing.  The views a line yields point into those buffers and
 * are valid until the next replay_file_next() or replay_file_close().
 *
 * Lines.  A line ends at "\n"; one "\r" before it is dropped (CRLF files).
 * A line longer than max_line bytes (terminator excluded) is not held in
 * memory: its bytes are skipped up to the next "\n", it is reported as
 * REPLAY_E_TOO_LONG and reading goes on with the next line.  The last line
 * may lack its "\n": a hand-written file often ends so, and the line is read
 * like any other.  A line cut by a crash (record writes each line with one
 * write(2), so `kill -9` can leave at most the last one unfinished, and
 * `record --append` ends such a line before adding new ones) is a JSON
 * text that stops inside a value: it is REPLAY_E_CUT wherever it stands,
 * so a reader can tell crash damage from other faults.
 *
 * Rules for a line (each fault is a replay_err_t; the first found wins, in
 * the order of the enum):
 *   - one JSON object (strict RFC 8259 and UTF-8: jtok's grammar) with
 *     exactly the keys t, src and one of raw / price, each once (keys are
 *     compared after unescaping, as jtok does).  Any other key is refused:
 *     the format is a contract between record/import and replay, and a key
 *     nobody reads is a misspelling or a file from another version, whose
 *     meaning would be silently lost.
 *   - t: a JSON number that is an integer in [0, 2^63) (no fraction, no
 *     exponent, not a string): ms since the epoch.  Lines are in time order,
 *     so a t below that of the last good line is REPLAY_E_T_BACKWARDS and
 *     the line is skipped; equal times are fine.  The last good line's t
 *     stays the reference, so the good lines' times never decrease.
 *   - src: a string of 1..REPLAY_FILE_SRC_MAX bytes after unescaping (a
 *     feed name from the config, or "node").  Which names exist is the
 *     caller's business.
 *   - raw, an object or array: the frame is its exact text in the line,
 *     from its opening to its closing bracket (record writes such frames
 *     byte for byte).  raw, a string: the frame is the string's unescaped
 *     content (a view of the line when it has no escapes, else unescaped
 *     into the reader's scratch buffer; record writes
 *     every frame that is not one JSON object or array on one line so; a
 *     \u0000 there stands for a byte that was not UTF-8 and becomes a NUL
 *     byte, which keeps the frame malformed for the parsers, as it was
 *     live).  Any other JSON type is REPLAY_E_RAW_TYPE.  A frame over
 *     max_frame bytes is REPLAY_E_FRAME_TOO_LONG: live, ws drops such
 *     messages before any parser sees them.  The reader does not parse the
 *     frame; replay hands it to node_parse or feed_parse, as live does.
 *   - price: a JSON number (not a string: `import` writes numbers), finite
 *     and > 0: an already normalised tick.
 *   A line that is empty or only whitespace is REPLAY_E_BLANK.
 *
 * The canonical price line.  Most of a backtest's lines are the ones
 * `keeper import` writes, {"t":DIGITS,"src":"NAME","price":NUMBER} with no
 * space, a plain ASCII name without escapes and a price of plain decimal
 * digits.  Such a line is read by a direct scan instead of the tokeniser
 * (about a quarter of the time a line), and only when every rule above certainly
 * holds and the value is exact: t of 1..18 digits, the price of at most 19
 * significant digits and 22 decimals whose digits fit in 2^53, converted
 * as digits / 10^decimals (both exact in a double, so the one rounding of
 * the division is the correctly rounded value strtod gives).  Anything
 * else, including a time going backwards, goes to the full rules, so no
 * line is judged or valued differently (tests/test_replay_file checks
 * both paths on the same lines, near misses included).
 *
 * Not thread-safe; one reader per file.
 */
#ifndef KEEPER_REPLAY_FILE_H
#define KEEPER_REPLAY_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keeper/config.h"
#include "keeper/jtok.h"
#include "keeper/kerr.h"

/* The frame limit of the live parsers (node_parse and feed_parse
 * defaults): a replayed frame can be no longer than a live one. */
#define REPLAY_FILE_FRAME_DEFAULT ((size_t)1 << 20)
#define REPLAY_FILE_FRAME_HARD ((size_t)16 << 20)
/* Room in a line for everything but the frame: {"t":…,"src":…,"raw":…}
 * with a src escaped at 6 bytes per byte, and a price's number text. */
#define REPLAY_FILE_ENVELOPE ((size_t)4096)
/*
 * The default line limit for frames of f bytes: record writes a frame that
 * is not one JSON object or array as a JSON string, where a control byte or
 * a byte that is not UTF-8 takes 6 bytes ("\u0000"), so a line of record
 * can reach 6 f plus the envelope.  With the 1 MiB default that is a
 * 6 MiB buffer, allocated once, so that every line record can write is
 * read back.
 */
#define REPLAY_FILE_LINE_FOR(f) (6 * (f) + REPLAY_FILE_ENVELOPE)
/* Largest max_line accepted (jtok offsets are 32-bit; far below that). */
#define REPLAY_FILE_LINE_HARD REPLAY_FILE_LINE_FOR(REPLAY_FILE_FRAME_HARD)
/* Smallest max_line accepted: a line of any use is longer. */
#define REPLAY_FILE_LINE_MIN ((size_t)64)
/* Longest src, in bytes after unescaping: a config name. */
#define REPLAY_FILE_SRC_MAX CONFIG_NAME_MAX

/* What is wrong with a line.  0 is a good line. */
typedef enum {
	REPLAY_OK = 0,
	REPLAY_E_TOO_LONG,        /* over max_line bytes; skipped unread */
	REPLAY_E_BLANK,           /* empty, or only whitespace */
	REPLAY_E_CUT,             /* JSON that stops inside a value: a line a
				     crash cut (jtok's KERR_TRUNCATED) */
	REPLAY_E_JSON,            /* not one valid JSON value (malformed, not
				     UTF-8, too deep or too many tokens) */
	REPLAY_E_NOT_OBJECT,      /* valid JSON, but not an object */
	REPLAY_E_UNKNOWN_KEY,     /* a key other than t, src, raw, price */
	REPLAY_E_DUP_KEY,         /* t, src, raw or price twice */
	REPLAY_E_T_MISSING,
	REPLAY_E_T_TYPE,          /* t not an integer number in [0, 2^63) */
	REPLAY_E_SRC_MISSING,
	REPLAY_E_SRC_TYPE,        /* src not a string of 1..SRC_MAX bytes */
	REPLAY_E_NO_PAYLOAD,      /* neither raw nor price */
	REPLAY_E_BOTH,            /* raw and price both */
	REPLAY_E_RAW_TYPE,        /* raw a number, true, false or null */
	REPLAY_E_FRAME_TOO_LONG,  /* the frame is over max_frame bytes */
	REPLAY_E_PRICE,           /* price not a finite number > 0 */
	REPLAY_E_T_BACKWARDS,     /* t below the last good line's */
	REPLAY_E_COUNT
} replay_err_t;

typedef enum {
	REPLAY_RAW = 1,   /* a frame for node_parse / feed_parse */
	REPLAY_PRICE,     /* a normalised tick */
} replay_kind_t;

/* One line as read.  Views valid until the next call on the reader. */
typedef struct {
	uint64_t line;       /* 1-based line number in the file */
	replay_err_t err;    /* REPLAY_OK, or the line's fault */
	kerr_t why;          /* for a fault: the code of the check that
				failed (jtok's, the number reader's), or
				KERR_OK when the rule itself is the reason */
	size_t err_pos;      /* JSON faults: byte offset in the line */
	/* Valid when err is REPLAY_OK (and t also for T_BACKWARDS): */
	int64_t t;           /* ms since the epoch */
	jtok_view_t src;     /* not NUL-terminated */
	replay_kind_t kind;
	jtok_view_t frame;   /* RAW: the frame's bytes */
	bool raw_string;     /* RAW: raw was a JSON string (when recorded,
				the frame was not one JSON object or array
				on one line) */
	double price;        /* PRICE */
	/* RAW with an object or array frame: the line's tokens and the
	 * frame's token in them (node_parse_doc reads the frame without
	 * tokenising it again); doc NULL and frame_tok JTOK_NONE otherwise. */
	const jtok_doc_t *doc;
	size_t frame_tok;
} replay_line_t;

typedef struct {
	uint64_t lines;                /* lines read, good and bad */
	uint64_t ok;                   /* good lines */
	uint64_t raw, price;           /* good lines by kind */
	uint64_t errors;               /* bad lines */
	uint64_t err[REPLAY_E_COUNT];  /* bad lines by fault (err[0] unused) */
	uint64_t bytes;                /* bytes read from the file */
	int64_t first_t, last_t;       /* t of the first and last good line;
					  -1 before any */
	uint64_t fast;                 /* good lines read as canonical price
					  lines (see above) */
} replay_file_stats_t;

typedef struct {
	size_t max_frame;   /* 0: REPLAY_FILE_FRAME_DEFAULT; at most _HARD */
	size_t max_line;    /* 0: REPLAY_FILE_LINE_FOR(max_frame);
			       REPLAY_FILE_LINE_MIN.._LINE_HARD */
	bool no_fast;       /* every line through the full rules (to check
			       the canonical path against them) */
} replay_file_opts_t;

typedef struct replay_file replay_file_t;

/*
 * Open path for reading (opts NULL: the defaults).  KERR_ARG for limits out
 * of range, KERR_IO when the file cannot be opened (errno is left as
 * open(2) set it), KERR_NOMEM.
 */
kerr_t replay_file_open(replay_file_t **out, const char *path,
			const replay_file_opts_t *opts);

/* The same over an open descriptor (a pipe, stdin), read from its current
 * position; it stays the caller's: replay_file_close() does not close it. */
kerr_t replay_file_open_fd(replay_file_t **out, int fd,
			   const replay_file_opts_t *opts);

/*
 * Read the next line into *out.  KERR_OK: *out is a line, good
 * (out->err == REPLAY_OK) or bad (counted; go on reading).
 * KERR_NOT_FOUND: there is no next line (end of file).  KERR_IO: read(2)
 * failed (replay_file_errno() says why); calling again retries.
 */
kerr_t replay_file_next(replay_file_t *r, replay_line_t *out);

/* The counters so far. */
void replay_file_stats(const replay_file_t *r, replay_file_stats_t *out);

/* errno of the last failed read, 0 if none. */
int replay_file_errno(const replay_file_t *r);

/* Release everything (and close the file if it was opened by path).
 * NULL is fine. */
void replay_file_close(replay_file_t *r);

/* "too_long", "blank", "cut", "json", "not_object", "unknown_key",
 * "dup_key", "t_missing", "t_type", "src_missing", "src_type",
 * "no_payload", "both", "raw_type", "frame_too_long", "price",
 * "t_backwards"; "ok" for REPLAY_OK, "unknown" otherwise.  For metrics. */
const char *replay_file_err_name(replay_err_t e);

/* The fault in words, for a log line "FILE:LINE: <text>". */
const char *replay_file_err_str(replay_err_t e);

#endif
