/*
 * feedsrv.h: start and stop tests/feedsrv (the websocket/HTTP peer) from a
 * test program.  Header-only like test.h.  The server binary is looked for
 * beside the test binary (argv[0]'s directory), so build/rel tests use
 * build/rel/tests/feedsrv and build/san tests the sanitized one.  It
 * listens on a port the kernel picks and says which on its "ready PORT"
 * line, so parallel tests never race for a port.
 */
#ifndef TESTS_FEEDSRV_H
#define TESTS_FEEDSRV_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
	pid_t pid;
	int port;
} feedsrv_t;

static char feedsrv_path[4096];

/* Remembers where feedsrv is; call once from main() with argv[0]. */
static __attribute__((unused)) void feedsrv_locate(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');
	int dir = slash ? (int)(slash - argv0) : 1;

	snprintf(feedsrv_path, sizeof feedsrv_path, "%.*s/feedsrv", dir,
		 slash ? argv0 : ".");
}

/*
 * Starts feedsrv with args (NULL-terminated, without argv[0]) and waits up
 * to 5 s for its "ready PORT" line.  Returns 0, or -1 after printing why.
 */
static __attribute__((unused)) int feedsrv_start(feedsrv_t *s, const char *const *args)
{
	const char *argv[64];
	char line[64];
	size_t n = 0, argc = 0;
	int fds[2];
	struct timespec t0, t1;

	s->pid = -1;
	s->port = 0;
	argv[argc++] = feedsrv_path;
	while (args && *args && argc < 62)
		argv[argc++] = *args++;
	argv[argc] = NULL;
	if (pipe(fds))
		return -1;
	s->pid = fork();
	if (s->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (s->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(feedsrv_path, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", feedsrv_path, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (n < sizeof line - 1) {
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		ssize_t r;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > 5 || poll(&pfd, 1, 100) < 0)
			break;
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		r = read(fds[0], line + n, 1);
		if (r <= 0)
			break;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = 0;
	close(fds[0]);
	if (sscanf(line, "ready %d", &s->port) != 1 || s->port <= 0) {
		printf("    feedsrv did not start (got \"%s\")\n", line);
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = -1;
		return -1;
	}
	return 0;
}

/* SIGTERM, then SIGKILL if it has not exited within 3 s. */
static __attribute__((unused)) void feedsrv_stop(feedsrv_t *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGCONT); /* in case a test left it stopped */
	kill(s->pid, SIGTERM);
	for (int i = 0; i < 300; i++) {
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = -1;
			return;
		}
		usleep(10000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = -1;
}

/* Writes text to a new temporary file named into path; returns path, or
 * NULL on failure.  The caller unlinks it. */
static __attribute__((unused)) const char *feedsrv_tmpfile(char path[64], const char *text,
							   size_t len)
{
	int fd;

	snprintf(path, 64, "/tmp/keeper-test-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	while (len) {
		ssize_t w = write(fd, text, len);

		if (w <= 0) {
			close(fd);
			unlink(path);
			return NULL;
		}
		text += w;
		len -= (size_t)w;
	}
	close(fd);
	return path;
}

#endif
