/*
 * httpsrv.h: a tiny HTTP/1.1 server on a thread of the test, for the tests
 * whose peer is an HTTP endpoint of their own making (test_notify's
 * webhooks, test_relay's relay).  Header-only like test.h.
 *
 * It listens on 127.0.0.1 at a port the kernel picks (httpsrv_t.port),
 * accepts up to HTTPSRV_CONNS connections and buffers what each sends;
 * after every read it calls the test's serve(), which answers every
 * complete request at the start of the buffer (httpsrv_request tells
 * whether there is one, httpsrv_send answers, httpsrv_consume drops it)
 * and may leave a request unanswered (a peer that never answers).  What
 * serve() shares with the test is guarded by httpsrv_t.mu, which the test
 * initialises once.  httpsrv_stop() ends the thread through a pipe, so no
 * request is served after it.
 *
 * A peer that does not answer must not stall keeper's loop: ticker_start()
 * arms a 10 ms timer on the loop that counts its runs in `ticks`, which
 * the test compares with the time that passed.
 */
#ifndef TESTS_HTTPSRV_H
#define TESTS_HTTPSRV_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "keeper/loop.h"
#include "tests/test.h"

#define HTTPSRV_CONNS 64
#define HTTPSRV_BUF 131072   /* one connection's unanswered bytes */

typedef struct httpsrv_conn {
	int fd;                  /* -1: free */
	size_t len;
	char *buf;               /* HTTPSRV_BUF bytes while the server runs */
} httpsrv_conn_t;

typedef struct httpsrv {
	int lfd, port, stop[2];
	pthread_t th;
	pthread_mutex_t mu;
	void (*serve)(httpsrv_conn_t *c);
	httpsrv_conn_t c[HTTPSRV_CONNS];
} httpsrv_t;

/* needle in h[0..n); memmem is a GNU extension and the build is POSIX. */
static const char *httpsrv_find(const char *h, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(h + i, needle, k))
			return h + i;
	return NULL;
}

/* Header `name` (any case) in head[0..len): its value into *val, and the
 * value's length; 0 when it is absent. */
static __attribute__((unused)) size_t httpsrv_header(const char *head, size_t len,
						     const char *name, const char **val)
{
	size_t nl = strlen(name);

	for (const char *p = head; p && p < head + len;) {
		const char *eol = httpsrv_find(p, (size_t)(head + len - p), "\r\n");

		if (!eol)
			break;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
			const char *v = p + nl + 1;

			while (*v == ' ')
				v++;
			*val = v;
			return (size_t)(eol - v);
		}
		p = eol + 2;
	}
	return 0;
}

/* Is a whole request (head and Content-Length body) at the start of c's
 * buffer?  Then the head's length (through its blank line) and the body's. */
static __attribute__((unused)) bool httpsrv_request(const httpsrv_conn_t *c, size_t *head,
						    size_t *blen)
{
	const char *end = httpsrv_find(c->buf, c->len, "\r\n\r\n"), *cl;

	if (!end)
		return false;
	*head = (size_t)(end - c->buf) + 4;
	if (!httpsrv_header(c->buf, *head, "Content-Length", &cl))
		return false;
	*blen = strtoul(cl, NULL, 10);
	return c->len >= *head + *blen;
}

/* Drop the first n bytes of c's buffer (a request served). */
static __attribute__((unused)) void httpsrv_consume(httpsrv_conn_t *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* An answer: status, Content-Type ctype (NULL: none), body. */
static __attribute__((unused)) void httpsrv_send(int fd, int status, const char *ctype,
						 const char *body)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 %d X\r\n%s%s%sContent-Length: %zu\r\n\r\n",
			 status, ctype ? "Content-Type: " : "", ctype ? ctype : "",
			 ctype ? "\r\n" : "", strlen(body));

	if (write(fd, hdr, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0)
		return;
}

static void *httpsrv_main(void *arg)
{
	httpsrv_t *s = arg;

	for (;;) {
		struct pollfd pf[HTTPSRV_CONNS + 2];

		pf[0] = (struct pollfd){ s->stop[0], POLLIN, 0 };
		pf[1] = (struct pollfd){ s->lfd, POLLIN, 0 };
		for (int i = 0; i < HTTPSRV_CONNS; i++)
			pf[i + 2] = (struct pollfd){ s->c[i].fd, POLLIN, 0 };
		if (poll(pf, HTTPSRV_CONNS + 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[0].revents)
			break;
		if (pf[1].revents & POLLIN) {
			int fd = accept(s->lfd, NULL, NULL);

			for (int i = 0; fd >= 0 && i < HTTPSRV_CONNS; i++) {
				if (s->c[i].fd < 0) {
					s->c[i].fd = fd;
					s->c[i].len = 0;
					fd = -1;
				}
			}
			if (fd >= 0)
				close(fd);
		}
		for (int i = 0; i < HTTPSRV_CONNS; i++) {
			httpsrv_conn_t *c = &s->c[i];
			ssize_t r;

			if (c->fd < 0 || !pf[i + 2].revents)
				continue;
			r = read(c->fd, c->buf + c->len, HTTPSRV_BUF - c->len);
			if (r <= 0) {
				close(c->fd);
				c->fd = -1;
				continue;
			}
			c->len += (size_t)r;
			s->serve(c);
		}
	}
	return NULL;
}

/* Listen, and serve on a new thread with serve(); the steps are CHECKed. */
static __attribute__((unused)) void httpsrv_start(httpsrv_t *s, void (*serve)(httpsrv_conn_t *))
{
	struct sockaddr_in sa = { 0 };
	socklen_t sl = sizeof sa;

	s->serve = serve;
	for (int i = 0; i < HTTPSRV_CONNS; i++) {
		s->c[i].fd = -1;
		s->c[i].len = 0;
		s->c[i].buf = malloc(HTTPSRV_BUF);
		CHECK(s->c[i].buf != NULL);
	}
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(s->lfd >= 0 && bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	      listen(s->lfd, 16) == 0 &&
	      getsockname(s->lfd, (struct sockaddr *)&sa, &sl) == 0);
	s->port = ntohs(sa.sin_port);
	CHECK(pipe(s->stop) == 0);
	CHECK(pthread_create(&s->th, NULL, httpsrv_main, s) == 0);
}

static int ticks;
static loop_timer_t tick_t;

static void tick_cb(loop_t *loop, void *arg)
{
	(void)loop;
	(void)arg;
	ticks++;
	loop_timer_arm_ms(&tick_t, 10);
}

/* ticks from 0, one every 10 ms of loop time until ticker_stop(). */
static __attribute__((unused)) void ticker_start(loop_t *loop)
{
	ticks = 0;
	loop_timer_init(&tick_t, loop, tick_cb, NULL);
	loop_timer_arm_ms(&tick_t, 10);
}

static __attribute__((unused)) void ticker_stop(void)
{
	loop_timer_cancel(&tick_t);
}

/* End the thread, close every socket, free the buffers. */
static __attribute__((unused)) void httpsrv_stop(httpsrv_t *s)
{
	CHECK(write(s->stop[1], "x", 1) == 1);
	pthread_join(s->th, NULL);
	for (int i = 0; i < HTTPSRV_CONNS; i++) {
		if (s->c[i].fd >= 0)
			close(s->c[i].fd);
		free(s->c[i].buf);
		s->c[i].buf = NULL;
	}
	close(s->lfd);
	close(s->stop[0]);
	close(s->stop[1]);
}

#endif
