/* go.h - the Go runtime as the decoders see it: layouts from DWARF, spans, Ps. */
#ifndef MEMDBG_GO_H
#define MEMDBG_GO_H

#include "internal.h"

/* Offsets and constants of one Go binary, read from its DWARF. */
struct go_layout {
	/* constants */
	uint64_t page_size, arena_bytes, arena_l1_bits, arena_l2_bits, arena_base_offset;
	uint64_t span_dead, span_in_use, span_manual;
	uint64_t num_size_classes, num_span_classes, span_set_block_entries;
	uint64_t gc_off, gc_mark, gc_mark_termination;
	uint64_t g_dead;

	/* runtime.mspan */
	uint64_t mspan_size, sp_next, sp_start, sp_npages, sp_freeindex, sp_freeindex_size, sp_nelems, sp_nelems_size,
		sp_alloc_bits, sp_gcmark_bits, sp_sweepgen, sp_alloc_count, sp_spanclass, sp_state, sp_elemsize,
		sp_alloc_count_before_cache;

	/* runtime.mheap */
	uint64_t mh_allspans, mh_arenas, mh_arena_list, mh_central, mh_central_size, mh_sweepgen,
		mh_spanalloc_inuse, mh_cachealloc_inuse;
	/* runtime.mcentral, runtime.spanSet, runtime.spanSetBlock */
	uint64_t mc_partial, mc_full, spanset_size, ss_spine, ss_spine_len, ss_index, ssb_spans;
	/* runtime.heapArena */
	uint64_t ha_spans;

	/* runtime.p, runtime.mcache, runtime.g */
	uint64_t p_id, p_status, p_mcache, p_gfree_n, p_gfree_n_size;
	uint64_t mc_tiny, mc_tinyoffset, mc_tiny_allocs, mc_alloc;
	uint64_t g_atomicstatus, g_goid;
	/* runtime.schedt */
	uint64_t sched_gfree_n, sched_gfree_stack, sched_gfree_nostack, sched_ngsys;
	bool sched_gfree_split;  /* since go1.25: gFree.stack.size + gFree.noStack.size */

	/* runtime.mstats and its consistent heap stats */
	uint64_t ms_numgc, ms_numforcedgc, ms_stacks_sys, ms_mspan_sys, ms_mcache_sys, ms_buckhash_sys, ms_gcmisc_sys,
		ms_other_sys, ms_heapstats, hsd_size, hsd_in_stacks, hsd_in_workbufs, hsd_in_ptrscalar,
		hsd_tiny_alloc_count, hsd_large_alloc, hsd_large_alloc_count, hsd_small_alloc_count, hsd_large_free,
		hsd_large_free_count, hsd_small_free_count;
	bool has_in_ptrscalar;  /* go1.22 only: GC-program pointer bitmaps */
	/* runtime.gcControllerState */
	uint64_t gcc_heap_inuse, gcc_heap_free, gcc_heap_released, gcc_total_alloc, gcc_total_free,
		gcc_mapped_ready, gcc_memory_limit, gcc_percent_heap_goal, gcc_sweep_dist_min_trigger, gcc_triggered,
		gcc_heap_marked;

	bool green_tea;  /* runtime.spanInlineMarkBits has a size */
};

/* Addresses of the runtime's globals. */
struct go_symbols {
	uint64_t mheap, allgs, allglen, allp, gomaxprocs, gcphase, memstats, gc_controller, sched, emptymspan,
		class_to_size, class_to_size_len, build_version;
};

struct go_span {
	uint64_t addr;  /* the mspan struct */
	uint64_t start, npages, elemsize;
	uint32_t sweepgen;
	uint16_t nelems, freeindex, alloc_count;
	uint8_t spanclass, state;
	uint64_t alloc_bits;
	uint32_t allocated;   /* slots allocated: below freeindex or set in allocBits */
	bool bits_readable;   /* allocBits were in the target */
};

struct go_types;
struct go_objects;
struct go_graph;

struct memdbg_go {
	char version[64];
	unsigned minor;  /* 22 for go1.22.x */
	struct go_layout l;
	struct go_symbols sym;
	uint32_t heap_sweepgen;
	uint16_t *class_to_size;
	struct go_span *spans;  /* every mspan in mheap_.allspans, in that order */
	size_t nspans;
	uint32_t *by_mspan;       /* indices into spans, sorted by mspan address */
	size_t spans_unreadable;  /* allspans entries whose mspan was not in the target */
	size_t spans_inconsistent; /* mspans whose fields contradict each other or the heap (skipped) */
	char spans_damage[320];    /* the first of them, and why */
	bool spans_loaded;
	struct go_types *types;      /* decoded type descriptors (types.c) */
	struct go_objects *objects;  /* the object graph (objects.c), built on first use */
	struct go_graph *graph;      /* reverse index and dominators (graph.c), built on first use */
	struct go_stripped *code;    /* with DWARF: the code's stand-in (go_stripped_code_open), for closures */
	bool code_opened;            /* tried once, on first use */
};

/* The Go runtime of the target, loaded on first use (layouts, symbols, version). */
struct memdbg_error *memdbg_go_get(struct memdbg_target *t, struct memdbg_go **ret);
/* Every span of mheap_.allspans (loaded once per target). */
struct memdbg_error *memdbg_go_load_spans(struct memdbg_target *t, struct memdbg_go *go, struct memdbg_printer *p);

static inline unsigned go_size_class(uint8_t spanclass)
{
	return spanclass >> 1;
}

static inline bool go_noscan(uint8_t spanclass)
{
	return spanclass & 1;
}

/* The span whose mspan struct is at addr, or NULL. */
const struct go_span *go_span_by_mspan(const struct memdbg_go *go, uint64_t addr);

const char *go_span_state_name(const struct memdbg_go *go, uint8_t state);
/* "swept", "unswept", "cached", ... from the span's sweepgen relative to the heap's. */
const char *go_sweep_status(const struct memdbg_go *go, uint32_t sweepgen);

#define GO_MAX_ARENAS (1u << 22)

/* The heap arenas' indexes (mheap_.allArenas, runtime.arenaIdx values), sorted; free *idx. */
struct memdbg_error *go_heap_arenas(struct memdbg_target *t, struct memdbg_go *go, uint64_t **idx, size_t *n);
/* The position in idx of the arena holding addr, or n when no heap arena does. */
size_t go_arena_find(const struct memdbg_go *go, const uint64_t *idx, size_t n, uint64_t addr);

/* go-info's "binary": symbols, DWARF, and where the version, pclntab, layouts and each runtime global came from. */
void go_print_binary(struct memdbg_target *t, struct memdbg_go *go, struct memdbg_printer *p);

/* A slice header {array, len, cap} at addr. */
struct memdbg_error *go_read_slice(struct memdbg_target *t, uint64_t addr, uint64_t *array, uint64_t *len);

/* Bit i of a little-endian bitmap (the runtime's and memdbg's own). */
static inline bool go_bit(const uint8_t *bits, uint64_t i)
{
	return (bits[i / 8] >> (i % 8)) & 1;
}
static inline void go_set_bit(uint8_t *bits, uint64_t i)
{
	bits[i / 8] |= (uint8_t)(1u << (i % 8));
}

#endif /* MEMDBG_GO_H */
