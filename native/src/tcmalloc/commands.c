/* commands.c - TCMalloc commands: tc-info, tc-stats, tc-classes, tc-pageheap, tc-caches, tc-block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/alloc.h"
#include "tcmalloc/tc.h"

/* The figures of MallocExtension's numeric properties, with tcmalloc.cc's arithmetic. */
struct tc_figures {
	uint64_t thread_bytes, central_bytes, transfer_bytes, current_allocated;
};

static void figures(const struct tc_heap *h, struct tc_figures *f)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < h->nthreads; i++)
		f->thread_bytes += h->threads[i].size;
	for (uint32_t c = 1; c < h->nclasses; c++) {
		const struct tc_class *k = &h->cls[c];
		f->central_bytes += k->size * k->central_counter + k->overhead;
		f->transfer_bytes += k->size * k->transfer_objects;
	}
	f->current_allocated = h->system_bytes - f->thread_bytes - f->central_bytes - f->transfer_bytes -
			       h->free_bytes - h->unmapped_bytes;
}

/* Where a span counts, in tc-pageheap's order. */
enum span_state { SPAN_SMALL, SPAN_LARGE, SPAN_FREE, SPAN_RETURNED, SPAN_SAMPLED, SPAN_STATES };

static const char *const span_state_names[SPAN_STATES] = { "in use (small)", "in use (large)", "free", "returned",
							   "in use (sampled)" };

/* What the page map says, per class and in total. */
struct class_walk {
	uint64_t spans, refcount;
	uint64_t sampled;  /* spans of one sampled object of this class */
};

struct pagemap_walk {
	struct class_walk cls[TC_MAX_CLASSES];
	uint64_t spans[SPAN_STATES], bytes[SPAN_STATES];
};

static enum span_state span_state(const struct tc_span *s)
{
	if (s->location == TC_ON_NORMAL_FREELIST)
		return SPAN_FREE;
	if (s->location == TC_ON_RETURNED_FREELIST)
		return SPAN_RETURNED;
	if (s->sizeclass)
		return SPAN_SMALL;
	return s->sample_class ? SPAN_SAMPLED : SPAN_LARGE;
}

static void walk_spans(const struct tc_heap *h, struct pagemap_walk *w)
{
	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < h->nspans; i++) {
		const struct tc_span *s = &h->spans[i];
		enum span_state k = span_state(s);
		w->spans[k]++;
		w->bytes[k] += s->npages << h->l->page_shift;
		if (k == SPAN_SAMPLED) {
			w->cls[s->sample_class].sampled++;
		} else if (k == SPAN_SMALL) {
			w->cls[s->sizeclass].spans++;
			w->cls[s->sizeclass].refcount += s->refcount;
		}
	}
}

static void inconsistency_note(struct memdbg_printer *p, const struct tc_heap *h)
{
	if (h->spans_inconsistent || h->leaves_unreadable || h->lists_inconsistent)
		memdbg_note(p, "note: %zu page-map entries inconsistent, %zu leaves unreadable, %zu free lists cut "
			    "short (skipped)", h->spans_inconsistent, h->leaves_unreadable, h->lists_inconsistent);
}

/* ---- tc-info ---- */

static struct memdbg_error *run_tc_info(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct tc_heap *h;
	struct memdbg_error *err = tc_get(t, &h);
	if (err)
		return err;
	memdbg_field_str(p, "allocator", "tcmalloc");
	memdbg_field_str(p, "version", h->version);
	memdbg_field_str(p, "library", h->where);
	memdbg_field_str(p, "build_id", h->build_id[0] ? h->build_id : NULL);
	memdbg_field_str(p, "found_by", h->source);
	memdbg_field_hex(p, "load_base", h->base);
	memdbg_field_hex(p, "sizemap", h->sym[TC_SYM_SIZEMAP]);
	memdbg_field_hex(p, "central_cache", h->sym[TC_SYM_CENTRAL_CACHE]);
	memdbg_field_hex(p, "pageheap", h->sym[TC_SYM_PAGEHEAP]);
	memdbg_field_u64(p, "page_size", h->page);
	memdbg_field_u64(p, "size_classes", h->nclasses);
	memdbg_field_u64(p, "spans", h->nspans);
	memdbg_field_u64(p, "thread_caches", h->nthreads);
	memdbg_field_u64(p, "cached_objects", h->ncached);
	memdbg_field_u64(p, "spans_inconsistent", h->spans_inconsistent);
	memdbg_field_u64(p, "leaves_unreadable", h->leaves_unreadable);
	memdbg_field_u64(p, "lists_inconsistent", h->lists_inconsistent);
	return NULL;
}

/* ---- tc-stats ---- */

static struct memdbg_error *run_tc_stats(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct tc_heap *h;
	struct memdbg_error *err = tc_get(t, &h);
	if (err)
		return err;
	struct tc_figures f;
	struct pagemap_walk *w = malloc(sizeof(*w));
	if (!w)
		return memdbg_enomem;
	figures(h, &f);
	walk_spans(h, w);
	memdbg_field_u64(p, "current_allocated_bytes", f.current_allocated);
	memdbg_field_u64(p, "heap_size", h->system_bytes);
	memdbg_field_u64(p, "pageheap_free_bytes", h->free_bytes);
	memdbg_field_u64(p, "pageheap_unmapped_bytes", h->unmapped_bytes);
	memdbg_field_u64(p, "pageheap_committed_bytes", h->committed_bytes);
	memdbg_field_u64(p, "central_cache_free_bytes", f.central_bytes);
	memdbg_field_u64(p, "transfer_cache_free_bytes", f.transfer_bytes);
	memdbg_field_u64(p, "thread_cache_free_bytes", f.thread_bytes);
	memdbg_field_u64(p, "slack_bytes", h->free_bytes + h->unmapped_bytes);
	uint64_t in_use = w->bytes[SPAN_LARGE] + w->bytes[SPAN_SAMPLED], cached_bytes = 0;
	for (uint32_t c = 1; c < h->nclasses; c++) {
		in_use += w->cls[c].refcount * h->cls[c].size;
		cached_bytes += (h->cls[c].thread_objects + h->cls[c].transfer_objects) * h->cls[c].size;
	}
	memdbg_begin_object(p, "walk", "From the page map and the free lists");
	memdbg_field_u64(p, "allocated_bytes", in_use - cached_bytes);
	memdbg_field_u64(p, "free_bytes", w->bytes[SPAN_FREE]);
	memdbg_field_u64(p, "unmapped_bytes", w->bytes[SPAN_RETURNED]);
	memdbg_field_u64(p, "small_spans", w->spans[SPAN_SMALL]);
	memdbg_field_u64(p, "large_spans", w->spans[SPAN_LARGE]);
	memdbg_field_u64(p, "large_bytes", w->bytes[SPAN_LARGE]);
	memdbg_field_u64(p, "sampled_spans", w->spans[SPAN_SAMPLED]);
	memdbg_field_u64(p, "sampled_bytes", w->bytes[SPAN_SAMPLED]);
	memdbg_field_u64(p, "thread_cached_objects", h->ncached);
	memdbg_end_object(p);
	free(w);
	inconsistency_note(p, h);
	return NULL;
}

/* ---- tc-classes ---- */

static struct memdbg_error *run_tc_classes(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct tc_heap *h;
	struct memdbg_error *err = tc_get(t, &h);
	if (err)
		return err;
	bool all = memdbg_arg_flag(a, "--all");
	struct pagemap_walk *w = malloc(sizeof(*w));
	if (!w)
		return memdbg_enomem;
	walk_spans(h, w);
	static const struct memdbg_col cols[] = {
		{ "class", MEMDBG_COL_U64, 5 },
		{ "size", MEMDBG_COL_U64, 7 },
		{ "pages", MEMDBG_COL_U64, 5 },
		{ "objs_per_span", MEMDBG_COL_U64, 13 },
		{ "spans", MEMDBG_COL_U64, 7 },
		{ "in_use", MEMDBG_COL_U64, 9 },
		{ "free_in_spans", MEMDBG_COL_U64, 13 },
		{ "central", MEMDBG_COL_U64, 8 },
		{ "transfer", MEMDBG_COL_U64, 8 },
		{ "thread", MEMDBG_COL_U64, 7 },
		{ "cache_objs", MEMDBG_COL_U64, 10 },
		{ "in_use_bytes", MEMDBG_COL_U64, 12 },
		{ "sampled", MEMDBG_COL_U64, 7 },
	};
	uint64_t mismatched = 0;
	memdbg_table_begin(p, "classes", cols, MEMDBG_ARRAY_SIZE(cols));
	for (uint32_t c = 1; c < h->nclasses; c++) {
		const struct tc_class *k = &h->cls[c];
		const struct class_walk *cw = &w->cls[c];
		if (!all && !cw->spans && !cw->sampled && !k->central_counter && !k->transfer_objects &&
		    !k->thread_objects)
			continue;
		uint64_t handed = k->thread_objects + k->transfer_objects;
		uint64_t in_use = cw->refcount >= handed ? cw->refcount - handed : 0;
		uint64_t free_in_spans = cw->spans * k->objects_per_span - cw->refcount;
		mismatched += free_in_spans != k->central_counter || cw->refcount < handed || cw->spans != k->central_spans;
		struct memdbg_val v[13] = {
			{ .u = c }, { .u = k->size }, { .u = k->pages }, { .u = k->objects_per_span }, { .u = cw->spans },
			{ .u = in_use }, { .u = free_in_spans }, { .u = k->central_counter }, { .u = k->transfer_objects },
			{ .u = k->thread_objects }, { .u = k->central_counter + k->transfer_objects + k->thread_objects },
			{ .u = in_use * k->size }, { .u = cw->sampled },
		};
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	free(w);
	memdbg_field_u64(p, "mismatched_classes", mismatched);
	if (mismatched)
		memdbg_note(p, "note: %" PRIu64 " classes whose central counters differ from their spans", mismatched);
	inconsistency_note(p, h);
	return NULL;
}

/* ---- tc-pageheap ---- */

static struct memdbg_error *run_tc_pageheap(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct tc_heap *h;
	struct memdbg_error *err = tc_get(t, &h);
	if (err)
		return err;
	uint64_t maxp = h->l->max_pages;
	/* [length][span_state()]; the last row: longer than max_pages. */
	uint64_t (*hist)[SPAN_STATES] = calloc(maxp + 2, sizeof(*hist));
	uint64_t (*pages)[SPAN_STATES] = calloc(maxp + 2, sizeof(*pages));
	if (!hist || !pages) {
		free(hist);
		free(pages);
		return memdbg_enomem;
	}
	for (size_t i = 0; i < h->nspans; i++) {
		const struct tc_span *s = &h->spans[i];
		int k = span_state(s);
		uint64_t row = s->npages > maxp ? maxp + 1 : s->npages;
		hist[row][k]++;
		pages[row][k] += s->npages;
	}
	static const struct memdbg_col scols[] = {
		{ "state", MEMDBG_COL_STR, -16 },
		{ "spans", MEMDBG_COL_U64, 9 },
		{ "pages", MEMDBG_COL_U64, 10 },
		{ "bytes", MEMDBG_COL_U64, 14 },
	};
	memdbg_field_u64(p, "free_bytes", h->free_bytes);
	memdbg_field_u64(p, "unmapped_bytes", h->unmapped_bytes);
	memdbg_field_u64(p, "system_bytes", h->system_bytes);
	memdbg_table_begin(p, "by_state", scols, MEMDBG_ARRAY_SIZE(scols));
	for (int k = 0; k < SPAN_STATES; k++) {
		uint64_t n = 0, pg = 0;
		for (uint64_t r = 1; r <= maxp + 1; r++) {
			n += hist[r][k];
			pg += pages[r][k];
		}
		struct memdbg_val v[4] = { { .s = span_state_names[k] }, { .u = n }, { .u = pg }, { .u = pg * h->page } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	static const struct memdbg_col lcols[] = {
		{ "pages", MEMDBG_COL_STR, -6 },
		{ "in_use_small", MEMDBG_COL_U64, 12 },
		{ "in_use_large", MEMDBG_COL_U64, 12 },
		{ "free", MEMDBG_COL_U64, 6 },
		{ "returned", MEMDBG_COL_U64, 8 },
		{ "free_pages", MEMDBG_COL_U64, 10 },
		{ "returned_pages", MEMDBG_COL_U64, 14 },
		{ "in_use_sampled", MEMDBG_COL_U64, 14 },
	};
	memdbg_begin_object(p, "by_length", "Spans by length");
	memdbg_table_begin(p, "lengths", lcols, MEMDBG_ARRAY_SIZE(lcols));
	for (uint64_t r = 1; r <= maxp + 1; r++) {
		uint64_t spans = 0;
		for (int k = 0; k < SPAN_STATES; k++)
			spans += hist[r][k];
		if (!spans)
			continue;
		char len[16];
		snprintf(len, sizeof(len), r > maxp ? ">%" PRIu64 : "%" PRIu64, r > maxp ? maxp : r);
		struct memdbg_val v[8] = { { .s = len }, { .u = hist[r][SPAN_SMALL] }, { .u = hist[r][SPAN_LARGE] },
					   { .u = hist[r][SPAN_FREE] }, { .u = hist[r][SPAN_RETURNED] },
					   { .u = pages[r][SPAN_FREE] }, { .u = pages[r][SPAN_RETURNED] },
					   { .u = hist[r][SPAN_SAMPLED] } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	memdbg_end_object(p);
	free(hist);
	free(pages);
	inconsistency_note(p, h);
	return NULL;
}

/* ---- tc-caches ---- */

static struct memdbg_error *run_tc_caches(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct tc_heap *h;
	struct memdbg_error *err = tc_get(t, &h);
	if (err)
		return err;
	static const struct memdbg_col cols[] = {
		{ "cache", MEMDBG_COL_HEX, 14 },
		{ "tid", MEMDBG_COL_HEX, 14 },
		{ "bytes", MEMDBG_COL_U64, 10 },
		{ "objects", MEMDBG_COL_U64, 8 },
	};
	uint64_t bytes = 0, objects = 0, transfer = 0;
	memdbg_table_begin(p, "thread_caches", cols, MEMDBG_ARRAY_SIZE(cols));
	for (size_t i = 0; i < h->nthreads; i++) {
		const struct tc_thread *th = &h->threads[i];
		struct memdbg_val v[4] = { { .u = th->addr }, { .u = th->tid }, { .u = th->size }, { .u = th->objects } };
		memdbg_table_row(p, v);
		bytes += th->size;
		objects += th->objects;
	}
	memdbg_table_end(p);
	for (uint32_t c = 1; c < h->nclasses; c++)
		transfer += h->cls[c].transfer_objects * h->cls[c].size;
	memdbg_begin_object(p, "totals", "Totals");
	memdbg_field_u64(p, "thread_caches", h->nthreads);
	memdbg_field_u64(p, "bytes", bytes);
	memdbg_field_u64(p, "objects", objects);
	memdbg_field_u64(p, "transfer_cache_bytes", transfer);
	memdbg_end_object(p);
	inconsistency_note(p, h);
	return NULL;
}

/* ---- tc-block ---- */

struct memdbg_error *tc_block_at(struct memdbg_target *t, struct tc_heap *h, uint64_t addr, struct alloc_block *b,
				 const struct tc_span **span)
{
	const struct tc_span *s = tc_span_at(h, addr);
	if (!s)
		return memdbg_error_format(MEMDBG_ERROR_LOOKUP, "0x%" PRIx64 " is not in any TCMalloc span", addr);
	memset(b, 0, sizeof(*b));
	b->heap = "tcmalloc";
	*span = s;
	uint64_t start = s->start << h->l->page_shift, len = s->npages << h->l->page_shift;
	if (s->location != TC_IN_USE || !s->sizeclass) {
		b->start = start;
		b->size = len;
		b->state = s->location == TC_IN_USE ? ALLOC_ALLOCATED : ALLOC_FREE;
		if (s->location == TC_IN_USE && s->sample)
			snprintf(b->detail, sizeof(b->detail),
				 "sampled object (%" PRIu64 " bytes asked, class %u) alone in a span of %" PRIu64
				 " pages at 0x%" PRIx64, s->sample_size, s->sample_class, s->npages, start);
		else
			snprintf(b->detail, sizeof(b->detail), "%s span of %" PRIu64 " pages at 0x%" PRIx64,
				 s->location == TC_IN_USE ? "large" : tc_location_name(s->location), s->npages, start);
		return NULL;
	}
	const struct tc_class *k = &h->cls[s->sizeclass];
	uint64_t i = (addr - start) / k->size;
	if (i >= k->objects_per_span)
		return memdbg_error_format(MEMDBG_ERROR_LOOKUP, "0x%" PRIx64 " is in the tail of span 0x%" PRIx64
					   " past its last object", addr, start);
	b->start = start + i * k->size;
	b->size = k->size;
	const struct tc_cached *c = tc_cached_at(h, b->start);
	uint64_t *list;
	size_t n;
	struct memdbg_error *err = tc_span_free_list(t, h, s, &list, &n);
	if (err)
		return err;
	bool on_span = bsearch(&b->start, list, n, sizeof(*list), memdbg_u64_cmp) != NULL;
	free(list);
	b->state = on_span ? ALLOC_FREE : c ? ALLOC_CACHED : ALLOC_ALLOCATED;
	snprintf(b->detail, sizeof(b->detail), "object %" PRIu64 " of span 0x%" PRIx64 " (class %u, size %" PRIu64 ")", i,
		 start, s->sizeclass, k->size);
	return NULL;
}

static struct memdbg_error *run_tc_block(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	uint64_t addr;
	struct tc_heap *h;
	struct memdbg_error *err = memdbg_arg_address(a, &addr);
	if (err || (err = tc_get(t, &h)))
		return err;
	struct alloc_block b;
	const struct tc_span *s;
	if ((err = tc_block_at(t, h, addr, &b, &s)))
		return err;
	memdbg_field_hex(p, "address", addr);
	memdbg_begin_object(p, "span", "Span");
	memdbg_field_hex(p, "start", s->start << h->l->page_shift);
	memdbg_field_u64(p, "pages", s->npages);
	memdbg_field_str(p, "location", tc_location_name(s->location));
	memdbg_field_u64(p, "sizeclass", s->sizeclass);
	memdbg_field_u64(p, "refcount", s->refcount);
	memdbg_field_bool(p, "sampled", s->sample);
	if (s->sample)
		memdbg_field_u64(p, "sampled_size", s->sample_size);
	memdbg_field_hex(p, "record", s->addr);
	memdbg_end_object(p);
	memdbg_begin_object(p, "block", "Block");
	memdbg_field_hex(p, "start", b.start);
	memdbg_field_u64(p, "size", b.size);
	memdbg_field_u64(p, "offset", addr - b.start);
	const struct tc_cached *c = b.state == ALLOC_CACHED ? tc_cached_at(h, b.start) : NULL;
	const char *state = b.state == ALLOC_ALLOCATED ? "allocated" : b.state == ALLOC_FREE ? "free"
		: c && c->owner == UINT32_MAX ? "transfer" : "thread";
	memdbg_field_str(p, "state", state);
	if (c && c->owner != UINT32_MAX) {
		memdbg_field_hex(p, "thread_cache", h->threads[c->owner].addr);
		memdbg_field_hex(p, "tid", h->threads[c->owner].tid);
	}
	memdbg_end_object(p);
	return NULL;
}

/* ---- the table rows ---- */

const struct memdbg_command memdbg_cmd_tc_info = {
	.info = {
		.name = "tc-info",
		.summary = "TCMalloc: version, where its state was found, size classes, spans, thread caches",
		.usage = "tc-info [--json]",
		.help = "TCMalloc (gperftools 2.10) is found through the executable's symbols (static links), the\n"
			"library's symbols or its debug file, memdbg's table of known stripped builds, or its\n"
			"own InitStaticVars code (found_by: code search).",
	},
	.needs_target = true,
	.run = run_tc_info,
};

const struct memdbg_command memdbg_cmd_tc_stats = {
	.info = {
		.name = "tc-stats",
		.summary = "TCMalloc: MallocExtension's numeric properties (allocated, page heap, caches)",
		.usage = "tc-stats [--json]",
		.help = "Each figure is the property of the same name, with tcmalloc's arithmetic:\n"
			"current_allocated_bytes = heap_size - caches - free - unmapped.  'walk' recomputes\n"
			"allocated, free and unmapped bytes from the spans of the page map.",
	},
	.needs_target = true,
	.run = run_tc_stats,
};

static const struct memdbg_opt tc_classes_opts[] = {
	{ "--all", NULL, "also list size classes with no span and nothing cached" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_tc_classes = {
	.info = {
		.name = "tc-classes",
		.summary = "TCMalloc: per size class, spans, objects in use, free in spans and in each cache",
		.usage = "tc-classes [--all] [--json]",
		.help = "in_use is the objects handed out of the class's spans minus those sitting in thread and\n"
			"transfer caches.  central is the central list's count of objects free in spans;\n"
			"cache_objs = central + transfer + thread, as GetStats prints per class.  sampled counts\n"
			"the spans heap sampling gave one object of the class each (not in spans).",
	},
	.opts = tc_classes_opts,
	.needs_target = true,
	.run = run_tc_classes,
};

const struct memdbg_command memdbg_cmd_tc_pageheap = {
	.info = {
		.name = "tc-pageheap",
		.summary = "TCMalloc: spans by state and by length, free and unmapped pages",
		.usage = "tc-pageheap [--json]",
		.help = "returned spans are free and given back to the system (unmapped); their pages are\n"
			"usually absent from a core.  in use (sampled): a small object heap sampling gave a\n"
			"span of its own.",
	},
	.needs_target = true,
	.run = run_tc_pageheap,
};

const struct memdbg_command memdbg_cmd_tc_caches = {
	.info = {
		.name = "tc-caches",
		.summary = "TCMalloc: per thread cache, its thread, bytes and objects",
		.usage = "tc-caches [--json]",
		.help = "From ThreadCache::thread_heaps_; bytes is the cache's own size_ counter.",
	},
	.needs_target = true,
	.run = run_tc_caches,
};

const struct memdbg_command memdbg_cmd_tc_block = {
	.info = {
		.name = "tc-block",
		.summary = "TCMalloc: the span, size class, object and state of an address",
		.usage = "tc-block ADDR [--json]",
		.help = "state is allocated, free (on its span's list), thread (in a thread cache) or transfer\n"
			"(in a central transfer cache).",
	},
	.max_args = 1,
	.needs_target = true,
	.run = run_tc_block,
};
