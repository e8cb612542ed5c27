/*
 * bench_outflow: what one outflow event costs the detector (feed the
 * Transfer log, including decoding its data, then evaluate the asset), with
 * 10 and with 1,000,000 transfers in the window.  The architecture asks for
 * O(1) amortised detectors, so the two figures should be about equal: the
 * floor is a ratio <= 1.25, each figure < 1,000 ns (as for the price
 * detectors in bench_detect), and no heap allocation per event.  What a
 * large window can cost is memory traffic (det_outflow.c says which and
 * how it is avoided); part of that relies on huge pages for the index, so
 * the system's transparent huge page setting is printed beside the ratio.
 *
 * Both detectors' windows are filled first (one transfer per ms, window_ms =
 * the wanted count); then rounds of MEASURE further events alternate
 * between them, each event also pushing the oldest transfer out, so the
 * windows stay full; each figure is the median of its ROUNDS rounds, which
 * a change in the machine's load hits alike.  Allocation is counted by
 * interposing malloc/calloc/realloc as bench_parse does (skipped under
 * AddressSanitizer, which owns the allocator).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keeper/det_outflow.h"
#include "tests/bench_util.h"

#define ROUNDS 21
#define MEASURE 100000
#define RATIO_FLOOR 1.25
#define NS_FLOOR 1000.0


static addr_t mkaddr(uint8_t tag)
{
	addr_t a;
	memset(a.b, 0, sizeof a.b);
	a.b[0] = 0xb0;
	a.b[19] = tag;
	return a;
}

static char data_text[67];
static event_log_t tmpl;

static void setup_log(const addr_t *watch, const addr_t *token)
{
	memset(&tmpl, 0, sizeof tmpl);
	tmpl.address = *token;
	tmpl.ntopics = 3;
	memcpy(tmpl.topics[0], det_outflow_transfer_topic, 32);
	memcpy(tmpl.topics[1] + 12, watch->b, 20);
	tmpl.topics[2][31] = 0x42;
	/* 1,000,000 units as a 32-byte word */
	snprintf(data_text, sizeof data_text, "0x%064x", 1000000u);
	tmpl.data.p = data_text;
	tmpl.data.len = 66;
}

/* One event: log i at time t, then the verdict.  Returns 0 on success. */
static int one(det_outflow_t *d, uint64_t i, int64_t t, unsigned long *sink)
{
	det_outflow_outcome_t oc;
	det_outflow_result_t r;
	tmpl.block_number = i / 16;
	tmpl.log_index = i % 16;
	memcpy(tmpl.tx_hash, &i, sizeof i);
	if (det_outflow_feed_log(d, &tmpl, t, &oc, NULL) != KERR_OK ||
	    oc != DET_OUTFLOW_COUNTED)
		return -1;
	if (det_outflow_eval(d, 1, &r) != KERR_OK)
		return -1;
	*sink += r.tripped + (unsigned long)r.outflow.w[0];
	return 0;
}

/* A detector with `inwin` transfers in its window, and the next event. */
typedef struct {
	det_outflow_t d;
	uint64_t inwin, i;
} bench_t;

static unsigned long sink;

/* Initialise and fill the window (one transfer per ms). */
static int bench_open(bench_t *b, uint64_t inwin)
{
	addr_t watch = mkaddr(1), token = mkaddr(2);
	det_outflow_cfg_t c;
	u256_t bal;

	memset(&c, 0, sizeof c);
	c.watch = watch;
	c.tokens = &token;
	c.ntokens = 1;
	c.window_ms = inwin;
	c.threshold_pct = 100;
	c.min_block_ms = inwin > 1000 ? inwin / 1000 : 1;
	/* the bucket-aligned window may hold up to one bucket more */
	c.max_logs = (size_t)(inwin + inwin / 128 + 16);
	if (det_outflow_init(&b->d, &c) != KERR_OK)
		return -1;
	b->inwin = inwin;
	setup_log(&watch, &token);
	u256_from_dec(&bal, "1000000000000000000000000000000", 31);
	if (det_outflow_feed_balance(&b->d, 1, 0, 0, &bal, NULL) != KERR_OK)
		return -1;
	for (b->i = 0; b->i < inwin; b->i++)
		if (one(&b->d, b->i, (int64_t)b->i, &sink))
			return -1;
	return 0;
}

/* One round of MEASURE events: ns per event; *allocs gets the allocations
 * made meanwhile. */
static int bench_round(bench_t *b, double *ns, unsigned long *allocs)
{
	unsigned long a0 = n_alloc;
	double t0 = now_ns();

	for (uint64_t k = 0; k < MEASURE; k++, b->i++)
		if (one(&b->d, b->i, (int64_t)b->i, &sink))
			return -1;
	*ns = (now_ns() - t0) / MEASURE;
	*allocs = n_alloc - a0;
	return 0;
}

/* How many transfers the window holds at the end (each is 1e6 units, so
 * the window's sum says); -1 when some were forgotten. */
static int bench_close(bench_t *b, uint64_t *held)
{
	det_outflow_result_t r;
	int bad = det_outflow_eval(&b->d, 1, &r) != KERR_OK ||
		  det_outflow_stats(&b->d)->logs_forgotten != 0;

	*held = r.outflow.w[0] / 1000000;
	det_outflow_release(&b->d);
	return bad ? -1 : 0;
}

/* The kernel's transparent huge page mode, e.g. "always [madvise] never". */
static void thp_mode(char *out, size_t cap)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	snprintf(out, cap, "not available");
	if (f) {
		if (fgets(out, (int)cap, f))
			out[strcspn(out, "\n")] = '\0';
		fclose(f);
	}
}

int main(void)
{
	static const uint64_t sizes[2] = { 10, 1000000 };
	static bench_t b[2];
	double t[2][ROUNDS];
	unsigned long allocs = 0;
	uint64_t held[2] = { 0, 0 };
	char thp[128];
	double ratio;

	for (int s = 0; s < 2; s++) {
		if (bench_open(&b[s], sizes[s]) != 0) {
			fprintf(stderr, "bench_outflow: filling the window failed\n");
			return 1;
		}
	}
	for (int r = 0; r < ROUNDS; r++) {
		for (int s = 0; s < 2; s++) {
			unsigned long a;
			if (bench_round(&b[s], &t[s][r], &a) != 0) {
				fprintf(stderr, "bench_outflow: an event failed\n");
				return 1;
			}
			allocs += a;
		}
	}
	for (int s = 0; s < 2; s++) {
		if (bench_close(&b[s], &held[s]) != 0) {
			fprintf(stderr, "bench_outflow: transfers were forgotten\n");
			return 1;
		}
	}
	for (int s = 0; s < 2; s++)
		qsort(t[s], ROUNDS, sizeof t[s][0], cmp_double);
	thp_mode(thp, sizeof thp);
	for (int s = 0; s < 2; s++)
		printf("outflow event (feed Transfer log + eval), %7llu in window "
		       "(%llu held incl. bucket slack): %6.0f ns/event   floor < %.0f: %s\n",
		       (unsigned long long)sizes[s], (unsigned long long)held[s],
		       t[s][ROUNDS / 2], NS_FLOOR, t[s][ROUNDS / 2] < NS_FLOOR ? "met" : "MISSED");
	ratio = t[1][ROUNDS / 2] / t[0][ROUNDS / 2];
	printf("ratio 1,000,000 vs 10 in window: %.2f   floor <= %.2f: %s   "
	       "[median of %d alternating rounds x %d events; huge pages: %s]\n",
	       ratio, RATIO_FLOOR, ratio <= RATIO_FLOOR ? "met" : "MISSED", ROUNDS, MEASURE, thp);
	if (COUNT_ALLOCS)
		printf("heap allocations while measuring: %lu (target 0): %s\n", allocs,
		       allocs == 0 ? "met" : "MISSED");
	else
		printf("heap allocations: not counted under AddressSanitizer\n");
	return 0;
}
