/*
 * fromheap.c - the last way to glibc malloc's state, when neither symbols, the
 * build table nor libc's code give it: the heap itself.
 *
 * Each non-main heap is a mapping aligned to HEAP_MAX_SIZE (64 MiB) that
 * starts with a heap_info; an arena's first heap holds its malloc_state right
 * after that heap_info (ar_ptr == heap + sizeof(heap_info)).  The arenas'
 * next links form a closed ring through main_arena, the one member that is
 * no heap's (it sits in libc's .data, or the executable's when static).
 * A program with no other arena has no heap_info: then main_arena is the
 * malloc_state in the writable data of a file whose top points at the last
 * chunk of an anonymous mapping.  Either way the main heap starts where the
 * first sbrk left the break: the end of top minus system_mem (a contiguous
 * main arena), and a walk from there must reach top exactly.
 *
 * mp_ and global_max_fast are not found this way: glibc 2.36's defaults
 * stand in (gl_heap.mp_defaults), the mmapped chunks' count and bytes come
 * from the walk.  tcache's thread-pointer offset is the one offset below
 * the threads' pointers that holds, in every thread, null or the user
 * pointer of a tcache_perthread_struct-sized chunk.
 *
 * Whether the free lists' links are safe-linked (2.32+) or in the clear
 * (2.31) is read from the lists themselves: each tcache and fastbin head's
 * stored link is decoded both ways, and a list counts for the one decoding
 * that lands on null or a chunk of anonymous memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/alloc.h"
#include "glibc/gl.h"
#include "glibc/gl_table.h"

#define MAX_REGIONS 65536
#define MAX_HEAP_PROBES 65536       /* 64 MiB-aligned addresses looked at */
#define MAX_DATA_SCAN (64ull << 20)  /* bytes of files' writable data searched for a top pointer */
#define MAX_RING 4096
#define MAX_PREWALK (1u << 22)       /* chunks stepped from the main heap's start to top */
#define TLS_WINDOW 0x10000           /* bytes below a thread pointer searched for tcache */
#define MAX_TLS_CANDIDATES 64
#define MAX_TLS_THREADS 4096
#define MAX_LINK_VOTES 4096         /* free-list heads looked at for safe-linking */
#define SIZE_BITS 7ull
#define PREV_INUSE 1ull
#define IS_MMAPPED 2ull
#define NONCONTIGUOUS_BIT 2u

struct range {
	uint64_t lo, hi;
};

struct regions {
	struct range *anon, *file;
	size_t nanon, nfile, cap_anon, cap_file;
	bool truncated;
};

static struct memdbg_error *add_region(void *arg, uint64_t lo, uint64_t hi, bool anon)
{
	struct regions *r = arg;
	struct range **v = anon ? &r->anon : &r->file;
	size_t *n = anon ? &r->nanon : &r->nfile, *cap = anon ? &r->cap_anon : &r->cap_file;
	if (r->nanon + r->nfile >= MAX_REGIONS) {
		r->truncated = true;
		return NULL;
	}
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 256;
		struct range *nv = realloc(*v, *cap * sizeof(**v));
		if (!nv)
			return memdbg_enomem;
		*v = nv;
	}
	(*v)[(*n)++] = (struct range){ lo, hi };
	return NULL;
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The anonymous region holding addr, or NULL. */
static const struct range *anon_at(const struct regions *r, uint64_t addr)
{
	size_t lo = 0, hi = r->nanon;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->anon[mid].hi <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nanon && r->anon[lo].lo <= addr ? &r->anon[lo] : NULL;
}

struct search {
	struct memdbg_target *t;
	struct gl_heap *h;
	struct regions reg;
	uint64_t info_size[2];  /* the heap_info sizes the version allows (32 before 2.35, 48 from it) */
	size_t ninfo_sizes;
	uint64_t *firsts;       /* arenas that an arena's first heap_info names */
	uint64_t *first_info;   /* heap_info size seen with each */
	size_t nfirsts, cap_firsts;
	uint64_t ring_info;     /* the heap_info size of the ring's arenas */
	uint8_t *buf;           /* one malloc_state */
	char why[192];          /* why the heap does not reveal the state */
};

/*
 * A malloc_state as glibc leaves it: an unlocked or locked mutex, known flag
 * bits, top and every bin's links 16-byte aligned in anonymous memory (an
 * empty bin's fd and bk both point at the bin itself), fastbins null or in
 * anonymous memory, system_mem at most its maximum.
 */
static bool arena_plausible(struct search *s, uint64_t a, bool main)
{
	const struct gl_layout *l = s->h->l;
	const uint8_t *b = s->buf;
	if (!alloc_read(s->t, a, s->buf, l->arena_size))
		return false;
	int32_t mutex, have_fast;
	uint32_t flags;
	uint64_t top, next, attached, sys, max_sys;
	memcpy(&mutex, b, 4);
	memcpy(&flags, b + l->ar_flags, 4);
	memcpy(&have_fast, b + l->ar_have_fastchunks, 4);
	memcpy(&top, b + l->ar_top, 8);
	memcpy(&next, b + l->ar_next, 8);
	memcpy(&attached, b + l->ar_attached_threads, 8);
	memcpy(&sys, b + l->ar_system_mem, 8);
	memcpy(&max_sys, b + l->ar_max_system_mem, 8);
	if (mutex < 0 || mutex > 2 || flags > 7 || (have_fast != 0 && have_fast != 1) || !next || next % 8 ||
	    attached > (1u << 24) || sys > max_sys)
		return false;
	uint64_t initial_top = a + l->ar_bins - 16;
	if (!(main && top == initial_top) && (top % 16 || !anon_at(&s->reg, top)))
		return false;
	for (unsigned i = 0; i < GL_NFASTBINS; i++) {
		uint64_t f;
		memcpy(&f, b + l->ar_fastbins + i * 8, 8);
		/* safe-linking protects the links, not the bin heads: a head is a plain chunk address */
		if (f && (f % 16 || !anon_at(&s->reg, f)))
			return false;
	}
	for (unsigned i = 1; i < GL_NBINS; i++) {
		uint64_t off = l->ar_bins + (i - 1) * 16, head = a + off - 16, fd, bk;
		memcpy(&fd, b + off, 8);
		memcpy(&bk, b + off + 8, 8);
		if ((fd == head) != (bk == head))
			return false;
		if (fd != head && (fd % 16 || bk % 16 || !anon_at(&s->reg, fd) || !anon_at(&s->reg, bk)))
			return false;
	}
	return true;
}

static uint64_t read_u64_at(const uint8_t *b, uint64_t off)
{
	uint64_t v;
	memcpy(&v, b + off, 8);
	return v;
}

/* Every 64 MiB-aligned address of anonymous memory that starts an arena's first heap_info. */
static struct memdbg_error *find_first_heaps(struct search *s)
{
	size_t probes = 0;
	for (size_t i = 0; i < s->reg.nanon && probes < MAX_HEAP_PROBES; i++) {
		const struct range *r = &s->reg.anon[i];
		uint64_t a = (r->lo + GL_HEAP_MAX - 1) & ~(GL_HEAP_MAX - 1);
		for (; a >= r->lo && a + 64 <= r->hi && probes < MAX_HEAP_PROBES; a += GL_HEAP_MAX, probes++) {
			uint64_t hi[4];
			if (!alloc_read(s->t, a, hi, sizeof(hi)))
				continue;
			uint64_t ar = hi[0], prev = hi[1], size = hi[2], mprotect = hi[3];
			for (size_t k = 0; k < s->ninfo_sizes; k++) {
				if (ar != a + s->info_size[k] || prev || size < s->info_size[k] + 2200 || size > GL_HEAP_MAX ||
				    size % 4096 || mprotect < size || mprotect > GL_HEAP_MAX)
					continue;
				if (s->nfirsts == s->cap_firsts) {
					s->cap_firsts = s->cap_firsts ? 2 * s->cap_firsts : 64;
					uint64_t *v = realloc(s->firsts, s->cap_firsts * sizeof(*v));
					if (v)
						s->firsts = v;
					uint64_t *w = realloc(s->first_info, s->cap_firsts * sizeof(*w));
					if (w)
						s->first_info = w;
					if (!v || !w)
						return memdbg_enomem;
				}
				s->first_info[s->nfirsts] = s->info_size[k];
				s->firsts[s->nfirsts++] = ar;
			}
		}
	}
	return NULL;
}

static ssize_t first_index(const struct search *s, uint64_t a)
{
	for (size_t i = 0; i < s->nfirsts; i++)
		if (s->firsts[i] == a)
			return (ssize_t)i;
	return -1;
}

/*
 * The ring through the arena at start: closed, bounded, every member
 * plausible, and (one_outside) exactly one member, main_arena, that is no
 * heap's.
 */
static bool ring_main(struct search *s, uint64_t start, bool one_outside, uint64_t *main, size_t *members)
{
	uint64_t a = start, outside = 0;
	size_t n_outside = 0;
	for (size_t n = 0; n < MAX_RING; n++) {
		ssize_t k = first_index(s, a);
		bool in_heap = k >= 0;
		if (in_heap)
			s->ring_info = s->first_info[k];
		if (!in_heap) {
			n_outside++;
			outside = a;
		}
		if (!arena_plausible(s, a, !in_heap))
			return false;
		uint64_t next = read_u64_at(s->buf, s->h->l->ar_next);
		if (next == start) {
			*members = n + 1;
			*main = outside;
			return !one_outside || n_outside == 1;
		}
		a = next;
	}
	return false;
}

/* main_arena's top, chunk size and heap: the main heap starts system_mem before top's end. */
static bool main_heap_start(struct search *s, uint64_t main, uint64_t *sbrk_base, bool *noncontiguous)
{
	const struct gl_layout *l = s->h->l;
	if (!alloc_read(s->t, main, s->buf, l->arena_size))
		return false;
	uint64_t top = read_u64_at(s->buf, l->ar_top), sys = read_u64_at(s->buf, l->ar_system_mem), hdr[2];
	uint32_t flags;
	memcpy(&flags, s->buf + l->ar_flags, 4);
	*sbrk_base = 0;
	*noncontiguous = flags & NONCONTIGUOUS_BIT;
	if (top == main + l->ar_bins - 16 || *noncontiguous)
		return true;  /* no brk heap yet, or one the walk does not follow */
	const struct range *r = anon_at(&s->reg, top);
	if (!r || !alloc_read(s->t, top, hdr, sizeof(hdr)))
		return false;
	uint64_t size = hdr[1] & ~SIZE_BITS, end = top + size;
	if ((hdr[1] & IS_MMAPPED) || size < GL_MINSIZE || size % 16 || size > r->hi - top || sys < size ||
	    sys > end - r->lo)
		return false;
	uint64_t base = end - sys, p = (base + 15) & ~15ull;
	/* the walk from the first chunk must land on top */
	for (size_t n = 0; p < top && n < MAX_PREWALK; n++) {
		uint64_t h[2];
		if (!alloc_read(s->t, p, h, sizeof(h)))
			return false;
		uint64_t sz = h[1] & ~SIZE_BITS;
		if ((n == 0 && !(h[1] & PREV_INUSE)) || (h[1] & IS_MMAPPED) || sz < GL_MINSIZE || sz % 16 || sz > top - p)
			return false;
		p += sz;
	}
	if (p > top)
		return false;  /* (p < top: more than MAX_PREWALK chunks, the arithmetic stands unchecked) */
	*sbrk_base = base;
	return true;
}

/* main_arena through the heap_infos of the other arenas' first heaps. */
static bool from_ring(struct search *s, uint64_t *main, size_t *members)
{
	uint64_t found = 0;
	size_t best = 0;
	for (size_t i = 0; i < s->nfirsts; i++) {
		uint64_t m;
		size_t n;
		if (!ring_main(s, s->firsts[i], true, &m, &n))
			continue;
		if (found && m != found) {
			snprintf(s->why, sizeof(s->why), "two arena rings lead to two main arenas, 0x%" PRIx64 " and 0x%" PRIx64,
				 found, m);
			return false;
		}
		found = m;
		best = n;
	}
	if (!found) {
		snprintf(s->why, sizeof(s->why), "%zu heap_info%s name%s an arena, but no arena ring through them is "
			 "closed and leads to one main_arena", s->nfirsts, s->nfirsts == 1 ? "" : "s",
			 s->nfirsts == 1 ? "s" : "");
		return false;
	}
	*main = found;
	*members = best;
	return true;
}

/*
 * A program with one arena: a malloc_state in a file's writable data whose
 * top is a chunk of anonymous memory, and whose ring closes.
 */
static bool from_top(struct search *s, uint64_t *main, uint64_t *sbrk_base, bool *noncontiguous)
{
	const struct gl_layout *l = s->h->l;
	uint64_t found = 0, scanned = 0, base = 0;
	bool nc = false;
	size_t nfound = 0;
	for (size_t i = 0; i < s->reg.nfile && scanned < MAX_DATA_SCAN; i++) {
		const struct range *r = &s->reg.file[i];
		for (uint64_t page = r->lo & ~4095ull; page < r->hi && scanned < MAX_DATA_SCAN; page += 4096) {
			uint64_t w[512];
			uint64_t lo = page < r->lo ? r->lo : page, hi = page + 4096 > r->hi ? r->hi : page + 4096;
			if (hi <= lo || !alloc_read(s->t, lo, w, hi - lo))
				continue;
			scanned += hi - lo;
			for (size_t k = 0; k < (hi - lo) / 8; k++) {
				uint64_t at = lo + k * 8, a = at - l->ar_top;
				if (w[k] % 16 || !w[k] || at < r->lo + l->ar_top || a + l->arena_size > r->hi || !anon_at(&s->reg, w[k]))
					continue;
				uint64_t m, sb;
				size_t members;
				bool c;
				if (!arena_plausible(s, a, true))
					continue;
				/* one arena: next is itself; more: a closed ring (their heap_infos did not lead here) */
				uint64_t next = read_u64_at(s->buf, l->ar_next);
				if (next != a && !ring_main(s, a, false, &m, &members))
					continue;
				if (!main_heap_start(s, a, &sb, &c) || (!sb && !c))
					continue;
				if (a != found)
					nfound++;
				found = a, base = sb, nc = c;
			}
		}
	}
	if (nfound != 1) {
		if (nfound)
			snprintf(s->why, sizeof(s->why), "%zu malloc_states in the files' writable data point at a top "
				 "chunk (ambiguous)", nfound);
		else
			snprintf(s->why, sizeof(s->why), "no heap_info names an arena and no malloc_state in the files' "
				 "writable data points at a top chunk");
		return false;
	}
	*main = found;
	*sbrk_base = base;
	*noncontiguous = nc;
	return true;
}

/* The size of a tcache_perthread_struct's chunk. */
static uint64_t tcache_chunk_size(const struct gl_layout *l)
{
	return (l->tcache_size + 8 + 15) & ~15ull;
}

static bool is_tcache(struct search *s, uint64_t v)
{
	uint64_t size;
	if (!v || v % 16 || !anon_at(&s->reg, v) || !alloc_read(s->t, v - 8, &size, 8))
		return false;
	return (size & ~SIZE_BITS) == tcache_chunk_size(s->h->l) && !(size & IS_MMAPPED);
}

/*
 * tcache's offset from the thread pointer: the offsets where some thread
 * holds a tcache-sized chunk's user pointer, each then scored over every
 * thread (a pointer counts for it, null is neutral, anything else rules it
 * out); the best one wins if it is the only best.
 */
static void tcache_offset(struct search *s)
{
	const struct memdbg_thread_ptr *tp;
	size_t n;
	if (memdbg_target_threads(s->t, &tp, &n) || !n)
		return;
	if (n > MAX_TLS_THREADS)
		n = MAX_TLS_THREADS;
	int64_t cand[MAX_TLS_CANDIDATES];
	size_t ncand = 0;
	uint64_t *win = malloc(TLS_WINDOW);
	if (!win)
		return;
	for (size_t i = 0; i < n && ncand < MAX_TLS_CANDIDATES; i++) {
		if (!tp[i].fs_base || tp[i].fs_base < TLS_WINDOW)
			continue;
		for (uint64_t page = 0; page < TLS_WINDOW; page += 4096) {
			uint64_t lo = tp[i].fs_base - TLS_WINDOW + page;
			if (!alloc_read(s->t, lo, win, 4096))
				continue;
			for (size_t k = 0; k < 512 && ncand < MAX_TLS_CANDIDATES; k++) {
				if (!is_tcache(s, win[k]))
					continue;
				int64_t off = (int64_t)(lo + k * 8 - tp[i].fs_base);
				bool dup = false;
				for (size_t c = 0; c < ncand; c++)
					dup |= cand[c] == off;
				if (!dup)
					cand[ncand++] = off;
			}
		}
	}
	free(win);
	int64_t best = 0;
	size_t best_score = 0, ties = 0;
	for (size_t c = 0; c < ncand; c++) {
		size_t score = 0;
		bool ok = true;
		for (size_t i = 0; i < n && ok; i++) {
			uint64_t v;
			if (!tp[i].fs_base || !alloc_read(s->t, tp[i].fs_base + (uint64_t)cand[c], &v, 8))
				continue;
			if (is_tcache(s, v))
				score++;
			else if (v)
				ok = false;
		}
		if (!ok || !score)
			continue;
		if (score > best_score) {
			best = cand[c], best_score = score, ties = 0;
		} else if (score == best_score) {
			ties++;
		}
	}
	if (best_score && !ties)
		s->h->tcache_tpoff = best;
}

/* A decoded free-list link: the end of the list, or a 16-byte aligned address of anonymous memory. */
static bool link_plausible(struct search *s, uint64_t next)
{
	return next == 0 || (next % 16 == 0 && anon_at(&s->reg, next));
}

struct link_votes {
	size_t clear, safe;
};

/* The link stored at `at` (a free chunk's fd or a tcache entry's next): which decoding makes sense of it. */
static void vote_link(struct search *s, uint64_t at, struct link_votes *v)
{
	uint64_t stored;
	if (!at || at % 16 || !alloc_read(s->t, at, &stored, 8))
		return;
	bool clear = link_plausible(s, stored), safe = link_plausible(s, (at >> 12) ^ stored);
	if (clear != safe)
		clear ? v->clear++ : v->safe++;
}

/*
 * The links in the clear (2.31) or safe-linked (2.32+), by the first link
 * of every fastbin of every arena and of every tcache bin of every thread.
 * Neither when no list has a link, or the lists disagree.
 */
static void links_from_lists(struct search *s, uint64_t main, struct link_votes *v)
{
	const struct gl_layout *l = s->h->l;
	uint64_t a = main;
	for (size_t n = 0; n < MAX_RING && v->clear + v->safe < MAX_LINK_VOTES; n++) {
		if (!alloc_read(s->t, a, s->buf, l->arena_size))
			break;
		for (unsigned i = 0; i < GL_NFASTBINS; i++) {
			uint64_t head = read_u64_at(s->buf, l->ar_fastbins + i * 8);
			if (head)
				vote_link(s, head + 16, v);
		}
		if ((a = read_u64_at(s->buf, l->ar_next)) == main)
			break;
	}
	const struct memdbg_thread_ptr *tp;
	size_t n;
	if (!s->h->tcache_tpoff || memdbg_target_threads(s->t, &tp, &n))
		return;
	for (size_t i = 0; i < n && i < MAX_TLS_THREADS && v->clear + v->safe < MAX_LINK_VOTES; i++) {
		uint64_t tc, entries[GL_TCACHE_BINS];
		if (!tp[i].fs_base || !alloc_read(s->t, tp[i].fs_base + (uint64_t)s->h->tcache_tpoff, &tc, 8) || !tc ||
		    !alloc_read(s->t, tc + l->tcache_entries, entries, sizeof(entries)))
			continue;
		for (unsigned b = 0; b < GL_TCACHE_BINS; b++)
			vote_link(s, entries[b], v);
	}
}

/*
 * safe_linking from the heap's lists: they decide where the version is not
 * known, and are checked against it where it is (a disagreement is one line,
 * and the lists win: they are what is decoded).
 */
static void decide_links(struct search *s, uint64_t main, bool version_known)
{
	struct gl_heap *h = s->h;
	struct link_votes v = { 0, 0 };
	links_from_lists(s, main, &v);
	bool decided = (v.clear > 0) != (v.safe > 0), clear = v.clear > 0;
	if (!decided) {
		h->links_from = version_known ? "version (no free list tells)" : "assumed (no free list tells)";
		if (!version_known)
			h->safe_linking = true;
		return;
	}
	if (version_known && clear == h->safe_linking)
		gl_problem(h, "free lists: %zu list%s read%s in the clear and %zu safe-linked, but glibc %s %s: the "
			   "lists' reading is used", v.clear, v.clear == 1 ? "" : "s", v.clear == 1 ? "s" : "", v.safe,
			   h->version, h->safe_linking ? "safe-links them" : "does not safe-link them");
	h->safe_linking = !clear;
	h->links_from = clear ? "heap (free lists' links in the clear)" : "heap (free lists' links safe-linked)";
}

/* glibc 2.36's mp_ and global_max_fast as ptmalloc_init leaves them (no mallopt, no tunables). */
static void default_settings(struct gl_heap *h)
{
	h->trim_threshold = 128 * 1024;
	h->top_pad = 128 * 1024;
	h->mmap_threshold = 128 * 1024;
	h->arena_test = 8;
	h->arena_max = 0;
	h->n_mmaps_max = 65536;
	h->no_dyn_threshold = 0;
	h->tcache_bins = GL_TCACHE_BINS;
	h->tcache_count = 7;
	h->tcache_max_bytes = (GL_TCACHE_BINS - 1) * 16 + GL_MINSIZE - 8;  /* tidx2usize(63): 1032 */
	h->tcache_unsorted_limit = 0;
	h->max_fast = 128;  /* set_max_fast(DEFAULT_MXFAST) on 64-bit */
	h->mp_defaults = true;
}

struct memdbg_error *gl_locate_from_heap(struct memdbg_target *t, struct gl_heap *h, bool *found, char *why,
				       size_t why_len)
{
	struct search s = { .t = t, .h = h };
	struct memdbg_error *err;
	bool version_known = h->l != NULL;
	if (version_known) {
		s.info_size[s.ninfo_sizes++] = h->l->heap_info_size;
	} else {
		/* malloc_state is the same from 2.31 to 2.41: heap_info's size tells the layout */
		h->l = &gl_layout_2_35;
		s.info_size[s.ninfo_sizes++] = gl_layout_2_35.heap_info_size;
		s.info_size[s.ninfo_sizes++] = gl_layout_2_31.heap_info_size;
	}
	if (!(s.buf = malloc(h->l->arena_size)))
		return memdbg_enomem;
	if ((err = memdbg_target_data_regions(t, add_region, &s.reg)) || (err = find_first_heaps(&s)))
		goto out;
	qsort(s.reg.anon, s.reg.nanon, sizeof(*s.reg.anon), range_cmp);
	qsort(s.reg.file, s.reg.nfile, sizeof(*s.reg.file), range_cmp);
	uint64_t main = 0, sbrk_base = 0;
	size_t members = 0;
	bool noncontiguous = false;
	if (s.nfirsts && from_ring(&s, &main, &members)) {
		h->source = "heap (arena ring from heap_info)";
		if (!main_heap_start(&s, main, &sbrk_base, &noncontiguous)) {
			snprintf(s.why, sizeof(s.why), "the arena ring leads to main_arena 0x%" PRIx64 ", whose top chunk is "
				 "not the end of a heap that a walk from the break's start reaches", main);
			main = 0;
		}
	} else {
		char ring_why[sizeof(s.why)];
		snprintf(ring_why, sizeof(ring_why), "%s", s.why);
		if (from_top(&s, &main, &sbrk_base, &noncontiguous))
			h->source = "heap (main_arena from its top chunk)";
		else if (s.nfirsts)
			snprintf(s.why, sizeof(s.why), "%s", ring_why);
	}
	*found = main != 0;
	if (!main) {
		snprintf(why, why_len, "%s%s", s.why, s.reg.truncated ? " (more than 65536 memory regions: the rest "
			 "were not searched)" : "");
		if (!version_known)
			h->l = NULL;
		goto out;
	}
	if (!version_known) {
		/* the ring's heap_info size names the layout (no heap_info: 2.35+ assumed) */
		bool old = s.ring_info == gl_layout_2_31.heap_info_size;
		h->l = old ? &gl_layout_2_31 : &gl_layout_2_35;
		snprintf(h->version, sizeof(h->version), "%s", old ? "2.31-2.34" : s.ring_info ? "2.35+" : "2.35+ (assumed)");
	}
	h->sym[GL_SYM_MAIN_ARENA] = main;
	h->sym[GL_SYM_MP] = 0;
	h->sym[GL_SYM_MAX_FAST] = 0;
	h->sym[GL_SYM_TCACHE_SLOT] = 0;
	h->sbrk_base = sbrk_base;
	if (noncontiguous)
		gl_problem(h, "main arena: it is not contiguous: where its heap starts is not known from the heap");
	default_settings(h);
	h->tcache_tpoff = 0;
	tcache_offset(&s);
	decide_links(&s, main, version_known);
	if (!version_known && h->l == &gl_layout_2_31)  /* 2.31 alone stores the links in the clear */
		snprintf(h->version, sizeof(h->version), "%s", h->safe_linking ? "2.32-2.34" : "2.31");
out:
	free(s.buf);
	free(s.reg.anon);
	free(s.reg.file);
	free(s.firsts);
	free(s.first_info);
	return err;
}
