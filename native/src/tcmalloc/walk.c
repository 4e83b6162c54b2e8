/*
 * walk.c - every span of a TCMalloc heap from the page map (a 2-level radix
 * tree from page number to Span*: every page of a small span, the first and
 * last page of any other), visited as MallocExtension::Ranges() does, and
 * every object on a free list outside its span: the thread caches
 * (ThreadCache::thread_heaps_) and the transfer caches (tc_slots_).
 */
#include <stdlib.h>
#include <string.h>

#include "alloc/alloc.h"
#include "tcmalloc/tc.h"

#define MAX_SPANS (64u << 20)
#define MAX_CACHED (64u << 20)
#define MAX_THREADS 65536
#define MAX_LIST 1000000

static const char *const location_names[] = { "in use", "free", "returned" };

const char *tc_location_name(unsigned loc)
{
	return loc < 3 ? location_names[loc] : "invalid";
}

/* A bit-field of a Span record, byte by byte (fields may straddle words). */
static uint64_t span_bits(const uint8_t *buf, size_t len, uint64_t bit, uint64_t width)
{
	uint64_t v = 0;
	for (uint64_t i = 0; i < width; i++) {
		uint64_t b = bit + i;
		if (b / 8 < len && (buf[b / 8] >> (b % 8) & 1))
			v |= 1ull << i;
	}
	return v;
}

static struct memdbg_error *read_span(struct memdbg_target *t, const struct tc_heap *h, uint64_t addr,
				      struct tc_span *s)
{
	const struct tc_layout *l = h->l;
	uint8_t buf[128];
	if (l->span_size > sizeof(buf))
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "Span of %" PRIu64 " bytes", l->span_size);
	struct memdbg_error *err = memdbg_read(t, addr, buf, l->span_size);
	if (err)
		return err;
	memset(s, 0, sizeof(*s));
	s->addr = addr;
	memcpy(&s->start, buf + l->span_start, 8);
	memcpy(&s->npages, buf + l->span_length, 8);
	memcpy(&s->objects, buf + l->span_objects, 8);
	s->refcount = (uint32_t)span_bits(buf, l->span_size, l->span_refcount_bit, l->span_refcount_width);
	s->sizeclass = (uint8_t)span_bits(buf, l->span_size, l->span_sizeclass_bit, l->span_sizeclass_width);
	s->location = (uint8_t)span_bits(buf, l->span_size, l->span_location_bit, l->span_location_width);
	s->sample = span_bits(buf, l->span_size, l->span_sample_bit, l->span_sample_width) != 0;
	return NULL;
}

/*
 * A sampled object's size class: the smallest class that fits the size it
 * asked for (its StackTrace says), as nallocx rounds it; 0 past the last.
 */
static void sample_class(struct memdbg_target *t, const struct tc_heap *h, struct tc_span *s)
{
	struct memdbg_error *err = memdbg_read_u64(t, s->objects + h->l->stacktrace_size, &s->sample_size);
	if (err) {
		memdbg_error_destroy(err);
		return;
	}
	for (uint32_t c = 1; c < h->nclasses; c++)
		if (h->cls[c].size >= s->sample_size) {
			s->sample_class = (uint8_t)c;
			return;
		}
}

static bool span_consistent(const struct tc_heap *h, const struct tc_span *s)
{
	if (!s->npages || s->start + s->npages < s->start || s->location > TC_ON_RETURNED_FREELIST)
		return false;
	if (s->location != TC_IN_USE || !s->sizeclass)
		return true;
	const struct tc_class *k = &h->cls[s->sizeclass];
	return s->sizeclass < h->nclasses && s->npages == k->pages && s->refcount <= k->objects_per_span;
}

static struct memdbg_error *push_span(struct tc_heap *h, size_t *cap, const struct tc_span *s)
{
	if (h->nspans == *cap) {
		if (*cap >= MAX_SPANS)
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "more than %u spans in the page map", MAX_SPANS);
		*cap = *cap ? 2 * *cap : 4096;
		struct tc_span *v = realloc(h->spans, *cap * sizeof(*v));
		if (!v)
			return memdbg_enomem;
		h->spans = v;
	}
	h->spans[h->nspans++] = *s;
	return NULL;
}

/* Pages in order from 1; after each span, continue past its last page. */
static struct memdbg_error *walk_pagemap(struct memdbg_target *t, struct tc_heap *h)
{
	const struct tc_layout *l = h->l;
	size_t nroot = 1ull << l->pagemap_root_bits, nleaf = 1ull << l->pagemap_leaf_bits, cap = 0;
	uint64_t *root = malloc(nroot * 8), *leaf = malloc(nleaf * 8), next = 1;
	struct memdbg_error *err = NULL;
	if (!root || !leaf) {
		err = memdbg_enomem;
		goto out;
	}
	if ((err = memdbg_read(t, h->sym[TC_SYM_PAGEHEAP] + l->pageheap_pagemap_root, root, nroot * 8))) {
		err = memdbg_error_prefix(err, "reading the page map root");
		goto out;
	}
	for (uint64_t i1 = 0; i1 < nroot && !err; i1++) {
		if (!root[i1] || ((i1 + 1) << l->pagemap_leaf_bits) <= next)
			continue;
		if (!alloc_read(t, root[i1], leaf, nleaf * 8)) {
			h->leaves_unreadable++;
			continue;
		}
		for (uint64_t i2 = 0; i2 < nleaf && !err; i2++) {
			uint64_t page = i1 << l->pagemap_leaf_bits | i2;
			if (page < next || !leaf[i2])
				continue;
			struct tc_span s = { 0 };
			struct memdbg_error *bad = read_span(t, h, leaf[i2], &s);
			memdbg_error_destroy(bad);
			if (bad || s.start != page || !span_consistent(h, &s)) {
				h->spans_inconsistent++;  /* a stale entry: skip the page, not the span */
				next = page + 1;
				continue;
			}
			if (s.sample && s.location == TC_IN_USE && !s.sizeclass)
				sample_class(t, h, &s);
			err = push_span(h, &cap, &s);
			next = s.start + s.npages;
		}
	}
out:
	free(root);
	free(leaf);
	return err;
}

struct cached_list {
	struct tc_cached *v;
	size_t n, cap;
};

static struct memdbg_error *push_cached(struct cached_list *l, uint64_t ptr, uint32_t owner, uint8_t cl)
{
	if (l->n == l->cap) {
		if (l->cap >= MAX_CACHED)
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "more than %u objects in thread caches: "
						   "their lists are corrupt", MAX_CACHED);
		size_t cap = l->cap ? 2 * l->cap : 1024;
		struct tc_cached *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return memdbg_enomem;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct tc_cached){ ptr, owner, cl };
	return NULL;
}

/* A singly linked free list (the first word of each object links the next), n objects. */
static struct memdbg_error *walk_list(struct memdbg_target *t, struct tc_heap *h, uint64_t head, uint64_t n,
				      uint32_t owner, uint8_t cl, struct cached_list *out)
{
	uint64_t p = head;
	if (n > MAX_LIST) {
		h->lists_inconsistent++;
		return NULL;
	}
	for (uint64_t i = 0; i < n; i++) {
		if (!p) {
			h->lists_inconsistent++;
			return NULL;
		}
		struct memdbg_error *err = push_cached(out, p, owner, cl);
		if (err)
			return err;
		if (!alloc_read(t, p, &p, 8)) {
			h->lists_inconsistent++;
			return NULL;
		}
	}
	return NULL;
}

static struct memdbg_error *add_thread(struct tc_heap *h, const struct tc_thread *th)
{
	if (h->nthreads % 64 == 0) {
		struct tc_thread *v = realloc(h->threads, (h->nthreads + 64) * sizeof(*v));
		if (!v)
			return memdbg_enomem;
		h->threads = v;
	}
	h->threads[h->nthreads++] = *th;
	return NULL;
}

static struct memdbg_error *walk_thread_caches(struct memdbg_target *t, struct tc_heap *h, struct cached_list *out)
{
	const struct tc_layout *l = h->l;
	uint64_t tc;
	if (!alloc_read(t, h->sym[TC_SYM_THREAD_HEAPS], &tc, 8))
		return memdbg_error_format(MEMDBG_ERROR_FAULT, "cannot read ThreadCache::thread_heaps_");
	for (size_t k = 0; tc && k < MAX_THREADS; k++) {
		struct tc_thread th = { .addr = tc };
		int32_t size;
		if (!alloc_read(t, tc + l->threadcache_size, &size, 4) || !alloc_read(t, tc + l->threadcache_tid, &th.tid, 8)) {
			h->lists_inconsistent++;
			return NULL;
		}
		th.size = size > 0 ? (uint64_t)size : 0;
		for (uint32_t c = 1; c < h->nclasses; c++) {
			uint64_t fl = tc + l->threadcache_list + c * l->freelist_size, head;
			uint32_t len;
			if (!alloc_read(t, fl + l->freelist_list, &head, 8) || !alloc_read(t, fl + l->freelist_length, &len, 4)) {
				h->lists_inconsistent++;
				continue;
			}
			h->cls[c].thread_objects += len;
			th.objects += len;
			struct memdbg_error *err = walk_list(t, h, head, len, (uint32_t)h->nthreads, (uint8_t)c, out);
			if (err)
				return err;
		}
		struct memdbg_error *err = add_thread(h, &th);
		if (err)
			return err;
		if (!alloc_read(t, tc + l->threadcache_next, &tc, 8)) {
			h->lists_inconsistent++;
			return NULL;
		}
	}
	if (tc)
		h->lists_inconsistent++;
	return NULL;
}

/* tc_slots_[0 .. used_slots_): chains of num_objects_to_move objects each. */
static struct memdbg_error *walk_transfer_caches(struct memdbg_target *t, struct tc_heap *h, struct cached_list *out)
{
	const struct tc_layout *l = h->l;
	for (uint32_t c = 1; c < h->nclasses; c++) {
		struct tc_class *k = &h->cls[c];
		uint64_t cfl = h->sym[TC_SYM_CENTRAL_CACHE] + c * l->central_size;
		uint64_t slots = k->num_objects_to_move ? k->transfer_objects / k->num_objects_to_move : 0;
		for (uint64_t i = 0; i < slots; i++) {
			uint64_t head;
			if (!alloc_read(t, cfl + l->central_tc_slots + i * l->tcentry_size + l->tcentry_head, &head, 8)) {
				h->lists_inconsistent++;
				continue;
			}
			struct memdbg_error *err = walk_list(t, h, head, k->num_objects_to_move, UINT32_MAX, (uint8_t)c, out);
			if (err)
				return err;
		}
	}
	return NULL;
}

static int cached_cmp(const void *a, const void *b)
{
	const struct tc_cached *x = a, *y = b;
	return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

static struct memdbg_error *tc_walk(struct memdbg_target *t, struct tc_heap *h)
{
	struct memdbg_error *err = walk_pagemap(t, h);
	struct cached_list cached = { 0 };
	if (!err)
		err = walk_thread_caches(t, h, &cached);
	if (!err)
		err = walk_transfer_caches(t, h, &cached);
	if (err) {
		free(cached.v);
		return err;
	}
	qsort(cached.v, cached.n, sizeof(*cached.v), cached_cmp);
	h->cached = cached.v;
	h->ncached = cached.n;
	return NULL;
}

const struct tc_span *tc_span_at(const struct tc_heap *h, uint64_t addr)
{
	uint64_t page = addr >> h->l->page_shift;
	size_t lo = 0, hi = h->nspans;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->spans[mid].start + h->spans[mid].npages <= page)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < h->nspans && h->spans[lo].start <= page ? &h->spans[lo] : NULL;
}

const struct tc_cached *tc_cached_at(const struct tc_heap *h, uint64_t ptr)
{
	struct tc_cached key = { .ptr = ptr };
	return bsearch(&key, h->cached, h->ncached, sizeof(key), cached_cmp);
}

struct memdbg_error *tc_span_free_list(struct memdbg_target *t, const struct tc_heap *h, const struct tc_span *s,
				       uint64_t **ret, size_t *n)
{
	const struct tc_class *k = &h->cls[s->sizeclass];
	uint64_t want = k->objects_per_span - s->refcount, p = s->objects;
	uint64_t *v = malloc((want ? want : 1) * sizeof(*v));
	if (!v)
		return memdbg_enomem;
	uint64_t lo = s->start << h->l->page_shift, hi = lo + (s->npages << h->l->page_shift);
	size_t i = 0;
	for (; i < want; i++) {
		if (p < lo || p >= hi || !alloc_read(t, p, &v[i], 8)) {
			free(v);
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "the free list of span 0x%" PRIx64
						   " leaves the span after %zu of %" PRIu64 " objects", lo, i, want);
		}
		uint64_t next = v[i];
		v[i] = p;
		p = next;
	}
	qsort(v, i, sizeof(*v), memdbg_u64_cmp);
	*ret = v;
	*n = i;
	return NULL;
}

static void destroy(void *state)
{
	struct tc_heap *h = state;
	free(h->spans);
	free(h->threads);
	free(h->cached);
	free(h);
}

static struct memdbg_error *build(struct memdbg_target *t, void *h, void *arg)
{
	struct memdbg_error *err = tc_locate(t, h);
	return err ? err : tc_walk(t, h);
}

struct memdbg_error *tc_get(struct memdbg_target *t, struct tc_heap **ret)
{
	return memdbg_target_cache_build(t, MEMDBG_CACHE_TCMALLOC, sizeof(**ret), build, NULL, destroy, (void **)ret);
}
