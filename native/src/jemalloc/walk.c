/*
 * walk.c - every extent of a jemalloc heap from its emap (the radix tree
 * that maps each page of a slab, and the first and last page of any other
 * extent, to its edata_t), and every object sitting in a thread cache, from
 * the cache-bin descriptors each arena keeps for its statistics.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc/alloc.h"
#include "jemalloc/je.h"

#define MAX_EXTENTS (64u << 20)
#define MAX_CACHED (64u << 20)
#define MAX_TCACHES 65536
#define MAX_CACHED_PER_BIN 8192

static const char *const state_names[JE_NSTATES] = { "active", "dirty", "muzzy", "retained", "transition",
						     "merging", "cached" };

const char *je_state_name(unsigned state)
{
	return state < JE_NSTATES ? state_names[state] : "invalid";
}

static uint64_t bits(uint64_t v, uint64_t shift, uint64_t width)
{
	return (v >> shift) & ((1ull << width) - 1);
}

/* The edata_t pointer of a leaf element (compact: 48-bit pointer, 128-aligned, high bits szind). */
static uint64_t leaf_edata(uint64_t le)
{
	return (uint64_t)((int64_t)(le << 16) >> 16) & ~(uint64_t)0x7f;
}

struct edata_list {
	uint64_t *v;
	size_t n, cap;
};

static struct memdbg_error *push(struct edata_list *l, uint64_t v)
{
	if (l->n && l->v[l->n - 1] == v)
		return NULL;  /* slabs register every page: neighbours repeat */
	if (l->n == l->cap) {
		if (l->cap >= MAX_EXTENTS)
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "more than %u extents in the emap", MAX_EXTENTS);
		size_t cap = l->cap ? 2 * l->cap : 4096;
		uint64_t *nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv)
			return memdbg_enomem;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = v;
	return NULL;
}

/* The edata_t pointer of a leaf element: compact (one word, see leaf_edata) or {edata, metadata}. */
static uint64_t leaf_elm_edata(const struct je_layout *l, const uint8_t *elm)
{
	uint64_t w;
	memcpy(&w, elm, 8);
	return !w ? 0 : l->rtree_leaf_elm_size == 8 ? leaf_edata(w) : w;
}

/* The emap below one node: levels[level] holds the node's elements, read. */
static struct memdbg_error *collect_level(struct memdbg_target *t, struct je_heap *h, uint8_t **levels,
					  unsigned level, struct edata_list *out)
{
	const struct je_layout *l = h->l;
	size_t n = (size_t)1 << l->rtree_bits[level];
	struct memdbg_error *err = NULL;
	if (level + 1 == l->rtree_height) {
		for (size_t j = 0; j < n && !err; j++) {
			uint64_t e = leaf_elm_edata(l, levels[level] + j * l->rtree_leaf_elm_size);
			if (e)
				err = push(out, e);
		}
		return err;
	}
	size_t child_bytes = ((size_t)1 << l->rtree_bits[level + 1]) *
			     (level + 2 == l->rtree_height ? l->rtree_leaf_elm_size : 8);
	for (size_t i = 0; i < n && !err; i++) {
		uint64_t child;
		memcpy(&child, levels[level] + 8 * i, 8);
		if (!child)
			continue;
		if (!alloc_read(t, child, levels[level + 1], child_bytes)) {
			h->ext_unreadable++;
			continue;
		}
		err = collect_level(t, h, levels, level + 1, out);
	}
	return err;
}

static size_t level_bytes(const struct je_layout *l, unsigned level)
{
	return ((size_t)1 << l->rtree_bits[level]) * (level + 1 == l->rtree_height ? l->rtree_leaf_elm_size : 8);
}

/* Every distinct edata_t the emap points to. */
static struct memdbg_error *collect_edata(struct memdbg_target *t, struct je_heap *h, struct edata_list *out)
{
	const struct je_layout *l = h->l;
	uint8_t *levels[MEMDBG_ARRAY_SIZE(l->rtree_bits)] = { NULL };
	struct memdbg_error *err = NULL;
	if (!l->rtree_height || l->rtree_height > MEMDBG_ARRAY_SIZE(l->rtree_bits)) {
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "emap radix tree of %" PRIu64 " levels",
					   l->rtree_height);
	}
	for (unsigned i = 0; i < l->rtree_height && !err; i++)
		if (!(levels[i] = malloc(level_bytes(l, i))))
			err = memdbg_enomem;
	if (!err && (err = memdbg_read(t, h->sym[JE_SYM_ARENA_EMAP_GLOBAL] + l->rtree_root, levels[0],
				       level_bytes(l, 0))))
		err = memdbg_error_prefix(err, "reading the emap root (%" PRIu64 " levels, %" PRIu64
					  " root bits, from the %s; a jemalloc configured for other address widths, "
					  "--with-lg-vaddr, needs its DWARF)",
					  l->rtree_height, l->rtree_bits[0], h->layout_source);
	if (!err)
		err = collect_level(t, h, levels, 0, out);
	if (!err && out->n) {
		qsort(out->v, out->n, sizeof(*out->v), memdbg_u64_cmp);
		size_t k = 1;
		for (size_t i = 1; i < out->n; i++)
			if (out->v[i] != out->v[k - 1])
				out->v[k++] = out->v[i];
		out->n = k;
	}
	for (unsigned i = 0; i < MEMDBG_ARRAY_SIZE(levels); i++)
		free(levels[i]);
	return err;
}

/* Decode one edata_t; false when it contradicts itself or the size classes. */
static bool decode_edata(const struct je_heap *h, uint64_t edata, const uint8_t *buf, struct je_extent *e)
{
	const struct je_layout *l = h->l;
	uint64_t b, addr, size_esn;
	memcpy(&b, buf + l->edata_bits, 8);
	memcpy(&addr, buf + l->edata_addr, 8);
	memcpy(&size_esn, buf + l->edata_size_esn, 8);
	uint64_t page_mask = h->page - 1;
	*e = (struct je_extent){
		.edata = edata,
		.addr = addr,
		.base = addr & ~page_mask,
		.size = size_esn & ~page_mask,
		.arena = (uint32_t)bits(b, l->edata_arena_shift, l->edata_arena_width),
		.szind = (uint16_t)bits(b, l->edata_szind_shift, l->edata_szind_width),
		.nfree = (uint16_t)bits(b, l->edata_nfree_shift, l->edata_nfree_width),
		.state = (uint8_t)bits(b, l->edata_state_shift, l->edata_state_width),
		.slab = (uint8_t)bits(b, l->edata_slab_shift, 1),
		.binshard = (uint8_t)bits(b, l->edata_binshard_shift, l->edata_binshard_width),
	};
	if (!e->size || e->base + e->size < e->base || e->state >= JE_CACHED)
		return false;
	if (e->state == JE_ACTIVE && e->szind == l->nsizes)
		e->state = JE_CACHED;
	if (e->state != JE_ACTIVE) {
		/* A freed slab keeps its stale slab bit, szind and nfree. */
		e->slab = 0;
		e->nfree = 0;
		return true;
	}
	if (e->slab) {
		if (e->szind >= h->nbins || e->state != JE_ACTIVE || addr != e->base)
			return false;
		const struct je_bin_info *bi = &h->bin[e->szind];
		return e->size == bi->slab_size && e->nfree <= bi->nregs;
	}
	return e->szind < l->nsizes && h->index2size[e->szind] <= e->size;
}

static int extent_cmp(const void *a, const void *b)
{
	const struct je_extent *x = a, *y = b;
	return x->base < y->base ? -1 : x->base > y->base;
}

static struct memdbg_error *read_extents(struct memdbg_target *t, struct je_heap *h, const struct edata_list *list)
{
	uint8_t buf[256];
	if (h->l->edata_size > sizeof(buf))
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "edata_t of %" PRIu64 " bytes", h->l->edata_size);
	h->ext = malloc((list->n ? list->n : 1) * sizeof(*h->ext));
	if (!h->ext)
		return memdbg_enomem;
	for (size_t i = 0; i < list->n; i++) {
		if (!alloc_read(t, list->v[i], buf, h->l->edata_size)) {
			h->ext_unreadable++;
			continue;
		}
		if (!decode_edata(h, list->v[i], buf, &h->ext[h->next]))
			h->ext_inconsistent++;
		else
			h->next++;
	}
	qsort(h->ext, h->next, sizeof(*h->ext), extent_cmp);
	return NULL;
}

struct cached_list {
	struct je_cached *v;
	size_t n, cap;
};

static struct memdbg_error *push_cached(struct cached_list *l, const struct je_cached *c)
{
	if (l->n == l->cap) {
		if (l->cap >= MAX_CACHED)
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "more than %u objects in thread caches: "
						   "their lists are corrupt", MAX_CACHED);
		size_t cap = l->cap ? 2 * l->cap : 1024;
		struct je_cached *nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv)
			return memdbg_enomem;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = *c;
	return NULL;
}

/* The objects of one cache bin: stack_head[0 .. n), n from the low 16 bits of the empty position. */
static struct memdbg_error *read_cache_bin(struct memdbg_target *t, struct je_heap *h, uint64_t bin, uint16_t szind,
					   uint32_t tc, struct cached_list *out, uint64_t *count)
{
	const struct je_layout *l = h->l;
	uint64_t head;
	uint16_t empty;
	if (!alloc_read(t, bin + l->cache_bin_stack_head, &head, 8) ||
	    !alloc_read(t, bin + l->cache_bin_low_bits_empty, &empty, 2)) {
		h->tcache_inconsistent++;
		return NULL;
	}
	uint16_t n = (uint16_t)(empty - (uint16_t)head) / 8;
	*count = 0;
	if (!n)
		return NULL;
	uint64_t ptrs[MAX_CACHED_PER_BIN];
	if (n > MAX_CACHED_PER_BIN || !alloc_read(t, head, ptrs, n * 8ull)) {
		h->tcache_inconsistent++;
		return NULL;
	}
	for (uint16_t i = 0; i < n; i++) {
		struct je_cached c = { ptrs[i], tc, szind };
		struct memdbg_error *err = push_cached(out, &c);
		if (err)
			return err;
	}
	*count = n;
	return NULL;
}

static struct memdbg_error *add_tcache(struct je_heap *h, const struct je_tcache *tc)
{
	if (h->ntcaches % 64 == 0) {
		struct je_tcache *v = realloc(h->tcaches, (h->ntcaches + 64) * sizeof(*v));
		if (!v)
			return memdbg_enomem;
		h->tcaches = v;
	}
	h->tcaches[h->ntcaches++] = *tc;
	return NULL;
}

/* arena->cache_bin_array_descriptor_ql: a ring of every thread cache bound to the arena. */
static struct memdbg_error *walk_arena_tcaches(struct memdbg_target *t, struct je_heap *h, uint32_t a,
					       struct cached_list *out)
{
	const struct je_layout *l = h->l;
	uint64_t first, d;
	if (!alloc_read(t, h->arenas[a] + l->arena_descriptor_ql, &first, 8)) {
		h->tcache_inconsistent++;
		return NULL;
	}
	d = first;
	for (size_t k = 0; d && k < MAX_TCACHES; k++) {
		struct je_tcache tc = { .descriptor = d, .arena = a };
		if (!alloc_read(t, d + l->descriptor_bins, &tc.bins, 8)) {
			h->tcache_inconsistent++;
			return NULL;
		}
		for (uint32_t i = 0; i < h->nhbins; i++) {
			uint64_t n;
			struct memdbg_error *err = read_cache_bin(t, h, tc.bins + i * l->cache_bin_size, (uint16_t)i,
								  (uint32_t)h->ntcaches, out, &n);
			if (err)
				return err;
			tc.count += n;
			tc.bytes += n * h->index2size[i];
		}
		struct memdbg_error *err = add_tcache(h, &tc);
		if (err)
			return err;
		if (!alloc_read(t, d, &d, 8)) {  /* qre_next */
			h->tcache_inconsistent++;
			return NULL;
		}
		if (d == first)
			return NULL;
	}
	if (d)
		h->tcache_inconsistent++;  /* a ring that does not close */
	return NULL;
}

static int cached_cmp(const void *a, const void *b)
{
	const struct je_cached *x = a, *y = b;
	return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

struct memdbg_error *je_walk(struct memdbg_target *t, struct je_heap *h)
{
	struct edata_list list = { 0 };
	struct memdbg_error *err = collect_edata(t, h, &list);
	if (!err)
		err = read_extents(t, h, &list);
	free(list.v);
	if (err)
		return err;
	struct cached_list cached = { 0 };
	for (uint32_t a = 0; a < h->narenas_total && !err; a++)
		if (h->arenas[a])
			err = walk_arena_tcaches(t, h, a, &cached);
	if (err) {
		free(cached.v);
		return err;
	}
	qsort(cached.v, cached.n, sizeof(*cached.v), cached_cmp);
	h->cached = cached.v;
	h->ncached = cached.n;
	return NULL;
}

const struct je_extent *je_extent_at(const struct je_heap *h, uint64_t addr)
{
	size_t lo = 0, hi = h->next;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->ext[mid].base + h->ext[mid].size <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < h->next && h->ext[lo].base <= addr ? &h->ext[lo] : NULL;
}

const struct je_cached *je_cached_at(const struct je_heap *h, uint64_t ptr)
{
	struct je_cached key = { .ptr = ptr };
	return bsearch(&key, h->cached, h->ncached, sizeof(key), cached_cmp);
}

struct memdbg_error *je_slab_bitmap(struct memdbg_target *t, const struct je_heap *h, const struct je_extent *e,
				    uint64_t *words, size_t nwords)
{
	uint32_t nregs = h->bin[e->szind].nregs;
	size_t need = (nregs + 63) / 64;
	if (need > nwords)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "slab of %u regions", nregs);
	return memdbg_read(t, e->edata + h->l->edata_bitmap, words, need * 8);
}

struct memdbg_error *je_region_free(struct memdbg_target *t, const struct je_heap *h, const struct je_extent *e,
				    uint32_t i, bool *ret)
{
	uint64_t w;
	struct memdbg_error *err = memdbg_read_u64(t, e->edata + h->l->edata_bitmap + (i / 64) * 8, &w);
	if (!err)
		*ret = (w >> (i % 64)) & 1;  /* a set bit is a free region */
	return err;
}

static void destroy(void *state)
{
	struct je_heap *h = state;
	free(h->arenas);
	free(h->ext);
	free(h->tcaches);
	free(h->cached);
	free(h);
}

static struct memdbg_error *build(struct memdbg_target *t, void *h, void *arg)
{
	struct memdbg_error *err = je_locate(t, h);
	return err ? err : je_walk(t, h);
}

struct memdbg_error *je_get(struct memdbg_target *t, struct je_heap **ret)
{
	return memdbg_target_cache_build(t, MEMDBG_CACHE_JEMALLOC, sizeof(**ret), build, NULL, destroy, (void **)ret);
}
