/*
 * harness.h - what the libFuzzer targets of native/fuzz share.
 *
 * The targets use only the public interface (memdbg.h): a target is opened
 * on files, commands run through memdbg_run, and every byte of the core is
 * read by the core's own checked read paths.  Besides crashes, leaks and
 * undefined behaviour (the sanitizers), a run fails (abort) when the core
 * breaks its own contract:
 *   - an error without a message, or a message of more than one line or
 *     with raw control characters;
 *   - a --json command that succeeds with output that is not one balanced
 *     JSON document (brackets outside strings, no raw control characters);
 *   - a text command whose output holds raw control characters other than
 *     newline (bytes of the target must be escaped, never echoed).
 *
 * Configuration is by environment (see docs/fuzzing.md):
 *   MEMDBG_FUZZ_CMDS   command lines separated by ';' (each split on spaces)
 */
#ifndef MEMDBG_FUZZ_HARNESS_H
#define MEMDBG_FUZZ_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memdbg.h"

#define FUZZ_MAX_CMDS 32
#define FUZZ_MAX_ARGS 16

static void fuzz_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fuzz: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static const char *fuzz_env(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	if (v && *v)
		return v;
	if (!dflt)
		fuzz_die("%s is not set (see docs/fuzzing.md)", name);
	return dflt;
}

/* ---- the commands to run on each input ---- */

struct fuzz_cmd {
	int argc;
	char *argv[FUZZ_MAX_ARGS + 1];
	int json;
};

static struct fuzz_cmd fuzz_cmds[FUZZ_MAX_CMDS];
static int fuzz_ncmds;

static void fuzz_parse_cmds(const char *dflt)
{
	char *s = strdup(fuzz_env("MEMDBG_FUZZ_CMDS", dflt));
	if (!s)
		fuzz_die("out of memory");
	for (char *save = NULL, *line = strtok_r(s, ";", &save); line; line = strtok_r(NULL, ";", &save)) {
		if (fuzz_ncmds == FUZZ_MAX_CMDS)
			fuzz_die("more than %d commands in MEMDBG_FUZZ_CMDS", FUZZ_MAX_CMDS);
		struct fuzz_cmd *c = &fuzz_cmds[fuzz_ncmds];
		for (char *save2 = NULL, *w = strtok_r(line, " \t", &save2); w; w = strtok_r(NULL, " \t", &save2)) {
			if (c->argc == FUZZ_MAX_ARGS)
				fuzz_die("more than %d words in a command", FUZZ_MAX_ARGS);
			c->argv[c->argc++] = w;
			if (strcmp(w, "--json") == 0)
				c->json = 1;
		}
		if (c->argc)
			fuzz_ncmds++;
	}
	if (!fuzz_ncmds)
		fuzz_die("MEMDBG_FUZZ_CMDS names no command");
}

/* ---- output: kept to be checked, then dropped ---- */

struct fuzz_sink {
	char *buf;
	size_t len, cap;
};

static void fuzz_write(void *arg, const char *buf, size_t len)
{
	struct fuzz_sink *s = arg;
	if (s->len + len + 1 > s->cap) {
		size_t cap = (s->len + len + 1) * 2;
		char *b = realloc(s->buf, cap);
		if (!b)
			abort();
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	s->buf[s->len] = 0;
}

static void fuzz_fail(const char *what, const struct fuzz_cmd *c, const char *detail)
{
	fprintf(stderr, "fuzz: %s: %s: %.400s\n", c ? c->argv[0] : "open", what, detail ? detail : "");
	abort();
}

static int fuzz_control(unsigned char ch)
{
	return (ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f;
}

/* One balanced JSON document: brackets match outside strings, strings hold no raw control characters. */
static const char *fuzz_json_problem(const char *p, size_t n)
{
	char stack[256];
	int depth = 0, in_str = 0, seen = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = 0;
			else if (ch < 0x20)
				return "raw control character in a JSON string";
			continue;
		}
		if (ch == '"') {
			in_str = 1;
		} else if (ch == '{' || ch == '[') {
			if (depth == 0 && seen)
				return "more than one JSON document";
			if (depth == (int)sizeof(stack))
				return "JSON nested too deep";
			stack[depth++] = (char)(ch == '{' ? '}' : ']');
			seen = 1;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0 || stack[--depth] != (char)ch)
				return "unbalanced JSON brackets";
		}
	}
	if (in_str || depth)
		return "JSON document cut short";
	if (!seen)
		return "no JSON document";
	return NULL;
}

static void fuzz_check_error(struct memdbg_error *err, const struct fuzz_cmd *c)
{
	const char *msg = memdbg_error_message(err);
	if (!msg || !*msg)
		fuzz_fail("error without a message", c, NULL);
	if (strchr(msg, '\n'))
		fuzz_fail("error message of more than one line", c, msg);
	for (const char *m = msg; *m; m++)
		if (fuzz_control((unsigned char)*m))
			fuzz_fail("raw control character in an error message", c, msg);
	memdbg_error_destroy(err);
}

static void fuzz_run_cmds(struct memdbg_target *t)
{
	for (int i = 0; i < fuzz_ncmds; i++) {
		const struct fuzz_cmd *c = &fuzz_cmds[i];
		struct fuzz_sink sink = { 0 };
		struct memdbg_out out = { .write = fuzz_write, .arg = &sink, .json = c->json };
		char *argv[FUZZ_MAX_ARGS + 1];
		memcpy(argv, c->argv, sizeof(argv)); /* memdbg_run may permute argv */
		struct memdbg_error *err = memdbg_run(t, c->argc, argv, &out);
		if (err) {
			fuzz_check_error(err, c);
		} else if (c->json) {
			const char *why = fuzz_json_problem(sink.buf ? sink.buf : "", sink.len);
			if (why)
				fuzz_fail(why, c, sink.buf);
		} else {
			for (size_t j = 0; j < sink.len; j++)
				if (fuzz_control((unsigned char)sink.buf[j]))
					fuzz_fail("raw control character in text output", c, sink.buf + (j > 60 ? j - 60 : 0));
		}
		free(sink.buf);
	}
}

/* ---- scratch files ---- */

static char *fuzz_scratch(const char *suffix)
{
	const char *dir = fuzz_env("TMPDIR", "/tmp");
	char *p = malloc(strlen(dir) + 64);
	if (!p)
		fuzz_die("out of memory");
	sprintf(p, "%s/memdbg-fuzz-%d.%s", dir, (int)getpid(), suffix);
	return p;
}

__attribute__((unused)) static void fuzz_write_file(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		fuzz_die("cannot create %s: %s", path, strerror(errno));
	const char *p = data;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			fuzz_die("cannot write %s: %s", path, strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	close(fd);
}

#endif
