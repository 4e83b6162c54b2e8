/* objcmds.c - object-level commands: histogram, objects, object, roots. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/objects.h"
#include "go/types.h"

static struct memdbg_error *open_objects(struct memdbg_target *t, struct memdbg_printer *p, struct memdbg_go **go,
					 struct go_objects **o)
{
	struct memdbg_error *err = memdbg_go_get(t, go);
	return err ? err : go_objects_get(t, *go, p, o);
}

enum liveness { LIVE_ONLY, GARBAGE_ONLY, ALL };

static struct memdbg_error *parse_liveness(struct memdbg_args *a, enum liveness def, enum liveness *ret)
{
	int n = memdbg_arg_flag(a, "--live") + memdbg_arg_flag(a, "--garbage") + memdbg_arg_flag(a, "--all");
	if (n > 1)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "--live, --garbage and --all exclude each other");
	*ret = memdbg_arg_flag(a, "--live") ? LIVE_ONLY : memdbg_arg_flag(a, "--garbage") ? GARBAGE_ONLY
				      : memdbg_arg_flag(a, "--all") ? ALL : def;
	return NULL;
}

static bool wanted(const struct go_objects *o, uint64_t id, enum liveness which)
{
	if (!go_bit(o->alloc, id))
		return false;
	return which == ALL || go_bit(o->live, id) == (which == LIVE_ONLY);
}

/* Problems met while building the graph, said once at the end of a command. */
static void print_problems(const struct go_objects *o, struct memdbg_printer *p)
{
	memdbg_begin_object(p, "problems", "Problems");
	memdbg_field_u64(p, "bad_headers", o->bad_headers);
	memdbg_field_u64(p, "bad_types", o->bad_types);
	memdbg_field_u64(p, "unreadable_bitmaps", o->unreadable_bits);
	memdbg_field_u64(p, "unscanned_stacks", o->conservative_stacks);
	memdbg_end_object(p);
}

/* ---- histogram ---- */

struct hist_row {
	uint64_t key, count, bytes;
};

static int hist_cmp(const void *a, const void *b)
{
	const struct hist_row *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key;
}

static struct memdbg_error *run_histogram(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct memdbg_go *go;
	struct go_objects *o;
	enum liveness which;
	uint64_t top;
	struct memdbg_error *err;
	const char *by = memdbg_arg_value(a, "--by");
	if (by && strcmp(by, "type") && strcmp(by, "class"))
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "histogram: --by wants type or class, not '%s'", by);
	bool by_class = by && !strcmp(by, "class");
	if ((err = parse_liveness(a, LIVE_ONLY, &which)) || (err = memdbg_arg_u64(a, "--top", 30, UINT32_MAX, &top)) ||
	    (err = open_objects(t, p, &go, &o)))
		return err;
	/* Untyped objects are grouped by size under key notypes + elemsize. */
	size_t nkeys = by_class ? go->l.num_size_classes : o->notypes + 32768 + 1;
	struct hist_row *rows = calloc(nkeys, sizeof(*rows));
	if (!rows)
		return memdbg_enomem;
	uint64_t objects = 0, bytes = 0, typed_objects = 0, typed_bytes = 0;
	for (size_t i = 0; i < o->nhs; i++) {
		const struct go_heap_span *h = &o->hs[i];
		unsigned cls = go_size_class(go->spans[h->span].spanclass);
		for (uint32_t k = 0; k < h->nelems; k++) {
			uint64_t id = h->first + k;
			if (!wanted(o, id, which))
				continue;
			uint64_t size = h->elemsize;
			uint32_t ty = o->type[id];
			uint64_t key = by_class ? cls : ty ? ty : o->notypes + (size < 32768 ? size : 32768);
			rows[key].key = key;
			rows[key].count++;
			rows[key].bytes += size;
			objects++;
			bytes += size;
			if (ty) {
				typed_objects++;
				typed_bytes += size;
			}
		}
	}
	qsort(rows, nkeys, sizeof(*rows), hist_cmp);
	static const struct memdbg_col type_cols[] = {
		{ "count", MEMDBG_COL_U64, 10 },
		{ "bytes", MEMDBG_COL_U64, 14 },
		{ "type", MEMDBG_COL_STR, -1 },
	};
	static const struct memdbg_col class_cols[] = {
		{ "class", MEMDBG_COL_U64, 5 },
		{ "size", MEMDBG_COL_U64, 6 },
		{ "count", MEMDBG_COL_U64, 10 },
		{ "bytes", MEMDBG_COL_U64, 14 },
	};
	memdbg_table_begin(p, by_class ? "classes" : "types", by_class ? class_cols : type_cols, by_class ? 4 : 3);
	for (size_t i = 0; i < nkeys && i < top && rows[i].count; i++) {
		if (by_class) {
			struct memdbg_val v[4] = { { .u = rows[i].key }, { .u = go->class_to_size[rows[i].key] },
						   { .u = rows[i].count }, { .u = rows[i].bytes } };
			memdbg_table_row(p, v);
			continue;
		}
		char unknown[64];
		const char *name;
		if (rows[i].key < o->notypes) {
			name = o->otypes[rows[i].key].name;
		} else {
			snprintf(unknown, sizeof(unknown), "unknown (%" PRIu64 " B slots)", rows[i].key - o->notypes);
			name = unknown;
		}
		struct memdbg_val v[3] = { { .u = rows[i].count }, { .u = rows[i].bytes }, { .s = name } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	free(rows);
	memdbg_begin_object(p, "totals", "Totals");
	memdbg_field_str(p, "objects_shown", which == LIVE_ONLY ? "live" : which == GARBAGE_ONLY ? "garbage" : "all");
	memdbg_field_u64(p, "objects", objects);
	memdbg_field_u64(p, "bytes", bytes);
	memdbg_field_u64(p, "typed_objects", typed_objects);
	memdbg_field_u64(p, "typed_bytes", typed_bytes);
	memdbg_field_pct(p, "typed_pct", bytes ? 100.0 * typed_bytes / bytes : 100.0);
	memdbg_end_object(p);
	print_problems(o, p);
	return NULL;
}

/* ---- objects ---- */

static struct memdbg_error *run_objects(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct memdbg_go *go;
	struct go_objects *o;
	enum liveness which;
	uint64_t limit;
	struct memdbg_error *err;
	const char *type_filter = memdbg_arg_value(a, "--type");
	if ((err = parse_liveness(a, ALL, &which)) ||
	    (err = memdbg_arg_u64(a, "--limit", UINT64_MAX, UINT64_MAX, &limit)) || (err = open_objects(t, p, &go, &o)))
		return err;
	static const struct memdbg_col cols[] = {
		{ "addr", MEMDBG_COL_HEX, 14 },
		{ "size", MEMDBG_COL_U64, 8 },
		{ "live", MEMDBG_COL_BOOL, 4 },
		{ "type", MEMDBG_COL_STR, -1 },
	};
	uint64_t shown = 0, matched = 0;
	memdbg_table_begin(p, "objects", cols, MEMDBG_ARRAY_SIZE(cols));
	for (size_t i = 0; i < o->nhs && !err; i++) {
		const struct go_heap_span *h = &o->hs[i];
		for (uint32_t k = 0; k < h->nelems; k++) {
			uint64_t id = h->first + k;
			if (!wanted(o, id, which))
				continue;
			const char *name = go_objtype_name(o, id);
			if (type_filter && (!name || !strstr(name, type_filter)))
				continue;
			matched++;
			if (shown >= limit)
				continue;
			struct memdbg_val v[4] = { { .u = h->start + (uint64_t)k * h->elemsize }, { .u = h->elemsize },
						   { .u = go_bit(o->live, id) }, { .s = name, .null = !name } };
			memdbg_table_row(p, v);
			shown++;
		}
		err = memdbg_check_interrupt(p);
	}
	if (err)
		return err;
	memdbg_table_end(p);
	memdbg_begin_object(p, "totals", "Totals");
	memdbg_field_u64(p, "objects", matched);
	memdbg_field_u64(p, "shown", shown);
	memdbg_end_object(p);
	return NULL;
}

/* ---- object <addr> ---- */

static void print_pointer_target(struct memdbg_target *t, const struct go_objects *o, struct memdbg_printer *p,
				 uint64_t v)
{
	const struct go_heap_span *h;
	uint64_t slot;
	if (!v || !go_find_object(o, v, &h, &slot) || !go_bit(o->alloc, h->first + slot))
		return;
	uint64_t base = h->start + slot * h->elemsize;
	memdbg_begin_object(p, "points_to", "points to");
	memdbg_field_hex(p, "base", base);
	memdbg_field_u64(p, "offset", v - base);
	const char *name = go_objtype_name(o, h->first + slot);
	if (name)
		memdbg_field_str(p, "type", name);
	else
		memdbg_field_null(p, "type");
	memdbg_end_object(p);
}

static uint64_t peek_word(struct memdbg_target *t, uint64_t addr, bool *ok)
{
	uint64_t v = 0;
	struct memdbg_error *err = memdbg_read_u64(t, addr, &v);
	*ok = !err;
	memdbg_error_destroy(err);
	return v;
}

/* Fields of a typed object: one entry per struct field (arrays: the first elements). */
static void print_fields(struct memdbg_target *t, struct memdbg_go *go, const struct go_objects *o,
			 struct memdbg_printer *p, const struct go_type *ty, uint64_t addr, uint64_t size)
{
	memdbg_begin_array(p, "fields", "Fields");
	uint64_t nf = ty->kind == GO_KIND_STRUCT ? ty->nfields : 0;
	for (uint64_t i = 0; i < nf; i++) {
		const struct go_field *f = &ty->fields[i];
		const struct go_type *ft = go_type_at(t, go, f->type, NULL);
		memdbg_begin_object(p, NULL, f->name ? f->name : "?");
		memdbg_field_str(p, "name", f->name ? f->name : "?");
		memdbg_field_u64(p, "offset", f->offset);
		memdbg_field_str(p, "type", ft && ft->name ? ft->name : "?");
		bool ok;
		uint64_t v = peek_word(t, addr + f->offset, &ok);
		uint64_t fsize = ft ? ft->size : 8;
		if (!ok)
			memdbg_field_null(p, "value");
		else if (fsize < 8)
			memdbg_field_hex(p, "value", v & ((1ull << (8 * fsize)) - 1));
		else
			memdbg_field_hex(p, "value", v);
		if (ok && ft && ft->ptrbytes)
			print_pointer_target(t, o, p, v);
		memdbg_end_object(p);
	}
	if (!nf) {
		/* No field names: the words, with the runtime's pointer bits. */
		for (uint64_t off = 0; off + 8 <= size && off < 4096; off += 8) {
			bool ok;
			uint64_t v = peek_word(t, addr + off, &ok);
			char label[32];
			snprintf(label, sizeof(label), "+%" PRIu64, off);
			memdbg_begin_object(p, NULL, label);
			memdbg_field_u64(p, "offset", off);
			if (ok)
				memdbg_field_hex(p, "value", v);
			else
				memdbg_field_null(p, "value");
			if (ok)
				print_pointer_target(t, o, p, v);
			memdbg_end_object(p);
		}
	}
	memdbg_end_array(p);
}

static struct memdbg_error *run_object(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	uint64_t addr;
	struct memdbg_go *go;
	struct go_objects *o;
	struct memdbg_error *err = memdbg_arg_address(a, &addr);
	if (err || (err = open_objects(t, p, &go, &o)))
		return err;
	const struct go_heap_span *h;
	uint64_t slot;
	memdbg_field_hex(p, "address", addr);
	if (!go_find_object(o, addr, &h, &slot)) {
		uint64_t off;
		const char *sym = memdbg_elf_symbol_at(t->exe, addr - t->bias, &off);
		if (sym) {
			memdbg_field_str(p, "kind", "global");
			memdbg_field_str(p, "symbol", sym);
			memdbg_field_u64(p, "offset", off);
		} else {
			memdbg_field_str(p, "kind", memdbg_readable(t, addr, 1) ? "other" : "unmapped");
			memdbg_note(p, "0x%" PRIx64 " is not in a Go heap object", addr);
		}
		return NULL;
	}
	uint64_t id = h->first + slot, base = h->start + slot * h->elemsize;
	const struct go_span *s = &go->spans[h->span];
	memdbg_field_str(p, "kind", "heap");
	memdbg_field_hex(p, "base", base);
	memdbg_field_u64(p, "offset", addr - base);
	memdbg_field_u64(p, "size", h->elemsize);
	memdbg_field_bool(p, "allocated", go_bit(o->alloc, id));
	memdbg_field_bool(p, "live", go_bit(o->live, id));
	const char *name = go_objtype_name(o, id);
	if (name)
		memdbg_field_str(p, "type", name);
	else
		memdbg_field_null(p, "type");
	memdbg_begin_object(p, "span", "Span");
	memdbg_field_hex(p, "start", s->start);
	memdbg_field_u64(p, "pages", s->npages);
	memdbg_field_u64(p, "class", go_size_class(s->spanclass));
	memdbg_field_bool(p, "noscan", go_noscan(s->spanclass));
	memdbg_field_u64(p, "slot", slot);
	memdbg_end_object(p);
	if (!go_bit(o->alloc, id))
		return NULL;
	const struct go_objtype *ot = o->type[id] ? &o->otypes[o->type[id]] : NULL;
	const struct go_type *ty = ot && ot->type ? go_type_at(t, go, ot->type, NULL) : NULL;
	uint64_t data = base + (h->header ? 8 : 0);
	if (ty && !ot->count)
		print_fields(t, go, o, p, ty, data, h->elemsize);
	else
		print_fields(t, go, o, p, &(struct go_type){ 0 }, data, h->elemsize - (data - base));
	return NULL;
}

/* ---- roots ---- */

static const char *const root_kinds[] = { "global", "stack", "finalizer", "other" };

static struct memdbg_error *run_roots(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	const char *kind = memdbg_arg_value(a, "--kind");
	int want = -1;
	for (int k = 0; kind && k < 4; k++)
		if (!strcmp(kind, root_kinds[k]))
			want = k;
	if (kind && want < 0)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT,
					   "roots: --kind wants global, stack, finalizer or other, not '%s'", kind);
	uint64_t limit;
	struct memdbg_go *go;
	struct go_objects *o;
	struct memdbg_error *err;
	if ((err = memdbg_arg_u64(a, "--limit", UINT64_MAX, UINT64_MAX, &limit)) || (err = open_objects(t, p, &go, &o)))
		return err;
	static const struct memdbg_col cols[] = {
		{ "kind", MEMDBG_COL_STR, -9 },
		{ "slot", MEMDBG_COL_HEX, 14 },
		{ "target", MEMDBG_COL_HEX, 14 },
		{ "type", MEMDBG_COL_STR, -28 },
		{ "where", MEMDBG_COL_STR, -12 },
		{ "name", MEMDBG_COL_STR, -1 },
	};
	uint64_t counts[4] = { 0 }, shown = 0;
	memdbg_table_begin(p, "roots", cols, MEMDBG_ARRAY_SIZE(cols));
	for (size_t i = 0; i < o->nroots; i++) {
		const struct go_root *r = &o->roots[i];
		if (want >= 0 && (int)r->kind != want)
			continue;
		counts[r->kind]++;
		if (shown++ >= limit)
			continue;
		const char *name = go_objtype_name(o, r->object);
		struct memdbg_val v[6] = { { .s = root_kinds[r->kind] }, { .u = r->addr, .null = !r->addr },
					   { .u = r->target }, { .s = name, .null = !name },
					   { .s = r->where, .null = !r->where }, { .s = r->name } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	memdbg_begin_object(p, "totals", "Totals");
	for (int k = 0; k < 4; k++)
		memdbg_field_u64(p, root_kinds[k], counts[k]);
	memdbg_end_object(p);
	memdbg_begin_object(p, "stacks", "Stacks scanned");
	memdbg_field_u64(p, "frames", o->stack_frames);
	memdbg_field_u64(p, "conservative_frames", o->conservative_frames);
	memdbg_field_u64(p, "stack_objects", o->stack_objects);
	memdbg_field_u64(p, "stack_objects_reached", o->stack_objects_reached);
	memdbg_field_u64(p, "unscanned_stacks", o->conservative_stacks);
	memdbg_end_object(p);
	return NULL;
}

/* ---- table rows ---- */

static const struct memdbg_opt histogram_opts[] = {
	{ "--top", "N", "print the N largest rows (default 30)" },
	{ "--by", "WHAT", "type (default) or class (size class)" },
	{ "--live", NULL, "only objects reachable from a root (default)" },
	{ "--garbage", NULL, "only allocated objects no root reaches (waiting for the sweep)" },
	{ "--all", NULL, "every allocated object" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_histogram = {
	.info = {
		.name = "histogram",
		.summary = "count and bytes of heap objects per type (or size class), with the typed share",
		.usage = "histogram [--top N] [--by type|class] [--live|--garbage|--all] [--json]",
		.help = "Types come from malloc headers and largeType where the runtime recorded them, then\n"
			"from typed pointers followed out of typed globals and typed objects.  Bytes are slot\n"
			"bytes (size-class rounded).  Objects no typed pointer reaches are 'unknown'.",
	},
	.opts = histogram_opts,
	.needs_target = true,
	.run = run_histogram,
};

static const struct memdbg_opt objects_opts[] = {
	{ "--live", NULL, "only reachable objects" },
	{ "--garbage", NULL, "only unreachable allocated objects" },
	{ "--all", NULL, "every allocated object (default)" },
	{ "--type", "TEXT", "only objects whose type name contains TEXT" },
	{ "--limit", "N", "print at most N rows" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_objects = {
	.info = {
		.name = "objects",
		.summary = "every allocated heap object: address, slot size, live or garbage, type",
		.usage = "objects [--live|--garbage|--all] [--type TEXT] [--limit N] [--json]",
		.help = "Tiny allocations share 16-byte blocks; a block is one object here.",
	},
	.opts = objects_opts,
	.needs_target = true,
	.run = run_objects,
};

const struct memdbg_command memdbg_cmd_object = {
	.info = {
		.name = "object",
		.summary = "what is at an address: heap object (span, base, size, type, fields) or other",
		.usage = "object ADDR [--json]",
		.help = "Interior addresses are fine.  Pointer fields name the object they point to.",
	},
	.max_args = 1,
	.needs_target = true,
	.run = run_object,
};

static const struct memdbg_opt roots_opts[] = {
	{ "--kind", "K", "global, stack, finalizer or other" },
	{ "--limit", "N", "print at most N rows" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_roots = {
	.info = {
		.name = "roots",
		.summary = "the GC roots that point into the heap: globals, stacks, finalizers, other",
		.usage = "roots [--kind global|stack|finalizer|other] [--limit N] [--json]",
		.help = "Globals come from the modules' GC masks of data and bss, named by their symbols.\n"
			"Finalizers keep their function and the object's referents alive, not the object.\n"
			"Weak handles are listed under other; what they refer to is not held.",
	},
	.opts = roots_opts,
	.needs_target = true,
	.run = run_roots,
};
