/* commands.c - span-level Go heap commands: go-info, memstats, mspan-walk, mcentral, mcache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/memstats.h"

#define MAX_PS 65536
#define MAX_ARENAS (1u << 22)

static struct memdbg_error *open_go(struct memdbg_target *t, struct memdbg_printer *p, bool spans,
				    struct memdbg_go **ret)
{
	struct memdbg_error *err = memdbg_go_get(t, ret);
	if (!err && spans)
		err = memdbg_go_load_spans(t, *ret, p);
	return err;
}

static const char *gc_phase_name(const struct memdbg_go *go, uint64_t phase)
{
	if (phase == go->l.gc_off)
		return "off";
	if (phase == go->l.gc_mark)
		return "mark";
	if (phase == go->l.gc_mark_termination)
		return "marktermination";
	return "unknown";
}

static int arena_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void print_arenas(struct memdbg_target *t, struct memdbg_go *go, struct memdbg_printer *p, struct go_reader *r)
{
	uint64_t array, len;
	struct memdbg_error *err = go_read_slice(t, go->sym.mheap + go->l.mh_arena_list, &array, &len);
	if (err || len > MAX_ARENAS) {
		r->err = err ? err : memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "mheap_ lists %" PRIu64 " arenas", len);
		return;
	}
	/* runtime.arenaIdx is a uint. */
	uint64_t *idx = malloc((len ? len : 1) * sizeof(*idx));
	if (!idx) {
		r->err = memdbg_enomem;
		return;
	}
	if ((r->err = memdbg_read(t, array, idx, len * sizeof(*idx)))) {
		free(idx);
		return;
	}
	qsort(idx, len, sizeof(*idx), arena_cmp);
	if (!len)
		memdbg_damaged(p, "runtime.mheap_.allArenas at 0x%" PRIx64 " is empty: a running Go program has a heap arena",
			       go->sym.mheap + go->l.mh_arena_list);
	static const struct memdbg_col cols[] = {
		{ "start", MEMDBG_COL_HEX, 16 },
		{ "end", MEMDBG_COL_HEX, 16 },
		{ "arenas", MEMDBG_COL_U64, 7 },
	};
	memdbg_begin_object(p, "arenas", "Heap arenas");
	memdbg_field_u64(p, "count", len);
	memdbg_field_u64(p, "arena_bytes", go->l.arena_bytes);
	memdbg_table_begin(p, "ranges", cols, MEMDBG_ARRAY_SIZE(cols));
	for (uint64_t i = 0; i < len;) {
		uint64_t j = i + 1;
		while (j < len && idx[j] == idx[j - 1] + 1)
			j++;
		uint64_t start = idx[i] * go->l.arena_bytes + go->l.arena_base_offset;
		struct memdbg_val v[3] = { { .u = start }, { .u = start + (j - i) * go->l.arena_bytes }, { .u = j - i } };
		memdbg_table_row(p, v);
		i = j;
	}
	memdbg_table_end(p);
	memdbg_end_object(p);
	free(idx);
}

static struct memdbg_error *run_go_info(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct memdbg_go *go;
	struct memdbg_error *err = open_go(t, p, true, &go);
	if (err)
		return err;
	const struct go_layout *l = &go->l;
	struct go_reader r = { t };
	uint64_t allp, nprocs;
	if ((err = go_read_slice(t, go->sym.allp, &allp, &nprocs)))
		return memdbg_error_prefix(err, "reading runtime.allp");
	if (nprocs > MAX_PS)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "runtime.allp has %" PRIu64 " entries", nprocs);
	int32_t gomaxprocs = (int32_t)go_rd(&r, go->sym.gomaxprocs, 4);
	uint64_t allglen = go_rd(&r, go->sym.allglen, 8);
	int64_t goroutines = go_goroutine_count(&r, go, allp, nprocs);
	uint32_t numgc = (uint32_t)go_rd(&r, go->sym.memstats + l->ms_numgc, 4);
	uint32_t phase = (uint32_t)go_rd(&r, go->sym.gcphase, 4);
	if (r.err)
		return memdbg_error_prefix(r.err, "reading the scheduler (runtime.allp, runtime.sched, runtime.allglen)");

	/*
	 * What must hold of the scheduler and the GC: GOMAXPROCS is 1 or more, and
	 * no more than the Ps allp was made for (procresize grows allp before it
	 * stores gomaxprocs); allgs holds at least the main goroutine; gcphase is one
	 * of the three; gcMarkTermination counts numgc just before gcSweep adds 2 to
	 * mheap_.sweepgen, so sweepgen is 2 * NumGC or, in between, 2 * (NumGC - 1).
	 */
	bool bad_procs = gomaxprocs < 1 || gomaxprocs > MAX_PS || nprocs < 1;
	bool bad_gs = allglen < 1 || allglen > (uint64_t)UINT32_MAX;
	bool bad_phase = !strcmp(gc_phase_name(go, phase), "unknown");
	bool bad_gc = go->heap_sweepgen != 2 * numgc && go->heap_sweepgen != 2 * (numgc - 1);
	if (bad_procs)
		memdbg_damaged(p, "GOMAXPROCS %" PRId32 " (runtime.gomaxprocs at 0x%" PRIx64 ") with %" PRIu64
			       " Ps in runtime.allp: a Go program runs on at least one P", gomaxprocs, go->sym.gomaxprocs,
			       nprocs);
	if (bad_gs)
		memdbg_damaged(p, "runtime.allglen %" PRIu64 " (at 0x%" PRIx64 "): allgs holds at least the main goroutine",
			       allglen, go->sym.allglen);
	if (bad_phase)
		memdbg_damaged(p, "runtime.gcphase %u (at 0x%" PRIx64 ") is none of off, mark, marktermination", phase,
			       go->sym.gcphase);
	if (bad_gc)
		memdbg_damaged(p, "runtime.mheap_.sweepgen %u and NumGC %u (runtime.memstats.numgc at 0x%" PRIx64
			       ") disagree: each GC cycle adds 2 to sweepgen", go->heap_sweepgen, numgc,
			       go->sym.memstats + l->ms_numgc);

	memdbg_field_str(p, "target", t->live ? "live process" : "core");
	if (t->core_path)
		memdbg_field_str(p, "core", t->core_path);
	if (t->pid)
		memdbg_field_i64(p, "pid", t->pid);
	memdbg_field_str(p, "executable", t->exe_path);
	memdbg_field_str(p, "go_version", go->version);
	memdbg_field_str(p, "goarch", "amd64");
	if (bad_procs)
		memdbg_field_null(p, "gomaxprocs");
	else
		memdbg_field_i64(p, "gomaxprocs", gomaxprocs);
	if (bad_gs || bad_procs)
		memdbg_field_null(p, "goroutines");
	else
		memdbg_field_i64(p, "goroutines", goroutines);
	if (bad_gs)
		memdbg_field_null(p, "all_gs");
	else
		memdbg_field_u64(p, "all_gs", allglen);
	if (bad_gc)
		memdbg_field_null(p, "gc_cycles");
	else
		memdbg_field_u64(p, "gc_cycles", numgc);
	memdbg_field_str(p, "gc_phase", gc_phase_name(go, phase));
	memdbg_field_bool(p, "green_tea", l->green_tea);
	if (bad_gc)
		memdbg_field_null(p, "heap_sweepgen");
	else
		memdbg_field_u64(p, "heap_sweepgen", go->heap_sweepgen);
	print_arenas(t, go, p, &r);
	if (r.err)
		return memdbg_error_prefix(r.err, "reading the heap arena list");

	static const char *const states[] = { "inuse", "manual", "free" };
	uint64_t count[3] = { 0 }, pages[3] = { 0 };
	for (size_t i = 0; i < go->nspans; i++) {
		const struct go_span *s = &go->spans[i];
		int k = s->state == l->span_in_use ? 0 : s->state == l->span_manual ? 1 : 2;
		count[k]++;
		pages[k] += s->npages;
	}
	static const struct memdbg_col cols[] = {
		{ "state", MEMDBG_COL_STR, -8 },
		{ "spans", MEMDBG_COL_U64, 10 },
		{ "pages", MEMDBG_COL_U64, 10 },
		{ "bytes", MEMDBG_COL_U64, 14 },
	};
	memdbg_begin_object(p, "spans", "Spans by state");
	memdbg_table_begin(p, "by_state", cols, MEMDBG_ARRAY_SIZE(cols));
	for (int k = 0; k < 3; k++) {
		struct memdbg_val v[4] = { { .s = states[k] }, { .u = count[k] }, { .u = pages[k] },
					   { .u = pages[k] * l->page_size } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	memdbg_field_u64(p, "unreadable", go->spans_unreadable);
	memdbg_field_u64(p, "inconsistent", go->spans_inconsistent);
	memdbg_end_object(p);
	go_print_binary(t, go, p);
	return NULL;
}

/* ---- memstats ---- */

/* A figure that failed its plausibility check is null, and a damaged note says why. */
static void ms_field(struct memdbg_printer *p, const struct go_memstats *ms, uint32_t bits, const char *key, uint64_t v)
{
	if (ms->bad & bits)
		memdbg_field_null(p, key);
	else
		memdbg_field_u64(p, key, v);
}

static struct memdbg_error *run_memstats(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct memdbg_go *go;
	struct go_memstats ms;
	struct memdbg_error *err = open_go(t, p, false, &go);
	if (err || (err = go_memstats_read(t, go, &ms)))
		return err;
	go_memstats_report(&ms, p);
	ms_field(p, &ms, GO_MS_ALLOC, "Alloc", ms.Alloc);
	ms_field(p, &ms, GO_MS_ALLOC, "TotalAlloc", ms.TotalAlloc);
	ms_field(p, &ms, GO_MS_SYS, "Sys", ms.Sys);
	ms_field(p, &ms, GO_MS_ALLOC, "Mallocs", ms.Mallocs);
	ms_field(p, &ms, GO_MS_ALLOC, "Frees", ms.Frees);
	ms_field(p, &ms, GO_MS_ALLOC, "HeapAlloc", ms.HeapAlloc);
	ms_field(p, &ms, GO_MS_HEAP, "HeapSys", ms.HeapSys);
	ms_field(p, &ms, GO_MS_HEAP, "HeapIdle", ms.HeapIdle);
	ms_field(p, &ms, GO_MS_HEAP, "HeapInuse", ms.HeapInuse);
	ms_field(p, &ms, GO_MS_HEAP, "HeapReleased", ms.HeapReleased);
	ms_field(p, &ms, GO_MS_ALLOC, "HeapObjects", ms.HeapObjects);
	ms_field(p, &ms, GO_MS_STACK, "StackInuse", ms.StackInuse);
	ms_field(p, &ms, GO_MS_STACK, "StackSys", ms.StackSys);
	ms_field(p, &ms, GO_MS_MSPAN, "MSpanInuse", ms.MSpanInuse);
	ms_field(p, &ms, GO_MS_MSPAN, "MSpanSys", ms.MSpanSys);
	ms_field(p, &ms, GO_MS_MCACHE, "MCacheInuse", ms.MCacheInuse);
	ms_field(p, &ms, GO_MS_MCACHE, "MCacheSys", ms.MCacheSys);
	ms_field(p, &ms, GO_MS_OTHER, "BuckHashSys", ms.BuckHashSys);
	ms_field(p, &ms, GO_MS_GCSYS, "GCSys", ms.GCSys);
	ms_field(p, &ms, GO_MS_OTHER, "OtherSys", ms.OtherSys);
	ms_field(p, &ms, GO_MS_HEAP | GO_MS_ALLOC, "NextGC", ms.NextGC);
	ms_field(p, &ms, GO_MS_NUMGC, "NumGC", ms.NumGC);
	ms_field(p, &ms, GO_MS_NUMGC, "NumForcedGC", ms.NumForcedGC);

	static const struct memdbg_col cols[] = {
		{ "Class", MEMDBG_COL_U64, 5 },
		{ "Size", MEMDBG_COL_U64, 6 },
		{ "Mallocs", MEMDBG_COL_U64, 12 },
		{ "Frees", MEMDBG_COL_U64, 12 },
		{ "Live", MEMDBG_COL_U64, 10 },
		{ "LiveBytes", MEMDBG_COL_U64, 12 },
	};
	memdbg_note(p, "%s", "");
	memdbg_table_begin(p, "BySize", cols, MEMDBG_ARRAY_SIZE(cols));
	for (uint64_t k = 0; k < ms.nclasses; k++) {
		uint64_t live = ms.class_mallocs[k] - ms.class_frees[k];
		bool bad = ms.class_bad[k] || (ms.bad & GO_MS_ALLOC);
		struct memdbg_val v[6] = { { .u = k }, { .u = ms.class_size[k] }, { .u = ms.class_mallocs[k], .null = bad },
					   { .u = ms.class_frees[k], .null = bad }, { .u = live, .null = bad },
					   { .u = live * ms.class_size[k], .null = bad } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	memdbg_note(p, "Class 0 holds large objects; they are counted in Mallocs and Frees, not in BySize.");
	memdbg_field_u64(p, "unread_mcaches", ms.unread_mcaches);
	if (ms.unread_mcaches)
		memdbg_note(p, "The mcaches of %" PRIu64 " Ps are not in the %s: what they allocated since their last "
			    "refill or flush is not counted.", ms.unread_mcaches, t->live ? "process" : "core");
	return NULL;
}

/* ---- mspan-walk ---- */

enum span_sort { SORT_START, SORT_PAGES, SORT_CLASS, SORT_UTIL, SORT_ALLOCATED, SORT_FREE, SORT_ELEMSIZE };
static const char *const sort_names[] = { "start", "pages", "class", "util", "allocated", "free", "elemsize" };

static double span_util(const struct go_span *s)
{
	return s->nelems ? 100.0 * s->allocated / s->nelems : 0.0;
}

static enum span_sort sort_key;
static const struct go_span *sort_spans;

static int span_cmp(const void *a, const void *b)
{
	const struct go_span *x = &sort_spans[*(const uint32_t *)a], *y = &sort_spans[*(const uint32_t *)b];
	double kx, ky;
	switch (sort_key) {
	case SORT_PAGES: kx = (double)y->npages; ky = (double)x->npages; break;  /* largest first */
	case SORT_CLASS: kx = x->spanclass; ky = y->spanclass; break;
	case SORT_UTIL: kx = span_util(x); ky = span_util(y); break;  /* emptiest first */
	case SORT_ALLOCATED: kx = y->allocated; ky = x->allocated; break;
	case SORT_FREE: kx = (double)y->nelems - y->allocated; ky = (double)x->nelems - x->allocated; break;
	case SORT_ELEMSIZE: kx = (double)y->elemsize; ky = (double)x->elemsize; break;
	default: kx = ky = 0; break;
	}
	if (kx != ky)
		return kx < ky ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

struct span_filter {
	int state;  /* -1: all */
	int64_t size_class;  /* -1: any */
	int scan;   /* -1 any, 1 scan only, 0 noscan only */
	bool large;
	double min_util, max_util;
};

static bool span_matches(const struct memdbg_go *go, const struct go_span *s, const struct span_filter *f)
{
	if (f->state >= 0 && s->state != f->state)
		return false;
	if (f->size_class >= 0 && go_size_class(s->spanclass) != f->size_class)
		return false;
	if (f->scan >= 0 && go_noscan(s->spanclass) == (f->scan == 1))
		return false;
	if (f->large && go_size_class(s->spanclass) != 0)
		return false;
	double u = span_util(s);
	return u >= f->min_util && u <= f->max_util;
}

static struct memdbg_error *parse_span_filter(struct memdbg_go *go, struct memdbg_args *a, struct span_filter *f)
{
	const char *state = memdbg_arg_value(a, "--state");
	f->state = (int)go->l.span_in_use;
	if (state) {
		if (strcmp(state, "inuse") == 0)
			f->state = (int)go->l.span_in_use;
		else if (strcmp(state, "manual") == 0)
			f->state = (int)go->l.span_manual;
		else if (strcmp(state, "free") == 0)
			f->state = (int)go->l.span_dead;
		else if (strcmp(state, "all") == 0)
			f->state = -1;
		else
			return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT,
						   "mspan-walk: --state wants inuse, manual, free or all, not '%s'", state);
	}
	uint64_t cls;
	struct memdbg_error *err = memdbg_arg_u64(a, "--class", UINT64_MAX, go->l.num_size_classes - 1, &cls);
	if (err && memdbg_arg_value(a, "--class"))
		return err;
	memdbg_error_destroy(err);
	f->size_class = memdbg_arg_value(a, "--class") ? (int64_t)cls : -1;
	bool scan = memdbg_arg_flag(a, "--scan"), noscan = memdbg_arg_flag(a, "--noscan");
	if (scan && noscan)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "mspan-walk: --scan and --noscan exclude each other");
	f->scan = scan ? 1 : noscan ? 0 : -1;
	f->large = memdbg_arg_flag(a, "--large");
	if ((err = memdbg_arg_double(a, "--min-util", 0, &f->min_util)) ||
	    (err = memdbg_arg_double(a, "--max-util", 100, &f->max_util)))
		return err;
	return NULL;
}

static struct memdbg_error *run_mspan_walk(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct memdbg_go *go;
	struct memdbg_error *err = open_go(t, p, true, &go);
	if (err)
		return err;
	struct span_filter f;
	uint64_t limit;
	if ((err = parse_span_filter(go, a, &f)) || (err = memdbg_arg_u64(a, "--limit", UINT64_MAX, UINT64_MAX, &limit)))
		return err;
	enum span_sort sort = SORT_START;
	const char *sort_arg = memdbg_arg_value(a, "--sort");
	if (sort_arg) {
		size_t k = 0;
		while (k < MEMDBG_ARRAY_SIZE(sort_names) && strcmp(sort_names[k], sort_arg) != 0)
			k++;
		if (k == MEMDBG_ARRAY_SIZE(sort_names))
			return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT,
						   "mspan-walk: --sort wants start, pages, class, util, allocated, free "
						   "or elemsize, not '%s'", sort_arg);
		sort = (enum span_sort)k;
	}
	uint32_t *order = malloc((go->nspans ? go->nspans : 1) * sizeof(*order));
	if (!order)
		return memdbg_enomem;
	size_t n = 0;
	uint64_t pages = 0, slots = 0, allocated = 0, alloc_bytes = 0, bits_missing = 0;
	for (size_t i = 0; i < go->nspans; i++) {
		const struct go_span *s = &go->spans[i];
		if (!span_matches(go, s, &f))
			continue;
		order[n++] = (uint32_t)i;
		pages += s->npages;
		slots += s->nelems;
		allocated += s->allocated;
		alloc_bytes += (uint64_t)s->allocated * s->elemsize;
		bits_missing += s->state == go->l.span_in_use && s->nelems && !s->bits_readable;
	}
	sort_key = sort;
	sort_spans = go->spans;
	qsort(order, n, sizeof(*order), span_cmp);

	static const struct memdbg_col cols[] = {
		{ "start", MEMDBG_COL_HEX, 14 },
		{ "end", MEMDBG_COL_HEX, 14 },
		{ "pages", MEMDBG_COL_U64, 6 },
		{ "class", MEMDBG_COL_U64, 5 },
		{ "noscan", MEMDBG_COL_BOOL, 6 },
		{ "elemsize", MEMDBG_COL_U64, 8 },
		{ "slots", MEMDBG_COL_U64, 5 },
		{ "allocated", MEMDBG_COL_U64, 9 },
		{ "util", MEMDBG_COL_PCT, 6 },
		{ "state", MEMDBG_COL_STR, 6 },
		{ "sweep", MEMDBG_COL_STR, -14 },
	};
	memdbg_table_begin(p, "spans", cols, MEMDBG_ARRAY_SIZE(cols));
	for (size_t k = 0; k < n && k < limit; k++) {
		if ((err = memdbg_check_interrupt(p)))
			break;
		const struct go_span *s = &go->spans[order[k]];
		bool in_use = s->state == go->l.span_in_use;
		struct memdbg_val v[11] = {
			{ .u = s->start },
			{ .u = s->start + s->npages * go->l.page_size },
			{ .u = s->npages },
			{ .u = go_size_class(s->spanclass), .null = !in_use },
			{ .u = go_noscan(s->spanclass), .null = !in_use },
			{ .u = s->elemsize, .null = !in_use },
			{ .u = s->nelems, .null = !in_use },
			{ .u = s->allocated, .null = !in_use || !s->bits_readable },
			{ .d = span_util(s), .null = !in_use || !s->bits_readable },
			{ .s = go_span_state_name(go, s->state) },
			{ .s = in_use ? go_sweep_status(go, s->sweepgen) : NULL, .null = !in_use },
		};
		memdbg_table_row(p, v);
	}
	free(order);
	if (err)
		return err;
	memdbg_table_end(p);
	memdbg_begin_object(p, "totals", "Totals");
	memdbg_field_u64(p, "spans", n);
	memdbg_field_u64(p, "pages", pages);
	memdbg_field_u64(p, "bytes", pages * go->l.page_size);
	memdbg_field_u64(p, "slots", slots);
	memdbg_field_u64(p, "allocated", allocated);
	memdbg_field_u64(p, "allocated_bytes", alloc_bytes);
	memdbg_field_pct(p, "util", slots ? 100.0 * allocated / slots : 0);
	memdbg_field_u64(p, "shown", n < limit ? n : limit);
	memdbg_field_u64(p, "unreadable_spans", go->spans_unreadable);
	memdbg_field_u64(p, "inconsistent_spans", go->spans_inconsistent);
	memdbg_field_u64(p, "unreadable_alloc_bits", bits_missing);
	memdbg_end_object(p);
	if (go->spans_unreadable || go->spans_inconsistent || bits_missing)
		memdbg_note(p, "note: %zu spans not in the target, %zu inconsistent spans and %" PRIu64
			    " unreadable allocation bitmaps are not counted",
			    go->spans_unreadable, go->spans_inconsistent, bits_missing);
	return NULL;
}

/* ---- mcentral ---- */

struct span_set_stats {
	uint64_t spans, free_slots, stale;
	uint64_t *addrs;
	size_t naddrs, cap;
};

/* A span an unswept set of span class sc still lists after another sweeper took it: the reclaimer
 * (mheap.reclaimChunk) sweeps spans in place, and the set keeps the entry until a pop skips it
 * (mcentral.cacheSpan).  The span is swept by then, and may have been freed and reused. */
static bool stale_unswept(const struct memdbg_go *go, const struct go_span *s, uint64_t sc)
{
	uint32_t h = go->heap_sweepgen;
	return !s || s->spanclass != sc || s->state != go->l.span_in_use ||
	       (s->sweepgen != h - 2 && s->sweepgen != h - 1);
}

/* Walk one spanSet of span class sc: live entries are [head, tail) of its spine of blocks; an unswept
 * set's stale entries (stale_unswept) are counted apart. */
static struct memdbg_error *walk_span_set(struct memdbg_target *t, const struct memdbg_go *go, uint64_t set,
					  uint64_t sc, bool unswept, bool keep, struct span_set_stats *st)
{
	const struct go_layout *l = &go->l;
	struct go_reader r = { t };
	uint64_t spine = go_rd(&r, set + l->ss_spine, 8);
	uint64_t spine_len = go_rd(&r, set + l->ss_spine_len, 8);
	uint64_t index = go_rd(&r, set + l->ss_index, 8);
	if (r.err)
		return r.err;
	uint64_t head = index >> 32, tail = (uint32_t)index;
	if (head > tail || tail - head > (uint64_t)spine_len * l->span_set_block_entries)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					   "spanSet at 0x%" PRIx64 ": head %" PRIu64 " tail %" PRIu64 " spineLen %" PRIu64,
					   set, head, tail, spine_len);
	for (uint64_t i = head; i < tail; i++) {
		uint64_t block = go_rd(&r, spine + 8 * (i / l->span_set_block_entries), 8);
		if (r.err)
			return r.err;
		if (!block)
			continue;
		uint64_t span = go_rd(&r, block + l->ssb_spans + 8 * (i % l->span_set_block_entries), 8);
		if (r.err)
			return r.err;
		if (!span)
			continue;
		const struct go_span *s = go_span_by_mspan(go, span);
		if (unswept && stale_unswept(go, s, sc)) {
			st->stale++;
			continue;
		}
		st->spans++;
		if (s)
			st->free_slots += s->nelems - s->alloc_count;
		if (keep) {
			if (st->naddrs == st->cap) {
				st->cap = st->cap ? 2 * st->cap : 16;
				uint64_t *na = realloc(st->addrs, st->cap * sizeof(*na));
				if (!na)
					return memdbg_enomem;
				st->addrs = na;
			}
			st->addrs[st->naddrs++] = s ? s->start : span;
		}
	}
	return NULL;
}

static struct memdbg_error *run_mcentral(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct memdbg_go *go;
	struct memdbg_error *err = open_go(t, p, true, &go);
	if (err)
		return err;
	const struct go_layout *l = &go->l;
	uint64_t only;
	if ((err = memdbg_arg_u64(a, "--class", UINT64_MAX, l->num_size_classes - 1, &only)))
		return err;
	bool list = memdbg_arg_flag(a, "--spans");
	/* The swept half of each pair is [sweepgen/2%2]. */
	unsigned swept = (go->heap_sweepgen / 2) % 2;
	static const char *const set_names[4] = { "partial_swept", "partial_unswept", "full_swept", "full_unswept" };
	static const struct memdbg_col cols[] = {
		{ "spanclass", MEMDBG_COL_U64, 9 },
		{ "class", MEMDBG_COL_U64, 5 },
		{ "noscan", MEMDBG_COL_BOOL, 6 },
		{ "elemsize", MEMDBG_COL_U64, 8 },
		{ "partial_swept", MEMDBG_COL_U64, 13 },
		{ "partial_unswept", MEMDBG_COL_U64, 15 },
		{ "full_swept", MEMDBG_COL_U64, 10 },
		{ "full_unswept", MEMDBG_COL_U64, 12 },
		{ "free_slots", MEMDBG_COL_U64, 10 },
	};
	uint64_t totals[4] = { 0 }, total_free = 0, total_stale = 0;
	memdbg_table_begin(p, "classes", cols, MEMDBG_ARRAY_SIZE(cols));
	/* Two passes: the counts table, then (with --spans) the members of each set. */
	for (int pass = 0; pass < (list ? 2 : 1) && !err; pass++) {
		if (pass == 1) {
			memdbg_table_end(p);
			memdbg_begin_array(p, "sets", "Span sets (span start addresses)");
		}
		for (uint64_t sc = 0; sc < l->num_span_classes && !err; sc++) {
			if (only != UINT64_MAX && sc >> 1 != only)
				continue;
			uint64_t central = go->sym.mheap + l->mh_central + sc * l->mh_central_size;
			struct span_set_stats st[4] = { { 0 } };
			for (unsigned k = 0; k < 4 && !err; k++) {
				uint64_t base = k < 2 ? l->mc_partial : l->mc_full;
				unsigned half = k % 2 == 0 ? swept : 1 - swept;
				err = walk_span_set(t, go, central + base + half * l->spanset_size, sc, k % 2 == 1,
						    pass == 1, &st[k]);
			}
			if (pass == 0)
				total_stale += st[1].stale + st[3].stale;
			uint64_t nspans = st[0].spans + st[1].spans + st[2].spans + st[3].spans;
			if (!err && nspans && pass == 0) {
				uint64_t free_slots = st[0].free_slots + st[1].free_slots;
				struct memdbg_val v[9] = {
					{ .u = sc }, { .u = sc >> 1 }, { .u = sc & 1 }, { .u = go->class_to_size[sc >> 1] },
					{ .u = st[0].spans }, { .u = st[1].spans }, { .u = st[2].spans }, { .u = st[3].spans },
					{ .u = free_slots },
				};
				memdbg_table_row(p, v);
				for (unsigned k = 0; k < 4; k++)
					totals[k] += st[k].spans;
				total_free += free_slots;
			} else if (!err && nspans) {
				char title[32];
				snprintf(title, sizeof(title), "spanclass %" PRIu64, sc);
				memdbg_begin_object(p, NULL, title);
				memdbg_field_u64(p, "spanclass", sc);
				for (unsigned k = 0; k < 4; k++)
					memdbg_field_hex_list(p, set_names[k], st[k].addrs, st[k].naddrs);
				memdbg_end_object(p);
			}
			for (unsigned k = 0; k < 4; k++)
				free(st[k].addrs);
		}
	}
	if (err)
		return err;
	if (list)
		memdbg_end_array(p);
	else
		memdbg_table_end(p);
	memdbg_begin_object(p, "totals", "Totals");
	for (unsigned k = 0; k < 4; k++)
		memdbg_field_u64(p, set_names[k], totals[k]);
	memdbg_field_u64(p, "free_slots", total_free);
	memdbg_field_u64(p, "stale_unswept", total_stale);
	memdbg_end_object(p);
	return NULL;
}

/* ---- mcache ---- */

static struct memdbg_error *run_mcache(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct memdbg_go *go;
	struct memdbg_error *err = open_go(t, p, true, &go);
	if (err)
		return err;
	const struct go_layout *l = &go->l;
	uint64_t allp, nprocs, only;
	if ((err = go_read_slice(t, go->sym.allp, &allp, &nprocs)))
		return memdbg_error_prefix(err, "reading runtime.allp");
	if (nprocs > MAX_PS)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "runtime.allp has %" PRIu64 " entries", nprocs);
	if ((err = memdbg_arg_u64(a, "--p", UINT64_MAX, MAX_PS, &only)))
		return err;
	static const struct memdbg_col cols[] = {
		{ "spanclass", MEMDBG_COL_U64, 9 },
		{ "class", MEMDBG_COL_U64, 5 },
		{ "noscan", MEMDBG_COL_BOOL, 6 },
		{ "elemsize", MEMDBG_COL_U64, 8 },
		{ "span", MEMDBG_COL_HEX, 14 },
		{ "slots", MEMDBG_COL_U64, 5 },
		{ "free", MEMDBG_COL_U64, 5 },
	};
	struct go_reader r = { t };
	uint64_t *alloc = malloc(l->num_span_classes * sizeof(*alloc));
	if (!alloc)
		return memdbg_enomem;
	uint64_t cached_total = 0;
	memdbg_begin_array(p, "ps", NULL);
	for (uint64_t i = 0; i < nprocs; i++) {
		uint64_t pp = go_rd(&r, allp + 8 * i, 8);
		if (r.err)
			break;
		if (!pp)
			continue;
		int32_t id = (int32_t)go_rd(&r, pp + l->p_id, 4);
		uint64_t mc = go_rd(&r, pp + l->p_mcache, 8);
		if (r.err)
			break;
		if (only != UINT64_MAX && (uint64_t)id != only)
			continue;
		char title[64];
		snprintf(title, sizeof(title), "P%d", id);
		memdbg_begin_object(p, NULL, title);
		memdbg_field_i64(p, "id", id);
		memdbg_field_hex(p, "mcache", mc);
		if (!mc) {
			memdbg_end_object(p);
			continue;
		}
		uint64_t tiny = go_rd(&r, mc + l->mc_tiny, 8), tinyoff = go_rd(&r, mc + l->mc_tinyoffset, 8),
			 tinyallocs = go_rd(&r, mc + l->mc_tiny_allocs, 8);
		if (!r.err)
			r.err = memdbg_read(t, mc + l->mc_alloc, alloc, l->num_span_classes * sizeof(*alloc));
		if (r.err) {
			memdbg_end_object(p);
			break;
		}
		memdbg_field_hex(p, "tiny", tiny);
		memdbg_field_u64(p, "tiny_offset", tinyoff);
		memdbg_field_u64(p, "tiny_allocs", tinyallocs);
		memdbg_table_begin(p, "cached", cols, MEMDBG_ARRAY_SIZE(cols));
		for (uint64_t sc = 0; sc < l->num_span_classes; sc++) {
			if (!alloc[sc] || alloc[sc] == go->sym.emptymspan)
				continue;
			const struct go_span *s = go_span_by_mspan(go, alloc[sc]);
			struct memdbg_val v[7] = {
				{ .u = sc }, { .u = sc >> 1 }, { .u = sc & 1 },
				{ .u = s ? s->elemsize : 0, .null = !s }, { .u = s ? s->start : alloc[sc] },
				{ .u = s ? s->nelems : 0, .null = !s },
				{ .u = s ? (uint64_t)(s->nelems - s->alloc_count) : 0, .null = !s },
			};
			memdbg_table_row(p, v);
			cached_total++;
		}
		memdbg_table_end(p);
		memdbg_end_object(p);
	}
	free(alloc);
	if (r.err)
		return memdbg_error_prefix(r.err, "reading the Ps' mcaches (runtime.allp)");
	memdbg_end_array(p);
	memdbg_field_u64(p, "cached_spans", cached_total);
	return NULL;
}

/* ---- the table rows ---- */

const struct memdbg_command memdbg_cmd_go_info = {
	.info = {
		.name = "go-info",
		.summary = "Go version, GOMAXPROCS, goroutines, heap arenas, spans by state, GC state",
		.usage = "go-info [--json]",
		.help = "goroutines is runtime.NumGoroutine's count; all_gs counts every G ever allocated.\n"
			"gc_phase is the collector's phase when the target was captured (off, mark,\n"
			"marktermination); green_tea says whether spans carry Green Tea inline mark bits.\n"
			"binary says what the executable has (symbols, DWARF) and where the version, the\n"
			"pclntab, the module data, the struct layouts and each runtime global were found:\n"
			"without symbols and DWARF (-ldflags='-s -w', strip), from the build info, the\n"
			"pclntab's magic, layout tables of each supported toolchain, and the code of the\n"
			"runtime functions that use each global (\"code of runtime.gcSweep\").",
	},
	.needs_target = true,
	.run = run_go_info,
};

const struct memdbg_command memdbg_cmd_memstats = {
	.info = {
		.name = "memstats",
		.summary = "runtime.MemStats, computed from the runtime's own counters as ReadMemStats would",
		.usage = "memstats [--json]",
		.help = "Every figure uses the arithmetic of runtime.readmemstats_m over the runtime's\n"
			"consistent heap statistics, gcController and memstats.  BySize lists mallocs and\n"
			"frees per size class.  NextGC reproduces gcController.heapGoal().",
	},
	.needs_target = true,
	.run = run_memstats,
};

static const struct memdbg_opt mspan_walk_opts[] = {
	{ "--state", "S", "inuse (default), manual (stacks), free (dead, recycled span records), or all" },
	{ "--class", "N", "only spans of size class N (0: large objects)" },
	{ "--scan", NULL, "only spans of objects that contain pointers" },
	{ "--noscan", NULL, "only spans of pointer-free objects" },
	{ "--large", NULL, "only large-object spans (size class 0)" },
	{ "--min-util", "PCT", "only spans at least PCT% of whose slots are allocated" },
	{ "--max-util", "PCT", "only spans at most PCT% of whose slots are allocated" },
	{ "--sort", "FIELD", "start (default), pages, class, util, allocated, free, elemsize" },
	{ "--limit", "N", "print at most N rows (totals still cover every match)" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_mspan_walk = {
	.info = {
		.name = "mspan-walk",
		.summary = "one row per span of the Go heap, with a totals row",
		.usage = "mspan-walk [--state inuse|manual|free|all] [--class N] [--scan|--noscan] [--large] "
			 "[--min-util PCT] [--max-util PCT] [--sort FIELD] [--limit N] [--json]",
		.help = "allocated counts slots below freeindex or set in allocBits; util is allocated/slots.\n"
			"sweep compares the span's sweepgen with the heap's: swept, unswept (holds objects the\n"
			"last GC found dead), sweeping, cached (in an mcache), cached-unswept.",
	},
	.opts = mspan_walk_opts,
	.needs_target = true,
	.run = run_mspan_walk,
};

static const struct memdbg_opt mcentral_opts[] = {
	{ "--class", "N", "only size class N (both its scan and noscan span classes)" },
	{ "--spans", NULL, "also list the spans (start addresses) of each set" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_mcentral = {
	.info = {
		.name = "mcentral",
		.summary = "per span class, the partial and full span sets (swept and unswept) of mheap_.central",
		.usage = "mcentral [--class N] [--spans] [--json]",
		.help = "free_slots counts the free slots of the spans in the partial sets.",
	},
	.opts = mcentral_opts,
	.needs_target = true,
	.run = run_mcentral,
};

static const struct memdbg_opt mcache_opts[] = {
	{ "--p", "N", "only the P with id N" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_mcache = {
	.info = {
		.name = "mcache",
		.summary = "per P, the span cached for each span class and the tiny allocator's block",
		.usage = "mcache [--p N] [--json]",
		.help = "Empty slots of a P's mcache (runtime.emptymspan) are not listed.",
	},
	.opts = mcache_opts,
	.needs_target = true,
	.run = run_mcache,
};
