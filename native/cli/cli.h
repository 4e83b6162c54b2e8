/*
 * cli.h - the standalone memdbg command line: argument splitting, running one
 * command against the core, and the readline REPL.
 */
#ifndef MEMDBG_CLI_H
#define MEMDBG_CLI_H

#include <signal.h>
#include <stdbool.h>

#include <memdbg.h>

#ifndef MEMDBG_VERSION
#define MEMDBG_VERSION "0.1.0"
#endif

struct memdbg_cli {
	struct memdbg_target *target;	/* NULL for target-less commands (help) */
	bool json;			/* --json: every command renders JSON */
};

/* Set by the SIGINT handler, polled through memdbg_out.interrupted. */
extern volatile sig_atomic_t memdbg_cli_sigint;

/* Print "memdbg: <message>" as one line on stderr. */
void memdbg_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Split a command line the way a POSIX shell (and Python's shlex.split)
 * would: whitespace separates words, '...' is literal, "..." honours \" and
 * \\, a backslash outside quotes escapes any character.  On success *argv_ret
 * is a NULL-terminated array for memdbg_cli_argv_free(); on failure a static
 * message is returned.
 */
const char *memdbg_cli_split(const char *line, int *argc_ret, char ***argv_ret);
void memdbg_cli_argv_free(char **argv);

/* Exit statuses (docs/frontends.md). */
#define MEMDBG_EXIT_OK 0
#define MEMDBG_EXIT_FAILED 1
#define MEMDBG_EXIT_USAGE 2
#define MEMDBG_EXIT_PARTIAL 3  /* printed, but part failed or figures are damaged */

/*
 * Run one command; prints output to stdout and any error (or the partial
 * warning) as one line on stderr.  Returns MEMDBG_EXIT_OK, _FAILED or _PARTIAL.
 */
int memdbg_cli_run_argv(struct memdbg_cli *cli, int argc, char **argv);
int memdbg_cli_run_line(struct memdbg_cli *cli, const char *line);
/* The status of several commands: a failure outweighs a partial answer. */
static inline int memdbg_cli_worst(int a, int b)
{
	if (a == MEMDBG_EXIT_FAILED || b == MEMDBG_EXIT_FAILED)
		return MEMDBG_EXIT_FAILED;
	return a > b ? a : b;
}

/* True once a command was stopped by Ctrl-C (the batch mode then gives up). */
bool memdbg_cli_was_interrupted(void);

/* Interactive loop until quit, exit or EOF.  Returns the exit status. */
int memdbg_cli_repl(struct memdbg_cli *cli);

#endif /* MEMDBG_CLI_H */
