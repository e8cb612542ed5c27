/*
 * bench_outflow: what one outflow event costs the detector (feed the
 * Transfer log, including decoding its data, then evaluate the asset), with
 * 10 and with 1,000,000 transfers in the window.  The architecture asks for
 * O(1) amortised detectors, so the two figures should be about equal (the
 * large window only costs cache misses in the log index) and there must be
 * no heap allocation per event.
 *
 * Each run first fills the window (one transfer per ms, window_ms = the
 * wanted count), then measures MEASURE further events, each of which also
 * pushes the oldest transfer out, so the window stays full.  Allocation is
 * counted by interposing malloc/calloc/realloc as bench_parse does (skipped
 * under AddressSanitizer, which owns the allocator).  Median of ROUNDS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keeper/det_outflow.h"
#include "tests/bench_util.h"

#define ROUNDS 5
#define MEASURE 200000


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

/* ns per event with `inwin` transfers in the window; *allocs gets the
 * allocations made while measuring. */
static int run(uint64_t inwin, double *ns, unsigned long *allocs, uint64_t *window_count)
{
	addr_t watch = mkaddr(1), token = mkaddr(2);
	det_outflow_cfg_t c;
	det_outflow_t d;
	det_outflow_result_t r;
	unsigned long sink = 0, a0;
	double t0;
	uint64_t i = 0;
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
	if (det_outflow_init(&d, &c) != KERR_OK)
		return -1;
	setup_log(&watch, &token);
	u256_from_dec(&bal, "1000000000000000000000000000000", 31);
	if (det_outflow_feed_balance(&d, 1, 0, 0, &bal, NULL) != KERR_OK)
		return -1;
	for (; i < inwin; i++)
		if (one(&d, i, (int64_t)i, &sink))
			return -1;
	a0 = n_alloc;
	t0 = now_ns();
	for (uint64_t k = 0; k < MEASURE; k++, i++)
		if (one(&d, i, (int64_t)i, &sink))
			return -1;
	*ns = (now_ns() - t0) / MEASURE;
	*allocs = n_alloc - a0;
	det_outflow_eval(&d, 1, &r);
	/* each transfer is 1e6 units: the window's sum says how many it holds */
	*window_count = r.outflow.w[0] / 1000000;
	if (det_outflow_stats(&d)->logs_forgotten != 0)
		return -1;
	det_outflow_release(&d);
	return (int)(sink & 0);
}

int main(void)
{
	static const uint64_t sizes[2] = { 10, 1000000 };
	double t[2][ROUNDS];
	unsigned long allocs = 0;
	uint64_t held[2] = { 0, 0 };

	for (int r = 0; r < ROUNDS; r++) {
		for (int s = 0; s < 2; s++) {
			unsigned long a;
			if (run(sizes[s], &t[s][r], &a, &held[s]) != 0) {
				fprintf(stderr, "bench_outflow: run failed\n");
				return 1;
			}
			allocs += a;
		}
	}
	for (int s = 0; s < 2; s++)
		qsort(t[s], ROUNDS, sizeof t[s][0], cmp_double);
	for (int s = 0; s < 2; s++)
		printf("outflow event (feed Transfer log + eval), %7llu in window "
		       "(%llu held incl. bucket slack): %6.0f ns/event\n",
		       (unsigned long long)sizes[s], (unsigned long long)held[s],
		       t[s][ROUNDS / 2]);
	printf("ratio 1,000,000 vs 10 in window: %.2f   [median of %d rounds x %d events]\n",
	       t[1][ROUNDS / 2] / t[0][ROUNDS / 2], ROUNDS, MEASURE);
	if (COUNT_ALLOCS)
		printf("heap allocations while measuring: %lu (target 0): %s\n", allocs,
		       allocs == 0 ? "met" : "MISSED");
	else
		printf("heap allocations: not counted under AddressSanitizer\n");
	return 0;
}
