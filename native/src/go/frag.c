/* frag.c - frag: where in-use spans hold free slots, idle and released pages, arena occupancy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/go.h"

struct class_stats {
	uint64_t spans, pages, slots, used, free_bytes, tail_bytes;
};

struct frag {
	struct class_stats *cls;      /* per size class; class 0 unused (large spans below) */
	uint64_t large_spans, large_pages, large_requested, large_bad_limit;
	uint64_t inuse_bytes, free_bytes, tail_bytes;
	uint64_t unswept, unreadable_bits, outside_arenas;
	uint64_t *arena_idx, *arena_inuse;  /* mheap_.allArenas, sorted; in-use span bytes in each */
	uint64_t narenas;
};

/* The heap arenas, and a zeroed in-use byte count for each. */
static struct memdbg_error *load_arenas(struct memdbg_target *t, struct memdbg_go *go, struct frag *f)
{
	size_t n;
	struct memdbg_error *err = go_heap_arenas(t, go, &f->arena_idx, &n);
	if (err)
		return err;
	f->narenas = n;
	f->arena_inuse = calloc(n ? n : 1, sizeof(uint64_t));
	return f->arena_inuse ? NULL : memdbg_enomem;
}

static uint64_t *arena_slot(const struct memdbg_go *go, struct frag *f, uint64_t addr)
{
	size_t i = go_arena_find(go, f->arena_idx, f->narenas, addr);
	return i < f->narenas ? &f->arena_inuse[i] : NULL;
}

/*
 * Spreads a span's bytes over the arenas it covers (large spans may cross
 * arenas); false, and counted, when part of it is in no heap arena.
 */
static bool add_to_arenas(const struct memdbg_go *go, struct frag *f, uint64_t start, uint64_t bytes)
{
	uint64_t ab = go->l.arena_bytes, end = start + bytes;
	for (uint64_t a = start; a < end;) {
		uint64_t idx = (a - go->l.arena_base_offset) / ab;
		uint64_t arena_end = idx * ab + go->l.arena_base_offset + ab;
		uint64_t n = (arena_end < end ? arena_end : end) - a;
		uint64_t *slot = arena_slot(go, f, a);
		if (!slot) {
			f->outside_arenas++;  /* stop here: a bad npages must not loop over 2^64 bytes */
			return false;
		}
		*slot += n;
		if (!n)
			break;
		a += n;
	}
	return true;
}

static bool unswept(const struct memdbg_go *go, uint32_t sweepgen)
{
	const char *s = go_sweep_status(go, sweepgen);
	return strstr(s, "unswept") || strstr(s, "sweeping");
}

static struct memdbg_error *collect(struct memdbg_target *t, struct memdbg_go *go, struct frag *f)
{
	const struct go_layout *l = &go->l;
	uint64_t limit_off;
	if (!memdbg_dwarf_member(t->dwarf, "runtime.mspan", "limit", &limit_off, NULL))
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "frag: runtime.mspan has no member limit");
	for (size_t i = 0; i < go->nspans; i++) {
		const struct go_span *s = &go->spans[i];
		if (s->state != l->span_in_use)
			continue;
		uint64_t bytes = s->npages * l->page_size;
		unsigned c = go_size_class(s->spanclass);
		if (!add_to_arenas(go, f, s->start, bytes))
			continue;
		f->inuse_bytes += bytes;
		if (unswept(go, s->sweepgen))
			f->unswept++;
		if (c == 0) {
			uint64_t lim;
			struct memdbg_error *err = memdbg_read_u64(t, s->addr + limit_off, &lim);
			memdbg_error_destroy(err);
			if (err || lim < s->start || lim > s->start + bytes) {
				f->large_bad_limit++;  /* counted as fully requested */
				lim = s->start + bytes;
			}
			f->large_spans++;
			f->large_pages += s->npages;
			f->large_requested += lim - s->start;
			continue;
		}
		if (c >= l->num_size_classes || !s->bits_readable || (uint64_t)s->nelems * s->elemsize > bytes ||
		    s->allocated > s->nelems) {
			f->unreadable_bits++;
			continue;
		}
		struct class_stats *cs = &f->cls[c];
		uint64_t free_bytes = (uint64_t)(s->nelems - s->allocated) * s->elemsize;
		uint64_t tail = bytes - (uint64_t)s->nelems * s->elemsize;
		cs->spans++;
		cs->pages += s->npages;
		cs->slots += s->nelems;
		cs->used += s->allocated;
		cs->free_bytes += free_bytes;
		cs->tail_bytes += tail;
		f->free_bytes += free_bytes;
		f->tail_bytes += tail;
	}
	return NULL;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void print_classes(const struct memdbg_go *go, const struct frag *f, struct memdbg_printer *p)
{
	static const struct memdbg_col cols[] = {
		{ "class", MEMDBG_COL_U64, 5 },
		{ "size", MEMDBG_COL_U64, 6 },
		{ "spans", MEMDBG_COL_U64, 7 },
		{ "pages", MEMDBG_COL_U64, 7 },
		{ "slots", MEMDBG_COL_U64, 9 },
		{ "used", MEMDBG_COL_U64, 9 },
		{ "free", MEMDBG_COL_U64, 9 },
		{ "util", MEMDBG_COL_PCT, 6 },
		{ "free_bytes", MEMDBG_COL_U64, 12 },
		{ "tail_bytes", MEMDBG_COL_U64, 10 },
	};
	memdbg_table_begin(p, "classes", cols, MEMDBG_ARRAY_SIZE(cols));
	for (uint64_t c = 1; c < go->l.num_size_classes; c++) {
		const struct class_stats *cs = &f->cls[c];
		if (!cs->spans)
			continue;
		struct memdbg_val v[10] = { { .u = c }, { .u = go->class_to_size[c] }, { .u = cs->spans },
					    { .u = cs->pages }, { .u = cs->slots }, { .u = cs->used },
					    { .u = cs->slots - cs->used }, { .d = pct(cs->used, cs->slots) },
					    { .u = cs->free_bytes }, { .u = cs->tail_bytes } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
}

static void print_arenas(const struct memdbg_go *go, const struct frag *f, struct memdbg_printer *p)
{
	static const struct memdbg_col cols[] = {
		{ "start", MEMDBG_COL_HEX, 16 },
		{ "inuse_bytes", MEMDBG_COL_U64, 12 },
		{ "occupancy", MEMDBG_COL_PCT, 9 },
	};
	memdbg_begin_object(p, "arenas", "Arenas");
	memdbg_field_u64(p, "count", f->narenas);
	memdbg_field_u64(p, "arena_bytes", go->l.arena_bytes);
	memdbg_table_begin(p, "arenas", cols, MEMDBG_ARRAY_SIZE(cols));
	for (uint64_t i = 0; i < f->narenas; i++) {
		struct memdbg_val v[3] = { { .u = f->arena_idx[i] * go->l.arena_bytes + go->l.arena_base_offset },
					   { .u = f->arena_inuse[i] }, { .d = pct(f->arena_inuse[i], go->l.arena_bytes) } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	memdbg_end_object(p);
}

static struct memdbg_error *print_frag(struct memdbg_target *t, struct memdbg_go *go, const struct frag *f,
				       struct memdbg_printer *p)
{
	const struct go_layout *l = &go->l;
	uint64_t heap_free, heap_released;
	struct memdbg_error *err;
	if ((err = memdbg_read_u64(t, go->sym.gc_controller + l->gcc_heap_free, &heap_free)) ||
	    (err = memdbg_read_u64(t, go->sym.gc_controller + l->gcc_heap_released, &heap_released)))
		return memdbg_error_prefix(err, "reading gcController");
	char headline[128];
	snprintf(headline, sizeof(headline), "%.1f%% of in-use span bytes are free slots",
		 pct(f->free_bytes, f->inuse_bytes));
	memdbg_field_str(p, "headline", headline);
	print_classes(go, f, p);

	uint64_t large_bytes = f->large_pages * l->page_size;
	memdbg_begin_object(p, "large", "Large-object spans");
	memdbg_field_u64(p, "spans", f->large_spans);
	memdbg_field_u64(p, "pages", f->large_pages);
	memdbg_field_u64(p, "bytes", large_bytes);
	memdbg_field_u64(p, "requested", f->large_requested);
	memdbg_field_u64(p, "waste", large_bytes - f->large_requested);
	memdbg_end_object(p);

	/* memstats: HeapIdle = heapFree + heapReleased, as readmemstats_m adds them. */
	memdbg_begin_object(p, "pages", "Free pages");
	memdbg_field_u64(p, "page_size", l->page_size);
	memdbg_field_u64(p, "idle_bytes", heap_free + heap_released);
	memdbg_field_u64(p, "idle_pages", (heap_free + heap_released) / l->page_size);
	memdbg_field_u64(p, "released_bytes", heap_released);
	memdbg_field_u64(p, "released_pages", heap_released / l->page_size);
	memdbg_end_object(p);

	print_arenas(go, f, p);

	memdbg_begin_object(p, "totals", "Totals");
	memdbg_field_u64(p, "inuse_span_bytes", f->inuse_bytes);
	memdbg_field_u64(p, "free_slot_bytes", f->free_bytes);
	memdbg_field_pct(p, "free_pct", pct(f->free_bytes, f->inuse_bytes));
	memdbg_field_u64(p, "tail_bytes", f->tail_bytes);
	memdbg_field_u64(p, "unswept_spans", f->unswept);
	memdbg_field_u64(p, "unreadable_spans", f->unreadable_bits + go->spans_unreadable);
	memdbg_field_u64(p, "inconsistent_spans", go->spans_inconsistent + f->outside_arenas + f->large_bad_limit);
	memdbg_end_object(p);
	if (f->unswept)
		memdbg_note(p, "%" PRIu64 " spans are not swept yet: their used slots include objects the last GC "
			    "found dead", f->unswept);
	if (f->unreadable_bits || f->outside_arenas || f->large_bad_limit)
		memdbg_note(p, "%" PRIu64 " spans without allocation bits, %" PRIu64 " span ranges outside the "
			    "listed arenas, %" PRIu64 " large spans with a bad limit (not in the figures above)",
			    f->unreadable_bits, f->outside_arenas, f->large_bad_limit);
	return NULL;
}

static struct memdbg_error *run_frag(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct memdbg_go *go;
	struct memdbg_error *err = memdbg_go_get(t, &go);
	if (!err)
		err = memdbg_go_load_spans(t, go, p);
	if (err)
		return err;
	struct frag f = { 0 };
	f.cls = calloc(go->l.num_size_classes ? go->l.num_size_classes : 1, sizeof(*f.cls));
	if (!f.cls)
		return memdbg_enomem;
	if (!(err = load_arenas(t, go, &f)) && !(err = collect(t, go, &f)))
		err = print_frag(t, go, &f, p);
	free(f.cls);
	free(f.arena_idx);
	free(f.arena_inuse);
	return err;
}

const struct memdbg_command memdbg_cmd_frag = {
	.info = {
		.name = "frag",
		.summary = "fragmentation: per size class free slots in in-use spans, idle and released pages, arenas",
		.usage = "frag [--json]",
		.help = "Per size class: in-use spans, slots, used slots (below freeindex or set in allocBits),\n"
			"utilization and the bytes of free slots (free_bytes) and of span tails no slot fits\n"
			"(tail_bytes).  Large-object spans: pages against the requested bytes (mspan.limit).\n"
			"Idle and released pages as memstats' HeapIdle and HeapReleased.  Per arena: bytes of\n"
			"in-use spans.  Headline: free-slot bytes over all in-use span bytes.",
	},
	.needs_target = true,
	.run = run_frag,
};
