/*
 * run.c - run one command line against the core and print the result:
 * output on stdout, errors as one "memdbg: ..." line on stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

volatile sig_atomic_t memdbg_cli_sigint;
static bool memdbg_cli_stopped;

/* What a command wrote, so the CLI can end its output with a newline. */
struct memdbg_cli_sink {
	size_t len;
	char last;
};

void memdbg_cli_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);	/* keep output and the error in order on a shared tty */
	fputs("memdbg: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void memdbg_cli_write(void *arg, const char *buf, size_t len)
{
	struct memdbg_cli_sink *sink = arg;

	if (!len)
		return;
	fwrite(buf, 1, len, stdout);
	sink->len += len;
	sink->last = buf[len - 1];
}

/* A progress line on a terminal's stderr, erased when the step ends. */
static void memdbg_cli_progress(void *arg, const char *what, uint64_t done, uint64_t total)
{
	if (!isatty(STDERR_FILENO))
		return;
	if (done >= total)
		fprintf(stderr, "\r\033[K");
	else
		fprintf(stderr, "\rmemdbg: %s: %" PRIu64 "%%", what, done * 100 / total);
	fflush(stderr);
}

static bool memdbg_cli_interrupted(void *arg)
{
	return memdbg_cli_sigint != 0;
}

static void memdbg_cli_on_sigint(int sig)
{
	memdbg_cli_sigint = 1;
}

/* Catch Ctrl-C only while a command runs; otherwise it ends the CLI. */
static void memdbg_cli_catch_sigint(struct sigaction *old)
{
	struct sigaction sa = { .sa_handler = memdbg_cli_on_sigint };

	sigemptyset(&sa.sa_mask);
	memdbg_cli_sigint = 0;
	sigaction(SIGINT, &sa, old);
}

bool memdbg_cli_was_interrupted(void)
{
	return memdbg_cli_stopped;
}

int memdbg_cli_run_argv(struct memdbg_cli *cli, int argc, char **argv)
{
	struct memdbg_cli_sink sink = { 0 };
	struct memdbg_out out = {
		.write = memdbg_cli_write,
		.interrupted = memdbg_cli_interrupted,
		.progress = memdbg_cli_progress,
		.arg = &sink,
		.json = cli->json,
	};
	struct memdbg_error *err;
	struct sigaction old;

	if (argc == 0)
		return MEMDBG_EXIT_OK;
	/* No invalidate: a core never changes, and attach keeps the process stopped. */
	memdbg_cli_catch_sigint(&old);
	err = memdbg_run(cli->target, argc, argv, &out);
	sigaction(SIGINT, &old, NULL);

	/* Every command's output (one JSON document in --json) ends in a newline. */
	if (sink.len && sink.last != '\n')
		fputc('\n', stdout);
	fflush(stdout);
	if (!err)
		return MEMDBG_EXIT_OK;
	int status = MEMDBG_EXIT_FAILED;
	if (memdbg_error_code(err) == MEMDBG_ERROR_PARTIAL)
		status = MEMDBG_EXIT_PARTIAL;  /* the output stands, flagged; the one line says why */
	else if (memdbg_error_code(err) == MEMDBG_ERROR_INTERRUPTED || memdbg_cli_sigint)
		memdbg_cli_stopped = true;
	memdbg_cli_error("%s", memdbg_error_message(err));
	memdbg_error_destroy(err);
	return status;
}

int memdbg_cli_run_line(struct memdbg_cli *cli, const char *line)
{
	const char *msg;
	char **argv;
	int argc, status;

	msg = memdbg_cli_split(line, &argc, &argv);
	if (msg) {
		memdbg_cli_error("%s", msg);
		return MEMDBG_EXIT_FAILED;
	}
	status = memdbg_cli_run_argv(cli, argc, argv);
	memdbg_cli_argv_free(argv);
	return status;
}
