/*
 * memstats.c - runtime.MemStats from the runtime's counters: the consistent
 * heap statistics, gcController and memstats, with readmemstats_m's
 * arithmetic.  ReadMemStats first flushes every P's mcache; a target read at
 * any other moment gets the same effect by adding what the cached spans and
 * tiny blocks allocated since they were cached (mcache.releaseAll's sums).
 */
#include <string.h>

#include "go/memstats.h"

#define MAX_PS 65536

/* consistentHeapStats.unsafeRead: the three generations summed. */
static void read_heap_stats(struct go_reader *r, const struct memdbg_go *go, struct go_memstats *ms, int64_t *in_stacks,
			    int64_t *in_workbufs, int64_t *in_ptrscalar, uint64_t *tiny)
{
	const struct go_layout *l = &go->l;
	for (int gen = 0; gen < 3; gen++) {
		uint64_t d = go->sym.memstats + l->ms_heapstats + (uint64_t)gen * l->hsd_size;
		*in_stacks += (int64_t)go_rd(r, d + l->hsd_in_stacks, 8);
		*in_workbufs += (int64_t)go_rd(r, d + l->hsd_in_workbufs, 8);
		if (l->has_in_ptrscalar)
			*in_ptrscalar += (int64_t)go_rd(r, d + l->hsd_in_ptrscalar, 8);
		*tiny += go_rd(r, d + l->hsd_tiny_alloc_count, 8);
		ms->large_alloc += go_rd(r, d + l->hsd_large_alloc, 8);
		ms->large_alloc_count += go_rd(r, d + l->hsd_large_alloc_count, 8);
		ms->large_free += go_rd(r, d + l->hsd_large_free, 8);
		ms->large_free_count += go_rd(r, d + l->hsd_large_free_count, 8);
		for (uint64_t c = 0; c < ms->nclasses; c++) {
			ms->class_mallocs[c] += go_rd(r, d + l->hsd_small_alloc_count + 8 * c, 8);
			ms->class_frees[c] += go_rd(r, d + l->hsd_small_free_count + 8 * c, 8);
		}
	}
}

/*
 * What flushallmcaches would add: per cached span, the slots allocated since
 * refill (allocCount - allocCountBeforeCache), and each mcache's tinyAllocs.
 * allp and the p structs live in the heap: a P whose mcache cannot be read (a core
 * without the heap's pages) is counted in unread_mcaches and left out.
 */
static void add_mcaches(struct go_reader *r, const struct memdbg_go *go, struct go_memstats *ms, uint64_t *tiny)
{
	const struct go_layout *l = &go->l;
	uint64_t allp, nprocs;
	if ((r->err = go_read_slice(r->t, go->sym.allp, &allp, &nprocs)))
		return;
	if (nprocs > MAX_PS) {
		r->err = memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "runtime.allp has %" PRIu64 " entries", nprocs);
		return;
	}
	uint64_t spans[512];
	uint64_t nspc = l->num_span_classes < 512 ? l->num_span_classes : 512;
	for (uint64_t i = 0; i < nprocs && !r->err; i++) {
		struct go_reader pr = { r->t };
		uint64_t pp = go_rd(&pr, allp + 8 * i, 8);
		uint64_t mc = pp ? go_rd(&pr, pp + l->p_mcache, 8) : 0;
		uint64_t tiny_allocs = mc ? go_rd(&pr, mc + l->mc_tiny_allocs, 8) : 0;
		if (mc && !pr.err)
			pr.err = memdbg_read(r->t, mc + l->mc_alloc, spans, 8 * nspc);
		uint64_t counts[512] = { 0 };
		for (uint64_t spc = 0; mc && spc < nspc && !pr.err; spc++) {
			if (!spans[spc] || spans[spc] == go->sym.emptymspan)
				continue;
			uint16_t count = (uint16_t)go_rd(&pr, spans[spc] + l->sp_alloc_count, 2);
			uint16_t before = (uint16_t)go_rd(&pr, spans[spc] + l->sp_alloc_count_before_cache, 2);
			counts[spc] = count > before ? (uint64_t)(count - before) : 0;
		}
		if (pr.err) {
			memdbg_error_destroy(pr.err);
			ms->unread_mcaches++;
			continue;
		}
		*tiny += tiny_allocs;
		for (uint64_t spc = 0; spc < nspc; spc++) {
			uint64_t cls = go_size_class((uint8_t)spc);
			if (counts[spc] && cls < ms->nclasses) {
				ms->class_mallocs[cls] += counts[spc];
				ms->cached_objects += counts[spc];
			}
		}
	}
}

/* gcControllerState.memoryLimitHeapGoal and heapGoalInternal, as the runtime computes NextGC. */
static uint64_t heap_goal(struct go_reader *r, const struct memdbg_go *go)
{
	const struct go_layout *l = &go->l;
	uint64_t c = go->sym.gc_controller;
	uint64_t goal = go_rd(r, c + l->gcc_percent_heap_goal, 8);
	uint64_t heap_free = go_rd(r, c + l->gcc_heap_free, 8);
	uint64_t heap_alloc = go_rd(r, c + l->gcc_total_alloc, 8) - go_rd(r, c + l->gcc_total_free, 8);
	uint64_t mapped_ready = go_rd(r, c + l->gcc_mapped_ready, 8);
	uint64_t limit = go_rd(r, c + l->gcc_memory_limit, 8);
	uint64_t heap_marked = go_rd(r, c + l->gcc_heap_marked, 8);

	uint64_t limit_goal;
	uint64_t non_heap = mapped_ready - heap_free - heap_alloc;
	uint64_t overage = mapped_ready > limit ? mapped_ready - limit : 0;
	if (non_heap + overage >= limit) {
		limit_goal = heap_marked;
	} else {
		limit_goal = limit - (non_heap + overage);
		uint64_t headroom = limit_goal / 100 * 3;  /* memoryLimitHeapGoalHeadroomPercent */
		if (headroom < (1 << 20))                   /* memoryLimitMinHeapGoalHeadroom */
			headroom = 1 << 20;
		limit_goal = limit_goal < headroom || limit_goal - headroom < headroom ? headroom : limit_goal - headroom;
		if (limit_goal < heap_marked)
			limit_goal = heap_marked;
	}
	if (limit_goal < goal)
		return limit_goal;
	uint64_t sweep_dist = go_rd(r, c + l->gcc_sweep_dist_min_trigger, 8);
	if (sweep_dist > goal)
		goal = sweep_dist;
	uint64_t triggered = go_rd(r, c + l->gcc_triggered, 8);
	if (triggered != UINT64_MAX && goal < triggered + (64 << 10))  /* minRunway */
		goal = triggered + (64 << 10);
	return goal;
}

struct memdbg_error *go_memstats_read(struct memdbg_target *t, struct memdbg_go *go, struct go_memstats *ms)
{
	const struct go_layout *l = &go->l;
	memset(ms, 0, sizeof(*ms));
	if (l->num_size_classes > GO_MAX_SIZE_CLASSES)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "%" PRIu64 " size classes", l->num_size_classes);
	ms->nclasses = l->num_size_classes;
	struct go_reader r = { t };
	int64_t in_stacks = 0, in_workbufs = 0, in_ptrscalar = 0;
	uint64_t tiny = 0;
	read_heap_stats(&r, go, ms, &in_stacks, &in_workbufs, &in_ptrscalar, &tiny);
	add_mcaches(&r, go, ms, &tiny);

	uint64_t total_alloc = ms->large_alloc, total_free = ms->large_free;
	uint64_t mallocs = ms->large_alloc_count, frees = ms->large_free_count;
	for (uint64_t c = 0; c < ms->nclasses; c++) {
		ms->class_size[c] = go->class_to_size[c];
		total_alloc += ms->class_mallocs[c] * go->class_to_size[c];
		total_free += ms->class_frees[c] * go->class_to_size[c];
		mallocs += ms->class_mallocs[c];
		frees += ms->class_frees[c];
	}
	/* MemStats counts tiny allocations as both a malloc and a free. */
	mallocs += tiny;
	frees += tiny;

	uint64_t c = go->sym.gc_controller, m = go->sym.memstats;
	uint64_t heap_inuse = go_rd(&r, c + l->gcc_heap_inuse, 8), heap_free = go_rd(&r, c + l->gcc_heap_free, 8),
		 heap_released = go_rd(&r, c + l->gcc_heap_released, 8);
	uint64_t stacks_sys = go_rd(&r, m + l->ms_stacks_sys, 8), mspan_sys = go_rd(&r, m + l->ms_mspan_sys, 8),
		 mcache_sys = go_rd(&r, m + l->ms_mcache_sys, 8), buckhash_sys = go_rd(&r, m + l->ms_buckhash_sys, 8),
		 gcmisc_sys = go_rd(&r, m + l->ms_gcmisc_sys, 8), other_sys = go_rd(&r, m + l->ms_other_sys, 8);
	uint64_t stack_inuse = (uint64_t)in_stacks, workbufs = (uint64_t)in_workbufs, ptrscalar = (uint64_t)in_ptrscalar;
	ms->MSpanInuse = go_rd(&r, go->sym.mheap + l->mh_spanalloc_inuse, 8);
	ms->MCacheInuse = go_rd(&r, go->sym.mheap + l->mh_cachealloc_inuse, 8);
	ms->NumGC = (uint32_t)go_rd(&r, m + l->ms_numgc, 4);
	ms->NumForcedGC = (uint32_t)go_rd(&r, m + l->ms_numforcedgc, 4);
	ms->NextGC = heap_goal(&r, go);
	ms->memory_limit = go_rd(&r, c + l->gcc_memory_limit, 8);
	ms->heap_marked = go_rd(&r, c + l->gcc_heap_marked, 8);
	ms->mapped_ready = go_rd(&r, c + l->gcc_mapped_ready, 8);
	if (r.err)
		return r.err;

	ms->Sys = heap_inuse + heap_free + heap_released + stacks_sys + mspan_sys + mcache_sys + buckhash_sys +
		  gcmisc_sys + other_sys + stack_inuse + workbufs + ptrscalar;
	ms->Alloc = ms->HeapAlloc = total_alloc - total_free;
	ms->TotalAlloc = total_alloc;
	ms->Mallocs = mallocs;
	ms->Frees = frees;
	ms->HeapSys = heap_inuse + heap_free + heap_released;
	ms->HeapIdle = heap_free + heap_released;
	ms->HeapInuse = heap_inuse;
	ms->HeapReleased = heap_released;
	ms->HeapObjects = mallocs - frees;
	ms->StackInuse = stack_inuse;
	ms->StackSys = stack_inuse + stacks_sys;
	ms->MSpanSys = mspan_sys;
	ms->MCacheSys = mcache_sys;
	ms->BuckHashSys = buckhash_sys;
	ms->GCSys = gcmisc_sys + workbufs + ptrscalar;
	ms->OtherSys = other_sys;
	return NULL;
}

int64_t go_goroutine_count(struct go_reader *r, const struct memdbg_go *go, uint64_t allp, uint64_t nprocs)
{
	const struct go_layout *l = &go->l;
	int64_t n = (int64_t)go_rd(r, go->sym.allglen, 8);
	if (l->sched_gfree_split)
		n -= (int32_t)go_rd(r, go->sym.sched + l->sched_gfree_stack, 4) +
		     (int32_t)go_rd(r, go->sym.sched + l->sched_gfree_nostack, 4);
	else
		n -= (int32_t)go_rd(r, go->sym.sched + l->sched_gfree_n, 4);
	n -= (int32_t)go_rd(r, go->sym.sched + l->sched_ngsys, 4);
	for (uint64_t i = 0; i < nprocs && !r->err; i++) {
		uint64_t pp = go_rd(r, allp + 8 * i, 8);
		if (pp)
			n -= (int32_t)go_rd(r, pp + l->p_gfree_n, 4);
	}
	return n < 1 ? 1 : n;
}
