/*
 * cli: the subcommands of bin/keeper.  Each takes the arguments after its
 * own name (argv[0] is the subcommand name, as getopt expects) and returns
 * the process exit status: 0 success, 1 runtime failure, 2 bad usage or an
 * invalid config (interface.md).
 */
#ifndef KEEPER_CLI_H
#define KEEPER_CLI_H

#include <stdint.h>

/* Exit statuses of interface.md. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

int cmd_check(int argc, char **argv);   /* keeper/cmd_check.c */
int cmd_sign(int argc, char **argv);    /* keeper/cmd_sign.c */
int cmd_address(int argc, char **argv); /* keeper/cmd_sign.c */
int cmd_record(int argc, char **argv);  /* keeper/cmd_record.c */
int cmd_run(int argc, char **argv);     /* keeper/cmd_run.c */
int cmd_import(int argc, char **argv);  /* keeper/cmd_import.c */
int cmd_replay(int argc, char **argv);  /* keeper/cmd_replay.c */

/*
 * Print "keeper: MESSAGE" and the command's usage to stderr, and return
 * CLI_EXIT_USAGE.  command may be NULL for the top-level usage.
 */
int cli_usage_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The usage error for an option getopt_long (its option string starting
 * with ':') did not take, named by argv[optind - 1]: c ':' is an option
 * without its value, any other c an unknown option.  Returns
 * CLI_EXIT_USAGE.
 */
int cli_option_error(const char *command, int c, char **argv);

/* A monotonic clock in ms, for the commands' elapsed-time summaries
 * (before a loop exists and after it is gone). */
int64_t cli_mono_ms(void);

/* The usage/help text of a command (NULL: the command list), or NULL when
 * there is no such command. */
const char *cli_help_text(const char *command);

#endif
