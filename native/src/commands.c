/*
 * commands.c - the one command table, option parsing, help, and memdbg_run.
 * Adding a command is one run function plus one row in `commands` below;
 * the CLI, gdb and lldb pick it up with its help, options and --json.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

extern const struct memdbg_command memdbg_cmd_go_info, memdbg_cmd_mspan_walk, memdbg_cmd_mcentral,
	memdbg_cmd_mcache, memdbg_cmd_memstats, memdbg_cmd_histogram, memdbg_cmd_objects, memdbg_cmd_object,
	memdbg_cmd_roots, memdbg_cmd_who_holds, memdbg_cmd_retained, memdbg_cmd_top_retainers;
extern const struct memdbg_command memdbg_cmd_goroutines;
extern const struct memdbg_command memdbg_cmd_pool_residue, memdbg_cmd_frag;
extern const struct memdbg_command memdbg_cmd_je_info, memdbg_cmd_je_arenas, memdbg_cmd_je_bins, memdbg_cmd_je_stats,
	memdbg_cmd_je_extents, memdbg_cmd_je_block;
extern const struct memdbg_command memdbg_cmd_tc_info, memdbg_cmd_tc_stats, memdbg_cmd_tc_classes,
	memdbg_cmd_tc_pageheap, memdbg_cmd_tc_caches, memdbg_cmd_tc_block;
extern const struct memdbg_command memdbg_cmd_glibc_info, memdbg_cmd_glibc_arenas, memdbg_cmd_glibc_bins,
	memdbg_cmd_glibc_chunks, memdbg_cmd_glibc_block;
extern const struct memdbg_command memdbg_cmd_heap_block, memdbg_cmd_find_refs;
extern const struct memdbg_command memdbg_cmd_findings, memdbg_cmd_triage;
extern const struct memdbg_command memdbg_cmd_diff, memdbg_cmd_watch;
static const struct memdbg_command memdbg_cmd_help;

static const struct memdbg_command *const commands[] = {
	&memdbg_cmd_help, &memdbg_cmd_go_info, &memdbg_cmd_memstats, &memdbg_cmd_mspan_walk,
	&memdbg_cmd_mcentral, &memdbg_cmd_mcache, &memdbg_cmd_object, &memdbg_cmd_histogram, &memdbg_cmd_objects,
	&memdbg_cmd_roots, &memdbg_cmd_who_holds, &memdbg_cmd_retained, &memdbg_cmd_top_retainers,
	&memdbg_cmd_pool_residue, &memdbg_cmd_frag,
	&memdbg_cmd_goroutines,
	&memdbg_cmd_je_info, &memdbg_cmd_je_arenas, &memdbg_cmd_je_bins, &memdbg_cmd_je_stats, &memdbg_cmd_je_extents,
	&memdbg_cmd_je_block,
	&memdbg_cmd_tc_info, &memdbg_cmd_tc_stats, &memdbg_cmd_tc_classes, &memdbg_cmd_tc_pageheap, &memdbg_cmd_tc_caches,
	&memdbg_cmd_tc_block,
	&memdbg_cmd_glibc_info, &memdbg_cmd_glibc_arenas, &memdbg_cmd_glibc_bins, &memdbg_cmd_glibc_chunks,
	&memdbg_cmd_glibc_block,
	&memdbg_cmd_heap_block, &memdbg_cmd_find_refs,
	&memdbg_cmd_findings, &memdbg_cmd_triage,
	&memdbg_cmd_diff, &memdbg_cmd_watch,
};

#define MAX_ARGS 64

struct memdbg_args {
	const struct memdbg_command *cmd;
	const char *values[MAX_ARGS];  /* per option in cmd->opts: value, or "" for a set flag */
	const char *positional[MAX_ARGS];
	size_t npositional;
	unsigned jobs;  /* --jobs N, common to every command; 0: not given */
};

/* The public view of each row, with info.options built once from its opts (plus the common ones). */
static struct memdbg_command_info infos[MEMDBG_ARRAY_SIZE(commands)];
static const char *option_names[MEMDBG_ARRAY_SIZE(commands)][MAX_ARGS + 3];
#define MAX_JOBS 256

size_t memdbg_command_count(void)
{
	return MEMDBG_ARRAY_SIZE(commands);
}

static const struct memdbg_command_info *command_info(size_t i)
{
	struct memdbg_command_info *info = &infos[i];
	if (!info->options) {
		*info = commands[i]->info;
		size_t n = 0;
		for (const struct memdbg_opt *o = commands[i]->opts; o && o->name && n < MAX_ARGS; o++)
			option_names[i][n++] = o->name;
		option_names[i][n++] = "--json";
		option_names[i][n++] = "--jobs";
		option_names[i][n] = NULL;
		info->options = option_names[i];
	}
	return info;
}

const struct memdbg_command_info *memdbg_command_at(size_t i)
{
	return i < MEMDBG_ARRAY_SIZE(commands) ? command_info(i) : NULL;
}

static const struct memdbg_command *find_command(const char *name, size_t *index)
{
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(commands); i++) {
		if (strcmp(commands[i]->info.name, name) == 0) {
			if (index)
				*index = i;
			return commands[i];
		}
	}
	return NULL;
}

const struct memdbg_command_info *memdbg_command_find(const char *name)
{
	size_t i;
	return find_command(name, &i) ? command_info(i) : NULL;
}

static const struct memdbg_opt *find_opt(const struct memdbg_command *cmd, const char *name, size_t len,
					 size_t *index)
{
	for (size_t i = 0; cmd->opts && cmd->opts[i].name; i++) {
		if (strlen(cmd->opts[i].name) == len && memcmp(cmd->opts[i].name, name, len) == 0) {
			*index = i;
			return &cmd->opts[i];
		}
	}
	return NULL;
}

/* --jobs N: how many threads the command's parallel passes use. */
static struct memdbg_error *parse_jobs(const char *name, const char *v, unsigned *jobs)
{
	char *end;
	errno = 0;
	unsigned long n = v ? strtoul(v, &end, 10) : 0;
	if (!v || errno || end == v || *end || v[0] == '-' || n < 1 || n > MAX_JOBS)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "%s: --jobs wants a number from 1 to %d, not '%s'",
					   name, MAX_JOBS, v ? v : "");
	*jobs = (unsigned)n;
	return NULL;
}

static struct memdbg_error *parse_args(const struct memdbg_command *cmd, int argc, char **argv,
				       struct memdbg_args *a, bool *json)
{
	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	const char *name = cmd->info.name;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--json") == 0) {
			*json = true;
			continue;
		}
		if (strcmp(arg, "--jobs") == 0 || strncmp(arg, "--jobs=", 7) == 0) {
			struct memdbg_error *err = parse_jobs(name, arg[6] ? arg + 7 : i + 1 < argc ? argv[++i] : NULL,
							      &a->jobs);
			if (err)
				return err;
			continue;
		}
		if (arg[0] != '-' || arg[1] == '\0' || (arg[1] >= '0' && arg[1] <= '9')) {
			if (a->npositional == MAX_ARGS)
				return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "%s: too many arguments",
							   name);
			a->positional[a->npositional++] = arg;
			continue;
		}
		const char *eq = strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg), index;
		const struct memdbg_opt *opt = find_opt(cmd, arg, len, &index);
		if (!opt)
			return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT,
						   "%s: unknown option %.*s (see 'help %s')", name, (int)len, arg, name);
		if (!opt->arg) {
			if (eq)
				return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT,
							   "%s: option %s takes no value", name, opt->name);
			a->values[index] = "";
		} else if (eq) {
			a->values[index] = eq + 1;
		} else if (i + 1 < argc) {
			a->values[index] = argv[++i];
		} else {
			return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "%s: option %s needs a value %s",
						   name, opt->name, opt->arg);
		}
	}
	return NULL;
}

static const char *arg_lookup(struct memdbg_args *a, const char *name)
{
	for (size_t i = 0; a->cmd->opts && a->cmd->opts[i].name; i++)
		if (strcmp(a->cmd->opts[i].name, name) == 0)
			return a->values[i];
	return NULL;
}

bool memdbg_arg_flag(struct memdbg_args *a, const char *name)
{
	return arg_lookup(a, name) != NULL;
}

const char *memdbg_arg_value(struct memdbg_args *a, const char *name)
{
	return arg_lookup(a, name);
}

struct memdbg_error *memdbg_arg_u64(struct memdbg_args *a, const char *name, uint64_t def, uint64_t max,
				    uint64_t *ret)
{
	const char *v = arg_lookup(a, name);
	if (!v) {
		*ret = def;
		return NULL;
	}
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 0);
	if (errno || end == v || *end || v[0] == '-' || n > max)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "%s: %s wants a number from 0 to %" PRIu64
					   ", not '%s'", a->cmd->info.name, name, max, v);
	*ret = n;
	return NULL;
}

struct memdbg_error *memdbg_arg_address(struct memdbg_args *a, uint64_t *ret)
{
	const char *name = a->cmd->info.name, *v = a->npositional ? a->positional[0] : NULL;
	if (!v)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "%s: usage: %s", name, a->cmd->info.usage);
	char *end;
	errno = 0;
	*ret = strtoull(v, &end, 0);
	if (errno || end == v || *end || v[0] == '-')
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "%s: '%s' is not an address", name, v);
	return NULL;
}

struct memdbg_error *memdbg_arg_double(struct memdbg_args *a, const char *name, double def, double *ret)
{
	const char *v = arg_lookup(a, name);
	if (!v) {
		*ret = def;
		return NULL;
	}
	char *end;
	double d = strtod(v, &end);
	if (end == v || *end || d != d)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "%s: %s wants a number, not '%s'",
					   a->cmd->info.name, name, v);
	*ret = d;
	return NULL;
}

size_t memdbg_arg_positional_count(struct memdbg_args *a)
{
	return a->npositional;
}

const char *memdbg_arg_positional(struct memdbg_args *a, size_t i)
{
	return i < a->npositional ? a->positional[i] : NULL;
}

struct memdbg_error *memdbg_run(struct memdbg_target *t, int argc, char **argv, const struct memdbg_out *out)
{
	if (argc < 1 || !argv[0])
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "no command given (try 'help')");
	const struct memdbg_command *cmd = find_command(argv[0], NULL);
	if (!cmd)
		return memdbg_error_format(MEMDBG_ERROR_LOOKUP, "unknown command '%s' (try 'help')", argv[0]);
	struct memdbg_args args;
	struct memdbg_out o = *out;
	struct memdbg_error *err = parse_args(cmd, argc, argv, &args, &o.json);
	if (err)
		return err;
	if (args.npositional > cmd->max_args)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "%s: unexpected argument '%s' (see 'help %s')",
					   argv[0], args.positional[cmd->max_args], argv[0]);
	if (cmd->needs_target && !t)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT,
					   "%s needs a target: open a core or attach to a process first", argv[0]);
	struct memdbg_printer *p = memdbg_printer_create(&o);
	if (!p)
		return memdbg_enomem;
	if (o.json)
		memdbg_field_str(p, "command", cmd->info.name);
	unsigned jobs = memdbg_jobs_set(args.jobs);
	err = cmd->run(t, &args, p);
	memdbg_jobs_set(jobs);
	if (err)
		memdbg_printer_fail(p, memdbg_error_message(err));
	else
		err = memdbg_printer_result(p);
	memdbg_printer_destroy(p);
	return err;
}

/*
 * Runs another command inside p, as an object keyed by its name (triage):
 * its options parsed as usual, no "command" member, errors left to the caller.
 */
struct memdbg_error *memdbg_run_nested(struct memdbg_target *t, struct memdbg_printer *p, int argc, char **argv)
{
	const struct memdbg_command *cmd = argc > 0 && argv[0] ? find_command(argv[0], NULL) : NULL;
	if (!cmd)
		return memdbg_error_format(MEMDBG_ERROR_LOOKUP, "unknown command '%s'", argc > 0 && argv[0] ? argv[0] : "");
	struct memdbg_args args;
	bool json = false;
	struct memdbg_error *err = parse_args(cmd, argc, argv, &args, &json);
	if (err)
		return err;
	memdbg_begin_object(p, cmd->info.name, cmd->info.name);
	if ((err = cmd->run(t, &args, p)))
		return err;  /* the caller fails the document, closing what the command left open */
	memdbg_end_object(p);
	return NULL;
}

/* ---- help ---- */

static void help_command(struct memdbg_printer *p, const struct memdbg_command *c)
{
	memdbg_note(p, "usage: %s", c->info.usage);
	memdbg_note(p, "%s", c->info.summary);
	if (c->info.help && *c->info.help)
		memdbg_note(p, "\n%s", c->info.help);
	memdbg_note(p, "\noptions:");
	for (const struct memdbg_opt *o = c->opts; o && o->name; o++) {
		char left[64];
		snprintf(left, sizeof(left), "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		memdbg_note(p, "  %-20s %s", left, o->help);
	}
	memdbg_note(p, "  %-20s %s", "--json", "print one JSON document instead of text");
	memdbg_note(p, "  %-20s %s", "--jobs N", "threads for the parallel passes (default: $MEMDBG_JOBS, else every CPU)");
	if (memdbg_printer_json(p)) {
		memdbg_field_str(p, "name", c->info.name);
		memdbg_field_str(p, "usage", c->info.usage);
		memdbg_field_str(p, "summary", c->info.summary);
		memdbg_field_str(p, "help", c->info.help ? c->info.help : "");
	}
}

static struct memdbg_error *run_help(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	const char *name = memdbg_arg_positional(a, 0);
	if (name) {
		const struct memdbg_command *c = find_command(name, NULL);
		if (!c)
			return memdbg_error_format(MEMDBG_ERROR_LOOKUP, "unknown command '%s' (try 'help')", name);
		help_command(p, c);
		return NULL;
	}
	memdbg_note(p, "memdbg commands (help COMMAND for details; every command takes --json and --jobs N):");
	static const struct memdbg_col cols[] = {
		{ "name", MEMDBG_COL_STR, -14 },
		{ "summary", MEMDBG_COL_STR, -1 },
	};
	if (memdbg_printer_json(p))
		memdbg_table_begin(p, "commands", cols, 2);
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(commands); i++) {
		if (memdbg_printer_json(p)) {
			struct memdbg_val v[2] = { { .s = commands[i]->info.name }, { .s = commands[i]->info.summary } };
			memdbg_table_row(p, v);
		} else {
			memdbg_note(p, "  %-14s %s", commands[i]->info.name, commands[i]->info.summary);
		}
	}
	if (memdbg_printer_json(p))
		memdbg_table_end(p);
	return NULL;
}

static const struct memdbg_command memdbg_cmd_help = {
	.info = {
		.name = "help",
		.summary = "list the commands, or describe one",
		.usage = "help [COMMAND]",
		.help = "In gdb and lldb every command is also available as 'memdbg COMMAND'.",
	},
	.max_args = 1,
	.run = run_help,
};
