/*
 * je_layout.c - print the jemalloc struct offsets and constants memdbg needs,
 * as C initializers.  Compiled inside a configured jemalloc source tree (see
 * je-table.sh), so every figure is the compiler's, for exactly that build.
 */
#include "jemalloc/internal/jemalloc_preamble.h"
#include "jemalloc/internal/jemalloc_internal_includes.h"

#include <stdio.h>

#define OFF(type, member) printf("\t.%s = %zu,\n", #member, offsetof(type, member))
#define NAMED(name, value) printf("\t.%s = %zu,\n", name, (size_t)(value))

int main(void)
{
	NAMED("arena_nthreads", offsetof(arena_t, nthreads));
	NAMED("arena_descriptor_ql", offsetof(arena_t, cache_bin_array_descriptor_ql));
	NAMED("arena_lstats", offsetof(arena_t, stats.lstats));
	NAMED("arena_nactive", offsetof(arena_t, pa_shard.nactive));
	NAMED("arena_npages_dirty", offsetof(arena_t, pa_shard.pac.ecache_dirty.eset.npages));
	NAMED("arena_npages_muzzy", offsetof(arena_t, pa_shard.pac.ecache_muzzy.eset.npages));
	NAMED("arena_npages_retained", offsetof(arena_t, pa_shard.pac.ecache_retained.eset.npages));
	NAMED("arena_ind", offsetof(arena_t, ind));
	NAMED("arena_base", offsetof(arena_t, base));
	NAMED("arena_internal", offsetof(arena_t, stats.internal));
	NAMED("arena_pac_stats", offsetof(arena_t, pa_shard.pac.stats));
	NAMED("pac_stats_mapped", offsetof(pac_stats_t, pac_mapped));
	NAMED("base_allocated", offsetof(base_t, allocated));
	NAMED("base_resident", offsetof(base_t, resident));
	NAMED("base_mapped", offsetof(base_t, mapped));
	NAMED("arena_bins", offsetof(arena_t, bins));
	NAMED("lstats_size", sizeof(arena_stats_large_t));
	NAMED("lstats_nmalloc", offsetof(arena_stats_large_t, nmalloc));
	NAMED("lstats_ndalloc", offsetof(arena_stats_large_t, ndalloc));
	NAMED("bin_size", sizeof(bin_t));
	NAMED("bin_nmalloc", offsetof(bin_t, stats.nmalloc));
	NAMED("bin_ndalloc", offsetof(bin_t, stats.ndalloc));
	NAMED("bin_curregs", offsetof(bin_t, stats.curregs));
	NAMED("bin_nslabs", offsetof(bin_t, stats.nslabs));
	NAMED("bin_curslabs", offsetof(bin_t, stats.curslabs));
	NAMED("bin_nonfull_slabs", offsetof(bin_t, stats.nonfull_slabs));
	NAMED("bin_slabcur", offsetof(bin_t, slabcur));
	NAMED("bin_info_size", sizeof(bin_info_t));
	NAMED("bin_info_reg_size", offsetof(bin_info_t, reg_size));
	NAMED("bin_info_slab_size", offsetof(bin_info_t, slab_size));
	NAMED("bin_info_nregs", offsetof(bin_info_t, nregs));
	NAMED("bin_info_n_shards", offsetof(bin_info_t, n_shards));
	NAMED("edata_size", sizeof(edata_t));
	NAMED("edata_bits", offsetof(edata_t, e_bits));
	NAMED("edata_addr", offsetof(edata_t, e_addr));
	NAMED("edata_size_esn", offsetof(edata_t, e_size_esn));
	NAMED("edata_bitmap", offsetof(edata_t, e_slab_data.bitmap));
	NAMED("edata_arena_shift", EDATA_BITS_ARENA_SHIFT);
	NAMED("edata_arena_width", EDATA_BITS_ARENA_WIDTH);
	NAMED("edata_slab_shift", EDATA_BITS_SLAB_SHIFT);
	NAMED("edata_state_shift", EDATA_BITS_STATE_SHIFT);
	NAMED("edata_state_width", EDATA_BITS_STATE_WIDTH);
	NAMED("edata_szind_shift", EDATA_BITS_SZIND_SHIFT);
	NAMED("edata_szind_width", EDATA_BITS_SZIND_WIDTH);
	NAMED("edata_nfree_shift", EDATA_BITS_NFREE_SHIFT);
	NAMED("edata_nfree_width", EDATA_BITS_NFREE_WIDTH);
	NAMED("edata_binshard_shift", EDATA_BITS_BINSHARD_SHIFT);
	NAMED("edata_binshard_width", EDATA_BITS_BINSHARD_WIDTH);
	NAMED("descriptor_bins", offsetof(cache_bin_array_descriptor_t, bins));
	NAMED("cache_bin_size", sizeof(cache_bin_t));
	NAMED("cache_bin_stack_head", offsetof(cache_bin_t, stack_head));
	NAMED("cache_bin_low_bits_empty", offsetof(cache_bin_t, low_bits_empty));
	NAMED("rtree_root", offsetof(rtree_t, root));
	NAMED("rtree_height", RTREE_HEIGHT);
	printf("\t.rtree_bits = {");
	for (int i = 0; i < 3; i++)
		printf(" %u,", i < RTREE_HEIGHT ? rtree_levels[i].bits : 0);
	printf(" },\n");
	NAMED("rtree_leaf_elm_size", sizeof(rtree_leaf_elm_t));
	NAMED("lg_page", LG_PAGE);
	NAMED("nbins", SC_NBINS);
	NAMED("nsizes", SC_NSIZES);
	NAMED("arenas_max", MALLOCX_ARENA_LIMIT);
	return 0;
}
