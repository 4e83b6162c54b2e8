/* je.h - jemalloc 5.3 as the decoders see it: where its state is, its layout, its extents. */
#ifndef MEMDBG_JE_H
#define MEMDBG_JE_H

#include <limits.h>

#include "internal.h"

/* Struct offsets and constants of one jemalloc version (generated, je_table.h). */
struct je_layout {
	uint64_t arena_nthreads, arena_descriptor_ql, arena_lstats, arena_nactive, arena_npages_dirty,
		arena_npages_muzzy, arena_npages_retained, arena_ind, arena_bins;
	uint64_t arena_base, arena_internal, arena_pac_stats, pac_stats_mapped, base_allocated, base_resident, base_mapped;
	uint64_t lstats_size, lstats_nmalloc, lstats_ndalloc;
	uint64_t bin_size, bin_nmalloc, bin_ndalloc, bin_curregs, bin_nslabs, bin_curslabs, bin_nonfull_slabs,
		bin_slabcur;
	uint64_t bin_info_size, bin_info_reg_size, bin_info_slab_size, bin_info_nregs, bin_info_n_shards;
	uint64_t edata_size, edata_bits, edata_addr, edata_size_esn, edata_bitmap;
	uint64_t edata_arena_shift, edata_arena_width, edata_slab_shift, edata_state_shift, edata_state_width,
		edata_szind_shift, edata_szind_width, edata_nfree_shift, edata_nfree_width, edata_binshard_shift,
		edata_binshard_width;
	uint64_t descriptor_bins, cache_bin_size, cache_bin_stack_head, cache_bin_low_bits_empty;
	/* The emap's radix tree: 2 levels of 18 bits for 48-bit addresses (LG_VADDR), 3 of 15 for 57;
	 * leaves are one word (pointer and size index) when the high bits leave room, else two. */
	uint64_t rtree_root, rtree_height, rtree_bits[3], rtree_leaf_elm_size;
	uint64_t lg_page, nbins, nsizes, arenas_max;
};

/* The hidden globals memdbg reads, by their names in .symtab / DWARF. */
enum je_sym {
	JE_SYM_ARENAS,
	JE_SYM_NARENAS_TOTAL,
	JE_SYM_NARENAS_AUTO,
	JE_SYM_ARENA_EMAP_GLOBAL,
	JE_SYM_SZ_INDEX2SIZE_TAB,
	JE_SYM_BIN_INFOS,
	JE_SYM_ARENA_BIN_OFFSETS,
	JE_SYM_NHBINS,
	JE_SYM_OPT_TCACHE,
	JE_SYM_OPT_TCACHE_MAX,
	JE_SYM_OPT_NARENAS,
	JE_SYM_MANUAL_ARENA_BASE,
	JE_SYM_OPT_PROF,
	JE_SYM_HUGE_ARENA_IND,
	JE_NSYMS
};

/* A known stripped build: offsets of the globals from the library's load base. */
struct je_build {
	const char *build_id;  /* hex */
	const char *version;
	const struct je_layout *layout;
	uint64_t rva[JE_NSYMS];
};

#define JE_MAX_BINS 64
#define JE_MAX_SIZES 256

/*
 * extent_state_t, and JE_CACHED: an active extent whose size index says "no
 * size class" (SC_NSIZES): freed, but still mapped, by the hugepage
 * allocator's small extent cache (sec).
 */
enum je_state { JE_ACTIVE, JE_DIRTY, JE_MUZZY, JE_RETAINED, JE_TRANSITION, JE_MERGING, JE_CACHED, JE_NSTATES };

struct je_extent {
	uint64_t edata, base, size, addr;  /* addr: e_addr (large: the randomized user pointer) */
	uint32_t arena;
	uint16_t szind, nfree;
	uint8_t state, slab, binshard;
};

/* One region or large block sitting in a thread cache. */
struct je_cached {
	uint64_t ptr;
	uint32_t tcache;  /* index into je_heap.tcaches */
	uint16_t szind;
};

struct je_tcache {
	uint64_t descriptor, bins;
	uint32_t arena;
	uint64_t count, bytes;
};

struct je_bin_info {
	uint64_t reg_size, slab_size;
	uint32_t nregs, n_shards;
};

struct je_heap {
	const struct je_layout *l;  /* &layout */
	struct je_layout layout;    /* the version's table, struct offsets from DWARF when it has them */
	const char *layout_source;  /* "DWARF" or "table" */
	uint64_t sym[JE_NSYMS];
	char version[96];
	char where[PATH_MAX + 16];  /* the library, or "the executable" for static links */
	char build_id[84];          /* hex, "" when the file has none */
	const char *source;         /* how the globals were found */
	uint64_t base;              /* load base of the library (0: static) */

	uint32_t narenas_total, narenas_auto, nbins, nhbins, opt_narenas, manual_arena_base, huge_arena_ind;
	bool opt_tcache, opt_prof;
	uint64_t tcache_max, page;
	uint64_t index2size[JE_MAX_SIZES];
	struct je_bin_info bin[JE_MAX_BINS];
	uint32_t bin_offsets[JE_MAX_BINS];
	uint64_t *arenas;  /* arena_t addresses, narenas_total of them (0: not initialized) */

	struct je_extent *ext;  /* every extent in the emap, by base address */
	size_t next;
	size_t ext_inconsistent, ext_unreadable;
	struct je_tcache *tcaches;
	size_t ntcaches;
	struct je_cached *cached;  /* by pointer */
	size_t ncached;
	size_t tcache_inconsistent;
};

/*
 * The globals of a stripped library or executable (elf, loaded at base),
 * from its mallctl name tree and the handlers' code (h->l must be set).
 * *missing names what was not found (NULL: everything was; je_ctl_no_root:
 * not even the tree); counts no handler reads are set in h directly.
 */
extern const char je_ctl_no_root[];
struct memdbg_error *je_ctl_search(struct memdbg_target *t, const struct memdbg_elf *elf, uint64_t base,
				   struct je_heap *h, const char **missing);

/* The jemalloc heap of the target, located and walked (cached per core; live: per command). */
struct memdbg_error *je_get(struct memdbg_target *t, struct je_heap **ret);
/* Locate only: no walk. */
struct memdbg_error *je_locate(struct memdbg_target *t, struct je_heap *h);

/* Walk the emap and the thread caches (je_get does it). */
struct memdbg_error *je_walk(struct memdbg_target *t, struct je_heap *h);

const char *je_state_name(unsigned state);
/* The extent containing addr, or NULL. */
const struct je_extent *je_extent_at(const struct je_heap *h, uint64_t addr);
/* The thread-cache entry for ptr, or NULL. */
const struct je_cached *je_cached_at(const struct je_heap *h, uint64_t ptr);
/* Slab region i: free in its bitmap (false: allocated or in a thread cache). */
struct memdbg_error *je_region_free(struct memdbg_target *t, const struct je_heap *h, const struct je_extent *e,
				    uint32_t i, bool *ret);
/* The whole free bitmap of a slab (nregs bits, set = free). */
struct memdbg_error *je_slab_bitmap(struct memdbg_target *t, const struct je_heap *h, const struct je_extent *e,
				    uint64_t *bits, size_t nwords);

struct alloc_block;
/* Resolve addr to its extent and block (region, large block or free run). */
struct memdbg_error *je_block_at(struct memdbg_target *t, struct je_heap *h, uint64_t addr, struct alloc_block *b,
				 const struct je_extent **ext, uint32_t *region);

#endif /* MEMDBG_JE_H */
