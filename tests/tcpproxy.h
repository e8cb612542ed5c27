/*
 * tcpproxy.h: a TCP forwarder on a thread of the test, put between keeper
 * and its node so that a test can break the connections without stopping
 * the node (test_e2e_faults_anvil: the node websocket dropped, an RPC URL
 * failing).  Header-only like test.h.
 *
 * It listens on 127.0.0.1 at a port the kernel picks (tcpproxy_t.port)
 * and joins every connection it accepts to a new one to 127.0.0.1:target,
 * copying bytes both ways.  The test can
 *  - cut every connection now (tcpproxy_cut): keeper's side is reset
 *    (RST, what a crashed peer or a dropped route looks like; no close
 *    handshake to wait for) and the node's side closed; connections made
 *    later are forwarded again;
 *  - refuse (tcpproxy_refuse(p, true)): cut, then reset every connection
 *    as soon as it is accepted, before reading from it, until
 *    tcpproxy_refuse(p, false): an endpoint that is there but fails;
 *  - count (tcpproxy_stats): connections accepted, forwarded and reset,
 *    and the occurrences of a needle in what clients sent (e.g.
 *    "eth_sendRawTransaction": the broadcasts that reached the node
 *    through this proxy), also when the needle is split between reads.
 * A connection whose target does not answer (the node is down) is reset
 * too, and counted as upstream_failed.
 *
 * Commands run on the proxy's thread, woken through a pipe, and return
 * once done: after tcpproxy_cut() returns, no byte of an old connection
 * is forwarded any more.  Writes block (the peers are local and read
 * promptly) and never raise SIGPIPE (MSG_NOSIGNAL).
 *
 * Every descriptor is close-on-exec from its creation on, accepted ones
 * included (accept4, through syscall() since the build is POSIX, not
 * GNU): the test forks anvil and cast while this thread runs, and a
 * child that inherited a connection would keep it open after the proxy
 * closed it -- no FIN, no RST -- so keeper would send into a socket only
 * a restarted anvil holds and wait out its timeout.
 */
#ifndef TESTS_TCPPROXY_H
#define TESTS_TCPPROXY_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tests/clock_ms.h"

#define TCPPROXY_CONNS 32
#define TCPPROXY_NEEDLE_MAX 64
#define TCPPROXY_CHUNK 65536

typedef struct {
	unsigned accepted;        /* connections accepted */
	unsigned forwarded;       /* ... joined to the target */
	unsigned reset;           /* ... reset on accept while refusing */
	unsigned upstream_failed; /* ... reset: the target did not accept */
	unsigned cut;             /* live connections ended by cut/refuse */
	unsigned hits;            /* needle occurrences in client bytes */
	int64_t last_forward_ms;  /* mono_ms() of the latest join, 0: none */
} tcpproxy_stats_t;

typedef struct {
	int c, s;                 /* client (keeper) and server (node); -1: free */
	size_t tail_len;          /* the client's last bytes, for a split needle */
	char tail[TCPPROXY_NEEDLE_MAX];
} tcpproxy_conn_t;

typedef struct {
	int port, target, lfd, ctl[2];
	bool refusing, running;
	char needle[TCPPROXY_NEEDLE_MAX];
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned asked, done;     /* commands written, commands carried out */
	tcpproxy_stats_t st;
	tcpproxy_conn_t conn[TCPPROXY_CONNS];
	char buf[TCPPROXY_NEEDLE_MAX + TCPPROXY_CHUNK];
} tcpproxy_t;

/* Close fd with an RST instead of a FIN. */
static void tcpproxy_rst(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

static bool tcpproxy_send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void tcpproxy_end(tcpproxy_conn_t *k, bool reset)
{
	if (reset)
		tcpproxy_rst(k->c);
	else
		close(k->c);
	close(k->s);
	k->c = k->s = -1;
	k->tail_len = 0;
}

static void tcpproxy_cut_all(tcpproxy_t *p)
{
	unsigned n = 0;

	for (int i = 0; i < TCPPROXY_CONNS; i++)
		if (p->conn[i].c >= 0) {
			tcpproxy_end(&p->conn[i], true);
			n++;
		}
	pthread_mutex_lock(&p->mu);
	p->st.cut += n;
	pthread_mutex_unlock(&p->mu);
}

/* Count the needle in the client's new bytes b[0..n), which sit at
 * buf + TCPPROXY_NEEDLE_MAX: the tail of its previous bytes (shorter than
 * the needle, so never counted twice) goes right in front of them. */
static void tcpproxy_count(tcpproxy_t *p, tcpproxy_conn_t *k, char *b, size_t n)
{
	size_t nl = strlen(p->needle), len = k->tail_len + n, hits = 0;
	char *s = b - k->tail_len;

	if (!nl)
		return;
	memcpy(s, k->tail, k->tail_len);
	for (size_t i = 0; i + nl <= len; i++)
		if (s[i] == p->needle[0] && memcmp(s + i, p->needle, nl) == 0)
			hits++;
	k->tail_len = len < nl - 1 ? len : nl - 1;
	memcpy(k->tail, s + len - k->tail_len, k->tail_len);
	if (hits) {
		pthread_mutex_lock(&p->mu);
		p->st.hits += (unsigned)hits;
		pthread_mutex_unlock(&p->mu);
	}
}

static void tcpproxy_accept(tcpproxy_t *p)
{
	struct sockaddr_in sa = { 0 };
	int c = (int)syscall(SYS_accept4, p->lfd, NULL, NULL, SOCK_CLOEXEC), s, i;
	bool joined = false;

	if (c < 0)
		return;
	pthread_mutex_lock(&p->mu);
	p->st.accepted++;
	if (p->refusing)
		p->st.reset++;
	pthread_mutex_unlock(&p->mu);
	if (p->refusing) {
		tcpproxy_rst(c);
		return;
	}
	for (i = 0; i < TCPPROXY_CONNS && p->conn[i].c >= 0; i++)
		;
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)p->target);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (i < TCPPROXY_CONNS && (s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) {
			p->conn[i].c = c;
			p->conn[i].s = s;
			p->conn[i].tail_len = 0;
			joined = true;
		} else {
			close(s);
		}
	}
	pthread_mutex_lock(&p->mu);
	if (joined) {
		p->st.forwarded++;
		p->st.last_forward_ms = mono_ms();
	} else {
		p->st.upstream_failed++;
	}
	pthread_mutex_unlock(&p->mu);
	if (!joined)
		tcpproxy_rst(c);
}

/* One command from the pipe; false: quit. */
static bool tcpproxy_command(tcpproxy_t *p)
{
	char cmd;
	bool go_on = true;

	if (read(p->ctl[0], &cmd, 1) != 1)
		return false;
	switch (cmd) {
	case 'c':
		tcpproxy_cut_all(p);
		break;
	case 'r':
		p->refusing = true;
		tcpproxy_cut_all(p);
		break;
	case 'f':
		p->refusing = false;
		break;
	default:
		tcpproxy_cut_all(p);
		go_on = false;
		break;
	}
	pthread_mutex_lock(&p->mu);
	p->done++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return go_on;
}

static void *tcpproxy_main(void *arg)
{
	tcpproxy_t *p = arg;
	struct pollfd pf[2 + 2 * TCPPROXY_CONNS];
	int who[2 + 2 * TCPPROXY_CONNS];

	for (;;) {
		int n = 0;

		pf[n++] = (struct pollfd){ p->ctl[0], POLLIN, 0 };
		pf[n++] = (struct pollfd){ p->lfd, POLLIN, 0 };
		for (int i = 0; i < TCPPROXY_CONNS; i++) {
			if (p->conn[i].c < 0)
				continue;
			who[n] = i;
			pf[n++] = (struct pollfd){ p->conn[i].c, POLLIN, 0 };
			who[n] = i;
			pf[n++] = (struct pollfd){ p->conn[i].s, POLLIN, 0 };
		}
		if (poll(pf, (nfds_t)n, -1) < 0)
			continue;
		if (pf[0].revents) {
			if (!tcpproxy_command(p))
				return NULL;
			continue;   /* the connections may have changed */
		}
		if (pf[1].revents)
			tcpproxy_accept(p);
		for (int j = 2; j < n; j++) {
			tcpproxy_conn_t *k = &p->conn[who[j]];
			bool from_client = pf[j].fd == k->c;
			char *b = p->buf + TCPPROXY_NEEDLE_MAX;
			ssize_t r;

			if (!pf[j].revents || k->c < 0 || (pf[j].fd != k->c && pf[j].fd != k->s))
				continue;
			r = recv(pf[j].fd, b, TCPPROXY_CHUNK, 0);
			if (r <= 0) {
				tcpproxy_end(k, false);
				continue;
			}
			if (from_client) {
				if (!tcpproxy_send_all(k->s, b, (size_t)r)) {
					tcpproxy_end(k, true);
					continue;
				}
				tcpproxy_count(p, k, b, (size_t)r);
			} else if (!tcpproxy_send_all(k->c, b, (size_t)r)) {
				tcpproxy_end(k, false);
			}
		}
	}
}

/* Ask the thread for cmd and wait until it is carried out. */
static void tcpproxy_ask(tcpproxy_t *p, char cmd)
{
	unsigned ticket;

	pthread_mutex_lock(&p->mu);
	ticket = ++p->asked;
	pthread_mutex_unlock(&p->mu);
	if (write(p->ctl[1], &cmd, 1) != 1)
		return;
	pthread_mutex_lock(&p->mu);
	while (p->done < ticket)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

/* Listen on a free port and forward to 127.0.0.1:target, counting needle
 * (NULL or "": nothing) in what clients send.  False on failure. */
static __attribute__((unused)) bool tcpproxy_start(tcpproxy_t *p, int target, const char *needle)
{
	struct sockaddr_in sa = { 0 };
	socklen_t sl = sizeof sa;
	int one = 1;

	memset(p, 0, sizeof *p);
	p->target = target;
	p->lfd = p->ctl[0] = p->ctl[1] = -1;
	snprintf(p->needle, sizeof p->needle, "%s", needle ? needle : "");
	for (int i = 0; i < TCPPROXY_CONNS; i++)
		p->conn[i].c = p->conn[i].s = -1;
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* pipe() then fcntl(): only this (the test's) thread forks, so no
	 * child is made in between */
	if ((p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
	    bind(p->lfd, (struct sockaddr *)&sa, sizeof sa) ||
	    getsockname(p->lfd, (struct sockaddr *)&sa, &sl) || listen(p->lfd, 64) ||
	    pipe(p->ctl) || fcntl(p->ctl[0], F_SETFD, FD_CLOEXEC) ||
	    fcntl(p->ctl[1], F_SETFD, FD_CLOEXEC))
		goto fail;
	p->port = ntohs(sa.sin_port);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (pthread_create(&p->th, NULL, tcpproxy_main, p) != 0) {
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		goto fail;
	}
	p->running = true;
	return true;
fail:
	if (p->lfd >= 0)
		close(p->lfd);
	if (p->ctl[0] >= 0) {
		close(p->ctl[0]);
		close(p->ctl[1]);
	}
	p->lfd = -1;
	return false;
}

/* Reset every connection now; later ones are forwarded. */
static __attribute__((unused)) void tcpproxy_cut(tcpproxy_t *p)
{
	tcpproxy_ask(p, 'c');
}

/* on: cut, and reset every new connection until called with false. */
static __attribute__((unused)) void tcpproxy_refuse(tcpproxy_t *p, bool on)
{
	tcpproxy_ask(p, on ? 'r' : 'f');
}

static __attribute__((unused)) tcpproxy_stats_t tcpproxy_stats(tcpproxy_t *p)
{
	tcpproxy_stats_t s;

	pthread_mutex_lock(&p->mu);
	s = p->st;
	pthread_mutex_unlock(&p->mu);
	return s;
}

/* End the thread (its connections reset) and close everything. */
static __attribute__((unused)) void tcpproxy_stop(tcpproxy_t *p)
{
	if (!p->running)
		return;
	tcpproxy_ask(p, 'q');
	pthread_join(p->th, NULL);
	close(p->lfd);
	close(p->ctl[0]);
	close(p->ctl[1]);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	p->running = false;
}

#endif
