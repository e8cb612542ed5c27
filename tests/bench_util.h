/*
 * bench_util.h: what every benchmark program shares, header-only (each
 * bench is one file): a monotonic clock in ns, a comparison for qsort'ing
 * round timings to take their median, and a count of heap allocations.
 *
 * The count is how a benchmark shows "no allocation per event": the
 * program defines malloc, calloc and realloc itself, counting each call and
 * passing it to glibc's own entry points, so every allocation of keeper's
 * code in the measured loop is seen, not assumed.  Under AddressSanitizer,
 * which owns the allocator, nothing is interposed and COUNT_ALLOCS is 0:
 * a bench then says it did not count.
 */
#ifndef TESTS_BENCH_UTIL_H
#define TESTS_BENCH_UTIL_H

#include <stddef.h>
#include <time.h>

static __attribute__((unused)) unsigned long n_alloc;

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 0
#else
#define COUNT_ALLOCS 1
/* glibc's own entry points, which its malloc is an alias of. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

void *malloc(size_t n)
{
	n_alloc++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	n_alloc++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	n_alloc++;
	return __libc_realloc(p, n);
}
#endif

static __attribute__((unused)) double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static __attribute__((unused)) int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

#endif
