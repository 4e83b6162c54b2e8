/*
 * walk.c - every chunk of a glibc malloc heap: the arenas (a ring through
 * malloc_state.next from main_arena), each arena's heaps (the brk heap from
 * mp_.sbrk_base to the end of its top chunk; a non-main arena's heaps from the
 * heap_info at the 64 MiB-aligned start of the mapping holding its top,
 * chained by prev), the chunks of each heap in address order, and mmapped
 * chunks (anonymous mappings that start with an IS_MMAPPED chunk header).
 * Then the lists mark free chunks: each arena's fastbins and bins, and each
 * thread's tcache (through its thread pointer).  What is inconsistent stops
 * that heap or list only, and is kept as one line in gl_heap.problems.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/alloc.h"
#include "glibc/gl.h"

#define MAX_ARENAS 4096  /* < GL_NO_ARENA */
#define MAX_HEAPS_PER_ARENA 4096
#define MAX_CHUNKS (256u << 20)
#define RELEASE_EVERY (64u << 20)  /* bytes of heap walked between releases of the core's pages */
#define PREV_INUSE 1ull
#define IS_MMAPPED 2ull
#define NON_MAIN_ARENA 4ull
#define SIZE_BITS 7ull
#define NONCONTIGUOUS_BIT 2u

static const char *const where_names[GL_WHERE_COUNT] = {
	[GL_IN_USE] = "in use", [GL_TCACHE] = "tcache", [GL_FASTBIN] = "fastbin", [GL_UNSORTED] = "unsorted",
	[GL_SMALLBIN] = "small bin", [GL_LARGEBIN] = "large bin", [GL_TOP] = "top", [GL_MMAPPED] = "mmapped",
	[GL_FREE_UNLISTED] = "free, in no bin",
};

const char *gl_where_name(unsigned where)
{
	return where < GL_WHERE_COUNT ? where_names[where] : "invalid";
}

static bool read_words(struct memdbg_target *t, uint64_t addr, uint64_t *w, size_t n)
{
	const void *p = memdbg_peek(t, addr, n * 8);
	if (p) {
		memcpy(w, p, n * 8);
		return true;
	}
	return alloc_read(t, addr, w, n * 8);
}

/* A free chunk's forward link, read while the walk has its page at hand (the bins follow them later). */
struct free_link {
	uint64_t addr, fd;
};

struct walk {
	struct gl_heap *h;
	size_t cap_chunks, cap_regions, cap_links;
	uint8_t *arena_bytes;  /* each arena's malloc_state, as read */
	struct free_link *links;  /* by address */
	size_t nlinks;
};

static struct memdbg_error *push_link(struct walk *w, uint64_t addr, uint64_t fd)
{
	if (w->nlinks == w->cap_links) {
		w->cap_links = w->cap_links ? 2 * w->cap_links : 4096;
		struct free_link *v = realloc(w->links, w->cap_links * sizeof(*v));
		if (!v)
			return memdbg_enomem;
		w->links = v;
	}
	w->links[w->nlinks++] = (struct free_link){ addr, fd };
	return NULL;
}

static struct memdbg_error *push_chunk(struct walk *w, uint64_t addr, uint64_t size, uint16_t arena, uint8_t where)
{
	struct gl_heap *h = w->h;
	if (h->nchunks == w->cap_chunks) {
		if (w->cap_chunks >= MAX_CHUNKS)
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "more than %u chunks in the heaps", MAX_CHUNKS);
		w->cap_chunks = w->cap_chunks ? 2 * w->cap_chunks : 4096;
		struct gl_chunk *v = realloc(h->chunks, w->cap_chunks * sizeof(*v));
		if (!v)
			return memdbg_enomem;
		h->chunks = v;
	}
	h->chunks[h->nchunks++] = (struct gl_chunk){ .addr = addr, .size = size, .arena = arena, .where = where };
	return NULL;
}

static struct memdbg_error *push_region(struct walk *w, const struct gl_region *r)
{
	struct gl_heap *h = w->h;
	if (h->nregions == w->cap_regions) {
		w->cap_regions = w->cap_regions ? 2 * w->cap_regions : 64;
		struct gl_region *v = realloc(h->regions, w->cap_regions * sizeof(*v));
		if (!v)
			return memdbg_enomem;
		h->regions = v;
	}
	h->regions[h->nregions++] = *r;
	return NULL;
}

static uint64_t field(const struct walk *w, uint32_t a, uint64_t off)
{
	uint64_t v;
	memcpy(&v, w->arena_bytes + (size_t)a * w->h->l->arena_size + off, 8);
	return v;
}

/* The ring of arenas from main_arena; a broken link ends it with one line. */
static struct memdbg_error *read_arenas(struct memdbg_target *t, struct walk *w)
{
	struct gl_heap *h = w->h;
	const struct gl_layout *l = h->l;
	uint64_t main = h->sym[GL_SYM_MAIN_ARENA], a = main;
	size_t cap = 0;
	for (size_t i = 0; i < MAX_ARENAS; i++) {
		if (h->narenas == cap) {
			cap = cap ? 2 * cap : 16;
			struct gl_arena *v = realloc(h->arenas, cap * sizeof(*v));
			uint8_t *b = realloc(w->arena_bytes, cap * l->arena_size);
			if (v)
				h->arenas = v;
			if (b)
				w->arena_bytes = b;
			if (!v || !b)
				return memdbg_enomem;
		}
		uint8_t *buf = w->arena_bytes + h->narenas * l->arena_size;
		if (!alloc_read(t, a, buf, l->arena_size)) {
			if (a == main)
				return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "glibc's main_arena at 0x%" PRIx64
							   " is not readable: wrong build table entry?", a);
			gl_problem(h, "arena ring: arena %zu's next, 0x%" PRIx64 ", is not readable (later arenas not shown)",
				   h->narenas - 1, a);
			return NULL;
		}
		struct gl_arena *ar = &h->arenas[h->narenas];
		memset(ar, 0, sizeof(*ar));
		ar->addr = a;
		uint32_t flags;
		memcpy(&flags, buf + l->ar_flags, 4);
		ar->flags = flags;
		ar->top = field(w, (uint32_t)h->narenas, l->ar_top);
		ar->next = field(w, (uint32_t)h->narenas, l->ar_next);
		ar->attached_threads = field(w, (uint32_t)h->narenas, l->ar_attached_threads);
		ar->system_mem = field(w, (uint32_t)h->narenas, l->ar_system_mem);
		ar->max_system_mem = field(w, (uint32_t)h->narenas, l->ar_max_system_mem);
		if (a == main && (ar->system_mem > ar->max_system_mem || ar->top % 16))
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "glibc's main_arena at 0x%" PRIx64
						   " is inconsistent (system_mem %" PRIu64 ", top 0x%" PRIx64
						   "): wrong build table entry?", a, ar->system_mem, ar->top);
		h->narenas++;
		if (a == main && !ar->top) {
			h->unused = true;  /* ptmalloc_init never ran: no heap, no bins */
			return NULL;
		}
		if (ar->next == main)
			return NULL;
		for (size_t k = 0; k < h->narenas; k++) {
			if (h->arenas[k].addr == ar->next || !ar->next || ar->next % 8) {
				gl_problem(h, "arena ring: arena %zu at 0x%" PRIx64 " has next 0x%" PRIx64
					   ", which does not lead back to main_arena (later arenas not shown)",
					   h->narenas - 1, a, ar->next);
				return NULL;
			}
		}
		a = ar->next;
	}
	gl_problem(h, "arena ring: more than %u arenas (later arenas not shown)", MAX_ARENAS);
	return NULL;
}

/*
 * The chunks of [start, end) in address order.  top ends the walk of the
 * heap holding it; other heaps end at their fenceposts (chunks of 16 or 0
 * bytes).  A chunk in use is one whose successor has PREV_INUSE.
 */
static struct memdbg_error *walk_region(struct memdbg_target *t, struct walk *w, uint16_t a, uint64_t start,
					uint64_t end)
{
	struct gl_heap *h = w->h;
	struct gl_arena *ar = &h->arenas[a];
	uint64_t p = start, hdr[2], released = start;
	struct memdbg_error *err;
	if (!read_words(t, p, hdr, 2)) {
		gl_problem(h, "arena %u: its heap at 0x%" PRIx64 " is not readable", a, p);
		return NULL;
	}
	while (p < end) {
		uint64_t size = hdr[1] & ~SIZE_BITS;
		if (p == ar->top) {
			ar->top_size = size;
			return push_chunk(w, p, size, a, GL_TOP);
		}
		if (size <= 16 && p + 16 <= end)
			return NULL;  /* fencepost: the end of a heap that is not the top's */
		if (size < GL_MINSIZE || size % 16 || size > end - p) {
			gl_problem(h, "arena %u: the chunk at 0x%" PRIx64 " says size 0x%" PRIx64 ", past its heap or "
				   "misaligned (the %" PRIu64 " bytes from there to 0x%" PRIx64 " are not walked)",
				   a, p, hdr[1], end - p, end);
			return NULL;
		}
		uint64_t next[2] = { 0, PREV_INUSE };
		if (p + size < end && !read_words(t, p + size, next, 2)) {
			gl_problem(h, "arena %u: the chunk after 0x%" PRIx64 " (at 0x%" PRIx64 ") is not readable (the rest "
				   "of its heap is not walked)", a, p, p + size);
			next[1] = PREV_INUSE;
			end = p + size;
		}
		bool in_use = next[1] & PREV_INUSE;
		uint64_t fd;
		if ((err = push_chunk(w, p, size, a, in_use ? GL_IN_USE : GL_FREE_UNLISTED)) ||
		    (!in_use && read_words(t, p + 16, &fd, 1) && (err = push_link(w, p, fd))))
			return err;
		p += size;
		hdr[0] = next[0];
		hdr[1] = next[1];
		if (p - released >= RELEASE_EVERY) {
			memdbg_release(t, released, p);
			released = p;
		}
	}
	return NULL;
}

static uint64_t align16(uint64_t v)
{
	return (v + 15) & ~15ull;
}

/* The brk heap: from sbrk_base to the end of top (a contiguous main arena). */
static struct memdbg_error *main_heap(struct memdbg_target *t, struct walk *w)
{
	struct gl_heap *h = w->h;
	struct gl_arena *ar = &h->arenas[0];
	uint64_t initial_top = ar->addr + h->l->ar_bins - 16;  /* the unsorted bin's head: no heap yet */
	if (!h->sbrk_base || ar->top == initial_top)
		return NULL;
	if (ar->flags & NONCONTIGUOUS_BIT) {
		gl_problem(h, "main arena: it is not contiguous (brk failed and it went on in mmapped memory): "
			   "its chunks are not walked");
		return NULL;
	}
	uint64_t start = align16(h->sbrk_base), top[2];
	if (ar->top < start || ar->top - start > ar->system_mem || !read_words(t, ar->top, top, 2)) {
		gl_problem(h, "main arena: its top 0x%" PRIx64 " is not in its brk heap from 0x%" PRIx64
			   " (its chunks are not walked)", ar->top, start);
		return NULL;
	}
	uint64_t top_size = top[1] & ~SIZE_BITS;
	if (top_size > ar->system_mem) {
		gl_problem(h, "main arena: its top chunk 0x%" PRIx64 " says size 0x%" PRIx64 ", more than the arena's %" PRIu64
			   " bytes (top is not counted)", ar->top, top[1], ar->system_mem);
		top_size = 0;
	}
	uint64_t end = ar->top + top_size;
	struct gl_region r = { .start = start, .end = end, .size = end - start, .mprotect_size = end - start, .arena = 0 };
	ar->heaps = 1;
	ar->heap_bytes = ar->heap_mprotect_bytes = ar->system_mem;
	return push_region(w, &r);
}

/* A non-main arena's heaps, from the one holding top back through prev. */
static struct memdbg_error *arena_heaps(struct memdbg_target *t, struct walk *w, uint32_t a)
{
	struct gl_heap *h = w->h;
	const struct gl_layout *l = h->l;
	struct gl_arena *ar = &h->arenas[a];
	uint64_t heap = ar->top & ~(GL_HEAP_MAX - 1);
	for (size_t n = 0; heap && n < MAX_HEAPS_PER_ARENA; n++) {
		uint64_t hi[4];
		if (!read_words(t, heap, hi, 4)) {
			gl_problem(h, "arena %u: its heap_info at 0x%" PRIx64 " is not readable", a, heap);
			return NULL;
		}
		uint64_t owner = hi[l->hi_ar_ptr / 8], prev = hi[l->hi_prev / 8], size = hi[l->hi_size / 8];
		for (size_t k = 0; k < h->nregions; k++) {
			if (h->regions[k].heap == heap) {
				gl_problem(h, "arena %u: the heap_info chain comes back to 0x%" PRIx64 " (a loop: the heaps before "
					   "it are not walked)", a, heap);
				return NULL;
			}
		}
		if (owner != ar->addr || size > GL_HEAP_MAX || size < l->heap_info_size || prev % GL_HEAP_MAX) {
			gl_problem(h, "arena %u: the heap_info at 0x%" PRIx64 " names arena 0x%" PRIx64 " with size 0x%" PRIx64
				   " (this heap and those before it are not walked)", a, heap, owner, size);
			return NULL;
		}
		bool first = ar->addr >= heap && ar->addr < heap + size;
		uint64_t start = first ? align16(ar->addr + l->arena_size) : heap + l->heap_info_size;
		uint64_t end = ar->top >= heap && ar->top < heap + size ? 0 : heap + size;
		if (!end) {
			uint64_t top[2];
			if (!read_words(t, ar->top, top, 2)) {
				gl_problem(h, "arena %u: its top chunk 0x%" PRIx64 " is not readable", a, ar->top);
				return NULL;
			}
			end = ar->top + (top[1] & ~SIZE_BITS);
			if (end > heap + size)
				end = heap + size;
		}
		struct gl_region r = { .start = start, .end = end, .heap = heap, .size = size,
				       .mprotect_size = hi[l->hi_mprotect_size / 8], .arena = (uint16_t)a };
		struct memdbg_error *err = push_region(w, &r);
		if (err)
			return err;
		ar->heaps++;
		ar->heap_bytes += size;
		ar->heap_mprotect_bytes += r.mprotect_size;
		heap = prev;
	}
	if (heap)
		gl_problem(h, "arena %u: more than %u heaps (the rest are not walked)", a, MAX_HEAPS_PER_ARENA);
	return NULL;
}

/* ---- mmapped chunks ---- */

struct mmap_scan {
	struct memdbg_target *t;
	struct walk *w;
};

/* The first arena heap overlapping [lo, hi), or NULL. */
static const struct gl_region *arena_heap_in(const struct gl_heap *h, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < h->nregions; i++)
		if (h->regions[i].arena != GL_NO_ARENA && lo < h->regions[i].end && h->regions[i].start < hi)
			return &h->regions[i];
	return NULL;
}

/*
 * Chunks from the start of [lo, hi) of an anonymous mapping: prev_size is
 * the alignment gap, size has IS_MMAPPED.  The kernel merges neighbouring
 * mappings, so an arena's heap may share one with mmapped chunks next to
 * it: the chunks are then walked from either side of the heap.
 */
static struct memdbg_error *scan_mmapped_range(struct mmap_scan *s, uint64_t lo, uint64_t hi, unsigned depth)
{
	struct gl_heap *h = s->w->h;
	lo = (lo + 4095) & ~(uint64_t)4095;
	if (lo >= hi)
		return NULL;
	const struct gl_region *heap = arena_heap_in(h, lo, hi);
	if (heap) {
		uint64_t start = heap->start, end = heap->end;  /* push_region may move h->regions */
		struct memdbg_error *err = depth < 64 ? scan_mmapped_range(s, lo, start, depth + 1) : NULL;
		return err || depth >= 64 ? err : scan_mmapped_range(s, end, hi, depth + 1);
	}
	uint64_t p = lo, hdr[2];
	while (p + 16 <= hi && read_words(s->t, p, hdr, 2)) {
		uint64_t gap = hdr[0], size = hdr[1] & ~SIZE_BITS;
		if (gap >= 4096 || gap % 16 || (hdr[1] & SIZE_BITS) != IS_MMAPPED || size < 4096 || (size + gap) % 4096 ||
		    size + gap > hi - p)
			break;
		struct gl_region r = { .start = p + gap, .end = p + gap + size, .arena = GL_NO_ARENA };
		struct memdbg_error *err = push_region(s->w, &r);
		if (err)
			return err;
		h->mmapped_found++;
		h->mmapped_found_bytes += size + gap;
		p += size + gap;
	}
	return NULL;
}

static struct memdbg_error *scan_mmapped(void *arg, uint64_t lo, uint64_t hi, bool anon)
{
	return anon ? scan_mmapped_range(arg, lo, hi, 0) : NULL;
}

/* ---- lists ---- */

static int chunk_cmp(const void *a, const void *b)
{
	const struct gl_chunk *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int region_cmp(const void *a, const void *b)
{
	const struct gl_region *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int link_cmp(const void *a, const void *b)
{
	const struct free_link *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static bool chunks_sorted(const struct gl_heap *h)
{
	for (size_t i = 1; i < h->nchunks; i++)
		if (h->chunks[i - 1].addr >= h->chunks[i].addr)
			return false;
	return true;
}

/* Every region in address order, so the chunks come out sorted (unless damaged regions overlap). */
static struct memdbg_error *walk_regions(struct memdbg_target *t, struct walk *w)
{
	struct gl_heap *h = w->h;
	qsort(h->regions, h->nregions, sizeof(*h->regions), region_cmp);
	struct memdbg_error *err = NULL;
	for (size_t i = 0; i < h->nregions && !err; i++) {
		const struct gl_region *r = &h->regions[i];
		err = r->arena == GL_NO_ARENA ? push_chunk(w, r->start, r->end - r->start, GL_NO_ARENA, GL_MMAPPED)
					      : walk_region(t, w, r->arena, r->start, r->end);
		memdbg_release(t, r->start, r->end);
	}
	if (!err && !chunks_sorted(h)) {
		qsort(h->chunks, h->nchunks, sizeof(*h->chunks), chunk_cmp);
		qsort(w->links, w->nlinks, sizeof(*w->links), link_cmp);
	}
	return err;
}

static struct gl_chunk *chunk_exact(struct gl_heap *h, uint64_t addr)
{
	struct gl_chunk key = { .addr = addr };
	return bsearch(&key, h->chunks, h->nchunks, sizeof(key), chunk_cmp);
}

static enum gl_where bin_kind(unsigned i)
{
	return i == 1 ? GL_UNSORTED : i < 64 ? GL_SMALLBIN : GL_LARGEBIN;
}

static const char *bin_label(unsigned i, char *buf, size_t len)
{
	snprintf(buf, len, "%s %u", i == 1 ? "unsorted bin" : i < 64 ? "small bin" : "large bin", i);
	return buf;
}

/* A doubly linked bin, forward from its head; each entry must be a free chunk of the arena's heaps. */
static void mark_bin(struct memdbg_target *t, struct walk *w, uint32_t a, unsigned i)
{
	struct gl_heap *h = w->h;
	struct gl_arena *ar = &h->arenas[a];
	uint64_t head = ar->addr + h->l->ar_bins + (i - 1) * 16 - 16, p = field(w, a, h->l->ar_bins + (i - 1) * 16);
	char label[32];
	for (size_t n = 0; p != head; n++) {
		struct gl_chunk *c = chunk_exact(h, p);
		if (!c || c->arena != a || c->where != GL_FREE_UNLISTED) {
			gl_problem(h, "arena %u %s: entry %zu, 0x%" PRIx64 ", is %s (the rest of the list is not read)", a,
				   bin_label(i, label, sizeof(label)), n, p,
				   !c ? "not a chunk of the heaps" : c->where == bin_kind(i) ? "listed twice: the list loops"
				   : c->arena != a ? "another arena's chunk" : "not a free chunk");
			return;
		}
		c->where = (uint8_t)bin_kind(i);
		c->bin = (uint8_t)i;
		ar->bin_count[i]++;
		ar->bin_bytes[i] += c->size;
		if (!ar->bin_min[i] || c->size < ar->bin_min[i])
			ar->bin_min[i] = c->size;
		if (c->size > ar->bin_max[i])
			ar->bin_max[i] = c->size;
		struct free_link key = { .addr = c->addr }, *l = bsearch(&key, w->links, w->nlinks, sizeof(key), link_cmp);
		if (!l) {
			gl_problem(h, "arena %u %s: the link of 0x%" PRIx64 " is not readable", a,
				   bin_label(i, label, sizeof(label)), c->addr);
			return;
		}
		p = l->fd;
	}
}

static uint64_t reveal(const struct gl_heap *h, uint64_t at, uint64_t stored)
{
	return h->safe_linking ? (at >> 12) ^ stored : stored;
}

/* A singly linked fastbin: chunks of (i + 2) * 16 bytes that look in use to the heap walk. */
static void mark_fastbin(struct memdbg_target *t, struct walk *w, uint32_t a, unsigned i)
{
	struct gl_heap *h = w->h;
	struct gl_arena *ar = &h->arenas[a];
	uint64_t p = field(w, a, h->l->ar_fastbins + i * 8), want = (i + 2) * 16;
	for (size_t n = 0; p; n++) {
		struct gl_chunk *c = chunk_exact(h, p);
		if (!c || c->arena != a || c->where != GL_IN_USE || c->size != want) {
			gl_problem(h, "arena %u fastbin %u: entry %zu, 0x%" PRIx64 ", is %s (the rest of the list is not read)",
				   a, i, n, p, !c ? "not a chunk of the heaps" : c->where == GL_FASTBIN ? "listed twice: the list loops"
				   : c->size != want ? "of another size" : "not a chunk in use by the heap walk");
			return;
		}
		c->where = GL_FASTBIN;
		c->bin = (uint8_t)i;
		ar->fast_count[i]++;
		ar->fast_bytes[i] += c->size;
		uint64_t next;
		if (!read_words(t, p + 16, &next, 1)) {
			gl_problem(h, "arena %u fastbin %u: the link of 0x%" PRIx64 " is not readable", a, i, p);
			return;
		}
		p = reveal(h, p + 16, next);
	}
}

/* One thread's tcache: entries point to the user memory (chunk + 16); counts say how many. */
static void mark_tcache(struct memdbg_target *t, struct gl_heap *h, uint32_t ti)
{
	struct gl_thread *th = &h->threads[ti];
	const struct gl_layout *l = h->l;
	uint16_t counts[GL_TCACHE_BINS];
	uint64_t entries[GL_TCACHE_BINS];
	if (!alloc_read(t, th->tcache + l->tcache_counts, counts, sizeof(counts)) ||
	    !alloc_read(t, th->tcache + l->tcache_entries, entries, sizeof(entries))) {
		gl_problem(h, "thread %d: its tcache 0x%" PRIx64 " is not readable", th->tid, th->tcache);
		return;
	}
	for (unsigned i = 0; i < h->tcache_bins && i < GL_TCACHE_BINS; i++) {
		uint64_t e = entries[i], want = i * 16 + GL_MINSIZE;
		for (unsigned n = 0; n < counts[i]; n++) {
			struct gl_chunk *c = e >= 16 ? chunk_exact(h, e - 16) : NULL;
			if (!c || c->where != GL_IN_USE || c->size != want) {
				gl_problem(h, "thread %d tcache bin %u: entry %u of %u, 0x%" PRIx64 ", is %s (the rest of the "
					   "list is not read)", th->tid, i, n, counts[i], e,
					   !e ? "missing" : !c ? "not a chunk of the heaps" : c->where == GL_TCACHE ?
					   "listed twice: the list loops" : c->size != want ? "of another size" :
					   "not a chunk in use by the heap walk");
				break;
			}
			c->where = GL_TCACHE;
			c->bin = (uint8_t)i;
			c->thread = ti;
			th->count[i]++;
			th->chunks++;
			th->bytes += c->size;
			uint64_t next;
			if (!read_words(t, e, &next, 1)) {
				gl_problem(h, "thread %d tcache bin %u: the link of 0x%" PRIx64 " is not readable", th->tid, i, e);
				break;
			}
			e = reveal(h, e, next);
		}
	}
}

static int tid_cmp(const void *a, const void *b)
{
	const struct memdbg_thread_ptr *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static struct memdbg_error *read_threads(struct memdbg_target *t, struct gl_heap *h)
{
	const struct memdbg_thread_ptr *tp;
	size_t n;
	struct memdbg_error *err = memdbg_target_threads(t, &tp, &n);
	if (err)
		return err;
	if (!h->tcache_tpoff) {
		h->threads_note = "tcache not shown: the TLS offset of glibc's tcache was not found (its chunks count as in use)";
		return NULL;
	}
	if (!n) {
		h->threads_note = "tcache not shown: the threads' pointers (fs_base) of a live process held by a debugger "
				  "that does not give them (lldb) are not known; tcache chunks count as in use";
		return NULL;
	}
	struct memdbg_thread_ptr *sorted = malloc(n * sizeof(*sorted));
	if (!sorted || !(h->threads = calloc(n, sizeof(*h->threads)))) {
		free(sorted);
		return memdbg_enomem;
	}
	memcpy(sorted, tp, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), tid_cmp);  /* the same order from a core, ptrace or a debugger */
	tp = sorted;
	for (size_t i = 0; i < n; i++) {
		struct gl_thread *th = &h->threads[h->nthreads];
		th->tid = tp[i].tid;
		if (!tp[i].fs_base || !alloc_read(t, tp[i].fs_base + (uint64_t)h->tcache_tpoff, &th->tcache, 8)) {
			gl_problem(h, "thread %d: its tcache pointer at fs_base 0x%" PRIx64 " %+" PRId64 " is not readable",
				   tp[i].tid, tp[i].fs_base, h->tcache_tpoff);
			continue;
		}
		h->nthreads++;
		if (th->tcache)
			mark_tcache(t, h, (uint32_t)(h->nthreads - 1));
	}
	free(sorted);
	return NULL;
}

static void tally(struct gl_heap *h)
{
	for (size_t i = 0; i < h->nchunks; i++) {
		const struct gl_chunk *c = &h->chunks[i];
		if (c->arena == GL_NO_ARENA)
			continue;
		h->arenas[c->arena].count[c->where]++;
		h->arenas[c->arena].bytes[c->where] += c->size;
	}
}

struct memdbg_error *gl_walk(struct memdbg_target *t, struct gl_heap *h)
{
	struct walk w = { .h = h };
	struct memdbg_error *err = read_arenas(t, &w);
	if (!err && h->unused)
		goto out;
	if (!err)
		err = main_heap(t, &w);
	for (uint32_t a = 1; a < h->narenas && !err; a++)
		err = arena_heaps(t, &w, a);
	struct mmap_scan s = { t, &w };
	if (!err)
		err = memdbg_target_data_regions(t, scan_mmapped, &s);
	if (err || (err = walk_regions(t, &w)))
		goto out;
	for (uint32_t a = 0; a < h->narenas; a++) {
		for (unsigned i = 0; i < GL_NFASTBINS; i++)
			mark_fastbin(t, &w, a, i);
		for (unsigned i = 1; i < GL_NBINS; i++)
			mark_bin(t, &w, a, i);
	}
	if ((err = read_threads(t, h)))
		goto out;
	tally(h);
	if (h->mp_defaults) {  /* no mp_: its mmap counters are what the scan found */
		h->n_mmaps = h->max_n_mmaps = h->mmapped_found > INT32_MAX ? INT32_MAX : (int32_t)h->mmapped_found;
		h->mmapped_mem = h->max_mmapped_mem = h->mmapped_found_bytes;
	} else if (h->mmapped_found != (uint64_t)h->n_mmaps)
		gl_problem(h, "mmapped chunks: %" PRIu64 " found in anonymous mappings, mp_.n_mmaps says %d",
			   h->mmapped_found, h->n_mmaps);
out:
	free(w.arena_bytes);
	free(w.links);
	return err;
}

const struct gl_chunk *gl_chunk_at(const struct gl_heap *h, uint64_t addr)
{
	size_t lo = 0, hi = h->nchunks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->chunks[mid].addr + h->chunks[mid].size <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < h->nchunks && h->chunks[lo].addr <= addr ? &h->chunks[lo] : NULL;
}

const struct gl_region *gl_region_at(const struct gl_heap *h, uint64_t addr)
{
	size_t lo = 0, hi = h->nregions;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->regions[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < h->nregions && h->regions[lo].start <= addr ? &h->regions[lo] : NULL;
}

static void destroy(void *state)
{
	struct gl_heap *h = state;
	free(h->arenas);
	free(h->regions);
	free(h->chunks);
	free(h->threads);
	free(h);
}

static struct memdbg_error *build(struct memdbg_target *t, void *h, void *arg)
{
	struct memdbg_error *err = gl_locate(t, h);
	return err ? err : gl_walk(t, h);
}

struct memdbg_error *gl_get(struct memdbg_target *t, struct gl_heap **ret)
{
	return memdbg_target_cache_build(t, MEMDBG_CACHE_GLIBC, sizeof(**ret), build, NULL, destroy, (void **)ret);
}
