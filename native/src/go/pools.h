/* pools.h - sync.Pool contents, for pool-residue and findings. */
#ifndef MEMDBG_GO_POOLS_H
#define MEMDBG_GO_POOLS_H

#include "go/graph.h"

/* A pooled object that something outside its pool still points at: used after Put. */
struct go_pool_alias {
	char pool[256];          /* the pool's name: a global, or a field of a heap object */
	uint64_t pool_addr, id;  /* the sync.Pool; the pooled object's slot id */
	uint32_t p;              /* the P whose cache holds it */
	uint32_t referrer;       /* graph node (root or object) outside the pool pointing at it */
	const char *cache, *slot; /* "local" or "victim"; "private" or "shared" */
};

/* Every pooled object with a referrer outside its pool; none when sync.Pool is not linked in. */
struct memdbg_error *go_pool_aliases(struct memdbg_target *t, struct memdbg_printer *p, struct go_pool_alias **ret,
				     size_t *n);

/* One sync.Pool's contents: entries (local and victim) and the bytes of their heap objects. */
struct go_pool_total {
	char name[256];
	uint64_t addr, objects, bytes;
	uint64_t retained;  /* bytes only the pool keeps alive */
};

/* Every sync.Pool with its totals; none when sync.Pool is not linked in. */
struct memdbg_error *go_pool_totals(struct memdbg_target *t, struct memdbg_printer *p, struct go_pool_total **ret,
				    size_t *n);

#endif /* MEMDBG_GO_POOLS_H */
