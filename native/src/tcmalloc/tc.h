/* tc.h - TCMalloc (gperftools 2.10) as the decoders see it: its statics, layout, spans and caches. */
#ifndef MEMDBG_TC_H
#define MEMDBG_TC_H

#include <limits.h>

#include "internal.h"

/* Struct offsets and constants of one gperftools version (generated, tc_table.h). */
struct tc_layout {
	uint64_t page_shift, max_pages, class_sizes_max;
	uint64_t sizemap_class_to_size, sizemap_class_to_pages, sizemap_num_objects_to_move, sizemap_num_size_classes;
	uint64_t span_size, span_start, span_length, span_next, span_objects;
	uint64_t span_refcount_bit, span_refcount_width, span_sizeclass_bit, span_sizeclass_width, span_location_bit,
		span_location_width, span_sample_bit, span_sample_width;
	uint64_t stacktrace_size;  /* a sampled span's objects point to a StackTrace: the size asked for */
	uint64_t pageheap_pagemap_root, pagemap_root_bits, pagemap_leaf_bits;
	uint64_t pageheap_stats, stats_system_bytes, stats_free_bytes, stats_unmapped_bytes, stats_committed_bytes;
	uint64_t central_size, central_size_class, central_num_spans, central_counter, central_tc_slots,
		central_used_slots;
	uint64_t tcentry_size, tcentry_head, tcentry_tail;
	uint64_t threadcache_list, freelist_size, freelist_list, freelist_length, threadcache_size, threadcache_tid,
		threadcache_next;
};

enum tc_sym { TC_SYM_SIZEMAP, TC_SYM_CENTRAL_CACHE, TC_SYM_PAGEHEAP, TC_SYM_THREAD_HEAPS, TC_SYM_THREAD_HEAP_COUNT,
	      TC_NSYMS };

struct tc_build {
	const char *build_id;
	const char *name;
	const struct tc_layout *layout;
	uint64_t rva[TC_NSYMS];
};

#define TC_MAX_CLASSES 256

enum tc_location { TC_IN_USE, TC_ON_NORMAL_FREELIST, TC_ON_RETURNED_FREELIST };

struct tc_span {
	uint64_t addr;  /* the Span record */
	uint64_t start, npages, objects;
	uint32_t refcount;
	uint8_t sizeclass, location;
	bool sample;           /* heap sampling gave this object a span of its own */
	uint8_t sample_class;  /* the class of the sampled object's size; 0 when it is large */
	uint64_t sample_size;  /* the size the program asked for */
};

/* An object on a free list outside its span: a thread cache or the transfer cache. */
struct tc_cached {
	uint64_t ptr;
	uint32_t owner;  /* thread cache index, or UINT32_MAX for the transfer cache */
	uint8_t sizeclass;
};

struct tc_thread {
	uint64_t addr, tid, size, objects;
};

struct tc_class {
	uint64_t size, pages, objects_per_span, num_objects_to_move;
	uint64_t central_counter, central_spans, transfer_objects, thread_objects;
	uint64_t overhead;  /* bytes lost at the end of each span, times spans (OverheadBytes) */
};

struct tc_heap {
	const struct tc_layout *l;
	uint64_t sym[TC_NSYMS];
	char version[64];
	char where[PATH_MAX + 16];
	char build_id[84];
	const char *source;
	uint64_t base;
	uint64_t page;

	uint32_t nclasses;
	struct tc_class cls[TC_MAX_CLASSES];
	uint64_t system_bytes, free_bytes, unmapped_bytes, committed_bytes;

	struct tc_span *spans;  /* every span of the pagemap, by start */
	size_t nspans;
	size_t spans_inconsistent, leaves_unreadable;
	struct tc_thread *threads;
	size_t nthreads;
	struct tc_cached *cached;  /* by pointer */
	size_t ncached;
	size_t lists_inconsistent;  /* free lists that were cut short (unreadable, cyclic, too long) */
};

struct memdbg_error *tc_get(struct memdbg_target *t, struct tc_heap **ret);
struct memdbg_error *tc_locate(struct memdbg_target *t, struct tc_heap *h);

const char *tc_location_name(unsigned loc);
const struct tc_span *tc_span_at(const struct tc_heap *h, uint64_t addr);
const struct tc_cached *tc_cached_at(const struct tc_heap *h, uint64_t ptr);
/* The free objects on a small span's own list, sorted; *n of them (caller frees). */
struct memdbg_error *tc_span_free_list(struct memdbg_target *t, const struct tc_heap *h, const struct tc_span *s,
				       uint64_t **ret, size_t *n);

struct alloc_block;
/* Resolve addr to its span and block (object, large span or free run). */
struct memdbg_error *tc_block_at(struct memdbg_target *t, struct tc_heap *h, uint64_t addr, struct alloc_block *b,
				 const struct tc_span **span);

#endif /* MEMDBG_TC_H */
