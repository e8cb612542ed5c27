/*
 * bench_parse: what turning a node's full pending-transaction frame into an
 * event costs, beside the cost of only tokenising the same frames, and the
 * two libraries the architecture named as candidates (jsmn tokens, jansson
 * documents), all in the same run on the same recorded anvil frames
 * (tests/fixtures/frames/anvil-*.jsonl).  Target: >= 200,000 frames/s on
 * one core, and no heap allocation per frame.
 *
 * Allocation is counted, not assumed: this program defines malloc, calloc
 * and realloc itself (the executable's definitions interpose on every
 * library's calls, jansson's included) and counts each call around the
 * measured loops.  Under AddressSanitizer, which must own the allocator,
 * the count is skipped and says so.
 *
 * Each method runs in alternating rounds and the median round is kept, so a
 * burst of load on the machine hits all of them alike.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keeper/node_parse.h"
#include "tests/bench_util.h"

#if defined(__has_include)
#if __has_include(<jsmn.h>)
#define HAVE_JSMN 1
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>
#endif
#endif

#define ROUNDS 15
#define ITERS 20000
#define MAX_FRAMES 16


static const char *frame[MAX_FRAMES];
static size_t frame_len[MAX_FRAMES];
static size_t nframes;

/* Keep every full pending-transaction frame of a recorded file. */
static int load(node_parser_t *p, const char *path)
{
	FILE *f = fopen(path, "rb");
	static char line[1 << 16];

	if (!f) {
		fprintf(stderr, "bench_parse: cannot open %s (run from the repository root)\n", path);
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		size_t len = strcspn(line, "\n");
		node_frame_t fr;
		event_t ev;
		char *copy;
		if (node_parse_frame(p, line, len, &fr, &ev) != KERR_OK ||
		    fr.kind != NODE_FRAME_EVENT || ev.kind != EV_PENDING_TX || !ev.tx.full ||
		    nframes == MAX_FRAMES)
			continue;
		copy = malloc(len);
		memcpy(copy, line, len);
		frame[nframes] = copy;
		frame_len[nframes++] = len;
	}
	fclose(f);
	return 0;
}

enum { M_FULL, M_TOKENS, M_JSMN, M_JANSSON, M_BIG, NMETHODS };

int main(void)
{
	static double t[NMETHODS][ROUNDS];
	static jtok_t toks[4096];
#ifdef HAVE_JSMN
	static jsmntok_t jtoks[1024];
#endif
	unsigned long allocs[NMETHODS] = { 0 }, runs[NMETHODS] = { 0 };
	node_parser_t p;
	jtok_doc_t doc;
	size_t total = 0, big = 0;
	unsigned long sink = 0;

	if (node_parse_init(&p, 0) != KERR_OK)
		return 1;
	if (load(&p, "tests/fixtures/frames/anvil-stream.jsonl") ||
	    load(&p, "tests/fixtures/frames/anvil-berlin.jsonl") || nframes == 0)
		return 1;
	for (size_t i = 0; i < nframes; i++) {
		total += frame_len[i];
		if (frame_len[i] > frame_len[big])
			big = i;
	}
	jtok_init(&doc, toks, sizeof toks / sizeof *toks);

	for (int r = 0; r < ROUNDS; r++) {
		for (int m = 0; m < NMETHODS; m++) {
			unsigned long a0 = n_alloc;
			double t0 = now_ns();
			int iters = m == M_JANSSON ? ITERS / 4 : ITERS;
			for (int i = 0; i < iters; i++) {
				size_t k = m == M_BIG ? big : (size_t)i % nframes;
				switch (m) {
				case M_FULL:
				case M_BIG: {
					node_frame_t fr;
					event_t ev;
					if (node_parse_frame(&p, frame[k], frame_len[k], &fr, &ev) != KERR_OK)
						return 1;
					sink += ev.tx.nonce + ev.tx.hash[0];
					break;
				}
				case M_TOKENS:
					if (jtok_parse(&doc, frame[k], frame_len[k]) != KERR_OK)
						return 1;
					sink += doc.n;
					break;
				case M_JSMN: {
#ifdef HAVE_JSMN
					jsmn_parser jp;
					int n;
					jsmn_init(&jp);
					n = jsmn_parse(&jp, frame[k], frame_len[k], jtoks,
						       sizeof jtoks / sizeof *jtoks);
					if (n <= 0)
						return 1;
					sink += (unsigned long)n;
#endif
					break;
				}
				case M_JANSSON: {
					json_error_t err;
					json_t *j = json_loadb(frame[k], frame_len[k], 0, &err);
					if (!j)
						return 1;
					sink += json_object_size(j);
					json_decref(j);
					break;
				}
				}
			}
			t[m][r] = (now_ns() - t0) / iters;
			allocs[m] += n_alloc - a0;
			runs[m] += (unsigned long)iters;
		}
	}
	for (int m = 0; m < NMETHODS; m++)
		qsort(t[m], ROUNDS, sizeof t[m][0], cmp_double);
	{
		double full = t[M_FULL][ROUNDS / 2], fps = 1e9 / full;
		double kib = (double)total / nframes / 1024;
		printf("parse pending-tx frame -> event: %9.0f frames/s, %6.0f ns/frame "
		       "(%.2f KiB frames, %zu recorded anvil txs)\n", fps, full, kib, nframes);
		printf("  largest of them only:          %9.0f frames/s, %6.0f ns/frame (%.2f KiB)\n",
		       1e9 / t[M_BIG][ROUNDS / 2], t[M_BIG][ROUNDS / 2],
		       (double)frame_len[big] / 1024);
		printf("tokenise only (jtok_parse):      %9.0f frames/s, %6.0f ns/frame\n",
		       1e9 / t[M_TOKENS][ROUNDS / 2], t[M_TOKENS][ROUNDS / 2]);
#ifdef HAVE_JSMN
		printf("jsmn 1.1 tokenise (comparison):  %9.0f frames/s, %6.0f ns/frame "
		       "(JSMN_STRICT, parent links; validates less)\n",
		       1e9 / t[M_JSMN][ROUNDS / 2], t[M_JSMN][ROUNDS / 2]);
#else
		printf("jsmn 1.1 tokenise (comparison):  not measured: <jsmn.h> not installed "
		       "(Debian libjsmn-dev)\n");
#endif
		printf("jansson json_loadb (comparison): %9.0f frames/s, %6.0f ns/frame",
		       1e9 / t[M_JANSSON][ROUNDS / 2], t[M_JANSSON][ROUNDS / 2]);
		if (COUNT_ALLOCS)
			printf(", %.1f heap allocations/frame\n",
			       (double)allocs[M_JANSSON] / runs[M_JANSSON]);
		else
			printf("\n");
		if (COUNT_ALLOCS)
			printf("heap allocations per frame: %lu (%lu in %lu parses, %lu in %lu "
			       "tokenisations)\n",
			       (allocs[M_FULL] + allocs[M_BIG] + allocs[M_TOKENS]) /
			       (runs[M_FULL] + runs[M_BIG] + runs[M_TOKENS]),
			       allocs[M_FULL] + allocs[M_BIG], runs[M_FULL] + runs[M_BIG],
			       allocs[M_TOKENS], runs[M_TOKENS]);
		else
			printf("heap allocations per frame: not counted under AddressSanitizer\n");
		printf("target >= 200000 frames/s: %s   [median of %d rounds x %d; sink %lu]\n",
		       !COUNT_ALLOCS ? "not judged in a sanitizer build" :
		       fps >= 200000 ? "met" : "MISSED", ROUNDS, ITERS, sink & 1);
		if (COUNT_ALLOCS && allocs[M_FULL] + allocs[M_BIG] + allocs[M_TOKENS] != 0)
			printf("target: no heap allocation per frame: MISSED\n");
	}
	node_parse_release(&p);
	for (size_t i = 0; i < nframes; i++)
		free((void *)frame[i]);
	return 0;
}
