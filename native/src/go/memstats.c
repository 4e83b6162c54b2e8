/*
 * memstats.c - runtime.MemStats from the runtime's counters: the consistent
 * heap statistics, gcController and memstats, with readmemstats_m's
 * arithmetic.  ReadMemStats first flushes every P's mcache; a target read at
 * any other moment gets the same effect by adding what the cached spans and
 * tiny blocks allocated since they were cached (mcache.releaseAll's sums).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/memstats.h"

#define MAX_PS 65536

/*
 * What one generation of the consistent heap stats may add twice: while
 * consistentHeapStats.read merges stats[prevGen] into stats[currGen] and before
 * it zeroes stats[prevGen] (mstats.go), the sum of the three counts prevGen
 * twice.  Then stats[currGen] already holds prevGen's counts (they only grow),
 * so another generation is at least as large: the error is bounded by the
 * second largest generation of each counter, which one damaged generation
 * cannot raise.
 */
struct gen_slack {
	uint64_t alloc[3], freed[3], mallocs[3], frees[3], stacks[3], workbufs[3], large_frees[3], large_free_bytes[3];
	uint64_t class_frees[GO_MAX_SIZE_CLASSES][3];
};

static uint64_t largest(const uint64_t v[3])
{
	uint64_t hi = v[0] > v[1] ? v[0] : v[1];
	return hi > v[2] ? hi : v[2];
}

static uint64_t second(const uint64_t v[3])
{
	uint64_t a = v[0], b = v[1], c = v[2];
	uint64_t hi = a > b ? a : b, lo = a > b ? b : a;
	return c >= hi ? hi : c > lo ? c : lo;
}

static uint64_t uabs(int64_t v)
{
	return v < 0 ? -(uint64_t)v : (uint64_t)v;
}

/* Target-supplied counters wrap as the runtime's own do; a signed overflow would be undefined. */
static int64_t wrapping_add(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

/* consistentHeapStats.unsafeRead: the three generations summed. */
static void read_heap_stats(struct go_reader *r, const struct memdbg_go *go, struct go_memstats *ms, int64_t *in_stacks,
			    int64_t *in_workbufs, int64_t *in_ptrscalar, uint64_t *tiny, struct gen_slack *gs)
{
	const struct go_layout *l = &go->l;
	for (int gen = 0; gen < 3; gen++) {
		struct go_memstats g = { .nclasses = ms->nclasses };
		int64_t gs_stacks = 0, gs_workbufs = 0, gs_ptrscalar = 0;
		uint64_t gs_tiny = 0;
		uint64_t d = go->sym.memstats + l->ms_heapstats + (uint64_t)gen * l->hsd_size;
		gs_stacks += (int64_t)go_rd(r, d + l->hsd_in_stacks, 8);
		gs_workbufs += (int64_t)go_rd(r, d + l->hsd_in_workbufs, 8);
		if (l->has_in_ptrscalar)
			gs_ptrscalar += (int64_t)go_rd(r, d + l->hsd_in_ptrscalar, 8);
		gs_tiny += go_rd(r, d + l->hsd_tiny_alloc_count, 8);
		g.large_alloc += go_rd(r, d + l->hsd_large_alloc, 8);
		g.large_alloc_count += go_rd(r, d + l->hsd_large_alloc_count, 8);
		g.large_free += go_rd(r, d + l->hsd_large_free, 8);
		g.large_free_count += go_rd(r, d + l->hsd_large_free_count, 8);
		uint64_t alloc = g.large_alloc, freed = g.large_free, mallocs = g.large_alloc_count,
			 frees = g.large_free_count;
		for (uint64_t c = 0; c < ms->nclasses; c++) {
			g.class_mallocs[c] = go_rd(r, d + l->hsd_small_alloc_count + 8 * c, 8);
			g.class_frees[c] = go_rd(r, d + l->hsd_small_free_count + 8 * c, 8);
			alloc += g.class_mallocs[c] * go->class_to_size[c];
			freed += g.class_frees[c] * go->class_to_size[c];
			mallocs += g.class_mallocs[c];
			frees += g.class_frees[c];
			gs->class_frees[c][gen] = g.class_frees[c];
			ms->class_mallocs[c] += g.class_mallocs[c];
			ms->class_frees[c] += g.class_frees[c];
		}
		gs->alloc[gen] = alloc;
		gs->freed[gen] = freed;
		gs->mallocs[gen] = mallocs;
		gs->frees[gen] = frees;
		gs->stacks[gen] = uabs(gs_stacks);
		gs->workbufs[gen] = uabs(gs_workbufs) + uabs(gs_ptrscalar);
		gs->large_frees[gen] = g.large_free_count;
		gs->large_free_bytes[gen] = g.large_free;
		*in_stacks = wrapping_add(*in_stacks, gs_stacks);
		*in_workbufs = wrapping_add(*in_workbufs, gs_workbufs);
		*in_ptrscalar = wrapping_add(*in_ptrscalar, gs_ptrscalar);
		*tiny += gs_tiny;
		ms->large_alloc += g.large_alloc;
		ms->large_alloc_count += g.large_alloc_count;
		ms->large_free += g.large_free;
		ms->large_free_count += g.large_free_count;
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
	ms->nprocs = nprocs;
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

static void __attribute__((format(printf, 3, 4))) damage(struct go_memstats *ms, uint32_t bits, const char *fmt, ...)
{
	ms->bad |= bits;
	if (ms->ndamage >= MEMDBG_ARRAY_SIZE(ms->damage))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ms->damage[ms->ndamage++], sizeof(ms->damage[0]), fmt, ap);
	va_end(ap);
}

/* The x86-64 user address space: no mapped figure can exceed it. */
#define ADDRESS_SPACE (1ull << 47)
/*
 * The most slots one cached span can count twice: mcache.refill adds a span's
 * slots to smallAllocCount before uncacheSpan takes it out of the mcache, so
 * the flush above may count that span again.  The largest small-object span is
 * 10 pages (class_to_allocnpages in sizeclasses.go, go1.22 to go1.26), its
 * most slots 10 pages / 8 bytes.
 */
#define MAX_SMALL_SPAN_PAGES 10

/*
 * What must hold of the figures read, whatever moment the core caught
 * (the runtime's own checks in readmemstats_m hold only with the world
 * stopped and the mcaches flushed; these are the same sums with the slack
 * each unsynchronized update can add):
 * - every heap page lies in mheap_.allArenas (H = arenas x arena bytes):
 *   heapInUse + heapFree + heapReleased <= 2H: pages move between the three
 *   (freeSpanLocked adds to heapFree before it takes from heapInUse, the
 *   scavenger to heapReleased before heapFree), each page in flight at most
 *   once, so a read can count at most the heap twice; allocSpan takes before
 *   it adds.  A running program has at least one arena and some heap.
 * - every allocated object lies in heap pages: Alloc <= H + what can be
 *   counted twice: one generation of the heap stats (gen_slack) and one span
 *   per P from the mcache flush (MAX_SMALL_SPAN_PAGES).  Objects are 8 bytes
 *   or more, so HeapObjects <= H / 8 + the same slack in objects; no count of
 *   frees exceeds its mallocs by more than one generation's frees.
 * - stacks and GC work buffers are pages of the same heap: <= H + one
 *   generation's.
 * - a fixalloc's inuse never exceeds the memory it took (MSpanInuse <=
 *   MSpanSys, MCacheInuse <= MCacheSys: the chunk is counted before the
 *   object); every other mapped figure fits the address space.
 * - the runtime adds an allocation to the consistent heap stats first and to
 *   gcController.totalAlloc after (mcache.refill, allocLarge, releaseAll, user
 *   arenas): the heap stats' bytes allocated are never less than totalAlloc.
 *   (Frees have no such order: freeUserArenaChunk counts totalFree first.)
 * - gcMarkTermination counts numforcedgc just before numgc: NumForcedGC <=
 *   NumGC + 1.
 */
static void check(const struct memdbg_go *go, struct go_memstats *ms, const struct gen_slack *gs, int64_t in_stacks,
		  int64_t in_workbufs, uint64_t gc_total_alloc)
{
	const struct go_layout *l = &go->l;
	uint64_t m = go->sym.memstats, c = go->sym.gc_controller;
	uint64_t heap = ms->narenas * l->arena_bytes;
	if (!ms->narenas)
		damage(ms, GO_MS_HEAP | GO_MS_ALLOC | GO_MS_STACK | GO_MS_SYS,
		       "runtime.mheap_.allArenas at 0x%" PRIx64 " is empty: a running Go program has a heap arena",
		       go->sym.mheap + l->mh_arena_list);
	if (!ms->nprocs)
		damage(ms, GO_MS_ALLOC, "runtime.allp at 0x%" PRIx64 " is empty: GOMAXPROCS is at least 1", go->sym.allp);
	if (ms->narenas && (ms->HeapSys == 0 || ms->HeapSys > 2 * heap))
		damage(ms, GO_MS_HEAP | GO_MS_SYS,
		       "HeapSys %" PRIu64 " (runtime.gcController at 0x%" PRIx64 ": heapInUse %" PRIu64 ", heapFree %" PRIu64
		       ", heapReleased %" PRIu64 ") is %s the %" PRIu64 " heap arenas' %" PRIu64 " bytes",
		       ms->HeapSys, c, ms->HeapInuse, ms->HeapIdle - ms->HeapReleased, ms->HeapReleased,
		       ms->HeapSys ? "more than twice" : "none of", ms->narenas, heap);
	uint64_t span_bytes = MAX_SMALL_SPAN_PAGES * l->page_size;
	uint64_t slack_bytes = second(gs->alloc) + ms->nprocs * span_bytes;
	uint64_t slack_objects = second(gs->mallocs) + ms->nprocs * (span_bytes / 8);
	uint64_t slack_free_objects = second(gs->frees);
	int64_t live = (int64_t)(ms->Mallocs - ms->Frees);
	uint64_t consistent_alloc = gs->alloc[0] + gs->alloc[1] + gs->alloc[2];
	if (consistent_alloc < gc_total_alloc)
		damage(ms, GO_MS_ALLOC,
		       "the heap stats' %" PRIu64 " bytes allocated (runtime.memstats.heapStats at 0x%" PRIx64
		       ") are less than runtime.gcController.totalAlloc %" PRIu64 " (at 0x%" PRIx64
		       "), which the runtime adds to after them", consistent_alloc, m + l->ms_heapstats, gc_total_alloc,
		       c + l->gcc_total_alloc);
	int64_t net = (int64_t)ms->Alloc;
	if (net < 0 && uabs(net) > second(gs->freed))
		damage(ms, GO_MS_ALLOC,
		       "Alloc %" PRId64 ": more bytes freed than TotalAlloc %" PRIu64 " (runtime.memstats.heapStats at 0x%" PRIx64
		       ")", net, ms->TotalAlloc, m + l->ms_heapstats);
	else if (ms->narenas && net > 0 && ms->Alloc > heap + slack_bytes)
		damage(ms, GO_MS_ALLOC,
		       "Alloc %" PRIu64 " (TotalAlloc %" PRIu64 " - frees, runtime.memstats.heapStats at 0x%" PRIx64
		       ") is more than the %" PRIu64 " bytes of the heap arenas", ms->Alloc, ms->TotalAlloc,
		       m + l->ms_heapstats, heap);
	if (!(ms->bad & GO_MS_ALLOC) && ms->narenas && ((live < 0 && uabs(live) > slack_free_objects) ||
				 (live > 0 && (uint64_t)live > heap / 8 + slack_objects)))
		damage(ms, GO_MS_ALLOC,
		       "HeapObjects %" PRId64 " (Mallocs %" PRIu64 " - Frees %" PRIu64 ", runtime.memstats.heapStats at 0x%" PRIx64
		       ") is %s", live, ms->Mallocs, ms->Frees, m + l->ms_heapstats,
		       live < 0 ? "below zero" : "more objects of 8 bytes than the heap arenas hold");
	for (uint64_t k = 1; k < ms->nclasses; k++)
		if (ms->class_frees[k] > ms->class_mallocs[k] + second(gs->class_frees[k])) {
			ms->class_bad[k] = true;
			damage(ms, GO_MS_ALLOC,
			       "size class %" PRIu64 ": %" PRIu64 " frees but %" PRIu64
			       " mallocs (runtime.memstats.heapStats at 0x%" PRIx64 ")",
			       k, ms->class_frees[k], ms->class_mallocs[k], m + l->ms_heapstats);
		}
	if (ms->large_free_count > ms->large_alloc_count + second(gs->large_frees) ||
	    ms->large_free > ms->large_alloc + second(gs->large_free_bytes))
		damage(ms, GO_MS_ALLOC,
		       "large objects: %" PRIu64 " frees of %" PRIu64 " bytes but %" PRIu64 " mallocs of %" PRIu64
		       " bytes (runtime.memstats.heapStats at 0x%" PRIx64 ")",
		       ms->large_free_count, ms->large_free, ms->large_alloc_count, ms->large_alloc, m + l->ms_heapstats);
	/* A generation is the change of what is in use between two moments: within +-heap. */
	if (ms->narenas && (largest(gs->stacks) > heap || (in_stacks < 0 ? uabs(in_stacks) > second(gs->stacks)
							       : (uint64_t)in_stacks > heap + second(gs->stacks))))
		damage(ms, GO_MS_STACK | GO_MS_SYS,
		       "StackInuse %" PRId64 " (runtime.memstats.heapStats at 0x%" PRIx64 ") is outside the %" PRIu64
		       " bytes of the heap arenas", in_stacks, m + l->ms_heapstats, heap);
	if (ms->narenas && (largest(gs->workbufs) > 2 * heap || (in_workbufs < 0 ? uabs(in_workbufs) > second(gs->workbufs)
								   : (uint64_t)in_workbufs > heap + second(gs->workbufs))))
		damage(ms, GO_MS_GCSYS | GO_MS_SYS,
		       "GC work buffers %" PRId64 " (runtime.memstats.heapStats at 0x%" PRIx64 ") are outside the %" PRIu64
		       " bytes of the heap arenas", in_workbufs, m + l->ms_heapstats, heap);
	if (ms->MSpanInuse > ms->MSpanSys || ms->MSpanSys > ADDRESS_SPACE)
		damage(ms, GO_MS_MSPAN | GO_MS_SYS, "MSpanInuse %" PRIu64 " (runtime.mheap_.spanalloc) and MSpanSys %" PRIu64
		       " (runtime.memstats at 0x%" PRIx64 "): in use is more than mapped", ms->MSpanInuse, ms->MSpanSys, m);
	if (ms->MCacheInuse > ms->MCacheSys || ms->MCacheSys > ADDRESS_SPACE)
		damage(ms, GO_MS_MCACHE | GO_MS_SYS, "MCacheInuse %" PRIu64 " (runtime.mheap_.cachealloc) and MCacheSys %" PRIu64
		       " (runtime.memstats at 0x%" PRIx64 "): in use is more than mapped", ms->MCacheInuse, ms->MCacheSys, m);
	uint64_t gcmisc = ms->GCSys - (uint64_t)in_workbufs, stacks_sys = ms->StackSys - ms->StackInuse;
	if (ms->BuckHashSys > ADDRESS_SPACE || ms->OtherSys > ADDRESS_SPACE || gcmisc > ADDRESS_SPACE ||
	    stacks_sys > ADDRESS_SPACE)
		damage(ms, GO_MS_OTHER | GO_MS_GCSYS | GO_MS_STACK | GO_MS_SYS,
		       "runtime.memstats at 0x%" PRIx64 ": stacks_sys %" PRIu64 ", buckhash_sys %" PRIu64 ", gcMiscSys %" PRIu64
		       ", other_sys %" PRIu64 ": more than the address space", m, stacks_sys, ms->BuckHashSys, gcmisc,
		       ms->OtherSys);
	if (ms->NumForcedGC > (uint64_t)ms->NumGC + 1)
		damage(ms, GO_MS_NUMGC, "NumForcedGC %u is more than NumGC %u (runtime.memstats at 0x%" PRIx64 ")",
		       ms->NumForcedGC, ms->NumGC, m);
}

void go_memstats_report(const struct go_memstats *ms, struct memdbg_printer *p)
{
	for (unsigned i = 0; i < ms->ndamage; i++)
		memdbg_damaged(p, "%s", ms->damage[i]);
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
	struct gen_slack gs = { 0 };
	read_heap_stats(&r, go, ms, &in_stacks, &in_workbufs, &in_ptrscalar, &tiny, &gs);
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
	uint64_t gc_total_alloc = go_rd(&r, c + l->gcc_total_alloc, 8);
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

	uint64_t *arenas = NULL;
	size_t narenas = 0;
	struct memdbg_error *ae = go_heap_arenas(t, go, &arenas, &narenas);
	free(arenas);
	if (ae) {
		/* Nothing to hold the heap's figures against: they are shown, and said to be unchecked. */
		damage(ms, 0, "the heap figures are unchecked: %s", memdbg_error_message(ae));
		memdbg_error_destroy(ae);
	} else {
		ms->narenas = narenas;
		check(go, ms, &gs, in_stacks, wrapping_add(in_workbufs, in_ptrscalar), gc_total_alloc);
	}
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
