/*
 * main.c - memdbg, the standalone front end: open a core or a live process,
 * then run -c commands or a readline REPL.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"


static const char memdbg_usage[] =
	"usage: memdbg core CORE [--exe EXE] [-c CMD]... [--json] [--jobs N]\n"
	"       memdbg attach PID [--exe EXE] [-c CMD]... [--json] [--jobs N]\n"
	"       memdbg diff BEFORE.core AFTER.core [--exe EXE] [--exe-b EXE] [DIFF OPTIONS] [--json]\n"
	"       memdbg watch PID [WATCH OPTIONS] [--json]\n"
	"       memdbg help [COMMAND]\n"
	"       memdbg --help | --version\n"
	"\n"
	"Inspect the Go heap of a core file or of a live process (attach holds\n"
	"the process stopped while memdbg runs).\n"
	"\n"
	"  --exe EXE   the executable (default: from the core, or /proc/PID/exe)\n"
	"  -c CMD      run CMD (split like a shell line) and exit; repeatable\n"
	"  --json      print every command's result as one JSON document\n"
	"  --jobs N    threads for the parallel passes (default: $MEMDBG_JOBS, else\n"
	"              every CPU; also an option of every command)\n"
	"\n"
	"Without -c, memdbg reads commands interactively.  'memdbg help' lists\n"
	"the commands, 'memdbg help COMMAND' describes one.\n"
	"\n"
	"Exit status: 0 ok; 1 a command failed; 2 usage; 3 partial (printed, but part\n"
	"failed or figures from the target are damaged: see the 'damaged:' lines).\n"
	"\n"
	"Executables without symbols and DWARF (-ldflags='-s -w', strip, PIE) work\n"
	"too: only variable names, and the types only they give, are missing\n"
	"('go-info' says what was found where).\n";

struct memdbg_args {
	const char *mode;	/* "core" or "attach" */
	const char *what;	/* the core path or the pid */
	const char *exe;
	const char *jobs;	/* --jobs N: the default of every command, as $MEMDBG_JOBS */
	const char **cmds;
	int ncmds;
	bool json;
};

static int memdbg_usage_error(const char *fmt, const char *arg)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, arg);
	memdbg_cli_error("%s (try 'memdbg --help')", msg);
	return MEMDBG_EXIT_USAGE;
}

/*
 * Does arg name the option?  Long options take "--name VALUE" or
 * "--name=VALUE", short ones "-c VALUE" or "-cVALUE"; *inline_ret is the
 * value glued to the option, if any.
 */
static bool memdbg_opt_is(const char *arg, const char *name, const char **inline_ret)
{
	size_t n = strlen(name);
	bool is_long = name[1] == '-';

	if (strncmp(arg, name, n))
		return false;
	if (!arg[n]) {
		*inline_ret = NULL;
		return true;
	}
	if (is_long && arg[n] != '=')
		return false;
	*inline_ret = arg + n + is_long;
	return true;
}

/* Parse what follows "core" or "attach".  Returns -1 to go on, else an exit status. */
static int memdbg_parse(int argc, char **argv, struct memdbg_args *args)
{
	bool opts = true;

	args->mode = argv[1];
	args->cmds = calloc(argc, sizeof(*args->cmds));
	if (!args->cmds) {
		memdbg_cli_error("out of memory");
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i];
		const char **slot = NULL;
		const char *value = NULL;

		if (opts && !strcmp(arg, "--")) {
			opts = false;
			continue;
		}
		if (opts && (!strcmp(arg, "--help") || !strcmp(arg, "-h"))) {
			fputs(memdbg_usage, stdout);
			return 0;
		}
		if (opts && !strcmp(arg, "--json")) {
			args->json = true;
			continue;
		}
		if (opts && memdbg_opt_is(arg, "--exe", &value))
			slot = &args->exe;
		else if (opts && memdbg_opt_is(arg, "--jobs", &value))
			slot = &args->jobs;
		else if (opts && (memdbg_opt_is(arg, "-c", &value) ||
				  memdbg_opt_is(arg, "--command", &value)))
			slot = &args->cmds[args->ncmds++];
		if (slot) {
			if (!value && i + 1 < argc)
				value = argv[++i];
			if (!value)
				return memdbg_usage_error("option '%s' needs an argument", arg);
			*slot = value;
			continue;
		}
		if (opts && arg[0] == '-' && arg[1])
			return memdbg_usage_error("unknown option '%s'", arg);
		if (args->what)
			return memdbg_usage_error("unexpected argument '%s'", arg);
		args->what = arg;
	}
	if (args->jobs) {
		char *end;
		unsigned long n = strtoul(args->jobs, &end, 10);
		if (*end || end == args->jobs || args->jobs[0] == '-' || n < 1 || n > 256)
			return memdbg_usage_error("--jobs wants a number from 1 to 256, not '%s'", args->jobs);
		setenv("MEMDBG_JOBS", args->jobs, 1);
	}
	if (!args->what)
		return memdbg_usage_error("%s", !strcmp(args->mode, "core") ?
					  "core: missing CORE argument" :
					  "attach: missing PID argument");
	return -1;
}

static int memdbg_parse_pid(const char *s, int *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT_MAX)
		return memdbg_usage_error("invalid PID '%s'", s);
	*pid = (int)v;
	return -1;
}

static int memdbg_open(const struct memdbg_args *args, struct memdbg_target **ret)
{
	struct memdbg_error *err;
	int pid = 0, rc;

	if (!strcmp(args->mode, "core")) {
		err = memdbg_target_open_core(args->what, args->exe, ret);
	} else {
		rc = memdbg_parse_pid(args->what, &pid);
		if (rc >= 0)
			return rc;
		err = memdbg_target_open_pid(pid, args->exe, true, ret);
	}
	if (!err)
		return -1;
	memdbg_cli_error("%s", memdbg_error_message(err));
	memdbg_error_destroy(err);
	return 1;
}

static int memdbg_batch(struct memdbg_cli *cli, const struct memdbg_args *args)
{
	int status = 0;

	for (int i = 0; i < args->ncmds; i++) {
		status = memdbg_cli_worst(status, memdbg_cli_run_line(cli, args->cmds[i]));
		if (memdbg_cli_was_interrupted())
			break;
	}
	return status;
}

static int memdbg_target_main(int argc, char **argv)
{
	struct memdbg_args args = { 0 };
	struct memdbg_cli cli = { 0 };
	int rc;

	rc = memdbg_parse(argc, argv, &args);
	if (rc < 0)
		rc = memdbg_open(&args, &cli.target);
	if (rc < 0) {
		cli.json = args.json;
		rc = args.ncmds ? memdbg_batch(&cli, &args) : memdbg_cli_repl(&cli);
		memdbg_target_destroy(cli.target);
	}
	free(args.cmds);
	return rc;
}

/* "memdbg help [COMMAND]": the core's help command, no target needed. */
static int memdbg_help_main(int argc, char **argv)
{
	struct memdbg_cli cli = { 0 };

	return memdbg_cli_run_argv(&cli, argc - 1, argv + 1);
}

/* "memdbg watch PID ...": the core's watch command; it opens the process itself. */
static int memdbg_watch_main(int argc, char **argv)
{
	struct memdbg_cli cli = { 0 };

	return memdbg_cli_run_argv(&cli, argc - 1, argv + 1);
}

/*
 * "memdbg diff BEFORE AFTER [--exe EXE] [--exe-b EXE] ...": AFTER is the
 * target, BEFORE goes to diff --against; --exe names both executables
 * unless --exe-b names AFTER's.  Other options go to the diff command.
 */
static int memdbg_diff_main(int argc, char **argv)
{
	const char *cores[2] = { NULL, NULL }, *exe = NULL, *exe_b = NULL, *value;
	char **dargv = calloc(argc + 5, sizeof(*dargv));
	struct memdbg_cli cli = { 0 };
	struct memdbg_error *err;
	int dargc = 0, ncores = 0, rc = 1;

	if (!dargv) {
		memdbg_cli_error("out of memory");
		return 1;
	}
	dargv[dargc++] = "diff";
	for (int i = 2; i < argc; i++) {
		const char **slot = memdbg_opt_is(argv[i], "--exe", &value) ? &exe
				    : memdbg_opt_is(argv[i], "--exe-b", &value) ? &exe_b : NULL;

		if (slot) {
			if (!value && i + 1 < argc)
				value = argv[++i];
			if (!value) {
				free(dargv);
				return memdbg_usage_error("option '%s' needs an argument", argv[i]);
			}
			*slot = value;
		} else if (argv[i][0] != '-' && ncores < 2) {
			cores[ncores++] = argv[i];
		} else {
			dargv[dargc++] = argv[i];  /* a diff option (and its value) */
		}
	}
	if (ncores < 2) {
		free(dargv);
		return memdbg_usage_error("%s", "diff: needs two cores, BEFORE and AFTER");
	}
	dargv[dargc++] = "--against";
	dargv[dargc++] = (char *)cores[0];
	if (exe) {
		dargv[dargc++] = "--against-exe";
		dargv[dargc++] = (char *)exe;
	}
	err = memdbg_target_open_core(cores[1], exe_b ? exe_b : exe, &cli.target);
	if (err) {
		memdbg_cli_error("%s", memdbg_error_message(err));
		memdbg_error_destroy(err);
	} else {
		rc = memdbg_cli_run_argv(&cli, dargc, dargv);
		memdbg_target_destroy(cli.target);
	}
	free(dargv);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd)
		return memdbg_usage_error("%s", "missing command");
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(memdbg_usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("memdbg %s\n", MEMDBG_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "help"))
		return memdbg_help_main(argc, argv);
	if (!strcmp(cmd, "watch"))
		return memdbg_watch_main(argc, argv);
	if (!strcmp(cmd, "diff"))
		return memdbg_diff_main(argc, argv);
	if (!strcmp(cmd, "core") || !strcmp(cmd, "attach"))
		return memdbg_target_main(argc, argv);
	if (cmd[0] == '-')
		return memdbg_usage_error("unknown option '%s'", cmd);
	return memdbg_usage_error("unknown command '%s'", cmd);
}
