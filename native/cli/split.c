/*
 * split.c - shell-like word splitting for command lines typed at the REPL or
 * given with -c.  The rules follow Python's shlex.split(posix=True) so that
 * gdb, lldb and the CLI see the same argv for the same line.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct memdbg_words {
	char **argv;
	int argc;
	int cap;
};

static bool memdbg_words_push(struct memdbg_words *w, char *word)
{
	if (w->argc + 1 >= w->cap) {
		int cap = w->cap ? 2 * w->cap : 8;
		char **argv = realloc(w->argv, cap * sizeof(*argv));

		if (!argv)
			return false;
		w->argv = argv;
		w->cap = cap;
	}
	w->argv[w->argc++] = word;
	w->argv[w->argc] = NULL;
	return true;
}

static bool memdbg_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Copy one word starting at *pp into buf (which is at least as long as the
 * rest of the line, since unquoting only shrinks) and advance *pp past it.
 */
static const char *memdbg_split_word(const char **pp, char *buf)
{
	const char *p = *pp;
	char quote = 0;

	while (*p && (quote || !memdbg_is_blank(*p))) {
		char c = *p++;

		if (quote == '\'') {
			if (c == '\'')
				quote = 0;
			else
				*buf++ = c;
		} else if (quote == '"') {
			if (c == '"')
				quote = 0;
			else if (c == '\\' && (*p == '"' || *p == '\\'))
				*buf++ = *p++;
			else
				*buf++ = c;
		} else if (c == '\'' || c == '"') {
			quote = c;
		} else if (c == '\\') {
			if (!*p)
				return "no escaped character";
			*buf++ = *p++;
		} else {
			*buf++ = c;
		}
	}
	*buf = '\0';
	*pp = p;
	return quote ? "no closing quotation" : NULL;
}

void memdbg_cli_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

const char *memdbg_cli_split(const char *line, int *argc_ret, char ***argv_ret)
{
	struct memdbg_words w = { 0 };
	const char *err = NULL;
	const char *p = line;

	if (!memdbg_words_push(&w, NULL))
		return "out of memory";
	w.argc = 0;
	for (;;) {
		char *word;

		while (memdbg_is_blank(*p))
			p++;
		if (!*p)
			break;
		word = malloc(strlen(p) + 1);
		if (!word) {
			err = "out of memory";
			break;
		}
		err = memdbg_split_word(&p, word);
		if (err || !memdbg_words_push(&w, word)) {
			free(word);
			err = err ? err : "out of memory";
			break;
		}
	}
	if (err) {
		memdbg_cli_argv_free(w.argv);
		return err;
	}
	*argc_ret = w.argc;
	*argv_ret = w.argv;
	return NULL;
}
