/*
 * loop_util.h: run keeper's event loop from a test without ever hanging
 * it.  Header-only like test.h.  The test's main() creates the loop L and
 * calls loop_util_init() once; after that every run of the loop is bounded
 * by a watchdog timer, so a callback that never comes fails a CHECK
 * instead of stalling `make test`:
 *   run_for(ms)          until a callback calls loop_stop() (1) or ms
 *                        pass (0);
 *   run_until(pred, ms)  until pred() holds, polled every 2 ms (true), or
 *                        ms pass (false); run_until(never, ms) just lets
 *                        the loop run for ms.
 * Both CHECK that loop_run() itself succeeded.
 */
#ifndef TESTS_LOOP_UTIL_H
#define TESTS_LOOP_UTIL_H

#include <stdbool.h>

#include "keeper/loop.h"
#include "tests/clock_ms.h"
#include "tests/test.h"

static loop_t *L;
static loop_timer_t wd_t, poll_t;
static int wd_fired;
static bool (*until_fn)(void);

static void wd_cb(loop_t *loop, void *arg)
{
	(void)arg;
	wd_fired = 1;
	loop_stop(loop);
}

static void poll_cb(loop_t *loop, void *arg)
{
	(void)arg;
	if (until_fn && until_fn()) {
		loop_stop(loop);
		return;
	}
	loop_timer_arm_ms(&poll_t, 2);
}

/* Sets up the watchdog and poll timers on L (armed only while running). */
static __attribute__((unused)) void loop_util_init(void)
{
	loop_timer_init(&wd_t, L, wd_cb, NULL);
	loop_timer_init(&poll_t, L, poll_cb, NULL);
}

static __attribute__((unused)) int run_for(int ms)
{
	wd_fired = 0;
	loop_timer_arm_ms(&wd_t, ms);
	CHECK_OK(loop_run(L));
	loop_timer_cancel(&wd_t);
	return !wd_fired;
}

static __attribute__((unused)) bool run_until(bool (*pred)(void), int ms)
{
	until_fn = pred;
	wd_fired = 0;
	loop_timer_arm_ms(&wd_t, ms);
	loop_timer_arm_ms(&poll_t, 0);
	CHECK_OK(loop_run(L));
	loop_timer_cancel(&wd_t);
	loop_timer_cancel(&poll_t);
	until_fn = NULL;
	return !wd_fired;
}

static __attribute__((unused)) bool never(void)
{
	return false;
}

#endif
