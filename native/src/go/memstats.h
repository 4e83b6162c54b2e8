/*
 * memstats.h - runtime.MemStats as ReadMemStats would compute it, from the
 * runtime's own counters only (no span walk): for memstats, diff and watch.
 */
#ifndef MEMDBG_GO_MEMSTATS_H
#define MEMDBG_GO_MEMSTATS_H

#include "go/go.h"

#define GO_MAX_SIZE_CLASSES 256

/* Reads that accumulate the first error, so a block of reads checks once. */
struct go_reader {
	struct memdbg_target *t;
	struct memdbg_error *err;
};

static inline uint64_t go_rd(struct go_reader *r, uint64_t addr, size_t size)
{
	uint64_t v = 0;
	if (r->err)
		return 0;
	r->err = memdbg_read(r->t, addr, &v, size);
	return v;
}

struct go_memstats {
	/* the MemStats fields, named as in Go */
	uint64_t Alloc, TotalAlloc, Sys, Mallocs, Frees, HeapAlloc, HeapSys, HeapIdle, HeapInuse, HeapReleased,
		HeapObjects, StackInuse, StackSys, MSpanInuse, MSpanSys, MCacheInuse, MCacheSys, BuckHashSys, GCSys,
		OtherSys, NextGC;
	uint32_t NumGC, NumForcedGC;
	/* BySize: per size class (class 0 is unused: large objects are counted below) */
	size_t nclasses;
	uint64_t class_size[GO_MAX_SIZE_CLASSES], class_mallocs[GO_MAX_SIZE_CLASSES], class_frees[GO_MAX_SIZE_CLASSES];
	/* large objects, as in the runtime's consistent stats */
	uint64_t large_alloc, large_alloc_count, large_free, large_free_count;
	/* the GC controller: GOMEMLIMIT (math.MaxInt64 when unset), the last mark's live heap, mapped memory */
	uint64_t memory_limit, heap_marked, mapped_ready;
	/* objects allocated from spans cached in mcaches, added as ReadMemStats' flush would; Ps whose
	 * mcache could not be read (their p struct is in heap pages a core left out) */
	uint64_t cached_objects, unread_mcaches;
	/* Plausibility (go_memstats_read): the figures that broke a rule, as GO_MS_* bits, with
	 * one line each saying which value, read where, broke what; classes whose live count is
	 * impossible.  Commands print a damaged figure as null, never as a fact. */
	uint32_t bad;
	unsigned ndamage;
	char damage[8][256];
	bool class_bad[GO_MAX_SIZE_CLASSES];
	uint64_t nprocs, narenas;
};

enum {
	GO_MS_HEAP = 1u << 0,   /* HeapSys, HeapIdle, HeapInuse, HeapReleased */
	GO_MS_ALLOC = 1u << 1,  /* Alloc, HeapAlloc, TotalAlloc, Mallocs, Frees, HeapObjects */
	GO_MS_STACK = 1u << 2,  /* StackInuse, StackSys */
	GO_MS_GCSYS = 1u << 3,  /* GCSys */
	GO_MS_MSPAN = 1u << 4,  /* MSpanInuse, MSpanSys */
	GO_MS_MCACHE = 1u << 5, /* MCacheInuse, MCacheSys */
	GO_MS_OTHER = 1u << 6,  /* BuckHashSys, OtherSys */
	GO_MS_SYS = 1u << 7,    /* Sys, the sum of all of them */
	GO_MS_NUMGC = 1u << 8,  /* NumGC, NumForcedGC */
};

/* Each damage line of ms as a damaged note of p. */
void go_memstats_report(const struct go_memstats *ms, struct memdbg_printer *p);

/* Read the runtime's statistics; the target must be stopped (or a core). */
struct memdbg_error *go_memstats_read(struct memdbg_target *t, struct memdbg_go *go, struct go_memstats *ms);

/* runtime.NumGoroutine's arithmetic (gcount): all Gs minus free Gs minus system Gs. */
int64_t go_goroutine_count(struct go_reader *r, const struct memdbg_go *go, uint64_t allp, uint64_t nprocs);

#endif /* MEMDBG_GO_MEMSTATS_H */
