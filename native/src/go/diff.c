/*
 * diff.c - what grew between two snapshots of one Go program: the target
 * (the "after": a core, or the live process a debugger holds) against an
 * earlier core (--against, the "before").
 *
 * Objects are never matched by address (a later core of another process
 * has other addresses): each snapshot is reduced to tallies keyed by what a
 * person recognises, and the tallies are compared key by key.
 *   types       live objects per type ([N]T arrays under []T)
 *   retainers   per GC root, the bytes and objects it alone keeps alive (the
 *               dominator tree), named as top-retainers names them; the
 *               stack roots of different goroutines with the same frame and
 *               variable are one retainer
 *   held        per retainer and type: the objects that retainer dominates
 *   goroutines  groups of status, wait reason, top frame and start function
 *   pools       per sync.Pool, its entries and their bytes
 *   classes     per size class, live objects from MemStats (and large objects)
 * plus the MemStats fields before and after.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/graph.h"
#include "go/html.h"
#include "go/memstats.h"
#include "go/pools.h"
#include "go/stack.h"

enum { BEFORE, AFTER };
#define SEP '\x1f'  /* between the labels of a key */

struct row {
	char *key;
	uint64_t count[2], bytes[2];
};

/* Rows by key: an open-addressing index over a growing array. */
struct tally {
	struct row *rows;
	size_t n, cap;
	uint32_t *index;  /* row + 1, 0 = empty */
	size_t slots;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static bool tally_rehash(struct tally *t, size_t slots)
{
	uint32_t *index = calloc(slots, sizeof(*index));
	if (!index)
		return false;
	for (size_t i = 0; i < t->n; i++) {
		size_t h = hash_str(t->rows[i].key) & (slots - 1);
		while (index[h])
			h = (h + 1) & (slots - 1);
		index[h] = (uint32_t)i + 1;
	}
	free(t->index);
	t->index = index;
	t->slots = slots;
	return true;
}

static struct memdbg_error *tally_add(struct tally *t, const char *key, int side, uint64_t count, uint64_t bytes)
{
	if (2 * (t->n + 1) > t->slots && !tally_rehash(t, t->slots ? 2 * t->slots : 256))
		return memdbg_enomem;
	size_t h = hash_str(key) & (t->slots - 1);
	while (t->index[h] && strcmp(t->rows[t->index[h] - 1].key, key) != 0)
		h = (h + 1) & (t->slots - 1);
	if (!t->index[h]) {
		if (t->n == t->cap) {
			size_t cap = t->cap ? 2 * t->cap : 64;
			struct row *r = realloc(t->rows, cap * sizeof(*r));
			if (!r)
				return memdbg_enomem;
			t->rows = r;
			t->cap = cap;
		}
		char *k = strdup(key);
		if (!k)
			return memdbg_enomem;
		t->rows[t->n] = (struct row){ .key = k };
		t->index[h] = (uint32_t)++t->n;
	}
	struct row *r = &t->rows[t->index[h] - 1];
	r->count[side] += count;
	r->bytes[side] += bytes;
	return NULL;
}

static void tally_free(struct tally *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->rows[i].key);
	free(t->rows);
	free(t->index);
}

enum section { S_TYPES, S_RETAINERS, S_HELD, S_GOROUTINES, S_POOLS, S_CLASSES, S_COUNT };

struct snapshot {
	char version[64];
	char *path;
	int pid;
	struct go_memstats ms;
	uint64_t goroutines;
};

struct diff {
	struct tally s[S_COUNT];
	struct snapshot snap[2];
};

/* ---- one snapshot ---- */

/* "[100]main.T" -> "[]main.T": a growing slice's backing array changes length, not element. */
static const char *type_key(const char *name, char *buf, size_t size)
{
	if (name[0] != '[' || !isdigit((unsigned char)name[1]))
		return name;
	const char *close = strchr(name, ']');
	if (!close)
		return name;
	snprintf(buf, size, "[]%s", close + 1);
	return buf;
}

/* A root as "kind<SEP>name"; "goroutine 17 frame f var v" loses its goroutine id. */
static void root_key(const struct go_root *r, char *buf, size_t size)
{
	static const char *const kinds[] = { "global", "stack", "finalizer", "other" };
	const char *name = r->name;
	unsigned long long id;
	int n = 0;
	if (r->kind == GO_ROOT_STACK && sscanf(name, "goroutine %llu %n", &id, &n) == 1 && n > 0)
		name += n;
	snprintf(buf, size, "%s%c%s", kinds[r->kind], SEP, name);
}

static struct memdbg_error *collect_heap(struct memdbg_target *t, struct memdbg_go *go, struct memdbg_printer *p,
					 struct diff *d, int side)
{
	struct go_objects *o;
	struct go_graph *g;
	struct memdbg_error *err;
	if ((err = go_objects_get(t, go, p, &o)) || (err = go_graph_get(t, go, o, p, &g)))
		return err;
	uint32_t first = go_graph_first_obj(g);
	/* The root each object's dominator chain starts from (0: several roots share it). */
	uint32_t *root_of = malloc((size_t)g->nnodes * sizeof(*root_of));
	uint32_t *chain = malloc((size_t)g->nnodes * sizeof(*chain));
	char (*keys)[512] = calloc(first, sizeof(*keys));
	if (!root_of || !chain || !keys) {
		err = memdbg_enomem;
		goto out;
	}
	for (uint32_t v = 0; v < g->nnodes; v++)
		root_of[v] = v < first ? v : UINT32_MAX;
	for (uint32_t v = first; v < g->nnodes; v++) {
		size_t n = 0;
		uint32_t u = v;
		while (u < g->nnodes && u >= first && root_of[u] == UINT32_MAX && n < g->nnodes) {
			chain[n++] = u;
			u = g->idom[u];
		}
		uint32_t r = u == UINT32_MAX || u >= g->nnodes ? 0 : root_of[u];
		while (n)
			root_of[chain[--n]] = r;
	}
	strcpy(keys[0], "roots\x1f(several roots)");
	for (uint32_t r = 1; r < first; r++) {
		root_key(&o->roots[g->root_index[r]], keys[r], sizeof(keys[r]));
		if ((err = tally_add(&d->s[S_RETAINERS], keys[r], side, g->retained_count[r], g->retained[r])))
			goto out;
	}
	char tbuf[1024], hkey[1600];
	struct go_graph_cursor cur = go_graph_cursor_at(g, first);
	for (uint32_t v = first; v < g->nnodes && !err; v++) {
		uint64_t id = go_graph_cursor_next(g, &cur);
		const struct go_heap_span *s = go_span_of_id(o, id);
		uint64_t size = s ? s->elemsize : 0;
		const char *name = go_objtype_name(o, id);
		char unknown[64];
		if (!name) {
			snprintf(unknown, sizeof(unknown), "unknown (%" PRIu64 " B slots)", size);
			name = unknown;
		}
		const char *ty = type_key(name, tbuf, sizeof(tbuf));
		snprintf(hkey, sizeof(hkey), "%s%c%s", keys[root_of[v]], SEP, ty);
		if (!(err = tally_add(&d->s[S_TYPES], ty, side, 1, size)) &&
		    !(err = tally_add(&d->s[S_HELD], hkey, side, 1, size)) && root_of[v] == 0 && g->idom[v] == 0)
			err = tally_add(&d->s[S_RETAINERS], keys[0], side, g->retained_count[v], g->retained[v]);
		if (!err && !(v % 4096))
			err = memdbg_check_interrupt(p);
	}
out:
	free(root_of);
	free(chain);
	free(keys);
	return err;
}

static struct memdbg_error *collect_goroutines(struct memdbg_target *t, struct memdbg_printer *p, struct diff *d,
					       int side)
{
	struct go_stack *s;
	const struct go_goroutine *gs;
	size_t n, skipped;
	struct memdbg_error *err = go_stack_open(t, &s);
	if (err)
		return err;
	if ((err = go_goroutines(s, &gs, &n, &skipped)))
		goto out;
	for (size_t i = 0; i < n && !err; i++) {
		const char *top, *start;
		if (gs[i].system)
			continue;
		if ((err = go_goroutine_top(s, &gs[i], &top, &start)))
			break;
		char key[1024];
		snprintf(key, sizeof(key), "%s%c%s%c%s%c%s", gs[i].status_name, SEP,
			 gs[i].wait_reason_name ? gs[i].wait_reason_name : "-", SEP, top ? top : "(no frames)", SEP,
			 start ? start : "?");
		err = tally_add(&d->s[S_GOROUTINES], key, side, 1, gs[i].stack_hi - gs[i].stack_lo);
		d->snap[side].goroutines++;
		if (!err)
			err = memdbg_check_interrupt(p);
	}
out:
	go_stack_close(s);
	return err;
}

static struct memdbg_error *collect_pools(struct memdbg_target *t, struct memdbg_printer *p, struct diff *d, int side)
{
	struct go_pool_total *pools;
	size_t n;
	struct memdbg_error *err = go_pool_totals(t, p, &pools, &n);
	for (size_t i = 0; i < n && !err; i++)
		err = tally_add(&d->s[S_POOLS], pools[i].name, side, pools[i].objects, pools[i].bytes);
	free(pools);
	return err;
}

static struct memdbg_error *collect_classes(struct diff *d, int side)
{
	const struct go_memstats *ms = &d->snap[side].ms;
	struct memdbg_error *err = NULL;
	char key[64];
	for (size_t c = 1; c < ms->nclasses && !err; c++) {
		uint64_t live = ms->class_mallocs[c] - ms->class_frees[c];
		snprintf(key, sizeof(key), "%zu%c%" PRIu64, c, SEP, ms->class_size[c]);
		err = tally_add(&d->s[S_CLASSES], key, side, live, live * ms->class_size[c]);
	}
	snprintf(key, sizeof(key), "0%clarge", SEP);
	return err ? err : tally_add(&d->s[S_CLASSES], key, side, ms->large_alloc_count - ms->large_free_count,
				     ms->large_alloc - ms->large_free);
}

static struct memdbg_error *collect(struct memdbg_target *t, struct memdbg_printer *p, struct diff *d, int side)
{
	struct memdbg_go *go;
	struct snapshot *sn = &d->snap[side];
	struct memdbg_error *err = memdbg_go_get(t, &go);
	if (err)
		return err;
	snprintf(sn->version, sizeof(sn->version), "%s", go->version);
	sn->path = t->core_path ? t->core_path : t->exe_path;
	sn->pid = t->pid;
	if ((err = go_memstats_read(t, go, &sn->ms)) || (err = collect_heap(t, go, p, d, side)) ||
	    (err = collect_goroutines(t, p, d, side)) || (err = collect_pools(t, p, d, side)))
		return err;
	return collect_classes(d, side);
}

/* ---- are they the same program? ---- */

static bool same_notes(const struct memdbg_elf *a, const struct memdbg_elf *b)
{
	size_t n = memdbg_elf_note_count(a);
	if (n != memdbg_elf_note_count(b))
		return false;
	for (size_t i = 0; i < n; i++) {
		uint64_t aa, ba;
		const uint8_t *ad, *bd;
		size_t al, bl;
		memdbg_elf_note_at(a, i, &aa, &ad, &al);
		memdbg_elf_note_at(b, i, &ba, &bd, &bl);
		if (al != bl || memcmp(ad, bd, al) != 0)
			return false;
	}
	return memdbg_elf_entry(a) == memdbg_elf_entry(b);
}

static struct memdbg_error *check_comparable(struct memdbg_target *before, struct memdbg_target *after)
{
	struct memdbg_go *a, *b;
	struct memdbg_error *err;
	if ((err = memdbg_go_get(before, &a)))
		return memdbg_error_prefix(err, "diff: %s", before->core_path);
	if ((err = memdbg_go_get(after, &b)))
		return err;
	if (strcmp(a->version, b->version) != 0)
		return memdbg_error_format(MEMDBG_ERROR_MISMATCH,
					   "diff: %s is %s but the target is %s: snapshots of different Go versions "
					   "cannot be compared",
					   before->core_path, a->version, b->version);
	if (!same_notes(before->exe, after->exe))
		return memdbg_error_format(MEMDBG_ERROR_MISMATCH,
					   "diff: %s comes from %s, another program (or another build) than the target's "
					   "%s: their build ids differ",
					   before->core_path, before->exe_path, after->exe_path);
	return NULL;
}

/* ---- printing ---- */

struct section_desc {
	const char *key, *title, *count_name, *bytes_name;
	const char *labels[4];  /* the key's parts, in order */
	int widths[4];          /* their text widths (negative: left-aligned) */
};

static const struct section_desc sections[S_COUNT] = {
	[S_TYPES] = { "types", "Live objects by type", "objects", "bytes", { "type" }, { -1 } },
	[S_RETAINERS] = { "retainers", "Retainers (bytes each root alone keeps alive)", "objects", "bytes",
			  { "kind", "root" }, { -8, -1 } },
	[S_HELD] = { "held", "Objects by retainer and type", "objects", "bytes", { "kind", "root", "type" }, { -8, -44, -1 } },
	[S_GOROUTINES] = { "goroutines", "Goroutine groups (bytes: their stacks)", "goroutines", "stack_bytes",
			   { "status", "wait_reason", "top", "start" }, { -8, -16, -32, -1 } },
	[S_POOLS] = { "pools", "sync.Pools", "objects", "bytes", { "pool" }, { -1 } },
	[S_CLASSES] = { "classes", "Size classes (MemStats; class 0: large objects)", "objects", "bytes",
			{ "class", "size" }, { -5, -1 } },
};

static int64_t delta(const uint64_t v[2])
{
	return (int64_t)(v[AFTER] - v[BEFORE]);
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int64_t bx = delta(x->bytes), by = delta(y->bytes), cx = delta(x->count), cy = delta(y->count);
	if (bx != by)
		return bx > by ? -1 : 1;
	if (cx != cy)
		return cx > cy ? -1 : 1;
	return strcmp(x->key, y->key);
}

static const char *change_name(const struct row *r)
{
	if (!r->count[BEFORE] && !r->bytes[BEFORE])
		return "new";
	if (!r->count[AFTER] && !r->bytes[AFTER])
		return "vanished";
	return delta(r->bytes) > 0 || (delta(r->bytes) == 0 && delta(r->count) > 0) ? "grew" : "shrank";
}

static void print_section(struct memdbg_printer *p, enum section sec, struct tally *t, uint64_t top,
			  uint64_t min_bytes)
{
	const struct section_desc *sd = &sections[sec];
	struct memdbg_col cols[16];
	char names[6][32];
	size_t nc = 0;
	static const char *const prefix[] = { "delta_", "delta_", "before_", "after_", "before_", "after_" };
	for (int i = 0; i < 6; i++) {
		snprintf(names[i], sizeof(names[i]), "%s%s", prefix[i], i % 2 == 0 && i < 2 ? sd->bytes_name
							   : i < 2 ? sd->count_name
							   : i < 4 ? sd->bytes_name : sd->count_name);
		cols[nc++] = (struct memdbg_col){ names[i], i < 2 ? MEMDBG_COL_I64 : MEMDBG_COL_U64,
						  i == 0 ? 13 : i == 1 ? 11 : i < 4 ? 12 : 9 };
	}
	cols[nc++] = (struct memdbg_col){ "change", MEMDBG_COL_STR, -8 };
	size_t nlabels = 0;
	while (nlabels < 4 && sd->labels[nlabels]) {
		cols[nc++] = (struct memdbg_col){ sd->labels[nlabels], MEMDBG_COL_STR, sd->widths[nlabels] };
		nlabels++;
	}
	qsort(t->rows, t->n, sizeof(*t->rows), row_cmp);
	size_t shown = 0, changed = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct row *r = &t->rows[i];
		if (delta(r->count) || delta(r->bytes))
			changed++;
	}
	memdbg_note(p, "%s", "");
	memdbg_begin_object(p, sd->key, sd->title);
	memdbg_field_u64(p, "changed", changed);
	memdbg_table_begin(p, "rows", cols, nc);
	for (size_t i = 0; i < t->n && shown < top; i++) {
		const struct row *r = &t->rows[i];
		int64_t db = delta(r->bytes);
		if ((!db && !delta(r->count)) || (uint64_t)(db < 0 ? -db : db) < min_bytes)
			continue;
		struct memdbg_val v[16] = {
			{ .u = (uint64_t)db }, { .u = (uint64_t)delta(r->count) }, { .u = r->bytes[BEFORE] },
			{ .u = r->bytes[AFTER] }, { .u = r->count[BEFORE] }, { .u = r->count[AFTER] },
			{ .s = change_name(r) },
		};
		/* The key's labels, cut at SEP in a copy. */
		char key[2048];
		snprintf(key, sizeof(key), "%s", r->key);
		char *part = key;
		for (size_t k = 0; k < nlabels; k++) {
			char *sep = part ? strchr(part, SEP) : NULL;
			if (sep)
				*sep = '\0';
			v[7 + k].s = part;
			v[7 + k].null = !part;
			part = sep ? sep + 1 : NULL;
		}
		memdbg_table_row(p, v);
		shown++;
	}
	memdbg_table_end(p);
	memdbg_end_object(p);
}

#define MEMSTATS_FIELDS(X) \
	X(Alloc) X(TotalAlloc) X(Sys) X(Mallocs) X(Frees) X(HeapAlloc) X(HeapSys) X(HeapIdle) X(HeapInuse) \
	X(HeapReleased) X(HeapObjects) X(StackInuse) X(StackSys) X(MSpanInuse) X(MSpanSys) X(MCacheInuse) \
	X(MCacheSys) X(BuckHashSys) X(GCSys) X(OtherSys) X(NextGC) X(NumGC) X(NumForcedGC)

static void print_memstats(struct memdbg_printer *p, const struct diff *d)
{
	static const struct memdbg_col cols[] = {
		{ "field", MEMDBG_COL_STR, -14 },
		{ "before", MEMDBG_COL_U64, 14 },
		{ "after", MEMDBG_COL_U64, 14 },
		{ "delta", MEMDBG_COL_I64, 14 },
	};
	const struct go_memstats *a = &d->snap[BEFORE].ms, *b = &d->snap[AFTER].ms;
	memdbg_note(p, "%s", "");
	memdbg_table_begin(p, "memstats", cols, MEMDBG_ARRAY_SIZE(cols));
#define ROW(f)                                                                                     \
	{                                                                                          \
		struct memdbg_val v[4] = { { .s = #f }, { .u = a->f }, { .u = b->f },              \
					   { .u = (uint64_t)((int64_t)b->f - (int64_t)a->f) } }; \
		memdbg_table_row(p, v);                                                            \
	}
	MEMSTATS_FIELDS(ROW)
#undef ROW
	memdbg_table_end(p);
}

static void print_snapshot(struct memdbg_printer *p, const char *key, const struct snapshot *s)
{
	char title[1024];
	snprintf(title, sizeof(title), "%s (pid %d, %s)", s->path, s->pid, s->version);
	if (!memdbg_printer_json(p)) {
		memdbg_field_str(p, key, title);
		return;
	}
	memdbg_begin_object(p, key, NULL);
	memdbg_field_str(p, "path", s->path);
	memdbg_field_i64(p, "pid", s->pid);
	memdbg_field_str(p, "go_version", s->version);
	memdbg_field_u64(p, "goroutines", s->goroutines);
	memdbg_end_object(p);
}

static void print_diff(struct memdbg_printer *p, struct diff *d, uint64_t top, uint64_t min_bytes)
{
	const struct go_memstats *a = &d->snap[BEFORE].ms, *b = &d->snap[AFTER].ms;
	print_snapshot(p, "before", &d->snap[BEFORE]);
	print_snapshot(p, "after", &d->snap[AFTER]);
	memdbg_field_i64(p, "heap_alloc_delta", (int64_t)(b->HeapAlloc - a->HeapAlloc));
	memdbg_field_i64(p, "heap_objects_delta", (int64_t)(b->HeapObjects - a->HeapObjects));
	memdbg_field_i64(p, "goroutines_delta", (int64_t)(d->snap[AFTER].goroutines - d->snap[BEFORE].goroutines));
	size_t grown = 0;
	for (size_t i = 0; i < d->s[S_TYPES].n; i++)
		grown += delta(d->s[S_TYPES].rows[i].bytes) > 0 || delta(d->s[S_TYPES].rows[i].count) > 0;
	memdbg_field_u64(p, "types_grown", grown);
	print_memstats(p, d);
	for (int s = 0; s < S_COUNT; s++)
		print_section(p, (enum section)s, &d->s[s], top, min_bytes);
}

/* ---- the command ---- */

extern const char diff_html[];

static struct memdbg_error *write_page(struct diff *d, const char *path, uint64_t top, uint64_t min_bytes)
{
	struct html_buf b = { 0 };
	struct memdbg_out out = { .write = html_buf_write, .arg = &b, .json = true };
	struct memdbg_printer *bp = memdbg_printer_create(&out);
	if (!bp)
		return memdbg_enomem;
	memdbg_field_str(bp, "command", "diff");
	print_diff(bp, d, top, min_bytes);
	memdbg_printer_destroy(bp);
	struct memdbg_error *err = b.oom ? memdbg_enomem : html_write(path, diff_html, b.d, b.len);
	free(b.d);
	return err;
}

static struct memdbg_error *run_diff(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	const char *against = memdbg_arg_value(a, "--against");
	const char *html = memdbg_arg_value(a, "--html");
	uint64_t top, min_bytes;
	struct memdbg_error *err;
	if (!against || !*against)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT,
					   "diff: name the earlier core with --against CORE (see 'help diff')");
	if (html && !*html)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "diff: --html wants a file name");
	if ((err = memdbg_arg_u64(a, "--top", 20, UINT32_MAX, &top)) ||
	    (err = memdbg_arg_u64(a, "--min-bytes", 0, UINT64_MAX, &min_bytes)))
		return err;
	struct memdbg_target *before;
	if ((err = memdbg_target_open_core(against, memdbg_arg_value(a, "--against-exe"), &before)))
		return memdbg_error_prefix(err, "diff");
	struct diff *d = calloc(1, sizeof(*d));
	if (!d) {
		memdbg_target_destroy(before);
		return memdbg_enomem;
	}
	if (!(err = check_comparable(before, t)) && !(err = collect(before, p, d, BEFORE)) &&
	    !(err = collect(t, p, d, AFTER))) {
		print_diff(p, d, top, min_bytes);
		if (html && !(err = write_page(d, html, top, min_bytes))) {
			if (memdbg_printer_json(p))
				memdbg_field_str(p, "html", html);
			else
				memdbg_note(p, "\nwrote %s (open it in a browser; it needs no network)", html);
		}
	}
	for (int s = 0; s < S_COUNT; s++)
		tally_free(&d->s[s]);
	free(d);
	memdbg_target_destroy(before);
	return err;
}

static const struct memdbg_opt diff_opts[] = {
	{ "--against", "CORE", "the earlier core (the target is the later snapshot)" },
	{ "--against-exe", "EXE", "that core's executable (default: the one named in it)" },
	{ "--top", "N", "rows per section (default 20)" },
	{ "--min-bytes", "N", "hide rows whose bytes changed by less than N (default 0: every change)" },
	{ "--html", "FILE", "also write a self-contained HTML page with the growth as bar charts" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_diff = {
	.info = {
		.name = "diff",
		.summary = "what grew since an earlier core: types, retainers, goroutine groups, pools, classes, MemStats",
		.usage = "diff --against CORE [--against-exe EXE] [--top N] [--min-bytes N] [--html FILE] [--json]",
		.help = "Compares the target (the later snapshot: a core, or the process a debugger holds)\n"
			"with an earlier core of the same program and Go version.  Objects are matched by\n"
			"what holds them, never by address: per type (live objects; [N]T arrays counted\n"
			"under []T), per retainer (the bytes a GC root alone keeps alive, from the\n"
			"dominator tree, named as top-retainers names roots; stack roots of goroutines\n"
			"with the same frame and variable are one retainer), per retainer and type, per\n"
			"goroutine group (status, wait reason, top frame, start function; bytes are\n"
			"their stacks), per sync.Pool and per size class (MemStats), each sorted by the\n"
			"change in bytes, largest growth first; rows that did not change are left out.\n"
			"MemStats are listed before and after.  The CLI also takes\n"
			"'memdbg diff BEFORE.core AFTER.core'.",
	},
	.opts = diff_opts,
	.needs_target = true,
	.run = run_diff,
};
