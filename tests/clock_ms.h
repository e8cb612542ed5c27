/*
 * clock_ms.h: the two clocks tests time things with, in milliseconds.
 * Header-only like test.h.  Latencies and deadlines use the monotonic
 * clock, which no time adjustment moves; the wall clock is only for
 * comparing with the times keeper stamps on what it receives or writes.
 */
#ifndef TESTS_CLOCK_MS_H
#define TESTS_CLOCK_MS_H

#include <stdint.h>
#include <time.h>

static __attribute__((unused)) int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static __attribute__((unused)) int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
