/* gl.h - glibc's malloc (ptmalloc) as the decoders see it: where its state is, its layout, its chunks. */
#ifndef MEMDBG_GL_H
#define MEMDBG_GL_H

#include <limits.h>

#include "internal.h"

/* Struct offsets and constants of a range of glibc versions (gl_table.h). */
struct gl_layout {
	const char *versions;  /* "2.37-2.41" */
	const char *checked;   /* the versions whose debug build's DWARF gave the row: "2.41" */
	/* struct malloc_state */
	uint64_t arena_size, ar_flags, ar_have_fastchunks, ar_fastbins, ar_top, ar_last_remainder, ar_bins, ar_next,
		ar_next_free, ar_attached_threads, ar_system_mem, ar_max_system_mem;
	/* struct malloc_par (mp_) */
	uint64_t mp_size, mp_trim_threshold, mp_top_pad, mp_mmap_threshold, mp_arena_test, mp_arena_max, mp_n_mmaps,
		mp_n_mmaps_max, mp_max_n_mmaps, mp_no_dyn_threshold, mp_mmapped_mem, mp_max_mmapped_mem, mp_sbrk_base,
		mp_tcache_bins, mp_tcache_max_bytes, mp_tcache_count, mp_tcache_unsorted_limit;
	uint64_t max_fast_size;  /* global_max_fast: a size_t, a uint8_t from 2.37 */
	/* heap_info */
	uint64_t heap_info_size, hi_ar_ptr, hi_prev, hi_size, hi_mprotect_size;
	/* tcache_perthread_struct: uint16_t counts[64], then entries[64] */
	uint64_t tcache_size, tcache_counts, tcache_entries;
};

enum gl_sym { GL_SYM_MAIN_ARENA, GL_SYM_MP, GL_SYM_TCACHE_SLOT, GL_SYM_MAX_FAST, GL_NSYMS };

/* A stripped libc the table knows: offsets from its load base. */
struct gl_build {
	const char *build_id;
	const char *name;
	uint64_t rva[GL_NSYMS];
};

#define GL_NFASTBINS 10
#define GL_NBINS 128
#define GL_TCACHE_BINS 64
#define GL_HEAP_MAX (64ull << 20)  /* HEAP_MAX_SIZE on 64-bit: 2 * DEFAULT_MMAP_THRESHOLD_MAX */
#define GL_MINSIZE 32

/* Where a chunk is, as the arena and the caches see it. */
enum gl_where { GL_IN_USE, GL_TCACHE, GL_FASTBIN, GL_UNSORTED, GL_SMALLBIN, GL_LARGEBIN, GL_TOP, GL_MMAPPED,
		GL_FREE_UNLISTED, GL_WHERE_COUNT };

#define GL_NO_ARENA UINT16_MAX  /* an mmapped chunk's arena */

struct gl_chunk {  /* 24 bytes: a heap may hold tens of millions */
	uint64_t addr, size;  /* the chunk header and chunksize() */
	uint32_t thread;      /* the tcache's thread (index in gl_heap.threads) */
	uint16_t arena;       /* index in gl_heap.arenas, or GL_NO_ARENA */
	uint8_t bin;          /* bin or fastbin index, or tcache index */
	uint8_t where;        /* enum gl_where */
};

/* One contiguous run of chunks: the brk heap, a non-main heap, or an mmapped chunk. */
struct gl_region {
	uint64_t start, end;   /* [first chunk, end of the last) */
	uint64_t heap;         /* heap_info, or 0 for the main heap and mmapped chunks */
	uint64_t size, mprotect_size;  /* heap_info's */
	uint16_t arena;  /* GL_NO_ARENA for an mmapped chunk */
};

struct gl_arena {
	uint64_t addr, top, top_size, next, flags, attached_threads, system_mem, max_system_mem;
	uint64_t heaps, heap_bytes, heap_mprotect_bytes;
	uint64_t count[GL_WHERE_COUNT], bytes[GL_WHERE_COUNT];  /* from the walk and the lists */
	uint64_t fast_count[GL_NFASTBINS], fast_bytes[GL_NFASTBINS];
	uint64_t bin_count[GL_NBINS], bin_bytes[GL_NBINS], bin_min[GL_NBINS], bin_max[GL_NBINS];
};

struct gl_thread {
	int tid;
	uint64_t tcache;  /* tcache_perthread_struct, 0 when the thread has none */
	uint64_t count[GL_TCACHE_BINS], chunks, bytes;
};

#define GL_MAX_PROBLEMS 16

struct gl_heap {
	const struct gl_layout *l;
	uint64_t sym[GL_NSYMS];
	char version[64], release[128];
	char where[PATH_MAX + 16];
	char build_id[84];
	const char *source;
	uint64_t base;
	int64_t tcache_tpoff;  /* the TLS variable tcache, from the thread pointer; 0 when unknown */
	bool safe_linking;     /* tcache and fastbin links are stored as (&next >> 12) ^ next (2.32+) */
	const char *links_from;  /* what decided safe_linking: "version", or the heap's free lists (fromheap.c) */

	/* mp_ */
	uint64_t trim_threshold, top_pad, mmap_threshold, arena_test, arena_max, mmapped_mem, max_mmapped_mem,
		sbrk_base, tcache_bins, tcache_max_bytes, tcache_count, tcache_unsorted_limit, max_fast;
	int32_t n_mmaps, n_mmaps_max, max_n_mmaps, no_dyn_threshold;
	bool mp_defaults;  /* mp_ was not found (the heap fallback): glibc 2.36's defaults stand in */

	struct gl_arena *arenas;
	size_t narenas;
	struct gl_region *regions;  /* by start */
	size_t nregions;
	struct gl_chunk *chunks;    /* by address */
	size_t nchunks;
	struct gl_thread *threads;
	size_t nthreads;
	const char *threads_note;  /* why no tcache is shown, or NULL */
	bool unused;  /* malloc never initialized main_arena (another allocator serves the program) */
	uint64_t mmapped_found, mmapped_found_bytes;

	/* What could not be decoded: one line each, the rest decoded around them. */
	char problems[GL_MAX_PROBLEMS][256];
	size_t nproblems, more_problems;
};

struct memdbg_error *gl_get(struct memdbg_target *t, struct gl_heap **ret);
struct memdbg_error *gl_locate(struct memdbg_target *t, struct gl_heap *h);
/*
 * The last resort (fromheap.c): main_arena from the heap itself, mp_ as glibc
 * 2.36's defaults, tcache's TLS offset from the threads.  h->l may be NULL (the
 * version is not known).  *found false: why says why, in one line.
 */
struct memdbg_error *gl_locate_from_heap(struct memdbg_target *t, struct gl_heap *h, bool *found, char *why,
				       size_t why_len);
struct memdbg_error *gl_walk(struct memdbg_target *t, struct gl_heap *h);
void gl_problem(struct gl_heap *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

const char *gl_where_name(unsigned where);
/* The chunk holding addr (header included), or NULL. */
const struct gl_chunk *gl_chunk_at(const struct gl_heap *h, uint64_t addr);
const struct gl_region *gl_region_at(const struct gl_heap *h, uint64_t addr);

struct alloc_block;
struct memdbg_error *gl_block_at(const struct gl_heap *h, uint64_t addr, struct alloc_block *b,
				 const struct gl_chunk **chunk);

#endif /* MEMDBG_GL_H */
