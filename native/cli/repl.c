/*
 * repl.c - the interactive loop: readline with history in ~/.memdbg_history
 * and completion of command names and options.  A plain line reader takes
 * over when stdin is not a terminal, so commands can be piped in.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf */
#endif
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "cli.h"

#define MEMDBG_PROMPT "(memdbg) "
#define MEMDBG_HISTORY_MAX 1000

static const char *const memdbg_repl_words[] = { "help", "quit", "exit", NULL };

static volatile sig_atomic_t memdbg_repl_winch;
static char *memdbg_repl_line;		/* set by the readline callback */
static bool memdbg_repl_eof;

/* Candidates for the word being completed; NULL-terminated. */
static const char **memdbg_repl_cands;

/* Returns true when the line asks to leave. */
static bool memdbg_repl_handle(struct memdbg_cli *cli, const char *line, int *status)
{
	char **argv;
	int argc;
	const char *msg;

	msg = memdbg_cli_split(line, &argc, &argv);
	if (msg) {
		memdbg_cli_error("%s", msg);
		*status = 1;
		return false;
	}
	if (argc && (!strcmp(argv[0], "quit") || !strcmp(argv[0], "exit"))) {
		memdbg_cli_argv_free(argv);
		return true;
	}
	/* The status of an interactive session is that of its last command. */
	*status = memdbg_cli_run_argv(cli, argc, argv);
	memdbg_cli_argv_free(argv);
	return false;
}

static int memdbg_repl_plain(struct memdbg_cli *cli)
{
	char *line = NULL;
	size_t cap = 0;
	int status = 0;

	while (getline(&line, &cap, stdin) >= 0) {
		if (memdbg_repl_handle(cli, line, &status))
			break;
	}
	free(line);
	return status;
}

static char *memdbg_repl_history_path(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;
	char *path;

	if (!home || !*home) {
		pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || asprintf(&path, "%s/.memdbg_history", home) < 0)
		return NULL;
	return path;
}

static void memdbg_repl_history_save(const char *path, int added)
{
	if (!path || !added)
		return;
	/* Append rather than overwrite so that parallel sessions keep theirs. */
	if (access(path, F_OK) == 0)
		append_history(added, path);
	else
		write_history(path);
	history_truncate_file(path, MEMDBG_HISTORY_MAX);
}

static void memdbg_repl_add_cand(const char **cands, size_t *n, const char *word)
{
	cands[(*n)++] = word;
	cands[*n] = NULL;
}

/* Command names, for the first word and for the argument of help. */
static const char **memdbg_repl_command_cands(bool with_builtins)
{
	size_t count = memdbg_command_count(), n = 0;
	const char **cands = calloc(count + 4, sizeof(*cands));

	if (!cands)
		return NULL;
	for (size_t i = 0; i < count; i++)
		memdbg_repl_add_cand(cands, &n, memdbg_command_at(i)->name);
	for (size_t i = 0; with_builtins && memdbg_repl_words[i]; i++) {
		if (!memdbg_command_find(memdbg_repl_words[i]))
			memdbg_repl_add_cand(cands, &n, memdbg_repl_words[i]);
	}
	return cands;
}

static const char **memdbg_repl_option_cands(const char *name)
{
	const struct memdbg_command_info *info = memdbg_command_find(name);
	size_t count = 0;
	const char **cands;

	if (!info || !info->options)
		return NULL;
	while (info->options[count])
		count++;
	cands = calloc(count + 1, sizeof(*cands));
	if (cands)
		memcpy(cands, info->options, count * sizeof(*cands));
	return cands;
}

static char *memdbg_repl_generate(const char *text, int state)
{
	static size_t next;
	size_t len = strlen(text);

	if (!state)
		next = 0;
	while (memdbg_repl_cands && memdbg_repl_cands[next]) {
		const char *cand = memdbg_repl_cands[next++];

		if (!strncmp(cand, text, len))
			return strdup(cand);
	}
	return NULL;
}

static char **memdbg_repl_complete(const char *text, int start, int end)
{
	const char *line = rl_line_buffer;
	char first[128];
	int i = 0, n = 0;

	rl_attempted_completion_over = 1;	/* no file names */
	while (i < start && (line[i] == ' ' || line[i] == '\t'))
		i++;
	while (i < start && line[i] != ' ' && line[i] != '\t' && n + 1 < (int)sizeof(first))
		first[n++] = line[i++];
	first[n] = '\0';

	free(memdbg_repl_cands);
	if (!n)
		memdbg_repl_cands = memdbg_repl_command_cands(true);
	else if (!strcmp(first, "help"))
		memdbg_repl_cands = memdbg_repl_command_cands(false);
	else
		memdbg_repl_cands = memdbg_repl_option_cands(first);
	return rl_completion_matches(text, memdbg_repl_generate);
}

/*
 * Removing the handler here, not after rl_callback_read_char() returns,
 * keeps readline from drawing a fresh prompt that the output would overwrite.
 */
static void memdbg_repl_on_line(char *line)
{
	rl_callback_handler_remove();
	if (!line)
		memdbg_repl_eof = true;
	memdbg_repl_line = line;
}

static void memdbg_repl_on_signal(int sig)
{
	if (sig == SIGINT)
		memdbg_cli_sigint = 1;
	else
		memdbg_repl_winch = 1;
}

static void memdbg_repl_catch(int sig)
{
	struct sigaction sa = { .sa_handler = memdbg_repl_on_signal };

	/* No SA_RESTART: select() must return so the loop sees the flag. */
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* Ctrl-C at the prompt: drop what was typed and prompt again. */
static void memdbg_repl_cancel_line(void)
{
	memdbg_cli_sigint = 0;
	rl_free_line_state();
	rl_callback_sigcleanup();
	rl_replace_line("", 0);
	rl_crlf();
	rl_on_new_line();
	rl_redisplay();
}

/* Wait for input or a signal; false on a real error. */
static bool memdbg_repl_wait(void)
{
	int fd = fileno(rl_instream ? rl_instream : stdin);
	fd_set fds;

	FD_ZERO(&fds);
	FD_SET(fd, &fds);
	if (select(fd + 1, &fds, NULL, NULL, NULL) >= 0)
		return true;
	return errno == EINTR;
}

/*
 * readline's callback interface keeps signal handling in our hands: the
 * handlers only set flags and the loop acts on them between reads.
 */
static int memdbg_repl_readline(struct memdbg_cli *cli)
{
	char *history = memdbg_repl_history_path();
	int status = 0, added = 0;
	bool done = false;

	rl_readline_name = "memdbg";
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_attempted_completion_function = memdbg_repl_complete;
	using_history();
	if (history)
		read_history(history);

	memdbg_repl_catch(SIGWINCH);
	memdbg_repl_catch(SIGINT);
	memdbg_cli_sigint = 0;
	rl_callback_handler_install(MEMDBG_PROMPT, memdbg_repl_on_line);
	while (!done) {
		if (memdbg_repl_winch) {
			memdbg_repl_winch = 0;
			rl_resize_terminal();
		}
		if (memdbg_cli_sigint)
			memdbg_repl_cancel_line();
		if (!memdbg_repl_wait())
			break;
		if (memdbg_cli_sigint || memdbg_repl_winch)
			continue;
		rl_callback_read_char();
		if (memdbg_repl_eof) {
			putchar('\n');
			break;
		}
		if (!memdbg_repl_line)
			continue;

		if (memdbg_repl_line[strspn(memdbg_repl_line, " \t")]) {
			add_history(memdbg_repl_line);
			added++;
		}
		done = memdbg_repl_handle(cli, memdbg_repl_line, &status);
		free(memdbg_repl_line);
		memdbg_repl_line = NULL;
		/* memdbg_cli_run_argv restored our handler; drop a Ctrl-C it consumed. */
		memdbg_cli_sigint = 0;
		if (!done)
			rl_callback_handler_install(MEMDBG_PROMPT, memdbg_repl_on_line);
	}
	rl_callback_handler_remove();	/* idempotent; the error path left it in */
	signal(SIGINT, SIG_DFL);
	memdbg_repl_history_save(history, added);
	free(history);
	free(memdbg_repl_cands);
	memdbg_repl_cands = NULL;
	return status;
}

int memdbg_cli_repl(struct memdbg_cli *cli)
{
	if (!isatty(STDIN_FILENO))
		return memdbg_repl_plain(cli);
	return memdbg_repl_readline(cli);
}
