/*
 * locate.c - finding jemalloc's hidden state in a target, in order: the
 * executable's symbols (static links), the library's own .symtab or its
 * debug file, the table of known stripped builds keyed by build-id, then
 * the library's mallctl name tree (ctl_search.c).  Whatever is found is
 * checked against the invariants of the allocator before anything is
 * decoded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/alloc.h"
#include "jemalloc/je.h"
#include "jemalloc/je_table.h"

static const char *const sym_names[JE_NSYMS] = {
	[JE_SYM_ARENAS] = "je_arenas",
	[JE_SYM_NARENAS_TOTAL] = "narenas_total",
	[JE_SYM_NARENAS_AUTO] = "je_narenas_auto",
	[JE_SYM_ARENA_EMAP_GLOBAL] = "je_arena_emap_global",
	[JE_SYM_SZ_INDEX2SIZE_TAB] = "je_sz_index2size_tab",
	[JE_SYM_BIN_INFOS] = "je_bin_infos",
	[JE_SYM_ARENA_BIN_OFFSETS] = "je_arena_bin_offsets",
	[JE_SYM_NHBINS] = "je_nhbins",
	[JE_SYM_OPT_TCACHE] = "je_opt_tcache",
	[JE_SYM_OPT_TCACHE_MAX] = "je_opt_tcache_max",
	[JE_SYM_OPT_NARENAS] = "je_opt_narenas",
	[JE_SYM_MANUAL_ARENA_BASE] = "je_manual_arena_base",
	[JE_SYM_OPT_PROF] = "je_opt_prof",
	[JE_SYM_HUGE_ARENA_IND] = "huge_arena_ind",
};

/* Globals a build may lack (0 when absent). */
static bool sym_optional(enum je_sym s)
{
	return s == JE_SYM_OPT_PROF || s == JE_SYM_HUGE_ARENA_IND || s == JE_SYM_MANUAL_ARENA_BASE;
}

static const struct je_layout *layout_for(const char *version)
{
	return strncmp(version, "5.3.0-", 6) == 0 ? &je_layout_5_3_0 : NULL;
}

/* The layout's struct offsets and sizes, by their C names (member NULL: the type's size). */
struct dwarf_field {
	size_t at;  /* offset of the field in struct je_layout */
	const char *type, *member;
};

#define F(field, type, member) { offsetof(struct je_layout, field), type, member }
static const struct dwarf_field dwarf_fields[] = {
	F(arena_nthreads, "arena_t", "nthreads"),
	F(arena_descriptor_ql, "arena_t", "cache_bin_array_descriptor_ql"),
	F(arena_lstats, "arena_t", "stats.lstats"),
	F(arena_nactive, "arena_t", "pa_shard.nactive"),
	F(arena_npages_dirty, "arena_t", "pa_shard.pac.ecache_dirty.eset.npages"),
	F(arena_npages_muzzy, "arena_t", "pa_shard.pac.ecache_muzzy.eset.npages"),
	F(arena_npages_retained, "arena_t", "pa_shard.pac.ecache_retained.eset.npages"),
	F(arena_ind, "arena_t", "ind"),
	F(arena_base, "arena_t", "base"),
	F(arena_internal, "arena_t", "stats.internal"),
	F(arena_pac_stats, "arena_t", "pa_shard.pac.stats"),
	F(pac_stats_mapped, "pac_stats_t", "pac_mapped"),
	F(base_allocated, "base_t", "allocated"),
	F(base_resident, "base_t", "resident"),
	F(base_mapped, "base_t", "mapped"),
	F(arena_bins, "arena_t", "bins"),
	F(lstats_size, "arena_stats_large_t", NULL),
	F(lstats_nmalloc, "arena_stats_large_t", "nmalloc"),
	F(lstats_ndalloc, "arena_stats_large_t", "ndalloc"),
	F(bin_size, "bin_t", NULL),
	F(bin_nmalloc, "bin_t", "stats.nmalloc"),
	F(bin_ndalloc, "bin_t", "stats.ndalloc"),
	F(bin_curregs, "bin_t", "stats.curregs"),
	F(bin_nslabs, "bin_t", "stats.nslabs"),
	F(bin_curslabs, "bin_t", "stats.curslabs"),
	F(bin_nonfull_slabs, "bin_t", "stats.nonfull_slabs"),
	F(bin_slabcur, "bin_t", "slabcur"),
	F(bin_info_size, "bin_info_t", NULL),
	F(bin_info_reg_size, "bin_info_t", "reg_size"),
	F(bin_info_slab_size, "bin_info_t", "slab_size"),
	F(bin_info_nregs, "bin_info_t", "nregs"),
	F(bin_info_n_shards, "bin_info_t", "n_shards"),
	F(edata_size, "edata_t", NULL),
	F(edata_bits, "edata_t", "e_bits"),
	F(edata_addr, "edata_t", "e_addr"),
	F(edata_size_esn, "edata_t", "e_size_esn"),
	F(edata_bitmap, "edata_t", "e_slab_data.bitmap"),
	F(descriptor_bins, "cache_bin_array_descriptor_t", "bins"),
	F(cache_bin_size, "cache_bin_t", NULL),
	F(cache_bin_stack_head, "cache_bin_t", "stack_head"),
	F(cache_bin_low_bits_empty, "cache_bin_t", "low_bits_empty"),
	F(rtree_root, "rtree_t", "root"),
};
#undef F

/*
 * The emap radix tree's shape from DWARF: its levels from the static const
 * rtree_levels[] ({bits, cumbits} each), the leaf element's size, and the
 * root array's size, which must agree.  configure sets LG_VADDR from the
 * building machine's CPU (48 or 57 bits), so two builds of one source differ.
 */
static struct memdbg_error *rtree_geometry(struct memdbg_dwarf *d, struct je_layout *l)
{
	uint32_t levels[2 * MEMDBG_ARRAY_SIZE(l->rtree_bits)];
	uint64_t root_off, root_size, elm_size;
	size_t n = memdbg_dwarf_const_block(d, "rtree_levels", levels, sizeof(levels)) / 8;
	if (!n || !memdbg_dwarf_member(d, "rtree_t", "root", &root_off, &root_size) ||
	    !memdbg_dwarf_type_size(d, "rtree_leaf_elm_t", &elm_size))
		return NULL;  /* the table's shape, checked when the root is read */
	l->rtree_height = n;
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(l->rtree_bits); i++)
		l->rtree_bits[i] = i < n ? levels[2 * i] : 0;
	l->rtree_leaf_elm_size = elm_size;
	uint64_t root_elm = n == 1 ? elm_size : 8;
	if (l->rtree_bits[0] > 24 || (elm_size != 8 && elm_size != 16) || root_size != root_elm << l->rtree_bits[0])
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
					   "jemalloc's DWARF describes an emap radix tree memdbg cannot read: %zu levels, "
					   "%" PRIu64 " root bits in a %" PRIu64 "-byte root, %" PRIu64 "-byte leaves",
					   n, l->rtree_bits[0], root_size, elm_size);
	return NULL;
}

/*
 * The version's table, with every struct offset and size taken from DWARF
 * when d describes jemalloc's types (a static build with -g, a debug file):
 * a build configured differently (--enable-debug adds fields) then still
 * decodes.  The constants (bit fields of e_bits, page size, size classes)
 * stay the table's.  All fields or none: a partial match keeps the table.
 */
static struct memdbg_error *choose_layout(struct je_heap *h, struct memdbg_dwarf *d)
{
	const struct je_layout *table = layout_for(h->version);
	if (!table)
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
					   "%s has jemalloc %s (build-id %s): memdbg knows the layout of 5.3.0 only",
					   h->where, h->version, h->build_id[0] ? h->build_id : "none");
	h->layout = *table;
	h->l = &h->layout;
	h->layout_source = "table";
	struct je_layout l = *table;
	for (size_t i = 0; d && i < MEMDBG_ARRAY_SIZE(dwarf_fields); i++) {
		const struct dwarf_field *f = &dwarf_fields[i];
		uint64_t v;
		if (!(f->member ? memdbg_dwarf_member(d, f->type, f->member, &v, NULL)
				: memdbg_dwarf_type_size(d, f->type, &v)))
			return NULL;
		memcpy((char *)&l + f->at, &v, sizeof(v));
	}
	if (d) {
		struct memdbg_error *err = rtree_geometry(d, &l);
		if (err)
			return err;
		h->layout = l;
		h->layout_source = "DWARF";
	}
	return NULL;
}

/* choose_layout with the DWARF of a library file (its debug file first), when it has any. */
static struct memdbg_error *choose_lib_layout(struct je_heap *h, const struct alloc_lib *lib)
{
	struct Dwarf *dw = lib->debug ? memdbg_elf_dwarf(lib->debug) : NULL;
	if (!dw)
		dw = memdbg_elf_dwarf(lib->elf);
	struct memdbg_dwarf *d = NULL;
	if (dw)
		memdbg_error_destroy(memdbg_dwarf_create(dw, &d));  /* out of memory: the table */
	struct memdbg_error *err = choose_layout(h, d);
	memdbg_dwarf_destroy(d);
	return err;
}

static void exe_identity(struct memdbg_target *t, struct je_heap *h)
{
	snprintf(h->where, sizeof(h->where), "%s (static)", t->exe_path);
	size_t len;
	const uint8_t *id = memdbg_elf_build_id(t->exe, &len);
	if (id && len <= 40)
		alloc_hex(h->build_id, id, len);
}

static struct memdbg_error *symbols_from_exe(struct memdbg_target *t, struct je_heap *h)
{
	for (int s = 0; s < JE_NSYMS; s++) {
		if (!alloc_exe_symbol(t, sym_names[s], &h->sym[s]) && !sym_optional(s))
			return memdbg_error_format(MEMDBG_ERROR_LOOKUP,
						   "the executable links jemalloc statically but has no symbol %s",
						   sym_names[s]);
	}
	exe_identity(t, h);
	h->source = memdbg_elf_has_symtab(t->exe) ? "symbol table" : "DWARF";
	if (!alloc_find_version(t->exe_path, h->version, sizeof(h->version)))
		snprintf(h->version, sizeof(h->version), "unknown");
	return choose_layout(h, t->dwarf);
}

static const struct je_build *known_build(const char *build_id)
{
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(je_builds); i++)
		if (strcmp(je_builds[i].build_id, build_id) == 0)
			return &je_builds[i];
	return NULL;
}

static struct memdbg_error *unknown_build(const struct alloc_lib *lib, const char *version, const char *missing)
{
	return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
				   "%s (jemalloc %s, build-id %s) is not a known build, has no symbols and its mallctl "
				   "tree gave no %s: install its debug file as /usr/lib/debug/.build-id/%.2s/%s.debug, "
				   "or add it to the table with setup/allocators/je-table.sh",
				   lib->path, version, lib->build_id[0] ? lib->build_id : "none", missing,
				   lib->build_id[0] ? lib->build_id : "xx", lib->build_id[0] ? lib->build_id + 2 : "yy");
}

/* The library's globals: its symbols, the table's row for its build-id, or its name tree. */
static struct memdbg_error *lib_globals(struct memdbg_target *t, const struct alloc_lib *lib, struct je_heap *h)
{
	uint64_t addr;
	const struct je_build *b;
	const char *missing;
	struct memdbg_error *err;
	if (alloc_lib_symbol(lib, sym_names[JE_SYM_ARENAS], &addr)) {
		h->source = lib->debug ? "debug file symbols" : "symbol table";
		for (int s = 0; s < JE_NSYMS; s++)
			if (!alloc_lib_symbol(lib, sym_names[s], &h->sym[s]) && !sym_optional(s))
				return memdbg_error_format(MEMDBG_ERROR_LOOKUP, "%s has no symbol %s", lib->path,
							   sym_names[s]);
		return NULL;
	}
	if ((b = known_build(lib->build_id))) {
		h->source = "build-id table";
		for (int s = 0; s < JE_NSYMS; s++)
			h->sym[s] = b->rva[s] ? lib->base + b->rva[s] : 0;
		return NULL;
	}
	h->source = "code search (mallctl tree)";
	if ((err = je_ctl_search(t, lib->elf, lib->base, h, &missing)))
		return err;
	return missing ? unknown_build(lib, h->version, missing) : NULL;
}

static struct memdbg_error *symbols_from_lib(struct memdbg_target *t, struct je_heap *h, bool *found)
{
	struct alloc_lib lib;
	struct memdbg_error *err = alloc_lib_open(t, "jemalloc", &lib, found);
	if (err || !*found)
		return err;
	snprintf(h->where, sizeof(h->where), "%s", lib.path);
	snprintf(h->build_id, sizeof(h->build_id), "%s", lib.build_id);
	h->base = lib.base;
	if (!alloc_find_version(lib.path, h->version, sizeof(h->version)))
		snprintf(h->version, sizeof(h->version), "unknown");
	if (!(err = choose_lib_layout(h, &lib)))
		err = lib_globals(t, &lib, h);
	alloc_lib_close(&lib);
	return err;
}

/* A u32 global; one without an address (absent, or set by the search) keeps its value. */
static struct memdbg_error *read_u32_at(struct memdbg_target *t, uint64_t addr, uint32_t *v)
{
	return addr ? memdbg_read_u32(t, addr, v) : NULL;
}

static struct memdbg_error *read_bool_at(struct memdbg_target *t, uint64_t addr, bool *v)
{
	uint8_t b = 0;
	struct memdbg_error *err = addr ? memdbg_read(t, addr, &b, 1) : NULL;
	*v = b != 0;
	return err;
}

static struct memdbg_error *read_bin_infos(struct memdbg_target *t, struct je_heap *h)
{
	const struct je_layout *l = h->l;
	uint8_t buf[128];
	if (l->bin_info_size > sizeof(buf))
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "bin_info_t of %" PRIu64 " bytes", l->bin_info_size);
	for (uint32_t i = 0; i < h->nbins; i++) {
		struct memdbg_error *err = memdbg_read(t, h->sym[JE_SYM_BIN_INFOS] + i * l->bin_info_size, buf,
						       l->bin_info_size);
		if (err)
			return memdbg_error_prefix(err, "reading je_bin_infos");
		struct je_bin_info *b = &h->bin[i];
		memcpy(&b->reg_size, buf + l->bin_info_reg_size, 8);
		memcpy(&b->slab_size, buf + l->bin_info_slab_size, 8);
		memcpy(&b->nregs, buf + l->bin_info_nregs, 4);
		memcpy(&b->n_shards, buf + l->bin_info_n_shards, 4);
		if (b->reg_size != h->index2size[i] || b->nregs == 0 || b->nregs > 4096 || b->n_shards == 0 ||
		    b->n_shards > 64 || b->slab_size != b->reg_size * b->nregs)
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
						   "jemalloc bin %u is inconsistent (size %" PRIu64 ", %u regions, %u "
						   "shards): wrong build table entry for %s?",
						   i, b->reg_size, b->nregs, b->n_shards, h->where);
	}
	return NULL;
}

/* The allocator's globals, each checked against what jemalloc guarantees. */
static struct memdbg_error *read_globals(struct memdbg_target *t, struct je_heap *h)
{
	const struct je_layout *l = h->l;
	struct memdbg_error *err;
	if ((err = read_u32_at(t, h->sym[JE_SYM_NARENAS_TOTAL], &h->narenas_total)) ||
	    (err = read_u32_at(t, h->sym[JE_SYM_NARENAS_AUTO], &h->narenas_auto)) ||
	    (err = memdbg_read_u32(t, h->sym[JE_SYM_NHBINS], &h->nhbins)) ||
	    (err = memdbg_read_u32(t, h->sym[JE_SYM_OPT_NARENAS], &h->opt_narenas)) ||
	    (err = read_u32_at(t, h->sym[JE_SYM_MANUAL_ARENA_BASE], &h->manual_arena_base)) ||
	    (err = read_u32_at(t, h->sym[JE_SYM_HUGE_ARENA_IND], &h->huge_arena_ind)) ||
	    (err = read_bool_at(t, h->sym[JE_SYM_OPT_TCACHE], &h->opt_tcache)) ||
	    (err = read_bool_at(t, h->sym[JE_SYM_OPT_PROF], &h->opt_prof)) ||
	    (err = memdbg_read_u64(t, h->sym[JE_SYM_OPT_TCACHE_MAX], &h->tcache_max)))
		return memdbg_error_prefix(err, "reading jemalloc's globals");
	if (h->narenas_total == 0)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "jemalloc in %s is not initialized (no arenas)",
					   h->where);
	h->nbins = (uint32_t)l->nbins;
	if (h->narenas_total > l->arenas_max || h->narenas_auto == 0 || h->narenas_auto > h->narenas_total ||
	    h->nhbins < h->nbins || h->nhbins > l->nsizes || l->nsizes > JE_MAX_SIZES || l->nbins > JE_MAX_BINS)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					   "jemalloc globals in %s are inconsistent (%u arenas, %u automatic, %u tcache "
					   "bins): wrong build table entry?",
					   h->where, h->narenas_total, h->narenas_auto, h->nhbins);
	h->page = 1ull << l->lg_page;
	if ((err = memdbg_read(t, h->sym[JE_SYM_SZ_INDEX2SIZE_TAB], h->index2size, l->nsizes * 8)) ||
	    (err = memdbg_read(t, h->sym[JE_SYM_ARENA_BIN_OFFSETS], h->bin_offsets, l->nbins * 4)))
		return memdbg_error_prefix(err, "reading jemalloc's size classes");
	for (uint64_t i = 1; i < l->nsizes; i++)
		if (h->index2size[i] <= h->index2size[i - 1])
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
						   "jemalloc size classes in %s are not increasing at %" PRIu64, h->where, i);
	if (h->index2size[0] != 8)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "jemalloc's smallest size class in %s is %" PRIu64
					   ", not 8: wrong build table entry?", h->where, h->index2size[0]);
	if ((err = read_bin_infos(t, h)))
		return err;
	h->arenas = calloc(h->narenas_total, sizeof(*h->arenas));
	if (!h->arenas)
		return memdbg_enomem;
	if ((err = memdbg_read(t, h->sym[JE_SYM_ARENAS], h->arenas, h->narenas_total * 8ull)))
		return memdbg_error_prefix(err, "reading je_arenas");
	for (uint32_t i = 0; i < h->narenas_total; i++) {
		uint32_t ind;
		if (!h->arenas[i])
			continue;
		if ((err = memdbg_read_u32(t, h->arenas[i] + l->arena_ind, &ind)))
			return memdbg_error_prefix(err, "reading arena %u", i);
		if (ind != i)
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
						   "jemalloc arena %u at 0x%" PRIx64 " says it is arena %u: wrong layout "
						   "for %s?", i, h->arenas[i], ind, h->where);
	}
	if (!h->arenas[0])
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "jemalloc arena 0 is missing in %s", h->where);
	return NULL;
}

/*
 * A stripped executable with the version string of a jemalloc memdbg knows:
 * its mallctl tree.  Without a tree the string was something else's (*found
 * false: no jemalloc).
 */
static struct memdbg_error *search_stripped_exe(struct memdbg_target *t, struct je_heap *h, bool *found)
{
	const char *missing;
	struct memdbg_error *err;
	if (!(*found = alloc_find_version(t->exe_path, h->version, sizeof(h->version)) && layout_for(h->version)))
		return NULL;
	exe_identity(t, h);
	if ((err = choose_layout(h, t->dwarf)) || (err = je_ctl_search(t, t->exe, t->bias, h, &missing)))
		return err;
	h->source = "code search (mallctl tree)";
	if (missing == je_ctl_no_root)
		*found = false;
	else if (missing)
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
					   "%s links jemalloc %s statically without symbols, and its mallctl tree gave no "
					   "%s: run memdbg on the unstripped executable (--exe)",
					   t->exe_path, h->version, missing);
	return NULL;
}

struct memdbg_error *je_locate(struct memdbg_target *t, struct je_heap *h)
{
	struct memdbg_error *err;
	uint64_t addr;
	if (alloc_exe_symbol(t, sym_names[JE_SYM_ARENAS], &addr)) {
		err = symbols_from_exe(t, h);
	} else {
		bool found;
		err = symbols_from_lib(t, h, &found);
		if (!err && !found)
			err = search_stripped_exe(t, h, &found);
		if (!err && !found)
			return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
						   "no jemalloc in this target: no libjemalloc is mapped and the "
						   "executable has no je_arenas symbol");
	}
	if (err)
		return err;
	return read_globals(t, h);
}
