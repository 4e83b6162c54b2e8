/* goroutines.c - the goroutines command: one row per goroutine, or groups of identical ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/stack.h"

#define MAX_BT GO_MAX_FRAMES
#define GROUP_IDS 8  /* goroutine ids listed per group */

/* A goroutine with what the command shows of its stack. */
struct row {
	const struct go_goroutine *g;
	struct go_inline top;        /* first logical frame outside the runtime (or the innermost) */
	bool has_top;
	struct go_frame *frames;     /* the first --bt frames, and the top frame */
	size_t nframes, depth;       /* kept, and walked */
	enum go_unwind_end end;
	const char *created_by, *start;
	const char *created_file;
	int32_t created_line;
};

enum group_by { GROUP_NONE, GROUP_STATUS, GROUP_TOP, GROUP_START };

/* Runtime-internal packages: the top frame a reader wants is below them. */
static bool runtime_frame(const char *name)
{
	return strncmp(name, "runtime.", 8) == 0 || strncmp(name, "internal/runtime/", 17) == 0 ||
	       strncmp(name, "runtime/internal/", 17) == 0;
}

#define MAX_INLINE 64

struct collect {
	struct go_stack *s;
	struct row *r;
	size_t keep;   /* frames to keep (--bt) */
	bool user_top; /* the top is outside the runtime */
	const char *wrapper;  /* the start function when it is a go statement's wrapper */
	const char *inner;    /* the previous (inner) logical frame */
	struct memdbg_error *err;
};

static bool collect_frame(void *arg, const struct go_frame *f)
{
	struct collect *c = arg;
	struct row *r = c->r;
	r->depth++;
	struct go_inline in[MAX_INLINE];
	size_t n = go_func_inlined(c->s, f->fn, f->sym_pc, in, MAX_INLINE);
	for (size_t i = 0; i < n; i++) {
		if (!c->user_top && (!r->has_top || !runtime_frame(in[i].name))) {
			r->top = in[i];
			r->has_top = true;
			c->user_top = !runtime_frame(in[i].name);
		}
		/* `go f(x)` starts a wrapper (pkg.caller.gowrapN) that calls f: f is the start. */
		if (c->wrapper && c->inner && strcmp(in[i].name, c->wrapper) == 0)
			r->start = c->inner;
		c->inner = in[i].name;
	}
	if (r->nframes < c->keep) {
		struct go_frame *n = realloc(r->frames, (r->nframes + 1) * sizeof(*n));
		if (!n) {
			c->err = memdbg_enomem;
			return false;
		}
		r->frames = n;
		r->frames[r->nframes++] = *f;
	}
	return true;  /* walk to the end: completeness is reported */
}

static const char *func_name(struct go_stack *s, uint64_t pc)
{
	const struct go_func *f = pc ? go_func_at(s, pc) : NULL;
	return f ? f->name : NULL;
}

static struct memdbg_error *build_row(struct go_stack *s, const struct go_goroutine *g, size_t keep, struct row *r)
{
	memset(r, 0, sizeof(*r));
	r->g = g;
	r->start = func_name(s, g->startpc);
	struct collect c = { s, r, keep, false, NULL, NULL, NULL };
	if (r->start && strstr(r->start, ".gowrap"))
		c.wrapper = r->start;
	struct memdbg_error *err = go_unwind(s, g, GO_MAX_FRAMES, collect_frame, &c, &r->end);
	if (err || (err = c.err))
		return err;
	if (r->end == GO_UNWIND_STOPPED)
		r->end = GO_UNWIND_COMPLETE;  /* we stopped it: the rest was not needed */
	/* The main goroutine's gopc is in the startup code, as the runtime's traceback knows. */
	const struct go_func *cf = g->gopc && g->goid != 1 ? go_func_at(s, g->gopc) : NULL;
	if (cf) {
		r->created_by = cf->name;
		if (!go_func_line(s, cf, g->gopc - 1, &r->created_file, &r->created_line))
			r->created_file = NULL;
	}
	return NULL;
}

struct memdbg_error *go_goroutine_top(struct go_stack *s, const struct go_goroutine *g, const char **top,
				      const char **start)
{
	struct row r;
	struct memdbg_error *err = build_row(s, g, 0, &r);
	free(r.frames);
	if (err)
		return err;
	*top = r.has_top ? r.top.name : NULL;
	*start = r.start;
	return NULL;
}

static int row_cmp_id(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	return x->g->goid < y->g->goid ? -1 : x->g->goid > y->g->goid;
}

/* "1h2m", "3m4s", "5.2s", "12ms" */
static void format_duration(int64_t ns, char *buf, size_t len)
{
	if (ns >= (int64_t)3600000000000)
		snprintf(buf, len, "%" PRId64 "h%" PRId64 "m", ns / (int64_t)3600000000000, ns / (int64_t)60000000000 % 60);
	else if (ns >= (int64_t)60000000000)
		snprintf(buf, len, "%" PRId64 "m%" PRId64 "s", ns / (int64_t)60000000000, ns / (int64_t)1000000000 % 60);
	else if (ns >= (int64_t)1000000000)
		snprintf(buf, len, "%.1fs", (double)ns / 1e9);
	else
		snprintf(buf, len, "%" PRId64 "ms", ns / 1000000);
}

static bool wait_known(const struct go_goroutine *g, int64_t now)
{
	return g->wait_since > 0 && now >= g->wait_since;
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	return slash ? slash + 1 : path;
}

static const char *const regs_names[] = {
	[GO_REGS_SCHED] = "sched", [GO_REGS_SYSCALL] = "syscall", [GO_REGS_THREAD] = "thread",
	[GO_REGS_SIGNAL] = "signal", [GO_REGS_UNAVAILABLE] = "unavailable",
};

/* ---- one row per goroutine ---- */

static const struct memdbg_col g_cols[] = {
	{ "id", MEMDBG_COL_U64, 6 },
	{ "status", MEMDBG_COL_STR, -9 },
	{ "wait_reason", MEMDBG_COL_STR, -20 },
	{ "wait", MEMDBG_COL_STR, 7 },
	{ "stack_bytes", MEMDBG_COL_U64, 11 },
	{ "top", MEMDBG_COL_STR, -30 },
	{ "top_line", MEMDBG_COL_STR, -22 },
	{ "created_by", MEMDBG_COL_STR, -24 },
};

static void g_values(const struct row *r, int64_t now, char *wait, size_t wlen, char *line, size_t llen,
		     struct memdbg_val *v)
{
	const struct go_goroutine *g = r->g;
	bool known = wait_known(g, now);
	if (known)
		format_duration(now - g->wait_since, wait, wlen);
	if (r->has_top)
		snprintf(line, llen, "%s:%d", base_name(r->top.file), r->top.line);
	struct memdbg_val vals[] = {
		{ .u = g->goid },
		{ .s = g->status_name },
		{ .s = g->wait_reason_name, .null = !g->wait_reason_name },
		{ .s = wait, .null = !known },
		{ .u = g->regs_from != GO_REGS_UNAVAILABLE ? g->stack_hi - g->sp : 0,
		  .null = g->regs_from == GO_REGS_UNAVAILABLE },
		{ .s = r->top.name, .null = !r->has_top },
		{ .s = line, .null = !r->has_top },
		{ .s = r->created_by, .null = !r->created_by },
	};
	memcpy(v, vals, sizeof(vals));
}

/* The first n logical frames (inlined calls expanded), with the physical frame's pc and sp. */
static void print_frames(struct memdbg_printer *p, struct go_stack *s, const struct row *r, size_t n)
{
	static const struct memdbg_col cols[] = {
		{ "func", MEMDBG_COL_STR, -40 },
		{ "file", MEMDBG_COL_STR, -1 },
		{ "line", MEMDBG_COL_I64, -1 },
		{ "pc", MEMDBG_COL_HEX, -1 },
		{ "sp", MEMDBG_COL_HEX, -1 },
		{ "inlined", MEMDBG_COL_BOOL, -1 },
	};
	memdbg_table_begin(p, "frames", cols, MEMDBG_ARRAY_SIZE(cols));
	size_t shown = 0;
	for (size_t i = 0; i < r->nframes && shown < n; i++) {
		const struct go_frame *f = &r->frames[i];
		struct go_inline in[MAX_INLINE];
		size_t k = go_func_inlined(s, f->fn, f->sym_pc, in, MAX_INLINE);
		for (size_t j = 0; j < k && shown < n; j++, shown++) {
			struct memdbg_val v[] = { { .s = in[j].name }, { .s = in[j].file },
						  { .u = (uint64_t)(int64_t)in[j].line }, { .u = f->pc }, { .u = f->sp },
						  { .u = in[j].inlined } };
			memdbg_table_row(p, v);
		}
	}
	memdbg_table_end(p);
}

/* JSON object (and text block) of one goroutine, with its first n frames. */
static void print_goroutine(struct memdbg_printer *p, struct go_stack *s, const struct row *r, int64_t now, size_t bt)
{
	const struct go_goroutine *g = r->g;
	char wait[32] = "", line[256] = "", title[512];
	struct memdbg_val v[MEMDBG_ARRAY_SIZE(g_cols)];
	g_values(r, now, wait, sizeof(wait), line, sizeof(line), v);
	snprintf(title, sizeof(title), "goroutine %" PRIu64 " [%s%s%s%s%s]%s%s%s", g->goid, g->status_name,
		 g->wait_reason_name ? ", " : "", g->wait_reason_name ? g->wait_reason_name : "",
		 wait_known(g, now) ? ", >= " : "", wait_known(g, now) ? wait : "",
		 r->created_by ? " created by " : "", r->created_by ? r->created_by : "",
		 r->end == GO_UNWIND_COMPLETE ? "" : " (unwind incomplete)");
	memdbg_begin_object(p, NULL, title);
	if (memdbg_printer_json(p)) {
		memdbg_field_u64(p, "id", g->goid);
		memdbg_field_str(p, "status", g->status_name);
		if (g->wait_reason_name)
			memdbg_field_str(p, "wait_reason", g->wait_reason_name);
		else
			memdbg_field_null(p, "wait_reason");
		if (wait_known(g, now))
			memdbg_field_i64(p, "wait_ns", now - g->wait_since);
		else
			memdbg_field_null(p, "wait_ns");
		memdbg_field_hex(p, "g", g->addr);
		memdbg_field_hex(p, "stack_lo", g->stack_lo);
		memdbg_field_hex(p, "stack_hi", g->stack_hi);
		if (g->regs_from != GO_REGS_UNAVAILABLE)
			memdbg_field_u64(p, "stack_bytes", g->stack_hi - g->sp);
		else
			memdbg_field_null(p, "stack_bytes");
		memdbg_field_str(p, "top", r->has_top ? r->top.name : "?");
		memdbg_field_str(p, "start", r->start ? r->start : "?");
		memdbg_field_str(p, "created_by", r->created_by ? r->created_by : "?");
		memdbg_field_bool(p, "system", g->system);
		memdbg_field_str(p, "regs", regs_names[g->regs_from]);
		memdbg_field_str(p, "unwind", go_unwind_end_name(r->end));
		memdbg_field_u64(p, "depth", r->depth);
	}
	print_frames(p, s, r, bt);
	memdbg_end_object(p);
}

/* ---- groups ---- */

struct group {
	const char *key;
	size_t first;  /* index of the first row (rows are sorted by key, then id) */
	size_t count;
	uint64_t stack_bytes;
	bool same_status, same_reason;
};

static enum group_by sort_by;

static const char *row_key(const struct row *r, enum group_by by)
{
	switch (by) {
	case GROUP_STATUS: return r->g->wait_reason_name ? r->g->wait_reason_name : r->g->status_name;
	case GROUP_TOP: return r->has_top ? r->top.name : "(no frames)";
	case GROUP_START: return r->start ? r->start : "?";
	default: return "";
	}
}

static int row_cmp_key(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(row_key(x, sort_by), row_key(y, sort_by));
	return c ? c : row_cmp_id(a, b);
}

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->key, y->key);
}

static struct memdbg_error *print_groups(struct memdbg_printer *p, struct go_stack *s, struct row *rows, size_t n, enum group_by by,
					 size_t bt, int64_t now)
{
	sort_by = by;
	qsort(rows, n, sizeof(*rows), row_cmp_key);
	struct group *gs = calloc(n ? n : 1, sizeof(*gs));
	if (!gs)
		return memdbg_enomem;
	size_t ng = 0;
	for (size_t i = 0; i < n; i++) {
		const char *k = row_key(&rows[i], by);
		struct group *gr = ng ? &gs[ng - 1] : NULL;
		if (!gr || strcmp(gr->key, k) != 0) {
			gr = &gs[ng++];
			*gr = (struct group){ k, i, 0, 0, true, true };
		}
		const struct go_goroutine *g = rows[i].g, *g0 = rows[gr->first].g;
		gr->count++;
		if (g->regs_from != GO_REGS_UNAVAILABLE)
			gr->stack_bytes += g->stack_hi - g->sp;
		gr->same_status &= g->status == g0->status;
		gr->same_reason &= g->wait_reason_name == g0->wait_reason_name;
	}
	qsort(gs, ng, sizeof(*gs), group_cmp);
	/* "state" (wait reason, else status) keeps the key apart from the status column. */
	static const char *const key_names[] = { "", "state", "top", "start" };
	const struct memdbg_col cols[] = {
		{ "count", MEMDBG_COL_U64, 6 },
		{ key_names[by], MEMDBG_COL_STR, -32 },
		{ "status", MEMDBG_COL_STR, -9 },
		{ "wait_reason", MEMDBG_COL_STR, -20 },
		{ "stack_bytes", MEMDBG_COL_U64, 11 },
		{ "ids", MEMDBG_COL_STR, -1 },
	};
	if (bt)
		memdbg_begin_array(p, "groups", NULL);
	else
		memdbg_table_begin(p, "groups", cols, MEMDBG_ARRAY_SIZE(cols));
	for (size_t k = 0; k < ng; k++) {
		const struct group *gr = &gs[k];
		const struct go_goroutine *g0 = rows[gr->first].g;
		char ids[GROUP_IDS * 24 + 8] = "";
		size_t len = 0;
		for (size_t i = 0; i < gr->count && i < GROUP_IDS; i++)
			len += (size_t)snprintf(ids + len, sizeof(ids) - len, "%s%" PRIu64, i ? " " : "",
						rows[gr->first + i].g->goid);
		if (gr->count > GROUP_IDS)
			snprintf(ids + len, sizeof(ids) - len, " ...");
		struct memdbg_val v[] = {
			{ .u = gr->count }, { .s = gr->key },
			{ .s = gr->same_status ? g0->status_name : "mixed" },
			{ .s = gr->same_reason ? g0->wait_reason_name : "mixed",
			  .null = gr->same_reason && !g0->wait_reason_name },
			{ .u = gr->stack_bytes }, { .s = ids },
		};
		if (!bt) {
			memdbg_table_row(p, v);
			continue;
		}
		char title[512];
		snprintf(title, sizeof(title), "%zu goroutines: %s [%s] ids %s", gr->count, gr->key,
			 v[2].s, ids);
		memdbg_begin_object(p, NULL, title);
		if (memdbg_printer_json(p)) {
			memdbg_field_u64(p, "count", gr->count);
			memdbg_field_str(p, key_names[by], gr->key);
			memdbg_field_str(p, "status", v[2].s);
			if (v[3].null)
				memdbg_field_null(p, "wait_reason");
			else
				memdbg_field_str(p, "wait_reason", v[3].s);
			memdbg_field_u64(p, "stack_bytes", gr->stack_bytes);
			memdbg_field_str(p, "ids", ids);
		}
		/* The first goroutine's frames stand for the group. */
		print_frames(p, s, &rows[gr->first], bt);
		memdbg_end_object(p);
	}
	if (bt)
		memdbg_end_array(p);
	else
		memdbg_table_end(p);
	free(gs);
	return NULL;
}

/* ---- the command ---- */

static struct memdbg_error *parse_group_by(struct memdbg_args *a, enum group_by *by)
{
	const char *v = memdbg_arg_value(a, "--group-by");
	*by = GROUP_NONE;
	if (!v)
		return NULL;
	if (strcmp(v, "status") == 0)
		*by = GROUP_STATUS;
	else if (strcmp(v, "top") == 0)
		*by = GROUP_TOP;
	else if (strcmp(v, "start") == 0)
		*by = GROUP_START;
	else
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT,
					   "goroutines: --group-by wants status, top or start, not '%s'", v);
	return NULL;
}

static void free_rows(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].frames);
	free(rows);
}

static void print_totals(struct memdbg_printer *p, struct go_stack *s, const struct row *rows, size_t n,
			 size_t system, size_t skipped, int64_t now)
{
	size_t incomplete = 0, no_regs = 0;
	for (size_t i = 0; i < n; i++) {
		incomplete += rows[i].end != GO_UNWIND_COMPLETE && rows[i].end != GO_UNWIND_NO_REGS;
		no_regs += rows[i].end == GO_UNWIND_NO_REGS;
	}
	memdbg_begin_object(p, "totals", "Totals");
	memdbg_field_u64(p, "goroutines", n);
	memdbg_field_u64(p, "system_hidden", system);
	memdbg_field_u64(p, "unreadable", skipped);
	memdbg_field_u64(p, "unwind_incomplete", incomplete);
	memdbg_field_u64(p, "registers_unavailable", no_regs);
	if (now)
		memdbg_field_i64(p, "now_nanotime", now);
	else
		memdbg_field_null(p, "now_nanotime");
	memdbg_field_u64(p, "unreadable_functions", s->bad_funcs);
	memdbg_end_object(p);
	if (skipped || incomplete)
		memdbg_note(p, "note: %zu Gs of allgs could not be read; %zu stacks did not unwind to their top frame",
			    skipped, incomplete);
}

static struct memdbg_error *run_goroutines(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	enum group_by by;
	uint64_t bt;
	struct memdbg_error *err;
	if ((err = parse_group_by(a, &by)) || (err = memdbg_arg_u64(a, "--bt", 0, MAX_BT, &bt)))
		return err;
	bool all = memdbg_arg_flag(a, "--all");
	struct go_stack *s = NULL;
	if ((err = go_stack_open(t, &s)))
		return err;
	const struct go_goroutine *gs;
	size_t ng, skipped, system = 0, n = 0;
	struct row *rows = NULL;
	if ((err = go_goroutines(s, &gs, &ng, &skipped)))
		goto out;
	rows = calloc(ng ? ng : 1, sizeof(*rows));
	if (!rows) {
		err = memdbg_enomem;
		goto out;
	}
	for (size_t i = 0; i < ng; i++) {
		if ((err = memdbg_check_interrupt(p)))
			goto out;
		if (gs[i].system && !all) {
			system++;
			continue;
		}
		if ((err = build_row(s, &gs[i], bt, &rows[n++])))
			goto out;
	}
	int64_t now = go_stack_now(s);
	if (by != GROUP_NONE) {
		if ((err = print_groups(p, s, rows, n, by, bt, now)))
			goto out;
	} else {
		qsort(rows, n, sizeof(*rows), row_cmp_id);
		if (bt) {
			memdbg_begin_array(p, "goroutines", NULL);
			for (size_t i = 0; i < n; i++)
				print_goroutine(p, s, &rows[i], now, bt);
			memdbg_end_array(p);
		} else {
			memdbg_table_begin(p, "goroutines", g_cols, MEMDBG_ARRAY_SIZE(g_cols));
			for (size_t i = 0; i < n; i++) {
				char wait[32] = "", line[256] = "";
				struct memdbg_val v[MEMDBG_ARRAY_SIZE(g_cols)];
				g_values(&rows[i], now, wait, sizeof(wait), line, sizeof(line), v);
				memdbg_table_row(p, v);
			}
			memdbg_table_end(p);
		}
	}
	print_totals(p, s, rows, n, system, skipped, now);
out:
	free_rows(rows, n);
	go_stack_close(s);
	return err;
}

static const struct memdbg_opt goroutines_opts[] = {
	{ "--group-by", "KEY", "status, top (first frame outside the runtime) or start (go statement's function): "
			       "one row per group with a count, largest first" },
	{ "--bt", "N", "also print the first N frames of each goroutine (of each group's first goroutine)" },
	{ "--all", NULL, "include the runtime's own goroutines (runtime.NumGoroutine leaves them out)" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_goroutines = {
	.info = {
		.name = "goroutines",
		.summary = "goroutines with status, wait reason and duration, stack use, top frame, creator",
		.usage = "goroutines [--group-by status|top|start] [--bt N] [--all] [--json]",
		.help = "Counts what runtime.NumGoroutine counts: system goroutines are hidden unless --all.\n"
			"top is the first frame outside the runtime; stack_bytes is stack.hi - sp.  wait is\n"
			"the time since g.waitsince (recorded by the GC for long waits) up to the latest\n"
			"time the target recorded, so it is a lower bound; '-' when not recorded.  Running\n"
			"goroutines are unwound from their thread's registers (core notes, or ptrace when\n"
			"memdbg attached itself); inside gdb/lldb on a live process they are unavailable.",
	},
	.opts = goroutines_opts,
	.needs_target = true,
	.run = run_goroutines,
};
