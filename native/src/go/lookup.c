/*
 * lookup.c - from an address, or from an object's dense id, to its heap
 * span in constant time: every object lookup (marking, the graph, findings,
 * typing) goes through here, tens of millions of times on a big heap.
 *
 * Address: a page table per heap arena, as the runtime's own
 * heapArena.spans (4 B per 8 KiB page: 0.05% of the heap), the arenas found
 * through a direct table over their range or, when the heap is scattered, a
 * binary search.  Id: per 64 ids, the span holding the first of them; the
 * span of any id is then at most a short binary search away.
 */
#include <stdlib.h>
#include <string.h>

#include "go/objects.h"

#define MAX_DIRECT_ARENAS (1u << 16)
#define MAX_PAGES (1ull << 27)  /* 1 TiB of 8 KiB pages; past that (or a span claiming it), binary search */

struct go_lookup {
	unsigned page_shift, arena_shift;
	uint64_t arena_lo;        /* the lowest arena number */
	uint32_t *arena_slot;     /* direct: arena - arena_lo -> slot + 1 (0: not a heap arena) */
	uint64_t ndirect;
	uint64_t *arenas;         /* sorted arena numbers; slot = position */
	size_t narenas;
	uint32_t *pages;          /* slot * pages per arena + page -> heap span + 1 */
	uint32_t *span_of_block;  /* id / 64 -> the heap span holding that id */
};

static bool power_of_two(uint64_t x, unsigned *shift)
{
	if (!x || (x & (x - 1)))
		return false;
	*shift = (unsigned)__builtin_ctzll(x);
	return true;
}

static size_t arena_find(const struct go_lookup *l, uint64_t arena)
{
	if (l->arena_slot) {
		uint64_t d = arena - l->arena_lo;
		return arena >= l->arena_lo && d < l->ndirect ? (size_t)l->arena_slot[d] - 1 : SIZE_MAX;
	}
	size_t lo = 0, hi = l->narenas;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->arenas[mid] < arena)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < l->narenas && l->arenas[lo] == arena ? lo : SIZE_MAX;
}

static struct memdbg_error *build_pages(struct go_lookup *l, const struct go_objects *o)
{
	uint64_t npages = 0;
	for (size_t i = 0; i < o->nhs && npages <= MAX_PAGES; i++)
		npages += ((o->hs[i].end - 1) >> l->page_shift) - (o->hs[i].start >> l->page_shift) + 1;
	if (npages > MAX_PAGES)
		return NULL;
	/* The arenas the spans cover, in order (spans are sorted and disjoint). */
	size_t cap = 0;
	for (size_t i = 0; i < o->nhs; i++) {
		const struct go_heap_span *h = &o->hs[i];
		for (uint64_t a = h->start >> l->arena_shift; a <= (h->end - 1) >> l->arena_shift; a++) {
			if (l->narenas && l->arenas[l->narenas - 1] >= a)
				continue;
			if (l->narenas == cap) {
				cap = cap ? 2 * cap : 64;
				uint64_t *n = realloc(l->arenas, cap * sizeof(*n));
				if (!n)
					return memdbg_enomem;
				l->arenas = n;
			}
			l->arenas[l->narenas++] = a;
		}
	}
	uint64_t per_arena = 1ull << (l->arena_shift - l->page_shift);
	if (l->narenas && l->arenas[l->narenas - 1] - l->arenas[0] < MAX_DIRECT_ARENAS) {
		l->arena_lo = l->arenas[0];
		l->ndirect = l->arenas[l->narenas - 1] - l->arena_lo + 1;
		if (!(l->arena_slot = calloc(l->ndirect, sizeof(*l->arena_slot))))
			return memdbg_enomem;
		for (size_t i = 0; i < l->narenas; i++)
			l->arena_slot[l->arenas[i] - l->arena_lo] = (uint32_t)i + 1;
	}
	if (!(l->pages = calloc(l->narenas * per_arena + 1, sizeof(*l->pages))))
		return memdbg_enomem;
	for (size_t i = 0; i < o->nhs; i++) {
		const struct go_heap_span *h = &o->hs[i];
		for (uint64_t pg = h->start >> l->page_shift; pg <= (h->end - 1) >> l->page_shift; pg++) {
			uint32_t *e = &l->pages[arena_find(l, pg >> (l->arena_shift - l->page_shift)) * per_arena +
						(pg & (per_arena - 1))];
			if (*e) {  /* two spans in one page: not page-aligned, so search instead */
				free(l->pages);
				l->pages = NULL;
				return NULL;
			}
			*e = (uint32_t)i + 1;
		}
	}
	return NULL;
}

static struct memdbg_error *build_blocks(struct go_lookup *l, const struct go_objects *o)
{
	uint64_t nblocks = o->nslots / 64 + 1;
	if (!(l->span_of_block = malloc(nblocks * sizeof(*l->span_of_block))))
		return memdbg_enomem;
	size_t s = 0;
	for (uint64_t b = 0; b < nblocks; b++) {
		while (s + 1 < o->nhs && o->hs[s].first + o->hs[s].nelems <= 64 * b)
			s++;
		l->span_of_block[b] = (uint32_t)s;
	}
	return NULL;
}

struct memdbg_error *go_lookup_build(struct go_objects *o, uint64_t page_size, uint64_t arena_bytes)
{
	struct go_lookup *l = calloc(1, sizeof(*l));
	if (!l)
		return memdbg_enomem;
	o->lookup = l;
	if (!o->nhs)
		return NULL;
	struct memdbg_error *err = build_blocks(l, o);
	/* Without power-of-two pages and arenas (never seen), addresses take the binary search. */
	if (!err && power_of_two(page_size, &l->page_shift) && power_of_two(arena_bytes, &l->arena_shift) &&
	    l->arena_shift > l->page_shift && l->arena_shift - l->page_shift <= 20)
		err = build_pages(l, o);
	return err;
}

void go_lookup_destroy(struct go_lookup *l)
{
	if (!l)
		return;
	free(l->arena_slot);
	free(l->arenas);
	free(l->pages);
	free(l->span_of_block);
	free(l);
}

/* The heap span whose [start, end) holds addr, or NULL. */
static const struct go_heap_span *span_by_search(const struct go_objects *o, uint64_t addr)
{
	size_t lo = 0, hi = o->nhs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (o->hs[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < o->nhs && addr >= o->hs[lo].start ? &o->hs[lo] : NULL;
}

bool go_find_object(const struct go_objects *o, uint64_t addr, const struct go_heap_span **span, uint64_t *slot)
{
	const struct go_lookup *l = o->lookup;
	const struct go_heap_span *h;
	if (l && l->pages) {
		size_t a = arena_find(l, addr >> l->arena_shift);
		if (a == SIZE_MAX)
			return false;
		unsigned bits = l->arena_shift - l->page_shift;
		uint32_t k = l->pages[(a << bits) + ((addr >> l->page_shift) & ((1ull << bits) - 1))];
		if (!k)
			return false;
		h = &o->hs[k - 1];
		if (addr < h->start || addr >= h->end)
			return false;
	} else if (!(h = span_by_search(o, addr))) {
		return false;
	}
	*span = h;
	*slot = (addr - h->start) / h->elemsize;
	return true;
}

const struct go_heap_span *go_span_of_id(const struct go_objects *o, uint64_t id)
{
	size_t lo = 0, hi = o->nhs;
	const struct go_lookup *l = o->lookup;
	if (l && l->span_of_block && id / 64 < o->nslots / 64 + 1) {
		lo = l->span_of_block[id / 64];
		hi = id / 64 + 1 < o->nslots / 64 + 1 ? l->span_of_block[id / 64 + 1] + 1 : o->nhs;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (o->hs[mid].first + o->hs[mid].nelems <= id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return &o->hs[lo];
}
