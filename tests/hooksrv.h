/*
 * hooksrv.h: a webhook endpoint played by an HTTP server thread of the
 * test (tests/httpsrv.h), for the tests of keeper's notify joined to the
 * tracker (test_tracker, test_run_private_anvil).  Header-only like test.h;
 * one endpoint per test program (the global HS).
 *
 * Every POST's body is recorded in arrival order with its arrival time,
 * then answered 200 -- or, while HS.silent, never answered: the request
 * stays open, as with an endpoint that accepted the connection and hung,
 * the case a guardian must not wait for.  HS.h.mu guards HS between the
 * server thread and the test.
 */
#ifndef TESTS_HOOKSRV_H
#define TESTS_HOOKSRV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tests/httpsrv.h"

#define HOOKSRV_RECS 64
#define HOOKSRV_BODY 4096

typedef struct {
	char body[HOOKSRV_BODY];
	int64_t at_ms;            /* wall clock at arrival */
} hooksrv_rec_t;

static struct {
	httpsrv_t h;
	bool silent;
	hooksrv_rec_t recs[HOOKSRV_RECS];
	int nrec;
} HS;

static void hooksrv_serve(httpsrv_conn_t *c)
{
	size_t head, blen;

	while (httpsrv_request(c, &head, &blen)) {
		struct timespec ts;
		bool silent;

		clock_gettime(CLOCK_REALTIME, &ts);
		pthread_mutex_lock(&HS.h.mu);
		silent = HS.silent;
		if (HS.nrec < HOOKSRV_RECS) {
			hooksrv_rec_t *r = &HS.recs[HS.nrec++];

			snprintf(r->body, sizeof r->body, "%.*s", (int)blen, c->buf + head);
			r->at_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		}
		pthread_mutex_unlock(&HS.h.mu);
		if (!silent)
			httpsrv_send(c->fd, 200, "text/plain", "ok");
		httpsrv_consume(c, head + blen);
	}
}

/* Start the endpoint (its port in HS.h.port), once per program; CHECKed. */
static __attribute__((unused)) void hooksrv_start(void)
{
	pthread_mutex_init(&HS.h.mu, NULL);
	HS.nrec = 0;
	httpsrv_start(&HS.h, hooksrv_serve);
}

static __attribute__((unused)) void hooksrv_stop(void)
{
	httpsrv_stop(&HS.h);
}

/* Forget what was recorded; from now on answer (silent false) or not. */
static __attribute__((unused)) void hooksrv_reset(bool silent)
{
	pthread_mutex_lock(&HS.h.mu);
	HS.nrec = 0;
	HS.silent = silent;
	pthread_mutex_unlock(&HS.h.mu);
}

static __attribute__((unused)) int hooksrv_count(void)
{
	int n;

	pthread_mutex_lock(&HS.h.mu);
	n = HS.nrec;
	pthread_mutex_unlock(&HS.h.mu);
	return n;
}

/* A copy of record i (0 <= i < hooksrv_count()). */
static __attribute__((unused)) hooksrv_rec_t hooksrv_rec(int i)
{
	hooksrv_rec_t r;

	pthread_mutex_lock(&HS.h.mu);
	r = HS.recs[i];
	pthread_mutex_unlock(&HS.h.mu);
	return r;
}

#endif
