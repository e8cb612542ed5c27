/*
 * anvil.h: start and stop anvil, run cast, and keep every child process of
 * a test on record so that none outlives it.  Header-only like test.h;
 * the end-to-end tests reach it through tests/e2e.h, which builds the
 * keeper process, its log and the cast wrappers on it.  anvil and cast
 * come from .deps (foundry, see tests/deps.sh).
 *
 * Children.  spawn() forks a program and records its pid (track() records
 * one started otherwise, e.g. by feedsrv_start); kill_all() SIGKILLs what
 * is still on record.  kill_all() is async-signal-safe: install_fatal()
 * makes the test's own handler run on SIGINT, SIGTERM, SIGALRM (the
 * test's time limit), SIGSEGV and SIGABRT, and kill_all() run at exit.  A
 * child started in its own process group (anvil's npm wrapper, if used,
 * starts the binary as a child) is killed with its whole group.
 */
#ifndef TESTS_ANVIL_H
#define TESTS_ANVIL_H

#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/clock_ms.h"
#include "tests/net_util.h"

#define PROCS_MAX 8
static volatile pid_t procs[PROCS_MAX];
static volatile sig_atomic_t procs_group[PROCS_MAX];
static char anvil_bin[1024], cast_bin[1024];

/* SIGKILL every child still on record and reap it.  Async-signal-safe. */
static void kill_all(void)
{
	for (int i = 0; i < PROCS_MAX; i++) {
		pid_t p = procs[i];
		if (p > 0) {
			kill(procs_group[i] ? -p : p, SIGKILL);
			waitpid(p, NULL, 0);
			procs[i] = 0;
		}
	}
}

/* on_fatal for the fatal signals and the alarm, kill_all() at exit. */
static __attribute__((unused)) void install_fatal(void (*on_fatal)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fatal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
	atexit(kill_all);
}

static int free_slot(void)
{
	for (int i = 0; i < PROCS_MAX; i++)
		if (procs[i] <= 0)
			return i;
	return -1;
}

/* Put pid on record (group: kill its process group); ignored when the
 * record is full. */
static void track(pid_t pid, bool group)
{
	int i = free_slot();

	if (i >= 0) {
		procs_group[i] = group;
		procs[i] = pid;
	}
}

static void untrack(pid_t pid)
{
	for (int i = 0; i < PROCS_MAX; i++)
		if (procs[i] == pid)
			procs[i] = 0;
}

/*
 * fork + exec argv in its own process group (when group), stdout and
 * stderr to the given files (NULL: /dev/null), stdin /dev/null, and on
 * record.  No fatal signal between fork and the pid being on record, or
 * the handler would miss this child.  Returns the pid, or -1 (also when
 * the record is full, before forking).
 */
static pid_t spawn(const char *const *argv, const char *out, const char *err, bool group)
{
	sigset_t block, old;
	pid_t pid;

	if (free_slot() < 0)
		return -1;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		int o = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600) : nul;
		int e = err ? open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600) : nul;
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (group)
			setpgid(0, 0);
		dup2(nul, 0);
		dup2(o, 1);
		dup2(e, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid > 0) {
		if (group)
			setpgid(pid, pid);
		track(pid, group);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return pid;
}

/* The native binary of an npm package starts faster than its node
 * wrapper; either will do. */
static bool find_tool(const char *name, char *out, size_t cap)
{
	char pat[256];
	glob_t g;
	bool ok = false;

	snprintf(pat, sizeof pat, ".deps/node_modules/@foundry-rs/%s-*/bin/%s", name, name);
	if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0 &&
	    access(g.gl_pathv[0], X_OK) == 0) {
		snprintf(out, cap, "%s", g.gl_pathv[0]);
		ok = true;
	}
	globfree(&g);
	if (!ok) {
		snprintf(out, cap, ".deps/node_modules/.bin/%s", name);
		ok = access(out, X_OK) == 0;
	}
	return ok;
}

/* anvil_bin and cast_bin; false, after printing a failed setup as the
 * test's result, when either is missing. */
static __attribute__((unused)) bool find_anvil_cast(void)
{
	if (find_tool("anvil", anvil_bin, sizeof anvil_bin) &&
	    find_tool("cast", cast_bin, sizeof cast_bin))
		return true;
	printf("FAIL setup: anvil/cast not found under .deps (make deps)\n");
	printf("0 passed, 1 failed\n");
	return false;
}

/*
 * Start anvil (argv: anvil_bin and its options, listening on
 * 127.0.0.1:port) in its own process group and wait, up to 10 s, until it
 * accepts connections.  Returns the pid, or -1 (what did start is killed).
 */
static __attribute__((unused)) pid_t anvil_run(const char *const *argv, int port)
{
	int64_t t0 = mono_ms();
	pid_t pid;

	if ((pid = spawn(argv, NULL, NULL, true)) < 0)
		return -1;
	while (!port_open(port)) {
		if (mono_ms() - t0 > 10000 || waitpid(pid, NULL, WNOHANG) == pid) {
			printf("    anvil on port %d did not start\n", port);
			kill(-pid, SIGKILL);
			waitpid(pid, NULL, 0);
			untrack(pid);
			return -1;
		}
		usleep(5000);
	}
	return pid;
}

/* SIGTERM (anvil then writes its --dump-state), wait up to 10 s, then
 * SIGKILL. */
static __attribute__((unused)) void anvil_stop(pid_t pid)
{
	int64_t t0 = mono_ms();

	if (pid <= 0)
		return;
	kill(-pid, SIGTERM);
	while (waitpid(pid, NULL, WNOHANG) != pid) {
		if (mono_ms() - t0 > 10000) {
			kill(-pid, SIGKILL);
			waitpid(pid, NULL, 0);
			break;
		}
		usleep(5000);
	}
	untrack(pid);
}

/*
 * Run a command line (cast with arguments); its stdout, without the
 * trailing newline, into out (out NULL or cap 0: read and dropped).
 * Returns the exit status, -1 if it did not run; a failure is printed.
 */
static int sh(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), unused));
static int sh(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	FILE *f;
	size_t n = 0;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	if (!(f = popen(cmd, "r")))
		return -1;
	if (out && cap) {
		n = fread(out, 1, cap - 1, f);
		while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
			n--;
		out[n] = 0;
	} else {
		char sink_buf[512];
		while (fread(sink_buf, 1, sizeof sink_buf, f) > 0)
			;
	}
	st = pclose(f);
	if (st != 0)
		printf("    command failed (%d): %.300s\n", st, cmd);
	return st;
}

#endif
