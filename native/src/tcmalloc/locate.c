/*
 * locate.c - finding TCMalloc's statics (tcmalloc::Static::sizemap_,
 * central_cache_, pageheap_, ThreadCache::thread_heaps_) in a target: the
 * executable's symbols (static links), the library's symbols or debug file,
 * the table of known stripped builds keyed by build-id, then a search of the
 * library's own exported code.  The size map and central free lists are
 * checked against each other before use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/alloc.h"
#include "tcmalloc/tc.h"
#include "tcmalloc/tc_table.h"

static const char *const sym_names[TC_NSYMS] = {
	[TC_SYM_SIZEMAP] = "_ZN8tcmalloc6Static8sizemap_E",
	[TC_SYM_CENTRAL_CACHE] = "_ZN8tcmalloc6Static14central_cache_E",
	[TC_SYM_PAGEHEAP] = "_ZN8tcmalloc6Static9pageheap_E",
	[TC_SYM_THREAD_HEAPS] = "_ZN8tcmalloc11ThreadCache13thread_heaps_E",
	[TC_SYM_THREAD_HEAP_COUNT] = "_ZN8tcmalloc11ThreadCache18thread_heap_count_E",
};

static const struct tc_layout *layout_for(const char *version)
{
	return strcmp(version, "gperftools 2.10") == 0 ? &tc_layout_2_10 : NULL;
}

static struct memdbg_error *symbols_from_exe(struct memdbg_target *t, struct tc_heap *h)
{
	for (int s = 0; s < TC_NSYMS; s++)
		if (!alloc_exe_symbol(t, sym_names[s], &h->sym[s]))
			return memdbg_error_format(MEMDBG_ERROR_LOOKUP,
						   "the executable links TCMalloc statically but has no symbol %s",
						   sym_names[s]);
	snprintf(h->where, sizeof(h->where), "%s (static)", t->exe_path);
	h->source = "symbol table";
	size_t len;
	const uint8_t *id = memdbg_elf_build_id(t->exe, &len);
	if (id && len <= 40)
		alloc_hex(h->build_id, id, len);
	if (!alloc_find_string(t->exe_path, "gperftools 2.", h->version, sizeof(h->version)))
		snprintf(h->version, sizeof(h->version), "unknown");
	return NULL;
}

static const struct tc_build *known_build(const char *build_id)
{
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(tc_builds); i++)
		if (strcmp(tc_builds[i].build_id, build_id) == 0)
			return &tc_builds[i];
	return NULL;
}

#define INIT_STATIC_VARS "_ZN8tcmalloc6Static14InitStaticVarsEv"
#define INIT_CODE_BYTES 0x200

/*
 * The last resort for a build no table knows: the exported
 * tcmalloc::Static::InitStaticVars() does `lea SIZEMAP(%rip),%rdi` (for
 * SizeMap::Init), `lea CENTRAL(%rip),%rbp` (its CentralFreeList::Init loop),
 * then `lea PAGEHEAP(%rip),%rdi` (the PageHeap constructor).  Its first
 * bytes are searched for those RIP-relative leas; what they give is checked
 * like any table row (every central free list must name its own class).
 */
static struct memdbg_error *symbols_from_code(struct memdbg_target *t, const struct alloc_lib *lib, struct tc_heap *h,
					      bool *found)
{
	uint64_t fn, heaps, count;
	uint8_t code[INIT_CODE_BYTES];
	*found = false;
	if (!alloc_dynsym(lib->path, INIT_STATIC_VARS, &fn) ||
	    !alloc_dynsym(lib->path, sym_names[TC_SYM_THREAD_HEAPS], &heaps) ||
	    !alloc_dynsym(lib->path, sym_names[TC_SYM_THREAD_HEAP_COUNT], &count) ||
	    !alloc_read(t, lib->base + fn, code, sizeof(code)))
		return NULL;
	uint64_t rdi[2] = { 0 }, rbp = 0;
	unsigned nrdi = 0;
	for (size_t i = 0; i + 7 <= sizeof(code) && (nrdi < 2 || !rbp); i++) {
		/* 48 8d /r with mod 00, r/m 101: lea disp32(%rip); reg 7 is %rdi, 5 is %rbp. */
		if (code[i] != 0x48 || code[i + 1] != 0x8d || (code[i + 2] & 0xc7) != 0x05)
			continue;
		int32_t disp;
		memcpy(&disp, code + i + 3, 4);
		uint64_t target = lib->base + fn + i + 7 + (uint64_t)(int64_t)disp;
		unsigned reg = (code[i + 2] >> 3) & 7;
		if (reg == 7 && nrdi < 2)
			rdi[nrdi++] = target;
		else if (reg == 5 && !rbp)
			rbp = target;
	}
	if (nrdi < 2 || !rbp)
		return NULL;
	h->sym[TC_SYM_SIZEMAP] = rdi[0];
	h->sym[TC_SYM_CENTRAL_CACHE] = rbp;
	h->sym[TC_SYM_PAGEHEAP] = rdi[1];
	h->sym[TC_SYM_THREAD_HEAPS] = lib->base + heaps;
	h->sym[TC_SYM_THREAD_HEAP_COUNT] = lib->base + count;
	h->source = "code search (InitStaticVars)";
	*found = true;
	return NULL;
}

static struct memdbg_error *symbols_from_lib(struct memdbg_target *t, struct tc_heap *h, bool *found)
{
	struct alloc_lib lib;
	struct memdbg_error *err = alloc_lib_open(t, "tcmalloc", &lib, found);
	if (err || !*found)
		return err;
	snprintf(h->where, sizeof(h->where), "%s", lib.path);
	snprintf(h->build_id, sizeof(h->build_id), "%s", lib.build_id);
	h->base = lib.base;
	if (!alloc_find_string(lib.path, "gperftools 2.", h->version, sizeof(h->version)))
		snprintf(h->version, sizeof(h->version), "unknown");
	uint64_t addr;
	const struct tc_build *b;
	bool by_code = false;
	if (alloc_lib_symbol(&lib, sym_names[TC_SYM_SIZEMAP], &addr)) {
		h->source = lib.debug ? "debug file symbols" : "symbol table";
		for (int s = 0; s < TC_NSYMS && !err; s++)
			if (!alloc_lib_symbol(&lib, sym_names[s], &h->sym[s]))
				err = memdbg_error_format(MEMDBG_ERROR_LOOKUP, "%s has no symbol %s", lib.path,
							  sym_names[s]);
	} else if ((b = known_build(lib.build_id))) {
		h->source = "build-id table";
		for (int s = 0; s < TC_NSYMS; s++)
			h->sym[s] = lib.base + b->rva[s];
	} else if (!(err = symbols_from_code(t, &lib, h, &by_code)) && by_code) {
		/* found in the library's own code */
	} else if (!err) {
		err = memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
					  "%s (%s, build-id %s) is not a known build, has no symbols and its "
					  "InitStaticVars code is not the expected one: install its "
					  "debug file as /usr/lib/debug/.build-id/%.2s/%s.debug, or add it to the table "
					  "with setup/allocators/tc-table.sh",
					  lib.path, h->version, lib.build_id[0] ? lib.build_id : "none",
					  lib.build_id[0] ? lib.build_id : "xx", lib.build_id[0] ? lib.build_id + 2 : "yy");
	}
	alloc_lib_close(&lib);
	return err;
}

/* SizeMap: sizes increasing from 8, pages per span and batch sizes sane. */
static struct memdbg_error *read_sizemap(struct memdbg_target *t, struct tc_heap *h)
{
	const struct tc_layout *l = h->l;
	uint64_t sm = h->sym[TC_SYM_SIZEMAP], n;
	uint32_t size[TC_MAX_CLASSES];
	int32_t batch[TC_MAX_CLASSES];
	uint64_t pages[TC_MAX_CLASSES];
	struct memdbg_error *err = memdbg_read_u64(t, sm + l->sizemap_num_size_classes, &n);
	if (err)
		return memdbg_error_prefix(err, "reading the size map");
	if (n < 2 || n > l->class_sizes_max || n > TC_MAX_CLASSES)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					   "TCMalloc in %s has %" PRIu64 " size classes: not initialized, or a wrong "
					   "build table entry", h->where, n);
	if ((err = memdbg_read(t, sm + l->sizemap_class_to_size, size, n * 4)) ||
	    (err = memdbg_read(t, sm + l->sizemap_class_to_pages, pages, n * 8)) ||
	    (err = memdbg_read(t, sm + l->sizemap_num_objects_to_move, batch, n * 4)))
		return memdbg_error_prefix(err, "reading the size map");
	h->nclasses = (uint32_t)n;
	for (uint64_t c = 1; c < n; c++) {
		if (size[c] <= size[c - 1] || size[c] % 8 || !pages[c] || pages[c] > l->max_pages || batch[c] <= 0 ||
		    batch[c] > 32768)
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
						   "TCMalloc size class %" PRIu64 " in %s is inconsistent (%u bytes, %" PRIu64
						   " pages): wrong build table entry?", c, h->where, size[c], pages[c]);
		struct tc_class *k = &h->cls[c];
		k->size = size[c];
		k->pages = pages[c];
		k->objects_per_span = (pages[c] << l->page_shift) / size[c];
		k->num_objects_to_move = (uint64_t)batch[c];
	}
	if (size[1] != 8)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "TCMalloc's smallest size class in %s is %u, not 8",
					   h->where, size[1]);
	return NULL;
}

/* Each central free list knows its own class: a cheap proof the address is right. */
static struct memdbg_error *read_central(struct memdbg_target *t, struct tc_heap *h)
{
	const struct tc_layout *l = h->l;
	for (uint32_t c = 1; c < h->nclasses; c++) {
		uint64_t cfl = h->sym[TC_SYM_CENTRAL_CACHE] + c * l->central_size, size_class, counter, spans;
		int32_t used;
		struct memdbg_error *err;
		if ((err = memdbg_read_u64(t, cfl + l->central_size_class, &size_class)) ||
		    (err = memdbg_read_u64(t, cfl + l->central_counter, &counter)) ||
		    (err = memdbg_read_u64(t, cfl + l->central_num_spans, &spans)) ||
		    (err = memdbg_read(t, cfl + l->central_used_slots, &used, 4)))
			return memdbg_error_prefix(err, "central free list %u", c);
		if (size_class != c || used < 0 || used > 64)
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
						   "TCMalloc central free list %u in %s says class %" PRIu64
						   ": wrong build table entry?", c, h->where, size_class);
		struct tc_class *k = &h->cls[c];
		k->central_counter = counter;
		k->central_spans = spans;
		k->transfer_objects = (uint64_t)used * k->num_objects_to_move;
		k->overhead = spans * ((k->pages << l->page_shift) % k->size);
	}
	return NULL;
}

static struct memdbg_error *read_pageheap_stats(struct memdbg_target *t, struct tc_heap *h)
{
	const struct tc_layout *l = h->l;
	uint64_t s = h->sym[TC_SYM_PAGEHEAP] + l->pageheap_stats;
	struct memdbg_error *err;
	if ((err = memdbg_read_u64(t, s + l->stats_system_bytes, &h->system_bytes)) ||
	    (err = memdbg_read_u64(t, s + l->stats_free_bytes, &h->free_bytes)) ||
	    (err = memdbg_read_u64(t, s + l->stats_unmapped_bytes, &h->unmapped_bytes)) ||
	    (err = memdbg_read_u64(t, s + l->stats_committed_bytes, &h->committed_bytes)))
		return memdbg_error_prefix(err, "reading the page heap's stats");
	if (h->free_bytes + h->unmapped_bytes > h->system_bytes)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "TCMalloc page heap stats in %s are inconsistent",
					   h->where);
	return NULL;
}

struct memdbg_error *tc_locate(struct memdbg_target *t, struct tc_heap *h)
{
	struct memdbg_error *err;
	uint64_t addr;
	if (alloc_exe_symbol(t, sym_names[TC_SYM_SIZEMAP], &addr)) {
		err = symbols_from_exe(t, h);
	} else {
		bool found;
		err = symbols_from_lib(t, h, &found);
		if (!err && !found)
			return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
						   "no TCMalloc in this target: no libtcmalloc is mapped and the "
						   "executable has no tcmalloc::Static symbols");
	}
	if (err)
		return err;
	if (!(h->l = layout_for(h->version)))
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
					   "%s has %s (build-id %s): memdbg knows the layout of gperftools 2.10 only",
					   h->where, h->version, h->build_id[0] ? h->build_id : "none");
	h->page = 1ull << h->l->page_shift;
	if ((err = read_sizemap(t, h)) || (err = read_central(t, h)) || (err = read_pageheap_stats(t, h)))
		return err;
	return NULL;
}
