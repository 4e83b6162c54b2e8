// tc_layout.cc - print the gperftools (TCMalloc) struct offsets and constants
// memdbg needs, as C initializers.  Compiled inside a configured gperftools
// source tree (see tc-table.sh) so every figure is the compiler's.  Private
// members are reached by redefining the access keywords: a layout probe only.
#include "config.h"
#define private public
#define protected public
#include "common.h"
#include "span.h"
#include "page_heap.h"
#include "central_freelist.h"
#include "thread_cache.h"
#include "static_vars.h"
#undef private
#undef protected

#include <stddef.h>
#include <stdio.h>
#include <string.h>

using namespace tcmalloc;

static void named(const char *name, size_t v)
{
	printf("\t.%s = %zu,\n", name, v);
}

// The byte and bit where a Span bit-field lives: set it to all ones in a zeroed Span.
template <typename F> static void bitfield(const char *name, F set)
{
	Span s;
	memset(&s, 0, sizeof(s));
	set(&s);
	const unsigned char *b = reinterpret_cast<const unsigned char *>(&s);
	size_t first = sizeof(s) * 8, bits = 0;
	for (size_t i = 0; i < sizeof(s) * 8; i++) {
		if (b[i / 8] >> (i % 8) & 1) {
			if (first == sizeof(s) * 8)
				first = i;
			bits++;
		}
	}
	char key[64];
	snprintf(key, sizeof(key), "%s_bit", name);
	named(key, first);
	snprintf(key, sizeof(key), "%s_width", name);
	named(key, bits);
}

int main()
{
	named("page_shift", kPageShift);
	named("max_pages", kMaxPages);
	named("class_sizes_max", kClassSizesMax);
	named("sizemap_class_to_size", offsetof(SizeMap, class_to_size_));
	named("sizemap_class_to_pages", offsetof(SizeMap, class_to_pages_));
	named("sizemap_num_objects_to_move", offsetof(SizeMap, num_objects_to_move_));
	named("sizemap_num_size_classes", offsetof(SizeMap, num_size_classes));
	named("span_size", sizeof(Span));
	named("span_start", offsetof(Span, start));
	named("span_length", offsetof(Span, length));
	named("span_next", offsetof(Span, next));
	named("span_objects", offsetof(Span, objects));
	bitfield("span_refcount", [](Span *s) { s->refcount = ~0u; });
	bitfield("span_sizeclass", [](Span *s) { s->sizeclass = ~0u; });
	bitfield("span_location", [](Span *s) { s->location = ~0u; });
	bitfield("span_sample", [](Span *s) { s->sample = ~0u; });
	named("stacktrace_size", offsetof(StackTrace, size));
	named("pageheap_pagemap_root", offsetof(PageHeap, pagemap_) + offsetof(PageHeap::PageMap, root_));
	named("pagemap_root_bits", PageHeap::PageMap::ROOT_BITS);
	named("pagemap_leaf_bits", PageHeap::PageMap::LEAF_BITS);
	named("pageheap_stats", offsetof(PageHeap, stats_));
	named("stats_system_bytes", offsetof(PageHeap::Stats, system_bytes));
	named("stats_free_bytes", offsetof(PageHeap::Stats, free_bytes));
	named("stats_unmapped_bytes", offsetof(PageHeap::Stats, unmapped_bytes));
	named("stats_committed_bytes", offsetof(PageHeap::Stats, committed_bytes));
	named("central_size", sizeof(CentralFreeListPadded));
	named("central_size_class", offsetof(CentralFreeList, size_class_));
	named("central_num_spans", offsetof(CentralFreeList, num_spans_));
	named("central_counter", offsetof(CentralFreeList, counter_));
	named("central_tc_slots", offsetof(CentralFreeList, tc_slots_));
	named("central_used_slots", offsetof(CentralFreeList, used_slots_));
	named("tcentry_size", sizeof(CentralFreeList::TCEntry));
	named("tcentry_head", offsetof(CentralFreeList::TCEntry, head));
	named("tcentry_tail", offsetof(CentralFreeList::TCEntry, tail));
	named("threadcache_list", offsetof(ThreadCache, list_));
	named("freelist_size", sizeof(ThreadCache::FreeList));
	named("freelist_list", offsetof(ThreadCache::FreeList, list_));
	named("freelist_length", offsetof(ThreadCache::FreeList, length_));
	named("threadcache_size", offsetof(ThreadCache, size_));
	named("threadcache_tid", offsetof(ThreadCache, tid_));
	named("threadcache_next", offsetof(ThreadCache, next_));
	return 0;
}
