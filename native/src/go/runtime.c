/*
 * runtime.c - finding the Go runtime in a target: version, symbols, and the
 * layout of every runtime structure the decoders read, all from the binary
 * itself (DWARF members and DW_TAG_constants), never from version tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/graph.h"
#include "go/objects.h"
#include "go/stripped.h"
#include "go/types.h"

#define GO_MIN_MINOR 22
#define GO_MAX_MINOR 26

struct layout_member {
	const char *type, *path;
	size_t offset_at;  /* offsetof(struct go_layout, ...) */
	bool optional;
};

#define M(type, path, field) { type, path, offsetof(struct go_layout, field), false }
#define OPT(type, path, field) { type, path, offsetof(struct go_layout, field), true }

static const struct layout_member members[] = {
	M("runtime.mspan", "next", sp_next),
	M("runtime.mspan", "startAddr", sp_start),
	M("runtime.mspan", "npages", sp_npages),
	M("runtime.mspan", "allocBits", sp_alloc_bits),
	M("runtime.mspan", "gcmarkBits", sp_gcmark_bits),
	M("runtime.mspan", "sweepgen", sp_sweepgen),
	M("runtime.mspan", "allocCount", sp_alloc_count),
	M("runtime.mspan", "allocCountBeforeCache", sp_alloc_count_before_cache),
	M("runtime.mspan", "spanclass", sp_spanclass),
	M("runtime.mspan", "state", sp_state),
	M("runtime.mspan", "elemsize", sp_elemsize),
	M("runtime.mheap", "allspans", mh_allspans),
	M("runtime.mheap", "arenas", mh_arenas),
	M("runtime.mheap", "central", mh_central),
	M("runtime.mheap", "sweepgen", mh_sweepgen),
	M("runtime.mheap", "spanalloc.inuse", mh_spanalloc_inuse),
	M("runtime.mheap", "cachealloc.inuse", mh_cachealloc_inuse),
	M("runtime.mcentral", "partial", mc_partial),
	M("runtime.mcentral", "full", mc_full),
	M("runtime.spanSet", "spine", ss_spine),
	M("runtime.spanSet", "spineLen", ss_spine_len),
	M("runtime.spanSet", "index", ss_index),
	M("runtime.spanSetBlock", "spans", ssb_spans),
	M("runtime.heapArena", "spans", ha_spans),
	M("runtime.p", "id", p_id),
	M("runtime.p", "status", p_status),
	M("runtime.p", "mcache", p_mcache),
	M("runtime.mcache", "tiny", mc_tiny),
	M("runtime.mcache", "tinyoffset", mc_tinyoffset),
	M("runtime.mcache", "tinyAllocs", mc_tiny_allocs),
	M("runtime.mcache", "alloc", mc_alloc),
	M("runtime.g", "atomicstatus", g_atomicstatus),
	M("runtime.g", "goid", g_goid),
	M("runtime.schedt", "ngsys", sched_ngsys),
	M("runtime.mstats", "numgc", ms_numgc),
	M("runtime.mstats", "numforcedgc", ms_numforcedgc),
	M("runtime.mstats", "stacks_sys", ms_stacks_sys),
	M("runtime.mstats", "mspan_sys", ms_mspan_sys),
	M("runtime.mstats", "mcache_sys", ms_mcache_sys),
	M("runtime.mstats", "buckhash_sys", ms_buckhash_sys),
	M("runtime.mstats", "gcMiscSys", ms_gcmisc_sys),
	M("runtime.mstats", "other_sys", ms_other_sys),
	M("runtime.mstats", "heapStats.stats", ms_heapstats),
	M("runtime.heapStatsDelta", "inStacks", hsd_in_stacks),
	M("runtime.heapStatsDelta", "inWorkBufs", hsd_in_workbufs),
	OPT("runtime.heapStatsDelta", "inPtrScalarBits", hsd_in_ptrscalar),
	M("runtime.heapStatsDelta", "tinyAllocCount", hsd_tiny_alloc_count),
	M("runtime.heapStatsDelta", "largeAlloc", hsd_large_alloc),
	M("runtime.heapStatsDelta", "largeAllocCount", hsd_large_alloc_count),
	M("runtime.heapStatsDelta", "smallAllocCount", hsd_small_alloc_count),
	M("runtime.heapStatsDelta", "largeFree", hsd_large_free),
	M("runtime.heapStatsDelta", "largeFreeCount", hsd_large_free_count),
	M("runtime.heapStatsDelta", "smallFreeCount", hsd_small_free_count),
	M("runtime.gcControllerState", "heapInUse", gcc_heap_inuse),
	M("runtime.gcControllerState", "heapFree", gcc_heap_free),
	M("runtime.gcControllerState", "heapReleased", gcc_heap_released),
	M("runtime.gcControllerState", "totalAlloc", gcc_total_alloc),
	M("runtime.gcControllerState", "totalFree", gcc_total_free),
	M("runtime.gcControllerState", "mappedReady", gcc_mapped_ready),
	M("runtime.gcControllerState", "memoryLimit", gcc_memory_limit),
	M("runtime.gcControllerState", "gcPercentHeapGoal", gcc_percent_heap_goal),
	M("runtime.gcControllerState", "sweepDistMinTrigger", gcc_sweep_dist_min_trigger),
	M("runtime.gcControllerState", "triggered", gcc_triggered),
	M("runtime.gcControllerState", "heapMarked", gcc_heap_marked),
};

struct layout_const {
	const char *name, *alt;  /* alt: the same constant under an older or newer name */
	size_t offset_at;
};

#define C(name, alt, field) { name, alt, offsetof(struct go_layout, field) }

static const struct layout_const constants[] = {
	C("runtime._PageSize", "internal/runtime/gc.PageSize", page_size),
	C("runtime.heapArenaBytes", NULL, arena_bytes),
	C("runtime.arenaL1Bits", NULL, arena_l1_bits),
	C("runtime.arenaL2Bits", NULL, arena_l2_bits),
	C("runtime.arenaBaseOffsetUintptr", NULL, arena_base_offset),
	C("runtime.mSpanDead", NULL, span_dead),
	C("runtime.mSpanInUse", NULL, span_in_use),
	C("runtime.mSpanManual", NULL, span_manual),
	C("runtime._NumSizeClasses", "internal/runtime/gc.NumSizeClasses", num_size_classes),
	C("runtime.numSpanClasses", NULL, num_span_classes),
	C("runtime.spanSetBlockEntries", NULL, span_set_block_entries),
	C("runtime._GCoff", NULL, gc_off),
	C("runtime._GCmark", NULL, gc_mark),
	C("runtime._GCmarktermination", NULL, gc_mark_termination),
	C("runtime._Gdead", NULL, g_dead),
};

static struct memdbg_error *layout_missing(struct memdbg_go *go, const char *what, const char *type)
{
	return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s: cannot find %s%s%s in the DWARF of this binary",
				   go->version, type ? type : "", type ? "." : "", what);
}

static struct memdbg_error *resolve_layout(struct memdbg_target *t, struct memdbg_go *go)
{
	struct memdbg_dwarf *d = t->dwarf;
	struct go_layout *l = &go->l;
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(members); i++) {
		const struct layout_member *m = &members[i];
		uint64_t *at = (uint64_t *)((char *)l + m->offset_at);
		if (!memdbg_dwarf_member(d, m->type, m->path, at, NULL) && !m->optional)
			return layout_missing(go, m->path, m->type);
	}
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(constants); i++) {
		const struct layout_const *c = &constants[i];
		int64_t v;
		if (!memdbg_dwarf_const(d, c->name, &v) && !(c->alt && memdbg_dwarf_const(d, c->alt, &v)))
			return layout_missing(go, c->name, NULL);
		*(uint64_t *)((char *)l + c->offset_at) = (uint64_t)v;
	}
	l->has_in_ptrscalar = memdbg_dwarf_member(d, "runtime.heapStatsDelta", "inPtrScalarBits", &l->hsd_in_ptrscalar,
						  NULL);
	/* Since go1.22 freeindex and nelems are uint16; read whatever width DWARF says. */
	if (!memdbg_dwarf_member(d, "runtime.mspan", "freeindex", &l->sp_freeindex, &l->sp_freeindex_size) ||
	    !memdbg_dwarf_member(d, "runtime.mspan", "nelems", &l->sp_nelems, &l->sp_nelems_size))
		return layout_missing(go, "freeindex/nelems", "runtime.mspan");
	/* go1.25 renamed mheap.allArenas to heapArenas. */
	if (!memdbg_dwarf_member(d, "runtime.mheap", "heapArenas", &l->mh_arena_list, NULL) &&
	    !memdbg_dwarf_member(d, "runtime.mheap", "allArenas", &l->mh_arena_list, NULL))
		return layout_missing(go, "allArenas", "runtime.mheap");
	/* go1.26 split the free-G counts into gList sizes. */
	if (memdbg_dwarf_member(d, "runtime.schedt", "gFree.n", &l->sched_gfree_n, NULL)) {
		l->sched_gfree_split = false;
	} else if (memdbg_dwarf_member(d, "runtime.schedt", "gFree.stack.size", &l->sched_gfree_stack, NULL) &&
		   memdbg_dwarf_member(d, "runtime.schedt", "gFree.noStack.size", &l->sched_gfree_nostack, NULL)) {
		l->sched_gfree_split = true;
	} else {
		return layout_missing(go, "gFree", "runtime.schedt");
	}
	if (!memdbg_dwarf_member(d, "runtime.p", "gFree.n", &l->p_gfree_n, &l->p_gfree_n_size) &&
	    !memdbg_dwarf_member(d, "runtime.p", "gFree.size", &l->p_gfree_n, &l->p_gfree_n_size))
		return layout_missing(go, "gFree", "runtime.p");
	uint64_t central_size;
	if (!memdbg_dwarf_type_size(d, "runtime.mspan", &l->mspan_size) ||
	    !memdbg_dwarf_type_size(d, "runtime.spanSet", &l->spanset_size) ||
	    !memdbg_dwarf_type_size(d, "runtime.heapStatsDelta", &l->hsd_size) ||
	    !memdbg_dwarf_member(d, "runtime.mheap", "central", &l->mh_central, &central_size) ||
	    !l->num_span_classes)
		return layout_missing(go, "mspan/spanSet/heapStatsDelta sizes", NULL);
	l->mh_central_size = central_size / l->num_span_classes;
	uint64_t marks;
	l->green_tea = memdbg_dwarf_type_size(d, "runtime.spanInlineMarkBits", &marks) && marks > 0;
	if (l->page_size == 0 || l->page_size > (1u << 20) || l->arena_bytes == 0 || l->span_set_block_entries == 0 ||
	    l->num_size_classes == 0 || l->num_size_classes > 256 || l->mspan_size > 4096 || l->sp_freeindex_size > 8 ||
	    l->sp_nelems_size > 8)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "%s: runtime constants in DWARF are implausible",
					   go->version);
	return NULL;
}

struct symbol_spec {
	const char *name, *alt;
	size_t offset_at;
};

#define S(name, alt, field) { name, alt, offsetof(struct go_symbols, field) }

static const struct symbol_spec symbols[] = {
	S("runtime.mheap_", NULL, mheap),
	S("runtime.allgs", NULL, allgs),
	S("runtime.allglen", NULL, allglen),
	S("runtime.allp", NULL, allp),
	S("runtime.gomaxprocs", NULL, gomaxprocs),
	S("runtime.gcphase", NULL, gcphase),
	S("runtime.memstats", NULL, memstats),
	S("runtime.gcController", NULL, gc_controller),
	S("runtime.sched", NULL, sched),
	S("runtime.emptymspan", NULL, emptymspan),
};

/*
 * runtime.buildVersion is a Go string; its bytes may be in a file-backed
 * segment.  Without DWARF, what the runtime carries stands in for it and
 * for the symbols (go/stripped.c); its build info gives the version.
 */
static struct memdbg_error *read_version(struct memdbg_target *t, struct memdbg_go *go)
{
	uint64_t addr, hdr[2];
	struct memdbg_error *err;
	if (!memdbg_dwarf_is_debug_info(t->dwarf)) {
		if ((err = go_stripped_open(t, go->version, sizeof(go->version))))
			return err;
	} else if (!memdbg_target_symbol(t, "runtime.buildVersion", &addr, NULL)) {
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s is not a Go program (no runtime.buildVersion)",
					   t->exe_path);
	} else {
		if ((err = memdbg_read(t, addr, hdr, sizeof(hdr))))
			return memdbg_error_prefix(err, "reading runtime.buildVersion");
		size_t len = hdr[1] < sizeof(go->version) ? (size_t)hdr[1] : sizeof(go->version) - 1;
		if ((err = memdbg_read(t, hdr[0], go->version, len)))
			return memdbg_error_prefix(err, "reading runtime.buildVersion");
		go->version[len] = '\0';
	}
	unsigned major = 0, minor = 0;
	if (sscanf(go->version, "go%u.%u", &major, &minor) != 2 || major != 1 || minor < GO_MIN_MINOR ||
	    minor > GO_MAX_MINOR)
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
					   "%s was built by %s; memdbg supports go1.%d to go1.%d", t->exe_path,
					   go->version, GO_MIN_MINOR, GO_MAX_MINOR);
	go->minor = minor;
	return NULL;
}

static struct memdbg_error *resolve_symbols(struct memdbg_target *t, struct memdbg_go *go)
{
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(symbols); i++) {
		const struct symbol_spec *s = &symbols[i];
		uint64_t *at = (uint64_t *)((char *)&go->sym + s->offset_at);
		if (!memdbg_target_symbol(t, s->name, at, NULL) && !(s->alt && memdbg_target_symbol(t, s->alt, at, NULL)))
			return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s: symbol %s not found in %s",
						   go->version, s->name, t->exe_path);
	}
	/* go1.25 moved the size-class tables to internal/runtime/gc. */
	uint64_t size;
	if (!memdbg_target_symbol(t, "runtime.class_to_size", &go->sym.class_to_size, &size) &&
	    !memdbg_target_symbol(t, "internal/runtime/gc.SizeClassToSize", &go->sym.class_to_size, &size))
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s: size-class table not found", go->version);
	go->sym.class_to_size_len = go->l.num_size_classes;
	go->class_to_size = calloc(go->l.num_size_classes, sizeof(*go->class_to_size));
	if (!go->class_to_size)
		return memdbg_enomem;
	struct memdbg_error *err = memdbg_read(t, go->sym.class_to_size, go->class_to_size,
					       go->l.num_size_classes * sizeof(*go->class_to_size));
	if (err)
		return memdbg_error_prefix(err, "reading the size-class table");
	return NULL;
}

static struct memdbg_error *go_load(struct memdbg_target *t, struct memdbg_go *go)
{
	struct memdbg_error *err;
	if ((err = read_version(t, go)) || (err = resolve_layout(t, go)) || (err = resolve_symbols(t, go)))
		return err;
	if ((err = memdbg_read_u32(t, go->sym.mheap + go->l.mh_sweepgen, &go->heap_sweepgen)))
		return memdbg_error_prefix(err, "runtime.mheap_ is not in the target");
	return NULL;
}

struct memdbg_error *memdbg_go_get(struct memdbg_target *t, struct memdbg_go **ret)
{
	if (!t->go) {
		struct memdbg_go *go = calloc(1, sizeof(*go));
		if (!go)
			return memdbg_enomem;
		struct memdbg_error *err = go_load(t, go);
		if (err) {
			memdbg_go_destroy(go);
			return err;
		}
		t->go = go;
	}
	*ret = t->go;
	return NULL;
}

void memdbg_go_destroy(struct memdbg_go *go)
{
	if (!go)
		return;
	free(go->class_to_size);
	free(go->spans);
	free(go->by_mspan);
	go_types_destroy(go->types);
	go_graph_destroy(go->graph);
	go_objects_destroy(go->objects);
	go_stripped_close(go->code);
	free(go);
}

/* The runtime's globals go-info says where it found (the required ones first). */
static const char *const reported_globals[] = {
	"runtime.mheap_", "runtime.allgs", "runtime.allglen", "runtime.allp", "runtime.gomaxprocs", "runtime.gcphase",
	"runtime.memstats", "runtime.gcController", "runtime.sched", "runtime.emptymspan", "runtime.class_to_size",
	"internal/runtime/gc.SizeClassToSize", "runtime.firstmoduledata", "runtime.types", "runtime.waitReasonStrings",
	"runtime.allm", "runtime.persistentChunks", "runtime.iscgo", "runtime.fingStatus", "runtime.semtable",
	"sync.allPools", "sync.oldPools",
};

void go_print_binary(struct memdbg_target *t, struct memdbg_go *go, struct memdbg_printer *p)
{
	const struct go_stripped *st = go_stripped_of(t);
	struct go_stripped_sources src = { .pclntab = "runtime.firstmoduledata", .moduledata = "symbol table",
					   .build_info = "not read (runtime.buildVersion)", .layouts = "DWARF" };
	if (st)
		go_stripped_sources(st, &src);
	memdbg_begin_object(p, "binary", "Executable");
	memdbg_field_bool(p, "symbols", memdbg_elf_has_symtab(t->exe));
	memdbg_field_bool(p, "dwarf", memdbg_dwarf_is_debug_info(t->dwarf));
	memdbg_field_str(p, "build_info", src.build_info);
	memdbg_field_str(p, "pclntab", src.pclntab);
	memdbg_field_str(p, "module_data", src.moduledata);
	memdbg_field_str(p, "layouts", src.layouts);
	static const struct memdbg_col cols[] = {
		{ "name", MEMDBG_COL_STR, -36 },
		{ "address", MEMDBG_COL_HEX, 14 },
		{ "found_by", MEMDBG_COL_STR, -1 },
	};
	memdbg_table_begin(p, "globals", cols, MEMDBG_ARRAY_SIZE(cols));
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(reported_globals); i++) {
		const char *name = reported_globals[i], *how = st ? go_stripped_found_by(st, name) : NULL;
		uint64_t addr, a;
		if (!memdbg_target_symbol(t, name, &addr, NULL))
			continue;
		if (!how)
			how = memdbg_elf_symbol(t->exe, name, &a, NULL) ? "symbol table" : "DWARF";
		struct memdbg_val v[3] = { { .s = name }, { .u = addr }, { .s = how } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	memdbg_end_object(p);
}

struct memdbg_error *go_read_slice(struct memdbg_target *t, uint64_t addr, uint64_t *array, uint64_t *len)
{
	uint64_t hdr[3];
	struct memdbg_error *err = memdbg_read(t, addr, hdr, sizeof(hdr));
	if (err)
		return err;
	if (hdr[1] > hdr[2])
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					   "slice at 0x%" PRIx64 " has len %" PRIu64 " > cap %" PRIu64, addr, hdr[1], hdr[2]);
	*array = hdr[0];
	*len = hdr[1];
	return NULL;
}

struct memdbg_error *go_heap_arenas(struct memdbg_target *t, struct memdbg_go *go, uint64_t **idx, size_t *n)
{
	uint64_t array, len;
	*idx = NULL;
	*n = 0;
	struct memdbg_error *err = go_read_slice(t, go->sym.mheap + go->l.mh_arena_list, &array, &len);
	if (err)
		return memdbg_error_prefix(err, "reading mheap_.allArenas");
	if (len > GO_MAX_ARENAS)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "mheap_ lists %" PRIu64 " arenas", len);
	uint64_t *v = calloc(len ? len : 1, sizeof(uint64_t));
	if (!v)
		return memdbg_enomem;
	if ((err = memdbg_read(t, array, v, len * sizeof(uint64_t)))) {
		free(v);
		return memdbg_error_prefix(err, "reading mheap_.allArenas");
	}
	qsort(v, len, sizeof(uint64_t), memdbg_u64_cmp);
	*idx = v;
	*n = len;
	return NULL;
}

size_t go_arena_find(const struct memdbg_go *go, const uint64_t *idx, size_t n, uint64_t addr)
{
	/* Called per word by findings' scans: a shift for the (always) power-of-two arena size, no bsearch callback. */
	uint64_t off = addr - go->l.arena_base_offset, size = go->l.arena_bytes;  /* wraps, as arenaIndex does */
	uint64_t a = size && !(size & (size - 1)) ? off >> __builtin_ctzll(size) : off / size;
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (idx[mid] < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && idx[lo] == a ? lo : n;
}

const char *go_span_state_name(const struct memdbg_go *go, uint8_t state)
{
	if (state == go->l.span_in_use)
		return "inuse";
	if (state == go->l.span_manual)
		return "manual";
	if (state == go->l.span_dead)
		return "free";
	return "unknown";
}

const char *go_sweep_status(const struct memdbg_go *go, uint32_t sg)
{
	uint32_t h = go->heap_sweepgen;
	if (sg == h)
		return "swept";
	if (sg == h - 2)
		return "unswept";
	if (sg == h - 1)
		return "sweeping";
	if (sg == h + 1)
		return "cached-unswept";
	if (sg == h + 3)
		return "cached";
	return "unknown";
}
