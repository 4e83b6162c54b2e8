/* commands.c - glibc malloc commands: glibc-info, glibc-arenas, glibc-bins, glibc-chunks, glibc-block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/alloc.h"
#include "glibc/gl.h"

static void problems_note(struct memdbg_printer *p, const struct gl_heap *h)
{
	for (size_t i = 0; i < h->nproblems; i++)
		memdbg_note(p, "note: %s", h->problems[i]);
	if (h->more_problems)
		memdbg_note(p, "note: %zu more problems not listed", h->more_problems);
	if (h->threads_note)
		memdbg_note(p, "note: %s", h->threads_note);
}

/* mallinfo2()'s figures, with int_mallinfo's arithmetic, from the lists as they were walked. */
struct gl_mallinfo {
	uint64_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};

static void arena_free(const struct gl_arena *ar, uint64_t *fast_n, uint64_t *fast_b, uint64_t *bins_n, uint64_t *bins_b)
{
	*fast_n = *fast_b = *bins_n = *bins_b = 0;
	for (unsigned i = 0; i < GL_NFASTBINS; i++) {
		*fast_n += ar->fast_count[i];
		*fast_b += ar->fast_bytes[i];
	}
	for (unsigned i = 1; i < GL_NBINS; i++) {
		*bins_n += ar->bin_count[i];
		*bins_b += ar->bin_bytes[i];
	}
}

static void mallinfo(const struct gl_heap *h, struct gl_mallinfo *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t a = 0; a < h->narenas; a++) {
		const struct gl_arena *ar = &h->arenas[a];
		uint64_t fn, fb, bn, bb;
		arena_free(ar, &fn, &fb, &bn, &bb);
		uint64_t avail = ar->top_size + fb + bb;
		m->smblks += fn;
		m->ordblks += 1 + bn;
		m->fordblks += avail;
		m->uordblks += ar->system_mem - avail;
		m->arena += ar->system_mem;
		m->fsmblks += fb;
	}
	m->hblks = (uint64_t)h->n_mmaps;
	m->hblkhd = h->mmapped_mem;
	m->keepcost = h->narenas ? h->arenas[0].top_size : 0;
}

/* ---- glibc-info ---- */

static struct memdbg_error *run_glibc_info(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct gl_heap *h;
	struct memdbg_error *err = gl_get(t, &h);
	if (err)
		return err;
	memdbg_field_str(p, "allocator", "glibc");
	memdbg_field_str(p, "version", h->version);
	memdbg_field_str(p, "release", h->release[0] ? h->release : "none");
	memdbg_field_str(p, "library", h->where);
	memdbg_field_str(p, "build_id", h->build_id[0] ? h->build_id : "none");
	memdbg_field_str(p, "found_by", h->source);
	char layout[128];
	snprintf(layout, sizeof(layout), "glibc %s (checked against %s's DWARF, the rest inferred)", h->l->versions,
		 h->l->checked);
	memdbg_field_str(p, "layout", layout);
	memdbg_field_bool(p, "safe_linking", h->safe_linking);
	memdbg_field_str(p, "safe_linking_from", h->links_from ? h->links_from : "version");
	memdbg_field_hex(p, "load_base", h->base);
	memdbg_field_hex(p, "main_arena", h->sym[GL_SYM_MAIN_ARENA]);
	if (h->sym[GL_SYM_MP])
		memdbg_field_hex(p, "mp_", h->sym[GL_SYM_MP]);
	else
		memdbg_field_null(p, "mp_");
	if (h->tcache_tpoff)
		memdbg_field_i64(p, "tcache_tls_offset", h->tcache_tpoff);
	else
		memdbg_field_null(p, "tcache_tls_offset");
	memdbg_field_hex(p, "sbrk_base", h->sbrk_base);
	memdbg_field_bool(p, "initialized", !h->unused);
	memdbg_field_u64(p, "arenas", h->narenas);
	uint64_t heaps = 0;
	for (size_t i = 0; i < h->narenas; i++)
		heaps += h->arenas[i].heaps;
	memdbg_field_u64(p, "heaps", heaps);
	memdbg_field_u64(p, "chunks", h->nchunks);
	memdbg_field_u64(p, "mmapped_chunks", h->mmapped_found);
	memdbg_field_u64(p, "threads", h->nthreads);
	memdbg_field_str(p, "settings_from", h->mp_defaults ? "glibc 2.36's defaults (mp_ and global_max_fast were "
			 "not found: mallopt and tunables are not seen; n_mmaps and mmapped_mem are the scan's)" :
			 "mp_ and global_max_fast");
	memdbg_begin_object(p, "settings", "Settings (mp_, global_max_fast)");
	memdbg_field_u64(p, "tcache_bins", h->tcache_bins);
	memdbg_field_u64(p, "tcache_count", h->tcache_count);
	memdbg_field_u64(p, "tcache_max_bytes", h->tcache_max_bytes);
	memdbg_field_u64(p, "tcache_unsorted_limit", h->tcache_unsorted_limit);
	if (h->sym[GL_SYM_MAX_FAST] || h->mp_defaults)
		memdbg_field_u64(p, "max_fast", h->max_fast);
	else
		memdbg_field_null(p, "max_fast");
	memdbg_field_u64(p, "mmap_threshold", h->mmap_threshold);
	memdbg_field_bool(p, "dynamic_mmap_threshold", !h->no_dyn_threshold);
	memdbg_field_u64(p, "trim_threshold", h->trim_threshold);
	memdbg_field_u64(p, "top_pad", h->top_pad);
	memdbg_field_u64(p, "arena_test", h->arena_test);
	memdbg_field_u64(p, "arena_max", h->arena_max);
	memdbg_field_i64(p, "n_mmaps_max", h->n_mmaps_max);
	memdbg_end_object(p);
	memdbg_field_u64(p, "problems", h->nproblems + h->more_problems);
	problems_note(p, h);
	return NULL;
}

/* ---- glibc-arenas ---- */

static struct memdbg_error *run_glibc_arenas(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct gl_heap *h;
	struct memdbg_error *err = gl_get(t, &h);
	if (err)
		return err;
	static const struct memdbg_col cols[] = {
		{ "arena", MEMDBG_COL_U64, 5 },
		{ "address", MEMDBG_COL_HEX, 14 },
		{ "heaps", MEMDBG_COL_U64, 5 },
		{ "heap_bytes", MEMDBG_COL_U64, 12 },
		{ "system_bytes", MEMDBG_COL_U64, 12 },
		{ "in_use_bytes", MEMDBG_COL_U64, 12 },
		{ "in_use_chunks", MEMDBG_COL_U64, 13 },
		{ "top_bytes", MEMDBG_COL_U64, 10 },
		{ "fast_chunks", MEMDBG_COL_U64, 11 },
		{ "fast_bytes", MEMDBG_COL_U64, 10 },
		{ "bin_chunks", MEMDBG_COL_U64, 10 },
		{ "bin_bytes", MEMDBG_COL_U64, 10 },
		{ "unsorted_bytes", MEMDBG_COL_U64, 14 },
		{ "small_bytes", MEMDBG_COL_U64, 11 },
		{ "large_bytes", MEMDBG_COL_U64, 11 },
		{ "tcache_chunks", MEMDBG_COL_U64, 13 },
		{ "tcache_bytes", MEMDBG_COL_U64, 12 },
		{ "threads", MEMDBG_COL_U64, 7 },
	};
	memdbg_table_begin(p, "arenas", cols, MEMDBG_ARRAY_SIZE(cols));
	for (size_t i = 0; i < h->narenas; i++) {
		const struct gl_arena *ar = &h->arenas[i];
		uint64_t fn, fb, bn, bb;
		arena_free(ar, &fn, &fb, &bn, &bb);
		struct memdbg_val v[18] = {
			{ .u = i }, { .u = ar->addr }, { .u = ar->heaps }, { .u = ar->heap_bytes }, { .u = ar->system_mem },
			{ .u = ar->system_mem - ar->top_size - fb - bb }, { .u = ar->count[GL_IN_USE] }, { .u = ar->top_size },
			{ .u = fn }, { .u = fb }, { .u = bn }, { .u = bb }, { .u = ar->bytes[GL_UNSORTED] },
			{ .u = ar->bytes[GL_SMALLBIN] }, { .u = ar->bytes[GL_LARGEBIN] }, { .u = ar->count[GL_TCACHE] },
			{ .u = ar->bytes[GL_TCACHE] }, { .u = ar->attached_threads },
		};
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	struct gl_mallinfo m;
	mallinfo(h, &m);
	memdbg_begin_object(p, "mallinfo2", "Totals (as mallinfo2)");
	memdbg_field_u64(p, "arena", m.arena);
	memdbg_field_u64(p, "ordblks", m.ordblks);
	memdbg_field_u64(p, "smblks", m.smblks);
	memdbg_field_u64(p, "hblks", m.hblks);
	memdbg_field_u64(p, "hblkhd", m.hblkhd);
	memdbg_field_u64(p, "usmblks", m.usmblks);
	memdbg_field_u64(p, "fsmblks", m.fsmblks);
	memdbg_field_u64(p, "uordblks", m.uordblks);
	memdbg_field_u64(p, "fordblks", m.fordblks);
	memdbg_field_u64(p, "keepcost", m.keepcost);
	memdbg_end_object(p);
	problems_note(p, h);
	return NULL;
}

/* ---- glibc-bins ---- */

static struct memdbg_error *arena_arg(struct memdbg_args *a, const struct gl_heap *h, uint64_t *arena)
{
	struct memdbg_error *err = memdbg_arg_u64(a, "--arena", UINT64_MAX, UINT64_MAX, arena);
	if (!err && *arena != UINT64_MAX && *arena >= h->narenas)
		err = memdbg_error_format(MEMDBG_ERROR_LOOKUP, "no arena %" PRIu64 " (there are %zu)", *arena, h->narenas);
	return err;
}

static struct memdbg_error *run_glibc_bins(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct gl_heap *h;
	uint64_t only;
	struct memdbg_error *err = gl_get(t, &h);
	if (err || (err = arena_arg(a, h, &only)))
		return err;
	static const struct memdbg_col tcols[] = {
		{ "tid", MEMDBG_COL_U64, 8 },
		{ "tcache", MEMDBG_COL_HEX, 14 },
		{ "chunks", MEMDBG_COL_U64, 7 },
		{ "bytes", MEMDBG_COL_U64, 9 },
		{ "bins", MEMDBG_COL_STR, -1 },
	};
	memdbg_table_begin(p, "tcache", tcols, MEMDBG_ARRAY_SIZE(tcols));
	for (size_t i = 0; i < h->nthreads; i++) {
		const struct gl_thread *th = &h->threads[i];
		char bins[GL_TCACHE_BINS * 16] = "", *s = bins;
		for (unsigned b = 0; b < GL_TCACHE_BINS; b++)
			if (th->count[b])
				s += snprintf(s, (size_t)(bins + sizeof(bins) - s), "%s%u:%" PRIu64, s == bins ? "" : " ",
					      b * 16 + GL_MINSIZE, th->count[b]);
		struct memdbg_val v[5] = { { .u = (uint64_t)th->tid }, { .u = th->tcache }, { .u = th->chunks },
					   { .u = th->bytes }, { .s = bins } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	static const struct memdbg_col cols[] = {
		{ "arena", MEMDBG_COL_U64, 5 },
		{ "kind", MEMDBG_COL_STR, -8 },
		{ "bin", MEMDBG_COL_U64, 3 },
		{ "from", MEMDBG_COL_U64, 8 },
		{ "to", MEMDBG_COL_U64, 8 },
		{ "count", MEMDBG_COL_U64, 6 },
		{ "bytes", MEMDBG_COL_U64, 10 },
	};
	memdbg_table_begin(p, "bins", cols, MEMDBG_ARRAY_SIZE(cols));
	for (size_t i = 0; i < h->narenas; i++) {
		if (only != UINT64_MAX && only != i)
			continue;
		const struct gl_arena *ar = &h->arenas[i];
		for (unsigned b = 0; b < GL_NFASTBINS; b++) {
			if (!ar->fast_count[b])
				continue;
			struct memdbg_val v[7] = { { .u = i }, { .s = "fast" }, { .u = b }, { .u = (b + 2) * 16 },
						   { .u = (b + 2) * 16 }, { .u = ar->fast_count[b] }, { .u = ar->fast_bytes[b] } };
			memdbg_table_row(p, v);
		}
		for (unsigned b = 1; b < GL_NBINS; b++) {
			if (!ar->bin_count[b])
				continue;
			struct memdbg_val v[7] = { { .u = i }, { .s = b == 1 ? "unsorted" : b < 64 ? "small" : "large" },
						   { .u = b }, { .u = ar->bin_min[b] }, { .u = ar->bin_max[b] },
						   { .u = ar->bin_count[b] }, { .u = ar->bin_bytes[b] } };
			memdbg_table_row(p, v);
		}
	}
	memdbg_table_end(p);
	problems_note(p, h);
	return NULL;
}

/* ---- glibc-chunks ---- */

static struct memdbg_error *run_glibc_chunks(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct gl_heap *h;
	uint64_t only, min, max, limit;
	struct memdbg_error *err = gl_get(t, &h);
	if (err || (err = arena_arg(a, h, &only)) || (err = memdbg_arg_u64(a, "--min", 0, UINT64_MAX, &min)) ||
	    (err = memdbg_arg_u64(a, "--max", UINT64_MAX, UINT64_MAX, &max)) ||
	    (err = memdbg_arg_u64(a, "--limit", UINT64_MAX, UINT64_MAX, &limit)))
		return err;
	bool in_use = memdbg_arg_flag(a, "--in-use"), free_only = memdbg_arg_flag(a, "--free");
	if (in_use && free_only)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "--in-use and --free exclude each other");
	static const struct memdbg_col cols[] = {
		{ "chunk", MEMDBG_COL_HEX, 14 },
		{ "size", MEMDBG_COL_U64, 9 },
		{ "arena", MEMDBG_COL_I64, 5 },
		{ "in_use", MEMDBG_COL_BOOL, 6 },
		{ "where", MEMDBG_COL_STR, -1 },
	};
	uint64_t shown = 0, matched = 0, bytes = 0;
	memdbg_table_begin(p, "chunks", cols, MEMDBG_ARRAY_SIZE(cols));
	for (size_t i = 0; i < h->nchunks; i++) {
		const struct gl_chunk *c = &h->chunks[i];
		bool used = c->where == GL_IN_USE || c->where == GL_MMAPPED;
		if ((in_use && !used) || (free_only && used) || c->size < min || c->size > max ||
		    (only != UINT64_MAX && c->arena != only))
			continue;
		matched++;
		bytes += c->size;
		if (shown >= limit)
			continue;
		shown++;
		struct memdbg_val v[5] = { { .u = c->addr }, { .u = c->size },
					   { .u = c->arena == GL_NO_ARENA ? (uint64_t)-1 : c->arena }, { .u = used },
					   { .s = gl_where_name(c->where) } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	memdbg_begin_object(p, "totals", "Totals");
	memdbg_field_u64(p, "chunks", matched);
	memdbg_field_u64(p, "bytes", bytes);
	memdbg_field_u64(p, "shown", shown);
	memdbg_end_object(p);
	problems_note(p, h);
	return NULL;
}

/* ---- glibc-block ---- */

struct memdbg_error *gl_block_at(const struct gl_heap *h, uint64_t addr, struct alloc_block *b,
				 const struct gl_chunk **chunk)
{
	/* The program's block: after the 16-byte header, through the next chunk's prev_size field while in use. */
	const struct gl_chunk *c = addr >= 8 ? gl_chunk_at(h, addr - 8) : NULL;
	if (!c)
		return memdbg_error_format(MEMDBG_ERROR_LOOKUP, "0x%" PRIx64 " is in no glibc malloc chunk", addr);
	uint64_t size = c->size - (c->where == GL_MMAPPED ? 16 : 8);
	if (addr < c->addr + 16 || addr >= c->addr + 16 + size)
		return memdbg_error_format(MEMDBG_ERROR_LOOKUP, "0x%" PRIx64 " is in the header of glibc malloc chunk 0x%" PRIx64,
					   addr, addr < c->addr + 16 ? c->addr : c->addr + c->size);
	*chunk = c;
	memset(b, 0, sizeof(*b));
	b->heap = "glibc";
	b->start = c->addr + 16;
	b->size = size;
	b->state = c->where == GL_IN_USE || c->where == GL_MMAPPED ? ALLOC_ALLOCATED
		   : c->where == GL_TCACHE || c->where == GL_FASTBIN ? ALLOC_CACHED : ALLOC_FREE;
	if (c->arena == GL_NO_ARENA)
		snprintf(b->detail, sizeof(b->detail), "mmapped chunk 0x%" PRIx64 " (%" PRIu64 " bytes)", c->addr, c->size);
	else
		snprintf(b->detail, sizeof(b->detail), "chunk 0x%" PRIx64 " (%" PRIu64 " bytes) of arena %u, %s", c->addr,
			 c->size, c->arena, gl_where_name(c->where));
	return NULL;
}

static struct memdbg_error *run_glibc_block(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	uint64_t addr;
	struct gl_heap *h;
	struct memdbg_error *err = memdbg_arg_address(a, &addr);
	if (err || (err = gl_get(t, &h)))
		return err;
	struct alloc_block b;
	const struct gl_chunk *c;
	if ((err = gl_block_at(h, addr, &b, &c)))
		return err;
	memdbg_field_hex(p, "address", addr);
	memdbg_field_hex(p, "chunk", c->addr);
	memdbg_field_u64(p, "size", c->size);
	memdbg_field_hex(p, "user", b.start);
	memdbg_field_u64(p, "usable", b.size);
	memdbg_field_i64(p, "offset", (int64_t)(addr - b.start));
	bool used = c->where == GL_IN_USE || c->where == GL_MMAPPED;
	memdbg_field_bool(p, "in_use", used);
	memdbg_field_str(p, "where", gl_where_name(c->where));
	if (c->arena == GL_NO_ARENA) {
		memdbg_field_null(p, "arena");
	} else {
		memdbg_field_u64(p, "arena", c->arena);
		memdbg_field_hex(p, "arena_address", h->arenas[c->arena].addr);
	}
	if (c->where == GL_TCACHE || c->where == GL_FASTBIN || (c->where >= GL_UNSORTED && c->where <= GL_LARGEBIN))
		memdbg_field_u64(p, "bin", c->bin);
	if (c->where == GL_TCACHE)
		memdbg_field_u64(p, "tid", (uint64_t)h->threads[c->thread].tid);
	const struct gl_region *r = gl_region_at(h, c->addr);
	if (r && r->heap)
		memdbg_field_hex(p, "heap_info", r->heap);
	return NULL;
}

/* ---- the table rows ---- */

const struct memdbg_command memdbg_cmd_glibc_info = {
	.info = {
		.name = "glibc-info",
		.summary = "glibc malloc: version, where its state was found, arenas, tcache and fastbin settings",
		.usage = "glibc-info [--json]",
		.help = "main_arena and mp_ are found through the executable's symbols (static links), libc's\n"
			"debug file, memdbg's table of known stripped builds, the code of libc's own mallinfo2,\n"
			"malloc_trim and malloc_stats (found_by: code search), or last the heap itself: the\n"
			"arena ring named by the 64 MiB-aligned heap_infos, or the malloc_state whose top\n"
			"ends the brk heap (found_by: heap).  From the heap, mp_ is not known: settings_from\n"
			"says glibc 2.36's defaults stand in.  MEMDBG_GLIBC_SOURCE=heap forces the heap.\n"
			"tcache_tls_offset is where each thread's tcache pointer sits from its thread\n"
			"pointer (fs_base).",
	},
	.needs_target = true,
	.run = run_glibc_info,
};

const struct memdbg_command memdbg_cmd_glibc_arenas = {
	.info = {
		.name = "glibc-arenas",
		.summary = "glibc malloc: per arena, system bytes, in use, top, and free bytes by bin kind",
		.usage = "glibc-arenas [--json]",
		.help = "heap_bytes is the address space of the arena's heaps (their heap_info sizes; the brk\n"
			"heap's system bytes).  in_use_bytes is system_bytes less top, the fastbins and the bins\n"
			"(mallinfo2's uordblks: it counts headers, tcache chunks and heap_info).  in_use_chunks\n"
			"counts the chunks the heap walk found in use and in no fastbin or tcache.  mallinfo2\n"
			"sums the arenas as glibc's mallinfo2() does.",
	},
	.needs_target = true,
	.run = run_glibc_arenas,
};

static const struct memdbg_opt arena_opts[] = {
	{ "--arena", "N", "only arena N (0 is main_arena)" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_glibc_bins = {
	.info = {
		.name = "glibc-bins",
		.summary = "glibc malloc: each thread's tcache, and every fastbin and bin with its chunks",
		.usage = "glibc-bins [--arena N] [--json]",
		.help = "tcache bins: chunk size:count.  Bins are listed when not empty: fast (one chunk size\n"
			"each), unsorted (bin 1), small (2-63), large (64-127); from and to are the smallest and\n"
			"largest chunk sizes in the bin (header included), as malloc_info() prints them.",
	},
	.opts = arena_opts,
	.needs_target = true,
	.run = run_glibc_bins,
};

static const struct memdbg_opt chunks_opts[] = {
	{ "--in-use", NULL, "only chunks in use (mmapped ones included; not those in a tcache or fastbin)" },
	{ "--free", NULL, "only chunks not in use (tcache, fastbins, bins, top)" },
	{ "--min", "BYTES", "only chunks of at least BYTES (header included)" },
	{ "--max", "BYTES", "only chunks of at most BYTES" },
	{ "--arena", "N", "only arena N (mmapped chunks have none)" },
	{ "--limit", "N", "list at most N chunks (the totals still count all)" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_glibc_chunks = {
	.info = {
		.name = "glibc-chunks",
		.summary = "glibc malloc: every chunk of every heap, mmapped chunks too, with filters",
		.usage = "glibc-chunks [--in-use|--free] [--min BYTES] [--max BYTES] [--arena N] [--limit N] [--json]",
		.help = "where is in use, tcache, fastbin, unsorted, small bin, large bin, top, mmapped, or\n"
			"'free, in no bin' (a free chunk no list names: damage).  arena is -1 for mmapped chunks.",
	},
	.opts = chunks_opts,
	.needs_target = true,
	.run = run_glibc_chunks,
};

const struct memdbg_command memdbg_cmd_glibc_block = {
	.info = {
		.name = "glibc-block",
		.summary = "glibc malloc: the chunk holding an address, its arena, state and bin",
		.usage = "glibc-block ADDR [--json]",
		.help = "user is the address malloc returned; usable is malloc_usable_size() of it.",
	},
	.max_args = 1,
	.needs_target = true,
	.run = run_glibc_block,
};
