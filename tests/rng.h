/*
 * rng.h: the reproducible random numbers of the detector tests
 * (xorshift64), header-only.  A test defines RNG_SEED before including it,
 * so each keeps its own fixed sequence and a failure replays exactly.
 */
#ifndef TESTS_RNG_H
#define TESTS_RNG_H

#include <stdint.h>

#ifndef RNG_SEED
#error "define RNG_SEED before including tests/rng.h"
#endif

static uint64_t rng_state = RNG_SEED;

static __attribute__((unused)) uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Uniform in [0, 1) with 53 random bits. */
static __attribute__((unused)) double rnd01(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

#endif
