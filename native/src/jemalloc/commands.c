/* commands.c - jemalloc commands: je-info, je-arenas, je-bins, je-stats, je-extents, je-block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/alloc.h"
#include "jemalloc/je.h"

/* The allocator's own counters for one arena, as arena_stats_merge reads them. */
struct arena_counters {
	uint32_t nthreads;
	uint64_t pactive, pdirty, pmuzzy, pretained;
	uint64_t small_allocated, large_allocated;
	uint64_t metadata, resident, mapped;  /* as arena_stats_merge adds them up */
};

/* What the emap walk and the thread caches say about one arena. */
struct arena_walk {
	uint64_t slabs, small_regs, small_bytes, large, large_bytes;
	uint64_t active_bytes, dirty_bytes, muzzy_bytes, retained_bytes;
	uint64_t tcaches, tcache_bytes;
};

struct bin_counters {
	uint64_t curregs, curslabs, nonfull_slabs, nmalloc, ndalloc;
};

#define MAX_LSTATS 256

static uint64_t bin_addr(const struct je_heap *h, uint32_t a, uint32_t binind, uint32_t shard)
{
	return h->arenas[a] + h->bin_offsets[binind] + (uint64_t)shard * h->l->bin_size;
}

static struct memdbg_error *read_bin_counters(struct memdbg_target *t, const struct je_heap *h, uint32_t a,
					      uint32_t binind, struct bin_counters *c)
{
	const struct je_layout *l = h->l;
	memset(c, 0, sizeof(*c));
	for (uint32_t s = 0; s < h->bin[binind].n_shards; s++) {
		uint64_t b = bin_addr(h, a, binind, s), v[5];
		struct memdbg_error *err;
		if ((err = memdbg_read_u64(t, b + l->bin_curregs, &v[0])) ||
		    (err = memdbg_read_u64(t, b + l->bin_curslabs, &v[1])) ||
		    (err = memdbg_read_u64(t, b + l->bin_nonfull_slabs, &v[2])) ||
		    (err = memdbg_read_u64(t, b + l->bin_nmalloc, &v[3])) ||
		    (err = memdbg_read_u64(t, b + l->bin_ndalloc, &v[4])))
			return memdbg_error_prefix(err, "arena %u bin %u", a, binind);
		c->curregs += v[0];
		c->curslabs += v[1];
		c->nonfull_slabs += v[2];
		c->nmalloc += v[3];
		c->ndalloc += v[4];
	}
	return NULL;
}

/*
 * Metadata, resident and mapped bytes: the arena's base allocator (its own
 * allocated/resident/mapped counters), its internal allocations, the pages it
 * maps for extents (pac_mapped), and its active and dirty pages.
 */
static struct memdbg_error *read_base_counters(struct memdbg_target *t, const struct je_heap *h, uint32_t a,
					       struct arena_counters *c)
{
	const struct je_layout *l = h->l;
	uint64_t arena = h->arenas[a], base, internal, pac_stats, pac_mapped, allocated, resident, mapped;
	struct memdbg_error *err;
	if ((err = memdbg_read_u64(t, arena + l->arena_base, &base)) ||
	    (err = memdbg_read_u64(t, arena + l->arena_internal, &internal)) ||
	    (err = memdbg_read_u64(t, arena + l->arena_pac_stats, &pac_stats)) ||
	    (err = memdbg_read_u64(t, pac_stats + l->pac_stats_mapped, &pac_mapped)) ||
	    (err = memdbg_read_u64(t, base + l->base_allocated, &allocated)) ||
	    (err = memdbg_read_u64(t, base + l->base_resident, &resident)) ||
	    (err = memdbg_read_u64(t, base + l->base_mapped, &mapped)))
		return memdbg_error_prefix(err, "arena %u base", a);
	c->metadata = allocated + internal;
	c->resident = resident + (c->pactive + c->pdirty) * h->page;
	c->mapped = mapped + pac_mapped;
	return NULL;
}

static struct memdbg_error *read_arena_counters(struct memdbg_target *t, const struct je_heap *h, uint32_t a,
						struct arena_counters *c)
{
	const struct je_layout *l = h->l;
	uint64_t arena = h->arenas[a];
	struct memdbg_error *err;
	memset(c, 0, sizeof(*c));
	if ((err = memdbg_read_u32(t, arena + l->arena_nthreads, &c->nthreads)) ||
	    (err = memdbg_read_u64(t, arena + l->arena_nactive, &c->pactive)) ||
	    (err = memdbg_read_u64(t, arena + l->arena_npages_dirty, &c->pdirty)) ||
	    (err = memdbg_read_u64(t, arena + l->arena_npages_muzzy, &c->pmuzzy)) ||
	    (err = memdbg_read_u64(t, arena + l->arena_npages_retained, &c->pretained)))
		return memdbg_error_prefix(err, "arena %u", a);
	if ((err = read_base_counters(t, h, a, c)))
		return err;
	for (uint32_t i = 0; i < h->nbins; i++) {
		struct bin_counters bc;
		if ((err = read_bin_counters(t, h, a, i, &bc)))
			return err;
		c->small_allocated += bc.curregs * h->bin[i].reg_size;
	}
	/* Large: nmalloc - ndalloc per large size class, as arena_stats_merge computes it. */
	uint64_t nlarge = l->nsizes - l->nbins;
	uint8_t buf[MAX_LSTATS * 64];
	if (nlarge > MAX_LSTATS || l->lstats_size > 64)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "%" PRIu64 " large size classes", nlarge);
	if ((err = memdbg_read(t, arena + l->arena_lstats, buf, nlarge * l->lstats_size)))
		return memdbg_error_prefix(err, "arena %u large stats", a);
	for (uint64_t j = 0; j < nlarge; j++) {
		uint64_t nmalloc, ndalloc;
		memcpy(&nmalloc, buf + j * l->lstats_size + l->lstats_nmalloc, 8);
		memcpy(&ndalloc, buf + j * l->lstats_size + l->lstats_ndalloc, 8);
		c->large_allocated += (nmalloc - ndalloc) * h->index2size[l->nbins + j];
	}
	return NULL;
}

static void walk_arena(const struct je_heap *h, uint32_t a, struct arena_walk *w)
{
	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < h->next; i++) {
		const struct je_extent *e = &h->ext[i];
		if (e->arena != a)
			continue;
		switch (e->state) {
		case JE_ACTIVE: w->active_bytes += e->size; break;
		case JE_DIRTY: w->dirty_bytes += e->size; break;
		case JE_MUZZY: w->muzzy_bytes += e->size; break;
		case JE_RETAINED: w->retained_bytes += e->size; break;
		}
		if (e->state != JE_ACTIVE)
			continue;
		if (e->slab) {
			uint64_t used = h->bin[e->szind].nregs - e->nfree;
			w->slabs++;
			w->small_regs += used;
			w->small_bytes += used * h->bin[e->szind].reg_size;
		} else {
			w->large++;
			w->large_bytes += h->index2size[e->szind];
		}
	}
	for (size_t i = 0; i < h->ntcaches; i++) {
		if (h->tcaches[i].arena == a) {
			w->tcaches++;
			w->tcache_bytes += h->tcaches[i].bytes;
		}
	}
}

static struct memdbg_error *open_heap(struct memdbg_target *t, struct je_heap **h)
{
	return je_get(t, h);
}

/* --arena N: UINT32_MAX for all; an arena that does not exist is an error. */
static struct memdbg_error *arena_arg(struct memdbg_args *a, const struct je_heap *h, uint32_t *ret)
{
	uint64_t v;
	struct memdbg_error *err = memdbg_arg_u64(a, "--arena", UINT32_MAX, UINT32_MAX, &v);
	if (err)
		return err;
	if (v != UINT32_MAX && (v >= h->narenas_total || !h->arenas[v]))
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "no arena %" PRIu64 " (%u arenas exist)", v,
					   h->narenas_total);
	*ret = (uint32_t)v;
	return NULL;
}

static void inconsistency_note(struct memdbg_printer *p, const struct je_heap *h)
{
	if (h->ext_unreadable || h->ext_inconsistent || h->tcache_inconsistent)
		memdbg_note(p, "note: %zu extents unreadable, %zu inconsistent, %zu thread-cache records unreadable "
			    "or inconsistent (skipped)", h->ext_unreadable, h->ext_inconsistent, h->tcache_inconsistent);
}

/* ---- je-info ---- */

static struct memdbg_error *run_je_info(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct je_heap *h;
	struct memdbg_error *err = open_heap(t, &h);
	if (err)
		return err;
	uint32_t initialized = 0;
	for (uint32_t i = 0; i < h->narenas_total; i++)
		initialized += h->arenas[i] != 0;
	memdbg_field_str(p, "allocator", "jemalloc");
	memdbg_field_str(p, "version", h->version);
	memdbg_field_str(p, "library", h->where);
	memdbg_field_str(p, "build_id", h->build_id[0] ? h->build_id : NULL);
	memdbg_field_str(p, "found_by", h->source);
	memdbg_field_str(p, "layout", h->layout_source);
	memdbg_field_hex(p, "load_base", h->base);
	memdbg_field_u64(p, "arenas", h->narenas_total);
	memdbg_field_u64(p, "arenas_initialized", initialized);
	memdbg_field_u64(p, "arenas_automatic", h->narenas_auto);
	if (h->huge_arena_ind)
		memdbg_field_u64(p, "huge_arena", h->huge_arena_ind);
	else
		memdbg_field_null(p, "huge_arena");
	memdbg_field_u64(p, "opt_narenas", h->opt_narenas);
	memdbg_field_u64(p, "page", h->page);
	memdbg_field_u64(p, "nbins", h->nbins);
	memdbg_field_u64(p, "nhbins", h->nhbins);
	memdbg_field_bool(p, "tcache", h->opt_tcache);
	memdbg_field_u64(p, "tcache_max", h->tcache_max);
	memdbg_field_bool(p, "prof", h->opt_prof);
	memdbg_field_u64(p, "extents", h->next);
	memdbg_field_u64(p, "thread_caches", h->ntcaches);
	memdbg_field_u64(p, "cached_objects", h->ncached);
	memdbg_field_u64(p, "extents_unreadable", h->ext_unreadable);
	memdbg_field_u64(p, "extents_inconsistent", h->ext_inconsistent);
	memdbg_field_u64(p, "tcache_inconsistent", h->tcache_inconsistent);
	return NULL;
}

/* ---- je-arenas ---- */

static struct memdbg_error *run_je_arenas(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct je_heap *h;
	struct memdbg_error *err = open_heap(t, &h);
	if (err)
		return err;
	static const struct memdbg_col cols[] = {
		{ "arena", MEMDBG_COL_U64, 5 },
		{ "address", MEMDBG_COL_HEX, 14 },
		{ "nthreads", MEMDBG_COL_U64, 8 },
		{ "pactive", MEMDBG_COL_U64, 8 },
		{ "pdirty", MEMDBG_COL_U64, 7 },
		{ "pmuzzy", MEMDBG_COL_U64, 7 },
		{ "small_allocated", MEMDBG_COL_U64, 15 },
		{ "large_allocated", MEMDBG_COL_U64, 15 },
		{ "tcache_bytes", MEMDBG_COL_U64, 12 },
		{ "slabs", MEMDBG_COL_U64, 7 },
		{ "large", MEMDBG_COL_U64, 6 },
		{ "tcaches", MEMDBG_COL_U64, 7 },
	};
	memdbg_table_begin(p, "arenas", cols, MEMDBG_ARRAY_SIZE(cols));
	for (uint32_t i = 0; i < h->narenas_total; i++) {
		if (!h->arenas[i])
			continue;
		struct arena_counters c;
		struct arena_walk w;
		if ((err = read_arena_counters(t, h, i, &c)))
			break;
		walk_arena(h, i, &w);
		struct memdbg_val v[12] = {
			{ .u = i }, { .u = h->arenas[i] }, { .u = c.nthreads }, { .u = c.pactive }, { .u = c.pdirty },
			{ .u = c.pmuzzy }, { .u = c.small_allocated }, { .u = c.large_allocated }, { .u = w.tcache_bytes },
			{ .u = w.slabs }, { .u = w.large }, { .u = w.tcaches },
		};
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	inconsistency_note(p, h);
	return err;
}

/* ---- je-bins ---- */

struct bin_walk {
	uint64_t slabs, regs, nonfull, tcached;
};

/* Every bin shard's slabcur: a non-full slabcur is not in the non-full heap. */
static struct memdbg_error *read_slabcurs(struct memdbg_target *t, const struct je_heap *h, uint64_t **ret,
					  size_t *n)
{
	size_t cap = 0;
	for (uint32_t i = 0; i < h->nbins; i++)
		cap += h->bin[i].n_shards;
	cap *= h->narenas_total;
	uint64_t *v = malloc((cap ? cap : 1) * sizeof(*v));
	if (!v)
		return memdbg_enomem;
	*n = 0;
	for (uint32_t a = 0; a < h->narenas_total; a++) {
		for (uint32_t i = 0; h->arenas[a] && i < h->nbins; i++) {
			for (uint32_t s = 0; s < h->bin[i].n_shards; s++) {
				uint64_t cur;
				struct memdbg_error *err = memdbg_read_u64(t, bin_addr(h, a, i, s) + h->l->bin_slabcur, &cur);
				if (err) {
					free(v);
					return err;
				}
				if (cur)
					v[(*n)++] = cur;
			}
		}
	}
	qsort(v, *n, sizeof(*v), memdbg_u64_cmp);
	*ret = v;
	return NULL;
}

static void walk_bins(const struct je_heap *h, uint32_t arena, const uint64_t *slabcur, size_t ncur,
		      struct bin_walk *w)
{
	memset(w, 0, h->nbins * sizeof(*w));
	for (size_t i = 0; i < h->next; i++) {
		const struct je_extent *e = &h->ext[i];
		if (!e->slab || e->state != JE_ACTIVE || (arena != UINT32_MAX && e->arena != arena))
			continue;
		struct bin_walk *b = &w[e->szind];
		b->slabs++;
		b->regs += h->bin[e->szind].nregs - e->nfree;
		if (e->nfree && !bsearch(&e->edata, slabcur, ncur, sizeof(*slabcur), memdbg_u64_cmp))
			b->nonfull++;
	}
	for (size_t i = 0; i < h->ncached; i++) {
		const struct je_cached *c = &h->cached[i];
		if (c->szind < h->nbins && (arena == UINT32_MAX || h->tcaches[c->tcache].arena == arena))
			w[c->szind].tcached++;
	}
}

static struct memdbg_error *run_je_bins(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct je_heap *h;
	struct memdbg_error *err = open_heap(t, &h);
	uint32_t arena;
	if (err || (err = arena_arg(a, h, &arena)))
		return err;
	bool all = memdbg_arg_flag(a, "--all");
	uint64_t *slabcur;
	size_t ncur;
	if ((err = read_slabcurs(t, h, &slabcur, &ncur)))
		return err;
	struct bin_walk w[JE_MAX_BINS];
	walk_bins(h, arena, slabcur, ncur, w);
	free(slabcur);
	static const struct memdbg_col cols[] = {
		{ "bin", MEMDBG_COL_U64, 3 },
		{ "size", MEMDBG_COL_U64, 6 },
		{ "nregs", MEMDBG_COL_U64, 5 },
		{ "slab_size", MEMDBG_COL_U64, 9 },
		{ "curslabs", MEMDBG_COL_U64, 8 },
		{ "curregs", MEMDBG_COL_U64, 9 },
		{ "nonfull_slabs", MEMDBG_COL_U64, 13 },
		{ "walk_slabs", MEMDBG_COL_U64, 10 },
		{ "walk_regs", MEMDBG_COL_U64, 9 },
		{ "walk_nonfull", MEMDBG_COL_U64, 12 },
		{ "tcached", MEMDBG_COL_U64, 7 },
		{ "nmalloc", MEMDBG_COL_U64, 9 },
		{ "ndalloc", MEMDBG_COL_U64, 9 },
		{ "util", MEMDBG_COL_PCT, 6 },
	};
	if (arena == UINT32_MAX)
		memdbg_field_null(p, "arena");
	else
		memdbg_field_u64(p, "arena", arena);
	memdbg_table_begin(p, "bins", cols, MEMDBG_ARRAY_SIZE(cols));
	uint64_t mismatches = 0;
	for (uint32_t i = 0; i < h->nbins && !err; i++) {
		struct bin_counters c = { 0 };
		for (uint32_t ar = 0; ar < h->narenas_total && !err; ar++) {
			struct bin_counters one;
			if (!h->arenas[ar] || (arena != UINT32_MAX && ar != arena))
				continue;
			if ((err = read_bin_counters(t, h, ar, i, &one)))
				break;
			c.curregs += one.curregs;
			c.curslabs += one.curslabs;
			c.nonfull_slabs += one.nonfull_slabs;
			c.nmalloc += one.nmalloc;
			c.ndalloc += one.ndalloc;
		}
		if (err || (!all && !c.curslabs && !w[i].slabs && !c.nmalloc))
			continue;
		mismatches += c.curregs != w[i].regs || c.curslabs != w[i].slabs || c.nonfull_slabs != w[i].nonfull;
		uint64_t slots = w[i].slabs * h->bin[i].nregs;
		struct memdbg_val v[14] = {
			{ .u = i }, { .u = h->bin[i].reg_size }, { .u = h->bin[i].nregs }, { .u = h->bin[i].slab_size },
			{ .u = c.curslabs }, { .u = c.curregs }, { .u = c.nonfull_slabs }, { .u = w[i].slabs },
			{ .u = w[i].regs }, { .u = w[i].nonfull }, { .u = w[i].tcached }, { .u = c.nmalloc },
			{ .u = c.ndalloc }, { .d = slots ? 100.0 * (double)w[i].regs / (double)slots : 0, .null = !slots },
		};
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	if (err)
		return err;
	memdbg_field_u64(p, "mismatched_bins", mismatches);
	if (mismatches)
		memdbg_note(p, "note: %" PRIu64 " bins whose counters differ from the slabs found in the emap", mismatches);
	inconsistency_note(p, h);
	return NULL;
}

/* ---- je-stats ---- */

static struct memdbg_error *run_je_stats(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct je_heap *h;
	struct memdbg_error *err = open_heap(t, &h);
	if (err)
		return err;
	struct arena_counters sum = { 0 };
	struct arena_walk wsum = { 0 };
	for (uint32_t i = 0; i < h->narenas_total; i++) {
		struct arena_counters c;
		struct arena_walk w;
		if (!h->arenas[i])
			continue;
		if ((err = read_arena_counters(t, h, i, &c)))
			return err;
		walk_arena(h, i, &w);
		sum.nthreads += c.nthreads;
		sum.pactive += c.pactive;
		sum.pdirty += c.pdirty;
		sum.pmuzzy += c.pmuzzy;
		sum.pretained += c.pretained;
		sum.small_allocated += c.small_allocated;
		sum.large_allocated += c.large_allocated;
		sum.metadata += c.metadata;
		sum.resident += c.resident;
		sum.mapped += c.mapped;
		wsum.small_bytes += w.small_bytes;
		wsum.small_regs += w.small_regs;
		wsum.large_bytes += w.large_bytes;
		wsum.large += w.large;
		wsum.slabs += w.slabs;
		wsum.active_bytes += w.active_bytes;
		wsum.dirty_bytes += w.dirty_bytes;
		wsum.muzzy_bytes += w.muzzy_bytes;
		wsum.retained_bytes += w.retained_bytes;
		wsum.tcache_bytes += w.tcache_bytes;
	}
	memdbg_field_u64(p, "allocated", sum.small_allocated + sum.large_allocated);
	memdbg_field_u64(p, "active", sum.pactive * h->page);
	memdbg_field_u64(p, "small_allocated", sum.small_allocated);
	memdbg_field_u64(p, "large_allocated", sum.large_allocated);
	memdbg_field_u64(p, "dirty", sum.pdirty * h->page);
	memdbg_field_u64(p, "muzzy", sum.pmuzzy * h->page);
	memdbg_field_u64(p, "retained", sum.pretained * h->page);
	memdbg_field_u64(p, "metadata", sum.metadata);
	memdbg_field_u64(p, "resident", sum.resident);
	memdbg_field_u64(p, "mapped", sum.mapped);
	memdbg_field_u64(p, "tcache_bytes", wsum.tcache_bytes);
	memdbg_field_u64(p, "in_use", sum.small_allocated + sum.large_allocated - wsum.tcache_bytes);
	memdbg_field_u64(p, "nthreads", sum.nthreads);
	memdbg_begin_object(p, "walk", "From the emap walk");
	memdbg_field_u64(p, "allocated", wsum.small_bytes + wsum.large_bytes);
	memdbg_field_u64(p, "active", wsum.active_bytes);
	memdbg_field_u64(p, "small_allocated", wsum.small_bytes);
	memdbg_field_u64(p, "small_regions", wsum.small_regs);
	memdbg_field_u64(p, "slabs", wsum.slabs);
	memdbg_field_u64(p, "large_allocated", wsum.large_bytes);
	memdbg_field_u64(p, "large_extents", wsum.large);
	memdbg_field_u64(p, "dirty", wsum.dirty_bytes);
	memdbg_field_u64(p, "muzzy", wsum.muzzy_bytes);
	memdbg_field_u64(p, "retained", wsum.retained_bytes);
	memdbg_end_object(p);
	inconsistency_note(p, h);
	return NULL;
}

/* ---- je-extents ---- */

static struct memdbg_error *state_arg(struct memdbg_args *a, int *ret)
{
	const char *s = memdbg_arg_value(a, "--state");
	*ret = -1;
	if (!s || strcmp(s, "all") == 0)
		return NULL;
	for (int i = 0; i < JE_NSTATES; i++) {
		if (strcmp(s, je_state_name((unsigned)i)) == 0) {
			*ret = i;
			return NULL;
		}
	}
	return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT,
				   "je-extents: --state wants active, dirty, muzzy, retained, cached or all, not '%s'", s);
}

static struct memdbg_error *run_je_extents(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct je_heap *h;
	struct memdbg_error *err = open_heap(t, &h);
	uint32_t arena;
	int state;
	uint64_t limit;
	if (err || (err = arena_arg(a, h, &arena)) || (err = state_arg(a, &state)) ||
	    (err = memdbg_arg_u64(a, "--limit", UINT64_MAX, UINT64_MAX, &limit)))
		return err;
	static const struct memdbg_col cols[] = {
		{ "base", MEMDBG_COL_HEX, 14 },
		{ "size", MEMDBG_COL_U64, 10 },
		{ "state", MEMDBG_COL_STR, -8 },
		{ "arena", MEMDBG_COL_U64, 5 },
		{ "kind", MEMDBG_COL_STR, -5 },
		{ "size_class", MEMDBG_COL_U64, 10 },
		{ "nregs", MEMDBG_COL_U64, 5 },
		{ "nfree", MEMDBG_COL_U64, 5 },
		{ "edata", MEMDBG_COL_HEX, 14 },
	};
	uint64_t count[JE_NSTATES] = { 0 }, bytes[JE_NSTATES] = { 0 }, shown = 0;
	memdbg_table_begin(p, "extents", cols, MEMDBG_ARRAY_SIZE(cols));
	for (size_t i = 0; i < h->next; i++) {
		const struct je_extent *e = &h->ext[i];
		if ((state >= 0 && e->state != state) || (arena != UINT32_MAX && e->arena != arena))
			continue;
		count[e->state]++;
		bytes[e->state] += e->size;
		if (shown >= limit)
			continue;
		if (!(shown & 4095) && (err = memdbg_check_interrupt(p)))
			break;
		shown++;
		bool active = e->state == JE_ACTIVE;
		struct memdbg_val v[9] = {
			{ .u = e->base }, { .u = e->size }, { .s = je_state_name(e->state) }, { .u = e->arena },
			{ .s = !active ? NULL : e->slab ? "slab" : "large" },
			{ .u = active ? h->index2size[e->szind] : 0, .null = !active },
			{ .u = e->slab ? h->bin[e->szind].nregs : 0, .null = !e->slab },
			{ .u = e->nfree, .null = !e->slab }, { .u = e->edata },
		};
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	if (err)
		return err;
	static const struct memdbg_col tcols[] = {
		{ "state", MEMDBG_COL_STR, -10 },
		{ "extents", MEMDBG_COL_U64, 10 },
		{ "bytes", MEMDBG_COL_U64, 14 },
	};
	memdbg_begin_object(p, "totals", "Totals");
	memdbg_table_begin(p, "by_state", tcols, MEMDBG_ARRAY_SIZE(tcols));
	for (int s = 0; s < JE_NSTATES; s++) {
		if (!count[s] && (s == JE_TRANSITION || s == JE_MERGING))
			continue;  /* momentary states: only when an extent is caught in one */
		struct memdbg_val v[3] = { { .s = je_state_name((unsigned)s) }, { .u = count[s] }, { .u = bytes[s] } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	memdbg_field_u64(p, "shown", shown);
	memdbg_end_object(p);
	inconsistency_note(p, h);
	return NULL;
}

/* ---- je-block ---- */

static struct memdbg_error *run_je_block(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct je_heap *h;
	uint64_t addr;
	struct memdbg_error *err = memdbg_arg_address(a, &addr);
	if (err || (err = open_heap(t, &h)))
		return err;
	struct alloc_block b;
	const struct je_extent *e;
	uint32_t region;
	if ((err = je_block_at(t, h, addr, &b, &e, &region)))
		return err;
	memdbg_field_hex(p, "address", addr);
	memdbg_begin_object(p, "extent", "Extent");
	memdbg_field_hex(p, "base", e->base);
	memdbg_field_u64(p, "size", e->size);
	memdbg_field_str(p, "state", je_state_name(e->state));
	memdbg_field_u64(p, "arena", e->arena);
	memdbg_field_str(p, "kind", e->state != JE_ACTIVE ? NULL : e->slab ? "slab" : "large");
	memdbg_field_hex(p, "edata", e->edata);
	if (e->slab) {
		memdbg_field_u64(p, "bin", e->szind);
		memdbg_field_u64(p, "nregs", h->bin[e->szind].nregs);
		memdbg_field_u64(p, "nfree", e->nfree);
	}
	memdbg_end_object(p);
	memdbg_begin_object(p, "block", "Block");
	memdbg_field_hex(p, "start", b.start);
	memdbg_field_u64(p, "size", b.size);
	memdbg_field_u64(p, "offset", addr - b.start);
	if (e->slab)
		memdbg_field_u64(p, "region", region);
	else
		memdbg_field_null(p, "region");
	memdbg_field_str(p, "state", b.state == ALLOC_ALLOCATED ? "allocated" : b.state == ALLOC_CACHED ? "tcache" : "free");
	const struct je_cached *c = b.state == ALLOC_CACHED ? je_cached_at(h, b.start) : NULL;
	if (c) {
		memdbg_field_hex(p, "tcache_bins", h->tcaches[c->tcache].bins);
		memdbg_field_u64(p, "tcache_arena", h->tcaches[c->tcache].arena);
	}
	memdbg_end_object(p);
	return NULL;
}

/* Resolve addr to its extent and block (shared with heap-block). */
struct memdbg_error *je_block_at(struct memdbg_target *t, struct je_heap *h, uint64_t addr, struct alloc_block *b,
				 const struct je_extent **ext, uint32_t *region)
{
	const struct je_extent *e = je_extent_at(h, addr);
	if (!e)
		return memdbg_error_format(MEMDBG_ERROR_LOOKUP, "0x%" PRIx64 " is not in any jemalloc extent", addr);
	memset(b, 0, sizeof(*b));
	b->heap = "jemalloc";
	*ext = e;
	*region = 0;
	if (e->state != JE_ACTIVE) {
		b->start = e->base;
		b->size = e->size;
		b->state = ALLOC_FREE;
		snprintf(b->detail, sizeof(b->detail), "%s extent of arena %u, 0x%" PRIx64 "-0x%" PRIx64,
			 je_state_name(e->state), e->arena, e->base, e->base + e->size);
		return NULL;
	}
	if (!e->slab) {
		b->start = e->addr;
		b->size = h->index2size[e->szind];
		if (addr < b->start || addr >= b->start + b->size) {
			/* The cache-oblivious pad around a large block belongs to no block. */
			b->state = ALLOC_FREE;
			b->start = e->base;
			b->size = e->size;
		} else {
			b->state = je_cached_at(h, b->start) ? ALLOC_CACHED : ALLOC_ALLOCATED;
		}
		snprintf(b->detail, sizeof(b->detail), "large extent of arena %u, size class %" PRIu64 " (szind %u)",
			 e->arena, h->index2size[e->szind], e->szind);
		return NULL;
	}
	const struct je_bin_info *bi = &h->bin[e->szind];
	uint32_t i = (uint32_t)((addr - e->base) / bi->reg_size);
	if (i >= bi->nregs)
		return memdbg_error_format(MEMDBG_ERROR_LOOKUP, "0x%" PRIx64 " is in the tail of slab 0x%" PRIx64
					   " past its last region", addr, e->base);
	bool is_free;
	struct memdbg_error *err = je_region_free(t, h, e, i, &is_free);
	if (err)
		return memdbg_error_prefix(err, "slab bitmap");
	*region = i;
	b->start = e->base + (uint64_t)i * bi->reg_size;
	b->size = bi->reg_size;
	b->state = is_free ? ALLOC_FREE : je_cached_at(h, b->start) ? ALLOC_CACHED : ALLOC_ALLOCATED;
	snprintf(b->detail, sizeof(b->detail), "region %u of slab 0x%" PRIx64 " (bin %u, size %" PRIu64 "), arena %u", i,
		 e->base, e->szind, bi->reg_size, e->arena);
	return NULL;
}

/* ---- the table rows ---- */

const struct memdbg_command memdbg_cmd_je_info = {
	.info = {
		.name = "je-info",
		.summary = "jemalloc: version, where its state was found, arenas, configuration",
		.usage = "je-info [--json]",
		.help = "jemalloc is found through the executable's symbols (static links), the library's\n"
			"symbols or its debug file, memdbg's table of known stripped builds (by build-id), or\n"
			"its own mallctl name tree and the handlers' code (found_by: code search).\n"
			"layout: DWARF when it describes jemalloc's types (struct offsets from there), else\n"
			"the version's table.",
	},
	.needs_target = true,
	.run = run_je_info,
};

const struct memdbg_command memdbg_cmd_je_arenas = {
	.info = {
		.name = "je-arenas",
		.summary = "jemalloc: per arena, threads, pages and bytes, from its counters and the extents",
		.usage = "je-arenas [--json]",
		.help = "pactive/pdirty/pmuzzy are pages; small/large_allocated are the arena's counters (as\n"
			"mallctl stats.arenas.<i>.*); tcache_bytes is what its threads' caches hold.",
	},
	.needs_target = true,
	.run = run_je_arenas,
};

static const struct memdbg_opt je_bins_opts[] = {
	{ "--arena", "N", "only arena N (default: all arenas merged)" },
	{ "--all", NULL, "also list bins that were never used" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_je_bins = {
	.info = {
		.name = "je-bins",
		.summary = "jemalloc: per small size class, slabs and regions, from the bins and from the emap",
		.usage = "je-bins [--arena N] [--all] [--json]",
		.help = "curslabs/curregs/nonfull_slabs are the bin's counters; walk_* count the slabs found in\n"
			"the emap (used regions from each slab's free count).  Regions in thread caches count as\n"
			"used in both; tcached says how many.  util is walk_regs over the slabs' regions.",
	},
	.opts = je_bins_opts,
	.needs_target = true,
	.run = run_je_bins,
};

const struct memdbg_command memdbg_cmd_je_stats = {
	.info = {
		.name = "je-stats",
		.summary = "jemalloc: allocated, active, dirty, muzzy, retained and thread-cache bytes",
		.usage = "je-stats [--json]",
		.help = "The figures of malloc_stats_print / mallctl stats.*, computed from the arenas' counters\n"
			"as jemalloc does; 'walk' recomputes them from the extents.  in_use is allocated minus\n"
			"what sits in thread caches.",
	},
	.needs_target = true,
	.run = run_je_stats,
};

static const struct memdbg_opt je_extents_opts[] = {
	{ "--state", "S", "active, dirty, muzzy, retained, cached (by the HPA's sec) or all (default)" },
	{ "--arena", "N", "only extents of arena N" },
	{ "--limit", "N", "print at most N rows (totals still cover every match)" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_je_extents = {
	.info = {
		.name = "je-extents",
		.summary = "jemalloc: one row per extent of the emap (slabs, large blocks, free page runs)",
		.usage = "je-extents [--state S] [--arena N] [--limit N] [--json]",
		.help = "size_class is the region size of a slab or the usable size of a large block.",
	},
	.opts = je_extents_opts,
	.needs_target = true,
	.run = run_je_extents,
};

const struct memdbg_command memdbg_cmd_je_block = {
	.info = {
		.name = "je-block",
		.summary = "jemalloc: the extent, slab, region and state of an address",
		.usage = "je-block ADDR [--json]",
		.help = "state is allocated, free, or tcache (freed into a thread cache, still counted as\n"
			"allocated by jemalloc's statistics).",
	},
	.max_args = 1,
	.needs_target = true,
	.run = run_je_block,
};
