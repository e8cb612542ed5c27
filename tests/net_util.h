/*
 * net_util.h: ports on 127.0.0.1 for tests that need a peer that is not
 * there, or one that never answers, or must wait for one to come up.
 * Header-only like test.h.
 */
#ifndef TESTS_NET_UTIL_H
#define TESTS_NET_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * A port the kernel hands out on 127.0.0.1, 0 when it gives none.  With
 * listen_too the socket is kept listening and returned in *fd_out (a peer
 * that accepts but never answers; the caller closes it); otherwise it is
 * closed, and nothing listens on the port (a peer that is not there, or a
 * port to start a server on).
 */
static __attribute__((unused)) int free_port(int listen_too, int *fd_out)
{
	struct sockaddr_in sa = { 0 };
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	if (fd < 0)
		return 0;
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (port && listen_too && listen(fd, 16) == 0) {
		*fd_out = fd;
		return port;
	}
	close(fd);
	return port;
}

/* Does something accept connections on 127.0.0.1:port? */
static __attribute__((unused)) bool port_open(int port)
{
	struct sockaddr_in sa = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

#endif
